//! Round two, second pass: variants of every class of issue 20 that the first corpus did not try,
//! each found mishandled by an attacker's second look and now handled the class-wide way.
//!
//! - Links: an include of `validate` that climbs out of the file's folder (`../../etc/passwd`)
//!   or is absolute (`/etc/passwd`, `/proc/self/environ`) was read from this machine; now a path
//!   spelled inside a content tree that climbs out is refused like a link that does, and an
//!   absolute include is refused by name.
//! - Memory: many overlay files, each under the 16 MiB a text input may have, were all held (an
//!   overlay with a hundred 15 MB files took the index past its Task's 1 Gi); now what a step reads
//!   whole from its content trees is bounded in all. Layer sizes a registry declares that sum past
//!   `u64` panicked.
//! - Reads that block: files that libraries open themselves (`SSL_CERT_FILE` for the TLS stack,
//!   `KUBECONFIG` for kube) hung on a FIFO or read `/dev/zero` for ever; now they are checked
//!   through `open_input` first.
//! - Outputs: `index --report` into the OCI-layout store replaced a repository's `index.json`,
//!   `--results-dir` inside `--output` wrote into the folder swapped in; now both overlap checks.
//! - Installer-rejected content: npm specs that npm reads as a folder of the installer's disk
//!   (`~/…`, `.x/…`, `file:…`) passed `validate`; a `dynamicArtifact` with a bidirectional
//!   override or a look-alike, a `file:` spec or a `..` without `./` passed `index`.
//! - Silent nonsense: `diff` of an index whose `index.json` is `{}` (or whose
//!   `dynamic-plugins.default.yaml` lists nothing) reported every plugin changed, exit 0; a
//!   rollback record with no tag restored nothing, exit 0; one with a malformed digest ended as
//!   if a retry could help (exit 3); a release number past the last `u64` panicked.

use std::path::Path;
use std::time::Duration;

use super::images::{Entry, put_image, repository_dir, tar_gz};
use super::measure::{run_measured, task_limit};
use super::{Expect, check, check_with, index_args, report, strings, write_files};
use crate::support::{example_overlay, reference_data};

/// What `/etc/passwd` always starts with: never to be echoed.
const PASSWD: &str = "root:x:0:0";

fn mkfifo(path: &Path) {
    assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// Includes of a user's `dynamic-plugins.yaml` are read only from its folder: one that climbs
/// out, is absolute, or is a link out is refused by name (exit 2), nothing of the file shown.
#[test]
fn validate_reads_includes_only_from_the_files_folder() {
    let climb = "../".repeat(20);
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("an absolute include", "/etc/passwd".into(), vec!["dynamic-plugins.yaml:2", "/etc/passwd", "absolute"]),
        (
            "an include of this process's environment",
            "/proc/self/environ".into(),
            vec!["/proc/self/environ", "absolute"],
        ),
        ("an include climbing out", format!("{climb}etc/passwd"), vec!["etc/passwd", "outside"]),
        (
            "an include climbing out and back in and out",
            format!("../case/{climb}etc/passwd"),
            vec!["etc/passwd", "outside"],
        ),
        ("an include through a folder link", "up/etc/passwd".into(), vec!["up/etc/passwd", "outside"]),
    ];
    let results = cases
        .into_iter()
        .map(|(name, include, fragments)| {
            let work = tempfile::tempdir().unwrap();
            let case = work.path().join("case");
            std::fs::create_dir(&case).unwrap();
            std::os::unix::fs::symlink("/", case.join("up")).unwrap();
            write_files(
                &case,
                &[("dynamic-plugins.yaml", format!("includes:\n  - {include}\nplugins: []\n").into_bytes())],
            );
            check_with(
                name,
                &case,
                &strings(&["validate", "dynamic-plugins.yaml", "--no-registry"]),
                &Expect::bad_input(&fragments),
                &[PASSWD, "nologin", "PATH="],
                |_| {},
            )
        })
        .collect();
    report("validate includes", results);
}

/// A package npm reads as a folder of the installer's disk (a file spec or `file:`) is a
/// `local-path` finding, even with an `integrity` that satisfies the installer's own check.
#[test]
fn validate_finds_npm_specs_that_read_as_folders() {
    let integrity = format!("sha512-{}==", "A".repeat(86));
    let results = ["~/../../etc", ".hidden/../../../etc", "file:../../../etc", "FILE:/etc", "c:/windows"]
        .into_iter()
        .map(|package| {
            let work = tempfile::tempdir().unwrap();
            write_files(
                work.path(),
                &[(
                    "dynamic-plugins.yaml",
                    format!("plugins:\n  - package: '{package}'\n    integrity: {integrity}\n").into_bytes(),
                )],
            );
            check(
                package,
                work.path(),
                &strings(&["validate", "dynamic-plugins.yaml", "--no-registry"]),
                &Expect { code: 1, fragments: vec!["dynamic-plugins.yaml:2".into(), "[local-path]".into()] },
            )
        })
        .collect();
    report("npm specs that read as folders", results);
}

/// A metadata `dynamicArtifact` that shows one thing and names another (a bidirectional override,
/// a look-alike letter), or that npm reads as a folder (`file:`, a `..` without `./`), is refused
/// by `index` naming the file and line.
#[test]
fn index_refuses_dynamic_artifacts_that_name_another_place() {
    const METADATA: &str = "overlay/workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml";
    const ORIGINAL: &str = "  dynamicArtifact: oci://ghcr.io/redhat-developer/rhdh-plugin-export-overlays/backstage-community-plugin-tech-radar:bs_1.52.0__1.20.0\n";
    let cases: Vec<(&str, &str, &str)> = vec![
        ("a bidirectional override in a wrapper", "\"./dynamic-plugins/dist/\\u202Ekcab-dynamic\"", "U+202E"),
        ("a Cyrillic look-alike in an image", "\"oci://quay.io/rhdh/x\\u0430:1\"", "U+0430"),
        ("a zero-width space", "\"./dynamic-plugins/dist/a\\u200Bb\"", "U+200B"),
        ("a file: spec", "file:../../etc", "a local path outside"),
        ("a file: spec in capitals", "FILE:/etc", "a local path outside"),
        ("a drive letter", "c:/x", "a local path outside"),
        ("a climb without ./", "dynamic-plugins/dist/../../x", "a local path outside"),
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
                &Expect::bad_input(&["backstage-community-plugin-tech-radar.yaml:19", "spec.dynamicArtifact", problem]),
            )
        })
        .collect();
    report("dynamicArtifact naming another place", results);
}

/// The reference catalog index (both halves describe the same plugins).
fn reference_index() -> (Vec<u8>, Vec<u8>) {
    let dir = reference_data().join("catalog-index-main/catalog-index/supported");
    (std::fs::read(dir.join("index.json")).unwrap(), std::fs::read(dir.join("dynamic-plugins.default.yaml")).unwrap())
}

/// A case: its name, the newer folder's `index.json` and `dynamic-plugins.default.yaml`, the fragments.
type HalvesCase = (&'static str, Vec<u8>, Vec<u8>, &'static [&'static str]);

/// Two halves that share no plugin are no index: `diff` and `publish` refuse them naming the
/// folder (exit 2), instead of reporting every plugin changed.
#[test]
fn halves_that_share_no_plugin_are_no_index() {
    let (index, dpdy) = reference_index();
    let other_dpdy = b"plugins:\n  - package: oci://quay.io/rhdh/unrelated@sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479\n    disabled: false\n".to_vec();
    let cases: Vec<HalvesCase> = vec![
        ("index.json is {}", b"{}\n".to_vec(), dpdy.clone(), &["names 0 plugin(s)", "not one plugin is in both"]),
        (
            "the plugin list is empty",
            index.clone(),
            b"plugins: []\n".to_vec(),
            &["lists 0", "not one plugin is in both"],
        ),
        ("halves of two indexes", index.clone(), other_dpdy, &["lists 1", "not one plugin is in both"]),
    ];
    let mut results = Vec::new();
    for (name, new_index, new_dpdy, fragments) in cases {
        for command in ["diff", "publish"] {
            let work = tempfile::tempdir().unwrap();
            write_files(
                work.path(),
                &[
                    ("old/index.json", index.clone()),
                    ("old/dynamic-plugins.default.yaml", dpdy.clone()),
                    ("new/index.json", new_index.clone()),
                    ("new/dynamic-plugins.default.yaml", new_dpdy.clone()),
                ],
            );
            let args = if command == "diff" {
                strings(&["diff", "old", "new"])
            } else {
                strings(&["publish", "new", "--tag", "quay.io/rhdh/index:1", "--store", "oci-layout:registry"])
            };
            let mut all = vec!["new: is not a whole catalog index"];
            all.extend(fragments);
            results.push(check(&format!("{command}: {name}"), work.path(), &args, &Expect::bad_input(&all)));
        }
    }
    report("halves that share no plugin", results);
}

/// Layer sizes a hostile registry declares are summed without overflowing: two layers of 2^63
/// bytes are far too many, not zero, and never a panic.
#[test]
fn declared_layer_sizes_that_overflow_are_refused() {
    let results = [
        (vec!["validate", "--image", "quay.io/rhdh/plugin-catalog-index:1.10", "--no-registry"], "validate --image"),
        (vec!["diff", "quay.io/rhdh/plugin-catalog-index:1.10", "quay.io/rhdh/plugin-catalog-index:1.10"], "diff"),
    ]
    .into_iter()
    .map(|(command, name)| {
        let work = tempfile::tempdir().unwrap();
        let dir = repository_dir(&work.path().join("store"), "quay.io", "rhdh/plugin-catalog-index");
        let layer = tar_gz(&[Entry::File("index.json".into(), b"{}".to_vec())]);
        let descriptor = put_image(&dir, "1.10", &[layer.clone(), layer], &serde_json::json!({}));
        // Rewrite the manifest with sizes that sum to 2^64, and re-tag it.
        let manifest_path =
            dir.join("blobs/sha256").join(descriptor["digest"].as_str().unwrap().trim_start_matches("sha256:"));
        let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
        for layer in manifest["layers"].as_array_mut().unwrap() {
            layer["size"] = serde_json::json!(1u64 << 63);
        }
        std::fs::remove_file(dir.join("index.json")).unwrap();
        let manifest = serde_json::to_vec(&manifest).unwrap();
        let mut descriptor = super::images::put_blob(&dir, "application/vnd.oci.image.manifest.v1+json", &manifest);
        descriptor["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "1.10"});
        super::images::add_to_index(&dir, descriptor);
        let mut args = strings(&command);
        args.extend(strings(&["--store", "oci-layout:store"]));
        check(name, work.path(), &args, &Expect::bad_input(&["declares 18446744073709551615 bytes of layers"]))
    })
    .collect();
    report("declared layer sizes", results);
}

/// A rollback record promote never writes — no tag, or a repository, tag or digest that is no
/// reference — is refused before any tag moves, naming where it came from (exit 2).
#[test]
fn rollback_records_promote_never_writes_are_refused() {
    let digest = format!("sha256:{}", "a".repeat(64));
    let record = |repository: &str, promoted: &str, tags: serde_json::Value| {
        serde_json::json!({"repository": repository, "promoted": promoted, "tags": tags}).to_string()
    };
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("no tag", record("quay.io/rhdh/index", &digest, serde_json::json!({})), vec!["names no tag"]),
        (
            "a previous digest that is no digest",
            record("quay.io/rhdh/index", &digest, serde_json::json!({"next": "sha256:abc"})),
            vec!["previous digest of `next` is no digest"],
        ),
        (
            "a tag that is no tag",
            record("quay.io/rhdh/index", &digest, serde_json::json!({"bad tag!": digest})),
            vec!["is no tag"],
        ),
        (
            "a repository that is no repository",
            record("QUAY..io//x", &digest, serde_json::json!({"next": null})),
            vec!["no image reference"],
        ),
        (
            "a promoted digest that is no digest",
            record("quay.io/rhdh/index", "sha256:zz", serde_json::json!({"next": null})),
            vec!["no image reference"],
        ),
    ];
    let mut results = Vec::new();
    for (name, json, fragments) in cases {
        let inline = tempfile::tempdir().unwrap();
        let mut all = vec!["--rollback:", "nothing was restored"];
        all.extend(fragments.iter());
        results.push(check(
            &format!("inline: {name}"),
            inline.path(),
            &strings(&["promote", "--rollback", &json, "--store", "oci-layout:store"]),
            &Expect::bad_input(&all),
        ));
        let file = tempfile::tempdir().unwrap();
        write_files(file.path(), &[("rollback.json", json.into_bytes())]);
        let mut all = vec!["rollback.json:", "nothing was restored"];
        all.extend(fragments.iter());
        results.push(check(
            &format!("file: {name}"),
            file.path(),
            &strings(&["promote", "--rollback", "rollback.json", "--store", "oci-layout:store"]),
            &Expect::bad_input(&all),
        ));
    }
    report("rollback records", results);
}

/// A release number at the end of `u64` in the registry has no next one: bad input naming it,
/// the Containerfiles untouched (it panicked in debug builds and wrote `release="0"` in release
/// builds).
#[test]
fn a_release_number_without_a_next_one_is_refused() {
    let work = tempfile::tempdir().unwrap();
    write_files(
        work.path(),
        &[("cf/index.Containerfile", b"FROM x\nLABEL version=\"1.10.0\" release=\"3\"\n".to_vec())],
    );
    let dir = repository_dir(&work.path().join("store"), "quay.io", "rhdh/plugin-catalog-index");
    put_image(
        &dir,
        &format!("1.10.0-{}", u64::MAX),
        &[tar_gz(&[Entry::File("a".into(), b"x".to_vec())])],
        &serde_json::json!({}),
    );
    let args = strings(&[
        "release-number",
        "--tree",
        ".",
        "--version",
        "1.10.0",
        "--containerfiles",
        "cf",
        "--changed",
        "true",
        "--image",
        "quay.io/rhdh/plugin-catalog-index",
        "--store",
        "oci-layout:store",
    ]);
    report(
        "release number",
        vec![check(
            "the highest u64",
            work.path(),
            &args,
            &Expect::bad_input(&["is 18446744073709551615, which has no next release number", "nothing was written"]),
        )],
    );
}

/// Files named by the environment that a library opens itself are checked first: a FIFO or a
/// device as `SSL_CERT_FILE` (the TLS stack's CA bundle) or `KUBECONFIG` is bad input by name
/// within seconds, never a step that hangs or reads for ever.
#[test]
fn files_libraries_open_are_checked_first() {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let cases: Vec<(&str, &str, &str, Vec<&str>)> = vec![
        ("SSL_CERT_FILE", "fifo", "FIFO", vec!["validate", "--image", "quay.io/x/y:1", "--registry-attempts", "1"]),
        ("SSL_CERT_FILE", "/dev/zero", "character device", vec!["validate", "--image", "quay.io/x/y:1"]),
        ("SSL_CERT_FILE", "fifo", "FIFO", vec!["promote", "quay.io/x/y:1", "--to", "next"]),
        (
            "KUBECONFIG",
            "fifo",
            "FIFO",
            vec!["await-build", "--sha", sha, "--namespace", "n", "--component", "c", "--timeout", "5"],
        ),
        (
            "KUBECONFIG",
            "/dev/zero",
            "character device",
            vec!["await-build", "--sha", sha, "--namespace", "n", "--component", "c"],
        ),
        ("KUBECONFIG", "folder", "a folder", vec!["await-build", "--sha", sha, "--namespace", "n", "--component", "c"]),
    ];
    let results = cases
        .into_iter()
        .map(|(variable, value, kind, args)| {
            let work = tempfile::tempdir().unwrap();
            mkfifo(&work.path().join("fifo"));
            std::fs::create_dir(work.path().join("folder")).unwrap();
            let path =
                if value.starts_with('/') { value.to_string() } else { work.path().join(value).display().to_string() };
            check_with(
                &format!("{variable}={value}: {}", args[0]),
                work.path(),
                &strings(&args),
                &Expect::bad_input(&[
                    &format!("(named by {variable})"),
                    kind,
                    &format!("point {variable} at a regular file"),
                ]),
                &[],
                |command| {
                    command.env(variable, &path).timeout(Duration::from_secs(60));
                },
            )
        })
        .collect();
    report("files libraries open", results);
}

/// An overlay whose files are each under the 16 MiB a text input may have but add up to
/// gigabytes (a hundred 15 MB files, sparse on disk) is refused naming the file that passes the
/// bound, within a fraction of the index Task's memory (the whole overlay was held before: past
/// 1.5 GB).
#[test]
fn an_overlay_too_big_to_hold_is_refused_within_the_index_tasks_memory() {
    let work = tempfile::tempdir().unwrap();
    example_overlay(work.path());
    let folder = work.path().join("overlay/catalog-entities/extensions/misc");
    std::fs::create_dir_all(&folder).unwrap();
    for number in 0..100 {
        std::fs::File::create(folder.join(format!("file-{number:03}.txt"))).unwrap().set_len(15_000_000).unwrap();
    }
    let args = strings(&[
        "index",
        "--registry",
        "quay.io/rhdh",
        "--rhdh-version",
        "1.10.0",
        "--overlay",
        "overlay",
        "--dry-run",
    ]);
    let (output, peak) = run_measured(work.path(), &args, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let limit = task_limit("index", "index");
    eprintln!("index of an overlay with 1.5 GB of files: peak {peak} KiB (the index Task allows {limit} KiB)");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("catalog-entities/extensions/misc/file-") && stderr.contains("is one file too many"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(!work.path().join("catalog-index").exists() && !work.path().join("plugin_builds").exists());
    assert!(peak < limit / 4, "peak {peak} KiB, the index Task allows {limit} KiB");
}

/// Outputs never overlap what the step reads or writes elsewhere: `index --report` (or
/// `--output`) inside the OCI-layout store would replace a repository's `index.json`,
/// `--results-dir` inside `--output` would write into the folder swapped in; `promote
/// --rollback-file` and `publish --related-images` inside the store likewise. Exit 2 naming both
/// flags, nothing written.
#[test]
fn outputs_never_overlap_the_store_or_each_other() {
    let index = |extra: &[&str]| {
        let mut args = strings(&[
            "index",
            "--registry",
            "quay.io/rhdh",
            "--rhdh-version",
            "1.10.0",
            "--overlay",
            "overlay",
            "--store",
            "oci-layout:registry",
        ]);
        args.extend(strings(extra));
        args
    };
    let cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        (
            "index --report over a repository's index.json",
            index(&["--report", "registry/quay.io/rhdh/x/index.json"]),
            vec!["--report", "overlaps --store"],
        ),
        ("index --output inside the store", index(&["--output", "registry/out"]), vec!["--output", "overlaps --store"]),
        (
            "index --results-dir inside --output",
            index(&["--output", "out", "--results-dir", "out/results"]),
            vec!["--output", "--results-dir"],
        ),
        (
            "promote --rollback-file inside the store",
            strings(&[
                "promote",
                "quay.io/rhdh/x:1",
                "--to",
                "next",
                "--rollback-file",
                "registry/quay.io/rhdh/x/index.json",
                "--store",
                "oci-layout:registry",
            ]),
            vec!["--rollback-file", "overlaps --store"],
        ),
        (
            "publish --related-images inside the store",
            strings(&[
                "publish",
                "catalog",
                "--tag",
                "quay.io/rhdh/index:1",
                "--related-images",
                "registry/related.txt",
                "--store",
                "oci-layout:registry",
            ]),
            vec!["--related-images", "overlaps --store"],
        ),
    ];
    let results = cases
        .into_iter()
        .map(|(name, args, fragments)| {
            let work = tempfile::tempdir().unwrap();
            example_overlay(work.path());
            let (index_json, dpdy) = reference_index();
            write_files(
                work.path(),
                &[
                    ("registry/quay.io/rhdh/x/index.json", b"{\"schemaVersion\":2,\"manifests\":[]}".to_vec()),
                    ("registry/quay.io/rhdh/x/oci-layout", b"{\"imageLayoutVersion\":\"1.0.0\"}".to_vec()),
                    ("catalog/index.json", index_json),
                    ("catalog/dynamic-plugins.default.yaml", dpdy),
                ],
            );
            check(name, work.path(), &args, &Expect::bad_input(&fragments))
        })
        .collect();
    report("outputs overlapping the store", results);
}

/// Fetches the fixture's tree, then exports `workspace` with the recorded exporter.
fn fetch_and_export(fixture: &crate::support::upstreams::Upstreams, workspace: &str) -> std::process::Output {
    let fetched =
        crate::support::rhdh_catalog(&fixture.root).arg("fetch").arg("--tree").arg(&fixture.tree).output().unwrap();
    assert!(fetched.status.success(), "{}", String::from_utf8_lossy(&fetched.stderr));
    crate::support::rhdh_catalog(&fixture.root)
        .arg("export")
        .arg("--tree")
        .arg(&fixture.tree)
        .args(["--exporter", &crate::support::upstreams::recorded_exporter()])
        .args(["--install-command", "test -f package.json", "--tsc-command", ""])
        .args(["--workspace", workspace])
        .output()
        .unwrap()
}

/// Every file under `dir` with its bytes (links by their target), for before/after comparisons.
fn contents(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_symlink() {
                found.push((
                    entry.path(),
                    std::fs::read_link(entry.path()).unwrap().into_os_string().into_encoded_bytes(),
                ));
            } else {
                found.push((entry.path(), std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// An upstream repository (which an overlay pull request chooses) holding links that lead out of
/// the checkout never makes export read, write or remove a file of this machine: a `packages`
/// link to another folder (export prunes `packages/app`, `packages/backend`, `packages/app-*`),
/// a plugin folder or a `package.json` linked out (export reads and rewrites package.json files),
/// a dangling `.yarnrc.yml` link (export writes `yarnPath` into it). The folder outside is
/// byte-identical afterwards; reads are refused naming the file, `outside`.
#[test]
fn export_never_reads_writes_or_removes_through_upstream_links() {
    use crate::support::upstreams::{commit, create};
    type Plant = fn(&Path, &Path);
    let cases: Vec<(&str, Plant, Option<&[&str]>)> = vec![
        (
            "packages linked to another folder",
            |flat, victim| std::os::unix::fs::symlink(victim, flat.join("packages")).unwrap(),
            None,
        ),
        (
            "a plugin's package.json linked out",
            |flat, victim| {
                std::fs::remove_file(flat.join("plugins/sign/package.json")).unwrap();
                std::os::unix::fs::symlink(victim.join("package.json"), flat.join("plugins/sign/package.json"))
                    .unwrap();
            },
            Some(&["plugins/sign/package.json", "outside"]),
        ),
        (
            "a plugin folder linked out",
            |flat, victim| {
                std::fs::remove_dir_all(flat.join("plugins/sign")).unwrap();
                std::os::unix::fs::symlink(victim, flat.join("plugins/sign")).unwrap();
            },
            Some(&["outside"]),
        ),
        (
            "a dangling .yarnrc.yml link",
            |flat, victim| {
                std::fs::create_dir_all(flat.join(".yarn/releases")).unwrap();
                std::fs::write(flat.join(".yarn/releases/yarn-4.4.1.cjs"), "// stand-in\n").unwrap();
                std::os::unix::fs::symlink(victim.join("created-by-export"), flat.join(".yarnrc.yml")).unwrap();
            },
            None,
        ),
    ];
    let mut problems = Vec::new();
    for (name, plant, refusal) in cases {
        let scratch = tempfile::tempdir().unwrap();
        let fixture = create(scratch.path());
        let victim = scratch.path().join("victim");
        write_files(
            &victim,
            &[
                ("backend/keep.txt", b"kept".to_vec()),
                ("app/keep.txt", b"kept".to_vec()),
                ("app-shell/keep.txt", b"kept".to_vec()),
                ("package.json", b"{\"name\": \"@flat/plugin-sign\", \"version\": \"0.3.0\", \"main\": \"src/index.ts\", \"backstage\": {\"role\": \"backend-plugin\"}, \"dependencies\": {\"@flat/x\": \"workspace:^\"}}\n".to_vec()),
                ("src/index.ts", b"export const sign = 1;\n".to_vec()),
            ],
        );
        plant(&fixture.flat, &victim);
        let flat_commit = commit(&fixture.flat, name);
        let source = std::fs::read_to_string(fixture.overlay.join("workspaces/flat/source.json"))
            .unwrap()
            .replace("v0.3.0", &flat_commit);
        std::fs::write(fixture.overlay.join("workspaces/flat/source.json"), source).unwrap();
        commit(&fixture.overlay, "flat: the linked commit");
        let before = contents(&victim);
        let output = fetch_and_export(&fixture, "flat");
        let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let mut wrong = Vec::new();
        if contents(&victim) != before {
            wrong.push("the folder outside changed".to_string());
        }
        if let Some(fragments) = refusal {
            if output.status.code() == Some(0) {
                wrong.push("exit 0".into());
            }
            wrong.extend(
                fragments
                    .iter()
                    .filter(|fragment| !all.contains(*fragment))
                    .map(|fragment| format!("lacks {fragment:?}")),
            );
        }
        if output.status.code() == Some(101) || all.contains("panicked") {
            wrong.push("panicked".into());
        }
        if !wrong.is_empty() {
            problems.push(format!("{name}: {} (exit {:?}):\n{all}", wrong.join("; "), output.status.code()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The midstream copy replaces `workspaces/<name>` of `--output-tree` whole: a folder there that
/// holds a git repository (`.git`) or a link is refused before anything runs, and kept.
#[test]
fn export_replaces_only_a_midstream_copy_it_may_replace() {
    let mut problems = Vec::new();
    for (name, plant) in [
        (
            "a nested checkout",
            (|dir: &Path| {
                write_files(
                    dir,
                    &[(".git/HEAD", b"ref: refs/heads/main\n".to_vec()), ("work.txt", b"uncommitted".to_vec())],
                );
            }) as fn(&Path),
        ),
        ("a link", |dir: &Path| std::os::unix::fs::symlink("/etc", dir.join("etc")).unwrap()),
    ] {
        let scratch = tempfile::tempdir().unwrap();
        let fixture = crate::support::upstreams::create(scratch.path());
        let copy = fixture.tree.join("workspaces/flat");
        std::fs::create_dir_all(&copy).unwrap();
        plant(&copy);
        let before = contents(&copy);
        let output = fetch_and_export(&fixture, "flat");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let ok = output.status.code() == Some(2)
            && stderr.contains("--output-tree")
            && stderr.contains("workspaces/flat")
            && stderr.contains("nothing was written")
            && contents(&copy) == before;
        if !ok {
            problems.push(format!("{name}: exit {:?}: {stderr}", output.status.code()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// `package` builds a plugin image in memory: exported files that add up to more than one image
/// may hold (five files of 250 MB, sparse on disk, each under the per-file limit) are refused
/// naming the file that passes the bound, before a byte is read — far below the export Task's
/// memory, which `package` shares (the whole set was read, tarred and gzipped in memory before).
#[test]
fn package_sizes_a_plugin_image_before_reading_it() {
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist-dynamic");
    write_files(
        &dist,
        &[(
            "package.json",
            b"{\"name\": \"@acme/plugin-big-dynamic\", \"version\": \"1.0.0\", \"backstage\": {\"role\": \"frontend-plugin\"}}".to_vec(),
        )],
    );
    for number in 0..5 {
        std::fs::File::create(dist.join(format!("chunk-{number}.bin"))).unwrap().set_len(250 * 1024 * 1024).unwrap();
    }
    let args =
        strings(&["package", "dist-dynamic", "--tag", "quay.io/acme/plugin-big:1", "--store", "oci-layout:store"]);
    let (output, peak) = run_measured(work.path(), &args, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let limit = task_limit("export", "export");
    eprintln!("package of 1.25 GB of files: peak {peak} KiB (the export Task allows {limit} KiB)");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("chunk-4.bin") && stderr.contains("is one file too many"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(!work.path().join("store").exists(), "nothing pushed");
    assert!(peak < 256 * 1024, "peak {peak} KiB: nothing of the files was held");
}

/// The auth files are read through `io::fs`, and the docker credential-helper lookup (which reads
/// the docker `config.json` itself) only runs when that file is one `io::fs` reads: a FIFO as
/// `REGISTRY_AUTH_FILE` or as `$DOCKER_CONFIG/config.json` against a registry that asks for
/// credentials is said by name (it hung the step, or was silently taken for no credentials).
#[test]
fn auth_files_that_are_no_files_are_said_and_never_hang() {
    let server = crate::support::loopback_http::Server::start(|_| {
        crate::support::loopback_http::Reply::new(401).header("WWW-Authenticate", "Basic realm=\"test\"")
    });
    let host = server.host.clone();
    let mut problems = Vec::new();
    for variable in ["REGISTRY_AUTH_FILE", "DOCKER_CONFIG"] {
        let work = tempfile::tempdir().unwrap();
        std::fs::create_dir(work.path().join("docker")).unwrap();
        mkfifo(&work.path().join("docker/config.json"));
        let value = if variable == "DOCKER_CONFIG" {
            work.path().join("docker")
        } else {
            work.path().join("docker/config.json")
        };
        let output = crate::support::rhdh_catalog(work.path())
            .current_dir(work.path())
            .args([
                "validate",
                "--image",
                &format!("{host}/x/y:1"),
                "--insecure-registry",
                &host,
                "--registry-attempts",
                "1",
            ])
            .env(variable, &value)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = stderr.contains("skipping an unreadable auth file")
            && stderr.contains("docker/config.json")
            && stderr.contains("FIFO");
        if !(matches!(output.status.code(), Some(2 | 3)) && said) {
            problems.push(format!("{variable}: exit {:?}: {stderr}", output.status.code()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Leftovers of the same kind as the first round's: a missing folder is named as such (not as a
/// file inside it that is missing too), a missing OCI-layout store that images are read from is
/// named (validate, diff and promote said the image does not exist), and no Kubernetes
/// configuration at all is bad input,
/// not a failure a retry fixes (exit 3). Exit 2 naming the flag or folder, nothing written.
#[test]
fn missing_inputs_are_named_as_missing() {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        (
            "release-number --tree missing",
            strings(&["release-number", "--tree", "missing", "--version", "1.10.0"]),
            vec!["--tree `missing` is not an existing folder"],
        ),
        (
            "index --overlay missing",
            strings(&["index", "--overlay", "missing", "--registry", "quay.io/rhdh", "--rhdh-version", "1.10.0"]),
            vec!["--overlay `missing` is not an existing folder"],
        ),
        (
            "package of a missing folder",
            strings(&["package", "missing", "--tag", "quay.io/rhdh/x:1", "--store", "oci-layout:store"]),
            vec!["missing: is not an existing folder"],
        ),
        (
            "validate --image from a missing store",
            strings(&["validate", "--image", "quay.io/rhdh/x:1", "--store", "oci-layout:missing"]),
            vec!["--store `oci-layout:missing`", "does not exist"],
        ),
        (
            "diff from a missing store",
            strings(&["diff", "quay.io/rhdh/x:1", "quay.io/rhdh/x:2", "--store", "oci-layout:missing"]),
            vec!["--store `oci-layout:missing`", "does not exist"],
        ),
        (
            "promote from a missing store",
            strings(&["promote", "quay.io/rhdh/x:1", "--to", "next", "--store", "oci-layout:missing"]),
            vec!["--store `oci-layout:missing`", "does not exist"],
        ),
        (
            "await-build with no Kubernetes configuration",
            strings(&["await-build", "--sha", sha, "--namespace", "n", "--component", "c", "--timeout", "1"]),
            vec!["no usable configuration", "KUBECONFIG"],
        ),
    ];
    let results = cases
        .into_iter()
        .map(|(name, args, fragments)| {
            let work = tempfile::tempdir().unwrap();
            write_files(
                work.path(),
                &[("cf/index.Containerfile", b"FROM x\nLABEL version=\"1.10.0\" release=\"3\"\n".to_vec())],
            );
            check(name, work.path(), &args, &Expect::bad_input(&fragments))
        })
        .collect();
    report("missing inputs", results);
}

/// `validate` checks the first layer of every image a file names, and keeps of each only what the
/// checks need (whether the plugin folder is there), never its entry names: twenty images whose
/// first layers each hold 50 000 entries with 640-character names (32 MB of names each, 3 MB
/// gzipped) stay far below the validate Task's memory (they took it to about 800 MB before).
#[test]
fn validate_keeps_no_names_of_the_layers_it_checks() {
    let work = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> =
        (0..50_000).map(|number| Entry::File(format!("p/{number:07}{}", "x".repeat(630)), Vec::new())).collect();
    let layer = tar_gz(&entries);
    let mut dpdy = String::from("plugins:\n");
    for number in 0..20 {
        let dir = repository_dir(&work.path().join("store"), "quay.io", &format!("rhdh/big{number}"));
        put_image(&dir, "1", std::slice::from_ref(&layer), &super::images::dynamic_packages(&["p"]));
        dpdy.push_str(&format!("  - package: oci://quay.io/rhdh/big{number}:1!p\n    disabled: true\n"));
        dpdy.push_str(&format!("  - package: oci://quay.io/rhdh/big{number}:1!q\n    disabled: true\n"));
    }
    std::fs::write(work.path().join("dynamic-plugins.yaml"), dpdy).unwrap();
    let args = strings(&["validate", "dynamic-plugins.yaml", "--store", "oci-layout:store"]);
    let (output, peak) = run_measured(work.path(), &args, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let limit = task_limit("validate", "validate");
    eprintln!("validate of 20 images with 32 MB of names each: peak {peak} KiB (the validate Task allows {limit} KiB)");
    // Each image holds `p/` and not `q/`: twenty findings, one per missing folder, and no others.
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout.matches("has no `q/` folder").count(), 20, "{stdout}");
    assert!(!stdout.contains("`p/`"), "{stdout}");
    assert!(peak < limit / 2, "peak {peak} KiB, the validate Task allows {limit} KiB");
}

/// A git remote that an upstream list (or an overlay's `source.json`) names and that answers one
/// byte every few seconds is given up as stalled (git's low-speed limit, set on every git
/// command) instead of holding the step until its Task times out: `fetch` ends with a failure
/// naming the repository in well under two minutes.
#[test]
fn a_stalled_git_remote_is_given_up() {
    use crate::support::loopback_http::{Body, Reply, Server, Tls};
    let tls = Tls::for_loopback();
    let server = Server::start_tls(&tls, |_| {
        Reply::new(200).header("Content-Type", "application/x-git-upload-pack-advertisement").with_body(Body::Drip {
            bytes: b"001e# service=git-upload-pack\n0000".repeat(20),
            delay: Duration::from_secs(5),
        })
    });
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("ca.crt"), &tls.ca_pem).unwrap();
    write_files(
        work.path(),
        &[(
            "upstream_repos.yml",
            format!(
                "rhdh: {{branch: main, version: 1.10.0}}\nbackstage: {{version: 1.49.4}}\nrepos:\n  - repo: https://{}/acme/overlays.git\n    branch: main\n    destination_folder: overlay-repo\n",
                server.host
            )
            .into_bytes(),
        )],
    );
    let started = std::time::Instant::now();
    let output = crate::support::rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(["fetch", "--tree", "."])
        .env("RHDH_CATALOG_EXTRA_CA", work.path().join("ca.crt"))
        .env_remove("RHDH_CATALOG_ALLOW_LOCAL_REPOS")
        .timeout(Duration::from_secs(240))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("fetch from a stalled remote ended after {elapsed:?}");
    assert!(matches!(output.status.code(), Some(2 | 3)), "exit {:?}: {stderr}", output.status.code());
    assert!(stderr.contains(&server.host) && stderr.contains("acme/overlays"), "{stderr}");
    assert!(elapsed < Duration::from_secs(120), "{elapsed:?}: {stderr}");
}

/// An index the installer would refuse at pod start is never written: two enabled default
/// plugins whose metadata set one configuration key to two values (the installer's
/// "config-conflict", which stops every RHDH pod that installs the index) are bad input naming the
/// key, with nothing written (index wrote it and exited 0).
#[test]
fn index_never_writes_what_the_installer_refuses() {
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let store = work.path().join("registry");
    std::fs::create_dir_all(&store).unwrap();
    crate::support::publish_example_images(
        work.path(),
        &overlay,
        "quay.io/rhdh",
        &format!("oci-layout:{}", store.display()),
        None,
    );
    let metadata = overlay.join("workspaces/extensions/metadata/rhdh-bsp-extensions.yaml");
    let text = std::fs::read_to_string(&metadata).unwrap();
    let conflicting = text.replacen(
        "      content:\n        dynamicPlugins:",
        "      content:\n        app:\n          analytics:\n            segment:\n              maskIP: false\n        dynamicPlugins:",
        1,
    );
    assert_ne!(text, conflicting);
    std::fs::write(&metadata, conflicting).unwrap();
    let args = index_args(&[]);
    report(
        "index output the installer refuses",
        vec![check(
            "two enabled plugins setting one key to two values",
            work.path(),
            &args,
            &Expect::bad_input(&[
                "dynamic-plugins.default.yaml",
                "would break the RHDH installer's rules, so nothing was written",
                "app.analytics.segment.maskIP",
                "[config-conflict]",
            ]),
        )],
    );
}

/// A patch in an overlay whose file name is not UTF-8 is refused naming the patches folder and
/// the name as escaped bytes, before anything runs (it was looked up under a mangled name, the
/// error blaming a file that does not exist).
#[test]
fn export_names_a_patch_whose_name_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let scratch = tempfile::tempdir().unwrap();
    let fixture = crate::support::upstreams::create(scratch.path());
    let name = std::ffi::OsStr::from_bytes(b"0002-\xff\xfe.patch");
    std::fs::write(
        fixture.overlay.join("workspaces/hello/patches").join(name),
        crate::support::upstreams::OFFSET_PATCH,
    )
    .unwrap();
    crate::support::upstreams::commit(&fixture.overlay, "a patch whose name is not UTF-8");
    let output = fetch_and_export(&fixture, "hello");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("workspaces/hello/patches") && stderr.contains("0002-\\xff\\xfe.patch"), "{stderr}");
    assert!(stderr.contains("not valid UTF-8") && stderr.contains("hint: "), "{stderr}");
    assert!(!fixture.tree.join("workspaces/hello").exists(), "nothing written");
}
