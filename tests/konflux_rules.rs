//! What Konflux, Pipelines-as-Code and `tkn` do with our files, checked the way they read them:
//! PaC's annotation grammar (its regex, with Go's semantics) and trigger rules, the CEL that decides
//! which push or comment starts a run (evaluated on made-up events), the `/sync` run's clone and
//! push targets, `tkn pipeline start` flags against tkn's documented flag list, timeouts against
//! the Pipelines' longest paths, generated READMEs, image references (no placeholder digest where a
//! user copies from, Tasks running what `.tekton/` builds), and hermetic, prefetched image builds.

// PaC, CEL, Go and file names such as keys.go read as words in these docs.
#![allow(clippy::doc_markdown)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;

use crate::support::files_under;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repository().join(relative)).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

/// Whether `file` ends in one of `extensions` (compared without case).
fn has_extension(file: &str, extensions: &[&str]) -> bool {
    std::path::Path::new(file)
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| extensions.iter().any(|wanted| extension.eq_ignore_ascii_case(wanted)))
}

fn yaml_text(file: &str, text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|error| panic!("{file}: {error}"))
}

/// Every `.yaml` file under the given folders, relative to the repository, sorted.
fn yaml_files(folders: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for folder in folders {
        let root = repository().join(folder);
        if root.is_dir() {
            found.extend(
                files_under(&root)
                    .into_iter()
                    .filter(|file| has_extension(file, &["yaml", "yml"]))
                    .map(|file| format!("{folder}/{file}")),
            );
        }
    }
    found.sort();
    found
}

/// The repository's own files, relative and sorted: not build output, git's data, scratch
/// folders or the vendored third-party reference data.
fn repository_files() -> Vec<String> {
    let skip = ["target", ".git", "out", "node_modules", "tests/data/reference-data"];
    let mut found = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(repository().join(&folder)).unwrap() {
            let entry = entry.unwrap();
            let relative = if folder.is_empty() {
                entry.file_name().to_string_lossy().to_string()
            } else {
                format!("{folder}/{}", entry.file_name().to_string_lossy())
            };
            if skip.contains(&relative.as_str()) {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                pending.push(relative);
            } else {
                found.push(relative);
            }
        }
    }
    found.sort();
    found
}

/// `(file, document)` of every PipelineRun under `tekton/` and `.tekton/`.
fn pipeline_runs() -> Vec<(String, Value)> {
    let runs: Vec<(String, Value)> = yaml_files(&["tekton", ".tekton"])
        .into_iter()
        .map(|file| {
            let document = yaml_text(&file, &read(&file));
            (file, document)
        })
        .filter(|(_, document)| document["kind"] == "PipelineRun")
        .collect();
    assert!(runs.len() >= 5, "expected the PaC, .tekton and sample PipelineRuns, found {runs:?}");
    runs
}

fn param<'a>(run: &'a Value, name: &str) -> Option<&'a str> {
    run["spec"]["params"].as_array()?.iter().find(|param| param["name"] == name)?["value"].as_str()
}

fn annotation<'a>(document: &'a Value, key: &str) -> Option<&'a str> {
    document["metadata"]["annotations"][key].as_str()
}

/// Files a midstream copies into its `.tekton/` or that PaC reads in ours.
fn is_pac_file(file: &str) -> bool {
    file.starts_with(".tekton/") || file.starts_with("tekton/pac/")
}

// ------------------------------------------------------------------------------------------------
// 1. Annotations the way Pipelines-as-Code parses them (pkg/matcher/annotation_matcher.go,
//    `getAnnotationValues`, and the keys of pkg/apis/pipelinesascode/keys).

const PAC: &str = "pipelinesascode.tekton.dev/";

/// PaC's `reValidateTag`, as written in Go.
const PAC_VALUE_PATTERN_GO: &str = r"^\[(.*)\]$|^[^[\]\s]*$";

/// The same pattern for Rust's `regex` with Go's meaning: inside a class Rust reads `[` as the start
/// of a nested class, so it is escaped; Go's `\s` is the ASCII set `[\t\n\f\r ]` while Rust's is
/// Unicode (and `(?-u:\s)` adds `\v`), so the set is spelled out. `.` excludes `\n` in both (no `s`
/// flag), and `^`/`$` match only at the ends of the text in both (no `m` flag).
const PAC_VALUE_PATTERN: &str = r"^\[(.*)\]$|^[^\[\]\t\n\x0C\r ]*$";

fn pac_value_regex() -> Regex {
    Regex::new(PAC_VALUE_PATTERN).unwrap()
}

/// Go's `strings.TrimSpace`: Unicode white space, the same set as Rust's `char::is_whitespace`.
fn go_trim_space(text: &str) -> &str {
    text.trim_matches(char::is_whitespace)
}

/// `getAnnotationValues`: the value as a list, or PaC's error.
fn annotation_values(raw: &str) -> Result<Vec<String>, String> {
    let regex = pac_value_regex();
    let value = go_trim_space(raw);
    if !regex.is_match(value) {
        return Err(format!("annotations in pipeline are in wrong format: {value}"));
    }
    if !value.starts_with('[') {
        return Ok(vec![value.replace("&#44;", ",")]);
    }
    let inner = regex.captures(value).and_then(|captures| captures.get(1)).map_or("", |group| group.as_str());
    let split: Vec<String> =
        inner.split(',').map(|item| go_trim_space(&item.replace("&#44;", ",")).to_string()).collect();
    if split[0].is_empty() {
        return Err(format!("annotation \"{value}\" has empty values"));
    }
    Ok(split)
}

#[test]
fn the_annotation_pattern_keeps_go_semantics() {
    // The Go pattern's pieces, and what Rust's regex does with them as written.
    assert!(PAC_VALUE_PATTERN_GO.contains(r"\[(.*)\]") && PAC_VALUE_PATTERN_GO.contains(r"[^[\]\s]*"));
    assert!(!Regex::new("^.$").unwrap().is_match("\n"), "Rust's `.` must exclude \\n, as Go's does");
    assert!(Regex::new("^.$").unwrap().is_match("\r"), "only \\n is excluded");
    assert!(!Regex::new("^a$").unwrap().is_match("a\n"), "`$` is the end of the text, as in Go");
    assert!(Regex::new(r"^\s$").unwrap().is_match("\u{a0}"), "Rust's \\s is Unicode; Go's is not");
    let regex = pac_value_regex();
    for (value, matches) in [
        ("[a, b]", true),
        ("[a,\n b]", false),
        ("[]", true),
        ("git-clone", true),
        ("https://example.com/x.yaml", true),
        ("two words", false),
        ("tab\tinside", false),
        ("form\x0Cfeed", false),
        ("vertical\x0Btab", true),
        ("no\u{a0}break", true),
        ("half[open", false),
        ("[nested [x]]", true),
        ("", true),
    ] {
        assert_eq!(regex.is_match(value), matches, "{value:?}");
    }
    assert_eq!(annotation_values(" [a, b&#44;c ,d] \n").unwrap(), ["a", "b,c", "d"]);
    assert_eq!(annotation_values("one").unwrap(), ["one"]);
    assert!(annotation_values("[ , x]").unwrap_err().contains("empty values"));
    assert!(annotation_values("[a,\n b]").unwrap_err().contains("wrong format"));
}

/// Annotation keys our templates may use (PaC's keys.go), and how PaC reads each value.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    /// Parsed by `getAnnotationValues`.
    List,
    /// A Go regular expression (RE2), matched against the comment.
    Regex,
    /// CEL.
    Cel,
    /// `strconv.Atoi`.
    Integer,
    /// `strconv.ParseBool`; we allow only `true` and `false`.
    Boolean,
}

fn kind_of(key: &str) -> Option<Kind> {
    let numbered_task =
        key.strip_prefix("task-").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    Some(match key {
        _ if numbered_task => Kind::List,
        "task"
        | "pipeline"
        | "on-event"
        | "on-target-branch"
        | "on-path-change"
        | "on-path-change-ignore"
        | "on-label" => Kind::List,
        "on-comment" => Kind::Regex,
        "on-cel-expression" => Kind::Cel,
        "max-keep-runs" => Kind::Integer,
        "cancel-in-progress" => Kind::Boolean,
        _ => return None,
    })
}

/// The problems PaC would have with one PipelineRun's annotations.
fn annotation_problems(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = serde_json::Map::new();
    let annotations = document["metadata"]["annotations"].as_object().unwrap_or(&empty);
    for (key, value) in annotations {
        let Some(short) = key.strip_prefix(PAC) else { continue };
        let Some(text) = value.as_str() else {
            problems.push(format!("{key}: not a string"));
            continue;
        };
        match kind_of(short) {
            None => problems.push(format!("{key}: not an annotation Pipelines-as-Code reads")),
            Some(Kind::List) => match annotation_values(text) {
                Err(error) => problems.push(format!("{key}: {error}")),
                Ok(values) => {
                    if values.iter().any(String::is_empty) {
                        problems.push(format!("{key}: an empty item in {values:?}"));
                    }
                    if short == "pipeline" && values.len() != 1 {
                        problems.push(format!("{key}: exactly one pipeline, got {values:?}"));
                    }
                    if short == "on-event" {
                        for event in &values {
                            if !["push", "pull_request", "incoming"].contains(&event.as_str()) {
                                problems.push(format!("{key}: unknown event {event}"));
                            }
                        }
                    }
                }
            },
            Some(Kind::Regex) => {
                if let Err(error) = Regex::new(text) {
                    problems.push(format!("{key}: {error}"));
                }
            }
            Some(Kind::Cel) => {
                if let Err(error) = cel::parse(text) {
                    problems.push(format!("{key}: {error}"));
                }
            }
            Some(Kind::Integer) => {
                if !(text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u32>().is_ok_and(|n| n > 0)) {
                    problems.push(format!("{key}: {text:?} is not a positive integer"));
                }
            }
            Some(Kind::Boolean) => {
                if !["true", "false"].contains(&text) {
                    problems.push(format!("{key}: {text:?} is not true or false"));
                }
            }
        }
    }
    let has = |name: &str| annotations.contains_key(&format!("{PAC}{name}"));
    // PaC matches `on-comment` first and only on comments; the same run with `on-event`,
    // `on-target-branch` or `on-cel-expression` would also start on those events (and on
    // `/retest`), so a comment run carries none of them.
    if has("on-comment") && (has("on-event") || has("on-target-branch") || has("on-cel-expression")) {
        problems
            .push("an on-comment run must not also match events (on-event/on-target-branch/on-cel-expression)".into());
    }
    let triggers = [has("on-cel-expression"), has("on-event") && has("on-target-branch"), has("on-comment")];
    if triggers.iter().filter(|trigger| **trigger).count() != 1 {
        problems.push(
            "needs exactly one trigger: on-cel-expression, or on-event with on-target-branch, or on-comment alone"
                .to_string(),
        );
    }
    if has("on-cel-expression") && (has("on-event") || has("on-target-branch") || has("on-path-change")) {
        problems.push("on-cel-expression overrides on-event/on-target-branch/on-path-change: drop them".to_string());
    }
    problems
}

#[test]
fn pac_annotations_parse_the_way_pipelines_as_code_parses_them() {
    let mut problems = Vec::new();
    for (file, document) in pipeline_runs() {
        let has_pac = document["metadata"]["annotations"]
            .as_object()
            .is_some_and(|annotations| annotations.keys().any(|key| key.starts_with(PAC)));
        if !is_pac_file(&file) {
            if has_pac {
                problems.push(format!("{file}: not a PaC template, yet has {PAC} annotations"));
            }
            continue;
        }
        problems.extend(annotation_problems(&document).into_iter().map(|problem| format!("{file}: {problem}")));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_annotation_check_rejects_what_pac_rejects() {
    let run = |annotations: &str| {
        let text = format!(
            "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: x\n  annotations:\n{annotations}"
        );
        annotation_problems(&yaml_text("inline", &text))
    };
    // A folded block whose continuation lines are more indented keeps its newlines.
    let folded = "    pipelinesascode.tekton.dev/on-comment: ^/x\n    pipelinesascode.tekton.dev/task: >-\n      [a,\n       b]\n";
    assert!(run(folded).iter().any(|problem| problem.contains("wrong format")), "{:?}", run(folded));
    let flat = "    pipelinesascode.tekton.dev/on-comment: ^/x\n    pipelinesascode.tekton.dev/task: >-\n      [a,\n      b]\n";
    assert_eq!(run(flat), Vec::<String>::new());
    assert!(!run("    pipelinesascode.tekton.dev/on-event: \"[push]\"\n").is_empty(), "no target branch");
    assert!(
        !run(
            "    pipelinesascode.tekton.dev/on-comment: ^/x\n    pipelinesascode.tekton.dev/max-keep-runs: \"five\"\n"
        )
        .is_empty()
    );
    assert!(
        !run("    pipelinesascode.tekton.dev/on-comment: ^/x\n    pipelinesascode.tekton.dev/task-one: a\n").is_empty()
    );
    assert_eq!(
        run("    pipelinesascode.tekton.dev/on-comment: ^/x\n    pipelinesascode.tekton.dev/task-12: a\n"),
        Vec::<String>::new()
    );
    assert!(!run("    pipelinesascode.tekton.dev/on-comment: ^/x\n    pipelinesascode.tekton.dev/on-event: \"[push]\"\n    pipelinesascode.tekton.dev/on-target-branch: \"[main]\"\n").is_empty());
}

// ------------------------------------------------------------------------------------------------
// A small evaluator for the CEL that PaC's `on-cel-expression` annotations here use: `&&`, `||`,
// `!`, `==`, `!=`, parentheses, strings, `event`/`target_branch`/`source_branch`, `files.<kind>`,
// `"glob".pathChanged()`, `s.matches(re)` / `startsWith` / `endsWith` / `contains`, and the macros
// `list.all(x, p)` / `list.exists(x, p)`. Anything else is a parse error, so an expression the
// test cannot evaluate fails the test instead of passing it unread.
mod cel {
    use std::collections::BTreeMap;

    use regex::Regex;

    #[derive(Clone, Debug, PartialEq)]
    enum Token {
        Ident(String),
        Str(String),
        Open,
        Close,
        Comma,
        Dot,
        And,
        Or,
        Not,
        Eq,
        Ne,
    }

    fn tokens(text: &str) -> Result<Vec<Token>, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut at = 0;
        while at < chars.len() {
            let c = chars[at];
            let next = chars.get(at + 1).copied();
            match c {
                _ if c.is_whitespace() => at += 1,
                '(' | ')' | ',' | '.' => {
                    out.push(match c {
                        '(' => Token::Open,
                        ')' => Token::Close,
                        ',' => Token::Comma,
                        _ => Token::Dot,
                    });
                    at += 1;
                }
                '&' if next == Some('&') => (out.push(Token::And), at += 2).1,
                '|' if next == Some('|') => (out.push(Token::Or), at += 2).1,
                '=' if next == Some('=') => (out.push(Token::Eq), at += 2).1,
                '!' if next == Some('=') => (out.push(Token::Ne), at += 2).1,
                '!' => (out.push(Token::Not), at += 1).1,
                '"' | '\'' => {
                    let mut value = String::new();
                    at += 1;
                    loop {
                        let Some(&d) = chars.get(at) else { return Err("unterminated string".into()) };
                        at += 1;
                        match d {
                            _ if d == c => break,
                            '\n' => return Err("a newline inside a CEL string".into()),
                            '\\' => {
                                let escaped = chars.get(at).copied().ok_or("dangling backslash")?;
                                at += 1;
                                value.push(match escaped {
                                    '\\' | '"' | '\'' => escaped,
                                    'n' => '\n',
                                    't' => '\t',
                                    other => return Err(format!("`\\{other}` is not a CEL escape")),
                                });
                            }
                            _ => value.push(d),
                        }
                    }
                    out.push(Token::Str(value));
                }
                _ if c.is_ascii_alphabetic() || c == '_' => {
                    let start = at;
                    while chars.get(at).is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_') {
                        at += 1;
                    }
                    out.push(Token::Ident(chars[start..at].iter().collect()));
                }
                other => return Err(format!("`{other}` is outside the CEL this test evaluates")),
            }
        }
        Ok(out)
    }

    #[derive(Clone, Debug)]
    pub enum Expr {
        Ident(String),
        Str(String),
        Bool(bool),
        Not(Box<Expr>),
        And(Box<Expr>, Box<Expr>),
        Or(Box<Expr>, Box<Expr>),
        Equal(Box<Expr>, Box<Expr>, bool),
        Field(Box<Expr>, String),
        Call(Box<Expr>, String, Vec<Expr>),
    }

    struct Parser {
        tokens: Vec<Token>,
        at: usize,
    }

    impl Parser {
        fn peek(&self) -> Option<&Token> {
            self.tokens.get(self.at)
        }
        fn eat(&mut self, token: &Token) -> bool {
            if self.peek() == Some(token) {
                self.at += 1;
                true
            } else {
                false
            }
        }
        fn or(&mut self) -> Result<Expr, String> {
            let mut left = self.and()?;
            while self.eat(&Token::Or) {
                left = Expr::Or(Box::new(left), Box::new(self.and()?));
            }
            Ok(left)
        }
        fn and(&mut self) -> Result<Expr, String> {
            let mut left = self.unary()?;
            while self.eat(&Token::And) {
                left = Expr::And(Box::new(left), Box::new(self.unary()?));
            }
            Ok(left)
        }
        fn unary(&mut self) -> Result<Expr, String> {
            if self.eat(&Token::Not) {
                return Ok(Expr::Not(Box::new(self.unary()?)));
            }
            let left = self.member()?;
            if self.eat(&Token::Eq) {
                return Ok(Expr::Equal(Box::new(left), Box::new(self.member()?), true));
            }
            if self.eat(&Token::Ne) {
                return Ok(Expr::Equal(Box::new(left), Box::new(self.member()?), false));
            }
            Ok(left)
        }
        fn member(&mut self) -> Result<Expr, String> {
            let mut target = self.primary()?;
            while self.eat(&Token::Dot) {
                let Some(Token::Ident(name)) = self.peek().cloned() else { return Err("a name after `.`".into()) };
                self.at += 1;
                if self.eat(&Token::Open) {
                    let mut args = Vec::new();
                    if !self.eat(&Token::Close) {
                        loop {
                            args.push(self.or()?);
                            if self.eat(&Token::Close) {
                                break;
                            }
                            if !self.eat(&Token::Comma) {
                                return Err(format!("`,` or `)` in the arguments of {name}"));
                            }
                        }
                    }
                    target = Expr::Call(Box::new(target), name, args);
                } else {
                    target = Expr::Field(Box::new(target), name);
                }
            }
            Ok(target)
        }
        fn primary(&mut self) -> Result<Expr, String> {
            match self.peek().cloned() {
                Some(Token::Open) => {
                    self.at += 1;
                    let inner = self.or()?;
                    if !self.eat(&Token::Close) {
                        return Err("unbalanced `(`".into());
                    }
                    Ok(inner)
                }
                Some(Token::Str(value)) => {
                    self.at += 1;
                    Ok(Expr::Str(value))
                }
                Some(Token::Ident(name)) => {
                    self.at += 1;
                    Ok(match name.as_str() {
                        "true" => Expr::Bool(true),
                        "false" => Expr::Bool(false),
                        _ => Expr::Ident(name),
                    })
                }
                other => Err(format!("unexpected {other:?}")),
            }
        }
    }

    pub fn parse(text: &str) -> Result<Expr, String> {
        let mut parser = Parser { tokens: tokens(text)?, at: 0 };
        let expr = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(format!("unparsed rest from token {}", parser.at));
        }
        Ok(expr)
    }

    /// What PaC gives the expression for one event.
    #[derive(Clone, Debug)]
    pub struct Event {
        pub name: &'static str,
        pub target_branch: &'static str,
        pub files: Vec<String>,
    }

    #[derive(Clone, Debug, PartialEq)]
    enum Val {
        Bool(bool),
        Str(String),
        List(Vec<String>),
        Files,
    }

    /// gobwas/glob compiled without separators (how PaC compiles `pathChanged` patterns): `*` and
    /// `**` match any run of characters, `/` included; `?` one character; `{a,b}` alternatives.
    pub fn glob(pattern: &str) -> Result<Regex, String> {
        let mut out = String::from("^");
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    while chars.peek() == Some(&'*') {
                        chars.next();
                    }
                    out.push_str(".*");
                }
                '?' => out.push('.'),
                '{' => out.push_str("(?:"),
                '}' => out.push(')'),
                ',' => out.push('|'),
                '[' | ']' | '\\' => {
                    return Err(format!("glob `{pattern}`: classes and escapes are not evaluated here"));
                }
                other => out.push_str(&regex::escape(&other.to_string())),
            }
        }
        out.push('$');
        Regex::new(&out).map_err(|error| error.to_string())
    }

    fn eval(expr: &Expr, event: &Event, vars: &BTreeMap<String, String>) -> Result<Val, String> {
        let truth = |expr: &Expr| -> Result<bool, String> {
            match eval(expr, event, vars)? {
                Val::Bool(value) => Ok(value),
                other => Err(format!("{other:?} is not a bool")),
            }
        };
        Ok(match expr {
            Expr::Bool(value) => Val::Bool(*value),
            Expr::Str(value) => Val::Str(value.clone()),
            Expr::Ident(name) => match (name.as_str(), vars.get(name)) {
                (_, Some(value)) => Val::Str(value.clone()),
                ("event", _) => Val::Str(event.name.to_string()),
                // On a push the source branch is the target branch; the tests use pushes and
                // same-repository pull requests only.
                ("target_branch" | "source_branch", _) => Val::Str(event.target_branch.to_string()),
                ("files", _) => Val::Files,
                _ => return Err(format!("unknown variable {name}")),
            },
            Expr::Not(inner) => Val::Bool(!truth(inner)?),
            Expr::And(left, right) => Val::Bool(truth(left)? && truth(right)?),
            Expr::Or(left, right) => Val::Bool(truth(left)? || truth(right)?),
            Expr::Equal(left, right, equal) => {
                let (left, right) = (eval(left, event, vars)?, eval(right, event, vars)?);
                Val::Bool((left == right) == *equal)
            }
            Expr::Field(target, name) => match (eval(target, event, vars)?, name.as_str()) {
                (Val::Files, "all" | "modified") => Val::List(event.files.clone()),
                (Val::Files, "added" | "deleted" | "renamed") => Val::List(Vec::new()),
                (other, _) => return Err(format!("no field {name} on {other:?}")),
            },
            Expr::Call(target, name, args) => {
                if let (Some(Expr::Ident(variable)), Some(body), true) =
                    (args.first(), args.get(1), ["all", "exists"].contains(&name.as_str()))
                {
                    let Val::List(items) = eval(target, event, vars)? else {
                        return Err(format!("{name} on a non-list"));
                    };
                    let mut results = Vec::new();
                    for item in items {
                        let mut inner = vars.clone();
                        inner.insert(variable.clone(), item);
                        results.push(match eval(body, event, &inner)? {
                            Val::Bool(value) => value,
                            other => return Err(format!("{name}: {other:?} is not a bool")),
                        });
                    }
                    return Ok(Val::Bool(if name == "all" {
                        results.iter().all(|value| *value)
                    } else {
                        results.iter().any(|value| *value)
                    }));
                }
                let Val::Str(subject) = eval(target, event, vars)? else {
                    return Err(format!("{name} on a non-string"));
                };
                let argument = match args.as_slice() {
                    [] => None,
                    [one] => match eval(one, event, vars)? {
                        Val::Str(value) => Some(value),
                        other => return Err(format!("{name}({other:?})")),
                    },
                    _ => return Err(format!("{name} takes at most one argument here")),
                };
                match (name.as_str(), argument) {
                    ("pathChanged", None) => {
                        let pattern = glob(&subject)?;
                        Val::Bool(event.files.iter().any(|file| pattern.is_match(file)))
                    }
                    ("matches", Some(pattern)) => {
                        Val::Bool(Regex::new(&pattern).map_err(|error| error.to_string())?.is_match(&subject))
                    }
                    ("startsWith", Some(prefix)) => Val::Bool(subject.starts_with(&prefix)),
                    ("endsWith", Some(suffix)) => Val::Bool(subject.ends_with(&suffix)),
                    ("contains", Some(part)) => Val::Bool(subject.contains(&part)),
                    (other, _) => return Err(format!("{other} is outside the CEL this test evaluates")),
                }
            }
        })
    }

    /// Whether the expression matches the event (PaC starts the run only on `true`).
    pub fn matches(text: &str, event: &Event) -> Result<bool, String> {
        match eval(&parse(text)?, event, &BTreeMap::new())? {
            Val::Bool(value) => Ok(value),
            other => Err(format!("the expression gives {other:?}, not a bool")),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// 2. `/sync` syncs the target branch, and the sync's own push does not start it again.

fn pac_run(predicate: impl Fn(&Value) -> bool) -> (String, Value) {
    let mut found: Vec<(String, Value)> =
        pipeline_runs().into_iter().filter(|(file, run)| file.starts_with("tekton/pac/") && predicate(run)).collect();
    assert_eq!(found.len(), 1, "{:?}", found.iter().map(|(file, _)| file).collect::<Vec<_>>());
    found.remove(0)
}

fn event(name: &'static str, target_branch: &'static str, files: &[&str]) -> cel::Event {
    cel::Event { name, target_branch, files: files.iter().map(|file| (*file).to_string()).collect() }
}

#[test]
fn sync_on_comment_clones_and_pushes_the_target_branch_only() {
    let (file, run) = pac_run(|run| annotation(run, "pipelinesascode.tekton.dev/on-comment").is_some());
    assert_eq!(annotation(&run, "pipelinesascode.tekton.dev/on-comment"), Some("^/sync"), "{file}");
    // What is cloned and where it is pushed: this repository's target branch, never the pull
    // request's head commit or branch, never a fork.
    assert_eq!(param(&run, "git-url"), Some("{{repo_url}}"), "{file}");
    assert_eq!(param(&run, "revision"), Some("{{target_branch}}"), "{file}");
    assert_eq!(param(&run, "branch"), Some("{{target_branch}}"), "{file}");
    for entry in run["spec"]["params"].as_array().unwrap() {
        let value = entry["value"].as_str().unwrap_or_default();
        for pull_request in ["{{source_url}}", "{{source_branch}}", "{{pull_request_number}}", "{{sha}}"] {
            assert!(!value.contains(pull_request), "{file}: param {} uses {pull_request}", entry["name"]);
        }
        if entry["name"] != "output-image" {
            assert!(!value.contains("{{revision}}"), "{file}: param {} uses the commented commit", entry["name"]);
        }
    }
    let (file, run) = pac_run(|run| annotation(run, "pipelinesascode.tekton.dev/on-cel-expression").is_some());
    assert_eq!(param(&run, "git-url"), Some("{{repo_url}}"), "{file}");
    assert_eq!(param(&run, "revision"), Some("{{revision}}"), "{file}: a push syncs the pushed commit");
    assert_eq!(param(&run, "branch"), Some("{{target_branch}}"), "{file}");
}

/// The entry of a `name`d list (params, workspaces) with that name.
fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|entry| entry["name"] == name)
}

#[test]
fn pac_runs_bind_the_per_run_git_secret_to_the_git_auth_workspace() {
    // The Pipeline takes the workspace as Konflux's build pipelines do: optional, given to
    // git-clone-oci-ta's basic-auth (and to the Tasks that check and make the push).
    let pipeline = shipped_pipeline("rhdh-catalog-sync").unwrap();
    let declared = named(&pipeline["spec"]["workspaces"], "git-auth").expect("the sync Pipeline declares git-auth");
    assert_eq!(declared["optional"], true, "a public midstream runs without it");
    let cache =
        named(&pipeline["spec"]["workspaces"], "package-cache").expect("the sync Pipeline declares package-cache");
    assert_eq!(cache["optional"], true, "Konflux runs leave the package cache unbound");
    let mut bound = BTreeSet::new();
    for task in pipeline["spec"]["tasks"].as_array().unwrap() {
        // The package cache is the other workspace (optional too: a Konflux run leaves it unbound).
        let bindings = task["workspaces"].as_array().into_iter().flatten();
        for binding in bindings.filter(|binding| binding["workspace"] != "package-cache") {
            assert_eq!(binding["workspace"], "git-auth", "{}", task["name"]);
            assert_eq!(binding["name"], "basic-auth", "{}: git-clone-oci-ta's name for it", task["name"]);
            bound.insert(task["name"].as_str().unwrap().to_string());
            if let Some(reference) = task["taskRef"]["name"].as_str() {
                let file = format!("tekton/task/{reference}/0.1/{reference}.yaml");
                let declared = named(&yaml_text(&file, &read(&file))["spec"]["workspaces"], "basic-auth")
                    .unwrap_or_else(|| panic!("{file} declares no basic-auth workspace"))
                    .clone();
                assert_eq!(declared["optional"], true, "{file}");
            }
        }
    }
    assert_eq!(bound, BTreeSet::from(["clone-repository", "fetch", "commit"].map(str::to_string)));
    // Every PipelineRun Pipelines-as-Code reads (the sync runs a midstream copies, this
    // repository's builds) binds it to the secret PaC makes for the run, as Konflux's own
    // PipelineRuns do (`secret: {secretName: '{{ git_auth_secret }}'}`).
    let runs: Vec<(String, Value)> = pipeline_runs().into_iter().filter(|(file, _)| is_pac_file(file)).collect();
    let sync_runs = runs.iter().filter(|(_, run)| run["spec"]["pipelineRef"]["name"] == "rhdh-catalog-sync").count();
    assert_eq!(sync_runs, 2, "{runs:?}");
    for (file, run) in runs {
        let workspace = named(&run["spec"]["workspaces"], "git-auth").unwrap_or_else(|| panic!("{file}: no git-auth"));
        assert_eq!(workspace["secret"]["secretName"], "{{ git_auth_secret }}", "{file}");
        // What one run installs into the package cache the next one runs: the PaC runs leave it
        // unbound, so none of them shares installs with a run of less trusted content.
        assert!(named(&run["spec"]["workspaces"], "package-cache").is_none(), "{file} binds the package cache");
    }
}

#[test]
fn the_push_credentials_are_checked_before_anything_is_fetched() {
    let file = "tekton/task/rhdh-catalog-fetch/0.1/rhdh-catalog-fetch.yaml";
    let task = yaml_text(file, &read(file));
    let steps: Vec<&Value> = task["spec"]["steps"].as_array().unwrap().iter().collect();
    let position = |name: &str| steps.iter().position(|step| step["name"] == name).unwrap();
    let check = steps[position("check-push")];
    assert!(position("check-push") < position("fetch"), "{file}: the push is checked first");
    let args: Vec<&str> = check["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(args[..2], ["commit", "--check-push"], "{file}");
    assert!(args.contains(&"--credentials-dir=$(workspaces.basic-auth.path)"), "{file}: {args:?}");
    // A Secret that is not there keeps the pod from starting (optional: false): the run fails in
    // its first minutes, not at its commit hours later.
    let token = named(&check["env"], "GIT_TOKEN").unwrap();
    let reference = &token["valueFrom"]["secretKeyRef"];
    assert_eq!(reference["name"], "$(params.git-auth-secret)", "{file}");
    assert_eq!(reference["key"], "password", "{file}");
    assert_eq!(reference["optional"], false, "{file}");
    assert!(
        named(&task["spec"]["params"], "git-auth-secret")
            .is_some_and(|param| param["description"].as_str().is_some_and(|text| text.contains("must exist")))
    );
    let pipeline = shipped_pipeline("rhdh-catalog-sync").unwrap();
    let fetch = named(&pipeline["spec"]["tasks"], "fetch").unwrap();
    for (name, value) in [("git-auth-secret", "$(params.git-auth-secret)"), ("branch", "$(params.branch)")] {
        assert_eq!(named(&fetch["params"], name).map(|param| &param["value"]), Some(&Value::from(value)), "{name}");
    }
}

#[test]
fn the_sync_push_run_skips_the_sync_commit_and_starts_on_its_inputs() {
    let (file, run) = pac_run(|run| annotation(run, "pipelinesascode.tekton.dev/on-cel-expression").is_some());
    let expression = annotation(&run, "pipelinesascode.tekton.dev/on-cel-expression").unwrap();
    let starts = |event: &cel::Event| cel::matches(expression, event).unwrap_or_else(|error| panic!("{file}: {error}"));
    // What the sync commits: `rhdh-catalog commit`'s managed paths and the destination folder of the
    // template's upstream_repos.yml. upstream_repos.yml is staged but never written by any step.
    let mut written: Vec<String> = rhdh_catalog::steps::commit::MANAGED_PATHS
        .iter()
        .filter(|path| **path != "upstream_repos.yml")
        .map(|path| format!("{path}/some/file"))
        .collect();
    written.push("overlay-repo/workspaces/tech-radar/plugins-list.yaml".to_string());
    for path in &written {
        assert!(
            !starts(&event("push", "main", &[path])),
            "{file}: the sync's own push of {path} starts the sync again"
        );
    }
    let all: Vec<&str> = written.iter().map(String::as_str).collect();
    assert!(!starts(&event("push", "main", &all)), "{file}: the sync's own push starts the sync again");
    // What starts it.
    for files in [
        vec!["upstream_repos.yml"],
        vec![".tekton/rhdh-catalog-sync-push.yaml"],
        vec!["upstream_repos.yml", "catalog-index/index.json"],
        vec!["overlay-repo/workspaces/x/plugins-list.yaml", "README.md"],
    ] {
        assert!(starts(&event("push", "main", &files)), "{file}: a push of {files:?} must start the sync");
    }
    // What does not.
    assert!(!starts(&event("push", "main", &["README.md"])), "{file}");
    assert!(!starts(&event("push", "release-1.10", &["upstream_repos.yml"])), "{file}");
    assert!(!starts(&event("pull_request", "main", &["upstream_repos.yml"])), "{file}");
    assert!(!starts(&event("push", "main", &[])), "{file}");
}

#[test]
fn the_cel_evaluator_reads_cel_as_pac_does() {
    let push = event("push", "main", &["src/main.rs", "docs/a/b.md"]);
    for (expression, expected) in [
        (r#"event == "push" && target_branch == "main""#, true),
        (r#"event != "push" || target_branch != "main""#, false),
        (r#""src/***".pathChanged()"#, true),
        (r#""docs/*.md".pathChanged()"#, true),
        (r#""*.go".pathChanged()"#, false),
        (r"files.all.exists(f, f.matches('^docs/'))", true),
        (r"files.all.all(f, f.matches('^docs/'))", false),
        (r"!files.added.exists(f, f.endsWith('.rs'))", true),
        (r#"("a" == "b" || "c" == "c") && !("x" == "y")"#, true),
        (r"files.all.exists(f, f.matches('\\.rs$'))", true),
    ] {
        assert_eq!(cel::matches(expression, &push), Ok(expected), "{expression}");
    }
    for unsupported in ["size(files.all) > 0", "body.pull_request.number == 1", r"'a\.b' == 'x'", "event =="] {
        assert!(cel::matches(unsupported, &push).is_err(), "{unsupported} should be outside the subset");
    }
}

// ------------------------------------------------------------------------------------------------
// 3. `tkn pipeline start` commands that tkn accepts and that finish before the timeout.

/// A Go duration (`time.ParseDuration`) in seconds; whole hours, minutes and seconds only.
fn go_duration(text: &str) -> Result<u64, String> {
    let mut total = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration"))?;
        total += value
            * match c {
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => return Err(format!("{text:?}: unit {c} is not used here")),
            };
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(format!("{text:?} is not a duration (a unit after every number)"));
    }
    Ok(total)
}

fn minutes(seconds: u64) -> String {
    format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60)
}

/// The worst-case time of the longest chain of `tasks` (edges: `runAfter` and `$(tasks.x.…)`
/// references), each task counting `timeout × (retries + 1)`: Tekton gives every retry attempt
/// the task's full timeout. A task without a timeout is an error (it would have no bound).
fn longest_path(pipeline: &Value) -> Result<u64, String> {
    fn finish(
        name: &str,
        cost: &BTreeMap<String, u64>,
        after: &BTreeMap<String, BTreeSet<String>>,
        depth: usize,
    ) -> u64 {
        assert!(depth <= cost.len(), "runAfter cycle through {name}");
        let before = after[name].iter().map(|dependency| finish(dependency, cost, after, depth + 1)).max().unwrap_or(0);
        before + cost[name]
    }
    let tasks = pipeline["spec"]["tasks"].as_array().ok_or("no tasks")?;
    let reference = Regex::new(r"\$\(tasks\.([a-z0-9-]+)\.").unwrap();
    let mut cost = BTreeMap::new();
    let mut after: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for task in tasks {
        let name = task["name"].as_str().ok_or("a task without a name")?.to_string();
        let timeout = task["timeout"].as_str().ok_or_else(|| format!("task {name} has no timeout"))?;
        let attempts = task["retries"].as_u64().unwrap_or(0) + 1;
        cost.insert(name.clone(), go_duration(timeout)? * attempts);
        let mut dependencies: BTreeSet<String> = task["runAfter"]
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let text = serde_json::to_string(&[&task["params"], &task["matrix"], &task["when"]]).unwrap();
        dependencies.extend(reference.captures_iter(&text).map(|captures| captures[1].to_string()));
        after.insert(name, dependencies);
    }
    Ok(cost.keys().map(|name| finish(name, &cost, &after, 0)).max().unwrap_or(0))
}

/// The longest declared timeout of the `finally` tasks (they run in parallel), if any declares one.
fn finally_timeout(pipeline: &Value) -> Option<u64> {
    pipeline["spec"]["finally"].as_array()?.iter().filter_map(|task| go_duration(task["timeout"].as_str()?).ok()).max()
}

fn shipped_pipeline(name: &str) -> Option<Value> {
    yaml_files(&["tekton/pipeline"])
        .into_iter()
        .map(|file| yaml_text(&file, &read(&file)))
        .find(|document| document["kind"] == "Pipeline" && document["metadata"]["name"] == name)
}

#[test]
fn pipelineruns_set_timeouts_that_cover_the_longest_path() {
    let mut checked = 0;
    for (file, run) in pipeline_runs() {
        let Some(name) = run["spec"]["pipelineRef"]["name"].as_str() else { continue };
        let pipeline =
            shipped_pipeline(name).unwrap_or_else(|| panic!("{file}: no Pipeline {name} under tekton/pipeline"));
        let path = longest_path(&pipeline).unwrap();
        let timeouts = &run["spec"]["timeouts"];
        let get = |key: &str| {
            go_duration(timeouts[key].as_str().unwrap_or_else(|| panic!("{file}: timeouts.{key} missing"))).unwrap()
        };
        let (whole, tasks, finally) = (get("pipeline"), get("tasks"), get("finally"));
        assert!(tasks >= path, "{file}: timeouts.tasks {} < longest path {}", minutes(tasks), minutes(path));
        assert!(finally > 0 && finally >= finally_timeout(&pipeline).unwrap_or(0), "{file}: timeouts.finally");
        assert!(whole >= tasks + finally, "{file}: timeouts.pipeline must be at least tasks + finally");
        checked += 1;
    }
    assert!(checked >= 3, "the sample run and the two PaC runs");
    // The rule itself: the sync's longest path counts the export retry.
    let sync = shipped_pipeline("rhdh-catalog-sync").unwrap();
    assert_eq!(minutes(longest_path(&sync).unwrap()), "5h10m");
}

struct TknFlag {
    long: String,
    short: Option<String>,
    takes_value: bool,
}

/// The vendored flag list of `tkn pipeline start` (tests/data/tkn/SOURCE).
fn tkn_flags() -> Vec<TknFlag> {
    read("tests/data/tkn/pipeline-start-flags.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 3, "{line}");
            TknFlag {
                long: fields[0].to_string(),
                short: (fields[1] != "-").then(|| fields[1].to_string()),
                takes_value: match fields[2] {
                    "value" => true,
                    "bool" => false,
                    other => panic!("{line}: {other}"),
                },
            }
        })
        .collect()
}

/// Shell words of one command line (quotes removed; no expansions).
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => word.push(c),
            (None, '\'' | '"') => (quote, in_word) = (Some(c), true),
            (None, _) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, _) => (word.push(c), in_word = true).1,
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Every `tkn pipeline start` command written in the repository's markdown (code blocks, with
/// `\` continuations, and inline code spans) and YAML comments, with where it was found; a mention
/// outside code is returned as an error.
fn documented_tkn_commands() -> Result<Vec<(String, String)>, String> {
    let needle = "tkn pipeline start";
    let mut commands = Vec::new();
    let spans = Regex::new(r"`([^`]+)`").unwrap();
    for file in repository_files() {
        let markdown = has_extension(&file, &["md"]);
        let yaml = has_extension(&file, &["yaml", "yml"]);
        if !markdown && !yaml {
            continue;
        }
        let text = read(&file);
        if !text.contains(needle) {
            continue;
        }
        let mut found = 0;
        let stop = |command: &str| {
            command.split(['#', ';', '|']).next().unwrap().split("&&").next().unwrap().trim().to_string()
        };
        if yaml {
            for line in text.lines().filter(|line| line.contains(needle)) {
                let comment =
                    line.trim_start().strip_prefix('#').ok_or_else(|| format!("{file}: tkn outside a comment"))?;
                commands.push((file.clone(), stop(&comment[comment.find(needle).unwrap()..])));
                found += 1;
            }
        } else {
            let mut prose = String::new();
            let mut block: Option<String> = None;
            for line in text.lines() {
                if line.trim_start().starts_with("```") {
                    if let Some(code) = block.take() {
                        let joined = code.replace("\\\n", " ");
                        for command_line in joined.lines().filter(|line| line.contains(needle)) {
                            commands.push((file.clone(), stop(&command_line[command_line.find(needle).unwrap()..])));
                            found += 1;
                        }
                    } else {
                        block = Some(String::new());
                    }
                    prose.push('\n');
                    continue;
                }
                match &mut block {
                    Some(code) => (code.push_str(line), code.push('\n')).1,
                    None => (prose.push_str(line), prose.push('\n')).1,
                }
            }
            for span in spans.captures_iter(&prose) {
                let code = span[1].replace('\n', " ");
                if code.trim() == needle {
                    found += 1; // the command's name, not a command
                } else if let Some(at) = code.find(needle) {
                    commands.push((file.clone(), stop(&code[at..])));
                    found += 1;
                }
            }
        }
        if found != text.matches(needle).count() {
            return Err(format!("{file}: `{needle}` written outside a code span or block"));
        }
    }
    Ok(commands)
}

/// What is wrong with one `tkn pipeline start` command.
fn tkn_problems(command: &str, flags: &[TknFlag]) -> Vec<String> {
    let words = shell_words(command);
    let mut problems = Vec::new();
    let mut positional = Vec::new();
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut index = 3;
    while index < words.len() {
        let word = &words[index];
        index += 1;
        if !word.starts_with('-') {
            positional.push(word.clone());
            continue;
        }
        let (name, inline) = word.split_once('=').map_or((word.as_str(), None), |(name, value)| (name, Some(value)));
        let Some(flag) = flags.iter().find(|flag| flag.long == name || flag.short.as_deref() == Some(name)) else {
            problems.push(format!("{name} is not a flag of tkn pipeline start"));
            continue;
        };
        let value = if flag.takes_value {
            match inline {
                Some(value) => value.to_string(),
                None if index < words.len() => {
                    index += 1;
                    words[index - 1].clone()
                }
                None => {
                    problems.push(format!("{name} needs a value"));
                    continue;
                }
            }
        } else {
            String::new()
        };
        values.entry(flag.long.clone()).or_default().push(value);
    }
    if words.get(..3).is_none_or(|start| start != ["tkn", "pipeline", "start"]) {
        problems.push("does not start with tkn pipeline start".into());
    }
    let [name] = positional.as_slice() else {
        problems.push(format!("one Pipeline name expected, got {positional:?}"));
        return problems;
    };
    let Some(pipeline) = shipped_pipeline(name) else {
        problems.push(format!("{name} is not a Pipeline under tekton/pipeline"));
        return problems;
    };
    if !values.contains_key("--use-param-defaults") {
        problems.push("without --use-param-defaults tkn prompts for every param not given".into());
    }
    let declared = pipeline["spec"]["params"].as_array().cloned().unwrap_or_default();
    let given: BTreeSet<String> = values
        .get("--param")
        .into_iter()
        .flatten()
        .map(|param| param.split_once('=').map_or(param.as_str(), |(name, _)| name).to_string())
        .collect();
    for param in &given {
        if !declared.iter().any(|declared| declared["name"] == param.as_str()) {
            problems.push(format!("{name} has no param {param}"));
        }
    }
    for param in declared.iter().filter(|param| param.get("default").is_none()) {
        if !given.contains(param["name"].as_str().unwrap()) {
            problems.push(format!("required param {} not given", param["name"]));
        }
    }
    let timeout = |flag: &str| values.get(flag).and_then(|values| values.last()).map(|value| go_duration(value));
    let path = longest_path(&pipeline).unwrap();
    let finally_room =
        if pipeline["spec"]["finally"].as_array().is_some_and(|tasks| !tasks.is_empty()) { 600 } else { 0 };
    match timeout("--pipeline-timeout") {
        None => problems.push(format!(
            "no --pipeline-timeout: the cluster default (60 minutes) is shorter than the longest path {}",
            minutes(path)
        )),
        Some(Err(error)) => problems.push(error),
        Some(Ok(whole)) => {
            let tasks = match timeout("--tasks-timeout") {
                Some(Ok(tasks)) => tasks,
                Some(Err(error)) => return [problems, vec![error]].concat(),
                None => path,
            };
            let finally = match timeout("--finally-timeout") {
                Some(Ok(finally)) => finally,
                Some(Err(error)) => return [problems, vec![error]].concat(),
                None => finally_room,
            };
            if tasks < path {
                problems.push(format!("--tasks-timeout {} < longest path {}", minutes(tasks), minutes(path)));
            }
            if whole < tasks.max(path) + finally {
                problems.push(format!(
                    "--pipeline-timeout {} < longest path {} plus {} for finally",
                    minutes(whole),
                    minutes(tasks.max(path)),
                    minutes(finally)
                ));
            }
        }
    }
    problems
}

#[test]
fn documented_tkn_commands_use_real_flags_and_cover_the_pipeline() {
    let flags = tkn_flags();
    assert!(flags.iter().any(|flag| flag.long == "--use-param-defaults"));
    let commands = documented_tkn_commands().unwrap();
    assert!(commands.len() >= 2, "the sync and release Pipeline READMEs document tkn: {commands:?}");
    let mut problems = Vec::new();
    for (file, command) in &commands {
        problems
            .extend(tkn_problems(command, &flags).into_iter().map(|problem| format!("{file}: `{command}`: {problem}")));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A step that runs another project's image (the RHDH image's installer) names it by a param whose
/// description demands a digest; the run supplies it pinned.
fn foreign_image_param(task: &Value, image: &str) -> bool {
    let Some(name) = image.strip_prefix("$(params.").and_then(|rest| rest.strip_suffix(')')) else { return false };
    task["spec"]["params"].as_array().into_iter().flatten().any(|param| {
        param["name"] == name && param["description"].as_str().is_some_and(|text| text.contains("pinned by digest"))
    })
}

#[test]
fn the_tkn_check_rejects_what_tkn_rejects() {
    let flags = tkn_flags();
    let good = "tkn pipeline start rhdh-catalog-release -p sha=abc -p rhdh-image=r@sha256:0 --use-param-defaults --pipeline-timeout 3h -s sa --showlog";
    assert_eq!(tkn_problems(good, &flags), Vec::<String>::new());
    for (bad, because) in [
        ("tkn pipeline start rhdh-catalog-release -p sha=abc --pipeline-timeout 2h20m", "--use-param-defaults"),
        ("tkn pipeline start rhdh-catalog-release -p sha=abc --use-param-defaults", "no --pipeline-timeout"),
        (
            "tkn pipeline start rhdh-catalog-release -p sha=abc --use-param-defaults --pipeline-timeout 1h",
            "< longest path",
        ),
        (
            "tkn pipeline start rhdh-catalog-release -p sha=abc --use-param-defaults --pipeline-timeout=3h --param-defaults",
            "not a flag",
        ),
        (
            "tkn pipeline start rhdh-catalog-release -p rhdh-image=r --use-param-defaults --pipeline-timeout 3h",
            "required param",
        ),
        (
            "tkn pipeline start rhdh-catalog-release -p sha=a -p nope=1 --use-param-defaults --pipeline-timeout 3h",
            "no param nope",
        ),
        (
            "tkn pipeline start rhdh-catalog-release -p sha=a --use-param-defaults --pipeline-timeout 3h --tasks-timeout 1h",
            "--tasks-timeout",
        ),
    ] {
        let problems = tkn_problems(bad, &flags);
        assert!(problems.iter().any(|problem| problem.contains(because)), "{bad}: {problems:?}");
    }
}

// ------------------------------------------------------------------------------------------------
// 4. READMEs generated from the YAML (hack/generate-readme.sh writes them with this renderer), and
//    a pull-request build beside every push build.

const ADDITIONAL_INFO: &str = "## Additional info";

/// One table cell: one line, `|` escaped, `<`/`>` as entities (rendered markdown would take
/// `<ws>` for an HTML tag and drop it).
fn cell(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
}

/// A Task or Pipeline README in the build-definitions layout: `# <name> <kind>`, the description,
/// Parameters (name, description, default value, required), Results, Workspaces when declared,
/// then the README's own `## Additional info` section, kept as it is.
fn render_readme(document: &Value, existing: Option<&str>) -> String {
    let spec = &document["spec"];
    let kind = document["kind"].as_str().unwrap().to_lowercase();
    let mut out = format!("# {} {kind}\n\n", document["metadata"]["name"].as_str().unwrap());
    let description = spec["description"].as_str().unwrap_or_default().trim();
    out.push_str(&description.split_whitespace().collect::<Vec<_>>().join(" "));
    out.push_str("\n\n");
    let rows = |key: &str| spec[key].as_array().cloned().unwrap_or_default();
    let params = rows("params");
    if !params.is_empty() {
        out.push_str("## Parameters\n|name|description|default value|required|\n|---|---|---|---|\n");
        for param in &params {
            let (default, required) = match param.get("default") {
                None => (String::new(), true),
                Some(Value::String(text)) if text.is_empty() => ("\"\"".to_string(), false),
                Some(Value::String(text)) => (cell(text), false),
                Some(other) => (cell(&other.to_string()), false),
            };
            out.push_str(&format!(
                "|{}|{}|{default}|{required}|\n",
                cell(param["name"].as_str().unwrap()),
                cell(param["description"].as_str().unwrap_or_default())
            ));
        }
        out.push('\n');
    }
    let results = rows("results");
    if !results.is_empty() {
        out.push_str("## Results\n|name|description|\n|---|---|\n");
        for result in &results {
            out.push_str(&format!(
                "|{}|{}|\n",
                cell(result["name"].as_str().unwrap()),
                cell(result["description"].as_str().unwrap_or_default())
            ));
        }
        out.push('\n');
    }
    let workspaces = rows("workspaces");
    if !workspaces.is_empty() {
        out.push_str("## Workspaces\n|name|description|optional|\n|---|---|---|\n");
        for workspace in &workspaces {
            out.push_str(&format!(
                "|{}|{}|{}|\n",
                cell(workspace["name"].as_str().unwrap()),
                cell(workspace["description"].as_str().unwrap_or_default()),
                workspace["optional"].as_bool().unwrap_or(false)
            ));
        }
        out.push('\n');
    }
    let kept = existing.and_then(|text| {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if line.trim_end() == ADDITIONAL_INFO {
                return Some(&text[offset..]);
            }
            offset += line.len();
        }
        None
    });
    if let Some(kept) = kept {
        out.push_str(kept);
    } else {
        out.push_str(ADDITIONAL_INFO);
        out.push('\n');
    }
    out
}

/// The lines of `expected` and `actual` that differ, for a failure message.
fn line_diff(expected: &str, actual: &str) -> String {
    let (expected, actual): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for index in 0..expected.len().max(actual.len()) {
        let (want, got) = (expected.get(index), actual.get(index));
        if want != got {
            out.push_str(&format!("  line {}:\n    generated: {want:?}\n    in README: {got:?}\n", index + 1));
        }
    }
    out
}

#[test]
fn readmes_are_generated_from_the_yaml() {
    let write = std::env::var_os("RHDH_CATALOG_WRITE_READMES").is_some();
    let scratch = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    let definitions = yaml_files(&["tekton/task", "tekton/pipeline"]);
    assert!(definitions.len() >= 11, "{definitions:?}");
    for file in definitions {
        let document = yaml_text(&file, &read(&file));
        if !["Task", "Pipeline"].contains(&document["kind"].as_str().unwrap_or_default()) {
            continue;
        }
        let readme = PathBuf::from(&file).parent().unwrap().join("README.md").display().to_string();
        let existing = std::fs::read_to_string(repository().join(&readme)).ok();
        let generated = render_readme(&document, existing.as_deref());
        let target = scratch.path().join(&readme);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, &generated).unwrap();
        if write {
            std::fs::write(repository().join(&readme), &generated).unwrap();
        } else if existing.as_deref() != Some(generated.as_str()) {
            stale.push(format!("{readme}:\n{}", line_diff(&generated, existing.as_deref().unwrap_or_default())));
        }
    }
    assert!(
        stale.is_empty(),
        "READMEs not generated from their YAML (run hack/generate-readme.sh):\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_readme_renderer_writes_the_build_definitions_layout() {
    let task = yaml_text(
        "inline",
        "kind: Task\nmetadata: {name: t}\nspec:\n  description: >-\n    Does\n    things.\n  params:\n    - {name: a, description: 'x | y'}\n    - {name: b, description: B, default: ''}\n    - {name: c, type: array, default: []}\n  results:\n    - {name: R, description: out}\n  workspaces:\n    - {name: w, description: auth, optional: true}\n",
    );
    let kept = "# old title\n\nold text\n\n## Additional info\n\nKept.\n";
    assert_eq!(
        render_readme(&task, Some(kept)),
        "# t task\n\nDoes things.\n\n## Parameters\n|name|description|default value|required|\n|---|---|---|---|\n|a|x \\| y||true|\n|b|B|\"\"|false|\n|c||[]|false|\n\n## Results\n|name|description|\n|---|---|\n|R|out|\n\n## Workspaces\n|name|description|optional|\n|---|---|---|\n|w|auth|true|\n\n## Additional info\n\nKept.\n"
    );
    assert!(render_readme(&task, None).ends_with("\n\n## Additional info\n"));
}

/// `(file, document)` of the `.tekton/` build PipelineRuns.
fn tekton_builds() -> Vec<(String, Value)> {
    pipeline_runs().into_iter().filter(|(file, _)| file.starts_with(".tekton/")).collect()
}

fn label<'a>(document: &'a Value, key: &str) -> Option<&'a str> {
    document["metadata"]["labels"][key].as_str()
}

/// The image repository of a reference (`repo:tag`, `repo@digest`, `repo:tag@digest`).
fn repository_of(reference: &str) -> &str {
    let name = reference.split('@').next().unwrap();
    match name.rfind(':') {
        Some(colon) if colon > name.rfind('/').unwrap_or(0) => &name[..colon],
        _ => name,
    }
}

#[test]
fn every_push_build_has_a_pull_request_build() {
    let builds = tekton_builds();
    let pushes: Vec<&(String, Value)> = builds.iter().filter(|(file, _)| file.ends_with("-push.yaml")).collect();
    assert!(pushes.len() >= 2, "the tool and the exporter image");
    assert_eq!(builds.len(), pushes.len() * 2, "a pull-request build beside each push build, nothing else");
    let expiry = Regex::new(r"^[0-9]+[hdw]$").unwrap();
    for (file, push) in pushes {
        let pr_file = file.replace("-push.yaml", "-pull-request.yaml");
        let (_, pr) =
            builds.iter().find(|(other, _)| *other == pr_file).unwrap_or_else(|| panic!("{file}: no {pr_file}"));
        let component = label(push, "appstudio.openshift.io/component").unwrap();
        assert_eq!(label(pr, "appstudio.openshift.io/component"), Some(component), "{pr_file}");
        for run in [push, pr] {
            assert_eq!(label(run, "pipelines.appstudio.openshift.io/type"), Some("build"));
            assert_eq!(run["spec"]["taskRunTemplate"]["serviceAccountName"], format!("build-pipeline-{component}"));
            let auth = run["spec"]["workspaces"]
                .as_array()
                .and_then(|workspaces| workspaces.iter().find(|w| w["name"] == "git-auth"));
            assert_eq!(auth.map(|w| &w["secret"]["secretName"]), Some(&Value::from("{{ git_auth_secret }}")), "{file}");
        }
        for name in ["git-url", "revision", "dockerfile", "path-context", "hermetic", "prefetch-input"] {
            assert_eq!(param(push, name), param(pr, name), "{pr_file}: param {name} differs from the push build");
        }
        assert_eq!(push["spec"]["pipelineRef"], pr["spec"]["pipelineRef"], "{pr_file}");
        let push_image = param(push, "output-image").unwrap();
        let pr_image = param(pr, "output-image").unwrap();
        assert_eq!(push_image, format!("{}:{{{{revision}}}}", repository_of(push_image)), "{file}");
        assert_eq!(pr_image, format!("{}:on-pr-{{{{revision}}}}", repository_of(push_image)), "{pr_file}");
        assert!(param(push, "image-expires-after").is_none(), "{file}: a released image must not expire");
        assert!(
            param(pr, "image-expires-after").is_some_and(|value| expiry.is_match(value)),
            "{pr_file}: image-expires-after"
        );
        assert_eq!(annotation(push, "pipelinesascode.tekton.dev/cancel-in-progress"), Some("false"));
        assert_eq!(annotation(pr, "pipelinesascode.tekton.dev/cancel-in-progress"), Some("true"));
        assert_eq!(annotation(pr, "build.appstudio.redhat.com/pull_request_number"), Some("{{pull_request_number}}"));
        // The triggers, evaluated: each run on its own event, on what goes into the image.
        let cel_of = |run: &Value| annotation(run, "pipelinesascode.tekton.dev/on-cel-expression").unwrap().to_string();
        let (push_cel, pr_cel) = (cel_of(push), cel_of(pr));
        let dockerfile = param(push, "dockerfile").unwrap();
        let mut inputs: Vec<String> =
            [dockerfile, "src/main.rs", "Cargo.lock", "tekton/task/x/0.1/x.yaml", ".cargo/config.toml"]
                .iter()
                .map(|input| (*input).to_string())
                .collect();
        let prefetch: Value = serde_json::from_str(param(push, "prefetch-input").unwrap()).unwrap();
        for entry in prefetch.as_array().unwrap() {
            let path = entry["path"].as_str().unwrap();
            if path != "." {
                inputs.push(format!("{path}/lockfile"));
            }
        }
        inputs.push(file.clone());
        inputs.push(pr_file.clone());
        for input in inputs {
            for (kind, expression, starts_on) in
                [("push", &push_cel, "push"), ("pull request", &pr_cel, "pull_request")]
            {
                for event_name in ["push", "pull_request"] {
                    let starts = cel::matches(expression, &event(event_name, "main", &[input.as_str()])).unwrap();
                    assert_eq!(
                        starts,
                        event_name == starts_on,
                        "{file}: the {kind} build on a {event_name} of {input}"
                    );
                }
            }
        }
        for (expression, event_name) in [(&push_cel, "push"), (&pr_cel, "pull_request")] {
            assert!(
                !cel::matches(expression, &event(event_name, "main", &["README.md"])).unwrap(),
                "{file}: README only"
            );
            assert!(
                !cel::matches(expression, &event(event_name, "other", &[dockerfile])).unwrap(),
                "{file}: other branch"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------------
// 5. Images that exist: no placeholder where a user copies from, Tasks running what .tekton builds.

fn is_placeholder_digest(text: &str) -> bool {
    text.contains(&format!("sha256:{}", "0".repeat(64)))
}

/// The code (fenced blocks and inline spans) of a markdown text.
fn markdown_code(text: &str) -> String {
    let mut code = String::new();
    let mut prose = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let target = if fenced { &mut code } else { &mut prose };
        target.push_str(line);
        target.push('\n');
    }
    for span in Regex::new(r"`([^`]+)`").unwrap().captures_iter(&prose) {
        code.push_str(&span[1]);
        code.push('\n');
    }
    code
}

fn placeholder_problems(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(_, text)| is_placeholder_digest(text))
        .map(|(file, _)| format!("{file}: a placeholder (all-zero) digest where a user copies from"))
        .collect()
}

/// What users copy: PaC templates, sample runs, `.tekton/`, the Containerfiles, and the examples
/// in every README.
fn copied_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for folder in ["tekton/pac", "tekton/pipelinerun", ".tekton", "containerfiles"] {
        for file in files_under(&repository().join(folder)) {
            let path = format!("{folder}/{file}");
            let text = read(&path);
            files.push((path.clone(), if has_extension(&path, &["md"]) { markdown_code(&text) } else { text }));
        }
    }
    for file in repository_files() {
        if has_extension(&file, &["md"]) {
            files.push((file.clone(), markdown_code(&read(&file))));
        }
    }
    files
}

#[test]
fn no_placeholder_digest_where_users_copy_from() {
    let files = copied_files();
    assert!(files.iter().any(|(file, _)| file == "tekton/pipeline/rhdh-catalog-sync/0.1/README.md"));
    let problems = placeholder_problems(&files);
    assert!(problems.is_empty(), "{problems:#?}");
    // The check itself finds one.
    let zero = format!("```sh\nskopeo copy docker://quay.io/x@sha256:{}\n```\n", "0".repeat(64));
    assert_eq!(placeholder_problems(&[("x.md".into(), markdown_code(&zero))]).len(), 1);
    assert!(placeholder_problems(&[("x.md".into(), markdown_code("prose sha256:0 only"))]).is_empty());
    // PaC templates take the Pipeline and Tasks of a release tag, whose Tasks are pinned.
    let release_url = Regex::new(r"^https://raw\.githubusercontent\.com/redhat-developer/rhdh-catalog/v[0-9]+\.[0-9]+\.[0-9]+/(tekton/.+\.yaml)$").unwrap();
    for (file, run) in pipeline_runs().into_iter().filter(|(file, _)| file.starts_with("tekton/pac/")) {
        for (key, value) in run["metadata"]["annotations"].as_object().unwrap() {
            let short = key.trim_start_matches(PAC);
            if short == "pipeline" || short == "task" || short.starts_with("task-") {
                let url = value.as_str().unwrap();
                let captures = release_url
                    .captures(url)
                    .unwrap_or_else(|| panic!("{file}: {key} is not a release tag URL: {url}"));
                assert!(repository().join(&captures[1]).is_file(), "{file}: {url} names no file of this repository");
            }
        }
    }
}

/// Every `bundle` param of a bundles-resolver reference, with its file.
fn bundle_references() -> Vec<(String, String)> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.get("resolver") == Some(&Value::from("bundles")) {
                    for param in map["params"].as_array().into_iter().flatten() {
                        if param["name"] == "bundle" {
                            out.push(param["value"].as_str().unwrap_or_default().to_string());
                        }
                    }
                }
                map.values().for_each(|child| walk(child, out));
            }
            Value::Array(items) => items.iter().for_each(|child| walk(child, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for file in yaml_files(&["tekton", ".tekton"]) {
        let mut bundles = Vec::new();
        walk(&yaml_text(&file, &read(&file)), &mut bundles);
        found.extend(bundles.into_iter().map(|bundle| (file.clone(), bundle)));
    }
    found
}

#[test]
fn bundles_are_pinned_or_a_konflux_pipeline_by_tag() {
    let bundles = bundle_references();
    assert!(bundles.len() >= 5, "{bundles:?}");
    let pinned = Regex::new(r"^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$").unwrap();
    // The digest of Konflux's pipeline bundle cannot be looked up offline: .tekton/ may take it by
    // tag until hack/pin-images.sh adds the digest (`hack/pin-images.sh --check` lists it).
    let by_tag = Regex::new(r"^quay\.io/konflux-ci/tekton-catalog/pipeline-[a-z0-9-]+:[A-Za-z0-9._-]+$").unwrap();
    for (file, bundle) in bundles {
        let ok = (pinned.is_match(&bundle) && !is_placeholder_digest(&bundle))
            || (file.starts_with(".tekton/") && by_tag.is_match(&bundle));
        assert!(ok, "{file}: bundle {bundle} is neither pinned to a real digest nor a Konflux pipeline bundle by tag");
    }
}

#[test]
fn tasks_run_the_images_that_tekton_builds() {
    let built: BTreeSet<String> = tekton_builds()
        .iter()
        .filter(|(file, _)| file.ends_with("-push.yaml"))
        .map(|(_, run)| repository_of(param(run, "output-image").unwrap()).to_string())
        .collect();
    let tool: BTreeSet<String> = rhdh_catalog::pipeline::definitions::TOOL_IMAGES
        .iter()
        .map(|image| image.trim_end_matches('@').to_string())
        .collect();
    assert_eq!(
        built, tool,
        ".tekton/ builds exactly the repositories the Tasks' steps run (src/tekton_yaml.rs TOOL_IMAGES)"
    );
    // `<repository>[:<tag>]@sha256:<digest>`: a release's Tasks may name their version.
    let pinned = Regex::new(r"^([a-z0-9./-]+)(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?@sha256:[0-9a-f]{64}$").unwrap();
    for file in yaml_files(&["tekton/task"]) {
        let task = yaml_text(&file, &read(&file));
        for step in task["spec"]["steps"].as_array().unwrap() {
            let image = step["image"].as_str().unwrap();
            if foreign_image_param(&task, image) {
                continue;
            }
            let captures = pinned
                .captures(image)
                .unwrap_or_else(|| panic!("{file}: {image} is not <repository>[:<tag>]@sha256:<digest>"));
            assert!(
                built.contains(&captures[1]),
                "{file}: step {} runs {image}, which .tekton/ does not build",
                step["name"]
            );
        }
    }
}

#[test]
fn pin_script_pins_tags_digests_and_containerfiles_and_checks_for_placeholders() {
    let scratch = tempfile::tempdir().unwrap();
    for folder in ["hack", "tekton", ".tekton", "containerfiles"] {
        crate::support::copy_dir(&repository().join(folder), &scratch.path().join(folder));
    }
    let run = |args: &[&str]| {
        std::process::Command::new("bash").arg(scratch.path().join("hack/pin-images.sh")).args(args).output().unwrap()
    };
    let digest = |byte: &str| format!("sha256:{}", byte.repeat(32));
    let text = |file: &str| std::fs::read_to_string(scratch.path().join(file)).unwrap();
    // Today: the Tasks carry placeholders, so --check fails and names them.
    let check = run(&["--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", String::from_utf8_lossy(&check.stdout));
    assert!(String::from_utf8_lossy(&check.stderr).contains("rhdh-catalog-fetch.yaml"));
    for (reference, byte) in [
        ("quay.io/rhdh-community/rhdh-catalog", "ab"),
        ("quay.io/rhdh-community/rhdh-catalog-exporter", "cd"),
        ("quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-oci-ta:devel", "ef"),
        ("registry.access.redhat.com/ubi9/ubi-minimal:9.6", "12"),
    ] {
        let output = run(&[reference, &digest(byte)]);
        assert!(output.status.success(), "{reference}: {}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(
        text(".tekton/rhdh-catalog-push.yaml")
            .contains(&format!("pipeline-docker-build-oci-ta:devel@{}\n", digest("ef")))
    );
    assert!(
        text("containerfiles/rhdh-catalog.Containerfile")
            .contains(&format!("ubi-minimal:9.6@{} AS tool", digest("12")))
    );
    assert!(
        text("tekton/task/rhdh-catalog-export/0.1/rhdh-catalog-export.yaml")
            .contains(&format!("rhdh-catalog-exporter@{}", digest("cd")))
    );
    let check = run(&["--check"]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    // Pinning again replaces the digest instead of adding a second one.
    assert!(
        run(&["quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-oci-ta:devel", &digest("0f")]).status.success()
    );
    assert!(
        text(".tekton/rhdh-catalog-push.yaml")
            .contains(&format!("pipeline-docker-build-oci-ta:devel@{}\n", digest("0f")))
    );
    assert_eq!(
        run(&["quay.io/rhdh-community/rhdh-catalog", &digest("00")]).status.code(),
        Some(2),
        "the placeholder is no digest"
    );
    assert_eq!(run(&["quay.io/nowhere/image:1", &digest("ab")]).status.code(), Some(2));
}

// ------------------------------------------------------------------------------------------------
// 6. Hermetic, prefetched, pinned image builds.

/// The instructions of a Containerfile, continuation lines joined, comments and blank lines left out.
fn containerfile_instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

fn containerfile_problems(file: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    let from = Regex::new(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$").unwrap();
    let pinned = Regex::new(r"^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$").unwrap();
    let network = Regex::new(
        r"\b(npm (install|i|add|update)|yarn (add|install)|pnpm|curl|wget|pip3? install|cargo (install|fetch|update)|git clone|corepack (prepare|install)|go mod download)\b",
    )
    .unwrap();
    for instruction in containerfile_instructions(text) {
        let (keyword, rest) = instruction.split_once(' ').unwrap_or((&instruction, ""));
        match keyword.to_uppercase().as_str() {
            "FROM" => {
                let Some(captures) = from.captures(&instruction) else {
                    problems.push(format!("{file}: cannot read `{instruction}`"));
                    continue;
                };
                let image = &captures[1];
                if !stages.iter().any(|stage| stage == image) {
                    if !pinned.is_match(image) {
                        problems.push(format!("{file}: base image {image} is not <image>:<tag>@sha256:<digest>"));
                    } else if is_placeholder_digest(image) {
                        problems.push(format!("{file}: base image {image} has the placeholder digest"));
                    }
                }
                stages.push(captures.get(2).map_or_else(|| stages.len().to_string(), |name| name.as_str().to_string()));
            }
            "RUN" => {
                if let Some(found) = network.find(rest) {
                    problems.push(format!("{file}: `{}` needs the network: {rest}", found.as_str()));
                }
                if rest.contains("cargo build") && !(rest.contains("--offline") && rest.contains("--locked")) {
                    problems.push(format!("{file}: cargo build without --offline --locked"));
                }
                if rest.contains("npm ci") && !rest.contains("--offline") {
                    problems.push(format!("{file}: npm ci without --offline"));
                }
            }
            "COPY" | "ADD" => {
                if keyword.eq_ignore_ascii_case("ADD") {
                    problems.push(format!("{file}: ADD may fetch URLs; use COPY"));
                }
                let words: Vec<&str> = rest
                    .split_whitespace()
                    .filter(|word| !word.starts_with("--chown") && !word.starts_with("--chmod"))
                    .collect();
                if words.first().is_some_and(|word| word.starts_with("--from=")) {
                    continue;
                }
                for source in &words[..words.len().saturating_sub(1)] {
                    if !repository().join(source.trim_end_matches('/')).exists() {
                        problems.push(format!("{file}: COPY {source}: no such file in the build context"));
                    }
                }
            }
            _ => {}
        }
    }
    problems
}

#[test]
fn containerfiles_build_offline_from_pinned_base_images() {
    let mut problems = Vec::new();
    let files: Vec<String> = files_under(&repository().join("containerfiles"))
        .into_iter()
        .filter(|file| file.ends_with(".Containerfile"))
        .map(|file| format!("containerfiles/{file}"))
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in files {
        problems.extend(containerfile_problems(&file, &read(&file)));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The check itself.
    let bad = "FROM registry.access.redhat.com/ubi9/ubi:latest AS build\nRUN cargo build --release\nCOPY nowhere/ /x\nFROM build\nRUN npm install -g yarn \\\n && curl -O x\nADD https://x /y\n";
    let found = containerfile_problems("bad", bad);
    for expected in
        ["ubi:latest is not", "cargo build without", "COPY nowhere/", "`npm install` needs", "ADD may fetch"]
    {
        assert!(found.iter().any(|problem| problem.contains(expected)), "{expected}: {found:#?}");
    }
    assert!(!found.iter().any(|problem| problem.contains("base image build")), "a stage name is no base image");
}

/// The file a prefetch-input type reads in its folder (for rpm: the input rpms.lock.yaml is
/// generated from, see containerfiles/README.md).
fn prefetch_input_file(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "cargo" => "Cargo.lock",
        "npm" => "package-lock.json",
        "yarn" => "yarn.lock",
        "rpm" => "rpms.in.yaml",
        "generic" => "artifacts.lock.yaml",
        "gomod" => "go.sum",
        "pip" => "requirements.txt",
        _ => return None,
    })
}

fn rpm_packages(folder: &str) -> Vec<String> {
    let input = yaml_text(folder, &read(&format!("{folder}/rpms.in.yaml")));
    input["packages"].as_array().unwrap().iter().map(|package| package.as_str().unwrap().to_string()).collect()
}

#[test]
fn image_builds_are_hermetic_and_prefetch_every_lockfile() {
    let builds = tekton_builds();
    assert!(builds.len() >= 2);
    let install = Regex::new(r"\b(?:micro)?dnf install ([^&;|]+)").unwrap();
    let lockfiles = BTreeMap::from([
        ("Cargo.lock", "cargo"),
        ("package-lock.json", "npm"),
        ("yarn.lock", "yarn"),
        ("rpms.lock.yaml", "rpm"),
    ]);
    for (file, run) in &builds {
        assert_eq!(
            param(run, "hermetic"),
            Some("true"),
            "{file}: Conforma's hermetic_build_task wants hermetic builds"
        );
        let text = param(run, "prefetch-input").unwrap_or_else(|| panic!("{file}: no prefetch-input"));
        let entries: Vec<Value> =
            serde_json::from_str(text).unwrap_or_else(|error| panic!("{file}: prefetch-input: {error}"));
        let mut named: BTreeSet<(String, String)> = BTreeSet::new();
        for entry in &entries {
            let (kind, path) = (entry["type"].as_str().unwrap(), entry["path"].as_str().unwrap_or("."));
            let input = prefetch_input_file(kind).unwrap_or_else(|| panic!("{file}: prefetch type {kind}"));
            assert!(repository().join(path).join(input).is_file(), "{file}: prefetch {kind} at {path}: no {input}");
            assert!(named.insert((kind.to_string(), path.to_string())), "{file}: {kind} at {path} twice");
        }
        // Every lockfile the Containerfile uses is prefetched.
        let dockerfile = param(run, "dockerfile").unwrap();
        let containerfile = read(dockerfile);
        for instruction in containerfile_instructions(&containerfile) {
            let Some(rest) = instruction.strip_prefix("COPY ") else { continue };
            for word in rest.split_whitespace().filter(|word| !word.starts_with("--")) {
                let path = PathBuf::from(word);
                let Some(name) = path.file_name().and_then(|name| name.to_str()) else { continue };
                if let Some(kind) = lockfiles.get(name) {
                    let folder =
                        path.parent().map(|parent| parent.display().to_string()).filter(|parent| !parent.is_empty());
                    let folder = folder.unwrap_or_else(|| ".".to_string());
                    assert!(
                        named.contains(&((*kind).to_string(), folder.clone())),
                        "{file}: {dockerfile} copies {word}, not prefetched ({kind} at {folder})"
                    );
                }
            }
        }
        // Every RPM the Containerfile installs is in an rpms.in.yaml the build prefetches.
        let prefetched: BTreeSet<String> =
            named.iter().filter(|(kind, _)| kind == "rpm").flat_map(|(_, folder)| rpm_packages(folder)).collect();
        for captures in install.captures_iter(&containerfile) {
            for package in captures[1].split_whitespace().filter(|word| !word.starts_with('-')) {
                assert!(
                    prefetched.contains(package),
                    "{file}: {dockerfile} installs {package}, which no prefetched rpms.in.yaml names"
                );
            }
        }
        // Every lockfile in a prefetched folder is named (none left behind).
        for (_, folder) in &named {
            for (lockfile, kind) in &lockfiles {
                if repository().join(folder).join(lockfile).is_file() && (*kind != "cargo" || folder == ".") {
                    assert!(
                        named.contains(&((*kind).to_string(), folder.clone())),
                        "{file}: {folder}/{lockfile} exists but is not prefetched"
                    );
                }
            }
        }
    }
    // Each rpms.in.yaml resolves against a stage that exists.
    for folder in
        files_under(&repository().join("containerfiles/rpms")).into_iter().filter(|file| file.ends_with("rpms.in.yaml"))
    {
        let path = format!("containerfiles/rpms/{folder}");
        let input = yaml_text(&path, &read(&path));
        let base = PathBuf::from(&path).parent().unwrap().to_path_buf();
        let containerfile = base.join(input["context"]["containerfile"]["file"].as_str().unwrap());
        let stage = input["context"]["containerfile"]["stageName"].as_str().unwrap();
        let text = read(&containerfile.display().to_string());
        assert!(
            text.lines().any(|line| line.starts_with("FROM ") && line.ends_with(&format!(" AS {stage}"))),
            "{path}: stage {stage}"
        );
        for repofile in input["contentOrigin"]["repofiles"].as_array().unwrap() {
            assert!(repository().join(&base).join(repofile.as_str().unwrap()).is_file(), "{path}: {repofile}");
        }
    }
}
