//! Text from an input file as a message may show it: a control, format or non-ASCII character as
//! its code point (`U+0430`), never raw, so a confusable (Cyrillic `а` for Latin `a`) or a NUL is
//! visible in a pipeline log; very long values cut with their length named.

use std::fmt::Write as _;

/// Characters shown before a value is cut.
const SHOWN_CHARACTERS: usize = 120;

/// `text` with every character outside printable ASCII written as `U+XXXX`, cut after
/// [`SHOWN_CHARACTERS`] characters with ` … (N characters)`.
pub fn shown(text: &str) -> String {
    let mut out = String::new();
    for character in text.chars().take(SHOWN_CHARACTERS) {
        push_shown(&mut out, character);
    }
    let total = text.chars().count();
    if total > SHOWN_CHARACTERS {
        let _ = write!(out, "… ({total} characters)");
    }
    out
}

/// One character as [`shown`] writes it.
pub fn code_point(character: char) -> String {
    if character.is_ascii_graphic() { character.to_string() } else { format!("U+{:04X}", u32::from(character)) }
}

fn push_shown(out: &mut String, character: char) {
    if character.is_ascii_graphic() || character == ' ' {
        out.push(character);
    } else {
        let _ = write!(out, "U+{:04X}", u32::from(character));
    }
}

/// The first character of `text` outside printable ASCII, with its position (in characters).
pub fn first_unusual(text: &str) -> Option<(usize, char)> {
    text.chars().enumerate().find(|(_, character)| !(character.is_ascii_graphic() || *character == ' '))
}

/// A sentence naming the first character outside printable ASCII, for messages about names and
/// references, e.g. `U+0430 at position 7 is not an ASCII character (a look-alike of an ASCII letter?)`.
pub fn unusual_character_note(text: &str) -> Option<String> {
    let (position, character) = first_unusual(text)?;
    let kind = if character.is_control() {
        "a control character"
    } else if character.is_ascii() {
        "not a printable character"
    } else if character.is_alphanumeric() {
        "not an ASCII character (it may look like one)"
    } else {
        "not an ASCII character"
    };
    Some(format!("{} at position {} is {kind}", code_point(character), position + 1))
}

/// The known name closest to `key` by edit distance (case-insensitive), when it is close enough
/// to be a typo: at most 2 edits, or 1 for names of 4 characters or fewer.
pub fn did_you_mean<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_lowercase();
    known
        .iter()
        .map(|candidate| (edit_distance(&lower, &candidate.to_lowercase()), *candidate))
        .filter(|(distance, candidate)| *distance <= if candidate.len() <= 4 { 1 } else { 2 })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, in characters (inputs are keys: short).
pub fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_character) in left.chars().enumerate() {
        let mut current = vec![row + 1];
        for (column, right_character) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_character != *right_character);
            current.push(substitution.min(previous[column + 1] + 1).min(current[column] + 1));
        }
        previous = current;
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusables_and_controls_are_code_points() {
        assert_eq!(shown("quay.io/rh\u{0430}dh"), "quay.io/rhU+0430dh");
        assert_eq!(shown("a\0b\tc\n"), "aU+0000bU+0009cU+000A");
        assert_eq!(shown("plain text"), "plain text");
        let long = "a".repeat(300_000);
        let text = shown(&long);
        assert!(text.len() < 200, "{text}");
        assert!(text.ends_with("… (300000 characters)"), "{text}");
        assert_eq!(
            unusual_character_note("t\u{0430}").as_deref(),
            Some("U+0430 at position 2 is not an ASCII character (it may look like one)")
        );
        assert_eq!(unusual_character_note("ok"), None);
    }

    #[test]
    fn typos_find_their_key() {
        let known = ["package", "disabled", "enabled", "integrity", "pluginConfig", "pullPolicy", "forceDownload"];
        assert_eq!(did_you_mean("disable", &known), Some("disabled"));
        assert_eq!(did_you_mean("pluginconfig", &known), Some("pluginConfig"));
        assert_eq!(did_you_mean("pakage", &known), Some("package"));
        assert_eq!(did_you_mean("title", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
