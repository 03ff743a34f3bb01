//! The registry layer against registries that misbehave and against the real distribution token
//! flow.
//!
//! - A misbehaving front (tests/support/hostile_registry.rs) for a real registry: a manifest that
//!   redirects to another host, does not match its digest, is no manifest, disagrees with its
//!   Content-Type, is huge, endless or slow; an endless config blob, an endless or looping tag
//!   list; a foreign plain-HTTP token realm, an endless token answer; blob redirects with basic
//!   auth in front, and from https to plain HTTP. Each: the exit code, a message naming the
//!   registry and what to do, nothing written, nothing followed that should not be.
//! - The real `docker-registry` with `auth: token` and a loopback token issuer
//!   (tests/support/token_issuer.rs): `package`, `index`, `publish`, `promote` and `artifact`
//!   through it, token reuse per scope and renewal after `expires_in`, a wrong password, anonymous
//!   pull, and credentials scoped by repository path.

use std::path::Path;
use std::time::Duration;

use base64::Engine;

use rhdh_catalog::io::registry::{ClientOptions, ImageReference, Store};

use crate::support::hostile_registry::{HostileRegistry, Misbehaviour, endless, forwarder};
use crate::support::loopback_http::{Reply, Server, Tls};
use crate::support::token_issuer::{Policy, SERVICE, TokenIssuer, TokenRegistry};
use crate::support::{
    PUBLISH_FACTS, Registry, example_overlay, publish_example_images, rhdh_catalog, unique_namespace,
    write_dist_dynamic,
};

const MIB: u64 = 1024 * 1024;

fn auth_entry(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Writes `home/.docker/config.json` with `key → (user, password)` entries.
fn docker_config(home: &Path, entries: &[(&str, &str, &str)]) {
    let auths: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .map(|(key, user, password)| ((*key).to_string(), serde_json::json!({"auth": auth_entry(user, password)})))
        .collect();
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    std::fs::write(home.join(".docker/config.json"), serde_json::to_vec(&serde_json::json!({"auths": auths})).unwrap())
        .unwrap();
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The example overlay's images in a real registry under `quay.io/<namespace>`.
struct Published {
    registry: Registry,
    prefix: String,
    home: tempfile::TempDir,
    overlay: std::path::PathBuf,
}

fn published() -> Published {
    let registry = Registry::start();
    let home = tempfile::tempdir().unwrap();
    let overlay = example_overlay(home.path());
    let prefix = format!("quay.io/{}", unique_namespace());
    publish_example_images(
        home.path(),
        &overlay,
        &prefix,
        &format!("docker://{}", registry.host),
        Some(&registry.host),
    );
    Published { registry, prefix, home, overlay }
}

/// `index` of the example through `store_host` (listed insecure with `insecure`) into a new folder.
fn index_through(
    setup: &Published,
    store_host: &str,
    insecure: &[&str],
    extra: &[&str],
) -> (tempfile::TempDir, std::process::Output) {
    let work = tempfile::tempdir().unwrap();
    if setup.home.path().join(".docker/config.json").is_file() {
        crate::support::copy_dir(&setup.home.path().join(".docker"), &work.path().join(".docker"));
    }
    let mut command = rhdh_catalog(work.path());
    command
        .current_dir(work.path())
        .args(["index", "--registry", &setup.prefix, "--rhdh-version", "1.10.0", "--overlay-commit", "x"])
        .args(["--source-repo", "x", "--store", &format!("docker://{store_host}"), "--registry-attempts", "2"])
        .arg("--overlay")
        .arg(&setup.overlay)
        .args(["--report", "report.json"]);
    for host in insecure {
        command.args(["--insecure-registry", host]);
    }
    let output = command.args(extra).output().unwrap();
    (work, output)
}

/// Exit 3, the registry named with what to do, and nothing written; what is not so.
fn unusable_problems(
    label: &str,
    work: &Path,
    output: &std::process::Output,
    host: &str,
    problem: &str,
) -> Vec<String> {
    let stderr = stderr_of(output);
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: &str| {
        if !ok {
            problems.push(format!("{label}: {what} (exit {:?}): {stderr}", output.status.code()));
        }
    };
    check(output.status.code() == Some(3), "exit 3");
    check(stderr.contains(&format!("registry {host} gave no usable answer")), "names the registry");
    check(stderr.contains("check that registry or the --store mirror"), "says what to do");
    check(stderr.contains(problem), &format!("says `{problem}`"));
    check(stderr.contains("nothing was written"), "says nothing was written");
    check(!stderr.contains("missing;"), "an unusable answer is never a missing image");
    for written in ["catalog-index", "plugin_builds", "report.json"] {
        check(!work.join(written).exists(), &format!("{written} is not written"));
    }
    problems
}

fn assert_unusable(label: &str, work: &Path, output: &std::process::Output, host: &str, problem: &str) {
    let problems = unusable_problems(label, work, output, host, problem);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_misbehaving_registry_never_gets_a_manifest_pinned() {
    let setup = published();
    let upstream = setup.registry.host.clone();
    let elsewhere = forwarder(&upstream);
    let schema_one = r#"{"schemaVersion":1,"name":"x","tag":"1","architecture":"amd64","fsLayers":[],"history":[]}"#;
    let cases: Vec<(&str, Misbehaviour, &str, &str)> = vec![
        (
            "redirect to another host",
            Misbehaviour::ManifestRedirect { host: elsewhere.host.clone() },
            "redirect (HTTP 302)",
            "10",
        ),
        ("wrong digest", Misbehaviour::WrongDigest, "does not match digest", "10"),
        (
            "JSON that is no manifest",
            Misbehaviour::NotAManifest {
                body: r#"{"hello":"world"}"#.into(),
                content_type: "application/vnd.oci.image.manifest.v1+json".into(),
            },
            "the answer is no image manifest: the body has no schemaVersion",
            "10",
        ),
        (
            "schema 1",
            Misbehaviour::NotAManifest {
                body: schema_one.into(),
                content_type: "application/vnd.docker.distribution.manifest.v1+json".into(),
            },
            "schemaVersion 1, not 2",
            "10",
        ),
        (
            "Content-Type disagreeing with mediaType",
            Misbehaviour::ContentType("application/vnd.oci.image.index.v1+json".into()),
            "but the registry sent Content-Type application/vnd.oci.image.index.v1+json",
            "10",
        ),
        (
            "a 64 MiB manifest",
            Misbehaviour::HugeManifest(64 * MIB as usize),
            "the manifest goes on past the 4194304 bytes accepted",
            "10",
        ),
        ("an endless manifest", Misbehaviour::EndlessManifest, "the manifest goes on past the 4194304 bytes", "5"),
        ("a slow manifest", Misbehaviour::SlowManifest, "reading the manifest", "1"),
        ("an endless config blob", Misbehaviour::EndlessBlob, "the blob goes on past the", "5"),
    ];
    let mut problems = Vec::new();
    for (label, misbehaviour, problem, timeout) in cases {
        let hostile = HostileRegistry::start(&upstream, misbehaviour);
        let (work, output) = index_through(&setup, &hostile.host, &[&hostile.host], &["--registry-timeout", timeout]);
        problems.extend(unusable_problems(label, work.path(), &output, &hostile.host, problem));
        // Bounded: what was taken of an over-size answer is the cap plus socket buffers, per request.
        let requests = hostile.requests().len() as u64;
        if hostile.server.body_bytes_sent() >= requests * 16 * MIB {
            problems
                .push(format!("{label}: {} bytes were read from {requests} answers", hostile.server.body_bytes_sent()));
        }
    }
    if !elsewhere.requests().is_empty() {
        problems.push(format!("a manifest redirect was followed: {:?}", elsewhere.requests()));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The same registry through a front that behaves: the index is written.
    let honest = forwarder(&upstream);
    let (work, output) = index_through(&setup, &honest.host, &[&honest.host], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(work.path().join("catalog-index/index.json").is_file());
}

#[test]
fn endless_and_looping_tag_lists_are_unusable() {
    let scratch = tempfile::tempdir().unwrap();
    let tree = scratch.path().join("tree");
    std::fs::create_dir_all(tree.join("build/containerfiles")).unwrap();
    std::fs::write(
        tree.join("build/containerfiles/index.Containerfile"),
        "FROM scratch\nCOPY catalog-index/ /\nLABEL version=\"1.9.0\" release=\"2\"\nUSER 65534\n",
    )
    .unwrap();
    for (misbehaviour, problem) in [
        (Misbehaviour::EndlessTagList, "a tag list page goes on past the 4194304 bytes"),
        (Misbehaviour::LoopingTagList, "its tag list pages loop back to"),
    ] {
        let hostile = HostileRegistry::start("127.0.0.1:1", misbehaviour);
        let output = rhdh_catalog(scratch.path())
            .timeout(Duration::from_secs(120))
            .arg("release-number")
            .arg("--tree")
            .arg(&tree)
            .args(["--version", "1.10.0", "--image", &format!("{}/ns/plugin-catalog-index", hostile.host)])
            .args(["--insecure-registry", &hostile.host, "--registry-attempts", "2", "--registry-timeout", "5"])
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(&format!("registry {}", hostile.host)) && stderr.contains(problem), "{stderr}");
        assert!(hostile.server.body_bytes_sent() < 64 * MIB, "{} bytes read", hostile.server.body_bytes_sent());
    }
}

#[test]
fn a_foreign_plain_http_realm_gets_no_request_and_no_credentials() {
    let setup = published();
    let realm = Server::start(|_| Reply::json(200, &serde_json::json!({"token": "stolen"})));
    let hostile =
        HostileRegistry::start("", Misbehaviour::ForeignRealm { realm: format!("http://{}/token", realm.host) });
    docker_config(setup.home.path(), &[(&hostile.host, "robot", "realm-secret-31")]);
    let (work, output) = index_through(&setup, &hostile.host, &[&hostile.host], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("registry {} gave an answer that cannot be trusted", hostile.host)), "{stderr}");
    assert!(stderr.contains(&format!("plain HTTP on {}", realm.host)), "{stderr}");
    assert!(stderr.contains("--insecure-registry"), "what to do: {stderr}");
    assert!(!stderr.contains("realm-secret-31") && !stderr.contains(&auth_entry("robot", "realm-secret-31")));
    assert!(realm.requests().is_empty(), "the foreign realm was asked: {:?}", realm.requests());
    assert!(!work.path().join("catalog-index").exists());

    // Listed as insecure, the realm is asked; an endless token answer is bounded and unusable.
    let endless_realm = Server::start(|_| Reply::new(200).with_body(endless()));
    let hostile = HostileRegistry::start(
        "",
        Misbehaviour::ForeignRealm { realm: format!("http://{}/token", endless_realm.host) },
    );
    let (work, output) = index_through(&setup, &hostile.host, &[&hostile.host, &endless_realm.host], &[]);
    assert_unusable("endless token", work.path(), &output, &hostile.host, "the token answer goes on past the 262144");
    assert!(!endless_realm.requests().is_empty());
    assert!(endless_realm.server_bytes_bounded(16 * MIB), "{} bytes", endless_realm.body_bytes_sent());
}

trait Bounded {
    fn server_bytes_bounded(&self, per_request: u64) -> bool;
}

impl Bounded for Server {
    fn server_bytes_bounded(&self, per_request: u64) -> bool {
        self.body_bytes_sent() < self.requests().len() as u64 * per_request
    }
}

/// An artifact in `registry` (plain HTTP); returns its `oci:` URI as named (`quay.io/…`).
fn create_artifact(home: &Path, registry: &Registry) -> String {
    let source = home.join("source");
    std::fs::create_dir_all(source.join("dir")).unwrap();
    std::fs::write(source.join("dir/file.txt"), "trusted\n").unwrap();
    let output = rhdh_catalog(home)
        .args(["artifact", "--artifact-store", &format!("docker://{}", registry.host)])
        .args(["--insecure-registry", &registry.host])
        .args(["create", "--store", &format!("quay.io/{}/artifacts", unique_namespace())])
        .arg(&source)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[test]
fn blob_redirects_are_followed_without_credentials() {
    let registry = Registry::start();
    let home = tempfile::tempdir().unwrap();
    let uri = create_artifact(home.path(), &registry);
    let storage = forwarder(&registry.host);
    let hostile = HostileRegistry::start(
        &registry.host,
        Misbehaviour::BasicThenBlobRedirect {
            user: "robot".into(),
            password: "blob-secret-47".into(),
            location: format!("http://{}", storage.host),
        },
    );
    docker_config(home.path(), &[(&hostile.host, "robot", "blob-secret-47")]);
    let destination = home.path().join("restored");
    let output = rhdh_catalog(home.path())
        .args(["artifact", "--artifact-store", &format!("docker://{}", hostile.host)])
        .args(["--insecure-registry", &hostile.host, "use"])
        .arg(format!("{uri}={}", destination.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(std::fs::read_to_string(destination.join("dir/file.txt")).unwrap(), "trusted\n");
    assert!(hostile.requests().iter().any(|request| request.header("authorization").is_some()));
    let followed = storage.requests();
    assert!(!followed.is_empty(), "the blob redirect was followed");
    for request in followed {
        assert!(
            request.header("authorization").is_none(),
            "credentials went across the redirect to {}: {}",
            storage.host,
            request.target
        );
    }
}

#[test]
fn an_https_blob_download_is_never_redirected_to_plain_http() {
    let registry = Registry::start();
    let home = tempfile::tempdir().unwrap();
    let uri = create_artifact(home.path(), &registry);
    let tls = Tls::for_loopback();
    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    let plain = forwarder(&registry.host);
    let hostile = HostileRegistry::start_tls(
        &tls,
        &registry.host,
        Misbehaviour::BlobRedirect { location: format!("http://{}", plain.host) },
    );
    let destination = home.path().join("restored");
    let output = rhdh_catalog(home.path())
        .env("SSL_CERT_FILE", &ca)
        .args(["artifact", "--artifact-store", &format!("docker://{}", hostile.host)])
        .args(["--registry-attempts", "2", "use"])
        .arg(format!("{uri}={}", destination.display()))
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("registry {} gave no usable answer", hostile.host)), "{stderr}");
    assert!(stderr.contains(&format!("redirected from https to plain HTTP (http://{})", plain.host)), "{stderr}");
    assert!(plain.requests().is_empty(), "followed to plain HTTP: {:?}", plain.requests());
    assert!(!destination.join("dir/file.txt").exists());

    // The same TLS front redirecting to https storage is followed.
    let storage = HostileRegistry::start_tls(&tls, &registry.host, Misbehaviour::WrongDigest);
    let hostile = HostileRegistry::start_tls(
        &tls,
        &registry.host,
        Misbehaviour::BlobRedirect { location: format!("https://{}", storage.host) },
    );
    let output = rhdh_catalog(home.path())
        .env("SSL_CERT_FILE", &ca)
        .args(["artifact", "--artifact-store", &format!("docker://{}", hostile.host), "use"])
        .arg(format!("{uri}={}", destination.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(destination.join("dir/file.txt").is_file());
    assert!(!storage.requests().is_empty());
}

/// A real registry with `auth: token`, its issuer, and a home whose config holds `entries`.
struct TokenSetup {
    issuer: TokenIssuer,
    registry: TokenRegistry,
    /// `registry,issuer`: both plain HTTP on loopback.
    insecure: String,
}

fn token_setup() -> TokenSetup {
    let policy = Policy::default()
        .user("alice", "alice-pw-1", &[("team-a/", "pull,push")])
        .user("bob", "bob-pw-2", &[("team-b/", "pull,push")])
        .user("carol", "carol-pw-3", &[("shared/", "pull,push"), ("public/", "pull,push")])
        .anonymous(&[("public/", "pull")]);
    let issuer = TokenIssuer::start(policy);
    let registry = TokenRegistry::start(&issuer);
    let insecure = format!("{},{}", registry.host, issuer.server.host);
    TokenSetup { issuer, registry, insecure }
}

fn package(home: &Path, reference: &str, insecure: &str) -> std::process::Output {
    let plugin = home.join(format!("plugin-{}", reference.replace(['/', ':'], "_")));
    write_dist_dynamic(&plugin, "@acme/plugin-token", "1.0.0", "frontend-plugin");
    rhdh_catalog(home)
        .arg("package")
        .arg(&plugin)
        .args(["--tag", reference, "--insecure-registry", insecure, "--registry-attempts", "2"])
        .output()
        .unwrap()
}

#[test]
fn the_token_flow_serves_package_index_publish_promote_and_artifacts() {
    let setup = token_setup();
    let host = setup.registry.host.clone();
    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &[(&host, "alice", "alice-pw-1")]);
    let overlay = example_overlay(home.path());
    let prefix = format!("{host}/team-a");
    let store = format!("docker://{host}");
    publish_example_images(home.path(), &overlay, &prefix, &store, Some(&setup.insecure));
    assert!(setup.issuer.issued().iter().all(|issued| issued.service == SERVICE && issued.status == 200));

    setup.issuer.clear();
    let output = rhdh_catalog(home.path())
        .current_dir(home.path())
        .args(["index", "--registry", &prefix, "--rhdh-version", "1.10.0", "--store", &store])
        .args(["--insecure-registry", &setup.insecure, "--overlay-commit", "x", "--source-repo", "x"])
        .arg("--overlay")
        .arg(&overlay)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let issued = setup.issuer.issued();
    assert_eq!(issued.len(), 7, "one token per image repository (manifest and config share it): {issued:?}");
    for token in &issued {
        assert_eq!(token.user.as_deref(), Some("alice"));
        assert!(token.scope.starts_with("repository:team-a/") && token.scope.ends_with(":pull"), "{token:?}");
        assert_eq!(setup.issuer.requests_for(&token.scope), 1, "reused per scope: {token:?}");
        assert_eq!(token.granted, ["pull"]);
    }

    let repository = format!("{prefix}/plugin-catalog-index");
    let release = |args: &[&str]| {
        rhdh_catalog(home.path())
            .args(args)
            .args(["--store", &store, "--insecure-registry", &setup.insecure])
            .output()
            .unwrap()
    };
    let output = release(
        &[
            &["publish", home.path().join("catalog-index").to_str().unwrap(), "--tag", &format!("{repository}:1")],
            &PUBLISH_FACTS[..],
        ]
        .concat(),
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let pinned = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(pinned.starts_with(&format!("{repository}@sha256:")), "{pinned}");
    let rollback = home.path().join("rollback.json");
    let output = release(&["promote", &pinned, "--to", "next", "--rollback-file", rollback.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(rollback.is_file());

    let source = home.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("a.txt"), "a\n").unwrap();
    let output = rhdh_catalog(home.path())
        .args(["artifact", "--insecure-registry", &setup.insecure])
        .args(["create", "--store", &format!("{prefix}/artifacts")])
        .arg(&source)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let uri = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let restored = home.path().join("restored");
    let output = rhdh_catalog(home.path())
        .args(["artifact", "--insecure-registry", &setup.insecure, "use"])
        .arg(format!("{uri}={}", restored.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(std::fs::read_to_string(restored.join("a.txt")).unwrap(), "a\n");
    assert!(setup.issuer.issued().iter().all(|issued| issued.user.as_deref() == Some("alice")));
}

#[test]
fn a_wrong_password_is_refused_with_exit_3_and_no_secret() {
    let setup = token_setup();
    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &[(&setup.registry.host, "alice", "wrong-password-83")]);
    let output = package(home.path(), &format!("{}/team-a/x:1", setup.registry.host), &setup.insecure);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("registry {} refused access", setup.registry.host)), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the token service http://{} refused the credentials of `alice`",
            setup.issuer.server.host
        )),
        "{stderr}"
    );
    assert!(stderr.contains("check the credentials"), "{stderr}");
    for secret in ["wrong-password-83", &auth_entry("alice", "wrong-password-83")] {
        assert!(!stderr.contains(secret) && !String::from_utf8_lossy(&output.stdout).contains(secret), "{stderr}");
    }
    assert!(setup.issuer.issued().iter().all(|issued| issued.status == 401));
}

#[test]
fn anonymous_pull_where_the_issuer_allows_it() {
    let setup = token_setup();
    let host = setup.registry.host.clone();
    let publisher = tempfile::tempdir().unwrap();
    docker_config(publisher.path(), &[(&host, "carol", "carol-pw-3")]);
    let overlay = example_overlay(publisher.path());
    let prefix = format!("{host}/public");
    publish_example_images(publisher.path(), &overlay, &prefix, &format!("docker://{host}"), Some(&setup.insecure));

    setup.issuer.clear();
    let anonymous = tempfile::tempdir().unwrap();
    let output = rhdh_catalog(anonymous.path())
        .current_dir(anonymous.path())
        .args(["index", "--registry", &prefix, "--rhdh-version", "1.10.0", "--insecure-registry", &setup.insecure])
        .args(["--overlay-commit", "x", "--source-repo", "x"])
        .arg("--overlay")
        .arg(&overlay)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let issued = setup.issuer.issued();
    assert_eq!(issued.len(), 7, "{issued:?}");
    assert!(issued.iter().all(|token| token.user.is_none() && token.granted == ["pull"]), "{issued:?}");

    // Anonymous push is not granted: refused, exit 3.
    let output = package(anonymous.path(), &format!("{host}/public/new:1"), &setup.insecure);
    assert_eq!(output.status.code(), Some(3), "{}", stderr_of(&output));
}

#[test]
fn credentials_are_chosen_by_the_longest_repository_path() {
    let setup = token_setup();
    let host = setup.registry.host.clone();
    let home = tempfile::tempdir().unwrap();
    docker_config(
        home.path(),
        &[
            (&host, "carol", "carol-pw-3"),
            (&format!("{host}/team-a"), "alice", "alice-pw-1"),
            (&format!("{host}/team-b/app"), "bob", "bob-pw-2"),
        ],
    );
    for reference in [
        format!("{host}/team-a/plugin:1"),
        format!("{host}/team-b/app:1"),
        format!("{host}/team-b/app/sub:1"),
        format!("{host}/shared/plugin:1"),
    ] {
        let output = package(home.path(), &reference, &setup.insecure);
        assert!(output.status.success(), "{reference}: {}", stderr_of(&output));
    }
    // podman's auth file, with the key in the legacy https:// form for the host.
    let auth_file = home.path().join("auth.json");
    std::fs::write(
        &auth_file,
        serde_json::to_vec(&serde_json::json!({"auths": {
            format!("https://{host}/v1/"): {"auth": auth_entry("carol", "carol-pw-3")},
            format!("{host}/team-b"): {"auth": auth_entry("bob", "bob-pw-2")},
        }}))
        .unwrap(),
    )
    .unwrap();
    let plugin = home.path().join("plugin-auth-file");
    write_dist_dynamic(&plugin, "@acme/plugin-auth-file", "1.0.0", "frontend-plugin");
    for reference in [format!("{host}/team-b/other:1"), format!("{host}/shared/other:1")] {
        let output = rhdh_catalog(home.path())
            .env("REGISTRY_AUTH_FILE", &auth_file)
            .arg("package")
            .arg(&plugin)
            .args(["--tag", &reference, "--insecure-registry", &setup.insecure])
            .output()
            .unwrap();
        assert!(output.status.success(), "{reference}: {}", stderr_of(&output));
    }
    let issued = setup.issuer.issued();
    assert!(!issued.is_empty());
    for token in &issued {
        let expected = if token.scope.contains(":team-a/") {
            "alice"
        } else if token.scope.contains(":team-b/") {
            "bob"
        } else {
            "carol"
        };
        assert_eq!(token.user.as_deref(), Some(expected), "{token:?}");
        assert_eq!(token.status, 200, "{token:?}");
        assert!(token.granted.contains(&"push".to_string()), "{token:?}");
    }
}

#[test]
fn tokens_are_reused_per_scope_and_renewed_after_expires_in() {
    let setup = token_setup();
    let host = setup.registry.host.clone();
    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &[(&host, "carol", "carol-pw-3")]);
    let output = package(home.path(), &format!("{host}/public/expiry:1"), &setup.insecure);
    assert!(output.status.success(), "{}", stderr_of(&output));

    // Anonymous (this process has no credentials for a fresh loopback port).
    let options = ClientOptions {
        insecure_registries: setup.insecure.split(',').map(str::to_string).collect(),
        attempts: 2,
        ..ClientOptions::default()
    };
    let reference = ImageReference::parse(&format!("{host}/public/expiry:1")).unwrap();
    let scope = "repository:public/expiry:pull";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fetch = |store: &Store| runtime.block_on(store.fetch_manifest(&reference)).unwrap().expect("the image");

    setup.issuer.clear();
    let store = Store::parse(Some(&format!("docker://{host}")), &options).unwrap();
    let first = fetch(&store);
    assert_eq!(fetch(&store).digest, first.digest);
    assert_eq!(setup.issuer.requests_for(scope), 1, "the token is reused for its scope");

    setup.issuer.set_expires_in(1);
    setup.issuer.clear();
    let store = Store::parse(Some(&format!("docker://{host}")), &options).unwrap();
    fetch(&store);
    assert_eq!(setup.issuer.requests_for(scope), 1);
    std::thread::sleep(Duration::from_millis(1500));
    fetch(&store);
    assert_eq!(setup.issuer.requests_for(scope), 2, "a token past its expires_in is renewed");
}
