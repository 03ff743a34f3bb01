//! Hand-made images in an OCI layout store (`--store oci-layout:DIR`), for cases no step of ours
//! would ever build: links and link chains inside an index image, plugin layers that unpack to
//! far more than they weigh, one tag naming two images. Written byte by byte, the way a
//! hostile registry would serve them.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// One tar entry.
pub enum Entry {
    Dir(String),
    File(String, Vec<u8>),
    Link(String, String),
}

/// A gzipped tar of `entries`, in the order given (no sorting, no parents added).
pub fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        match entry {
            Entry::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, path, std::io::empty()).unwrap();
            }
            Entry::File(path, bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, path, bytes.as_slice()).unwrap();
            }
            Entry::Link(path, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
        }
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The layout folder of `registry/repository` in the store at `root`, as the tool names it.
pub fn repository_dir(root: &Path, registry: &str, repository: &str) -> PathBuf {
    root.join(registry.replace(':', "_")).join(repository)
}

/// Writes `bytes` as a blob of the repository folder `dir`; returns its descriptor.
pub fn put_blob(dir: &Path, media_type: &str, bytes: &[u8]) -> serde_json::Value {
    let digest = digest_of(bytes);
    let path = dir.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    serde_json::json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
}

/// An image of `layers` (gzipped tars) with manifest `annotations`, tagged `tag` in the layout
/// repository folder `dir` (added to its `index.json`); returns the manifest's descriptor.
pub fn put_image(dir: &Path, tag: &str, layers: &[Vec<u8>], annotations: &serde_json::Value) -> serde_json::Value {
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"version": "1.10.0"}},
        "rootfs": {"type": "layers", "diff_ids": []}
    }))
    .unwrap();
    let config = put_blob(dir, "application/vnd.oci.image.config.v1+json", &config);
    let layers: Vec<serde_json::Value> =
        layers.iter().map(|layer| put_blob(dir, "application/vnd.oci.image.layer.v1.tar+gzip", layer)).collect();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": layers,
        "annotations": annotations,
    }))
    .unwrap();
    let mut descriptor = put_blob(dir, "application/vnd.oci.image.manifest.v1+json", &manifest);
    descriptor["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    add_to_index(dir, descriptor.clone());
    descriptor
}

/// Adds `descriptor` to the `index.json` of the layout repository folder `dir`.
pub fn add_to_index(dir: &Path, descriptor: serde_json::Value) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let path = dir.join("index.json");
    let mut index: serde_json::Value = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}));
    index["manifests"].as_array_mut().unwrap().push(descriptor);
    std::fs::write(path, serde_json::to_vec_pretty(&index).unwrap()).unwrap();
}

/// The `io.backstage.dynamic-packages` annotation naming `folders`.
pub fn dynamic_packages(folders: &[&str]) -> serde_json::Value {
    use base64::Engine;
    let list: Vec<serde_json::Value> = folders.iter().map(|folder| serde_json::json!({ *folder: {} })).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&list).unwrap());
    serde_json::json!({ "io.backstage.dynamic-packages": encoded })
}

/// A link chain that the lexical check of an archive lets through and that resolves, on disk, to
/// the file system root whatever folder it is unpacked in: `d/l → ..`, `m1 → d/l/..` (the
/// parent of the destination), then `eN/x → ../mN` and `mN+1 → eN/x/..`, one level up each, 24
/// levels (the kernel follows at most 40 links per lookup: 12 levels take 25). Returns the entries
/// and the name of the last link (the root, for a destination at most 12 folders deep).
pub fn chain_to_root() -> (Vec<Entry>, String) {
    let mut entries = vec![Entry::Dir("d".into()), Entry::Link("d/l".into(), "..".into())];
    entries.push(Entry::Link("m1".into(), "d/l/..".into()));
    for level in 1..12 {
        entries.push(Entry::Dir(format!("e{level}")));
        entries.push(Entry::Link(format!("e{level}/x"), format!("../m{level}")));
        entries.push(Entry::Link(format!("m{}", level + 1), format!("e{level}/x/..")));
    }
    (entries, "m12".to_string())
}
