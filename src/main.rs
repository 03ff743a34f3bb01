//! Entry point: parse, resolve the settings, run the step, print the error chain once, exit with its status.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use rhdh_catalog::cli::{Cli, LogFormatArg, ValueSources};
use rhdh_catalog::error::{ExitStatus, exit_status_of};
use rhdh_catalog::logging::LogFormat;

/// Exit status when the reader of stdout went away (`rhdh-catalog validate | head -1`): what a Unix
/// filter killed by SIGPIPE reports (128 + 13), without a panic message.
const STDOUT_CLOSED: i32 = 141;

/// `println!` panics when stdout is a closed pipe; that is the reader's choice, not a bug, so the
/// process ends quietly instead. Every other panic keeps the default report.
fn end_quietly_when_stdout_closes() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(STDOUT_CLOSED);
        }
        default_hook(info);
    }));
}

fn main() -> ExitCode {
    end_quietly_when_stdout_closes();
    let parsed = Cli::command().try_get_matches().and_then(|matches| {
        let cli = Cli::from_arg_matches(&matches)?;
        Ok((cli, ValueSources::of(&matches)))
    });
    let (cli, sources) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            let status = if error.use_stderr() { ExitStatus::BadInput } else { ExitStatus::Success };
            let _ = error.print();
            return ExitCode::from(status.code());
        }
    };
    rhdh_catalog::logging::init(match cli.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    });
    let step = match rhdh_catalog::cli::settings::resolve(cli.command, &sources) {
        Ok(step) => step,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(ExitStatus::BadInput.code());
        }
    };
    rhdh_catalog::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(ExitStatus::Infrastructure.code());
        }
    };
    match runtime.block_on(rhdh_catalog::steps::run(step)) {
        Ok(status) => ExitCode::from(status.code()),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_status_of(&error).code())
        }
    }
}
