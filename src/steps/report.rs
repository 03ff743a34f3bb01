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
use crate::domain::status::inputs::{CatalogKind, ExportReportFile, FailedTask, PlanFile, RunContext, StatusInputs};
use crate::domain::status::overlay::{ListedFolders, OverlayPlugin, PackageLists, overlay_plugins};
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
    /// The community catalog's `index-report.json` (`index --community-report`).
    pub(crate) community_index_report: Option<PathBuf>,
    /// The community catalog-index folder (`index --community-output`).
    pub(crate) community_catalog_index: Option<PathBuf>,
    /// The community package lists; empty: the overlay's `rhdh-community-packages.txt` if any.
    pub(crate) community_packages: Vec<PathBuf>,
    /// The community catalog index image this run published, when known.
    pub(crate) community_index_image: Option<String>,
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
    let community_wanted = settings.community_index_report.is_some()
        || settings.community_catalog_index.is_some()
        || !settings.community_packages.is_empty()
        || settings.community_index_image.is_some();
    let plan: Option<PlanFile> = settings.plan.as_ref().and_then(|path| read_json(path, true, &mut notes));
    let mut exports = Vec::new();
    for path in &settings.export_reports {
        for file in export_files(path, &mut notes) {
            if let Some(report) = read_json::<ExportReportFile>(&file, true, &mut notes) {
                exports.push(report);
            }
        }
    }
    let overlay = settings
        .overlay
        .as_ref()
        .map(|dir| read_overlay(dir, settings, community_wanted, &mut notes))
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
    let run = RunContext {
        rerun_command: settings.rerun_command.clone(),
        status: settings.status.clone(),
        tasks: settings.tasks.clone(),
        branch: settings.branch.clone(),
        revision: settings.revision.clone(),
        index_image: settings.index_image.clone(),
        inputs_epoch: settings.source_date_epoch,
        page_url: settings.page_url.clone(),
    };
    let community = community_wanted.then(|| {
        let mut community_notes = Notes::default();
        // Without this run's community index report the folder may be an earlier run's (a
        // checkout keeps the last catalog the index made): its facts are not shown as this run's.
        let report_missing = settings.community_index_report.as_deref().is_some_and(|path| !path.exists());
        let files = CatalogFiles {
            index_report: settings.community_index_report.as_deref(),
            catalog_index: settings.community_catalog_index.as_deref().filter(|_| !report_missing),
            build_report: None,
            build_info: None,
        };
        let facts = read_catalog(&files, &mut community_notes);
        Box::new(StatusInputs {
            catalog: CatalogKind::Community,
            run: RunContext { index_image: settings.community_index_image.clone(), ..run.clone() },
            plan: plan.clone(),
            exports: exports.clone(),
            overlay: overlay.community.clone(),
            unreadable: community_notes.into_lines(),
            ..facts
        })
    });
    let files = CatalogFiles {
        index_report: settings.index_report.as_deref(),
        catalog_index: settings.catalog_index.as_deref(),
        build_report: settings.build_report.as_deref(),
        build_info: settings.build_info.as_deref(),
    };
    let facts = read_catalog(&files, &mut notes);
    StatusInputs {
        catalog: CatalogKind::Supported,
        community,
        overlay: overlay.supported,
        failed_tasks,
        run,
        plan,
        exports,
        unreadable: notes.into_lines(),
        ..facts
    }
}

/// The files of one catalog: its index report and its catalog-index folder (with
/// `build-report.json` and `build-info.json` beside `index.json`, unless given).
struct CatalogFiles<'a> {
    index_report: Option<&'a Path>,
    catalog_index: Option<&'a Path>,
    build_report: Option<&'a Path>,
    build_info: Option<&'a Path>,
}

/// What one catalog's files say: the index report, the build report and info, `index.json` and
/// `dynamic-plugins.default.yaml`.
fn read_catalog(files: &CatalogFiles<'_>, notes: &mut Notes) -> StatusInputs {
    let beside = |explicit: Option<&Path>, name: &str| {
        explicit.map(|path| (path.to_path_buf(), true)).or_else(|| {
            files.catalog_index.map(|dir| dir.join(name)).filter(|path| path.exists()).map(|path| (path, false))
        })
    };
    let index_report = files.index_report.and_then(|path| read_json(path, true, notes));
    let build_report =
        beside(files.build_report, "build-report.json").and_then(|(path, explicit)| read_json(&path, explicit, notes));
    let build_info =
        beside(files.build_info, "build-info.json").and_then(|(path, explicit)| read_json(&path, explicit, notes));
    let mut index = None;
    let mut enabled = BTreeMap::new();
    let mut has_dynamic_plugins = false;
    if let Some(dir) = files.catalog_index {
        index = read_json(&dir.join("index.json"), true, notes);
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
    StatusInputs {
        index_report,
        build_report,
        build_info,
        index,
        enabled,
        has_dynamic_plugins,
        ..StatusInputs::default()
    }
}

/// Every plugin of the overlay, once for each catalog's section.
#[derive(Default)]
struct OverlayRows {
    supported: Vec<OverlayPlugin>,
    community: Vec<OverlayPlugin>,
}

/// Every plugins-list entry of the overlay at `dir`, with its metadata, which package lists name
/// it and whether default.packages.yaml enables it: for the supported catalog, and for the
/// community catalog when the page has its section. An overlay that cannot be read is noted, not
/// fatal (the rest of the page still says what it knows).
fn read_overlay(dir: &Path, settings: &ReportSettings, community_wanted: bool, notes: &mut Notes) -> OverlayRows {
    crate::io::fs::add_content_tree(dir);
    let overlay = match crate::io::overlay_tree::load(dir) {
        Ok(overlay) => overlay,
        Err(error) => {
            notes
                .unreadable
                .push(format!("the overlay could not be read, so plugins no step reached are not listed: {error}"));
            return OverlayRows::default();
        }
    };
    let default_list = |given: &[PathBuf], name: &str| -> Vec<PathBuf> {
        if given.is_empty() {
            let default = dir.join(name);
            if default.exists() { vec![default] } else { Vec::new() }
        } else {
            given.to_vec()
        }
    };
    let lists = PackageLists {
        supported: read_lists(&default_list(&settings.supported_packages, "rhdh-supported-packages.txt"), notes),
        community: if community_wanted {
            read_lists(&default_list(&settings.community_packages, "rhdh-community-packages.txt"), notes)
        } else {
            None
        },
    };
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
    OverlayRows {
        supported: overlay_plugins(&overlay, &lists, CatalogKind::Supported, defaults.as_ref()),
        community: overlay_plugins(&overlay, &lists, CatalogKind::Community, defaults.as_ref()),
    }
}

/// The `(workspace, folder)` pairs the package lists name; `None` without any list.
fn read_lists(lists: &[PathBuf], notes: &mut Notes) -> Option<ListedFolders> {
    let mut listed: Option<ListedFolders> = None;
    for list in lists {
        match crate::io::fs::read_text(list).and_then(|text| crate::formats::package_list::parse(list, &text)) {
            Ok(entries) => {
                let set = listed.get_or_insert_with(Default::default);
                set.extend(entries.into_iter().map(|entry| (entry.workspace, entry.path.as_str().to_string())));
            }
            Err(error) => notes.unreadable.push(error.to_string()),
        }
    }
    listed
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
