//! The page from fixtures in the shapes the steps write: every plugin state, a failed export
//! with its log, a workspace that failed as a whole, and a diff with every group.

use std::collections::BTreeMap;

use super::inputs::{BuildReportFile, CatalogKind, ExportReportFile, IndexReportFile, RunContext, StatusInputs};
use super::page::{Outcome, PluginState, build};
use super::{html, markdown};
use crate::domain::run_report::{TaskLine, TaskStatus};
use crate::formats::build_info::BuildInfo;
use crate::formats::index_json::IndexJson;

const DIGEST_A: &str = "sha256:aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000";
const DIGEST_B: &str = "sha256:bbbbbbbbbbbb0000000000000000000000000000000000000000000000000000";
const DIGEST_C: &str = "sha256:cccccccccccc0000000000000000000000000000000000000000000000000000";

fn index_report() -> IndexReportFile {
    serde_json::from_value(serde_json::json!({
        "summary": {"plugins": 5, "pinned": 2, "stale": 1, "missing": 1, "dynamic-plugins-entries": 4},
        "changed": true,
        "plugins": [
            {"image": "scope-pinned", "workspace": "alpha", "reference": "quay.io/rhdh/scope-pinned:1.10.0--1.2.0", "status": "pinned", "digest": DIGEST_A},
            {"image": "scope-kept", "workspace": "alpha", "reference": "quay.io/rhdh/scope-kept:1.10.0--2.0.0", "status": "stale", "digest": DIGEST_B, "detail": "tag not found"},
            {"image": "scope-missing", "workspace": "beta", "reference": "quay.io/rhdh/scope-missing:1.10.0--0.1.0", "status": "missing", "detail": "tag not found"},
            {"image": "scope-fallback", "workspace": "beta", "reference": "quay.io/rhdh/scope-fallback:1.10.0--3.1.0", "status": "fallback", "digest": DIGEST_C},
            {"image": "scope-broken", "workspace": "gamma", "reference": "quay.io/rhdh/scope-broken:1.10.0--0.5.0", "status": "stale", "digest": DIGEST_A, "detail": "tag not found"}
        ],
        "diff": {
            "added": ["scope-pinned"],
            "removed": ["scope-gone"],
            "changed": [
                {"plugin": "scope-kept", "tag": {"old": "1.10.0--1.9.0", "new": "1.10.0--2.0.0"}, "digest": {"old": DIGEST_A, "new": DIGEST_B}},
                {"plugin": "scope-fallback", "tag": {"old": "1.10.0--3.2.0", "new": "1.10.0--3.0.0"}},
                {"plugin": "scope-broken", "digest": {"old": DIGEST_B, "new": DIGEST_A}},
                {"plugin": "scope-missing", "enabled": {"old": true, "new": false}, "pluginConfig": ["dynamicPlugins.frontend"]}
            ]
        }
    }))
    .unwrap()
}

fn build_report() -> BuildReportFile {
    serde_json::from_value(serde_json::json!({
        "metadata": {"catalog-index-image": "quay.io/rhdh/plugin-catalog-index:1.10@sha256:dddddddddddd0000000000000000000000000000000000000000000000000000", "last-successful-publish": null},
        "summary": {"total": 1, "succeeded": 1, "failed": 0, "status": "partial"},
        "plugins": {
            "scope-fallback": {
                "package": "@scope/fallback", "version": "3.1.0", "workspace": "beta",
                "stages": {
                    "bootstrap": {"status": "pass", "oci_ref": "quay.io/rhdh/scope-fallback:1.10.0--3.1.0"},
                    "image-metadata-fetch": {"status": "pass", "digest": DIGEST_C, "fallback": true, "requestedTag": "1.10.0--3.1.0", "resolvedTag": "1.10.0--3.0.0"},
                    "dpdy": {"status": "pass"},
                    "catalog-index": {"status": "pass"}
                },
                "overall": "pass",
                "action": "ACTION REQUIRED: publish quay.io/rhdh/scope-fallback:1.10.0--3.1.0"
            }
        }
    }))
    .unwrap()
}

fn exports() -> Vec<ExportReportFile> {
    let batch_0 = serde_json::json!({"workspaces": {
        "alpha": {"status": "exported", "upstream-commit": "0123456789abcdef", "plugins": [
            {"path": "plugins/pinned", "status": "exported", "package": "@scope/pinned", "version": "1.2.0", "image": format!("quay.io/rhdh/scope-pinned@{DIGEST_A}")}
        ]}
    }});
    let batch_1 = serde_json::json!({"workspaces": {
        "gamma": {"status": "failed", "cause": "1 of 1 plugins failed", "plugins": [
            {"path": "plugins/broken", "status": "failed", "package": "@scope/broken", "version": "0.5.0",
             "cause": "`rhdh-cli plugin export` exited with status 1",
             "log-tail": ["yarn run v1.22.22", "error TS2307: Cannot find module '@backstage/core' <missing>", "exit 1"]}
        ]},
        "delta": {"status": "failed", "cause": "patch 01-fix.patch: hunk #2 FAILED at 14", "plugins": []}
    }});
    vec![serde_json::from_value(batch_0).unwrap(), serde_json::from_value(batch_1).unwrap()]
}

fn index_json() -> IndexJson {
    serde_json::from_value(serde_json::json!({
        "scope-pinned": {"workspacePath": "alpha/plugins/pinned", "registryReference": format!("quay.io/rhdh/scope-pinned@{DIGEST_A}"),
            "build-date": "2026-05-01T10:00:00Z", "support": "generally-available", "imageTag": "1.10.0--1.2.0"},
        "scope-kept": {"workspacePath": "alpha/plugins/kept", "registryReference": format!("quay.io/rhdh/scope-kept@{DIGEST_B}"),
            "support": "tech-preview", "imageTag": "1.10.0--1.9.0"}
    }))
    .unwrap()
}

fn inputs() -> StatusInputs {
    StatusInputs {
        catalog: CatalogKind::Supported,
        community: None,
        run: RunContext {
            status: TaskStatus::Failed,
            tasks: vec![
                TaskLine { name: "fetch".into(), status: TaskStatus::Succeeded },
                TaskLine { name: "export".into(), status: TaskStatus::Failed },
                TaskLine { name: "commit".into(), status: TaskStatus::None },
            ],
            branch: Some("release-1.10".into()),
            revision: Some("89c860c45d7117fc55e8dc9f3323bc06333175c6".into()),
            index_image: None,
            inputs_epoch: Some(crate::domain::status::page::parse_time("2026-05-21T00:00:00Z").unwrap()),
            page_url: Some("https://ci.example/run/1/status.html".into()),
            rerun_command: None,
        },
        index_report: Some(index_report()),
        build_report: Some(build_report()),
        build_info: Some(BuildInfo {
            source_repo: "https://github.com/redhat-developer/rhdh-plugin-export-overlays @ 5a262a4".into(),
            backstage_version: "1.52.0".into(),
            rhdh_version: Some("1.10.0".into()),
            overlay_commit: "5a262a4282cc48e402de9ed1cdc0d8077d183c0f".into(),
            registry: "quay.io/rhdh".into(),
            tool_version: "0.1.0".into(),
            ..BuildInfo::default()
        }),
        plan: Some(
            serde_json::from_value(
                serde_json::json!({"rhdh-branch": "release-1.10", "rhdh-version": "1.10.0", "workspaces": [
                    {"name": "beta", "decision": "skip", "reason": "same cache key as its last export"}
                ]}),
            )
            .unwrap(),
        ),
        exports: exports(),
        index: Some(index_json()),
        enabled: BTreeMap::from([("scope-pinned".to_string(), true), ("scope-kept".to_string(), false)]),
        has_dynamic_plugins: true,
        unreadable: Vec::new(),
        overlay: Vec::new(),
        failed_tasks: Vec::new(),
    }
}

#[test]
fn rows_states_and_totals() {
    let page = build(&inputs());
    let states: Vec<(&str, PluginState)> = page.rows.iter().map(|row| (row.image.as_str(), row.state)).collect();
    assert_eq!(
        states,
        [
            ("scope-broken", PluginState::ExportFailed),
            ("scope-fallback", PluginState::Fallback),
            ("scope-kept", PluginState::Kept),
            ("scope-missing", PluginState::Missing),
            ("scope-pinned", PluginState::Pinned),
        ]
    );
    let totals = page.totals;
    assert_eq!((totals.plugins, totals.pinned, totals.fallback, totals.kept, totals.missing), (5, 1, 1, 1, 1));
    assert_eq!(totals.failed_exports, 2, "a failed plugin and a workspace that failed before any plugin");
    let pinned = &page.rows[4];
    assert_eq!(pinned.name, "@scope/pinned");
    assert_eq!(pinned.version.as_deref(), Some("1.2.0"));
    assert_eq!(pinned.requested_tag.as_deref(), Some("1.10.0--1.2.0"));
    assert_eq!(pinned.resolved_tag.as_deref(), Some("1.10.0--1.2.0"));
    assert_eq!(pinned.short_digest().as_deref(), Some("sha256:aaaaaaaaaaaa"));
    assert_eq!(pinned.age_days, Some(19), "age from the inputs' time, not the clock");
    assert_eq!(pinned.support.as_deref(), Some("generally-available"));
    assert_eq!(pinned.enabled, Some(true));
    let outcomes: Vec<Outcome> = pinned.stages.iter().map(|stage| stage.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Pass, Outcome::Pass, Outcome::Pass, Outcome::Pass, Outcome::NotRun, Outcome::NotRun],
        "catalog entities and install check are unknown without a build report or install check"
    );
    let fallback = &page.rows[1];
    assert_eq!(fallback.name, "@scope/fallback");
    assert_eq!(fallback.resolved_tag.as_deref(), Some("1.10.0--3.0.0"));
    assert_eq!(fallback.stages[2].outcome, Outcome::Warn);
    assert_eq!(fallback.stages[4].outcome, Outcome::Pass, "catalog-index stage of the build report");
    let kept = &page.rows[2];
    assert_eq!(kept.resolved_tag.as_deref(), Some("1.10.0--1.9.0"), "the previous entry's tag");
    assert_eq!(kept.stages[0].outcome, Outcome::Skip, "its workspace exported without it");
    assert_eq!(page.rows[3].stages[0].outcome, Outcome::Skip, "beta was planned as skip");
    assert!(page.rows[3].stages[0].detail.as_deref().unwrap().contains("unchanged since its last export"));
    assert_eq!(page.rows[0].stages[1].outcome, Outcome::NotRun, "no image after a failed export");
}

#[test]
fn actions_first_with_cause_log_and_command() {
    let page = build(&inputs());
    let actions: Vec<(&str, PluginState)> =
        page.actions.iter().map(|action| (action.name.as_str(), action.state)).collect();
    assert_eq!(
        actions,
        [
            ("workspace delta", PluginState::ExportFailed),
            ("@scope/broken", PluginState::ExportFailed),
            ("scope-missing", PluginState::Missing),
            ("scope-kept", PluginState::Kept),
            ("@scope/fallback", PluginState::Fallback),
        ]
    );
    let broken = &page.actions[1];
    assert!(broken.cause.contains("exited with status 1"), "{}", broken.cause);
    assert_eq!(broken.log.len(), 3);
    assert_eq!(broken.command, "rhdh-catalog export --workspace gamma --registry quay.io/rhdh");
    assert!(page.actions[0].cause.contains("hunk #2 FAILED"));
    assert!(page.actions[4].cause.contains("ACTION REQUIRED: publish"), "the build report's action line");
    assert!(page.actions[3].cause.contains("1.10.0--2.0.0") && page.actions[3].cause.contains("sha256:bbbbbbbbbbbb"));
}

#[test]
fn diff_in_groups() {
    let page = build(&inputs());
    let groups = page.diff.unwrap();
    let names = |lines: &[super::page::DiffLine]| lines.iter().map(|line| line.plugin.clone()).collect::<Vec<_>>();
    assert_eq!(names(&groups.added), ["@scope/pinned"]);
    assert_eq!(groups.added[0].image.as_deref(), Some("scope-pinned"));
    assert_eq!(names(&groups.removed), ["scope-gone"]);
    assert_eq!(names(&groups.upgraded), ["scope-kept"]);
    assert_eq!(names(&groups.downgraded), ["@scope/fallback"]);
    assert_eq!(names(&groups.repinned), ["@scope/broken"]);
    assert_eq!(names(&groups.configuration), ["scope-missing"]);
    assert_eq!(groups.configuration[0].detail, "default enabled → disabled; pluginConfig dynamicPlugins.frontend");
    assert_eq!(groups.upgraded[0].detail, "1.10.0--1.9.0 → 1.10.0--2.0.0 (sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb)");
}

#[test]
fn header_names_versions_commits_image_and_time() {
    let page = build(&inputs());
    let facts: BTreeMap<&str, &str> = page.header.facts.iter().map(|(label, value)| (*label, value.as_str())).collect();
    assert_eq!(facts["branch"], "release-1.10");
    assert_eq!(facts["RHDH"], "1.10.0");
    assert_eq!(facts["Backstage"], "1.52.0");
    assert_eq!(facts["overlay commit"], "5a262a4282cc48e402de9ed1cdc0d8077d183c0f");
    assert_eq!(facts["midstream commit"], "89c860c45d7117fc55e8dc9f3323bc06333175c6");
    assert_eq!(facts["index image"], "quay.io/rhdh/plugin-catalog-index:1.10");
    assert!(facts["index digest"].starts_with("sha256:dddd"));
    assert_eq!(page.header.inputs_time.as_deref(), Some("2026-05-21T00:00:00Z"));
}

#[test]
fn html_is_self_contained_stable_and_escaped() {
    let page = build(&inputs());
    let first = html::render(&page);
    assert_eq!(first, html::render(&build(&inputs())), "same inputs, same bytes");
    for row in &page.rows {
        assert!(first.contains(&format!("id=\"plugin-{}\"", row.image)), "{}", row.image);
    }
    assert!(first.contains("&lt;missing&gt;"), "log lines are escaped");
    assert!(!first.contains("<missing>"));
    let lower = first.to_lowercase();
    for external in ["src=", "href=\"http", "url(", "@import", "<link", "<img", "<iframe", "<object", "<embed"] {
        assert!(!lower.contains(external), "{external} in the page");
    }
    let position = |needle: &str| first.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(position("id=\"actions\"") < position("id=\"changes\""));
    assert!(position("id=\"changes\"") < position("id=\"plugins\""));
}

#[test]
fn markdown_has_the_same_facts_and_fits_any_budget_in_whole_rows() {
    let page = build(&inputs());
    let full = markdown::render(&page);
    assert!(full.find("ACTION REQUIRED").unwrap() < full.find("Changes since").unwrap());
    assert!(full.find("Changes since").unwrap() < full.find("### Plugins").unwrap());
    for row in &page.rows {
        assert!(full.contains(&row.name), "{}", row.name);
    }
    // An npm scope is a live @mention on GitHub: names are code spans.
    assert!(full.contains("| Re-pinned | `@scope/broken` (`scope-broken`) |"), "{full}");
    assert!(full.contains("| fetch | Succeeded ✅ |"), "the task table is kept");
    assert_eq!(markdown::render_within(&page, markdown::DEFAULT_MAX_BYTES), full, "small pages are not cut");

    let lines: Vec<&str> = full.lines().collect();
    for budget in (200..full.len()).step_by(37) {
        let cut = markdown::render_within(&page, budget);
        assert!(cut.len() <= budget, "{budget}: {} bytes", cut.len());
        assert!(cut.contains("Cut to fit"), "{budget}");
        assert!(cut.contains("https://ci.example/run/1/status.html"), "{budget}: the pointer names the page");
        // Every table row kept is a whole row of the full text.
        for line in cut.lines().filter(|line| line.starts_with('|')) {
            assert!(lines.contains(&line), "{budget}: `{line}` is not a whole row");
        }
    }
    let cut = markdown::render_within(&page, 1500);
    assert!(cut.contains("ACTION REQUIRED"), "{cut}");
}

#[test]
fn utf8_is_never_cut() {
    let mut inputs = inputs();
    let report = inputs.index_report.as_mut().unwrap();
    for index in 0..40 {
        report.plugins.push(serde_json::from_value(serde_json::json!({
            "image": format!("plugin-ü-{index:02}"), "workspace": "ωmega", "reference": format!("quay.io/rhdh/plugin-{index}:1.10.0--1.0.0"),
            "status": "missing", "detail": "tag not found — «absent»"
        })).unwrap());
    }
    let page = build(&inputs);
    for budget in 1000..1400 {
        let cut = markdown::render_within(&page, budget);
        assert!(cut.len() <= budget);
        assert!(std::str::from_utf8(cut.as_bytes()).is_ok());
    }
}

#[test]
fn no_inputs_render_with_every_fact_unknown() {
    let page = build(&StatusInputs::default());
    assert!(page.rows.is_empty() && page.actions.is_empty() && page.diff.is_none());
    let html = html::render(&page);
    assert!(html.contains("Unknown: no index report was read"));
    assert!(html.contains("Unknown: no index, build or export report was read"), "no plugin facts is not all clear");
    assert!(!html.contains("Nothing: every plugin is pinned"));
    let markdown = markdown::render(&page);
    assert!(markdown.contains("**inputs made** unknown"), "{markdown}");
}

#[test]
fn summary_line_fits_a_result() {
    let page = build(&inputs());
    let line = page.summary_line();
    assert_eq!(
        line,
        "Failed: failed export; 5 plugins: 1 pinned, 1 fallback, 1 kept, 1 missing, 2 failed exports; ACTION REQUIRED: 5"
    );
    assert!(line.len() < 4096);
}

fn overlay_plugin(
    workspace: &str,
    folder: &str,
    package: Option<&str>,
    supported: bool,
) -> super::overlay::OverlayPlugin {
    super::overlay::OverlayPlugin {
        workspace: workspace.into(),
        folder: folder.into(),
        package: package.map(str::to_string),
        version: package.map(|_| "1.0.0".to_string()),
        support: None,
        listed: supported,
        exported: supported,
        in_other_catalog: false,
        enabled_by_default: Some(false),
    }
}

#[test]
fn every_plugin_of_the_overlay_has_a_row_and_a_reason() {
    let mut inputs = inputs();
    inputs.overlay = vec![
        overlay_plugin("alpha", "plugins/pinned", Some("@scope/pinned"), true),
        overlay_plugin("alpha", "plugins/unlisted", Some("@scope/unlisted"), false),
        overlay_plugin("alpha", "plugins/bare", None, true),
        overlay_plugin("delta", "plugins/dropped", Some("@scope/dropped"), false),
        overlay_plugin("alpha", "plugins/unselected", Some("@scope/unselected"), true),
    ];
    inputs.plan.as_mut().unwrap().workspaces.push(
        serde_json::from_value(serde_json::json!({"name": "delta", "decision": "drop", "reason": "no plugin of plugins-list.yaml is in the supported package list"})).unwrap(),
    );
    let page = build(&inputs);
    let row = |image: &str| page.rows.iter().find(|row| row.image == image).unwrap_or_else(|| panic!("no row {image}"));
    assert_eq!(row("scope-pinned").state, PluginState::Pinned, "joined with the index's row");
    assert_eq!(row("scope-pinned").folder.as_deref(), Some("alpha/plugins/pinned"));
    assert_eq!(row("scope-unlisted").state, PluginState::NotSupported);
    assert_eq!(row("scope-unlisted").name, "@scope/unlisted");
    assert_eq!(row("scope-unlisted").version.as_deref(), Some("1.0.0"), "from the metadata");
    assert_eq!(row("scope-unlisted").enabled, None, "dynamic-plugins.default.yaml of this run does not list it");
    assert_eq!(row("alpha/plugins/bare").state, PluginState::NoMetadata);
    assert_eq!(row("scope-dropped").state, PluginState::WorkspaceDropped);
    assert!(row("scope-dropped").why.as_deref().unwrap().contains("fetch dropped workspace delta"));
    assert_eq!(row("scope-unselected").state, PluginState::NotSelected);
    assert_eq!(page.totals.outside, 4);
    let markdown = markdown::render(&page);
    for needle in ["`@scope/unlisted`", "`alpha/plugins/bare`", "not in the supported list", "workspace dropped"] {
        assert!(markdown.contains(needle), "{needle}: {markdown}");
    }

    // Without this run's index, the plugins it would list are unknown, not pinned.
    inputs.index_report = None;
    inputs.build_report = None;
    inputs.index = None;
    inputs.has_dynamic_plugins = false;
    inputs.run.tasks.push(TaskLine { name: "index".into(), status: TaskStatus::None });
    let page = build(&inputs);
    let row = |image: &str| page.rows.iter().find(|row| row.image == image).unwrap_or_else(|| panic!("no row {image}"));
    assert_eq!(row("scope-unselected").state, PluginState::IndexNotRun);
    assert_eq!(row("scope-unselected").enabled, Some(false), "from default.packages.yaml");
    assert_eq!(row("scope-unlisted").state, PluginState::NotSupported);
    assert!(!page.rows.iter().any(|row| row.state == PluginState::Pinned));
    assert!(html::render(&page).contains("the index task did not run in this run"), "the note says so");
}

#[test]
fn an_outage_is_one_item_with_every_plugin_and_the_retry() {
    let mut inputs = inputs();
    inputs.index_report = None;
    inputs.build_report = None;
    inputs.index = None;
    inputs.run.rerun_command = Some("rhdh-catalog sync --store docker://127.0.0.1:5999".into());
    let outage = "registry 127.0.0.1:5999 refuses connections";
    inputs.exports = vec![serde_json::from_value(serde_json::json!({"workspaces": {
        "alpha": {"status": "failed", "infrastructure": true, "cause": "images could not be pushed", "plugins": [
            {"path": "plugins/a", "status": "failed", "package": "@scope/a", "cause": "packaging the image: …", "outage": outage},
            {"path": "plugins/b", "status": "failed", "package": "@scope/b", "cause": "packaging the image: …", "outage": outage}]},
        "beta": {"status": "failed", "infrastructure": true, "plugins": [
            {"path": "plugins/c", "status": "failed", "package": "@scope/c", "cause": "packaging the image: …", "outage": outage}]},
        "gamma": {"status": "failed", "plugins": [
            {"path": "plugins/d", "status": "failed", "package": "@scope/d", "cause": "`yarn tsc` exited with status 2"}]}
    }})).unwrap()];
    let page = build(&inputs);
    let outages: Vec<_> = page.actions.iter().filter(|action| action.outage.is_some()).collect();
    assert_eq!(outages.len(), 1, "{:#?}", page.actions);
    assert_eq!(outages[0].name, outage);
    assert_eq!(outages[0].plugins, ["@scope/a", "@scope/b", "@scope/c"]);
    assert_eq!(outages[0].workspace, "alpha, beta");
    assert_eq!(outages[0].command, "rhdh-catalog sync --store docker://127.0.0.1:5999");
    assert!(!outages[0].then.contains("previous") && !outages[0].before.contains("overlay"), "{:?}", outages[0]);
    let other = page.actions.iter().find(|action| action.name == "@scope/d").unwrap();
    assert!(other.before.contains("fix the cause in the overlay or upstream"));
    assert!(other.then.contains("this run made no index"), "no previous index is promised: {}", other.then);
}

const COMMUNITY_REGISTRY: &str = "ghcr.io/redhat-developer/rhdh-plugin-export-overlays";

/// The community catalog of the same run: one plugin pinned, one missing in the community
/// registry, one plugin of its list no step reached; and its overlay rows.
fn community_inputs(run: &RunContext) -> StatusInputs {
    let report: IndexReportFile = serde_json::from_value(serde_json::json!({
        "plugins": [
            {"image": "backstage-community-plugin-analytics-module-ga4", "workspace": "analytics", "reference": format!("{COMMUNITY_REGISTRY}/backstage-community-plugin-analytics-module-ga4:bs_1.52.0__0.21.0"), "status": "pinned", "digest": DIGEST_A},
            {"image": "backstage-community-plugin-analytics-module-matomo", "workspace": "analytics", "reference": format!("{COMMUNITY_REGISTRY}/backstage-community-plugin-analytics-module-matomo:bs_1.52.0__0.9.0"), "status": "missing", "detail": "tag not found"}
        ],
        "diff": {"added": ["backstage-community-plugin-analytics-module-ga4"]},
        "input-warnings": ["overlay-repo/workspaces/analytics/source.json:1: `repo-flat` is the string \"true\"; read as the boolean true"]
    }))
    .unwrap();
    let index: IndexJson = serde_json::from_value(serde_json::json!({
        "backstage-community-plugin-analytics-module-ga4": {"workspacePath": "analytics/plugins/analytics-module-ga4",
            "registryReference": format!("{COMMUNITY_REGISTRY}/backstage-community-plugin-analytics-module-ga4@{DIGEST_A}"),
            "support": "community", "imageTag": "bs_1.52.0__0.21.0"}
    }))
    .unwrap();
    let community_plugin = |folder: &str, package: &str| super::overlay::OverlayPlugin {
        workspace: "analytics".into(),
        folder: folder.into(),
        package: Some(package.into()),
        version: Some("0.21.0".into()),
        support: Some("community".into()),
        listed: true,
        exported: false,
        in_other_catalog: false,
        enabled_by_default: None,
    };
    StatusInputs {
        catalog: CatalogKind::Community,
        run: RunContext {
            index_image: Some(format!("quay.io/rhdh/plugin-catalog-index-community:1.10.0-1@{DIGEST_C}")),
            ..run.clone()
        },
        index_report: Some(report),
        index: Some(index),
        build_info: Some(BuildInfo {
            registry: "quay.io/rhdh".into(),
            community_registry: Some(COMMUNITY_REGISTRY.into()),
            ..BuildInfo::default()
        }),
        overlay: vec![
            community_plugin("plugins/analytics-module-ga4", "@backstage-community/plugin-analytics-module-ga4"),
            community_plugin("plugins/analytics-module-matomo", "@backstage-community/plugin-analytics-module-matomo"),
            community_plugin(
                "plugins/analytics-module-newrelic",
                "@backstage-community/plugin-analytics-module-newrelic",
            ),
        ],
        ..StatusInputs::default()
    }
}

fn with_community() -> StatusInputs {
    let mut inputs = inputs();
    let mut community = community_inputs(&inputs.run);
    // The run's plan and export reports, as `report` gives both sections.
    community.plan = inputs.plan.clone();
    community.exports = inputs.exports.clone();
    inputs.community = Some(Box::new(community));
    inputs
}

#[test]
fn the_community_catalog_is_a_section_of_its_own() {
    let both = with_community();
    let page = build(&both);
    let community = page.community.as_deref().expect("the community section");
    let states: Vec<(&str, PluginState)> = community.rows.iter().map(|row| (row.image.as_str(), row.state)).collect();
    assert_eq!(
        states,
        [
            ("backstage-community-plugin-analytics-module-ga4", PluginState::Pinned),
            ("backstage-community-plugin-analytics-module-matomo", PluginState::Missing),
            ("backstage-community-plugin-analytics-module-newrelic", PluginState::NotSelected),
        ]
    );
    // No dynamic-plugins.default.yaml: nothing enabled by default, the DPDY stage skipped.
    for row in &community.rows {
        assert_eq!(row.enabled, None, "{}", row.image);
        assert_eq!(row.stages[3].outcome, Outcome::Skip, "{}", row.image);
        assert_eq!(row.stages[0].outcome, Outcome::Skip, "not exported here: {}", row.image);
    }
    // The supported page is what it was: its own rows, totals and actions.
    assert_eq!(page.rows.len(), build(&inputs()).rows.len());
    assert_eq!(page.totals, build(&inputs()).totals);
    // The missing image is not built by this pipeline: exporting again is not the fix.
    assert_eq!(community.actions.len(), 1, "{:#?}", community.actions);
    let action = &community.actions[0];
    assert_eq!(action.state, PluginState::Missing);
    assert!(
        action.before.contains("exporting again does not help") && action.before.contains(COMMUNITY_REGISTRY),
        "{action:?}"
    );
    assert!(!action.command.contains("--force-export") && !action.command.contains("export --workspace"), "{action:?}");
    let facts: BTreeMap<&str, &str> =
        community.header.facts.iter().map(|(label, value)| (*label, value.as_str())).collect();
    assert_eq!(facts["index image"], "quay.io/rhdh/plugin-catalog-index-community:1.10.0-1");
    assert_eq!(facts["index digest"], DIGEST_C);
    assert_eq!(facts["community registry"], COMMUNITY_REGISTRY);
    assert!(!facts.contains_key("branch"), "the run's facts stay in the page's header");
    assert!(
        page.summary_line()
            .ends_with("; community: 3 plugins: 1 pinned, 0 fallback, 0 kept, 1 missing, ACTION REQUIRED: 1"),
        "{}",
        page.summary_line()
    );

    let html = html::render(&page);
    assert!(html.contains("<title>RHDH catalog: Failed, 6 need action</title>"), "every catalog's actions count");
    let position = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}"));
    let intro = &html[position("<section id=\"community\"")..position("<section id=\"community-actions\"")];
    assert!(
        intro.contains("<code>EXTRA_CATALOG_INDEX_IMAGES</code>")
            && intro.contains("no <code>dynamic-plugins.default.yaml</code>"),
        "{intro}"
    );
    assert!(intro.contains("1 thing needs a person"), "{intro}");
    assert!(position("id=\"plugins\"") < position("id=\"community\""));
    assert!(position("id=\"community-actions\"") < position("id=\"community-changes\""));
    assert!(position("id=\"community-changes\"") < position("id=\"community-plugins\""));
    assert!(html.contains("<h2>Community catalog: ACTION REQUIRED (1)</h2>"));
    assert_eq!(html.matches("<tr id=\"plugin-").count(), page.rows.len(), "the supported table is its own");
    assert_eq!(html.matches("<tr id=\"community-plugin-").count(), 3);
    assert!(html.contains("id=\"community-diff-added\""));
    assert!(
        html.contains("a person in the community catalog: see <a href=\"#community-actions\">"),
        "the lede says so"
    );
    assert!(
        html.contains("table id=\"community-plugin-table\" class=\"plugin-table\" data-label=\"community plugins\"")
    );

    let markdown = markdown::render(&page);
    assert!(markdown.starts_with("## rhdh-catalog sync: Failed ❌ · ⚠️ 6 need action"), "{markdown}");
    for heading in [
        "\n### Community catalog\n",
        "\n#### ⚠️ ACTION REQUIRED in the community catalog (1)\n",
        "\n### Changes since the previous community index\n",
        "\n### Community catalog plugins (3)\n",
    ] {
        assert!(markdown.contains(heading), "{heading}: {markdown}");
    }
    assert!(markdown.contains("`EXTRA_CATALOG_INDEX_IMAGES`"));
    let order = |needle: &str| markdown.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(order("### ⚠️ ACTION REQUIRED (") < order("#### ⚠️ ACTION REQUIRED in the community"));
    assert!(order("#### ⚠️ ACTION REQUIRED in the community") < order("### Changes since the previous index"));
    assert!(order("### Plugins (") < order("### Community catalog plugins"));
    // Cut to any budget, whole rows only, what needs a person first.
    let lines: Vec<&str> = markdown.lines().collect();
    for budget in (1200..markdown.len()).step_by(97) {
        let cut = markdown::render_within(&page, budget);
        assert!(cut.len() <= budget, "{budget}");
        for line in cut.lines().filter(|line| line.starts_with('|')) {
            assert!(lines.contains(&line), "{budget}: `{line}` is not a whole row");
        }
    }
}

#[test]
fn an_index_that_failed_leaves_the_community_catalog_unknown_and_says_so_first() {
    let mut inputs = with_community();
    inputs.index_report = None;
    inputs.build_report = None;
    inputs.index = None;
    inputs.run.tasks.push(TaskLine { name: "index".into(), status: TaskStatus::Failed });
    let community = inputs.community.as_mut().unwrap();
    community.run.tasks = inputs.run.tasks.clone();
    community.index_report = None;
    community.index = None;
    community.run.index_image = None;
    let page = build(&inputs);
    let community = page.community.as_deref().unwrap();
    assert_eq!(community.rows.len(), 3, "every plugin of its list has a row");
    assert!(community.rows.iter().all(|row| row.state == PluginState::IndexFailed), "{:#?}", community.rows);
    assert!(community.rows.iter().all(|row| row.name.starts_with("@backstage-community/") && row.version.is_some()));
    assert!(community.notes.iter().any(|note| note.starts_with("the index task failed in this run")));
    let html = html::render(&page);
    let intro =
        &html[html.find("<section id=\"community\"").unwrap()..html.find("<section id=\"community-actions\"").unwrap()];
    assert!(
        intro.contains("The index task failed in this run: no plugin below is in a community catalog it made"),
        "{intro}"
    );
    assert!(intro.find("The index task failed").unwrap() < intro.find("<dl").unwrap(), "said first");
    assert!(intro.contains("not published by this run"), "no image is this run's: {intro}");
    assert!(!html.contains("data-state=\"pinned\""));
    let markdown = markdown::render(&page);
    assert!(markdown.contains("> ⚠️ the index task failed in this run"), "{markdown}");
}

#[test]
fn input_warnings_are_a_short_list_shown_as_text() {
    let mut both = with_community();
    let hostile = [
        "workspaces/a/source.json:3: unknown key `<img src=x onerror=alert(1)>` (ignored)".to_string(),
        "workspaces/b/metadata/p.yaml:7: unknown key `[link](javascript:alert(1))` in `spec` (ignored) @octocat"
            .to_string(),
        "workspaces/c/source.json:2: unknown key `a``b` <details open> | cell".to_string(),
    ];
    let mut warnings: Vec<String> = hostile.to_vec();
    warnings
        .extend((0..25).map(|index| format!("workspaces/w{index:02}/source.json:1: unknown key `k{index}` (ignored)")));
    both.index_report.as_mut().unwrap().input_warnings = warnings.clone();
    // The community report repeats one and adds its own.
    let community = both.community.as_mut().unwrap().index_report.as_mut().unwrap();
    community.input_warnings.push(hostile[0].clone());
    let page = build(&both);
    assert_eq!(page.input_warnings_total, 29, "each warning once");
    assert_eq!(page.input_warnings.len(), super::page::INPUT_WARNINGS_SHOWN);
    let html = html::render(&page);
    let section = &html[html.find("<section id=\"input-warnings\"").expect("the section")..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(
        section.contains("<h2>Input warnings (29)</h2>") && section.contains("9 more are in the index report"),
        "{section}"
    );
    assert_eq!(section.matches("<li>").count(), 20);
    assert!(section.contains("<code>&lt;img src=x onerror=alert(1)&gt;</code>"), "{section}");
    assert!(!section.contains("<img") && !section.contains("<details") && !section.contains("<a "), "{section}");
    assert!(html.contains("<a href=\"#input-warnings\">Input warnings (29)</a>"));
    let markdown = markdown::render(&page);
    let start = markdown.find("\n### Input warnings (29)\n").expect("the markdown section");
    let section = &markdown[start..=(markdown[start + 1..].find("\n### ").unwrap() + start)];
    assert_eq!(section.matches("\n- ").count(), 20, "{section}");
    assert!(
        !section.contains("<img") && !section.contains("<details") && !section.contains("](javascript"),
        "{section}"
    );
    assert!(section.contains("`@octocat`") || !section.contains(" @octocat"), "no live mention: {section}");
    // None at all: no section.
    let page = build(&self::inputs());
    assert!(!html::render(&page).contains("id=\"input-warnings\""));
    assert!(!markdown::render(&page).contains("Input warnings"));
}
