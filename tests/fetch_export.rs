//! `fetch` and `export` on fixture upstreams (local git repositories) with the recorded exporter:
//! planning, cache keys and the no-op run, patches with offsets and rejected hunks, overlay
//! folders, pruning, dependency pinning, failure isolation, path traversal.

use std::path::Path;

use serde_json::Value;

use crate::support::upstreams::{self, Upstreams, commit, recorded_exporter, write};
use crate::support::{files_under, rhdh_catalog};

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))).unwrap()
}

fn fetch(fixture: &Upstreams, extra: &[&str]) -> std::process::Output {
    rhdh_catalog(&fixture.root).arg("fetch").arg("--tree").arg(&fixture.tree).args(extra).output().unwrap()
}

fn export(fixture: &Upstreams, extra: &[&str]) -> std::process::Output {
    rhdh_catalog(&fixture.root)
        .arg("export")
        .arg("--tree")
        .arg(&fixture.tree)
        .args(["--exporter", &recorded_exporter(), "--install-command", "test -f package.json", "--tsc-command", ""])
        .args(extra)
        .output()
        .unwrap()
}

fn decisions(plan: &Value) -> Vec<(String, String)> {
    plan["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|workspace| {
            (workspace["name"].as_str().unwrap().to_string(), workspace["decision"].as_str().unwrap().to_string())
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(name, decision)| ((*name).to_string(), (*decision).to_string())).collect()
}

#[test]
fn fetch_plans_then_export_then_nothing_to_do() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    let results = scratch.path().join("results");
    std::fs::create_dir_all(&results).unwrap();

    let output = fetch(&fixture, &["--results-dir", results.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        fixture.tree.join("overlay-repo/workspaces/hello/source.json").is_file(),
        "overlay copied into its destination"
    );
    assert!(!fixture.tree.join("overlay-repo/.git").exists());
    let plan = read_json(&fixture.tree.join("plan.json"));
    assert_eq!(
        decisions(&plan),
        pairs(&[("dropped", "drop"), ("flat", "export"), ("greeter", "export"), ("hello", "export")])
    );
    assert_eq!(plan["sources"][0]["branch"], "main", "the first candidate branch does not exist");
    let hello = plan["workspaces"].as_array().unwrap().iter().find(|workspace| workspace["name"] == "hello").unwrap();
    assert_eq!(hello["reason"], "never exported");
    assert_eq!(hello["plugins"].as_array().unwrap().len(), 2, "hello-extra is not supported");
    assert_eq!(hello["plugins"][1]["flags"], serde_json::json!(["--embed-package", "@acme/plugin-hello-common"]));
    assert_eq!(std::fs::read_to_string(results.join("batches")).unwrap(), r#"["0","1","2"]"#);
    assert_eq!(std::fs::read_to_string(results.join("rhdh-version")).unwrap(), "1.10.0");
    assert_eq!(std::fs::read_to_string(results.join("backstage-version")).unwrap(), "1.49.4");

    // The table of --dry-run.
    let output = fetch(&fixture, &["--dry-run"]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.lines().any(|line| line.starts_with("dropped") && line.contains("drop") && line.contains("no plugin")),
        "{table}"
    );

    let output =
        export(&fixture, &["--batch", "0", "--batch", "1", "--batch", "2", "--results-dir", results.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let status: Value = serde_json::from_str(&std::fs::read_to_string(results.join("status")).unwrap()).unwrap();
    assert_eq!(status, serde_json::json!({"flat": "1/0", "greeter": "1/0", "hello": "2/0"}));
    for workspace in ["hello", "greeter", "flat"] {
        assert!(
            fixture.tree.join("workspaces").join(workspace).join(".rhdh-catalog-export.json").is_file(),
            "{workspace}"
        );
    }

    // No change upstream or in the overlay: every workspace is skipped.
    let output = fetch(&fixture, &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan = read_json(&fixture.tree.join("plan.json"));
    assert_eq!(
        decisions(&plan),
        pairs(&[("dropped", "drop"), ("flat", "skip"), ("greeter", "skip"), ("hello", "skip")])
    );
    assert_eq!(plan["batches"], serde_json::json!({}));
    assert!(fetch(&fixture, &["--results-dir", results.to_str().unwrap()]).status.success());
    assert_eq!(
        std::fs::read_to_string(results.join("batches")).unwrap(),
        r#"["none"]"#,
        "a matrix over [] would skip the index"
    );
    let output = export(&fixture, &["--batch", "none", "--results-dir", results.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read_to_string(results.join("status")).unwrap(), "{}");

    // An overlay change re-plans only its workspace, and says why.
    write(&fixture.overlay, &[("workspaces/flat/plugins-list.yaml", "plugins/sign: --embed-package @flat/x\n")]);
    commit(&fixture.overlay, "flat: embed x");
    let output = fetch(&fixture, &[]);
    assert!(output.status.success());
    let plan = read_json(&fixture.tree.join("plan.json"));
    assert_eq!(
        decisions(&plan),
        pairs(&[("dropped", "drop"), ("flat", "export"), ("greeter", "skip"), ("hello", "skip")])
    );
    let flat = plan["workspaces"].as_array().unwrap().iter().find(|workspace| workspace["name"] == "flat").unwrap();
    assert_eq!(flat["reason"], "overlay workspace changed");
}

#[test]
fn export_prepares_sources_like_sync_midstream() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    assert!(fetch(&fixture, &[]).status.success());
    let work = scratch.path().join("work");
    let output = export(&fixture, &["--workspace", "hello", "--work-dir", work.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let copy = fixture.tree.join("workspaces/hello");

    // The patch applied with an offset; the overlay folder was copied in.
    let greeting = std::fs::read_to_string(copy.join("plugins/hello/src/greeting.ts")).unwrap();
    assert!(greeting.contains("return `farewell, ${name}`;"), "{greeting}");
    assert!(copy.join("plugins/hello/src/overlay-note.ts").is_file());
    let report = read_json(&fixture.tree.join("export-report.json"));
    assert_eq!(report["workspaces"]["hello"]["patches-applied"], serde_json::json!(["0001-farewell.patch"]));

    // The overlay's backstage.json overrides the upstream one.
    assert_eq!(read_json(&copy.join("backstage.json")), serde_json::json!({"version": "1.49.5"}));

    // Dependencies pinned, yarn patch resolutions and packageManager dropped, yarnPath set.
    let frontend = read_json(&copy.join("plugins/hello/package.json"));
    assert_eq!(frontend["dependencies"]["@acme/plugin-hello-common"], "^1.2.0");
    assert_eq!(frontend["dependencies"]["@backstage/core-plugin-api"], "^1.10.9");
    let root = read_json(&copy.join("package.json"));
    assert!(root.get("packageManager").is_none());
    assert_eq!(root["resolutions"], serde_json::json!({}));
    assert_eq!(
        std::fs::read_to_string(copy.join(".yarnrc.yml")).unwrap(),
        "nodeLinker: node-modules\nyarnPath: .yarn/releases/yarn-4.4.1.cjs\n"
    );
    assert_eq!(
        read_json(&copy.join("manifest.json")),
        serde_json::json!({"@acme/plugin-hello": "1.2.0", "@acme/plugin-hello-backend": "1.2.0", "@acme/plugin-hello-common": "1.2.0"})
    );

    // Pruned: unsupported plugin, app/backend packages, examples, tests; dist-dynamic trimmed.
    let files = files_under(&copy);
    for gone in [
        "plugins/hello-extra/package.json",
        "packages/app/package.json",
        "packages/backend/package.json",
        "examples/entities.yaml",
        "plugins/hello/src/greeting.test.ts",
    ] {
        assert!(!files.contains(&gone.to_string()), "{gone} should be gone: {files:?}");
    }
    assert!(files.contains(&"plugins/hello-common/package.json".to_string()), "libraries the plugins use stay");
    let dist: Vec<&String> = files.iter().filter(|file| file.contains("dist-dynamic")).collect();
    assert_eq!(
        dist,
        [
            "plugins/hello-backend/dist-dynamic/embedded/@acme/plugin-hello-common/package.json",
            "plugins/hello-backend/dist-dynamic/package.json",
            "plugins/hello-backend/dist-dynamic/yarn.lock",
            "plugins/hello/dist-dynamic/package.json",
            "plugins/hello/dist-dynamic/yarn.lock",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(copy.join("plugins-list.yaml")).unwrap(),
        "plugins/hello:\nplugins/hello-backend: --embed-package @acme/plugin-hello-common\n# not supported: plugins/hello-extra:\n#plugins/hello-disabled:\n"
    );
    // The exporter got the plugins-list flags, and the overlay's scalprum config for the frontend.
    let flags = |plugin: &str| {
        std::fs::read_to_string(
            work.join("hello/upstream/workspaces/hello").join(plugin).join("dist-dynamic/export-flags.txt"),
        )
        .unwrap()
    };
    assert_eq!(flags("plugins/hello-backend"), "--embed-package\n@acme/plugin-hello-common\n");
    let frontend_flags = flags("plugins/hello");
    assert!(
        frontend_flags.starts_with("--scalprum-config\n")
            && frontend_flags.contains("workspaces/hello/plugins/hello/scalprum-config.json"),
        "{frontend_flags}"
    );
    let state = read_json(&copy.join(".rhdh-catalog-export.json"));
    assert_eq!(state["upstream-commit"], fixture.community_commit);
    assert_eq!(state["plugins"], serde_json::json!(["plugins/hello", "plugins/hello-backend"]));
}

#[test]
fn rejected_patch_and_failing_plugin_fail_alone() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    write(&fixture.overlay, &[("workspaces/greeter/patches/0001-broken.patch", upstreams::REJECTED_PATCH)]);
    commit(&fixture.overlay, "greeter: a patch that no longer applies");
    // A flat plugin whose export fails.
    write(&fixture.flat, &[("plugins/sign/EXPORT_FAILS", "")]);
    let flat_commit = commit(&fixture.flat, "break the export");
    let source = std::fs::read_to_string(fixture.overlay.join("workspaces/flat/source.json"))
        .unwrap()
        .replace("v0.3.0", &flat_commit);
    write(&fixture.overlay, &[("workspaces/flat/source.json", &source)]);
    commit(&fixture.overlay, "flat: pin the broken commit");
    assert!(fetch(&fixture, &[]).status.success());

    let output = export(&fixture, &["--workspace", "greeter", "--workspace", "hello", "--workspace", "flat"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("2 plugin(s) failed to export"), "{stderr}");
    let report = read_json(&fixture.tree.join("export-report.json"));
    let greeter = &report["workspaces"]["greeter"];
    assert_eq!(greeter["status"], "failed");
    let cause = greeter["cause"].as_str().unwrap();
    assert!(cause.contains("0001-broken.patch") && cause.contains("Hunk #1 FAILED"), "{cause}");
    assert!(
        cause.contains(
            "rejected hunk #1 of plugins/greeter-backend/src/index.ts:\n@@ -1,3 +1,3 @@\n-this line is not in the file"
        ),
        "{cause}"
    );
    let flat = &report["workspaces"]["flat"]["plugins"][0];
    assert_eq!(flat["status"], "failed");
    assert!(
        flat["log-tail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|line| line.as_str().unwrap().contains("Could not find the static plugin yarn.lock")),
        "{flat}"
    );
    assert_eq!(report["workspaces"]["hello"]["status"], "exported", "other workspaces go on");
    assert!(fixture.tree.join("workspaces/hello/.rhdh-catalog-export.json").is_file());
    assert!(!fixture.tree.join("workspaces/greeter").exists(), "a failed workspace writes nothing");
    assert!(!fixture.tree.join("workspaces/flat").exists());
    // The upstream sources of greeter were not half-patched: nothing of it reached the tree, and a
    // later fetch still plans it for export.
    assert!(fetch(&fixture, &[]).status.success());
    let plan = read_json(&fixture.tree.join("plan.json"));
    assert_eq!(
        decisions(&plan),
        pairs(&[("dropped", "drop"), ("flat", "export"), ("greeter", "export"), ("hello", "skip")])
    );
}

#[test]
fn paths_leaving_the_tree_are_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    // upstream_repos.yml destination outside the tree.
    let upstream = fixture.tree.join("upstream_repos.yml");
    let original = std::fs::read_to_string(&upstream).unwrap();
    std::fs::write(&upstream, original.replace("destination_folder: overlay-repo", "destination_folder: ../escape"))
        .unwrap();
    let output = fetch(&fixture, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("upstream_repos.yml:9: `destination_folder` `../escape` contains `..`"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!scratch.path().join("escape").exists());
    std::fs::write(&upstream, original).unwrap();

    // plugins-list path climbing out of the workspace.
    write(&fixture.overlay, &[("workspaces/hello/plugins-list.yaml", "plugins/hello:\n../../../../etc:\n")]);
    commit(&fixture.overlay, "escape");
    let output = fetch(&fixture, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("workspaces/hello/plugins-list.yaml:2:"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    write(&fixture.overlay, &[("workspaces/hello/plugins-list.yaml", "plugins/hello:\n")]);

    // source.json ref that is not a ref.
    let source = std::fs::read_to_string(fixture.overlay.join("workspaces/hello/source.json")).unwrap();
    write(&fixture.overlay, &[("workspaces/hello/source.json", &source.replace("v1.0.0", "../../v1"))]);
    commit(&fixture.overlay, "bad ref");
    let output = fetch(&fixture, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a tag, branch or commit"));
    write(&fixture.overlay, &[("workspaces/hello/source.json", &source)]);

    // An overlay folder holding a link out of the tree fails its workspace, nothing is copied.
    std::os::unix::fs::symlink(
        "/etc/passwd",
        fixture.overlay.join("workspaces/hello/plugins/hello/overlay/src/passwd"),
    )
    .unwrap();
    commit(&fixture.overlay, "link out");
    let output = fetch(&fixture, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a symbolic link to /etc/passwd outside the repository"), "{stderr}");
}

/// The default `--tree .`: run from inside the midstream checkout with no `--tree`, the patches
/// still apply (their paths are made absolute before `patch -d` changes folders).
#[test]
fn export_with_the_default_tree_applies_its_patches() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    let output = rhdh_catalog(&fixture.root).current_dir(&fixture.tree).arg("fetch").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = rhdh_catalog(&fixture.root)
        .current_dir(&fixture.tree)
        .args(["export", "--workspace", "hello", "--exporter", &recorded_exporter()])
        .args(["--install-command", "test -f package.json", "--tsc-command", ""])
        .output()
        .unwrap();
    let report = read_json(&fixture.tree.join("export-report.json"));
    assert!(output.status.success(), "{}\n{report:#}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(report["workspaces"]["hello"]["patches-applied"], serde_json::json!(["0001-farewell.patch"]));
    let greeting =
        std::fs::read_to_string(fixture.tree.join("workspaces/hello/plugins/hello/src/greeting.ts")).unwrap();
    assert!(greeting.contains("farewell"), "{greeting}");
    // The record index reads instead of matching names: each exported folder with its npm name and image.
    let state = read_json(&fixture.tree.join("workspaces/hello/.rhdh-catalog-export.json"));
    assert_eq!(
        state["exported"],
        serde_json::json!([
            {"path": "plugins/hello", "package": "@acme/plugin-hello", "image": "acme-plugin-hello"},
            {"path": "plugins/hello-backend", "package": "@acme/plugin-hello-backend", "image": "acme-plugin-hello-backend"}
        ])
    );
}

/// The overlay served by a remote that counts the packs it sends (clones and fetches, not
/// `ls-remote`): a fetch after which nothing moved clones nothing and plans the same; a moved
/// upstream, an edited destination folder or a changed `exclude` is cloned again.
#[test]
fn a_no_op_fetch_clones_nothing_and_what_moved_is_cloned_again() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    let remote = crate::support::counting_remote::CountingRemote::start(scratch.path());
    let upstream_repos = fixture.tree.join("upstream_repos.yml");
    let original = std::fs::read_to_string(&upstream_repos).unwrap();
    let served = original.replace(&upstreams::url(&fixture.overlay), &remote.url(&fixture.overlay));
    assert_ne!(served, original);
    std::fs::write(&upstream_repos, &served).unwrap();
    let fetched = |expected_packs: usize, why: &str| {
        let output = fetch(&fixture, &[]);
        assert!(output.status.success(), "{why}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(remote.packs(), vec!["overlay".to_string(); expected_packs], "{why}");
        read_json(&fixture.tree.join("plan.json"))
    };

    let first = fetched(1, "the first fetch clones the overlay");
    let head = upstreams::git(&fixture.overlay, &["rev-parse", "HEAD"]);
    assert_eq!(first["sources"][0]["commit"], head.as_str());
    let record = read_json(&fixture.tree.join("overlay-repo/.rhdh-catalog-fetch.json"));
    assert_eq!(record["sources"][0]["commit"], head.as_str());
    assert_eq!(record["sources"][0]["branch"], "main", "the first candidate branch does not exist");

    let again = fetched(1, "nothing moved: no clone");
    assert_eq!(again, first, "the same plan, with the same sources");

    // An edited destination folder is not what the record describes: fetched again, the edit
    // overwritten by the upstream file.
    let versions = fixture.tree.join("overlay-repo/versions.json");
    let upstream_versions = std::fs::read_to_string(&versions).unwrap();
    std::fs::write(&versions, "{\"backstage\": \"9.9.9\"}\n").unwrap();
    fetched(2, "an edited destination is fetched again");
    assert_eq!(std::fs::read_to_string(&versions).unwrap(), upstream_versions);
    fetched(2, "and then it is unchanged again");

    // The upstream moved: cloned, and the plan names the new commit.
    write(&fixture.overlay, &[("workspaces/flat/plugins-list.yaml", "plugins/sign: --embed-package @flat/x\n")]);
    let moved = commit(&fixture.overlay, "flat: embed x");
    let plan = fetched(3, "a moved upstream is cloned");
    assert_eq!(plan["sources"][0]["commit"], moved.as_str());
    fetched(3, "and not again");

    // The entry changed (an exclude): what was copied may differ, so it is fetched again.
    std::fs::write(&upstream_repos, format!("{served}    exclude: [versions.json]\n")).unwrap();
    fetched(4, "a changed exclude list is fetched again");
    fetched(4, "and not again");
}
