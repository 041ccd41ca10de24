//! APNs request checks that need no state (apns.md §2, §3): the `:path`, duplicate headers,
//! push types and their topic suffixes, `apns-id`, `apns-priority`, `apns-expiration`,
//! `apns-collapse-id`, the broadcast-only `apns-channel-id`, which push types need token auth,
//! and payload size.

use http::{HeaderMap, Method};

use super::reason::Reason;

/// Payload limit of every push type but VoIP, in bytes.
pub(crate) const MAX_PAYLOAD: usize = 4096;
/// Payload limit of VoIP pushes, in bytes.
pub(crate) const MAX_VOIP_PAYLOAD: usize = 5120;
/// Longest `apns-collapse-id`, in bytes.
pub(crate) const MAX_COLLAPSE_ID: usize = 64;

/// Every push type with the suffix its topic carries (apns.md §2.3).
const PUSH_TYPES: &[(&str, &str)] = &[
    ("alert", ""),
    ("background", ""),
    ("voip", ".voip"),
    ("liveactivity", ".push-type.liveactivity"),
    ("location", ".location-query"),
    ("complication", ".complication"),
    ("fileprovider", ".pushkit.fileprovider"),
    ("widgets", ".push-type.widgets"),
    ("controls", ".push-type.controls"),
    ("pushtotalk", ".voip-ptt"),
    ("mdm", ""),
];

/// A known push type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PushType {
    /// `apns-push-type` value.
    pub name: &'static str,
    /// Suffix of its topic after the bundle id.
    pub suffix: &'static str,
}

impl PushType {
    /// Payload limit of this push type.
    pub(crate) fn max_payload(self) -> usize {
        if self.name == "voip" {
            MAX_VOIP_PAYLOAD
        } else {
            MAX_PAYLOAD
        }
    }

    /// Whether this push type is refused on certificate connections: apns.md §2.3 and §4.2
    /// say `liveactivity` and `location` need token-based auth.
    pub(crate) fn needs_token_auth(self) -> bool {
        matches!(self.name, "liveactivity" | "location")
    }

    /// `Forbidden` if this push type needs token auth. apns.md §4.2 names no reason for it;
    /// the sim answers 403 `Forbidden` ("action not allowed", §6.3), as the push type, not the
    /// topic, is what the credential may not do.
    pub(crate) fn check_certificate_auth(self) -> Result<(), Reason> {
        if self.needs_token_auth() {
            Err(Reason::Forbidden)
        } else {
            Ok(())
        }
    }

    /// The bundle id of `topic` for this push type; `BadTopic` if the suffix is missing.
    pub(crate) fn bundle_of(self, topic: &str) -> Result<&str, Reason> {
        match topic.strip_suffix(self.suffix) {
            Some(b) if !b.is_empty() => Ok(b),
            _ => Err(Reason::BadTopic),
        }
    }
}

/// The bundle id of a topic carrying another push type's suffix (e.g. an alert sent to
/// `com.example.chat.voip`), to tell `BadTopic` from `TopicDisallowed`.
pub(crate) fn foreign_suffix_base(topic: &str) -> Option<&str> {
    PUSH_TYPES
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .find_map(|(_, s)| topic.strip_suffix(s).filter(|b| !b.is_empty()))
}

/// The device token of `POST /3/device/<token>`, or the routing error.
pub(crate) fn route<'a>(method: &Method, path: &'a str) -> Result<&'a str, Reason> {
    let path = path.split('?').next().unwrap_or_default();
    let token = match path.strip_prefix("/3/device") {
        Some("") => "",
        Some(rest) => match rest.strip_prefix('/') {
            Some(t) if !t.contains('/') => t,
            _ => return Err(Reason::BadPath),
        },
        None => return Err(Reason::BadPath),
    };
    if method != Method::POST {
        return Err(Reason::MethodNotAllowed);
    }
    if token.is_empty() {
        return Err(Reason::MissingDeviceToken);
    }
    Ok(token)
}

/// Whether any header appears more than once.
pub(crate) fn has_duplicate_headers(headers: &HeaderMap) -> bool {
    headers
        .keys()
        .any(|k| headers.get_all(k).iter().nth(1).is_some())
}

/// A header as text (`None` if absent; non-UTF-8 counts as garbage text).
pub(crate) fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// The push type: the header, or (absent) `background` for a `content-available` payload
/// without alert, badge or sound, else `alert` — what APNs infers.
pub(crate) fn push_type(
    headers: &HeaderMap,
    payload: Option<&serde_json::Value>,
) -> Result<PushType, Reason> {
    let name = match text(headers, "apns-push-type") {
        Some(n) => n,
        None => {
            let aps = payload.and_then(|p| p.get("aps"));
            let silent = aps.is_some_and(|a| {
                a.get("content-available").and_then(|v| v.as_i64()) == Some(1)
                    && ["alert", "badge", "sound"]
                        .iter()
                        .all(|k| a.get(k).is_none())
            });
            if silent { "background" } else { "alert" }
        }
    };
    PUSH_TYPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(name, suffix)| PushType { name, suffix })
        .ok_or(Reason::InvalidPushType)
}

/// Checks `apns-id`, `apns-priority`, `apns-expiration` and `apns-collapse-id`, and refuses
/// `apns-channel-id`.
pub(crate) fn options(headers: &HeaderMap, push_type: PushType) -> Result<(), Reason> {
    // apns.md §2.2: the header belongs to broadcast (channel) pushes and is listed so the sim
    // rejects it on `/3/device`; the reference gives no reason, so 400 `BadRequest`.
    if headers.contains_key("apns-channel-id") {
        return Err(Reason::BadRequest);
    }
    if let Some(id) = text(headers, "apns-id")
        && !is_uuid(id)
    {
        return Err(Reason::BadMessageId);
    }
    match text(headers, "apns-priority") {
        None => {}
        Some("10") if push_type.name == "background" => return Err(Reason::BadPriority),
        Some("1" | "5" | "10") => {}
        Some(_) => return Err(Reason::BadPriority),
    }
    if let Some(exp) = text(headers, "apns-expiration")
        && exp.parse::<u64>().is_err()
    {
        return Err(Reason::BadExpirationDate);
    }
    if let Some(c) = headers.get("apns-collapse-id")
        && c.len() > MAX_COLLAPSE_ID
    {
        return Err(Reason::BadCollapseId);
    }
    Ok(())
}

/// A UUID in 8-4-4-4-12 hex groups (either case; Apple documents lowercase, some clients
/// send uppercase).
pub(crate) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http::HeaderValue;

    #[test]
    fn routes() {
        let post = Method::POST;
        assert_eq!(route(&post, "/3/device/abcd"), Ok("abcd"));
        assert_eq!(route(&post, "/3/device/abcd?x=1"), Ok("abcd"));
        assert_eq!(route(&post, "/3/device/"), Err(Reason::MissingDeviceToken));
        assert_eq!(route(&post, "/3/device"), Err(Reason::MissingDeviceToken));
        assert_eq!(
            route(&Method::GET, "/3/device/abcd"),
            Err(Reason::MethodNotAllowed)
        );
        assert_eq!(route(&post, "/3/devices/abcd"), Err(Reason::BadPath));
        assert_eq!(route(&post, "/3/device/ab/cd"), Err(Reason::BadPath));
        assert_eq!(route(&Method::GET, "/"), Err(Reason::BadPath));
    }

    #[test]
    fn push_types_and_topics() {
        let mut h = HeaderMap::new();
        h.insert("apns-push-type", HeaderValue::from_static("voip"));
        let voip = push_type(&h, None).unwrap();
        assert_eq!(voip.max_payload(), MAX_VOIP_PAYLOAD);
        assert_eq!(
            voip.bundle_of("com.example.chat.voip"),
            Ok("com.example.chat")
        );
        assert_eq!(voip.bundle_of("com.example.chat"), Err(Reason::BadTopic));
        assert_eq!(
            foreign_suffix_base("com.example.chat.voip"),
            Some("com.example.chat")
        );
        h.insert("apns-push-type", HeaderValue::from_static("nope"));
        assert_eq!(push_type(&h, None), Err(Reason::InvalidPushType));
        let silent = serde_json::json!({"aps": {"content-available": 1}});
        assert_eq!(
            push_type(&HeaderMap::new(), Some(&silent)).unwrap().name,
            "background"
        );
    }

    #[test]
    fn option_headers() {
        let alert = PushType {
            name: "alert",
            suffix: "",
        };
        let background = PushType {
            name: "background",
            suffix: "",
        };
        let with = |name: &'static str, value: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(value).unwrap());
            h
        };
        assert_eq!(
            options(
                &with("apns-id", "123e4567-e89b-12d3-a456-4266554400a0"),
                alert
            ),
            Ok(())
        );
        assert_eq!(
            options(&with("apns-id", "123e4567e89b12d3a4564266554400a0"), alert),
            Err(Reason::BadMessageId)
        );
        assert_eq!(
            options(&with("apns-priority", "7"), alert),
            Err(Reason::BadPriority)
        );
        assert_eq!(
            options(&with("apns-priority", "10"), background),
            Err(Reason::BadPriority)
        );
        assert_eq!(options(&with("apns-priority", "5"), background), Ok(()));
        assert_eq!(
            options(&with("apns-expiration", "soon"), alert),
            Err(Reason::BadExpirationDate)
        );
        assert_eq!(options(&with("apns-expiration", "0"), alert), Ok(()));
        assert_eq!(
            options(&with("apns-collapse-id", &"x".repeat(65)), alert),
            Err(Reason::BadCollapseId)
        );
        assert_eq!(
            options(&with("apns-collapse-id", &"x".repeat(64)), alert),
            Ok(())
        );
        assert_eq!(
            options(&with("apns-channel-id", "dHN0LXNyY2gtY2hubA=="), alert),
            Err(Reason::BadRequest)
        );
        assert_eq!(Reason::BadRequest.status(), 400);
    }

    #[test]
    fn live_activity_and_location_need_token_auth() {
        let named = |name: &'static str| {
            let mut h = HeaderMap::new();
            h.insert("apns-push-type", HeaderValue::from_static(name));
            push_type(&h, None).unwrap()
        };
        for name in ["liveactivity", "location"] {
            assert_eq!(
                named(name).check_certificate_auth(),
                Err(Reason::Forbidden),
                "{name}"
            );
        }
        for name in ["alert", "background", "voip", "complication"] {
            assert_eq!(named(name).check_certificate_auth(), Ok(()), "{name}");
        }
        assert_eq!(Reason::Forbidden.status(), 403);
    }
}
