//! Probing every planned plugin image in the store, `jobs` at a time, each answer tri-state:
//! present, absent (reported per plugin), or unknown after the client's retries (the step fails).
//! With `older_tags`, an absent tag (an answered 404, never an unknown answer) is looked up again
//! under the tag [`FallbackPicker`] chooses from the repository's tag list (streamed, never held).

use futures::StreamExt;

use crate::domain::catalog::fallback::FallbackPicker;
use crate::domain::catalog::pin::Resolution;
use crate::domain::catalog::plan::PlannedPlugin;
use crate::io::registry::image::{ImageFacts, KnownFacts, inspect};
use crate::io::registry::{ImageReference, RegistryError, Store};

/// Probes every planned image, `jobs` at a time. Unknown answers (after the client's retries)
/// fail the whole step, listing every plugin affected.
pub(crate) async fn resolve(
    store: &Store,
    plugins: &[PlannedPlugin],
    jobs: usize,
    platforms: &[String],
    known: &KnownFacts,
    older_tags: bool,
) -> anyhow::Result<Vec<Resolution>> {
    let progress = crate::io::progress::Progress::start("resolving plugin images", plugins.len() as u64);
    let progress = &progress;
    let results: Vec<(usize, Result<Probe, RegistryError>)> = futures::stream::iter(plugins.iter().enumerate())
        .map(|(position, plugin)| async move {
            progress.working_on(&plugin.reference.to_string());
            let answer = probe(store, &plugin.reference, known, older_tags).await;
            progress.advance();
            (position, answer)
        })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    let mut resolutions: Vec<Option<Resolution>> = vec![None; plugins.len()];
    let mut failures = Vec::new();
    for (position, result) in results {
        match result {
            Ok(Probe::Found(facts, resolved_tag)) => {
                let facts = *facts;
                let is_index = crate::io::registry::media_type::is_index(&facts.media_type);
                let absent: Vec<String> =
                    platforms.iter().filter(|platform| !facts.platforms.contains(platform)).cloned().collect();
                resolutions[position] = Some(match resolved_tag {
                    _ if is_index && !absent.is_empty() => Resolution::MissingPlatforms(absent),
                    Some(resolved_tag) => Resolution::Fallback { facts, resolved_tag },
                    None => Resolution::Present(facts),
                });
            }
            Ok(Probe::Absent) => resolutions[position] = Some(Resolution::Missing),
            Err(error) => failures.push((position, error)),
        }
    }
    if !failures.is_empty() {
        failures.sort_by_key(|(position, _)| *position);
        // One line per cause, not one per image: an outage or a misconfigured registry fails
        // every probe the same way.
        let mut causes: Vec<(String, usize, usize)> = Vec::new();
        for (position, error) in &failures {
            let key = error.outage().unwrap_or_else(|| error.to_string());
            match causes.iter_mut().find(|(known, _, _)| *known == key) {
                Some((_, count, _)) => *count += 1,
                None => causes.push((key, 1, *position)),
            }
        }
        if causes.len() > 1 {
            for (_, count, position) in &causes {
                let error = &failures
                    .iter()
                    .find(|(at, _)| at == position)
                    .map(|(_, error)| error.to_string())
                    .unwrap_or_default();
                tracing::error!(images = count, first = %plugins[*position].reference, %error, "image state unknown");
            }
        }
        let (position, first) = failures.remove(0);
        if matches!(first, RegistryError::Misconfigured { .. }) {
            return Err(
                anyhow::Error::new(first).context("the image store cannot work as configured; nothing was written")
            );
        }
        let count = failures.len() + 1;
        let affected = if count == 1 {
            format!("whether {} exists", plugins[position].reference)
        } else {
            format!("whether {count} plugin images exist (first: {})", plugins[position].reference)
        };
        return Err(anyhow::Error::new(first).context(format!("could not tell {affected}; nothing was written")));
    }
    Ok(resolutions.into_iter().map(|resolution| resolution.unwrap_or(Resolution::Missing)).collect())
}

/// One image's answer: its facts (and the tag that stood in, for a fallback), or absent.
enum Probe {
    Found(Box<ImageFacts>, Option<String>),
    Absent,
}

async fn probe(
    store: &Store,
    reference: &ImageReference,
    known: &KnownFacts,
    older_tags: bool,
) -> Result<Probe, RegistryError> {
    if let Some(facts) = inspect(store, reference, known).await? {
        return Ok(Probe::Found(Box::new(facts), None));
    }
    let Some(requested) = reference.tag.as_deref().filter(|_| older_tags) else { return Ok(Probe::Absent) };
    let Some(mut picker) = FallbackPicker::new(requested) else { return Ok(Probe::Absent) };
    store
        .scan_tags(reference, &mut |page| {
            for tag in page {
                picker.offer(tag);
            }
        })
        .await?;
    let Some(resolved) = picker.pick() else { return Ok(Probe::Absent) };
    let stand_in = ImageReference { tag: Some(resolved.clone()), digest: None, ..reference.clone() };
    tracing::warn!(requested = %reference, resolved = %resolved, "requested tag missing; pinning an older tag");
    Ok(match inspect(store, &stand_in, known).await? {
        Some(facts) => Probe::Found(Box::new(facts), Some(resolved)),
        None => Probe::Absent,
    })
}
