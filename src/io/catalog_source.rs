//! Reading a catalog index for the tools after `index` (diff, publish and promote gates): from a
//! `catalog-index/` folder, or from an index image whose layers are unpacked in order, the way
//! RHDH's installer reads them.

use std::path::Path;

use crate::domain::catalog::view::{CatalogView, view_of};
use crate::error::InputError;
use crate::formats::dynamic_plugins::DynamicPluginsFile;
use crate::formats::index_json::IndexJson;
use crate::io::registry::image::{KnownFacts, inspect};
use crate::io::registry::{ImageReference, Store};

/// Reads `index.json` and `dynamic-plugins.default.yaml` of a catalog-index folder (either may be missing).
pub(crate) fn read_folder(dir: &Path) -> Result<CatalogView, InputError> {
    if !dir.is_dir() {
        return Err(
            InputError::in_file(dir, "is not a folder").with_hint("give a catalog-index folder or an image reference")
        );
    }
    let index_path = dir.join("index.json");
    let dpdy_path = dir.join("dynamic-plugins.default.yaml");
    if !index_path.exists() && !dpdy_path.exists() {
        return Err(InputError::in_file(
            dir,
            "is not a catalog index: it has neither index.json nor dynamic-plugins.default.yaml",
        )
        .with_hint("give the folder `rhdh-catalog index --output` wrote, or an index image reference"));
    }
    let index = if index_path.exists() { crate::formats::index_json::read(&index_path)? } else { IndexJson::new() };
    let dpdy = if dpdy_path.exists() {
        let text = crate::io::fs::read_text(&dpdy_path)?;
        Some(DynamicPluginsFile::parse(&dpdy_path, &text)?)
    } else {
        None
    };
    Ok(view_of(&index, dpdy.as_ref()))
}

/// Pulls an image and unpacks every layer, in order, into `destination`.
pub(crate) async fn unpack_image(store: &Store, reference: &ImageReference, destination: &Path) -> anyhow::Result<()> {
    let Some(facts) = inspect(store, reference, &KnownFacts::new()).await? else {
        return Err(InputError::usage(format!("image {reference} does not exist")).into());
    };
    for layer in &facts.layers {
        let digest = crate::io::registry::Digest::parse(&layer.digest).map_err(anyhow::Error::msg)?;
        let blob = store.fetch_blob_sized(reference, &digest, Some(layer.size)).await?;
        crate::io::archive::unpack(&blob, destination)?;
    }
    Ok(())
}

/// A folder when the path exists, else an image reference.
pub(crate) async fn read_index(store: &Store, source: &str) -> anyhow::Result<CatalogView> {
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
