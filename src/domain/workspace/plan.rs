//! Which workspaces an export run rebuilds: each one is *export*, *skip* (the same cache key as its
//! last successful export) or *drop* (no supported plugin), with the reason in words. Pure.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::domain::overlay::Workspace;
use crate::formats::plan::{Decision, ExportState, Plan, PlannedPlugin, PlannedWorkspace};

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
