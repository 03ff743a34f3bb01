//! `rhdh-catalog release-number`: the next release number of a version, from the builds that
//! exist, written as `release=` (and `version=`) into `build/containerfiles/{builder,index}.Containerfile`.
//!
//! Builds are found in the registry by default: tags `<version>-<n>` of the index image repository
//! and the `release` label of the `<version>` tag. The next number is one more than the highest
//! found (1 when none). When the index did not change (`--changed false`) nothing is bumped: the
//! current number is reported and no file is touched.

use std::path::PathBuf;

use anyhow::Context;

use super::{OutputFormat, StoreSettings};
use crate::error::{ExitStatus, InputError};
use crate::io::registry::image::{KnownFacts, inspect};
use crate::io::registry::{ImageReference, Store};

pub(crate) const CONTAINERFILES: [&str; 2] = ["builder.Containerfile", "index.Containerfile"];

/// The Tekton results this step writes (`--results-dir`).
/// The release number written (or the current one when nothing changed).
pub(crate) const RESULT_RELEASE: &str = "release";
/// The RHDH version x.y.z.
pub(crate) const RESULT_VERSION: &str = "version";
pub const RESULTS: [&str; 2] = [RESULT_RELEASE, RESULT_VERSION];

/// Where the builds that exist are counted.
#[derive(Debug)]
pub enum ReleaseSource {
    /// Tags `<version>-<n>` and the `release` label of the index image repository.
    /// `image` is required when the index changed (a bump counts its builds).
    Registry { image: Option<String>, store: StoreSettings },
    /// Konflux Snapshots of the component and their images' labels.
    Konflux { namespace: String, component: String, store: StoreSettings },
}

#[derive(Debug)]
pub struct ReleaseNumberSettings {
    pub(crate) tree: PathBuf,
    /// Default: `rhdh.version` of `<tree>/upstream_repos.yml`.
    pub(crate) version: Option<String>,
    /// The folder of builder.Containerfile and index.Containerfile.
    pub(crate) containerfiles: PathBuf,
    /// Whether the index changed; false reports the current number and changes nothing.
    pub(crate) changed: bool,
    pub(crate) source: ReleaseSource,
    pub(crate) count_containerfile: bool,
    pub(crate) results_dir: Option<PathBuf>,
    pub(crate) output_format: OutputFormat,
}

pub(crate) async fn run(args: ReleaseNumberSettings) -> anyhow::Result<ExitStatus> {
    crate::io::fs::add_content_tree(&args.tree);
    let version = match &args.version {
        Some(version) => version.clone(),
        None => {
            crate::io::fs::read_parsed(
                &args.tree.join("upstream_repos.yml"),
                crate::formats::upstream_repos::UpstreamRepos::parse,
            )?
            .rhdh_version
        }
    };
    if !crate::formats::versions::is_version(&version) {
        return Err(InputError::usage(format!("--rhdh-version `{version}` is not a version like 1.10.0")).into());
    }
    let dir = args.containerfiles.clone();
    let files: Vec<PathBuf> = CONTAINERFILES.iter().map(|name| dir.join(name)).filter(|path| path.exists()).collect();
    if files.is_empty() {
        return Err(InputError::in_file(&dir, format!("holds neither {}", CONTAINERFILES.join(" nor ")))
            .with_hint("point --containerfiles at the folder of the index and builder Containerfiles")
            .into());
    }
    let mut texts = Vec::new();
    for path in &files {
        texts.push((path.clone(), crate::io::fs::read_text(path)?));
    }
    let current = texts.iter().find_map(|(_, text)| crate::formats::containerfile::current_release(text));

    let release = if args.changed {
        let highest = match &args.source {
            ReleaseSource::Registry { image, store } => {
                let image = image.as_deref().ok_or_else(|| {
                    InputError::usage("--index-image is required with --release-source registry (the index image repository, e.g. quay.io/rhdh/plugin-catalog-index)")
                })?;
                highest_in_registry(image, &store.open()?, &version).await?
            }
            ReleaseSource::Konflux { namespace, component, store } => {
                crate::io::kube_api::highest_release_in_snapshots(namespace, component, &store.open()?, &version)
                    .await?
            }
        };
        let base = highest.max(current.filter(|_| args.count_containerfile).unwrap_or(0));
        // A registry (or a snapshot) may carry any number: the highest a u64 holds has no next.
        let next = base.checked_add(1).ok_or_else(|| {
            InputError::usage(format!(
                "the highest release found for {version} is {base}, which has no next release number"
            ))
            .with_hint(
                "remove the tag (or label) with that number from the index image repository; nothing was written",
            )
        })?;
        for (path, text) in &texts {
            let rewritten = crate::formats::containerfile::set_version_and_release(text, &version, &next.to_string());
            if rewritten.found == 0 {
                return Err(InputError::in_file(
                    path,
                    "has no `version=` or `release=` in an ENV or LABEL instruction",
                )
                .with_hint("add e.g. `LABEL version=\"1.10.0\" release=\"1\"`")
                .into());
            }
            crate::io::fs::write_atomic(path, rewritten.text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        tracing::info!(%version, release = next, highest_found = highest, "release number bumped");
        crate::io::observed::note(&crate::io::observed::Observed::Unrepeatable(
            "the release number was counted from the builds that exist".into(),
        ));
        next
    } else {
        tracing::info!(%version, release = ?current, "index unchanged: no bump");
        current.unwrap_or(0)
    };
    let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
    results.write(RESULT_RELEASE, &release.to_string())?;
    results.write(RESULT_VERSION, &version)?;
    match args.output_format {
        OutputFormat::Text => println!("{version}-{release}"),
        OutputFormat::Json => {
            println!("{}", serde_json::json!({"version": version, "release": release, "bumped": args.changed}));
        }
    }
    Ok(ExitStatus::Success)
}

/// The highest release among tags `<version>-<n>` and the `release` label of tag `<version>`.
async fn highest_in_registry(image: &str, store: &Store, version: &str) -> anyhow::Result<u64> {
    let reference = ImageReference::parse(&format!("{image}:{version}"))
        .map_err(|problem| InputError::usage(format!("--index-image {problem}")))?;
    let prefix = format!("{version}-");
    let (mut highest, mut version_tagged) = (0u64, false);
    store
        .scan_tags(&reference, &mut |page| {
            for tag in page {
                version_tagged |= tag == version;
                if let Some(number) = tag.strip_prefix(&prefix).and_then(|rest| rest.parse::<u64>().ok()) {
                    highest = highest.max(number);
                }
            }
        })
        .await?;
    if version_tagged && let Some(facts) = inspect(store, &reference, &KnownFacts::new()).await? {
        let labelled = facts.labels.get("release").and_then(|release| release.parse::<u64>().ok()).unwrap_or(0);
        let same_version = facts.labels.get("version").is_none_or(|label| label == version);
        if same_version {
            highest = highest.max(labelled);
        }
    }
    Ok(highest)
}
