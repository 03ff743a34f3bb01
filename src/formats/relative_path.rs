//! A path that must stay inside the folder it is relative to: no `..`, not absolute, no empty or
//! `.` components. Every path read from an input file goes through this type before it is joined.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelativePath(String);

/// Characters a shell treats specially: no folder the pipeline names holds one, and a path that
/// does is refused before it can reach a command line.
pub(crate) const SHELL_CHARACTERS: &str = "$`;|&<>\"'(){}*?!#~";

impl RelativePath {
    /// Checks `text`; the error says what is wrong, for the caller to put in context.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("is empty".to_string());
        }
        if text.starts_with('/') || text.starts_with('\\') || Path::new(text).is_absolute() {
            return Err("is an absolute path; give a path relative to its folder".to_string());
        }
        if text.contains('\\') || text.contains('\0') {
            return Err("contains a backslash or NUL character".to_string());
        }
        if let Some(character) = text.chars().find(|character| character.is_control() || character.is_whitespace()) {
            return Err(format!(
                "contains {} (a space or control character); folder names here have none",
                crate::formats::shown::code_point(character)
            ));
        }
        if let Some(character) = text.chars().find(|character| SHELL_CHARACTERS.contains(*character)) {
            return Err(format!(
                "contains `{character}`, a shell character; folder names here are letters, digits, `-`, `_`, `.`, `@`, `+` and `/`"
            ));
        }
        let trimmed = text.trim_end_matches('/');
        for component in trimmed.split('/') {
            match component {
                ".." => return Err("contains `..` and would leave its folder".to_string()),
                "" | "." => return Err("has an empty or `.` component".to_string()),
                // A file copied into `.git` becomes repository machinery (hooks run on commit).
                component if component.eq_ignore_ascii_case(".git") => {
                    return Err("goes into a `.git` folder, which holds repository machinery, not content".to_string());
                }
                _ => {}
            }
        }
        Ok(RelativePath(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn join_to(&self, base: &Path) -> PathBuf {
        base.join(&self.0)
    }
}

impl fmt::Display for RelativePath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl serde::Serialize for RelativePath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for RelativePath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RelativePath::parse(&text).map_err(|problem| serde::de::Error::custom(format!("path `{text}` {problem}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escapes() {
        assert!(RelativePath::parse("a/../../b").is_err());
        assert!(RelativePath::parse("/etc/passwd").is_err());
        assert!(RelativePath::parse("a//b").is_err());
        assert!(RelativePath::parse(".git/hooks").is_err());
        assert!(RelativePath::parse("overlay/.GIT").is_err());
        assert!(RelativePath::parse(".github/workflows").is_ok());
        assert_eq!(RelativePath::parse("plugins/x/").unwrap().as_str(), "plugins/x");
        for hostile in ["a/$(touch x)", "a/`id`", "a;b", "a b", "a\nb", "a\tb", "a|b", "a&b"] {
            assert!(RelativePath::parse(hostile).is_err(), "{hostile:?}");
        }
        assert!(RelativePath::parse("plugins/@scope+x/a_b-c.d").is_ok());
    }
}
