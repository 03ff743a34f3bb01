//! The fetch record of a destination folder (`formats::plan::FetchRecord`): read, written, and the
//! content id it is checked against — the folder's files without the record itself, by the scheme
//! of [`crate::io::fs::content_id`], every file hashed as it streams (a file of gigabytes is never
//! held in memory).
//!
//! The record in the folder is committed with it, so whoever writes a commit writes the record: a
//! forged one could name the upstream commit over edited "upstream" files. A clone is therefore
//! skipped only when the same record is also *trusted*: kept outside the tree, where only this
//! tool writes it after a clone of its own ([`read_trusted`], [`write_trusted`]: under
//! `$XDG_CACHE_HOME/rhdh-catalog/fetch-records/`, else `~/.cache/…`, one file per destination
//! folder). A machine without one clones once, then trusts what it copied.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::formats::plan::{FETCH_RECORD_FILE, FetchRecord};

/// The record `fetch` left in `destination`; `None` when there is none or it cannot be read (the
/// folder is then fetched again, which rewrites it).
pub(crate) fn read(destination: &Path) -> Option<FetchRecord> {
    let path = destination.join(FETCH_RECORD_FILE);
    if !path.is_file() {
        return None;
    }
    match crate::io::fs::read_json::<FetchRecord>(&path) {
        Ok(record) => Some(record),
        Err(error) => {
            tracing::warn!(%error, "ignoring an unreadable fetch record; the folder is fetched again");
            None
        }
    }
}

/// Writes `record` into `destination`.
pub(crate) fn write(destination: &Path, record: &FetchRecord) -> anyhow::Result<()> {
    crate::io::fs::write_atomic(&destination.join(FETCH_RECORD_FILE), &crate::formats::json::to_pretty(record))
}

/// The folder of trusted records: `$XDG_CACHE_HOME/rhdh-catalog/fetch-records`, else
/// `$HOME/.cache/rhdh-catalog/fetch-records`; `None` without either.
fn trusted_dir() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").filter(|dir| !dir.is_empty()).map(|home| PathBuf::from(home).join(".cache"))
    })?;
    Some(cache.join("rhdh-catalog").join("fetch-records"))
}

/// The trusted record's file for `destination` (by its absolute, resolved path).
fn trusted_path(destination: &Path) -> Option<PathBuf> {
    let resolved = crate::io::fs::resolved(destination);
    let key = hex::encode(Sha256::digest(resolved.to_string_lossy().as_bytes()));
    Some(trusted_dir()?.join(format!("{}.json", &key[..32])))
}

/// The record this tool wrote for `destination` after its last clone there, if any.
pub(crate) fn read_trusted(destination: &Path) -> Option<FetchRecord> {
    let path = trusted_path(destination)?;
    let bytes = crate::io::fs::read_input(&path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Keeps `record` as the trusted record of `destination` (a record that cannot be kept only costs
/// the next fetch a clone).
pub(crate) fn write_trusted(destination: &Path, record: &FetchRecord) {
    let Some(path) = trusted_path(destination) else { return };
    if let Err(error) = crate::io::fs::write_atomic(&path, &crate::formats::json::to_pretty(record)) {
        tracing::debug!(error = %format!("{error:#}"), "the trusted fetch record was not kept; the next fetch clones");
    }
}

/// The content id of `destination` without its record: sha256 over every other regular file's
/// relative path, executable bit and bytes, in path order.
pub(crate) fn content_id(destination: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    crate::io::fs::hash_files(destination, Some(Path::new(FETCH_RECORD_FILE)), &mut hasher)
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    // Symbolic links too (a copy keeps them): a removed or retargeted link is a change. A tree
    // without links has the id of `fs::content_id`.
    for (relative, target) in symbolic_links(destination)? {
        hasher.update(b"\0link\0");
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(target.to_string_lossy().as_bytes());
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Every symbolic link under `root` (not followed) with its target, in path order.
fn symbolic_links(root: &Path) -> std::io::Result<Vec<(std::path::PathBuf, std::path::PathBuf)>> {
    let mut links = Vec::new();
    let mut pending = vec![std::path::PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs_err::read_dir(root.join(&relative))? {
            let entry = entry?;
            let child = relative.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                links.push((child, fs_err::read_link(entry.path())?));
            } else if kind.is_dir() {
                pending.push(child);
            }
        }
    }
    links.sort();
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_id_leaves_the_record_out_and_follows_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("a")).unwrap();
        fs_err::write(dir.path().join("a/x"), "1").unwrap();
        let before = content_id(dir.path()).unwrap();
        assert_eq!(before, crate::io::fs::content_id(dir.path()).unwrap(), "the scheme of fs::content_id");
        write(dir.path(), &FetchRecord { content_id: before.clone(), sources: Vec::new() }).unwrap();
        assert_eq!(content_id(dir.path()).unwrap(), before, "the record is left out");
        assert_eq!(read(dir.path()).unwrap().content_id, before);
        fs_err::write(dir.path().join("a/x"), "2").unwrap();
        assert_ne!(content_id(dir.path()).unwrap(), before);
        let changed = content_id(dir.path()).unwrap();
        std::os::unix::fs::symlink("x", dir.path().join("a/link")).unwrap();
        let linked = content_id(dir.path()).unwrap();
        assert_ne!(linked, changed, "a link counts");
        fs_err::remove_file(dir.path().join("a/link")).unwrap();
        std::os::unix::fs::symlink("y", dir.path().join("a/link")).unwrap();
        assert_ne!(content_id(dir.path()).unwrap(), linked, "and so does where it points");
        fs_err::write(dir.path().join(FETCH_RECORD_FILE), "not json").unwrap();
        assert_eq!(read(dir.path()), None, "an unreadable record is no record");
    }
}
