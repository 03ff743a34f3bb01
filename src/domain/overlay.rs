//! An overlay tree as values: its workspaces (where each comes from, which plugins it lists, the
//! metadata of each package) and the catalog entity files. [`crate::io::overlay_tree`] reads them.

use std::path::PathBuf;

use crate::formats::package::Package;
use crate::formats::plugins_list::PluginsList;
use crate::formats::source_json::SourceJson;

#[derive(Clone, Debug)]
pub struct Overlay {
    pub root: PathBuf,
    /// Sorted by name.
    pub workspaces: Vec<Workspace>,
    /// Files under `catalog-entities/extensions/` (minus the top-level README and `packages/`),
    /// relative to that folder, sorted.
    pub entities: Vec<EntityFile>,
}

#[derive(Clone, Debug)]
pub struct Workspace {
    pub name: String,
    pub dir: PathBuf,
    pub source: SourceJson,
    /// `backstage.json` `version`, which overrides the upstream's Backstage version.
    pub backstage_override: Option<String>,
    pub plugins_list: Option<PluginsList>,
    /// `metadata/*.yaml`, sorted by file name.
    pub packages: Vec<Package>,
}

impl Workspace {
    /// The Backstage version the workspace builds against.
    pub fn backstage_version(&self) -> Option<&str> {
        self.backstage_override.as_deref().or(self.source.repo_backstage_version.as_deref())
    }
}

#[derive(Clone, Debug)]
pub struct EntityFile {
    pub relative: PathBuf,
    pub bytes: Vec<u8>,
}

pub const EXTENSIONS_DIR: &str = "catalog-entities/extensions";
