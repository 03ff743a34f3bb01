//! The Tekton definitions as a model ([`definitions`]: the YAML under `tekton/`, embedded) and the
//! local runner that executes them on one machine ([`runner`], behind `rhdh-catalog sync`), with
//! what it keeps between runs ([`workdirs`], [`reuse`]).

pub mod definitions;
pub(crate) mod reuse;
pub mod runner;
pub(crate) mod workdirs;
