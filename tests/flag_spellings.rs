//! What we ship spells every flag the way `--help` does: a renamed flag keeps its old spelling as a
//! hidden alias for one release (for scripts people wrote), but no Task, Pipeline, PipelineRun,
//! Pipelines-as-Code file, README, doc or script of this repository may use it. The aliases come
//! from the clap definitions themselves, per subcommand (`--output` is `index`'s own flag and
//! `report`'s old spelling of `--comment-file`), so a rename added later is checked too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use rhdh_catalog::cli::Cli;
use serde_json::Value;

/// Subcommand path (`["artifact", "use"]`) → its flags: every spelling → the current `--name`.
struct Flags {
    by_path: BTreeMap<Vec<String>, BTreeMap<String, String>>,
}

impl Flags {
    fn from_clap() -> Flags {
        let mut command = Cli::command();
        // Propagates global arguments (artifact's --artifact-store) to the subcommands.
        command.build();
        let mut by_path = BTreeMap::new();
        let mut pending: Vec<(Vec<String>, clap::Command)> =
            command.get_subcommands().map(|sub| (vec![sub.get_name().to_string()], sub.clone())).collect();
        while let Some((path, command)) = pending.pop() {
            let mut spellings = BTreeMap::new();
            for arg in command.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                spellings.insert(format!("--{long}"), format!("--{long}"));
                for alias in arg.get_all_aliases().unwrap_or_default() {
                    spellings.insert(format!("--{alias}"), format!("--{long}"));
                }
            }
            for sub in command.get_subcommands() {
                let mut sub_path = path.clone();
                sub_path.push(sub.get_name().to_string());
                pending.push((sub_path, sub.clone()));
            }
            by_path.insert(path, spellings);
        }
        Flags { by_path }
    }

    /// The longest subcommand path `words` starts with, and how many words it takes.
    fn subcommand(&self, words: &[String]) -> Option<(Vec<String>, usize)> {
        (1..=words.len().min(2)).rev().find_map(|count| {
            let path: Vec<String> = words[..count].iter().map(|word| unquote(word)).collect();
            self.by_path.contains_key(&path).then_some((path, count))
        })
    }

    /// Every hidden alias among `words` (a command line after the tool's name), as
    /// `<subcommand> --old (now --new)`.
    fn old_spellings(&self, words: &[String]) -> Vec<String> {
        let Some((path, used)) = self.subcommand(words) else { return Vec::new() };
        let spellings = &self.by_path[&path];
        words[used..]
            .iter()
            .map(|word| unquote(word))
            .filter(|word| word.starts_with("--") && word.len() > 2)
            .filter_map(|word| {
                let name = word.split('=').next().unwrap_or_default().trim_end_matches([',', '.', ':', ';']);
                let current = spellings.get(name)?;
                (current != name).then(|| format!("{} {name} (now {current})", path.join(" ")))
            })
            .collect()
    }
}

fn unquote(word: &str) -> String {
    word.trim_matches(|character| matches!(character, '"' | '\'' | '[' | ']' | '(' | ')')).to_string()
}

/// Command lines in `text` that run the tool: after `rhdh-catalog` (or a path ending in it, or a
/// script's `$tool`), up to the end of the shell command or of the inline code span. Lines ending
/// in `\` go on.
fn invocations(text: &str) -> Vec<Vec<String>> {
    let joined = text.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (start, word) in words.iter().enumerate() {
            let tool = word.trim_start_matches(['`', '(', '"', '\'', '$']).trim_end_matches(['"', '\'']);
            let is_tool = tool.rsplit('/').next() == Some("rhdh-catalog") || matches!(tool, "tool" | "{tool}");
            if !is_tool || word.ends_with('`') {
                continue;
            }
            let mut command = Vec::new();
            for next in &words[start + 1..] {
                if matches!(*next, "|" | "||" | "&&" | ";" | ")" | ">" | ">>" | "<" | "2>&1") || next.starts_with('#') {
                    break;
                }
                match next.find('`') {
                    Some(end) => {
                        command.push(next[..end].to_string());
                        break;
                    }
                    None => command.push((*next).to_string()),
                }
            }
            found.push(command);
        }
    }
    found
}

/// The `args` of every step (or any mapping) of a YAML document whose first words are a subcommand.
fn yaml_args(value: &Value, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(args)) = map.get("args") {
                out.push(args.iter().map(|arg| arg.as_str().map_or_else(|| arg.to_string(), str::to_string)).collect());
            }
            map.values().for_each(|value| yaml_args(value, out));
        }
        Value::Array(items) => items.iter().for_each(|item| yaml_args(item, out)),
        _ => {}
    }
}

/// Inline code spans of markdown text that start with a flag.
fn flag_spans(text: &str) -> Vec<Vec<String>> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with("--"))
        .map(|span| span.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's files that people and clusters read: YAML, docs and scripts.
fn shipped_files() -> Vec<String> {
    let output = std::process::Command::new("git").arg("-C").arg(repository()).arg("ls-files").output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|file| !file.starts_with("tests/") && !file.starts_with("src/"))
        .filter(|file| {
            [".yaml", ".yml", ".md", ".sh", ".py", ".adoc", ".txt"].iter().any(|extension| file.ends_with(extension))
        })
        .map(str::to_string)
        .collect()
}

/// Every hidden alias a shipped file uses: `file: subcommand --old (now --new)`.
fn old_spellings_in(flags: &Flags, file: &str, text: &str) -> Vec<String> {
    let mut commands = invocations(text);
    let extension = Path::new(file).extension().and_then(|extension| extension.to_str()).unwrap_or_default();
    if extension.eq_ignore_ascii_case("yaml") || extension.eq_ignore_ascii_case("yml") {
        for document in text.split("\n---\n") {
            if let Ok(value) = serde_saphyr::from_str::<Value>(document) {
                yaml_args(&value, &mut commands);
            }
        }
    }
    // A Task's README names its step's flags on their own: `--release-source konflux`.
    if let Some(task) = file.strip_prefix("tekton/task/rhdh-catalog-").and_then(|rest| rest.split('/').next())
        && file.ends_with("README.md")
    {
        for span in flag_spans(text) {
            commands.push(std::iter::once(task.to_string()).chain(span).collect());
        }
    }
    let mut found: Vec<String> =
        commands.iter().flat_map(|words| flags.old_spellings(words)).map(|old| format!("{file}: {old}")).collect();
    found.dedup();
    found
}

#[test]
fn the_scanner_finds_old_spellings_wherever_they_are_written() {
    let flags = Flags::from_clap();
    let planted = [
        ("hack/x.sh", "\"$tool\" artifact use --to out \\\n  oci:a@sha256:0\n", "artifact use --to (now --into)"),
        ("README.md", "Run `rhdh-catalog report --output comment.md` after.", "report --output (now --comment-file)"),
        (
            "tekton/task/rhdh-catalog-x/0.1/x.yaml",
            "spec:\n  steps:\n    - args: [release-number, --tree, ., --version, 1.10.0]\n",
            "release-number --version (now --rhdh-version)",
        ),
        (
            "tekton/task/rhdh-catalog-release-number/0.1/README.md",
            "run the step with `--source konflux --namespace t`",
            "release-number --source (now --release-source)",
        ),
        ("docs/a.md", "target/debug/rhdh-catalog fetch --packages l.txt --overlay=o", "fetch --packages (now"),
    ];
    for (file, text, expected) in planted {
        let found = old_spellings_in(&flags, file, text);
        assert!(found.iter().any(|line| line.contains(expected)), "{file}: {expected} not found in {found:?}");
    }
    // The current names, and flags another subcommand owns under that name, are not old spellings.
    for text in [
        "rhdh-catalog index --overlay o --output catalog-index --packages p.txt",
        "rhdh-catalog promote img --to 1.10 && rhdh-catalog validate --image x",
        "rhdh-catalog artifact create --oci-storage r --artifact-store oci-layout:s dir",
        "`rhdh-catalog report` then `--output` of something else",
    ] {
        assert_eq!(old_spellings_in(&flags, "README.md", text), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn shipped_yaml_docs_and_scripts_use_no_old_flag_spelling() {
    let flags = Flags::from_clap();
    assert!(flags.by_path[&vec!["artifact".to_string(), "use".to_string()]].contains_key("--to"), "aliases are read");
    let mut found = Vec::new();
    let files = shipped_files();
    assert!(files.iter().any(|file| file == "tekton/task/rhdh-catalog-report/0.1/rhdh-catalog-report.yaml"));
    for file in &files {
        let Ok(text) = std::fs::read_to_string(repository().join(file)) else { continue };
        found.extend(old_spellings_in(&flags, file, &text));
    }
    assert!(found.is_empty(), "old flag spellings (hidden aliases) in shipped files:\n{}", found.join("\n"));
}
