//! Running the build of a workspace and the plugin exporter (`rhdh-cli plugin export` by default):
//! shell commands given on the command line, run in a folder, their output kept in a log file;
//! a failure carries the last lines of that log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// Lines of a failed command's log shown in reports.
pub(crate) const LOG_TAIL_LINES: usize = 25;

#[derive(Debug, Clone, thiserror::Error)]
#[error("`{command}` {outcome}")]
pub(crate) struct CommandFailure {
    pub(crate) command: String,
    pub(crate) outcome: String,
    pub(crate) log: PathBuf,
    pub(crate) log_tail: Vec<String>,
}

/// Quotes one argument for `sh -c`.
pub(crate) fn shell_quote(argument: &str) -> String {
    if !argument.is_empty()
        && argument.chars().all(|character| character.is_ascii_alphanumeric() || "@%+=:,./_-".contains(character))
    {
        argument.to_string()
    } else {
        format!("'{}'", argument.replace('\'', "'\\''"))
    }
}

/// Runs `command` with `sh -c` in `dir` with extra environment variables `env`, appending its
/// output to `log`.
pub(crate) async fn run_logged_with(
    command: &str,
    dir: &Path,
    log: &Path,
    timeout: Duration,
    env: &[(String, String)],
) -> Result<(), CommandFailure> {
    let failure = |outcome: String| CommandFailure {
        command: command.to_string(),
        outcome,
        log: log.to_path_buf(),
        log_tail: tail(log),
    };
    if let Some(parent) = log.parent() {
        let _ = fs_err::create_dir_all(parent);
    }
    let mut file = match tokio::fs::OpenOptions::new().create(true).append(true).open(log).await {
        Ok(file) => file,
        Err(error) => return Err(failure(format!("could not open its log {}: {error}", log.display()))),
    };
    let _ = file.write_all(format!("$ {command}\n").as_bytes()).await;
    let stdout = match file.try_clone().await {
        Ok(clone) => clone.into_std().await,
        Err(error) => return Err(failure(format!("could not open its log: {error}"))),
    };
    let stderr = match file.try_clone().await {
        Ok(clone) => clone.into_std().await,
        Err(error) => return Err(failure(format!("could not open its log: {error}"))),
    };
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("YARN_ENABLE_IMMUTABLE_INSTALLS", "false")
        .env("YARN_ENABLE_PROGRESS_BARS", "false")
        .env("CI", "true")
        .envs(env.iter().map(|(key, value)| (key.as_str(), value.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => return Err(failure(format!("could not start: {error}"))),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(failure(format!("failed ({status})"))),
        Ok(Err(error)) => Err(failure(format!("could not be waited for: {error}"))),
        Err(_) => {
            let _ = child.kill().await;
            Err(failure(format!("timed out after {}s", timeout.as_secs())))
        }
    }
}

/// The last [`LOG_TAIL_LINES`] lines of a log (read from its last 64 KiB, however long it grew).
pub(crate) fn tail(log: &Path) -> Vec<String> {
    let text = crate::io::fs::read_end(log, 64 * 1024)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].iter().map(|line| (*line).to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("--embed-package"), "--embed-package");
        assert_eq!(shell_quote("@backstage/plugin-x"), "@backstage/plugin-x");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[tokio::test]
    async fn failures_carry_the_log_tail() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/x.log");
        run_logged_with("echo fine", dir.path(), &log, Duration::from_secs(10), &[]).await.unwrap();
        let failure = run_logged_with("echo broken >&2; exit 3", dir.path(), &log, Duration::from_secs(10), &[])
            .await
            .unwrap_err();
        assert!(failure.outcome.contains("exit status: 3"), "{failure}");
        assert_eq!(failure.log_tail.last().map(String::as_str), Some("broken"));
        let failure = run_logged_with("sleep 5", dir.path(), &log, Duration::from_millis(200), &[]).await.unwrap_err();
        assert!(failure.outcome.contains("timed out"));
    }
}
