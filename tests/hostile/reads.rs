//! Every file the tool reads goes through one function (`io::fs::open_input`): a regular file,
//! bounded, never a FIFO (which would hang the step) or a device (which would never end). These
//! cases put a FIFO, `/dev/zero`, `/dev/urandom`, a folder or an over-size file where an OCI
//! layout's `index.json`, a manifest or layer blob, an artifact blob in the store, a rollback
//! record, a plan, a Containerfile, an include, a metadata file or an existing output file belongs.
//! Each ends within a minute with exit 2, naming the file and why it was refused, having written
//! nothing.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::images::{Entry, put_blob, put_image, repository_dir, tar_gz};
use super::{Expect, check_with, index_args, report, strings};
use crate::support::example_overlay;

const DIGEST_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn link_to(path: &Path, target: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    symlink(target, path).unwrap();
}

/// A file of `size` bytes that takes no disk (sparse).
fn sparse(path: &Path, size: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::File::create(path).unwrap().set_len(size).unwrap();
}

/// The layout folder `index` reads for the example's tech-radar plugin.
fn radar_layout(work: &Path) -> PathBuf {
    repository_dir(&work.join("registry"), "quay.io", "rhdh/backstage-community-plugin-tech-radar")
}

/// An index.json naming one manifest (tag `1.10.0--1.20.0`) whose blob is at the returned path.
fn index_naming_a_blob(work: &Path) -> PathBuf {
    let dir = radar_layout(work);
    super::images::add_to_index(
        &dir,
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{DIGEST_HEX}"),
            "size": 500,
            "annotations": {"org.opencontainers.image.ref.name": "1.10.0--1.20.0"}
        }),
    );
    dir.join("blobs/sha256").join(DIGEST_HEX)
}

struct Case {
    name: &'static str,
    prepare: Box<dyn Fn(&Path)>,
    args: Vec<String>,
    fragments: Vec<&'static str>,
}

fn case(name: &'static str, prepare: impl Fn(&Path) + 'static, args: Vec<String>, fragments: &[&'static str]) -> Case {
    Case { name, prepare: Box::new(prepare), args, fragments: fragments.to_vec() }
}

fn run(class: &str, cases: Vec<Case>) {
    let results = cases
        .into_iter()
        .map(|case| {
            let work = tempfile::tempdir().unwrap();
            example_overlay(work.path());
            (case.prepare)(work.path());
            check_with(case.name, work.path(), &case.args, &Expect::bad_input(&case.fragments), &[], |command| {
                command.timeout(Duration::from_secs(60));
            })
        })
        .collect();
    report(class, results);
}

#[test]
fn hostile_oci_layout_files() {
    run(
        "OCI layout files",
        vec![
            case(
                "index.json is a FIFO",
                |work| mkfifo(&radar_layout(work).join("index.json")),
                index_args(&[]),
                &["index.json", "FIFO"],
            ),
            case(
                "index.json links to /dev/zero",
                |work| link_to(&radar_layout(work).join("index.json"), "/dev/zero"),
                index_args(&[]),
                &["index.json", "character device"],
            ),
            case(
                "index.json is a folder",
                |work| std::fs::create_dir_all(radar_layout(work).join("index.json")).unwrap(),
                index_args(&[]),
                &["index.json", "a folder"],
            ),
            case(
                "index.json is 17 MiB",
                |work| sparse(&radar_layout(work).join("index.json"), 17 * 1024 * 1024),
                index_args(&[]),
                &["index.json", "is larger than"],
            ),
            case(
                "a manifest blob is a FIFO",
                |work| mkfifo(&index_naming_a_blob(work)),
                index_args(&[]),
                &[DIGEST_HEX, "FIFO"],
            ),
            case(
                "a manifest blob links to /dev/urandom",
                |work| link_to(&index_naming_a_blob(work), "/dev/urandom"),
                index_args(&[]),
                &[DIGEST_HEX, "character device"],
            ),
            case(
                "a manifest blob is 5 MiB",
                |work| sparse(&index_naming_a_blob(work), 5 * 1024 * 1024),
                index_args(&[]),
                &[DIGEST_HEX, "is larger than"],
            ),
            case(
                "a layer blob of an index image is a FIFO",
                |work| {
                    let dir = repository_dir(&work.join("registry"), "quay.io", "rhdh/plugin-catalog-index");
                    let layer =
                        tar_gz(&[Entry::File("dynamic-plugins.default.yaml".into(), b"plugins: []\n".to_vec())]);
                    put_image(&dir, "1.10", std::slice::from_ref(&layer), &serde_json::json!({}));
                    let digest = put_blob(&dir, "x", &layer)["digest"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("sha256:")
                        .to_string();
                    mkfifo(&dir.join("blobs/sha256").join(digest));
                },
                strings(&[
                    "diff",
                    "quay.io/rhdh/plugin-catalog-index:1.10",
                    "overlay",
                    "--store",
                    "oci-layout:registry",
                ]),
                &["blobs/sha256", "FIFO"],
            ),
            case(
                "a layer blob of an index image links to /dev/zero",
                |work| {
                    let dir = repository_dir(&work.join("registry"), "quay.io", "rhdh/plugin-catalog-index");
                    let layer =
                        tar_gz(&[Entry::File("dynamic-plugins.default.yaml".into(), b"plugins: []\n".to_vec())]);
                    put_image(&dir, "1.10", std::slice::from_ref(&layer), &serde_json::json!({}));
                    let digest = put_blob(&dir, "x", &layer)["digest"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("sha256:")
                        .to_string();
                    link_to(&dir.join("blobs/sha256").join(digest), "/dev/zero");
                },
                strings(&[
                    "validate",
                    "--image",
                    "quay.io/rhdh/plugin-catalog-index:1.10",
                    "--store",
                    "oci-layout:registry",
                ]),
                &["blobs/sha256", "character device"],
            ),
            case(
                "an artifact blob in the store is a FIFO",
                |work| {
                    mkfifo(
                        &repository_dir(&work.join("registry"), "quay.io", "rhdh/artifacts")
                            .join("blobs/sha256")
                            .join(DIGEST_HEX),
                    );
                },
                strings(&[
                    "artifact",
                    "use",
                    &format!("oci:quay.io/rhdh/artifacts@sha256:{DIGEST_HEX}=out"),
                    "--artifact-store",
                    "oci-layout:registry",
                ]),
                &[DIGEST_HEX, "FIFO"],
            ),
            case(
                "an artifact blob in the store links to /dev/zero",
                |work| {
                    link_to(
                        &repository_dir(&work.join("registry"), "quay.io", "rhdh/artifacts")
                            .join("blobs/sha256")
                            .join(DIGEST_HEX),
                        "/dev/zero",
                    );
                },
                strings(&[
                    "artifact",
                    "use",
                    &format!("oci:quay.io/rhdh/artifacts@sha256:{DIGEST_HEX}=out"),
                    "--artifact-store",
                    "oci-layout:registry",
                ]),
                &[DIGEST_HEX, "character device"],
            ),
        ],
    );
}

#[test]
fn hostile_files_of_the_release_and_export_side() {
    let upstream_repos = "rhdh: {branch: main, version: 1.10.0}\nbackstage: {version: 1.49.4}\nrepos:\n  - repo: https://github.com/x/overlays\n    branch: main\n    destination_folder: overlay\n";
    run(
        "files of the release and export side",
        vec![
            case(
                "promote --rollback of a FIFO",
                |work| mkfifo(&work.join("rollback.json")),
                strings(&["promote", "--rollback", "rollback.json"]),
                &["rollback.json", "FIFO"],
            ),
            case(
                "promote --rollback of /dev/zero",
                |_| {},
                strings(&["promote", "--rollback", "/dev/zero"]),
                &["/dev/zero", "character device"],
            ),
            case(
                "verify-install --stage check with a FIFO for its expected plugins",
                |work| mkfifo(&work.join("verify/active/expected-plugins.json")),
                strings(&["verify-install", "quay.io/rhdh/index:1", "--stage", "check", "--work-dir", "verify"]),
                &["expected-plugins.json", "FIFO"],
            ),
            case(
                "export of a plan that is a FIFO",
                |work| mkfifo(&work.join("plan.json")),
                strings(&["export", "--tree", ".", "--overlay", "overlay", "--workspace", "tech-radar"]),
                &["plan.json", "FIFO"],
            ),
            case(
                "release-number with a Containerfile that is a FIFO",
                |work| mkfifo(&work.join("build/containerfiles/index.Containerfile")),
                strings(&[
                    "release-number",
                    "--tree",
                    ".",
                    "--version",
                    "1.10.0",
                    "--image",
                    "quay.io/rhdh/index",
                    "--store",
                    "oci-layout:registry",
                ]),
                &["index.Containerfile", "FIFO"],
            ),
            case(
                "fetch of an upstream_repos.yml that is a FIFO",
                |work| mkfifo(&work.join("upstream_repos.yml")),
                strings(&["fetch", "--tree", ".", "--skip-clone"]),
                &["upstream_repos.yml", "FIFO"],
            ),
            case(
                "fetch writing its plan over an existing FIFO",
                move |work: &Path| {
                    std::fs::write(work.join("upstream_repos.yml"), upstream_repos).unwrap();
                    mkfifo(&work.join("plan.json"));
                },
                strings(&["fetch", "--tree", ".", "--overlay", "overlay", "--skip-clone"]),
                &["plan.json", "FIFO", "an output file must be a regular file"],
            ),
            case(
                "fetch writing its plan over an existing folder",
                move |work: &Path| {
                    std::fs::write(work.join("upstream_repos.yml"), upstream_repos).unwrap();
                    std::fs::create_dir_all(work.join("plan.json/kept")).unwrap();
                },
                strings(&["fetch", "--tree", ".", "--overlay", "overlay", "--skip-clone"]),
                &["plan.json", "a folder", "an output file must be a regular file"],
            ),
            case(
                "validate of a file whose include is a FIFO",
                |work| {
                    std::fs::write(work.join("dynamic-plugins.yaml"), "includes: [other.yaml]\nplugins: []\n").unwrap();
                    mkfifo(&work.join("other.yaml"));
                },
                strings(&["validate", "--no-registry", "dynamic-plugins.yaml"]),
                &["other.yaml", "FIFO"],
            ),
            case(
                "diff of an index folder whose index.json is a FIFO",
                |work| {
                    std::fs::create_dir_all(work.join("index")).unwrap();
                    std::fs::write(work.join("index/dynamic-plugins.default.yaml"), "plugins: []\n").unwrap();
                    mkfifo(&work.join("index/index.json"));
                },
                strings(&["diff", "index", "index"]),
                &["index.json", "FIFO"],
            ),
            case(
                "a metadata file of 17 MiB",
                |work| {
                    sparse(
                        &work.join("overlay/workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml"),
                        17 * 1024 * 1024,
                    );
                },
                strings(&[
                    "index",
                    "--registry",
                    "quay.io/rhdh",
                    "--rhdh-version",
                    "1.10.0",
                    "--overlay",
                    "overlay",
                    "--dry-run",
                ]),
                &["backstage-community-plugin-tech-radar.yaml", "is larger than"],
            ),
        ],
    );
}
