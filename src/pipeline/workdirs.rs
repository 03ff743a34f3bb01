//! The local runner's TaskRun folders, kept from run to run where that saves work. On this
//! machine creating a file is cheap and removing one is not (tens of thousands of small files take
//! seconds to delete), so a TaskRun does not start by deleting its previous folder: that folder is
//! moved aside into the run's trash, the folders its artifacts were unpacked into are moved back
//! (the `artifact use` step brings them up to date, writing only what differs), and the rest is
//! deleted by a background thread while the pipeline goes on. Trash left when the process ends is
//! deleted by the next run.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;

/// Folders waiting to be deleted, under `<out>/.trash/`.
pub(crate) struct Trash {
    dir: PathBuf,
    sender: Mutex<Option<Sender<PathBuf>>>,
    counter: AtomicU64,
}

impl Trash {
    /// The trash of `out`, with a thread deleting what it receives, starting with what an earlier
    /// run left.
    pub(crate) fn open(out: &Path) -> std::io::Result<Trash> {
        let dir = out.join(".trash");
        fs_err::create_dir_all(&dir)?;
        let (sender, receiver) = std::sync::mpsc::channel::<PathBuf>();
        for entry in fs_err::read_dir(&dir)?.filter_map(Result::ok) {
            let _ = sender.send(entry.path());
        }
        std::thread::Builder::new().name("trash".into()).spawn(move || {
            for path in receiver {
                if let Err(error) = std::fs::remove_dir_all(&path) {
                    tracing::debug!(path = %path.display(), %error, "not deleted; the next run tries again");
                }
            }
        })?;
        Ok(Trash { dir, sender: Mutex::new(Some(sender)), counter: AtomicU64::new(0) })
    }

    /// Moves `path` into the trash (a rename, so it is gone from its place at once); it is deleted
    /// in the background.
    pub(crate) fn discard(&self, path: &Path) -> std::io::Result<()> {
        let target = self.reserve();
        fs_err::rename(path, &target)?;
        self.delete(target);
        Ok(())
    }

    /// The folder steps may move what they remove into (`io::archive::TRASH_ENV`).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Deletes, in the background, what steps moved into the trash since (their names start with
    /// `io::archive::TRASH_PREFIX`; each is renamed to one of the trash's own names first, so it is
    /// handed over once).
    pub(crate) fn collect_strays(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().starts_with(crate::io::archive::TRASH_PREFIX) {
                let target = self.reserve();
                if std::fs::rename(entry.path(), &target).is_ok() {
                    self.delete(target);
                }
            }
        }
    }

    /// A fresh name inside the trash.
    fn reserve(&self) -> PathBuf {
        let number = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.as_nanos());
        self.dir.join(format!("{}-{nanos}-{number}", std::process::id()))
    }

    fn delete(&self, path: PathBuf) {
        if let Ok(sender) = self.sender.lock()
            && let Some(sender) = sender.as_ref()
        {
            let _ = sender.send(path);
        }
    }
}

/// Starts the TaskRun folder `dir` afresh, moving the folders `kept` (relative to `dir`) over
/// from its previous content when they are there (real folders, not links); the rest of the
/// previous content goes to the trash. Returns the folders that were kept.
pub(crate) fn renew(dir: &Path, kept: &[PathBuf], trash: &Trash) -> std::io::Result<Vec<PathBuf>> {
    let previous = if dir.exists() {
        let target = trash.reserve();
        fs_err::rename(dir, &target)?;
        Some(target)
    } else {
        None
    };
    fs_err::create_dir_all(dir)?;
    let mut moved = Vec::new();
    if let Some(previous) = previous {
        for relative in kept {
            let old = previous.join(relative);
            let is_folder = std::fs::symlink_metadata(&old).is_ok_and(|metadata| metadata.is_dir());
            if !is_folder {
                continue;
            }
            let new = dir.join(relative);
            if let Some(parent) = new.parent() {
                fs_err::create_dir_all(parent)?;
            }
            fs_err::rename(&old, &new)?;
            // The record of what the folder holds (`io::archive::unpack_recorded`) goes with it.
            let record = crate::io::archive::record_path(&old);
            if record.is_file() {
                fs_err::rename(&record, crate::io::archive::record_path(&new))?;
            }
            moved.push(relative.clone());
        }
        trash.delete(previous);
    }
    Ok(moved)
}

/// The folders (relative to `/var/workdir`) a step unpacks artifacts into: an `artifact use`
/// step's `<uri>=/var/workdir/<folder>` and `--into` folder (`--to`, its old spelling, too), and
/// the `--tree` of a `commit` step given `--artifacts`.
pub(crate) fn artifact_destinations(args: &[String]) -> Vec<PathBuf> {
    if args.first().is_some_and(|command| command == "commit") && args.iter().any(|arg| arg == "--artifacts") {
        let tree = args.iter().position(|arg| arg == "--tree").and_then(|at| args.get(at + 1));
        return tree
            .and_then(|tree| tree.strip_prefix("/var/workdir/"))
            .filter(|relative| {
                !relative.is_empty()
                    && Path::new(relative)
                        .components()
                        .all(|component| matches!(component, std::path::Component::Normal(_)))
            })
            .map(|relative| vec![PathBuf::from(relative)])
            .unwrap_or_default();
    }
    if args.get(..2) != Some(&["artifact".to_string(), "use".to_string()]) {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        let folder = if arg == "--into" || arg == "--to" {
            iter.peek().map(|next| next.as_str())
        } else if let Some(folder) = arg.strip_prefix("--into=").or_else(|| arg.strip_prefix("--to=")) {
            Some(folder)
        } else {
            arg.rsplit_once('=').map(|(_, folder)| folder).filter(|_| !arg.starts_with("--"))
        };
        if let Some(relative) = folder.and_then(|folder| folder.strip_prefix("/var/workdir/"))
            && !relative.is_empty()
            && Path::new(relative).components().all(|component| matches!(component, std::path::Component::Normal(_)))
        {
            found.push(PathBuf::from(relative));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_of_artifact_use_steps() {
        let args = |text: &str| text.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            artifact_destinations(&args("artifact use --read-only $(params.A)=/var/workdir/source")),
            [PathBuf::from("source")]
        );
        assert_eq!(
            artifact_destinations(&args("artifact use --into /var/workdir/inputs $(params.A) $(params.B[*])")),
            [PathBuf::from("inputs")]
        );
        assert_eq!(
            artifact_destinations(&args("artifact use --to /var/workdir/inputs $(params.A) $(params.B[*])")),
            [PathBuf::from("inputs")]
        );
        assert!(artifact_destinations(&args("artifact create --store x /var/workdir/source")).is_empty());
        assert_eq!(
            artifact_destinations(&args("commit --tree /var/workdir/source --artifacts $(params.A)")),
            [PathBuf::from("source")]
        );
        assert!(artifact_destinations(&args("commit --tree /var/workdir/source")).is_empty());
        assert!(artifact_destinations(&args("artifact use $(params.A)=/var/workdir/../x")).is_empty());
    }

    #[test]
    fn renew_keeps_the_named_folders_and_trashes_the_rest() {
        let out = tempfile::tempdir().unwrap();
        let trash = Trash::open(out.path()).unwrap();
        let dir = out.path().join("runs/t");
        fs_err::create_dir_all(dir.join("workdir/source/a")).unwrap();
        fs_err::write(dir.join("workdir/source/a/file"), "kept").unwrap();
        fs_err::write(dir.join("workdir/report.json"), "stale").unwrap();
        let kept = renew(&dir, &[PathBuf::from("workdir/source"), PathBuf::from("workdir/absent")], &trash).unwrap();
        assert_eq!(kept, [PathBuf::from("workdir/source")]);
        assert_eq!(fs_err::read_to_string(dir.join("workdir/source/a/file")).unwrap(), "kept");
        assert!(!dir.join("workdir/report.json").exists(), "the rest starts afresh");
        let started = std::time::Instant::now();
        while fs_err::read_dir(out.path().join(".trash")).unwrap().count() > 0 {
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "the trash was not emptied");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
