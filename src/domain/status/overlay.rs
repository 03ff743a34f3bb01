//! Every plugin an overlay lists, as the status page needs it when no step reached it: its
//! workspace and folder (from `plugins-list.yaml`, or a package list that names a folder no
//! `plugins-list.yaml` does), its npm name, version and support level (from the metadata file
//! that describes the folder), which package lists name it, and whether `default.packages.yaml`
//! enables it. One list per catalog: the supported catalog's rows are every plugin of the overlay,
//! the community catalog's the plugins its list names. Pure: the overlay comes in as values.

use std::collections::BTreeSet;

use super::inputs::CatalogKind;
use crate::domain::overlay::Overlay;
use crate::formats::default_packages::DefaultPackages;
use crate::formats::plugins_list::PluginsList;

/// `(workspace, folder)` pairs a package list names.
pub(crate) type ListedFolders = BTreeSet<(String, String)>;

/// The package lists of an overlay; `None` where it has none.
#[derive(Clone, Debug, Default)]
pub(crate) struct PackageLists {
    /// `rhdh-supported-packages.txt`: the supported catalog, and what the pipeline exports.
    pub(crate) supported: Option<ListedFolders>,
    /// `rhdh-community-packages.txt`: the community catalog.
    pub(crate) community: Option<ListedFolders>,
}

/// One plugin of the overlay, as one catalog's section sees it.
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
    /// Whether this catalog's package list names `<workspace>/<folder>` (true without a list).
    pub(crate) listed: bool,
    /// Whether the pipeline exports it: the supported list names it (true without a list).
    pub(crate) exported: bool,
    /// Whether the other catalog's package list names it.
    pub(crate) in_other_catalog: bool,
    /// `default.packages.yaml`: enabled, disabled, or not listed (`None`).
    pub(crate) enabled_by_default: Option<bool>,
}

impl OverlayPlugin {
    /// `<workspace>/<folder>`, as `plugin_builds/` and `index.json` write it.
    pub(crate) fn workspace_path(&self) -> String {
        format!("{}/{}", self.workspace, self.folder)
    }
}

/// The plugins of `catalog`: for the supported catalog every plugins-list entry of every
/// workspace (the ones its list leaves out say so), for the community catalog the entries its
/// list names; then, for either, the folders its list names that no plugins-list entry does.
/// Workspace then list order.
pub(crate) fn overlay_plugins(
    overlay: &Overlay,
    lists: &PackageLists,
    catalog: CatalogKind,
    defaults: Option<&DefaultPackages>,
) -> Vec<OverlayPlugin> {
    let (this, other) = match catalog {
        CatalogKind::Supported => (lists.supported.as_ref(), lists.community.as_ref()),
        CatalogKind::Community => match &lists.community {
            Some(community) => (Some(community), lists.supported.as_ref()),
            None => return Vec::new(),
        },
    };
    let names = |set: Option<&ListedFolders>, workspace: &str, folder: &str| {
        set.is_some_and(|set| set.contains(&(workspace.to_string(), folder.to_string())))
    };
    let mut plugins = Vec::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for workspace in &overlay.workspaces {
        let paths = crate::domain::catalog::plan::workspace_paths(workspace, &[]);
        let described = |folder: &str| {
            let workspace_path = format!("{}/{folder}", workspace.name);
            workspace.packages.iter().zip(&paths).find(|(_, path)| **path == workspace_path).map(|(package, _)| package)
        };
        let listed_folders: Vec<String> = workspace
            .plugins_list
            .iter()
            .flat_map(PluginsList::entries)
            .map(|entry| entry.path.as_str().to_string())
            .collect();
        // The folders this catalog's list names under this workspace that no plugins-list entry does.
        let unlisted: Vec<String> = this
            .into_iter()
            .flatten()
            .filter(|(name, folder)| *name == workspace.name && !listed_folders.contains(folder))
            .map(|(_, folder)| folder.clone())
            .collect();
        for folder in listed_folders.into_iter().chain(unlisted) {
            let listed = this.is_none_or(|set| set.contains(&(workspace.name.clone(), folder.clone())));
            if (catalog == CatalogKind::Community && !listed) || !seen.insert((workspace.name.clone(), folder.clone()))
            {
                continue;
            }
            let package = described(&folder);
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
                listed,
                exported: lists
                    .supported
                    .as_ref()
                    .is_none_or(|set| set.contains(&(workspace.name.clone(), folder.clone()))),
                in_other_catalog: names(other, &workspace.name, &folder),
                enabled_by_default,
                folder,
            });
        }
    }
    // A list entry naming a workspace the overlay does not have still gets its row.
    for (workspace, folder) in this.into_iter().flatten() {
        if overlay.workspaces.iter().any(|known| known.name == *workspace) {
            continue;
        }
        plugins.push(OverlayPlugin {
            workspace: workspace.clone(),
            folder: folder.clone(),
            package: None,
            version: None,
            support: None,
            listed: true,
            exported: lists.supported.as_ref().is_none_or(|set| set.contains(&(workspace.clone(), folder.clone()))),
            in_other_catalog: names(other, workspace, folder),
            enabled_by_default: None,
        });
    }
    plugins
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::domain::overlay::Workspace;

    fn package(name: &str, npm: &str, support: &str) -> crate::formats::package::Package {
        let text = format!(
            "apiVersion: extensions.backstage.io/v1alpha1\nkind: Package\nmetadata:\n  name: {name}\nspec:\n  packageName: \"{npm}\"\n  version: 1.2.3\n  backstage:\n    role: frontend-plugin\n  support: {support}\n  lifecycle: active\n"
        );
        crate::formats::package::Package::parse(Path::new("metadata/p.yaml"), &text).unwrap()
    }

    /// Workspace `analytics`: `plugins/ga4` (community), `plugins/segment` (supported) and
    /// `plugins/both` (in both lists) in plugins-list.yaml, each with its metadata.
    fn overlay() -> Overlay {
        let workspace = Workspace {
            name: "analytics".into(),
            dir: PathBuf::from("workspaces/analytics"),
            source: crate::formats::source_json::SourceJson::parse(
                Path::new("source.json"),
                r#"{"repo":"https://github.com/backstage/community-plugins","repo-ref":"v1","repo-flat":false}"#,
            )
            .unwrap(),
            backstage_override: None,
            plugins_list: Some(
                PluginsList::parse(Path::new("plugins-list.yaml"), "plugins/ga4:\nplugins/segment:\nplugins/both:\n")
                    .unwrap(),
            ),
            packages: vec![
                package("backstage-community-plugin-ga4", "@backstage-community/plugin-ga4", "community"),
                package("backstage-community-plugin-segment", "@backstage-community/plugin-segment", "production"),
                package("backstage-community-plugin-both", "@backstage-community/plugin-both", "community"),
            ],
            backstage_notes: Vec::new(),
        };
        Overlay { workspaces: vec![workspace], entities: Vec::new() }
    }

    fn set(entries: &[(&str, &str)]) -> ListedFolders {
        entries.iter().map(|(workspace, folder)| ((*workspace).to_string(), (*folder).to_string())).collect()
    }

    #[test]
    fn each_catalog_gets_the_plugins_its_list_names_and_every_list_entry_a_row() {
        let lists = PackageLists {
            supported: Some(set(&[("analytics", "plugins/segment"), ("analytics", "plugins/both")])),
            community: Some(set(&[
                ("analytics", "plugins/ga4"),
                ("analytics", "plugins/both"),
                // A folder no plugins-list.yaml names, and a workspace the overlay does not have.
                ("analytics", "plugins/unlisted"),
                ("gone", "plugins/x"),
            ])),
        };
        let supported = overlay_plugins(&overlay(), &lists, CatalogKind::Supported, None);
        let folders = |plugins: &[OverlayPlugin]| plugins.iter().map(OverlayPlugin::workspace_path).collect::<Vec<_>>();
        assert_eq!(
            folders(&supported),
            ["analytics/plugins/ga4", "analytics/plugins/segment", "analytics/plugins/both"]
        );
        let ga4 = &supported[0];
        assert!(!ga4.listed && !ga4.exported && ga4.in_other_catalog, "{ga4:?}");
        assert_eq!(ga4.package.as_deref(), Some("@backstage-community/plugin-ga4"));
        assert!(supported[1].listed && supported[1].exported && !supported[1].in_other_catalog);

        let community = overlay_plugins(&overlay(), &lists, CatalogKind::Community, None);
        assert_eq!(
            folders(&community),
            ["analytics/plugins/ga4", "analytics/plugins/both", "analytics/plugins/unlisted", "gone/plugins/x"]
        );
        assert!(community.iter().all(|plugin| plugin.listed));
        assert!(!community[0].exported && community[1].exported && community[1].in_other_catalog);
        assert_eq!(community[2].package, None, "no metadata describes it");
        assert_eq!(community[3].package, None);
        assert_eq!(community[0].version.as_deref(), Some("1.2.3"));

        // Without a community list there is no community section's row; without a supported
        // list every plugin is supported (and exported).
        assert!(overlay_plugins(&overlay(), &PackageLists::default(), CatalogKind::Community, None).is_empty());
        let all = overlay_plugins(&overlay(), &PackageLists::default(), CatalogKind::Supported, None);
        assert!(all.iter().all(|plugin| plugin.listed && plugin.exported && !plugin.in_other_catalog));
    }
}
