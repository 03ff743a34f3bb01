//! `rhdh-catalog verify-install IMAGE`: installs a release candidate the way an RHDH pod does
//! before anyone ships it. It reads the index image's `dynamic-plugins.default.yaml`, writes a
//! `dynamic-plugins.yaml` that enables every OCI plugin, runs each given installer (the real RHDH
//! installer: in the pipeline the one inside the RHDH image, locally any command) with
//! `CATALOG_INDEX_IMAGE` set, and checks that every plugin landed in its folder with its
//! `dynamic-plugin-image.hash` and `package.json`, and that the catalog entities were extracted.
//!
//! In a Tekton Task the three stages are three steps (the installer step runs in the RHDH image,
//! which does not hold this tool): `--stage prepare`, the installer, `--stage check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::StoreSettings;
use crate::domain::install_verification::{
    DYNAMIC_PLUGINS_FILE, ExpectedPlugin, InstallerResult, install_plan, report, verdict,
};
use crate::error::{ExitStatus, FindingsError, InputError};
use crate::formats::dynamic_plugins::DynamicPluginsFile;
use crate::io::registry::ImageReference;
use crate::io::registry::image::{KnownFacts, inspect};
use crate::io::registry::plugin_image::{DYNAMIC_PACKAGES_ANNOTATION, plugin_paths};

/// Which part of the verification to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    /// Prepare, run every installer, check each.
    #[default]
    All,
    /// Write `dynamic-plugins.yaml` and the expected plugin folders into the work folder.
    Prepare,
    /// Judge what an installer left in the work folder's `root/` and `entities/`.
    Check,
}

#[derive(Debug)]
pub struct VerifyInstallSettings {
    /// The index image to install from (`CATALOG_INDEX_IMAGE`).
    pub(crate) image: ImageReference,
    /// Installer commands; each is run as `<command> <plugin root>` in a folder of its own.
    pub(crate) installers: Vec<String>,
    pub(crate) stage: Stage,
    /// Where the installer runs; a temporary folder by default (required for prepare and check).
    pub(crate) work: Option<PathBuf>,
    pub(crate) timeout: Duration,
    /// Write the per-installer, per-plugin verdicts here as JSON.
    pub(crate) report: Option<PathBuf>,
    pub(crate) results_dir: Option<PathBuf>,
    pub(crate) store: StoreSettings,
}

/// One line per installer.
pub const RESULT_SUMMARY: &str = "summary";
pub const RESULTS: [&str; 1] = [RESULT_SUMMARY];

/// The expected plugin folders, as `--stage prepare` leaves them for `--stage check`.
const EXPECTED_FILE: &str = "expected-plugins.json";

pub(crate) async fn run(settings: VerifyInstallSettings) -> anyhow::Result<ExitStatus> {
    let scratch = tempfile::tempdir()?;
    let work = settings.work.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    let store = settings.store.open_existing()?;
    let results = match settings.stage {
        Stage::Prepare => {
            prepare(&store, &settings.image, &work).await?;
            println!("prepared {} in {}", DYNAMIC_PLUGINS_FILE, work.display());
            return Ok(ExitStatus::Success);
        }
        Stage::Check => {
            let expected: Vec<ExpectedPlugin> = crate::io::fs::read_json(&work.join(EXPECTED_FILE))?;
            vec![check("installer", &work, &expected, None, Duration::ZERO)]
        }
        Stage::All => {
            if settings.installers.is_empty() {
                return Err(InputError::usage("name the installer to run with --installer").into());
            }
            let mut results = Vec::new();
            for (number, installer) in settings.installers.iter().enumerate() {
                let folder = work.join(format!("installer-{}", number + 1));
                let expected = prepare(&store, &settings.image, &folder).await?;
                results.push(run_installer(&settings, installer, &folder, &expected).await?);
            }
            results
        }
    };
    for result in &results {
        tracing::info!(elapsed_ms = result.elapsed_ms, "{}", result.summary());
        for image in result.failed_plugins() {
            tracing::error!(installer = %result.installer, plugin = image, verdict = ?result.plugins[image], "not installed");
        }
    }
    if let Some(path) = &settings.report {
        let text = serde_json::to_vec_pretty(&report(&settings.image.to_string(), &results))?;
        crate::io::fs::write_atomic(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    let summary: Vec<String> = results.iter().map(InstallerResult::summary).collect();
    let line = summary.join("; ");
    crate::io::tekton_results::Results::new(settings.results_dir.as_deref())
        .write(RESULT_SUMMARY, &crate::domain::text::first_items(&summary, 4))?;
    println!("{line}");
    let failed: Vec<String> = results
        .iter()
        .filter(|result| !result.passed())
        .map(|result| {
            let plugins = result.failed_plugins();
            let what = if plugins.is_empty() {
                result.installer_outcome.clone().unwrap_or_else(|| "the catalog entities were not extracted".into())
            } else {
                format!("not installed: {}", crate::domain::text::first_items(&plugins, 10))
            };
            format!("{}: {what}", result.installer)
        })
        .collect();
    if failed.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        Err(FindingsError(format!(
            "{} does not install as RHDH would install it: {}",
            settings.image,
            failed.join("; ")
        ))
        .into())
    }
}

/// Writes the installer's `dynamic-plugins.yaml` and the expected folders into `folder`.
async fn prepare(
    store: &crate::io::registry::Store,
    image: &ImageReference,
    folder: &Path,
) -> anyhow::Result<Vec<ExpectedPlugin>> {
    let index = tempfile::tempdir()?;
    crate::io::catalog_source::unpack_image(store, image, index.path()).await?;
    let dpdy_path = index.path().join("dynamic-plugins.default.yaml");
    if !dpdy_path.is_file() && !dpdy_path.is_symlink() {
        return Err(FindingsError(format!("{image} has no dynamic-plugins.default.yaml at its root")).into());
    }
    let text = crate::io::fs::read_text(&dpdy_path)?;
    let dpdy = DynamicPluginsFile::parse(Path::new("dynamic-plugins.default.yaml"), &text)?;
    let mut plan = install_plan(&dpdy);
    for plugin in plan.expected.iter_mut().filter(|plugin| plugin.folder.is_none()) {
        plugin.folder = annotated_folder(store, &plugin.package).await?;
    }
    fs_err::create_dir_all(folder.join("root"))?;
    crate::io::fs::write_atomic(&folder.join(DYNAMIC_PLUGINS_FILE), plan.dynamic_plugins_yaml.as_bytes())?;
    crate::io::fs::write_atomic(&folder.join(EXPECTED_FILE), &serde_json::to_vec_pretty(&plan.expected)?)?;
    Ok(plan.expected)
}

/// The single plugin folder an image's `io.backstage.dynamic-packages` annotation names.
async fn annotated_folder(store: &crate::io::registry::Store, package: &str) -> anyhow::Result<Option<String>> {
    let Ok(reference) = ImageReference::parse(package.trim_start_matches("oci://")) else { return Ok(None) };
    let Some(facts) = inspect(store, &reference, &KnownFacts::new()).await? else { return Ok(None) };
    let paths = facts.annotations.get(DYNAMIC_PACKAGES_ANNOTATION).and_then(|value| plugin_paths(value));
    Ok(match paths.as_deref() {
        Some([single]) => Some(single.clone()),
        _ => None,
    })
}

async fn run_installer(
    settings: &VerifyInstallSettings,
    installer: &str,
    folder: &Path,
    expected: &[ExpectedPlugin],
) -> anyhow::Result<InstallerResult> {
    let root = folder.join("root");
    let entities = folder.join("entities");
    let home = folder.join("home");
    let mut env = vec![
        ("CATALOG_INDEX_IMAGE".to_string(), settings.image.to_string()),
        ("CATALOG_ENTITIES_EXTRACT_DIR".to_string(), entities.display().to_string()),
    ];
    // skopeo, which both installers call, speaks plain HTTP only to registries its
    // registries.conf marks insecure: give it one in a HOME of its own when we were told of any.
    if !settings.store.client.insecure_registries.is_empty() {
        let mut conf = String::new();
        for host in &settings.store.client.insecure_registries {
            conf.push_str("[[registry]]\nlocation = \"");
            conf.push_str(host);
            conf.push_str("\"\ninsecure = true\n\n");
        }
        crate::io::fs::write_atomic(&home.join(".config/containers/registries.conf"), conf.as_bytes())?;
        env.push(("HOME".to_string(), home.display().to_string()));
    }
    let command = format!("{installer} {}", crate::io::shell::shell_quote(&root.display().to_string()));
    let started = Instant::now();
    let outcome =
        crate::io::shell::run_logged_with(&command, folder, &folder.join("installer.log"), settings.timeout, &env)
            .await;
    let elapsed = started.elapsed();
    let (outcome, log_tail) = match outcome {
        Ok(()) => (None, Vec::new()),
        Err(failure) => (Some(failure.outcome.clone()), failure.log_tail),
    };
    let mut result = check(installer, folder, expected, outcome, elapsed);
    result.log_tail = log_tail;
    Ok(result)
}

/// Judges what an installer left in `folder/root` and `folder/entities`.
fn check(
    installer: &str,
    folder: &Path,
    expected: &[ExpectedPlugin],
    installer_outcome: Option<String>,
    elapsed: Duration,
) -> InstallerResult {
    let root = folder.join("root");
    let plugins: BTreeMap<String, _> = expected
        .iter()
        .map(|plugin| {
            let present = |dir: &str, marker: &str| root.join(dir).join(marker).is_file();
            (plugin.image.clone(), verdict(plugin, present))
        })
        .collect();
    let entities = folder.join("entities/catalog-entities");
    InstallerResult {
        installer: installer.to_string(),
        installer_succeeded: installer_outcome.is_none(),
        installer_outcome,
        entities_extracted: entities.is_dir()
            && std::fs::read_dir(&entities).is_ok_and(|mut entries| entries.next().is_some()),
        plugins,
        log_tail: Vec::new(),
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    }
}
