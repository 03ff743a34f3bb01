//! Tekton results: the one writer of `$(results.<name>.path)` files, and the size Tekton gives
//! them. Values are written verbatim (no trailing newline).
//!
//! How Tekton carries them (tektoncd/pipeline, cmd/entrypoint and pkg/termination): when a step
//! ends, its entrypoint reads every declared result file present in `/tekton/results` (not only
//! the ones this step wrote) and writes them, with an internal `StartedAt` entry, as the step
//! container's termination message: a JSON array of `{"key": name, "value": text, "type": n}`,
//! strings escaped as Go's encoding/json escapes them (`<`, `>`, `&` as `\u003c`…). A message over
//! 4096 bytes fails the TaskRun ("Termination message is above max allowed size 4096, caused by
//! large task result"), and Kubernetes keeps at most 12 KiB of messages per pod, shared equally by
//! its containers, so a Task of N steps has `min(4096, 12288 / N)` per step. [`Results::write`]
//! refuses a value that would bring the step's own results over the 4096; the local runner checks
//! every declared result of the Task against the step's share after every step
//! ([`termination_message_len`], [`container_share`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The termination message of one container, as Tekton checks it.
pub(crate) const CONTAINER_MESSAGE_BYTES: usize = 4096;

/// The termination messages of all containers of a pod, as the kubelet keeps them.
pub(crate) const POD_MESSAGE_BYTES: usize = 12 * 1024;

/// Result type of a task result in the termination message (`TaskRunResultType`).
const TASK_RESULT_TYPE: u8 = 1;

/// The internal entry every step's message carries: `StartedAt`, formatted
/// `2006-01-02T15:04:05.000Z07:00`, type `InternalTektonResultType` (3).
const STARTED_AT_ENTRY: &str = r#"{"key":"StartedAt","value":"2026-01-02T15:04:05.000Z","type":3}"#;

/// What one container may carry in a pod of `containers` (Tekton's 4096, and the kubelet's 12 KiB
/// shared equally).
pub(crate) fn container_share(containers: usize) -> usize {
    CONTAINER_MESSAGE_BYTES.min(POD_MESSAGE_BYTES / containers.max(1))
}

/// `text` as Go's encoding/json writes a string (quotes included): `"` and `\` escaped, `\n`,
/// `\r`, `\t` as such, other control characters, `<`, `>`, `&`, U+2028 and U+2029 as `\u00XX`,
/// invalid UTF-8 as `\ufffd`.
pub(crate) fn go_json_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for character in chunk.valid().chars() {
            match character {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                    let _ = write!(out, "\\u{:04x}", u32::from(character));
                }
                control if u32::from(control) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", u32::from(control));
                }
                other => out.push(other),
            }
        }
        // Go writes one replacement character per byte that is not UTF-8.
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
    out
}

/// The termination message a step leaves with these results (name, bytes of the file).
pub(crate) fn termination_message(results: &[(String, Vec<u8>)]) -> String {
    let mut entries: Vec<String> = results
        .iter()
        .map(|(name, value)| {
            format!(
                r#"{{"key":{},"value":{},"type":{TASK_RESULT_TYPE}}}"#,
                go_json_string(name.as_bytes()),
                go_json_string(value)
            )
        })
        .collect();
    entries.push(STARTED_AT_ENTRY.to_string());
    format!("[{}]", entries.join(","))
}

/// The length of [`termination_message`].
pub(crate) fn termination_message_len(results: &[(String, Vec<u8>)]) -> usize {
    termination_message(results).len()
}

/// The `declared` result files present in `dir`, with their contents; a file too large for any
/// message counts as larger than a pod's messages.
pub(crate) fn present_results(dir: &Path, declared: &[String]) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !declared.contains(&name) {
            continue;
        }
        let Ok(metadata) = entry.metadata() else { continue };
        if !metadata.is_file() {
            continue;
        }
        let size = usize::try_from(metadata.len()).unwrap_or(usize::MAX);
        let value = if size > POD_MESSAGE_BYTES {
            vec![b'x'; POD_MESSAGE_BYTES + 1]
        } else {
            crate::io::fs::read_input(&entry.path()).unwrap_or_default()
        };
        found.push((name, value));
    }
    found.sort();
    found
}

/// Writes named results into a directory (Tekton's `/tekton/results`), or nowhere when unset.
#[derive(Clone, Debug, Default)]
pub(crate) struct Results {
    dir: Option<PathBuf>,
    /// What this step wrote, for the size of its termination message. Results of earlier steps
    /// of the Task count too on a cluster; the step does not know which files of the folder are
    /// declared results, the local runner does and checks them after every step.
    written: std::cell::RefCell<Vec<(String, Vec<u8>)>>,
}

impl Results {
    pub(crate) fn new(dir: Option<&Path>) -> Self {
        Results { dir: dir.map(Path::to_path_buf), written: std::cell::RefCell::default() }
    }

    /// Writes one result. The step's results, as Tekton encodes them in its termination message,
    /// must stay within Tekton's 4096 bytes.
    pub(crate) fn write(&self, name: &str, value: &str) -> anyhow::Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let mut results: Vec<(String, Vec<u8>)> =
            self.written.borrow().iter().filter(|(written, _)| written != name).cloned().collect();
        results.push((name.to_string(), value.as_bytes().to_vec()));
        let total = termination_message_len(&results);
        if total > CONTAINER_MESSAGE_BYTES {
            anyhow::bail!(
                "result `{name}` ({} bytes) would bring this step's termination message to {total} bytes (its results as Tekton encodes them: JSON with key, value and type each), over Tekton's {CONTAINER_MESSAGE_BYTES}; pass large data as a file (trusted artifact) instead",
                value.len()
            );
        }
        let path = dir.join(name);
        crate::io::fs::write_atomic(&path, value.as_bytes())
            .with_context(|| format!("writing result {}", path.display()))?;
        *self.written.borrow_mut() = results;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_verbatim_and_bounded_as_tekton_encodes_them() {
        let dir = tempfile::tempdir().unwrap();
        let results = Results::new(Some(dir.path()));
        results.write("batches", r#"["0","1"]"#).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("batches")).unwrap(), r#"["0","1"]"#);
        // The raw value fits 4096, its encoding does not: every quote is escaped.
        let quoted = "\"".repeat(2100);
        let error = results.write("big", &quoted).unwrap_err();
        assert!(error.to_string().contains("over Tekton's 4096"), "{error}");
        assert!(!dir.path().join("big").exists());
        // What this step wrote before counts; other files of the folder are the runner's to judge.
        std::fs::write(dir.path().join("status.html"), "x".repeat(9000)).unwrap();
        results.write("first", &"x".repeat(3900)).unwrap();
        let error = results.write("small", &"y".repeat(100)).unwrap_err().to_string();
        assert!(error.contains("would bring this step's termination message to"), "{error}");
        results.write("first", "rewritten, smaller").unwrap();
        results.write("small", &"y".repeat(100)).unwrap();
        Results::new(None).write("anything", "ok").unwrap();
    }

    #[test]
    fn the_message_is_what_the_entrypoint_writes() {
        let message = termination_message(&[("commit".into(), b"abc\n<&>".to_vec())]);
        assert_eq!(
            message,
            r#"[{"key":"commit","value":"abc\n\u003c\u0026\u003e","type":1},{"key":"StartedAt","value":"2026-01-02T15:04:05.000Z","type":3}]"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&message).unwrap();
        assert_eq!(parsed[0]["value"], "abc\n<&>");
        assert_eq!(go_json_string(b"\x01\xff\xfe\xe2\x80\xa8"), r#""\u0001\ufffd\ufffd\u2028""#);
        assert_eq!(go_json_string("\u{fffd}".as_bytes()), "\"\u{fffd}\"", "a real U+FFFD stays as it is");
        assert_eq!(container_share(1), 4096);
        assert_eq!(container_share(3), 4096);
        assert_eq!(container_share(4), 3072);
        assert_eq!(container_share(10), 1228);
    }
}
