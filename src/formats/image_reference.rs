//! Image references (`host[:port]/path[:tag][@sha256:…]`) and digests, parsed once at the edge.

use std::fmt;

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest as _, Sha256};

use crate::formats::shown::shown;

/// The longest `registry/repository` the distribution reference grammar allows.
pub const NAME_MAX_LENGTH: usize = 255;

/// The longest reference we read at all (name, tag and a sha512 digest fit with room to spare):
/// anything longer is refused before any pattern runs.
const REFERENCE_MAX_LENGTH: usize = 1024;

fn pattern(text: &str) -> Regex {
    Regex::new(text).unwrap_or_else(|_| unreachable!("the reference patterns are valid"))
}

/// `digest-algorithm` of the OCI image spec: components `[a-z0-9]+` joined by `+`, `.`, `_`, `-`.
static DIGEST_ALGORITHM: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*$"));
/// `digest-encoded`: `[a-zA-Z0-9=_-]+`.
static DIGEST_ENCODED: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[a-zA-Z0-9=_-]+$"));
/// A `path-component` of the distribution reference grammar.
static PATH_COMPONENT: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$"));
/// A `tag`: `[\w][\w.-]{0,127}` (ASCII word characters).
static TAG: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"));
/// A `domain-component`.
static DOMAIN_COMPONENT: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$"));

/// A content digest, `sha256:<64 lowercase hex>` (sha512 accepted when reading).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parses `algorithm:encoded` (the OCI digest grammar); only `sha256` (64 lowercase hex
    /// characters) and `sha512` (128) are accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(note) = crate::formats::shown::unusual_character_note(text) {
            return Err(format!("`{}` is not a digest: {note}", shown(text)));
        }
        let Some((algorithm, encoded)) = text.split_once(':') else {
            return Err(format!("`{}` is not a digest (`sha256:<64 lowercase hex characters>`)", shown(text)));
        };
        if !DIGEST_ALGORITHM.is_match(algorithm) || !DIGEST_ENCODED.is_match(encoded) {
            return Err(format!("`{}` is not a digest (`sha256:<64 lowercase hex characters>`)", shown(text)));
        }
        let length = match algorithm {
            "sha256" => 64,
            "sha512" => 128,
            _ => {
                return Err(format!(
                    "`{}` uses the unsupported digest algorithm `{}` (use sha256 or sha512)",
                    shown(text),
                    shown(algorithm)
                ));
            }
        };
        if encoded.len() != length
            || !encoded.chars().all(|character| character.is_ascii_digit() || ('a'..='f').contains(&character))
        {
            let case = if encoded.chars().any(|character| character.is_ascii_uppercase()) {
                ", uppercase hex is not allowed"
            } else {
                ""
            };
            return Err(format!(
                "`{}` is not a {algorithm} digest ({length} lowercase hex characters, it has {}{case})",
                shown(text),
                encoded.chars().count()
            ));
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

    /// A hasher of this digest's algorithm, for content read as a stream.
    pub fn hasher(&self) -> DigestHasher {
        if self.algorithm() == "sha512" { DigestHasher::Sha512(sha2::Sha512::new()) } else { DigestHasher::default() }
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

/// A digest computed over content that arrives in pieces ([`Digest::hasher`]); sha256 by default.
#[derive(Clone, Debug)]
pub enum DigestHasher {
    Sha256(Sha256),
    Sha512(sha2::Sha512),
}

impl Default for DigestHasher {
    fn default() -> Self {
        DigestHasher::Sha256(Sha256::new())
    }
}

impl DigestHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            DigestHasher::Sha256(hasher) => hasher.update(bytes),
            DigestHasher::Sha512(hasher) => hasher.update(bytes),
        }
    }

    pub fn finish(self) -> Digest {
        match self {
            DigestHasher::Sha256(hasher) => Digest(format!("sha256:{}", hex::encode(hasher.finalize()))),
            DigestHasher::Sha512(hasher) => Digest(format!("sha512:{}", hex::encode(hasher.finalize()))),
        }
    }
}

impl std::io::Write for DigestHasher {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.update(buffer);
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
    /// Parses a reference by the distribution `reference` grammar; the registry host must be
    /// explicit (no Docker Hub default).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > REFERENCE_MAX_LENGTH {
            return Err(format!(
                "`{}` is not an image reference: it is {} characters long (a name has at most {NAME_MAX_LENGTH})",
                shown(text),
                text.chars().count()
            ));
        }
        if let Some(note) = crate::formats::shown::unusual_character_note(text) {
            return Err(format!("`{}` is not an image reference: {note}", shown(text)));
        }
        let (name_and_tag, digest) = match text.split_once('@') {
            Some((name, digest)) => {
                (name, Some(Digest::parse(digest).map_err(|problem| format!("`{}`: {problem}", shown(text)))?))
            }
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
            .ok_or_else(|| format!("`{}` has no registry host (write e.g. quay.io/rhdh/<image>)", shown(text)))?;
        check_registry(registry).map_err(|problem| format!("`{}`: {problem}", shown(text)))?;
        check_repository(repository).map_err(|problem| format!("`{}`: {problem}", shown(text)))?;
        if name.len() > NAME_MAX_LENGTH {
            return Err(format!(
                "`{}`: the name is {} characters long, more than the {NAME_MAX_LENGTH} a registry accepts",
                shown(text),
                name.len()
            ));
        }
        if let Some(tag) = &tag {
            check_tag(tag).map_err(|problem| format!("`{}`: {problem}", shown(text)))?;
        }
        if tag.is_none() && digest.is_none() {
            return Err(format!("`{}` has neither a tag nor a digest", shown(text)));
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
    (first.contains('.') || first.contains(':') || first == "localhost" || first.starts_with('['))
        .then_some((first, rest))
}

/// `host[:port]`: a domain name (components of letters, digits and inner `-`), an IPv4 address
/// or a bracketed IPv6 address, and a port of 1 to 5 digits.
fn check_registry(registry: &str) -> Result<(), String> {
    if let Some(note) = crate::formats::shown::unusual_character_note(registry) {
        return Err(format!("`{}` is not a registry host: {note}", shown(registry)));
    }
    let port = if let Some(rest) = registry.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return Err(format!("`{registry}` is not a registry host (an IPv6 address needs its closing `]`)"));
        };
        if address.is_empty() || !address.chars().all(|character| character.is_ascii_hexdigit() || character == ':') {
            return Err(format!("`{registry}` is not a registry host"));
        }
        match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err(format!("`{registry}` is not a registry host")),
            },
        }
    } else {
        let (host, port) = match registry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        };
        let host_ok = !host.is_empty() && host.split('.').all(|component| DOMAIN_COMPONENT.is_match(component));
        if !host_ok || !(host.contains('.') || host == "localhost" || port.is_some()) {
            return Err(format!("`{registry}` is not a registry host"));
        }
        port
    };
    if let Some(port) = port
        && (port.is_empty()
            || port.len() > 5
            || !port.chars().all(|character| character.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        return Err(format!("`{port}` is not a port number"));
    }
    Ok(())
}

/// `path-component ['/' path-component]*`, each `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_repository(repository: &str) -> Result<(), String> {
    let general = "lowercase letters and digits, joined by `.`, `_`, `__` or `-`, components separated by `/`";
    if repository.is_empty() {
        return Err(format!("the repository path is empty ({general})"));
    }
    if repository.len() > NAME_MAX_LENGTH {
        return Err(format!(
            "the repository path is {} characters long, more than the {NAME_MAX_LENGTH} a registry accepts",
            repository.len()
        ));
    }
    for component in repository.split('/') {
        if PATH_COMPONENT.is_match(component) {
            continue;
        }
        let why = if component.is_empty() {
            format!("has an empty component ({general})")
        } else if component.chars().any(|character| character.is_ascii_uppercase()) {
            format!("has uppercase letters in `{}`; repository paths are lowercase", shown(component))
        } else {
            format!("has the component `{}` ({general})", shown(component))
        };
        return Err(format!("`{}` is not a repository path: it {why}", shown(repository)));
    }
    Ok(())
}

/// `[\w][\w.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), String> {
    if TAG.is_match(tag) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid tag (letters, digits, `_`, `.`, `-`, not starting with `.` or `-`, at most 128)",
            shown(tag)
        ))
    }
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
            "quay.io:+80/x:1",
            "quay.io/rhdh/x@sha256:E61E662E36B3676AD167056628FA022B5374DD87506F7E913F0AAD8C11E98479",
            "quay.io/rhdh/x@sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e9847",
            "quay.io/rhdh/x@md5:e61e662e36b3676ad167056628fa022b",
            "quay.io/rhdh/a..b:1",
            "quay.io/rhdh/a.-b:1",
            "quay.io/rhdh/a___b:1",
            "quay.io/rhdh/-a:1",
            "quay.io/rhdh//a:1",
            "quay.io/rhdh/x:.tag",
            "quay.io/rhdh/x:-tag",
            "quay.io/rhdh/x:tag!",
            "-quay.io/x:1",
            "quay..io/x:1",
            "quay.io/rh\u{0430}dh/x:1",
            "quay.io/rhdh/x\0:1",
            "quay.io/rhdh/x:1\n",
        ] {
            assert!(ImageReference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grammar_of_the_distribution_spec_holds() {
        for good in [
            "quay.io/rhdh/a__b:1",
            "quay.io/rhdh/a---b.c_d:1",
            "localhost/x:1",
            "localhost:5000/x:1",
            "[::1]:5000/x:1",
            "quay.io/x:_tag",
            "my-registry.example.com/a/b/c:A.b-C_1",
        ] {
            assert!(ImageReference::parse(good).is_ok(), "{good}: {:?}", ImageReference::parse(good));
        }
        let tag = format!("quay.io/x:{}", "t".repeat(128));
        assert!(ImageReference::parse(&tag).is_ok());
        assert!(ImageReference::parse(&format!("{tag}t")).is_err(), "129 characters");
        let long_name = format!("quay.io/{}:1", "a".repeat(NAME_MAX_LENGTH - 7));
        assert!(ImageReference::parse(&long_name).is_err(), "256 characters of name");
        let huge = format!("quay.io/{}:1", "a".repeat(300_000));
        let problem = ImageReference::parse(&huge).unwrap_err();
        assert!(problem.len() < 400, "{problem}");
        let problem = ImageReference::parse("quay.io/rh\u{0430}dh/x:1").unwrap_err();
        assert!(problem.contains("U+0430") && !problem.contains('\u{0430}'), "{problem}");
        let problem = ImageReference::parse("quay.io/x\0y:1").unwrap_err();
        assert!(problem.contains("U+0000") && !problem.contains('\0'), "{problem}");
        let problem = ImageReference::parse("quay.io/rhdh/x@sha256:ABC").unwrap_err();
        assert!(problem.contains("64 lowercase hex"), "{problem}");
        let problem = ImageReference::parse("quay.io/RHDH/x:1").unwrap_err();
        assert!(problem.contains("is not a repository path") && problem.contains("uppercase"), "{problem}");
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
