//! The file-system and process side of hostile input: links out of the tree, devices and FIFOs
//! where files belong, `.git` as a destination, local repositories named by content, outputs that
//! would replace inputs, and malformed flags of the release side. Every case exits 2 naming the
//! file or flag and the fix, never shows the content of a file it refused, writes nothing and
//! runs nothing.

use std::os::unix::fs::symlink;
use std::path::Path;

use super::{Expect, check_with, index_args, report, strings};
use crate::support::example_overlay;

/// What `/etc/passwd` always starts with: never to be echoed.
const PASSWD: &str = "root:x:0:0";

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A case: prepare `work` (the example overlay is in `work/overlay`), then run `args` in it.
struct Case {
    name: &'static str,
    prepare: fn(&Path),
    args: Vec<String>,
    fragments: Vec<String>,
    /// Leave `RHDH_CATALOG_ALLOW_LOCAL_REPOS` out of the environment.
    strict_repositories: bool,
}

fn case(name: &'static str, prepare: fn(&Path), args: Vec<String>, fragments: &[&str]) -> Case {
    Case { name, prepare, args, fragments: strings(fragments), strict_repositories: false }
}

fn run(class: &str, cases: Vec<Case>) {
    let results = cases
        .into_iter()
        .map(|case| {
            let work = tempfile::tempdir().unwrap();
            example_overlay(work.path());
            (case.prepare)(work.path());
            let strict = case.strict_repositories;
            check_with(
                case.name,
                work.path(),
                &case.args,
                &Expect { code: 2, fragments: case.fragments },
                &[PASSWD],
                |command| {
                    if strict {
                        command.env_remove("RHDH_CATALOG_ALLOW_LOCAL_REPOS");
                    }
                },
            )
        })
        .collect();
    report(class, results);
}

fn replace_with_link(path: &Path, target: &str) {
    let _ = std::fs::remove_file(path);
    symlink(target, path).unwrap();
}

#[test]
fn hostile_files_outside_the_tree() {
    run(
        "files outside the tree",
        vec![
            case(
                "a supported list linked to /etc/passwd",
                |work| replace_with_link(&work.join("overlay/rhdh-supported-packages.txt"), "/etc/passwd"),
                index_args(&[]),
                &["rhdh-supported-packages.txt", "outside", "symbolic link"],
            ),
            case(
                "default.packages.yaml linked to /dev/zero",
                |work| replace_with_link(&work.join("overlay/default.packages.yaml"), "/dev/zero"),
                index_args(&[]),
                &["default.packages.yaml", "character device"],
            ),
            case(
                "versions.json linked outside the tree",
                |work| {
                    std::fs::write(work.join("elsewhere.json"), "{\"backstage\": \"1.52.0\"}").unwrap();
                    replace_with_link(&work.join("overlay/versions.json"), "../elsewhere.json");
                },
                index_args(&[]),
                &["versions.json", "outside"],
            ),
            case(
                "a relative link that climbs out",
                |work| {
                    replace_with_link(
                        &work.join("overlay/rhdh-supported-packages.txt"),
                        "../../../../../../etc/passwd",
                    );
                },
                index_args(&[]),
                &["rhdh-supported-packages.txt", "outside"],
            ),
            case(
                "a catalog entity that is a FIFO",
                |work| {
                    let entity = work.join("overlay/catalog-entities/extensions/plugins/tech-radar.yaml");
                    std::fs::remove_file(&entity).unwrap();
                    mkfifo(&entity);
                },
                index_args(&[]),
                &["tech-radar.yaml", "FIFO"],
            ),
            case(
                "a package list given as a FIFO",
                |work| mkfifo(&work.join("list.txt")),
                index_args(&["--packages", "list.txt"]),
                &["list.txt", "FIFO"],
            ),
            case(
                "a package list given as /dev/zero",
                |_| {},
                index_args(&["--packages", "/dev/zero"]),
                &["/dev/zero", "character device"],
            ),
            case(
                "a package list given as a folder",
                |work| std::fs::create_dir(work.join("folder.txt")).unwrap(),
                index_args(&["--packages", "folder.txt"]),
                &["folder.txt", "a folder"],
            ),
            case(
                "a versions file given as /dev/urandom",
                |_| {},
                index_args(&["--versions", "/dev/urandom"]),
                &["/dev/urandom", "character device"],
            ),
            case(
                "a metadata file with a byte-order mark",
                |work| {
                    let path =
                        work.join("overlay/workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml");
                    let mut bytes = vec![0xEF, 0xBB, 0xBF];
                    bytes.extend(std::fs::read(&path).unwrap());
                    std::fs::write(path, bytes).unwrap();
                },
                index_args(&[]),
                &["backstage-community-plugin-tech-radar.yaml", "byte-order mark"],
            ),
            case(
                "validate of a file whose include links to /etc/passwd",
                |work| {
                    std::fs::write(work.join("dynamic-plugins.yaml"), "includes: [passwd.yaml]\nplugins: []\n")
                        .unwrap();
                    symlink("/etc/passwd", work.join("passwd.yaml")).unwrap();
                },
                strings(&["validate", "--no-registry", "dynamic-plugins.yaml"]),
                &["passwd.yaml", "outside"],
            ),
        ],
    );
}

#[test]
fn hostile_git_folders_and_local_repositories() {
    let upstream_repos = |destination: &str, repo: &str| {
        format!(
            "rhdh: {{branch: release-1.10, version: 1.10.0}}\nbackstage: {{version: 1.49.4}}\nrepos:\n  - repo: {repo}\n    branch: main\n    destination_folder: {destination}\n"
        )
    };
    let overlays = "https://github.com/redhat-developer/rhdh-plugin-export-overlays";
    let mut results = Vec::new();
    for (name, text, fragments, strict) in [
        (
            "an upstream destination inside .git/hooks",
            upstream_repos(".git/hooks", overlays),
            vec![".git/hooks", "`.git`"],
            false,
        ),
        (
            "an upstream destination inside a nested .git",
            upstream_repos("overlay-repo/.git", overlays),
            vec!["overlay-repo/.git", "`.git`"],
            false,
        ),
        (
            "an upstream destination inside .GIT",
            upstream_repos(".GIT/hooks", overlays),
            vec![".GIT/hooks", "`.git`"],
            false,
        ),
        (
            "a file:// upstream without --allow-local-repos",
            upstream_repos("overlay-repo", "file:///etc"),
            vec!["upstream_repos.yml", "file:///etc", "--allow-local-repos"],
            true,
        ),
        (
            "a git:// upstream without --allow-local-repos",
            upstream_repos("overlay-repo", "git://example.test/overlay"),
            vec!["upstream_repos.yml", "git://", "--allow-local-repos"],
            true,
        ),
    ] {
        let work = tempfile::tempdir().unwrap();
        std::fs::write(work.path().join("upstream_repos.yml"), text).unwrap();
        results.push(check_with(
            name,
            work.path(),
            &strings(&["fetch", "--tree", "."]),
            &Expect { code: 2, fragments: strings(&fragments) },
            &[PASSWD],
            |command| {
                if strict {
                    command.env_remove("RHDH_CATALOG_ALLOW_LOCAL_REPOS");
                }
            },
        ));
    }
    report("upstream destinations and repositories", results);
    let mut local_source = case(
        "a source.json naming file:///etc without --allow-local-repos",
        |work| {
            std::fs::write(
                work.join("upstream_repos.yml"),
                "rhdh: {branch: release-1.10, version: 1.10.0}\nbackstage: {version: 1.49.4}\nrepos:\n  - repo: https://github.com/redhat-developer/rhdh-plugin-export-overlays\n    branch: main\n    destination_folder: overlay\n",
            )
            .unwrap();
            let source = work.join("overlay/workspaces/tech-radar/source.json");
            let text = std::fs::read_to_string(&source).unwrap();
            let repo = text.split("\"repo\":").nth(1).unwrap().split('"').nth(1).unwrap().to_string();
            std::fs::write(&source, text.replace(&repo, "file:///etc")).unwrap();
        },
        strings(&["fetch", "--tree", ".", "--overlay", "overlay", "--skip-clone"]),
        &["workspaces/tech-radar/source.json", "file:///etc", "--allow-local-repos"],
    );
    local_source.strict_repositories = true;
    run(
        "git folders and local repositories",
        vec![
            case(
                "an --overlay inside .git",
                |work| std::fs::create_dir_all(work.join("repo/.git")).unwrap(),
                strings(&["index", "--registry", "quay.io/rhdh", "--rhdh-version", "1.10.0", "--overlay", "repo/.git"]),
                &["--overlay", ".git"],
            ),
            case(
                "a workspace folder named .git",
                |work| {
                    std::fs::create_dir_all(work.join("overlay/workspaces/.git")).unwrap();
                    std::fs::write(work.join("overlay/workspaces/.git/source.json"), "{}").unwrap();
                },
                index_args(&[]),
                &["workspaces/.git", "cannot be a workspace"],
            ),
            local_source,
        ],
    );
}

#[test]
fn hostile_outputs_over_inputs() {
    run(
        "outputs over inputs",
        vec![
            case("--output is the overlay", |_| {}, index_args(&["--output", "overlay"]), &["--output", "--overlay"]),
            case(
                "--output inside the overlay's entities",
                |_| {},
                index_args(&["--output", "overlay/catalog-entities"]),
                &["--output", "--overlay"],
            ),
            case(
                "--output inside a workspace",
                |_| {},
                index_args(&["--output", "overlay/workspaces/tech-radar"]),
                &["--output", "--overlay"],
            ),
            case(
                "--output equal to --plugin-builds",
                |_| {},
                index_args(&["--output", "out", "--plugin-builds", "out"]),
                &["--output", "--plugin-builds"],
            ),
            case(
                "--plugin-builds inside --output",
                |_| {},
                index_args(&["--output", "out", "--plugin-builds", "out/builds"]),
                &["--output", "--plugin-builds"],
            ),
            case("--output is /", |_| {}, index_args(&["--output", "/"]), &["--output", "root folder"]),
            case(
                "--output is . with the overlay in .",
                |_| {},
                strings(&[
                    "index",
                    "--registry",
                    "quay.io/rhdh",
                    "--rhdh-version",
                    "1.10.0",
                    "--overlay",
                    "overlay",
                    "--output",
                    ".",
                ]),
                &["--output", "--overlay"],
            ),
            case(
                "--output through a link to the overlay",
                |work| symlink("overlay", work.join("alias")).unwrap(),
                index_args(&["--output", "alias"]),
                &["--output", "--overlay"],
            ),
            case(
                "--report inside --output",
                |_| {},
                index_args(&["--output", "out", "--report", "out/report.json"]),
                &["--output", "--report"],
            ),
            case(
                "--output is the packages file",
                |_| {},
                index_args(&["--output", "overlay/default.packages.yaml"]),
                &["--output", "--packages"],
            ),
            case(
                "export writing workspaces over the overlay",
                |work| std::fs::write(work.join("plan.json"), "{}").unwrap(),
                strings(&["export", "--tree", ".", "--overlay", ".", "--workspace", "tech-radar"]),
                &["--output-tree", "--overlay"],
            ),
            case(
                "export's --work-dir is the overlay",
                |work| std::fs::write(work.join("plan.json"), "{}").unwrap(),
                strings(&[
                    "export",
                    "--tree",
                    ".",
                    "--overlay",
                    "overlay",
                    "--work-dir",
                    "overlay",
                    "--workspace",
                    "x",
                ]),
                &["--work-dir", "--overlay"],
            ),
            case(
                "sync's --out is the checkout",
                |_| {},
                strings(&["sync", "--tree", ".", "--out", "."]),
                &["--out", "--tree"],
            ),
            case(
                "fetch's plan over upstream_repos.yml",
                |work| std::fs::write(work.join("upstream_repos.yml"), "").unwrap(),
                strings(&["fetch", "--tree", ".", "--plan", "upstream_repos.yml", "--skip-clone"]),
                &["--plan", "--upstream-repos"],
            ),
            case(
                "publish writing related images into the index folder",
                |work| std::fs::create_dir(work.join("catalog-index")).unwrap(),
                strings(&[
                    "publish",
                    "catalog-index",
                    "--tag",
                    "quay.io/rhdh/x:1",
                    "--related-images",
                    "catalog-index/related.txt",
                ]),
                &["--related-images", "catalog-index"],
            ),
            case(
                "artifact use into /",
                |_| {},
                strings(&[
                    "artifact",
                    "use",
                    "oci:quay.io/rhdh/x@sha256:0000000000000000000000000000000000000000000000000000000000000000=/",
                ]),
                &["root folder"],
            ),
        ],
    );
}

#[test]
fn hostile_flags_of_the_release_side() {
    let digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let empty_folder = format!("oci:quay.io/rhdh/x@{digest}=");
    run(
        "flags of the release side",
        vec![
            case(
                "artifact use of a URI without a digest",
                |_| {},
                strings(&["artifact", "use", "oci:quay.io/rhdh/x", "--to", "out"]),
                &["oci:quay.io/rhdh/x", "oci:<repository>@sha256:<digest>"],
            ),
            case(
                "artifact use of a URI that is no URI",
                |_| {},
                strings(&["artifact", "use", "not-a-uri", "--to", "out"]),
                &["not-a-uri"],
            ),
            Case {
                name: "artifact use into an empty folder name",
                prepare: |_| {},
                args: vec!["artifact".into(), "use".into(), empty_folder],
                fragments: strings(&["empty folder"]),
                strict_repositories: false,
            },
            case("report of a task without =", |_| {}, strings(&["report", "fetch"]), &["`fetch`", "<task>=<status>"]),
            case("report of a task with no name", |_| {}, strings(&["report", "=Failed"]), &["<task>=<status>"]),
            case(
                "release-number --version 1.10",
                |work| std::fs::create_dir_all(work.join("build/containerfiles")).unwrap(),
                strings(&["release-number", "--tree", ".", "--version", "1.10", "--image", "quay.io/rhdh/index"]),
                // --version is the old spelling of --rhdh-version, which the message names.
                &["--rhdh-version", "1.10", "x.y.z"],
            ),
            case(
                "--registry with a scheme",
                |_| {},
                strings(&[
                    "index",
                    "--registry",
                    "https://quay.io/rhdh",
                    "--rhdh-version",
                    "1.10.0",
                    "--overlay",
                    "overlay",
                ]),
                &["--registry", "drop `https://`"],
            ),
            case(
                "index reading a layout folder that does not exist",
                |_| {},
                strings(&[
                    "index",
                    "--registry",
                    "quay.io/rhdh",
                    "--rhdh-version",
                    "1.10.0",
                    "--overlay",
                    "overlay",
                    "--store",
                    "oci-layout:/nonexistent",
                    "--allow-missing",
                ]),
                &["oci-layout:/nonexistent", "does not exist"],
            ),
            case(
                "package of an export whose name is empty",
                |work| {
                    std::fs::create_dir_all(work.join("dist-dynamic")).unwrap();
                    std::fs::write(work.join("dist-dynamic/package.json"), r#"{"name": "", "version": "1.0.0"}"#)
                        .unwrap();
                },
                strings(&["package", "dist-dynamic", "--tag", "quay.io/rhdh/x:1", "--store", "oci-layout:registry"]),
                &["dist-dynamic/package.json", "not an npm package name"],
            ),
            case(
                "package of an export whose name climbs out",
                |work| {
                    std::fs::create_dir_all(work.join("dist-dynamic")).unwrap();
                    std::fs::write(
                        work.join("dist-dynamic/package.json"),
                        r#"{"name": "../../etc", "version": "1.0.0"}"#,
                    )
                    .unwrap();
                },
                strings(&["package", "dist-dynamic", "--tag", "quay.io/rhdh/x:1", "--store", "oci-layout:registry"]),
                &["dist-dynamic/package.json", "not an npm package name"],
            ),
            case(
                "package overriding the dynamic-packages annotation",
                |work| {
                    std::fs::create_dir_all(work.join("dist-dynamic")).unwrap();
                    std::fs::write(work.join("dist-dynamic/package.json"), r#"{"name": "a", "version": "1.0.0"}"#)
                        .unwrap();
                },
                strings(&[
                    "package",
                    "dist-dynamic",
                    "--tag",
                    "quay.io/rhdh/x:1",
                    "--store",
                    "oci-layout:registry",
                    "--annotation",
                    "io.backstage.dynamic-packages=W10=",
                ]),
                &["io.backstage.dynamic-packages", "computed"],
            ),
            case(
                "publish with a label holding a newline",
                |work| {
                    std::fs::create_dir(work.join("catalog-index")).unwrap();
                    std::fs::write(work.join("catalog-index/dynamic-plugins.default.yaml"), "plugins: []\n").unwrap();
                },
                strings(&["publish", "catalog-index", "--tag", "quay.io/rhdh/x:1", "--label", "a=b\nc=d"]),
                &["--label", "U+000A"],
            ),
            case(
                "publish of an index whose dynamic-plugins.default.yaml does not parse",
                |work| {
                    std::fs::create_dir(work.join("catalog-index")).unwrap();
                    std::fs::write(work.join("catalog-index/dynamic-plugins.default.yaml"), "plugins: [\n").unwrap();
                },
                strings(&["publish", "catalog-index", "--tag", "quay.io/rhdh/x:1", "--store", "oci-layout:registry"]),
                &["dynamic-plugins.default.yaml"],
            ),
            case(
                "diff of a folder that is no index",
                |work| std::fs::create_dir(work.join("empty")).unwrap(),
                strings(&["diff", "empty", "overlay"]),
                &["empty", "is not a catalog index"],
            ),
            case(
                "fetch of a tree that does not exist",
                |_| {},
                strings(&["fetch", "--tree", "missing"]),
                &["--tree", "missing", "not an existing folder"],
            ),
        ],
    );
}
