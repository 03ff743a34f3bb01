//! Where images are read and written. Outputs always name images by the registry the user
//! configured (`--registry`); the store says where those images actually are:
//!
//! - `docker://` (or no `--store`): the named registry itself;
//! - `docker://HOST[:PORT]`: a mirror holding the same repositories (host replaced);
//! - `oci-layout:DIR`: an OCI image-layout directory per repository under `DIR`.

use std::path::PathBuf;
use std::sync::Arc;

use super::layout::LayoutStore;
use super::{ClientOptions, Digest, ImageReference, Manifest, RegistryClient, RegistryError};
use crate::error::InputError;

#[derive(Clone)]
pub enum Store {
    Registry { client: Arc<RegistryClient>, mirror: Option<String> },
    Layout(LayoutStore),
}

impl Store {
    /// Parses a `--store` value; `None` means the named registries themselves.
    pub fn parse(spec: Option<&str>, options: &ClientOptions) -> Result<Self, InputError> {
        let registry = |mirror: Option<String>| -> Result<Store, InputError> {
            // The TLS stack reads the system's CA bundle itself: checked first (never a FIFO).
            crate::io::fs::check_library_input("SSL_CERT_FILE", None, super::client::MAX_CA_BUNDLE_BYTES)?;
            let client = RegistryClient::new(options.clone()).map_err(|error| InputError::usage(error.to_string()))?;
            Ok(Store::Registry { client: Arc::new(client), mirror })
        };
        match spec.map(str::trim) {
            None | Some("" | "docker://") => registry(None),
            Some(spec) => {
                if let Some(dir) = spec.strip_prefix("oci-layout:") {
                    if dir.is_empty() {
                        return Err(InputError::usage(
                            "`--store oci-layout:` needs a directory, e.g. oci-layout:out/registry",
                        ));
                    }
                    return Ok(Store::Layout(LayoutStore::new(PathBuf::from(dir))));
                }
                if let Some(host) = spec.strip_prefix("docker://") {
                    let host = host.trim_end_matches('/');
                    if host.contains('/') || ImageReference::parse(&format!("{host}/probe/x:1")).is_err() {
                        return Err(InputError::usage(format!(
                            "`--store {spec}`: expected docker://HOST[:PORT] (a mirror of the named registries)"
                        )));
                    }
                    return registry(Some(host.to_string()));
                }
                Err(InputError::usage(format!(
                    "`--store {spec}` is neither `oci-layout:DIR` nor `docker://[HOST[:PORT]]`"
                )))
            }
        }
    }

    /// A short description for logs and reports.
    pub fn describe(&self) -> String {
        match self {
            Store::Registry { mirror: None, .. } => "the named registries".to_string(),
            Store::Registry { mirror: Some(host), .. } => format!("docker://{host}"),
            Store::Layout(layout) => format!("oci-layout:{}", layout.root().display()),
        }
    }

    /// The reference as it is looked up in this store.
    pub fn locate(&self, reference: &ImageReference) -> ImageReference {
        match self {
            Store::Registry { mirror: Some(host), .. } => {
                ImageReference { registry: host.clone(), ..reference.clone() }
            }
            _ => reference.clone(),
        }
    }

    pub async fn fetch_manifest(&self, reference: &ImageReference) -> Result<Option<Manifest>, RegistryError> {
        let located = self.locate(reference);
        match self {
            Store::Registry { client, .. } => client.fetch_manifest(&located).await,
            Store::Layout(layout) => layout.fetch_manifest(&located),
        }
    }

    pub async fn fetch_blob(&self, reference: &ImageReference, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let located = self.locate(reference);
        match self {
            Store::Registry { client, .. } => client.fetch_blob(&located, digest).await,
            Store::Layout(layout) => layout.fetch_blob(&located, digest),
        }
    }

    /// A blob bounded by the size its manifest declares (see [`RegistryClient::fetch_blob_sized`]).
    pub async fn fetch_blob_sized(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Vec<u8>, RegistryError> {
        let located = self.locate(reference);
        match self {
            Store::Registry { client, .. } => client.fetch_blob_sized(&located, digest, size).await,
            Store::Layout(layout) => layout.fetch_blob_sized(&located, digest, size),
        }
    }

    /// A blob as an open file, checked against its digest and declared size and rewound, never
    /// whole in memory: a layout's own blob file, or a registry's blob streamed into a temporary
    /// file (removed when the returned file is closed).
    pub async fn open_blob(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<std::fs::File, RegistryError> {
        let located = self.locate(reference);
        match self {
            Store::Registry { client, .. } => {
                let file = tempfile::tempfile().map_err(|error| RegistryError::Unavailable {
                    registry: located.registry.clone(),
                    what: format!("blob {digest} of {}", located.name()),
                    attempts: 1,
                    problem: format!("creating a temporary file: {error}"),
                    origin: None,
                })?;
                client.fetch_blob_into(&located, digest, size, &file).await?;
                Ok(file)
            }
            Store::Layout(layout) => layout.open_blob(&located, digest, size),
        }
    }

    pub async fn push_blob(
        &self,
        reference: &ImageReference,
        digest: &Digest,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let located = self.locate(reference);
        match self {
            Store::Registry { client, .. } => client.push_blob(&located, digest, bytes).await,
            Store::Layout(layout) => layout.push_blob(&located, digest, bytes),
        }
    }

    pub async fn push_manifest(
        &self,
        reference: &ImageReference,
        tag: Option<&str>,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let located = self.locate(reference);
        match self {
            Store::Registry { client, .. } => client.push_manifest(&located, tag, manifest).await,
            Store::Layout(layout) => layout.push_manifest(&located, tag, manifest),
        }
    }

    /// Every tag of the repository, page by page to `visit` (see [`RegistryClient::scan_tags`]).
    pub async fn scan_tags(
        &self,
        reference: &ImageReference,
        visit: &mut (dyn FnMut(&[String]) + Send),
    ) -> Result<(), RegistryError> {
        let located = self.locate(reference);
        match self {
            Store::Registry { client, .. } => client.scan_tags(&located, visit).await,
            Store::Layout(layout) => {
                visit(&layout.list_tags(&located)?);
                Ok(())
            }
        }
    }
}
