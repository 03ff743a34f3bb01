//! `catalog-index/index.json`: every plugin of the index keyed by image name, each pinned by digest.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::formats::package::SupportLevel;
use crate::formats::plugin_builds::ImageMetadata;

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct IndexEntry {
    #[serde(rename = "workspacePath")]
    pub(crate) workspace_path: String,
    /// `<registry>/<image>@sha256:<digest>`.
    #[serde(rename = "registryReference")]
    pub(crate) registry_reference: String,
    #[serde(rename = "build-date", default, skip_serializing_if = "Option::is_none")]
    pub(crate) build_date: Option<String>,
    #[serde(rename = "vcs-ref", default, skip_serializing_if = "Option::is_none")]
    pub(crate) vcs_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) upstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) midstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) support: Option<SupportLevel>,
    #[serde(rename = "io.backstage.dynamic-packages", default, skip_serializing_if = "Option::is_none")]
    pub(crate) dynamic_packages: Option<String>,
    /// The tag the digest was resolved from.
    #[serde(rename = "imageTag")]
    pub(crate) image_tag: String,
    /// `true` when `imageTag` is not the tag the plugin's metadata asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) fallback: bool,
    /// The tag the metadata asked for, when a fallback was pinned instead.
    #[serde(rename = "requestedTag", default, skip_serializing_if = "Option::is_none")]
    pub(crate) requested_tag: Option<String>,
}

impl IndexEntry {
    /// The build metadata this entry records (the same fields `plugin_builds/` records, in
    /// index.json's own key order).
    pub(crate) fn metadata(&self) -> ImageMetadata {
        ImageMetadata {
            build_date: self.build_date.clone(),
            upstream: self.upstream.clone(),
            midstream: self.midstream.clone(),
            vcs_ref: self.vcs_ref.clone(),
        }
    }
}

/// Sorted by image name.
pub(crate) type IndexJson = IndexMap<String, IndexEntry>;

/// Parses the `index.json` at `path` from its `text`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<IndexJson, InputError> {
    crate::formats::json::from_str(path, text)
}
