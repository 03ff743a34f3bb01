//! `rhdh-catalog report`: the `finally` summary of a pipeline run, one markdown table of every
//! task's status (Tekton's `$(tasks.<name>.status)`: Succeeded, Failed, None), whatever failed.
//! It never fails the run itself: bad statuses are shown, not rejected.

use std::path::PathBuf;

use crate::domain::run_report::{TaskLine, TaskStatus, render_markdown, summary_line};
use crate::error::ExitStatus;

/// The one-line summary result.
pub(crate) const RESULT_SUMMARY: &str = "summary";
/// The Tekton results this step writes (`--results-dir`).
pub const RESULTS: [&str; 1] = [RESULT_SUMMARY];

#[derive(Debug)]
pub struct ReportSettings {
    /// The aggregate status, `$(tasks.status)`.
    pub(crate) status: TaskStatus,
    pub(crate) tasks: Vec<TaskLine>,
    /// Also write the markdown here.
    pub(crate) output: Option<PathBuf>,
    pub(crate) results_dir: Option<PathBuf>,
}

pub(crate) fn run(settings: &ReportSettings) -> anyhow::Result<ExitStatus> {
    let markdown = render_markdown(&settings.status, &settings.tasks);
    print!("{markdown}");
    if let Some(path) = &settings.output {
        crate::io::fs::write_atomic(path, markdown.as_bytes())?;
    }
    crate::io::tekton_results::Results::new(settings.results_dir.as_deref())
        .write(RESULT_SUMMARY, &summary_line(&settings.status, &settings.tasks))?;
    Ok(ExitStatus::Success)
}
