//! The midstream repository as the pipeline sees it: the paths it manages — what its tasks read
//! from the checkout and what `commit` stages. Anything else in the checkout (a README, CI files,
//! notes) neither changes what the pipeline makes nor is committed by it.

/// Managed paths besides the destination folders of `upstream_repos.yml`.
pub const MANAGED_PATHS: [&str; 7] = [
    "workspaces",
    "build",
    "plugin_builds",
    "upstream_repos.yml",
    "catalog-index",
    "catalog-index-community",
    "plugin_builds-community",
];

/// [`MANAGED_PATHS`] and the destination folders (relative paths, as `upstream_repos.yml` names
/// them), each once, in that order.
pub fn managed_paths<'a>(destinations: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut paths: Vec<String> = MANAGED_PATHS.iter().map(|path| (*path).to_string()).collect();
    for destination in destinations {
        if !paths.iter().any(|path| path == destination) {
            paths.push(destination.to_string());
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_follow_the_fixed_paths_once() {
        let mut expected = MANAGED_PATHS.to_vec();
        expected.push("overlay-repo");
        assert_eq!(managed_paths(["overlay-repo", "build", "overlay-repo"]), expected);
    }
}
