//! `workspaces/<ws>/plugins-list.yaml`: not YAML in practice but a line grammar,
//! `<path>:[ <rhdh-cli plugin export flags>]`; a `#` comment line disables an entry.
//! The raw lines are kept so the export step can rewrite the file keeping comments.

use std::path::Path;

use crate::error::InputError;
use crate::formats::relative_path::RelativePath;
use crate::formats::shown::shown;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginsList {
    pub lines: Vec<PluginsListLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginsListLine {
    /// An active entry: the plugin folder relative to the plugins root and its export flags.
    Entry(PluginEntry),
    /// A comment (a disabled entry or a note) or a blank line, kept verbatim.
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginEntry {
    pub path: RelativePath,
    pub flags: Vec<String>,
    /// 1-based line number in the file, for error messages.
    pub line: u64,
}

impl PluginsList {
    pub fn parse(file: &Path, text: &str) -> Result<Self, InputError> {
        let mut lines = Vec::new();
        let mut seen: Vec<&RelativePath> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line_number = index as u64 + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
                lines.push(PluginsListLine::Other(raw.to_string()));
                continue;
            }
            let bad_line = |problem: String| {
                InputError::in_file(file, problem)
                    .at_line(Some(line_number))
                    .with_hint("write `<plugin folder>:` optionally followed by `rhdh-cli plugin export` flags, or comment the line out with `#`")
            };
            let Some((path_text, rest)) = trimmed.split_once(':') else {
                return Err(bad_line(format!("`{}` has no `:` after the plugin folder", shown(trimmed))));
            };
            if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
                return Err(bad_line(format!("`{}` needs a space between `:` and the export flags", shown(trimmed))));
            }
            let flags_text = match rest.find(" #") {
                Some(position) => &rest[..position],
                None => rest,
            };
            let path = RelativePath::parse(path_text.trim())
                .map_err(|problem| bad_line(format!("plugin folder `{}` {problem}", shown(path_text))))?;
            let flags: Vec<String> = flags_text.split_whitespace().map(str::to_string).collect();
            if let Some(flag) = flags.iter().find(|flag| flag.contains(['`', '$', ';', '|', '&'])) {
                return Err(bad_line(format!("export flag `{}` contains a shell character", shown(flag))));
            }
            lines.push(PluginsListLine::Entry(PluginEntry { path, flags, line: line_number }));
        }
        for line in &lines {
            if let PluginsListLine::Entry(entry) = line {
                if seen.contains(&&entry.path) {
                    return Err(InputError::in_file(file, format!("plugin folder `{}` is listed twice", entry.path))
                        .at_line(Some(entry.line))
                        .with_hint("keep one line per plugin folder"));
                }
                seen.push(&entry.path);
            }
        }
        Ok(PluginsList { lines })
    }

    pub fn entries(&self) -> impl Iterator<Item = &PluginEntry> {
        self.lines.iter().filter_map(|line| match line {
            PluginsListLine::Entry(entry) => Some(entry),
            PluginsListLine::Other(_) => None,
        })
    }

    /// Renders the list back, keeping comments; entries are written as `<path>: <flags>`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            match line {
                PluginsListLine::Other(raw) => out.push_str(raw),
                PluginsListLine::Entry(entry) => {
                    out.push_str(entry.path.as_str());
                    out.push(':');
                    for flag in &entry.flags {
                        out.push(' ');
                        out.push_str(flag);
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PluginsList, InputError> {
        PluginsList::parse(Path::new("plugins-list.yaml"), text)
    }

    #[test]
    fn grammar_of_real_lines() {
        let list = parse(
            "plugins/techdocs-backend: --embed-package @backstage/plugin-search-backend-module-techdocs --suppress-native-package cpu-features\n\
             #plugins/app: ==> Added as a static plugin in RHDH\n\
             \n\
             plugins/frontend/backstage-plugin-jira:\n",
        )
        .unwrap();
        let entries: Vec<_> = list.entries().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].path.as_str(), "plugins/techdocs-backend");
        assert_eq!(entries[0].flags.len(), 4);
        assert_eq!(entries[1].path.as_str(), "plugins/frontend/backstage-plugin-jira");
        assert_eq!(entries[1].line, 4);
        assert!(entries[1].flags.is_empty());
    }

    #[test]
    fn render_round_trips() {
        let text = "# note\nplugins/a: --embed-package x\n#plugins/b:\nplugins/c:\n";
        assert_eq!(parse(text).unwrap().render(), text);
    }

    #[test]
    fn bad_lines_are_named() {
        let error = parse("plugins/a:\nplugins/b\n").unwrap_err();
        assert_eq!(error.line, Some(2));
        let error = parse("../escape:\n").unwrap_err();
        assert!(error.problem.contains(".."), "{error}");
        let error = parse("/abs/path:\n").unwrap_err();
        assert!(error.problem.contains("absolute"), "{error}");
        let error = parse("plugins/a:\nplugins/a: --x\n").unwrap_err();
        assert_eq!(error.line, Some(2));
        let error = parse("plugins/a:--flag\n").unwrap_err();
        assert!(error.problem.contains("space"), "{error}");
    }
}
