//! The real RHDH installers (`tests/oracles/rhdh-installers`) as the judge of an index image on a
//! plain-HTTP loopback registry.
//!
//! [`IndexUnderTest::pull`] copies the index image with skopeo and reads its
//! `dynamic-plugins.default.yaml` and `index.json`. [`IndexUnderTest::install`] writes a
//! `dynamic-plugins.yaml` that includes that file and, in `plugins:`, enables OCI references
//! (`disabled: false`) and disables every `./dynamic-plugins/dist/…` wrapper (wrappers exist only
//! inside the RHDH image), then runs one installer the way the RHDH init container does: in a
//! scratch working directory, with `CATALOG_INDEX_IMAGE`, `CATALOG_ENTITIES_EXTRACT_DIR`, a `HOME`
//! whose `registries.conf` marks the loopback registry insecure, the plugin root as argument, and a
//! timeout. The [`InstallRun`] it returns says, per OCI reference, whether its plugin folder ended up
//! with `dynamic-plugin-image.hash` and a `package.json` (both installers leave an empty folder with
//! the hash when the layer lacks the folder, so the hash alone proves nothing), which output lines
//! name it as failed, and whether the catalog entities were extracted.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

/// How long one installer run may take before it is killed and reported as timed out.
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// The vendored installers.
pub fn oracles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/rhdh-installers")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installer {
    /// `install-dynamic-plugins.py`, the Python installer of RHDH 1.10.
    Python,
    /// `install-dynamic-plugins.cjs`, the TypeScript installer bundle.
    Node,
}

impl Installer {
    pub const BOTH: [Installer; 2] = [Installer::Python, Installer::Node];

    pub fn name(self) -> &'static str {
        match self {
            Installer::Python => "install-dynamic-plugins.py",
            Installer::Node => "install-dynamic-plugins.cjs",
        }
    }

    /// The installer as one shell command line (`rhdh-catalog verify-install --installer`).
    pub fn shell_command(self) -> String {
        let quote = |path: &std::path::Path| format!("'{}'", path.display().to_string().replace('\'', "'\\''"));
        match self {
            Installer::Python => {
                let python = python();
                let environment = python
                    .pythonpath
                    .as_ref()
                    .map(|path| format!("env PYTHONPATH={} ", quote(std::path::Path::new(path))))
                    .unwrap_or_default();
                format!(
                    "{environment}{} {}",
                    quote(&python.executable),
                    quote(&oracles().join("install-dynamic-plugins.py"))
                )
            }
            Installer::Node => format!("{} {}", node(), quote(&oracles().join("install-dynamic-plugins.cjs"))),
        }
    }

    /// The interpreter (checked once per test process, with a message saying what is missing) and the script.
    fn command(self) -> Command {
        match self {
            Installer::Python => {
                let mut command = Command::new(&python().executable);
                command.arg(oracles().join("install-dynamic-plugins.py"));
                command
            }
            Installer::Node => {
                let mut command = Command::new(node());
                command.arg(oracles().join("install-dynamic-plugins.cjs"));
                command
            }
        }
    }
}

struct Python {
    executable: PathBuf,
    pythonpath: Option<String>,
}

/// `RHDH_CATALOG_TEST_PYTHON` (hack/test.sh sets it) or `python3`, resolved to the real interpreter
/// (a pyenv shim would otherwise look for its configuration in the installer's scratch `HOME`).
fn python() -> &'static Python {
    static PYTHON: OnceLock<Python> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let requested = std::env::var("RHDH_CATALOG_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let pythonpath = std::env::var("RHDH_CATALOG_TEST_PYTHONPATH").ok().filter(|path| !path.is_empty());
        let mut probe = Command::new(&requested);
        probe.args([
            "-c",
            "import sys, tarfile\n\
             assert hasattr(tarfile, 'data_filter'), 'tarfile has no extraction filters (needs Python 3.11.4 or newer)'\n\
             import yaml\n\
             print(sys.executable)",
        ]);
        if let Some(path) = &pythonpath {
            probe.env("PYTHONPATH", path);
        }
        let output = probe.output().unwrap_or_else(|error| {
            panic!("{requested}: {error}; the Python installer needs python3 (hack/test.sh installs it)")
        });
        assert!(
            output.status.success(),
            "{requested} cannot run install-dynamic-plugins.py: {}\nIt needs Python 3.11.4 or newer with PyYAML; \
             hack/test.sh finds or installs one and sets RHDH_CATALOG_TEST_PYTHON",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Python { executable: PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()), pythonpath }
    })
}

/// `node`, version 20 or newer.
fn node() -> &'static str {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let output = Command::new("node").arg("--version").output().expect("node must be installed (hack/test.sh)");
        let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let major: u32 =
            version.trim_start_matches('v').split('.').next().and_then(|major| major.parse().ok()).unwrap_or(0);
        assert!(major >= 20, "install-dynamic-plugins.cjs needs node 20 or newer, found {version:?}");
    });
    "node"
}

/// Which OCI references of the index `dynamic-plugins.yaml` enables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enable {
    /// The active OCI entries of `dynamic-plugins.default.yaml` only: what an RHDH user gets by
    /// enabling the entries the index offers.
    ActiveEntries,
    /// Every pinned image: the active OCI entries, the OCI lines commented above wrapper entries
    /// (the user following the "uncomment" hint), and `index.json` plugins the default file does not list.
    EveryPin,
}

/// How an OCI reference came into `dynamic-plugins.yaml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An active `package: oci://…` entry of `dynamic-plugins.default.yaml`.
    Active,
    /// A `# - package: oci://…` line commented above a wrapper entry.
    Commented,
    /// A `registryReference` of `index.json` that `dynamic-plugins.default.yaml` does not mention.
    IndexOnly,
}

#[derive(Clone, Debug)]
pub struct OciEntry {
    /// `oci://host/repo@sha256:…` (with `!path` when the index gives one).
    pub package: String,
    pub source: Source,
    /// The plugin folders it installs: its `!path`, else the ones its image's
    /// `io.backstage.dynamic-packages` annotation names (what the installers auto-detect).
    pub folders: Vec<String>,
}

impl OciEntry {
    /// `host/repo@sha256:…` (or `:tag`), as the installers print it.
    pub fn reference(&self) -> &str {
        let reference = self.package.trim_start_matches("oci://");
        reference.split_once('!').map_or(reference, |(image, _)| image)
    }

    /// The repository's last path segment: the plugin image name.
    pub fn image_name(&self) -> &str {
        image_name(self.reference())
    }
}

/// `host/ns/name@sha256:…` or `host/ns/name:tag` → `name`.
pub fn image_name(reference: &str) -> &str {
    let repository = reference.split_once('@').map_or(reference, |(repository, _)| repository);
    let last = repository.rsplit('/').next().unwrap_or(repository);
    last.split_once(':').map_or(last, |(name, _)| name)
}

#[derive(Clone, Debug)]
pub struct WrapperEntry {
    /// `./dynamic-plugins/dist/…`
    pub package: String,
    /// The OCI package line commented above it, if any.
    pub alternative: Option<String>,
}

/// An index image, read back from the registry, and what the installers will be told to install.
pub struct IndexUnderTest {
    /// `host:port/repo:tag` or `host:port/repo@sha256:…`, given as `CATALOG_INDEX_IMAGE`.
    pub image: String,
    pub registry_host: String,
    pub default_yaml: String,
    pub index_json: Value,
    /// The files under `catalog-entities/extensions/` in the image, relative.
    pub entity_files: Vec<String>,
    /// The OCI references `dynamic-plugins.yaml` enables.
    pub oci: Vec<OciEntry>,
    /// Every wrapper entry (always listed with `disabled: true`).
    pub wrappers: Vec<WrapperEntry>,
}

/// `image` copied from the loopback registry with skopeo into a `dir:` layout: the scratch folder
/// that holds it, the layout folder (blobs by hex digest) and its manifest.
pub fn copy_image(image: &str) -> (tempfile::TempDir, PathBuf, Value) {
    let scratch = tempfile::tempdir().unwrap();
    let copied = scratch.path().join("image");
    crate::support::skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{image}"),
        &format!("dir:{}", copied.display()),
    ]);
    let manifest: Value = serde_json::from_slice(&std::fs::read(copied.join("manifest.json")).unwrap()).unwrap();
    (scratch, copied, manifest)
}

impl IndexUnderTest {
    /// Copies `image` from the loopback registry `registry_host` with skopeo and reads it.
    pub fn pull(image: &str, registry_host: &str, enable: Enable) -> IndexUnderTest {
        let (scratch, copied, manifest) = copy_image(image);
        let extracted = scratch.path().join("files");
        std::fs::create_dir_all(&extracted).unwrap();
        for layer in manifest["layers"].as_array().expect("index image manifest has layers") {
            let digest = layer["digest"].as_str().unwrap();
            let blob = copied.join(digest.split_once(':').unwrap().1);
            let status = Command::new("tar").arg("-xf").arg(&blob).arg("-C").arg(&extracted).status().unwrap();
            assert!(status.success(), "tar could not unpack layer {digest} of {image}");
        }
        let default_yaml = std::fs::read_to_string(extracted.join("dynamic-plugins.default.yaml"))
            .unwrap_or_else(|error| panic!("{image} has no dynamic-plugins.default.yaml: {error}"));
        let index_json: Value = serde_json::from_slice(
            &std::fs::read(extracted.join("index.json")).unwrap_or_else(|error| panic!("{image}: index.json: {error}")),
        )
        .unwrap();
        let entities = extracted.join("catalog-entities/extensions");
        let entity_files = if entities.is_dir() { crate::support::files_under(&entities) } else { Vec::new() };

        let (active, wrappers) = parse_default_yaml(&default_yaml);
        let mut oci: Vec<OciEntry> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut add = |package: String, source: Source, oci: &mut Vec<OciEntry>| {
            if seen.insert(package.clone()) {
                oci.push(OciEntry { package, source, folders: Vec::new() });
            }
        };
        for package in active {
            add(package, Source::Active, &mut oci);
        }
        if enable == Enable::EveryPin {
            for wrapper in &wrappers {
                if let Some(alternative) = &wrapper.alternative {
                    add(alternative.clone(), Source::Commented, &mut oci);
                }
            }
            let listed: BTreeSet<String> = oci.iter().map(|entry| entry.reference().to_string()).collect();
            for (plugin, entry) in index_json.as_object().expect("index.json is an object") {
                let reference = entry["registryReference"]
                    .as_str()
                    .unwrap_or_else(|| panic!("index.json: {plugin} has no registryReference"));
                if !listed.contains(reference) {
                    add(format!("oci://{reference}"), Source::IndexOnly, &mut oci);
                }
            }
        }
        for entry in &mut oci {
            entry.folders = plugin_folders(&entry.package);
        }
        IndexUnderTest {
            image: image.to_string(),
            registry_host: registry_host.to_string(),
            default_yaml,
            index_json,
            entity_files,
            oci,
            wrappers,
        }
    }

    /// The `dynamic-plugins.yaml` every installer run gets.
    pub fn dynamic_plugins_yaml(&self) -> String {
        let mut yaml = String::from("includes:\n  - dynamic-plugins.default.yaml\nplugins:\n");
        for entry in &self.oci {
            let _ = writeln!(yaml, "  - package: {}\n    disabled: false", entry.package);
        }
        for wrapper in &self.wrappers {
            let _ = writeln!(yaml, "  - package: {}\n    disabled: true", wrapper.package);
        }
        if self.oci.is_empty() && self.wrappers.is_empty() {
            yaml.push_str("  []\n");
        }
        yaml
    }

    /// Runs `installer` once against this index in a fresh scratch directory.
    pub fn install(&self, installer: Installer) -> InstallRun {
        let scratch = tempfile::tempdir().unwrap();
        let home = scratch.path().join("home");
        let work = scratch.path().join("work");
        let root = work.join("dynamic-plugins-root");
        let entities = scratch.path().join("extensions");
        let tmp = scratch.path().join("tmp");
        for dir in [&home.join(".config/containers"), &root, &tmp] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(
            home.join(".config/containers/registries.conf"),
            format!("[[registry]]\nlocation = \"{}\"\ninsecure = true\n", self.registry_host),
        )
        .unwrap();
        std::fs::write(work.join("dynamic-plugins.yaml"), self.dynamic_plugins_yaml()).unwrap();
        let stdout_path = scratch.path().join("stdout.txt");
        let stderr_path = scratch.path().join("stderr.txt");

        let mut command = installer.command();
        command
            .arg(&root)
            .current_dir(&work)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env("CATALOG_INDEX_IMAGE", &self.image)
            .env("CATALOG_ENTITIES_EXTRACT_DIR", &entities)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        if let Some(path) = (installer == Installer::Python).then(|| python().pythonpath.clone()).flatten() {
            command.env("PYTHONPATH", path);
        }
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|error| panic!("{}: {error}", installer.name()));
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > INSTALL_TIMEOUT {
                timed_out = true;
                let _ = child.kill();
                break child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&std::fs::read(&stdout_path).unwrap()).into_owned();
        let stderr = String::from_utf8_lossy(&std::fs::read(&stderr_path).unwrap()).into_owned();

        let output_lines: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
        let plugins = self
            .oci
            .iter()
            .map(|entry| {
                let folder_has = |file: &str| {
                    !entry.folders.is_empty()
                        && entry.folders.iter().all(|folder| root.join(folder).join(file).is_file())
                };
                PluginResult {
                    entry: entry.clone(),
                    image_hash: folder_has("dynamic-plugin-image.hash"),
                    package_json: folder_has("package.json"),
                    errors: error_lines(&output_lines, entry.reference()),
                }
            })
            .collect();
        let extracted = entities.join("catalog-entities");
        let extracted_files = if extracted.is_dir() { crate::support::files_under(&extracted) } else { Vec::new() };
        InstallRun {
            installer,
            image: self.image.clone(),
            exit_code: status.code(),
            timed_out,
            elapsed,
            stdout,
            stderr,
            plugins,
            entities_extracted: !self.entity_files.is_empty() && extracted_files == self.entity_files,
            wrappers_disabled: self.wrappers.len(),
            root,
            _scratch: scratch,
        }
    }

    /// Runs both installers, one after the other.
    pub fn install_with_both(&self) -> Vec<InstallRun> {
        Installer::BOTH.iter().map(|installer| self.install(*installer)).collect()
    }
}

/// The active OCI packages and the wrapper entries (with the OCI line commented above each) of a
/// `dynamic-plugins.default.yaml`.
fn parse_default_yaml(text: &str) -> (Vec<String>, Vec<WrapperEntry>) {
    let document: Value = serde_saphyr::from_str(text).expect("dynamic-plugins.default.yaml parses as YAML");
    let packages: Vec<String> = document["plugins"]
        .as_array()
        .expect("dynamic-plugins.default.yaml has a plugins list")
        .iter()
        .map(|plugin| plugin["package"].as_str().expect("every plugin has a package").to_string())
        .collect();
    // The commented OCI line that precedes each wrapper entry, in file order.
    let mut commented_before: Vec<(String, Option<String>)> = Vec::new();
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(package) = line.strip_prefix("# - package: ").filter(|package| package.starts_with("oci://")) {
            pending = Some(package.trim().to_string());
        } else if let Some(package) = line.strip_prefix("- package: ") {
            commented_before.push((package.trim().trim_matches(['"', '\'']).to_string(), pending.take()));
        }
    }
    let mut active = Vec::new();
    let mut wrappers = Vec::new();
    for package in packages {
        if package.starts_with("oci://") {
            active.push(package);
        } else if package.starts_with("./") {
            let alternative = commented_before
                .iter()
                .find(|(listed, _)| *listed == package)
                .and_then(|(_, alternative)| alternative.clone());
            wrappers.push(WrapperEntry { package, alternative });
        } else {
            panic!("dynamic-plugins.default.yaml lists {package}, neither an OCI image nor a wrapper");
        }
    }
    (active, wrappers)
}

/// The folders an OCI package installs: its `!path`, else the keys of its image's
/// `io.backstage.dynamic-packages` annotation.
fn plugin_folders(package: &str) -> Vec<String> {
    let reference = package.trim_start_matches("oci://");
    if let Some((_, path)) = reference.split_once('!') {
        return vec![path.to_string()];
    }
    let output = Command::new("skopeo")
        .args(["inspect", "--raw", "--no-tags", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo");
    if !output.status.success() {
        return Vec::new();
    }
    let manifest: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let Some(annotation) = manifest["annotations"]["io.backstage.dynamic-packages"].as_str() else {
        return Vec::new();
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(annotation).unwrap_or_default();
    let plugins: Value = serde_json::from_slice(&decoded).unwrap_or(Value::Null);
    plugins
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|plugin| plugin.keys().cloned())
        .collect()
}

/// Output lines that name `reference` and report a failure.
fn error_lines(lines: &[&str], reference: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in lines {
        let lower = line.to_lowercase();
        if line.contains(reference)
            && ["error", "exception", "failed", "zip bomb", "refus"].iter().any(|word| lower.contains(word))
        {
            let line = line.trim().to_string();
            if !found.contains(&line) {
                found.push(line);
            }
        }
    }
    found
}

#[derive(Clone, Debug)]
pub struct PluginResult {
    pub entry: OciEntry,
    /// Every folder of the plugin holds `dynamic-plugin-image.hash`.
    pub image_hash: bool,
    /// Every folder of the plugin holds `package.json` (what RHDH loads).
    pub package_json: bool,
    /// The installer's output lines that name this plugin as failed.
    pub errors: Vec<String>,
}

impl PluginResult {
    pub fn installed(&self) -> bool {
        self.image_hash && self.package_json
    }

    /// Why it is not installed, in a line.
    pub fn problem(&self) -> String {
        let state = if self.entry.folders.is_empty() {
            "no plugin folder known (no `!path` and no io.backstage.dynamic-packages annotation)".to_string()
        } else if !self.image_hash {
            format!("no dynamic-plugin-image.hash in {}", self.entry.folders.join(", "))
        } else {
            format!(
                "{} has the image hash but no package.json (the layer lacks the plugin folder)",
                self.entry.folders.join(", ")
            )
        };
        let said = if self.errors.is_empty() {
            "no output line names it as failed".to_string()
        } else {
            format!("the installer said: {}", self.errors.join(" | "))
        };
        format!("{state}; {said}")
    }
}

/// One installer run and what it left behind.
pub struct InstallRun {
    pub installer: Installer,
    pub image: String,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
    pub stdout: String,
    pub stderr: String,
    /// One per enabled OCI reference, in `dynamic-plugins.yaml` order.
    pub plugins: Vec<PluginResult>,
    /// `CATALOG_ENTITIES_EXTRACT_DIR/catalog-entities` holds exactly the image's `catalog-entities/extensions/` files.
    pub entities_extracted: bool,
    pub wrappers_disabled: usize,
    /// The plugin root the installer wrote (kept while the run is alive).
    pub root: PathBuf,
    _scratch: tempfile::TempDir,
}

impl InstallRun {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    pub fn not_installed(&self) -> Vec<&PluginResult> {
        self.plugins.iter().filter(|plugin| !plugin.installed()).collect()
    }

    pub fn result_of(&self, image_name: &str) -> Option<&PluginResult> {
        self.plugins.iter().find(|plugin| plugin.entry.image_name() == image_name)
    }

    /// `exit 0 in 1.4 s: 7 of 7 plugins installed (3 wrappers disabled), catalog entities extracted`.
    pub fn summary(&self) -> String {
        let status = match (self.timed_out, self.exit_code) {
            (true, _) => format!("killed after {INSTALL_TIMEOUT:?}"),
            (false, Some(code)) => format!("exit {code}"),
            (false, None) => "killed by a signal".to_string(),
        };
        format!(
            "{}: {status} in {:.1} s: {} of {} plugins installed ({} wrappers disabled), catalog entities {}",
            self.installer.name(),
            self.elapsed.as_secs_f64(),
            self.plugins.len() - self.not_installed().len(),
            self.plugins.len(),
            self.wrappers_disabled,
            if self.entities_extracted { "extracted" } else { "NOT extracted" },
        )
    }

    /// The last `lines` lines of stdout and of stderr.
    pub fn tail(&self, lines: usize) -> String {
        let last = |text: &str| {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        };
        format!(
            "--- stdout (last {lines} lines)\n{}\n--- stderr (last {lines} lines)\n{}",
            last(&self.stdout),
            last(&self.stderr)
        )
    }

    /// Every problem of this run, one per line; empty when every plugin installed.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.succeeded() {
            problems.push(format!("the installer did not succeed ({})", self.summary()));
        }
        if !self.entities_extracted {
            problems.push(format!("catalog entities were not extracted from {}", self.image));
        }
        for plugin in self.not_installed() {
            problems.push(format!("{} ({:?}): {}", plugin.entry.package, plugin.entry.source, plugin.problem()));
        }
        problems
    }
}

/// Panics, naming every plugin some installer did not install with that installer's output, unless
/// every run succeeded, installed every plugin and extracted the catalog entities.
pub fn assert_every_plugin_installed(runs: &[InstallRun]) {
    assert!(!runs.is_empty(), "no installer ran");
    let mut message = String::new();
    for run in runs {
        let problems = run.problems();
        if problems.is_empty() {
            continue;
        }
        let _ = writeln!(message, "\n{} on {}:", run.installer.name(), run.image);
        for problem in problems {
            let _ = writeln!(message, "  - {problem}");
        }
        let _ = writeln!(message, "{}", run.tail(25));
    }
    assert!(message.is_empty(), "the real installers did not install every plugin:{message}");
}
