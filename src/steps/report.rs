//! `rhdh-catalog report`: the `finally` summary of a pipeline run. Every task's status
//! (Tekton's `$(tasks.<name>.status)`: Succeeded, Failed, None), and, from the reports the run's
//! steps wrote (index, build, export) and the index itself, the status page: `status.html` and
//! `status.md` in `--output-dir`, and the markdown on stdout cut to `--max-bytes` for a pull
//! request comment or a job summary. It never fails the run for what it reports: bad statuses
//! are shown, and an input that is missing or unreadable is named on the page, not an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::domain::run_report::{TaskLine, TaskStatus};
use crate::domain::status::inputs::{ExportReportFile, FailedTask, RunContext, StatusInputs};
use crate::domain::status::overlay::{OverlayPlugin, overlay_plugins};
use crate::domain::status::{html, markdown, page};
use crate::error::ExitStatus;

/// The one-line summary result.
pub(crate) const RESULT_SUMMARY: &str = "summary";
/// The Tekton results this step writes (`--results-dir`).
pub const RESULTS: [&str; 1] = [RESULT_SUMMARY];

/// The smallest `--max-bytes`: the summary's header and the pointer to the full page.
pub(crate) const MIN_MAX_BYTES: usize = 1024;

/// The page's file names inside `--output-dir`.
pub(crate) const STATUS_HTML: &str = "status.html";
pub(crate) const STATUS_MARKDOWN: &str = "status.md";

#[derive(Debug)]
pub struct ReportSettings {
    /// The aggregate status, `$(tasks.status)`.
    pub(crate) status: TaskStatus,
    pub(crate) tasks: Vec<TaskLine>,
    /// Also write the (cut) markdown here.
    pub(crate) output: Option<PathBuf>,
    pub(crate) results_dir: Option<PathBuf>,
    pub(crate) index_report: Option<PathBuf>,
    /// The catalog-index folder (index.json, dynamic-plugins.default.yaml).
    pub(crate) catalog_index: Option<PathBuf>,
    /// Explicit, or `<catalog-index>/build-report.json` when that exists.
    pub(crate) build_report: Option<PathBuf>,
    /// Explicit, or `<catalog-index>/build-info.json` when that exists.
    pub(crate) build_info: Option<PathBuf>,
    /// `plan.json` of the run (`fetch`).
    pub(crate) plan: Option<PathBuf>,
    /// The overlay tree: every plugin of every `plugins-list.yaml` gets a row.
    pub(crate) overlay: Option<PathBuf>,
    /// Supported package lists; empty: the overlay's `rhdh-supported-packages.txt` if any.
    pub(crate) supported_packages: Vec<PathBuf>,
    /// `(task, log)` of each task that failed: the page quotes the log's error lines.
    pub(crate) task_logs: Vec<(String, PathBuf)>,
    /// The command that runs the pipeline again (the page's fix commands are made from it).
    pub(crate) rerun_command: Option<String>,
    /// Files, or folders of `*.json` (and `export-reports/*.json`).
    pub(crate) export_reports: Vec<PathBuf>,
    /// Where `status.html` and `status.md` go.
    pub(crate) output_dir: Option<PathBuf>,
    /// The budget of the markdown on stdout and in `output`.
    pub(crate) max_bytes: usize,
    pub(crate) page_url: Option<String>,
    pub(crate) branch: Option<String>,
    pub(crate) revision: Option<String>,
    pub(crate) index_image: Option<String>,
    /// When the inputs were made: `--source-date-epoch`, else `SOURCE_DATE_EPOCH`.
    pub(crate) source_date_epoch: Option<i64>,
}

pub(crate) fn run(settings: &ReportSettings) -> anyhow::Result<ExitStatus> {
    let inputs = read_inputs(settings);
    for problem in &inputs.unreadable {
        tracing::warn!(problem = %problem, "report input not used");
    }
    let page = page::build(&inputs);
    let summary = markdown::render_within(&page, settings.max_bytes);
    print!("{summary}");
    if let Some(path) = &settings.output {
        crate::io::fs::write_atomic(path, summary.as_bytes())?;
    }
    if let Some(dir) = &settings.output_dir {
        fs_err::create_dir_all(dir)?;
        crate::io::fs::write_atomic(&dir.join(STATUS_HTML), html::render(&page).as_bytes())?;
        crate::io::fs::write_atomic(&dir.join(STATUS_MARKDOWN), markdown::render(&page).as_bytes())?;
        tracing::info!(page = %dir.join(STATUS_HTML).display(), plugins = page.rows.len(), actions = page.actions.len(), "status page written");
    }
    crate::io::tekton_results::Results::new(settings.results_dir.as_deref())
        .write(RESULT_SUMMARY, &page.summary_line())?;
    Ok(ExitStatus::Success)
}

/// Reads every input that was given; what is missing or unreadable is noted, never fatal.
fn read_inputs(settings: &ReportSettings) -> StatusInputs {
    let mut notes = Notes::default();
    let beside = |explicit: &Option<PathBuf>, name: &str| {
        explicit.clone().map(|path| (path, true)).or_else(|| {
            settings
                .catalog_index
                .as_ref()
                .map(|dir| dir.join(name))
                .filter(|path| path.exists())
                .map(|path| (path, false))
        })
    };
    let index_report = settings.index_report.as_ref().and_then(|path| read_json(path, true, &mut notes));
    let build_report = beside(&settings.build_report, "build-report.json")
        .and_then(|(path, explicit)| read_json(&path, explicit, &mut notes));
    let build_info = beside(&settings.build_info, "build-info.json")
        .and_then(|(path, explicit)| read_json(&path, explicit, &mut notes));
    let plan = settings.plan.as_ref().and_then(|path| read_json(path, true, &mut notes));
    let mut exports = Vec::new();
    for path in &settings.export_reports {
        for file in export_files(path, &mut notes) {
            if let Some(report) = read_json::<ExportReportFile>(&file, true, &mut notes) {
                exports.push(report);
            }
        }
    }
    let mut index = None;
    let mut enabled = BTreeMap::new();
    let mut has_dynamic_plugins = false;
    if let Some(dir) = &settings.catalog_index {
        index = read_json(&dir.join("index.json"), true, &mut notes);
        let dpdy_path = dir.join("dynamic-plugins.default.yaml");
        if dpdy_path.exists() {
            match crate::io::fs::read_text(&dpdy_path)
                .and_then(|text| crate::formats::dynamic_plugins::DynamicPluginsFile::parse(&dpdy_path, &text))
            {
                Ok(file) => {
                    has_dynamic_plugins = true;
                    for entry in &file.plugins {
                        enabled.insert(
                            crate::domain::catalog::identity::image_of_dynamic_plugin(&entry.package),
                            !entry.is_disabled(),
                        );
                    }
                }
                Err(error) => notes.unreadable.push(error.to_string()),
            }
        }
    }
    let overlay = settings
        .overlay
        .as_ref()
        .map(|dir| read_overlay(dir, &settings.supported_packages, &mut notes))
        .unwrap_or_default();
    let failed_tasks = settings
        .task_logs
        .iter()
        .map(|(task, log)| FailedTask {
            task: task.clone(),
            lines: crate::domain::run_report::cause_lines(&crate::io::shell::tail(log)),
            log: Some(log.display().to_string()),
            fix: None,
        })
        .collect();
    StatusInputs {
        overlay,
        failed_tasks,
        run: RunContext {
            rerun_command: settings.rerun_command.clone(),
            status: settings.status.clone(),
            tasks: settings.tasks.clone(),
            branch: settings.branch.clone(),
            revision: settings.revision.clone(),
            index_image: settings.index_image.clone(),
            inputs_epoch: settings.source_date_epoch,
            page_url: settings.page_url.clone(),
        },
        index_report,
        build_report,
        build_info,
        plan,
        exports,
        index,
        enabled,
        has_dynamic_plugins,
        unreadable: notes.into_lines(),
    }
}

/// Every plugins-list entry of the overlay at `dir`, with its metadata, whether the supported
/// lists name it and whether default.packages.yaml enables it. An overlay that cannot be read is
/// noted, not fatal (the rest of the page still says what it knows).
fn read_overlay(dir: &Path, supported_lists: &[PathBuf], notes: &mut Notes) -> Vec<OverlayPlugin> {
    crate::io::fs::add_content_tree(dir);
    let overlay = match crate::io::overlay_tree::load(dir) {
        Ok(overlay) => overlay,
        Err(error) => {
            notes
                .unreadable
                .push(format!("the overlay could not be read, so plugins no step reached are not listed: {error}"));
            return Vec::new();
        }
    };
    let lists: Vec<PathBuf> = if supported_lists.is_empty() {
        let default = dir.join("rhdh-supported-packages.txt");
        if default.exists() { vec![default] } else { Vec::new() }
    } else {
        supported_lists.to_vec()
    };
    let mut supported: Option<std::collections::BTreeSet<(String, String)>> = None;
    for list in &lists {
        match crate::io::fs::read_text(list).and_then(|text| crate::formats::package_list::parse(list, &text)) {
            Ok(entries) => {
                let set = supported.get_or_insert_with(Default::default);
                set.extend(entries.into_iter().map(|entry| (entry.workspace, entry.path.as_str().to_string())));
            }
            Err(error) => notes.unreadable.push(error.to_string()),
        }
    }
    let defaults_path = dir.join("default.packages.yaml");
    let defaults = if defaults_path.exists() {
        match crate::io::fs::read_text(&defaults_path)
            .and_then(|text| crate::formats::default_packages::DefaultPackages::parse(&defaults_path, &text))
        {
            Ok(defaults) => Some(defaults),
            Err(error) => {
                notes.unreadable.push(error.to_string());
                None
            }
        }
    } else {
        None
    };
    overlay_plugins(&overlay, supported.as_ref(), defaults.as_ref())
}

/// A JSON input, or `None` with the reason noted: a file the caller named that does not exist
/// goes to `missing`, one that cannot be read to `unreadable`.
fn read_json<T: DeserializeOwned>(path: &Path, explicit: bool, notes: &mut Notes) -> Option<T> {
    if !path.exists() {
        if explicit {
            notes.missing.push(path.display().to_string());
        }
        return None;
    }
    match crate::io::fs::read_json(path) {
        Ok(value) => Some(value),
        Err(error) => {
            notes.unreadable.push(error.to_string());
            None
        }
    }
}

/// What could not be used, said once on the page.
#[derive(Default)]
struct Notes {
    missing: Vec<String>,
    unreadable: Vec<String>,
}

impl Notes {
    fn into_lines(self) -> Vec<String> {
        let mut lines = self.unreadable;
        if !self.missing.is_empty() {
            lines.insert(
                0,
                format!(
                    "not found, so what they would say is unknown (the step that writes them did not run, or the run did not pass them on): {}",
                    self.missing.join(", ")
                ),
            );
        }
        lines
    }
}

/// The export report files `path` names: itself, or the `*.json` files of a folder and of its
/// `export-reports/` folder, sorted.
fn export_files(path: &Path, notes: &mut Notes) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for dir in [path.to_path_buf(), path.join("export-reports")] {
        let Ok(entries) = fs_err::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let file = entry.path();
            if file.is_file() && file.extension().is_some_and(|extension| extension == "json") {
                files.push(file);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        notes.missing.push(format!("{}/export-reports/*.json", path.display()));
    }
    files
}
