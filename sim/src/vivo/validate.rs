//! Message validation (vivo.md §3, §5, §9.3): title ≤ 40 and content ≤ 100 width units (CJK
//! and other non-ASCII characters count 2), `timeToLive` 60 s – 7 days, `skipType` /
//! `skipContent` rules, `clientCustomMap` ≤ 10 pairs / 1024 characters, `requestId` required
//! and ≤ 64, `notifyType`, `networkType`, `pushMode`, `category` values and the
//! `classification` consistency rule, the receipt `extra`. A failure answers `10101` (the
//! sim's choice) naming the field.

use serde_json::{Map, Value};

use super::{OPERATION_CATEGORIES, SYSTEM_CATEGORIES};

/// The sim's code for a field that fails validation.
pub(crate) const BAD_PARAMETER: i64 = 10101;

/// A validated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// `requestId`.
    pub request_id: String,
    /// `regId` (single sends).
    pub reg_id: Option<String>,
    /// A system message (`classification` 1 or a system category); otherwise operation.
    pub system: bool,
    /// `pushMode` 1 (test).
    pub test: bool,
    /// `extra["callback.id"]`.
    pub callback_id: Option<String>,
    /// `extra["callback"]` (old receipts).
    pub callback_url: Option<String>,
    /// `extra["callback.param"]`.
    pub param: Option<String>,
}

fn width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn bad(desc: impl Into<String>) -> (i64, String) {
    (BAD_PARAMETER, format!("参数不合法: {}", desc.into()))
}

fn int(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, (i64, String)> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| bad(format!("{key} must be an integer"))),
    }
}

fn string<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, (i64, String)> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{key} must be a string"))),
    }
}

/// Validates a message (`single`: a `/message/send` body, which needs `regId` or `alias`).
pub(crate) fn validate(m: &Map<String, Value>, single: bool) -> Result<Message, (i64, String)> {
    for (key, units) in [("title", 40), ("content", 100)] {
        match string(m, key)? {
            Some(t) if !t.trim().is_empty() && width(t) <= units => {}
            Some(t) if !t.trim().is_empty() => {
                return Err(bad(format!(
                    "{key} is {} width units, at most {units}",
                    width(t)
                )));
            }
            _ => return Err(bad(format!("{key} is required"))),
        }
    }
    match int(m, "notifyType")? {
        Some(1..=4) => {}
        Some(_) => return Err(bad("notifyType must be 1 to 4")),
        None => return Err(bad("notifyType is required")),
    }
    if let Some(ttl) = int(m, "timeToLive")?
        && !(60..=7 * 86_400).contains(&ttl)
    {
        return Err(bad("timeToLive must be 60 to 604800 seconds"));
    }
    let skip = int(m, "skipType")?.ok_or_else(|| bad("skipType is required"))?;
    let limit = match skip {
        1 => None,
        2 => Some(1000),
        3 | 4 => Some(1024),
        _ => return Err(bad("skipType must be 1 to 4")),
    };
    if let Some(limit) = limit {
        match string(m, "skipContent")? {
            Some(c) if !c.is_empty() && c.chars().count() <= limit => {
                if skip == 2 && !(c.starts_with("http://") || c.starts_with("https://")) {
                    return Err(bad("skipContent of skipType 2 must be an http(s) URL"));
                }
            }
            _ => {
                return Err(bad(format!(
                    "skipContent is required, 1 to {limit} characters"
                )));
            }
        }
    }
    if let Some(n) = int(m, "networkType")?
        && n != -1
        && n != 1
    {
        return Err(bad("networkType must be -1 or 1"));
    }
    let test = match int(m, "pushMode")? {
        None | Some(0) => false,
        Some(1) => true,
        Some(_) => return Err(bad("pushMode must be 0 or 1")),
    };
    if let Some(map) = m.get("clientCustomMap").filter(|v| !v.is_null()) {
        let Some(map) = map.as_object() else {
            return Err(bad("clientCustomMap must be an object"));
        };
        if map.len() > 10 {
            return Err(bad("clientCustomMap holds at most 10 pairs"));
        }
        let mut chars = 0;
        for (k, v) in map {
            let Some(v) = v.as_str() else {
                return Err(bad("clientCustomMap values must be strings"));
            };
            chars += k.chars().count() + v.chars().count();
        }
        if chars > 1024 {
            return Err(bad(
                "clientCustomMap keys and values exceed 1024 characters",
            ));
        }
    }
    let request_id = match string(m, "requestId")? {
        Some(r) if !r.is_empty() && r.chars().count() <= 64 => r.to_string(),
        Some(_) => return Err(bad("requestId must be 1 to 64 characters")),
        None => return Err(bad("requestId is required")),
    };
    let classification = int(m, "classification")?;
    if classification.is_some_and(|c| c != 0 && c != 1) {
        return Err(bad("classification must be 0 or 1"));
    }
    let mut system = classification == Some(1);
    if let Some(category) = string(m, "category")? {
        let derived = if SYSTEM_CATEGORIES.contains(&category) {
            1
        } else if OPERATION_CATEGORIES.contains(&category) {
            0
        } else {
            return Err(bad(format!("category {category} is not a vivo category")));
        };
        if classification.is_some_and(|c| c != derived) {
            return Err(bad("classification does not match category"));
        }
        system = derived == 1;
    }
    let reg_id = string(m, "regId")?.map(str::to_string);
    if single && reg_id.is_none() && string(m, "alias")?.is_none() {
        return Err(bad("regId or alias is required"));
    }
    let (mut callback_id, mut callback_url, mut param) = (None, None, None);
    if let Some(extra) = m.get("extra").filter(|v| !v.is_null()) {
        let Some(extra) = extra.as_object() else {
            return Err(bad("extra must be an object"));
        };
        callback_id = string(extra, "callback.id")?.map(str::to_string);
        callback_url = string(extra, "callback")?.map(str::to_string);
        param = string(extra, "callback.param")?.map(str::to_string);
        if callback_id.is_some() && callback_url.is_some() {
            return Err(bad(
                "extra: callback.id and callback are mutually exclusive",
            ));
        }
        if callback_id
            .as_deref()
            .is_some_and(|id| id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad("extra.callback.id must be a numeric receipt id"));
        }
        if callback_url
            .as_deref()
            .is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(bad("extra.callback must be an http(s) URL"));
        }
    }
    Ok(Message {
        request_id,
        reg_id,
        system,
        test,
        callback_id,
        callback_url,
        param,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "regId": "16512345678901234567890", "notifyType": 4, "title": "Alice",
            "content": "are you coming?", "timeToLive": 86400, "skipType": 1,
            "classification": 1, "category": "IM", "requestId": "d-1",
            "clientCustomMap": {"conv": "42"}, "pushMode": 0,
            "extra": {"callback.id": "1234", "callback.param": "d-1"}
        })
    }

    fn check(patch: Value) -> Result<Message, (i64, String)> {
        let mut v = base();
        for (k, val) in patch.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        validate(v.as_object().unwrap(), true)
    }

    #[test]
    fn a_good_message_passes() {
        let m = check(json!({})).unwrap();
        assert!(m.system);
        assert!(!m.test);
        assert_eq!(m.callback_id.as_deref(), Some("1234"));
        assert_eq!(m.param.as_deref(), Some("d-1"));
        let op = check(json!({"classification": null, "category": "MARKETING"})).unwrap();
        assert!(!op.system);
        let none = check(json!({"classification": null, "category": null})).unwrap();
        assert!(!none.system, "unclassified counts as operation");
    }

    #[test]
    fn each_rule_refuses_with_10101() {
        let cases = [
            json!({"title": "你".repeat(21)}),
            json!({"title": "a".repeat(41)}),
            json!({"content": "好".repeat(51)}),
            json!({"title": null}),
            json!({"content": ""}),
            json!({"notifyType": 5}),
            json!({"notifyType": null}),
            json!({"timeToLive": 59}),
            json!({"timeToLive": 604801}),
            json!({"skipType": 2}),
            json!({"skipType": 2, "skipContent": "app://x"}),
            json!({"skipType": 4, "skipContent": "x".repeat(1025)}),
            json!({"skipType": 7}),
            json!({"networkType": 0}),
            json!({"pushMode": 2}),
            json!({"clientCustomMap": (0..11).map(|i| (i.to_string(), json!("v"))).collect::<Map<_,_>>()}),
            json!({"clientCustomMap": {"k": "v".repeat(1024)}}),
            json!({"clientCustomMap": {"k": 1}}),
            json!({"requestId": null}),
            json!({"requestId": "r".repeat(65)}),
            json!({"category": "VOIP"}),
            json!({"classification": 0}),
            json!({"classification": 3, "category": null}),
            json!({"regId": null}),
            json!({"extra": {"callback.id": "1", "callback": "https://x"}}),
            json!({"extra": {"callback.id": "abc"}}),
            json!({"extra": {"callback": "ftp://x"}}),
        ];
        for patch in cases {
            let err = check(patch.clone()).unwrap_err();
            assert_eq!(err.0, BAD_PARAMETER, "{patch}: {}", err.1);
        }
        assert!(check(json!({"title": "你".repeat(20)})).is_ok());
        assert!(check(json!({"content": "a".repeat(100)})).is_ok());
    }
}
