//! Bad inputs to `index`: each gives exit code 2, one message naming the file (and line where
//! known) and the problem, and writes nothing. Every case starts from the bundled example overlay
//! and breaks one thing.

use std::path::Path;

use crate::support::{example_overlay, rhdh_catalog};

/// Breaks the overlay with `mutate`, runs `index` with `extra` args, and checks the outcome.
fn rejects(mutate: impl FnOnce(&Path), extra: &[&str], expected: &[&str]) {
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    mutate(&overlay);
    let store = format!("oci-layout:{}", work.path().join("registry").display());
    let output = rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(["index", "--registry", "quay.io/rhdh", "--rhdh-version", "1.10.0", "--store", &store])
        .arg("--overlay")
        .arg(&overlay)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "exit code; stderr:\n{stderr}");
    for fragment in expected {
        assert!(stderr.contains(fragment), "stderr lacks {fragment:?}:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!work.path().join("catalog-index").exists(), "nothing written");
    assert!(!work.path().join("plugin_builds").exists(), "nothing written");
}

fn write(path: impl AsRef<Path>, text: impl AsRef<[u8]>) {
    std::fs::write(path, text).unwrap();
}

fn replace(path: impl AsRef<Path>, from: &str, to: &str) {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    write(path, text.replacen(from, to, 1));
}

const TECH_RADAR: &str = "workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml";

#[test]
fn truncated_source_json() {
    rejects(
        |overlay| {
            write(
                overlay.join("workspaces/tech-radar/source.json"),
                r#"{"repo":"https://github.com/backstage/community-plugins","#,
            );
        },
        &[],
        &["workspaces/tech-radar/source.json:1: invalid JSON: EOF"],
    );
}

#[test]
fn source_json_with_unknown_key() {
    rejects(
        |overlay| replace(overlay.join("workspaces/tech-radar/source.json"), "\"repo-ref\"", "\"repo_ref\""),
        &[],
        &["workspaces/tech-radar/source.json", "unknown field `repo_ref`"],
    );
}

#[test]
fn source_json_ref_that_is_not_a_ref() {
    rejects(
        |overlay| {
            write(
                overlay.join("workspaces/tech-radar/source.json"),
                r#"{"repo":"https://github.com/backstage/community-plugins","repo-ref":"main..v2","repo-flat":false,"repo-backstage-version":"1.52.0"}"#,
            );
        },
        &[],
        &["workspaces/tech-radar/source.json", "`repo-ref` is `main..v2`, not a tag, branch or commit"],
    );
}

#[test]
fn source_json_missing() {
    rejects(
        |overlay| std::fs::remove_file(overlay.join("workspaces/tech-radar/source.json")).unwrap(),
        &[],
        &["workspaces/tech-radar/source.json: is missing"],
    );
}

#[test]
fn plugins_list_line_without_colon() {
    rejects(
        |overlay| {
            write(
                overlay.join("workspaces/tech-radar/plugins-list.yaml"),
                "plugins/tech-radar:\nplugins/tech-radar-backend\n",
            );
        },
        &[],
        &["workspaces/tech-radar/plugins-list.yaml:2:", "has no `:`"],
    );
}

#[test]
fn plugins_list_path_escaping_the_workspace() {
    rejects(
        |overlay| write(overlay.join("workspaces/tech-radar/plugins-list.yaml"), "plugins/tech-radar:\n../../etc:\n"),
        &[],
        &["workspaces/tech-radar/plugins-list.yaml:2:", "would leave its folder"],
    );
}

#[test]
fn plugins_list_absolute_path() {
    rejects(
        |overlay| write(overlay.join("workspaces/tech-radar/plugins-list.yaml"), "/plugins/tech-radar:\n"),
        &[],
        &["workspaces/tech-radar/plugins-list.yaml:1:", "absolute path"],
    );
}

#[test]
fn metadata_without_package_name() {
    rejects(
        |overlay| replace(overlay.join(TECH_RADAR), "  packageName: '@backstage-community/plugin-tech-radar'\n", ""),
        &[],
        &[TECH_RADAR, "`spec.packageName` is missing"],
    );
}

#[test]
fn metadata_of_another_kind() {
    rejects(
        |overlay| replace(overlay.join(TECH_RADAR), "kind: Package", "kind: Plugin"),
        &[],
        &[&format!("{TECH_RADAR}:2:"), "expected `Package`"],
    );
}

#[test]
fn metadata_yaml_syntax_error() {
    rejects(|overlay| replace(overlay.join(TECH_RADAR), "spec:\n", "spec: [\n"), &[], &[TECH_RADAR, "invalid YAML"]);
}

#[test]
fn metadata_duplicate_key() {
    rejects(
        |overlay| replace(overlay.join(TECH_RADAR), "  namespace: rhdh\n", "  namespace: rhdh\n  namespace: other\n"),
        &[],
        &[TECH_RADAR, "invalid YAML", "uplicate"],
    );
}

#[test]
fn metadata_empty_file() {
    rejects(|overlay| write(overlay.join(TECH_RADAR), ""), &[], &[TECH_RADAR, "file is empty"]);
}

#[test]
fn metadata_not_utf8() {
    rejects(
        |overlay| write(overlay.join(TECH_RADAR), b"kind: Package\ntitle: \xff\xfe\n"),
        &[],
        &[&format!("{TECH_RADAR}:2:"), "not valid UTF-8"],
    );
}

#[test]
fn metadata_wrong_type() {
    rejects(
        |overlay| replace(overlay.join(TECH_RADAR), "appConfigExamples:", "appConfigExamples: 7\n  ignored:"),
        &[],
        &[TECH_RADAR, "invalid YAML"],
    );
}

#[test]
fn metadata_package_declared_twice() {
    rejects(
        |overlay| {
            std::fs::copy(overlay.join(TECH_RADAR), overlay.join("workspaces/tech-radar/metadata/zz-copy.yaml"))
                .unwrap();
        },
        &[],
        &["workspaces/tech-radar/metadata/zz-copy.yaml", "is also declared by"],
    );
}

#[test]
fn metadata_version_that_makes_an_invalid_tag() {
    rejects(
        |overlay| replace(overlay.join(TECH_RADAR), "version: 1.20.0", "version: 1.20.0 beta"),
        &[],
        &[TECH_RADAR, "not a valid tag"],
    );
}

#[test]
fn metadata_symlink_leaving_the_tree() {
    rejects(
        |overlay| {
            let target = overlay.parent().unwrap().join("outside.yaml");
            std::fs::copy(overlay.join(TECH_RADAR), &target).unwrap();
            std::fs::remove_file(overlay.join(TECH_RADAR)).unwrap();
            std::os::unix::fs::symlink(&target, overlay.join(TECH_RADAR)).unwrap();
        },
        &[],
        &[TECH_RADAR, "symbolic link"],
    );
}

#[test]
fn default_packages_unknown_key() {
    rejects(
        |overlay| {
            replace(
                overlay.join("default.packages.yaml"),
                "  - package: '@backstage-community/plugin-tech-radar'",
                "  - pakage: '@backstage-community/plugin-tech-radar'",
            );
        },
        &[],
        &["default.packages.yaml", "unknown field `pakage`"],
    );
}

#[test]
fn default_packages_entry_without_metadata() {
    rejects(
        |overlay| {
            replace(
                overlay.join("default.packages.yaml"),
                "'@backstage-community/plugin-tech-radar'",
                "'@backstage-community/plugin-no-such'",
            );
        },
        &[],
        &["default.packages.yaml:15:", "`@backstage-community/plugin-no-such` has no metadata file"],
    );
}

#[test]
fn default_packages_duplicate_entry() {
    rejects(
        |overlay| {
            replace(
                overlay.join("default.packages.yaml"),
                "'@backstage-community/plugin-tech-radar-backend'",
                "'@backstage-community/plugin-tech-radar'",
            );
        },
        &[],
        &["default.packages.yaml:17:", "listed twice"],
    );
}

#[test]
fn default_packages_truncated() {
    rejects(
        |overlay| write(overlay.join("default.packages.yaml"), "packages:\n  enabled:\n  - package: '@backstage"),
        &[],
        &["default.packages.yaml", "invalid YAML"],
    );
}

#[test]
fn supported_list_line_matching_no_plugin() {
    rejects(
        |overlay| {
            replace(
                overlay.join("rhdh-supported-packages.txt"),
                "tech-radar/plugins/tech-radar\n",
                "tech-radar/plugins/tech-radr\n",
            );
        },
        &[],
        &["rhdh-supported-packages.txt:7:", "`tech-radar/plugins/tech-radr` matches no metadata file"],
    );
}

#[test]
fn supported_list_path_escaping() {
    rejects(
        |overlay| {
            replace(
                overlay.join("rhdh-supported-packages.txt"),
                "tech-radar/plugins/tech-radar\n",
                "tech-radar/../../../etc/passwd\n",
            );
        },
        &[],
        &["rhdh-supported-packages.txt:7:", "would leave its folder"],
    );
}

#[test]
fn versions_json_not_a_version() {
    rejects(
        |overlay| replace(overlay.join("versions.json"), "\"1.52.0\"", "\"latest\""),
        &[],
        &["versions.json", "`backstage` is `latest`"],
    );
}

#[test]
fn versions_json_missing_without_flag() {
    rejects(
        |overlay| std::fs::remove_file(overlay.join("versions.json")).unwrap(),
        &[],
        &["versions.json", "--backstage-version"],
    );
}

#[test]
fn backstage_json_malformed() {
    rejects(
        |overlay| write(overlay.join("workspaces/tech-radar/backstage.json"), "{\"version\": 1.49}"),
        &[],
        &["workspaces/tech-radar/backstage.json", "invalid JSON"],
    );
}

#[test]
fn plugin_entity_in_the_wrong_folder() {
    rejects(
        |overlay| {
            replace(
                overlay.join("catalog-entities/extensions/plugins/tech-radar.yaml"),
                "kind: Plugin",
                "kind: PluginCollection",
            );
        },
        &[],
        &["catalog-entities/extensions/plugins/tech-radar.yaml:3:", "plugins/ holds `Plugin` entities"],
    );
}

#[test]
fn registry_that_is_not_a_reference() {
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let output = rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(["index", "--registry", "quay io/rhdh", "--rhdh-version", "1.10.0"])
        .arg("--overlay")
        .arg(&overlay)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--registry `quay io/rhdh`: `quay io` is not a registry host"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn rhdh_tags_without_rhdh_version() {
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let output = rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(["index", "--registry", "quay.io/rhdh", "--dry-run"])
        .arg("--overlay")
        .arg(&overlay)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--rhdh-version is required"));
}

#[test]
fn unknown_flag_is_usage_error() {
    let work = tempfile::tempdir().unwrap();
    let output =
        rhdh_catalog(work.path()).args(["index", "--registry", "quay.io/rhdh", "--no-such-flag"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
