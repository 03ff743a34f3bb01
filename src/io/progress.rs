//! Progress of long work, on stderr only: a bar on a terminal (indicatif), and where stderr is a
//! file or a pipeline log, one line every few seconds while the work lasts (done/total and the
//! current item). stdout never changes. Log lines written while a bar is drawn go through
//! [`log_writer`], which lifts the bars out of the way first.
//!
//! A step run by `sync` writes its progress to the file [`PROGRESS_FILE_ENV`] names as well
//! (`label`, done, total and the current item, one line, replaced at each change), and the runner's
//! own progress reads those files while a task's TaskRuns run: the export task shows batches
//! done/total, the workspaces done/total across its batches and the workspaces being exported,
//! where its own log would otherwise be hidden in the TaskRun's log file.
//!
//! indicatif is used directly rather than through tracing-indicatif: our progress is counters over
//! a set of items (probes, workspaces, tasks), not the lifetime of tracing spans, and the
//! non-terminal case needs its own periodic line either way.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The file a step writes its progress to (set by the local runner for every step it runs).
pub(crate) const PROGRESS_FILE_ENV: &str = "RHDH_CATALOG_PROGRESS_FILE";

/// Every bar of the process, so log lines can be written around them.
fn bars() -> &'static indicatif::MultiProgress {
    static BARS: OnceLock<indicatif::MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr()))
}

fn on_terminal() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("RHDH_CATALOG_NO_PROGRESS_BAR").is_none()
}

/// Seconds between progress lines when stderr is not a terminal (`RHDH_CATALOG_PROGRESS_SECONDS`).
fn line_interval() -> Duration {
    let seconds = std::env::var("RHDH_CATALOG_PROGRESS_SECONDS")
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|seconds| *seconds > 0.0)
        .unwrap_or(5.0);
    Duration::from_secs_f64(seconds)
}

/// Where tracing writes log lines: stderr, with any bar lifted while a line is written.
pub(crate) fn log_writer() -> impl Write {
    LogWriter
}

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let mut result = Ok(buffer.len());
        bars().suspend(|| {
            if let Err(error) = std::io::stderr().write_all(buffer) {
                result = Err(error);
            }
        });
        result
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The TaskRuns of the task being worked on: how many, how many finished, and the files their
/// steps write their progress to.
#[derive(Default)]
struct Runs {
    total: u64,
    done: u64,
    files: Vec<PathBuf>,
}

struct Shared {
    label: String,
    total: AtomicU64,
    done: AtomicU64,
    current: Mutex<String>,
    runs: Mutex<Option<Runs>>,
    finished: AtomicBool,
    /// Where this process's own progress goes besides stderr ([`PROGRESS_FILE_ENV`]).
    file: Option<PathBuf>,
    /// The file no longer says what the counters do. The ticker rewrites it at most every 50 ms:
    /// a write per item (two file-system calls and a rename) cost `index` more than its 2,640
    /// registry lookups at 10× the catalog.
    file_stale: AtomicBool,
}

/// One piece of long work: `label`, `done` of `total`, and the item being worked on.
pub(crate) struct Progress {
    shared: Arc<Shared>,
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    pub(crate) fn start(label: &str, total: u64) -> Progress {
        Progress::start_writing_to(
            label,
            total,
            std::env::var_os(PROGRESS_FILE_ENV).filter(|path| !path.is_empty()).map(PathBuf::from),
        )
    }

    fn start_writing_to(label: &str, total: u64, file: Option<PathBuf>) -> Progress {
        let shared = Arc::new(Shared {
            label: label.to_string(),
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            current: Mutex::new(String::new()),
            runs: Mutex::new(None),
            finished: AtomicBool::new(false),
            file,
            file_stale: AtomicBool::new(false),
        });
        write_file(&shared);
        let bar = on_terminal().then(|| {
            let bar = bars().add(indicatif::ProgressBar::new(total));
            let style = indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let interval = if bar.is_some() { Duration::from_millis(250) } else { line_interval() };
        let ticking = Arc::clone(&shared);
        let drawn = bar.clone();
        let ticker = std::thread::spawn(move || {
            let step = Duration::from_millis(50).min(interval);
            let mut waited = Duration::ZERO;
            while !ticking.finished.load(Ordering::Relaxed) {
                std::thread::sleep(step);
                waited += step;
                if ticking.file_stale.swap(false, Ordering::Relaxed) {
                    write_file(&ticking);
                }
                if waited >= interval && !ticking.finished.load(Ordering::Relaxed) {
                    waited = Duration::ZERO;
                    let current = describe_current(&ticking);
                    match &drawn {
                        Some(bar) => bar.set_message(current),
                        None => {
                            let _ = writeln!(std::io::stderr(), "{}", line(&ticking, &current));
                        }
                    }
                }
            }
        });
        Progress { shared, bar, ticker: Some(ticker) }
    }

    /// The item now being worked on (the slowest one shows when nothing else moves).
    pub(crate) fn working_on(&self, item: &str) {
        if let Ok(mut current) = self.shared.current.lock() {
            item.clone_into(&mut current);
        }
        if let Ok(mut runs) = self.shared.runs.lock() {
            *runs = None;
        }
        if let Some(bar) = &self.bar {
            bar.set_message(item.to_string());
        }
        self.shared.file_stale.store(true, Ordering::Relaxed);
    }

    /// The item now being worked on runs as `total` TaskRuns whose steps write their progress to
    /// `files` (one per TaskRun): the progress shows them until the next item.
    pub(crate) fn working_on_runs(&self, item: &str, total: u64, files: Vec<PathBuf>) {
        self.working_on(item);
        for file in &files {
            let _ = std::fs::remove_file(file);
        }
        if let Ok(mut runs) = self.shared.runs.lock() {
            *runs = Some(Runs { total, done: 0, files });
        }
    }

    /// One TaskRun of the current item finished.
    pub(crate) fn run_finished(&self) {
        if let Ok(mut runs) = self.shared.runs.lock()
            && let Some(runs) = runs.as_mut()
        {
            runs.done += 1;
        }
    }

    pub(crate) fn advance(&self) {
        self.shared.done.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.shared.file_stale.store(true, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.shared.finished.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
        if self.shared.file_stale.swap(false, Ordering::Relaxed) {
            write_file(&self.shared);
        }
        if let Some(bar) = self.bar.take() {
            // The bar goes; one line stays, so the screen keeps how the work ended, once.
            bar.finish_and_clear();
            bars().remove(&bar);
            let (done, total) = (self.shared.done.load(Ordering::Relaxed), self.shared.total.load(Ordering::Relaxed));
            let end = if done >= total { "done" } else { "stopped" };
            let _ = writeln!(std::io::stderr(), "{}", line(&self.shared, end));
        }
    }
}

/// One step's progress as its file holds it.
struct StepProgress {
    label: String,
    done: u64,
    total: u64,
    current: String,
}

fn write_file(shared: &Shared) {
    let Some(path) = &shared.file else { return };
    let current = shared.current.lock().map(|current| current.clone()).unwrap_or_default();
    let text = format!(
        "{}\t{}\t{}\t{}\n",
        one_line(&shared.label),
        shared.done.load(Ordering::Relaxed),
        shared.total.load(Ordering::Relaxed),
        one_line(&current)
    );
    // Replaced in one rename: a reader never sees half a line. Progress is best effort.
    let temporary = path.with_extension("writing");
    if std::fs::write(&temporary, text).is_ok() {
        let _ = std::fs::rename(&temporary, path);
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

fn read_file(path: &Path) -> Option<StepProgress> {
    // A line of a few hundred bytes; more is not ours.
    let text = String::from_utf8(crate::io::fs::read_bounded(path, 4096).ok()?).ok()?;
    let mut fields = text.trim_end_matches('\n').splitn(4, '\t');
    Some(StepProgress {
        label: fields.next()?.to_string(),
        done: fields.next()?.parse().ok()?,
        total: fields.next()?.parse().ok()?,
        current: fields.next().unwrap_or_default().to_string(),
    })
}

/// The current item and, while its TaskRuns run, what their steps report: `export: batches 1/3 ·
/// exporting workspaces 4/9 · tech-radar, homepage`.
fn describe_current(shared: &Shared) -> String {
    let current = shared.current.lock().map(|current| current.clone()).unwrap_or_default();
    let Ok(runs) = shared.runs.lock() else { return current };
    let Some(runs) = runs.as_ref() else { return current };
    let steps: Vec<StepProgress> = runs.files.iter().filter_map(|file| read_file(file)).collect();
    let mut parts = vec![format!("{} {}/{}", if runs.total == 1 { "run" } else { "batches" }, runs.done, runs.total)];
    let mut labels: Vec<&str> = steps.iter().map(|step| step.label.as_str()).collect();
    labels.dedup();
    if let [label] = labels.as_slice() {
        let (done, total) = steps.iter().fold((0, 0), |(done, total), step| (done + step.done, total + step.total));
        parts.push(format!("{label} {done}/{total}"));
    }
    let working: Vec<&str> = steps
        .iter()
        .filter(|step| step.done < step.total && !step.current.is_empty())
        .map(|step| step.current.as_str())
        .collect();
    if !working.is_empty() {
        parts.push(working.join(", "));
    }
    format!("{current}: {}", parts.join(" · "))
}

fn line(shared: &Shared, current: &str) -> String {
    let (done, total) = (shared.done.load(Ordering::Relaxed), shared.total.load(Ordering::Relaxed));
    if current.is_empty() {
        format!("progress: {} {done}/{total}", shared.label)
    } else {
        format!("progress: {} {done}/{total} ({current})", shared.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_files_make_the_runner_line() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..3).map(|index| dir.path().join(format!("progress-{index}"))).collect();
        std::fs::write(&files[0], "exporting workspaces\t2\t2\t\n").unwrap();
        std::fs::write(&files[1], "exporting workspaces\t1\t3\ttech-radar\n").unwrap();
        let shared = Shared {
            label: "pipeline tasks".into(),
            total: AtomicU64::new(7),
            done: AtomicU64::new(2),
            current: Mutex::new("export".into()),
            runs: Mutex::new(Some(Runs { total: 3, done: 1, files })),
            finished: AtomicBool::new(false),
            file: None,
            file_stale: AtomicBool::new(false),
        };
        assert_eq!(describe_current(&shared), "export: batches 1/3 · exporting workspaces 3/5 · tech-radar");
        assert_eq!(
            line(&shared, &describe_current(&shared)),
            "progress: pipeline tasks 2/7 (export: batches 1/3 · exporting workspaces 3/5 · tech-radar)"
        );
        assert!(read_file(&dir.path().join("nothing")).is_none());
    }

    #[test]
    fn the_step_file_follows_the_counters_and_ends_with_the_last_state() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("progress");
        let progress = Progress::start_writing_to("resolving plugin images", 3000, Some(file.clone()));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "resolving plugin images\t0\t3000\t\n");
        for _ in 0..3000 {
            progress.advance();
        }
        progress.working_on("the\tlast\none");
        drop(progress);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "resolving plugin images\t3000\t3000\tthe last one\n");
        // Written by the ticker at most every 50 ms, not once per item: nothing half-written left.
        assert!(!file.with_extension("writing").exists());
    }
}
