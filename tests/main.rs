//! The one integration test binary: real git, a real registry (Debian's `docker-registry` on
//! loopback), real skopeo reading what we push. Each file below is one area.

// Test code unwraps (a failure should stop the test with the value shown) and builds strings
// the readable way.
#![allow(clippy::unwrap_used, clippy::format_push_string, clippy::format_collect)]

mod support;

/// The bad-input corpus of every other format.
mod bad_input_corpus;
/// `--help` snapshots.
mod cli_help;
/// `commit` and `release-number`.
mod commit_release;
/// Registries that cannot work as configured (plain HTTP, TLS trust and name, no such host) are
/// bad input named by their flag; `sync` takes its steps' flags.
mod configuration_errors;
/// `sync` killed at random points, then resumed.
mod crash_resume;
/// Faults injected between the tool and the registry or git remote.
mod faults;
/// `fetch` and `export` on fixture upstreams with the recorded exporter.
mod fetch_export;
/// Shipped YAML, docs and scripts spell every flag as `--help` does (no hidden alias).
mod flag_spellings;
/// The hostile-input corpus of the formats (alias bombs, look-alikes, references, strict keys, …).
mod hostile;
/// Bad inputs: exit code 2, a message naming the file and line, nothing written.
mod index_bad_input;
/// `rhdh-catalog index` on the real overlay data compared with what the upstream generator produced.
mod index_reference;
/// Registry behaviour of `index`: missing images, stale entries, auth, reproducibility.
mod index_registry;
/// The real RHDH installers (Python and Node) install every plugin of the indexes we publish.
mod install_oracle;
/// Konflux, Pipelines-as-Code and tkn rules, checked the way those tools read our files.
mod konflux_rules;
/// What Konflux runs need at run time: tagged, expiring artifacts; the extra CA bundle; git
/// credentials and the push check; `sync` with the git-auth workspace.
mod konflux_runtime;
/// `rhdh-catalog package`: images skopeo can read and an installer can auto-detect.
mod package_image;
/// Property tests of the grammars and the YAML emitter.
mod properties;
/// The README's "Your own overlay" section, run as written against a real registry.
mod readme_overlay;
/// The real `@red-hat-developer-hub/cli` exporter end to end (ignored unless hack/test.sh installed it).
mod real_exporter;
/// The registry layer against misbehaving registries and the real distribution token flow.
mod registry_layer;
/// publish, validate, promote, diff, await-build.
mod release;
/// Credentials never leak into outputs.
mod secrets;
/// The status page in headless Chromium: the example after `sync`, the real overlay data.
mod status_page;
/// `sync`: the whole pipeline on the bundled example.
mod sync_pipeline;
/// The Tekton YAML checked against the binary and the Tekton schemas.
mod tekton_definitions;
/// Progress bars as a terminal shows them (tmux).
mod terminal_progress;
