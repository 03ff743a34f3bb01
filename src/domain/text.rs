//! Text helpers shared by error messages and reports (pure; no I/O).

/// The first `shown` items joined with `, `, then ` and N more` when there are others: long lists
/// in one-line messages stay readable (a missing-image error at 10× scale names over a thousand).
pub(crate) fn first_items<S: AsRef<str>>(items: &[S], shown: usize) -> String {
    let listed: Vec<&str> = items.iter().take(shown).map(AsRef::as_ref).collect();
    let more = items.len().saturating_sub(listed.len());
    let suffix = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("{}{suffix}", listed.join(", "))
}

/// Text that markdown (`CommonMark` as GitHub and GitLab render it) shows as it is, on one line:
/// the characters that could open markup, HTML, a link, an entity or a table cell are
/// backslash-escaped, control characters and line breaks become spaces, and a word starting with
/// `@` (a live mention on GitHub) is put in a code span. For text from files, logs and registries:
/// plugin names, causes, branch names.
pub(crate) fn markdown_text(text: &str) -> String {
    let flat: String = text.chars().map(|character| if character.is_control() { ' ' } else { character }).collect();
    flat.split(' ')
        .map(|word| {
            let mention = word.char_indices().any(|(position, character)| {
                character == '@'
                    && word[..position].chars().next_back().is_none_or(|before| !before.is_alphanumeric())
                    && word[position + 1..].chars().next().is_some_and(char::is_alphanumeric)
            });
            if mention { markdown_code(word) } else { escape_markdown(word) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn escape_markdown(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for character in word.chars() {
        if matches!(character, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '!' | '{' | '}') {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

/// Prose from our messages and from content: [`markdown_text`], except that a `` `quoted` `` part
/// (how causes quote commands and values) becomes a code span, which shows it as it is too.
pub(crate) fn markdown_prose(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return markdown_text(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| if index % 2 == 1 { markdown_code(part) } else { markdown_text(part) })
        .collect()
}

/// An inline code span showing `text` as it is, on one line (markdown renders nothing inside:
/// no HTML, link, emphasis or mention): the fence is one backtick longer than any run in the text.
pub(crate) fn markdown_code(text: &str) -> String {
    let text: String = text.chars().map(|character| if character.is_control() { ' ' } else { character }).collect();
    let longest = text.split(|character| character != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest == 0 { format!("`{text}`") } else { format!("{fence} {text} {fence}") }
}

/// Lines shown as they are: a fenced code block whose fence no line can close.
pub(crate) fn markdown_block(lines: &[String]) -> String {
    let longest = lines
        .iter()
        .flat_map(|line| line.split(|character| character != '`').map(str::len).collect::<Vec<_>>())
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(3.max(longest + 1));
    let mut out = format!("{fence}text\n");
    for line in lines {
        let line: String = line
            .chars()
            .map(|character| if character.is_control() && character != '\t' { ' ' } else { character })
            .collect();
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_renders_as_text() {
        assert_eq!(markdown_text("plain words, 1.10.0--2.0.0"), "plain words, 1.10.0--2.0.0");
        assert_eq!(markdown_text("<img src=x onerror=alert(1)>"), "\\<img src=x onerror=alert(1)\\>");
        assert_eq!(markdown_text("[click](javascript:alert(1))"), "\\[click\\](javascript:alert(1))");
        assert_eq!(markdown_text("ping @octocat now"), "ping `@octocat` now");
        assert_eq!(markdown_text("mail a@b.c"), "mail a@b.c");
        assert_eq!(markdown_text("a|b\nc"), "a\\|b c");
        assert_eq!(markdown_text("&lt;"), "\\&lt;");
        assert_eq!(markdown_code("a`b"), "`` a`b ``");
        assert_eq!(markdown_prose("`yarn tsc` exited <2>"), "`yarn tsc` exited \\<2\\>");
        assert_eq!(markdown_prose("an odd ` stays"), "an odd \\` stays");
        assert_eq!(markdown_code("<details open>"), "`<details open>`");
        assert_eq!(markdown_block(&["```".to_string()]), "````text\n```\n````\n");
    }

    #[test]
    fn lists_everything_when_short_and_counts_the_rest_when_long() {
        assert_eq!(first_items(&["a", "b"], 3), "a, b");
        assert_eq!(first_items(&["a", "b", "c"], 3), "a, b, c");
        assert_eq!(first_items(&["a", "b", "c", "d", "e"], 2), "a, b and 3 more");
        assert_eq!(first_items::<&str>(&[], 2), "");
    }
}
