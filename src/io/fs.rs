//! File-system edge: reading inputs with errors that name the file, and writing outputs atomically
//! (temporary file or directory, then rename) so that a crash never leaves a half-written output.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::InputError;
use crate::formats::relative_path::RelativePath;
use std::collections::BTreeSet;

/// Largest input file we read into memory; real metadata files are a few KiB.
pub(crate) const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a UTF-8 text input; a missing, huge or non-UTF-8 file is an [`InputError`].
pub(crate) fn read_text(path: &Path) -> Result<String, InputError> {
    let metadata =
        std::fs::metadata(path).map_err(|error| InputError::in_file(path, format!("cannot read: {error}")))?;
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(InputError::in_file(
            path,
            format!("file is {} bytes, more than the {MAX_INPUT_BYTES} bytes an input may have", metadata.len()),
        )
        .with_hint("no input of this kind is that large; check how the file was generated"));
    }
    let bytes = std::fs::read(path).map_err(|error| InputError::in_file(path, format!("cannot read: {error}")))?;
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let line = error.as_bytes()[..offset].split(|byte| *byte == b'\n').count() as u64;
        InputError::in_file(path, format!("not valid UTF-8 (byte {offset})"))
            .at_line(Some(line))
            .with_hint("save the file as UTF-8")
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
/// An existing file with the same bytes is left alone.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(());
    }
    let parent = parent_dir(path);
    fs_err::create_dir_all(parent)?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".rhdh-catalog-")
        .tempfile_in(parent)
        .with_context(|| format!("creating a temporary file in {}", parent.display()))?;
    temporary.write_all(bytes).with_context(|| format!("writing {}", temporary.path().display()))?;
    temporary.persist(path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Replaces the directory `dir` with exactly `files` (relative paths to bytes).
///
/// The new tree is written beside `dir` and swapped in with two renames; a crash leaves either the
/// old tree, or no tree and the new one complete beside it, never a mix. Unchanged trees are not
/// touched at all. Returns whether anything changed.
pub(crate) fn replace_tree(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> anyhow::Result<bool> {
    if tree_equals(dir, files) {
        return Ok(false);
    }
    replace_tree_with(dir, |staging| {
        for (relative, bytes) in files {
            let target = staging.join(relative);
            fs_err::create_dir_all(parent_dir(&target))?;
            fs_err::write(&target, bytes)?;
        }
        Ok(())
    })?;
    Ok(true)
}

/// Replaces the directory `dir` with what `populate` writes into a fresh staging directory, with
/// the same two-rename swap as [`replace_tree`]. Nothing is swapped when `populate` fails.
pub(crate) fn replace_tree_with(dir: &Path, populate: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let parent = parent_dir(dir);
    fs_err::create_dir_all(parent)?;
    let name = dir
        .file_name()
        .with_context(|| format!("{} has no directory name", dir.display()))?
        .to_string_lossy()
        .into_owned();
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.new-"))
        .tempdir_in(parent)
        .with_context(|| format!("creating a staging directory in {}", parent.display()))?;
    populate(staging.path())?;
    let staged = staging.keep();
    let retired = parent.join(format!(".{name}.old-{}", std::process::id()));
    let had_old = dir.exists();
    if had_old {
        fs_err::rename(dir, &retired)?;
    }
    fs_err::rename(&staged, dir)?;
    if had_old {
        fs_err::remove_dir_all(&retired)?;
    }
    Ok(())
}

/// Lists every regular file under `dir` as relative paths, sorted. Symbolic links are reported as
/// errors by the caller's policy: here they are skipped.
pub(crate) fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file()
                && let Ok(relative) = entry.path().strip_prefix(dir)
            {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A content id of a folder: sha256 over every regular file's relative path, executable bit and
/// bytes, in path order. Two folders with the same files have the same id (like a git tree id,
/// without needing the folder to be committed).
pub(crate) fn content_id(dir: &Path) -> std::io::Result<String> {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    for relative in list_files(dir)? {
        let path = dir.join(&relative);
        let bytes = std::fs::read(&path)?;
        #[cfg(unix)]
        let executable = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path)?.permissions()) & 0o111 != 0;
        #[cfg(not(unix))]
        let executable = false;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0, u8::from(executable), 0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

fn tree_equals(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> bool {
    let Ok(existing) = list_files(dir) else {
        return false;
    };
    existing.len() == files.len()
        && existing.iter().all(|relative| {
            files.get(relative).is_some_and(|bytes| std::fs::read(dir.join(relative)).is_ok_and(|old| &old == bytes))
        })
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Copies every file of `source` (minus `.git` and `exclude`) into `destination`, overwriting
/// changed files and keeping files that exist only in `destination`. Symbolic links are copied as
/// links only when they stay inside `destination`. Returns the number of files written.
pub(crate) fn copy_additively(source: &Path, destination: &Path, exclude: &[RelativePath]) -> anyhow::Result<usize> {
    let mut written = 0;
    let mut pending = vec![PathBuf::new()];
    let excluded: BTreeSet<&str> = exclude.iter().map(RelativePath::as_str).collect();
    while let Some(relative) = pending.pop() {
        let dir = source.join(&relative);
        let mut entries: Vec<_> = fs_err::read_dir(&dir)?.filter_map(Result::ok).collect();
        entries.sort_by_key(fs_err::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            let child = relative.join(&name);
            let child_text = child.to_string_lossy();
            if (relative.as_os_str().is_empty() && name == ".git") || excluded.contains(child_text.as_ref()) {
                continue;
            }
            let kind = entry.file_type()?;
            let target = destination.join(&child);
            if kind.is_dir() {
                if target.is_symlink() || target.is_file() {
                    fs_err::remove_file(&target)?;
                }
                fs_err::create_dir_all(&target)?;
                pending.push(child);
            } else if kind.is_symlink() {
                let link = fs_err::read_link(entry.path())?;
                let resolved = normalize(&child.parent().unwrap_or(Path::new("")).join(&link));
                if link.is_absolute() || resolved.is_none() {
                    return Err(InputError::in_file(
                        entry.path(),
                        format!("is a symbolic link to {} outside the repository", link.display()),
                    )
                    .with_hint("upstream content must stay inside its destination folder")
                    .into());
                }
                if target.exists() || target.is_symlink() {
                    if fs_err::read_link(&target).is_ok_and(|existing| existing == link) {
                        continue;
                    }
                    if target.is_dir() && !target.is_symlink() {
                        fs_err::remove_dir_all(&target)?;
                    } else {
                        fs_err::remove_file(&target)?;
                    }
                }
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                std::os::unix::fs::symlink(&link, &target).with_context(|| format!("linking {}", target.display()))?;
                written += 1;
            } else if kind.is_file() {
                let bytes = fs_err::read(entry.path())?;
                if target.is_symlink() {
                    fs_err::remove_file(&target)?;
                }
                if std::fs::read(&target).is_ok_and(|existing| existing == bytes) {
                    continue;
                }
                write_atomic(&target, &bytes)?;
                #[cfg(unix)]
                {
                    let mode = std::os::unix::fs::PermissionsExt::mode(&entry.metadata()?.permissions());
                    fs_err::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(mode & 0o777))?;
                }
                written += 1;
            }
        }
    }
    Ok(written)
}

/// Copies the regular files of `source` that `destination` does not have yet (existing files win).
pub(crate) fn copy_missing(source: &Path, destination: &Path) -> anyhow::Result<()> {
    for relative in list_files(source)? {
        let target = destination.join(&relative);
        if !target.exists() {
            if let Some(parent) = target.parent() {
                fs_err::create_dir_all(parent)?;
            }
            fs_err::copy(source.join(&relative), &target)?;
        }
    }
    Ok(())
}

/// Resolves `.` and `..` lexically; `None` when the path climbs above its root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(part.to_os_string()),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_tree_swaps_and_removes_stale_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        fs_err::create_dir_all(dir.join("old")).unwrap();
        fs_err::write(dir.join("old/stale.json"), "{}").unwrap();
        let mut files = BTreeMap::new();
        files.insert(PathBuf::from("a/b.txt"), b"hello".to_vec());
        replace_tree(&dir, &files).unwrap();
        assert_eq!(list_files(&dir).unwrap(), vec![PathBuf::from("a/b.txt")]);
        assert_eq!(fs_err::read_dir(root.path()).unwrap().count(), 1, "no staging or retired dirs left");
    }

    #[test]
    fn normalize_refuses_climbing_out() {
        assert_eq!(normalize(Path::new("a/b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(normalize(Path::new("a/../../x")), None);
    }

    #[test]
    fn content_id_follows_content_only() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        for dir in [first.path(), second.path()] {
            fs_err::create_dir_all(dir.join("a")).unwrap();
            fs_err::write(dir.join("a/x"), "1").unwrap();
        }
        assert_eq!(content_id(first.path()).unwrap(), content_id(second.path()).unwrap());
        fs_err::write(second.path().join("a/x"), "2").unwrap();
        assert_ne!(content_id(first.path()).unwrap(), content_id(second.path()).unwrap());
    }

    #[test]
    fn non_utf8_input_names_line() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("x.yaml");
        fs_err::write(&path, b"a: 1\nb: \xff\n").unwrap();
        let error = read_text(&path).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.problem.contains("UTF-8"));
    }
}
