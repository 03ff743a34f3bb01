//! The package cache `export` shares among workspaces and runs (`--package-cache DIR`): Yarn's
//! and npm's download caches (`DIR/yarn`, `DIR/yarn-berry`, `DIR/npm`, handed to the install,
//! build and exporter commands through their environment), and each workspace's installed
//! `node_modules` folders, kept after its export under the hash of what decides an install — the
//! install command, the lockfile, `.yarnrc.yml` and every `package.json` of the prepared workspace
//! (`DIR/installed/<workspace>-<hash>/`, the workspace's name part of the hash too). The next
//! export of that workspace whose hash is the same gets those folders moved back before its
//! install, which then has nothing to download or link — but only when their content is what
//! that workspace's own last export recorded ([`PackageCache::keep`] returns a content digest the
//! export writes into its record, which travels with the tree, not with the cache): an install of
//! another workspace runs arbitrary package scripts with this cache in reach, and what it changed
//! in a kept install is dropped, never run. Folders are moved, never copied: where the cache and
//! the work folder are on different file systems only the download caches serve. One kept install
//! per workspace; older ones are removed.

use std::path::{Path, PathBuf};

use crate::io::registry::Digest;

/// Lockfiles that make an install reproducible; a workspace without one is never kept.
const LOCKFILES: [&str; 2] = ["yarn.lock", "package-lock.json"];

/// The record inside a kept install: which folders (relative to the workspace root) it holds.
const RECORD: &str = "folders.json";

/// An open package cache.
#[derive(Clone, Debug)]
pub(crate) struct PackageCache {
    root: PathBuf,
    /// What the installed tree was built for: `node --version`, the OS and the architecture (a
    /// native addon built for another Node is no install to reuse).
    runtime: String,
}

impl PackageCache {
    /// The cache at `root` (created when missing). Folders an export left half-moved more than an
    /// hour ago (it was stopped) are removed.
    pub(crate) fn open(root: &Path) -> std::io::Result<PackageCache> {
        let installed = root.join("installed");
        fs_err::create_dir_all(&installed)?;
        let stale = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for entry in fs_err::read_dir(&installed)?.filter_map(Result::ok) {
            let unfinished = entry.file_name().to_string_lossy().starts_with('.');
            let old = entry.metadata().and_then(|metadata| metadata.modified()).is_ok_and(|modified| modified < stale);
            if unfinished && old {
                let _ = fs_err::remove_dir_all(entry.path());
            }
        }
        let node = std::process::Command::new("node")
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
            .unwrap_or_default();
        let runtime = format!("node {node}, {} {}", std::env::consts::OS, std::env::consts::ARCH);
        Ok(PackageCache { root: root.to_path_buf(), runtime })
    }

    /// The environment that points Yarn 1, Yarn 2+ and npm at the shared download caches.
    pub(crate) fn environment(&self) -> Vec<(String, String)> {
        let folder = |name: &str| self.root.join(name).display().to_string();
        vec![
            ("YARN_CACHE_FOLDER".into(), folder("yarn")),
            ("YARN_GLOBAL_FOLDER".into(), folder("yarn-berry")),
            ("npm_config_cache".into(), folder("npm")),
        ]
    }

    /// Moves the kept install of `workspace` with `key` into `root` (the workspace root, before
    /// its install runs), when its content digest is `expected` (what the workspace's last export
    /// recorded); a kept install with other content is removed. Returns how many folders came
    /// back (0: nothing was kept under that key, or it was not what was recorded).
    pub(crate) fn restore(&self, workspace: &str, key: &Digest, root: &Path, expected: Option<&str>) -> usize {
        let entry = self.entry(workspace, key);
        if !entry.is_dir() {
            return 0;
        }
        // A folder of our own (unique even among pods with the same pid), the entry taken into it
        // with one rename, so two exports never share one kept install.
        let Ok(own) = tempfile::Builder::new().prefix(".taking-").tempdir_in(self.root.join("installed")) else {
            return 0;
        };
        let taken = own.path().join("entry");
        if fs_err::rename(&entry, &taken).is_err() {
            return 0;
        }
        let folders: Vec<String> = crate::io::fs::read_input(&taken.join(RECORD))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let actual = content_digest(&taken, folders.len());
        if expected.is_none() || actual.as_deref() != expected {
            tracing::warn!(
                workspace,
                "the kept install is not what this workspace's last export recorded; it was removed and the install runs afresh"
            );
            return 0;
        }
        let mut restored = 0;
        for (number, relative) in folders.iter().enumerate() {
            let Some(relative) = confined(relative) else { continue };
            let target = root.join(&relative);
            // Never through a link of the fresh checkout that leads out of it.
            if target.exists()
                || !target.parent().is_some_and(Path::is_dir)
                || !crate::io::fs::lies_inside(root, &target)
            {
                continue;
            }
            if fs_err::rename(taken.join(number.to_string()), &target).is_ok() {
                restored += 1;
            }
        }
        restored
    }

    /// Moves the installed `node_modules` folders of `root` into the cache under `workspace` and
    /// `key`, replacing what was kept for that workspace; returns their content digest, for the
    /// workspace's export record (see [`PackageCache::restore`]). Best effort: a failure (another
    /// file system, a full disk) leaves them where they are for the work folder's clean-up.
    pub(crate) fn keep(&self, workspace: &str, key: &Digest, root: &Path) -> Option<String> {
        let installed = self.root.join("installed");
        // Dropped (deleted) on every way out but the last rename.
        let Ok(own) = tempfile::Builder::new().prefix(".keeping-").tempdir_in(&installed) else { return None };
        let staging = own.path();
        let mut moved = Vec::new();
        for relative in installed_folders(root) {
            if fs_err::rename(root.join(&relative), staging.join(moved.len().to_string())).is_err() {
                // Part of an install is no install to keep.
                return None;
            }
            moved.push(relative.to_string_lossy().into_owned());
        }
        let record = serde_json::to_vec(&moved).unwrap_or_default();
        let prefix = format!("{workspace}-");
        if moved.is_empty() || fs_err::write(staging.join(RECORD), record).is_err() {
            return None;
        }
        let digest = content_digest(staging, moved.len())?;
        if let Ok(entries) = fs_err::read_dir(&installed) {
            for entry in entries.filter_map(Result::ok) {
                let name = entry.file_name().to_string_lossy().into_owned();
                let old = name.strip_prefix(&prefix).is_some_and(|hex| hex.len() == 64 && !hex.contains('-'));
                if old {
                    let _ = fs_err::remove_dir_all(entry.path());
                }
            }
        }
        if fs_err::rename(staging, self.entry(workspace, key)).is_ok() {
            // Renamed away: nothing left for the drop to delete.
            let _ = own.keep();
            return Some(digest);
        }
        None
    }

    /// The key of the install of `workspace` at `root` with `install_command` on this runtime;
    /// `None` without a lockfile (see [`install_key`]). The workspace is part of it: no two
    /// workspaces ever share a kept install.
    pub(crate) fn key(&self, workspace: &str, root: &Path, install_command: &str) -> anyhow::Result<Option<Digest>> {
        install_key(root, &format!("{install_command}\0{}\0workspace {workspace}", self.runtime))
    }

    fn entry(&self, workspace: &str, key: &Digest) -> PathBuf {
        self.root.join("installed").join(format!("{workspace}-{}", key.hex()))
    }
}

/// The hash of what decides the install of the workspace at `root`: the install command (with
/// the runtime, see [`PackageCache::key`]), the lockfile, the Yarn and npm settings, every
/// `package.json` outside `node_modules` and the files of a `patches/` folder (applied by
/// `patch-package` on install). `None` without a lockfile (such an install is not reproducible,
/// so it is never kept).
fn install_key(root: &Path, install_command: &str) -> anyhow::Result<Option<Digest>> {
    if !LOCKFILES.iter().any(|name| root.join(name).is_file()) {
        return Ok(None);
    }
    let mut inputs = Vec::new();
    for name in LOCKFILES.iter().chain(&[".yarnrc.yml", ".yarnrc", ".npmrc"]) {
        let path = root.join(name);
        if path.is_file() {
            inputs.push((PathBuf::from(name), crate::io::fs::hash_file(&path, MAX_KEY_FILE_BYTES, None)?));
        }
    }
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs_err::read_dir(root.join(&relative))? {
            let entry = entry?;
            let name = entry.file_name();
            let kind = entry.file_type()?;
            let child = relative.join(&name);
            let in_patches = child.starts_with("patches") || child.components().any(|part| part.as_os_str() == ".yarn");
            if kind.is_dir() && !matches!(name.to_str(), Some("node_modules" | ".git" | "dist-dynamic")) {
                pending.push(child);
            } else if kind.is_file() && (name == "package.json" || in_patches && !child.starts_with(".yarn/cache")) {
                inputs.push((child, crate::io::fs::hash_file(&entry.path(), MAX_KEY_FILE_BYTES, None)?));
            }
        }
    }
    Ok(Some(key_of(install_command, inputs)))
}

/// Most bytes one file that decides an install may have (lockfiles are a few MiB).
const MAX_KEY_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The hash of an install command and its input files (each by its digest, in any order).
fn key_of(install_command: &str, mut inputs: Vec<(PathBuf, Digest)>) -> Digest {
    inputs.sort();
    let mut text = Vec::new();
    for part in [b"install\0".as_slice(), install_command.as_bytes(), b"\0"] {
        text.extend_from_slice(part);
    }
    for (path, digest) in inputs {
        text.extend_from_slice(path.to_string_lossy().as_bytes());
        text.push(0);
        text.extend_from_slice(digest.as_str().as_bytes());
        text.push(0);
    }
    Digest::of(&text)
}

/// The content digest of a kept install: its `count` numbered folders, every file, folder and
/// link in them (see [`crate::io::fs::tree_digest`]). `None` when it cannot be read whole.
fn content_digest(entry: &Path, count: usize) -> Option<String> {
    let mut parts: Vec<PathBuf> = (0..count).map(|number| PathBuf::from(number.to_string())).collect();
    parts.push(PathBuf::from(RECORD));
    crate::io::fs::tree_digest(entry, &parts).ok()
}

/// The `node_modules` folders of the workspace at `root` (not the ones inside them, nor the
/// exporter's `dist-dynamic` output), outermost first.
fn installed_folders(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let Ok(entries) = fs_err::read_dir(root.join(&relative)) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            let child = relative.join(&name);
            match name.to_str() {
                Some("node_modules") => found.push(child),
                Some(".git" | "dist-dynamic") => {}
                _ => pending.push(child),
            }
        }
    }
    found.sort();
    found
}

/// `relative` when it is a plain relative path (only normal components).
fn confined(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(relative);
    let plain =
        !relative.is_empty() && path.components().all(|component| matches!(component, std::path::Component::Normal(_)));
    plain.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = root.join(path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(path, text).unwrap();
        }
    }

    #[test]
    fn the_key_follows_the_lockfile_manifests_and_command_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(install_key(root, "yarn install").unwrap(), None, "no lockfile, no key");
        write(root, &[("yarn.lock", "a@1"), ("package.json", "{}"), ("plugins/x/package.json", "{\"name\":\"x\"}")]);
        let key = install_key(root, "yarn install").unwrap().unwrap();
        write(root, &[("plugins/x/src/index.ts", "changed"), ("node_modules/y/package.json", "{}")]);
        assert_eq!(install_key(root, "yarn install").unwrap(), Some(key.clone()), "sources and installs do not count");
        assert_ne!(install_key(root, "yarn install --frozen-lockfile").unwrap(), Some(key.clone()));
        write(root, &[("plugins/x/package.json", "{\"name\":\"x\",\"version\":\"2\"}")]);
        let changed = install_key(root, "yarn install").unwrap().unwrap();
        assert_ne!(changed, key, "a manifest counts");
        write(root, &[("yarn.lock", "a@2")]);
        let relocked = install_key(root, "yarn install").unwrap().unwrap();
        assert_ne!(relocked, changed, "the lockfile counts");
        write(root, &[("patches/a+1.patch", "+fix")]);
        let patched = install_key(root, "yarn install").unwrap().unwrap();
        assert_ne!(patched, relocked, "patch-package's patches count");
        write(root, &[(".npmrc", "registry=x")]);
        assert_ne!(install_key(root, "yarn install").unwrap().unwrap(), patched, "npm settings count");
    }

    #[test]
    fn a_kept_install_comes_back_under_the_same_key_only_once() {
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = PackageCache::open(cache_dir.path()).unwrap();
        let first = tempfile::tempdir().unwrap();
        write(
            first.path(),
            &[
                ("node_modules/a/index.js", "a"),
                ("plugins/x/node_modules/b/index.js", "b"),
                ("plugins/x/dist-dynamic/node_modules/c/index.js", "c"),
            ],
        );
        std::os::unix::fs::symlink("../plugins/x", first.path().join("node_modules/x")).unwrap();
        let key = Digest::of(b"key");
        let kept = cache.keep("ws", &key, first.path()).unwrap();
        assert!(!first.path().join("node_modules").exists() && !first.path().join("plugins/x/node_modules").exists());
        assert!(first.path().join("plugins/x/dist-dynamic/node_modules").exists(), "exporter output stays");

        let second = tempfile::tempdir().unwrap();
        write(second.path(), &[("plugins/x/package.json", "{}")]);
        assert_eq!(cache.restore("ws", &Digest::of(b"other"), second.path(), Some(&kept)), 0);
        assert_eq!(cache.restore("other-ws", &key, second.path(), Some(&kept)), 0);
        assert_eq!(cache.restore("ws", &key, second.path(), Some(&kept)), 2);
        assert_eq!(fs_err::read_to_string(second.path().join("node_modules/a/index.js")).unwrap(), "a");
        assert_eq!(fs_err::read_to_string(second.path().join("plugins/x/node_modules/b/index.js")).unwrap(), "b");
        assert!(second.path().join("node_modules/x/package.json").is_file(), "relative links still resolve");
        assert_eq!(cache.restore("ws", &key, second.path(), Some(&kept)), 0, "taken, not shared");
    }

    /// What another workspace's install (or anyone) changed in a kept install never comes back:
    /// a changed file, an added file, a changed record, a file turned into a link.
    #[test]
    fn a_kept_install_that_changed_is_dropped_not_restored() {
        type Tamper = fn(&Path);
        let tampers: [(&str, Tamper); 5] = [
            ("a file rewritten", |entry| fs_err::write(entry.join("0/a/index.js"), "pwned").unwrap()),
            ("a file added", |entry| fs_err::write(entry.join("0/a/postinstall.js"), "pwned").unwrap()),
            ("the record redirected", |entry| {
                fs_err::write(entry.join(RECORD), r#"["plugins/x/node_modules"]"#).unwrap();
            }),
            ("a file made a link", |entry| {
                fs_err::remove_file(entry.join("0/a/index.js")).unwrap();
                std::os::unix::fs::symlink("/etc/passwd", entry.join("0/a/index.js")).unwrap();
            }),
            ("a mode changed", |entry| {
                fs_err::set_permissions(
                    entry.join("0/a/index.js"),
                    std::os::unix::fs::PermissionsExt::from_mode(0o755),
                )
                .unwrap();
            }),
        ];
        for (name, tamper) in tampers {
            let cache_dir = tempfile::tempdir().unwrap();
            let cache = PackageCache::open(cache_dir.path()).unwrap();
            let first = tempfile::tempdir().unwrap();
            write(first.path(), &[("node_modules/a/index.js", "a")]);
            let key = Digest::of(b"key");
            let kept = cache.keep("ws", &key, first.path()).unwrap();
            tamper(&cache.entry("ws", &key));
            let second = tempfile::tempdir().unwrap();
            assert_eq!(cache.restore("ws", &key, second.path(), Some(&kept)), 0, "{name}");
            assert!(!second.path().join("node_modules").exists(), "{name}: nothing restored");
            assert!(!cache.entry("ws", &key).exists(), "{name}: the changed install was removed");
        }
        // Without a recorded digest nothing is restored either.
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = PackageCache::open(cache_dir.path()).unwrap();
        let first = tempfile::tempdir().unwrap();
        write(first.path(), &[("node_modules/a/index.js", "a")]);
        cache.keep("ws", &Digest::of(b"key"), first.path()).unwrap();
        assert_eq!(cache.restore("ws", &Digest::of(b"key"), tempfile::tempdir().unwrap().path(), None), 0);
    }

    #[test]
    fn one_install_is_kept_per_workspace() {
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = PackageCache::open(cache_dir.path()).unwrap();
        for (number, workspace) in [(1, "ws"), (2, "ws"), (3, "ws-two")] {
            let root = tempfile::tempdir().unwrap();
            write(root.path(), &[("node_modules/a/index.js", "a")]);
            cache.keep(workspace, &Digest::of(number.to_string().as_bytes()), root.path());
        }
        let mut kept: Vec<String> = fs_err::read_dir(cache_dir.path().join("installed"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        kept.sort();
        assert_eq!(kept, [format!("ws-{}", Digest::of(b"2").hex()), format!("ws-two-{}", Digest::of(b"3").hex())]);
    }
}
