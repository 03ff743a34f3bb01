//! Progress as a person at a terminal sees it: `sync` of the bundled example run inside a real
//! terminal (tmux), its screen read with `capture-pane` while it runs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux must be installed (hack/test.sh installs it)")
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn sync_draws_a_progress_bar_on_a_terminal() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let tool = assert_cmd::cargo::cargo_bin("rhdh-catalog");
    let exporter = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-exporter.sh");
    // A slow install step keeps the export task on screen long enough to be seen.
    let script = root.join("run.sh");
    std::fs::write(
        &script,
        format!(
            "export HOME={home} RUST_LOG=info RHDH_CATALOG_ALLOW_LOCAL_REPOS=true GIT_AUTHOR_NAME=sync \
             GIT_AUTHOR_EMAIL=sync@example.test GIT_COMMITTER_NAME=sync GIT_COMMITTER_EMAIL=sync@example.test\n\
             {tool} sync --tree {tree} --out {out} --store oci-layout:{store} --exporter {exporter} \
             --install-command 'sleep 1' --tsc-command true >{stdout}\n\
             echo \"EXIT=$?\"\nsleep 60\n",
            home = quote(root),
            tool = quote(&tool),
            tree = quote(&midstream),
            out = quote(&root.join("out/sync")),
            store = root.join("out/registry").display(),
            exporter = quote(&exporter),
            stdout = quote(&root.join("stdout.txt")),
        ),
    )
    .unwrap();
    let socket = format!("rhdh-catalog-test-{}", std::process::id());
    let started =
        tmux(&socket, &["new-session", "-d", "-s", "sync", "-x", "160", "-y", "50", &format!("sh {}", quote(&script))]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let screen = String::from_utf8_lossy(&tmux(&socket, &["capture-pane", "-p", "-t", "sync"]).stdout).into_owned();
        let finished = screen.contains("EXIT=");
        frames.push(screen);
        if finished || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = tmux(&socket, &["kill-server"]);
    let last = frames.last().cloned().unwrap_or_default();
    assert!(last.contains("EXIT=0"), "sync did not finish well:\n{last}");
    let bars: Vec<&String> = frames.iter().filter(|frame| frame.contains("pipeline tasks [")).collect();
    assert!(!bars.is_empty(), "no frame showed the bar; last screen:\n{last}");
    let total = pipeline_task_count();
    assert!(
        bars.iter().any(|frame| frame.lines().any(|line| line.contains("pipeline tasks [")
            && line.contains(&format!("/{total}"))
            && line.contains("export"))),
        "a bar with done/total and the task at work (export): {:?}",
        bars.last()
    );
    assert!(last.contains(&format!("progress: pipeline tasks {total}/{total} (done)")), "{last}");
    let stdout = std::fs::read_to_string(root.join("stdout.txt")).unwrap();
    assert!(stdout.starts_with("sync Succeeded") && !stdout.contains("progress"), "stdout unchanged: {stdout}");
}

/// A shell script for tmux that runs `sync` of the example in `root` with `install` as the install
/// command, writes `EXIT=<status>` when it ends, and waits so the screen can be read. Ctrl-C
/// reaches `sync` and its steps (the terminal's foreground process group); the script's trap
/// keeps the shell itself to print the status.
fn sync_script(root: &Path, midstream: &Path, install: &str, extra: &str) -> std::path::PathBuf {
    let tool = assert_cmd::cargo::cargo_bin("rhdh-catalog");
    let exporter = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-exporter.sh");
    let script = root.join("run.sh");
    std::fs::write(
        &script,
        format!(
            "trap 'true' INT\nexport HOME={home} RUST_LOG=warn RHDH_CATALOG_ALLOW_LOCAL_REPOS=1 GIT_AUTHOR_NAME=sync \
             GIT_AUTHOR_EMAIL=sync@example.test GIT_COMMITTER_NAME=sync GIT_COMMITTER_EMAIL=sync@example.test\n\
             {tool} sync --tree {tree} --out {out} --store oci-layout:{store} --exporter {exporter} \
             --install-command {install} --tsc-command true {extra} >{stdout}\n\
             echo \"EXIT=$?\"\nsleep 60\n",
            home = quote(root),
            tool = quote(&tool),
            tree = quote(midstream),
            out = quote(&root.join("out/sync")),
            store = root.join("out/registry").display(),
            exporter = quote(&exporter),
            install = quote(Path::new(install)),
            stdout = quote(&root.join("stdout.txt")),
        ),
    )
    .unwrap();
    script
}

/// Runs `script` in a tmux session of its own; `act` sees each screen as it comes and may send
/// keys; returns every screen.
fn run_in_tmux(script: &Path, mut act: impl FnMut(&str, &dyn Fn(&str)) -> bool) -> Vec<String> {
    static SESSION: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let socket = format!(
        "rhdh-catalog-test-{}-{}",
        std::process::id(),
        SESSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let started = tmux(
        &socket,
        &["new-session", "-d", "-s", "sync", "-x", "200", "-y", "50", &format!("bash {}", quote(script))],
    );
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let send = |keys: &str| {
        tmux(&socket, &["send-keys", "-t", "sync", keys]);
    };
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let screen = String::from_utf8_lossy(&tmux(&socket, &["capture-pane", "-p", "-t", "sync"]).stdout).into_owned();
        let finished = screen.contains("EXIT=");
        let stop = act(&screen, &send);
        frames.push(screen);
        if finished || stop || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = tmux(&socket, &["kill-server"]);
    frames
}

/// While `export` runs, the bar shows its batches done/total, the workspaces done/total across
/// them and the workspace being exported; the run ends with one final line, not a bar and a line.
#[test]
fn the_export_shows_batches_workspaces_and_the_current_one() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    // A slow install keeps each workspace on screen; one TaskRun at a time shows batches moving.
    let script = sync_script(root, &midstream, "sleep 1", "--jobs 1");
    let frames = run_in_tmux(&script, |_, _| false);
    let last = frames.last().cloned().unwrap_or_default();
    assert!(last.contains("EXIT=0"), "sync did not finish well:\n{last}");
    let export_lines: Vec<&str> = frames
        .iter()
        .flat_map(|frame| frame.lines())
        .filter(|line| line.contains("pipeline tasks [") && line.contains("export: batches"))
        .collect();
    assert!(
        !export_lines.is_empty(),
        "no frame showed the export's batches: {:?}",
        frames.iter().rev().take(3).collect::<Vec<_>>()
    );
    let pattern =
        regex::Regex::new(r"export: batches (\d)/4 · exporting workspaces (\d+)/(\d+)(?: · ([a-z-]+))?").unwrap();
    let seen: Vec<(u32, Option<String>)> = export_lines
        .iter()
        .filter_map(|line| pattern.captures(line))
        .map(|found| (found[1].parse().unwrap(), found.get(4).map(|name| name.as_str().to_string())))
        .collect();
    assert!(seen.iter().any(|(done, _)| *done >= 1), "batches move: {export_lines:?}");
    let workspaces: std::collections::BTreeSet<String> = seen.iter().filter_map(|(_, name)| name.clone()).collect();
    assert!(workspaces.len() >= 2, "the workspace being exported is named: {export_lines:?}");
    for workspace in &workspaces {
        assert!(
            ["analytics", "extensions", "scaffolder-backend-module-regex", "tech-radar"].contains(&workspace.as_str()),
            "{workspace}"
        );
    }
    let total = pipeline_task_count();
    assert_eq!(
        last.matches(&format!("progress: pipeline tasks {total}/{total} (done)")).count(),
        1,
        "one final line:\n{last}"
    );
    assert!(!last.contains("pipeline tasks ["), "no bar is left beside the final line:\n{last}");
}

/// Ctrl-C while `export` runs: the sync says what it stopped, that nothing was committed, and that
/// the same command goes on; exit 130. The same command then finishes the job.
#[test]
fn ctrl_c_says_what_stopped_and_the_same_command_goes_on() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let script = sync_script(root, &midstream, "sleep 30", "");
    let mut sent = false;
    let frames = run_in_tmux(&script, |screen, send| {
        if !sent && screen.contains("export: batches") {
            send("C-c");
            sent = true;
        }
        false
    });
    let last = frames.last().cloned().unwrap_or_default();
    assert!(sent, "export never showed:\n{last}");
    assert!(last.contains("EXIT=130"), "{last}");
    let said = last.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains("interrupted: the sync stopped while `export` ran"), "{last}");
    assert!(said.contains("finished: clone-repository, fetch"), "{last}");
    assert!(said.contains("nothing was committed or pushed"), "{last}");
    assert!(said.contains("run the same command again to go on"), "{last}");
    assert!(
        said.contains(&format!("progress: pipeline tasks 2/{} (stopped)", pipeline_task_count())),
        "not `done`: {last}"
    );

    let script = sync_script(root, &midstream, "true", "");
    let frames = run_in_tmux(&script, |_, _| false);
    let last = frames.last().cloned().unwrap_or_default();
    assert!(last.contains("EXIT=0"), "the same command finishes the job:\n{last}");
    let stdout = std::fs::read_to_string(root.join("stdout.txt")).unwrap();
    assert!(stdout.contains("commit:    true"), "{stdout}");
}

/// Every task and finally task of the Pipeline counts in the bar (issue 21 added two finally tasks).
fn pipeline_task_count() -> usize {
    let pipeline = rhdh_catalog::pipeline::definitions::pipeline().unwrap();
    pipeline.tasks.len() + pipeline.finally.len()
}
