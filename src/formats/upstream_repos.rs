//! `upstream_repos.yml`: what a sync fetches. Our schema (the private original was never
//! published; this keeps its field names where they were known):
//!
//! ```yaml
//! rhdh:
//!   branch: release-1.10        # the midstream branch this file belongs to
//!   version: 1.10.0             # RHDH version x.y.z (image tags, release numbers)
//! backstage:
//!   version: 1.49.4             # Backstage release the plugins are built against
//! repos:
//!   - repo: https://github.com/redhat-developer/rhdh-plugin-export-overlays
//!     branch: [release-1.10, main]   # candidates, tried in order (a single string is allowed)
//!     destination_folder: overlay-repo
//!     exclude: [.github, smoke-tests]  # paths inside the repo not copied (optional)
//! ```
//!
//! Read forward-compatibly ([`crate::formats::foreign`]): a key this version does not know is a
//! note, not an error.

use std::path::Path;

use serde::Deserialize;

use crate::error::InputError;
use crate::formats::package::line_of;
use crate::formats::relative_path::RelativePath;
use crate::formats::shown::shown;
use crate::formats::source_json::is_git_ref;
use crate::formats::versions::is_version;

#[derive(Clone, Debug, Deserialize)]
struct UpstreamReposFile {
    rhdh: RhdhSection,
    backstage: BackstageSection,
    repos: Vec<RepoEntry>,
}

#[derive(Clone, Debug, Deserialize)]
struct RhdhSection {
    #[serde(deserialize_with = "crate::formats::scalar::string")]
    branch: String,
    #[serde(deserialize_with = "crate::formats::scalar::string")]
    version: String,
}

#[derive(Clone, Debug, Deserialize)]
struct BackstageSection {
    #[serde(deserialize_with = "crate::formats::scalar::string")]
    version: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum Branches {
    One(String),
    Many(Vec<String>),
}

#[derive(Clone, Debug, Deserialize)]
struct RepoEntry {
    repo: String,
    branch: Branches,
    destination_folder: String,
    #[serde(default)]
    exclude: Vec<String>,
}

/// A validated `upstream_repos.yml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UpstreamRepos {
    pub(crate) rhdh_branch: String,
    pub(crate) rhdh_version: String,
    pub(crate) backstage_version: String,
    pub(crate) repos: Vec<UpstreamRepo>,
    /// What the forward-compatible read passed over.
    pub(crate) notes: Vec<crate::formats::foreign::ReadNote>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UpstreamRepo {
    pub(crate) repo: String,
    /// Candidate branches (or tags), tried in order.
    pub(crate) branches: Vec<String>,
    /// Folder inside the midstream tree the repository's content is copied into.
    pub(crate) destination: RelativePath,
    pub(crate) exclude: Vec<RelativePath>,
}

impl UpstreamRepos {
    pub(crate) fn parse(file: &Path, text: &str) -> Result<Self, InputError> {
        let crate::formats::foreign::Read { value: parsed, notes } =
            crate::formats::foreign::from_yaml::<UpstreamReposFile>(file, text)?;
        let line = |needle: &str| line_of(text, needle);
        // Lines of each repository entry and its keys, from the YAML tree.
        let tree = crate::formats::yaml::parse_tree(file, text).ok();
        let entry_node = |index: usize| match tree.as_ref().and_then(|tree| tree.get("repos")).map(|repos| &repos.value)
        {
            Some(crate::formats::yaml::NodeValue::List(items)) => items.get(index).cloned(),
            _ => None,
        };
        let key_line = |index: usize, key: &str| {
            entry_node(index).and_then(|node| node.get(key).and_then(crate::formats::yaml::Node::line).or(node.line()))
        };
        if !is_version(&parsed.rhdh.version) {
            return Err(InputError::in_file(
                file,
                format!("`rhdh.version` is `{}`, not a version like 1.10.0", shown(&parsed.rhdh.version)),
            )
            .at_line(line("version:"))
            .with_hint("write the RHDH version as x.y.z, e.g. `version: 1.10.0`"));
        }
        if !is_version(&parsed.backstage.version) {
            return Err(InputError::in_file(
                file,
                format!("`backstage.version` is `{}`, not a version like 1.49.4", shown(&parsed.backstage.version)),
            )
            .with_hint("write the Backstage version as x.y.z, e.g. `version: 1.49.4`"));
        }
        if parsed.repos.is_empty() {
            return Err(InputError::in_file(file, "`repos` is empty")
                .at_line(line("repos:"))
                .with_hint("list at least the overlay repository"));
        }
        let mut repos: Vec<UpstreamRepo> = Vec::new();
        for (index, entry) in parsed.repos.into_iter().enumerate() {
            let at = key_line(index, "repo").or_else(|| line("repo:"));
            if !crate::formats::source_json::is_repository_url(&entry.repo) {
                return Err(InputError::in_file(
                    file,
                    format!("`repo` `{}` is not an https:// URL", shown(&entry.repo)),
                )
                .at_line(at)
                .with_hint(
                    "use the repository URL, e.g. https://github.com/redhat-developer/rhdh-plugin-export-overlays",
                ));
            }
            let branches = match entry.branch {
                Branches::One(branch) => vec![branch],
                Branches::Many(branches) => branches,
            };
            if branches.is_empty() {
                return Err(InputError::in_file(file, format!("`branch` of `{}` lists no branch", shown(&entry.repo)))
                    .at_line(at)
                    .with_hint("name at least one branch, e.g. `branch: main`"));
            }
            if let Some(bad) = branches.iter().find(|branch| !is_git_ref(branch)) {
                return Err(InputError::in_file(
                    file,
                    format!("branch `{}` of `{}` is not a valid git ref", shown(bad), shown(&entry.repo)),
                )
                .at_line(key_line(index, "branch").or(at))
                .with_hint("use a branch or tag name: letters, digits, `-`, `_`, `.` and `/`"));
            }
            let destination = RelativePath::parse(&entry.destination_folder).map_err(|problem| {
                InputError::in_file(
                    file,
                    format!("`destination_folder` `{}` {problem}", shown(&entry.destination_folder)),
                )
                .at_line(key_line(index, "destination_folder").or_else(|| line("destination_folder:")))
                .with_hint("name a folder inside the tree, e.g. `destination_folder: overlay-repo`")
            })?;
            if let Some(other) = repos.iter().find(|other| {
                other.destination == destination
                    || other.destination.as_str().starts_with(&format!("{destination}/"))
                    || destination.as_str().starts_with(&format!("{}/", other.destination))
            }) {
                return Err(InputError::in_file(
                    file,
                    format!("`destination_folder` `{destination}` overlaps the one of `{}`", other.repo),
                )
                .at_line(at)
                .with_hint("give each repository its own folder"));
            }
            let exclude = entry
                .exclude
                .iter()
                .map(|path| {
                    RelativePath::parse(path).map_err(|problem| {
                        InputError::in_file(file, format!("`exclude` entry `{}` {problem}", shown(path)))
                            .at_line(key_line(index, "exclude").or(at))
                            .with_hint("list paths inside the repository, e.g. `exclude: [.github]`")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            repos.push(UpstreamRepo { repo: entry.repo, branches, destination, exclude });
        }
        Ok(UpstreamRepos {
            rhdh_branch: parsed.rhdh.branch,
            rhdh_version: parsed.rhdh.version,
            backstage_version: parsed.backstage.version,
            repos,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "rhdh:\n  branch: release-1.10\n  version: 1.10.0\nbackstage:\n  version: 1.49.4\nrepos:\n  - repo: https://github.com/redhat-developer/rhdh-plugin-export-overlays\n    branch: [release-1.10, main]\n    destination_folder: overlay-repo\n    exclude: [.github]\n";

    #[test]
    fn parses_the_documented_example() {
        let repos = UpstreamRepos::parse(Path::new("u.yml"), EXAMPLE).unwrap();
        assert_eq!(repos.rhdh_version, "1.10.0");
        assert_eq!(repos.repos[0].branches, ["release-1.10", "main"]);
        assert_eq!(repos.repos[0].destination.as_str(), "overlay-repo");
    }

    #[test]
    fn unknown_keys_are_notes_and_a_misspelt_required_key_is_named() {
        let text = EXAMPLE.replace("  version: 1.10.0\n", "  version: 1.10.0\n  channel: fast\n")
            + "    shallow: true\nmirrors: []\n";
        let repos = UpstreamRepos::parse(Path::new("u.yml"), &text).unwrap();
        let notes: Vec<String> = repos.notes.iter().map(ToString::to_string).collect();
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].starts_with("u.yml:4: unknown key `channel` in `rhdh`"), "{notes:?}");
        let text = EXAMPLE.replace("destination_folder", "destination");
        let error = UpstreamRepos::parse(Path::new("u.yml"), &text).unwrap_err();
        assert!(error.problem.contains("missing field `destination_folder`"), "{error}");
        assert!(error.problem.contains("unknown field `destination`"), "{error}");
    }

    #[test]
    fn rejects_escaping_and_overlapping_destinations() {
        let text = EXAMPLE.replace("destination_folder: overlay-repo", "destination_folder: ../outside");
        let error = UpstreamRepos::parse(Path::new("u.yml"), &text).unwrap_err();
        assert!(error.problem.contains("would leave its folder"), "{error}");
        let text = format!(
            "{EXAMPLE}  - repo: https://github.com/a/b\n    branch: main\n    destination_folder: overlay-repo/sub\n"
        );
        let error = UpstreamRepos::parse(Path::new("u.yml"), &text).unwrap_err();
        assert!(error.problem.contains("overlaps"), "{error}");
        let text = EXAMPLE.replace("version: 1.10.0", "version: next");
        assert!(UpstreamRepos::parse(Path::new("u.yml"), &text).is_err());
    }
}
