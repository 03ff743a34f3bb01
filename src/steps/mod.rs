//! One module per subcommand; [`run`] dispatches. Each step resolves its inputs, plans with pure
//! code, applies the plan through the edges, and writes outputs atomically.

pub mod artifact;
pub mod await_build;
pub mod commit;
pub mod diff;
pub mod export;
pub mod fetch;
pub mod index;
pub mod package;
pub mod promote;
pub mod publish;
pub mod release_number;
pub mod report;
pub mod sync;
pub mod validate;

use crate::cli::{Cli, Command};
use crate::error::ExitStatus;

pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Artifact(args) => artifact::run(args).await,
        Command::AwaitBuild(args) => await_build::run(args).await,
        Command::Diff(args) => diff::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::Fetch(args) => fetch::run(args).await,
        Command::Index(args) => index::run(args).await,
        Command::ReleaseNumber(args) => release_number::run(args).await,
        Command::Commit(args) => commit::run(args).await,
        Command::Report(args) => report::run(&args),
        Command::Sync(args) => sync::run(args).await,
        Command::Package(args) => package::run(args).await,
        Command::Publish(args) => publish::run(args).await,
        Command::Validate(args) => validate::run(args).await,
        Command::Promote(args) => promote::run(args).await,
    }
}
