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
    // `/sync` alone or followed by white space, never a longer word (PaC matches the RE2 expression
    // against the whole comment, docs/content/docs/guides/event-matching/comment-and-label.md).
    let pattern = annotation(&run, "pipelinesascode.tekton.dev/on-comment").unwrap();
    assert_eq!(pattern, r"^/sync(\s|$)", "{file}");
    let regex = Regex::new(pattern).unwrap();
    for (comment, starts) in [
        ("/sync", true),
        ("/sync please", true),
        ("/sync\nafter the fix", true),
        ("/synchronize", false),
        ("/sync-all", false),
        ("/sync:now", false),
        ("please /sync", false),
        (" /sync", false),
    ] {
        assert_eq!(regex.is_match(comment), starts, "{file}: {comment:?}");
    }
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
    // A token that expires before the commit task pushes is refused here too, naming the Secret.
    assert!(args.contains(&"--push-within=$(params.push-within)"), "{file}: {args:?}");
    assert!(args.contains(&"--push-secret=$(params.git-auth-secret)"), "{file}: {args:?}");
    let push_within = named(&task["spec"]["params"], "push-within").unwrap()["default"].as_str().unwrap();
    for (run_file, run) in pipeline_runs().into_iter().filter(|(file, _)| file.starts_with("tekton/pac/")) {
        let whole = go_duration(run["spec"]["timeouts"]["pipeline"].as_str().unwrap()).unwrap();
        assert!(
            go_duration(push_within).unwrap() >= whole,
            "{file}: push-within {push_within} is shorter than {run_file}'s timeouts.pipeline"
        );
    }
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
        if file.starts_with(".tekton/") {
            // The image builds run Konflux's build pipeline (.tekton/rhdh-catalog-build-pipeline.yaml),
            // whose Tasks carry their own timeouts; checked in section 7.
            continue;
        }
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
        inputs.push(".tekton/rhdh-catalog-build-pipeline.yaml".to_string());
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

/// Whether a bundle reference is `<repository>:<tag>@sha256:<digest>` with a real digest: Conforma's
/// `trusted_task.tagged` wants the tag, `trusted_task.pinned` and `tasks.pinned_task_refs` the
/// digest (enterprise-contract/ec-policies b54db5ab6399666dc16d584c66693955a9786c93,
/// policy/release/trusted_task/trusted_task.rego, policy/release/tasks/tasks.rego).
fn bundle_problem(bundle: &str) -> Option<String> {
    let pinned = Regex::new(r"^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$").unwrap();
    if !pinned.is_match(bundle) {
        Some(format!("bundle {bundle} is not <repository>:<tag>@sha256:<digest>"))
    } else if is_placeholder_digest(bundle) {
        Some(format!("bundle {bundle} has the placeholder digest"))
    } else {
        None
    }
}

#[test]
fn every_bundle_is_tagged_and_pinned_to_a_real_digest() {
    let bundles = bundle_references();
    assert!(bundles.len() >= 15, "the sync Pipeline's git-clone-oci-ta and the build pipeline's Tasks: {bundles:?}");
    let problems: Vec<String> = bundles
        .iter()
        .filter_map(|(file, bundle)| bundle_problem(bundle).map(|problem| format!("{file}: {problem}")))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    // No PipelineRun takes a whole pipeline from a bundle by a floating tag (the old
    // `pipeline-docker-build-oci-ta:devel`), and the check itself refuses one.
    assert!(bundle_problem("quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-oci-ta:devel").is_some());
    assert!(
        bundle_problem(&format!("quay.io/konflux-ci/tekton-catalog/task-init@sha256:{}", "ab".repeat(32))).is_some()
    );
    assert!(bundle_problem(&format!("quay.io/x/task-init:0.1@sha256:{}", "0".repeat(64))).is_some());
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

/// A copy of what hack/pin-images.sh reads and writes, and a runner of the script in it.
fn pin_scratch() -> (tempfile::TempDir, impl Fn(&[&str]) -> std::process::Output) {
    let scratch = tempfile::tempdir().unwrap();
    for folder in ["hack", "tekton", ".tekton", "containerfiles"] {
        crate::support::copy_dir(&repository().join(folder), &scratch.path().join(folder));
    }
    let script = scratch.path().join("hack/pin-images.sh");
    let run = move |args: &[&str]| std::process::Command::new("bash").arg(&script).args(args).output().unwrap();
    (scratch, run)
}

fn text_of(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn pin_script_pins_tags_digests_and_containerfiles_and_checks_for_placeholders() {
    let (scratch, run) = pin_scratch();
    let digest = |byte: &str| format!("sha256:{}", byte.repeat(32));
    let text = |file: &str| std::fs::read_to_string(scratch.path().join(file)).unwrap();
    // Today: the Tasks carry placeholders, so --check fails and names them.
    let check = run(&["--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", text_of(&check));
    assert!(String::from_utf8_lossy(&check.stderr).contains("rhdh-catalog-fetch.yaml"));
    assert!(check.stdout.is_empty(), "what is not pinned goes to stderr");
    for (reference, byte) in [
        ("quay.io/rhdh-community/rhdh-catalog", "ab"),
        ("quay.io/rhdh-community/rhdh-catalog-exporter", "cd"),
        ("quay.io/konflux-ci/tekton-catalog/task-init:0.4.2", "ef"),
        ("registry.access.redhat.com/ubi9/s2i-base:latest", "12"),
    ] {
        let output = run(&[reference, &digest(byte)]);
        assert!(output.status.success(), "{reference}: {}", text_of(&output));
        assert!(String::from_utf8_lossy(&output.stdout).starts_with(&format!("pinned {reference}@{}", digest(byte))));
    }
    assert!(text(".tekton/rhdh-catalog-build-pipeline.yaml").contains(&format!("task-init:0.4.2@{}\n", digest("ef"))));
    assert!(
        text("containerfiles/rhdh-catalog.Containerfile")
            .contains(&format!("s2i-base:latest@{} AS tool", digest("12")))
    );
    assert!(
        text("tekton/task/rhdh-catalog-export/0.1/rhdh-catalog-export.yaml")
            .contains(&format!("rhdh-catalog-exporter@{}", digest("cd")))
    );
    // A release tag's tree: --check prints nothing at all and succeeds.
    let check = run(&["--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text_of(&check));
    assert_eq!(text_of(&check), "", "--check on a releasable tree prints nothing");
    // Pinning again replaces the digest instead of adding a second one.
    assert!(run(&["quay.io/konflux-ci/tekton-catalog/task-init:0.4.2", &digest("0f")]).status.success());
    assert!(text(".tekton/rhdh-catalog-build-pipeline.yaml").contains(&format!("task-init:0.4.2@{}\n", digest("0f"))));
    let refused = run(&["quay.io/rhdh-community/rhdh-catalog", &digest("00")]);
    assert_eq!(refused.status.code(), Some(2), "the placeholder is no digest");
    assert!(text_of(&refused).contains("is the placeholder, not a digest"), "{}", text_of(&refused));
    let nowhere = run(&["quay.io/nowhere/image:1", &digest("ab")]);
    assert_eq!(nowhere.status.code(), Some(2));
    assert!(text_of(&nowhere).contains("quay.io/nowhere/image:1@sha256:… appears in no file"), "{}", text_of(&nowhere));
    // A bundle that lost its digest, or PaC templates naming two tags, make the tree unreleasable.
    let pipeline = text(".tekton/rhdh-catalog-build-pipeline.yaml");
    let unpinned =
        Regex::new(r"(task-clair-scan:0\.3)@sha256:[0-9a-f]{64}").unwrap().replace(&pipeline, "$1").into_owned();
    std::fs::write(scratch.path().join(".tekton/rhdh-catalog-build-pipeline.yaml"), &unpinned).unwrap();
    let check = run(&["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(text_of(&check).contains("task-clair-scan:0.3"), "{}", text_of(&check));
    std::fs::write(scratch.path().join(".tekton/rhdh-catalog-build-pipeline.yaml"), &pipeline).unwrap();
    let comment = text("tekton/pac/rhdh-catalog-sync-comment.yaml");
    std::fs::write(
        scratch.path().join("tekton/pac/rhdh-catalog-sync-comment.yaml"),
        comment.replacen("/v0.1.0/", "/v0.2.0/", 1),
    )
    .unwrap();
    let check = run(&["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(text_of(&check).contains("instead of one release tag"), "{}", text_of(&check));
    // --release points every Pipeline and Task URL of the templates at one tag.
    let release = run(&["--release", "v1.2.3"]);
    assert!(release.status.success(), "{}", text_of(&release));
    let url = Regex::new(r"raw\.githubusercontent\.com/redhat-developer/rhdh-catalog/([^/]+)/").unwrap();
    for file in ["tekton/pac/rhdh-catalog-sync-comment.yaml", "tekton/pac/rhdh-catalog-sync-push.yaml"] {
        let urls: BTreeSet<String> = url.captures_iter(&text(file)).map(|captures| captures[1].to_string()).collect();
        assert_eq!(urls, BTreeSet::from(["v1.2.3".to_string()]), "{file}");
    }
    assert_eq!(run(&["--check"]).status.code(), Some(0));
    let bad = run(&["--release", "1.2"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text_of(&bad).contains("1.2 is not v<major>.<minor>.<patch>"), "{}", text_of(&bad));
}

/// A PipelineRun as `kubectl get pipelinerun -o json` shows a finished Konflux build.
fn build_run(succeeded: &str, results: &[(&str, &str)]) -> String {
    serde_json::json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": "rhdh-catalog-on-push-x7k2p", "labels": {"appstudio.openshift.io/component": "rhdh-catalog"}},
        "status": {
            "conditions": [{"type": "Succeeded", "status": succeeded, "reason": if succeeded == "True" { "Succeeded" } else { "Failed" }}],
            "results": results.iter().map(|(name, value)| serde_json::json!({"name": name, "value": value})).collect::<Vec<_>>(),
        }
    })
    .to_string()
}

#[test]
fn pin_script_pins_the_image_a_build_reports() {
    let (scratch, run) = pin_scratch();
    let digest = format!("sha256:{}", "4e".repeat(32));
    let file = scratch.path().join("run.json");
    let pin = |json: &str| {
        std::fs::write(&file, json).unwrap();
        run(&["--from-build", file.to_str().unwrap()])
    };
    let url = "quay.io/rhdh-community/rhdh-catalog:0123456789abcdef0123456789abcdef01234567";
    let output = pin(&build_run("True", &[("IMAGE_URL", url), ("IMAGE_DIGEST", &format!("{digest}\n"))]));
    assert!(output.status.success(), "{}", text_of(&output));
    let fetch =
        std::fs::read_to_string(scratch.path().join("tekton/task/rhdh-catalog-fetch/0.1/rhdh-catalog-fetch.yaml"))
            .unwrap();
    assert!(fetch.contains(&format!("image: quay.io/rhdh-community/rhdh-catalog@{digest}")), "{fetch}");
    let export =
        std::fs::read_to_string(scratch.path().join("tekton/task/rhdh-catalog-export/0.1/rhdh-catalog-export.yaml"))
            .unwrap();
    assert!(export.contains("rhdh-catalog-exporter@sha256:0000"), "another repository is left alone");
    // A failed build, or one without the results, pins nothing.
    let failed = pin(&build_run("False", &[("IMAGE_URL", url), ("IMAGE_DIGEST", &digest)]));
    assert_eq!(failed.status.code(), Some(2));
    assert!(
        text_of(&failed).contains("rhdh-catalog-on-push-x7k2p has not succeeded (condition Succeeded: False)"),
        "{}",
        text_of(&failed)
    );
    let empty = pin(&build_run("True", &[]));
    assert_eq!(empty.status.code(), Some(2));
    assert!(text_of(&empty).contains("has no IMAGE_URL and IMAGE_DIGEST results"), "{}", text_of(&empty));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn pin_script_resolves_base_image_tags_with_the_registry() {
    let registry = crate::support::Registry::shared();
    let (scratch, run) = pin_scratch();
    // A base image served by a real registry under a tag, and a Containerfile naming that tag with a stale digest.
    let repository = format!("{}/{}/base", registry.host, crate::support::unique_namespace());
    let layout = scratch.path().join("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = sha256_hex(config);
    std::fs::write(layout.join("blobs/sha256").join(&config_digest), config).unwrap();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": []}).to_string();
    let manifest_digest = sha256_hex(manifest.as_bytes());
    std::fs::write(layout.join("blobs/sha256").join(&manifest_digest), &manifest).unwrap();
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(layout.join("index.json"), serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{manifest_digest}"), "size": manifest.len()}]}).to_string()).unwrap();
    crate::support::skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}", layout.display()),
        &format!("docker://{repository}:9.8"),
    ]);
    let stale = format!("sha256:{}", "5a".repeat(32));
    std::fs::remove_dir_all(scratch.path().join("containerfiles")).unwrap();
    std::fs::create_dir_all(scratch.path().join("containerfiles")).unwrap();
    std::fs::write(
        scratch.path().join("containerfiles/x.Containerfile"),
        format!("FROM {repository}:9.8@{stale} AS base\nFROM base\n"),
    )
    .unwrap();
    let output = std::process::Command::new("bash")
        .arg(scratch.path().join("hack/pin-images.sh"))
        .arg("--base-images")
        .env("PIN_IMAGES_TLS_VERIFY", "false")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text_of(&output));
    let text = std::fs::read_to_string(scratch.path().join("containerfiles/x.Containerfile")).unwrap();
    assert_eq!(text, format!("FROM {repository}:9.8@sha256:{manifest_digest} AS base\nFROM base\n"));
    // A tag the registry does not have: exit 3, nothing rewritten.
    std::fs::write(scratch.path().join("containerfiles/x.Containerfile"), format!("FROM {repository}:gone@{stale}\n"))
        .unwrap();
    let missing = std::process::Command::new("bash")
        .arg(scratch.path().join("hack/pin-images.sh"))
        .arg("--base-images")
        .env("PIN_IMAGES_TLS_VERIFY", "false")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3), "{}", text_of(&missing));
    assert!(
        text_of(&missing).contains(&format!("{repository}:gone: the registry did not answer with a digest")),
        "{}",
        text_of(&missing)
    );
    drop(run);
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

/// The lockfile Hermeto (Konflux's prefetch-dependencies) reads for a prefetch-input type, in the
/// input's folder. For `rpm` that is `rpms.lock.yaml` (generated from `rpms.in.yaml` by
/// rpm-lockfile-prototype): an `rpms.in.yaml` alone prefetches nothing and fails the prefetch.
fn prefetch_lockfile(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "cargo" => "Cargo.lock",
        "npm" => "package-lock.json",
        "yarn" => "yarn.lock",
        "rpm" => "rpms.lock.yaml",
        "generic" => "artifacts.lock.yaml",
        "gomod" => "go.sum",
        "pip" => "requirements.txt",
        "bundler" => "Gemfile.lock",
        _ => return None,
    })
}

/// The packages an `rpms.lock.yaml` pins (`arches[].packages[].name`).
fn locked_rpms(text: &str) -> BTreeSet<String> {
    let lock = yaml_text("rpms.lock.yaml", text);
    lock["arches"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|arch| arch["packages"].as_array().cloned().unwrap_or_default())
        .filter_map(|package| package["name"].as_str().map(str::to_string))
        .collect()
}

/// The packages a Containerfile installs with a package manager (`dnf`, `microdnf`, `yum`,
/// `rpm -i`/`-U`), per instruction.
fn installed_packages(containerfile: &str) -> Vec<String> {
    let install =
        Regex::new(r"\b(?:(?:micro)?dnf|yum)\s+(?:-\S+\s+)*install\s+([^&;|]+)|\brpm\s+-[iU]\S*\s+([^&;|]+)").unwrap();
    let mut found = Vec::new();
    for instruction in containerfile_instructions(containerfile) {
        let Some(rest) = instruction.strip_prefix("RUN ") else { continue };
        for captures in install.captures_iter(rest) {
            let words = captures.get(1).or_else(|| captures.get(2)).map_or("", |group| group.as_str());
            found.extend(words.split_whitespace().filter(|word| !word.starts_with('-')).map(str::to_string));
        }
    }
    found
}

/// What keeps one hermetic build from prefetching everything it needs, with `file` a repository
/// file's text (None when it does not exist).
fn hermetic_problems(file: &str, run: &Value, read: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut problems = Vec::new();
    if param(run, "hermetic") != Some("true") {
        problems.push(format!("{file}: not hermetic (Conforma's hermetic_build_task.build_task_hermetic)"));
    }
    let lockfiles = BTreeMap::from([
        ("Cargo.lock", "cargo"),
        ("package-lock.json", "npm"),
        ("yarn.lock", "yarn"),
        ("rpms.lock.yaml", "rpm"),
        ("rpms.in.yaml", "rpm"),
    ]);
    let entries: Vec<Value> = match param(run, "prefetch-input").map(serde_json::from_str) {
        Some(Ok(Value::Array(entries))) => entries,
        Some(Ok(Value::Object(entry))) => vec![Value::Object(entry)],
        other => return [problems, vec![format!("{file}: prefetch-input is no JSON list: {other:?}")]].concat(),
    };
    let mut named: BTreeSet<(String, String)> = BTreeSet::new();
    let mut rpms: BTreeSet<String> = BTreeSet::new();
    for entry in &entries {
        let kind = entry["type"].as_str().unwrap_or_default();
        let path = entry["path"].as_str().unwrap_or(".").trim_end_matches('/').to_string();
        let Some(lockfile) = prefetch_lockfile(kind) else {
            problems.push(format!("{file}: prefetch type `{kind}` is not one Hermeto prefetches"));
            continue;
        };
        let location = if path == "." { lockfile.to_string() } else { format!("{path}/{lockfile}") };
        match read(&location) {
            None => problems.push(format!(
                "{file}: the hermetic build names the prefetch input {kind} at {path}, whose lockfile {location} is not in the repository: the prefetch fails and no image is built"
            )),
            Some(text) if kind == "rpm" => rpms.extend(locked_rpms(&text)),
            Some(_) => {}
        }
        if !named.insert((kind.to_string(), path.clone())) {
            problems.push(format!("{file}: {kind} at {path} twice"));
        }
    }
    let Some(dockerfile) = param(run, "dockerfile") else { return problems };
    let Some(containerfile) = read(dockerfile) else {
        return [problems, vec![format!("{file}: {dockerfile} does not exist")]].concat();
    };
    // Every lockfile the Containerfile copies is prefetched.
    for instruction in containerfile_instructions(&containerfile) {
        let Some(rest) = instruction.strip_prefix("COPY ") else { continue };
        for word in rest.split_whitespace().filter(|word| !word.starts_with("--")) {
            let path = PathBuf::from(word);
            let Some(name) = path.file_name().and_then(|name| name.to_str()) else { continue };
            if let Some(kind) = lockfiles.get(name) {
                let folder =
                    path.parent().map(|parent| parent.display().to_string()).filter(|parent| !parent.is_empty());
                let folder = folder.unwrap_or_else(|| ".".to_string());
                if !named.contains(&((*kind).to_string(), folder.clone())) {
                    problems.push(format!(
                        "{file}: {dockerfile} copies {word}, which is not prefetched ({kind} at {folder})"
                    ));
                }
            }
        }
    }
    // Every package the Containerfile installs is in a prefetched rpms.lock.yaml.
    for package in installed_packages(&containerfile) {
        if !rpms.contains(&package) {
            problems.push(format!(
                "{file}: {dockerfile} installs the RPM {package}, which no prefetched rpms.lock.yaml pins: a hermetic build cannot download it"
            ));
        }
    }
    // Every lockfile in a prefetched folder is named (none left behind).
    for (_, folder) in &named {
        for (lockfile, kind) in &lockfiles {
            let location = if folder == "." { (*lockfile).to_string() } else { format!("{folder}/{lockfile}") };
            if read(&location).is_some()
                && (*kind != "cargo" || folder == ".")
                && !named.contains(&((*kind).to_string(), folder.clone()))
            {
                problems.push(format!("{file}: {location} exists but is not prefetched"));
            }
        }
    }
    problems
}

#[test]
fn image_builds_are_hermetic_and_prefetch_only_what_has_a_lockfile() {
    let builds = tekton_builds();
    assert_eq!(builds.len(), 4, "{:?}", builds.iter().map(|(file, _)| file).collect::<Vec<_>>());
    let from_repository = |relative: &str| std::fs::read_to_string(repository().join(relative)).ok();
    let mut problems = Vec::new();
    for (file, run) in &builds {
        problems.extend(hermetic_problems(file, run, &from_repository));
    }
    // An rpms.in.yaml anywhere without the rpms.lock.yaml Hermeto reads beside it is a half-done lock.
    for file in repository_files().iter().filter(|file| file.ends_with("rpms.in.yaml")) {
        let lock = file.replace("rpms.in.yaml", "rpms.lock.yaml");
        if !repository().join(&lock).is_file() {
            problems.push(format!("{file}: no {lock} beside it (hack/…: rpm-lockfile-prototype)"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");

    // The check itself, on the shape of the builds before: rpm inputs with only rpms.in.yaml, a
    // Containerfile installing RPMs.
    let files: BTreeMap<&str, &str> = BTreeMap::from([
        ("Cargo.lock", "# lock"),
        ("x/rpms.in.yaml", "packages: [git-core]"),
        ("y/rpms.in.yaml", "packages: [patch]"),
        (
            "y/rpms.lock.yaml",
            "lockfileVersion: 1\narches:\n  - arch: x86_64\n    packages:\n      - {name: patch, evr: 2.7.6-1.el9}\n",
        ),
        (
            "c.Containerfile",
            "FROM registry.access.redhat.com/ubi9/ubi:9@sha256:0 AS b\nRUN microdnf install -y --nodocs git-core \\\n patch && microdnf clean all\nCOPY Cargo.lock ./\n",
        ),
    ]);
    let read = |relative: &str| files.get(relative).map(|text| (*text).to_string());
    let old = yaml_text(
        "old",
        r#"{"spec": {"params": [{"name": "hermetic", "value": "true"}, {"name": "dockerfile", "value": "c.Containerfile"},
            {"name": "prefetch-input", "value": "[{\"type\": \"cargo\", \"path\": \".\"}, {\"type\": \"rpm\", \"path\": \"x\"}, {\"type\": \"rpm\", \"path\": \"y\"}]"}]}}"#,
    );
    let found = hermetic_problems("old", &old, &read);
    assert!(
        found.iter().any(|problem| problem
            .contains("the prefetch input rpm at x, whose lockfile x/rpms.lock.yaml is not in the repository")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|problem| problem.contains("installs the RPM git-core, which no prefetched rpms.lock.yaml pins")),
        "{found:#?}"
    );
    assert!(!found.iter().any(|problem| problem.contains("RPM patch")), "patch is locked in y: {found:#?}");
    assert_eq!(found.len(), 2, "{found:#?}");
    let not_hermetic = yaml_text("n", r#"{"spec": {"params": [{"name": "prefetch-input", "value": "[]"}]}}"#);
    assert!(hermetic_problems("n", &not_hermetic, &read).iter().any(|problem| problem.contains("not hermetic")));
    assert_eq!(
        installed_packages("RUN dnf -y install a b && yum install c\nRUN rpm -ivh d.rpm\nRUN echo install e\n"),
        ["a", "b", "c", "d.rpm"]
    );
}

// ------------------------------------------------------------------------------------------------
// 7. The release policy: the Conforma `redhat` collection rules that apply to our two builds.
//
// Rules and their names: enterprise-contract/ec-policies b54db5ab6399666dc16d584c66693955a9786c93
// (policy/release/<package>/<package>.rego; the collection is policy/release/collection/redhat).
// The data they read in Red Hat's policy: release-engineering/rhtap-ec-policy
// df1123f847bde0108ec39d6a707d29e262735b36 (data/required_tasks.yml, data/rule_data.yml).
// Where a rule reads an attestation or an image that only a cluster makes, it is evaluated here on
// what produces them: the build Pipeline with each PipelineRun's params, and the Containerfiles.

/// `pipeline-required-tasks.docker` (and `.generic`, the same list) of data/required_tasks.yml,
/// effective 2025-04-01: each entry is satisfied by any one of its names. The key is the build
/// Task's `build.appstudio.redhat.com/build_type` label or the PipelineRun's
/// `pipelines.openshift.io/runtime` label (policy/lib/tekton/pipeline.rego,
/// pipeline_label_selector); our pipeline is labelled `generic`.
const REQUIRED_TASKS: [&[&str]; 12] = [
    &["buildah", "buildah-remote", "buildah-oci-ta", "buildah-remote-oci-ta"],
    &["clair-scan", "roxctl-scan"],
    &["clamav-scan"],
    &["deprecated-image-check"],
    &["git-clone", "git-clone-oci-ta"],
    &["init"],
    &["prefetch-dependencies", "prefetch-dependencies-oci-ta"],
    &["rpms-signature-scan"],
    &["sast-shell-check", "sast-shell-check-oci-ta"],
    &["sast-snyk-check", "sast-snyk-check-oci-ta"],
    &["sast-unicode-check", "sast-unicode-check-oci-ta"],
    &["source-build", "source-build-oci-ta"],
];

/// `required_labels` of data/rule_data.yml (cpe and org.opencontainers.image.created effective
/// 2026-06-07), read by `labels.required_labels`.
const REQUIRED_LABELS: [&str; 13] = [
    "com.redhat.component",
    "description",
    "distribution-scope",
    "io.k8s.description",
    "name",
    "release",
    "url",
    "vcs-ref",
    "vcs-type",
    "vendor",
    "version",
    "org.opencontainers.image.created",
    "cpe",
];

/// Labels the build task sets on every image it builds (konflux-build-cli `image build`
/// `--image-revision` and `--add-legacy-labels` in buildah-oci-ta/buildah-remote-oci-ta 0.10): a
/// Containerfile need not, and cannot, set them to the commit and time of the build.
const LABELS_OF_THE_BUILD: [&str; 2] = ["vcs-ref", "org.opencontainers.image.created"];

/// `disallowed_inherited_labels` of data/rule_data.yml (`labels.disallowed_inherited_labels`): the
/// image must not carry its parent's value.
const DISALLOWED_INHERITED_LABELS: [&str; 7] = [
    "description",
    "io.k8s.description",
    "io.k8s.display-name",
    "io.openshift.tags",
    "summary",
    "name",
    "com.redhat.component",
];

/// `deprecated_labels` of data/rule_data.yml (`labels.deprecated_labels`).
const DEPRECATED_LABELS: [&str; 8] =
    ["INSTALL", "Architecture", "BZComponent", "Name", "RUN", "Release", "UNINSTALL", "Version"];

/// `allowed_registry_prefixes` of data/rule_data.yml (`base_image_registries.base_image_permitted`,
/// which counts builder stages too: `konflux:container:is_builder_image:for_stage`).
const ALLOWED_BASE_IMAGE_PREFIXES: [&str; 13] = [
    "registry.access.redhat.com/",
    "registry.redhat.io/",
    "quay.io/konflux-ci/yq",
    "quay.io/konflux-ci/bazel5-ubi8",
    "quay.io/konflux-ci/bazel6-ubi9",
    "quay.io/konflux-ci/bazel7-ubi9",
    "quay.io/konflux-ci/operator-sdk-builder",
    "quay.io/konflux-ci/yarn3-nodejs20-ubi9-minimal",
    "quay.io/konflux-ci/yarn4-nodejs22-ubi9-minimal",
    "quay.io/konflux-ci/git-clone",
    "brew.registry.redhat.io/rh-osbs/openshift-golang-builder",
    "brew.registry.redhat.io/rh-osbs/openshift-ose-operator-registry-rhel9",
    "brew.registry.redhat.io/rh-osbs/rhacm2-nodejs-parent",
];

/// The one base image outside that list, and only as a builder stage (containerfiles/README.md):
/// Konflux's Rust toolchain image. A release under the Red Hat policy adds it to the policy's
/// `allowed_registry_prefixes`.
const TOOLCHAIN_BUILDER: &str = "quay.io/konflux-ci/rust-builder:";

/// Where the trusted Task bundles come from: the `trusted_tasks` data Konflux publishes
/// (quay.io/konflux-ci/tekton-catalog/data-acceptable-bundles) lists bundles of this repository
/// (`trusted_task.trusted`).
const TRUSTED_TASK_REPOSITORY: &str = "quay.io/konflux-ci/tekton-catalog/task-";

/// `$(params.<name>)` of `text` replaced by the run's value or the Pipeline's default.
fn resolve_params(text: &str, values: &BTreeMap<String, Value>) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        let replacement = match value {
            Value::String(text) => text.clone(),
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
            other => other.to_string(),
        };
        out = out.replace(&format!("$(params.{name})"), &replacement);
    }
    out
}

/// A Pipeline's param values for a run: the run's, else the Pipeline's defaults.
fn run_params(pipeline: &Value, run: &Value) -> BTreeMap<String, Value> {
    let mut values = BTreeMap::new();
    for declared in pipeline["spec"]["params"].as_array().into_iter().flatten() {
        if let (Some(name), Some(default)) = (declared["name"].as_str(), declared.get("default")) {
            values.insert(name.to_string(), default.clone());
        }
    }
    for given in run["spec"]["params"].as_array().into_iter().flatten() {
        if let Some(name) = given["name"].as_str() {
            values.insert(name.to_string(), given["value"].clone());
        }
    }
    values
}

/// The tasks of `pipeline` that run for `run` (their `when` expressions evaluated on the run's
/// params), as (pipeline task, Task name from the bundle, the task entry).
fn tasks_that_run<'a>(pipeline: &'a Value, run: &Value) -> Vec<(String, String, &'a Value)> {
    let values = run_params(pipeline, run);
    let mut running = Vec::new();
    for task in pipeline["spec"]["tasks"].as_array().into_iter().flatten() {
        let runs = task["when"].as_array().into_iter().flatten().all(|when| {
            let input = resolve_params(when["input"].as_str().unwrap_or_default(), &values);
            let listed = when["values"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|value| resolve_params(value.as_str().unwrap_or_default(), &values) == input);
            (when["operator"] == "in") == listed
        });
        if runs {
            let name = task["taskRef"]["params"]
                .as_array()
                .and_then(|params| params.iter().find(|param| param["name"] == "name"))
                .and_then(|param| param["value"].as_str())
                .unwrap_or_default();
            running.push((task["name"].as_str().unwrap_or_default().to_string(), name.to_string(), task));
        }
    }
    running
}

/// The build pipeline a `.tekton/` PipelineRun names (inlined by PaC from `.tekton/`).
fn build_pipeline_of(file: &str, run: &Value) -> Value {
    let name = run["spec"]["pipelineRef"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{file}: pipelineRef must name the Pipeline of .tekton/ (no floating bundle)"));
    yaml_files(&[".tekton"])
        .into_iter()
        .map(|other| yaml_text(&other, &read(&other)))
        .find(|document| document["kind"] == "Pipeline" && document["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{file}: no Pipeline {name} in .tekton/"))
}

/// What the Conforma `redhat` collection would find wrong with the pipeline a build runs.
fn pipeline_policy_problems(file: &str, pipeline: &Value, run: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let running = tasks_that_run(pipeline, run);
    let names: BTreeSet<&str> = running.iter().map(|(_, name, _)| name.as_str()).collect();
    for required in REQUIRED_TASKS {
        if !required.iter().any(|name| names.contains(name)) {
            problems.push(format!("{file}: tasks.required_tasks_found: one of {required:?} is missing"));
        }
    }
    if param(run, "build-source-image") != Some("true") || !names.contains("source-build-oci-ta") {
        problems.push(format!(
            "{file}: source_image.exists: no source image is built (build-source-image is not \"true\")"
        ));
    }
    let values = run_params(pipeline, run);
    for (task, name, entry) in &running {
        let bundle = entry["taskRef"]["params"]
            .as_array()
            .and_then(|params| params.iter().find(|param| param["name"] == "bundle"))
            .and_then(|param| param["value"].as_str());
        match bundle {
            None => problems.push(format!("{file}: {task}: tasks.pinned_task_refs: not a bundle reference")),
            Some(bundle) => {
                if let Some(problem) = bundle_problem(bundle) {
                    problems.push(format!("{file}: {task}: trusted_task.pinned: {problem}"));
                }
                if !bundle.starts_with(TRUSTED_TASK_REPOSITORY) {
                    problems.push(format!(
                        "{file}: {task}: trusted_task.trusted: {bundle} is not a Konflux catalog bundle"
                    ));
                }
            }
        }
        if name.starts_with("buildah") {
            let given = |param_name: &str| {
                entry["params"]
                    .as_array()
                    .and_then(|params| params.iter().find(|param| param["name"] == param_name))
                    .and_then(|param| param["value"].as_str())
                    .map(|value| resolve_params(value, &values))
            };
            if given("HERMETIC").as_deref() != Some("true") {
                problems.push(format!(
                    "{file}: hermetic_build_task.build_task_hermetic: {task} does not build with HERMETIC true"
                ));
            }
            let dockerfile = given("DOCKERFILE").unwrap_or_default();
            if dockerfile.starts_with("http://") || dockerfile.starts_with("https://") || dockerfile.is_empty() {
                problems.push(format!(
                    "{file}: buildah_build_task.buildah_uses_local_dockerfile: DOCKERFILE `{dockerfile}`"
                ));
            }
            if given("PRIVILEGED_NESTED").as_deref() == Some("true") {
                problems.push(format!("{file}: buildah_build_task.privileged_nested_param"));
            }
        }
    }
    problems
}

/// What a Containerfile builds: the `LABEL`s of its final stage, every base image with the stage
/// that uses it and whether that is the final stage, and the sources of its `COPY --from=`.
struct Stages {
    labels: BTreeMap<String, String>,
    images: Vec<(String, String, bool)>,
    copies_from: Vec<String>,
}

fn containerfile_stages(text: &str) -> Stages {
    let from = Regex::new(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$").unwrap();
    let pair = Regex::new(r#"([A-Za-z0-9._/-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))"#).unwrap();
    let instructions = containerfile_instructions(text);
    let last_from = instructions.iter().rposition(|instruction| instruction.starts_with("FROM ")).unwrap_or(0);
    let mut labels = BTreeMap::new();
    let mut images = Vec::new();
    let mut stage_names: Vec<String> = Vec::new();
    let mut copies_from = Vec::new();
    for (index, instruction) in instructions.iter().enumerate() {
        if let Some(captures) = from.captures(instruction) {
            let image = captures[1].to_string();
            let name = captures.get(2).map_or_else(|| index.to_string(), |name| name.as_str().to_string());
            if !stage_names.contains(&image) {
                images.push((image, name.clone(), index == last_from));
            }
            stage_names.push(name);
        } else if index > last_from && instruction.starts_with("LABEL ") {
            for captures in pair.captures_iter(&instruction["LABEL ".len()..]) {
                let value = captures.get(2).or_else(|| captures.get(3)).map_or("", |value| value.as_str());
                labels.insert(captures[1].to_string(), value.to_string());
            }
        } else if let Some(rest) = instruction.strip_prefix("COPY --from=") {
            copies_from.push(rest.to_string());
        }
    }
    Stages { labels, images, copies_from }
}

/// What the label and base image rules would find wrong with an image built from `text`.
fn containerfile_policy_problems(file: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Stages { labels, images, copies_from: copies } = containerfile_stages(text);
    for required in REQUIRED_LABELS.iter().filter(|label| !LABELS_OF_THE_BUILD.contains(label)) {
        if labels.get(*required).is_none_or(|value| value.trim().is_empty()) {
            problems.push(format!("{file}: labels.required_labels: the final stage does not set `{required}`"));
        }
    }
    for label in LABELS_OF_THE_BUILD {
        if labels.contains_key(label) {
            problems.push(format!("{file}: `{label}` is set by the build; a fixed value would be wrong"));
        }
    }
    if labels.get("vendor").map(String::as_str) != Some("Red Hat, Inc.") {
        problems.push(format!("{file}: labels.required_labels: vendor must be `Red Hat, Inc.`"));
    }
    for label in DISALLOWED_INHERITED_LABELS {
        if !labels.contains_key(label) {
            problems.push(format!(
                "{file}: labels.disallowed_inherited_labels: `{label}` would be inherited from the base image; set it in the final stage"
            ));
        }
    }
    for label in DEPRECATED_LABELS {
        if labels.contains_key(label) {
            problems.push(format!("{file}: labels.deprecated_labels: `{label}`"));
        }
    }
    if labels.contains_key("quay.expires-after") {
        problems.push(format!("{file}: quay_expiration.expires_label: the image would expire"));
    }
    for (image, stage, is_final) in &images {
        if ALLOWED_BASE_IMAGE_PREFIXES.iter().any(|prefix| image.starts_with(prefix)) {
            continue;
        }
        if image.starts_with(TOOLCHAIN_BUILDER) && !is_final {
            // The documented exception: only the compiled binary leaves the toolchain stage.
            let from_stage: Vec<&String> =
                copies.iter().filter(|copy| copy.starts_with(&format!("{stage} "))).collect();
            if from_stage.iter().all(|copy| copy.split_whitespace().nth(1) == Some("/src/target/release/rhdh-catalog"))
            {
                continue;
            }
            problems.push(format!(
                "{file}: more than the binary is copied from the toolchain stage {stage}: {from_stage:?}"
            ));
            continue;
        }
        problems.push(format!(
            "{file}: base_image_registries.base_image_permitted: {image} is from a registry the policy does not allow"
        ));
    }
    problems
}

#[test]
fn the_builds_meet_the_conforma_redhat_collection() {
    let mut problems = Vec::new();
    for (file, run) in tekton_builds() {
        let pipeline = build_pipeline_of(&file, &run);
        problems.extend(pipeline_policy_problems(&file, &pipeline, &run));
        let dockerfile = param(&run, "dockerfile").unwrap();
        problems.extend(containerfile_policy_problems(dockerfile, &read(dockerfile)));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_release_policy_checks_find_what_conforma_would_reject() {
    let (file, run) = tekton_builds().into_iter().find(|(file, _)| file.ends_with("rhdh-catalog-push.yaml")).unwrap();
    let pipeline = build_pipeline_of(&file, &run);
    // Without a source image: the source-build task does not run.
    let mut no_source = run.clone();
    for entry in no_source["spec"]["params"].as_array_mut().unwrap() {
        if entry["name"] == "build-source-image" {
            entry["value"] = Value::from("false");
        }
    }
    let found = pipeline_policy_problems(&file, &pipeline, &no_source);
    assert!(found.iter().any(|problem| problem.contains("required_tasks_found: one of [\"source-build\", \"source-build-oci-ta\"]")), "{found:#?}");
    assert!(found.iter().any(|problem| problem.contains("source_image.exists")), "{found:#?}");
    // Not hermetic, checks skipped, a bundle by tag only.
    let mut loose = run.clone();
    for entry in loose["spec"]["params"].as_array_mut().unwrap() {
        if entry["name"] == "hermetic" {
            entry["value"] = Value::from("false");
        }
    }
    loose["spec"]["params"].as_array_mut().unwrap().push(serde_json::json!({"name": "skip-checks", "value": "true"}));
    let mut floating = pipeline.clone();
    floating["spec"]["tasks"][0]["taskRef"]["params"][1]["value"] =
        Value::from("quay.io/konflux-ci/tekton-catalog/task-init:0.4");
    let found = pipeline_policy_problems(&file, &floating, &loose);
    for expected in [
        "build_task_hermetic",
        "one of [\"clamav-scan\"]",
        "one of [\"rpms-signature-scan\"]",
        "trusted_task.pinned: bundle quay.io/konflux-ci/tekton-catalog/task-init:0.4",
    ] {
        assert!(found.iter().any(|problem| problem.contains(expected)), "{expected}: {found:#?}");
    }
    // The old Containerfile shape: labels inherited from the base image, ubi-minimal, RPMs.
    let old = "FROM registry.access.redhat.com/ubi9/ubi:9.6@sha256:1 AS build\nFROM docker.io/library/alpine:3@sha256:2 AS tool\nCOPY --from=build /src/target/release/rhdh-catalog /usr/local/bin/rhdh-catalog\nLABEL name=\"rhdh/rhdh-catalog\" \\\n      summary=\"s\" description=\"d\" io.k8s.display-name=\"x\" io.k8s.description=\"y\" vendor=\"Red Hat, Inc.\" version=\"0.1.0\" Release=1\n";
    let found = containerfile_policy_problems("old", old);
    for expected in [
        "does not set `com.redhat.component`",
        "does not set `release`",
        "does not set `url`",
        "does not set `distribution-scope`",
        "`io.openshift.tags` would be inherited",
        "`com.redhat.component` would be inherited",
        "deprecated_labels: `Release`",
        "docker.io/library/alpine:3@sha256:2 is from a registry the policy does not allow",
    ] {
        assert!(found.iter().any(|problem| problem.contains(expected)), "{expected}: {found:#?}");
    }
    let leaky = "FROM quay.io/konflux-ci/rust-builder:1.94.1@sha256:1 AS build\nFROM registry.access.redhat.com/ubi9/s2i-base:latest@sha256:2\nCOPY --from=build /usr/local/share/rust /usr/local/share/rust\n";
    assert!(
        containerfile_policy_problems("leaky", leaky).iter().any(|problem| problem.contains("more than the binary"))
    );
    let final_toolchain = "FROM quay.io/konflux-ci/rust-builder:1.94.1@sha256:1\n";
    assert!(
        containerfile_policy_problems("final", final_toolchain)
            .iter()
            .any(|problem| problem.contains("base_image_permitted"))
    );
}

// ------------------------------------------------------------------------------------------------
// 8. The tenant: who runs what with which credentials (konflux/*.yaml, hack/konflux-bootstrap.sh).
//
// build-service (konflux-ci/build-service, internal/controller/component_build_controller_service_account.go,
// getBuildPipelineServiceAccountName) creates the ServiceAccount `build-pipeline-<component>` for each
// Component and binds it to the appstudio-pipelines-runner ClusterRole. image-controller
// (konflux-ci/image-controller 17b36a2806d5efa1e04447d7293ba4f64cbac45e,
// internal/controller/imagerepository_controller.go) names an ImageRepository's push secret
// `<name>-image-push` (getSecretName, appstudio.redhat.com group) and links it to
// `build-pipeline-<component>` only when the ImageRepository carries the
// `appstudio.redhat.com/component` label; the repository is
// `quay.io/<organization>/<namespace>/<spec.image.name>`.

/// Every document of a multi-document YAML file of the repository.
fn documents(relative: &str) -> Vec<Value> {
    read(relative)
        .split("\n---\n")
        .map(|part| yaml_text(relative, part))
        .filter(|document| !document.is_null())
        .collect()
}

fn find_kind<'a>(documents: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    documents.iter().find(|document| document["kind"] == kind && document["metadata"]["name"] == name)
}

#[test]
fn every_run_names_an_account_konflux_creates_with_the_push_secret_it_needs() {
    // The image builds: Components whose build account pushes to the repository of output-image.
    let images = documents("konflux/rhdh-catalog-images.yaml");
    for (file, run) in tekton_builds() {
        let component = label(&run, "appstudio.openshift.io/component").unwrap();
        let declared = find_kind(&images, "Component", component)
            .unwrap_or_else(|| panic!("{file}: no Component {component} in konflux/rhdh-catalog-images.yaml"));
        assert_eq!(
            declared["spec"]["application"],
            label(&run, "appstudio.openshift.io/application").unwrap(),
            "{file}"
        );
        assert_eq!(
            run["spec"]["taskRunTemplate"]["serviceAccountName"],
            format!("build-pipeline-{component}"),
            "{file}"
        );
        assert_eq!(declared["spec"]["containerImage"], repository_of(param(&run, "output-image").unwrap()), "{file}");
        assert_eq!(declared["spec"]["source"]["git"]["dockerfileUrl"], param(&run, "dockerfile").unwrap(), "{file}");
        assert_eq!(
            declared["metadata"]["annotations"]["build.appstudio.openshift.io/request"], "configure-pac-no-mr",
            "{file}: this repository ships its own .tekton/"
        );
    }
    // The sync runs: the midstream's Component, its ImageRepository labelled with it, so the push
    // secret of the artifact repository is linked to the account the runs name.
    let sync = documents("konflux/rhdh-catalog-sync.yaml");
    let repository =
        find_kind(&sync, "ImageRepository", "rhdh-catalog-sync").expect("ImageRepository rhdh-catalog-sync");
    let component =
        repository["metadata"]["labels"]["appstudio.redhat.com/component"].as_str().expect("component label");
    let application =
        repository["metadata"]["labels"]["appstudio.redhat.com/application"].as_str().expect("application label");
    let declared = find_kind(&sync, "Component", component).unwrap_or_else(|| panic!("no Component {component}"));
    assert_eq!(declared["spec"]["application"], application);
    assert!(find_kind(&sync, "Application", application).is_some());
    let account = format!("build-pipeline-{component}");
    let push_secret = format!("{}-image-push", repository["metadata"]["name"].as_str().unwrap());
    let image_name = repository["spec"]["image"]["name"].as_str().unwrap();
    for (file, run) in pipeline_runs().into_iter().filter(|(file, _)| file.starts_with("tekton/pac/")) {
        assert_eq!(run["spec"]["taskRunTemplate"]["serviceAccountName"], account.as_str(), "{file}");
        assert_eq!(label(&run, "appstudio.openshift.io/component"), Some(component), "{file}");
        let output = repository_of(param(&run, "output-image").unwrap());
        assert_eq!(output, format!("quay.io/redhat-user-workloads/rhdh-tenant/{image_name}"), "{file}");
        assert_eq!(param(&run, "git-auth-secret").unwrap_or("git-auth"), "git-auth", "{file}");
    }
    // The bootstrap script checks for the same names.
    let script = read("hack/konflux-bootstrap.sh");
    for expected in [
        format!("sync_component={component}"),
        format!("sync_push_secret={push_secret}"),
        "git_auth_secret=git-auth".to_string(),
    ] {
        assert!(script.contains(&expected), "hack/konflux-bootstrap.sh: {expected}");
    }
    // The README's tenant section is the script's sequence, each step with its check.
    let readme = read("README.md");
    for step in
        ["images", "image-push-secret", "first-build", "pin", "tag v", "sync-tenant", "git-auth", "pac ", "sync-run"]
    {
        assert!(readme.contains(&format!("hack/konflux-bootstrap.sh {step}")), "README.md: no step `{step}`");
    }
}

fn bootstrap(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new("bash");
    command.arg(repository().join("hack/konflux-bootstrap.sh")).args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[test]
fn the_bootstrap_copies_the_pac_runs_for_the_tenant_and_refuses_a_token_that_expires() {
    let scratch = tempfile::tempdir().unwrap();
    let midstream = scratch.path().join("midstream");
    crate::support::upstreams::repository(&midstream, &[("upstream_repos.yml", "repos: []\n")], "v1");
    let path = midstream.to_str().unwrap();
    let tenant = [("NAMESPACE", "plugins-tenant")];
    let check = bootstrap(&["pac", path, "--check"], &tenant);
    assert_eq!(check.status.code(), Some(1), "{}", text_of(&check));
    assert!(
        text_of(&check).contains("rhdh-catalog-sync-comment.yaml is not the current template"),
        "{}",
        text_of(&check)
    );
    let copy = bootstrap(&["pac", path], &tenant);
    assert!(copy.status.success(), "{}", text_of(&copy));
    assert!(text_of(&copy).contains("done: the midstream's .tekton/ holds the sync PipelineRuns"));
    for file in ["rhdh-catalog-sync-comment.yaml", "rhdh-catalog-sync-push.yaml"] {
        let copied = std::fs::read_to_string(midstream.join(".tekton").join(file)).unwrap();
        assert!(copied.contains("quay.io/redhat-user-workloads/plugins-tenant/rhdh-catalog-sync:"), "{file}");
        assert!(!copied.contains("rhdh-tenant"), "{file}");
        assert_eq!(copied.replace("/plugins-tenant/", "/rhdh-tenant/"), read(&format!("tekton/pac/{file}")));
    }
    assert!(bootstrap(&["pac", path, "--check"], &tenant).status.success());
    // An edited copy is reported.
    std::fs::write(midstream.join(".tekton/rhdh-catalog-sync-push.yaml"), "edited\n").unwrap();
    assert_eq!(bootstrap(&["pac", path, "--check"], &tenant).status.code(), Some(1));
    // A GitHub App token for the push Secret is refused before anything reaches the cluster.
    let refused = bootstrap(
        &["git-auth"],
        &[("NAMESPACE", "plugins-tenant"), ("GIT_PUSH_TOKEN", "ghs_16C7e42F292c6912E7710c838347Ae178B4a")],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text_of(&refused));
    assert!(
        text_of(&refused).contains("GIT_PUSH_TOKEN is a GitHub App token, which expires within hours of its issue"),
        "{}",
        text_of(&refused)
    );
    assert!(!text_of(&refused).contains("ghs_16C7"), "the token is not shown");
    let usage = bootstrap(&["tag", "1.0"], &tenant);
    assert_eq!(usage.status.code(), Some(2));
    assert!(text_of(&usage).contains("usage:"), "{}", text_of(&usage));
    let unknown = bootstrap(&["nope"], &tenant);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text_of(&unknown).contains("unknown step nope"));
}
