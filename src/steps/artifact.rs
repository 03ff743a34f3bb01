//! `rhdh-catalog artifact create|use`: Trusted Artifacts in native code, so every step of our Tasks
//! runs the tool's own image. `create` packs a folder, pushes it tagged (the `--store` reference's
//! tag, as Konflux's `create-oci.sh`; `sha256-<digest>` when it has none) and, with
//! `--expires-after`, annotated `quay.expires-after`; it writes `oci:<repository>@sha256:<digest>`
//! as the result. `--include` and `--exclude` pack part of the folder, `--whole` marks folders
//! that replace their counterparts when unpacked. `use` fetches such blobs, checks their digest
//! and unpacks them (all the artifacts of one folder together, later ones winning), leaving files
//! that already hold the right bytes as they are; `--exact` removes what they do not hold,
//! `--only` unpacks part of them, `--read-only` shares one extraction per set of artifacts in an
//! OCI layout store. With `--artifact-store oci-layout:DIR` the blobs are content-addressed files
//! under `DIR`.

use std::path::PathBuf;

use anyhow::Context;

use super::StoreSettings;
use crate::error::ExitStatus;
use crate::io::archive::Selection;
use crate::io::registry::trusted_artifact::{RestoreOptions, create, restore};

/// Pack a folder, or unpack artifacts.
#[derive(Debug)]
pub enum ArtifactAction {
    /// Pack `source` into a blob of the repository of `store` (`registry/repository[:tag]`), the
    /// manifest tagged and expiring after `expires_after`; write the URI to `result` (or stdout).
    Create {
        store: String,
        expires_after: Option<String>,
        result: Option<PathBuf>,
        source: PathBuf,
        selection: Selection,
    },
    /// Unpack each folder's `oci:` URIs (folders in order of first mention, URIs in order).
    Use { artifacts: Vec<(String, PathBuf)>, options: RestoreOptions },
}

#[derive(Debug)]
pub struct ArtifactSettings {
    /// Where the blobs are kept (`--artifact-store`); `None`: the registry each URI names.
    pub(crate) store: StoreSettings,
    pub(crate) action: ArtifactAction,
}

pub(crate) async fn run(settings: ArtifactSettings) -> anyhow::Result<ExitStatus> {
    let store = settings.store.open()?;
    match &settings.action {
        ArtifactAction::Create { store: reference, expires_after, result, source, selection } => {
            let uri = create(&store, reference, source, selection, expires_after.as_deref()).await?;
            match result {
                Some(path) => crate::io::fs::write_atomic(path, uri.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{uri}"),
            }
        }
        ArtifactAction::Use { artifacts, options } => {
            let mut folders: Vec<(&PathBuf, Vec<String>)> = Vec::new();
            for (uri, destination) in artifacts {
                match folders.iter_mut().find(|(folder, _)| *folder == destination) {
                    Some((_, uris)) => uris.push(uri.clone()),
                    None => folders.push((destination, vec![uri.clone()])),
                }
            }
            for (destination, uris) in folders {
                restore(&store, &uris, destination, options).await?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
