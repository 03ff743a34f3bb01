//! `rhdh-catalog diff OLD NEW`: what changed between two catalog indexes (folders or images), per
//! plugin, as markdown or JSON on stdout.

use std::path::Path;

use super::{OutputFormat, StoreSettings};
use crate::domain::catalog::view::CatalogView;
use crate::error::{ExitStatus, InputError};
use crate::io::catalog_source::{read_folder, unpack_image};
use crate::io::registry::{ImageReference, Store};

#[derive(Debug)]
pub struct DiffSettings {
    /// The older index: a catalog-index folder or an image reference.
    pub(crate) old: String,
    /// The newer index.
    pub(crate) new: String,
    pub(crate) output_format: OutputFormat,
    pub(crate) store: StoreSettings,
}

pub(crate) async fn run(settings: DiffSettings) -> anyhow::Result<ExitStatus> {
    let store = settings.store.open()?;
    let old = load(&store, &settings.old).await?;
    let new = load(&store, &settings.new).await?;
    let difference = crate::domain::catalog::diff::diff(&old, &new);
    match settings.output_format {
        OutputFormat::Text => print!("{}", crate::domain::catalog::diff::to_markdown(&difference, &new)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&difference)?),
    }
    Ok(ExitStatus::Success)
}

/// A folder when the path exists, else an image reference.
pub(crate) async fn load(store: &Store, source: &str) -> anyhow::Result<CatalogView> {
    if Path::new(source).exists() {
        return Ok(read_folder(Path::new(source))?);
    }
    let reference = ImageReference::parse(source).map_err(|problem| {
        InputError::usage(format!("`{source}` is neither an existing folder nor an image reference: {problem}"))
    })?;
    let scratch = tempfile::tempdir()?;
    unpack_image(store, &reference, scratch.path()).await?;
    Ok(read_folder(scratch.path())?)
}
