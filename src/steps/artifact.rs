//! `rhdh-catalog artifact create|use`: Trusted Artifacts in native code, so every step of our Tasks
//! runs the tool's own image. `create` packs a folder and writes `oci:<repository>@sha256:<digest>`
//! as the result; `use` fetches such blobs, checks their digest and unpacks them. With
//! `--artifact-store oci-layout:DIR` the blobs are content-addressed files under `DIR`.

use std::path::PathBuf;

use anyhow::Context;

use crate::cli::{ArtifactArgs, ArtifactCommand};
use crate::error::{ExitStatus, InputError};
use crate::io::registry::Store;
use crate::io::registry::trusted_artifact::{create, restore};

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
