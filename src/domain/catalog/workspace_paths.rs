//! Which plugins-list folder each metadata file of a workspace describes. Without the upstream
//! sources there is no package.json to read, so, like the upstream generator, we match names
//! against the last segment of each plugins-list path. The upstream generator uses only the
//! metadata entity name, which is often abbreviated (`rhdh-bsp-ctlg-backend-mod-extensions`) and
//! then matches the wrong folder; we also try the image name derived from `spec.packageName`
//! (`red-hat-developer-hub-backstage-plugin-catalog-backend-module-extensions`) and keep the
//! better score.
//!
//! 1. Score every (package, folder) pair, for each of the package's names: equal names score
//!    highest, then a name ending in `-<folder>`, then a name ending in `<folder>`; longer folder
//!    names score higher. Assign greedily from the best score (ties in file order, then list order).
//! 2. Leftover packages take the first leftover folder whose name occurs inside theirs; if the
//!    leftovers then pair up one to one, they are paired in order.
//! 3. A package still without a folder is placed at `<workspace>/<entity name>`.

/// The names a metadata package is known by: its entity name and its image name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PackageNames<'a> {
    pub(crate) entity_name: &'a str,
    pub(crate) image_name: &'a str,
}

/// `packages` in metadata file order, `folders` in plugins-list order; returns the workspace
/// path (`<workspace>/<folder>`) of each package.
pub(crate) fn match_workspace_paths(workspace: &str, packages: &[PackageNames<'_>], folders: &[&str]) -> Vec<String> {
    let last_segment = |folder: &str| folder.rsplit('/').next().unwrap_or(folder).to_string();
    let entity_names: Vec<&str> = packages.iter().map(|names| names.entity_name).collect();
    let mut assigned: Vec<Option<usize>> = vec![None; entity_names.len()];
    let mut used = vec![false; folders.len()];

    let score_of = |name: &str, last: &str| {
        let weight = last.len() * 10;
        if name == last {
            Some(weight + 3)
        } else if name.ends_with(&format!("-{last}")) {
            Some(weight + 2)
        } else if name.ends_with(last) {
            Some(weight + 1)
        } else {
            None
        }
    };
    let mut scored = Vec::new();
    for (entity, names) in packages.iter().enumerate() {
        for (folder_index, folder) in folders.iter().enumerate() {
            let last = last_segment(folder);
            let best = score_of(names.entity_name, &last).max(score_of(names.image_name, &last));
            if let Some(score) = best {
                scored.push((score, entity, folder_index));
            }
        }
    }
    scored.sort_by_key(|&(score, _, _)| std::cmp::Reverse(score));
    for (_, entity, folder_index) in scored {
        if assigned[entity].is_none() && !used[folder_index] {
            assigned[entity] = Some(folder_index);
            used[folder_index] = true;
        }
    }

    for (entity, name) in entity_names.iter().enumerate() {
        if assigned[entity].is_some() {
            continue;
        }
        let found = (0..folders.len())
            .find(|&folder_index| !used[folder_index] && name.contains(last_segment(folders[folder_index]).as_str()));
        if let Some(folder_index) = found {
            assigned[entity] = Some(folder_index);
            used[folder_index] = true;
        }
    }
    let unassigned: Vec<usize> = (0..entity_names.len()).filter(|&entity| assigned[entity].is_none()).collect();
    let unused: Vec<usize> = (0..folders.len()).filter(|&folder_index| !used[folder_index]).collect();
    if !unassigned.is_empty() && unassigned.len() == unused.len() {
        for (entity, folder_index) in unassigned.into_iter().zip(unused) {
            assigned[entity] = Some(folder_index);
        }
    }

    entity_names
        .iter()
        .zip(assigned)
        .map(|(name, folder)| match folder {
            Some(folder_index) => format!("{workspace}/{}", folders[folder_index]),
            None => format!("{workspace}/{name}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<'a>(pairs: &'a [(&'a str, &'a str)]) -> Vec<PackageNames<'a>> {
        pairs.iter().map(|&(entity_name, image_name)| PackageNames { entity_name, image_name }).collect()
    }

    #[test]
    fn exact_and_suffix_matches_win() {
        let paths = match_workspace_paths(
            "argocd",
            &names(&[
                ("backstage-community-plugin-redhat-argocd", "x"),
                ("backstage-community-plugin-redhat-argocd-backend", "y"),
            ]),
            &["plugins/argocd-backend", "plugins/argocd"],
        );
        assert_eq!(paths, ["argocd/plugins/argocd", "argocd/plugins/argocd-backend"]);
    }

    #[test]
    fn image_name_fixes_abbreviated_entity_names() {
        let paths = match_workspace_paths(
            "extensions",
            &names(&[
                (
                    "rhdh-bsp-ctlg-backend-mod-extensions",
                    "red-hat-developer-hub-backstage-plugin-catalog-backend-module-extensions",
                ),
                ("rhdh-bsp-extensions-backend", "red-hat-developer-hub-backstage-plugin-extensions-backend"),
                ("rhdh-bsp-extensions", "red-hat-developer-hub-backstage-plugin-extensions"),
            ]),
            &["plugins/catalog-backend-module-extensions", "plugins/extensions", "plugins/extensions-backend"],
        );
        assert_eq!(
            paths,
            [
                "extensions/plugins/catalog-backend-module-extensions",
                "extensions/plugins/extensions-backend",
                "extensions/plugins/extensions"
            ]
        );
    }

    #[test]
    fn leftovers_pair_in_order_and_unmatched_fall_back_to_the_name() {
        let paths =
            match_workspace_paths("ws", &names(&[("alpha", "a"), ("beta", "b")]), &["plugins/one", "plugins/two"]);
        assert_eq!(paths, ["ws/plugins/one", "ws/plugins/two"]);
        let paths = match_workspace_paths("ws", &names(&[("alpha", "a"), ("beta", "b")]), &["plugins/one"]);
        assert_eq!(paths, ["ws/alpha", "ws/beta"]);
        let paths = match_workspace_paths("ws", &names(&[("rhdh-bsp-techdocs-addon", "t")]), &["plugins/techdocs"]);
        assert_eq!(paths, ["ws/plugins/techdocs"]);
    }
}
