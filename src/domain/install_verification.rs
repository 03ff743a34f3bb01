//! Installing a release candidate the way an RHDH pod does, decided and judged here, run by the
//! `verify-install` step, in two passes: first a `dynamic-plugins.yaml` that enables every active
//! OCI plugin of the index (wrappers exist only inside the RHDH image, so they are listed
//! disabled), with the extra catalog index images (`EXTRA_CATALOG_INDEX_IMAGES`) whose entities
//! must land where the installer puts them; then one that enables every commented OCI
//! alternative of `dynamic-plugins.default.yaml` (the lines users are told to switch to) and
//! nothing else. For each: the folder each OCI plugin must land in, and the verdict on what an
//! installer left behind. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::catalog::identity::image_of_dynamic_plugin;
use crate::formats::dynamic_plugins::{CommentedAlternative, DynamicPluginsFile};

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

/// Which installation a result is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Pass {
    /// The active OCI entries, with the extra catalogs.
    #[default]
    Active,
    /// The commented OCI alternatives.
    Alternatives,
}

impl Pass {
    pub(crate) const BOTH: [Pass; 2] = [Pass::Active, Pass::Alternatives];

    /// The pass's folder inside a work folder.
    pub(crate) fn folder(self) -> &'static str {
        match self {
            Pass::Active => "active",
            Pass::Alternatives => "alternatives",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Pass::Active => "active entries",
            Pass::Alternatives => "commented OCI alternatives",
        }
    }
}

/// An extra catalog index image, as `EXTRA_CATALOG_INDEX_IMAGES` names it: the installer extracts
/// its `catalog-entities/extensions/` into `<CATALOG_ENTITIES_EXTRACT_DIR>/extra/<name>/catalog-entities/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExtraCatalog {
    pub(crate) name: String,
    pub(crate) image: String,
}

/// Reads an `EXTRA_CATALOG_INDEX_IMAGES` value as both installers do: comma-separated
/// `name=image` entries, or a bare image named after itself (`/`, `:`, `@` → `_`); blank entries
/// are skipped. A name the installers would refuse or that would leave the extract folder is an
/// error here (the installers only warn and skip it).
pub(crate) fn parse_extra_catalogs(text: &str) -> Result<Vec<ExtraCatalog>, String> {
    let mut catalogs: Vec<ExtraCatalog> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (name, image) = match entry.split_once('=') {
            Some((name, image)) => (name.trim().to_string(), image.trim().to_string()),
            None => (entry.replace(['/', ':', '@'], "_"), entry.to_string()),
        };
        if image.is_empty() {
            return Err(format!("`{}` names no image", crate::formats::shown::shown(entry)));
        }
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
            return Err(format!(
                "`{}`: the name must be a folder name (no `/`, `\\`, `.` or `..`)",
                crate::formats::shown::shown(entry)
            ));
        }
        if catalogs.iter().any(|catalog| catalog.name == name) {
            return Err(format!(
                "the name `{}` is given twice; each extra catalog needs its own",
                crate::formats::shown::shown(&name)
            ));
        }
        catalogs.push(ExtraCatalog { name, image });
    }
    Ok(catalogs)
}

/// The `EXTRA_CATALOG_INDEX_IMAGES` value for `catalogs`.
pub(crate) fn extra_catalogs_env(catalogs: &[ExtraCatalog]) -> String {
    catalogs.iter().map(|catalog| format!("{}={}", catalog.name, catalog.image)).collect::<Vec<_>>().join(",")
}

/// Where the installer extracts the entities of the extra catalog `name`, inside its
/// `CATALOG_ENTITIES_EXTRACT_DIR`.
pub(crate) fn extra_entities_folder(name: &str) -> String {
    format!("extra/{name}/catalog-entities")
}

/// What one installer left of one extra catalog's entities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ExtraCatalogVerdict {
    /// Every file of the image's `catalog-entities/extensions/` is in the installer's folder.
    Extracted { files: usize },
    /// Files the installer did not put where RHDH reads them.
    NotExtracted { folder: String, missing: Vec<String> },
    /// The image holds no `catalog-entities/extensions/` to extract.
    Empty,
}

/// The verdict on an extra catalog whose image holds `expected` files (relative to its
/// `catalog-entities/extensions/`), given which are present in the installer's folder.
pub(crate) fn extra_catalog_verdict(
    name: &str,
    expected: &[String],
    present: impl Fn(&str) -> bool,
) -> ExtraCatalogVerdict {
    if expected.is_empty() {
        return ExtraCatalogVerdict::Empty;
    }
    let missing: Vec<String> = expected.iter().filter(|file| !present(file)).cloned().collect();
    if missing.is_empty() {
        ExtraCatalogVerdict::Extracted { files: expected.len() }
    } else {
        ExtraCatalogVerdict::NotExtracted { folder: extra_entities_folder(name), missing }
    }
}

/// The second pass for an index whose `dynamic-plugins.default.yaml` is `index` with the
/// commented OCI alternatives `alternatives`: each alternative enabled (once; one that is also an
/// active entry was installed by the first pass), every entry of the index disabled, so that the
/// installation holds exactly the alternatives.
pub(crate) fn alternatives_plan(index: &DynamicPluginsFile, alternatives: &[CommentedAlternative]) -> InstallPlan {
    let mut plugins = Vec::new();
    let mut expected: Vec<ExpectedPlugin> = Vec::new();
    for entry in &index.plugins {
        plugins.push(json!({"package": entry.package, "disabled": true}));
    }
    for alternative in alternatives {
        let package = &alternative.package;
        if index.plugins.iter().any(|entry| entry.package == *package)
            || expected.iter().any(|seen| seen.package == *package)
        {
            continue;
        }
        plugins.push(json!({"package": package, "disabled": false}));
        expected.push(ExpectedPlugin {
            package: package.clone(),
            image: image_of_dynamic_plugin(package),
            folder: package.split_once('!').map(|(_, path)| path.to_string()),
        });
    }
    let document = json!({"includes": ["dynamic-plugins.default.yaml"], "plugins": plugins});
    InstallPlan { dynamic_plugins_yaml: crate::formats::yaml::to_string(&document), expected }
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
    pub(crate) pass: Pass,
    /// The installer's own verdict (exit 0).
    #[serde(rename = "installer-succeeded")]
    pub(crate) installer_succeeded: bool,
    #[serde(rename = "installer-outcome", skip_serializing_if = "Option::is_none")]
    pub(crate) installer_outcome: Option<String>,
    #[serde(rename = "entities-extracted")]
    pub(crate) entities_extracted: bool,
    pub(crate) plugins: BTreeMap<String, PluginVerdict>,
    /// The extra catalogs' entities, by name (first pass only).
    #[serde(rename = "extra-catalogs", skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) extra_catalogs: BTreeMap<String, ExtraCatalogVerdict>,
    #[serde(rename = "log-tail", skip_serializing_if = "Vec::is_empty")]
    pub(crate) log_tail: Vec<String>,
    #[serde(rename = "elapsed-ms")]
    pub(crate) elapsed_ms: u64,
}

impl InstallerResult {
    /// Every plugin installed, the entities (and every extra catalog's) extracted, and the
    /// installer content with it.
    pub(crate) fn passed(&self) -> bool {
        self.installer_succeeded
            && self.entities_extracted
            && self.plugins.values().all(|verdict| *verdict == PluginVerdict::Installed)
            && self.failed_extra_catalogs().is_empty()
    }

    /// The extra catalogs whose entities are not where RHDH reads them.
    pub(crate) fn failed_extra_catalogs(&self) -> Vec<&str> {
        self.extra_catalogs
            .iter()
            .filter(|(_, verdict)| matches!(verdict, ExtraCatalogVerdict::NotExtracted { .. }))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Who ran, on what: `python3 install-dynamic-plugins.py` or, for the second pass,
    /// `python3 install-dynamic-plugins.py (commented OCI alternatives)`.
    pub(crate) fn label(&self) -> String {
        match self.pass {
            Pass::Active => self.installer.clone(),
            Pass::Alternatives => format!("{} ({})", self.installer, self.pass.describe()),
        }
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
        let extra = if self.extra_catalogs.is_empty() {
            String::new()
        } else {
            let extracted = self.extra_catalogs.len() - self.failed_extra_catalogs().len();
            format!(", extra catalogs {extracted}/{} extracted", self.extra_catalogs.len())
        };
        format!(
            "{}: {installed}/{} plugins installed, entities {}{extra}, installer {}",
            self.label(),
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
    fn the_second_pass_installs_only_the_commented_alternatives() {
        let text = "plugins:\n  # - package: oci://quay.io/rhdh/a@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  - package: ./dynamic-plugins/dist/a\n  - package: oci://quay.io/rhdh/b:1!b\n  # - package: oci://quay.io/rhdh/b:1!b\n  - package: ./dynamic-plugins/dist/c\n";
        let index = DynamicPluginsFile::parse(Path::new("dynamic-plugins.default.yaml"), text).unwrap();
        let alternatives = crate::formats::dynamic_plugins::commented_alternatives(text);
        let plan = alternatives_plan(&index, &alternatives);
        assert_eq!(plan.expected.len(), 1, "b is an active entry, installed by the first pass");
        assert_eq!(plan.expected[0].image, "a");
        let written = DynamicPluginsFile::parse(Path::new("dynamic-plugins.yaml"), &plan.dynamic_plugins_yaml).unwrap();
        let enabled: Vec<&str> =
            written.plugins.iter().filter(|entry| !entry.is_disabled()).map(|entry| entry.package.as_str()).collect();
        assert_eq!(enabled, [alternatives[0].package.as_str()]);
        assert_eq!(written.plugins.len(), 4, "every index entry listed, disabled");
    }

    #[test]
    fn extra_catalogs_are_read_as_the_installers_read_them() {
        let catalogs = parse_extra_catalogs(" community=quay.io/rhdh/c@sha256:aa , ,quay.io/x/y:1").unwrap();
        assert_eq!(catalogs[0], ExtraCatalog { name: "community".into(), image: "quay.io/rhdh/c@sha256:aa".into() });
        assert_eq!(catalogs[1].name, "quay.io_x_y_1");
        assert_eq!(extra_catalogs_env(&catalogs), "community=quay.io/rhdh/c@sha256:aa,quay.io_x_y_1=quay.io/x/y:1");
        assert!(parse_extra_catalogs("../up=quay.io/x/y:1").unwrap_err().contains("folder name"));
        assert!(parse_extra_catalogs("a=").unwrap_err().contains("names no image"));
        assert!(parse_extra_catalogs("a=q/x:1,a=q/y:1").unwrap_err().contains("given twice"));
        let expected = vec!["plugins/a.yaml".to_string(), "packages/b.yaml".to_string()];
        assert_eq!(extra_catalog_verdict("c", &expected, |_| true), ExtraCatalogVerdict::Extracted { files: 2 });
        assert_eq!(
            extra_catalog_verdict("c", &expected, |file| file != "packages/b.yaml"),
            ExtraCatalogVerdict::NotExtracted {
                folder: "extra/c/catalog-entities".into(),
                missing: vec!["packages/b.yaml".into()]
            }
        );
        assert_eq!(extra_catalog_verdict("c", &[], |_| false), ExtraCatalogVerdict::Empty);
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
