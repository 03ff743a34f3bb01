//! The catalog index as values: which folder a metadata file describes ([`workspace_paths`]), the
//! index as consumers see it ([`view`]) and the per-plugin difference of two indexes ([`diff`]).

pub mod diff;
pub mod identity;
pub mod view;
pub mod workspace_paths;
