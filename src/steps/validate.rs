//! `rhdh-catalog validate`: a `dynamic-plugins*.yaml` (with its includes) or an index image,
//! checked as the RHDH installer would check it at pod start: the static rules of
//! [`crate::domain::validate`], then, against the registry, every OCI package (enabled or disabled)
//! present, annotated with `io.backstage.dynamic-packages`, and holding its plugin folder in its
//! first layer. One line per finding; exit 1 when any is an error.

use crate::cli::{OutputFormat, ValidateArgs};
use crate::domain::validate::Severity;
use crate::error::{ExitStatus, FindingsError, InputError};
use crate::io::install_check::{validate_file, validate_image};
use crate::io::registry::ImageReference;

pub async fn run(args: ValidateArgs) -> anyhow::Result<ExitStatus> {
    let store = args.store.open()?;
    let findings = match (&args.file, &args.image) {
        (Some(file), None) => validate_file(&store, file, !args.no_registry).await?,
        (None, Some(image)) => {
            let reference =
                ImageReference::parse(image).map_err(|problem| InputError::usage(format!("--image {problem}")))?;
            validate_image(&store, &reference, !args.no_registry).await?
        }
        _ => return Err(InputError::usage("give a dynamic-plugins*.yaml file or --image").into()),
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
                println!("{severity}: {}: {}: {} [{}]", finding.file, finding.package, finding.message, finding.rule);
            }
            println!("{errors} error(s), {} warning(s)", findings.len() - errors);
        }
    }
    if errors > 0 {
        return Err(FindingsError(format!("{errors} problem(s) the RHDH installer would reject")).into());
    }
    Ok(ExitStatus::Success)
}

