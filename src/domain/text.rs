//! Text helpers shared by error messages and reports (pure; no I/O).

/// The first `shown` items joined with `, `, then ` and N more` when there are others: long lists
/// in one-line messages stay readable (a missing-image error at 10× scale names over a thousand).
pub(crate) fn first_items<S: AsRef<str>>(items: &[S], shown: usize) -> String {
    let listed: Vec<&str> = items.iter().take(shown).map(AsRef::as_ref).collect();
    let more = items.len().saturating_sub(listed.len());
    let suffix = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("{}{suffix}", listed.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_everything_when_short_and_counts_the_rest_when_long() {
        assert_eq!(first_items(&["a", "b"], 3), "a, b");
        assert_eq!(first_items(&["a", "b", "c"], 3), "a, b, c");
        assert_eq!(first_items(&["a", "b", "c", "d", "e"], 2), "a, b and 3 more");
        assert_eq!(first_items::<&str>(&[], 2), "");
    }
}
