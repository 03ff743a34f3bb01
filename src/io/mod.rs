//! The edges: the only code that touches the outside world. Files ([`fs`], [`overlay_tree`]),
//! git ([`git`]), OCI registries and layout folders ([`registry`]), the Kubernetes API
//! ([`kube_api`]), shell commands ([`shell`], [`patch`]) and Tekton result files
//! ([`tekton_results`]). Steps call these; the domain never does.

pub mod archive;
pub mod catalog_source;
pub(crate) mod fetch_record;
pub mod fs;
pub mod git;
pub mod image_probe;
pub mod install_check;
pub mod kube_api;
pub(crate) mod observed;
pub mod overlay_tree;
pub(crate) mod package_cache;
pub mod patch;
pub mod progress;
pub mod registry;
pub mod shell;
pub mod tekton_results;
