//! Plugin images as `rhdh-cli plugin package` lays them out: one folder per exported plugin plus
//! `index.json` in a single layer, and the manifest annotation [`DYNAMIC_PACKAGES_ANNOTATION`]
//! (base64 of the same JSON) that lets the installer find each plugin's folder. Reads the exported
//! `dist-dynamic` folders; building and pushing the image is [`super::image`]'s job.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde_json::{Map, Value};

use super::image::{ImageSpec, LayerFile};
use crate::error::InputError;

pub(crate) use crate::formats::oci::DYNAMIC_PACKAGES_ANNOTATION;

/// package.json fields copied into the annotation, in this order.
const METADATA_FIELDS: [&str; 11] = [
    "name",
    "version",
    "description",
    "backstage",
    "homepage",
    "repository",
    "license",
    "maintainers",
    "author",
    "bugs",
    "keywords",
];

/// Reads every `dist-dynamic` folder into the image's files, with the given labels, extra
/// annotations and config environment. The dynamic-packages annotation is computed from the
/// folders; one given by the caller would describe another layer, so it is refused.
pub(crate) fn plugin_image_spec(
    dist_dynamic: &[std::path::PathBuf],
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    env: &[String],
) -> Result<ImageSpec, InputError> {
    if annotations.contains_key(DYNAMIC_PACKAGES_ANNOTATION) {
        return Err(InputError::usage(format!(
            "--annotation {DYNAMIC_PACKAGES_ANNOTATION} is computed from the exported folders and cannot be given"
        ))
        .with_hint("drop the flag; the annotation always names the plugin folders the image holds"));
    }
    let mut found = Vec::new();
    let mut metadata = Vec::new();
    let mut folders: BTreeMap<String, &Path> = BTreeMap::new();
    for dir in dist_dynamic {
        // A missing folder is named as such, not as a file inside it that is missing too.
        if !dir.is_dir() {
            return Err(InputError::in_file(dir, "is not an existing folder")
                .with_hint("give the dist-dynamic folders `rhdh-cli plugin export` wrote"));
        }
        let manifest_path = dir.join("package.json");
        let manifest: Map<String, Value> = crate::io::fs::read_json(&manifest_path)?;
        let Some(name) = manifest.get("name").and_then(Value::as_str) else {
            return Err(InputError::in_file(&manifest_path, "has no `name`")
                .with_hint("run `rhdh-cli plugin export` in the plugin folder first"));
        };
        if !crate::formats::package::is_npm_name(name) {
            return Err(InputError::in_file(
                &manifest_path,
                format!("`name` `{}` is not an npm package name", crate::formats::shown::shown(name)),
            )
            .with_hint("the name decides the plugin's folder in the image; export the plugin again"));
        }
        let folder = crate::domain::catalog::identity::folder_in_image(name);
        if let Some(other) = folders.insert(folder.clone(), dir) {
            return Err(InputError::usage(format!("{} and {} both export `{folder}`", other.display(), dir.display())));
        }
        let fields: Map<String, Value> = METADATA_FIELDS
            .iter()
            .filter_map(|field| manifest.get(*field).map(|value| ((*field).to_string(), value.clone())))
            .collect();
        metadata.push(Value::Object([(folder.clone(), Value::Object(fields))].into_iter().collect()));
        collect_files(dir, dir, &folder, &mut found)?;
    }
    // Sized before a byte is read: the image is built in memory.
    let mut total = 0u64;
    for file in &found {
        total = total.saturating_add(file.size);
        if total > MAX_PLUGIN_IMAGE_BYTES {
            return Err(InputError::in_file(
                &file.source,
                format!(
                    "is one file too many: the exported files come to more than the {MAX_PLUGIN_IMAGE_BYTES} bytes one plugin image may hold; nothing was read"
                ),
            )
            .with_hint("export the plugin again without what it does not need at run time (tests, sources, caches)"));
        }
    }
    let mut files = Vec::new();
    for file in found {
        let contents = crate::io::fs::read_bounded(&file.source, MAX_PLUGIN_FILE_BYTES)?;
        files.push(LayerFile { path: file.path, executable: file.executable, contents, symlink: None });
    }
    let metadata = Value::Array(metadata);
    let pretty = serde_json::to_vec_pretty(&metadata).unwrap_or_default();
    files.push(LayerFile { path: "index.json".into(), contents: pretty, ..LayerFile::default() });
    let compact = serde_json::to_vec(&metadata).unwrap_or_default();
    let mut annotations = annotations.clone();
    annotations
        .insert(DYNAMIC_PACKAGES_ANNOTATION.to_string(), base64::engine::general_purpose::STANDARD.encode(compact));
    let labels = labels.clone();
    Ok(ImageSpec { files, labels, annotations, env: env.to_vec(), user: None, created: None })
}

/// Most bytes one exported file may have (the image is built in memory; the installer itself
/// refuses entries over 40 MB, which `validate` reports).
const MAX_PLUGIN_FILE_BYTES: u64 = 1024 * 1024 * 1024;

/// Most bytes all the files of one plugin image may have together: the image is built in memory
/// (files, tar and gzip, about three times this), so this keeps `package` (and export, which runs
/// it) well inside the export Task's memory; a real plugin image holds a few hundred MB at most.
const MAX_PLUGIN_IMAGE_BYTES: u64 = 1024 * 1024 * 1024;

/// A file of a `dist-dynamic` folder, found but not read yet.
struct FoundFile {
    source: std::path::PathBuf,
    /// Its path in the image.
    path: String,
    executable: bool,
    size: u64,
}

fn collect_files(root: &Path, dir: &Path, folder: &str, files: &mut Vec<FoundFile>) -> Result<(), InputError> {
    let entries = std::fs::read_dir(dir).map_err(|error| InputError::in_file(dir, format!("cannot list: {error}")))?;
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        let metadata = std::fs::symlink_metadata(&path)
            .map_err(|error| InputError::in_file(&path, format!("cannot read: {error}")))?;
        let relative = path.strip_prefix(root).unwrap_or(&path);
        if metadata.file_type().is_symlink() {
            // npm's executable links are not needed at run time; any other link could leave the tree.
            if relative.components().any(|component| component.as_os_str() == ".bin") {
                continue;
            }
            return Err(InputError::in_file(&path, "is a symbolic link; a plugin image holds regular files only")
                .with_hint("re-export the plugin; exported dist-dynamic folders contain no links"));
        }
        if metadata.is_dir() {
            if relative == Path::new(".git") {
                continue;
            }
            collect_files(root, &path, folder, files)?;
        } else if metadata.is_file() {
            #[cfg(unix)]
            let executable = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o111 != 0;
            #[cfg(not(unix))]
            let executable = false;
            let relative = relative.to_string_lossy().replace('\\', "/");
            files.push(FoundFile {
                source: path.clone(),
                path: format!("{folder}/{relative}"),
                executable,
                size: metadata.len(),
            });
        }
    }
    Ok(())
}

/// The plugin folders an `io.backstage.dynamic-packages` annotation names.
pub(crate) fn plugin_paths(annotation: &str) -> Option<Vec<String>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(annotation.trim()).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some(
        value
            .as_array()?
            .iter()
            .filter_map(|item| item.as_object())
            .flat_map(|object| object.keys().cloned())
            .collect(),
    )
}
