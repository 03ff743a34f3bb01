//! JSON edge: typed reading with errors that name file and line, and the one pretty format we
//! write (two-space indent, keys in model order, trailing newline).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::InputError;

/// Parses `text` (the contents of `path`) into `T`.
pub(crate) fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::in_file(path, "file is empty").with_hint("the file must hold a JSON document"));
    }
    serde_json::from_str(text).map_err(|error| {
        let line = u64::try_from(error.line()).ok().filter(|line| *line > 0);
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(position) => message[..position].to_string(),
            None => message,
        };
        InputError::in_file(path, format!("invalid JSON: {message}")).at_line(line)
    })
}

/// Reads and parses the JSON file at `path`.
pub(crate) fn read<T: DeserializeOwned>(path: &Path) -> Result<T, InputError> {
    let text = crate::io::fs::read_text(path)?;
    from_str(path, &text)
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
}
