//! JSON edge: typed reading with errors that name file and line, and the one pretty format we
//! write (two-space indent, keys in model order, trailing newline).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::InputError;
use crate::formats::shown::shown;

/// Parses `text` (the contents of `path`) into `T`; a problem is named in the file's own terms
/// with its line (and the path of the value for a wrong type).
pub(crate) fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::in_file(path, "file is empty").with_hint("the file must hold a JSON document"));
    }
    if text.starts_with('\u{FEFF}') {
        return Err(InputError::in_file(path, "the file starts with a byte-order mark (U+FEFF)")
            .at_line(Some(1))
            .with_hint("save the file as UTF-8 without a byte-order mark"));
    }
    serde_json::from_str(text).map_err(|error| translate(path, text, &error))
}

/// A JSON error of `text` in the file's terms, `line N: problem`, for callers with their own
/// error type (the OCI layout store names its `index.json`).
pub(crate) fn describe(text: &str, error: &serde_json::Error) -> String {
    let translated = translate(Path::new(""), text, error);
    match translated.line {
        Some(line) => format!("line {line}: {}", translated.problem),
        None => translated.problem,
    }
}

/// The deepest nesting `serde_json` reads.
const MAX_DEPTH: usize = 128;

fn translate(path: &Path, text: &str, error: &serde_json::Error) -> InputError {
    let line = u64::try_from(error.line()).ok().filter(|line| *line > 0);
    let column = error.column() as u64;
    let message = error.to_string();
    let message = match message.rfind(" at line ") {
        Some(position) => message[..position].to_string(),
        None => message,
    };
    let (problem, hint) = match error.classify() {
        serde_json::error::Category::Eof => (
            format!("invalid JSON: EOF: the file ends in the middle of {}", eof_inside(&message)),
            Some("the file looks cut off; write it out again".to_string()),
        ),
        serde_json::error::Category::Syntax => syntax_problem(text, line, column, &message),
        serde_json::error::Category::Data => data_problem(text, line, column, &message),
        serde_json::error::Category::Io => (format!("invalid JSON: {message}"), None),
    };
    let hint = hint.or_else(|| crate::formats::yaml::shape_hint(&problem));
    let problem = if problem.starts_with("invalid JSON") { problem } else { format!("invalid JSON: {problem}") };
    let mut input_error = InputError::in_file(path, problem).at_line(line);
    if let Some(hint) = hint {
        input_error = input_error.with_hint(hint);
    }
    input_error
}

fn eof_inside(message: &str) -> &'static str {
    if message.contains("object") {
        "an object"
    } else if message.contains("list") {
        "a list"
    } else if message.contains("string") {
        "a string"
    } else {
        "a value"
    }
}

/// The text at the error's line, from `column` (1-based) on.
fn rest_of_line(text: &str, line: Option<u64>, column: u64) -> &str {
    let Some(source) = line.and_then(|line| text.lines().nth(usize::try_from(line).ok()?.checked_sub(1)?)) else {
        return "";
    };
    let start = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
    source.char_indices().nth(start).map_or("", |(offset, _)| &source[offset..])
}

fn syntax_problem(text: &str, line: Option<u64>, column: u64, message: &str) -> (String, Option<String>) {
    let here = rest_of_line(text, line, column);
    if message.starts_with("trailing comma") {
        return (
            "invalid JSON: trailing comma (a `,` before `}` or `]`)".into(),
            Some("remove the last `,`; JSON allows none there".into()),
        );
    }
    if message.starts_with("recursion limit") {
        return (
            format!("too deeply nested: more than {MAX_DEPTH} levels of objects and lists"),
            Some("no file of this kind nests that deep; check how it was generated".into()),
        );
    }
    if here.starts_with("//") || here.starts_with("/*") {
        return ("invalid JSON: a comment; JSON has no comments".into(), Some("remove the comment".into()));
    }
    for word in ["NaN", "Infinity", "-Infinity", "+Infinity", "undefined"] {
        if here.starts_with(word) {
            return (
                format!("invalid JSON: `{word}` is not a JSON value"),
                Some("write a number, or quote the value if it is text".into()),
            );
        }
    }
    if message.starts_with("key must be a string") {
        return (
            "invalid JSON: a key that is not a double-quoted string".into(),
            Some("quote every key with `\"`".into()),
        );
    }
    if message.starts_with("control character") {
        return (
            "invalid JSON: a control character inside a string".into(),
            Some("write it as an escape (`\\n`, `\\u0000`)".into()),
        );
    }
    (format!("invalid JSON: {}", shown(message)), None)
}

fn data_problem(text: &str, line: Option<u64>, column: u64, message: &str) -> (String, Option<String>) {
    let at = || path_at(text, line, column).map_or_else(String::new, |path| format!(" at `{path}`"));
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return (
            format!("wrong type{}: expected {}, found {}", at(), expected_words(expected), found_words(found)),
            None,
        );
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((_, expected)) = rest.split_once(", expected ")
    {
        let expected = expected_words(expected);
        let problem = if expected == "an object" {
            format!("wrong type{}: expected an object, found a list", at())
        } else {
            format!("wrong number of items{}: expected {expected}", at())
        };
        return (problem, None);
    }
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        return crate::formats::yaml::unknown_key_problem("field", field, &known);
    }
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return (
            format!("duplicate key `{}`", shown(field)),
            Some(format!("keep one `\"{}\"` in this object", shown(field))),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return (format!("invalid value{}: {}, expected {}", at(), found_words(found), expected_words(expected)), None);
    }
    (message.to_string(), None)
}

/// The JSON path of the value at the error's position: JSON is YAML, so the YAML tree (which
/// keeps every value's line and column) of the same text names it.
fn path_at(text: &str, line: Option<u64>, column: u64) -> Option<String> {
    let tree: crate::formats::yaml::Node = serde_saphyr::from_str(text).ok()?;
    tree.path_at(line?, column).map(|(path, _)| path)
}

fn expected_words(expected: &str) -> String {
    match crate::formats::yaml::expected_words(expected).as_str() {
        "a mapping" => "an object".to_string(),
        other => other.to_string(),
    }
}

fn found_words(found: &str) -> String {
    let found = found.trim();
    for (prefix, word) in [("map", "an object"), ("sequence", "a list"), ("null", "null"), ("unit", "null")] {
        if found.starts_with(prefix) {
            return word.to_string();
        }
    }
    for (prefix, word) in
        [("string ", "the string "), ("integer ", "the number "), ("floating point ", "the number "), ("boolean ", "")]
    {
        if let Some(value) = found.strip_prefix(prefix) {
            let value = value.trim_matches('`');
            return format!("{word}{}", shown(value.trim_matches('"')));
        }
    }
    shown(found)
}

/// Serializes with two-space indentation and a trailing newline.
pub(crate) fn to_pretty<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own models into a Vec cannot fail: every map key is a string.
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_line() {
        let error = from_str::<serde_json::Value>(Path::new("s.json"), "{\n\"a\": 1,\n}").unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.to_string().starts_with("s.json:3: invalid JSON: trailing comma"), "{error}");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Layout {
        manifests: Vec<Manifest>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Manifest {
        digest: String,
        size: u64,
        media: String,
    }

    fn problem(text: &str) -> String {
        from_str::<Layout>(Path::new("l.json"), text).unwrap_err().to_string()
    }

    #[test]
    fn messages_are_in_the_files_terms() {
        let message = problem("{\"manifests\": [[]]}");
        assert!(message.contains("wrong type at `manifests[0]`: expected an object, found a list"), "{message}");
        assert!(!message.contains("struct"), "{message}");
        let message = problem("{\"manifests\": [{\"digest\": 7, \"size\": 1, \"media\": \"x\"}]}");
        assert!(
            message.contains("wrong type at `manifests[0].digest`: expected a string, found the number 7"),
            "{message}"
        );
        let message = problem("{\"manifest\": []}");
        assert!(
            message.contains("unknown field `manifest`") && message.contains("did you mean `manifests`"),
            "{message}"
        );
        assert!(problem("{\"manifests\": NaN}").contains("`NaN` is not a JSON value"));
        assert!(problem("{\"manifests\": [] // x\n}").contains("a comment"));
        assert!(problem("\u{FEFF}{}").contains("byte-order mark"));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let message = from_str::<serde_json::Value>(Path::new("l.json"), &deep).unwrap_err().to_string();
        assert!(message.contains("too deeply nested"), "{message}");
        assert!(problem("{\"manifests\": [").contains("EOF: the file ends in the middle of a list"));
    }
}
