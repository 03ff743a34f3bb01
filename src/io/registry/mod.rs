//! Registry edge: the only code that talks to OCI registries or OCI layout directories.
//!
//! - image references and digests are values of [`crate::formats::image_reference`].
//! - [`client`]: a small OCI distribution client (HTTP, token and basic auth, retries with
//!   jittered backoff, tri-state answers) that a misbehaving registry cannot fool.
//! - [`answer`]: bounded reading of registry answers and the check that a manifest is one.
//! - [`credentials`]: which credentials go to which repository (longest path key first).
//! - [`layout`]: the same operations on an OCI image-layout directory (the local default store).
//! - [`store`]: one type over both, plus the mirror mapping from the names written in outputs to
//!   the place images are actually read from or pushed to.
//! - [`image`]: reading an image's build facts and building reproducible single-layer images.

pub mod answer;
pub mod client;
pub mod credentials;
pub mod image;
pub mod layout;
pub mod plugin_image;
pub mod store;
pub mod trusted_artifact;

pub use crate::formats::image_reference::{Digest, ImageReference, RegistryPrefix};
pub use client::{ClientOptions, RegistryClient};
/// The reference types, where they have always been found.
pub mod reference {
    pub use crate::formats::image_reference::{Digest, ImageReference, RegistryPrefix};
}
pub use store::Store;

/// Media types we ask for and understand.
pub mod media_type {
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

    pub fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_LIST
    }
}

/// A manifest as the registry stored it: the digest is of exactly these bytes.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// Failures of a registry or layout store. All of them may go away on a retry (exit 3), except
/// a registry that cannot work as configured here ([`RegistryError::Misconfigured`], exit 2) and
/// an absent image, which the caller turns into a per-plugin report instead of an error.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "registry {registry} gave no usable answer for {what} after {attempts} attempts: {problem}{}",
        unavailable_hint(.problem, .origin)
    )]
    Unavailable { registry: String, what: String, attempts: u32, problem: String, origin: Option<String> },
    /// The registry cannot work as it is configured on this machine: it answers plain HTTP to
    /// HTTPS, its certificate is not trusted or not for its name, its host does not exist. A
    /// retry cannot help (exit 2); `fix` is the concrete change.
    #[error("registry {registry}{}: {problem}; {fix}", named_by(.origin))]
    Misconfigured { registry: String, problem: String, fix: String, origin: Option<String> },
    #[error(
        "registry {registry} refused access to {what}: {problem} (check the credentials in REGISTRY_AUTH_FILE or ~/.docker/config.json)"
    )]
    Unauthorized { registry: String, what: String, problem: String },
    #[error("registry {registry} rejected {what} with HTTP {status}: {problem}")]
    Rejected { registry: String, what: String, status: u16, problem: String },
    /// The registry asked for something this client will not do (send credentials or token
    /// requests somewhere untrusted, page or upload on another host). Not retried.
    #[error("registry {registry} gave an answer that cannot be trusted for {what}: {problem}")]
    Untrusted { registry: String, what: String, problem: String },
    #[error("OCI layout {path}: {problem}")]
    Layout { path: String, problem: String },
}

/// ` (named by …)` when the place the host came from is known.
// thiserror hands the field over as `&Option<String>`.
#[allow(clippy::ref_option)]
fn named_by(origin: &Option<String>) -> String {
    origin.as_ref().map(|origin| format!(" (named by {origin})")).unwrap_or_default()
}

/// What to do about a registry that did not answer, by what went wrong.
#[allow(clippy::ref_option)]
fn unavailable_hint(problem: &str, origin: &Option<String>) -> String {
    let lower = problem.to_ascii_lowercase();
    let what = if lower.contains("connection refused") {
        "nothing accepts connections there (is it running?): "
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "it did not answer in time: "
    } else {
        ""
    };
    let named = origin.as_ref().map(|origin| format!("; its host is named by {origin}")).unwrap_or_default();
    format!(" ({what}a retry may help; if it persists, check that registry or the --store mirror{named})")
}

impl RegistryError {
    /// One short phrase for an outage: which service and what happened, the same for every
    /// request that failed for the same reason (the status page groups plugins by it).
    pub fn outage(&self) -> Option<String> {
        match self {
            RegistryError::Unavailable { registry, problem, .. } => {
                let lower = problem.to_ascii_lowercase();
                let kind = if lower.contains("connection refused") {
                    "refuses connections"
                } else if lower.contains("timed out") || lower.contains("timeout") {
                    "does not answer in time"
                } else if lower.contains("dns") || lower.contains("lookup") {
                    "cannot be resolved right now (DNS)"
                } else if lower.starts_with("http 5") {
                    "answers with server errors"
                } else if lower.starts_with("http 429") {
                    "rate-limits the requests"
                } else {
                    "gives no usable answer"
                };
                Some(format!("registry {registry} {kind}"))
            }
            RegistryError::Misconfigured { registry, problem, .. } => Some(format!("registry {registry}: {problem}")),
            RegistryError::Unauthorized { registry, .. } => {
                Some(format!("registry {registry} refuses the credentials"))
            }
            _ => None,
        }
    }
}
