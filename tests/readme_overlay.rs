//! The README's "Your own overlay" section, run as written: its `sh` blocks are taken from
//! README.md and run in one bash script against a real `docker-registry` on a free loopback port
//! (plain HTTP), with the bundled example overlay as "your overlay" (a git checkout), a recorded
//! export of every plugin as "your exports", and the example midstream for `sync`. The commands
//! must give a digest-pinned index of images in that registry, pass `validate`, publish, and sync.

use std::path::Path;

use crate::support::upstreams::{commit, git};
use crate::support::{Registry, example_overlay, rhdh_catalog, write_dist_dynamic};

/// The `sh` blocks of the README section titled `title`, in order.
fn section_commands(title: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find(&format!("\n## {title}\n")).unwrap_or_else(|| panic!("README.md has no `## {title}`"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3);
    let section = &rest[..end];
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed block in `## {title}`");
    blocks
}

#[test]
fn the_readme_section_on_your_own_overlay_runs_as_written() {
    let blocks = section_commands("Your own overlay");
    assert!(blocks.len() >= 5, "{blocks:?}");
    let script: String = blocks.concat();
    for flag in [
        "--insecure-registry",
        "--tag-scheme",
        "--overlay-commit",
        "--source-repo",
        "rhdh-catalog package",
        "rhdh-catalog sync",
    ] {
        assert!(
            script.contains(flag)
                || std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
                    .unwrap()
                    .contains(flag),
            "the section explains {flag}"
        );
    }

    let registry = Registry::start();
    let scratch = tempfile::tempdir().unwrap();
    let work = scratch.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // Your overlay: the bundled example, as a git checkout.
    let overlay = example_overlay(scratch.path());
    git(&overlay, &["init", "-q", "-b", "main"]);
    commit(&overlay, "my overlay");
    let overlay_commit = git(&overlay, &["rev-parse", "HEAD"]);
    // Your exports: one dist-dynamic folder per planned plugin, where the README says they are.
    let plan = rhdh_catalog(scratch.path())
        .args([
            "index",
            "--registry",
            "127.0.0.1:5000/rhdh",
            "--rhdh-version",
            "1.10.0",
            "--dry-run",
            "--output-format",
            "json",
        ])
        .arg("--overlay")
        .arg(&overlay)
        .output()
        .unwrap();
    assert!(plan.status.success(), "{}", String::from_utf8_lossy(&plan.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let exports = scratch.path().join("exports");
    for plugin in plan.as_array().unwrap() {
        let version = plugin["reference"].as_str().unwrap().rsplit("--").next().unwrap();
        let dir = exports.join(plugin["workspacePath"].as_str().unwrap()).join("dist-dynamic");
        write_dist_dynamic(&dir, plugin["package"].as_str().unwrap(), version, "frontend-plugin");
    }
    // A midstream checkout for `sync` (its upstreams are local repositories: the fixture's own).
    let midstream = crate::sync_pipeline::example(&scratch.path().join("example"));
    let script_path = scratch.path().join("readme.sh");
    std::fs::write(&script_path, format!("set -euo pipefail\n{script}")).unwrap();
    let tool = assert_cmd::cargo::cargo_bin("rhdh-catalog");
    let output = std::process::Command::new("bash")
        .arg(&script_path)
        .current_dir(&work)
        .env_clear()
        .env("PATH", format!("{}:{}", tool.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default()))
        .env("HOME", scratch.path())
        .env("DOCKER_CONFIG", scratch.path().join(".docker"))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .env("REGISTRY", &registry.host)
        .env("OVERLAY", &overlay)
        .env("DIST", &exports)
        .env("MIDSTREAM", &midstream)
        .env("EXPORTER", Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-exporter.sh"))
        // What the fixture needs and a real overlay does not: local upstreams, no real build.
        .env("RHDH_CATALOG_ALLOW_LOCAL_REPOS", "1")
        .env("RHDH_CATALOG_INSTALL_COMMAND", "true")
        .env("RHDH_CATALOG_TSC_COMMAND", "true")
        .env("GIT_AUTHOR_NAME", "sync")
        .env("GIT_AUTHOR_EMAIL", "sync@example.test")
        .env("GIT_COMMITTER_NAME", "sync")
        .env("GIT_COMMITTER_EMAIL", "sync@example.test")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the README's commands failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );

    // A digest-pinned index of the images in that registry, and where its overlay came from.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("catalog-index/index.json")).unwrap()).unwrap();
    let entries = index.as_object().unwrap();
    assert_eq!(entries.len(), plan.as_array().unwrap().len());
    for (image, entry) in entries {
        let reference = entry["registryReference"].as_str().unwrap();
        assert!(reference.starts_with(&format!("{}/rhdh/{image}@sha256:", registry.host)), "{reference}");
    }
    let build_info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("catalog-index/build-info.json")).unwrap()).unwrap();
    assert_eq!(
        build_info["source-repo"],
        format!("https://github.com/redhat-developer/rhdh-plugin-export-overlays @ {overlay_commit}")
    );
    assert!(stdout.contains(&format!("{}/rhdh/plugin-catalog-index@sha256:", registry.host)), "published: {stdout}");
    // `sync` pushed its own exports to the same registry and pinned them.
    assert!(stdout.contains("sync Succeeded"), "{stdout}");
    assert!(stdout.contains("index:     7 plugins: 7 pinned"), "{stdout}");
    assert!(work.join("out/sync/status.html").is_file());
}
