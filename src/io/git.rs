//! git edge: every git command the tool runs goes through here. No prompts, no pager, the
//! caller's `GIT_DIR` ignored, hooks off (`core.hooksPath` at an empty folder: content the tool
//! copies into a tree never runs), and URLs with credentials never reach a message.
//!
//! Credentials ([`GitAuth`]) reach git through its environment only: a token as an
//! `http.extraHeader`, or a private copy of a basic-auth folder's credentials (the layout of
//! Konflux's `git-clone-oci-ta` `basic-auth` workspace: `.git-credentials`, or `username` and
//! `password`) read by git's own `store` helper. With an extra CA bundle (`RHDH_CATALOG_EXTRA_CA`)
//! git gets `GIT_SSL_CAINFO`: one file with the system roots and the extra certificates, since
//! git takes a single CA file.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::InputError;

/// Failures of git; a missing ref or refused credentials are bad input (exit 2), anything else
/// may pass on a retry (exit 3).
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error("{url} has no branch, tag or commit `{reference}`")]
    RefNotFound { url: String, reference: String },
    #[error("git remote {url} failed: {problem}")]
    Remote { url: String, problem: String },
    #[error("git in {dir}: {problem}")]
    Local { dir: String, problem: String },
    /// The remote asked for credentials that were not given, or refused the ones given (a retry
    /// will not help).
    #[error("git remote {url} refused the push: {problem}")]
    Refused { url: String, problem: String },
}

impl GitError {
    pub(crate) fn is_bad_input(&self) -> bool {
        matches!(self, GitError::RefNotFound { .. } | GitError::Refused { .. })
    }
}

/// Credentials for git remotes, given to git through its environment only. `Debug` shows where
/// they come from, never them.
pub(crate) enum GitAuth {
    None,
    /// A token (`GIT_TOKEN`), sent to https remotes as an `Authorization` header.
    Token(String),
    /// A private copy (mode 0600, removed on drop) of the credentials of a basic-auth folder,
    /// read by git's `store` helper.
    Store {
        file: tempfile::TempPath,
        source: PathBuf,
    },
}

impl GitAuth {
    /// The credentials of a basic-auth folder in the layout of Konflux's `git-clone-oci-ta`
    /// `basic-auth` workspace: `.git-credentials` (one `https://user:password@host[/path]` line per
    /// remote, what Pipelines-as-Code writes), else `username` and `password` files, which are
    /// used for the host of `url`. The folder's `.gitconfig` is not read: the `store` helper it
    /// would name is configured here.
    pub(crate) fn from_basic_auth_dir(dir: &Path, url: &str) -> Result<GitAuth, InputError> {
        let hint = "bind a Secret with `.git-credentials`, or `username` and `password` (the git-clone-oci-ta basic-auth layout)";
        if !dir.is_dir() {
            return Err(InputError::in_file(dir, "is not a folder of git credentials").with_hint(hint));
        }
        let credentials = dir.join(".git-credentials");
        let (username, password) = (dir.join("username"), dir.join("password"));
        let lines = if credentials.is_file() {
            let text = crate::io::fs::read_text(&credentials)?;
            if text.trim().is_empty() {
                return Err(InputError::in_file(&credentials, "is empty").with_hint(hint));
            }
            text
        } else if username.is_file() && password.is_file() {
            let (user, secret) = (crate::io::fs::read_text(&username)?, crate::io::fs::read_text(&password)?);
            let Some((scheme, host)) = http_origin(url) else {
                tracing::warn!(remote = %strip_credentials(url), "username and password apply to http(s) remotes only; not used");
                return Ok(GitAuth::None);
            };
            format!(
                "{scheme}://{}:{}@{host}\n",
                percent_encode(user.trim_end_matches(['\r', '\n'])),
                percent_encode(secret.trim_end_matches(['\r', '\n']))
            )
        } else {
            return Err(InputError::in_file(dir, "holds neither `.git-credentials` nor `username` and `password`")
                .with_hint(hint));
        };
        let copy = || -> std::io::Result<tempfile::TempPath> {
            use std::io::Write as _;
            let mut file = tempfile::Builder::new().prefix("rhdh-catalog-credentials-").tempfile()?;
            file.write_all(lines.as_bytes())?;
            file.flush()?;
            Ok(file.into_temp_path())
        };
        let file = copy().map_err(|error| {
            InputError::usage(format!("cannot copy the git credentials of {}: {error}", dir.display()))
        })?;
        Ok(GitAuth::Store { file, source: dir.to_path_buf() })
    }

    /// `GIT_TOKEN` when it is set (an explicit push token), else the basic-auth folder, else none.
    pub(crate) fn resolve(
        token: Option<&str>,
        basic_auth_dir: Option<&Path>,
        url: &str,
    ) -> Result<GitAuth, InputError> {
        match (token.filter(|token| !token.is_empty()), basic_auth_dir) {
            (Some(token), _) => Ok(GitAuth::Token(token.to_string())),
            (None, Some(dir)) => GitAuth::from_basic_auth_dir(dir, url),
            (None, None) => Ok(GitAuth::None),
        }
    }

    /// Environment that gives git these credentials (nothing in arguments or URLs).
    pub(crate) fn environment(&self) -> Vec<(String, String)> {
        match self {
            GitAuth::None => Vec::new(),
            GitAuth::Token(token) => token_environment(token),
            GitAuth::Store { file, .. } => vec![
                ("GIT_CONFIG_COUNT".into(), "2".into()),
                // An empty value first: helpers of the user's own configuration are not asked.
                ("GIT_CONFIG_KEY_0".into(), "credential.helper".into()),
                ("GIT_CONFIG_VALUE_0".into(), String::new()),
                ("GIT_CONFIG_KEY_1".into(), "credential.helper".into()),
                ("GIT_CONFIG_VALUE_1".into(), format!("store --file={}", shell_quote(&file.to_string_lossy()))),
            ],
        }
    }

    /// The secret git would send to `url` with these credentials (the token, or the password of
    /// the first `.git-credentials` line for the remote's scheme and host, as git's `store` helper
    /// picks it), for checks of its form; never logged.
    pub(crate) fn secret_for(&self, url: &str) -> Option<String> {
        match self {
            GitAuth::None => None,
            GitAuth::Token(token) => Some(token.clone()),
            GitAuth::Store { file, .. } => {
                let (scheme, host) = http_origin(url)?;
                let text = crate::io::fs::read_text(file).ok()?;
                text.lines().find_map(|line| {
                    let (line_scheme, rest) = line.trim().split_once("://")?;
                    let authority = rest.split('/').next()?;
                    let (user_information, line_host) = authority.rsplit_once('@')?;
                    let (_, password) = user_information.split_once(':')?;
                    (line_scheme == scheme && line_host == host).then(|| percent_decode(password))
                })
            }
        }
    }

    /// Where the credentials come from, for logs and messages (never the credentials).
    pub(crate) fn describe(&self) -> String {
        match self {
            GitAuth::None => "no credentials".into(),
            GitAuth::Token(_) => "the token in GIT_TOKEN".into(),
            GitAuth::Store { source, .. } => format!("the credentials in {}", source.display()),
        }
    }
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.describe())
    }
}

/// `(scheme, host[:port])` of an http(s) URL.
fn http_origin(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    (!host.is_empty()).then_some((scheme, host))
}

/// The inverse of [`percent_encode`] (and of Go's `url.QueryEscape`, which Pipelines-as-Code uses
/// for the token of its `.git-credentials`): `%XX` decoded, `+` a space; malformed escapes kept.
fn percent_decode(text: &str) -> String {
    let hex = |byte: u8| char::from(byte).to_digit(16).and_then(|value| u8::try_from(value).ok());
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| Some(hex(*bytes.get(index + 1)?)? * 16 + hex(*bytes.get(index + 2)?)?))
            .flatten();
        match (escaped, bytes[index]) {
            (Some(byte), _) => {
                out.push(byte);
                index += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                index += 1;
            }
            (None, byte) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encoding of everything but unreserved characters (user information of a URL).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// `text` as one word of a POSIX shell (git runs credential helpers through the shell).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// A private folder for `core.hooksPath`, made once per process and holding no hook: no hook of
/// any repository runs.
fn empty_hooks_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("rhdh-catalog-no-hooks-")
            .tempdir()
            .map_or_else(|_| std::path::PathBuf::from("/dev/null"), tempfile::TempDir::keep)
    })
}

/// `GIT_SSL_CAINFO` when there are extra CA certificates: a file, made once per process, with
/// the CA file git would otherwise use (`GIT_SSL_CAINFO` of the environment, else the system
/// bundle) followed by the extra certificates. `None` without extra certificates (git keeps its
/// own defaults) or when the file cannot be written (git then trusts the system roots only).
fn ca_bundle() -> Option<&'static Path> {
    static BUNDLE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUNDLE
        .get_or_init(|| {
            let extra = crate::io::registry::client::extra_ca().ok().flatten()?;
            let inherited = std::env::var_os("GIT_SSL_CAINFO").filter(|value| !value.is_empty()).and_then(|path| {
                let path = PathBuf::from(path);
                crate::io::fs::read_bounded(&path, crate::io::registry::client::MAX_CA_BUNDLE_BYTES)
                    .ok()
                    .map(|bytes| (path, bytes))
            });
            let mut bundle = if let Some((path, bytes)) =
                inherited.or_else(crate::io::registry::client::system_roots_pem)
            {
                tracing::debug!(system = %path.display(), "git trusts the system roots and the extra CA certificates");
                bytes
            } else {
                tracing::warn!("no system CA bundle found; git trusts only the extra CA certificates");
                Vec::new()
            };
            if !bundle.is_empty() && !bundle.ends_with(b"\n") {
                bundle.push(b'\n');
            }
            bundle.extend_from_slice(extra.pem.as_bytes());
            // In the process's private hooks folder: git runs only files named after hooks.
            let path = empty_hooks_dir().join("ca-bundle.pem");
            std::fs::write(&path, &bundle).ok()?;
            Some(path)
        })
        .as_deref()
}

/// A transfer slower than this many bytes a second for [`STALLED_SECONDS`] is a stalled remote:
/// git gives up on it instead of waiting for ever (git has no time limit of its own, and a remote
/// that an overlay names may answer one byte a minute).
const STALLED_BYTES_PER_SECOND: u32 = 1000;
const STALLED_SECONDS: u32 = 30;

/// The arguments every git invocation starts with: no hooks, and no transfer that stalls.
fn hygiene_args() -> [std::ffi::OsString; 6] {
    let mut hooks = std::ffi::OsString::from("core.hooksPath=");
    hooks.push(empty_hooks_dir());
    [
        "-c".into(),
        hooks,
        "-c".into(),
        format!("http.lowSpeedLimit={STALLED_BYTES_PER_SECOND}").into(),
        "-c".into(),
        format!("http.lowSpeedTime={STALLED_SECONDS}").into(),
    ]
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
    if let Some(bundle) = ca_bundle() {
        command.env("GIT_SSL_CAINFO", bundle);
    }
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

/// The first of `candidates` that `url` has, with the commit it points at, as `git clone
/// --branch` would pick it (a branch, else a tag of that name, an annotated tag peeled to its
/// commit): one `git ls-remote` round trip, nothing downloaded. `None` when the remote has none of
/// them. `auth` as for [`clone`].
pub(crate) async fn remote_head(
    url: &str,
    candidates: &[String],
    auth: &GitAuth,
) -> Result<Option<(String, String)>, GitError> {
    let mut args = vec!["ls-remote".to_string(), url.to_string()];
    for candidate in candidates {
        args.extend([
            format!("refs/heads/{candidate}"),
            format!("refs/tags/{candidate}"),
            format!("refs/tags/{candidate}^{{}}"),
        ]);
    }
    let borrowed: Vec<&str> = args.iter().map(String::as_str).collect();
    let listing = run_with_env(&std::env::temp_dir(), &borrowed, url, &auth.environment())
        .await
        .map_err(|problem| GitError::Remote { url: strip_credentials(url), problem })?;
    let refs: std::collections::BTreeMap<&str, &str> =
        listing.lines().filter_map(|line| line.split_once('\t')).map(|(commit, name)| (name.trim(), commit)).collect();
    Ok(candidates.iter().find_map(|candidate| {
        let branch = format!("refs/heads/{candidate}");
        let peeled = format!("refs/tags/{candidate}^{{}}");
        let tag = format!("refs/tags/{candidate}");
        [branch, peeled, tag]
            .iter()
            .find_map(|name| refs.get(name.as_str()))
            .map(|commit| (candidate.clone(), (*commit).to_string()))
    }))
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

/// The text of the file `path` at the tip of `reference` (a branch or tag) of `url`, with that
/// commit: a depth-1, blob-less fetch into a scratch repository, then only that file's blob, at
/// most `max_bytes` of it. `Ok(None)` when the commit holds no such file. A file that is not UTF-8
/// or is larger is a [`GitError::Local`] naming it (never quoted).
pub(crate) async fn file_at(
    url: &str,
    reference: &str,
    path: &str,
    max_bytes: u64,
) -> Result<Option<(String, String)>, GitError> {
    let scratch = tempfile::tempdir().map_err(|error| GitError::Local {
        dir: std::env::temp_dir().display().to_string(),
        problem: error.to_string(),
    })?;
    let dir = scratch.path();
    let local =
        |problem: String| GitError::Local { dir: format!("{}:{reference}:{path}", strip_credentials(url)), problem };
    run(Some(dir), &["init", "--quiet"], url).await.map_err(local)?;
    run(Some(dir), &["remote", "add", "origin", url], url).await.map_err(local)?;
    run(Some(dir), &["fetch", "--quiet", "--depth", "1", "--filter=blob:none", "--no-tags", "origin", reference], url)
        .await
        .map_err(|problem| classify(url, reference, problem))?;
    let commit = run(Some(dir), &["rev-parse", "FETCH_HEAD"], url).await.map_err(local)?;
    let object = format!("{commit}:{path}");
    let Ok(size) = run(Some(dir), &["cat-file", "-s", &object], url).await else {
        // Either no such file, or its blob could not be fetched: tell them apart.
        let listed = run(Some(dir), &["ls-tree", "--name-only", &commit, "--", path], url).await.map_err(local)?;
        if listed.trim().is_empty() {
            return Ok(None);
        }
        return Err(GitError::Remote {
            url: strip_credentials(url),
            problem: format!("the blob of {path} could not be fetched"),
        });
    };
    let size: u64 = size.trim().parse().map_err(|_| local(format!("git reported the size `{size}`")))?;
    if size > max_bytes {
        return Err(local(format!(
            "the file is {size} bytes, more than the {max_bytes} a file of this kind may be; it was not read"
        )));
    }
    let output = command(Some(dir))
        .args(["cat-file", "blob", &object])
        .output()
        .await
        .map_err(|error| local(format!("cannot run git: {error}")))?;
    if !output.status.success() {
        return Err(GitError::Remote {
            url: strip_credentials(url),
            problem: format!("the blob of {path} could not be read"),
        });
    }
    let text =
        String::from_utf8(output.stdout).map_err(|_| local("the file is not UTF-8; it was not read".to_string()))?;
    Ok(Some((text, commit)))
}

async fn head(dir: &Path) -> Result<String, GitError> {
    run(Some(dir), &["rev-parse", "HEAD"], "")
        .await
        .map_err(|problem| GitError::Local { dir: dir.display().to_string(), problem })
}

/// The entries of `paths` in the tree of `revision` in the repository at `dir`, as `git ls-tree
/// -z` prints them (mode, type, object id and path of each that exists): equal text, equal
/// content at those paths. Reads git's objects only, no file of the work tree.
pub(crate) async fn tree_entries(dir: &Path, revision: &str, paths: &[String]) -> Result<String, String> {
    let mut args = vec!["ls-tree", "-z", "--full-tree", revision, "--"];
    args.extend(paths.iter().map(String::as_str));
    run(Some(dir), &args, "").await
}

/// Every blob (file or link) under `paths` in the tree of `revision`, recursively: path → (mode,
/// object id), from git's objects alone.
pub(crate) async fn tree_blobs(
    dir: &Path,
    revision: &str,
    paths: &[String],
) -> Result<std::collections::BTreeMap<String, (String, String)>, String> {
    let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", revision, "--"];
    args.extend(paths.iter().map(String::as_str));
    let listing = run(Some(dir), &args, "").await?;
    let mut blobs = std::collections::BTreeMap::new();
    for line in listing.split('\0').filter(|line| !line.is_empty()) {
        let (meta, path) = line.split_once('\t').ok_or_else(|| format!("unexpected ls-tree line {line:?}"))?;
        let mut fields = meta.split(' ');
        let (Some(mode), Some(_kind), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("unexpected ls-tree line {line:?}"));
        };
        blobs.insert(path.to_string(), (mode.to_string(), id.to_string()));
    }
    Ok(blobs)
}

/// The file `path` as committed at `revision` in the repository at `dir` (`git cat-file`), as
/// text; `Ok(None)` when there is no such file, an error when it is over 16 MiB.
pub(crate) async fn committed_text(dir: &Path, revision: &str, path: &str) -> Result<Option<String>, String> {
    let object = format!("{revision}:{path}");
    let Ok(size) = run(Some(dir), &["cat-file", "-s", &object], "").await else { return Ok(None) };
    if size.parse::<u64>().map_err(|error| error.to_string())? > crate::io::fs::MAX_INPUT_BYTES {
        return Err(format!("{path} at {revision} is larger than an input may be"));
    }
    run(Some(dir), &["cat-file", "blob", &object], "").await.map(Some)
}

/// What the pipeline reads of the commit `revision` of the midstream checkout at `dir`: the
/// tree entries of its managed paths (`domain::midstream`, the destinations named by its
/// `upstream_repos.yml`). Two commits with the same text make the same catalog; `None` when it
/// cannot be told (git failed, or `upstream_repos.yml` does not parse).
pub(crate) async fn managed_tree(dir: &Path, revision: &str) -> Option<String> {
    let upstream = committed_text(dir, revision, "upstream_repos.yml").await.ok()?;
    let repos = match upstream {
        Some(text) => {
            crate::formats::upstream_repos::UpstreamRepos::parse(Path::new("upstream_repos.yml"), &text).ok()?.repos
        }
        None => Vec::new(),
    };
    let paths = crate::domain::midstream::managed_paths(repos.iter().map(|repo| repo.destination.as_str()));
    tree_entries(dir, revision, &paths).await.ok()
}

/// Runs git in `dir` and returns its trimmed stdout; `Err` carries its stderr.
pub(crate) async fn run_in(dir: &Path, args: &[&str]) -> Result<String, String> {
    run(Some(dir), args, "").await
}

/// The first half of the checkout Konflux's `git-clone-oci-ta` makes (its `depth` param, 1 by
/// default): `revision` (a branch, tag or commit) of `url` fetched alone with `--depth 1` into the
/// repository at `dest` (made when it is not there), and its commit id returned, without touching
/// the working tree: a caller that knows that commit's content can stop here, and
/// [`check_out_fetched`] is the second half. `auth` reaches git through its environment.
pub(crate) async fn shallow_fetch(url: &str, dest: &Path, revision: &str, auth: &GitAuth) -> Result<String, GitError> {
    let local = |problem: String| GitError::Local { dir: dest.display().to_string(), problem };
    if !dest.join(".git").is_dir() {
        fs_err::create_dir_all(dest).map_err(|error| local(error.to_string()))?;
        run(Some(dest), &["init", "--quiet"], url).await.map_err(local)?;
    }
    if run(Some(dest), &["remote", "set-url", "origin", url], url).await.is_err() {
        run(Some(dest), &["remote", "add", "origin", url], url).await.map_err(local)?;
    }
    run_with_env(
        dest,
        &["fetch", "--quiet", "--depth", "1", "--force", "--no-tags", "origin", revision],
        url,
        &auth.environment(),
    )
    .await
    .map_err(|problem| classify(url, revision, problem))?;
    // A tag's FETCH_HEAD is the tag object: the checkout is of the commit it names.
    run(Some(dest), &["rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"], url).await.map_err(local)
}

/// The second half of the checkout [`shallow_fetch`] begins: `commit`, the id it returned, checked
/// out detached in `dest`, every local change and untracked file dropped. `dest` may hold a
/// checkout from before: only the files that differ are written (`url` is only masked in what git
/// says).
pub(crate) async fn check_out_fetched(url: &str, dest: &Path, commit: &str) -> Result<(), GitError> {
    let local = |problem: String| GitError::Local { dir: dest.display().to_string(), problem };
    run(Some(dest), &["-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", "--detach", commit], url)
        .await
        .map_err(local)?;
    // A detached checkout of a commit leaves .git/refs holding only empty folders, which an archive
    // without empty folders would drop, and git does not take a .git without refs/ for a repository.
    run(Some(dest), &["update-ref", "refs/rhdh-catalog/checkout", "HEAD"], url).await.map_err(local)?;
    run(Some(dest), &["clean", "-ffdxq"], url).await.map_err(local)?;
    Ok(())
}

/// Whether the remote `url` lets these credentials push to `branch`, without pushing: the tip of
/// `branch` (or the remote's HEAD when it has no such branch yet) is fetched shallow into a
/// scratch repository and pushed back with `--dry-run`, which makes the remote authenticate the
/// push (`git-receive-pack`) and compare refs, and sends nothing. A push the remote would reject
/// as not a fast-forward still passed authentication. Credentials the remote refuses, or asks for
/// when none were given, are [`GitError::Refused`].
pub(crate) async fn check_push(url: &str, branch: &str, auth: &GitAuth) -> Result<(), GitError> {
    let scratch = tempfile::Builder::new().prefix("rhdh-catalog-push-check-").tempdir().map_err(|error| {
        GitError::Local { dir: std::env::temp_dir().display().to_string(), problem: error.to_string() }
    })?;
    let dir = scratch.path();
    let local = |problem: String| GitError::Local { dir: dir.display().to_string(), problem };
    let environment = auth.environment();
    run(Some(dir), &["init", "--quiet"], url).await.map_err(local)?;
    let branch_ref = format!("refs/heads/{branch}");
    let fetch = |reference: String| {
        let environment = environment.clone();
        async move {
            run_with_env(
                dir,
                &["fetch", "--quiet", "--depth", "1", "--filter=blob:none", "--no-tags", url, &reference],
                url,
                &environment,
            )
            .await
        }
    };
    let fetched = match fetch(branch_ref.clone()).await {
        Ok(_) => Ok(()),
        Err(problem) if matches!(classify(url, branch, problem.clone()), GitError::RefNotFound { .. }) => {
            tracing::info!(remote = %strip_credentials(url), branch, "the remote has no such branch yet; checking a push that creates it");
            fetch("HEAD".to_string()).await.map(|_| ())
        }
        Err(problem) => Err(problem),
    };
    fetched.map_err(|problem| refused_or(url, branch, problem))?;
    let refspec = format!("FETCH_HEAD:{branch_ref}");
    match run_with_env(dir, &["push", "--dry-run", "--porcelain", url, &refspec], url, &environment).await {
        Ok(_) => Ok(()),
        Err(problem) if problem.contains("[rejected]") || problem.contains("non-fast-forward") => {
            tracing::info!(remote = %strip_credentials(url), branch, "the remote authenticated the push (it would be rejected as not a fast-forward)");
            Ok(())
        }
        Err(problem) => Err(refused_or(url, branch, problem)),
    }
}

/// [`GitError::Refused`] when git's message says the remote wanted or refused credentials, else
/// the usual classification.
fn refused_or(url: &str, reference: &str, problem: String) -> GitError {
    let lower = problem.to_lowercase();
    let refusals = [
        "could not read username",
        "could not read password",
        "terminal prompts disabled",
        "authentication failed",
        "authentication required",
        "invalid username or password",
        "permission denied",
        "permission to",
        "access denied",
        "not authorized",
        "unauthorized",
        "write access",
        "error: 401",
        "error: 403",
        " 401",
        " 403",
    ];
    if refusals.iter().any(|needle| lower.contains(needle)) {
        let problem = problem
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("warning:"))
            .collect::<Vec<_>>()
            .join("; ");
        GitError::Refused { url: strip_credentials(url), problem }
    } else {
        classify(url, reference, problem)
    }
}

fn blocking(dir: &Path, args: &[&str]) -> Option<String> {
    let mut command = Command::new("git");
    command
        .args(hygiene_args())
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    if let Some(bundle) = ca_bundle() {
        command.env("GIT_SSL_CAINFO", bundle);
    }
    let output = command.output().ok()?;
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
    fn basic_auth_folders_in_the_git_clone_oci_ta_layout() {
        let dir = tempfile::tempdir().unwrap();
        let missing = GitAuth::from_basic_auth_dir(&dir.path().join("nope"), "https://h/x").unwrap_err();
        assert!(missing.to_string().contains("is not a folder of git credentials"), "{missing}");
        let empty = GitAuth::from_basic_auth_dir(dir.path(), "https://h/x").unwrap_err();
        assert!(
            empty.to_string().contains("holds neither `.git-credentials` nor `username` and `password`"),
            "{empty}"
        );

        std::fs::write(dir.path().join("username"), "bot").unwrap();
        std::fs::write(dir.path().join("password"), "p@ss w/rd\n").unwrap();
        let auth = GitAuth::from_basic_auth_dir(dir.path(), "https://git.example:8443/org/repo.git").unwrap();
        let GitAuth::Store { file, .. } = &auth else { panic!("{auth:?}") };
        assert_eq!(std::fs::read_to_string(file).unwrap(), "https://bot:p%40ss%20w%2Frd@git.example:8443\n");
        let environment = auth.environment();
        assert_eq!(environment[2], ("GIT_CONFIG_VALUE_0".to_string(), String::new()));
        assert_eq!(environment[4].1, format!("store --file='{}'", file.display()));
        assert!(!format!("{environment:?}{auth:?}").contains("p%40ss"), "the password stays in the file");
        assert_eq!(format!("{:?}", GitAuth::Token("secret-token".into())), "the token in GIT_TOKEN");
        assert!(matches!(GitAuth::from_basic_auth_dir(dir.path(), "/local/path").unwrap(), GitAuth::None));

        std::fs::write(dir.path().join(".git-credentials"), "https://git:tok@github.com/org/repo\n").unwrap();
        let auth = GitAuth::from_basic_auth_dir(dir.path(), "https://github.com/org/repo").unwrap();
        let GitAuth::Store { file, .. } = &auth else { panic!("{auth:?}") };
        assert_eq!(std::fs::read_to_string(file).unwrap(), "https://git:tok@github.com/org/repo\n");
        let path = file.to_path_buf();
        drop(auth);
        assert!(!path.exists(), "the private copy is removed");

        assert!(matches!(GitAuth::resolve(Some("t"), Some(dir.path()), "https://h/x").unwrap(), GitAuth::Token(_)));
        assert!(matches!(GitAuth::resolve(Some(""), Some(dir.path()), "https://h/x").unwrap(), GitAuth::Store { .. }));
        assert!(matches!(GitAuth::resolve(None, None, "https://h/x").unwrap(), GitAuth::None));
    }

    #[test]
    fn the_secret_git_would_send_is_the_one_checked() {
        let dir = tempfile::tempdir().unwrap();
        // What Pipelines-as-Code writes (user `git`, the token query-escaped), after another host's line.
        std::fs::write(
            dir.path().join(".git-credentials"),
            "https://x:other@gitlab.example/a\nhttps://git:ghs_a%2Bb%2Fc+d@github.com/org/repo\n",
        )
        .unwrap();
        let auth = GitAuth::from_basic_auth_dir(dir.path(), "https://github.com/org/repo").unwrap();
        assert_eq!(auth.secret_for("https://github.com/org/repo.git").as_deref(), Some("ghs_a+b/c d"));
        assert_eq!(auth.secret_for("http://github.com/org/repo").as_deref(), None, "another scheme");
        assert_eq!(auth.secret_for("https://bitbucket.example/x").as_deref(), None);
        assert_eq!(GitAuth::Token("t".into()).secret_for("https://h/x").as_deref(), Some("t"));
        assert_eq!(GitAuth::None.secret_for("https://h/x"), None);
        assert_eq!(percent_decode("%4g%%41%e2%82%ac%"), "%4g%A€%");
    }

    #[test]
    fn refusals_are_told_apart_from_outages() {
        let refused = refused_or(
            "https://u:p@h/x",
            "main",
            "fatal: could not read Username for 'https://h': terminal prompts disabled".into(),
        );
        assert!(matches!(refused, GitError::Refused { .. }) && refused.is_bad_input(), "{refused}");
        assert!(!refused.to_string().contains("u:p"));
        let refused = refused_or("https://h/x", "main", "remote: Permission to org/x.git denied to bot.\nfatal: unable to access 'https://h/x/': The requested URL returned error: 403".into());
        assert!(matches!(refused, GitError::Refused { .. }), "{refused}");
        let outage = refused_or(
            "https://h/x",
            "main",
            "fatal: unable to access 'https://h/x/': Could not resolve host: h".into(),
        );
        assert!(matches!(outage, GitError::Remote { .. }), "{outage}");
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
