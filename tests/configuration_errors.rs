//! Configuration mistakes are bad input, said once: a real `docker-registry` on 127.0.0.1 in plain
//! HTTP reached as HTTPS, the same registry serving TLS with a throwaway CA this machine does not
//! trust, or with a certificate for another name, and a host that does not exist each stop the
//! step after one attempt (a loopback TCP counter in front of the registry counts the
//! connections) with exit 2 and one line naming the flag or variable the value came from and the
//! concrete fix. A refused connection stays a retried outage (exit 3) whose message names where the
//! host came from too. `sync` checks its store before it runs anything and takes the flags its
//! steps take; boolean variables read `1`/`yes`; `--dry-run` names the checkout's files.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{free_port, rhdh_catalog, wait_until_listening, write_dist_dynamic};

/// A real `docker-registry` serving TLS on loopback with a certificate for `names`, signed by a
/// throwaway CA (written to `ca.pem` in its folder).
struct TlsRegistry {
    child: Child,
    host: String,
    ca: PathBuf,
    _root: tempfile::TempDir,
}

impl TlsRegistry {
    fn start(names: &[&str]) -> TlsRegistry {
        let root = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "rhdh-catalog throwaway CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(names.iter().map(|name| (*name).to_string()).collect::<Vec<_>>())
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let (certificate, key, ca_file) =
            (root.path().join("cert.pem"), root.path().join("key.pem"), root.path().join("ca.pem"));
        std::fs::write(&certificate, leaf.pem()).unwrap();
        std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let port = free_port();
        let config = root.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {}\n    key: {}\n",
                root.path().join("data").display(),
                certificate.display(),
                key.display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed (hack/test.sh installs it)");
        let host = format!("127.0.0.1:{port}");
        wait_until_listening(&host, "TLS registry");
        TlsRegistry { child, host, ca: ca_file, _root: root }
    }
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback TCP forwarder that counts the connections made through it.
struct ConnectionCounter {
    host: String,
    connections: Arc<AtomicUsize>,
}

impl ConnectionCounter {
    fn start(upstream: &str) -> ConnectionCounter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                let (mut client_read, mut server_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut server_read, mut client_write) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client_read, &mut server_write);
                    let _ = server_write.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let mut buffer = [0_u8; 8192];
                    while let Ok(read) = server_read.read(&mut buffer) {
                        if read == 0 || client_write.write_all(&buffer[..read]).is_err() {
                            break;
                        }
                    }
                    let _ = client_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        ConnectionCounter { host, connections }
    }

    fn count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `error:` lines of a run's stderr (log lines are `WARN`/`INFO`).
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|line| line.starts_with("error:")).collect()
}

/// `rhdh-catalog package` of a one-file plugin to `reference` (one push, the smallest run).
fn package(home: &Path, reference: &str, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dist = home.join("dist-dynamic");
    if !dist.exists() {
        write_dist_dynamic(&dist, "@scope/plugin-a", "1.0.0", "frontend-plugin");
    }
    let mut command = rhdh_catalog(home);
    command.arg("package").arg(&dist).args(["--tag", reference]).args(extra);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[test]
fn a_plain_http_registry_reached_as_https_is_bad_input_named_by_its_flag_after_one_attempt() {
    let registry = crate::support::Registry::start();
    let counter = ConnectionCounter::start(&registry.host);
    let home = tempfile::tempdir().unwrap();
    let store = format!("docker://{}", counter.host);
    let output = package(home.path(), "quay.io/rhdh/plugin-a:1.0.0", &["--store", &store], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "one line: {stderr}");
    let line = errors[0];
    assert!(line.contains(&format!("named by `--store {store}`")), "names the flag: {line}");
    assert!(line.contains("answers in plain HTTP, not HTTPS"), "{line}");
    assert!(line.contains(&format!("add `--insecure-registry {}`", counter.host)), "the concrete fix: {line}");
    assert!(!line.contains("<host:port>") && !line.contains("a retry may help"), "{line}");
    assert_eq!(counter.count(), 1, "one attempt, no retries");

    // From the environment, the message names the variable; with the fix, the push works.
    let output = package(home.path(), "quay.io/rhdh/plugin-a:1.0.0", &[], &[("RHDH_CATALOG_STORE", &store)]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains(&format!("named by `RHDH_CATALOG_STORE={store}`")), "{}", stderr_of(&output));
    let fixed = package(
        home.path(),
        "quay.io/rhdh/plugin-a:1.0.0",
        &["--store", &store, "--insecure-registry", &counter.host],
        &[],
    );
    assert!(fixed.status.success(), "{}", stderr_of(&fixed));
}

#[test]
fn a_tls_registry_this_machine_does_not_trust_is_bad_input_until_its_ca_is_given() {
    let registry = TlsRegistry::start(&["127.0.0.1", "localhost"]);
    let counter = ConnectionCounter::start(&registry.host);
    let home = tempfile::tempdir().unwrap();
    let prefix = format!("{}/rhdh", counter.host);
    let reference = format!("{prefix}/plugin-a:1.0.0");
    let output = package(home.path(), &reference, &[], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(&format!("registry {} (named by `--tag {reference}`)", counter.host)), "{stderr}");
    assert!(errors[0].contains("signed by a CA this machine does not trust"), "{stderr}");
    assert!(errors[0].contains("point RHDH_CATALOG_EXTRA_CA at a PEM file of the CA"), "{stderr}");
    assert_eq!(counter.count(), 1, "one attempt");

    let trusted = package(home.path(), &reference, &[], &[("RHDH_CATALOG_EXTRA_CA", registry.ca.to_str().unwrap())]);
    assert!(trusted.status.success(), "with the CA the push works: {}", stderr_of(&trusted));
}

#[test]
fn a_tls_registry_listed_as_insecure_is_bad_input_saying_to_take_it_off_the_list() {
    let registry = TlsRegistry::start(&["127.0.0.1", "localhost"]);
    let counter = ConnectionCounter::start(&registry.host);
    let home = tempfile::tempdir().unwrap();
    let reference = format!("{}/rhdh/plugin-a:1.0.0", counter.host);
    let ca = registry.ca.to_str().unwrap();
    let output =
        package(home.path(), &reference, &["--insecure-registry", &counter.host], &[("RHDH_CATALOG_EXTRA_CA", ca)]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "a configuration mistake, not an outage: {stderr}");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(&format!("registry {} (named by `--tag {reference}`)", counter.host)), "{stderr}");
    assert!(errors[0].contains("answers in HTTPS, not plain HTTP"), "{stderr}");
    assert!(errors[0].contains(&format!("take `{}` off --insecure-registry", counter.host)), "{stderr}");
    assert!(!errors[0].contains("a retry may help"), "{stderr}");
    assert_eq!(counter.count(), 1, "one attempt");

    let fixed = package(home.path(), &reference, &[], &[("RHDH_CATALOG_EXTRA_CA", ca)]);
    assert!(fixed.status.success(), "off the list, the push works: {}", stderr_of(&fixed));
}

#[test]
fn a_certificate_for_another_name_is_bad_input_naming_the_host() {
    let registry = TlsRegistry::start(&["registry.example"]);
    let home = tempfile::tempdir().unwrap();
    let store = format!("docker://{}", registry.host);
    let output = rhdh_catalog(home.path())
        .env("RHDH_CATALOG_EXTRA_CA", &registry.ca)
        .args(["validate", "--image", "quay.io/rhdh/plugin-catalog-index:1.10", "--store", &store])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("its TLS certificate is not valid for the name `127.0.0.1`"), "{stderr}");
    assert!(stderr.contains(&format!("named by `--store {store}`")), "{stderr}");
    assert!(stderr.contains("use the host name the certificate was issued for"), "{stderr}");
}

#[test]
fn a_host_that_does_not_exist_is_bad_input_and_a_refused_port_is_a_retried_outage() {
    let home = tempfile::tempdir().unwrap();
    let overlay = crate::support::example_overlay(home.path());
    let index = |extra: &[&str], env: &[(&str, &str)]| {
        let mut command = rhdh_catalog(home.path());
        command
            .arg("index")
            .arg("--overlay")
            .arg(&overlay)
            .args(["--rhdh-version", "1.10.0", "--output"])
            .arg(home.path().join("catalog-index"))
            .arg("--plugin-builds")
            .arg(home.path().join("plugin_builds"))
            .args(extra);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    // NXDOMAIN: `.invalid` never resolves (RFC 6761).
    let output = index(&["--registry", "quay.invalid/rhdh"], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(error_lines(&stderr).len(), 1, "{stderr}");
    assert!(stderr.contains("named by `--registry quay.invalid/rhdh`"), "{stderr}");
    assert!(stderr.contains("the host `quay.invalid` does not exist"), "{stderr}");
    assert!(stderr.contains("check the spelling of the host"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!home.path().join("catalog-index").exists());

    let output = index(&["--registry", "quay.io/rhdh"], &[("RHDH_CATALOG_STORE", "docker://registry.invalid:5000")]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("named by `RHDH_CATALOG_STORE=docker://registry.invalid:5000`"));

    // Nothing listens: an outage a retry may fix (exit 3), attempted as configured, and the
    // message names where the host came from.
    let closed = format!("127.0.0.1:{}", free_port());
    let store = format!("docker://{closed}");
    let started = std::time::Instant::now();
    let output = index(&["--registry", "quay.io/rhdh", "--store", &store, "--registry-attempts", "3"], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(error_lines(&stderr).len(), 1, "one line for all seven images: {stderr}");
    assert!(stderr.contains(&format!("registry {closed} gave no usable answer")), "{stderr}");
    assert!(stderr.contains("after 3 attempts"), "retried: {stderr}");
    assert!(stderr.contains(&format!("named by `--store {store}`")), "{stderr}");
    assert!(stderr.contains("nothing accepts connections there"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// `sync` asks its store once before it runs anything; it takes the registry, credential and
/// policy flags its steps take; `--dry-run` takes them too and names the checkout's files.
#[test]
fn sync_checks_its_store_first_and_takes_the_flags_of_its_steps() {
    let registry = crate::support::Registry::start();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let exporter = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-exporter.sh");
    let sync = |extra: &[&str], env: &[(&str, &str)]| {
        let mut command = rhdh_catalog(root);
        command
            .env_remove("RHDH_CATALOG_ALLOW_LOCAL_REPOS")
            .arg("sync")
            .arg("--tree")
            .arg(&midstream)
            .arg("--out")
            .arg(root.join("out/sync"))
            .arg("--exporter")
            .arg(&exporter)
            .args(["--install-command", "true", "--tsc-command", "true"])
            .args(extra);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let store = format!("docker://{}", registry.host);
    let output = sync(&["--allow-local-repos", "--store", &store], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("named by `--store {store}`")), "{stderr}");
    assert!(stderr.contains(&format!("add `--insecure-registry {}`", registry.host)), "{stderr}");
    assert!(stderr.contains("nothing was run"), "{stderr}");
    assert!(!root.join("out/sync/state").exists(), "no task ran");

    // The same with the fix, as a dry run: the plan, with the boolean variable written `1`.
    let output = sync(
        &["--dry-run", "--store", &store, "--insecure-registry", &registry.host, "--on-missing", "previous"],
        &[("RHDH_CATALOG_ALLOW_LOCAL_REPOS", "1")],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout.contains("tasks: clone-repository → fetch → export"), "{stdout}");
    assert!(stdout.contains("tech-radar") && stdout.contains("never exported"), "the plan: {stdout}");
    let output = sync(&["--dry-run", "--allow-local-repos"], &[]);
    assert!(output.status.success(), "--dry-run --allow-local-repos: {}", stderr_of(&output));

    // Without the flag, the refusal names the checkout's upstream_repos.yml, not a scratch copy.
    let output = sync(&["--dry-run"], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&midstream.join("upstream_repos.yml").display().to_string()), "{stderr}");
    let temporary = regex::Regex::new(r"/tmp/\.tmp[A-Za-z0-9]+").unwrap();
    for found in temporary.find_iter(&stderr) {
        assert!(root.starts_with(found.as_str()), "a temporary copy is named ({}): {stderr}", found.as_str());
    }

    // A wrong param lists the valid ones; a contradiction between a flag and a param is refused.
    let output = sync(&["--dry-run", "--allow-local-repos", "--param", "on-mising=previous"], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the pipeline has no param `on-mising` (its params: git-url, revision"), "{stderr}");
    assert!(stderr.contains("on-missing"), "{stderr}");
    let output =
        sync(&["--dry-run", "--allow-local-repos", "--on-missing", "previous", "--param", "on-missing=fail"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("--param `on-missing=fail` contradicts --on-missing `previous`"));
}

/// An index whose overlay's origin nobody gave says so at the step, not only in build-info.json.
#[test]
fn build_info_without_a_known_source_warns_at_the_step() {
    let home = tempfile::tempdir().unwrap();
    let overlay = crate::support::example_overlay(home.path());
    let store = format!("oci-layout:{}", home.path().join("empty-store").display());
    std::fs::create_dir_all(home.path().join("empty-store")).unwrap();
    // The images exist: the index succeeds, and only the missing provenance is worth a warning.
    crate::support::publish_example_images(home.path(), &overlay, "quay.io/rhdh", &store, None);
    let index = |extra: &[&str]| {
        rhdh_catalog(home.path())
            .arg("index")
            .arg("--overlay")
            .arg(&overlay)
            .args([
                "--registry",
                "quay.io/rhdh",
                "--rhdh-version",
                "1.10.0",
                "--on-missing",
                "previous",
                "--store",
                &store,
            ])
            .arg("--output")
            .arg(home.path().join("catalog-index"))
            .arg("--plugin-builds")
            .arg(home.path().join("plugin_builds"))
            .args(extra)
            .output()
            .unwrap()
    };
    let output = index(&[]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("build-info.json records the overlay repository and commit as `unknown`: pass --source-repo and --overlay-commit"),
        "{stderr}"
    );
    let output = index(&["--source-repo", "https://github.com/example/overlay", "--overlay-commit", "abc1234"]);
    assert!(output.status.success());
    assert!(!stderr_of(&output).contains("as `unknown`"), "{}", stderr_of(&output));
}
