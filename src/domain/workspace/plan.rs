//! Which workspaces an export run rebuilds: each one is *export*, *skip* (the same cache key as its
//! last successful export) or *drop* (no supported plugin), with the reason in words. Pure.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::domain::overlay::Workspace;
use crate::formats::plan::{Decision, ExportState, Plan, PlannedPlugin, PlannedWorkspace};

/// Which workspaces `--force-export` names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum ForceExport {
    #[default]
    None,
    /// Every workspace (`--force-export` without a name).
    All,
    Workspaces(BTreeSet<String>),
}

impl ForceExport {
    /// From the flag's values: `*` (the flag without a name) means every workspace.
    pub(crate) fn from_values(values: &[String]) -> ForceExport {
        let names: BTreeSet<String> =
            values.iter().map(|value| value.trim().to_string()).filter(|value| !value.is_empty()).collect();
        if names.contains("*") {
            ForceExport::All
        } else if names.is_empty() {
            ForceExport::None
        } else {
            ForceExport::Workspaces(names)
        }
    }

    fn covers(&self, workspace: &str) -> bool {
        match self {
            ForceExport::None => false,
            ForceExport::All => true,
            ForceExport::Workspaces(names) => names.contains(workspace),
        }
    }

    /// The named workspaces that are not among `known`.
    pub(crate) fn unknown<'a>(&'a self, known: &BTreeSet<&str>) -> Vec<&'a str> {
        match self {
            ForceExport::Workspaces(names) => {
                names.iter().map(String::as_str).filter(|name| !known.contains(name)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The values of the flag that give this choice again (`--force-export` arguments).
    pub(crate) fn values(&self) -> Vec<String> {
        match self {
            ForceExport::None => Vec::new(),
            ForceExport::All => vec!["*".to_string()],
            ForceExport::Workspaces(names) => names.iter().cloned().collect(),
        }
    }
}

/// What besides the cache key decides a re-export: `--force-export`, and where the images go now
/// (an export whose images went to another store or registry prefix did not put them where the
/// index will look).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExportPolicy {
    pub(crate) force: ForceExport,
    /// [`image_destination`] of this run; `None` when the step was not told (then not compared).
    pub(crate) image_destination: Option<String>,
}

/// Where an export's images go, as one comparable text: the store (`docker://` for the named
/// registries, `docker://HOST` for a mirror, `oci-layout:DIR` with `DIR` absolute) and the registry
/// prefix they are named under.
pub(crate) fn image_destination(store: Option<&str>, registry: &str) -> String {
    let store = match store.map(str::trim).filter(|store| !store.is_empty()) {
        None => "docker://".to_string(),
        Some(store) => store.trim_end_matches('/').to_string(),
    };
    let store = if store == "docker:" { "docker://".to_string() } else { store };
    format!("{store} {}", registry.trim().trim_end_matches('/'))
}

/// One workspace's inputs to planning.
pub(crate) struct WorkspaceFacts<'a> {
    pub(crate) workspace: &'a Workspace,
    pub(crate) content_id: String,
    pub(crate) state: Option<ExportState>,
}

/// Decides export, skip or drop for every workspace. Pure.
pub(crate) fn plan_workspaces(
    facts: &[WorkspaceFacts<'_>],
    supported: Option<&BTreeSet<(String, String)>>,
    backstage_version: &str,
    tool_version: &str,
    policy: &ExportPolicy,
) -> Vec<PlannedWorkspace> {
    facts
        .iter()
        .map(|fact| {
            let workspace = fact.workspace;
            let source = &workspace.source;
            let cache_key = ExportState::key(&fact.content_id, &source.repo_ref, backstage_version, tool_version);
            let plugins: Vec<PlannedPlugin> = workspace
                .plugins_list
                .iter()
                .flat_map(crate::formats::plugins_list::PluginsList::entries)
                .filter(|entry| {
                    supported.is_none_or(|set| set.contains(&(workspace.name.clone(), entry.path.as_str().to_string())))
                })
                .map(|entry| PlannedPlugin { path: entry.path.as_str().to_string(), flags: entry.flags.clone() })
                .collect();
            let (decision, reason) = if plugins.is_empty() {
                (Decision::Drop, "no plugin of plugins-list.yaml is in the supported package list".to_string())
            } else {
                match &fact.state {
                    Some(_) if policy.force.covers(&workspace.name) => {
                        (Decision::Export, "forced with --force-export".to_string())
                    }
                    Some(state)
                        if state.cache_key == cache_key
                            && policy
                                .image_destination
                                .as_ref()
                                .is_some_and(|now| state.image_destination.as_ref() != Some(now)) =>
                    {
                        let now = policy.image_destination.as_deref().unwrap_or_default();
                        let reason = match &state.image_destination {
                            Some(before) => format!("its images went to {before}; they go to {now} now"),
                            None => format!("its last export does not say where its images went; they go to {now} now"),
                        };
                        (Decision::Export, reason)
                    }
                    Some(state) if state.cache_key == cache_key => (
                        Decision::Skip,
                        format!("unchanged since the last export (upstream {})", short(&state.upstream_commit)),
                    ),
                    Some(state) => (
                        Decision::Export,
                        change_reason(state, &fact.content_id, &source.repo_ref, backstage_version, tool_version),
                    ),
                    None => (Decision::Export, "never exported".to_string()),
                }
            };
            PlannedWorkspace {
                name: workspace.name.clone(),
                decision,
                reason,
                cache_key,
                repo: source.repo.clone(),
                repo_ref: source.repo_ref.clone(),
                repo_flat: source.repo_flat,
                backstage_version: workspace.backstage_version().unwrap_or(backstage_version).to_string(),
                plugins,
                batch: None,
            }
        })
        .collect()
}

fn short(commit: &str) -> &str {
    if commit.is_empty() { "unknown" } else { &commit[..commit.len().min(12)] }
}

fn change_reason(
    state: &ExportState,
    content_id: &str,
    repo_ref: &str,
    backstage_version: &str,
    tool_version: &str,
) -> String {
    let mut changes = Vec::new();
    if state.overlay_content_id != content_id {
        changes.push("overlay workspace changed".to_string());
    }
    if state.repo_ref != repo_ref {
        changes.push(format!("repo-ref {} → {repo_ref}", state.repo_ref));
    }
    if state.backstage_version != backstage_version {
        changes.push(format!("Backstage {} → {backstage_version}", state.backstage_version));
    }
    if state.tool_version != tool_version {
        changes.push(format!("rhdh-catalog {} → {tool_version}", state.tool_version));
    }
    if changes.is_empty() { "cache key changed".to_string() } else { changes.join(", ") }
}

/// The plan as a table, one workspace per line, with the reason for its decision.
pub(crate) fn render_table(plan: &Plan) -> String {
    let mut out = String::new();
    let width = plan.workspaces.iter().map(|workspace| workspace.name.len()).max().unwrap_or(9).max(9);
    let _ = writeln!(out, "{:width$}  {:6}  {:5}  {:7}  reason", "workspace", "plan", "batch", "plugins");
    for workspace in &plan.workspaces {
        let decision = match workspace.decision {
            Decision::Export => "export",
            Decision::Skip => "skip",
            Decision::Drop => "drop",
        };
        let _ = writeln!(
            out,
            "{:width$}  {decision:6}  {:5}  {:7}  {}",
            workspace.name,
            workspace.batch.as_deref().unwrap_or("-"),
            workspace.plugins.len(),
            workspace.reason
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_compare_stores_and_prefixes() {
        assert_eq!(image_destination(None, "quay.io/rhdh"), "docker:// quay.io/rhdh");
        assert_eq!(image_destination(Some("docker://"), "quay.io/rhdh/"), "docker:// quay.io/rhdh");
        assert_eq!(
            image_destination(Some("docker://127.0.0.1:5000/"), "quay.io/rhdh"),
            "docker://127.0.0.1:5000 quay.io/rhdh"
        );
        assert_ne!(
            image_destination(Some("oci-layout:/a"), "quay.io/rhdh"),
            image_destination(Some("oci-layout:/b"), "quay.io/rhdh")
        );
    }

    #[test]
    fn force_export_names_workspaces_or_all() {
        assert_eq!(ForceExport::from_values(&[]), ForceExport::None);
        assert_eq!(ForceExport::from_values(&["*".into()]), ForceExport::All);
        let named = ForceExport::from_values(&["a".into(), " b ".into(), String::new()]);
        assert!(named.covers("a") && named.covers("b") && !named.covers("c"));
        assert_eq!(named.unknown(&["a"].into_iter().collect()), ["b"]);
        assert_eq!(named.values(), ["a", "b"]);
        assert!(ForceExport::All.covers("anything"));
    }
}
