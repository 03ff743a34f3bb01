//! Logs go to stderr through `tracing` (`RUST_LOG` filters, `--log-format json` for collectors);
//! stdout is kept for data. Lines go through the progress module, which keeps bars out of their way.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The certificate verifier logs each failure itself; the registry client says it once, with the fix.
    let filter = match "rustls_platform_verifier=off".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::io::progress::log_writer)
        .with_target(false);
    let result = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).without_time().try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second init (tests calling run twice) keeps the first subscriber.
    drop(result);
}
