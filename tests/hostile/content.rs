//! Content the installer would reject (or misread) is refused before it is written: a metadata
//! `spec.dynamicArtifact` that climbs out of `./dynamic-plugins/dist/`, holds a newline, a tab or
//! another local path (`index`, exit 2 naming the file and line); a local package in a
//! `dynamic-plugins*.yaml` that leaves the installer's folder (`validate`, exit 1 with the
//! `local-path` finding); one tag naming two images in an OCI layout (exit 2 naming
//! `index.json`); release facts that would become labels (`publish --rhdh-version 'x; y'`, exit 2
//! naming the flag).

use super::images::{Entry, put_image, repository_dir, tar_gz};
use super::{Expect, check, index_args, report, strings, write_files};
use crate::support::example_overlay;

const METADATA: &str = "overlay/workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml";
const ORIGINAL: &str = "  dynamicArtifact: oci://ghcr.io/redhat-developer/rhdh-plugin-export-overlays/backstage-community-plugin-tech-radar:bs_1.52.0__1.20.0\n";

#[test]
fn hostile_dynamic_artifacts() {
    let cases: Vec<(&str, &str, &str)> = vec![
        ("climbing out of the wrappers folder", "./dynamic-plugins/dist/../../../etc/evil", "one plain folder name"),
        ("a newline", "\"oci://quay.io/rhdh/x:1\\nrm -rf /\"", "U+000A"),
        ("a tab", "\"./dynamic-plugins/dist/a\\tb\"", "U+0009"),
        ("a carriage return", "\"./dynamic-plugins/dist/a\\rb\"", "U+000D"),
        ("an absolute path", "/etc/evil", "a local path outside"),
        ("a parent folder", "../evil", "a local path outside"),
        ("a home folder", "~/.ssh/evil", "a local path outside"),
        ("another local folder", "./other/evil", "a local path outside"),
        ("a wrapper two levels deep", "./dynamic-plugins/dist/a/b", "one plain folder name"),
        ("a wrapper that is the folder itself", "./dynamic-plugins/dist/", "one plain folder name"),
        ("a plugin path climbing out", "oci://quay.io/rhdh/x:1!../../etc", "plugin folder"),
        ("a plugin path with a slash", "oci://quay.io/rhdh/x:1!a/b", "plugin folder"),
        ("an OCI reference with uppercase", "oci://quay.io/RHDH/x:1", "is not an image reference"),
        ("an OCI reference with a space", "\"oci://quay.io/rhdh/x:1 --privileged\"", "U+0020"),
        ("a dynamicArtifact of shell", "\"$(touch pwned-marker)\"", "spec.dynamicArtifact"),
    ];
    let results = cases
        .into_iter()
        .map(|(name, value, problem)| {
            let work = tempfile::tempdir().unwrap();
            example_overlay(work.path());
            let path = work.path().join(METADATA);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(ORIGINAL));
            std::fs::write(&path, text.replace(ORIGINAL, &format!("  dynamicArtifact: {value}\n"))).unwrap();
            check(
                name,
                work.path(),
                &strings(&[
                    "index",
                    "--registry",
                    "quay.io/rhdh",
                    "--rhdh-version",
                    "1.10.0",
                    "--overlay",
                    "overlay",
                    "--dry-run",
                ]),
                &Expect::bad_input(&[
                    "backstage-community-plugin-tech-radar.yaml:19:",
                    "`spec.dynamicArtifact`",
                    problem,
                ]),
            )
        })
        .collect();
    report("dynamicArtifact", results);
}

#[test]
fn hostile_local_packages_in_dynamic_plugins_files() {
    let results = [
        "./dynamic-plugins/dist/../..",
        "./dynamic-plugins/dist/../../../../etc",
        "./a/./b",
        "../plugins/x",
        "/opt/app-root/src/dynamic-plugins/dist/x",
        "./",
        "./a//b",
    ]
    .into_iter()
    .map(|package| {
        let work = tempfile::tempdir().unwrap();
        write_files(
            work.path(),
            &[("dynamic-plugins.yaml", format!("plugins:\n  - package: '{package}'\n").into_bytes())],
        );
        check(
            package,
            work.path(),
            &strings(&["validate", "dynamic-plugins.yaml", "--no-registry"]),
            &Expect {
                code: 1,
                fragments: strings(&[
                    "dynamic-plugins.yaml:2:",
                    "[local-path]",
                    "leaves the folder the installer runs in",
                ]),
            },
        )
    })
    .collect();
    report("local packages", results);
}

/// One tag naming two different images in a layout's `index.json`: which one is meant cannot be
/// told, so nothing is pinned (it used to pin the first silently).
#[test]
fn a_layout_tag_naming_two_images_is_refused() {
    let results = [
        ("index", index_args(&["--allow-missing"])),
        (
            "validate --image",
            strings(&[
                "validate",
                "--image",
                "quay.io/rhdh/backstage-community-plugin-tech-radar:1.10.0--1.20.0",
                "--store",
                "oci-layout:registry",
            ]),
        ),
    ]
    .into_iter()
    .map(|(name, args)| {
        let work = tempfile::tempdir().unwrap();
        example_overlay(work.path());
        let dir =
            repository_dir(&work.path().join("registry"), "quay.io", "rhdh/backstage-community-plugin-tech-radar");
        for content in ["first", "second"] {
            let layer = tar_gz(&[Entry::File("x/package.json".into(), content.as_bytes().to_vec())]);
            put_image(&dir, "1.10.0--1.20.0", &[layer], &serde_json::json!({}));
        }
        check(
            name,
            work.path(),
            &args,
            &Expect::bad_input(&["index.json", "names the tag `1.10.0--1.20.0` 2 times, for different images"]),
        )
    })
    .collect();
    report("one tag, two images", results);
}

#[test]
fn hostile_publish_facts() {
    let cases: Vec<(&str, &str, &str)> = vec![
        ("--rhdh-version", "x; y", "is not a version like 1.10.0"),
        ("--rhdh-version", "1.10.0; touch pwned-marker", "is not a version like 1.10.0"),
        ("--rhdh-version", "1.10.0\nrelease=9", "U+000A"),
        ("--release", "3 4", "is not a release like 3"),
        ("--release", "$(id)", "is not a release like 3"),
        ("--source-commit", "abc1234\"", "is not a git commit id"),
        ("--source-commit", "main", "is not a git commit id"),
    ];
    let results = cases
        .into_iter()
        .map(|(flag, value, problem)| {
            let work = tempfile::tempdir().unwrap();
            write_files(
                work.path(),
                &[
                    ("catalog-index/dynamic-plugins.default.yaml", b"plugins: []\n".to_vec()),
                    ("catalog-index/index.json", b"{}\n".to_vec()),
                ],
            );
            check(
                &format!("{flag} {value:?}"),
                work.path(),
                &strings(&[
                    "publish",
                    "catalog-index",
                    "--tag",
                    "quay.io/rhdh/x:1",
                    "--store",
                    "oci-layout:registry",
                    flag,
                    value,
                ]),
                &Expect::bad_input(&[flag, problem]),
            )
        })
        .collect();
    report("publish facts", results);
}
