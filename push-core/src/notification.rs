//! The ingest message, version 1 (contract 1 of DESIGN.md), as typed values.
//!
//! Build one with [`crate::validate_ingest`], which checks every rule and reports every
//! problem at once; deserialising directly skips those checks.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One notification handed to pushgate by an IM core or a REST caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestMessage {
    /// The producer's idempotency key, unique per app.
    pub id: String,
    /// The app id.
    pub app: String,
    /// Who receives it.
    pub to: Target,
    /// What a person sees; absent for data-only messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<NotificationContent>,
    /// Key/value data handed to the app.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Delivery options.
    #[serde(default)]
    pub options: Options,
    /// Raw per-vendor fields, merged into the vendor request by the adapter.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, serde_json::Value>,
    /// WeChat template / subscribe message fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatContent>,
}

/// The recipients: users (all their active devices) or specific devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// User ids of the app; each is resolved to the user's active devices.
    Users(Vec<String>),
    /// Device ids of the app.
    Devices(Vec<String>),
}

/// The visible part of a notification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationContent {
    /// Title line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// App icon badge number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge: Option<u32>,
    /// Sound name (`default` for the system sound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
    /// An https URL of an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// What a tap opens (a deep link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub click: Option<String>,
}

impl NotificationContent {
    /// The title and body to show where a vendor needs both (Huawei, Honor, …): a missing or
    /// blank title is `app_name`, a missing or blank body repeats the title. `None` when
    /// there is neither, i.e. nothing to show.
    pub fn title_and_body(&self, app_name: &str) -> Option<(String, String)> {
        let given = |text: &Option<String>| text.clone().filter(|t| !t.trim().is_empty());
        let (title, body) = (given(&self.title), given(&self.body));
        if title.is_none() && body.is_none() {
            return None;
        }
        let title = title.unwrap_or_else(|| app_name.to_string());
        let body = body.unwrap_or_else(|| title.clone());
        Some((title, body))
    }
}

/// Delivery options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// Urgency.
    #[serde(default)]
    pub priority: Priority,
    /// Seconds after acceptance during which delivery is still worth it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Newer messages with the same key replace older undelivered ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapse_key: Option<String>,
    /// Message class (`IM`, `VOIP`, …), mapped to each vendor's classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Background / data-only: wakes the app without showing anything.
    #[serde(default)]
    pub silent: bool,
}

/// Urgency of a notification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Deliver now, waking the device.
    #[default]
    High,
    /// May be batched by the vendor to save power.
    Normal,
}

/// WeChat template (official account) or subscribe (mini program) message fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WechatContent {
    /// Template id; when absent, the app's default template for the category is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// Mini-program page opened by a tap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Template data, `{ "thing1": { "value": "Alice" } }`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub data: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod title_and_body_tests {
    use super::NotificationContent;

    fn content(title: Option<&str>, body: Option<&str>) -> NotificationContent {
        NotificationContent {
            title: title.map(str::to_string),
            body: body.map(str::to_string),
            ..NotificationContent::default()
        }
    }

    #[test]
    fn a_missing_half_is_filled_in() {
        let both = |t, b| Some((String::from(t), String::from(b)));
        assert_eq!(
            content(Some("Alice"), Some("hi")).title_and_body("Chat"),
            both("Alice", "hi")
        );
        assert_eq!(
            content(Some("Alice"), None).title_and_body("Chat"),
            both("Alice", "Alice")
        );
        assert_eq!(
            content(None, Some("hi")).title_and_body("Chat"),
            both("Chat", "hi")
        );
        assert_eq!(
            content(Some(" "), Some("hi")).title_and_body("Chat"),
            both("Chat", "hi")
        );
        assert_eq!(content(None, Some("  ")).title_and_body("Chat"), None);
        assert_eq!(content(None, None).title_and_body("Chat"), None);
    }
}
