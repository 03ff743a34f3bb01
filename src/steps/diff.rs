//! `rhdh-catalog diff OLD NEW`: what changed between two catalog indexes (folders or images), per
//! plugin, as markdown or JSON on stdout.

use super::{OutputFormat, StoreSettings};
use crate::error::ExitStatus;
use crate::io::catalog_source::read_index;

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
    let store = settings.store.open_existing()?;
    let old = read_index(&store, &settings.old).await?;
    let new = read_index(&store, &settings.new).await?;
    let difference = crate::domain::catalog::diff::diff(&old, &new);
    match settings.output_format {
        OutputFormat::Text => print!("{}", crate::domain::catalog::diff::to_markdown(&difference, &new)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&difference)?),
    }
    Ok(ExitStatus::Success)
}
