//! Files other repositories own (the overlay's `default.packages.yaml`, `source.json`,
//! `versions.json`, `backstage.json`, metadata `Package` files; the midstream's
//! `upstream_repos.yml`), read forward-compatibly: those repositories change their files without
//! asking us, so a key this version does not know is a [`ReadNote`] (file, line, what was ignored)
//! and the run goes on, and a boolean written as the string `"true"` or `"false"` is read as the
//! boolean, also with a note. A malformed value of a field the tool uses is still an
//! [`InputError`] (exit 2), worded as [`crate::formats::yaml`] and [`crate::formats::json`] word
//! it. Where the tool judges someone else's file (`validate` of a `dynamic-plugins*.yaml`) it
//! stays strict and does not come here.
//!
//! How: the text is parsed once into the line-keeping [`Node`] tree, and the target type is
//! deserialized from that tree by a probe that knows, from the type itself, which keys each
//! mapping may hold (serde hands every struct's field names to its deserializer), so the class
//! is handled at any depth without a second description of the schema. The probe notes each
//! unknown key and each stringly boolean; the booleans are then unquoted in the text, and the
//! text is read with the ordinary reader, which ignores unknown keys and words every remaining
//! problem in the file's terms. Pure.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, Visitor};

use crate::error::InputError;
use crate::formats::shown::shown;
use crate::formats::yaml::{Node, NodeValue};

/// Something a forward-compatible read passed over: an unknown key or a stringly boolean.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct ReadNote {
    pub(crate) file: PathBuf,
    /// 1-based, where known.
    pub(crate) line: Option<u64>,
    pub(crate) message: String,
}

impl fmt::Display for ReadNote {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(formatter, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(formatter, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// A value read from someone else's file, with what the read passed over.
#[derive(Clone, Debug)]
pub(crate) struct Read<T> {
    pub(crate) value: T,
    pub(crate) notes: Vec<ReadNote>,
}

/// A value read forward-compatibly that keeps what its read passed over; the reading edge
/// (`io::fs::read_foreign`) logs its notes.
pub(crate) trait Noted {
    fn notes(&self) -> &[ReadNote];
}

macro_rules! noted {
    ($($owner:ty),*) => {$(
        impl Noted for $owner {
            fn notes(&self) -> &[ReadNote] {
                &self.notes
            }
        }
    )*};
}
noted!(
    crate::formats::source_json::SourceJson,
    crate::formats::versions::VersionsJson,
    crate::formats::versions::BackstageJson,
    crate::formats::package::Package,
    crate::formats::upstream_repos::UpstreamRepos,
    crate::formats::default_packages::DefaultPackages
);

/// Logs each note as a warning (for the reading edge, `io::fs::read_foreign`; a step that reports
/// notes elsewhere too logs them itself).
pub(crate) fn warn(notes: &[ReadNote]) {
    for note in notes {
        tracing::warn!("{note}");
    }
}

/// Reads YAML `text` (the contents of `path`) into `T` forward-compatibly.
pub(crate) fn from_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<Read<T>, InputError> {
    // Syntax, bounds and shape problems of the document itself are reported as the YAML reader
    // words them; the probe only runs on a well-formed tree.
    let tree = crate::formats::yaml::parse_tree(path, text)?;
    let findings = probe::<T>(&tree);
    let patched = unquote_booleans(text, &findings.booleans);
    let value = crate::formats::yaml::from_str::<T>(path, &patched)
        .map_err(|error| with_unknown_keys(error, &findings.unknown))?;
    Ok(Read { value, notes: findings.notes(path) })
}

/// Reads JSON `text` (the contents of `path`) into `T` forward-compatibly.
pub(crate) fn from_json<T: DeserializeOwned>(path: &Path, text: &str) -> Result<Read<T>, InputError> {
    // JSON syntax first, in JSON's terms (a trailing comma, a comment).
    crate::formats::json::from_str::<serde_json::Value>(path, text)?;
    let findings = match serde_saphyr::from_str::<Node>(text) {
        Ok(tree) => probe::<T>(&tree),
        // JSON the YAML reader does not take (a rare escape): no notes, the strict read decides.
        Err(_) => Findings::default(),
    };
    let patched = unquote_booleans(text, &findings.booleans);
    let value = crate::formats::json::from_str::<T>(path, &patched)
        .map_err(|error| with_unknown_keys(error, &findings.unknown))?;
    Ok(Read { value, notes: findings.notes(path) })
}

/// What the probe found in one file.
#[derive(Debug, Default)]
struct Findings {
    unknown: Vec<UnknownKey>,
    booleans: Vec<StringBoolean>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct UnknownKey {
    /// Where the key sits (`packages.enabled[3]`), empty at the top.
    parent: String,
    key: String,
    line: Option<u64>,
    /// The known key it is close to, when it looks like a typo of one.
    close: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct StringBoolean {
    path: String,
    value: bool,
    line: u64,
    column: u64,
}

impl Findings {
    /// The notes, one per unknown key name and place (entries of one list share a note, with
    /// their lines), then one per stringly boolean, in file order.
    fn notes(&self, file: &Path) -> Vec<ReadNote> {
        let mut groups: Vec<(String, &str, Vec<&UnknownKey>)> = Vec::new();
        for unknown in &self.unknown {
            let place = without_indexes(&unknown.parent);
            match groups.iter_mut().find(|(other, key, _)| *other == place && *key == unknown.key) {
                Some((_, _, members)) => members.push(unknown),
                None => groups.push((place, unknown.key.as_str(), vec![unknown])),
            }
        }
        let mut notes: Vec<ReadNote> = groups
            .into_iter()
            .map(|(place, key, members)| {
                let first = members[0];
                let at = if place.is_empty() { "at the top of the file".to_string() } else { format!("in `{place}`") };
                let more = if members.len() > 1 {
                    let lines: Vec<String> =
                        members.iter().filter_map(|member| member.line).map(|line| line.to_string()).collect();
                    format!(" ({} times, lines {})", members.len(), crate::domain::text::first_items(&lines, 8))
                } else {
                    String::new()
                };
                let close = first.close.map_or_else(String::new, |close| format!(" (did you mean `{close}`?)"));
                ReadNote {
                    file: file.to_path_buf(),
                    line: first.line,
                    message: format!(
                        "unknown key `{}` {at}{more} ignored: this version of rhdh-catalog does not read it{close}",
                        shown(key)
                    ),
                }
            })
            .collect();
        notes.extend(self.booleans.iter().map(|boolean| ReadNote {
            file: file.to_path_buf(),
            line: Some(boolean.line),
            message: format!(
                "`{}` is the string \"{}\", read as the boolean {}; write it without quotes",
                boolean.path, boolean.value, boolean.value
            ),
        }));
        notes.sort_by_key(|note| note.line.unwrap_or(0));
        notes
    }
}

/// `packages.enabled[3]` → `packages.enabled[]`: the place shared by every entry of a list.
fn without_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut inside = false;
    for character in path.chars() {
        match character {
            '[' => {
                inside = true;
                out.push('[');
            }
            ']' => {
                inside = false;
                out.push(']');
            }
            _ if inside => {}
            other => out.push(other),
        }
    }
    out
}

/// A strict read that failed: when the file also had unknown keys, the message names them (a
/// missing field is often a misspelt one).
fn with_unknown_keys(mut error: InputError, unknown: &[UnknownKey]) -> InputError {
    if unknown.is_empty() {
        return error;
    }
    let named: Vec<String> = unknown
        .iter()
        .map(|key| match key.line {
            Some(line) => format!("unknown field `{}` (line {line})", shown(&key.key)),
            None => format!("unknown field `{}`", shown(&key.key)),
        })
        .collect();
    // A missing field with a misspelling of it in the file: the misspelt line is the one to fix.
    let missing = error.problem.split("missing field `").nth(1).and_then(|rest| rest.split('`').next());
    let misspelt = unknown.iter().find(|key| key.close.is_some() && key.close == missing);
    error.problem = format!("{}; the file also has {}", error.problem, crate::domain::text::first_items(&named, 5));
    if let Some(key) = misspelt.or_else(|| unknown.iter().find(|key| key.close.is_some())) {
        let close = key.close.unwrap_or_default();
        error.hint = Some(format!("did you mean `{close}` where the file says `{}`?", shown(&key.key)));
    }
    if let Some(line) = misspelt.and_then(|key| key.line) {
        error.line = Some(line);
    }
    error
}

/// `"true"`/`'true'` (and false) at the positions found, written as plain booleans; every other
/// byte stays.
fn unquote_booleans(text: &str, booleans: &[StringBoolean]) -> String {
    if booleans.is_empty() {
        return text.to_string();
    }
    let mut replacements: Vec<(usize, usize, &'static str)> = Vec::new();
    for boolean in booleans {
        let Some(start) = offset_of(text, boolean.line, boolean.column) else { continue };
        let word = if boolean.value { "true" } else { "false" };
        for quote in ['"', '\''] {
            let quoted = format!("{quote}{word}{quote}");
            if text[start..].starts_with(&quoted) {
                replacements.push((start, start + quoted.len(), word));
                break;
            }
        }
    }
    replacements.sort_unstable();
    replacements.dedup();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, word) in replacements {
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(word);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// The byte offset of 1-based `line` and `column` (in characters) of `text`.
fn offset_of(text: &str, line: u64, column: u64) -> Option<usize> {
    let line_index = usize::try_from(line.checked_sub(1)?).ok()?;
    let column_index = usize::try_from(column.checked_sub(1)?).ok()?;
    let mut line_start = 0;
    for (index, segment) in text.split_inclusive('\n').enumerate() {
        if index == line_index {
            return segment.char_indices().nth(column_index).map(|(offset, _)| line_start + offset);
        }
        line_start += segment.len();
    }
    None
}

/// Deserializes `T` from `tree` to find unknown keys and stringly booleans; the value is dropped
/// (the strict reader makes it). A shape error stops the probe: the strict reader reports it.
fn probe<T: DeserializeOwned>(tree: &Node) -> Findings {
    let findings = RefCell::new(Findings::default());
    let _ = T::deserialize(Probe { node: tree, path: String::new(), findings: &findings });
    findings.into_inner()
}

/// A deserializer over one [`Node`] that records what a forward-compatible read passes over.
struct Probe<'a> {
    node: &'a Node,
    /// Where the node sits (`packages.enabled[3].package`).
    path: String,
    findings: &'a RefCell<Findings>,
}

#[derive(Debug)]
struct ProbeError(String);

impl fmt::Display for ProbeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        ProbeError(message.to_string())
    }
}

impl<'a> Probe<'a> {
    fn child(&self, node: &'a Node, path: String) -> Probe<'a> {
        Probe { node, path, findings: self.findings }
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = ProbeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        match &self.node.value {
            NodeValue::Null => visitor.visit_unit(),
            NodeValue::Bool(flag) => visitor.visit_bool(*flag),
            NodeValue::Number(number) => {
                if let Some(value) = number.as_u64() {
                    visitor.visit_u64(value)
                } else if let Some(value) = number.as_i64() {
                    visitor.visit_i64(value)
                } else {
                    visitor.visit_f64(number.as_f64().unwrap_or_default())
                }
            }
            NodeValue::String(text) => visitor.visit_str(text),
            NodeValue::List(items) => visitor.visit_seq(ProbeSeq { items: items.iter(), index: 0, parent: self }),
            NodeValue::Map(entries) => {
                visitor.visit_map(ProbeMap { entries: entries.iter(), fields: None, value: None, parent: self })
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        if let NodeValue::String(text) = &self.node.value {
            let value = match text.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
            if let Some(value) = value {
                self.findings.borrow_mut().booleans.push(StringBoolean {
                    path: self.path.clone(),
                    value,
                    line: self.node.line,
                    column: self.node.column,
                });
                return visitor.visit_bool(value);
            }
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        // Scalars people write unquoted (`version: 1.10`) are text to these readers.
        match (&self.node.value, self.node.scalar_text()) {
            (NodeValue::Null | NodeValue::List(_) | NodeValue::Map(_), _) | (_, None) => self.deserialize_any(visitor),
            (_, Some(text)) => visitor.visit_string(text),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        match self.node.value {
            NodeValue::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        match &self.node.value {
            NodeValue::Map(entries) => {
                visitor.visit_map(ProbeMap { entries: entries.iter(), fields: Some(fields), value: None, parent: self })
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        match self.node.scalar_text() {
            Some(text) if !matches!(self.node.value, NodeValue::Null) => {
                visitor.visit_enum(IntoDeserializer::<ProbeError>::into_deserializer(text))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        // A value the reader keeps as it is (or drops) is not looked into.
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct seq tuple
        tuple_struct map identifier
    }
}

struct ProbeSeq<'a> {
    items: std::slice::Iter<'a, Node>,
    index: usize,
    parent: Probe<'a>,
}

impl<'de> de::SeqAccess<'de> for ProbeSeq<'_> {
    type Error = ProbeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, ProbeError> {
        let Some(item) = self.items.next() else { return Ok(None) };
        let path = format!("{}[{}]", self.parent.path, self.index);
        self.index += 1;
        seed.deserialize(self.parent.child(item, path)).map(Some)
    }
}

struct ProbeMap<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    /// The keys a struct reads; `None` for a map of free keys.
    fields: Option<&'static [&'static str]>,
    value: Option<(&'a Node, String)>,
    parent: Probe<'a>,
}

impl<'de> de::MapAccess<'de> for ProbeMap<'_> {
    type Error = ProbeError;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, ProbeError> {
        for (key, value) in self.entries.by_ref() {
            let name = key.scalar_text().unwrap_or_default();
            let path = if self.parent.path.is_empty() {
                shown(&name)
            } else {
                format!("{}.{}", self.parent.path, shown(&name))
            };
            if let Some(fields) = self.fields
                && !fields.contains(&name.as_str())
            {
                self.parent.findings.borrow_mut().unknown.push(UnknownKey {
                    parent: self.parent.path.clone(),
                    key: name.clone(),
                    line: key.line(),
                    close: crate::formats::shown::did_you_mean(&name, fields),
                });
                continue;
            }
            self.value = Some((value, path.clone()));
            return seed.deserialize(self.parent.child(key, path)).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, ProbeError> {
        let Some((value, path)) = self.value.take() else {
            return Err(ProbeError("a value without its key".to_string()));
        };
        seed.deserialize(self.parent.child(value, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Top {
        packages: Sections,
    }

    #[derive(Debug, Deserialize)]
    struct Sections {
        #[serde(default)]
        enabled: Vec<Entry>,
    }

    #[derive(Debug, Deserialize)]
    struct Entry {
        package: String,
        #[serde(default)]
        flat: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    struct Source {
        repo: String,
        #[serde(rename = "repo-flat")]
        repo_flat: bool,
    }

    #[test]
    fn unknown_keys_at_any_depth_are_noted_once_per_place_with_their_lines() {
        let text = "packages:\n  enabled:\n  - package: a\n    status: active\n  - package: b\n    status: x\n  new: 1\nextra: {nested: [1]}\n";
        let read = from_yaml::<Top>(Path::new("d.yaml"), text).unwrap();
        let packages: Vec<&str> = read.value.packages.enabled.iter().map(|entry| entry.package.as_str()).collect();
        assert_eq!(packages, ["a", "b"]);
        let notes: Vec<String> = read.notes.iter().map(ToString::to_string).collect();
        assert_eq!(notes.len(), 3, "{notes:#?}");
        assert!(
            notes[0]
                .starts_with("d.yaml:4: unknown key `status` in `packages.enabled[]` (2 times, lines 4, 6) ignored"),
            "{notes:#?}"
        );
        assert!(notes[1].starts_with("d.yaml:7: unknown key `new` in `packages`"), "{notes:#?}");
        assert!(notes[2].starts_with("d.yaml:8: unknown key `extra` at the top of the file"), "{notes:#?}");
    }

    #[test]
    fn stringly_booleans_are_read_with_a_note_in_json_and_yaml() {
        let read = from_json::<Source>(Path::new("s.json"), r#"{"repo":"x","repo-flat":"true"}"#).unwrap();
        assert!(read.value.repo_flat);
        assert_eq!(read.value.repo, "x");
        assert_eq!(read.notes.len(), 1);
        assert_eq!(
            read.notes[0].to_string(),
            "s.json:1: `repo-flat` is the string \"true\", read as the boolean true; write it without quotes"
        );
        let read =
            from_json::<Source>(Path::new("s.json"), "{\n  \"repo\": \"x\",\n  \"repo-flat\": \"false\"\n}").unwrap();
        assert!(!read.value.repo_flat);
        assert_eq!(read.notes[0].line, Some(3));
        let read = from_yaml::<Top>(Path::new("d.yaml"), "packages:\n  enabled:\n  - package: a\n    flat: 'false'\n")
            .unwrap();
        assert_eq!(read.value.packages.enabled[0].flat, Some(false));
        assert_eq!(read.notes.len(), 1, "{:?}", read.notes);
    }

    #[test]
    fn malformed_used_values_stay_errors_and_name_a_misspelt_key() {
        let error = from_json::<Source>(Path::new("s.json"), r#"{"repo":"x","repo-flat":"yes"}"#).unwrap_err();
        assert!(error.to_string().contains("wrong type at `repo-flat`"), "{error}");
        let error = from_json::<Source>(Path::new("s.json"), r#"{"repo":"x","repo_flat":true}"#).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("missing field `repo-flat`"), "{message}");
        assert!(message.contains("unknown field `repo_flat`"), "{message}");
        assert!(error.hint.as_deref().is_some_and(|hint| hint.contains("did you mean `repo-flat`")), "{error:?}");
        let error = from_json::<Source>(Path::new("s.json"), r#"{"repo":"x","repo-flat":true,}"#).unwrap_err();
        assert!(error.to_string().contains("trailing comma"), "{error}");
        let error = from_yaml::<Top>(Path::new("d.yaml"), "packages:\n  enabled: {a: b}\n").unwrap_err();
        assert!(error.to_string().contains("wrong type at `packages.enabled`"), "{error}");
    }

    #[test]
    fn booleans_are_unquoted_only_where_found() {
        let text = "a: \"true\"\nb: 'false'\nc: \"true story\"\n";
        let booleans = vec![
            StringBoolean { path: "a".into(), value: true, line: 1, column: 4 },
            StringBoolean { path: "b".into(), value: false, line: 2, column: 4 },
        ];
        assert_eq!(unquote_booleans(text, &booleans), "a: true\nb: false\nc: \"true story\"\n");
        assert_eq!(without_indexes("a[3].b[10]"), "a[].b[]");
    }
}
