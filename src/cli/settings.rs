//! From the command line to the steps: each `*Args` (clap's view, as close to the flags as
//! possible) becomes the validated settings its step takes. Environment variables the steps need
//! are read here, once; defaults that depend on other values (`<tree>/plan.json`) are filled in
//! here; a value that makes no sense is an [`InputError`] naming the flag. Every `resolve`
//! destructures its `*Args` completely, so a new flag that is not wired through does not compile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    ArtifactArgs, ArtifactCommand, AwaitBuildArgs, ClientArgs, Command, CommitArgs, DiffArgs, DpdyStyleArg, ExportArgs,
    FetchArgs, IndexArgs, OnMissingArg, OutputFormatArg, PackageArgs, PromoteArgs, PublishArgs, ReleaseNumberArgs,
    ReleaseSourceArg, ReportArgs, RhdhRepositoryArgs, StoreArgs, SyncArgs, TagSchemeArg, ValidateArgs, ValueSources,
    VerifyInstallArgs, VerifyStageArg,
};
use crate::domain::catalog::DpdyStyle;
use crate::domain::catalog::identity::TagSchemeChoice;
use crate::domain::catalog::pin::OnMissing;
use crate::domain::run_report::{TaskLine, TaskStatus};
use crate::domain::workspace::plan::{ExportPolicy, ForceExport, image_destination};
use crate::error::InputError;
use crate::formats::relative_path::RelativePath;
use crate::formats::versions::is_version;
use crate::io::archive::Selection;
use crate::io::registry::trusted_artifact::RestoreOptions;
use crate::io::registry::{ClientOptions, ImageReference, RegistryPrefix};
use crate::steps::{OutputFormat, ReleaseGate, Step, StoreSettings};
use crate::steps::{
    artifact, await_build, commit, diff, export, fetch, index, package, promote, publish, release_number, report, sync,
    validate, verify_install,
};

/// The settings of the subcommand on the command line; `sources` says where each value came from.
pub fn resolve(command: Command, sources: &ValueSources) -> Result<Step, InputError> {
    // The extra CA bundle is ambient trust for every registry, git remote and API server a step
    // talks to: a file that is there but holds no certificate stops every step before it starts.
    crate::io::registry::client::extra_ca().map_err(|problem| {
        InputError::usage(problem).with_hint(format!(
            "point {} at a PEM file of CA certificates, or unset it",
            crate::io::registry::client::EXTRA_CA_ENV
        ))
    })?;
    Ok(match command {
        Command::Artifact(args) => Step::Artifact(artifact_settings(args, sources)?),
        Command::AwaitBuild(args) => Step::AwaitBuild(await_build_settings(args)?),
        Command::Commit(args) => Step::Commit(commit_settings(args)?),
        Command::Diff(args) => Step::Diff(diff_settings(args, sources)),
        Command::Export(args) => Step::Export(export_settings(args, sources)?),
        Command::Fetch(args) => Step::Fetch(fetch_settings(args)?),
        Command::Index(args) => Step::Index(index_settings(args, sources)?),
        Command::Package(args) => Step::Package(package_settings(args, sources)?),
        Command::Promote(args) => Step::Promote(promote_settings(args, sources)?),
        Command::Publish(args) => Step::Publish(publish_settings(args, sources)?),
        Command::ReleaseNumber(args) => Step::ReleaseNumber(release_number_settings(args, sources)?),
        Command::Report(args) => Step::Report(report_settings(args)?),
        Command::Sync(args) => Step::Sync(sync_settings(args, sources)?),
        Command::Validate(args) => Step::Validate(validate_settings(args, sources)?),
        Command::VerifyInstall(args) => Step::VerifyInstall(verify_install_settings(args, sources)?),
    })
}

fn output_format(format: OutputFormatArg) -> OutputFormat {
    match format {
        OutputFormatArg::Text => OutputFormat::Text,
        OutputFormatArg::Json => OutputFormat::Json,
    }
}

fn client_options(args: ClientArgs) -> ClientOptions {
    let ClientArgs { insecure_registries, registry_timeout, registry_attempts } = args;
    ClientOptions {
        insecure_registries: insecure_registries
            .iter()
            .map(|host| host.trim().to_string())
            .filter(|host| !host.is_empty())
            .collect(),
        timeout: Duration::from_secs(registry_timeout.max(1)),
        attempts: registry_attempts.max(1),
        ..ClientOptions::default()
    }
}

/// A value that names a registry host: a registry prefix or an image reference, by flag.
struct Named<'a> {
    /// clap's id of the argument.
    id: &'a str,
    flag: &'a str,
    env: Option<&'a str>,
    value: &'a str,
}

impl<'a> Named<'a> {
    fn new(id: &'a str, flag: &'a str, env: Option<&'a str>, value: &'a str) -> Named<'a> {
        Named { id, flag, env, value }
    }
}

/// The registry host (`host[:port]`) a prefix, a reference or a `docker://HOST` names.
fn host_of(value: &str) -> Option<String> {
    let value = value.trim().trim_start_matches("oci:");
    if let Some(host) = value.strip_prefix("docker://") {
        let host = host.trim_end_matches('/');
        return (!host.is_empty()).then(|| host.to_string());
    }
    ImageReference::parse(value)
        .map(|reference| reference.registry)
        .or_else(|_| RegistryPrefix::parse(value).map(|prefix| prefix.registry))
        .ok()
}

/// Where the user named each registry host a step talks to: the `docker://HOST` mirror of
/// `--store` when there is one (every image is read there), else the hosts of `named`.
fn origins(sources: &ValueSources, store: Option<&str>, named: &[Named<'_>]) -> Vec<(String, String)> {
    if let Some(spec) = store.filter(|spec| spec.trim().starts_with("docker://"))
        && let Some(host) = host_of(spec)
    {
        return vec![(host, sources.describe("store", "--store", Some("RHDH_CATALOG_STORE"), spec.trim()))];
    }
    let mut found: Vec<(String, String)> = Vec::new();
    for name in named {
        if let Some(host) = host_of(name.value)
            && !found.iter().any(|(known, _)| *known == host)
        {
            found.push((host, sources.describe(name.id, name.flag, name.env, name.value.trim())));
        }
    }
    found
}

fn store_settings(args: StoreArgs, sources: &ValueSources, named: &[Named<'_>]) -> StoreSettings {
    let StoreArgs { store, client } = args;
    let spec = store.filter(|spec| !spec.trim().is_empty());
    let mut client = client_options(client);
    client.origins = origins(sources, spec.as_deref(), named);
    StoreSettings { spec, client }
}

/// `--jobs`, or for one release the old shared `RHDH_CATALOG_JOBS` when the step's own variable
/// and flag are not set (it meant a different thing in each step, so it is read with a warning).
fn jobs(sources: &ValueSources, value: usize, variable: &str) -> Result<usize, InputError> {
    if sources.is_default("jobs")
        && let Ok(text) = std::env::var("RHDH_CATALOG_JOBS")
        && !text.trim().is_empty()
    {
        let parsed = text
            .trim()
            .parse::<usize>()
            .map_err(|_| InputError::usage(format!("RHDH_CATALOG_JOBS `{text}` is not a number")))?;
        tracing::warn!(
            "RHDH_CATALOG_JOBS is deprecated (it meant something else in each step): set {variable} instead"
        );
        return at_least_one("RHDH_CATALOG_JOBS", parsed);
    }
    at_least_one("--jobs", value)
}

/// The folder of an `oci-layout:` store: the images a step reads (and pushes), which no output
/// of the step may overlap (a `--report` written over a repository's `index.json` loses its tags).
fn layout_store_dir(store: &StoreArgs) -> Option<PathBuf> {
    layout_dir(store.store.as_deref()?)
}

/// The folder an `oci-layout:DIR` store spec names.
fn layout_dir(spec: &str) -> Option<PathBuf> {
    let dir = spec.trim().strip_prefix("oci-layout:")?;
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Values of a repeatable flag, without the empty ones an empty Tekton param produces.
fn non_empty(values: Vec<String>) -> Vec<String> {
    values.into_iter().map(|value| value.trim().to_string()).filter(|value| !value.is_empty()).collect()
}

fn optional(value: Option<String>) -> Option<String> {
    value.map(|value| value.trim().to_string()).filter(|value| !value.is_empty())
}

/// `SOURCE_DATE_EPOCH`, the only time that may reach an output.
fn source_date_epoch() -> Result<Option<i64>, InputError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| InputError::usage(format!("SOURCE_DATE_EPOCH `{text}` is not a number of seconds"))),
        _ => Ok(None),
    }
}

fn version(flag: &str, value: Option<String>) -> Result<Option<String>, InputError> {
    match optional(value) {
        Some(version) if !is_version(&version) => {
            Err(InputError::usage(format!("{flag} `{version}` is not a version like 1.10.0")))
        }
        other => Ok(other),
    }
}

fn image_with_tag(flag: &str, text: &str) -> Result<ImageReference, InputError> {
    let reference = ImageReference::parse(text).map_err(|problem| InputError::usage(format!("{flag} {problem}")))?;
    if reference.tag.is_none() || reference.digest.is_some() {
        return Err(InputError::usage(format!("{flag} `{text}` must name a tag and no digest")));
    }
    Ok(reference)
}

/// `key=value` pairs of a repeatable flag.
fn pairs(flag: &str, values: &[String]) -> Result<BTreeMap<String, String>, InputError> {
    let mut parsed = BTreeMap::new();
    for pair in values {
        if let Some(control) = pair.chars().find(|character| character.is_control()) {
            return Err(InputError::usage(format!(
                "{flag} `{}` holds the control character U+{:04X}; labels and annotations are one line",
                pair.escape_debug(),
                u32::from(control)
            ))
            .with_hint("give each value on one line"));
        }
        match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                parsed.insert(key.trim().to_string(), value.to_string());
            }
            _ => return Err(InputError::usage(format!("{flag} `{pair}` is not key=value"))),
        }
    }
    Ok(parsed)
}

fn at_least_one(flag: &str, value: usize) -> Result<usize, InputError> {
    if value == 0 { Err(InputError::usage(format!("{flag} must be at least 1"))) } else { Ok(value) }
}

fn tag_scheme(choice: TagSchemeArg) -> TagSchemeChoice {
    match choice {
        TagSchemeArg::Auto => TagSchemeChoice::Auto,
        TagSchemeArg::Backstage => TagSchemeChoice::Backstage,
        TagSchemeArg::Rhdh => TagSchemeChoice::Rhdh,
    }
}

fn registry_prefix(flag: &str, text: &str) -> Result<RegistryPrefix, InputError> {
    if let Some((scheme, rest)) = text.split_once("://") {
        return Err(InputError::usage(format!("{flag} `{text}` starts with a URL scheme"))
            .with_hint(format!("drop `{scheme}://`: give the registry prefix as `{rest}`")));
    }
    RegistryPrefix::parse(text).map_err(|problem| InputError::usage(format!("{flag} {problem}")))
}

/// `path` made absolute (relative paths keep working when a step changes folders), refused when it
/// lies inside a `.git` folder: files written or copied there become repository machinery.
/// A path given as an empty string (an unset Tekton param) is no path.
fn optional_path(path: Option<PathBuf>) -> Option<PathBuf> {
    path.filter(|path| !path.as_os_str().is_empty())
}

fn tree_path(flag: &str, path: &Path, must_exist: bool) -> Result<PathBuf, InputError> {
    let absolute = std::path::absolute(path)
        .map_err(|error| InputError::usage(format!("{flag} `{}`: {error}", path.display())))?;
    if must_exist && !absolute.is_dir() {
        return Err(InputError::usage(format!("{flag} `{}` is not an existing folder", path.display()))
            .with_hint("check the path; the step reads it"));
    }
    if absolute.components().any(|component| component.as_os_str().eq_ignore_ascii_case(".git")) {
        return Err(InputError::usage(format!("{flag} `{}` is inside a `.git` folder", path.display()))
            .with_hint("point it at the work tree, not at the repository's own files"));
    }
    Ok(absolute)
}

/// A path a step writes (a folder it replaces or a file it writes), by flag.
type Output<'a> = (&'a str, &'a Path);
/// A path a step reads, by flag; a folder read as a whole counts with everything inside it.
type Input<'a> = (&'a str, &'a Path);

/// Refuses, before anything happens, an output that is, contains or lies inside an input, or that
/// overlaps another output: writing it would replace what the step reads (even `.git`).
fn refuse_overlaps(outputs: &[Output<'_>], inputs: &[Input<'_>]) -> Result<(), InputError> {
    for (position, (output_flag, output)) in outputs.iter().enumerate() {
        if crate::io::fs::resolved(output).parent().is_none() {
            return Err(InputError::usage(format!("{output_flag} `{}` is the root folder", output.display()))
                .with_hint(format!("give {output_flag} a folder of its own")));
        }
        let clash = inputs
            .iter()
            .map(|(flag, path)| (flag, path, "reads"))
            .chain(outputs[position + 1..].iter().map(|(flag, path)| (flag, path, "writes")))
            .find(|(_, path, _)| crate::io::fs::overlap(output, path));
        if let Some((flag, path, verb)) = clash {
            return Err(InputError::usage(format!(
                "{output_flag} `{}` overlaps {flag} `{}`, which the step {verb}: writing one would replace the other",
                output.display(),
                path.display()
            ))
            .with_hint(format!("give {output_flag} a folder of its own, outside {flag}")));
        }
    }
    Ok(())
}

fn release_gate(previous: Option<String>, allow_removals: Vec<String>) -> ReleaseGate {
    ReleaseGate { previous: optional(previous), allowed_removals: non_empty(allow_removals).into_iter().collect() }
}

fn fetch_settings(args: FetchArgs) -> Result<fetch::FetchSettings, InputError> {
    let FetchArgs {
        tree,
        upstream_repos,
        overlay,
        packages,
        workspaces,
        plan,
        max_batches,
        skip_clone,
        dry_run,
        results_dir,
        output_format: format,
        allow_local_repos,
        force_export,
        store,
        registry,
    } = args;
    let tree = tree_path("--tree", &tree, true)?;
    let overlay = tree_path("--overlay-dir", &tree.join(overlay), false)?;
    let image_destination = match optional(registry) {
        Some(prefix) => {
            let prefix = registry_prefix("--registry", &prefix)?;
            Some(image_destination(absolute_store(optional(store))?.as_deref(), &prefix.to_string()))
        }
        None => None,
    };
    let upstream_repos = upstream_repos.unwrap_or_else(|| tree.join("upstream_repos.yml"));
    let plan = plan.unwrap_or_else(|| tree.join(crate::formats::plan::PLAN_FILE));
    refuse_overlaps(&[("--plan", &plan)], &[("--upstream-repos", &upstream_repos)])?;
    Ok(fetch::FetchSettings {
        allow_local_repos,
        upstream_repos,
        overlay,
        packages,
        workspaces: non_empty(workspaces),
        plan,
        max_batches: at_least_one("--max-batches", max_batches)?,
        clone: !(skip_clone || dry_run),
        dry_run,
        results_dir,
        output_format: output_format(format),
        tree,
        policy: ExportPolicy { force: ForceExport::from_values(&force_export), image_destination },
    })
}

/// A `--store` value with an `oci-layout:` folder made absolute (so that steps run from other
/// folders name the same store).
fn absolute_store(store: Option<String>) -> Result<Option<String>, InputError> {
    match store {
        Some(spec) => match spec.trim().strip_prefix("oci-layout:") {
            Some(dir) if !dir.is_empty() => {
                let absolute = std::path::absolute(dir)
                    .map_err(|error| InputError::usage(format!("--store `{spec}`: {error}")))?;
                Ok(Some(format!("oci-layout:{}", absolute.display())))
            }
            _ => Ok(Some(spec)),
        },
        None => Ok(None),
    }
}

fn export_settings(args: ExportArgs, sources: &ValueSources) -> Result<export::ExportSettings, InputError> {
    let ExportArgs {
        tree,
        overlay,
        plan,
        workspaces,
        batches,
        jobs,
        work_dir,
        package_cache,
        output_tree,
        install_command,
        tsc_command,
        build_command,
        exporter,
        command_timeout,
        max_failed,
        registry,
        tag_scheme: scheme,
        report,
        results_dir,
        output_format: format,
        store,
        allow_local_repos,
    } = args;
    let tree = tree_path("--tree", &tree, true)?;
    let overlay = tree_path("--overlay-dir", &tree.join(overlay), false)?;
    let workspaces = non_empty(workspaces);
    let batches = non_empty(batches);
    let jobs = self::jobs(sources, jobs, "RHDH_CATALOG_EXPORT_JOBS")?;
    if workspaces.is_empty() && batches.is_empty() {
        return Err(InputError::usage("name what to export with --workspace or --batch (`--batch none` for nothing)"));
    }
    let images = match optional(registry) {
        Some(prefix) => {
            let named = [Named::new("registry", "--registry", Some("RHDH_CATALOG_REGISTRY"), &prefix)];
            let mut store = store_settings(store, sources, &named);
            store.spec = absolute_store(store.spec)?;
            Some(export::ImageTarget {
                registry: registry_prefix("--registry", &prefix)?,
                tag_scheme: tag_scheme(scheme),
                store,
            })
        }
        None => None,
    };
    let output_tree = output_tree.unwrap_or_else(|| tree.clone());
    let plan = plan.unwrap_or_else(|| tree.join(crate::formats::plan::PLAN_FILE));
    let report = report.unwrap_or_else(|| output_tree.join("export-report.json"));
    let written_workspaces = output_tree.join("workspaces");
    let mut outputs: Vec<Output<'_>> = vec![("--output-tree", &written_workspaces), ("--report", &report)];
    if let Some(dir) = &work_dir {
        outputs.push(("--work-dir", dir));
    }
    let package_cache = match package_cache.filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => Some(
            std::path::absolute(&dir)
                .map_err(|error| InputError::usage(format!("--package-cache {}: {error}", dir.display())))?,
        ),
        None => None,
    };
    if let Some(dir) = &package_cache {
        outputs.push(("--package-cache", dir));
    }
    refuse_overlaps(&outputs, &[("--overlay-dir", &overlay), ("--plan", &plan)])?;
    Ok(export::ExportSettings {
        allow_local_repos,
        overlay,
        plan,
        workspaces,
        batches,
        jobs,
        work_dir,
        report,
        output_tree,
        commands: vec![("install", install_command), ("tsc", tsc_command), ("build", build_command)],
        exporter,
        command_timeout: Duration::from_secs(command_timeout.max(1)),
        max_failed,
        images,
        results_dir,
        output_format: output_format(format),
        package_cache,
    })
}

/// Older branches (release-1.9) kept default.packages.yaml in the RHDH repository: given with
/// --default-packages, or read from --rhdh-repository when the overlay has none.
fn rhdh_default_packages(
    overlay: &Path,
    default_packages: Option<&PathBuf>,
    no_packages_given: bool,
    RhdhRepositoryArgs { rhdh_repository, upstream_repos }: RhdhRepositoryArgs,
    allow_local_repos: bool,
) -> Result<Option<Box<index::RhdhDefaultPackages>>, InputError> {
    let overlay_default = overlay.join("default.packages.yaml");
    let overlay_has_one = overlay_default.exists() || overlay_default.is_symlink();
    Ok(match (default_packages, optional(rhdh_repository)) {
        (None, Some(url)) if no_packages_given && !overlay_has_one => {
            if !crate::io::git::remote_allowed(&url, allow_local_repos) {
                return Err(InputError::usage(format!(
                    "--rhdh-repository `{}` is not an https:// URL",
                    crate::io::git::strip_credentials(&url)
                ))
                .with_hint("give the https:// URL of the RHDH repository; local ones need --allow-local-repos"));
            }
            let upstream_repos = upstream_repos.unwrap_or_else(|| {
                overlay
                    .parent()
                    .map_or_else(|| PathBuf::from("upstream_repos.yml"), |tree| tree.join("upstream_repos.yml"))
            });
            Some(Box::new(index::RhdhDefaultPackages { repository: url, upstream_repos }))
        }
        _ => None,
    })
}

/// `--platform` values: each `os/architecture`.
fn checked_platforms(platforms: Vec<String>) -> Result<Vec<String>, InputError> {
    let mut checked = Vec::new();
    for platform in non_empty(platforms) {
        let parts: Vec<&str> = platform.split('/').collect();
        if parts.len() != 2 || parts.iter().any(|part| part.is_empty()) {
            return Err(InputError::usage(format!("--platform `{platform}` is not `os/architecture`")));
        }
        checked.push(platform);
    }
    Ok(checked)
}

/// The package lists of the supported catalog when none is given: `--default-packages` (else the
/// overlay's `default.packages.yaml`, when there is one) and the overlay's
/// `rhdh-supported-packages.txt`, when there is one.
fn default_package_lists(overlay: &Path, default_packages: Option<PathBuf>) -> Vec<PathBuf> {
    let present = |path: &PathBuf| path.exists() || path.is_symlink();
    let overlay_default = overlay.join("default.packages.yaml");
    let mut defaults: Vec<PathBuf> = Vec::new();
    match default_packages {
        Some(file) => defaults.push(file),
        None if present(&overlay_default) => defaults.push(overlay_default),
        None => {}
    }
    defaults.extend(Some(overlay.join("rhdh-supported-packages.txt")).filter(present));
    defaults
}

fn index_settings(args: IndexArgs, sources: &ValueSources) -> Result<index::IndexSettings, InputError> {
    let IndexArgs {
        overlay,
        packages,
        default_packages,
        rhdh_repository: RhdhRepositoryArgs { rhdh_repository, upstream_repos },
        all_packages,
        versions,
        backstage_version,
        rhdh_version,
        registry,
        community_registry,
        tag_scheme: scheme,
        community_tag_scheme,
        output,
        plugin_builds,
        community_output,
        community_catalog,
        community_packages,
        community_plugin_builds,
        community_report,
        dpdy_style,
        jobs,
        on_missing,
        allow_missing,
        platforms,
        overlay_commit,
        export_records,
        source_repo,
        report,
        results_dir,
        dry_run,
        output_format: format,
        store,
        allow_local_repos,
    } = args;
    let overlay = tree_path("--overlay", &overlay, true)?;
    let default_packages = optional_path(default_packages);
    let rhdh_default_packages = rhdh_default_packages(
        &overlay,
        default_packages.as_ref(),
        packages.is_empty(),
        RhdhRepositoryArgs { rhdh_repository, upstream_repos },
        allow_local_repos,
    )?;
    let lenient_default_packages = default_packages.is_some();
    let packages = if packages.is_empty() { default_package_lists(&overlay, default_packages) } else { packages };
    let checked_platforms = checked_platforms(platforms)?;
    let backstage_version = version("--backstage-version", backstage_version)?;
    let versions = versions.unwrap_or_else(|| overlay.join("versions.json"));
    let (workspaces_dir, entities_dir) = (overlay.join("workspaces"), overlay.join("catalog-entities"));
    let records_dir = export_records.as_ref().map(|tree| tree.join("workspaces"));
    let mut inputs: Vec<Input<'_>> =
        vec![("--overlay", &workspaces_dir), ("--overlay", &entities_dir), ("--versions", &versions)];
    inputs.extend(packages.iter().map(|path| ("--packages", path.as_path())));
    if let Some(dir) = &records_dir {
        inputs.push(("--export-records", dir));
    }
    let community = community_output.filter(|_| community_catalog).map(|community_output| {
        let packages_given = !community_packages.is_empty();
        let packages =
            if packages_given { community_packages } else { vec![overlay.join("rhdh-community-packages.txt")] };
        Box::new(index::CommunityCatalogSettings {
            packages,
            packages_given,
            output: community_output,
            plugin_builds: community_plugin_builds,
            report: community_report,
        })
    });
    if let Some(community) = &community {
        inputs.extend(community.packages.iter().map(|path| ("--community-packages", path.as_path())));
    }
    let mut outputs: Vec<Output<'_>> = vec![("--output", &output), ("--plugin-builds", &plugin_builds)];
    if let Some(path) = &report {
        outputs.push(("--report", path));
    }
    if let Some(community) = &community {
        outputs.push(("--community-output", &community.output));
        outputs.push(("--community-plugin-builds", &community.plugin_builds));
        if let Some(path) = &community.report {
            outputs.push(("--community-report", path));
        }
    }
    if let Some(dir) = &results_dir {
        outputs.push(("--results-dir", dir));
    }
    let store_dir = layout_store_dir(&store);
    if let Some(dir) = &store_dir {
        inputs.push(("--store", dir));
    }
    refuse_overlaps(&outputs, &inputs)?;
    Ok(index::IndexSettings {
        versions,
        packages,
        all_packages,
        backstage_version,
        rhdh_version: version("--rhdh-version", rhdh_version)?,
        registry: registry_prefix("--registry", &registry)?,
        community_registry: optional(community_registry.clone())
            .map(|text| registry_prefix("--community-registry", &text))
            .transpose()?,
        tag_scheme: tag_scheme(scheme),
        community_tag_scheme: tag_scheme(community_tag_scheme),
        output,
        plugin_builds,
        community,
        rhdh_default_packages,
        lenient_default_packages,
        dpdy_style: match dpdy_style {
            DpdyStyleArg::Oci => DpdyStyle::Oci,
            DpdyStyleArg::Wrapper => DpdyStyle::Wrapper,
        },
        jobs: self::jobs(sources, jobs, "RHDH_CATALOG_INDEX_JOBS")?,
        on_missing: match (on_missing, allow_missing) {
            (_, true) | (OnMissingArg::Previous, _) => OnMissing::Previous,
            (OnMissingArg::Fail, false) => OnMissing::Fail,
            (OnMissingArg::OlderTag, false) => OnMissing::OlderTag,
        },
        platforms: checked_platforms,
        overlay_commit: optional(overlay_commit),
        source_repo: optional(source_repo),
        report,
        results_dir,
        dry_run,
        output_format: output_format(format),
        store: store_settings(
            store,
            sources,
            &[
                Named::new("registry", "--registry", Some("RHDH_CATALOG_REGISTRY"), &registry),
                Named::new(
                    "community_registry",
                    "--community-registry",
                    Some("RHDH_CATALOG_COMMUNITY_REGISTRY"),
                    community_registry.as_deref().unwrap_or_default(),
                ),
            ],
        ),
        source_date_epoch: source_date_epoch()?,
        export_records,
        overlay,
        allow_local_repos,
    })
}

fn release_number_settings(
    args: ReleaseNumberArgs,
    sources: &ValueSources,
) -> Result<release_number::ReleaseNumberSettings, InputError> {
    let ReleaseNumberArgs {
        tree,
        version: rhdh_version,
        containerfiles,
        changed,
        source,
        image,
        count_containerfile,
        namespace,
        component,
        results_dir,
        output_format: format,
        store,
    } = args;
    let rhdh_version = version("--rhdh-version", rhdh_version)?;
    if let Some(version) = rhdh_version.as_deref().filter(|version| version.split('.').count() != 3) {
        return Err(InputError::usage(format!("--rhdh-version `{version}` is not a full x.y.z version"))
            .with_hint("release numbers count builds of one RHDH release, e.g. --rhdh-version 1.10.0"));
    }
    let image = optional(image);
    let named =
        [Named::new("image", "--index-image", Some("RHDH_CATALOG_INDEX_IMAGE"), image.as_deref().unwrap_or_default())];
    let store = store_settings(store, sources, &named);
    let source = match source {
        ReleaseSourceArg::Registry => release_number::ReleaseSource::Registry { image, store },
        ReleaseSourceArg::Konflux => match (optional(namespace), optional(component)) {
            (Some(namespace), Some(component)) => {
                release_number::ReleaseSource::Konflux { namespace, component, store }
            }
            _ => return Err(InputError::usage("--release-source konflux needs --namespace and --component")),
        },
    };
    // A missing tree is named as such, not as a folder inside it that is missing too.
    let tree = tree_path("--tree", &tree, true)?;
    Ok(release_number::ReleaseNumberSettings {
        version: rhdh_version,
        containerfiles: tree.join(containerfiles),
        changed,
        source,
        count_containerfile,
        results_dir,
        output_format: output_format(format),
        tree,
    })
}

fn commit_settings(args: CommitArgs) -> Result<commit::CommitSettings, InputError> {
    let CommitArgs {
        tree,
        paths,
        remote,
        branch,
        attempts,
        title,
        author,
        no_push,
        check_push,
        credentials_dir,
        push_within,
        push_secret,
        results_dir,
        output_format: format,
        revision,
        artifacts,
        artifact_store,
        client,
    } = args;
    let push_within = match optional(push_within) {
        None => None,
        Some(text) => Some(crate::domain::push_token::parse_duration(&text).map_err(|problem| {
            InputError::usage(format!("--push-within {problem}"))
                .with_hint("give the run's timeout as Tekton writes it, e.g. --push-within 5h20m")
        })?),
    };
    let revision = optional(revision);
    let artifacts: Vec<String> = artifacts.into_iter().filter(|uri| !uri.trim().is_empty()).collect();
    for uri in &artifacts {
        let pinned = uri
            .strip_prefix("oci:")
            .and_then(|reference| ImageReference::parse(reference).ok())
            .is_some_and(|reference| reference.digest.is_some());
        if !pinned {
            return Err(InputError::usage(format!("--artifacts `{uri}` is not `oci:<repository>@sha256:<digest>`"))
                .with_hint("pass the URIs `artifact create` results hold"));
        }
    }
    if let Some(revision) = &revision
        && !(revision.len() == 40 && revision.bytes().all(|byte| byte.is_ascii_hexdigit()))
    {
        return Err(InputError::usage(format!("--revision `{revision}` is not a commit (40 hexadecimal digits)")));
    }
    let mut checked_paths = Vec::new();
    for path in non_empty(paths) {
        checked_paths.push(
            RelativePath::parse(&path).map_err(|problem| InputError::usage(format!("--path `{path}` {problem}")))?,
        );
    }
    let not_author = || InputError::usage(format!("--author `{author}` is not `Name <email>`"));
    let (name, rest) = author.split_once('<').ok_or_else(not_author)?;
    let email = rest.trim_end().strip_suffix('>').ok_or_else(not_author)?;
    let token = git_token();
    Ok(commit::CommitSettings {
        tree,
        paths: checked_paths,
        remote,
        branch: optional(branch),
        attempts: attempts.max(1),
        title,
        author_name: name.trim().to_string(),
        author_email: email.trim().to_string(),
        push: !no_push,
        check_push,
        push_within,
        push_secret,
        token,
        credentials_dir: optional(credentials_dir).map(PathBuf::from),
        results_dir,
        output_format: output_format(format),
        revision,
        artifacts,
        artifact_store: StoreSettings { spec: optional(artifact_store), client: client_options(client) },
        restore_run: std::env::var("RHDH_CATALOG_ARTIFACT_RUN").ok().filter(|run| !run.is_empty()),
    })
}

/// The push token: `GIT_TOKEN`, else `GITHUB_TOKEN`; an empty value is none.
fn git_token() -> Option<String> {
    std::env::var("GIT_TOKEN")
        .ok()
        .filter(|token| !token.is_empty())
        .or_else(|| std::env::var("GITHUB_TOKEN").ok().filter(|token| !token.is_empty()))
}

fn artifact_settings(args: ArtifactArgs, sources: &ValueSources) -> Result<artifact::ArtifactSettings, InputError> {
    let ArtifactArgs { command, artifact_store, client } = args;
    let mut named_repositories: Vec<(String, String)> = Vec::new();
    let action = match command {
        ArtifactCommand::Create { store, expires_after, result, include, exclude, whole, source } => {
            named_repositories.push(("store".to_string(), store.clone()));
            artifact::ArtifactAction::Create {
                store: store.trim_start_matches("oci:").to_string(),
                expires_after: expires_after_setting(expires_after)?,
                result,
                source,
                selection: Selection {
                    include: path_patterns("--include", include)?,
                    exclude: path_patterns("--exclude", exclude)?,
                    whole: path_patterns("--whole", whole)?,
                },
            }
        }
        ArtifactCommand::Use { to, only, exclude, exact, read_only, for_batch, artifacts } => {
            let mut pairs = Vec::new();
            for argument in artifacts {
                let (uri, destination) = match argument.rsplit_once('=') {
                    Some((uri, destination)) if uri.starts_with("oci:") => {
                        (uri.to_string(), PathBuf::from(destination))
                    }
                    _ => (
                        argument.clone(),
                        to.clone().ok_or_else(|| {
                            InputError::usage(format!("`{argument}` has no `=<folder>` and no --into was given"))
                        })?,
                    ),
                };
                if uri.is_empty() {
                    continue;
                }
                let pinned = uri
                    .strip_prefix("oci:")
                    .and_then(|reference| ImageReference::parse(reference).ok())
                    .is_some_and(|reference| reference.digest.is_some());
                if !pinned {
                    return Err(InputError::usage(format!(
                        "`{argument}` is not `oci:<repository>@sha256:<digest>[=<folder>]`"
                    ))
                    .with_hint("pass the URI an `artifact create` result holds"));
                }
                if destination.as_os_str().is_empty() {
                    return Err(InputError::usage(format!("`{argument}` names an empty folder to unpack into"))
                        .with_hint("write `<uri>=<folder>`, or give the folder with --into"));
                }
                refuse_overlaps(&[("the folder to unpack into", &destination)], &[])?;
                pairs.push((uri, destination));
            }
            let mut only = path_patterns("--only", only)?;
            if for_batch.as_deref() == Some(crate::formats::plan::NO_BATCH) {
                only = vec![crate::formats::plan::PLAN_FILE.to_string()];
            }
            let options = RestoreOptions {
                only,
                exclude: path_patterns("--exclude", exclude)?,
                exact,
                read_only,
                // The local runner's run (see `pipeline::runner`): its shared extractions.
                run: std::env::var("RHDH_CATALOG_ARTIFACT_RUN").ok().filter(|run| !run.is_empty()),
            };
            artifact::ArtifactAction::Use { artifacts: pairs, options }
        }
    };
    if let artifact::ArtifactAction::Use { artifacts, .. } = &action {
        for (uri, _) in artifacts {
            named_repositories.push(("artifacts".to_string(), uri.clone()));
        }
    }
    let spec = optional(artifact_store);
    let mut client = client_options(client);
    let store_spec = spec.as_deref();
    client.origins = match store_spec.filter(|spec| spec.starts_with("docker://")).and_then(host_of) {
        Some(host) => vec![(
            host,
            sources.describe(
                "artifact_store",
                "--artifact-store",
                Some("RHDH_CATALOG_ARTIFACT_STORE"),
                store_spec.unwrap_or_default(),
            ),
        )],
        None => origins(
            sources,
            None,
            &named_repositories
                .iter()
                .map(|(id, value)| {
                    let flag = if id == "store" { "--oci-storage" } else { "the artifact" };
                    Named::new(id, flag, None, value)
                })
                .collect::<Vec<_>>(),
        ),
    };
    Ok(artifact::ArtifactSettings { store: StoreSettings { spec, client }, action })
}

/// Path patterns of `artifact` (`--include`, `--exclude`, `--whole`, `--only`): relative paths
/// inside the folder, `/`-separated, `*` within a segment; no `.`, `..` or empty segment.
fn path_patterns(flag: &str, patterns: Vec<String>) -> Result<Vec<String>, InputError> {
    for pattern in &patterns {
        let trimmed = pattern.trim_end_matches('/');
        let bad = trimmed.is_empty()
            || trimmed.starts_with('/')
            || trimmed.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..");
        if bad {
            return Err(InputError::usage(format!(
                "{flag} `{pattern}` is not a path inside the folder (`a/b`, `*` within a segment)"
            ))
            .with_hint("name a relative path without `.`, `..` or empty segments, e.g. `workspaces/*`"));
        }
    }
    Ok(patterns.into_iter().map(|pattern| pattern.trim_end_matches('/').to_string()).collect())
}

/// `--expires-after`: empty (an empty Tekton param) means none; else `<n><unit>` with the units
/// Quay reads in `quay.expires-after` (s, m, h, d, w).
fn expires_after_setting(value: Option<String>) -> Result<Option<String>, InputError> {
    let Some(value) = optional(value) else { return Ok(None) };
    let last = value.char_indices().last().map_or(0, |(index, _)| index);
    let (number, unit) = value.split_at(last);
    let valid = !number.is_empty()
        && !number.starts_with('0')
        && number.bytes().all(|byte| byte.is_ascii_digit())
        && ["s", "m", "h", "d", "w"].contains(&unit);
    if valid {
        Ok(Some(value))
    } else {
        Err(InputError::usage(format!(
            "--expires-after `{value}` is not a duration Quay reads: a number and s, m, h, d or w, e.g. 1d"
        )))
    }
}

fn sync_settings(args: SyncArgs, sources: &ValueSources) -> Result<sync::SyncSettings, InputError> {
    let SyncArgs {
        tree,
        out,
        store,
        registry,
        index_image,
        exporter,
        install_command,
        tsc_command,
        workspaces,
        force_export,
        on_missing,
        dpdy_style,
        max_failed,
        jobs,
        from,
        dry_run,
        params,
        allow_local_repos,
        credentials_dir,
        registry_auth_file,
        workspace_dirs,
        client,
    } = args;
    let absolute = |path: &Path, flag: &str| {
        std::path::absolute(path).map_err(|error| InputError::usage(format!("{flag} {}: {error}", path.display())))
    };
    let store = absolute_store(Some(store))?.unwrap_or_default();
    let registry_prefix = registry_prefix("--registry", &registry)?;
    let mut parsed_params = BTreeMap::new();
    // The policy flags are the Pipeline's params; `--param` may set them too, but not to something else.
    let flag_params = [
        ("on_missing", "on-missing", "--on-missing", on_missing.param().to_string()),
        ("dpdy_style", "dpdy-style", "--dpdy-style", dpdy_style.param().to_string()),
        ("max_failed", "max-failed", "--max-failed", max_failed.to_string()),
    ];
    for (id, name, _, value) in &flag_params {
        if !sources.is_default(id) {
            parsed_params.insert((*name).to_string(), value.clone());
        }
    }
    for pair in params {
        let (name, value) =
            pair.split_once('=').ok_or_else(|| InputError::usage(format!("--param `{pair}` is not name=value")))?;
        if let Some((_, _, flag, given)) =
            flag_params.iter().find(|(id, param, _, given)| *param == name && !sources.is_default(id) && given != value)
        {
            return Err(InputError::usage(format!("--param `{pair}` contradicts {flag} `{given}`; nothing was run"))
                .with_hint(format!("give {flag} alone")));
        }
        parsed_params.insert(name.to_string(), value.to_string());
    }
    let mut bound = BTreeMap::new();
    for pair in workspace_dirs {
        let Some((name, dir)) = pair.split_once('=').filter(|(name, dir)| !name.is_empty() && !dir.is_empty()) else {
            return Err(InputError::usage(format!("--workspace-dir `{pair}` is not name=DIR")));
        };
        let dir = absolute(Path::new(dir), "--workspace-dir")?;
        if !dir.is_dir() {
            return Err(InputError::usage(format!(
                "--workspace-dir `{pair}`: {} is not a folder; nothing was run",
                dir.display()
            ))
            .with_hint("bind an existing folder, e.g. one holding .git-credentials for git-auth"));
        }
        bound.insert(name.to_string(), dir);
    }
    if let Some(dir) = credentials_dir.filter(|dir| !dir.as_os_str().is_empty()) {
        let dir = absolute(&dir, "--credentials-dir")?;
        if !dir.is_dir() {
            return Err(InputError::usage(format!(
                "--credentials-dir `{}` is not a folder; nothing was run",
                dir.display()
            ))
            .with_hint("give a folder holding .git-credentials, or username and password"));
        }
        if bound.get(sync::GIT_AUTH_WORKSPACE).is_some_and(|other| *other != dir) {
            return Err(InputError::usage(format!(
                "--credentials-dir and --workspace-dir {}=… name different folders; nothing was run",
                sync::GIT_AUTH_WORKSPACE
            ))
            .with_hint("give one of them"));
        }
        bound.insert(sync::GIT_AUTH_WORKSPACE.to_string(), dir);
    }
    let registry_auth_file = match registry_auth_file.filter(|file| !file.as_os_str().is_empty()) {
        Some(file) => {
            let file = absolute(&file, "--registry-auth-file")?;
            if !file.is_file() {
                return Err(InputError::usage(format!(
                    "--registry-auth-file `{}` is not a file; nothing was run",
                    file.display()
                ))
                .with_hint("give the auth.json (or docker config.json) that holds the registry's credentials"));
            }
            Some(file)
        }
        None => None,
    };
    let (tree, out) = (tree_path("--tree", &tree, true)?, absolute(&out, "--out")?);
    if crate::io::fs::resolved(&tree).starts_with(crate::io::fs::resolved(&out)) {
        return Err(InputError::usage(format!(
            "--out `{}` is or contains --tree `{}`: the runs written there would replace the checkout",
            out.display(),
            tree.display()
        ))
        .with_hint("give --out a folder outside the midstream checkout, or inside it (e.g. out/sync)"));
    }
    let mut client = client_options(client);
    client.origins = origins(
        sources,
        Some(&store),
        &[Named::new("registry", "--registry", Some("RHDH_CATALOG_REGISTRY"), &registry)],
    );
    Ok(sync::SyncSettings {
        allow_local_repos,
        tree,
        out,
        store,
        registry_prefix,
        registry,
        index_image,
        exporter,
        install_command,
        tsc_command,
        workspaces: non_empty(workspaces),
        force_export: ForceExport::from_values(&force_export),
        jobs: self::jobs(sources, jobs, "RHDH_CATALOG_SYNC_JOBS")?,
        from: optional(from),
        dry_run,
        params: parsed_params,
        workspace_dirs: bound,
        registry_auth_file,
        client,
        token: git_token(),
    })
}

fn diff_settings(args: DiffArgs, sources: &ValueSources) -> diff::DiffSettings {
    let DiffArgs { old, new, output_format: format, store } = args;
    let named = [Named::new("old", "the older index", None, &old), Named::new("new", "the newer index", None, &new)];
    let store = store_settings(store, sources, &named);
    diff::DiffSettings { old, new, output_format: output_format(format), store }
}

fn publish_settings(args: PublishArgs, sources: &ValueSources) -> Result<publish::PublishSettings, InputError> {
    let PublishArgs {
        catalog_index,
        tag,
        version: rhdh_version,
        release,
        source_commit,
        labels,
        related_images,
        previous,
        allow_removals,
        results_dir,
        extra_catalog,
        output_format: format,
        store,
    } = args;
    if let Some(path) = &related_images {
        refuse_overlaps(&[("--related-images", path)], &[("the catalog-index folder", &catalog_index)])?;
        if let Some(dir) = layout_store_dir(&store) {
            refuse_overlaps(&[("--related-images", path)], &[("--store", &dir)])?;
        }
    }
    Ok(publish::PublishSettings {
        catalog_index,
        tag: image_with_tag("--tag", &tag)?,
        version: label_value("--rhdh-version", optional(rhdh_version), "a version like 1.10.0", is_label_version)?,
        release: label_value("--release", optional(release), "a release like 3", |value| {
            value.len() <= 64
                && value.chars().all(|character| character.is_ascii_alphanumeric() || "._".contains(character))
        })?,
        source_commit: label_value("--source-commit", optional(source_commit), "a git commit id (hex)", |value| {
            (7..=64).contains(&value.len()) && value.chars().all(|character| character.is_ascii_hexdigit())
        })?,
        labels: pairs("--label", &labels)?,
        related_images,
        store: store_settings(
            store,
            sources,
            &[
                Named::new("tag", "--tag", Some("RHDH_CATALOG_TAG"), &tag),
                Named::new(
                    "previous",
                    "--previous",
                    Some("RHDH_CATALOG_PREVIOUS"),
                    previous.as_deref().unwrap_or_default(),
                ),
            ],
        ),
        gate: release_gate(previous, allow_removals),
        results_dir,
        extra_catalog,
        output_format: output_format(format),
        created: source_date_epoch()?,
    })
}

/// A value that becomes an image label: refused (naming the flag, the value shown as code points)
/// unless `valid`, which `what` describes.
fn label_value(
    flag: &str,
    value: Option<String>,
    what: &str,
    valid: impl Fn(&str) -> bool,
) -> Result<Option<String>, InputError> {
    match value {
        Some(value) if !valid(&value) => {
            Err(InputError::usage(format!("{flag} `{}` is not {what}", crate::formats::shown::shown(&value)))
                .with_hint(format!("give {flag} {what}; it becomes a label of the image")))
        }
        value => Ok(value),
    }
}

/// `x.y` or `x.y.z`, with an optional `-pre.release` and `+build` of letters, digits, `.` and `-`.
fn is_label_version(value: &str) -> bool {
    let (rest, build) = value.split_once('+').map_or((value, None), |(rest, build)| (rest, Some(build)));
    let (core, pre) = rest.split_once('-').map_or((rest, None), |(core, pre)| (core, Some(pre)));
    let word = |text: &str| {
        !text.is_empty() && text.chars().all(|character| character.is_ascii_alphanumeric() || ".-".contains(character))
    };
    crate::formats::versions::is_version(core) && !core.contains('-') && pre.is_none_or(word) && build.is_none_or(word)
}

fn validate_settings(args: ValidateArgs, sources: &ValueSources) -> Result<validate::ValidateSettings, InputError> {
    let ValidateArgs { file, image, no_registry, output_format: format, store } = args;
    let store = store_settings(
        store,
        sources,
        &[Named::new("image", "--image", Some("RHDH_CATALOG_IMAGE"), image.as_deref().unwrap_or_default())],
    );
    let target = match (file, optional(image)) {
        (Some(file), None) => validate::ValidateTarget::File(file),
        (None, Some(image)) => validate::ValidateTarget::Image(
            ImageReference::parse(&image).map_err(|problem| InputError::usage(format!("--image {problem}")))?,
        ),
        _ => return Err(InputError::usage("give a dynamic-plugins*.yaml file or --image")),
    };
    Ok(validate::ValidateSettings {
        target,
        registry_checks: !no_registry,
        output_format: output_format(format),
        store,
    })
}

fn verify_install_settings(
    args: VerifyInstallArgs,
    sources: &ValueSources,
) -> Result<verify_install::VerifyInstallSettings, InputError> {
    let VerifyInstallArgs {
        image,
        extra_catalog_images,
        installers,
        stage,
        work_dir,
        timeout,
        report,
        results_dir,
        store,
    } = args;
    let store = store_settings(store, sources, &[Named::new("image", "the image", Some("RHDH_CATALOG_IMAGE"), &image)]);
    let extra_catalogs = crate::domain::install_verification::parse_extra_catalogs(&extra_catalog_images)
        .map_err(|problem| InputError::usage(format!("--extra-catalog-images {problem}")))?;
    for catalog in &extra_catalogs {
        ImageReference::parse(&catalog.image).map_err(|problem| {
            InputError::usage(format!("--extra-catalog-images `{}`: image {problem}", catalog.name))
        })?;
    }
    let stage = match stage {
        VerifyStageArg::All => verify_install::Stage::All,
        VerifyStageArg::Prepare => verify_install::Stage::Prepare,
        VerifyStageArg::Check => verify_install::Stage::Check,
    };
    if stage != verify_install::Stage::All && work_dir.is_none() {
        return Err(InputError::usage(
            "--stage prepare and --stage check need --work-dir (the folder the installer runs in)",
        ));
    }
    let installers = non_empty(installers);
    if stage == verify_install::Stage::All && installers.is_empty() {
        return Err(InputError::usage(
            "name the installer to run with --installer, e.g. --installer \"python3 install-dynamic-plugins.py\"",
        ));
    }
    Ok(verify_install::VerifyInstallSettings {
        image: ImageReference::parse(&image).map_err(|problem| InputError::usage(format!("image {problem}")))?,
        extra_catalogs,
        installers,
        stage,
        work: work_dir,
        timeout: Duration::from_secs(timeout.max(1)),
        report,
        results_dir,
        store,
    })
}

fn promote_settings(args: PromoteArgs, sources: &ValueSources) -> Result<promote::PromoteSettings, InputError> {
    let PromoteArgs {
        image,
        tags,
        rollback_file,
        rollback,
        skip_validation,
        previous,
        allow_removals,
        results_dir,
        store,
    } = args;
    let tags = non_empty(tags);
    let store =
        store_settings(store, sources, &[Named::new("image", "the image", None, image.as_deref().unwrap_or_default())]);
    let action = match (optional(rollback), optional(image)) {
        (Some(_), Some(_)) => {
            return Err(InputError::usage("--rollback restores tags; do not also give an image or --to"));
        }
        (Some(_), None) if !tags.is_empty() => {
            return Err(InputError::usage("--rollback restores tags; do not also give an image or --to"));
        }
        (Some(source), None) => promote::PromoteAction::Rollback { source },
        (None, Some(image)) => {
            if tags.is_empty() {
                return Err(InputError::usage("name the tags to move with --to"));
            }
            let image =
                ImageReference::parse(&image).map_err(|problem| InputError::usage(format!("image {problem}")))?;
            let mut targets = Vec::new();
            for tag in &tags {
                targets.push(
                    ImageReference::parse(&format!("{}:{tag}", image.name()))
                        .map_err(|problem| InputError::usage(format!("--to {problem}")))?,
                );
            }
            promote::PromoteAction::Promote { image, targets }
        }
        (None, None) => return Err(InputError::usage("give the image to promote (or --rollback)")),
    };
    if let Some(dir) = store.spec.as_deref().and_then(layout_dir) {
        refuse_overlaps(&[("--rollback-file", &rollback_file)], &[("--store", &dir)])?;
    }
    Ok(promote::PromoteSettings {
        action,
        rollback_file,
        skip_validation,
        gate: release_gate(previous, allow_removals),
        results_dir,
        store,
    })
}

fn await_build_settings(args: AwaitBuildArgs) -> Result<await_build::AwaitBuildSettings, InputError> {
    let AwaitBuildArgs { sha, namespace, component, event_type, timeout, poll_interval, results_dir } = args;
    if sha.len() < 7 || !sha.chars().all(|character| character.is_ascii_hexdigit()) {
        return Err(InputError::usage(format!("--sha `{sha}` is not a commit SHA")));
    }
    Ok(await_build::AwaitBuildSettings {
        sha,
        namespace: optional(namespace),
        component: optional(component),
        event_type,
        timeout: Duration::from_secs(timeout),
        poll_interval: Duration::from_secs(poll_interval.max(1)),
        results_dir,
    })
}

fn report_settings(args: ReportArgs) -> Result<report::ReportSettings, InputError> {
    let ReportArgs {
        status,
        tasks,
        output,
        results_dir,
        index_report,
        catalog_index,
        build_report,
        build_info,
        plan,
        overlay,
        supported_packages,
        export_reports,
        task_logs,
        rerun_command,
        output_dir,
        max_bytes,
        page_url,
        branch,
        revision,
        index_image,
        community_index_report,
        community_catalog_index,
        community_packages,
        community_published_image,
        source_date_epoch: epoch,
    } = args;
    let mut lines = Vec::new();
    for task in &tasks {
        lines.push(TaskLine::parse(task).map_err(|problem| {
            InputError::usage(problem).with_hint("pass each task as `name=$(tasks.name.status)`")
        })?);
    }
    if max_bytes < report::MIN_MAX_BYTES {
        return Err(InputError::usage(format!(
            "--max-bytes `{max_bytes}` leaves no room for the summary; give at least {}",
            report::MIN_MAX_BYTES
        )));
    }
    // Tekton passes unset params as empty strings.
    let path = |value: Option<PathBuf>| value.filter(|path| !path.as_os_str().is_empty());
    let mut logs = Vec::new();
    for pair in non_empty(task_logs) {
        let Some((task, file)) = pair.split_once('=').filter(|(task, file)| !task.is_empty() && !file.is_empty())
        else {
            return Err(InputError::usage(format!("--task-log `{pair}` is not task=FILE")));
        };
        logs.push((task.to_string(), PathBuf::from(file)));
    }
    Ok(report::ReportSettings {
        status: TaskStatus::parse(&status),
        tasks: lines,
        output,
        results_dir,
        index_report: path(index_report),
        catalog_index: path(catalog_index),
        build_report: path(build_report),
        build_info: path(build_info),
        plan: path(plan),
        overlay: path(overlay),
        supported_packages: supported_packages.into_iter().filter(|path| !path.as_os_str().is_empty()).collect(),
        task_logs: logs,
        rerun_command: optional(rerun_command),
        export_reports: export_reports.into_iter().filter(|path| !path.as_os_str().is_empty()).collect(),
        output_dir: path(output_dir),
        max_bytes,
        page_url: optional(page_url),
        branch: optional(branch),
        revision: optional(revision),
        index_image: optional(index_image),
        community_index_report: path(community_index_report),
        community_catalog_index: path(community_catalog_index),
        community_packages: community_packages.into_iter().filter(|path| !path.as_os_str().is_empty()).collect(),
        community_index_image: optional(community_published_image),
        source_date_epoch: match epoch {
            Some(seconds) => Some(seconds),
            None => source_date_epoch()?,
        },
    })
}

fn package_settings(args: PackageArgs, sources: &ValueSources) -> Result<package::PackageSettings, InputError> {
    let PackageArgs { dist_dynamic, tag, labels, annotations, env, output_format: format, store } = args;
    for pair in &env {
        if !pair.contains('=') || pair.starts_with('=') {
            return Err(InputError::usage(format!("--env `{pair}` is not KEY=value")));
        }
    }
    Ok(package::PackageSettings {
        dist_dynamic,
        tag: image_with_tag("--tag", &tag)?,
        labels: pairs("--label", &labels)?,
        annotations: pairs("--annotation", &annotations)?,
        env,
        output_format: output_format(format),
        store: store_settings(store, sources, &[Named::new("tag", "--tag", Some("RHDH_CATALOG_TAG"), &tag)]),
    })
}
