//! Faults injected between the tool and real servers. A transient fault (reset, delay past the
//! timeout, 500/502/503, 429 with Retry-After, truncated body) is retried and the outputs are
//! byte-identical to a clean run; a persistent fault fails with exit 3 naming the registry, leaves
//! the previous outputs untouched, and is never reported as a missing image. The same for a git
//! remote cut mid-fetch, a removed upstream, a push the remote keeps rejecting, and for `publish`
//! and `promote`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::support::fault_proxy::{CuttingProxy, Fault, FaultProxy};
use crate::support::upstreams::{self, commit, git, write};
use crate::support::{
    PUBLISH_FACTS, Registry, example_overlay, files_under, free_port, publish_example_images, rhdh_catalog,
    unique_namespace,
};

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir).into_iter().map(|file| (file.clone(), std::fs::read(dir.join(&file)).unwrap())).collect()
}

type IndexOutputs = (Vec<(String, Vec<u8>)>, Vec<(String, Vec<u8>)>);

/// What `index` wrote under `work`: the catalog and the build records, file by file.
fn index_outputs(work: &Path) -> IndexOutputs {
    (snapshot(&work.join("catalog-index")), snapshot(&work.join("plugin_builds")))
}

struct Setup {
    registry: Registry,
    prefix: String,
    overlay_root: tempfile::TempDir,
    overlay: PathBuf,
}

fn setup() -> Setup {
    let registry = Registry::start();
    let overlay_root = tempfile::tempdir().unwrap();
    let overlay = example_overlay(overlay_root.path());
    let prefix = format!("quay.io/{}", unique_namespace());
    publish_example_images(
        overlay_root.path(),
        &overlay,
        &prefix,
        &format!("docker://{}", registry.host),
        Some(&registry.host),
    );
    Setup { registry, prefix, overlay_root, overlay }
}

/// `index` through `proxy` into `work`; fast retries so the test stays quick.
fn index(setup: &Setup, proxy: &FaultProxy, work: &Path, extra: &[&str]) -> std::process::Output {
    rhdh_catalog(work)
        .current_dir(work)
        .args([
            "index",
            "--registry",
            &setup.prefix,
            "--rhdh-version",
            "1.10.0",
            "--overlay-commit",
            "x",
            "--source-repo",
            "x",
        ])
        .arg("--overlay")
        .arg(&setup.overlay)
        .args([
            "--store",
            &format!("docker://{}", proxy.host),
            "--insecure-registry",
            &proxy.host,
            "--registry-timeout",
            "1",
            "--jobs",
            "4",
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn transient_registry_faults_are_retried_and_change_nothing() {
    let setup = setup();
    let clean_proxy = FaultProxy::http(&setup.registry.host);
    let clean = tempfile::tempdir().unwrap();
    let output = index(&setup, &clean_proxy, clean.path(), &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected = index_outputs(clean.path());

    let faults = [
        Fault::Reset,
        Fault::Status(500, None),
        Fault::Status(502, None),
        Fault::Status(503, None),
        Fault::Status(429, Some(1)),
        Fault::Truncate,
        Fault::Delay(Duration::from_millis(1500)),
    ];
    for fault in faults {
        let proxy = FaultProxy::http(&setup.registry.host);
        proxy.fail_next(3, fault.clone());
        let work = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let output = index(&setup, &proxy, work.path(), &[]);
        assert!(output.status.success(), "{fault:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(proxy.faults_served(), 3, "{fault:?}");
        let got = index_outputs(work.path());
        assert!(got == expected, "{fault:?}: outputs differ from a clean run");
        if fault == Fault::Status(429, Some(1)) {
            assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
        }
    }
}

#[test]
fn persistent_registry_faults_fail_with_exit_3_and_leave_outputs_alone() {
    let setup = setup();
    let proxy = FaultProxy::http(&setup.registry.host);
    let work = tempfile::tempdir().unwrap();
    let output = index(&setup, &proxy, work.path(), &[]);
    assert!(output.status.success());
    let before = index_outputs(work.path());
    for fault in [Fault::Status(503, None), Fault::Reset, Fault::Truncate] {
        proxy.fail_all(fault.clone());
        let output = index(
            &setup,
            &proxy,
            work.path(),
            &["--registry-attempts", "3", "--allow-missing", "--report", "report.json"],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{fault:?}: {stderr}");
        assert!(stderr.contains(&format!("registry {} gave no usable answer", proxy.host)), "{fault:?}: {stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        assert!(!stderr.contains("missing"), "{fault:?}: an unknown answer is never a missing image: {stderr}");
        assert!(!work.path().join("report.json").exists());
        let after = index_outputs(work.path());
        assert!(after == before, "{fault:?}: outputs were touched");
        proxy.heal();
    }
    drop(setup.overlay_root);
}

#[test]
fn pushes_survive_transient_faults_with_the_same_digest() {
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let plugin = work.path().join("dist-dynamic");
    crate::support::write_dist_dynamic(&plugin, "@acme/plugin-fault", "1.0.0", "frontend-plugin");
    let push = |proxy: &FaultProxy, tag: &str| {
        rhdh_catalog(work.path())
            .arg("package")
            .arg(&plugin)
            .args([
                "--tag",
                &format!("{}/acme/plugin-fault:{tag}", proxy.host),
                "--insecure-registry",
                &proxy.host,
                "--registry-timeout",
                "1",
            ])
            .output()
            .unwrap()
    };
    let proxy = FaultProxy::http(&registry.host);
    let clean = push(&proxy, "clean");
    assert!(clean.status.success());
    proxy.fail_next(2, Fault::Status(502, None));
    let output = push(&proxy, "faulty");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let digest = |output: &std::process::Output| {
        String::from_utf8_lossy(&output.stdout).trim().split_once('@').unwrap().1.to_string()
    };
    assert_eq!(digest(&output), digest(&clean));
}

/// `git daemon` on loopback; `git` hands over to `git-daemon`, so it is stopped by its pid file.
struct Daemon {
    child: Child,
    pid_file: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn git_daemon(base: &Path) -> (Daemon, String) {
    let port = free_port();
    let pid_file = base.join("git-daemon.pid");
    let child = Command::new("git")
        .args(["daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", &format!("--port={port}")])
        .arg(format!("--pid-file={}", pid_file.display()))
        .arg(format!("--base-path={}", base.display()))
        .arg(base)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let host = format!("127.0.0.1:{port}");
    crate::support::wait_until_listening(&host, "git daemon");
    (Daemon { child, pid_file }, host)
}

#[test]
fn a_git_remote_cut_mid_fetch_fails_with_exit_3_and_keeps_the_plan() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    // Make the overlay big enough that the pack crosses the cut.
    // Incompressible content, so the pack is far larger than the cut.
    let mut state: u64 = 42;
    let filler: String = (0..60_000)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + u8::try_from((state >> 33) % 26).unwrap())
        })
        .collect();
    write(&fixture.overlay, &[("filler.txt", &filler)]);
    commit(&fixture.overlay, "filler");
    let (_daemon, daemon_host) = git_daemon(scratch.path());
    let upstream = fixture.tree.join("upstream_repos.yml");
    let original = std::fs::read_to_string(&upstream).unwrap();
    std::fs::write(
        &upstream,
        original.replace(&upstreams::url(&fixture.overlay), &format!("git://{daemon_host}/overlay")),
    )
    .unwrap();
    let fetch = |tree: &Path| rhdh_catalog(scratch.path()).arg("fetch").arg("--tree").arg(tree).output().unwrap();
    let output = fetch(&fixture.tree);
    assert!(output.status.success(), "through git daemon: {}", String::from_utf8_lossy(&output.stderr));
    let plan = std::fs::read(fixture.tree.join("plan.json")).unwrap();

    let cutting = CuttingProxy::start(&daemon_host, 3000);
    std::fs::write(
        &upstream,
        original.replace(&upstreams::url(&fixture.overlay), &format!("git://{}/overlay", cutting.host)),
    )
    .unwrap();
    let output = fetch(&fixture.tree);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("git remote git://{}/overlay failed", cutting.host)), "{stderr}");
    assert_eq!(std::fs::read(fixture.tree.join("plan.json")).unwrap(), plan, "the plan is not replaced");
}

#[test]
fn a_removed_upstream_fails_its_workspace_with_exit_3_and_the_others_go_on() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    assert!(
        rhdh_catalog(scratch.path()).arg("fetch").arg("--tree").arg(&fixture.tree).output().unwrap().status.success()
    );
    std::fs::rename(&fixture.flat, scratch.path().join("flat-gone")).unwrap();
    let output = rhdh_catalog(scratch.path())
        .arg("export")
        .arg("--tree")
        .arg(&fixture.tree)
        .args([
            "--workspace",
            "flat",
            "--workspace",
            "greeter",
            "--exporter",
            &upstreams::recorded_exporter(),
            "--install-command",
            "",
            "--tsc-command",
            "",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("workspace flat"), "{stderr}");
    assert!(fixture.tree.join("workspaces/greeter/.rhdh-catalog-export.json").is_file(), "greeter was exported");
    assert!(!fixture.tree.join("workspaces/flat").exists());
}

#[test]
fn a_push_the_remote_keeps_rejecting_fails_with_exit_3() {
    let scratch = tempfile::tempdir().unwrap();
    let remote = scratch.path().join("remote.git");
    git(scratch.path(), &["init", "-q", "--bare", "-b", "main", remote.to_str().unwrap()]);
    let tree = scratch.path().join("tree");
    git(scratch.path(), &["clone", "-q", remote.to_str().unwrap(), tree.to_str().unwrap()]);
    write(&tree, &[("README.md", "x\n")]);
    commit(&tree, "initial");
    git(&tree, &["push", "-q", "origin", "main"]);
    let hook = remote.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'protected branch' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    write(&tree, &[("catalog-index/index.json", "{}\n")]);
    let output = rhdh_catalog(scratch.path()).arg("commit").arg("--tree").arg(&tree).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("push failed") && stderr.contains("protected branch"), "{stderr}");
}

/// `publish` and `promote` through the proxy: transient faults give the digest and tags of a clean
/// run; a persistent fault fails with exit 3 naming the registry, moves no tag and writes no
/// rollback record.
#[test]
fn publish_and_promote_survive_transient_faults_and_stop_cleanly_on_persistent_ones() {
    let setup = setup();
    let proxy = FaultProxy::http(&setup.registry.host);
    let work = tempfile::tempdir().unwrap();
    let output = index(&setup, &proxy, work.path(), &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let catalog = work.path().join("catalog-index");
    let repository = format!("{}/plugin-catalog-index", setup.prefix);
    let release = |args: &[&str]| {
        rhdh_catalog(work.path())
            .args(args)
            .args([
                "--store",
                &format!("docker://{}", proxy.host),
                "--insecure-registry",
                &proxy.host,
                "--registry-timeout",
                "1",
                "--registry-attempts",
                "4",
            ])
            .output()
            .unwrap()
    };
    let publish = |tag: &str| {
        let output = release(
            &[&["publish", catalog.to_str().unwrap(), "--tag", &format!("{repository}:{tag}")], &PUBLISH_FACTS[..]]
                .concat(),
        );
        assert!(output.status.success(), "publish {tag}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let clean = publish("clean");
    for fault in [Fault::Reset, Fault::Status(503, None), Fault::Truncate] {
        let served = proxy.faults_served();
        proxy.fail_next(2, fault.clone());
        assert_eq!(publish("faulty"), clean, "{fault:?}: another digest than a clean publish");
        assert_eq!(proxy.faults_served(), served + 2, "{fault:?}");
    }

    let tag_digest = |tag: &str| -> Option<String> {
        let output = Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
            .arg(format!("docker://{}/{}:{tag}", setup.registry.host, repository.split_once('/').unwrap().1))
            .output()
            .unwrap();
        output.status.success().then(|| String::from_utf8(output.stdout).unwrap().trim().to_string())
    };
    let promoted = clean.split_once('@').unwrap().1.to_string();
    let rollback = work.path().join("rollback.json");
    proxy.fail_next(3, Fault::Status(502, None));
    let output = release(&["promote", &clean, "--to", "next", "--rollback-file", rollback.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(tag_digest("next").as_deref(), Some(promoted.as_str()));
    assert!(rollback.is_file());

    proxy.fail_all(Fault::Status(503, None));
    let second = work.path().join("rollback-2.json");
    let output = release(&["promote", &clean, "--to", "1.10", "--rollback-file", second.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("registry {} gave no usable answer", proxy.host)), "{stderr}");
    assert!(!second.exists(), "no rollback record for a promotion that did not happen");
    proxy.heal();
    assert_eq!(tag_digest("1.10"), None, "the tag was not moved");
    drop(setup.overlay_root);
}

/// Long registry work says how far it is: on stderr (not a terminal here), a line every few
/// seconds (`RHDH_CATALOG_PROGRESS_SECONDS` shortens the interval) with done/total and the image
/// being probed; stdout carries only the summary, as without progress.
#[test]
fn slow_registry_work_reports_progress_on_stderr_only() {
    let setup = setup();
    let proxy = FaultProxy::http(&setup.registry.host);
    proxy.fail_all(Fault::Delay(Duration::from_millis(300)));
    let work = tempfile::tempdir().unwrap();
    let output = rhdh_catalog(work.path())
        .env("RHDH_CATALOG_PROGRESS_SECONDS", "0.2")
        .current_dir(work.path())
        .args(["index", "--registry", &setup.prefix, "--rhdh-version", "1.10.0"])
        .args(["--overlay-commit", "x", "--source-repo", "x"])
        .arg("--overlay")
        .arg(&setup.overlay)
        .args(["--store", &format!("docker://{}", proxy.host), "--insecure-registry", &proxy.host, "--jobs", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> =
        stderr.lines().filter(|line| line.starts_with("progress: resolving plugin images ")).collect();
    assert!(lines.len() >= 2, "a line every 0.2 s while resolving: {stderr}");
    assert!(lines.iter().all(|line| line.contains("/7")), "done/total: {lines:?}");
    assert!(lines.iter().any(|line| line.contains(&setup.prefix)), "the image being probed: {lines:?}");
    assert_eq!(stdout.lines().count(), 1, "stdout holds the summary only: {stdout}");
    assert!(!stdout.contains("progress"), "{stdout}");
}
