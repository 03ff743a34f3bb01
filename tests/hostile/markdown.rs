//! The markdown outputs render content as text: `status.md`, the pull-request comment `report`
//! prints, and the table `diff` prints. Content an attacker controls (a plugin's npm name, taken
//! by export from the upstream package.json; causes and log lines; branch names; workspace and
//! image names; `pluginConfig` keys; the paths of inputs) is put in every place it can reach, each
//! payload a class of injection: raw HTML (`<img>`, `<script>`, `<details open>`), links and
//! images (`javascript:`), live `@mentions`, line breaks that start a heading, fences that close a
//! block, and `|` that breaks a table. Each output is rendered by GitHub's own renderer,
//! `cmark-gfm` (Debian's, raw HTML allowed as GitHub allows it before sanitizing), and the HTML
//! must hold none of it as markup, no mention outside code, and still show the text. The page
//! files are world-readable, like every other output.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use crate::support::rhdh_catalog;

/// Injections, by class.
const PAYLOADS: [(&str, &str); 9] = [
    ("raw image", "<img src=x onerror=alert(1)>"),
    ("details open", "<details open><summary>opened</summary>"),
    ("javascript link", "[click](javascript:alert(1))"),
    ("markdown image", "![pixel](https://evil.example/pixel.png)"),
    ("mention", "@octocat and @redhat-developer/rhdh-team"),
    ("script", "<script>alert(1)</script>"),
    ("heading after a line break", "x\n### injected heading"),
    ("fence closing a block", "```\n</details>\n~~~"),
    ("table cell break", "a | b | c"),
];

/// Renders markdown with cmark-gfm as GitHub does (tables, autolinks, raw HTML kept).
fn render(markdown: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("cmark-gfm")
        .args(["--unsafe", "-e", "table", "-e", "autolink", "-e", "strikethrough"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cmark-gfm must be installed (hack/test.sh installs it)");
    child.stdin.take().unwrap().write_all(markdown.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// `html` without its `<code>` and `<pre>` elements (where nothing is markup or a mention).
fn outside_code(html: &str) -> String {
    let pattern = regex::Regex::new(r"(?s)<code>.*?</code>|<pre>.*?</pre>").unwrap();
    pattern.replace_all(html, "").into_owned()
}

/// The text a reader sees: tags dropped, entities decoded (the ones cmark writes).
fn visible_text(html: &str) -> String {
    let tags = regex::Regex::new(r"<[^>]*>").unwrap();
    tags.replace_all(html, " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// What is wrong with `markdown` (one of our outputs) once rendered, for `payload`.
fn problems(what: &str, markdown: &str, payload: &str) -> Vec<String> {
    let html = render(markdown);
    let mut found = Vec::new();
    let lower = html.to_lowercase();
    for markup in ["<img", "<script", "<iframe", "href=\"javascript:", "<details open", "injected heading</h"] {
        if lower.contains(markup) {
            found.push(format!("{what}: `{markup}` is markup in the rendered output"));
        }
    }
    // Our own log wrappers are the only <details>, each closed by us.
    if lower.matches("<details>").count() != lower.matches("<details><summary>log (last").count() {
        found.push(format!("{what}: a <details> that is not ours"));
    }
    let mention = regex::Regex::new(r"(?:^|[^\w@/.-])@[A-Za-z0-9]").unwrap();
    if mention.is_match(&outside_code(&html)) {
        found.push(format!("{what}: a live @mention outside code"));
    }
    // The reader still sees what the content says (its distinctive words).
    let seen = visible_text(&html);
    for word in payload.split(|character: char| !character.is_alphanumeric()).filter(|word| word.len() >= 6) {
        if !seen.contains(word) {
            found.push(format!("{what}: `{word}` of the content is no longer shown"));
        }
    }
    if !found.is_empty() {
        found.push(format!("--- markdown:\n{markdown}\n--- rendered:\n{html}"));
    }
    found
}

/// The report inputs with `payload` in the place `place` names.
fn report_case(dir: &Path, place: &str, payload: &str) -> Vec<String> {
    let mut package = "@scope/plugin-a".to_string();
    let mut cause = "`yarn tsc` exited with status 2".to_string();
    let mut log = vec!["$ tsc".to_string(), "error TS2322".to_string()];
    let mut workspace = "alpha".to_string();
    let mut image = "scope-plugin-b".to_string();
    let mut config_key = "app.title".to_string();
    let mut branch = "release-1.10".to_string();
    let mut task = "export".to_string();
    let mut plan = None;
    match place {
        "npm name" => package = payload.to_string(),
        "cause" => cause = payload.to_string(),
        "log line" => log.push(payload.to_string()),
        "workspace" => workspace = payload.to_string(),
        "image name" => image = payload.to_string(),
        "pluginConfig key" => config_key = payload.to_string(),
        "branch" => branch = payload.to_string(),
        "task name" => task = payload.to_string(),
        "input path" => plan = Some(dir.join(format!("{payload}.json"))),
        other => panic!("no place {other}"),
    }
    let export = json!({"workspaces": {workspace.clone(): {"status": "failed", "cause": "1 of 1 plugins failed", "plugins": [
        {"path": "plugins/a", "status": "failed", "package": package, "version": "1.0.0", "cause": cause, "log-tail": log}
    ]}}});
    let digest = format!("sha256:{}", "a".repeat(64));
    let index_report = json!({"changed": true, "plugins": [
        {"image": image, "workspace": workspace, "reference": format!("quay.io/rhdh/{image}:1.10.0--1.0.0"), "status": "missing", "detail": "tag not found"},
        {"image": "scope-plugin-c", "workspace": "beta", "reference": "quay.io/rhdh/scope-plugin-c:1.10.0--2.0.0", "status": "pinned", "digest": digest}
    ], "diff": {"added": [image], "removed": ["scope-gone"], "changed": [
        {"plugin": "scope-plugin-c", "pluginConfig": [config_key]}
    ]}});
    std::fs::write(dir.join("export-report.json"), export.to_string()).unwrap();
    std::fs::write(dir.join("index-report.json"), index_report.to_string()).unwrap();
    let mut command = rhdh_catalog(dir);
    command
        .current_dir(dir)
        .args(["report", "--status", "Failed", "fetch=Succeeded", &format!("{task}=Failed"), "index=Succeeded"])
        .args(["--index-report", "index-report.json", "--export-report", "export-report.json"])
        .args(["--branch", &branch, "--output-dir", "page", "--comment-file", "comment.md"]);
    if let Some(plan) = &plan {
        command.arg("--plan").arg(plan);
    }
    let output = command.output().unwrap();
    let mut found = Vec::new();
    if !output.status.success() {
        return vec![format!("exit {:?}: {}", output.status.code(), String::from_utf8_lossy(&output.stderr))];
    }
    let comment = String::from_utf8_lossy(&output.stdout).into_owned();
    let status = std::fs::read_to_string(dir.join("page/status.md")).unwrap();
    found.extend(problems("the comment on stdout", &comment, payload));
    found.extend(problems("status.md", &status, payload));
    for file in ["page/status.md", "page/status.html", "comment.md"] {
        let mode = std::fs::metadata(dir.join(file)).unwrap().permissions().mode();
        if mode & 0o044 != 0o044 {
            found.push(format!("{file} is written with mode {:o}, not readable by group and others", mode & 0o777));
        }
    }
    found
}

/// Every payload in every place `report` renders: each case its own run.
#[test]
fn status_markdown_and_the_comment_render_content_as_text() {
    let places = [
        "npm name",
        "cause",
        "log line",
        "workspace",
        "image name",
        "pluginConfig key",
        "branch",
        "task name",
        "input path",
    ];
    let mut failures = Vec::new();
    let mut cases = 0;
    for place in places {
        for (class, payload) in PAYLOADS {
            // A path with a line break cannot be named on a command line by Tekton either.
            if place == "input path" && payload.contains('\n') {
                continue;
            }
            cases += 1;
            let dir = tempfile::tempdir().unwrap();
            let found = report_case(dir.path(), place, payload);
            if !found.is_empty() {
                failures.push(format!("{class} in the {place}:\n{}", found.join("\n")));
            }
        }
    }
    assert!(cases >= 75, "{cases} cases");
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Every payload as a plugin name, a tag and a `pluginConfig` key of two catalog indexes: `diff`
/// prints the difference as text.
#[test]
fn the_diff_markdown_renders_content_as_text() {
    let mut failures = Vec::new();
    let mut cases = 0;
    for place in ["plugin name", "tag", "pluginConfig key"] {
        for (class, payload) in PAYLOADS {
            cases += 1;
            let dir = tempfile::tempdir().unwrap();
            let (mut name, mut tag, mut key) =
                ("scope-plugin-a".to_string(), "1.10.0--1.0.0".to_string(), "app.title".to_string());
            match place {
                "plugin name" => name = payload.to_string(),
                "tag" => tag = payload.to_string(),
                _ => key = payload.to_string(),
            }
            let entry = |tag: &str, digest: char| json!({"workspacePath": "alpha/plugins/a", "registryReference": format!("quay.io/rhdh/x@sha256:{}", digest.to_string().repeat(64)), "imageTag": tag});
            for (folder, entries, config) in [
                (
                    "old",
                    json!({"scope-plugin-b": entry("1.10.0--0.9.0", 'b'), "scope-plugin-c": entry("1.10.0--1.0.0", 'c')}),
                    "{}".to_string(),
                ),
                (
                    "new",
                    json!({name.clone(): entry(&tag, 'a'), "scope-plugin-c": entry(&tag, 'd')}),
                    format!("{{{}: true}}", serde_json::to_string(&key).unwrap()),
                ),
            ] {
                std::fs::create_dir_all(dir.path().join(folder)).unwrap();
                std::fs::write(dir.path().join(folder).join("index.json"), entries.to_string()).unwrap();
                std::fs::write(
                    dir.path().join(folder).join("dynamic-plugins.default.yaml"),
                    format!(
                        "plugins:\n  - package: oci://quay.io/rhdh/scope-plugin-c@sha256:{}!scope-plugin-c\n    disabled: false\n    pluginConfig: {config}\n",
                        "d".repeat(64)
                    ),
                )
                .unwrap();
            }
            let output =
                rhdh_catalog(dir.path()).current_dir(dir.path()).args(["diff", "old", "new"]).output().unwrap();
            if !output.status.success() {
                failures.push(format!(
                    "{class} as the {place}: exit {:?}: {}",
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr)
                ));
                continue;
            }
            let found = problems("diff", &String::from_utf8_lossy(&output.stdout), payload);
            if !found.is_empty() {
                failures.push(format!("{class} as the {place}:\n{}", found.join("\n")));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n\n{}", failures.len(), failures.join("\n\n"));
}
