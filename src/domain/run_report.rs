//! The summary of a pipeline run: every task's Tekton status (`$(tasks.<name>.status)`) and the
//! aggregate (`$(tasks.status)`), rendered as one markdown table (alone, or as a section of the
//! status page, [`crate::domain::status`]). Pure.

use std::fmt;
use std::fmt::Write as _;

use crate::domain::text::{markdown_block, markdown_code, markdown_text};

use serde::{Deserialize, Serialize};

/// A task's (or the whole run's) status, as Tekton names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum TaskStatus {
    Succeeded,
    /// The aggregate when some tasks were skipped and none failed.
    Completed,
    Failed,
    /// Not run (skipped by `when`, or after a failure).
    #[default]
    None,
    /// Anything else Tekton may report, kept verbatim.
    Other(String),
}

impl TaskStatus {
    pub(crate) fn parse(text: &str) -> TaskStatus {
        match text.trim() {
            "Succeeded" => TaskStatus::Succeeded,
            "Completed" => TaskStatus::Completed,
            "Failed" => TaskStatus::Failed,
            "None" => TaskStatus::None,
            other => TaskStatus::Other(other.to_string()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            TaskStatus::Succeeded => "Succeeded",
            TaskStatus::Completed => "Completed",
            TaskStatus::Failed => "Failed",
            TaskStatus::None => "None",
            TaskStatus::Other(other) => other,
        }
    }

    /// A mark beside the word, so colour-blind and plain-text readers get the same meaning.
    pub(crate) fn mark(&self) -> &'static str {
        match self {
            TaskStatus::Succeeded | TaskStatus::Completed => "✅",
            TaskStatus::Failed => "❌",
            TaskStatus::None => "⏭️",
            TaskStatus::Other(_) => "❔",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for TaskStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(TaskStatus::parse(&String::deserialize(deserializer)?))
    }
}

/// One task of the run and its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TaskLine {
    pub(crate) name: String,
    pub(crate) status: TaskStatus,
}

impl TaskLine {
    /// `name=status`, as the report Task passes `export=$(tasks.export.status)`.
    pub(crate) fn parse(text: &str) -> Result<TaskLine, String> {
        match text.split_once('=') {
            Some((name, status)) if !name.trim().is_empty() => {
                Ok(TaskLine { name: name.trim().to_string(), status: TaskStatus::parse(status) })
            }
            _ => Err(format!("`{text}` is not `<task>=<status>`")),
        }
    }
}

/// The heading of a run's summary: `## rhdh-catalog sync: <status> <mark>`.
pub(crate) fn heading(status: &TaskStatus) -> String {
    format!("## rhdh-catalog sync: {} {}", markdown_text(status.as_str()), status.mark())
}

/// The rows of the task table, after its head (`| task | status |`).
pub(crate) fn task_rows(tasks: &[TaskLine]) -> Vec<String> {
    tasks
        .iter()
        .map(|task| match task.status {
            // Tekton's word for a task that did not run is "None": a reader is told what happened.
            TaskStatus::None => format!("| {} | skipped ⏭️ |\n", markdown_text(&task.name)),
            _ => format!(
                "| {} | {} {} |\n",
                markdown_text(&task.name),
                markdown_text(task.status.as_str()),
                task.status.mark()
            ),
        })
        .collect()
}

/// The head of the task table.
pub(crate) const TASK_TABLE_HEAD: &str = "| task | status |\n|---|---|\n";

/// The markdown table of every task.
pub(crate) fn render_markdown(status: &TaskStatus, tasks: &[TaskLine]) -> String {
    let mut out = format!("{}\n\n{TASK_TABLE_HEAD}", heading(status));
    for row in task_rows(tasks) {
        out.push_str(&row);
    }
    out
}

/// Why a task failed, or why it did not run: what the runner said, the lines of its log that
/// hold the error, and the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TaskCause {
    pub(crate) task: String,
    /// The task did not run (skipped by `when`, or after a failure).
    pub(crate) skipped: bool,
    /// The runner's one line: `step export exited with exit status: 1`, `export did not succeed`.
    pub(crate) head: String,
    /// The log lines that say what went wrong ([`cause_lines`]).
    pub(crate) lines: Vec<String>,
    pub(crate) log: Option<std::path::PathBuf>,
}

impl TaskCause {
    /// One line: the error the log ends with, else the runner's line.
    pub(crate) fn summary(&self) -> String {
        let error = self.lines.iter().find(|line| line.trim_start().starts_with("error:"));
        error.or(self.lines.last()).map_or_else(|| self.head.clone(), |line| line.trim().to_string())
    }
}

/// Lines of a log's tail that hold the error: from the first `error:` line on (the chain and its
/// hint), else the last ten lines. Each line at most 300 characters, at most 20 lines.
pub(crate) fn cause_lines(tail: &[String]) -> Vec<String> {
    let start = tail
        .iter()
        .position(|line| line.trim_start().starts_with("error:"))
        .unwrap_or_else(|| tail.len().saturating_sub(10));
    tail[start..]
        .iter()
        .filter(|line| !line.trim().is_empty())
        .take(20)
        .map(|line| match line.char_indices().nth(300) {
            Some((end, _)) => format!("{}…", &line[..end]),
            None => line.clone(),
        })
        .collect()
}

/// The task table, then why each failed task failed (its error lines as text, its log) and why
/// each skipped task was skipped.
pub(crate) fn render_markdown_with_causes(status: &TaskStatus, tasks: &[TaskLine], causes: &[TaskCause]) -> String {
    let mut out = render_markdown(status, tasks);
    let failed: Vec<&TaskCause> = causes.iter().filter(|cause| !cause.skipped).collect();
    if !failed.is_empty() {
        out.push_str("\n### Why\n\n");
    }
    for cause in failed {
        let _ = writeln!(out, "**{}** failed: {}", markdown_text(&cause.task), markdown_code(&cause.head));
        if let Some(log) = &cause.log {
            let _ = writeln!(out, "log: {}", markdown_code(&log.display().to_string()));
        }
        if !cause.lines.is_empty() {
            out.push_str(&markdown_block(&cause.lines));
        }
        out.push('\n');
    }
    let skipped: Vec<String> = causes
        .iter()
        .filter(|cause| cause.skipped)
        .map(|cause| format!("- **{}**: {}\n", markdown_text(&cause.task), markdown_code(&cause.head)))
        .collect();
    if !skipped.is_empty() {
        out.push_str("\n### Not run\n\n");
        for line in skipped {
            out.push_str(&line);
        }
    }
    out
}

/// One line for a Tekton result: the aggregate, and the failed tasks when there are any.
pub(crate) fn summary_line(status: &TaskStatus, tasks: &[TaskLine]) -> String {
    let failed: Vec<&str> =
        tasks.iter().filter(|task| task.status == TaskStatus::Failed).map(|task| task.name.as_str()).collect();
    if failed.is_empty() { status.to_string() } else { format!("{status}: failed {}", failed.join(", ")) }
}

/// A code span (or other markdown of ours) safe inside a table cell: `|` escaped, line breaks as
/// spaces. Text from content goes through [`markdown_text`], which escapes `|` itself.
pub(crate) fn table_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(pairs: &[&str]) -> Vec<TaskLine> {
        pairs.iter().map(|pair| TaskLine::parse(pair).unwrap()).collect()
    }

    #[test]
    fn table_of_statuses() {
        let markdown =
            render_markdown(&TaskStatus::Failed, &lines(&["fetch=Succeeded", "export=Failed", "commit=None"]));
        assert_eq!(
            markdown,
            "## rhdh-catalog sync: Failed ❌\n\n| task | status |\n|---|---|\n| fetch | Succeeded ✅ |\n| export | Failed ❌ |\n| commit | skipped ⏭️ |\n"
        );
        assert_eq!(
            summary_line(&TaskStatus::Failed, &lines(&["fetch=Succeeded", "export=Failed"])),
            "Failed: failed export"
        );
    }

    #[test]
    fn causes_are_text_whatever_the_log_says() {
        let causes = [
            TaskCause {
                task: "index".into(),
                skipped: false,
                head: "step index exited with exit status: 1".into(),
                lines: vec!["error: <img src=x> @octocat".into(), "```".into(), "### injected".into()],
                log: Some("/out/runs/index/index.log".into()),
            },
            TaskCause {
                task: "commit".into(),
                skipped: true,
                head: "index did not succeed".into(),
                lines: Vec::new(),
                log: None,
            },
        ];
        let markdown =
            render_markdown_with_causes(&TaskStatus::Failed, &lines(&["index=Failed", "commit=None"]), &causes);
        assert!(markdown.contains("**index** failed: `step index exited with exit status: 1`"), "{markdown}");
        assert!(markdown.contains("log: `/out/runs/index/index.log`"), "{markdown}");
        assert!(
            markdown.contains("````text\nerror: <img src=x> @octocat\n```\n### injected\n````\n"),
            "a fence no line closes: {markdown}"
        );
        assert!(markdown.contains("### Not run\n\n- **commit**: `index did not succeed`"), "{markdown}");
        assert_eq!(causes[0].summary(), "error: <img src=x> @octocat");
    }

    #[test]
    fn lines_need_a_name_and_cells_cannot_break_the_table() {
        assert!(TaskLine::parse("fetch").is_err());
        assert!(TaskLine::parse("=Failed").is_err());
        let markdown = render_markdown(&TaskStatus::Succeeded, &lines(&["a|b=Succeeded"]));
        assert!(markdown.contains("| a\\|b | Succeeded ✅ |"), "{markdown}");
    }
}
