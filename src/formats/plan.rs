//! `plan.json`: what `fetch` decided per workspace (export, skip or drop, and why), the cache
//! keys, the plugins to export with their flags, and the batches the export fan-out runs over.
//! It travels inside the source artifact; the Tekton matrix only carries batch ids.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct Plan {
    #[serde(rename = "rhdh-branch")]
    pub(crate) rhdh_branch: String,
    #[serde(rename = "rhdh-version")]
    pub(crate) rhdh_version: String,
    #[serde(rename = "backstage-version")]
    pub(crate) backstage_version: String,
    #[serde(rename = "tool-version")]
    pub(crate) tool_version: String,
    /// Each fetched repository and the commit it was at.
    pub(crate) sources: Vec<FetchedSource>,
    /// Every workspace of the overlay, sorted by name.
    pub(crate) workspaces: Vec<PlannedWorkspace>,
    /// Batch id → workspace names (export decisions only).
    pub(crate) batches: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct FetchedSource {
    pub(crate) repo: String,
    pub(crate) branch: String,
    pub(crate) commit: String,
    pub(crate) destination: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Decision {
    Export,
    Skip,
    Drop,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct PlannedWorkspace {
    pub(crate) name: String,
    pub(crate) decision: Decision,
    pub(crate) reason: String,
    #[serde(rename = "cache-key")]
    pub(crate) cache_key: String,
    pub(crate) repo: String,
    #[serde(rename = "repo-ref")]
    pub(crate) repo_ref: String,
    #[serde(rename = "repo-flat")]
    pub(crate) repo_flat: bool,
    #[serde(rename = "backstage-version")]
    pub(crate) backstage_version: String,
    /// Supported plugins to export, in plugins-list order.
    pub(crate) plugins: Vec<PlannedPlugin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) batch: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct PlannedPlugin {
    pub(crate) path: String,
    pub(crate) flags: Vec<String>,
}

/// What a successful export records in the midstream tree
/// (`workspaces/<ws>/.rhdh-catalog-export.json`), so the next `fetch` can skip the workspace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct ExportState {
    #[serde(rename = "cache-key")]
    pub(crate) cache_key: String,
    #[serde(rename = "overlay-content-id")]
    pub(crate) overlay_content_id: String,
    #[serde(rename = "repo-ref")]
    pub(crate) repo_ref: String,
    #[serde(rename = "backstage-version")]
    pub(crate) backstage_version: String,
    #[serde(rename = "tool-version")]
    pub(crate) tool_version: String,
    /// The upstream commit `repo-ref` resolved to.
    #[serde(rename = "upstream-commit", default)]
    pub(crate) upstream_commit: String,
    /// Exported plugin folders.
    #[serde(default)]
    pub(crate) plugins: Vec<String>,
    /// What each exported folder is: its npm name and image, as the export read them from its
    /// `package.json` (the record `index` prefers to matching metadata names to folders).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) exported: Vec<ExportedPlugin>,
    /// The content digest of the install this export left in the package cache: the next export
    /// of the workspace takes it back only when it still has exactly that content.
    #[serde(rename = "kept-install", default, skip_serializing_if = "Option::is_none")]
    pub(crate) kept_install: Option<String>,
    /// Where the export pushed its images (`domain::workspace::plan::image_destination`); absent
    /// when it pushed none. A fetch told of another destination exports the workspace again.
    #[serde(rename = "image-destination", default, skip_serializing_if = "Option::is_none")]
    pub(crate) image_destination: Option<String>,
}

/// One plugin an export built: its folder, the npm name of its `package.json`, and its image name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct ExportedPlugin {
    pub(crate) path: String,
    pub(crate) package: String,
    pub(crate) image: String,
}

/// What `fetch` copied into one destination folder, kept in the folder itself
/// ([`FETCH_RECORD_FILE`], committed with it): every repository copied there, at which branch and
/// commit, and the content id the folder had afterwards (the record left out). When every one of
/// those repositories still has that commit at the head of that branch and the folder still has
/// that content, the next `fetch` clones none of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct FetchRecord {
    #[serde(rename = "content-id")]
    pub(crate) content_id: String,
    pub(crate) sources: Vec<RecordedSource>,
}

/// One repository of a [`FetchRecord`]: the URL (credentials stripped), the branch or tag it was
/// cloned at, the commit, and the `exclude` paths of its `upstream_repos.yml` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct RecordedSource {
    pub(crate) repo: String,
    pub(crate) branch: String,
    pub(crate) commit: String,
    #[serde(default)]
    pub(crate) exclude: Vec<String>,
}

/// The fetch record's name inside a destination folder.
pub(crate) const FETCH_RECORD_FILE: &str = ".rhdh-catalog-fetch.json";

/// The plan's file name at the top of the tree `fetch` plans in (and of its plan artifact).
pub(crate) const PLAN_FILE: &str = "plan.json";

/// The batch id meaning "nothing to export" (see [`Plan::batch_ids_json`]).
pub(crate) const NO_BATCH: &str = "none";

pub(crate) const EXPORT_STATE_FILE: &str = ".rhdh-catalog-export.json";

impl ExportState {
    /// The cache key of a workspace: its overlay content, the upstream ref, the Backstage
    /// version and the tool version.
    pub(crate) fn key(overlay_content_id: &str, repo_ref: &str, backstage_version: &str, tool_version: &str) -> String {
        crate::formats::image_reference::Digest::of(
            format!("{overlay_content_id}\n{repo_ref}\n{backstage_version}\n{tool_version}\n").as_bytes(),
        )
        .to_string()
    }
}

impl Plan {
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, InputError> {
        crate::formats::json::from_str(path, text)
    }

    pub(crate) fn workspace(&self, name: &str) -> Option<&PlannedWorkspace> {
        self.workspaces.iter().find(|workspace| workspace.name == name)
    }

    /// The batch ids as the JSON array Tekton fans out over. Never empty: with nothing to export
    /// it is `["none"]`, because Tekton skips a matrix task over an empty array *and every task
    /// consuming its results* (the index must still run); `export --batch none` exports nothing.
    pub(crate) fn batch_ids_json(&self) -> String {
        let ids: Vec<&str> =
            if self.batches.is_empty() { vec![NO_BATCH] } else { self.batches.keys().map(String::as_str).collect() };
        serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
    }
}

/// Splits `workspaces` into at most `max_batches` batches of equal size (±1), in order; ids are
/// `"0"`, `"1"`, … so that the fan-out stays under Tekton's matrix limit at any catalog size.
pub(crate) fn batches(workspaces: &[String], max_batches: usize) -> BTreeMap<String, Vec<String>> {
    let count = workspaces.len().min(max_batches.max(1));
    let mut batches = BTreeMap::new();
    if count == 0 {
        return batches;
    }
    let base = workspaces.len() / count;
    let extra = workspaces.len() % count;
    let mut start = 0;
    for index in 0..count {
        let size = base + usize::from(index < extra);
        batches.insert(index.to_string(), workspaces[start..start + size].to_vec());
        start += size;
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_everything_within_the_limit() {
        let names: Vec<String> = (0..650).map(|index| format!("ws{index:03}")).collect();
        let split = batches(&names, 200);
        assert_eq!(split.len(), 200);
        let flattened: Vec<String> = split.values().flatten().cloned().collect();
        assert_eq!(flattened.len(), 650);
        let plan = Plan { batches: split, ..Plan::default() };
        assert!(plan.batch_ids_json().len() < 4096);
        assert_eq!(batches(&names[..3], 200).len(), 3);
        assert_eq!(Plan::default().batch_ids_json(), r#"["none"]"#);
        assert!(batches(&[], 10).is_empty());
    }
}
