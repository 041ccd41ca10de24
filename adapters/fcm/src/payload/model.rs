//! The typed v1 `Message` (fcm.md §4), only the fields pushgate fills, in the snake_case
//! the Admin SDKs send. Everything else reaches FCM through `overrides.fcm`.

use super::{Inputs, android_priority, data_with_click, remaining_ttl};
use push_core::Priority;
use serde::Serialize;
use std::collections::BTreeMap;

/// `Message` without its target.
#[derive(Debug, Serialize)]
pub(super) struct Message {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    data: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<Notification>,
    android: AndroidConfig,
    apns: ApnsConfig,
    webpush: WebpushConfig,
}

/// The cross-platform notification.
#[derive(Debug, Serialize)]
struct Notification {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
}

/// `AndroidConfig`.
#[derive(Debug, Serialize)]
struct AndroidConfig {
    priority: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collapse_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restricted_package_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<AndroidNotification>,
}

/// `AndroidNotification`.
#[derive(Debug, Serialize)]
struct AndroidNotification {
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    click_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_count: Option<u32>,
}

/// `ApnsConfig`.
#[derive(Debug, Serialize)]
struct ApnsConfig {
    headers: BTreeMap<&'static str, String>,
    payload: ApnsPayload,
    #[serde(skip_serializing_if = "Option::is_none")]
    fcm_options: Option<ApnsFcmOptions>,
}

#[derive(Debug, Serialize)]
struct ApnsPayload {
    aps: Aps,
}

/// The `aps` dictionary; the alert itself comes from `message.notification`.
#[derive(Debug, Serialize)]
struct Aps {
    #[serde(skip_serializing_if = "Option::is_none")]
    badge: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<String>,
    #[serde(rename = "thread-id", skip_serializing_if = "Option::is_none")]
    thread_id: Option<String>,
    #[serde(rename = "content-available", skip_serializing_if = "Option::is_none")]
    content_available: Option<u8>,
    #[serde(rename = "mutable-content", skip_serializing_if = "Option::is_none")]
    mutable_content: Option<u8>,
}

#[derive(Debug, Serialize)]
struct ApnsFcmOptions {
    image: String,
}

/// `WebpushConfig`, minimal.
#[derive(Debug, Serialize)]
struct WebpushConfig {
    headers: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fcm_options: Option<WebpushFcmOptions>,
}

#[derive(Debug, Serialize)]
struct WebpushFcmOptions {
    link: String,
}

impl Message {
    /// Its `data` map.
    pub(super) fn data(&self) -> &BTreeMap<String, String> {
        &self.data
    }

    /// Bytes of keys and values that reach the device, counted like
    /// [`super::payload_bytes`] counts the JSON form: `data`, `notification` and
    /// `android.notification` (the typed message has no `android.data`).
    pub(super) fn device_bytes(&self) -> usize {
        fn pair(key: &str, value: Option<&str>) -> usize {
            value.map_or(0, |v| key.len() + v.len())
        }
        let data: usize = self.data.iter().map(|(k, v)| k.len() + v.len()).sum();
        let notification = self.notification.as_ref().map_or(0, |n| {
            pair("title", n.title.as_deref())
                + pair("body", n.body.as_deref())
                + pair("image", n.image.as_deref())
        });
        let android = self.android.notification.as_ref().map_or(0, |n| {
            pair("channel_id", n.channel_id.as_deref())
                + pair("tag", n.tag.as_deref())
                + pair("click_action", n.click_action.as_deref())
                + pair("sound", n.sound.as_deref())
                + n.notification_count
                    .map_or(0, |c| "notification_count".len() + c.to_string().len())
        });
        data + notification + android
    }
}

/// Builds the typed message; see the parent module for the mapping.
pub(super) fn message(inputs: &Inputs<'_>) -> Result<Message, String> {
    let msg = inputs.message;
    let options = &msg.options;
    let content = msg.notification.clone().unwrap_or_default();
    let silent = options.silent;
    let visible =
        !silent && (content.title.is_some() || content.body.is_some() || content.image.is_some());
    let ttl = remaining_ttl(options.ttl, inputs.accepted_at, inputs.now)?;
    let collapse = options.collapse_key.clone();
    let click = content.click.clone();
    let (badge, sound) = if silent {
        (None, None)
    } else {
        (content.badge, content.sound.clone())
    };

    let notification = visible.then(|| Notification {
        title: content.title.clone(),
        body: content.body.clone(),
        image: content.image.clone(),
    });
    let android_notification = visible.then(|| AndroidNotification {
        channel_id: Some(inputs.channel_id.to_string()).filter(|c| !c.is_empty()),
        tag: collapse.clone(),
        click_action: click.clone().filter(|c| !c.contains(':')),
        sound: sound.clone(),
        notification_count: badge,
    });
    let android = AndroidConfig {
        priority: android_priority(options.priority),
        ttl: ttl.map(|s| format!("{s}s")),
        collapse_key: collapse.clone(),
        restricted_package_name: inputs
            .app
            .settings
            .android
            .as_ref()
            .map(|a| a.package_name.clone()),
        notification: android_notification,
    };

    // Apple: a push that shows nothing (no alert, badge or sound) is a background push,
    // which must be priority 5 with content-available.
    let background = silent || (!visible && badge.is_none() && sound.is_none());
    let mut apns_headers = BTreeMap::new();
    let apns_priority = match (background, options.priority) {
        (false, Priority::High) => "10",
        _ => "5",
    };
    apns_headers.insert("apns-priority", apns_priority.to_string());
    apns_headers.insert(
        "apns-push-type",
        if background { "background" } else { "alert" }.to_string(),
    );
    if let Some(key) = &collapse {
        apns_headers.insert("apns-collapse-id", key.clone());
    }
    if let (Some(ttl), Some(seconds)) = (options.ttl, ttl) {
        let expiration = if seconds == 0 {
            0
        } else {
            inputs
                .accepted_at
                .unix_timestamp()
                .saturating_add_unsigned(ttl)
        };
        apns_headers.insert("apns-expiration", expiration.to_string());
    }
    let image = content.image.clone().filter(|_| visible);
    let apns = ApnsConfig {
        headers: apns_headers,
        payload: ApnsPayload {
            aps: Aps {
                badge,
                sound,
                thread_id: collapse.clone().filter(|_| !background),
                content_available: background.then_some(1),
                mutable_content: image.as_ref().map(|_| 1),
            },
        },
        fcm_options: image.map(|image| ApnsFcmOptions { image }),
    };

    let mut webpush_headers = BTreeMap::new();
    let urgency = match options.priority {
        Priority::High => "high",
        Priority::Normal => "normal",
    };
    webpush_headers.insert("Urgency", urgency.to_string());
    if let Some(seconds) = ttl {
        webpush_headers.insert("TTL", seconds.to_string());
    }
    let webpush = WebpushConfig {
        headers: webpush_headers,
        fcm_options: click
            .filter(|c| c.starts_with("https://"))
            .map(|link| WebpushFcmOptions { link }),
    };

    Ok(Message {
        data: data_with_click(msg),
        notification,
        android,
        apns,
        webpush,
    })
}
