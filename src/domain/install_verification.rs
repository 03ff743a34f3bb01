//! Installing a release candidate the way an RHDH pod does, decided and judged here, run by the
//! `verify-install` step: a `dynamic-plugins.yaml` that enables every OCI plugin of the index
//! (wrappers exist only inside the RHDH image, so they are listed disabled), the folder each OCI
//! plugin must land in, and the verdict on what an installer left behind. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::catalog::identity::image_of_dynamic_plugin;
use crate::formats::dynamic_plugins::DynamicPluginsFile;

/// The file the installer reads from its working folder.
pub(crate) const DYNAMIC_PLUGINS_FILE: &str = "dynamic-plugins.yaml";

/// What an installed OCI plugin's folder must hold: the installer's record of the image it came
/// from, and the plugin itself.
pub(crate) const INSTALLED_MARKERS: [&str; 2] = ["dynamic-plugin-image.hash", "package.json"];

/// One OCI plugin the installers must install.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExpectedPlugin {
    /// The `package` of its `dynamic-plugins.default.yaml` entry (`oci://…`, maybe with `!path`).
    pub(crate) package: String,
    pub(crate) image: String,
    /// The folder it lands in: the `!path` of the reference, else what the image's annotation
    /// names (filled in by the step, which asks the registry).
    pub(crate) folder: Option<String>,
}

/// The installer's input and what it must produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InstallPlan {
    pub(crate) dynamic_plugins_yaml: String,
    pub(crate) expected: Vec<ExpectedPlugin>,
}

/// The plan for an index whose `dynamic-plugins.default.yaml` is `index`: every OCI entry enabled
/// (`disabled: false`), every other entry disabled, the index file included by name (the
/// installer substitutes the one it extracts from `CATALOG_INDEX_IMAGE`).
pub(crate) fn install_plan(index: &DynamicPluginsFile) -> InstallPlan {
    let mut plugins = Vec::new();
    let mut expected = Vec::new();
    for entry in &index.plugins {
        let is_oci = entry.package.starts_with("oci://");
        plugins.push(json!({"package": entry.package, "disabled": !is_oci}));
        if is_oci {
            let folder = entry.package.split_once('!').map(|(_, path)| path.to_string());
            expected.push(ExpectedPlugin {
                package: entry.package.clone(),
                image: image_of_dynamic_plugin(&entry.package),
                folder,
            });
        }
    }
    let document = json!({"includes": ["dynamic-plugins.default.yaml"], "plugins": plugins});
    InstallPlan { dynamic_plugins_yaml: crate::formats::yaml::to_string(&document), expected }
}

/// What one installer left for one expected plugin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum PluginVerdict {
    Installed,
    /// The folder is missing or lacks one of [`INSTALLED_MARKERS`].
    NotInstalled {
        missing: Vec<String>,
    },
    /// The image's annotation named no single folder, so nothing could be checked.
    Unknown {
        problem: String,
    },
}

/// One installer's run, judged.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct InstallerResult {
    pub(crate) installer: String,
    /// The installer's own verdict (exit 0).
    #[serde(rename = "installer-succeeded")]
    pub(crate) installer_succeeded: bool,
    #[serde(rename = "installer-outcome", skip_serializing_if = "Option::is_none")]
    pub(crate) installer_outcome: Option<String>,
    #[serde(rename = "entities-extracted")]
    pub(crate) entities_extracted: bool,
    pub(crate) plugins: BTreeMap<String, PluginVerdict>,
    #[serde(rename = "log-tail", skip_serializing_if = "Vec::is_empty")]
    pub(crate) log_tail: Vec<String>,
    #[serde(rename = "elapsed-ms")]
    pub(crate) elapsed_ms: u64,
}

impl InstallerResult {
    /// Every plugin installed, the entities extracted, and the installer content with it.
    pub(crate) fn passed(&self) -> bool {
        self.installer_succeeded
            && self.entities_extracted
            && self.plugins.values().all(|verdict| *verdict == PluginVerdict::Installed)
    }

    pub(crate) fn failed_plugins(&self) -> Vec<&str> {
        self.plugins
            .iter()
            .filter(|(_, verdict)| **verdict != PluginVerdict::Installed)
            .map(|(image, _)| image.as_str())
            .collect()
    }

    /// One line for logs and results.
    pub(crate) fn summary(&self) -> String {
        let installed = self.plugins.values().filter(|verdict| **verdict == PluginVerdict::Installed).count();
        format!(
            "{}: {installed}/{} plugins installed, entities {}, installer {}",
            self.installer,
            self.plugins.len(),
            if self.entities_extracted { "extracted" } else { "NOT extracted" },
            self.installer_outcome.as_deref().unwrap_or("succeeded"),
        )
    }
}

/// The verdict on one expected plugin, given which of the markers its folder holds.
pub(crate) fn verdict(expected: &ExpectedPlugin, present: impl Fn(&str, &str) -> bool) -> PluginVerdict {
    let Some(folder) = &expected.folder else {
        return PluginVerdict::Unknown {
            problem: format!("{} names no single plugin folder (no `!path` and no usable annotation)", expected.image),
        };
    };
    let missing: Vec<String> = INSTALLED_MARKERS
        .iter()
        .filter(|marker| !present(folder, marker))
        .map(|marker| format!("{folder}/{marker}"))
        .collect();
    if missing.is_empty() { PluginVerdict::Installed } else { PluginVerdict::NotInstalled { missing } }
}

/// The report of every installer, as written to the report file.
pub(crate) fn report(image: &str, results: &[InstallerResult]) -> Value {
    json!({"image": image, "passed": results.iter().all(InstallerResult::passed), "installers": results})
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_oci_entry_is_enabled_and_wrappers_are_disabled() {
        let index = DynamicPluginsFile::parse(
            Path::new("dynamic-plugins.default.yaml"),
            "plugins:\n- package: oci://quay.io/rhdh/a@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  disabled: true\n- package: ./dynamic-plugins/dist/b\n- package: oci://quay.io/rhdh/c:1!c-plugin\n",
        )
        .unwrap();
        let plan = install_plan(&index);
        assert_eq!(plan.expected.len(), 2);
        assert_eq!(plan.expected[0].image, "a");
        assert_eq!(plan.expected[0].folder, None, "found through the annotation");
        assert_eq!(plan.expected[1].folder.as_deref(), Some("c-plugin"));
        let written = DynamicPluginsFile::parse(Path::new("dynamic-plugins.yaml"), &plan.dynamic_plugins_yaml).unwrap();
        assert_eq!(written.includes, ["dynamic-plugins.default.yaml"]);
        let disabled: Vec<bool> =
            written.plugins.iter().map(crate::formats::dynamic_plugins::DynamicPluginEntry::is_disabled).collect();
        assert_eq!(disabled, [false, true, false]);
    }

    #[test]
    fn a_folder_without_its_plugin_is_not_installed() {
        let expected = ExpectedPlugin { package: "oci://h/x:1!x".into(), image: "x".into(), folder: Some("x".into()) };
        assert_eq!(verdict(&expected, |_, _| true), PluginVerdict::Installed);
        assert_eq!(
            verdict(&expected, |_, marker| marker != "package.json"),
            PluginVerdict::NotInstalled { missing: vec!["x/package.json".into()] }
        );
        let unknown = ExpectedPlugin { folder: None, ..expected };
        assert!(matches!(verdict(&unknown, |_, _| true), PluginVerdict::Unknown { .. }));
    }
}
