//! `workspaces/<ws>/metadata/*.yaml`: the `kind: Package` entity of one plugin package, the
//! source of image names, versions, default configuration and the catalog's `packages/` files.
//! The overlay owns these files: they are read forward-compatibly ([`crate::formats::foreign`])
//! against the keys a Backstage entity envelope and the extensions `Package` kind define, so a key
//! neither defines is a note, never an error.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::InputError;

pub(crate) const PACKAGE_API_VERSION: &str = "extensions.backstage.io/v1alpha1";

/// Keys the reader knows but does not use are `IgnoredAny`: listed, so that they are not noted as
/// unknown, and not looked into.
type Known = Option<serde::de::IgnoredAny>;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PackageEntity {
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) metadata: PackageMetadata,
    pub(crate) spec: PackageSpec,
    #[serde(default, rename = "relations")]
    _relations: Known,
    #[serde(default, rename = "status")]
    _status: Known,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct PackageMetadata {
    #[serde(deserialize_with = "crate::formats::scalar::string")]
    pub(crate) name: String,
    /// The display name (`ArgoCD Backend`).
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    pub(crate) title: Option<String>,
    #[serde(default, rename = "namespace")]
    _namespace: Known,
    #[serde(default, rename = "description")]
    _description: Known,
    #[serde(default, rename = "labels")]
    _labels: Known,
    #[serde(default, rename = "annotations")]
    _annotations: Known,
    #[serde(default, rename = "tags")]
    _tags: Known,
    #[serde(default, rename = "links")]
    _links: Known,
    #[serde(default, rename = "uid")]
    _uid: Known,
    #[serde(default, rename = "etag")]
    _etag: Known,
}

/// `spec.backstage` (deprecated upstream in favour of `spec.role` and `spec.supportedVersions`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PackageBackstage {
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    pub(crate) role: Option<String>,
    #[serde(default, rename = "supportedVersions")]
    _supported_versions: Known,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PackageSpec {
    /// npm name of the static package, e.g. `@backstage-community/plugin-argocd-backend`.
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    pub(crate) package_name: Option<String>,
    /// Install reference: an OCI reference with a tag, or a local `./dynamic-plugins/dist/...` wrapper.
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    pub(crate) dynamic_artifact: Option<String>,
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    pub(crate) version: Option<String>,
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    pub(crate) support: Option<String>,
    #[serde(default)]
    pub(crate) app_config_examples: Option<Vec<AppConfigExample>>,
    /// `active`, `deprecated`, ….
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    pub(crate) lifecycle: Option<String>,
    /// The Backstage role (`frontend-plugin`, …), newer files.
    #[serde(default, deserialize_with = "crate::formats::scalar::optional_string")]
    pub(crate) role: Option<String>,
    #[serde(default)]
    pub(crate) backstage: Option<PackageBackstage>,
    #[serde(default, rename = "supportedVersions")]
    _supported_versions: Known,
    #[serde(default, rename = "author")]
    _author: Known,
    #[serde(default, rename = "owner")]
    _owner: Known,
    #[serde(default, rename = "partOf")]
    _part_of: Known,
    #[serde(default, rename = "integrity")]
    _integrity: Known,
    #[serde(default, rename = "installStatus")]
    _install_status: Known,
    #[serde(default, rename = "appConfigNotRequired")]
    _app_config_not_required: Known,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct AppConfigExample {
    #[serde(default)]
    pub(crate) content: Option<Value>,
    #[serde(default, rename = "title")]
    _title: Known,
}

/// A parsed metadata file with the facts later steps need, checked.
#[derive(Clone, Debug)]
pub(crate) struct Package {
    /// Where it was read from (for messages) and its file name, used as the `packages/` file name.
    pub(crate) file: PathBuf,
    pub(crate) file_name: String,
    /// The file's text, rewritten (only the `dynamicArtifact` line) into the catalog's `packages/`.
    pub(crate) text: String,
    pub(crate) entity_name: String,
    pub(crate) package_name: String,
    pub(crate) dynamic_artifact: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) support: Option<SupportLevel>,
    /// `appConfigExamples[0].content`: the default `pluginConfig`.
    pub(crate) default_config: Option<Value>,
    /// `metadata.title`.
    pub(crate) title: Option<String>,
    /// `spec.lifecycle`.
    pub(crate) lifecycle: Option<String>,
    /// `spec.role`, else `spec.backstage.role`.
    pub(crate) role: Option<PluginRole>,
    /// What the forward-compatible read passed over.
    pub(crate) notes: Vec<crate::formats::foreign::ReadNote>,
}

impl Package {
    pub(crate) fn parse(file: &Path, text: &str) -> Result<Self, InputError> {
        let crate::formats::foreign::Read { value: entity, notes } =
            crate::formats::foreign::from_yaml::<PackageEntity>(file, text)?;
        if entity.kind != "Package" {
            return Err(InputError::in_file(file, format!("`kind` is `{}`, expected `Package`", entity.kind))
                .at_line(line_of(text, "kind:"))
                .with_hint("metadata/ holds only Package entities"));
        }
        if entity.api_version != PACKAGE_API_VERSION {
            return Err(InputError::in_file(
                file,
                format!("`apiVersion` is `{}`, expected `{PACKAGE_API_VERSION}`", entity.api_version),
            )
            .at_line(line_of(text, "apiVersion:")));
        }
        let Some(package_name) = entity.spec.package_name.filter(|name| !name.trim().is_empty()) else {
            return Err(InputError::in_file(file, "`spec.packageName` is missing")
                .at_line(line_of(text, "spec:"))
                .with_hint("set it to the npm name of the plugin package, e.g. @backstage-community/plugin-argocd"));
        };
        if !is_npm_name(&package_name) {
            return Err(InputError::in_file(
                file,
                format!(
                    "`spec.packageName` `{}` is not an npm package name{}",
                    crate::formats::shown::shown(&package_name),
                    crate::formats::shown::unusual_character_note(&package_name)
                        .map_or_else(String::new, |note| format!(": {note}"))
                ),
            )
            .at_line(line_of(text, "packageName:"))
            .with_hint("write the npm name: lowercase letters, digits, `-`, `.`, `_`, `~`, one optional `@scope/`"));
        }
        crate::formats::catalog_entity::check_entity_name(file, text, &entity.metadata.name, None)?;
        if let Some(artifact) = &entity.spec.dynamic_artifact
            && let Err(problem) = check_dynamic_artifact(artifact)
        {
            return Err(InputError::in_file(
                file,
                format!("`spec.dynamicArtifact` `{}` {problem}", crate::formats::shown::shown(artifact)),
            )
            .at_line(line_of(text, "dynamicArtifact:"))
            .with_hint(
                "write `oci://<registry>/<path>:<tag>[!<plugin folder>]`, or `./dynamic-plugins/dist/<folder>` for a plugin the RHDH image ships",
            ));
        }
        let file_name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let default_config = entity
            .spec
            .app_config_examples
            .and_then(|examples| examples.into_iter().next())
            .and_then(|example| example.content)
            .filter(|content| !content.is_null());
        let role = entity
            .spec
            .role
            .or_else(|| entity.spec.backstage.and_then(|backstage| backstage.role))
            .filter(|role| !role.trim().is_empty())
            .map(|role| PluginRole::parse(&role));
        Ok(Package {
            file: file.to_path_buf(),
            file_name,
            text: text.to_string(),
            entity_name: entity.metadata.name,
            package_name,
            dynamic_artifact: entity.spec.dynamic_artifact,
            version: entity.spec.version,
            support: entity.spec.support.as_deref().map(SupportLevel::parse),
            default_config,
            title: entity.metadata.title.filter(|title| !title.trim().is_empty()),
            lifecycle: entity.spec.lifecycle.filter(|lifecycle| !lifecycle.trim().is_empty()),
            role,
            notes,
        })
    }

    /// Image name rule of the generators: `@scope/name` → `scope-name`.
    pub(crate) fn image_name(&self) -> String {
        crate::domain::catalog::identity::image_name(&self.package_name)
    }

    /// The file stem (`backstage-community-plugin-argocd` for `…argocd.yaml`).
    pub(crate) fn file_stem(&self) -> &str {
        self.file_name.strip_suffix(".yaml").or_else(|| self.file_name.strip_suffix(".yml")).unwrap_or(&self.file_name)
    }

    /// The text with `spec.dynamicArtifact` set to `value`; everything else byte-identical.
    /// A file without the field gets it after `packageName:`.
    pub(crate) fn text_with_dynamic_artifact(&self, value: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 80);
        let mut replaced = false;
        for line in self.text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let ending = if line.ends_with('\n') { "\n" } else { "" };
            if !replaced && trimmed.starts_with("dynamicArtifact:") && !indent.is_empty() {
                out.push_str(indent);
                out.push_str("dynamicArtifact: ");
                out.push_str(&crate::formats::yaml::string_scalar(value));
                out.push_str(ending);
                replaced = true;
                continue;
            }
            out.push_str(line);
            if !replaced && self.dynamic_artifact.is_none() && trimmed.starts_with("packageName:") && !indent.is_empty()
            {
                if ending.is_empty() {
                    out.push('\n');
                }
                out.push_str(indent);
                out.push_str("dynamicArtifact: ");
                out.push_str(&crate::formats::yaml::string_scalar(value));
                out.push('\n');
                replaced = true;
            }
        }
        out
    }
}

/// npm's package-name rules (validate-npm-package-name, for new packages): at most 214
/// characters; `name` or `@scope/name`, where scope and name are each non-empty, made of lowercase
/// letters, digits, `-`, `.`, `_` and `~`, and start with neither `.` nor `_`; not
/// `node_modules` or `favicon.ico`. So a name never climbs out of a folder, never names a hidden
/// one and never holds a space, a control character or markup.
pub(crate) fn is_npm_name(name: &str) -> bool {
    let part_ok = |part: &str| {
        !part.is_empty()
            && !part.starts_with(['.', '_'])
            && part.chars().all(|character| {
                character.is_ascii_lowercase() || character.is_ascii_digit() || "-._~".contains(character)
            })
    };
    let grammar = match name.strip_prefix('@') {
        Some(scoped) => scoped.split_once('/').is_some_and(|(scope, rest)| part_ok(scope) && part_ok(rest)),
        None => part_ok(name),
    };
    grammar && name.len() <= 214 && !matches!(name, "node_modules" | "favicon.ico")
}

/// Where a wrapper plugin lives in the RHDH image; a local `dynamicArtifact` names one folder here.
pub(crate) const WRAPPER_PREFIX: &str = "./dynamic-plugins/dist/";

/// Whether a `spec.dynamicArtifact` can go into `dynamic-plugins.default.yaml` as the installer
/// reads it: an `oci://` reference (with at most a plain `!<plugin folder>`), or a wrapper
/// `./dynamic-plugins/dist/<folder>` (one plain folder name: no `..`, no further `/`), or an npm
/// spec; never a control character, a space or another local path (the installer would pack
/// whatever folder it names).
pub(crate) fn check_dynamic_artifact(artifact: &str) -> Result<(), String> {
    if let Some(character) = artifact.chars().find(|character| character.is_control() || character.is_whitespace()) {
        return Err(format!("contains {}; a package reference has none", crate::formats::shown::code_point(character)));
    }
    // A look-alike or a bidirectional override names another folder or package than it shows.
    if let Some(note) = crate::formats::shown::unusual_character_note(artifact) {
        return Err(format!("holds a character no package reference holds: {note}"));
    }
    if let Some(reference) = artifact.strip_prefix("oci://") {
        let (image, path) = reference.split_once('!').map_or((reference, None), |(image, path)| (image, Some(path)));
        crate::formats::image_reference::ImageReference::parse(image)
            .map_err(|problem| format!("is not an image reference: {problem}"))?;
        if let Some(path) = path
            && (path.contains('/') || crate::formats::relative_path::RelativePath::parse(path).is_err())
        {
            return Err("names a plugin folder that is not one plain folder name".to_string());
        }
        return Ok(());
    }
    if let Some(folder) = artifact.strip_prefix(WRAPPER_PREFIX) {
        let folder = folder.trim_end_matches('/');
        return if !folder.contains('/') && crate::formats::relative_path::RelativePath::parse(folder).is_ok() {
            Ok(())
        } else {
            Err(format!("is not `{WRAPPER_PREFIX}<folder>` with one plain folder name"))
        };
    }
    // What npm reads as a folder (a file spec, `file:`, or a path that climbs with `..`) packs
    // whatever that folder is on the installer's disk.
    let is_file_spec = artifact.get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"))
        || (artifact.as_bytes().get(1) == Some(&b':') && artifact.as_bytes()[0].is_ascii_alphabetic());
    if artifact.starts_with(['.', '/', '~', '\\'])
        || is_file_spec
        || artifact.split(['/', '\\']).any(|part| part == "..")
    {
        return Err(format!("is a local path outside `{WRAPPER_PREFIX}`, where the RHDH image keeps its plugins"));
    }
    if let Some(character) = artifact.chars().find(|character| "$`;|&<>\"'(){}*?!\\".contains(*character)) {
        return Err(format!("contains `{character}`, which no package reference holds"));
    }
    Ok(())
}

/// The 1-based line of the first line whose trimmed text starts with `prefix`.
pub(crate) fn line_of(text: &str, prefix: &str) -> Option<u64> {
    text.lines().position(|line| line.trim_start().starts_with(prefix)).map(|index| index as u64 + 1)
}

/// A package's Backstage role (`backstage.role` of its package.json).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PluginRole {
    FrontendPlugin,
    FrontendPluginModule,
    BackendPlugin,
    BackendPluginModule,
    /// Any other role Backstage defines (libraries, CLIs), kept verbatim.
    Other(String),
}

impl PluginRole {
    pub(crate) fn parse(text: &str) -> PluginRole {
        match text.trim() {
            "frontend-plugin" => PluginRole::FrontendPlugin,
            "frontend-plugin-module" => PluginRole::FrontendPluginModule,
            "backend-plugin" => PluginRole::BackendPlugin,
            "backend-plugin-module" => PluginRole::BackendPluginModule,
            other => PluginRole::Other(other.to_string()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            PluginRole::FrontendPlugin => "frontend-plugin",
            PluginRole::FrontendPluginModule => "frontend-plugin-module",
            PluginRole::BackendPlugin => "backend-plugin",
            PluginRole::BackendPluginModule => "backend-plugin-module",
            PluginRole::Other(other) => other,
        }
    }

    pub(crate) fn is_frontend(&self) -> bool {
        self.as_str().starts_with("frontend")
    }
}

/// `spec.support` of a metadata file: who supports the plugin.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum SupportLevel {
    GenerallyAvailable,
    TechPreview,
    DevPreview,
    Community,
    /// A level this version does not know, kept verbatim.
    Other(String),
}

impl SupportLevel {
    pub(crate) fn parse(text: &str) -> SupportLevel {
        match text.trim() {
            "generally-available" => SupportLevel::GenerallyAvailable,
            "tech-preview" => SupportLevel::TechPreview,
            "dev-preview" => SupportLevel::DevPreview,
            "community" => SupportLevel::Community,
            other => SupportLevel::Other(other.to_string()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            SupportLevel::GenerallyAvailable => "generally-available",
            SupportLevel::TechPreview => "tech-preview",
            SupportLevel::DevPreview => "dev-preview",
            SupportLevel::Community => "community",
            SupportLevel::Other(other) => other,
        }
    }
}

impl fmt::Display for SupportLevel {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for SupportLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SupportLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(SupportLevel::parse(&String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARGOCD: &str = "apiVersion: extensions.backstage.io/v1alpha1\nkind: Package\nmetadata:\n  name: backstage-community-plugin-redhat-argocd-backend\n  namespace: rhdh\nspec:\n  packageName: \"@backstage-community/plugin-argocd-backend\"\n  dynamicArtifact: oci://ghcr.io/x/backstage-community-plugin-argocd-backend:bs_1.49.4__1.4.0 # keep?\n  version: 1.4.0\n  appConfigExamples:\n    - title: Default configuration\n      content:\n        argocd:\n          username: ${ARGOCD_USERNAME}\n";

    #[test]
    fn enums_keep_unknown_values() {
        assert_eq!(SupportLevel::parse("tech-preview"), SupportLevel::TechPreview);
        assert_eq!(SupportLevel::parse("beta").as_str(), "beta");
        assert!(PluginRole::parse("frontend-plugin-module").is_frontend());
        assert!(!PluginRole::parse("web-library").is_frontend());
    }

    #[test]
    fn parses_real_shape() {
        let package = Package::parse(Path::new("metadata/argocd.yaml"), ARGOCD).unwrap();
        assert_eq!(package.image_name(), "backstage-community-plugin-argocd-backend");
        assert_eq!(package.version.as_deref(), Some("1.4.0"));
        assert_eq!(package.default_config.unwrap()["argocd"]["username"], "${ARGOCD_USERNAME}");
    }

    #[test]
    fn keys_of_the_entity_envelope_and_the_package_kind_are_known_others_are_notes() {
        let package = Package::parse(Path::new("metadata/argocd.yaml"), ARGOCD).unwrap();
        assert!(package.notes.is_empty(), "{:?}", package.notes);
        let text = ARGOCD.replace("  version: 1.4.0\n", "  version: 1.4.0\n  lifecycle: active\n  backstage:\n    role: backend-plugin\n    author: x\n  maturity: beta\n");
        let package = Package::parse(Path::new("m.yaml"), &text).unwrap();
        assert_eq!(package.lifecycle.as_deref(), Some("active"));
        assert_eq!(package.role, Some(PluginRole::BackendPlugin));
        let notes: Vec<String> = package.notes.iter().map(ToString::to_string).collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("m.yaml:13: unknown key `author` in `spec.backstage`"), "{notes:?}");
        assert!(notes[1].starts_with("m.yaml:14: unknown key `maturity` in `spec`"), "{notes:?}");
        let error = Package::parse(Path::new("m.yaml"), &ARGOCD.replace("version: 1.4.0", "version: [1]")).unwrap_err();
        assert!(error.problem.contains("wrong type at `spec.version`"), "{error}");
    }

    #[test]
    fn rewrites_only_the_artifact_line() {
        let package = Package::parse(Path::new("argocd.yaml"), ARGOCD).unwrap();
        let text = package.text_with_dynamic_artifact("oci://ghcr.io/x/y@sha256:ab");
        let expected = ARGOCD.replace(
            "oci://ghcr.io/x/backstage-community-plugin-argocd-backend:bs_1.49.4__1.4.0 # keep?",
            "oci://ghcr.io/x/y@sha256:ab",
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn missing_package_name_is_named() {
        let text = ARGOCD.replace("  packageName: \"@backstage-community/plugin-argocd-backend\"\n", "");
        let error = Package::parse(Path::new("m.yaml"), &text).unwrap_err();
        assert!(error.problem.contains("packageName"), "{error}");
        assert_eq!(error.line, Some(6));
        let text = ARGOCD.replace("kind: Package", "kind: Plugin");
        let error = Package::parse(Path::new("m.yaml"), &text).unwrap_err();
        assert_eq!(error.line, Some(2));
    }
}
