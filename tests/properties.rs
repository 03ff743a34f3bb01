//! Property tests of the grammars we parse and the YAML we write: no input makes a parser panic,
//! every error names a line inside the input, and what we write reads back as what we meant.

use std::path::Path;

use proptest::prelude::*;
use rhdh_catalog::formats::dynamic_plugins::{DynamicPluginsFile, RenderedEntry, render};
use rhdh_catalog::formats::plugins_list::PluginsList;
use rhdh_catalog::io::registry::ImageReference;
use serde_json::Value;

fn segment() -> impl Strategy<Value = String> {
    // A path component of the distribution reference grammar: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    "[a-z0-9]{1,4}((\\.|_|__|-{1,2})[a-z0-9]{1,4}){0,3}"
}

/// Strings that stress YAML quoting: indicators, keywords, numbers, dates, newlines, unicode.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,20}",
        "[a-z]{1,8}: [a-z]{1,8}",
        "(yes|no|on|off|true|false|null|~|Y|N|NO|On)",
        "[0-9]{1,4}(\\.[0-9]{1,3})?",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        "[-?:,\\[\\]{}#&*!|>'\"%@`][ -~]{0,8}",
        "[a-z ]{1,10}\n[a-z ]{0,10}\n?",
        "\\PC{0,8}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|number| Value::from(i64::from(number))),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(tricky_string(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn plugins_list_never_panics_and_errors_point_inside(text in "\\PC{0,200}") {
        if let Err(error) = PluginsList::parse(Path::new("plugins-list.yaml"), &text) {
            let lines = text.lines().count().max(1) as u64;
            prop_assert!(error.line.is_none_or(|line| line >= 1 && line <= lines), "line {:?} of {lines}", error.line);
        }
    }

    #[test]
    fn plugins_list_round_trips(entries in prop::collection::vec((prop::collection::vec(segment(), 1..4), prop::collection::vec("--[a-z-]{2,12}", 0..3), any::<bool>()), 0..8)) {
        let mut text = String::new();
        let mut seen = std::collections::BTreeSet::new();
        for (segments, flags, comment) in &entries {
            let path = segments.join("/");
            if !seen.insert(path.clone()) {
                continue;
            }
            if *comment {
                text.push_str(&format!("#{path}: disabled\n"));
            }
            text.push_str(&format!("{path}:{}\n", flags.iter().map(|flag| format!(" {flag}")).collect::<String>()));
        }
        let parsed = PluginsList::parse(Path::new("plugins-list.yaml"), &text).unwrap();
        prop_assert_eq!(parsed.render(), text);
        prop_assert_eq!(parsed.entries().count(), seen.len());
    }

    #[test]
    fn image_references_round_trip(host in "[a-z]{1,8}\\.(io|com)", port in prop::option::of(1u16..65535), path in prop::collection::vec(segment(), 1..4), tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}") {
        let registry = match port { Some(port) => format!("{host}:{port}"), None => host };
        let text = format!("{registry}/{}:{tag}", path.join("/"));
        let reference = ImageReference::parse(&text).unwrap();
        prop_assert_eq!(reference.to_string(), text);
        prop_assert_eq!(reference.registry, registry);
    }

    #[test]
    fn reference_parsers_never_panic(text in "\\PC{0,80}") {
        let _ = ImageReference::parse(&text);
        let _ = rhdh_catalog::domain::validate::parse_oci(&text);
        let _ = rhdh_catalog::io::registry::RegistryPrefix::parse(&text);
    }

    /// A reference error shows the reference without a raw control or non-ASCII character.
    #[test]
    fn reference_errors_show_code_points_not_characters(text in "[a-z./:@]{0,10}[\\x00-\\x1f\u{430}\u{200b}\u{feff}][a-z0-9./:@-]{0,20}") {
        let problem = ImageReference::parse(&text).unwrap_err();
        prop_assert!(problem.contains("U+"), "{}", problem);
        prop_assert!(problem.chars().all(|character| character.is_ascii_graphic() || character == ' ' || character == '…'), "{:?}", problem);
    }

    /// Whatever `ImageReference::parse` accepts matches the distribution spec's `reference` grammar.
    #[test]
    fn accepted_references_match_the_distribution_grammar(text in "[a-z]{1,5}\\.io(:[0-9]{1,5})?/[a-z0-9._-]{1,12}(/[a-z0-9._-]{1,8})?(:[A-Za-z0-9_.-]{1,10})?") {
        static GRAMMAR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            let component = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*";
            regex::Regex::new(&format!(
                r"^[a-zA-Z0-9.-]+(?::[0-9]+)?/{component}(?:/{component})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?$"
            ))
            .unwrap()
        });
        if ImageReference::parse(&text).is_ok() {
            prop_assert!(GRAMMAR.is_match(&text), "{} was accepted", text);
        }
    }

    #[test]
    fn yaml_we_write_reads_back_equal(value in json_value()) {
        let text = rhdh_catalog::formats::yaml::to_string(&value);
        let back: Value = serde_saphyr::from_str(&text).map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
        prop_assert_eq!(back, value, "{}", text);
    }

    #[test]
    fn dynamic_plugins_we_write_read_back_equal(entries in prop::collection::vec((prop::collection::vec(segment(), 2..4), any::<bool>(), prop::option::of(json_value().prop_filter("an object", Value::is_object)), prop::collection::vec(tricky_string().prop_filter("one line", |text| !text.contains('\n')), 0..3)), 0..6)) {
        let rendered: Vec<RenderedEntry> = entries
            .iter()
            .map(|(segments, disabled, config, comments)| RenderedEntry {
                comments: comments.clone(),
                package: format!("oci://quay.io/{}@sha256:{}", segments.join("/"), "a".repeat(64)),
                disabled: *disabled,
                plugin_config: config.clone(),
            })
            .collect();
        let text = render(&["header"], &rendered);
        let parsed = DynamicPluginsFile::parse(Path::new("dynamic-plugins.default.yaml"), &text).map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
        prop_assert_eq!(parsed.plugins.len(), rendered.len());
        for (read, written) in parsed.plugins.iter().zip(&rendered) {
            prop_assert_eq!(&read.package, &written.package);
            prop_assert_eq!(read.is_disabled(), written.disabled);
            prop_assert_eq!(&read.plugin_config, &written.plugin_config);
        }
    }

    #[test]
    fn dynamic_plugins_reader_never_panics(text in "\\PC{0,300}") {
        let _ = DynamicPluginsFile::parse(Path::new("d.yaml"), &text);
    }
}
