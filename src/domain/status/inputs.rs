//! What the status page is made from, as the files say it: the read side of `index-report.json`
//! (written by `index --report`, [`crate::domain::catalog::render::IndexReport`]),
//! `build-report.json` (next to the index), `export-report.json` / `export-reports/batch-*.json`
//! (`export --report`) and the index itself. Every field is optional and every status is kept as
//! the word the file uses, so a report from a newer or older tool still renders: what a file does
//! not say shows as unknown on the page, never as an error.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::run_report::{TaskLine, TaskStatus};
use crate::formats::build_info::BuildInfo;
use crate::formats::index_json::IndexJson;

/// `index-report.json`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct IndexReportFile {
    pub(crate) changed: bool,
    pub(crate) plugins: Vec<IndexPlugin>,
    pub(crate) diff: DiffFile,
    #[serde(rename = "dynamic-plugins-left-out")]
    pub(crate) dynamic_plugins_left_out: Vec<String>,
    /// What the reads of the overlay's files passed over (`file:line: unknown key …`, stringly
    /// booleans): the run went on.
    #[serde(rename = "input-warnings")]
    pub(crate) input_warnings: Vec<String>,
}

/// One plugin of `index-report.json`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct IndexPlugin {
    pub(crate) image: String,
    pub(crate) workspace: String,
    /// The requested reference (`<registry>/<image>:<tag>`).
    pub(crate) reference: String,
    /// `pinned`, `fallback`, `stale`, `missing`, or a word a newer tool writes.
    pub(crate) status: String,
    pub(crate) digest: Option<String>,
    pub(crate) detail: Option<String>,
}

/// The `diff` of `index-report.json` ([`crate::domain::catalog::diff::CatalogDiff`]).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DiffFile {
    pub(crate) added: Vec<String>,
    pub(crate) removed: Vec<String>,
    pub(crate) changed: Vec<ChangeFile>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ChangeFile {
    pub(crate) plugin: String,
    pub(crate) digest: Option<ValueChange<String>>,
    pub(crate) tag: Option<ValueChange<String>>,
    pub(crate) enabled: Option<ValueChange<bool>>,
    #[serde(rename = "pluginConfig")]
    pub(crate) plugin_config: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ValueChange<T> {
    #[serde(default = "none")]
    pub(crate) old: Option<T>,
    #[serde(default = "none")]
    pub(crate) new: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// `build-report.json`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BuildReportFile {
    pub(crate) metadata: BuildReportMetadata,
    /// By image name.
    pub(crate) plugins: BTreeMap<String, BuildPlugin>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BuildReportMetadata {
    #[serde(rename = "catalog-index-image")]
    pub(crate) catalog_index_image: Option<String>,
    #[serde(rename = "last-successful-publish")]
    pub(crate) last_successful_publish: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BuildPlugin {
    pub(crate) package: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) workspace: Option<String>,
    pub(crate) stages: BuildStages,
    pub(crate) overall: Option<String>,
    /// The `ACTION REQUIRED` line, when the plugin is not pinned at its requested tag.
    pub(crate) action: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BuildStages {
    pub(crate) bootstrap: Option<BuildStage>,
    #[serde(rename = "image-metadata-fetch")]
    pub(crate) image_metadata_fetch: Option<BuildStage>,
    pub(crate) dpdy: Option<BuildStage>,
    #[serde(rename = "catalog-index")]
    pub(crate) catalog_index: Option<BuildStage>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BuildStage {
    /// `pass`, `fail`, `skip`.
    pub(crate) status: String,
    pub(crate) reason: Option<String>,
    pub(crate) oci_ref: Option<String>,
    pub(crate) digest: Option<String>,
    #[serde(rename = "platformDigest")]
    pub(crate) platform_digest: Option<String>,
    pub(crate) fallback: bool,
    #[serde(rename = "requestedTag")]
    pub(crate) requested_tag: Option<String>,
    #[serde(rename = "resolvedTag")]
    pub(crate) resolved_tag: Option<String>,
}

/// `export-report.json` or one `export-reports/batch-<id>.json`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ExportReportFile {
    pub(crate) workspaces: BTreeMap<String, ExportWorkspace>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ExportWorkspace {
    /// `exported` or `failed`.
    pub(crate) status: String,
    #[serde(rename = "upstream-commit")]
    pub(crate) upstream_commit: Option<String>,
    pub(crate) cause: Option<String>,
    pub(crate) infrastructure: bool,
    pub(crate) warnings: Vec<String>,
    pub(crate) plugins: Vec<ExportPlugin>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ExportPlugin {
    /// The plugin's folder inside the workspace.
    pub(crate) path: String,
    pub(crate) status: String,
    pub(crate) package: Option<String>,
    pub(crate) version: Option<String>,
    /// `<registry>/<image>@sha256:…` when an image was pushed.
    pub(crate) image: Option<String>,
    pub(crate) cause: Option<String>,
    #[serde(rename = "log-tail")]
    pub(crate) log_tail: Vec<String>,
    #[serde(rename = "bad-input")]
    pub(crate) bad_input: Option<String>,
    /// The infrastructure cause when a registry or git remote failed (`registry X refuses
    /// connections`): the same text for every plugin that failed for the same reason.
    pub(crate) outage: Option<String>,
}

/// `plan.json` (written by `fetch`): which workspaces this run exported, skipped or dropped.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PlanFile {
    #[serde(rename = "rhdh-branch")]
    pub(crate) rhdh_branch: Option<String>,
    #[serde(rename = "rhdh-version")]
    pub(crate) rhdh_version: Option<String>,
    #[serde(rename = "backstage-version")]
    pub(crate) backstage_version: Option<String>,
    pub(crate) workspaces: Vec<PlanWorkspace>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PlanWorkspace {
    pub(crate) name: String,
    /// `export`, `skip` or `drop`.
    pub(crate) decision: String,
    pub(crate) reason: String,
}

/// Facts about the run that no file holds: given on the command line.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunContext {
    /// The aggregate status, `$(tasks.status)`.
    pub(crate) status: TaskStatus,
    pub(crate) tasks: Vec<TaskLine>,
    /// The midstream branch the run built.
    pub(crate) branch: Option<String>,
    /// The midstream commit the run built.
    pub(crate) revision: Option<String>,
    /// The published index image (`<repository>[:tag][@sha256:…]`), when known.
    pub(crate) index_image: Option<String>,
    /// When the inputs were made (seconds since the epoch): `SOURCE_DATE_EPOCH` or a commit time.
    pub(crate) inputs_epoch: Option<i64>,
    /// Where the full page can be read, named in a cut markdown summary.
    pub(crate) page_url: Option<String>,
    /// The command that runs the pipeline again; fix commands are made from it.
    pub(crate) rerun_command: Option<String>,
}

/// A task that failed, as its log tells it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FailedTask {
    pub(crate) task: String,
    /// The log's lines that hold the error ([`crate::domain::run_report::cause_lines`]).
    pub(crate) lines: Vec<String>,
    pub(crate) log: Option<String>,
    /// A command that may fix it (made by the page, not read from any file).
    pub(crate) fix: Option<String>,
}

/// Which catalog a page, or its second section, shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum CatalogKind {
    /// The primary catalog (`rhdh-supported-packages.txt`): `dynamic-plugins.default.yaml` and the
    /// index RHDH installs from.
    #[default]
    Supported,
    /// The community catalog (`rhdh-community-packages.txt`): the extra catalog index RHDH reads
    /// through `EXTRA_CATALOG_INDEX_IMAGES`, with no `dynamic-plugins.default.yaml`.
    Community,
}

/// Everything one status page is made from. Each file is optional; `unreadable` names the
/// files that were given but could not be read, and why (shown on the page, never fatal).
#[derive(Clone, Debug, Default)]
pub(crate) struct StatusInputs {
    /// The catalog these facts are about.
    pub(crate) catalog: CatalogKind,
    /// The community catalog's facts (same run, its own index report, catalog and overlay rows),
    /// when the run has or should have one: its own section of the page.
    pub(crate) community: Option<Box<StatusInputs>>,
    pub(crate) run: RunContext,
    pub(crate) index_report: Option<IndexReportFile>,
    pub(crate) build_report: Option<BuildReportFile>,
    pub(crate) build_info: Option<BuildInfo>,
    pub(crate) plan: Option<PlanFile>,
    /// Every export report of the run, in the order given (later workspaces win).
    pub(crate) exports: Vec<ExportReportFile>,
    /// `catalog-index/index.json`.
    pub(crate) index: Option<IndexJson>,
    /// Image name → whether `dynamic-plugins.default.yaml` enables it (absent: not listed).
    pub(crate) enabled: BTreeMap<String, bool>,
    /// Whether a `dynamic-plugins.default.yaml` was read at all.
    pub(crate) has_dynamic_plugins: bool,
    /// Every plugins-list entry of the overlay, when the overlay was given.
    pub(crate) overlay: Vec<super::overlay::OverlayPlugin>,
    /// The tasks that failed, with their logs' error lines.
    pub(crate) failed_tasks: Vec<FailedTask>,
    pub(crate) unreadable: Vec<String>,
}
