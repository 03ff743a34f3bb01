//! `dynamic-plugins.default.yaml` (DPDY) and users' `dynamic-plugins.yaml`: the list of plugins an
//! RHDH installation installs. Reading is serde; writing goes through our emitter because entries
//! carry comment lines (`# Tag: …`, the commented OCI alternative) that serde cannot express.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::InputError;

/// A `dynamic-plugins*.yaml` as the installer reads it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DynamicPluginsFile {
    #[serde(default)]
    pub includes: Vec<String>,
    #[serde(default)]
    pub plugins: Vec<DynamicPluginEntry>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicPluginEntry {
    pub package: String,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub integrity: Option<String>,
    #[serde(default)]
    pub plugin_config: Option<Value>,
    #[serde(default)]
    pub pull_policy: Option<String>,
    #[serde(default)]
    pub force_download: Option<bool>,
}

impl DynamicPluginEntry {
    /// The installer's rule: `enabled` (TypeScript installer) wins over `disabled`.
    pub fn is_disabled(&self) -> bool {
        match (self.enabled, self.disabled) {
            (Some(enabled), _) => !enabled,
            (None, disabled) => disabled.unwrap_or(false),
        }
    }
}

impl DynamicPluginsFile {
    pub fn parse(file: &Path, text: &str) -> Result<Self, InputError> {
        crate::formats::yaml::from_str(file, text)
    }
}

/// One entry to write: comment lines above it, then `package`, `disabled`, `pluginConfig`.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedEntry {
    /// Lines written as `  # <line>` above the entry.
    pub comments: Vec<String>,
    pub package: String,
    pub disabled: bool,
    pub plugin_config: Option<Value>,
}

/// Writes the whole file: `header` comment lines, then `plugins:` with every entry.
pub fn render(header: &[&str], entries: &[RenderedEntry]) -> String {
    let mut out = String::new();
    for line in header {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    if entries.is_empty() {
        out.push_str("plugins: []\n");
        return out;
    }
    out.push_str("plugins:\n");
    for entry in entries {
        for comment in &entry.comments {
            out.push_str("  # ");
            out.push_str(comment);
            out.push('\n');
        }
        let mut fields = Map::new();
        fields.insert("package".into(), Value::String(entry.package.clone()));
        fields.insert("disabled".into(), Value::Bool(entry.disabled));
        if let Some(config) = &entry.plugin_config {
            fields.insert("pluginConfig".into(), config.clone());
        }
        crate::formats::yaml::write_sequence_item(&mut out, &Value::Object(fields), 2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_with_comments_read_back() {
        let entries = vec![
            RenderedEntry {
                comments: vec!["Tag: bs_1.52.0__1.30.0, Build date: 2026-06-03T21:17:18Z".into()],
                package: "oci://ghcr.io/x/y@sha256:e6".into(),
                disabled: false,
                plugin_config: Some(json!({"app": {"csp": ["'self'"]}})),
            },
            RenderedEntry {
                comments: vec![],
                package: "./dynamic-plugins/dist/z".into(),
                disabled: true,
                plugin_config: None,
            },
        ];
        let text = render(&["Generated.", ""], &entries);
        assert_eq!(
            text,
            "# Generated.\n#\nplugins:\n  # Tag: bs_1.52.0__1.30.0, Build date: 2026-06-03T21:17:18Z\n  - package: oci://ghcr.io/x/y@sha256:e6\n    disabled: false\n    pluginConfig:\n      app:\n        csp:\n          - \"'self'\"\n  - package: ./dynamic-plugins/dist/z\n    disabled: true\n"
        );
        let parsed = DynamicPluginsFile::parse(Path::new("d.yaml"), &text).unwrap();
        assert_eq!(parsed.plugins.len(), 2);
        assert!(parsed.plugins[1].is_disabled());
        assert_eq!(parsed.plugins[0].plugin_config, Some(json!({"app": {"csp": ["'self'"]}})));
    }
}
