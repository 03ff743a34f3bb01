//! Reading an overlay tree (the inputs of a catalog build) into typed values: every workspace's
//! `source.json`, `backstage.json`, `plugins-list.yaml` and `metadata/*.yaml`, and the files of
//! `catalog-entities/extensions/`. Every problem is an [`InputError`] naming the file.

use std::path::{Path, PathBuf};

pub(crate) use crate::domain::overlay::{EXTENSIONS_DIR, EntityFile, Overlay, Workspace};
use crate::error::InputError;
use crate::formats::catalog_entity::{CatalogEntity, EntityFolder};
use crate::formats::package::Package;
use crate::formats::plugins_list::PluginsList;
use crate::formats::source_json::SourceJson;
use crate::formats::versions::BackstageJson;

pub(crate) fn load(root: &Path) -> Result<Overlay, InputError> {
    let workspaces_dir = root.join("workspaces");
    if !workspaces_dir.is_dir() {
        return Err(InputError::in_file(&workspaces_dir, "is not a directory")
            .with_hint("point --overlay at an overlay tree (a folder with workspaces/<name>/source.json)"));
    }
    let mut workspaces = Vec::new();
    for dir in sorted_entries(&workspaces_dir)? {
        let kind = symlink_free(&dir)?;
        if !kind.is_dir() {
            continue;
        }
        if let Some(workspace) = load_workspace(&dir)? {
            workspaces.push(workspace);
        }
    }
    let entities = load_entities(&root.join(EXTENSIONS_DIR))?;
    Ok(Overlay { workspaces, entities })
}

/// Only the named workspaces of the overlay at `root`, in the order named: what one export batch
/// needs, without reading (or failing on) the hundreds of others. `None` for a name with no folder.
pub(crate) fn load_named<'a>(
    root: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(&'a str, Option<Workspace>)>, InputError> {
    let workspaces_dir = root.join("workspaces");
    if !workspaces_dir.is_dir() {
        return Err(InputError::in_file(&workspaces_dir, "is not a directory")
            .with_hint("point --overlay at an overlay tree (a folder with workspaces/<name>/source.json)"));
    }
    let mut loaded = Vec::new();
    for name in names {
        let dir = workspaces_dir.join(name);
        let is_folder_name = crate::formats::relative_path::RelativePath::parse(name).is_ok() && !name.contains('/');
        let workspace = if is_folder_name && (dir.exists() || dir.is_symlink()) && symlink_free(&dir)?.is_dir() {
            load_workspace(&dir)?
        } else {
            None
        };
        loaded.push((name, workspace));
    }
    Ok(loaded)
}

fn load_workspace(dir: &Path) -> Result<Option<Workspace>, InputError> {
    let name = dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    if let Err(problem) = crate::formats::relative_path::RelativePath::parse(&name) {
        return Err(InputError::in_file(dir, format!("cannot be a workspace: its name {problem}"))
            .with_hint("rename or remove the folder"));
    }
    let source_path = dir.join("source.json");
    let plugins_list_path = dir.join("plugins-list.yaml");
    let metadata_dir = dir.join("metadata");
    if !source_path.exists() {
        if plugins_list_path.exists() || metadata_dir.exists() {
            return Err(InputError::in_file(
                &source_path,
                "is missing, but the workspace has plugins-list.yaml or metadata/",
            )
            .with_hint("add source.json with repo, repo-ref, repo-flat and repo-backstage-version"));
        }
        return Ok(None);
    }
    symlink_free(&source_path)?;
    let source = crate::io::fs::read_foreign(&source_path, SourceJson::parse)?;
    let backstage_path = dir.join("backstage.json");
    let (backstage_override, backstage_notes) = if backstage_path.exists() {
        symlink_free(&backstage_path)?;
        let backstage = crate::io::fs::read_foreign(&backstage_path, BackstageJson::parse)?;
        (Some(backstage.version), backstage.notes)
    } else {
        (None, Vec::new())
    };
    let plugins_list = if plugins_list_path.exists() {
        symlink_free(&plugins_list_path)?;
        Some(crate::io::fs::read_parsed(&plugins_list_path, PluginsList::parse)?)
    } else {
        None
    };
    let mut packages = Vec::new();
    if metadata_dir.is_dir() {
        symlink_free(&metadata_dir)?;
        for file in sorted_entries(&metadata_dir)? {
            let is_yaml = file.extension().is_some_and(|extension| extension == "yaml" || extension == "yml");
            if !is_yaml {
                continue;
            }
            if !symlink_free(&file)?.is_file() {
                continue;
            }
            packages.push(crate::io::fs::read_foreign(&file, Package::parse)?);
        }
    }
    check_unique_package_names(&packages)?;
    Ok(Some(Workspace {
        name,
        dir: dir.to_path_buf(),
        source,
        backstage_override,
        plugins_list,
        packages,
        backstage_notes,
    }))
}

fn check_unique_package_names(packages: &[Package]) -> Result<(), InputError> {
    for (index, package) in packages.iter().enumerate() {
        if let Some(first) = packages[..index].iter().find(|other| other.package_name == package.package_name) {
            return Err(InputError::in_file(
                &package.file,
                format!("`spec.packageName` `{}` is also declared by {}", package.package_name, first.file.display()),
            )
            .at_line(crate::formats::package::line_of(&package.text, "packageName:"))
            .with_hint("each package needs exactly one metadata file"));
        }
    }
    Ok(())
}

fn load_entities(extensions: &Path) -> Result<Vec<EntityFile>, InputError> {
    if !extensions.is_dir() {
        return Ok(Vec::new());
    }
    symlink_free(extensions)?;
    let mut files = Vec::new();
    let mut pending = vec![extensions.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for path in sorted_entries(&dir)? {
            let kind = symlink_free(&path)?;
            let relative = path.strip_prefix(extensions).unwrap_or(&path).to_path_buf();
            let top = relative
                .components()
                .next()
                .map(|component| component.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            if kind.is_dir() {
                // packages/ is generated from workspace metadata.
                if relative != Path::new("packages") {
                    pending.push(path);
                }
                continue;
            }
            if relative == Path::new("README.md") {
                continue;
            }
            let bytes = crate::io::fs::read_input(&path)?;
            let is_entity =
                relative.extension().is_some_and(|extension| extension == "yaml") && relative.components().count() == 2;
            let folder = match top.as_str() {
                "plugins" => Some(EntityFolder::Plugins),
                "collections" => Some(EntityFolder::Collections),
                _ => None,
            };
            if let (true, Some(folder)) = (is_entity, folder) {
                let text = crate::io::fs::read_text(&path)?;
                CatalogEntity::parse(&path, &text, folder)?;
            }
            files.push(EntityFile { relative, bytes });
        }
    }
    files.sort_by(|left, right| left.relative.cmp(&right.relative));
    Ok(files)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let reader = std::fs::read_dir(dir).map_err(|error| InputError::in_file(dir, format!("cannot list: {error}")))?;
    let mut paths = Vec::new();
    for entry in reader {
        let entry = entry.map_err(|error| InputError::in_file(dir, format!("cannot list: {error}")))?;
        // A name that is no text would be read under another name (or skipped) and the error
        // would blame some other file: refused, shown as escaped bytes.
        if entry.file_name().to_str().is_none() {
            return Err(InputError::in_file(
                dir,
                format!(
                    "holds `{}`, whose name is not valid UTF-8",
                    entry.file_name().as_encoded_bytes().escape_ascii()
                ),
            )
            .with_hint("rename it with letters, digits, `-`, `_` and `.` only"));
        }
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
}

/// The file type of `path`, refusing symbolic links: a link could point outside the tree.
fn symlink_free(path: &Path) -> Result<std::fs::FileType, InputError> {
    let metadata =
        std::fs::symlink_metadata(path).map_err(|error| InputError::in_file(path, format!("cannot read: {error}")))?;
    if metadata.file_type().is_symlink() {
        return Err(InputError::in_file(
            path,
            "is a symbolic link; overlay inputs must be regular files and folders inside the tree",
        )
        .with_hint("replace the link with the file it points to"));
    }
    Ok(metadata.file_type())
}
