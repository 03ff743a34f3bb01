//! Credentials never appear in logs (text or `--log-format json`, at debug level), reports,
//! results, outputs or error messages: registry passwords from the docker config, git tokens from
//! the environment, and credentials embedded in repository URLs.

use std::path::Path;

use base64::Engine;

use crate::support::upstreams::{commit, git, write};
use crate::support::{Registry, example_overlay, files_under, publish_example_images, rhdh_catalog};

const PASSWORD: &str = "s3cret-token-7f3a";

fn assert_clean(label: &str, output: &std::process::Output, secrets: &[&str]) {
    for secret in secrets {
        assert!(!String::from_utf8_lossy(&output.stdout).contains(secret), "{label}: stdout holds a secret");
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains(secret),
            "{label}: stderr holds a secret:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn assert_files_clean(dir: &Path, secrets: &[&str]) {
    for file in files_under(dir) {
        if file.starts_with(".docker") {
            continue;
        }
        let bytes = std::fs::read(dir.join(&file)).unwrap();
        for secret in secrets {
            assert!(!String::from_utf8_lossy(&bytes).contains(secret), "{file} holds a secret");
        }
    }
}

#[test]
fn registry_credentials_stay_out_of_every_output() {
    let registry = Registry::start_with(Some("tester:$2b$05$h/4GY3fm.ufnm8fAjUfmHuWuC9.fzzCu8QhZmxb1bSTpw9QY0/jTu\n"));
    let work = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("tester:{PASSWORD}"));
    let secrets = [PASSWORD, auth.as_str()];
    std::fs::create_dir_all(work.path().join(".docker")).unwrap();
    std::fs::write(
        work.path().join(".docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
    )
    .unwrap();
    let overlay = example_overlay(work.path());
    let prefix = format!("{}/rhdh", registry.host);
    let store = format!("docker://{}", registry.host);
    publish_example_images(work.path(), &overlay, &prefix, &store, Some(&registry.host));
    let results = work.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let run = |args: &[&str], format: &str| {
        rhdh_catalog(work.path())
            .current_dir(work.path())
            .env("RUST_LOG", "debug")
            .args(["--log-format", format])
            .args(args)
            .args(["--insecure-registry", &registry.host, "--store", &store])
            .output()
            .unwrap()
    };
    for format in ["text", "json"] {
        let output = run(
            &[
                "index",
                "--registry",
                &prefix,
                "--rhdh-version",
                "1.10.0",
                "--overlay",
                overlay.to_str().unwrap(),
                "--report",
                "report.json",
                "--results-dir",
                results.to_str().unwrap(),
            ],
            format,
        );
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_clean("index", &output, &secrets);
        let output = run(
            &[
                "publish",
                "catalog-index",
                "--tag",
                &format!("{prefix}/plugin-catalog-index:1"),
                "--results-dir",
                results.to_str().unwrap(),
            ],
            format,
        );
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_clean("publish", &output, &secrets);
        let output = run(&["validate", "--image", &format!("{prefix}/plugin-catalog-index:1")], format);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
        assert_clean("validate", &output, &secrets);
    }
    assert_files_clean(work.path(), &secrets);

    // A wrong password: refused (exit 3) without echoing what was sent.
    let wrong = base64::engine::general_purpose::STANDARD.encode("tester:wrong-password-91");
    std::fs::write(
        work.path().join(".docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{wrong}"}}}}}}"#, registry.host),
    )
    .unwrap();
    let output = run(&["validate", "--image", &format!("{prefix}/plugin-catalog-index:1")], "json");
    assert_eq!(output.status.code(), Some(3));
    assert_clean("refused", &output, &["wrong-password-91", wrong.as_str()]);
}

#[test]
fn git_tokens_and_credentials_in_urls_stay_out_of_every_output() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    // commit with GIT_TOKEN, to a remote URL that carries credentials and cannot be reached.
    let remote = root.join("remote.git");
    git(root, &["init", "-q", "--bare", "-b", "main", remote.to_str().unwrap()]);
    let tree = root.join("tree");
    git(root, &["clone", "-q", remote.to_str().unwrap(), tree.to_str().unwrap()]);
    write(&tree, &[("README.md", "x\n")]);
    commit(&tree, "initial");
    git(&tree, &["remote", "set-url", "origin", "https://bot:url-secret-55@127.0.0.1:1/rhidp/catalog.git"]);
    write(&tree, &[("catalog-index/index.json", "{}\n")]);
    let results = root.join("results");
    std::fs::create_dir_all(&results).unwrap();
    let output = rhdh_catalog(root)
        .env("GIT_TOKEN", "env-token-66")
        .env("RUST_LOG", "debug")
        .args([
            "--log-format",
            "json",
            "commit",
            "--tree",
            tree.to_str().unwrap(),
            "--results-dir",
            results.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("https://127.0.0.1:1/rhidp/catalog.git"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_clean("commit", &output, &["url-secret-55", "env-token-66"]);
    assert_files_clean(&results, &["url-secret-55", "env-token-66"]);

    // fetch from a repository URL with credentials.
    let midstream = root.join("midstream");
    write(
        &midstream,
        &[(
            "upstream_repos.yml",
            "rhdh:\n  branch: main\n  version: 1.10.0\nbackstage:\n  version: 1.49.4\nrepos:\n  - repo: https://bot:url-secret-77@127.0.0.1:1/overlay.git\n    branch: main\n    destination_folder: overlay-repo\n",
        )],
    );
    let output = rhdh_catalog(root)
        .env("RUST_LOG", "debug")
        .args(["fetch", "--tree", midstream.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stderr));
    assert_clean("fetch", &output, &["url-secret-77"]);
}
