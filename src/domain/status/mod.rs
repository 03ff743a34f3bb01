//! The status page of a sync run: which plugins are in the catalog, at which version, and if not,
//! why; what changed since the last index; what a person has to do. Facts in
//! ([`inputs::StatusInputs`]: the index, build and export reports, the index itself, the run's
//! task statuses), one [`page::Page`] out, laid out as HTML ([`html`]) and markdown
//! ([`markdown`], also cut to a comment's size). Pure and byte-stable: no clock, no files.

pub mod html;
pub mod inputs;
pub mod markdown;
pub mod overlay;
pub mod page;

#[cfg(test)]
mod tests;
