//! The Tekton YAML and the binary agree: every tool step's args parse with the real clap
//! definitions, every declared result is written by the step that declares it (and nothing
//! undeclared is written), every reference between Pipeline and Tasks resolves, images are pinned,
//! steps run as non-root with resources, and every file validates against the Tekton v1 JSON
//! schemas in `reference-data/tekton-schemas`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser;
use rhdh_catalog::cli::Cli;
use rhdh_catalog::pipeline::definitions::{self, TOOL_IMAGES, TaskRef};
use serde_json::Value;

use crate::support::{files_under, reference_data};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A value for a `$(...)` placeholder that the flag it feeds accepts.
fn placeholder(reference: &str) -> &'static str {
    if reference.contains("changed") {
        "true"
    } else if reference.contains("max-failed") {
        "0"
    } else if reference.contains("ARTIFACT") {
        "oci:quay.io/org/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    } else if reference.contains("registry") {
        "quay.io/rhdh"
    } else {
        "x"
    }
}

fn fill(arg: &str, task: &definitions::Task) -> String {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find(')').map(|end| start + end).unwrap();
        let reference = &rest[start + 2..end];
        let default = reference
            .strip_prefix("params.")
            .and_then(|name| task.params.iter().find(|param| param.name == name.trim_end_matches("[*]")))
            .and_then(|param| param.default.as_ref())
            .and_then(Value::as_str)
            .filter(|default| !default.is_empty());
        match (reference.strip_prefix("results.").and_then(|name| name.strip_suffix(".path")), default) {
            (Some(name), _) => {
                out.push_str("/tekton/results/");
                out.push_str(name);
            }
            (None, Some(default)) => out.push_str(default),
            (None, None) => out.push_str(placeholder(reference)),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The results a step's subcommand writes.
fn written(args: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(position) = args.iter().position(|arg| arg == "--result") {
        let path = &args[position + 1];
        names.insert(path.trim_start_matches("$(results.").trim_end_matches(".path)").to_string());
    }
    if args.iter().any(|arg| arg == "--results-dir") {
        let subcommand_results: &[&str] = match args[0].as_str() {
            "fetch" => &rhdh_catalog::steps::fetch::RESULTS,
            "export" => &rhdh_catalog::steps::export::RESULTS,
            "index" => &rhdh_catalog::steps::index::RESULTS,
            "release-number" => &rhdh_catalog::steps::release_number::RESULTS,
            "commit" => &rhdh_catalog::steps::commit::RESULTS,
            "report" => &rhdh_catalog::steps::report::RESULTS,
            "await-build" => &rhdh_catalog::steps::await_build::RESULTS,
            "promote" => &rhdh_catalog::steps::promote::RESULTS,
            "publish" => &rhdh_catalog::steps::publish::RESULTS,
            "verify-install" => &rhdh_catalog::steps::verify_install::RESULTS,
            other => panic!("{other} writes no --results-dir results"),
        };
        names.extend(subcommand_results.iter().map(|name| (*name).to_string()));
    }
    names
}

#[test]
fn task_steps_parse_with_the_cli_and_write_exactly_their_results() {
    for task in definitions::tasks().unwrap() {
        let mut produced = BTreeSet::new();
        for step in &task.steps {
            if step.image.starts_with("$(params.") {
                // Another project's image (verify-install's installer step): not this tool, no args to parse.
                assert!(step.command.is_some(), "{}: step {} names its command", task.file, step.name);
                continue;
            }
            assert!(
                definitions::tool_image(&step.image).is_some_and(|repository| TOOL_IMAGES.contains(&repository)),
                "{}: step {} runs {}",
                task.file,
                step.name,
                step.image
            );
            let mut argv = vec!["rhdh-catalog".to_string()];
            argv.extend(step.args.iter().map(|arg| fill(arg, &task)));
            if let Err(error) = Cli::try_parse_from(&argv) {
                panic!("{}: step {}: {argv:?} does not parse:\n{error}", task.file, step.name);
            }
            produced.extend(written(&step.args));
            for variable in &step.env {
                assert!(
                    variable.name.starts_with("RHDH_CATALOG_")
                        || ["GIT_TOKEN", "NODE_OPTIONS"].contains(&variable.name.as_str()),
                    "{}: env {}",
                    task.file,
                    variable.name
                );
            }
        }
        let declared: BTreeSet<String> = task.results.iter().map(|result| result.name.clone()).collect();
        assert_eq!(produced, declared, "{}: results written vs declared", task.file);
    }
}

#[test]
fn pipeline_references_resolve() {
    for (file, text) in [definitions::PIPELINE, definitions::RELEASE_PIPELINE] {
        check_references(&definitions::parse_pipeline(file, text).unwrap());
    }
}

fn check_references(pipeline: &definitions::Pipeline) {
    let tasks = definitions::tasks().unwrap();
    let pipeline_params: BTreeSet<&str> = pipeline.params.iter().map(|param| param.name.as_str()).collect();
    for entry in pipeline.tasks.iter().chain(&pipeline.finally) {
        let TaskRef::Named(name) = &entry.task_ref else { continue };
        let task = tasks
            .iter()
            .find(|task| &task.name == name)
            .unwrap_or_else(|| panic!("pipeline task {} refers to missing Task {name}", entry.name));
        let given: BTreeSet<&str> = entry.params.iter().chain(&entry.matrix).map(|(name, _)| name.as_str()).collect();
        for param in &task.params {
            assert!(
                param.default.is_some() || given.contains(param.name.as_str()),
                "{}: required param {} of {name} not given",
                entry.name,
                param.name
            );
        }
        for name in &given {
            assert!(
                task.params.iter().any(|param| param.name == *name),
                "{}: {name} is not a param of {}",
                entry.name,
                task.name
            );
        }
        let mut texts = Vec::new();
        for (_, value) in entry.params.iter().chain(&entry.matrix) {
            collect(value, &mut texts);
        }
        for text in texts {
            for reference in text.split("$(").skip(1).map(|rest| &rest[..rest.find(')').unwrap()]) {
                if let Some(param) = reference.strip_prefix("params.") {
                    assert!(pipeline_params.contains(param), "{}: unknown pipeline param {param}", entry.name);
                } else if let Some(rest) = reference.strip_prefix("tasks.") {
                    let Some((producer, rest)) = rest.split_once('.') else { continue };
                    let Some(result) = rest.strip_prefix("results.") else { continue };
                    let result = result.trim_end_matches("[*]");
                    let producer_entry = pipeline.tasks.iter().find(|task| task.name == producer).unwrap();
                    if let TaskRef::Named(producer_task) = &producer_entry.task_ref {
                        let declared = tasks.iter().find(|task| &task.name == producer_task).unwrap();
                        assert!(
                            declared.results.iter().any(|declared| declared.name == result),
                            "{}: {producer} has no result {result}",
                            entry.name
                        );
                    }
                }
            }
        }
    }
}

fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        _ => {}
    }
}

fn tekton_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tekton", ".tekton"] {
        let root = repository().join(dir);
        if root.exists() {
            files.extend(
                files_under(&root)
                    .into_iter()
                    .filter(|file| Path::new(file).extension().is_some_and(|extension| extension == "yaml"))
                    .map(|file| root.join(file)),
            );
        }
    }
    files
}

#[test]
fn every_definition_validates_against_the_tekton_schemas_and_house_rules() {
    let schemas = reference_data().join("tekton-schemas");
    let files = tekton_files();
    assert!(files.len() >= 9, "{files:?}");
    for file in files {
        let document = yaml(&file);
        let kind = document["kind"].as_str().unwrap_or_else(|| panic!("{}: no kind", file.display()));
        let schema: Value =
            serde_json::from_slice(&std::fs::read(schemas.join(format!("v1_{kind}.json"))).unwrap()).unwrap();
        let validator = jsonschema::draft4::new(&schema).unwrap();
        let problems: Vec<String> =
            validator.iter_errors(&document).map(|error| format!("{} at {}", error, error.instance_path())).collect();
        assert!(problems.is_empty(), "{}: {problems:#?}", file.display());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("script:"), "{}: no script steps", file.display());
        for line in text.lines().filter(|line| {
            line.trim_start().starts_with("image:") || line.contains("bundle") && line.contains("value: quay.io")
        }) {
            // Another project's image (the RHDH image) comes from a param the run pins.
            let from_param = line.trim_start().strip_prefix("image: $(params.").and_then(|rest| rest.strip_suffix(')'));
            let pinned_param = from_param.is_some_and(|name| {
                document["spec"]["params"].as_array().into_iter().flatten().any(|param| {
                    param["name"] == name
                        && param["description"].as_str().is_some_and(|text| text.contains("pinned by digest"))
                })
            });
            assert!(
                line.contains("@sha256:") || pinned_param,
                "{}: image not pinned by digest: {line}",
                file.display()
            );
        }
        if kind == "Task" {
            for step in document["spec"]["steps"].as_array().unwrap() {
                let non_root = step["securityContext"]["runAsNonRoot"] == true
                    || document["spec"]["stepTemplate"]["securityContext"]["runAsNonRoot"] == true;
                assert!(non_root, "{}: step {} may run as root", file.display(), step["name"]);
                assert!(
                    step["computeResources"]["requests"].is_object(),
                    "{}: step {} has no resource requests",
                    file.display(),
                    step["name"]
                );
            }
        }
    }
}

#[test]
fn every_task_folder_has_a_readme() {
    for (file, _) in definitions::TASKS {
        let folder = repository().join(file).parent().unwrap().to_path_buf();
        assert!(folder.join("README.md").is_file(), "{} has no README.md", folder.display());
    }
}

#[test]
fn pin_script_repins_every_occurrence_and_refuses_unknown_references() {
    let scratch = tempfile::tempdir().unwrap();
    for folder in ["hack", "tekton", ".tekton"] {
        crate::support::copy_dir(&repository().join(folder), &scratch.path().join(folder));
    }
    let digest = format!("sha256:{}", "ab".repeat(32));
    let run = |reference: &str, digest: &str| {
        std::process::Command::new("bash")
            .arg(scratch.path().join("hack/pin-images.sh"))
            .args([reference, digest])
            .output()
            .unwrap()
    };
    let output = run("quay.io/rhdh-community/rhdh-catalog-exporter", &digest);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let export =
        std::fs::read_to_string(scratch.path().join("tekton/task/rhdh-catalog-export/0.1/rhdh-catalog-export.yaml"))
            .unwrap();
    assert!(export.contains(&format!("quay.io/rhdh-community/rhdh-catalog-exporter@{digest}")));
    assert!(!export.contains("rhdh-catalog@sha256:abab"), "the tool image is a different reference");
    assert_eq!(run("quay.io/nowhere/image", &digest).status.code(), Some(2));
    assert_eq!(run("quay.io/rhdh-community/rhdh-catalog", "sha256:short").status.code(), Some(2));
}
