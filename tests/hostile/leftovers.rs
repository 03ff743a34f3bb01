//! What the first round left: a workspace folder whose name is not UTF-8 (skipped silently, the
//! error blaming another file), `index` accepting a `file://` repository in `source.json` that
//! fetch and export refuse, `index --output .` and `sync` on a missing tree ending as if a retry
//! could help (exit 3), `promote --rollback '[]'` read as a file name, an upstream `package.json`
//! whose `name` is not an npm name, and a plugins-list entry that is a file. Each is now bad input
//! (exit 2) naming the file or flag.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{Expect, check, check_with, report, strings};
use crate::support::example_overlay;
use crate::support::upstreams::{self, commit, recorded_exporter, write};

type Case = (&'static str, fn(&Path), Vec<String>);

fn non_utf8_workspace(work: &Path) {
    let name = std::ffi::OsStr::from_bytes(b"tech-radar-\xff\xfe");
    let dir = work.join("overlay/workspaces").join(name);
    std::fs::create_dir_all(dir.join("metadata")).unwrap();
    std::fs::write(dir.join("source.json"), "{}").unwrap();
}

#[test]
fn non_utf8_names_in_an_overlay_are_named() {
    let upstream_repos = "rhdh: {branch: main, version: 1.10.0}\nbackstage: {version: 1.49.4}\nrepos:\n  - repo: https://github.com/x/overlays\n    branch: main\n    destination_folder: overlay\n";
    let cases: Vec<Case> = vec![
        (
            "index of an overlay with a non-UTF-8 workspace folder",
            non_utf8_workspace,
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
        ),
        (
            "fetch of an overlay with a non-UTF-8 workspace folder",
            non_utf8_workspace,
            strings(&["fetch", "--tree", ".", "--overlay", "overlay", "--skip-clone"]),
        ),
        (
            "index of an overlay with a non-UTF-8 metadata file",
            |work| {
                let name = std::ffi::OsStr::from_bytes(b"plugin-\xc0.yaml");
                std::fs::write(work.join("overlay/workspaces/tech-radar/metadata").join(name), "kind: Package\n")
                    .unwrap();
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
        ),
    ];
    let results = cases
        .into_iter()
        .map(|(name, prepare, args)| {
            let work = tempfile::tempdir().unwrap();
            example_overlay(work.path());
            std::fs::write(work.path().join("upstream_repos.yml"), upstream_repos).unwrap();
            prepare(work.path());
            check(name, work.path(), &args, &Expect::bad_input(&["is not valid UTF-8", "\\x"]))
        })
        .collect();
    report("non-UTF-8 names", results);
}

#[test]
fn index_refuses_the_repositories_fetch_and_export_refuse() {
    let results = ["file:///etc", "git://example.test/plugins", "file:///tmp/../etc"]
        .into_iter()
        .map(|repo| {
            let work = tempfile::tempdir().unwrap();
            let overlay = example_overlay(work.path());
            let source = overlay.join("workspaces/tech-radar/source.json");
            let text = std::fs::read_to_string(&source)
                .unwrap()
                .replace("https://github.com/backstage/community-plugins", repo);
            std::fs::write(&source, text).unwrap();
            check_with(
                repo,
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
                &Expect::bad_input(&["workspaces/tech-radar/source.json", "--allow-local-repos"]),
                &[],
                |command| {
                    command.env_remove("RHDH_CATALOG_ALLOW_LOCAL_REPOS");
                },
            )
        })
        .collect();
    report("index and local repositories", results);
}

#[test]
fn usage_mistakes_of_the_first_round_are_bad_input() {
    let mut results = Vec::new();
    // `index --output .` from a folder that holds only the run: the folder the step runs in.
    let work = tempfile::tempdir().unwrap();
    example_overlay(work.path());
    std::fs::create_dir_all(work.path().join("run")).unwrap();
    results.push(check(
        "index --output . in an empty folder",
        &work.path().join("run"),
        &strings(&[
            "index",
            "--registry",
            "quay.io/rhdh",
            "--rhdh-version",
            "1.10.0",
            "--overlay",
            "../overlay",
            "--output",
            ".",
            "--store",
            "oci-layout:../registry",
        ]),
        &Expect::bad_input(&["--output `.` overlaps --plugin-builds"]),
    ));
    results.push(check(
        "index --output . in an empty folder, --plugin-builds elsewhere",
        &work.path().join("run"),
        &strings(&[
            "index",
            "--registry",
            "quay.io/rhdh",
            "--rhdh-version",
            "1.10.0",
            "--overlay",
            "../overlay",
            "--output",
            ".",
            "--plugin-builds",
            "../builds",
            "--store",
            "oci-layout:../registry",
        ]),
        &Expect::bad_input(&["`--output`", "the folder the step runs in", "nothing was written"]),
    ));
    for (name, args, fragments) in [
        (
            "sync on a missing tree",
            strings(&["sync", "--tree", "missing", "--out", "out"]),
            vec!["--tree", "missing", "is not an existing folder"],
        ),
        (
            "promote --rollback '[]'",
            strings(&["promote", "--rollback", "[]"]),
            vec!["--rollback", "expected an object, found a list"],
        ),
        ("promote --rollback 'null'", strings(&["promote", "--rollback", "null"]), vec!["--rollback"]),
        (
            "promote --rollback of a missing file",
            strings(&["promote", "--rollback", "no-such-file.json"]),
            vec!["--rollback", "no-such-file.json", "neither an existing file nor the JSON"],
        ),
        (
            "promote --rollback with a wrong field",
            strings(&["promote", "--rollback", "{\"repository\": 1}"]),
            vec!["--rollback", "repository"],
        ),
    ] {
        let work = tempfile::tempdir().unwrap();
        results.push(check(name, work.path(), &args, &Expect::bad_input(&fragments)));
    }
    report("usage mistakes", results);
}

fn fetch_and_export(fixture: &upstreams::Upstreams, workspace: &str) -> std::process::Output {
    let fetched =
        crate::support::rhdh_catalog(&fixture.root).arg("fetch").arg("--tree").arg(&fixture.tree).output().unwrap();
    assert!(fetched.status.success(), "{}", String::from_utf8_lossy(&fetched.stderr));
    crate::support::rhdh_catalog(&fixture.root)
        .arg("export")
        .arg("--tree")
        .arg(&fixture.tree)
        .args(["--exporter", &recorded_exporter(), "--install-command", "test -f package.json", "--tsc-command", ""])
        .args(["--workspace", workspace])
        .output()
        .unwrap()
}

/// An upstream `package.json` whose `name` is not an npm name never becomes an image name, a
/// folder or a line of a page: export refuses it naming the file (control characters shown as
/// code points; pages escape the rest).
#[test]
fn export_refuses_an_upstream_name_outside_npms_grammar() {
    let mut problems = Vec::new();
    for name in [
        "<img src=x onerror=alert(1)>",
        "../../etc",
        "@acme/../x",
        "Plugin-Sign",
        "@acme/plugin sign",
        ".hidden",
        "a\\u0000b",
    ] {
        let scratch = tempfile::tempdir().unwrap();
        let fixture = upstreams::create(scratch.path());
        let manifest = format!(
            "{{\"name\": \"{name}\", \"version\": \"0.3.0\", \"main\": \"src/index.ts\", \"backstage\": {{\"role\": \"backend-plugin\"}}}}\n"
        );
        write(&fixture.flat, &[("plugins/sign/package.json", &manifest)]);
        let flat_commit = commit(&fixture.flat, "a hostile name");
        let source = std::fs::read_to_string(fixture.overlay.join("workspaces/flat/source.json"))
            .unwrap()
            .replace("v0.3.0", &flat_commit);
        write(&fixture.overlay, &[("workspaces/flat/source.json", &source)]);
        commit(&fixture.overlay, "flat: the hostile commit");
        let output = fetch_and_export(&fixture, "flat");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let ok = output.status.code() == Some(2)
            && stderr.contains("plugins/sign/package.json")
            && stderr.contains("is not an npm package name")
            && stderr.contains("hint: ")
            && !fixture.tree.join("workspaces/flat").exists();
        if !ok {
            problems.push(format!("{name}: exit {:?}: {stderr}", output.status.code()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// A plugins-list entry naming a file upstream is named as such, not reported as a missing folder.
#[test]
fn export_names_a_plugins_list_entry_that_is_a_file() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    write(
        &fixture.overlay,
        &[
            ("workspaces/flat/plugins-list.yaml", "plugins/sign/package.json:\n"),
            (
                "rhdh-supported-packages.txt",
                "hello/plugins/hello\nhello/plugins/hello-backend\ngreeter/plugins/greeter-backend\nflat/plugins/sign/package.json\n",
            ),
        ],
    );
    commit(&fixture.overlay, "flat: an entry that is a file");
    let output = fetch_and_export(&fixture, "flat");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("plugins-list.yaml:1: `plugins/sign/package.json` is a file in"), "{stderr}");
    assert!(stderr.contains("not a plugin folder"), "{stderr}");
}
