//! The hostile-input corpus of the formats: every case a file (or a tree) broken the way an
//! attacker or an unlucky editor breaks it, run through the real binary. Each case asserts the
//! exit code (2 bad input, or 1 with a finding for `validate`), a message naming the file (and
//! line where known) and a fix (`hint:`), no panic, no raw control or look-alike character in the
//! output, nothing written (the case's folder byte-identical afterwards) and nothing executed (the
//! marker file a `$(touch …)` would create never appears).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::rhdh_catalog;

mod archive;
mod content;
mod dynamic_plugins;
mod images;
mod io;
mod leftovers;
mod links;
mod markdown;
mod measure;
mod memory;
mod outputs;
mod overlay;
mod package_cache;
mod reads;
mod round_two_variants;
mod silent;
mod upstream;

/// The file a `$(touch MARKER)` in any case would create; `{marker}` in case text becomes its path.
pub const MARKER: &str = "pwned-marker";

/// Owned strings of `items` (command lines of the cases).
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_string()).collect()
}

/// `index` of the example overlay (in `<work>/overlay`, images in `<work>/registry`) with `extra` flags.
pub fn index_args(extra: &[&str]) -> Vec<String> {
    let mut args = strings(&[
        "index",
        "--registry",
        "quay.io/rhdh",
        "--rhdh-version",
        "1.10.0",
        "--store",
        "oci-layout:registry",
        "--overlay",
        "overlay",
    ]);
    args.extend(strings(extra));
    args
}

/// One hostile case: what the run must end with.
pub struct Expect {
    pub code: i32,
    /// Fragments the output (stdout and stderr) must hold; `{dir}` is the case's folder.
    pub fragments: Vec<String>,
}

impl Expect {
    pub fn bad_input(fragments: &[&str]) -> Self {
        Expect { code: 2, fragments: fragments.iter().map(|fragment| (*fragment).to_string()).collect() }
    }
}

/// Every file under `dir` with its bytes (symbolic links by their target).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).map(|target| target.display().to_string()).unwrap_or_default();
                files.insert(path, target.into_bytes());
            } else if kind.is_dir() {
                files.insert(path.clone(), b"<dir>".to_vec());
                pending.push(path);
            } else if kind.is_file() {
                files.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            } else {
                // A FIFO or device: reading it would block or never end.
                files.insert(path.clone(), b"<special>".to_vec());
            }
        }
    }
    files
}

/// Characters the output may hold besides printable ASCII: what our own messages use.
const ALLOWED_NON_ASCII: &str = "…→—–";

/// Runs `args` in `dir` (the case's folder, which the case has filled) and checks the outcome;
/// a failure is returned as a line for the class's report.
pub fn check(name: &str, dir: &Path, args: &[String], expect: &Expect) -> Result<(), String> {
    check_with(name, dir, args, expect, &[], |_| {})
}

/// [`check`], where the output must also lack every `absent` fragment (e.g. the content of a
/// file the tool refused to read), and `configure` adjusts the command (its environment).
pub fn check_with(
    name: &str,
    dir: &Path,
    args: &[String],
    expect: &Expect,
    absent: &[&str],
    configure: impl FnOnce(&mut assert_cmd::Command),
) -> Result<(), String> {
    let before = snapshot(dir);
    let mut command = rhdh_catalog(dir);
    command.current_dir(dir).args(args);
    configure(&mut command);
    let output = command.output().map_err(|error| format!("{name}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let all = format!("{stdout}{stderr}");
    let shown = || format!("--- stdout:\n{stdout}--- stderr:\n{stderr}");
    let mut problems = Vec::new();
    if output.status.code() != Some(expect.code) {
        problems.push(format!("exit code {:?}, expected {}", output.status.code(), expect.code));
    }
    if output.status.code() == Some(101) || stderr.contains("panicked") {
        problems.push("panicked".to_string());
    }
    for fragment in &expect.fragments {
        let fragment = fragment.replace("{dir}", &dir.display().to_string());
        if !all.contains(&fragment) {
            problems.push(format!("output lacks {fragment:?}"));
        }
    }
    for fragment in absent {
        if all.contains(fragment) {
            problems.push(format!("output holds {fragment:?}, which it must not show"));
        }
    }
    if !all.contains("hint: ") {
        problems.push("no `hint:` (the fix)".to_string());
    }
    if let Some(character) = all.chars().find(|character| {
        (character.is_control() && *character != '\n')
            || (!character.is_ascii() && !ALLOWED_NON_ASCII.contains(*character))
    }) {
        problems.push(format!("raw U+{:04X} in the output", u32::from(character)));
    }
    for internal in
        ["DuplicateKeyPolicy", "from_str_multiple", "Nodes {", "budget breached", "expected struct", "serde"]
    {
        if all.contains(internal) {
            problems.push(format!("parser internals: {internal}"));
        }
    }
    if dir.join(MARKER).exists() || Path::new("/tmp").join(MARKER).exists() {
        problems.push("the marker file appeared: something was executed".to_string());
    }
    let after = snapshot(dir);
    if after != before {
        let changed: Vec<String> = after
            .keys()
            .chain(before.keys())
            .filter(|path| after.get(*path) != before.get(*path))
            .map(|path| path.display().to_string())
            .collect();
        problems.push(format!("written: {}", changed.join(", ")));
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("{name}: {}\n{}", problems.join("; "), shown())) }
}

/// Fails with every failed case of a class at once.
pub fn report(class: &str, results: Vec<Result<(), String>>) {
    let total = results.len();
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{class}: {} of {total} cases failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Writes `files` (relative path → bytes) under `dir`.
pub fn write_files(dir: &Path, files: &[(&str, Vec<u8>)]) {
    for (path, bytes) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// An alias bomb (billion laughs): ten levels of ten aliases each, under `key`.
pub fn alias_bomb(key: &str) -> String {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let aliases = vec![format!("*a{}", level - 1); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{aliases}]\n"));
    }
    text.push_str(&format!("{key}: *a9\n"));
    text
}

/// `depth` levels of flow lists under `key`.
pub fn deep_flow(key: &str, depth: usize) -> String {
    format!("{key}: {}{}\n", "[".repeat(depth), "]".repeat(depth))
}

/// `depth` levels of block mappings under `key`.
pub fn deep_block(key: &str, depth: usize) -> String {
    let mut text = format!("{key}:\n");
    for level in 1..=depth {
        text.push_str(&"  ".repeat(level));
        text.push_str("k:\n");
    }
    text
}
