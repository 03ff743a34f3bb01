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
    match crate::formats::json::read::<FetchRecord>(&path) {
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
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
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
        fs_err::write(dir.path().join(FETCH_RECORD_FILE), "not json").unwrap();
        assert_eq!(read(dir.path()), None, "an unreadable record is no record");
    }
}
