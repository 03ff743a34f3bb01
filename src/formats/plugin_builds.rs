//! `plugin_builds/<ws>/<image>.json`: which image build stands for one plugin, with the build
//! metadata read from the registry. One object keyed by the image name.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::formats::image_reference::Digest;
use crate::formats::oci::{DYNAMIC_PACKAGES_ANNOTATION, ImageFacts};
use crate::formats::package::SupportLevel;

/// Build metadata recorded per plugin, as the upstream generator records it (key order included).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct PluginBuild {
    #[serde(rename = "workspacePath")]
    pub(crate) workspace_path: String,
    /// `<registry>/<image>:<tag>`.
    #[serde(rename = "registryReference")]
    pub(crate) registry_reference: String,
    /// `true` when `registryReference` names another tag than the requested one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) fallback: bool,
    /// The tag the plugin's metadata asked for, when a fallback was pinned instead.
    #[serde(rename = "requestedTag", default, skip_serializing_if = "Option::is_none")]
    pub(crate) requested_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<Digest>,
    #[serde(flatten)]
    pub(crate) image: ImageMetadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) support: Option<SupportLevel>,
    #[serde(rename = "io.backstage.dynamic-packages", default, skip_serializing_if = "Option::is_none")]
    pub(crate) dynamic_packages: Option<String>,
    /// When `digest` is an image index: its `linux/amd64` manifest's digest.
    #[serde(rename = "platformDigest", default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform_digest: Option<Digest>,
}

/// Labels and environment of the image config that say where a build came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct ImageMetadata {
    #[serde(rename = "build-date", default, skip_serializing_if = "Option::is_none")]
    pub(crate) build_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) upstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) midstream: Option<String>,
    #[serde(rename = "vcs-ref", default, skip_serializing_if = "Option::is_none")]
    pub(crate) vcs_ref: Option<String>,
}

/// Labels and environment variables that carry [`ImageMetadata`] in an image config.
const LABELS: [&str; 2] = ["build-date", "vcs-ref"];
const ENVIRONMENT: [&str; 2] = ["UPSTREAM_REPO", "MIDSTREAM_REPO"];

impl ImageMetadata {
    /// The metadata an image's config carries (empty values count as absent).
    pub(crate) fn from_facts(facts: &ImageFacts) -> ImageMetadata {
        let label = |key: &str| facts.labels.get(key).cloned().filter(|value| !value.is_empty());
        let env = |key: &str| facts.env.get(key).cloned().filter(|value| !value.is_empty());
        ImageMetadata {
            build_date: label(LABELS[0]),
            vcs_ref: label(LABELS[1]),
            upstream: env(ENVIRONMENT[0]),
            midstream: env(ENVIRONMENT[1]),
        }
    }

    /// The facts a recorded build stands for: the inverse of [`ImageMetadata::from_facts`], plus
    /// the dynamic-packages annotation when one was recorded.
    pub(crate) fn to_facts(&self, dynamic_packages: Option<&str>) -> ImageFacts {
        let mut facts = ImageFacts::default();
        for (key, value) in LABELS.iter().zip([&self.build_date, &self.vcs_ref]) {
            if let Some(value) = value {
                facts.labels.insert((*key).to_string(), value.clone());
            }
        }
        for (key, value) in ENVIRONMENT.iter().zip([&self.upstream, &self.midstream]) {
            if let Some(value) = value {
                facts.env.insert((*key).to_string(), value.clone());
            }
        }
        if let Some(value) = dynamic_packages {
            facts.annotations.insert(DYNAMIC_PACKAGES_ANNOTATION.to_string(), value.to_string());
        }
        facts
    }
}

pub(crate) type PluginBuildFile = IndexMap<String, PluginBuild>;

pub(crate) fn parse(path: &Path, text: &str) -> Result<PluginBuildFile, InputError> {
    let file: PluginBuildFile = crate::formats::json::from_str(path, text)?;
    if file.len() != 1 {
        return Err(InputError::in_file(
            path,
            format!("holds {} entries, expected exactly one keyed by the image name", file.len()),
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_matches_the_upstream_files() {
        let build = PluginBuild {
            workspace_path: "global-header/plugins/global-header".into(),
            registry_reference: "ghcr.io/x/y:bs_1.52.0__2.0.0".into(),
            digest: Some(Digest::parse(&format!("sha256:{}", "85".repeat(32))).unwrap()),
            image: ImageMetadata {
                build_date: Some("2026-06-03T21:16:21Z".into()),
                upstream: Some("u".into()),
                midstream: Some("m".into()),
                vcs_ref: Some("v".into()),
            },
            support: Some(SupportLevel::GenerallyAvailable),
            dynamic_packages: Some("W3".into()),
            fallback: false,
            requested_tag: None,
            platform_digest: None,
        };
        let text = serde_json::to_string(&build).unwrap();
        assert_eq!(
            text,
            r#"{"workspacePath":"global-header/plugins/global-header","registryReference":"ghcr.io/x/y:bs_1.52.0__2.0.0","digest":"sha256:8585858585858585858585858585858585858585858585858585858585858585","build-date":"2026-06-03T21:16:21Z","upstream":"u","midstream":"m","vcs-ref":"v","support":"generally-available","io.backstage.dynamic-packages":"W3"}"#
        );
        let back: PluginBuild = serde_json::from_str(&text).unwrap();
        assert_eq!(back, build);
    }
}
