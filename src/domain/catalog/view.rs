//! A catalog index as the tools after `index` see it: plugins keyed by image name with their
//! pinned digest, tag, DPDY state and default configuration. Built from the two files that define
//! it; [`crate::io::catalog_source`] reads them from a folder or an image.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::formats::dynamic_plugins::DynamicPluginsFile;
use crate::formats::image_reference::Digest;
use crate::formats::index_json::IndexJson;

/// One plugin of an index.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PluginView {
    pub(crate) digest: Option<Digest>,
    pub(crate) tag: Option<String>,
    /// `Some(true)` when dynamic-plugins.default.yaml lists it enabled; `None` when not listed.
    pub(crate) enabled: Option<bool>,
    pub(crate) plugin_config: Option<Value>,
}

pub(crate) type CatalogView = BTreeMap<String, PluginView>;

/// Builds the view from the two files that define it. Pure.
pub(crate) fn view_of(index: &IndexJson, dpdy: Option<&DynamicPluginsFile>) -> CatalogView {
    let mut view = CatalogView::new();
    for (image, entry) in index {
        view.insert(
            image.clone(),
            PluginView {
                digest: entry.registry_reference.split_once('@').and_then(|(_, digest)| Digest::parse(digest).ok()),
                tag: Some(entry.image_tag.clone()).filter(|tag| !tag.is_empty()),
                ..PluginView::default()
            },
        );
    }
    if let Some(dpdy) = dpdy {
        for entry in &dpdy.plugins {
            let plugin =
                view.entry(crate::domain::catalog::identity::image_of_dynamic_plugin(&entry.package)).or_default();
            plugin.enabled = Some(!entry.is_disabled());
            plugin.plugin_config.clone_from(&entry.plugin_config);
            if plugin.digest.is_none() {
                plugin.digest = entry
                    .package
                    .split_once('@')
                    .and_then(|(_, digest)| Digest::parse(digest.split('!').next().unwrap_or(digest)).ok());
            }
        }
    }
    view
}
