//! Serde helpers for YAML scalars people write unquoted: `version: 1.10` must stay the string
//! `1.10`, and `supportedVersions: 1.52.0` is a string already.

use serde::{Deserialize, Deserializer};

/// Accepts a string, number or boolean scalar and keeps its text.
pub(crate) fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(ScalarText::deserialize(deserializer)?.0)
}

/// Like [`string`], for optional fields (`null` or absent gives `None`).
pub(crate) fn optional_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<ScalarText>::deserialize(deserializer)?.map(|text| text.0))
}

struct ScalarText(String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ScalarText;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(value.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, value: String) -> Result<ScalarText, E> {
                Ok(ScalarText(value))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(value.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(value.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(value.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(value.to_string()))
            }
        }
        // deserialize_string lets the YAML reader hand over the scalar's own text.
        deserializer.deserialize_string(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Versioned {
        #[serde(deserialize_with = "super::string")]
        version: String,
    }

    #[test]
    fn unquoted_versions_keep_their_text() {
        for text in ["1.10", "1.52.0", "2", "0755"] {
            let parsed: Versioned = serde_saphyr::from_str(&format!("version: {text}\n")).unwrap();
            assert_eq!(parsed.version, text);
        }
    }
}
