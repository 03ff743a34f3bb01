//! Folders as reproducible tar archives and back: [`collect_selected`] reads a folder (or the part of it a
//! [`Selection`] names) into layer files, [`unpack`] and [`unpack_all`] extract tar.gz archives,
//! refusing entries that would land outside the destination (absolute paths, `..`, links leaving
//! it, devices and other special files).
//!
//! An archive may mark folders *whole* (a [`MANIFEST`] entry at its root, never written out): such
//! a folder replaces what the archives before it, or the destination, hold at that path, so a
//! file removed from it does not survive. [`unpack_all`] leaves every file that already holds the
//! right bytes as it is, and with [`Existing::Exact`] removes whatever the archives do not hold: a
//! folder kept from an earlier extraction is brought up to date instead of written again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use crate::error::InputError;
use crate::io::registry::image::LayerFile;

/// The archive entry that lists the whole folders (JSON `{"whole": [path, ...]}`); reserved: a
/// file of that name at the root of a packed folder is left out.
pub(crate) const MANIFEST: &str = ".rhdh-catalog-artifact.json";

/// `*` matches any run of characters within one path segment; a pattern with fewer segments than
/// a path matches it when it matches the path's first segments (the path lies inside).
pub(crate) fn pattern_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_matches('/').split('/').collect();
    pattern.len() <= path.len() && pattern.iter().zip(&path).all(|(glob, segment)| segment_matches(glob, segment))
}

/// Whether `pattern` could match `dir` or something inside it.
fn pattern_reaches_into(pattern: &str, dir: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let dir: Vec<&str> = dir.trim_matches('/').split('/').collect();
    pattern.iter().zip(&dir).all(|(glob, segment)| segment_matches(glob, segment))
}

fn segment_matches(glob: &str, segment: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == segment;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !segment.starts_with(first)
        || !segment[first.len()..].ends_with(last)
        || segment.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &segment[first.len()..segment.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Which paths of a folder go into an archive. Without `include`, everything but what `exclude`
/// names; `include` takes what it names even inside an excluded folder, and alone, only that.
/// `whole`: folders the archive marks whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub(crate) include: Vec<String>,
    pub(crate) exclude: Vec<String>,
    pub(crate) whole: Vec<String>,
}

impl Selection {
    fn takes(&self, path: &str) -> bool {
        let excluded = self.exclude.iter().any(|pattern| pattern_matches(pattern, path));
        let included = self.include.iter().any(|pattern| pattern_matches(pattern, path));
        match (self.include.is_empty(), self.exclude.is_empty()) {
            (true, _) => !excluded,
            (false, true) => included,
            (false, false) => !excluded || included,
        }
    }

    fn may_take_inside(&self, dir: &str) -> bool {
        self.takes(dir) || self.include.iter().any(|pattern| pattern_reaches_into(pattern, dir))
    }
}

/// Every file, folder link and symbolic link under `root`, for an archive (unsorted: the tar
/// writer sorts).
#[cfg(test)]
pub(crate) fn collect(root: &Path) -> anyhow::Result<Vec<LayerFile>> {
    collect_selected(root, &Selection::default())
}

/// The files of `root` that `selection` takes, plus the [`MANIFEST`] entry when it marks folders
/// whole (none otherwise, so an archive without whole folders is what [`collect`] always made).
pub(crate) fn collect_selected(root: &Path, selection: &Selection) -> anyhow::Result<Vec<LayerFile>> {
    let mut files = Vec::new();
    let mut folders = BTreeSet::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs_err::read_dir(root.join(&relative))? {
            let entry = entry?;
            let child = relative.join(entry.file_name());
            let kind = entry.file_type()?;
            let path = child.to_string_lossy().replace('\\', "/");
            if relative.as_os_str().is_empty() && path == MANIFEST {
                continue;
            }
            if kind.is_dir() {
                // A folder counts even when empty: a whole folder with no files left must still
                // replace (empty) its counterpart.
                if selection.takes(&path) {
                    folders.insert(path.clone());
                }
                if selection.may_take_inside(&path) {
                    pending.push(child);
                }
                continue;
            }
            if !selection.takes(&path) {
                continue;
            }
            let mut parent = child.parent();
            while let Some(folder) = parent.filter(|folder| !folder.as_os_str().is_empty()) {
                folders.insert(folder.to_string_lossy().replace('\\', "/"));
                parent = folder.parent();
            }
            if kind.is_symlink() {
                let target = fs_err::read_link(entry.path())?;
                files.push(LayerFile {
                    path,
                    symlink: Some(target.to_string_lossy().into_owned()),
                    ..LayerFile::default()
                });
            } else if kind.is_file() {
                let contents = fs_err::read(entry.path())?;
                let executable = std::os::unix::fs::PermissionsExt::mode(&entry.metadata()?.permissions()) & 0o111 != 0;
                files.push(LayerFile { path, executable, contents, symlink: None });
            }
        }
    }
    let whole: Vec<&String> = folders
        .iter()
        .filter(|folder| {
            let depth = folder.split('/').count();
            selection.whole.iter().any(|pattern| {
                pattern.trim_matches('/').split('/').count() == depth && pattern_matches(pattern, folder)
            })
        })
        .collect();
    if !whole.is_empty() {
        let mut contents = serde_json::to_vec(&serde_json::json!({ "whole": whole }))?;
        contents.push(b'\n');
        files.push(LayerFile { path: MANIFEST.to_string(), contents, ..LayerFile::default() });
    }
    Ok(files)
}

/// Most bytes an archive may unpack to: far above a midstream tree, far below a disk.
pub(crate) const MAX_UNPACKED_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// Unpacks a tar.gz into `destination`, merging with what is there. Every entry is checked first
/// — absolute paths, `..`, links leaving the destination, devices, FIFOs and hard links are
/// refused, and the whole must stay under [`MAX_UNPACKED_BYTES`] — so a refused archive writes
/// nothing.
pub fn unpack(blob: &[u8], destination: &Path) -> anyhow::Result<()> {
    unpack_all(&[blob], destination, &[], Existing::Merge).map(|_| ())
}

/// What [`unpack_all`] does with what the destination already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Keep it, but for the folders an archive marks whole.
    Merge,
    /// Remove whatever the archives do not hold: the destination ends up exactly as unpacking
    /// into an empty folder would leave it.
    Exact,
}

/// What [`unpack_all`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// Regular files and links the archives hold (after `only`), and their bytes.
    pub(crate) files: u64,
    pub(crate) bytes: u64,
    /// Of those, the ones written (the others already held the right bytes).
    pub(crate) written: u64,
    /// Paths removed: not in the archives (exact), or under a whole folder.
    pub(crate) removed: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    File { size: u64, mode: u32 },
    Link(PathBuf),
}

/// Unpacks `blobs` into `destination`, later archives winning over earlier ones; with `only`, just
/// the paths those patterns match. Every archive is checked (see [`unpack`]) before anything is
/// written. A file that already holds the right bytes and mode is not written again.
pub(crate) fn unpack_all(
    blobs: &[&[u8]],
    destination: &Path,
    only: &[String],
    existing: Existing,
) -> anyhow::Result<Unpacked> {
    // Pass 1: check every entry and work out which archive each path comes from.
    let mut union: BTreeMap<PathBuf, (usize, Kind)> = BTreeMap::new();
    let mut whole_folders: BTreeSet<PathBuf> = BTreeSet::new();
    let taken = |path: &Path| {
        let text = path.to_string_lossy();
        only.is_empty() || only.iter().any(|pattern| pattern_matches(pattern, &text))
    };
    for (index, blob) in blobs.iter().enumerate() {
        let (entries, whole) = read_entries(blob)?;
        // Only the first archive of a folder (a checkout) may hold git's own files: one laid over
        // it must not replace `.git/config` or hooks of the checkout a later step runs git in.
        if index > 0
            && let Some((path, _)) =
                entries.iter().find(|(path, _)| path.components().any(|part| part.as_os_str() == ".git"))
        {
            return Err(refused(format!(
                "archive {} of {} holds `{}`: only the first may hold .git",
                index + 1,
                blobs.len(),
                path.display()
            )));
        }
        for folder in whole {
            // `--only` limits what a whole folder replaces too: one outside it is left alone.
            let reached =
                only.is_empty() || only.iter().any(|pattern| pattern_reaches_into(pattern, &folder.to_string_lossy()));
            if !reached {
                continue;
            }
            // What earlier archives hold inside it goes (a range walk: the paths inside a folder
            // sort right after it).
            let inside: Vec<PathBuf> = union
                .range(folder.clone()..)
                .map(|(path, _)| path)
                .take_while(|path| path.starts_with(&folder))
                .cloned()
                .collect();
            for path in inside {
                union.remove(&path);
            }
            whole_folders.insert(folder);
        }
        for (path, kind) in entries {
            if taken(&path) {
                union.insert(path, (index, kind));
            }
        }
    }
    // A path below a link would be written wherever the link points (a link `l → .` makes
    // `l/l/../x` look inside while `x` lands anywhere): refused before anything is written.
    for path in union.keys() {
        if let Some(link) =
            path.ancestors().skip(1).find(|ancestor| matches!(union.get(*ancestor), Some((_, Kind::Link(_)))))
        {
            return Err(refused(format!(
                "archive entry `{}` lies below the link `{}`",
                path.display(),
                link.display()
            )));
        }
    }
    let mut done = Unpacked::default();
    for (_, kind) in union.values() {
        match kind {
            Kind::Dir => {}
            Kind::File { size, .. } => {
                done.files += 1;
                done.bytes += size;
            }
            Kind::Link(_) => done.files += 1,
        }
    }
    fs_err::create_dir_all(destination)?;
    let mut checked = BTreeSet::new();
    // Pass 2: remove what must go, before anything is written.
    match existing {
        Existing::Exact => remove_others(destination, Path::new(""), &union, &mut done.removed)?,
        Existing::Merge => {
            for folder in &whole_folders {
                no_link_on_the_way(destination, folder, &mut checked)?;
                if destination.join(folder).is_dir() && !destination.join(folder).is_symlink() {
                    remove_others(&destination.join(folder), folder, &union, &mut done.removed)?;
                }
            }
        }
    }
    // Pass 3: write each path from the archive it comes from, unless it already holds that.
    for (index, blob) in blobs.iter().enumerate() {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(*blob));
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = normalized(&entry.path()?);
            // Only the entry the union kept: from this archive and of its kind (an archive that
            // holds a path twice writes the last one only).
            let kind_matches = |kind: &Kind| match entry.header().entry_type() {
                tar::EntryType::Directory => matches!(kind, Kind::Dir),
                tar::EntryType::Symlink => matches!(kind, Kind::Link(_)),
                _ => matches!(kind, Kind::File { .. }),
            };
            if !matches!(union.get(&path), Some((from, kind)) if *from == index && kind_matches(kind)) {
                continue;
            }
            no_link_on_the_way(destination, &path, &mut checked)?;
            let target = destination.join(&path);
            match entry.header().entry_type() {
                tar::EntryType::Directory => {
                    if target.is_symlink() || target.is_file() {
                        remove(&target)?;
                    }
                    fs_err::create_dir_all(&target)?;
                }
                tar::EntryType::Symlink => {
                    let link = entry.link_name()?.map(std::borrow::Cow::into_owned).unwrap_or_default();
                    if fs_err::read_link(&target).is_ok_and(|existing| existing == link) {
                        continue;
                    }
                    if target.exists() || target.is_symlink() {
                        remove(&target)?;
                    }
                    if let Some(parent) = target.parent() {
                        fs_err::create_dir_all(parent)?;
                    }
                    std::os::unix::fs::symlink(&link, &target)?;
                    done.written += 1;
                }
                _ => {
                    let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
                    match held(&target, &mut entry, mode)? {
                        Held::Already => continue,
                        Held::Rewritten => {
                            done.written += 1;
                            continue;
                        }
                        Held::No => {}
                    }
                    if let Some(parent) = target.parent() {
                        fs_err::create_dir_all(parent)?;
                    }
                    if target.is_symlink() || target.is_dir() {
                        remove(&target)?;
                    }
                    entry.unpack(&target)?;
                    fs_err::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
                    done.written += 1;
                }
            }
        }
    }
    Ok(done)
}

/// An archive refused before anything was written.
fn refused(problem: String) -> anyhow::Error {
    InputError::usage(problem)
        .with_hint("the artifact was not made by `rhdh-catalog artifact create`; nothing was unpacked")
        .into()
}

/// Refuses to write `relative` under `destination` when a folder on the way there is a symbolic
/// link (one the archive made earlier, or one already in the destination): the write would land
/// wherever it points.
/// `checked` holds the folders found to be no link so far (each is looked at once per unpack).
fn no_link_on_the_way(destination: &Path, relative: &Path, checked: &mut BTreeSet<PathBuf>) -> anyhow::Result<()> {
    let mut on_the_way = destination.to_path_buf();
    let parents: Vec<Component<'_>> = relative.components().collect();
    for component in &parents[..parents.len().saturating_sub(1)] {
        on_the_way.push(component);
        if checked.contains(&on_the_way) {
            continue;
        }
        let is_link = std::fs::symlink_metadata(&on_the_way).is_ok_and(|metadata| metadata.file_type().is_symlink());
        if !is_link && on_the_way.is_dir() {
            checked.insert(on_the_way.clone());
        }
        if is_link {
            return Err(InputError::usage(format!(
                "{} is a symbolic link: `{}` would be written wherever it points",
                on_the_way.display(),
                relative.display()
            ))
            .with_hint("remove the link, or unpack into an empty folder")
            .into());
        }
    }
    Ok(())
}

/// What a regular file at the target already is, compared with an entry.
enum Held {
    /// The entry's bytes and mode.
    Already,
    /// Other bytes of the same size: the entry has been read, and its bytes written over them.
    Rewritten,
    /// No regular file of that size: the entry is unread, to be unpacked.
    No,
}

/// Compares the regular file `target` with the entry (read only when the sizes agree).
fn held(target: &Path, entry: &mut tar::Entry<'_, impl std::io::Read>, mode: u32) -> anyhow::Result<Held> {
    let Ok(metadata) = std::fs::symlink_metadata(target) else { return Ok(Held::No) };
    if !metadata.is_file() || metadata.len() != entry.size() {
        return Ok(Held::No);
    }
    let existing = fs_err::read(target)?;
    let mut wanted = Vec::with_capacity(existing.len());
    entry.read_to_end(&mut wanted)?;
    let permissions = std::os::unix::fs::PermissionsExt::from_mode(mode);
    if existing != wanted {
        fs_err::write(target, &wanted)?;
        fs_err::set_permissions(target, permissions)?;
        return Ok(Held::Rewritten);
    }
    if std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777 != mode {
        fs_err::set_permissions(target, permissions)?;
    }
    Ok(Held::Already)
}

/// `path` without `.` components or a trailing slash.
fn normalized(path: &Path) -> PathBuf {
    path.components().filter(|component| !matches!(component, Component::CurDir)).collect()
}

/// The entries of one archive (path and kind) and the folders it marks whole.
type ArchiveEntries = (Vec<(PathBuf, Kind)>, Vec<PathBuf>);

/// Pass 1 over one archive: every entry checked (see [`unpack`]), its path and kind, and the
/// folders its [`MANIFEST`] marks whole.
fn read_entries(blob: &[u8]) -> anyhow::Result<ArchiveEntries> {
    let refuse = refused;
    let mut total: u64 = 0;
    let mut entries = Vec::new();
    let mut whole = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if path.is_absolute()
            || path.components().any(|component| matches!(component, Component::ParentDir | Component::Prefix(_)))
        {
            return Err(refuse(format!("archive entry `{}` would leave the destination", path.display())));
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(refuse(format!("the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")));
        }
        let path = normalized(&path);
        if path.as_os_str().is_empty() {
            continue;
        }
        let kind = match entry.header().entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                Kind::File { size: entry.size(), mode: entry.header().mode().unwrap_or(0o644) & 0o777 }
            }
            tar::EntryType::Symlink => {
                let link = entry.link_name()?.map(std::borrow::Cow::into_owned).unwrap_or_default();
                let resolved = path.parent().unwrap_or(Path::new("")).join(&link);
                let mut depth = 0i32;
                for component in resolved.components() {
                    match component {
                        Component::Normal(_) => depth += 1,
                        Component::ParentDir => depth -= 1,
                        Component::CurDir => {}
                        _ => depth = -1,
                    }
                    if depth < 0 {
                        return Err(refuse(format!(
                            "archive link `{}` → `{}` would leave the destination",
                            path.display(),
                            link.display()
                        )));
                    }
                }
                Kind::Link(link)
            }
            other => {
                return Err(refuse(format!("archive entry `{}` has unsupported type {other:?}", path.display())));
            }
        };
        if path == Path::new(MANIFEST) && matches!(kind, Kind::File { .. }) {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            let manifest: serde_json::Value = serde_json::from_str(&text)
                .map_err(|error| refuse(format!("the archive's {MANIFEST} is not JSON: {error}")))?;
            for folder in manifest["whole"].as_array().into_iter().flatten() {
                let folder = PathBuf::from(folder.as_str().unwrap_or_default());
                if folder.as_os_str().is_empty()
                    || !folder.components().all(|component| matches!(component, Component::Normal(_)))
                {
                    return Err(refuse(format!("the archive's {MANIFEST} names `{}`", folder.display())));
                }
                whole.push(folder);
            }
            continue;
        }
        entries.push((path, kind));
    }
    Ok((entries, whole))
}

/// Removes, under `dir` (the destination's `relative`), every path the union does not hold as
/// the same kind of thing; counts what it removed.
fn remove_others(
    dir: &Path,
    relative: &Path,
    union: &BTreeMap<PathBuf, (usize, Kind)>,
    removed: &mut u64,
) -> anyhow::Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = relative.join(entry.file_name());
        let kind = entry.file_type()?;
        let keep = match union.get(&path).map(|(_, kind)| kind) {
            Some(Kind::Dir) => kind.is_dir(),
            Some(Kind::File { .. }) => kind.is_file(),
            Some(Kind::Link(_)) => kind.is_symlink(),
            None => false,
        };
        if !keep {
            remove(&entry.path())?;
            *removed += 1;
        } else if kind.is_dir() {
            remove_others(&entry.path(), &path, union, removed)?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> std::io::Result<()> {
    if path.is_dir() && !path.is_symlink() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::registry::image::{build_tar, gzip};

    #[test]
    fn round_trip_keeps_files_modes_and_inside_links() {
        let source = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(source.path().join("a/b")).unwrap();
        fs_err::write(source.path().join("a/b/file.txt"), "x").unwrap();
        fs_err::write(source.path().join("run.sh"), "#!/bin/sh\n").unwrap();
        fs_err::set_permissions(source.path().join("run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::os::unix::fs::symlink("b/file.txt", source.path().join("a/link")).unwrap();
        let blob = gzip(&build_tar(&collect(source.path()).unwrap()).unwrap()).unwrap();
        assert_eq!(blob, gzip(&build_tar(&collect(source.path()).unwrap()).unwrap()).unwrap(), "reproducible");
        let destination = tempfile::tempdir().unwrap();
        unpack(&blob, destination.path()).unwrap();
        assert_eq!(fs_err::read_to_string(destination.path().join("a/link")).unwrap(), "x");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs_err::metadata(destination.path().join("run.sh")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o755);
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(path, text).unwrap();
        }
        dir
    }

    fn packed(dir: &Path, selection: &Selection) -> Vec<u8> {
        gzip(&build_tar(&collect_selected(dir, selection).unwrap()).unwrap()).unwrap()
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            for entry in fs_err::read_dir(&folder).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_dir() {
                    pending.push(entry.path());
                } else {
                    found.push(entry.path().strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn patterns_match_within_one_segment_and_take_what_lies_inside() {
        assert!(pattern_matches("workspaces/*", "workspaces/a/b.txt"));
        assert!(pattern_matches("workspaces/*/source.json", "workspaces/a/source.json"));
        assert!(!pattern_matches("workspaces/*/source.json", "workspaces/a/b/source.json"));
        assert!(pattern_matches("a*c", "abbc") && !pattern_matches("a*c", "abcd") && !pattern_matches("ab*ba", "aba"));
        assert!(!pattern_matches("workspaces/a/b", "workspaces/a"), "a longer pattern does not take its parent");
    }

    #[test]
    fn a_selection_packs_what_it_names_and_includes_win_inside_excludes() {
        let dir = tree(&[
            (".git/HEAD", "ref"),
            ("plan.json", "{}"),
            ("workspaces/a/source.json", "{}"),
            ("workspaces/a/plugins/x/index.ts", "x"),
            ("workspaces/a/.rhdh-catalog-export.json", "{}"),
        ]);
        let selection = Selection {
            include: vec!["workspaces/*/source.json".into(), "workspaces/*/.rhdh-catalog-export.json".into()],
            exclude: vec![".git".into(), "workspaces".into()],
            whole: Vec::new(),
        };
        let out = tempfile::tempdir().unwrap();
        unpack(&packed(dir.path(), &selection), out.path()).unwrap();
        assert_eq!(
            listing(out.path()),
            ["plan.json", "workspaces/a/.rhdh-catalog-export.json", "workspaces/a/source.json"]
        );
        let only = Selection { include: vec!["plan.json".into()], ..Selection::default() };
        let out = tempfile::tempdir().unwrap();
        unpack(&packed(dir.path(), &only), out.path()).unwrap();
        assert_eq!(listing(out.path()), ["plan.json"]);
    }

    #[test]
    fn a_whole_folder_replaces_its_counterpart_and_others_merge() {
        let destination = tree(&[
            ("workspaces/a/stale.txt", "old"),
            ("workspaces/a/kept.txt", "old"),
            ("workspaces/b/other.txt", "b"),
            ("top.txt", "top"),
        ]);
        let export = tree(&[("workspaces/a/kept.txt", "new"), ("workspaces/a/added.txt", "new"), ("report.json", "r")]);
        let selection = Selection { whole: vec!["workspaces/*".into()], ..Selection::default() };
        let blob = packed(export.path(), &selection);
        unpack(&blob, destination.path()).unwrap();
        assert_eq!(
            listing(destination.path()),
            ["report.json", "top.txt", "workspaces/a/added.txt", "workspaces/a/kept.txt", "workspaces/b/other.txt"]
        );
        assert_eq!(fs_err::read_to_string(destination.path().join("workspaces/a/kept.txt")).unwrap(), "new");
        assert!(!destination.path().join(MANIFEST).exists(), "the manifest is never written out");

        // A later archive's whole folder also replaces what an earlier archive of the same call holds.
        let earlier =
            packed(tree(&[("workspaces/a/from-earlier.txt", "e"), ("x.txt", "x")]).path(), &Selection::default());
        let out = tempfile::tempdir().unwrap();
        unpack_all(&[&earlier, &blob], out.path(), &[], Existing::Merge).unwrap();
        assert_eq!(listing(out.path()), ["report.json", "workspaces/a/added.txt", "workspaces/a/kept.txt", "x.txt"]);
    }

    #[test]
    fn exact_unpacking_writes_only_what_differs_and_removes_the_rest() {
        let source =
            tree(&[("same.txt", "same"), ("changed.txt", "new!"), ("grown.txt", "longer now"), ("d/new.txt", "n")]);
        let blob = packed(source.path(), &Selection::default());
        let destination = tree(&[
            ("same.txt", "same"),
            ("changed.txt", "old!"),
            ("grown.txt", "short"),
            ("gone.txt", "g"),
            ("e/x", "x"),
        ]);
        let done = unpack_all(&[&blob], destination.path(), &[], Existing::Exact).unwrap();
        assert_eq!(listing(destination.path()), ["changed.txt", "d/new.txt", "grown.txt", "same.txt"]);
        assert_eq!(fs_err::read_to_string(destination.path().join("changed.txt")).unwrap(), "new!");
        assert_eq!(fs_err::read_to_string(destination.path().join("grown.txt")).unwrap(), "longer now");
        assert_eq!((done.files, done.written, done.removed), (4, 3, 2), "{done:?}");
        let again = unpack_all(&[&blob], destination.path(), &[], Existing::Exact).unwrap();
        assert_eq!((again.written, again.removed), (0, 0), "a second exact unpack writes nothing: {again:?}");
        let only = unpack_all(&[&blob], destination.path(), &["d".to_string()], Existing::Exact).unwrap();
        assert_eq!(listing(destination.path()), ["d/new.txt"]);
        assert_eq!(only.files, 1);
    }

    #[test]
    fn entries_below_a_link_are_refused_whoever_made_the_link() {
        // The archive's own link: `l → .` then `l/l/e → ../../x` looks inside, lands outside.
        // Written by hand: our tar writer would add `l/` as a folder, which replaces the link.
        let mut builder = tar::Builder::new(Vec::new());
        for (path, link) in [("l", Some(".")), ("l/l/e", Some("../../outside")), ("e/pwn", None)] {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            if let Some(target) = link {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            } else {
                header.set_size(1);
                builder.append_data(&mut header, path, b"x".as_slice()).unwrap();
            }
        }
        let blob = gzip(&builder.into_inner().unwrap()).unwrap();
        let root = tempfile::tempdir().unwrap();
        let destination = root.path().join("dest");
        let error = unpack(&blob, &destination).unwrap_err();
        assert!(error.to_string().contains("lies below the link"), "{error}");
        assert!(listing(root.path()).is_empty(), "nothing written");

        // A link already in the destination (left by a step or an earlier run).
        fs_err::create_dir_all(root.path().join("outside")).unwrap();
        fs_err::create_dir_all(&destination).unwrap();
        std::os::unix::fs::symlink(root.path().join("outside"), destination.join("a")).unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(1);
        builder.append_data(&mut header, "a/x", b"x".as_slice()).unwrap();
        let bare = gzip(&builder.into_inner().unwrap()).unwrap();
        let error = unpack(&bare, &destination).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert!(!root.path().join("outside/x").exists(), "nothing written through the link");
        // An archive that holds `a` as a folder replaces the link with one (merging or exact).
        let blob = packed(tree(&[("a/x", "x")]).path(), &Selection::default());
        unpack(&blob, &destination).unwrap();
        assert!(!destination.join("a").is_symlink() && destination.join("a/x").is_file());
        assert!(!root.path().join("outside/x").exists());
        std::os::unix::fs::symlink(root.path().join("outside"), destination.join("b")).unwrap();
        unpack_all(&[&blob], &destination, &[], Existing::Exact).unwrap();
        assert_eq!(listing(&destination), ["a/x"], "exact removes the planted link");
    }

    #[test]
    fn only_the_first_archive_of_a_folder_may_hold_git_files() {
        let checkout = packed(tree(&[(".git/config", "[core]"), ("a.txt", "a")]).path(), &Selection::default());
        let laid_over = packed(
            tree(&[(".git/config", "[core]\n\tfsmonitor = evil"), ("b.txt", "b")]).path(),
            &Selection::default(),
        );
        let out = tempfile::tempdir().unwrap();
        let error = unpack_all(&[&checkout, &laid_over], out.path(), &[], Existing::Merge).unwrap_err();
        assert!(error.to_string().contains("only the first may hold .git"), "{error}");
        assert!(listing(out.path()).is_empty(), "nothing written");
        unpack_all(&[&checkout], out.path(), &[], Existing::Merge).unwrap();
        assert_eq!(fs_err::read_to_string(out.path().join(".git/config")).unwrap(), "[core]");
    }

    #[test]
    fn an_empty_whole_folder_still_empties_its_counterpart_and_only_limits_whole_folders() {
        let export = tree(&[("report.json", "r")]);
        fs_err::create_dir_all(export.path().join("workspaces/a")).unwrap();
        let blob = packed(export.path(), &Selection { whole: vec!["workspaces/*".into()], ..Selection::default() });
        let destination = tree(&[("workspaces/a/stale.txt", "old"), ("workspaces/b/kept.txt", "b")]);
        unpack(&blob, destination.path()).unwrap();
        assert_eq!(listing(destination.path()), ["report.json", "workspaces/b/kept.txt"]);

        let full = packed(
            tree(&[("workspaces/a/new.txt", "n"), ("build/x", "x")]).path(),
            &Selection { whole: vec!["workspaces/*".into()], ..Selection::default() },
        );
        let destination = tree(&[("workspaces/a/stale.txt", "old")]);
        unpack_all(&[&full], destination.path(), &["build".to_string()], Existing::Merge).unwrap();
        assert_eq!(
            listing(destination.path()),
            ["build/x", "workspaces/a/stale.txt"],
            "a whole folder outside --only is left alone"
        );
    }

    #[test]
    fn a_manifest_naming_a_path_outside_is_refused() {
        let manifest =
            LayerFile { path: MANIFEST.into(), contents: br#"{"whole": ["../x"]}"#.to_vec(), ..LayerFile::default() };
        let blob = gzip(&build_tar(&[manifest]).unwrap()).unwrap();
        let destination = tempfile::tempdir().unwrap();
        let error = unpack(&blob, destination.path()).unwrap_err();
        assert!(error.to_string().contains(MANIFEST), "{error}");
        assert!(listing(destination.path()).is_empty());
    }

    #[test]
    fn entries_leaving_the_destination_are_refused() {
        let link = LayerFile { path: "a/evil".into(), symlink: Some("../../etc".into()), ..LayerFile::default() };
        let blob = gzip(&build_tar(&[link]).unwrap()).unwrap();
        let destination = tempfile::tempdir().unwrap();
        let error = unpack(&blob, destination.path()).unwrap_err();
        assert!(error.to_string().contains("would leave the destination"), "{error}");
    }
}
