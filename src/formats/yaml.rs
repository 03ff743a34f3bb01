//! YAML edge: typed reading with errors that name file and line (serde-saphyr, duplicate keys
//! rejected), and a small deterministic block-style emitter for JSON-like values, used for every
//! YAML file we write so that the bytes are ours and stable.

use std::fmt::Write as _;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::InputError;

/// Parses `text` (the contents of `path`) into `T`; any syntax or shape problem is an
/// [`InputError`] naming the file and the line.
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::in_file(path, "file is empty").with_hint("the file must hold a YAML document"));
    }
    serde_saphyr::from_str::<T>(text).map_err(|error| {
        let line = error.location().map(|location| location.line()).filter(|line| *line > 0);
        let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        let message = strip_location_suffix(&error.render_with_options(options));
        InputError::in_file(path, format!("invalid YAML: {message}")).at_line(line)
    })
}

/// Reads and parses the YAML file at `path`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, InputError> {
    let text = crate::io::fs::read_text(path)?;
    from_str(path, &text)
}

/// serde-saphyr appends " at line L column C"; we print the line ourselves after the file name.
fn strip_location_suffix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message).trim();
    match first_line.rfind(" at line ") {
        Some(position) => first_line[..position].to_string(),
        None => first_line.to_string(),
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
}
