//! Image references (`host[:port]/path[:tag][@sha256:…]`) and digests, parsed once at the edge.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// A content digest, `sha256:<64 lowercase hex>` (sha512 accepted when reading).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (algorithm, hex) =
            text.split_once(':').ok_or_else(|| format!("`{text}` is not a digest (`sha256:<hex>`)"))?;
        let length = match algorithm {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(format!("`{text}` uses the unsupported digest algorithm `{algorithm}`")),
        };
        if hex.len() != length
            || !hex.chars().all(|character| character.is_ascii_digit() || ('a'..='f').contains(&character))
        {
            return Err(format!("`{text}` is not a {algorithm} digest ({length} lowercase hex characters)"));
        }
        Ok(Digest(text.to_string()))
    }

    /// The sha256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map_or("", |(algorithm, _)| algorithm)
    }

    pub fn hex(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, hex)| hex)
    }

    /// Whether `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        match self.algorithm() {
            "sha256" => Digest::of(bytes) == *self,
            "sha512" => {
                use sha2::Sha512;
                hex::encode(Sha512::digest(bytes)) == self.hex()
            }
            _ => false,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl Digest {
    /// `sha256:` and the first 12 hex digits, for tables and summaries.
    pub fn short(&self) -> String {
        match self.0.split_once(':') {
            Some((algorithm, hex)) => format!("{algorithm}:{}", &hex[..hex.len().min(12)]),
            None => self.0.clone(),
        }
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `registry/repository` plus a tag, a digest, or both.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageReference {
    /// `host[:port]`.
    pub registry: String,
    /// Path inside the registry, e.g. `rhdh/backstage-community-plugin-argocd`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl ImageReference {
    /// Parses a reference; the registry host must be explicit (no Docker Hub default).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name_and_tag, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(Digest::parse(digest)?)),
            None => (text, None),
        };
        let last_slash = name_and_tag.rfind('/');
        let (name, tag) = match name_and_tag.rfind(':') {
            Some(colon) if last_slash.is_some_and(|slash| colon > slash) => {
                (&name_and_tag[..colon], Some(name_and_tag[colon + 1..].to_string()))
            }
            _ => (name_and_tag, None),
        };
        let (registry, repository) = split_registry(name)
            .ok_or_else(|| format!("`{text}` has no registry host (write e.g. quay.io/rhdh/<image>)"))?;
        check_registry(registry).map_err(|problem| format!("`{text}`: {problem}"))?;
        check_repository(repository).map_err(|problem| format!("`{text}`: {problem}"))?;
        if let Some(tag) = &tag {
            check_tag(tag).map_err(|problem| format!("`{text}`: {problem}"))?;
        }
        if tag.is_none() && digest.is_none() {
            return Err(format!("`{text}` has neither a tag nor a digest"));
        }
        Ok(ImageReference { registry: registry.to_string(), repository: repository.to_string(), tag, digest })
    }

    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `registry/repository@digest`.
    pub fn pinned(&self, digest: &Digest) -> String {
        format!("{}@{digest}", self.name())
    }

    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn manifest_selector(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_string(),
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(formatter, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(formatter, "@{digest}")?;
        }
        Ok(())
    }
}

/// A registry prefix such as `quay.io/rhdh` or `127.0.0.1:5000`: host plus optional namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryPrefix {
    pub registry: String,
    pub namespace: Option<String>,
}

impl RegistryPrefix {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim_end_matches('/');
        let (registry, namespace) = match text.split_once('/') {
            Some((registry, namespace)) => (registry, Some(namespace)),
            None => (text, None),
        };
        check_registry(registry).map_err(|problem| format!("`{text}`: {problem}"))?;
        if let Some(namespace) = namespace {
            check_repository(namespace).map_err(|problem| format!("`{text}`: {problem}"))?;
        }
        Ok(RegistryPrefix { registry: registry.to_string(), namespace: namespace.map(str::to_string) })
    }

    /// The reference of `image:tag` under this prefix.
    pub fn image(&self, image: &str, tag: &str) -> Result<ImageReference, String> {
        ImageReference::parse(&format!("{self}/{image}:{tag}"))
    }
}

impl fmt::Display for RegistryPrefix {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.registry)?;
        if let Some(namespace) = &self.namespace {
            write!(formatter, "/{namespace}")?;
        }
        Ok(())
    }
}

fn split_registry(name: &str) -> Option<(&str, &str)> {
    let (first, rest) = name.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some((first, rest))
}

fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    let host_ok = !host.is_empty()
        && host.chars().all(|character| character.is_ascii_alphanumeric() || character == '.' || character == '-')
        && !host.starts_with(['-', '.']);
    if !host_ok || !(host.contains('.') || host == "localhost" || port.is_some()) {
        return Err(format!("`{registry}` is not a registry host"));
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!("`{port}` is not a port number"));
    }
    Ok(())
}

fn check_repository(repository: &str) -> Result<(), String> {
    let component_ok = |component: &str| {
        !component.is_empty()
            && component.starts_with(|character: char| character.is_ascii_lowercase() || character.is_ascii_digit())
            && component.ends_with(|character: char| character.is_ascii_lowercase() || character.is_ascii_digit())
            && component.chars().all(|character| {
                character.is_ascii_lowercase() || character.is_ascii_digit() || "._-".contains(character)
            })
            && !component.contains("..")
    };
    if repository.is_empty() || repository.len() > 255 || !repository.split('/').all(component_ok) {
        return Err(format!(
            "`{repository}` is not a repository path (lowercase letters, digits, `.`, `_`, `-`, separated by `/`)"
        ));
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|character: char| character.is_ascii_alphanumeric() || character == '_')
        && tag.chars().all(|character| character.is_ascii_alphanumeric() || "_.-".contains(character));
    if ok { Ok(()) } else { Err(format!("`{tag}` is not a valid tag (letters, digits, `_`, `.`, `-`, at most 128)")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_digests_and_ports() {
        let reference = ImageReference::parse(
            "ghcr.io/redhat-developer/rhdh-plugin-export-overlays/backstage-plugin-techdocs:bs_1.52.0__1.17.7",
        )
        .unwrap();
        assert_eq!(reference.registry, "ghcr.io");
        assert_eq!(reference.repository, "redhat-developer/rhdh-plugin-export-overlays/backstage-plugin-techdocs");
        assert_eq!(reference.tag.as_deref(), Some("bs_1.52.0__1.17.7"));
        let digest = "sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479";
        let reference = ImageReference::parse(&format!("127.0.0.1:5000/rhdh/x@{digest}")).unwrap();
        assert_eq!(reference.registry, "127.0.0.1:5000");
        assert_eq!(reference.digest.as_ref().map(Digest::as_str), Some(digest));
        assert_eq!(reference.to_string(), format!("127.0.0.1:5000/rhdh/x@{digest}"));
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "rhdh/x:1",
            "quay.io/RHDH/x:1",
            "quay.io/rhdh/x:bad tag",
            "quay.io/rhdh/x",
            "quay.io/rhdh/x@sha256:abc",
            "quay.io:99999/x:1",
        ] {
            assert!(ImageReference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefix_builds_references() {
        let prefix = RegistryPrefix::parse("quay.io/rhdh/").unwrap();
        assert_eq!(
            prefix.image("plugin-a", "1.10.0--1.2.3").unwrap().to_string(),
            "quay.io/rhdh/plugin-a:1.10.0--1.2.3"
        );
        assert!(RegistryPrefix::parse("not a host").is_err());
    }
}
