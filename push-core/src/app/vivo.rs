//! vivo push settings of an app: message classification (see [`super::CATEGORIES`]) and the
//! receipt configuration (../shared/vendors/vivo.md §5, §7).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// vivo push settings of an app.
///
/// ```json
/// { "categories": { "IM": "IM", "VOIP": "IM", "ACCOUNT": "ACCOUNT", "PROMO": "MARKETING" },
///   "receipt_id": "12345" }
/// ```
///
/// A notification whose `options.category` is in `categories` gets the mapped vivo category;
/// one whose category is not gets vivo.md §5's default (`IM`/`VOIP` → `IM`; `ACCOUNT`, `TODO`,
/// `ORDER`, `SUBSCRIPTION`, `DEVICE_REMINDER` → themselves; anything else → `MARKETING`, an
/// operation message — map it to `NEWS`, `CONTENT` or a system category to change that); one
/// without a category is sent unclassified, which vivo counts as an operation message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VivoSettings {
    /// pushgate category → vivo `category` (one of [`VivoSettings::SYSTEM_CATEGORIES`] or
    /// [`VivoSettings::OPERATION_CATEGORIES`]); the adapter sends the matching
    /// `classification` (1 system, 0 operation) with it, e.g. `{"MAIL": "ACCOUNT", "FEED":
    /// "NEWS"}`. An entry wins over the default mapping; categories without one get the
    /// default (see [`VivoSettings`]). Default: empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, String>,
    /// The numeric receipt id of a receipt configured in the vivo push console (new receipts,
    /// sent as `extra["callback.id"]`). Default: unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    /// Old-style receipts: the callback URL sent with every message as `extra["callback"]`
    /// (pushgate's `/v1/callbacks/vivo/{app}` URL with its secret path token). Exclusive with
    /// `receipt_id`. Default: unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

impl VivoSettings {
    /// vivo's system-message categories (`classification` 1): shown with sound, heads-up and on
    /// the lock screen, no per-device daily limit.
    pub const SYSTEM_CATEGORIES: &'static [&'static str] = &[
        "IM",
        "ACCOUNT",
        "TODO",
        "DEVICE_REMINDER",
        "ORDER",
        "SUBSCRIPTION",
    ];

    /// vivo's operation-message categories (`classification` 0): silent, 2 (5 for news apps)
    /// per device per day, delivered only 07:00–23:00.
    pub const OPERATION_CATEGORIES: &'static [&'static str] =
        &["NEWS", "CONTENT", "MARKETING", "SOCIAL"];

    /// The `classification` vivo derives from one of its categories (1 system, 0 operation);
    /// `None` if it is not a vivo category.
    pub fn classification(vivo_category: &str) -> Option<u8> {
        if Self::SYSTEM_CATEGORIES.contains(&vivo_category) {
            Some(1)
        } else if Self::OPERATION_CATEGORIES.contains(&vivo_category) {
            Some(0)
        } else {
            None
        }
    }

    /// Appends every problem as `(field path, reason)`.
    pub fn problems(&self, out: &mut Vec<(String, String)>) {
        for (category, value) in &self.categories {
            let path = format!("settings.vivo.categories.{category}");
            if category.is_empty() || category.chars().count() > 64 {
                out.push((path.clone(), "a category is 1 to 64 characters".to_string()));
            }
            if Self::classification(value).is_none() {
                out.push((
                    path,
                    format!(
                        "must be one of vivo's categories: system {}; operation {}",
                        Self::SYSTEM_CATEGORIES.join(", "),
                        Self::OPERATION_CATEGORIES.join(", ")
                    ),
                ));
            }
        }
        if let Some(id) = &self.receipt_id
            && (id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            out.push((
                "settings.vivo.receipt_id".to_string(),
                "must be the numeric receipt id from the vivo push console (1 to 20 digits)"
                    .to_string(),
            ));
        }
        if let Some(url) = &self.callback_url {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.len() > 512 || url.chars().any(char::is_whitespace) {
                out.push((
                    "settings.vivo.callback_url".to_string(),
                    "must be an http(s) URL of at most 512 characters".to_string(),
                ));
            }
            if self.receipt_id.is_some() {
                out.push((
                    "settings.vivo.callback_url".to_string(),
                    "set either receipt_id (new receipts) or callback_url (old receipts), not both"
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
        let s: VivoSettings = serde_json::from_str(json).unwrap();
        let mut out = Vec::new();
        s.problems(&mut out);
        out.into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn categories_must_be_vivo_values() {
        assert!(
            problems(r#"{"categories":{"IM":"IM","VOIP":"IM","PROMO":"MARKETING"}}"#).is_empty()
        );
        assert_eq!(
            problems(r#"{"categories":{"IM":"im","NEWS":"PROMO","":"IM"}}"#),
            vec![
                "settings.vivo.categories.",
                "settings.vivo.categories.IM",
                "settings.vivo.categories.NEWS"
            ]
        );
        assert_eq!(VivoSettings::classification("IM"), Some(1));
        assert_eq!(VivoSettings::classification("SOCIAL"), Some(0));
        assert_eq!(VivoSettings::classification("VOIP"), None);
    }

    #[test]
    fn receipts_are_checked() {
        assert!(problems(r#"{"receipt_id":"1234"}"#).is_empty());
        assert!(
            problems(r#"{"callback_url":"https://push.example/v1/callbacks/vivo/a"}"#).is_empty()
        );
        assert_eq!(
            problems(r#"{"receipt_id":"12a"}"#),
            vec!["settings.vivo.receipt_id"]
        );
        assert_eq!(
            problems(r#"{"receipt_id":"1","callback_url":"ftp://x"}"#),
            vec!["settings.vivo.callback_url", "settings.vivo.callback_url"]
        );
        assert!(serde_json::from_str::<VivoSettings>(r#"{"category":{}}"#).is_err());
    }
}
