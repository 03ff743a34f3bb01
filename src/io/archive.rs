//! Folders as reproducible tar archives and back: [`collect`] reads a folder into layer files,
//! [`unpack`] extracts a tar.gz, refusing entries that would land outside the destination
//! (absolute paths, `..`, links leaving it, devices and other special files).

use std::path::{Component, Path, PathBuf};

use crate::error::InputError;
use crate::io::registry::image::LayerFile;

/// Every file, folder link and symbolic link under `root`, for an archive (unsorted: the tar
/// writer sorts).
pub(crate) fn collect(root: &Path) -> anyhow::Result<Vec<LayerFile>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs_err::read_dir(root.join(&relative))? {
            let entry = entry?;
            let child = relative.join(entry.file_name());
            let kind = entry.file_type()?;
            let path = child.to_string_lossy().replace('\\', "/");
            if kind.is_dir() {
                pending.push(child);
            } else if kind.is_symlink() {
                let target = fs_err::read_link(entry.path())?;
                files.push(LayerFile {
                    path,
                    symlink: Some(target.to_string_lossy().into_owned()),
                    ..LayerFile::default()
                });
            } else if kind.is_file() {
                let contents = fs_err::read(entry.path())?;
                let executable = std::os::unix::fs::PermissionsExt::mode(&entry.metadata()?.permissions()) & 0o111 != 0;
                files.push(LayerFile { path, executable, contents, symlink: None });
            }
        }
    }
    Ok(files)
}

/// Most bytes an archive may unpack to: far above a midstream tree, far below a disk.
pub(crate) const MAX_UNPACKED_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// Unpacks a tar.gz into `destination`. Every entry is checked first — absolute paths, `..`,
/// links leaving the destination, devices, FIFOs and hard links are refused, and the whole must
/// stay under [`MAX_UNPACKED_BYTES`] — so a refused archive writes nothing.
pub fn unpack(blob: &[u8], destination: &Path) -> anyhow::Result<()> {
    check(blob)?;
    fs_err::create_dir_all(destination)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let target = destination.join(&path);
        match entry.header().entry_type() {
            tar::EntryType::Directory => fs_err::create_dir_all(&target)?,
            tar::EntryType::Symlink => {
                let link = entry.link_name()?.map(std::borrow::Cow::into_owned).unwrap_or_default();
                if target.exists() || target.is_symlink() {
                    remove(&target)?;
                }
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                std::os::unix::fs::symlink(&link, &target)?;
            }
            _ => {
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                if target.is_symlink() || target.is_dir() {
                    remove(&target)?;
                }
                let mode = entry.header().mode().unwrap_or(0o644);
                entry.unpack(&target)?;
                fs_err::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(mode & 0o777))?;
            }
        }
    }
    Ok(())
}

/// The first pass of [`unpack`]: refuses the archive if any entry is not safe to write.
fn check(blob: &[u8]) -> anyhow::Result<()> {
    let refuse = |problem: String| -> anyhow::Error {
        InputError::usage(problem)
            .with_hint("the artifact was not made by `rhdh-catalog artifact create`; nothing was unpacked")
            .into()
    };
    let mut total: u64 = 0;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    for entry in archive.entries()? {
        let entry = entry?;
        let path = entry.path()?.into_owned();
        if path.is_absolute()
            || path.components().any(|component| matches!(component, Component::ParentDir | Component::Prefix(_)))
        {
            return Err(refuse(format!("archive entry `{}` would leave the destination", path.display())));
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(refuse(format!("the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")));
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory | tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Symlink => {
                let link = entry.link_name()?.map(std::borrow::Cow::into_owned).unwrap_or_default();
                let resolved = path.parent().unwrap_or(Path::new("")).join(&link);
                let mut depth = 0i32;
                for component in resolved.components() {
                    match component {
                        Component::Normal(_) => depth += 1,
                        Component::ParentDir => depth -= 1,
                        Component::CurDir => {}
                        _ => depth = -1,
                    }
                    if depth < 0 {
                        return Err(refuse(format!(
                            "archive link `{}` → `{}` would leave the destination",
                            path.display(),
                            link.display()
                        )));
                    }
                }
            }
            other => {
                return Err(refuse(format!("archive entry `{}` has unsupported type {other:?}", path.display())));
            }
        }
    }
    Ok(())
}

fn remove(path: &Path) -> std::io::Result<()> {
    if path.is_dir() && !path.is_symlink() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::registry::image::{build_tar, gzip};

    #[test]
    fn round_trip_keeps_files_modes_and_inside_links() {
        let source = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(source.path().join("a/b")).unwrap();
        fs_err::write(source.path().join("a/b/file.txt"), "x").unwrap();
        fs_err::write(source.path().join("run.sh"), "#!/bin/sh\n").unwrap();
        fs_err::set_permissions(source.path().join("run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::os::unix::fs::symlink("b/file.txt", source.path().join("a/link")).unwrap();
        let blob = gzip(&build_tar(&collect(source.path()).unwrap()).unwrap()).unwrap();
        assert_eq!(blob, gzip(&build_tar(&collect(source.path()).unwrap()).unwrap()).unwrap(), "reproducible");
        let destination = tempfile::tempdir().unwrap();
        unpack(&blob, destination.path()).unwrap();
        assert_eq!(fs_err::read_to_string(destination.path().join("a/link")).unwrap(), "x");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs_err::metadata(destination.path().join("run.sh")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn entries_leaving_the_destination_are_refused() {
        let link = LayerFile { path: "a/evil".into(), symlink: Some("../../etc".into()), ..LayerFile::default() };
        let blob = gzip(&build_tar(&[link]).unwrap()).unwrap();
        let destination = tempfile::tempdir().unwrap();
        let error = unpack(&blob, destination.path()).unwrap_err();
        assert!(error.to_string().contains("would leave the destination"), "{error}");
    }
}
