//! Tekton results: the one writer of `$(results.<name>.path)` files. Values are written verbatim
//! (no trailing newline) and refused, with a clear error, when they would not fit the 4096 bytes a
//! step's termination message holds.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The termination-message budget of one step container.
pub(crate) const RESULT_BUDGET_BYTES: usize = 4096;

/// Writes named results into a directory (Tekton's `/tekton/results`), or nowhere when unset.
#[derive(Clone, Debug, Default)]
pub(crate) struct Results {
    dir: Option<PathBuf>,
    written: std::cell::Cell<usize>,
}

impl Results {
    pub(crate) fn new(dir: Option<&Path>) -> Self {
        Results { dir: dir.map(Path::to_path_buf), written: std::cell::Cell::new(0) }
    }

    /// Writes one result. All results of a step share the budget.
    pub(crate) fn write(&self, name: &str, value: &str) -> anyhow::Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let total = self.written.get() + value.len();
        if total > RESULT_BUDGET_BYTES {
            anyhow::bail!(
                "result `{name}` ({} bytes) would bring this step's results to {total} bytes, over Tekton's {RESULT_BUDGET_BYTES}; \
                 pass large data as a file (trusted artifact) instead",
                value.len()
            );
        }
        let path = dir.join(name);
        crate::io::fs::write_atomic(&path, value.as_bytes())
            .with_context(|| format!("writing result {}", path.display()))?;
        self.written.set(total);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_verbatim_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let results = Results::new(Some(dir.path()));
        results.write("batches", r#"["0","1"]"#).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("batches")).unwrap(), r#"["0","1"]"#);
        let error = results.write("big", &"x".repeat(4090)).unwrap_err();
        assert!(error.to_string().contains("over Tekton's 4096"), "{error}");
        assert!(!dir.path().join("big").exists());
        Results::new(None).write("anything", "ok").unwrap();
    }
}
