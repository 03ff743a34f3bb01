//! The pure core: no files, no network, no processes, no async. Values in, values out, unit-tested
//! beside the code. [`catalog`] is the index (which plugins, pinned how, rendered into which files,
//! what changed); [`workspace`] is the export side (plans, batches, preparing sources);
//! [`midstream`] the paths of the midstream repository the pipeline manages;
//! [`validate`] the installer's rules; [`run_report`] and [`status`] the run's summary and status
//! page; [`push_token`] how long push credentials live; [`text`] small wording helpers.

pub mod catalog;
pub mod install_verification;
pub mod midstream;
pub mod overlay;
pub mod push_token;
pub mod run_report;
pub mod status;
pub mod text;
pub mod validate;
pub mod workspace;
