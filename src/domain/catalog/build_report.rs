//! `build-report.json`: for every plugin of the run, each stage it went through and how it ended,
//! in the upstream generator's key names so its existing consumers read it. Made fresh by every
//! run from that run's outcomes only; it stays out of the published index image.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::pin::PluginStatus;
use super::render::PluginOutcome;
use crate::formats::image_reference::Digest;

#[derive(Clone, Debug, Serialize)]
pub(crate) struct BuildReport {
    pub(crate) metadata: ReportMetadata,
    pub(crate) summary: ReportSummary,
    /// By image name.
    pub(crate) plugins: BTreeMap<String, PluginStages>,
}

/// Filled in by the release side; the index step knows neither.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct ReportMetadata {
    #[serde(rename = "catalog-index-image")]
    pub(crate) catalog_index_image: Option<String>,
    #[serde(rename = "last-successful-publish")]
    pub(crate) last_successful_publish: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct ReportSummary {
    pub(crate) total: usize,
    pub(crate) succeeded: usize,
    pub(crate) failed: usize,
    /// `success` when every plugin is pinned at its requested tag, `partial` otherwise.
    pub(crate) status: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct PluginStages {
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) workspace: String,
    pub(crate) stages: Stages,
    pub(crate) overall: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) action: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Stages {
    pub(crate) bootstrap: Stage,
    #[serde(rename = "image-metadata-fetch")]
    pub(crate) image_metadata_fetch: Stage,
    pub(crate) dpdy: Stage,
    #[serde(rename = "catalog-index")]
    pub(crate) catalog_index: Stage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    Pass,
    Fail,
    Skip,
}

/// One stage: its outcome, why when it did not pass, and what it found.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Stage {
    pub(crate) status: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) oci_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<Digest>,
    #[serde(rename = "platformDigest", skip_serializing_if = "Option::is_none")]
    pub(crate) platform_digest: Option<Digest>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) fallback: bool,
    #[serde(rename = "requestedTag", skip_serializing_if = "Option::is_none")]
    pub(crate) requested_tag: Option<String>,
    #[serde(rename = "resolvedTag", skip_serializing_if = "Option::is_none")]
    pub(crate) resolved_tag: Option<String>,
}

impl Stage {
    fn new(status: Outcome, reason: Option<String>) -> Stage {
        Stage {
            status,
            reason,
            oci_ref: None,
            digest: None,
            platform_digest: None,
            fallback: false,
            requested_tag: None,
            resolved_tag: None,
        }
    }
}

/// The report of one run. `has_dynamic_plugins` says whether a `default.packages.yaml` was
/// selected at all; `in_dynamic_plugins` holds the npm names that got an entry.
pub(crate) fn build_report(
    outcomes: &[PluginOutcome<'_>],
    has_dynamic_plugins: bool,
    in_dynamic_plugins: &BTreeSet<&str>,
) -> BuildReport {
    let mut plugins = BTreeMap::new();
    for outcome in outcomes {
        let plugin = outcome.plugin;
        let requested = plugin.reference.tag.clone().unwrap_or_default();
        let mut bootstrap = Stage::new(Outcome::Pass, None);
        bootstrap.oci_ref = Some(plugin.reference.to_string());
        let pinned_here = matches!(outcome.status, PluginStatus::Pinned | PluginStatus::Fallback);
        let mut fetch = Stage::new(
            if pinned_here { Outcome::Pass } else { Outcome::Fail },
            outcome.detail.clone().filter(|_| outcome.status != PluginStatus::Pinned),
        );
        if let Some(pin) = outcome.pin.as_ref().filter(|_| pinned_here) {
            fetch.digest = Some(pin.digest.clone());
            fetch.platform_digest.clone_from(&pin.platform_digest);
            fetch.resolved_tag = Some(pin.tag().to_string());
        }
        if outcome.status == PluginStatus::Fallback {
            fetch.fallback = true;
            fetch.requested_tag = Some(requested.clone());
        }
        let dpdy = if !has_dynamic_plugins {
            Stage::new(Outcome::Skip, Some("no default.packages.yaml was selected".into()))
        } else if in_dynamic_plugins.contains(plugin.package_name()) {
            Stage::new(Outcome::Pass, None)
        } else if outcome.pin.is_none() {
            Stage::new(Outcome::Skip, Some("no image to point at".into()))
        } else {
            Stage::new(Outcome::Skip, Some("not in default.packages.yaml".into()))
        };
        let catalog_index = match (&outcome.pin, outcome.status) {
            (Some(_), PluginStatus::Stale) => {
                Stage::new(Outcome::Pass, Some("the previous index's digest was kept".into()))
            }
            (Some(_), _) => Stage::new(Outcome::Pass, None),
            (None, _) => Stage::new(Outcome::Fail, Some("left out: no image to pin".into())),
        };
        let overall = if fetch.status == Outcome::Pass && catalog_index.status == Outcome::Pass {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        plugins.insert(
            plugin.image.clone(),
            PluginStages {
                package: plugin.package_name().to_string(),
                version: plugin.version.clone(),
                workspace: plugin.workspace().to_string(),
                stages: Stages { bootstrap, image_metadata_fetch: fetch, dpdy, catalog_index },
                overall,
                action: outcome.action(),
            },
        );
    }
    let succeeded = plugins.values().filter(|plugin| plugin.overall == Outcome::Pass).count();
    let all_requested = outcomes.iter().all(|outcome| outcome.status == PluginStatus::Pinned);
    BuildReport {
        metadata: ReportMetadata::default(),
        summary: ReportSummary {
            total: plugins.len(),
            succeeded,
            failed: plugins.len() - succeeded,
            status: if all_requested { "success" } else { "partial" },
        },
        plugins,
    }
}
