//! Unpacked index trees and index folders are read only through the content-tree rule: every link
//! resolved against what is on disk, the file actually opened inside the tree. An index image
//! whose `dynamic-plugins.default.yaml` (or `index.json`) is a link, or a chain of links that looks
//! inside the archive and lands on `/etc/passwd`, never makes `validate --image`, `diff` or
//! `verify-install --stage prepare` read a file of this machine — whether the unpacker refuses the
//! chain or lets it through. Every case: exit 2, the refusal named, nothing of `/etc/passwd`
//! shown or written, nothing written outside.

use std::os::unix::fs::symlink;
use std::path::Path;

use super::images::{Entry, chain_to_root, put_image, repository_dir, tar_gz};
use super::{Expect, check_with, report, strings};

/// What `/etc/passwd` always starts with: never to be echoed.
const PASSWD: &str = "root:x:0:0";
const IMAGE: &str = "quay.io/rhdh/plugin-catalog-index:1.10";
const GOOD_DPDY: &str =
    "plugins:\n  - package: ./dynamic-plugins/dist/backstage-plugin-x-dynamic\n    disabled: true\n";

/// The `index.json` that goes with [`GOOD_DPDY`] (both halves name the same plugin).
const GOOD_INDEX: &str = "{\"backstage-plugin-x\": {\"workspacePath\": \"w/x\", \"registryReference\": \"quay.io/rhdh/backstage-plugin-x@sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479\", \"imageTag\": \"1\"}}\n";

/// Index images whose `dynamic-plugins.default.yaml` reaches out of the unpacked folder, each as
/// the entries of its one layer.
fn hostile_layers() -> Vec<(&'static str, Vec<Entry>)> {
    let (mut chain, root) = chain_to_root();
    chain.push(Entry::Link("dynamic-plugins.default.yaml".into(), format!("{root}/etc/passwd")));
    chain.push(Entry::File("index.json".into(), b"{}".to_vec()));
    let (mut through_folder, root_link) = chain_to_root();
    through_folder.push(Entry::Link("etc".into(), format!("{root_link}/etc")));
    through_folder.push(Entry::Link("dynamic-plugins.default.yaml".into(), "etc/passwd".into()));
    through_folder.push(Entry::File("index.json".into(), b"{}".to_vec()));
    let (mut index_chain, index_root) = chain_to_root();
    index_chain.push(Entry::File("dynamic-plugins.default.yaml".into(), GOOD_DPDY.as_bytes().to_vec()));
    index_chain.push(Entry::Link("index.json".into(), format!("{index_root}/etc/passwd")));
    vec![
        ("a link chain to /etc/passwd", chain),
        ("a link to a linked folder outside", through_folder),
        ("index.json through a link chain", index_chain),
        (
            "an absolute link",
            vec![
                Entry::Link("dynamic-plugins.default.yaml".into(), "/etc/passwd".into()),
                Entry::File("index.json".into(), b"{}".to_vec()),
            ],
        ),
    ]
}

/// Runs `command` (with `{image}` replaced) against each hostile index image in a layout store.
fn run_each(class: &str, command: &[&str], readers_of_index_json: bool) {
    let mut results = Vec::new();
    for (name, entries) in hostile_layers() {
        if !readers_of_index_json && name.starts_with("index.json") {
            continue;
        }
        let work = tempfile::tempdir().unwrap();
        let store = work.path().join("store");
        put_image(
            &repository_dir(&store, "quay.io", "rhdh/plugin-catalog-index"),
            "1.10",
            &[tar_gz(&entries)],
            &serde_json::json!({}),
        );
        std::fs::create_dir(work.path().join("verify")).unwrap();
        let args: Vec<String> = command.iter().map(|arg| arg.replace("{image}", IMAGE)).collect();
        let before_home = std::fs::read_dir(work.path()).unwrap().count();
        let result = check_with(
            &format!("{class}: {name}"),
            work.path(),
            &args,
            &Expect { code: 2, fragments: Vec::new() },
            &[PASSWD, "/bin/bash", "nologin"],
            |_| {},
        )
        .and_then(|()| {
            // The refusal is named: the content-tree rule, or (once the unpacker sees the chain) the unpacker.
            let output =
                crate::support::rhdh_catalog(work.path()).current_dir(work.path()).args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            let named = (stderr.contains("outside") || stderr.contains("leave") || stderr.contains("link"))
                && (stderr.contains("dynamic-plugins.default.yaml")
                    || stderr.contains("index.json")
                    || stderr.contains("archive"));
            if named { Ok(()) } else { Err(format!("{class}: {name}: the refusal is not named: {stderr}")) }
        })
        .and_then(|()| {
            let written = std::fs::read_dir(work.path()).unwrap().count();
            let verify_empty = std::fs::read_dir(work.path().join("verify")).unwrap().next().is_none();
            if written == before_home && verify_empty {
                Ok(())
            } else {
                Err(format!("{class}: {name}: files were written"))
            }
        });
        results.push(result);
    }
    report(class, results);
}

#[test]
fn validate_image_never_reads_through_a_link_chain() {
    run_each(
        "validate --image",
        &["validate", "--image", "{image}", "--no-registry", "--store", "oci-layout:store"],
        false,
    );
}

#[test]
fn diff_never_reads_through_a_link_chain() {
    run_each("diff", &["diff", "{image}", "{image}", "--store", "oci-layout:store"], true);
}

#[test]
fn verify_install_never_copies_through_a_link_chain() {
    run_each(
        "verify-install --stage prepare",
        &["verify-install", "{image}", "--stage", "prepare", "--work-dir", "verify", "--store", "oci-layout:store"],
        false,
    );
}

type Setup = fn(&Path);

/// Index folders given to `diff` and `publish` are content trees too: a link (or a chain of links)
/// that leaves the folder is refused by name; a link that stays inside is followed.
#[test]
fn index_folders_are_read_as_content_trees() {
    let prepare = |work: &Path, name: &str| {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.json"), GOOD_INDEX).unwrap();
        dir
    };
    let mut results = Vec::new();
    let cases: [(&str, Setup, &[&str]); 5] = [
        (
            "diff: a dynamic-plugins.default.yaml linked to /etc/passwd",
            |dir| symlink("/etc/passwd", dir.join("dynamic-plugins.default.yaml")).unwrap(),
            &["diff", "old", "new"],
        ),
        (
            "diff: a chain of two links through a linked folder",
            |dir| {
                symlink("/etc", dir.join("up")).unwrap();
                symlink("hop", dir.join("dynamic-plugins.default.yaml")).unwrap();
                symlink("up/passwd", dir.join("hop")).unwrap();
            },
            &["diff", "old", "new"],
        ),
        (
            "diff: index.json linked outside",
            |dir| {
                std::fs::write(dir.join("dynamic-plugins.default.yaml"), GOOD_DPDY).unwrap();
                std::fs::remove_file(dir.join("index.json")).unwrap();
                symlink("../../../../../../../../../../etc/passwd", dir.join("index.json")).unwrap();
            },
            &["diff", "old", "new"],
        ),
        (
            "publish: a dynamic-plugins.default.yaml linked to /etc/passwd",
            |dir| symlink("/etc/passwd", dir.join("dynamic-plugins.default.yaml")).unwrap(),
            &["publish", "new", "--tag", "quay.io/rhdh/x:1", "--store", "oci-layout:store"],
        ),
        (
            "diff: a linked folder holding the index",
            |dir| {
                std::fs::remove_file(dir.join("index.json")).unwrap();
                symlink("/etc/passwd", dir.join("index.json")).unwrap();
                std::fs::write(dir.join("dynamic-plugins.default.yaml"), GOOD_DPDY).unwrap();
            },
            &["diff", "new", "old"],
        ),
    ];
    for (name, setup, args) in cases {
        let work = tempfile::tempdir().unwrap();
        let old = prepare(work.path(), "old");
        std::fs::write(old.join("dynamic-plugins.default.yaml"), GOOD_DPDY).unwrap();
        let new = prepare(work.path(), "new");
        setup(&new);
        results.push(check_with(
            name,
            work.path(),
            &strings(args),
            &Expect::bad_input(&["outside"]),
            &[PASSWD, "nologin"],
            |_| {},
        ));
    }
    report("index folders as content trees", results);
    // A link that stays inside the folder is followed.
    let work = tempfile::tempdir().unwrap();
    let old = prepare(work.path(), "old");
    std::fs::write(old.join("real.yaml"), GOOD_DPDY).unwrap();
    symlink("real.yaml", old.join("dynamic-plugins.default.yaml")).unwrap();
    let new = prepare(work.path(), "new");
    std::fs::write(new.join("dynamic-plugins.default.yaml"), GOOD_DPDY).unwrap();
    let output = crate::support::rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(["diff", "old", "new"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
