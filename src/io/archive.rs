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

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use crate::error::InputError;
use crate::formats::image_reference::Digest;
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
                let contents = crate::io::fs::read_bounded(&entry.path(), crate::io::fs::MAX_COPIED_FILE_BYTES)?;
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
    if let Some(git) = whole.iter().find(|folder| folder.split('/').any(|part| part == ".git")) {
        return Err(InputError::usage(format!("--whole names `{git}`: a .git folder is never marked whole"))
            .with_hint("leave .git out of --whole; an artifact unpacked over a checkout must not replace its history")
            .into());
    }
    if !whole.is_empty() {
        let mut contents = serde_json::to_vec(&serde_json::json!({ "whole": whole }))?;
        contents.push(b'\n');
        files.push(LayerFile { path: MANIFEST.to_string(), contents, ..LayerFile::default() });
    }
    Ok(files)
}

/// Most bytes the archives of one unpack may hold, whatever their size: far above a midstream
/// tree, far below a disk.
pub(crate) const MAX_UNPACKED_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// Most bytes of content an archive may hold per byte of its compressed size (a tree of text packs
/// about 5 to 10 to one; a file of zeros about 1,000 to one): a 3 MB archive unpacks to at most
/// 300 MB, never to gigabytes.
pub(crate) const MAX_RATIO: u64 = 100;

/// What any archive may hold regardless of [`MAX_RATIO`] (a small archive of highly compressible
/// files is fine up to this size).
pub(crate) const RATIO_FLOOR_BYTES: u64 = 64 * 1024 * 1024;

/// Most entries the archives of one unpack may hold (a midstream checkout at ten times the real
/// catalog holds about 40,000).
pub(crate) const MAX_ENTRIES: usize = 2_000_000;

/// Largest [`MANIFEST`] read.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// Unpacks a tar.gz into `destination`, merging with what is there. Every entry is checked first
/// — absolute paths, `..`, links leaving the destination or leading through another link, devices,
/// FIFOs and hard links are refused, and the content must stay under [`MAX_RATIO`] times the
/// archive's size, [`MAX_UNPACKED_BYTES`] and the free space — so a refused archive writes nothing.
pub fn unpack(blob: &[u8], destination: &Path) -> anyhow::Result<()> {
    unpack_all(&[blob], destination, &[], Existing::Merge).map(|_| ())
}

/// What [`unpack_all`] does with what the destination already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Keep it, but for the folders an archive marks whole.
    Merge,
    /// Remove whatever the archives do not hold: the destination ends up exactly as unpacking
    /// into an empty folder would leave it (but for a `.git` the archives do not hold: never
    /// removed).
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

/// Unpacks `blobs` into `destination`, later archives winning over earlier ones; with `only`, just
/// the paths those patterns match. Every archive is checked (see [`unpack`]) before anything is
/// written. A file that already holds the right bytes and mode is not written again.
pub(crate) fn unpack_all(
    blobs: &[&[u8]],
    destination: &Path,
    only: &[String],
    existing: Existing,
) -> anyhow::Result<Unpacked> {
    let selection = Selection { include: only.to_vec(), ..Selection::default() };
    unpack_recorded(blobs, destination, &selection, existing, None)
}

/// [`unpack_all`] with a record of what the destination holds afterwards kept at `record` (exact
/// unpacks only): the next unpack into the same destination trusts the record for every path
/// whose file-system stamp (inode, size, change and modification times) still matches — one
/// `lstat` instead of reading the file — and, when the same archives are unpacked again and
/// nothing changed, reads no archive at all.
pub(crate) fn unpack_recorded(
    blobs: &[&[u8]],
    destination: &Path,
    only: &Selection,
    existing: Existing,
    record: Option<&Path>,
) -> anyhow::Result<Unpacked> {
    let record = record.filter(|_| existing == Existing::Exact);
    let blob_ids: Vec<String> = blobs.iter().map(|blob| Digest::of(blob).to_string()).collect();
    let previous = record.and_then(|path| Record::read(path, &blob_ids, only));
    let on_disk = previous.as_ref().map(|previous| previous.verify(destination));
    if let (Some(previous), Some(on_disk)) = (&previous, &on_disk)
        && previous.same_input
        && on_disk.unchanged()
    {
        return Ok(previous.unpacked);
    }
    // Pass 1: read and check every entry of every archive (nothing touches the disk).
    let read = read_archives(blobs, only, Hash::Sha256)?;
    // Pass 2: the union, in path order, checked as a whole.
    let union = union_of(read.entries, &read.whole)?;
    check_links(&union, destination, existing)?;
    let mut done = Unpacked::default();
    for entry in &union {
        match &entry.kind {
            Kind::Dir => {}
            Kind::File { size, .. } => {
                done.files += 1;
                done.bytes += size;
            }
            Kind::Link(_) => done.files += 1,
        }
    }
    // Pass 3: what is there, compared with the union in one sorted walk: the plan.
    let present = match on_disk {
        Some(on_disk) => on_disk.entries,
        None => present_entries(destination, &union, &read.whole, existing)?,
    };
    let plan = plan(destination, &union, present, &read.whole, existing)?;
    check_space(destination, &plan, &union)?;
    // Pass 4: carry the plan out (removals, folders, then files in archive order).
    if let Some(record) = record {
        remove_if_present(record)?;
    }
    fs_err::create_dir_all(destination)?;
    done.removed = carry_out(blobs, destination, &union, &plan)?;
    done.written = plan.writes.len() as u64;
    if let Some(record) = record {
        Record::write(record, destination, &blob_ids, only, &union, &plan, done)?;
    }
    Ok(done)
}

/// A file or link of what archives hold, as `git add` would stage it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GitEntry {
    /// Relative, `/`-separated.
    pub(crate) path: String,
    /// `100644`, `100755` or `120000`.
    pub(crate) mode: &'static str,
    /// git's blob object id (hex).
    pub(crate) id: String,
}

/// What `blobs`, laid over a folder in order, hold at the paths `within` names (patterns as for
/// `--only`), as git sees it: every file and link with its git mode and blob id, in path order,
/// and the folders marked whole (whose other content the archives remove). Every entry is checked
/// as for unpacking; nothing is written.
pub(crate) fn git_view(blobs: &[&[u8]], within: &[String]) -> anyhow::Result<(Vec<GitEntry>, Vec<String>)> {
    let read = read_archives(blobs, &Selection { include: within.to_vec(), ..Selection::default() }, Hash::GitBlob)?;
    let whole: Vec<String> =
        read.whole.iter().map(|(folder, _)| key_path(folder).to_string_lossy().into_owned()).collect();
    let union = union_of(read.entries, &read.whole)?;
    let mut entries = Vec::new();
    for entry in union {
        let (mode, id) = match &entry.kind {
            Kind::Dir => continue,
            Kind::File { mode, digest, .. } => {
                (if mode & 0o100 != 0 { "100755" } else { "100644" }, hex::encode(&digest[..20]))
            }
            Kind::Link(target) => {
                let (_, digest) = Hash::GitBlob.of(&mut target.as_slice(), target.len() as u64)?;
                ("120000", hex::encode(&digest[..20]))
            }
        };
        entries.push(GitEntry { path: key_path(&entry.key).to_string_lossy().into_owned(), mode, id });
    }
    Ok((entries, whole))
}

/// Where [`unpack_recorded`] keeps the record of `destination`: beside it (`.<name>.unpacked`),
/// outside what a step packs or reads.
pub(crate) fn record_path(destination: &Path) -> PathBuf {
    let name = destination.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    destination.with_file_name(format!(".{name}.rhdh-catalog-unpacked"))
}

/// The environment variable naming a folder (on the destination's file system) removed folders
/// may be moved to instead of deleted: the local runner's trash, emptied in the background.
pub(crate) const TRASH_ENV: &str = "RHDH_CATALOG_TRASH";

/// How the names of folders moved to the trash by an unpack start.
pub(crate) const TRASH_PREFIX: &str = "unpacked-";

/// A path as sort key: its bytes with `/` as 0, so that byte order is path order with every
/// folder's content right after the folder (`a`, `a/x`, `a-b`).
type Key = Vec<u8>;

fn key_path(key: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    let bytes: Vec<u8> = key.iter().map(|byte| if *byte == 0 { b'/' } else { *byte }).collect();
    PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
}

fn shown(key: &[u8]) -> String {
    key_path(key).display().to_string()
}

/// Whether `ancestor` is `key` or a folder above it.
fn contains(ancestor: &[u8], key: &[u8]) -> bool {
    key.starts_with(ancestor) && (key.len() == ancestor.len() || key[ancestor.len()] == 0)
}

/// Whether a path component of `key` is `.git`.
fn in_git(key: &[u8]) -> bool {
    key.split(|byte| *byte == 0).any(|part| part == b".git")
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    File { size: u64, mode: u32, digest: [u8; 32] },
    Link(Vec<u8>),
}

/// How a file's content is identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    /// sha256 of the bytes (what [`unpack_recorded`] records).
    Sha256,
    /// git's blob object id (sha1 of `blob <size>\0` and the bytes), in the first 20 bytes.
    GitBlob,
}

impl Hash {
    /// Reads `content` (`size` bytes, as its header says) to its end: how many bytes there were,
    /// and their id.
    fn of(self, content: &mut impl std::io::Read, size: u64) -> std::io::Result<(u64, [u8; 32])> {
        let mut digest = [0u8; 32];
        match self {
            Hash::Sha256 => {
                use sha2::Digest as _;
                let mut hasher = sha2::Sha256::new();
                let copied = std::io::copy(content, &mut hasher)?;
                digest.copy_from_slice(&hasher.finalize());
                Ok((copied, digest))
            }
            Hash::GitBlob => {
                let mut sha1 = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
                sha1.update(format!("blob {size}\0").as_bytes());
                let mut buffer = vec![0u8; 1 << 16];
                let mut copied: u64 = 0;
                loop {
                    let read = content.read(&mut buffer)?;
                    if read == 0 {
                        break;
                    }
                    sha1.update(&buffer[..read]);
                    copied += read as u64;
                }
                digest[..20].copy_from_slice(sha1.finish().as_ref());
                Ok((copied, digest))
            }
        }
    }
}

/// One entry of one archive.
struct Archived {
    key: Key,
    archive: usize,
    /// Its position in the archive (pass 4 finds it again by it).
    ordinal: usize,
    kind: Kind,
}

/// Every archive's entries, and the whole folders each marks.
struct ReadArchives {
    entries: Vec<Archived>,
    whole: Vec<(Key, usize)>,
}

/// A refused archive, before anything was written.
fn refused(problem: String) -> anyhow::Error {
    InputError::usage(problem)
        .with_hint("the artifact was not made by `rhdh-catalog artifact create`; nothing was unpacked")
        .into()
}

/// `raw` (an entry's path) as a key: no absolute path, `..` or NUL; `.` and empty parts dropped.
fn key_of(raw: &[u8]) -> anyhow::Result<Key> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    if raw.starts_with(b"/") {
        return Err(refused(format!("archive entry `{}` would leave the destination", shown())));
    }
    let mut key = Vec::with_capacity(raw.len());
    for part in raw.split(|byte| *byte == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(refused(format!("archive entry `{}` would leave the destination", shown()))),
            _ if part.contains(&0) => return Err(refused(format!("archive entry `{}` holds a NUL byte", shown()))),
            _ => {
                if !key.is_empty() {
                    key.push(0);
                }
                key.extend_from_slice(part);
            }
        }
    }
    Ok(key)
}

/// Pass 1: every entry of every archive checked and hashed; the archives are not kept in memory
/// beyond their compressed bytes.
fn read_archives(blobs: &[&[u8]], only: &Selection, hash: Hash) -> anyhow::Result<ReadArchives> {
    let mut entries = Vec::new();
    let mut whole = Vec::new();
    let mut total: u64 = 0;
    for (index, blob) in blobs.iter().enumerate() {
        let which = if blobs.len() == 1 {
            "the archive".to_string()
        } else {
            format!("archive {} of {}", index + 1, blobs.len())
        };
        let corrupt = |error: std::io::Error| refused(format!("{which} is not a readable tar.gz: {error}"));
        let allowed = RATIO_FLOOR_BYTES.max(MAX_RATIO.saturating_mul(blob.len() as u64));
        let mut content: u64 = 0;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(*blob));
        for (ordinal, entry) in archive.entries().map_err(corrupt)?.enumerate() {
            let mut entry = entry.map_err(corrupt)?;
            let key = key_of(&entry.path_bytes())?;
            if key.is_empty() {
                continue;
            }
            content = content.saturating_add(entry.size());
            total = total.saturating_add(entry.size());
            if content > allowed {
                return Err(refused(format!(
                    "{which} unpacks to more than {allowed} bytes, {MAX_RATIO} times its {} compressed bytes",
                    blob.len()
                )));
            }
            if total > MAX_UNPACKED_BYTES {
                return Err(refused(format!("the archives unpack to more than {MAX_UNPACKED_BYTES} bytes")));
            }
            if entries.len() >= MAX_ENTRIES {
                return Err(refused(format!("the archives hold more than {MAX_ENTRIES} entries")));
            }
            // Only the first archive of a folder (a checkout) may hold git's own files: one laid
            // over it must not replace `.git/config` or hooks of the checkout a later step runs git in.
            if index > 0 && in_git(&key) {
                return Err(refused(format!(
                    "archive {} of {} holds `{}`: only the first may hold .git",
                    index + 1,
                    blobs.len(),
                    shown(&key)
                )));
            }
            let taken = only.takes(&key_path(&key).to_string_lossy());
            let kind = match entry.header().entry_type() {
                tar::EntryType::Directory => Kind::Dir,
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    if key == MANIFEST.as_bytes() {
                        let mut text = String::new();
                        (&mut entry).take(MAX_MANIFEST_BYTES).read_to_string(&mut text).map_err(corrupt)?;
                        whole.extend(manifest_folders(&text)?.into_iter().map(|folder| (folder, index)));
                        continue;
                    }
                    if !taken {
                        continue;
                    }
                    let size = entry.size();
                    let (copied, digest) = hash.of(&mut entry, size).map_err(corrupt)?;
                    if copied != entry.size() {
                        return Err(refused(format!("{which} is truncated inside `{}`", shown(&key))));
                    }
                    let mode = entry.header().mode().map_err(corrupt)? & 0o777;
                    Kind::File { size: copied, mode, digest }
                }
                tar::EntryType::Symlink => {
                    let target = entry.link_name_bytes().map(std::borrow::Cow::into_owned).unwrap_or_default();
                    lexically_inside(&key, &target)?;
                    Kind::Link(target)
                }
                other => {
                    return Err(refused(format!("archive entry `{}` has unsupported type {other:?}", shown(&key))));
                }
            };
            if taken {
                entries.push(Archived { key, archive: index, ordinal, kind });
            }
        }
    }
    // `--only` limits what a whole folder replaces too: one outside it is left alone.
    whole.retain(|(folder, _)| {
        let text = key_path(folder).to_string_lossy().into_owned();
        only.may_take_inside(&text)
    });
    whole.sort();
    Ok(ReadArchives { entries, whole })
}

/// The folders a [`MANIFEST`] marks whole: relative, inside, never `.git`.
fn manifest_folders(text: &str) -> anyhow::Result<Vec<Key>> {
    let manifest: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| refused(format!("the archive's {MANIFEST} is not JSON: {error}")))?;
    let mut folders = Vec::new();
    for folder in manifest["whole"].as_array().into_iter().flatten() {
        let text = folder.as_str().unwrap_or_default();
        let path = Path::new(text);
        if text.is_empty() || !path.components().all(|component| matches!(component, Component::Normal(_))) {
            return Err(refused(format!("the archive's {MANIFEST} names `{}`", path.display())));
        }
        let key = key_of(text.as_bytes())?;
        if in_git(&key) {
            return Err(refused(format!(
                "the archive's {MANIFEST} marks `{text}` whole: a .git folder is never replaced whole"
            )));
        }
        folders.push(key);
    }
    Ok(folders)
}

/// A link's target, resolved as text from the link's folder, must stay inside the destination.
fn lexically_inside(key: &[u8], target: &[u8]) -> anyhow::Result<()> {
    let leaves = || {
        refused(format!(
            "archive link `{}` → `{}` would leave the destination",
            shown(key),
            String::from_utf8_lossy(target)
        ))
    };
    if target.starts_with(b"/") {
        return Err(leaves());
    }
    let mut depth = i64::try_from(key.split(|byte| *byte == 0).count()).unwrap_or(i64::MAX) - 1;
    for part in target.split(|byte| *byte == b'/') {
        match part {
            b"" | b"." => {}
            b".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(leaves());
        }
    }
    Ok(())
}

/// One path of the union: the entry that wins it.
struct UnionEntry {
    key: Key,
    archive: usize,
    ordinal: usize,
    kind: Kind,
}

/// Pass 2: the entries in path order, each path once (a later archive wins, and within one
/// archive the later entry), without what a later archive's whole folder replaces.
fn union_of(mut entries: Vec<Archived>, whole: &[(Key, usize)]) -> anyhow::Result<Vec<UnionEntry>> {
    entries.sort_unstable_by(|a, b| a.key.cmp(&b.key).then(a.archive.cmp(&b.archive)).then(a.ordinal.cmp(&b.ordinal)));
    let mut union: Vec<UnionEntry> = Vec::with_capacity(entries.len());
    // The whole folders that hold the current entry, with the archive that marks each.
    let mut holding: Vec<(&[u8], usize)> = Vec::new();
    let mut next_whole = 0;
    for entry in entries {
        while holding.last().is_some_and(|(folder, _)| !contains(folder, &entry.key)) {
            holding.pop();
        }
        while let Some((folder, archive)) =
            whole.get(next_whole).filter(|(folder, _)| folder.as_slice() <= entry.key.as_slice())
        {
            // One that does not hold this entry holds none after it (its content sorts before).
            if contains(folder, &entry.key) {
                holding.push((folder, *archive));
            }
            next_whole += 1;
        }
        if holding.iter().any(|(_, archive)| *archive > entry.archive) {
            continue;
        }
        let replaces = union.last().is_some_and(|last| last.key == entry.key);
        let entry = UnionEntry { key: entry.key, archive: entry.archive, ordinal: entry.ordinal, kind: entry.kind };
        if replaces {
            if let Some(last) = union.last_mut() {
                *last = entry;
            }
        } else {
            union.push(entry);
        }
    }
    // A path below a link would be written wherever the link points (a link `l → .` makes
    // `l/l/../x` look inside while `x` lands anywhere); below a file it cannot be written.
    let mut leaf: Option<&UnionEntry> = None;
    for entry in &union {
        if let Some(parent) = leaf.filter(|parent| contains(&parent.key, &entry.key)) {
            let what = if matches!(parent.kind, Kind::Link(_)) { "the link" } else { "the file" };
            return Err(refused(format!(
                "archive entry `{}` lies below {what} `{}`",
                shown(&entry.key),
                shown(&parent.key)
            )));
        }
        if !matches!(entry.kind, Kind::Dir) {
            leaf = Some(entry);
        }
    }
    Ok(union)
}

fn find<'a>(union: &'a [UnionEntry], key: &[u8]) -> Option<&'a UnionEntry> {
    union.binary_search_by(|entry| entry.key.as_slice().cmp(key)).ok().map(|at| &union[at])
}

/// Every link of the union resolved component by component against the union and what the
/// destination holds: a link whose target passes through, or ends at, another link is refused
/// (`d/l1 → ..` then `l2 → d/l1/..` reads as inside and points outside).
fn check_links(union: &[UnionEntry], destination: &Path, existing: Existing) -> anyhow::Result<()> {
    for entry in union {
        let Kind::Link(target) = &entry.kind else { continue };
        let mut at: Vec<&[u8]> = entry.key.split(|byte| *byte == 0).collect();
        at.pop();
        for part in target.split(|byte| *byte == b'/') {
            match part {
                b"" | b"." => continue,
                b".." => {
                    at.pop();
                    continue;
                }
                _ => at.push(part),
            }
            let key = at.join(&0u8);
            let is_link = match find(union, &key) {
                Some(found) => matches!(found.kind, Kind::Link(_)),
                // Not in the archives: what the destination holds there stays when merging.
                None => {
                    existing == Existing::Merge
                        && std::fs::symlink_metadata(destination.join(key_path(&key)))
                            .is_ok_and(|metadata| metadata.file_type().is_symlink())
                }
            };
            if is_link {
                return Err(refused(format!(
                    "archive link `{}` → `{}` leads through the link `{}`: links to links are refused",
                    shown(&entry.key),
                    String::from_utf8_lossy(target),
                    shown(&key)
                )));
            }
        }
    }
    Ok(())
}

/// What the destination holds at a path, as far as pass 3 knows.
#[derive(Clone, Debug)]
struct Present {
    key: Key,
    kind: PresentKind,
    /// What it holds and its stamp, when a verified record says so (else it is compared by
    /// reading).
    known: Option<(Kind, Stamp)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PresentKind {
    Dir,
    File,
    Link,
    Other,
}

impl PresentKind {
    fn of(file_type: std::fs::FileType) -> Self {
        if file_type.is_symlink() {
            PresentKind::Link
        } else if file_type.is_dir() {
            PresentKind::Dir
        } else if file_type.is_file() {
            PresentKind::File
        } else {
            PresentKind::Other
        }
    }
}

/// What the destination holds, without a record: exact, every path (one `readdir` per folder);
/// merging, the paths of the union (one `lstat` each) and everything inside whole folders.
fn present_entries(
    destination: &Path,
    union: &[UnionEntry],
    whole: &[(Key, usize)],
    existing: Existing,
) -> anyhow::Result<Vec<Present>> {
    let mut present = Vec::new();
    match existing {
        Existing::Exact => walk(destination, &[], &mut present)?,
        Existing::Merge => {
            for entry in union {
                if let Ok(metadata) = std::fs::symlink_metadata(destination.join(key_path(&entry.key))) {
                    present.push(Present {
                        key: entry.key.clone(),
                        kind: PresentKind::of(metadata.file_type()),
                        known: None,
                    });
                }
            }
            for (folder, _) in whole {
                let path = destination.join(key_path(folder));
                if std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.is_dir()) {
                    walk(&path, folder, &mut present)?;
                }
            }
            present.sort_unstable_by(|a, b| a.key.cmp(&b.key));
            present.dedup_by(|a, b| a.key == b.key);
        }
    }
    Ok(present)
}

/// Every path under `dir` (whose key is `prefix`), folders before their content.
fn walk(dir: &Path, prefix: &[u8], out: &mut Vec<Present>) -> anyhow::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(listing) = std::fs::read_dir(dir) else { return Ok(()) };
    let mut children = Vec::new();
    for entry in listing {
        let entry = entry?;
        let mut key = prefix.to_vec();
        if !key.is_empty() {
            key.push(0);
        }
        key.extend_from_slice(entry.file_name().as_bytes());
        children.push((key, PresentKind::of(entry.file_type()?), entry.path()));
    }
    children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (key, kind, path) in children {
        out.push(Present { key: key.clone(), kind, known: None });
        if kind == PresentKind::Dir {
            walk(&path, &key, out)?;
        }
    }
    Ok(())
}

/// What pass 4 does.
#[derive(Default)]
struct Plan {
    /// Paths to remove (a folder with its content), in path order.
    removals: Vec<Key>,
    /// Of those, the ones the union does not hold (the others are replaced).
    dropped: u64,
    /// Union indexes of folders to create, in path order.
    folders: Vec<usize>,
    /// Union indexes of files and links to write.
    writes: Vec<usize>,
    /// Union indexes of files and links that already held their bytes, with their stamp when a
    /// record vouched for them.
    kept: Vec<(usize, Option<Stamp>)>,
}

/// Pass 3: the union and what is there, in one sorted walk.
fn plan(
    destination: &Path,
    union: &[UnionEntry],
    present: Vec<Present>,
    whole: &[(Key, usize)],
    existing: Existing,
) -> anyhow::Result<Plan> {
    let mut plan = Plan::default();
    // A `.git` folder the union holds nothing of stays, whatever `--exact` or a whole folder says:
    // a checkout's history is never removed by an artifact laid over it.
    let protected: Vec<Key> = present
        .iter()
        .filter_map(|present| {
            let parts: Vec<&[u8]> = present.key.split(|byte| *byte == 0).collect();
            let at = parts.iter().position(|part| *part == b".git")?;
            let git = parts[..=at].join(&0u8);
            let held = match union.binary_search_by(|entry| entry.key.as_slice().cmp(&git)) {
                Ok(_) => true,
                Err(at) => union.get(at).is_some_and(|entry| contains(&git, &entry.key)),
            };
            (!held && present.key == git).then_some(git)
        })
        .collect();
    let may_go = |key: &[u8]| {
        (existing == Existing::Exact
            || whole.iter().any(|(folder, _)| contains(folder, key) && folder.as_slice() != key))
            && !protected.iter().any(|git| contains(git, key))
    };
    // A folder with a protected `.git` inside goes path by path, never whole.
    let holds_protected = |key: &[u8]| protected.iter().any(|git| contains(key, git));
    let mut removed_folder: Option<Key> = None;
    let mut checked_folders: Vec<Key> = Vec::new();
    let mut present = present.into_iter().peekable();
    let remove = |plan: &mut Plan, removed_folder: &mut Option<Key>, gone: Present, replaced: bool| {
        if gone.kind == PresentKind::Dir {
            if holds_protected(&gone.key) {
                return;
            }
            *removed_folder = Some(gone.key.clone());
        }
        plan.removals.push(gone.key);
        plan.dropped += u64::from(!replaced);
    };
    for (index, entry) in union.iter().enumerate() {
        // What is there before this path and not in the union.
        let mut here: Option<Present> = None;
        while let Some(next) = present.next_if(|next| next.key.as_slice() <= entry.key.as_slice()) {
            if removed_folder.as_ref().is_some_and(|folder| contains(folder, &next.key)) {
                continue;
            }
            if next.key == entry.key {
                here = Some(next);
                break;
            }
            // A folder the union does not name but writes into stays (archives without folder
            // entries); anything else the union does not hold goes where allowed.
            if next.kind == PresentKind::Dir && contains(&next.key, &entry.key) {
                continue;
            }
            if may_go(&next.key) {
                remove(&mut plan, &mut removed_folder, next, false);
            }
        }
        // Nothing is written (or read) through a link already in the destination.
        if existing == Existing::Merge {
            no_link_on_the_way(destination, union, &entry.key, &mut checked_folders)?;
        }
        let path = || destination.join(key_path(&entry.key));
        let (same, stamp) = match (&entry.kind, &here) {
            (Kind::Dir, Some(present)) => (present.kind == PresentKind::Dir, None),
            (Kind::File { size, mode, digest }, Some(present)) if present.kind == PresentKind::File => {
                match &present.known {
                    Some((known, stamp)) => (known == &entry.kind, Some(*stamp)),
                    None => (file_holds(&path(), *size, *mode, digest)?, None),
                }
            }
            (Kind::Link(target), Some(present)) if present.kind == PresentKind::Link => {
                if let Some((known, stamp)) = &present.known {
                    (known == &entry.kind, Some(*stamp))
                } else {
                    use std::os::unix::ffi::OsStrExt as _;
                    let target_now = std::fs::read_link(path());
                    (target_now.is_ok_and(|existing| existing.as_os_str().as_bytes() == target.as_slice()), None)
                }
            }
            _ => (false, None),
        };
        if same {
            if !matches!(entry.kind, Kind::Dir) {
                plan.kept.push((index, stamp));
            }
            continue;
        }
        if let Some(here) = here {
            // Something else of that name goes first (a folder with its content).
            if here.kind == PresentKind::Dir && holds_protected(&here.key) {
                return Err(refused(format!(
                    "archive entry `{}` would replace a folder holding a .git the archives do not hold",
                    shown(&entry.key)
                )));
            }
            remove(&mut plan, &mut removed_folder, here, true);
        }
        match entry.kind {
            Kind::Dir => plan.folders.push(index),
            _ => plan.writes.push(index),
        }
    }
    for rest in present {
        if removed_folder.as_ref().is_some_and(|folder| contains(folder, &rest.key)) {
            continue;
        }
        if may_go(&rest.key) {
            remove(&mut plan, &mut removed_folder, rest, false);
        }
    }
    Ok(plan)
}

/// Whether the regular file `path` holds `size` bytes with `digest` and `mode`.
fn file_holds(path: &Path, size: u64, mode: u32, digest: &[u8; 32]) -> anyhow::Result<bool> {
    use sha2::Digest as _;
    let Ok(metadata) = std::fs::symlink_metadata(path) else { return Ok(false) };
    if !metadata.is_file()
        || metadata.len() != size
        || std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777 != mode
    {
        return Ok(false);
    }
    // One byte more than expected is read, so a file that grew since is told apart, not an error.
    let mut file = crate::io::fs::open_input(path, size.saturating_add(1))?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut (&mut file).take(size + 1), &mut hasher)?;
    Ok(<[u8; 32]>::from(hasher.finalize()) == *digest)
}

/// Refuses to write `key` (merging) when a folder on the way there that the union does not hold
/// is a symbolic link already in the destination: the write would land wherever it points.
/// (Unpacking exactly, such a link is removed first.) `checked` holds the folders found to be no
/// link on the way to the previous key.
fn no_link_on_the_way(
    destination: &Path,
    union: &[UnionEntry],
    key: &[u8],
    checked: &mut Vec<Key>,
) -> anyhow::Result<()> {
    let parts: Vec<&[u8]> = key.split(|byte| *byte == 0).collect();
    for depth in 1..parts.len() {
        let folder = parts[..depth].join(&0u8);
        if checked.contains(&folder) {
            continue;
        }
        if find(union, &folder).is_none() {
            let path = destination.join(key_path(&folder));
            if std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
                return Err(InputError::usage(format!(
                    "{} is a symbolic link: `{}` would be written wherever it points",
                    path.display(),
                    shown(key)
                ))
                .with_hint("remove the link, or unpack into an empty folder")
                .into());
            }
        }
        checked.retain(|known| contains(known, &folder));
        checked.push(folder);
    }
    Ok(())
}

/// Refuses a plan that would write more than the file system holds (bytes or files).
fn check_space(destination: &Path, plan: &Plan, union: &[UnionEntry]) -> anyhow::Result<()> {
    let needed: u64 = plan
        .writes
        .iter()
        .map(|index| match union[*index].kind {
            Kind::File { size, .. } => size,
            _ => 0,
        })
        .sum();
    let files = (plan.writes.len() + plan.folders.len()) as u64;
    if needed == 0 && files == 0 {
        return Ok(());
    }
    let mut probe = destination.to_path_buf();
    while !probe.exists() {
        if !probe.pop() {
            return Ok(());
        }
    }
    let Ok(space) = rustix::fs::statvfs(&probe) else { return Ok(()) };
    let free = space.f_bavail.saturating_mul(space.f_frsize);
    if needed > free {
        return Err(InputError::usage(format!(
            "unpacking into {} needs {needed} bytes; the file system has {free} free",
            destination.display()
        ))
        .with_hint("free space there, or unpack fewer artifacts (`--only`); nothing was unpacked")
        .into());
    }
    if space.f_files > 0 && files > space.f_favail {
        return Err(InputError::usage(format!(
            "unpacking into {} needs {files} files; the file system has room for {}",
            destination.display(),
            space.f_favail
        ))
        .with_hint("free inodes there, or unpack fewer artifacts (`--only`); nothing was unpacked")
        .into());
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Pass 4: removals, folders, then each archive read once more up to its last entry to write.
/// Files are never written into: an old file is removed and a new one created, so a hard link to
/// a file outside (or a file of another tree) is replaced, not rewritten. Returns the removals.
fn carry_out(blobs: &[&[u8]], destination: &Path, union: &[UnionEntry], plan: &Plan) -> anyhow::Result<u64> {
    let trash = std::env::var_os(TRASH_ENV).filter(|dir| !dir.is_empty()).map(PathBuf::from);
    for (number, key) in plan.removals.iter().enumerate() {
        let path = destination.join(key_path(key));
        // A folder goes to the runner's trash when there is one: a rename now, its files deleted
        // in the background (on a small VM deleting thousands of files takes seconds).
        if let Some(trash) = &trash
            && std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.is_dir())
        {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.as_nanos());
            let target = trash.join(format!("{TRASH_PREFIX}{}-{nanos}-{number}", std::process::id()));
            if std::fs::create_dir_all(trash).is_ok() && std::fs::rename(&path, &target).is_ok() {
                continue;
            }
        }
        remove_if_present(&path)?;
    }
    for index in &plan.folders {
        let path = destination.join(key_path(&union[*index].key));
        match std::fs::create_dir(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() && !path.is_symlink() => {}
            Err(_) => fs_err::create_dir_all(&path)?,
        }
    }
    let mut by_archive: Vec<Vec<(usize, usize)>> = vec![Vec::new(); blobs.len()];
    for index in &plan.writes {
        let entry = &union[*index];
        by_archive[entry.archive].push((entry.ordinal, *index));
    }
    for (archive_index, mut wanted) in by_archive.into_iter().enumerate() {
        if wanted.is_empty() {
            continue;
        }
        wanted.sort_unstable();
        let mut wanted = wanted.into_iter().peekable();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(blobs[archive_index]));
        for (ordinal, entry) in archive.entries()?.enumerate() {
            let Some((next, index)) = wanted.peek().copied() else { break };
            let mut entry = entry?;
            if ordinal != next {
                continue;
            }
            wanted.next();
            let target = destination.join(key_path(&union[index].key));
            remove_if_present(&target)?;
            if let Some(parent) = target.parent()
                && !parent.is_dir()
            {
                fs_err::create_dir_all(parent)?;
            }
            match &union[index].kind {
                Kind::Link(link) => {
                    use std::os::unix::ffi::OsStrExt as _;
                    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(link), &target)
                        .map_err(|error| anyhow::anyhow!("creating the link {}: {error}", target.display()))?;
                }
                Kind::File { mode, .. } => {
                    use std::os::unix::fs::OpenOptionsExt as _;
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(*mode)
                        .open(&target)
                        .map_err(|error| anyhow::anyhow!("creating {}: {error}", target.display()))?;
                    std::io::copy(&mut entry, &mut file)
                        .map_err(|error| anyhow::anyhow!("writing {}: {error}", target.display()))?;
                    // The umask may have taken bits off.
                    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(*mode))?;
                }
                Kind::Dir => {}
            }
        }
        if wanted.peek().is_some() {
            return Err(anyhow::anyhow!("archive {} changed between two reads", archive_index + 1));
        }
    }
    Ok(plan.dropped)
}

/// A file-system stamp: what changes when anything writes a path (its inode, size, modification
/// and change times; the change time cannot be set back from user space).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Stamp {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    fn of(metadata: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt as _;
        Stamp {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    fn of_path(path: &Path) -> Option<Stamp> {
        std::fs::symlink_metadata(path).ok().map(|metadata| Stamp::of(&metadata))
    }
}

/// The record of an exact unpack: which archives (by digest) and `only`, every path with what it
/// holds and its stamp, and the counts.
struct Record {
    /// The same archives and `only` as this unpack.
    same_input: bool,
    unpacked: Unpacked,
    root: Stamp,
    entries: Vec<(Key, Kind, Stamp)>,
}

/// What a record and a look at every path it names say the destination holds.
struct OnDisk {
    /// Every path, folders before their content; `known` where the stamp still matches.
    entries: Vec<Present>,
    changed: usize,
}

impl OnDisk {
    fn unchanged(&self) -> bool {
        self.changed == 0
    }
}

const RECORD_HEADER: &str = "rhdh-catalog unpack record 2";

/// The largest unpack record read (about 300 bytes a path): larger, the unpack compares files.
const MAX_RECORD_BYTES: u64 = 256 * 1024 * 1024;

impl Record {
    fn read(path: &Path, blob_ids: &[String], only: &Selection) -> Option<Record> {
        // One line per path of an unpacked tree: its own bound, not that of an input file.
        let bytes = crate::io::fs::read_bounded(path, MAX_RECORD_BYTES).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()? != RECORD_HEADER {
            return None;
        }
        let blobs: Vec<&str> = lines.next()?.strip_prefix("blobs\t")?.split('\t').filter(|id| !id.is_empty()).collect();
        let patterns = |line: &str| -> Vec<String> {
            line.split('\t').filter(|pattern| !pattern.is_empty()).map(unescape_text).collect()
        };
        let recorded_include = patterns(lines.next()?.strip_prefix("only\t")?);
        let recorded_exclude = patterns(lines.next()?.strip_prefix("exclude\t")?);
        let counts: Vec<u64> =
            lines.next()?.strip_prefix("counts\t")?.split('\t').filter_map(|number| number.parse().ok()).collect();
        let root = parse_stamp(lines.next()?.strip_prefix("root\t")?)?;
        let mut entries = Vec::new();
        for line in lines {
            let mut fields = line.split('\t');
            let kind = match fields.next()? {
                "d" => Kind::Dir,
                "f" => {
                    let mode = u32::from_str_radix(fields.next()?, 8).ok()?;
                    let size = fields.next()?.parse().ok()?;
                    let digest: [u8; 32] = hex::decode(fields.next()?).ok()?.try_into().ok()?;
                    Kind::File { size, mode, digest }
                }
                "l" => Kind::Link(hex::decode(fields.next()?).ok()?),
                _ => return None,
            };
            let stamp = parse_stamp(fields.next()?)?;
            let key = hex::decode(fields.next()?).ok()?;
            entries.push((key, kind, stamp));
        }
        if !entries.windows(2).all(|pair| pair[0].0 < pair[1].0) || counts.len() != 2 {
            return None;
        }
        Some(Record {
            same_input: blobs == blob_ids.iter().map(String::as_str).collect::<Vec<_>>()
                && recorded_include == only.include
                && recorded_exclude == only.exclude,
            unpacked: Unpacked { files: counts[0], bytes: counts[1], written: 0, removed: 0 },
            root,
            entries,
        })
    }

    /// One `lstat` per recorded path: where the stamp matches, what the record says is known;
    /// a folder whose stamp changed is listed again (something was added or removed in it).
    fn verify(&self, destination: &Path) -> OnDisk {
        let mut changed = 0;
        let mut entries: Vec<Present> = Vec::with_capacity(self.entries.len());
        let mut relisted: Vec<Key> = Vec::new();
        if Stamp::of_path(destination).is_none_or(|stamp| stamp.inode != self.root.inode || stamp != self.root) {
            changed += 1;
            relisted.push(Vec::new());
        }
        for (key, kind, stamp) in &self.entries {
            let Ok(metadata) = std::fs::symlink_metadata(destination.join(key_path(key))) else {
                changed += 1;
                continue;
            };
            let present_kind = PresentKind::of(metadata.file_type());
            if Stamp::of(&metadata) == *stamp {
                entries.push(Present { key: key.clone(), kind: present_kind, known: Some((kind.clone(), *stamp)) });
            } else {
                changed += 1;
                if present_kind == PresentKind::Dir && matches!(kind, Kind::Dir) {
                    relisted.push(key.clone());
                }
                entries.push(Present { key: key.clone(), kind: present_kind, known: None });
            }
        }
        // Paths added in a changed folder (a removed one has no stamp left to match).
        for folder in relisted {
            let dir = destination.join(key_path(&folder));
            let Ok(listing) = std::fs::read_dir(&dir) else { continue };
            for child in listing.flatten() {
                use std::os::unix::ffi::OsStrExt as _;
                let mut key = folder.clone();
                if !key.is_empty() {
                    key.push(0);
                }
                key.extend_from_slice(child.file_name().as_bytes());
                if self.entries.binary_search_by(|(recorded, _, _)| recorded.cmp(&key)).is_err() {
                    changed += 1;
                    let kind = child.file_type().map_or(PresentKind::Other, PresentKind::of);
                    let mut inside = Vec::new();
                    if kind == PresentKind::Dir {
                        let _ = walk(&child.path(), &key, &mut inside);
                    }
                    entries.push(Present { key, kind, known: None });
                    entries.extend(inside);
                }
            }
        }
        // A folder the record does not name (one an `--only` unpack made for the files it holds)
        // is walked whole when its parent changed: a recorded path found again in it is listed
        // once, with what the record knows of it (twice, the second would read as not unpacked
        // and be removed).
        entries.sort_by(|a, b| a.key.cmp(&b.key).then(a.known.is_none().cmp(&b.known.is_none())));
        entries.dedup_by(|later, first| later.key == first.key);
        OnDisk { entries, changed }
    }

    /// Writes the record of an exact unpack that left `union` in `destination`: folders and what
    /// was written stamped now, what a verified record vouched for and was kept with its stamp.
    fn write(
        path: &Path,
        destination: &Path,
        blob_ids: &[String],
        only: &Selection,
        union: &[UnionEntry],
        plan: &Plan,
        done: Unpacked,
    ) -> anyhow::Result<()> {
        use std::fmt::Write as _;
        let mut stamps: Vec<Option<Stamp>> = vec![None; union.len()];
        for (index, stamp) in &plan.kept {
            stamps[*index] = *stamp;
        }
        let mut text = String::with_capacity(union.len() * 160);
        let _ = writeln!(text, "{RECORD_HEADER}");
        let _ = writeln!(text, "blobs\t{}", blob_ids.join("\t"));
        let patterns = |list: &[String]| list.iter().map(|pattern| escape_text(pattern)).collect::<Vec<_>>().join("\t");
        let _ = writeln!(text, "only\t{}", patterns(&only.include));
        let _ = writeln!(text, "exclude\t{}", patterns(&only.exclude));
        let _ = writeln!(text, "counts\t{}\t{}", done.files, done.bytes);
        let Some(root) = Stamp::of_path(destination) else { return Ok(()) };
        let _ = writeln!(text, "root\t{}", format_stamp(&root));
        for (entry, stamp) in union.iter().zip(stamps) {
            let stamp = match stamp {
                Some(stamp) if !matches!(entry.kind, Kind::Dir) => stamp,
                _ => match Stamp::of_path(&destination.join(key_path(&entry.key))) {
                    Some(stamp) => stamp,
                    None => return Ok(()),
                },
            };
            match &entry.kind {
                Kind::Dir => text.push('d'),
                Kind::File { size, mode, digest } => {
                    let _ = write!(text, "f\t{mode:o}\t{size}\t{}", hex::encode(digest));
                }
                Kind::Link(target) => {
                    let _ = write!(text, "l\t{}", hex::encode(target));
                }
            }
            let _ = writeln!(text, "\t{}\t{}", format_stamp(&stamp), hex::encode(&entry.key));
        }
        crate::io::fs::write_atomic(path, text.as_bytes())
    }
}

fn format_stamp(stamp: &Stamp) -> String {
    format!(
        "{}:{}:{}:{}.{}:{}.{}",
        stamp.device, stamp.inode, stamp.size, stamp.modified.0, stamp.modified.1, stamp.changed.0, stamp.changed.1
    )
}

fn parse_stamp(text: &str) -> Option<Stamp> {
    let parts: Vec<&str> = text.split(':').collect();
    let [device, inode, size, modified, changed] = parts.as_slice() else { return None };
    let time = |text: &str| -> Option<(i64, i64)> {
        let (seconds, nanos) = text.split_once('.')?;
        Some((seconds.parse().ok()?, nanos.parse().ok()?))
    };
    Some(Stamp {
        device: device.parse().ok()?,
        inode: inode.parse().ok()?,
        size: size.parse().ok()?,
        modified: time(modified)?,
        changed: time(changed)?,
    })
}

fn escape_text(text: &str) -> String {
    hex::encode(text.as_bytes())
}

fn unescape_text(text: &str) -> String {
    hex::decode(text).ok().and_then(|bytes| String::from_utf8(bytes).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::error::{ExitStatus, exit_status_of};
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

    /// A tar written entry by entry (our writer would add folders and sort): `(path, link target or
    /// None for a file of `bytes`)`.
    fn raw_archive(entries: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, link, bytes) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            match link {
                Some(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target).unwrap();
                }
                None if path.ends_with('/') => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder.append_data(&mut header, path, std::io::empty()).unwrap();
                }
                None => {
                    header.set_size(bytes.len() as u64);
                    builder.append_data(&mut header, path, *bytes).unwrap();
                }
            }
        }
        gzip(&builder.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn a_link_through_another_link_is_refused_in_the_archive_and_in_the_destination() {
        // `d/l1 → ..` is the destination itself; `l2 → d/l1/..` reads as `d`, and is its parent.
        let chain = raw_archive(&[("d/", None, b""), ("d/l1", Some(".."), b""), ("l2", Some("d/l1/.."), b"")]);
        let root = tempfile::tempdir().unwrap();
        let destination = root.path().join("dest");
        for existing in [Existing::Merge, Existing::Exact] {
            let error = unpack_all(&[&chain], &destination, &[], existing).unwrap_err();
            assert!(error.to_string().contains("links to links are refused"), "{error}");
            assert_eq!(exit_status_of(&error), ExitStatus::BadInput);
        }
        assert!(listing(root.path()).is_empty(), "nothing written");
        // A link already in the destination, merged over: the archive's link through it is refused.
        fs_err::create_dir_all(&destination).unwrap();
        std::os::unix::fs::symlink("..", destination.join("up")).unwrap();
        let through = raw_archive(&[("l", Some("up/x"), b"")]);
        let error = unpack_all(&[&through], &destination, &[], Existing::Merge).unwrap_err();
        assert!(error.to_string().contains("leads through the link `up`"), "{error}");
        // Unpacked exactly, the planted link goes first, so the new one dangles inside.
        unpack_all(&[&through], &destination, &[], Existing::Exact).unwrap();
        assert!(!destination.join("up").exists() && destination.join("l").is_symlink());
    }

    #[test]
    fn a_hard_link_in_the_destination_is_replaced_never_written_through() {
        let root = tempfile::tempdir().unwrap();
        let outside = root.path().join("outside.txt");
        fs_err::write(&outside, "old!").unwrap();
        let destination = root.path().join("dest");
        fs_err::create_dir_all(&destination).unwrap();
        fs_err::hard_link(&outside, destination.join("a.txt")).unwrap();
        fs_err::hard_link(&outside, destination.join("b.txt")).unwrap();
        // Same size, other bytes; and the same bytes with another mode (a chmod would reach outside).
        let blob = raw_archive(&[("a.txt", None, b"new!"), ("b.txt", None, b"old!")]);
        let mut header_mode = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o755);
        header.set_size(4);
        header_mode.append_data(&mut header, "b.txt", b"old!".as_slice()).unwrap();
        let executable = gzip(&header_mode.into_inner().unwrap()).unwrap();
        for existing in [Existing::Merge, Existing::Exact] {
            unpack_all(&[&blob, &executable], &destination, &[], existing).unwrap();
            assert_eq!(fs_err::read_to_string(&outside).unwrap(), "old!", "the outside file is untouched");
            let mode = std::os::unix::fs::PermissionsExt::mode(&fs_err::metadata(&outside).unwrap().permissions());
            assert_eq!(mode & 0o111, 0, "and keeps its mode");
            assert_eq!(fs_err::read_to_string(destination.join("a.txt")).unwrap(), "new!");
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &fs_err::metadata(destination.join("b.txt")).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o755);
        }
    }

    #[test]
    fn a_record_vouches_for_untouched_paths_and_every_change_is_caught() {
        let source = tree(&[("a/one.txt", "1"), ("a/two.txt", "22"), ("b.txt", "b")]);
        let blob = packed(source.path(), &Selection::default());
        let root = tempfile::tempdir().unwrap();
        let destination = root.path().join("dest");
        let record = record_path(&destination);
        let all = Selection::default();
        let unpack = || unpack_recorded(&[&blob], &destination, &all, Existing::Exact, Some(&record)).unwrap();
        assert_eq!(unpack().written, 3);
        assert!(record.is_file() && !destination.join(".dest.rhdh-catalog-unpacked").exists(), "beside it");
        assert_eq!((unpack().written, unpack().removed), (0, 0), "nothing changed: nothing written");
        // Rewritten in place with the same size, a file added, a folder added, a file removed.
        std::fs::OpenOptions::new().write(true).open(destination.join("a/one.txt")).unwrap().write_all(b"X").unwrap();
        fs_err::write(destination.join("a/stray.txt"), "s").unwrap();
        fs_err::create_dir_all(destination.join("c/d")).unwrap();
        fs_err::remove_file(destination.join("b.txt")).unwrap();
        let again = unpack();
        assert_eq!((again.written, again.removed), (2, 2), "{again:?}");
        assert_eq!(listing(&destination), ["a/one.txt", "a/two.txt", "b.txt"]);
        assert_eq!(fs_err::read_to_string(destination.join("a/one.txt")).unwrap(), "1");
        // A record that does not parse is no record.
        fs_err::write(&record, "garbage").unwrap();
        assert_eq!(unpack().written, 0);
    }

    #[test]
    fn a_recorded_unpack_of_a_few_files_keeps_them_when_the_folder_moved() {
        // What the fetch task does: `--exclude workspaces --only workspaces/*/record.json`, so the
        // record names the files but not the folders made for them; the local runner then moves
        // the folder into a fresh TaskRun folder (its stamp changes, its content does not).
        let source = tree(&[("workspaces/a/record.json", "1"), ("workspaces/a/big.txt", "x"), ("top.txt", "t")]);
        let blob = packed(source.path(), &Selection::default());
        let root = tempfile::tempdir().unwrap();
        let destination = root.path().join("dest");
        let record = record_path(&destination);
        let only = Selection {
            include: vec!["workspaces/*/record.json".into()],
            exclude: vec!["workspaces".into()],
            ..Selection::default()
        };
        let unpack = || unpack_recorded(&[&blob], &destination, &only, Existing::Exact, Some(&record)).unwrap();
        assert_eq!(unpack().written, 2);
        let moved = root.path().join("moved");
        fs_err::rename(&destination, &moved).unwrap();
        fs_err::rename(&moved, &destination).unwrap();
        let again = unpack();
        assert_eq!((again.written, again.removed), (0, 0), "{again:?}");
        assert_eq!(listing(&destination), ["top.txt", "workspaces/a/record.json"]);
    }

    #[test]
    fn an_archive_that_unpacks_to_far_more_than_its_size_is_refused() {
        let zeros = vec![0u8; usize::try_from(RATIO_FLOOR_BYTES).unwrap() + 1024 * 1024];
        let bomb = raw_archive(&[("zeros", None, &zeros)]);
        assert!((bomb.len() as u64) * MAX_RATIO < zeros.len() as u64, "{} bytes", bomb.len());
        let root = tempfile::tempdir().unwrap();
        let error = unpack(&bomb, &root.path().join("dest")).unwrap_err();
        assert!(error.to_string().contains("times its"), "{error}");
        assert_eq!(exit_status_of(&error), ExitStatus::BadInput);
        assert!(listing(root.path()).is_empty());
    }

    #[test]
    fn a_corrupt_archive_is_bad_input_and_writes_nothing() {
        let good = packed(tree(&[("a.txt", "a"), ("b.txt", "b")]).path(), &Selection::default());
        let root = tempfile::tempdir().unwrap();
        for (name, blob) in [
            ("not gzip", b"plain text, no gzip".to_vec()),
            ("truncated", good[..good.len() / 2].to_vec()),
            ("gzip of no tar", gzip(&[7u8; 700]).unwrap()),
        ] {
            let error = unpack(&blob, &root.path().join("dest")).unwrap_err();
            assert_eq!(exit_status_of(&error), ExitStatus::BadInput, "{name}: {error}");
            assert!(error.to_string().contains("tar.gz") || error.to_string().contains("truncated"), "{name}: {error}");
        }
        assert!(listing(root.path()).is_empty());
    }

    #[test]
    fn git_is_never_a_whole_folder_and_never_removed_by_exact() {
        let manifest =
            LayerFile { path: MANIFEST.into(), contents: br#"{"whole": [".git"]}"#.to_vec(), ..LayerFile::default() };
        let whole_git = gzip(&build_tar(&[manifest]).unwrap()).unwrap();
        let destination = tree(&[(".git/config", "[core]"), ("sub/.git/HEAD", "ref"), ("sub/x", "x"), ("y", "y")]);
        let error = unpack(&whole_git, destination.path()).unwrap_err();
        assert!(error.to_string().contains("never replaced whole"), "{error}");
        let selection = Selection { whole: vec![".git".into()], ..Selection::default() };
        let error = collect_selected(destination.path(), &selection).unwrap_err();
        assert!(error.to_string().contains("never marked whole"), "and never packed as such: {error}");
        let plain = packed(tree(&[("z", "z")]).path(), &Selection::default());
        unpack_all(&[&plain], destination.path(), &[], Existing::Exact).unwrap();
        assert_eq!(listing(destination.path()), [".git/config", "sub/.git/HEAD", "z"]);
        // A checkout's own `.git` is what its archive says, exactly.
        let checkout = packed(tree(&[(".git/HEAD", "ref"), ("z", "z")]).path(), &Selection::default());
        unpack_all(&[&checkout], destination.path(), &[], Existing::Exact).unwrap();
        assert_eq!(listing(destination.path()), [".git/HEAD", "sub/.git/HEAD", "z"]);
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
