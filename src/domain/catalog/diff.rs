//! Semantic difference of two catalog indexes, per plugin: added, removed, digest, tag, enabled
//! and `pluginConfig` (with the changed keys). Pure; rendered as markdown (for a PR comment or the
//! report) and as JSON.

use crate::formats::image_reference::Digest;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::domain::catalog::view::{CatalogView, PluginView};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct CatalogDiff {
    pub(crate) added: Vec<String>,
    pub(crate) removed: Vec<String>,
    pub(crate) changed: Vec<PluginChange>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct PluginChange {
    pub(crate) plugin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<Change<Digest>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tag: Option<Change<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) enabled: Option<Change<bool>>,
    /// Dotted paths of the `pluginConfig` values that differ.
    #[serde(rename = "pluginConfig", skip_serializing_if = "Vec::is_empty")]
    pub(crate) plugin_config: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Change<T> {
    pub(crate) old: Option<T>,
    pub(crate) new: Option<T>,
}

impl CatalogDiff {
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

pub(crate) fn diff(old: &CatalogView, new: &CatalogView) -> CatalogDiff {
    let mut result = CatalogDiff::default();
    for (plugin, after) in new {
        match old.get(plugin) {
            None => result.added.push(plugin.clone()),
            Some(before) => {
                let change = compare(plugin, before, after);
                if change != (PluginChange { plugin: plugin.clone(), ..PluginChange::default() }) {
                    result.changed.push(change);
                }
            }
        }
    }
    result.removed = old.keys().filter(|plugin| !new.contains_key(*plugin)).cloned().collect();
    result
}

fn compare(plugin: &str, before: &PluginView, after: &PluginView) -> PluginChange {
    fn changed<T: Clone + PartialEq>(old: Option<&T>, new: Option<&T>) -> Option<Change<T>> {
        (old != new).then(|| Change { old: old.cloned(), new: new.cloned() })
    }
    let mut paths = Vec::new();
    differing_paths(
        before.plugin_config.as_ref().unwrap_or(&Value::Null),
        after.plugin_config.as_ref().unwrap_or(&Value::Null),
        "",
        &mut paths,
    );
    PluginChange {
        plugin: plugin.to_string(),
        digest: changed(before.digest.as_ref(), after.digest.as_ref()),
        tag: changed(before.tag.as_ref(), after.tag.as_ref()),
        enabled: changed(before.enabled.as_ref(), after.enabled.as_ref()),
        plugin_config: paths,
    }
}

/// Paths where two JSON values differ: object keys are followed; anything else differing is
/// reported at its path (`(root)` for the whole value).
fn differing_paths(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(before), Value::Object(after)) => {
            let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                differing_paths(
                    before.get(key).unwrap_or(&Value::Null),
                    after.get(key).unwrap_or(&Value::Null),
                    &child,
                    out,
                );
            }
        }
        _ => out.push(if path.is_empty() { "(root)".to_string() } else { path.to_string() }),
    }
}

fn show<T: ToString>(value: Option<&T>) -> String {
    value.map_or_else(|| "none".to_string(), ToString::to_string)
}

/// The markdown rendering (a table, one row per plugin). Names, tags and keys come from the
/// indexes (an image or a pull request may set them): rendered as text, never as markup.
pub(crate) fn to_markdown(diff: &CatalogDiff, new: &CatalogView) -> String {
    use crate::domain::text::markdown_text as text;
    if diff.is_empty() {
        return "## Catalog index changes\n\nNo changes.\n".to_string();
    }
    let mut out = format!(
        "## Catalog index changes\n\n{} added, {} removed, {} changed\n\n| plugin | change |\n|---|---|\n",
        diff.added.len(),
        diff.removed.len(),
        diff.changed.len()
    );
    for plugin in &diff.added {
        let view = new.get(plugin).cloned().unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | added ({}, {}) |",
            text(plugin),
            text(&show(view.tag.as_ref())),
            view.digest.as_ref().map_or_else(|| "no digest".to_string(), Digest::short)
        );
    }
    for plugin in &diff.removed {
        let _ = writeln!(out, "| {} | removed |", text(plugin));
    }
    for change in &diff.changed {
        let mut parts = Vec::new();
        if let Some(tag) = &change.tag {
            parts.push(format!("tag {} → {}", text(&show(tag.old.as_ref())), text(&show(tag.new.as_ref()))));
        }
        if let Some(digest) = &change.digest {
            parts.push(format!(
                "digest {} → {}",
                digest.old.as_ref().map_or_else(|| "none".to_string(), Digest::short),
                digest.new.as_ref().map_or_else(|| "none".to_string(), Digest::short)
            ));
        }
        if let Some(enabled) = &change.enabled {
            let state = |value: Option<bool>| match value {
                Some(true) => "enabled",
                Some(false) => "disabled",
                None => "not listed",
            };
            parts.push(format!("{} → {}", state(enabled.old), state(enabled.new)));
        }
        if !change.plugin_config.is_empty() {
            let keys: Vec<String> = change.plugin_config.iter().map(|key| text(key)).collect();
            parts.push(format!("pluginConfig: {}", crate::domain::text::first_items(&keys, 8)));
        }
        let _ = writeln!(out, "| {} | {} |", text(&change.plugin), parts.join("; "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plugin(digest: &str, tag: &str, enabled: bool, config: Value) -> PluginView {
        PluginView {
            digest: Some(Digest::parse(&format!("sha256:{}", digest.repeat(64))).unwrap()),
            tag: Some(tag.into()),
            enabled: Some(enabled),
            plugin_config: Some(config),
        }
    }

    #[test]
    fn every_kind_of_change_is_found() {
        let old: CatalogView = [
            ("gone".to_string(), plugin("1", "1.0--1.0.0", true, json!({}))),
            ("same".to_string(), plugin("2", "1.0--2.0.0", true, json!({"a": 1}))),
            ("moved".to_string(), plugin("3", "1.0--3.0.0", true, json!({"app": {"x": 1, "y": [1]}}))),
        ]
        .into_iter()
        .collect();
        let new: CatalogView = [
            ("same".to_string(), plugin("2", "1.0--2.0.0", true, json!({"a": 1}))),
            ("moved".to_string(), plugin("4", "1.0--3.1.0", false, json!({"app": {"x": 2, "y": [1], "z": true}}))),
            ("new".to_string(), plugin("5", "1.0--0.1.0", false, json!(null))),
        ]
        .into_iter()
        .collect();
        let difference = diff(&old, &new);
        assert_eq!(difference.added, ["new"]);
        assert_eq!(difference.removed, ["gone"]);
        assert_eq!(difference.changed.len(), 1);
        assert_eq!(difference.changed[0].plugin_config, ["app.x", "app.z"]);
        assert!(diff(&new, &new).is_empty());
    }
}
