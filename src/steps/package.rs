//! `rhdh-catalog package`: the dynamic-plugin image from exported `dist-dynamic` folders, built
//! without a container engine and pushed to a registry or an OCI layout directory. The layout is
//! the one `rhdh-cli plugin package` produces: one folder per plugin plus `index.json`, and the
//! manifest annotation `io.backstage.dynamic-packages` (base64 of the same JSON) that lets the
//! installer find the plugin path. The same folders always give the same digest.

use anyhow::Context;

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{OutputFormat, StoreSettings};
use crate::error::ExitStatus;
use crate::io::registry::ImageReference;
use crate::io::registry::image::{build_image, push_image};
use crate::io::registry::plugin_image::plugin_image_spec;

#[derive(Debug)]
pub struct PackageSettings {
    /// Exported `dist-dynamic` folders; one image folder per plugin.
    pub(crate) dist_dynamic: Vec<PathBuf>,
    /// The reference to push, with a tag and no digest.
    pub(crate) tag: ImageReference,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
    /// Config environment `KEY=value` entries.
    pub(crate) env: Vec<String>,
    pub(crate) output_format: OutputFormat,
    pub(crate) store: StoreSettings,
}

pub(crate) async fn run(settings: PackageSettings) -> anyhow::Result<ExitStatus> {
    let reference = settings.tag.clone();
    let spec = plugin_image_spec(&settings.dist_dynamic, &settings.labels, &settings.annotations, &settings.env)?;
    let image = build_image(&spec).context("building the image layer")?;
    let store = settings.store.open()?;
    let digest = push_image(&store, &reference, &image).await?;
    let pinned = reference.pinned(&digest);
    tracing::info!(image = %reference, %digest, store = %store.describe(), "pushed");
    match settings.output_format {
        OutputFormat::Text => println!("{pinned}"),
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"reference": reference.to_string(), "digest": digest.to_string(), "pinned": pinned})
        ),
    }
    Ok(ExitStatus::Success)
}
