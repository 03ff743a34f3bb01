//! An overlay tree as values: its workspaces (where each comes from, which plugins it lists, the
//! metadata of each package) and the catalog entity files. [`crate::io::overlay_tree`] reads them.

use std::path::PathBuf;

use crate::formats::foreign::ReadNote;
use crate::formats::package::Package;
use crate::formats::plugins_list::PluginsList;
use crate::formats::source_json::SourceJson;

#[derive(Clone, Debug)]
pub(crate) struct Overlay {
    /// Sorted by name.
    pub(crate) workspaces: Vec<Workspace>,
    /// Files under `catalog-entities/extensions/` (minus the top-level README and `packages/`),
    /// relative to that folder, sorted.
    pub(crate) entities: Vec<EntityFile>,
}

#[derive(Clone, Debug)]
pub(crate) struct Workspace {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) source: SourceJson,
    /// `backstage.json` `version`, which overrides the upstream's Backstage version.
    pub(crate) backstage_override: Option<String>,
    pub(crate) plugins_list: Option<PluginsList>,
    /// `metadata/*.yaml`, sorted by file name.
    pub(crate) packages: Vec<Package>,
    /// What the forward-compatible reads of `backstage.json` passed over (those of `source.json`
    /// and the metadata files are on them).
    pub(crate) backstage_notes: Vec<ReadNote>,
}

impl Overlay {
    /// Everything the forward-compatible reads of the overlay's files passed over, in workspace
    /// and file order.
    pub(crate) fn notes(&self) -> Vec<ReadNote> {
        let mut notes = Vec::new();
        for workspace in &self.workspaces {
            notes.extend(workspace.source.notes.iter().cloned());
            notes.extend(workspace.backstage_notes.iter().cloned());
            for package in &workspace.packages {
                notes.extend(package.notes.iter().cloned());
            }
        }
        notes
    }
}

impl Workspace {
    /// The Backstage version the workspace builds against.
    pub(crate) fn backstage_version(&self) -> Option<&str> {
        self.backstage_override.as_deref().or(self.source.repo_backstage_version.as_deref())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct EntityFile {
    pub(crate) relative: PathBuf,
    pub(crate) bytes: Vec<u8>,
}

pub(crate) const EXTENSIONS_DIR: &str = "catalog-entities/extensions";
