//! Reading a catalog index for the tools after `index` (diff, publish and promote gates): from a
//! `catalog-index/` folder, or from an index image whose layers are unpacked in order, the way
//! RHDH's installer reads them.

use std::path::Path;

use crate::domain::catalog::view::{CatalogView, view_of};
use crate::error::InputError;
use crate::formats::dynamic_plugins::DynamicPluginsFile;
use crate::io::registry::image::{KnownFacts, inspect};
use crate::io::registry::{ImageReference, Store};

/// Reads `index.json` and `dynamic-plugins.default.yaml` of a catalog-index folder, as a content
/// tree (a link in it is followed only as far as the folder reaches). Both must be there: a
/// folder without one of them would read as an index whose every plugin is gone.
pub(crate) fn read_folder(dir: &Path) -> Result<CatalogView, InputError> {
    if !dir.is_dir() {
        return Err(
            InputError::in_file(dir, "is not a folder").with_hint("give a catalog-index folder or an image reference")
        );
    }
    crate::io::fs::add_content_tree(dir);
    let index_path = dir.join("index.json");
    let dpdy_path = dir.join("dynamic-plugins.default.yaml");
    let present = |path: &Path| path.exists() || path.is_symlink();
    if !present(&index_path) && !present(&dpdy_path) {
        return Err(InputError::in_file(
            dir,
            "is not a catalog index: it has neither index.json nor dynamic-plugins.default.yaml",
        )
        .with_hint("give the folder `rhdh-catalog index --output` wrote, or an index image reference"));
    }
    // What is there is read (and refused) first; then a missing half is named.
    let dpdy = if present(&dpdy_path) {
        Some(crate::io::fs::read_parsed(&dpdy_path, DynamicPluginsFile::parse)?)
    } else {
        None
    };
    let index = if present(&index_path) {
        Some(crate::io::fs::read_parsed(&index_path, crate::formats::index_json::parse)?)
    } else {
        None
    };
    let (Some(index), Some(dpdy)) = (index, dpdy) else {
        let missing = if present(&index_path) { "dynamic-plugins.default.yaml" } else { "index.json" };
        return Err(InputError::in_file(
            dir,
            format!("is not a whole catalog index: it has no {missing}, so every plugin would read as gone"),
        )
        .with_hint(
            "give the folder `rhdh-catalog index --output` wrote (it writes both), or an index image reference",
        ));
    };
    // Two halves that share no plugin (one of them empty, or each from another index) would
    // read as every plugin gone from one and added in the other.
    let listed: std::collections::BTreeSet<String> = dpdy
        .plugins
        .iter()
        .map(|entry| crate::domain::catalog::identity::image_of_dynamic_plugin(&entry.package))
        .collect();
    if (!index.is_empty() || !listed.is_empty()) && !index.keys().any(|image| listed.contains(image)) {
        return Err(InputError::in_file(
            dir,
            format!(
                "is not a whole catalog index: index.json names {} plugin(s), dynamic-plugins.default.yaml lists {}, and not one plugin is in both, so every plugin would read as changed",
                index.len(),
                dpdy.plugins.len()
            ),
        )
        .with_hint("give the folder `rhdh-catalog index --output` wrote (both files describe the same plugins), or an index image reference"));
    }
    Ok(view_of(&index, Some(&dpdy)))
}

/// Reads `index.json` of an extra catalog index folder (the community catalog RHDH reads through
/// `EXTRA_CATALOG_INDEX_IMAGES`), as a content tree: it has no `dynamic-plugins.default.yaml`, so
/// no plugin of it is enabled by default; `index.json` must be there.
pub(crate) fn read_extra_catalog_folder(dir: &Path) -> Result<CatalogView, InputError> {
    if !dir.is_dir() {
        return Err(
            InputError::in_file(dir, "is not a folder").with_hint("give the folder `index --community-output` wrote")
        );
    }
    crate::io::fs::add_content_tree(dir);
    let index_path = dir.join("index.json");
    if !(index_path.exists() || index_path.is_symlink()) {
        return Err(InputError::in_file(dir, "is not a catalog index: it has no index.json")
            .with_hint("give the folder `rhdh-catalog index --community-output` wrote"));
    }
    let index = crate::io::fs::read_parsed(&index_path, crate::formats::index_json::parse)?;
    Ok(view_of(&index, None))
}

/// Most bytes one layer of a catalog index image may have: a real index image is a few MiB; this
/// keeps what `validate --image`, `diff` and `verify-install` hold in memory far below their
/// Tasks' 512 MiB.
pub(crate) const MAX_INDEX_LAYER_BYTES: u64 = 64 * 1024 * 1024;

/// Pulls an image and unpacks every layer, in order, into `destination`.
pub(crate) async fn unpack_image(store: &Store, reference: &ImageReference, destination: &Path) -> anyhow::Result<()> {
    let Some(facts) = inspect(store, reference, &KnownFacts::new()).await? else {
        return Err(InputError::usage(format!("image {reference} does not exist")).into());
    };
    // Sizes are what a registry declares: summed without overflowing (two of 2^63 are not 0).
    let declared = facts.layers.iter().fold(0u64, |total, layer| total.saturating_add(layer.size));
    if declared > MAX_INDEX_LAYER_BYTES {
        return Err(InputError::usage(format!(
            "image {reference} declares {declared} bytes of layers, more than the {MAX_INDEX_LAYER_BYTES} a catalog index image may have"
        ))
        .with_hint("give the catalog index image `rhdh-catalog publish` pushed")
        .into());
    }
    // Whatever the layers hold is read back only through the content-tree rule: a link, or a
    // chain of links, that leads out of the unpacked folder is never followed.
    crate::io::fs::add_content_tree(destination);
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
