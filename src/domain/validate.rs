//! The RHDH installer's rules for `dynamic-plugins*.yaml`, checked before release. Pure: entries in,
//! findings out. The registry half (images present, annotated, holding their plugin folder) is in
//! `steps::validate`.
//!
//! Rules, as install-dynamic-plugins applies them:
//! - an OCI package matches `oci://host[:port]/path(:tag|@sha256:…)[!plugin-path]`;
//! - a plugin key appears once per level (every include is level 0, the main file level 1); keys are
//!   the npm name without version, a local path verbatim, or `oci://host/path` plus `!path`;
//! - `{{inherit}}` as tag is only allowed in the main file and must match exactly one include entry;
//! - a path-less reference to an image that also appears with an explicit `!path` is ambiguous;
//! - npm and remote tgz packages need `integrity`;
//! - the `pluginConfig`s of the enabled plugins deep-merge without two plugins setting the same key
//!   to different values.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;

use crate::formats::image_reference::ImageReference;
use crate::formats::shown::shown;

/// The installer's OCI package pattern.
static OCI_PATTERN: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(oci://[^\s/:@]+(?::\d+)?(?:/[^\s:@]+)+)(?::([^\s!@:]+)|@((?:sha256|sha512|blake3):[^\s!@:]+))(?:!([^\s]+))?$")
        .unwrap_or_else(|_| unreachable!("the OCI pattern is a valid regex"))
});

pub(crate) const INHERIT: &str = "{{inherit}}";

/// One plugin entry with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) file: String,
    /// 0 for include files, 1 for the main file.
    pub(crate) level: u8,
    pub(crate) package: String,
    pub(crate) disabled: bool,
    /// `integrity` as written (`None` when absent or empty).
    pub(crate) integrity: Option<String>,
    pub(crate) plugin_config: Option<serde_json::Value>,
    /// The line of the entry in its file.
    pub(crate) line: Option<u64>,
}

/// An OCI package reference, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciPackage {
    /// `host[:port]/path` (no scheme).
    pub(crate) repository: String,
    pub(crate) tag: Option<String>,
    pub(crate) digest: Option<String>,
    pub(crate) path: Option<String>,
}

impl OciPackage {
    pub(crate) fn is_inherit(&self) -> bool {
        self.tag.as_deref() == Some(INHERIT)
    }

    /// The plugin key of the installer (version stripped).
    pub(crate) fn key(&self) -> String {
        match &self.path {
            Some(path) => format!("oci://{}:!{path}", self.repository),
            None => format!("oci://{}", self.repository),
        }
    }

    /// The image reference to inspect (not for `{{inherit}}`).
    pub(crate) fn image(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => format!("{}@{digest}", self.repository),
            (None, Some(tag)) => format!("{}:{tag}", self.repository),
            (None, None) => self.repository.clone(),
        }
    }
}

pub fn parse_oci(package: &str) -> Option<OciPackage> {
    let captures = OCI_PATTERN.captures(package)?;
    Some(OciPackage {
        repository: captures.get(1)?.as_str().trim_start_matches("oci://").to_string(),
        tag: captures.get(2).map(|value| value.as_str().to_string()),
        digest: captures.get(3).map(|value| value.as_str().to_string()),
        path: captures.get(4).map(|value| value.as_str().to_string()),
    })
}

fn is_local(package: &str) -> bool {
    package.starts_with("./") || package.starts_with("../") || package.starts_with('/')
}

/// Whether npm reads `package` as a path on the installer's disk rather than a registry package:
/// npm-package-arg's file specs (starting with `.`, `~/`, `/`, `\` or a drive letter) and `file:`
/// specs. The installer hands every package that does not start with `./` to `npm pack`.
fn npm_reads_as_path(package: &str) -> bool {
    let bytes = package.as_bytes();
    package.starts_with(['.', '/', '\\'])
        || package.starts_with("~/")
        || package.get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"))
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

/// Whether a local package is `./<path>` with no `..` (or empty) component: inside the folder the
/// installer runs in.
fn stays_in_working_folder(package: &str) -> bool {
    package.strip_prefix("./").is_some_and(|rest| {
        !rest.is_empty()
            && rest.trim_end_matches('/').split('/').all(|part| !part.is_empty() && part != ".." && part != ".")
    })
}

/// The installer's key of a non-OCI package: local paths verbatim, npm names without version.
pub(crate) fn npm_key(package: &str) -> String {
    if is_local(package) || package.to_ascii_lowercase().ends_with(".tgz") {
        return package.to_string();
    }
    let (scope, rest) = match package.strip_prefix('@') {
        Some(rest) => match rest.split_once('/') {
            Some((scope, name)) => (format!("@{scope}/"), name),
            None => (String::new(), package),
        },
        None => (String::new(), package),
    };
    let name = rest.split('@').next().unwrap_or(rest);
    format!("{scope}{name}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    pub(crate) file: String,
    /// The line of the entry the finding is about, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<u64>,
    pub(crate) package: String,
    pub(crate) severity: Severity,
    pub(crate) rule: &'static str,
    pub(crate) message: String,
}

impl Finding {
    /// What to do about a finding of this rule.
    pub(crate) fn fix(&self) -> Option<&'static str> {
        Some(match self.rule {
            "oci-reference" => {
                "write `oci://<registry>/<lowercase path>:<tag>` or `…@sha256:<64 lowercase hex characters>`, then `!<plugin-path>` if the image holds several plugins"
            }
            "plugin-path" => "name the plugin's folder inside the image, e.g. `!backstage-community-plugin-tech-radar`",
            "integrity" | "integrity-length" => {
                "copy `dist.integrity` of the package version from the npm registry (`npm view <package>@<version> dist.integrity`)"
            }
            "package-name" => "retype the name in ASCII: a look-alike character names another package",
            "duplicate-key" => {
                "keep one entry per plugin in each file (an include entry can be overridden from the main file)"
            }
            "config-conflict" => "set the key in one plugin's `pluginConfig` only",
            "local-path" => {
                "name a folder below the installer's working folder, e.g. `./dynamic-plugins/dist/<plugin>`"
            }
            _ => return None,
        })
    }
}

fn finding(entry: &Entry, severity: Severity, rule: &'static str, message: impl Into<String>) -> Finding {
    Finding {
        file: entry.file.clone(),
        line: entry.line,
        package: entry.package.clone(),
        severity,
        rule,
        message: message.into(),
    }
}

/// Every rule that needs no registry.
pub(crate) fn static_findings(entries: &[Entry]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut keys: BTreeMap<(u8, String), Vec<&Entry>> = BTreeMap::new();
    let parsed: Vec<Option<OciPackage>> = entries.iter().map(|entry| parse_oci(&entry.package)).collect();
    for (entry, oci) in entries.iter().zip(&parsed) {
        if entry.package.starts_with("oci://") {
            let Some(oci) = oci else {
                let detail = reference_detail(&entry.package).map_or_else(String::new, |detail| format!(": {detail}"));
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "oci-reference",
                    format!("not `oci://host[:port]/path(:tag|@sha256:<hex>)[!plugin-path]`{detail}"),
                ));
                continue;
            };
            if let Some(problem) = image_reference_problem(oci) {
                findings.push(finding(entry, Severity::Error, "oci-reference", problem));
                continue;
            }
            if let Some(path) = &oci.path
                && let Err(problem) = crate::formats::relative_path::RelativePath::parse(path)
            {
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "plugin-path",
                    format!("plugin path `{}` {problem}", shown(path)),
                ));
            }
            if oci.is_inherit() && entry.level == 0 {
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "inherit-in-include",
                    "`{{inherit}}` is only allowed in the main file, not in an include",
                ));
            }
            keys.entry((entry.level, oci.key())).or_default().push(entry);
        } else {
            if let Some(note) = crate::formats::shown::unusual_character_note(&entry.package) {
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "package-name",
                    format!("package `{}`: {note}", shown(&entry.package)),
                ));
            }
            if is_local(&entry.package) && !stays_in_working_folder(&entry.package) {
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "local-path",
                    format!(
                        "local package `{}` leaves the folder the installer runs in; it would pack whatever folder that names",
                        shown(&entry.package)
                    ),
                ));
            } else if !is_local(&entry.package) && npm_reads_as_path(&entry.package) {
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "local-path",
                    format!(
                        "package `{}` is no `./` path, yet npm reads it as a folder of the installer's disk; it would pack whatever folder that names",
                        shown(&entry.package)
                    ),
                ));
            }
            if !is_local(&entry.package) && entry.integrity.is_none() {
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "integrity",
                    "an npm or remote tgz package needs `integrity` (sha512-…)",
                ));
            }
            if let Some(integrity) = &entry.integrity {
                findings.extend(integrity_findings(entry, integrity));
            }
            keys.entry((entry.level, npm_key(&entry.package))).or_default().push(entry);
        }
    }
    for ((level, key), members) in &keys {
        if members.len() > 1 {
            let enabled = members.iter().filter(|entry| !entry.disabled).count();
            let severity = if enabled <= 1 { Severity::Warning } else { Severity::Error };
            for entry in members.iter().skip(1) {
                let where_ = if *level == 0 { "the includes (level 0)" } else { "the main file (level 1)" };
                findings.push(finding(
                    entry,
                    severity,
                    "duplicate-key",
                    format!("plugin `{key}` appears {} times in {where_}", members.len()),
                ));
            }
        }
    }
    // Repositories referenced with an explicit path anywhere.
    let mut explicit_paths: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for oci in parsed.iter().flatten() {
        if let Some(path) = &oci.path {
            explicit_paths.entry(oci.repository.as_str()).or_default().push(path.as_str());
        }
    }
    for (entry, oci) in entries.iter().zip(&parsed) {
        let Some(oci) = oci else { continue };
        if oci.path.is_none() && !oci.is_inherit() && explicit_paths.contains_key(oci.repository.as_str()) {
            findings.push(finding(
                entry,
                Severity::Error,
                "ambiguous-path-less",
                format!(
                    "path-less reference to an image also referenced with an explicit path ({}); add `!<plugin-path>`",
                    explicit_paths[oci.repository.as_str()].join(", ")
                ),
            ));
        }
        if oci.is_inherit() && entry.level == 1 {
            let candidates: Vec<&OciPackage> = entries
                .iter()
                .zip(&parsed)
                .filter(|(other, _)| other.level == 0)
                .filter_map(|(_, other)| other.as_ref())
                .filter(|other| other.repository == oci.repository && (oci.path.is_none() || other.path == oci.path))
                .collect();
            let mut paths: Vec<Option<&String>> = candidates.iter().map(|other| other.path.as_ref()).collect();
            paths.sort();
            paths.dedup();
            if candidates.is_empty() {
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "inherit-no-match",
                    "`{{inherit}}` matches no entry of the includes",
                ));
            } else if candidates.len() > 1 && oci.path.is_none() && paths.len() > 1 {
                findings.push(finding(
                    entry,
                    Severity::Error,
                    "inherit-ambiguous",
                    format!(
                        "`{{{{inherit}}}}` matches {} include entries with different paths; add `!<plugin-path>`",
                        candidates.len()
                    ),
                ));
            }
        }
    }
    findings.extend(config_conflicts(entries, &parsed));
    findings
}

/// Why a package that fails the installer's pattern is not a reference, when our grammar can say.
fn reference_detail(package: &str) -> Option<String> {
    if let Some(note) = crate::formats::shown::unusual_character_note(package) {
        return Some(format!("`{}` has {note}", shown(package)));
    }
    let reference = package.trim_start_matches("oci://");
    let reference = reference.split_once('!').map_or(reference, |(reference, _)| reference);
    ImageReference::parse(reference).err()
}

/// The reference grammar of the distribution spec, on top of the installer's pattern: the
/// repository path, the tag and the digest must be ones a registry accepts.
fn image_reference_problem(oci: &OciPackage) -> Option<String> {
    let image = if oci.is_inherit() { format!("{}:inherit", oci.repository) } else { oci.image() };
    ImageReference::parse(&image).err()
}

/// The algorithms of `integrity` (Subresource Integrity) the installer verifies, with the
/// length of their digests.
const INTEGRITY_ALGORITHMS: [(&str, usize); 3] = [("sha256", 32), ("sha384", 48), ("sha512", 64)];

static SRI_PATTERN: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})$")
        .unwrap_or_else(|_| unreachable!("the integrity pattern is a valid regex"))
});

/// `integrity` must be `sha256|sha384|sha512-<base64>`; a digest of the wrong length is a warning.
fn integrity_findings(entry: &Entry, integrity: &str) -> Vec<Finding> {
    use base64::Engine as _;
    let Some(captures) = SRI_PATTERN.captures(integrity) else {
        return vec![finding(
            entry,
            Severity::Error,
            "integrity",
            format!(
                "`integrity` `{}` is not `sha512-<base64>` (or sha384, sha256): the installer cannot verify the package",
                shown(integrity)
            ),
        )];
    };
    let algorithm = &captures[1];
    let length = INTEGRITY_ALGORITHMS.iter().find(|(name, _)| *name == algorithm).map_or(0, |(_, length)| *length);
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    match engine.decode(&captures[2]) {
        Ok(bytes) if bytes.len() == length => Vec::new(),
        decoded => vec![finding(
            entry,
            Severity::Warning,
            "integrity-length",
            format!(
                "`integrity` holds {} bytes, a {algorithm} digest has {length}: the installer will report a mismatch",
                decoded.map_or(0, |bytes| bytes.len())
            ),
        )],
    }
}

/// Two enabled plugins setting the same `pluginConfig` key to different values: the installer
/// refuses to merge them. A main-file entry replaces the include entry of the same key.
fn config_conflicts(entries: &[Entry], parsed: &[Option<OciPackage>]) -> Vec<Finding> {
    let mut effective: BTreeMap<String, &Entry> = BTreeMap::new();
    for (entry, oci) in entries.iter().zip(parsed) {
        let key = oci.as_ref().map_or_else(|| npm_key(&entry.package), OciPackage::key);
        match effective.get(&key) {
            Some(existing) if existing.level > entry.level => {}
            _ => {
                effective.insert(key, entry);
            }
        }
    }
    let mut leaves: BTreeMap<String, (&serde_json::Value, &Entry)> = BTreeMap::new();
    let mut findings = Vec::new();
    for entry in effective.values().filter(|entry| !entry.disabled) {
        let Some(config) = &entry.plugin_config else { continue };
        let mut paths = Vec::new();
        collect_leaves(config, String::new(), &mut paths);
        for (path, value) in paths {
            match leaves.get(&path) {
                Some((other, owner)) if *other != value && owner.package != entry.package => findings.push(finding(
                    entry,
                    Severity::Error,
                    "config-conflict",
                    format!("pluginConfig `{path}` is also set, to another value, by {}", owner.package),
                )),
                Some(_) => {}
                None => {
                    leaves.insert(path, (value, entry));
                }
            }
        }
    }
    findings
}

fn collect_leaves<'a>(value: &'a serde_json::Value, path: String, out: &mut Vec<(String, &'a serde_json::Value)>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                collect_leaves(child, child_path, out);
            }
        }
        leaf => out.push((path, leaf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(level: u8, package: &str) -> Entry {
        Entry {
            file: format!("level{level}.yaml"),
            level,
            package: package.into(),
            disabled: false,
            integrity: None,
            plugin_config: None,
            line: Some(2),
        }
    }

    fn rules(entries: &[Entry]) -> Vec<&'static str> {
        static_findings(entries).iter().map(|finding| finding.rule).collect()
    }

    const DIGEST: &str = "sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479";

    #[test]
    fn grammar() {
        assert!(parse_oci(&format!("oci://quay.io/rhdh/x@{DIGEST}!x")).is_some());
        assert!(parse_oci("oci://127.0.0.1:5000/a/b:1.0--2.0").is_some());
        for bad in [
            "oci://quay.io/x",
            "oci://quay.io:abc/x:1",
            "oci://quay.io/x:1:2",
            "oci://quay.io/x@md5:abc",
            "oci://quay.io/x:a b",
        ] {
            assert!(parse_oci(bad).is_none(), "{bad}");
        }
        assert_eq!(rules(&[entry(1, "oci://quay.io/x")]), ["oci-reference"]);
    }

    #[test]
    fn both_grammars_must_hold() {
        let upper = DIGEST.to_ascii_uppercase().replace("SHA256", "sha256");
        for bad in [
            "oci://quay.io/rhdh/x@sha256:abc".to_string(),
            format!("oci://quay.io/rhdh/x@{upper}"),
            "oci://quay.io/RHDH/x:1".to_string(),
            "oci://quay.io/rhdh/x:.bad".to_string(),
            "oci://quay.io/rhdh/x\0y:1".to_string(),
            format!("oci://quay.io/rhdh/{}:1", "a".repeat(300_000)),
            "oci://quay.io/rh\u{0430}dh/x:1".to_string(),
            "oci://quay.io/rhdh/x@blake3:abc".to_string(),
        ] {
            let findings = static_findings(&[entry(1, &bad)]);
            assert_eq!(findings.iter().map(|found| found.rule).collect::<Vec<_>>(), ["oci-reference"], "{bad}");
            assert!(findings[0].message.len() < 600, "{}", findings[0].message);
            assert!(
                findings[0]
                    .message
                    .chars()
                    .all(|character| character.is_ascii_graphic() || character == ' ' || character == '…'),
                "{}",
                findings[0].message
            );
            assert_eq!(findings[0].line, Some(2));
        }
        assert_eq!(rules(&[entry(1, "oci://quay.io/rhdh/x:1!../../x")]), ["plugin-path"]);
        assert_eq!(rules(&[entry(1, "oci://quay.io/rhdh/x:1!/etc")]), ["plugin-path"]);
        assert_eq!(rules(&[entry(1, "./dynamic-plugins/dist/t\u{0430}")]), ["package-name"]);
        for climbing in ["./dynamic-plugins/dist/../..", "./a/../../etc", "../x", "/etc/passwd", "./", "./a//b"] {
            assert_eq!(rules(&[entry(1, climbing)]), ["local-path"], "{climbing}");
        }
        assert!(rules(&[entry(1, "./dynamic-plugins/dist/backstage-plugin-x-dynamic")]).is_empty());
        assert!(rules(&[entry(1, "oci://quay.io/rhdh/x:1!x")]).is_empty());
        // What npm reads as a folder of the installer's disk, even with an integrity to satisfy
        // the installer's own check.
        for path_to_npm in ["~/../../etc", ".hidden/../../../etc", "file:../../../etc", "FILE:/etc", "c:/x", "\\etc"] {
            let with_integrity =
                Entry { integrity: Some(format!("sha512-{}", "A".repeat(86) + "==")), ..entry(1, path_to_npm) };
            assert_eq!(rules(&[with_integrity]), ["local-path"], "{path_to_npm}");
        }
        let registry_package =
            Entry { integrity: Some(format!("sha512-{}", "A".repeat(86) + "==")), ..entry(1, "@scope/x@1.0.0") };
        assert!(rules(&[registry_package]).is_empty());
    }

    #[test]
    fn duplicates_are_per_level() {
        let one = format!("oci://quay.io/rhdh/x@{DIGEST}!x");
        let other_version = "oci://quay.io/rhdh/x:2.0!x";
        assert_eq!(rules(&[entry(1, &one), entry(1, other_version)]), ["duplicate-key"]);
        assert!(rules(&[entry(0, &one), entry(1, other_version)]).is_empty(), "an override at another level is fine");
        let mut disabled = entry(1, other_version);
        disabled.disabled = true;
        assert_eq!(static_findings(&[entry(1, &one), disabled])[0].severity, Severity::Warning);
        assert_eq!(
            rules(&[entry(1, "./dynamic-plugins/dist/a"), entry(1, "./dynamic-plugins/dist/a")]),
            ["duplicate-key"]
        );
    }

    #[test]
    fn inherit_rules() {
        assert_eq!(rules(&[entry(0, "oci://quay.io/rhdh/x:{{inherit}}!x")]), ["inherit-in-include"]);
        assert_eq!(rules(&[entry(1, "oci://quay.io/rhdh/x:{{inherit}}")]), ["inherit-no-match"]);
        let includes = [entry(0, "oci://quay.io/rhdh/x:1.0!a"), entry(0, "oci://quay.io/rhdh/x:1.0!b")];
        assert_eq!(
            rules(&[includes[0].clone(), includes[1].clone(), entry(1, "oci://quay.io/rhdh/x:{{inherit}}")]),
            ["inherit-ambiguous"]
        );
        assert!(
            rules(&[includes[0].clone(), includes[1].clone(), entry(1, "oci://quay.io/rhdh/x:{{inherit}}!a")])
                .is_empty()
        );
    }

    #[test]
    fn path_less_next_to_explicit_paths() {
        assert_eq!(
            rules(&[entry(0, "oci://quay.io/rhdh/x:1.0!a"), entry(1, "oci://quay.io/rhdh/x:1.0")]),
            ["ambiguous-path-less"]
        );
    }

    #[test]
    fn conflicting_plugin_config() {
        let mut first = entry(1, "./dynamic-plugins/dist/a");
        first.plugin_config = Some(serde_json::json!({"app": {"title": "A", "shared": 1}}));
        let mut second = entry(1, "./dynamic-plugins/dist/b");
        second.plugin_config = Some(serde_json::json!({"app": {"title": "B", "shared": 1}}));
        let findings = static_findings(&[first.clone(), second.clone()]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("`app.title`"));
        second.disabled = true;
        assert!(static_findings(&[first, second]).is_empty(), "disabled plugins are not merged");
    }

    #[test]
    fn npm_needs_integrity() {
        assert_eq!(rules(&[entry(1, "@backstage/plugin-x@1.2.3")]), ["integrity"]);
        let mut with = entry(1, "@backstage/plugin-x@1.2.3");
        with.integrity = Some(format!("sha512-{}", "A".repeat(86) + "=="));
        assert!(rules(&[with.clone()]).is_empty());
        for bad in ["md5-abc", "sha512:abc", "sha512-", "sha512-a b", "sha1-abc=", "sha512-abc==="] {
            with.integrity = Some(bad.into());
            assert_eq!(rules(&[with.clone()]), ["integrity"], "{bad}");
        }
        with.integrity = Some("sha512-abc".into());
        assert_eq!(rules(&[with.clone()]), ["integrity-length"]);
        assert_eq!(static_findings(&[with])[0].severity, Severity::Warning);
        assert!(rules(&[entry(1, "./local-plugin")]).is_empty());
        assert_eq!(npm_key("@backstage/plugin-x@1.2.3"), "@backstage/plugin-x");
        assert_eq!(npm_key("left-pad@^1"), "left-pad");
    }
}
