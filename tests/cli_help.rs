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
