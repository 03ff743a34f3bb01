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
    FetchArgs, IndexArgs, OutputFormatArg, PackageArgs, PromoteArgs, PublishArgs, ReleaseNumberArgs, ReleaseSourceArg,
    ReportArgs, StoreArgs, SyncArgs, TagSchemeArg, ValidateArgs,
};
use crate::domain::catalog::DpdyStyle;
use crate::domain::catalog::identity::TagSchemeChoice;
use crate::domain::run_report::{TaskLine, TaskStatus};
use crate::error::InputError;
use crate::formats::relative_path::RelativePath;
use crate::formats::versions::is_version;
use crate::io::registry::{ClientOptions, ImageReference, RegistryPrefix};
use crate::steps::{OutputFormat, Step, StoreSettings};
use crate::steps::{
    artifact, await_build, commit, diff, export, fetch, index, package, promote, publish, release_number, report, sync,
    validate,
};

/// The settings of the subcommand on the command line.
pub fn resolve(command: Command) -> Result<Step, InputError> {
    Ok(match command {
        Command::Artifact(args) => Step::Artifact(artifact_settings(args)?),
        Command::AwaitBuild(args) => Step::AwaitBuild(await_build_settings(args)?),
        Command::Commit(args) => Step::Commit(commit_settings(args)?),
        Command::Diff(args) => Step::Diff(diff_settings(args)),
        Command::Export(args) => Step::Export(export_settings(args)?),
        Command::Fetch(args) => Step::Fetch(fetch_settings(args)?),
        Command::Index(args) => Step::Index(index_settings(args)?),
        Command::Package(args) => Step::Package(package_settings(args)?),
        Command::Promote(args) => Step::Promote(promote_settings(args)?),
        Command::Publish(args) => Step::Publish(publish_settings(args)?),
        Command::ReleaseNumber(args) => Step::ReleaseNumber(release_number_settings(args)?),
        Command::Report(args) => Step::Report(report_settings(args)?),
        Command::Sync(args) => Step::Sync(sync_settings(args)?),
        Command::Validate(args) => Step::Validate(validate_settings(args)?),
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

fn store_settings(args: StoreArgs) -> StoreSettings {
    let StoreArgs { store, client } = args;
    StoreSettings { spec: store.filter(|spec| !spec.trim().is_empty()), client: client_options(client) }
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
    RegistryPrefix::parse(text).map_err(|problem| InputError::usage(format!("{flag} {problem}")))
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
    } = args;
    Ok(fetch::FetchSettings {
        upstream_repos: upstream_repos.unwrap_or_else(|| tree.join("upstream_repos.yml")),
        overlay: tree.join(overlay),
        packages,
        workspaces: non_empty(workspaces),
        plan: plan.unwrap_or_else(|| tree.join("plan.json")),
        max_batches: at_least_one("--max-batches", max_batches)?,
        clone: !(skip_clone || dry_run),
        dry_run,
        results_dir,
        output_format: output_format(format),
        tree,
    })
}

fn export_settings(args: ExportArgs) -> Result<export::ExportSettings, InputError> {
    let ExportArgs {
        tree,
        overlay,
        plan,
        workspaces,
        batches,
        jobs,
        work_dir,
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
    } = args;
    let workspaces = non_empty(workspaces);
    let batches = non_empty(batches);
    if workspaces.is_empty() && batches.is_empty() {
        return Err(InputError::usage("name what to export with --workspace or --batch (`--batch none` for nothing)"));
    }
    let images = match optional(registry) {
        Some(prefix) => Some(export::ImageTarget {
            registry: registry_prefix("--registry", &prefix)?,
            tag_scheme: tag_scheme(scheme),
            store: store_settings(store),
        }),
        None => None,
    };
    let output_tree = output_tree.unwrap_or_else(|| tree.clone());
    Ok(export::ExportSettings {
        overlay: tree.join(overlay),
        plan: plan.unwrap_or_else(|| tree.join("plan.json")),
        workspaces,
        batches,
        jobs: at_least_one("--jobs", jobs)?,
        work_dir,
        report: report.unwrap_or_else(|| output_tree.join("export-report.json")),
        output_tree,
        commands: vec![("install", install_command), ("tsc", tsc_command), ("build", build_command)],
        exporter,
        command_timeout: Duration::from_secs(command_timeout.max(1)),
        max_failed,
        images,
        results_dir,
        output_format: output_format(format),
    })
}

fn index_settings(args: IndexArgs) -> Result<index::IndexSettings, InputError> {
    let IndexArgs {
        overlay,
        packages,
        all_packages,
        versions,
        backstage_version,
        rhdh_version,
        registry,
        community_registry,
        tag_scheme: scheme,
        output,
        plugin_builds,
        dpdy_style,
        jobs,
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
    } = args;
    let packages = if packages.is_empty() {
        ["default.packages.yaml", "rhdh-supported-packages.txt"]
            .iter()
            .map(|name| overlay.join(name))
            .filter(|path| path.exists() || path.is_symlink())
            .collect()
    } else {
        packages
    };
    let mut checked_platforms = Vec::new();
    for platform in non_empty(platforms) {
        let parts: Vec<&str> = platform.split('/').collect();
        if parts.len() != 2 || parts.iter().any(|part| part.is_empty()) {
            return Err(InputError::usage(format!("--platform `{platform}` is not `os/architecture`")));
        }
        checked_platforms.push(platform);
    }
    let backstage_version = version("--backstage-version", backstage_version)?;
    Ok(index::IndexSettings {
        versions: versions.unwrap_or_else(|| overlay.join("versions.json")),
        packages,
        all_packages,
        backstage_version,
        rhdh_version: version("--rhdh-version", rhdh_version)?,
        registry: registry_prefix("--registry", &registry)?,
        community_registry: optional(community_registry)
            .map(|text| registry_prefix("--community-registry", &text))
            .transpose()?,
        tag_scheme: tag_scheme(scheme),
        output,
        plugin_builds,
        dpdy_style: match dpdy_style {
            DpdyStyleArg::Oci => DpdyStyle::Oci,
            DpdyStyleArg::Wrapper => DpdyStyle::Wrapper,
        },
        jobs: at_least_one("--jobs", jobs)?,
        allow_missing,
        platforms: checked_platforms,
        overlay_commit: optional(overlay_commit),
        source_repo: optional(source_repo),
        report,
        results_dir,
        dry_run,
        output_format: output_format(format),
        store: store_settings(store),
        source_date_epoch: source_date_epoch()?,
        export_records,
        overlay,
    })
}

fn release_number_settings(args: ReleaseNumberArgs) -> Result<release_number::ReleaseNumberSettings, InputError> {
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
    let rhdh_version = version("--version", rhdh_version)?;
    let source = match source {
        ReleaseSourceArg::Registry => {
            release_number::ReleaseSource::Registry { image: optional(image), store: store_settings(store) }
        }
        ReleaseSourceArg::Konflux => match (optional(namespace), optional(component)) {
            (Some(namespace), Some(component)) => {
                release_number::ReleaseSource::Konflux { namespace, component, store: store_settings(store) }
            }
            _ => return Err(InputError::usage("--source konflux needs --namespace and --component")),
        },
    };
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
        results_dir,
        output_format: format,
    } = args;
    let mut checked_paths = Vec::new();
    for path in non_empty(paths) {
        checked_paths.push(
            RelativePath::parse(&path).map_err(|problem| InputError::usage(format!("--path `{path}` {problem}")))?,
        );
    }
    let not_author = || InputError::usage(format!("--author `{author}` is not `Name <email>`"));
    let (name, rest) = author.split_once('<').ok_or_else(not_author)?;
    let email = rest.trim_end().strip_suffix('>').ok_or_else(not_author)?;
    let token = std::env::var("GIT_TOKEN")
        .ok()
        .filter(|token| !token.is_empty())
        .or_else(|| std::env::var("GITHUB_TOKEN").ok().filter(|token| !token.is_empty()));
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
        token,
        results_dir,
        output_format: output_format(format),
    })
}

fn artifact_settings(args: ArtifactArgs) -> Result<artifact::ArtifactSettings, InputError> {
    let ArtifactArgs { command, artifact_store, client } = args;
    let action = match command {
        ArtifactCommand::Create { store, result, source } => artifact::ArtifactAction::Create {
            repository: store.trim_start_matches("oci:").to_string(),
            result,
            source,
        },
        ArtifactCommand::Use { to, artifacts } => {
            let mut pairs = Vec::new();
            for argument in artifacts {
                let (uri, destination) = match argument.rsplit_once('=') {
                    Some((uri, destination)) if uri.starts_with("oci:") => {
                        (uri.to_string(), PathBuf::from(destination))
                    }
                    _ => (
                        argument.clone(),
                        to.clone().ok_or_else(|| {
                            InputError::usage(format!("`{argument}` has no `=<folder>` and no --to was given"))
                        })?,
                    ),
                };
                if !uri.is_empty() {
                    pairs.push((uri, destination));
                }
            }
            artifact::ArtifactAction::Use { artifacts: pairs }
        }
    };
    Ok(artifact::ArtifactSettings {
        store: StoreSettings { spec: optional(artifact_store), client: client_options(client) },
        action,
    })
}

fn sync_settings(args: SyncArgs) -> Result<sync::SyncSettings, InputError> {
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
        jobs,
        from,
        dry_run,
        params,
    } = args;
    let absolute = |path: &Path, flag: &str| {
        std::path::absolute(path).map_err(|error| InputError::usage(format!("{flag} {}: {error}", path.display())))
    };
    let store = match store.strip_prefix("oci-layout:") {
        Some(dir) => format!("oci-layout:{}", absolute(Path::new(dir), "--store")?.display()),
        None => store,
    };
    let mut parsed_params = BTreeMap::new();
    for pair in params {
        let (name, value) =
            pair.split_once('=').ok_or_else(|| InputError::usage(format!("--param `{pair}` is not name=value")))?;
        parsed_params.insert(name.to_string(), value.to_string());
    }
    Ok(sync::SyncSettings {
        tree: absolute(&tree, "--tree")?,
        out: absolute(&out, "--out")?,
        store,
        registry,
        index_image,
        exporter,
        install_command,
        tsc_command,
        workspaces: non_empty(workspaces),
        jobs: at_least_one("--jobs", jobs)?,
        from: optional(from),
        dry_run,
        params: parsed_params,
    })
}

fn diff_settings(args: DiffArgs) -> diff::DiffSettings {
    let DiffArgs { old, new, output_format: format, store } = args;
    diff::DiffSettings { old, new, output_format: output_format(format), store: store_settings(store) }
}

fn publish_settings(args: PublishArgs) -> Result<publish::PublishSettings, InputError> {
    let PublishArgs {
        catalog_index,
        tag,
        version: rhdh_version,
        release,
        source_commit,
        labels,
        related_images,
        results_dir,
        output_format: format,
        store,
    } = args;
    Ok(publish::PublishSettings {
        catalog_index,
        tag: image_with_tag("--tag", &tag)?,
        version: optional(rhdh_version),
        release: optional(release),
        source_commit: optional(source_commit),
        labels: pairs("--label", &labels)?,
        related_images,
        results_dir,
        output_format: output_format(format),
        store: store_settings(store),
        created: source_date_epoch()?,
    })
}

fn validate_settings(args: ValidateArgs) -> Result<validate::ValidateSettings, InputError> {
    let ValidateArgs { file, image, no_registry, output_format: format, store } = args;
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
        store: store_settings(store),
    })
}

fn promote_settings(args: PromoteArgs) -> Result<promote::PromoteSettings, InputError> {
    let PromoteArgs { image, tags, rollback_file, rollback, skip_validation, results_dir, store } = args;
    let tags = non_empty(tags);
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
    Ok(promote::PromoteSettings { action, rollback_file, skip_validation, results_dir, store: store_settings(store) })
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
        export_reports,
        output_dir,
        max_bytes,
        page_url,
        branch,
        revision,
        index_image,
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
        export_reports: export_reports.into_iter().filter(|path| !path.as_os_str().is_empty()).collect(),
        output_dir: path(output_dir),
        max_bytes,
        page_url: optional(page_url),
        branch: optional(branch),
        revision: optional(revision),
        index_image: optional(index_image),
        source_date_epoch: match epoch {
            Some(seconds) => Some(seconds),
            None => source_date_epoch()?,
        },
    })
}

fn package_settings(args: PackageArgs) -> Result<package::PackageSettings, InputError> {
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
        store: store_settings(store),
    })
}
