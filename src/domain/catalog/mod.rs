//! The catalog index as values: which folder a metadata file describes ([`workspace_paths`]), the
//! index as consumers see it ([`view`]), the per-plugin difference of two indexes ([`diff`]) and
//! the documentation's reference tables ([`docs_tables`]).

pub mod build_report;
pub mod diff;
pub mod docs_tables;
pub mod fallback;
pub mod gate;
pub mod identity;
pub mod pin;
pub mod plan;
pub mod render;
pub mod view;
pub mod workspace_paths;

/// How `dynamic-plugins.default.yaml` names each plugin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum DpdyStyle {
    /// Digest-pinned OCI entries with a `# Tag:` comment.
    #[default]
    Oci,
    /// The `./dynamic-plugins/dist/<name>` wrapper active, the pinned OCI line commented above it.
    Wrapper,
}
