//! Hostile artifacts and fetch records, through the real binary: archives with links that chain
//! out of the destination, entries below links (the archive's own, or ones already in the
//! destination), hard links already in the destination, decompression bombs, corrupt blobs, `.git`
//! marked whole or left out of an exact unpack, `--read-only` onto occupied places and shared
//! extractions written into; a forged fetch record over edited upstream files, and a file larger
//! than the memory `fetch` may use in a fetched folder. Every case asserts the exit status, what the user is told, and that nothing
//! outside the destination was written or deleted (the case's `outside/` folder byte-identical);
//! the memory cases measure the child's peak RSS.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::snapshot;
use crate::support::upstreams;

/// The repository hostile blobs are stored under in the case's OCI layout.
const REPOSITORY: &str = "localhost/hostile";

/// One tar entry: its path and what it is.
enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Mode(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Link(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    Fifo(&'a str),
    CharDevice(&'a str),
}

/// A tar.gz of `entries` exactly as given (paths written into the header raw: absolute paths and
/// `..` included, which the tar crate's own setters refuse).
fn tar_gz(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(0);
        let (path, data): (&str, &[u8]) = match entry {
            Entry::File(path, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                (path, data)
            }
            Entry::Mode(path, data, mode) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                header.set_mode(*mode);
                (path, data)
            }
            Entry::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                (path, b"")
            }
            Entry::Link(path, target) | Entry::HardLink(path, target) => {
                let kind =
                    if matches!(entry, Entry::Link(..)) { tar::EntryType::Symlink } else { tar::EntryType::Link };
                header.set_entry_type(kind);
                let name = &mut header.as_old_mut().linkname;
                name[..target.len()].copy_from_slice(target.as_bytes());
                (path, b"")
            }
            Entry::Fifo(path) => {
                header.set_entry_type(tar::EntryType::Fifo);
                (path, b"")
            }
            Entry::CharDevice(path) => {
                header.set_entry_type(tar::EntryType::Char);
                (path, b"")
            }
        };
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    gzip(&builder.into_inner().unwrap())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A case's folders: `store/` (an OCI layout), `work/` (where it unpacks) and `outside/` (what
/// must never change).
struct Scene {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for folder in ["store", "work", "outside"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        std::fs::write(root.join("outside/secret.txt"), "outside!").unwrap();
        Scene { _dir: dir, root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Stores `blob` in the layout; returns its `oci:` URI.
    fn put(&self, blob: &[u8]) -> String {
        use sha2::Digest as _;
        let hex = hex::encode(sha2::Sha256::digest(blob));
        let path = self.path(&format!("store/{REPOSITORY}/blobs/sha256/{hex}"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, blob).unwrap();
        format!("oci:{REPOSITORY}@sha256:{hex}")
    }
}

/// What a run of the binary did.
struct Ran {
    code: Option<i32>,
    output: String,
    /// Peak resident memory of the child, KiB.
    peak_kib: u64,
}

/// Runs the binary with `args` in the scene (under `/usr/bin/time`, for its peak RSS).
fn run(scene: &Scene, args: &[&str]) -> Ran {
    let rss = scene.path("rss");
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .arg(assert_cmd::cargo::cargo_bin("rhdh-catalog"))
        .args(args)
        .current_dir(scene.path("work"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &scene.root)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env("RHDH_CATALOG_ALLOW_LOCAL_REPOS", "true")
        .output()
        .unwrap();
    let peak_kib = std::fs::read_to_string(&rss)
        .ok()
        .and_then(|text| text.lines().last().and_then(|line| line.trim().parse().ok()))
        .unwrap_or(0);
    let _ = std::fs::remove_file(&rss);
    Ran {
        code: output.status.code(),
        output: format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
        peak_kib,
    }
}

/// `artifact use` of `uris` into `work/dest` (`extra` flags first).
fn artifact_use(scene: &Scene, extra: &[&str], uris: &[String]) -> Ran {
    let store = format!("--artifact-store=oci-layout:{}", scene.path("store").display());
    let to = scene.path("work/dest").display().to_string();
    let mut args = vec!["artifact", "use", &store, "--to", &to];
    args.extend(extra);
    args.extend(uris.iter().map(String::as_str));
    run(scene, &args)
}

/// Checks one refused case: exit 2, every fragment in the output with a `hint:`, and `work/` and
/// `outside/` exactly as before.
fn refused(name: &str, scene: &Scene, ran: &Ran, before: &Snapshots, fragments: &[&str]) -> Result<(), String> {
    let mut problems = Vec::new();
    if ran.code != Some(2) {
        problems.push(format!("exit {:?}, expected 2", ran.code));
    }
    for fragment in fragments {
        if !ran.output.contains(fragment) {
            problems.push(format!("output lacks {fragment:?}"));
        }
    }
    if !ran.output.contains("hint: ") {
        problems.push("no `hint:`".to_string());
    }
    if ran.output.contains("panicked") {
        problems.push("panicked".to_string());
    }
    problems.extend(before.changes(scene));
    if problems.is_empty() { Ok(()) } else { Err(format!("{name}: {}\n{}", problems.join("; "), ran.output)) }
}

/// `work/` and `outside/` as they were.
struct Snapshots {
    work: std::collections::BTreeMap<PathBuf, Vec<u8>>,
    outside: std::collections::BTreeMap<PathBuf, Vec<u8>>,
}

impl Snapshots {
    fn of(scene: &Scene) -> Snapshots {
        Snapshots { work: snapshot(&scene.path("work")), outside: snapshot(&scene.path("outside")) }
    }

    fn changes(&self, scene: &Scene) -> Vec<String> {
        let mut problems = Vec::new();
        if snapshot(&scene.path("work")) != self.work {
            problems.push("work/ was written".to_string());
        }
        problems.extend(self.outside_changes(scene));
        problems
    }

    fn outside_changes(&self, scene: &Scene) -> Vec<String> {
        let now = snapshot(&scene.path("outside"));
        let mut problems = Vec::new();
        if now != self.outside {
            problems.push(format!("outside/ changed: {:?}", now.keys().collect::<Vec<_>>()));
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(scene.path("outside/secret.txt")).unwrap().permissions(),
        );
        if mode & 0o111 != 0 {
            problems.push("outside/secret.txt became executable".to_string());
        }
        problems
    }
}

/// A refused case: `prepare` the scene, unpack what `blobs` makes, check.
fn refused_case(
    name: &str,
    prepare: fn(&Scene),
    blobs: &[Vec<u8>],
    extra: &[&str],
    fragments: &[&str],
) -> Result<(), String> {
    let scene = Scene::new();
    prepare(&scene);
    let uris: Vec<String> = blobs.iter().map(|blob| scene.put(blob)).collect();
    let before = Snapshots::of(&scene);
    let ran = artifact_use(&scene, extra, &uris);
    refused(name, &scene, &ran, &before, fragments)
}

fn nothing(_: &Scene) {}

fn link_to_outside(scene: &Scene, at: &str) {
    std::fs::create_dir_all(scene.path("work/dest")).unwrap();
    std::os::unix::fs::symlink(scene.path("outside"), scene.path(&format!("work/dest/{at}"))).unwrap();
}

#[test]
fn hostile_archives_are_refused_before_anything_is_written() {
    let mut results = vec![
        refused_case(
            "a link chain: d/l1 → .. then l2 → d/l1/..",
            nothing,
            &[tar_gz(&[Entry::Dir("d/"), Entry::Link("d/l1", ".."), Entry::Link("l2", "d/l1/..")])],
            &[],
            &["links to links are refused", "l2"],
        ),
        refused_case(
            "a chain through a link already in the destination",
            |scene| link_to_outside(scene, "up"),
            &[tar_gz(&[Entry::Link("l", "up/secret.txt")])],
            &[],
            &["leads through the link `up`"],
        ),
        refused_case(
            "an entry below the archive's own link",
            nothing,
            &[tar_gz(&[Entry::Link("l", "."), Entry::Link("l/l/e", "../../outside"), Entry::File("e/pwn", b"x")])],
            &[],
            &["lies below the link `l`"],
        ),
        refused_case(
            "an entry below a link already in the destination",
            |scene| link_to_outside(scene, "a"),
            &[tar_gz(&[Entry::File("a/pwn.txt", b"x")])],
            &[],
            &["is a symbolic link", "a/pwn.txt"],
        ),
        refused_case(
            "an absolute path",
            nothing,
            &[tar_gz(&[Entry::File("/tmp/rhdh-catalog-hostile-escape", b"x")])],
            &[],
            &["would leave the destination"],
        ),
        refused_case(
            "a path climbing out",
            nothing,
            &[tar_gz(&[Entry::File("a/../../outside/pwn.txt", b"x")])],
            &[],
            &["would leave the destination"],
        ),
        refused_case(
            "a link to an absolute path",
            nothing,
            &[tar_gz(&[Entry::Link("etc", "/etc")])],
            &[],
            &["archive link `etc`", "would leave the destination"],
        ),
        refused_case(
            "a character device",
            nothing,
            &[tar_gz(&[Entry::CharDevice("null")])],
            &[],
            &["unsupported type"],
        ),
        refused_case("a FIFO", nothing, &[tar_gz(&[Entry::Fifo("pipe")])], &[], &["unsupported type"]),
        refused_case(
            "a hard link entry",
            nothing,
            &[tar_gz(&[Entry::File("a", b"x"), Entry::HardLink("b", "a")])],
            &[],
            &["unsupported type"],
        ),
        refused_case(
            "not gzip",
            nothing,
            &[b"PK\x03\x04 this is a zip, not a tar.gz".to_vec()],
            &[],
            &["not a readable tar.gz"],
        ),
        refused_case(
            "a truncated archive",
            nothing,
            &[{
                let whole = tar_gz(&[Entry::File("a.txt", &[b'a'; 100_000]), Entry::File("b.txt", b"b")]);
                whole[..whole.len() / 2].to_vec()
            }],
            &[],
            &["the archive"],
        ),
        refused_case(
            "an artifact marking .git whole",
            |scene| {
                std::fs::create_dir_all(scene.path("work/dest/.git")).unwrap();
                std::fs::write(scene.path("work/dest/.git/config"), "[core]\n").unwrap();
            },
            &[tar_gz(&[Entry::File(".rhdh-catalog-artifact.json", br#"{"whole": [".git"]}"#)])],
            &[],
            &["never replaced whole"],
        ),
        refused_case(
            "a later artifact holding .git",
            nothing,
            &[
                tar_gz(&[Entry::File("a.txt", b"a")]),
                tar_gz(&[Entry::File(".git/config", b"[core]\n\tfsmonitor = evil\n")]),
            ],
            &[],
            &["only the first may hold .git"],
        ),
        refused_case(
            "--read-only onto a folder that holds files",
            |scene| {
                std::fs::create_dir_all(scene.path("work/dest")).unwrap();
                std::fs::write(scene.path("work/dest/mine.txt"), "mine").unwrap();
            },
            &[tar_gz(&[Entry::File("a.txt", b"a")])],
            &["--read-only"],
            &["holds files", "nothing was unpacked"],
        ),
        refused_case(
            "--read-only onto a file",
            |scene| std::fs::write(scene.path("work/dest"), "a file").unwrap(),
            &[tar_gz(&[Entry::File("a.txt", b"a")])],
            &["--read-only"],
            &["is not a folder"],
        ),
    ];
    // --read-only refused before anything was fetched or extracted.
    results.push({
        let scene = Scene::new();
        std::fs::write(scene.path("work/dest"), "a file").unwrap();
        let uri = scene.put(&tar_gz(&[Entry::File("a.txt", b"a")]));
        artifact_use(&scene, &["--read-only"], &[uri]);
        if scene.path("store/.unpacked").exists() {
            Err("--read-only onto a file: an extraction was made anyway".to_string())
        } else {
            Ok(())
        }
    });
    super::report("hostile archives", results);
}

/// A tar.gz of `count` files of `size` zero bytes each, made by the system's `gzip -9` (quick
/// where a debug build of flate2 takes minutes).
fn bomb(count: usize, size: u64) -> Vec<u8> {
    use std::io::Write as _;
    let mut gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut input = gzip.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let zeros = vec![0u8; 1 << 20];
        for index in 0..count {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_size(size);
            header.set_path(format!("zeros-{index}")).unwrap();
            header.set_cksum();
            input.write_all(header.as_bytes()).unwrap();
            let mut left = size;
            while left > 0 {
                let chunk = left.min(zeros.len() as u64);
                input.write_all(&zeros[..usize::try_from(chunk).unwrap()]).unwrap();
                left -= chunk;
            }
            input.write_all(&zeros[..usize::try_from((512 - size % 512) % 512).unwrap()]).unwrap();
        }
        input.write_all(&[0u8; 1024]).unwrap();
    });
    let output = gzip.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success());
    output.stdout
}

#[test]
fn a_decompression_bomb_is_refused_within_bounded_memory() {
    // 512 MiB of zeros packs to about half a MiB: a ratio of 1,000.
    let bomb = bomb(2, 256 * 1024 * 1024);
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
    let scene = Scene::new();
    let uri = scene.put(&bomb);
    let before = Snapshots::of(&scene);
    let ran = artifact_use(&scene, &["--exact"], &[uri]);
    refused("a decompression bomb", &scene, &ran, &before, &["unpacks to more than", "times its"]).unwrap();
    // Streamed: the 512 MiB of content never sits in memory (the blob itself does: 0.5 MiB).
    assert!(ran.peak_kib > 0 && ran.peak_kib < 128 * 1024, "peak RSS {} KiB", ran.peak_kib);
}

#[test]
fn a_hard_link_already_in_the_destination_is_replaced_never_written_through() {
    for exact in [false, true] {
        let scene = Scene::new();
        std::fs::create_dir_all(scene.path("work/dest")).unwrap();
        std::fs::hard_link(scene.path("outside/secret.txt"), scene.path("work/dest/same-size.txt")).unwrap();
        std::fs::hard_link(scene.path("outside/secret.txt"), scene.path("work/dest/mode-only.txt")).unwrap();
        // Same size as the outside file (the case an in-place rewrite would take), and the same
        // bytes with another mode (a chmod would reach the outside file).
        let uri = scene.put(&tar_gz(&[
            Entry::File("same-size.txt", b"archive!"),
            Entry::Mode("mode-only.txt", b"outside!", 0o755),
        ]));
        let before = Snapshots::of(&scene);
        let extra: &[&str] = if exact { &["--exact"] } else { &[] };
        let ran = artifact_use(&scene, extra, &[uri]);
        assert_eq!(ran.code, Some(0), "{}", ran.output);
        assert!(ran.output.contains("artifact restored") && ran.output.contains("written=2"), "{}", ran.output);
        assert!(before.outside_changes(&scene).is_empty(), "{:?}", before.outside_changes(&scene));
        assert_eq!(std::fs::read_to_string(scene.path("work/dest/same-size.txt")).unwrap(), "archive!");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(scene.path("work/dest/mode-only.txt")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o755);
    }
}

#[test]
fn an_exact_unpack_never_removes_a_git_the_artifacts_do_not_hold() {
    let scene = Scene::new();
    for (path, text) in [(".git/HEAD", "ref: refs/heads/main\n"), ("tracked.txt", "t"), ("sub/.git/config", "[core]\n")]
    {
        let path = scene.path(&format!("work/dest/{path}"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let uri = scene.put(&tar_gz(&[Entry::File("new.txt", b"n")]));
    let before = Snapshots::of(&scene);
    let ran = artifact_use(&scene, &["--exact"], &[uri]);
    assert_eq!(ran.code, Some(0), "{}", ran.output);
    assert!(ran.output.contains("removed=1"), "only tracked.txt goes: {}", ran.output);
    assert!(scene.path("work/dest/.git/HEAD").is_file() && scene.path("work/dest/sub/.git/config").is_file());
    assert!(!scene.path("work/dest/tracked.txt").exists() && scene.path("work/dest/new.txt").is_file());
    assert!(before.outside_changes(&scene).is_empty());
}

#[test]
fn a_shared_read_only_extraction_written_into_is_checked_and_put_back_before_it_is_served() {
    let scene = Scene::new();
    let uri =
        scene.put(&tar_gz(&[Entry::Dir("d/"), Entry::File("d/plan.json", b"{}\n"), Entry::File("keep.txt", b"k")]));
    let ran = artifact_use(&scene, &["--read-only"], std::slice::from_ref(&uri));
    assert_eq!(ran.code, Some(0), "{}", ran.output);
    let shared = std::fs::read_link(scene.path("work/dest")).unwrap();
    assert!(shared.starts_with(scene.path("store/.unpacked")), "{}", shared.display());
    // A step wrote into it: a file added, one rewritten in place, one removed.
    std::fs::write(shared.join("d/planted.sh"), "#!/bin/sh\n").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(shared.join("d/plan.json"))
        .and_then(|mut file| {
            use std::io::Write as _;
            file.write_all(b"[]")
        })
        .unwrap();
    std::fs::remove_file(shared.join("keep.txt")).unwrap();
    std::fs::remove_file(scene.path("work/dest")).unwrap();
    let before = Snapshots::of(&scene);
    let ran = artifact_use(&scene, &["--read-only"], &[uri]);
    assert_eq!(ran.code, Some(0), "{}", ran.output);
    assert!(ran.output.contains("had been changed since it was made"), "the user is told: {}", ran.output);
    assert_eq!(std::fs::read_link(scene.path("work/dest")).unwrap(), shared, "the same extraction, served again");
    assert!(!shared.join("d/planted.sh").exists(), "the planted file is gone");
    assert_eq!(std::fs::read_to_string(shared.join("d/plan.json")).unwrap(), "{}\n");
    assert_eq!(std::fs::read_to_string(shared.join("keep.txt")).unwrap(), "k");
    assert!(before.outside_changes(&scene).is_empty());
}

/// The fetch fixture (an overlay upstream and a midstream tree) with the overlay served by a remote
/// that counts the packs it sends, fetched once.
fn fetched_fixture(root: &Path) -> (upstreams::Upstreams, crate::support::counting_remote::CountingRemote) {
    let fixture = upstreams::create(root);
    let remote = crate::support::counting_remote::CountingRemote::start(root);
    let upstream_repos = fixture.tree.join("upstream_repos.yml");
    let original = std::fs::read_to_string(&upstream_repos).unwrap();
    std::fs::write(&upstream_repos, original.replace(&upstreams::url(&fixture.overlay), &remote.url(&fixture.overlay)))
        .unwrap();
    (fixture, remote)
}

fn fetch(home: &Path, tree: &Path) -> std::process::Output {
    crate::support::rhdh_catalog(home).env("RUST_LOG", "info").arg("fetch").arg("--tree").arg(tree).output().unwrap()
}

#[test]
fn a_forged_fetch_record_over_edited_upstream_files_does_not_skip_the_clone() {
    let scratch = tempfile::tempdir().unwrap();
    let (fixture, remote) = fetched_fixture(scratch.path());
    let output = fetch(scratch.path(), &fixture.tree);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(remote.packs().len(), 1);
    let destination = fixture.tree.join("overlay-repo");
    let versions = destination.join("versions.json");
    let upstream_versions = std::fs::read_to_string(&versions).unwrap();
    // The attacker's commit: an edited "upstream" file, and the record rewritten to match it.
    std::fs::write(&versions, "{\"backstage\": \"6.6.6\"}\n").unwrap();
    let record_path = destination.join(".rhdh-catalog-fetch.json");
    let mut record: serde_json::Value = serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    std::fs::remove_file(&record_path).unwrap();
    record["content-id"] = serde_json::Value::String(forged_content_id(&destination));
    std::fs::write(&record_path, serde_json::to_string_pretty(&record).unwrap()).unwrap();
    let outside = snapshot(&fixture.overlay);
    let output = fetch(scratch.path(), &fixture.tree);
    let told = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{told}");
    assert_eq!(remote.packs().len(), 2, "cloned again despite the record: {told}");
    assert!(told.contains("fetched") && !told.contains("not cloned"), "{told}");
    assert_eq!(std::fs::read_to_string(&versions).unwrap(), upstream_versions, "the upstream file is back");
    assert_eq!(snapshot(&fixture.overlay), outside, "the upstream repository is untouched");
    // The record it wrote is its own again: the next fetch clones nothing.
    let output = fetch(scratch.path(), &fixture.tree);
    assert!(output.status.success());
    assert_eq!(remote.packs().len(), 2, "{}", String::from_utf8_lossy(&output.stderr));
}

/// The content id the record holds (`fetch_record::content_id`, no links): what an attacker
/// computes for the edited folder.
fn forged_content_id(destination: &Path) -> String {
    use sha2::Digest as _;
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in std::fs::read_dir(destination.join(&relative)).unwrap() {
            let entry = entry.unwrap();
            let child = relative.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                pending.push(child);
            } else if entry.file_type().unwrap().is_file() && child != Path::new(".rhdh-catalog-fetch.json") {
                files.push(child);
            }
        }
    }
    files.sort();
    let mut hasher = sha2::Sha256::new();
    for relative in files {
        let bytes = std::fs::read(destination.join(&relative)).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(destination.join(&relative)).unwrap().permissions(),
        );
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0, u8::from(mode & 0o111 != 0), 0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[test]
fn a_file_larger_than_the_memory_fetch_may_use_is_hashed_as_it_streams() {
    let scratch = tempfile::tempdir().unwrap();
    let (fixture, remote) = fetched_fixture(scratch.path());
    let output = fetch(scratch.path(), &fixture.tree);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let scene = Scene { _dir: tempfile::tempdir().unwrap(), root: scratch.path().to_path_buf() };
    std::fs::create_dir_all(scene.path("work")).unwrap();
    let tree = fixture.tree.display().to_string();
    let plain = run(&scene, &["fetch", "--tree", &tree]);
    assert_eq!((plain.code, remote.packs().len()), (Some(0), 1), "{}", plain.output);
    // A sparse file (no disk used), read back as zeros: 48 MiB here (a debug build hashes slowly);
    // read whole, it would add its size to the peak, streamed it adds nothing.
    let size: u64 = 48 * 1024 * 1024;
    let big = std::fs::File::create(fixture.tree.join("overlay-repo/big.bin")).unwrap();
    big.set_len(size).unwrap();
    drop(big);
    let tree = fixture.tree.display().to_string();
    let ran = run(&scene, &["fetch", "--tree", &tree]);
    assert_eq!(ran.code, Some(0), "{}", ran.output);
    assert_eq!(remote.packs().len(), 2, "the folder changed: fetched again");
    assert!(ran.output.contains("fetched"), "{}", ran.output);
    assert!(
        ran.peak_kib > 0 && ran.peak_kib < plain.peak_kib + 16 * 1024,
        "peak RSS {} KiB with a {size}-byte file, {} KiB without",
        ran.peak_kib,
        plain.peak_kib
    );
}
