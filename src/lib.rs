//! rhdh-catalog rebuilds the Red Hat Developer Hub dynamic-plugin catalog index. Each subcommand
//! is one step of a Tekton pipeline; `main.rs` only parses arguments and maps failures to exit codes.
//!
//! Architecture, outside in:
//!
//! - [`cli`]: the clap definitions, nothing else.
//! - [`steps`]: one module per subcommand. Each resolves its inputs, builds a plan with pure code,
//!   applies it through the edges below, and writes its outputs atomically.
//! - [`model`]: typed formats (overlay files, plugin builds, index, DPDY) with clear input errors.
//! - Edges, the only code that touches the outside: [`fsutil`] (files, atomic writes), [`yaml`]
//!   and [`json`] (parsing and our emitters), [`registry`] (OCI registries and layout directories),
//!   [`overlay`] (reading an overlay tree), [`git`] (the git CLI).
//! - [`error`]: exit statuses and the input error type every step shares.

pub mod catalog_view;
pub mod cli;
pub mod containerfile;
pub mod diff;
pub mod error;
pub mod exporter;
pub mod fsutil;
pub mod git;
pub mod json;
pub mod kube;
pub mod logging;
pub mod model;
pub mod overlay;
pub mod patch;
pub mod prepare;
pub mod registry;
pub mod runner;
pub mod steps;
pub mod tekton;
pub mod tekton_yaml;
pub mod text;
pub mod validate;
pub mod yaml;

/// rustls needs one process-wide crypto provider; we build with ring only.
pub fn install_crypto_provider() {
    // Err means another thread installed it first, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The tool version recorded in outputs and cache keys.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
