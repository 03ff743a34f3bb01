//! `rhdh-catalog validate`: a `dynamic-plugins*.yaml` (with its includes) or an index image,
//! checked as the RHDH installer would check it at pod start: the static rules of
//! [`crate::domain::validate`], then, against the registry, every OCI package (enabled or disabled)
//! present, annotated with `io.backstage.dynamic-packages`, and holding its plugin folder in its
//! first layer. One line per finding; exit 1 when any is an error.

use std::path::{Path, PathBuf};

use super::{OutputFormat, StoreSettings};
use crate::domain::validate::Severity;
use crate::error::{ExitStatus, FindingsError};
use crate::io::install_check::{validate_file, validate_image};
use crate::io::registry::ImageReference;

/// What to validate.
#[derive(Debug)]
pub enum ValidateTarget {
    /// A dynamic-plugins*.yaml (its includes are read relative to its folder).
    File(PathBuf),
    /// An index image (its dynamic-plugins.default.yaml and catalog entities).
    Image(ImageReference),
}

#[derive(Debug)]
pub struct ValidateSettings {
    pub(crate) target: ValidateTarget,
    /// Also check every image against the registry (not only the static rules).
    pub(crate) registry_checks: bool,
    pub(crate) output_format: OutputFormat,
    pub(crate) store: StoreSettings,
}

pub(crate) async fn run(args: ValidateSettings) -> anyhow::Result<ExitStatus> {
    if let ValidateTarget::File(file) = &args.target {
        // Includes are read relative to the file: its folder is the tree they must stay in.
        crate::io::fs::add_content_tree(
            file.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new(".")),
        );
    }
    let store = args.store.open_existing()?;
    let findings = match &args.target {
        ValidateTarget::File(file) => validate_file(&store, file, args.registry_checks).await?,
        ValidateTarget::Image(reference) => validate_image(&store, reference, args.registry_checks).await?,
    };
    let errors = findings.iter().filter(|finding| finding.severity == Severity::Error).count();
    match args.output_format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        OutputFormat::Text => {
            for finding in &findings {
                let severity = match finding.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let place = match finding.line {
                    Some(line) => format!("{}:{line}", finding.file),
                    None => finding.file.clone(),
                };
                // The package as the file wrote it may hold control or look-alike characters:
                // shown as code points, long ones cut.
                let package = crate::formats::shown::shown(&finding.package);
                println!("{severity}: {place}: {package}: {} [{}]", finding.message, finding.rule);
                if let Some(fix) = finding.fix() {
                    println!("  hint: {fix}");
                }
            }
            println!("{errors} error(s), {} warning(s)", findings.len() - errors);
        }
    }
    if errors > 0 {
        return Err(FindingsError(format!("{errors} problem(s) the RHDH installer would reject")).into());
    }
    Ok(ExitStatus::Success)
}
