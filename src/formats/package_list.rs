//! `rhdh-supported-packages.txt` / `rhdh-community-packages.txt`: one `<workspace>/<plugin path>`
//! per line; `#` comments and blank lines ignored.

use std::path::Path;

use crate::error::InputError;
use crate::formats::relative_path::RelativePath;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackageListEntry {
    pub(crate) workspace: String,
    /// Path of the plugin folder inside the workspace's plugins root.
    pub(crate) path: RelativePath,
    pub(crate) line: u64,
}

/// The fix of a line that is no `<workspace>/<plugin path>`.
const LINE_HINT: &str =
    "write `<workspace>/<path inside the workspace>`, e.g. adoption-insights/plugins/adoption-insights";

pub(crate) fn parse(file: &Path, text: &str) -> Result<Vec<PackageListEntry>, InputError> {
    let mut entries: Vec<PackageListEntry> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index as u64 + 1;
        let trimmed = raw.split(" #").next().unwrap_or_default().trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let full = RelativePath::parse(trimmed).map_err(|problem| {
            InputError::in_file(file, format!("`{}` {problem}", crate::formats::shown::shown(trimmed)))
                .at_line(Some(line))
                .with_hint(LINE_HINT)
        })?;
        let Some((workspace, path)) = full.as_str().split_once('/') else {
            return Err(InputError::in_file(file, format!("`{trimmed}` has no plugin path after the workspace"))
                .at_line(Some(line))
                .with_hint(
                    "write `<workspace>/<path inside the workspace>`, e.g. adoption-insights/plugins/adoption-insights",
                ));
        };
        let path = RelativePath::parse(path)
            .map_err(|problem| InputError::in_file(file, problem).at_line(Some(line)).with_hint(LINE_HINT))?;
        if entries.iter().any(|seen| seen.workspace == workspace && seen.path == path) {
            return Err(InputError::in_file(file, format!("`{trimmed}` is listed twice"))
                .at_line(Some(line))
                .with_hint("list each plugin once"));
        }
        entries.push(PackageListEntry { workspace: workspace.to_string(), path, line });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let entries = parse(
            Path::new("l.txt"),
            "# c\n\nadoption-insights/plugins/adoption-insights\nbackstage/plugins/x # why\n",
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].workspace, "backstage");
        assert_eq!(entries[1].path.as_str(), "plugins/x");
        assert!(parse(Path::new("l.txt"), "justworkspace\n").is_err());
        assert!(parse(Path::new("l.txt"), "a/../../etc\n").is_err());
    }
}
