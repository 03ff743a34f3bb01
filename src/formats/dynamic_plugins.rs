//! `dynamic-plugins.default.yaml` (DPDY) and users' `dynamic-plugins.yaml`: the list of plugins an
//! RHDH installation installs. Reading is serde; writing goes through our emitter because entries
//! carry comment lines (`# Tag: …`, the commented OCI alternative) that serde cannot express.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::InputError;
use crate::formats::shown::shown;
use crate::formats::yaml::{Node, NodeValue};

/// The keys the installers read at the top of a file.
pub const FILE_KEYS: [&str; 2] = ["includes", "plugins"];
/// The keys the installers read in a plugin entry.
pub const ENTRY_KEYS: [&str; 7] =
    ["package", "disabled", "enabled", "integrity", "pluginConfig", "pullPolicy", "forceDownload"];
/// The values of `pullPolicy`.
pub const PULL_POLICIES: [&str; 2] = ["Always", "IfNotPresent"];

/// A `dynamic-plugins*.yaml` as the installer reads it.
#[derive(Clone, Debug, Default)]
pub struct DynamicPluginsFile {
    pub includes: Vec<String>,
    /// The line of each include, in the order of `includes`.
    pub include_lines: Vec<Option<u64>>,
    pub plugins: Vec<DynamicPluginEntry>,
}

#[derive(Clone, Debug)]
pub struct DynamicPluginEntry {
    pub package: String,
    pub disabled: Option<bool>,
    pub enabled: Option<bool>,
    pub integrity: Option<String>,
    pub plugin_config: Option<Value>,
    pub pull_policy: Option<String>,
    pub force_download: Option<bool>,
    /// The line of the entry's `- ` (1-based; `None` when unknown).
    pub line: Option<u64>,
    /// The line of its `package:`.
    pub package_line: Option<u64>,
}

impl DynamicPluginEntry {
    /// The installer's rule: `enabled` (TypeScript installer) wins over `disabled`.
    pub fn is_disabled(&self) -> bool {
        match (self.enabled, self.disabled) {
            (Some(enabled), _) => !enabled,
            (None, disabled) => disabled.unwrap_or(false),
        }
    }
}

/// Something in the file's shape the installer would misread or refuse, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeProblem {
    pub line: Option<u64>,
    pub problem: String,
    pub hint: Option<String>,
}

impl ShapeProblem {
    fn at(node: &Node, problem: impl Into<String>, hint: impl Into<String>) -> Self {
        ShapeProblem { line: node.line(), problem: problem.into(), hint: Some(hint.into()) }
    }
}

impl DynamicPluginsFile {
    /// Reads the file strictly: any [`ShapeProblem`] is an [`InputError`] naming its line (the
    /// first one, with the count of the others).
    pub fn parse(file: &Path, text: &str) -> Result<Self, InputError> {
        let (parsed, problems) = Self::parse_checked(file, text)?;
        match problems.first() {
            None => Ok(parsed),
            Some(first) => {
                let more = match problems.len() - 1 {
                    0 => String::new(),
                    1 => " (and 1 more problem in the file)".to_string(),
                    more => format!(" (and {more} more problems in the file)"),
                };
                let mut error =
                    InputError::in_file(file, format!("invalid YAML: {}{more}", first.problem)).at_line(first.line);
                if let Some(hint) = &first.hint {
                    error = error.with_hint(hint.clone());
                }
                Err(error)
            }
        }
    }

    /// Reads the file and lists every shape problem (unknown keys, wrong types, a boolean
    /// written as a string); entries with a problem keep what could be read.
    pub fn parse_checked(file: &Path, text: &str) -> Result<(Self, Vec<ShapeProblem>), InputError> {
        let root = crate::formats::yaml::parse_tree(file, text)?;
        let mut problems = Vec::new();
        let mut parsed = DynamicPluginsFile::default();
        if !matches!(root.value, NodeValue::Map(_)) {
            return Err(InputError::in_file(
                file,
                format!("invalid YAML: the file holds {}, expected a mapping with `plugins:`", root.kind()),
            )
            .at_line(root.line().or(Some(1)))
            .with_hint("write `plugins:` followed by the list of plugin entries"));
        }
        unknown_keys(&root, &FILE_KEYS, "the top of the file", &mut problems);
        if let Some(includes) = root.get("includes") {
            match &includes.value {
                NodeValue::List(items) => {
                    for item in items {
                        match item.as_str() {
                            Some(include) => {
                                parsed.includes.push(include.to_string());
                                parsed.include_lines.push(item.line());
                            }
                            None => problems.push(ShapeProblem::at(
                                item,
                                format!("wrong type at `includes`: an item is {}, expected a file name", item.kind()),
                                "list file names, e.g. `includes: [dynamic-plugins.default.yaml]`",
                            )),
                        }
                    }
                }
                NodeValue::Null => {}
                _ => problems.push(ShapeProblem::at(
                    includes,
                    format!("wrong type at `includes`: expected a list, found {}", includes.kind()),
                    "write `includes: [dynamic-plugins.default.yaml]`",
                )),
            }
        }
        match root.get("plugins") {
            None => problems.push(ShapeProblem {
                line: Some(1),
                problem: "no `plugins:` key; the installer finds no plugin list in this file".into(),
                hint: Some("add `plugins:` with the plugin entries, or `plugins: []`".into()),
            }),
            Some(plugins) => match &plugins.value {
                NodeValue::List(items) => {
                    for (index, item) in items.iter().enumerate() {
                        if let Some(entry) = entry_of(item, index, &mut problems) {
                            parsed.plugins.push(entry);
                        }
                    }
                }
                _ => problems.push(ShapeProblem::at(
                    plugins,
                    format!("wrong type at `plugins`: expected a list, found {}", plugins.kind()),
                    "write `plugins:` followed by entries `- package: …`, or `plugins: []`",
                )),
            },
        }
        Ok((parsed, problems))
    }
}

fn unknown_keys(mapping: &Node, known: &[&str], where_: &str, problems: &mut Vec<ShapeProblem>) {
    for (key, _) in mapping.entries() {
        let text = key.scalar_text().unwrap_or_else(|| key.kind().to_string());
        if key.as_str().is_some_and(|key| known.contains(&key)) {
            continue;
        }
        let hint = match crate::formats::shown::did_you_mean(&text, known) {
            Some(close) => format!("did you mean `{close}`? The installer ignores unknown keys"),
            None => format!(
                "the installer reads only {}",
                known.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ")
            ),
        };
        problems.push(ShapeProblem {
            line: key.line(),
            problem: format!("unknown key `{}` in {where_}", shown(&text)),
            hint: Some(hint),
        });
    }
}

fn entry_of(item: &Node, index: usize, problems: &mut Vec<ShapeProblem>) -> Option<DynamicPluginEntry> {
    let path = format!("plugins[{index}]");
    if !matches!(item.value, NodeValue::Map(_)) {
        problems.push(ShapeProblem::at(
            item,
            format!("wrong type at `{path}`: expected a mapping with `package:`, found {}", item.kind()),
            "write each entry as `- package: <reference>`",
        ));
        return None;
    }
    unknown_keys(item, &ENTRY_KEYS, &format!("`{path}`"), problems);
    let package = match item.get("package") {
        None => {
            problems.push(ShapeProblem::at(
                item,
                format!("missing field `package` in `{path}`"),
                "every entry names its `package`",
            ));
            return None;
        }
        Some(node) => match node.as_str() {
            Some(package) if !package.trim().is_empty() => package.to_string(),
            Some(_) => {
                problems.push(ShapeProblem::at(node, format!("`{path}.package` is empty"), "name the plugin package"));
                return None;
            }
            None => {
                problems.push(ShapeProblem::at(
                    node,
                    format!("wrong type at `{path}.package`: expected a string, found {}", node.kind()),
                    "write the package reference as a string",
                ));
                return None;
            }
        },
    };
    let string_field = |key: &str, problems: &mut Vec<ShapeProblem>| -> Option<String> {
        let node = item.get(key)?;
        match &node.value {
            NodeValue::String(text) => Some(text.clone()),
            NodeValue::Null => None,
            _ => {
                problems.push(ShapeProblem::at(
                    node,
                    format!("wrong type at `{path}.{key}`: expected a string, found {}", node.kind()),
                    "quote the value",
                ));
                None
            }
        }
    };
    let integrity = string_field("integrity", problems);
    let pull_policy = string_field("pullPolicy", problems);
    if let (Some(policy), Some(node)) = (&pull_policy, item.get("pullPolicy"))
        && !PULL_POLICIES.contains(&policy.as_str())
    {
        problems.push(ShapeProblem::at(
            node,
            format!("`{path}.pullPolicy` is `{}`", shown(policy)),
            "write `Always` or `IfNotPresent`",
        ));
    }
    let plugin_config = item.get("pluginConfig").and_then(|node| match &node.value {
        NodeValue::Map(_) => Some(node.to_json()),
        NodeValue::Null => None,
        _ => {
            problems.push(ShapeProblem::at(
                node,
                format!("wrong type at `{path}.pluginConfig`: expected a mapping, found {}", node.kind()),
                "`pluginConfig` holds app-config keys, e.g. `pluginConfig: {dynamicPlugins: {…}}`",
            ));
            None
        }
    });
    Some(DynamicPluginEntry {
        package,
        disabled: boolean(item, "disabled", &path, problems),
        enabled: boolean(item, "enabled", &path, problems),
        integrity,
        plugin_config,
        pull_policy,
        force_download: boolean(item, "forceDownload", &path, problems),
        line: item.line(),
        package_line: item.get("package").and_then(Node::line),
    })
}

/// A `true`/`false` field. A string is named: the Python installer treats any non-empty string
/// (`"false"` too) as true, and reads YAML 1.1's `yes`, `on`, `y` as true and `no`, `off`, `n` as false.
fn boolean(item: &Node, key: &str, path: &str, problems: &mut Vec<ShapeProblem>) -> Option<bool> {
    let node = item.get(key)?;
    match &node.value {
        NodeValue::Bool(flag) => Some(*flag),
        NodeValue::Null => None,
        NodeValue::String(text) => {
            let lower = text.to_ascii_lowercase();
            let meant = if ["false", "no", "off", "n"].contains(&lower.as_str()) { "false" } else { "true" };
            let reading = if ["yes", "no", "on", "off", "y", "n"].contains(&lower.as_str()) {
                "a YAML 1.1 reader takes it for a boolean, a YAML 1.2 reader for a string (which counts as true)"
            } else {
                "the installer counts any non-empty string as true"
            };
            problems.push(ShapeProblem::at(
                node,
                format!("`{path}.{key}` is the string `{}`, not a boolean: {reading}", shown(text)),
                format!("write `{key}: {meant}` without quotes"),
            ));
            None
        }
        _ => {
            problems.push(ShapeProblem::at(
                node,
                format!("wrong type at `{path}.{key}`: expected a boolean (`true` or `false`), found {}", node.kind()),
                format!("write `{key}: true` or `{key}: false`"),
            ));
            None
        }
    }
}

/// A commented OCI alternative of a `dynamic-plugins.default.yaml`: a comment line holding a
/// `package: oci://…` (`# - package: oci://…@sha256:…` above a wrapper entry, the line users are
/// told to uncomment), with its 1-based line and the package of the next active entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentedAlternative {
    pub package: String,
    pub line: u64,
    /// The `package` of the entry the comment sits above (`None` after the last entry).
    pub instead_of: Option<String>,
}

/// Every commented OCI alternative of `text`, in file order. A comment counts when, without its
/// `#` and the whitespace after it, it reads `- package: oci://…` or `package: oci://…` (quotes
/// allowed, anything after the reference dropped); prose that mentions `oci://` does not.
pub fn commented_alternatives(text: &str) -> Vec<CommentedAlternative> {
    let mut found: Vec<CommentedAlternative> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(comment) = trimmed.strip_prefix('#') {
            let body = comment.trim_start();
            let body = body.strip_prefix("- ").map_or(body, str::trim_start);
            if let Some(value) = body.strip_prefix("package:") {
                let value = value.split_whitespace().next().unwrap_or_default();
                let value = value.trim_matches(['"', '\'']);
                if value.starts_with("oci://") {
                    pending.push(found.len());
                    found.push(CommentedAlternative {
                        package: value.to_string(),
                        line: index as u64 + 1,
                        instead_of: None,
                    });
                }
            }
            continue;
        }
        let entry = trimmed.strip_prefix("- ").map(str::trim_start).and_then(|rest| rest.strip_prefix("package:"));
        if let Some(value) = entry {
            let value = value.trim().trim_matches(['"', '\'']).to_string();
            for position in pending.drain(..) {
                found[position].instead_of = Some(value.clone());
            }
        }
    }
    found
}

/// One entry to write: comment lines above it, then `package`, `disabled`, `pluginConfig`.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedEntry {
    /// Lines written as `  # <line>` above the entry.
    pub comments: Vec<String>,
    pub package: String,
    pub disabled: bool,
    pub plugin_config: Option<Value>,
}

/// Writes the whole file: `header` comment lines, then `plugins:` with every entry.
pub fn render(header: &[&str], entries: &[RenderedEntry]) -> String {
    let mut out = String::new();
    for line in header {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    if entries.is_empty() {
        out.push_str("plugins: []\n");
        return out;
    }
    out.push_str("plugins:\n");
    for entry in entries {
        for comment in &entry.comments {
            out.push_str("  # ");
            out.push_str(comment);
            out.push('\n');
        }
        let mut fields = Map::new();
        fields.insert("package".into(), Value::String(entry.package.clone()));
        fields.insert("disabled".into(), Value::Bool(entry.disabled));
        if let Some(config) = &entry.plugin_config {
            fields.insert("pluginConfig".into(), config.clone());
        }
        crate::formats::yaml::write_sequence_item(&mut out, &Value::Object(fields), 2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The midstream shape (`rhdh:release-1.9`'s file and our wrapper flavour): the pinned OCI line
    /// commented above the wrapper it replaces.
    #[test]
    fn commented_oci_alternatives_are_found_with_the_entry_they_replace() {
        let text = "plugins:\n  # - package: oci://registry.access.redhat.com/rhdh/a@sha256:aa   (1.9)\n  # Tag: 1.9.7--1.22.2, Build date: 2026-06-25T18:34:12Z\n  # new approach using oci images: to switch, uncomment the 'package' line above (oci://x is an example)\n  # disabled: true\n  - package: ./dynamic-plugins/dist/a\n    disabled: false\n  - package: oci://quay.io/rhdh/b@sha256:bb\n  #package: 'oci://quay.io/rhdh/c:1.0!c' # note\n  - package: \"./dynamic-plugins/dist/c-dynamic\"\n# - package: oci://quay.io/rhdh/d@sha256:dd\n";
        let found = commented_alternatives(text);
        let packages: Vec<&str> = found.iter().map(|found| found.package.as_str()).collect();
        assert_eq!(
            packages,
            [
                "oci://registry.access.redhat.com/rhdh/a@sha256:aa",
                "oci://quay.io/rhdh/c:1.0!c",
                "oci://quay.io/rhdh/d@sha256:dd"
            ]
        );
        assert_eq!(found[0].line, 2);
        assert_eq!(found[0].instead_of.as_deref(), Some("./dynamic-plugins/dist/a"));
        assert_eq!(found[1].instead_of.as_deref(), Some("./dynamic-plugins/dist/c-dynamic"));
        assert_eq!(found[2].instead_of, None);
    }

    #[test]
    fn entries_with_comments_read_back() {
        let entries = vec![
            RenderedEntry {
                comments: vec!["Tag: bs_1.52.0__1.30.0, Build date: 2026-06-03T21:17:18Z".into()],
                package: "oci://ghcr.io/x/y@sha256:e6".into(),
                disabled: false,
                plugin_config: Some(json!({"app": {"csp": ["'self'"]}})),
            },
            RenderedEntry {
                comments: vec![],
                package: "./dynamic-plugins/dist/z".into(),
                disabled: true,
                plugin_config: None,
            },
        ];
        let text = render(&["Generated.", ""], &entries);
        assert_eq!(
            text,
            "# Generated.\n#\nplugins:\n  # Tag: bs_1.52.0__1.30.0, Build date: 2026-06-03T21:17:18Z\n  - package: oci://ghcr.io/x/y@sha256:e6\n    disabled: false\n    pluginConfig:\n      app:\n        csp:\n          - \"'self'\"\n  - package: ./dynamic-plugins/dist/z\n    disabled: true\n"
        );
        let parsed = DynamicPluginsFile::parse(Path::new("d.yaml"), &text).unwrap();
        assert_eq!(parsed.plugins.len(), 2);
        assert!(parsed.plugins[1].is_disabled());
        assert_eq!(parsed.plugins[0].plugin_config, Some(json!({"app": {"csp": ["'self'"]}})));
        assert_eq!(parsed.plugins[0].line, Some(5));
        assert_eq!(parsed.plugins[1].line, Some(11));
    }

    fn problems(text: &str) -> Vec<ShapeProblem> {
        DynamicPluginsFile::parse_checked(Path::new("d.yaml"), text).unwrap().1
    }

    #[test]
    fn the_shape_is_strict_and_every_problem_has_its_line() {
        let found = problems("plugins:\n  - package: ./a\n    disable: true\n    pluginconfig: {}\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].line, Some(3));
        assert!(found[0].problem.contains("unknown key `disable`"), "{found:?}");
        assert!(found[0].hint.as_deref().unwrap().contains("did you mean `disabled`"), "{found:?}");
        assert!(found[1].hint.as_deref().unwrap().contains("did you mean `pluginConfig`"), "{found:?}");
        for (text, expected, line) in [
            ("plugins:\n  - package: ./a\n    disabled: \"false\"\n", "is the string `false`, not a boolean", 3),
            ("plugins:\n  - package: ./a\n    disabled: yes\n", "a YAML 1.1 reader", 3),
            ("plugins:\n  - package: ./a\n    pluginConfig: [a]\n", "expected a mapping, found a list", 3),
            ("includes: []\n", "no `plugins:` key", 1),
            ("plugins:\n  - ./a\n", "expected a mapping with `package:`", 2),
            ("plugins:\n  - package: 7\n", "expected a string, found a number", 2),
            ("plugins:\n  - package: ./a\n    pullPolicy: Never\n", "`plugins[0].pullPolicy` is `Never`", 3),
            ("plugins:\n  - disabled: true\n", "missing field `package`", 2),
        ] {
            let found = problems(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert!(found[0].problem.contains(expected), "{text}: {found:?}");
            assert_eq!(found[0].line, Some(line), "{text}: {found:?}");
        }
        let error = DynamicPluginsFile::parse(Path::new("d.yaml"), "- package: ./a\n").unwrap_err();
        assert!(error.problem.contains("expected a mapping with `plugins:`"), "{error}");
    }
}
