//! The bad-input corpus beyond `index` (see `index_bad_input.rs` for the overlay formats): every
//! other format a step reads, each case broken in one way. Every case asserts exit code 2, a
//! message naming the file (or flag) and the problem, and that the step wrote nothing.

use std::path::{Path, PathBuf};

use crate::support::upstreams::{self, commit, recorded_exporter, write};
use crate::support::{rhdh_catalog, write_dist_dynamic};

struct Case {
    /// Arguments of the run, with `{dir}` replaced by the case's folder.
    args: Vec<String>,
    /// Text stderr must hold.
    expected: Vec<String>,
    /// Paths (relative to the case's folder) that must not exist afterwards.
    not_written: Vec<&'static str>,
}

fn check(name: &str, dir: &Path, case: Case) {
    let args: Vec<String> = case.args.iter().map(|arg| arg.replace("{dir}", &dir.display().to_string())).collect();
    let output = rhdh_catalog(dir).current_dir(dir).args(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{name}: exit code; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    for fragment in &case.expected {
        assert!(stderr.contains(fragment.as_str()), "{name}: stderr lacks {fragment:?}:\n{stderr}");
    }
    for path in case.not_written {
        assert!(!dir.join(path).exists(), "{name}: {path} was written");
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_string()).collect()
}

const UPSTREAM_REPOS: &str = "rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.49.4\nrepos:\n  - repo: https://github.com/x/overlays\n    branch: main\n    destination_folder: overlay-repo\n";

#[test]
fn upstream_repos_yml() {
    let cases: [(&str, String, &str); 8] = [
        ("truncated", "rhdh:\n  branch: main\n  version: [1.10".into(), "invalid YAML"),
        ("wrong type", UPSTREAM_REPOS.replace("repos:\n  - repo:", "repos: 7\n  ignored:"), "invalid YAML"),
        ("unknown key", UPSTREAM_REPOS.replace("destination_folder", "destination"), "unknown field `destination`"),
        ("empty", String::new(), "file is empty"),
        ("branch not a ref", UPSTREAM_REPOS.replace("branch: main", "branch: 'main branch'"), "is not a valid git ref"),
        (
            "absolute destination",
            UPSTREAM_REPOS.replace("destination_folder: overlay-repo", "destination_folder: /etc"),
            "absolute path",
        ),
        (
            "not a repository URL",
            UPSTREAM_REPOS.replace("https://github.com/x/overlays", "ftp://example.com/x"),
            "is not an https:// URL",
        ),
        (
            "version not a version",
            UPSTREAM_REPOS.replace("version: 1.10.0", "version: latest"),
            "`rhdh.version` is `latest`",
        ),
    ];
    for (name, text, problem) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("upstream_repos.yml"), text).unwrap();
        check(
            name,
            dir.path(),
            Case {
                args: strings(&["fetch", "--tree", "{dir}"]),
                expected: strings(&["upstream_repos.yml", problem]),
                not_written: vec!["plan.json", "overlay-repo"],
            },
        );
    }
}

#[test]
fn plan_json_for_export() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("overlay-repo/workspaces")).unwrap();
    check(
        "missing plan",
        dir.path(),
        Case {
            args: strings(&["export", "--tree", "{dir}", "--batch", "0"]),
            expected: strings(&["plan.json: does not exist", "run `rhdh-catalog fetch` first"]),
            not_written: vec!["workspaces", "export-report.json"],
        },
    );
    std::fs::write(dir.path().join("plan.json"), "{\"workspaces\": [}").unwrap();
    check(
        "malformed plan",
        dir.path(),
        Case {
            args: strings(&["export", "--tree", "{dir}", "--batch", "0"]),
            expected: strings(&["plan.json:1: invalid JSON"]),
            not_written: vec!["workspaces", "export-report.json"],
        },
    );
}

#[test]
fn dynamic_plugins_yaml_for_validate() {
    let cases: [(&str, &[u8], &str); 4] = [
        ("truncated", b"plugins:\n  - package: [oci://x\n", "invalid YAML"),
        ("wrong type", b"plugins: 5\n", "invalid YAML"),
        ("not UTF-8", b"plugins:\n  - package: \xff\xfe\n", "not valid UTF-8"),
        ("package missing", b"plugins:\n  - disabled: true\n", "missing field `package`"),
    ];
    for (name, bytes, problem) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dynamic-plugins.yaml"), bytes).unwrap();
        check(
            name,
            dir.path(),
            Case {
                args: strings(&["validate", "{dir}/dynamic-plugins.yaml", "--no-registry"]),
                expected: strings(&["dynamic-plugins.yaml", problem]),
                not_written: vec![],
            },
        );
    }
}

#[test]
fn package_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("dist-dynamic");
    write_dist_dynamic(&plugin, "@acme/plugin-x", "1.0.0", "frontend-plugin");
    let store = format!("oci-layout:{}", dir.path().join("registry").display());
    for (name, tag, problem) in [
        ("tag without tag", "quay.io/acme/x", "neither a tag nor a digest"),
        ("not a reference", "quay.io/ACME/x:1", "is not a repository path"),
        (
            "digest given",
            "quay.io/acme/x@sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479",
            "must name a tag and no digest",
        ),
    ] {
        check(
            name,
            dir.path(),
            Case {
                args: vec![
                    "package".into(),
                    plugin.display().to_string(),
                    "--tag".into(),
                    tag.into(),
                    "--store".into(),
                    store.clone(),
                ],
                expected: strings(&[problem]),
                not_written: vec!["registry"],
            },
        );
    }
    std::fs::write(plugin.join("package.json"), "{\"name\": ").unwrap();
    check(
        "broken package.json",
        dir.path(),
        Case {
            args: vec![
                "package".into(),
                plugin.display().to_string(),
                "--tag".into(),
                "quay.io/acme/x:1".into(),
                "--store".into(),
                store,
            ],
            expected: strings(&["dist-dynamic/package.json:1: invalid JSON"]),
            not_written: vec!["registry"],
        },
    );
}

#[test]
fn containerfiles_and_versions_for_release_number() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("build/containerfiles/index.Containerfile", "FROM scratch\nLABEL name=x\n")]);
    check(
        "no version or release",
        dir.path(),
        Case {
            args: strings(&[
                "release-number",
                "--tree",
                "{dir}",
                "--version",
                "1.10.0",
                "--changed",
                "true",
                "--image",
                "quay.io/rhdh/plugin-catalog-index",
                "--store",
                "oci-layout:{dir}/registry",
            ]),
            expected: strings(&["index.Containerfile", "has no `version=` or `release=`"]),
            not_written: vec![],
        },
    );
    check(
        "version not a version",
        dir.path(),
        Case {
            args: strings(&["release-number", "--tree", "{dir}", "--version", "latest"]),
            expected: strings(&["--rhdh-version `latest` is not a version"]),
            not_written: vec![],
        },
    );
    check(
        "no containerfiles",
        dir.path(),
        Case {
            args: strings(&["release-number", "--tree", "{dir}", "--version", "1.10.0", "--containerfiles", "nowhere"]),
            expected: strings(&["nowhere", "holds neither"]),
            not_written: vec![],
        },
    );
}

#[test]
fn rollback_records_and_other_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rollback.json"), "{\"repository\": 1}").unwrap();
    check(
        "malformed rollback",
        dir.path(),
        Case {
            args: strings(&["promote", "--rollback", "{dir}/rollback.json", "--store", "oci-layout:{dir}/registry"]),
            expected: strings(&["rollback.json", "invalid JSON"]),
            not_written: vec![],
        },
    );
    check(
        "diff of nothing",
        dir.path(),
        Case {
            args: strings(&["diff", "{dir}/no-such-index", "{dir}/neither"]),
            expected: strings(&["is neither an existing folder nor an image reference"]),
            not_written: vec![],
        },
    );
    let tree = dir.path().join("tree");
    upstreams::repository(&tree, &[("README.md", "x\n")], "v1");
    check(
        "commit path escaping",
        dir.path(),
        Case {
            args: strings(&["commit", "--tree", "{dir}/tree", "--path", "../outside"]),
            expected: strings(&["--path `../outside` contains `..`"]),
            not_written: vec![],
        },
    );
    check(
        "sync param unknown",
        dir.path(),
        Case {
            args: strings(&["sync", "--tree", "{dir}/tree", "--param", "nope=1", "--out", "{dir}/out"]),
            expected: strings(&["the pipeline has no param `nope`"]),
            not_written: vec!["out/state"],
        },
    );
}

#[test]
fn a_huge_metadata_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = crate::support::example_overlay(dir.path());
    let file = overlay.join("workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("# ");
    text.push_str(&"x".repeat(17 * 1024 * 1024));
    text.push('\n');
    std::fs::write(&file, text).unwrap();
    check(
        "huge file",
        dir.path(),
        Case {
            args: strings(&[
                "index",
                "--overlay",
                "{dir}/overlay",
                "--registry",
                "quay.io/rhdh",
                "--rhdh-version",
                "1.10.0",
                "--store",
                "oci-layout:{dir}/registry",
            ]),
            expected: strings(&["backstage-community-plugin-tech-radar.yaml", "larger than the 16777216 bytes"]),
            not_written: vec!["catalog-index", "plugin_builds"],
        },
    );
}

#[test]
fn a_tar_layer_with_a_link_out_of_the_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    std::fs::create_dir_all(source.join("a")).unwrap();
    std::os::unix::fs::symlink("../../../etc", source.join("a/escape")).unwrap();
    let store = format!("oci-layout:{}", dir.path().join("artifacts").display());
    let output = rhdh_catalog(dir.path())
        .args(["artifact", "--artifact-store", &store, "create", "--store", "localhost/run.test"])
        .arg(&source)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let uri = String::from_utf8(output.stdout).unwrap().trim().to_string();
    check(
        "link out of the tree",
        dir.path(),
        Case {
            args: vec![
                "artifact".into(),
                "--artifact-store".into(),
                store,
                "use".into(),
                format!("{uri}={}/restored", dir.path().display()),
            ],
            expected: strings(&["archive link `a/escape` → `../../../etc` would leave the destination"]),
            not_written: vec!["restored/a/escape"],
        },
    );
}

#[test]
fn a_plugins_list_folder_missing_upstream() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    write(
        &fixture.overlay,
        &[
            ("workspaces/greeter/plugins-list.yaml", "plugins/greeter-backend:\nplugins/greeter-gone:\n"),
            (
                "rhdh-supported-packages.txt",
                "hello/plugins/hello\nhello/plugins/hello-backend\ngreeter/plugins/greeter-backend\ngreeter/plugins/greeter-gone\nflat/plugins/sign\n",
            ),
        ],
    );
    commit(&fixture.overlay, "a folder that is not upstream");
    assert!(
        rhdh_catalog(scratch.path()).arg("fetch").arg("--tree").arg(&fixture.tree).output().unwrap().status.success()
    );
    let tree: PathBuf = fixture.tree.clone();
    check(
        "missing plugin folder",
        &tree,
        Case {
            args: vec![
                "export".into(),
                "--workspace".into(),
                "greeter".into(),
                "--exporter".into(),
                recorded_exporter(),
                "--install-command".into(),
                String::new(),
                "--tsc-command".into(),
                String::new(),
            ],
            expected: strings(&[
                "workspaces/greeter/plugins-list.yaml:2: `plugins/greeter-gone` does not exist in",
                "fix plugins-list.yaml",
            ]),
            not_written: vec!["workspaces/greeter"],
        },
    );
}

/// A reader that stops early (`rhdh-catalog validate … | head -1`) ends the tool quietly: no panic
/// message on stderr, the SIGPIPE status a Unix filter reports.
#[test]
fn a_closed_stdout_ends_the_step_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::reference_data()
        .join("catalog-index-main/catalog-index/supported/dynamic-plugins.default.yaml");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rhdh-catalog"))
        .args(["validate", file.to_str().unwrap(), "--no-registry"])
        .env("HOME", dir.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(141), "{stderr}");
}
