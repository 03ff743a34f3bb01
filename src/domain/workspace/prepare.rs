//! Preparing an upstream workspace for a hermetic build, as sync-midstream did: the workspace's
//! package manifest, dependency rewriting (`workspace:` and `backstage:` ranges pinned, yarn patch
//! resolutions and `packageManager` dropped, `yarnPath` set), and which folders and files do not
//! belong in the midstream copy. Text in, text out where possible; the few directory walks are
//! here too because they only read.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::InputError;

/// Every package of a workspace: name → (version, folder relative to the workspace root).
pub(crate) type WorkspaceManifest = BTreeMap<String, (String, PathBuf)>;

/// The dependency fields of a package.json that hold version ranges.
const DEPENDENCY_FIELDS: [&str; 4] = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"];

/// What [`workspace_manifest`] reads of a workspace on disk; the caller reads it (domain code
/// touches no files).
pub(crate) trait WorkspaceFiles {
    /// The `package.json` at `relative` (to the workspace root) as a JSON object; `None` when
    /// there is none.
    fn package_json(&self, relative: &Path) -> Result<Option<Map<String, Value>>, InputError>;
    /// The folders directly inside `relative`, as paths relative to the workspace root, sorted.
    fn folders_in(&self, relative: &Path) -> Vec<PathBuf>;
}

/// Reads the root `package.json` `workspaces` globs (`dir/*` or a plain folder) and every
/// package they name.
pub(crate) fn workspace_manifest(files: &impl WorkspaceFiles) -> Result<WorkspaceManifest, InputError> {
    let root_manifest = files.package_json(Path::new("package.json"))?.unwrap_or_default();
    let globs: Vec<String> = match root_manifest.get("workspaces") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::Object(object)) => object
            .get("packages")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut manifest = WorkspaceManifest::new();
    let mut folders = Vec::new();
    for glob in &globs {
        let glob = glob.trim_end_matches('/');
        if let Some(parent) = glob.strip_suffix("/*") {
            folders.extend(files.folders_in(Path::new(parent)));
        } else if !glob.contains('*') {
            folders.push(PathBuf::from(glob));
        }
    }
    for folder in folders {
        let Some(package) = files.package_json(&folder.join("package.json"))? else { continue };
        if let (Some(name), Some(version)) =
            (package.get("name").and_then(Value::as_str), package.get("version").and_then(Value::as_str))
        {
            manifest.insert(name.to_string(), (version.to_string(), folder));
        }
    }
    Ok(manifest)
}

/// `name → version` of the workspace packages, the `manifest.json` written next to the sources.
pub(crate) fn manifest_json(manifest: &WorkspaceManifest) -> Vec<u8> {
    let versions: BTreeMap<&str, &str> =
        manifest.iter().map(|(name, (version, _))| (name.as_str(), version.as_str())).collect();
    crate::formats::json::to_pretty(&versions)
}

/// `backstage:^` resolutions from a Yarn 2+ lockfile: package name → resolved version.
pub(crate) fn backstage_resolutions(yarn_lock: &str) -> BTreeMap<String, String> {
    let mut resolved = BTreeMap::new();
    let mut current: Vec<String> = Vec::new();
    for line in yarn_lock.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            let keys = line.trim_end_matches(':').trim_matches('"');
            current = keys
                .split(", ")
                .map(|key| key.trim_matches('"'))
                .filter_map(|key| {
                    let at = key[1..].find('@')? + 1;
                    key[at + 1..].starts_with("backstage:").then(|| key[..at].to_string())
                })
                .collect();
        } else if let Some(version) = line.trim_start().strip_prefix("version: ") {
            for name in current.drain(..) {
                resolved.insert(name, version.trim().trim_matches('"').to_string());
            }
        }
    }
    resolved
}

/// What rewriting one package.json changed, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rewrite {
    pub(crate) pinned: Vec<String>,
    pub(crate) unresolved: Vec<String>,
    pub(crate) removed: Vec<String>,
}

/// Pins `workspace:` ranges to the workspace's own versions and `backstage:` ranges to the
/// versions of the Backstage release (from the lockfile); on the root manifest also drops yarn
/// `patch:` resolutions and `packageManager`. Returns the new text, or `None` when unchanged.
pub(crate) fn rewrite_package_json(
    text: &str,
    is_root: bool,
    manifest: &WorkspaceManifest,
    backstage: &BTreeMap<String, String>,
) -> Result<(Option<String>, Rewrite), String> {
    let mut package: Map<String, Value> = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let mut rewrite = Rewrite::default();
    for field in DEPENDENCY_FIELDS {
        let Some(Value::Object(dependencies)) = package.get_mut(field) else { continue };
        for (name, range) in dependencies.iter_mut() {
            let Some(text) = range.as_str() else { continue };
            let pinned = if let Some(rest) = text.strip_prefix("workspace:") {
                manifest.get(name).map(|(version, _)| match rest {
                    "^" => format!("^{version}"),
                    "~" => format!("~{version}"),
                    "*" | "" => version.clone(),
                    explicit => explicit.to_string(),
                })
            } else if let Some(rest) = text.strip_prefix("backstage:") {
                backstage.get(name).map(|version| match rest {
                    "~" => format!("~{version}"),
                    "*" => version.clone(),
                    _ => format!("^{version}"),
                })
            } else {
                continue;
            };
            match pinned {
                Some(value) => {
                    rewrite.pinned.push(format!("{name}@{text} → {value}"));
                    *range = Value::String(value);
                }
                None => rewrite.unresolved.push(format!("{name}@{text}")),
            }
        }
    }
    if is_root {
        if package.remove("packageManager").is_some() {
            rewrite.removed.push("packageManager".into());
        }
        if let Some(Value::Object(resolutions)) = package.get_mut("resolutions") {
            let patched: Vec<String> = resolutions
                .iter()
                .filter(|(_, value)| value.as_str().is_some_and(|text| text.starts_with("patch:")))
                .map(|(key, _)| key.clone())
                .collect();
            for key in patched {
                resolutions.remove(&key);
                rewrite.removed.push(format!("resolutions.{key}"));
            }
        }
    }
    if rewrite.pinned.is_empty() && rewrite.removed.is_empty() {
        return Ok((None, rewrite));
    }
    let mut out = serde_json::to_string_pretty(&package).map_err(|error| error.to_string())?;
    out.push('\n');
    Ok((Some(out), rewrite))
}

/// Sets `yarnPath:` in a `.yarnrc.yml` text (replacing an existing line, else appending).
pub(crate) fn with_yarn_path(yarnrc: &str, yarn_path: &str) -> String {
    let mut out = String::new();
    let mut found = false;
    for line in yarnrc.lines() {
        if line.starts_with("yarnPath:") {
            let _ = writeln!(out, "yarnPath: {yarn_path}");
            found = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !found {
        let _ = writeln!(out, "yarnPath: {yarn_path}");
    }
    out
}

/// Folders that do not belong in a prepared workspace (relative to its root).
pub(crate) fn is_unneeded_package(relative: &Path) -> bool {
    let text = relative.to_string_lossy();
    text == "examples"
        || text == "packages/backend"
        || text == "packages/app"
        || text.starts_with("packages/app-")
        || text == "e2e-tests"
}

/// Whether a path (relative to the workspace root) is left out of the midstream copy: build
/// outputs, installs, tests, and everything in `dist-dynamic/` but `package.json`, `yarn.lock` and
/// `embedded/`.
pub(crate) fn is_left_out(relative: &Path, is_dir: bool) -> bool {
    let components: Vec<String> =
        relative.components().map(|component| component.as_os_str().to_string_lossy().into_owned()).collect();
    let Some(name) = components.last() else { return false };
    if components.iter().any(|component| component == "node_modules" || component == ".git") {
        return true;
    }
    if is_unneeded_package(relative) {
        return true;
    }
    if let Some(position) = components.iter().position(|component| component == "dist-dynamic") {
        let inside = &components[position + 1..];
        return match inside.first().map(String::as_str) {
            None | Some("embedded") => false,
            Some("package.json" | "yarn.lock") => inside.len() > 1,
            Some(_) => true,
        };
    }
    let build_output = ["dist", "dist-types", "dist-scalprum"].contains(&name.as_str()) && is_dir;
    let test_folder = ["__tests__", "__mocks__", "e2e-tests", "dev", ".storybook"].contains(&name.as_str()) && is_dir;
    let test_file = !is_dir
        && [".test.ts", ".test.tsx", ".spec.ts", ".spec.tsx", ".test.js", ".spec.js"]
            .iter()
            .any(|suffix| name.ends_with(suffix));
    build_output || test_folder || test_file
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> WorkspaceManifest {
        [("@acme/plugin-hello-common".to_string(), ("1.4.0".to_string(), PathBuf::from("plugins/hello-common")))]
            .into_iter()
            .collect()
    }

    #[test]
    fn workspace_and_backstage_ranges_are_pinned() {
        let text = r#"{"name":"@acme/plugin-hello","packageManager":"yarn@4.4.1","dependencies":{"@acme/plugin-hello-common":"workspace:^","@backstage/core-plugin-api":"backstage:^","react":"^18"},"devDependencies":{"@backstage/cli":"backstage:^","@acme/missing":"workspace:^"},"resolutions":{"x":"patch:x@npm%3A1.0.0#./p.patch","y":"1.0.0"}}"#;
        let backstage: BTreeMap<String, String> =
            [("@backstage/core-plugin-api".to_string(), "1.10.9".to_string())].into_iter().collect();
        let (out, rewrite) = rewrite_package_json(text, true, &manifest(), &backstage).unwrap();
        let out: Value = serde_json::from_str(&out.unwrap()).unwrap();
        assert_eq!(out["dependencies"]["@acme/plugin-hello-common"], "^1.4.0");
        assert_eq!(out["dependencies"]["@backstage/core-plugin-api"], "^1.10.9");
        assert_eq!(out["dependencies"]["react"], "^18");
        assert!(out.get("packageManager").is_none());
        assert_eq!(out["resolutions"], serde_json::json!({"y": "1.0.0"}));
        assert_eq!(rewrite.unresolved, ["@backstage/cli@backstage:^", "@acme/missing@workspace:^"]);
    }

    #[test]
    fn lockfile_backstage_resolutions() {
        let lock = "__metadata:\n  version: 8\n\n\"@backstage/core-plugin-api@backstage:^, @backstage/core-plugin-api@npm:^1.10.0\":\n  version: 1.10.9\n  resolution: \"@backstage/core-plugin-api@npm:1.10.9\"\n\n\"react@npm:^18\":\n  version: 18.3.1\n";
        let resolved = backstage_resolutions(lock);
        assert_eq!(resolved.get("@backstage/core-plugin-api").map(String::as_str), Some("1.10.9"));
        assert_eq!(resolved.len(), 1);
    }

    #[test]
    fn midstream_copy_leaves_out_builds_installs_and_tests() {
        for (path, is_dir) in [
            ("plugins/a/node_modules", true),
            ("plugins/a/dist", true),
            ("plugins/a/dist-dynamic/dist", true),
            ("plugins/a/dist-dynamic/node_modules", true),
            ("plugins/a/src/x.test.ts", false),
            ("plugins/a/src/__tests__", true),
            ("packages/app", true),
            ("packages/app-next", true),
            ("examples", true),
        ] {
            assert!(is_left_out(Path::new(path), is_dir), "{path}");
        }
        for (path, is_dir) in [
            ("plugins/a/dist-dynamic", true),
            ("plugins/a/dist-dynamic/package.json", false),
            ("plugins/a/dist-dynamic/yarn.lock", false),
            ("plugins/a/dist-dynamic/embedded/x/package.json", false),
            ("plugins/a/src/index.ts", false),
            ("packages/application-core", true),
        ] {
            assert!(!is_left_out(Path::new(path), is_dir), "{path}");
        }
    }

    #[test]
    fn yarn_path_is_set() {
        assert_eq!(
            with_yarn_path("nodeLinker: node-modules\n", ".yarn/releases/yarn-4.4.1.cjs"),
            "nodeLinker: node-modules\nyarnPath: .yarn/releases/yarn-4.4.1.cjs\n"
        );
        assert_eq!(with_yarn_path("yarnPath: old\n", "new"), "yarnPath: new\n");
    }
}
