//! YAML edge: typed reading with errors that name file and line (serde-saphyr, duplicate keys
//! rejected), and a small deterministic block-style emitter for JSON-like values, used for every
//! YAML file we write so that the bytes are ours and stable.

use std::fmt::Write as _;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::InputError;
use crate::formats::shown::shown;

/// Parses `text` (the contents of `path`) into `T`; any syntax or shape problem is an
/// [`InputError`] naming the file and the line, in the file's own terms (never the parser's).
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    check_text(path, text)?;
    serde_saphyr::from_str_with_options::<T>(text, options(false)).map_err(|error| {
        // A shape error is only worth naming in a well-formed document: a syntax error later in
        // the file (a truncated list) is the real problem.
        match parse_tree_unchecked(text) {
            Err(document_error) if is_document_error(&document_error) => {
                translate(path, text, &document_error, || None)
            }
            tree => translate(path, text, &error, || tree.ok()),
        }
    })
}

/// Whether the error is about the YAML document itself rather than the shape a reader expects.
fn is_document_error(error: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error as E;
    let mut error = error.without_snippet();
    while let E::AliasError { error: inner, .. } = error {
        error = inner.without_snippet();
    }
    matches!(
        error,
        E::ExternalMessage { .. }
            | E::Eof { .. }
            | E::Budget { .. }
            | E::DuplicateMappingKey { .. }
            | E::MultipleDocuments { .. }
            | E::UnknownAnchor { .. }
            | E::AliasReplayLimitExceeded { .. }
            | E::AliasExpansionLimitExceeded { .. }
            | E::AliasReplayStackDepthExceeded { .. }
            | E::AliasReplayCounterOverflow { .. }
            | E::InvalidUtf8Input
    )
}

/// Parses `text` into a [`Node`] tree that keeps the line of every key and value; booleans are
/// only `true` and `false` (YAML 1.2), so a `yes`, `on` or `"false"` stays a string for the
/// caller to name.
pub fn parse_tree(path: &Path, text: &str) -> Result<Node, InputError> {
    check_text(path, text)?;
    parse_tree_unchecked(text).map_err(|error| translate(path, text, &error, || None))
}

fn parse_tree_unchecked(text: &str) -> Result<Node, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options::<Node>(text, options(true))
}

fn options(strict_booleans: bool) -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: strict_booleans,
        with_snippet: false,
        reject_unsupported_tags: true,
    }
}

/// The most nodes (mappings, lists, scalars, aliases expanded) a file may hold.
pub const MAX_NODES: usize = 250_000;
/// The deepest nesting a file may have.
pub const MAX_DEPTH: usize = 64;

/// Problems seen in the text itself before parsing: nothing but whitespace or comments, a
/// byte-order mark.
fn check_text(path: &Path, text: &str) -> Result<(), InputError> {
    if text.trim().is_empty() {
        return Err(InputError::in_file(path, "file is empty").with_hint("the file must hold a YAML document"));
    }
    if text.starts_with('\u{FEFF}') {
        return Err(InputError::in_file(path, "the file starts with a byte-order mark (U+FEFF)")
            .at_line(Some(1))
            .with_hint("save the file as UTF-8 without a byte-order mark"));
    }
    if let Some(index) = text.lines().position(|line| line.contains('\u{FEFF}')) {
        return Err(InputError::in_file(path, "a byte-order mark (U+FEFF) in the middle of the file")
            .at_line(Some(index as u64 + 1))
            .with_hint("remove the character; it is invisible in most editors"));
    }
    if text.lines().all(|line| {
        let trimmed = line.trim();
        trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" || trimmed == "..."
    }) {
        return Err(
            InputError::in_file(path, "the file holds only comments").with_hint("the file must hold a YAML document")
        );
    }
    Ok(())
}

/// One parser error in the file's own terms, with its line and a hint.
fn translate(path: &Path, text: &str, error: &serde_saphyr::Error, tree: impl FnOnce() -> Option<Node>) -> InputError {
    use serde_saphyr::Error as E;
    let location = error.location();
    let mut line = location.map(|location| location.line()).filter(|line| *line > 0);
    let column = location.map_or(0, |location| location.column());
    let mut error = error.without_snippet();
    while let E::AliasError { error: inner, .. } = error {
        error = inner.without_snippet();
    }
    let found = |tree: Option<Node>| line.and_then(|line| tree.and_then(|tree| tree.path_at(line, column)));
    let at_path = |tree: Option<Node>| found(tree).map_or_else(String::new, |(path, _)| format!(" at `{path}`"));
    let (problem, hint): (String, Option<String>) = match error {
        E::DuplicateMappingKey { key, .. } => match key {
            Some(key) => {
                (format!("duplicate key `{}`", shown(key)), Some(format!("keep one `{}:` in this mapping", shown(key))))
            }
            None => ("a duplicate key".into(), Some("keep each key once in a mapping".into())),
        },
        E::MultipleDocuments { .. } => {
            ("more than one YAML document (a second `---`)".into(), Some("keep one document in the file".into()))
        }
        E::Budget { breach, .. } => budget_problem(breach),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => alias_problem(),
        E::AliasReplayStackDepthExceeded { .. } => depth_problem(),
        E::UnknownAnchor { .. } => (
            "an alias (`*name`) refers to no anchor (`&name`) before it".into(),
            Some("define the anchor first".into()),
        ),
        E::Unexpected { expected, .. } => match found(tree()) {
            Some((path, kind)) => {
                let expected = if expected.contains("scalar") && kind != "a string" {
                    "a single value (a string, number or boolean)".to_string()
                } else {
                    expected_words(expected)
                };
                (format!("wrong type at `{path}`: expected {expected}, found {kind}"), None)
            }
            None => (format!("wrong type: expected {}", expected_words(expected)), None),
        },
        E::SerdeInvalidType { unexpected, expected, .. } => (
            format!(
                "wrong type{}: expected {}, found {}",
                at_path(tree()),
                expected_words(expected),
                unexpected_words(unexpected)
            ),
            None,
        ),
        E::SerdeInvalidValue { unexpected, expected, .. } => (
            format!(
                "invalid value{}: {}, expected {}",
                at_path(tree()),
                unexpected_words(unexpected),
                expected_words(expected)
            ),
            None,
        ),
        E::SerdeInvalidLength { len, expected, .. } => {
            (format!("wrong number of items{}: {len}, expected {}", at_path(tree()), expected_words(expected)), None)
        }
        E::NullIntoString { .. } => {
            (format!("wrong type{}: expected a string, found nothing (null)", at_path(tree())), None)
        }
        E::InvalidScalar { ty, .. } => {
            (format!("wrong type{}: expected {}", at_path(tree()), expected_words(ty)), None)
        }
        E::NonFiniteFloat { value, .. } => (
            format!("`{}`{} is not a finite number", shown(value), at_path(tree())),
            Some("quote the value if it is text".into()),
        ),
        E::SerdeMissingField { field, .. } => (format!("missing field `{field}`"), None),
        E::SerdeUnknownField { field, expected, .. } => unknown_key_problem("field", field, expected),
        E::SerdeUnknownVariant { variant, expected, .. } => {
            (format!("unknown value `{}`", shown(variant)), Some(format!("use one of {}", backticked(expected))))
        }
        E::UnsupportedTag { tag, .. } => (
            format!("the tag `{}` is not one every YAML reader knows", shown(tag)),
            Some("remove the tag; write the value plainly".into()),
        ),
        E::Eof { .. } => ("the file ends in the middle of a value".into(), None),
        E::InvalidUtf8Input => ("not valid UTF-8".into(), Some("save the file as UTF-8".into())),
        E::Message { msg, .. } if msg.contains("recursion limit") => depth_problem(),
        E::Message { msg, .. } => (without_location(msg), None),
        E::ExternalMessage { msg, .. } => {
            let (at, problem, hint) = syntax_problem(text, line, msg);
            line = at;
            (problem, hint)
        }
        other => {
            let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
            let (at, problem, hint) = syntax_problem(text, line, &other.render_with_options(options));
            line = at;
            (problem, hint)
        }
    };
    let hint = hint.or_else(|| shape_hint(&problem));
    // Every problem the reader finds is about the file as YAML; the prefix says so once.
    let problem = if problem.starts_with("invalid YAML") { problem } else { format!("invalid YAML: {problem}") };
    let mut input_error = InputError::in_file(path, problem).at_line(line);
    if let Some(hint) = hint {
        input_error = input_error.with_hint(hint);
    }
    input_error
}

/// The fix of a shape problem: what to write at the path named.
pub(crate) fn shape_hint(problem: &str) -> Option<String> {
    if let Some(rest) = problem.strip_prefix("wrong type at `")
        && let Some((path, rest)) = rest.split_once('`')
        && let Some(expected) = rest.strip_prefix(": expected ")
    {
        let expected = expected.split(", found").next().unwrap_or(expected);
        return Some(format!("make `{path}` {expected}"));
    }
    if problem.starts_with("wrong type") {
        return Some("give the value the type the file format documents".to_string());
    }
    if let Some(rest) = problem.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return Some(format!("add `{field}`"));
    }
    if problem.starts_with("invalid value") || problem.starts_with("wrong number of items") {
        return Some("change the value to one the file format documents".to_string());
    }
    None
}

fn budget_problem(breach: &serde_saphyr::budget::BudgetBreach) -> (String, Option<String>) {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Depth { .. } => depth_problem(),
        B::Nodes { .. }
        | B::Events { .. }
        | B::Aliases { .. }
        | B::AliasAnchorRatio { .. }
        | B::RecordedAnchorEvents { .. }
        | B::RecordedAnchorBytes { .. } => alias_problem(),
        B::Anchors { .. } => ("too many anchors (`&name`)".into(), Some("split the file or drop the anchors".into())),
        B::Documents { .. } => {
            ("more than one YAML document (a second `---`)".into(), Some("keep one document in the file".into()))
        }
        B::ScalarBytes { .. } | B::InputBytes { .. } => (
            "the values add up to more text than a file of this kind may hold".into(),
            Some("this file is far larger than any real one; check how it was generated".into()),
        ),
        _ => (
            "the file exceeds a limit of the YAML reader (too large or too repetitive)".into(),
            Some("this file is far larger than any real one; check how it was generated".into()),
        ),
    }
}

fn alias_problem() -> (String, Option<String>) {
    (
        format!("too many aliases or nodes: the file would expand beyond {MAX_NODES} nodes"),
        Some("write the values out instead of repeating aliases (`*name`) of aliases".into()),
    )
}

fn depth_problem() -> (String, Option<String>) {
    (
        format!("too deeply nested: more than {MAX_DEPTH} levels of mappings and lists"),
        Some("no file of this kind nests that deep; check how it was generated".into()),
    )
}

/// A syntax error: a tab in the indentation is named as such; any other keeps the YAML
/// reader's description of the syntax, whole.
fn syntax_problem(text: &str, line: Option<u64>, message: &str) -> (Option<u64>, String, Option<String>) {
    let source_line = line.and_then(|line| text.lines().nth(usize::try_from(line).ok()?.checked_sub(1)?));
    let indented_with_tab =
        |line: &str| line.chars().take_while(|character| character.is_whitespace()).any(|c| c == '\t');
    let tab_line = if source_line.is_some_and(indented_with_tab) {
        line
    } else if message.contains("tab") {
        text.lines().position(indented_with_tab).map(|index| index as u64 + 1)
    } else {
        None
    };
    if let Some(tab_line) = tab_line {
        return (
            Some(tab_line),
            "a tab in the indentation".into(),
            Some("indent YAML with spaces; tabs are not allowed there".into()),
        );
    }
    if message.contains("recursion limit") {
        let (problem, hint) = depth_problem();
        return (line, problem, hint);
    }
    let problem = readable(&without_location(message));
    let hint = if problem.contains("U+") {
        "remove the character: a YAML file holds no control characters outside quoted escapes"
    } else {
        "check the YAML syntax at that line: quotes, brackets and indentation"
    };
    (line, format!("invalid YAML: {problem}"), Some(hint.to_string()))
}

/// A reader's message with the characters it quotes (`\u{0}`, a raw control character) as code
/// points.
fn readable(message: &str) -> String {
    static ESCAPE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\\u\{([0-9a-fA-F]{1,6})\}").unwrap_or_else(|_| unreachable!("a valid regex"))
    });
    let replaced = ESCAPE.replace_all(message, |captures: &regex::Captures<'_>| {
        let value = u32::from_str_radix(&captures[1], 16).unwrap_or(0);
        format!("U+{value:04X}")
    });
    shown(&replaced)
}

/// The message without the ` at line L column C` that the reader appends (we print the line
/// after the file name) and without anything after its first line; never cut mid-sentence.
fn without_location(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message).trim();
    let cut = [" at line ", " (defined at line "]
        .iter()
        .filter_map(|marker| first_line.find(marker))
        .min()
        .unwrap_or(first_line.len());
    first_line[..cut].trim_end_matches([',', ' ']).to_string()
}

/// An unknown key with its did-you-mean hint.
pub(crate) fn unknown_key_problem(word: &str, key: &str, expected: &[&str]) -> (String, Option<String>) {
    let problem = format!("unknown {word} `{}`", shown(key));
    let hint = match crate::formats::shown::did_you_mean(key, expected) {
        Some(close) => Some(format!("did you mean `{close}`?")),
        None if expected.is_empty() => None,
        None => Some(format!("known {word}s: {}", backticked(expected))),
    };
    (problem, hint)
}

fn backticked(items: &[&str]) -> String {
    items.iter().map(|item| format!("`{item}`")).collect::<Vec<_>>().join(", ")
}

/// serde's and the reader's names of what was expected, as our words: a mapping, a list, a
/// string, a number, a boolean.
pub(crate) fn expected_words(expected: &str) -> String {
    let expected = expected.trim();
    let lower = expected.to_ascii_lowercase();
    let word = if lower.starts_with("struct ") || lower.contains("map") || lower == "empty mapping start" {
        "a mapping"
    } else if lower.starts_with("sequence")
        || lower.contains("sequence")
        || lower.starts_with("a vec")
        || lower.starts_with("tuple")
    {
        "a list"
    } else if lower.contains("string") || lower == "scalar" || lower == "char" || lower.contains("path") {
        "a string"
    } else if lower.contains("bool") {
        "a boolean (`true` or `false`)"
    } else if ["u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64"]
        .iter()
        .any(|number| lower.contains(number))
        || lower.contains("integer")
        || lower.contains("number")
        || lower.contains("float")
    {
        "a number"
    } else if lower.starts_with("enum ") || lower.starts_with("variant") {
        "one of the allowed values"
    } else {
        return shown(expected);
    };
    word.to_string()
}

/// serde's description of what was found (an integer and its value, a sequence), as our words.
fn unexpected_words(unexpected: &str) -> String {
    let lower = unexpected.to_ascii_lowercase();
    let value = unexpected.split_once(' ').map(|(_, value)| value.trim()).filter(|value| !value.is_empty());
    let kind = if lower.starts_with("map") {
        return "a mapping".into();
    } else if lower.starts_with("sequence") {
        return "a list".into();
    } else if lower.starts_with("unit") || lower.starts_with("null") || lower.starts_with("none") {
        return "nothing (null)".into();
    } else if lower.starts_with("string") || lower.starts_with("char") {
        "the string"
    } else if lower.starts_with("integer") || lower.starts_with("floating") {
        "the number"
    } else if lower.starts_with("boolean") {
        "the boolean"
    } else {
        return shown(unexpected);
    };
    match value {
        Some(value) => format!("{kind} {}", shown(value)),
        None => kind.trim_start_matches("the ").to_string(),
    }
}

/// A YAML node with where it starts: the tree the dynamic-plugins reader and the error messages
/// walk to name the line and path of a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// 1-based; 0 when the reader did not say.
    pub line: u64,
    pub column: u64,
    pub value: NodeValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Node>),
    /// Keys in file order, each a node with its own line.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// What the node is, as a message says it: `a mapping`, `a list`, `a string`, …
    pub fn kind(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "nothing (null)",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Number(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::List(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    pub fn line(&self) -> Option<u64> {
        (self.line > 0).then_some(self.line)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// A scalar's text (a key, or a value shown in a message).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::String(text) => Some(text.clone()),
            NodeValue::Bool(flag) => Some(flag.to_string()),
            NodeValue::Number(number) => Some(number.to_string()),
            NodeValue::Null => Some("null".into()),
            NodeValue::List(_) | NodeValue::Map(_) => None,
        }
    }

    /// The mapping's entries (none for any other node).
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            NodeValue::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries().iter().find(|(candidate, _)| candidate.as_str() == Some(key)).map(|(_, value)| value)
    }

    /// The key node of `key` in a mapping (for its line).
    pub fn key(&self, key: &str) -> Option<&Node> {
        self.entries().iter().find(|(candidate, _)| candidate.as_str() == Some(key)).map(|(key, _)| key)
    }

    /// As a JSON value (mapping keys as their text).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(flag) => Value::Bool(*flag),
            NodeValue::Number(number) => Value::Number(number.clone()),
            NodeValue::String(text) => Value::String(text.clone()),
            NodeValue::List(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries.iter().map(|(key, value)| (key.scalar_text().unwrap_or_default(), value.to_json())).collect(),
            ),
        }
    }

    /// The path (`plugins[0].pluginConfig`) of the node that starts at `line`, the rightmost one
    /// at or before `column` when several do.
    pub fn path_at(&self, line: u64, column: u64) -> Option<(String, &'static str)> {
        let mut best: Option<(u64, String, &'static str)> = None;
        self.visit("", &mut |node, path| {
            if node.line == line && (column == 0 || node.column <= column) && !path.is_empty() {
                let better = best.as_ref().is_none_or(|(best_column, _, _)| node.column >= *best_column);
                if better {
                    best = Some((node.column, path.to_string(), node.kind()));
                }
            }
        });
        best.map(|(_, path, kind)| (path, kind))
    }

    fn visit(&self, path: &str, visitor: &mut impl FnMut(&Node, &str)) {
        visitor(self, path);
        match &self.value {
            NodeValue::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    item.visit(&format!("{path}[{index}]"), visitor);
                }
            }
            NodeValue::Map(entries) => {
                for (key, value) in entries {
                    let name = shown(&key.scalar_text().unwrap_or_else(|| "?".into()));
                    let child = if path.is_empty() { name } else { format!("{path}.{name}") };
                    visitor(key, &child);
                    value.visit(&child, visitor);
                }
            }
            _ => {}
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<NodeValue>::deserialize(deserializer)?;
        Ok(Node { line: spanned.referenced.line(), column: spanned.referenced.column(), value: spanned.value })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = NodeValue;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a YAML value")
            }
            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<NodeValue, E> {
                Ok(NodeValue::Bool(value))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<NodeValue, E> {
                Ok(NodeValue::Number(value.into()))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<NodeValue, E> {
                Ok(NodeValue::Number(value.into()))
            }
            fn visit_i128<E: serde::de::Error>(self, value: i128) -> Result<NodeValue, E> {
                #[allow(clippy::cast_precision_loss)]
                self.visit_f64(value as f64)
            }
            fn visit_u128<E: serde::de::Error>(self, value: u128) -> Result<NodeValue, E> {
                #[allow(clippy::cast_precision_loss)]
                self.visit_f64(value as f64)
            }
            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<NodeValue, E> {
                serde_json::Number::from_f64(value)
                    .map(NodeValue::Number)
                    .ok_or_else(|| E::custom(format!("`{value}` is not a finite number")))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<NodeValue, E> {
                Ok(NodeValue::String(value.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, value: String) -> Result<NodeValue, E> {
                Ok(NodeValue::String(value))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<NodeValue, E> {
                Ok(NodeValue::Null)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<NodeValue, E> {
                Ok(NodeValue::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
                NodeValue::deserialize(deserializer)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Node>()? {
                    items.push(item);
                }
                Ok(NodeValue::List(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Node>()? {
                    let value = map.next_value::<Node>()?;
                    entries.push((key, value));
                }
                Ok(NodeValue::Map(entries))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Writes `value` as a block-style YAML document (no `---`, trailing newline).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    if is_inline(value) {
        out.push_str(&scalar(value));
        out.push('\n');
    } else {
        write_block(&mut out, value, 0);
    }
    out
}

/// Writes one item of a block sequence at `indent`: `- ` followed by the value, continuation
/// lines indented by two more spaces.
pub fn write_sequence_item(out: &mut String, value: &Value, indent: usize) {
    pad(out, indent);
    out.push_str("- ");
    if is_inline(value) {
        out.push_str(&scalar(value));
        out.push('\n');
        return;
    }
    let mut nested = String::new();
    write_block(&mut nested, value, indent + 2);
    out.push_str(&nested[indent + 2..]);
}

/// Writes a mapping or sequence in block style, every line starting at `indent` or deeper.
pub fn write_block(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pad(out, indent);
                out.push_str(&string_scalar(key));
                out.push(':');
                if is_inline(child) {
                    out.push(' ');
                    out.push_str(&block_or_scalar(child, indent + 2));
                    out.push('\n');
                } else {
                    out.push('\n');
                    write_block(out, child, indent + 2);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                write_sequence_item(out, item, indent);
            }
        }
        other => {
            pad(out, indent);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn is_inline(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => true,
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A scalar as a mapping value: multi-line strings become literal blocks indented at `indent`.
fn block_or_scalar(value: &Value, indent: usize) -> String {
    if let Value::String(text) = value
        && let Some(block) = literal_block(text, indent)
    {
        return block;
    }
    scalar(value)
}

fn literal_block(text: &str, indent: usize) -> Option<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let usable = text.contains('\n')
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\t'])
        && !body.is_empty()
        && body.chars().all(|character| character == '\n' || character == '\t' || !character.is_control())
        && body.lines().all(|line| line == line.trim_end());
    if !usable {
        return None;
    }
    let mut block = String::from(if text.ends_with('\n') { "|" } else { "|-" });
    for line in body.split('\n') {
        block.push('\n');
        if !line.is_empty() {
            pad(&mut block, indent);
            block.push_str(line);
        }
    }
    Some(block)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => string_scalar(text),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// A string as a plain scalar when every YAML 1.1 and 1.2 reader reads it back as the same
/// string, double-quoted otherwise.
pub fn string_scalar(text: &str) -> String {
    if is_plain_safe(text) { text.to_string() } else { double_quoted(text) }
}

fn double_quoted(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            control if control.is_control() => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(control));
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// Words some YAML reader turns into a boolean, null, merge key or special float.
const RESERVED_WORDS: [&str; 14] =
    ["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "=", ".inf", ".nan"];

fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if text != text.trim() || text.chars().any(char::is_control) {
        return false;
    }
    if "?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if first == '-' && (text.len() == 1 || text[1..].starts_with(' ')) {
        return false;
    }
    if text.contains(": ") || text.contains(" #") || text.ends_with(':') {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    if RESERVED_WORDS.contains(&lower.as_str()) || lower == "-.inf" || lower == "+.inf" {
        return false;
    }
    !looks_numeric(text)
}

/// Numbers, dates, times and sexagesimals in any YAML version start with a digit (after an
/// optional sign or dot) and use only these characters: quote all of them.
fn looks_numeric(text: &str) -> bool {
    let unsigned = text.trim_start_matches(['+', '-']);
    let unsigned = unsigned.strip_prefix('.').unwrap_or(unsigned);
    unsigned.starts_with(|character: char| character.is_ascii_digit())
        && text.chars().all(|character| character.is_ascii_hexdigit() || "_.:+-xXoObBtTzZ ".contains(character))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted() {
        for text in ["on", "No", "1.10", "0755", "2024-01-01", "", "~", "'self'", "- x", "a: b", "x #y", "12:30", "1e3"]
        {
            assert!(string_scalar(text).starts_with('"'), "{text} should be quoted");
        }
        for text in ["${SEGMENT_WRITE_KEY}", "https://cdn.segment.com", "1 / -1", "plain text", "v1.52.0", "-foo"] {
            assert_eq!(string_scalar(text), text);
        }
    }

    #[test]
    fn block_layout_matches_the_generated_index_style() {
        let value = json!({"backend": {"csp": {"script-src": ["'self'", "https://cdn.segment.com"]}},
                           "list": [{"a": 1, "b": [true]}, [], {}], "empty": {}});
        assert_eq!(
            to_string(&value),
            "backend:\n  csp:\n    script-src:\n      - \"'self'\"\n      - https://cdn.segment.com\n\
             list:\n  - a: 1\n    b:\n      - true\n  - []\n  - {}\nempty: {}\n"
        );
    }

    #[test]
    fn emitted_yaml_reads_back_equal() {
        let value = json!({"text": "line one\nline two\n", "strip": "a\n\nb", "odd": " lead\n", "n": 1.5,
                           "nested": [["x", "yes"], {"k": null}], "quote": "say \"hi\"\\"});
        let text = to_string(&value);
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let error = from_str::<Value>(Path::new("x.yaml"), "a: 1\nb: [\n").unwrap_err();
        assert_eq!(error.file.as_deref(), Some(Path::new("x.yaml")));
        assert!(error.line.is_some(), "{error}");
        let error = from_str::<Value>(Path::new("x.yaml"), "a: 1\na: 2\n").unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
        assert!(error.problem.contains("uplicate"), "{error}");
    }

    /// The parser's own words never reach a message: each of these leaked before.
    #[test]
    fn messages_carry_no_parser_internals() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Shape {
            list: Vec<String>,
        }
        let problem = |text: &str| from_str::<Shape>(Path::new("x.yaml"), text).unwrap_err().to_string();
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (index, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
            let previous = ["a", "b", "c", "d", "e", "f", "g", "h"][index];
            let aliases = vec![format!("*{previous}"); 10].join(", ");
            let _ = writeln!(bomb, "{name}: &{name} [{aliases}]");
        }
        bomb.push_str("list: *i\n");
        for (text, expected) in [
            ("list: [a]\nlist: [b]\n", "x.yaml:2: invalid YAML: duplicate key `list`"),
            ("list: [a]\n---\nlist: [b]\n", "more than one YAML document"),
            ("list: {a: 1}\n", "x.yaml:1: invalid YAML: wrong type at `list`: expected a list, found a mapping"),
            ("list:\n  - [a]\n", "wrong type at `list[0]`"),
            (bomb.as_str(), "too many aliases or nodes: the file would expand beyond 250000 nodes"),
            (&format!("list: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)), "too deeply nested"),
            ("\u{FEFF}list: []\n", "byte-order mark"),
            ("list:\n\t- a\n", "x.yaml:2: invalid YAML: a tab in the indentation"),
            ("# only\n# comments\n", "only comments"),
            ("list: [a\n", "invalid YAML"),
        ] {
            let message = problem(text);
            assert!(message.contains(expected), "{message} lacks {expected}");
            for internal in
                ["DuplicateKeyPolicy", "from_str_multiple", "Nodes {", "struct ", "budget breached", "scalar"]
            {
                assert!(!message.contains(internal), "{message} has {internal}");
            }
        }
        assert!(from_str::<Shape>(Path::new("x.yaml"), "list:\r\n  - a\r\n").is_ok(), "CRLF is fine");
    }

    #[test]
    fn the_tree_keeps_lines_and_strings() {
        let tree = parse_tree(Path::new("x.yaml"), "a:\n  - b: \"false\"\n    c: yes\n    d: true\n").unwrap();
        let item = &tree.get("a").unwrap().entries().to_vec();
        assert!(item.is_empty(), "a is a list");
        let NodeValue::List(items) = &tree.get("a").unwrap().value else { panic!("a list") };
        assert_eq!(items[0].line, 2);
        assert_eq!(items[0].get("b").unwrap().as_str(), Some("false"));
        assert_eq!(items[0].get("c").unwrap().as_str(), Some("yes"));
        assert_eq!(items[0].get("d").unwrap().value, NodeValue::Bool(true));
        assert_eq!(items[0].key("c").unwrap().line, 3);
    }
}
