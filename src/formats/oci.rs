//! OCI image values the catalog reads and records: the facts of an image (digest, annotations,
//! labels, environment, platforms, layers) and content descriptors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::formats::image_reference::Digest;

/// The manifest annotation `rhdh-cli plugin package` writes: base64 JSON naming the plugin folders.
pub const DYNAMIC_PACKAGES_ANNOTATION: &str = "io.backstage.dynamic-packages";

/// What we read from an image for the catalog.
#[derive(Clone, Debug, Default)]
pub struct ImageFacts {
    /// Digest of what the tag points at (an index when the image is multi-platform).
    pub digest: Option<Digest>,
    /// When `digest` is an image index: the digest of its `linux/amd64` manifest (what
    /// `skopeo inspect` of that one architecture shows).
    pub platform_digest: Option<Digest>,
    pub media_type: String,
    /// Manifest annotations (the index's own, else the chosen platform manifest's).
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    /// `os/architecture` of each platform of an index; the single platform otherwise.
    pub platforms: Vec<String>,
    /// Layers of the chosen platform manifest, in order.
    pub layers: Vec<Descriptor>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
}

/// Facts recorded by an earlier run, by manifest digest. A digest names exactly one manifest and so
/// one config: what was read for it once is still true, and the config fetch (the most expensive
/// request a registry serves) can be skipped.
pub type KnownFacts = std::collections::HashMap<Digest, ImageFacts>;
