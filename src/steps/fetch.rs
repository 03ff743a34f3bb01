//! `rhdh-catalog fetch`: clone every repository of `upstream_repos.yml` (shallow, first candidate
//! branch that exists) and copy its content into its destination folder of the midstream tree
//! (additive, like `rsync -a`, never outside the tree); then plan every overlay workspace as
//! *export*, *skip* (same cache key as its last successful export) or *drop* (no supported
//! plugin), write `plan.json`, and the Tekton results (batch ids, versions).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::OutputFormat;
use crate::domain::workspace::plan::{WorkspaceFacts, plan_workspaces, render_table};
use crate::error::{ExitStatus, InputError};
use crate::formats::package_list;
use crate::formats::plan::{self, Decision, EXPORT_STATE_FILE, ExportState, FetchedSource, Plan};
use crate::formats::upstream_repos::{UpstreamRepo, UpstreamRepos};
use crate::io::git::GitError;

/// The export batch ids, a JSON array (the matrix of the export task).
pub(crate) const RESULT_BATCHES: &str = "batches";
/// `rhdh.version` of `upstream_repos.yml`.
pub(crate) const RESULT_RHDH_VERSION: &str = "rhdh-version";
/// `backstage.version` of `upstream_repos.yml`.
pub(crate) const RESULT_BACKSTAGE_VERSION: &str = "backstage-version";
/// The Tekton results this step writes (`--results-dir`).
pub const RESULTS: [&str; 3] = [RESULT_BATCHES, RESULT_RHDH_VERSION, RESULT_BACKSTAGE_VERSION];

#[derive(Debug)]
pub struct FetchSettings {
    /// The midstream tree: `upstream_repos.yml`, the destination folders and `workspaces/`.
    pub(crate) tree: PathBuf,
    pub(crate) upstream_repos: PathBuf,
    /// The overlay tree (inside the midstream tree).
    pub(crate) overlay: PathBuf,
    /// Supported package lists; empty: the overlay's rhdh-supported-packages.txt if any.
    pub(crate) packages: Vec<PathBuf>,
    /// Plan only these workspaces (all when empty).
    pub(crate) workspaces: Vec<String>,
    pub(crate) plan: PathBuf,
    pub(crate) max_batches: usize,
    /// Clone the upstream repositories first (off with `--skip-clone` and `--dry-run`).
    pub(crate) clone: bool,
    /// Print the plan as a table; write nothing.
    pub(crate) dry_run: bool,
    pub(crate) results_dir: Option<PathBuf>,
    pub(crate) output_format: OutputFormat,
    /// Clone `file://` and `git://` repositories too (fixtures, mirrors).
    pub(crate) allow_local_repos: bool,
}

pub(crate) async fn run(args: FetchSettings) -> anyhow::Result<ExitStatus> {
    crate::io::fs::add_content_tree(&args.tree);
    let tree = args.tree.clone();
    let upstream = UpstreamRepos::read(&args.upstream_repos)?;
    for repo in &upstream.repos {
        if !crate::io::git::remote_allowed(&repo.repo, args.allow_local_repos) {
            return Err(crate::io::git::refused_remote(&args.upstream_repos, &repo.repo).into());
        }
    }
    let mut sources = Vec::new();
    if args.clone {
        let fetched = futures::future::join_all(upstream.repos.iter().map(|repo| fetch_repo(repo, &tree))).await;
        for result in fetched {
            sources.push(result?);
        }
    }
    let overlay_dir = args.overlay.clone();
    let overlay = crate::io::overlay_tree::load(&overlay_dir)?;
    for workspace in &overlay.workspaces {
        if !crate::io::git::remote_allowed(&workspace.source.repo, args.allow_local_repos) {
            return Err(
                crate::io::git::refused_remote(&workspace.dir.join("source.json"), &workspace.source.repo).into()
            );
        }
    }
    let supported = load_supported(&overlay_dir, &args.packages)?;
    let mut facts = Vec::new();
    for workspace in &overlay.workspaces {
        if !args.workspaces.is_empty() && !args.workspaces.contains(&workspace.name) {
            continue;
        }
        let content_id = crate::io::fs::content_id(&workspace.dir)
            .map_err(|error| InputError::in_file(&workspace.dir, format!("cannot read: {error}")))?;
        let state_path = tree.join("workspaces").join(&workspace.name).join(EXPORT_STATE_FILE);
        let state =
            if state_path.exists() { crate::formats::json::read::<ExportState>(&state_path).ok() } else { None };
        facts.push(WorkspaceFacts { workspace, content_id, state });
    }
    for name in &args.workspaces {
        if !overlay.workspaces.iter().any(|workspace| &workspace.name == name) {
            return Err(InputError::usage(format!(
                "--workspace `{name}` is not a workspace of {}",
                overlay_dir.display()
            ))
            .into());
        }
    }
    let workspaces = plan_workspaces(&facts, supported.as_ref(), &upstream.backstage_version, crate::TOOL_VERSION);
    let exported: Vec<String> = workspaces
        .iter()
        .filter(|workspace| workspace.decision == Decision::Export)
        .map(|workspace| workspace.name.clone())
        .collect();
    let batches = plan::batches(&exported, args.max_batches);
    let mut plan = Plan {
        rhdh_branch: upstream.rhdh_branch.clone(),
        rhdh_version: upstream.rhdh_version.clone(),
        backstage_version: upstream.backstage_version.clone(),
        tool_version: crate::TOOL_VERSION.to_string(),
        sources,
        workspaces,
        batches,
    };
    for (id, names) in &plan.batches {
        for workspace in plan.workspaces.iter_mut().filter(|workspace| names.contains(&workspace.name)) {
            workspace.batch = Some(id.clone());
        }
    }
    if args.dry_run {
        print!("{}", render_table(&plan));
        return Ok(ExitStatus::Success);
    }
    let plan_path = args.plan.clone();
    crate::io::fs::write_atomic(&plan_path, &crate::formats::json::to_pretty(&plan))
        .with_context(|| format!("writing {}", plan_path.display()))?;
    let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
    results.write(RESULT_BATCHES, &plan.batch_ids_json())?;
    results.write(RESULT_RHDH_VERSION, &plan.rhdh_version)?;
    results.write(RESULT_BACKSTAGE_VERSION, &plan.backstage_version)?;
    let count = |decision| plan.workspaces.iter().filter(|workspace| workspace.decision == decision).count();
    match args.output_format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"export": count(Decision::Export), "skip": count(Decision::Skip), "drop": count(Decision::Drop),
                               "batches": plan.batches.len(), "plan": plan_path.display().to_string()})
        ),
        OutputFormat::Text => println!(
            "{} workspaces: {} to export in {} batches, {} unchanged, {} dropped; plan in {}",
            plan.workspaces.len(),
            count(Decision::Export),
            plan.batches.len(),
            count(Decision::Skip),
            count(Decision::Drop),
            plan_path.display()
        ),
    }
    Ok(ExitStatus::Success)
}

/// `(workspace, plugin path)` pairs of the supported lists; `None` when there is none (all supported).
pub(crate) fn load_supported(
    overlay_dir: &Path,
    packages: &[PathBuf],
) -> Result<Option<BTreeSet<(String, String)>>, InputError> {
    let files: Vec<PathBuf> = if packages.is_empty() {
        let default = overlay_dir.join("rhdh-supported-packages.txt");
        if default.exists() { vec![default] } else { Vec::new() }
    } else {
        packages.to_vec()
    };
    if files.is_empty() {
        return Ok(None);
    }
    let mut supported = BTreeSet::new();
    for file in files {
        for entry in package_list::read(&file)? {
            supported.insert((entry.workspace, entry.path.as_str().to_string()));
        }
    }
    Ok(Some(supported))
}

/// Clones one repository (first candidate branch that exists) and copies it into its destination.
async fn fetch_repo(repo: &UpstreamRepo, tree: &Path) -> anyhow::Result<FetchedSource> {
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let mut last_error = None;
    for branch in &repo.branches {
        let clone = scratch.path().join(branch.replace('/', "_"));
        match crate::io::git::shallow_clone(&repo.repo, branch, &clone).await {
            Ok(commit) => {
                let destination = repo.destination.join_to(tree);
                let copied = crate::io::fs::copy_additively(&clone, &destination, &repo.exclude)?;
                tracing::info!(repo = %crate::io::git::strip_credentials(&repo.repo), %branch, %commit, files = copied, destination = %destination.display(), "fetched");
                return Ok(FetchedSource {
                    repo: crate::io::git::strip_credentials(&repo.repo),
                    branch: branch.clone(),
                    commit,
                    destination: repo.destination.as_str().to_string(),
                });
            }
            Err(error @ GitError::RefNotFound { .. }) => {
                tracing::info!(%error, "trying the next candidate branch");
                last_error = Some(error);
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(last_error.map_or_else(|| anyhow::anyhow!("no branch to try"), anyhow::Error::new).context(format!(
        "none of the branches {:?} exists in {}",
        repo.branches,
        crate::io::git::strip_credentials(&repo.repo)
    )))
}
