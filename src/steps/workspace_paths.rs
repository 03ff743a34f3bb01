//! Which plugins-list folder each metadata file of a workspace describes. Without the upstream
//! sources there is no package.json to read, so, like the upstream generator, we match names:
//! the metadata entity name against the last segment of each plugins-list path.
//!
//! 1. Score every (package, folder) pair: equal names score highest, then `name` ending in
//!    `-<folder>`, then `name` ending in `<folder>`; longer folder names score higher. Assign
//!    greedily from the best score (ties in file order, then list order).
//! 2. Leftover packages take the first leftover folder whose name occurs inside theirs; if the
//!    leftovers then pair up one to one, they are paired in order.
//! 3. A package still without a folder is placed at `<workspace>/<entity name>`.

/// `entity_names` in metadata file order, `folders` in plugins-list order; returns the workspace
/// path (`<workspace>/<folder>`) of each entity.
pub fn match_workspace_paths(workspace: &str, entity_names: &[&str], folders: &[&str]) -> Vec<String> {
    let last_segment = |folder: &str| folder.rsplit('/').next().unwrap_or(folder).to_string();
    let mut assigned: Vec<Option<usize>> = vec![None; entity_names.len()];
    let mut used = vec![false; folders.len()];

    let mut scored = Vec::new();
    for (entity, name) in entity_names.iter().enumerate() {
        for (folder_index, folder) in folders.iter().enumerate() {
            let last = last_segment(folder);
            let weight = last.len() * 10;
            let score = if *name == last {
                weight + 3
            } else if name.ends_with(&format!("-{last}")) {
                weight + 2
            } else if name.ends_with(&last) {
                weight + 1
            } else {
                continue;
            };
            scored.push((score, entity, folder_index));
        }
    }
    scored.sort_by(|left, right| right.0.cmp(&left.0));
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
        let found = (0..folders.len()).find(|&folder_index| !used[folder_index] && name.contains(last_segment(folders[folder_index]).as_str()));
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

    #[test]
    fn exact_and_suffix_matches_win() {
        let paths = match_workspace_paths(
            "argocd",
            &["backstage-community-plugin-redhat-argocd", "backstage-community-plugin-redhat-argocd-backend"],
            &["plugins/argocd-backend", "plugins/argocd"],
        );
        assert_eq!(paths, ["argocd/plugins/argocd", "argocd/plugins/argocd-backend"]);
    }

    #[test]
    fn leftovers_pair_in_order_and_unmatched_fall_back_to_the_name() {
        let paths = match_workspace_paths("ws", &["alpha", "beta"], &["plugins/one", "plugins/two"]);
        assert_eq!(paths, ["ws/plugins/one", "ws/plugins/two"]);
        let paths = match_workspace_paths("ws", &["alpha", "beta"], &["plugins/one"]);
        assert_eq!(paths, ["ws/alpha", "ws/beta"]);
        let paths = match_workspace_paths("ws", &["rhdh-bsp-techdocs-addon"], &["plugins/techdocs"]);
        assert_eq!(paths, ["ws/plugins/techdocs"]);
    }
}
