//! `default.packages.yaml`: the packages an RHDH installation lists by default, enabled first.

use std::path::Path;

use serde::Deserialize;

use crate::error::InputError;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultPackagesFile {
    packages: Sections,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sections {
    #[serde(default)]
    enabled: Option<Vec<DefaultPackageEntry>>,
    #[serde(default)]
    disabled: Option<Vec<DefaultPackageEntry>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

impl DefaultPackages {
    pub(crate) fn parse(file: &Path, text: &str) -> Result<Self, InputError> {
        let parsed: DefaultPackagesFile = crate::formats::yaml::from_str(file, text)?;
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
        Ok(DefaultPackages { entries })
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
    fn duplicates_and_unknown_keys_fail() {
        let text = "packages:\n  enabled:\n  - package: '@a/b'\n  disabled:\n  - package: '@a/b'\n";
        let error = DefaultPackages::parse(Path::new("d.yaml"), text).unwrap_err();
        assert_eq!(error.line, Some(5));
        let text = "packages:\n  enabled:\n  - pakage: '@a/b'\n";
        assert!(DefaultPackages::parse(Path::new("d.yaml"), text).is_err());
    }
}
