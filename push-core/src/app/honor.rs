//! Honor Push settings of an app: message classification (see [`super::CATEGORIES`] and
//! ../shared/vendors/honor.md §5).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Honor Push settings of an app.
///
/// ```json
/// { "categories": { "SUBSCRIPTION": "LOW", "MATCH_FOUND": "NORMAL" } }
/// ```
///
/// Honor classifies by `android.notification.importance`: `NORMAL` is "service &
/// communication" (unlimited, sound and lock screen), `LOW` "news & marketing" (2 per device
/// per day, 5 for licensed news apps, silent). An entry in `categories` wins; a category
/// without one gets honor.md §5's default: `NORMAL` for IM, VOIP, ACCOUNT and the
/// order/reminder-like categories (the other [`super::CATEGORIES`] except MARKETING, plus
/// ORDER and TODO), `LOW` for everything else — so map a category only to change that. A
/// notification without a category is sent without `importance`, which Honor counts as
/// news & marketing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HonorSettings {
    /// pushgate category → Honor `importance` (`NORMAL` or `LOW`), e.g.
    /// `{"IM": "NORMAL", "PROMO": "LOW"}`; optional, categories left out get the default
    /// above.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, String>,
}

impl HonorSettings {
    /// Honor's `importance` values.
    pub const IMPORTANCE: &'static [&'static str] = &["NORMAL", "LOW"];

    /// Appends every problem as `(field path, reason)`.
    pub fn problems(&self, out: &mut Vec<(String, String)>) {
        for (category, value) in &self.categories {
            let path = format!("settings.honor.categories.{category}");
            if category.is_empty() || category.chars().count() > 64 {
                out.push((path.clone(), "a category is 1 to 64 characters".to_string()));
            }
            if !Self::IMPORTANCE.contains(&value.as_str()) {
                out.push((
                    path,
                    "must be Honor's importance: NORMAL (service & communication) or LOW (news & marketing)"
                        .to_string(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<String> {
        let s: HonorSettings = serde_json::from_str(json).unwrap();
        let mut out = Vec::new();
        s.problems(&mut out);
        out.into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn importance_values_are_checked() {
        assert!(problems(r#"{"categories":{"IM":"NORMAL","PROMO":"LOW"}}"#).is_empty());
        assert_eq!(
            problems(r#"{"categories":{"IM":"HIGH","":"LOW","X":"normal"}}"#),
            vec![
                "settings.honor.categories.",
                "settings.honor.categories.IM",
                "settings.honor.categories.X"
            ]
        );
        assert!(serde_json::from_str::<HonorSettings>(r#"{"importance":{}}"#).is_err());
    }
}
