//! What the Konflux runtime needs from the tool, against real things: Trusted Artifacts pushed
//! tagged (and annotated to expire) to a real `docker-registry`; an extra CA bundle
//! (`RHDH_CATALOG_EXTRA_CA`) trusted by the registry client, git and the Kubernetes client behind
//! TLS loopback fronts with a throwaway CA; git credentials from a basic-auth folder and the push
//! check against a real git smart-HTTP server (`git http-backend`) that demands them; and `sync`
//! running the Pipeline on a private midstream with the `git-auth` workspace bound and unbound.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::support::hostile_registry::forward;
use crate::support::loopback_http::{Reply, Request, Server, Tls};
use crate::support::upstreams::{git, repository};
use crate::support::{Registry, rhdh_catalog, skopeo, unique_namespace};

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A folder with two files to pack.
fn source_folder(root: &Path) -> PathBuf {
    let source = root.join("source");
    std::fs::create_dir_all(source.join("dir")).unwrap();
    std::fs::write(source.join("dir/file.txt"), "artifact\n").unwrap();
    std::fs::write(source.join("plan.json"), "{}\n").unwrap();
    source
}

/// `artifact create --store <store> [extra]` against a plain-HTTP registry; returns the URI.
fn create(home: &Path, registry: &Registry, store: &str, extra: &[&str]) -> String {
    let result = home.join(format!("result-{}", store.replace(['/', ':'], "_")));
    let output = rhdh_catalog(home)
        .args(["artifact", "--insecure-registry", &registry.host, "create", "--store", store])
        .args(extra)
        .arg("--result")
        .arg(&result)
        .arg(source_folder(home))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    std::fs::read_to_string(result).unwrap()
}

fn manifest(reference: &str) -> Value {
    serde_json::from_str(&skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{reference}")]))
        .unwrap()
}

// ------------------------------------------------------------------------------------------------
// 1. Artifacts that outlive the run.

#[test]
fn artifacts_are_pushed_under_the_store_tag_and_expire_when_asked() {
    let registry = Registry::shared();
    let home = tempfile::tempdir().unwrap();
    let repository = format!("{}/{}/rhdh-catalog-sync", registry.host, unique_namespace());

    // Konflux's store: <output-image>.<suffix>, a tag of the output image's repository.
    let fetch = create(home.path(), &registry, &format!("{repository}:0123abc.fetch"), &["--expires-after", "2h"]);
    let digest = fetch.rsplit_once('@').unwrap().1.to_string();
    assert_eq!(fetch, format!("oci:{repository}@{digest}"), "the URI names the repository and the blob, no tag");
    let tagged = manifest(&format!("{repository}:0123abc.fetch"));
    assert_eq!(tagged["layers"][0]["digest"], digest.as_str(), "{tagged}");
    assert_eq!(tagged["annotations"]["quay.expires-after"], "2h", "{tagged}");
    assert_eq!(tagged["artifactType"], "application/vnd.konflux-ci.trusted-artifact");

    // No expiry asked (an empty Tekton param): no annotation.
    create(home.path(), &registry, &format!("{repository}:0123abc.index"), &["--expires-after="]);
    let kept = manifest(&format!("{repository}:0123abc.index"));
    assert!(kept.get("annotations").is_none(), "{kept}");

    // A store without a tag: tagged after the blob, never pushed by digest only.
    let untagged = create(home.path(), &registry, &format!("{repository}-bare"), &[]);
    let hex = untagged.rsplit_once("@sha256:").unwrap().1;
    let by_derived_tag = manifest(&format!("{repository}-bare:sha256-{hex}"));
    assert_eq!(by_derived_tag["layers"][0]["digest"], format!("sha256:{hex}"));
    let tags: Value =
        serde_json::from_str(&skopeo(&["list-tags", "--tls-verify=false", &format!("docker://{repository}")])).unwrap();
    let tags: BTreeSet<&str> = tags["Tags"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(tags, BTreeSet::from(["0123abc.fetch", "0123abc.index"]));

    // The URI still restores the folder.
    let destination = home.path().join("restored");
    let output = rhdh_catalog(home.path())
        .args(["artifact", "--insecure-registry", &registry.host, "use"])
        .arg(format!("{fetch}={}", destination.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(std::fs::read_to_string(destination.join("dir/file.txt")).unwrap(), "artifact\n");

    // A lifetime Quay would not read is refused before anything is pushed.
    let output = rhdh_catalog(home.path())
        .args(["artifact", "--insecure-registry", &registry.host, "create", "--store"])
        .arg(format!("{repository}:refused"))
        .args(["--expires-after", "2 hours"])
        .arg(source_folder(home.path()))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("--expires-after `2 hours` is not a duration Quay reads"),
        "{}",
        stderr_of(&output)
    );
}

fn yaml(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|error| panic!("{relative}: {error}"))
}

fn sync_pipeline() -> Value {
    yaml("tekton/pipeline/rhdh-catalog-sync/0.1/rhdh-catalog-sync.yaml")
}

fn param<'a>(entries: &'a Value, name: &str) -> Option<&'a Value> {
    entries.as_array()?.iter().find(|entry| entry["name"] == name)
}

fn task_file(name: &str) -> String {
    format!("tekton/task/{name}/0.1/{name}.yaml")
}

/// The Task a pipeline task runs (`None` for a bundle task).
fn task_of(pipeline_task: &Value) -> Option<Value> {
    pipeline_task["taskRef"]["name"].as_str().map(|name| yaml(&task_file(name)))
}

fn args_of(step: &Value) -> Vec<String> {
    step["args"].as_array().unwrap().iter().map(|arg| arg.as_str().unwrap().to_string()).collect()
}

#[test]
fn every_artifact_task_takes_the_expiry_and_stores_under_a_tag_of_the_output_image() {
    let pipeline = sync_pipeline();
    let expires = param(&pipeline["spec"]["params"], "image-expires-after").expect("image-expires-after param");
    assert_eq!(expires["default"], "", "artifacts do not expire unless asked");
    let mut suffixes = BTreeSet::new();
    let mut creating = 0;
    for entry in pipeline["spec"]["tasks"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        let Some(storage) = param(&entry["params"], "ociStorage") else { continue };
        let storage = storage["value"].as_str().unwrap();
        let suffix = storage.strip_prefix("$(params.output-image).").unwrap_or_else(|| panic!("{name}: {storage}"));
        assert!(suffixes.insert(suffix.to_string()), "{name}: the suffix {suffix} is taken");
        assert_eq!(
            param(&entry["params"], "ociArtifactExpiresAfter").map(|value| &value["value"]),
            Some(&Value::from("$(params.image-expires-after)")),
            "{name} does not pass the Pipeline's image-expires-after"
        );
        let Some(task) = task_of(entry) else {
            assert_eq!(name, "clone-repository", "only Konflux's git-clone-oci-ta is a bundle");
            continue;
        };
        let declared = param(&task["spec"]["params"], "ociArtifactExpiresAfter")
            .unwrap_or_else(|| panic!("{name}: its Task has no ociArtifactExpiresAfter"));
        assert_eq!(declared["default"], "", "{name}");
        for step in task["spec"]["steps"].as_array().unwrap() {
            let args = args_of(step);
            if args.get(..2) != Some(&["artifact".to_string(), "create".to_string()]) {
                continue;
            }
            creating += 1;
            assert!(
                args.contains(&"--expires-after=$(params.ociArtifactExpiresAfter)".to_string()),
                "{name}: {args:?}"
            );
            let store = &args[args.iter().position(|arg| arg == "--oci-storage").unwrap() + 1];
            if entry["matrix"].is_object() {
                // Every TaskRun of the matrix gets the same ociStorage: each needs a tag of its own.
                assert_eq!(store, "$(params.ociStorage)-$(params.batch)", "{name}");
            } else {
                assert_eq!(store, "$(params.ociStorage)", "{name}");
            }
        }
    }
    assert_eq!(suffixes, BTreeSet::from(["git", "fetch", "export", "index", "release"].map(str::to_string)));
    assert_eq!(creating, 4, "fetch, export, index and release-number create artifacts");
    // Where the Pipeline is started, output-image carries a tag: the artifacts are tags of one
    // repository, not repositories of their own (`repo.git`, `repo.fetch`).
    for file in [
        "tekton/pac/rhdh-catalog-sync-push.yaml",
        "tekton/pac/rhdh-catalog-sync-comment.yaml",
        "tekton/pipelinerun/rhdh-catalog-sync-run.yaml",
    ] {
        let run = yaml(file);
        let output_image = param(&run["spec"]["params"], "output-image").unwrap()["value"].as_str().unwrap();
        let last = output_image.rsplit('/').next().unwrap();
        assert!(last.contains(':'), "{file}: output-image {output_image} has no tag");
        let expiry = param(&run["spec"]["params"], "image-expires-after").unwrap()["value"].as_str().unwrap();
        assert!(expiry.ends_with('d'), "{file}: the artifacts outlast a 5h20m run: {expiry}");
    }
}

#[test]
fn tasks_mount_the_trusted_ca_config_map_as_git_clone_oci_ta_does() {
    let mut mounted = 0;
    for entry in sync_pipeline()["spec"]["tasks"].as_array().unwrap() {
        let Some(task) = task_of(entry) else { continue };
        let name = task["metadata"]["name"].as_str().unwrap().to_string();
        let spec = &task["spec"];
        assert_eq!(param(&spec["params"], "caTrustConfigMapName").unwrap()["default"], "trusted-ca", "{name}");
        assert_eq!(param(&spec["params"], "caTrustConfigMapKey").unwrap()["default"], "ca-bundle.crt", "{name}");
        let volume = param(&spec["volumes"], "trusted-ca").unwrap_or_else(|| panic!("{name}: no trusted-ca volume"));
        assert_eq!(volume["configMap"]["name"], "$(params.caTrustConfigMapName)", "{name}");
        assert_eq!(volume["configMap"]["optional"], true, "{name}: a cluster without the ConfigMap still runs it");
        assert_eq!(volume["configMap"]["items"][0]["key"], "$(params.caTrustConfigMapKey)", "{name}");
        assert_eq!(volume["configMap"]["items"][0]["path"], "ca-bundle.crt", "{name}");
        let mount = param(&spec["stepTemplate"]["volumeMounts"], "trusted-ca").unwrap();
        assert_eq!(mount["mountPath"], "/mnt/trusted-ca", "{name}");
        assert_eq!(mount["readOnly"], true, "{name}");
        let env = param(&spec["stepTemplate"]["env"], "RHDH_CATALOG_EXTRA_CA").unwrap();
        assert_eq!(env["value"], "/mnt/trusted-ca/ca-bundle.crt", "{name}");
        mounted += 1;
    }
    assert_eq!(mounted, 5, "fetch, export, index, release-number and commit");
}

/// Every Task we ship and every Pipeline, with their files.
fn shipped_tasks() -> Vec<(String, Value)> {
    rhdh_catalog::pipeline::definitions::TASKS.iter().map(|(file, _)| ((*file).to_string(), yaml(file))).collect()
}

/// Every pipeline task (`tasks` and `finally`) of every Pipeline we ship, with the Pipeline's file.
fn every_pipeline_task() -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for file in [
        "tekton/pipeline/rhdh-catalog-sync/0.1/rhdh-catalog-sync.yaml",
        "tekton/pipeline/rhdh-catalog-release/0.1/rhdh-catalog-release.yaml",
    ] {
        let pipeline = yaml(file);
        for section in ["tasks", "finally"] {
            for entry in pipeline["spec"][section].as_array().into_iter().flatten() {
                found.push((file.to_string(), entry.clone()));
            }
        }
    }
    found
}

/// What is wrong with the expiry of one Task's artifacts: a step running `artifact create` must
/// pass `--expires-after=$(params.ociArtifactExpiresAfter)`, and the Task must declare that param.
fn expiry_problems(file: &str, task: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for step in task["spec"]["steps"].as_array().into_iter().flatten() {
        let args: Vec<&str> = step["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if args.get(..2) != Some(&["artifact", "create"][..]) {
            continue;
        }
        if !args.contains(&"--expires-after=$(params.ociArtifactExpiresAfter)") {
            problems.push(format!("{file}: step {} runs artifact create without the expiry", step["name"]));
        }
        if param(&task["spec"]["params"], "ociArtifactExpiresAfter").is_none() {
            problems.push(format!("{file}: no ociArtifactExpiresAfter param"));
        }
    }
    problems
}

/// What is wrong with the CA trust of one Task: a Task with a step whose subcommand reaches a
/// registry, a git remote over https or the Kubernetes API must mount the optional `trusted-ca`
/// ConfigMap at /mnt/trusted-ca and point `RHDH_CATALOG_EXTRA_CA` at it, as git-clone-oci-ta mounts it.
fn trusted_ca_problems(file: &str, task: &Value) -> Vec<String> {
    let spec = &task["spec"];
    let registry_steps: Vec<String> = spec["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|step| {
            let args: Vec<&str> = step["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let subcommand = args.first().copied().unwrap_or_default();
            // Steps whose subcommand reaches a registry, a git remote over https or the Kubernetes API.
            [
                "artifact",
                "fetch",
                "export",
                "index",
                "release-number",
                "commit",
                "publish",
                "validate",
                "promote",
                "await-build",
                "verify-install",
                "diff",
            ]
            .contains(&subcommand)
        })
        .map(|step| step["name"].as_str().unwrap_or_default().to_string())
        .collect();
    if registry_steps.is_empty() {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let volume = param(&spec["volumes"], "trusted-ca");
    let ok = volume.is_some_and(|volume| {
        volume["configMap"]["name"] == "$(params.caTrustConfigMapName)"
            && volume["configMap"]["optional"] == true
            && volume["configMap"]["items"][0]["key"] == "$(params.caTrustConfigMapKey)"
            && volume["configMap"]["items"][0]["path"] == "ca-bundle.crt"
    }) && param(&spec["params"], "caTrustConfigMapName").is_some_and(|param| param["default"] == "trusted-ca")
        && param(&spec["params"], "caTrustConfigMapKey").is_some_and(|param| param["default"] == "ca-bundle.crt")
        && param(&spec["stepTemplate"]["volumeMounts"], "trusted-ca")
            .is_some_and(|mount| mount["mountPath"] == "/mnt/trusted-ca" && mount["readOnly"] == true)
        && param(&spec["stepTemplate"]["env"], "RHDH_CATALOG_EXTRA_CA")
            .is_some_and(|env| env["value"] == "/mnt/trusted-ca/ca-bundle.crt");
    if !ok {
        problems.push(format!(
            "{file}: steps {registry_steps:?} reach a registry or an API, but the Task does not mount the optional trusted-ca ConfigMap as git-clone-oci-ta does"
        ));
    }
    problems
}

#[test]
fn every_artifact_expires_and_every_registry_step_trusts_the_ca() {
    let mut problems = Vec::new();
    let tasks = shipped_tasks();
    assert_eq!(tasks.len(), 11);
    for (file, task) in &tasks {
        problems.extend(expiry_problems(file, task));
        problems.extend(trusted_ca_problems(file, task));
    }
    // Every pipeline task that passes ociStorage (finally included) passes the Pipeline's expiry.
    let mut storing = 0;
    for (file, entry) in every_pipeline_task() {
        if param(&entry["params"], "ociStorage").is_none() {
            continue;
        }
        storing += 1;
        if param(&entry["params"], "ociArtifactExpiresAfter").map(|value| &value["value"])
            != Some(&Value::from("$(params.image-expires-after)"))
        {
            problems.push(format!("{file}: {} passes ociStorage without ociArtifactExpiresAfter", entry["name"]));
        }
    }
    assert!(storing >= 6, "clone, fetch, export, index, release-number and the finally report");
    assert!(problems.is_empty(), "{problems:#?}");

    // The checks themselves, on the report Task as it was: an artifact without expiry, no CA.
    let old = serde_saphyr::from_str::<Value>(
        "spec:\n  params: [{name: ociStorage}]\n  steps:\n    - name: create-trusted-artifact\n      args: [artifact, create, --store, $(params.ociStorage), --result, x, /var/workdir/report]\n",
    )
    .unwrap();
    let found = [expiry_problems("old", &old), trusted_ca_problems("old", &old)].concat();
    assert!(found.iter().any(|problem| problem.contains("runs artifact create without the expiry")), "{found:?}");
    assert!(
        found.iter().any(|problem| problem.contains("does not mount the optional trusted-ca ConfigMap")),
        "{found:?}"
    );
}

// ------------------------------------------------------------------------------------------------
// 2. The extra CA bundle.

/// A TLS front on loopback, signed by a throwaway CA, for a real registry on plain HTTP (the
/// registry's absolute upload locations rewritten to the front).
fn tls_registry_front(registry: &Registry, tls: &Tls) -> Server {
    let upstream = registry.host.clone();
    let front: Arc<std::sync::OnceLock<String>> = Arc::default();
    let known = Arc::clone(&front);
    let server = Server::start_tls(tls, move |request| {
        let mut reply = forward(&upstream, request);
        if let Some(front) = known.get() {
            for (name, value) in &mut reply.headers {
                if name.eq_ignore_ascii_case("location") {
                    *value = value.replace(&format!("http://{upstream}"), &format!("https://{front}"));
                }
            }
        }
        reply
    });
    front.set(server.host.clone()).unwrap();
    server
}

#[test]
fn the_registry_client_trusts_the_extra_ca_and_only_then() {
    let registry = Registry::shared();
    let home = tempfile::tempdir().unwrap();
    let tls = Tls::for_loopback();
    let ca = home.path().join("ca-bundle.crt");
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    let front = tls_registry_front(&registry, &tls);
    let namespace = unique_namespace();
    let store = format!("{}/{namespace}/sync:run.fetch", front.host);
    let push = |extra_ca: Option<&Path>| {
        let mut command = rhdh_catalog(home.path());
        if let Some(path) = extra_ca {
            command.env("RHDH_CATALOG_EXTRA_CA", path);
        }
        command
            .args(["artifact", "--registry-attempts", "1", "create", "--store", &store])
            .arg(source_folder(home.path()))
            .output()
            .unwrap()
    };

    // A certificate this machine does not trust is a configuration to fix, not an outage (exit 2).
    let refused = push(None);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    assert!(stderr_of(&refused).to_lowercase().contains("certificate"), "{}", stderr_of(&refused));
    // The trusted-ca ConfigMap is optional: a mount without the file is the system roots alone.
    let missing = push(Some(&home.path().join("no-such-ca.crt")));
    assert_eq!(missing.status.code(), Some(2), "{}", stderr_of(&missing));

    let pushed = push(Some(&ca));
    assert!(pushed.status.success(), "{}", stderr_of(&pushed));
    let uri = stdout_of(&pushed).trim().to_string();
    assert!(uri.starts_with(&format!("oci:{}/{namespace}/sync@sha256:", front.host)), "{uri}");
    assert!(stderr_of(&pushed).is_empty() || !stderr_of(&pushed).contains("error"), "{}", stderr_of(&pushed));
    // Pushed through the front, tagged: the registry behind it has the tag.
    let behind = manifest(&format!("{}/{namespace}/sync:run.fetch", registry.host));
    assert_eq!(behind["layers"][0]["digest"].as_str().unwrap(), uri.rsplit_once('@').unwrap().1);

    let destination = home.path().join("restored");
    let restore = |extra_ca: Option<&Path>| {
        let mut command = rhdh_catalog(home.path());
        if let Some(path) = extra_ca {
            command.env("RHDH_CATALOG_EXTRA_CA", path);
        }
        command
            .args(["artifact", "--registry-attempts", "1", "use"])
            .arg(format!("{uri}={}", destination.display()))
            .output()
            .unwrap()
    };
    assert_eq!(restore(None).status.code(), Some(2));
    let restored = restore(Some(&ca));
    assert!(restored.status.success(), "{}", stderr_of(&restored));
    assert!(destination.join("dir/file.txt").is_file());

    // A bundle that is there but holds no certificate stops the step before it starts.
    let garbage = home.path().join("garbage.crt");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let output = push(Some(&garbage));
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains(&format!("RHDH_CATALOG_EXTRA_CA={}: holds no PEM certificate", garbage.display())),
        "{}",
        stderr_of(&output)
    );
}

/// A kubeconfig for `server` with no `certificate-authority`: kube trusts the system roots.
fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: tls\n  cluster:\n    server: {server}\ncontexts:\n- name: tls\n  context:\n    cluster: tls\n    user: bot\n    namespace: rhdh-tenant\ncurrent-context: tls\nusers:\n- name: bot\n  user:\n    token: test-token-not-secret\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_kubernetes_client_trusts_the_extra_ca() {
    let home = tempfile::tempdir().unwrap();
    let tls = Tls::for_loopback();
    let ca = home.path().join("ca-bundle.crt");
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    let api = Server::start_tls(&tls, |request: &Request| {
        if request.path() == "/apis/appstudio.redhat.com/v1alpha1/namespaces/rhdh-tenant/snapshots" {
            Reply::json(
                200,
                &serde_json::json!({"apiVersion": "appstudio.redhat.com/v1alpha1", "kind": "SnapshotList",
                    "metadata": {"resourceVersion": "1"}, "items": []}),
            )
        } else {
            Reply::new(404)
        }
    });
    let tree = home.path().join("tree");
    crate::support::upstreams::write(
        &tree,
        &[
            (
                "build/containerfiles/index.Containerfile",
                "FROM scratch\nLABEL version=\"1.10.0\" \\\n      release=\"2\"\n",
            ),
            ("build/containerfiles/builder.Containerfile", "FROM scratch\nENV version=1.10.0 release=2\n"),
        ],
    );
    let config = kubeconfig(home.path(), &format!("https://{}", api.host));
    let run = |extra_ca: Option<&Path>| {
        let mut command = rhdh_catalog(home.path());
        if let Some(path) = extra_ca {
            command.env("RHDH_CATALOG_EXTRA_CA", path);
        }
        command
            .env("KUBECONFIG", &config)
            .arg("release-number")
            .arg("--tree")
            .arg(&tree)
            .args(["--version", "1.10.0", "--source", "konflux", "--namespace", "rhdh-tenant"])
            .args(["--component", "plugin-catalog-index", "--count-containerfile"])
            .arg("--store")
            .arg(format!("oci-layout:{}", home.path().join("layout").display()))
            .output()
            .unwrap()
    };
    let refused = run(None);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr_of(&refused));
    assert!(stderr_of(&refused).contains("Kubernetes API"), "{}", stderr_of(&refused));
    assert!(api.requests().is_empty(), "no request got through the TLS handshake: {:?}", api.requests());
    let trusted = run(Some(&ca));
    assert!(trusted.status.success(), "{}", stderr_of(&trusted));
    assert!(api.requests().iter().any(|request| request.path().ends_with("/snapshots")), "{:?}", api.requests());
}

// ------------------------------------------------------------------------------------------------
// 3. Git credentials and the push check, against git's own smart-HTTP server.

const USER: &str = "sync-bot";
const PASSWORD: &str = "pw-3f1c9e-never-logged";
const TOKEN: &str = "tok-8a7b6c-never-logged";
/// A GitHub App installation token as Pipelines-as-Code's per-run secret holds it on GitHub: the
/// remote accepts it, but GitHub expires it an hour after it is issued.
const APP_TOKEN: &str = "ghs_9Kf2Lq8Zp1Xw4Rt7Yb3Nc6Vm0Hd5Js1Ga2Eu";

/// Which requests of the git server need credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Private {
    /// Pushes only (a public repository).
    Push,
    /// Every request (a private repository).
    Everything,
}

/// `git http-backend` behind the loopback server, serving the repositories under `root`. A push
/// (and, when private, any request) needs `USER:PASSWORD` or `x-access-token:TOKEN` (how the
/// tool sends `GIT_TOKEN`).
struct GitServer {
    server: Server,
    private: Arc<Mutex<Private>>,
    scheme: &'static str,
}

impl GitServer {
    fn start(root: &Path, tls: Option<&Tls>, private: Private) -> GitServer {
        let root = root.to_path_buf();
        let mode = Arc::new(Mutex::new(private));
        let shared = Arc::clone(&mode);
        let handler = move |request: &Request| http_backend(&root, request, *shared.lock().unwrap());
        let (server, scheme) = match tls {
            Some(tls) => (Server::start_tls(tls, handler), "https"),
            None => (Server::start(handler), "http"),
        };
        GitServer { server, private: mode, scheme }
    }

    fn url(&self, repository: &str) -> String {
        format!("{}://{}/{repository}", self.scheme, self.server.host)
    }

    fn set(&self, private: Private) {
        *self.private.lock().unwrap() = private;
    }
}

fn http_backend(root: &Path, request: &Request, private: Private) -> Reply {
    let query = request.target.split_once('?').map_or("", |(_, query)| query);
    let push = request.path().ends_with("/git-receive-pack") || query.contains("service=git-receive-pack");
    let authorized = request.basic_credentials().is_some_and(|(user, password)| {
        (user == USER && password == PASSWORD)
            || (user == "x-access-token" && password == TOKEN)
            || (["x-access-token", "git"].contains(&user.as_str()) && password == APP_TOKEN)
    });
    if (push || private == Private::Everything) && !authorized {
        return Reply::new(401).header("WWW-Authenticate", "Basic realm=\"git\"");
    }
    let mut command = std::process::Command::new("git");
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", request.path())
        .env("REQUEST_METHOD", &request.method)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", request.header("content-type").unwrap_or_default())
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    if authorized {
        command.env("REMOTE_USER", USER);
    }
    if let Some(protocol) = request.header("git-protocol") {
        command.env("GIT_PROTOCOL", protocol);
    }
    if let Some(encoding) = request.header("content-encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(&request.body);
    }
    let output = child.wait_with_output().unwrap();
    let split = output
        .stdout
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| output.stdout.windows(2).position(|window| window == b"\n\n").map(|at| (at, 2)));
    let Some((at, gap)) = split else { return Reply::new(500) };
    let head = String::from_utf8_lossy(&output.stdout[..at]).into_owned();
    let mut reply = Reply::new(200);
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("status") {
            reply.status = value.trim().split(' ').next().and_then(|code| code.parse().ok()).unwrap_or(500);
        } else {
            reply = reply.header(name.trim(), value.trim());
        }
    }
    reply.body(output.stdout[at + gap..].to_vec())
}

/// A bare repository `<root>/midstream.git` with one commit on `main`; returns its head.
fn bare_midstream(root: &Path) -> String {
    let work = root.join("work");
    repository(&work, &[("upstream_repos.yml", "repos: []\n")], "v1");
    let bare = root.join("midstream.git");
    git(root, &["clone", "-q", "--bare", work.to_str().unwrap(), bare.to_str().unwrap()]);
    git(&bare, &["rev-parse", "main"])
}

/// The basic-auth folder layouts of git-clone-oci-ta.
fn username_password_folder(root: &Path) -> PathBuf {
    let dir = root.join("basic-auth-username-password");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("username"), USER).unwrap();
    std::fs::write(dir.join("password"), format!("{PASSWORD}\n")).unwrap();
    dir
}

fn git_credentials_folder(root: &Path, server: &GitServer) -> PathBuf {
    let dir = root.join("basic-auth-git-credentials");
    std::fs::create_dir_all(&dir).unwrap();
    // What Pipelines-as-Code writes: the repository URL with the user and token.
    let url = server.url("midstream.git").replacen("://", &format!("://{USER}:{PASSWORD}@"), 1);
    std::fs::write(dir.join(".git-credentials"), format!("{url}\n")).unwrap();
    std::fs::write(dir.join(".gitconfig"), "[credential]\n\thelper = store\n").unwrap();
    dir
}

fn assert_no_secret(text: &str, what: &str) {
    for secret in [PASSWORD, TOKEN, APP_TOKEN] {
        assert!(!text.contains(secret), "{what} shows a credential:\n{text}");
    }
}

#[test]
fn the_push_check_authenticates_with_a_token_or_a_basic_auth_folder_over_tls_with_the_extra_ca() {
    let root = tempfile::tempdir().unwrap();
    let head = bare_midstream(root.path());
    let tls = Tls::for_loopback();
    let ca = root.path().join("ca-bundle.crt");
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    let server = GitServer::start(root.path(), Some(&tls), Private::Push);
    let url = server.url("midstream.git");
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let check = |branch: &str, extra: &[(&str, &str)], flags: &[&str]| {
        let mut command = rhdh_catalog(&home);
        for (key, value) in extra {
            command.env(key, value);
        }
        let output = command
            .args(["commit", "--check-push", "--remote", &url, "--branch", branch])
            .args(flags)
            .output()
            .unwrap();
        assert_no_secret(&format!("{}{}", stdout_of(&output), stderr_of(&output)), "the push check");
        output
    };
    let ca_text = ca.to_str().unwrap();

    // git does not know the CA: TLS fails (a remote that did not answer usably: exit 3).
    let output = check("main", &[("GIT_TOKEN", TOKEN)], &[]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr_of(&output));
    assert!(stderr_of(&output).to_lowercase().contains("certificate"), "{}", stderr_of(&output));

    // With the extra CA, but no credentials: refused, with what to do (exit 2).
    let output = check("main", &[("RHDH_CATALOG_EXTRA_CA", ca_text)], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(stderr.contains(&format!("the push check failed: git remote {url} refused the push")), "{stderr}");
    assert!(stderr.contains("`git-auth-secret`") && stderr.contains("--workspace-dir git-auth=DIR"), "{stderr}");

    // A wrong token is refused too.
    let output = check("main", &[("RHDH_CATALOG_EXTRA_CA", ca_text), ("GIT_TOKEN", "wrong")], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("the remote refused the token in GIT_TOKEN"), "{}", stderr_of(&output));

    // The token, the username/password folder and the .git-credentials folder all pass.
    let output = check("main", &[("RHDH_CATALOG_EXTRA_CA", ca_text), ("GIT_TOKEN", TOKEN)], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output).trim(), format!("push check passed: {url} main"));
    for folder in [username_password_folder(root.path()), git_credentials_folder(root.path(), &server)] {
        let flag = format!("--credentials-dir={}", folder.display());
        let output = check("main", &[("RHDH_CATALOG_EXTRA_CA", ca_text)], &[&flag]);
        assert!(output.status.success(), "{}: {}", folder.display(), stderr_of(&output));
        // An empty GIT_TOKEN (an empty `password` in the Secret) leaves the folder in charge.
        let output = check("main", &[("RHDH_CATALOG_EXTRA_CA", ca_text), ("GIT_TOKEN", "")], &[&flag]);
        assert!(output.status.success(), "{}: {}", folder.display(), stderr_of(&output));
    }
    // A branch the remote does not have yet: the push that creates it is checked.
    let output = check("sync/new", &[("RHDH_CATALOG_EXTRA_CA", ca_text), ("GIT_TOKEN", TOKEN)], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));

    // A folder that is not there is bad input, before git runs.
    let output = check("main", &[("RHDH_CATALOG_EXTRA_CA", ca_text)], &["--credentials-dir", "/no/such/folder"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("/no/such/folder: is not a folder of git credentials"),
        "{}",
        stderr_of(&output)
    );

    // Nothing was pushed: the remote has its one branch (and tag) at its one commit.
    assert_eq!(
        git(&root.path().join("midstream.git"), &["for-each-ref", "--format=%(refname) %(objectname)"]),
        format!("refs/heads/main {head}\nrefs/tags/v1 {head}")
    );
}

/// The per-run secret Pipelines-as-Code binds to the git-auth workspace
/// (`pkg/secrets/basic_auth.go`, `MakeBasicAuthSecret`): `.git-credentials` with user `git` and the
/// query-escaped token, `.gitconfig`, and `git-provider-token`.
fn pac_secret_folder(root: &Path, server: &GitServer, token: &str) -> PathBuf {
    let dir = root.join("pac-gitauth-abc123");
    std::fs::create_dir_all(&dir).unwrap();
    let url = server.url("midstream.git").replacen("://", &format!("://git:{token}@"), 1);
    std::fs::write(dir.join(".git-credentials"), url).unwrap();
    std::fs::write(dir.join(".gitconfig"), "[credential]\n\thelper=store\n").unwrap();
    std::fs::write(dir.join("git-provider-token"), token).unwrap();
    dir
}

#[test]
fn the_push_check_refuses_a_token_that_expires_before_the_run_can_push() {
    let root = tempfile::tempdir().unwrap();
    let head = bare_midstream(root.path());
    let server = GitServer::start(root.path(), None, Private::Push);
    let url = server.url("midstream.git");
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let check = |token: &str, flags: &[&str]| {
        let output = rhdh_catalog(&home)
            .env("GIT_TOKEN", token)
            .args(["commit", "--check-push", "--remote", &url, "--branch", "main"])
            .args(flags)
            .output()
            .unwrap();
        assert_no_secret(&format!("{}{}", stdout_of(&output), stderr_of(&output)), "the push check");
        output
    };
    let pushes =
        || server.server.requests().iter().filter(|request| request.target.contains("git-receive-pack")).count();

    // The remote takes the installation token: without --push-within the check passes.
    let output = check(APP_TOKEN, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let asked = pushes();
    assert!(asked > 0);

    // With the run's timeout it is refused before the remote is asked, naming the Secret to create.
    let output = check(APP_TOKEN, &["--push-within", "5h20m", "--push-secret", "sync-push"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!(
            "the push check failed: the token in GIT_TOKEN (the `password` of the Secret `sync-push`) for {url} is a GitHub App installation token (ghs_…), which expires at most 1h after it is issued, and this run may push to `main` up to 5h20m after this check; nothing was written"
        )),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("create the Secret `sync-push` with a token that may push to `main` and lasts longer than 5h20m")
            && stderr.contains("kubectl create secret generic sync-push --from-literal=password=<token>"),
        "{stderr}"
    );
    assert_eq!(pushes(), asked, "nothing was asked of the remote");

    // PaC's per-run secret in the git-auth workspace, the Secret's password left empty: the same.
    let folder = pac_secret_folder(root.path(), &server, APP_TOKEN);
    let flag = format!("--credentials-dir={}", folder.display());
    let output = check("", &[&flag, "--push-within=5h20m"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!(
            "the push check failed: the credentials in {} for {url} is a GitHub App installation token",
            folder.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("create the Secret `git-auth`"), "the default Secret name: {stderr}");
    // A run that pushes within the hour, or no lifetime check (an empty Tekton param), passes.
    for flags in [vec![flag.as_str(), "--push-within=45m"], vec![flag.as_str(), "--push-within="]] {
        let output = check("", &flags);
        assert!(output.status.success(), "{flags:?}: {}", stderr_of(&output));
    }
    // A token whose form says nothing of its lifetime passes on to the remote's own check.
    let output = check(TOKEN, &["--push-within", "5h20m"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    // A duration Tekton would not write is bad input.
    let output = check(TOKEN, &["--push-within", "5 hours"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("--push-within `5 hours` is not a duration"), "{}", stderr_of(&output));
    assert_eq!(git(&root.path().join("midstream.git"), &["rev-parse", "main"]), head, "nothing was pushed");
}

#[test]
fn commit_pushes_with_the_basic_auth_folder_and_never_shows_it() {
    let root = tempfile::tempdir().unwrap();
    bare_midstream(root.path());
    let server = GitServer::start(root.path(), None, Private::Everything);
    let url = server.url("midstream.git");
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let credentials = username_password_folder(root.path());
    let tree = root.path().join("tree");
    let clone =
        rhdh_catalog(&home).args(["commit", "--check-push", "--remote", &url, "--branch", "main"]).output().unwrap();
    assert_eq!(clone.status.code(), Some(2), "a private repository refuses even the fetch: {}", stderr_of(&clone));
    // The checkout of a private repository, as git-clone-oci-ta makes it with the same folder.
    let authorized = url.replacen("://", &format!("://{USER}:{PASSWORD}@"), 1);
    git(root.path(), &["clone", "-q", &authorized, tree.to_str().unwrap()]);
    git(&tree, &["remote", "set-url", "origin", &url]);
    crate::support::upstreams::write(&tree, &[("catalog-index/index.json", "{}\n")]);
    let output = rhdh_catalog(&home)
        .env("GIT_AUTHOR_NAME", "sync")
        .env("GIT_AUTHOR_EMAIL", "sync@example.test")
        .arg("commit")
        .arg("--tree")
        .arg(&tree)
        .args(["--branch", "main", "--path", "catalog-index"])
        .arg("--credentials-dir")
        .arg(&credentials)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).starts_with("committed and pushed: "), "{}", stdout_of(&output));
    assert_no_secret(&format!("{}{}", stdout_of(&output), stderr_of(&output)), "commit");
    assert_no_secret(&std::fs::read_to_string(tree.join(".git/config")).unwrap(), "the checkout's git config");
    assert_eq!(git(&root.path().join("midstream.git"), &["rev-parse", "main"]), git(&tree, &["rev-parse", "HEAD"]));
}

// ------------------------------------------------------------------------------------------------
// 4. `sync` on a private midstream: the git-auth workspace bound and unbound.

fn sync(root: &Path, midstream: &Path, extra: &[&str]) -> std::process::Output {
    rhdh_catalog(root)
        .env("GIT_AUTHOR_NAME", "sync")
        .env("GIT_AUTHOR_EMAIL", "sync@example.test")
        .env("GIT_COMMITTER_NAME", "sync")
        .env("GIT_COMMITTER_EMAIL", "sync@example.test")
        .env("RUST_LOG", "info")
        .arg("sync")
        .arg("--tree")
        .arg(midstream)
        .arg("--out")
        .arg(root.join("out/sync"))
        .arg("--store")
        .arg(format!("oci-layout:{}", root.join("out/registry").display()))
        .arg("--exporter")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-exporter.sh"))
        .args(["--install-command", "true", "--tsc-command", "true"])
        .args(extra)
        .output()
        .unwrap()
}

/// Every file under `dir` (logs, saved outcomes, the report, the task folders), as text.
fn every_file(dir: &Path) -> String {
    crate::support::files_under(dir)
        .into_iter()
        .map(|file| String::from_utf8_lossy(&std::fs::read(dir.join(file)).unwrap_or_default()).into_owned())
        .collect()
}

#[test]
fn sync_fails_before_fetching_without_push_credentials_and_runs_a_private_midstream_with_git_auth_bound() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    let server = GitServer::start(root, None, Private::Push);
    let url = server.url("midstream.git");
    git(&midstream, &["remote", "set-url", "origin", &url]);
    // git sends a push larger than http.postBuffer chunked, which the loopback server cannot read.
    std::fs::write(root.join(".gitconfig"), "[http]\n\tpostBuffer = 104857600\n").unwrap();

    // A folder that is not there: nothing runs.
    let output = sync(root, &midstream, &["--workspace-dir", "git-auth=/no/such/folder"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("--workspace-dir `git-auth=/no/such/folder`"), "{}", stderr_of(&output));
    assert!(!root.join("out/sync/state").exists());

    // A public midstream that needs credentials to push, and none given: the fetch task's push
    // check fails, so nothing is fetched, exported or built.
    let output = sync(root, &midstream, &[]);
    let stdout = stdout_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{}", stderr_of(&output));
    assert!(stdout.starts_with("sync Failed"), "{stdout}");
    let fetch: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("out/sync/state/fetch.json")).unwrap()).unwrap();
    assert_eq!(fetch["status"], "Failed", "{fetch}");
    let reason = fetch["reason"].as_str().unwrap();
    assert!(reason.contains("step check-push exited"), "{reason}");
    assert!(reason.contains(&format!("the push check failed: git remote {url} refused the push")), "{reason}");
    let fetch_run = root.join("out/sync/runs/fetch");
    assert!(!fetch_run.join("fetch.log").exists(), "the fetch step did not run");
    assert!(!fetch_run.join("workdir/source/plan.json").exists());
    assert!(!fetch_run.join("workdir/source/overlay-repo").exists(), "no upstream was cloned");
    let export: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("out/sync/state/export.json")).unwrap()).unwrap();
    assert_eq!(export["status"], "None", "{export}");

    // Now private (the clone needs credentials too), with the git-auth workspace bound to a
    // basic-auth folder: cloned, checked, synced, pushed, and the checkout pulled, all with it.
    server.set(Private::Everything);
    let credentials = username_password_folder(root);
    let revision = git(&midstream, &["rev-parse", "HEAD"]);
    let bind = format!("git-auth={}", credentials.display());
    let output = sync(root, &midstream, &["--workspace-dir", &bind]);
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}\n{}", stderr_of(&output));
    assert!(stdout.starts_with("sync Succeeded"), "{stdout}");
    assert!(stdout.contains("commit:    true"), "{stdout}");
    let remote_head = git(&root.join("midstream.git"), &["rev-parse", "main"]);
    assert_ne!(remote_head, revision);
    assert_eq!(git(&midstream, &["rev-parse", "HEAD"]), remote_head, "{stdout}");
    assert!(server.server.requests().iter().any(|request| request.path().ends_with("/git-receive-pack")));
    assert_no_secret(&format!("{stdout}{}", stderr_of(&output)), "sync");
    assert_no_secret(&every_file(&root.join("out/sync")), "the task logs, outcomes, report and folders");
    assert_no_secret(&std::fs::read_to_string(midstream.join(".git/config")).unwrap(), "the checkout's git config");

    // Every artifact of the run is a tag of the one output-image repository, as Konflux names them.
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("out/sync/artifacts/localhost/rhdh-catalog-sync/index.json")).unwrap(),
    )
    .unwrap();
    let tags: BTreeSet<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|manifest| manifest["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .filter_map(|tag| tag.strip_prefix(&format!("{revision}.")))
        .map(str::to_string)
        .collect();
    let plain: BTreeSet<&str> = tags.iter().map(String::as_str).filter(|tag| !tag.starts_with("export-")).collect();
    assert_eq!(plain, BTreeSet::from(["git", "fetch", "index", "release", "report"]), "{tags:?}");
    let batches: Vec<Value> =
        serde_json::from_str::<Value>(&std::fs::read_to_string(root.join("out/sync/state/fetch.json")).unwrap())
            .unwrap()["results"]["batches"][0]
            .as_array()
            .unwrap()
            .clone();
    let exports: BTreeSet<String> = tags.iter().filter(|tag| tag.starts_with("export-")).cloned().collect();
    let expected: BTreeSet<String> =
        batches.iter().map(|batch| format!("export-{}", batch.as_str().unwrap())).collect();
    assert_eq!(exports, expected, "one tag per export TaskRun");
}

// ------------------------------------------------------------------------------------------------
// 5. The local runner keeps Konflux's clone and Trusted Artifact formats.

#[test]
fn sync_clones_the_midstream_with_depth_one_as_git_clone_oci_ta_does() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let midstream = crate::sync_pipeline::example(root);
    // History the cluster's clone does not have: two more commits on main.
    for round in ["one", "two"] {
        std::fs::write(midstream.join("NOTES.md"), format!("{round}\n")).unwrap();
        git(&midstream, &["add", "NOTES.md"]);
        git(&midstream, &["-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-q", "-m", round]);
    }
    git(&midstream, &["push", "-q", "origin", "main"]);
    let head = git(&midstream, &["rev-parse", "HEAD"]);
    let output = sync(root, &midstream, &["--allow-local-repos"]);
    assert!(output.status.success(), "{}\n{}", stdout_of(&output), stderr_of(&output));
    let clone = root.join("out/sync/runs/clone-repository/workdir/source");
    assert_eq!(git(&clone, &["rev-parse", "--is-shallow-repository"]), "true");
    assert_eq!(git(&clone, &["rev-list", "--count", "HEAD"]), "1", "only the revision, no history");
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]), head);
    // The sync's commit was made on that checkout and pushed on top of the full history.
    let remote = root.join("midstream.git");
    assert_eq!(git(&remote, &["rev-parse", "main~1"]), head, "{}", stdout_of(&output));
    // The next run brings the kept checkout to the new revision, still with no history.
    git(&midstream, &["pull", "-q", "--ff-only", "origin", "main"]);
    std::fs::write(midstream.join("NOTES.md"), "three\n").unwrap();
    git(&midstream, &["-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-q", "-am", "three"]);
    git(&midstream, &["push", "-q", "origin", "main"]);
    let head = git(&midstream, &["rev-parse", "HEAD"]);
    let output = sync(root, &midstream, &["--allow-local-repos"]);
    assert!(output.status.success(), "{}\n{}", stdout_of(&output), stderr_of(&output));
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&clone, &["rev-list", "--count", "HEAD"]), "1");
}

#[test]
fn an_artifact_made_like_create_oci_sh_is_restored() {
    let registry = Registry::shared();
    let home = tempfile::tempdir().unwrap();
    // A folder with what a checkout holds: nested folders, an empty one, an executable, a link
    // inside the tree, a name with spaces.
    let source = home.path().join("source");
    std::fs::create_dir_all(source.join("dir/deeper")).unwrap();
    std::fs::create_dir_all(source.join("empty")).unwrap();
    std::fs::write(source.join("plan.json"), "{}\n").unwrap();
    std::fs::write(source.join("dir/deeper/file with spaces.txt"), "spaces\n").unwrap();
    std::fs::write(source.join("run.sh"), "#!/bin/sh\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(source.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::symlink("dir/deeper/file with spaces.txt", source.join("link")).unwrap();
    // create-oci.sh: `tar --create --use-compress-program='gzip -n' --file <archive> --directory=<path> .`
    // (konflux-ci/build-trusted-artifacts f274f98), so every entry starts with `./`.
    let archive = home.path().join("SOURCE_ARTIFACT");
    let tar = std::process::Command::new("tar")
        .args(["--create", "--use-compress-program=gzip -n", "--file"])
        .arg(&archive)
        .arg(format!("--directory={}", source.display()))
        .arg(".")
        .output()
        .unwrap();
    assert!(tar.status.success(), "{}", String::from_utf8_lossy(&tar.stderr));
    let listing = std::process::Command::new("tar").arg("-tzf").arg(&archive).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(listing.lines().all(|entry| entry.starts_with("./")), "{listing}");
    assert!(listing.lines().any(|entry| entry == "./"), "{listing}");
    // Pushed as oras pushes it: one layer, the archive, in an image manifest of the store's repository.
    let bytes = std::fs::read(&archive).unwrap();
    let digest = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect::<String>()
    };
    let layout = home.path().join("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(layout.join("blobs/sha256").join(&digest), &bytes).unwrap();
    let empty = b"{}";
    let empty_digest = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    std::fs::write(layout.join("blobs/sha256").join(empty_digest), empty).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.unknown.artifact.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": format!("sha256:{empty_digest}"), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{digest}"), "size": bytes.len(),
                    "annotations": {"org.opencontainers.image.title": "SOURCE_ARTIFACT"}}],
    })
    .to_string();
    let manifest_digest = {
        use sha2::Digest as _;
        sha2::Sha256::digest(manifest.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect::<String>()
    };
    std::fs::write(layout.join("blobs/sha256").join(&manifest_digest), &manifest).unwrap();
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        layout.join("index.json"),
        serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"), "size": manifest.len()}]})
        .to_string(),
    )
    .unwrap();
    let repository = format!("{}/{}/rhdh-catalog-sync", registry.host, unique_namespace());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}", layout.display()),
        &format!("docker://{repository}:run.git"),
    ]);

    let destination = home.path().join("restored");
    let output = rhdh_catalog(home.path())
        .args(["artifact", "--insecure-registry", &registry.host, "use"])
        .arg(format!("oci:{repository}@sha256:{digest}={}", destination.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(std::fs::read_to_string(destination.join("plan.json")).unwrap(), "{}\n");
    assert_eq!(std::fs::read_to_string(destination.join("dir/deeper/file with spaces.txt")).unwrap(), "spaces\n");
    assert!(destination.join("empty").is_dir(), "the empty folder");
    assert_eq!(std::fs::read_link(destination.join("link")).unwrap(), Path::new("dir/deeper/file with spaces.txt"));
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(destination.join("run.sh")).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "the executable stays executable: {mode:o}");
    }
    // And into a folder that holds an older copy, with --exact as the local runner uses it.
    std::fs::write(destination.join("stale.txt"), "from an older run\n").unwrap();
    let output = rhdh_catalog(home.path())
        .env("RHDH_CATALOG_ARTIFACT_EXACT", "true")
        .args(["artifact", "--insecure-registry", &registry.host, "use"])
        .arg(format!("oci:{repository}@sha256:{digest}={}", destination.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(!destination.join("stale.txt").exists(), "an exact restore leaves only the artifact's files");
}
