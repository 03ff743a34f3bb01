//! What exporting one workspace will do, decided before anything touches the disk: which parts of
//! the upstream repository to check out, which overlay patches apply in which order, which overlay
//! folders are copied, the `backstage.json` override, what is pruned, the commands to run and one
//! exporter invocation per supported plugin. Pure; the export step carries it out.

use crate::formats::plan::PlannedWorkspace;
use crate::formats::relative_path::RelativePath;

/// Folders no exported workspace needs (the upstream's app, backend, examples and e2e tests).
pub(crate) const ALWAYS_PRUNED: [&str; 4] = ["examples", "packages/backend", "packages/app", "e2e-tests"];

/// Folder-name prefix of app packages, pruned too (`packages/app-*`).
pub(crate) const PRUNED_PACKAGE_PREFIX: &str = "app-";

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExportPlan {
    /// The workspace's folder in its repository (`""` for a flat repository).
    pub(crate) plugins_root: String,
    /// Cone-mode sparse checkout paths; empty for the whole tree.
    pub(crate) sparse_paths: Vec<String>,
    /// Overlay patch files (`patches/*.patch`), in the order they apply.
    pub(crate) patches: Vec<String>,
    /// Plugin folders whose `overlay/` folder is copied over the sources.
    pub(crate) overlay_folders: Vec<RelativePath>,
    /// The `backstage.json` written when the overlay overrides the Backstage version.
    pub(crate) backstage_json: Option<String>,
    /// Commands run in the workspace root, in order; empty commands left out.
    pub(crate) commands: Vec<(&'static str, String)>,
    /// One exporter run per supported plugin, in plugins-list order.
    pub(crate) exports: Vec<PluginExport>,
}

/// One `<exporter> plugin export <flags>` in a plugin folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PluginExport {
    pub(crate) folder: RelativePath,
    pub(crate) flags: Vec<String>,
}

/// A plan that cannot be made from the overlay as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ExportPlanError {
    #[error("plugin folder `{folder}` {problem}")]
    Folder { folder: String, problem: String },
    #[error("patch file name `{name}` {problem}")]
    Patch { name: String, problem: String },
}

/// The plan for `planned`. `patch_files` are the file names in the workspace's `patches/` folder
/// (any order; only `.patch` files apply), `has_overlay` says whether a plugin folder has an
/// `overlay/` folder in the overlay workspace.
pub(crate) fn export_plan(
    planned: &PlannedWorkspace,
    patch_files: &[String],
    has_overlay: impl Fn(&RelativePath) -> bool,
    backstage_override: Option<&str>,
    commands: &[(&'static str, String)],
) -> Result<ExportPlan, ExportPlanError> {
    let plugins_root = if planned.repo_flat { String::new() } else { format!("workspaces/{}", planned.name) };
    let sparse_paths = if planned.repo_flat { Vec::new() } else { vec![plugins_root.clone(), ".yarn".to_string()] };
    let mut patches: Vec<String> = Vec::new();
    for name in patch_files
        .iter()
        .filter(|name| std::path::Path::new(name).extension().is_some_and(|extension| extension == "patch"))
    {
        if name.contains('/') || name.starts_with('.') {
            return Err(ExportPlanError::Patch { name: name.clone(), problem: "is not a plain file name".into() });
        }
        patches.push(name.clone());
    }
    patches.sort();
    let mut exports = Vec::new();
    let mut overlay_folders = Vec::new();
    for plugin in &planned.plugins {
        let folder = RelativePath::parse(&plugin.path)
            .map_err(|problem| ExportPlanError::Folder { folder: plugin.path.clone(), problem })?;
        if has_overlay(&folder) {
            overlay_folders.push(folder.clone());
        }
        exports.push(PluginExport { folder, flags: plugin.flags.clone() });
    }
    Ok(ExportPlan {
        plugins_root,
        sparse_paths,
        patches,
        overlay_folders,
        backstage_json: backstage_override.map(|version| format!("{{\n  \"version\": \"{version}\"\n}}\n")),
        commands: commands.iter().filter(|(_, command)| !command.trim().is_empty()).cloned().collect(),
        exports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::plan::{Decision, PlannedPlugin};

    fn planned(flat: bool, paths: &[&str]) -> PlannedWorkspace {
        PlannedWorkspace {
            name: "argocd".into(),
            decision: Decision::Export,
            reason: String::new(),
            cache_key: String::new(),
            repo: "https://example/repo".into(),
            repo_ref: "v1".into(),
            repo_flat: flat,
            backstage_version: "1.49.4".into(),
            plugins: paths.iter().map(|path| PlannedPlugin { path: (*path).into(), flags: Vec::new() }).collect(),
            batch: None,
        }
    }

    #[test]
    fn a_monorepo_workspace_checks_out_its_folder_and_applies_patches_in_name_order() {
        let files = ["b.patch".to_string(), "README.md".into(), "a.patch".into()];
        let commands = [("install", "yarn install".to_string()), ("build", String::new())];
        let plan = export_plan(
            &planned(false, &["plugins/argocd", "plugins/argocd-backend"]),
            &files,
            |folder| folder.as_str() == "plugins/argocd",
            Some("1.45.0"),
            &commands,
        )
        .unwrap();
        assert_eq!(plan.plugins_root, "workspaces/argocd");
        assert_eq!(plan.sparse_paths, ["workspaces/argocd", ".yarn"]);
        assert_eq!(plan.patches, ["a.patch", "b.patch"]);
        assert_eq!(plan.overlay_folders.len(), 1);
        assert_eq!(plan.backstage_json.as_deref(), Some("{\n  \"version\": \"1.45.0\"\n}\n"));
        assert_eq!(plan.commands, [("install", "yarn install".to_string())]);
        assert_eq!(plan.exports.len(), 2);
    }

    #[test]
    fn a_flat_repository_checks_out_everything_and_bad_folders_are_refused() {
        let plan = export_plan(&planned(true, &["."]), &[], |_| false, None, &[]);
        assert!(matches!(plan, Err(ExportPlanError::Folder { .. })));
        let plan = export_plan(&planned(true, &["plugins/x"]), &[], |_| false, None, &[]).unwrap();
        assert!(plan.sparse_paths.is_empty());
        assert_eq!(plan.plugins_root, "");
    }
}
