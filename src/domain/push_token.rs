//! How long push credentials can live, where their form says so, and the durations a run is given.
//! Pure: `commit --check-push --push-within` (steps/commit.rs) asks it whether the token that
//! would push the sync's commit can outlive the run.
//!
//! GitHub's token formats name their kind by prefix (GitHub Docs, "About authentication to GitHub",
//! token prefixes): `ghs_` is a GitHub App installation (server-to-server) token, which GitHub
//! expires one hour after issuing it, and what Pipelines-as-Code's per-run secret holds on GitHub;
//! `ghu_` is a GitHub App user-to-server token, expiring after eight hours when expiry is on (the
//! default). Other tokens (personal access tokens, `github_pat_`, `ghp_`, GitLab's, a bot's) carry no
//! lifetime in their form: the remote decides.

use std::time::Duration;

/// A token kind whose lifetime is bounded by its issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortLived {
    /// What the token is, for messages (`a GitHub App installation token (ghs_…)`).
    pub kind: &'static str,
    /// The longest it can live from its issue.
    pub longest: Duration,
}

/// The lifetime bound of `token`, when its form gives one.
pub fn short_lived(token: &str) -> Option<ShortLived> {
    if token.starts_with("ghs_") {
        Some(ShortLived { kind: "a GitHub App installation token (ghs_…)", longest: Duration::from_secs(3600) })
    } else if token.starts_with("ghu_") {
        Some(ShortLived { kind: "a GitHub App user-to-server token (ghu_…)", longest: Duration::from_secs(8 * 3600) })
    } else {
        None
    }
}

/// A duration written as Tekton and Go write them, `5h20m`, `90m`, `45s`, or with `d` (days) and
/// `w` (weeks) as Quay does: numbers each followed by a unit, at least one, nothing else.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let wrong = || format!("`{text}` is not a duration: numbers each followed by s, m, h, d or w, e.g. 5h20m");
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut parts = 0;
    for character in text.chars() {
        if character.is_ascii_digit() {
            number.push(character);
            continue;
        }
        let unit: u64 = match character {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(wrong()),
        };
        let value: u64 = number.parse().map_err(|_| wrong())?;
        total = value.checked_mul(unit).and_then(|seconds| total.checked_add(seconds)).ok_or_else(wrong)?;
        number.clear();
        parts += 1;
    }
    if parts == 0 || !number.is_empty() {
        return Err(wrong());
    }
    Ok(Duration::from_secs(total))
}

/// `5h20m`, `1h`, `45s`: the shortest form that [`parse_duration`] reads back.
pub fn show_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut out = String::new();
    for (value, unit) in [(hours, 'h'), (minutes, 'm')] {
        if value > 0 {
            out.push_str(&value.to_string());
            out.push(unit);
        }
    }
    if rest > 0 || out.is_empty() {
        out.push_str(&rest.to_string());
        out.push('s');
    }
    out
}

/// Why `token` cannot be trusted to push `within` from now, if it cannot.
pub fn expires_too_soon(token: &str, within: Duration) -> Option<ShortLived> {
    short_lived(token).filter(|bound| bound.longest < within)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_tekton_writes_them() {
        assert_eq!(parse_duration("5h20m"), Ok(Duration::from_secs(5 * 3600 + 20 * 60)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("2w1s"), Ok(Duration::from_secs(2 * 604_800 + 1)));
        for wrong in ["", "5", "h", "5 hours", "1.5h", "-1h", "5hm", "99999999999999999999w"] {
            assert!(parse_duration(wrong).unwrap_err().contains("is not a duration"), "{wrong:?}");
        }
        for text in ["5h20m", "1h", "45s", "0s", "26h1s"] {
            assert_eq!(show_duration(parse_duration(text).unwrap()), text);
        }
    }

    #[test]
    fn github_app_tokens_are_short_lived_and_others_are_not_judged() {
        let within = parse_duration("5h20m").unwrap();
        let installation = expires_too_soon("ghs_16C7e42F292c6912E7710c838347Ae178B4a", within).unwrap();
        assert_eq!(installation.longest, Duration::from_secs(3600));
        assert!(installation.kind.contains("installation token"));
        assert_eq!(expires_too_soon("ghs_x", parse_duration("30m").unwrap()), None, "an hour is enough for 30m");
        assert_eq!(expires_too_soon("ghu_x", within), None, "8h outlasts 5h20m");
        assert!(expires_too_soon("ghu_x", parse_duration("9h").unwrap()).is_some());
        for long_lived in ["github_pat_11AB", "ghp_abc", "glpat-xyz", "tok-8a7b6c", ""] {
            assert_eq!(expires_too_soon(long_lived, parse_duration("4w").unwrap()), None, "{long_lived}");
        }
    }
}
