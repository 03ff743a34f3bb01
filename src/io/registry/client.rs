//! A minimal OCI distribution client over reqwest: manifests and blobs by tag or digest, pushes,
//! tag lists. Every call is retried while the answer is *unknown* (connection error, timeout,
//! 5xx, 429, truncated, corrupt, over-size or endless body, a body that is no manifest, a
//! redirect where none is allowed) with jittered exponential backoff, honouring `Retry-After`; a
//! 404 is *absent* and never retried.
//!
//! A registry cannot fool it:
//! - every body is read with a cap on the bytes actually read ([`answer`](super::answer));
//! - a manifest is what the registry itself answers: no redirect is followed for it, and it must
//!   be a manifest (`schemaVersion: 2`, a known `mediaType` agreeing with `Content-Type`) whose
//!   bytes match the digest;
//! - redirects are followed only for blob downloads, never from https to http, and never with
//!   credentials;
//! - credentials for a registry go only to that registry and to its token realm when the realm
//!   is https (or plain HTTP on a host itself listed as insecure). They come from the auth files,
//!   the most specific repository-path key first ([`credentials`](super::credentials)), and are
//!   never logged;
//! - tokens are kept per `registry|scope` until their `expires_in` runs out.
//!
//! Extra trust: when `RHDH_CATALOG_EXTRA_CA` names a PEM file that exists (Konflux's `trusted-ca`
//! ConfigMap, mounted by our Tasks at `/mnt/trusted-ca/ca-bundle.crt`), its certificates are added
//! to the system roots. [`extra_ca`] and [`system_roots_pem`] are shared with the git and
//! Kubernetes edges, which need the same roots.
//!
//! Why not `oci-client` (0.18.0, tried against the same misbehaving registry and token issuer as
//! `tests/registry_layer.rs`): its `reqwest::Client` is built inside `Client::new` with reqwest's
//! default redirect policy and no way to replace it, so `pull_manifest_raw` follows a manifest
//! redirect to another host and `pull_blob` follows https to http; every body is read with
//! `Response::bytes()` (a 64 MiB manifest is returned whole, an endless one is read until the
//! caller gives up, `pull_blob` streams past the declared size); `pull_manifest_raw` returns any
//! JSON whose digest matches and neither returns nor checks the Content-Type; `_auth` sends the
//! credentials to whatever realm the challenge names, plain HTTP included; and credentials are
//! stored per registry host, first caller wins (`store_auth_if_needed`), so two repositories
//! with different credentials on one host cannot share a client.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode, Url};

use super::answer::{
    MAX_BLOB_BYTES, MAX_MANIFEST_BYTES, MAX_TAG_LIST_BYTES, MAX_TAG_PAGE_BYTES, MAX_TAG_PAGES, MAX_TAGS,
    MAX_TOKEN_BYTES, bare_content_type, check_manifest, read_capped,
};
use super::credentials::{Credential, credentials_for};
use super::media_type;
use super::{Digest, ImageReference, Manifest, RegistryError};

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `host[:port]` of registries (and token services) spoken to over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Per-request timeout (the whole request, body included).
    pub timeout: Duration,
    /// Attempts per call while answers are unknown.
    pub attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Largest manifest or index accepted; 4 MiB as containerd and distribution.
    pub max_manifest_bytes: usize,
    /// Largest blob fetched, whatever a manifest declares.
    pub max_blob_bytes: u64,
    /// `host[:port]` → where the user named it (`` `--store docker://…` ``), for messages about it.
    pub origins: Vec<(String, String)>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            insecure_registries: Vec::new(),
            timeout: Duration::from_secs(30),
            attempts: 5,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            max_blob_bytes: MAX_BLOB_BYTES,
            origins: Vec::new(),
        }
    }
}

/// Redirect hops followed for one blob download.
const MAX_BLOB_REDIRECTS: usize = 5;
/// A token is renewed this long before its `expires_in` runs out (at most a quarter of its life).
const TOKEN_RENEWAL_MARGIN: Duration = Duration::from_secs(10);
/// The lifetime of a token whose answer gives none (the distribution token spec's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

pub struct RegistryClient {
    http: reqwest::Client,
    options: ClientOptions,
    /// Authorization header values by `registry|scope`, with the instant they stop being usable.
    authorizations: Mutex<HashMap<String, Authorization>>,
    /// The last `WWW-Authenticate` challenge of each registry, answered before a new scope's first request.
    challenges: Mutex<HashMap<String, String>>,
    /// One token request at a time per `registry|scope`.
    token_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Registries found unusable as configured (`host[:port]` → problem, fix): later requests
    /// fail at once with the same error instead of asking again.
    misconfigured: Mutex<HashMap<String, (String, String)>>,
}

#[derive(Clone)]
struct Authorization {
    value: String,
    usable_until: Option<Instant>,
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

/// The environment variable naming a PEM file of CA certificates trusted besides the system's.
pub const EXTRA_CA_ENV: &str = "RHDH_CATALOG_EXTRA_CA";

/// Largest CA bundle read (system bundles are about 200 KiB).
pub(crate) const MAX_CA_BUNDLE_BYTES: u64 = 16 * 1024 * 1024;

/// The certificates of the [`EXTRA_CA_ENV`] file.
#[derive(Debug)]
pub(crate) struct ExtraCa {
    pub(crate) path: std::path::PathBuf,
    /// The certificates, PEM-encoded (nothing else of the file).
    pub(crate) pem: String,
    pub(crate) der: Vec<Vec<u8>>,
}

/// The extra CA certificates, read once per process: `None` when the variable is unset or
/// empty, or names a file that does not exist or is empty (the `trusted-ca` ConfigMap is
/// optional, so its mount may be empty: the system roots alone are used, as Konflux's
/// `oras_opts.sh` does); an error when the file cannot be read or holds no certificate.
pub(crate) fn extra_ca() -> Result<Option<&'static ExtraCa>, String> {
    static LOADED: std::sync::OnceLock<Result<Option<ExtraCa>, String>> = std::sync::OnceLock::new();
    LOADED
        .get_or_init(|| load_extra_ca(std::env::var_os(EXTRA_CA_ENV)))
        .as_ref()
        .map(Option::as_ref)
        .map_err(Clone::clone)
}

fn load_extra_ca(value: Option<std::ffi::OsString>) -> Result<Option<ExtraCa>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let Some(path) = value.filter(|value| !value.is_empty()).map(std::path::PathBuf::from) else {
        return Ok(None);
    };
    let shown = path.display();
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(path = %shown, "{EXTRA_CA_ENV} names no file; the system roots alone are trusted");
            return Ok(None);
        }
        Err(error) => return Err(format!("{EXTRA_CA_ENV}={shown}: cannot read: {error}")),
    };
    if metadata.len() > MAX_CA_BUNDLE_BYTES {
        return Err(format!(
            "{EXTRA_CA_ENV}={shown}: the file is {} bytes, more than the {MAX_CA_BUNDLE_BYTES} a CA bundle may have",
            metadata.len()
        ));
    }
    let bytes = crate::io::fs::read_bounded(&path, MAX_CA_BUNDLE_BYTES)
        .map_err(|error| format!("{EXTRA_CA_ENV}={shown}: {}", error.problem))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        tracing::warn!(path = %shown, "the extra CA bundle is empty; the system roots alone are trusted");
        return Ok(None);
    }
    let der: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&bytes)
        .map(|certificate| certificate.map(|certificate| certificate.as_ref().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|error| format!("{EXTRA_CA_ENV}={shown}: not a PEM bundle of certificates ({error})"))?;
    if der.is_empty() {
        return Err(format!("{EXTRA_CA_ENV}={shown}: holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)"));
    }
    let pem = der.iter().map(|certificate| pem_certificate(certificate)).collect();
    tracing::info!(path = %shown, certificates = der.len(), "trusting the extra CA certificates");
    Ok(Some(ExtraCa { path, pem, der }))
}

/// One certificate as PEM.
fn pem_certificate(der: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// The system's CA bundle file and its bytes: `SSL_CERT_FILE` when set, else the first bundle of
/// the usual places (Debian, RHEL/UBI, SUSE, Alpine). Tools that take one CA file (git's
/// `GIT_SSL_CAINFO`) need these together with the extra certificates.
pub(crate) fn system_roots_pem() -> Option<(std::path::PathBuf, Vec<u8>)> {
    let candidates = std::env::var_os("SSL_CERT_FILE").filter(|value| !value.is_empty()).map(std::path::PathBuf::from);
    candidates
        .into_iter()
        .chain(
            [
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/ssl/ca-bundle.pem",
                "/etc/ssl/cert.pem",
            ]
            .into_iter()
            .map(std::path::PathBuf::from),
        )
        .find_map(|path| {
            let size = std::fs::metadata(&path).ok()?.len();
            if size == 0 || size > MAX_CA_BUNDLE_BYTES {
                return None;
            }
            crate::io::fs::read_bounded(&path, MAX_CA_BUNDLE_BYTES).ok().map(|bytes| (path, bytes))
        })
}

impl RegistryClient {
    pub fn new(options: ClientOptions) -> Result<Self, RegistryError> {
        crate::install_crypto_provider();
        let mut builder = reqwest::Client::builder();
        let extra = extra_ca().map_err(|problem| RegistryError::Untrusted {
            registry: "-".into(),
            what: "the CA bundle".into(),
            problem,
        })?;
        if let Some(extra) = extra {
            let certificates = extra
                .der
                .iter()
                .map(|der| reqwest::Certificate::from_der(der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| RegistryError::Untrusted {
                    registry: "-".into(),
                    what: "the CA bundle".into(),
                    problem: format!("{EXTRA_CA_ENV}={}: {error}", extra.path.display()),
                })?;
            builder = builder.tls_certs_merge(certificates);
        }
        let http = builder
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("rhdh-catalog/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(32)
            // Redirects are followed by hand, for blobs only (see `get_blob`).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| RegistryError::Unavailable {
                registry: "-".into(),
                what: "the HTTP client".into(),
                attempts: 0,
                problem: error.to_string(),
                origin: None,
            })?;
        Ok(RegistryClient {
            http,
            options,
            authorizations: Mutex::new(HashMap::new()),
            challenges: Mutex::new(HashMap::new()),
            token_locks: Mutex::new(HashMap::new()),
            misconfigured: Mutex::new(HashMap::new()),
        })
    }

    /// Where the user named `authority`, when known.
    fn origin(&self, authority: &str) -> Option<String> {
        self.options.origins.iter().find(|(host, _)| host == authority).map(|(_, origin)| origin.clone())
    }

    /// One request to the registry's API root (`GET /v2/`), no retry: `Ok` for any HTTP answer
    /// (an authentication challenge too), [`RegistryError::Misconfigured`] when it cannot work as
    /// configured, [`RegistryError::Unavailable`] when it did not answer. What a run checks
    /// before it spends an hour exporting.
    pub async fn check_reachable(&self, authority: &str) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base_url(authority));
        match self.execute::<()>(self.http.get(&url)).await {
            Err(Attempt::Failed(error)) => Err(error),
            Err(Attempt::Unknown { problem, .. }) => Err(RegistryError::Unavailable {
                registry: authority.to_string(),
                what: "its API root".into(),
                attempts: 1,
                problem,
                origin: self.origin(authority),
            }),
            Ok(_) | Err(_) => Ok(()),
        }
    }

    fn is_insecure(&self, authority: &str) -> bool {
        self.options.insecure_registries.iter().any(|insecure| insecure == authority)
    }

    fn base_url(&self, registry: &str) -> String {
        let scheme = if self.is_insecure(registry) { "http" } else { "https" };
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
        let cap = self.options.max_manifest_bytes as u64;
        self.with_retries(reference, &what, || async {
            let mut response =
                match self.send(reference, Access::Pull, || self.http.get(&url).header(ACCEPT, &accept)).await {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
            let status = response.status();
            if let Some(attempt) = classify_status(reference, &what, status, response.headers()) {
                return attempt;
            }
            let header_digest = match response.headers().get("docker-content-digest") {
                None => None,
                Some(value) => match value.to_str().ok().map(|text| Digest::parse(text.trim())) {
                    Some(Ok(digest)) => Some(digest),
                    _ => return unknown("the Docker-Content-Digest header is not a digest".into()),
                },
            };
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(|value| bare_content_type(value).to_string());
            let bytes = match read_capped(&mut response, cap, "the manifest").await {
                Ok(bytes) => bytes,
                Err(problem) => return unknown(problem),
            };
            let digest = match (&reference.digest, header_digest) {
                (Some(pinned), _) => pinned.clone(),
                (None, Some(header)) => header,
                (None, None) => Digest::of(&bytes),
            };
            if !digest.matches(&bytes) {
                return unknown(format!("manifest body does not match digest {digest} (truncated or corrupt)"));
            }
            match check_manifest(&bytes, content_type.as_deref()) {
                Ok(media_type) => Attempt::Done(Manifest { digest, media_type, bytes }),
                Err(problem) => unknown(format!("the answer is no image manifest: {problem}")),
            }
        })
        .await
    }

    /// A blob's bytes, checked against its digest; at most the client's blob limit.
    pub async fn fetch_blob(&self, reference: &ImageReference, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        self.fetch_blob_sized(reference, digest, None).await
    }

    /// A blob's bytes, checked against its digest and, when given, the size its manifest
    /// declares: reading stops past that size (or the client's blob limit).
    pub async fn fetch_blob_sized(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Vec<u8>, RegistryError> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base_url(&reference.registry), reference.repository);
        let what = format!("blob {digest} of {}", reference.name());
        let limit = self.options.max_blob_bytes;
        if let Some(size) = size
            && size > limit
        {
            return Err(RegistryError::Rejected {
                registry: reference.registry.clone(),
                what,
                status: 200,
                problem: format!("the manifest declares {size} bytes, more than the {limit} this tool fetches"),
            });
        }
        let cap = size.unwrap_or(limit);
        let found = self
            .with_retries(reference, &what, || async {
                let mut response = match self.get_blob(reference, &url).await {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
                if let Some(attempt) = classify_status(reference, &what, response.status(), response.headers()) {
                    return attempt;
                }
                let bytes = match read_capped(&mut response, cap, "the blob").await {
                    Ok(bytes) => bytes,
                    Err(problem) => return unknown(problem),
                };
                if let Some(size) = size
                    && bytes.len() as u64 != size
                {
                    return unknown(format!("the blob is {} bytes, not the {size} its manifest declares", bytes.len()));
                }
                if digest.matches(&bytes) {
                    Attempt::Done(bytes)
                } else {
                    unknown(format!("blob body does not match {digest} (truncated or corrupt)"))
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

    /// A blob streamed into `file` (emptied first, hashed on the way, never whole in memory),
    /// checked against its digest and, when given, the size its manifest declares (reading stops
    /// past it, or past the client's blob limit); `file` is left rewound.
    pub async fn fetch_blob_into(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        size: Option<u64>,
        file: &std::fs::File,
    ) -> Result<(), RegistryError> {
        use std::io::{Seek, Write};
        let url = format!("{}/v2/{}/blobs/{digest}", self.base_url(&reference.registry), reference.repository);
        let what = format!("blob {digest} of {}", reference.name());
        let limit = self.options.max_blob_bytes;
        if let Some(size) = size
            && size > limit
        {
            return Err(RegistryError::Rejected {
                registry: reference.registry.clone(),
                what,
                status: 200,
                problem: format!("the manifest declares {size} bytes, more than the {limit} this tool fetches"),
            });
        }
        let cap = size.unwrap_or(limit);
        let local = |error: std::io::Error| {
            Attempt::Failed(RegistryError::Unavailable {
                registry: reference.registry.clone(),
                what: what.clone(),
                attempts: 1,
                problem: format!("writing the blob to a temporary file: {error}"),
                origin: None,
            })
        };
        let found = self
            .with_retries(reference, &what, || async {
                let mut sink = match file.try_clone() {
                    Ok(sink) => sink,
                    Err(error) => return local(error),
                };
                if let Err(error) = sink.set_len(0).and_then(|()| sink.rewind()) {
                    return local(error);
                }
                let mut response = match self.get_blob(reference, &url).await {
                    Ok(response) => response,
                    Err(attempt) => return attempt,
                };
                if let Some(attempt) = classify_status(reference, &what, response.status(), response.headers()) {
                    return attempt;
                }
                if let Some(length) = response.content_length()
                    && length > cap
                {
                    return unknown(format!("the blob is {length} bytes, more than the {cap} accepted"));
                }
                let mut hasher = digest.hasher();
                let mut received = 0u64;
                loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) => {
                            received += chunk.len() as u64;
                            if received > cap {
                                return unknown(format!(
                                    "the blob goes on past the {cap} bytes accepted (stopped reading)"
                                ));
                            }
                            hasher.update(&chunk);
                            if let Err(error) = sink.write_all(&chunk) {
                                return local(error);
                            }
                        }
                        Ok(None) => break,
                        Err(error) => return unknown(format!("reading the blob: {}", error_text(&error))),
                    }
                }
                if let Some(size) = size
                    && received != size
                {
                    return unknown(format!("the blob is {received} bytes, not the {size} its manifest declares"));
                }
                if hasher.finish() != *digest {
                    return unknown(format!("blob body does not match {digest} (truncated or corrupt)"));
                }
                match sink.flush().and_then(|()| sink.rewind()) {
                    Ok(()) => Attempt::Done(()),
                    Err(error) => local(error),
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

    /// GET of a blob: the registry's answer, or where it redirects to (https never to http,
    /// and no credentials past the registry itself).
    async fn get_blob<T>(&self, reference: &ImageReference, url: &str) -> Result<Response, Attempt<T>> {
        let mut response = self.send(reference, Access::Pull, || self.http.get(url)).await?;
        let mut current = Url::parse(url).map_err(|error| unknown(format!("bad URL {url}: {error}")))?;
        for _ in 0..MAX_BLOB_REDIRECTS {
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let Some(location) = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()) else {
                return Err(unknown(format!("HTTP {} redirect without a Location", response.status().as_u16())));
            };
            let next =
                current.join(location).map_err(|_| unknown(format!("the blob redirect `{location}` is not a URL")))?;
            match (current.scheme(), next.scheme()) {
                ("https", "https") | ("http", "http" | "https") => {}
                ("https", "http") => {
                    return Err(unknown(format!(
                        "the blob download was redirected from https to plain HTTP ({}); refused",
                        origin_of(&next)
                    )));
                }
                (_, scheme) => return Err(unknown(format!("the blob was redirected to a {scheme}: URL"))),
            }
            tracing::debug!(registry = %reference.registry, to = %origin_of(&next), "following a blob redirect without credentials");
            response = self.execute(self.http.get(next.as_str())).await?;
            current = next;
        }
        Err(unknown(format!("more than {MAX_BLOB_REDIRECTS} redirects for one blob")))
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
                // A redirect to the registry's storage means it has the blob; it is not followed.
                if response.status().is_redirection() {
                    return Attempt::Done(());
                }
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
                let Ok(mut upload_url) = Url::parse(&start_url).and_then(|start| start.join(location)) else {
                    return unknown(format!("the upload Location `{location}` is not a URL"));
                };
                if !same_origin(&upload_url, &base) {
                    return Attempt::Failed(RegistryError::Untrusted {
                        registry: reference.registry.clone(),
                        what: what.clone(),
                        problem: format!(
                            "it sends the upload to {}, another host; credentials go to the registry only",
                            origin_of(&upload_url)
                        ),
                    });
                }
                upload_url.query_pairs_mut().append_pair("digest", digest.as_str());
                let body = bytes.to_vec();
                let response = match self
                    .send(reference, Access::Push, || {
                        self.http
                            .put(upload_url.as_str())
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .body(body.clone())
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

    /// Every tag of the repository, page by page to `visit` (following `Link` pagination on the
    /// registry itself), never held whole: each page at most [`MAX_TAG_PAGE_BYTES`], at most
    /// [`MAX_TAG_PAGES`] pages, [`MAX_TAGS`] tags and [`MAX_TAG_LIST_BYTES`] in all, and a page
    /// the list already gave (the same URL or the same tags under another URL) ends it as a loop.
    /// Nothing is visited for a repository that does not exist.
    pub async fn scan_tags(
        &self,
        reference: &ImageReference,
        visit: &mut (dyn FnMut(&[String]) + Send),
    ) -> Result<(), RegistryError> {
        let base = self.base_url(&reference.registry);
        let what = format!("the tags of {}", reference.name());
        let untrusted = |problem: String| RegistryError::Untrusted {
            registry: reference.registry.clone(),
            what: what.clone(),
            problem,
        };
        let mut seen_urls = HashSet::new();
        let mut seen_pages = HashSet::new();
        let (mut total_tags, mut total_bytes) = (0usize, 0u64);
        let mut next = Some(format!("{base}/v2/{}/tags/list", reference.repository));
        while let Some(url) = next.take() {
            if !seen_urls.insert(url.clone()) {
                return Err(untrusted(format!("its tag list pages loop back to {url}")));
            }
            if seen_urls.len() > MAX_TAG_PAGES {
                return Err(untrusted(format!("its tag list has more than {MAX_TAG_PAGES} pages")));
            }
            let page = self
                .with_retries(reference, &what, || async {
                    let mut response = match self.send(reference, Access::Pull, || self.http.get(&url)).await {
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
                    let bytes = match read_capped(&mut response, MAX_TAG_PAGE_BYTES as u64, "a tag list page").await {
                        Ok(bytes) => bytes,
                        Err(problem) => return unknown(problem),
                    };
                    let size = bytes.len() as u64;
                    match serde_json::from_slice::<TagList>(&bytes) {
                        Ok(list) => Attempt::Done((list.tags.unwrap_or_default(), link, size)),
                        Err(error) => unknown(format!("reading the tag list: {error}")),
                    }
                })
                .await?;
            let Some((page_tags, link, size)) = page else { break };
            total_tags += page_tags.len();
            total_bytes += size;
            if total_tags > MAX_TAGS || total_bytes > MAX_TAG_LIST_BYTES {
                return Err(untrusted(format!(
                    "its tag list goes on past {MAX_TAGS} tags or {MAX_TAG_LIST_BYTES} bytes (stopped reading)"
                )));
            }
            if !page_tags.is_empty()
                && !seen_pages.insert(crate::io::registry::Digest::of(page_tags.join("\n").as_bytes()))
            {
                return Err(untrusted(format!(
                    "its tag list pages loop back to a page already read ({url} repeats its tags)"
                )));
            }
            visit(&page_tags);
            if let Some(link) = link {
                let resolved = Url::parse(&url)
                    .and_then(|current| current.join(&link))
                    .map_err(|_| untrusted(format!("its tag list `Link` `{link}` is not a URL")))?;
                if !same_origin(&resolved, &base) {
                    return Err(untrusted(format!("its tag list continues on {}, another host", origin_of(&resolved))));
                }
                next = Some(resolved.to_string());
            }
        }
        Ok(())
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
            origin: self.origin(&reference.registry),
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

    /// Sends a request to the registry itself with the authorization for its scope: a cached
    /// one, or one obtained ahead when the registry challenged before; answers one 401 challenge.
    async fn send<T>(
        &self,
        reference: &ImageReference,
        access: Access,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, Attempt<T>> {
        let scope = scope_of(reference, access);
        let key = format!("{}|{scope}", reference.registry);
        let mut authorization = self.cached_authorization(&key);
        if authorization.is_none()
            && let Some(challenge) = self.known_challenge(&reference.registry)
        {
            authorization = Some(self.authenticate(reference, &scope, &challenge).await?);
        }
        let response = self.execute(authorize(build(), authorization.as_deref())).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
            .unwrap_or_default();
        if let Ok(mut challenges) = self.challenges.lock() {
            challenges.insert(reference.registry.clone(), challenge.clone());
        }
        // What was sent (if anything) was not good enough: ask again.
        if let Ok(mut cache) = self.authorizations.lock() {
            cache.remove(&key);
        }
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

    /// Sends one request. A failure whose cause is this machine's configuration (see
    /// [`misconfiguration`]) fails at once, and so does every later request to that registry;
    /// any other failure is an unknown answer, retried by the caller.
    async fn execute<T>(&self, request: RequestBuilder) -> Result<Response, Attempt<T>> {
        let (client, request) = request.build_split();
        let request = request.map_err(|error| unknown(error_text(&error)))?;
        let authority = authority_of(request.url());
        let insecure = request.url().scheme() == "http";
        if let Some((problem, fix)) = self.misconfigured.lock().ok().and_then(|known| known.get(&authority).cloned()) {
            return Err(Attempt::Failed(RegistryError::Misconfigured {
                registry: authority.clone(),
                problem,
                fix,
                origin: self.origin(&authority),
            }));
        }
        match client.execute(request).await {
            Ok(response) if insecure && response.status() == StatusCode::BAD_REQUEST => {
                self.unless_https_answered(response, &authority).await
            }
            Ok(response) => Ok(response),
            Err(error) => match misconfiguration(&error, &authority, insecure) {
                Some((problem, fix)) => {
                    tracing::debug!(registry = %authority, %problem, "the registry cannot work as configured");
                    if let Ok(mut known) = self.misconfigured.lock() {
                        known.insert(authority.clone(), (problem.clone(), fix.clone()));
                    }
                    let origin = self.origin(&authority);
                    Err(Attempt::Failed(RegistryError::Misconfigured { registry: authority, problem, fix, origin }))
                }
                None => Err(Attempt::Unknown { problem: error_text(&error), retry_after: None }),
            },
        }
    }

    /// A 400 to a plain-HTTP request whose text says the port speaks HTTPS (Go's servers, like
    /// `docker-registry`: "Client sent an HTTP request to an HTTPS server"; nginx: "The plain HTTP
    /// request was sent to HTTPS port") means the registry is listed insecure by mistake: bad
    /// input, at once. Any other 400 is given back as it came (rebuilt from what was read).
    async fn unless_https_answered<T>(&self, mut response: Response, authority: &str) -> Result<Response, Attempt<T>> {
        let (status, version, headers) = (response.status(), response.version(), response.headers().clone());
        let body = crate::io::registry::answer::read_capped(&mut response, 4096, "an error answer")
            .await
            .map_err(|problem| unknown(problem))?;
        let text = String::from_utf8_lossy(&body).to_ascii_lowercase();
        // Go writes its answer raw, HTTP/1.0 without a single header; to a HEAD request its text
        // is not read as a body.
        let raw_go_answer = version == reqwest::Version::HTTP_10 && headers.is_empty();
        if raw_go_answer || text.contains("https server") || text.contains("https port") {
            let problem = "it answers in HTTPS, not plain HTTP".to_string();
            let fix = format!(
                "take `{authority}` off --insecure-registry (and RHDH_CATALOG_INSECURE_REGISTRIES); if its certificate is not trusted here, point {EXTRA_CA_ENV} at the CA that signed it"
            );
            if let Ok(mut known) = self.misconfigured.lock() {
                known.insert(authority.to_string(), (problem.clone(), fix.clone()));
            }
            let origin = self.origin(authority);
            return Err(Attempt::Failed(RegistryError::Misconfigured {
                registry: authority.to_string(),
                problem,
                fix,
                origin,
            }));
        }
        let mut rebuilt = http::Response::builder().status(status).version(version);
        if let Some(all) = rebuilt.headers_mut() {
            *all = headers;
        }
        rebuilt.body(body).map(Response::from).map_err(|error| unknown(error.to_string()))
    }

    fn cached_authorization(&self, key: &str) -> Option<String> {
        let cache = self.authorizations.lock().ok()?;
        let found = cache.get(key)?;
        match found.usable_until {
            Some(until) if Instant::now() >= until => None,
            _ => Some(found.value.clone()),
        }
    }

    fn known_challenge(&self, registry: &str) -> Option<String> {
        self.challenges.lock().ok()?.get(registry).cloned()
    }

    fn token_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.token_locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(locks.entry(key.to_string()).or_default())
    }

    /// Answers a `WWW-Authenticate` challenge for `scope`: basic credentials, or a bearer token
    /// from the realm. One request per scope at a time; a usable cached answer is reused.
    async fn authenticate<T>(
        &self,
        reference: &ImageReference,
        scope: &str,
        challenge: &str,
    ) -> Result<String, Attempt<T>> {
        let registry = &reference.registry;
        let key = format!("{registry}|{scope}");
        let lock = self.token_lock(&key);
        let _single = lock.lock().await;
        if let Some(value) = self.cached_authorization(&key) {
            return Ok(value);
        }
        let credentials = credentials_for(reference);
        let refused = |problem: String| {
            Attempt::Failed(RegistryError::Unauthorized { registry: registry.clone(), what: reference.name(), problem })
        };
        let (scheme, parameters) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            let Some(Credential { user, password, .. }) = credentials else {
                return Err(refused("the registry wants a user name and password and none are configured".into()));
            };
            let value = basic_value(&user, &password);
            self.remember(&key, &value, None);
            return Ok(value);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(refused(format!("unsupported authentication challenge `{scheme}`")));
        }
        let Some(realm) = parameters.get("realm") else {
            return Err(refused("bearer challenge without a realm".into()));
        };
        let realm = self.trusted_realm(realm).map_err(|problem| {
            Attempt::Failed(RegistryError::Untrusted { registry: registry.clone(), what: reference.name(), problem })
        })?;
        let mut request = self.http.get(realm.as_str()).query(&[("scope", scope)]);
        if let Some(service) = parameters.get("service") {
            request = request.query(&[("service", service.as_str())]);
        }
        if let Some(Credential { user, password, .. }) = &credentials {
            request = request.header(AUTHORIZATION, basic_value(user, password));
        }
        let asked = Instant::now();
        let mut response = self.execute(request).await?;
        let status = response.status();
        let who = credentials.as_ref().map_or_else(
            || "anonymous access".to_string(),
            |found| format!("the credentials of `{}` ({})", found.user, found.source),
        );
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(refused(format!(
                "the token service {} refused {who} for {scope} (HTTP {})",
                origin_of(&realm),
                status.as_u16()
            )));
        }
        if status.is_redirection() {
            return Err(unknown(format!(
                "the token service {} answered with a redirect (HTTP {}), which is not followed",
                origin_of(&realm),
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(Attempt::Unknown {
                problem: format!("token service {} answered HTTP {}", origin_of(&realm), status.as_u16()),
                retry_after: retry_after_of(response.headers()),
            });
        }
        let body = read_capped(&mut response, MAX_TOKEN_BYTES as u64, "the token answer").await.map_err(unknown)?;
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|error| unknown(format!("reading the token: {error}")))?;
        let Some(token) = token.token.clone().or(token.access_token.clone()).filter(|token| !token.is_empty()) else {
            return Err(refused(format!("the token service {} returned no token", origin_of(&realm))));
        };
        let lifetime = token_lifetime(&body);
        let value = format!("Bearer {token}");
        let margin = TOKEN_RENEWAL_MARGIN.min(lifetime / 4);
        self.remember(&key, &value, Some(asked + lifetime.saturating_sub(margin)));
        Ok(value)
    }

    fn remember(&self, key: &str, value: &str, usable_until: Option<Instant>) {
        if let Ok(mut cache) = self.authorizations.lock() {
            cache.insert(key.to_string(), Authorization { value: value.to_string(), usable_until });
        }
    }

    /// The realm URL when credentials and token requests may go there: https, or plain HTTP on a
    /// host itself listed as insecure.
    fn trusted_realm(&self, realm: &str) -> Result<Url, String> {
        let url = Url::parse(realm).map_err(|_| format!("its token realm `{realm}` is not a URL"))?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.is_insecure(&authority_of(&url)) => Ok(url),
            "http" => Err(format!(
                "it sends clients for tokens to {realm}, plain HTTP on {host}, which is not listed as insecure; no credentials or token requests were sent there (list {host} with --insecure-registry only if it is a trusted local service)",
                host = authority_of(&url)
            )),
            other => Err(format!("its token realm `{realm}` uses the scheme `{other}`")),
        }
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

/// `expires_in` of a token answer (seconds), else the spec's default of 60.
fn token_lifetime(body: &[u8]) -> Duration {
    #[derive(serde::Deserialize)]
    struct Expiry {
        expires_in: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Expiry>(body)
        .ok()
        .and_then(|expiry| expiry.expires_in)
        .and_then(|value| {
            value
                .as_u64()
                .map(Duration::from_secs)
                .or_else(|| value.as_f64().and_then(|seconds| Duration::try_from_secs_f64(seconds.max(0.0)).ok()))
        })
        .unwrap_or(DEFAULT_TOKEN_LIFETIME)
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

/// `host[:port]` as written in the URL (the form `--insecure-registry` takes).
fn authority_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// `scheme://host[:port]`, for messages (never a path, query or user information).
fn origin_of(url: &Url) -> String {
    format!("{}://{}", url.scheme(), authority_of(url))
}

fn same_origin(url: &Url, base: &str) -> bool {
    Url::parse(base).is_ok_and(|base| {
        base.scheme() == url.scheme()
            && base.host_str() == url.host_str()
            && base.port_or_known_default() == url.port_or_known_default()
    })
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
        // Only blob downloads follow redirects; anything else must come from the registry itself.
        status if status.is_redirection() => {
            let to = headers
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|location| Url::parse(location).ok())
                .map_or_else(|| "elsewhere".to_string(), |url| origin_of(&url));
            unknown(format!(
                "it answered with a redirect (HTTP {}) to {to}; a manifest must come from the registry itself, so it is not followed (check the registry, or point --store at a mirror that serves manifests)",
                status.as_u16()
            ))
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

/// reqwest's error with its source chain (our URLs never carry credentials).
pub(super) fn error_text(error: &reqwest::Error) -> String {
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

/// Why a request failed when the cause is how the registry is configured on this machine, so a
/// retry cannot help: `(problem, fix)`. A registry answering plain HTTP to HTTPS, a certificate
/// this machine does not trust or that is for another name (or expired), a host that does not
/// exist (NXDOMAIN: "Name or service not known"). A refused connection, a timeout or a DNS
/// server that did not answer ("Temporary failure") is not: those may pass.
fn misconfiguration(error: &reqwest::Error, authority: &str, plain_http: bool) -> Option<(String, String)> {
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    let mut causes: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        causes.push(cause);
        if let Some(inner) = cause.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            causes.push(inner);
        }
        source = cause.source();
    }
    for cause in &causes {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return tls_misconfiguration(tls, authority, host);
        }
    }
    // The TLS error as text where a layer between reqwest and rustls hides its type.
    let text: String = causes.iter().map(ToString::to_string).collect::<Vec<_>>().join(": ");
    if !plain_http && (text.contains("InvalidContentType") || text.contains("corrupt message")) {
        return Some(plain_http_answer(authority));
    }
    let certificate = [
        ("UnknownIssuer", rustls::CertificateError::UnknownIssuer),
        ("unknown issuer", rustls::CertificateError::UnknownIssuer),
        ("BadSignature", rustls::CertificateError::BadSignature),
        ("not valid for name", rustls::CertificateError::NotValidForName),
        ("NotValidForName", rustls::CertificateError::NotValidForName),
        ("Expired", rustls::CertificateError::Expired),
        ("certificate expired", rustls::CertificateError::Expired),
        ("NotValidYet", rustls::CertificateError::NotValidYet),
        ("not valid yet", rustls::CertificateError::NotValidYet),
    ];
    if let Some((_, error)) = certificate.into_iter().find(|(words, _)| text.contains(words)) {
        return tls_misconfiguration(&rustls::Error::InvalidCertificate(error), authority, host);
    }
    if text.contains("invalid peer certificate") {
        return Some((
            format!("its TLS certificate is not accepted ({})", text.rsplit(": ").next().unwrap_or(&text)),
            trust_fix(),
        ));
    }
    let no_such_host =
        ["Name or service not known", "No address associated with hostname", "nodename nor servname provided"];
    if no_such_host.iter().any(|words| text.contains(words)) {
        return Some((
            format!("the host `{host}` does not exist (DNS knows no such name)"),
            "check the spelling of the host, or the network's DNS settings".to_string(),
        ));
    }
    None
}

fn plain_http_answer(authority: &str) -> (String, String) {
    (
        "it answers in plain HTTP, not HTTPS".to_string(),
        format!(
            "if it is a registry you trust on this machine or network, add `--insecure-registry {authority}` (or list it in RHDH_CATALOG_INSECURE_REGISTRIES)"
        ),
    )
}

fn trust_fix() -> String {
    format!(
        "if the certificate is right, point {EXTRA_CA_ENV} at a PEM file of the CA that signed it (or add that CA to this machine's trust store)"
    )
}

fn tls_misconfiguration(error: &rustls::Error, authority: &str, host: &str) -> Option<(String, String)> {
    use rustls::{CertificateError, Error, InvalidMessage};
    match error {
        Error::InvalidMessage(InvalidMessage::InvalidContentType) => Some(plain_http_answer(authority)),
        Error::InvalidCertificate(certificate) => Some(match certificate {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                ("its TLS certificate is signed by a CA this machine does not trust".to_string(), trust_fix())
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
                format!("its TLS certificate is not valid for the name `{host}`"),
                "use the host name the certificate was issued for, or give the registry a certificate for this name"
                    .to_string(),
            ),
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => (
                "its TLS certificate has expired or is not valid yet".to_string(),
                "renew the registry's certificate, or check this machine's clock".to_string(),
            ),
            other => (format!("its TLS certificate is not accepted ({other:?})"), trust_fix()),
        }),
        _ => None,
    }
}

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
        assert!(matches!(
            classify_status::<()>(&reference, "x", StatusCode::FOUND, &headers),
            Some(Attempt::Unknown { .. })
        ));
        assert!(classify_status::<()>(&reference, "x", StatusCode::OK, &headers).is_none());
    }

    #[test]
    fn realms_are_https_or_listed_insecure() {
        let client = RegistryClient::new(ClientOptions {
            insecure_registries: vec!["127.0.0.1:5001".into()],
            ..ClientOptions::default()
        })
        .unwrap();
        assert!(client.trusted_realm("https://auth.example/token").is_ok());
        assert!(client.trusted_realm("http://127.0.0.1:5001/token").is_ok());
        let refused = client.trusted_realm("http://127.0.0.1:5002/token").unwrap_err();
        assert!(refused.contains("127.0.0.1:5002") && refused.contains("--insecure-registry"), "{refused}");
        assert!(client.trusted_realm("ftp://auth.example/token").is_err());
        assert!(client.trusted_realm("/token").is_err());
    }

    #[test]
    fn token_lifetimes() {
        assert_eq!(token_lifetime(br#"{"token":"t","expires_in":300}"#), Duration::from_secs(300));
        assert_eq!(token_lifetime(br#"{"token":"t"}"#), DEFAULT_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(br#"{"token":"t","expires_in":"x"}"#), DEFAULT_TOKEN_LIFETIME);
    }

    #[test]
    fn origins() {
        let url = Url::parse("https://user:secret@cdn.example:8443/path?sig=abc").unwrap();
        assert_eq!(origin_of(&url), "https://cdn.example:8443");
        assert!(same_origin(&Url::parse("https://quay.io/v2/x").unwrap(), "https://quay.io"));
        assert!(same_origin(&Url::parse("https://quay.io:443/v2/x").unwrap(), "https://quay.io"));
        assert!(!same_origin(&Url::parse("http://quay.io/v2/x").unwrap(), "https://quay.io"));
        assert!(!same_origin(&Url::parse("https://cdn.quay.io/v2/x").unwrap(), "https://quay.io"));
    }
}
