//! `rhdh-catalog fetch`: bring every destination folder of `upstream_repos.yml` up to its
//! repository. One `git ls-remote` per repository first: a destination whose repositories still
//! have the commits its fetch record names (and whose content is what that fetch left) is not
//! cloned at all; the others are cloned (shallow, first candidate branch that exists) and copied
//! in (additive, like `rsync -a`, never outside the tree), and their record rewritten. Then plan
//! every overlay workspace as *export*, *skip* (same cache key as its last successful export) or
//! *drop* (no supported plugin), write `plan.json`, and the Tekton results (batch ids, versions).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::OutputFormat;
use crate::domain::workspace::plan::{ExportPolicy, WorkspaceFacts, plan_workspaces, render_table};
use crate::error::{ExitStatus, InputError};
use crate::formats::package_list;
use crate::formats::plan::{
    self, Decision, EXPORT_STATE_FILE, ExportState, FetchRecord, FetchedSource, Plan, RecordedSource,
};
use crate::formats::relative_path::RelativePath;
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
    /// `--force-export` and where the images go now: what besides the cache key re-exports.
    pub(crate) policy: ExportPolicy,
}

pub(crate) async fn run(args: FetchSettings) -> anyhow::Result<ExitStatus> {
    crate::io::fs::add_content_tree(&args.tree);
    let tree = args.tree.clone();
    let upstream = crate::io::fs::read_foreign(&args.upstream_repos, UpstreamRepos::parse)?;
    for repo in &upstream.repos {
        if !crate::io::git::remote_allowed(&repo.repo, args.allow_local_repos) {
            return Err(crate::io::git::refused_remote(&args.upstream_repos, &repo.repo).into());
        }
    }
    let sources = if args.clone { fetch_sources(&upstream.repos, &tree).await? } else { Vec::new() };
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
        let content_id = crate::io::fs::content_id(&workspace.dir)?;
        let state_path = tree.join("workspaces").join(&workspace.name).join(EXPORT_STATE_FILE);
        let state = if state_path.exists() { crate::io::fs::read_json::<ExportState>(&state_path).ok() } else { None };
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
    let known: BTreeSet<&str> = overlay.workspaces.iter().map(|workspace| workspace.name.as_str()).collect();
    if let Some(unknown) = args.policy.force.unknown(&known).first() {
        return Err(InputError::usage(format!(
            "--force-export `{unknown}` is not a workspace of {}",
            overlay_dir.join("workspaces").display()
        ))
        .with_hint(
            "name a folder of the overlay's workspaces/, or give --force-export without a name for every workspace",
        )
        .into());
    }
    let workspaces =
        plan_workspaces(&facts, supported.as_ref(), &upstream.backstage_version, crate::TOOL_VERSION, &args.policy);
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
        for entry in crate::io::fs::read_parsed(&file, package_list::parse)? {
            supported.insert((entry.workspace, entry.path.as_str().to_string()));
        }
    }
    Ok(Some(supported))
}

/// Every destination folder brought up to its repositories, in `upstream_repos.yml` order: one
/// `git ls-remote` per repository (all at once), then, per destination folder, nothing when its
/// record matches every head and its content, else a clone of each of its repositories.
async fn fetch_sources(repos: &[UpstreamRepo], tree: &Path) -> anyhow::Result<Vec<FetchedSource>> {
    let heads =
        futures::future::join_all(repos.iter().map(remote_head)).await.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut destinations: Vec<(&RelativePath, Vec<usize>)> = Vec::new();
    for (index, repo) in repos.iter().enumerate() {
        match destinations.iter_mut().find(|(destination, _)| **destination == repo.destination) {
            Some((_, members)) => members.push(index),
            None => destinations.push((&repo.destination, vec![index])),
        }
    }
    let fetched = futures::future::join_all(destinations.iter().map(|(destination, members)| {
        let entries: Vec<(&UpstreamRepo, &(String, String))> =
            members.iter().map(|index| (&repos[*index], &heads[*index])).collect();
        fetch_destination(destination, entries, tree)
    }))
    .await;
    let mut sources: Vec<Option<FetchedSource>> = vec![None; repos.len()];
    for ((_, members), result) in destinations.iter().zip(fetched) {
        for (index, source) in members.iter().zip(result?) {
            sources[*index] = Some(source);
        }
    }
    Ok(sources.into_iter().flatten().collect())
}

/// The branch (first candidate the remote has) and commit `repo` would be cloned at.
async fn remote_head(repo: &UpstreamRepo) -> anyhow::Result<(String, String)> {
    let shown = crate::io::git::strip_credentials(&repo.repo);
    let head = crate::io::git::remote_head(&repo.repo, &repo.branches, &crate::io::git::GitAuth::None).await?;
    // The plan follows from the tree and these heads: the local runner reuses it while they hold.
    crate::io::observed::note(&crate::io::observed::Observed::GitHead {
        url: repo.repo.clone(),
        candidates: repo.branches.clone(),
        head: head.clone(),
    });
    match head {
        Some(head) => Ok(head),
        None => {
            Err(anyhow::Error::new(GitError::RefNotFound { url: shown.clone(), reference: repo.branches.join(", ") })
                .context(format!("none of the branches {:?} exists in {shown}", repo.branches)))
        }
    }
}

/// One destination folder: left alone when its record names exactly these repositories at these
/// heads and the folder still holds what that fetch left; else each repository cloned at its head
/// and copied in, in order, and the record rewritten.
async fn fetch_destination(
    destination: &RelativePath,
    repos: Vec<(&UpstreamRepo, &(String, String))>,
    tree: &Path,
) -> anyhow::Result<Vec<FetchedSource>> {
    let dir = destination.join_to(tree);
    let wanted: Vec<RecordedSource> = repos
        .iter()
        .map(|(repo, (branch, commit))| RecordedSource {
            repo: crate::io::git::strip_credentials(&repo.repo),
            branch: branch.clone(),
            commit: commit.clone(),
            exclude: repo.exclude.iter().map(|path| path.as_str().to_string()).collect(),
        })
        .collect();
    let as_fetched = |sources: &[RecordedSource]| -> Vec<FetchedSource> {
        sources
            .iter()
            .map(|source| FetchedSource {
                repo: source.repo.clone(),
                branch: source.branch.clone(),
                commit: source.commit.clone(),
                destination: destination.as_str().to_string(),
            })
            .collect()
    };
    // The record in the folder is committed content: it is believed only when the record this tool
    // kept outside the tree after its own clone says the same (a forged one names the upstream
    // commit over edited files).
    let trusted = crate::io::fetch_record::read_trusted(&dir);
    if let Some(record) = crate::io::fetch_record::read(&dir)
        && record.sources == wanted
        && trusted.as_ref() == Some(&record)
        && crate::io::fetch_record::content_id(&dir).is_ok_and(|id| id == record.content_id)
    {
        for source in &record.sources {
            tracing::info!(repo = %source.repo, branch = %source.branch, commit = %source.commit, destination = %dir.display(), "unchanged since the last fetch; not cloned");
        }
        return Ok(as_fetched(&record.sources));
    }
    let mut fetched = Vec::new();
    for ((repo, (branch, _)), mut source) in repos.iter().zip(wanted) {
        source.commit = clone_into(repo, branch, &dir).await?;
        fetched.push(source);
    }
    let content_id = crate::io::fetch_record::content_id(&dir)
        .with_context(|| format!("reading {} after the copy", dir.display()))?;
    let record = FetchRecord { content_id, sources: fetched.clone() };
    crate::io::fetch_record::write(&dir, &record)
        .with_context(|| format!("writing the fetch record of {}", dir.display()))?;
    crate::io::fetch_record::write_trusted(&dir, &record);
    Ok(as_fetched(&fetched))
}

/// Clones `repo` at `branch` (shallow) and copies it into `destination`; returns the commit.
async fn clone_into(repo: &UpstreamRepo, branch: &str, destination: &Path) -> anyhow::Result<String> {
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let clone = scratch.path().join("clone");
    let commit = crate::io::git::shallow_clone(&repo.repo, branch, &clone).await?;
    let copied = crate::io::fs::copy_additively(&clone, destination, &repo.exclude)?;
    tracing::info!(repo = %crate::io::git::strip_credentials(&repo.repo), %branch, %commit, files = copied, destination = %destination.display(), "fetched");
    Ok(commit)
}
