//! `rhdh-catalog sync`: the whole pipeline on this machine. It runs the embedded Tekton Pipeline
//! with the local runner (so the graph exists once, and every local run tests it), with images
//! and artifacts in OCI layout folders, then brings the checkout up to the new commit and says
//! where the index and the report are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::domain::run_report::{TaskLine, TaskStatus};
use crate::error::{ExitStatus, FindingsError, InputError};
use crate::pipeline::runner::{RunOptions, RunOutcome};

#[derive(Debug)]
pub struct SyncSettings {
    /// The midstream checkout (absolute).
    pub(crate) tree: PathBuf,
    /// Task runs, artifacts, saved outcomes and the report (absolute).
    pub(crate) out: PathBuf,
    /// Where plugin images are pushed and read (`oci-layout:` paths absolute).
    pub(crate) store: String,
    pub(crate) registry: String,
    pub(crate) index_image: String,
    pub(crate) exporter: String,
    pub(crate) install_command: String,
    pub(crate) tsc_command: String,
    pub(crate) workspaces: Vec<String>,
    /// Export TaskRuns at the same time.
    pub(crate) jobs: usize,
    pub(crate) from: Option<String>,
    pub(crate) dry_run: bool,
    /// Pipeline params given with `--param name=value`.
    pub(crate) params: BTreeMap<String, String>,
    /// Let the steps clone `file://` and `git://` repositories (the bundled example's upstreams).
    pub(crate) allow_local_repos: bool,
    /// Pipeline workspace → folder (`--workspace-dir name=DIR`, absolute, existing).
    pub(crate) workspace_dirs: BTreeMap<String, PathBuf>,
    /// `GIT_TOKEN`: for the steps (their secret) and the final pull of the checkout.
    pub(crate) token: Option<String>,
}

/// The Pipeline workspace with the midstream's git credentials.
const GIT_AUTH_WORKSPACE: &str = "git-auth";

pub(crate) async fn run(args: SyncSettings) -> anyhow::Result<ExitStatus> {
    let tree = args.tree.clone();
    let pipeline = crate::pipeline::definitions::pipeline()?;
    let tasks = crate::pipeline::definitions::tasks()?;
    let tool = std::env::current_exe()?;
    if args.dry_run {
        let order = crate::pipeline::runner::execution_order(&pipeline)?;
        println!(
            "tasks: {} → finally: {}",
            order.iter().map(|task| task.name.as_str()).collect::<Vec<_>>().join(" → "),
            pipeline.finally.iter().map(|task| task.name.as_str()).collect::<Vec<_>>().join(", ")
        );
        // Plan on a scratch copy, with the upstreams fetched, so the checkout stays untouched.
        let scratch = tempfile::tempdir()?;
        crate::io::fs::copy_additively(&tree, scratch.path(), &[])?;
        let plan_path = scratch.path().join("plan.json");
        let mut fetch = vec!["fetch".to_string(), "--tree".into(), scratch.path().display().to_string()];
        fetch.extend(["--plan".into(), plan_path.display().to_string(), "--output-format".into(), "json".into()]);
        for workspace in &args.workspaces {
            fetch.extend(["--workspace".to_string(), workspace.clone()]);
        }
        let status = crate::pipeline::runner::run_tool_step(&tool, &fetch).await?;
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
        return Ok(ExitStatus::Success);
    }
    let Some(revision) = crate::io::git::head_commit(&tree) else {
        return Err(InputError::in_file(&tree, "is not a git work tree with a commit")
            .with_hint("sync runs on a midstream checkout")
            .into());
    };
    let origin = crate::io::git::origin_url(&tree);
    let branch = crate::io::git::current_branch(&tree).unwrap_or_else(|| "main".to_string());
    let out = args.out.clone();
    let store = args.store.clone();

    let mut params: BTreeMap<String, String> = BTreeMap::new();
    params.insert("git-url".into(), origin.clone().unwrap_or_else(|| tree.display().to_string()));
    params.insert("revision".into(), revision.clone());
    params.insert("branch".into(), branch.clone());
    // As Konflux names it (`<repository>:{{revision}}`): every task's artifact is a tag of this
    // one repository (`<revision>.git`, `<revision>.fetch`, …).
    params.insert("output-image".into(), format!("localhost/rhdh-catalog-sync:{revision}"));
    params.insert("registry".into(), args.registry.clone());
    params.insert("index-image".into(), args.index_image.clone());
    params.insert("exporter".into(), args.exporter.clone());
    params.insert("workspaces".into(), args.workspaces.join(","));
    params.extend(args.params.clone());
    let mut env = vec![
        ("RHDH_CATALOG_STORE".to_string(), store.clone()),
        ("RHDH_CATALOG_ARTIFACT_STORE".to_string(), format!("oci-layout:{}", out.join("artifacts").display())),
        ("RHDH_CATALOG_INSTALL_COMMAND".to_string(), args.install_command.clone()),
        ("RHDH_CATALOG_TSC_COMMAND".to_string(), args.tsc_command.clone()),
    ];
    if args.allow_local_repos {
        env.push(("RHDH_CATALOG_ALLOW_LOCAL_REPOS".to_string(), "true".to_string()));
    }
    if origin.is_none() {
        // Nothing to push to: the checkout itself is brought to the new commit below.
        env.push(("RHDH_CATALOG_NO_PUSH".to_string(), "true".to_string()));
    }
    // This machine's extra CA stands in for the trusted-ca ConfigMap the Tasks mount.
    if let Some(extra_ca) = std::env::var_os(crate::io::registry::client::EXTRA_CA_ENV) {
        env.push((crate::io::registry::client::EXTRA_CA_ENV.to_string(), extra_ca.to_string_lossy().into_owned()));
    }
    let options = RunOptions {
        out: out.clone(),
        params,
        jobs: args.jobs,
        from: args.from.clone(),
        tool,
        env,
        workspaces: with_package_cache(&args.workspace_dirs, &out)?,
        // The PaC runs' and the sample PipelineRun's limits: a run Tekton would stop stops here too.
        timeouts: crate::pipeline::definitions::sample_run_timeouts()?,
    };
    let started = std::time::Instant::now();
    let outcome = crate::pipeline::runner::run(&pipeline, tasks, &options).await?;
    let statuses: Vec<TaskLine> = outcome
        .tasks
        .iter()
        .filter(|(name, _)| name != "report")
        .map(|(name, task)| TaskLine { name: name.clone(), status: task.status.clone() })
        .collect();
    let markdown = crate::domain::run_report::render_markdown(&outcome.status, &statuses);
    crate::io::fs::write_atomic(&out.join("report.md"), markdown.as_bytes())?;
    status_page(&options.tool, &outcome, &statuses, &out, &tree, &branch).await;

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
    print_summary(&outcome, &tree, &out, &store, &updated, started.elapsed());
    if outcome.status == TaskStatus::Failed {
        let failed: Vec<String> = outcome
            .tasks
            .iter()
            .filter(|(_, task)| task.status == TaskStatus::Failed)
            .map(|(name, task)| format!("{name}: {}", task.reason.as_deref().unwrap_or("failed")))
            .collect();
        return Err(FindingsError(format!("the sync failed:\n{}", failed.join("\n"))).into());
    }
    Ok(ExitStatus::Success)
}

/// The status page of the run (`status.html`, `status.md` in `out`): `report` run as a step, on
/// the reports the tasks left in their folders (the runner keeps them; Tekton would not). Never
/// fails the sync: a page that cannot be made is a warning.
async fn status_page(tool: &Path, outcome: &RunOutcome, statuses: &[TaskLine], out: &Path, tree: &Path, branch: &str) {
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
    if ran("fetch") {
        args.extend(["--plan".into(), path(runs.join("fetch/workdir/source/plan.json"))]);
    }
    if ran("index") {
        args.extend(["--index-report".into(), path(runs.join("index/workdir/index-report.json"))]);
        args.extend(["--catalog-index".into(), path(runs.join("index/workdir/source/catalog-index"))]);
    } else {
        args.extend(["--catalog-index".into(), path(tree.join("catalog-index"))]);
    }
    let batches = outcome
        .outcome("fetch")
        .and_then(|fetch| fetch.results.get("batches"))
        .and_then(|values| values.first())
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    if ran("export") {
        for batch in 0..batches {
            let run = if batches > 1 { format!("export-{batch}") } else { "export".to_string() };
            args.extend(["--export-report".into(), path(runs.join(run).join("workdir/export"))]);
        }
    }
    match crate::pipeline::runner::run_tool_step(tool, &args).await {
        Ok(ExitStatus::Success) => {}
        Ok(status) => tracing::warn!(?status, "the status page was not written"),
        Err(error) => tracing::warn!(error = %error, "the status page was not written"),
    }
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

fn print_summary(
    outcome: &RunOutcome,
    tree: &Path,
    out: &Path,
    store: &str,
    updated: &Result<String, String>,
    elapsed: std::time::Duration,
) {
    println!("sync {} in {:.1}s", outcome.status, elapsed.as_secs_f64());
    for (name, task) in &outcome.tasks {
        let detail = task
            .reason
            .as_deref()
            .map(|reason| format!(" ({})", reason.lines().next().unwrap_or(reason)))
            .unwrap_or_default();
        println!(
            "  {name:16} {:9} {:>7.1}s{detail}",
            task.status,
            std::time::Duration::from_millis(task.millis).as_secs_f64()
        );
    }
    match updated {
        Ok(commit) => println!("checkout:  {} at {commit}", tree.display()),
        Err(reason) => println!("checkout:  not updated: {reason}"),
    }
    if let Some(summary) = outcome
        .outcome("index")
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
    println!("catalog:   {}", tree.join("catalog-index").display());
    println!("report:    {}", out.join("report.md").display());
    println!("status:    {} (and status.md)", out.join("status.html").display());
    println!(
        "details:   {} (index-report.json), {} (export-reports/)",
        out.join("runs/index/workdir").display(),
        out.join("runs/export*/workdir/export").display()
    );
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
