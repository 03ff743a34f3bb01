//! `rhdh-catalog await-build --sha S`: the Konflux build of a commit, found and followed. The
//! PipelineRun is looked up by the labels Pipelines-as-Code sets (`sha`, `event-type=push`, and the
//! component), newest first, retried while it does not exist yet; then followed with a watch until
//! its `Succeeded` condition is set. Prints `IMAGE_URL@IMAGE_DIGEST`.
//!
//! Exit codes: 0 Succeeded/Completed; 1 Failed or Cancelled (the build itself failed or was
//! stopped); 3 `PipelineRunTimeout`, `CreateRunFailed`, no run found in time, or `--timeout` reached.

use std::time::Duration;

use std::path::PathBuf;

use crate::error::{ExitStatus, FindingsError, InfrastructureError};
use crate::io::kube_api::{RunState, follow_run, newest_run, pipeline_runs, run_result};
use crate::io::registry::ImageReference;

/// The Tekton results this step writes (`--results-dir`).
/// The built image's repository as the build reported it.
pub(crate) const RESULT_IMAGE_URL: &str = "IMAGE_URL";
/// The built image's digest.
pub(crate) const RESULT_IMAGE_DIGEST: &str = "IMAGE_DIGEST";
/// The repository without tag (for promote).
pub(crate) const RESULT_IMAGE_REPOSITORY: &str = "IMAGE_REPOSITORY";
pub const RESULTS: [&str; 3] = [RESULT_IMAGE_URL, RESULT_IMAGE_DIGEST, RESULT_IMAGE_REPOSITORY];

#[derive(Debug)]
pub struct AwaitBuildSettings {
    /// The commit whose build to wait for (validated hex).
    pub(crate) sha: String,
    /// Default: the client configuration's namespace.
    pub(crate) namespace: Option<String>,
    pub(crate) component: Option<String>,
    pub(crate) event_type: String,
    pub(crate) timeout: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) results_dir: Option<PathBuf>,
}

pub(crate) async fn run(args: AwaitBuildSettings) -> anyhow::Result<ExitStatus> {
    let client = crate::io::kube_api::client().await?;
    let namespace = args.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let api = pipeline_runs(client, &namespace);
    let mut selector = format!(
        "pipelinesascode.tekton.dev/sha={},pipelinesascode.tekton.dev/event-type={}",
        args.sha, args.event_type
    );
    if let Some(component) = &args.component {
        selector.push_str(",appstudio.openshift.io/component=");
        selector.push_str(component);
    }
    let wait = async {
        let mut delay = args.poll_interval;
        let run = loop {
            if let Some(run) = newest_run(&api, &namespace, &selector).await? {
                break run;
            }
            tracing::info!(%selector, "no PipelineRun yet; waiting for Pipelines-as-Code to create it");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(60));
        };
        let name = run.metadata.name.clone().unwrap_or_default();
        tracing::info!(run = %name, "following");
        follow_run(&api, &namespace, &name).await
    };
    let finished = match tokio::time::timeout(args.timeout, wait).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(InfrastructureError {
                service: "Konflux build".into(),
                problem: format!("no finished PipelineRun for {} within {}s", args.sha, args.timeout.as_secs()),
            }
            .into());
        }
    };
    let name = finished.metadata.name.clone().unwrap_or_default();
    match crate::io::kube_api::run_state(&finished) {
        RunState::Succeeded { reason } => {
            let (Some(url), Some(digest)) = (run_result(&finished, "IMAGE_URL"), run_result(&finished, "IMAGE_DIGEST"))
            else {
                return Err(FindingsError(format!(
                    "PipelineRun {name} {reason} but has no IMAGE_URL/IMAGE_DIGEST results"
                ))
                .into());
            };
            // IMAGE_URL may carry a tag; `url:tag@digest` is a valid pinned reference.
            let url = url.split('@').next().unwrap_or(&url).to_string();
            let results = crate::io::tekton_results::Results::new(args.results_dir.as_deref());
            results.write(RESULT_IMAGE_URL, &url)?;
            results.write(RESULT_IMAGE_DIGEST, &digest)?;
            let repository = ImageReference::parse(&format!("{url}@{digest}"))
                .map_or_else(|_| url.clone(), |reference| reference.name());
            results.write(RESULT_IMAGE_REPOSITORY, &repository)?;
            println!("{url}@{digest}");
            Ok(ExitStatus::Success)
        }
        RunState::Failed { reason, message } => {
            let problem = format!("PipelineRun {name} ended {reason}: {message}");
            if reason == "PipelineRunTimeout" || reason == "CreateRunFailed" {
                Err(InfrastructureError { service: "Konflux build".into(), problem }.into())
            } else {
                Err(FindingsError(problem).into())
            }
        }
        RunState::Running => Err(InfrastructureError {
            service: "Konflux build".into(),
            problem: format!("PipelineRun {name} has not finished"),
        }
        .into()),
    }
}
