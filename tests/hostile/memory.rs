//! Memory taken by hostile content, measured as the kernel counts it (the child's peak resident
//! set, see [`super::measure`]) against the memory limit the step's Task declares: a plugin layer
//! that unpacks to hundreds of MB (`validate`, 512 Mi), a tag list that never ends on the same host
//! (`index --on-missing older-tag`, 1 Gi), large files hashed by `fetch` (2 Gi), read as streams.

use std::io::Write;
use std::path::Path;

use super::images::{Entry, dynamic_packages, put_image, repository_dir, tar_gz};
use super::measure::{run_measured, task_limit};
use super::strings;
use crate::support::hostile_registry::{HostileRegistry, Misbehaviour};
use crate::support::{Registry, example_overlay, unique_namespace};

/// A gzipped tar of one file `path` of `size` zero bytes, made by the system's `gzip` (a few
/// hundred KiB for hundreds of MB).
fn gzip_bomb(path: &str, size: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_path(path).unwrap();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_size(size);
    header.set_cksum();
    let mut child = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        stdin.write_all(header.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        let mut left = size.div_ceil(512) * 512 + 1024;
        while left > 0 {
            let count = left.min(zeros.len() as u64) as usize;
            stdin.write_all(&zeros[..count]).unwrap();
            left -= count as u64;
        }
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success());
    output.stdout
}

/// `validate --image` of an index whose one plugin's first layer is 600 KB that unpack to 600 MB:
/// the layer is streamed from a file, so the run stays far below the validate Task's 512 Mi (it
/// used to unpack the layer whole into memory), and the oversized entry is a finding.
#[test]
fn a_plugin_layer_that_unpacks_to_600_mb_is_streamed_by_validate() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let bomb = gzip_bomb("bomb-plugin/dist/zeros.js", 600 * 1024 * 1024);
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
    put_image(
        &repository_dir(&store, "quay.io", "rhdh/bomb-plugin"),
        "1",
        &[bomb],
        &dynamic_packages(&["bomb-plugin"]),
    );
    let dpdy = "plugins:\n  - package: oci://quay.io/rhdh/bomb-plugin:1!bomb-plugin\n    disabled: true\n";
    let index = tar_gz(&[
        Entry::File("dynamic-plugins.default.yaml".into(), dpdy.as_bytes().to_vec()),
        Entry::Dir("catalog-entities".into()),
        Entry::Dir("catalog-entities/extensions".into()),
    ]);
    put_image(
        &repository_dir(&store, "quay.io", "rhdh/plugin-catalog-index"),
        "1.10",
        &[index],
        &serde_json::json!({}),
    );
    let args =
        strings(&["validate", "--image", "quay.io/rhdh/plugin-catalog-index:1.10", "--store", "oci-layout:store"]);
    let (output, peak) = run_measured(work.path(), &args, &[]);
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let limit = task_limit("validate", "validate");
    eprintln!("validate of a 600 MB layer: peak {peak} KiB (the validate Task allows {limit} KiB)");
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("[entry-size]") && all.contains("bomb-plugin/dist/zeros.js"), "{all}");
    assert!(!all.contains("[layer-path]"), "the folder is there: {all}");
    assert!(peak < limit / 4, "peak {peak} KiB, the validate Task allows {limit} KiB: {all}");
}

/// `index --on-missing older-tag` against a registry whose tag list never ends on the same host
/// (every page new tags and a `Link` to the next): the list is streamed and stopped at its caps,
/// exit 3 naming the registry, nothing written, and the run stays far below the index Task's 1 Gi
/// (it used to keep every tag of up to 10 000 pages).
#[test]
fn an_endless_fresh_tag_list_is_stopped_within_the_index_tasks_memory() {
    let registry = Registry::shared();
    let hostile = HostileRegistry::start(&registry.host, Misbehaviour::EndlessFreshTagPages);
    let work = tempfile::tempdir().unwrap();
    example_overlay(work.path());
    let prefix = format!("{}/{}", hostile.host, unique_namespace());
    let args = strings(&[
        "index",
        "--registry",
        &prefix,
        "--rhdh-version",
        "1.10.0",
        "--overlay",
        "overlay",
        "--store",
        &format!("docker://{}", hostile.host),
        "--insecure-registry",
        &hostile.host,
        "--on-missing",
        "older-tag",
        "--registry-attempts",
        "1",
    ]);
    let (output, peak) = run_measured(work.path(), &args, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let limit = task_limit("index", "index");
    eprintln!("index on an endless tag list: peak {peak} KiB (the index Task allows {limit} KiB)");
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("registry {}", hostile.host)), "{stderr}");
    assert!(stderr.contains("tag list goes on past"), "{stderr}");
    assert!(!work.path().join("catalog-index").exists() && !work.path().join("plugin_builds").exists());
    assert!(peak < limit / 4, "peak {peak} KiB, the index Task allows {limit} KiB");
    let pages = hostile.requests().iter().filter(|request| request.path().ends_with("/tags/list")).count();
    assert!(pages <= 7 * 3, "{pages} tag list pages were read for 7 plugins");
}

/// `fetch` hashes every overlay file to tell whether a workspace changed: a 300 MB file is
/// streamed (the run stays below a quarter of its size), a 3 GiB one is refused by its size
/// before a byte is read (exit 2, naming it), both far below the fetch Task's 2 Gi.
#[test]
fn fetch_hashes_large_overlay_files_as_streams() {
    let limit = task_limit("fetch", "fetch");
    for (size, code) in [(300u64 * 1024 * 1024, 0), (3 * 1024 * 1024 * 1024, 2)] {
        let work = tempfile::tempdir().unwrap();
        let overlay = example_overlay(work.path());
        std::fs::rename(&overlay, work.path().join("overlay-repo")).unwrap();
        std::fs::write(
            work.path().join("upstream_repos.yml"),
            "rhdh: {branch: main, version: 1.10.0}\nbackstage: {version: 1.49.4}\nrepos:\n  - repo: https://github.com/x/overlays\n    branch: main\n    destination_folder: overlay-repo\n",
        )
        .unwrap();
        let big = work.path().join("overlay-repo/workspaces/tech-radar/big.bin");
        std::fs::File::create(&big).unwrap().set_len(size).unwrap();
        let args = strings(&["fetch", "--tree", ".", "--overlay", "overlay-repo", "--skip-clone"]);
        let (output, peak) = run_measured(work.path(), &args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("fetch with a {size}-byte overlay file: peak {peak} KiB (the fetch Task allows {limit} KiB)");
        assert_eq!(output.status.code(), Some(code), "{size}: {stderr}");
        if code == 2 {
            assert!(stderr.contains("big.bin") && stderr.contains("is larger than"), "{stderr}");
            assert!(!Path::new(&work.path().join("plan.json")).exists(), "nothing written");
        }
        assert!(peak < (size / 1024 / 4).min(limit), "{size}: peak {peak} KiB");
    }
}
