//! git edge: every git command the tool runs goes through here. No prompts, no pager, the
//! caller's `GIT_DIR` ignored, hooks off (`core.hooksPath` at an empty folder: content the tool
//! copies into a tree never runs), and URLs with credentials never reach a message.

use std::path::Path;
use std::process::Command;

/// Failures of git; a missing ref is bad input (exit 2), anything else may pass on a retry (exit 3).
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error("{url} has no branch, tag or commit `{reference}`")]
    RefNotFound { url: String, reference: String },
    #[error("git remote {url} failed: {problem}")]
    Remote { url: String, problem: String },
    #[error("git in {dir}: {problem}")]
    Local { dir: String, problem: String },
}

impl GitError {
    pub(crate) fn is_bad_input(&self) -> bool {
        matches!(self, GitError::RefNotFound { .. })
    }
}

/// An empty folder for `core.hooksPath`, made once per process: no hook of any repository runs.
fn empty_hooks_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("rhdh-catalog-no-hooks-")
            .tempdir()
            .map_or_else(|_| std::path::PathBuf::from("/dev/null"), tempfile::TempDir::keep)
    })
}

/// The arguments every git invocation starts with.
fn hygiene_args() -> [std::ffi::OsString; 2] {
    let mut hooks = std::ffi::OsString::from("core.hooksPath=");
    hooks.push(empty_hooks_dir());
    ["-c".into(), hooks]
}

fn command(dir: Option<&Path>) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("git");
    command.args(hygiene_args());
    if let Some(dir) = dir {
        command.arg("-C").arg(dir);
    }
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .kill_on_drop(true);
    command
}

/// Runs git in `dir` with `extra_env`; returns stdout, or stderr on failure (credentials of
/// `url` masked).
pub(crate) async fn run_with_env(
    dir: &Path,
    args: &[&str],
    url: &str,
    extra_env: &[(String, String)],
) -> Result<String, String> {
    let mut command = command(Some(dir));
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = command.args(args).output().await.map_err(|error| format!("cannot run git: {error}"))?;
    let mask = |text: &str| text.replace(url, &strip_credentials(url)).trim().to_string();
    if output.status.success() {
        Ok(mask(&String::from_utf8_lossy(&output.stdout)))
    } else {
        Err(mask(&format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))))
    }
}

/// Environment that makes git send `token` to https remotes without it appearing in arguments
/// or URLs (`GIT_CONFIG_*` entries for `http.extraHeader`).
pub(crate) fn token_environment(token: &str) -> Vec<(String, String)> {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    vec![
        ("GIT_CONFIG_COUNT".into(), "1".into()),
        ("GIT_CONFIG_KEY_0".into(), "http.extraHeader".into()),
        ("GIT_CONFIG_VALUE_0".into(), format!("Authorization: Basic {basic}")),
    ]
}

/// Runs git; on failure returns its stderr with `url`'s credentials masked.
async fn run(dir: Option<&Path>, args: &[&str], url: &str) -> Result<String, String> {
    let output = command(dir).args(args).output().await.map_err(|error| format!("cannot run git: {error}"))?;
    let mask = |text: &str| text.replace(url, &strip_credentials(url)).trim().to_string();
    if output.status.success() {
        Ok(mask(&String::from_utf8_lossy(&output.stdout)))
    } else {
        Err(mask(&String::from_utf8_lossy(&output.stderr)))
    }
}

fn classify(url: &str, reference: &str, problem: String) -> GitError {
    let lower = problem.to_lowercase();
    let missing =
        ["couldn't find remote ref", "not our ref", "remote branch", "not found in upstream", "invalid refspec"];
    if missing.iter().any(|needle| lower.contains(needle)) {
        GitError::RefNotFound { url: strip_credentials(url), reference: reference.to_string() }
    } else {
        GitError::Remote { url: strip_credentials(url), problem }
    }
}

/// Clones the tip of `branch` (or tag) with depth 1 into `dest`; returns the commit.
pub(crate) async fn shallow_clone(url: &str, branch: &str, dest: &Path) -> Result<String, GitError> {
    let dest_text = dest.to_string_lossy();
    run(
        None,
        &["clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags", "--branch", branch, url, &dest_text],
        url,
    )
    .await
    .map_err(|problem| classify(url, branch, problem))?;
    head(dest).await
}

/// Fetches exactly `reference` (tag, branch or commit SHA) with depth 1, blobs filtered and the
/// work tree restricted to `sparse_paths` (cone mode; empty means the whole tree); returns the commit.
pub(crate) async fn sparse_checkout(
    url: &str,
    reference: &str,
    dest: &Path,
    sparse_paths: &[String],
) -> Result<String, GitError> {
    let local = |problem: String| GitError::Local { dir: dest.display().to_string(), problem };
    fs_err::create_dir_all(dest).map_err(|error| local(error.to_string()))?;
    run(Some(dest), &["init", "--quiet"], url).await.map_err(local)?;
    run(Some(dest), &["remote", "add", "origin", url], url).await.map_err(local)?;
    if !sparse_paths.is_empty() {
        let mut args = vec!["sparse-checkout", "set", "--cone"];
        args.extend(sparse_paths.iter().map(String::as_str));
        run(Some(dest), &args, url).await.map_err(local)?;
    }
    run(Some(dest), &["fetch", "--quiet", "--depth", "1", "--filter=blob:none", "--no-tags", "origin", reference], url)
        .await
        .map_err(|problem| classify(url, reference, problem))?;
    run(Some(dest), &["-c", "advice.detachedHead=false", "checkout", "--quiet", "FETCH_HEAD"], url)
        .await
        .map_err(|problem| classify(url, reference, problem))?;
    head(dest).await
}

async fn head(dir: &Path) -> Result<String, GitError> {
    run(Some(dir), &["rev-parse", "HEAD"], "")
        .await
        .map_err(|problem| GitError::Local { dir: dir.display().to_string(), problem })
}

/// Runs git in `dir` and returns its trimmed stdout; `Err` carries its stderr.
pub(crate) async fn run_in(dir: &Path, args: &[&str]) -> Result<String, String> {
    run(Some(dir), args, "").await
}

/// A full clone of `url` into `dest` (the local runner's stand-in for Konflux's git-clone task).
pub(crate) async fn clone(url: &str, dest: &Path) -> Result<(), GitError> {
    let dest_text = dest.to_string_lossy();
    run(None, &["clone", "--quiet", url, &dest_text], url)
        .await
        .map(|_| ())
        .map_err(|problem| classify(url, "HEAD", problem))
}

fn blocking(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(hygiene_args())
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|text| !text.is_empty())
}

/// The commit checked out in `dir`, when it is inside a git work tree.
pub(crate) fn head_commit(dir: &Path) -> Option<String> {
    blocking(dir, &["rev-parse", "--verify", "HEAD"])
}

/// The branch checked out in `dir` (`None` on a detached HEAD).
pub(crate) fn current_branch(dir: &Path) -> Option<String> {
    blocking(dir, &["symbolic-ref", "--short", "HEAD"])
}

/// Whether `path` (relative to the work tree `dir`) is tracked.
pub(crate) fn is_tracked(dir: &Path, path: &str) -> bool {
    blocking(dir, &["ls-files", "--error-unmatch", "--", path]).is_some()
}

/// Whether `dir` is the top folder of a git work tree (not merely inside one).
pub(crate) fn is_work_tree_top(dir: &Path) -> bool {
    let Some(top) = blocking(dir, &["rev-parse", "--show-toplevel"]) else { return false };
    std::fs::canonicalize(top).ok() == std::fs::canonicalize(dir).ok()
}

/// The URL of the `origin` remote with any user info removed.
pub(crate) fn origin_url(dir: &Path) -> Option<String> {
    blocking(dir, &["remote", "get-url", "origin"]).map(|url| strip_credentials(&url))
}

/// Whether content may name `url` as a repository to clone: `https://` always; `file://` and
/// `git://` (local fixtures, mirrors) only when the run allows them (`--allow-local-repos`), so an
/// overlay pull request cannot make a pipeline that holds push credentials read local repositories.
pub(crate) fn remote_allowed(url: &str, allow_local: bool) -> bool {
    url.starts_with("https://") || (allow_local && (url.starts_with("file://") || url.starts_with("git://")))
}

/// The message for a refused remote, by the file that named it.
pub(crate) fn refused_remote(file: &Path, url: &str) -> crate::error::InputError {
    crate::error::InputError::in_file(
        file,
        format!("names the repository `{}`, which is not an https:// URL", strip_credentials(url)),
    )
    .with_hint("local and git:// repositories are refused unless the run passes `--allow-local-repos`")
}

/// `https://user:token@host/path` → `https://host/path`: credentials never reach outputs.
pub(crate) fn strip_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(authority, path)| (authority, path));
            let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            if path.is_empty() { format!("{scheme}://{host}") } else { format!("{scheme}://{host}/{path}") }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped() {
        assert_eq!(strip_credentials("https://x:tok@github.com/a/b.git"), "https://github.com/a/b.git");
        assert_eq!(strip_credentials("https://github.com/a/b"), "https://github.com/a/b");
    }

    #[test]
    fn missing_refs_are_bad_input() {
        let error = classify("https://u:p@h/x", "v9", "fatal: couldn't find remote ref v9".into());
        assert!(error.is_bad_input());
        assert!(!error.to_string().contains("u:p"));
        let error = classify("https://h/x", "v9", "fatal: unable to access: Could not resolve host".into());
        assert!(!error.is_bad_input());
    }
}
