//! The overlay's files through `index` against an empty `oci-layout:` store: metadata
//! (`kind: Package`), catalog entities, `default.packages.yaml`, `plugins-list.yaml`,
//! `source.json`, `versions.json` and `rhdh-supported-packages.txt`, each broken one way in the
//! bundled example overlay. Every case exits 2 naming the file (and line) and writes nothing.

use std::path::Path;

use super::{Expect, alias_bomb, check, deep_flow, index_args, report};
use crate::support::example_overlay;

const TECH_RADAR: &str = "workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml";
const ENTITY: &str = "catalog-entities/extensions/plugins/tech-radar.yaml";
const DEFAULT_PACKAGES: &str = "default.packages.yaml";
const PLUGINS_LIST: &str = "workspaces/tech-radar/plugins-list.yaml";
const SOURCE: &str = "workspaces/tech-radar/source.json";
const VERSIONS: &str = "versions.json";
const SUPPORTED: &str = "rhdh-supported-packages.txt";

const GOOD_SOURCE: &str = r#"{"repo":"https://github.com/backstage/community-plugins","repo-ref":"bf34ea3ad09818d1c73198f2d59eba1e7c48d9c3","repo-flat":false,"repo-backstage-version":"1.52.0"}"#;

/// How a case breaks the overlay.
enum Change {
    /// Replace the first `from` in the file with `to`.
    Replace(&'static str, String, String),
    /// Write the file.
    Write(&'static str, Vec<u8>),
    /// Apply a function to the file's bytes.
    Map(&'static str, fn(Vec<u8>) -> Vec<u8>),
}

fn replace(file: &'static str, from: &str, to: &str) -> Change {
    Change::Replace(file, from.to_string(), to.to_string())
}

fn write(file: &'static str, text: impl Into<Vec<u8>>) -> Change {
    Change::Write(file, text.into())
}

fn apply(overlay: &Path, change: &Change) {
    match change {
        Change::Replace(file, from, to) => {
            let path = overlay.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(from.as_str()), "{file} lacks {from:?}");
            std::fs::write(path, text.replacen(from.as_str(), to, 1)).unwrap();
        }
        Change::Write(file, bytes) => std::fs::write(overlay.join(file), bytes).unwrap(),
        Change::Map(file, function) => {
            let path = overlay.join(file);
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(path, function(bytes)).unwrap();
        }
    }
}

fn run(class: &str, cases: Vec<(&str, Change, Vec<String>)>) {
    let results = cases
        .into_iter()
        .map(|(name, change, fragments)| {
            let work = tempfile::tempdir().unwrap();
            let overlay = example_overlay(work.path());
            apply(&overlay, &change);
            let args = index_args(&[]);
            check(name, work.path(), &args, &Expect { code: 2, fragments })
        })
        .collect();
    report(class, results);
}

fn at(file: &str, line: u64, problem: &str) -> Vec<String> {
    vec![format!("{file}:{line}:"), problem.to_string()]
}

fn named(file: &str, problem: &str) -> Vec<String> {
    vec![file.to_string(), problem.to_string()]
}

const NAME_LINE: &str = "  name: backstage-community-plugin-tech-radar\n";

#[test]
fn hostile_metadata() {
    let cases: Vec<(&str, Change, Vec<String>)> = vec![
        (
            "name with a space",
            replace(TECH_RADAR, NAME_LINE, "  name: 'tech radar'\n"),
            at(TECH_RADAR, 4, "` ` is not allowed in a name"),
        ),
        ("name with /../", replace(TECH_RADAR, NAME_LINE, "  name: a/../b\n"), at(TECH_RADAR, 4, "`/` is not allowed")),
        (
            "name with a Cyrillic a",
            replace(TECH_RADAR, NAME_LINE, "  name: backstage-community-plugin-tech-r\u{0430}dar\n"),
            at(TECH_RADAR, 4, "U+0430"),
        ),
        ("name with NUL", replace(TECH_RADAR, NAME_LINE, "  name: \"tech\\0radar\"\n"), at(TECH_RADAR, 4, "U+0000")),
        (
            "name starting with a dash",
            replace(TECH_RADAR, NAME_LINE, "  name: -tech-radar\n"),
            at(TECH_RADAR, 4, "start and end"),
        ),
        (
            "name a list",
            replace(TECH_RADAR, NAME_LINE, "  name: [a]\n"),
            at(TECH_RADAR, 4, "wrong type at `metadata.name`"),
        ),
        ("alias bomb", write(TECH_RADAR, alias_bomb("spec")), at(TECH_RADAR, 6, "too many aliases or nodes")),
        ("10 000 levels", write(TECH_RADAR, deep_flow("spec", 10_000)), at(TECH_RADAR, 1, "too deeply nested")),
        (
            "byte-order mark",
            Change::Map(TECH_RADAR, |bytes| [b"\xef\xbb\xbf".to_vec(), bytes].concat()),
            at(TECH_RADAR, 1, "byte-order mark"),
        ),
        (
            "tab indentation",
            replace(TECH_RADAR, "  namespace: rhdh\n", "\tnamespace: rhdh\n"),
            at(TECH_RADAR, 5, "a tab in the indentation"),
        ),
        (
            "duplicate key at depth",
            replace(TECH_RADAR, "      title: Homepage\n", "      title: Homepage\n      title: Again\n"),
            at(TECH_RADAR, 10, "duplicate key `title`"),
        ),
        (
            "two documents",
            Change::Map(TECH_RADAR, |bytes| [bytes, b"---\nkind: Package\n".to_vec()].concat()),
            named(TECH_RADAR, "more than one YAML document"),
        ),
        ("only comments", write(TECH_RADAR, "# kind: Package\n"), named(TECH_RADAR, "only comments")),
        (
            "CRLF with a duplicate key",
            Change::Map(TECH_RADAR, |bytes| {
                String::from_utf8(bytes)
                    .unwrap()
                    .replace("  namespace: rhdh\n", "  namespace: rhdh\n  namespace: x\n")
                    .replace('\n', "\r\n")
                    .into_bytes()
            }),
            at(TECH_RADAR, 6, "duplicate key `namespace`"),
        ),
        (
            "raw NUL byte",
            replace(TECH_RADAR, "  title: Tech Radar Frontend\n", "  title: Tech\0Radar\n"),
            at(TECH_RADAR, 6, "U+0000"),
        ),
        (
            "version a list",
            replace(TECH_RADAR, "  version: 1.20.0\n", "  version: [1.20.0]\n"),
            at(TECH_RADAR, 20, "wrong type at `spec.version`"),
        ),
        (
            "packageName a list",
            replace(TECH_RADAR, "  packageName: '@backstage-community/plugin-tech-radar'\n", "  packageName: [a]\n"),
            at(TECH_RADAR, 18, "wrong type at `spec.packageName`"),
        ),
        (
            "packageName with a Cyrillic a",
            replace(
                TECH_RADAR,
                "'@backstage-community/plugin-tech-radar'",
                "'@b\u{0430}ckstage-community/plugin-tech-radar'",
            ),
            at(TECH_RADAR, 18, "U+0430"),
        ),
        (
            "packageName with shell characters",
            replace(TECH_RADAR, "'@backstage-community/plugin-tech-radar'", "'@x/$(touch pwned-marker)'"),
            at(TECH_RADAR, 18, "is not an npm package name"),
        ),
        (
            "spec a number",
            replace(TECH_RADAR, "spec:\n", "spec: 5\nignored:\n"),
            named(TECH_RADAR, "wrong type at `spec`: expected a mapping, found a number"),
        ),
        (
            "metadata a list",
            replace(TECH_RADAR, "metadata:\n", "metadata: []\nx:\n"),
            named(TECH_RADAR, "wrong type at `metadata`"),
        ),
        (
            "appConfigExamples a number",
            replace(TECH_RADAR, "  appConfigExamples:\n", "  appConfigExamples: 7\n  ignored:\n"),
            named(TECH_RADAR, "wrong type at `spec.appConfigExamples`: expected a list, found a number"),
        ),
        (
            "python tag",
            replace(
                TECH_RADAR,
                "  title: Tech Radar Frontend\n",
                "  title: !!python/object/apply:os.system ['touch pwned-marker']\n",
            ),
            at(TECH_RADAR, 6, "is not one every YAML reader knows"),
        ),
        (
            "unknown anchor",
            replace(TECH_RADAR, "  tags: []\n", "  tags: *none\n"),
            at(TECH_RADAR, 16, "refers to no anchor"),
        ),
        (
            "kind a number",
            replace(TECH_RADAR, "kind: Package\n", "kind: 5\n"),
            at(TECH_RADAR, 2, "`kind` is `5`, expected `Package`"),
        ),
        (
            "not UTF-8",
            Change::Map(TECH_RADAR, |bytes| {
                let text = String::from_utf8(bytes).unwrap().replace("Tech Radar Frontend", "Tech Radar \u{1}");
                text.into_bytes().into_iter().map(|byte| if byte == 1 { 0xFF } else { byte }).collect()
            }),
            named(TECH_RADAR, "not valid UTF-8"),
        ),
    ];
    run("metadata", cases);
}

const ENTITY_NAME: &str = "  name: tech-radar\n";

#[test]
fn hostile_catalog_entities() {
    let cases: Vec<(&str, Change, Vec<String>)> = vec![
        (
            "name with a space",
            replace(ENTITY, ENTITY_NAME, "  name: tech radar\n"),
            at(ENTITY, 5, "` ` is not allowed in a name"),
        ),
        ("name with /../", replace(ENTITY, ENTITY_NAME, "  name: a/../b\n"), at(ENTITY, 5, "`/` is not allowed")),
        (
            "name with a Cyrillic a",
            replace(ENTITY, ENTITY_NAME, "  name: tech-r\u{0430}dar\n"),
            at(ENTITY, 5, "U+0430 at position 7"),
        ),
        (
            "name of 64 characters",
            replace(ENTITY, ENTITY_NAME, &format!("  name: {}\n", "a".repeat(64))),
            at(ENTITY, 5, "64 characters long, more than 63"),
        ),
        (
            "name ending with a dot",
            replace(ENTITY, ENTITY_NAME, "  name: tech-radar.\n"),
            at(ENTITY, 5, "start and end"),
        ),
        (
            "duplicate key",
            replace(ENTITY, ENTITY_NAME, "  name: tech-radar\n  name: other\n"),
            at(ENTITY, 6, "duplicate key `name`"),
        ),
        ("alias bomb", write(ENTITY, alias_bomb("metadata")), at(ENTITY, 6, "too many aliases or nodes")),
        ("10 000 levels", write(ENTITY, deep_flow("metadata", 10_000)), at(ENTITY, 1, "too deeply nested")),
        (
            "metadata a string",
            replace(ENTITY, "metadata:\n", "metadata: x\nignored:\n"),
            named(ENTITY, "wrong type at `metadata`"),
        ),
        (
            "byte-order mark",
            Change::Map(ENTITY, |bytes| [b"\xef\xbb\xbf".to_vec(), bytes].concat()),
            at(ENTITY, 1, "byte-order mark"),
        ),
    ];
    run("catalog entities", cases);
}

const ENABLED_ENTRY: &str = "  - package: '@backstage-community/plugin-analytics-provider-segment'\n";

#[test]
fn hostile_default_packages() {
    let cases: Vec<(&str, Change, Vec<String>)> = vec![
        (
            "packages a list",
            write(DEFAULT_PACKAGES, "packages: []\n"),
            at(DEFAULT_PACKAGES, 1, "wrong type at `packages`: expected a mapping, found a list"),
        ),
        (
            "enabled a mapping",
            write(DEFAULT_PACKAGES, "packages:\n  enabled: {a: b}\n"),
            at(DEFAULT_PACKAGES, 2, "wrong type at `packages.enabled`: expected a list, found a mapping"),
        ),
        (
            "package a list",
            replace(DEFAULT_PACKAGES, ENABLED_ENTRY, "  - package: [x]\n"),
            at(DEFAULT_PACKAGES, 4, "wrong type at `packages.enabled[0].package`"),
        ),
        (
            "pakage",
            replace(DEFAULT_PACKAGES, ENABLED_ENTRY, "  - pakage: x\n"),
            at(DEFAULT_PACKAGES, 4, "unknown field `pakage`"),
        ),
        (
            "enable",
            replace(DEFAULT_PACKAGES, "  enabled:\n", "  enable:\n"),
            at(DEFAULT_PACKAGES, 3, "did you mean `enabled`"),
        ),
        (
            "alias bomb",
            write(DEFAULT_PACKAGES, alias_bomb("packages")),
            at(DEFAULT_PACKAGES, 6, "too many aliases or nodes"),
        ),
        (
            "duplicate enabled",
            replace(DEFAULT_PACKAGES, "  disabled:\n", "  enabled:\n"),
            named(DEFAULT_PACKAGES, "duplicate key `enabled`"),
        ),
        (
            "byte-order mark",
            Change::Map(DEFAULT_PACKAGES, |bytes| [b"\xef\xbb\xbf".to_vec(), bytes].concat()),
            at(DEFAULT_PACKAGES, 1, "byte-order mark"),
        ),
        (
            "tab indentation",
            replace(DEFAULT_PACKAGES, ENABLED_ENTRY, "\t- package: x\n"),
            at(DEFAULT_PACKAGES, 4, "a tab in the indentation"),
        ),
        ("empty", write(DEFAULT_PACKAGES, ""), named(DEFAULT_PACKAGES, "file is empty")),
    ];
    run("default packages", cases);
}

#[test]
fn hostile_plugins_lists() {
    let cases: Vec<(&str, Change, Vec<String>)> = vec![
        (
            "command substitution in a folder",
            write(PLUGINS_LIST, "plugins/$(touch${IFS}pwned-marker):\n"),
            at(PLUGINS_LIST, 1, "a shell character"),
        ),
        (
            "backticks in a folder",
            write(PLUGINS_LIST, "plugins/`touch pwned-marker`:\n"),
            at(PLUGINS_LIST, 1, "plugins-list.yaml:1:"),
        ),
        (
            "semicolon in a folder",
            write(PLUGINS_LIST, "plugins/tech-radar;touch${IFS}pwned-marker:\n"),
            at(PLUGINS_LIST, 1, "a shell character"),
        ),
        (
            "semicolon in a flag",
            write(PLUGINS_LIST, "plugins/tech-radar: --embed-package x;touch\n"),
            at(PLUGINS_LIST, 1, "contains a shell character"),
        ),
        (
            "command substitution in a flag",
            write(PLUGINS_LIST, "plugins/tech-radar: --embed-package $(touch${IFS}pwned-marker)\n"),
            at(PLUGINS_LIST, 1, "contains a shell character"),
        ),
        ("space in a folder", write(PLUGINS_LIST, "plugins/tech radar:\n"), at(PLUGINS_LIST, 1, "U+0020")),
        (
            "parent folders",
            write(PLUGINS_LIST, "plugins/../../../etc:\n"),
            at(PLUGINS_LIST, 1, "would leave its folder"),
        ),
        ("tab in a folder", write(PLUGINS_LIST, "plugins/tech\tradar:\n"), at(PLUGINS_LIST, 1, "U+0009")),
    ];
    run("plugins lists", cases);
}

fn source(from: &str, to: &str) -> Change {
    write(SOURCE, GOOD_SOURCE.replacen(from, to, 1))
}

#[test]
fn hostile_source_json() {
    let cases: Vec<(&str, Change, Vec<String>)> = vec![
        (
            "trailing comma",
            write(SOURCE, "{\"repo\": \"https://github.com/x/y\",\n}\n"),
            at(SOURCE, 2, "trailing comma"),
        ),
        (
            "a comment",
            write(SOURCE, "{\n// upstream\n\"repo\": \"https://github.com/x/y\"}\n"),
            at(SOURCE, 2, "JSON has no comments"),
        ),
        ("NaN", source("false", "NaN"), at(SOURCE, 1, "`NaN` is not a JSON value")),
        ("byte-order mark", write(SOURCE, format!("\u{FEFF}{GOOD_SOURCE}")), at(SOURCE, 1, "byte-order mark")),
        (
            "command substitution in the ref",
            source("bf34ea3ad09818d1c73198f2d59eba1e7c48d9c3", "$(touch pwned-marker)"),
            named(SOURCE, "not a tag, branch or commit"),
        ),
        (
            "backticks in the ref",
            source("bf34ea3ad09818d1c73198f2d59eba1e7c48d9c3", "`touch pwned-marker`"),
            named(SOURCE, "not a tag, branch or commit"),
        ),
        (
            "semicolon in the ref",
            source("bf34ea3ad09818d1c73198f2d59eba1e7c48d9c3", "v1;touch"),
            named(SOURCE, "not a tag, branch or commit"),
        ),
        (
            "newline in the ref",
            source("bf34ea3ad09818d1c73198f2d59eba1e7c48d9c3", "v1\\nv2"),
            named(SOURCE, "not a tag, branch or commit"),
        ),
        (
            "command substitution in the URL",
            source("community-plugins", "$(touch pwned-marker)"),
            named(SOURCE, "not an https:// repository URL"),
        ),
        (
            "Cyrillic in the URL",
            source("github.com", "g\u{0456}thub.com"),
            named(SOURCE, "not an https:// repository URL"),
        ),
        // `"false"` (a string) is read as the boolean with a warning (issue 21: forward-compatible
        // overlay files); any other string stays bad input.
        (
            "repo-flat a word",
            source("false", "\"no\""),
            at(SOURCE, 1, "wrong type at `repo-flat`: expected a boolean (`true` or `false`), found the string no"),
        ),
        (
            "repo a number",
            source("\"https://github.com/backstage/community-plugins\"", "5"),
            at(SOURCE, 1, "wrong type at `repo`: expected a string, found the number 5"),
        ),
        ("repo_ref", source("\"repo-ref\"", "\"repo_ref\""), at(SOURCE, 1, "did you mean `repo-ref`")),
        (
            "duplicate repo",
            source("{\"repo\"", "{\"repo\":\"https://github.com/x/y\",\"repo\""),
            at(SOURCE, 1, "duplicate key `repo`"),
        ),
        ("empty object", write(SOURCE, "{}"), at(SOURCE, 1, "missing field `repo`")),
        ("a list", write(SOURCE, "[]"), at(SOURCE, 1, "wrong type: expected an object, found a list")),
        ("single quotes", write(SOURCE, "{'repo': 'x'}"), at(SOURCE, 1, "a key that is not a double-quoted string")),
    ];
    run("source.json", cases);
}

#[test]
fn hostile_versions_json() {
    let cases: Vec<(&str, Change, Vec<String>)> = vec![
        (
            "backstage a number",
            replace(VERSIONS, "\"1.52.0\"", "1.52"),
            at(VERSIONS, 2, "wrong type at `backstage`: expected a string, found the number 1.52"),
        ),
        (
            "trailing comma",
            replace(VERSIONS, "\"@red-hat-developer-hub/cli\"\n", "\"@red-hat-developer-hub/cli\",\n"),
            at(VERSIONS, 6, "trailing comma"),
        ),
        ("Infinity", replace(VERSIONS, "\"1.52.0\"", "Infinity"), at(VERSIONS, 2, "`Infinity` is not a JSON value")),
        (
            "10 000 levels",
            replace(
                VERSIONS,
                "\"node\": \"24.14.0\"",
                &format!("\"node\": \"24.14.0\", \"deep\": {}{}", "[".repeat(10_000), "]".repeat(10_000)),
            ),
            at(VERSIONS, 3, "too deeply nested"),
        ),
        (
            "backstage a list",
            replace(VERSIONS, "\"1.52.0\"", "[\"1.52.0\"]"),
            at(VERSIONS, 2, "expected a string, found a list"),
        ),
    ];
    run("versions.json", cases);
}

#[test]
fn hostile_supported_packages() {
    let cases: Vec<(&str, Change, Vec<String>)> = vec![
        (
            "command substitution",
            replace(SUPPORTED, "tech-radar/plugins/tech-radar\n", "tech-radar/plugins/$(touch${IFS}pwned-marker)\n"),
            at(SUPPORTED, 7, "a shell character"),
        ),
        (
            "semicolon",
            replace(SUPPORTED, "tech-radar/plugins/tech-radar\n", "tech-radar/plugins/x;touch\n"),
            at(SUPPORTED, 7, "a shell character"),
        ),
        (
            "space",
            replace(SUPPORTED, "tech-radar/plugins/tech-radar\n", "tech-radar/plugins/tech radar\n"),
            at(SUPPORTED, 7, "U+0020"),
        ),
    ];
    run("supported packages", cases);
}
