//! Every plugin an overlay lists, as the status page needs it when no step reached it: its
//! workspace and folder (from `plugins-list.yaml`), its npm name, version and support level (from
//! the metadata file that describes the folder), whether the supported list names it, and whether
//! `default.packages.yaml` enables it. Pure: the overlay comes in as values.

use std::collections::BTreeSet;

use crate::domain::overlay::Overlay;
use crate::formats::default_packages::DefaultPackages;
use crate::formats::plugins_list::PluginsList;

/// One `plugins-list.yaml` entry of the overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OverlayPlugin {
    pub(crate) workspace: String,
    /// The plugin folder, relative to the workspace's plugins root.
    pub(crate) folder: String,
    /// `spec.packageName` of the metadata file that describes the folder.
    pub(crate) package: Option<String>,
    /// `spec.version` of that metadata.
    pub(crate) version: Option<String>,
    pub(crate) support: Option<String>,
    /// Whether the supported package list names `<workspace>/<folder>` (true without a list).
    pub(crate) supported: bool,
    /// `default.packages.yaml`: enabled, disabled, or not listed (`None`).
    pub(crate) enabled_by_default: Option<bool>,
}

impl OverlayPlugin {
    /// `<workspace>/<folder>`, as `plugin_builds/` and `index.json` write it.
    pub(crate) fn workspace_path(&self) -> String {
        format!("{}/{}", self.workspace, self.folder)
    }
}

/// Every plugins-list entry of every workspace, in workspace then list order. `supported` is the
/// supported list (`None`: every plugin is supported); `defaults` the overlay's default.packages.yaml.
pub(crate) fn overlay_plugins(
    overlay: &Overlay,
    supported: Option<&BTreeSet<(String, String)>>,
    defaults: Option<&DefaultPackages>,
) -> Vec<OverlayPlugin> {
    let mut plugins = Vec::new();
    for workspace in &overlay.workspaces {
        let paths = crate::domain::catalog::plan::workspace_paths(workspace, &[]);
        for entry in workspace.plugins_list.iter().flat_map(PluginsList::entries) {
            let folder = entry.path.as_str().to_string();
            let workspace_path = format!("{}/{folder}", workspace.name);
            let package = workspace
                .packages
                .iter()
                .zip(&paths)
                .find(|(_, path)| **path == workspace_path)
                .map(|(package, _)| package);
            let enabled_by_default = package.and_then(|package| {
                defaults?.entries.iter().find(|entry| entry.package == package.package_name).map(|entry| entry.enabled)
            });
            plugins.push(OverlayPlugin {
                workspace: workspace.name.clone(),
                package: package.map(|package| package.package_name.clone()),
                version: package.and_then(|package| package.version.clone()),
                support: package
                    .and_then(|package| package.support.as_ref())
                    .map(|support| support.as_str().to_string()),
                supported: supported.is_none_or(|set| set.contains(&(workspace.name.clone(), folder.clone()))),
                enabled_by_default,
                folder,
            });
        }
    }
    plugins
}
