//! The local pipeline runner behind `rhdh-catalog sync`: it executes the embedded Tekton Pipeline
//! (the same YAML the cluster runs) in one process tree. Params and results are substituted as
//! Tekton does; `runAfter` and result references order the tasks; a matrix fans out with bounded
//! concurrency; `when` guards and `finally` run as on a cluster. Steps whose image is the tool's
//! own run the binary with the step's args, `/var/workdir` and `/tekton/results` mapped to
//! folders of the run; Trusted Artifacts land in an OCI layout (content-addressed blobs); the
//! Konflux `git-clone-oci-ta` task is emulated with `git clone`. Each task's outcome is saved, so
//! `--from <task>` re-runs from there with the earlier results.
//!
//! Workspaces: a Pipeline workspace is bound to a local folder (`sync --workspace-dir
//! NAME=DIR`); a Task's workspace gets the folder of the Pipeline workspace its pipeline task
//! binds. An optional workspace left unbound resolves as on a cluster: `$(workspaces.<name>.path)`
//! is empty and `$(workspaces.<name>.bound)` is `false`. Secrets: a `secretKeyRef` variable takes
//! its value from the runner's environment, which stands for the namespace's secrets. The
//! runner's own environment for steps (stores, commands, the extra CA) wins over a step's `env`:
//! it is what replaces the cluster's resources on this machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::run_report::TaskStatus;
use crate::error::InputError;
use crate::pipeline::definitions::{Pipeline, PipelineTask, Task, TaskRef, WorkspaceSpec, tool_image};

/// The results of one TaskRun, or why it failed.
type TaskRunResult = Result<BTreeMap<String, Value>, String>;

/// Everything a run needs from the caller.
pub(crate) struct RunOptions {
    /// Folder for task runs, saved outcomes and the report.
    pub(crate) out: PathBuf,
    pub(crate) params: BTreeMap<String, String>,
    /// Concurrent TaskRuns of one matrix.
    pub(crate) jobs: usize,
    /// Re-run from this pipeline task, reusing the saved outcomes of the tasks before it.
    pub(crate) from: Option<String>,
    /// The binary that runs tool steps.
    pub(crate) tool: PathBuf,
    /// Extra environment for every step (stores, registries); it wins over a step's own `env`.
    pub(crate) env: Vec<(String, String)>,
    /// Pipeline workspace → the local folder bound to it.
    pub(crate) workspaces: BTreeMap<String, PathBuf>,
}

/// The file (in a TaskRun's folder) its steps note what they observed in (`io::observed`).
const OBSERVED_FILE: &str = "observed.jsonl";

/// The workspaces of Konflux's `git-clone-oci-ta` the emulation reads.
const GIT_CLONE_WORKSPACES: [&str; 1] = ["basic-auth"];

/// What happened to one pipeline task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TaskOutcome {
    /// Succeeded, Failed or None (not run).
    pub(crate) status: TaskStatus,
    /// Result name → values, one per TaskRun (a matrix has several).
    pub(crate) results: BTreeMap<String, Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    #[serde(default)]
    pub(crate) millis: u64,
}

/// The whole run: every task's outcome, in execution order.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct RunOutcome {
    pub(crate) status: TaskStatus,
    pub(crate) tasks: Vec<(String, TaskOutcome)>,
}

impl RunOutcome {
    pub(crate) fn outcome(&self, name: &str) -> Option<&TaskOutcome> {
        self.tasks.iter().find(|(task, _)| task == name).map(|(_, outcome)| outcome)
    }
}

/// Tasks in an order that respects `runAfter` and result references.
pub(crate) fn execution_order(pipeline: &Pipeline) -> Result<Vec<&PipelineTask>, InputError> {
    let names: BTreeSet<&str> = pipeline.tasks.iter().map(|task| task.name.as_str()).collect();
    let mut done: Vec<&PipelineTask> = Vec::new();
    while done.len() < pipeline.tasks.len() {
        let next = pipeline.tasks.iter().find(|task| {
            !done.iter().any(|finished| finished.name == task.name)
                && dependencies(task).iter().all(|dependency| {
                    !names.contains(dependency.as_str()) || done.iter().any(|finished| &finished.name == dependency)
                })
        });
        match next {
            Some(task) => done.push(task),
            None => {
                return Err(InputError::in_file(
                    crate::pipeline::definitions::PIPELINE.0,
                    "the tasks' runAfter and result references form a cycle",
                ));
            }
        }
    }
    Ok(done)
}

/// Tasks a pipeline task waits for.
pub(crate) fn dependencies(task: &PipelineTask) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = task.run_after.iter().cloned().collect();
    let mut texts = Vec::new();
    for (_, value) in task.params.iter().chain(&task.matrix) {
        collect_strings(value, &mut texts);
    }
    for when in &task.when {
        texts.push(when.input.clone());
        texts.extend(when.values.iter().cloned());
    }
    for text in texts {
        for reference in references(&text) {
            if let Some(rest) = reference.strip_prefix("tasks.")
                && let Some((name, _)) = rest.split_once('.')
            {
                found.insert(name.to_string());
            }
        }
    }
    found
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Object(map) => map.values().for_each(|item| collect_strings(item, out)),
        _ => {}
    }
}

/// The `$(...)` expressions in a string.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) => {
                found.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    found
}

/// Values a `$(...)` expression can take.
#[derive(Clone, Debug)]
enum Resolved {
    One(String),
    Many(Vec<String>),
}

/// Substitutes every expression of `text`; a whole-string `[*]` reference becomes several strings.
fn substitute(text: &str, lookup: &dyn Fn(&str) -> Option<Resolved>) -> Result<Vec<String>, String> {
    let trimmed = text.trim();
    if trimmed.starts_with("$(") && trimmed.ends_with("[*])") && references(trimmed).len() == 1 {
        let reference = &trimmed[2..trimmed.len() - 1];
        return match lookup(reference) {
            Some(Resolved::Many(values)) => Ok(values),
            Some(Resolved::One(value)) => Ok(vec![value]),
            None => Err(format!("`$({reference})` cannot be resolved")),
        };
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find(')').ok_or_else(|| format!("unclosed `$(` in `{text}`"))?;
        let reference = &after[..end];
        match lookup(reference) {
            Some(Resolved::One(value)) => out.push_str(&value),
            Some(Resolved::Many(_)) => {
                return Err(format!("`$({reference})` is an array; use it alone as `$({reference})`"));
            }
            None => return Err(format!("`$({reference})` cannot be resolved")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(vec![out])
}

fn value_strings(value: &Value, lookup: &dyn Fn(&str) -> Option<Resolved>) -> Result<Resolved, String> {
    match value {
        Value::String(text) => {
            let values = substitute(text, lookup)?;
            let whole_array = text.trim().ends_with("[*])");
            Ok(if whole_array {
                Resolved::Many(values)
            } else {
                Resolved::One(values.into_iter().next().unwrap_or_default())
            })
        }
        Value::Array(items) => {
            let mut all = Vec::new();
            for item in items {
                match value_strings(item, lookup)? {
                    Resolved::One(value) => all.push(value),
                    Resolved::Many(values) => all.extend(values),
                }
            }
            Ok(Resolved::Many(all))
        }
        Value::Null => Ok(Resolved::One(String::new())),
        other => Ok(Resolved::One(other.to_string().trim_matches('"').to_string())),
    }
}

struct Run<'a> {
    options: &'a RunOptions,
    pipeline: &'a Pipeline,
    tasks: BTreeMap<String, Task>,
    outcomes: Vec<(String, TaskOutcome)>,
    /// Where previous TaskRun folders go (deleted in the background).
    trash: crate::pipeline::workdirs::Trash,
    /// This run, for the steps' shared artifact extractions (`artifact use --read-only`).
    id: String,
}

impl Run<'_> {
    fn outcome(&self, name: &str) -> Option<&TaskOutcome> {
        self.outcomes.iter().find(|(task, _)| task == name).map(|(_, outcome)| outcome)
    }

    fn pipeline_lookup(&self, reference: &str) -> Option<Resolved> {
        if let Some(name) = reference.strip_prefix("workspaces.").and_then(|rest| rest.strip_suffix(".bound")) {
            self.pipeline.workspaces.iter().find(|workspace| workspace.name == name)?;
            return Some(Resolved::One(self.options.workspaces.contains_key(name).to_string()));
        }
        if let Some(name) = reference.strip_prefix("params.") {
            let spec = self.pipeline.params.iter().find(|param| param.name == name)?;
            return self
                .options
                .params
                .get(name)
                .cloned()
                .or_else(|| spec.default.as_ref().and_then(Value::as_str).map(str::to_string))
                .map(Resolved::One);
        }
        if reference == "tasks.status" {
            let failed = self.outcomes.iter().any(|(_, outcome)| outcome.status == TaskStatus::Failed);
            let skipped = self.outcomes.iter().any(|(_, outcome)| outcome.status == TaskStatus::None);
            return Some(Resolved::One(
                if failed {
                    "Failed"
                } else if skipped {
                    "Completed"
                } else {
                    "Succeeded"
                }
                .to_string(),
            ));
        }
        let rest = reference.strip_prefix("tasks.")?;
        let (task, rest) = rest.split_once('.')?;
        if rest == "status" {
            return Some(Resolved::One(
                self.outcome(task).map_or_else(|| "None".to_string(), |outcome| outcome.status.to_string()),
            ));
        }
        let result = rest.strip_prefix("results.")?;
        let outcome = self.outcome(task).filter(|outcome| outcome.status == TaskStatus::Succeeded)?;
        let (name, whole) = match result.strip_suffix("[*]") {
            Some(name) => (name, true),
            None => (result, false),
        };
        let values = outcome.results.get(name)?;
        let as_strings = |value: &Value| match value {
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_string))
                .collect::<Vec<_>>(),
            Value::String(text) => vec![text.clone()],
            other => vec![other.to_string()],
        };
        if whole {
            Some(Resolved::Many(values.iter().flat_map(as_strings).collect()))
        } else if values.len() == 1 {
            values[0].as_str().map(|text| Resolved::One(text.to_string()))
        } else {
            None
        }
    }

    async fn run_pipeline_task(&self, task: &PipelineTask) -> TaskOutcome {
        let started = Instant::now();
        let lookup = |reference: &str| self.pipeline_lookup(reference);
        for dependency in dependencies(task) {
            if let Some(outcome) = self.outcome(&dependency) {
                let referenced = references_task(task, &dependency);
                if outcome.status != TaskStatus::Succeeded && (referenced || task.run_after.contains(&dependency)) {
                    return skipped(format!("{dependency} did not succeed"));
                }
            }
        }
        for when in &task.when {
            let input = match substitute(&when.input, &lookup) {
                Ok(values) => values.join(","),
                Err(problem) => return skipped(problem),
            };
            let mut values = Vec::new();
            for value in &when.values {
                match substitute(value, &lookup) {
                    Ok(resolved) => values.extend(resolved),
                    Err(problem) => return skipped(problem),
                }
            }
            let matches = values.contains(&input);
            if (when.operator == "in") != matches {
                return skipped(format!("when {} {} {values:?} is false", when.input, when.operator));
            }
        }
        let mut params = BTreeMap::new();
        for (name, value) in &task.params {
            match value_strings(value, &lookup) {
                Ok(resolved) => {
                    params.insert(name.clone(), resolved);
                }
                Err(problem) => return failed(format!("param {name}: {problem}"), started),
            }
        }
        let mut combinations: Vec<BTreeMap<String, Resolved>> = vec![params];
        for (name, value) in &task.matrix {
            let values = match value_strings(value, &lookup) {
                Ok(Resolved::Many(values)) => values,
                Ok(Resolved::One(value)) => vec![value],
                Err(problem) => return failed(format!("matrix param {name}: {problem}"), started),
            };
            combinations = combinations
                .into_iter()
                .flat_map(|base| {
                    values.iter().map(move |value| {
                        let mut combination = base.clone();
                        combination.insert(name.clone(), Resolved::One(value.clone()));
                        combination
                    })
                })
                .collect();
        }
        if !task.matrix.is_empty() && combinations.is_empty() {
            return skipped("the matrix is empty".into());
        }
        let count = combinations.len();
        let runs: Vec<(usize, TaskRunResult)> = futures::stream::iter(combinations.into_iter().enumerate())
            .map(|(index, params)| async move {
                let name = if count > 1 { format!("{}-{index}", task.name) } else { task.name.clone() };
                let mut attempt = 0;
                loop {
                    let result = self.run_task(task, &name, &params).await;
                    if result.is_ok() || attempt >= task.retries {
                        break (index, result);
                    }
                    attempt += 1;
                    tracing::warn!(task = %name, attempt, "retrying");
                }
            })
            .buffer_unordered(self.options.jobs.max(1))
            .collect()
            .await;
        let mut runs = runs;
        runs.sort_by_key(|(index, _)| *index);
        let mut outcome =
            TaskOutcome { status: TaskStatus::Succeeded, millis: elapsed(started), ..TaskOutcome::default() };
        for (_, result) in runs {
            match result {
                Ok(results) => {
                    for (name, value) in results {
                        outcome.results.entry(name).or_default().push(value);
                    }
                }
                Err(problem) => {
                    outcome.status = TaskStatus::Failed;
                    outcome.reason.get_or_insert(problem);
                }
            }
        }
        outcome
    }

    /// The folder bound to each workspace a Task declares (`None`: optional and left unbound).
    fn task_workspaces(
        &self,
        task: &PipelineTask,
        declared: &[WorkspaceSpec],
        task_name: &str,
    ) -> Result<BTreeMap<String, Option<PathBuf>>, String> {
        for (name, _) in &task.workspaces {
            if !declared.iter().any(|workspace| &workspace.name == name) {
                return Err(format!(
                    "the pipeline task binds the workspace `{name}`, which Task {task_name} does not declare"
                ));
            }
        }
        let mut bound = BTreeMap::new();
        for workspace in declared {
            let folder = task
                .workspaces
                .iter()
                .find(|(name, _)| name == &workspace.name)
                .and_then(|(_, pipeline_workspace)| self.options.workspaces.get(pipeline_workspace))
                .cloned();
            if folder.is_none() && !workspace.optional {
                return Err(format!(
                    "the workspace `{}` of Task {task_name} is not optional and no folder is bound to it",
                    workspace.name
                ));
            }
            bound.insert(workspace.name.clone(), folder);
        }
        Ok(bound)
    }

    /// One TaskRun: its steps in order; returns the results.
    async fn run_task(
        &self,
        task: &PipelineTask,
        run_name: &str,
        params: &BTreeMap<String, Resolved>,
    ) -> Result<BTreeMap<String, Value>, String> {
        let dir = self.options.out.join("runs").join(run_name);
        // A TaskRun whose inputs are those of its recorded run takes that run's results.
        let reuse_key = self.reuse_key(task, params);
        if let Some(key) = &reuse_key
            && let Some(results) = self.recorded_results(run_name, key, &dir).await
        {
            return Ok(results);
        }
        crate::pipeline::reuse::forget(&self.options.out.join("state"), run_name).map_err(|error| error.to_string())?;
        // The folders artifacts are unpacked into are kept from the previous run of this TaskRun:
        // `artifact use` brings them up to date (`--exact`, set below), writing only what differs.
        let kept: Vec<PathBuf> = match &task.task_ref {
            TaskRef::Bundle(_) => vec![PathBuf::from("workdir/source")],
            TaskRef::Named(name) => self
                .tasks
                .get(name)
                .map(|definition| {
                    definition
                        .steps
                        .iter()
                        .flat_map(|step| crate::pipeline::workdirs::artifact_destinations(&step.args))
                        .map(|relative| Path::new("workdir").join(relative))
                        .collect()
                })
                .unwrap_or_default(),
        };
        crate::pipeline::workdirs::renew(&dir, &kept, &self.trash)
            .map_err(|error| format!("preparing {}: {error}", dir.display()))?;
        let workdir = dir.join("workdir");
        let results_dir = dir.join("results");
        for folder in [&workdir, &results_dir] {
            fs_err::create_dir_all(folder).map_err(|error| error.to_string())?;
        }
        match &task.task_ref {
            TaskRef::Bundle(name) if name == "git-clone-oci-ta" => {
                let declared: Vec<WorkspaceSpec> = GIT_CLONE_WORKSPACES
                    .iter()
                    .map(|name| WorkspaceSpec { name: (*name).to_string(), optional: true })
                    .collect();
                let workspaces = self.task_workspaces(task, &declared, name)?;
                let basic_auth = workspaces.get("basic-auth").cloned().flatten();
                self.git_clone(params, basic_auth.as_deref(), &workdir, &results_dir, &dir).await?;
            }
            TaskRef::Bundle(name) => return Err(format!("the local runner cannot run the bundle task `{name}`")),
            TaskRef::Named(name) => {
                let definition = self.tasks.get(name).ok_or_else(|| format!("no Task named `{name}` is embedded"))?;
                let workspaces = self.task_workspaces(task, &definition.workspaces, name)?;
                let mut values: BTreeMap<String, Resolved> = BTreeMap::new();
                for spec in &definition.params {
                    let value = match (params.get(&spec.name), &spec.default) {
                        (Some(value), _) => value.clone(),
                        (None, Some(Value::Array(items))) => {
                            Resolved::Many(items.iter().filter_map(Value::as_str).map(str::to_string).collect())
                        }
                        (None, Some(default)) => {
                            Resolved::One(default.as_str().map_or_else(|| default.to_string(), str::to_string))
                        }
                        (None, None) => return Err(format!("param `{}` of Task {name} has no value", spec.name)),
                    };
                    values.insert(spec.name.clone(), value);
                }
                let results = &results_dir;
                let map_paths = |text: String| {
                    text.replace("/var/workdir", &workdir.display().to_string())
                        .replace("/tekton/results", &results.display().to_string())
                };
                let lookup = |reference: &str| -> Option<Resolved> {
                    if let Some(name) = reference.strip_prefix("params.") {
                        let (name, _) = name.split_once('[').unwrap_or((name, ""));
                        return values.get(name).cloned();
                    }
                    if let Some((name, field)) =
                        reference.strip_prefix("workspaces.").and_then(|rest| rest.rsplit_once('.'))
                    {
                        let folder = workspaces.get(name)?;
                        return match field {
                            "path" => Some(Resolved::One(
                                folder.as_ref().map(|folder| folder.display().to_string()).unwrap_or_default(),
                            )),
                            "bound" => Some(Resolved::One(folder.is_some().to_string())),
                            _ => None,
                        };
                    }
                    let name = reference.strip_prefix("results.")?.strip_suffix(".path")?;
                    Some(Resolved::One(results.join(name).display().to_string()))
                };
                for step in &definition.steps {
                    if tool_image(&step.image).is_none() {
                        return Err(format!(
                            "step {} of {name} uses image {}, which the local runner cannot run",
                            step.name, step.image
                        ));
                    }
                    let mut args = Vec::new();
                    for arg in &step.args {
                        args.extend(
                            substitute(arg, &lookup)
                                .map_err(|problem| format!("step {}: {problem}", step.name))?
                                .into_iter()
                                .map(&map_paths),
                        );
                    }
                    let mut env = Vec::new();
                    for variable in &step.env {
                        if variable.from_secret {
                            match std::env::var(&variable.name) {
                                Ok(value) => env.push((variable.name.clone(), value)),
                                Err(_) if !variable.secret_optional => tracing::debug!(
                                    task = run_name,
                                    step = %step.name,
                                    variable = %variable.name,
                                    "the secret is not in this machine's environment; the step runs without it"
                                ),
                                Err(_) => {}
                            }
                        } else if let Some(value) = &variable.value {
                            let value = substitute(value, &lookup)
                                .map_err(|problem| format!("step {}: {problem}", step.name))?
                                .join(" ");
                            env.push((variable.name.clone(), map_paths(value)));
                        }
                    }
                    env.push(("RHDH_CATALOG_ARTIFACT_EXACT".into(), "true".into()));
                    env.push(("RHDH_CATALOG_ARTIFACT_RUN".into(), self.id.clone()));
                    env.push((crate::io::observed::OBSERVED_ENV.into(), dir.join(OBSERVED_FILE).display().to_string()));
                    env.push((crate::io::archive::TRASH_ENV.into(), self.trash.dir().display().to_string()));
                    env.extend(self.options.env.iter().cloned());
                    self.run_step(run_name, &step.name, &args, &env, &dir).await?;
                }
            }
        }
        let declared: Vec<(String, bool)> = match &task.task_ref {
            TaskRef::Named(name) => self
                .tasks
                .get(name)
                .map(|task| task.results.iter().map(|result| (result.name.clone(), result.is_array)).collect())
                .unwrap_or_default(),
            TaskRef::Bundle(_) => {
                ["SOURCE_ARTIFACT", "commit", "url"].iter().map(|name| ((*name).to_string(), false)).collect()
            }
        };
        let mut results = BTreeMap::new();
        for (name, is_array) in declared {
            let Ok(text) = fs_err::read_to_string(results_dir.join(&name)) else { continue };
            let value = if is_array {
                serde_json::from_str(&text).map_err(|error| format!("result {name} is not a JSON array: {error}"))?
            } else {
                Value::String(text)
            };
            results.insert(name, value);
        }
        self.record_run(run_name, &dir, reuse_key, &results)?;
        Ok(results)
    }

    /// After a TaskRun succeeded: what its steps moved to the trash is deleted in the background,
    /// and, when its Task may be reused, the run is recorded with what its steps observed.
    fn record_run(
        &self,
        run_name: &str,
        dir: &Path,
        key: Option<String>,
        results: &BTreeMap<String, Value>,
    ) -> Result<(), String> {
        self.trash.collect_strays();
        let Some(key) = key else { return Ok(()) };
        let Some(observed) = crate::io::observed::read(&dir.join(OBSERVED_FILE)) else { return Ok(()) };
        let record = crate::pipeline::reuse::Record { key, results: results.clone(), observed };
        crate::pipeline::reuse::save(&self.options.out.join("state"), run_name, &record)
            .map_err(|error| format!("{error:#}"))
    }

    /// The reuse key of a TaskRun of `task` with `params`, when its Task may be reused.
    fn reuse_key(&self, task: &PipelineTask, params: &BTreeMap<String, Resolved>) -> Option<String> {
        let TaskRef::Named(name) = &task.task_ref else { return None };
        let definition = self.tasks.get(name)?;
        let identity = crate::pipeline::reuse::definition(&definition.file);
        if !identity.reusable {
            return None;
        }
        let workspaces = self.task_workspaces(task, &definition.workspaces, name).ok()?;
        let params = params
            .iter()
            .map(|(name, value)| {
                let values = match value {
                    Resolved::One(value) => vec![value.clone()],
                    Resolved::Many(values) => values.clone(),
                };
                (name.clone(), values)
            })
            .collect();
        Some(crate::pipeline::reuse::key(&crate::pipeline::reuse::Inputs {
            definition: &identity,
            params,
            env: &self.options.env,
            workspaces: &workspaces,
            tool: &self.options.tool,
        }))
    }

    /// The recorded results of TaskRun `run_name`, when its record has `key`, what its steps
    /// observed still holds, every artifact it names is still stored and its folder is there.
    async fn recorded_results(&self, run_name: &str, key: &str, dir: &Path) -> Option<BTreeMap<String, Value>> {
        let record = crate::pipeline::reuse::load(&self.options.out.join("state"), run_name)?;
        if record.key != key || !dir.join("workdir").is_dir() {
            return None;
        }
        let missing = record
            .results
            .values()
            .filter_map(Value::as_str)
            .find(|value| value.starts_with("oci:") && !self.artifact_stored(value));
        if let Some(uri) = missing {
            tracing::info!(task = run_name, %uri, "the recorded run's artifact is gone; running again");
            return None;
        }
        if let Some(why) = crate::pipeline::reuse::changed_since(&record.observed).await {
            tracing::info!(task = run_name, why, "running again");
            return None;
        }
        tracing::info!(
            task = run_name,
            "inputs unchanged since the recorded run: its results are reused, no step runs"
        );
        Some(record.results)
    }

    async fn run_step(
        &self,
        run_name: &str,
        step: &str,
        args: &[String],
        env: &[(String, String)],
        dir: &Path,
    ) -> Result<(), String> {
        let log = dir.join(format!("{step}.log"));
        let file = std::fs::File::create(&log).map_err(|error| error.to_string())?;
        let stderr = file.try_clone().map_err(|error| error.to_string())?;
        tracing::debug!(task = run_name, step, ?args, "step");
        let started = Instant::now();
        let status = tokio::process::Command::new(&self.options.tool)
            .args(args)
            .envs(env.iter().map(|(key, value)| (key.as_str(), value.as_str())))
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .env("NO_COLOR", "1")
            .stdout(file)
            .stderr(stderr)
            .kill_on_drop(true)
            .status()
            .await
            .map_err(|error| format!("cannot run {}: {error}", self.options.tool.display()))?;
        tracing::debug!(task = run_name, step, millis = elapsed(started), "step finished");
        if status.success() {
            Ok(())
        } else {
            let tail = crate::io::shell::tail(&log);
            Err(format!("step {step} exited with {status}; log {}:\n{}", log.display(), tail.join("\n")))
        }
    }

    /// Konflux's git-clone-oci-ta, locally: `git clone` (with the credentials of the bound
    /// `basic-auth` workspace), check out the revision, archive. The clone of the previous run is
    /// brought to the revision instead when it is there; a commit archived before to the same
    /// storage is not archived again (and a revision that is that commit is not even fetched).
    async fn git_clone(
        &self,
        params: &BTreeMap<String, Resolved>,
        basic_auth: Option<&Path>,
        workdir: &Path,
        results: &Path,
        dir: &Path,
    ) -> Result<(), String> {
        let text = |name: &str| match params.get(name) {
            Some(Resolved::One(value)) => Ok(value.clone()),
            _ => Err(format!("git-clone-oci-ta needs the param {name}")),
        };
        let (url, revision, storage) = (text("url")?, text("revision")?, text("ociStorage")?);
        let expires_after = text("ociArtifactExpiresAfter").unwrap_or_default();
        let shown_url = crate::io::git::strip_credentials(&url);
        let cache_path = self.options.out.join("state").join("clone-repository.cache.json");
        let cached: Option<CloneCache> = fs_err::read(&cache_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(|cache: &CloneCache| {
                // The storage's tag names the run (`<revision>.git`); the artifact is named by digest.
                cache.url == shown_url
                    && crate::pipeline::reuse::repository_of(&cache.storage)
                        == crate::pipeline::reuse::repository_of(&storage)
                    && self.artifact_stored(&cache.uri)
            });
        let write_results = |commit: &str, uri: Option<&str>| -> Result<(), String> {
            fs_err::write(results.join("commit"), commit).map_err(|error| error.to_string())?;
            fs_err::write(results.join("url"), &shown_url).map_err(|error| error.to_string())?;
            if let Some(uri) = uri {
                fs_err::write(results.join("SOURCE_ARTIFACT"), uri).map_err(|error| error.to_string())?;
            }
            Ok(())
        };
        let is_commit = revision.len() == 40 && revision.bytes().all(|byte| byte.is_ascii_hexdigit());
        if let Some(cache) = cached.as_ref().filter(|cache| is_commit && cache.commit == revision) {
            tracing::info!(commit = %cache.commit, uri = %cache.uri, "this commit was archived before; not cloned again");
            return write_results(&cache.commit, Some(&cache.uri));
        }
        let auth = match basic_auth {
            Some(folder) => {
                crate::io::git::GitAuth::from_basic_auth_dir(folder, &url).map_err(|error| error.to_string())?
            }
            None => crate::io::git::GitAuth::None,
        };
        // A branch or tag whose remote commit is the one archived before: nothing to clone (one
        // `git ls-remote`, as `fetch` asks its upstreams).
        if let Some(cache) = cached.as_ref().filter(|_| !is_commit) {
            let name = revision.strip_prefix("refs/heads/").unwrap_or(&revision).to_string();
            if let Ok(Some((_, commit))) = crate::io::git::remote_head(&url, &[name], &auth).await
                && commit == cache.commit
            {
                tracing::info!(%commit, uri = %cache.uri, "the revision still names the commit archived before; not cloned");
                return write_results(&cache.commit, Some(&cache.uri));
            }
        }
        let source = workdir.join("source");
        let updated = source.join(".git").is_dir()
            && match crate::io::git::update_clone(&url, &source, &revision, &auth).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::info!(%error, "the previous clone cannot be brought up to date; cloning afresh");
                    false
                }
            };
        if !updated {
            if source.exists() {
                self.trash.discard(&source).map_err(|error| error.to_string())?;
            }
            crate::io::git::clone(&url, &source, &auth).await.map_err(|error| error.to_string())?;
            crate::io::git::run_in(&source, &["-c", "advice.detachedHead=false", "checkout", "--quiet", &revision])
                .await?;
        }
        let commit = crate::io::git::run_in(&source, &["rev-parse", "HEAD"]).await?;
        if let Some(cache) = cached.as_ref().filter(|cache| cache.commit == commit) {
            tracing::info!(%commit, uri = %cache.uri, "this commit was archived before; not archived again");
            return write_results(&commit, Some(&cache.uri));
        }
        // A commit that changed nothing the pipeline reads (a README, notes, CI files) is served by
        // the artifact of the commit archived before: every task then sees the same input, and
        // `commit` is told the new commit (its `revision` param).
        let inputs = crate::io::git::managed_tree(&source, &commit).await.unwrap_or_default();
        if let Some(cache) = cached.filter(|cache| !inputs.is_empty() && cache.inputs == inputs) {
            tracing::info!(%commit, archived = %cache.commit, uri = %cache.uri, "the managed paths are those of the commit archived before; its artifact serves");
            write_results(&commit, Some(&cache.uri))?;
            let cache = CloneCache { commit: commit.clone(), ..cache };
            return crate::io::fs::write_atomic(&cache_path, &crate::formats::json::to_pretty(&cache))
                .map_err(|error| format!("{error:#}"));
        }
        write_results(&commit, None)?;
        let result = results.join("SOURCE_ARTIFACT");
        let args = vec![
            "artifact".to_string(),
            "create".into(),
            "--store".into(),
            storage.clone(),
            format!("--expires-after={expires_after}"),
            "--result".into(),
            result.display().to_string(),
            source.display().to_string(),
        ];
        self.run_step("clone-repository", "create-trusted-artifact", &args, &self.options.env, dir).await?;
        let uri = fs_err::read_to_string(&result).map_err(|error| error.to_string())?;
        let cache = CloneCache { url: shown_url.clone(), storage, commit, uri, inputs };
        crate::io::fs::write_atomic(&cache_path, &crate::formats::json::to_pretty(&cache))
            .map_err(|error| format!("{error:#}"))
    }

    /// Whether the artifact `uri` is in this run's OCI layout artifact store.
    fn artifact_stored(&self, uri: &str) -> bool {
        let Some(root) = self
            .options
            .env
            .iter()
            .find(|(name, _)| name == "RHDH_CATALOG_ARTIFACT_STORE")
            .and_then(|(_, value)| value.strip_prefix("oci-layout:"))
        else {
            return false;
        };
        let Some(reference) =
            uri.strip_prefix("oci:").and_then(|text| crate::io::registry::ImageReference::parse(text).ok())
        else {
            return false;
        };
        let Some(digest) = reference.digest.clone() else { return false };
        crate::io::registry::layout::LayoutStore::new(root)
            .repository_dir(&reference)
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
            .is_file()
    }
}

/// What the local git-clone-oci-ta archived last: the commit of `url` and its artifact.
#[derive(Debug, Serialize, Deserialize)]
struct CloneCache {
    url: String,
    storage: String,
    commit: String,
    uri: String,
    /// What the pipeline reads of that commit (`io::git::managed_tree`): a later commit with the
    /// same is served by the same artifact.
    #[serde(default)]
    inputs: String,
}

/// Runs one step of the tool outside a pipeline (its stdout discarded, its log on stderr), as a
/// task would: `sync --dry-run` plans through the real `fetch` this way.
/// Returns the step's exit status (its error is already on stderr).
pub(crate) async fn run_tool_step(tool: &Path, args: &[String]) -> anyhow::Result<crate::error::ExitStatus> {
    let status = tokio::process::Command::new(tool)
        .args(args)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|error| anyhow::anyhow!("cannot run {}: {error}", tool.display()))?;
    Ok(match status.code() {
        Some(0) => crate::error::ExitStatus::Success,
        Some(1) => crate::error::ExitStatus::Findings,
        Some(2) => crate::error::ExitStatus::BadInput,
        _ => crate::error::ExitStatus::Infrastructure,
    })
}

fn references_task(task: &PipelineTask, dependency: &str) -> bool {
    let mut texts = Vec::new();
    for (_, value) in task.params.iter().chain(&task.matrix) {
        collect_strings(value, &mut texts);
    }
    texts.iter().any(|text| {
        references(text).iter().any(|reference| reference.starts_with(&format!("tasks.{dependency}.results.")))
    })
}

fn skipped(reason: String) -> TaskOutcome {
    TaskOutcome { status: TaskStatus::None, reason: Some(reason), ..TaskOutcome::default() }
}

fn failed(reason: String, started: Instant) -> TaskOutcome {
    TaskOutcome { status: TaskStatus::Failed, reason: Some(reason), millis: elapsed(started), ..TaskOutcome::default() }
}

fn elapsed(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Runs the pipeline; the outcome says what happened to every task.
pub(crate) async fn run(pipeline: &Pipeline, tasks: Vec<Task>, options: &RunOptions) -> anyhow::Result<RunOutcome> {
    for name in options.params.keys() {
        if !pipeline.params.iter().any(|param| &param.name == name) {
            return Err(InputError::usage(format!("the pipeline has no param `{name}`")).into());
        }
    }
    for name in options.workspaces.keys() {
        if !pipeline.workspaces.iter().any(|workspace| &workspace.name == name) {
            let declared: Vec<&str> = pipeline.workspaces.iter().map(|workspace| workspace.name.as_str()).collect();
            return Err(InputError::usage(format!(
                "the pipeline has no workspace `{name}` (it declares: {})",
                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
            ))
            .into());
        }
    }
    for workspace in &pipeline.workspaces {
        if !workspace.optional && !options.workspaces.contains_key(&workspace.name) {
            return Err(InputError::usage(format!(
                "the pipeline's workspace `{}` is not optional: bind a folder to it",
                workspace.name
            ))
            .into());
        }
    }
    let order = execution_order(pipeline)?;
    let trash = crate::pipeline::workdirs::Trash::open(&options.out)?;
    let id = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.as_nanos())
    );
    let mut run = Run {
        options,
        pipeline,
        tasks: tasks.into_iter().map(|task| (task.name.clone(), task)).collect(),
        outcomes: Vec::new(),
        trash,
        id,
    };
    let state = options.out.join("state");
    fs_err::create_dir_all(&state)?;
    let mut reusing = options.from.is_some();
    if let Some(from) = &options.from
        && !order.iter().any(|task| &task.name == from)
    {
        return Err(InputError::usage(format!(
            "--from `{from}` is not a task of the pipeline ({})",
            order.iter().map(|task| task.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .into());
    }
    let progress =
        crate::io::progress::Progress::start("pipeline tasks", (order.len() + pipeline.finally.len()) as u64);
    for task in order {
        progress.working_on(&task.name);
        if reusing && options.from.as_deref() == Some(task.name.as_str()) {
            reusing = false;
        }
        let outcome = if reusing {
            let path = state.join(format!("{}.json", task.name));
            let saved: TaskOutcome = crate::formats::json::read(&path)
                .map_err(|error| error.with_hint("run the whole pipeline once before using --from"))?;
            tracing::info!(task = %task.name, status = %saved.status, "reusing the saved outcome");
            saved
        } else {
            tracing::info!(task = %task.name, "▶ running");
            let outcome = run.run_pipeline_task(task).await;
            log_outcome(&task.name, &outcome);
            crate::io::fs::write_atomic(
                &state.join(format!("{}.json", task.name)),
                &crate::formats::json::to_pretty(&outcome),
            )?;
            outcome
        };
        run.outcomes.push((task.name.clone(), outcome));
        progress.advance();
    }
    let status = match run.pipeline_lookup("tasks.status") {
        Some(Resolved::One(status)) => TaskStatus::parse(&status),
        _ => TaskStatus::Failed,
    };
    for task in &pipeline.finally {
        tracing::info!(task = %task.name, "▶ running (finally)");
        progress.working_on(&task.name);
        let outcome = run.run_pipeline_task(task).await;
        log_outcome(&task.name, &outcome);
        run.outcomes.push((task.name.clone(), outcome));
        progress.advance();
    }
    Ok(RunOutcome { status, tasks: run.outcomes })
}

fn log_outcome(name: &str, outcome: &TaskOutcome) {
    let millis = outcome.millis;
    match outcome.status {
        TaskStatus::Succeeded => tracing::info!(task = name, millis, "✓ succeeded"),
        TaskStatus::None => tracing::warn!(task = name, reason = outcome.reason.as_deref().unwrap_or(""), "⏭ not run"),
        _ => tracing::error!(task = name, millis, reason = outcome.reason.as_deref().unwrap_or(""), "✗ failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_of_strings_and_arrays() {
        let lookup = |reference: &str| match reference {
            "params.a" => Some(Resolved::One("x".into())),
            "tasks.t.results.r[*]" => Some(Resolved::Many(vec!["1".into(), "2".into()])),
            _ => None,
        };
        assert_eq!(substitute("pre-$(params.a)--", &lookup).unwrap(), ["pre-x--"]);
        assert_eq!(substitute("$(tasks.t.results.r[*])", &lookup).unwrap(), ["1", "2"]);
        assert!(substitute("$(params.missing)", &lookup).unwrap_err().contains("cannot be resolved"));
    }

    const TASK: &str = r#"apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  workspaces:
    - {name: basic-auth, optional: true}
  results:
    - {name: out}
  steps:
    - name: s
      image: quay.io/rhdh-community/rhdh-catalog:0.1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000
      args:
        - -c
        - 'printf "%s|%s|%s|%s" "$0" "$1" "${RHDH_CATALOG_TEST_UNSET_SECRET-unset}" "$RHDH_CATALOG_STORE" > "$2"'
        - $(workspaces.basic-auth.path)
        - $(workspaces.basic-auth.bound)
        - $(results.out.path)
      env:
        - name: RHDH_CATALOG_STORE
          value: from-the-yaml
        - name: RHDH_CATALOG_TEST_UNSET_SECRET
          valueFrom: {secretKeyRef: {name: absent, key: password, optional: false}}
"#;

    const PIPELINE: &str = r#"apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  workspaces:
    - {name: git-auth, optional: true}
  tasks:
    - name: a
      taskRef: {name: t}
      workspaces:
        - {name: basic-auth, workspace: git-auth}
    - name: only-when-bound
      taskRef: {name: t}
      when:
        - {input: $(workspaces.git-auth.bound), operator: in, values: ["true"]}
"#;

    fn options(out: &Path, workspaces: BTreeMap<String, PathBuf>) -> RunOptions {
        RunOptions {
            out: out.to_path_buf(),
            params: BTreeMap::new(),
            jobs: 1,
            from: None,
            // The steps of these Tasks are shell scripts: the shell stands in for the tool.
            tool: PathBuf::from("/bin/sh"),
            env: vec![("RHDH_CATALOG_STORE".into(), "from-the-runner".into())],
            workspaces,
        }
    }

    fn out_of(outcome: &RunOutcome, task: &str) -> String {
        let found = outcome.outcome(task).unwrap_or_else(|| panic!("{task} did not run: {outcome:?}"));
        assert_eq!(found.status, TaskStatus::Succeeded, "{task}: {found:?}");
        found.results["out"][0].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn optional_workspaces_resolve_bound_and_unbound() {
        let task = crate::pipeline::definitions::parse_task("t.yaml", TASK).unwrap();
        let pipeline = crate::pipeline::definitions::parse_pipeline("p.yaml", PIPELINE).unwrap();

        let out = tempfile::tempdir().unwrap();
        let unbound = run(&pipeline, vec![task.clone()], &options(out.path(), BTreeMap::new())).await.unwrap();
        // Unbound: an empty path and `false`; a required secret missing here is left unset (the
        // runner's environment is the secret store); the runner's environment wins over the step's.
        assert_eq!(out_of(&unbound, "a"), "|false|unset|from-the-runner");
        let skipped = unbound.outcome("only-when-bound").unwrap();
        assert_eq!(skipped.status, TaskStatus::None, "{skipped:?}");

        let folder = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let workspaces: BTreeMap<String, PathBuf> = [("git-auth".to_string(), folder.path().to_path_buf())].into();
        let bound = run(&pipeline, vec![task.clone()], &options(out.path(), workspaces)).await.unwrap();
        assert_eq!(out_of(&bound, "a"), format!("{}|true|unset|from-the-runner", folder.path().display()));
        assert_eq!(out_of(&bound, "only-when-bound"), "|false|unset|from-the-runner", "it binds no workspace");

        let out = tempfile::tempdir().unwrap();
        let unknown: BTreeMap<String, PathBuf> = [("nope".to_string(), folder.path().to_path_buf())].into();
        let error = run(&pipeline, vec![task.clone()], &options(out.path(), unknown)).await.unwrap_err().to_string();
        assert!(error.contains("the pipeline has no workspace `nope` (it declares: git-auth)"), "{error}");

        let required =
            crate::pipeline::definitions::parse_task("t.yaml", &TASK.replace("optional: true", "optional: false"))
                .unwrap();
        let out = tempfile::tempdir().unwrap();
        let outcome = run(&pipeline, vec![required], &options(out.path(), BTreeMap::new())).await.unwrap();
        let failed = outcome.outcome("a").unwrap();
        assert_eq!(failed.status, TaskStatus::Failed);
        assert!(
            failed.reason.as_deref().unwrap().contains("the workspace `basic-auth` of Task t is not optional"),
            "{failed:?}"
        );
    }

    #[test]
    fn order_follows_references() {
        let pipeline = crate::pipeline::definitions::pipeline().unwrap();
        let order: Vec<&str> = execution_order(&pipeline).unwrap().iter().map(|task| task.name.as_str()).collect();
        assert_eq!(order, ["clone-repository", "fetch", "export", "index", "release-number", "commit"]);
        let export = pipeline.tasks.iter().find(|task| task.name == "index").unwrap();
        assert_eq!(dependencies(export), ["export", "fetch"].iter().map(|name| (*name).to_string()).collect());
    }
}
