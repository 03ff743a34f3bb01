//! Progress of long work, on stderr only: a bar on a terminal (indicatif), and where stderr is a
//! file or a pipeline log, one line every few seconds while the work lasts (done/total and the
//! current item). stdout never changes. Log lines written while a bar is drawn go through
//! [`log_writer`], which lifts the bars out of the way first.
//!
//! indicatif is used directly rather than through tracing-indicatif: our progress is counters over
//! a set of items (probes, workspaces, tasks), not the lifetime of tracing spans, and the
//! non-terminal case needs its own periodic line either way.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

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

struct Shared {
    label: String,
    total: AtomicU64,
    done: AtomicU64,
    current: Mutex<String>,
    finished: AtomicBool,
}

/// One piece of long work: `label`, `done` of `total`, and the item being worked on.
pub(crate) struct Progress {
    shared: Arc<Shared>,
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    pub(crate) fn start(label: &str, total: u64) -> Progress {
        let shared = Arc::new(Shared {
            label: label.to_string(),
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            current: Mutex::new(String::new()),
            finished: AtomicBool::new(false),
        });
        if on_terminal() {
            let bar = bars().add(indicatif::ProgressBar::new(total));
            let style = indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            return Progress { shared, bar: Some(bar), ticker: None };
        }
        let interval = line_interval();
        let ticking = Arc::clone(&shared);
        let ticker = std::thread::spawn(move || {
            let step = Duration::from_millis(100).min(interval);
            let mut waited = Duration::ZERO;
            while !ticking.finished.load(Ordering::Relaxed) {
                std::thread::sleep(step);
                waited += step;
                if waited >= interval && !ticking.finished.load(Ordering::Relaxed) {
                    waited = Duration::ZERO;
                    let current = ticking.current.lock().map(|current| current.clone()).unwrap_or_default();
                    let line = line(&ticking, &current);
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
            }
        });
        Progress { shared, bar: None, ticker: Some(ticker) }
    }

    /// The item now being worked on (the slowest one shows when nothing else moves).
    pub(crate) fn working_on(&self, item: &str) {
        if let Ok(mut current) = self.shared.current.lock() {
            item.clone_into(&mut current);
        }
        if let Some(bar) = &self.bar {
            bar.set_message(item.to_string());
        }
    }

    pub(crate) fn advance(&self) {
        self.shared.done.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.shared.finished.store(true, Ordering::Relaxed);
        if let Some(bar) = self.bar.take() {
            bar.finish();
            bars().remove(&bar);
            let _ = writeln!(std::io::stderr(), "{}", line(&self.shared, "done"));
        }
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

fn line(shared: &Shared, current: &str) -> String {
    let (done, total) = (shared.done.load(Ordering::Relaxed), shared.total.load(Ordering::Relaxed));
    if current.is_empty() {
        format!("progress: {} {done}/{total}", shared.label)
    } else {
        format!("progress: {} {done}/{total} ({current})", shared.label)
    }
}
