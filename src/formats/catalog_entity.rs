//! `catalog-entities/extensions/**`: `Plugin`, `PluginCollection` and `Location` entities. We copy
//! them into the index after checking each parses and has a kind its folder allows; `all.yaml`
//! Locations are regenerated from the folder's files.

use std::path::Path;

use serde::Deserialize;

use crate::error::InputError;
use crate::formats::package::line_of;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CatalogEntity {
    /// Required (a file without it is no entity), not interpreted.
    #[allow(dead_code)]
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) metadata: EntityName,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct EntityName {
    #[serde(deserialize_with = "crate::formats::scalar::string")]
    pub(crate) name: String,
}

/// The folders of `catalog-entities/extensions/` and the kinds each may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntityFolder {
    Plugins,
    Collections,
    Packages,
}

impl EntityFolder {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EntityFolder::Plugins => "plugins",
            EntityFolder::Collections => "collections",
            EntityFolder::Packages => "packages",
        }
    }

    fn entity_kind(self) -> &'static str {
        match self {
            EntityFolder::Plugins => "Plugin",
            EntityFolder::Collections => "PluginCollection",
            EntityFolder::Packages => "Package",
        }
    }
}

impl CatalogEntity {
    /// Parses an entity file in `folder`, checking its kind (`Location` is allowed everywhere).
    pub(crate) fn parse(file: &Path, text: &str, folder: EntityFolder) -> Result<Self, InputError> {
        let entity: CatalogEntity = crate::formats::yaml::from_str(file, text)?;
        let expected = folder.entity_kind();
        if entity.kind != expected && entity.kind != "Location" {
            return Err(InputError::in_file(
                file,
                format!("`kind` is `{}`, but {}/ holds `{expected}` entities", entity.kind, folder.name()),
            )
            .at_line(line_of(text, "kind:"))
            .with_hint(format!("move the file to the folder for its kind, or fix `kind` to `{expected}`")));
        }
        if entity.metadata.name.trim().is_empty() {
            return Err(InputError::in_file(file, "`metadata.name` is empty").at_line(line_of(text, "name:")));
        }
        Ok(entity)
    }
}

/// The `all.yaml` Location listing every entity file of a folder, sorted.
pub(crate) fn render_all_yaml(folder: EntityFolder, file_names: &[String]) -> String {
    let mut targets: Vec<&String> = file_names.iter().filter(|name| name.as_str() != "all.yaml").collect();
    targets.sort();
    targets.dedup();
    let mut out = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  namespace: rhdh\n  name: {}\nspec:\n  targets:",
        folder.name()
    );
    if targets.is_empty() {
        out.push_str(" []\n");
    } else {
        out.push('\n');
        for target in targets {
            out.push_str("    - ");
            out.push_str(&crate::formats::yaml::string_scalar(&format!("./{target}")));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_yaml_is_sorted_and_skips_itself() {
        let names = vec!["b.yaml".to_string(), "all.yaml".to_string(), "a.yaml".to_string()];
        assert_eq!(
            render_all_yaml(EntityFolder::Plugins, &names),
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  namespace: rhdh\n  name: plugins\nspec:\n  targets:\n    - ./a.yaml\n    - ./b.yaml\n"
        );
    }

    #[test]
    fn wrong_kind_for_folder() {
        let text = "apiVersion: extensions.backstage.io/v1alpha1\nkind: Package\nmetadata:\n  name: x\n";
        let error = CatalogEntity::parse(Path::new("plugins/x.yaml"), text, EntityFolder::Plugins).unwrap_err();
        assert_eq!(error.line, Some(2));
    }
}
