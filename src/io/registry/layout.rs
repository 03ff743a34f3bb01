//! OCI image-layout directories as a store: repository `a/b` lives in `<root>/a/b/` (an
//! `oci-layout` file, `index.json`, `blobs/sha256/…`), tags are `org.opencontainers.image.ref.name`
//! annotations, so `skopeo inspect oci:<root>/a/b:<tag>` reads what we write. Writers take an
//! exclusive lock on `index.json.lock` so parallel pushes into one repository do not lose tags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Digest, ImageReference, Manifest, RegistryError};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

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

    fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
        dir.join("blobs").join(digest.algorithm()).join(digest.hex())
    }

    fn read_index(dir: &Path) -> Result<Option<LayoutIndex>, RegistryError> {
        let path = dir.join("index.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
                Self::error(&path, crate::formats::json::describe(&String::from_utf8_lossy(&bytes), &error))
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Self::error(&path, error)),
        }
    }

    pub fn fetch_manifest(&self, reference: &ImageReference) -> Result<Option<Manifest>, RegistryError> {
        let dir = self.repository_dir(reference);
        let Some(index) = Self::read_index(&dir)? else {
            return Ok(None);
        };
        let wanted = index.manifests.iter().find(|descriptor| match (&reference.digest, &reference.tag) {
            (Some(digest), _) => descriptor.digest == digest.as_str(),
            (None, Some(tag)) => {
                descriptor.annotations.as_ref().and_then(|annotations| annotations.get(REF_NAME)) == Some(tag)
            }
            (None, None) => false,
        });
        let descriptor = match (wanted, &reference.digest) {
            (Some(descriptor), _) => descriptor.clone(),
            // A digest not in index.json may still be a blob (a manifest inside an index).
            (None, Some(digest)) => {
                let path = Self::blob_path(&dir, digest);
                if !path.exists() {
                    return Ok(None);
                }
                let bytes = fs_err::read(&path).map_err(|error| Self::error(&path, error))?;
                let media_type = media_type_of(&bytes).unwrap_or_else(|| super::media_type::OCI_MANIFEST.to_string());
                return Ok(Some(Manifest { digest: digest.clone(), media_type, bytes }));
            }
            (None, None) => return Ok(None),
        };
        let digest =
            Digest::parse(&descriptor.digest).map_err(|problem| Self::error(&dir.join("index.json"), problem))?;
        let bytes = Self::read_blob(&dir, &digest)?;
        Ok(Some(Manifest { digest, media_type: descriptor.media_type, bytes }))
    }

    pub fn fetch_blob(&self, reference: &ImageReference, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        Self::read_blob(&self.repository_dir(reference), digest)
    }

    /// A blob no larger than `size` (what its manifest declares) when given.
    pub fn fetch_blob_sized(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Vec<u8>, RegistryError> {
        let dir = self.repository_dir(reference);
        if let Some(size) = size {
            let path = Self::blob_path(&dir, digest);
            let actual = fs_err::metadata(&path).map_err(|error| Self::error(&path, error))?.len();
            if actual != size {
                return Err(Self::error(&path, format!("{actual} bytes, not the {size} its manifest declares")));
            }
        }
        Self::read_blob(&dir, digest)
    }

    fn read_blob(dir: &Path, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let path = Self::blob_path(dir, digest);
        let bytes = fs_err::read(&path).map_err(|error| Self::error(&path, error))?;
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
