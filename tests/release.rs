//! The release side against the real registry: `publish` the index built from the bundled example,
//! `validate` it, `promote` it to floating tags and roll them back; every `validate` rule on a
//! minimal bad input; the `diff` of two indexes (snapshot); `await-build` with the real kube client
//! against a loopback server speaking the API's JSON (list, get, watch).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::fake_kube::FakeApiServer;
use crate::support::{
    PUBLISH_FACTS, Registry, example_overlay, publish_example_images, rhdh_catalog, skopeo, unique_namespace,
    write_dist_dynamic,
};

/// The bundled example indexed against `store`, written to `work/catalog-index`.
fn example_index(work: &Path, overlay: &Path, prefix: &str, store: &str, insecure: Option<&str>) -> PathBuf {
    publish_example_images(work, overlay, prefix, store, insecure);
    let mut command = index_command(work, overlay, prefix, store);
    if let Some(host) = insecure {
        command.args(["--insecure-registry", host]);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    work.join("catalog-index")
}

/// `index` of `overlay` against `store`, run in `work` (outputs in its default places there).
fn index_command(work: &Path, overlay: &Path, prefix: &str, store: &str) -> assert_cmd::Command {
    let mut command = rhdh_catalog(work);
    command
        .current_dir(work)
        .args(["index", "--registry", prefix, "--rhdh-version", "1.10.0", "--store", store])
        .arg("--overlay")
        .arg(overlay)
        .args([
            "--overlay-commit",
            "0123456789abcdef0123456789abcdef01234567",
            "--source-repo",
            "https://example.test/overlay",
        ]);
    command
}

fn run(work: &Path, registry: &Registry, args: &[&str]) -> std::process::Output {
    rhdh_catalog(work)
        .args(args)
        .args(["--insecure-registry", &registry.host, "--store", &format!("docker://{}", registry.host)])
        .output()
        .unwrap()
}

#[test]
fn publish_validate_promote_and_roll_back() {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    let catalog =
        example_index(work.path(), &overlay, &prefix, &format!("docker://{}", registry.host), Some(&registry.host));
    let repository = format!("{prefix}/plugin-catalog-index");

    // publish: reproducible, non-root, labelled; related-images names the index image too.
    let publish = |tag: &str| {
        let output = run(
            work.path(),
            &registry,
            &[&["publish", catalog.to_str().unwrap(), "--tag", &format!("{repository}:{tag}")], &PUBLISH_FACTS[..]]
                .concat(),
        );
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let pinned = publish("1.10.0-3");
    assert_eq!(publish("1.10.0-3"), pinned, "publishing twice gives the same digest");
    let related = work.path().join("related-images.txt");
    let output = run(
        work.path(),
        &registry,
        &[
            &["publish", catalog.to_str().unwrap(), "--tag", &format!("{repository}:1.10.0-3")],
            &PUBLISH_FACTS[..],
            &["--related-images", related.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), pinned);
    let related = std::fs::read_to_string(&related).unwrap();
    assert_eq!(related.lines().count(), 8, "7 plugin images and the index: {related}");
    let inspect: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--config",
        "--tls-verify=false",
        &format!("docker://{repository}:1.10.0-3"),
    ]))
    .unwrap();
    assert_eq!(inspect["config"]["User"], "65534");
    assert_eq!(inspect["config"]["Labels"]["release"], "3");
    assert_eq!(inspect["config"]["Labels"]["vcs-ref"], "abc1234");
    // skopeo copies it out; its layer has the installer's layout at the root.
    let copied = work.path().join("copied");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{repository}:1.10.0-3"),
        &format!("dir:{}", copied.display()),
    ]);
    let manifest: Value = serde_json::from_slice(&std::fs::read(copied.join("manifest.json")).unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().split_once(':').unwrap().1.to_string();
    let extracted = work.path().join("extracted");
    rhdh_catalog::io::archive::unpack(&std::fs::read(copied.join(layer)).unwrap(), &extracted).unwrap();
    assert!(extracted.join("dynamic-plugins.default.yaml").is_file());
    assert!(extracted.join("catalog-entities/extensions/plugins/all.yaml").is_file());
    assert!(extracted.join("catalog-entities/extensions/packages/all.yaml").is_file());
    assert!(extracted.join("index.json").is_file() && extracted.join("build-info.json").is_file());
    assert!(!extracted.join("related-images.txt").exists());

    // validate the image: every reference present, annotated, with its folder in the first layer.
    let output = run(work.path(), &registry, &["validate", "--image", &pinned]);
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 error(s)"));

    // An older image already tagged 1.10.
    let older_folder = work.path().join("older");
    crate::support::copy_dir(&catalog, &older_folder);
    std::fs::write(older_folder.join("build-info.json"), "{}\n").unwrap();
    let output = run(
        work.path(),
        &registry,
        &["publish", older_folder.to_str().unwrap(), "--tag", &format!("{repository}:1.10")],
    );
    assert!(output.status.success());
    let older = String::from_utf8(output.stdout).unwrap().trim().split_once('@').unwrap().1.to_string();

    let rollback = work.path().join("rollback.json");
    let output = run(
        work.path(),
        &registry,
        &["promote", &pinned, "--to", "next", "--to", "1.10", "--rollback-file", rollback.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let digest_of = |tag: &str| -> String {
        let inspect: Value =
            serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &format!("docker://{repository}:{tag}")]))
                .unwrap();
        inspect["Digest"].as_str().unwrap().to_string()
    };
    let promoted = pinned.split_once('@').unwrap().1;
    assert_eq!(digest_of("next"), promoted);
    assert_eq!(digest_of("1.10"), promoted);
    let record: Value = serde_json::from_slice(&std::fs::read(&rollback).unwrap()).unwrap();
    assert_eq!(record["tags"], json!({"1.10": older, "next": null}));

    let output = run(work.path(), &registry, &["promote", "--rollback", rollback.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "next cannot be removed: {stderr}");
    assert!(stderr.contains("1 tag(s) did not exist before") && stderr.contains("next"), "{stderr}");
    assert_eq!(digest_of("1.10"), older, "1.10 restored");

    // An image that does not validate is not promoted.
    let broken = work.path().join("broken");
    crate::support::copy_dir(&catalog, &broken);
    std::fs::remove_file(broken.join("dynamic-plugins.default.yaml")).unwrap();
    std::fs::write(broken.join("README"), "no dpdy\n").unwrap();
    let output = run(
        work.path(),
        &registry,
        &["package", older_folder.to_str().unwrap(), "--tag", &format!("{repository}:not-an-index")],
    );
    assert_eq!(output.status.code(), Some(2), "package needs a package.json");
    write_dist_dynamic(&work.path().join("x/dist-dynamic"), "@acme/plugin-x", "1.0.0", "frontend-plugin");
    let output = run(
        work.path(),
        &registry,
        &[
            "package",
            work.path().join("x/dist-dynamic").to_str().unwrap(),
            "--tag",
            &format!("{repository}:not-an-index"),
        ],
    );
    assert!(output.status.success());
    let output = run(
        work.path(),
        &registry,
        &[
            "promote",
            &format!("{repository}:not-an-index"),
            "--to",
            "next",
            "--rollback-file",
            rollback.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("does not validate; nothing promoted"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(digest_of("next"), promoted, "next untouched");
}

/// Writes `text` as a dynamic-plugins.yaml (with optional includes) and validates it statically.
fn validate_static(files: &[(&str, &str)]) -> (Option<i32>, String) {
    let work = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(work.path().join(name), text).unwrap();
    }
    let output = rhdh_catalog(work.path())
        .arg("validate")
        .arg(work.path().join(files[0].0))
        .arg("--no-registry")
        .output()
        .unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
}

const DIGEST: &str = "sha256:e61e662e36b3676ad167056628fa022b5374dd87506f7e913f0aad8c11e98479";

#[test]
fn validate_rejects_each_static_rule_on_a_minimal_input() {
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("oci-reference", vec![("dynamic-plugins.yaml", "plugins:\n  - package: oci://quay.io/rhdh/x\n".into())]),
        (
            "duplicate-key",
            vec![(
                "dynamic-plugins.yaml",
                format!(
                    "plugins:\n  - package: oci://quay.io/rhdh/x@{DIGEST}!x\n  - package: oci://quay.io/rhdh/x:2.0!x\n"
                ),
            )],
        ),
        (
            "duplicate-key",
            vec![
                ("dynamic-plugins.yaml", "includes: [a.yaml, b.yaml]\nplugins: []\n".into()),
                ("a.yaml", "plugins:\n  - package: ./dynamic-plugins/dist/x\n".into()),
                ("b.yaml", "plugins:\n  - package: ./dynamic-plugins/dist/x\n".into()),
            ],
        ),
        (
            "inherit-in-include",
            vec![
                ("dynamic-plugins.yaml", "includes: [a.yaml]\nplugins: []\n".into()),
                ("a.yaml", "plugins:\n  - package: oci://quay.io/rhdh/x:{{inherit}}!x\n".into()),
            ],
        ),
        (
            "inherit-no-match",
            vec![("dynamic-plugins.yaml", "plugins:\n  - package: oci://quay.io/rhdh/x:{{inherit}}\n".into())],
        ),
        (
            "inherit-ambiguous",
            vec![
                (
                    "dynamic-plugins.yaml",
                    "includes: [a.yaml]\nplugins:\n  - package: oci://quay.io/rhdh/x:{{inherit}}\n".into(),
                ),
                (
                    "a.yaml",
                    "plugins:\n  - package: oci://quay.io/rhdh/x:1.0!a\n  - package: oci://quay.io/rhdh/x:1.0!b\n"
                        .into(),
                ),
            ],
        ),
        (
            "ambiguous-path-less",
            vec![(
                "dynamic-plugins.yaml",
                "plugins:\n  - package: oci://quay.io/rhdh/x:1.0!a\n  - package: oci://quay.io/rhdh/x:1.0\n".into(),
            )],
        ),
        ("integrity", vec![("dynamic-plugins.yaml", "plugins:\n  - package: '@backstage/plugin-x@1.2.3'\n".into())]),
        (
            "config-conflict",
            vec![(
                "dynamic-plugins.yaml",
                "plugins:\n  - package: ./dynamic-plugins/dist/a\n    pluginConfig:\n      app: {title: A}\n  - package: ./dynamic-plugins/dist/b\n    pluginConfig:\n      app: {title: B}\n".into(),
            )],
        ),
    ];
    for (rule, files) in cases {
        let borrowed: Vec<(&str, &str)> = files.iter().map(|(name, text)| (*name, text.as_str())).collect();
        let (code, stdout) = validate_static(&borrowed);
        assert_eq!(code, Some(1), "{rule}: {stdout}");
        assert!(stdout.contains(&format!("[{rule}]")), "{rule}: {stdout}");
    }
    let (code, stdout) = validate_static(&[(
        "dynamic-plugins.yaml",
        &format!(
            "plugins:\n  - package: oci://quay.io/rhdh/x@{DIGEST}!x\n    disabled: true\n  - package: '@backstage/plugin-y@1.0.0'\n    integrity: sha512-abc\n"
        ),
    )]);
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn validate_checks_images_in_the_registry() {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    let push = |name: &str, plugins: &[&str], extra: &[&str]| -> String {
        let mut command = rhdh_catalog(work.path());
        command.arg("package");
        for plugin in plugins {
            let dir = work.path().join(name).join(plugin);
            write_dist_dynamic(&dir, &format!("@acme/{plugin}"), "1.0.0", "frontend-plugin");
            command.arg(&dir);
        }
        command
            .args([
                "--tag",
                &format!("{prefix}/{name}:1"),
                "--insecure-registry",
                &registry.host,
                "--store",
                &format!("docker://{}", registry.host),
            ])
            .args(extra);
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let single = push("single", &["one"], &[]);
    let double = push("double", &["one", "two"], &[]);
    let validate = |plugins: &str| {
        let file = work.path().join("dynamic-plugins.yaml");
        std::fs::write(&file, plugins).unwrap();
        let output = run(work.path(), &registry, &["validate", file.to_str().unwrap()]);
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, stdout) =
        validate(&format!("plugins:\n  - package: oci://{single}\n  - package: oci://{double}!acme-two\n"));
    assert_eq!(code, Some(0), "{stdout}");
    let (code, stdout) = validate(&format!("plugins:\n  - package: oci://{prefix}/missing:1\n    disabled: true\n"));
    assert_eq!(code, Some(1), "disabled references are checked too: {stdout}");
    assert!(stdout.contains("[image-present]"), "{stdout}");
    let (code, stdout) = validate(&format!("plugins:\n  - package: oci://{double}\n"));
    assert_eq!(code, Some(1));
    assert!(stdout.contains("annotates 2 plugins") && stdout.contains("[auto-path]"), "{stdout}");
    // A file over the installer's 40 MB entry limit.
    let big = work.path().join("big/big");
    write_dist_dynamic(&big, "@acme/big", "1.0.0", "frontend-plugin");
    std::fs::write(big.join("dist/blob.bin"), vec![0u8; 40_000_001]).unwrap();
    let mut command = rhdh_catalog(work.path());
    command.arg("package").arg(&big).args([
        "--tag",
        &format!("{prefix}/big:1"),
        "--insecure-registry",
        &registry.host,
        "--store",
        &format!("docker://{}", registry.host),
    ]);
    assert!(command.output().unwrap().status.success());
    let (code, stdout) = validate(&format!("plugins:\n  - package: oci://{prefix}/big:1\n"));
    assert_eq!(code, Some(1));
    assert!(stdout.contains("acme-big/dist/blob.bin") && stdout.contains("[entry-size]"), "{stdout}");
    let (code, stdout) = validate(&format!("plugins:\n  - package: oci://{single}!acme-three\n"));
    assert_eq!(code, Some(1));
    assert!(stdout.contains("has no `acme-three/` folder") && stdout.contains("[layer-path]"), "{stdout}");
    // An image without the annotation: a path-less reference cannot be resolved.
    let bare = work.path().join("bare");
    write_dist_dynamic(&bare, "@acme/bare", "1.0.0", "frontend-plugin");
    let store = rhdh_catalog::io::registry::Store::parse(
        Some(&format!("docker://{}", registry.host)),
        &rhdh_catalog::io::registry::ClientOptions {
            insecure_registries: vec![registry.host.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    let spec = rhdh_catalog::io::registry::image::ImageSpec {
        files: vec![rhdh_catalog::io::registry::image::LayerFile {
            path: "acme-bare/package.json".into(),
            contents: b"{}".to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let reference = rhdh_catalog::io::registry::ImageReference::parse(&format!("{prefix}/bare:1")).unwrap();
    let built = rhdh_catalog::io::registry::image::build_image(&spec).unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(rhdh_catalog::io::registry::image::push_image(&store, &reference, &built))
        .unwrap();
    let (code, stdout) = validate(&format!("plugins:\n  - package: oci://{prefix}/bare:1\n"));
    assert_eq!(code, Some(1));
    assert!(stdout.contains("[annotation]"), "{stdout}");
    let _ = base64::engine::general_purpose::STANDARD;
}

#[test]
fn diff_of_two_indexes() {
    let work = tempfile::tempdir().unwrap();
    let layout = format!("oci-layout:{}", work.path().join("registry").display());
    let before = work.path().join("before");
    std::fs::create_dir_all(&before).unwrap();
    let overlay = example_overlay(&before);
    let old = example_index(&before, &overlay, "quay.io/rhdh", &layout, None);
    // A new tech-radar version, segment disabled, a config change, tech-radar-backend dropped.
    let after = work.path().join("after");
    std::fs::create_dir_all(&after).unwrap();
    let overlay = example_overlay(&after);
    let edit = |path: &str, from: &str, to: &str| {
        let file = overlay.join(path);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(from), "{path}: {from}");
        std::fs::write(&file, text.replacen(from, to, 1)).unwrap();
    };
    edit(
        "workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml",
        "version: 1.20.0",
        "version: 1.21.0",
    );
    edit(
        "default.packages.yaml",
        "  - package: '@backstage-community/plugin-analytics-provider-segment'\n    support: \"generally-available\"\n",
        "",
    );
    edit(
        "default.packages.yaml",
        "  disabled:\n",
        "  disabled:\n  - package: '@backstage-community/plugin-analytics-provider-segment'\n    support: \"generally-available\"\n",
    );
    edit(
        "workspaces/analytics/metadata/backstage-community-plugin-analytics-provider-segment.yaml",
        "maskIP: true",
        "maskIP: false",
    );
    edit(
        "default.packages.yaml",
        "  - package: '@backstage-community/plugin-tech-radar-backend'\n    support: \"generally-available\"\n",
        "",
    );
    edit("rhdh-supported-packages.txt", "tech-radar/plugins/tech-radar-backend\n", "");
    let new = example_index(&after, &overlay, "quay.io/rhdh", &layout, None);
    let diff = |format: &str| {
        let output = rhdh_catalog(work.path())
            .args(["diff", old.to_str().unwrap(), new.to_str().unwrap(), "--output-format", format])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    insta::assert_snapshot!("diff_markdown", diff("text"));
    insta::assert_snapshot!("diff_json", diff("json"));
    let unchanged =
        rhdh_catalog(work.path()).args(["diff", old.to_str().unwrap(), old.to_str().unwrap()]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&unchanged.stdout), "## Catalog index changes\n\nNo changes.\n");
    // index records the same diff in its report.
    let report = work.path().join("report.json");
    let output = rhdh_catalog(&after)
        .current_dir(&after)
        .args([
            "index",
            "--registry",
            "quay.io/rhdh",
            "--rhdh-version",
            "1.10.0",
            "--store",
            &layout,
            "--overlay-commit",
            "x",
            "--source-repo",
            "x",
        ])
        .arg("--output")
        .arg(&old)
        .arg("--overlay")
        .arg(&overlay)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["diff"]["removed"], json!(["backstage-community-plugin-tech-radar-backend"]));
}

/// An index byte for byte the catalog it replaces lists no changes, even where that catalog
/// cannot be read as a view (no package is enabled by default: dynamic-plugins.default.yaml is
/// empty, index.json is not, and the two share no plugin). It listed every plugin as added.
#[test]
fn an_unchanged_index_lists_no_changes_even_when_its_dynamic_plugins_file_is_empty() {
    let work = tempfile::tempdir().unwrap();
    let layout = format!("oci-layout:{}", work.path().join("registry").display());
    let overlay = example_overlay(work.path());
    std::fs::write(overlay.join("default.packages.yaml"), "packages:\n  enabled: []\n  disabled: []\n").unwrap();
    let catalog = example_index(work.path(), &overlay, "quay.io/rhdh", &layout, None);
    assert_eq!(catalog, work.path().join("catalog-index"));
    let report_path = work.path().join("report.json");
    let index_again = || {
        index_command(work.path(), &overlay, "quay.io/rhdh", &layout)
            .arg("--report")
            .arg(&report_path)
            .output()
            .unwrap()
    };
    let output = index_again();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("unchanged in") || String::from_utf8_lossy(&output.stdout).contains("unchanged in"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot be read") && !stderr.contains("index changes"), "{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert!(report["summary"]["plugins"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report.get("diff"), None, "{report}");
    assert_eq!(report["changed"], json!(false));

    // plugin_builds changed (a file of it removed), the catalog did not: still no change listed.
    let builds = work.path().join("plugin_builds");
    let removed = builds.join(crate::support::files_under(&builds).first().expect("a plugin_builds file"));
    std::fs::remove_file(&removed).unwrap();
    let output = index_again();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(removed.is_file(), "plugin_builds written again");
    assert!(!stderr.contains("cannot be read") && !stderr.contains("index changes"), "{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["changed"], json!(true), "{report}");
    assert_eq!(report.get("diff"), None, "{report}");
}

fn pipeline_run(name: &str, created: &str, condition: Option<(&str, &str)>) -> Value {
    let mut run = json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": name, "namespace": "tenant", "creationTimestamp": created, "resourceVersion": "10",
                     "labels": {"pipelinesascode.tekton.dev/sha": "0123456789abcdef0123456789abcdef01234567"}},
        "status": {}});
    if let Some((status, reason)) = condition {
        run["status"] = json!({"conditions": [{"type": "Succeeded", "status": status, "reason": reason, "message": format!("run {reason}")}],
            "results": [{"name": "IMAGE_URL", "value": "quay.io/rhdh/plugin-catalog-index:0123456"},
                        {"name": "IMAGE_DIGEST", "value": DIGEST}]});
    }
    run
}

fn await_build(
    routes: HashMap<String, Vec<(u16, String)>>,
    extra: &[&str],
) -> (Option<i32>, String, String, Vec<String>) {
    let server = FakeApiServer::start_sequences(routes);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(home.path(), "tenant");
    let output = rhdh_catalog(home.path())
        .env("KUBECONFIG", &kubeconfig)
        .args([
            "await-build",
            "--sha",
            "0123456789abcdef0123456789abcdef01234567",
            "--component",
            "plugin-catalog-index",
            "--poll-interval",
            "1",
        ])
        .args(extra)
        .output()
        .unwrap();
    let requests = server.requests.lock().unwrap().clone();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        requests,
    )
}

const RUNS: &str = "/apis/tekton.dev/v1/namespaces/tenant/pipelineruns";

fn list(items: &[Value]) -> (u16, String) {
    (200, json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRunList", "metadata": {"resourceVersion": "10"}, "items": items}).to_string())
}

#[test]
fn await_build_finds_the_newest_run_and_follows_it_with_a_watch() {
    let older = pipeline_run("build-old", "2026-11-01T00:00:00Z", Some(("False", "Failed")));
    let running = pipeline_run("build-new", "2026-11-02T00:00:00Z", None);
    let done = pipeline_run("build-new", "2026-11-02T00:00:00Z", Some(("True", "Succeeded")));
    let events = format!(
        "{}\n{}\n",
        json!({"type": "MODIFIED", "object": running}),
        json!({"type": "MODIFIED", "object": done})
    );
    let routes: HashMap<String, Vec<(u16, String)>> = [
        (RUNS.to_string(), vec![list(&[]), list(&[older.clone(), running.clone()])]),
        (format!("{RUNS}/build-new"), vec![(200, running.to_string())]),
        (format!("{RUNS}?watch"), vec![(200, events)]),
    ]
    .into_iter()
    .collect();
    let (code, stdout, stderr, requests) = await_build(routes, &["--timeout", "20"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), format!("quay.io/rhdh/plugin-catalog-index:0123456@{DIGEST}"), "IMAGE_URL@IMAGE_DIGEST");
    let listed = requests
        .iter()
        .filter(|request| request.starts_with(&format!("{RUNS}?")) && !request.contains("watch=true"))
        .count();
    assert_eq!(listed, 2, "looked again while no run existed: {requests:?}");
    assert!(requests.iter().any(|request| request.contains("labelSelector=pipelinesascode.tekton.dev%2Fsha%3D0123456789abcdef0123456789abcdef01234567%2Cpipelinesascode.tekton.dev%2Fevent-type%3Dpush%2Cappstudio.openshift.io%2Fcomponent%3Dplugin-catalog-index")), "{requests:?}");
    assert!(
        requests.iter().any(
            |request| request.contains("watch=true") && request.contains("fieldSelector=metadata.name%3Dbuild-new")
        ),
        "{requests:?}"
    );
}

#[test]
fn await_build_maps_failures_to_exit_codes() {
    for (status, reason, expected) in [
        ("False", "Failed", 1),
        ("False", "Cancelled", 1),
        ("False", "PipelineRunTimeout", 3),
        ("False", "CreateRunFailed", 3),
        ("True", "Completed", 0),
    ] {
        let finished = pipeline_run("build", "2026-11-02T00:00:00Z", Some((status, reason)));
        let routes: HashMap<String, Vec<(u16, String)>> = [
            (RUNS.to_string(), vec![list(std::slice::from_ref(&finished))]),
            (format!("{RUNS}/build"), vec![(200, finished.to_string())]),
        ]
        .into_iter()
        .collect();
        let (code, _, stderr, _) = await_build(routes, &["--timeout", "20"]);
        assert_eq!(code, Some(expected), "{reason}: {stderr}");
        if expected != 0 {
            assert!(stderr.contains(&format!("ended {reason}")), "{stderr}");
        }
    }
    // Nothing ever appears: the timeout is an infrastructure failure.
    let routes: HashMap<String, Vec<(u16, String)>> = [(RUNS.to_string(), vec![list(&[])])].into_iter().collect();
    let (code, _, stderr, _) = await_build(routes, &["--timeout", "2"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("no finished PipelineRun"), "{stderr}");
}

/// The publish gate: `publish` and `promote` refuse (exit 1, with the diff) an empty index and an
/// index that lost plugins of the previous one, unless each removal is named.
#[test]
fn publish_and_promote_refuse_an_index_that_lost_plugins() {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    let store = format!("docker://{}", registry.host);
    let full = example_index(work.path(), &overlay, &prefix, &store, Some(&registry.host));
    // The same overlay with tech-radar's two plugins no longer selected.
    let selection = work.path().join("default.packages.yaml");
    let text = std::fs::read_to_string(overlay.join("default.packages.yaml")).unwrap();
    let kept: Vec<&str> = text.lines().take_while(|line| !line.trim_start().starts_with("disabled:")).collect();
    std::fs::write(&selection, kept.join("\n") + "\n").unwrap();
    let output = rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(["index", "--registry", &prefix, "--rhdh-version", "1.10.0", "--store", &store])
        .args(["--insecure-registry", &registry.host, "--output", "smaller", "--plugin-builds", "smaller-builds"])
        .arg("--overlay")
        .arg(&overlay)
        .arg("--packages")
        .arg(&selection)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let smaller = work.path().join("smaller");
    let repository = format!("{prefix}/plugin-catalog-index");
    let tag_exists = |tag: &str| {
        std::process::Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{repository}:{tag}")])
            .output()
            .unwrap()
            .status
            .success()
    };
    let publish = |folder: &Path, tag: &str, extra: &[&str]| {
        run(
            work.path(),
            &registry,
            &[&["publish", folder.to_str().unwrap(), "--tag", &format!("{repository}:{tag}")], extra].concat(),
        )
    };

    let output = publish(&smaller, "lost", &["--previous", full.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("lost 2 plugin(s)"), "{stderr}");
    assert!(stderr.contains("| backstage-community-plugin-tech-radar | removed |"), "the diff is shown: {stderr}");
    assert!(stderr.contains("--allow-removal"), "{stderr}");
    assert!(stderr.contains("nothing was released"), "{stderr}");
    assert!(!tag_exists("lost"), "nothing was pushed");

    let output = publish(
        &smaller,
        "allowed",
        &[
            "--previous",
            full.to_str().unwrap(),
            "--allow-removal",
            "backstage-community-plugin-tech-radar",
            "--allow-removal",
            "backstage-community-plugin-tech-radar-backend",
        ],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(tag_exists("allowed"));

    let empty = work.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("index.json"), "{}\n").unwrap();
    std::fs::write(empty.join("dynamic-plugins.default.yaml"), "plugins: []\n").unwrap();
    let output = publish(&empty, "empty", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("holds no plugins"), "{stderr}");
    assert!(!tag_exists("empty"));

    // promote compares with what the floating tag points at now.
    let pin = |output: std::process::Output| {
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let full_image = pin(publish(&full, "1.10.0-1", &[]));
    let smaller_image = pin(publish(
        &smaller,
        "1.10.0-2",
        &[
            "--previous",
            full.to_str().unwrap(),
            "--allow-removal",
            "backstage-community-plugin-tech-radar,backstage-community-plugin-tech-radar-backend",
        ],
    ));
    let rollback = work.path().join("rollback.json");
    let promote = |image: &str, extra: &[&str]| {
        run(
            work.path(),
            &registry,
            &[&["promote", image, "--to", "next", "--rollback-file", rollback.to_str().unwrap()], extra].concat(),
        )
    };
    assert!(promote(&full_image, &[]).status.success(), "the first promotion has nothing to compare with");
    let output = promote(&smaller_image, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("lost 2 plugin(s)"), "{stderr}");
    let next: Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &format!("docker://{repository}:next")]))
            .unwrap();
    assert_eq!(
        next["Digest"].as_str(),
        full_image.split_once('@').map(|(_, digest)| digest),
        "next still points at the full index"
    );
    let output = promote(
        &smaller_image,
        &[
            "--allow-removal",
            "backstage-community-plugin-tech-radar",
            "--allow-removal",
            "backstage-community-plugin-tech-radar-backend",
        ],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
