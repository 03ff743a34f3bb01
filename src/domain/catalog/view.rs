//! A catalog index as the tools after `index` see it: plugins keyed by image name with their
//! pinned digest, tag, DPDY state and default configuration; read from a `catalog-index/` folder
//! or from an index image (layers unpacked in order, the way RHDH's installer reads them).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::InputError;
use crate::formats::dynamic_plugins::DynamicPluginsFile;
use crate::formats::index_json::IndexJson;
use crate::io::registry::image::{KnownFacts, inspect};
use crate::io::registry::{ImageReference, Store};

/// One plugin of an index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginView {
    pub digest: Option<String>,
    pub tag: Option<String>,
    /// `Some(true)` when dynamic-plugins.default.yaml lists it enabled; `None` when not listed.
    pub enabled: Option<bool>,
    pub plugin_config: Option<Value>,
}

pub type CatalogView = BTreeMap<String, PluginView>;

/// The image name a DPDY package refers to: the last path segment of an OCI reference (without
/// tag, digest or `!path`), or a local wrapper folder without `-dynamic`.
pub fn image_of_package(package: &str) -> String {
    if let Some(rest) = package.strip_prefix("oci://") {
        let name = rest.split(['@', '!']).next().unwrap_or(rest);
        let last = name.rsplit('/').next().unwrap_or(name);
        return last.split(':').next().unwrap_or(last).to_string();
    }
    let last = package.trim_end_matches('/').rsplit('/').next().unwrap_or(package);
    last.strip_suffix("-dynamic").unwrap_or(last).to_string()
}

/// Builds the view from the two files that define it. Pure.
pub fn view_of(index: &IndexJson, dpdy: Option<&DynamicPluginsFile>) -> CatalogView {
    let mut view = CatalogView::new();
    for (image, entry) in index {
        view.insert(
            image.clone(),
            PluginView {
                digest: entry.registry_reference.split_once('@').map(|(_, digest)| digest.to_string()),
                tag: Some(entry.image_tag.clone()).filter(|tag| !tag.is_empty()),
                ..PluginView::default()
            },
        );
    }
    if let Some(dpdy) = dpdy {
        for entry in &dpdy.plugins {
            let plugin = view.entry(image_of_package(&entry.package)).or_default();
            plugin.enabled = Some(!entry.is_disabled());
            plugin.plugin_config.clone_from(&entry.plugin_config);
            if plugin.digest.is_none() {
                plugin.digest = entry
                    .package
                    .split_once('@')
                    .map(|(_, digest)| digest.split('!').next().unwrap_or(digest).to_string());
            }
        }
    }
    view
}

/// Reads `index.json` and `dynamic-plugins.default.yaml` of a catalog-index folder (either may be missing).
pub fn read_folder(dir: &Path) -> Result<CatalogView, InputError> {
    if !dir.is_dir() {
        return Err(
            InputError::in_file(dir, "is not a folder").with_hint("give a catalog-index folder or an image reference")
        );
    }
    let index_path = dir.join("index.json");
    let index = if index_path.exists() { crate::formats::index_json::read(&index_path)? } else { IndexJson::new() };
    let dpdy_path = dir.join("dynamic-plugins.default.yaml");
    let dpdy = if dpdy_path.exists() {
        let text = crate::io::fs::read_text(&dpdy_path)?;
        Some(DynamicPluginsFile::parse(&dpdy_path, &text)?)
    } else {
        None
    };
    Ok(view_of(&index, dpdy.as_ref()))
}

/// Pulls an image and unpacks every layer, in order, into `destination`.
pub async fn unpack_image(store: &Store, reference: &ImageReference, destination: &Path) -> anyhow::Result<()> {
    let Some(facts) = inspect(store, reference, &KnownFacts::new()).await? else {
        return Err(InputError::usage(format!("image {reference} does not exist")).into());
    };
    for layer in &facts.layers {
        let digest = crate::io::registry::Digest::parse(&layer.digest).map_err(anyhow::Error::msg)?;
        let blob = store.fetch_blob(reference, &digest).await?;
        crate::steps::artifact::unpack(&blob, destination)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        assert_eq!(
            image_of_package("oci://quay.io/rhdh/backstage-plugin-x@sha256:ab!backstage-plugin-x"),
            "backstage-plugin-x"
        );
        assert_eq!(image_of_package("oci://quay.io:443/rhdh/plugin-y:1.0--2.0"), "plugin-y");
        assert_eq!(
            image_of_package(
                "./dynamic-plugins/dist/red-hat-developer-hub-backstage-plugin-extensions-backend-dynamic"
            ),
            "red-hat-developer-hub-backstage-plugin-extensions-backend"
        );
    }
}
