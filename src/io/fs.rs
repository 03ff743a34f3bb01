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

/// The trees whose files are content (an overlay, a midstream checkout): a file read from inside
/// one must resolve, every link followed, to a regular file inside the same tree. Each step names
/// its trees once, at its start ([`add_content_tree`]); every read below applies the rule.
fn content_trees() -> &'static std::sync::Mutex<Vec<PathBuf>> {
    static TREES: std::sync::OnceLock<std::sync::Mutex<Vec<PathBuf>>> = std::sync::OnceLock::new();
    TREES.get_or_init(|| std::sync::Mutex::new(Vec::new()))
}

/// Declares `tree` a content tree for the rest of the process.
pub(crate) fn add_content_tree(tree: &Path) {
    let Ok(absolute) = std::path::absolute(tree) else { return };
    let absolute = normalize_absolute(&absolute);
    if let Ok(mut trees) = content_trees().lock()
        && !trees.contains(&absolute)
    {
        trees.push(absolute);
    }
}

/// `.` and `..` removed lexically from an absolute path.
fn normalize_absolute(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `path` as the file system will see it: absolute, `.`/`..` resolved, and the longest part that
/// exists with its symbolic links resolved (so two spellings of one folder compare equal).
pub(crate) fn resolved(path: &Path) -> PathBuf {
    let absolute = normalize_absolute(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let mut existing = absolute.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(name) = existing.file_name().map(std::ffi::OsStr::to_os_string) else { break };
        rest.push(name);
        if !existing.pop() {
            break;
        }
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    out
}

/// Whether one path is the other or lies inside it.
pub(crate) fn overlap(first: &Path, second: &Path) -> bool {
    let (first, second) = (resolved(first), resolved(second));
    first.starts_with(&second) || second.starts_with(&first)
}

/// What a file system entry is, in words, for refusals.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Checks that `path` may be read as an input: it exists, resolves (links followed) to a regular
/// file, and, when it lies in a content tree, resolves to a place inside that tree. The messages
/// name the file and never its content.
pub(crate) fn check_input_file(path: &Path) -> Result<(), InputError> {
    let metadata =
        std::fs::metadata(path).map_err(|error| InputError::in_file(path, format!("cannot read: {error}")))?;
    if !metadata.is_file() {
        return Err(InputError::in_file(
            path,
            format!("is {}; an input must be a regular file", kind_of(metadata.file_type())),
        )
        .with_hint("give a regular file"));
    }
    let Ok(absolute) = std::path::absolute(path) else { return Ok(()) };
    let absolute = normalize_absolute(&absolute);
    let trees = content_trees().lock().map(|trees| trees.clone()).unwrap_or_default();
    for tree in trees.iter().filter(|tree| absolute.starts_with(tree)) {
        let (Ok(resolved), Ok(root)) = (std::fs::canonicalize(path), std::fs::canonicalize(tree)) else { continue };
        if !resolved.starts_with(&root) {
            return Err(InputError::in_file(
                path,
                format!(
                    "resolves to {}, outside {}; files of the tree must stay inside it",
                    resolved.display(),
                    tree.display()
                ),
            )
            .with_hint("replace the symbolic link with the file itself"));
        }
    }
    Ok(())
}

/// Reads an input file: a regular file (see [`check_input_file`]), at most [`MAX_INPUT_BYTES`]
/// bytes actually read (a device reports no length).
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, InputError> {
    use std::io::Read;
    check_input_file(path)?;
    let file = std::fs::File::open(path).map_err(|error| InputError::in_file(path, format!("cannot read: {error}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| InputError::in_file(path, format!("cannot read: {error}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(InputError::in_file(path, format!("is larger than the {MAX_INPUT_BYTES} bytes an input may have"))
            .with_hint("inputs are small text files; check that this is the file you meant"));
    }
    Ok(bytes)
}

/// Reads a UTF-8 text input; a missing, non-regular, huge or non-UTF-8 file is an [`InputError`].
pub(crate) fn read_text(path: &Path) -> Result<String, InputError> {
    let bytes = read_input(path)?;
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(InputError::in_file(path, "starts with a byte-order mark (U+FEFF)")
            .at_line(Some(1))
            .with_hint("save the file as UTF-8 without a byte-order mark"));
    }
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
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rhdh-catalog-");
    // Readable as any file the process writes (0666 less the umask), not a temporary file's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temporary =
        builder.tempfile_in(parent).with_context(|| format!("creating a temporary file in {}", parent.display()))?;
    temporary.write_all(bytes).with_context(|| format!("writing {}", temporary.path().display()))?;
    temporary.persist(path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Replaces several directories, each with exactly its files, as one transaction: every changed
/// tree is staged beside its directory first (nothing is touched if any staging fails), then all
/// are swapped in with renames; when a swap fails, the ones already swapped are put back. Trees
/// whose files are unchanged are not touched at all. Returns, per directory, whether it changed.
pub(crate) fn replace_trees(trees: &[(&Path, &BTreeMap<PathBuf, Vec<u8>>)]) -> anyhow::Result<Vec<bool>> {
    let mut staged = Vec::new();
    let mut changed = Vec::new();
    for (dir, files) in trees {
        if tree_equals(dir, files) {
            changed.push(false);
            continue;
        }
        changed.push(true);
        staged.push(stage(dir, |staging| {
            for (relative, bytes) in *files {
                let target = staging.join(relative);
                fs_err::create_dir_all(parent_dir(&target))?;
                fs_err::write(&target, bytes)?;
            }
            Ok(())
        })?);
    }
    swap_all(staged)?;
    Ok(changed)
}

/// Replaces the directory `dir` with what `populate` writes into a fresh staging directory, with
/// the same swap as [`replace_trees`]. Nothing is swapped when `populate` fails.
pub(crate) fn replace_tree_with(dir: &Path, populate: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let staged = stage(dir, populate)?;
    swap_all(vec![staged])
}

/// A directory's new content, complete, waiting beside it.
struct Staged {
    dir: PathBuf,
    staging: tempfile::TempDir,
    retired: PathBuf,
}

fn stage(dir: &Path, populate: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<Staged> {
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
    let retired = parent.join(format!(".{name}.old-{}", std::process::id()));
    Ok(Staged { dir: dir.to_path_buf(), staging, retired })
}

/// Swaps every staged directory in; on a failure, puts back the ones already swapped and leaves
/// the rest untouched (their staging folders are removed when dropped).
fn swap_all(staged: Vec<Staged>) -> anyhow::Result<()> {
    let mut swapped: Vec<(PathBuf, PathBuf, bool)> = Vec::new();
    let mut pending = staged.into_iter();
    let failure = loop {
        let Some(next) = pending.next() else { break None };
        let had_old = next.dir.exists();
        if had_old && let Err(error) = fs_err::rename(&next.dir, &next.retired) {
            break Some(anyhow::Error::new(error));
        }
        let staged_path = next.staging.keep();
        if let Err(error) = fs_err::rename(&staged_path, &next.dir) {
            let _ = fs_err::remove_dir_all(&staged_path);
            if had_old {
                let _ = fs_err::rename(&next.retired, &next.dir);
            }
            break Some(anyhow::Error::new(error));
        }
        swapped.push((next.dir, next.retired, had_old));
    };
    if let Some(error) = failure {
        for (dir, retired, had_old) in swapped.into_iter().rev() {
            let _ = fs_err::remove_dir_all(&dir);
            if had_old {
                let _ = fs_err::rename(&retired, &dir);
            }
        }
        return Err(error.context("swapping the new outputs in failed; every output was put back as it was"));
    }
    for (_, retired, had_old) in swapped {
        if had_old {
            fs_err::remove_dir_all(&retired)?;
        }
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
    // Every link is checked before anything is written: a refused link leaves the destination as it was.
    check_links_stay_inside(source, exclude)?;
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
                let link = link_inside(&entry.path(), &child, "")?;
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

/// Refuses a symbolic link under `source` (minus `.git` and `exclude`) that points outside it.
fn check_links_stay_inside(source: &Path, exclude: &[RelativePath]) -> anyhow::Result<()> {
    let excluded: BTreeSet<&str> = exclude.iter().map(RelativePath::as_str).collect();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs_err::read_dir(source.join(&relative))?.filter_map(Result::ok) {
            let name = entry.file_name();
            let child = relative.join(&name);
            if (relative.as_os_str().is_empty() && name == ".git")
                || excluded.contains(child.to_string_lossy().as_ref())
            {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(child);
            } else if kind.is_symlink() {
                link_inside(&entry.path(), &child, "; nothing was copied")?;
            }
        }
    }
    Ok(())
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

/// The target of the link at `path` (`child` relative to the copied root), refused when it is
/// absolute or leaves the root; `hint_tail` ends the hint.
fn link_inside(path: &Path, child: &Path, hint_tail: &str) -> anyhow::Result<PathBuf> {
    let link = fs_err::read_link(path)?;
    let resolved = normalize(&child.parent().unwrap_or(Path::new("")).join(&link));
    if link.is_absolute() || resolved.is_none() {
        return Err(InputError::in_file(
            path,
            format!("is a symbolic link to {} outside the repository", link.display()),
        )
        .with_hint(format!("upstream content must stay inside its destination folder{hint_tail}"))
        .into());
    }
    Ok(link)
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
        assert_eq!(replace_trees(&[(dir.as_path(), &files)]).unwrap(), [true]);
        assert_eq!(replace_trees(&[(dir.as_path(), &files)]).unwrap(), [false], "unchanged: not touched");
        assert_eq!(list_files(&dir).unwrap(), vec![PathBuf::from("a/b.txt")]);
        assert_eq!(fs_err::read_dir(root.path()).unwrap().count(), 1, "no staging or retired dirs left");
    }

    #[test]
    fn normalize_refuses_climbing_out() {
        assert_eq!(normalize(Path::new("a/b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(normalize(Path::new("a/../../x")), None);
    }

    #[test]
    fn all_trees_or_none() {
        let root = tempfile::tempdir().unwrap();
        let first = root.path().join("first");
        fs_err::create_dir_all(&first).unwrap();
        fs_err::write(first.join("old.txt"), "old").unwrap();
        // The second tree cannot be staged: its parent is a file.
        fs_err::write(root.path().join("blocker"), "").unwrap();
        let second = root.path().join("blocker/second");
        let files: BTreeMap<PathBuf, Vec<u8>> = [(PathBuf::from("new.txt"), b"new".to_vec())].into_iter().collect();
        assert!(replace_trees(&[(first.as_path(), &files), (second.as_path(), &files)]).is_err());
        assert_eq!(list_files(&first).unwrap(), vec![PathBuf::from("old.txt")], "the first tree was not swapped");
        let leftovers: Vec<_> =
            fs_err::read_dir(root.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 2, "no staging folder left: {leftovers:?}");
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
