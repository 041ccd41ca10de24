//! Apps: one mobile / web product of a tenant, with its per-vendor settings.

mod honor;
mod oppo;
mod vivo;
mod xiaomi;

pub use honor::HonorSettings;
pub use oppo::{OppoClassification, OppoSettings};
pub use vivo::VivoSettings;
pub use xiaomi::{XiaomiChannel, XiaomiClass, XiaomiSettings, XiaomiTemplate};

use crate::ids::TenantId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// An app of a tenant. Its id is global (the ingest contract names apps without a tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// Globally unique id chosen by the tenant, e.g. `chat-prod`.
    pub id: String,
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: String,
    /// Per-vendor settings.
    pub settings: AppSettings,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Per-vendor settings of an app. Each section is optional: an app that never uses a
/// vendor leaves it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    /// Apple settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns: Option<ApnsSettings>,
    /// Android settings shared by FCM and the Chinese vendors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub android: Option<AndroidSettings>,
    /// WeChat settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatSettings>,
    /// Huawei Push Kit settings (message classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei: Option<HuaweiSettings>,
    /// Xiaomi MiPush settings (message classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xiaomi: Option<XiaomiSettings>,
    /// OPPO push settings (message classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oppo: Option<OppoSettings>,
    /// vivo push settings (message classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vivo: Option<VivoSettings>,
    /// Honor Push settings (message classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honor: Option<HonorSettings>,
    /// Per-vendor send rates of this app (`apns`, `fcm`, `huawei`, `xiaomi`, `oppo`, `vivo`,
    /// `honor`, `wechat`), e.g. the QPS a vendor granted the app; unset vendors use the
    /// server-wide default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate_limits: BTreeMap<String, RateLimit>,
}

/// The vendors a rate limit may name (adapter names).
pub const RATE_LIMITED_VENDORS: &[&str] = &[
    "apns", "fcm", "huawei", "xiaomi", "oppo", "vivo", "honor", "wechat",
];

/// A send rate: `per_second` targets on average, up to `burst` at once after a quiet period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Targets per second (1 to 100,000).
    pub per_second: u32,
    /// Targets that may go at once (default 1).
    #[serde(default = "one")]
    pub burst: u32,
}

fn one() -> u32 {
    1
}

/// APNs settings of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsSettings {
    /// The bundle id, which is the base `apns-topic`.
    pub bundle_id: String,
    /// The environment for devices that do not say which one their token belongs to.
    #[serde(default)]
    pub default_environment: ApnsEnvironment,
}

/// Which APNs environment a token belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApnsEnvironment {
    /// `api.push.apple.com`: App Store, TestFlight and ad-hoc builds.
    #[default]
    Production,
    /// `api.sandbox.push.apple.com`: development builds.
    Sandbox,
}

impl ApnsEnvironment {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApnsEnvironment::Production => "production",
            ApnsEnvironment::Sandbox => "sandbox",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "production" => Some(Self::Production),
            "sandbox" => Some(Self::Sandbox),
            _ => None,
        }
    }
}

/// Android settings of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AndroidSettings {
    /// The application package name, e.g. `com.example.chat`.
    pub package_name: String,
}

/// WeChat settings of an app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatSettings {
    /// AppID of the official account, for template messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official_account_app_id: Option<String>,
    /// AppID of the mini program, for subscribe messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mini_program_app_id: Option<String>,
    /// Default official-account template per message category (`category` → template id),
    /// used when a notification names no template of its own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, String>,
    /// Default mini-program subscribe template per message category (`category` → template
    /// id). Separate from `templates`: each AppID has its own template ids.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mini_program_templates: BTreeMap<String, String>,
    /// Official-account template of notifications without `options.category` (absent:
    /// they need their own `wechat.template_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_template: Option<String>,
    /// Mini-program subscribe template of notifications without `options.category`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mini_program_default_template: Option<String>,
    /// How a template's fields are filled when a notification carries no `wechat.data`:
    /// template id → (template key → source), e.g. `{"thing1": "title", "thing2": "body",
    /// "time3": "time"}`. Sources: `title`, `body`, `time` (when pushgate accepted the
    /// notification, China time) or `data.<key>` (a value of the notification's `data`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub template_fields: BTreeMap<String, BTreeMap<String, String>>,
}

impl WechatSettings {
    /// Appends every problem as `(field path, reason)`.
    pub fn problems(&self, out: &mut Vec<(String, String)>) {
        for (path, value) in [
            (
                "settings.wechat.official_account_app_id",
                &self.official_account_app_id,
            ),
            (
                "settings.wechat.mini_program_app_id",
                &self.mini_program_app_id,
            ),
        ] {
            if let Some(v) = value
                && (v.is_empty() || v.len() > 64 || !v.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                out.push((
                    path.to_string(),
                    "must be 1-64 letters and digits".to_string(),
                ));
            }
        }
        let template_id_ok =
            |t: &str| !t.is_empty() && t.len() <= 128 && t.chars().all(|c| c.is_ascii_graphic());
        for (name, map) in [
            ("templates", &self.templates),
            ("mini_program_templates", &self.mini_program_templates),
        ] {
            for (category, template) in map {
                let path = format!("settings.wechat.{name}.{category}");
                if category.is_empty() || category.chars().count() > 64 {
                    out.push((path.clone(), "a category is 1 to 64 characters".to_string()));
                }
                if !template_id_ok(template) {
                    out.push((
                        path,
                        "must be a template id (1-128 visible ASCII characters)".to_string(),
                    ));
                }
            }
        }
        for (name, template) in [
            ("default_template", &self.default_template),
            (
                "mini_program_default_template",
                &self.mini_program_default_template,
            ),
        ] {
            if let Some(t) = template
                && !template_id_ok(t)
            {
                out.push((
                    format!("settings.wechat.{name}"),
                    "must be a template id (1-128 visible ASCII characters)".to_string(),
                ));
            }
        }
        for (template, fields) in &self.template_fields {
            let base = format!("settings.wechat.template_fields.{template}");
            if !template_id_ok(template) {
                out.push((
                    base.clone(),
                    "must be keyed by a template id (1-128 visible ASCII characters)".to_string(),
                ));
            }
            for (key, source) in fields {
                let path = format!("{base}.{key}");
                if key.is_empty()
                    || key.len() > 32
                    || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    out.push((
                        path.clone(),
                        "a template key is 1-32 letters, digits or _ (thing1, time2…)".to_string(),
                    ));
                }
                let data_key = source.strip_prefix("data.");
                let ok = matches!(source.as_str(), "title" | "body" | "time")
                    || data_key.is_some_and(|k| !k.is_empty() && k.chars().count() <= 64);
                if !ok {
                    out.push((path, "must be title, body, time or data.<key>".to_string()));
                }
            }
        }
    }
}

/// pushgate's message categories: the values of a notification's `options.category` that
/// vendor classification maps recognise by convention. A producer may use other names (any
/// 1–64 characters), but then every vendor mapping of the app must name them too.
///
/// | category | meaning |
/// |---|---|
/// | `IM` | a chat message |
/// | `VOIP` | an audio / video call invitation |
/// | `SUBSCRIPTION` | content the user explicitly subscribed to |
/// | `ACCOUNT` | account changes, security, login |
/// | `TRAVEL`, `HEALTH`, `WORK`, `EXPRESS`, `FINANCE`, `MAIL` | service messages of that kind |
/// | `DEVICE_REMINDER`, `SYSTEM_REMINDER` | device and system reminders |
/// | `MARKETING` | news, promotions, recommendations |
pub const CATEGORIES: &[&str] = &[
    "IM",
    "VOIP",
    "SUBSCRIPTION",
    "ACCOUNT",
    "TRAVEL",
    "HEALTH",
    "WORK",
    "EXPRESS",
    "FINANCE",
    "MAIL",
    "DEVICE_REMINDER",
    "SYSTEM_REMINDER",
    "MARKETING",
];

/// Huawei's `android.category` values (huawei.md §5). All but `MARKETING` are "service &
/// communication"; `PLAY_VOICE` is for data (pass-through) messages only.
pub const HUAWEI_CATEGORIES: &[&str] = &[
    "IM",
    "VOIP",
    "SUBSCRIPTION",
    "TRAVEL",
    "HEALTH",
    "WORK",
    "ACCOUNT",
    "EXPRESS",
    "FINANCE",
    "DEVICE_REMINDER",
    "SYSTEM_REMINDER",
    "MAIL",
    "PLAY_VOICE",
    "MARKETING",
];

/// Huawei Push Kit settings of an app.
///
/// The shape every vendor's classification follows: a `categories` map from pushgate's
/// category (`options.category`, see [`CATEGORIES`]) to the value registered for the app in
/// the vendor's console. An entry in the map wins; a category the map does not name gets the
/// vendor reference's default mapping instead of being refused. For Huawei (huawei.md §5) a
/// category that is one of [`HUAWEI_CATEGORIES`] is passed through as `android.category`
/// (`PLAY_VOICE` only on pass-through messages); any other category, like a notification
/// without one, is sent without `android.category`, which Huawei counts as news & marketing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuaweiSettings {
    /// pushgate category → Huawei `android.category` (one of [`HUAWEI_CATEGORIES`]), e.g.
    /// `{"ORDER": "EXPRESS", "NEWS": "MARKETING"}`. An entry overrides the default mapping,
    /// so the map is needed only for categories that are not Huawei's own names, or to send
    /// one of those differently. Huawei honours the category only for apps granted the
    /// self-classification entitlement in AppGallery Connect.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, String>,
}

impl AppSettings {
    /// Every problem with the settings as `(field path, reason)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(apns) = &self.apns {
            check_dotted_name(&apns.bundle_id, "settings.apns.bundle_id", &mut out);
        }
        if let Some(android) = &self.android {
            check_dotted_name(
                &android.package_name,
                "settings.android.package_name",
                &mut out,
            );
        }
        if let Some(wechat) = &self.wechat {
            wechat.problems(&mut out);
        }
        if let Some(huawei) = &self.huawei {
            for (category, value) in &huawei.categories {
                let path = format!("settings.huawei.categories.{category}");
                if category.is_empty() || category.chars().count() > 64 {
                    out.push((path.clone(), "a category is 1 to 64 characters".to_string()));
                }
                if !HUAWEI_CATEGORIES.contains(&value.as_str()) {
                    out.push((
                        path,
                        format!(
                            "must be one of Huawei's categories: {}",
                            HUAWEI_CATEGORIES.join(", ")
                        ),
                    ));
                }
            }
        }
        if let Some(xiaomi) = &self.xiaomi {
            xiaomi.problems(&mut out);
        }
        if let Some(oppo) = &self.oppo {
            oppo.problems(&mut out);
        }
        if let Some(vivo) = &self.vivo {
            vivo.problems(&mut out);
        }
        if let Some(honor) = &self.honor {
            honor.problems(&mut out);
        }
        for (vendor, limit) in &self.rate_limits {
            let path = format!("settings.rate_limits.{vendor}");
            if !RATE_LIMITED_VENDORS.contains(&vendor.as_str()) {
                out.push((
                    path.clone(),
                    format!("unknown vendor; one of {}", RATE_LIMITED_VENDORS.join(", ")),
                ));
            }
            if !(1..=100_000).contains(&limit.per_second) {
                out.push((
                    format!("{path}.per_second"),
                    "must be 1 to 100000".to_string(),
                ));
            }
            if !(1..=100_000).contains(&limit.burst) {
                out.push((format!("{path}.burst"), "must be 1 to 100000".to_string()));
            }
        }
        out
    }
}

fn check_dotted_name(value: &str, path: &str, out: &mut Vec<(String, String)>) {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if !ok {
        out.push((
            path.to_string(),
            "must be a dotted name like com.example.chat".to_string(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_reject_unknown_fields() {
        let err =
            serde_json::from_str::<AppSettings>(r#"{"apns":{"bundle_id":"a.b","topic":"x"}}"#);
        assert!(err.is_err());
    }

    #[test]
    fn settings_problems_name_the_field() {
        let settings: AppSettings = serde_json::from_str(
            r#"{"apns":{"bundle_id":"com..bad"},"android":{"package_name":"com.example.chat"},
                "wechat":{"official_account_app_id":"wx 1"}}"#,
        )
        .unwrap();
        let paths: Vec<String> = settings.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            vec![
                "settings.apns.bundle_id",
                "settings.wechat.official_account_app_id"
            ]
        );
    }

    #[test]
    fn huawei_categories_are_checked_against_huawei_values() {
        let settings: AppSettings = serde_json::from_str(
            r#"{"huawei":{"categories":{"IM":"IM","VOIP":"VOIP","ORDER":"EXPRESS","NEWS":"NEWS","":"IM"}}}"#,
        )
        .unwrap();
        let paths: Vec<String> = settings.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            vec![
                "settings.huawei.categories.",
                "settings.huawei.categories.NEWS"
            ]
        );
        let ok: AppSettings =
            serde_json::from_str(r#"{"huawei":{"categories":{"IM":"IM","PROMO":"MARKETING"}}}"#)
                .unwrap();
        assert!(ok.problems().is_empty());
        assert!(serde_json::from_str::<AppSettings>(r#"{"huawei":{"category":{}}}"#).is_err());
        let empty: AppSettings = serde_json::from_str(r#"{"huawei":{}}"#).unwrap();
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"huawei":{}}"#);
    }

    #[test]
    fn wechat_templates_and_field_sources_are_checked() {
        let settings: AppSettings = serde_json::from_str(
            r#"{"wechat":{"templates":{"IM":"tmpl-1","VOIP":""},"default_template":"a b",
                "mini_program_templates":{"IM":"mp tmpl"},
                "template_fields":{"tmpl-1":{"thing1":"title","time2":"time","thing3":"data.conv","x y":"body","thing4":"subject"}}}}"#,
        )
        .unwrap();
        let paths: Vec<String> = settings.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            vec![
                "settings.wechat.templates.VOIP",
                "settings.wechat.mini_program_templates.IM",
                "settings.wechat.default_template",
                "settings.wechat.template_fields.tmpl-1.thing4",
                "settings.wechat.template_fields.tmpl-1.x y",
            ]
        );
    }

    #[test]
    fn rate_limits_name_known_vendors_and_sane_rates() {
        let settings: AppSettings = serde_json::from_str(
            r#"{"rate_limits":{"xiaomi":{"per_second":50},"pigeon":{"per_second":1},"vivo":{"per_second":0,"burst":0}}}"#,
        )
        .unwrap();
        assert_eq!(settings.rate_limits["xiaomi"].burst, 1);
        let paths: Vec<String> = settings.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            vec![
                "settings.rate_limits.pigeon",
                "settings.rate_limits.vivo.per_second",
                "settings.rate_limits.vivo.burst"
            ]
        );
    }

    #[test]
    fn default_environment_is_production() {
        let s: ApnsSettings = serde_json::from_str(r#"{"bundle_id":"com.example"}"#).unwrap();
        assert_eq!(s.default_environment, ApnsEnvironment::Production);
    }
}
