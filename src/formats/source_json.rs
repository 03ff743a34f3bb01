//! `workspaces/<ws>/source.json`: where a workspace's plugins come from upstream.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::formats::shown::shown;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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
}

impl SourceJson {
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, InputError> {
        let source: SourceJson = crate::formats::json::from_str(path, text)?;
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
    fn unknown_key_is_an_error() {
        let text = r#"{"repo":"https://github.com/a/b","repo_ref":"v1","repo-flat":true}"#;
        let error = crate::formats::json::from_str::<SourceJson>(Path::new("s.json"), text).unwrap_err();
        assert!(error.problem.contains("repo_ref"), "{error}");
    }
}
