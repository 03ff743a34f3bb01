//! The status page as values: the facts of every input joined per plugin (one row each), the
//! plugins that need a person (ACTION REQUIRED), the change since the previous index in groups,
//! and the header. Pure: [`super::html`] and [`super::markdown`] only lay this out, so both say
//! the same thing.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use base64::Engine as _;

use super::inputs::{
    BuildPlugin, BuildStage, CatalogKind, ExportPlugin, ExportWorkspace, FailedTask, IndexPlugin, PlanWorkspace,
    StatusInputs, ValueChange,
};
use super::overlay::OverlayPlugin;
use crate::domain::catalog::identity::image_name;
use crate::domain::run_report::{TaskLine, TaskStatus};
use crate::formats::build_info::format_epoch;
use crate::formats::index_json::IndexEntry;

/// Log lines kept per action, and characters per line: the page stays readable and small.
const LOG_LINES: usize = 20;
const LOG_LINE_CHARS: usize = 300;
/// Characters of a cause or reason shown.
const CAUSE_CHARS: usize = 1000;
/// Input warnings shown, and characters of each: a short list; the index report has them all.
pub(crate) const INPUT_WARNINGS_SHOWN: usize = 20;
const INPUT_WARNING_CHARS: usize = 300;

/// How one stage of one plugin ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Fail,
    Warn,
    Pass,
    Skip,
    /// Unknown: no input says the stage ran.
    NotRun,
}

impl Outcome {
    /// The word beside the colour.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "ok",
            Outcome::Warn => "warning",
            Outcome::Fail => "failed",
            Outcome::Skip => "skipped",
            Outcome::NotRun => "not run",
        }
    }

    /// A mark that survives plain text and colour blindness.
    pub(crate) fn mark(self) -> &'static str {
        match self {
            Outcome::Pass => "✓",
            Outcome::Warn => "⚠",
            Outcome::Fail => "✗",
            Outcome::Skip => "–",
            Outcome::NotRun => "○",
        }
    }

    /// The CSS class (colour) of the cell.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::NotRun => "none",
        }
    }

    fn from_word(word: &str) -> Outcome {
        match word {
            "pass" | "passed" | "ok" | "success" | "exported" => Outcome::Pass,
            "fail" | "failed" | "error" => Outcome::Fail,
            "skip" | "skipped" => Outcome::Skip,
            "" => Outcome::NotRun,
            _ => Outcome::Warn,
        }
    }
}

/// One stage of one plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stage {
    pub(crate) outcome: Outcome,
    pub(crate) detail: Option<String>,
}

impl Stage {
    fn new(outcome: Outcome, detail: Option<String>) -> Stage {
        Stage { outcome, detail: detail.map(|text| clip(&text, CAUSE_CHARS)) }
    }

    fn not_run() -> Stage {
        Stage { outcome: Outcome::NotRun, detail: None }
    }
}

/// The stages every row shows, in pipeline order.
pub(crate) const STAGES: [&str; 6] = ["export", "package", "resolve", "DPDY", "catalog entities", "install check"];

/// Where a plugin stands in this index (or why it is in none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PluginState {
    ExportFailed,
    Missing,
    Kept,
    Fallback,
    Pinned,
    /// The index task failed in this run: where the plugin would stand is unknown.
    IndexFailed,
    /// The index task did not run in this run.
    IndexNotRun,
    /// No index report says how it was pinned.
    Unknown,
    /// The index ran and does not list it: nothing selects it (default.packages.yaml, package lists).
    NotSelected,
    /// No metadata file describes its folder, so no index lists it.
    NoMetadata,
    /// The supported package list does not name it.
    NotSupported,
    /// `fetch` dropped its workspace.
    WorkspaceDropped,
}

impl PluginState {
    pub(crate) fn word(self) -> &'static str {
        match self {
            PluginState::Pinned => "pinned",
            PluginState::Fallback => "fallback tag",
            PluginState::Kept => "kept from previous index",
            PluginState::Missing => "missing",
            PluginState::ExportFailed => "export failed",
            PluginState::IndexFailed => "unknown: index failed",
            PluginState::IndexNotRun => "unknown: index did not run",
            PluginState::Unknown => "not checked",
            PluginState::NotSelected => "not selected for the index",
            PluginState::NoMetadata => "no metadata",
            PluginState::NotSupported => "not in the supported list",
            PluginState::WorkspaceDropped => "workspace dropped",
        }
    }

    /// The word a table cell has room for.
    pub(crate) fn short(self) -> &'static str {
        match self {
            PluginState::Kept => "kept",
            PluginState::Fallback => "fallback",
            PluginState::NotSelected => "not selected",
            PluginState::NotSupported => "not supported",
            other => other.word(),
        }
    }

    pub(crate) fn mark(self) -> &'static str {
        match self {
            PluginState::Pinned => "✓",
            PluginState::Fallback | PluginState::Kept => "⚠",
            PluginState::Missing | PluginState::ExportFailed => "✗",
            PluginState::IndexFailed | PluginState::IndexNotRun | PluginState::Unknown => "○",
            PluginState::NotSelected
            | PluginState::NoMetadata
            | PluginState::NotSupported
            | PluginState::WorkspaceDropped => "–",
        }
    }

    /// A short key for filters and CSS.
    pub(crate) fn key(self) -> &'static str {
        match self {
            PluginState::Pinned => "pinned",
            PluginState::Fallback => "fallback",
            PluginState::Kept => "kept",
            PluginState::Missing => "missing",
            PluginState::ExportFailed => "export-failed",
            PluginState::IndexFailed => "index-failed",
            PluginState::IndexNotRun => "index-not-run",
            PluginState::Unknown => "unknown",
            PluginState::NotSelected => "not-selected",
            PluginState::NoMetadata => "no-metadata",
            PluginState::NotSupported => "not-supported",
            PluginState::WorkspaceDropped => "workspace-dropped",
        }
    }

    pub(crate) fn outcome(self) -> Outcome {
        match self {
            PluginState::Pinned => Outcome::Pass,
            PluginState::Fallback | PluginState::Kept => Outcome::Warn,
            PluginState::Missing | PluginState::ExportFailed => Outcome::Fail,
            PluginState::IndexFailed | PluginState::IndexNotRun | PluginState::Unknown => Outcome::NotRun,
            PluginState::NotSelected
            | PluginState::NoMetadata
            | PluginState::NotSupported
            | PluginState::WorkspaceDropped => Outcome::Skip,
        }
    }

    /// Whether the plugin is outside every catalog for a reason of the overlay (not a failure).
    pub(crate) fn is_outside(self) -> bool {
        matches!(
            self,
            PluginState::NotSelected
                | PluginState::NoMetadata
                | PluginState::NotSupported
                | PluginState::WorkspaceDropped
        )
    }

    /// Whether this run's index would say, and did not.
    pub(crate) fn is_unknown(self) -> bool {
        matches!(self, PluginState::IndexFailed | PluginState::IndexNotRun | PluginState::Unknown)
    }
}

/// What this run's `index` task did, as far as the inputs tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum IndexOutcome {
    /// Its report was read: the plugin states are this run's.
    Succeeded,
    Failed,
    NotRun,
    /// No report, and no task status says why.
    #[default]
    Unknown,
}

/// One plugin of the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) image: String,
    /// The npm name when an input names it, else the image name.
    pub(crate) name: String,
    pub(crate) workspace: String,
    pub(crate) support: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) requested_tag: Option<String>,
    pub(crate) resolved_tag: Option<String>,
    pub(crate) digest: Option<String>,
    pub(crate) build_date: Option<String>,
    /// Days between the build and the inputs' time (negative: built after the inputs were made).
    pub(crate) age_days: Option<i64>,
    /// In [`STAGES`] order.
    pub(crate) stages: Vec<Stage>,
    /// `<workspace>/<folder>`: where its plugins-list.yaml names it, when known.
    pub(crate) folder: Option<String>,
    /// Why it is in no catalog of this run, when it is not.
    pub(crate) why: Option<String>,
    /// `Some` when dynamic-plugins.default.yaml lists the plugin.
    pub(crate) enabled: Option<bool>,
    pub(crate) state: PluginState,
}

impl Row {
    /// The digest as tables show it: `sha256:` and 12 hex digits.
    pub(crate) fn short_digest(&self) -> Option<String> {
        self.digest.as_deref().map(short_digest)
    }

    /// The age as a table shows it.
    pub(crate) fn age(&self) -> Option<String> {
        self.age_days.map(|days| if days < 0 { "after the inputs".to_string() } else { format!("{days} d") })
    }

    /// `enabled`, `disabled`, or `not listed`.
    pub(crate) fn enabled_word(&self) -> &'static str {
        match self.enabled {
            Some(true) => "enabled",
            Some(false) => "disabled",
            None => "not listed",
        }
    }
}

/// One thing a person has to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Action {
    /// The plugin's name, or `workspace <ws>` for a workspace that failed as a whole.
    pub(crate) name: String,
    pub(crate) image: Option<String>,
    pub(crate) workspace: String,
    pub(crate) state: PluginState,
    /// What is wrong, in one or a few sentences.
    pub(crate) cause: String,
    /// The last lines of the log that shows it.
    pub(crate) log: Vec<String>,
    /// What to do before the command (`run`, `fix the cause …, then run`).
    pub(crate) before: String,
    /// The command that fixes it.
    pub(crate) command: String,
    /// What happens after the command, a sentence.
    pub(crate) then: String,
    /// The plugins one infrastructure cause failed (an outage is one item, not one per plugin).
    pub(crate) plugins: Vec<String>,
    /// The infrastructure cause (`registry X refuses connections`), when that is what failed.
    pub(crate) outage: Option<String>,
}

/// One line of the change since the previous index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DiffLine {
    /// The npm name when an input names it, else the image name.
    pub(crate) plugin: String,
    /// The image name, when `plugin` is the npm name.
    pub(crate) image: Option<String>,
    pub(crate) detail: String,
}

/// The change since the previous index, grouped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DiffGroups {
    pub(crate) added: Vec<DiffLine>,
    pub(crate) removed: Vec<DiffLine>,
    pub(crate) upgraded: Vec<DiffLine>,
    pub(crate) downgraded: Vec<DiffLine>,
    /// Same tag, new digest.
    pub(crate) repinned: Vec<DiffLine>,
    /// `enabled` or `pluginConfig` changed.
    pub(crate) configuration: Vec<DiffLine>,
}

impl DiffGroups {
    /// (id, title, lines) in the order the page shows them.
    pub(crate) fn groups(&self) -> [(&'static str, &'static str, &[DiffLine]); 6] {
        [
            ("added", "Added", &self.added),
            ("removed", "Removed", &self.removed),
            ("upgraded", "Upgraded", &self.upgraded),
            ("downgraded", "Downgraded", &self.downgraded),
            ("repinned", "Re-pinned (same tag, new digest)", &self.repinned),
            ("configuration", "Configuration changed", &self.configuration),
        ]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.groups().iter().all(|(_, _, lines)| lines.is_empty())
    }
}

/// The header's index image when the run published none.
pub(crate) const NOT_PUBLISHED: &str = "not published by this run";

/// The header: what was built, from what, when.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) status: TaskStatus,
    /// `(label, value)` facts in display order; only the known ones.
    pub(crate) facts: Vec<(&'static str, String)>,
    /// When the inputs were made, formatted; `None` when no input says.
    pub(crate) inputs_time: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) plugins: usize,
    pub(crate) pinned: usize,
    pub(crate) fallback: usize,
    pub(crate) kept: usize,
    pub(crate) missing: usize,
    pub(crate) failed_exports: usize,
    pub(crate) actions: usize,
    /// Plugins whose state this run's index would have given, and did not (it failed or did not run).
    pub(crate) unknown: usize,
    /// Plugins the overlay lists that no catalog lists, by the overlay's choice (not supported, no
    /// metadata, not selected, workspace dropped).
    pub(crate) outside: usize,
}

/// The whole page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) header: Header,
    pub(crate) totals: Totals,
    pub(crate) actions: Vec<Action>,
    /// `None` when no index report was read (the change is unknown).
    pub(crate) diff: Option<DiffGroups>,
    pub(crate) rows: Vec<Row>,
    pub(crate) tasks: Vec<TaskLine>,
    /// Inputs that could not be read, and other things the reader should know.
    pub(crate) notes: Vec<String>,
    /// Where the full page can be read (named by a cut markdown summary).
    pub(crate) page_url: Option<String>,
    /// What this run's index task did.
    pub(crate) index: IndexOutcome,
    /// The tasks that failed, with the lines of their logs that say why: shown first.
    pub(crate) failures: Vec<FailedTask>,
    /// The catalog this page (or section) shows.
    pub(crate) catalog: CatalogKind,
    /// The community catalog's section (its own header, actions, changes and rows), when the run
    /// has or should have one.
    pub(crate) community: Option<Box<Page>>,
    /// What the index's reads of the overlay's files passed over (both catalogs' reports, each
    /// once), at most [`INPUT_WARNINGS_SHOWN`], each clipped.
    pub(crate) input_warnings: Vec<String>,
    /// How many input warnings the reports hold in all.
    pub(crate) input_warnings_total: usize,
}

impl Page {
    /// One line for a Tekton result or a log: the run, the plugins, what needs a person.
    pub(crate) fn summary_line(&self) -> String {
        let mut line = crate::domain::run_report::summary_line(&self.header.status, &self.tasks);
        let totals = &self.totals;
        if totals.plugins > 0 {
            let _ = write!(
                line,
                "; {} {}: {} pinned, {} fallback, {} kept, {} missing, {} {}",
                totals.plugins,
                plural(totals.plugins, "plugin", "plugins"),
                totals.pinned,
                totals.fallback,
                totals.kept,
                totals.missing,
                totals.failed_exports,
                plural(totals.failed_exports, "failed export", "failed exports")
            );
        }
        if totals.unknown > 0 {
            let _ = write!(line, "; {} unknown (no index of this run)", totals.unknown);
        }
        if totals.outside > 0 {
            let _ = write!(line, "; {} not in the catalog by the overlay's choice", totals.outside);
        }
        if totals.actions > 0 {
            let _ = write!(line, "; ACTION REQUIRED: {}", totals.actions);
        }
        if let Some(community) = self.community.as_deref() {
            let totals = &community.totals;
            if totals.plugins > 0 || totals.actions > 0 {
                let _ = write!(
                    line,
                    "; community: {} {}: {} pinned, {} fallback, {} kept, {} missing",
                    totals.plugins,
                    plural(totals.plugins, "plugin", "plugins"),
                    totals.pinned,
                    totals.fallback,
                    totals.kept,
                    totals.missing
                );
                if totals.unknown > 0 {
                    let _ = write!(line, ", {} unknown", totals.unknown);
                }
                if totals.actions > 0 {
                    let _ = write!(line, ", ACTION REQUIRED: {}", totals.actions);
                }
            }
        }
        clip(&line, 1024)
    }

    /// Things that need a person in every catalog of the page.
    pub(crate) fn all_actions(&self) -> usize {
        self.totals.actions + self.community.as_ref().map_or(0, |community| community.totals.actions)
    }
}

/// `one` for 1, else `many`.
pub(crate) fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}

/// `sha256:` and the first 12 hex digits.
pub(crate) fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => format!("{algorithm}:{}", hex.get(..12).unwrap_or(hex)),
        None => digest.to_string(),
    }
}

/// At most `chars` characters, with `…` when cut (never inside a character).
pub(crate) fn clip(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The tag of `<registry>/<image>:<tag>[@digest]`.
fn tag_of(reference: &str) -> Option<String> {
    let name = reference.split('@').next().unwrap_or(reference);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag.to_string()).filter(|tag| !tag.is_empty())
}

/// The image name (last path segment, no tag or digest) of a reference.
fn image_of_reference(reference: &str) -> String {
    let name = reference.split('@').next().unwrap_or(reference);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split(':').next().unwrap_or(last).to_string()
}

/// The registry prefix of `<registry>/<image>:<tag>`.
fn registry_of_reference(reference: &str) -> Option<String> {
    let name = reference.split('@').next().unwrap_or(reference);
    name.rsplit_once('/').map(|(prefix, _)| prefix.to_string())
}

/// The plugin version a tag carries: after `--` (`<rhdh>--<version>`) or `__` (`bs_<backstage>__<version>`).
fn version_of_tag(tag: &str) -> Option<&str> {
    tag.rsplit_once("--").or_else(|| tag.rsplit_once("__")).map(|(_, version)| version)
}

/// Numeric components of a version or tag, for ordering.
fn numbers(text: &str) -> Vec<u64> {
    text.split(|character: char| !character.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap_or(u64::MAX))
        .collect()
}

/// Orders two tags: by plugin version, then by the rest (RHDH or Backstage version), then as text.
fn compare_tags(old: &str, new: &str) -> Ordering {
    let split = |tag: &str| match tag.rsplit_once("--").or_else(|| tag.rsplit_once("__")) {
        Some((prefix, version)) => (numbers(version), numbers(prefix)),
        None => (numbers(tag), Vec::new()),
    };
    split(old).cmp(&split(new)).then_with(|| old.cmp(new))
}

/// `YYYY-MM-DDTHH:MM:SS…` (UTC) → seconds since the epoch.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 10 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range).and_then(|part| part.parse::<i64>().ok());
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if bytes[4] != b'-' || bytes[7] != b'-' || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (hour, minute, second) =
        if bytes.len() >= 19 { (number(11..13)?, number(14..16)?, number(17..19)?) } else { (0, 0, 0) };
    // Days from civil (Howard Hinnant's algorithm), the inverse of `format_epoch`.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// `(npm name, version)` of the first package the `io.backstage.dynamic-packages` annotation names.
fn dynamic_package(entry: &IndexEntry) -> Option<(String, Option<String>)> {
    let text = entry.dynamic_packages.as_deref()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let package = value.as_array()?.first()?.as_object()?.values().next()?;
    let name = package.get("name")?.as_str()?;
    let name = name.strip_suffix("-dynamic").unwrap_or(name).to_string();
    Some((name, package.get("version").and_then(|version| version.as_str()).map(str::to_string)))
}

/// The facts of every input about one image.
#[derive(Default)]
struct Joined<'a> {
    index: Option<&'a IndexPlugin>,
    build: Option<&'a BuildPlugin>,
    export: Option<(&'a str, &'a ExportWorkspace, &'a ExportPlugin)>,
    entry: Option<&'a IndexEntry>,
    overlay: Option<&'a OverlayPlugin>,
}

/// The image an export report's plugin was (or would have been) published as.
fn export_key(workspace: &str, plugin: &ExportPlugin) -> String {
    if let Some(image) = &plugin.image {
        return image_of_reference(image);
    }
    match &plugin.package {
        Some(package) => image_name(package),
        None => format!("{workspace}/{}", plugin.path),
    }
}

/// What this run's index task did: its report was read, or the task statuses say it failed or
/// did not run.
fn index_outcome(inputs: &StatusInputs) -> IndexOutcome {
    if inputs.index_report.is_some() {
        return IndexOutcome::Succeeded;
    }
    match inputs.run.tasks.iter().find(|task| task.name == "index").map(|task| &task.status) {
        Some(TaskStatus::Failed) => IndexOutcome::Failed,
        Some(TaskStatus::None) => IndexOutcome::NotRun,
        _ => IndexOutcome::Unknown,
    }
}

/// Builds the page. Pure: the same inputs give the same page.
/// The notes under the page's header: inputs that could not be read, packages left out of
/// dynamic-plugins.default.yaml, and what an index that did not succeed means for the rows.
fn page_notes(inputs: &StatusInputs, index: IndexOutcome) -> Vec<String> {
    let mut notes: Vec<String> = inputs.unreadable.clone();
    if let Some(report) = &inputs.index_report
        && !report.dynamic_plugins_left_out.is_empty()
    {
        notes.push(format!(
            "default.packages.yaml entries left out of dynamic-plugins.default.yaml (no image): {}",
            report.dynamic_plugins_left_out.join(", ")
        ));
    }
    match index {
        IndexOutcome::Succeeded => {}
        IndexOutcome::Failed | IndexOutcome::NotRun => notes.push(format!(
            "the index task {} in this run: no plugin below is in a catalog this run made, and no earlier catalog is shown as this run's; each plugin's state comes from the plan, the export reports and the overlay's metadata",
            if index == IndexOutcome::Failed { "failed" } else { "did not run" }
        )),
        IndexOutcome::Unknown if inputs.catalog == CatalogKind::Community => notes.push(
            "no community index report was read (the index task made no community catalog, or its report was not passed to this report): how each plugin was pinned, and the change since the previous community index, are unknown"
                .to_string(),
        ),
        IndexOutcome::Unknown => notes.push(
            "no index report was read: how each plugin was pinned, and the change since the previous index, are unknown"
                .to_string(),
        ),
    }
    notes
}

pub(crate) fn build(inputs: &StatusInputs) -> Page {
    let mut joined: BTreeMap<String, Joined<'_>> = BTreeMap::new();
    if let Some(report) = &inputs.index_report {
        for plugin in &report.plugins {
            joined.entry(plugin.image.clone()).or_default().index = Some(plugin);
        }
    }
    if let Some(report) = &inputs.build_report {
        for (image, plugin) in &report.plugins {
            joined.entry(image.clone()).or_default().build = Some(plugin);
        }
    }
    let mut workspaces: BTreeMap<&str, &ExportWorkspace> = BTreeMap::new();
    for report in &inputs.exports {
        for (name, workspace) in &report.workspaces {
            workspaces.insert(name, workspace);
        }
    }
    let mut export_keys: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for (name, workspace) in &workspaces {
        for plugin in &workspace.plugins {
            let key = export_key(name, plugin);
            export_keys.insert((name, plugin.path.as_str()), key.clone());
            joined.entry(key).or_default().export = Some((name, workspace, plugin));
        }
    }
    if let Some(index) = &inputs.index {
        for (image, entry) in index {
            joined.entry(image.clone()).or_default().entry = Some(entry);
        }
    }
    // Every plugin the overlay lists: by the image its metadata names, else as the export named
    // it, else by its folder.
    for plugin in &inputs.overlay {
        let key = plugin
            .package
            .as_deref()
            .map(image_name)
            .or_else(|| export_keys.get(&(plugin.workspace.as_str(), plugin.folder.as_str())).cloned())
            .unwrap_or_else(|| plugin.workspace_path());
        joined.entry(key).or_default().overlay = Some(plugin);
    }
    // The export reports are the run's (the pipeline exports the supported catalog's plugins): in
    // the community catalog's section they add facts to its plugins, not rows of their own.
    if inputs.catalog == CatalogKind::Community {
        joined.retain(|_, facts| {
            facts.index.is_some() || facts.build.is_some() || facts.entry.is_some() || facts.overlay.is_some()
        });
    }

    let index = index_outcome(inputs);
    let inputs_epoch = inputs
        .run
        .inputs_epoch
        .or_else(|| inputs.build_info.as_ref().and_then(|info| info.build_date.as_deref()).and_then(parse_time));
    let registry = inputs.build_info.as_ref().map(|info| info.registry.clone()).filter(|text| !text.is_empty());
    let registries = ActionRegistries {
        export: registry.as_deref(),
        community: inputs
            .build_info
            .as_ref()
            .and_then(|info| info.community_registry.as_deref())
            .filter(|text| !text.is_empty()),
        catalog: inputs.catalog,
    };
    let rerun = inputs.run.rerun_command.as_deref();

    // npm names the index report gives for plugins left out of the index.
    let left_out: BTreeMap<String, &str> = inputs
        .index_report
        .iter()
        .flat_map(|report| &report.dynamic_plugins_left_out)
        .map(|name| (image_name(name), name.as_str()))
        .collect();
    let mut rows = Vec::new();
    let mut actions = Vec::new();
    for (image, facts) in &joined {
        let mut row = row(image, facts, inputs, &workspaces, inputs_epoch, index);
        if row.name == *image
            && let Some(name) = left_out.get(image)
        {
            row.name = (*name).to_string();
        }
        if let Some(action) = action(&row, facts, &registries, rerun, index) {
            actions.push(action);
        }
        rows.push(row);
    }
    // A workspace that failed before any plugin was reported still needs a person (once: in the
    // supported catalog's section, whose plugins the pipeline exports).
    for (name, workspace) in workspaces.iter().filter(|_| inputs.catalog == CatalogKind::Supported) {
        if workspace.status == "failed" && !rows.iter().any(|row| row.workspace == *name) {
            actions.push(Action {
                name: format!("workspace {name}"),
                image: None,
                workspace: (*name).to_string(),
                state: PluginState::ExportFailed,
                cause: workspace_cause(workspace),
                log: Vec::new(),
                before: "fix the cause, then run".to_string(),
                command: rerun.map_or_else(|| export_command(name, registry.as_deref()), str::to_string),
                then: "Until then its plugins keep the images of their last export, where an index has them."
                    .to_string(),
                plugins: Vec::new(),
                outage: None,
            });
        }
    }
    let mut actions = group_outages(actions, rerun, registry.as_deref(), index);
    actions.sort_by(|a, b| (a.state, &a.workspace, &a.name).cmp(&(b.state, &b.workspace, &b.name)));

    let failed_workspaces = actions
        .iter()
        .filter(|action| {
            action.image.is_none() && action.plugins.is_empty() && action.state == PluginState::ExportFailed
        })
        .count();
    let count = |state: PluginState| rows.iter().filter(|row| row.state == state).count();
    let totals = Totals {
        plugins: rows.len(),
        pinned: count(PluginState::Pinned),
        fallback: count(PluginState::Fallback),
        kept: count(PluginState::Kept),
        missing: count(PluginState::Missing),
        failed_exports: rows.iter().filter(|row| row.stages[0].outcome == Outcome::Fail).count() + failed_workspaces,
        actions: actions.len(),
        unknown: rows.iter().filter(|row| row.state.is_unknown()).count(),
        outside: rows.iter().filter(|row| row.state.is_outside()).count(),
    };

    let names: BTreeMap<&str, &str> = rows.iter().map(|row| (row.image.as_str(), row.name.as_str())).collect();
    let diff = inputs.index_report.as_ref().map(|report| diff_groups(&report.diff, inputs, &names));

    let notes = page_notes(inputs, index);
    let mut failures = inputs.failed_tasks.clone();
    for task in inputs.run.tasks.iter().filter(|task| task.status == TaskStatus::Failed) {
        if !failures.iter().any(|failure| failure.task == task.name) {
            failures.push(FailedTask { task: task.name.clone(), lines: Vec::new(), log: None, fix: None });
        }
    }
    // An index that failed on images the store does not have (a store that lost them, a plan
    // that skipped their workspaces) is fixed by exporting again.
    if let Some(rerun) = rerun {
        for failure in failures.iter_mut().filter(|failure| failure.task == "index") {
            failure.fix = Some(format!("{rerun} --force-export"));
        }
    }
    let order = |name: &str| inputs.run.tasks.iter().position(|task| task.name == name).unwrap_or(usize::MAX);
    failures.sort_by_key(|failure| order(&failure.task));

    let community = inputs.community.as_deref().map(|community| Box::new(build(community)));
    let (input_warnings, input_warnings_total) = input_warnings(inputs);
    Page {
        header: header(inputs, inputs_epoch),
        totals,
        actions,
        diff,
        rows,
        tasks: inputs.run.tasks.clone(),
        notes,
        page_url: inputs.run.page_url.clone(),
        index,
        failures,
        catalog: inputs.catalog,
        community,
        input_warnings,
        input_warnings_total,
    }
}

/// The input warnings of both catalogs' index reports, each once, in the order they came: the
/// first [`INPUT_WARNINGS_SHOWN`] (clipped), and how many there are.
fn input_warnings(inputs: &StatusInputs) -> (Vec<String>, usize) {
    let community = inputs.community.as_deref().and_then(|community| community.index_report.as_ref());
    let mut seen = BTreeSet::new();
    let mut shown = Vec::new();
    for warning in inputs.index_report.iter().chain(community).flat_map(|report| &report.input_warnings) {
        if seen.insert(warning.as_str()) && shown.len() < INPUT_WARNINGS_SHOWN {
            shown.push(clip(warning, INPUT_WARNING_CHARS));
        }
    }
    (shown, seen.len())
}

/// Plugins that failed for one infrastructure cause (a registry or git remote that did not
/// answer) become one item naming the cause, the plugins and the command to retry; the others
/// stay as they are.
fn group_outages(
    actions: Vec<Action>,
    rerun: Option<&str>,
    registry: Option<&str>,
    index: IndexOutcome,
) -> Vec<Action> {
    let mut kept = Vec::new();
    let mut outages: BTreeMap<String, Vec<Action>> = BTreeMap::new();
    for action in actions {
        match action.outage.clone() {
            Some(outage) => outages.entry(outage).or_default().push(action),
            None => kept.push(action),
        }
    }
    for (outage, members) in outages {
        let workspaces: BTreeSet<&str> = members.iter().map(|action| action.workspace.as_str()).collect();
        let plugins: Vec<String> = members.iter().map(|action| action.name.clone()).collect();
        let first = &members[0];
        let names: Vec<&str> = workspaces.iter().copied().collect();
        let command = match (rerun, registry) {
            (Some(command), _) => command.to_string(),
            (None, Some(registry)) => {
                format!("rhdh-catalog export --workspace {} --registry {registry}", names.join(","))
            }
            (None, None) => format!("rhdh-catalog export --workspace {}", names.join(",")),
        };
        let then = match index {
            IndexOutcome::Succeeded => {
                "Nothing in the overlay needs a change; the index of that run pins what it pushes."
            }
            _ => {
                "Nothing in the overlay needs a change; the index of that run pins what it pushes (this run made no index)."
            }
        };
        kept.push(Action {
            name: outage.clone(),
            image: None,
            workspace: names.join(", "),
            state: PluginState::ExportFailed,
            cause: clip(
                &format!(
                    "{} {} in {} {} failed for this one cause. The first: {}",
                    members.len(),
                    plural(members.len(), "plugin", "plugins"),
                    workspaces.len(),
                    plural(workspaces.len(), "workspace", "workspaces"),
                    first.cause
                ),
                CAUSE_CHARS,
            ),
            log: first.log.clone(),
            before: "when it answers again (or once the host in --store or --registry is corrected), run".to_string(),
            command,
            then: then.to_string(),
            plugins,
            outage: Some(outage),
        });
    }
    kept
}

fn header(inputs: &StatusInputs, inputs_epoch: Option<i64>) -> Header {
    let run = &inputs.run;
    let info = inputs.build_info.as_ref();
    let mut facts: Vec<(&'static str, String)> = Vec::new();
    let mut push = |label: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            facts.push((label, value));
        }
    };
    // The community catalog's section shares the run's facts with the page's header: it names
    // only where its plugins and its image are.
    let community = inputs.catalog == CatalogKind::Community;
    if !community {
        push("branch", run.branch.clone());
        push("RHDH branch", inputs.plan.as_ref().and_then(|plan| plan.rhdh_branch.clone()));
    }
    let plan = inputs.plan.as_ref().filter(|_| !community);
    let info_facts = info.filter(|_| !community);
    push(
        "RHDH",
        info_facts
            .and_then(|info| info.rhdh_version.clone())
            .or_else(|| plan.and_then(|plan| plan.rhdh_version.clone())),
    );
    push(
        "Backstage",
        info_facts
            .map(|info| info.backstage_version.clone())
            .or_else(|| plan.and_then(|plan| plan.backstage_version.clone())),
    );
    push("midstream commit", run.revision.clone().filter(|_| !community));
    push("overlay commit", info_facts.map(|info| info.overlay_commit.clone()));
    push("overlay repository", info_facts.and_then(|info| info.source_repo.split(" @ ").next().map(str::to_string)));
    push("plugin registry", info.map(|info| info.registry.clone()));
    push("community registry", info.and_then(|info| info.community_registry.clone()));
    let image = run
        .index_image
        .clone()
        .or_else(|| inputs.build_report.as_ref().and_then(|report| report.metadata.catalog_index_image.clone()));
    let (image, digest) = match image.as_deref().map(|image| image.split_once('@')) {
        Some(Some((name, digest))) => (Some(name.to_string()), Some(digest.to_string())),
        _ => (image, None),
    };
    push("index image", Some(image.unwrap_or_else(|| NOT_PUBLISHED.to_string())));
    push("index digest", digest);
    push(
        "last successful publish",
        inputs.build_report.as_ref().and_then(|report| report.metadata.last_successful_publish.clone()),
    );
    push("tool version", info_facts.map(|info| info.tool_version.clone()));
    Header { status: run.status.clone(), facts, inputs_time: inputs_epoch.map(format_epoch) }
}

/// Why a plugin of the overlay is in no catalog by the overlay's own choice, if it is not.
fn outside(
    plugin: Option<&OverlayPlugin>,
    planned: Option<&PlanWorkspace>,
    catalog: CatalogKind,
) -> Option<(PluginState, String)> {
    let plugin = plugin?;
    // A dropped workspace is one the pipeline exports nothing of: it matters to the plugins it
    // would export, not to those whose images come from elsewhere.
    if let Some(planned) = planned.filter(|planned| planned.decision == "drop")
        && (catalog == CatalogKind::Supported || plugin.exported)
    {
        return Some((
            PluginState::WorkspaceDropped,
            format!("fetch dropped workspace {}: {}", plugin.workspace, planned.reason),
        ));
    }
    if !plugin.listed {
        let list = match catalog {
            CatalogKind::Supported => "supported",
            CatalogKind::Community => "community",
        };
        let elsewhere = match (catalog, plugin.in_other_catalog) {
            (CatalogKind::Supported, true) => "; the community catalog lists it",
            _ => "",
        };
        return Some((
            PluginState::NotSupported,
            format!("the {list} package list does not name {}{elsewhere}", plugin.workspace_path()),
        ));
    }
    if plugin.package.is_none() {
        return Some((
            PluginState::NoMetadata,
            format!("no metadata/*.yaml of workspace {} describes this folder, so no index lists it", plugin.workspace),
        ));
    }
    None
}

/// What [`plugin_state`] decides from.
struct PluginFacts<'a> {
    /// Its export, or its workspace's, failed.
    export_failed: bool,
    /// Pinned at an older tag.
    fallback: bool,
    /// Its status in the index report.
    index_status: Option<&'a str>,
    /// How resolving its image went, when the build report says.
    fetched: Option<Outcome>,
    /// Why it is outside every catalog, when it is.
    outside: Option<(PluginState, String)>,
    index: IndexOutcome,
    /// The overlay lists it.
    in_overlay: bool,
}

/// A plugin's state, and why when the state alone does not say.
fn plugin_state(facts: PluginFacts<'_>) -> (PluginState, Option<String>) {
    if facts.export_failed {
        return (PluginState::ExportFailed, None);
    }
    if facts.fallback {
        return (PluginState::Fallback, None);
    }
    match facts.index_status {
        Some("pinned") => return (PluginState::Pinned, None),
        Some("stale") => return (PluginState::Kept, None),
        // `missing`, or a word this version does not know: not pinned.
        Some(_) => return (PluginState::Missing, None),
        None => {}
    }
    match facts.fetched {
        Some(Outcome::Pass) => return (PluginState::Pinned, None),
        Some(Outcome::Fail) => return (PluginState::Missing, None),
        _ => {}
    }
    match (facts.outside, facts.index) {
        (Some((state, reason)), _) => (state, Some(reason)),
        (None, IndexOutcome::Succeeded) if facts.in_overlay => (
            PluginState::NotSelected,
            Some("the index ran and nothing selects it (default.packages.yaml, the package lists)".to_string()),
        ),
        (None, IndexOutcome::Failed) => {
            (PluginState::IndexFailed, Some("the index task failed in this run".to_string()))
        }
        (None, IndexOutcome::NotRun) => {
            (PluginState::IndexNotRun, Some("the index task did not run in this run".to_string()))
        }
        _ => (PluginState::Unknown, None),
    }
}

fn row(
    image: &str,
    facts: &Joined<'_>,
    inputs: &StatusInputs,
    workspaces: &BTreeMap<&str, &ExportWorkspace>,
    inputs_epoch: Option<i64>,
    index: IndexOutcome,
) -> Row {
    let fetch = facts.build.and_then(|build| build.stages.image_metadata_fetch.as_ref());
    let annotated = facts.entry.and_then(dynamic_package);
    let workspace = facts
        .index
        .map(|plugin| plugin.workspace.clone())
        .filter(|workspace| !workspace.is_empty())
        .or_else(|| facts.build.and_then(|build| build.workspace.clone()))
        .or_else(|| facts.export.map(|(workspace, _, _)| workspace.to_string()))
        .or_else(|| facts.entry.and_then(|entry| entry.workspace_path.split('/').next().map(str::to_string)))
        .or_else(|| facts.overlay.map(|plugin| plugin.workspace.clone()))
        .unwrap_or_default();
    let folder = facts
        .overlay
        .map(OverlayPlugin::workspace_path)
        .or_else(|| facts.export.map(|(workspace, _, plugin)| format!("{workspace}/{}", plugin.path)))
        .or_else(|| facts.entry.map(|entry| entry.workspace_path.clone()).filter(|path| !path.is_empty()));
    let name = facts
        .build
        .and_then(|build| build.package.clone())
        .or_else(|| facts.export.and_then(|(_, _, plugin)| plugin.package.clone()))
        .or_else(|| annotated.as_ref().map(|(name, _)| name.clone()))
        .or_else(|| facts.overlay.and_then(|plugin| plugin.package.clone()))
        .unwrap_or_else(|| image.to_string());
    let requested_tag = fetch
        .and_then(|stage| stage.requested_tag.clone())
        .or_else(|| facts.index.and_then(|plugin| tag_of(&plugin.reference)))
        .or_else(|| {
            facts
                .build
                .and_then(|build| build.stages.bootstrap.as_ref())
                .and_then(|stage| stage.oci_ref.as_deref())
                .and_then(tag_of)
        });
    let index_status = facts.index.map(|plugin| plugin.status.as_str());
    let fallback = fetch.is_some_and(|stage| stage.fallback) || index_status == Some("fallback");
    let planned =
        inputs.plan.as_ref().and_then(|plan| plan.workspaces.iter().find(|planned| planned.name == workspace));
    let outside = outside(facts.overlay, planned, inputs.catalog);
    // Whether this pipeline exports the plugin (its workspace's failure is its failure).
    let exported_here = facts.overlay.map_or(inputs.catalog == CatalogKind::Supported, |plugin| plugin.exported);
    let export_failed = facts.export.is_some_and(|(_, _, plugin)| plugin.status == "failed")
        || (facts.export.is_none()
            && outside.is_none()
            && exported_here
            && workspaces.get(workspace.as_str()).is_some_and(|ws| ws.status == "failed"));
    let (state, why) = plugin_state(PluginFacts {
        export_failed,
        fallback,
        index_status,
        fetched: fetch.map(|stage| Outcome::from_word(&stage.status)),
        outside,
        index,
        in_overlay: facts.overlay.is_some(),
    });
    let resolved_tag = fetch
        .and_then(|stage| stage.resolved_tag.clone())
        .or_else(|| (matches!(index_status, Some("pinned"))).then(|| requested_tag.clone()).flatten())
        .or_else(|| facts.entry.map(|entry| entry.image_tag.clone()).filter(|tag| !tag.is_empty()));
    let version = facts
        .build
        .and_then(|build| build.version.clone())
        .or_else(|| facts.export.and_then(|(_, _, plugin)| plugin.version.clone()))
        .or_else(|| annotated.and_then(|(_, version)| version))
        .or_else(|| facts.overlay.and_then(|plugin| plugin.version.clone()))
        .or_else(|| requested_tag.as_deref().and_then(version_of_tag).map(str::to_string));
    let digest = facts
        .index
        .and_then(|plugin| plugin.digest.clone())
        .or_else(|| fetch.and_then(|stage| stage.digest.clone()))
        .or_else(|| {
            facts.entry.and_then(|entry| entry.registry_reference.split_once('@').map(|(_, digest)| digest.to_string()))
        });
    let build_date = facts.entry.and_then(|entry| entry.build_date.clone());
    let age_days = match (build_date.as_deref().and_then(parse_time), inputs_epoch) {
        (Some(built), Some(inputs)) => Some((inputs - built).div_euclid(86_400)),
        _ => None,
    };
    // dynamic-plugins.default.yaml of this run's index when it was read, else default.packages.yaml;
    // an extra catalog index enables nothing by default.
    let enabled = if inputs.catalog == CatalogKind::Community {
        None
    } else if inputs.has_dynamic_plugins {
        inputs.enabled.get(image).copied()
    } else {
        facts.overlay.and_then(|plugin| plugin.enabled_by_default)
    };

    // A plugin outside every catalog by the overlay's choice, or one this pipeline does not
    // export, is not exported with its workspace.
    let workspace_report = workspaces.get(workspace.as_str()).copied().filter(|_| !state.is_outside() && exported_here);
    let stage_not_exported = (!exported_here && facts.export.is_none()).then(|| {
        Stage::new(
            Outcome::Skip,
            Some("not exported by this pipeline (the supported package list does not name it); its image is read from the registry".to_string()),
        )
    });
    let stages = vec![
        match (&why, state.is_outside() && facts.export.is_none(), &stage_not_exported) {
            (Some(why), true, _) => Stage::new(Outcome::Skip, Some(why.clone())),
            (_, _, Some(not_exported)) => not_exported.clone(),
            _ => export_stage(facts, workspace_report, planned),
        },
        match &stage_not_exported {
            Some(_) => Stage::new(Outcome::Skip, Some("no image is built for it by this pipeline".to_string())),
            None => package_stage(facts, planned),
        },
        resolve_stage(facts, fetch),
        build_stage(facts.build.and_then(|build| build.stages.dpdy.as_ref())).unwrap_or_else(|| {
            if inputs.catalog == CatalogKind::Community {
                Stage::new(
                    Outcome::Skip,
                    Some("an extra catalog index has no dynamic-plugins.default.yaml".to_string()),
                )
            } else if inputs.has_dynamic_plugins && !state.is_outside() {
                match enabled {
                    Some(enabled) => {
                        Stage::new(Outcome::Pass, Some(if enabled { "enabled" } else { "disabled" }.to_string()))
                    }
                    None => Stage::new(Outcome::Skip, Some("not in default.packages.yaml".to_string())),
                }
            } else {
                Stage::not_run()
            }
        }),
        build_stage(facts.build.and_then(|build| build.stages.catalog_index.as_ref())).unwrap_or_else(Stage::not_run),
        Stage::not_run(),
    ];
    Row {
        image: image.to_string(),
        name,
        workspace,
        support: facts
            .entry
            .and_then(|entry| entry.support.as_ref())
            .map(|support| support.as_str().to_string())
            .or_else(|| facts.overlay.and_then(|plugin| plugin.support.clone())),
        version,
        requested_tag,
        resolved_tag,
        digest,
        build_date,
        age_days,
        stages,
        enabled,
        state,
        folder,
        why,
    }
}

fn build_stage(stage: Option<&BuildStage>) -> Option<Stage> {
    stage.map(|stage| Stage::new(Outcome::from_word(&stage.status), stage.reason.clone()))
}

fn workspace_cause(workspace: &ExportWorkspace) -> String {
    let cause = workspace.cause.clone().unwrap_or_else(|| "the workspace export failed".to_string());
    let cause = if workspace.infrastructure {
        format!("{cause} (a git remote or registry failed: a retry may help)")
    } else {
        cause
    };
    clip(&cause, CAUSE_CHARS)
}

fn export_stage(facts: &Joined<'_>, workspace: Option<&ExportWorkspace>, planned: Option<&PlanWorkspace>) -> Stage {
    match (facts.export, workspace) {
        (Some((_, _, plugin)), _) if plugin.status == "failed" => Stage::new(
            Outcome::Fail,
            Some(plugin.bad_input.clone().or_else(|| plugin.cause.clone()).unwrap_or_else(|| "failed".to_string())),
        ),
        (Some((_, workspace, plugin)), _) => Stage::new(
            Outcome::from_word(&plugin.status),
            workspace.upstream_commit.as_ref().map(|commit| format!("upstream commit {commit}")),
        ),
        (None, Some(workspace)) if workspace.status == "failed" => {
            Stage::new(Outcome::Fail, Some(workspace_cause(workspace)))
        }
        (None, Some(_)) => {
            Stage::new(Outcome::Skip, Some("the workspace export did not report this plugin".to_string()))
        }
        (None, None) => match planned {
            Some(planned) if planned.decision == "skip" => {
                Stage::new(Outcome::Skip, Some(format!("unchanged since its last export ({})", planned.reason)))
            }
            Some(planned) if planned.decision == "drop" => Stage::new(Outcome::Skip, Some(planned.reason.clone())),
            _ => Stage::not_run(),
        },
    }
}

fn package_stage(facts: &Joined<'_>, planned: Option<&PlanWorkspace>) -> Stage {
    match facts.export {
        Some((_, _, plugin)) if plugin.status == "failed" => Stage::not_run(),
        Some((_, _, plugin)) => match &plugin.image {
            Some(image) => Stage::new(Outcome::Pass, Some(image.clone())),
            None => Stage::new(Outcome::Skip, Some("no image pushed (export ran without a registry)".to_string())),
        },
        None if planned.is_some_and(|planned| planned.decision == "skip") => {
            Stage::new(Outcome::Skip, Some("the image of its last export is kept".to_string()))
        }
        None => Stage::not_run(),
    }
}

fn resolve_stage(facts: &Joined<'_>, fetch: Option<&BuildStage>) -> Stage {
    if let Some(stage) = fetch {
        let outcome = match Outcome::from_word(&stage.status) {
            Outcome::Pass if stage.fallback => Outcome::Warn,
            other => other,
        };
        let detail = stage.reason.clone().or_else(|| {
            stage.resolved_tag.as_ref().filter(|_| stage.fallback).map(|tag| format!("resolved from {tag}"))
        });
        return Stage::new(outcome, detail);
    }
    match facts.index {
        Some(plugin) => {
            let outcome = match plugin.status.as_str() {
                "pinned" => Outcome::Pass,
                "fallback" | "stale" => Outcome::Warn,
                _ => Outcome::Fail,
            };
            let detail = match plugin.status.as_str() {
                "stale" => Some(format!(
                    "{}; the previous index's digest was kept",
                    plugin.detail.as_deref().unwrap_or("requested tag missing")
                )),
                _ => plugin.detail.clone(),
            };
            Stage::new(outcome, detail)
        }
        None => Stage::not_run(),
    }
}

fn export_command(workspace: &str, registry: Option<&str>) -> String {
    match registry {
        Some(registry) => format!("rhdh-catalog export --workspace {workspace} --registry {registry}"),
        None => format!("rhdh-catalog export --workspace {workspace}"),
    }
}

/// Where a catalog's plugin images come from, for the advice of its actions.
struct ActionRegistries<'a> {
    /// The prefix the exports push under (build-info's `registry`).
    export: Option<&'a str>,
    /// The community registry, whose images another project builds.
    community: Option<&'a str>,
    catalog: CatalogKind,
}

/// Why this pipeline does not build the image a plugin's index entry asks for, if it does not:
/// it does not export the plugin, or the image is named under the community registry.
fn not_built_here(facts: &Joined<'_>, registries: &ActionRegistries<'_>) -> Option<String> {
    let exported = facts.overlay.map_or(registries.catalog == CatalogKind::Supported, |plugin| plugin.exported);
    if !exported {
        return Some("this pipeline does not export it: the supported package list does not name it".to_string());
    }
    let requested = facts.index.and_then(|plugin| registry_of_reference(&plugin.reference))?;
    (registries.community == Some(requested.as_str()) && registries.export != Some(requested.as_str())).then(|| {
        format!("its images are named under the community registry {requested}, which this pipeline does not push to")
    })
}

fn action(
    row: &Row,
    facts: &Joined<'_>,
    registries: &ActionRegistries<'_>,
    rerun: Option<&str>,
    index: IndexOutcome,
) -> Option<Action> {
    if !matches!(
        row.state,
        PluginState::ExportFailed | PluginState::Missing | PluginState::Kept | PluginState::Fallback
    ) {
        return None;
    }
    let elsewhere = not_built_here(facts, registries);
    let registry = registries
        .export
        .map(str::to_string)
        .or_else(|| facts.index.and_then(|plugin| registry_of_reference(&plugin.reference)));
    let requested = row.requested_tag.as_deref().unwrap_or("its requested tag");
    let mut cause = match row.state {
        PluginState::ExportFailed => row.stages[0].detail.clone().unwrap_or_else(|| "the export failed".to_string()),
        PluginState::Missing => format!(
            "no image for tag {requested}{}; the plugin is left out of the index",
            facts
                .index
                .and_then(|plugin| plugin.detail.as_deref())
                .map(|detail| format!(" ({detail})"))
                .unwrap_or_default()
        ),
        PluginState::Kept => format!(
            "no image for tag {requested}; the previous index's digest {} was kept",
            row.short_digest().unwrap_or_else(|| "(unknown)".to_string())
        ),
        PluginState::Fallback => format!(
            "no image for tag {requested}; tag {} of the same image was pinned instead",
            row.resolved_tag.as_deref().unwrap_or("(unknown)")
        ),
        _ => String::new(),
    };
    if let Some(line) = facts.build.and_then(|build| build.action.as_deref()) {
        cause = format!("{cause}. {line}");
    }
    let mut log: Vec<String> = facts.export.map(|(_, _, plugin)| plugin.log_tail.clone()).unwrap_or_default();
    if log.len() > LOG_LINES {
        log.drain(..log.len() - LOG_LINES);
    }
    let log = log.iter().map(|line| clip(line, LOG_LINE_CHARS)).collect();
    let outage = facts
        .export
        .and_then(|(_, _, plugin)| plugin.outage.clone())
        .filter(|_| row.state == PluginState::ExportFailed);
    // What stands in the index until the fix lands: only what this run's index says.
    let in_index = matches!(facts.index.map(|plugin| plugin.status.as_str()), Some("pinned" | "stale" | "fallback"));
    let (before, command, then) = match (row.state, &elsewhere) {
        (PluginState::Missing | PluginState::Kept | PluginState::Fallback, Some(why)) => (
            format!(
                "exporting again does not help ({why}): publish {} where it is read from, or set spec.version in the plugin's metadata to a version that has an image; then run",
                facts.index.map_or_else(|| format!("tag {requested}"), |plugin| plugin.reference.clone())
            ),
            rerun.unwrap_or("rhdh-catalog sync").to_string(),
            "The index of that run pins the image.".to_string(),
        ),
        (PluginState::ExportFailed, _) => {
            let then = match index {
                IndexOutcome::Succeeded if in_index => format!(
                    "The next sync pins the new image; until then the index keeps the one it has ({}).",
                    row.short_digest().unwrap_or_else(|| "its previous digest".to_string())
                ),
                IndexOutcome::Succeeded => {
                    "The next sync pins the new image; until then the plugin is not in the index.".to_string()
                }
                _ => "The next sync exports it again and pins the new image (this run made no index).".to_string(),
            };
            (
                "fix the cause in the overlay or upstream, then run".to_string(),
                rerun.map_or_else(|| export_command(&row.workspace, registry.as_deref()), str::to_string),
                then,
            )
        }
        _ => match rerun {
            Some(rerun) => (
                "run".to_string(),
                format!("{rerun} --force-export {}", row.workspace),
                "It exports the workspace again, pushes the image for the requested tag, and its index pins it."
                    .to_string(),
            ),
            None => (
                "run".to_string(),
                export_command(&row.workspace, registry.as_deref()),
                "It pushes the image for the requested tag; the next sync, or an index run, pins it.".to_string(),
            ),
        },
    };
    Some(Action {
        name: row.name.clone(),
        image: Some(row.image.clone()),
        workspace: row.workspace.clone(),
        state: row.state,
        cause: clip(&cause, CAUSE_CHARS),
        log,
        before,
        command,
        then,
        plugins: Vec::new(),
        outage,
    })
}

fn show_change<T: ToString>(change: &ValueChange<T>, show: impl Fn(&T) -> String) -> String {
    let side = |value: Option<&T>| value.map_or_else(|| "none".to_string(), &show);
    format!("{} → {}", side(change.old.as_ref()), side(change.new.as_ref()))
}

fn diff_groups(diff: &super::inputs::DiffFile, inputs: &StatusInputs, names: &BTreeMap<&str, &str>) -> DiffGroups {
    let line = |image: &str, detail: String| match names.get(image) {
        Some(name) if *name != image => {
            DiffLine { plugin: (*name).to_string(), image: Some(image.to_string()), detail }
        }
        _ => DiffLine { plugin: image.to_string(), image: None, detail },
    };
    let mut groups = DiffGroups::default();
    let entry = |image: &str| inputs.index.as_ref().and_then(|index| index.get(image));
    for image in &diff.added {
        let detail = entry(image)
            .map(|entry| {
                let digest = entry.registry_reference.split_once('@').map(|(_, digest)| short_digest(digest));
                format!("{} {}", entry.image_tag, digest.unwrap_or_default()).trim().to_string()
            })
            .unwrap_or_default();
        groups.added.push(line(image, detail));
    }
    for image in &diff.removed {
        groups.removed.push(line(image, String::new()));
    }
    for change in &diff.changed {
        let digest = change.digest.as_ref().map(|digest| show_change(digest, |value| short_digest(value)));
        match &change.tag {
            Some(tag) => {
                let (old, new) = (tag.old.as_deref().unwrap_or(""), tag.new.as_deref().unwrap_or(""));
                let mut detail = show_change(tag, Clone::clone);
                if let Some(digest) = &digest {
                    let _ = write!(detail, " ({digest})");
                }
                let entry = line(&change.plugin, detail);
                if compare_tags(old, new) == Ordering::Greater {
                    groups.downgraded.push(entry);
                } else {
                    groups.upgraded.push(entry);
                }
            }
            None => {
                if let Some(digest) = digest {
                    let tag = entry(&change.plugin).map(|entry| format!("{}: ", entry.image_tag)).unwrap_or_default();
                    groups.repinned.push(line(&change.plugin, format!("{tag}{digest}")));
                }
            }
        }
        let mut parts = Vec::new();
        if let Some(enabled) = &change.enabled {
            let word = |value: &bool| if *value { "enabled".to_string() } else { "disabled".to_string() };
            parts.push(format!("default {}", show_change(enabled, word)));
        }
        if !change.plugin_config.is_empty() {
            parts.push(format!("pluginConfig {}", change.plugin_config.join(", ")));
        }
        if !parts.is_empty() {
            groups.configuration.push(line(&change.plugin, parts.join("; ")));
        }
    }
    groups
}

/// The states present in the rows, for the filter.
pub(crate) fn states_present(rows: &[Row]) -> BTreeSet<PluginState> {
    rows.iter().map(|row| row.state).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_bad_times_are_unknown() {
        for seconds in [0, 951_782_400, 1_787_347_775, 1_779_398_710] {
            assert_eq!(parse_time(&format_epoch(seconds)), Some(seconds));
        }
        assert_eq!(parse_time("2026-05-21"), parse_time("2026-05-21T00:00:00Z"));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn tags_order_by_plugin_version_then_platform_version() {
        assert_eq!(compare_tags("1.10.0--0.9.0", "1.10.0--0.10.0"), Ordering::Less);
        assert_eq!(compare_tags("bs_1.52.0__2.0.0", "bs_1.52.0__1.9.9"), Ordering::Greater);
        assert_eq!(compare_tags("1.9.0--1.0.0", "1.10.0--1.0.0"), Ordering::Less);
        assert_eq!(version_of_tag("bs_1.52.0__2.0.0"), Some("2.0.0"));
        assert_eq!(version_of_tag("1.10.0--0.19.1"), Some("0.19.1"));
        assert_eq!(tag_of("quay.io/rhdh/a:1.10.0--1.0.0"), Some("1.10.0--1.0.0".to_string()));
        assert_eq!(tag_of("localhost:5000/rhdh/a@sha256:00"), None);
    }

    #[test]
    fn clip_never_cuts_inside_a_character() {
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
