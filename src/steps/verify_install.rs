//! `rhdh-catalog verify-install IMAGE`: installs a release candidate the way an RHDH pod does
//! before anyone ships it, in two passes. It reads the index image's
//! `dynamic-plugins.default.yaml`; the first pass writes a `dynamic-plugins.yaml` that enables
//! every active OCI plugin and runs each given installer (the real RHDH installer: in the pipeline
//! the one inside the RHDH image, locally any command) with `CATALOG_INDEX_IMAGE` set, and with
//! `EXTRA_CATALOG_INDEX_IMAGES` when extra catalogs are given; the second pass enables every
//! commented OCI alternative of the file (the lines users are told to switch to) and nothing else.
//! Each pass checks that every plugin landed in its folder with its `dynamic-plugin-image.hash`
//! and `package.json`, that the catalog entities were extracted, and (first pass) that every
//! extra catalog's entities are where the installer puts them.
//!
//! In a Tekton Task the stages are steps (the installer steps run in the RHDH image, which does
//! not hold this tool): `--stage prepare` (writes `<work>/active/` and `<work>/alternatives/`),
//! the installer in each, `--stage check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::StoreSettings;
use crate::domain::install_verification::{
    DYNAMIC_PLUGINS_FILE, ExpectedPlugin, ExtraCatalog, InstallPlan, InstallerResult, Pass, alternatives_plan,
    extra_catalog_verdict, extra_catalogs_env, extra_entities_folder, install_plan, report, verdict,
};
use crate::error::{ExitStatus, FindingsError, InputError};
use crate::formats::dynamic_plugins::{DynamicPluginsFile, commented_alternatives};
use crate::io::registry::ImageReference;
use crate::io::registry::image::{KnownFacts, inspect};
use crate::io::registry::plugin_image::{DYNAMIC_PACKAGES_ANNOTATION, plugin_paths};

/// Which part of the verification to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    /// Prepare, run every installer (both passes), check each.
    #[default]
    All,
    /// Write each pass's `dynamic-plugins.yaml` and expected plugin folders into the work folder.
    Prepare,
    /// Judge what an installer left in each pass folder's `root/` and `entities/`.
    Check,
}

#[derive(Debug)]
pub struct VerifyInstallSettings {
    /// The index image to install from (`CATALOG_INDEX_IMAGE`).
    pub(crate) image: ImageReference,
    /// Extra catalog index images (`EXTRA_CATALOG_INDEX_IMAGES`), whose entities must be extracted.
    pub(crate) extra_catalogs: Vec<ExtraCatalog>,
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

/// One line per installer and pass.
pub const RESULT_SUMMARY: &str = "summary";
pub const RESULTS: [&str; 1] = [RESULT_SUMMARY];

/// The expected plugin folders, as `--stage prepare` leaves them in each pass folder for `--stage check`.
const EXPECTED_FILE: &str = "expected-plugins.json";
/// The files each extra catalog's image holds under `catalog-entities/extensions/`, by name (in
/// the first pass's folder).
const EXPECTED_EXTRA_FILE: &str = "expected-extra-catalogs.json";

pub(crate) async fn run(settings: VerifyInstallSettings) -> anyhow::Result<ExitStatus> {
    let scratch = tempfile::tempdir()?;
    let work = settings.work.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    let store = settings.store.open_existing()?;
    let results = match settings.stage {
        Stage::Prepare => {
            let prepared = prepare(&store, &settings, &work).await?;
            for (pass, expected) in &prepared {
                println!(
                    "prepared {} in {} ({} plugins: {})",
                    DYNAMIC_PLUGINS_FILE,
                    work.join(pass.folder()).display(),
                    expected.len(),
                    pass.folder()
                );
            }
            return Ok(ExitStatus::Success);
        }
        Stage::Check => {
            let mut results = Vec::new();
            for pass in Pass::BOTH {
                let folder = work.join(pass.folder());
                let expected_path = folder.join(EXPECTED_FILE);
                if !expected_path.is_file() && pass == Pass::Alternatives {
                    continue;
                }
                let expected: Vec<ExpectedPlugin> = crate::io::fs::read_json(&expected_path)?;
                if expected.is_empty() && pass == Pass::Alternatives {
                    continue;
                }
                results.push(check("installer", pass, &folder, &expected, None, Duration::ZERO));
            }
            results
        }
        Stage::All => {
            if settings.installers.is_empty() {
                return Err(InputError::usage("name the installer to run with --installer").into());
            }
            let mut results = Vec::new();
            for (number, installer) in settings.installers.iter().enumerate() {
                let folder = work.join(format!("installer-{}", number + 1));
                for (pass, expected) in prepare(&store, &settings, &folder).await? {
                    if pass == Pass::Alternatives && expected.is_empty() {
                        continue;
                    }
                    results
                        .push(run_installer(&settings, installer, pass, &folder.join(pass.folder()), &expected).await?);
                }
            }
            results
        }
    };
    for result in &results {
        tracing::info!(elapsed_ms = result.elapsed_ms, "{}", result.summary());
        for image in result.failed_plugins() {
            tracing::error!(installer = %result.label(), plugin = image, verdict = ?result.plugins[image], "not installed");
        }
        for name in result.failed_extra_catalogs() {
            tracing::error!(installer = %result.label(), catalog = name, verdict = ?result.extra_catalogs[name], "extra catalog entities not extracted");
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
            let catalogs = result.failed_extra_catalogs();
            let mut what = Vec::new();
            if !plugins.is_empty() {
                what.push(format!("not installed: {}", crate::domain::text::first_items(&plugins, 10)));
            }
            if !catalogs.is_empty() {
                what.push(format!(
                    "extra catalog entities not extracted: {}",
                    crate::domain::text::first_items(&catalogs, 10)
                ));
            }
            if what.is_empty() {
                what.push(
                    result
                        .installer_outcome
                        .clone()
                        .unwrap_or_else(|| "the catalog entities were not extracted".into()),
                );
            }
            format!("{}: {}", result.label(), what.join("; "))
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

/// Writes each pass's `dynamic-plugins.yaml` and expected folders into `folder/<pass>/`, and the
/// files each extra catalog must bring; returns the expected plugins of each pass.
async fn prepare(
    store: &crate::io::registry::Store,
    settings: &VerifyInstallSettings,
    folder: &Path,
) -> anyhow::Result<Vec<(Pass, Vec<ExpectedPlugin>)>> {
    let image = &settings.image;
    let index = tempfile::tempdir()?;
    crate::io::catalog_source::unpack_image(store, image, index.path()).await?;
    let dpdy_path = index.path().join("dynamic-plugins.default.yaml");
    if !dpdy_path.is_file() && !dpdy_path.is_symlink() {
        return Err(FindingsError(format!("{image} has no dynamic-plugins.default.yaml at its root")).into());
    }
    let text = crate::io::fs::read_text(&dpdy_path)?;
    let dpdy = DynamicPluginsFile::parse(Path::new("dynamic-plugins.default.yaml"), &text)?;
    let plans: Vec<(Pass, InstallPlan)> = vec![
        (Pass::Active, install_plan(&dpdy)),
        (Pass::Alternatives, alternatives_plan(&dpdy, &commented_alternatives(&text))),
    ];
    let mut prepared = Vec::new();
    for (pass, mut plan) in plans {
        for plugin in plan.expected.iter_mut().filter(|plugin| plugin.folder.is_none()) {
            plugin.folder = annotated_folder(store, &plugin.package).await?;
        }
        let pass_folder = folder.join(pass.folder());
        fs_err::create_dir_all(pass_folder.join("root"))?;
        crate::io::fs::write_atomic(&pass_folder.join(DYNAMIC_PLUGINS_FILE), plan.dynamic_plugins_yaml.as_bytes())?;
        crate::io::fs::write_atomic(&pass_folder.join(EXPECTED_FILE), &serde_json::to_vec_pretty(&plan.expected)?)?;
        prepared.push((pass, plan.expected));
    }
    let mut extra_files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for catalog in &settings.extra_catalogs {
        let reference = ImageReference::parse(&catalog.image)
            .map_err(|problem| InputError::usage(format!("extra catalog `{}`: image {problem}", catalog.name)))?;
        let unpacked = tempfile::tempdir()?;
        crate::io::catalog_source::unpack_image(store, &reference, unpacked.path()).await?;
        // The installers read `catalog-entities/extensions/`, else the old `marketplace/`.
        let entities = ["catalog-entities/extensions", "catalog-entities/marketplace"]
            .iter()
            .map(|relative| unpacked.path().join(relative))
            .find(|path| path.is_dir());
        let files: Vec<String> = match entities {
            Some(dir) => crate::io::fs::list_files(&dir)
                .map_err(|error| anyhow::anyhow!("listing the entities of {}: {error}", catalog.image))?
                .into_iter()
                .map(|path| path.to_string_lossy().replace('\\', "/"))
                .collect(),
            None => Vec::new(),
        };
        extra_files.insert(catalog.name.clone(), files);
    }
    crate::io::fs::write_atomic(
        &folder.join(Pass::Active.folder()).join(EXPECTED_EXTRA_FILE),
        &serde_json::to_vec_pretty(&extra_files)?,
    )?;
    Ok(prepared)
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
    pass: Pass,
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
    if pass == Pass::Active && !settings.extra_catalogs.is_empty() {
        env.push(("EXTRA_CATALOG_INDEX_IMAGES".to_string(), extra_catalogs_env(&settings.extra_catalogs)));
    }
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
    let mut result = check(installer, pass, folder, expected, outcome, elapsed);
    result.log_tail = log_tail;
    Ok(result)
}

/// Judges what an installer left in `folder/root` and `folder/entities` (and, for the first
/// pass, in each extra catalog's folder under `entities/`).
fn check(
    installer: &str,
    pass: Pass,
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
    let extra_expected: BTreeMap<String, Vec<String>> = if pass == Pass::Active {
        crate::io::fs::read_json(&folder.join(EXPECTED_EXTRA_FILE)).unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    let extra_catalogs = extra_expected
        .iter()
        .map(|(name, files)| {
            let extracted = folder.join("entities").join(extra_entities_folder(name));
            (name.clone(), extra_catalog_verdict(name, files, |file| extracted.join(file).is_file()))
        })
        .collect();
    InstallerResult {
        installer: installer.to_string(),
        pass,
        installer_succeeded: installer_outcome.is_none(),
        installer_outcome,
        entities_extracted: entities.is_dir()
            && std::fs::read_dir(&entities).is_ok_and(|mut entries| entries.next().is_some()),
        plugins,
        extra_catalogs,
        log_tail: Vec::new(),
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    }
}
