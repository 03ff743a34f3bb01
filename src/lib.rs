//! rhdh-catalog rebuilds the Red Hat Developer Hub dynamic-plugin catalog index. Each subcommand
//! is one step of a Tekton pipeline; `main.rs` only parses arguments and maps failures to exit
//! codes. `ARCHITECTURE.md` at the repository root is the long form of this map.
//!
//! Outside in:
//!
//! - [`cli`]: the clap definitions, and `cli::settings`, which turns each `*Args` into the
//!   validated `*Settings` a step takes (environment read once, paths resolved, defaults in one place).
//! - [`steps`]: one module per subcommand: settings → a plan from [`domain`] → the edges in [`io`]
//!   apply it → outputs written atomically. A step never calls another step.
//! - [`pipeline`]: the Tekton definitions as a model and the local runner behind `sync`.
//! - [`domain`]: pure values and rules: plugin identity, the index plan and its rendering, the
//!   export plan, validation rules, reports. No files, no network, no async.
//! - [`formats`]: one module per file format: parse text into typed values, render them back.
//! - [`io`]: the only code that touches the outside: files, git, registries, Kubernetes, shell
//!   commands, Tekton result files.
//! - [`error`]: exit statuses and the error types every step shares; [`logging`]: tracing setup.

pub mod cli;
pub mod domain;
pub mod error;
pub mod formats;
pub mod io;
pub mod logging;
pub mod pipeline;
pub mod steps;

/// rustls needs one process-wide crypto provider; we build with ring only.
pub fn install_crypto_provider() {
    // Err means another thread installed it first, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The tool version recorded in outputs and cache keys.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
