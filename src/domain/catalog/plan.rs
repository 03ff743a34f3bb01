//! Which plugins an index covers and under which tags: the package selection files resolved to
//! metadata packages, each package's folder (from the export's record, else by matching names),
//! its image name and its reference. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::DpdyStyle;
use super::identity::{PluginIdentity, TagScheme};
use super::workspace_paths::{PackageNames, match_workspace_paths};
use crate::domain::overlay::{Overlay, Workspace};
use crate::error::InputError;
use crate::formats::build_info::BuildInfo;
use crate::formats::default_packages::DefaultPackages;
use crate::formats::image_reference::{ImageReference, RegistryPrefix};
use crate::formats::index_json::IndexJson;
use crate::formats::oci::KnownFacts;
use crate::formats::package::{Package, SupportLevel};
use crate::formats::package_list::PackageListEntry;
use crate::formats::plan::ExportedPlugin;
use crate::formats::plugins_list::PluginsList;
use crate::formats::relative_path::RelativePath;

/// A package selection file given with `--packages`.
#[derive(Clone, Debug)]
pub(crate) enum SelectionFile {
    /// `lenient`: another repository's file (the RHDH repository's, on older branches), whose
    /// entries with no metadata in the overlay are left out of the index instead of refused.
    DefaultPackages {
        path: PathBuf,
        bytes: Vec<u8>,
        packages: DefaultPackages,
        lenient: bool,
    },
    PackageList {
        path: PathBuf,
        bytes: Vec<u8>,
        entries: Vec<PackageListEntry>,
    },
}

impl SelectionFile {
    pub(crate) fn path(&self) -> &Path {
        match self {
            SelectionFile::DefaultPackages { path, .. } | SelectionFile::PackageList { path, .. } => path,
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            SelectionFile::DefaultPackages { bytes, .. } | SelectionFile::PackageList { bytes, .. } => bytes,
        }
    }
}

/// A registry prefix and the tag scheme of the images under it: each registry names its images
/// its own way (`quay.io/rhdh` `<rhdh>--<version>`, `ghcr.io/…` `bs_<backstage>__<version>`), so a
/// plugin's reference, its pin and any older tag standing in for it follow the registry it comes
/// from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TaggedRegistry {
    pub(crate) prefix: RegistryPrefix,
    pub(crate) scheme: TagScheme,
}

/// Where plugin images come from: those whose metadata says `support: community` from the
/// community registry when there is one (the upstream generator's `--community-registry`), every
/// other one from the default registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Registries {
    pub(crate) default: TaggedRegistry,
    pub(crate) community: Option<TaggedRegistry>,
}

impl Registries {
    /// The registry a plugin with `support` comes from.
    pub(crate) fn for_support(&self, support: Option<&SupportLevel>) -> &TaggedRegistry {
        match (&self.community, support) {
            (Some(community), Some(SupportLevel::Community)) => community,
            _ => &self.default,
        }
    }
}

/// Settings of one index run, validated.
#[derive(Clone, Debug)]
pub(crate) struct IndexConfig {
    pub(crate) registries: Registries,
    pub(crate) dpdy_style: DpdyStyle,
    pub(crate) platforms: Vec<String>,
}

/// Everything read from disk before planning.
pub(crate) struct IndexInputs {
    pub(crate) overlay: Overlay,
    pub(crate) selection: Vec<SelectionFile>,
    pub(crate) config: IndexConfig,
    pub(crate) previous_index: IndexJson,
    /// Build facts recorded by the previous run (`plugin_builds/` and `index.json`), by digest.
    pub(crate) known: KnownFacts,
    pub(crate) build_info: BuildInfo,
    /// What the last exports recorded (empty without `--export-records`).
    pub(crate) export_records: ExportRecords,
    /// What the forward-compatible reads of the inputs passed over (unknown keys, stringly
    /// booleans), for the report.
    pub(crate) notes: Vec<crate::formats::foreign::ReadNote>,
}

/// One plugin the index will pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedPlugin {
    pub(crate) identity: PluginIdentity,
    /// The image name ([`PluginIdentity::image_name`]), kept because every output is keyed by it.
    pub(crate) image: String,
    /// `spec.version` of the metadata (the tag is formed from it).
    pub(crate) version: String,
    pub(crate) reference: ImageReference,
    pub(crate) support: Option<SupportLevel>,
}

impl PlannedPlugin {
    pub(crate) fn workspace(&self) -> &str {
        &self.identity.workspace
    }

    pub(crate) fn workspace_path(&self) -> String {
        self.identity.workspace_path()
    }

    pub(crate) fn package_name(&self) -> &str {
        &self.identity.npm_name
    }
}

/// What each workspace's last export recorded about its plugins (folder → npm name → image), by
/// workspace name.
pub(crate) type ExportRecords = BTreeMap<String, Vec<ExportedPlugin>>;

/// The workspace path (`<workspace>/<folder>`) of each metadata package of `workspace`, in
/// metadata order: the folder the export recorded for the package's npm name where there is one,
/// else the best name match among the `plugins-list.yaml` folders no record claims.
pub(crate) fn workspace_paths(workspace: &Workspace, recorded: &[ExportedPlugin]) -> Vec<String> {
    let recorded_folder: HashMap<&str, &str> =
        recorded.iter().map(|plugin| (plugin.package.as_str(), plugin.path.as_str())).collect();
    let claimed: BTreeSet<&str> = recorded.iter().map(|plugin| plugin.path.as_str()).collect();
    let unrecorded: Vec<&Package> = workspace
        .packages
        .iter()
        .filter(|package| !recorded_folder.contains_key(package.package_name.as_str()))
        .collect();
    let images: Vec<String> = unrecorded.iter().map(|package| package.image_name()).collect();
    let names: Vec<PackageNames<'_>> = unrecorded
        .iter()
        .zip(&images)
        .map(|(package, image)| PackageNames { entity_name: &package.entity_name, image_name: image })
        .collect();
    let folders: Vec<&str> = workspace
        .plugins_list
        .iter()
        .flat_map(PluginsList::entries)
        .map(|entry| entry.path.as_str())
        .filter(|folder| !claimed.contains(folder))
        .collect();
    let mut matched = match_workspace_paths(&workspace.name, &names, &folders).into_iter();
    workspace
        .packages
        .iter()
        .map(|package| match recorded_folder.get(package.package_name.as_str()) {
            Some(folder) => format!("{}/{folder}", workspace.name),
            None => matched.next().unwrap_or_else(|| format!("{}/{}", workspace.name, package.entity_name)),
        })
        .collect()
}

/// Finds a metadata package by the names a `default.packages.yaml` entry may use.
pub(crate) struct PackageLookup<'a> {
    by_key: HashMap<String, (&'a Workspace, &'a Package)>,
}

impl<'a> PackageLookup<'a> {
    pub(crate) fn new(overlay: &'a Overlay) -> Self {
        let mut by_key = HashMap::new();
        // Weaker keys first, so that a package name always wins over a file stem.
        for workspace in &overlay.workspaces {
            for package in &workspace.packages {
                by_key.insert(package.file_stem().to_string(), (workspace, package));
                if let Some(artifact) = &package.dynamic_artifact
                    && !artifact.starts_with("./")
                    && !artifact.starts_with("oci://")
                {
                    let name = match artifact.rfind('@') {
                        Some(position) if position > 0 => &artifact[..position],
                        _ => artifact.as_str(),
                    };
                    by_key.insert(name.to_string(), (workspace, package));
                }
            }
        }
        for workspace in &overlay.workspaces {
            for package in &workspace.packages {
                by_key.insert(package.package_name.clone(), (workspace, package));
            }
        }
        PackageLookup { by_key }
    }

    pub(crate) fn find(&self, name: &str) -> Option<(&'a Workspace, &'a Package)> {
        let name = name.trim().trim_matches(['\'', '"']);
        self.by_key.get(name).copied().or_else(|| {
            let rest = name.strip_prefix("@red-hat-developer-hub/backstage-plugin-")?;
            self.by_key.get(&format!("redhat-backstage-plugin-{rest}")).copied()
        })
    }
}

/// Which packages the index covers and under which tags. Pure.
pub(crate) fn plan(
    overlay: &Overlay,
    selection: &[SelectionFile],
    config: &IndexConfig,
    all_packages: bool,
    records: &ExportRecords,
) -> Result<Vec<PlannedPlugin>, InputError> {
    let lookup = PackageLookup::new(overlay);
    // Workspace path of every package, and the reverse map for the tier lists.
    let mut workspace_path_of: HashMap<(&str, &str), String> = HashMap::new();
    let mut package_at_path: HashMap<String, &str> = HashMap::new();
    for workspace in &overlay.workspaces {
        let recorded = records.get(&workspace.name).map_or(&[][..], Vec::as_slice);
        for (package, path) in workspace.packages.iter().zip(workspace_paths(workspace, recorded)) {
            workspace_path_of.insert((workspace.name.as_str(), package.package_name.as_str()), path.clone());
            package_at_path.entry(path).or_insert(package.package_name.as_str());
        }
    }

    let mut selected: Option<BTreeSet<&str>> = None;
    for file in selection {
        let chosen = selected.get_or_insert_with(BTreeSet::new);
        match file {
            SelectionFile::DefaultPackages { path, packages, bytes, lenient } => {
                let text = String::from_utf8_lossy(bytes);
                for entry in &packages.entries {
                    let found = lookup.find(&entry.package);
                    if found.is_none() && *lenient {
                        continue;
                    }
                    let Some((_, package)) = found else {
                        return Err(InputError::in_file(
                            path,
                            format!("package `{}` has no metadata file in any workspace", entry.package),
                        )
                        .at_line(
                            crate::formats::package::line_of(&text, &format!("- package: '{}'", entry.package))
                                .or_else(|| line_containing(&text, &entry.package)),
                        )
                        .with_hint(
                            "add workspaces/<ws>/metadata/<name>.yaml with this spec.packageName, or remove the entry",
                        ));
                    };
                    chosen.insert(package.package_name.as_str());
                }
            }
            SelectionFile::PackageList { path, entries, .. } => {
                for entry in entries {
                    let key = format!("{}/{}", entry.workspace, entry.path);
                    let Some(package_name) = package_at_path.get(&key) else {
                        return Err(InputError::in_file(path, format!("`{key}` matches no metadata file of workspace `{}`", entry.workspace))
                            .at_line(Some(entry.line))
                            .with_hint("check the workspace name and the plugins-list.yaml path, and that the workspace has a metadata file for the plugin"));
                    };
                    chosen.insert(package_name);
                }
            }
        }
    }

    let mut plugins: Vec<PlannedPlugin> = Vec::new();
    for workspace in &overlay.workspaces {
        for package in &workspace.packages {
            if !all_packages && selected.as_ref().is_some_and(|chosen| !chosen.contains(package.package_name.as_str()))
            {
                continue;
            }
            let workspace_path = workspace_path_of
                .get(&(workspace.name.as_str(), package.package_name.as_str()))
                .cloned()
                .unwrap_or_else(|| format!("{}/{}", workspace.name, package.entity_name));
            let folder = workspace_path.strip_prefix(&format!("{}/", workspace.name)).unwrap_or(&workspace_path);
            let folder = RelativePath::parse(folder).map_err(|problem| {
                InputError::in_file(&package.file, format!("its plugin folder `{folder}` {problem}"))
            })?;
            let identity =
                PluginIdentity { workspace: workspace.name.clone(), folder, npm_name: package.package_name.clone() };
            let image = identity.image_name();
            if let Some(first) = plugins.iter().find(|plugin| plugin.image == image) {
                return Err(InputError::in_file(
                    &package.file,
                    format!("image `{image}` is also built by workspace `{}`", first.workspace()),
                )
                .with_hint("each npm package may be declared by one workspace only"));
            }
            let Some(version) = package.version.as_deref().filter(|version| !version.trim().is_empty()) else {
                return Err(InputError::in_file(&package.file, "`spec.version` is missing; the image tag needs it")
                    .at_line(crate::formats::package::line_of(&package.text, "spec:")));
            };
            let registry = config.registries.for_support(package.support.as_ref());
            let tag = registry.scheme.tag(version, workspace.backstage_version());
            let reference = registry.prefix.image(&image, &tag).map_err(|problem| {
                InputError::in_file(&package.file, format!("cannot form an image reference: {problem}"))
                    .at_line(crate::formats::package::line_of(&package.text, "version:"))
            })?;
            plugins.push(PlannedPlugin {
                identity,
                image,
                version: version.to_string(),
                reference,
                support: package.support.clone(),
            });
        }
    }
    Ok(plugins)
}

fn line_containing(text: &str, needle: &str) -> Option<u64> {
    text.lines().position(|line| line.contains(needle)).map(|index| index as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_plugins_come_from_the_community_registry_with_its_own_scheme() {
        let registries = Registries {
            default: TaggedRegistry {
                prefix: RegistryPrefix::parse("quay.io/rhdh").unwrap(),
                scheme: TagScheme::Rhdh { rhdh_version: "1.10".into() },
            },
            community: Some(TaggedRegistry {
                prefix: RegistryPrefix::parse("ghcr.io/redhat-developer/rhdh-plugin-export-overlays").unwrap(),
                scheme: TagScheme::Backstage { backstage_version: "1.45.3".into() },
            }),
        };
        let community = registries.for_support(Some(&SupportLevel::Community));
        assert_eq!(community.scheme.tag("1.14.0", None), "bs_1.45.3__1.14.0");
        assert_eq!(
            community.prefix.image("x", "t").unwrap().to_string(),
            "ghcr.io/redhat-developer/rhdh-plugin-export-overlays/x:t"
        );
        for support in [None, Some(&SupportLevel::GenerallyAvailable), Some(&SupportLevel::DevPreview)] {
            assert_eq!(registries.for_support(support).scheme.tag("1.14.0", None), "1.10--1.14.0");
        }
        let single = Registries { community: None, ..registries.clone() };
        assert_eq!(single.for_support(Some(&SupportLevel::Community)).scheme.tag("2.0.0", None), "1.10--2.0.0");
    }
}
