//! `rhdh-catalog artifact create|use`: Trusted Artifacts in native code, so every step of our Tasks
//! runs the tool's own image. `create` packs a folder and writes `oci:<repository>@sha256:<digest>`
//! as the result; `use` fetches such blobs, checks their digest and unpacks them. With
//! `--artifact-store oci-layout:DIR` the blobs are content-addressed files under `DIR`.

use std::path::PathBuf;

use anyhow::Context;

use super::StoreSettings;
use crate::error::ExitStatus;
use crate::io::registry::trusted_artifact::{create, restore};

/// Pack a folder, or unpack artifacts.
#[derive(Debug)]
pub enum ArtifactAction {
    /// Pack `source` into a blob of `repository`; write the URI to `result` (or stdout).
    Create { repository: String, result: Option<PathBuf>, source: PathBuf },
    /// Unpack each `oci:` URI into its folder, in order.
    Use { artifacts: Vec<(String, PathBuf)> },
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
        ArtifactAction::Create { repository, result, source } => {
            let uri = create(&store, repository, source).await?;
            match result {
                Some(path) => crate::io::fs::write_atomic(path, uri.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{uri}"),
            }
        }
        ArtifactAction::Use { artifacts } => {
            for (uri, destination) in artifacts {
                restore(&store, uri, destination).await?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
