//! `rhdh-catalog report`: the `finally` summary of a pipeline run, one markdown table of every
//! task's status (Tekton's `$(tasks.<name>.status)`: Succeeded, Failed, None), whatever failed.
//! It never fails the run itself: bad statuses are shown, not rejected.

use std::fmt::Write as _;

use crate::cli::ReportArgs;
use crate::error::ExitStatus;

/// The Tekton results this step writes (`--results-dir`).
pub const RESULTS: [&str; 1] = ["summary"];

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitStatus> {
    let markdown = render(&args.status, &args.tasks);
    print!("{markdown}");
    if let Some(path) = &args.output {
        crate::io::fs::write_atomic(path, markdown.as_bytes())?;
    }
    let failed: Vec<&str> = args
        .tasks
        .iter()
        .filter_map(|task| task.split_once('='))
        .filter(|(_, status)| *status == "Failed")
        .map(|(name, _)| name)
        .collect();
    let summary =
        if failed.is_empty() { args.status.clone() } else { format!("{}: failed {}", args.status, failed.join(", ")) };
    crate::io::tekton_results::Results::new(args.results_dir.as_deref()).write(RESULTS[0], &summary)?;
    Ok(ExitStatus::Success)
}

/// The markdown summary. Pure.
pub fn render(status: &str, tasks: &[String]) -> String {
    let mark = |status: &str| match status {
        "Succeeded" | "Completed" => "✅",
        "Failed" => "❌",
        "None" => "⏭️ not run",
        _ => "❔",
    };
    let mut out = format!("## rhdh-catalog sync: {status} {}\n\n| task | status |\n|---|---|\n", mark(status));
    for task in tasks {
        let (name, task_status) = task.split_once('=').unwrap_or((task.as_str(), "unknown"));
        let _ = writeln!(out, "| {name} | {task_status} {} |", mark(task_status));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_of_statuses() {
        let markdown =
            super::render("Failed", &["fetch=Succeeded".into(), "export=Failed".into(), "commit=None".into()]);
        assert_eq!(
            markdown,
            "## rhdh-catalog sync: Failed ❌\n\n| task | status |\n|---|---|\n| fetch | Succeeded ✅ |\n| export | Failed ❌ |\n| commit | None ⏭️ not run |\n"
        );
    }
}
