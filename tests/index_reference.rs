//! Differential test on real data: `index` over `reference-data/overlays-main` against a real
//! registry holding an image for every tag the upstream plugin builds name (with the build labels,
//! environment and annotation those images carried), compared with `reference-data/catalog-index-main`
//! with digests normalised.
//!
//! Deliberate differences, each asserted below:
//! - DPDY entries say `disabled: <bool>` where the upstream says `enabled: <bool>` (both RHDH
//!   installers read `disabled`; the Python one ignores `enabled`).
//! - Entries without a build date get `# Tag: <tag>` (the upstream writes no comment).
//! - The DPDY header is ours, and wrapper entries carry our hint wording.
//! - `build-info.json` has no `build-date` (no SOURCE_DATE_EPOCH given) and names more inputs.
//! - Two `workspacePath`s of the `extensions` workspace are corrected: the upstream matcher pairs
//!   the abbreviated entity names with the wrong plugin folders (see [`CORRECTED_WORKSPACE_PATHS`]).

/// (image, upstream workspacePath, ours).
const CORRECTED_WORKSPACE_PATHS: [(&str, &str, &str); 2] = [
    (
        "red-hat-developer-hub-backstage-plugin-catalog-backend-module-extensions",
        "extensions/plugins/extensions",
        "extensions/plugins/catalog-backend-module-extensions",
    ),
    (
        "red-hat-developer-hub-backstage-plugin-extensions",
        "extensions/plugins/catalog-backend-module-extensions",
        "extensions/plugins/extensions",
    ),
];

/// The upstream value with our deliberate corrections applied.
fn corrected(image: &str, upstream: &mut Value) {
    for (corrected_image, theirs, ours) in CORRECTED_WORKSPACE_PATHS {
        if image == corrected_image {
            assert_eq!(upstream["workspacePath"], theirs, "{image}: upstream value changed; revisit the correction");
            upstream["workspacePath"] = Value::String(ours.to_string());
        }
    }
}

use std::collections::BTreeMap;
use std::path::Path;

use rhdh_catalog::io::registry::image::{ImageSpec, LayerFile, build_image, push_image};
use rhdh_catalog::io::registry::{ClientOptions, Digest, ImageReference, Store};
use serde_json::Value;

use crate::support::{Registry, copy_dir, files_under, reference_data, rhdh_catalog};

const PREFIX: &str = "ghcr.io/redhat-developer/rhdh-plugin-export-overlays";

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))).unwrap()
}

fn read_yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Pushes one image per upstream plugin build of the supported catalog, carrying that build's
/// metadata; returns the digest pushed for each image name.
fn populate(registry: &Registry) -> BTreeMap<String, Digest> {
    populate_tier(registry, "supported", &|build| Some(build["registryReference"].as_str().unwrap().to_string()))
}

/// The upstream plugin builds of `tier` (`supported`, `community`): image name → build.
fn upstream_builds(tier: &str) -> BTreeMap<String, Value> {
    let builds = reference_data().join("catalog-index-main/plugin_builds").join(tier);
    files_under(&builds)
        .into_iter()
        .map(|file| {
            let document = read_json(&builds.join(&file));
            let (image, build) = document.as_object().unwrap().iter().next().unwrap();
            (image.clone(), build.clone())
        })
        .collect()
}

fn store_of(registry: &Registry) -> Store {
    Store::parse(
        Some(&format!("docker://{}", registry.host)),
        &ClientOptions { insecure_registries: vec![registry.host.clone()], ..ClientOptions::default() },
    )
    .unwrap()
}

/// Pushes one image per upstream plugin build of `tier`, carrying that build's metadata, under the
/// reference `reference_of` gives it (none: not pushed); returns the digest pushed for each image.
fn populate_tier(
    registry: &Registry,
    tier: &str,
    reference_of: &dyn Fn(&Value) -> Option<String>,
) -> BTreeMap<String, Digest> {
    let store = store_of(registry);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut pushed = BTreeMap::new();
    for (image, build) in upstream_builds(tier) {
        let Some(reference) = reference_of(&build) else { continue };
        let digest = runtime.block_on(push_build(&store, &image, &build, &reference));
        pushed.insert(image, digest);
    }
    pushed
}

/// One image standing in for an upstream plugin build: its labels, environment and annotation.
async fn push_build(store: &Store, image: &str, build: &Value, reference: &str) -> Digest {
    let field = |key: &str| build.get(key).and_then(Value::as_str).map(str::to_string);
    let mut spec = ImageSpec {
        files: vec![LayerFile {
            path: format!("{image}/package.json"),
            contents: format!("{{\"name\":\"{image}\"}}").into_bytes(),
            ..LayerFile::default()
        }],
        ..ImageSpec::default()
    };
    for (label, key) in [("build-date", "build-date"), ("vcs-ref", "vcs-ref")] {
        if let Some(value) = field(key) {
            spec.labels.insert(label.to_string(), value);
        }
    }
    for (variable, key) in [("UPSTREAM_REPO", "upstream"), ("MIDSTREAM_REPO", "midstream")] {
        if let Some(value) = field(key) {
            spec.env.push(format!("{variable}={value}"));
        }
    }
    if let Some(value) = field("io.backstage.dynamic-packages") {
        spec.annotations.insert("io.backstage.dynamic-packages".into(), value);
    }
    let reference = ImageReference::parse(reference).unwrap();
    let image_bytes = build_image(&spec).unwrap();
    push_image(store, &reference, &image_bytes).await.unwrap()
}

fn run_index(registry: &Registry, work: &Path) {
    run_index_with(registry, work, &[]);
}

fn run_index_with(registry: &Registry, work: &Path, extra: &[&str]) {
    let output = index_output(registry, work, &reference_data().join("overlays-main"), extra);
    assert!(output.status.success(), "index failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// `index` of `overlay` (the real overlay or a changed copy) against `registry`, in `work`.
fn index_output(registry: &Registry, work: &Path, overlay: &Path, extra: &[&str]) -> std::process::Output {
    let commit = std::fs::read_to_string(reference_data().join("overlays-main/SOURCE_COMMIT")).unwrap();
    rhdh_catalog(work)
        .current_dir(work)
        .args(["index", "--registry", PREFIX, "--insecure-registry", &registry.host])
        .arg("--store")
        .arg(format!("docker://{}", registry.host))
        .arg("--overlay")
        .arg(overlay)
        .args(["--overlay-commit", commit.split_whitespace().next().unwrap()])
        .args([
            "--source-repo",
            "https://github.com/redhat-developer/rhdh-plugin-export-overlays",
            "--report",
            "report.json",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// The `dynamicArtifact` of every metadata package of the real overlay, by npm name.
fn artifacts_by_package() -> BTreeMap<String, String> {
    let mut artifacts = BTreeMap::new();
    for workspace in std::fs::read_dir(reference_data().join("overlays-main/workspaces")).unwrap() {
        for file in std::fs::read_dir(workspace.unwrap().path().join("metadata")).into_iter().flatten() {
            let metadata = read_yaml(&file.unwrap().path());
            if let (Some(name), Some(artifact)) =
                (metadata["spec"]["packageName"].as_str(), metadata["spec"]["dynamicArtifact"].as_str())
            {
                artifacts.insert(name.to_string(), artifact.to_string());
            }
        }
    }
    artifacts
}

/// The midstream flavour on real data: an entry is a `./dynamic-plugins/dist/` wrapper exactly when
/// the plugin's metadata names a wrapper (an `oci://` artifact has no wrapper in the RHDH image), and
/// every OCI reference in the file, active or commented, is pinned by digest.
#[test]
fn wrapper_flavour_on_real_data_uses_wrappers_only_where_the_metadata_names_one() {
    // A registry of its own: the real overlay's repository names are fixed, and the other test of
    // this file pushes the same ones to the shared registry at the same time.
    let registry = Registry::start();
    populate(&registry);
    let work = tempfile::tempdir().unwrap();
    run_index_with(&registry, work.path(), &["--dpdy-style", "wrapper"]);
    let dpdy_path = work.path().join("catalog-index/dynamic-plugins.default.yaml");
    let text = std::fs::read_to_string(&dpdy_path).unwrap();
    let entries = read_yaml(&dpdy_path)["plugins"].as_array().unwrap().clone();
    let default_packages = read_yaml(&reference_data().join("overlays-main/default.packages.yaml"));
    let mut names: Vec<String> = Vec::new();
    for group in ["enabled", "disabled"] {
        for entry in default_packages["packages"][group].as_array().into_iter().flatten() {
            names.push(entry["package"].as_str().unwrap().to_string());
        }
    }
    let artifacts = artifacts_by_package();
    assert_eq!(entries.len(), 53);
    assert_eq!(entries.len(), names.len(), "one entry per default package, in order");
    let mut wrappers = 0;
    for (entry, name) in entries.iter().zip(&names) {
        let package = entry["package"].as_str().unwrap();
        let artifact = &artifacts[name];
        let metadata_names_a_wrapper = artifact.starts_with("./dynamic-plugins/dist/");
        assert_eq!(package.starts_with("./"), metadata_names_a_wrapper, "{name}: entry {package}, metadata {artifact}");
        if metadata_names_a_wrapper {
            wrappers += 1;
            assert_eq!(package, artifact, "{name}: the wrapper the metadata names");
        } else {
            assert!(package.starts_with("oci://") && package.contains("@sha256:"), "{name}: {package}");
        }
    }
    assert_eq!(wrappers, 3, "the three extensions wrappers of the real overlay");
    let oci_lines: Vec<&str> = text.lines().filter(|line| line.contains("oci://")).collect();
    assert!(oci_lines.len() >= 53, "every plugin has a pinned OCI line (active or commented)");
    for line in oci_lines {
        let reference = &line[line.find("oci://").unwrap()..];
        let reference = reference.split_whitespace().next().unwrap();
        let pinned = reference.split_once('@').map(|(_, digest)| digest);
        assert!(
            pinned.is_some_and(|digest| digest.len() == 71 && digest.starts_with("sha256:")),
            "not pinned by digest: {line}"
        );
    }
}

/// `<name>@sha256:…` → (`<name>`, digest).
fn split_pinned(reference: &str) -> (&str, &str) {
    reference.split_once('@').unwrap_or_else(|| panic!("{reference} is not pinned"))
}

#[test]
fn index_of_real_overlay_matches_the_upstream_generator() {
    let registry = Registry::shared();
    let pushed = populate(&registry);
    assert_eq!(pushed.len(), 54, "every upstream plugin build was pushed");
    let work = tempfile::tempdir().unwrap();
    run_index(&registry, work.path());
    let ours = work.path().join("catalog-index");
    let upstream = reference_data().join("catalog-index-main/catalog-index/supported");

    // index.json: the same plugins, every field equal, our digests the ones we pushed.
    let our_index = read_json(&ours.join("index.json"));
    let their_index = read_json(&upstream.join("index.json"));
    let our_keys: Vec<&String> = our_index.as_object().unwrap().keys().collect();
    let their_keys: Vec<&String> = their_index.as_object().unwrap().keys().collect();
    assert_eq!(our_keys, their_keys, "same plugins, same (sorted) order");
    for (image, theirs) in their_index.as_object().unwrap() {
        let mine = &our_index[image];
        let mut theirs = theirs.clone();
        corrected(image, &mut theirs);
        let theirs = &theirs;
        let (our_name, our_digest) = split_pinned(mine["registryReference"].as_str().unwrap());
        let (their_name, _) = split_pinned(theirs["registryReference"].as_str().unwrap());
        assert_eq!(our_name, their_name, "{image}");
        assert_eq!(our_digest, pushed[image].as_str(), "{image} is pinned to the digest the registry holds");
        let strip = |entry: &Value| {
            let mut entry = entry.as_object().unwrap().clone();
            entry.remove("registryReference");
            entry
        };
        assert_eq!(strip(mine), strip(theirs), "{image}");
        let our_order: Vec<&String> = mine.as_object().unwrap().keys().collect();
        let their_order: Vec<&String> = theirs.as_object().unwrap().keys().collect();
        assert_eq!(our_order, their_order, "{image}: key order");
    }

    // plugin_builds: same files and fields, digest aside.
    let our_builds = work.path().join("plugin_builds");
    let their_builds = reference_data().join("catalog-index-main/plugin_builds/supported");
    assert_eq!(files_under(&our_builds), files_under(&their_builds));
    for file in files_under(&their_builds) {
        let mut mine = read_json(&our_builds.join(&file));
        let mut theirs = read_json(&their_builds.join(&file));
        let image = mine.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(mine[&image]["digest"].as_str(), Some(pushed[&image].as_str()), "{file}");
        mine[&image].as_object_mut().unwrap().remove("digest");
        theirs[&image].as_object_mut().unwrap().remove("digest");
        corrected(&image, &mut theirs[&image]);
        assert_eq!(mine, theirs, "{file}");
    }

    // dynamic-plugins.default.yaml: same entries, same order, equal pluginConfig.
    let our_dpdy = read_yaml(&ours.join("dynamic-plugins.default.yaml"));
    let their_dpdy = read_yaml(&upstream.join("dynamic-plugins.default.yaml"));
    let our_entries = our_dpdy["plugins"].as_array().unwrap();
    let their_entries = their_dpdy["plugins"].as_array().unwrap();
    assert_eq!(our_entries.len(), their_entries.len());
    assert_eq!(our_entries.len(), 53);
    for (mine, theirs) in our_entries.iter().zip(their_entries) {
        let package = theirs["package"].as_str().unwrap();
        match package.strip_prefix("oci://") {
            Some(pinned) => {
                let (name, _) = split_pinned(pinned);
                let (our_name, our_digest) =
                    split_pinned(mine["package"].as_str().unwrap().strip_prefix("oci://").unwrap());
                assert_eq!(our_name, name);
                let image = name.rsplit('/').next().unwrap();
                assert_eq!(our_digest, pushed[image].as_str());
            }
            None => assert_eq!(mine["package"], theirs["package"], "local wrapper entries are kept"),
        }
        // Deliberate difference: `disabled:` instead of `enabled:`.
        assert!(mine.get("enabled").is_none(), "{package}: we write disabled, not enabled");
        assert_eq!(mine["disabled"].as_bool(), theirs["enabled"].as_bool().map(|enabled| !enabled), "{package}");
        assert_eq!(mine.get("pluginConfig"), theirs.get("pluginConfig"), "{package}: pluginConfig");
    }
    // Every `# Tag: …, Build date: …` comment of the upstream file is in ours.
    let our_text = std::fs::read_to_string(ours.join("dynamic-plugins.default.yaml")).unwrap();
    let their_text = std::fs::read_to_string(upstream.join("dynamic-plugins.default.yaml")).unwrap();
    let tags = |text: &str| {
        text.lines()
            .filter(|line| line.trim_start().starts_with("# Tag:"))
            .map(str::trim)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let our_tags = tags(&our_text);
    for tag in tags(&their_text) {
        assert!(our_tags.contains(&tag), "missing comment {tag}");
    }
    // Deliberate difference: entries with no build date still name their tag.
    assert!(our_tags.contains(&"# Tag: bs_1.52.0__0.1.1".to_string()), "app-auth has no build date upstream");

    assert_eq!(
        std::fs::read(ours.join("default.packages.yaml")).unwrap(),
        std::fs::read(upstream.join("default.packages.yaml")).unwrap()
    );

    // catalog-entities: plugins and collections copied, packages from metadata, all.yaml regenerated.
    let source = reference_data().join("overlays-main/catalog-entities/extensions");
    let extensions = ours.join("catalog-entities/extensions");
    for folder in ["plugins", "collections"] {
        let mut expected = files_under(&source.join(folder));
        expected.sort();
        assert_eq!(files_under(&extensions.join(folder)), expected, "{folder}/");
    }
    assert_eq!(
        std::fs::read(extensions.join("collections/all.yaml")).unwrap(),
        std::fs::read(source.join("collections/all.yaml")).unwrap()
    );
    let targets = |path: &Path| {
        let mut targets: Vec<String> = read_yaml(path)["spec"]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|target| target.as_str().unwrap().to_string())
            .collect();
        targets.sort();
        targets
    };
    assert_eq!(targets(&extensions.join("plugins/all.yaml")), targets(&source.join("plugins/all.yaml")));
    let metadata_files: Vec<String> = std::fs::read_dir(reference_data().join("overlays-main/workspaces"))
        .unwrap()
        .flat_map(|workspace| std::fs::read_dir(workspace.unwrap().path().join("metadata")).into_iter().flatten())
        .map(|file| file.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(metadata_files.len(), 187);
    let mut expected_targets: Vec<String> = metadata_files.iter().map(|name| format!("./{name}")).collect();
    expected_targets.sort();
    assert_eq!(targets(&extensions.join("packages/all.yaml")), expected_targets);
    let techdocs = std::fs::read_to_string(extensions.join("packages/backstage-plugin-techdocs.yaml")).unwrap();
    assert!(
        techdocs.contains(&format!(
            "dynamicArtifact: oci://{PREFIX}/backstage-plugin-techdocs@{}",
            pushed["backstage-plugin-techdocs"]
        )),
        "{techdocs}"
    );

    // build-info.json names the inputs and no wall-clock time.
    let info = read_json(&ours.join("build-info.json"));
    assert_eq!(info["backstage-version"], "1.52.0");
    assert!(info["source-repo"].as_str().unwrap().ends_with("@ 8582b8cd3d3dd308812ec44c9981143a2959402d"));
    assert!(info.get("build-date").is_none());
    let related = std::fs::read_to_string(ours.join("related-images.txt")).unwrap();
    assert_eq!(related.lines().count(), 54);

    // A second run on the same inputs writes nothing and reports no change.
    let before: Vec<(String, Vec<u8>)> = files_under(work.path())
        .into_iter()
        .map(|file| (file.clone(), std::fs::read(work.path().join(&file)).unwrap()))
        .collect();
    run_index(&registry, work.path());
    let after: Vec<(String, Vec<u8>)> = files_under(work.path())
        .into_iter()
        .map(|file| (file.clone(), std::fs::read(work.path().join(&file)).unwrap()))
        .collect();
    assert_eq!(before.len(), after.len());
    for ((name, first), (_, second)) in before.iter().zip(&after) {
        if name != "report.json" {
            assert!(first == second, "{name} changed on a second run");
        }
    }
    let report = read_json(&work.path().join("report.json"));
    assert_eq!(report["changed"], false);
    assert_eq!(report["summary"]["pinned"], 54);
}

// --- forward-compatible reading of the overlay's files (issue 21)

fn edit(path: &Path, edit: impl FnOnce(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "{} unchanged", path.display());
    std::fs::write(path, edited).unwrap();
}

/// The real overlay as its files evolve without asking us: `default.packages.yaml` entries with a
/// `status:` (the overlay's `main`, late June to early July 2026), `release-1.9`'s
/// `workspaces/gitlab/source.json` with `"repo-flat": "true"`, a key no version knows deep in a
/// metadata file and at the top of `versions.json`. Each is a warning naming file and line, in the
/// log and in the report, and the index is the one the unchanged overlay gives.
#[test]
fn evolving_overlay_files_warn_with_file_and_line_and_index_the_same() {
    let registry = Registry::start();
    populate(&registry);
    let plain = tempfile::tempdir().unwrap();
    run_index(&registry, plain.path());

    let work = tempfile::tempdir().unwrap();
    let overlay = work.path().join("overlay");
    copy_dir(&reference_data().join("overlays-main"), &overlay);
    let mut status_lines = Vec::new();
    edit(&overlay.join("default.packages.yaml"), |text| {
        let mut out = String::new();
        for line in text.lines() {
            out.push_str(line);
            out.push('\n');
            if line.trim_start().starts_with("- package:") {
                out.push_str("    status: active\n");
                status_lines.push(out.lines().count());
            }
        }
        out
    });
    assert_eq!(status_lines.len(), 53);
    edit(&overlay.join("workspaces/gitlab/source.json"), |text| {
        text.replace("\"repo-flat\":true", "\"repo-flat\":\"true\"")
    });
    let argocd = overlay.join("workspaces/argocd/metadata/backstage-community-plugin-argocd.yaml");
    edit(&argocd, |text| text.replacen("  lifecycle: active\n", "  lifecycle: active\n  maturity: beta\n", 1));
    edit(&overlay.join("versions.json"), |text| text.replacen('{', "{\n    \"yarn\": \"4.9.1\",", 1));

    let output = index_output(&registry, work.path(), &overlay, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let first_disabled = status_lines[17];
    let expected = [
        format!(
            "default.packages.yaml:{}: unknown key `status` in `packages.enabled[]` (17 times, lines {}",
            status_lines[0],
            status_lines[..8].iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
        format!("default.packages.yaml:{first_disabled}: unknown key `status` in `packages.disabled[]` (36 times"),
        "workspaces/gitlab/source.json:1: `repo-flat` is the string \"true\", read as the boolean true".to_string(),
        "backstage-community-plugin-argocd.yaml:27: unknown key `maturity` in `spec`".to_string(),
        "versions.json:2: unknown key `yarn` at the top of the file".to_string(),
        // Already in the real overlay: a key the Package kind does not define.
        "roadiehq-scaffolder-backend-module-http-request.yaml:25: unknown key `author` in `spec.backstage`".to_string(),
    ];
    for warning in &expected {
        assert!(stderr.contains(warning.as_str()), "the log lacks {warning:?}:\n{stderr}");
    }
    let report = read_json(&work.path().join("report.json"));
    let warnings: Vec<&str> =
        report["input-warnings"].as_array().unwrap().iter().map(|warning| warning.as_str().unwrap()).collect();
    assert_eq!(warnings.len(), 6, "{warnings:#?}");
    for warning in &expected {
        assert!(warnings.iter().any(|listed| listed.contains(warning.as_str())), "the report lacks {warning:?}");
    }

    // The same index: only the copies of the changed files (default.packages.yaml, the argocd
    // Package, which the catalog carries as written) and the digest build-info.json records differ.
    for folder in ["catalog-index", "plugin_builds"] {
        let files = files_under(&plain.path().join(folder));
        assert_eq!(files, files_under(&work.path().join(folder)), "{folder}");
        for file in files {
            let copies = [
                "default.packages.yaml",
                "build-info.json",
                "catalog-entities/extensions/packages/backstage-community-plugin-argocd.yaml",
            ];
            if copies.contains(&file.as_str()) {
                continue;
            }
            let (left, right) = (
                std::fs::read(plain.path().join(folder).join(&file)),
                std::fs::read(work.path().join(folder).join(&file)),
            );
            assert!(left.unwrap() == right.unwrap(), "{folder}/{file} differs");
        }
    }
}

// --- two registries, two tag schemes (issue 21)

/// `spec.packageName` → its metadata file, for every Package of `overlay`.
fn metadata_files(overlay: &Path) -> BTreeMap<String, std::path::PathBuf> {
    let mut files = BTreeMap::new();
    for workspace in std::fs::read_dir(overlay.join("workspaces")).unwrap() {
        for file in std::fs::read_dir(workspace.unwrap().path().join("metadata")).into_iter().flatten() {
            let path = file.unwrap().path();
            if let Some(name) = read_yaml(&path)["spec"]["packageName"].as_str() {
                files.insert(name.to_string(), path);
            }
        }
    }
    files
}

/// The image name of an npm package (`@scope/name` → `scope-name`).
fn image_of(package: &str) -> String {
    package.trim_start_matches('@').replacen('/', "-", 1)
}

/// The May 2026 shape, built from the real overlay: six plugins of the supported catalog say
/// `support: community` and come from one registry with `bs_<backstage>__<version>` tags, the
/// other 48 from another with `<rhdh x.y>--<version>` tags. Every reference, pin and older-tag
/// fallback follows the scheme of the registry the plugin comes from; a tag of the other scheme
/// in the same repository is never taken.
#[test]
fn may_2026_shape_mixes_two_registries_each_with_its_own_tag_scheme() {
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let overlay = work.path().join("overlay");
    copy_dir(&reference_data().join("overlays-main"), &overlay);
    let builds = upstream_builds("supported");
    let version_of = |build: &Value| {
        let reference = build["registryReference"].as_str().unwrap();
        reference.rsplit_once("__").unwrap().1.to_string()
    };
    let community: Vec<String> = builds
        .iter()
        .filter(|(_, build)| build["registryReference"].as_str().unwrap().contains(":bs_1.52.0__"))
        .map(|(image, _)| image.clone())
        .take(6)
        .collect();
    let files = metadata_files(&overlay);
    for (package, file) in &files {
        if community.contains(&image_of(package)) {
            edit(file, |text| {
                text.replace("support: generally-available", "support: community")
                    .replace("support: tech-preview", "support: community")
            });
        }
    }
    // One plugin of each registry has only an older tag of its scheme, on its release line (the
    // same major version: an older tag of another line never stands in); its repository also
    // holds the requested version under the other scheme, which must not be taken.
    let older_on_the_line = |image: &String| {
        let version = version_of(&builds[image]);
        let parts: Vec<u64> = version.split('.').map(|part| part.parse().unwrap()).collect();
        (parts.len() == 3 && parts[2] > 0).then(|| format!("{}.{}.{}", parts[0], parts[1], parts[2] - 1))
    };
    let community_fallback = community
        .iter()
        .find(|image| older_on_the_line(image).is_some())
        .expect("a community plugin with a patch version")
        .clone();
    let rhdh_fallback =
        builds.keys().find(|image| !community.contains(image) && older_on_the_line(image).is_some()).unwrap().clone();
    let (community_older, rhdh_older) =
        (older_on_the_line(&community_fallback).unwrap(), older_on_the_line(&rhdh_fallback).unwrap());
    let (overlays, rhdh) = (format!("{}/overlays", registry.host), format!("{}/rhdh", registry.host));
    let store = store_of(&registry);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (image, build) in &builds {
        let version = version_of(build);
        let references: Vec<String> = if *image == community_fallback {
            vec![
                format!("{overlays}/{image}:bs_1.52.0__{community_older}"),
                format!("{overlays}/{image}:1.10--{version}"),
            ]
        } else if *image == rhdh_fallback {
            vec![format!("{rhdh}/{image}:1.10--{rhdh_older}"), format!("{rhdh}/{image}:bs_1.52.0__{version}")]
        } else if community.contains(image) {
            vec![format!("{overlays}/{image}:bs_1.52.0__{version}")]
        } else {
            let backstage = build["registryReference"].as_str().unwrap().split("bs_").nth(1).unwrap();
            assert!(backstage.starts_with("1.52.0__") || backstage.starts_with("1.49.4__"), "{backstage}");
            vec![format!("{rhdh}/{image}:1.10--{version}")]
        };
        for reference in references {
            runtime.block_on(push_build(&store, image, build, &reference));
        }
    }

    let output = rhdh_catalog(work.path())
        .current_dir(work.path())
        .args(["index", "--registry", &rhdh, "--tag-scheme", "rhdh", "--rhdh-version", "1.10"])
        .args(["--community-registry", &overlays, "--community-tag-scheme", "backstage"])
        .args(["--on-missing", "older-tag", "--insecure-registry", &registry.host, "--report", "report.json"])
        .args(["--store", &format!("docker://{}", registry.host)])
        .arg("--overlay")
        .arg(&overlay)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report = read_json(&work.path().join("report.json"));
    assert_eq!(report["summary"]["plugins"], 54, "{report:#}");
    assert_eq!(report["summary"]["pinned"], 52, "{report:#}");
    assert_eq!(report["summary"]["fallback"], 2, "{report:#}");

    let index = read_json(&work.path().join("catalog-index/index.json"));
    assert_eq!(index.as_object().unwrap().len(), 54);
    for (image, entry) in index.as_object().unwrap() {
        let version = version_of(&builds[image]);
        let reference = entry["registryReference"].as_str().unwrap();
        let tag = entry["imageTag"].as_str().unwrap();
        if community.contains(image) {
            assert!(reference.starts_with(&format!("{overlays}/{image}@sha256:")), "{image}: {reference}");
            assert!(tag.starts_with("bs_1.52.0__"), "{image}: {tag}");
        } else {
            assert!(reference.starts_with(&format!("{rhdh}/{image}@sha256:")), "{image}: {reference}");
            assert!(tag.starts_with("1.10--"), "{image}: {tag}");
        }
        if *image == community_fallback {
            assert_eq!(tag, format!("bs_1.52.0__{community_older}"));
            assert_eq!(entry["requestedTag"], format!("bs_1.52.0__{version}"));
        } else if *image == rhdh_fallback {
            assert_eq!(tag, format!("1.10--{rhdh_older}"));
            assert_eq!(entry["requestedTag"], format!("1.10--{version}"));
        } else {
            assert!(tag.ends_with(&format!("--{version}")) || tag.ends_with(&format!("__{version}")), "{image}: {tag}");
            assert!(entry.get("fallback").is_none(), "{image}: {entry}");
        }
    }
    // The plugin_builds and the DPDY's tag comments say the same.
    let dpdy = std::fs::read_to_string(work.path().join("catalog-index/dynamic-plugins.default.yaml")).unwrap();
    for image in &community {
        let build = read_json(&work.path().join("plugin_builds").join(format!(
            "{}/{image}.json",
            index[image]["workspacePath"].as_str().unwrap().split('/').next().unwrap()
        )));
        assert!(build[image]["registryReference"].as_str().unwrap().starts_with(&format!("{overlays}/")), "{build}");
    }
    assert!(dpdy.contains("# Tag: 1.10--"), "{dpdy}");
    assert!(dpdy.lines().any(|line| line.contains(&format!("{overlays}/"))), "a community plugin in the DPDY: {dpdy}");
    let info = read_json(&work.path().join("catalog-index/build-info.json"));
    assert_eq!(info["registry"], rhdh);
    assert_eq!(info["community-registry"], overlays);
}

// --- the community catalog (issue 21)

/// The images of the community catalog the upstream left out of its `index.json` although its
/// `plugin_builds` record each with a digest (the image existed): the four plugins of the two
/// workspaces that build against another Backstage minor without a `backstage.json` (argocd
/// 1.49.2, sonarqube 1.49.3), whose tags carry that version (`bs_1.49.2__…`, `bs_1.49.3__…`).
const LEFT_OUT_UPSTREAM: [&str; 4] = [
    "backstage-community-plugin-argocd",
    "backstage-community-plugin-argocd-backend",
    "backstage-community-plugin-sonarqube",
    "backstage-community-plugin-sonarqube-backend",
];

/// The same run builds both catalogs of the real overlay; the community one is compared with the
/// upstream's entry by entry: every upstream entry equal (digests normalised: ours are the ones
/// pushed), every `plugin_builds` file equal, and four entries more, each accounted for.
#[test]
fn community_catalog_of_the_real_overlay_matches_the_upstream_entry_by_entry() {
    let registry = Registry::start();
    populate(&registry);
    let pushed =
        populate_tier(&registry, "community", &|build| Some(build["registryReference"].as_str().unwrap().to_string()));
    assert_eq!(pushed.len(), 48, "every upstream community plugin build was pushed");
    let work = tempfile::tempdir().unwrap();
    run_index_with(
        &registry,
        work.path(),
        &["--community-output", "catalog-index-community", "--community-report", "community-report.json"],
    );
    let ours = work.path().join("catalog-index-community");
    let upstream = reference_data().join("catalog-index-main/catalog-index/community");

    let our_index = read_json(&ours.join("index.json"));
    let their_index = read_json(&upstream.join("index.json"));
    let (our_entries, their_entries) = (our_index.as_object().unwrap(), their_index.as_object().unwrap());
    let mut equal = 0;
    for (image, theirs) in their_entries {
        let mine = our_entries.get(image).unwrap_or_else(|| panic!("{image} is missing from ours"));
        let (our_name, our_digest) = split_pinned(mine["registryReference"].as_str().unwrap());
        let (their_name, _) = split_pinned(theirs["registryReference"].as_str().unwrap());
        assert_eq!(our_name, their_name, "{image}");
        assert_eq!(our_digest, pushed[image].as_str(), "{image} is pinned to the digest the registry holds");
        let strip = |entry: &Value| {
            let mut entry = entry.as_object().unwrap().clone();
            entry.remove("registryReference");
            entry
        };
        assert_eq!(strip(mine), strip(theirs), "{image}");
        let our_order: Vec<&String> = mine.as_object().unwrap().keys().collect();
        let their_order: Vec<&String> = theirs.as_object().unwrap().keys().collect();
        assert_eq!(our_order, their_order, "{image}: key order");
        equal += 1;
    }
    let extra: Vec<&str> =
        our_entries.keys().filter(|image| !their_entries.contains_key(*image)).map(String::as_str).collect();
    assert_eq!(extra, LEFT_OUT_UPSTREAM, "ours has exactly the upstream's left-out plugins more");
    let builds = upstream_builds("community");
    for image in LEFT_OUT_UPSTREAM {
        let reference = builds[image]["registryReference"].as_str().unwrap();
        assert!(builds[image]["digest"].as_str().is_some_and(|digest| digest.starts_with("sha256:")), "{image}");
        let (name, tag) = reference.rsplit_once(':').unwrap();
        assert_eq!(our_entries[image]["imageTag"], tag, "{image}: the tag the upstream build names");
        assert!(our_entries[image]["registryReference"].as_str().unwrap().starts_with(&format!("{name}@")), "{image}");
        assert!(tag.starts_with("bs_1.49.2__") || tag.starts_with("bs_1.49.3__"), "{image}: {tag}");
    }
    eprintln!(
        "community catalog of the real overlay: {equal} of the upstream's {} entries equal, {} more in ours ({})",
        their_entries.len(),
        extra.len(),
        extra.join(", ")
    );
    assert_eq!(equal, 44);

    // plugin_builds: the same 48 files, every field equal but the digest.
    let our_builds = work.path().join("plugin_builds-community");
    let their_builds = reference_data().join("catalog-index-main/plugin_builds/community");
    assert_eq!(files_under(&our_builds), files_under(&their_builds));
    for file in files_under(&their_builds) {
        let mut mine = read_json(&our_builds.join(&file));
        let mut theirs = read_json(&their_builds.join(&file));
        let image = mine.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(mine[&image]["digest"].as_str(), Some(pushed[&image].as_str()), "{file}");
        mine[&image].as_object_mut().unwrap().remove("digest");
        theirs[&image].as_object_mut().unwrap().remove("digest");
        assert_eq!(mine, theirs, "{file}");
    }

    // An extra catalog: no dynamic-plugins.default.yaml, the entities and packages as in the
    // supported catalog, its own reports.
    assert!(!ours.join("dynamic-plugins.default.yaml").exists());
    assert!(!ours.join("default.packages.yaml").exists());
    assert_eq!(
        files_under(&ours.join("catalog-entities")),
        files_under(&work.path().join("catalog-index/catalog-entities")),
        "both catalogs carry every Plugin entity and every Package file, as the upstream's do"
    );
    let info = read_json(&ours.join("build-info.json"));
    assert_eq!(info["package-files"].as_object().unwrap().keys().collect::<Vec<_>>(), ["rhdh-community-packages.txt"]);
    let report = read_json(&work.path().join("community-report.json"));
    assert_eq!(report["summary"]["plugins"], 48);
    assert_eq!(report["summary"]["pinned"], 48);
    assert!(ours.join("build-report.json").is_file());
    assert_eq!(read_json(&work.path().join("report.json"))["summary"]["pinned"], 54, "the supported catalog");

    docs_tables_match_the_index(work.path());

    // A run without the images of one catalog writes neither.
    let empty = Registry::start();
    populate(&empty);
    let fresh = tempfile::tempdir().unwrap();
    let output = index_output(
        &empty,
        fresh.path(),
        &reference_data().join("overlays-main"),
        &["--community-output", "catalog-index-community"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("48 plugin image(s) not found") && stderr.contains("community: "), "{stderr}");
    for folder in ["catalog-index", "plugin_builds", "catalog-index-community", "plugin_builds-community"] {
        assert!(!fresh.path().join(folder).exists(), "{folder} written");
    }
}

/// The documentation's reference tables in the supported catalog, checked against the facts the
/// index itself holds: one CSV row per `dynamic-plugins.default.yaml` entry (`TechDocs` aside) with
/// its path, default, support level, version and variables; the GA, technology preview and
/// preinstalled lists; the community table with every pinned community plugin.
fn docs_tables_match_the_index(work: &Path) {
    let docs = work.join("catalog-index/extend_dynamic-plugins-reference");
    assert_eq!(
        files_under(&docs),
        [
            "con-preinstalled-dynamic-plugins.adoc",
            "ref-community-supported-plugins.adoc",
            "ref-deprecated-plugins.adoc",
            "ref-ga-plugins.adoc",
            "ref-technology-preview-plugins.adoc",
            "rhdh-supported-plugins.csv",
        ]
    );
    let text = |name: &str| std::fs::read_to_string(docs.join(name)).unwrap();
    let csv = text("rhdh-supported-plugins.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "\"Name\",\"Plugin\",\"Role\",\"Version\",\"Support Level\",\"Lifecycle\",\"Path\",\"Required Variables\",\"Default\""
        )
    );
    let rows: Vec<Vec<String>> = lines
        .map(|line| {
            line.strip_prefix('"')
                .and_then(|line| line.strip_suffix('"'))
                .unwrap()
                .split("\",\"")
                .map(|field| field.replace("\"\"", "\""))
                .collect()
        })
        .collect();
    let dpdy = read_yaml(&work.join("catalog-index/dynamic-plugins.default.yaml"));
    let entries = dpdy["plugins"].as_array().unwrap();
    let index = read_json(&work.join("catalog-index/index.json"));
    let metadata = metadata_files(&reference_data().join("overlays-main"));
    let mut checked = 0;
    let (mut ga, mut tech_preview, mut preinstalled) = (0, 0, Vec::new());
    for entry in entries {
        let path = entry["package"].as_str().unwrap();
        // The entry's package: the one whose image (or wrapper) the entry names.
        let last = path.split('@').next().unwrap().rsplit('/').next().unwrap();
        let named = last.strip_suffix("-dynamic").unwrap_or(last);
        let package =
            metadata.keys().find(|package| image_of(package) == named).unwrap_or_else(|| panic!("{path}")).clone();
        let document = read_yaml(&metadata[&package]);
        let spec = &document["spec"];
        let support = spec["support"].as_str().unwrap();
        let enabled = entry["disabled"] == false;
        if spec["lifecycle"] != "deprecated" {
            match support {
                "generally-available" => ga += 1,
                "tech-preview" => tech_preview += 1,
                _ => {}
            }
            if enabled && ["generally-available", "tech-preview"].contains(&support) {
                preinstalled.push(package.clone());
            }
        }
        let Some(row) = rows.iter().find(|row| row[6] == path) else {
            assert!(package.contains("techdocs"), "no CSV row for {path}");
            continue;
        };
        assert_eq!(row[1], package, "{path}");
        assert_eq!(row[8], if enabled { "Enabled" } else { "Disabled" }, "{package}");
        let expected_level = match support {
            "generally-available" => "Production",
            "tech-preview" => "Red Hat Tech Preview",
            _ => "Community Support",
        };
        assert_eq!(row[4], expected_level, "{package}");
        assert_eq!(row[5], spec["lifecycle"].as_str().unwrap(), "{package}");
        let image = image_of(&package);
        let tag = index[&image]["imageTag"].as_str().unwrap();
        assert!(tag.ends_with(&format!("__{}", row[3])), "{package}: version {} vs tag {tag}", row[3]);
        let role = spec["backstage"]["role"].as_str().unwrap();
        assert_eq!(row[2], if role.starts_with("frontend") { "Frontend" } else { "Backend" }, "{package}");
        let content = serde_json::to_string(&spec["appConfigExamples"][0]["content"]).unwrap_or_default();
        let mut variables: Vec<&str> = content.split("${").skip(1).filter_map(|rest| rest.split('}').next()).collect();
        variables.sort_unstable();
        variables.dedup();
        let expected: String =
            if variables.is_empty() { ";".into() } else { variables.iter().map(|name| format!("`{name}`;")).collect() };
        assert_eq!(row[7], expected, "{package}");
        checked += 1;
    }
    assert_eq!(checked, rows.len(), "one CSV row per entry");
    assert!(checked >= 50, "{checked} rows");
    assert!(text("ref-ga-plugins.adoc").contains(&format!("full support for the following {ga} dynamic plugins.")));
    assert!(
        text("ref-technology-preview-plugins.adoc")
            .contains(&format!("support for the following {tech_preview} dynamic plugins."))
    );
    let listed = text("con-preinstalled-dynamic-plugins.adoc");
    for package in &preinstalled {
        assert!(listed.contains(&format!("* `{package}`\n")), "{package} is enabled by default: {listed}");
    }
    let community = text("ref-community-supported-plugins.adoc");
    let community_index = read_json(&work.join("catalog-index-community/index.json"));
    assert!(
        community.contains(&format!("the following {} dynamic plugins", community_index.as_object().unwrap().len()))
    );
    for entry in community_index.as_object().unwrap().values() {
        let reference = format!("`oci://{}`", entry["registryReference"].as_str().unwrap());
        assert!(community.contains(&reference), "{reference} in the community table");
    }
    eprintln!(
        "docs tables of the real overlay: {} CSV rows, {ga} GA, {tech_preview} technology preview, {} preinstalled, {} community",
        rows.len(),
        preinstalled.len(),
        community_index.as_object().unwrap().len()
    );
}

// --- branches of every age (issue 21)

/// A `release-1.9`-shaped tree built from the real overlay: no `default.packages.yaml` in the
/// overlay (RHDH kept it then, `- package:` lines only, also naming a plugin the overlay has no
/// metadata for), `"repo-flat": "true"` in gitlab's source.json. Without a source the index has no
/// `dynamic-plugins.default.yaml` (and says so); with `--default-packages`, or read from the RHDH
/// repository at the branch `upstream_repos.yml` names, it has the same entries as an overlay that
/// holds the file, leaves the unknown plugin out with a warning, and publishes.
#[test]
fn release_1_9_shaped_tree_takes_default_packages_from_where_the_branch_kept_it() {
    use crate::support::upstreams::{git, repository, url};

    let registry = Registry::start();
    populate(&registry);
    let root = tempfile::tempdir().unwrap();
    let overlay = root.path().join("overlay-repo");
    copy_dir(&reference_data().join("overlays-main"), &overlay);
    std::fs::remove_file(overlay.join("default.packages.yaml")).unwrap();
    edit(&overlay.join("workspaces/gitlab/source.json"), |text| {
        text.replace("\"repo-flat\":true", "\"repo-flat\":\"true\"")
    });
    // RHDH's file of the time: `- package:` lines only.
    let real = std::fs::read_to_string(reference_data().join("overlays-main/default.packages.yaml")).unwrap();
    let mut old_style = String::from("packages:\n");
    for section in ["enabled", "disabled"] {
        old_style.push_str(&format!("  {section}:\n"));
        let document = read_yaml(&reference_data().join("overlays-main/default.packages.yaml"));
        for entry in document["packages"][section].as_array().unwrap() {
            old_style.push_str(&format!("    - package: '{}'\n", entry["package"].as_str().unwrap()));
        }
        if section == "disabled" {
            old_style.push_str("    - package: '@janus-idp/backstage-plugin-built-in-rhdh'\n");
        }
    }
    assert!(real.contains("support:") && !old_style.contains("support:"));
    let rhdh = root.path().join("rhdh");
    repository(&rhdh, &[("default.packages.yaml", &old_style), ("README.md", "rhdh\n")], "v1.9.0");
    git(&rhdh, &["branch", "release-1.9"]);
    std::fs::write(
        root.path().join("upstream_repos.yml"),
        "rhdh:\n  branch: release-1.9\n  version: 1.9.7\nbackstage:\n  version: 1.52.0\nrepos:\n  - repo: https://github.com/redhat-developer/rhdh-plugin-export-overlays\n    branch: release-1.9\n    destination_folder: overlay-repo\n",
    )
    .unwrap();
    let dpdy_plugins =
        |work: &Path| read_yaml(&work.join("catalog-index/dynamic-plugins.default.yaml"))["plugins"].clone();

    // What an overlay holding the file gives.
    let reference = tempfile::tempdir().unwrap();
    run_index(&registry, reference.path());

    // No source: no dynamic-plugins.default.yaml, and the log says why.
    let plain = tempfile::tempdir().unwrap();
    let output = index_output(&registry, plain.path(), &overlay, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("no default.packages.yaml") && stderr.contains("cannot be published"), "{stderr}");
    assert!(!plain.path().join("catalog-index/dynamic-plugins.default.yaml").exists());

    // From the RHDH repository, at the branch upstream_repos.yml names.
    let fetched = tempfile::tempdir().unwrap();
    let upstream_repos = root.path().join("upstream_repos.yml");
    let output = index_output(
        &registry,
        fetched.path(),
        &overlay,
        &[
            "--rhdh-repository",
            &url(&rhdh),
            "--allow-local-repos",
            "--upstream-repos",
            upstream_repos.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "package `@janus-idp/backstage-plugin-built-in-rhdh` has no metadata file in the overlay: left out"
        ),
        "{stderr}"
    );
    assert_eq!(dpdy_plugins(fetched.path()), dpdy_plugins(reference.path()), "the same entries");
    assert_eq!(std::fs::read_to_string(fetched.path().join("catalog-index/default.packages.yaml")).unwrap(), old_style);
    let info = read_json(&fetched.path().join("catalog-index/build-info.json"));
    let commit = git(&rhdh, &["rev-parse", "release-1.9"]);
    assert_eq!(info["default-packages-source"], format!("{} @ {commit}", url(&rhdh)), "{info}");
    let report = read_json(&fetched.path().join("report.json"));
    assert_eq!(report["dynamic-plugins-left-out"], serde_json::json!(["@janus-idp/backstage-plugin-built-in-rhdh"]));

    // The same from a file given with --default-packages; the tree publishes.
    let given = tempfile::tempdir().unwrap();
    let file = root.path().join("rhdh-default.packages.yaml");
    std::fs::write(&file, &old_style).unwrap();
    let output = index_output(&registry, given.path(), &overlay, &["--default-packages", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(dpdy_plugins(given.path()), dpdy_plugins(reference.path()));
    let layout = given.path().join("layout");
    let output = rhdh_catalog(given.path())
        .arg("publish")
        .arg(given.path().join("catalog-index"))
        .args(["--tag", "quay.io/rhdh/plugin-catalog-index:1.9.7-1"])
        .arg("--store")
        .arg(format!("oci-layout:{}", layout.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "publish: {}", String::from_utf8_lossy(&output.stderr));

    // A branch the RHDH repository does not have: bad input, naming it.
    let other = root.path().join("other-upstream_repos.yml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&upstream_repos)
            .unwrap()
            .replace("branch: release-1.9\n  version", "branch: release-1.8\n  version"),
    )
    .unwrap();
    let failed = tempfile::tempdir().unwrap();
    let output = index_output(
        &registry,
        failed.path(),
        &overlay,
        &["--rhdh-repository", &url(&rhdh), "--allow-local-repos", "--upstream-repos", other.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("release-1.8"), "{stderr}");
    assert!(!failed.path().join("catalog-index").exists());
    // A remote that is not https:// without --allow-local-repos: refused before anything runs.
    let commit = std::fs::read_to_string(reference_data().join("overlays-main/SOURCE_COMMIT")).unwrap();
    let output = rhdh_catalog(failed.path())
        .env_remove("RHDH_CATALOG_ALLOW_LOCAL_REPOS")
        .current_dir(failed.path())
        .args(["index", "--registry", PREFIX, "--insecure-registry", &registry.host])
        .arg("--store")
        .arg(format!("docker://{}", registry.host))
        .arg("--overlay")
        .arg(&overlay)
        .args(["--overlay-commit", commit.split_whitespace().next().unwrap()])
        .args(["--rhdh-repository", &url(&rhdh)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not an https:// URL"), "{stderr}");
}
