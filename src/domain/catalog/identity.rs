//! A plugin's identity, owned here and nowhere else: the workspace it is built in, its folder in
//! that workspace, its npm name, and every name derived from those (image name, folder inside the
//! image, tag under each scheme). The wrapper path inside the RHDH image is not derived: the
//! metadata's `spec.dynamicArtifact` names it, and only where the RHDH image ships one. `export` records the mapping
//! it knows (folder → npm name → image); `index` reads that record and only falls back to
//! matching metadata names to folders where no export recorded one.

use serde::{Deserialize, Serialize};

use crate::formats::relative_path::RelativePath;

/// Who built a plugin and under which names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PluginIdentity {
    pub(crate) workspace: String,
    /// The plugin's folder inside the workspace (a `plugins-list.yaml` path).
    pub(crate) folder: RelativePath,
    /// `name` of the plugin's `package.json` (= the metadata's `spec.packageName`).
    #[serde(rename = "npmName")]
    pub(crate) npm_name: String,
}

impl PluginIdentity {
    /// The image repository's last segment.
    pub(crate) fn image_name(&self) -> String {
        image_name(&self.npm_name)
    }

    /// `<workspace>/<folder>`, as `plugin_builds/` and `index.json` record it.
    pub(crate) fn workspace_path(&self) -> String {
        format!("{}/{}", self.workspace, self.folder)
    }
}

/// `@scope/name` → `scope-name`, `name` → `name`: the image a package is published as (leading
/// `@` dropped, the first `/` turned into `-`).
pub(crate) fn image_name(npm_name: &str) -> String {
    npm_name.trim_start_matches('@').replacen('/', "-", 1)
}

/// `@scope/name-dynamic` → `scope-name`: the folder an exported package occupies inside its image
/// (the rule of `rhdh-cli plugin package`, which the installer relies on).
pub(crate) fn folder_in_image(exported_name: &str) -> String {
    image_name(exported_name.strip_suffix("-dynamic").unwrap_or(exported_name))
}

/// The image a `dynamic-plugins.yaml` package names: the last path segment of an OCI reference
/// (without tag, digest or `!path`), or a wrapper folder without `-dynamic`.
pub(crate) fn image_of_dynamic_plugin(package: &str) -> String {
    if let Some(rest) = package.strip_prefix("oci://") {
        let name = rest.split(['@', '!']).next().unwrap_or(rest);
        let last = name.rsplit('/').next().unwrap_or(name);
        return last.split(':').next().unwrap_or(last).to_string();
    }
    let last = package.trim_end_matches('/').rsplit('/').next().unwrap_or(package);
    last.strip_suffix("-dynamic").unwrap_or(last).to_string()
}

/// How image tags are formed from a plugin version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TagScheme {
    /// `bs_<backstage>__<version>`: the public overlay images.
    Backstage { backstage_version: String },
    /// `<rhdh>--<version>`: product images.
    Rhdh { rhdh_version: String },
}

/// Which [`TagScheme`] a run asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum TagSchemeChoice {
    /// `Backstage` for `ghcr.io` registries, `Rhdh` elsewhere.
    #[default]
    Auto,
    Backstage,
    Rhdh,
}

/// Why no tag scheme could be chosen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("tags in {registry} are `<rhdh version>--<plugin version>`, so the RHDH version is required")]
pub(crate) struct RhdhVersionRequired {
    pub(crate) registry: String,
}

impl TagScheme {
    /// The scheme for images under `registry_host`.
    pub(crate) fn choose(
        choice: TagSchemeChoice,
        registry_host: &str,
        rhdh_version: Option<&str>,
        backstage_version: &str,
    ) -> Result<TagScheme, RhdhVersionRequired> {
        let is_ghcr = registry_host == "ghcr.io" || registry_host.ends_with(".ghcr.io");
        match (choice, is_ghcr) {
            (TagSchemeChoice::Backstage, _) | (TagSchemeChoice::Auto, true) => {
                Ok(TagScheme::Backstage { backstage_version: backstage_version.to_string() })
            }
            (TagSchemeChoice::Rhdh, _) | (TagSchemeChoice::Auto, false) => match rhdh_version {
                Some(rhdh_version) => Ok(TagScheme::Rhdh { rhdh_version: rhdh_version.to_string() }),
                None => Err(RhdhVersionRequired { registry: registry_host.to_string() }),
            },
        }
    }

    /// The tag of `version`. `workspace_backstage` is the Backstage version the workspace builds
    /// against: where its major.minor differs from the target, `bs_` tags carry the workspace's own
    /// (its images were tagged with it).
    pub(crate) fn tag(&self, version: &str, workspace_backstage: Option<&str>) -> String {
        match self {
            TagScheme::Backstage { backstage_version } => {
                let backstage = match workspace_backstage {
                    Some(own)
                        if crate::formats::versions::is_version(own)
                            && crate::formats::versions::major_minor(own)
                                != crate::formats::versions::major_minor(backstage_version) =>
                    {
                        own
                    }
                    _ => backstage_version,
                };
                format!("bs_{backstage}__{version}")
            }
            TagScheme::Rhdh { rhdh_version } => format!("{rhdh_version}--{version}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_packaging_rules() {
        assert_eq!(image_name("@backstage-community/plugin-argocd"), "backstage-community-plugin-argocd");
        assert_eq!(image_name("plain-plugin"), "plain-plugin");
        assert_eq!(folder_in_image("@backstage-community/plugin-argocd-dynamic"), "backstage-community-plugin-argocd");
        assert_eq!(folder_in_image("plain-plugin"), "plain-plugin");
    }

    #[test]
    fn the_image_of_a_dynamic_plugin_entry() {
        assert_eq!(
            image_of_dynamic_plugin("oci://quay.io/rhdh/backstage-plugin-x@sha256:ab!backstage-plugin-x"),
            "backstage-plugin-x"
        );
        assert_eq!(image_of_dynamic_plugin("oci://quay.io:443/rhdh/plugin-y:1.0--2.0"), "plugin-y");
        assert_eq!(image_of_dynamic_plugin("./dynamic-plugins/dist/backstage-plugin-z-dynamic"), "backstage-plugin-z");
    }

    #[test]
    fn tags_under_each_scheme() {
        let rhdh = TagScheme::choose(TagSchemeChoice::Auto, "quay.io", Some("1.10.0"), "1.49.4").unwrap();
        assert_eq!(rhdh.tag("2.1.0", None), "1.10.0--2.1.0");
        let backstage = TagScheme::choose(TagSchemeChoice::Auto, "ghcr.io", None, "1.49.4").unwrap();
        assert_eq!(backstage.tag("2.1.0", None), "bs_1.49.4__2.1.0");
        assert_eq!(backstage.tag("2.1.0", Some("1.49.1")), "bs_1.49.4__2.1.0", "same major.minor: the target");
        assert_eq!(backstage.tag("2.1.0", Some("1.45.3")), "bs_1.45.3__2.1.0", "another minor: its own");
        assert!(TagScheme::choose(TagSchemeChoice::Rhdh, "ghcr.io", None, "1.49.4").is_err());
    }
}
