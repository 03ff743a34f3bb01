//! `rhdh-catalog commit`: stage exactly the managed paths of the midstream tree, commit with a
//! message summarising what changed, and push; when the remote moved, rebase on it and push
//! again, a bounded number of times. Nothing to commit is success with no commit.
//!
//! Credentials: a token from `GIT_TOKEN` (or `GITHUB_TOKEN`), else the folder `--credentials-dir`
//! in the layout of Konflux's `basic-auth` workspace (`.git-credentials`, or `username` and
//! `password`). Both reach git through its environment only, never arguments, URLs or logs.
//!
//! `--check-push` commits nothing: it checks that the remote accepts a push to the branch with
//! those credentials (`git push --dry-run` of the branch's own tip, which authenticates), so a
//! pipeline can fail in its first minutes instead of at its last task. With `--push-within`, it
//! first refuses credentials that cannot last until the push: a GitHub App token (Pipelines-as-Code's
//! per-run secret on GitHub) expires an hour after it is issued, hours before a sync commits.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Context as _;

use std::path::PathBuf;

use super::OutputFormat;
use crate::error::{ExitStatus, InfrastructureError, InputError};
use crate::formats::relative_path::RelativePath;
use crate::io::git::{GitAuth, GitError, run_with_env, strip_credentials};

/// Managed paths besides the destination folders of `upstream_repos.yml`.
pub const MANAGED_PATHS: [&str; 7] = crate::domain::midstream::MANAGED_PATHS;

/// The Tekton results this step writes (`--results-dir`).
/// The commit the tree is at afterwards.
pub(crate) const RESULT_COMMIT: &str = "commit";
/// `true`, `false` (committed, not pushed) or `unchanged`.
pub(crate) const RESULT_PUSHED: &str = "pushed";
pub const RESULTS: [&str; 2] = [RESULT_COMMIT, RESULT_PUSHED];

#[derive(Debug)]
pub struct CommitSettings {
    /// The midstream tree (a git work tree).
    pub(crate) tree: PathBuf,
    /// Paths to stage; empty: [`MANAGED_PATHS`] and the destination folders of `upstream_repos.yml`.
    pub(crate) paths: Vec<RelativePath>,
    pub(crate) remote: String,
    /// Default: the current branch.
    pub(crate) branch: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) title: String,
    pub(crate) author_name: String,
    pub(crate) author_email: String,
    pub(crate) push: bool,
    /// Check that a push would be accepted; commit nothing.
    pub(crate) check_push: bool,
    /// With `check_push`: the push may come this long after the check; credentials whose form
    /// says they expire sooner are refused.
    pub(crate) push_within: Option<std::time::Duration>,
    /// The Secret (key `password`) the push token comes from, for what to do.
    pub(crate) push_secret: String,
    /// For https remotes, from `GIT_TOKEN` or `GITHUB_TOKEN`; never in arguments or logs.
    pub(crate) token: Option<String>,
    /// A basic-auth folder (`.git-credentials`, or `username` and `password`), used without a token.
    pub(crate) credentials_dir: Option<PathBuf>,
    pub(crate) results_dir: Option<PathBuf>,
    pub(crate) output_format: OutputFormat,
    /// The commit the tree stands for when its HEAD is an earlier one with the same managed paths.
    pub(crate) revision: Option<String>,
    /// Artifacts to unpack into the tree first (the checkout's, then those laid over it).
    pub(crate) artifacts: Vec<String>,
    /// Where their blobs are kept.
    pub(crate) artifact_store: super::StoreSettings,
    /// The local runner's run (`RHDH_CATALOG_ARTIFACT_RUN`): the tree is kept, with a record.
    pub(crate) restore_run: Option<String>,
}

/// The URL `--remote` stands for: a remote of the tree, else the value itself when it is a URL or
/// a path (git pushes to either).
async fn remote_url(tree: &std::path::Path, remote: &str) -> Result<String, InputError> {
    if crate::io::git::head_commit(tree).is_some()
        && let Ok(url) = crate::io::git::run_in(tree, &["remote", "get-url", remote]).await
    {
        return Ok(url);
    }
    if remote.contains("://") || remote.contains('/') || remote.contains(':') {
        return Ok(remote.to_string());
    }
    Err(InputError::usage(format!("--remote `{remote}` is neither a remote of {} nor a URL", tree.display()))
        .with_hint("give the remote's URL, e.g. --remote https://github.com/org/midstream.git"))
}

/// `--check-push`: whether the remote would accept a push to the branch, nothing written.
async fn check_push(args: &CommitSettings) -> anyhow::Result<ExitStatus> {
    if !args.push {
        tracing::info!("nothing will be pushed (--no-push); no push to check");
        print_check(args, "push check skipped (nothing will be pushed)", "", "");
        return Ok(ExitStatus::Success);
    }
    let branch = match &args.branch {
        Some(branch) => branch.clone(),
        None => crate::io::git::current_branch(&args.tree).ok_or_else(|| {
            InputError::usage(format!("--check-push needs --branch: {} is on no branch", args.tree.display()))
        })?,
    };
    let url = remote_url(&args.tree, &args.remote).await?;
    let shown = strip_credentials(&url);
    let auth = GitAuth::resolve(args.token.as_deref(), args.credentials_dir.as_deref(), &url)?;
    if let Some(within) = args.push_within {
        refuse_short_lived(args, &auth, &url, &branch, within)?;
    }
    tracing::info!(remote = %shown, branch, credentials = %auth.describe(), "checking that the remote accepts a push");
    match crate::io::git::check_push(&url, &branch, &auth).await {
        Ok(()) => {
            print_check(args, "push check passed", &shown, &branch);
            Ok(ExitStatus::Success)
        }
        Err(error @ GitError::Refused { .. }) => {
            let hint = match auth {
                GitAuth::None => "no credentials were given: put a token that may push in the Secret named by the `git-auth-secret` param (key `password`, read as GIT_TOKEN), or bind the git-auth workspace (locally: `--workspace-dir git-auth=DIR` or GIT_TOKEN)".to_string(),
                ref given => format!(
                    "the remote refused {}: give credentials that may push to `{branch}` (a token in the Secret named by the `git-auth-secret` param, key `password`, or the git-auth workspace)",
                    given.describe()
                ),
            };
            Err(InputError::usage(format!("the push check failed: {error}; nothing was written"))
                .with_hint(hint)
                .into())
        }
        Err(error) => Err(error.into()),
    }
}

/// `--push-within`: the credentials that would push must be able to outlive the run. Only the
/// form of the secret is read (`domain/push_token.rs`); it is never shown.
fn refuse_short_lived(
    args: &CommitSettings,
    auth: &GitAuth,
    url: &str,
    branch: &str,
    within: std::time::Duration,
) -> Result<(), InputError> {
    let Some(secret) = auth.secret_for(url) else { return Ok(()) };
    let Some(bound) = crate::domain::push_token::expires_too_soon(&secret, within) else { return Ok(()) };
    let show = crate::domain::push_token::show_duration;
    let secret_name = &args.push_secret;
    let source = match auth {
        GitAuth::Token(_) => format!("the token in GIT_TOKEN (the `password` of the Secret `{secret_name}`)"),
        other => other.describe(),
    };
    Err(InputError::usage(format!(
        "the push check failed: {source} for {} is {}, which expires at most {} after it is issued, and this run may push to `{branch}` up to {} after this check; nothing was written",
        strip_credentials(url),
        bound.kind,
        show(bound.longest),
        show(within),
    ))
    .with_hint(format!(
        "create the Secret `{secret_name}` with a token that may push to `{branch}` and lasts longer than {} (a fine-grained personal access token or a bot's token) under the key `password`: kubectl create secret generic {secret_name} --from-literal=password=<token> (locally: GIT_TOKEN=<token>)",
        show(within)
    )))
}

fn print_check(args: &CommitSettings, what: &str, remote: &str, branch: &str) {
    match args.output_format {
        OutputFormat::Text if remote.is_empty() => println!("{what}"),
        OutputFormat::Text => println!("{what}: {remote} {branch}"),
        OutputFormat::Json => println!("{}", serde_json::json!({"outcome": what, "remote": remote, "branch": branch})),
    }
}

pub(crate) async fn run(args: CommitSettings) -> anyhow::Result<ExitStatus> {
    crate::io::fs::add_content_tree(&args.tree);
    if args.check_push {
        return check_push(&args).await;
    }
    let tree = &args.tree;
    let local = |problem: String| InfrastructureError { service: format!("git in {}", tree.display()), problem };
    if !args.artifacts.is_empty() && restore_unless_unchanged(&args).await? {
        let head = crate::io::git::head_commit(tree).unwrap_or_default();
        let stands_for = args.revision.clone().unwrap_or(head);
        let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
        results.write(RESULT_COMMIT, &stands_for)?;
        results.write(RESULT_PUSHED, "unchanged")?;
        print(&args, "nothing to commit", &stands_for, false);
        return Ok(ExitStatus::Success);
    }
    if crate::io::git::head_commit(tree).is_none() {
        return Err(InputError::in_file(tree, "is not a git work tree with a commit")
            .with_hint("run commit in the midstream checkout")
            .into());
    }
    // Inside another repository's work tree, git would stage, commit and push in that one.
    if !crate::io::git::is_work_tree_top(tree) {
        return Err(InputError::in_file(
            tree,
            "is not the top of a git work tree (it lies inside another repository); nothing was committed",
        )
        .with_hint("give --tree the midstream checkout itself, the folder that holds its .git")
        .into());
    }
    let paths = managed_paths(&args)?;
    let existing: Vec<&str> = paths
        .iter()
        .map(String::as_str)
        .filter(|path| tree.join(path).exists() || crate::io::git::is_tracked(tree, path))
        .collect();
    // The credentials are read (and a bad folder refused) before anything is committed.
    let auth = if args.push {
        let url = remote_url(tree, &args.remote).await?;
        GitAuth::resolve(args.token.as_deref(), args.credentials_dir.as_deref(), &url)?
    } else {
        GitAuth::None
    };
    let environment = auth.environment();
    let git = |arguments: Vec<&str>| {
        let environment = environment.clone();
        let arguments: Vec<String> = arguments.into_iter().map(str::to_string).collect();
        async move {
            let borrowed: Vec<&str> = arguments.iter().map(String::as_str).collect();
            run_with_env(tree, &borrowed, "", &environment).await
        }
    };
    let mut add = vec!["add", "--all", "--"];
    add.extend(existing.iter().copied());
    if !existing.is_empty() {
        git(add.clone()).await.map_err(local)?;
    }
    let mut changes = git(vec!["diff", "--cached", "--name-status", "--no-renames"]).await.map_err(local)?;
    let head = crate::io::git::head_commit(tree).unwrap_or_default();
    // The tree is an earlier commit's checkout with the managed paths of `revision`: nothing to
    // commit holds for `revision` too, and a commit is made on it (fetched, the index reset to it;
    // the paths staged again).
    let stands_for = args.revision.clone().unwrap_or_else(|| head.clone());
    if !changes.trim().is_empty() && stands_for != head {
        let branch = args.branch.clone().or_else(|| crate::io::git::current_branch(tree)).unwrap_or_default();
        let url = remote_url(tree, &args.remote).await.unwrap_or_default();
        let fetched = run_with_env(
            tree,
            &["fetch", "--quiet", &args.remote, &format!("refs/heads/{branch}")],
            &url,
            &environment,
        )
        .await;
        let at = git(vec!["rev-parse", "FETCH_HEAD"]).await.unwrap_or_default();
        if fetched.is_ok() && at == stands_for {
            git(vec!["reset", "--quiet", &stands_for]).await.map_err(local)?;
            if !existing.is_empty() {
                git(add).await.map_err(local)?;
            }
            changes = git(vec!["diff", "--cached", "--name-status", "--no-renames"]).await.map_err(local)?;
        } else {
            tracing::warn!(revision = %stands_for, %head, "the revision is not the remote branch's head; committing on the tree's HEAD");
        }
    }
    let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
    if changes.trim().is_empty() {
        let head = stands_for;
        results.write(RESULT_COMMIT, &head)?;
        results.write(RESULT_PUSHED, "unchanged")?;
        print(&args, "nothing to commit", &head, false);
        return Ok(ExitStatus::Success);
    }
    let message = commit_message(&args.title, &changes);
    let author_env = vec![
        ("GIT_AUTHOR_NAME".to_string(), args.author_name.clone()),
        ("GIT_AUTHOR_EMAIL".to_string(), args.author_email.clone()),
        ("GIT_COMMITTER_NAME".to_string(), args.author_name.clone()),
        ("GIT_COMMITTER_EMAIL".to_string(), args.author_email.clone()),
    ];
    run_with_env(tree, &["commit", "--quiet", "--no-verify", "-m", &message], "", &author_env).await.map_err(local)?;
    crate::io::observed::note(&crate::io::observed::Observed::Unrepeatable("a commit was made".into()));
    let branch = match &args.branch {
        Some(branch) => branch.clone(),
        None => git(vec!["rev-parse", "--abbrev-ref", "HEAD"]).await.map_err(local)?,
    };
    if !args.push {
        let head = crate::io::git::head_commit(tree).unwrap_or_default();
        results.write(RESULT_COMMIT, &head)?;
        results.write(RESULT_PUSHED, "false")?;
        print(&args, "committed (not pushed)", &head, false);
        return Ok(ExitStatus::Success);
    }
    let remote_url = remote_url(tree, &args.remote).await?;
    let shown_remote = strip_credentials(&remote_url);
    tracing::info!(remote = %shown_remote, branch, credentials = %auth.describe(), "pushing");
    let refspec = format!("HEAD:refs/heads/{branch}");
    let remote_failure =
        |problem: String| InfrastructureError { service: format!("git remote {shown_remote}"), problem };
    for attempt in 1..=args.attempts {
        match run_with_env(tree, &["push", "--quiet", &args.remote, &refspec], &remote_url, &environment).await {
            Ok(_) => {
                let head = crate::io::git::head_commit(tree).unwrap_or_default();
                results.write(RESULT_COMMIT, &head)?;
                results.write(RESULT_PUSHED, "true")?;
                print(&args, "committed and pushed", &head, true);
                return Ok(ExitStatus::Success);
            }
            Err(problem) if is_rejection(&problem) && attempt < args.attempts => {
                tracing::warn!(attempt, remote = %shown_remote, "the remote moved; rebasing and pushing again");
                run_with_env(tree, &["fetch", "--quiet", &args.remote, &branch], &remote_url, &environment)
                    .await
                    .map_err(remote_failure)?;
                if let Err(problem) = run_with_env(tree, &["rebase", "--quiet", "FETCH_HEAD"], "", &author_env).await {
                    let _ = git(vec!["rebase", "--abort"]).await;
                    let detail = problem
                        .lines()
                        .find(|line| line.contains("CONFLICT"))
                        .map_or_else(|| problem.clone(), str::to_string);
                    let what = if problem.contains("CONFLICT") {
                        "our commit conflicts with the remote's new commits; run the sync again on the new head"
                    } else {
                        "rebasing on the remote's new commits failed"
                    };
                    return Err(remote_failure(format!("{what} ({detail})")).into());
                }
            }
            Err(problem) => {
                return Err(remote_failure(format!("push failed after {attempt} attempt(s): {problem}")).into());
            }
        }
    }
    Err(remote_failure("push attempts exhausted".into()).into())
}

/// `--artifacts`: the checkout's `.git` unpacked first; then, when git's object ids show that
/// laying the other artifacts over HEAD would change no managed path, nothing else (returns true:
/// nothing to commit, decided from the digests committed with HEAD instead of from tens of
/// thousands of unpacked files and `git add`); else every artifact unpacked exactly (false).
async fn restore_unless_unchanged(args: &CommitSettings) -> anyhow::Result<bool> {
    use crate::io::registry::trusted_artifact::{RestoreOptions, fetch_blobs, unpack_fetched};
    let tree = &args.tree;
    let store = args.artifact_store.open()?;
    let blobs = fetch_blobs(&store, &args.artifacts).await?;
    let borrowed: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    crate::io::archive::unpack_all(&borrowed[..1], tree, &[".git".to_string()], crate::io::archive::Existing::Merge)
        .with_context(|| format!("unpacking the checkout's .git into {}", tree.display()))?;
    match unchanged_at_head(args, &borrowed[1..]).await {
        Ok(None) => {
            tracing::info!(
                artifacts = args.artifacts.len(),
                "git's object ids: the artifacts change no managed path of HEAD; nothing unpacked"
            );
            return Ok(true);
        }
        Ok(Some(why)) => tracing::info!(why, "the artifacts change the managed paths; unpacking them"),
        Err(error) => {
            tracing::info!(error = %format!("{error:#}"), "cannot tell from git's object ids; unpacking the artifacts");
        }
    }
    let options = RestoreOptions { exact: true, run: args.restore_run.clone(), ..RestoreOptions::default() };
    let unpacked = unpack_fetched(&borrowed, tree, &options)
        .with_context(|| format!("unpacking {} into {}", args.artifacts.join(" "), tree.display()))?;
    tracing::info!(uri = %args.artifacts.join(" "), destination = %tree.display(), files = unpacked.files, bytes = unpacked.bytes, written = unpacked.written, removed = unpacked.removed, "artifact restored");
    Ok(false)
}

/// `None` when `laid_over` (the artifacts after the checkout) hold, at every managed path of HEAD,
/// exactly what HEAD holds (same git mode and blob id; under a folder they mark whole, nothing
/// more); else what differs.
async fn unchanged_at_head(args: &CommitSettings, laid_over: &[&[u8]]) -> anyhow::Result<Option<String>> {
    let tree = &args.tree;
    let paths: Vec<String> = if args.paths.is_empty() {
        let text =
            crate::io::git::committed_text(tree, "HEAD", "upstream_repos.yml").await.map_err(anyhow::Error::msg)?;
        let repos = match text {
            Some(text) => {
                crate::formats::upstream_repos::UpstreamRepos::parse(std::path::Path::new("upstream_repos.yml"), &text)?
                    .repos
            }
            None => Vec::new(),
        };
        crate::domain::midstream::managed_paths(repos.iter().map(|repo| repo.destination.as_str()))
    } else {
        args.paths.iter().map(|path| path.as_str().to_string()).collect()
    };
    let head = crate::io::git::tree_blobs(tree, "HEAD", &paths).await.map_err(anyhow::Error::msg)?;
    // The last artifact first: what it holds is final, so a change there (the index of a run that
    // changed it) is found without reading the others.
    let mut settled: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut whole_after: Vec<String> = Vec::new();
    let inside = |folder: &str, path: &str| path.strip_prefix(folder).is_some_and(|rest| rest.starts_with('/'));
    for blob in laid_over.iter().rev() {
        let (entries, whole) = crate::io::archive::git_view(&[blob], &paths)?;
        for entry in entries {
            if settled.contains(&entry.path) || whole_after.iter().any(|folder| inside(folder, &entry.path)) {
                continue;
            }
            match head.get(&entry.path) {
                Some((mode, id)) if mode == entry.mode && *id == entry.id => {}
                Some(_) => return Ok(Some(format!("{} differs", entry.path))),
                None => return Ok(Some(format!("{} is new", entry.path))),
            }
            settled.insert(entry.path);
        }
        whole_after.extend(whole);
    }
    for folder in &whole_after {
        if let Some(gone) = head.keys().find(|path| inside(folder, path) && !settled.contains(path.as_str())) {
            return Ok(Some(format!("{gone} goes (its folder {folder} is replaced whole)")));
        }
    }
    Ok(None)
}

fn print(args: &CommitSettings, what: &str, commit: &str, pushed: bool) {
    match args.output_format {
        OutputFormat::Text => println!("{what}: {commit}"),
        OutputFormat::Json => println!("{}", serde_json::json!({"commit": commit, "pushed": pushed, "outcome": what})),
    }
}

fn is_rejection(problem: &str) -> bool {
    ["rejected", "fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref"]
        .iter()
        .any(|needle| problem.contains(needle))
}

fn managed_paths(args: &CommitSettings) -> Result<Vec<String>, InputError> {
    if !args.paths.is_empty() {
        return Ok(args.paths.iter().map(|path| path.as_str().to_string()).collect());
    }
    let upstream = args.tree.join("upstream_repos.yml");
    let repos = if upstream.exists() {
        crate::io::fs::read_foreign(&upstream, crate::formats::upstream_repos::UpstreamRepos::parse)?.repos
    } else {
        Vec::new()
    };
    Ok(crate::domain::midstream::managed_paths(repos.iter().map(|repo| repo.destination.as_str())))
}

/// `title`, a blank line, then one line per top-level path (workspaces by name), sorted.
pub(crate) fn commit_message(title: &str, name_status: &str) -> String {
    let mut groups: BTreeMap<String, (usize, std::collections::BTreeSet<String>)> = BTreeMap::new();
    let mut total = 0;
    for line in name_status.lines() {
        let Some((_, path)) = line.split_once('\t') else { continue };
        total += 1;
        let mut components = path.split('/');
        let top = components.next().unwrap_or(path).to_string();
        let entry = groups.entry(top.clone()).or_default();
        entry.0 += 1;
        if top == "workspaces"
            && let Some(workspace) = components.next()
        {
            entry.1.insert(workspace.to_string());
        }
    }
    let mut message = format!("{title}\n\n{total} file(s) changed:\n");
    for (top, (count, workspaces)) in &groups {
        if workspaces.is_empty() {
            let _ = writeln!(message, "- {top}: {count} file(s)");
        } else {
            let names: Vec<&str> = workspaces.iter().map(String::as_str).collect();
            let _ = writeln!(message, "- {top}: {count} file(s) in {} workspace(s): {}", names.len(), names.join(", "));
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_summarises_by_path() {
        let changes = "M\tworkspaces/argocd/package.json\nA\tworkspaces/tekton/x\nM\tcatalog-index/index.json\nD\tplugin_builds/a/b.json\n";
        assert_eq!(
            commit_message("Sync", changes),
            "Sync\n\n4 file(s) changed:\n- catalog-index: 1 file(s)\n- plugin_builds: 1 file(s)\n- workspaces: 2 file(s) in 2 workspace(s): argocd, tekton\n"
        );
    }
}
