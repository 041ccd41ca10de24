//! Validation of the ingest message: every problem at once, each with its field path.
//!
//! The message is checked as raw JSON first, so that one bad field does not hide the
//! others (serde stops at the first error), then converted to [`IngestMessage`].

use crate::channel::Channel;
use crate::notification::{
    IngestMessage, NotificationContent, Options, Priority, Target, WechatContent,
};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Longest accepted producer id, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Default largest accepted message, in bytes of JSON.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Most recipients one message may name.
pub const MAX_TARGETS: usize = 10_000;
/// Longest accepted ttl: 28 days, the longest any vendor keeps a message.
pub const MAX_TTL_SECONDS: u64 = 28 * 24 * 3600;
/// Longest collapse key in bytes (APNs' `apns-collapse-id` limit).
pub const MAX_COLLAPSE_KEY_BYTES: usize = 64;

/// One thing wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: a dotted path with indices, e.g. `to.users[2]`; empty for the whole message.
    pub field: String,
    /// What is wrong, for a person.
    pub reason: String,
}

impl Problem {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Where a message came from, which decides how `app` is checked.
#[derive(Debug, Clone, Copy)]
pub enum AppSource<'a> {
    /// AMQP: the body must name the app.
    Body,
    /// REST: the app is in the URL; a body `app`, if present, must match it.
    Path(&'a str),
}

/// Checks raw bytes against contract 1 and returns the typed message or every problem.
pub fn validate_ingest(
    raw: &[u8],
    app: AppSource<'_>,
    max_bytes: usize,
) -> Result<IngestMessage, Vec<Problem>> {
    if raw.len() > max_bytes {
        return Err(vec![Problem::new(
            "",
            format!("message is {} bytes; the limit is {max_bytes}", raw.len()),
        )]);
    }
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| vec![Problem::new("", format!("not valid JSON: {e}"))])?;
    let Value::Object(root) = value else {
        return Err(vec![Problem::new("", "must be a JSON object")]);
    };
    let mut v = Validator::default();
    v.nul_characters(&root, "");
    let msg = v.message(&root, app);
    match msg {
        Some(m) if v.problems.is_empty() => Ok(m),
        _ => Err(v.problems),
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(Problem::new(field, reason));
    }

    fn unknown_fields(&mut self, obj: &Map<String, Value>, prefix: &str, known: &[&str]) {
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            let shown: String = key.chars().take(64).collect();
            self.push(join(prefix, &shown), "unknown field");
        }
    }

    /// Every string (key or value) holding U+0000: valid JSON, but PostgreSQL refuses it in
    /// text and `jsonb`, so such a message could never be stored.
    fn nul_characters(&mut self, obj: &Map<String, Value>, prefix: &str) {
        for (key, value) in obj {
            let shown: String = key.chars().filter(|c| *c != '\0').take(64).collect();
            let path = join(prefix, &shown);
            if key.contains('\0') {
                self.push(path.clone(), "a key holds a NUL character (\\u0000)");
            }
            self.nul_in_value(value, &path);
        }
    }

    fn nul_in_value(&mut self, value: &Value, path: &str) {
        match value {
            Value::String(text) if text.contains('\0') => {
                self.push(
                    path,
                    "holds a NUL character (\\u0000), which cannot be stored",
                );
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.nul_in_value(item, &format!("{path}[{i}]"));
                }
            }
            Value::Object(obj) => self.nul_characters(obj, path),
            _ => {}
        }
    }

    fn message(
        &mut self,
        root: &Map<String, Value>,
        app_source: AppSource<'_>,
    ) -> Option<IngestMessage> {
        self.unknown_fields(
            root,
            "",
            &[
                "id",
                "app",
                "to",
                "notification",
                "data",
                "options",
                "overrides",
                "wechat",
            ],
        );
        let id = self.id(root.get("id"));
        let app = self.app(root.get("app"), app_source);
        let to = self.target(root.get("to"));
        let notification = self.notification(root.get("notification"));
        let data = self.data(root.get("data"));
        let options = self.options(root.get("options"));
        let overrides = self.overrides(root.get("overrides"));
        let wechat = self.wechat(root.get("wechat"));

        let has_data = root
            .get("data")
            .and_then(Value::as_object)
            .is_some_and(|d| !d.is_empty());
        if !has_data && root.get("notification").is_none() && root.get("wechat").is_none() {
            self.push("", "nothing to deliver: give notification, data or wechat");
        }
        if let (Some(o), Some(n)) = (&options, &notification)
            && o.silent
            && (n.title.is_some() || n.body.is_some())
        {
            self.push(
                "options.silent",
                "a silent message cannot have a title or body",
            );
        }
        Some(IngestMessage {
            id: id?,
            app: app?,
            to: to?,
            notification,
            data: data?,
            options: options?,
            overrides: overrides?,
            wechat,
        })
    }

    fn id(&mut self, v: Option<&Value>) -> Option<String> {
        let id = self.required_string(v, "id")?;
        if id.is_empty() {
            self.push("id", "must not be empty");
        } else if id.chars().count() > MAX_ID_CHARS {
            self.push("id", format!("must be at most {MAX_ID_CHARS} characters"));
        } else {
            return Some(id);
        }
        None
    }

    fn app(&mut self, v: Option<&Value>, source: AppSource<'_>) -> Option<String> {
        match (source, v) {
            (AppSource::Body, v) => {
                let app = self.required_string(v, "app")?;
                match crate::ids::check_external_id(&app) {
                    Ok(()) => Some(app),
                    Err(reason) => {
                        self.push("app", reason);
                        None
                    }
                }
            }
            (AppSource::Path(path_app), None) => Some(path_app.to_string()),
            (AppSource::Path(path_app), Some(v)) => {
                if v.as_str() == Some(path_app) {
                    Some(path_app.to_string())
                } else {
                    self.push("app", "does not match the app in the URL; leave it out");
                    None
                }
            }
        }
    }

    fn target(&mut self, v: Option<&Value>) -> Option<Target> {
        let Some(v) = v else {
            self.push("to", "is required");
            return None;
        };
        let Value::Object(obj) = v else {
            self.push("to", "must be an object with users or devices");
            return None;
        };
        self.unknown_fields(obj, "to", &["users", "devices"]);
        match (obj.get("users"), obj.get("devices")) {
            (Some(_), Some(_)) => {
                self.push("to", "give exactly one of users or devices, not both");
                None
            }
            (None, None) => {
                self.push("to", "give exactly one of users or devices");
                None
            }
            (Some(users), None) => self.id_list(users, "to.users").map(Target::Users),
            (None, Some(devices)) => self.id_list(devices, "to.devices").map(Target::Devices),
        }
    }

    fn id_list(&mut self, v: &Value, path: &str) -> Option<Vec<String>> {
        let Value::Array(items) = v else {
            self.push(path, "must be an array of ids");
            return None;
        };
        if items.is_empty() {
            self.push(path, "must not be empty");
            return None;
        }
        if items.len() > MAX_TARGETS {
            self.push(
                path,
                format!(
                    "names {} recipients; the limit is {MAX_TARGETS}",
                    items.len()
                ),
            );
            return None;
        }
        let before = self.problems.len();
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = format!("{path}[{i}]");
            match item.as_str() {
                None => self.push(field, "must be a string"),
                Some(s) => match crate::ids::check_external_id(s) {
                    Err(reason) => self.push(field, reason),
                    // Duplicates are harmless: one delivery per device either way.
                    Ok(()) if seen.insert(s) => out.push(s.to_string()),
                    Ok(()) => {}
                },
            }
        }
        (self.problems.len() == before).then_some(out)
    }

    fn notification(&mut self, v: Option<&Value>) -> Option<NotificationContent> {
        let obj = self.optional_object(v, "notification")?;
        self.unknown_fields(
            obj,
            "notification",
            &["title", "body", "badge", "sound", "image", "click"],
        );
        let badge = match obj.get("badge") {
            None | Some(Value::Null) => None,
            Some(b) => match b.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => Some(n),
                None => {
                    self.push(
                        "notification.badge",
                        "must be a whole number from 0 to 4294967295",
                    );
                    None
                }
            },
        };
        let image = self.optional_string(obj.get("image"), "notification.image");
        if let Some(url) = &image
            && !url.starts_with("https://")
        {
            self.push("notification.image", "must be an https:// URL");
        }
        Some(NotificationContent {
            title: self.optional_string(obj.get("title"), "notification.title"),
            body: self.optional_string(obj.get("body"), "notification.body"),
            badge,
            sound: self.optional_string(obj.get("sound"), "notification.sound"),
            image,
            click: self.optional_string(obj.get("click"), "notification.click"),
        })
    }

    fn data(&mut self, v: Option<&Value>) -> Option<BTreeMap<String, String>> {
        let Some(obj) = self.optional_object(v, "data") else {
            return (!matches!(v, Some(v) if !v.is_null())).then(BTreeMap::new);
        };
        let before = self.problems.len();
        let mut out = BTreeMap::new();
        for (key, value) in obj {
            match value.as_str() {
                Some(s) => {
                    out.insert(key.clone(), s.to_string());
                }
                None => self.push(
                    format!("data.{}", key.chars().take(64).collect::<String>()),
                    "must be a string (data values are strings; encode other values yourself)",
                ),
            }
        }
        (self.problems.len() == before).then_some(out)
    }

    fn options(&mut self, v: Option<&Value>) -> Option<Options> {
        let Some(obj) = self.optional_object(v, "options") else {
            return (!matches!(v, Some(v) if !v.is_null())).then(Options::default);
        };
        let before = self.problems.len();
        self.unknown_fields(
            obj,
            "options",
            &["priority", "ttl", "collapse_key", "category", "silent"],
        );
        let priority = match obj.get("priority") {
            None | Some(Value::Null) => Priority::default(),
            Some(Value::String(s)) if s == "high" => Priority::High,
            Some(Value::String(s)) if s == "normal" => Priority::Normal,
            Some(_) => {
                self.push("options.priority", "must be \"high\" or \"normal\"");
                Priority::default()
            }
        };
        let ttl = match obj.get("ttl") {
            None | Some(Value::Null) => None,
            Some(t) => match (t.as_u64(), t.as_i64()) {
                (Some(n), _) if n <= MAX_TTL_SECONDS => Some(n),
                (Some(_), _) => {
                    self.push(
                        "options.ttl",
                        format!("must be at most {MAX_TTL_SECONDS} seconds (28 days)"),
                    );
                    None
                }
                (None, Some(_)) => {
                    self.push("options.ttl", "must not be negative");
                    None
                }
                _ => {
                    self.push("options.ttl", "must be a whole number of seconds");
                    None
                }
            },
        };
        let collapse_key = self.optional_string(obj.get("collapse_key"), "options.collapse_key");
        if let Some(k) = &collapse_key
            && (k.is_empty() || k.len() > MAX_COLLAPSE_KEY_BYTES)
        {
            self.push(
                "options.collapse_key",
                format!("must be 1 to {MAX_COLLAPSE_KEY_BYTES} bytes"),
            );
        }
        let category = self.optional_string(obj.get("category"), "options.category");
        if let Some(c) = &category
            && (c.is_empty() || c.len() > 64)
        {
            self.push("options.category", "must be 1 to 64 characters");
        }
        let silent = match obj.get("silent") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.push("options.silent", "must be true or false");
                false
            }
        };
        (self.problems.len() == before).then_some(Options {
            priority,
            ttl,
            collapse_key,
            category,
            silent,
        })
    }

    fn overrides(&mut self, v: Option<&Value>) -> Option<BTreeMap<String, Value>> {
        let Some(obj) = self.optional_object(v, "overrides") else {
            return (!matches!(v, Some(v) if !v.is_null())).then(BTreeMap::new);
        };
        let before = self.problems.len();
        let vendors = [
            "apns", "fcm", "huawei", "xiaomi", "oppo", "vivo", "honor", "wechat",
        ];
        for (key, value) in obj {
            let field = format!("overrides.{}", key.chars().take(64).collect::<String>());
            if !vendors.contains(&key.as_str()) && key.parse::<Channel>().is_err() {
                self.push(
                    field,
                    format!("unknown vendor; expected one of {}", vendors.join(", ")),
                );
            } else if !value.is_object() {
                self.push(field, "must be an object of vendor fields");
            }
        }
        (self.problems.len() == before).then(|| obj.clone().into_iter().collect())
    }

    fn wechat(&mut self, v: Option<&Value>) -> Option<WechatContent> {
        let obj = self.optional_object(v, "wechat")?;
        self.unknown_fields(obj, "wechat", &["template_id", "page", "data"]);
        let data = match obj.get("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => {
                for (key, entry) in m {
                    if !entry.get("value").is_some_and(Value::is_string) {
                        self.push(
                            format!("wechat.data.{}", key.chars().take(64).collect::<String>()),
                            "must be an object with a string \"value\"",
                        );
                    }
                }
                m.clone()
            }
            Some(_) => {
                self.push("wechat.data", "must be an object");
                Map::new()
            }
        };
        Some(WechatContent {
            template_id: self.optional_string(obj.get("template_id"), "wechat.template_id"),
            page: self.optional_string(obj.get("page"), "wechat.page"),
            data,
        })
    }

    fn required_string(&mut self, v: Option<&Value>, field: &str) -> Option<String> {
        match v {
            None | Some(Value::Null) => {
                self.push(field, "is required");
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.push(field, "must be a string");
                None
            }
        }
    }

    fn optional_string(&mut self, v: Option<&Value>, field: &str) -> Option<String> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.push(field, "must be a string");
                None
            }
        }
    }

    fn optional_object<'v>(
        &mut self,
        v: Option<&'v Value>,
        field: &str,
    ) -> Option<&'v Map<String, Value>> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(o),
            Some(_) => {
                self.push(field, "must be an object");
                None
            }
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests;
