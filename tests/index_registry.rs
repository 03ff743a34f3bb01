//! `index` against a real registry: missing images are findings (exit 1) and nothing is written;
//! `--allow-missing` keeps the previous digest; an unreachable registry is exit 3 and never
//! "missing"; credentials from the docker config; image indexes; layout and registry stores agree.

use std::path::Path;

use base64::Engine;

use rhdh_catalog::io::registry::image::{ImageSpec, LayerFile, build_image};
use rhdh_catalog::io::registry::{ClientOptions, Digest, ImageReference, Manifest, Store};
use serde_json::Value;

use crate::support::{Registry, example_overlay, files_under, publish_example_images, rhdh_catalog, unique_namespace};

/// `index` on `overlay` with images under `prefix` in `store`; returns the finished command output.
fn index(work: &Path, overlay: &Path, prefix: &str, store: &str, extra: &[&str]) -> std::process::Output {
    rhdh_catalog(work)
        .current_dir(work)
        .args(["index", "--registry", prefix, "--rhdh-version", "1.10.0", "--store", store, "--registry-attempts", "2"])
        .arg("--overlay")
        .arg(overlay)
        .args(["--overlay-commit", "test", "--source-repo", "https://example.test/overlay", "--report", "report.json"])
        .args(extra)
        .output()
        .unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir).into_iter().map(|file| (file.clone(), std::fs::read(dir.join(&file)).unwrap())).collect()
}

#[test]
fn missing_image_fails_the_run_and_writes_nothing() {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    let store = format!("docker://{}", registry.host);
    let mut pushed = publish_example_images(work.path(), &overlay, &prefix, &store, Some(&registry.host));
    assert_eq!(pushed.len(), 7);
    // A second overlay whose tech-radar version has no image.
    let newer = work.path().join("newer");
    crate::support::copy_dir(&overlay, &newer);
    let metadata = newer.join("workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml");
    let text = std::fs::read_to_string(&metadata).unwrap().replace("version: 1.20.0", "version: 1.21.0");
    std::fs::write(&metadata, text).unwrap();

    let output = index(work.path(), &newer, &prefix, &store, &["--insecure-registry", &registry.host]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{prefix}/backstage-community-plugin-tech-radar:1.10.0--1.21.0 (tag not found)")),
        "{stderr}"
    );
    // Only what happened: under `fail` nothing was kept or left out.
    assert!(!stderr.contains("previous digest kept") && !stderr.contains("left out"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!work.path().join("catalog-index").exists());

    // The previous index exists: --allow-missing keeps its digest for the missing plugin.
    let output = index(work.path(), &overlay, &prefix, &store, &["--insecure-registry", &registry.host]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output =
        index(work.path(), &newer, &prefix, &store, &["--insecure-registry", &registry.host, "--allow-missing"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = read_json(&work.path().join("report.json"));
    assert_eq!(report["summary"]["stale"], 1);
    assert_eq!(report["summary"]["pinned"], 6);
    let index_json = read_json(&work.path().join("catalog-index/index.json"));
    pushed.sort();
    let (_, old_pin) = pushed.iter().find(|(image, _)| image == "backstage-community-plugin-tech-radar").unwrap();
    let entry = &index_json["backstage-community-plugin-tech-radar"];
    assert_eq!(entry["registryReference"].as_str(), Some(old_pin.as_str()), "stale entry keeps the previous digest");
    assert_eq!(entry["imageTag"], "1.10.0--1.20.0");
    let dpdy = std::fs::read_to_string(work.path().join("catalog-index/dynamic-plugins.default.yaml")).unwrap();
    assert!(dpdy.contains(&format!("oci://{old_pin}")), "{dpdy}");
}

/// `--on-missing older-tag`: a missing tag is replaced by the highest clean older tag of the same
/// image (never a signature-like tag), recorded as a fallback everywhere, with an ACTION REQUIRED
/// line; the default still fails.
#[test]
fn a_missing_tag_falls_back_to_an_older_tag_only_when_asked() {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    let store = format!("docker://{}", registry.host);
    let pushed = publish_example_images(work.path(), &overlay, &prefix, &store, Some(&registry.host));
    let (_, radar_pin) = pushed.iter().find(|(image, _)| image == "backstage-community-plugin-tech-radar").unwrap();
    // Tags a fallback must never take: a signature, an attestation, a higher non-version suffix.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = Store::parse(
        Some(&store),
        &ClientOptions { insecure_registries: vec![registry.host.clone()], ..ClientOptions::default() },
    )
    .unwrap();
    let radar = ImageReference::parse(radar_pin).unwrap();
    let manifest = runtime.block_on(client.fetch_manifest(&radar)).unwrap().unwrap();
    for tag in ["1.10.0--9.9.9.sig", "sha256-0123abcd.att", "1.10.0--9.9.9-rc1"] {
        let target = ImageReference::parse(&format!("{}:{tag}", radar.name())).unwrap();
        runtime.block_on(client.push_manifest(&target, Some(tag), &manifest)).unwrap();
    }
    let newer = work.path().join("newer");
    crate::support::copy_dir(&overlay, &newer);
    let metadata = newer.join("workspaces/tech-radar/metadata/backstage-community-plugin-tech-radar.yaml");
    let text = std::fs::read_to_string(&metadata).unwrap().replace("version: 1.20.0", "version: 1.21.0");
    std::fs::write(&metadata, text).unwrap();
    let insecure = ["--insecure-registry", registry.host.as_str()];

    let output = index(work.path(), &newer, &prefix, &store, &insecure);
    assert_eq!(output.status.code(), Some(1), "the default policy fails: {}", String::from_utf8_lossy(&output.stderr));
    assert!(!work.path().join("catalog-index").exists());

    let output = index(work.path(), &newer, &prefix, &store, &[&insecure[..], &["--on-missing", "older-tag"]].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("ACTION REQUIRED backstage-community-plugin-tech-radar"), "{stderr}");
    let entry = &read_json(&work.path().join("catalog-index/index.json"))["backstage-community-plugin-tech-radar"];
    assert_eq!(entry["imageTag"], "1.10.0--1.20.0", "{entry}");
    assert_eq!(entry["fallback"], true);
    assert_eq!(entry["requestedTag"], "1.10.0--1.21.0");
    assert_eq!(entry["registryReference"].as_str(), Some(radar_pin.as_str()));
    let build = read_json(
        &work.path().join("plugin_builds/tech-radar/backstage-community-plugin-tech-radar.json"),
    )["backstage-community-plugin-tech-radar"]
        .clone();
    assert_eq!(build["fallback"], true, "{build}");
    assert_eq!(build["requestedTag"], "1.10.0--1.21.0");
    assert_eq!(build["registryReference"], format!("{prefix}/backstage-community-plugin-tech-radar:1.10.0--1.20.0"));
    let keys: Vec<&String> = build.as_object().unwrap().keys().collect();
    assert_eq!(
        keys[..5],
        ["workspacePath", "registryReference", "fallback", "requestedTag", "digest"],
        "upstream key order"
    );
    let report = read_json(&work.path().join("catalog-index/build-report.json"));
    let stages = &report["plugins"]["backstage-community-plugin-tech-radar"];
    assert_eq!(stages["stages"]["image-metadata-fetch"]["fallback"], true, "{stages}");
    assert_eq!(stages["stages"]["image-metadata-fetch"]["requestedTag"], "1.10.0--1.21.0");
    assert_eq!(stages["stages"]["image-metadata-fetch"]["resolvedTag"], "1.10.0--1.20.0");
    assert_eq!(stages["overall"], "pass");
    assert_eq!(report["summary"]["status"], "partial");
    assert_eq!(report["summary"]["total"], 7);
    let action = stages["action"].as_str().unwrap();
    assert!(action.contains("rhdh-catalog export --workspace tech-radar"), "{action}");
    assert!(action.contains("1.10.0--1.21.0") && action.contains("1.10.0--1.20.0"), "{action}");
    let index_report = read_json(&work.path().join("report.json"));
    assert_eq!(index_report["summary"]["fallback"], 1);
    assert_eq!(index_report["action-required"].as_array().unwrap().len(), 1);
    assert!(!files_under(&work.path().join("catalog-index")).is_empty());

    // A run where every tag exists reports success and no fallback; the report holds nothing
    // from the previous run.
    let output =
        index(work.path(), &overlay, &prefix, &store, &[&insecure[..], &["--on-missing", "older-tag"]].concat());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = read_json(&work.path().join("catalog-index/build-report.json"));
    assert_eq!(report["summary"]["status"], "success", "{report}");
    assert!(report["plugins"]["backstage-community-plugin-tech-radar"].get("action").is_none());
    let entry = &read_json(&work.path().join("catalog-index/index.json"))["backstage-community-plugin-tech-radar"];
    assert!(entry.get("fallback").is_none() && entry.get("requestedTag").is_none(), "{entry}");
}

#[test]
fn unreachable_registry_is_an_infrastructure_failure_not_a_missing_image() {
    let mut registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let prefix = format!("{}/rhdh", registry.host);
    let store = format!("docker://{}", registry.host);
    publish_example_images(work.path(), &overlay, &prefix, &store, Some(&registry.host));
    let output = index(work.path(), &overlay, &prefix, &store, &["--insecure-registry", &registry.host]);
    assert!(output.status.success());
    let before = snapshot(&work.path().join("catalog-index"));

    registry.stop();
    for policy in [&["--allow-missing"][..], &["--on-missing", "older-tag"][..]] {
        let output = index(
            work.path(),
            &overlay,
            &prefix,
            &store,
            &[&["--insecure-registry", &registry.host][..], policy].concat(),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{policy:?}: {stderr}");
        assert!(stderr.contains(&format!("registry {} gave no usable answer", registry.host)), "{stderr}");
        assert!(!stderr.contains("missing;"), "an unknown answer is never reported as missing: {stderr}");
        assert!(!stderr.contains("older tag"), "an unknown answer never falls back: {stderr}");
        assert_eq!(snapshot(&work.path().join("catalog-index")), before, "outputs untouched");
    }
}

#[test]
fn credentials_come_from_the_docker_config() {
    let registry = Registry::start_with(Some("tester:$2b$05$h/4GY3fm.ufnm8fAjUfmHuWuC9.fzzCu8QhZmxb1bSTpw9QY0/jTu\n"));
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let prefix = format!("{}/rhdh", registry.host);
    let store = format!("docker://{}", registry.host);

    // No credentials: refused, exit 3, and the secret is nowhere in the output.
    let exports = work.path().join("dist-dynamic");
    crate::support::write_dist_dynamic(&exports, "@backstage-community/plugin-tech-radar", "1.20.0", "frontend-plugin");
    let output = rhdh_catalog(work.path())
        .arg("package")
        .arg(&exports)
        .args(["--tag", &format!("{prefix}/x:1"), "--store", &store, "--insecure-registry", &registry.host])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("refused access"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let auth = base64::engine::general_purpose::STANDARD.encode("tester:s3cret-token-7f3a");
    std::fs::create_dir_all(work.path().join(".docker")).unwrap();
    std::fs::write(
        work.path().join(".docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
    )
    .unwrap();
    publish_example_images(work.path(), &overlay, &prefix, &store, Some(&registry.host));
    // The podman/skopeo auth file works too.
    let auth_file = work.path().join("auth.json");
    std::fs::rename(work.path().join(".docker/config.json"), &auth_file).unwrap();
    let output = rhdh_catalog(work.path())
        .current_dir(work.path())
        .env("REGISTRY_AUTH_FILE", &auth_file)
        .args([
            "index",
            "--registry",
            &prefix,
            "--rhdh-version",
            "1.10.0",
            "--store",
            &store,
            "--insecure-registry",
            &registry.host,
        ])
        .arg("--overlay")
        .arg(&overlay)
        .args(["--overlay-commit", "test", "--source-repo", "https://example.test/overlay"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stderr.contains("s3cret") && !stdout.contains("s3cret") && !stderr.contains(&auth));
    for file in files_under(work.path()) {
        if file.starts_with(".docker") {
            continue;
        }
        let bytes = std::fs::read(work.path().join(&file)).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("s3cret"), "{file} holds the secret");
    }
}

#[test]
fn image_indexes_are_pinned_by_their_own_digest_and_need_linux_amd64() {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    let store_spec = format!("docker://{}", registry.host);
    let mut pushed = publish_example_images(work.path(), &overlay, &prefix, &store_spec, Some(&registry.host));
    pushed.sort();

    // Re-tag tech-radar as an OCI image index holding the single-platform manifest.
    let store = Store::parse(
        Some(&store_spec),
        &ClientOptions { insecure_registries: vec![registry.host.clone()], ..ClientOptions::default() },
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reference =
        ImageReference::parse(&format!("{prefix}/backstage-community-plugin-tech-radar:1.10.0--1.20.0")).unwrap();
    let push_index = |architecture: &str| {
        let spec = ImageSpec {
            files: vec![LayerFile {
                path: "backstage-community-plugin-tech-radar/package.json".into(),
                contents: b"{}".to_vec(),
                ..LayerFile::default()
            }],
            annotations: [("io.backstage.dynamic-packages".to_string(), "W10=".to_string())].into_iter().collect(),
            ..ImageSpec::default()
        };
        let image = build_image(&spec).unwrap();
        let by_digest = ImageReference { tag: None, digest: Some(image.manifest.digest.clone()), ..reference.clone() };
        runtime.block_on(async {
            store.push_blob(&by_digest, &image.layer_digest, &image.layer).await.unwrap();
            store.push_blob(&by_digest, &image.config_digest, &image.config).await.unwrap();
            store.push_manifest(&by_digest, None, &image.manifest).await.unwrap();
        });
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image.manifest.digest.to_string(),
                           "size": image.manifest.bytes.len(), "platform": {"architecture": architecture, "os": "linux"}}],
            "annotations": {"io.backstage.dynamic-packages": "W10="},
        });
        let bytes = serde_json::to_vec(&index).unwrap();
        let manifest = Manifest {
            digest: Digest::of(&bytes),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            bytes,
        };
        let index_digest =
            runtime.block_on(store.push_manifest(&reference, reference.tag.as_deref(), &manifest)).unwrap();
        (index_digest, image.manifest.digest)
    };

    let (index_digest, amd64_digest) = push_index("amd64");
    let output = index(work.path(), &overlay, &prefix, &store_spec, &["--insecure-registry", &registry.host]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let index_json = read_json(&work.path().join("catalog-index/index.json"));
    assert_eq!(
        index_json["backstage-community-plugin-tech-radar"]["registryReference"],
        format!("{prefix}/backstage-community-plugin-tech-radar@{index_digest}")
    );
    // Both digests are recorded: the index (what is pinned) and its linux/amd64 manifest (what
    // `skopeo inspect` of that architecture shows).
    let build = &read_json(&work.path().join("plugin_builds/tech-radar/backstage-community-plugin-tech-radar.json"))["backstage-community-plugin-tech-radar"];
    assert_eq!(build["digest"], index_digest.to_string());
    assert_eq!(build["platformDigest"], amd64_digest.to_string());
    // What skopeo resolves for linux/amd64 when it copies the image.
    let layout = work.path().join("amd64-layout");
    crate::support::skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--override-os",
        "linux",
        "--override-arch",
        "amd64",
        &format!("docker://{reference}"),
        &format!("oci:{}:amd64", layout.display()),
    ]);
    let copied = read_json(&layout.join("index.json"));
    assert_eq!(copied["manifests"][0]["digest"], build["platformDigest"], "the manifest skopeo takes for linux/amd64");
    let stages = &read_json(&work.path().join("catalog-index/build-report.json"))["plugins"]["backstage-community-plugin-tech-radar"]
        ["stages"]["image-metadata-fetch"];
    assert_eq!(stages["digest"], index_digest.to_string());
    assert_eq!(stages["platformDigest"], amd64_digest.to_string());
    let report = read_json(&work.path().join("report.json"));
    let plugin = report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|plugin| plugin["image"] == "backstage-community-plugin-tech-radar")
        .unwrap();
    assert_eq!(plugin["platform-digest"], amd64_digest.to_string());

    push_index("arm64");
    let output = index(work.path(), &overlay, &prefix, &store_spec, &["--insecure-registry", &registry.host]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("image index lacks platform(s) linux/amd64"), "{stderr}");
}

#[test]
fn layout_and_registry_stores_give_the_same_index() {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let overlay = example_overlay(work.path());
    let namespace = unique_namespace();
    // Names in outputs are the same; only where the images are read from differs.
    let prefix = format!("quay.io/{namespace}");
    let mirror = format!("docker://{}", registry.host);
    let layout = format!("oci-layout:{}", work.path().join("registry").display());
    let from_registry = publish_example_images(work.path(), &overlay, &prefix, &mirror, Some(&registry.host));
    let from_layout = publish_example_images(work.path(), &overlay, &prefix, &layout, None);
    assert_eq!(from_registry, from_layout, "packaging is reproducible across stores");

    let output = index(work.path(), &overlay, &prefix, &mirror, &["--insecure-registry", &registry.host]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let through_registry = snapshot(&work.path().join("catalog-index"));
    let output = index(work.path(), &overlay, &prefix, &layout, &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(snapshot(&work.path().join("catalog-index")), through_registry);
    let report = read_json(&work.path().join("report.json"));
    assert_eq!(report["changed"], false, "same bytes, nothing rewritten");
}
