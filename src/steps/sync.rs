//! `rhdh-catalog sync`: the whole pipeline on this machine. It runs the embedded Tekton Pipeline
//! with the local runner (so the graph exists once, and every local run tests it), with images
//! and artifacts in OCI layout folders, then brings the checkout up to the new commit and says
//! where the index and the report are.
//!
//! Before anything runs, a registry store is asked once whether it can work as configured (plain
//! HTTP, TLS trust and name, a host that exists): a mistake there is bad input (exit 2) naming the
//! flag, not an hour of exports that fail at their push. `--dry-run` takes every flag a real run
//! takes and plans through the real `fetch` on a scratch copy; its messages name the checkout's
//! files, not the copy's. Ctrl-C stops the run and says which task it stopped and that running
//! the same command again goes on from there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Pipeline's finally tasks that make the status page (one for a run whose index succeeded,
/// one for a run whose index did not).
const REPORT_TASKS: [&str; 2] = ["report", "report-without-index"];

use crate::domain::run_report::{TaskCause, TaskLine, TaskStatus};
use crate::domain::workspace::plan::ForceExport;
use crate::error::{ExitStatus, FindingsError, InputError};
use crate::io::registry::{ClientOptions, RegistryClient, RegistryError, RegistryPrefix};
use crate::pipeline::runner::{RunOptions, RunOutcome, TaskOutcome};

#[derive(Debug)]
pub struct SyncSettings {
    /// The midstream checkout (absolute).
    pub(crate) tree: PathBuf,
    /// Task runs, artifacts, saved outcomes and the report (absolute).
    pub(crate) out: PathBuf,
    /// Where plugin images are pushed and read (`oci-layout:` paths absolute).
    pub(crate) store: String,
    /// `--registry`, parsed.
    pub(crate) registry_prefix: RegistryPrefix,
    pub(crate) registry: String,
    pub(crate) index_image: String,
    pub(crate) exporter: String,
    pub(crate) install_command: String,
    pub(crate) tsc_command: String,
    pub(crate) workspaces: Vec<String>,
    /// `--force-export`: exported even when unchanged.
    pub(crate) force_export: ForceExport,
    /// Export TaskRuns at the same time.
    pub(crate) jobs: usize,
    pub(crate) from: Option<String>,
    pub(crate) dry_run: bool,
    /// Pipeline params given with `--param name=value` (and the policy flags).
    pub(crate) params: BTreeMap<String, String>,
    /// Let the steps clone `file://` and `git://` repositories (the bundled example's upstreams).
    pub(crate) allow_local_repos: bool,
    /// Pipeline workspace → folder (`--workspace-dir name=DIR`, `--credentials-dir`, absolute, existing).
    pub(crate) workspace_dirs: BTreeMap<String, PathBuf>,
    /// `--registry-auth-file`: `REGISTRY_AUTH_FILE` of the steps.
    pub(crate) registry_auth_file: Option<PathBuf>,
    /// How the steps talk to registries (`--insecure-registry`, timeouts, attempts), and where
    /// the user named the store's hosts.
    pub(crate) client: ClientOptions,
    /// `GIT_TOKEN`: for the steps (their secret) and the final pull of the checkout.
    pub(crate) token: Option<String>,
}

/// The Pipeline workspace with the midstream's git credentials.
pub(crate) const GIT_AUTH_WORKSPACE: &str = "git-auth";

pub(crate) async fn run(args: SyncSettings) -> anyhow::Result<ExitStatus> {
    let tree = args.tree.clone();
    let pipeline = crate::pipeline::definitions::pipeline()?;
    let tasks = crate::pipeline::definitions::tasks()?;
    let tool = std::env::current_exe()?;
    let origin = crate::io::git::origin_url(&tree);
    let branch = crate::io::git::current_branch(&tree).unwrap_or_else(|| "main".to_string());
    let out = args.out.clone();
    let mut options = RunOptions {
        out: out.clone(),
        params: pipeline_params(&args, origin.as_deref(), "", &branch),
        jobs: args.jobs,
        from: args.from.clone(),
        tool,
        env: step_environment(&args, origin.is_some()),
        workspaces: args.workspace_dirs.clone(),
        // The PaC runs' and the sample PipelineRun's limits: a run Tekton would stop stops here too.
        timeouts: crate::pipeline::definitions::sample_run_timeouts()?,
    };
    crate::pipeline::runner::check_options(&pipeline, &options)?;
    check_store(&args).await?;
    if args.dry_run {
        return dry_run(&args, &pipeline, &options).await;
    }
    let Some(revision) = crate::io::git::head_commit(&tree) else {
        return Err(InputError::in_file(&tree, "is not a git work tree with a commit")
            .with_hint("sync runs on a midstream checkout")
            .into());
    };
    options.params = pipeline_params(&args, origin.as_deref(), &revision, &branch);
    options.workspaces = with_package_cache(&args.workspace_dirs, &out)?;
    let started = std::time::Instant::now();
    let since = std::time::SystemTime::now();
    let outcome = tokio::select! {
        biased;
        _ = tokio::signal::ctrl_c() => {
            interrupted(&pipeline, &out, since);
            return Ok(ExitStatus::Interrupted);
        }
        outcome = crate::pipeline::runner::run(&pipeline, tasks, &options) => outcome?,
    };
    let statuses: Vec<TaskLine> = outcome
        .tasks
        .iter()
        // The report tasks make the page this step makes again below, with every file at hand.
        .filter(|(name, _)| !REPORT_TASKS.contains(&name.as_str()))
        .map(|(name, task)| TaskLine { name: name.clone(), status: task.status.clone() })
        .collect();
    let causes = causes(&outcome);
    let markdown = crate::domain::run_report::render_markdown_with_causes(&outcome.status, &statuses, &causes);
    crate::io::fs::write_atomic(&out.join("report.md"), markdown.as_bytes())?;
    let page_written = status_page(&options.tool, &outcome, &statuses, &causes, &out, &tree, &branch).await;

    let updated = if outcome.outcome("commit").is_some_and(|commit| commit.status == TaskStatus::Succeeded) {
        let auth = crate::io::git::GitAuth::resolve(
            args.token.as_deref(),
            args.workspace_dirs.get(GIT_AUTH_WORKSPACE).map(PathBuf::as_path),
            origin.as_deref().unwrap_or_default(),
        )?;
        update_checkout(&tree, &out, origin.is_some(), &branch, &auth).await
    } else {
        Err("the commit task did not succeed".to_string())
    };
    print_summary(&outcome, &causes, &tree, &out, &args.store, &updated, page_written, started.elapsed());
    if outcome.status == TaskStatus::Failed {
        let failed: Vec<String> =
            causes.iter().map(|cause| format!("{}: {}", cause.task, cause.summary())).collect::<Vec<_>>();
        return Err(FindingsError(format!("the sync failed:\n{}", failed.join("\n"))).into());
    }
    Ok(ExitStatus::Success)
}

/// The Pipeline's params for this run: the checkout's, then the flags, then `--param`.
fn pipeline_params(
    args: &SyncSettings,
    origin: Option<&str>,
    revision: &str,
    branch: &str,
) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    params.insert("git-url".into(), origin.map_or_else(|| args.tree.display().to_string(), str::to_string));
    params.insert("revision".into(), revision.to_string());
    params.insert("branch".into(), branch.to_string());
    // As Konflux names it (`<repository>:{{revision}}`): every task's artifact is a tag of this
    // one repository (`<revision>.git`, `<revision>.fetch`, …).
    params.insert("output-image".into(), format!("localhost/rhdh-catalog-sync:{revision}"));
    params.insert("registry".into(), args.registry.clone());
    params.insert("index-image".into(), args.index_image.clone());
    params.insert("exporter".into(), args.exporter.clone());
    params.insert("workspaces".into(), args.workspaces.join(","));
    params.extend(args.params.clone());
    params
}

/// The environment every step of the run gets (it stands for the cluster's configuration, so it
/// wins over a step's own `env`).
fn step_environment(args: &SyncSettings, has_origin: bool) -> Vec<(String, String)> {
    let mut env = vec![
        ("RHDH_CATALOG_STORE".to_string(), args.store.clone()),
        ("RHDH_CATALOG_ARTIFACT_STORE".to_string(), format!("oci-layout:{}", args.out.join("artifacts").display())),
        ("RHDH_CATALOG_INSTALL_COMMAND".to_string(), args.install_command.clone()),
        ("RHDH_CATALOG_TSC_COMMAND".to_string(), args.tsc_command.clone()),
        ("RHDH_CATALOG_FORCE_EXPORT".to_string(), args.force_export.values().join(",")),
        ("RHDH_CATALOG_INSECURE_REGISTRIES".to_string(), args.client.insecure_registries.join(",")),
        ("RHDH_CATALOG_REGISTRY_TIMEOUT".to_string(), args.client.timeout.as_secs().to_string()),
        ("RHDH_CATALOG_REGISTRY_ATTEMPTS".to_string(), args.client.attempts.to_string()),
        // A step's message about a value from this environment names the sync flag it came from.
        (crate::cli::SET_BY_ENV.to_string(), "rhdh-catalog sync".to_string()),
    ];
    if args.allow_local_repos {
        env.push(("RHDH_CATALOG_ALLOW_LOCAL_REPOS".to_string(), "true".to_string()));
    }
    if !has_origin {
        // Nothing to push to: the checkout itself is brought to the new commit below.
        env.push(("RHDH_CATALOG_NO_PUSH".to_string(), "true".to_string()));
    }
    if let Some(file) = &args.registry_auth_file {
        env.push(("REGISTRY_AUTH_FILE".to_string(), file.display().to_string()));
    }
    // This machine's extra CA stands in for the trusted-ca ConfigMap the Tasks mount.
    if let Some(extra_ca) = std::env::var_os(crate::io::registry::client::EXTRA_CA_ENV) {
        env.push((crate::io::registry::client::EXTRA_CA_ENV.to_string(), extra_ca.to_string_lossy().into_owned()));
    }
    env
}

/// Asks a registry store once whether it can work as configured: a registry that answers plain
/// HTTP, a certificate that is not trusted or not for its name, a host that does not exist stop
/// the run here (exit 2, naming the flag). One that does not answer now is left to the tasks,
/// which retry, and whose failure the status page reports.
async fn check_store(args: &SyncSettings) -> anyhow::Result<()> {
    let Some(mirror) = args.store.trim().strip_prefix("docker://") else { return Ok(()) };
    let mirror = mirror.trim_end_matches('/');
    let host = if mirror.is_empty() { args.registry_prefix.registry.clone() } else { mirror.to_string() };
    let client = RegistryClient::new(ClientOptions { attempts: 1, ..args.client.clone() })?;
    match client.check_reachable(&host).await {
        Ok(()) => Ok(()),
        Err(error @ RegistryError::Misconfigured { .. }) => {
            Err(anyhow::Error::new(error).context("the image store cannot work as configured; nothing was run"))
        }
        Err(error) => {
            tracing::warn!(%error, "the image store did not answer; the tasks try again and retry");
            Ok(())
        }
    }
}

/// `--dry-run`: the task order, then the plan `fetch` makes on a scratch copy of the checkout with
/// the upstreams fetched (the checkout stays untouched), with the same environment a real run
/// gives it. What fetch says about the copy's files is said about the checkout's.
async fn dry_run(
    args: &SyncSettings,
    pipeline: &crate::pipeline::definitions::Pipeline,
    options: &RunOptions,
) -> anyhow::Result<ExitStatus> {
    let order = crate::pipeline::runner::execution_order(pipeline)?;
    println!(
        "tasks: {} → finally: {}",
        order.iter().map(|task| task.name.as_str()).collect::<Vec<_>>().join(" → "),
        pipeline.finally.iter().map(|task| task.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    let scratch = tempfile::tempdir()?;
    crate::io::fs::copy_additively(&args.tree, scratch.path(), &[])?;
    let plan_path = scratch.path().join(crate::formats::plan::PLAN_FILE);
    let mut fetch = vec!["fetch".to_string(), "--tree".into(), scratch.path().display().to_string()];
    fetch.extend(["--plan".into(), plan_path.display().to_string(), "--output-format".into(), "json".into()]);
    for workspace in &args.workspaces {
        fetch.extend(["--workspace".to_string(), workspace.clone()]);
    }
    // As the fetch Task passes it: a workspace last exported under another prefix is exported again.
    if let Some(registry) = options.params.get("registry") {
        fetch.extend(["--registry".to_string(), registry.clone()]);
    }
    let (status, stderr) = crate::pipeline::runner::run_tool_step_captured(&options.tool, &fetch, &options.env).await?;
    let scratch_text = scratch.path().display().to_string();
    let resolved = crate::io::fs::resolved(scratch.path()).display().to_string();
    eprint!(
        "{}",
        stderr
            .replace(&resolved, &args.tree.display().to_string())
            .replace(&scratch_text, &args.tree.display().to_string())
    );
    if status != ExitStatus::Success {
        return Ok(status);
    }
    print!(
        "{}",
        crate::domain::workspace::plan::render_table(&crate::io::fs::read_parsed(
            &plan_path,
            crate::formats::plan::Plan::parse
        )?)
    );
    Ok(ExitStatus::Success)
}

/// What a Ctrl-C stopped, said once: the task that was running (from the outcomes saved since
/// the run started), what that means for the remote, and that the same command goes on.
fn interrupted(pipeline: &crate::pipeline::definitions::Pipeline, out: &Path, since: std::time::SystemTime) {
    let state = out.join("state");
    let finished = |name: &str| {
        std::fs::metadata(state.join(format!("{name}.json")))
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| modified >= since)
    };
    let order = crate::pipeline::runner::execution_order(pipeline).unwrap_or_default();
    let done: Vec<&str> = order.iter().map(|task| task.name.as_str()).filter(|name| finished(name)).collect();
    let running = order.iter().map(|task| task.name.as_str()).find(|name| !finished(name));
    let remote = match running {
        Some("commit") => "the commit task was stopped: the push may or may not have happened",
        Some(_) => "nothing was committed or pushed",
        None => "every task had finished; only the report was stopped",
    };
    eprintln!(
        "\ninterrupted: the sync stopped while {} ran ({}); {remote}.\n  hint: run the same command again to go on: it starts from the checkout again and reuses what this run kept in {} (clones, unpacked artifacts, the package cache), so unchanged work is quick",
        running.map_or_else(|| "the report".to_string(), |name| format!("`{name}`")),
        if done.is_empty() { "no task had finished".to_string() } else { format!("finished: {}", done.join(", ")) },
        out.display()
    );
}

/// Why each task that failed failed, and why each skipped task was skipped: the cause lines of
/// its log and the log's path.
fn causes(outcome: &RunOutcome) -> Vec<TaskCause> {
    outcome
        .tasks
        .iter()
        .filter(|(_, task)| matches!(task.status, TaskStatus::Failed | TaskStatus::None))
        .map(|(name, task)| cause_of(name, task))
        .collect()
}

fn cause_of(name: &str, task: &TaskOutcome) -> TaskCause {
    let reason = task.reason.clone().unwrap_or_default();
    // The runner says `step <step> exited with <status>; log <path>:` and the log's last lines.
    let (head, tail) = reason.split_once('\n').unwrap_or((reason.as_str(), ""));
    let (head, log) = match head.split_once("; log ") {
        Some((head, log)) => (head.to_string(), Some(PathBuf::from(log.trim_end_matches(':')))),
        None => (head.to_string(), None),
    };
    let lines: Vec<String> = tail.lines().map(str::to_string).collect();
    TaskCause {
        task: name.to_string(),
        skipped: task.status == TaskStatus::None,
        head,
        lines: crate::domain::run_report::cause_lines(&lines),
        log,
    }
}

/// The status page of the run (`status.html`, `status.md` in `out`): `report` run as a step, on
/// the reports the tasks left in their folders (the runner keeps them; Tekton would not). Never
/// fails the sync: a page that cannot be made is a warning. Returns whether it was written.
async fn status_page(
    tool: &Path,
    outcome: &RunOutcome,
    statuses: &[TaskLine],
    causes: &[TaskCause],
    out: &Path,
    tree: &Path,
    branch: &str,
) -> bool {
    let succeeded = |name: &str| outcome.outcome(name).is_some_and(|task| task.status == TaskStatus::Succeeded);
    let ran = |name: &str| outcome.outcome(name).is_some_and(|task| task.status != TaskStatus::None);
    let runs = out.join("runs");
    let path = |path: PathBuf| path.display().to_string();
    let mut args = vec!["report".to_string(), "--status".into(), outcome.status.to_string()];
    args.extend(["--output-dir".into(), path(out.to_path_buf()), "--branch".into(), branch.to_string()]);
    args.extend(statuses.iter().map(|task| format!("{}={}", task.name, task.status)));
    if let Some(revision) = crate::io::git::head_commit(tree) {
        args.extend(["--revision".into(), revision.clone()]);
        let time = crate::io::git::run_in(tree, &["show", "-s", "--format=%ct", &revision]).await;
        if std::env::var_os("SOURCE_DATE_EPOCH").is_none()
            && let Ok(seconds) = time
        {
            args.extend(["--source-date-epoch".into(), seconds]);
        }
    }
    let fetched = runs.join("fetch/workdir/source");
    let plan_path = fetched.join(crate::formats::plan::PLAN_FILE);
    if ran("fetch") && plan_path.is_file() {
        args.extend(["--plan".into(), path(plan_path.clone())]);
    }
    // Every plugin of the overlay gets a row: the overlay this run fetched, else the checkout's.
    let overlay_root = if plan_path.is_file() { fetched.clone() } else { tree.to_path_buf() };
    if let Some(overlay) = overlay_of(&overlay_root, &plan_path) {
        // The community catalog's section, whatever happened to the index: its plugins get rows.
        let community_list = overlay.join("rhdh-community-packages.txt");
        if community_list.is_file() {
            args.extend(["--community-packages".into(), path(community_list)]);
        }
        args.extend(["--overlay".into(), path(overlay)]);
    }
    // Only an index this run made is this run's catalog: never the checkout's previous one.
    if succeeded("index") {
        args.extend(["--index-report".into(), path(runs.join("index/workdir/source/index-report.json"))]);
        args.extend(["--catalog-index".into(), path(runs.join("index/workdir/source/catalog-index"))]);
        // The community catalog only when this index made one (a folder left from an earlier run is not this run's).
        if result(outcome, "index", "community").as_deref() == Some("true") {
            args.extend([
                "--community-index-report".into(),
                path(runs.join("index/workdir/source/index-report-community.json")),
            ]);
            args.extend([
                "--community-catalog-index".into(),
                path(runs.join("index/workdir/source/catalog-index-community")),
            ]);
        }
    }
    // The images the finally tasks published.
    for (task, flag) in [("publish", "--published-image"), ("publish-community", "--community-published-image")] {
        if let Some(image) = published_image(outcome, task) {
            args.extend([flag.to_string(), image]);
        }
    }
    if ran("export") {
        for folder in export_runs(outcome, out) {
            args.extend(["--export-report".into(), path(folder.join("workdir/export"))]);
        }
    }
    for cause in causes.iter().filter(|cause| !cause.skipped) {
        if let Some(log) = &cause.log {
            args.extend(["--task-log".into(), format!("{}={}", cause.task, log.display())]);
        }
    }
    args.extend(["--rerun-command".into(), rerun_command()]);
    let record_path = out.join("state").join(PAGE_RECORD);
    // A run that succeeded whose page inputs are those of the page on disk: that page is this
    // run's, byte for byte (rendering 2,640 plugin rows is most of a no-op's time after index).
    let key = (outcome.status == TaskStatus::Succeeded && causes.iter().all(|cause| cause.skipped))
        .then(|| page_key(tool, &args, outcome));
    if let Some(key) = &key
        && PageRecord::load(&record_path).is_some_and(|record| record.holds(key, out))
    {
        tracing::info!(page = %out.join(crate::steps::report::STATUS_HTML).display(), "status page unchanged: its inputs are those of the page already written, byte for byte this run's");
        return true;
    }
    // A record names only the page it was made with: none while a page is being made.
    if let Err(error) = std::fs::remove_file(&record_path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %error, "the status page record cannot be removed");
    }
    let written = crate::pipeline::runner::run_tool_step(tool, &args).await;
    if let (Some(key), Ok(ExitStatus::Success)) = (key, &written)
        && let Some(record) = PageRecord::of(key, out)
        && let Err(error) = crate::io::fs::write_atomic(&record_path, &crate::formats::json::to_pretty(&record))
    {
        tracing::warn!(error = %error, "the status page record cannot be written");
    }
    match written {
        Ok(ExitStatus::Success) => true,
        Ok(status) => {
            tracing::warn!(?status, "the status page was not written");
            false
        }
        Err(error) => {
            tracing::warn!(error = %error, "the status page was not written");
            false
        }
    }
}

/// The record of the page last written, in `<out>/state/`.
const PAGE_RECORD: &str = "status-page.json";

/// The key of the status page `args` make after `outcome`: the page reads the folders of the
/// TaskRuns, whose content their results name (artifact digests), and nothing else but its
/// arguments and the environment.
fn page_key(tool: &Path, args: &[String], outcome: &RunOutcome) -> String {
    // `vars_os`: a variable that is not UTF-8 (of any name) must not stop the run; hex keeps
    // every byte of one that is not apart from every other value.
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .filter(|(name, _)| {
            let name = name.as_encoded_bytes();
            name.starts_with(b"RHDH_CATALOG_") || name == b"SOURCE_DATE_EPOCH"
        })
        .map(|(name, value)| (hex::encode(name.as_encoded_bytes()), hex::encode(value.as_encoded_bytes())))
        .collect();
    env.sort();
    let read: Vec<(String, String)> = outcome
        .tasks
        .iter()
        .map(|(name, task)| {
            let TaskOutcome { status, results, reason, millis: _ } = task;
            (name.clone(), serde_json::json!({"status": status, "results": results, "reason": reason}).to_string())
        })
        .collect();
    crate::pipeline::reuse::step_key(tool, args, &env, &read)
}

/// A page written: its key and the sha256 of each of its files.
#[derive(serde::Serialize, serde::Deserialize)]
struct PageRecord {
    key: String,
    files: BTreeMap<String, String>,
}

impl PageRecord {
    const FILES: [&str; 2] = [crate::steps::report::STATUS_HTML, crate::steps::report::STATUS_MARKDOWN];

    fn load(path: &Path) -> Option<PageRecord> {
        serde_json::from_slice(&crate::io::fs::read_input(path).ok()?).ok()
    }

    /// The page's files in `out` as they are now, recorded under `key`.
    fn of(key: String, out: &Path) -> Option<PageRecord> {
        let files = Self::FILES
            .iter()
            .map(|name| Some((name.to_string(), file_digest(&out.join(name))?)))
            .collect::<Option<BTreeMap<_, _>>>()?;
        Some(PageRecord { key, files })
    }

    /// Whether this record is of `key` and every file of the page still holds what was written.
    fn holds(&self, key: &str, out: &Path) -> bool {
        self.key == key
            && Self::FILES.iter().all(|name| {
                self.files.get(*name).is_some_and(|recorded| file_digest(&out.join(name)).as_ref() == Some(recorded))
            })
    }
}

/// sha256 of a file the page step wrote (a page of 2,640 plugins is about 6 MB).
fn file_digest(path: &Path) -> Option<String> {
    use sha2::Digest as _;
    let bytes = crate::io::fs::read_bounded(path, 256 << 20).ok()?;
    Some(hex::encode(sha2::Sha256::digest(&bytes)))
}

/// The first value of a task's result, when the task succeeded.
fn result(outcome: &RunOutcome, task: &str, name: &str) -> Option<String> {
    outcome
        .outcome(task)
        .filter(|task| task.status == TaskStatus::Succeeded)
        .and_then(|task| task.results.get(name))
        .and_then(|values| values.first())
        .and_then(|value| value.as_str())
        .map(str::to_string)
}

/// `<repository>:<tag>@<digest>` of the image a publish task pushed (the tag its Pipeline gives
/// it: `<version>-<release>` of the release-number task), when it succeeded.
fn published_image(outcome: &RunOutcome, task: &str) -> Option<String> {
    let repository = result(outcome, task, "IMAGE_URL")?;
    let digest = result(outcome, task, "IMAGE_DIGEST")?;
    let tag = result(outcome, "release-number", "version")
        .zip(result(outcome, "release-number", "release"))
        .map(|(version, release)| format!(":{version}-{release}"))
        .unwrap_or_default();
    Some(format!("{repository}{tag}@{digest}"))
}

/// The folders of this run's export TaskRuns (one per batch the fetch task planned; folders of
/// earlier runs with more batches are not this run's).
fn export_runs(outcome: &RunOutcome, out: &Path) -> Vec<PathBuf> {
    let batches = outcome
        .outcome("fetch")
        .and_then(|fetch| fetch.results.get("batches"))
        .and_then(|values| values.first())
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    let runs = out.join("runs");
    match batches {
        0 => Vec::new(),
        1 => vec![runs.join("export")],
        count => (0..count).map(|batch| runs.join(format!("export-{batch}"))).collect(),
    }
    .into_iter()
    .filter(|folder| folder.join("workdir/export").is_dir())
    .collect()
}

/// The overlay tree under `root`: the destination `fetch` recorded that holds `workspaces/`, else
/// `overlay-repo`.
fn overlay_of(root: &Path, plan: &Path) -> Option<PathBuf> {
    let recorded = crate::io::fs::read_parsed(plan, crate::formats::plan::Plan::parse)
        .ok()
        .into_iter()
        .flat_map(|plan| plan.sources);
    recorded
        .map(|source| root.join(source.destination))
        .chain(std::iter::once(root.join("overlay-repo")))
        .find(|candidate| candidate.join("workspaces").is_dir())
}

/// This sync's command line as it can be run again: `rhdh-catalog sync` and the arguments it was
/// given, without `--force-export`, `--from` and `--dry-run` (the page adds what a fix needs).
fn rerun_command() -> String {
    let mut words = vec!["rhdh-catalog".to_string()];
    let mut arguments = std::env::args().skip(1).peekable();
    while let Some(argument) = arguments.next() {
        let name = argument.split('=').next().unwrap_or_default();
        if matches!(name, "--force-export" | "--dry-run") {
            if name == "--force-export"
                && !argument.contains('=')
                && arguments.peek().is_some_and(|next| !next.starts_with('-'))
            {
                arguments.next();
            }
            continue;
        }
        if name == "--from" {
            if !argument.contains('=') {
                arguments.next();
            }
            continue;
        }
        words.push(crate::io::shell::shell_quote(&argument));
    }
    words.join(" ")
}

/// Brings the checkout to the commit the pipeline made: a fast-forward pull from the remote it
/// pushed to (with the run's git credentials), or from the commit task's clone when there is no
/// remote. A dirty checkout is left alone.
async fn update_checkout(
    tree: &Path,
    out: &Path,
    has_origin: bool,
    branch: &str,
    auth: &crate::io::git::GitAuth,
) -> Result<String, String> {
    let environment = auth.environment();
    let git = |args: Vec<String>| {
        let environment = environment.clone();
        async move {
            let borrowed: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::io::git::run_with_env(tree, &borrowed, "", &environment).await
        }
    };
    let dirty = git(vec!["status".into(), "--porcelain".into(), "--untracked-files=no".into()]).await?;
    if !dirty.is_empty() {
        return Err("the checkout has uncommitted changes; pull the new commit yourself".into());
    }
    if has_origin {
        git(vec!["pull".into(), "--quiet".into(), "--ff-only".into(), "origin".into(), branch.into()]).await?;
    } else {
        let clone = out.join("runs/commit/workdir/source");
        git(vec!["fetch".into(), "--quiet".into(), clone.display().to_string(), "HEAD".into()]).await?;
        git(vec!["merge".into(), "--quiet".into(), "--ff-only".into(), "FETCH_HEAD".into()]).await?;
    }
    git(vec!["rev-parse".into(), "HEAD".into()]).await
}

/// The end of a run on stdout: every task (a task that did not run says `skipped` and why), the
/// cause of each failure with its log, then only the files that exist.
#[allow(clippy::too_many_arguments)]
fn print_summary(
    outcome: &RunOutcome,
    causes: &[TaskCause],
    tree: &Path,
    out: &Path,
    store: &str,
    updated: &Result<String, String>,
    page_written: bool,
    elapsed: std::time::Duration,
) {
    println!("sync {} in {:.1}s", outcome.status, elapsed.as_secs_f64());
    // The name column fits the longest task name (`publish-community`), so the words line up.
    let width = outcome.tasks.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0).max(16);
    for (name, task) in &outcome.tasks {
        let word = if task.status == TaskStatus::None { "skipped".to_string() } else { task.status.to_string() };
        let detail = causes
            .iter()
            .find(|cause| cause.task == *name)
            .map(|cause| format!(" ({})", cause.head))
            .unwrap_or_default();
        let time = if task.status == TaskStatus::None {
            String::new()
        } else {
            format!("{:.1}s", std::time::Duration::from_millis(task.millis).as_secs_f64())
        };
        println!("  {name:width$} {word:9} {time:>7}{detail}");
    }
    for cause in causes.iter().filter(|cause| !cause.skipped) {
        println!("failed:    {}: {}", cause.task, cause.summary());
        if let Some(log) = cause.log.as_ref().filter(|log| log.is_file()) {
            println!("           log {}", log.display());
        }
    }
    match updated {
        Ok(commit) => println!("checkout:  {} at {commit}", tree.display()),
        Err(reason) => println!("checkout:  not updated: {reason}"),
    }
    if let Some(summary) = outcome
        .outcome("index")
        .filter(|index| index.status == TaskStatus::Succeeded)
        .and_then(|index| index.results.get("summary"))
        .and_then(|values| values.first())
        .and_then(|value| value.as_str())
    {
        println!("index:     {summary}");
    }
    if let Some(commit) = outcome
        .outcome("commit")
        .and_then(|task| task.results.get("pushed"))
        .and_then(|values| values.first())
        .and_then(|value| value.as_str())
    {
        println!("commit:    {commit}");
    }
    let index_ran = outcome.outcome("index").is_some_and(|index| index.status == TaskStatus::Succeeded);
    let catalog =
        if updated.is_ok() { tree.join("catalog-index") } else { out.join("runs/index/workdir/source/catalog-index") };
    if index_ran && catalog.is_dir() {
        println!("catalog:   {}", catalog.display());
    } else {
        println!("catalog:   none from this run (the index task did not succeed)");
    }
    let community_built = result(outcome, "index", "community").as_deref() == Some("true");
    let community = catalog.with_file_name("catalog-index-community");
    if index_ran && community_built && community.is_dir() {
        println!("community: {} (the extra catalog index)", community.display());
    }
    let exists = |path: PathBuf| path.exists().then_some(path);
    if let Some(report) = exists(out.join("report.md")) {
        println!("report:    {}", report.display());
    }
    if page_written && let Some(page) = exists(out.join("status.html")) {
        println!("status:    {} (and status.md)", page.display());
    }
    let mut details = Vec::new();
    if index_ran && let Some(report) = exists(out.join("runs/index/workdir/source/index-report.json")) {
        details.push(report.display().to_string());
    }
    if index_ran
        && community_built
        && let Some(report) = exists(out.join("runs/index/workdir/source/index-report-community.json"))
    {
        details.push(report.display().to_string());
    }
    let ran_export = outcome.outcome("export").is_some_and(|export| export.status != TaskStatus::None);
    if ran_export {
        details.extend(
            export_runs(outcome, out)
                .into_iter()
                .map(|folder| folder.join("workdir/export/export-reports"))
                .filter(|folder| folder.is_dir())
                .map(|folder| folder.display().to_string()),
        );
    }
    if !details.is_empty() {
        println!("details:   {}", details.join(", "));
    }
    println!("images:    {store}");
}

/// The Pipeline workspace the export tasks keep their package downloads and installs in.
const PACKAGE_CACHE_WORKSPACE: &str = "package-cache";

/// The workspaces bound with `--workspace-dir`, and the package cache under `out` unless one was
/// bound: a local sync keeps Yarn's and npm's downloads and the installed `node_modules` from run to run.
fn with_package_cache(bound: &BTreeMap<String, PathBuf>, out: &Path) -> std::io::Result<BTreeMap<String, PathBuf>> {
    let mut workspaces = bound.clone();
    if !workspaces.contains_key(PACKAGE_CACHE_WORKSPACE) {
        let dir = out.join("cache").join("packages");
        fs_err::create_dir_all(&dir)?;
        workspaces.insert(PACKAGE_CACHE_WORKSPACE.to_string(), dir);
    }
    Ok(workspaces)
}
