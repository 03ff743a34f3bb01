//! `rhdh-catalog artifact create|use`: Trusted Artifacts (Konflux ADR 36) in native code, so
//! every step of our Tasks runs the tool's own image. `create` packs a folder into a reproducible
//! tar.gz, stores it as a blob (with an OCI manifest referencing it, so registries keep it) and
//! writes `oci:<repository>@sha256:<blob digest>` as the result; `use` fetches such blobs,
//! checks their digest and unpacks them, refusing entries that would land outside the folder.
//! The format is the one the `build-trusted-artifacts` image reads and writes. With
//! `--artifact-store oci-layout:DIR` the blobs are content-addressed files under `DIR`.

use std::path::{Component, Path, PathBuf};

use anyhow::Context;

use crate::cli::{ArtifactArgs, ArtifactCommand};
use crate::error::{ExitStatus, InputError};
use crate::io::registry::image::{LayerFile, build_tar, gzip};
use crate::io::registry::{Digest, ImageReference, Manifest, Store, media_type};

/// A file in the source folder that means "do not archive this folder" (as in the TA image).
pub const SKIP_MARKER: &str = ".skip-trusted-artifacts";

pub async fn run(args: ArtifactArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::parse(args.artifact_store.as_deref(), &args.client.client_options())?;
    match &args.command {
        ArtifactCommand::Create { store: repository, result, source } => {
            let uri = create(&store, repository, source).await?;
            match result {
                Some(path) => crate::io::fs::write_atomic(path, uri.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{uri}"),
            }
        }
        ArtifactCommand::Use { to, artifacts } => {
            for argument in artifacts {
                let (uri, destination) = match argument.rsplit_once('=') {
                    Some((uri, destination)) if uri.starts_with("oci:") => (uri, PathBuf::from(destination)),
                    _ => (
                        argument.as_str(),
                        to.clone().ok_or_else(|| {
                            InputError::usage(format!("`{argument}` has no `=<folder>` and no --to was given"))
                        })?,
                    ),
                };
                if uri.is_empty() {
                    continue;
                }
                restore(&store, uri, &destination).await?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// Archives `source` into the store; returns the `oci:` URI.
pub async fn create(store: &Store, repository: &str, source: &Path) -> anyhow::Result<String> {
    let files = if source.join(SKIP_MARKER).exists() || !source.exists() { Vec::new() } else { collect(source)? };
    let blob = gzip(&build_tar(&files)?)?;
    let digest = Digest::of(&blob);
    let reference = ImageReference::parse(&format!("{}@{digest}", repository.trim_start_matches("oci:")))
        .map_err(|problem| InputError::usage(format!("--store {problem}")))?;
    store.push_blob(&reference, &digest, &blob).await?;
    let empty = b"{}".to_vec();
    let empty_digest = Digest::of(&empty);
    store.push_blob(&reference, &empty_digest, &empty).await?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "artifactType": "application/vnd.konflux-ci.trusted-artifact",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest.to_string(), "size": 2},
        "layers": [{"mediaType": media_type::OCI_LAYER_GZIP, "digest": digest.to_string(), "size": blob.len()}],
    });
    let bytes = serde_json::to_vec(&manifest)?;
    let manifest = Manifest { digest: Digest::of(&bytes), media_type: media_type::OCI_MANIFEST.to_string(), bytes };
    let by_manifest = ImageReference { digest: Some(manifest.digest.clone()), ..reference.clone() };
    store.push_manifest(&by_manifest, None, &manifest).await?;
    let uri = format!("oci:{}@{digest}", reference.name());
    tracing::info!(%uri, files = files.len(), bytes = blob.len(), "artifact created");
    Ok(uri)
}

/// Fetches `uri` and unpacks it into `destination` (merging with what is there).
pub async fn restore(store: &Store, uri: &str, destination: &Path) -> anyhow::Result<()> {
    let text =
        uri.strip_prefix("oci:").ok_or_else(|| InputError::usage(format!("`{uri}` is not an `oci:` artifact URI")))?;
    let reference = ImageReference::parse(text).map_err(|problem| InputError::usage(format!("artifact {problem}")))?;
    let digest = reference
        .digest
        .clone()
        .ok_or_else(|| InputError::usage(format!("artifact `{uri}` is not pinned by digest")))?;
    if destination == Path::new("/") {
        return Err(InputError::usage("refusing to unpack an artifact into /").into());
    }
    let blob = store.fetch_blob(&reference, &digest).await?;
    unpack(&blob, destination).with_context(|| format!("unpacking {uri} into {}", destination.display()))?;
    tracing::info!(%uri, destination = %destination.display(), "artifact restored");
    Ok(())
}

fn collect(root: &Path) -> anyhow::Result<Vec<LayerFile>> {
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

/// Unpacks a tar.gz, refusing absolute paths, `..`, links leaving `destination` and device files.
pub fn unpack(blob: &[u8], destination: &Path) -> anyhow::Result<()> {
    fs_err::create_dir_all(destination)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if path.is_absolute()
            || path.components().any(|component| matches!(component, Component::ParentDir | Component::Prefix(_)))
        {
            return Err(
                InputError::usage(format!("archive entry `{}` would leave the destination", path.display())).into()
            );
        }
        let target = destination.join(&path);
        match entry.header().entry_type() {
            tar::EntryType::Directory => fs_err::create_dir_all(&target)?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
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
                        return Err(InputError::usage(format!(
                            "archive link `{}` → `{}` would leave the destination",
                            path.display(),
                            link.display()
                        ))
                        .into());
                    }
                }
                if target.exists() || target.is_symlink() {
                    remove(&target)?;
                }
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                std::os::unix::fs::symlink(&link, &target)?;
            }
            other => {
                return Err(InputError::usage(format!(
                    "archive entry `{}` has unsupported type {other:?}",
                    path.display()
                ))
                .into());
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
