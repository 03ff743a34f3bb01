//! What a registry answers, checked before anything is believed: bodies read with a cap on the
//! bytes actually read (the body is streamed and reading stops at the cap, whatever
//! `Content-Length` says), and manifests checked to be manifests (`schemaVersion: 2`, a known
//! `mediaType` that agrees with the `Content-Type`, and the fields of that type).

use serde_json::Value;

use super::{Digest, media_type};

/// Manifests and indexes larger than this are refused, as containerd and distribution do.
pub(crate) const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Image configs: the same bound.
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
/// A token service's answer.
pub(crate) const MAX_TOKEN_BYTES: usize = 256 * 1024;
/// One page of a tag list.
pub(crate) const MAX_TAG_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Pages of one tag list.
pub(crate) const MAX_TAG_PAGES: usize = 1_000;
/// Tags of one repository (a plugin repository holds hundreds). Tag lists are streamed page by
/// page, so at most one page per concurrent probe is in memory: with `--jobs 16`, far below the
/// index Task's 1 GiB.
pub(crate) const MAX_TAGS: usize = 100_000;
/// Bytes of one tag list, all pages together.
pub(crate) const MAX_TAG_LIST_BYTES: u64 = 64 * 1024 * 1024;
/// Blobs whose size nobody declared (trusted artifacts named by digest alone) and any blob at all.
pub(crate) const MAX_BLOB_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Reads at most `cap` bytes of `response`; more is an error (the rest is never read).
pub(crate) async fn read_capped(response: &mut reqwest::Response, cap: u64, what: &str) -> Result<Vec<u8>, String> {
    if let Some(length) = response.content_length()
        && length > cap
    {
        return Err(format!("{what} is {length} bytes, more than the {cap} accepted"));
    }
    let mut bytes = Vec::with_capacity(response.content_length().unwrap_or(0).min(cap).min(1 << 20) as usize);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() as u64 + chunk.len() as u64 > cap {
                    return Err(format!("{what} goes on past the {cap} bytes accepted (stopped reading)"));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(bytes),
            Err(error) => return Err(format!("reading {what}: {}", super::client::error_text(&error))),
        }
    }
}

const KNOWN_TYPES: [&str; 4] =
    [media_type::OCI_INDEX, media_type::DOCKER_LIST, media_type::OCI_MANIFEST, media_type::DOCKER_MANIFEST];

/// `Content-Type` without parameters.
pub(crate) fn bare_content_type(value: &str) -> &str {
    value.split(';').next().unwrap_or(value).trim()
}

/// Checks that `bytes` are an image manifest or index; returns its media type. `content_type` is
/// the header the registry sent (without parameters), if any.
pub(crate) fn check_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<String, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|error| format!("the manifest body is not JSON ({error})"))?;
    let Value::Object(object) = &value else {
        return Err("the manifest body is JSON but not an object".into());
    };
    match object.get("schemaVersion") {
        Some(Value::Number(number)) if number.as_u64() == Some(2) => {}
        Some(other) => return Err(format!("the manifest has schemaVersion {other}, not 2")),
        None => return Err("the body has no schemaVersion: it is not an image manifest".into()),
    }
    let body_type = match object.get("mediaType") {
        None => None,
        Some(Value::String(text)) => Some(text.as_str()),
        Some(other) => return Err(format!("the manifest's mediaType {other} is not a string")),
    };
    let header_type = content_type.map(bare_content_type).filter(|value| !value.is_empty());
    let media_type = match (body_type, header_type) {
        (Some(body), Some(header)) if body != header => {
            return Err(format!("the manifest says mediaType {body} but the registry sent Content-Type {header}"));
        }
        (Some(body), _) => body,
        (None, Some(header)) => header,
        (None, None) => return Err("the manifest has no mediaType and the registry sent no Content-Type".into()),
    };
    if !KNOWN_TYPES.contains(&media_type) {
        return Err(format!("{media_type} is not an image manifest or index media type"));
    }
    if media_type::is_index(media_type) {
        let Some(Value::Array(manifests)) = object.get("manifests") else {
            return Err(format!("the {media_type} has no `manifests` list"));
        };
        for entry in manifests {
            check_descriptor(entry).map_err(|problem| format!("an entry of `manifests` {problem}"))?;
        }
    } else {
        let config = object.get("config").ok_or_else(|| format!("the {media_type} has no `config`"))?;
        check_descriptor(config).map_err(|problem| format!("its `config` {problem}"))?;
        let Some(Value::Array(layers)) = object.get("layers") else {
            return Err(format!("the {media_type} has no `layers` list"));
        };
        for layer in layers {
            check_descriptor(layer).map_err(|problem| format!("a layer {problem}"))?;
        }
    }
    Ok(media_type.to_string())
}

fn check_descriptor(value: &Value) -> Result<(), String> {
    let Value::Object(object) = value else { return Err("is not an object".into()) };
    match object.get("mediaType") {
        Some(Value::String(_)) => {}
        _ => return Err("has no mediaType".into()),
    }
    match object.get("size") {
        Some(Value::Number(number)) if number.as_u64().is_some() => {}
        _ => return Err("has no size".into()),
    }
    match object.get("digest") {
        Some(Value::String(digest)) => Digest::parse(digest).map(|_| ()),
        _ => Err("has no digest".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}"#;

    #[test]
    fn manifests_and_indexes_are_accepted() {
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{CONFIG},"layers":[{CONFIG}]}}"#
        );
        assert_eq!(
            check_manifest(manifest.as_bytes(), Some("application/vnd.oci.image.manifest.v1+json")).unwrap(),
            media_type::OCI_MANIFEST
        );
        assert_eq!(check_manifest(manifest.as_bytes(), None).unwrap(), media_type::OCI_MANIFEST);
        // OCI lets the body omit mediaType; the header says it.
        let bare = format!(r#"{{"schemaVersion":2,"config":{CONFIG},"layers":[]}}"#);
        assert_eq!(check_manifest(bare.as_bytes(), Some(media_type::OCI_MANIFEST)).unwrap(), media_type::OCI_MANIFEST);
        let index = format!(r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{CONFIG}]}}"#, media_type::OCI_INDEX);
        assert_eq!(
            check_manifest(index.as_bytes(), Some("application/vnd.oci.image.index.v1+json; charset=utf-8")).unwrap(),
            media_type::OCI_INDEX
        );
    }

    #[test]
    fn what_is_no_manifest_is_refused() {
        let refused = |body: &str, header: Option<&str>| check_manifest(body.as_bytes(), header).unwrap_err();
        assert!(refused(r#"{"hello":"world"}"#, Some(media_type::OCI_MANIFEST)).contains("no schemaVersion"));
        assert!(refused("[1,2]", None).contains("not an object"));
        assert!(refused("<html>", None).contains("not JSON"));
        assert!(refused(r#"{"schemaVersion":1,"name":"x"}"#, None).contains("schemaVersion 1"));
        assert!(refused(r#"{"schemaVersion":2}"#, None).contains("no mediaType"));
        assert!(
            refused(r#"{"schemaVersion":2,"mediaType":"application/json"}"#, None).contains("not an image manifest")
        );
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{CONFIG},"layers":[]}}"#,
            media_type::OCI_MANIFEST
        );
        assert!(refused(&manifest, Some(media_type::OCI_INDEX)).contains("Content-Type"));
        let no_layers =
            format!(r#"{{"schemaVersion":2,"mediaType":"{}","config":{CONFIG}}}"#, media_type::OCI_MANIFEST);
        assert!(refused(&no_layers, None).contains("no `layers`"));
        let index_without_list = format!(r#"{{"schemaVersion":2,"mediaType":"{}"}}"#, media_type::OCI_INDEX);
        assert!(refused(&index_without_list, None).contains("no `manifests`"));
        let bad_digest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"x","size":1,"digest":"md5:00"}}]}}"#,
            media_type::OCI_INDEX
        );
        assert!(refused(&bad_digest, None).contains("digest"));
    }
}
