//! The package cache keeps each workspace's installed `node_modules` for its next export. Another
//! workspace's install runs package scripts with the cache in reach, so a kept install can be
//! rewritten behind the workspace's back; the next export must never run what was changed. A
//! kept install comes back only when its content is what the workspace's own last export
//! recorded (in its export record, which travels with the tree): here the install command itself
//! tells whether it found the kept install, fresh, or a tampered one (and then fails).

use std::path::Path;

use crate::support::rhdh_catalog;
use crate::support::upstreams::{self, recorded_exporter};

/// An install command that reports to `log` whether it found a kept install, and fails when the
/// one it found is not what it installed.
fn install_command(log: &Path) -> String {
    let log = log.display();
    format!(
        "if [ -f node_modules/kept/index.js ]; then grep -q clean node_modules/kept/index.js || exit 7; echo restored >> {log}; \
         else mkdir -p node_modules/kept && echo clean > node_modules/kept/index.js; echo fresh >> {log}; fi"
    )
}

fn export(fixture: &upstreams::Upstreams, cache: &Path, log: &Path) -> std::process::Output {
    rhdh_catalog(&fixture.root)
        .arg("export")
        .arg("--tree")
        .arg(&fixture.tree)
        .args(["--exporter", &recorded_exporter(), "--tsc-command", ""])
        .args(["--install-command", &install_command(log)])
        .arg("--package-cache")
        .arg(cache)
        .args(["--workspace", "hello"])
        .output()
        .unwrap()
}

fn kept_files(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![cache.join("installed")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else if entry.file_name() == "index.js" {
                found.push(entry.path());
            }
        }
    }
    found
}

#[test]
fn a_kept_install_changed_behind_the_workspaces_back_is_never_run() {
    let scratch = tempfile::tempdir().unwrap();
    let fixture = upstreams::create(scratch.path());
    let fetched = rhdh_catalog(&fixture.root).arg("fetch").arg("--tree").arg(&fixture.tree).output().unwrap();
    assert!(fetched.status.success(), "{}", String::from_utf8_lossy(&fetched.stderr));
    let cache = scratch.path().join("cache");
    let log = scratch.path().join("install.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();

    let first = export(&fixture, &cache, &log);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(read_log(), "fresh\n");
    let record = std::fs::read_to_string(fixture.tree.join("workspaces/hello/.rhdh-catalog-export.json")).unwrap();
    assert!(record.contains("\"kept-install\": \"sha256:"), "{record}");

    // Untouched, the kept install comes back.
    let second = export(&fixture, &cache, &log);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(read_log(), "fresh\nrestored\n");

    // Another workspace's install (or anyone) rewrites the kept file: dropped, installed afresh.
    let kept = kept_files(&cache);
    assert_eq!(kept.len(), 1, "{kept:?}");
    std::fs::write(&kept[0], "pwned\n").unwrap();
    let third = export(&fixture, &cache, &log);
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "the tampered install was run: {stderr}");
    assert_eq!(read_log(), "fresh\nrestored\nfresh\n", "{stderr}");
    assert!(stderr.contains("not what this workspace's last export recorded"), "{stderr}");

    // A record without the digest (an old record, or one edited) restores nothing either.
    let record_path = fixture.tree.join("workspaces/hello/.rhdh-catalog-export.json");
    let mut record: serde_json::Value = serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    record.as_object_mut().unwrap().remove("kept-install");
    std::fs::write(&record_path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    let fourth = export(&fixture, &cache, &log);
    assert!(fourth.status.success(), "{}", String::from_utf8_lossy(&fourth.stderr));
    assert_eq!(read_log(), "fresh\nrestored\nfresh\nfresh\n");
}
