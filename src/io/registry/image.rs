//! Images as whole things: reading the facts the catalog records about a plugin image (digest,
//! manifest annotations, config labels and environment), and building reproducible single-layer
//! images (sorted tar entries, fixed owners and times, gzip without a timestamp).

use std::collections::BTreeMap;
use std::io::Write;

use serde::Deserialize;
use serde_json::Value;

use super::answer::MAX_CONFIG_BYTES;
use super::media_type;
use super::{Digest, ImageReference, Manifest, RegistryError, Store};

pub use crate::formats::oci::{Descriptor, ImageFacts, KnownFacts};

#[derive(Debug, Deserialize)]
struct ManifestDocument {
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigDocument {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    config: Option<ContainerConfig>,
}

#[derive(Debug, Default, Deserialize)]
struct ContainerConfig {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
}

fn corrupt(reference: &ImageReference, problem: impl std::fmt::Display) -> RegistryError {
    RegistryError::Rejected {
        registry: reference.registry.clone(),
        what: reference.to_string(),
        status: 200,
        problem: format!("unreadable manifest or config: {problem}"),
    }
}

/// Reads the facts of `reference`; `None` when the image does not exist. The manifest is always
/// fetched (tags move); the rest only when `known` has nothing for its digest.
pub async fn inspect(
    store: &Store,
    reference: &ImageReference,
    known: &KnownFacts,
) -> Result<Option<ImageFacts>, RegistryError> {
    let Some(top) = store.fetch_manifest(reference).await? else {
        return Ok(None);
    };
    let document: ManifestDocument = serde_json::from_slice(&top.bytes).map_err(|error| corrupt(reference, error))?;
    let is_index =
        media_type::is_index(&top.media_type) || (!document.manifests.is_empty() && document.config.is_none());
    let chosen = if is_index {
        Some(
            document
                .manifests
                .iter()
                .find(|descriptor| {
                    descriptor
                        .platform
                        .as_ref()
                        .is_some_and(|platform| platform.os == "linux" && platform.architecture == "amd64")
                })
                .or_else(|| document.manifests.first())
                .ok_or_else(|| corrupt(reference, "an index with no manifests"))?,
        )
    } else {
        None
    };
    let platform_digest = chosen
        .map(|descriptor| Digest::parse(&descriptor.digest).map_err(|problem| corrupt(reference, problem)))
        .transpose()?;
    if let Some(recorded) = known.get(&top.digest) {
        let mut facts = recorded.clone();
        facts.digest = Some(top.digest.clone());
        facts.platform_digest.clone_from(&platform_digest);
        facts.media_type.clone_from(&top.media_type);
        if is_index {
            facts.platforms = platforms_of(&document);
        }
        return Ok(Some(facts));
    }
    let mut facts = ImageFacts {
        digest: Some(top.digest.clone()),
        platform_digest: platform_digest.clone(),
        media_type: top.media_type.clone(),
        annotations: document.annotations.clone().unwrap_or_default(),
        ..ImageFacts::default()
    };
    let image_document = if let (Some(chosen), Some(digest)) = (chosen, platform_digest) {
        facts.platforms = platforms_of(&document);
        let by_digest = ImageReference { tag: None, digest: Some(digest), ..reference.clone() };
        let Some(platform_manifest) = store.fetch_manifest(&by_digest).await? else {
            return Err(corrupt(
                reference,
                format!("the index names {} which the registry does not have", chosen.digest),
            ));
        };
        let platform_document: ManifestDocument =
            serde_json::from_slice(&platform_manifest.bytes).map_err(|error| corrupt(reference, error))?;
        if facts.annotations.is_empty() {
            facts.annotations = platform_document.annotations.clone().unwrap_or_default();
        }
        platform_document
    } else {
        document
    };
    facts.layers = image_document.layers.clone();
    if let Some(config) = &image_document.config {
        let digest = Digest::parse(&config.digest).map_err(|problem| corrupt(reference, problem))?;
        if config.size > MAX_CONFIG_BYTES {
            return Err(corrupt(
                reference,
                format!("the config is {} bytes, more than the {MAX_CONFIG_BYTES} accepted", config.size),
            ));
        }
        let bytes = store.fetch_blob_sized(reference, &digest, Some(config.size)).await?;
        let config: ConfigDocument = serde_json::from_slice(&bytes).map_err(|error| corrupt(reference, error))?;
        if facts.platforms.is_empty()
            && let (Some(os), Some(architecture)) = (&config.os, &config.architecture)
        {
            facts.platforms.push(format!("{os}/{architecture}"));
        }
        let container = config.config.unwrap_or_default();
        facts.labels = container.labels.unwrap_or_default();
        facts.env = container
            .env
            .unwrap_or_default()
            .into_iter()
            .filter_map(|pair| pair.split_once('=').map(|(key, value)| (key.to_string(), value.to_string())))
            .collect();
    }
    Ok(Some(facts))
}

fn platforms_of(document: &ManifestDocument) -> Vec<String> {
    document
        .manifests
        .iter()
        .filter_map(|descriptor| {
            descriptor.platform.as_ref().map(|platform| format!("{}/{}", platform.os, platform.architecture))
        })
        .collect()
}

/// One file of a layer; directories are added for every parent.
#[derive(Clone, Debug, Default)]
pub struct LayerFile {
    pub path: String,
    pub executable: bool,
    pub contents: Vec<u8>,
    /// A symbolic link to this target instead of a regular file.
    pub symlink: Option<String>,
}

/// Everything that goes into an image we build.
#[derive(Clone, Debug, Default)]
pub struct ImageSpec {
    pub files: Vec<LayerFile>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    /// RFC 3339 creation time; the epoch when not given, so that digests are reproducible.
    pub created: Option<String>,
}

/// A built image: its one layer, config and manifest, ready to push.
#[derive(Clone, Debug)]
pub struct BuiltImage {
    pub layer: Vec<u8>,
    pub layer_digest: Digest,
    pub config: Vec<u8>,
    pub config_digest: Digest,
    pub manifest: Manifest,
}

/// Builds the image bytes; the same spec always gives the same digests.
pub fn build_image(spec: &ImageSpec) -> std::io::Result<BuiltImage> {
    let tar = build_tar(&spec.files)?;
    let diff_id = Digest::of(&tar);
    let layer = gzip(&tar)?;
    let layer_digest = Digest::of(&layer);

    let mut container = serde_json::Map::new();
    if let Some(user) = &spec.user {
        container.insert("User".into(), Value::String(user.clone()));
    }
    if !spec.env.is_empty() {
        container.insert("Env".into(), serde_json::json!(spec.env));
    }
    if !spec.labels.is_empty() {
        container.insert("Labels".into(), serde_json::json!(spec.labels));
    }
    let config = serde_json::json!({
        "created": spec.created.clone().unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string()),
        "architecture": "amd64",
        "os": "linux",
        "config": container,
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
    });
    let config = serde_json::to_vec(&config).map_err(std::io::Error::other)?;
    let config_digest = Digest::of(&config);

    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": media_type::OCI_LAYER_GZIP, "digest": layer_digest.to_string(), "size": layer.len()}],
    });
    if !spec.annotations.is_empty() {
        manifest["annotations"] = serde_json::json!(spec.annotations);
    }
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(std::io::Error::other)?;
    Ok(BuiltImage {
        layer,
        layer_digest,
        config_digest,
        config,
        manifest: Manifest {
            digest: Digest::of(&manifest_bytes),
            media_type: media_type::OCI_MANIFEST.to_string(),
            bytes: manifest_bytes,
        },
    })
}

/// Pushes blobs then the manifest under `reference`'s tag; returns the manifest digest.
pub async fn push_image(
    store: &Store,
    reference: &ImageReference,
    image: &BuiltImage,
) -> Result<Digest, RegistryError> {
    store.push_blob(reference, &image.layer_digest, &image.layer).await?;
    store.push_blob(reference, &image.config_digest, &image.config).await?;
    store.push_manifest(reference, reference.tag.as_deref(), &image.manifest).await
}

/// A gzip stream with no name and no timestamp, so the same bytes always compress the same
/// (level 6: the bytes of every plugin image layer ever published depend on it).
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    gzip_at(bytes, 6)
}

/// [`gzip`] at another `level` (1 fastest, 9 smallest), as reproducible.
pub fn gzip_at(bytes: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new().operating_system(255).write(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// A tar with entries sorted by path, every parent directory present, owner 0:0, mtime 0.
pub fn build_tar(files: &[LayerFile]) -> std::io::Result<Vec<u8>> {
    let mut entries: BTreeMap<String, Option<&LayerFile>> = BTreeMap::new();
    for file in files {
        let path = file.path.trim_start_matches('/');
        let mut parent = String::new();
        for component in path.split('/').take(path.split('/').count().saturating_sub(1)) {
            parent.push_str(component);
            parent.push('/');
            entries.entry(parent.clone()).or_insert(None);
        }
        entries.insert(path.to_string(), Some(file));
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, file) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        match file {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, &path, std::io::empty())?;
            }
            Some(LayerFile { symlink: Some(target), .. }) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, &path, target)?;
            }
            Some(file) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if file.executable { 0o755 } else { 0o644 });
                header.set_size(file.contents.len() as u64);
                builder.append_data(&mut header, &path, file.contents.as_slice())?;
            }
        }
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ImageSpec {
        ImageSpec {
            files: vec![
                LayerFile { path: "b/index.js".into(), contents: b"x".to_vec(), ..LayerFile::default() },
                LayerFile { path: "a/package.json".into(), contents: b"{}".to_vec(), ..LayerFile::default() },
                LayerFile { path: "index.json".into(), contents: b"[]".to_vec(), ..LayerFile::default() },
            ],
            labels: [("version".to_string(), "1".to_string())].into_iter().collect(),
            annotations: [("io.backstage.dynamic-packages".to_string(), "W10=".to_string())].into_iter().collect(),
            ..ImageSpec::default()
        }
    }

    #[test]
    fn builds_are_reproducible() {
        let first = build_image(&spec()).unwrap();
        let second = build_image(&spec()).unwrap();
        assert_eq!(first.manifest.digest, second.manifest.digest);
        assert_eq!(first.layer, second.layer);
    }

    #[test]
    fn tar_has_sorted_entries_with_parents() {
        let tar = build_tar(&spec().files).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> =
            archive.entries().unwrap().map(|entry| entry.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(names, ["a/", "a/package.json", "b/", "b/index.js", "index.json"]);
    }
}
