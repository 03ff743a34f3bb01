//! `versions.json` (target versions of a branch) and the per-workspace `backstage.json` override.
//! The overlay owns both: read forward-compatibly ([`crate::formats::foreign`]), a key this version
//! does not know is a note.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::formats::foreign::ReadNote;

#[derive(Clone, Debug, Deserialize, Serialize)]
pub(crate) struct VersionsJson {
    pub(crate) backstage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cli: Option<String>,
    #[serde(rename = "cliPackage", default, skip_serializing_if = "Option::is_none")]
    pub(crate) cli_package: Option<String>,
    /// What the forward-compatible read passed over.
    #[serde(skip)]
    pub(crate) notes: Vec<ReadNote>,
}

impl VersionsJson {
    /// Parses the text of `path`; unknown keys and stringly booleans end up in `notes`.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, InputError> {
        let read = crate::formats::foreign::from_json::<VersionsJson>(path, text)?;
        let versions = VersionsJson { notes: read.notes, ..read.value };
        if !is_version(&versions.backstage) {
            return Err(InputError::in_file(
                path,
                format!("`backstage` is `{}`, not a version like 1.52.0", versions.backstage),
            ));
        }
        Ok(versions)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub(crate) struct BackstageJson {
    pub(crate) version: String,
    /// What the forward-compatible read passed over.
    #[serde(skip)]
    pub(crate) notes: Vec<ReadNote>,
}

impl BackstageJson {
    /// Parses the text of `path`; unknown keys and stringly booleans end up in `notes`.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, InputError> {
        let read = crate::formats::foreign::from_json::<BackstageJson>(path, text)?;
        let backstage = BackstageJson { notes: read.notes, ..read.value };
        if !is_version(&backstage.version) {
            return Err(InputError::in_file(
                path,
                format!("`version` is `{}`, not a version like 1.52.0", backstage.version),
            ));
        }
        Ok(backstage)
    }
}

/// `major.minor` or `major.minor.patch` with an optional pre-release suffix.
pub(crate) fn is_version(text: &str) -> bool {
    let core = text.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|part| !part.is_empty() && part.chars().all(|character| character.is_ascii_digit()))
}

/// `1.52.0` → `1.52`.
pub(crate) fn major_minor(version: &str) -> &str {
    match version.match_indices('.').nth(1) {
        Some((position, _)) => &version[..position],
        None => version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(is_version("1.52.0"));
        assert!(is_version("2.0"));
        assert!(!is_version("latest"));
        assert_eq!(major_minor("1.49.4"), "1.49");
        assert_eq!(major_minor("2.0"), "2.0");
    }
}
