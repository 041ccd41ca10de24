//! Xiaomi MiPush settings of an app: message classification by channel (xiaomi.md §4) and the
//! receipt URL sent with every message (§7).
//!
//! Since 2023 Xiaomi decides a message's class by the **channel** it is sent on: private
//! messages (chat, calls, account, orders…) go on channels the app applied for in the MiPush
//! console, public messages (news, promotions) on a public channel with a daily quota. Every
//! channel has an opaque `channel_id` assigned by Xiaomi; the adapter cannot invent them. A
//! private channel may further require a message template (template id + variables).
//!
//! ```json
//! "xiaomi": {
//!   "categories": {
//!     "IM":        { "channel_id": "110001", "class": "private",
//!                    "template": { "id": "tpl-chat", "params": { "sender": "title", "text": "body" } } },
//!     "VOIP":      { "channel_id": "110002", "class": "private" },
//!     "MARKETING": { "channel_id": "120001", "class": "public" }
//!   },
//!   "public_channel_id": "120001",
//!   "callback_url": "https://push.example.com/v1/callbacks/xiaomi/chat-prod?t=…"
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Xiaomi MiPush settings of an app.
///
/// The channel of a message (xiaomi.md §4.1): the `categories` entry of its
/// `options.category` when there is one (the app's own mapping always wins); otherwise —
/// an unmapped category or none at all — `public_channel_id`, and without that no
/// `extra.channel_id` (Xiaomi's default channel, limited to one message per device per day:
/// fine for rare notices, unusable for chat). The adapter cannot invent channel ids, so chat,
/// calls, account and order/logistics messages only go on a private channel once the app
/// maps their category to one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiSettings {
    /// pushgate category (`options.category`, see [`super::CATEGORIES`]) → the Xiaomi
    /// channel it is sent on. Default: empty (every message takes `public_channel_id`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, XiaomiChannel>,
    /// The app's public-message (公信) channel id from the MiPush console, for messages
    /// whose category has no entry in `categories` and for messages without a category.
    /// Absent (the default): those go without `extra.channel_id`, on Xiaomi's default
    /// channel. Never a private channel's id: Xiaomi audits private channels and may revoke
    /// one that carries marketing (xiaomi.md §4 rule 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_channel_id: Option<String>,
    /// The receipt URL sent as `extra.callback` (at most 128 characters, http or https):
    /// pushgate's `/v1/callbacks/xiaomi/{app}` URL with the app's secret path token. Absent:
    /// receipts go to the URL registered in the MiPush console, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// One Xiaomi channel (消息分类 channel) of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiChannel {
    /// The channel id assigned in the MiPush console (`extra.channel_id`); the app creates
    /// an Android notification channel with the same id.
    pub channel_id: String,
    /// Whether it is a private-message (私信) or public-message (公信) channel.
    pub class: XiaomiClass,
    /// For a private channel that requires one: the approved template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<XiaomiTemplate>,
}

/// Xiaomi's two message classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XiaomiClass {
    /// 私信消息: chat, calls, account, orders. Not counted against the public quota; kept up
    /// to 10 days for an offline device.
    Private,
    /// 公信消息: news, promotions. Daily quota per app and 5 per device; kept up to 1 day.
    Public,
}

/// A private-message template: its id and where each variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XiaomiTemplate {
    /// The template id (`extra.template_id`).
    pub id: String,
    /// Template variable → the message field giving its value: `title`, `body`, or
    /// `data.<key>`. Sent as `extra.template_param` (a JSON object); 1 to 9 variables.
    pub params: BTreeMap<String, String>,
}

impl XiaomiChannel {
    /// Whether this is a private-message (私信) channel.
    pub fn is_private(&self) -> bool {
        self.class == XiaomiClass::Private
    }
}

impl XiaomiSettings {
    /// Longest `extra.callback` Xiaomi takes (xiaomi.md §3.2).
    pub const MAX_CALLBACK_URL_CHARS: usize = 128;
    /// Most variables a Xiaomi template has (xiaomi.md §4.2).
    pub const MAX_TEMPLATE_PARAMS: usize = 9;

    /// Whether `source` names a message field a template variable can take its value from:
    /// `title`, `body` or `data.<key>`.
    pub fn template_source_ok(source: &str) -> bool {
        matches!(source, "title" | "body")
            || source
                .strip_prefix("data.")
                .is_some_and(|key| !key.is_empty())
    }

    /// Whether `id` has the shape of a MiPush console channel id: 1-64 letters, digits, `_`
    /// or `-`, without surrounding blanks.
    pub fn channel_id_ok(id: &str) -> bool {
        !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }

    /// Appends every problem as `(field path, reason)`.
    pub fn problems(&self, out: &mut Vec<(String, String)>) {
        const CHANNEL_ID: &str =
            "must be the channel id from the MiPush console (1-64 letters, digits, _ or -)";
        for (category, channel) in &self.categories {
            let path = format!("settings.xiaomi.categories.{category}");
            if category.is_empty() || category.chars().count() > 64 {
                out.push((path.clone(), "a category is 1 to 64 characters".to_string()));
            }
            if !Self::channel_id_ok(&channel.channel_id) {
                out.push((format!("{path}.channel_id"), CHANNEL_ID.to_string()));
            }
            let Some(template) = &channel.template else {
                continue;
            };
            if channel.class == XiaomiClass::Public {
                out.push((
                    format!("{path}.template"),
                    "templates are for private-message channels only".to_string(),
                ));
            }
            if template.id.trim().is_empty() || template.id.len() > 64 {
                out.push((
                    format!("{path}.template.id"),
                    "must be the template id from the MiPush console (1-64 characters)".to_string(),
                ));
            }
            if template.params.is_empty() || template.params.len() > Self::MAX_TEMPLATE_PARAMS {
                out.push((
                    format!("{path}.template.params"),
                    format!(
                        "a template has 1 to {} variables",
                        Self::MAX_TEMPLATE_PARAMS
                    ),
                ));
            }
            for (name, source) in &template.params {
                if name.trim().is_empty() || !Self::template_source_ok(source) {
                    out.push((
                        format!("{path}.template.params.{name}"),
                        "a variable takes its value from \"title\", \"body\" or \"data.<key>\""
                            .to_string(),
                    ));
                }
            }
        }
        if let Some(id) = &self.public_channel_id {
            let path = "settings.xiaomi.public_channel_id".to_string();
            if !Self::channel_id_ok(id) {
                out.push((path, CHANNEL_ID.to_string()));
            } else if let Some((category, _)) = self
                .categories
                .iter()
                .find(|(_, c)| c.is_private() && c.channel_id == *id)
            {
                out.push((
                    path,
                    format!(
                        "is the private-message channel of category {category}: unmapped categories (marketing included) would go out on it, and Xiaomi may revoke a private channel that carries marketing"
                    ),
                ));
            }
        }
        if let Some(url) = &self.callback_url {
            let ok_scheme = url.starts_with("https://") || url.starts_with("http://");
            if !ok_scheme
                || url.chars().count() > Self::MAX_CALLBACK_URL_CHARS
                || url.chars().any(char::is_whitespace)
            {
                out.push((
                    "settings.xiaomi.callback_url".to_string(),
                    format!(
                        "must be an http(s) URL of at most {} characters",
                        Self::MAX_CALLBACK_URL_CHARS
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn problems(json: &str) -> Vec<String> {
        let s: XiaomiSettings = serde_json::from_str(json).unwrap();
        let mut out = Vec::new();
        s.problems(&mut out);
        out.into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn a_good_mapping_has_no_problems_and_round_trips() {
        let json = r#"{"categories":{"IM":{"channel_id":"110001","class":"private","template":{"id":"tpl-1","params":{"sender":"title","text":"body","conv":"data.conv"}}},"MARKETING":{"channel_id":"120001","class":"public"}},"public_channel_id":"120001","callback_url":"https://push.example.com/v1/callbacks/xiaomi/chat"}"#;
        assert!(problems(json).is_empty());
        let s: XiaomiSettings = serde_json::from_str(json).unwrap();
        let back: XiaomiSettings =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            serde_json::to_string(&XiaomiSettings::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn problems_name_the_field() {
        let long_url = format!("https://x.example/{}", "a".repeat(120));
        let json = format!(
            r#"{{"categories":{{"IM":{{"channel_id":" 1 ","class":"private","template":{{"id":"","params":{{"a":"subject"}}}}}},"NEWS":{{"channel_id":"9","class":"public","template":{{"id":"t","params":{{"a":"title"}}}}}}}},"callback_url":"{long_url}"}}"#
        );
        assert_eq!(
            problems(&json),
            vec![
                "settings.xiaomi.categories.IM.channel_id",
                "settings.xiaomi.categories.IM.template.id",
                "settings.xiaomi.categories.IM.template.params.a",
                "settings.xiaomi.categories.NEWS.template",
                "settings.xiaomi.callback_url",
            ]
        );
        assert_eq!(
            problems(r#"{"callback_url":"ftp://x"}"#),
            vec!["settings.xiaomi.callback_url"]
        );
        assert_eq!(
            problems(
                r#"{"categories":{"IM":{"channel_id":"1","class":"private","template":{"id":"t","params":{}}}}}"#
            ),
            vec!["settings.xiaomi.categories.IM.template.params"]
        );
    }

    #[test]
    fn settings_stored_before_public_channel_id_still_load_and_save_unchanged() {
        let stored = r#"{"categories":{"IM":{"channel_id":"110001","class":"private"}},"callback_url":"https://push.example.com/cb"}"#;
        let s: XiaomiSettings = serde_json::from_str(stored).unwrap();
        assert_eq!(s.public_channel_id, None);
        assert_eq!(serde_json::to_string(&s).unwrap(), stored);
        let with: XiaomiSettings =
            serde_json::from_str(r#"{"public_channel_id":"120001"}"#).unwrap();
        assert_eq!(with.public_channel_id.as_deref(), Some("120001"));
    }

    #[test]
    fn the_public_channel_must_be_a_channel_id_and_not_a_private_channel() {
        assert_eq!(
            problems(r#"{"public_channel_id":" 12 "}"#),
            vec!["settings.xiaomi.public_channel_id"]
        );
        assert_eq!(
            problems(r#"{"public_channel_id":""}"#),
            vec!["settings.xiaomi.public_channel_id"]
        );
        assert_eq!(
            problems(
                r#"{"categories":{"IM":{"channel_id":"110001","class":"private"}},"public_channel_id":"110001"}"#
            ),
            vec!["settings.xiaomi.public_channel_id"]
        );
        assert!(
            problems(
                r#"{"categories":{"NEWS":{"channel_id":"120001","class":"public"}},"public_channel_id":"120001"}"#
            )
            .is_empty()
        );
    }

    #[test]
    fn unknown_fields_and_classes_are_refused() {
        assert!(serde_json::from_str::<XiaomiSettings>(r#"{"channels":{}}"#).is_err());
        assert!(
            serde_json::from_str::<XiaomiSettings>(
                r#"{"categories":{"IM":{"channel_id":"1","class":"secret"}}}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<XiaomiSettings>(r#"{"categories":{"IM":"110001"}}"#).is_err()
        );
    }
}
