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
use crate::pipeline::definitions::{Pipeline, PipelineTask, Task, TaskRef, Timeouts, WorkspaceSpec, tool_image};

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
    /// The `PipelineRun`'s `spec.timeouts` (`sync` takes the sample run's, as the Pipelines-as-Code runs set them).
    pub(crate) timeouts: Timeouts,
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
    /// The section (`tasks` or `finally`) running now and when its time is up.
    section: Section,
    /// The run's progress, which shows a task's TaskRuns and what their steps report.
    progress: &'a crate::io::progress::Progress,
}

/// The time limit of the section of the run that is running: the earlier of its own timeout
/// (`timeouts.tasks` or `timeouts.finally`, from the section's start) and `timeouts.pipeline`
/// (from the run's start), as Tekton applies them.
#[derive(Clone, Debug, Default)]
struct Section {
    deadline: Option<Instant>,
    /// Which timeout sets the deadline, for messages: `timeouts.tasks (5h10m)`.
    limit: String,
}

impl Section {
    fn new(name: &str, own: Option<std::time::Duration>, pipeline: Option<(Instant, std::time::Duration)>) -> Section {
        let now = Instant::now();
        let show = |duration: std::time::Duration| crate::domain::push_token::show_duration(duration);
        let own = own.map(|duration| (now + duration, format!("timeouts.{name} ({})", show(duration))));
        let whole =
            pipeline.map(|(started, duration)| (started + duration, format!("timeouts.pipeline ({})", show(duration))));
        match (own, whole) {
            (Some(own), Some(whole)) => {
                let (deadline, limit) = if whole.0 < own.0 { whole } else { own };
                Section { deadline: Some(deadline), limit }
            }
            (Some((deadline, limit)), None) | (None, Some((deadline, limit))) => {
                Section { deadline: Some(deadline), limit }
            }
            (None, None) => Section::default(),
        }
    }

    fn remaining(&self) -> Option<std::time::Duration> {
        self.deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    fn expired(&self) -> bool {
        self.remaining().is_some_and(|remaining| remaining.is_zero())
    }
}

/// `$(tasks.status)` as Tekton gives it: the aggregate of the Pipeline's `tasks` only (a finally
/// task that already ran, or was skipped, does not count): Failed when any of them failed,
/// Completed when none failed and any was skipped, else Succeeded.
fn aggregate_status(pipeline: &Pipeline, outcomes: &[(String, TaskOutcome)]) -> &'static str {
    let statuses: Vec<&TaskStatus> = outcomes
        .iter()
        .filter(|(name, _)| pipeline.tasks.iter().any(|task| &task.name == name))
        .map(|(_, outcome)| &outcome.status)
        .collect();
    if statuses.contains(&&TaskStatus::Failed) {
        "Failed"
    } else if statuses.contains(&&TaskStatus::None) {
        "Completed"
    } else {
        "Succeeded"
    }
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
            return Some(Resolved::One(aggregate_status(self.pipeline, &self.outcomes).to_string()));
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
        if self.section.expired() {
            return skipped(format!("not started: {} had elapsed", self.section.limit));
        }
        let count = combinations.len();
        let run_name = |index: usize| if count > 1 { format!("{}-{index}", task.name) } else { task.name.clone() };
        let files =
            (0..count).map(|index| self.options.out.join("runs").join(run_name(index)).join("progress")).collect();
        self.progress.working_on_runs(&task.name, count as u64, files);
        let runs: Vec<(usize, TaskRunResult)> = futures::stream::iter(combinations.into_iter().enumerate())
            .map(|(index, params)| async move {
                let name = run_name(index);
                let mut attempt = 0;
                loop {
                    let result = self.run_attempt(task, &name, &params).await;
                    // Tekton retries an attempt that failed or timed out, not one its section's
                    // time cut short.
                    if result.is_ok() || attempt >= task.retries || self.section.expired() {
                        self.progress.run_finished();
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

    /// One attempt of a TaskRun within Tekton's limits: the pipeline task's `timeout` (each attempt
    /// gets all of it) and what is left of the section's time. A TaskRun cut short has its steps'
    /// processes killed.
    async fn run_attempt(
        &self,
        task: &PipelineTask,
        run_name: &str,
        params: &BTreeMap<String, Resolved>,
    ) -> Result<BTreeMap<String, Value>, String> {
        let show = crate::domain::push_token::show_duration;
        let own = task.timeout.map(|timeout| (timeout, format!("the task's timeout ({}, per attempt)", show(timeout))));
        let section = self.section.remaining().map(|remaining| (remaining, format!("{} elapsed", self.section.limit)));
        let limit = match (own, section) {
            (Some(own), Some(section)) => Some(if section.0 < own.0 { section } else { own }),
            (own, section) => own.or(section),
        };
        let Some((limit, why)) = limit else { return self.run_task(task, run_name, params).await };
        let started = Instant::now();
        tokio::time::timeout(limit, self.run_task(task, run_name, params)).await.unwrap_or_else(|_| {
            tracing::error!(task = run_name, elapsed_ms = elapsed(started), "timed out");
            Err(format!(
                "TaskRun {run_name} timed out after {}: {why}; its steps were stopped",
                show(std::time::Duration::from_millis(elapsed(started)))
            ))
        })
    }

    /// One step of a TaskRun, within the step's own `timeout` when it has one.
    async fn run_step_within(
        &self,
        run_name: &str,
        step: &crate::pipeline::definitions::Step,
        args: &[String],
        env: &[(String, String)],
        dir: &Path,
    ) -> Result<(), String> {
        let Some(limit) = step.timeout else { return self.run_step(run_name, &step.name, args, env, dir).await };
        tokio::time::timeout(limit, self.run_step(run_name, &step.name, args, env, dir)).await.unwrap_or_else(|_| {
            Err(format!(
                "step {} timed out after {} (its timeout); it was stopped",
                step.name,
                crate::domain::push_token::show_duration(limit)
            ))
        })
    }

    /// The folders of a TaskRun (relative to its folder) kept from its previous run: those its
    /// steps unpack artifacts into.
    fn kept_folders(&self, task: &PipelineTask) -> Vec<PathBuf> {
        match &task.task_ref {
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
        }
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
        crate::pipeline::workdirs::renew(&dir, &self.kept_folders(task), &self.trash)
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
                    env.push((
                        crate::io::progress::PROGRESS_FILE_ENV.into(),
                        dir.join("progress").display().to_string(),
                    ));
                    env.push(("RHDH_CATALOG_ARTIFACT_RUN".into(), self.id.clone()));
                    env.push((crate::io::observed::OBSERVED_ENV.into(), dir.join(OBSERVED_FILE).display().to_string()));
                    env.push((crate::io::archive::TRASH_ENV.into(), self.trash.dir().display().to_string()));
                    env.extend(self.options.env.iter().cloned());
                    self.run_step_within(run_name, step, &args, &env, &dir).await?;
                    check_termination_message(definition, &step.name, results)?;
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
            let Ok(text) = crate::io::fs::read_text(&results_dir.join(&name)) else { continue };
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
        let mut child = tokio::process::Command::new(&self.options.tool)
            .args(args)
            .envs(env.iter().map(|(key, value)| (key.as_str(), value.as_str())))
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .env("NO_COLOR", "1")
            .stdout(file)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot run {}: {error}", self.options.tool.display()))?;
        // Declared after the child, so dropped before it: a step cut short by a timeout has its
        // whole process tree killed, as a container's end kills every process in it.
        let mut guard = StopTreeOnDrop(child.id());
        let status = child.wait().await.map_err(|error| format!("waiting for step {step}: {error}"))?;
        guard.0 = None;
        tracing::debug!(task = run_name, step, millis = elapsed(started), "step finished");
        if status.success() {
            Ok(())
        } else {
            let tail = crate::io::shell::tail(&log);
            Err(format!("step {step} exited with {status}; log {}:\n{}", log.display(), tail.join("\n")))
        }
    }

    /// Konflux's git-clone-oci-ta, locally: the revision fetched `--depth 1` (with the credentials
    /// of the bound `basic-auth` workspace) and checked out, then archived. The clone of the
    /// previous run is brought to the revision in place when it is there. A commit archived before
    /// to the same storage, or one whose managed paths are those of that commit, is neither checked
    /// out nor archived again (and a revision that is that commit is not even fetched).
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
        let cached: Option<CloneCache> = crate::io::fs::read_input(&cache_path)
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
        // As git-clone-oci-ta does (`depth` 1): the revision alone, no history, fetched into the
        // clone of the previous run; one that cannot fetch is replaced.
        // A clone that cannot be brought up to date is replaced: put aside, and the revision fetched
        // into a new one.
        let afresh = || async {
            self.trash.discard(&source).map_err(|error| error.to_string())?;
            crate::io::git::shallow_fetch(&url, &source, &revision, &auth).await.map_err(|error| error.to_string())
        };
        let commit = match crate::io::git::shallow_fetch(&url, &source, &revision, &auth).await {
            Ok(commit) => commit,
            Err(error) if source.join(".git").is_dir() => {
                tracing::info!(%error, "the previous clone cannot be brought up to date; cloning afresh");
                afresh().await?
            }
            Err(error) => return Err(error.to_string()),
        };
        // Decided from git's objects, before the checkout: a commit whose artifact is known is
        // not checked out (the clone stays at an older commit until a commit needs archiving).
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
        // Only the files that differ from the previous checkout are written. In a clone that cannot
        // be checked out, the revision fetched afresh may name a newer commit: that one is archived.
        let (commit, inputs) = match crate::io::git::check_out_fetched(&url, &source, &commit).await {
            Ok(()) => (commit, inputs),
            Err(error) => {
                tracing::info!(%error, "the previous clone cannot be checked out at the commit; cloning afresh");
                let commit = afresh().await?;
                crate::io::git::check_out_fetched(&url, &source, &commit).await.map_err(|error| error.to_string())?;
                let inputs = crate::io::git::managed_tree(&source, &commit).await.unwrap_or_default();
                (commit, inputs)
            }
        };
        write_results(&commit, None)?;
        let result = results.join("SOURCE_ARTIFACT");
        let args = vec![
            "artifact".to_string(),
            "create".into(),
            "--oci-storage".into(),
            storage.clone(),
            format!("--expires-after={expires_after}"),
            "--result".into(),
            result.display().to_string(),
            source.display().to_string(),
        ];
        self.run_step("clone-repository", "create-trusted-artifact", &args, &self.options.env, dir).await?;
        let uri = crate::io::fs::read_text(&result).map_err(|error| error.to_string())?;
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

/// Kills a step's process and every process below it when dropped while the step still runs (a
/// timeout dropped the step's future). Processes are found through /proc (Linux); elsewhere only
/// the step's own process is killed, by `kill_on_drop`.
struct StopTreeOnDrop(Option<u32>);

impl Drop for StopTreeOnDrop {
    fn drop(&mut self) {
        let Some(root) = self.0.take() else { return };
        let mut tree = vec![root];
        let parents = process_parents();
        let mut index = 0;
        while index < tree.len() {
            let parent = tree[index];
            tree.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
            index += 1;
        }
        let pids: Vec<String> = tree.iter().map(u32::to_string).collect();
        let killed = std::process::Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        tracing::debug!(?pids, ?killed, "stopped the step's processes");
    }
}

/// `(pid, parent pid)` of every process /proc shows.
fn process_parents() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let process: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 1..];
            let parent: u32 = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((process, parent))
        })
        .collect()
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

/// What Tekton would make of the step's results: its entrypoint writes every declared result file
/// present (not only this step's) into the container's termination message, which must fit the
/// container's share of the pod's messages (`io::tekton_results`): over it, the TaskRun fails.
fn check_termination_message(task: &Task, step: &str, results: &Path) -> Result<(), String> {
    let declared: Vec<String> = task.results.iter().map(|result| result.name.clone()).collect();
    let present = crate::io::tekton_results::present_results(results, &declared);
    if present.is_empty() {
        return Ok(());
    }
    let size = crate::io::tekton_results::termination_message_len(&present);
    let share = crate::io::tekton_results::container_share(task.steps.len());
    if size > share {
        return Err(format!(
            "step {step}: its termination message would be {size} bytes (the results {} as Tekton encodes them), over the {share} bytes a container of Task {} gets ({} bytes per container, {} per pod shared by its {} steps); Tekton would fail the TaskRun",
            present.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", "),
            task.name,
            crate::io::tekton_results::CONTAINER_MESSAGE_BYTES,
            crate::io::tekton_results::POD_MESSAGE_BYTES,
            task.steps.len(),
        ));
    }
    Ok(())
}

/// [`run_tool_step`] with extra environment and its stderr captured (for the caller to show,
/// e.g. with a scratch folder's path replaced by the folder it stands for).
pub(crate) async fn run_tool_step_captured(
    tool: &Path,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<(crate::error::ExitStatus, String)> {
    let output = tokio::process::Command::new(tool)
        .args(args)
        .envs(env.iter().map(|(key, value)| (key.as_str(), value.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|error| anyhow::anyhow!("cannot run {}: {error}", tool.display()))?;
    let status = match output.status.code() {
        Some(0) => crate::error::ExitStatus::Success,
        Some(1) => crate::error::ExitStatus::Findings,
        Some(2) => crate::error::ExitStatus::BadInput,
        _ => crate::error::ExitStatus::Infrastructure,
    };
    Ok((status, String::from_utf8_lossy(&output.stderr).into_owned()))
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

/// Refuses params and workspaces the Pipeline does not declare, and a `--from` that is not one
/// of its tasks, naming the ones it has.
pub(crate) fn check_options(pipeline: &Pipeline, options: &RunOptions) -> Result<(), InputError> {
    for name in options.params.keys() {
        if !pipeline.params.iter().any(|param| &param.name == name) {
            let declared: Vec<&str> = pipeline.params.iter().map(|param| param.name.as_str()).collect();
            return Err(InputError::usage(format!(
                "--param `{name}`: the pipeline has no param `{name}` (its params: {})",
                declared.join(", ")
            ))
            .with_hint("give one of the pipeline's params, e.g. --param on-missing=previous"));
        }
    }
    for name in options.workspaces.keys() {
        if !pipeline.workspaces.iter().any(|workspace| &workspace.name == name) {
            let declared: Vec<&str> = pipeline.workspaces.iter().map(|workspace| workspace.name.as_str()).collect();
            return Err(InputError::usage(format!(
                "the pipeline has no workspace `{name}` (it declares: {})",
                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
            )));
        }
    }
    for workspace in &pipeline.workspaces {
        if !workspace.optional && !options.workspaces.contains_key(&workspace.name) {
            return Err(InputError::usage(format!(
                "the pipeline's workspace `{}` is not optional: bind a folder to it",
                workspace.name
            )));
        }
    }
    if let Some(from) = &options.from {
        let order = execution_order(pipeline)?;
        if !order.iter().any(|task| &task.name == from) {
            return Err(InputError::usage(format!(
                "--from `{from}` is not a task of the pipeline ({})",
                order.iter().map(|task| task.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

/// Runs the pipeline; the outcome says what happened to every task.
pub(crate) async fn run(pipeline: &Pipeline, tasks: Vec<Task>, options: &RunOptions) -> anyhow::Result<RunOutcome> {
    check_options(pipeline, options)?;
    check_params(pipeline, &tasks, options)?;
    let order = execution_order(pipeline)?;
    let trash = crate::pipeline::workdirs::Trash::open(&options.out)?;
    let id = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.as_nanos())
    );
    let progress =
        crate::io::progress::Progress::start("pipeline tasks", (order.len() + pipeline.finally.len()) as u64);
    let mut run = Run {
        options,
        pipeline,
        tasks: tasks.into_iter().map(|task| (task.name.clone(), task)).collect(),
        outcomes: Vec::new(),
        trash,
        id,
        section: Section::default(),
        progress: &progress,
    };
    let started = Instant::now();
    let whole = options.timeouts.pipeline.map(|duration| (started, duration));
    run.section = Section::new("tasks", options.timeouts.tasks, whole);
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
    for task in order {
        progress.working_on(&task.name);
        if reusing && options.from.as_deref() == Some(task.name.as_str()) {
            reusing = false;
        }
        let outcome = if reusing {
            let path = state.join(format!("{}.json", task.name));
            let saved: TaskOutcome = crate::io::fs::read_json(&path)
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
    // The finally section has its own time from now, within what is left of the whole run's.
    run.section = Section::new("finally", options.timeouts.finally, whole);
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

/// Tekton's checks of a PipelineRun's params when it is created, before any task runs: every
/// Pipeline param without a default has a value, and every pipeline task gives its Task each param
/// the Task declares without a default (in `params` or `matrix`).
fn check_params(pipeline: &Pipeline, tasks: &[Task], options: &RunOptions) -> Result<(), InputError> {
    let missing: Vec<&str> = pipeline
        .params
        .iter()
        .filter(|param| param.default.is_none() && !options.params.contains_key(&param.name))
        .map(|param| param.name.as_str())
        .collect();
    if !missing.is_empty() {
        let names = missing.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
        return Err(InputError::usage(format!(
            "the pipeline {} has no default and was given no value; no task was started",
            if missing.len() == 1 { format!("param {names}") } else { format!("params {names}") }
        ))
        .with_hint(format!("pass it: --param {}=VALUE", missing[0])));
    }
    for entry in pipeline.tasks.iter().chain(&pipeline.finally) {
        let TaskRef::Named(name) = &entry.task_ref else { continue };
        let Some(task) = tasks.iter().find(|task| &task.name == name) else {
            return Err(InputError::in_file(
                crate::pipeline::definitions::PIPELINE.0,
                format!(
                    "pipeline task `{}` names the Task `{name}`, which is not embedded; no task was started",
                    entry.name
                ),
            ));
        };
        for param in task.params.iter().filter(|param| param.default.is_none()) {
            let given = entry.params.iter().chain(&entry.matrix).any(|(given, _)| given == &param.name);
            if !given {
                return Err(InputError::in_file(
                    crate::pipeline::definitions::PIPELINE.0,
                    format!(
                        "pipeline task `{}` gives its Task `{name}` no value for the param `{}`, which has no default; no task was started",
                        entry.name, param.name
                    ),
                ));
            }
        }
    }
    Ok(())
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
            timeouts: Timeouts::default(),
        }
    }

    /// A Task whose one step runs `script` with `sh -c` (the shell stands in for the tool),
    /// `$0` being its `arg` param; it declares the result `out`.
    fn shell_task(name: &str, script: &str) -> Task {
        let text = format!(
            "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {{name: {name}}}\nspec:\n  params:\n    - {{name: arg, default: ''}}\n  results:\n    - {{name: out}}\n  steps:\n    - name: s\n      image: quay.io/rhdh-community/rhdh-catalog@sha256:{}\n      args: [-c, '{}', $(params.arg), $(results.out.path)]\n",
            "0".repeat(64),
            script.replace('\'', "''")
        );
        crate::pipeline::definitions::parse_task(&format!("{name}.yaml"), &text).unwrap()
    }

    fn pipeline_of(text: &str) -> Pipeline {
        crate::pipeline::definitions::parse_pipeline(
            "p.yaml",
            &format!("apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {{name: p}}\nspec:\n{text}"),
        )
        .unwrap()
    }

    /// Whether process `pid` is gone (or a zombie nobody reaped: it runs nothing).
    fn stopped(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |stat| stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
    }

    #[tokio::test]
    async fn a_step_that_sleeps_past_its_timeout_is_stopped_and_retried_with_the_whole_timeout() {
        let scratch = tempfile::tempdir().unwrap();
        let pids = scratch.path().join("pids");
        // Each attempt records the shell and a child it starts, then sleeps far past the timeout.
        let task = shell_task("sleeper", "sleep 30 & echo \"$$ $!\" >> \"$0\"; wait");
        let pipeline = pipeline_of(&format!(
            "  tasks:\n    - name: slow\n      taskRef: {{name: sleeper}}\n      timeout: 1s\n      retries: 1\n      params:\n        - {{name: arg, value: {}}}\n",
            pids.display()
        ));
        let out = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let outcome = run(&pipeline, vec![task], &options(out.path(), BTreeMap::new())).await.unwrap();
        let took = started.elapsed();
        let slow = outcome.outcome("slow").unwrap();
        assert_eq!(slow.status, TaskStatus::Failed, "{slow:?}");
        assert_eq!(outcome.status, TaskStatus::Failed);
        let reason = slow.reason.as_deref().unwrap();
        assert!(
            reason.starts_with(
                "TaskRun slow timed out after 1s: the task's timeout (1s, per attempt); its steps were stopped"
            ),
            "{reason}"
        );
        // Two attempts (retries: 1), each given the whole second, not one second for both.
        let recorded = std::fs::read_to_string(&pids).unwrap();
        assert_eq!(recorded.lines().count(), 2, "{recorded}");
        assert!(took >= std::time::Duration::from_secs(2) && took < std::time::Duration::from_secs(20), "{took:?}");
        // Every process of both attempts was stopped, the shell's child too.
        std::thread::sleep(std::time::Duration::from_millis(200));
        for pid in recorded.split_whitespace() {
            assert!(stopped(pid), "process {pid} still runs");
        }
    }

    #[tokio::test]
    async fn the_tasks_and_finally_timeouts_cut_the_run_as_tekton_does() {
        let task = shell_task("t", "sleep \"$0\"; printf done > \"$1\"");
        let pipeline = pipeline_of(
            "  tasks:\n    - {name: long, taskRef: {name: t}, params: [{name: arg, value: '5'}]}\n    - {name: later, taskRef: {name: t}, params: [{name: arg, value: '0'}]}\n  finally:\n    - {name: report, taskRef: {name: t}, params: [{name: arg, value: '0'}]}\n",
        );
        let out = tempfile::tempdir().unwrap();
        let mut cut = options(out.path(), BTreeMap::new());
        cut.timeouts = Timeouts {
            pipeline: Some(std::time::Duration::from_secs(30)),
            tasks: Some(std::time::Duration::from_secs(1)),
            finally: Some(std::time::Duration::from_secs(10)),
        };
        let outcome = run(&pipeline, vec![task.clone()], &cut).await.unwrap();
        assert_eq!(outcome.status, TaskStatus::Failed);
        let long = outcome.outcome("long").unwrap();
        assert_eq!(long.status, TaskStatus::Failed);
        assert!(
            long.reason.as_deref().unwrap().contains(": timeouts.tasks (1s) elapsed; its steps were stopped"),
            "{long:?}"
        );
        let later = outcome.outcome("later").unwrap();
        assert_eq!(later.status, TaskStatus::None);
        assert_eq!(later.reason.as_deref(), Some("not started: timeouts.tasks (1s) had elapsed"));
        // finally gets its own time.
        assert_eq!(out_of(&outcome, "report"), "done");

        // timeouts.pipeline bounds finally too: what is left of the whole run.
        let slow_finally = pipeline_of(
            "  tasks:\n    - {name: quick, taskRef: {name: t}, params: [{name: arg, value: '0'}]}\n  finally:\n    - {name: report, taskRef: {name: t}, params: [{name: arg, value: '5'}]}\n",
        );
        let out = tempfile::tempdir().unwrap();
        let mut whole = options(out.path(), BTreeMap::new());
        whole.timeouts = Timeouts {
            pipeline: Some(std::time::Duration::from_secs(1)),
            tasks: None,
            finally: Some(std::time::Duration::from_secs(10)),
        };
        let outcome = run(&slow_finally, vec![task], &whole).await.unwrap();
        assert_eq!(out_of(&outcome, "quick"), "done");
        let report = outcome.outcome("report").unwrap();
        assert_eq!(report.status, TaskStatus::Failed);
        assert!(report.reason.as_deref().unwrap().contains("timeouts.pipeline (1s) elapsed"), "{report:?}");
    }

    #[tokio::test]
    async fn required_params_are_checked_before_the_first_task() {
        let scratch = tempfile::tempdir().unwrap();
        let marker = scratch.path().join("ran");
        let task = shell_task("t", "touch \"$0\"");
        let pipeline = pipeline_of(&format!(
            "  params:\n    - {{name: needed}}\n    - {{name: optional, default: x}}\n  tasks:\n    - {{name: first, taskRef: {{name: t}}, params: [{{name: arg, value: {}}}]}}\n    - {{name: second, taskRef: {{name: t}}, params: [{{name: arg, value: $(params.needed)}}]}}\n",
            marker.display()
        ));
        let out = tempfile::tempdir().unwrap();
        let error = run(&pipeline, vec![task.clone()], &options(out.path(), BTreeMap::new())).await.unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.contains("the pipeline param `needed` has no default and was given no value; no task was started"),
            "{text}"
        );
        assert_eq!(
            error.downcast_ref::<InputError>().and_then(|error| error.hint.as_deref()),
            Some("pass it: --param needed=VALUE")
        );
        assert!(!marker.exists(), "the first task did not run");
        assert!(!out.path().join("state/first.json").exists());
        // A Task param without a default that the pipeline task does not give: the same, before anything.
        let strict = crate::pipeline::definitions::parse_task(
            "t.yaml",
            &format!("apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {{name: strict}}\nspec:\n  params: [{{name: must}}]\n  steps:\n    - {{name: s, image: quay.io/rhdh-community/rhdh-catalog@sha256:{}, args: [-c, 'true']}}\n", "0".repeat(64)),
        )
        .unwrap();
        let pipeline = pipeline_of(&format!(
            "  tasks:\n    - {{name: first, taskRef: {{name: t}}, params: [{{name: arg, value: {}}}]}}\n    - {{name: last, taskRef: {{name: strict}}}}\n",
            marker.display()
        ));
        let error = run(&pipeline, vec![task, strict], &options(out.path(), BTreeMap::new())).await.unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.contains("pipeline task `last` gives its Task `strict` no value for the param `must`, which has no default; no task was started"),
            "{text}"
        );
        assert!(!marker.exists());
    }

    #[tokio::test]
    async fn results_must_fit_the_termination_message_as_tekton_encodes_it() {
        // 2100 quotes: 2100 bytes raw, over 4200 as JSON. One step: refused by the encoded size.
        let quotes = shell_task("quotes", "printf %2100s \"\" | tr \" \" \"\\\"\" > \"$1\"");
        let pipeline = pipeline_of("  tasks:\n    - {name: q, taskRef: {name: quotes}}\n");
        let out = tempfile::tempdir().unwrap();
        let outcome = run(&pipeline, vec![quotes], &options(out.path(), BTreeMap::new())).await.unwrap();
        let q = outcome.outcome("q").unwrap();
        assert_eq!(q.status, TaskStatus::Failed, "{q:?}");
        let reason = q.reason.as_deref().unwrap();
        assert!(reason.contains("step s: its termination message would be 42"), "{reason}");
        assert!(reason.contains("over the 4096 bytes a container of Task quotes gets"), "{reason}");
        // 3000 plain bytes fit one container's 4096, not the 3072 each of four steps gets of 12 KiB.
        let mut four_steps = "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: four}\nspec:\n  results: [{name: out}]\n  steps:\n".to_string();
        for index in 0..4 {
            let script = if index == 0 { "printf %3000s x > \"$0\"" } else { "true" };
            let digest = "0".repeat(64);
            four_steps.extend([
                "    - {name: s",
                &index.to_string(),
                ", image: quay.io/rhdh-community/rhdh-catalog@sha256:",
                &digest,
                ", args: [-c, '",
                script,
                "', $(results.out.path)]}\n",
            ]);
        }
        let four = crate::pipeline::definitions::parse_task("four.yaml", &four_steps).unwrap();
        let pipeline = pipeline_of("  tasks:\n    - {name: f, taskRef: {name: four}}\n");
        let out = tempfile::tempdir().unwrap();
        let outcome = run(&pipeline, vec![four.clone()], &options(out.path(), BTreeMap::new())).await.unwrap();
        let f = outcome.outcome("f").unwrap();
        assert_eq!(f.status, TaskStatus::Failed, "{f:?}");
        assert!(
            f.reason.as_deref().unwrap().contains("over the 3072 bytes a container of Task four gets (4096 bytes per container, 12288 per pod shared by its 4 steps)"),
            "{f:?}"
        );
        // The same value from a Task of three steps fits.
        let three = crate::pipeline::definitions::parse_task(
            "three.yaml",
            &four_steps.replace("name: four", "name: three").replace(&format!("    - {{name: s3, image: quay.io/rhdh-community/rhdh-catalog@sha256:{}, args: [-c, 'true', $(results.out.path)]}}\n", "0".repeat(64)), ""),
        )
        .unwrap();
        assert_eq!(three.steps.len(), 3);
        let pipeline = pipeline_of("  tasks:\n    - {name: f, taskRef: {name: three}}\n");
        let out = tempfile::tempdir().unwrap();
        let outcome = run(&pipeline, vec![three], &options(out.path(), BTreeMap::new())).await.unwrap();
        assert_eq!(out_of(&outcome, "f").len(), 3000);
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
    fn tasks_status_counts_only_the_pipeline_tasks() {
        let pipeline = pipeline_of(
            "  tasks:\n    - {name: a, taskRef: {name: t}}\n  finally:\n    - {name: publish, taskRef: {name: t}}\n    - {name: report, taskRef: {name: t}}\n",
        );
        let outcome = |status: TaskStatus| TaskOutcome { status, ..TaskOutcome::default() };
        let ran = |a: TaskStatus, publish: TaskStatus| {
            vec![("a".to_string(), outcome(a)), ("publish".to_string(), outcome(publish))]
        };
        // A finally task that ran before, failed or was skipped, is not a pipeline task.
        assert_eq!(aggregate_status(&pipeline, &ran(TaskStatus::Succeeded, TaskStatus::Failed)), "Succeeded");
        assert_eq!(aggregate_status(&pipeline, &ran(TaskStatus::Succeeded, TaskStatus::None)), "Succeeded");
        assert_eq!(aggregate_status(&pipeline, &ran(TaskStatus::None, TaskStatus::Succeeded)), "Completed");
        assert_eq!(aggregate_status(&pipeline, &ran(TaskStatus::Failed, TaskStatus::None)), "Failed");
    }

    /// The finally task that reads `$(tasks.status)` after another finally task failed and a
    /// third was skipped still gets the pipeline tasks' status, as on a cluster.
    #[tokio::test]
    async fn a_finally_task_reads_the_pipeline_tasks_status_after_other_finally_tasks() {
        let task = shell_task("t", "if [ \"$0\" = fail ]; then exit 1; fi; printf %s \"$0\" > \"$1\"");
        let pipeline = pipeline_of(
            "  tasks:\n    - {name: a, taskRef: {name: t}, params: [{name: arg, value: ok}]}\n  finally:\n    - {name: broken, taskRef: {name: t}, params: [{name: arg, value: fail}]}\n    - name: skipped\n      taskRef: {name: t}\n      when: [{input: one, operator: in, values: [other]}]\n    - {name: report, taskRef: {name: t}, params: [{name: arg, value: $(tasks.status)}]}\n",
        );
        let out = tempfile::tempdir().unwrap();
        let outcome = run(&pipeline, vec![task], &options(out.path(), BTreeMap::new())).await.unwrap();
        assert_eq!(outcome.outcome("broken").unwrap().status, TaskStatus::Failed);
        assert_eq!(outcome.outcome("skipped").unwrap().status, TaskStatus::None);
        let report = outcome.outcome("report").unwrap();
        assert_eq!(report.results["out"][0].as_str(), Some("Succeeded"), "{report:?}");
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
