//! Typed models of every file format the steps read or write. Parsing lives here and is pure
//! (text in, value or [`InputError`](crate::error::InputError) out); reading files goes through
//! [`crate::yaml`], [`crate::json`] and [`crate::fsutil`].

pub mod build_info;
pub mod catalog_entity;
pub mod default_packages;
pub mod dynamic_plugins;
pub mod index_json;
pub mod package;
pub mod package_list;
pub mod plan;
pub mod plugin_builds;
pub mod plugins_list;
pub mod relative_path;
pub mod scalar;
pub mod source_json;
pub mod upstream_repos;
pub mod versions;
