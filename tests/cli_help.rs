//! `--help` of every subcommand is part of the interface Tekton Tasks and people rely on: pinned.

use crate::support::rhdh_catalog;

fn help(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let output = rhdh_catalog(home.path()).args(args).arg("--help").output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(help(&[]));
}

#[test]
fn index_help() {
    insta::assert_snapshot!(help(&["index"]));
}

#[test]
fn package_help() {
    insta::assert_snapshot!(help(&["package"]));
}

#[test]
fn fetch_help() {
    insta::assert_snapshot!(help(&["fetch"]));
}

#[test]
fn export_help() {
    insta::assert_snapshot!(help(&["export"]));
}

#[test]
fn release_number_help() {
    insta::assert_snapshot!(help(&["release-number"]));
}

#[test]
fn commit_help() {
    insta::assert_snapshot!(help(&["commit"]));
}

#[test]
fn release_side_help() {
    for subcommand in
        ["publish", "validate", "verify-install", "promote", "diff", "await-build", "artifact", "sync", "report"]
    {
        insta::assert_snapshot!(format!("{subcommand}_help"), help(&[subcommand]));
    }
}

// --- one meaning per name -----------------------------------------------------------------------

use std::collections::BTreeMap;

use clap::{CommandFactory, Parser};
use rhdh_catalog::cli::Cli;

/// What a flag means: its help up to the first `:`, `.`, `;` or ` (` (the rest says how this
/// subcommand uses it).
fn meaning(help: &str) -> String {
    let cut = [": ", ". ", "; ", " ("].iter().filter_map(|separator| help.find(separator)).min().unwrap_or(help.len());
    help[..cut].trim_end_matches('.').trim().to_string()
}

/// One visible argument of one subcommand: its name (`--long`, or the positional's id), help,
/// environment variable and default.
#[derive(Debug, Clone)]
struct Shown {
    subcommand: String,
    name: String,
    help: String,
    env: Option<String>,
    default: Option<String>,
}

/// Every leaf subcommand (`artifact create`, not `artifact`) with its visible arguments.
fn walk(command: &clap::Command, path: &str, found: &mut Vec<(String, Vec<Shown>)>) {
    let subcommands: Vec<&clap::Command> = command.get_subcommands().filter(|sub| sub.get_name() != "help").collect();
    if path.is_empty() || !subcommands.is_empty() {
        for sub in subcommands {
            let name = if path.is_empty() { sub.get_name().to_string() } else { format!("{path} {}", sub.get_name()) };
            walk(sub, &name, found);
        }
        if !path.is_empty() {
            return;
        }
        return;
    }
    let mut shown = Vec::new();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_hide_set() || id == "help" || id == "version" {
            continue;
        }
        let name = arg.get_long().map_or_else(|| id.to_string(), |long| format!("--{long}"));
        let default: Vec<String> =
            arg.get_default_values().iter().map(|value| value.to_string_lossy().into_owned()).collect();
        shown.push(Shown {
            subcommand: path.to_string(),
            name,
            help: arg.get_help().map(ToString::to_string).unwrap_or_default(),
            env: arg.get_env().map(|env| env.to_string_lossy().into_owned()),
            default: (!default.is_empty()).then(|| default.join(",")),
        });
    }
    found.push((path.to_string(), shown));
}

/// Walks every subcommand's `--help` and holds the CLI to one meaning per name: every flag has a
/// description; a flag name means one thing in every subcommand that has it; an environment
/// variable belongs to one flag, with one meaning and one default; subcommands are listed in
/// pipeline order; the old spellings of renamed flags still parse.
#[test]
fn every_name_has_one_meaning_and_every_flag_a_description() {
    let mut leaves = Vec::new();
    walk(&Cli::command(), "", &mut leaves);
    assert!(leaves.len() >= 16, "{} subcommands", leaves.len());
    let mut problems = Vec::new();

    // What a person reads: each subcommand's --help shows each visible flag with its meaning.
    for (subcommand, shown) in &leaves {
        let words: Vec<&str> = subcommand.split(' ').collect();
        let printed = help(&words).split_whitespace().collect::<Vec<_>>().join(" ");
        for arg in shown {
            if arg.help.trim().is_empty() {
                problems.push(format!("{subcommand} {}: no description", arg.name));
                continue;
            }
            let described = meaning(&arg.help).split_whitespace().collect::<Vec<_>>().join(" ");
            if arg.name.starts_with("--") && !printed.contains(&arg.name) {
                problems.push(format!("{subcommand} --help does not show {}", arg.name));
            }
            if !printed.contains(&described) {
                problems.push(format!("{subcommand} --help does not show what {} means (`{described}`)", arg.name));
            }
        }
    }

    // One meaning per flag name.
    // A positional `image` and a flag `--image` are one name.
    let word = |name: &str| name.trim_start_matches("--").replace('_', "-");
    let mut by_name: BTreeMap<String, Vec<&Shown>> = BTreeMap::new();
    let mut by_env: BTreeMap<&str, Vec<&Shown>> = BTreeMap::new();
    for (_, shown) in &leaves {
        for arg in shown {
            by_name.entry(word(&arg.name)).or_default().push(arg);
            if let Some(env) = &arg.env {
                by_env.entry(env.as_str()).or_default().push(arg);
            }
        }
    }
    for (name, uses) in &by_name {
        let meanings: BTreeMap<String, Vec<&str>> = uses.iter().fold(BTreeMap::new(), |mut found, arg| {
            found.entry(meaning(&arg.help)).or_insert_with(Vec::new).push(arg.subcommand.as_str());
            found
        });
        if meanings.len() > 1 {
            problems.push(format!("{name} has {} meanings: {meanings:?}", meanings.len()));
        }
    }
    // One flag, one meaning and one default per environment variable.
    for (env, uses) in &by_env {
        let names: std::collections::BTreeSet<String> = uses.iter().map(|arg| word(&arg.name)).collect();
        if names.len() > 1 {
            problems.push(format!("{env} is read by different flags: {names:?}"));
        }
        let meanings: std::collections::BTreeSet<String> = uses.iter().map(|arg| meaning(&arg.help)).collect();
        if meanings.len() > 1 {
            problems.push(format!("{env} has {} meanings: {meanings:?}", meanings.len()));
        }
        let defaults: BTreeMap<&str, Vec<&str>> = uses.iter().fold(BTreeMap::new(), |mut found, arg| {
            if let Some(default) = &arg.default {
                found.entry(default.as_str()).or_insert_with(Vec::new).push(arg.subcommand.as_str());
            }
            found
        });
        if defaults.len() > 1 {
            problems.push(format!("{env} has different defaults: {defaults:?}"));
        }
    }

    // Subcommands in pipeline order, as `--help` lists them.
    let top = help(&[]);
    let listed: Vec<&str> = top
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("    "))
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    let position = |name: &str| listed.iter().position(|listed| *listed == name).unwrap_or(usize::MAX);
    for order in [
        &["sync", "fetch", "export", "index", "release-number", "commit", "report"][..],
        &["await-build", "validate", "verify-install", "promote"][..],
    ] {
        for pair in order.windows(2) {
            if position(pair[0]) >= position(pair[1]) {
                problems.push(format!("`{}` is not listed before `{}`: {listed:?}", pair[0], pair[1]));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The old spellings keep working for one release (hidden aliases).
    for old in [
        &["rhdh-catalog", "fetch", "--overlay", "overlay-repo", "--packages", "a.txt"][..],
        &["rhdh-catalog", "release-number", "--version", "1.10.0", "--image", "quay.io/rhdh/index"][..],
        &["rhdh-catalog", "publish", "--tag", "quay.io/rhdh/index:1", "--version", "1.10.0"][..],
        &["rhdh-catalog", "artifact", "create", "--store", "quay.io/org/app:1.fetch", "src"][..],
        &["rhdh-catalog", "artifact", "use", "--to", "dir", "oci:quay.io/org/app@sha256:00"][..],
        &["rhdh-catalog", "verify-install", "quay.io/rhdh/index:1", "--timeout", "5"][..],
        &["rhdh-catalog", "report", "--output", "comment.md", "--index-image", "quay.io/rhdh/index:1"][..],
    ] {
        if let Err(error) = Cli::try_parse_from(old) {
            panic!("{old:?} no longer parses: {error}");
        }
    }
}

/// `artifact use --for-batch` chooses what is unpacked itself: with --only or --exclude beside it,
/// one of them would be dropped without a word, so the pair is refused before anything runs.
#[test]
fn for_batch_refuses_a_selection_of_its_own() {
    for other in ["--only", "--exclude"] {
        let args = ["rhdh-catalog", "artifact", "use", "--for-batch", "none", other, "workspaces", "--into", "dir"];
        let error = Cli::try_parse_from(args).expect_err("--for-batch with a selection of its own parsed");
        assert_eq!(error.exit_code(), 2, "{error}");
        let told = error.to_string();
        assert!(told.contains("--for-batch") && told.contains(other) && told.contains("cannot be used with"), "{told}");
    }
    assert!(Cli::try_parse_from(["rhdh-catalog", "artifact", "use", "--for-batch", "none", "--into", "dir"]).is_ok());
}
