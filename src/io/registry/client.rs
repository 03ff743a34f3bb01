//! A minimal OCI distribution client over reqwest: manifests and blobs by tag or digest, pushes,
//! tag lists. Every call is retried while the answer is *unknown* (connection error, timeout,
//! 5xx, 429, truncated or corrupt body) with jittered exponential backoff, honouring
//! `Retry-After`; a 404 is *absent* and never retried; credentials come from the podman auth file
//! (`REGISTRY_AUTH_FILE`) or the docker `config.json`, and are never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};

use super::media_type;
use super::{Digest, ImageReference, Manifest, RegistryError};

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `host[:port]` of registries spoken to over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per call while answers are unknown.
    pub attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            insecure_registries: Vec::new(),
            timeout: Duration::from_secs(30),
            attempts: 5,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
        }
    }
}

pub struct RegistryClient {
    http: reqwest::Client,
    options: ClientOptions,
    /// Authorization header values by `host|scope` (bearer) or `host` (basic).
    authorizations: Mutex<HashMap<String, String>>,
}

/// The result of one attempt, before retry policy.
enum Attempt<T> {
    Done(T),
    Absent,
    Unknown { problem: String, retry_after: Option<Duration> },
    Failed(RegistryError),
}

/// Which repository permissions a request needs.
#[derive(Clone, Copy)]
enum Access {
    Pull,
    Push,
}

impl RegistryClient {
    pub fn new(options: ClientOptions) -> Result<Self, RegistryError> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("rhdh-catalog/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(32)
            .build()
            .map_err(|error| RegistryError::Unavailable {
                registry: "-".into(),
                what: "the HTTP client".into(),
                attempts: 0,
                problem: error.to_string(),
            })?;
        Ok(RegistryClient { http, options, authorizations: Mutex::new(HashMap::new()) })
    }

    fn base_url(&self, registry: &str) -> String {
        let scheme =
            if self.options.insecure_registries.iter().any(|insecure| insecure == registry) { "http" } else { "https" };
        format!("{scheme}://{registry}")
    }

    /// The manifest a tag or digest names, `None` when the registry says it does not exist.
    pub async fn fetch_manifest(&self, reference: &ImageReference) -> Result<Option<Manifest>, RegistryError> {
        let url = format!(
            "{}/v2/{}/manifests/{}",
            self.base_url(&reference.registry),
            reference.repository,
            reference.manifest_selector()
        );
        let accept =
            [media_type::OCI_INDEX, media_type::DOCKER_LIST, media_type::OCI_MANIFEST, media_type::DOCKER_MANIFEST]
                .join(", ");
        let what = reference.to_string();
        self.with_retries(reference, &what, || async {
            let response =
                match self.send(reference, Access::Pull, || self.http.get(&url).header(ACCEPT, &accept)).await {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
            let status = response.status();
            if let Some(attempt) = classify_status(reference, &what, status, response.headers()) {
                return attempt;
            }
            let header_digest = response
                .headers()
                .get("docker-content-digest")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| Digest::parse(value).ok());
            let media_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(|value| value.split(';').next().unwrap_or(value).trim().to_string());
            let bytes = match response.bytes().await {
                Ok(bytes) => bytes.to_vec(),
                Err(error) => return unknown(format!("reading the manifest body: {}", error_text(&error))),
            };
            let digest = match (&reference.digest, header_digest) {
                (Some(pinned), _) => pinned.clone(),
                (None, Some(header)) => header,
                (None, None) => Digest::of(&bytes),
            };
            if !digest.matches(&bytes) {
                return unknown(format!("manifest body does not match digest {digest} (truncated or corrupt)"));
            }
            let media_type = media_type
                .filter(|value| !value.is_empty())
                .or_else(|| media_type_in(&bytes))
                .unwrap_or_else(|| media_type::OCI_MANIFEST.to_string());
            Attempt::Done(Manifest { digest, media_type, bytes })
        })
        .await
    }

    /// A blob's bytes, checked against its digest.
    pub async fn fetch_blob(&self, reference: &ImageReference, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base_url(&reference.registry), reference.repository);
        let what = format!("blob {digest} of {}", reference.name());
        let found = self
            .with_retries(reference, &what, || async {
                let response = match self.send(reference, Access::Pull, || self.http.get(&url)).await {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
                if let Some(attempt) = classify_status(reference, &what, response.status(), response.headers()) {
                    return attempt;
                }
                match response.bytes().await {
                    Ok(bytes) if digest.matches(&bytes) => Attempt::Done(bytes.to_vec()),
                    Ok(_) => unknown(format!("blob body does not match {digest} (truncated or corrupt)")),
                    Err(error) => unknown(format!("reading the blob: {}", error_text(&error))),
                }
            })
            .await?;
        found.ok_or_else(|| RegistryError::Rejected {
            registry: reference.registry.clone(),
            what,
            status: 404,
            problem: "the manifest names a blob the registry does not have".into(),
        })
    }

    /// Uploads a blob unless the repository already has it.
    pub async fn push_blob(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let base = self.base_url(&reference.registry);
        let what = format!("blob {digest} of {}", reference.name());
        let head_url = format!("{base}/v2/{}/blobs/{digest}", reference.repository);
        let exists = self
            .with_retries(reference, &what, || async {
                let response = match self.send(reference, Access::Push, || self.http.head(&head_url)).await {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
                classify_status(reference, &what, response.status(), response.headers()).unwrap_or(Attempt::Done(()))
            })
            .await?;
        if exists.is_some() {
            return Ok(());
        }
        let start_url = format!("{base}/v2/{}/blobs/uploads/", reference.repository);
        let uploaded = self
            .with_retries(reference, &what, || async {
                let response = match self.send(reference, Access::Push, || self.http.post(&start_url)).await {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
                if response.status() != StatusCode::ACCEPTED {
                    return classify_status(reference, &what, response.status(), response.headers())
                        .unwrap_or_else(|| unexpected(reference, &what, response.status()));
                }
                let Some(location) = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()) else {
                    return unknown("upload start returned no Location header".into());
                };
                let mut upload_url = if location.starts_with("http://") || location.starts_with("https://") {
                    location.to_string()
                } else {
                    format!("{base}{location}")
                };
                upload_url.push(if upload_url.contains('?') { '&' } else { '?' });
                upload_url.push_str("digest=");
                upload_url.push_str(digest.as_str());
                let body = bytes.to_vec();
                let response = match self
                    .send(reference, Access::Push, || {
                        self.http.put(&upload_url).header(CONTENT_TYPE, "application/octet-stream").body(body.clone())
                    })
                    .await
                {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
                if response.status() == StatusCode::CREATED {
                    Attempt::Done(())
                } else {
                    classify_status(reference, &what, response.status(), response.headers())
                        .unwrap_or_else(|| unexpected(reference, &what, response.status()))
                }
            })
            .await?;
        uploaded.ok_or_else(|| RegistryError::Rejected {
            registry: reference.registry.clone(),
            what,
            status: 404,
            problem: "the repository does not accept uploads".into(),
        })
    }

    /// Stores a manifest under `tag` (or under its digest when `tag` is `None`); returns its digest.
    pub async fn push_manifest(
        &self,
        reference: &ImageReference,
        tag: Option<&str>,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let selector = tag.map_or_else(|| manifest.digest.to_string(), str::to_string);
        let url = format!("{}/v2/{}/manifests/{selector}", self.base_url(&reference.registry), reference.repository);
        let what = format!("manifest {}:{selector}", reference.name());
        let pushed = self
            .with_retries(reference, &what, || async {
                let response = match self
                    .send(reference, Access::Push, || {
                        self.http.put(&url).header(CONTENT_TYPE, &manifest.media_type).body(manifest.bytes.clone())
                    })
                    .await
                {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
                if response.status() == StatusCode::CREATED || response.status() == StatusCode::OK {
                    Attempt::Done(())
                } else {
                    classify_status(reference, &what, response.status(), response.headers())
                        .unwrap_or_else(|| unexpected(reference, &what, response.status()))
                }
            })
            .await?;
        match pushed {
            Some(()) => Ok(manifest.digest.clone()),
            None => Err(RegistryError::Rejected {
                registry: reference.registry.clone(),
                what,
                status: 404,
                problem: "the registry does not know this repository".into(),
            }),
        }
    }

    /// Every tag of the repository (following `Link` pagination); empty when it does not exist.
    pub async fn list_tags(&self, reference: &ImageReference) -> Result<Vec<String>, RegistryError> {
        let base = self.base_url(&reference.registry);
        let mut tags = Vec::new();
        let mut next = Some(format!("{base}/v2/{}/tags/list?n=1000", reference.repository));
        let what = format!("tags of {}", reference.name());
        while let Some(url) = next.take() {
            let page = self
                .with_retries(reference, &what, || async {
                    let response = match self.send(reference, Access::Pull, || self.http.get(&url)).await {
                        Ok(response) => response,
                        Err(attempt) => return attempt,
                    };
                    if let Some(attempt) = classify_status(reference, &what, response.status(), response.headers()) {
                        return attempt;
                    }
                    let link = response
                        .headers()
                        .get("link")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.split(';').next())
                        .map(|value| value.trim().trim_start_matches('<').trim_end_matches('>').to_string());
                    match response.json::<TagList>().await {
                        Ok(list) => Attempt::Done((list.tags.unwrap_or_default(), link)),
                        Err(error) => unknown(format!("reading the tag list: {}", error_text(&error))),
                    }
                })
                .await?;
            let Some((page_tags, link)) = page else { break };
            tags.extend(page_tags);
            next = link.map(|link| if link.starts_with('/') { format!("{base}{link}") } else { link });
        }
        Ok(tags)
    }

    /// Runs `attempt` until it gives a definite answer or the attempts run out.
    async fn with_retries<T, F, Fut>(
        &self,
        reference: &ImageReference,
        what: &str,
        attempt: F,
    ) -> Result<Option<T>, RegistryError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let attempts = self.options.attempts.max(1);
        let mut last_problem = String::new();
        for number in 1..=attempts {
            match attempt().await {
                Attempt::Done(value) => return Ok(Some(value)),
                Attempt::Absent => return Ok(None),
                Attempt::Failed(error) => return Err(error),
                Attempt::Unknown { problem, retry_after } => {
                    tracing::debug!(registry = %reference.registry, what, attempt = number, %problem, "unknown answer, retrying");
                    last_problem = problem;
                    if number < attempts {
                        tokio::time::sleep(self.backoff(number, retry_after)).await;
                    }
                }
            }
        }
        Err(RegistryError::Unavailable {
            registry: reference.registry.clone(),
            what: what.to_string(),
            attempts,
            problem: last_problem,
        })
    }

    /// Equal-jitter exponential backoff; a server's `Retry-After` wins, capped at the maximum.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.options.backoff_max);
        }
        let exponential = self.options.backoff_base.saturating_mul(1 << attempt.min(16).saturating_sub(1));
        let cap = exponential.min(self.options.backoff_max);
        cap / 2 + cap.mul_f64(fastrand::f64() / 2.0)
    }

    /// Sends a request with the cached authorization, answering one 401 challenge.
    async fn send<T>(
        &self,
        reference: &ImageReference,
        access: Access,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, Attempt<T>> {
        let scope = scope_of(reference, access);
        let cached = self.cached_authorization(&reference.registry, &scope);
        let response = self.execute(authorize(build(), cached.as_deref())).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
            .unwrap_or_default();
        let authorization = self.authenticate(reference, &scope, &challenge).await?;
        let response = self.execute(authorize(build(), Some(&authorization))).await?;
        if response.status() == StatusCode::UNAUTHORIZED || response.status() == StatusCode::FORBIDDEN {
            return Err(Attempt::Failed(RegistryError::Unauthorized {
                registry: reference.registry.clone(),
                what: reference.name(),
                problem: format!("HTTP {} after authenticating", response.status().as_u16()),
            }));
        }
        Ok(response)
    }

    async fn execute<T>(&self, request: RequestBuilder) -> Result<Response, Attempt<T>> {
        request.send().await.map_err(|error| Attempt::Unknown { problem: error_text(&error), retry_after: None })
    }

    fn cached_authorization(&self, registry: &str, scope: &str) -> Option<String> {
        let cache = self.authorizations.lock().ok()?;
        cache.get(&format!("{registry}|{scope}")).or_else(|| cache.get(registry)).cloned()
    }

    /// Answers a `WWW-Authenticate` challenge: basic credentials, or a bearer token from the realm.
    async fn authenticate<T>(
        &self,
        reference: &ImageReference,
        scope: &str,
        challenge: &str,
    ) -> Result<String, Attempt<T>> {
        let registry = &reference.registry;
        let credentials = credentials_for(registry);
        let refused = |problem: String| {
            Attempt::Failed(RegistryError::Unauthorized { registry: registry.clone(), what: reference.name(), problem })
        };
        let (scheme, parameters) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            let Some((user, password)) = credentials else {
                return Err(refused("the registry wants a user name and password and none are configured".into()));
            };
            let value = basic_value(&user, &password);
            if let Ok(mut cache) = self.authorizations.lock() {
                cache.insert(registry.clone(), value.clone());
            }
            return Ok(value);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(refused(format!("unsupported authentication challenge `{scheme}`")));
        }
        let Some(realm) = parameters.get("realm") else {
            return Err(refused("bearer challenge without a realm".into()));
        };
        let mut request = self.http.get(realm.as_str()).query(&[("scope", scope)]);
        if let Some(service) = parameters.get("service") {
            request = request.query(&[("service", service.as_str())]);
        }
        if let Some((user, password)) = &credentials {
            request = request.header(AUTHORIZATION, basic_value(user, password));
        }
        let response = self.execute(request).await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(refused(format!("the token service answered HTTP {}", status.as_u16())));
        }
        if !status.is_success() {
            return Err(Attempt::Unknown {
                problem: format!("token service answered HTTP {}", status.as_u16()),
                retry_after: retry_after_of(response.headers()),
            });
        }
        let token: TokenResponse = response.json().await.map_err(|error| Attempt::Unknown {
            problem: format!("reading the token: {}", error_text(&error)),
            retry_after: None,
        })?;
        let Some(token) = token.token.or(token.access_token) else {
            return Err(refused("the token service returned no token".into()));
        };
        let value = format!("Bearer {token}");
        if let Ok(mut cache) = self.authorizations.lock() {
            cache.insert(format!("{registry}|{scope}"), value.clone());
        }
        Ok(value)
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

#[derive(serde::Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

fn authorize(request: RequestBuilder, authorization: Option<&str>) -> RequestBuilder {
    match authorization {
        Some(value) => request.header(AUTHORIZATION, value),
        None => request,
    }
}

fn scope_of(reference: &ImageReference, access: Access) -> String {
    match access {
        Access::Pull => format!("repository:{}:pull", reference.repository),
        Access::Push => format!("repository:{}:pull,push", reference.repository),
    }
}

fn basic_value(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// User name and password for `registry` from the podman auth file or the docker config.
/// Identity tokens are not supported by the token flow we speak and are skipped.
fn credentials_for(registry: &str) -> Option<(String, String)> {
    let from = |result: Result<docker_credential::DockerCredential, _>| match result {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => Some((user, password)),
        _ => None,
    };
    if std::env::var_os("REGISTRY_AUTH_FILE").is_some()
        && let Some(found) = from(docker_credential::get_podman_credential(registry))
    {
        return Some(found);
    }
    from(docker_credential::get_credential(registry))
        .or_else(|| from(docker_credential::get_podman_credential(registry)))
}

/// `Bearer realm="…",service="…"` → (`Bearer`, {realm, service}).
fn parse_challenge(challenge: &str) -> (String, HashMap<String, String>) {
    let challenge = challenge.trim();
    let (scheme, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut parameters = HashMap::new();
    let mut remaining = rest.trim();
    while !remaining.is_empty() {
        let Some((key, after)) = remaining.split_once('=') else { break };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, rest) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        parameters.insert(key, value.to_string());
        remaining = rest.trim_start_matches([',', ' ']);
    }
    (scheme.to_string(), parameters)
}

/// Maps a status to an attempt result, or `None` when the caller should read the body.
fn classify_status<T>(
    reference: &ImageReference,
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<Attempt<T>> {
    if status.is_success() {
        return None;
    }
    Some(match status {
        StatusCode::NOT_FOUND => Attempt::Absent,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
            Attempt::Unknown { problem: format!("HTTP {}", status.as_u16()), retry_after: retry_after_of(headers) }
        }
        status if status.is_server_error() => {
            Attempt::Unknown { problem: format!("HTTP {}", status.as_u16()), retry_after: retry_after_of(headers) }
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Attempt::Failed(RegistryError::Unauthorized {
            registry: reference.registry.clone(),
            what: what.to_string(),
            problem: format!("HTTP {}", status.as_u16()),
        }),
        status => unexpected(reference, what, status),
    })
}

fn unexpected<T>(reference: &ImageReference, what: &str, status: StatusCode) -> Attempt<T> {
    Attempt::Failed(RegistryError::Rejected {
        registry: reference.registry.clone(),
        what: what.to_string(),
        status: status.as_u16(),
        problem: status.canonical_reason().unwrap_or("unexpected status").to_string(),
    })
}

fn unknown<T>(problem: String) -> Attempt<T> {
    Attempt::Unknown { problem, retry_after: None }
}

fn retry_after_of(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The `mediaType` field of a manifest body, for registries that send no Content-Type.
fn media_type_in(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct WithMediaType {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<WithMediaType>(bytes).ok()?.media_type
}

/// reqwest's error with its source chain (our URLs never carry credentials).
fn error_text(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Exposed for the unit tests of the challenge parser.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parameters() {
        let (scheme, parameters) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(parameters["realm"], "https://auth.example/token");
        assert_eq!(parameters["service"], "registry.example");
        assert_eq!(parameters["scope"], "repository:a/b:pull");
        let (scheme, parameters) = parse_challenge(r#"Basic realm="basic-realm""#);
        assert_eq!(scheme, "Basic");
        assert_eq!(parameters["realm"], "basic-realm");
    }

    #[test]
    fn backoff_is_bounded_and_honours_retry_after() {
        let client = RegistryClient::new(ClientOptions::default()).unwrap();
        for attempt in 1..10 {
            let wait = client.backoff(attempt, None);
            assert!(wait <= Duration::from_secs(10), "{wait:?}");
        }
        assert_eq!(client.backoff(1, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert_eq!(client.backoff(1, Some(Duration::from_secs(600))), Duration::from_secs(10));
    }

    #[test]
    fn statuses_are_tri_state() {
        let reference = ImageReference::parse("quay.io/rhdh/x:1").unwrap();
        let headers = HeaderMap::new();
        assert!(matches!(
            classify_status::<()>(&reference, "x", StatusCode::NOT_FOUND, &headers),
            Some(Attempt::Absent)
        ));
        assert!(matches!(
            classify_status::<()>(&reference, "x", StatusCode::BAD_GATEWAY, &headers),
            Some(Attempt::Unknown { .. })
        ));
        assert!(matches!(
            classify_status::<()>(&reference, "x", StatusCode::TOO_MANY_REQUESTS, &headers),
            Some(Attempt::Unknown { .. })
        ));
        assert!(classify_status::<()>(&reference, "x", StatusCode::OK, &headers).is_none());
    }
}
