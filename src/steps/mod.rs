//! One module per subcommand, and [`run`], the one table that dispatches them. Each step takes its
//! validated settings (made from the command line by `cli::settings`), plans with pure code from
//! [`crate::domain`], applies the plan through [`crate::io`], and writes its outputs atomically.
//! A step never calls another step: what two steps share lives below them.

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
pub mod verify_install;

use crate::error::ExitStatus;

/// How a step prints its summary on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// A subcommand with its settings: what `main` hands to [`run`].
#[derive(Debug)]
pub enum Step {
    Artifact(artifact::ArtifactSettings),
    AwaitBuild(await_build::AwaitBuildSettings),
    Commit(commit::CommitSettings),
    Diff(diff::DiffSettings),
    Export(export::ExportSettings),
    Fetch(fetch::FetchSettings),
    Index(index::IndexSettings),
    Package(package::PackageSettings),
    Promote(promote::PromoteSettings),
    Publish(publish::PublishSettings),
    ReleaseNumber(release_number::ReleaseNumberSettings),
    Report(report::ReportSettings),
    Sync(sync::SyncSettings),
    Validate(validate::ValidateSettings),
    VerifyInstall(verify_install::VerifyInstallSettings),
}

pub async fn run(step: Step) -> anyhow::Result<ExitStatus> {
    match step {
        Step::Artifact(settings) => artifact::run(settings).await,
        Step::AwaitBuild(settings) => await_build::run(settings).await,
        Step::Commit(settings) => commit::run(settings).await,
        Step::Diff(settings) => diff::run(settings).await,
        Step::Export(settings) => export::run(settings).await,
        Step::Fetch(settings) => fetch::run(settings).await,
        Step::Index(settings) => index::run(settings).await,
        Step::Package(settings) => package::run(settings).await,
        Step::Promote(settings) => promote::run(settings).await,
        Step::Publish(settings) => publish::run(settings).await,
        Step::ReleaseNumber(settings) => release_number::run(settings).await,
        Step::Report(settings) => report::run(&settings),
        Step::Sync(settings) => sync::run(settings).await,
        Step::Validate(settings) => validate::run(settings).await,
        Step::VerifyInstall(settings) => verify_install::run(settings).await,
    }
}

/// Where a step reads or writes images (`--store`) and how it talks to registries.
#[derive(Clone, Debug, Default)]
pub struct StoreSettings {
    /// `oci-layout:DIR`, `docker://HOST[:PORT]`, `docker://`; `None` for the named registries.
    pub(crate) spec: Option<String>,
    pub(crate) client: crate::io::registry::ClientOptions,
}

impl StoreSettings {
    pub(crate) fn open(&self) -> Result<crate::io::registry::Store, crate::error::InputError> {
        crate::io::registry::Store::parse(self.spec.as_deref(), &self.client)
    }

    /// [`StoreSettings::open`] for steps that only read images: an `oci-layout:` store must be an
    /// existing folder (a typo would otherwise read as "every image is missing").
    pub(crate) fn open_existing(&self) -> Result<crate::io::registry::Store, crate::error::InputError> {
        if let Some(dir) = self.spec.as_deref().and_then(|spec| spec.strip_prefix("oci-layout:"))
            && !dir.is_empty()
            && !std::path::Path::new(dir).is_dir()
        {
            return Err(crate::error::InputError::usage(format!(
                "--store `oci-layout:{dir}`: the folder does not exist"
            ))
            .with_hint("point --store at the OCI layout folder `package` or `sync` wrote"));
        }
        self.open()
    }
}

/// What `publish` and `promote` compare a release with.
#[derive(Clone, Debug, Default)]
pub struct ReleaseGate {
    /// The index released before (folder or image); `None` for promote means the current image
    /// of its first target tag, for publish that only the empty-index rule applies.
    pub(crate) previous: Option<String>,
    /// Image names the new index may drop.
    pub(crate) allowed_removals: std::collections::BTreeSet<String>,
}

impl ReleaseGate {
    /// Refuses (exit 1, with the difference) an index that holds no plugins or lost some of the
    /// previous index's without their names allowed; `previous` is the index to compare with.
    pub(crate) async fn check(
        &self,
        store: &crate::io::registry::Store,
        previous: Option<&str>,
        new: &crate::domain::catalog::view::CatalogView,
    ) -> anyhow::Result<()> {
        let previous = match previous {
            Some(source) => Some(crate::io::catalog_source::read_index(store, source).await?),
            None => None,
        };
        match crate::domain::catalog::gate::check_release(previous.as_ref(), new, &self.allowed_removals) {
            Ok(difference) => {
                tracing::info!(
                    added = difference.added.len(),
                    removed = difference.removed.len(),
                    changed = difference.changed.len(),
                    "release gate passed"
                );
                Ok(())
            }
            Err(refusal) => Err(crate::error::FindingsError(format!("{refusal}nothing was released")).into()),
        }
    }
}
