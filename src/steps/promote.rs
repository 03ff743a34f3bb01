//! `rhdh-catalog promote IMAGE --to TAG...`: validate the image, then point floating tags (`next`,
//! `1.10`) at it, after recording each tag's previous digest in a rollback file (written before
//! any tag moves). A failure while moving tags puts back the ones already moved.
//! `--rollback FILE` restores the recorded digests; a tag that did not exist before cannot be
//! removed through the registry API and is reported.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use std::path::PathBuf;

use super::{ReleaseGate, StoreSettings};
use crate::domain::validate::Severity;
use crate::error::{ExitStatus, FindingsError, InputError};
use crate::io::registry::{ImageReference, Manifest, Store};

/// What a promotion changed, to undo it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RollbackRecord {
    /// `host/path` of the repository.
    pub(crate) repository: String,
    /// The digest the tags were pointed at.
    pub(crate) promoted: String,
    /// Tag → its digest before, `None` when the tag did not exist.
    pub(crate) tags: BTreeMap<String, Option<String>>,
}

/// The Tekton results this step writes (`--results-dir`).
/// The recorded previous digests, as JSON.
pub(crate) const RESULT_ROLLBACK: &str = "rollback";
pub const RESULTS: [&str; 1] = [RESULT_ROLLBACK];

/// Promote an image, or restore tags.
#[derive(Debug)]
pub enum PromoteAction {
    /// Point `targets` (the floating tags, as references) at `image`.
    Promote { image: ImageReference, targets: Vec<ImageReference> },
    /// Restore the tags of a rollback file, or of the `rollback` result's JSON given inline.
    Rollback { source: String },
}

#[derive(Debug)]
pub struct PromoteSettings {
    pub(crate) action: PromoteAction,
    /// Where to record each tag's previous digest.
    pub(crate) rollback_file: PathBuf,
    pub(crate) skip_validation: bool,
    pub(crate) gate: ReleaseGate,
    pub(crate) results_dir: Option<PathBuf>,
    pub(crate) store: StoreSettings,
}

pub(crate) async fn run(args: PromoteSettings) -> anyhow::Result<ExitStatus> {
    let (reference, targets) = match &args.action {
        PromoteAction::Rollback { source } => return rollback(&args.store, source).await,
        PromoteAction::Promote { image, targets } => (image, targets),
    };
    let store = args.store.open_existing()?;
    let Some(manifest) = store.fetch_manifest(reference).await? else {
        return Err(FindingsError(format!("{reference} does not exist; nothing promoted")).into());
    };
    if !args.skip_validation {
        let findings = crate::io::install_check::validate_image(&store, reference, true).await?;
        let errors: Vec<String> = findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
            .map(|finding| format!("{}: {} [{}]", finding.package, finding.message, finding.rule))
            .collect();
        if !errors.is_empty() {
            return Err(FindingsError(format!(
                "{reference} does not validate; nothing promoted:\n{}",
                errors.join("\n")
            ))
            .into());
        }
    }
    // The gate, against what the first floating tag points at now unless told otherwise.
    let new = crate::io::catalog_source::read_index(&store, &reference.to_string()).await?;
    let current = match (&args.gate.previous, targets.first()) {
        (Some(previous), _) => Some(previous.clone()),
        (None, Some(target)) => store.fetch_manifest(target).await?.map(|_| target.to_string()),
        (None, None) => None,
    };
    args.gate.check(&store, current.as_deref(), &new).await?;
    let mut record =
        RollbackRecord { repository: reference.name(), promoted: manifest.digest.to_string(), tags: BTreeMap::new() };
    for target in targets {
        let previous = store.fetch_manifest(target).await?.map(|found| found.digest.to_string());
        record.tags.insert(target.tag.clone().unwrap_or_default(), previous);
    }
    crate::io::fs::write_atomic(&args.rollback_file, &crate::formats::json::to_pretty(&record))
        .with_context(|| format!("writing {}", args.rollback_file.display()))?;
    let mut moved = Vec::new();
    for target in targets {
        if let Err(error) = store.push_manifest(target, target.tag.as_deref(), &manifest).await {
            tracing::error!(tag = ?target.tag, %error, "moving the tag failed; restoring the tags already moved");
            let partial = RollbackRecord {
                tags: moved.iter().map(|tag: &String| (tag.clone(), record.tags[tag].clone())).collect(),
                ..record.clone()
            };
            let _ = restore(&store, &partial).await;
            return Err(error.into());
        }
        let tag = target.tag.clone().unwrap_or_default();
        println!("{}:{tag} → {}", record.repository, record.promoted);
        moved.push(tag);
    }
    crate::io::tekton_results::Results::new(args.results_dir.as_deref())
        .write(RESULT_ROLLBACK, &serde_json::to_string(&record)?)?;
    tracing::info!(rollback = %args.rollback_file.display(), "previous digests recorded");
    Ok(ExitStatus::Success)
}

async fn rollback(store: &StoreSettings, source: &str) -> anyhow::Result<ExitStatus> {
    // A Tekton result is passed inline (any JSON value: `[]` is JSON too, not a file name);
    // people pass the file.
    let trimmed = source.trim_start();
    let looks_like_json = trimmed.starts_with(['{', '[', '"'])
        || ["true", "false", "null"].contains(&trimmed.trim_end())
        || trimmed.starts_with(|character: char| character.is_ascii_digit() || character == '-');
    let path = Path::new(source);
    let from_file = path.exists() || path.is_symlink();
    let record: RollbackRecord = if from_file {
        crate::io::fs::read_json(path)?
    } else if looks_like_json {
        crate::formats::json::from_str(Path::new("--rollback"), source).map_err(|error| {
            error.with_hint(
                "give --rollback the rollback file promote wrote, or the JSON object of its `rollback` result",
            )
        })?
    } else {
        return Err(InputError::usage(format!(
            "--rollback `{}` is neither an existing file nor the JSON of a rollback record",
            crate::formats::shown::shown(source)
        ))
        .with_hint("give the rollback file promote wrote (--rollback-file), or the JSON of its `rollback` result")
        .into());
    };
    let source_name = if from_file { path.display().to_string() } else { "--rollback".to_string() };
    check_record(&record, &source_name)?;
    let store = store.open_existing()?;
    let left = restore(&store, &record).await?;
    if !left.is_empty() {
        return Err(FindingsError(format!(
            "{} tag(s) did not exist before and still point at {}: {} (the registry API cannot remove a tag; delete it in the registry's UI or leave it)",
            left.len(),
            record.promoted,
            left.join(", ")
        ))
        .into());
    }
    Ok(ExitStatus::Success)
}

/// Refuses, before any tag moves, a rollback record promote never writes: no tag, or a
/// repository, tag or digest that is no reference (a hand-edited or tampered record). `source`
/// names where it came from (the file, or `--rollback`).
fn check_record(record: &RollbackRecord, source: &str) -> Result<(), InputError> {
    let refuse = |problem: String| {
        InputError::usage(format!("{source}: {problem}; nothing was restored"))
            .with_hint("give --rollback the rollback file promote wrote (--rollback-file), or the JSON of its `rollback` result, unedited")
    };
    if record.tags.is_empty() {
        return Err(refuse("the rollback record names no tag to restore".to_string()));
    }
    ImageReference::parse(&format!("{}@{}", record.repository, record.promoted))
        .map_err(|problem| refuse(format!("`repository` and `promoted` are no image reference: {problem}")))?;
    for (tag, previous) in &record.tags {
        ImageReference::parse(&format!("{}:{tag}", record.repository))
            .map_err(|problem| refuse(format!("tag `{}` is no tag: {problem}", crate::formats::shown::shown(tag))))?;
        if let Some(previous) = previous {
            ImageReference::parse(&format!("{}@{previous}", record.repository)).map_err(|problem| {
                refuse(format!(
                    "the previous digest of `{}` is no digest: {problem}",
                    crate::formats::shown::shown(tag)
                ))
            })?;
        }
    }
    Ok(())
}

/// Points every recorded tag back at its previous digest; returns the tags that had none.
async fn restore(store: &Store, record: &RollbackRecord) -> anyhow::Result<Vec<String>> {
    let mut left = Vec::new();
    for (tag, previous) in &record.tags {
        let Some(previous) = previous else {
            left.push(tag.clone());
            continue;
        };
        let by_digest =
            ImageReference::parse(&format!("{}@{previous}", record.repository)).map_err(anyhow::Error::msg)?;
        let Some(manifest): Option<Manifest> = store.fetch_manifest(&by_digest).await? else {
            anyhow::bail!("{by_digest} no longer exists; cannot restore {tag}");
        };
        let target = ImageReference::parse(&format!("{}:{tag}", record.repository)).map_err(anyhow::Error::msg)?;
        store.push_manifest(&target, Some(tag), &manifest).await?;
        println!("{}:{tag} ← {previous} (restored)", record.repository);
    }
    Ok(left)
}
