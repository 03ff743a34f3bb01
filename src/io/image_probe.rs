//! Probing every planned plugin image in the store, `jobs` at a time, each answer tri-state:
//! present, absent (reported per plugin), or unknown after the client's retries (the step fails).

use futures::StreamExt;

use crate::domain::catalog::pin::Resolution;
use crate::domain::catalog::plan::PlannedPlugin;
use crate::io::registry::image::{ImageFacts, KnownFacts, inspect};
use crate::io::registry::{RegistryError, Store};

/// Probes every planned image, `jobs` at a time. Unknown answers (after the client's retries)
/// fail the whole step, listing every plugin affected.
pub(crate) async fn resolve(
    store: &Store,
    plugins: &[PlannedPlugin],
    jobs: usize,
    platforms: &[String],
    known: &KnownFacts,
) -> anyhow::Result<Vec<Resolution>> {
    let results: Vec<(usize, Result<Option<ImageFacts>, RegistryError>)> =
        futures::stream::iter(plugins.iter().enumerate())
            .map(|(position, plugin)| async move { (position, inspect(store, &plugin.reference, known).await) })
            .buffer_unordered(jobs.max(1))
            .collect()
            .await;
    let mut resolutions: Vec<Option<Resolution>> = vec![None; plugins.len()];
    let mut failures = Vec::new();
    for (position, result) in results {
        match result {
            Ok(Some(facts)) => {
                let is_index = crate::io::registry::media_type::is_index(&facts.media_type);
                let absent: Vec<String> =
                    platforms.iter().filter(|platform| !facts.platforms.contains(platform)).cloned().collect();
                resolutions[position] = Some(if is_index && !absent.is_empty() {
                    Resolution::MissingPlatforms(absent)
                } else {
                    Resolution::Present(facts)
                });
            }
            Ok(None) => resolutions[position] = Some(Resolution::Missing),
            Err(error) => failures.push((position, error)),
        }
    }
    if !failures.is_empty() {
        failures.sort_by_key(|(position, _)| *position);
        for (position, error) in &failures {
            tracing::error!(image = %plugins[*position].reference, %error, "image state unknown");
        }
        let (position, first) = failures.remove(0);
        return Err(anyhow::Error::new(first).context(format!(
            "could not tell whether {} plugin image(s) exist (first: {}); nothing was written",
            failures.len() + 1,
            plugins[position].reference
        )));
    }
    Ok(resolutions.into_iter().map(|resolution| resolution.unwrap_or(Resolution::Missing)).collect())
}
