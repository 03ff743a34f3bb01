//! `rhdh-catalog index`: from an overlay tree and the plugin images in a registry, write
//! `plugin_builds/<ws>/<image>.json`, and `catalog-index/` with `index.json`,
//! `dynamic-plugins.default.yaml`, `catalog-entities/extensions/`, `build-info.json` and
//! `related-images.txt`, every image pinned by digest.
//!
//! Flow: [`load_inputs`] (I/O) → [`plan`] (pure: which plugins, which tags) → [`resolve`] (registry
//! probes, bounded concurrency, tri-state) → [`render`] (pure: every output file as bytes) →
//! atomic directory swaps. An image the registry does not have is *missing* and reported per
//! plugin; an image whose state is *unknown* after retries fails the step (exit 3) and is never
//! treated as missing.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{OutputFormat, StoreSettings};
use crate::domain::catalog::DpdyStyle;
use crate::domain::catalog::identity::{TagScheme, TagSchemeChoice};
use crate::domain::catalog::pin::{OnMissing, PluginStatus};
use crate::domain::catalog::plan::{ExportRecords, IndexConfig, IndexInputs, PlannedPlugin, SelectionFile, plan};
use crate::domain::catalog::render::{IndexReport, PluginReport, render};
use crate::error::{ExitStatus, FindingsError, InputError};
use crate::formats::build_info::{BuildInfo, format_epoch};
use crate::formats::default_packages::DefaultPackages;
use crate::formats::index_json::IndexJson;
use crate::formats::package_list::{self};
use crate::formats::plan::{EXPORT_STATE_FILE, ExportState};
use crate::formats::plugin_builds::ImageMetadata;
use crate::formats::versions::{VersionsJson, is_version};
use crate::io::image_probe::resolve;
use crate::io::registry::image::KnownFacts;
use crate::io::registry::{Digest, RegistryPrefix};

#[derive(Debug)]
pub struct IndexSettings {
    /// The overlay tree: workspaces/, catalog-entities/extensions/, default.packages.yaml, versions.json.
    pub(crate) overlay: PathBuf,
    /// Package selection files (default.packages.yaml, rhdh-*-packages.txt); the overlay's by default.
    pub(crate) packages: Vec<PathBuf>,
    /// Index every Package of the overlay, not only the selected ones.
    pub(crate) all_packages: bool,
    pub(crate) versions: PathBuf,
    /// The target Backstage version (overrides versions.json).
    pub(crate) backstage_version: Option<String>,
    pub(crate) rhdh_version: Option<String>,
    /// The registry prefix plugin images are named under.
    pub(crate) registry: RegistryPrefix,
    /// The prefix for packages whose metadata says `support: community`.
    pub(crate) community_registry: Option<RegistryPrefix>,
    pub(crate) tag_scheme: TagSchemeChoice,
    /// The catalog-index output folder.
    pub(crate) output: PathBuf,
    /// The `plugin_builds` output folder.
    pub(crate) plugin_builds: PathBuf,
    pub(crate) dpdy_style: DpdyStyle,
    /// Concurrent registry probes.
    pub(crate) jobs: usize,
    pub(crate) on_missing: OnMissing,
    /// Platforms (`os/architecture`) an image index must offer.
    pub(crate) platforms: Vec<String>,
    pub(crate) overlay_commit: Option<String>,
    pub(crate) source_repo: Option<String>,
    pub(crate) report: Option<PathBuf>,
    pub(crate) results_dir: Option<PathBuf>,
    /// Print the planned plugins; contact nothing, write nothing.
    pub(crate) dry_run: bool,
    pub(crate) output_format: OutputFormat,
    pub(crate) store: StoreSettings,
    /// A midstream tree whose `workspaces/<ws>/` hold the records of the last exports.
    pub(crate) export_records: Option<PathBuf>,
    /// `SOURCE_DATE_EPOCH`, recorded as the build date.
    pub(crate) source_date_epoch: Option<i64>,
    /// Accept `file://` and `git://` repositories in `source.json`, as fetch and export do.
    pub(crate) allow_local_repos: bool,
}

/// The Tekton results this step writes (`--results-dir`).
/// `true` when any output file changed.
pub(crate) const RESULT_CHANGED: &str = "changed";
/// One line of counts.
pub(crate) const RESULT_SUMMARY: &str = "summary";
pub const RESULTS: [&str; 2] = [RESULT_CHANGED, RESULT_SUMMARY];

/// The installer's file in the catalog index.
const DPDY_FILE: &str = "dynamic-plugins.default.yaml";

pub(crate) async fn run(args: IndexSettings) -> anyhow::Result<ExitStatus> {
    crate::io::fs::add_content_tree(&args.overlay);
    if let Some(tree) = &args.export_records {
        crate::io::fs::add_content_tree(tree);
    }
    let inputs = load_inputs(&args)?;
    let plugins = plan(&inputs.overlay, &inputs.selection, &inputs.config, args.all_packages, &inputs.export_records)?;
    if args.dry_run {
        print_plan(&plugins, args.output_format);
        return Ok(ExitStatus::Success);
    }
    // Each output folder is replaced whole: only an empty one or one this step wrote before.
    crate::io::fs::check_replaceable(&args.output, "--output", is_catalog_index_file)?;
    crate::io::fs::check_replaceable(&args.plugin_builds, "--plugin-builds", is_plugin_builds_file)?;
    let store = args.store.open_existing()?;
    tracing::info!(plugins = plugins.len(), store = %store.describe(), jobs = args.jobs, "resolving plugin images");
    let started = std::time::Instant::now();
    let older_tags = args.on_missing == OnMissing::OlderTag;
    let resolutions = resolve(&store, &plugins, args.jobs, &inputs.config.platforms, &inputs.known, older_tags).await?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "resolved");
    let rendered = render(&inputs, &plugins, &resolutions)?;

    let problems: Vec<PluginReport> =
        rendered.report.plugins.iter().filter(|plugin| plugin.status != PluginStatus::Pinned).cloned().collect();
    for problem in &problems {
        tracing::warn!(image = %problem.image, reference = %problem.reference, status = ?problem.status, detail = problem.detail.as_deref().unwrap_or(""), "plugin not pinned from its requested tag");
    }
    if !problems.is_empty() && args.on_missing == OnMissing::Fail {
        let list: Vec<String> =
            problems.iter().map(|problem| format!("{} ({})", problem.reference, problem.status.describe())).collect();
        return Err(FindingsError(format!(
            "{} plugin image(s) not found in {}: {}; nothing was written (pass `--on-missing previous` or `--on-missing older-tag` to write the index without them)",
            problems.len(),
            store.describe(),
            crate::domain::text::first_items(&list, 10)
        ))
        .into());
    }

    // Tolerating missing plugins is no licence for an index without any: every plugin missing
    // (no tag, no older tag, no previous entry) means the registry or the tags are wrong.
    let summary = &rendered.report.summary;
    if summary.plugins > 0 && summary.missing == summary.plugins {
        return Err(FindingsError(format!(
            "every one of the {} plugin image(s) is missing in {} ({}); nothing was written\n  hint: check --registry, --store, --rhdh-version and --tag-scheme against the tags the registry has",
            summary.plugins,
            store.describe(),
            if older_tags { "neither its tag nor an older tag of its release line exists" } else { "its tag does not exist and the previous index has no entry" }
        ))
        .into());
    }
    // What the installer would refuse at pod start (two enabled plugins setting one key to two
    // values, one plugin listed twice) is never written: the metadata behind it is bad input.
    if let Some(bytes) = rendered.catalog.get(Path::new(DPDY_FILE)) {
        let shown = args.output.join(DPDY_FILE);
        let errors = crate::io::install_check::static_errors(&shown, &String::from_utf8_lossy(bytes))?;
        if let Some(first) = errors.first() {
            return Err(InputError::in_file(
                &shown,
                format!(
                    "would break the RHDH installer's rules, so nothing was written: {} problem(s), the first: `{}`: {} [{}]",
                    errors.len(),
                    crate::formats::shown::shown(&first.package),
                    first.message,
                    first.rule
                ),
            )
            .with_hint("fix the metadata (`spec.appConfigExamples`, `spec.dynamicArtifact`) of the packages named, or list them once in default.packages.yaml")
            .into());
        }
    }
    let previous_view = if args.output.join("index.json").exists() {
        crate::io::catalog_source::read_folder(&args.output).ok()
    } else {
        None
    };
    // Both output folders or neither: one transaction.
    let changed = crate::io::fs::replace_trees(&[
        (args.plugin_builds.as_path(), &rendered.plugin_builds),
        (args.output.as_path(), &rendered.catalog),
    ])
    .with_context(|| format!("writing {} and {}", args.plugin_builds.display(), args.output.display()))?;
    let (builds_changed, catalog_changed) = (changed[0], changed[1]);
    let new_view = rendered.view()?;
    let mut report = rendered.report;
    report.changed = builds_changed || catalog_changed;
    report.diff = crate::domain::catalog::diff::diff(&previous_view.unwrap_or_default(), &new_view);
    if !report.diff.is_empty() {
        tracing::info!(
            added = report.diff.added.len(),
            removed = report.diff.removed.len(),
            changed = report.diff.changed.len(),
            "index changes"
        );
    }
    if let Some(path) = &args.report {
        crate::io::fs::write_atomic(path, &crate::formats::json::to_pretty(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
    results.write(RESULT_CHANGED, if report.changed { "true" } else { "false" })?;
    let summary = &report.summary;
    results.write(
        RESULT_SUMMARY,
        &format!(
            "{} plugins: {} pinned, {} fallback, {} stale, {} missing",
            summary.plugins, summary.pinned, summary.fallback, summary.stale, summary.missing
        ),
    )?;
    print_summary(&report, &args);
    // Reaching here with problems means --on-missing previous or older-tag: each one has its
    // ACTION REQUIRED line here, in the report and in build-report.json.
    for action in &report.actions {
        tracing::warn!("{action}");
    }
    Ok(ExitStatus::Success)
}

/// Whether `relative` is a file `index` writes into `--output`: the index files at its top, and
/// anything under `catalog-entities/` (copied from the overlay).
fn is_catalog_index_file(relative: &Path) -> bool {
    const TOP: [&str; 6] = [
        "index.json",
        "dynamic-plugins.default.yaml",
        "default.packages.yaml",
        "related-images.txt",
        "build-info.json",
        crate::domain::catalog::render::BUILD_REPORT,
    ];
    relative.starts_with("catalog-entities") || relative.to_str().is_some_and(|text| TOP.contains(&text))
}

/// Whether `relative` is a file `index` writes into `--plugin-builds`: `<workspace>/<image>.json`.
fn is_plugin_builds_file(relative: &Path) -> bool {
    relative.extension().is_some_and(|extension| extension == "json")
}

fn print_plan(plugins: &[PlannedPlugin], format: OutputFormat) {
    match format {
        OutputFormat::Text => {
            for plugin in plugins {
                println!("{} {} {}", plugin.image, plugin.workspace_path(), plugin.reference);
            }
        }
        OutputFormat::Json => {
            let plan: Vec<serde_json::Value> = plugins
                .iter()
                .map(|plugin| {
                    serde_json::json!({
                        "image": plugin.image,
                        "workspacePath": plugin.workspace_path(),
                        "package": plugin.package_name(),
                        "reference": plugin.reference.to_string(),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(plan));
        }
    }
}

fn print_summary(report: &IndexReport, args: &IndexSettings) {
    match args.output_format {
        OutputFormat::Json => println!("{}", serde_json::to_string(&report.summary).unwrap_or_default()),
        OutputFormat::Text => {
            let summary = &report.summary;
            println!(
                "{} plugins: {} pinned, {} fallback, {} stale, {} missing; {} dynamic-plugins entries; {} in {} and {}",
                summary.plugins,
                summary.pinned,
                summary.fallback,
                summary.stale,
                summary.missing,
                summary.dynamic_plugins_entries,
                if report.changed { "written" } else { "unchanged" },
                args.output.display(),
                args.plugin_builds.display()
            );
        }
    }
}

/// Reads the overlay, the selection files, versions and the previous index.
pub(crate) fn load_inputs(args: &IndexSettings) -> Result<IndexInputs, InputError> {
    let overlay = crate::io::overlay_tree::load(&args.overlay)?;
    // The same repositories fetch and export would clone, or the index names one they refuse.
    for workspace in &overlay.workspaces {
        if !crate::io::git::remote_allowed(&workspace.source.repo, args.allow_local_repos) {
            return Err(crate::io::git::refused_remote(&workspace.dir.join("source.json"), &workspace.source.repo));
        }
    }
    let mut selection = Vec::new();
    for path in args.packages.clone() {
        let text = crate::io::fs::read_text(&path)?;
        let is_yaml = path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml");
        selection.push(if is_yaml {
            SelectionFile::DefaultPackages {
                packages: DefaultPackages::parse(&path, &text)?,
                bytes: text.into_bytes(),
                path,
            }
        } else {
            SelectionFile::PackageList { entries: package_list::parse(&path, &text)?, bytes: text.into_bytes(), path }
        });
    }
    let versions_path = args.versions.clone();
    let versions = if versions_path.exists() {
        Some(crate::io::fs::read_parsed(&versions_path, VersionsJson::parse)?)
    } else {
        None
    };
    let backstage_version = match (&args.backstage_version, &versions) {
        (Some(version), _) => version.clone(),
        (None, Some(versions)) => versions.backstage.clone(),
        (None, None) => {
            return Err(InputError::in_file(&versions_path, "is missing and --backstage-version was not given")
                .with_hint("give the target Backstage version with --backstage-version or in versions.json"));
        }
    };
    if !is_version(&backstage_version) {
        return Err(InputError::usage(format!("Backstage version `{backstage_version}` is not a version like 1.52.0")));
    }
    let registry = args.registry.clone();
    let community_registry = args.community_registry.clone();
    let tagging =
        TagScheme::choose(args.tag_scheme, &registry.registry, args.rhdh_version.as_deref(), &backstage_version)
            .map_err(|error| {
                InputError::usage(format!(
                    "tags in {} are `<rhdh version>--<plugin version>`, so --rhdh-version is required",
                    error.registry
                ))
                .with_hint("pass --rhdh-version 1.10.0, or --tag-scheme backstage for bs_<backstage>__<version> tags")
            })?;
    let platforms = args.platforms.clone();

    let previous_path = args.output.join("index.json");
    let previous_index = if previous_path.exists() {
        crate::io::fs::read_parsed(&previous_path, crate::formats::index_json::parse).unwrap_or_else(|error| {
            tracing::warn!(%error, "ignoring the previous index.json; no stale entries can be kept");
            IndexJson::new()
        })
    } else {
        IndexJson::new()
    };

    let known = known_facts(&args.plugin_builds, &previous_index);

    let (found_repo, found_commit) = overlay_provenance(&args.overlay);
    let overlay_commit = args.overlay_commit.clone().or(found_commit).unwrap_or_else(|| "unknown".to_string());
    let source_repo = args.source_repo.clone().or(found_repo).unwrap_or_else(|| "unknown".to_string());
    let build_date = args.source_date_epoch.map(format_epoch);
    let build_info = BuildInfo {
        source_repo: format!("{source_repo} @ {overlay_commit}"),
        build_date,
        backstage_version: backstage_version.clone(),
        rhdh_version: args.rhdh_version.clone(),
        overlay_commit,
        registry: registry.to_string(),
        package_files: selection
            .iter()
            .map(|file| {
                let name = file.path().file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
                (name, Digest::of(file.bytes()).to_string())
            })
            .collect(),
        tool_version: crate::TOOL_VERSION.to_string(),
    };
    let export_records = match &args.export_records {
        Some(tree) => read_export_records(tree, &overlay),
        None => ExportRecords::new(),
    };
    Ok(IndexInputs {
        overlay,
        selection,
        config: IndexConfig { registry, community_registry, tagging, dpdy_style: args.dpdy_style, platforms },
        previous_index,
        known,
        build_info,
        export_records,
    })
}

/// Where the overlay came from: the source `fetch` recorded for this folder in the tree's
/// `plan.json`, else the overlay's own checkout when it is the top of a git work tree (inside a
/// midstream checkout, HEAD would be the midstream's commit, which changes with every sync).
fn overlay_provenance(overlay: &Path) -> (Option<String>, Option<String>) {
    let absolute = std::path::absolute(overlay).unwrap_or_else(|_| overlay.to_path_buf());
    if let (Some(tree), Some(name)) = (absolute.parent(), absolute.file_name()) {
        let plan_path = tree.join("plan.json");
        if plan_path.exists()
            && let Ok(plan) = crate::io::fs::read_parsed(&plan_path, crate::formats::plan::Plan::parse)
            && let Some(source) = plan.sources.iter().find(|source| Path::new(&source.destination) == Path::new(name))
        {
            return (Some(source.repo.clone()), Some(source.commit.clone()));
        }
    }
    let is_top = crate::io::git::is_work_tree_top(&absolute);
    if is_top { (crate::io::git::origin_url(&absolute), crate::io::git::head_commit(&absolute)) } else { (None, None) }
}

/// What the last export of each workspace of `overlay` recorded in `tree`
/// (`workspaces/<ws>/.rhdh-catalog-export.json`). A missing or unreadable record means only that
/// the index matches that workspace's metadata to folders by name, so it is skipped with a note.
fn read_export_records(tree: &Path, overlay: &crate::domain::overlay::Overlay) -> ExportRecords {
    let mut records = ExportRecords::new();
    for workspace in &overlay.workspaces {
        let path = tree.join("workspaces").join(&workspace.name).join(EXPORT_STATE_FILE);
        if !path.is_file() {
            continue;
        }
        match crate::io::fs::read_json::<ExportState>(&path) {
            Ok(state) if !state.exported.is_empty() => {
                records.insert(workspace.name.clone(), state.exported);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "ignoring an unreadable export record; folders are matched by name"),
        }
    }
    records
}

/// What the previous run recorded per digest: `plugin_builds/` files and the previous index. Files
/// that do not parse are skipped (they are our own outputs; the run rewrites them anyway).
fn known_facts(plugin_builds: &Path, previous_index: &IndexJson) -> KnownFacts {
    let mut known = KnownFacts::new();
    let mut record = |digest: Option<Digest>, metadata: &ImageMetadata, dynamic_packages: Option<&String>| {
        if let Some(digest) = digest {
            known.insert(digest, metadata.to_facts(dynamic_packages.map(String::as_str)));
        }
    };
    for entry in previous_index.values() {
        let metadata = entry.metadata();
        record(
            entry.registry_reference.split_once('@').and_then(|(_, digest)| Digest::parse(digest).ok()),
            &metadata,
            entry.dynamic_packages.as_ref(),
        );
    }
    for file in crate::io::fs::list_files(plugin_builds).unwrap_or_default() {
        if file.extension().is_none_or(|extension| extension != "json") {
            continue;
        }
        let Ok(builds) = crate::io::fs::read_parsed(&plugin_builds.join(&file), crate::formats::plugin_builds::parse)
        else {
            continue;
        };
        for build in builds.values() {
            record(build.digest.clone(), &build.image, build.dynamic_packages.as_ref());
        }
    }
    known
}
