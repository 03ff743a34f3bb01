//! Crash and resume: `sync` on the bundled example killed with SIGKILL (its whole process group)
//! at points chosen by a seeded generator, then run again. The second run completes, the pushed
//! tree is byte-identical to an uninterrupted run's, nothing is committed twice, and a third run
//! has nothing to do.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::upstreams::git;

fn sync_command(root: &Path, midstream: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("rhdh-catalog"));
    command
        .env("GIT_AUTHOR_NAME", "sync")
        .env("GIT_AUTHOR_EMAIL", "sync@example.test")
        .env("GIT_COMMITTER_NAME", "sync")
        .env("GIT_COMMITTER_EMAIL", "sync@example.test")
        .env("RUST_LOG", "warn")
        .arg("sync")
        .arg("--allow-local-repos")
        .arg("--tree")
        .arg(midstream)
        .arg("--out")
        .arg(root.join("out/sync"))
        .arg("--store")
        .arg(format!("oci-layout:{}", root.join("out/registry").display()))
        .arg("--exporter")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-exporter.sh"))
        .args(["--install-command", "true", "--tsc-command", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

fn run_to_completion(root: &Path, midstream: &Path) {
    let status = sync_command(root, midstream).status().unwrap();
    assert!(status.success(), "sync failed in {}", root.display());
}

/// The pushed tree and the number of commits on the remote.
fn remote_state(root: &Path) -> (String, usize) {
    let remote = root.join("midstream.git");
    (git(&remote, &["rev-parse", "main^{tree}"]), git(&remote, &["rev-list", "--count", "main"]).parse().unwrap())
}

#[test]
fn sync_killed_at_random_points_resumes_to_the_same_result() {
    // Every run uses the same directory: the upstream URLs written into the tree name it.
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("run");
    let fresh_example = || {
        if root.exists() {
            std::fs::remove_dir_all(&root).unwrap();
        }
        std::fs::create_dir(&root).unwrap();
        crate::sync_pipeline::example(&root)
    };
    let midstream = fresh_example();
    let started = Instant::now();
    run_to_completion(&root, &midstream);
    let duration = started.elapsed();
    let (expected_tree, expected_commits) = remote_state(&root);
    assert_eq!(expected_commits, 2, "the example commit and one sync commit");

    // A fixed-seed generator (splitmix64) picks the kill points over the length of a full run.
    let mut state: u64 = 0x5eed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut value = state;
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    };
    // Over the first three quarters of it: a later run on a loaded machine may be quicker than
    // the one measured, and a kill after its end proves nothing.
    let total = (u64::try_from(duration.as_millis()).unwrap() * 3 / 4).max(200);
    let mut interrupted = 0;
    for round in 0..6 {
        let delay = Duration::from_millis(next() % total);
        let midstream = fresh_example();
        let mut child = sync_command(&root, &midstream).process_group(0).spawn().unwrap();
        std::thread::sleep(delay);
        // The shell's builtin kill: here /usr/bin/kill (procps-ng 4.0.2) given `-9 -PGID` did not
        // signal the group and took down unrelated processes of the user instead.
        let group = format!("-{}", child.id());
        std::process::Command::new("bash").args(["-c", "kill -KILL -- \"$1\"", "kill", &group]).status().unwrap();
        let status = child.wait().unwrap();
        if std::os::unix::process::ExitStatusExt::signal(&status) == Some(9) {
            interrupted += 1;
        }
        run_to_completion(&root, &midstream);
        let (tree, commits) = remote_state(&root);
        assert_eq!(
            tree, expected_tree,
            "round {round} (killed after {delay:?}): the pushed tree differs from an uninterrupted run"
        );
        assert_eq!(commits, expected_commits, "round {round} (killed after {delay:?}): committed twice");
        run_to_completion(&root, &midstream);
        assert_eq!(
            remote_state(&root),
            (expected_tree.clone(), expected_commits),
            "round {round}: the third run was not a no-op"
        );
        assert_eq!(
            git(&midstream, &["rev-parse", "HEAD^{tree}"]),
            expected_tree,
            "round {round}: the checkout is at the pushed tree"
        );
    }
    assert!(interrupted >= 4, "only {interrupted} of 6 runs were killed before they finished");
}
