//! Which user name and password go to which repository.
//!
//! Konflux's image-controller writes docker `config.json` keys scoped to a repository path
//! (`quay.io/<org>/<repo>`), and one registry host often holds repositories with different
//! robot accounts. So, as Konflux's `select-oci-auth.sh` and containers-auth.json(5) do, the
//! lookup for `registry/a/b/c` tries the keys `registry/a/b/c`, `registry/a/b`, `registry/a`,
//! then `registry`, in every auth file in order (`REGISTRY_AUTH_FILE`, the docker `config.json`
//! under `DOCKER_CONFIG` or `~/.docker`, podman's `auth.json`), and the first file with any
//! matching key decides. Only then are docker credential helpers asked, by host.
//!
//! Credentials are never logged: [`Credential`]'s `Debug` leaves the password out.

use std::path::{Path, PathBuf};

use base64::Engine;

use super::ImageReference;

/// A user name and password for one repository, and where they were found (for messages).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub(crate) user: String,
    pub(crate) password: String,
    /// `<file>: <key>` (or `credential helper for <host>`), never the secret.
    pub(crate) source: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Credential")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

/// The auth files, most specific first.
fn auth_files() -> Vec<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    let mut files = Vec::new();
    if let Some(file) = var("REGISTRY_AUTH_FILE") {
        files.push(file);
    }
    files.extend(docker_config_file());
    if let Some(runtime) = var("XDG_RUNTIME_DIR") {
        files.push(runtime.join("containers/auth.json"));
    }
    match (var("XDG_CONFIG_HOME"), var("HOME")) {
        (Some(config), _) => files.push(config.join("containers/auth.json")),
        (None, Some(home)) => files.push(home.join(".config/containers/auth.json")),
        (None, None) => {}
    }
    files
}

/// The docker `config.json` (under `DOCKER_CONFIG`, else `~/.docker`), which the credential
/// helper lookup reads too.
fn docker_config_file() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    match (var("DOCKER_CONFIG"), var("HOME")) {
        (Some(dir), _) => Some(dir.join("config.json")),
        (None, Some(home)) => Some(home.join(".docker/config.json")),
        (None, None) => None,
    }
}

/// The keys tried for a repository, longest first: `host/a/b`, `host/a`, `host`.
pub(crate) fn candidate_keys(registry: &str, repository: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut path = format!("{registry}/{repository}");
    loop {
        keys.push(path.clone());
        match path.rfind('/') {
            Some(slash) => path.truncate(slash),
            None => break,
        }
    }
    keys
}

/// A key as written in an auth file, normalised: `https://quay.io/v1/` names the host only (the
/// legacy form), and trailing slashes are dropped.
fn normalise_key(key: &str) -> String {
    let key = key.trim();
    if let Some(rest) = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")) {
        return rest.split('/').next().unwrap_or(rest).to_string();
    }
    key.trim_end_matches('/').to_string()
}

#[derive(serde::Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The most specific entry of one auth file's text for `reference`.
pub(crate) fn lookup_in(text: &str, source: &Path, reference: &ImageReference) -> Result<Option<Credential>, String> {
    let file: AuthFile = serde_json::from_str(text).map_err(|error| format!("not an auth file ({error})"))?;
    let entries: Vec<(String, &AuthEntry)> =
        file.auths.iter().map(|(key, entry)| (normalise_key(key), entry)).collect();
    for key in candidate_keys(&reference.registry, &reference.repository) {
        // Several spellings can normalise to one key; the first usable one wins.
        for (_, entry) in entries.iter().filter(|(normalised, _)| *normalised == key) {
            if let Some((user, password)) = decode(entry) {
                return Ok(Some(Credential { user, password, source: format!("{}: {key}", source.display()) }));
            }
        }
    }
    Ok(None)
}

fn decode(entry: &AuthEntry) -> Option<(String, String)> {
    if let Some(auth) = entry.auth.as_deref().filter(|auth| !auth.is_empty()) {
        let bytes = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (user, password) = text.split_once(':')?;
        return Some((user.to_string(), password.to_string()));
    }
    match (&entry.username, &entry.password) {
        (Some(user), Some(password)) if !user.is_empty() => Some((user.clone(), password.clone())),
        // Identity tokens (no password) are not spoken by the token flow here.
        _ => None,
    }
}

/// Credentials for `reference`: the longest repository-path key of the first auth file that has
/// one, else a docker credential helper for the host; `None` for anonymous access.
pub(crate) fn credentials_for(reference: &ImageReference) -> Option<Credential> {
    for file in auth_files() {
        let text = match crate::io::fs::read_text(&file) {
            Ok(text) => text,
            Err(error) => {
                // A missing file is the usual case; one that is there and cannot be read (a FIFO,
                // a folder, a device, too large) is said, never silently taken for no credentials.
                if file.exists() || file.is_symlink() {
                    tracing::warn!(file = %file.display(), problem = %error.problem, "skipping an unreadable auth file");
                }
                continue;
            }
        };
        match lookup_in(&text, &file, reference) {
            Ok(Some(found)) => return Some(found),
            Ok(None) => {}
            Err(problem) => tracing::warn!(file = %file.display(), %problem, "skipping an unreadable auth file"),
        }
    }
    // Helpers (`credHelpers`, `credsStore`) are keyed by host. The helper lookup reads the docker
    // config itself: only when it is a file `io::fs` reads (a FIFO there would hang the step).
    if let Some(config) = docker_config_file()
        && (config.exists() || config.is_symlink())
        && !crate::io::fs::open_input(&config, crate::io::fs::MAX_INPUT_BYTES)
            .is_ok_and(|input| input.size() <= crate::io::fs::MAX_INPUT_BYTES)
    {
        return None;
    }
    match docker_credential::get_credential(&reference.registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
            Some(Credential { user, password, source: format!("credential helper for {}", reference.registry) })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(user: &str, password: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    }

    #[test]
    fn keys_go_from_the_repository_to_the_host() {
        assert_eq!(candidate_keys("quay.io", "org/repo"), ["quay.io/org/repo", "quay.io/org", "quay.io"]);
        assert_eq!(candidate_keys("127.0.0.1:5000", "a"), ["127.0.0.1:5000/a", "127.0.0.1:5000"]);
    }

    #[test]
    fn the_longest_repository_prefix_wins_then_the_host() {
        let text = format!(
            r#"{{"auths":{{"quay.io":{{"auth":"{}"}},"quay.io/org":{{"auth":"{}"}},"quay.io/org/repo":{{"auth":"{}"}},"https://ghcr.io/v1/":{{"username":"g","password":"gp"}}}}}}"#,
            auth("host", "h"),
            auth("org", "o"),
            auth("repo", "r"),
        );
        let user = |image: &str| {
            lookup_in(&text, Path::new("config.json"), &ImageReference::parse(image).unwrap())
                .unwrap()
                .map(|found| (found.user, found.source))
        };
        assert_eq!(user("quay.io/org/repo:1"), Some(("repo".into(), "config.json: quay.io/org/repo".into())));
        assert_eq!(user("quay.io/org/repo/sub:1"), Some(("repo".into(), "config.json: quay.io/org/repo".into())));
        assert_eq!(user("quay.io/org/other:1"), Some(("org".into(), "config.json: quay.io/org".into())));
        // A sibling whose name merely starts with the same letters is not under the key.
        assert_eq!(user("quay.io/organisation/x:1").map(|found| found.0), Some("host".into()));
        assert_eq!(user("ghcr.io/a/b:1").map(|found| found.0), Some("g".into()));
        assert_eq!(user("docker.io/a/b:1"), None);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let credential = Credential { user: "u".into(), password: "p4ss-w0rd".into(), source: "x".into() };
        assert!(!format!("{credential:?}").contains("p4ss-w0rd"));
    }
}
