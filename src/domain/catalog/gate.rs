//! The publish gate: an index is released only when it holds plugins and lost none of the
//! previous index's, unless each removal is named (`--allow-removal <image>`). A renamed plugin is
//! one removal plus one addition, so it needs its old name allowed too. Pure.

use std::collections::BTreeSet;

use super::diff::{CatalogDiff, diff, to_markdown};
use super::view::CatalogView;

/// Why an index may not be released, with the whole difference for the person deciding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}\n\n{markdown}")]
pub(crate) struct GateRefusal {
    pub(crate) reason: String,
    /// Removals nobody allowed.
    pub(crate) removed: Vec<String>,
    /// The markdown difference against the previous index.
    pub(crate) markdown: String,
}

/// Checks `new` against `previous` (none: the first release); returns the difference when it may
/// be released.
pub(crate) fn check_release(
    previous: Option<&CatalogView>,
    new: &CatalogView,
    allowed_removals: &BTreeSet<String>,
) -> Result<CatalogDiff, GateRefusal> {
    let empty = CatalogView::new();
    let difference = diff(previous.unwrap_or(&empty), new);
    let markdown = to_markdown(&difference, new);
    if new.is_empty() {
        return Err(GateRefusal {
            reason: "the index holds no plugins; an empty catalog would remove every plugin from every installation"
                .to_string(),
            removed: difference.removed.clone(),
            markdown,
        });
    }
    let removed: Vec<String> =
        difference.removed.iter().filter(|image| !allowed_removals.contains(*image)).cloned().collect();
    if !removed.is_empty() {
        return Err(GateRefusal {
            reason: format!(
                "the index lost {} plugin(s) of the previous one: {}; name each removal with `--allow-removal <image>` if it is intended",
                removed.len(),
                crate::domain::text::first_items(&removed, 10)
            ),
            removed,
            markdown,
        });
    }
    Ok(difference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::view::PluginView;

    fn view(images: &[&str]) -> CatalogView {
        images.iter().map(|image| ((*image).to_string(), PluginView::default())).collect()
    }

    #[test]
    fn losing_a_plugin_needs_it_named_and_an_empty_index_never_passes() {
        let previous = view(&["a", "b"]);
        let refused = check_release(Some(&previous), &view(&["a"]), &BTreeSet::new()).unwrap_err();
        assert_eq!(refused.removed, ["b"]);
        assert!(refused.markdown.contains("| b | removed |"), "{}", refused.markdown);
        let allowed: BTreeSet<String> = ["b".to_string()].into_iter().collect();
        assert!(check_release(Some(&previous), &view(&["a"]), &allowed).is_ok());
        assert!(check_release(Some(&previous), &view(&[]), &allowed).is_err());
        assert!(check_release(None, &view(&[]), &BTreeSet::new()).is_err());
        assert!(check_release(None, &view(&["a"]), &BTreeSet::new()).is_ok());
    }

    #[test]
    fn a_rename_is_a_removal_and_an_addition() {
        let refused = check_release(Some(&view(&["old-name"])), &view(&["new-name"]), &BTreeSet::new()).unwrap_err();
        assert_eq!(refused.removed, ["old-name"]);
        assert!(refused.markdown.contains("| new-name | added"), "{}", refused.markdown);
    }
}
