//! Test harness: a real OCI registry per test (or the one `hack/test.sh` started), the binary
//! under test with a clean environment, skopeo, and paths to the vendored reference data.

#![allow(dead_code)]

pub mod counting_remote;
pub mod fake_kube;
pub mod fault_proxy;
pub mod hostile_registry;
pub mod installers;
pub mod loopback_http;
pub mod token_issuer;
pub mod upstreams;

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn reference_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reference-data")
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("free port")
}

/// A Debian `docker-registry` (distribution 2.8) serving plain HTTP on loopback, removed on drop.
pub struct Registry {
    child: Option<Child>,
    pub host: String,
    _root: Option<tempfile::TempDir>,
}

impl Registry {
    /// The registry `hack/test.sh` started (`RHDH_CATALOG_TEST_REGISTRY`), else a new one. Tests
    /// sharing it keep to their own repository names (see [`unique_namespace`]).
    pub fn shared() -> Registry {
        match std::env::var("RHDH_CATALOG_TEST_REGISTRY") {
            Ok(host) if !host.is_empty() => Registry { child: None, host, _root: None },
            _ => Self::start(),
        }
    }

    /// A registry of this test's own.
    pub fn start() -> Registry {
        Self::start_with(None)
    }

    /// With `htpasswd`, the registry demands basic auth (bcrypt file contents).
    pub fn start_with(htpasswd: Option<&str>) -> Registry {
        let root = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut config = String::from(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ROOT\n  delete:\n    enabled: true\nhttp:\n  addr: ADDR\n",
        );
        if let Some(contents) = htpasswd {
            std::fs::write(root.path().join("htpasswd"), contents).unwrap();
            let _ = writeln!(
                config,
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}",
                root.path().join("htpasswd").display()
            );
        }
        let config = config
            .replace("ROOT", &root.path().join("data").display().to_string())
            .replace("ADDR", &format!("127.0.0.1:{port}"));
        let config_path = root.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed (hack/test.sh installs it)");
        let host = format!("127.0.0.1:{port}");
        wait_until_listening(&host, "registry");
        Registry { child: Some(child), host, _root: Some(root) }
    }

    /// Stops a registry this test started (to simulate an outage).
    pub fn stop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.child = None;
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A repository namespace no other test uses: `t<pid>-<counter>`.
pub fn unique_namespace() -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!("t{}-{}", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// The bundled example overlay, copied into `dir/overlay` for a test to change.
pub fn example_overlay(dir: &Path) -> PathBuf {
    let overlay = dir.join("overlay");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/overlay"), &overlay);
    overlay
}

/// Packages a small export for every plugin `index` plans for the example overlay, under
/// `prefix` with the planned tags (`rhdh` scheme, RHDH 1.10.0); returns image name → pinned reference.
pub fn publish_example_images(
    home: &Path,
    overlay: &Path,
    prefix: &str,
    store: &str,
    insecure: Option<&str>,
) -> Vec<(String, String)> {
    let plan = rhdh_catalog(home)
        .args(["index", "--registry", prefix, "--rhdh-version", "1.10.0", "--dry-run", "--output-format", "json"])
        .arg("--overlay")
        .arg(overlay)
        .output()
        .unwrap();
    assert!(plan.status.success(), "{}", String::from_utf8_lossy(&plan.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let exports = tempfile::tempdir().unwrap();
    let mut pinned = Vec::new();
    for plugin in plan.as_array().unwrap() {
        let image = plugin["image"].as_str().unwrap();
        let reference = plugin["reference"].as_str().unwrap();
        let version = reference.rsplit("--").next().unwrap();
        let dir = exports.path().join(image);
        write_dist_dynamic(&dir, plugin["package"].as_str().unwrap(), version, "frontend-plugin");
        let mut command = rhdh_catalog(home);
        command.arg("package").arg(&dir).args(["--tag", reference, "--store", store]);
        if let Some(host) = insecure {
            command.args(["--insecure-registry", host]);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        pinned.push((image.to_string(), String::from_utf8(output.stdout).unwrap().trim().to_string()));
    }
    pinned
}

/// Packages the example overlay's community plugins (`rhdh-community-packages.txt`) into `store`
/// under `prefix` (default: the upstream overlay's ghcr.io registry) with `examples/community-images.sh`,
/// as the upstream registry holds them; returns the references pushed.
pub fn community_images(
    home: &Path,
    overlay: &Path,
    store: &str,
    prefix: Option<&str>,
    insecure: Option<&str>,
) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/community-images.sh");
    let mut command = std::process::Command::new(script);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .arg(assert_cmd::cargo::cargo_bin("rhdh-catalog"))
        .arg(overlay)
        .arg(store);
    if let Some(prefix) = prefix {
        command.arg(prefix);
        if let Some(host) = insecure {
            command.arg(host);
        }
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "community-images.sh: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect()
}

/// The binary under test, with logs as plain text and no credentials from the developer's home.
pub fn rhdh_catalog(home: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("rhdh-catalog").expect("binary");
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        // The fixture upstreams are local repositories; the hostile-input tests take this away.
        .env("RHDH_CATALOG_ALLOW_LOCAL_REPOS", "true")
        .timeout(Duration::from_secs(300));
    command
}

/// Runs skopeo against a plain-HTTP loopback registry; returns stdout.
/// The release facts every test `publish` gives after `publish <catalog> --tag <reference>`.
pub const PUBLISH_FACTS: [&str; 6] = ["--version", "1.10.0", "--release", "3", "--source-commit", "abc1234"];

pub fn skopeo(args: &[&str]) -> String {
    let output =
        Command::new("skopeo").args(args).output().expect("skopeo must be installed (hack/test.sh installs it)");
    assert!(output.status.success(), "skopeo {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Writes a minimal exported plugin (`dist-dynamic/package.json` plus a file) for `package_name`.
pub fn write_dist_dynamic(dir: &Path, package_name: &str, version: &str, role: &str) {
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    let manifest = serde_json::json!({
        "name": format!("{package_name}-dynamic"),
        "version": version,
        "description": "test plugin",
        "backstage": {"role": role, "pluginId": "test"},
        "license": "Apache-2.0",
        "main": "dist/index.cjs.js",
    });
    std::fs::write(dir.join("package.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    std::fs::write(dir.join("dist/index.cjs.js"), format!("module.exports = {{ name: {package_name:?} }};\n")).unwrap();
}

/// Recursively copies a directory (regular files only).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Waits (up to 10 s) until something accepts connections on `host`; `what` names it in the panic.
pub fn wait_until_listening(host: &str, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(host).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "{what} did not start on {host}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
