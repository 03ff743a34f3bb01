//! Kubernetes edge: the real kube client for Konflux objects (`appstudio.redhat.com/v1alpha1`
//! Snapshots; Tekton `PipelineRuns` later), as `DynamicObject`s. Configuration comes from the
//! environment as kubectl's does (in-cluster service account, `KUBECONFIG`, `~/.kube/config`).
//! Any API failure is an infrastructure error (exit 3); a 403 says which permission is missing.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};

use crate::cli::ReleaseNumberArgs;
use crate::error::{InfrastructureError, InputError};
use crate::registry::ImageReference;
use crate::registry::image::{KnownFacts, inspect};

/// A client from the ambient configuration.
pub async fn client() -> Result<kube::Client, InfrastructureError> {
    crate::install_crypto_provider();
    kube::Client::try_default().await.map_err(|error| InfrastructureError {
        service: "Kubernetes API".into(),
        problem: format!("no usable configuration (in-cluster or KUBECONFIG): {error}"),
    })
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
pub async fn snapshots(
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
pub fn component_images(snapshot: &DynamicObject, component: &str) -> Vec<String> {
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
pub async fn highest_release_in_snapshots(args: &ReleaseNumberArgs, version: &str) -> anyhow::Result<u64> {
    let (Some(namespace), Some(component)) = (&args.namespace, &args.component) else {
        return Err(InputError::usage("--source konflux needs --namespace and --component").into());
    };
    let snapshots = snapshots(client().await?, namespace, component).await?;
    let store = args.store.open()?;
    let mut highest = 0;
    for snapshot in &snapshots {
        for image in component_images(snapshot, component) {
            let Ok(reference) = ImageReference::parse(&image) else {
                tracing::warn!(%image, snapshot = snapshot.metadata.name.as_deref().unwrap_or(""), "not an image reference; ignored");
                continue;
            };
            let Some(facts) = inspect(&store, &reference, &KnownFacts::new()).await? else { continue };
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
