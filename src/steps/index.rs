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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::StreamExt;
use serde::Serialize;

use super::{OutputFormat, StoreSettings};
use crate::domain::catalog::DpdyStyle;
use crate::domain::catalog::identity::{TagScheme, TagSchemeChoice};
use crate::domain::catalog::workspace_paths::{PackageNames, match_workspace_paths};
use crate::error::{ExitStatus, FindingsError, InputError};
use crate::formats::build_info::{BuildInfo, format_epoch};
use crate::formats::catalog_entity::{EntityFolder, render_all_yaml};
use crate::formats::default_packages::DefaultPackages;
use crate::formats::dynamic_plugins::{self, RenderedEntry};
use crate::formats::index_json::{IndexEntry, IndexJson};
use crate::formats::package::Package;
use crate::formats::package_list::{self, PackageListEntry};
use crate::formats::plugin_builds::{ImageMetadata, PluginBuild};
use crate::formats::plugins_list::PluginsList;
use crate::formats::versions::{VersionsJson, is_version};
use crate::io::overlay_tree::{Overlay, Workspace};
use crate::io::registry::image::{ImageFacts, KnownFacts, inspect};
use crate::io::registry::plugin_image::DYNAMIC_PACKAGES_ANNOTATION;
use crate::io::registry::{Digest, ImageReference, RegistryError, RegistryPrefix, Store};

/// A package selection file given with `--packages`.
#[derive(Clone, Debug)]
pub enum SelectionFile {
    DefaultPackages { path: PathBuf, bytes: Vec<u8>, packages: DefaultPackages },
    PackageList { path: PathBuf, bytes: Vec<u8>, entries: Vec<PackageListEntry> },
}

impl SelectionFile {
    fn path(&self) -> &Path {
        match self {
            SelectionFile::DefaultPackages { path, .. } | SelectionFile::PackageList { path, .. } => path,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            SelectionFile::DefaultPackages { bytes, .. } | SelectionFile::PackageList { bytes, .. } => bytes,
        }
    }
}

#[derive(Debug)]
pub struct IndexSettings {
    /// The overlay tree: workspaces/, catalog-entities/extensions/, default.packages.yaml, versions.json.
    pub overlay: PathBuf,
    /// Package selection files (default.packages.yaml, rhdh-*-packages.txt); the overlay's by default.
    pub packages: Vec<PathBuf>,
    /// Index every Package of the overlay, not only the selected ones.
    pub all_packages: bool,
    pub versions: PathBuf,
    /// The target Backstage version (overrides versions.json).
    pub backstage_version: Option<String>,
    pub rhdh_version: Option<String>,
    /// The registry prefix plugin images are named under.
    pub registry: RegistryPrefix,
    /// The prefix for packages whose metadata says `support: community`.
    pub community_registry: Option<RegistryPrefix>,
    pub tag_scheme: TagSchemeChoice,
    /// The catalog-index output folder.
    pub output: PathBuf,
    /// The `plugin_builds` output folder.
    pub plugin_builds: PathBuf,
    pub dpdy_style: DpdyStyle,
    /// Concurrent registry probes.
    pub jobs: usize,
    pub allow_missing: bool,
    /// Platforms (`os/architecture`) an image index must offer.
    pub platforms: Vec<String>,
    pub overlay_commit: Option<String>,
    pub source_repo: Option<String>,
    pub report: Option<PathBuf>,
    pub results_dir: Option<PathBuf>,
    /// Print the planned plugins; contact nothing, write nothing.
    pub dry_run: bool,
    pub output_format: OutputFormat,
    pub store: StoreSettings,
    /// `SOURCE_DATE_EPOCH`, recorded as the build date.
    pub source_date_epoch: Option<i64>,
}

/// Settings of one index run, validated.
#[derive(Clone, Debug)]
pub struct IndexConfig {
    pub registry: RegistryPrefix,
    pub community_registry: Option<RegistryPrefix>,
    pub tagging: TagScheme,
    pub backstage_version: String,
    pub rhdh_version: Option<String>,
    pub dpdy_style: DpdyStyle,
    pub platforms: Vec<String>,
}

/// Everything read from disk before planning.
pub struct IndexInputs {
    pub overlay: Overlay,
    pub selection: Vec<SelectionFile>,
    pub config: IndexConfig,
    pub previous_index: IndexJson,
    /// Build facts recorded by the previous run (`plugin_builds/` and `index.json`), by digest.
    pub known: KnownFacts,
    pub build_info: BuildInfo,
}

/// One plugin the index will pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPlugin {
    pub image: String,
    pub workspace: String,
    pub workspace_path: String,
    pub package_name: String,
    pub reference: ImageReference,
    pub support: Option<String>,
}

/// What the registry said about a planned plugin's image.
#[derive(Clone, Debug)]
pub enum Resolution {
    Present(ImageFacts),
    Missing,
    /// An index without a platform we require.
    MissingPlatforms(Vec<String>),
}

/// The Tekton results this step writes (`--results-dir`).
/// `true` when any output file changed.
pub const RESULT_CHANGED: &str = "changed";
/// One line of counts.
pub const RESULT_SUMMARY: &str = "summary";
pub const RESULTS: [&str; 2] = [RESULT_CHANGED, RESULT_SUMMARY];

pub async fn run(args: IndexSettings) -> anyhow::Result<ExitStatus> {
    let inputs = load_inputs(&args)?;
    let plugins = plan(&inputs.overlay, &inputs.selection, &inputs.config, args.all_packages)?;
    if args.dry_run {
        print_plan(&plugins, args.output_format);
        return Ok(ExitStatus::Success);
    }
    let store = args.store.open()?;
    tracing::info!(plugins = plugins.len(), store = %store.describe(), jobs = args.jobs, "resolving plugin images");
    let started = std::time::Instant::now();
    let resolutions = resolve(&store, &plugins, args.jobs, &inputs.config.platforms, &inputs.known).await?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "resolved");
    let rendered = render(&inputs, &plugins, &resolutions)?;

    let problems: Vec<PluginReport> =
        rendered.report.plugins.iter().filter(|plugin| plugin.status != PluginStatus::Pinned).cloned().collect();
    for problem in &problems {
        tracing::warn!(image = %problem.image, reference = %problem.reference, status = ?problem.status, detail = problem.detail.as_deref().unwrap_or(""), "plugin not pinned from its requested tag");
    }
    if !problems.is_empty() && !args.allow_missing {
        let list: Vec<String> =
            problems.iter().map(|problem| format!("{} ({})", problem.reference, problem.status.describe())).collect();
        return Err(FindingsError(format!(
            "{} plugin image(s) not found in {}: {}; nothing was written (pass --allow-missing to write the index without them)",
            problems.len(),
            store.describe(),
            crate::domain::text::first_items(&list, 10)
        ))
        .into());
    }

    let previous_view = if args.output.join("index.json").exists() {
        crate::io::catalog_source::read_folder(&args.output).ok()
    } else {
        None
    };
    let builds_changed = crate::io::fs::replace_tree(&args.plugin_builds, &rendered.plugin_builds)
        .with_context(|| format!("writing {}", args.plugin_builds.display()))?;
    let catalog_changed = crate::io::fs::replace_tree(&args.output, &rendered.catalog)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let mut report = rendered.report;
    report.changed = builds_changed || catalog_changed;
    let new_view = crate::io::catalog_source::read_folder(&args.output)?;
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
            "{} plugins: {} pinned, {} stale, {} missing",
            summary.plugins, summary.pinned, summary.stale, summary.missing
        ),
    )?;
    print_summary(&report, &args);
    // Reaching here with problems means --allow-missing: they are in the log and the report.
    Ok(ExitStatus::Success)
}

fn print_plan(plugins: &[PlannedPlugin], format: OutputFormat) {
    match format {
        OutputFormat::Text => {
            for plugin in plugins {
                println!("{} {} {}", plugin.image, plugin.workspace_path, plugin.reference);
            }
        }
        OutputFormat::Json => {
            let plan: Vec<serde_json::Value> = plugins
                .iter()
                .map(|plugin| {
                    serde_json::json!({
                        "image": plugin.image,
                        "workspacePath": plugin.workspace_path,
                        "package": plugin.package_name,
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
                "{} plugins: {} pinned, {} stale, {} missing; {} dynamic-plugins entries; {} in {} and {}",
                summary.plugins,
                summary.pinned,
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
pub fn load_inputs(args: &IndexSettings) -> Result<IndexInputs, InputError> {
    let overlay = crate::io::overlay_tree::load(&args.overlay)?;
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
    let versions = if versions_path.exists() { Some(VersionsJson::read(&versions_path)?) } else { None };
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
        crate::formats::index_json::read(&previous_path).unwrap_or_else(|error| {
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
    Ok(IndexInputs {
        overlay,
        selection,
        config: IndexConfig {
            registry,
            community_registry,
            tagging,
            backstage_version,
            rhdh_version: args.rhdh_version.clone(),
            dpdy_style: args.dpdy_style,
            platforms,
        },
        previous_index,
        known,
        build_info,
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
            && let Ok(plan) = crate::formats::plan::Plan::read(&plan_path)
            && let Some(source) = plan.sources.iter().find(|source| Path::new(&source.destination) == Path::new(name))
        {
            return (Some(source.repo.clone()), Some(source.commit.clone()));
        }
    }
    let is_top = crate::io::git::is_work_tree_top(&absolute);
    if is_top { (crate::io::git::origin_url(&absolute), crate::io::git::head_commit(&absolute)) } else { (None, None) }
}

/// What the previous run recorded per digest: `plugin_builds/` files and the previous index. Files
/// that do not parse are skipped (they are our own outputs; the run rewrites them anyway).
fn known_facts(plugin_builds: &Path, previous_index: &IndexJson) -> KnownFacts {
    let mut known = KnownFacts::new();
    let mut record = |digest: Option<&str>, metadata: &ImageMetadata, dynamic_packages: Option<&String>| {
        let Some(digest) = digest.and_then(|digest| Digest::parse(digest).ok()) else { return };
        let mut facts = ImageFacts::default();
        for (key, value) in [("build-date", &metadata.build_date), ("vcs-ref", &metadata.vcs_ref)] {
            if let Some(value) = value {
                facts.labels.insert(key.to_string(), value.clone());
            }
        }
        for (key, value) in [("UPSTREAM_REPO", &metadata.upstream), ("MIDSTREAM_REPO", &metadata.midstream)] {
            if let Some(value) = value {
                facts.env.insert(key.to_string(), value.clone());
            }
        }
        if let Some(value) = dynamic_packages {
            facts.annotations.insert(DYNAMIC_PACKAGES_ANNOTATION.to_string(), value.clone());
        }
        known.insert(digest, facts);
    };
    for entry in previous_index.values() {
        let metadata = ImageMetadata {
            build_date: entry.build_date.clone(),
            upstream: entry.upstream.clone(),
            midstream: entry.midstream.clone(),
            vcs_ref: entry.vcs_ref.clone(),
        };
        record(
            entry.registry_reference.split_once('@').map(|(_, digest)| digest),
            &metadata,
            entry.dynamic_packages.as_ref(),
        );
    }
    for file in crate::io::fs::list_files(plugin_builds).unwrap_or_default() {
        if file.extension().is_none_or(|extension| extension != "json") {
            continue;
        }
        let Ok(builds) = crate::formats::plugin_builds::read(&plugin_builds.join(&file)) else { continue };
        for build in builds.values() {
            record(build.digest.as_deref(), &build.image, build.dynamic_packages.as_ref());
        }
    }
    known
}

/// Finds a metadata package by the names a `default.packages.yaml` entry may use.
pub struct PackageLookup<'a> {
    by_key: HashMap<String, (&'a Workspace, &'a Package)>,
}

impl<'a> PackageLookup<'a> {
    pub fn new(overlay: &'a Overlay) -> Self {
        let mut by_key = HashMap::new();
        // Weaker keys first, so that a package name always wins over a file stem.
        for workspace in &overlay.workspaces {
            for package in &workspace.packages {
                by_key.insert(package.file_stem().to_string(), (workspace, package));
                if let Some(artifact) = &package.dynamic_artifact
                    && !artifact.starts_with("./")
                    && !artifact.starts_with("oci://")
                {
                    let name = match artifact.rfind('@') {
                        Some(position) if position > 0 => &artifact[..position],
                        _ => artifact.as_str(),
                    };
                    by_key.insert(name.to_string(), (workspace, package));
                }
            }
        }
        for workspace in &overlay.workspaces {
            for package in &workspace.packages {
                by_key.insert(package.package_name.clone(), (workspace, package));
            }
        }
        PackageLookup { by_key }
    }

    pub fn find(&self, name: &str) -> Option<(&'a Workspace, &'a Package)> {
        let name = name.trim().trim_matches(['\'', '"']);
        self.by_key.get(name).copied().or_else(|| {
            let rest = name.strip_prefix("@red-hat-developer-hub/backstage-plugin-")?;
            self.by_key.get(&format!("redhat-backstage-plugin-{rest}")).copied()
        })
    }
}

/// Which packages the index covers and under which tags. Pure.
pub fn plan(
    overlay: &Overlay,
    selection: &[SelectionFile],
    config: &IndexConfig,
    all_packages: bool,
) -> Result<Vec<PlannedPlugin>, InputError> {
    let lookup = PackageLookup::new(overlay);
    // Workspace path of every package, and the reverse map for the tier lists.
    let mut workspace_path_of: HashMap<(&str, &str), String> = HashMap::new();
    let mut package_at_path: HashMap<String, &str> = HashMap::new();
    for workspace in &overlay.workspaces {
        let images: Vec<String> = workspace.packages.iter().map(Package::image_name).collect();
        let names: Vec<PackageNames<'_>> = workspace
            .packages
            .iter()
            .zip(&images)
            .map(|(package, image)| PackageNames { entity_name: &package.entity_name, image_name: image })
            .collect();
        let folders: Vec<&str> =
            workspace.plugins_list.iter().flat_map(PluginsList::entries).map(|entry| entry.path.as_str()).collect();
        for (package, path) in workspace.packages.iter().zip(match_workspace_paths(&workspace.name, &names, &folders)) {
            workspace_path_of.insert((workspace.name.as_str(), package.package_name.as_str()), path.clone());
            package_at_path.entry(path).or_insert(package.package_name.as_str());
        }
    }

    let mut selected: Option<BTreeSet<&str>> = None;
    for file in selection {
        let chosen = selected.get_or_insert_with(BTreeSet::new);
        match file {
            SelectionFile::DefaultPackages { path, packages, bytes } => {
                let text = String::from_utf8_lossy(bytes);
                for entry in &packages.entries {
                    let Some((_, package)) = lookup.find(&entry.package) else {
                        return Err(InputError::in_file(
                            path,
                            format!("package `{}` has no metadata file in any workspace", entry.package),
                        )
                        .at_line(
                            crate::formats::package::line_of(&text, &format!("- package: '{}'", entry.package))
                                .or_else(|| line_containing(&text, &entry.package)),
                        )
                        .with_hint(
                            "add workspaces/<ws>/metadata/<name>.yaml with this spec.packageName, or remove the entry",
                        ));
                    };
                    chosen.insert(package.package_name.as_str());
                }
            }
            SelectionFile::PackageList { path, entries, .. } => {
                for entry in entries {
                    let key = format!("{}/{}", entry.workspace, entry.path);
                    let Some(package_name) = package_at_path.get(&key) else {
                        return Err(InputError::in_file(path, format!("`{key}` matches no metadata file of workspace `{}`", entry.workspace))
                            .at_line(Some(entry.line))
                            .with_hint("check the workspace name and the plugins-list.yaml path, and that the workspace has a metadata file for the plugin"));
                    };
                    chosen.insert(package_name);
                }
            }
        }
    }

    let mut plugins: Vec<PlannedPlugin> = Vec::new();
    for workspace in &overlay.workspaces {
        for package in &workspace.packages {
            if !all_packages && selected.as_ref().is_some_and(|chosen| !chosen.contains(package.package_name.as_str()))
            {
                continue;
            }
            let image = package.image_name();
            if let Some(first) = plugins.iter().find(|plugin| plugin.image == image) {
                return Err(InputError::in_file(
                    &package.file,
                    format!("image `{image}` is also built by workspace `{}`", first.workspace),
                )
                .with_hint("each npm package may be declared by one workspace only"));
            }
            let Some(version) = package.version.as_deref().filter(|version| !version.trim().is_empty()) else {
                return Err(InputError::in_file(&package.file, "`spec.version` is missing; the image tag needs it")
                    .at_line(crate::formats::package::line_of(&package.text, "spec:")));
            };
            let tag = config.tagging.tag(version, workspace.backstage_version());
            let prefix = match (&config.community_registry, package.support.as_deref()) {
                (Some(community), Some("community")) => community,
                _ => &config.registry,
            };
            let reference = prefix.image(&image, &tag).map_err(|problem| {
                InputError::in_file(&package.file, format!("cannot form an image reference: {problem}"))
                    .at_line(crate::formats::package::line_of(&package.text, "version:"))
            })?;
            let workspace_path = workspace_path_of
                .get(&(workspace.name.as_str(), package.package_name.as_str()))
                .cloned()
                .unwrap_or_else(|| format!("{}/{}", workspace.name, package.entity_name));
            plugins.push(PlannedPlugin {
                image,
                workspace: workspace.name.clone(),
                workspace_path,
                package_name: package.package_name.clone(),
                reference,
                support: package.support.clone(),
            });
        }
    }
    Ok(plugins)
}

fn line_containing(text: &str, needle: &str) -> Option<u64> {
    text.lines().position(|line| line.contains(needle)).map(|index| index as u64 + 1)
}

/// Probes every planned image, `jobs` at a time. Unknown answers (after the client's retries)
/// fail the whole step, listing every plugin affected.
pub async fn resolve(
    store: &Store,
    plugins: &[PlannedPlugin],
    jobs: usize,
    platforms: &[String],
    known: &KnownFacts,
) -> anyhow::Result<Vec<Resolution>> {
    let results: Vec<(usize, Result<Option<ImageFacts>, RegistryError>)> =
        futures::stream::iter(plugins.iter().enumerate())
            .map(|(position, plugin)| async move { (position, inspect(store, &plugin.reference, known).await) })
            .buffer_unordered(jobs.max(1))
            .collect()
            .await;
    let mut resolutions: Vec<Option<Resolution>> = vec![None; plugins.len()];
    let mut failures = Vec::new();
    for (position, result) in results {
        match result {
            Ok(Some(facts)) => {
                let is_index = crate::io::registry::media_type::is_index(&facts.media_type);
                let absent: Vec<String> =
                    platforms.iter().filter(|platform| !facts.platforms.contains(platform)).cloned().collect();
                resolutions[position] = Some(if is_index && !absent.is_empty() {
                    Resolution::MissingPlatforms(absent)
                } else {
                    Resolution::Present(facts)
                });
            }
            Ok(None) => resolutions[position] = Some(Resolution::Missing),
            Err(error) => failures.push((position, error)),
        }
    }
    if !failures.is_empty() {
        failures.sort_by_key(|(position, _)| *position);
        for (position, error) in &failures {
            tracing::error!(image = %plugins[*position].reference, %error, "image state unknown");
        }
        let (position, first) = failures.remove(0);
        return Err(anyhow::Error::new(first).context(format!(
            "could not tell whether {} plugin image(s) exist (first: {}); nothing was written",
            failures.len() + 1,
            plugins[position].reference
        )));
    }
    Ok(resolutions.into_iter().map(|resolution| resolution.unwrap_or(Resolution::Missing)).collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginStatus {
    /// Pinned to the digest of its requested tag.
    Pinned,
    /// The requested tag is missing; the previous index entry was kept.
    Stale,
    /// The requested tag is missing and there was no previous entry: left out.
    Missing,
}

impl PluginStatus {
    fn describe(self) -> &'static str {
        match self {
            PluginStatus::Pinned => "pinned",
            PluginStatus::Stale => "missing; previous digest kept",
            PluginStatus::Missing => "missing; left out",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PluginReport {
    pub image: String,
    pub workspace: String,
    pub reference: String,
    pub status: PluginStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexSummary {
    pub plugins: usize,
    pub pinned: usize,
    pub stale: usize,
    pub missing: usize,
    #[serde(rename = "dynamic-plugins-entries")]
    pub dynamic_plugins_entries: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexReport {
    pub summary: IndexSummary,
    /// Whether any output file differs from what was there before.
    pub changed: bool,
    pub plugins: Vec<PluginReport>,
    /// What changed against the index that was in the output folder before.
    #[serde(skip_serializing_if = "crate::domain::catalog::diff::CatalogDiff::is_empty")]
    pub diff: crate::domain::catalog::diff::CatalogDiff,
    /// default.packages.yaml entries left out of dynamic-plugins.default.yaml (no image).
    #[serde(rename = "dynamic-plugins-left-out", skip_serializing_if = "Vec::is_empty")]
    pub dynamic_plugins_left_out: Vec<String>,
}

/// Every output as bytes, before anything is written.
pub struct RenderedIndex {
    /// Relative to the `plugin_builds` folder.
    pub plugin_builds: BTreeMap<PathBuf, Vec<u8>>,
    /// Relative to the catalog-index folder.
    pub catalog: BTreeMap<PathBuf, Vec<u8>>,
    pub report: IndexReport,
}

/// How one plugin ends up pinned: the reference, digest and facts written everywhere.
struct Pin {
    reference: ImageReference,
    digest: Digest,
    metadata: ImageMetadata,
    dynamic_packages: Option<String>,
}

impl Pin {
    fn pinned_reference(&self) -> String {
        self.reference.pinned(&self.digest)
    }

    fn tag(&self) -> &str {
        self.reference.tag.as_deref().unwrap_or_default()
    }

    fn tag_comment(&self) -> String {
        match &self.metadata.build_date {
            Some(date) => format!("Tag: {}, Build date: {date}", self.tag()),
            None => format!("Tag: {}", self.tag()),
        }
    }
}

const DPDY_HEADER: [&str; 4] = [
    "Generated by `rhdh-catalog index` from default.packages.yaml and the Package metadata",
    "in workspaces/*/metadata/*.yaml. Do not edit: change those inputs and run the index again.",
    "Every OCI package is pinned by digest; the `# Tag:` comment names the tag it was resolved from.",
    "",
];

/// Renders every output file. Pure: the same inputs always give the same bytes.
pub fn render(
    inputs: &IndexInputs,
    plugins: &[PlannedPlugin],
    resolutions: &[Resolution],
) -> Result<RenderedIndex, InputError> {
    let mut report = IndexReport::default();
    let mut pins: HashMap<&str, Pin> = HashMap::new();
    let mut plugin_builds = BTreeMap::new();
    let mut index = IndexJson::new();

    for (plugin, resolution) in plugins.iter().zip(resolutions) {
        let (status, pin, detail) = match resolution {
            Resolution::Present(facts) => match &facts.digest {
                Some(digest) => {
                    (PluginStatus::Pinned, Some(pin_from_facts(plugin.reference.clone(), digest.clone(), facts)), None)
                }
                None => (PluginStatus::Missing, None, Some("the registry returned no digest".to_string())),
            },
            Resolution::Missing => (PluginStatus::Missing, None, Some("tag not found".to_string())),
            Resolution::MissingPlatforms(platforms) => {
                (PluginStatus::Missing, None, Some(format!("image index lacks platform(s) {}", platforms.join(", "))))
            }
        };
        let (status, pin) = match (status, pin) {
            (PluginStatus::Missing, None) => match inputs.previous_index.get(&plugin.image).and_then(pin_from_previous)
            {
                Some(previous) => (PluginStatus::Stale, Some(previous)),
                None => (PluginStatus::Missing, None),
            },
            other => other,
        };
        report.plugins.push(PluginReport {
            image: plugin.image.clone(),
            workspace: plugin.workspace.clone(),
            reference: plugin.reference.to_string(),
            status,
            digest: pin.as_ref().map(|pin| pin.digest.to_string()),
            detail,
        });
        let build = PluginBuild {
            workspace_path: plugin.workspace_path.clone(),
            registry_reference: pin
                .as_ref()
                .map_or_else(|| plugin.reference.to_string(), |pin| pin.reference.to_string()),
            digest: pin.as_ref().map(|pin| pin.digest.to_string()),
            image: pin.as_ref().map(|pin| pin.metadata.clone()).unwrap_or_default(),
            support: plugin.support.clone(),
            dynamic_packages: pin.as_ref().and_then(|pin| pin.dynamic_packages.clone()),
        };
        let file: indexmap::IndexMap<&str, &PluginBuild> = [(plugin.image.as_str(), &build)].into_iter().collect();
        plugin_builds.insert(
            PathBuf::from(&plugin.workspace).join(format!("{}.json", plugin.image)),
            crate::formats::json::to_pretty(&file),
        );
        if let Some(pin) = pin {
            index.insert(
                plugin.image.clone(),
                IndexEntry {
                    workspace_path: plugin.workspace_path.clone(),
                    registry_reference: pin.pinned_reference(),
                    build_date: pin.metadata.build_date.clone(),
                    vcs_ref: pin.metadata.vcs_ref.clone(),
                    upstream: pin.metadata.upstream.clone(),
                    midstream: pin.metadata.midstream.clone(),
                    support: plugin.support.clone(),
                    dynamic_packages: pin.dynamic_packages.clone(),
                    image_tag: pin.tag().to_string(),
                },
            );
            pins.insert(plugin.package_name.as_str(), pin);
        }
    }
    index.sort_keys();

    let mut catalog = BTreeMap::new();
    catalog.insert(PathBuf::from("index.json"), crate::formats::json::to_pretty(&index));

    // dynamic-plugins.default.yaml and its source, when a default.packages.yaml was selected.
    let lookup = PackageLookup::new(&inputs.overlay);
    if let Some(SelectionFile::DefaultPackages { packages, bytes, .. }) =
        inputs.selection.iter().find(|file| matches!(file, SelectionFile::DefaultPackages { .. }))
    {
        let mut entries = Vec::new();
        for entry in &packages.entries {
            let Some((_, package)) = lookup.find(&entry.package) else { continue };
            let pin = pins.get(package.package_name.as_str());
            match dpdy_entry(package, pin, !entry.enabled, inputs.config.dpdy_style) {
                Some(rendered) => entries.push(rendered),
                None => report.dynamic_plugins_left_out.push(entry.package.clone()),
            }
        }
        report.summary.dynamic_plugins_entries = entries.len();
        catalog.insert(
            PathBuf::from("dynamic-plugins.default.yaml"),
            dynamic_plugins::render(&DPDY_HEADER, &entries).into_bytes(),
        );
        catalog.insert(PathBuf::from("default.packages.yaml"), bytes.clone());
    }

    // catalog-entities/extensions: copied entities, generated packages/, regenerated all.yaml.
    let extensions = PathBuf::from("catalog-entities/extensions");
    let mut plugin_entity_files = Vec::new();
    for file in &inputs.overlay.entities {
        if file.relative == Path::new("plugins/all.yaml") {
            continue;
        }
        if let (Ok(inside), true) = (
            file.relative.strip_prefix("plugins"),
            file.relative.extension().is_some_and(|extension| extension == "yaml"),
        ) && inside.components().count() == 1
        {
            plugin_entity_files.push(inside.to_string_lossy().into_owned());
        }
        catalog.insert(extensions.join(&file.relative), file.bytes.clone());
    }
    if !plugin_entity_files.is_empty() {
        catalog.insert(
            extensions.join("plugins/all.yaml"),
            render_all_yaml(EntityFolder::Plugins, &plugin_entity_files).into_bytes(),
        );
    }
    let mut package_files: BTreeMap<&str, &Package> = BTreeMap::new();
    for workspace in &inputs.overlay.workspaces {
        for package in &workspace.packages {
            if let Some(other) = package_files.insert(package.file_name.as_str(), package) {
                return Err(InputError::in_file(
                    &package.file,
                    format!("has the same file name as {}", other.file.display()),
                )
                .with_hint(
                    "metadata file names become catalog-entities/extensions/packages/<name>; rename one of them",
                ));
            }
        }
    }
    for (name, package) in &package_files {
        let text = match (pins.get(package.package_name.as_str()), package.dynamic_artifact.as_deref()) {
            (Some(pin), Some(artifact)) if artifact.starts_with("oci://") || artifact.is_empty() => {
                package_text_with_pin(package, pin)
            }
            (Some(pin), None) => package_text_with_pin(package, pin),
            _ => package.text.clone(),
        };
        catalog.insert(extensions.join("packages").join(name), text.into_bytes());
    }
    if !package_files.is_empty() {
        let names: Vec<String> = package_files.keys().map(|name| (*name).to_string()).collect();
        catalog
            .insert(extensions.join("packages/all.yaml"), render_all_yaml(EntityFolder::Packages, &names).into_bytes());
    }

    let related: BTreeSet<String> = index.values().map(|entry| entry.registry_reference.clone()).collect();
    let mut related_text = String::new();
    for reference in related {
        related_text.push_str(&reference);
        related_text.push('\n');
    }
    catalog.insert(PathBuf::from("related-images.txt"), related_text.into_bytes());
    catalog.insert(PathBuf::from("build-info.json"), crate::formats::json::to_pretty(&inputs.build_info));

    report.summary.plugins = report.plugins.len();
    report.summary.pinned = report.plugins.iter().filter(|plugin| plugin.status == PluginStatus::Pinned).count();
    report.summary.stale = report.plugins.iter().filter(|plugin| plugin.status == PluginStatus::Stale).count();
    report.summary.missing = report.plugins.iter().filter(|plugin| plugin.status == PluginStatus::Missing).count();
    Ok(RenderedIndex { plugin_builds, catalog, report })
}

fn pin_from_facts(reference: ImageReference, digest: Digest, facts: &ImageFacts) -> Pin {
    let label = |key: &str| facts.labels.get(key).cloned().filter(|value| !value.is_empty());
    let env = |key: &str| facts.env.get(key).cloned().filter(|value| !value.is_empty());
    Pin {
        reference,
        digest,
        metadata: ImageMetadata {
            build_date: label("build-date"),
            upstream: env("UPSTREAM_REPO"),
            midstream: env("MIDSTREAM_REPO"),
            vcs_ref: label("vcs-ref"),
        },
        dynamic_packages: facts.annotations.get(DYNAMIC_PACKAGES_ANNOTATION).cloned().filter(|value| !value.is_empty()),
    }
}

/// The pin a previous index recorded, for a plugin whose new tag is missing.
fn pin_from_previous(entry: &IndexEntry) -> Option<Pin> {
    let pinned = ImageReference::parse(&entry.registry_reference).ok()?;
    let digest = pinned.digest.clone()?;
    let reference = ImageReference { tag: Some(entry.image_tag.clone()), digest: None, ..pinned };
    Some(Pin {
        reference,
        digest,
        metadata: ImageMetadata {
            build_date: entry.build_date.clone(),
            upstream: entry.upstream.clone(),
            midstream: entry.midstream.clone(),
            vcs_ref: entry.vcs_ref.clone(),
        },
        dynamic_packages: entry.dynamic_packages.clone(),
    })
}

/// The metadata text for `packages/`: the pinned reference with the tag comment above it.
fn package_text_with_pin(package: &Package, pin: &Pin) -> String {
    let value = format!("oci://{}", pin.pinned_reference());
    let rewritten = package.text_with_dynamic_artifact(&value);
    let mut out = String::with_capacity(rewritten.len() + 64);
    let mut previous_was_tag = false;
    for line in rewritten.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("dynamicArtifact: ") && !previous_was_tag {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str("# ");
            out.push_str(&pin.tag_comment());
            out.push('\n');
        }
        previous_was_tag = trimmed.starts_with("# Tag:");
        out.push_str(line);
    }
    out
}

/// One DPDY entry for a default package, or `None` when it has no image to point at.
fn dpdy_entry(package: &Package, pin: Option<&Pin>, disabled: bool, style: DpdyStyle) -> Option<RenderedEntry> {
    let artifact = package.dynamic_artifact.as_deref().unwrap_or_default();
    let wrapper = if artifact.starts_with("./") {
        Some(artifact.to_string())
    } else if style == DpdyStyle::Wrapper {
        Some(wrapper_path(package))
    } else {
        None
    };
    let plugin_config = package.default_config.clone();
    match (wrapper, pin) {
        (Some(wrapper), pin) => {
            let mut comments = Vec::new();
            if let Some(pin) = pin {
                comments.push(format!("- package: oci://{}", pin.pinned_reference()));
                comments.push(pin.tag_comment());
                comments
                    .push("To install from the OCI image instead, uncomment the package line above and".to_string());
                comments.push("delete the package line below (keep disabled and pluginConfig).".to_string());
            }
            Some(RenderedEntry { comments, package: wrapper, disabled, plugin_config })
        }
        (None, Some(pin)) => Some(RenderedEntry {
            comments: vec![pin.tag_comment()],
            package: format!("oci://{}", pin.pinned_reference()),
            disabled,
            plugin_config,
        }),
        (None, None) => None,
    }
}

/// `./dynamic-plugins/dist/<image>`, with `-dynamic` for backend plugins and modules (the
/// folder name the wrapper packages in the RHDH image use).
fn wrapper_path(package: &Package) -> String {
    let image = package.image_name();
    let is_backend = package.role.as_deref().is_some_and(|role| role.starts_with("backend"));
    if is_backend {
        format!("./dynamic-plugins/dist/{image}-dynamic")
    } else {
        format!("./dynamic-plugins/dist/{image}")
    }
}
