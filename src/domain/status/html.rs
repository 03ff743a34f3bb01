//! `status.html`: the page as one self-contained file. Inline CSS, no fonts, images or requests
//! of any kind (a Content-Security-Policy that allows only this file's own style and script, by
//! hash); the plugin table is plain HTML, and a small inline script adds sorting and filtering
//! where scripts run. Colour never carries meaning alone: every status has its mark and word.
//! Narrow screens (360 px) get one card per plugin. Pure and byte-stable.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::Digest as _;

use super::inputs::CatalogKind;
use super::page::{IndexOutcome, Outcome, Page, Row, STAGES, plural, states_present};
use crate::domain::run_report::TaskStatus;

const STYLE: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--bg:#fff;--line:#d1d9e0;--code:#f6f8fa;
--pass:#dafbe1;--pass-edge:#1a7f37;--warn:#fff8c5;--warn-edge:#9a6700;--fail:#ffebe9;--fail-edge:#cf222e;
--skip:#f6f8fa;--skip-edge:#818b98;--none:#fff;--none-edge:#afb8c1}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:var(--bg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans","Liberation Sans",sans-serif}
header,main,footer{max-width:1500px;margin:0 auto;padding:0 16px}
header{padding-top:12px;border-bottom:1px solid var(--line)}
h1{font-size:1.45rem;margin:4px 0 8px;line-height:1.25}
h2{font-size:1.2rem;margin:24px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:14px 0 6px}
.kicker{margin:0;color:var(--muted);font-size:.85rem;text-transform:uppercase;letter-spacing:.04em}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.82rem}
code{overflow-wrap:anywhere}
pre{margin:6px 0;padding:8px;background:var(--code);border:1px solid var(--line);border-radius:6px;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 14px;margin:8px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
ul.totals{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:12px 0}
ul.totals li{border:1px solid var(--line);border-radius:6px;padding:4px 10px;background:var(--bg)}
ul.totals b{font-size:1.15rem;margin-right:4px}
.badge{display:inline-block;border:1px solid;border-radius:6px;padding:0 6px;white-space:nowrap;font-weight:600}
.pass{background:var(--pass);border-color:var(--pass-edge)}
.warn{background:var(--warn);border-color:var(--warn-edge)}
.fail{background:var(--fail);border-color:var(--fail-edge)}
.skip{background:var(--skip);border-color:var(--skip-edge)}
.none{background:var(--none);border-color:var(--none-edge);color:var(--muted)}
.notes{border:1px solid var(--warn-edge);background:var(--warn);border-radius:6px;padding:6px 12px;margin:12px 0}
.notes ul{margin:4px 0;padding-left:20px}
.action{border:1px solid var(--fail-edge);border-left-width:6px;border-radius:6px;padding:6px 12px;margin:10px 0}
.action.warn-action{border-color:var(--warn-edge)}
.action h3{margin:4px 0}
.action p{margin:4px 0;overflow-wrap:anywhere}
.action h3,.notes li,.lede{overflow-wrap:anywhere}
.ok-box{border:1px solid var(--pass-edge);background:var(--pass);border-radius:6px;padding:6px 12px}
.muted{color:var(--muted)}
.diff-summary{margin:4px 0 8px}
.diff ul{margin:4px 0;padding-left:20px}
.diff li{overflow-wrap:anywhere}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:4px 6px;border-bottom:1px solid var(--line)}
thead th{position:sticky;top:0;background:var(--bg);border-bottom:2px solid var(--line);font-size:.8rem}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button::after{content:" ▲"}
th[aria-sort=descending] button::after{content:" ▼"}
.plugin-table td{font-size:.82rem}
.plugin-table th,.plugin-table td{padding:4px 4px}
.plugin-table .badge{font-size:.72rem;padding:0 3px;font-weight:600}
.plugin-table td.stage{text-align:center}
.plugin-table td.stage .badge{min-width:1.7em;text-align:center}
.plugin-table td.stage .word{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.plugin-table td.st{white-space:nowrap}
.plugin-table td.plugin{min-width:12em}
.plugin-table .resolved{color:var(--warn-edge);font-weight:600}
.plugin-table .name{font-weight:600}
.plugin-table .image{display:block;color:var(--muted);font-size:.75rem}
.plugin-table td.mono{white-space:nowrap}
.plugin-table td[data-label^="tag"]{white-space:normal;min-width:8em}
.plugin-table tr.row-export-failed,.plugin-table tr.row-missing{box-shadow:inset 4px 0 var(--fail-edge)}
.plugin-table tr.row-kept,.plugin-table tr.row-fallback{box-shadow:inset 4px 0 var(--warn-edge)}
.jump{margin:6px 0;font-size:.9rem}
.catalog{margin-top:32px;border-top:3px double var(--line)}
ul.warnings{padding-left:20px}
ul.warnings li{overflow-wrap:anywhere;font-size:.85rem}
.plugin-table .why{display:block;color:var(--muted);font-size:.72rem;white-space:normal;min-width:10em}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
.controls input,.controls select{font:inherit;padding:4px 6px;border:1px solid var(--line);border-radius:6px;max-width:100%}
footer{color:var(--muted);font-size:.82rem;padding-top:16px;padding-bottom:24px}
@media (max-width:760px){
body{font-size:14px}
header,main,footer{padding:0 10px}
dl.facts{grid-template-columns:7.5em minmax(0,1fr);gap:3px 8px;font-size:.9rem}
dl.facts dd code{font-size:.78rem}
.plugin-table,.plugin-table tbody,.plugin-table tr,.plugin-table td{display:block;width:100%}
.plugin-table thead{display:none}
.plugin-table tr{border:1px solid var(--line);border-radius:6px;margin:10px 0;padding:6px 8px 6px 12px}
.plugin-table td{border:0;padding:1px 0;display:grid;grid-template-columns:8.5em minmax(0,1fr);gap:6px;white-space:normal}
.plugin-table td.st,.plugin-table td.mono{white-space:normal}
.plugin-table td.stage{text-align:left}
.plugin-table td.stage .word{position:static;width:auto;height:auto;overflow:visible;clip:auto}
.plugin-table td.plugin{display:block;min-width:0;font-size:.95rem;padding-bottom:4px}
.plugin-table td.plugin::before{content:none}
.plugin-table td::before{content:attr(data-label);color:var(--muted)}
}
"#;

const SCRIPT: &str = r"
(function(){
var tables=Array.prototype.slice.call(document.querySelectorAll('table.plugin-table'));if(!tables.length)return;
var controls=document.getElementById('controls'),text=document.getElementById('filter-text'),
state=document.getElementById('filter-state'),count=document.getElementById('filter-count');
controls.hidden=false;
var sets=tables.map(function(t){return {table:t,body:t.tBodies[0],rows:Array.prototype.slice.call(t.tBodies[0].rows),
label:t.getAttribute('data-label')};});
function apply(){var q=text.value.toLowerCase(),s=state.value,parts=[];
sets.forEach(function(set){var shown=0;set.rows.forEach(function(r){
var ok=(!q||r.textContent.toLowerCase().indexOf(q)>=0)&&(!s||r.getAttribute('data-state')===s);
r.hidden=!ok;if(ok)shown++;});parts.push(shown+' of '+set.rows.length+' '+set.label+' shown');});
count.textContent=parts.join(' · ');}
text.addEventListener('input',apply);state.addEventListener('change',apply);
sets.forEach(function(set){var heads=set.table.tHead.rows[0].cells;
Array.prototype.forEach.call(heads,function(th,i){var b=document.createElement('button');b.type='button';
b.textContent=th.textContent;th.textContent='';th.appendChild(b);
b.addEventListener('click',function(){var up=th.getAttribute('aria-sort')!=='ascending';
Array.prototype.forEach.call(heads,function(o){o.removeAttribute('aria-sort');});
th.setAttribute('aria-sort',up?'ascending':'descending');
set.rows.sort(function(x,y){var a=x.cells[i].getAttribute('data-sort')||x.cells[i].textContent,
c=y.cells[i].getAttribute('data-sort')||y.cells[i].textContent;
return (up?1:-1)*a.localeCompare(c,undefined,{numeric:true});});
set.rows.forEach(function(r){set.body.appendChild(r);});});});});
apply();
})();
";

/// Text safe in HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The CSP source of an inline element: `'sha256-<base64>'` of its exact text.
fn csp_hash(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// Escaped text with `` `code` `` spans as `<code>` (causes and details quote commands that way).
fn prose(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| if index % 2 == 1 { format!("<code>{}</code>", escape(part)) } else { escape(part) })
        .collect()
}

/// An escaped tag or version that may wrap after `--` and `__`.
fn breakable(text: &str) -> String {
    escape(text).replace("--", "--<wbr>").replace("__", "__<wbr>")
}

fn badge(class: &str, mark: &str, word: &str) -> String {
    format!("<span class=\"badge {class}\">{mark} {}</span>", escape(word))
}

fn status_class(status: &TaskStatus) -> (&'static str, &'static str) {
    match status {
        TaskStatus::Succeeded | TaskStatus::Completed => ("pass", "✓"),
        TaskStatus::Failed => ("fail", "✗"),
        TaskStatus::None => ("none", "○"),
        TaskStatus::Other(_) => ("warn", "?"),
    }
}

/// How one catalog's sections are named: the supported catalog's plainly (`actions`, `changes`,
/// `plugins`), the community catalog's with `community-` in each id and its name in each heading.
struct Names {
    prefix: &'static str,
    /// Before each heading.
    title: &'static str,
    /// What the filter counts in the table (`plugins`, `community plugins`).
    label: &'static str,
}

const SUPPORTED: Names = Names { prefix: "", title: "", label: "plugins" };
const COMMUNITY: Names = Names { prefix: "community-", title: "Community catalog: ", label: "community plugins" };

/// The page as `status.html`.
pub(crate) fn render(page: &Page) -> String {
    let mut out = String::new();
    let (class, mark) = status_class(&page.header.status);
    let status = page.header.status.as_str();
    let all_actions = page.all_actions();
    let title = format!(
        "RHDH catalog: {status}{}",
        if all_actions > 0 { format!(", {all_actions} need action") } else { String::new() }
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; script-src {}; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        csp_hash(STYLE),
        csp_hash(SCRIPT),
        escape(&title)
    );
    header(&mut out, page, class, mark);
    out.push_str("<main>\n");
    failures(&mut out, page);
    if !page.notes.is_empty() {
        out.push_str("<div class=\"notes\" id=\"notes\"><strong>⚠ Note</strong><ul>\n");
        for note in &page.notes {
            let _ = writeln!(out, "<li>{}</li>", escape(note));
        }
        out.push_str("</ul></div>\n");
    }
    actions(&mut out, page, &SUPPORTED);
    diff(&mut out, page, &SUPPORTED);
    plugins(&mut out, page, &SUPPORTED);
    if let Some(community) = page.community.as_deref() {
        community_intro(&mut out, community);
        actions(&mut out, community, &COMMUNITY);
        diff(&mut out, community, &COMMUNITY);
        plugins(&mut out, community, &COMMUNITY);
    }
    input_warnings(&mut out, page);
    tasks(&mut out, page);
    out.push_str("</main>\n");
    let _ = writeln!(
        out,
        "<footer><p>Made by <code>rhdh-catalog report</code> {} from the run's reports; the same inputs give the same page. \
Times are those of the inputs{}, never the clock of the machine that made the page. \
This file loads nothing: no fonts, images or scripts from elsewhere.</p></footer>",
        escape(crate::TOOL_VERSION),
        page.header.inputs_time.as_ref().map(|time| format!(" ({})", escape(time))).unwrap_or_default()
    );
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn header(out: &mut String, page: &Page, class: &str, mark: &str) {
    let totals = &page.totals;
    let _ = write!(
        out,
        "<header>\n<p class=\"kicker\">RHDH dynamic-plugin catalog index</p>\n<h1>Catalog status {}</h1>\n",
        badge(class, mark, page.header.status.as_str())
    );
    let need = if totals.actions > 0 {
        format!(
            " {} {} a person: see <a href=\"#actions\">ACTION REQUIRED</a>.",
            totals.actions,
            if totals.actions == 1 { "thing needs" } else { "things need" }
        )
    } else {
        String::new()
    };
    let community = page.community.as_deref();
    let community_actions = community.map_or(0, |community| community.totals.actions);
    let need = if community_actions > 0 {
        format!(
            "{need} {community_actions} {} a person in the community catalog: see <a href=\"#community-actions\">its ACTION REQUIRED</a>.",
            if community_actions == 1 { "thing needs" } else { "things need" }
        )
    } else {
        need
    };
    let community_known =
        community.is_none_or(|community| community.index == IndexOutcome::Succeeded && community.totals.unknown == 0);
    let lede = if !page.failures.is_empty() {
        let tasks: Vec<String> =
            page.failures.iter().map(|failure| format!("<code>{}</code>", escape(&failure.task))).collect();
        format!("The run failed at {}: see <a href=\"#failures\">what failed</a>.{need}", tasks.join(", "))
    } else if matches!(page.index, IndexOutcome::Failed | IndexOutcome::NotRun) {
        format!("The index did not run in this run: no plugin below is in a catalog it made.{need}")
    } else if totals.actions > 0 || community_actions > 0 {
        need.trim_start().to_string()
    } else if totals.plugins > 0 && page.index == IndexOutcome::Succeeded && totals.unknown == 0 && community_known {
        if community.is_some() {
            "Every plugin in both catalogs is pinned at its requested tag; nothing needs a person.".to_string()
        } else {
            "Every plugin in the catalog is pinned at its requested tag; nothing needs a person.".to_string()
        }
    } else if totals.plugins > 0 {
        "Nothing needs a person among the plugins whose state is known.".to_string()
    } else {
        "No plugin facts were given to this report.".to_string()
    };
    let _ = writeln!(out, "<p class=\"lede\">{lede}</p>");
    facts(out, page);
    totals_list(out, page, "totals");
    let community_link = community.map_or_else(String::new, |community| {
        format!(" · <a href=\"#community\">Community catalog ({})</a>", community.rows.len())
    });
    let warnings_link = if page.input_warnings_total > 0 {
        format!(" · <a href=\"#input-warnings\">Input warnings ({})</a>", page.input_warnings_total)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "<nav class=\"jump\">{}<a href=\"#actions\">ACTION REQUIRED ({})</a> · <a href=\"#changes\">Changes</a> · <a href=\"#plugins\">Plugins ({})</a>{community_link}{warnings_link} · <a href=\"#tasks\">Tasks</a></nav>",
        if page.failures.is_empty() { String::new() } else { "<a href=\"#failures\">What failed</a> · ".to_string() },
        totals.actions,
        page.rows.len()
    );
    if !page.rows.is_empty() || community.is_some_and(|community| !community.rows.is_empty()) {
        filter_controls(out, page);
    }
    out.push_str("</header>\n");
}

/// The facts of a header: what was built, from what, when.
fn facts(out: &mut String, page: &Page) {
    out.push_str("<dl class=\"facts\">\n");
    for (label, value) in &page.header.facts {
        let value = if label.contains("commit") || label.contains("digest") || label.contains("image") {
            format!("<code>{}</code>", escape(value))
        } else {
            escape(value)
        };
        let _ = writeln!(out, "<dt>{}</dt><dd>{value}</dd>", escape(label));
    }
    let _ = writeln!(
        out,
        "<dt>inputs made</dt><dd>{}</dd>",
        page.header.inputs_time.as_ref().map_or_else(
            || "unknown (no SOURCE_DATE_EPOCH, commit time or build date given)".to_string(),
            |time| format!("<time>{}</time>", escape(time))
        )
    );
    out.push_str("</dl>\n");
}

/// The counts of one catalog's plugins by state.
fn totals_list(out: &mut String, page: &Page, id: &str) {
    let totals = &page.totals;
    let _ = writeln!(out, "<ul class=\"totals\" id=\"{id}\">");
    for (count, label, class) in [
        (totals.plugins, plural(totals.plugins, "plugin", "plugins"), ""),
        (totals.pinned, "pinned at the requested tag", "pass"),
        (totals.fallback, "fallback tag", "warn"),
        (totals.kept, "kept from the previous index", "warn"),
        (totals.missing, "missing", "fail"),
        (totals.failed_exports, plural(totals.failed_exports, "failed export", "failed exports"), "fail"),
        (totals.unknown, "unknown (no index of this run)", "none"),
        (totals.outside, "not in the catalog by the overlay's choice", "skip"),
    ] {
        if count == 0 && matches!(class, "none" | "skip") {
            continue;
        }
        let class = if count == 0 || class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
        let _ = writeln!(out, "<li{class}><b>{count}</b>{label}</li>");
    }
    out.push_str("</ul>\n");
}

/// The community catalog's own header: what it is to RHDH, its facts and counts, and what the
/// reader should know about it.
fn community_intro(out: &mut String, page: &Page) {
    let totals = &page.totals;
    out.push_str("<section id=\"community\" class=\"catalog\">\n<h2>Community catalog</h2>\n");
    out.push_str(
        "<p class=\"lede\">The extra catalog index RHDH reads through <code>EXTRA_CATALOG_INDEX_IMAGES</code> (<code>name=image</code>): \
it carries no <code>dynamic-plugins.default.yaml</code>, so none of its plugins is enabled by default; the installer extracts its catalog entities for the extensions catalog.</p>\n",
    );
    let state = if page.index == IndexOutcome::Failed {
        "The index task failed in this run: no plugin below is in a community catalog it made, and no earlier one is shown as this run's.".to_string()
    } else if page.index == IndexOutcome::NotRun {
        "The index task did not run in this run: no plugin below is in a community catalog it made, and no earlier one is shown as this run's.".to_string()
    } else if page.index == IndexOutcome::Unknown && !page.rows.is_empty() {
        "This run's index made no community catalog, or its report was not given to this report: no plugin below is in a community catalog of this run.".to_string()
    } else if totals.actions > 0 {
        format!(
            "{} {} a person: see <a href=\"#community-actions\">its ACTION REQUIRED</a>.",
            totals.actions,
            if totals.actions == 1 { "thing needs" } else { "things need" }
        )
    } else if totals.plugins > 0 && page.index == IndexOutcome::Succeeded && totals.unknown == 0 {
        "Every plugin in it is pinned at its requested tag; nothing needs a person.".to_string()
    } else if totals.plugins > 0 {
        "Nothing needs a person among its plugins whose state is known.".to_string()
    } else {
        "No community catalog facts were given to this report.".to_string()
    };
    let _ = writeln!(out, "<p>{state}</p>");
    facts(out, page);
    totals_list(out, page, "community-totals");
    if !page.notes.is_empty() {
        out.push_str("<div class=\"notes\" id=\"community-notes\"><strong>⚠ Note</strong><ul>\n");
        for note in &page.notes {
            let _ = writeln!(out, "<li>{}</li>", escape(note));
        }
        out.push_str("</ul></div>\n");
    }
    out.push_str("</section>\n");
}

/// What the index's reads of the overlay's files passed over: a short list, as text.
fn input_warnings(out: &mut String, page: &Page) {
    if page.input_warnings_total == 0 {
        return;
    }
    let _ = writeln!(out, "<section id=\"input-warnings\">\n<h2>Input warnings ({})</h2>", page.input_warnings_total);
    let more = page.input_warnings_total - page.input_warnings.len();
    let _ = writeln!(
        out,
        "<p class=\"muted\">Keys this version does not know, and booleans written as strings, in files the overlay owns: the index read past them and went on; the owners of those files may want to know.{}</p>\n<ul class=\"warnings\">",
        if more > 0 {
            format!(
                " The first {} are shown; {more} more are in the index report (<code>input-warnings</code>).",
                page.input_warnings.len()
            )
        } else {
            String::new()
        }
    );
    for warning in &page.input_warnings {
        let _ = writeln!(out, "<li>{}</li>", prose(warning));
    }
    out.push_str("</ul>\n</section>\n");
}

/// What failed in this run, first: each failed task, the lines of its log that say why, the log.
fn failures(out: &mut String, page: &Page) {
    if page.failures.is_empty() {
        return;
    }
    out.push_str("<section id=\"failures\" class=\"failures\">\n<h2>What failed</h2>\n");
    for failure in &page.failures {
        let _ = writeln!(
            out,
            "<article class=\"action\">\n<h3>{} <code>{}</code></h3>",
            badge("fail", "✗", "failed"),
            escape(&failure.task)
        );
        if failure.lines.is_empty() {
            out.push_str(
                "<p class=\"muted\">Its log was not given to this report; the task table has its status.</p>\n",
            );
        } else {
            let _ = writeln!(out, "<pre>{}</pre>", escape(&failure.lines.join("\n")));
        }
        if let Some(log) = &failure.log {
            let _ = writeln!(out, "<p class=\"muted\">Log: <code>{}</code></p>", escape(log));
        }
        if let Some(fix) = &failure.fix {
            let _ = writeln!(
                out,
                "<p><strong>Fix:</strong> when images the plan skipped are missing from the store (it changed, or lost them), export every workspace again: <code>{}</code></p>",
                escape(fix)
            );
        }
        out.push_str("</article>\n");
    }
    out.push_str("</section>\n");
}

fn actions(out: &mut String, page: &Page, names: &Names) {
    let actions = &page.actions;
    let _ = writeln!(
        out,
        "<section id=\"{}actions\">\n<h2>{}ACTION REQUIRED ({})</h2>",
        names.prefix,
        names.title,
        actions.len()
    );
    if actions.is_empty() && page.rows.is_empty() {
        out.push_str("<p class=\"muted\">○ Unknown: no index, build or export report was read.</p>\n");
    } else if actions.is_empty() && matches!(page.index, IndexOutcome::Failed | IndexOutcome::NotRun) {
        out.push_str("<p class=\"muted\">○ None found, but this run made no index: see what failed above.</p>\n");
    } else if actions.is_empty() && page.totals.unknown > 0 {
        out.push_str("<p class=\"muted\">○ None found among the plugins whose state is known.</p>\n");
    } else if actions.is_empty() && page.catalog == CatalogKind::Community {
        out.push_str("<p class=\"ok-box\">✓ Nothing: every plugin is pinned at its requested tag.</p>\n");
    } else if actions.is_empty() {
        out.push_str("<p class=\"ok-box\">✓ Nothing: every plugin is pinned at its requested tag and every export succeeded.</p>\n");
    }
    for action in actions {
        let warn = if action.state.outcome() == Outcome::Warn { " warn-action" } else { "" };
        let _ = write!(
            out,
            "<article class=\"action{warn}\" data-state=\"{}\">\n<h3>{} {}</h3>\n",
            action.state.key(),
            badge(action.state.outcome().class(), action.state.mark(), action.state.word()),
            escape(&action.name)
        );
        let label = if action.workspace.contains(", ") { "workspaces" } else { "workspace" };
        let mut facts = format!("{label} <code>{}</code>", escape(&action.workspace));
        if let Some(image) = &action.image {
            let _ = write!(facts, " · image <code>{}</code>", escape(image));
        }
        let _ =
            writeln!(out, "<p class=\"muted\">{facts}</p>\n<p><strong>Cause:</strong> {}</p>", prose(&action.cause));
        if !action.plugins.is_empty() {
            let plugins: Vec<String> =
                action.plugins.iter().map(|plugin| format!("<code>{}</code>", escape(plugin))).collect();
            let _ = writeln!(out, "<p><strong>Plugins ({}):</strong> {}</p>", plugins.len(), plugins.join(", "));
        }
        if !action.log.is_empty() {
            let _ = writeln!(
                out,
                "<p><strong>Log</strong> (last {} lines):</p>\n<pre>{}</pre>",
                action.log.len(),
                escape(&action.log.join("\n"))
            );
        }
        let _ = writeln!(
            out,
            "<p><strong>Fix:</strong> {} <code>{}</code></p>\n<p class=\"muted\">{}</p>\n</article>",
            escape(&action.before),
            escape(&action.command),
            prose(&action.then)
        );
    }
    out.push_str("</section>\n");
}

fn diff(out: &mut String, page: &Page, names: &Names) {
    let _ = writeln!(
        out,
        "<section id=\"{}changes\" class=\"diff\">\n<h2>{}Changes since the previous index</h2>",
        names.prefix, names.title
    );
    match &page.diff {
        None => out.push_str("<p class=\"muted\">○ Unknown: no index report was read.</p>\n"),
        Some(groups) if groups.is_empty() => out.push_str("<p>No changes: the index is the same as before.</p>\n"),
        Some(groups) => {
            let summary: Vec<String> = groups
                .groups()
                .iter()
                .map(|(_, title, lines)| format!("{} {}", lines.len(), title.to_lowercase()))
                .collect();
            let _ = writeln!(out, "<p class=\"diff-summary\">{}</p>", escape(&summary.join(" · ")));
            for (id, title, lines) in groups.groups() {
                if lines.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "<h3 id=\"{}diff-{id}\">{} ({})</h3>\n<ul>",
                    names.prefix,
                    escape(title),
                    lines.len()
                );
                for line in lines {
                    let detail = if line.detail.is_empty() {
                        String::new()
                    } else {
                        format!(": <code>{}</code>", escape(&line.detail))
                    };
                    let image = line
                        .image
                        .as_ref()
                        .map(|image| format!(" <span class=\"muted\">{}</span>", escape(image)))
                        .unwrap_or_default();
                    let _ = writeln!(out, "<li><strong>{}</strong>{image}{detail}</li>", escape(&line.plugin));
                }
                out.push_str("</ul>\n");
            }
        }
    }
    out.push_str("</section>\n");
}

fn cell(label: &str, class: &str, sort: Option<&str>, content: &str) -> String {
    let sort = sort.map(|key| format!(" data-sort=\"{}\"", escape(key))).unwrap_or_default();
    let class = if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
    format!("<td data-label=\"{}\"{class}{sort}><div>{content}</div></td>", escape(label))
}

fn optional(value: Option<&str>) -> String {
    value.map_or_else(|| "<span class=\"muted\">–</span>".to_string(), escape)
}

fn plugin_row(row: &Row, names: &Names) -> String {
    let mut out = format!(
        "<tr id=\"{}plugin-{}\" class=\"row-{}\" data-state=\"{}\">",
        names.prefix,
        escape(&row.image),
        row.state.key(),
        row.state.key()
    );
    let mut name = format!("<span class=\"name\">{}</span>", escape(&row.name));
    if row.name != row.image {
        let _ = write!(name, "<span class=\"image\">{}</span>", escape(&row.image));
    }
    if let Some(folder) = &row.folder {
        let _ = write!(name, "<span class=\"image\">{}</span>", escape(folder));
    }
    out.push_str(&cell("plugin", "plugin", Some(&row.name), &name));
    let mut state = badge(row.state.outcome().class(), row.state.mark(), row.state.short());
    if let Some(why) = &row.why {
        let _ = write!(state, "<span class=\"why\">{}</span>", escape(why));
    }
    out.push_str(&cell("state", "state", Some(&format!("{:02}", row.state as u8)), &state));
    out.push_str(&cell("workspace", "", None, &escape(&row.workspace)));
    out.push_str(&cell("support", "", None, &optional(row.support.as_deref())));
    out.push_str(&cell("version", "mono", None, &optional(row.version.as_deref())));
    let tag = match (&row.requested_tag, &row.resolved_tag) {
        (None, None) => optional(None),
        (Some(requested), Some(resolved)) if resolved == requested => breakable(requested),
        (requested, resolved) => format!(
            "{}<br><span class=\"resolved\">⚠ → {}</span>",
            requested.as_deref().map_or_else(|| optional(None), breakable),
            resolved.as_deref().map_or_else(|| "none".to_string(), breakable)
        ),
    };
    out.push_str(&cell("tag: requested → resolved", "mono", row.requested_tag.as_deref(), &tag));
    let digest = match (&row.digest, row.short_digest()) {
        (Some(full), Some(short)) => {
            let hex = short.split_once(':').map_or(short.as_str(), |(_, hex)| hex);
            format!("<span title=\"{}\">{}</span>", escape(full), escape(hex))
        }
        _ => optional(None),
    };
    out.push_str(&cell("digest (sha256)", "mono", None, &digest));
    let built = match (&row.build_date, row.age()) {
        (Some(date), Some(age)) => {
            format!("{}<br><span class=\"muted\">{}</span>", escape(date.get(..10).unwrap_or(date)), escape(&age))
        }
        (Some(date), None) => escape(date.get(..10).unwrap_or(date)),
        _ => optional(None),
    };
    let age_sort = row.age_days.map(|days| format!("{days:08}"));
    out.push_str(&cell("built (age)", "", row.build_date.as_deref().or(age_sort.as_deref()), &built));
    for (label, stage) in STAGES.iter().zip(&row.stages) {
        let title = match &stage.detail {
            Some(detail) => format!("{}: {detail}", stage.outcome.word()),
            None => stage.outcome.word().to_string(),
        };
        // The mark alone in the wide table (the legend says what it means), the word as well in
        // narrow cards and for screen readers.
        let content = format!(
            "<span class=\"badge {}\" title=\"{}\">{}<span class=\"word\"> {}</span></span>",
            stage.outcome.class(),
            escape(&title),
            stage.outcome.mark(),
            stage.outcome.word()
        );
        out.push_str(&cell(label, "st stage", Some(&format!("{}", stage.outcome as u8)), &content));
    }
    let default = match row.enabled {
        Some(true) => "✓ enabled".to_string(),
        Some(false) => "– disabled".to_string(),
        None => "<span class=\"muted\">not listed</span>".to_string(),
    };
    out.push_str(&cell("by default", "st", Some(row.enabled_word()), &default));
    out.push_str("</tr>\n");
    out
}

fn plugins(out: &mut String, page: &Page, names: &Names) {
    let _ = writeln!(
        out,
        "<section id=\"{}plugins\">\n<h2>{}Plugins ({})</h2>",
        names.prefix,
        names.title,
        page.rows.len()
    );
    if page.rows.is_empty() {
        out.push_str("<p class=\"muted\">○ No plugin facts were given.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\" id=\"{}legend\">Stages: <span class=\"badge pass\">✓</span> ok, <span class=\"badge warn\">⚠</span> warning, \
<span class=\"badge fail\">✗</span> failed, <span class=\"badge skip\">–</span> skipped, <span class=\"badge none\">○</span> not run \
(no input says it ran). Hover a stage for its detail. Ages count from the time the inputs were made.</p>",
        names.prefix
    );
    let _ = write!(
        out,
        "<div class=\"table-wrap\">\n<table id=\"{}plugin-table\" class=\"plugin-table\" data-label=\"{}\">\n<thead><tr>",
        names.prefix, names.label
    );
    for heading in [
        "plugin",
        "state",
        "workspace",
        "support",
        "version",
        "tag: requested → resolved",
        "digest (sha256)",
        "built (age)",
    ]
    .iter()
    .chain(STAGES.iter())
    .chain(["by default"].iter())
    {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(heading));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &page.rows {
        out.push_str(&plugin_row(row, names));
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// The filter of the plugin table, at the top of the page (shown where scripts run).
fn filter_controls(out: &mut String, page: &Page) {
    out.push_str(
        "<div class=\"controls\" id=\"controls\" hidden>\n<label>Find a plugin <input id=\"filter-text\" type=\"search\" placeholder=\"npm name, folder, workspace, tag…\"></label>\n\
<label>State <select id=\"filter-state\"><option value=\"\">all</option>",
    );
    let mut states = states_present(&page.rows);
    if let Some(community) = page.community.as_deref() {
        states.extend(states_present(&community.rows));
    }
    for state in states {
        let _ = write!(out, "<option value=\"{}\">{}</option>", state.key(), escape(state.word()));
    }
    out.push_str("</select></label>\n<a id=\"filter-count\" class=\"muted\" href=\"#plugins\"></a>\n</div>\n");
}

fn tasks(out: &mut String, page: &Page) {
    out.push_str("<section id=\"tasks\">\n<h2>Pipeline tasks</h2>\n");
    if page.tasks.is_empty() {
        out.push_str("<p class=\"muted\">○ No task statuses were given.</p>\n</section>\n");
        return;
    }
    out.push_str("<table id=\"task-table\">\n<thead><tr><th scope=\"col\">task</th><th scope=\"col\">status</th></tr></thead>\n<tbody>\n");
    for task in &page.tasks {
        let (class, mark) = status_class(&task.status);
        let word = if task.status == TaskStatus::None { "None (not run)" } else { task.status.as_str() };
        let _ = writeln!(out, "<tr><td>{}</td><td>{}</td></tr>", escape(&task.name), badge(class, mark, word));
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attributes() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn backticks_become_code_and_tags_may_wrap() {
        assert_eq!(prose("`yarn tsc` exited <2>"), "<code>yarn tsc</code> exited &lt;2&gt;");
        assert_eq!(prose("an odd ` stays"), "an odd ` stays");
        assert_eq!(breakable("bs_1.52.0__2.0.0"), "bs_1.52.0__<wbr>2.0.0");
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_style_and_script() {
        let html = render(&Page::default());
        let style_hash = csp_hash(STYLE);
        assert!(html.contains(&format!("style-src {style_hash}")), "{html}");
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(html.contains("default-src 'none'"));
    }
}
