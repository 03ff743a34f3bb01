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
    // Every task and finally task of the Pipeline counts (issue 21 added two finally tasks).
    let pipeline = rhdh_catalog::pipeline::definitions::pipeline().unwrap();
    let total = pipeline.tasks.len() + pipeline.finally.len();
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
