//! `commit` against a real bare remote (managed paths only, no-op, moved remote, conflicts) and
//! `release-number` against the real registry and, for Konflux Snapshots, the real kube client
//! talking to a loopback server that speaks the API's JSON.

use std::collections::HashMap;
use std::path::Path;

use crate::support::fake_kube::{FakeApiServer, forbidden};
use crate::support::upstreams::{commit, git, write};
use crate::support::{Registry, rhdh_catalog, unique_namespace, write_dist_dynamic};

fn clone_tree(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let remote = root.join("remote.git");
    git(root, &["init", "-q", "--bare", "-b", "main", remote.to_str().unwrap()]);
    let tree = root.join("tree");
    git(root, &["clone", "-q", remote.to_str().unwrap(), tree.to_str().unwrap()]);
    write(
        &tree,
        &[
            (
                "upstream_repos.yml",
                "rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.49.4\nrepos:\n  - repo: https://github.com/x/overlays\n    branch: main\n    destination_folder: overlay-repo\n",
            ),
            ("README.md", "midstream\n"),
            ("catalog-index/index.json", "{}\n"),
        ],
    );
    commit(&tree, "initial");
    git(&tree, &["push", "-q", "origin", "main"]);
    (remote, tree)
}

fn run_commit(root: &Path, tree: &Path) -> std::process::Output {
    rhdh_catalog(root).env("GIT_TOKEN", "tok-SECRET-123").arg("commit").arg("--tree").arg(tree).output().unwrap()
}

#[test]
fn commit_stages_managed_paths_only_and_rebases_on_a_moved_remote() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let (remote, tree) = clone_tree(root);
    write(
        &tree,
        &[
            ("catalog-index/index.json", "{\"a\": 1}\n"),
            ("workspaces/argocd/x.json", "1\n"),
            ("overlay-repo/w/source.json", "{}\n"),
            ("notes.txt", "not managed\n"),
        ],
    );
    let output = run_commit(root, &tree);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("committed and pushed: "), "{stdout}");
    let files = git(&remote, &["show", "--name-only", "--format=%B", "main"]);
    assert!(files.contains("3 file(s) changed:\n- catalog-index: 1 file(s)\n- overlay-repo: 1 file(s)\n- workspaces: 1 file(s) in 1 workspace(s): argocd"), "{files}");
    assert!(!files.contains("notes.txt"));
    assert_eq!(git(&tree, &["status", "--porcelain"]), "?? notes.txt");
    assert!(!stdout.contains("SECRET") && !String::from_utf8_lossy(&output.stderr).contains("SECRET"));

    // Nothing changed: success, no commit.
    let before = git(&remote, &["rev-parse", "main"]);
    let output = run_commit(root, &tree);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("nothing to commit"));
    assert_eq!(git(&remote, &["rev-parse", "main"]), before);

    // The remote moves (another clone pushes an unrelated change): rebase and push.
    let other = root.join("other");
    git(root, &["clone", "-q", remote.to_str().unwrap(), other.to_str().unwrap()]);
    write(&other, &[("README.md", "midstream, edited elsewhere\n")]);
    commit(&other, "edit readme");
    git(&other, &["push", "-q", "origin", "main"]);
    write(&tree, &[("plugin_builds/a/b.json", "{}\n")]);
    let output = run_commit(root, &tree);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let log = git(&remote, &["log", "--format=%s", "main"]);
    assert_eq!(log, "Sync the plugin catalog\nedit readme\nSync the plugin catalog\ninitial");

    // The remote changed the same managed file: a conflict fails with exit 3 and a clear message.
    git(&other, &["pull", "-q", "--rebase", "origin", "main"]);
    write(&other, &[("catalog-index/index.json", "{\"other\": true}\n")]);
    commit(&other, "concurrent index");
    git(&other, &["push", "-q", "origin", "main"]);
    write(&tree, &[("catalog-index/index.json", "{\"ours\": true}\n")]);
    let output = run_commit(root, &tree);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("conflicts with the remote's new commits"), "{stderr}");
    assert!(!tree.join(".git/rebase-merge").exists(), "rebase aborted");
}

fn containerfiles(tree: &Path) {
    write(
        tree,
        &[
            (
                "build/containerfiles/index.Containerfile",
                "FROM scratch\nCOPY catalog-index/ /\n# release=0 is a comment\nLABEL name=\"rhdh/plugin-catalog-index\" \\\n      version=\"1.9.0\" \\\n      release=\"2\"\nUSER 65534\n",
            ),
            (
                "build/containerfiles/builder.Containerfile",
                "FROM registry.access.redhat.com/ubi9/nodejs-22\nENV version=1.9.0 release=2\nRUN echo build\n",
            ),
        ],
    );
}

fn push_index_image(root: &Path, registry: &Registry, reference: &str, labels: &[&str]) {
    let plugin = root.join(format!("dist-{}", reference.replace([':', '/'], "_")));
    write_dist_dynamic(&plugin, "@acme/index", "1.0.0", "frontend-plugin");
    let mut command = rhdh_catalog(root);
    command.arg("package").arg(&plugin).args([
        "--tag",
        reference,
        "--insecure-registry",
        &registry.host,
        "--store",
        &format!("docker://{}", registry.host),
    ]);
    for label in labels {
        command.args(["--label", label]);
    }
    assert!(command.output().unwrap().status.success());
}

#[test]
fn release_number_bumps_from_registry_builds_and_not_without_change() {
    let registry = Registry::shared();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let tree = root.join("tree");
    containerfiles(&tree);
    let repository = format!("{}/{}/plugin-catalog-index", registry.host, unique_namespace());
    push_index_image(root, &registry, &format!("{repository}:1.10.0-1"), &[]);
    push_index_image(root, &registry, &format!("{repository}:1.10.0-3"), &[]);
    push_index_image(root, &registry, &format!("{repository}:1.9.0-7"), &[]);
    push_index_image(root, &registry, &format!("{repository}:1.10.0"), &["version=1.10.0", "release=5"]);
    let results = root.join("results");
    std::fs::create_dir_all(&results).unwrap();
    let run = |changed: &str| {
        rhdh_catalog(root)
            .arg("release-number")
            .arg("--tree")
            .arg(&tree)
            .args([
                "--version",
                "1.10.0",
                "--image",
                &repository,
                "--insecure-registry",
                &registry.host,
                "--changed",
                changed,
            ])
            .args(["--store", &format!("docker://{}", registry.host), "--results-dir", results.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let output = run("true");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1.10.0-6", "one past the `release` label of 1.10.0");
    assert_eq!(std::fs::read_to_string(results.join("release")).unwrap(), "6");
    assert_eq!(
        std::fs::read_to_string(tree.join("build/containerfiles/index.Containerfile")).unwrap(),
        "FROM scratch\nCOPY catalog-index/ /\n# release=0 is a comment\nLABEL name=\"rhdh/plugin-catalog-index\" \\\n      version=\"1.10.0\" \\\n      release=\"6\"\nUSER 65534\n"
    );
    assert_eq!(
        std::fs::read_to_string(tree.join("build/containerfiles/builder.Containerfile")).unwrap(),
        "FROM registry.access.redhat.com/ubi9/nodejs-22\nENV version=1.10.0 release=6\nRUN echo build\n"
    );
    let output = run("false");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1.10.0-6", "no change: no bump");
    assert!(
        std::fs::read_to_string(tree.join("build/containerfiles/builder.Containerfile")).unwrap().contains("release=6")
    );
}

#[test]
fn release_number_from_konflux_snapshots_through_the_kube_client() {
    let registry = Registry::shared();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let tree = root.join("tree");
    containerfiles(&tree);
    let repository = format!("{}/{}/plugin-catalog-index", registry.host, unique_namespace());
    push_index_image(root, &registry, &format!("{repository}:build-a"), &["version=1.10.0", "release=8"]);
    push_index_image(root, &registry, &format!("{repository}:build-b"), &["version=1.9.0", "release=12"]);
    let snapshot = |name: &str, created: &str, image: &str| {
        serde_json::json!({"apiVersion": "appstudio.redhat.com/v1alpha1", "kind": "Snapshot",
            "metadata": {"name": name, "namespace": "rhdh-tenant", "creationTimestamp": created,
                         "labels": {"appstudio.openshift.io/component": "plugin-catalog-index"}},
            "spec": {"application": "rhdh", "components": [{"name": "plugin-catalog-index", "containerImage": image}]}})
    };
    let list = serde_json::json!({"apiVersion": "appstudio.redhat.com/v1alpha1", "kind": "SnapshotList", "metadata": {"resourceVersion": "1"},
        "items": [snapshot("s1", "2026-11-01T00:00:00Z", &format!("{repository}:build-a")),
                  snapshot("s2", "2026-11-02T00:00:00Z", &format!("{repository}:build-b"))]});
    let routes: HashMap<String, (u16, String)> = [
        ("/apis/appstudio.redhat.com/v1alpha1/namespaces/rhdh-tenant/snapshots".to_string(), (200, list.to_string())),
        (
            "/apis/appstudio.redhat.com/v1alpha1/namespaces/locked/snapshots".to_string(),
            (403, forbidden("snapshots.appstudio.redhat.com is forbidden: User \\\"system:serviceaccount:locked:build\\\" cannot list resource")),
        ),
    ]
    .into_iter()
    .collect();
    let server = FakeApiServer::start(routes);
    let kubeconfig = server.kubeconfig(root, "rhdh-tenant");
    let run = |namespace: &str| {
        rhdh_catalog(root)
            .env("KUBECONFIG", &kubeconfig)
            .arg("release-number")
            .arg("--tree")
            .arg(&tree)
            .args([
                "--version",
                "1.10.0",
                "--source",
                "konflux",
                "--namespace",
                namespace,
                "--component",
                "plugin-catalog-index",
            ])
            .args(["--insecure-registry", &registry.host, "--store", &format!("docker://{}", registry.host)])
            .output()
            .unwrap()
    };
    let output = run("rhdh-tenant");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1.10.0-9", "release 12 belongs to 1.9.0");
    let requests = server.requests.lock().unwrap().clone();
    assert!(
        requests.iter().any(|request| request.contains("/snapshots?")
            && request.contains("labelSelector=appstudio.openshift.io%2Fcomponent%3Dplugin-catalog-index")),
        "{requests:?}"
    );

    let output = run("locked");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("permission denied: the service account may not list snapshots in namespace locked"),
        "{stderr}"
    );
}

/// Hooks in the checkout never run, whatever put them there: every git command runs with
/// `core.hooksPath` at an empty folder (`--no-verify` alone would not stop post-commit, pre-push
/// or reference-transaction hooks).
#[test]
fn hooks_in_the_checkout_never_run() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let (remote, tree) = clone_tree(root);
    let marker = root.join("hook-ran");
    for hook in ["pre-commit", "commit-msg", "post-commit", "pre-push", "reference-transaction", "post-rewrite"] {
        let path = tree.join(".git/hooks").join(hook);
        std::fs::write(&path, format!("#!/bin/sh\necho {hook} >> '{}'\n", marker.display())).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    // The same hooks where a repository's own configuration could point.
    git(&tree, &["config", "core.hooksPath", tree.join(".git/hooks").to_str().unwrap()]);
    // A plain git commit in this checkout runs them: the test would notice if ours did.
    write(&tree, &[("notes.txt", "x\n")]);
    git(&tree, &["add", "notes.txt"]);
    git(&tree, &["commit", "-q", "-m", "by hand"]);
    assert!(marker.exists(), "the hooks work, so their absence below means something");
    std::fs::remove_file(&marker).unwrap();

    write(&tree, &[("catalog-index/index.json", "{\"b\": 2}\n")]);
    let output = run_commit(root, &tree);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("committed and pushed: "));
    assert!(git(&remote, &["log", "-1", "--format=%s", "main"]).starts_with("Sync"), "the commit was pushed");
    assert!(!marker.exists(), "a hook ran: {}", std::fs::read_to_string(&marker).unwrap_or_default());
}
