//! `package`: images skopeo reads, whose annotation names the plugin folders the installer will
//! extract, whose layer holds exactly the exported files, and whose digest is reproducible.

use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::support::{Registry, rhdh_catalog, skopeo, unique_namespace, write_dist_dynamic};

#[test]
fn package_pushes_an_image_skopeo_reads_and_the_installer_can_auto_detect() {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let frontend = work.path().join("frontend/dist-dynamic");
    let backend = work.path().join("backend/dist-dynamic");
    write_dist_dynamic(&frontend, "@acme/plugin-hello", "1.2.3", "frontend-plugin");
    write_dist_dynamic(&backend, "@acme/plugin-hello-backend", "1.2.3", "backend-plugin");
    let reference = format!("{}/{}/acme-plugin-hello:bs_1.52.0__1.2.3", registry.host, unique_namespace());

    let push = || {
        let output = rhdh_catalog(work.path())
            .arg("package")
            .arg(&frontend)
            .arg(&backend)
            .args([
                "--tag",
                &reference,
                "--insecure-registry",
                &registry.host,
                "--label",
                "build-date=2026-01-01T00:00:00Z",
            ])
            .args(["--store", &format!("docker://{}", registry.host)])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let first = push();
    assert_eq!(push(), first, "the same folders give the same digest");
    let digest = first.split_once('@').unwrap().1;

    let inspect: Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &format!("docker://{reference}")])).unwrap();
    assert_eq!(inspect["Digest"], digest);
    assert_eq!(inspect["Labels"]["build-date"], "2026-01-01T00:00:00Z");
    let raw: Value =
        serde_json::from_str(&skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{reference}")]))
            .unwrap();
    let annotation = raw["annotations"]["io.backstage.dynamic-packages"].as_str().unwrap();
    let decoded: Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(annotation).unwrap()).unwrap();
    let folders: Vec<&String> =
        decoded.as_array().unwrap().iter().flat_map(|entry| entry.as_object().unwrap().keys()).collect();
    assert_eq!(folders, ["acme-plugin-hello", "acme-plugin-hello-backend"]);
    assert_eq!(decoded[0]["acme-plugin-hello"]["name"], "@acme/plugin-hello-dynamic");
    assert_eq!(decoded[1]["acme-plugin-hello-backend"]["backstage"]["role"], "backend-plugin");

    // Copy it out the way the installer does and look at the first layer.
    let copied = work.path().join("copied");
    skopeo(&["copy", "--src-tls-verify=false", &format!("docker://{reference}"), &format!("dir:{}", copied.display())]);
    let manifest: Value = serde_json::from_slice(&std::fs::read(copied.join("manifest.json")).unwrap()).unwrap();
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap().split_once(':').unwrap().1.to_string();
    let layer = std::fs::File::open(copied.join(layer_digest)).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        assert_eq!(entry.header().mtime().unwrap(), 0);
        assert_eq!(entry.header().uid().unwrap(), 0);
        names.push(entry.path().unwrap().display().to_string());
    }
    assert_eq!(
        names,
        [
            "acme-plugin-hello-backend/",
            "acme-plugin-hello-backend/dist/",
            "acme-plugin-hello-backend/dist/index.cjs.js",
            "acme-plugin-hello-backend/package.json",
            "acme-plugin-hello/",
            "acme-plugin-hello/dist/",
            "acme-plugin-hello/dist/index.cjs.js",
            "acme-plugin-hello/package.json",
            "index.json",
        ]
    );
}

#[test]
fn package_into_a_layout_directory_is_readable_by_skopeo() {
    let work = tempfile::tempdir().unwrap();
    let plugin = work.path().join("dist-dynamic");
    write_dist_dynamic(&plugin, "@acme/plugin-layout", "0.1.0", "frontend-plugin");
    let layout = work.path().join("registry");
    let output = rhdh_catalog(work.path())
        .arg("package")
        .arg(&plugin)
        .args(["--tag", "quay.io/acme/acme-plugin-layout:1.10.0--0.1.0", "--output-format", "json"])
        .arg("--store")
        .arg(format!("oci-layout:{}", layout.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let inspect: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("oci:{}:1.10.0--0.1.0", layout.join("quay.io/acme/acme-plugin-layout").display()),
    ]))
    .unwrap();
    assert_eq!(inspect["Digest"], printed["digest"]);
}

#[test]
fn package_rejects_a_folder_without_package_json_and_links_leaving_it() {
    let work = tempfile::tempdir().unwrap();
    let empty = work.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let layout = format!("oci-layout:{}", work.path().join("registry").display());
    let output = rhdh_catalog(work.path())
        .arg("package")
        .arg(&empty)
        .args(["--tag", "quay.io/a/b:1", "--store", &layout])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("empty/package.json: cannot read"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let plugin = work.path().join("dist-dynamic");
    write_dist_dynamic(&plugin, "@acme/plugin-link", "0.1.0", "frontend-plugin");
    std::os::unix::fs::symlink("/etc/passwd", plugin.join("dist/passwd")).unwrap();
    let output = rhdh_catalog(work.path())
        .arg("package")
        .arg(&plugin)
        .args(["--tag", "quay.io/a/b:1", "--store", &layout])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("dist/passwd: is a symbolic link"));
    assert!(!Path::new(&work.path().join("registry")).exists(), "nothing pushed");
}
