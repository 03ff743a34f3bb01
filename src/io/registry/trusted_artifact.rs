//! Trusted Artifacts (Konflux ADR 36) in native code: a folder packed into a reproducible tar.gz
//! stored as a blob, with an OCI manifest referencing it so registries keep it, named
//! `oci:<repository>@sha256:<blob digest>`; and such a blob fetched, digest-checked and unpacked.
//! The format is the one the `build-trusted-artifacts` image reads and writes.
//!
//! The manifest is pushed under a tag, as `create-oci.sh` does with the tag of its `--store`
//! reference (Konflux passes `<output-image>.<suffix>`, so one run's artifacts are tags of the
//! output image's repository). A store without a tag gets `sha256-<blob digest hex>`: `oras push`
//! would push such a store by digest only, and Quay expires untagged manifests within hours, while
//! a sync's export fan-out runs for hours before `index` reads the source artifact again. A
//! registry that honours `quay.expires-after` drops the tag after `expires_after` (Konflux's
//! `IMAGE_EXPIRES_AFTER` annotation).

use std::path::Path;

use anyhow::Context;

use super::image::{build_tar, gzip_at};

/// The gzip level of trusted artifacts (see [`create`]).
const ARTIFACT_GZIP_LEVEL: u32 = 1;
use super::{Digest, ImageReference, Manifest, Store, media_type};
use crate::error::InputError;
use crate::io::archive::{Existing, Selection, Unpacked, collect_selected, record_path, unpack_recorded};

/// A file in the source folder that means "do not archive this folder" (as in the TA image).
pub(crate) const SKIP_MARKER: &str = ".skip-trusted-artifacts";

/// The manifest annotation Quay reads as the lifetime of a tag (`1h`, `2d`, `3w`).
pub(crate) const EXPIRES_AFTER_ANNOTATION: &str = "quay.expires-after";

/// The tag of an artifact pushed to a store reference without one.
pub(crate) fn derived_tag(digest: &Digest) -> String {
    digest.as_str().replacen(':', "-", 1)
}

/// Archives what `selection` takes of `source` into the repository of `store_reference`
/// (`registry/repository[:tag]`), the manifest under the reference's tag (else [`derived_tag`])
/// and annotated with `expires_after`; returns the `oci:` URI (`oci:<repository>@sha256:<blob
/// digest>`).
pub(crate) async fn create(
    store: &Store,
    store_reference: &str,
    source: &Path,
    selection: &Selection,
    expires_after: Option<&str>,
) -> anyhow::Result<String> {
    let files = if source.join(SKIP_MARKER).exists() || !source.exists() {
        Vec::new()
    } else {
        collect_selected(source, selection)?
    };
    // Level 1: an artifact lives for one run and is packed on every run, so time counts more
    // than bytes (the 10× midstream checkout: 0.5 s instead of 1.4 s, 12.5 MB instead of 11.3 MB).
    let blob = gzip_at(&build_tar(&files)?, ARTIFACT_GZIP_LEVEL)?;
    let digest = Digest::of(&blob);
    let reference = ImageReference::parse(&format!("{}@{digest}", store_reference.trim_start_matches("oci:")))
        .map_err(|problem| InputError::usage(format!("--store {problem}")))?;
    let tag = reference.tag.clone().unwrap_or_else(|| derived_tag(&digest));
    store.push_blob(&reference, &digest, &blob).await?;
    let empty = b"{}".to_vec();
    let empty_digest = Digest::of(&empty);
    store.push_blob(&reference, &empty_digest, &empty).await?;
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "artifactType": "application/vnd.konflux-ci.trusted-artifact",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest.to_string(), "size": 2},
        "layers": [{"mediaType": media_type::OCI_LAYER_GZIP, "digest": digest.to_string(), "size": blob.len()}],
    });
    if let Some(expires_after) = expires_after {
        manifest["annotations"] = serde_json::json!({ EXPIRES_AFTER_ANNOTATION: expires_after });
    }
    let bytes = serde_json::to_vec(&manifest)?;
    let manifest = Manifest { digest: Digest::of(&bytes), media_type: media_type::OCI_MANIFEST.to_string(), bytes };
    let by_tag = ImageReference { tag: Some(tag.clone()), digest: None, ..reference.clone() };
    store.push_manifest(&by_tag, Some(&tag), &manifest).await?;
    let uri = format!("oci:{}@{digest}", reference.name());
    tracing::info!(%uri, reference = %by_tag, expires_after = expires_after.unwrap_or(""), files = files.len(), bytes = blob.len(), "artifact created");
    Ok(uri)
}

/// How [`restore`] treats its destination.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Unpack only the paths these patterns match (inside an excluded folder too).
    pub(crate) only: Vec<String>,
    /// Leave out the paths these patterns match (but what `only` names).
    pub(crate) exclude: Vec<String>,
    /// Remove from the destination whatever the artifacts do not hold (see [`Existing::Exact`]).
    pub(crate) exact: bool,
    /// The steps after this one only read the destination: with an OCI layout store, one
    /// extraction per set of artifacts is shared (the destination becomes a link to it).
    pub(crate) read_only: bool,
    /// The run this restore belongs to (the local runner's): a shared extraction last used by
    /// another run may be taken over and brought up to date instead of unpacking afresh.
    pub(crate) run: Option<String>,
}

/// Fetches `uris` (in order: later ones win) and unpacks them into `destination`, merging with
/// what is there unless `options` say otherwise.
pub(crate) async fn restore(
    store: &Store,
    uris: &[String],
    destination: &Path,
    options: &RestoreOptions,
) -> anyhow::Result<Unpacked> {
    if destination == Path::new("/") {
        return Err(InputError::usage("refusing to unpack an artifact into /").into());
    }
    if options.read_only && matches!(store, Store::Layout(_)) {
        check_linkable(destination)?;
    }
    let blobs = fetch_blobs(store, uris).await?;
    let borrowed: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    let shown = uris.join(" ");
    let shared = match store {
        Store::Layout(layout) if options.read_only => Some(layout.root().join(SHARED_FOLDER)),
        _ => None,
    };
    let unpacked = match shared {
        Some(shared) => {
            let (unpacked, folder) = restore_shared(&shared, uris, &borrowed, options)
                .with_context(|| format!("unpacking {shown} into {}", shared.display()))?;
            link_destination(destination, &folder)?;
            unpacked
        }
        None => unpack_fetched(&borrowed, destination, options)
            .with_context(|| format!("unpacking {shown} into {}", destination.display()))?,
    };
    tracing::info!(uri = %shown, destination = %destination.display(), files = unpacked.files, bytes = unpacked.bytes, written = unpacked.written, removed = unpacked.removed, "artifact restored");
    Ok(unpacked)
}

/// The blobs `uris` name (`oci:<repository>@sha256:<digest>`), each checked against its digest.
pub(crate) async fn fetch_blobs(store: &Store, uris: &[String]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut blobs = Vec::new();
    for uri in uris {
        let text = uri
            .strip_prefix("oci:")
            .ok_or_else(|| InputError::usage(format!("`{uri}` is not an `oci:` artifact URI")))?;
        let reference =
            ImageReference::parse(text).map_err(|problem| InputError::usage(format!("artifact {problem}")))?;
        let digest = reference
            .digest
            .clone()
            .ok_or_else(|| InputError::usage(format!("artifact `{uri}` is not pinned by digest")))?;
        blobs.push(store.fetch_blob(&reference, &digest).await?);
    }
    Ok(blobs)
}

/// Unpacks fetched `blobs` into `destination` as `options` say (not `read_only`): the local
/// runner keeps the folders it unpacks into exactly from run to run, and a record beside each
/// tells the next unpack what it holds.
pub(crate) fn unpack_fetched(
    blobs: &[&[u8]],
    destination: &Path,
    options: &RestoreOptions,
) -> anyhow::Result<Unpacked> {
    let existing = if options.exact { Existing::Exact } else { Existing::Merge };
    let record = (options.run.is_some() && options.exact).then(|| record_path(destination));
    unpack_recorded(blobs, destination, &options.selection(), existing, record.as_deref())
}

impl RestoreOptions {
    /// What of the artifacts is unpacked.
    fn selection(&self) -> Selection {
        Selection { include: self.only.clone(), exclude: self.exclude.clone(), whole: Vec::new() }
    }
}

/// The folder of an OCI layout store that holds its shared read-only extractions.
const SHARED_FOLDER: &str = ".unpacked";

/// The shared extraction of `uris` under `shared` (made when missing, by taking over one another
/// run used last and bringing it up to date, else afresh), with what it took.
fn restore_shared(
    shared: &Path,
    uris: &[String],
    blobs: &[&[u8]],
    options: &RestoreOptions,
) -> anyhow::Result<(Unpacked, std::path::PathBuf)> {
    fs_err::create_dir_all(shared)?;
    let lock = fs_err::File::create(shared.join(".lock"))?;
    lock.file().lock()?;
    let key = Digest::of(
        format!("{}\n{}\n{}", uris.join("\n"), options.only.join("\n"), options.exclude.join("\n")).as_bytes(),
    );
    let name = key.hex().to_string();
    let folder = shared.join(&name);
    let marker = |name: &str| shared.join(format!("{name}.json"));
    let record = |unpacked: &Unpacked| -> anyhow::Result<()> {
        let text = serde_json::json!({"run": options.run, "uris": uris, "only": options.only, "exclude": options.exclude, "files": unpacked.files, "bytes": unpacked.bytes});
        crate::io::fs::write_atomic(&marker(&name), &crate::formats::json::to_pretty(&text))
    };
    if folder.is_dir() && marker(&name).is_file() {
        // Served again only once checked: the record of the extraction says what it holds, and
        // anything a step wrote into it since is put back (an untouched one costs one `lstat` per
        // path, and no archive is read).
        let unpacked =
            unpack_recorded(blobs, &folder, &options.selection(), Existing::Exact, Some(&record_path(&folder)))?;
        if unpacked.written + unpacked.removed > 0 {
            tracing::warn!(folder = %folder.display(), written = unpacked.written, removed = unpacked.removed, "the shared extraction had been changed since it was made; put back as its artifacts hold it");
        }
        record(&unpacked)?;
        return Ok((unpacked, folder));
    }
    let partial = shared.join(format!("{name}.partial"));
    if partial.exists() {
        fs_err::remove_dir_all(&partial)?;
    }
    // An extraction without its record (a run stopped between the two): taken as the starting
    // point, so it is brought up to date like any other.
    if folder.is_dir() {
        fs_err::rename(&folder, &partial)?;
    }
    // An extraction another run used last with the same `only` and `exclude`: taken over, so only
    // what differs is written. One of another selection is left alone: an export of the batch
    // `none` unpacks plan.json alone, and taking over the full extraction for that would leave the
    // next full one to write every file again.
    let free = options.run.as_ref().and_then(|run| {
        let mut candidates: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(shared)
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let file = entry.file_name().to_string_lossy().into_owned();
                let other = file.strip_suffix(".json")?.to_string();
                let value: serde_json::Value =
                    serde_json::from_slice(&crate::io::fs::read_input(&entry.path()).ok()?).ok()?;
                let used = entry.metadata().ok()?.modified().ok()?;
                let same_selection = value["only"] == serde_json::json!(options.only)
                    && value["exclude"] == serde_json::json!(options.exclude);
                (same_selection && value["run"].as_str() != Some(run.as_str()) && shared.join(&other).is_dir())
                    .then_some((used, other))
            })
            .collect();
        candidates.sort();
        candidates.pop().map(|(_, other)| other)
    });
    if let Some(other) = free.as_ref().filter(|_| !partial.exists()) {
        fs_err::remove_file(marker(other))?;
        fs_err::rename(shared.join(other), &partial)?;
        let _ = std::fs::rename(record_path(&shared.join(other)), record_path(&partial));
    }
    let unpacked =
        unpack_recorded(blobs, &partial, &options.selection(), Existing::Exact, Some(&record_path(&partial)))?;
    fs_err::rename(&partial, &folder)?;
    let _ = std::fs::rename(record_path(&partial), record_path(&folder));
    record(&unpacked)?;
    Ok((unpacked, folder))
}

/// Refuses, before anything is fetched or unpacked, a `--read-only` destination that cannot become
/// a link: a file, or a folder that holds anything.
fn check_linkable(destination: &Path) -> Result<(), InputError> {
    let Ok(metadata) = std::fs::symlink_metadata(destination) else { return Ok(()) };
    let refuse = |what: &str| {
        InputError::in_file(destination, format!("{what}; a read-only artifact is linked into an empty place"))
            .with_hint("give an empty or missing folder, or leave out --read-only; nothing was unpacked")
    };
    if metadata.file_type().is_symlink() {
        return Ok(());
    }
    if !metadata.is_dir() {
        return Err(refuse("is not a folder"));
    }
    if fs_err::read_dir(destination).map_err(|error| refuse(&format!("cannot be read ({error})")))?.next().is_some() {
        return Err(refuse("holds files"));
    }
    Ok(())
}

/// Makes `destination` a link to the shared extraction `folder` (replacing a link or an empty
/// folder there).
fn link_destination(destination: &Path, folder: &Path) -> anyhow::Result<()> {
    check_linkable(destination)?;
    if destination.is_symlink() {
        fs_err::remove_file(destination)?;
    } else if destination.is_dir() {
        fs_err::remove_dir(destination)?;
    }
    if let Some(parent) = destination.parent() {
        fs_err::create_dir_all(parent)?;
    }
    std::os::unix::fs::symlink(folder, destination)
        .with_context(|| format!("linking {} to {}", destination.display(), folder.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::registry::layout::LayoutStore;

    fn tree(root: &Path, changed: &str) {
        for index in 0..40 {
            let path = root.join(format!("workspaces/w{index}/file.txt"));
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(path, format!("content {index}")).unwrap();
        }
        fs_err::write(root.join("plan.json"), changed).unwrap();
    }

    fn read_only(run: &str, only: &[&str]) -> RestoreOptions {
        RestoreOptions {
            only: only.iter().map(ToString::to_string).collect(),
            read_only: true,
            run: Some(run.to_string()),
            ..RestoreOptions::default()
        }
    }

    /// A run that unpacks plan.json alone (an export of the batch `none`) after another run's full
    /// extraction leaves that one to be taken over by the next run's full extraction.
    #[tokio::test]
    async fn a_shared_extraction_takes_over_one_made_with_the_same_selection() {
        let scratch = tempfile::tempdir().unwrap();
        let store = Store::Layout(LayoutStore::new(scratch.path().join("layout")));
        let (first, second) = (scratch.path().join("first"), scratch.path().join("second"));
        tree(&first, "{\"run\": 1}");
        tree(&second, "{\"run\": 2}");
        let selection = Selection::default();
        let first_uri = create(&store, "localhost/artifacts", &first, &selection, None).await.unwrap();
        let second_uri = create(&store, "localhost/artifacts", &second, &selection, None).await.unwrap();

        let full = restore(&store, std::slice::from_ref(&first_uri), &scratch.path().join("a"), &read_only("one", &[]))
            .await
            .unwrap();
        assert_eq!((full.files, full.written), (41, 41));
        let plan_only =
            restore(&store, &[first_uri], &scratch.path().join("b"), &read_only("two", &["plan.json"])).await.unwrap();
        assert_eq!((plan_only.files, plan_only.written), (1, 1));

        let next = restore(&store, &[second_uri], &scratch.path().join("c"), &read_only("three", &[])).await.unwrap();
        assert_eq!((next.files, next.written), (41, 1), "the full extraction was not the one taken over: {next:?}");
    }
}
