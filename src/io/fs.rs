//! File-system edge: reading inputs with errors that name the file, and writing outputs atomically
//! (temporary file or directory, then rename) so that a crash never leaves a half-written output.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::InputError;
use crate::formats::relative_path::RelativePath;
use std::collections::BTreeSet;

/// Largest input file we read into memory; real metadata files are a few KiB.
pub(crate) const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Most bytes of text inputs one process reads whole from its content trees, counting
/// [`PER_FILE_CHARGE`] more for each file: a real overlay holds about 3 MiB in a few hundred
/// files, a catalog index less. Without it, many files each under [`MAX_INPUT_BYTES`] would hold
/// gigabytes (an overlay with a hundred 15 MB entity files), far past the Tasks' memory limits
/// (`index` 1 Gi, `validate` 512 Mi): with it, what a step holds of a tree stays a fraction of them.
pub(crate) const MAX_CONTENT_TREE_BYTES: u64 = 128 * 1024 * 1024;

/// What each file read whole from a content tree counts besides its bytes (its name, its value):
/// a million empty files cost as much as a few large ones.
const PER_FILE_CHARGE: u64 = 1024;

/// Bytes of text inputs read whole from content trees so far (see [`MAX_CONTENT_TREE_BYTES`]).
static CONTENT_TREE_BYTES_READ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The trees whose files are content (an overlay, a midstream checkout): a file read from inside
/// one must resolve, every link followed, to a regular file inside the same tree. Each step names
/// its trees once, at its start ([`add_content_tree`]); every read below applies the rule.
fn content_trees() -> &'static std::sync::Mutex<Vec<ContentTree>> {
    static TREES: std::sync::OnceLock<std::sync::Mutex<Vec<ContentTree>>> = std::sync::OnceLock::new();
    TREES.get_or_init(|| std::sync::Mutex::new(Vec::new()))
}

/// A content tree as spelled (absolute, `.`/`..` removed) and, once it exists, where it lies on
/// disk. The tree's own path is the step's argument, not content: resolved once, not per read (a
/// `canonicalize` per read was a third of `index`'s file-system calls at 2,640 plugins).
#[derive(Clone)]
struct ContentTree {
    spelled: PathBuf,
    on_disk: std::sync::Arc<std::sync::OnceLock<PathBuf>>,
}

impl ContentTree {
    fn on_disk(&self) -> PathBuf {
        if let Some(root) = self.on_disk.get() {
            return root.clone();
        }
        match std::fs::canonicalize(&self.spelled) {
            Ok(root) => self.on_disk.get_or_init(|| root).clone(),
            Err(_) => self.spelled.clone(),
        }
    }
}

/// Declares `tree` a content tree for the rest of the process.
pub(crate) fn add_content_tree(tree: &Path) {
    let Ok(absolute) = std::path::absolute(tree) else { return };
    let absolute = normalize_absolute(&absolute);
    if let Ok(mut trees) = content_trees().lock()
        && !trees.iter().any(|tree| tree.spelled == absolute)
    {
        trees.push(ContentTree { spelled: absolute, on_disk: std::sync::Arc::default() });
    }
}

/// `.` and `..` removed lexically from an absolute path.
fn normalize_absolute(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `path` as the file system will see it: absolute, `.`/`..` resolved, and the longest part that
/// exists with its symbolic links resolved (so two spellings of one folder compare equal).
pub(crate) fn resolved(path: &Path) -> PathBuf {
    let absolute = normalize_absolute(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let mut existing = absolute.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(name) = existing.file_name().map(std::ffi::OsStr::to_os_string) else { break };
        rest.push(name);
        if !existing.pop() {
            break;
        }
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    out
}

/// Whether `path` lies inside `tree` on disk: its folder, every link resolved, is `tree` or below
/// it. Its last component is not followed: a rename or a removal replaces a link itself, never
/// what it points at. What a step writes into or removes from a tree it did not make (an upstream
/// checkout) must pass it, or a link such as `packages -> ../../..` would land the write, or the
/// removal, outside.
pub(crate) fn lies_inside(tree: &Path, path: &Path) -> bool {
    resolved(parent_dir(path)).starts_with(resolved(tree))
}

/// Whether one path is the other or lies inside it.
pub(crate) fn overlap(first: &Path, second: &Path) -> bool {
    let (first, second) = (resolved(first), resolved(second));
    first.starts_with(&second) || second.starts_with(&first)
}

/// What a file system entry is, in words, for refusals.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// An input file, open for reading: a regular file (checked on the open handle, so nothing can be
/// swapped in between), inside its content tree, that yields at most `limit` bytes. Reading past
/// the limit is an error, not a silent cut.
#[derive(Debug)]
pub(crate) struct InputFile {
    file: std::fs::File,
    path: PathBuf,
    size: u64,
    limit: u64,
    read: u64,
    /// The content tree the file lies in, when it lies in one.
    tree: Option<PathBuf>,
}

impl InputFile {
    /// The size the file had when it was opened.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The open file itself, for a reader that checked it and streams it again.
    pub(crate) fn into_file(self) -> std::fs::File {
        self.file
    }

    /// The whole file, refused when it is over the limit (before reading any of it when its size
    /// says so, and without reading past the limit when it grows).
    pub(crate) fn read_all(mut self) -> Result<Vec<u8>, InputError> {
        use std::io::Read;
        self.charge_content_tree(self.size.min(self.limit) + PER_FILE_CHARGE)?;
        let mut bytes = Vec::with_capacity(self.size.min(self.limit).min(64 * 1024 * 1024) as usize);
        self.read_to_end(&mut bytes).map_err(|error| self.read_error(&error))?;
        // A file that grew after it was opened counts what was read.
        self.charge_content_tree((bytes.len() as u64).saturating_sub(self.size))?;
        Ok(bytes)
    }

    /// Counts `bytes` of a text input read whole from a content tree against
    /// [`MAX_CONTENT_TREE_BYTES`], refusing the file that would pass it. Streams (hashes, copies)
    /// and reads with a limit of their own (a plugin's files, a blob) are not counted.
    fn charge_content_tree(&self, bytes: u64) -> Result<(), InputError> {
        use std::sync::atomic::Ordering;
        let Some(tree) = &self.tree else { return Ok(()) };
        if self.limit != MAX_INPUT_BYTES {
            return Ok(());
        }
        let before = CONTENT_TREE_BYTES_READ.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > MAX_CONTENT_TREE_BYTES {
            return Err(InputError::in_file(
                &self.path,
                format!(
                    "is one file too many: the files read from {} come to more than the {MAX_CONTENT_TREE_BYTES} bytes (counting {PER_FILE_CHARGE} per file) a tree of inputs may hold",
                    tree.display()
                ),
            )
            .with_hint("a real overlay or catalog index holds a few MiB of text; remove the files that do not belong in it"));
        }
        Ok(())
    }

    /// An [`InputError`] for a failed read of this file: over the limit, or the OS error.
    pub(crate) fn read_error(&self, error: &std::io::Error) -> InputError {
        if error.kind() == std::io::ErrorKind::FileTooLarge {
            over_limit(&self.path, self.limit)
        } else {
            InputError::in_file(&self.path, format!("cannot read: {error}"))
        }
    }
}

impl std::io::Read for InputFile {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.read > self.limit || self.size > self.limit {
            return Err(std::io::Error::from(std::io::ErrorKind::FileTooLarge));
        }
        // One byte past the limit is asked for, so a file that grew is noticed.
        let room = (self.limit - self.read + 1).min(buffer.len() as u64) as usize;
        let count = self.file.read(&mut buffer[..room])?;
        self.read += count as u64;
        if self.read > self.limit {
            return Err(std::io::Error::from(std::io::ErrorKind::FileTooLarge));
        }
        Ok(count)
    }
}

fn over_limit(path: &Path, limit: u64) -> InputError {
    if limit == MAX_INPUT_BYTES {
        InputError::in_file(path, format!("is larger than the {MAX_INPUT_BYTES} bytes an input may have"))
            .with_hint("inputs are small text files; check that this is the file you meant")
    } else {
        InputError::in_file(path, format!("is larger than the {limit} bytes this file may have"))
            .with_hint("check that this is the file you meant; nothing was read past the limit")
    }
}

fn refused_kind(path: &Path, file_type: std::fs::FileType) -> InputError {
    InputError::in_file(path, format!("is {}; an input must be a regular file", kind_of(file_type)))
        .with_hint("give a regular file")
}

/// Opens `path` for reading, at most `limit` bytes: the one place the tool opens a file to read
/// it. The path must lead (links followed) to a regular file — a folder, FIFO, socket or device is
/// refused before it is opened, and again on the open handle; the open never blocks (a FIFO
/// swapped in cannot hang the step) — and, when it lies in a content tree a step declared
/// ([`add_content_tree`]), the file actually opened must lie inside that tree, every link
/// resolved against what is on disk. Messages name the file and never its content.
pub(crate) fn open_input(path: &Path, limit: u64) -> Result<InputFile, InputError> {
    use std::os::unix::fs::OpenOptionsExt;
    let cannot_read = |error: std::io::Error| {
        let hint = if error.raw_os_error() == Some(libc::ELOOP) {
            "a chain of symbolic links this long is not followed; replace the links with the file itself"
        } else {
            "check that the path names an existing, readable file"
        };
        InputError::in_file(path, format!("cannot read: {error}")).with_hint(hint)
    };
    let metadata = std::fs::metadata(path).map_err(cannot_read)?;
    if !metadata.is_file() {
        return Err(refused_kind(path, metadata.file_type()));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(cannot_read)?;
    let opened = file.metadata().map_err(cannot_read)?;
    if !opened.is_file() {
        return Err(refused_kind(path, opened.file_type()));
    }
    let tree = check_inside_content_tree(path, &file)?;
    Ok(InputFile { file, path: path.to_path_buf(), size: opened.len(), limit, read: 0, tree })
}

/// Refuses `file` (opened from `path`) when `path` lies in a content tree and the file opened
/// does not: the place the kernel opened, not the spelling, decides. A path lies in a tree when it
/// is spelled inside it, before or after its `..` are resolved (`tree/../x` is a path of the tree
/// that climbs out, and is refused like a link that does). Returns the tree.
fn check_inside_content_tree(path: &Path, file: &std::fs::File) -> Result<Option<PathBuf>, InputError> {
    let Ok(spelled) = std::path::absolute(path) else { return Ok(None) };
    let absolute = normalize_absolute(&spelled);
    let trees = content_trees().lock().map(|trees| trees.clone()).unwrap_or_default();
    let trees: Vec<&ContentTree> =
        trees.iter().filter(|tree| absolute.starts_with(&tree.spelled) || spelled.starts_with(&tree.spelled)).collect();
    let Some(first) = trees.first().map(|tree| tree.spelled.clone()) else { return Ok(None) };
    let opened = opened_path(file).or_else(|| std::fs::canonicalize(path).ok());
    for tree in trees {
        let root = tree.on_disk();
        let inside = opened.as_ref().is_some_and(|opened| opened.starts_with(&root));
        if !inside {
            let place =
                opened.as_ref().map_or_else(|| "an unknown place".to_string(), |opened| opened.display().to_string());
            return Err(InputError::in_file(
                path,
                format!(
                    "resolves to {place}, outside {}; files of the tree must stay inside it",
                    tree.spelled.display()
                ),
            )
            .with_hint("replace the symbolic link (or the `..`) with the file itself, inside the tree"));
        }
    }
    Ok(Some(first))
}

/// Where the kernel says an open file is (`/proc/self/fd`), when it can say.
fn opened_path(file: &std::fs::File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok().filter(|path| path.is_absolute())
}

/// Checks the files that `variable` names (a `:`-separated list) for a library that opens them
/// itself — rustls reads `SSL_CERT_FILE`, kube reads `KUBECONFIG` — before the library does: each
/// that exists must be a regular file of at most `limit` bytes, checked through [`open_input`], so
/// a FIFO cannot hang the step and a device cannot be read for ever. `default` is checked when
/// the variable is unset.
pub(crate) fn check_library_input(variable: &str, default: Option<PathBuf>, limit: u64) -> Result<(), InputError> {
    let paths: Vec<PathBuf> = match std::env::var_os(variable).filter(|value| !value.is_empty()) {
        Some(value) => std::env::split_paths(&value).collect(),
        None => default.into_iter().collect(),
    };
    for path in paths {
        if path.as_os_str().is_empty() || (!path.exists() && !path.is_symlink()) {
            continue;
        }
        let named = |problem: String| {
            InputError::in_file(&path, format!("(named by {variable}) {problem}"))
                .with_hint(format!("point {variable} at a regular file, or unset it"))
        };
        let input = open_input(&path, limit).map_err(|error| named(error.problem))?;
        if input.size() > limit {
            return Err(named(format!("is larger than the {limit} bytes this file may have")));
        }
    }
    Ok(())
}

/// Reads an input file: a regular file (see [`open_input`]), at most [`MAX_INPUT_BYTES`] bytes.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, InputError> {
    open_input(path, MAX_INPUT_BYTES)?.read_all()
}

/// Reads a file of at most `limit` bytes (see [`open_input`]).
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    open_input(path, limit)?.read_all()
}

/// The last `count` bytes (at most) of a file, however long it is (a log).
pub(crate) fn read_end(path: &Path, count: u64) -> Result<Vec<u8>, InputError> {
    use std::io::{Read, Seek};
    let mut input = open_input(path, u64::MAX - 1)?;
    let start = input.size.saturating_sub(count);
    input.file.seek(std::io::SeekFrom::Start(start)).map_err(|error| input.read_error(&error))?;
    let mut bytes = Vec::new();
    (&mut input.file).take(count).read_to_end(&mut bytes).map_err(|error| input.read_error(&error))?;
    Ok(bytes)
}

/// Reads a UTF-8 text input; a missing, non-regular, huge or non-UTF-8 file is an [`InputError`].
pub(crate) fn read_text(path: &Path) -> Result<String, InputError> {
    text_of(path, read_input(path)?)
}

/// Reads and parses a text input: `parse` gets the file's name and text (formats take text).
pub(crate) fn read_parsed<T>(
    path: &Path,
    parse: impl FnOnce(&Path, &str) -> Result<T, InputError>,
) -> Result<T, InputError> {
    parse(path, &read_text(path)?)
}

/// Reads and parses a file another repository owns, read forward-compatibly: what the read
/// passed over (unknown keys, stringly booleans) is logged as a warning naming file and line.
pub(crate) fn read_foreign<T: crate::formats::foreign::Noted>(
    path: &Path,
    parse: impl FnOnce(&Path, &str) -> Result<T, InputError>,
) -> Result<T, InputError> {
    let value = read_parsed(path, parse)?;
    crate::formats::foreign::warn(value.notes());
    Ok(value)
}

/// Reads and parses a JSON input (see [`crate::formats::json::from_str`]).
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, InputError> {
    read_parsed(path, crate::formats::json::from_str)
}

/// `bytes` of `path` as UTF-8 text without a byte-order mark.
pub(crate) fn text_of(path: &Path, bytes: Vec<u8>) -> Result<String, InputError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(InputError::in_file(path, "starts with a byte-order mark (U+FEFF)")
            .at_line(Some(1))
            .with_hint("save the file as UTF-8 without a byte-order mark"));
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let line = error.as_bytes()[..offset].split(|byte| *byte == b'\n').count() as u64;
        InputError::in_file(path, format!("not valid UTF-8 (byte {offset})"))
            .at_line(Some(line))
            .with_hint("save the file as UTF-8")
    })
}

/// The digest (`sha256`, or the algorithm of `like`) of a file read as a stream (never whole in
/// memory), at most `limit` bytes.
pub(crate) fn hash_file(
    path: &Path,
    limit: u64,
    like: Option<&crate::formats::image_reference::Digest>,
) -> Result<crate::formats::image_reference::Digest, InputError> {
    let mut file = open_input(path, limit)?;
    let mut hasher = like.map(crate::formats::image_reference::Digest::hasher).unwrap_or_default();
    std::io::copy(&mut file, &mut hasher).map_err(|error| file.read_error(&error))?;
    Ok(hasher.finish())
}

/// Whether the regular file at `path` holds exactly `bytes` (read no further than their length
/// plus one; anything that is not a regular file, or cannot be read, does not).
pub(crate) fn holds_exactly(path: &Path, bytes: &[u8]) -> bool {
    let Ok(metadata) = std::fs::symlink_metadata(path) else { return false };
    if !metadata.is_file() || metadata.len() != bytes.len() as u64 {
        return false;
    }
    open_input(path, bytes.len() as u64).and_then(InputFile::read_all).is_ok_and(|existing| existing == bytes)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
/// An existing file with the same bytes is left alone (read no further than their length); an
/// existing folder, FIFO, socket or device is refused, never replaced.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Ok(metadata) = std::fs::symlink_metadata(path)
        && !metadata.is_file()
        && !metadata.file_type().is_symlink()
    {
        return Err(InputError::in_file(
            path,
            format!("is {}; an output file must be a regular file or not exist yet", kind_of(metadata.file_type())),
        )
        .with_hint("give the path of a file to write")
        .into());
    }
    if holds_exactly(path, bytes) {
        return Ok(());
    }
    let parent = parent_dir(path);
    fs_err::create_dir_all(parent)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rhdh-catalog-");
    // Readable as any file the process writes (0666 less the umask), not a temporary file's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temporary =
        builder.tempfile_in(parent).with_context(|| format!("creating a temporary file in {}", parent.display()))?;
    temporary.write_all(bytes).with_context(|| format!("writing {}", temporary.path().display()))?;
    temporary.persist(path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Most bytes one file copied from a content tree (an upstream clone) may have.
pub(crate) const MAX_COPIED_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Copies the regular file `source` to `target` as a stream (through a temporary file and a
/// rename, with `source`'s permission bits), unless `target` already holds the same bytes.
/// Returns whether it wrote.
pub(crate) fn copy_file(source: &Path, target: &Path) -> anyhow::Result<bool> {
    let mut input = open_input(source, MAX_COPIED_FILE_BYTES)?;
    let mode = std::os::unix::fs::PermissionsExt::mode(&input.file.metadata()?.permissions()) & 0o777;
    if same_content(&mut input, target)? {
        let current = std::fs::symlink_metadata(target)
            .map(|metadata| std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777)?;
        if current != mode {
            fs_err::set_permissions(target, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        }
        return Ok(false);
    }
    if let Ok(metadata) = std::fs::symlink_metadata(target)
        && !metadata.is_file()
    {
        if metadata.is_dir() {
            fs_err::remove_dir_all(target)?;
        } else {
            fs_err::remove_file(target)?;
        }
    }
    let parent = parent_dir(target);
    fs_err::create_dir_all(parent)?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".rhdh-catalog-")
        .tempfile_in(parent)
        .with_context(|| format!("creating a temporary file in {}", parent.display()))?;
    std::io::copy(&mut input, temporary.as_file_mut()).map_err(|error| input.read_error(&error))?;
    fs_err::set_permissions(temporary.path(), std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    temporary.persist(target).with_context(|| format!("renaming into {}", target.display()))?;
    Ok(true)
}

/// Whether the regular file `target` holds what `input` holds (both read as streams); `input` is
/// left at its start.
fn same_content(input: &mut InputFile, target: &Path) -> anyhow::Result<bool> {
    use std::io::Seek;
    let Ok(metadata) = std::fs::symlink_metadata(target) else { return Ok(false) };
    if !metadata.is_file() || metadata.len() != input.size {
        return Ok(false);
    }
    let Ok(mut existing) = open_input(target, input.size) else { return Ok(false) };
    let (mut left, mut right) = (vec![0; 64 * 1024], vec![0; 64 * 1024]);
    let same = loop {
        let count = read_full(input, &mut left).map_err(|error| input.read_error(&error))?;
        if count == 0 {
            break true;
        }
        let other = read_full(&mut existing, &mut right[..count]).unwrap_or(0);
        if other != count || left[..count] != right[..count] {
            break false;
        }
    };
    input.file.rewind()?;
    input.read = 0;
    Ok(same)
}

/// Fills `buffer` as far as the reader goes; the count read.
fn read_full(reader: &mut impl std::io::Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Refuses to replace the output folder `dir` (given as `flag`) unless it does not exist yet, is
/// empty, or is recognisably the step's previous output: folders and regular files only, no
/// `.git` anywhere, and every file one `is_own` accepts (its path relative to `dir`). An output
/// folder is replaced whole, so anything else in it — a checkout, a home folder — would be gone.
pub(crate) fn check_replaceable(dir: &Path, flag: &str, is_own: impl Fn(&Path) -> bool) -> Result<(), InputError> {
    let Ok(metadata) = std::fs::symlink_metadata(dir) else { return Ok(()) };
    let refuse = |problem: String| {
        InputError::usage(format!("`{flag}` {}: {problem}; nothing was written", dir.display())).with_hint(format!(
            "give `{flag}` a new or empty folder, or the folder this step wrote before (it is replaced whole)"
        ))
    };
    if metadata.file_type().is_symlink() {
        return Err(refuse("is a symbolic link, not a folder this step wrote".into()));
    }
    if metadata.is_file() {
        return Err(refuse("is a file, not a folder".into()));
    }
    if !metadata.is_dir() {
        return Err(refuse(format!("is {}, not a folder", kind_of(metadata.file_type()))));
    }
    if std::env::current_dir().is_ok_and(|current| resolved(&current).starts_with(resolved(dir))) {
        return Err(refuse("is (or holds) the folder the step runs in".into()));
    }
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = std::fs::read_dir(dir.join(&relative))
            .map_err(|error| InputError::in_file(dir.join(&relative), format!("cannot list: {error}")))?;
        let mut children = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|error| InputError::in_file(dir.join(&relative), format!("cannot list: {error}")))?;
            children.push((relative.join(entry.file_name()), entry.file_type()));
        }
        children.sort_by(|left, right| left.0.cmp(&right.0));
        for (child, kind) in children {
            let shown = crate::formats::shown::shown(&child.to_string_lossy());
            let kind = kind.map_err(|error| InputError::in_file(dir.join(&child), format!("cannot read: {error}")))?;
            if child.file_name().is_some_and(|name| name.eq_ignore_ascii_case(".git")) {
                return Err(refuse(format!("holds `{shown}`, a git repository this step did not write")));
            }
            if kind.is_dir() {
                pending.push(child);
            } else if !kind.is_file() {
                return Err(refuse(format!("holds `{shown}`, {}, which this step never writes", kind_of_entry(kind))));
            } else if !is_own(&child) {
                return Err(refuse(format!("holds `{shown}`, which this step does not write")));
            }
        }
    }
    Ok(())
}

/// [`kind_of`], with links named too (an entry of a folder, not followed).
fn kind_of_entry(kind: std::fs::FileType) -> &'static str {
    if kind.is_symlink() { "a symbolic link" } else { kind_of(kind) }
}

/// Replaces several directories, each with exactly its files, as one transaction: every changed
/// tree is staged beside its directory first (nothing is touched if any staging fails), then all
/// are swapped in with renames; when a swap fails, the ones already swapped are put back. Trees
/// whose files are unchanged are not touched at all. Returns, per directory, whether it changed.
pub(crate) fn replace_trees(trees: &[(&Path, &BTreeMap<PathBuf, Vec<u8>>)]) -> anyhow::Result<Vec<bool>> {
    let mut staged = Vec::new();
    let mut changed = Vec::new();
    for (dir, files) in trees {
        if tree_equals(dir, files) {
            changed.push(false);
            continue;
        }
        changed.push(true);
        staged.push(stage(dir, |staging| {
            for (relative, bytes) in *files {
                let target = staging.join(relative);
                fs_err::create_dir_all(parent_dir(&target))?;
                fs_err::write(&target, bytes)?;
            }
            Ok(())
        })?);
    }
    swap_all(staged)?;
    Ok(changed)
}

/// Replaces the directory `dir` with what `populate` writes into a fresh staging directory, with
/// the same swap as [`replace_trees`]. Nothing is swapped when `populate` fails.
pub(crate) fn replace_tree_with(dir: &Path, populate: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let staged = stage(dir, populate)?;
    swap_all(vec![staged])
}

/// A directory's new content, complete, waiting beside it.
struct Staged {
    dir: PathBuf,
    staging: tempfile::TempDir,
    retired: PathBuf,
}

fn stage(dir: &Path, populate: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<Staged> {
    let parent = parent_dir(dir);
    fs_err::create_dir_all(parent)?;
    let name = dir
        .file_name()
        .with_context(|| format!("{} has no directory name", dir.display()))?
        .to_string_lossy()
        .into_owned();
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.new-"))
        .tempdir_in(parent)
        .with_context(|| format!("creating a staging directory in {}", parent.display()))?;
    populate(staging.path())?;
    let retired = parent.join(format!(".{name}.old-{}", std::process::id()));
    Ok(Staged { dir: dir.to_path_buf(), staging, retired })
}

/// Swaps every staged directory in; on a failure, puts back the ones already swapped and leaves
/// the rest untouched (their staging folders are removed when dropped).
fn swap_all(staged: Vec<Staged>) -> anyhow::Result<()> {
    let mut swapped: Vec<(PathBuf, PathBuf, bool)> = Vec::new();
    let mut pending = staged.into_iter();
    let failure = loop {
        let Some(next) = pending.next() else { break None };
        let had_old = next.dir.exists();
        if had_old && let Err(error) = fs_err::rename(&next.dir, &next.retired) {
            break Some(anyhow::Error::new(error));
        }
        let staged_path = next.staging.keep();
        if let Err(error) = fs_err::rename(&staged_path, &next.dir) {
            let _ = fs_err::remove_dir_all(&staged_path);
            if had_old {
                let _ = fs_err::rename(&next.retired, &next.dir);
            }
            break Some(anyhow::Error::new(error));
        }
        swapped.push((next.dir, next.retired, had_old));
    };
    if let Some(error) = failure {
        for (dir, retired, had_old) in swapped.into_iter().rev() {
            let _ = fs_err::remove_dir_all(&dir);
            if had_old {
                let _ = fs_err::rename(&retired, &dir);
            }
        }
        return Err(error.context("swapping the new outputs in failed; every output was put back as it was"));
    }
    for (_, retired, had_old) in swapped {
        if had_old {
            fs_err::remove_dir_all(&retired)?;
        }
    }
    Ok(())
}

/// Lists every regular file under `dir` as relative paths, sorted. Symbolic links are reported as
/// errors by the caller's policy: here they are skipped.
pub(crate) fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file()
                && let Ok(relative) = entry.path().strip_prefix(dir)
            {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A content id of a folder: sha256 over every regular file's relative path, executable bit and
/// bytes, in path order, each file read as a stream. Two folders with the same files have the same
/// id (like a git tree id, without needing the folder to be committed).
pub(crate) fn content_id(dir: &Path) -> Result<String, InputError> {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    hash_files(dir, None, &mut hasher)?;
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Feeds `hasher` what [`content_id`] hashes of `dir`, leaving out the file at `leave_out`
/// (relative to `dir`).
pub(crate) fn hash_files(dir: &Path, leave_out: Option<&Path>, hasher: &mut sha2::Sha256) -> Result<(), InputError> {
    use sha2::Digest as _;
    for relative in list_files(dir).map_err(|error| InputError::in_file(dir, format!("cannot list: {error}")))? {
        if Some(relative.as_path()) == leave_out {
            continue;
        }
        let path = dir.join(&relative);
        let mut file = open_input(&path, MAX_COPIED_FILE_BYTES)?;
        let metadata = file.file.metadata().map_err(|error| file.read_error(&error))?;
        let executable = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o111 != 0;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0, u8::from(executable), 0]);
        hasher.update(file.size.to_le_bytes());
        let mut sink = Sha256Sink(hasher, 0);
        std::io::copy(&mut file, &mut sink).map_err(|error| file.read_error(&error))?;
        if sink.1 != file.size {
            return Err(InputError::in_file(&path, "changed while it was read"));
        }
    }
    Ok(())
}

/// A digest of exactly what `parts` (paths relative to `root`, files or folders) hold: every
/// folder, file (its permission bits and bytes, read as a stream) and symbolic link (its target,
/// never followed), in path order. Anything else (a FIFO, a device) is an error.
pub(crate) fn tree_digest(root: &Path, parts: &[PathBuf]) -> anyhow::Result<String> {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    let mut pending: Vec<PathBuf> = parts.iter().rev().cloned().collect();
    while let Some(relative) = pending.pop() {
        let path = root.join(&relative);
        let metadata = std::fs::symlink_metadata(&path).with_context(|| format!("reading {}", path.display()))?;
        let kind = metadata.file_type();
        hasher.update(relative.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        if kind.is_symlink() {
            hasher.update(b"link\0");
            hasher.update(fs_err::read_link(&path)?.as_os_str().as_encoded_bytes());
        } else if kind.is_dir() {
            hasher.update(b"folder\0");
            let mut children: Vec<PathBuf> = fs_err::read_dir(&path)?
                .map(|entry| entry.map(|entry| relative.join(entry.file_name())))
                .collect::<Result<_, _>>()?;
            children.sort();
            pending.extend(children.into_iter().rev());
        } else if kind.is_file() {
            let mut file = open_input(&path, MAX_COPIED_FILE_BYTES)?;
            let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o7777;
            hasher.update(format!("file {mode:o} {}\0", file.size).as_bytes());
            let mut sink = Sha256Sink(&mut hasher, 0);
            std::io::copy(&mut file, &mut sink).map_err(|error| file.read_error(&error))?;
            if sink.1 != file.size {
                anyhow::bail!("{} changed while it was read", path.display());
            }
        } else {
            return Err(refused_kind(&path, kind).into());
        }
        hasher.update([0]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Feeds what is written into a running sha256, counting the bytes.
struct Sha256Sink<'a>(&'a mut sha2::Sha256, u64);

impl std::io::Write for Sha256Sink<'_> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        self.0.update(buffer);
        self.1 += buffer.len() as u64;
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tree_equals(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> bool {
    let Ok(existing) = list_files(dir) else {
        return false;
    };
    existing.len() == files.len()
        && existing
            .iter()
            .all(|relative| files.get(relative).is_some_and(|bytes| holds_exactly(&dir.join(relative), bytes)))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Copies every file of `source` (minus `.git` and `exclude`) into `destination`, overwriting
/// changed files and keeping files that exist only in `destination`. Symbolic links are copied as
/// links only when they stay inside `destination`. Returns the number of files written.
pub(crate) fn copy_additively(source: &Path, destination: &Path, exclude: &[RelativePath]) -> anyhow::Result<usize> {
    // Every link is checked before anything is written: a refused link leaves the destination as it was.
    check_links_stay_inside(source, exclude)?;
    let mut written = 0;
    let mut pending = vec![PathBuf::new()];
    let excluded: BTreeSet<&str> = exclude.iter().map(RelativePath::as_str).collect();
    while let Some(relative) = pending.pop() {
        let dir = source.join(&relative);
        let mut entries: Vec<_> = fs_err::read_dir(&dir)?.filter_map(Result::ok).collect();
        entries.sort_by_key(fs_err::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            let child = relative.join(&name);
            let child_text = child.to_string_lossy();
            if (relative.as_os_str().is_empty() && name == ".git") || excluded.contains(child_text.as_ref()) {
                continue;
            }
            let kind = entry.file_type()?;
            let target = destination.join(&child);
            if kind.is_dir() {
                if target.is_symlink() || target.is_file() {
                    fs_err::remove_file(&target)?;
                }
                fs_err::create_dir_all(&target)?;
                pending.push(child);
            } else if kind.is_symlink() {
                let link = link_inside(&entry.path(), &child, "")?;
                if target.exists() || target.is_symlink() {
                    if fs_err::read_link(&target).is_ok_and(|existing| existing == link) {
                        continue;
                    }
                    if target.is_dir() && !target.is_symlink() {
                        fs_err::remove_dir_all(&target)?;
                    } else {
                        fs_err::remove_file(&target)?;
                    }
                }
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                std::os::unix::fs::symlink(&link, &target).with_context(|| format!("linking {}", target.display()))?;
                written += 1;
            } else if kind.is_file() {
                if target.is_symlink() {
                    fs_err::remove_file(&target)?;
                }
                if copy_file(&entry.path(), &target)? {
                    written += 1;
                }
            }
        }
    }
    Ok(written)
}

/// Refuses a symbolic link under `source` (minus `.git` and `exclude`) that points outside it.
fn check_links_stay_inside(source: &Path, exclude: &[RelativePath]) -> anyhow::Result<()> {
    let excluded: BTreeSet<&str> = exclude.iter().map(RelativePath::as_str).collect();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs_err::read_dir(source.join(&relative))?.filter_map(Result::ok) {
            let name = entry.file_name();
            let child = relative.join(&name);
            if (relative.as_os_str().is_empty() && name == ".git")
                || excluded.contains(child.to_string_lossy().as_ref())
            {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(child);
            } else if kind.is_symlink() {
                link_inside(&entry.path(), &child, "; nothing was copied")?;
            }
        }
    }
    Ok(())
}

/// Copies the regular files of `source` that `destination` does not have yet (existing files win).
/// A target whose folder is a link out of `destination` is refused before anything is copied.
pub(crate) fn copy_missing(source: &Path, destination: &Path) -> anyhow::Result<()> {
    let files = list_files(source)?;
    if let Some(outside) =
        files.iter().map(|relative| destination.join(relative)).find(|target| !lies_inside(destination, target))
    {
        return Err(InputError::in_file(
            &outside,
            format!("lies in a folder that is a symbolic link out of {}; nothing was copied", destination.display()),
        )
        .with_hint("upstream content must stay inside its folder: replace the link with a folder")
        .into());
    }
    for relative in files {
        let target = destination.join(&relative);
        if !target.exists() {
            if let Some(parent) = target.parent() {
                fs_err::create_dir_all(parent)?;
            }
            copy_file(&source.join(&relative), &target)?;
        }
    }
    Ok(())
}

/// The target of the link at `path` (`child` relative to the copied root), refused when it is
/// absolute or leaves the root; `hint_tail` ends the hint.
fn link_inside(path: &Path, child: &Path, hint_tail: &str) -> anyhow::Result<PathBuf> {
    let link = fs_err::read_link(path)?;
    let resolved = normalize(&child.parent().unwrap_or(Path::new("")).join(&link));
    if link.is_absolute() || resolved.is_none() {
        return Err(InputError::in_file(
            path,
            format!("is a symbolic link to {} outside the repository", link.display()),
        )
        .with_hint(format!("upstream content must stay inside its destination folder{hint_tail}"))
        .into());
    }
    Ok(link)
}

/// Resolves `.` and `..` lexically; `None` when the path climbs above its root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(part.to_os_string()),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_tree_swaps_and_removes_stale_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        fs_err::create_dir_all(dir.join("old")).unwrap();
        fs_err::write(dir.join("old/stale.json"), "{}").unwrap();
        let mut files = BTreeMap::new();
        files.insert(PathBuf::from("a/b.txt"), b"hello".to_vec());
        assert_eq!(replace_trees(&[(dir.as_path(), &files)]).unwrap(), [true]);
        assert_eq!(replace_trees(&[(dir.as_path(), &files)]).unwrap(), [false], "unchanged: not touched");
        assert_eq!(list_files(&dir).unwrap(), vec![PathBuf::from("a/b.txt")]);
        assert_eq!(fs_err::read_dir(root.path()).unwrap().count(), 1, "no staging or retired dirs left");
    }

    #[test]
    fn normalize_refuses_climbing_out() {
        assert_eq!(normalize(Path::new("a/b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(normalize(Path::new("a/../../x")), None);
    }

    #[test]
    fn all_trees_or_none() {
        let root = tempfile::tempdir().unwrap();
        let first = root.path().join("first");
        fs_err::create_dir_all(&first).unwrap();
        fs_err::write(first.join("old.txt"), "old").unwrap();
        // The second tree cannot be staged: its parent is a file.
        fs_err::write(root.path().join("blocker"), "").unwrap();
        let second = root.path().join("blocker/second");
        let files: BTreeMap<PathBuf, Vec<u8>> = [(PathBuf::from("new.txt"), b"new".to_vec())].into_iter().collect();
        assert!(replace_trees(&[(first.as_path(), &files), (second.as_path(), &files)]).is_err());
        assert_eq!(list_files(&first).unwrap(), vec![PathBuf::from("old.txt")], "the first tree was not swapped");
        let leftovers: Vec<_> =
            fs_err::read_dir(root.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 2, "no staging folder left: {leftovers:?}");
    }

    #[test]
    fn content_id_follows_content_only() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        for dir in [first.path(), second.path()] {
            fs_err::create_dir_all(dir.join("a")).unwrap();
            fs_err::write(dir.join("a/x"), "1").unwrap();
        }
        assert_eq!(content_id(first.path()).unwrap(), content_id(second.path()).unwrap());
        fs_err::write(second.path().join("a/x"), "2").unwrap();
        assert_ne!(content_id(first.path()).unwrap(), content_id(second.path()).unwrap());
    }

    fn mkfifo(path: &Path) {
        assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
    }

    /// A FIFO (with no writer: a blocking open would hang), a device and a folder are refused by
    /// name, and so is a file past its limit, before anything of it is read.
    #[test]
    fn only_regular_files_are_opened_and_never_past_their_limit() {
        let root = tempfile::tempdir().unwrap();
        let fifo = root.path().join("fifo");
        mkfifo(&fifo);
        let error = open_input(&fifo, 10).unwrap_err();
        assert!(error.problem.contains("FIFO"), "{error}");
        let error = read_input(Path::new("/dev/zero")).unwrap_err();
        assert!(error.problem.contains("character device"), "{error}");
        let error = read_input(root.path()).unwrap_err();
        assert!(error.problem.contains("a folder"), "{error}");
        let big = root.path().join("big");
        std::fs::File::create(&big).unwrap().set_len(11).unwrap();
        let error = read_bounded(&big, 10).unwrap_err();
        assert!(error.problem.contains("larger than the 10 bytes"), "{error}");
        assert_eq!(read_bounded(&big, 11).unwrap().len(), 11);
        assert_eq!(read_end(&big, 4).unwrap().len(), 4);
        let mut grows = open_input(&big, 11).unwrap();
        std::fs::OpenOptions::new().append(true).open(&big).unwrap().write_all(b"more").unwrap();
        let mut bytes = Vec::new();
        assert!(std::io::Read::read_to_end(&mut grows, &mut bytes).is_err(), "a file that grew past its limit");
    }

    /// Inside a content tree, the file the kernel opened decides: a chain of links that looks
    /// inside and lands outside is refused; a link that stays inside is followed.
    #[test]
    fn a_link_chain_leaving_a_content_tree_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let tree = root.path().join("tree");
        std::fs::create_dir_all(tree.join("d")).unwrap();
        std::fs::write(root.path().join("secret"), "outside").unwrap();
        std::fs::write(tree.join("inside.yaml"), "inside").unwrap();
        std::os::unix::fs::symlink("..", tree.join("d/l")).unwrap();
        std::os::unix::fs::symlink("d/l/../secret", tree.join("chain.yaml")).unwrap();
        std::os::unix::fs::symlink("inside.yaml", tree.join("alias.yaml")).unwrap();
        add_content_tree(&tree);
        let error = read_text(&tree.join("chain.yaml")).unwrap_err();
        assert!(error.problem.contains("outside"), "{error}");
        assert!(!error.to_string().contains("outside\n") && !error.to_string().contains(": outside"));
        assert_eq!(read_text(&tree.join("alias.yaml")).unwrap(), "inside");
    }

    /// A path spelled inside a tree that climbs out with `..` is the tree's path too: refused
    /// whether the file it lands on exists or not, like a link that leaves.
    #[test]
    fn a_path_climbing_out_of_a_content_tree_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let tree = root.path().join("tree");
        std::fs::create_dir_all(tree.join("d")).unwrap();
        std::fs::write(root.path().join("secret"), "outside").unwrap();
        std::fs::write(tree.join("d/inside.yaml"), "inside").unwrap();
        add_content_tree(&tree);
        let error = read_text(&tree.join("../secret")).unwrap_err();
        assert!(error.problem.contains("outside") && error.problem.contains("secret"), "{error}");
        assert!(!error.to_string().contains(": outside\n"));
        assert_eq!(read_text(&tree.join("d/../d/inside.yaml")).unwrap(), "inside");
    }

    /// Text inputs read whole from content trees are counted: many files each under the
    /// per-file limit cannot add up to more than [`MAX_CONTENT_TREE_BYTES`]; streams are not
    /// counted.
    #[test]
    fn the_text_read_whole_from_content_trees_is_bounded_in_all() {
        let root = tempfile::tempdir().unwrap();
        let tree = root.path().join("many");
        std::fs::create_dir_all(&tree).unwrap();
        add_content_tree(&tree);
        let each = MAX_INPUT_BYTES - 1;
        let count = MAX_CONTENT_TREE_BYTES / each + 1;
        for number in 0..count {
            std::fs::File::create(tree.join(format!("{number}.yaml"))).unwrap().set_len(each).unwrap();
        }
        let last = tree.join(format!("{}.yaml", count - 1));
        assert!(hash_file(&last, MAX_COPIED_FILE_BYTES, None).is_ok(), "a stream is not counted");
        let refused = (0..count).find_map(|number| read_input(&tree.join(format!("{number}.yaml"))).err());
        let error = refused.expect("one file too many");
        assert!(error.problem.contains("one file too many") && error.problem.contains("many"), "{error}");
    }

    #[test]
    fn an_output_file_that_is_no_regular_file_is_not_replaced() {
        let root = tempfile::tempdir().unwrap();
        let fifo = root.path().join("out.json");
        mkfifo(&fifo);
        assert!(write_atomic(&fifo, b"{}").unwrap_err().to_string().contains("FIFO"));
        std::fs::create_dir(root.path().join("dir.json")).unwrap();
        assert!(write_atomic(&root.path().join("dir.json"), b"{}").is_err());
        assert!(root.path().join("dir.json").is_dir());
        let file = root.path().join("file.json");
        write_atomic(&file, b"{}").unwrap();
        write_atomic(&file, b"{}").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"{}");
    }

    #[test]
    fn only_empty_or_own_output_folders_are_replaceable() {
        let root = tempfile::tempdir().unwrap();
        let own = |relative: &Path| relative.extension().is_some_and(|extension| extension == "json");
        let dir = root.path().join("out");
        assert!(check_replaceable(&dir, "--output", own).is_ok(), "a new folder");
        std::fs::create_dir_all(dir.join("ws")).unwrap();
        assert!(check_replaceable(&dir, "--output", own).is_ok(), "an empty one");
        std::fs::write(dir.join("ws/a.json"), "{}").unwrap();
        assert!(check_replaceable(&dir, "--output", own).is_ok(), "its own files");
        std::fs::write(dir.join("ws/notes.txt"), "").unwrap();
        let error = check_replaceable(&dir, "--output", own).unwrap_err();
        assert!(error.problem.contains("ws/notes.txt") && error.problem.contains("nothing was written"), "{error}");
        std::fs::remove_file(dir.join("ws/notes.txt")).unwrap();
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        assert!(check_replaceable(&dir, "--output", own).unwrap_err().problem.contains(".git"));
        std::fs::remove_dir(dir.join(".git")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("ws/link.json")).unwrap();
        assert!(check_replaceable(&dir, "--output", own).unwrap_err().problem.contains("symbolic link"));
    }

    #[test]
    fn non_utf8_input_names_line() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("x.yaml");
        fs_err::write(&path, b"a: 1\nb: \xff\n").unwrap();
        let error = read_text(&path).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.problem.contains("UTF-8"));
    }
}
