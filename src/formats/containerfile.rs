//! `version` and `release` in Containerfiles: `ENV` and `LABEL` instructions carry them as
//! `key=value` pairs (quoted or not, several per line, continued lines). We change only those
//! values and leave every other byte as it was.

/// The result of rewriting one Containerfile.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Rewritten {
    pub(crate) text: String,
    /// How many `version=` / `release=` values were found (changed or not).
    pub(crate) found: usize,
}

/// Sets every `version=` and `release=` of `ENV`/`LABEL` instructions.
pub(crate) fn set_version_and_release(text: &str, version: &str, release: &str) -> Rewritten {
    let mut out = String::with_capacity(text.len() + 16);
    let mut found = 0;
    let mut in_instruction = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let keyword = trimmed.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let starts = keyword == "ENV" || keyword == "LABEL";
        let is_comment = trimmed.starts_with('#');
        if !starts && (!in_instruction || is_comment) {
            out.push_str(line);
            continue;
        }
        let (body, ending) = split_ending(line);
        let (rewritten, count) = rewrite_pairs(body, version, release);
        found += count;
        out.push_str(&rewritten);
        out.push_str(ending);
        in_instruction = body.trim_end().ends_with('\\');
    }
    Rewritten { text: out, found }
}

fn split_ending(line: &str) -> (&str, &str) {
    if let Some(body) = line.strip_suffix("\r\n") {
        (body, "\r\n")
    } else if let Some(body) = line.strip_suffix('\n') {
        (body, "\n")
    } else {
        (line, "")
    }
}

/// Replaces the values of `version=` and `release=` tokens in one line.
fn rewrite_pairs(line: &str, version: &str, release: &str) -> (String, usize) {
    let mut out = String::with_capacity(line.len());
    let mut count = 0;
    let mut rest = line;
    while !rest.is_empty() {
        let boundary = out.is_empty() || out.ends_with(char::is_whitespace);
        let key = ["version=", "release="].into_iter().find(|key| boundary && rest.starts_with(key));
        let Some(key) = key else {
            let mut characters = rest.chars();
            if let Some(character) = characters.next() {
                out.push(character);
            }
            rest = characters.as_str();
            continue;
        };
        out.push_str(key);
        rest = &rest[key.len()..];
        let value = if key == "version=" { version } else { release };
        let quote = rest.chars().next().filter(|character| *character == '"' || *character == '\'');
        let old_length = match quote {
            Some(quote) => rest[1..].find(quote).map_or(rest.len(), |end| end + 2),
            None => rest.find(char::is_whitespace).unwrap_or(rest.len()),
        };
        match quote {
            Some(quote) => {
                out.push(quote);
                out.push_str(value);
                out.push(quote);
            }
            None => out.push_str(value),
        }
        rest = &rest[old_length..];
        count += 1;
    }
    (out, count)
}

/// The first `release=` value of a Containerfile, if any.
pub(crate) fn current_release(text: &str) -> Option<u64> {
    text.lines()
        .filter(|line| {
            let keyword = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
            keyword == "ENV" || keyword == "LABEL" || line.trim_start().starts_with("release=")
        })
        .find_map(|line| {
            let start = line.find("release=")? + "release=".len();
            let value: String =
                line[start..].trim_start_matches(['"', '\'']).chars().take_while(char::is_ascii_digit).collect();
            value.parse().ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_version_and_release_values_change() {
        let text = "FROM registry.access.redhat.com/ubi9/nodejs-22:latest\n# LABEL release=0 (a comment)\nENV version=1.9.0 \\\n    release=\"4\" \\\n    other=keep\nLABEL name=\"rhdh/plugin-catalog-index\" version='1.9.0' release=4 summary=\"release=notes\"\nRUN echo version=1\n";
        let rewritten = set_version_and_release(text, "1.10.0", "5");
        assert_eq!(
            rewritten.text,
            "FROM registry.access.redhat.com/ubi9/nodejs-22:latest\n# LABEL release=0 (a comment)\nENV version=1.10.0 \\\n    release=\"5\" \\\n    other=keep\nLABEL name=\"rhdh/plugin-catalog-index\" version='1.10.0' release=5 summary=\"release=notes\"\nRUN echo version=1\n"
        );
        assert_eq!(rewritten.found, 4);
        assert_eq!(current_release(text), Some(4));
    }
}
