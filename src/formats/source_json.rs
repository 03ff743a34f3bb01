//! `workspaces/<ws>/source.json`: where a workspace's plugins come from upstream. The overlay owns
//! it: read forward-compatibly ([`crate::formats::foreign`]), so `"repo-flat": "true"` (a string,
//! as on `release-1.9`) is the boolean with a note, and an unknown key is a note.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::formats::shown::shown;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct SourceJson {
    /// Upstream repository URL, `https://github.com/<owner>/<name>`.
    pub(crate) repo: String,
    /// Tag or commit SHA checked out.
    #[serde(rename = "repo-ref")]
    pub(crate) repo_ref: String,
    /// `true`: plugins at the repository root; `false`: under `workspaces/<ws>/`.
    #[serde(rename = "repo-flat")]
    pub(crate) repo_flat: bool,
    /// Backstage version of the upstream sources.
    #[serde(rename = "repo-backstage-version", default, skip_serializing_if = "Option::is_none")]
    pub(crate) repo_backstage_version: Option<String>,
    /// What the forward-compatible read passed over.
    #[serde(skip)]
    pub(crate) notes: Vec<crate::formats::foreign::ReadNote>,
}

impl SourceJson {
    /// Parses the text of `path`, checked; unknown keys and stringly booleans end up in `notes`.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, InputError> {
        let read = crate::formats::foreign::from_json::<SourceJson>(path, text)?;
        let source = SourceJson { notes: read.notes, ..read.value };
        source.validate(path)?;
        Ok(source)
    }

    fn validate(&self, path: &Path) -> Result<(), InputError> {
        if !is_repository_url(&self.repo) {
            return Err(InputError::in_file(
                path,
                format!("`repo` is `{}`, not an https:// repository URL", shown(&self.repo)),
            )
            .with_hint("use the upstream URL, e.g. https://github.com/backstage/community-plugins"));
        }
        if !is_git_ref(&self.repo_ref) {
            return Err(InputError::in_file(
                path,
                format!("`repo-ref` is `{}`, not a tag, branch or commit", shown(&self.repo_ref)),
            )
            .with_hint("use a tag such as v1.52.0 or a full commit SHA"));
        }
        Ok(())
    }
}

/// A repository URL git may fetch from: `https://` (the real upstreams), `git://` and `file://`
/// (mirrors and local fixtures); no whitespace.
pub(crate) fn is_repository_url(url: &str) -> bool {
    ["https://", "git://", "file://"].iter().any(|scheme| url.len() > scheme.len() && url.starts_with(scheme))
        && url.chars().all(|character| character.is_ascii_graphic())
        && !url.contains(|character| "$`;|<>\"'(){}\\".contains(character))
}

/// The subset of `git check-ref-format` rules that matter for a ref we pass to `git fetch`.
pub(crate) fn is_git_ref(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(['-', '/', '.'])
        && !text.ends_with(['/', '.'])
        && !text.to_ascii_lowercase().ends_with(".lock")
        && !text.contains("..")
        && !text.contains("@{")
        && !text.contains("//")
        && text.chars().all(|character| !character.is_control() && !" ~^:?*[\\".contains(character))
        && text.is_ascii()
        && !text.contains(|character| "$`;|&<>\"'(){}!#".contains(character))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_file_parses_and_bad_refs_fail() {
        let text = r#"{"repo":"https://github.com/backstage/backstage","repo-ref":"v1.52.0","repo-flat":true,"repo-backstage-version":"1.52.0"}"#;
        let source: SourceJson = crate::formats::json::from_str(Path::new("s.json"), text).unwrap();
        assert!(source.repo_flat);
        for bad in ["", "-x", "a..b", "a b", "x:y", "refs/heads/", "$(touch x)", "main;id", "`id`", "v1\u{0430}"] {
            assert!(!is_git_ref(bad), "{bad}");
        }
        assert!(is_git_ref("be7777a9a9c1e5b52d845eec1bc489df7f5582fd"));
    }

    #[test]
    fn a_misspelt_key_is_named_with_the_missing_one() {
        let text = r#"{"repo":"https://github.com/a/b","repo_ref":"v1","repo-flat":true}"#;
        let error = SourceJson::parse(Path::new("s.json"), text).unwrap_err();
        assert!(error.problem.contains("missing field `repo-ref`"), "{error}");
        assert!(error.problem.contains("unknown field `repo_ref`"), "{error}");
    }

    /// `release-1.9`'s `workspaces/gitlab/source.json` says `"repo-flat": "true"`.
    #[test]
    fn release_1_9_stringly_repo_flat_and_new_keys_are_notes() {
        let text = r#"{"repo":"https://github.com/immobiliare/backstage-plugin-gitlab","repo-ref":"7c92d278fc01a8d2635aa2058f82c1b9ea6a6b36","repo-flat":"true","repo-backstage-version":"1.48.3","repo-mirror":"x"}"#;
        let source = SourceJson::parse(Path::new("gitlab/source.json"), text).unwrap();
        assert!(source.repo_flat);
        let notes: Vec<String> = source.notes.iter().map(ToString::to_string).collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes.iter().any(|note| note.contains("unknown key `repo-mirror`")), "{notes:?}");
        assert!(notes.iter().any(|note| note.contains("`repo-flat` is the string \"true\"")), "{notes:?}");
        let error = SourceJson::parse(Path::new("s.json"), &text.replace("\"true\"", "\"yes\"")).unwrap_err();
        assert!(error.problem.contains("wrong type at `repo-flat`"), "{error}");
    }
}
