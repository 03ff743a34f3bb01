//! Fixture upstreams as local git repositories (`file://`): a non-flat monorepo with two
//! workspaces, a flat repository, and an overlay repository pointing at them, plus a midstream
//! tree whose `upstream_repos.yml` fetches the overlay. The plugins are small but real Backstage
//! package layouts (a frontend, a backend, a common library); the recorded exporter stands in for
//! rhdh-cli in these tests.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.test")
        .env("GIT_COMMITTER_NAME", "fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.test")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

pub fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

/// Creates a repository with `files`, commits, tags `tag`; serves partial and by-SHA fetches.
pub fn repository(dir: &Path, files: &[(&str, &str)], tag: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "uploadpack.allowFilter", "true"]);
    git(dir, &["config", "uploadpack.allowReachableSHA1InWant", "true"]);
    write(dir, files);
    commit(dir, "initial");
    git(dir, &["tag", tag]);
    git(dir, &["rev-parse", "HEAD"])
}

pub fn commit(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

pub fn url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

const GREETING: &str = "// The greeting the hello plugin shows.\n\nexport const greeting = 'hello';\n\nexport function greet(name: string): string {\n  return `${greeting}, ${name}`;\n}\n\nexport function farewell(name: string): string {\n  return `goodbye, ${name}`;\n}\n";

/// A patch written against an older greeting.ts (three lines fewer above the hunk): applies with an offset.
pub const OFFSET_PATCH: &str = "diff --git a/plugins/hello/src/greeting.ts b/plugins/hello/src/greeting.ts\n--- a/plugins/hello/src/greeting.ts\n+++ b/plugins/hello/src/greeting.ts\n@@ -3,5 +3,5 @@\n export function farewell(name: string): string {\n-  return `goodbye, ${name}`;\n+  return `farewell, ${name}`;\n }\n";

pub const REJECTED_PATCH: &str = "--- plugins/greeter-backend/src/index.ts\n+++ plugins/greeter-backend/src/index.ts\n@@ -1,3 +1,3 @@\n-this line is not in the file\n+replacement\n context that does not exist\n more missing context\n";

pub struct Upstreams {
    pub root: PathBuf,
    pub community: PathBuf,
    pub flat: PathBuf,
    pub overlay: PathBuf,
    pub tree: PathBuf,
    pub community_commit: String,
}

fn plugin(name: &str, version: &str, role: &str, dependencies: &str) -> String {
    format!(
        "{{\n  \"name\": \"{name}\",\n  \"version\": \"{version}\",\n  \"main\": \"src/index.ts\",\n  \"backstage\": {{\n    \"role\": \"{role}\"\n  }},\n  \"dependencies\": {{{dependencies}}}\n}}\n"
    )
}

pub fn create(root: &Path) -> Upstreams {
    let community = root.join("community-plugins");
    let hello_frontend = plugin(
        "@acme/plugin-hello",
        "1.2.0",
        "frontend-plugin",
        "\n    \"@acme/plugin-hello-common\": \"workspace:^\",\n    \"@backstage/core-plugin-api\": \"backstage:^\"\n  ",
    );
    let hello_backend = plugin(
        "@acme/plugin-hello-backend",
        "1.2.0",
        "backend-plugin",
        "\n    \"@acme/plugin-hello-common\": \"workspace:^\"\n  ",
    );
    let hello_common = plugin("@acme/plugin-hello-common", "1.2.0", "common-library", "");
    let unsupported = plugin("@acme/plugin-hello-extra", "0.1.0", "frontend-plugin", "");
    let greeter = plugin("@acme/plugin-greeter-backend", "2.0.0", "backend-plugin", "");
    let community_commit = repository(
        &community,
        &[
            ("package.json", "{\n  \"name\": \"community-plugins\",\n  \"private\": true\n}\n"),
            (".yarnrc.yml", "nodeLinker: node-modules\n"),
            (".yarn/releases/yarn-4.4.1.cjs", "// stand-in for the Yarn release\n"),
            (
                "workspaces/hello/package.json",
                "{\n  \"name\": \"@internal/hello\",\n  \"private\": true,\n  \"packageManager\": \"yarn@4.4.1\",\n  \"workspaces\": [\"packages/*\", \"plugins/*\"],\n  \"resolutions\": {\n    \"left-pad\": \"patch:left-pad@npm%3A1.3.0#./.yarn/patches/left-pad.patch\"\n  }\n}\n",
            ),
            ("workspaces/hello/backstage.json", "{\n  \"version\": \"1.49.4\"\n}\n"),
            (
                "workspaces/hello/yarn.lock",
                "__metadata:\n  version: 8\n\n\"@backstage/core-plugin-api@backstage:^\":\n  version: 1.10.9\n  resolution: \"@backstage/core-plugin-api@npm:1.10.9\"\n",
            ),
            ("workspaces/hello/plugins/hello/package.json", &hello_frontend),
            ("workspaces/hello/plugins/hello/src/index.ts", "export * from './greeting';\n"),
            ("workspaces/hello/plugins/hello/src/greeting.ts", GREETING),
            ("workspaces/hello/plugins/hello/src/greeting.test.ts", "test('greets', () => {});\n"),
            ("workspaces/hello/plugins/hello-backend/package.json", &hello_backend),
            ("workspaces/hello/plugins/hello-backend/src/index.ts", "export const helloPlugin = 'hello-backend';\n"),
            ("workspaces/hello/plugins/hello-common/package.json", &hello_common),
            ("workspaces/hello/plugins/hello-common/src/index.ts", "export const common = true;\n"),
            ("workspaces/hello/plugins/hello-extra/package.json", &unsupported),
            ("workspaces/hello/plugins/hello-extra/src/index.ts", "export {};\n"),
            ("workspaces/hello/packages/app/package.json", "{\"name\": \"app\", \"version\": \"0.0.0\"}\n"),
            ("workspaces/hello/packages/backend/package.json", "{\"name\": \"backend\", \"version\": \"0.0.0\"}\n"),
            ("workspaces/hello/examples/entities.yaml", "kind: Component\n"),
            (
                "workspaces/greeter/package.json",
                "{\n  \"name\": \"@internal/greeter\",\n  \"private\": true,\n  \"workspaces\": [\"plugins/*\"]\n}\n",
            ),
            ("workspaces/greeter/plugins/greeter-backend/package.json", &greeter),
            ("workspaces/greeter/plugins/greeter-backend/src/index.ts", "export const greeter = 'hi';\n"),
            ("workspaces/unrelated/package.json", "{\"name\": \"@internal/unrelated\", \"private\": true}\n"),
        ],
        "v1.0.0",
    );

    let flat = root.join("flat-plugins");
    let flat_plugin = plugin("@flat/plugin-sign", "0.3.0", "backend-plugin", "");
    repository(
        &flat,
        &[
            (
                "package.json",
                "{\n  \"name\": \"flat-root\",\n  \"private\": true,\n  \"workspaces\": [\"plugins/*\"]\n}\n",
            ),
            ("plugins/sign/package.json", &flat_plugin),
            ("plugins/sign/src/index.ts", "export const sign = 1;\n"),
        ],
        "v0.3.0",
    );

    let overlay = root.join("overlay");
    let source = |repo: &Path, reference: &str, flat: bool| {
        format!(
            "{{\"repo\":\"{}\",\"repo-ref\":\"{reference}\",\"repo-flat\":{flat},\"repo-backstage-version\":\"1.49.4\"}}",
            url(repo)
        )
    };
    let hello_source = source(&community, "v1.0.0", false);
    let greeter_source = source(&community, &community_commit, false);
    let flat_source = source(&flat, "v0.3.0", true);
    let dropped_source = source(&community, "v1.0.0", false);
    repository(
        &overlay,
        &[
            ("versions.json", "{\"backstage\": \"1.49.4\"}\n"),
            (
                "rhdh-supported-packages.txt",
                "hello/plugins/hello\nhello/plugins/hello-backend\ngreeter/plugins/greeter-backend\nflat/plugins/sign\n",
            ),
            ("workspaces/hello/source.json", &hello_source),
            (
                "workspaces/hello/plugins-list.yaml",
                "plugins/hello:\nplugins/hello-backend: --embed-package @acme/plugin-hello-common\nplugins/hello-extra:\n#plugins/hello-disabled:\n",
            ),
            ("workspaces/hello/patches/0001-farewell.patch", OFFSET_PATCH),
            ("workspaces/hello/plugins/hello/overlay/src/overlay-note.ts", "export const note = 'from the overlay';\n"),
            ("workspaces/hello/plugins/hello/scalprum-config.json", "{\"name\": \"acme.plugin-hello\"}\n"),
            ("workspaces/hello/backstage.json", "{\"version\": \"1.49.5\"}\n"),
            ("workspaces/greeter/source.json", &greeter_source),
            ("workspaces/greeter/plugins-list.yaml", "plugins/greeter-backend:\n"),
            ("workspaces/flat/source.json", &flat_source),
            ("workspaces/flat/plugins-list.yaml", "plugins/sign:\n"),
            ("workspaces/dropped/source.json", &dropped_source),
            ("workspaces/dropped/plugins-list.yaml", "plugins/not-supported:\n"),
        ],
        "overlay-v1",
    );

    let tree = root.join("midstream");
    write(
        &tree,
        &[(
            "upstream_repos.yml",
            &format!(
                "rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.49.4\nrepos:\n  - repo: {}\n    branch: [does-not-exist, main]\n    destination_folder: overlay-repo\n",
                url(&overlay)
            ),
        )],
    );
    Upstreams { root: root.to_path_buf(), community, flat, overlay, tree, community_commit }
}

/// The recorded exporter script (see its header).
pub fn recorded_exporter() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-exporter.sh").display().to_string()
}
