//! Command-line definitions (clap only): the only module that knows clap. Every option a Tekton
//! step passes also reads an environment variable, so Tasks can use `env:` or `args:`.
//! [`settings`] turns these into the settings the steps take.
//!
//! One meaning per name: a flag or an environment variable means the same thing in every
//! subcommand that has it (the text of its help up to the first `:`, `.`, `;` or ` (` is that
//! meaning, and `tests/cli_help.rs` holds every subcommand to it), an environment variable belongs
//! to one flag, and a boolean variable reads `1/0/true/false/yes/no/on/off`. Renamed flags keep
//! their old spelling as a hidden alias for one release.

// Doc comments here are --help text, read in a terminal: no Markdown backticks around names.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};

pub mod settings;

const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the step ran and found a problem (missing images, failed plugins, validation findings)
  2  bad input or usage: a malformed file or flag, or a registry that cannot work as configured
     (plain HTTP, TLS trust or name, no such host); the message names the file, flag or variable
  3  infrastructure failure a retry may fix (registry, git remote, API server)";

/// Boolean flags that also read an environment variable take the words people write there.
fn boolish() -> BoolishValueParser {
    BoolishValueParser::new()
}

#[derive(Debug, Parser)]
#[command(name = "rhdh-catalog", version, about = "Rebuild the Red Hat Developer Hub dynamic-plugin catalog index, one pipeline step per subcommand", after_help = EXIT_CODES)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormatArg::Text, env = "RHDH_CATALOG_LOG_FORMAT")]
    pub log_format: LogFormatArg,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands in pipeline order: the whole sync, its steps, the release steps, then the
/// tools the steps share.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole sync pipeline (the embedded Tekton YAML) on this machine, with no cluster: fetch, export, index, release-number, commit, report.
    #[command(after_help = EXIT_CODES)]
    Sync(SyncArgs),
    /// Step 1: clone the repositories of upstream_repos.yml into the midstream tree and plan every workspace: export, skip (unchanged) or drop.
    #[command(after_help = EXIT_CODES)]
    Fetch(FetchArgs),
    /// Step 2: export the plan's workspaces (by name or batch): check out, prepare, build, run the plugin exporter, optionally push one image per plugin.
    #[command(after_help = EXIT_CODES)]
    Export(ExportArgs),
    /// Step 3: generate plugin_builds/, dynamic-plugins.default.yaml and catalog-index/ from an overlay tree, pinning every image by digest.
    #[command(after_help = EXIT_CODES)]
    Index(IndexArgs),
    /// Step 4: bump the release number in build/containerfiles/{builder,index}.Containerfile from the builds that exist.
    #[command(after_help = EXIT_CODES)]
    ReleaseNumber(ReleaseNumberArgs),
    /// Step 5: commit the managed paths of the midstream tree and push, rebasing on a moved remote.
    #[command(after_help = EXIT_CODES)]
    Commit(CommitArgs),
    /// Finally: summarise a pipeline run, its task statuses and the status page of every plugin of the overlay.
    #[command(after_help = EXIT_CODES)]
    Report(ReportArgs),
    /// Release 1: find and follow the Konflux build (PipelineRun) of a commit; print IMAGE_URL@IMAGE_DIGEST.
    #[command(
        after_help = "Exit codes:\n  0  the run Succeeded or Completed\n  1  the run Failed or was Cancelled\n  2  bad usage\n  3  PipelineRunTimeout, CreateRunFailed, no run in time, or the API failed"
    )]
    AwaitBuild(AwaitBuildArgs),
    /// Release 2: check a dynamic-plugins*.yaml or an index image as the RHDH installer would, before release.
    #[command(after_help = EXIT_CODES)]
    Validate(ValidateArgs),
    /// Release 3: install an index image with the real RHDH installer(s), every OCI plugin enabled, and check that each plugin landed.
    #[command(after_help = EXIT_CODES)]
    VerifyInstall(VerifyInstallArgs),
    /// Release 4: point floating tags at a validated image, recording the previous digests; or roll them back.
    #[command(after_help = EXIT_CODES)]
    Promote(PromoteArgs),
    /// Build and push the catalog index image from a catalog-index folder, with no container engine (what Konflux builds on a cluster).
    #[command(after_help = EXIT_CODES)]
    Publish(PublishArgs),
    /// Build a dynamic-plugin OCI image from exported dist-dynamic folders and push it, with no container engine.
    #[command(after_help = EXIT_CODES)]
    Package(PackageArgs),
    /// What changed between two catalog indexes (folders or images), per plugin, as markdown or JSON.
    #[command(after_help = EXIT_CODES)]
    Diff(DiffArgs),
    /// Trusted Artifacts: pack a folder into an `oci:` blob (create) or unpack blobs into a folder (use).
    #[command(after_help = EXIT_CODES)]
    Artifact(ArtifactArgs),
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The midstream tree: holds upstream_repos.yml, the destination folders and workspaces/.
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// upstream_repos.yml: the repositories to clone. Default: <tree>/upstream_repos.yml.
    #[arg(long, env = "RHDH_CATALOG_UPSTREAM_REPOS")]
    pub upstream_repos: Option<PathBuf>,
    /// Folder of the overlay tree inside --tree: the destination folder of the overlay repository.
    #[arg(
        long = "overlay-dir",
        alias = "overlay",
        value_name = "DIR",
        default_value = "overlay-repo",
        env = "RHDH_CATALOG_OVERLAY_DIR"
    )]
    pub overlay: PathBuf,
    /// Supported package lists: `<workspace>/<plugin path>` per line (repeatable). Default: <overlay>/rhdh-supported-packages.txt; without any, every plugin is supported.
    #[arg(
        long = "supported-packages",
        alias = "packages",
        value_name = "FILE",
        env = "RHDH_CATALOG_SUPPORTED_PACKAGES",
        value_delimiter = ','
    )]
    pub packages: Vec<PathBuf>,
    /// Only this workspace (repeatable): plan it and leave the others out of the plan.
    #[arg(long = "workspace", env = "RHDH_CATALOG_WORKSPACES", value_delimiter = ',')]
    pub workspaces: Vec<String>,
    /// plan.json: where fetch writes it. Default: <tree>/plan.json.
    #[arg(long, env = "RHDH_CATALOG_PLAN")]
    pub plan: Option<PathBuf>,
    /// Most export batches (Tekton matrix fan-out); workspaces are spread evenly over them.
    #[arg(long, default_value_t = 64, env = "RHDH_CATALOG_MAX_BATCHES")]
    pub max_batches: usize,
    /// Export these workspaces even when unchanged since their last export: a workspace name (repeatable), or no name for every workspace.
    #[arg(long = "force-export", value_name = "WORKSPACE", num_args = 0..=1, default_missing_value = "*", action = clap::ArgAction::Append, env = "RHDH_CATALOG_FORCE_EXPORT", value_delimiter = ',')]
    pub force_export: Vec<String>,
    /// Where images are read or written: `oci-layout:DIR`, `docker://HOST[:PORT]` (a mirror of the named registries), or `docker://` for the named registries themselves. A workspace whose last export pushed elsewhere is exported again.
    #[arg(long, env = "RHDH_CATALOG_STORE")]
    pub store: Option<String>,
    /// Registry prefix the plugin images are named under, e.g. quay.io/rhdh: a workspace whose last export pushed under another prefix is exported again.
    #[arg(long, env = "RHDH_CATALOG_REGISTRY")]
    pub registry: Option<String>,
    /// Plan from the tree as it is, without cloning.
    #[arg(long)]
    pub skip_clone: bool,
    /// Print the plan and change nothing: a table of every workspace's decision; clone nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Directory for Tekton results (batches, rhdh-version, backstage-version), e.g. /tekton/results.
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Stdout as text or JSON: the summary.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    /// Allow file:// and git:// repositories in upstream_repos.yml and source.json (local fixtures and mirrors); without it only https:// is cloned.
    #[arg(long, env = "RHDH_CATALOG_ALLOW_LOCAL_REPOS", value_parser = boolish())]
    pub allow_local_repos: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The midstream tree: plan.json, the overlay folder, and workspaces/ (where prepared sources are written).
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// Folder of the overlay tree inside --tree: the destination folder of the overlay repository.
    #[arg(
        long = "overlay-dir",
        alias = "overlay",
        value_name = "DIR",
        default_value = "overlay-repo",
        env = "RHDH_CATALOG_OVERLAY_DIR"
    )]
    pub overlay: PathBuf,
    /// plan.json: the plan fetch wrote. Default: <tree>/plan.json.
    #[arg(long, env = "RHDH_CATALOG_PLAN")]
    pub plan: Option<PathBuf>,
    /// Only this workspace (repeatable): export it, whatever the plan decided.
    #[arg(long = "workspace", env = "RHDH_CATALOG_WORKSPACES", value_delimiter = ',')]
    pub workspaces: Vec<String>,
    /// Batch id of the plan to export (repeatable), as the Tekton matrix passes it.
    #[arg(long = "batch", env = "RHDH_CATALOG_BATCH", value_delimiter = ',')]
    pub batches: Vec<String>,
    /// How many run at the same time: workspaces exported in parallel.
    #[arg(long, default_value_t = 2, env = "RHDH_CATALOG_EXPORT_JOBS")]
    pub jobs: usize,
    /// Folder the step works in: where upstream sources are checked out and built. Default: a temporary folder.
    #[arg(long, env = "RHDH_CATALOG_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Package cache shared by every workspace and run: Yarn's and npm's downloads, and each workspace's installed node_modules kept under the hash of its lockfile and package.json files, so an export whose lockfile did not change downloads and installs nothing. Empty: none.
    #[arg(long, env = "RHDH_CATALOG_PACKAGE_CACHE")]
    pub package_cache: Option<PathBuf>,
    /// Where prepared workspaces (`workspaces/<ws>/`) and the report go. Default: the tree itself; a separate folder makes a small artifact to merge later.
    #[arg(long, env = "RHDH_CATALOG_OUTPUT_TREE")]
    pub output_tree: Option<PathBuf>,
    /// Install command, run in each exported workspace's root (empty to skip).
    #[arg(long, default_value = "yarn install", env = "RHDH_CATALOG_INSTALL_COMMAND")]
    pub install_command: String,
    /// Type-check command, run in each exported workspace's root (empty to skip).
    #[arg(long, default_value = "yarn tsc", env = "RHDH_CATALOG_TSC_COMMAND")]
    pub tsc_command: String,
    /// Build command, run in each exported workspace's root (empty to skip; the exporter builds backend plugins itself).
    #[arg(long, default_value = "", env = "RHDH_CATALOG_BUILD_COMMAND")]
    pub build_command: String,
    /// The plugin exporter: `<exporter> plugin export <flags>` runs in each plugin folder.
    #[arg(long, default_value = "npx --yes @red-hat-developer-hub/cli@1.9.1", env = "RHDH_CATALOG_EXPORTER")]
    pub exporter: String,
    /// Seconds before one command (install, build, one export) is stopped.
    #[arg(long, default_value_t = 3600, env = "RHDH_CATALOG_COMMAND_TIMEOUT")]
    pub command_timeout: u64,
    /// Failed plugins allowed before an export fails (exit 1).
    #[arg(long, default_value_t = 0, env = "RHDH_CATALOG_MAX_FAILED")]
    pub max_failed: usize,
    /// Registry prefix the plugin images are named under, e.g. quay.io/rhdh: with it, every exported plugin is pushed as an image (to --store).
    #[arg(long, env = "RHDH_CATALOG_REGISTRY")]
    pub registry: Option<String>,
    /// How image tags are formed from the plugin version and the RHDH and Backstage versions: those of the plan.
    #[arg(long, value_enum, default_value_t = TagSchemeArg::Auto, env = "RHDH_CATALOG_TAG_SCHEME")]
    pub tag_scheme: TagSchemeArg,
    /// Where to write this step's JSON report: every workspace's and plugin's outcome. Default: <tree>/export-report.json.
    #[arg(long, env = "RHDH_CATALOG_REPORT")]
    pub report: Option<PathBuf>,
    /// Directory for Tekton results (status), e.g. /tekton/results.
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Stdout as text or JSON: the summary.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Allow file:// and git:// repositories in upstream_repos.yml and source.json (local fixtures and mirrors); without it only https:// is cloned.
    #[arg(long, env = "RHDH_CATALOG_ALLOW_LOCAL_REPOS", value_parser = boolish())]
    pub allow_local_repos: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The midstream tree: the checkout to sync (a git work tree with upstream_repos.yml).
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// Folder for task runs, artifacts, saved outcomes, the report and the status page.
    #[arg(long, default_value = "out/sync", env = "RHDH_CATALOG_SYNC_OUT")]
    pub out: PathBuf,
    /// Where images are read or written: the plugin images the run pushes and the index reads; `oci-layout:DIR`, `docker://HOST[:PORT]` (a mirror of --registry), or `docker://` (the registry --registry names).
    #[arg(long, default_value = "oci-layout:out/registry", env = "RHDH_CATALOG_STORE")]
    pub store: String,
    /// Registry prefix the plugin images are named under, e.g. quay.io/rhdh: the names written in the index.
    #[arg(long, default_value = "quay.io/rhdh", env = "RHDH_CATALOG_REGISTRY")]
    pub registry: String,
    /// Repository of the catalog index image, e.g. quay.io/rhdh/plugin-catalog-index: its builds give the release number.
    #[arg(long, default_value = "quay.io/rhdh/plugin-catalog-index", env = "RHDH_CATALOG_INDEX_IMAGE")]
    pub index_image: String,
    /// The plugin exporter: `<exporter> plugin export <flags>` runs in each plugin folder.
    #[arg(long, default_value = "npx --yes @red-hat-developer-hub/cli@1.9.1", env = "RHDH_CATALOG_EXPORTER")]
    pub exporter: String,
    /// Install command, run in each exported workspace's root (empty to skip).
    #[arg(long, default_value = "yarn install", env = "RHDH_CATALOG_INSTALL_COMMAND")]
    pub install_command: String,
    /// Type-check command, run in each exported workspace's root (empty to skip).
    #[arg(long, default_value = "yarn tsc", env = "RHDH_CATALOG_TSC_COMMAND")]
    pub tsc_command: String,
    /// Only this workspace (repeatable): sync it and leave the others as they are.
    #[arg(long = "workspace")]
    pub workspaces: Vec<String>,
    /// Export these workspaces even when unchanged since their last export: a workspace name (repeatable), or no name for every workspace.
    #[arg(long = "force-export", value_name = "WORKSPACE", num_args = 0..=1, default_missing_value = "*", action = clap::ArgAction::Append, env = "RHDH_CATALOG_FORCE_EXPORT", value_delimiter = ',')]
    pub force_export: Vec<String>,
    /// What to do when a plugin's requested tag does not exist (the index step; an unknown answer always fails with exit 3).
    #[arg(long, value_enum, default_value_t = OnMissingArg::Fail, env = "RHDH_CATALOG_ON_MISSING")]
    pub on_missing: OnMissingArg,
    /// How dynamic-plugins.default.yaml lists the plugins.
    #[arg(long, value_enum, default_value_t = DpdyStyleArg::Oci, env = "RHDH_CATALOG_DPDY_STYLE")]
    pub dpdy_style: DpdyStyleArg,
    /// Failed plugins allowed before an export fails (exit 1): per export batch.
    #[arg(long, default_value_t = 0, env = "RHDH_CATALOG_MAX_FAILED")]
    pub max_failed: usize,
    /// How many run at the same time: export TaskRuns (matrix combinations).
    #[arg(long, default_value_t = 4, env = "RHDH_CATALOG_SYNC_JOBS")]
    pub jobs: usize,
    /// Re-run from this task, reusing the saved results of the tasks before it.
    #[arg(long)]
    pub from: Option<String>,
    /// Print the plan and change nothing: the task order, and what would be exported or skipped and why (fetched into a scratch copy).
    #[arg(long)]
    pub dry_run: bool,
    /// Pipeline param `name=value` (repeatable), e.g. dpdy-style=wrapper.
    #[arg(long = "param")]
    pub params: Vec<String>,
    /// Allow file:// and git:// repositories in upstream_repos.yml and source.json (local fixtures and mirrors); without it only https:// is cloned.
    #[arg(long, env = "RHDH_CATALOG_ALLOW_LOCAL_REPOS", value_parser = boolish())]
    pub allow_local_repos: bool,
    /// Folder of git credentials in the git-clone-oci-ta basic-auth layout: .git-credentials, or username and password (the same as --workspace-dir git-auth=DIR).
    #[arg(long, value_name = "DIR", env = "RHDH_CATALOG_GIT_CREDENTIALS_DIR")]
    pub credentials_dir: Option<PathBuf>,
    /// Registry credentials file (the containers auth.json or docker config.json layout): the steps read it as REGISTRY_AUTH_FILE.
    #[arg(long, value_name = "FILE", env = "REGISTRY_AUTH_FILE")]
    pub registry_auth_file: Option<PathBuf>,
    /// Bind a folder to a workspace of the Pipeline, `name=DIR` (repeatable), e.g. git-auth=DIR holding .git-credentials, or username and password, for a private midstream.
    #[arg(long = "workspace-dir", value_name = "NAME=DIR")]
    pub workspace_dirs: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The catalog-index folder: what `index` wrote.
    #[arg(default_value = "catalog-index", env = "RHDH_CATALOG_CATALOG_INDEX")]
    pub catalog_index: PathBuf,
    /// Image reference to push, with a tag: e.g. quay.io/rhdh/plugin-catalog-index:1.10.0-3.
    #[arg(long, short = 't', env = "RHDH_CATALOG_TAG")]
    pub tag: String,
    /// RHDH version x.y.z: the `version` label.
    #[arg(long = "rhdh-version", alias = "version", value_name = "VERSION", env = "RHDH_CATALOG_RHDH_VERSION")]
    pub version: Option<String>,
    /// Release number: the `release` label.
    #[arg(long, env = "RHDH_CATALOG_RELEASE")]
    pub release: Option<String>,
    /// Commit of the midstream the index was built from (`vcs-ref` and `org.opencontainers.image.revision`).
    #[arg(long, env = "RHDH_CATALOG_SOURCE_COMMIT")]
    pub source_commit: Option<String>,
    /// Extra label `key=value` (repeatable): on the index image.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Write related-images.txt (every image of the index plus the index image, by digest) here.
    #[arg(long, env = "RHDH_CATALOG_RELATED_IMAGES")]
    pub related_images: Option<PathBuf>,
    /// The index released before: a catalog-index folder or an image; the new one may not lose its plugins.
    #[arg(long, env = "RHDH_CATALOG_PREVIOUS")]
    pub previous: Option<String>,
    /// An image name the new index may drop (repeatable); a renamed plugin needs its old name here.
    #[arg(long = "allow-removal", env = "RHDH_CATALOG_ALLOW_REMOVALS", value_delimiter = ',')]
    pub allow_removals: Vec<String>,
    /// Directory for Tekton results (IMAGE_URL, IMAGE_DIGEST).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Publish an extra catalog index image (RHDH reads it through EXTRA_CATALOG_INDEX_IMAGES): no dynamic-plugins.default.yaml needed, catalog-entities/extensions/ required.
    #[arg(long, env = "RHDH_CATALOG_EXTRA_CATALOG", value_parser = boolish())]
    pub extra_catalog: bool,
    /// Stdout as text or JSON: the pushed reference.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A dynamic-plugins*.yaml (its includes are read relative to its folder).
    #[arg(conflicts_with = "image")]
    pub file: Option<PathBuf>,
    /// The catalog index image: validated instead of a file (its dynamic-plugins.default.yaml and catalog entities).
    #[arg(long, env = "RHDH_CATALOG_IMAGE")]
    pub image: Option<String>,
    /// Only the static rules: do not contact the registry.
    #[arg(long)]
    pub no_registry: bool,
    /// Stdout as text or JSON: the findings.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct VerifyInstallArgs {
    /// The catalog index image: installed from, e.g. quay.io/rhdh/plugin-catalog-index@sha256:…
    #[arg(env = "RHDH_CATALOG_IMAGE")]
    pub image: String,
    /// Extra catalog index images, as RHDH's EXTRA_CATALOG_INDEX_IMAGES names them (`name=image`, comma-separated); the installer gets them and their entities must land where it extracts them.
    #[arg(long, env = "RHDH_CATALOG_EXTRA_CATALOG_INDEX_IMAGES", default_value = "")]
    pub extra_catalog_images: String,
    /// Installer command, run as `<command> <plugin root>` in a folder holding dynamic-plugins.yaml (repeatable), e.g. "python3 install-dynamic-plugins.py".
    #[arg(long = "installer")]
    pub installers: Vec<String>,
    /// Which part to run; a Tekton Task runs prepare, then the installer in the RHDH image, then check.
    #[arg(long, value_enum, default_value_t = VerifyStageArg::All)]
    pub stage: VerifyStageArg,
    /// Folder the step works in: where the installer runs and leaves its plugins (required for prepare and check). Default: a temporary folder.
    #[arg(long, env = "RHDH_CATALOG_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Seconds one installer may run.
    #[arg(
        long = "installer-timeout",
        alias = "timeout",
        value_name = "SECONDS",
        default_value_t = 1800,
        env = "RHDH_CATALOG_INSTALLER_TIMEOUT"
    )]
    pub timeout: u64,
    /// Where to write this step's JSON report: each installer's per-plugin verdicts.
    #[arg(long, env = "RHDH_CATALOG_REPORT")]
    pub report: Option<PathBuf>,
    /// Directory for Tekton results (summary).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyStageArg {
    /// Prepare, run every installer, check each.
    All,
    /// Write dynamic-plugins.yaml and the expected plugin folders into --work-dir.
    Prepare,
    /// Judge what the installer left in --work-dir.
    Check,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The catalog index image: promoted, `repository@sha256:…` (or `repository:tag`).
    pub image: Option<String>,
    /// Floating tags to point at it, e.g. next, 1.10 (repeatable).
    #[arg(long = "to", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Where to record each tag's previous digest.
    #[arg(long, default_value = "promote-rollback.json", env = "RHDH_CATALOG_ROLLBACK_FILE")]
    pub rollback_file: PathBuf,
    /// Restore the tags recorded in a rollback file (or the `rollback` result's JSON, given inline) instead of promoting.
    #[arg(long, env = "RHDH_CATALOG_ROLLBACK")]
    pub rollback: Option<String>,
    /// Promote without validating the image first (an extra catalog index image has no dynamic-plugins.default.yaml to validate).
    #[arg(long, env = "RHDH_CATALOG_SKIP_VALIDATION", value_parser = boolish())]
    pub skip_validation: bool,
    /// The index released before: a catalog-index folder or an image; default: the image the first --to tag points at now.
    #[arg(long, env = "RHDH_CATALOG_PREVIOUS")]
    pub previous: Option<String>,
    /// An image name the new index may drop (repeatable); a renamed plugin needs its old name here.
    #[arg(long = "allow-removal", env = "RHDH_CATALOG_ALLOW_REMOVALS", value_delimiter = ',')]
    pub allow_removals: Vec<String>,
    /// Directory for Tekton results (rollback: the recorded previous digests, as JSON).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct AwaitBuildArgs {
    /// The commit whose build to wait for.
    #[arg(long, env = "RHDH_CATALOG_SHA")]
    pub sha: String,
    /// Kubernetes namespace of the Konflux tenant: where its PipelineRuns are. Default: the client configuration's namespace.
    #[arg(long, env = "RHDH_CATALOG_NAMESPACE")]
    pub namespace: Option<String>,
    /// Konflux component: the label appstudio.openshift.io/component of its PipelineRuns.
    #[arg(long, env = "RHDH_CATALOG_COMPONENT")]
    pub component: Option<String>,
    /// Pipelines-as-Code event type.
    #[arg(long, default_value = "push", env = "RHDH_CATALOG_EVENT_TYPE")]
    pub event_type: String,
    /// Seconds to wait in all.
    #[arg(long, default_value_t = 3600, env = "RHDH_CATALOG_TIMEOUT")]
    pub timeout: u64,
    /// Seconds between looks while the run does not exist yet (doubling, at most 60).
    #[arg(long, default_value_t = 10, env = "RHDH_CATALOG_POLL_INTERVAL")]
    pub poll_interval: u64,
    /// Directory for Tekton results (IMAGE_URL, IMAGE_DIGEST).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older index: a catalog-index folder or an image reference.
    pub old: String,
    /// The newer index: a catalog-index folder or an image reference.
    pub new: String,
    /// Stdout as text or JSON: the difference (text is markdown).
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The aggregate status, `$(tasks.status)`: Succeeded, Completed, Failed; without it, None (unknown).
    #[arg(long, default_value = "None", hide_default_value = true)]
    pub status: String,
    /// `name=status` of each task, e.g. `export=$(tasks.export.status)`.
    pub tasks: Vec<String>,
    /// Also write the markdown printed on stdout (cut to --max-bytes, a pull-request comment) to this file.
    #[arg(long = "comment-file", alias = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Directory for Tekton results (summary).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// The index-report.json that `index --report` wrote.
    #[arg(long)]
    pub index_report: Option<PathBuf>,
    /// The catalog-index folder: index.json, dynamic-plugins.default.yaml, build-info.json and build-report.json are read from it.
    #[arg(long)]
    pub catalog_index: Option<PathBuf>,
    /// The build-report.json to read instead of the catalog-index folder's.
    #[arg(long)]
    pub build_report: Option<PathBuf>,
    /// The build-info.json to read instead of the catalog-index folder's.
    #[arg(long)]
    pub build_info: Option<PathBuf>,
    /// plan.json: the plan fetch wrote (which workspaces were exported, skipped or dropped).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// The overlay tree: every plugin of every plugins-list.yaml gets a row, with the npm name and version of its metadata, even when no other step reached it.
    #[arg(long)]
    pub overlay: Option<PathBuf>,
    /// Supported package lists: `<workspace>/<plugin path>` per line (repeatable). Default: <overlay>/rhdh-supported-packages.txt; without any, every plugin is supported.
    #[arg(
        long = "supported-packages",
        value_name = "FILE",
        env = "RHDH_CATALOG_SUPPORTED_PACKAGES",
        value_delimiter = ','
    )]
    pub supported_packages: Vec<PathBuf>,
    /// An export report, or a folder of them (its *.json and export-reports/*.json files); repeatable.
    #[arg(long = "export-report")]
    pub export_reports: Vec<PathBuf>,
    /// The log of a task that failed, `task=FILE` (repeatable): the page names it and quotes its last lines.
    #[arg(long = "task-log", value_name = "TASK=FILE")]
    pub task_logs: Vec<String>,
    /// The command that runs this pipeline again, e.g. the rhdh-catalog sync command line: the page's fix commands are made from it (with --force-export).
    #[arg(long)]
    pub rerun_command: Option<String>,
    /// Write the status page here: status.html (self-contained) and status.md (the same facts).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// The most bytes of markdown to print (a comment limit); whole rows that do not fit are left to the full page.
    #[arg(long, default_value_t = crate::domain::status::markdown::DEFAULT_MAX_BYTES)]
    pub max_bytes: usize,
    /// Where the full page can be read, named in the markdown when it is cut.
    #[arg(long)]
    pub page_url: Option<String>,
    /// The midstream branch: the one the run built.
    #[arg(long)]
    pub branch: Option<String>,
    /// The midstream commit the run built.
    #[arg(long)]
    pub revision: Option<String>,
    /// The catalog index image this run published, <repository>[:tag][@sha256:...] (default: the build report's).
    #[arg(long = "published-image", alias = "index-image", value_name = "REFERENCE")]
    pub index_image: Option<String>,
    /// The community catalog's index-report.json that `index --community-report` wrote: the page gets a section for the extra catalog index RHDH reads through EXTRA_CATALOG_INDEX_IMAGES.
    #[arg(long, value_name = "FILE")]
    pub community_index_report: Option<PathBuf>,
    /// The community catalog-index folder that `index --community-output` wrote: index.json, build-info.json and build-report.json are read from it.
    #[arg(long, value_name = "DIR")]
    pub community_catalog_index: Option<PathBuf>,
    /// Package lists of the community catalog; repeatable. Default: <overlay>/rhdh-community-packages.txt; each plugin they name gets a row in the community section, even when no step reached it.
    #[arg(
        long = "community-packages",
        value_name = "FILE",
        env = "RHDH_CATALOG_COMMUNITY_PACKAGES",
        value_delimiter = ','
    )]
    pub community_packages: Vec<PathBuf>,
    /// The community catalog index image this run published, <repository>[:tag][@sha256:...].
    #[arg(long, value_name = "REFERENCE")]
    pub community_published_image: Option<String>,
    /// When the inputs were made, in seconds since the epoch (default: SOURCE_DATE_EPOCH, else build-info.json's build-date); ages count from it.
    #[arg(long)]
    pub source_date_epoch: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ArtifactArgs {
    #[command(subcommand)]
    pub command: ArtifactCommand,
    /// Where artifact blobs are kept: `oci-layout:DIR`, `docker://HOST[:PORT]`, or the registry the URI names (default).
    #[arg(long, global = true, env = "RHDH_CATALOG_ARTIFACT_STORE")]
    pub artifact_store: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Pack SOURCE into a blob of the repository --oci-storage; write `oci:<repository>@sha256:<digest>` to --result (or stdout).
    Create {
        /// Repository for the blob and tag for its manifest, e.g. `$(params.ociStorage)` = quay.io/org/app:<revision>.fetch; without a tag the manifest is tagged sha256-<digest>.
        #[arg(long = "oci-storage", alias = "store", value_name = "REPOSITORY")]
        store: String,
        /// Lifetime of the tag on registries that honour the `quay.expires-after` annotation, e.g. 1d or 5h; empty means no expiry.
        #[arg(long, env = "RHDH_CATALOG_ARTIFACT_EXPIRES_AFTER")]
        expires_after: Option<String>,
        /// File to write the URI to, e.g. `$(results.SOURCE_ARTIFACT.path)`.
        #[arg(long)]
        result: Option<PathBuf>,
        /// Pack only what these paths of SOURCE name (repeatable; `*` matches within one path segment); with --exclude, they are packed even inside an excluded folder.
        #[arg(long)]
        include: Vec<String>,
        /// Leave out what these paths name (paths of SOURCE; repeatable; `*` matches within one path segment).
        #[arg(long)]
        exclude: Vec<String>,
        /// Mark the folders these paths name as whole (repeatable; `*` matches within one path segment): unpacked, each replaces the folder of the same path, so files removed from it do not survive.
        #[arg(long)]
        whole: Vec<String>,
        /// The folder to pack.
        source: PathBuf,
    },
    /// Unpack artifacts: `oci:<ref>@sha256:<digest>=<folder>` pairs, or plain URIs into --into. Empty URIs are skipped.
    Use {
        /// Folder for URIs given without `=<folder>`.
        #[arg(long = "into", alias = "to", value_name = "FOLDER")]
        to: Option<PathBuf>,
        /// Unpack only what these paths name (repeatable; `*` matches within one path segment); with --exclude, they are unpacked even inside an excluded folder.
        #[arg(long)]
        only: Vec<String>,
        /// Leave out what these paths name (repeatable; `*` matches within one path segment).
        #[arg(long)]
        exclude: Vec<String>,
        /// Make each folder exactly what its artifacts hold: files they do not hold are removed (files that already hold the right bytes are never written again).
        #[arg(long, env = "RHDH_CATALOG_ARTIFACT_EXACT", value_parser = boolish())]
        exact: bool,
        /// The steps after this one only read the folders: with an OCI layout --artifact-store, one extraction per set of artifacts is shared and each folder becomes a link to it.
        #[arg(long)]
        read_only: bool,
        /// The export batch the folders are unpacked for (`export --batch ID`): for `none`, the batch of a plan with nothing to export, only plan.json is unpacked, which is all that export reads then. It chooses what is unpacked, so it takes no --only or --exclude.
        #[arg(long, value_name = "ID", conflicts_with_all = ["only", "exclude"])]
        for_batch: Option<String>,
        /// Artifacts to unpack, in order (later ones overwrite files of earlier ones).
        artifacts: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReleaseSourceArg {
    /// Tags `<version>-<n>` and the `release` label of the index image repository.
    Registry,
    /// Konflux Snapshots of the component (appstudio.redhat.com/v1alpha1) and their images' labels.
    Konflux,
}

#[derive(Debug, Args)]
pub struct ReleaseNumberArgs {
    /// The midstream tree: build/containerfiles/ and upstream_repos.yml are read from it.
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// RHDH version x.y.z: the builds of this version count. Default: rhdh.version of <tree>/upstream_repos.yml.
    #[arg(long = "rhdh-version", alias = "version", value_name = "VERSION", env = "RHDH_CATALOG_RHDH_VERSION")]
    pub version: Option<String>,
    /// Folder of builder.Containerfile and index.Containerfile, relative to the tree.
    #[arg(long, default_value = "build/containerfiles", env = "RHDH_CATALOG_CONTAINERFILES")]
    pub containerfiles: PathBuf,
    /// Whether the index changed (the index step's `changed` result); false reports the current number and changes nothing.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "RHDH_CATALOG_CHANGED", value_parser = boolish())]
    pub changed: bool,
    /// Where the builds are counted: the index image repository's tags and labels, or Konflux Snapshots.
    #[arg(long = "release-source", alias = "source", value_name = "SOURCE", value_enum, default_value_t = ReleaseSourceArg::Registry, env = "RHDH_CATALOG_RELEASE_SOURCE")]
    pub source: ReleaseSourceArg,
    /// Repository of the catalog index image, e.g. quay.io/rhdh/plugin-catalog-index: its builds count (registry source).
    #[arg(long = "index-image", alias = "image", value_name = "INDEX_IMAGE", env = "RHDH_CATALOG_INDEX_IMAGE")]
    pub image: Option<String>,
    /// Also count the release already in the Containerfiles (for repositories whose builds are not all in the registry yet).
    #[arg(long, env = "RHDH_CATALOG_COUNT_CONTAINERFILE", value_parser = boolish())]
    pub count_containerfile: bool,
    /// Kubernetes namespace of the Konflux tenant: where its Snapshots are (konflux source).
    #[arg(long, env = "RHDH_CATALOG_NAMESPACE")]
    pub namespace: Option<String>,
    /// Konflux component: the one of the index image (konflux source).
    #[arg(long, env = "RHDH_CATALOG_COMPONENT")]
    pub component: Option<String>,
    /// Directory for Tekton results (release, version).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Stdout as text or JSON: the summary.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// The midstream tree: a git work tree, at the top of its repository.
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// Paths to stage, relative to the tree (repeatable). Default: the destination folders of upstream_repos.yml, workspaces/, build/, plugin_builds/, upstream_repos.yml, catalog-index/.
    #[arg(long = "path", env = "RHDH_CATALOG_COMMIT_PATHS", value_delimiter = ',')]
    pub paths: Vec<String>,
    /// Remote to push to.
    #[arg(long, default_value = "origin", env = "RHDH_CATALOG_REMOTE")]
    pub remote: String,
    /// The midstream branch: the one pushed to. Default: the current branch.
    #[arg(long, env = "RHDH_CATALOG_BRANCH")]
    pub branch: Option<String>,
    /// Push attempts; after a rejection the commit is rebased on the moved remote.
    #[arg(long, default_value_t = 3, env = "RHDH_CATALOG_PUSH_ATTEMPTS")]
    pub attempts: u32,
    /// First line of the commit message (the summary of changes follows).
    #[arg(long, default_value = "Sync the plugin catalog", env = "RHDH_CATALOG_COMMIT_TITLE")]
    pub title: String,
    /// Commit author, `Name <email>`.
    #[arg(long, default_value = "rhdh-catalog <rhdh-catalog@users.noreply.github.com>", env = "RHDH_CATALOG_AUTHOR")]
    pub author: String,
    /// Commit but do not push.
    #[arg(long, env = "RHDH_CATALOG_NO_PUSH", value_parser = boolish())]
    pub no_push: bool,
    /// Commit nothing: check that the remote accepts a push to the branch with these credentials (git push --dry-run), so a run fails at its start rather than at its end.
    #[arg(long)]
    pub check_push: bool,
    /// Folder of git credentials in the git-clone-oci-ta basic-auth layout: .git-credentials, or username and password; used when GIT_TOKEN is empty; an empty value means none.
    #[arg(long, value_name = "DIR", env = "RHDH_CATALOG_GIT_CREDENTIALS_DIR")]
    pub credentials_dir: Option<String>,
    /// With --check-push: how long after the check the push may happen (the run's timeout, e.g. 5h20m); push credentials that expire sooner (a GitHub App token) are refused. Empty means no such check.
    #[arg(long, value_name = "DURATION", env = "RHDH_CATALOG_PUSH_WITHIN")]
    pub push_within: Option<String>,
    /// The Secret whose password key holds the push token, named in what --check-push says to do.
    #[arg(long, value_name = "NAME", default_value = "git-auth", env = "RHDH_CATALOG_PUSH_SECRET")]
    pub push_secret: String,
    /// Directory for Tekton results (commit, pushed).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Stdout as text or JSON: the summary.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    /// The midstream commit the run built (the tree's HEAD may be an earlier commit with the same managed paths: the local runner's clone serves both with one artifact): reported when nothing changed, committed on otherwise; empty means HEAD.
    #[arg(long, value_name = "COMMIT")]
    pub revision: Option<String>,
    /// Artifacts to unpack, in order (into the tree first: the checkout's, then those laid over it; `oci:<repository>@sha256:<digest>`; empty ones skipped): the checkout's .git comes first, and when git's object ids show that nothing managed would change, nothing else is unpacked.
    #[arg(long, num_args = 1.., value_name = "URI")]
    pub artifacts: Vec<String>,
    /// Where artifact blobs are kept: `oci-layout:DIR`, `docker://HOST[:PORT]`, or the registry each URI names (default).
    #[arg(long, env = "RHDH_CATALOG_ARTIFACT_STORE")]
    pub artifact_store: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Where images live and how to reach them.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where images are read or written: `oci-layout:DIR`, `docker://HOST[:PORT]` (a mirror of the named registries), or `docker://` for the named registries themselves.
    #[arg(long, env = "RHDH_CATALOG_STORE")]
    pub store: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// How to talk to registries.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Registry host[:port] spoken to over plain HTTP (repeatable; comma-separated in the environment).
    #[arg(long = "insecure-registry", env = "RHDH_CATALOG_INSECURE_REGISTRIES", value_delimiter = ',')]
    pub insecure_registries: Vec<String>,
    /// Seconds before one registry request times out.
    #[arg(long, default_value_t = 30, env = "RHDH_CATALOG_REGISTRY_TIMEOUT")]
    pub registry_timeout: u64,
    /// Attempts per registry request while the answer is unknown (timeouts, 5xx, 429, resets).
    #[arg(long, default_value_t = 5, env = "RHDH_CATALOG_REGISTRY_ATTEMPTS")]
    pub registry_attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TagSchemeArg {
    /// `bs_<backstage>__<version>` for ghcr.io, `<rhdh>--<version>` elsewhere.
    Auto,
    /// `bs_<backstage>__<version>` (the public overlay images).
    Backstage,
    /// `<rhdh x.y.z>--<version>` (quay.io/rhdh-style product images).
    Rhdh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnMissingArg {
    /// Fail the run (exit 1) and write nothing.
    Fail,
    /// Keep the previous index's digest for the plugin, else leave it out.
    Previous,
    /// Pin the highest existing tag of the same image with a clean version (for <x.y.z>--<v> first the <x.y>--<v> alias), else as previous.
    OlderTag,
}

impl OnMissingArg {
    /// The word the pipeline param `on-missing` takes.
    pub(crate) fn param(self) -> &'static str {
        match self {
            OnMissingArg::Fail => "fail",
            OnMissingArg::Previous => "previous",
            OnMissingArg::OlderTag => "older-tag",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DpdyStyleArg {
    /// Digest-pinned OCI entries with a `# Tag:` comment.
    Oci,
    /// The `./dynamic-plugins/dist/<name>` wrapper active, the pinned OCI line commented above it.
    Wrapper,
}

impl DpdyStyleArg {
    /// The word the pipeline param `dpdy-style` takes.
    pub(crate) fn param(self) -> &'static str {
        match self {
            DpdyStyleArg::Oci => "oci",
            DpdyStyleArg::Wrapper => "wrapper",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    // Plain comments: help on a value would switch every --help to the long layout.
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormatArg {
    #[default]
    Text,
    Json,
}

// Each bool is one on/off flag of the command line, as clap models it.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The overlay tree: workspaces/, catalog-entities/extensions/, default.packages.yaml, versions.json.
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_OVERLAY")]
    pub overlay: PathBuf,
    /// Package selection files (default.packages.yaml, rhdh-*-packages.txt); repeatable. Default: the overlay's default.packages.yaml and rhdh-supported-packages.txt.
    #[arg(long = "packages", env = "RHDH_CATALOG_PACKAGES", value_delimiter = ',')]
    pub packages: Vec<PathBuf>,
    /// The default.packages.yaml to use instead of the overlay's (older branches kept it in the RHDH repository).
    #[arg(long, env = "RHDH_CATALOG_DEFAULT_PACKAGES", conflicts_with = "packages")]
    pub default_packages: Option<PathBuf>,
    #[command(flatten)]
    pub rhdh_repository: RhdhRepositoryArgs,
    /// Index every Package in the overlay, not only the selected ones (dynamic-plugins.default.yaml still follows the default.packages.yaml given or found).
    #[arg(long, env = "RHDH_CATALOG_ALL_PACKAGES", value_parser = boolish())]
    pub all_packages: bool,
    /// versions.json with the target Backstage version. Default: <overlay>/versions.json.
    #[arg(long, env = "RHDH_CATALOG_VERSIONS")]
    pub versions: Option<PathBuf>,
    /// Target Backstage version (overrides versions.json).
    #[arg(long, env = "RHDH_CATALOG_BACKSTAGE_VERSION")]
    pub backstage_version: Option<String>,
    /// RHDH version x.y.z: used in `<rhdh>--<version>` tags and build-info.json.
    #[arg(long, env = "RHDH_CATALOG_RHDH_VERSION")]
    pub rhdh_version: Option<String>,
    /// Registry prefix the plugin images are named under, e.g. quay.io/rhdh: the names written in the index.
    #[arg(long, env = "RHDH_CATALOG_REGISTRY")]
    pub registry: String,
    /// Registry prefix for packages whose metadata says `support: community`.
    #[arg(long, env = "RHDH_CATALOG_COMMUNITY_REGISTRY")]
    pub community_registry: Option<String>,
    /// How image tags are formed from the plugin version and the RHDH and Backstage versions: those of the images under --registry (--community-tag-scheme for --community-registry).
    #[arg(long, value_enum, default_value_t = TagSchemeArg::Auto, env = "RHDH_CATALOG_TAG_SCHEME")]
    pub tag_scheme: TagSchemeArg,
    /// Tag scheme of the images under --community-registry (its own; auto chooses by that registry's host).
    #[arg(long, value_enum, default_value_t = TagSchemeArg::Auto, env = "RHDH_CATALOG_COMMUNITY_TAG_SCHEME")]
    pub community_tag_scheme: TagSchemeArg,
    /// Output folder of the catalog index.
    #[arg(long, default_value = "catalog-index", env = "RHDH_CATALOG_OUTPUT")]
    pub output: PathBuf,
    /// Folder of plugin_builds/<workspace>/<image>.json.
    #[arg(long, default_value = "plugin_builds", env = "RHDH_CATALOG_PLUGIN_BUILDS")]
    pub plugin_builds: PathBuf,
    /// Also build the community catalog (the extra catalog index RHDH reads through EXTRA_CATALOG_INDEX_IMAGES) into this folder.
    #[arg(long, env = "RHDH_CATALOG_COMMUNITY_OUTPUT")]
    pub community_output: Option<PathBuf>,
    /// Whether --community-output is built: false skips the community catalog (its images live in --community-registry, which a local mirror may not hold).
    #[arg(long, env = "RHDH_CATALOG_COMMUNITY_CATALOG", value_parser = boolish(), default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub community_catalog: bool,
    /// Package lists of the community catalog; repeatable. Default: the overlay's rhdh-community-packages.txt (without it no community catalog is built).
    #[arg(long = "community-packages", env = "RHDH_CATALOG_COMMUNITY_PACKAGES", value_delimiter = ',')]
    pub community_packages: Vec<PathBuf>,
    /// Folder of the community catalog's plugin_builds/<workspace>/<image>.json.
    #[arg(long, default_value = "plugin_builds-community", env = "RHDH_CATALOG_COMMUNITY_PLUGIN_BUILDS")]
    pub community_plugin_builds: PathBuf,
    /// Also write the community catalog's JSON report here.
    #[arg(long, env = "RHDH_CATALOG_COMMUNITY_REPORT")]
    pub community_report: Option<PathBuf>,
    /// How dynamic-plugins.default.yaml lists the plugins.
    #[arg(long, value_enum, default_value_t = DpdyStyleArg::Oci, env = "RHDH_CATALOG_DPDY_STYLE")]
    pub dpdy_style: DpdyStyleArg,
    /// How many run at the same time: registry probes.
    #[arg(long, default_value_t = 16, env = "RHDH_CATALOG_INDEX_JOBS")]
    pub jobs: usize,
    /// What to do when a plugin's requested tag does not exist (an answered 404; an unknown answer always fails with exit 3).
    #[arg(long, value_enum, default_value_t = OnMissingArg::Fail, env = "RHDH_CATALOG_ON_MISSING")]
    pub on_missing: OnMissingArg,
    /// Same as --on-missing previous (kept for existing scripts).
    #[arg(long, env = "RHDH_CATALOG_ALLOW_MISSING", conflicts_with = "on_missing", value_parser = boolish())]
    pub allow_missing: bool,
    /// Platform a multi-platform image must offer (repeatable).
    #[arg(long = "platform", default_value = "linux/amd64", env = "RHDH_CATALOG_PLATFORMS", value_delimiter = ',')]
    pub platforms: Vec<String>,
    /// Overlay commit recorded in build-info.json. Default: the commit fetch recorded in <overlay>/../plan.json, else HEAD of the overlay checkout.
    #[arg(long, env = "RHDH_CATALOG_OVERLAY_COMMIT")]
    pub overlay_commit: Option<String>,
    /// A midstream tree whose workspaces/<ws>/.rhdh-catalog-export.json record what each export built (folder, npm name, image); without it, metadata files are matched to plugin folders by name.
    #[arg(long, env = "RHDH_CATALOG_EXPORT_RECORDS")]
    pub export_records: Option<PathBuf>,
    /// Overlay repository URL recorded in build-info.json. Default: the repository fetch recorded, else the overlay checkout's `origin` remote.
    #[arg(long, env = "RHDH_CATALOG_SOURCE_REPO")]
    pub source_repo: Option<String>,
    /// Where to write this step's JSON report: every plugin's resolution.
    #[arg(long, env = "RHDH_CATALOG_REPORT")]
    pub report: Option<PathBuf>,
    /// Directory for Tekton results (changed, summary), e.g. /tekton/results.
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Print the plan and change nothing: the planned plugins (`<image> <workspace path> <reference>` per line, or JSON), without contacting the store.
    #[arg(long)]
    pub dry_run: bool,
    /// Stdout as text or JSON: the summary.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Allow file:// and git:// repositories in upstream_repos.yml and source.json (local fixtures and mirrors); index reads them in source.json and as --rhdh-repository; without it only https:// is accepted.
    #[arg(long, env = "RHDH_CATALOG_ALLOW_LOCAL_REPOS", value_parser = boolish())]
    pub allow_local_repos: bool,
}

/// Where an older branch's default.packages.yaml is read from (index).
#[derive(Debug, Args)]
pub struct RhdhRepositoryArgs {
    /// When the overlay has no default.packages.yaml and --default-packages is not given: the RHDH repository to read it from, at the branch `rhdh.branch` of --upstream-repos names.
    #[arg(long, env = "RHDH_CATALOG_RHDH_REPOSITORY")]
    pub rhdh_repository: Option<String>,
    /// upstream_repos.yml: its rhdh.branch is where --rhdh-repository is read. Default: upstream_repos.yml beside the overlay folder.
    #[arg(long, env = "RHDH_CATALOG_UPSTREAM_REPOS")]
    pub upstream_repos: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Exported `dist-dynamic` folders (each holding package.json); one image folder per plugin.
    #[arg(required = true)]
    pub dist_dynamic: Vec<PathBuf>,
    /// Image reference to push, with a tag: `host/path:tag`.
    #[arg(long, short = 't', env = "RHDH_CATALOG_TAG")]
    pub tag: String,
    /// Extra label `key=value` (repeatable): in the image config.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Extra manifest annotation `key=value` (repeatable).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
    /// Config environment variable `KEY=value` (repeatable), e.g. UPSTREAM_REPO.
    #[arg(long = "env")]
    pub env: Vec<String>,
    /// Stdout as text or JSON: the pushed reference.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Where each value on the command line came from (the flag, its environment variable, or the
/// default), so that a message about a value can name what the user set.
#[derive(Debug, Default, Clone)]
pub struct ValueSources {
    /// The matches of the subcommand chain, innermost first.
    chain: Vec<ArgMatches>,
}

impl ValueSources {
    pub fn of(matches: &ArgMatches) -> ValueSources {
        let mut chain = vec![matches.clone()];
        let mut current = matches;
        while let Some((_, inner)) = current.subcommand() {
            chain.push(inner.clone());
            current = inner;
        }
        chain.reverse();
        ValueSources { chain }
    }

    fn source(&self, id: &str) -> Option<ValueSource> {
        self.chain
            .iter()
            .find(|matches| matches.ids().any(|known| known.as_str() == id))
            .and_then(|matches| matches.value_source(id))
    }

    /// Whether the value of `id` is clap's default (neither given nor set in the environment).
    pub(crate) fn is_default(&self, id: &str) -> bool {
        matches!(self.source(id), None | Some(ValueSource::DefaultValue))
    }

    /// How the user named `value`: `` `--store docker://x` ``, or `` `RHDH_CATALOG_STORE=docker://x` ``
    /// when it came from the environment (and `` `sync --store docker://x` `` when `sync` set that
    /// variable for its steps).
    pub(crate) fn describe(&self, id: &str, flag: &str, env: Option<&str>, value: &str) -> String {
        match (self.source(id), env) {
            (Some(ValueSource::EnvVariable), Some(variable)) => {
                match std::env::var(SET_BY_ENV).ok().filter(|by| !by.is_empty()) {
                    Some(by) => format!("`{by} {flag} {value}` (passed on as {variable})"),
                    None => format!("`{variable}={value}`"),
                }
            }
            (Some(ValueSource::DefaultValue), _) => format!("the default `{flag} {value}`"),
            _ => format!("`{flag} {value}`"),
        }
    }
}

/// Set by `sync` for the steps it runs: the command whose flags the steps' environment carries.
pub const SET_BY_ENV: &str = "RHDH_CATALOG_SET_BY";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// Every boolean flag that reads an environment variable takes the words people write there.
    #[test]
    fn boolean_variables_read_the_usual_words() {
        fn walk(command: &clap::Command, found: &mut usize) {
            for arg in command.get_arguments() {
                let is_bool = matches!(arg.get_action(), clap::ArgAction::SetTrue | clap::ArgAction::SetFalse)
                    || arg.get_id() == "changed";
                if !is_bool || arg.get_env().is_none() {
                    continue;
                }
                *found += 1;
                let words: Vec<String> = arg
                    .get_value_parser()
                    .possible_values()
                    .map(|values| values.map(|value| value.get_name().to_string()).collect())
                    .unwrap_or_default();
                for word in ["1", "0", "yes", "no", "true", "false", "on", "off"] {
                    assert!(
                        words.iter().any(|known| known == word),
                        "{} {} does not read `{word}` (reads {words:?})",
                        command.get_name(),
                        arg.get_id()
                    );
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, found);
            }
        }
        let mut found = 0;
        walk(&Cli::command(), &mut found);
        assert!(found >= 8, "only {found} boolean variables found");
    }
}
