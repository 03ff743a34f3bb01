//! `upstream_repos.yml` through `fetch --skip-clone` (no git runs): YAML attacks, numbers read as
//! floats, and shell characters, spaces, newlines and `..` in every string that would reach
//! `git` or the file system. Every case exits 2 naming the file and writes nothing (no plan.json).

use super::{Expect, alias_bomb, check, deep_flow, report, write_files};
use crate::support::example_overlay;

const FILE: &str = "upstream_repos.yml";
const GOOD: &str = "rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.49.4\nrepos:\n  - repo: https://github.com/x/overlays\n    branch: main\n    destination_folder: overlay-repo\n";

fn run(class: &str, cases: Vec<(&str, Vec<u8>, Vec<&str>)>) {
    let results = cases
        .into_iter()
        .map(|(name, bytes, fragments)| {
            let dir = tempfile::tempdir().unwrap();
            let overlay = example_overlay(dir.path());
            std::fs::rename(overlay, dir.path().join("overlay-repo")).unwrap();
            write_files(dir.path(), &[(FILE, bytes)]);
            let mut all = vec![FILE];
            all.extend(fragments);
            check(
                name,
                dir.path(),
                &["fetch".into(), "--tree".into(), ".".into(), "--skip-clone".into()],
                &Expect::bad_input(&all),
            )
        })
        .collect();
    report(class, results);
}

fn good(from: &str, to: &str) -> Vec<u8> {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1).into_bytes()
}

#[test]
fn hostile_upstream_repos() {
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("alias bomb", alias_bomb("repos").into_bytes(), vec!["upstream_repos.yml:6:", "too many aliases or nodes"]),
        ("10 000 levels", deep_flow("repos", 10_000).into_bytes(), vec!["upstream_repos.yml:1:", "too deeply nested"]),
        (
            "byte-order mark",
            [b"\xef\xbb\xbf".as_slice(), GOOD.as_bytes()].concat(),
            vec!["upstream_repos.yml:1:", "byte-order mark"],
        ),
        (
            "tab indentation",
            good("  branch: main\n", "\tbranch: main\n"),
            vec!["upstream_repos.yml:2:", "a tab in the indentation"],
        ),
        (
            "duplicate key at depth",
            good("  version: 1.10.0\n", "  version: 1.10.0\n  version: 1.11.0\n"),
            vec!["upstream_repos.yml:4:", "duplicate key `version`"],
        ),
        (
            "two documents",
            format!("{GOOD}---\n{GOOD}").into_bytes(),
            vec!["upstream_repos.yml:11:", "more than one YAML document"],
        ),
        ("only comments", b"# rhdh:\n#   branch: main\n".to_vec(), vec!["only comments"]),
        (
            "a hex number keeps its text",
            good("version: 1.10.0", "version: 0x10"),
            vec!["upstream_repos.yml:3:", "`rhdh.version` is `0x10`"],
        ),
        (
            "an exponent keeps its text",
            good("version: 1.10.0", "version: 1e3"),
            vec!["upstream_repos.yml:3:", "`rhdh.version` is `1e3`"],
        ),
        (
            "version a list",
            good("version: 1.10.0", "version: [1]"),
            vec!["upstream_repos.yml:3:", "wrong type at `rhdh.version`"],
        ),
        (
            "command substitution in a branch",
            good("    branch: main\n", "    branch: $(touch pwned-marker)\n"),
            vec!["upstream_repos.yml:8:", "is not a valid git ref"],
        ),
        (
            "backticks in a branch",
            good("    branch: main\n", "    branch: '`touch pwned-marker`'\n"),
            vec!["upstream_repos.yml:8:", "is not a valid git ref"],
        ),
        (
            "semicolon in a branch",
            good("    branch: main\n", "    branch: main;touch\n"),
            vec!["upstream_repos.yml:8:", "is not a valid git ref"],
        ),
        (
            "newline in a branch",
            good("    branch: main\n", "    branch: \"main\\ntouch\"\n"),
            vec!["upstream_repos.yml:8:", "is not a valid git ref"],
        ),
        (
            "command substitution in the URL",
            good("https://github.com/x/overlays", "https://github.com/x/$(touch)"),
            vec!["upstream_repos.yml:7:", "is not an https:// URL"],
        ),
        (
            "Cyrillic in the URL",
            good("github.com", "g\u{0456}thub.com"),
            vec!["upstream_repos.yml:7:", "is not an https:// URL"],
        ),
        (
            "space in the destination",
            good("destination_folder: overlay-repo", "destination_folder: overlay repo"),
            vec!["upstream_repos.yml:9:", "U+0020"],
        ),
        (
            "command substitution in the destination",
            good("destination_folder: overlay-repo", "destination_folder: $(touch${IFS}pwned-marker)"),
            vec!["upstream_repos.yml:9:", "a shell character"],
        ),
        (
            "parent folders in the destination",
            good("destination_folder: overlay-repo", "destination_folder: ../outside"),
            vec!["upstream_repos.yml:9:", "would leave its folder"],
        ),
        (
            "parent folders in an exclude",
            format!("{GOOD}    exclude: [../..]\n").into_bytes(),
            vec!["upstream_repos.yml:10:", "would leave its folder"],
        ),
        (
            "destinaton_folder",
            good("destination_folder:", "destinaton_folder:"),
            vec!["upstream_repos.yml:9:", "did you mean `destination_folder`"],
        ),
        ("repos a mapping", good("repos:\n  - repo:", "repos: {}\nx:\n  - repo:"), vec!["wrong type"]),
        (
            "repos empty",
            b"rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.49.4\nrepos: []\n".to_vec(),
            vec!["`repos` is empty"],
        ),
        (
            "rhdh a number",
            good("rhdh:\n  branch: main\n  version: 1.10.0\n", "rhdh: 5\n"),
            vec!["upstream_repos.yml:1:", "wrong type at `rhdh`: expected a mapping, found a number"],
        ),
        ("empty", Vec::new(), vec!["file is empty"]),
    ];
    run("upstream_repos.yml", cases);
}

#[test]
fn hostile_source_json_through_fetch() {
    let results = [
        ("command substitution in a ref", "\"repo-ref\":\"$(touch pwned-marker)\"", "not a tag, branch or commit"),
        ("NaN", "\"repo-ref\":NaN", "`NaN` is not a JSON value"),
    ]
    .into_iter()
    .map(|(name, field, problem)| {
        let dir = tempfile::tempdir().unwrap();
        let overlay = example_overlay(dir.path());
        std::fs::rename(overlay, dir.path().join("overlay-repo")).unwrap();
        let source =
            format!("{{\"repo\":\"https://github.com/backstage/community-plugins\",{field},\"repo-flat\":false}}");
        write_files(
            dir.path(),
            &[
                (FILE, GOOD.as_bytes().to_vec()),
                ("overlay-repo/workspaces/tech-radar/source.json", source.into_bytes()),
            ],
        );
        check(
            name,
            dir.path(),
            &["fetch".into(), "--tree".into(), ".".into(), "--skip-clone".into()],
            &Expect::bad_input(&["workspaces/tech-radar/source.json", problem]),
        )
    })
    .collect();
    report("source.json through fetch", results);
}
