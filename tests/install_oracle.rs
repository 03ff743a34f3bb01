//! The real RHDH installers judge the indexes we build (harness: `support/installers.rs`).
//!
//! Every test builds plugin images with `rhdh-catalog package` on a loopback registry, indexes them
//! with `rhdh-catalog index --registry <loopback>/…` (so the references in the index resolve there),
//! publishes the index image with `rhdh-catalog publish`, and runs both installers against it:
//! - the bundled example;
//! - the real overlay data (`reference-data/overlays-main`) in both `--dpdy-style`s, with a small
//!   fake export standing in for every image the index pins (the real ones are on ghcr.io);
//! - negative cases: an image with a file over 40 MB, and an image whose layer lacks its plugin
//!   folder, must be reported as not installed, by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use crate::support::installers::{
    Enable, IndexUnderTest, InstallRun, Installer, Source, assert_every_plugin_installed, image_name,
};
use crate::support::{
    PUBLISH_FACTS, Registry, example_overlay, publish_example_images, reference_data, rhdh_catalog, unique_namespace,
    write_dist_dynamic,
};

/// `rhdh-catalog index` on `overlay` against the loopback registry, then `publish`; returns the
/// index image by tag (what `CATALOG_INDEX_IMAGE` names in a deployment).
fn index_and_publish(
    work: &Path,
    registry: &Registry,
    overlay: &Path,
    index_args: &[&str],
    repository: &str,
) -> String {
    let output = rhdh_catalog(work)
        .current_dir(work)
        .arg("index")
        .args(index_args)
        .arg("--overlay")
        .arg(overlay)
        .args(["--store", &format!("docker://{}", registry.host), "--insecure-registry", &registry.host])
        .args(["--overlay-commit", "0123456789abcdef0123456789abcdef01234567"])
        .args(["--source-repo", "https://example.test/overlay"])
        .output()
        .unwrap();
    assert!(output.status.success(), "index failed: {}", String::from_utf8_lossy(&output.stderr));
    let image = format!("{repository}:1.10.0-1");
    let output = rhdh_catalog(work)
        .arg("publish")
        .arg(work.join("catalog-index"))
        .args(["--tag", &image])
        .args(PUBLISH_FACTS)
        .args(["--store", &format!("docker://{}", registry.host), "--insecure-registry", &registry.host])
        .output()
        .unwrap();
    assert!(output.status.success(), "publish failed: {}", String::from_utf8_lossy(&output.stderr));
    image
}

/// The plugins `index` plans with `index_args` (`index --dry-run --output-format json`).
fn plan(work: &Path, overlay: &Path, index_args: &[&str]) -> Vec<Value> {
    let output = rhdh_catalog(work)
        .arg("index")
        .args(index_args)
        .arg("--overlay")
        .arg(overlay)
        .args(["--dry-run", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "index --dry-run failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice::<Value>(&output.stdout).unwrap().as_array().unwrap().clone()
}

/// For every planned plugin, a small export (package.json and one file) packaged under its planned
/// reference on the loopback registry.
fn package_planned_images(work: &Path, registry: &Registry, plan: &[Value]) {
    let exports = work.join("exports");
    for plugin in plan {
        let image = plugin["image"].as_str().unwrap();
        let reference = plugin["reference"].as_str().unwrap();
        let tag = reference.rsplit_once(':').unwrap().1;
        // `<rhdh>--<version>` or `bs_<backstage>__<version>`.
        let version = tag.rsplit_once("--").or_else(|| tag.rsplit_once("__")).map_or(tag, |(_, version)| version);
        let role = if image.contains("backend") { "backend-plugin" } else { "frontend-plugin" };
        let dir = exports.join(image);
        write_dist_dynamic(&dir, plugin["package"].as_str().unwrap(), version, role);
        let output = rhdh_catalog(work)
            .arg("package")
            .arg(&dir)
            .args(["--tag", reference, "--store", &format!("docker://{}", registry.host)])
            .args(["--insecure-registry", &registry.host])
            .output()
            .unwrap();
        assert!(output.status.success(), "package {image}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

fn report(label: &str, runs: &[InstallRun]) {
    for run in runs {
        eprintln!("{label}: {}", run.summary());
    }
}

/// Every plugin of index.json has an enabled reference that both installers installed.
fn assert_every_index_plugin_covered(index: &IndexUnderTest, runs: &[InstallRun]) {
    let mut missing = Vec::new();
    for (plugin, entry) in index.index_json.as_object().unwrap() {
        let reference = entry["registryReference"].as_str().unwrap();
        for run in runs {
            if !run.plugins.iter().any(|result| result.entry.reference() == reference && result.installed()) {
                missing.push(format!("{plugin} ({reference}) not installed by {}", run.installer.name()));
            }
        }
    }
    assert!(missing.is_empty(), "index.json plugins the installers did not install:\n{}", missing.join("\n"));
}

#[test]
fn example_index_installs_every_plugin_with_both_installers() {
    let work = tempfile::tempdir().unwrap();
    let (registry, image) = published_example(work.path(), |_, _| {});

    let index = IndexUnderTest::pull(&image, &registry.host, Enable::EveryPin);
    // 4 active OCI entries, 3 wrappers with their OCI line commented above them.
    let sources: Vec<Source> = index.oci.iter().map(|entry| entry.source).collect();
    assert_eq!(sources.iter().filter(|source| **source == Source::Active).count(), 4, "{}", index.default_yaml);
    assert_eq!(sources.iter().filter(|source| **source == Source::Commented).count(), 3, "{}", index.default_yaml);
    assert_eq!(index.wrappers.len(), 3, "{}", index.default_yaml);

    let runs = index.install_with_both();
    report("example", &runs);
    assert_every_plugin_installed(&runs);
    assert_every_index_plugin_covered(&index, &runs);
    for run in &runs {
        assert_eq!(run.plugins.len(), 7, "{}", run.summary());
        assert!(run.root.join("app-config.dynamic-plugins.yaml").is_file(), "{}", run.summary());
    }
}

// --- the real overlay data

fn real_overlay() -> PathBuf {
    reference_data().join("overlays-main")
}

/// `spec.packageName` → `spec.dynamicArtifact` of every Package in the overlay's metadata.
fn dynamic_artifacts() -> BTreeMap<String, String> {
    let mut artifacts = BTreeMap::new();
    for workspace in std::fs::read_dir(real_overlay().join("workspaces")).unwrap() {
        let metadata = workspace.unwrap().path().join("metadata");
        let Ok(files) = std::fs::read_dir(&metadata) else { continue };
        for file in files {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|extension| extension != "yaml") {
                continue;
            }
            let document: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            if let (Some(package), Some(artifact)) =
                (document["spec"]["packageName"].as_str(), document["spec"]["dynamicArtifact"].as_str())
            {
                artifacts.insert(package.to_string(), artifact.to_string());
            }
        }
    }
    artifacts
}

/// Fake images for every plugin of the real overlay, the index in `style`, published.
struct RealIndex {
    _work: tempfile::TempDir,
    registry: Registry,
    image: String,
    /// image name → npm package name.
    packages: BTreeMap<String, String>,
}

fn real_index(style: &str) -> RealIndex {
    let registry = Registry::shared();
    let work = tempfile::tempdir().unwrap();
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    // The OCI flavour as the public overlay images are tagged (bs_<backstage>__<version>), the
    // wrapper flavour as the midstream tags them (<rhdh>--<version>).
    let scheme: &[&str] = if style == "oci" {
        &["--tag-scheme", "backstage"]
    } else {
        &["--tag-scheme", "rhdh", "--rhdh-version", "1.10.0"]
    };
    let args: Vec<&str> = [&["--registry", prefix.as_str(), "--dpdy-style", style][..], scheme].concat();
    let planned = plan(work.path(), &real_overlay(), &args);
    assert_eq!(planned.len(), 54, "the real overlay plans 54 plugin images");
    package_planned_images(work.path(), &registry, &planned);
    let image =
        index_and_publish(work.path(), &registry, &real_overlay(), &args, &format!("{prefix}/plugin-catalog-index"));
    let packages = planned
        .iter()
        .map(|plugin| (plugin["image"].as_str().unwrap().to_string(), plugin["package"].as_str().unwrap().to_string()))
        .collect();
    RealIndex { _work: work, registry, image, packages }
}

/// The plugins the RHDH image does not ship as a `./dynamic-plugins/dist/` wrapper (their metadata
/// says `spec.dynamicArtifact: oci://…`) can only be installed from an active OCI entry of the
/// index: each must have one that every installer installed. A wrapper entry must be the one the
/// metadata names. Returns the problems, one line per plugin.
fn oci_only_plugin_problems(real: &RealIndex, index: &IndexUnderTest, runs: &[InstallRun]) -> Vec<String> {
    let artifacts = dynamic_artifacts();
    let artifact_of = |image: &str| real.packages.get(image).and_then(|package| artifacts.get(package)).cloned();
    let not_installed_by = |image: &str| -> Vec<&str> {
        runs.iter()
            .filter(|run| {
                !run.plugins.iter().any(|result| {
                    result.entry.source == Source::Active && result.entry.image_name() == image && result.installed()
                })
            })
            .map(|run| run.installer.name())
            .collect()
    };
    let mut problems = Vec::new();
    for entry in index.oci.iter().filter(|entry| entry.source == Source::Active) {
        let image = entry.image_name();
        let Some(artifact) = artifact_of(image) else { continue };
        let missed = not_installed_by(image);
        if !artifact.starts_with("./dynamic-plugins/dist/") && !missed.is_empty() {
            problems.push(format!(
                "{image}: the active entry {} was not installed by {}",
                entry.package,
                missed.join(", ")
            ));
        }
    }
    for wrapper in &index.wrappers {
        let Some(alternative) = &wrapper.alternative else {
            problems.push(format!("{}: a wrapper entry with no OCI line commented above it", wrapper.package));
            continue;
        };
        let image = image_name(alternative.trim_start_matches("oci://"));
        match artifact_of(image) {
            None => {
                problems.push(format!("{image}: wrapper {} for a plugin with no Package metadata", wrapper.package));
            }
            Some(artifact) if artifact == wrapper.package => {}
            Some(artifact) if artifact.starts_with("./dynamic-plugins/dist/") => problems.push(format!(
                "{image}: the index lists the wrapper {}, the RHDH image ships {artifact}",
                wrapper.package
            )),
            Some(artifact) => problems.push(format!(
                "{image} (spec.dynamicArtifact: {artifact}): the index lists it only as the wrapper {}, which the RHDH \
                 image does not ship, so {} installed it (its pinned image is only in a comment: {alternative})",
                wrapper.package,
                if not_installed_by(image).len() == runs.len() { "neither installer" } else { "not every installer" },
            )),
        }
    }
    problems
}

#[test]
fn real_overlay_oci_flavour_installs_every_plugin_with_both_installers() {
    let real = real_index("oci");
    let index = IndexUnderTest::pull(&real.image, &real.registry.host, Enable::EveryPin);
    let count = |source: Source| index.oci.iter().filter(|entry| entry.source == source).count();
    eprintln!(
        "real overlay, oci flavour: {} active OCI entries, {} wrappers (OCI line commented), {} index.json-only pins",
        count(Source::Active),
        index.wrappers.len(),
        count(Source::IndexOnly)
    );
    let runs = index.install_with_both();
    report("real overlay, oci flavour", &runs);
    assert_every_plugin_installed(&runs);
    assert_every_index_plugin_covered(&index, &runs);
    let problems = oci_only_plugin_problems(&real, &index, &runs);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// With every wrapper's commented OCI line enabled (the hint in the file), every pin of the wrapper
/// flavour installs.
#[test]
fn real_overlay_wrapper_flavour_pins_install_when_the_hint_is_followed() {
    let real = real_index("wrapper");
    let index = IndexUnderTest::pull(&real.image, &real.registry.host, Enable::EveryPin);
    let runs = index.install_with_both();
    report("real overlay, wrapper flavour, every pin", &runs);
    assert_every_plugin_installed(&runs);
    assert_every_index_plugin_covered(&index, &runs);
}

/// What an RHDH user gets from the wrapper flavour: every OCI-only plugin must be an active OCI entry
/// the installers install; only the wrappers the RHDH image ships may be wrapper entries.
#[test]
fn real_overlay_wrapper_flavour_installs_oci_only_plugins_from_active_entries() {
    let real = real_index("wrapper");
    let index = IndexUnderTest::pull(&real.image, &real.registry.host, Enable::ActiveEntries);
    let runs = index.install_with_both();
    report("real overlay, wrapper flavour, active entries", &runs);
    let mut problems = oci_only_plugin_problems(&real, &index, &runs);
    for run in &runs {
        problems.extend(run.problems().into_iter().map(|problem| format!("{}: {problem}", run.installer.name())));
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

// --- verify-install: the same check as a step of the release pipeline

/// `verify-install` with both real installers on `image`; returns the output and the report.
fn verify_install(work: &Path, registry: &Registry, image: &str) -> (std::process::Output, serde_json::Value) {
    let report = work.join("verify-install.json");
    let output = rhdh_catalog(work)
        .args(["verify-install", image, "--report"])
        .arg(&report)
        .args(["--installer", &Installer::Python.shell_command(), "--installer", &Installer::Node.shell_command()])
        .args(["--store", &format!("docker://{}", registry.host), "--insecure-registry", &registry.host])
        .output()
        .unwrap();
    let report = std::fs::read(&report).map(|bytes| serde_json::from_slice(&bytes).unwrap()).unwrap_or_default();
    (output, report)
}

#[test]
fn verify_install_installs_the_example_with_both_installers() {
    let work = tempfile::tempdir().unwrap();
    let (registry, image) = published_example(work.path(), |_, _| {});
    let started = std::time::Instant::now();
    let (output, report) = verify_install(work.path(), &registry, &image);
    eprintln!("verify-install of the example with both installers: {:.1}s", started.elapsed().as_secs_f64());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(report["passed"], true, "{report:#}");
    let installers = report["installers"].as_array().unwrap();
    // Both installers, each twice: the active entries, then the commented OCI alternatives.
    assert_eq!(installers.len(), 4, "{report:#}");
    for installer in installers {
        let plugins = installer["plugins"].as_object().unwrap();
        let expected = if installer["pass"] == "active" { 4 } else { 3 };
        assert_eq!(plugins.len(), expected, "the example's four active OCI entries, three alternatives: {installer:#}");
        assert!(plugins.values().all(|verdict| verdict == "installed"), "{installer:#}");
        assert_eq!(installer["entities-extracted"], true);
    }
    assert!(stdout.contains("4/4 plugins installed"), "{stdout}");
    assert!(stdout.contains("(commented OCI alternatives): 3/3 plugins installed"), "{stdout}");
}

/// `verify-install` on the real overlay data, both flavours, both installers: every active OCI
/// entry installs (the wrapper flavour's wrappers are listed disabled: they live in the RHDH image).
#[test]
fn verify_install_installs_the_real_overlay_in_both_flavours() {
    for (style, active) in [("oci", 50), ("wrapper", 50)] {
        let real = real_index(style);
        let work = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let (output, report) = verify_install(work.path(), &real.registry, &real.image);
        eprintln!(
            "verify-install of the real overlay, {style} flavour, both installers: {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{style}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        for installer in report["installers"].as_array().unwrap() {
            let plugins = installer["plugins"].as_object().unwrap();
            // The second pass: the three extensions wrappers' commented OCI lines.
            let expected = if installer["pass"] == "active" { active } else { 3 };
            assert_eq!(plugins.len(), expected, "{style}: every active OCI entry, every alternative: {installer:#}");
            assert!(plugins.values().all(|verdict| verdict == "installed"), "{style}: {installer:#}");
            eprintln!("  {} ({}): {} ms", installer["installer"], installer["pass"], installer["elapsed-ms"]);
        }
        assert_eq!(report["installers"].as_array().unwrap().len(), 4, "{style}: two installers, two passes");
    }
}

#[test]
fn verify_install_fails_naming_a_plugin_whose_layer_lacks_its_folder() {
    let work = tempfile::tempdir().unwrap();
    let (registry, image) = published_example(work.path(), |registry, reference| {
        let annotation = serde_json::json!([{"backstage-community-plugin-tech-radar": {"version": "1.20.0"}}]);
        push_image_without_its_folder(registry, reference, &annotation);
    });
    let (output, report) = verify_install(work.path(), &registry, &image);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not installed: backstage-community-plugin-tech-radar"), "{stderr}");
    assert_eq!(report["passed"], false);
    for installer in report["installers"].as_array().unwrap().iter().filter(|installer| installer["pass"] == "active") {
        let verdict = &installer["plugins"]["backstage-community-plugin-tech-radar"];
        assert!(
            verdict["not-installed"]["missing"]
                .as_array()
                .unwrap()
                .iter()
                .any(|path| path == "backstage-community-plugin-tech-radar/package.json"),
            "{installer:#}"
        );
    }
}

/// The second pass installs what users are told to switch to: a commented OCI alternative whose
/// image lacks its plugin folder fails verify-install, named with the pass, although every active
/// entry installs.
#[test]
fn verify_install_fails_naming_a_commented_alternative_that_does_not_install() {
    let work = tempfile::tempdir().unwrap();
    let (registry, image) = published_example(work.path(), |registry, tech_radar| {
        let prefix = tech_radar.rsplit_once('/').unwrap().0;
        let reference = format!("{prefix}/red-hat-developer-hub-backstage-plugin-extensions:1.10.0--0.19.1");
        let annotation = serde_json::json!([{"red-hat-developer-hub-backstage-plugin-extensions": {
            "name": "@red-hat-developer-hub/backstage-plugin-extensions-dynamic", "version": "0.19.1"}}]);
        push_image_without_its_folder(registry, &reference, &annotation);
    });
    let (output, report) = verify_install(work.path(), &registry, &image);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for installer in [Installer::Python, Installer::Node] {
        let expected = format!(
            "{} (commented OCI alternatives): not installed: red-hat-developer-hub-backstage-plugin-extensions",
            installer.shell_command()
        );
        assert!(stderr.contains(&expected), "stderr lacks {expected:?}:\n{stderr}");
    }
    let installers = report["installers"].as_array().unwrap();
    for installer in installers {
        let failed: Vec<&String> = installer["plugins"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, verdict)| **verdict != "installed")
            .map(|(image, _)| image)
            .collect();
        if installer["pass"] == "active" {
            assert!(failed.is_empty(), "every active entry installs: {installer:#}");
        } else {
            assert_eq!(failed, ["red-hat-developer-hub-backstage-plugin-extensions"], "{installer:#}");
        }
    }
}

// --- the oracle can fail

/// The example's images, tech-radar's then handed to `replace` (its reference), indexed and
/// published; returns the registry and the index image.
/// Pushes to `reference` an image whose annotation says `annotation` (naming a plugin folder) and
/// whose one layer holds another folder: what an installer must not report installed.
fn push_image_without_its_folder(registry: &Registry, reference: &str, annotation: &Value) {
    use rhdh_catalog::io::registry::image::{ImageSpec, LayerFile, build_image, push_image};
    use rhdh_catalog::io::registry::{ClientOptions, ImageReference, Store};
    let spec = ImageSpec {
        files: vec![LayerFile {
            path: "some-other-folder/package.json".into(),
            contents: br#"{"name":"some-other-folder","version":"1.0.0"}"#.to_vec(),
            ..LayerFile::default()
        }],
        annotations: [(
            "io.backstage.dynamic-packages".to_string(),
            base64::engine::general_purpose::STANDARD.encode(annotation.to_string()),
        )]
        .into_iter()
        .collect(),
        ..ImageSpec::default()
    };
    let store = Store::parse(
        Some(&format!("docker://{}", registry.host)),
        &ClientOptions { insecure_registries: vec![registry.host.clone()], ..ClientOptions::default() },
    )
    .unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(push_image(&store, &ImageReference::parse(reference).unwrap(), &build_image(&spec).unwrap()))
        .unwrap();
}

fn published_example(work: &Path, replace: impl FnOnce(&Registry, &str)) -> (Registry, String) {
    let registry = Registry::shared();
    let overlay = example_overlay(work);
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    publish_example_images(work, &overlay, &prefix, &format!("docker://{}", registry.host), Some(&registry.host));
    replace(&registry, &format!("{prefix}/backstage-community-plugin-tech-radar:1.10.0--1.20.0"));
    let image = index_and_publish(
        work,
        &registry,
        &overlay,
        &["--registry", &prefix, "--rhdh-version", "1.10.0"],
        &format!("{prefix}/plugin-catalog-index"),
    );
    (registry, image)
}

/// The message [`assert_every_plugin_installed`] panics with.
fn assertion_message(runs: &[InstallRun]) -> String {
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| assert_every_plugin_installed(runs)))
        .expect_err("the assertion must fail");
    panic.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn a_file_over_40_mb_fails_both_installers_naming_the_plugin() {
    let work = tempfile::tempdir().unwrap();
    let (registry, image) = published_example(work.path(), |registry, reference| {
        let dir = work.path().join("oversized");
        write_dist_dynamic(&dir, "@backstage-community/plugin-tech-radar", "1.20.0", "frontend-plugin");
        // One byte over the installers' 40 MB (40 000 000 bytes) entry limit; zeros compress to nothing.
        std::fs::write(dir.join("dist/oversized.bin"), vec![0u8; 40_000_001]).unwrap();
        let output = rhdh_catalog(work.path())
            .arg("package")
            .arg(&dir)
            .args(["--tag", reference, "--store", &format!("docker://{}", registry.host)])
            .args(["--insecure-registry", &registry.host])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    });
    let index = IndexUnderTest::pull(&image, &registry.host, Enable::EveryPin);
    let runs = index.install_with_both();
    report("oversized file", &runs);
    for run in &runs {
        assert!(!run.succeeded(), "{} accepted a file over 40 MB: {}", run.installer.name(), run.summary());
        let bad = run.result_of("backstage-community-plugin-tech-radar").unwrap();
        assert!(!bad.installed(), "{}: {}", run.installer.name(), run.summary());
        assert!(
            bad.errors.iter().any(|line| line.contains("Zip bomb detected") && line.contains("oversized.bin")),
            "{} names tech-radar's oversized file: {:?}\n{}",
            run.installer.name(),
            bad.errors,
            run.tail(20)
        );
    }
    // The Node installer goes on after a failure: everything else installed.
    let node = runs.iter().find(|run| run.installer == Installer::Node).unwrap();
    let others: Vec<String> = node.not_installed().iter().map(|result| result.entry.image_name().to_string()).collect();
    assert_eq!(others, ["backstage-community-plugin-tech-radar"], "{}", node.summary());
    let message = assertion_message(&runs);
    for expected in [
        "install-dynamic-plugins.py",
        "install-dynamic-plugins.cjs",
        "backstage-community-plugin-tech-radar@sha256:",
        "Zip bomb detected",
    ] {
        assert!(message.contains(expected), "the assertion message names {expected}: {message}");
    }
}

#[test]
fn a_layer_without_its_plugin_folder_is_reported_not_installed() {
    let work = tempfile::tempdir().unwrap();
    let (registry, image) = published_example(work.path(), |registry, reference| {
        // The annotation names the folder, the layer holds another one.
        let annotation = serde_json::json!([{"backstage-community-plugin-tech-radar": {
            "name": "@backstage-community/plugin-tech-radar-dynamic", "version": "1.20.0"}}]);
        push_image_without_its_folder(registry, reference, &annotation);
    });
    let index = IndexUnderTest::pull(&image, &registry.host, Enable::EveryPin);
    let runs = index.install_with_both();
    report("layer without its folder", &runs);
    for run in &runs {
        // Both installers exit 0 here and leave an empty folder with the image hash; the harness's
        // package.json check is what catches it.
        let bad = run.result_of("backstage-community-plugin-tech-radar").unwrap();
        assert!(!bad.package_json && !bad.installed(), "{}: {:?}", run.installer.name(), bad);
        eprintln!(
            "layer without its folder: {} exit {:?}, image hash written: {}",
            run.installer.name(),
            run.exit_code,
            bad.image_hash
        );
    }
    let message = assertion_message(&runs);
    assert!(
        message.contains("backstage-community-plugin-tech-radar@sha256:") && message.contains("no package.json"),
        "the assertion message names the plugin and what is missing: {message}"
    );
}

// --- both catalogs, end to end (issue 21)

/// The example's `sync`, against a real registry, builds and publishes both catalogs (the
/// community one from the plugins the upstream's registry holds, with that registry's tag scheme),
/// and `verify-install` with both real installers installs the index with the community image as
/// `EXTRA_CATALOG_INDEX_IMAGES`: every plugin of both passes, and every community entity where the
/// installers extract it.
#[test]
fn example_sync_publishes_both_catalogs_and_both_installers_install_them_together() {
    let registry = Registry::shared();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let prefix = format!("{}/{}", registry.host, unique_namespace());
    let overlays = format!("{prefix}/overlays");
    let pushed = crate::support::community_images(
        root,
        &root.join("overlay"),
        &format!("docker://{}", registry.host),
        Some(&overlays),
        Some(&registry.host),
    );
    assert_eq!(pushed.len(), 3, "{pushed:?}");
    let index_image = format!("{prefix}/plugin-catalog-index");
    let community_image = format!("{prefix}/plugin-catalog-index-community");
    let output = rhdh_catalog(root)
        .env("GIT_AUTHOR_NAME", "sync")
        .env("GIT_AUTHOR_EMAIL", "sync@example.test")
        .env("GIT_COMMITTER_NAME", "sync")
        .env("GIT_COMMITTER_EMAIL", "sync@example.test")
        .env("RHDH_CATALOG_INSECURE_REGISTRIES", &registry.host)
        .arg("sync")
        .arg("--tree")
        .arg(&midstream)
        .arg("--out")
        .arg(root.join("out/sync"))
        .args(["--store", "docker://", "--registry", &format!("{prefix}/rhdh"), "--index-image", &index_image])
        .arg("--exporter")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-exporter.sh"))
        .args(["--install-command", "true", "--tsc-command", "true"])
        .args(["--param", "publish=true", "--param", &format!("community-registry={overlays}")])
        .args(["--param", "community-tag-scheme=backstage"])
        .args(["--param", &format!("community-index-image={community_image}")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for task in ["publish ", "publish-community "] {
        let line = stdout.lines().find(|line| line.trim_start().starts_with(task)).unwrap_or_default();
        assert!(line.contains("Succeeded"), "{task}: {stdout}");
    }
    let (index, community) = (format!("{index_image}:1.10.0-1"), format!("{community_image}:1.10.0-1"));
    let inspect = |image: &str| -> Value {
        serde_json::from_str(&crate::support::skopeo(&["inspect", "--tls-verify=false", &format!("docker://{image}")]))
            .unwrap()
    };
    let community_labels = inspect(&community)["Labels"].clone();
    assert_eq!(community_labels["release"], "1", "{community_labels}");
    assert!(community_labels["summary"].as_str().unwrap().contains("EXTRA_CATALOG_INDEX_IMAGES"));
    assert_eq!(inspect(&index)["Labels"]["name"], "rhdh/plugin-catalog-index");
    // The documentation team extracts `extend_dynamic-plugins-reference/` from the index image.
    let files = image_files(&index);
    for name in ["rhdh-supported-plugins.csv", "ref-ga-plugins.adoc", "ref-community-supported-plugins.adoc"] {
        let path = format!("extend_dynamic-plugins-reference/{name}");
        assert!(files.contains(&path), "{index} lacks {path}: {files:?}");
    }
    assert!(!image_files(&community).iter().any(|file| file.starts_with("extend_")), "only in the supported image");

    let work = tempfile::tempdir().unwrap();
    let report_path = work.path().join("verify-install.json");
    let output = rhdh_catalog(work.path())
        .args(["verify-install", &index, "--extra-catalog-images", &format!("community={community}")])
        .arg("--report")
        .arg(&report_path)
        .args(["--installer", &Installer::Python.shell_command(), "--installer", &Installer::Node.shell_command()])
        .args(["--store", &format!("docker://{}", registry.host), "--insecure-registry", &registry.host])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let installers = report["installers"].as_array().unwrap();
    assert_eq!(installers.len(), 4, "{report:#}");
    let entity_files =
        crate::support::files_under(&midstream.join("catalog-index-community/catalog-entities/extensions"));
    for installer in installers {
        assert!(
            installer["plugins"].as_object().unwrap().values().all(|verdict| verdict == "installed"),
            "{installer:#}"
        );
        if installer["pass"] == "active" {
            assert_eq!(
                installer["extra-catalogs"]["community"]["extracted"]["files"],
                entity_files.len(),
                "{installer:#}"
            );
        }
    }
    assert!(stdout.contains("extra catalogs 1/1 extracted"), "{stdout}");
    eprintln!("example sync, both catalogs, both installers: {stdout}");
}

/// The files of an image's layers (what `tar -t` lists), from the loopback registry.
fn image_files(image: &str) -> Vec<String> {
    let (_scratch, copied, manifest) = crate::support::installers::copy_image(image);
    let mut files = Vec::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let blob = copied.join(layer["digest"].as_str().unwrap().split_once(':').unwrap().1);
        let output = std::process::Command::new("tar").arg("-tf").arg(&blob).output().unwrap();
        assert!(output.status.success());
        files.extend(
            String::from_utf8_lossy(&output.stdout).lines().map(|line| line.trim_start_matches("./").to_string()),
        );
    }
    files
}
