//! Command-line definitions (clap only): the only module that knows clap. Every option a Tekton
//! step passes also reads an environment variable, so Tasks can use `env:` or `args:`.
//! [`settings`] turns these into the settings the steps take.

// Doc comments here are --help text, read in a terminal: no Markdown backticks around names.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod settings;

const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the step ran and found a problem (missing images, failed plugins, validation findings)
  2  bad input or usage: a malformed file or flag; the message names the file and line
  3  infrastructure failure a retry may fix (registry, git remote, API server)";

#[derive(Debug, Parser)]
#[command(name = "rhdh-catalog", version, about = "Rebuild the Red Hat Developer Hub dynamic-plugin catalog index, one pipeline step per subcommand", after_help = EXIT_CODES)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormatArg::Text, env = "RHDH_CATALOG_LOG_FORMAT")]
    pub log_format: LogFormatArg,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clone the repositories of upstream_repos.yml into the midstream tree and plan every workspace: export, skip (unchanged) or drop.
    #[command(after_help = EXIT_CODES)]
    Fetch(FetchArgs),
    /// Export the plan's workspaces (by name or batch): check out, prepare, build, run the plugin exporter, optionally package images.
    #[command(after_help = EXIT_CODES)]
    Export(ExportArgs),
    /// Bump the release number in build/containerfiles/{builder,index}.Containerfile from the builds that exist.
    #[command(after_help = EXIT_CODES)]
    ReleaseNumber(ReleaseNumberArgs),
    /// Commit the managed paths of the midstream tree and push, rebasing on a moved remote.
    #[command(after_help = EXIT_CODES)]
    Commit(CommitArgs),
    /// Trusted Artifacts: pack a folder into an `oci:` blob (create) or unpack blobs into a folder (use).
    #[command(after_help = EXIT_CODES)]
    Artifact(ArtifactArgs),
    /// Run the whole sync pipeline (the embedded Tekton YAML) on this machine, with no cluster.
    #[command(after_help = EXIT_CODES)]
    Sync(SyncArgs),
    /// What changed between two catalog indexes (folders or images), per plugin, as markdown or JSON.
    #[command(after_help = EXIT_CODES)]
    Diff(DiffArgs),
    /// Build and push the catalog index image from a catalog-index folder, with no container engine.
    #[command(after_help = EXIT_CODES)]
    Publish(PublishArgs),
    /// Check a dynamic-plugins*.yaml or an index image as the RHDH installer would, before release.
    #[command(after_help = EXIT_CODES)]
    Validate(ValidateArgs),
    /// Install an index image with the real RHDH installer(s), every OCI plugin enabled, and check that each plugin landed.
    #[command(after_help = EXIT_CODES)]
    VerifyInstall(VerifyInstallArgs),
    /// Point floating tags at a validated image, recording the previous digests; or roll them back.
    #[command(after_help = EXIT_CODES)]
    Promote(PromoteArgs),
    /// Find and follow the Konflux build (PipelineRun) of a commit; print IMAGE_URL@IMAGE_DIGEST.
    #[command(
        after_help = "Exit codes:\n  0  the run Succeeded or Completed\n  1  the run Failed or was Cancelled\n  2  bad usage\n  3  PipelineRunTimeout, CreateRunFailed, no run in time, or the API failed"
    )]
    AwaitBuild(AwaitBuildArgs),
    /// Summarise a pipeline run (the `finally` task): task statuses and the status page of every plugin.
    #[command(after_help = EXIT_CODES)]
    Report(ReportArgs),
    /// Generate plugin_builds/, dynamic-plugins.default.yaml and catalog-index/ from an overlay tree, pinning every image by digest.
    #[command(after_help = EXIT_CODES)]
    Index(IndexArgs),
    /// Build a dynamic-plugin OCI image from exported dist-dynamic folders and push it, with no container engine.
    #[command(after_help = EXIT_CODES)]
    Package(PackageArgs),
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The midstream tree: holds upstream_repos.yml, the destination folders and workspaces/.
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// Default: <tree>/upstream_repos.yml.
    #[arg(long, env = "RHDH_CATALOG_UPSTREAM_REPOS")]
    pub upstream_repos: Option<PathBuf>,
    /// The overlay tree inside the midstream tree (the destination folder of the overlay repository).
    #[arg(long, default_value = "overlay-repo", env = "RHDH_CATALOG_OVERLAY_DIR")]
    pub overlay: PathBuf,
    /// Supported package lists (`<workspace>/<plugin path>` per line); repeatable. Default: <overlay>/rhdh-supported-packages.txt; without any, every plugin is supported.
    #[arg(long = "packages", env = "RHDH_CATALOG_PACKAGES", value_delimiter = ',')]
    pub packages: Vec<PathBuf>,
    /// Plan only these workspaces (repeatable).
    #[arg(long = "workspace", env = "RHDH_CATALOG_WORKSPACES", value_delimiter = ',')]
    pub workspaces: Vec<String>,
    /// Where to write plan.json. Default: <tree>/plan.json.
    #[arg(long, env = "RHDH_CATALOG_PLAN")]
    pub plan: Option<PathBuf>,
    /// Most export batches (Tekton matrix fan-out); workspaces are spread evenly over them.
    #[arg(long, default_value_t = 64, env = "RHDH_CATALOG_MAX_BATCHES")]
    pub max_batches: usize,
    /// Plan from the tree as it is, without cloning.
    #[arg(long)]
    pub skip_clone: bool,
    /// Print the plan as a table; clone nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Directory for Tekton results (batches, rhdh-version, backstage-version), e.g. /tekton/results.
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Summary on stdout as text or JSON.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    /// Allow file:// and git:// repositories in upstream_repos.yml and source.json (local fixtures and mirrors); without it only https:// is cloned.
    #[arg(long, env = "RHDH_CATALOG_ALLOW_LOCAL_REPOS")]
    pub allow_local_repos: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The midstream tree: plan.json, the overlay folder, and workspaces/ (where prepared sources are written).
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// The overlay tree inside the midstream tree.
    #[arg(long, default_value = "overlay-repo", env = "RHDH_CATALOG_OVERLAY_DIR")]
    pub overlay: PathBuf,
    /// The plan written by fetch. Default: <tree>/plan.json.
    #[arg(long, env = "RHDH_CATALOG_PLAN")]
    pub plan: Option<PathBuf>,
    /// Workspace to export (repeatable).
    #[arg(long = "workspace", env = "RHDH_CATALOG_WORKSPACES", value_delimiter = ',')]
    pub workspaces: Vec<String>,
    /// Batch id of the plan to export (repeatable), as the Tekton matrix passes it.
    #[arg(long = "batch", env = "RHDH_CATALOG_BATCH", value_delimiter = ',')]
    pub batches: Vec<String>,
    /// Workspaces exported at the same time.
    #[arg(long, default_value_t = 2, env = "RHDH_CATALOG_JOBS")]
    pub jobs: usize,
    /// Where upstream sources are checked out and built. Default: a temporary directory.
    #[arg(long, env = "RHDH_CATALOG_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Package cache shared by every workspace and run: Yarn's and npm's downloads, and each workspace's installed node_modules kept under the hash of its lockfile and package.json files, so an export whose lockfile did not change downloads and installs nothing. Empty: none.
    #[arg(long, env = "RHDH_CATALOG_PACKAGE_CACHE")]
    pub package_cache: Option<PathBuf>,
    /// Where prepared workspaces (`workspaces/<ws>/`) and the report go. Default: the tree itself; a separate folder makes a small artifact to merge later.
    #[arg(long, env = "RHDH_CATALOG_OUTPUT_TREE")]
    pub output_tree: Option<PathBuf>,
    /// Run in the workspace root before exporting (empty to skip).
    #[arg(long, default_value = "yarn install", env = "RHDH_CATALOG_INSTALL_COMMAND")]
    pub install_command: String,
    /// Type-check command (empty to skip).
    #[arg(long, default_value = "yarn tsc", env = "RHDH_CATALOG_TSC_COMMAND")]
    pub tsc_command: String,
    /// Build command (empty to skip; the exporter builds backend plugins itself).
    #[arg(long, default_value = "", env = "RHDH_CATALOG_BUILD_COMMAND")]
    pub build_command: String,
    /// The exporter; `<exporter> plugin export <flags>` runs in each plugin folder.
    #[arg(long, default_value = "npx --yes @red-hat-developer-hub/cli@1.9.1", env = "RHDH_CATALOG_EXPORTER")]
    pub exporter: String,
    /// Seconds before one command (install, build, one export) is stopped.
    #[arg(long, default_value_t = 3600, env = "RHDH_CATALOG_COMMAND_TIMEOUT")]
    pub command_timeout: u64,
    /// Failed plugins allowed before the step fails (exit 1).
    #[arg(long, default_value_t = 0, env = "RHDH_CATALOG_MAX_FAILED")]
    pub max_failed: usize,
    /// Package every exported plugin as an image under this registry prefix (e.g. quay.io/rhdh).
    #[arg(long, env = "RHDH_CATALOG_REGISTRY")]
    pub registry: Option<String>,
    /// How image tags are formed from the plugin version and the plan's RHDH and Backstage versions.
    #[arg(long, value_enum, default_value_t = TagSchemeArg::Auto, env = "RHDH_CATALOG_TAG_SCHEME")]
    pub tag_scheme: TagSchemeArg,
    /// Where to write export-report.json. Default: <tree>/export-report.json.
    #[arg(long, env = "RHDH_CATALOG_REPORT")]
    pub report: Option<PathBuf>,
    /// Directory for Tekton results (status), e.g. /tekton/results.
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Summary on stdout as text or JSON.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Allow file:// and git:// repositories in upstream_repos.yml and source.json (local fixtures and mirrors); without it only https:// is cloned.
    #[arg(long, env = "RHDH_CATALOG_ALLOW_LOCAL_REPOS")]
    pub allow_local_repos: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The midstream checkout to sync (a git work tree with upstream_repos.yml).
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// Folder for task runs, artifacts, saved outcomes and the report.
    #[arg(long, default_value = "out/sync", env = "RHDH_CATALOG_SYNC_OUT")]
    pub out: PathBuf,
    /// Where plugin images are pushed and read (default: an OCI layout under out/).
    #[arg(long, default_value = "oci-layout:out/registry", env = "RHDH_CATALOG_STORE")]
    pub store: String,
    /// Registry prefix of the plugin images (names in the index).
    #[arg(long, default_value = "quay.io/rhdh", env = "RHDH_CATALOG_REGISTRY")]
    pub registry: String,
    /// Repository of the catalog index image (for release numbers).
    #[arg(long, default_value = "quay.io/rhdh/plugin-catalog-index", env = "RHDH_CATALOG_INDEX_IMAGE")]
    pub index_image: String,
    /// The plugin exporter command.
    #[arg(long, default_value = "npx --yes @red-hat-developer-hub/cli@1.9.1", env = "RHDH_CATALOG_EXPORTER")]
    pub exporter: String,
    /// Install command run in each exported workspace.
    #[arg(long, default_value = "yarn install", env = "RHDH_CATALOG_INSTALL_COMMAND")]
    pub install_command: String,
    /// Type-check command run in each exported workspace.
    #[arg(long, default_value = "yarn tsc", env = "RHDH_CATALOG_TSC_COMMAND")]
    pub tsc_command: String,
    /// Sync only these workspaces (repeatable).
    #[arg(long = "workspace")]
    pub workspaces: Vec<String>,
    /// Export TaskRuns (matrix combinations) run at the same time.
    #[arg(long, default_value_t = 4, env = "RHDH_CATALOG_JOBS")]
    pub jobs: usize,
    /// Re-run from this task, reusing the saved results of the tasks before it.
    #[arg(long)]
    pub from: Option<String>,
    /// Print the plan (what would be exported or skipped, and why) and the task order; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Pipeline param `name=value` (repeatable), e.g. dpdy-style=wrapper.
    #[arg(long = "param")]
    pub params: Vec<String>,
    /// Allow file:// and git:// repositories in upstream_repos.yml and source.json (local fixtures and mirrors); without it only https:// is cloned.
    #[arg(long, env = "RHDH_CATALOG_ALLOW_LOCAL_REPOS")]
    pub allow_local_repos: bool,
    /// Bind a folder to a workspace of the Pipeline, `name=DIR` (repeatable), e.g. git-auth=DIR holding .git-credentials, or username and password, for a private midstream.
    #[arg(long = "workspace-dir", value_name = "NAME=DIR")]
    pub workspace_dirs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The catalog-index folder `index` wrote.
    #[arg(default_value = "catalog-index", env = "RHDH_CATALOG_OUTPUT")]
    pub catalog_index: PathBuf,
    /// Image reference to push, with a tag, e.g. quay.io/rhdh/plugin-catalog-index:1.10.0-3.
    #[arg(long, short = 't', env = "RHDH_CATALOG_TAG")]
    pub tag: String,
    /// `version` label.
    #[arg(long, env = "RHDH_CATALOG_RHDH_VERSION")]
    pub version: Option<String>,
    /// `release` label.
    #[arg(long, env = "RHDH_CATALOG_RELEASE")]
    pub release: Option<String>,
    /// Commit of the midstream the index was built from (`vcs-ref` and `org.opencontainers.image.revision`).
    #[arg(long, env = "RHDH_CATALOG_SOURCE_COMMIT")]
    pub source_commit: Option<String>,
    /// Extra label `key=value` (repeatable).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Write related-images.txt (every image of the index plus the index image, by digest) here.
    #[arg(long, env = "RHDH_CATALOG_RELATED_IMAGES")]
    pub related_images: Option<PathBuf>,
    /// The index released before (a catalog-index folder or an image); the new one may not lose its plugins.
    #[arg(long, env = "RHDH_CATALOG_PREVIOUS")]
    pub previous: Option<String>,
    /// An image name the new index may drop (repeatable); a renamed plugin needs its old name here.
    #[arg(long = "allow-removal", env = "RHDH_CATALOG_ALLOW_REMOVALS", value_delimiter = ',')]
    pub allow_removals: Vec<String>,
    /// Directory for Tekton results (IMAGE_URL, IMAGE_DIGEST).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
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
    /// An index image to validate instead (its dynamic-plugins.default.yaml and catalog entities).
    #[arg(long, env = "RHDH_CATALOG_IMAGE")]
    pub image: Option<String>,
    /// Only the static rules: do not contact the registry.
    #[arg(long)]
    pub no_registry: bool,
    /// Findings as text lines or JSON.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct VerifyInstallArgs {
    /// The index image to install from, e.g. quay.io/rhdh/plugin-catalog-index@sha256:…
    #[arg(env = "RHDH_CATALOG_IMAGE")]
    pub image: String,
    /// Installer command, run as `<command> <plugin root>` in a folder holding dynamic-plugins.yaml (repeatable), e.g. "python3 install-dynamic-plugins.py".
    #[arg(long = "installer")]
    pub installers: Vec<String>,
    /// Which part to run; a Tekton Task runs prepare, then the installer in the RHDH image, then check.
    #[arg(long, value_enum, default_value_t = VerifyStageArg::All)]
    pub stage: VerifyStageArg,
    /// Where the installer runs and leaves its plugins (required for prepare and check). Default: a temporary folder.
    #[arg(long, env = "RHDH_CATALOG_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Seconds one installer may run.
    #[arg(long, default_value_t = 1800, env = "RHDH_CATALOG_COMMAND_TIMEOUT")]
    pub timeout: u64,
    /// Write each installer's per-plugin verdicts here as JSON.
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
    /// The image to promote, `repository@sha256:…` (or `repository:tag`).
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
    /// Promote without validating the image first.
    #[arg(long)]
    pub skip_validation: bool,
    /// The index released before; default: the image the first --to tag points at now.
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
    /// Namespace of the PipelineRuns. Default: the client configuration's namespace.
    #[arg(long, env = "RHDH_CATALOG_NAMESPACE")]
    pub namespace: Option<String>,
    /// Konflux component (label appstudio.openshift.io/component).
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
    /// Markdown (text) or JSON on stdout.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The aggregate status, `$(tasks.status)`.
    #[arg(long, default_value = "None")]
    pub status: String,
    /// `name=status` of each task, e.g. `export=$(tasks.export.status)`.
    pub tasks: Vec<String>,
    /// Also write the markdown here (cut to --max-bytes, as printed).
    #[arg(long)]
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
    /// The plan.json that `fetch` wrote (which workspaces were exported, skipped or dropped).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// An export report, or a folder of them (its *.json and export-reports/*.json files); repeatable.
    #[arg(long = "export-report")]
    pub export_reports: Vec<PathBuf>,
    /// Write the status page here: status.html (self-contained) and status.md (the same facts).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// The most bytes of markdown to print (a comment limit); whole rows that do not fit are left to the full page.
    #[arg(long, default_value_t = crate::domain::status::markdown::DEFAULT_MAX_BYTES)]
    pub max_bytes: usize,
    /// Where the full page can be read, named in the markdown when it is cut.
    #[arg(long)]
    pub page_url: Option<String>,
    /// The midstream branch the run built.
    #[arg(long)]
    pub branch: Option<String>,
    /// The midstream commit the run built.
    #[arg(long)]
    pub revision: Option<String>,
    /// The published index image, <repository>[:tag][@sha256:...] (default: the build report's).
    #[arg(long)]
    pub index_image: Option<String>,
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
    /// Pack SOURCE into a blob of the repository --store; write `oci:<repository>@sha256:<digest>` to --result (or stdout).
    Create {
        /// Repository for the blob and tag for its manifest, e.g. `$(params.ociStorage)` = quay.io/org/app:<revision>.fetch; without a tag the manifest is tagged sha256-<digest>.
        #[arg(long)]
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
        /// Leave out what these paths of SOURCE name (repeatable; `*` matches within one path segment).
        #[arg(long)]
        exclude: Vec<String>,
        /// Mark the folders these paths name as whole (repeatable; `*` matches within one path segment): unpacked, each replaces the folder of the same path, so files removed from it do not survive.
        #[arg(long)]
        whole: Vec<String>,
        /// The folder to pack.
        source: PathBuf,
    },
    /// Unpack artifacts: `oci:<ref>@sha256:<digest>=<folder>` pairs, or plain URIs into --to. Empty URIs are skipped.
    Use {
        /// Folder for URIs given without `=<folder>`.
        #[arg(long)]
        to: Option<PathBuf>,
        /// Unpack only what these paths name (repeatable; `*` matches within one path segment); with --exclude, they are unpacked even inside an excluded folder.
        #[arg(long)]
        only: Vec<String>,
        /// Leave out what these paths name (repeatable; `*` matches within one path segment).
        #[arg(long)]
        exclude: Vec<String>,
        /// Make each folder exactly what its artifacts hold: files they do not hold are removed (files that already hold the right bytes are never written again).
        #[arg(long, env = "RHDH_CATALOG_ARTIFACT_EXACT")]
        exact: bool,
        /// The steps after this one only read the folders: with an OCI layout --artifact-store, one extraction per set of artifacts is shared and each folder becomes a link to it.
        #[arg(long)]
        read_only: bool,
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
    /// The midstream tree.
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// RHDH version x.y.z. Default: rhdh.version of <tree>/upstream_repos.yml.
    #[arg(long, env = "RHDH_CATALOG_RHDH_VERSION")]
    pub version: Option<String>,
    /// Folder of builder.Containerfile and index.Containerfile, relative to the tree.
    #[arg(long, default_value = "build/containerfiles", env = "RHDH_CATALOG_CONTAINERFILES")]
    pub containerfiles: PathBuf,
    /// Whether the index changed (the index step's `changed` result); false reports the current number and changes nothing.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "RHDH_CATALOG_CHANGED")]
    pub changed: bool,
    #[arg(long, value_enum, default_value_t = ReleaseSourceArg::Registry, env = "RHDH_CATALOG_RELEASE_SOURCE")]
    pub source: ReleaseSourceArg,
    /// Index image repository whose builds count, e.g. quay.io/rhdh/plugin-catalog-index (registry source).
    #[arg(long, env = "RHDH_CATALOG_INDEX_IMAGE")]
    pub image: Option<String>,
    /// Also count the release already in the Containerfiles (for repositories whose builds are not all in the registry yet).
    #[arg(long, env = "RHDH_CATALOG_COUNT_CONTAINERFILE")]
    pub count_containerfile: bool,
    /// Konflux tenant namespace (konflux source).
    #[arg(long, env = "RHDH_CATALOG_NAMESPACE")]
    pub namespace: Option<String>,
    /// Konflux component of the index image (konflux source).
    #[arg(long, env = "RHDH_CATALOG_COMPONENT")]
    pub component: Option<String>,
    /// Directory for Tekton results (release, version).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Summary on stdout as text or JSON.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// The midstream tree (a git work tree).
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_TREE")]
    pub tree: PathBuf,
    /// Paths to stage, relative to the tree (repeatable). Default: the destination folders of upstream_repos.yml, workspaces/, build/, plugin_builds/, upstream_repos.yml, catalog-index/.
    #[arg(long = "path", env = "RHDH_CATALOG_COMMIT_PATHS", value_delimiter = ',')]
    pub paths: Vec<String>,
    /// Remote to push to.
    #[arg(long, default_value = "origin", env = "RHDH_CATALOG_REMOTE")]
    pub remote: String,
    /// Branch to push to. Default: the current branch.
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
    #[arg(long, env = "RHDH_CATALOG_NO_PUSH")]
    pub no_push: bool,
    /// Commit nothing: check that the remote accepts a push to the branch with these credentials (git push --dry-run), so a run fails at its start rather than at its end.
    #[arg(long)]
    pub check_push: bool,
    /// Folder of git credentials in the git-clone-oci-ta basic-auth layout (.git-credentials, or username and password), used when GIT_TOKEN is empty; an empty value means none.
    #[arg(long, value_name = "DIR", env = "RHDH_CATALOG_GIT_CREDENTIALS_DIR")]
    pub credentials_dir: Option<String>,
    /// Directory for Tekton results (commit, pushed).
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Summary on stdout as text or JSON.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    /// The commit the tree stands for when its HEAD is an earlier commit with the same managed paths (the local runner's clone serves both with one artifact): reported when nothing changed, committed on otherwise; empty means HEAD.
    #[arg(long, value_name = "COMMIT")]
    pub revision: Option<String>,
    /// Artifacts to unpack into the tree first, the checkout's then those laid over it in order (`oci:<repository>@sha256:<digest>`; empty ones skipped): the checkout's .git comes first, and when git's object ids show that nothing managed would change, nothing else is unpacked.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DpdyStyleArg {
    /// Digest-pinned OCI entries with a `# Tag:` comment.
    Oci,
    /// The `./dynamic-plugins/dist/<name>` wrapper active, the pinned OCI line commented above it.
    Wrapper,
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

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Overlay tree: workspaces/, catalog-entities/extensions/, default.packages.yaml, versions.json.
    #[arg(long, default_value = ".", env = "RHDH_CATALOG_OVERLAY")]
    pub overlay: PathBuf,
    /// Package selection files (default.packages.yaml, rhdh-*-packages.txt); repeatable. Default: the overlay's default.packages.yaml and rhdh-supported-packages.txt.
    #[arg(long = "packages", env = "RHDH_CATALOG_PACKAGES", value_delimiter = ',')]
    pub packages: Vec<PathBuf>,
    /// Index every Package in the overlay, not only the selected ones (dynamic-plugins.default.yaml still follows the default.packages.yaml given or found).
    #[arg(long, env = "RHDH_CATALOG_ALL_PACKAGES")]
    pub all_packages: bool,
    /// versions.json with the target Backstage version. Default: <overlay>/versions.json.
    #[arg(long, env = "RHDH_CATALOG_VERSIONS")]
    pub versions: Option<PathBuf>,
    /// Target Backstage version (overrides versions.json).
    #[arg(long, env = "RHDH_CATALOG_BACKSTAGE_VERSION")]
    pub backstage_version: Option<String>,
    /// RHDH version x.y.z, used in `<rhdh>--<version>` tags and build-info.json.
    #[arg(long, env = "RHDH_CATALOG_RHDH_VERSION")]
    pub rhdh_version: Option<String>,
    /// Registry prefix plugin images are named under, e.g. quay.io/rhdh.
    #[arg(long, env = "RHDH_CATALOG_REGISTRY")]
    pub registry: String,
    /// Registry prefix for packages whose metadata says `support: community`.
    #[arg(long, env = "RHDH_CATALOG_COMMUNITY_REGISTRY")]
    pub community_registry: Option<String>,
    #[arg(long, value_enum, default_value_t = TagSchemeArg::Auto, env = "RHDH_CATALOG_TAG_SCHEME")]
    pub tag_scheme: TagSchemeArg,
    /// Output folder of the catalog index.
    #[arg(long, default_value = "catalog-index", env = "RHDH_CATALOG_OUTPUT")]
    pub output: PathBuf,
    /// Folder of plugin_builds/<workspace>/<image>.json.
    #[arg(long, default_value = "plugin_builds", env = "RHDH_CATALOG_PLUGIN_BUILDS")]
    pub plugin_builds: PathBuf,
    #[arg(long, value_enum, default_value_t = DpdyStyleArg::Oci, env = "RHDH_CATALOG_DPDY_STYLE")]
    pub dpdy_style: DpdyStyleArg,
    /// Concurrent registry probes.
    #[arg(long, default_value_t = 16, env = "RHDH_CATALOG_JOBS")]
    pub jobs: usize,
    /// What to do when a plugin's requested tag does not exist (an answered 404; an unknown answer always fails with exit 3).
    #[arg(long, value_enum, default_value_t = OnMissingArg::Fail, env = "RHDH_CATALOG_ON_MISSING")]
    pub on_missing: OnMissingArg,
    /// Same as --on-missing previous (kept for existing scripts).
    #[arg(long, env = "RHDH_CATALOG_ALLOW_MISSING", conflicts_with = "on_missing")]
    pub allow_missing: bool,
    /// Platform a multi-platform image must offer (repeatable).
    #[arg(long = "platform", default_value = "linux/amd64", env = "RHDH_CATALOG_PLATFORMS", value_delimiter = ',')]
    pub platforms: Vec<String>,
    /// Overlay commit recorded in build-info.json. Default: HEAD of the overlay checkout.
    #[arg(long, env = "RHDH_CATALOG_OVERLAY_COMMIT")]
    pub overlay_commit: Option<String>,
    /// A midstream tree whose workspaces/<ws>/.rhdh-catalog-export.json record what each export built (folder, npm name, image); without it, metadata files are matched to plugin folders by name.
    #[arg(long, env = "RHDH_CATALOG_EXPORT_RECORDS")]
    pub export_records: Option<PathBuf>,
    /// Overlay repository URL recorded in build-info.json. Default: its `origin` remote.
    #[arg(long, env = "RHDH_CATALOG_SOURCE_REPO")]
    pub source_repo: Option<String>,
    /// Also write a JSON report of every plugin's resolution here.
    #[arg(long, env = "RHDH_CATALOG_REPORT")]
    pub report: Option<PathBuf>,
    /// Directory for Tekton results (changed, summary), e.g. /tekton/results.
    #[arg(long, env = "RHDH_CATALOG_RESULTS_DIR")]
    pub results_dir: Option<PathBuf>,
    /// Print the planned plugins (`<image> <workspace path> <reference>` per line, or JSON) without contacting the store or writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Summary on stdout as text or JSON.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Exported `dist-dynamic` folders (each holding package.json); one image folder per plugin.
    #[arg(required = true)]
    pub dist_dynamic: Vec<PathBuf>,
    /// Image reference to push, with a tag: `host/path:tag`.
    #[arg(long, short = 't', env = "RHDH_CATALOG_TAG")]
    pub tag: String,
    /// Config label `key=value` (repeatable).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Extra manifest annotation `key=value` (repeatable).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
    /// Config environment variable `KEY=value` (repeatable), e.g. UPSTREAM_REPO.
    #[arg(long = "env")]
    pub env: Vec<String>,
    /// Summary on stdout as text or JSON.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormatArg::Text)]
    pub output_format: OutputFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
