//! Entry point: parse, resolve the settings, run the step, print the error chain once, exit with its status.

use std::process::ExitCode;

use clap::Parser;

use rhdh_catalog::cli::{Cli, LogFormatArg};
use rhdh_catalog::error::{ExitStatus, exit_status_of};
use rhdh_catalog::logging::LogFormat;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
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
    let step = match rhdh_catalog::cli::settings::resolve(cli.command) {
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
