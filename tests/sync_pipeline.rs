//! `sync` runs the embedded Tekton Pipeline on the bundled example (local git upstreams, an OCI
//! layout as the store, the recorded exporter): everything exported, indexed, numbered, committed
//! and pushed; the second run is a no-op (no commit, no release bump); `--from` reuses saved results.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::upstreams::{commit, git, repository, url};
use crate::support::{copy_dir, rhdh_catalog};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The bundled example as git repositories under `root` (what hack/example.sh builds); returns the
/// midstream checkout.
pub fn example(root: &Path) -> PathBuf {
    example_with(root, &|_| None)
}

/// [`example`], with the repositories the pipeline clones (the overlay and the upstreams) named
/// by `served` where it gives a URL (else `file://`).
pub fn example_with(root: &Path, served: &dyn Fn(&Path) -> Option<String>) -> PathBuf {
    let url = |dir: &Path| served(dir).unwrap_or_else(|| url(dir));
    for upstream in ["community-plugins", "rhdh-plugins"] {
        let dir = root.join("upstreams").join(upstream);
        copy_dir(&examples().join("upstreams").join(upstream), &dir);
        repository(&dir, &[], "v1");
    }
    let overlay = root.join("overlay");
    copy_dir(&examples().join("overlay"), &overlay);
    for workspace in std::fs::read_dir(overlay.join("workspaces")).unwrap() {
        let source = workspace.unwrap().path().join("source.json");
        let mut value: Value = serde_json::from_slice(&std::fs::read(&source).unwrap()).unwrap();
        let upstream = value["repo"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        value["repo"] = Value::String(url(&root.join("upstreams").join(upstream)));
        value["repo-ref"] = Value::String("v1".into());
        std::fs::write(&source, value.to_string()).unwrap();
    }
    repository(&overlay, &[], "overlay-v1");
    // The community catalog's plugin images, as the upstream overlay's registry holds them.
    let store = format!("oci-layout:{}", root.join("out/registry").display());
    crate::support::community_images(root, &overlay, &store, None, None);
    let remote = root.join("midstream.git");
    git(root, &["init", "-q", "--bare", "-b", "main", remote.to_str().unwrap()]);
    let midstream = root.join("midstream");
    git(root, &["clone", "-q", remote.to_str().unwrap(), midstream.to_str().unwrap()]);
    copy_dir(&examples().join("midstream"), &midstream);
    std::fs::write(
        midstream.join("upstream_repos.yml"),
        format!("rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.52.0\nrepos:\n  - repo: {}\n    branch: main\n    destination_folder: overlay-repo\n", url(&overlay)),
    )
    .unwrap();
    commit(&midstream, "example midstream");
    git(&midstream, &["push", "-q", "origin", "main"]);
    midstream
}

fn sync(root: &Path, midstream: &Path, extra: &[&str]) -> (std::process::Output, String) {
    sync_with_env(root, midstream, extra, &[])
}

/// [`sync`] with more environment variables.
fn sync_with_env(
    root: &Path,
    midstream: &Path,
    extra: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> (std::process::Output, String) {
    let output = rhdh_catalog(root)
        .envs(env.iter().copied())
        .env("GIT_AUTHOR_NAME", "sync")
        .env("GIT_AUTHOR_EMAIL", "sync@example.test")
        .env("GIT_COMMITTER_NAME", "sync")
        .env("GIT_COMMITTER_EMAIL", "sync@example.test")
        .env("RUST_LOG", "info")
        .arg("sync")
        .arg("--tree")
        .arg(midstream)
        .arg("--out")
        .arg(root.join("out/sync"))
        .arg("--store")
        .arg(format!("oci-layout:{}", root.join("out/registry").display()))
        .arg("--exporter")
        .arg(examples().join("recorded-exporter.sh"))
        .args(["--install-command", "true", "--tsc-command", "true"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// The task lines of `sync`'s end-of-run summary: every task of the Pipeline, each name whole and
/// its status word in one column (`publish-community` is the longest name).
pub fn assert_summary_columns(stdout: &str, expected: &[(&str, &str)]) {
    let lines: Vec<&str> = stdout.lines().skip(1).take_while(|line| line.starts_with("  ")).collect();
    let names: Vec<&str> = lines.iter().filter_map(|line| line.split_whitespace().next()).collect();
    let pipeline = [
        "clone-repository",
        "fetch",
        "export",
        "index",
        "release-number",
        "commit",
        "report",
        "report-without-index",
        "publish",
        "publish-community",
    ];
    assert_eq!(names, pipeline, "{stdout}");
    let column = |line: &str| {
        let name = line.split_whitespace().next().unwrap();
        let after = line.find(name).unwrap() + name.len();
        after + line[after..].len() - line[after..].trim_start().len()
    };
    let first = column(lines[0]);
    for line in &lines {
        assert_eq!(column(line), first, "the status words line up: {stdout}");
        assert!(line[first..].starts_with(|character: char| character.is_ascii_alphabetic()), "{line}");
    }
    for (task, word) in expected {
        let line = lines.iter().find(|line| line.split_whitespace().next() == Some(*task)).unwrap();
        assert!(line[first..].starts_with(word), "{task} is {word}: {stdout}");
    }
}

#[test]
fn sync_runs_the_pipeline_on_the_example_and_then_has_nothing_to_do() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = example(root);

    let (output, stdout) = sync(root, &midstream, &["--dry-run"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        stdout.starts_with(
            "tasks: clone-repository → fetch → export → index → release-number → commit → finally: report, report-without-index, publish, publish-community"
        ),
        "{stdout}"
    );

    let started = std::time::Instant::now();
    let (output, stdout) = sync(root, &midstream, &[]);
    let first = started.elapsed();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("sync Succeeded"), "{stdout}");
    assert_summary_columns(
        &stdout,
        &[("export", "Succeeded"), ("commit", "Succeeded"), ("publish", "skipped"), ("publish-community", "skipped")],
    );
    assert!(stdout.contains("index:     7 plugins: 7 pinned, 0 fallback, 0 stale, 0 missing"), "{stdout}");
    assert!(stdout.contains("; community: 3 plugins: 3 pinned, 0 fallback, 0 stale, 0 missing"), "{stdout}");
    assert!(stdout.contains("commit:    true"), "{stdout}");

    // The checkout was brought to the pushed commit, which holds the index and the release bump.
    let remote_head = git(&root.join("midstream.git"), &["rev-parse", "main"]);
    assert_eq!(git(&midstream, &["rev-parse", "HEAD"]), remote_head);
    let index: Value =
        serde_json::from_slice(&std::fs::read(midstream.join("catalog-index/index.json")).unwrap()).unwrap();
    assert_eq!(index.as_object().unwrap().len(), 7);
    for entry in index.as_object().unwrap().values() {
        assert!(entry["registryReference"].as_str().unwrap().starts_with("quay.io/rhdh/"), "{entry}");
        assert!(entry["registryReference"].as_str().unwrap().contains("@sha256:"), "{entry}");
    }
    let dpdy = std::fs::read_to_string(midstream.join("catalog-index/dynamic-plugins.default.yaml")).unwrap();
    assert!(dpdy.contains("# Tag: 1.10.0--1.20.0"), "{dpdy}");
    assert!(
        std::fs::read_to_string(midstream.join("build/containerfiles/index.Containerfile"))
            .unwrap()
            .contains("release=\"1\"")
    );
    // The community catalog, committed beside the supported one: no dynamic-plugins.default.yaml
    // (RHDH reads it as an extra catalog index), its plugins pinned in the upstream's registry.
    let community: Value =
        serde_json::from_slice(&std::fs::read(midstream.join("catalog-index-community/index.json")).unwrap()).unwrap();
    assert_eq!(community.as_object().unwrap().len(), 3, "{community}");
    for entry in community.as_object().unwrap().values() {
        let reference = entry["registryReference"].as_str().unwrap();
        assert!(reference.starts_with("ghcr.io/redhat-developer/rhdh-plugin-export-overlays/"), "{entry}");
        assert!(entry["imageTag"].as_str().unwrap().starts_with("bs_1.52.0__"), "{entry}");
    }
    assert!(!midstream.join("catalog-index-community/dynamic-plugins.default.yaml").exists());
    assert!(midstream.join("catalog-index-community/catalog-entities/extensions/packages/all.yaml").is_file());
    assert!(midstream.join("catalog-index-community/build-report.json").is_file());
    assert!(
        midstream
            .join("plugin_builds-community/analytics/backstage-community-plugin-analytics-module-ga4.json")
            .is_file()
    );
    assert!(midstream.join("workspaces/tech-radar/.rhdh-catalog-export.json").is_file());
    assert!(midstream.join("plugin_builds/tech-radar/backstage-community-plugin-tech-radar.json").is_file());
    let report = std::fs::read_to_string(root.join("out/sync/report.md")).unwrap();
    assert!(report.starts_with("## rhdh-catalog sync: Succeeded"), "{report}");
    assert!(report.contains("| export | Succeeded ✅ |"), "{report}");

    // Nothing changed: every workspace skipped, no commit, no release bump.
    let started = std::time::Instant::now();
    let (output, stdout) = sync(root, &midstream, &[]);
    let second = started.elapsed();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("commit:    unchanged"), "{stdout}");
    assert_eq!(git(&root.join("midstream.git"), &["rev-parse", "main"]), remote_head);
    assert!(
        std::fs::read_to_string(midstream.join("build/containerfiles/index.Containerfile"))
            .unwrap()
            .contains("release=\"1\"")
    );
    let plan: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/sync/runs/fetch/workdir/source/plan.json")).unwrap())
            .unwrap();
    assert!(plan["workspaces"].as_array().unwrap().iter().all(|workspace| workspace["decision"] == "skip"), "{plan}");
    // The export TaskRun of the batch `none` unpacked plan.json alone, all that it reads.
    let batches = std::fs::read_to_string(root.join("out/sync/runs/fetch/results/batches")).unwrap();
    assert_eq!(batches, r#"["none"]"#);
    let restored = std::fs::read_to_string(root.join("out/sync/runs/export/use-trusted-artifact.log")).unwrap();
    assert!(restored.contains("artifact restored") && restored.contains(" files=1 "), "{restored}");
    let unpacked: Vec<String> = std::fs::read_dir(root.join("out/sync/runs/export/workdir/source"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(unpacked, ["plan.json"]);
    eprintln!("sync on the example: first run {first:?}, no-op run {second:?}");

    // --from reuses the saved results of the tasks before it.
    let (output, stdout) = sync(root, &midstream, &["--from", "index"]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("reusing the saved outcome"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A sync under another registry prefix exports every workspace again, since its images are named
/// elsewhere now. `sync` gives the steps no registry of its own: fetch learns the prefix from the
/// fetch Task's `--registry $(params.registry)`, as a cluster run does.
#[test]
fn a_changed_registry_prefix_exports_again_as_the_fetch_task_tells_fetch() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = example(root);
    let (output, stdout) = sync(root, &midstream, &[]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));

    // The dry run plans as the run will.
    let (output, stdout) = sync(root, &midstream, &["--registry", "quay.io/moved", "--dry-run"]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.matches("quay.io/moved now").count(), 4, "{stdout}");

    let (output, stdout) = sync(root, &midstream, &["--registry", "quay.io/moved"]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/sync/runs/fetch/workdir/source/plan.json")).unwrap())
            .unwrap();
    let mut exported = 0;
    for workspace in plan["workspaces"].as_array().unwrap().iter().filter(|workspace| workspace["decision"] != "drop") {
        assert_eq!(workspace["decision"], "export", "{workspace}");
        let reason = workspace["reason"].as_str().unwrap();
        assert!(reason.contains(" quay.io/rhdh;") && reason.ends_with(" quay.io/moved now"), "{reason}");
        exported += 1;
    }
    assert_eq!(exported, 4, "{plan}");
    assert!(stdout.contains("index:     7 plugins: 7 pinned"), "{stdout}");
    let index = std::fs::read_to_string(midstream.join("catalog-index/index.json")).unwrap();
    assert_eq!(index.matches("\"quay.io/moved/").count(), 7, "{index}");
}

#[test]
fn a_failing_export_fails_the_sync_and_the_report_says_where() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = example(root);
    // Break one upstream plugin's export.
    let upstream = root.join("upstreams/community-plugins");
    std::fs::write(upstream.join("workspaces/tech-radar/plugins/tech-radar/EXPORT_FAILS"), "").unwrap();
    commit(&upstream, "break tech-radar");
    git(&upstream, &["tag", "-f", "v1"]);
    let (output, stdout) = sync(root, &midstream, &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("sync Failed"), "{stdout}");
    assert_summary_columns(
        &stdout,
        &[("export", "Failed"), ("index", "skipped"), ("commit", "skipped"), ("publish-community", "skipped")],
    );
    let report = std::fs::read_to_string(root.join("out/sync/report.md")).unwrap();
    assert!(
        report.contains("| export | Failed ❌ |")
            && report.contains("| commit | skipped ⏭️ |")
            && !report.contains("None"),
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 plugin(s) failed to export"), "{stderr}");
    assert_eq!(git(&root.join("midstream.git"), &["log", "--format=%s"]), "example midstream", "nothing pushed");
}

/// The overlay and both upstreams served by a remote that counts the packs it sends (clones and
/// fetches; `ls-remote` sends none): the first sync clones the overlay and fetches the upstreams
/// of every workspace it exports; a sync after which nothing moved fetches nothing at all.
#[test]
fn a_no_op_sync_clones_no_upstream_repository() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    std::fs::create_dir_all(root.join("upstreams")).unwrap();
    let remote = crate::support::counting_remote::CountingRemote::start(root);
    let midstream = example_with(root, &|dir| Some(remote.url(dir)));
    let (output, stdout) = sync(root, &midstream, &[]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("commit:    true"), "{stdout}");
    let first = remote.packs();
    assert!(first.contains(&"overlay".to_string()), "the first sync clones the overlay: {first:?}");
    for upstream in ["upstreams/community-plugins", "upstreams/rhdh-plugins"] {
        assert!(first.iter().any(|pack| pack == upstream), "the first sync fetches {upstream}: {first:?}");
    }

    let (output, stdout) = sync(root, &midstream, &[]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("commit:    unchanged"), "{stdout}");
    assert_eq!(remote.packs(), first, "the no-op sync cloned or fetched a repository");
}

/// What did not move is not done again: after a sync that pushed, the next one plans afresh but
/// decides "nothing to commit" from git's object ids without unpacking the artifacts; one after it
/// (nothing moved) runs no step of fetch, export, release-number or commit; a push that changes
/// no managed path is served by the artifact of the commit before it and reported as the commit
/// the run stands for; an upstream that moved makes fetch run again. Every output stays the same.
/// The status page's key reads the environment: a variable that is not UTF-8 (any name; the
/// shell of a user with a Latin-1 locale has them) neither stops the sync nor keeps its page from
/// being left as it is the next time.
#[test]
fn a_variable_that_is_not_utf8_neither_stops_a_sync_nor_its_page_record() {
    use std::os::unix::ffi::OsStrExt;
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = example(root);
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let bad_byte = std::ffi::OsStr::from_bytes(b"\xff");
    let run = || {
        let (output, _) =
            sync_with_env(root, &midstream, &[], &[("LATIN1_NAME", latin1), ("RHDH_CATALOG_NOTE", bad_byte)]);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    };
    assert!(run().contains("status page written"));
    run();
    let stderr = run();
    assert!(stderr.contains("status page unchanged"), "{stderr}");
}

#[test]
fn a_sync_reuses_what_did_not_move_and_decides_from_object_ids() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = example(root);
    let remote = root.join("midstream.git");
    let (output, stdout) = sync(root, &midstream, &[]);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("commit:    true"), "{stdout}");
    let pushed_tree = git(&remote, &["rev-parse", "main^{tree}"]);
    let commit_log = || std::fs::read_to_string(root.join("out/sync/runs/commit/commit.log")).unwrap_or_default();

    // The first run after the push: the checkout changed, so fetch plans again; commit decides from
    // git's object ids and unpacks nothing but the checkout's .git.
    let (output, stdout) = sync(root, &midstream, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("commit:    unchanged"), "{stdout}");
    assert!(commit_log().contains("nothing unpacked"), "{}", commit_log());
    assert!(!commit_log().contains("artifact restored"), "{}", commit_log());

    // Nothing moved: only index (which asks the registry) runs a step.
    let (output, stdout) = sync(root, &midstream, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("commit:    unchanged"), "{stdout}");
    for task in ["fetch", "export", "release-number", "commit", "report"] {
        assert!(
            stderr.contains(&format!(
                "inputs unchanged since the recorded run: its results are reused, no step runs task=\"{task}\""
            )) || stderr.contains(&format!("task={task} inputs unchanged since the recorded run")),
            "{task} ran again:\n{stderr}"
        );
    }
    assert!(!stderr.contains("results are reused, no step runs task=\"index\""), "{stderr}");
    // The page's inputs are those of the page on disk: it is not rendered again, and is this run's.
    let page = root.join("out/sync/status.html");
    let page_bytes = std::fs::read(&page).unwrap();
    assert!(stderr.contains("status page unchanged"), "{stderr}");
    assert!(!stderr.contains("status page written"), "{stderr}");
    // A page that no longer holds what was written is rendered again, whatever the inputs.
    std::fs::write(&page, "edited by hand").unwrap();
    let (output, stdout) = sync(root, &midstream, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("status page written") && !stderr.contains("status page unchanged"), "{stderr}");
    assert_eq!(std::fs::read(&page).unwrap(), page_bytes, "the same inputs make the same page");

    // Someone else's commit that changes no managed path: the artifact of the commit before serves,
    // and the run reports the new commit as the one it stands for.
    std::fs::write(midstream.join("NOTES.md"), "an unrelated note\n").unwrap();
    commit(&midstream, "an unrelated change");
    git(&midstream, &["push", "-q", "origin", "main"]);
    let unrelated = git(&midstream, &["rev-parse", "HEAD"]);
    let (output, stdout) = sync(root, &midstream, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("its artifact serves"), "{stderr}");
    // A new commit is a new page: it names the commit this run stands for.
    assert!(stderr.contains("status page written") && !stderr.contains("status page unchanged"), "{stderr}");
    let status_md = std::fs::read_to_string(root.join("out/sync/status.md")).unwrap();
    assert!(status_md.contains(unrelated.as_str()), "{status_md}");
    assert!(stdout.contains("commit:    unchanged"), "{stdout}");
    let outcome: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/sync/state/commit.json")).unwrap()).unwrap();
    assert_eq!(outcome["results"]["commit"][0], unrelated.as_str(), "the commit the run stands for");
    assert_eq!(git(&remote, &["rev-parse", "main"]), unrelated, "nothing pushed");
    // Decided from git's objects before the checkout: the clone was not checked out at that commit.
    let clone = root.join("out/sync/runs/clone-repository/workdir/source");
    assert_ne!(git(&clone, &["rev-parse", "HEAD"]), unrelated, "checked out although its artifact served");
    assert!(!clone.join("NOTES.md").exists());

    // The overlay moved upstream: fetch runs again and plans from its new commit.
    let overlay = root.join("overlay");
    std::fs::write(overlay.join("README.md"), "moved\n").unwrap();
    let moved = commit(&overlay, "the overlay moved");
    let (output, stdout) = sync(root, &midstream, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("moved") && stderr.contains("running again"), "{stderr}");
    let plan: Value =
        serde_json::from_slice(&std::fs::read(root.join("out/sync/runs/fetch/workdir/source/plan.json")).unwrap())
            .unwrap();
    assert_eq!(plan["sources"][0]["commit"], moved.as_str(), "{plan}");
    // The catalog is what it was (only build-info.json names the new overlay commit).
    for file in ["catalog-index/index.json", "catalog-index/dynamic-plugins.default.yaml"] {
        let now = git(&remote, &["rev-parse", &format!("main:{file}")]);
        assert_eq!(now, git(&remote, &["rev-parse", &format!("{pushed_tree}:{file}")]), "{file}");
    }

    // That run pushed a commit whose managed paths moved: the next run checks it out (from the
    // older checkout the unrelated commit left) and archives it, and finds nothing to do.
    let pushed = git(&remote, &["rev-parse", "main"]);
    assert_ne!(pushed, unrelated, "the overlay's move was committed");
    let (output, stdout) = sync(root, &midstream, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("its artifact serves"), "{stderr}");
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]), pushed);
    assert_eq!(git(&clone, &["status", "--porcelain", "--ignored"]), "", "the checkout is the commit's tree");
    assert_eq!(std::fs::read_to_string(clone.join("NOTES.md")).unwrap(), "an unrelated note\n");
    assert_eq!(git(&remote, &["rev-parse", "main"]), pushed, "nothing pushed");

    // A kept clone git cannot check out (the lock a killed git leaves) is replaced by a new clone,
    // and the run archives the commit it was asked for.
    std::fs::write(clone.join(".git/index.lock"), "").unwrap();
    git(&midstream, &["pull", "-q", "origin", "main"]);
    std::fs::create_dir_all(midstream.join("build")).unwrap();
    std::fs::write(midstream.join("build/notes.txt"), "a managed path moved\n").unwrap();
    let moved_build = commit(&midstream, "a managed path moved");
    git(&midstream, &["push", "-q", "origin", "main"]);
    let (output, stdout) = sync(root, &midstream, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("the previous clone cannot be checked out at the commit; cloning afresh"), "{stderr}");
    assert!(!clone.join(".git/index.lock").exists());
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]), moved_build);
    assert_eq!(git(&clone, &["status", "--porcelain", "--ignored"]), "", "the checkout is the commit's tree");
}
