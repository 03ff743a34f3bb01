//! `catalog-entities/extensions/**`: `Plugin`, `PluginCollection` and `Location` entities. We copy
//! them into the index after checking each parses and has a kind its folder allows; `all.yaml`
//! Locations are regenerated from the folder's files.

use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::error::InputError;
use crate::formats::package::line_of;
use crate::formats::shown::shown;
use crate::formats::yaml::Node;

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
        check_entity_name(file, text, &entity.metadata.name, Some(ENTITY_NAME_MAX_LENGTH))?;
        Ok(entity)
    }
}

/// The longest entity name Backstage accepts.
pub(crate) const ENTITY_NAME_MAX_LENGTH: usize = 63;

static ENTITY_NAME: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[a-zA-Z0-9](?:[-_.a-zA-Z0-9]*[a-zA-Z0-9])?$")
        .unwrap_or_else(|_| unreachable!("the entity name pattern is a valid regex"))
});

/// Backstage's rule for `metadata.name`: letters, digits, `-`, `_`, `.`, starting and ending with
/// a letter or digit, at most 63 characters. A look-alike or control character is named by its
/// code point; the line is the one of `metadata.name`. `max_length` is `None` for the overlay's
/// `Package` entities, which the catalog reads with longer names (67 characters upstream).
pub(crate) fn check_entity_name(
    file: &Path,
    text: &str,
    name: &str,
    max_length: Option<usize>,
) -> Result<(), InputError> {
    let length_ok = max_length.is_none_or(|max_length| name.len() <= max_length);
    if length_ok && ENTITY_NAME.is_match(name) {
        return Ok(());
    }
    let line = crate::formats::yaml::parse_tree(file, text)
        .ok()
        .and_then(|tree| tree.get("metadata").and_then(|metadata| metadata.get("name")).and_then(Node::line))
        .or_else(|| line_of(text, "name:"));
    let shown_name = shown(name);
    let why = if let Some(note) = crate::formats::shown::unusual_character_note(name) {
        note
    } else if !length_ok {
        format!("it is {} characters long, more than {ENTITY_NAME_MAX_LENGTH}", name.chars().count())
    } else if let Some(bad) =
        name.chars().find(|character| !(character.is_ascii_alphanumeric() || "-_.".contains(*character)))
    {
        format!("`{}` is not allowed in a name", shown(&bad.to_string()))
    } else {
        "it must start and end with a letter or digit".to_string()
    };
    Err(InputError::in_file(file, format!("`metadata.name` `{shown_name}` is not an entity name: {why}"))
        .at_line(line)
        .with_hint(
            "use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, at most 63 characters",
        ))
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

    #[test]
    fn entity_names_follow_the_backstage_rules() {
        let entity = |name: &str| {
            format!(
                "apiVersion: extensions.backstage.io/v1alpha1\nkind: Plugin\nmetadata:\n  title: x\n  name: {name}\n"
            )
        };
        for good in ["tech-radar", "a", "A.b_c-9", &"a".repeat(63)] {
            assert!(CatalogEntity::parse(Path::new("p.yaml"), &entity(good), EntityFolder::Plugins).is_ok(), "{good}");
        }
        for (bad, expected) in [
            ("'tech radar'", "` ` is not allowed"),
            ("'a/../b'", "`/` is not allowed"),
            ("t\u{0435}ch-radar", "U+0435 at position 2"),
            ("'-x'", "start and end"),
            (&"a".repeat(64), "64 characters long"),
            ("\"a\\u0000b\"", "U+0000"),
        ] {
            let error = CatalogEntity::parse(Path::new("p.yaml"), &entity(bad), EntityFolder::Plugins).unwrap_err();
            assert_eq!(error.line, Some(5), "{bad}: {error}");
            assert!(error.problem.contains(expected), "{bad}: {error}");
            assert!(!error.problem.contains('\u{0435}') && !error.problem.contains('\0'), "{error}");
        }
    }
}
