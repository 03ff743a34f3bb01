//! Command-line definitions (clap only). Every option a Tekton step passes also reads an
//! environment variable, so Tasks can use `env:` or `args:`.

// Doc comments here are --help text, read in a terminal: no Markdown backticks around names.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;

const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the step ran and found a problem (missing images, failed plugins, validation findings)
  2  bad input or usage: a malformed file or flag; the message names the file and line
  3  infrastructure failure a retry may fix (registry, git remote, API server)";

#[derive(Debug, Parser)]
#[command(name = "rhdh-catalog", version, about = "Rebuild the Red Hat Developer Hub dynamic-plugin catalog index, one pipeline step per subcommand", after_help = EXIT_CODES)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "RHDH_CATALOG_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate plugin_builds/, dynamic-plugins.default.yaml and catalog-index/ from an overlay tree, pinning every image by digest.
    #[command(after_help = EXIT_CODES)]
    Index(IndexArgs),
    /// Build a dynamic-plugin OCI image from exported dist-dynamic folders and push it, with no container engine.
    #[command(after_help = EXIT_CODES)]
    Package(PackageArgs),
}

/// Where images live and how to reach them.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where images are read or written: `oci-layout:DIR`, `docker://HOST[:PORT]` (a mirror of the named registries), or `docker://` for the named registries themselves.
    #[arg(long, env = "RHDH_CATALOG_STORE")]
    pub store: Option<String>,
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
pub enum TagScheme {
    /// `bs_<backstage>__<version>` for ghcr.io, `<rhdh>--<version>` elsewhere.
    Auto,
    /// `bs_<backstage>__<version>` (the public overlay images).
    Backstage,
    /// `<rhdh x.y.z>--<version>` (quay.io/rhdh-style product images).
    Rhdh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DpdyStyle {
    /// Digest-pinned OCI entries with a `# Tag:` comment.
    Oci,
    /// The `./dynamic-plugins/dist/<name>` wrapper active, the pinned OCI line commented above it.
    Wrapper,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
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
    #[arg(long, value_enum, default_value_t = TagScheme::Auto, env = "RHDH_CATALOG_TAG_SCHEME")]
    pub tag_scheme: TagScheme,
    /// Output folder of the catalog index.
    #[arg(long, default_value = "catalog-index", env = "RHDH_CATALOG_OUTPUT")]
    pub output: PathBuf,
    /// Folder of plugin_builds/<workspace>/<image>.json.
    #[arg(long, default_value = "plugin_builds", env = "RHDH_CATALOG_PLUGIN_BUILDS")]
    pub plugin_builds: PathBuf,
    #[arg(long, value_enum, default_value_t = DpdyStyle::Oci, env = "RHDH_CATALOG_DPDY_STYLE")]
    pub dpdy_style: DpdyStyle,
    /// Concurrent registry probes.
    #[arg(long, default_value_t = 16, env = "RHDH_CATALOG_JOBS")]
    pub jobs: usize,
    /// Write the index even when images are missing (a previous index entry is kept when there is one).
    #[arg(long, env = "RHDH_CATALOG_ALLOW_MISSING")]
    pub allow_missing: bool,
    /// Platform a multi-platform image must offer (repeatable).
    #[arg(long = "platform", default_value = "linux/amd64", env = "RHDH_CATALOG_PLATFORMS", value_delimiter = ',')]
    pub platforms: Vec<String>,
    /// Overlay commit recorded in build-info.json. Default: HEAD of the overlay checkout.
    #[arg(long, env = "RHDH_CATALOG_OVERLAY_COMMIT")]
    pub overlay_commit: Option<String>,
    /// Overlay repository URL recorded in build-info.json. Default: its `origin` remote.
    #[arg(long, env = "RHDH_CATALOG_SOURCE_REPO")]
    pub source_repo: Option<String>,
    /// Also write a JSON report of every plugin's resolution here.
    #[arg(long, env = "RHDH_CATALOG_REPORT")]
    pub report: Option<PathBuf>,
    /// Print the planned plugins (`<image> <workspace path> <reference>` per line, or JSON) without contacting the store or writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Summary on stdout as text or JSON.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
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
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl StoreArgs {
    pub fn client_options(&self) -> crate::registry::ClientOptions {
        crate::registry::ClientOptions {
            insecure_registries: self
                .insecure_registries
                .iter()
                .map(|host| host.trim().to_string())
                .filter(|host| !host.is_empty())
                .collect(),
            timeout: std::time::Duration::from_secs(self.registry_timeout.max(1)),
            attempts: self.registry_attempts.max(1),
            ..crate::registry::ClientOptions::default()
        }
    }

    pub fn open(&self) -> Result<crate::registry::Store, crate::error::InputError> {
        crate::registry::Store::parse(self.store.as_deref(), &self.client_options())
    }
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
