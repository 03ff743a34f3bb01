//! How each planned plugin ends up pinned: what the registry answered ([`Resolution`]), the pin
//! made from it or kept from the previous index ([`Pin`]), and the plugin's [`PluginStatus`].

use serde::Serialize;

use crate::formats::image_reference::{Digest, ImageReference};
use crate::formats::index_json::IndexEntry;
use crate::formats::oci::{DYNAMIC_PACKAGES_ANNOTATION, ImageFacts};
use crate::formats::plugin_builds::ImageMetadata;

/// What the registry said about a planned plugin's image.
#[derive(Clone, Debug)]
pub(crate) enum Resolution {
    Present(ImageFacts),
    /// The requested tag does not exist; `resolved_tag` of the same image stands in.
    Fallback {
        facts: ImageFacts,
        resolved_tag: String,
    },
    Missing,
    /// An index without a platform we require.
    MissingPlatforms(Vec<String>),
}

/// What a run does with a plugin whose requested tag the registry does not have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OnMissing {
    /// Fail the run; write nothing.
    #[default]
    Fail,
    /// Keep the previous index's digest, else leave the plugin out.
    Previous,
    /// Pin the highest existing tag of the same image (see [`super::fallback`]), else as `Previous`.
    OlderTag,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum PluginStatus {
    /// Pinned to the digest of its requested tag.
    Pinned,
    /// The requested tag is missing; another tag of the same image was pinned.
    Fallback,
    /// The requested tag is missing; the previous index entry was kept.
    Stale,
    /// The requested tag is missing and there was no previous entry: left out.
    Missing,
}

/// How one plugin ends up pinned: the reference, digest and facts written everywhere.
pub(crate) struct Pin {
    /// The reference as pinned: the requested tag, or the tag that stood in for it.
    pub(crate) reference: ImageReference,
    pub(crate) digest: Digest,
    /// The `linux/amd64` manifest's digest when `digest` is an image index.
    pub(crate) platform_digest: Option<Digest>,
    pub(crate) metadata: ImageMetadata,
    pub(crate) dynamic_packages: Option<String>,
}

impl Pin {
    pub(crate) fn pinned_reference(&self) -> String {
        self.reference.pinned(&self.digest)
    }

    pub(crate) fn tag(&self) -> &str {
        self.reference.tag.as_deref().unwrap_or_default()
    }

    pub(crate) fn tag_comment(&self) -> String {
        match &self.metadata.build_date {
            Some(date) => format!("Tag: {}, Build date: {date}", self.tag()),
            None => format!("Tag: {}", self.tag()),
        }
    }
}

pub(crate) fn pin_from_facts(reference: ImageReference, digest: Digest, facts: &ImageFacts) -> Pin {
    Pin {
        reference,
        digest,
        platform_digest: facts.platform_digest.clone(),
        metadata: ImageMetadata::from_facts(facts),
        dynamic_packages: facts.annotations.get(DYNAMIC_PACKAGES_ANNOTATION).cloned().filter(|value| !value.is_empty()),
    }
}

/// The pin a previous index recorded, for a plugin whose new tag is missing.
pub(crate) fn pin_from_previous(entry: &IndexEntry) -> Option<Pin> {
    let pinned = ImageReference::parse(&entry.registry_reference).ok()?;
    let digest = pinned.digest.clone()?;
    let reference = ImageReference { tag: Some(entry.image_tag.clone()), digest: None, ..pinned };
    Some(Pin {
        reference,
        digest,
        platform_digest: None,
        metadata: entry.metadata(),
        dynamic_packages: entry.dynamic_packages.clone(),
    })
}
