//! `rhdh-catalog fetch`: clone every repository of `upstream_repos.yml` (shallow, first candidate
//! branch that exists) and copy its content into its destination folder of the midstream tree
//! (additive, like `rsync -a`, never outside the tree); then plan every overlay workspace as
//! *export*, *skip* (same cache key as its last successful export) or *drop* (no supported
//! plugin), write `plan.json`, and the Tekton results (batch ids, versions).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{FetchArgs, OutputFormat};
use crate::error::{ExitStatus, InputError};
use crate::formats::package_list;
use crate::formats::plan::{
    self, Decision, EXPORT_STATE_FILE, ExportState, FetchedSource, Plan, PlannedPlugin, PlannedWorkspace,
};
use crate::formats::relative_path::RelativePath;
use crate::formats::upstream_repos::{UpstreamRepo, UpstreamRepos};
use crate::io::git::GitError;
use crate::io::overlay_tree::Workspace;

/// The Tekton results this step writes (`--results-dir`).
pub const RESULTS: [&str; 3] = ["batches", "rhdh-version", "backstage-version"];

pub async fn run(mut args: FetchArgs) -> anyhow::Result<ExitStatus> {
    // An empty Tekton param arrives as one empty value.
    args.workspaces.retain(|name| !name.trim().is_empty());
    let tree = args.tree.clone();
    let upstream_path = args.upstream_repos.clone().unwrap_or_else(|| tree.join("upstream_repos.yml"));
    let upstream = UpstreamRepos::read(&upstream_path)?;
    let mut sources = Vec::new();
    if !(args.skip_clone || args.dry_run) {
        let fetched = futures::future::join_all(upstream.repos.iter().map(|repo| fetch_repo(repo, &tree))).await;
        for result in fetched {
            sources.push(result?);
        }
    }
    let overlay_dir = tree.join(&args.overlay);
    let overlay = crate::io::overlay_tree::load(&overlay_dir)?;
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
        print_table(&plan);
        return Ok(ExitStatus::Success);
    }
    let plan_path = args.plan.clone().unwrap_or_else(|| tree.join("plan.json"));
    crate::io::fs::write_atomic(&plan_path, &crate::formats::json::to_pretty(&plan))
        .with_context(|| format!("writing {}", plan_path.display()))?;
    let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
    results.write(RESULTS[0], &plan.batch_ids_json())?;
    results.write(RESULTS[1], &plan.rhdh_version)?;
    results.write(RESULTS[2], &plan.backstage_version)?;
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

/// One workspace's inputs to planning.
pub struct WorkspaceFacts<'a> {
    pub workspace: &'a Workspace,
    pub content_id: String,
    pub state: Option<ExportState>,
}

/// Decides export, skip or drop for every workspace. Pure.
pub fn plan_workspaces(
    facts: &[WorkspaceFacts<'_>],
    supported: Option<&BTreeSet<(String, String)>>,
    backstage_version: &str,
    tool_version: &str,
) -> Vec<PlannedWorkspace> {
    facts
        .iter()
        .map(|fact| {
            let workspace = fact.workspace;
            let source = &workspace.source;
            let cache_key = ExportState::key(&fact.content_id, &source.repo_ref, backstage_version, tool_version);
            let plugins: Vec<PlannedPlugin> = workspace
                .plugins_list
                .iter()
                .flat_map(crate::formats::plugins_list::PluginsList::entries)
                .filter(|entry| {
                    supported.is_none_or(|set| set.contains(&(workspace.name.clone(), entry.path.as_str().to_string())))
                })
                .map(|entry| PlannedPlugin { path: entry.path.as_str().to_string(), flags: entry.flags.clone() })
                .collect();
            let (decision, reason) = if plugins.is_empty() {
                (Decision::Drop, "no plugin of plugins-list.yaml is in the supported package list".to_string())
            } else {
                match &fact.state {
                    Some(state) if state.cache_key == cache_key => (
                        Decision::Skip,
                        format!("unchanged since the last export (upstream {})", short(&state.upstream_commit)),
                    ),
                    Some(state) => (
                        Decision::Export,
                        change_reason(state, &fact.content_id, &source.repo_ref, backstage_version, tool_version),
                    ),
                    None => (Decision::Export, "never exported".to_string()),
                }
            };
            PlannedWorkspace {
                name: workspace.name.clone(),
                decision,
                reason,
                cache_key,
                repo: source.repo.clone(),
                repo_ref: source.repo_ref.clone(),
                repo_flat: source.repo_flat,
                backstage_version: workspace.backstage_version().unwrap_or(backstage_version).to_string(),
                plugins,
                batch: None,
            }
        })
        .collect()
}

fn short(commit: &str) -> &str {
    if commit.is_empty() { "unknown" } else { &commit[..commit.len().min(12)] }
}

fn change_reason(
    state: &ExportState,
    content_id: &str,
    repo_ref: &str,
    backstage_version: &str,
    tool_version: &str,
) -> String {
    let mut changes = Vec::new();
    if state.overlay_content_id != content_id {
        changes.push("overlay workspace changed".to_string());
    }
    if state.repo_ref != repo_ref {
        changes.push(format!("repo-ref {} → {repo_ref}", state.repo_ref));
    }
    if state.backstage_version != backstage_version {
        changes.push(format!("Backstage {} → {backstage_version}", state.backstage_version));
    }
    if state.tool_version != tool_version {
        changes.push(format!("rhdh-catalog {} → {tool_version}", state.tool_version));
    }
    if changes.is_empty() { "cache key changed".to_string() } else { changes.join(", ") }
}

/// `(workspace, plugin path)` pairs of the supported lists; `None` when there is none (all supported).
pub fn load_supported(
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

pub fn print_table(plan: &Plan) {
    let width = plan.workspaces.iter().map(|workspace| workspace.name.len()).max().unwrap_or(9).max(9);
    println!("{:width$}  {:6}  {:5}  {:7}  reason", "workspace", "plan", "batch", "plugins");
    for workspace in &plan.workspaces {
        let decision = match workspace.decision {
            Decision::Export => "export",
            Decision::Skip => "skip",
            Decision::Drop => "drop",
        };
        println!(
            "{:width$}  {decision:6}  {:5}  {:7}  {}",
            workspace.name,
            workspace.batch.as_deref().unwrap_or("-"),
            workspace.plugins.len(),
            workspace.reason
        );
    }
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
                let copied = copy_additively(&clone, &destination, &repo.exclude)?;
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

/// Copies every file of `source` (minus `.git` and `exclude`) into `destination`, overwriting
/// changed files and keeping files that exist only in `destination`. Symbolic links are copied as
/// links only when they stay inside `destination`. Returns the number of files written.
pub fn copy_additively(source: &Path, destination: &Path, exclude: &[RelativePath]) -> anyhow::Result<usize> {
    let mut written = 0;
    let mut pending = vec![PathBuf::new()];
    let excluded: BTreeSet<&str> = exclude.iter().map(RelativePath::as_str).collect();
    while let Some(relative) = pending.pop() {
        let dir = source.join(&relative);
        let mut entries: Vec<_> = fs_err::read_dir(&dir)?.filter_map(Result::ok).collect();
        entries.sort_by_key(fs_err::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            let child = relative.join(&name);
            let child_text = child.to_string_lossy();
            if (relative.as_os_str().is_empty() && name == ".git") || excluded.contains(child_text.as_ref()) {
                continue;
            }
            let kind = entry.file_type()?;
            let target = destination.join(&child);
            if kind.is_dir() {
                if target.is_symlink() || target.is_file() {
                    fs_err::remove_file(&target)?;
                }
                fs_err::create_dir_all(&target)?;
                pending.push(child);
            } else if kind.is_symlink() {
                let link = fs_err::read_link(entry.path())?;
                let resolved = normalize(&child.parent().unwrap_or(Path::new("")).join(&link));
                if link.is_absolute() || resolved.is_none() {
                    return Err(InputError::in_file(
                        entry.path(),
                        format!("is a symbolic link to {} outside the repository", link.display()),
                    )
                    .with_hint("upstream content must stay inside its destination folder")
                    .into());
                }
                if target.exists() || target.is_symlink() {
                    if fs_err::read_link(&target).is_ok_and(|existing| existing == link) {
                        continue;
                    }
                    if target.is_dir() && !target.is_symlink() {
                        fs_err::remove_dir_all(&target)?;
                    } else {
                        fs_err::remove_file(&target)?;
                    }
                }
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                std::os::unix::fs::symlink(&link, &target).with_context(|| format!("linking {}", target.display()))?;
                written += 1;
            } else if kind.is_file() {
                let bytes = fs_err::read(entry.path())?;
                if target.is_symlink() {
                    fs_err::remove_file(&target)?;
                }
                if std::fs::read(&target).is_ok_and(|existing| existing == bytes) {
                    continue;
                }
                crate::io::fs::write_atomic(&target, &bytes)?;
                #[cfg(unix)]
                {
                    let mode = std::os::unix::fs::PermissionsExt::mode(&entry.metadata()?.permissions());
                    fs_err::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(mode & 0o777))?;
                }
                written += 1;
            }
        }
    }
    Ok(written)
}

/// Copies the regular files of `source` that `destination` does not have yet (existing files win).
pub fn copy_missing(source: &Path, destination: &Path) -> anyhow::Result<()> {
    for relative in crate::io::fs::list_files(source)? {
        let target = destination.join(&relative);
        if !target.exists() {
            if let Some(parent) = target.parent() {
                fs_err::create_dir_all(parent)?;
            }
            fs_err::copy(source.join(&relative), &target)?;
        }
    }
    Ok(())
}

/// Resolves `.` and `..` lexically; `None` when the path climbs above its root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(part.to_os_string()),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_refuses_climbing_out() {
        assert_eq!(normalize(Path::new("a/b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(normalize(Path::new("a/../../x")), None);
    }
}
