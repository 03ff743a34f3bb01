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
/// that the caller turns an absent image into a per-plugin report instead of an error.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "registry {registry} gave no usable answer for {what} after {attempts} attempts: {problem} (a retry may help; if it persists, check that registry or the --store mirror)"
    )]
    Unavailable { registry: String, what: String, attempts: u32, problem: String },
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
