//! The peak memory of one run of the binary, measured the way the kernel counts it: the child's
//! own `ru_maxrss` (getrusage of the waited-for children) taken by a small Python parent — the
//! Python that `hack/test.sh` provides (`RHDH_CATALOG_TEST_PYTHON`) — so a Task's memory limit can
//! be asserted, not wall time.

use std::path::Path;
use std::process::Output;

/// Runs the binary with `args` in `dir` (the environment of `support::rhdh_catalog`, plus `env`)
/// and returns its output and peak resident set in KiB.
pub fn run_measured(dir: &Path, args: &[String], env: &[(&str, String)]) -> (Output, u64) {
    const PARENT: &str = "import resource, subprocess, sys\n\
        result = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, capture_output=True)\n\
        sys.stdout.buffer.write(result.stdout)\n\
        sys.stderr.buffer.write(result.stderr)\n\
        sys.stderr.write('\\nPEAK_RSS_KIB=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
        sys.exit(result.returncode if result.returncode >= 0 else 128 - result.returncode)\n";
    let python = std::env::var("RHDH_CATALOG_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let binary = assert_cmd::cargo::cargo_bin("rhdh-catalog");
    let mut command = std::process::Command::new(python);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join(".docker"))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .arg("-c")
        .arg(PARENT)
        .arg(binary)
        .args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut output = command.output().expect("the Python that measures the run");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let (rest, peak) = stderr.rsplit_once("\nPEAK_RSS_KIB=").expect("the measuring parent reports the peak");
    let peak: u64 = peak.trim().parse().expect("a number of KiB");
    output.stderr = rest.as_bytes().to_vec();
    (output, peak)
}

/// A Task's memory limit in KiB, from its `Mi`/`Gi` spelling.
pub fn limit_kib(limit: &str) -> u64 {
    let (number, unit) = limit.split_at(limit.len() - 2);
    let number: u64 = number.parse().unwrap();
    match unit {
        "Mi" => number * 1024,
        "Gi" => number * 1024 * 1024,
        _ => panic!("unknown unit in {limit}"),
    }
}

/// The memory limit the Task `task` declares for its step `step` (read from its YAML, so a
/// changed limit changes what the tests hold the binary to).
pub fn task_limit(task: &str, step: &str) -> u64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tekton/task/rhdh-catalog-{task}/0.1/rhdh-catalog-{task}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let document: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let steps = document["spec"]["steps"].as_array().unwrap();
    let found =
        steps.iter().find(|candidate| candidate["name"] == step).unwrap_or_else(|| panic!("{task} has no step {step}"));
    limit_kib(found["computeResources"]["limits"]["memory"].as_str().unwrap())
}
