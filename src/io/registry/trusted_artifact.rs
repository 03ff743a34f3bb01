//! Trusted Artifacts (Konflux ADR 36) in native code: a folder packed into a reproducible tar.gz
//! stored as a blob, with an OCI manifest referencing it so registries keep it, named
//! `oci:<repository>@sha256:<blob digest>`; and such a blob fetched, digest-checked and unpacked.
//! The format is the one the `build-trusted-artifacts` image reads and writes.
//!
//! The manifest is pushed under a tag, as `create-oci.sh` does with the tag of its `--store`
//! reference (Konflux passes `<output-image>.<suffix>`, so one run's artifacts are tags of the
//! output image's repository). A store without a tag gets `sha256-<blob digest hex>`: `oras push`
//! would push such a store by digest only, and Quay expires untagged manifests within hours, while
//! a sync's export fan-out runs for hours before `index` reads the source artifact again. A
//! registry that honours `quay.expires-after` drops the tag after `expires_after` (Konflux's
//! `IMAGE_EXPIRES_AFTER` annotation).

use std::path::Path;

use anyhow::Context;

use super::image::{build_tar, gzip};
use super::{Digest, ImageReference, Manifest, Store, media_type};
use crate::error::InputError;
use crate::io::archive::{collect, unpack};

/// A file in the source folder that means "do not archive this folder" (as in the TA image).
pub(crate) const SKIP_MARKER: &str = ".skip-trusted-artifacts";

/// The manifest annotation Quay reads as the lifetime of a tag (`1h`, `2d`, `3w`).
pub(crate) const EXPIRES_AFTER_ANNOTATION: &str = "quay.expires-after";

/// The tag of an artifact pushed to a store reference without one.
pub(crate) fn derived_tag(digest: &Digest) -> String {
    digest.as_str().replacen(':', "-", 1)
}

/// Archives `source` into the repository of `store_reference` (`registry/repository[:tag]`), the
/// manifest under the reference's tag (else [`derived_tag`]) and annotated with `expires_after`;
/// returns the `oci:` URI (`oci:<repository>@sha256:<blob digest>`).
pub(crate) async fn create(
    store: &Store,
    store_reference: &str,
    source: &Path,
    expires_after: Option<&str>,
) -> anyhow::Result<String> {
    let files = if source.join(SKIP_MARKER).exists() || !source.exists() { Vec::new() } else { collect(source)? };
    let blob = gzip(&build_tar(&files)?)?;
    let digest = Digest::of(&blob);
    let reference = ImageReference::parse(&format!("{}@{digest}", store_reference.trim_start_matches("oci:")))
        .map_err(|problem| InputError::usage(format!("--store {problem}")))?;
    let tag = reference.tag.clone().unwrap_or_else(|| derived_tag(&digest));
    store.push_blob(&reference, &digest, &blob).await?;
    let empty = b"{}".to_vec();
    let empty_digest = Digest::of(&empty);
    store.push_blob(&reference, &empty_digest, &empty).await?;
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "artifactType": "application/vnd.konflux-ci.trusted-artifact",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest.to_string(), "size": 2},
        "layers": [{"mediaType": media_type::OCI_LAYER_GZIP, "digest": digest.to_string(), "size": blob.len()}],
    });
    if let Some(expires_after) = expires_after {
        manifest["annotations"] = serde_json::json!({ EXPIRES_AFTER_ANNOTATION: expires_after });
    }
    let bytes = serde_json::to_vec(&manifest)?;
    let manifest = Manifest { digest: Digest::of(&bytes), media_type: media_type::OCI_MANIFEST.to_string(), bytes };
    let by_tag = ImageReference { tag: Some(tag.clone()), digest: None, ..reference.clone() };
    store.push_manifest(&by_tag, Some(&tag), &manifest).await?;
    let uri = format!("oci:{}@{digest}", reference.name());
    tracing::info!(%uri, reference = %by_tag, expires_after = expires_after.unwrap_or(""), files = files.len(), bytes = blob.len(), "artifact created");
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
