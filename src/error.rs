//! Exit statuses and the input error type shared by every step; `main` maps any failure to one status here.

use std::fmt;
use std::path::{Path, PathBuf};

/// What the process exit code tells a pipeline (the table in `STYLE.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// The step did its work.
    Success = 0,
    /// The step ran and found a problem: validation findings, failed plugins, missing images.
    Findings = 1,
    /// Bad input or usage: a malformed file, a flag that makes no sense. Retrying will not help.
    BadInput = 2,
    /// A registry, git remote or API server failed; a retry may fix it.
    Infrastructure = 3,
    /// Stopped by Ctrl-C (128 + SIGINT, as shells report it); what was stopped was said.
    Interrupted = 130,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Something the user gave us is wrong: which file, which line when known, what, and what to do.
#[derive(Debug, thiserror::Error)]
pub struct InputError {
    pub file: Option<PathBuf>,
    pub line: Option<u64>,
    pub problem: String,
    pub hint: Option<String>,
}

impl InputError {
    pub fn in_file(file: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        InputError { file: Some(file.as_ref().to_path_buf()), line: None, problem: problem.into(), hint: None }
    }

    /// An error about a value given on the command line or in the environment.
    pub fn usage(problem: impl Into<String>) -> Self {
        InputError { file: None, line: None, problem: problem.into(), hint: None }
    }

    #[must_use]
    pub fn at_line(mut self, line: Option<u64>) -> Self {
        self.line = line;
        self
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(formatter, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(formatter, "{}: ", file.display())?,
            (None, _) => {}
        }
        formatter.write_str(&self.problem)?;
        if let Some(hint) = &self.hint {
            write!(formatter, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// An outside service (registry, git remote, API server) failed in a way a retry may fix.
#[derive(Debug, thiserror::Error)]
#[error("{service}: {problem}")]
pub struct InfrastructureError {
    pub service: String,
    pub problem: String,
}

/// The step finished and found problems; the details were already reported.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FindingsError(pub String);

/// Classifies a failure by the first typed error found in its chain.
pub fn exit_status_of(error: &anyhow::Error) -> ExitStatus {
    for cause in error.chain() {
        if cause.is::<InputError>() {
            return ExitStatus::BadInput;
        }
        if let Some(git) = cause.downcast_ref::<crate::io::git::GitError>() {
            return if git.is_bad_input() { ExitStatus::BadInput } else { ExitStatus::Infrastructure };
        }
        if cause.is::<FindingsError>() {
            return ExitStatus::Findings;
        }
        if let Some(crate::io::registry::RegistryError::Misconfigured { .. }) = cause.downcast_ref() {
            // A registry that cannot work as configured here: a retry will not help.
            return ExitStatus::BadInput;
        }
        if let Some(crate::io::registry::RegistryError::Layout { .. }) = cause.downcast_ref() {
            // A local OCI layout folder that does not read is a wrong or corrupt input.
            return ExitStatus::BadInput;
        }
        if cause.is::<InfrastructureError>() || cause.is::<crate::io::registry::RegistryError>() {
            return ExitStatus::Infrastructure;
        }
    }
    // Anything unclassified is an environment problem (disk full, permissions): a retry
    // on another machine may fix it, bad input never reaches here.
    ExitStatus::Infrastructure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_error_names_file_line_and_hint() {
        let error = InputError::in_file("workspaces/a/source.json", "missing field `repo`")
            .at_line(Some(3))
            .with_hint("add the upstream repository URL");
        assert_eq!(
            error.to_string(),
            "workspaces/a/source.json:3: missing field `repo`\n  hint: add the upstream repository URL"
        );
    }

    #[test]
    fn chain_is_classified_by_its_typed_cause() {
        let error = anyhow::Error::new(InputError::usage("bad")).context("reading overlay");
        assert_eq!(exit_status_of(&error), ExitStatus::BadInput);
        let error = anyhow::Error::new(FindingsError("2 images missing".into()));
        assert_eq!(exit_status_of(&error), ExitStatus::Findings);
    }
}
