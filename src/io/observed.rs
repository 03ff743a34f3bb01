//! What a step saw outside its inputs, told to the local runner: the runner reuses a recorded
//! TaskRun only while everything its steps saw still holds (see `pipeline::reuse`). A step notes
//! the remote heads it read (`fetch`: every upstream's `git ls-remote`), or that its outcome cannot
//! be repeated from its inputs at all (a bump counted from the registry's tags, a pushed commit).
//! The runner names the file in `RHDH_CATALOG_OBSERVED`; on a cluster it is unset and nothing is
//! written.

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The environment variable naming the file a step appends its observations to.
pub(crate) const OBSERVED_ENV: &str = "RHDH_CATALOG_OBSERVED";

/// One thing a step saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Observed {
    /// The first of `candidates` that the repository `url` has, and its commit (`None`: none).
    GitHead { url: String, candidates: Vec<String>, head: Option<(String, String)> },
    /// The outcome depends on something a later run cannot check cheaply (why, in words).
    Unrepeatable(String),
}

/// Appends `observed` to the runner's file, when there is one. Never fails the step: an
/// observation that cannot be written only costs the next run its reuse (the runner reads a file
/// it cannot parse as "do not reuse").
pub(crate) fn note(observed: &Observed) {
    let Some(path) = std::env::var_os(OBSERVED_ENV).filter(|path| !path.is_empty()) else { return };
    let Ok(line) = serde_json::to_string(observed) else { return };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()));
    if let Err(error) = written {
        tracing::debug!(%error, "the observation for the local runner was not written");
        // A file that cannot be appended to cannot vouch for anything: make it unreadable.
        let _ = std::fs::write(&path, b"unwritable\n");
    }
}

/// What the steps of one TaskRun observed; `None` when the file does not read as observations.
pub(crate) fn read(path: &Path) -> Option<Vec<Observed>> {
    if std::fs::symlink_metadata(path).is_err() {
        return Some(Vec::new());
    }
    let text = crate::io::fs::read_text(path).ok()?;
    text.lines().filter(|line| !line.trim().is_empty()).map(|line| serde_json::from_str(line).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_round_trip_and_garbage_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("observed");
        assert_eq!(read(&path), Some(Vec::new()), "no file: nothing observed");
        let head = Observed::GitHead {
            url: "https://example.test/a.git".into(),
            candidates: vec!["main".into()],
            head: Some(("main".into(), "0".repeat(40))),
        };
        let text = format!(
            "{}\n{}\n",
            serde_json::to_string(&head).unwrap(),
            serde_json::to_string(&Observed::Unrepeatable("x".into())).unwrap()
        );
        fs_err::write(&path, text).unwrap();
        assert_eq!(read(&path), Some(vec![head, Observed::Unrepeatable("x".into())]));
        fs_err::write(&path, "unwritable\n").unwrap();
        assert_eq!(read(&path), None);
    }
}
