//! The Tekton definitions as a model ([`definitions`]: the YAML under `tekton/`, embedded) and the
//! local runner that executes them on one machine ([`runner`], behind `rhdh-catalog sync`).

pub mod definitions;
pub mod runner;
pub(crate) mod workdirs;
