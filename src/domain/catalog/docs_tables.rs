//! The dynamic-plugin reference tables of the RHDH documentation, written into the supported
//! catalog (`extend_dynamic-plugins-reference/`): since RHDH 1.10 the documentation team copies
//! them out of the catalog index image (`plugin-catalog-index:<x.y>`) instead of generating them
//! from repositories. The file names, the CSV header and the `AsciiDoc` section ids are the interface
//! their build reads; the rows come from the same facts as `index.json` (support level, lifecycle,
//! role, version, the entry of `dynamic-plugins.default.yaml`, the `${VARIABLES}` of the first
//! `appConfigExamples` entry, enabled by default). Pure and byte-stable: rows sorted, no time.
//!
//! - `rhdh-supported-plugins.csv`: every entry of `dynamic-plugins.default.yaml`, grouped
//!   generally available, technology preview, other, deprecated; `TechDocs` rows left out (the
//!   docs document `TechDocs` on a page of its own, RHIDP-4196).
//! - `ref-ga-plugins.adoc`, `ref-technology-preview-plugins.adoc`, `ref-deprecated-plugins.adoc`:
//!   the tables of each group (a group with no plugin is the content-type line only, which the docs
//!   build drops).
//! - `con-preinstalled-dynamic-plugins.adoc`: the generally available and technology preview
//!   plugins enabled by default.
//! - `ref-community-supported-plugins.adoc`: the plugins of the community catalog.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::formats::package::{PluginRole, SupportLevel};

/// The folder the documentation build copies out of the image.
pub(crate) const DOCS_DIR: &str = "extend_dynamic-plugins-reference";

/// The CSV header the documentation reads.
pub(crate) const CSV_HEADER: &str = "\"Name\",\"Plugin\",\"Role\",\"Version\",\"Support Level\",\"Lifecycle\",\"Path\",\"Required Variables\",\"Default\"";

/// One plugin as the tables show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DocsRow {
    /// The display name: the metadata's `title`, else one made from the package name.
    pub(crate) name: String,
    /// The npm package name.
    pub(crate) package: String,
    pub(crate) role: Option<PluginRole>,
    /// The plugin version installed (the version of the pinned tag).
    pub(crate) version: String,
    pub(crate) support: Option<SupportLevel>,
    pub(crate) lifecycle: Option<String>,
    /// What a `dynamic-plugins.yaml` names: the `./dynamic-plugins/dist/` wrapper or the pinned
    /// `oci://` reference.
    pub(crate) path: String,
    /// The `${VARIABLE}`s of the default configuration, sorted.
    pub(crate) variables: Vec<String>,
    /// Enabled by default in `dynamic-plugins.default.yaml`.
    pub(crate) enabled: bool,
}

/// The group a plugin is documented in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    GenerallyAvailable,
    TechnologyPreview,
    Other,
    Deprecated,
}

impl DocsRow {
    fn group(&self) -> Group {
        if self.lifecycle.as_deref() == Some("deprecated") {
            return Group::Deprecated;
        }
        match self.support {
            Some(SupportLevel::GenerallyAvailable) => Group::GenerallyAvailable,
            Some(SupportLevel::TechPreview) => Group::TechnologyPreview,
            _ => Group::Other,
        }
    }

    /// The support level in the documentation's words.
    fn support_level(&self) -> String {
        match &self.support {
            Some(SupportLevel::GenerallyAvailable) => "Production".to_string(),
            Some(SupportLevel::TechPreview) => "Red Hat Tech Preview".to_string(),
            Some(SupportLevel::Community | SupportLevel::DevPreview) | None => "Community Support".to_string(),
            Some(SupportLevel::Other(other)) => other.clone(),
        }
    }

    fn role_word(&self) -> &'static str {
        match &self.role {
            Some(role) if role.is_frontend() => "Frontend",
            Some(_) => "Backend",
            None => "",
        }
    }

    /// Frontend before backend before scaffolder modules, as the tables have always listed a
    /// plugin's packages.
    fn role_order(&self) -> u8 {
        if self.package.contains("scaffolder") {
            3
        } else if self.role.as_ref().is_some_and(PluginRole::is_frontend) {
            1
        } else {
            2
        }
    }

    fn sort_key(&self) -> (String, u8, String) {
        (self.name.clone(), self.role_order(), self.package.clone())
    }
}

/// Every file of [`DOCS_DIR`], by path relative to the catalog folder. `supported` are the rows of
/// the supported catalog's `dynamic-plugins.default.yaml`, `community` those of the community
/// catalog (empty without one).
pub(crate) fn render(supported: &[DocsRow], community: &[DocsRow]) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut rows: Vec<&DocsRow> = supported.iter().collect();
    rows.sort_by_key(|row| (row.group(), row.sort_key()));
    let mut files = BTreeMap::new();
    let mut add = |name: &str, text: String| {
        files.insert(PathBuf::from(DOCS_DIR).join(name), text.into_bytes());
    };
    add("rhdh-supported-plugins.csv", csv(&rows));
    let of = |group: Group| -> Vec<&DocsRow> { rows.iter().copied().filter(|row| row.group() == group).collect() };
    add(
        "ref-ga-plugins.adoc",
        group_table(
            "ga-plugins_{context}",
            "{company-name} {generally-available} (GA) plugins",
            "{company-name} provides full support for the following",
            None,
            &of(Group::GenerallyAvailable),
        ),
    );
    add(
        "ref-technology-preview-plugins.adoc",
        group_table(
            "technology-preview-plugins_{context}",
            "{company-name} {technology-preview} plugins",
            "{company-name} provides {technology-preview} support for the following",
            Some("include::{docdir}/artifacts/snip-technology-preview.adoc[]"),
            &of(Group::TechnologyPreview),
        ),
    );
    let deprecated = of(Group::Deprecated);
    add(
        "ref-deprecated-plugins.adoc",
        if deprecated.is_empty() {
            // The content-type line alone: the documentation build drops the page.
            format!("{REFERENCE}\n")
        } else {
            group_table("deprecated-plugins_{context}", "Deprecated plugins", "The following", None, &deprecated)
        },
    );
    add("con-preinstalled-dynamic-plugins.adoc", preinstalled(&rows));
    let mut community: Vec<&DocsRow> = community.iter().collect();
    community.sort_by_key(|row| row.sort_key());
    add("ref-community-supported-plugins.adoc", community_table(&community));
    files
}

const REFERENCE: &str = ":_mod-docs-content-type: REFERENCE";
const GENERATED: &str =
    "// Generated by `rhdh-catalog index` from the catalog's plugin metadata; change the metadata, not this file.";

fn csv(rows: &[&DocsRow]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for row in rows.iter().filter(|row| !is_techdocs(row)) {
        let variables: String = if row.variables.is_empty() {
            ";".to_string()
        } else {
            row.variables.iter().fold(String::new(), |mut out, variable| {
                let _ = write!(out, "`{variable}`;");
                out
            })
        };
        let fields = [
            row.name.as_str(),
            row.package.as_str(),
            row.role_word(),
            row.version.as_str(),
            &row.support_level(),
            row.lifecycle.as_deref().unwrap_or_default(),
            row.path.as_str(),
            &variables,
            if row.enabled { "Enabled" } else { "Disabled" },
        ];
        let quoted: Vec<String> = fields.iter().map(|field| format!("\"{}\"", field.replace('"', "\"\""))).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

fn is_techdocs(row: &DocsRow) -> bool {
    row.package.to_ascii_lowercase().contains("techdocs")
}

/// A table cell's text: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `count plugin(s)` as a sentence part.
fn plugins(count: usize) -> String {
    if count == 1 { "1 dynamic plugin".to_string() } else { format!("{count} dynamic plugins") }
}

fn group_table(id: &str, title: &str, lead: &str, note: Option<&str>, rows: &[&DocsRow]) -> String {
    let mut out = format!("{REFERENCE}\n\n{GENERATED}\n\n[id=\"{id}\"]\n= {title}\n\n[role=\"_abstract\"]\n");
    let _ = writeln!(out, "{lead} {}.", plugins(rows.len()));
    if let Some(note) = note {
        let _ = writeln!(out, "\n{note}");
    }
    if rows.is_empty() {
        return out;
    }
    out.push_str("\n[%header,cols=4*]\n|===\n|*Name* |*Plugin* |*Version* |*Path and required variables*\n");
    for row in rows {
        let _ = writeln!(
            out,
            "|{} |`https://npmjs.com/package/{}/v/{}[{}]` |{}\n|`{}`\n",
            cell(&row.name),
            row.package,
            row.version,
            row.package,
            cell(&row.version),
            cell(&row.path)
        );
        for variable in &row.variables {
            let _ = writeln!(out, "`{variable}`\n");
        }
    }
    out.push_str("|===\n");
    out
}

fn preinstalled(rows: &[&DocsRow]) -> String {
    let enabled: Vec<&&DocsRow> = rows
        .iter()
        .filter(|row| row.enabled && matches!(row.group(), Group::GenerallyAvailable | Group::TechnologyPreview))
        .collect();
    let mut out = format!(
        ":_mod-docs-content-type: CONCEPT\n\n{GENERATED}\n\n[id=\"preinstalled-dynamic-plugins_{{context}}\"]\n= Preinstalled dynamic plugins\n\n[role=\"_abstract\"]\n{{product}} is preinstalled with a selection of dynamic plugins.\n\n"
    );
    let _ = writeln!(
        out,
        "The following {} are enabled by default:\n",
        plugins(enabled.len()).replace("dynamic", "preinstalled dynamic")
    );
    for row in &enabled {
        let _ = writeln!(out, "* `{}`", row.package);
    }
    out.push_str(
        "\nThe other preinstalled dynamic plugins need configuration of their own and are disabled by default.\n\n\
         To enable one, list its package in your dynamic plugins configuration with `disabled: false`; the \
         default `pluginConfig` comes from the `dynamic-plugins.default.yaml` of the catalog index, and a \
         `pluginConfig` of your own overrides it. For example:\n\n\
         [source,yaml]\n----\nglobal:\n  dynamic:\n    includes:\n      - dynamic-plugins.default.yaml\n    plugins:\n      - package: <package>\n        disabled: false\n----\n",
    );
    out
}

fn community_table(rows: &[&DocsRow]) -> String {
    let mut out = format!(
        "{REFERENCE}\n\n{GENERATED}\n\n[id=\"community-supported-plugins_{{context}}\"]\n= {{company-name}} community supported plugins\n\n[role=\"_abstract\"]\n"
    );
    let _ = writeln!(
        out,
        "{{company-name}} provides community support for the following {}, from the community catalog index \
         image that {{product-short}} reads through `EXTRA_CATALOG_INDEX_IMAGES`. Each path is pinned by digest.",
        plugins(rows.len())
    );
    if rows.is_empty() {
        return out;
    }
    out.push_str(
        "\n[cols=\"1,2,3\", options=\"header\"]\n|===\n|*Name*\n|*Version*\n|*Path and required variables*\n\n",
    );
    for row in rows {
        let _ = writeln!(out, "|*{}*\n|{}|`{}`\n", cell(&row.name), cell(&row.version), cell(&row.path));
        for variable in &row.variables {
            let _ = writeln!(out, "`{variable}`\n");
        }
    }
    out.push_str("|===\n");
    out
}

/// The `${NAME}`s in the strings of a default configuration (keys included), sorted, once each.
pub(crate) fn required_variables(config: Option<&Value>) -> Vec<String> {
    fn visit(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::String(text) => scan(text, found),
            Value::Array(items) => items.iter().for_each(|item| visit(item, found)),
            Value::Object(map) => {
                for (key, item) in map {
                    scan(key, found);
                    visit(item, found);
                }
            }
            _ => {}
        }
    }
    fn scan(text: &str, found: &mut Vec<String>) {
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let name = &after[..end];
            if !name.is_empty() && name.chars().all(|character| character.is_ascii_alphanumeric() || character == '_') {
                found.push(name.to_string());
            }
            rest = &after[end + 1..];
        }
    }
    let mut found = Vec::new();
    if let Some(config) = config {
        visit(config, &mut found);
    }
    found.sort();
    found.dedup();
    found
}

/// A plugin's display name: the metadata's `title`, unless it is only the package name again (as
/// in older metadata), else words made from the package name (`@backstage-community/plugin-tech-radar`
/// → `Tech Radar`).
pub(crate) fn display_name(title: Option<&str>, package: &str) -> String {
    if let Some(title) = title.map(str::trim).filter(|title| !title.is_empty() && *title != package) {
        return title.to_string();
    }
    let bare = package.rsplit('/').next().unwrap_or(package);
    let mut name = bare;
    for prefix in ["backstage-community-", "red-hat-developer-hub-", "backstage-plugin-", "plugin-"] {
        name = name.strip_prefix(prefix).unwrap_or(name);
    }
    let words: Vec<String> = name
        .split('-')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut characters = word.chars();
            characters
                .next()
                .map_or_else(String::new, |first| first.to_uppercase().collect::<String>() + characters.as_str())
        })
        .collect();
    if words.is_empty() { package.to_string() } else { words.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, package: &str, support: SupportLevel, enabled: bool) -> DocsRow {
        DocsRow {
            name: name.into(),
            package: package.into(),
            role: Some(if package.ends_with("-backend") {
                PluginRole::BackendPlugin
            } else {
                PluginRole::FrontendPlugin
            }),
            version: "1.2.3".into(),
            support: Some(support),
            lifecycle: Some("active".into()),
            path: format!("./dynamic-plugins/dist/{}", package.trim_start_matches('@').replace('/', "-")),
            variables: Vec::new(),
            enabled,
        }
    }

    #[test]
    fn the_csv_has_the_docs_header_groups_and_quotes() {
        let mut techdocs = row("TechDocs", "@backstage/plugin-techdocs", SupportLevel::GenerallyAvailable, true);
        techdocs.variables = vec!["X".into()];
        let mut tech_preview = row("Bulk \"Import\"", "@rhdh/bulk-import", SupportLevel::TechPreview, false);
        tech_preview.variables = vec!["A".into(), "B".into()];
        let mut deprecated = row("Old", "@x/old", SupportLevel::GenerallyAvailable, false);
        deprecated.lifecycle = Some("deprecated".into());
        let rows = vec![
            deprecated,
            tech_preview,
            row("Tech Radar", "@b/plugin-tech-radar-backend", SupportLevel::GenerallyAvailable, false),
            row("Tech Radar", "@b/plugin-tech-radar", SupportLevel::GenerallyAvailable, true),
            techdocs,
            row("Community One", "@c/one", SupportLevel::Community, false),
        ];
        let files = render(&rows, &[]);
        let csv =
            String::from_utf8(files[&PathBuf::from(DOCS_DIR).join("rhdh-supported-plugins.csv")].clone()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[1],
            "\"Tech Radar\",\"@b/plugin-tech-radar\",\"Frontend\",\"1.2.3\",\"Production\",\"active\",\"./dynamic-plugins/dist/b-plugin-tech-radar\",\";\",\"Enabled\""
        );
        assert!(lines[2].starts_with("\"Tech Radar\",\"@b/plugin-tech-radar-backend\",\"Backend\""), "{csv}");
        assert_eq!(
            lines[3],
            "\"Bulk \"\"Import\"\"\",\"@rhdh/bulk-import\",\"Frontend\",\"1.2.3\",\"Red Hat Tech Preview\",\"active\",\"./dynamic-plugins/dist/rhdh-bulk-import\",\"`A`;`B`;\",\"Disabled\""
        );
        assert!(lines[4].contains("\"Community Support\""), "{csv}");
        assert!(lines[5].starts_with("\"Old\""), "deprecated last: {csv}");
        assert_eq!(lines.len(), 6, "TechDocs is left out: {csv}");
        assert_eq!(render(&rows, &[]), files, "byte-stable");
    }

    #[test]
    fn adoc_tables_name_each_group_and_the_preinstalled_list() {
        let mut with_variables = row("Keycloak", "@b/keycloak-backend", SupportLevel::GenerallyAvailable, false);
        with_variables.variables = vec!["KEYCLOAK_BASE_URL".into(), "KEYCLOAK_REALM".into()];
        let rows = vec![
            with_variables,
            row("Global Header", "@r/global-header", SupportLevel::GenerallyAvailable, true),
            row("Extensions", "@r/extensions", SupportLevel::TechPreview, true),
            row("Community", "@c/thing", SupportLevel::Community, true),
        ];
        let mut community = row("Jenkins", "@b/jenkins", SupportLevel::Community, false);
        community.path = "oci://ghcr.io/o/b-jenkins@sha256:ab".into();
        community.variables = vec!["JENKINS_URL".into()];
        let files = render(&rows, &[community]);
        let text = |name: &str| String::from_utf8(files[&PathBuf::from(DOCS_DIR).join(name)].clone()).unwrap();
        let ga = text("ref-ga-plugins.adoc");
        assert!(ga.starts_with(":_mod-docs-content-type: REFERENCE\n"), "{ga}");
        assert!(ga.contains("[id=\"ga-plugins_{context}\"]"), "{ga}");
        assert!(ga.contains("the following 2 dynamic plugins."), "{ga}");
        assert!(ga.contains("|Global Header |`https://npmjs.com/package/@r/global-header/v/1.2.3[@r/global-header]` |1.2.3\n|`./dynamic-plugins/dist/r-global-header`\n"), "{ga}");
        assert!(
            ga.contains("|`./dynamic-plugins/dist/b-keycloak-backend`\n\n`KEYCLOAK_BASE_URL`\n\n`KEYCLOAK_REALM`\n"),
            "{ga}"
        );
        assert!(ga.find("Global Header") < ga.find("Keycloak"), "sorted by name: {ga}");
        let tech_preview = text("ref-technology-preview-plugins.adoc");
        assert!(
            tech_preview.contains("[id=\"technology-preview-plugins_{context}\"]")
                && tech_preview.contains("1 dynamic plugin.")
        );
        assert_eq!(text("ref-deprecated-plugins.adoc"), ":_mod-docs-content-type: REFERENCE\n", "no deprecated plugin");
        let preinstalled = text("con-preinstalled-dynamic-plugins.adoc");
        assert!(
            preinstalled.contains("The following 2 preinstalled dynamic plugins are enabled by default:"),
            "{preinstalled}"
        );
        assert!(
            preinstalled.contains("* `@r/global-header`\n* `@r/extensions`\n"),
            "GA first, then by name: {preinstalled}"
        );
        assert!(!preinstalled.contains("@c/thing"), "only supported plugins are preinstalled: {preinstalled}");
        let community = text("ref-community-supported-plugins.adoc");
        assert!(community.contains("[id=\"community-supported-plugins_{context}\"]"), "{community}");
        assert!(
            community.contains("|*Jenkins*\n|1.2.3|`oci://ghcr.io/o/b-jenkins@sha256:ab`\n\n`JENKINS_URL`\n"),
            "{community}"
        );
    }

    #[test]
    fn variables_and_names_come_from_the_metadata() {
        let config = serde_json::json!({"a": {"url": "${A_URL}/x/${B}", "${KEY_VAR}": [{"t": "${A_URL}"}], "n": 1, "bad": "${not a var}"}});
        assert_eq!(required_variables(Some(&config)), ["A_URL", "B", "KEY_VAR"]);
        assert!(required_variables(None).is_empty());
        assert_eq!(display_name(Some("ArgoCD Backend"), "@b/plugin-argocd-backend"), "ArgoCD Backend");
        assert_eq!(display_name(Some("@roadiehq/x"), "@roadiehq/x"), "X");
        assert_eq!(display_name(None, "@backstage-community/plugin-tech-radar"), "Tech Radar");
        assert_eq!(display_name(None, "@red-hat-developer-hub/backstage-plugin-global-header"), "Global Header");
    }
}
