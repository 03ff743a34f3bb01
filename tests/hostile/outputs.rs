//! Outputs never delete what the tool did not write. `index` replaces its output folders whole, so
//! it refuses one that is neither empty nor recognisably its own previous output — a checkout with
//! `.git` and uncommitted files, a home-like folder with `.ssh/`, a folder with one stray file, a
//! link, a FIFO, a file — and `commit` works only at a repository's top level, never in the
//! repository that happens to enclose a folder. Every case: exit 2 naming the flag or folder,
//! "nothing was written", the folder byte-identical afterwards.

use std::os::unix::fs::symlink;
use std::path::Path;

use super::{Expect, check, index_args, report, strings};
use crate::support::example_overlay;

fn git(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.test", "-c", "init.defaultBranch=main"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A git checkout at `dir` with one commit and one uncommitted file.
fn checkout(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    write(&dir.join("README.md"), "kept\n");
    git(dir, &["add", "README.md"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    write(&dir.join("work-in-progress.txt"), "not committed\n");
}

type Prepare = fn(&Path);

fn run(class: &str, cases: Vec<(&str, Prepare, Vec<String>, Vec<&str>)>) {
    let results = cases
        .into_iter()
        .map(|(name, prepare, args, fragments)| {
            let work = tempfile::tempdir().unwrap();
            example_overlay(work.path());
            prepare(work.path());
            let mut all = vec!["nothing was written"];
            all.extend(fragments);
            check(name, work.path(), &args, &Expect::bad_input(&all))
        })
        .collect();
    report(class, results);
}

#[test]
fn index_replaces_only_its_own_output_folders() {
    run(
        "index output folders",
        vec![
            (
                "--output is a git checkout with uncommitted files",
                |work| checkout(&work.join("out")),
                index_args(&["--output", "out"]),
                vec!["`--output`", ".git"],
            ),
            (
                "--output is a home-like folder with .ssh",
                |work| {
                    write(&work.join("home/.ssh/id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\n");
                    write(&work.join("home/.bashrc"), "export A=1\n");
                },
                index_args(&["--output", "home"]),
                vec!["`--output`", "which this step does not write"],
            ),
            (
                "--output holds one stray file",
                |work| write(&work.join("out/notes.txt"), "mine\n"),
                index_args(&["--output", "out"]),
                vec!["`--output`", "notes.txt"],
            ),
            (
                "--output holds a previous index and a stray top-level file",
                |work| {
                    write(&work.join("out/index.json"), "{}\n");
                    write(&work.join("out/catalog-entities/extensions/plugins/a.yaml"), "a: 1\n");
                    write(&work.join("out/TODO.md"), "mine\n");
                },
                index_args(&["--output", "out"]),
                vec!["`--output`", "TODO.md"],
            ),
            (
                "--output holds a nested .git",
                |work| {
                    write(&work.join("out/index.json"), "{}\n");
                    write(&work.join("out/catalog-entities/.git/config"), "[core]\n");
                },
                index_args(&["--output", "out"]),
                vec!["`--output`", ".git"],
            ),
            (
                "--output holds a symbolic link",
                |work| {
                    write(&work.join("out/index.json"), "{}\n");
                    symlink("/etc", work.join("out/catalog-entities")).unwrap();
                },
                index_args(&["--output", "out"]),
                vec!["`--output`", "a symbolic link"],
            ),
            (
                "--output holds a FIFO",
                |work| {
                    std::fs::create_dir_all(work.join("out")).unwrap();
                    let status =
                        std::process::Command::new("mkfifo").arg(work.join("out/index.json")).status().unwrap();
                    assert!(status.success());
                },
                index_args(&["--output", "out"]),
                vec!["`--output`", "FIFO"],
            ),
            (
                "--output is a file",
                |work| write(&work.join("out"), "a file\n"),
                index_args(&["--output", "out"]),
                vec!["`--output`", "not a folder"],
            ),
            (
                "--output is a link to a folder",
                |work| {
                    std::fs::create_dir_all(work.join("elsewhere")).unwrap();
                    symlink("elsewhere", work.join("out")).unwrap();
                },
                index_args(&["--output", "out"]),
                vec!["`--output`", "symbolic link"],
            ),
            (
                "--plugin-builds is a git checkout",
                |work| checkout(&work.join("builds")),
                index_args(&["--plugin-builds", "builds"]),
                vec!["`--plugin-builds`", ".git"],
            ),
            (
                "--plugin-builds holds a shell script",
                |work| write(&work.join("builds/tech-radar/run.sh"), "#!/bin/sh\n"),
                index_args(&["--plugin-builds", "builds"]),
                vec!["`--plugin-builds`", "run.sh"],
            ),
            (
                "--output is a folder of documents",
                |work| {
                    write(&work.join("docs/guide.md"), "mine\n");
                },
                index_args(&["--output", "docs"]),
                vec!["`--output`", "guide.md"],
            ),
        ],
    );
}

/// An empty output folder is accepted (here every plugin is then missing from the empty store, so
/// the run ends with that finding instead of a refusal of the folder).
#[test]
fn index_accepts_an_empty_output_folder() {
    let work = tempfile::tempdir().unwrap();
    example_overlay(work.path());
    std::fs::create_dir_all(work.path().join("out")).unwrap();
    std::fs::create_dir_all(work.path().join("registry")).unwrap();
    let output = crate::support::rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(index_args(&["--output", "out", "--allow-missing"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("every one of the"), "{stderr}");
    assert!(!stderr.contains("`--output`"), "{stderr}");
}

#[test]
fn commit_works_only_at_a_repositorys_top_level() {
    let results = [
        ("a folder without .git inside a checkout", "sub"),
        ("a nested folder without .git inside a checkout", "sub/deeper"),
    ]
    .into_iter()
    .map(|(name, tree)| {
        let work = tempfile::tempdir().unwrap();
        checkout(work.path());
        write(&work.path().join("sub/deeper/workspaces/a/file.txt"), "change\n");
        write(&work.path().join("sub/deeper/catalog-index/index.json"), "{}\n");
        check(
            name,
            work.path(),
            &strings(&["commit", "--tree", tree, "--no-push", "--path", "workspaces"]),
            &Expect::bad_input(&["is not the top of a git work tree", "nothing was committed"]),
        )
    })
    .collect();
    report("commit outside a top level", results);
}

/// `export` starts each workspace's folder under `--work-dir` afresh: a folder there that it did
/// not make (`--work-dir ~` with a workspace named like one of the user's folders) is refused
/// before anything runs, and kept; one it made is reused.
#[test]
fn export_removes_only_work_folders_it_made() {
    use crate::support::upstreams::{self, recorded_exporter};
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    let fetched =
        crate::support::rhdh_catalog(&fixture.root).arg("fetch").arg("--tree").arg(&fixture.tree).output().unwrap();
    assert!(fetched.status.success(), "{}", String::from_utf8_lossy(&fetched.stderr));
    let home = scratch.path().join("home");
    write(&home.join("flat/thesis.tex"), "years of work\n");
    let export = || {
        crate::support::rhdh_catalog(&fixture.root)
            .arg("export")
            .arg("--tree")
            .arg(&fixture.tree)
            .args([
                "--exporter",
                &recorded_exporter(),
                "--install-command",
                "test -f package.json",
                "--tsc-command",
                "",
            ])
            .args(["--workspace", "flat", "--work-dir"])
            .arg(&home)
            .output()
            .unwrap()
    };
    let output = export();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--work-dir") && stderr.contains("was not made by export") && stderr.contains("hint: "),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(home.join("flat/thesis.tex")).unwrap(), "years of work\n");
    std::fs::remove_dir_all(home.join("flat")).unwrap();
    for _ in 0..2 {
        let output = export();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
}
