//! The project's Tekton definitions, embedded in the binary, parsed into the small model the
//! local runner and the consistency tests use. Only the Tekton features our own Tasks and
//! Pipeline use are modelled; anything else is a clear error naming the file and the field.

use std::time::Duration;

use serde_json::Value;

use crate::error::InputError;

/// `(path in the repository, contents)` of every Task and Pipeline we ship.
pub const TASKS: [(&str, &str); 11] = [
    (
        "tekton/task/rhdh-catalog-await-build/0.1/rhdh-catalog-await-build.yaml",
        include_str!("../../tekton/task/rhdh-catalog-await-build/0.1/rhdh-catalog-await-build.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-validate/0.1/rhdh-catalog-validate.yaml",
        include_str!("../../tekton/task/rhdh-catalog-validate/0.1/rhdh-catalog-validate.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-verify-install/0.1/rhdh-catalog-verify-install.yaml",
        include_str!("../../tekton/task/rhdh-catalog-verify-install/0.1/rhdh-catalog-verify-install.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-promote/0.1/rhdh-catalog-promote.yaml",
        include_str!("../../tekton/task/rhdh-catalog-promote/0.1/rhdh-catalog-promote.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-fetch/0.1/rhdh-catalog-fetch.yaml",
        include_str!("../../tekton/task/rhdh-catalog-fetch/0.1/rhdh-catalog-fetch.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-export/0.1/rhdh-catalog-export.yaml",
        include_str!("../../tekton/task/rhdh-catalog-export/0.1/rhdh-catalog-export.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-index/0.1/rhdh-catalog-index.yaml",
        include_str!("../../tekton/task/rhdh-catalog-index/0.1/rhdh-catalog-index.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-release-number/0.1/rhdh-catalog-release-number.yaml",
        include_str!("../../tekton/task/rhdh-catalog-release-number/0.1/rhdh-catalog-release-number.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-commit/0.1/rhdh-catalog-commit.yaml",
        include_str!("../../tekton/task/rhdh-catalog-commit/0.1/rhdh-catalog-commit.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-report/0.1/rhdh-catalog-report.yaml",
        include_str!("../../tekton/task/rhdh-catalog-report/0.1/rhdh-catalog-report.yaml"),
    ),
    (
        "tekton/task/rhdh-catalog-publish/0.1/rhdh-catalog-publish.yaml",
        include_str!("../../tekton/task/rhdh-catalog-publish/0.1/rhdh-catalog-publish.yaml"),
    ),
];

/// The release Pipeline (after a sync commit).
pub const RELEASE_PIPELINE: (&str, &str) = (
    "tekton/pipeline/rhdh-catalog-release/0.1/rhdh-catalog-release.yaml",
    include_str!("../../tekton/pipeline/rhdh-catalog-release/0.1/rhdh-catalog-release.yaml"),
);

pub const PIPELINE: (&str, &str) = (
    "tekton/pipeline/rhdh-catalog-sync/0.1/rhdh-catalog-sync.yaml",
    include_str!("../../tekton/pipeline/rhdh-catalog-sync/0.1/rhdh-catalog-sync.yaml"),
);

/// The sample `PipelineRun` of the sync Pipeline: its `spec.timeouts` are the ones the Pipelines-as-Code runs set
/// and the ones `sync` keeps.
pub const SAMPLE_RUN: (&str, &str) = (
    "tekton/pipelinerun/rhdh-catalog-sync-run.yaml",
    include_str!("../../tekton/pipelinerun/rhdh-catalog-sync-run.yaml"),
);

/// Repositories of the images whose steps run this tool.
pub const TOOL_IMAGES: [&str; 2] =
    ["quay.io/rhdh-community/rhdh-catalog", "quay.io/rhdh-community/rhdh-catalog-exporter"];

/// The tool repository a step image names, when it is one of [`TOOL_IMAGES`] pinned by digest:
/// `<repository>@sha256:<digest>` or, so that release Tasks can name their version,
/// `<repository>:<tag>@sha256:<digest>`. A tag without a digest, or another repository that
/// merely starts with the same name, is not a tool image.
pub fn tool_image(image: &str) -> Option<&'static str> {
    let (name, digest) = image.split_once("@sha256:")?;
    if digest.len() != 64 || !digest.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)) {
        return None;
    }
    let repository = match name.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => {
            let valid_tag = tag.len() <= 128
                && tag.bytes().next().is_some_and(|first| first.is_ascii_alphanumeric() || first == b'_')
                && tag.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"_.-".contains(&byte));
            if !valid_tag {
                return None;
            }
            repository
        }
        _ => name,
    };
    TOOL_IMAGES.iter().copied().find(|tool| *tool == repository)
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub is_array: bool,
    pub default: Option<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResultSpec {
    pub name: String,
    pub is_array: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    /// `valueFrom.secretKeyRef`: locally the variable is taken from the runner's environment.
    pub from_secret: bool,
    /// `secretKeyRef.optional`. On a cluster a missing secret (or key) that is not optional keeps
    /// the pod from starting; locally the runner's environment stands for the secret store.
    pub secret_optional: bool,
}

/// A workspace a Task or Pipeline declares.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkspaceSpec {
    pub name: String,
    pub optional: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub name: String,
    pub image: String,
    /// `steps[].timeout`: the step is killed after it (Tekton's step timeout).
    pub timeout: Option<Duration>,
    /// Only for a step of another project's image, named by a param (the RHDH installer in
    /// verify-install); the tool's own steps run with args only.
    pub command: Option<Vec<String>>,
    pub args: Vec<String>,
    pub env: Vec<EnvVar>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub name: String,
    pub file: String,
    pub params: Vec<ParamSpec>,
    pub results: Vec<ResultSpec>,
    pub workspaces: Vec<WorkspaceSpec>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TaskRef {
    Named(String),
    /// A Konflux task from a bundle (`resolver: bundles`), by name.
    Bundle(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct When {
    pub input: String,
    pub operator: String,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PipelineTask {
    pub name: String,
    pub task_ref: TaskRef,
    pub params: Vec<(String, Value)>,
    pub matrix: Vec<(String, Value)>,
    pub run_after: Vec<String>,
    pub when: Vec<When>,
    pub retries: u32,
    /// `timeout`: the limit of each attempt (a retry gets the whole timeout again); `None`: none
    /// (absent, or `0` as Tekton reads it).
    pub timeout: Option<Duration>,
    /// `(task workspace, pipeline workspace)` bindings.
    pub workspaces: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub name: String,
    pub params: Vec<ParamSpec>,
    pub workspaces: Vec<WorkspaceSpec>,
    pub tasks: Vec<PipelineTask>,
    pub finally: Vec<PipelineTask>,
}

/// A Go duration (`time.ParseDuration`, how Tekton reads every timeout): decimal numbers, each
/// with a unit of ns, us, µs, ms, s, m or h (`1h30m`, `1.5h`, `90s`), or `0` alone.
pub fn go_duration(text: &str) -> Result<Duration, String> {
    let wrong = || format!("`{text}` is not a Go duration (e.g. 1h30m, 20m, 90s)");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(wrong());
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(wrong)?;
        let (number, after) = rest.split_at(number_end);
        if number.is_empty() || number == "." {
            return Err(wrong());
        }
        let value: f64 = number.parse().map_err(|_| wrong())?;
        let unit_end = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, remaining) = after.split_at(unit_end);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(wrong()),
        };
        total += value * seconds;
        rest = remaining;
    }
    Duration::try_from_secs_f64(total).map_err(|_| wrong())
}

/// A duration field of a Task or Pipeline; `0` is no limit, as Tekton reads it.
fn duration_field(value: &Value, file: &str, what: &str) -> Result<Option<Duration>, InputError> {
    let Some(text) = value.as_str() else {
        return if value.is_null() { Ok(None) } else { Err(bad(file, format!("`{what}` must be a string"))) };
    };
    let duration = go_duration(text).map_err(|problem| bad(file, format!("`{what}`: {problem}")))?;
    Ok((!duration.is_zero()).then_some(duration))
}

/// `spec.timeouts` of a PipelineRun: the whole run, the `tasks` section and the `finally`
/// section (each `None` when unset or `0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub pipeline: Option<Duration>,
    pub tasks: Option<Duration>,
    pub finally: Option<Duration>,
}

/// The timeouts of a PipelineRun, checked as Tekton's admission checks them: `pipeline` at least
/// `tasks` plus `finally`.
pub fn run_timeouts(file: &str, text: &str) -> Result<Timeouts, InputError> {
    let value = document(file, text, "PipelineRun")?;
    let timeouts = &value["spec"]["timeouts"];
    let read = |key: &str| duration_field(&timeouts[key], file, &format!("spec.timeouts.{key}"));
    let found = Timeouts { pipeline: read("pipeline")?, tasks: read("tasks")?, finally: read("finally")? };
    if let Some(pipeline) = found.pipeline {
        let sections = found.tasks.unwrap_or_default() + found.finally.unwrap_or_default();
        if sections > pipeline {
            return Err(bad(file, "spec.timeouts: tasks plus finally exceed pipeline, which Tekton refuses"));
        }
    }
    Ok(found)
}

/// The timeouts of the embedded sample PipelineRun ([`SAMPLE_RUN`]).
pub fn sample_run_timeouts() -> Result<Timeouts, InputError> {
    run_timeouts(SAMPLE_RUN.0, SAMPLE_RUN.1)
}

fn bad(file: &str, problem: impl Into<String>) -> InputError {
    InputError::in_file(file, problem)
        .with_hint("the local runner supports the Tekton features of the project's own pipelines")
}

fn document(file: &str, text: &str, kind: &str) -> Result<Value, InputError> {
    let value: Value = crate::formats::yaml::from_str(std::path::Path::new(file), text)?;
    if value["apiVersion"] != "tekton.dev/v1" || value["kind"] != kind {
        return Err(bad(file, format!("expected apiVersion tekton.dev/v1, kind {kind}")));
    }
    Ok(value)
}

fn text_of(value: &Value, file: &str, what: &str) -> Result<String, InputError> {
    value.as_str().map(str::to_string).ok_or_else(|| bad(file, format!("`{what}` must be a string")))
}

fn params_of(value: &Value, file: &str) -> Result<Vec<ParamSpec>, InputError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|param| {
            Ok(ParamSpec {
                name: text_of(&param["name"], file, "params[].name")?,
                is_array: param["type"] == "array",
                default: param.get("default").cloned(),
            })
        })
        .collect()
}

/// `workspaces: [{name, optional}]` of a Task or Pipeline.
fn workspaces_of(value: &Value, file: &str) -> Result<Vec<WorkspaceSpec>, InputError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|workspace| {
            Ok(WorkspaceSpec {
                name: text_of(&workspace["name"], file, "workspaces[].name")?,
                optional: workspace["optional"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

pub fn parse_task(file: &str, text: &str) -> Result<Task, InputError> {
    let value = document(file, text, "Task")?;
    let spec = &value["spec"];
    for unsupported in ["sidecars", "stepActions"] {
        if spec.get(unsupported).is_some() {
            return Err(bad(file, format!("`spec.{unsupported}` is not supported")));
        }
    }
    let results = spec["results"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|result| {
            Ok(ResultSpec {
                name: text_of(&result["name"], file, "results[].name")?,
                is_array: result["type"] == "array",
            })
        })
        .collect::<Result<Vec<_>, InputError>>()?;
    let template_env = env_of(&spec["stepTemplate"]["env"], file)?;
    let mut steps = Vec::new();
    for step in spec["steps"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = text_of(&step["name"], file, "steps[].name")?;
        let image = text_of(&step["image"], file, "steps[].image")?;
        let foreign = image.starts_with("$(params.");
        if step.get("script").is_some() || (step.get("command").is_some() && !foreign) {
            return Err(bad(file, format!("step `{name}` uses script or command; steps run the tool with args only")));
        }
        let command = match step["command"].as_array() {
            Some(items) => {
                Some(items.iter().map(|item| text_of(item, file, "command[]")).collect::<Result<Vec<_>, _>>()?)
            }
            None => None,
        };
        let args = step["args"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|arg| text_of(arg, file, "args[]"))
            .collect::<Result<_, _>>()?;
        let mut env = template_env.clone();
        env.extend(env_of(&step["env"], file)?);
        let timeout = duration_field(&step["timeout"], file, &format!("steps[{name}].timeout"))?;
        steps.push(Step { name, image, timeout, command, args, env });
    }
    Ok(Task {
        name: text_of(&value["metadata"]["name"], file, "metadata.name")?,
        file: file.to_string(),
        params: params_of(&spec["params"], file)?,
        results,
        workspaces: workspaces_of(&spec["workspaces"], file)?,
        steps,
    })
}

fn env_of(value: &Value, file: &str) -> Result<Vec<EnvVar>, InputError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|variable| {
            let secret = &variable["valueFrom"]["secretKeyRef"];
            Ok(EnvVar {
                name: text_of(&variable["name"], file, "env[].name")?,
                value: variable["value"].as_str().map(str::to_string),
                from_secret: secret.is_object(),
                secret_optional: secret["optional"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

fn pipeline_tasks(value: &Value, file: &str) -> Result<Vec<PipelineTask>, InputError> {
    let mut tasks = Vec::new();
    for task in value.as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = text_of(&task["name"], file, "tasks[].name")?;
        let reference = &task["taskRef"];
        let task_ref = if let Some(named) = reference["name"].as_str() {
            TaskRef::Named(named.to_string())
        } else if reference["resolver"] == "bundles" {
            let bundle_name = reference["params"]
                .as_array()
                .and_then(|params| params.iter().find(|param| param["name"] == "name"))
                .and_then(|param| param["value"].as_str())
                .ok_or_else(|| bad(file, format!("task `{name}`: a bundles taskRef needs a `name` param")))?;
            TaskRef::Bundle(bundle_name.to_string())
        } else {
            return Err(bad(
                file,
                format!("task `{name}`: only taskRef by name or by the bundles resolver is supported"),
            ));
        };
        let pairs = |value: &Value| -> Result<Vec<(String, Value)>, InputError> {
            value
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|param| Ok((text_of(&param["name"], file, "params[].name")?, param["value"].clone())))
                .collect()
        };
        let when = task["when"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|expression| {
                Ok(When {
                    input: text_of(&expression["input"], file, "when[].input")?,
                    operator: text_of(&expression["operator"], file, "when[].operator")?,
                    values: expression["values"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .map(|value| text_of(value, file, "when[].values[]"))
                        .collect::<Result<_, _>>()?,
                })
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        let timeout = duration_field(&task["timeout"], file, &format!("tasks[{name}].timeout"))?;
        tasks.push(PipelineTask {
            name,
            task_ref,
            params: pairs(&task["params"])?,
            matrix: pairs(&task["matrix"]["params"])?,
            run_after: task["runAfter"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|name| text_of(name, file, "runAfter[]"))
                .collect::<Result<_, _>>()?,
            when,
            retries: u32::try_from(task["retries"].as_u64().unwrap_or(0)).unwrap_or(0),
            timeout,
            workspaces: task["workspaces"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|binding| {
                    Ok((
                        text_of(&binding["name"], file, "tasks[].workspaces[].name")?,
                        text_of(&binding["workspace"], file, "tasks[].workspaces[].workspace")?,
                    ))
                })
                .collect::<Result<_, InputError>>()?,
        });
    }
    Ok(tasks)
}

pub fn parse_pipeline(file: &str, text: &str) -> Result<Pipeline, InputError> {
    let value = document(file, text, "Pipeline")?;
    let spec = &value["spec"];
    let pipeline = Pipeline {
        name: text_of(&value["metadata"]["name"], file, "metadata.name")?,
        params: params_of(&spec["params"], file)?,
        workspaces: workspaces_of(&spec["workspaces"], file)?,
        tasks: pipeline_tasks(&spec["tasks"], file)?,
        finally: pipeline_tasks(&spec["finally"], file)?,
    };
    for task in pipeline.tasks.iter().chain(&pipeline.finally) {
        for (_, workspace) in &task.workspaces {
            if !pipeline.workspaces.iter().any(|declared| &declared.name == workspace) {
                return Err(bad(
                    file,
                    format!(
                        "task `{}` binds the workspace `{workspace}`, which the Pipeline does not declare",
                        task.name
                    ),
                ));
            }
        }
    }
    Ok(pipeline)
}

/// The embedded Tasks, parsed.
pub fn tasks() -> Result<Vec<Task>, InputError> {
    TASKS.iter().map(|(file, text)| parse_task(file, text)).collect()
}

/// The embedded sync Pipeline, parsed.
pub fn pipeline() -> Result<Pipeline, InputError> {
    parse_pipeline(PIPELINE.0, PIPELINE.1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_definitions_parse() {
        let tasks = super::tasks().unwrap();
        assert_eq!(tasks.len(), 11);
        super::parse_pipeline(super::RELEASE_PIPELINE.0, super::RELEASE_PIPELINE.1).unwrap();
        let pipeline = super::pipeline().unwrap();
        assert_eq!(pipeline.tasks.len(), 6);
        // publish, publish-community (issue 21), report and report-without-index.
        assert_eq!(pipeline.finally.len(), 4);
    }

    #[test]
    fn timeouts_read_as_tekton_reads_them() {
        use std::time::Duration;
        assert_eq!(super::go_duration("5h20m"), Ok(Duration::from_secs(5 * 3600 + 20 * 60)));
        assert_eq!(super::go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(super::go_duration("0h1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(super::go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(super::go_duration("0"), Ok(Duration::ZERO));
        for wrong in ["", "5", "1d", "h", "1 h", "-1h", "1h-", ".h"] {
            assert!(super::go_duration(wrong).unwrap_err().contains("is not a Go duration"), "{wrong:?}");
        }
        assert_eq!(
            super::sample_run_timeouts().unwrap(),
            super::Timeouts {
                pipeline: Some(Duration::from_secs(5 * 3600 + 20 * 60)),
                tasks: Some(Duration::from_secs(5 * 3600 + 10 * 60)),
                finally: Some(Duration::from_secs(600)),
            }
        );
        let pipeline = super::pipeline().unwrap();
        let export = pipeline.tasks.iter().find(|task| task.name == "export").unwrap();
        assert_eq!((export.timeout, export.retries), (Some(Duration::from_secs(7200)), 1));
        let run = "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  timeouts: {pipeline: 1h, tasks: 50m, finally: 20m}\n";
        let error = super::run_timeouts("r.yaml", run).unwrap_err().to_string();
        assert!(error.contains("tasks plus finally exceed pipeline"), "{error}");
        let none = super::run_timeouts(
            "r.yaml",
            &run.replace("{pipeline: 1h, tasks: 50m, finally: 20m}", "{pipeline: \"0\"}"),
        )
        .unwrap();
        assert_eq!(none, super::Timeouts::default());
        let task = "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps:\n    - {name: s, image: x, timeout: 10 minutes}\n";
        let error = super::parse_task("t.yaml", task).unwrap_err().to_string();
        assert!(error.contains("`steps[s].timeout`: `10 minutes` is not a Go duration"), "{error}");
    }

    #[test]
    fn tool_images_may_name_a_tag_before_their_digest() {
        let digest = "0123456789abcdef".repeat(4);
        let tool = super::TOOL_IMAGES[0];
        let exporter = super::TOOL_IMAGES[1];
        assert_eq!(super::tool_image(&format!("{tool}@sha256:{digest}")), Some(tool));
        assert_eq!(super::tool_image(&format!("{tool}:0.1.0@sha256:{digest}")), Some(tool));
        assert_eq!(super::tool_image(&format!("{exporter}:v0.1.0-rc.1@sha256:{digest}")), Some(exporter));
        for refused in [
            format!("{tool}:0.1.0"),
            tool.to_string(),
            format!("{tool}@sha256:{}", &digest[..63]),
            format!("{tool}@sha256:{}", digest.to_uppercase()),
            format!("{tool}-evil@sha256:{digest}"),
            format!("{tool}:-bad@sha256:{digest}"),
            format!("quay.io/other/rhdh-catalog:1@sha256:{digest}"),
        ] {
            assert_eq!(super::tool_image(&refused), None, "{refused}");
        }
    }

    #[test]
    fn workspaces_and_secret_env_are_modelled() {
        let task = super::parse_task(
            "t.yaml",
            "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  workspaces:\n    - {name: basic-auth, optional: true}\n    - {name: data}\n  steps:\n    - name: s\n      image: x\n      env:\n        - name: GIT_TOKEN\n          valueFrom: {secretKeyRef: {name: s, key: password, optional: false}}\n        - name: OTHER\n          valueFrom: {secretKeyRef: {name: s, key: other, optional: true}}\n",
        )
        .unwrap();
        assert_eq!(
            task.workspaces,
            [
                super::WorkspaceSpec { name: "basic-auth".into(), optional: true },
                super::WorkspaceSpec { name: "data".into(), optional: false }
            ]
        );
        assert!(task.steps[0].env[0].from_secret && !task.steps[0].env[0].secret_optional);
        assert!(task.steps[0].env[1].secret_optional);
        let pipeline = "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  workspaces:\n    - {name: git-auth, optional: true}\n  tasks:\n    - name: a\n      taskRef: {name: t}\n      workspaces:\n        - {name: basic-auth, workspace: WS}\n";
        let parsed = super::parse_pipeline("p.yaml", &pipeline.replace("WS", "git-auth")).unwrap();
        assert_eq!(parsed.tasks[0].workspaces, [("basic-auth".to_string(), "git-auth".to_string())]);
        let error = super::parse_pipeline("p.yaml", &pipeline.replace("WS", "nope")).unwrap_err().to_string();
        assert!(error.contains("binds the workspace `nope`, which the Pipeline does not declare"), "{error}");
    }
}
