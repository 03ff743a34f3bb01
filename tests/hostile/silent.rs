//! No silent nonsense. `diff` of a folder that is half an index (no `index.json`, or no
//! `dynamic-plugins.default.yaml`) used to report every plugin as gone, exit 0: now it is bad
//! input naming what is missing. `--on-missing older-tag` used to pin a version-like
//! `99999.0.0` (or another major version) and, with no candidate at all, to exit 0 with every
//! plugin missing: now only an older version of the requested release line stands in, and an
//! index without a single plugin is a finding with nothing written.

use std::path::Path;

use super::{Expect, check, index_args, report, strings, write_files};
use crate::support::{example_overlay, publish_example_images, rhdh_catalog};

const DPDY: &str = "plugins:\n  - package: oci://quay.io/rhdh/x@sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479\n    disabled: false\n";
const INDEX: &str = "{\"x\": {\"workspacePath\": \"w/x\", \"registryReference\": \"quay.io/rhdh/x@sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479\", \"imageTag\": \"1\"}}\n";

/// A case: its name, the files of its folder, the arguments, the fragments of the message.
type HalfIndex = (&'static str, Vec<(&'static str, Vec<u8>)>, Vec<String>, Vec<&'static str>);

#[test]
fn diff_and_publish_of_half_an_index_are_bad_input() {
    let cases: Vec<HalfIndex> = vec![
        (
            "diff: the newer folder has no index.json",
            vec![
                ("old/index.json", INDEX.into()),
                ("old/dynamic-plugins.default.yaml", DPDY.into()),
                ("new/dynamic-plugins.default.yaml", DPDY.into()),
            ],
            strings(&["diff", "old", "new"]),
            vec!["new", "has no index.json"],
        ),
        (
            "diff: the newer folder has no dynamic-plugins.default.yaml",
            vec![
                ("old/index.json", INDEX.into()),
                ("old/dynamic-plugins.default.yaml", DPDY.into()),
                ("new/index.json", INDEX.into()),
            ],
            strings(&["diff", "old", "new"]),
            vec!["new", "has no dynamic-plugins.default.yaml"],
        ),
        (
            "diff: the older folder has no index.json",
            vec![
                ("old/dynamic-plugins.default.yaml", DPDY.into()),
                ("new/index.json", INDEX.into()),
                ("new/dynamic-plugins.default.yaml", DPDY.into()),
            ],
            strings(&["diff", "old", "new", "--output-format", "json"]),
            vec!["old", "has no index.json"],
        ),
        (
            "diff: a folder with neither",
            vec![
                ("old/index.json", INDEX.into()),
                ("old/dynamic-plugins.default.yaml", DPDY.into()),
                ("new/README.md", b"x".to_vec()),
            ],
            strings(&["diff", "old", "new"]),
            vec!["new", "is not a catalog index"],
        ),
        (
            "publish: a folder without index.json",
            vec![("new/dynamic-plugins.default.yaml", DPDY.into())],
            strings(&["publish", "new", "--tag", "quay.io/rhdh/index:1", "--store", "oci-layout:registry"]),
            vec!["new", "has no index.json"],
        ),
        (
            "publish: a folder that does not exist",
            vec![],
            strings(&["publish", "missing", "--tag", "quay.io/rhdh/index:1", "--store", "oci-layout:registry"]),
            vec!["missing", "is not an existing folder"],
        ),
    ];
    let results = cases
        .into_iter()
        .map(|(name, files, args, fragments)| {
            let work = tempfile::tempdir().unwrap();
            write_files(work.path(), &files);
            check(name, work.path(), &args, &Expect::bad_input(&fragments))
        })
        .collect();
    report("half an index", results);
}

/// Adds `tag` to the layout repository of `image` under `store`, naming the manifest `existing` names.
fn alias_tag(store: &Path, image: &str, existing: &str, tag: &str) {
    let path = store.join("quay.io/rhdh").join(image).join("index.json");
    let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let manifests = index["manifests"].as_array_mut().unwrap();
    let mut descriptor = manifests
        .iter()
        .find(|descriptor| descriptor["annotations"]["org.opencontainers.image.ref.name"] == existing)
        .unwrap_or_else(|| panic!("{image} has no tag {existing}"))
        .clone();
    descriptor["annotations"]["org.opencontainers.image.ref.name"] = serde_json::Value::String(tag.to_string());
    manifests.push(descriptor);
    std::fs::write(path, serde_json::to_vec_pretty(&index).unwrap()).unwrap();
}

fn index_older_tag(work: &Path, overlay: &str) -> std::process::Output {
    rhdh_catalog(work)
        .current_dir(work)
        .args(["index", "--registry", "quay.io/rhdh", "--rhdh-version", "1.10.0", "--store", "oci-layout:registry"])
        .args(["--overlay", overlay, "--on-missing", "older-tag"])
        .output()
        .unwrap()
}

/// The requested tag is missing; the repository has a version-like `99999.0.0`, a newer major
/// version and an older one of the same line: only the older one of the same line stands in.
#[test]
fn older_tag_stays_on_the_release_line_and_below_the_requested_version() {
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let store = work.path().join("registry");
    std::fs::create_dir_all(&store).unwrap();
    publish_example_images(work.path(), &overlay, "quay.io/rhdh", &format!("oci-layout:{}", store.display()), None);
    let radar = "backstage-community-plugin-tech-radar";
    for tag in ["1.10.0--99999.0.0", "1.10.0--2.0.0", "1.10.0--1.21.5", "1.10.0--1.19.0"] {
        alias_tag(&store, radar, "1.10.0--1.20.0", tag);
    }
    let metadata = overlay.join("workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml");
    let text = std::fs::read_to_string(&metadata).unwrap().replace("version: 1.20.0", "version: 1.21.0");
    std::fs::write(&metadata, text).unwrap();
    let output = index_older_tag(work.path(), "overlay");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("catalog-index/index.json")).unwrap()).unwrap();
    assert_eq!(index[radar]["imageTag"], "1.10.0--1.20.0", "{}", index[radar]);
    assert_eq!(index[radar]["requestedTag"], "1.10.0--1.21.0");
    assert!(!stderr.contains("99999") && !stderr.contains("1.10.0--2.0.0"), "{stderr}");
}

/// Nothing in the store at all: every plugin missing is a finding (exit 1), nothing written,
/// under both tolerant policies.
#[test]
fn an_index_without_a_single_plugin_is_a_finding() {
    for policy in [&["--on-missing", "older-tag"][..], &["--on-missing", "previous"][..], &["--allow-missing"][..]] {
        let work = tempfile::tempdir().unwrap();
        example_overlay(work.path());
        std::fs::create_dir_all(work.path().join("registry")).unwrap();
        let mut args = index_args(&[]);
        args.extend(strings(policy));
        let result = check(
            &format!("{policy:?}"),
            work.path(),
            &args,
            &Expect {
                code: 1,
                fragments: strings(&["every one of the 7 plugin image(s) is missing", "nothing was written"]),
            },
        );
        report("no plugin at all", vec![result]);
    }
}

/// A hostile tag list that names the requested tag's release line only with junk gives no stand-in.
#[test]
fn junk_tags_never_stand_in() {
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let store = work.path().join("registry");
    std::fs::create_dir_all(&store).unwrap();
    publish_example_images(work.path(), &overlay, "quay.io/rhdh", &format!("oci-layout:{}", store.display()), None);
    let radar = "backstage-community-plugin-tech-radar";
    for tag in ["1.10.0--1.20.0.sig", "1.10.0--1.20", "1.10.0--99999.0.0", "1.10.0--1.20.0-rc1", "1.10.0--01.x"] {
        alias_tag(&store, radar, "1.10.0--1.20.0", tag);
    }
    // The only real tag is removed: nothing older of the line is left.
    let path = store.join("quay.io/rhdh").join(radar).join("index.json");
    let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .retain(|descriptor| descriptor["annotations"]["org.opencontainers.image.ref.name"] != "1.10.0--1.20.0");
    std::fs::write(&path, serde_json::to_vec_pretty(&index).unwrap()).unwrap();
    let metadata = overlay.join("workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml");
    let text = std::fs::read_to_string(&metadata).unwrap().replace("version: 1.20.0", "version: 1.20.1");
    std::fs::write(&metadata, text).unwrap();
    let output = index_older_tag(work.path(), "overlay");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("catalog-index/index.json")).unwrap()).unwrap();
    // `1.10.0--1.20` (a clean `x.y`, counted as 1.20.0) is the one older tag of the line.
    assert_eq!(index[radar]["imageTag"], "1.10.0--1.20", "{}", index[radar]);
}
