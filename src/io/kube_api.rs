//! Kubernetes edge: the real kube client for Konflux objects (`appstudio.redhat.com/v1alpha1`
//! Snapshots; Tekton `PipelineRuns` later), as `DynamicObject`s. Configuration comes from the
//! environment as kubectl's does (in-cluster service account, `KUBECONFIG`, `~/.kube/config`).
//! Any API failure is an infrastructure error (exit 3); a 403 says which permission is missing.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};

use crate::error::InfrastructureError;
use crate::io::registry::ImageReference;
use crate::io::registry::image::{KnownFacts, inspect};

/// A client from the ambient configuration. The extra CA certificates (`RHDH_CATALOG_EXTRA_CA`)
/// are trusted besides the configuration's own CA, or besides the system roots when the
/// configuration names none.
pub(crate) async fn client() -> anyhow::Result<kube::Client> {
    crate::install_crypto_provider();
    // kube reads these files itself: checked first, so a FIFO or a device is bad input by name,
    // never a hung step.
    let default = std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".kube/config"));
    crate::io::fs::check_library_input("KUBECONFIG", default, crate::io::fs::MAX_INPUT_BYTES)?;
    crate::io::fs::check_library_input("SSL_CERT_FILE", None, crate::io::registry::client::MAX_CA_BUNDLE_BYTES)?;
    // No configuration (or one that does not load) is no failure a retry fixes: bad input.
    let unusable = |problem: String| {
        crate::error::InputError::usage(format!(
            "Kubernetes API: no usable configuration (in-cluster or KUBECONFIG): {problem}"
        ))
        .with_hint("run in a pod whose service account may read the namespace, or point KUBECONFIG at a kubeconfig")
    };
    let mut config = kube::Config::infer().await.map_err(|error| unusable(error.to_string()))?;
    if let Some(extra) = crate::io::registry::client::extra_ca().map_err(unusable)? {
        let roots = config.root_cert.get_or_insert_with(system_roots_der);
        roots.extend(extra.der.iter().cloned());
        // In a pod kube re-reads the service account's CA file and trusts only it; with extra
        // certificates the roots read at start (that file's and the extra ones) are used instead.
        config.root_cert_file = None;
    }
    Ok(kube::Client::try_from(config).map_err(|error| unusable(error.to_string()))?)
}

/// The system roots as DER certificates (what kube trusts when its configuration names no CA).
fn system_roots_der() -> Vec<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    crate::io::registry::client::system_roots_pem()
        .map(|(_, bytes)| {
            CertificateDer::pem_slice_iter(&bytes)
                .filter_map(Result::ok)
                .map(|certificate| certificate.as_ref().to_vec())
                .collect()
        })
        .unwrap_or_default()
}

fn api_error(what: &str, namespace: &str, error: &kube::Error) -> InfrastructureError {
    let problem = match error {
        kube::Error::Api(status) if status.code == 403 => {
            format!(
                "permission denied: the service account may not {what} in namespace {namespace} (grant get/list on it): {}",
                status.message
            )
        }
        kube::Error::Api(status) => format!("{what} in {namespace}: HTTP {} {}", status.code, status.message),
        other => format!("{what} in {namespace}: {other}"),
    };
    InfrastructureError { service: "Kubernetes API".into(), problem }
}

/// Konflux Snapshots of a component, newest first.
pub(crate) async fn snapshots(
    client: kube::Client,
    namespace: &str,
    component: &str,
) -> Result<Vec<DynamicObject>, InfrastructureError> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("appstudio.redhat.com", "v1alpha1", "Snapshot"),
        "snapshots",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &resource);
    let params = ListParams::default().labels(&format!("appstudio.openshift.io/component={component}"));
    let mut items = api.list(&params).await.map_err(|error| api_error("list snapshots", namespace, &error))?.items;
    items.sort_by(|left, right| right.metadata.creation_timestamp.cmp(&left.metadata.creation_timestamp));
    Ok(items)
}

/// The images a Snapshot records for `component`.
pub(crate) fn component_images(snapshot: &DynamicObject, component: &str) -> Vec<String> {
    snapshot.data["spec"]["components"]
        .as_array()
        .map(|components| {
            components
                .iter()
                .filter(|entry| entry["name"].as_str() == Some(component))
                .filter_map(|entry| entry["containerImage"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The highest `release` label among the images of the component's Snapshots whose `version`
/// label is `version`.
pub(crate) async fn highest_release_in_snapshots(
    namespace: &str,
    component: &str,
    store: &crate::io::registry::Store,
    version: &str,
) -> anyhow::Result<u64> {
    let snapshots = snapshots(client().await?, namespace, component).await?;
    let mut highest = 0;
    for snapshot in &snapshots {
        for image in component_images(snapshot, component) {
            let Ok(reference) = ImageReference::parse(&image) else {
                tracing::warn!(%image, snapshot = snapshot.metadata.name.as_deref().unwrap_or(""), "not an image reference; ignored");
                continue;
            };
            let Some(facts) = inspect(store, &reference, &KnownFacts::new()).await? else { continue };
            if facts.labels.get("version").map(String::as_str) == Some(version)
                && let Some(release) = facts.labels.get("release").and_then(|release| release.parse::<u64>().ok())
            {
                highest = highest.max(release);
            }
        }
    }
    tracing::info!(snapshots = snapshots.len(), highest, "releases found in Konflux snapshots");
    Ok(highest)
}

/// How a PipelineRun ended, from its `Succeeded` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    Running,
    Succeeded { reason: String },
    Failed { reason: String, message: String },
}

/// The `Succeeded` condition (by type, not position) of a Tekton run.
pub(crate) fn run_state(run: &DynamicObject) -> RunState {
    let conditions = run.data["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let Some(condition) = conditions.iter().find(|condition| condition["type"] == "Succeeded") else {
        return RunState::Running;
    };
    let reason = condition["reason"].as_str().unwrap_or_default().to_string();
    match condition["status"].as_str() {
        Some("True") => RunState::Succeeded { reason },
        Some("False") => {
            RunState::Failed { reason, message: condition["message"].as_str().unwrap_or_default().to_string() }
        }
        _ => RunState::Running,
    }
}

/// A result of a finished run (`status.results`, or v1beta1's `status.pipelineResults`).
pub(crate) fn run_result(run: &DynamicObject, name: &str) -> Option<String> {
    let status = &run.data["status"];
    status["results"]
        .as_array()
        .or_else(|| status["pipelineResults"].as_array())?
        .iter()
        .find(|result| result["name"] == name)?["value"]
        .as_str()
        .map(|value| value.trim().to_string())
}

/// Tekton `PipelineRuns`, as dynamic objects.
pub(crate) fn pipeline_runs(client: kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("tekton.dev", "v1", "PipelineRun"), "pipelineruns");
    Api::namespaced_with(client, namespace, &resource)
}

/// The newest run matching `selector`, if any.
pub(crate) async fn newest_run(
    api: &Api<DynamicObject>,
    namespace: &str,
    selector: &str,
) -> Result<Option<DynamicObject>, InfrastructureError> {
    let mut runs = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|error| api_error("list pipelineruns", namespace, &error))?
        .items;
    runs.sort_by(|left, right| right.metadata.creation_timestamp.cmp(&left.metadata.creation_timestamp));
    Ok(runs.into_iter().next())
}

/// Follows one run with a watch until its `Succeeded` condition is set; re-watches when the
/// server closes the stream.
pub(crate) async fn follow_run(
    api: &Api<DynamicObject>,
    namespace: &str,
    name: &str,
) -> Result<DynamicObject, InfrastructureError> {
    use futures::TryStreamExt;
    use kube::api::{WatchEvent, WatchParams};
    loop {
        let current = api.get(name).await.map_err(|error| api_error("get pipelineruns", namespace, &error))?;
        if run_state(&current) != RunState::Running {
            return Ok(current);
        }
        let version = current.metadata.resource_version.clone().unwrap_or_else(|| "0".into());
        let params = WatchParams::default().fields(&format!("metadata.name={name}")).timeout(290);
        let stream =
            api.watch(&params, &version).await.map_err(|error| api_error("watch pipelineruns", namespace, &error))?;
        futures::pin_mut!(stream);
        while let Some(event) =
            stream.try_next().await.map_err(|error| api_error("watch pipelineruns", namespace, &error))?
        {
            match event {
                WatchEvent::Added(run) | WatchEvent::Modified(run) => {
                    if run_state(&run) != RunState::Running {
                        return Ok(run);
                    }
                }
                WatchEvent::Deleted(_) => {
                    return Err(InfrastructureError {
                        service: "Kubernetes API".into(),
                        problem: format!("PipelineRun {name} was deleted while being watched"),
                    });
                }
                WatchEvent::Bookmark(_) | WatchEvent::Error(_) => {}
            }
        }
        tracing::debug!(run = name, "watch ended; watching again");
    }
}
