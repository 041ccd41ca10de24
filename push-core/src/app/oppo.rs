//! OPPO push settings of an app: message classification (see [`super::CATEGORIES`]).
//!
//! OPPO classifies a notification by three fields together (oppo.md §5): the Android
//! notification `channel_id` (created by the app and registered in the OPPO console — a
//! communication & service channel must be applied for), the `category` and the reminder
//! strength `notify_level`. A wrong combination fails with code 67, so the settings are checked
//! against OPPO's allowed values when they are saved ([`OppoSettings::problems`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// OPPO push settings of an app.
///
/// ```json
/// {"categories": {
///    "IM":        {"channel_id": "chat_messages", "category": "IM", "notify_level": 16},
///    "MARKETING": {"channel_id": "promotions",    "category": "MARKETING", "notify_level": 1}},
///  "strong_reminder": true,
///  "communication_channel_id": "chat_service",
///  "default_channel_id": "promotions",
///  "callback_url": "https://push.example.com/v1/callbacks/oppo/chat-prod/<path token>"}
/// ```
///
/// A notification whose `options.category` has an entry in `categories` is sent as that entry
/// says. One without an entry gets OPPO's default classification (oppo.md §5, the adapter's
/// default table): `IM`/`VOIP` → `IM` (level 16 with `strong_reminder`, else 2), `ACCOUNT`,
/// `ORDER`, `TODO`, `SUBSCRIPTION`, `DEVICE_REMINDER` → the same name at level 2, both on
/// `communication_channel_id` (without it such a message is refused: OPPO answers 67 for a
/// communication category outside an approved channel); anything else → `MARKETING` at level
/// 1 on `default_channel_id`. A notification without a category is sent unclassified (OPPO's
/// default class, content & marketing) on `default_channel_id` when set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OppoSettings {
    /// pushgate category → OPPO classification (channel, category, notify level).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, OppoClassification>,
    /// The app holds OPPO's strong-reminder permission (`notify_level` 16 for instant
    /// messages, granted on application in the OPPO console). Decides the level of `IM` when
    /// `categories` does not give one: 16 with it, 2 without. Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strong_reminder: bool,
    /// The app's approved communication & service channel (registered in the OPPO console),
    /// for categories without an entry in `categories` that OPPO's default table puts in that
    /// class (`IM`, `VOIP`, `ACCOUNT`, `ORDER`, `TODO`, `SUBSCRIPTION`, `DEVICE_REMINDER`).
    /// Absent: such notifications are refused with a reason naming this setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communication_channel_id: Option<String>,
    /// The app's console-registered content & marketing channel: for notifications without a
    /// category (sent without `category`/`notify_level`) and for categories without an entry
    /// in `categories` that OPPO's default table sends as marketing. Absent: no `channel_id`
    /// is sent for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_channel_id: Option<String>,
    /// Where OPPO posts delivery receipts (`notification.call_back_url`, http or https, at
    /// most 200 characters): pushgate's `/v1/callbacks/oppo/{app}/{token}` URL with the
    /// app's secret path token (OPPO signs nothing). Absent: no receipts are requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// How one pushgate category is sent to OPPO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OppoClassification {
    /// The Android notification channel id, as registered in the OPPO console (for a
    /// communication & service category: the approved private channel).
    pub channel_id: String,
    /// OPPO's `category`, one of [`OppoSettings::CATEGORIES`].
    pub category: String,
    /// OPPO's `notify_level` (1 bar, 2 bar + lock screen, 16 also banner, sound and
    /// vibration — only for `IM` after OPPO's approval). Absent: the default level of
    /// `category` (oppo.md §5: `IM` 16 with [`OppoSettings::strong_reminder`], else 2; the
    /// other communication & service categories 2; content & marketing 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_level: Option<u8>,
}

impl OppoSettings {
    /// OPPO's `category` values of the communication & service class (unlimited quota;
    /// need an approved private channel).
    pub const COMMUNICATION_CATEGORIES: &'static [&'static str] = &[
        "IM",
        "ACCOUNT",
        "DEVICE_REMINDER",
        "ORDER",
        "TODO",
        "SUBSCRIPTION",
    ];
    /// OPPO's `category` values of the content & marketing class (daily limits).
    pub const MARKETING_CATEGORIES: &'static [&'static str] =
        &["NEWS", "CONTENT", "MARKETING", "SOCIAL"];
    /// Every OPPO `category` value.
    pub const CATEGORIES: &'static [&'static str] = &[
        "IM",
        "ACCOUNT",
        "DEVICE_REMINDER",
        "ORDER",
        "TODO",
        "SUBSCRIPTION",
        "NEWS",
        "CONTENT",
        "MARKETING",
        "SOCIAL",
    ];
    /// OPPO's `notify_level` values.
    pub const NOTIFY_LEVELS: &'static [u8] = &[1, 2, 16];
    /// The longest channel id accepted (Android's channel ids have no documented limit;
    /// OPPO's console names are short).
    pub const MAX_CHANNEL_ID_CHARS: usize = 128;
    /// Longest `call_back_url` OPPO takes (oppo.md §4.4).
    pub const MAX_CALLBACK_URL_CHARS: usize = 200;

    /// Appends every problem as `(field path, reason)`.
    pub fn problems(&self, out: &mut Vec<(String, String)>) {
        for (ours, class) in &self.categories {
            let path = format!("settings.oppo.categories.{ours}");
            if ours.is_empty() || ours.chars().count() > 64 {
                out.push((path.clone(), "a category is 1 to 64 characters".to_string()));
            }
            check_channel(&class.channel_id, &format!("{path}.channel_id"), out);
            if !Self::CATEGORIES.contains(&class.category.as_str()) {
                out.push((
                    format!("{path}.category"),
                    format!(
                        "must be one of OPPO's categories: {}",
                        Self::CATEGORIES.join(", ")
                    ),
                ));
            }
            match class.notify_level {
                Some(level) if !Self::NOTIFY_LEVELS.contains(&level) => out.push((
                    format!("{path}.notify_level"),
                    "must be 1 (bar), 2 (bar + lock screen) or 16 (bar, lock screen, banner, sound, vibration)".to_string(),
                )),
                Some(16) if class.category != "IM" => out.push((
                    format!("{path}.notify_level"),
                    "16 (strong reminder) is only for category IM, after OPPO's approval".to_string(),
                )),
                _ => {}
            }
        }
        if let Some(channel) = &self.communication_channel_id {
            check_channel(channel, "settings.oppo.communication_channel_id", out);
        }
        if let Some(channel) = &self.default_channel_id {
            check_channel(channel, "settings.oppo.default_channel_id", out);
        }
        if let Some(url) = &self.callback_url {
            let http = url.starts_with("https://") || url.starts_with("http://");
            if !http
                || url.chars().count() > Self::MAX_CALLBACK_URL_CHARS
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                out.push((
                    "settings.oppo.callback_url".to_string(),
                    format!(
                        "must be an http(s) URL of at most {} characters (pushgate's /v1/callbacks/oppo/{{app}}/{{token}})",
                        Self::MAX_CALLBACK_URL_CHARS
                    ),
                ));
            }
        }
    }
}

fn check_channel(channel: &str, path: &str, out: &mut Vec<(String, String)>) {
    let ok = !channel.is_empty()
        && channel.chars().count() <= OppoSettings::MAX_CHANNEL_ID_CHARS
        && !channel.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        out.push((
            path.to_string(),
            format!(
                "must be the channel id registered in the OPPO console: 1 to {} characters, no spaces",
                OppoSettings::MAX_CHANNEL_ID_CHARS
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<String> {
        let settings: OppoSettings = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        settings.problems(&mut out);
        out.into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn good_settings_have_no_problems() {
        let ok = problems(
            r#"{"categories":{"IM":{"channel_id":"chat","category":"IM","notify_level":16},
                "VOIP":{"channel_id":"calls","category":"IM","notify_level":2},
                "PROMO":{"channel_id":"promo","category":"MARKETING"}},
                "default_channel_id":"promo","communication_channel_id":"service",
                "strong_reminder":true,
                "callback_url":"https://push.example.com/v1/callbacks/oppo/chat/tok"}"#,
        );
        assert!(ok.is_empty(), "{ok:?}");
        assert!(problems("{}").is_empty());
    }

    #[test]
    fn categories_levels_and_channels_are_checked_against_oppo_values() {
        let got = problems(
            r#"{"categories":{
                "IM":{"channel_id":"chat","category":"CHAT","notify_level":3},
                "ACCOUNT":{"channel_id":"","category":"ACCOUNT","notify_level":16},
                "":{"channel_id":"a b","category":"NEWS"}},
                "default_channel_id":"","communication_channel_id":"a\tb",
                "callback_url":"ftp://x"}"#,
        );
        assert_eq!(
            got,
            vec![
                "settings.oppo.categories.",
                "settings.oppo.categories..channel_id",
                "settings.oppo.categories.ACCOUNT.channel_id",
                "settings.oppo.categories.ACCOUNT.notify_level",
                "settings.oppo.categories.IM.category",
                "settings.oppo.categories.IM.notify_level",
                "settings.oppo.communication_channel_id",
                "settings.oppo.default_channel_id",
                "settings.oppo.callback_url",
            ]
        );
    }

    #[test]
    fn unknown_fields_are_refused_and_empty_settings_round_trip() {
        assert!(serde_json::from_str::<OppoSettings>(r#"{"category":{}}"#).is_err());
        assert!(
            serde_json::from_str::<OppoSettings>(
                r#"{"categories":{"IM":{"channel_id":"c","category":"IM","level":2}}}"#
            )
            .is_err()
        );
        let empty: OppoSettings = serde_json::from_str("{}").unwrap_or_default();
        assert!(!empty.strong_reminder && empty.communication_channel_id.is_none());
        assert_eq!(serde_json::to_string(&empty).unwrap_or_default(), "{}");
        // Settings stored before strong_reminder / communication_channel_id still load, and
        // the new fields round-trip.
        let old =
            r#"{"categories":{"IM":{"channel_id":"c","category":"IM"}},"default_channel_id":"p"}"#;
        let loaded: OppoSettings = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serde_json::to_string(&loaded).unwrap_or_default(), old);
        let new = r#"{"strong_reminder":true,"communication_channel_id":"svc"}"#;
        let loaded: OppoSettings = serde_json::from_str(new).unwrap_or_else(|e| panic!("{e}"));
        assert!(loaded.strong_reminder);
        assert_eq!(serde_json::to_string(&loaded).unwrap_or_default(), new);
        let long = format!(
            r#"{{"callback_url":"https://x.example/{}"}}"#,
            "p".repeat(190)
        );
        assert_eq!(problems(&long), vec!["settings.oppo.callback_url"]);
    }
}
