//! Applying overlay patches with GNU `patch`, with the semantics the overlay repository relies on
//! (`patch -l -f`, `-p1` for git-style patches else `-p0`, offsets and fuzz accepted). Each patch
//! is tried with `--dry-run` first, so a rejected hunk leaves the sources untouched and the error
//! shows the hunk that failed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum PatchError {
    #[error("{patch}: {problem}")]
    Rejected { patch: PathBuf, problem: String },
    #[error("{patch}: names `{file}`, a path outside the workspace")]
    Escapes { patch: PathBuf, file: String },
    #[error("cannot run GNU patch: {0} (install the `patch` package)")]
    Missing(String),
}

/// `-p1` for git-style patches (`diff --git` or `--- a/`), `-p0` otherwise.
pub(crate) fn strip_level(text: &str) -> u8 {
    u8::from(text.lines().any(|line| line.starts_with("diff --git") || line.starts_with("--- a/")))
}

/// Paths a patch touches, after stripping `level` components.
fn touched_files(text: &str, level: u8) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("+++ ").or_else(|| line.strip_prefix("--- ")))
        .map(|rest| rest.split('\t').next().unwrap_or(rest).trim())
        .filter(|path| *path != "/dev/null")
        .map(|path| path.splitn(usize::from(level) + 1, '/').last().unwrap_or(path).to_string())
        .collect()
}

/// Applies one patch file inside `dir`; returns patch's output (offsets, fuzz) for the log.
pub(crate) async fn apply(patch: &Path, dir: &Path) -> Result<String, PatchError> {
    let rejected = |problem: String| PatchError::Rejected { patch: patch.to_path_buf(), problem };
    let text = crate::io::fs::read_text(patch).map_err(|error| rejected(error.problem))?;
    let level = strip_level(&text);
    for file in touched_files(&text, level) {
        let escapes = file.starts_with('/') || file.split('/').any(|component| component == "..");
        if escapes {
            return Err(PatchError::Escapes { patch: patch.to_path_buf(), file });
        }
    }
    let run = |dry_run: bool| {
        let mut command = tokio::process::Command::new("patch");
        command
            .arg(format!("-p{level}"))
            .args(["-l", "-f", "--no-backup-if-mismatch", "-r", "-", "-i"])
            .arg(patch)
            .arg("-d")
            .arg(dir);
        if dry_run {
            command.arg("--dry-run");
        }
        command.env("LC_ALL", "C").kill_on_drop(true);
        command
    };
    let output = run(true).output().await.map_err(|error| PatchError::Missing(error.to_string()))?;
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(rejected(describe_failure(&text, &report)));
    }
    let output = run(false).output().await.map_err(|error| PatchError::Missing(error.to_string()))?;
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(rejected(describe_failure(&text, &report)));
    }
    Ok(report.trim().to_string())
}

/// patch's report plus the text of every hunk it rejected.
fn describe_failure(text: &str, report: &str) -> String {
    let mut described = report.trim().to_string();
    let mut current_file = String::new();
    for line in report.lines() {
        if let Some(file) = line.strip_prefix("checking file ").or_else(|| line.strip_prefix("patching file ")) {
            current_file = file.trim().to_string();
        }
        if let Some(rest) = line.strip_prefix("Hunk #")
            && rest.contains("FAILED")
        {
            let number: usize = rest.split_whitespace().next().and_then(|text| text.parse().ok()).unwrap_or(0);
            if let Some(hunk) = hunk_text(text, &current_file, number) {
                let _ = write!(described, "\nrejected hunk #{number} of {current_file}:\n{hunk}");
            }
        }
    }
    described
}

/// The `number`th hunk (1-based) of the file section whose path ends with `file`.
fn hunk_text(text: &str, file: &str, number: usize) -> Option<String> {
    let mut in_file = false;
    let mut seen = 0;
    let mut hunk = String::new();
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            if !hunk.is_empty() {
                return Some(hunk);
            }
            in_file = path.split('\t').next().is_some_and(|path| path.trim().ends_with(file));
            seen = 0;
            continue;
        }
        if !in_file {
            continue;
        }
        if line.starts_with("@@") {
            if !hunk.is_empty() {
                return Some(hunk);
            }
            seen += 1;
        }
        if seen == number && !line.starts_with("diff ") {
            hunk.push_str(line);
            hunk.push('\n');
        }
    }
    (!hunk.is_empty()).then_some(hunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1,2 +1,2 @@\n-one\n+ONE\n two\n@@ -8,2 +8,2 @@\n-eight\n+EIGHT\n nine\n";

    #[test]
    fn strip_level_and_files() {
        assert_eq!(strip_level(PATCH), 1);
        assert_eq!(strip_level("--- src/a.ts\n+++ src/a.ts\n"), 0);
        assert_eq!(touched_files(PATCH, 1), ["src/a.ts", "src/a.ts"]);
    }

    #[test]
    fn hunks_are_found_by_number() {
        assert_eq!(hunk_text(PATCH, "src/a.ts", 2).unwrap(), "@@ -8,2 +8,2 @@\n-eight\n+EIGHT\n nine\n");
        assert!(hunk_text(PATCH, "src/a.ts", 3).is_none());
    }
}
