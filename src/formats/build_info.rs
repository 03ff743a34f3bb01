//! `catalog-index/build-info.json`: every input the index was built from. No wall-clock time
//! unless `SOURCE_DATE_EPOCH` gives one, so that the same inputs give the same bytes.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct BuildInfo {
    /// `<overlay repository URL> @ <commit>`, as the upstream generator writes it.
    #[serde(rename = "source-repo")]
    pub(crate) source_repo: String,
    #[serde(rename = "build-date", default, skip_serializing_if = "Option::is_none")]
    pub(crate) build_date: Option<String>,
    #[serde(rename = "backstage-version")]
    pub(crate) backstage_version: String,
    #[serde(rename = "rhdh-version", default, skip_serializing_if = "Option::is_none")]
    pub(crate) rhdh_version: Option<String>,
    #[serde(rename = "overlay-commit")]
    pub(crate) overlay_commit: String,
    /// The registry prefix plugin references point at.
    pub(crate) registry: String,
    /// The registry prefix of the plugins whose metadata says `support: community`, when another.
    #[serde(rename = "community-registry", default, skip_serializing_if = "Option::is_none")]
    pub(crate) community_registry: Option<String>,
    /// Where `default.packages.yaml` came from when not from the overlay: `<repository> @ <commit>`
    /// (the RHDH repository, on older branches).
    #[serde(rename = "default-packages-source", default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_packages_source: Option<String>,
    /// `sha256:` of each package selection file (`default.packages.yaml`, tier lists), by name.
    #[serde(rename = "package-files")]
    pub(crate) package_files: indexmap::IndexMap<String, String>,
    #[serde(rename = "tool-version")]
    pub(crate) tool_version: String,
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub(crate) fn format_epoch(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_formats() {
        assert_eq!(format_epoch(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_epoch(1_787_347_775), "2026-08-21T21:29:35Z");
        assert_eq!(format_epoch(951_782_400), "2000-02-29T00:00:00Z");
    }
}
