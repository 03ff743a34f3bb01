//! TaskRuns the local runner need not run again. A Task that says so (the annotation
//! [`REUSABLE_ANNOTATION`]) is a function of its definition, its params (artifact URIs name their
//! content by digest), the runner's environment and this binary, plus what its steps observed
//! outside those (`io::observed`: remote heads, or "cannot be repeated"). After a TaskRun
//! succeeds the runner records all of that with its results under `<out>/state/reuse/`; the next
//! TaskRun of the same name with the same key, whose observations still hold and whose artifacts
//! are still stored, takes the recorded results without starting a step or restoring anything
//! (its folder is the recorded run's, untouched). A record is removed before its TaskRun runs
//! again, so a run stopped half-way leaves none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::io::observed::Observed;

/// The Task annotation that lets the local runner reuse a recorded TaskRun (value `"true"`).
pub(crate) const REUSABLE_ANNOTATION: &str = "rhdh-catalog.io/reusable";

/// Params that only say where a task pushes its artifacts: their tag and expiry do not change
/// what the results name (an artifact URI is `oci:<repository>@sha256:<digest>`), so the key
/// holds the repository alone.
const STORAGE_PARAMS: [&str; 2] = ["ociStorage", "ociArtifactExpiresAfter"];

/// A Task definition as the key sees it: the digest of its YAML and whether it may be reused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Definition {
    digest: String,
    pub(crate) reusable: bool,
}

/// The embedded Task of `file` (as `definitions::TASKS` names it); a Task that is not embedded
/// (a test's) is never reused.
pub(crate) fn definition(file: &str) -> Definition {
    let Some((_, text)) = crate::pipeline::definitions::TASKS.iter().find(|(name, _)| *name == file) else {
        return Definition { digest: String::new(), reusable: false };
    };
    let reusable = crate::formats::yaml::from_str::<Value>(Path::new(file), text)
        .ok()
        .is_some_and(|value| value["metadata"]["annotations"][REUSABLE_ANNOTATION] == "true");
    Definition { digest: hex::encode(Sha256::digest(text.as_bytes())), reusable }
}

/// Everything a TaskRun's outcome follows from, but for what its steps observe.
pub(crate) struct Inputs<'a> {
    pub(crate) definition: &'a Definition,
    /// Param name → its values (one, or an array's).
    pub(crate) params: BTreeMap<String, Vec<String>>,
    /// The runner's environment for steps.
    pub(crate) env: &'a [(String, String)],
    /// Task workspace → the folder bound to it.
    pub(crate) workspaces: &'a BTreeMap<String, Option<PathBuf>>,
    /// The binary the steps run.
    pub(crate) tool: &'a Path,
}

/// sha256 over named fields, each name and value delimited: the form of every key here.
struct KeyHasher(Sha256);

impl KeyHasher {
    /// A key that starts with this binary: its version and where it lies, its size and time.
    fn of_tool(tool: &Path) -> KeyHasher {
        let mut hasher = KeyHasher(Sha256::new());
        hasher.field("tool-version", crate::TOOL_VERSION);
        let binary = std::fs::metadata(tool).ok().map(|metadata| {
            let modified = metadata.modified().ok().and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}:{}:{modified:?}", tool.display(), metadata.len())
        });
        hasher.field("tool", &binary.unwrap_or_default());
        hasher
    }

    fn field(&mut self, name: &str, value: &str) {
        self.0.update(name.as_bytes());
        self.0.update([0]);
        self.0.update(value.as_bytes());
        self.0.update([0xff]);
    }

    fn finish(self) -> String {
        format!("sha256:{}", hex::encode(self.0.finalize()))
    }
}

/// The key of `inputs`: sha256 over all of it, the storage params cut to their repository.
pub(crate) fn key(inputs: &Inputs<'_>) -> String {
    let mut hasher = KeyHasher::of_tool(inputs.tool);
    hasher.field("definition", &inputs.definition.digest);
    for (name, values) in &inputs.params {
        let values: Vec<String> = if STORAGE_PARAMS.contains(&name.as_str()) {
            values.iter().filter(|_| name == "ociStorage").map(|value| repository_of(value).to_string()).collect()
        } else {
            values.clone()
        };
        hasher.field(&format!("param {name}"), &values.join("\n"));
    }
    for (name, value) in inputs.env {
        hasher.field(&format!("env {name}"), value);
    }
    for (name, folder) in inputs.workspaces {
        hasher.field(
            &format!("workspace {name}"),
            &folder.as_ref().map(|folder| folder.display().to_string()).unwrap_or_default(),
        );
    }
    hasher.finish()
}

/// The key of a step the runner runs outside any Task (the sync's status page): this binary,
/// its arguments, the environment it inherits, and `read` — for each TaskRun whose folder it
/// reads, what names that folder's content (its status and results: artifact URIs name their
/// content by digest).
pub(crate) fn step_key(tool: &Path, args: &[String], env: &[(String, String)], read: &[(String, String)]) -> String {
    let mut hasher = KeyHasher::of_tool(tool);
    for arg in args {
        hasher.field("arg", arg);
    }
    for (name, value) in env {
        hasher.field(&format!("env {name}"), value);
    }
    for (name, value) in read {
        hasher.field(&format!("read {name}"), value);
    }
    hasher.finish()
}

/// `registry/repository` of `registry/repository[:tag]`.
pub(crate) fn repository_of(reference: &str) -> &str {
    match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => reference,
    }
}

/// A recorded TaskRun.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) key: String,
    pub(crate) results: BTreeMap<String, Value>,
    pub(crate) observed: Vec<Observed>,
}

fn path(state: &Path, run: &str) -> PathBuf {
    state.join("reuse").join(format!("{run}.json"))
}

/// The record of TaskRun `run`, if one reads.
pub(crate) fn load(state: &Path, run: &str) -> Option<Record> {
    serde_json::from_slice(&crate::io::fs::read_input(&path(state, run)).ok()?).ok()
}

/// Removes the record of `run` (before it runs again).
pub(crate) fn forget(state: &Path, run: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path(state, run)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Records `run`.
pub(crate) fn save(state: &Path, run: &str, record: &Record) -> anyhow::Result<()> {
    crate::io::fs::write_atomic(&path(state, run), &crate::formats::json::to_pretty(record))
}

/// Why what a recorded run observed does not hold any more (`None`: it all holds). Remote heads
/// are asked again, all at once (one `git ls-remote` each).
pub(crate) async fn changed_since(observed: &[Observed]) -> Option<String> {
    if let Some(Observed::Unrepeatable(why)) = observed.iter().find(|seen| matches!(seen, Observed::Unrepeatable(_))) {
        return Some(format!("the recorded run cannot be repeated from its inputs ({why})"));
    }
    let heads = observed.iter().filter_map(|seen| match seen {
        Observed::GitHead { url, candidates, head } => Some((url, candidates, head)),
        Observed::Unrepeatable(_) => None,
    });
    let checks = heads.map(|(url, candidates, head)| async move {
        match crate::io::git::remote_head(url, candidates, &crate::io::git::GitAuth::None).await {
            Ok(now) if &now == head => None,
            Ok(_) => Some(format!("{} moved", crate::io::git::strip_credentials(url))),
            Err(error) => Some(format!("{error}")),
        }
    });
    futures::future::join_all(checks).await.into_iter().flatten().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_every_input_but_the_tag_of_the_storage() {
        let definition = Definition { digest: "d".into(), reusable: true };
        let workspaces = BTreeMap::new();
        let env = vec![("RHDH_CATALOG_STORE".to_string(), "oci-layout:/x".to_string())];
        let inputs = |storage: &str, artifact: &str| Inputs {
            definition: &definition,
            params: [
                ("ociStorage".to_string(), vec![storage.to_string()]),
                ("PLAN_ARTIFACT".to_string(), vec![artifact.to_string()]),
            ]
            .into(),
            env: &env,
            workspaces: &workspaces,
            tool: Path::new("/bin/sh"),
        };
        let base = key(&inputs("localhost/sync:abc.fetch", "oci:r@sha256:1"));
        assert_eq!(base, key(&inputs("localhost/sync:def.fetch", "oci:r@sha256:1")), "another tag, same key");
        assert_ne!(base, key(&inputs("localhost/other:abc.fetch", "oci:r@sha256:1")), "another repository");
        assert_ne!(base, key(&inputs("localhost/sync:abc.fetch", "oci:r@sha256:2")), "another artifact");
        let other = Definition { digest: "e".into(), reusable: true };
        assert_ne!(base, key(&Inputs { definition: &other, ..inputs("localhost/sync:abc.fetch", "oci:r@sha256:1") }));
    }

    #[test]
    fn only_annotated_tasks_are_reusable() {
        let reusable: Vec<&str> = crate::pipeline::definitions::TASKS
            .iter()
            .filter(|(file, _)| definition(file).reusable)
            .map(|(file, _)| file.rsplit('/').next().unwrap_or_default())
            .collect();
        assert_eq!(
            reusable,
            [
                "rhdh-catalog-fetch.yaml",
                "rhdh-catalog-export.yaml",
                "rhdh-catalog-release-number.yaml",
                "rhdh-catalog-commit.yaml",
                "rhdh-catalog-report.yaml"
            ],
            "index asks the registry every time: never reused"
        );
        assert!(!definition("t.yaml").reusable);
    }

    #[tokio::test]
    async fn an_unrepeatable_observation_is_never_reused() {
        assert_eq!(changed_since(&[]).await, None);
        assert!(changed_since(&[Observed::Unrepeatable("pushed".into())]).await.unwrap().contains("pushed"));
    }
}
