//! `rhdh-catalog index`: from an overlay tree and the plugin images in a registry, write
//! `plugin_builds/<ws>/<image>.json`, and `catalog-index/` with `index.json`,
//! `dynamic-plugins.default.yaml`, `catalog-entities/extensions/`, `build-info.json` and
//! `related-images.txt`, every image pinned by digest.
//!
//! With `--community-output`, the same run also builds the community catalog (the
//! `rhdh-community-packages.txt` plugins, which RHDH reads from an extra catalog index image) into
//! folders of its own, with the same reports; every distinct image is probed once and all output
//! folders are swapped in as one transaction.
//!
//! Flow: [`load_shared`] and [`catalog_inputs`] (I/O) → [`plan`] (pure: which plugins, which tags) → [`resolve`] (registry
//! probes, bounded concurrency, tri-state) → [`render`] (pure: every output file as bytes) →
//! atomic directory swaps. An image the registry does not have is *missing* and reported per
//! plugin; an image whose state is *unknown* after retries fails the step (exit 3) and is never
//! treated as missing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{OutputFormat, StoreSettings};
use crate::domain::catalog::DpdyStyle;
use crate::domain::catalog::identity::{TagScheme, TagSchemeChoice};
use crate::domain::catalog::pin::{OnMissing, PluginStatus, Resolution};
use crate::domain::catalog::plan::{
    ExportRecords, IndexConfig, IndexInputs, PlannedPlugin, Registries, SelectionFile, TaggedRegistry, plan,
};
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

// Each bool is an independent switch of the step (flags of `index`).
#[allow(clippy::struct_excessive_bools)]
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
    /// The tag scheme of `registry`.
    pub(crate) tag_scheme: TagSchemeChoice,
    /// The tag scheme of `community_registry` (its own: by default chosen by its host).
    pub(crate) community_tag_scheme: TagSchemeChoice,
    /// The catalog-index output folder.
    pub(crate) output: PathBuf,
    /// The `plugin_builds` output folder.
    pub(crate) plugin_builds: PathBuf,
    /// The community catalog, when asked for (`--community-output`).
    pub(crate) community: Option<Box<CommunityCatalogSettings>>,
    /// Where `default.packages.yaml` is read from when the overlay has none and none was given
    /// (older branches kept it in the RHDH repository).
    pub(crate) rhdh_default_packages: Option<Box<RhdhDefaultPackages>>,
    /// The `default.packages.yaml` in `packages` was given with `--default-packages` (another
    /// repository's file): an entry with no metadata in the overlay is left out with a warning.
    pub(crate) lenient_default_packages: bool,
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

/// The second catalog RHDH consumes (`EXTRA_CATALOG_INDEX_IMAGES`): the community packages, in
/// folders of their own, with the same reports as the supported catalog.
#[derive(Debug)]
pub struct CommunityCatalogSettings {
    /// The package lists (`rhdh-community-packages.txt`); the overlay's when none was given.
    pub(crate) packages: Vec<PathBuf>,
    /// Whether `packages` was given (a missing default list only means there is no community
    /// catalog on this branch).
    pub(crate) packages_given: bool,
    pub(crate) output: PathBuf,
    pub(crate) plugin_builds: PathBuf,
    pub(crate) report: Option<PathBuf>,
}

/// The RHDH repository's `default.packages.yaml`, at the branch `rhdh.branch` of
/// `upstream_repos.yml` names.
#[derive(Debug)]
pub struct RhdhDefaultPackages {
    pub(crate) repository: String,
    pub(crate) upstream_repos: PathBuf,
}

/// The Tekton results this step writes (`--results-dir`).
/// `true` when any output file changed.
pub(crate) const RESULT_CHANGED: &str = "changed";
/// One line of counts.
pub(crate) const RESULT_SUMMARY: &str = "summary";
/// `true` when the community catalog was built (`--community-output` and a package list).
pub(crate) const RESULT_COMMUNITY: &str = "community";
pub const RESULTS: [&str; 3] = [RESULT_CHANGED, RESULT_SUMMARY, RESULT_COMMUNITY];

/// One catalog of the run: its name (for messages and the plan), inputs and outputs.
struct Catalog<'a> {
    name: &'static str,
    inputs: IndexInputs,
    output: &'a Path,
    plugin_builds: &'a Path,
    report: Option<&'a Path>,
}

/// The installer's file in the catalog index.
const DPDY_FILE: &str = "dynamic-plugins.default.yaml";

pub(crate) async fn run(args: IndexSettings) -> anyhow::Result<ExitStatus> {
    crate::io::fs::add_content_tree(&args.overlay);
    if let Some(tree) = &args.export_records {
        crate::io::fs::add_content_tree(tree);
    }
    let shared = load_shared(&args)?;
    let catalogs = assemble_catalogs(&args, &shared).await?;
    let mut plans = Vec::new();
    for catalog in &catalogs {
        let inputs = &catalog.inputs;
        plans.push(plan(
            &inputs.overlay,
            &inputs.selection,
            &inputs.config,
            args.all_packages,
            &inputs.export_records,
        )?);
    }
    if args.dry_run {
        print_plan(&catalogs, &plans, args.output_format);
        return Ok(ExitStatus::Success);
    }
    // Each output folder is replaced whole: only an empty one or one this step wrote before.
    for catalog in &catalogs {
        let (output_flag, builds_flag) = if catalog.name == SUPPORTED {
            ("--output", "--plugin-builds")
        } else {
            ("--community-output", "--community-plugin-builds")
        };
        crate::io::fs::check_replaceable(catalog.output, output_flag, is_catalog_index_file)?;
        crate::io::fs::check_replaceable(catalog.plugin_builds, builds_flag, is_plugin_builds_file)?;
    }
    let store = args.store.open_existing()?;
    let resolutions = resolve_every_catalog(&store, &args, &catalogs, &plans).await?;
    let mut rendered = Vec::new();
    for ((catalog, plugins), resolutions) in catalogs.iter().zip(&plans).zip(&resolutions) {
        rendered.push(render(&catalog.inputs, plugins, resolutions)?);
    }
    // The documentation's reference tables, in the primary (supported) catalog, with the
    // community catalog's rows for its table.
    let community_rows = rendered.get(1).map(|community| community.docs_rows.clone()).unwrap_or_default();
    if let Some(supported) = rendered.first_mut().filter(|supported| supported.has_dynamic_plugins()) {
        supported.add_docs_tables(&community_rows);
    }

    let mut problems: Vec<(&str, PluginReport)> = Vec::new();
    for (catalog, rendered) in catalogs.iter().zip(&rendered) {
        for plugin in rendered.report.plugins.iter().filter(|plugin| plugin.status != PluginStatus::Pinned) {
            tracing::warn!(catalog = catalog.name, image = %plugin.image, reference = %plugin.reference, status = ?plugin.status, detail = plugin.detail.as_deref().unwrap_or(""), "plugin not pinned from its requested tag");
            problems.push((catalog.name, plugin.clone()));
        }
    }
    if !problems.is_empty() && args.on_missing == OnMissing::Fail {
        // Only what happened: under `fail` nothing was kept or left out, nothing was written.
        let list: Vec<String> = problems
            .iter()
            .map(|(catalog, problem)| {
                let which = if catalogs.len() > 1 { format!("{catalog}: ") } else { String::new() };
                format!("{which}{} ({})", problem.reference, problem.detail.as_deref().unwrap_or("not found"))
            })
            .collect();
        // The community catalog's images are built elsewhere (the upstream overlay's registry):
        // a store that mirrors only this pipeline's images lacks them.
        let community_hint = if problems.iter().any(|(catalog, _)| *catalog == COMMUNITY) {
            "; the community catalog's images come from --community-registry: copy them into the store, or pass `--community-catalog false` (sync: `--param community-catalog=false`) to build the supported catalog alone"
        } else {
            ""
        };
        return Err(FindingsError(format!(
            "{} plugin image(s) not found in {}: {}; nothing was written (pass `--on-missing previous` or `--on-missing older-tag` to write the index without them){community_hint}",
            problems.len(),
            store.describe(),
            crate::domain::text::first_items(&list, 10)
        ))
        .into());
    }

    // Tolerating missing plugins is no licence for an index without any: every plugin of a
    // catalog missing (no tag, no older tag, no previous entry) means the registry or the tags
    // are wrong.
    for (catalog, rendered) in catalogs.iter().zip(&rendered) {
        let summary = &rendered.report.summary;
        if summary.plugins > 0 && summary.missing == summary.plugins {
            let which = if catalogs.len() > 1 { format!(" of the {} catalog", catalog.name) } else { String::new() };
            return Err(FindingsError(format!(
                "every one of the {} plugin image(s){which} is missing in {} ({}); nothing was written\n  hint: check --registry, --store, --rhdh-version and --tag-scheme against the tags the registry has",
                summary.plugins,
                store.describe(),
                if args.on_missing == OnMissing::OlderTag { "neither its tag nor an older tag of its release line exists" } else { "its tag does not exist and the previous index has no entry" }
            ))
            .into());
        }
    }
    refuse_what_the_installer_refuses(&catalogs, &rendered)?;
    let previous_views: Vec<Option<Result<crate::domain::catalog::view::CatalogView, InputError>>> = catalogs
        .iter()
        .map(|catalog| {
            catalog.output.join("index.json").exists().then(|| crate::io::catalog_source::read_folder(catalog.output))
        })
        .collect();
    // Every output folder of every catalog or none: one transaction.
    let mut trees: Vec<(&Path, &std::collections::BTreeMap<PathBuf, Vec<u8>>)> = Vec::new();
    for (catalog, rendered) in catalogs.iter().zip(&rendered) {
        trees.push((catalog.plugin_builds, &rendered.plugin_builds));
        trees.push((catalog.output, &rendered.catalog));
    }
    let written: Vec<String> = trees.iter().map(|(path, _)| path.display().to_string()).collect();
    let changed = crate::io::fs::replace_trees(&trees).with_context(|| format!("writing {}", written.join(", ")))?;
    let mut reports = Vec::new();
    for (position, ((catalog, rendered), previous)) in catalogs.iter().zip(rendered).zip(previous_views).enumerate() {
        let new_view = rendered.view()?;
        let mut report = rendered.report;
        // `trees` holds each catalog's plugin_builds folder, then its output folder.
        let catalog_changed = changed[2 * position + 1];
        report.changed = changed[2 * position] || catalog_changed;
        // A catalog folder byte for byte the one it replaces lists no changes, even where that one
        // cannot be read as a view (an empty dynamic-plugins.default.yaml shares no plugin with
        // index.json) and whatever happened to plugin_builds.
        if catalog_changed {
            let previous = previous.transpose().unwrap_or_else(|error| {
                tracing::warn!(catalog = catalog.name, error = %error, "the previous catalog cannot be read: every plugin is listed as added");
                None
            });
            report.diff = crate::domain::catalog::diff::diff(&previous.unwrap_or_default(), &new_view);
        }
        if !report.diff.is_empty() {
            tracing::info!(
                catalog = catalog.name,
                added = report.diff.added.len(),
                removed = report.diff.removed.len(),
                changed = report.diff.changed.len(),
                "index changes"
            );
        }
        if let Some(path) = catalog.report {
            crate::io::fs::write_atomic(path, &crate::formats::json::to_pretty(&report))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        reports.push(report);
    }
    let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
    results.write(RESULT_CHANGED, if reports.iter().any(|report| report.changed) { "true" } else { "false" })?;
    let counts = |summary: &crate::domain::catalog::render::IndexSummary| {
        format!(
            "{} plugins: {} pinned, {} fallback, {} stale, {} missing",
            summary.plugins, summary.pinned, summary.fallback, summary.stale, summary.missing
        )
    };
    let mut summary = counts(&reports[0].summary);
    for (catalog, report) in catalogs.iter().zip(&reports).skip(1) {
        let _ = write!(summary, "; {}: {}", catalog.name, counts(&report.summary));
    }
    results.write(RESULT_SUMMARY, &summary)?;
    results.write(RESULT_COMMUNITY, if catalogs.len() > 1 { "true" } else { "false" })?;
    print_summary(&catalogs, &reports, args.output_format);
    // Reaching here with problems means --on-missing previous or older-tag: each one has its
    // ACTION REQUIRED line here, in the report and in build-report.json.
    for report in &reports {
        for action in &report.actions {
            tracing::warn!("{action}");
        }
    }
    Ok(ExitStatus::Success)
}

/// What the installer would refuse at pod start (two enabled plugins setting one key to two
/// values, one plugin listed twice) is never written: the metadata behind it is bad input.
fn refuse_what_the_installer_refuses(
    catalogs: &[Catalog<'_>],
    rendered: &[crate::domain::catalog::render::RenderedIndex],
) -> anyhow::Result<()> {
    for (catalog, rendered) in catalogs.iter().zip(rendered) {
        let Some(bytes) = rendered.catalog.get(Path::new(DPDY_FILE)) else { continue };
        let shown = catalog.output.join(DPDY_FILE);
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
    Ok(())
}

/// Whether `relative` is a file `index` writes into `--output`: the index files at its top,
/// anything under `catalog-entities/` (copied from the overlay) and the docs tables.
fn is_catalog_index_file(relative: &Path) -> bool {
    const TOP: [&str; 6] = [
        "index.json",
        "dynamic-plugins.default.yaml",
        "default.packages.yaml",
        "related-images.txt",
        "build-info.json",
        crate::domain::catalog::render::BUILD_REPORT,
    ];
    relative.starts_with("catalog-entities")
        || relative.starts_with(crate::domain::catalog::docs_tables::DOCS_DIR)
        || relative.to_str().is_some_and(|text| TOP.contains(&text))
}

/// Whether `relative` is a file `index` writes into `--plugin-builds`: `<workspace>/<image>.json`.
fn is_plugin_builds_file(relative: &Path) -> bool {
    relative.extension().is_some_and(|extension| extension == "json")
}

/// The catalogs of the run: the supported one (with the RHDH repository's default.packages.yaml
/// on an older branch), and the community one when asked for and listed.
async fn assemble_catalogs<'a>(args: &'a IndexSettings, shared: &SharedInputs) -> anyhow::Result<Vec<Catalog<'a>>> {
    let fetched = match &args.rhdh_default_packages {
        Some(source) => Some(rhdh_default_packages(source).await?),
        None => None,
    };
    let mut supported =
        catalog_inputs(shared, &args.packages, &args.output, &args.plugin_builds, args.lenient_default_packages)?;
    if let Some(fetched) = fetched {
        add_fetched_default_packages(&mut supported, fetched)?;
    }
    if !supported.selection.iter().any(|file| matches!(file, SelectionFile::DefaultPackages { .. })) {
        tracing::warn!(
            "no default.packages.yaml (not in the overlay, and neither --default-packages nor --rhdh-repository given): \
             no dynamic-plugins.default.yaml is written, so this catalog cannot be published as the primary index"
        );
    }
    let mut catalogs = vec![Catalog {
        name: SUPPORTED,
        inputs: supported,
        output: &args.output,
        plugin_builds: &args.plugin_builds,
        report: args.report.as_deref(),
    }];
    if let Some(community) = &args.community {
        let present: Vec<PathBuf> =
            community.packages.iter().filter(|path| path.exists() || path.is_symlink()).cloned().collect();
        if community.packages_given || !present.is_empty() {
            catalogs.push(Catalog {
                name: COMMUNITY,
                inputs: catalog_inputs(
                    shared,
                    &community.packages,
                    &community.output,
                    &community.plugin_builds,
                    false,
                )?,
                output: &community.output,
                plugin_builds: &community.plugin_builds,
                report: community.report.as_deref(),
            });
        } else {
            tracing::warn!(
                packages = %community.packages.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "),
                "the overlay has no community package list: no community catalog is built, {} is left as it is",
                community.output.display()
            );
        }
    }
    Ok(catalogs)
}

/// Probes every distinct reference of every catalog once; the resolutions of each catalog's
/// plugins, in plan order.
async fn resolve_every_catalog(
    store: &crate::io::registry::Store,
    args: &IndexSettings,
    catalogs: &[Catalog<'_>],
    plans: &[Vec<PlannedPlugin>],
) -> anyhow::Result<Vec<Vec<Resolution>>> {
    let mut unique: Vec<PlannedPlugin> = Vec::new();
    let mut known = KnownFacts::new();
    for (catalog, plugins) in catalogs.iter().zip(plans) {
        known.extend(catalog.inputs.known.iter().map(|(digest, facts)| (digest.clone(), facts.clone())));
        for plugin in plugins {
            if !unique.iter().any(|seen| seen.reference == plugin.reference) {
                unique.push(plugin.clone());
            }
        }
    }
    tracing::info!(plugins = unique.len(), store = %store.describe(), jobs = args.jobs, "resolving plugin images");
    let started = std::time::Instant::now();
    let older_tags = args.on_missing == OnMissing::OlderTag;
    let platforms = &catalogs[0].inputs.config.platforms;
    let resolved = resolve(store, &unique, args.jobs, platforms, &known, older_tags).await?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "resolved");
    Ok(plans
        .iter()
        .map(|plugins| {
            plugins
                .iter()
                .map(|plugin| {
                    let position =
                        unique.iter().position(|seen| seen.reference == plugin.reference).unwrap_or_default();
                    resolved[position].clone()
                })
                .collect()
        })
        .collect())
}

/// The catalogs' names, as the plan and the messages say them.
const SUPPORTED: &str = "supported";
const COMMUNITY: &str = "community";

fn print_plan(catalogs: &[Catalog<'_>], plans: &[Vec<PlannedPlugin>], format: OutputFormat) {
    match format {
        OutputFormat::Text => {
            for (catalog, plugins) in catalogs.iter().zip(plans) {
                if catalogs.len() > 1 {
                    println!("# {} catalog: {}", catalog.name, catalog.output.display());
                }
                for plugin in plugins {
                    println!("{} {} {}", plugin.image, plugin.workspace_path(), plugin.reference);
                }
            }
        }
        OutputFormat::Json => {
            let plan: Vec<serde_json::Value> = catalogs
                .iter()
                .zip(plans)
                .flat_map(|(catalog, plugins)| {
                    plugins.iter().map(|plugin| {
                        serde_json::json!({
                            "catalog": catalog.name,
                            "image": plugin.image,
                            "workspacePath": plugin.workspace_path(),
                            "package": plugin.package_name(),
                            "reference": plugin.reference.to_string(),
                        })
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(plan));
        }
    }
}

fn print_summary(catalogs: &[Catalog<'_>], reports: &[IndexReport], format: OutputFormat) {
    match format {
        OutputFormat::Json => {
            if let [report] = reports {
                println!("{}", serde_json::to_string(&report.summary).unwrap_or_default());
            } else {
                let summaries: serde_json::Map<String, serde_json::Value> = catalogs
                    .iter()
                    .zip(reports)
                    .map(|(catalog, report)| {
                        (catalog.name.to_string(), serde_json::to_value(&report.summary).unwrap_or_default())
                    })
                    .collect();
                println!("{}", serde_json::Value::Object(summaries));
            }
        }
        OutputFormat::Text => {
            for (catalog, report) in catalogs.iter().zip(reports) {
                let summary = &report.summary;
                let which = if catalogs.len() > 1 { format!("{}: ", catalog.name) } else { String::new() };
                println!(
                    "{which}{} plugins: {} pinned, {} fallback, {} stale, {} missing; {} dynamic-plugins entries; {} in {} and {}",
                    summary.plugins,
                    summary.pinned,
                    summary.fallback,
                    summary.stale,
                    summary.missing,
                    summary.dynamic_plugins_entries,
                    if report.changed { "written" } else { "unchanged" },
                    catalog.output.display(),
                    catalog.plugin_builds.display()
                );
            }
        }
    }
}

/// What every catalog of the run shares: the overlay, the settings, versions and provenance.
struct SharedInputs {
    overlay: crate::domain::overlay::Overlay,
    config: IndexConfig,
    /// The build facts without the package files (each catalog has its own).
    build_info: BuildInfo,
    export_records: ExportRecords,
    /// The notes of the overlay and versions.json.
    notes: Vec<crate::formats::foreign::ReadNote>,
}

/// Reads the overlay, versions and provenance, and settles the registries.
fn load_shared(args: &IndexSettings) -> Result<SharedInputs, InputError> {
    let overlay = crate::io::overlay_tree::load(&args.overlay)?;
    // The same repositories fetch and export would clone, or the index names one they refuse.
    for workspace in &overlay.workspaces {
        if !crate::io::git::remote_allowed(&workspace.source.repo, args.allow_local_repos) {
            return Err(crate::io::git::refused_remote(&workspace.dir.join("source.json"), &workspace.source.repo));
        }
    }
    let versions_path = args.versions.clone();
    let versions = if versions_path.exists() {
        Some(crate::io::fs::read_foreign(&versions_path, VersionsJson::parse)?)
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
    let tagged = |prefix: &RegistryPrefix, choice: TagSchemeChoice, flag: &str| {
        TagScheme::choose(choice, &prefix.registry, args.rhdh_version.as_deref(), &backstage_version)
            .map(|scheme| TaggedRegistry { prefix: prefix.clone(), scheme })
            .map_err(|error| {
                InputError::usage(format!(
                    "tags in {} are `<rhdh version>--<plugin version>`, so --rhdh-version is required",
                    error.registry
                ))
                .with_hint(format!(
                    "pass --rhdh-version 1.10.0, or `{flag} backstage` for bs_<backstage>__<version> tags"
                ))
            })
    };
    let registries = Registries {
        default: tagged(&registry, args.tag_scheme, "--tag-scheme")?,
        community: args
            .community_registry
            .as_ref()
            .map(|prefix| tagged(prefix, args.community_tag_scheme, "--community-tag-scheme"))
            .transpose()?,
    };
    let (found_repo, found_commit) = overlay_provenance(&args.overlay);
    let overlay_commit = args.overlay_commit.clone().or(found_commit);
    let source_repo = args.source_repo.clone().or(found_repo);
    if !args.dry_run && (overlay_commit.is_none() || source_repo.is_none()) {
        let missing = match (&source_repo, &overlay_commit) {
            (None, None) => "the overlay repository and commit",
            (None, Some(_)) => "the overlay repository",
            _ => "the overlay commit",
        };
        tracing::warn!(
            "build-info.json records {missing} as `unknown`: pass --source-repo and --overlay-commit, or index an overlay checkout (or a tree fetch wrote)"
        );
    }
    let overlay_commit = overlay_commit.unwrap_or_else(|| "unknown".to_string());
    let source_repo = source_repo.unwrap_or_else(|| "unknown".to_string());
    let build_info = BuildInfo {
        source_repo: format!("{source_repo} @ {overlay_commit}"),
        build_date: args.source_date_epoch.map(format_epoch),
        backstage_version: backstage_version.clone(),
        rhdh_version: args.rhdh_version.clone(),
        overlay_commit,
        registry: registry.to_string(),
        community_registry: args.community_registry.as_ref().map(ToString::to_string),
        default_packages_source: None,
        package_files: indexmap::IndexMap::new(),
        tool_version: crate::TOOL_VERSION.to_string(),
    };
    let export_records = match &args.export_records {
        Some(tree) => read_export_records(tree, &overlay),
        None => ExportRecords::new(),
    };
    let mut notes = overlay.notes();
    if let Some(versions) = &versions {
        notes.extend(versions.notes.iter().cloned());
    }
    Ok(SharedInputs {
        overlay,
        config: IndexConfig { registries, dpdy_style: args.dpdy_style, platforms: args.platforms.clone() },
        build_info,
        export_records,
        notes,
    })
}

/// One catalog's inputs: its selection files, the previous index in `output` and what the
/// previous run recorded in `plugin_builds`.
fn catalog_inputs(
    shared: &SharedInputs,
    packages: &[PathBuf],
    output: &Path,
    plugin_builds: &Path,
    lenient: bool,
) -> Result<IndexInputs, InputError> {
    let mut selection = Vec::new();
    for path in packages {
        let text = crate::io::fs::read_text(path)?;
        let is_yaml = path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml");
        selection.push(if is_yaml {
            let packages = DefaultPackages::parse(path, &text)?;
            crate::formats::foreign::warn(&packages.notes);
            SelectionFile::DefaultPackages { packages, bytes: text.into_bytes(), path: path.clone(), lenient }
        } else {
            SelectionFile::PackageList {
                entries: package_list::parse(path, &text)?,
                bytes: text.into_bytes(),
                path: path.clone(),
            }
        });
    }
    let previous_path = output.join("index.json");
    let previous_index = if previous_path.exists() {
        crate::io::fs::read_parsed(&previous_path, crate::formats::index_json::parse).unwrap_or_else(|error| {
            tracing::warn!(%error, "ignoring the previous index.json; no stale entries can be kept");
            IndexJson::new()
        })
    } else {
        IndexJson::new()
    };
    let known = known_facts(plugin_builds, &previous_index);
    let mut build_info = shared.build_info.clone();
    build_info.package_files = selection
        .iter()
        .map(|file| {
            let name = file.path().file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            (name, Digest::of(file.bytes()).to_string())
        })
        .collect();
    let mut notes = shared.notes.clone();
    for file in &selection {
        notes.extend(selection_notes(&shared.overlay, file));
    }
    Ok(IndexInputs {
        overlay: shared.overlay.clone(),
        selection,
        config: shared.config.clone(),
        previous_index,
        known,
        build_info,
        export_records: shared.export_records.clone(),
        notes,
    })
}

/// The notes of a selection file: what its forward-compatible read passed over, and, in another
/// repository's `default.packages.yaml`, each entry with no metadata in the overlay (left out).
fn selection_notes(
    overlay: &crate::domain::overlay::Overlay,
    file: &SelectionFile,
) -> Vec<crate::formats::foreign::ReadNote> {
    let SelectionFile::DefaultPackages { packages, lenient, path, bytes } = file else { return Vec::new() };
    let mut notes = packages.notes.clone();
    if *lenient {
        let lookup = crate::domain::catalog::plan::PackageLookup::new(overlay);
        let text = String::from_utf8_lossy(bytes);
        for entry in packages.entries.iter().filter(|entry| lookup.find(&entry.package).is_none()) {
            let note = crate::formats::foreign::ReadNote {
                file: path.clone(),
                line: text.lines().position(|line| line.contains(entry.package.as_str())).map(|index| index as u64 + 1),
                message: format!(
                    "package `{}` has no metadata file in the overlay: left out of dynamic-plugins.default.yaml",
                    crate::formats::shown::shown(&entry.package)
                ),
            };
            tracing::warn!("{note}");
            notes.push(note);
        }
    }
    notes
}

/// `default.packages.yaml` as read from the RHDH repository.
struct FetchedDefaultPackages {
    /// `<repository>@<branch>/default.packages.yaml`, as messages name it.
    path: PathBuf,
    text: String,
    /// `<repository> @ <commit>`.
    source: String,
}

/// Reads `default.packages.yaml` from the RHDH repository at the branch `rhdh.branch` of
/// `upstream_repos.yml` names: one blob of a depth-1, blob-less fetch, retried while the remote
/// fails (then exit 3); a branch or file that is not there is bad input (exit 2).
async fn rhdh_default_packages(source: &RhdhDefaultPackages) -> anyhow::Result<FetchedDefaultPackages> {
    if !source.upstream_repos.is_file() {
        return Err(InputError::in_file(
            &source.upstream_repos,
            "is missing; it names the RHDH branch whose default.packages.yaml the overlay lacks",
        )
        .with_hint("give --upstream-repos, or the file with --default-packages")
        .into());
    }
    let upstream =
        crate::io::fs::read_foreign(&source.upstream_repos, crate::formats::upstream_repos::UpstreamRepos::parse)?;
    let branch = upstream.rhdh_branch;
    let url = &source.repository;
    let shown_url = crate::io::git::strip_credentials(url);
    let mut attempt = 0;
    let found = loop {
        attempt += 1;
        match crate::io::git::file_at(url, &branch, "default.packages.yaml", crate::io::fs::MAX_INPUT_BYTES).await {
            Ok(found) => break found,
            Err(error @ crate::io::git::GitError::Remote { .. }) if attempt < 3 => {
                tracing::warn!(%error, attempt, "reading default.packages.yaml from the RHDH repository failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(2 * attempt)).await;
            }
            Err(crate::io::git::GitError::Local { problem, .. }) => {
                return Err(
                    InputError::usage(format!("{shown_url} `{branch}`: default.packages.yaml: {problem}")).into()
                );
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!(
                    "reading default.packages.yaml of {shown_url} at `{branch}` (rhdh.branch of {})",
                    source.upstream_repos.display()
                )));
            }
        }
    };
    let Some((text, commit)) = found else {
        return Err(InputError::in_file(
            &source.upstream_repos,
            format!("names the RHDH branch `{branch}`, and {shown_url} has no default.packages.yaml there"),
        )
        .with_hint("give the branch's default.packages.yaml with --default-packages")
        .into());
    };
    tracing::info!(repository = %shown_url, branch = %branch, commit = %commit, "default.packages.yaml read from the RHDH repository");
    Ok(FetchedDefaultPackages {
        path: PathBuf::from(format!("{shown_url}@{branch}/default.packages.yaml")),
        text,
        source: format!("{shown_url} @ {commit}"),
    })
}

/// Adds the RHDH repository's `default.packages.yaml` to the supported catalog's selection (first,
/// as the overlay's would be), with its provenance in `build-info.json`.
fn add_fetched_default_packages(inputs: &mut IndexInputs, fetched: FetchedDefaultPackages) -> Result<(), InputError> {
    let packages = DefaultPackages::parse(&fetched.path, &fetched.text)?;
    crate::formats::foreign::warn(&packages.notes);
    let file = SelectionFile::DefaultPackages {
        path: fetched.path,
        bytes: fetched.text.into_bytes(),
        packages,
        lenient: true,
    };
    inputs.notes.extend(selection_notes(&inputs.overlay, &file));
    inputs.build_info.package_files.shift_insert(
        0,
        "default.packages.yaml".to_string(),
        Digest::of(file.bytes()).to_string(),
    );
    inputs.build_info.default_packages_source = Some(fetched.source);
    inputs.selection.insert(0, file);
    Ok(())
}

/// Where the overlay came from: the source `fetch` recorded for this folder in the tree's
/// `plan.json`, else the overlay's own checkout when it is the top of a git work tree (inside a
/// midstream checkout, HEAD would be the midstream's commit, which changes with every sync).
fn overlay_provenance(overlay: &Path) -> (Option<String>, Option<String>) {
    let absolute = std::path::absolute(overlay).unwrap_or_else(|_| overlay.to_path_buf());
    if let (Some(tree), Some(name)) = (absolute.parent(), absolute.file_name()) {
        let plan_path = tree.join(crate::formats::plan::PLAN_FILE);
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
