//! End to end with the real exporter, `@red-hat-developer-hub/cli` from the npm registry, on a
//! small real Backstage workspace (tests/fixtures/exporter-workspace: one backend, one frontend
//! plugin, Yarn 1 with a committed lockfile): fetch, export with `yarn install` and `yarn tsc`,
//! package the exports as images into an OCI layout, and check what skopeo reads.
//!
//! It needs the exporter and Yarn installed, which takes minutes the first time, so it is ignored
//! by a plain `cargo test`; `hack/test.sh` installs them into a cache and runs it.

use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::support::upstreams::{repository, url, write};
use crate::support::{copy_dir, files_under, rhdh_catalog, skopeo};

#[test]
#[ignore = "needs the real exporter and Yarn: hack/test.sh installs them and runs this test"]
fn real_exporter_exports_and_packages_a_real_workspace() {
    let exporter = std::env::var("RHDH_CATALOG_REAL_EXPORTER")
        .expect("RHDH_CATALOG_REAL_EXPORTER: the rhdh-cli binary (hack/test.sh sets it)");
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();

    // Upstream monorepo holding the fixture workspace, an overlay pointing at it, a midstream tree.
    let upstream = root.join("upstream");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exporter-workspace");
    copy_dir(&fixture, &upstream.join("workspaces/hello-real"));
    std::fs::remove_file(upstream.join("workspaces/hello-real/README.md")).unwrap();
    repository(&upstream, &[("package.json", "{\"name\": \"monorepo\", \"private\": true}\n")], "v1.0.0");
    let overlay = root.join("overlay");
    let source = format!(
        r#"{{"repo":"{}","repo-ref":"v1.0.0","repo-flat":false,"repo-backstage-version":"1.43.0"}}"#,
        url(&upstream)
    );
    repository(
        &overlay,
        &[
            ("versions.json", "{\"backstage\": \"1.43.0\"}\n"),
            ("rhdh-supported-packages.txt", "hello-real/plugins/hello-backend\nhello-real/plugins/hello\n"),
            ("workspaces/hello-real/source.json", &source),
            ("workspaces/hello-real/plugins-list.yaml", "plugins/hello-backend:\nplugins/hello:\n"),
        ],
        "v1",
    );
    let tree = root.join("midstream");
    write(
        &tree,
        &[(
            "upstream_repos.yml",
            &format!(
                "rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.43.0\nrepos:\n  - repo: {}\n    branch: main\n    destination_folder: overlay-repo\n",
                url(&overlay)
            ),
        )],
    );

    let output = rhdh_catalog(root).arg("fetch").arg("--tree").arg(&tree).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let layout = root.join("registry");
    // An empty package cache: the first export downloads every package from the npm registry.
    let package_cache = root.join("package-cache");
    let work = root.join("work");
    let export = || {
        let mut command = rhdh_catalog(root);
        command.env("RUST_LOG", "info");
        let started = std::time::Instant::now();
        let output = command
            .arg("export")
            .arg("--tree")
            .arg(&tree)
            .args(["--workspace", "hello-real", "--exporter", &exporter])
            .args([
                "--install-command",
                "yarn install --frozen-lockfile --non-interactive",
                "--tsc-command",
                "yarn tsc",
            ])
            .args(["--registry", "quay.io/acme", "--tag-scheme", "rhdh"])
            .arg("--package-cache")
            .arg(&package_cache)
            .arg("--work-dir")
            .arg(&work)
            .arg("--store")
            .arg(format!("oci-layout:{}", layout.display()))
            .timeout(std::time::Duration::from_secs(1800))
            .output()
            .unwrap();
        (output, started.elapsed())
    };
    let (output, first_took) = export();
    let report: Value =
        serde_json::from_slice(&std::fs::read(tree.join("export-report.json")).unwrap_or_default()).unwrap_or_default();
    assert!(output.status.success(), "{}\n{report:#}", String::from_utf8_lossy(&output.stderr));
    let plugins = report["workspaces"]["hello-real"]["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 2);
    assert!(plugins.iter().all(|plugin| plugin["status"] == "exported"), "{report:#}");

    // The midstream copy keeps dist-dynamic/{package.json,yarn.lock} and no installs or builds.
    let copy = tree.join("workspaces/hello-real");
    let backend: Value =
        serde_json::from_slice(&std::fs::read(copy.join("plugins/hello-backend/dist-dynamic/package.json")).unwrap())
            .unwrap();
    assert_eq!(backend["name"], "@internal/plugin-hello-backend-dynamic");
    assert!(
        backend["peerDependencies"]["@backstage/backend-plugin-api"].is_string(),
        "shared packages become peers: {backend}"
    );
    assert!(copy.join("plugins/hello-backend/dist-dynamic/yarn.lock").is_file());
    let frontend: Value =
        serde_json::from_slice(&std::fs::read(copy.join("plugins/hello/dist-dynamic/package.json")).unwrap()).unwrap();
    assert_eq!(frontend["name"], "@internal/plugin-hello-dynamic");
    let files = files_under(&copy);
    assert!(
        !files
            .iter()
            .any(|file| file.contains("node_modules/") || file.contains("/dist/") || file.contains("dist-scalprum")),
        "{files:?}"
    );
    assert!(copy.join("yarn.lock").is_file() && copy.join(".rhdh-catalog-export.json").is_file());

    // The backend image: the annotation names the folder the installer extracts.
    let backend_image = plugins.iter().find(|plugin| plugin["path"] == "plugins/hello-backend").unwrap()["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(backend_image.starts_with("quay.io/acme/internal-plugin-hello-backend@sha256:"), "{backend_image}");
    let raw: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--raw",
        &format!("oci:{}:1.10.0--0.1.0", layout.join("quay.io/acme/internal-plugin-hello-backend").display()),
    ]))
    .unwrap();
    let annotation = raw["annotations"]["io.backstage.dynamic-packages"].as_str().unwrap();
    let decoded: Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(annotation).unwrap()).unwrap();
    assert_eq!(decoded[0]["internal-plugin-hello-backend"]["name"], "@internal/plugin-hello-backend-dynamic");
    assert_eq!(decoded[0]["internal-plugin-hello-backend"]["backstage"]["role"], "backend-plugin");

    // A source-only change upstream (same lockfile and manifests): the second export of the
    // workspace gets its install back from the package cache, and Yarn finds nothing to fetch or
    // link (its own "Already up-to-date", which it prints only when the installed tree matches the
    // lockfile).
    let backend_source = upstream.join("workspaces/hello-real/plugins/hello-backend/src/plugin.ts");
    let source_text = std::fs::read_to_string(&backend_source).unwrap();
    write(
        &upstream,
        &[("workspaces/hello-real/plugins/hello-backend/src/plugin.ts", &format!("{source_text}// changed\n"))],
    );
    crate::support::upstreams::commit(&upstream, "a source-only change");
    crate::support::upstreams::git(&upstream, &["tag", "v1.0.1"]);
    write(&overlay, &[("workspaces/hello-real/source.json", &source.replace("v1.0.0", "v1.0.1"))]);
    crate::support::upstreams::commit(&overlay, "the upstream moved");
    let output = rhdh_catalog(root).arg("fetch").arg("--tree").arg(&tree).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (output, second_took) = export();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value =
        serde_json::from_slice(&std::fs::read(tree.join("export-report.json")).unwrap_or_default()).unwrap_or_default();
    assert!(output.status.success(), "{stderr}\n{report:#}");
    assert!(
        stderr.contains("package cache") && stderr.contains("restored=") && !stderr.contains("restored=0"),
        "the install was not restored from the package cache: {stderr}"
    );
    let plugins = report["workspaces"]["hello-real"]["plugins"].as_array().unwrap();
    assert!(plugins.iter().all(|plugin| plugin["status"] == "exported"), "{report:#}");
    let build_log = std::fs::read_to_string(work.join("hello-real/logs/build.log")).unwrap();
    let install = build_log.split("$ yarn tsc").next().unwrap_or_default();
    assert!(install.contains("Already up-to-date"), "the install did work again: {install}");
    eprintln!(
        "real exporter, workspace hello-real: first export (empty package cache) {:.1} s, second export after a source-only change {:.1} s: {:.1}× faster",
        first_took.as_secs_f64(),
        second_took.as_secs_f64(),
        first_took.as_secs_f64() / second_took.as_secs_f64().max(0.001)
    );
}
