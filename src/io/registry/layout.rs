//! OCI image-layout directories as a store: repository `a/b` lives in `<root>/a/b/` (an
//! `oci-layout` file, `index.json`, `blobs/sha256/…`), tags are `org.opencontainers.image.ref.name`
//! annotations, so `skopeo inspect oci:<root>/a/b:<tag>` reads what we write. Writers take an
//! exclusive lock on `index.json.lock` so parallel pushes into one repository do not lose tags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::answer::{MAX_BLOB_BYTES, MAX_MANIFEST_BYTES};
use super::{Digest, ImageReference, Manifest, RegistryError};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Most bytes a layout's `index.json` may have (one descriptor is about 300 bytes).
const MAX_LAYOUT_INDEX_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct LayoutStore {
    root: PathBuf,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct LayoutIndex {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<indexmap::IndexMap<String, String>>,
    #[serde(flatten)]
    other: indexmap::IndexMap<String, Value>,
}

impl LayoutStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LayoutStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The layout directory of a repository: `<root>/<registry host>/<repository>` (`:` of a port
    /// written `_`), so images of two registries with the same repository path stay apart.
    pub fn repository_dir(&self, reference: &ImageReference) -> PathBuf {
        self.root.join(reference.registry.replace(':', "_")).join(&reference.repository)
    }

    fn error(path: &Path, problem: impl std::fmt::Display) -> RegistryError {
        RegistryError::Layout { path: path.display().to_string(), problem: problem.to_string() }
    }

    /// A refused or unreadable file of the layout, with the fix.
    fn input_error(error: &crate::error::InputError) -> RegistryError {
        let path = error.file.as_ref().map(|file| file.display().to_string()).unwrap_or_default();
        let problem = match &error.hint {
            Some(hint) => format!("{}\n  hint: {hint}", error.problem),
            None => error.problem.clone(),
        };
        RegistryError::Layout { path, problem }
    }

    fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
        dir.join("blobs").join(digest.algorithm()).join(digest.hex())
    }

    fn read_index(dir: &Path) -> Result<Option<LayoutIndex>, RegistryError> {
        let path = dir.join("index.json");
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        let bytes =
            crate::io::fs::read_bounded(&path, MAX_LAYOUT_INDEX_BYTES).map_err(|error| Self::input_error(&error))?;
        serde_json::from_slice(&bytes).map(Some).map_err(|error| {
            Self::error(&path, crate::formats::json::describe(&String::from_utf8_lossy(&bytes), &error))
        })
    }

    pub fn fetch_manifest(&self, reference: &ImageReference) -> Result<Option<Manifest>, RegistryError> {
        let dir = self.repository_dir(reference);
        let Some(index) = Self::read_index(&dir)? else {
            return Ok(None);
        };
        let matches = |descriptor: &&Descriptor| match (&reference.digest, &reference.tag) {
            (Some(digest), _) => descriptor.digest == digest.as_str(),
            (None, Some(tag)) => {
                descriptor.annotations.as_ref().and_then(|annotations| annotations.get(REF_NAME)) == Some(tag)
            }
            (None, None) => false,
        };
        let found: Vec<&Descriptor> = index.manifests.iter().filter(matches).collect();
        // Two different images under one tag: which one is meant cannot be told, so neither is pinned.
        if let (None, Some(tag)) = (&reference.digest, &reference.tag)
            && found.iter().any(|descriptor| descriptor.digest != found[0].digest)
        {
            let digests: Vec<&str> = found.iter().map(|descriptor| descriptor.digest.as_str()).collect();
            return Err(Self::error(
                &dir.join("index.json"),
                format!(
                    "names the tag `{}` {} times, for different images ({}); a tag names one image\n  hint: remove all but one descriptor of that tag from index.json",
                    crate::formats::shown::shown(tag),
                    found.len(),
                    digests.join(", ")
                ),
            ));
        }
        let wanted = found.first().copied();
        let descriptor = match (wanted, &reference.digest) {
            (Some(descriptor), _) => descriptor.clone(),
            // A digest not in index.json may still be a blob (a manifest inside an index).
            (None, Some(digest)) => {
                let path = Self::blob_path(&dir, digest);
                if !path.exists() {
                    return Ok(None);
                }
                let bytes = Self::read_blob_capped(&dir, digest, MAX_MANIFEST_BYTES as u64)?;
                let media_type = media_type_of(&bytes).unwrap_or_else(|| super::media_type::OCI_MANIFEST.to_string());
                return Ok(Some(Manifest { digest: digest.clone(), media_type, bytes }));
            }
            (None, None) => return Ok(None),
        };
        let digest =
            Digest::parse(&descriptor.digest).map_err(|problem| Self::error(&dir.join("index.json"), problem))?;
        let bytes = Self::read_blob_capped(&dir, &digest, MAX_MANIFEST_BYTES as u64)?;
        Ok(Some(Manifest { digest, media_type: descriptor.media_type, bytes }))
    }

    pub fn fetch_blob(&self, reference: &ImageReference, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        Self::read_blob_capped(&self.repository_dir(reference), digest, MAX_BLOB_BYTES)
    }

    /// A blob no larger than `size` (what its manifest declares) when given.
    pub fn fetch_blob_sized(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Vec<u8>, RegistryError> {
        let dir = self.repository_dir(reference);
        let input = Self::open_blob_sized(&dir, digest, size)?;
        let path = Self::blob_path(&dir, digest);
        let bytes = input.read_all().map_err(|error| Self::input_error(&error))?;
        if !digest.matches(&bytes) {
            return Err(Self::error(&path, format!("content does not match {digest}")));
        }
        Ok(bytes)
    }

    /// A blob's file, open, checked against the size its manifest declares (when given) and
    /// against its digest (read as a stream), and rewound: what a reader of a large layer streams.
    pub fn open_blob(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<std::fs::File, RegistryError> {
        let dir = self.repository_dir(reference);
        let path = Self::blob_path(&dir, digest);
        let mut input = Self::open_blob_sized(&dir, digest, size)?;
        let mut hasher = digest.hasher();
        std::io::copy(&mut input, &mut hasher).map_err(|error| Self::input_error(&input.read_error(&error)))?;
        if hasher.finish() != *digest {
            return Err(Self::error(&path, format!("content does not match {digest}")));
        }
        let mut file = input.into_file();
        std::io::Seek::rewind(&mut file).map_err(|error| Self::error(&path, error))?;
        Ok(file)
    }

    /// A blob's file opened through `io::fs` (a regular file, never a FIFO or device), no larger
    /// than `size` (what its manifest declares, which it must have) or the blob limit.
    fn open_blob_sized(
        dir: &Path,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<crate::io::fs::InputFile, RegistryError> {
        let path = Self::blob_path(dir, digest);
        let input = crate::io::fs::open_input(&path, size.unwrap_or(MAX_BLOB_BYTES).min(MAX_BLOB_BYTES))
            .map_err(|error| Self::input_error(&error))?;
        if let Some(size) = size
            && input.size() != size
        {
            return Err(Self::error(&path, format!("{} bytes, not the {size} its manifest declares", input.size())));
        }
        Ok(input)
    }

    /// A blob of at most `limit` bytes, checked against its digest.
    fn read_blob_capped(dir: &Path, digest: &Digest, limit: u64) -> Result<Vec<u8>, RegistryError> {
        let path = Self::blob_path(dir, digest);
        let bytes = crate::io::fs::read_bounded(&path, limit).map_err(|error| Self::input_error(&error))?;
        if !digest.matches(&bytes) {
            return Err(Self::error(&path, format!("content does not match {digest}")));
        }
        Ok(bytes)
    }

    pub fn push_blob(&self, reference: &ImageReference, digest: &Digest, bytes: &[u8]) -> Result<(), RegistryError> {
        let dir = self.repository_dir(reference);
        let path = Self::blob_path(&dir, digest);
        if path.exists() {
            return Ok(());
        }
        crate::io::fs::write_atomic(&path, bytes).map_err(|error| Self::error(&path, format!("{error:#}")))
    }

    pub fn push_manifest(
        &self,
        reference: &ImageReference,
        tag: Option<&str>,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let dir = self.repository_dir(reference);
        self.push_blob(reference, &manifest.digest, &manifest.bytes)?;
        let layout_marker = dir.join("oci-layout");
        crate::io::fs::write_atomic(&layout_marker, br#"{"imageLayoutVersion":"1.0.0"}"#)
            .map_err(|error| Self::error(&layout_marker, format!("{error:#}")))?;
        let lock_path = dir.join("index.json.lock");
        let lock = fs_err::File::create(&lock_path).map_err(|error| Self::error(&lock_path, error))?;
        lock.file().lock().map_err(|error| Self::error(&lock_path, error))?;
        let mut index = Self::read_index(&dir)?.unwrap_or(LayoutIndex {
            schema_version: 2,
            media_type: Some(super::media_type::OCI_INDEX.to_string()),
            manifests: Vec::new(),
        });
        let descriptor = Descriptor {
            media_type: manifest.media_type.clone(),
            digest: manifest.digest.to_string(),
            size: manifest.bytes.len() as u64,
            annotations: tag.map(|tag| [(REF_NAME.to_string(), tag.to_string())].into_iter().collect()),
            other: indexmap::IndexMap::new(),
        };
        match tag {
            Some(tag) => index.manifests.retain(|existing| {
                existing.annotations.as_ref().and_then(|annotations| annotations.get(REF_NAME)).map(String::as_str)
                    != Some(tag)
            }),
            None => index
                .manifests
                .retain(|existing| existing.digest != descriptor.digest || existing.annotations.is_some()),
        }
        index.manifests.push(descriptor);
        let path = dir.join("index.json");
        crate::io::fs::write_atomic(&path, &crate::formats::json::to_pretty(&index))
            .map_err(|error| Self::error(&path, format!("{error:#}")))?;
        Ok(manifest.digest.clone())
    }

    /// Tags of the repository, in index order.
    pub fn list_tags(&self, reference: &ImageReference) -> Result<Vec<String>, RegistryError> {
        let dir = self.repository_dir(reference);
        Ok(Self::read_index(&dir)?
            .map(|index| {
                index
                    .manifests
                    .iter()
                    .filter_map(|descriptor| descriptor.annotations.as_ref()?.get(REF_NAME).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }
}

fn media_type_of(bytes: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(bytes).ok()?.get("mediaType")?.as_str().map(str::to_string)
}
