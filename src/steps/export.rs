//! `rhdh-catalog export`: for each workspace of the plan (by name or batch), check out the
//! upstream at `repo-ref` (partial, sparse, shallow), prepare it (patches, overlay folders,
//! `backstage.json`, pruning, pinned dependencies), build it, run the plugin exporter in every
//! supported plugin folder, optionally package each export as an image, and replace the
//! workspace's folder in the midstream tree with the prepared sources. A failed plugin or
//! workspace is reported with its cause and log tail; the others go on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::{OutputFormat, StoreSettings};
use crate::domain::catalog::identity::{TagScheme, TagSchemeChoice};
use crate::domain::workspace::export_plan::{
    ALWAYS_PRUNED, ExportPlan, ExportPlanError, PRUNED_PACKAGE_PREFIX, export_plan,
};
use crate::domain::workspace::prepare;
use crate::domain::workspace::prepare::WorkspaceFiles as _;
use crate::error::{ExitStatus, FindingsError, InfrastructureError, InputError};
use crate::formats::package::PluginRole;
use crate::formats::plan::{Decision, EXPORT_STATE_FILE, ExportState, ExportedPlugin, Plan, PlannedWorkspace};
use crate::formats::plugins_list::{PluginsList, PluginsListLine};
use crate::formats::relative_path::RelativePath;
use crate::io::overlay_tree::Workspace;
use crate::io::package_cache::PackageCache;
use crate::io::registry::{RegistryPrefix, Store};
use crate::io::shell::{CommandFailure, run_logged_with, shell_quote};

#[derive(Debug)]
pub struct ExportSettings {
    /// The overlay tree inside the midstream tree.
    pub(crate) overlay: PathBuf,
    pub(crate) plan: PathBuf,
    /// Workspaces named with `--workspace`.
    pub(crate) workspaces: Vec<String>,
    /// Batch ids of the plan, as the Tekton matrix passes them.
    pub(crate) batches: Vec<String>,
    /// Workspaces exported at the same time.
    pub(crate) jobs: usize,
    /// Where upstream sources are checked out and built; `None`: a temporary folder.
    pub(crate) work_dir: Option<PathBuf>,
    /// Where prepared `workspaces/<ws>/` copies go (the tree itself by default).
    pub(crate) output_tree: PathBuf,
    pub(crate) report: PathBuf,
    /// Stage name and shell command (`install`, `tsc`, `build`); empty commands are skipped.
    pub(crate) commands: Vec<(&'static str, String)>,
    pub(crate) exporter: String,
    pub(crate) command_timeout: Duration,
    pub(crate) max_failed: usize,
    /// Package every export as an image (`--registry`).
    pub(crate) images: Option<ImageTarget>,
    pub(crate) results_dir: Option<PathBuf>,
    pub(crate) output_format: OutputFormat,
    /// Clone `file://` and `git://` repositories too (fixtures, mirrors).
    pub(crate) allow_local_repos: bool,
    /// The shared package cache (`--package-cache`), if any.
    pub(crate) package_cache: Option<PathBuf>,
}

/// Where exported plugins are pushed as images, and how their tags are formed.
#[derive(Debug)]
pub struct ImageTarget {
    pub(crate) registry: RegistryPrefix,
    pub(crate) tag_scheme: TagSchemeChoice,
    pub(crate) store: StoreSettings,
}

/// What every workspace of one run shares.
struct RunContext {
    /// Where `workspaces/<ws>/` copies are written.
    output_tree: PathBuf,
    work: PathBuf,
    commands: Vec<(&'static str, String)>,
    exporter: String,
    timeout: Duration,
    backstage_version: String,
    images: Option<(Store, RegistryPrefix, TagScheme)>,
    /// Download caches and kept installs shared by every workspace (`--package-cache`).
    package_cache: Option<PackageCache>,
    /// The environment the commands run with (the package cache's).
    env: Vec<(String, String)>,
    /// Per workspace, the content digest of the install its last export kept in the package
    /// cache (from its export record in the tree, read before anything runs).
    recorded_installs: BTreeMap<String, String>,
    /// Where the images go, recorded so that a fetch told of another store exports again.
    image_destination: Option<String>,
}

impl RunContext {
    fn recorded_install(&self, workspace: &str) -> Option<String> {
        self.recorded_installs.get(workspace).cloned()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    Exported,
    Failed,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct PluginReport {
    pub(crate) path: String,
    pub(crate) status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cause: Option<String>,
    #[serde(rename = "log-tail", skip_serializing_if = "Vec::is_empty")]
    pub(crate) log_tail: Vec<String>,
    /// The overlay is wrong about this plugin (its folder does not exist upstream): bad input.
    #[serde(rename = "bad-input", skip_serializing_if = "Option::is_none")]
    pub(crate) bad_input: Option<String>,
    /// The infrastructure cause when a registry or git remote failed, the same words for every
    /// plugin it failed (the status page makes one item of them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) outage: Option<String>,
    /// A registry that cannot work as configured (not written: the step stops with it, exit 2).
    #[serde(skip)]
    pub(crate) misconfiguration: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct WorkspaceReport {
    pub(crate) status: Status,
    #[serde(rename = "upstream-commit", skip_serializing_if = "Option::is_none")]
    pub(crate) upstream_commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cause: Option<String>,
    /// A git remote or registry failed: a retry may help.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) infrastructure: bool,
    #[serde(rename = "patches-applied", skip_serializing_if = "Vec::is_empty")]
    pub(crate) patches_applied: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) warnings: Vec<String>,
    pub(crate) plugins: Vec<PluginReport>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct ExportReport {
    pub(crate) workspaces: BTreeMap<String, WorkspaceReport>,
}

impl ExportReport {
    pub(crate) fn failed_plugins(&self) -> usize {
        self.workspaces
            .values()
            .flat_map(|workspace| &workspace.plugins)
            .filter(|plugin| plugin.status == Status::Failed)
            .count()
    }

    pub(crate) fn exported_plugins(&self) -> usize {
        self.workspaces
            .values()
            .flat_map(|workspace| &workspace.plugins)
            .filter(|plugin| plugin.status == Status::Exported)
            .count()
    }

    /// The Tekton status result: per workspace `exported/failed` counts, self-describing because
    /// matrix results arrive in any order; shortened to fit the result budget.
    pub(crate) fn status_line(&self) -> String {
        let mut line = serde_json::Map::new();
        for (name, workspace) in &self.workspaces {
            let exported = workspace.plugins.iter().filter(|plugin| plugin.status == Status::Exported).count();
            let failed = workspace.plugins.len() - exported;
            line.insert(name.clone(), Value::String(format!("{exported}/{failed}")));
        }
        let text = Value::Object(line).to_string();
        if text.len() <= 3500 {
            text
        } else {
            serde_json::json!({"workspaces": self.workspaces.len(), "exported": self.exported_plugins(), "failed": self.failed_plugins()}).to_string()
        }
    }
}

/// The Tekton results this step writes (`--results-dir`).
/// Per workspace `exported/failed` counts, as JSON.
pub(crate) const RESULT_STATUS: &str = "status";
pub const RESULTS: [&str; 1] = [RESULT_STATUS];

/// The records the tree carries (the output tree, then the plan's folder), read before any
/// install runs: per workspace, the digest of the install its last export kept in the package
/// cache.
fn recorded_installs(names: &[String], output_tree: &Path, plan_path: &Path) -> BTreeMap<String, String> {
    let mut recorded = BTreeMap::new();
    let plan_tree = plan_path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    for name in names {
        for tree in [output_tree, plan_tree] {
            let record = tree.join("workspaces").join(name).join(EXPORT_STATE_FILE);
            if let Ok(state) = crate::io::fs::read_json::<ExportState>(&record)
                && let Some(digest) = state.kept_install
            {
                recorded.insert(name.clone(), digest);
                break;
            }
        }
    }
    recorded
}

pub(crate) async fn run(args: ExportSettings) -> anyhow::Result<ExitStatus> {
    crate::io::fs::add_content_tree(&args.overlay);
    let plan_path = args.plan.clone();
    if !plan_path.exists() {
        return Err(InputError::in_file(&plan_path, "does not exist")
            .with_hint("run `rhdh-catalog fetch` first; it writes the plan")
            .into());
    }
    let plan = crate::io::fs::read_parsed(&plan_path, Plan::parse)?;
    let names = selected_workspaces(&plan, &args.workspaces, &args.batches, &plan_path)?;
    let overlay_dir = args.overlay.clone();
    // Nothing to export (the batch `none`): the overlay is not read, so the Task unpacks plan.json alone.
    let workspaces = if names.is_empty() {
        Vec::new()
    } else {
        crate::io::overlay_tree::load_named(&overlay_dir, names.iter().map(String::as_str))?
    };
    let images = match &args.images {
        Some(target) => {
            let rhdh_version = Some(plan.rhdh_version.as_str()).filter(|version| !version.is_empty());
            let scheme =
                TagScheme::choose(target.tag_scheme, &target.registry.registry, rhdh_version, &plan.backstage_version)
                    .map_err(|error| {
                        InputError::in_file(&plan_path, format!("{error}, and the plan has no rhdh-version"))
                            .with_hint("set rhdh.version in upstream_repos.yml, or pass --tag-scheme backstage")
                    })?;
            Some((target.store.open()?, target.registry.clone(), scheme))
        }
        None => None,
    };
    let scratch = tempfile::tempdir()?;
    let work = args.work_dir.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    let package_cache = match &args.package_cache {
        Some(dir) => {
            Some(PackageCache::open(dir).with_context(|| format!("opening the package cache {}", dir.display()))?)
        }
        None => None,
    };
    let env = package_cache.as_ref().map(PackageCache::environment).unwrap_or_default();
    let recorded_installs = if package_cache.is_some() {
        recorded_installs(&names, &args.output_tree, &plan_path)
    } else {
        BTreeMap::new()
    };
    let image_destination = args.images.as_ref().map(|target| {
        crate::domain::workspace::plan::image_destination(target.store.spec.as_deref(), &target.registry.to_string())
    });
    let settings = RunContext {
        image_destination,
        output_tree: args.output_tree.clone(),
        work,
        commands: args.commands.clone(),
        exporter: args.exporter.clone(),
        timeout: args.command_timeout,
        backstage_version: plan.backstage_version.clone(),
        images,
        package_cache,
        env,
        recorded_installs,
    };
    let mut jobs = Vec::new();
    for (name, workspace) in &workspaces {
        let planned = plan
            .workspace(name)
            .ok_or_else(|| InputError::in_file(&plan_path, format!("has no workspace `{name}`")))?;
        let workspace = workspace.as_ref().ok_or_else(|| {
            InputError::in_file(&overlay_dir, format!("has no workspace `{name}`, which the plan names"))
                .with_hint("run `rhdh-catalog fetch` again")
        })?;
        if !crate::io::git::remote_allowed(&planned.repo, args.allow_local_repos) {
            return Err(crate::io::git::refused_remote(&workspace.dir.join("source.json"), &planned.repo).into());
        }
        check_before_export(planned, workspace, &settings)?;
        jobs.push((planned, workspace));
    }
    let settings = &settings;
    let progress = crate::io::progress::Progress::start("exporting workspaces", jobs.len() as u64);
    let progress = &progress;
    let reports: Vec<(String, WorkspaceReport)> = futures::stream::iter(jobs)
        .map(|(planned, workspace)| async move {
            progress.working_on(&planned.name);
            let report = export_workspace(planned, workspace, settings).await;
            progress.advance();
            let exported = report.plugins.iter().filter(|plugin| plugin.status == Status::Exported).count();
            tracing::info!(workspace = %planned.name, exported, failed = report.plugins.len() - exported, cause = report.cause.as_deref().unwrap_or(""), "workspace done");
            (planned.name.clone(), report)
        })
        .buffer_unordered(args.jobs.max(1))
        .collect()
        .await;
    let report = ExportReport { workspaces: reports.into_iter().collect() };

    let report_path = args.report.clone();
    crate::io::fs::write_atomic(&report_path, &crate::formats::json::to_pretty(&report))?;
    crate::io::tekton_results::Results::new(args.results_dir.as_deref()).write(RESULT_STATUS, &report.status_line())?;
    match args.output_format {
        OutputFormat::Json => println!("{}", report.status_line()),
        OutputFormat::Text => println!(
            "{} workspaces: {} plugins exported, {} failed; report in {}",
            report.workspaces.len(),
            report.exported_plugins(),
            report.failed_plugins(),
            report_path.display()
        ),
    }
    for (name, workspace) in &report.workspaces {
        for plugin in workspace.plugins.iter().filter(|plugin| plugin.status == Status::Failed) {
            tracing::error!(workspace = %name, plugin = %plugin.path, cause = plugin.cause.as_deref().unwrap_or(""), "plugin failed");
        }
    }
    if let Some(problem) = report
        .workspaces
        .values()
        .flat_map(|workspace| &workspace.plugins)
        .find_map(|plugin| plugin.misconfiguration.clone())
    {
        return Err(InputError::usage(format!("{problem}; report in {}", report_path.display())).into());
    }
    if let Some((name, workspace)) = report.workspaces.iter().find(|(_, workspace)| workspace.infrastructure) {
        return Err(InfrastructureError {
            service: format!("workspace {name}"),
            problem: format!("{}; see {}", workspace.cause.as_deref().unwrap_or("failed"), report_path.display()),
        }
        .into());
    }
    let bad_inputs: Vec<&str> = report
        .workspaces
        .values()
        .flat_map(|workspace| &workspace.plugins)
        .filter_map(|plugin| plugin.bad_input.as_deref())
        .collect();
    if !bad_inputs.is_empty() {
        return Err(InputError::usage(bad_inputs.join("\n"))
            .with_hint(
                "fix plugins-list.yaml, the upstream ref in source.json, or the upstream package.json named above; the other plugins were exported",
            )
            .into());
    }
    if report.failed_plugins() > args.max_failed {
        return Err(FindingsError(format!(
            "{} plugin(s) failed to export (allowed: {}); causes and log tails in {}",
            report.failed_plugins(),
            args.max_failed,
            report_path.display()
        ))
        .into());
    }
    Ok(ExitStatus::Success)
}

fn selected_workspaces(
    plan: &Plan,
    workspaces: &[String],
    batches: &[String],
    plan_path: &Path,
) -> Result<Vec<String>, InputError> {
    let mut names = BTreeSet::new();
    for name in workspaces {
        let Some(planned) = plan.workspace(name) else {
            return Err(InputError::usage(format!("--workspace `{name}` is not in {}", plan_path.display())));
        };
        if planned.decision == Decision::Drop {
            return Err(InputError::usage(format!("workspace `{name}` has no supported plugin ({})", planned.reason)));
        }
        names.insert(name.clone());
    }
    for id in batches {
        if id == crate::formats::plan::NO_BATCH {
            continue;
        }
        let Some(members) = plan.batches.get(id) else {
            return Err(InputError::usage(format!(
                "batch `{id}` is not in {} (batches: {})",
                plan_path.display(),
                plan.batch_ids_json()
            )));
        };
        names.extend(members.iter().cloned());
    }
    Ok(names.into_iter().collect())
}

fn failed_workspace(
    planned: &PlannedWorkspace,
    commit: Option<String>,
    cause: String,
    infrastructure: bool,
) -> WorkspaceReport {
    WorkspaceReport {
        status: Status::Failed,
        upstream_commit: commit,
        plugins: planned
            .plugins
            .iter()
            .map(|plugin| PluginReport {
                path: plugin.path.clone(),
                status: Status::Failed,
                package: None,
                version: None,
                image: None,
                cause: Some(cause.clone()),
                log_tail: Vec::new(),
                bad_input: None,
                outage: None,
                misconfiguration: None,
            })
            .collect(),
        cause: Some(cause),
        infrastructure,
        patches_applied: Vec::new(),
        warnings: Vec::new(),
    }
}

fn command_failed(planned: &PlannedWorkspace, commit: &str, failure: &CommandFailure) -> WorkspaceReport {
    let mut report = failed_workspace(planned, Some(commit.to_string()), failure.to_string(), false);
    for plugin in &mut report.plugins {
        plugin.log_tail.clone_from(&failure.log_tail);
    }
    report
}

/// Why preparing a workspace's sources failed (the whole workspace fails with it).
#[derive(Debug, thiserror::Error)]
enum PrepareError {
    #[error(transparent)]
    Plan(#[from] ExportPlanError),
    #[error(transparent)]
    Patch(#[from] crate::io::patch::PatchError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("{path}: {problem}")]
    PackageJson { path: PathBuf, problem: String },
    #[error("{0:#}")]
    Copy(anyhow::Error),
}

/// What is refused about one workspace before any workspace is exported: a folder under
/// `--work-dir` export did not make, a patch whose name is no text, a midstream copy that may not
/// be replaced.
fn check_before_export(
    planned: &PlannedWorkspace,
    workspace: &Workspace,
    settings: &RunContext,
) -> Result<(), InputError> {
    // Each workspace's folder under --work-dir is started afresh: only one an export made.
    let dir = settings.work.join(&planned.name);
    if (dir.exists() || dir.is_symlink()) && !dir.join(WORK_MARKER).is_file() {
        return Err(InputError::usage(format!(
            "--work-dir {}: the folder {} was not made by export, and export starts it afresh; nothing was removed",
            settings.work.display(),
            dir.display()
        ))
        .with_hint("give --work-dir a folder of its own (by default export uses a temporary one)"));
    }
    // A patch whose name is no text would be applied under another name (or not found, the
    // error blaming a file that does not exist): refused by name, as escaped bytes.
    let patches_dir = workspace.dir.join("patches");
    if let Ok(entries) = std::fs::read_dir(&patches_dir)
        && let Some(bad) = entries.filter_map(Result::ok).find(|entry| entry.file_name().to_str().is_none())
    {
        return Err(InputError::in_file(
            &patches_dir,
            format!("holds `{}`, whose name is not valid UTF-8", bad.file_name().as_encoded_bytes().escape_ascii()),
        )
        .with_hint("rename it with letters, digits, `-`, `_` and `.` only"));
    }
    // The midstream copy replaces `workspaces/<name>` whole: only a folder an export (or the
    // script before it) left there, never one holding `.git`, a link or the working folder.
    crate::io::fs::check_replaceable(
        &settings.output_tree.join("workspaces").join(&planned.name),
        "--output-tree",
        |_| true,
    )?;
    Ok(())
}

/// Refuses `path` (what export is about to write in the upstream checkout `clone`) when a link in
/// its folders leads out of the checkout.
fn inside_checkout(clone: &Path, path: &Path) -> Result<(), PrepareError> {
    if crate::io::fs::lies_inside(clone, path) {
        return Ok(());
    }
    let folder = path.parent().unwrap_or(path);
    Err(PrepareError::Input(
        InputError::in_file(
            folder,
            "is a symbolic link that leads out of the upstream checkout; nothing was written there",
        )
        .with_hint("upstream content must stay inside its repository: replace the link with a folder"),
    ))
}

/// The file that marks a workspace's folder under `--work-dir` as made by export (the only kind it
/// removes to start afresh).
const WORK_MARKER: &str = ".rhdh-catalog-work";

/// Most bytes a workspace's `yarn.lock` may have (the largest real ones are a few MiB).
const MAX_LOCKFILE_BYTES: u64 = 64 * 1024 * 1024;

/// A prepared workspace on disk, as [`prepare::workspace_manifest`] reads it (every file through
/// `io::fs`).
struct OnDisk<'a>(&'a Path);

impl prepare::WorkspaceFiles for OnDisk<'_> {
    fn package_json(&self, relative: &Path) -> Result<Option<serde_json::Map<String, Value>>, InputError> {
        let path = self.0.join(relative);
        if !path.exists() && !path.is_symlink() {
            return Ok(None);
        }
        crate::io::fs::read_json(&path).map(Some)
    }

    fn folders_in(&self, relative: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.0.join(relative)) else { return Vec::new() };
        let mut folders: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().is_dir())
            .map(|entry| relative.join(entry.file_name()))
            .collect();
        folders.sort();
        folders
    }
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> PrepareError + '_ {
    move |source| PrepareError::File { path: path.to_path_buf(), source }
}

/// The file names in `dir` (none when it does not exist).
fn file_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.filter_map(Result::ok).map(|entry| entry.file_name().to_string_lossy().into_owned()).collect()
        })
        .unwrap_or_default()
}

async fn export_workspace(planned: &PlannedWorkspace, workspace: &Workspace, settings: &RunContext) -> WorkspaceReport {
    let plan = match export_plan(
        planned,
        &file_names(&workspace.dir.join("patches")),
        |folder| folder.join_to(&workspace.dir).join("overlay").is_dir(),
        workspace.backstage_override.as_deref(),
        &settings.commands,
    ) {
        Ok(plan) => plan,
        Err(error) => return failed_workspace(planned, None, error.to_string(), false),
    };
    let dir = settings.work.join(&planned.name);
    let _ = fs_err::remove_dir_all(&dir);
    if let Err(error) = fs_err::create_dir_all(&dir).and_then(|()| fs_err::write(dir.join(WORK_MARKER), "")) {
        return failed_workspace(planned, None, format!("preparing {}: {error}", dir.display()), true);
    }
    let clone = dir.join("upstream");
    let commit =
        match crate::io::git::sparse_checkout(&planned.repo, &planned.repo_ref, &clone, &plan.sparse_paths).await {
            Ok(commit) => commit,
            Err(error) => {
                let infrastructure = !error.is_bad_input();
                let mut report = failed_workspace(planned, None, error.to_string(), infrastructure);
                if infrastructure {
                    // A git remote that failed fails every workspace cloned from it the same way.
                    let outage =
                        format!("git remote {} could not be read", crate::io::git::strip_credentials(&planned.repo));
                    for plugin in &mut report.plugins {
                        plugin.outage = Some(outage.clone());
                    }
                }
                return report;
            }
        };
    // The checkout is upstream content: every file read from it stays inside it (links and all),
    // and what export writes or removes in it never lands outside through a link.
    crate::io::fs::add_content_tree(&clone);
    let root = clone.join(&plan.plugins_root);
    if !crate::io::fs::resolved(&root).starts_with(crate::io::fs::resolved(&clone)) {
        return failed_workspace(
            planned,
            Some(commit),
            format!(
                "`{}` in {} at {} is a symbolic link that leads out of the checkout; nothing was written there",
                plan.plugins_root, planned.repo, planned.repo_ref
            ),
            false,
        );
    }
    if !root.join("package.json").is_file() {
        return failed_workspace(
            planned,
            Some(commit),
            format!("{} has no `{}/package.json` at {}", planned.repo, plan.plugins_root, planned.repo_ref),
            false,
        );
    }
    match prepare_sources(&plan, planned, workspace, &clone, &root).await {
        Ok((patches, warnings)) => {
            let kept_install = settings.package_cache.as_ref().and_then(|cache| {
                let install = plan.commands.iter().find(|(stage, _)| *stage == "install")?;
                let key = cache.key(&planned.name, &root, &install.1).ok()??;
                let recorded = settings.recorded_install(&planned.name);
                let restored = cache.restore(&planned.name, &key, &root, recorded.as_deref());
                tracing::info!(workspace = %planned.name, key = %key.hex(), restored, "package cache");
                Some((cache, key))
            });
            let mut report = export_plugins(&plan, planned, workspace, &root, &dir, &commit, settings).await;
            // Kept only when the workspace's commands succeeded: a failed install is not worth keeping.
            let kept = match kept_install.filter(|_| report.cause.is_none()) {
                Some((cache, key)) => cache.keep(&planned.name, &key, &root),
                None => None,
            };
            report.patches_applied = patches;
            report.warnings.extend(warnings);
            if report.status == Status::Exported
                && let Err(error) =
                    write_midstream_copy(planned, workspace, &root, &commit, settings, &report.plugins, kept)
            {
                return failed_workspace(planned, Some(commit), format!("writing the midstream copy: {error:#}"), true);
            }
            report
        }
        Err(cause) => failed_workspace(planned, Some(commit), cause.to_string(), false),
    }
}

/// Carries out the source half of the plan: Yarn setup, patches, overlay folders,
/// `backstage.json`, pruning and dependency pinning. Returns the applied patches and warnings, or
/// the cause that fails the whole workspace.
async fn prepare_sources(
    plan: &ExportPlan,
    planned: &PlannedWorkspace,
    workspace: &Workspace,
    clone: &Path,
    root: &Path,
) -> Result<(Vec<String>, Vec<String>), PrepareError> {
    let mut warnings = Vec::new();
    // A non-flat workspace takes the repository's Yarn setup where it has none of its own.
    if root != clone {
        let yarnrc = root.join(".yarnrc.yml");
        if !yarnrc.exists() && clone.join(".yarnrc.yml").exists() {
            crate::io::fs::copy_file(&clone.join(".yarnrc.yml"), &yarnrc).map_err(PrepareError::Copy)?;
        }
        if clone.join(".yarn").is_dir() {
            let yarn = root.join(".yarn");
            inside_checkout(clone, &yarn.join("releases"))?;
            crate::io::fs::copy_missing(&clone.join(".yarn"), &yarn).map_err(PrepareError::Copy)?;
        }
    }
    for name in &plan.patches {
        let patch = workspace.dir.join("patches").join(name);
        let output = crate::io::patch::apply(&patch, root).await?;
        tracing::debug!(patch = %patch.display(), %output, "applied");
    }
    for folder in &plan.overlay_folders {
        let overlay = folder.join_to(&workspace.dir).join("overlay");
        let destination = folder.join_to(root);
        inside_checkout(clone, &destination.join("package.json"))?;
        crate::io::fs::copy_additively(&overlay, &destination, &[]).map_err(PrepareError::Copy)?;
    }
    if let Some(text) = &plan.backstage_json {
        let path = root.join("backstage.json");
        // Replaces a link of that name itself, never the file it points at.
        crate::io::fs::write_atomic(&path, text.as_bytes()).map_err(PrepareError::Copy)?;
    }
    // Removed only when the folder holding them is inside the checkout: `packages -> ../../..`
    // upstream would otherwise remove folders of this machine.
    for unneeded in ALWAYS_PRUNED {
        let path = root.join(unneeded);
        if crate::io::fs::lies_inside(clone, &path) {
            let _ = fs_err::remove_dir_all(path);
        }
    }
    let packages = root.join("packages");
    if crate::io::fs::lies_inside(clone, &packages.join("x"))
        && let Ok(entries) = std::fs::read_dir(&packages)
    {
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().starts_with(PRUNED_PACKAGE_PREFIX) {
                let _ = fs_err::remove_dir_all(entry.path());
            }
        }
    }
    let manifest = prepare::workspace_manifest(&OnDisk(root))?;
    remove_unsupported_plugins(planned, workspace, root, &manifest, &mut warnings);
    let manifest = prepare::workspace_manifest(&OnDisk(root))?;
    let lock_path = root.join("yarn.lock");
    let lock = if lock_path.exists() {
        crate::io::fs::read_bounded(&lock_path, MAX_LOCKFILE_BYTES)
            .and_then(|bytes| crate::io::fs::text_of(&lock_path, bytes))?
    } else {
        String::new()
    };
    let backstage = prepare::backstage_resolutions(&lock);
    let mut manifests = vec![(root.join("package.json"), true)];
    manifests.extend(manifest.values().map(|(_, folder)| (root.join(folder).join("package.json"), false)));
    for (path, is_root) in manifests {
        let text = crate::io::fs::read_text(&path)?;
        let (rewritten, rewrite) = prepare::rewrite_package_json(&text, is_root, &manifest, &backstage)
            .map_err(|problem| PrepareError::PackageJson { path: path.clone(), problem })?;
        for unresolved in rewrite.unresolved {
            warnings.push(format!(
                "{}: `{unresolved}` has no version in the workspace or its yarn.lock; left as is",
                path.display()
            ));
        }
        if let Some(text) = rewritten {
            fs_err::write(&path, text).map_err(file_error(&path))?;
        }
    }
    let releases: Vec<String> = file_names(&root.join(".yarn/releases"))
        .into_iter()
        .filter(|name| Path::new(name).extension().is_some_and(|extension| extension.eq_ignore_ascii_case("cjs")))
        .collect();
    if let [release] = releases.as_slice() {
        let path = root.join(".yarnrc.yml");
        let yarnrc = if path.exists() { crate::io::fs::read_text(&path)? } else { String::new() };
        crate::io::fs::write_atomic(
            &path,
            prepare::with_yarn_path(&yarnrc, &format!(".yarn/releases/{release}")).as_bytes(),
        )
        .map_err(PrepareError::Copy)?;
    }
    Ok((plan.patches.clone(), warnings))
}

/// Removes plugins-list folders that are not supported, unless a kept package depends on them.
fn remove_unsupported_plugins(
    planned: &PlannedWorkspace,
    workspace: &Workspace,
    root: &Path,
    manifest: &prepare::WorkspaceManifest,
    warnings: &mut Vec<String>,
) {
    let supported: BTreeSet<&str> = planned.plugins.iter().map(|plugin| plugin.path.as_str()).collect();
    let listed: Vec<&RelativePath> =
        workspace.plugins_list.iter().flat_map(PluginsList::entries).map(|entry| &entry.path).collect();
    let unsupported: Vec<&RelativePath> =
        listed.into_iter().filter(|path| !supported.contains(path.as_str())).collect();
    let name_of = |folder: &Path| manifest.iter().find(|(_, (_, path))| path == folder).map(|(name, _)| name.clone());
    let removable: Vec<(&RelativePath, Option<String>)> =
        unsupported.iter().map(|path| (*path, name_of(Path::new(path.as_str())))).collect();
    let removable_names: BTreeSet<String> = removable.iter().filter_map(|(_, name)| name.clone()).collect();
    let mut needed = BTreeSet::new();
    for (name, (_, folder)) in manifest {
        if removable_names.contains(name) {
            continue;
        }
        let Ok(Some(package)) = OnDisk(root).package_json(&folder.join("package.json")) else { continue };
        for field in ["dependencies", "devDependencies", "peerDependencies"] {
            if let Some(Value::Object(dependencies)) = package.get(field) {
                needed.extend(dependencies.keys().filter(|dependency| removable_names.contains(*dependency)).cloned());
            }
        }
    }
    for (path, name) in removable {
        if name.as_ref().is_some_and(|name| needed.contains(name)) {
            warnings.push(format!("kept unsupported `{path}`: a supported package depends on it"));
            continue;
        }
        let path = path.join_to(root);
        if crate::io::fs::lies_inside(root, &path) {
            let _ = fs_err::remove_dir_all(path);
        }
    }
}

async fn export_plugins(
    plan: &ExportPlan,
    planned: &PlannedWorkspace,
    workspace: &Workspace,
    root: &Path,
    dir: &Path,
    commit: &str,
    settings: &RunContext,
) -> WorkspaceReport {
    let build_log = dir.join("logs/build.log");
    for (stage, command) in &plan.commands {
        tracing::debug!(workspace = %planned.name, stage, "running");
        if let Err(failure) = run_logged_with(command, root, &build_log, settings.timeout, &settings.env).await {
            return command_failed(planned, commit, &failure);
        }
    }
    let mut plugins = Vec::new();
    for plugin in &plan.exports {
        let folder = plugin.folder.join_to(root);
        let mut report = PluginReport {
            path: plugin.folder.to_string(),
            status: Status::Failed,
            package: None,
            version: None,
            image: None,
            cause: None,
            log_tail: Vec::new(),
            bad_input: None,
            outage: None,
            misconfiguration: None,
        };
        if !folder.join("package.json").is_file() {
            let what = if folder.is_file() || folder.is_symlink() {
                "which is a file upstream, not a plugin folder"
            } else {
                "which has no package.json upstream"
            };
            let problem = format!("plugins-list.yaml names `{}`, {what} at {}", plugin.folder, planned.repo_ref);
            let list = workspace.dir.join("plugins-list.yaml");
            let line = workspace
                .plugins_list
                .iter()
                .flat_map(PluginsList::entries)
                .find(|entry| entry.path == plugin.folder)
                .map_or_else(String::new, |entry| format!(":{}", entry.line));
            report.bad_input = Some(if folder.is_file() || folder.is_symlink() {
                format!(
                    "{}{line}: `{}` is a file in {} at {}, not a plugin folder",
                    list.display(),
                    plugin.folder,
                    planned.repo,
                    planned.repo_ref
                )
            } else {
                format!(
                    "{}{line}: `{}` does not exist in {} at {}",
                    list.display(),
                    plugin.folder,
                    planned.repo,
                    planned.repo_ref
                )
            });
            report.cause = Some(problem);
            plugins.push(report);
            continue;
        }
        let manifest_path = folder.join("package.json");
        let source = match crate::io::fs::read_json::<serde_json::Map<String, Value>>(&manifest_path) {
            Ok(source) => source,
            Err(error) => {
                report.cause = Some(error.to_string());
                report.bad_input = Some(error.to_string());
                plugins.push(report);
                continue;
            }
        };
        // The name decides the image name, its folder inside the image and every page that shows
        // it: an upstream name outside npm's grammar is refused, and shown only as code points.
        if let Some(name) = source.get("name").and_then(Value::as_str)
            && !crate::formats::package::is_npm_name(name)
        {
            let problem = format!(
                "{}: `name` `{}` is not an npm package name",
                manifest_path.display(),
                crate::formats::shown::shown(name)
            );
            report.cause = Some(problem.clone());
            report.bad_input = Some(problem);
            plugins.push(report);
            continue;
        }
        report.package = source.get("name").and_then(Value::as_str).map(str::to_string);
        report.version = source.get("version").and_then(Value::as_str).map(str::to_string);
        let mut flags: Vec<String> = plugin.flags.clone();
        let scalprum = plugin.folder.join_to(&workspace.dir).join("scalprum-config.json");
        let is_frontend = source
            .get("backstage")
            .and_then(|backstage| backstage.get("role"))
            .and_then(Value::as_str)
            .is_some_and(|role| PluginRole::parse(role).is_frontend());
        if is_frontend && scalprum.is_file() {
            flags.push("--scalprum-config".into());
            flags.push(scalprum.display().to_string());
        }
        let command = std::iter::once(format!("{} plugin export", settings.exporter))
            .chain(flags.iter().map(|flag| shell_quote(flag)))
            .collect::<Vec<_>>()
            .join(" ");
        let log = dir.join("logs").join(format!("{}.log", plugin.folder.as_str().replace('/', "_")));
        match run_logged_with(&command, &folder, &log, settings.timeout, &settings.env).await {
            Err(failure) => {
                report.cause = Some(failure.to_string());
                report.log_tail = failure.log_tail;
            }
            Ok(()) if !folder.join("dist-dynamic/package.json").is_file() => {
                report.cause = Some(format!("`{command}` succeeded but wrote no dist-dynamic/package.json"));
                report.log_tail = crate::io::shell::tail(&log);
            }
            Ok(()) => {
                match package_image(
                    &folder,
                    report.package.as_deref(),
                    report.version.as_deref(),
                    &planned.backstage_version,
                    settings,
                )
                .await
                {
                    Ok(image) => {
                        report.image = image;
                        report.status = Status::Exported;
                    }
                    Err(error) => {
                        let registry_error =
                            error.chain().find_map(|cause| cause.downcast_ref::<crate::io::registry::RegistryError>());
                        report.outage = registry_error.and_then(crate::io::registry::RegistryError::outage);
                        if let Some(misconfigured @ crate::io::registry::RegistryError::Misconfigured { .. }) =
                            registry_error
                        {
                            report.misconfiguration = Some(misconfigured.to_string());
                        }
                        report.cause = Some(format!("packaging the image: {error:#}"));
                    }
                }
            }
        }
        plugins.push(report);
    }
    let status =
        if plugins.iter().all(|plugin| plugin.status == Status::Exported) { Status::Exported } else { Status::Failed };
    // Images that could not be pushed because a registry failed: an outage a retry may fix.
    let outage = plugins.iter().find_map(|plugin| plugin.outage.clone());
    WorkspaceReport {
        status,
        upstream_commit: Some(commit.to_string()),
        cause: outage.as_ref().map(|outage| format!("images could not be pushed: {outage}")),
        infrastructure: outage.is_some(),
        patches_applied: Vec::new(),
        warnings: Vec::new(),
        plugins,
    }
}

/// Builds and pushes the plugin image when `--registry` was given; returns `<repository>@<digest>`.
async fn package_image(
    folder: &Path,
    package: Option<&str>,
    version: Option<&str>,
    workspace_backstage: &str,
    settings: &RunContext,
) -> anyhow::Result<Option<String>> {
    let Some((store, prefix, tag_scheme)) = &settings.images else { return Ok(None) };
    let (Some(package), Some(version)) = (package, version) else {
        anyhow::bail!("the plugin's package.json has no name or version");
    };
    let image = crate::domain::catalog::identity::image_name(package);
    let tag = tag_scheme.tag(version, Some(workspace_backstage));
    let reference = prefix.image(&image, &tag).map_err(|problem| anyhow::anyhow!(problem))?;
    let spec = crate::io::registry::plugin_image::plugin_image_spec(
        &[folder.join("dist-dynamic")],
        &BTreeMap::new(),
        &BTreeMap::new(),
        &[],
    )?;
    let built = crate::io::registry::image::build_image(&spec)?;
    let digest = crate::io::registry::image::push_image(store, &reference, &built).await?;
    Ok(Some(reference.pinned(&digest)))
}

/// Replaces `<tree>/workspaces/<ws>/` with the prepared sources (minus builds, installs and
/// tests), the overlay's plugins-list.yaml with unsupported entries commented out, manifest.json
/// and the export state that lets the next fetch skip this workspace.
fn write_midstream_copy(
    planned: &PlannedWorkspace,
    workspace: &Workspace,
    root: &Path,
    commit: &str,
    settings: &RunContext,
    plugins: &[PluginReport],
    kept_install: Option<String>,
) -> anyhow::Result<()> {
    let destination = settings.output_tree.join("workspaces").join(&planned.name);
    let manifest = prepare::workspace_manifest(&OnDisk(root))?;
    let overlay_content_id = crate::io::fs::content_id(&workspace.dir)?;
    let state = ExportState {
        cache_key: planned.cache_key.clone(),
        overlay_content_id,
        repo_ref: planned.repo_ref.clone(),
        backstage_version: settings.backstage_version.clone(),
        tool_version: crate::TOOL_VERSION.to_string(),
        upstream_commit: commit.to_string(),
        plugins: planned.plugins.iter().map(|plugin| plugin.path.clone()).collect(),
        exported: plugins
            .iter()
            .filter_map(|plugin| {
                let package = plugin.package.clone()?;
                Some(ExportedPlugin {
                    path: plugin.path.clone(),
                    image: crate::domain::catalog::identity::image_name(&package),
                    package,
                })
            })
            .collect(),
        kept_install,
        image_destination: settings.image_destination.clone(),
    };
    let plugins_list = workspace.plugins_list.as_ref().map(|list| {
        let supported: BTreeSet<&str> = planned.plugins.iter().map(|plugin| plugin.path.as_str()).collect();
        let lines = list
            .lines
            .iter()
            .map(|line| match line {
                PluginsListLine::Entry(entry) if !supported.contains(entry.path.as_str()) => {
                    PluginsListLine::Other(format!("# not supported: {}:", entry.path))
                }
                other => other.clone(),
            })
            .collect();
        PluginsList { lines }.render()
    });
    crate::io::fs::replace_tree_with(&destination, |staging| {
        copy_filtered(root, staging, Path::new(""))?;
        if let Some(text) = &plugins_list {
            fs_err::write(staging.join("plugins-list.yaml"), text)?;
        }
        fs_err::write(staging.join("manifest.json"), prepare::manifest_json(&manifest))?;
        fs_err::write(staging.join(EXPORT_STATE_FILE), crate::formats::json::to_pretty(&state))?;
        Ok(())
    })
}

fn copy_filtered(root: &Path, staging: &Path, relative: &Path) -> anyhow::Result<()> {
    let mut entries: Vec<_> = fs_err::read_dir(root.join(relative))?.filter_map(Result::ok).collect();
    entries.sort_by_key(fs_err::DirEntry::file_name);
    for entry in entries {
        let child = relative.join(entry.file_name());
        let kind = entry.file_type()?;
        if prepare::is_left_out(&child, kind.is_dir()) {
            continue;
        }
        if kind.is_dir() {
            fs_err::create_dir_all(staging.join(&child))?;
            copy_filtered(root, staging, &child)?;
        } else if kind.is_file() {
            crate::io::fs::copy_file(&entry.path(), &staging.join(&child))?;
        }
    }
    Ok(())
}
