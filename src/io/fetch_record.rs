//! The fetch record of a destination folder (`formats::plan::FetchRecord`): read, written, and the
//! content id it is checked against — the folder's files without the record itself, by the scheme
//! of [`crate::io::fs::content_id`].

use std::path::Path;

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

/// The content id of `destination` without its record: sha256 over every other regular file's
/// relative path, executable bit and bytes, in path order.
pub(crate) fn content_id(destination: &Path) -> std::io::Result<String> {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    for relative in crate::io::fs::list_files(destination)? {
        if relative == Path::new(FETCH_RECORD_FILE) {
            continue;
        }
        let path = destination.join(&relative);
        let bytes = std::fs::read(&path)?;
        let executable = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path)?.permissions()) & 0o111 != 0;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0, u8::from(executable), 0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
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
