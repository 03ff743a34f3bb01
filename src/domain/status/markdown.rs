//! `status.md` and the markdown summary for a pull-request comment or a job summary: the same
//! facts as the HTML page, what failed, ACTION REQUIRED and the change since the previous index
//! first. With a budget (GitHub and GitLab cap a comment at 65 536 characters; we count bytes,
//! which is never less) whole rows are dropped from the end and a pointer to the full page says
//! so: a row, an action or a character is never cut in half.
//!
//! Everything that comes from content (plugin names, causes, log lines, branch names, the diff) is
//! rendered as text: names in code spans, prose escaped ([`markdown_text`]), logs in fenced
//! blocks. No HTML, link, image, `<details open>` or `@mention` of a plugin's making gets through.

use std::fmt::Write as _;

use super::inputs::CatalogKind;
use super::page::{Action, IndexOutcome, NOT_PUBLISHED, Outcome, Page, PluginState, Row, STAGES, plural};
use crate::domain::run_report::{TASK_TABLE_HEAD, heading, table_cell, task_rows};
use crate::domain::text::{markdown_block, markdown_code, markdown_prose, markdown_text};

/// The comment limit of GitHub and GitLab.
pub(crate) const DEFAULT_MAX_BYTES: usize = 65_536;

/// A section: its heading (with any table head) and its rows, each row whole or not at all.
struct Section {
    head: String,
    rows: Vec<String>,
    /// Said when the section has no rows.
    empty: Option<String>,
}

/// Inline code that survives backticks in `text`.
fn code(text: &str) -> String {
    markdown_code(text)
}

fn cell_code(text: &str) -> String {
    table_cell(&code(text))
}

fn state_word(state: PluginState) -> String {
    format!("{} {}", state.mark(), state.word())
}

fn stage_word(outcome: Outcome) -> String {
    format!("{} {}", outcome.mark(), outcome.word())
}

/// The facts of a header, `**label** value`.
fn facts(page: &Page) -> Vec<String> {
    page.header
        .facts
        .iter()
        .map(|(label, value)| {
            if value == NOT_PUBLISHED { format!("**{label}** {value}") } else { format!("**{label}** {}", code(value)) }
        })
        .collect()
}

/// The counts of one catalog's plugins by state.
fn totals_lines(page: &Page) -> String {
    let totals = &page.totals;
    let mut out = format!(
        "**{} {}**: {} pinned at the requested tag · {} fallback tag · {} kept from the previous index · {} missing · {} {}\n",
        totals.plugins,
        plural(totals.plugins, "plugin", "plugins"),
        totals.pinned,
        totals.fallback,
        totals.kept,
        totals.missing,
        totals.failed_exports,
        plural(totals.failed_exports, "failed export", "failed exports")
    );
    if totals.unknown > 0 || totals.outside > 0 {
        let _ = writeln!(
            out,
            "\n{} unknown (no index of this run) · {} not in the catalog by the overlay's choice (not supported, workspace dropped, no metadata, not selected)",
            totals.unknown, totals.outside
        );
    }
    out
}

fn header(page: &Page) -> String {
    let mut out = heading(&page.header.status);
    let all_actions = page.all_actions();
    if all_actions > 0 {
        let _ = write!(out, " · ⚠️ {all_actions} need action");
    }
    out.push_str("\n\n");
    let mut facts = facts(page);
    facts.push(format!("**inputs made** {}", page.header.inputs_time.as_deref().unwrap_or("unknown")));
    out.push_str(&facts.join(" · "));
    out.push_str("\n\n");
    out.push_str(&totals_lines(page));
    for note in &page.notes {
        let _ = writeln!(out, "\n> ⚠️ {}", markdown_prose(note));
    }
    for failure in &page.failures {
        let _ = write!(out, "\n### ❌ {} failed\n\n", code(&failure.task));
        if let Some(log) = &failure.log {
            let _ = writeln!(out, "Log: {}\n", code(log));
        }
        if failure.lines.is_empty() {
            out.push_str("Its log says nothing more here; the task table below has its status.\n");
        } else {
            out.push_str(&markdown_block(&failure.lines));
        }
        if let Some(fix) = &failure.fix {
            let _ = writeln!(
                out,
                "\n**Fix:** when images the plan skipped are missing from the store (it changed, or lost them), export every workspace again: {}",
                code(fix)
            );
        }
    }
    out
}

fn action_item(action: &Action) -> String {
    let name = if action.outage.is_some() { markdown_text(&action.name) } else { code(&action.name) };
    let mut out = format!(
        "- {} {name} ({} {}{})\n  **Cause:** {}\n",
        state_word(action.state),
        if action.workspace.contains(", ") { "workspaces" } else { "workspace" },
        code(&action.workspace),
        action.image.as_deref().map(|image| format!(", image {}", code(image))).unwrap_or_default(),
        markdown_prose(&action.cause),
    );
    if !action.plugins.is_empty() {
        let plugins: Vec<String> = action.plugins.iter().map(|plugin| code(plugin)).collect();
        let _ = writeln!(out, "  **Plugins ({}):** {}", plugins.len(), crate::domain::text::first_items(&plugins, 30));
    }
    let _ = writeln!(
        out,
        "  **Fix:** {} {}. {}",
        markdown_prose(&action.before),
        code(&action.command),
        markdown_prose(&action.then)
    );
    if !action.log.is_empty() {
        let longest = action.log.iter().map(|line| line.matches('`').count()).max().unwrap_or(0);
        let fence = "`".repeat(3.max(longest + 1));
        let _ = write!(out, "  <details><summary>Log (last {} lines)</summary>\n\n  {fence}text\n", action.log.len());
        for line in &action.log {
            let line: String =
                line.chars().map(|character| if character.is_control() { ' ' } else { character }).collect();
            let _ = writeln!(out, "  {line}");
        }
        let _ = write!(out, "  {fence}\n\n  </details>\n");
    }
    out
}

fn plugin_row(row: &Row) -> String {
    let mut name = cell_code(&row.name);
    if row.name != row.image {
        let _ = write!(name, "<br>{}", cell_code(&row.image));
    }
    if let Some(folder) = &row.folder {
        let _ = write!(name, "<br>{}", cell_code(folder));
    }
    let state = match &row.why {
        Some(why) => format!("{}<br>{}", state_word(row.state), markdown_text(why)),
        None => state_word(row.state),
    };
    let optional_code = |value: Option<&str>| value.map_or_else(|| "–".to_string(), cell_code);
    let built = match (&row.build_date, row.age()) {
        (Some(date), Some(age)) => format!("{} ({age})", date.get(..10).unwrap_or(date)),
        (Some(date), None) => date.get(..10).unwrap_or(date).to_string(),
        _ => "–".to_string(),
    };
    let mut cells = vec![
        name,
        state,
        markdown_text(&row.workspace),
        row.support.as_deref().map_or_else(|| "–".to_string(), markdown_text),
        optional_code(row.version.as_deref()),
        optional_code(row.requested_tag.as_deref()),
        optional_code(row.resolved_tag.as_deref()),
        optional_code(row.short_digest().as_deref()),
        table_cell(&built),
    ];
    cells.extend(row.stages.iter().map(|stage| stage_word(stage.outcome)));
    cells.push(row.enabled_word().to_string());
    format!("| {} |\n", cells.join(" | "))
}

/// ACTION REQUIRED of one catalog.
fn actions_section(page: &Page, heading: &str) -> Section {
    Section {
        head: format!("\n{heading} ({})\n\n", page.actions.len()),
        rows: page.actions.iter().map(action_item).collect(),
        empty: Some(
            if page.rows.is_empty() {
                "○ Unknown: no index, build or export report was read.\n"
            } else if matches!(page.index, IndexOutcome::Failed | IndexOutcome::NotRun) {
                "○ None found, but this run made no index: see what failed above.\n"
            } else if page.totals.unknown > 0 {
                "○ None found among the plugins whose state is known.\n"
            } else if page.catalog == CatalogKind::Community {
                "✓ Nothing: every plugin is pinned at its requested tag.\n"
            } else {
                "✓ Nothing: every plugin is pinned at its requested tag and every export succeeded.\n"
            }
            .to_string(),
        ),
    }
}

/// The change since the previous index of one catalog.
fn changes_section(page: &Page, heading: &str) -> Section {
    let mut changes = Section {
        head: format!("\n{heading}\n\n"),
        rows: Vec::new(),
        empty: Some("No changes: the index is the same as before.\n".to_string()),
    };
    match &page.diff {
        None => changes.empty = Some("○ Unknown: no index report was read.\n".to_string()),
        Some(groups) if !groups.is_empty() => {
            let counts: Vec<String> = groups
                .groups()
                .iter()
                .map(|(_, title, lines)| format!("{} {}", lines.len(), title.to_lowercase()))
                .collect();
            changes.head.push_str(&counts.join(" · "));
            changes.head.push_str("\n\n| change | plugin | detail |\n|---|---|---|\n");
            for (_, title, lines) in groups.groups() {
                let short = title.split(" (").next().unwrap_or(title);
                for line in lines {
                    let detail = if line.detail.is_empty() { String::new() } else { cell_code(&line.detail) };
                    let image =
                        line.image.as_deref().map(|image| format!(" ({})", cell_code(image))).unwrap_or_default();
                    changes.rows.push(format!("| {short} | {}{image} | {detail} |\n", cell_code(&line.plugin)));
                }
            }
        }
        Some(_) => {}
    }
    changes
}

/// The plugin table of one catalog.
fn plugins_section(page: &Page, heading: &str) -> Section {
    let mut head = format!(
        "\n{heading} ({})\n\n| plugin (npm name, image, folder) | state | workspace | support | version | requested tag | resolved tag | digest | built (age) |",
        page.rows.len()
    );
    for stage in STAGES {
        let _ = write!(head, " {stage} |");
    }
    head.push_str(" by default |\n|");
    head.push_str(&"---|".repeat(9 + STAGES.len() + 1));
    head.push('\n');
    if page.rows.is_empty() {
        head = format!("\n{heading} ({})\n\n", page.rows.len());
    }
    Section {
        head,
        rows: page.rows.iter().map(plugin_row).collect(),
        empty: Some("○ No plugin facts were given.\n".to_string()),
    }
}

/// The community catalog's header and its ACTION REQUIRED: what it is to RHDH, its facts,
/// counts and notes.
fn community_actions_section(community: &Page) -> Section {
    let mut head = "\n### Community catalog\n\nThe extra catalog index RHDH reads through `EXTRA_CATALOG_INDEX_IMAGES` (`name=image`): it carries no `dynamic-plugins.default.yaml`, so none of its plugins is enabled by default.\n\n".to_string();
    let facts = facts(community);
    if !facts.is_empty() {
        head.push_str(&facts.join(" · "));
        head.push_str("\n\n");
    }
    head.push_str(&totals_lines(community));
    for note in &community.notes {
        let _ = writeln!(head, "\n> ⚠️ {}", markdown_prose(note));
    }
    let mut section = actions_section(community, "#### ⚠️ ACTION REQUIRED in the community catalog");
    section.head = format!("{head}{}", section.head);
    section
}

/// One input warning as plain text. It quotes what a foreign file holds (a key may be any
/// string), so it is [`markdown_text`], not prose with code spans: a backtick of the file cannot
/// open or close a span. `<` and `>` become entities and the `(` after an escaped `]` is escaped
/// too, so neither a renderer nor a search of the text finds a tag or a link destination in it.
fn warning_text(warning: &str) -> String {
    markdown_text(warning).replace("\\<", "&lt;").replace("\\>", "&gt;").replace("\\](", "\\]\\(")
}

/// The input warnings of the index reports, as text.
fn input_warnings_section(page: &Page) -> Option<Section> {
    if page.input_warnings_total == 0 {
        return None;
    }
    let more = page.input_warnings_total - page.input_warnings.len();
    Some(Section {
        head: format!(
            "\n### Input warnings ({})\n\nKeys this version does not know, and booleans written as strings, in files the overlay owns: the index read past them and went on.{}\n\n",
            page.input_warnings_total,
            if more > 0 {
                format!(
                    " The first {} are shown; {more} more are in the index report (`input-warnings`).",
                    page.input_warnings.len()
                )
            } else {
                String::new()
            }
        ),
        rows: page.input_warnings.iter().map(|warning| format!("- {}\n", warning_text(warning))).collect(),
        empty: None,
    })
}

fn sections(page: &Page) -> Vec<Section> {
    let community = page.community.as_deref();
    let mut sections = vec![actions_section(page, "### ⚠️ ACTION REQUIRED")];
    sections.extend(community.map(community_actions_section));
    sections.push(changes_section(page, "### Changes since the previous index"));
    sections.extend(
        community.map(|community| changes_section(community, "### Changes since the previous community index")),
    );
    sections.extend(input_warnings_section(page));
    sections.push(Section {
        head: format!("\n### Pipeline tasks\n\n{TASK_TABLE_HEAD}"),
        rows: task_rows(&page.tasks),
        empty: None,
    });
    if page.tasks.is_empty() {
        let last = sections.len() - 1;
        sections[last].head = "\n### Pipeline tasks\n\n".to_string();
        sections[last].empty = Some("○ No task statuses were given.\n".to_string());
    }
    sections.push(plugins_section(page, "### Plugins"));
    sections.extend(community.map(|community| plugins_section(community, "### Community catalog plugins")));
    sections
}

fn pointer(page: &Page, max_bytes: usize, omitted: usize) -> String {
    let place = match &page.page_url {
        Some(url) => code(url),
        None => "`status.html` beside this report".to_string(),
    };
    format!("\n---\n✂️ Cut to fit {max_bytes} bytes: {omitted} more rows are on the full page, {place}.\n")
}

/// The whole markdown (`status.md`).
pub(crate) fn render(page: &Page) -> String {
    render_within(page, usize::MAX)
}

/// The markdown in at most `max_bytes` bytes: sections in order, whole rows only; when rows are
/// left out, a pointer to the full page ends the text.
pub(crate) fn render_within(page: &Page, max_bytes: usize) -> String {
    let mut out = header(page);
    let sections = sections(page);
    let total_rows: usize = sections.iter().map(|section| section.rows.len().max(1)).sum();
    // Room for the pointer with the largest count it could name.
    let reserve = pointer(page, max_bytes, total_rows).len();
    if max_bytes == usize::MAX {
        for section in &sections {
            out.push_str(&section.head);
            if section.rows.is_empty() {
                out.push_str(section.empty.as_deref().unwrap_or(""));
            }
            for row in &section.rows {
                out.push_str(row);
            }
        }
        if let Some(url) = &page.page_url {
            let _ = write!(out, "\n---\nThe full page: {}\n", code(url));
        }
        return out;
    }
    let budget = max_bytes.saturating_sub(reserve);
    if out.len() > budget {
        // Not even the header fits: as many whole lines of it as do, then the pointer.
        let mut kept = String::new();
        for line in out.split_inclusive('\n') {
            if kept.len() + line.len() > budget {
                break;
            }
            kept.push_str(line);
        }
        kept.push_str(&pointer(page, max_bytes, total_rows));
        return kept;
    }
    let mut omitted = 0;
    for section in &sections {
        if omitted > 0 {
            omitted += section.rows.len().max(1);
            continue;
        }
        let first =
            if section.rows.is_empty() { section.empty.as_deref().unwrap_or("") } else { section.rows[0].as_str() };
        if out.len() + section.head.len() + first.len() > budget {
            omitted += section.rows.len().max(1);
            continue;
        }
        out.push_str(&section.head);
        if section.rows.is_empty() {
            out.push_str(first);
        }
        for (index, row) in section.rows.iter().enumerate() {
            if out.len() + row.len() > budget {
                omitted += section.rows.len() - index;
                break;
            }
            out.push_str(row);
        }
    }
    if omitted > 0 {
        out.push_str(&pointer(page, max_bytes, omitted));
    } else if let Some(url) = &page.page_url {
        let line = format!("\n---\nThe full page: {}\n", code(url));
        if out.len() + line.len() <= max_bytes {
            out.push_str(&line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
