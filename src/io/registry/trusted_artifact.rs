//! Trusted Artifacts (Konflux ADR 36) in native code: a folder packed into a reproducible tar.gz
//! stored as a blob, with an OCI manifest referencing it so registries keep it, named
//! `oci:<repository>@sha256:<blob digest>`; and such a blob fetched, digest-checked and unpacked.
//! The format is the one the `build-trusted-artifacts` image reads and writes.

use std::path::Path;

use anyhow::Context;

use super::image::{build_tar, gzip};
use super::{Digest, ImageReference, Manifest, Store, media_type};
use crate::error::InputError;
use crate::io::archive::{collect, unpack};

/// A file in the source folder that means "do not archive this folder" (as in the TA image).
pub(crate) const SKIP_MARKER: &str = ".skip-trusted-artifacts";

/// Archives `source` into the store; returns the `oci:` URI.
pub(crate) async fn create(store: &Store, repository: &str, source: &Path) -> anyhow::Result<String> {
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
pub(crate) async fn restore(store: &Store, uri: &str, destination: &Path) -> anyhow::Result<()> {
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
