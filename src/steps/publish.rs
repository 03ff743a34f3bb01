//! `rhdh-catalog publish`: the catalog index image from a `catalog-index/` folder, built and
//! pushed with no container engine: `dynamic-plugins.default.yaml`, `catalog-entities/extensions/`,
//! `index.json`, `build-info.json` (and the rest of the folder) at the image root, one layer,
//! non-root user, labels naming version, release and source commit. The same folder and labels
//! always give the same digest.
//!
//! `--extra-catalog` publishes a catalog RHDH reads through `EXTRA_CATALOG_INDEX_IMAGES` (the
//! community catalog): the installer extracts only its `catalog-entities/extensions/`, so that is
//! required and `dynamic-plugins.default.yaml` is not; same layout rules, labels and gate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Context;

use super::{OutputFormat, ReleaseGate, StoreSettings};
use crate::error::{ExitStatus, InputError};
use crate::io::registry::ImageReference;
use crate::io::registry::image::{ImageSpec, LayerFile, build_image, push_image};

use crate::domain::catalog::render::NOT_IN_IMAGE;

#[derive(Debug)]
pub struct PublishSettings {
    /// The catalog-index folder `index` wrote.
    pub(crate) catalog_index: PathBuf,
    /// The reference to push, with a tag and no digest.
    pub(crate) tag: ImageReference,
    pub(crate) version: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) source_commit: Option<String>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) related_images: Option<PathBuf>,
    pub(crate) gate: ReleaseGate,
    pub(crate) results_dir: Option<PathBuf>,
    pub(crate) output_format: OutputFormat,
    pub(crate) store: StoreSettings,
    /// `SOURCE_DATE_EPOCH`: the image's `created` time.
    pub(crate) created: Option<i64>,
    /// An extra catalog index image (`EXTRA_CATALOG_INDEX_IMAGES`), not the primary one.
    pub(crate) extra_catalog: bool,
}

pub(crate) async fn run(args: PublishSettings) -> anyhow::Result<ExitStatus> {
    crate::io::fs::add_content_tree(&args.catalog_index);
    let reference = args.tag.clone();
    if !args.catalog_index.is_dir() {
        return Err(InputError::in_file(&args.catalog_index, "is not an existing folder")
            .with_hint("publish the folder `rhdh-catalog index --output` wrote")
            .into());
    }
    let dpdy = args.catalog_index.join("dynamic-plugins.default.yaml");
    let entities = args.catalog_index.join(crate::domain::overlay::EXTENSIONS_DIR);
    if args.extra_catalog {
        if !entities.is_dir() {
            return Err(InputError::in_file(
                &entities,
                "is missing; RHDH takes nothing but catalog-entities/extensions/ from an extra catalog index image",
            )
            .with_hint("publish the folder `rhdh-catalog index --community-output` wrote")
            .into());
        }
    } else if !dpdy.is_file() {
        let hint = if entities.is_dir() && args.catalog_index.join("index.json").is_file() {
            "a catalog without dynamic-plugins.default.yaml (the community catalog) is an extra catalog index: publish it with `--extra-catalog`"
        } else {
            "publish the folder `rhdh-catalog index --output` wrote"
        };
        return Err(InputError::in_file(&dpdy, "is missing; the RHDH installer requires it at the image root")
            .with_hint(hint)
            .into());
    }
    // The index as the installer will read it (a file that does not parse is bad input), then
    // the gate: never an empty index, never a lost plugin nobody allowed.
    let view = if args.extra_catalog {
        crate::io::catalog_source::read_extra_catalog_folder(&args.catalog_index)?
    } else {
        crate::io::catalog_source::read_folder(&args.catalog_index)?
    };
    let store = args.store.open()?;
    args.gate.check(&store, args.gate.previous.as_deref(), &view).await?;
    // Every input read before anything is pushed.
    let related_path = args.catalog_index.join("related-images.txt");
    let related_text = if args.related_images.is_some() && related_path.exists() {
        crate::io::fs::read_text(&related_path)?
    } else {
        String::new()
    };
    let spec = image_spec(&args)?;
    let image = build_image(&spec).context("building the index image layer")?;
    let digest = push_image(&store, &reference, &image).await?;
    let pinned = reference.pinned(&digest);
    if let Some(path) = &args.related_images {
        let mut related: BTreeSet<String> =
            related_text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect();
        related.insert(pinned.clone());
        let text: String = related.into_iter().map(|line| line + "\n").collect();
        crate::io::fs::write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
    results.write(RESULT_IMAGE_URL, &reference.name())?;
    results.write(RESULT_IMAGE_DIGEST, digest.as_str())?;
    match args.output_format {
        OutputFormat::Text => println!("{pinned}"),
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"reference": reference.to_string(), "digest": digest.to_string(), "pinned": pinned})
        ),
    }
    Ok(ExitStatus::Success)
}

/// The Tekton results this step writes (`--results-dir`), named as Konflux's build results.
/// The pushed repository.
pub(crate) const RESULT_IMAGE_URL: &str = "IMAGE_URL";
/// The digest of the pushed index image.
pub(crate) const RESULT_IMAGE_DIGEST: &str = "IMAGE_DIGEST";
pub const RESULTS: [&str; 2] = [RESULT_IMAGE_URL, RESULT_IMAGE_DIGEST];

fn image_spec(args: &PublishSettings) -> Result<ImageSpec, InputError> {
    let root = &args.catalog_index;
    let mut files = Vec::new();
    for relative in
        crate::io::fs::list_files(root).map_err(|error| InputError::in_file(root, format!("cannot list: {error}")))?
    {
        let text = relative.to_string_lossy().replace('\\', "/");
        if NOT_IN_IMAGE.contains(&text.as_str()) {
            continue;
        }
        let path = root.join(&relative);
        let contents = crate::io::fs::read_input(&path)?;
        files.push(LayerFile { path: text, contents, ..LayerFile::default() });
    }
    let mut labels = std::collections::BTreeMap::new();
    if args.extra_catalog {
        // The repository it is pushed to names it (`rhdh/plugin-catalog-index-community`).
        let name = args.tag.repository.clone();
        labels.insert("name".to_string(), name);
        labels.insert(
            "summary".to_string(),
            "Red Hat Developer Hub extra plugin catalog index (EXTRA_CATALOG_INDEX_IMAGES)".to_string(),
        );
    } else {
        labels.insert("name".to_string(), "rhdh/plugin-catalog-index".to_string());
        labels.insert("summary".to_string(), "Red Hat Developer Hub plugin catalog index".to_string());
    }
    for (key, value) in [("version", &args.version), ("release", &args.release), ("vcs-ref", &args.source_commit)] {
        if let Some(value) = value {
            labels.insert(key.to_string(), value.clone());
        }
    }
    if let Some(commit) = &args.source_commit {
        labels.insert("org.opencontainers.image.revision".to_string(), commit.clone());
    }
    labels.extend(args.labels.iter().map(|(key, value)| (key.clone(), value.clone())));
    let created = args.created.map(crate::formats::build_info::format_epoch);
    Ok(ImageSpec { files, labels, user: Some("65534".to_string()), created, ..ImageSpec::default() })
}
