//! File formats, one module each: typed values parsed from text (every problem an
//! [`InputError`](crate::error::InputError) naming the file and line) and rendered back to bytes.
//! Pure: reading and writing files is [`crate::io::fs`]'s job.

pub mod build_info;
pub mod catalog_entity;
pub mod containerfile;
pub mod default_packages;
pub mod dynamic_plugins;
pub mod foreign;
pub mod image_reference;
pub mod index_json;
pub mod json;
pub mod oci;
pub mod package;
pub mod package_list;
pub mod plan;
pub mod plugin_builds;
pub mod plugins_list;
pub mod relative_path;
pub mod scalar;
pub mod shown;
pub mod source_json;
pub mod upstream_repos;
pub mod versions;
pub mod yaml;
