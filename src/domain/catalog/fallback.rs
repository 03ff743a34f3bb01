//! Which existing tag stands in for a requested tag the registry does not have, as the upstream
//! generator chooses it. Used only under `--on-missing older-tag`, and only after the registry
//! answered that the requested tag does not exist (an unknown answer never falls back).
//!
//! A tag is `<prefix><plugin version>` with the prefix `bs_<backstage>__` or `<rhdh x.y.z>--`.
//! Candidates share the requested tag's prefix, end in a clean version (`1.2` or `1.2.3`: no
//! `.sig`, `.att`, `.sbom` or digest-like tags), are *older* than the requested version and on its
//! release line (the same major version; for `0.y` versions the same `0.y`, as semver's caret
//! ranges have it): a version-like `99999.0.0`, or a build of another major version, never stands
//! in. For `<x.y.z>--<version>` the `<x.y>--<version>` alias of the same plugin version wins (a
//! build during x.y.z publishes both); otherwise the highest candidate does. Tags are offered one
//! at a time ([`FallbackPicker`]), so a tag list is never held whole.

/// Chooses the stand-in for one requested tag from tags offered one at a time.
#[derive(Clone, Debug)]
pub(crate) struct FallbackPicker {
    requested: String,
    prefix: String,
    version: (u64, u64, u64),
    alias: Option<String>,
    alias_seen: bool,
    best: Option<((u64, u64, u64), String)>,
}

impl FallbackPicker {
    /// A picker for `requested`; `None` when it is not `<prefix><clean version>` (nothing can be
    /// older than a version that cannot be compared).
    pub(crate) fn new(requested: &str) -> Option<FallbackPicker> {
        let (prefix, version) = split_tag(requested)?;
        let key = version_key(version)?;
        let alias = rhdh_minor_prefix(prefix).map(|minor| format!("{minor}{version}"));
        Some(FallbackPicker {
            requested: requested.to_string(),
            prefix: prefix.to_string(),
            version: key,
            alias,
            alias_seen: false,
            best: None,
        })
    }

    /// Considers one existing tag.
    pub(crate) fn offer(&mut self, tag: &str) {
        if self.alias.as_deref() == Some(tag) {
            self.alias_seen = true;
            return;
        }
        if tag == self.requested {
            return;
        }
        let Some(key) = tag.strip_prefix(self.prefix.as_str()).and_then(version_key) else { return };
        let same_line = key.0 == self.version.0 && (self.version.0 != 0 || key.1 == self.version.1);
        if key >= self.version || !same_line {
            return;
        }
        if self.best.as_ref().is_none_or(|(best, _)| key > *best) {
            self.best = Some((key, tag.to_string()));
        }
    }

    /// The tag to pin instead of the requested one, if any qualified.
    pub(crate) fn pick(self) -> Option<String> {
        if self.alias_seen {
            return self.alias;
        }
        self.best.map(|(_, tag)| tag)
    }
}

/// The tag to pin instead of `requested`, if any of `tags` qualifies (the picker over a list).
#[cfg(test)]
pub(crate) fn fallback_tag(requested: &str, tags: &[String]) -> Option<String> {
    let mut picker = FallbackPicker::new(requested)?;
    for tag in tags {
        picker.offer(tag);
    }
    picker.pick()
}

/// `bs_1.49.4__2.1.0` → (`bs_1.49.4__`, `2.1.0`); `1.10.0--2.1.0` → (`1.10.0--`, `2.1.0`).
fn split_tag(tag: &str) -> Option<(&str, &str)> {
    if tag.starts_with("bs_") {
        let end = tag.find("__")? + 2;
        return Some((&tag[..end], &tag[end..]));
    }
    let end = tag.find("--")? + 2;
    Some((&tag[..end], &tag[end..]))
}

/// `1.10.0--` → `1.10--`; anything else (already `x.y--`, or `bs_` prefixes) → `None`.
fn rhdh_minor_prefix(prefix: &str) -> Option<String> {
    let version = prefix.strip_suffix("--")?;
    let parts: Vec<&str> = version.split('.').collect();
    (parts.len() == 3 && version_key(version).is_some()).then(|| format!("{}.{}--", parts[0], parts[1]))
}

/// A clean `x.y` or `x.y.z` version as a comparable key (`x.y` counts as `x.y.0`).
fn version_key(text: &str) -> Option<(u64, u64, u64)> {
    let parts: Vec<&str> = text.split('.').collect();
    if !(2..=3).contains(&parts.len())
        || parts.iter().any(|part| part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()))
    {
        return None;
    }
    let number = |index: usize| parts.get(index).map_or(Some(0), |part| part.parse::<u64>().ok());
    Some((number(0)?, number(1)?, number(2)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|tag| (*tag).to_string()).collect()
    }

    #[test]
    fn the_highest_clean_version_of_the_same_prefix() {
        let available = tags(&[
            "1.10.0--1.2.0",
            "1.10.0--1.10.1",
            "1.10.0--1.9.9",
            "1.10.0--2.0.0.sig",
            "sha256-0123abcd.att",
            "1.10.0--2.0.0-rc1",
            "1.9.0--9.9.9",
            "latest",
        ]);
        assert_eq!(fallback_tag("1.10.0--1.12.0", &available).as_deref(), Some("1.10.0--1.10.1"));
        let backstage = tags(&["bs_1.49.4__0.3.0", "bs_1.49.4__0.12.0", "bs_1.48.0__0.12.9", "bs_1.49.4__0.12.0.sbom"]);
        assert_eq!(fallback_tag("bs_1.49.4__0.12.5", &backstage).as_deref(), Some("bs_1.49.4__0.12.0"));
    }

    #[test]
    fn the_minor_alias_of_the_same_plugin_version_wins() {
        let available = tags(&["1.10.0--9.0.0", "1.10--2.0.0"]);
        assert_eq!(fallback_tag("1.10.0--2.0.0", &available).as_deref(), Some("1.10--2.0.0"));
    }

    /// Newer versions, other major versions (other `0.y` lines) and version-like junk never stand in.
    #[test]
    fn only_older_versions_of_the_same_release_line() {
        let available =
            tags(&["1.10.0--99999.0.0", "1.10.0--3.0.0", "1.10.0--2.5.0", "1.10.0--1.9.0", "1.10.0--2.0.1"]);
        assert_eq!(fallback_tag("1.10.0--2.1.0", &available).as_deref(), Some("1.10.0--2.0.1"));
        assert_eq!(fallback_tag("1.10.0--2.0.0", &tags(&["1.10.0--1.9.0", "1.10.0--3.0.0"])), None);
        assert_eq!(fallback_tag("bs_1.49.4__0.12.0", &tags(&["bs_1.49.4__0.11.9", "bs_1.49.4__1.0.0"])), None);
        assert_eq!(fallback_tag("1.10.0--2.0.0-rc1", &tags(&["1.10.0--1.9.0"])), None, "no comparable version");
    }

    #[test]
    fn nothing_qualifies() {
        assert_eq!(fallback_tag("1.10.0--2.0.0", &tags(&["1.10.0--2.0.0.sig", "main", "1.9.0--1.0.0"])), None);
        assert_eq!(fallback_tag("latest", &tags(&["1.10.0--1.0.0"])), None);
        assert_eq!(fallback_tag("1.10.0--2.0.0", &[]), None);
    }
}
