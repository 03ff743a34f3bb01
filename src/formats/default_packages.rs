//! `default.packages.yaml`: the packages an RHDH installation lists by default, enabled first.
//! The overlay (or, on older branches, the RHDH repository) owns the file: it is read
//! forward-compatibly ([`crate::formats::foreign`]), so an entry's `status:` or any other key this
//! version does not know is a note, not an error.

use std::path::Path;

use serde::Deserialize;

use crate::error::InputError;
use crate::formats::foreign::{Read, ReadNote};

#[derive(Clone, Debug, Deserialize)]
struct DefaultPackagesFile {
    packages: Sections,
}

#[derive(Clone, Debug, Deserialize)]
struct Sections {
    #[serde(default)]
    enabled: Option<Vec<DefaultPackageEntry>>,
    #[serde(default)]
    disabled: Option<Vec<DefaultPackageEntry>>,
}

#[derive(Clone, Debug, Deserialize)]
struct DefaultPackageEntry {
    #[serde(deserialize_with = "crate::formats::scalar::string")]
    package: String,
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    support: Option<String>,
}

/// One entry, in file order (all enabled entries come before all disabled ones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DefaultPackage {
    /// npm package name (or, rarely, a `dynamicArtifact` or metadata file stem).
    pub(crate) package: String,
    pub(crate) enabled: bool,
    pub(crate) support: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct DefaultPackages {
    pub(crate) entries: Vec<DefaultPackage>,
    /// What the forward-compatible read passed over (unknown keys, stringly booleans).
    pub(crate) notes: Vec<ReadNote>,
}

impl DefaultPackages {
    pub(crate) fn parse(file: &Path, text: &str) -> Result<Self, InputError> {
        let Read { value: parsed, notes } = crate::formats::foreign::from_yaml::<DefaultPackagesFile>(file, text)?;
        let mut entries = Vec::new();
        for (enabled, section) in [(true, parsed.packages.enabled), (false, parsed.packages.disabled)] {
            for entry in section.unwrap_or_default() {
                if entry.package.trim().is_empty() {
                    return Err(InputError::in_file(file, "an entry has an empty `package`"));
                }
                if let Some(first) = entries.iter().find(|seen: &&DefaultPackage| seen.package == entry.package) {
                    let where_first = if first.enabled { "enabled" } else { "disabled" };
                    return Err(InputError::in_file(
                        file,
                        format!("`{}` is listed twice (first under `{where_first}`)", entry.package),
                    )
                    .at_line(nth_line_containing(text, &entry.package, 2))
                    .with_hint("list each package once"));
                }
                entries.push(DefaultPackage { package: entry.package, enabled, support: entry.support });
            }
        }
        Ok(DefaultPackages { entries, notes })
    }
}

fn nth_line_containing(text: &str, needle: &str, occurrence: usize) -> Option<u64> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains(needle))
        .nth(occurrence - 1)
        .map(|(index, _)| index as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_enabled_first() {
        let text = "packages:\n  disabled:\n  - package: '@a/b'\n  enabled: \n  - package: '@c/d'\n    support: \"generally-available\"\n";
        let parsed = DefaultPackages::parse(Path::new("d.yaml"), text).unwrap();
        assert_eq!(parsed.entries[0].package, "@c/d");
        assert!(parsed.entries[0].enabled);
        assert!(!parsed.entries[1].enabled);
    }

    #[test]
    fn duplicates_and_misspelt_keys_fail() {
        let text = "packages:\n  enabled:\n  - package: '@a/b'\n  disabled:\n  - package: '@a/b'\n";
        let error = DefaultPackages::parse(Path::new("d.yaml"), text).unwrap_err();
        assert_eq!(error.line, Some(5));
        let text = "packages:\n  enabled:\n  - pakage: '@a/b'\n";
        let error = DefaultPackages::parse(Path::new("d.yaml"), text).unwrap_err();
        assert!(error.to_string().contains("missing field `package`"), "{error}");
        assert!(error.to_string().contains("unknown field `pakage`"), "{error}");
    }

    /// The overlay's `main` of late June to early July 2026: entries with a `status:`.
    #[test]
    fn a_status_key_is_a_note_and_the_entries_are_read() {
        let text = "packages:\n  enabled:\n  - package: '@a/b'\n    support: generally-available\n    status: active\n  disabled:\n  - package: '@c/d'\n    status: deprecated\n";
        let parsed = DefaultPackages::parse(Path::new("d.yaml"), text).unwrap();
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(parsed.notes.len(), 2, "{:?}", parsed.notes);
        assert_eq!(parsed.notes[0].line, Some(5));
        assert!(
            parsed.notes[0].message.starts_with("unknown key `status` in `packages.enabled[]`"),
            "{:?}",
            parsed.notes
        );
        assert_eq!(parsed.notes[1].line, Some(8));
    }
}
