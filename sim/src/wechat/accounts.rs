//! Registered accounts and everything WeChat keeps per account: templates, users (follow /
//! block state, the AppID an openid belongs to), subscription consents, issued access tokens
//! (classic and stable, independent of each other), daily and per-minute counters, and the
//! `client_msg_id` de-duplication window.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::control::types::{
    ControlError, WechatAccountKind, WechatAppInfo, WechatAppSpec, WechatConsentSpec,
    WechatTemplateSpec, WechatUserSpec, WechatUserState,
};
use crate::record::lock;

/// A superseded token keeps working this long (both endpoints' 5-minute handover).
pub(crate) const HANDOVER_MS: i64 = 5 * 60 * 1000;
/// `client_msg_id` de-duplication window (about 10 minutes).
pub(crate) const DEDUPE_MS: i64 = 10 * 60 * 1000;
/// Forced stable-token refreshes per day.
pub(crate) const FORCE_PER_DAY: u32 = 20;
/// Least spacing of forced refreshes.
pub(crate) const FORCE_SPACING_MS: i64 = 30_000;

/// Days in China time (UTC+8), for the daily quotas.
pub(crate) fn china_day(now_ms: i64) -> i64 {
    now_ms.saturating_add(8 * 3_600_000).div_euclid(86_400_000)
}

/// Which endpoint issued a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// `GET /cgi-bin/token`.
    Classic,
    /// `POST /cgi-bin/stable_token`.
    Stable,
}

/// An issued access token.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    /// The account.
    pub app_id: String,
    /// Expiry, sim ms.
    pub expires_at_ms: i64,
    /// When a newer token (or a forced refresh) retires it, sim ms.
    pub retired_at_ms: Option<i64>,
}

/// Why a send's token is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// Never issued (40014).
    Unknown,
    /// Superseded / killed (40001).
    Retired,
    /// Expired (42001).
    Expired,
}

#[derive(Debug, Default)]
struct Counters {
    day: i64,
    sends: u64,
    classic_tokens: u64,
    forced: u32,
    last_forced_ms: Option<i64>,
    minute: i64,
    minute_sends: u64,
}

impl Counters {
    fn roll(&mut self, now_ms: i64) {
        let day = china_day(now_ms);
        if day != self.day {
            self.day = day;
            self.sends = 0;
            self.classic_tokens = 0;
            self.forced = 0;
        }
        let minute = now_ms.div_euclid(60_000);
        if minute != self.minute {
            self.minute = minute;
            self.minute_sends = 0;
        }
    }
}

#[derive(Debug)]
struct Account {
    spec: WechatAppSpec,
    templates: HashMap<String, Vec<String>>,
    classic: Option<String>,
    stable: Option<String>,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Inner {
    accounts: HashMap<String, Account>,
    /// openid → (app, user).
    users: HashMap<String, WechatUserSpec>,
    /// (app, openid, template) → unused consents.
    consents: HashMap<(String, String, String), u32>,
    tokens: HashMap<String, Issued>,
    /// (app, openid, client_msg_id) → (msgid, at).
    dedupe: HashMap<(String, String, String), (u64, i64)>,
}

/// Accounts and their state.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    inner: Mutex<Inner>,
}

/// A user's state as a send sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UserCheck {
    /// The openid belongs to another AppID, or is unknown and unknown openids are refused.
    Foreign,
    /// A user of this account.
    Known(WechatUserState, Option<String>),
}

impl Accounts {
    /// Adds or replaces an account (its templates, tokens and counters stay).
    pub(crate) fn add(&self, spec: &WechatAppSpec) -> Result<WechatAppInfo, ControlError> {
        if !spec.app_id.starts_with("wx")
            || spec.app_id.len() > 32
            || !spec.app_id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(ControlError::new(
                "app_id must be wx followed by letters and digits",
            ));
        }
        if spec.app_secret.is_empty() {
            return Err(ControlError::new("app_secret must not be empty"));
        }
        let mut spec = spec.clone();
        let original = spec.original_id.clone().unwrap_or_else(|| {
            let tail: String = spec
                .app_id
                .chars()
                .skip(spec.app_id.len().saturating_sub(12))
                .collect();
            format!("gh_{tail}")
        });
        spec.original_id = Some(original.clone());
        let mut inner = lock(&self.inner);
        match inner.accounts.get_mut(&spec.app_id) {
            Some(a) => a.spec = spec.clone(),
            None => {
                inner.accounts.insert(
                    spec.app_id.clone(),
                    Account {
                        spec: spec.clone(),
                        templates: HashMap::new(),
                        classic: None,
                        stable: None,
                        counters: Counters::default(),
                    },
                );
            }
        }
        Ok(WechatAppInfo {
            app_id: spec.app_id,
            original_id: original,
        })
    }

    /// The account with this AppID.
    pub(crate) fn account(&self, app_id: &str) -> Option<WechatAppSpec> {
        lock(&self.inner)
            .accounts
            .get(app_id)
            .map(|a| a.spec.clone())
    }

    /// Adds or replaces a template.
    pub(crate) fn add_template(&self, spec: &WechatTemplateSpec) -> Result<(), ControlError> {
        if spec.template_id.trim().is_empty() {
            return Err(ControlError::new("template_id must not be empty"));
        }
        if spec.keys.iter().any(|k| k.trim().is_empty()) {
            return Err(ControlError::new("keys must not be empty"));
        }
        let mut inner = lock(&self.inner);
        let account = inner
            .accounts
            .get_mut(&spec.app_id)
            .ok_or_else(|| ControlError::new(format!("unknown app {}", spec.app_id)))?;
        account
            .templates
            .insert(spec.template_id.clone(), spec.keys.clone());
        Ok(())
    }

    /// The keys of a template of an account.
    pub(crate) fn template(&self, app_id: &str, template_id: &str) -> Option<Vec<String>> {
        lock(&self.inner)
            .accounts
            .get(app_id)
            .and_then(|a| a.templates.get(template_id).cloned())
    }

    /// Registers or updates a user.
    pub(crate) fn set_user(&self, spec: &WechatUserSpec) -> Result<(), ControlError> {
        if spec.openid.trim().is_empty() {
            return Err(ControlError::new("openid must not be empty"));
        }
        let mut inner = lock(&self.inner);
        if !inner.accounts.contains_key(&spec.app_id) {
            return Err(ControlError::new(format!("unknown app {}", spec.app_id)));
        }
        inner.users.insert(spec.openid.clone(), spec.clone());
        Ok(())
    }

    /// How a send to `openid` through `app_id` sees the user.
    pub(crate) fn user(&self, app_id: &str, openid: &str, accept_unknown: bool) -> UserCheck {
        match lock(&self.inner).users.get(openid) {
            Some(u) if u.app_id == app_id => UserCheck::Known(u.state, u.receipt_status.clone()),
            Some(_) => UserCheck::Foreign,
            None if accept_unknown => UserCheck::Known(WechatUserState::Following, None),
            None => UserCheck::Foreign,
        }
    }

    /// Adds (or withdraws) consents; returns the count.
    pub(crate) fn consent(&self, spec: &WechatConsentSpec) -> Result<u32, ControlError> {
        let mut inner = lock(&self.inner);
        match inner.accounts.get(&spec.app_id) {
            Some(a) if a.spec.kind == WechatAccountKind::MiniProgram => {}
            Some(_) => return Err(ControlError::new("consents belong to mini programs")),
            None => return Err(ControlError::new(format!("unknown app {}", spec.app_id))),
        }
        let key = (
            spec.app_id.clone(),
            spec.openid.clone(),
            spec.template_id.clone(),
        );
        let count = inner.consents.entry(key).or_default();
        if spec.reset {
            *count = 0;
        }
        *count = count.saturating_add(spec.add);
        Ok(*count)
    }

    /// Uses one consent; false if none is left.
    pub(crate) fn use_consent(&self, app_id: &str, openid: &str, template_id: &str) -> bool {
        let mut inner = lock(&self.inner);
        let key = (
            app_id.to_string(),
            openid.to_string(),
            template_id.to_string(),
        );
        match inner.consents.get_mut(&key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    fn mint(inner: &mut Inner, app_id: &str, source: Source, ttl_ms: i64, now_ms: i64) -> String {
        let value = format!(
            "{}_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple(),
            if source == Source::Stable { "S" } else { "C" }
        );
        inner.tokens.insert(
            value.clone(),
            Issued {
                app_id: app_id.to_string(),
                expires_at_ms: now_ms + ttl_ms,
                retired_at_ms: None,
            },
        );
        value
    }

    fn live(inner: &Inner, value: &str, now_ms: i64) -> Option<Issued> {
        inner
            .tokens
            .get(value)
            .filter(|t| t.expires_at_ms > now_ms && t.retired_at_ms.is_none_or(|r| r > now_ms))
            .cloned()
    }

    /// `GET /cgi-bin/token`: a new token each call; the previous one retires in 5 minutes.
    /// `Err(true)` = the daily call quota is used up.
    pub(crate) fn classic_token(&self, app_id: &str, now_ms: i64) -> Result<(String, i64), bool> {
        let mut inner = lock(&self.inner);
        let Some(account) = inner.accounts.get_mut(app_id) else {
            return Err(false);
        };
        account.counters.roll(now_ms);
        account.counters.classic_tokens += 1;
        if account.counters.classic_tokens > account.spec.classic_token_daily_quota {
            return Err(true);
        }
        let ttl = i64::try_from(account.spec.access_token_ttl_secs).unwrap_or(7200) * 1000;
        let previous = account.classic.take();
        let value = Self::mint(&mut inner, app_id, Source::Classic, ttl, now_ms);
        if let Some(old) = previous.and_then(|p| inner.tokens.get_mut(&p)) {
            old.retired_at_ms = Some(now_ms + HANDOVER_MS);
        }
        if let Some(a) = inner.accounts.get_mut(app_id) {
            a.classic = Some(value.clone());
        }
        Ok((value, ttl / 1000))
    }

    /// `POST /cgi-bin/stable_token`. Normal mode: the current token while more than 5
    /// minutes are left, else a new one (the old keeps its own expiry). Forced: a new token
    /// at once, the old one dead — unless the last force was under 30 s ago (then the
    /// current one); over 20 a day → `Err(45009)`.
    pub(crate) fn stable_token(
        &self,
        app_id: &str,
        force: bool,
        now_ms: i64,
    ) -> Result<(String, i64), i64> {
        let mut inner = lock(&self.inner);
        let (ttl, current) = {
            let Some(account) = inner.accounts.get_mut(app_id) else {
                return Err(40013);
            };
            account.counters.roll(now_ms);
            let ttl = i64::try_from(account.spec.access_token_ttl_secs).unwrap_or(7200) * 1000;
            (ttl, account.stable.clone())
        };
        let current = current.and_then(|v| Self::live(&inner, &v, now_ms).map(|t| (v, t)));
        if force {
            let Some(account) = inner.accounts.get_mut(app_id) else {
                return Err(40013);
            };
            let recent = account
                .counters
                .last_forced_ms
                .is_some_and(|t| now_ms - t < FORCE_SPACING_MS);
            if recent && let Some((v, t)) = &current {
                return Ok((v.clone(), (t.expires_at_ms - now_ms) / 1000));
            }
            account.counters.forced += 1;
            if account.counters.forced > FORCE_PER_DAY {
                return Err(45009);
            }
            account.counters.last_forced_ms = Some(now_ms);
            if let Some((v, _)) = &current
                && let Some(old) = inner.tokens.get_mut(v)
            {
                old.retired_at_ms = Some(now_ms);
            }
        } else if let Some((v, t)) = &current
            && t.expires_at_ms - now_ms > HANDOVER_MS
        {
            return Ok((v.clone(), (t.expires_at_ms - now_ms) / 1000));
        }
        let value = Self::mint(&mut inner, app_id, Source::Stable, ttl, now_ms);
        if let Some(a) = inner.accounts.get_mut(app_id) {
            a.stable = Some(value.clone());
        }
        Ok((value, ttl / 1000))
    }

    /// The account a send's token belongs to, or why it is refused.
    pub(crate) fn check_token(&self, value: &str, now_ms: i64) -> Result<Issued, TokenProblem> {
        let inner = lock(&self.inner);
        let t = inner.tokens.get(value).ok_or(TokenProblem::Unknown)?;
        if t.retired_at_ms.is_some_and(|r| r <= now_ms) {
            return Err(TokenProblem::Retired);
        }
        if t.expires_at_ms <= now_ms {
            return Err(TokenProblem::Expired);
        }
        Ok(t.clone())
    }

    /// Expires every live token now; returns how many were live.
    pub(crate) fn expire_all(&self, now_ms: i64) -> usize {
        let mut inner = lock(&self.inner);
        let mut n = 0;
        for t in inner.tokens.values_mut() {
            if t.expires_at_ms > now_ms && t.retired_at_ms.is_none_or(|r| r > now_ms) {
                t.expires_at_ms = now_ms;
                n += 1;
            }
        }
        n
    }

    /// Counts a send against the quotas: `Some(45009 / 45011)` when over one.
    pub(crate) fn count_send(&self, app_id: &str, now_ms: i64) -> Option<i64> {
        let mut inner = lock(&self.inner);
        let account = inner.accounts.get_mut(app_id)?;
        account.counters.roll(now_ms);
        let daily = account.spec.daily_quota.unwrap_or(match account.spec.kind {
            WechatAccountKind::OfficialAccount => 100_000,
            WechatAccountKind::MiniProgram => 10_000_000,
        });
        if account.counters.sends >= daily {
            return Some(45009);
        }
        if account
            .spec
            .minute_quota
            .is_some_and(|m| account.counters.minute_sends >= m)
        {
            return Some(45011);
        }
        account.counters.sends += 1;
        account.counters.minute_sends += 1;
        None
    }

    /// The msgid of an earlier send with the same `client_msg_id` within the window, or
    /// `None` after remembering this one.
    pub(crate) fn dedupe(
        &self,
        key: (String, String, String),
        msgid: u64,
        now_ms: i64,
    ) -> Option<u64> {
        let mut inner = lock(&self.inner);
        inner.dedupe.retain(|_, (_, at)| now_ms - *at < DEDUPE_MS);
        if let Some((id, _)) = inner.dedupe.get(&key) {
            return Some(*id);
        }
        inner.dedupe.insert(key, (msgid, now_ms));
        None
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        *lock(&self.inner) = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Accounts {
        let a = Accounts::default();
        a.add(&WechatAppSpec {
            app_id: "wx1".into(),
            app_secret: "s".into(),
            ..WechatAppSpec::default()
        })
        .unwrap();
        a
    }

    #[test]
    fn stable_normal_mode_returns_the_same_token_until_the_handover() {
        let a = accounts();
        let (t1, ttl) = a.stable_token("wx1", false, 0).unwrap();
        assert_eq!(ttl, 7200);
        let (again, left) = a.stable_token("wx1", false, 1_000_000).unwrap();
        assert_eq!(again, t1);
        assert_eq!(left, 7200 - 1000);
        // In the last 5 minutes: a new token, the old one still works until it expires.
        let (t2, _) = a.stable_token("wx1", false, 7_000_000).unwrap();
        assert_ne!(t2, t1);
        assert!(a.check_token(&t1, 7_100_000).is_ok());
        assert_eq!(
            a.check_token(&t1, 7_200_000).unwrap_err(),
            TokenProblem::Expired
        );
    }

    #[test]
    fn forced_refresh_kills_the_old_token_with_spacing_and_a_daily_budget() {
        let a = accounts();
        let (t1, _) = a.stable_token("wx1", false, 0).unwrap();
        let (t2, _) = a.stable_token("wx1", true, 1000).unwrap();
        assert_ne!(t1, t2);
        assert_eq!(a.check_token(&t1, 1001).unwrap_err(), TokenProblem::Retired);
        let (t3, _) = a.stable_token("wx1", true, 2000).unwrap();
        assert_eq!(t3, t2, "under 30 s apart: no refresh");
        let mut now = 2000;
        for _ in 0..19 {
            now += 31_000;
            assert!(a.stable_token("wx1", true, now).is_ok());
        }
        now += 31_000;
        assert_eq!(a.stable_token("wx1", true, now), Err(45009));
    }

    #[test]
    fn classic_tokens_rotate_with_a_five_minute_overlap_and_are_independent() {
        let a = accounts();
        let (s, _) = a.stable_token("wx1", false, 0).unwrap();
        let (c1, _) = a.classic_token("wx1", 0).unwrap();
        let (c2, _) = a.classic_token("wx1", 1000).unwrap();
        assert_ne!(c1, c2);
        assert!(a.check_token(&c1, 1000 + HANDOVER_MS - 1).is_ok());
        assert_eq!(
            a.check_token(&c1, 1000 + HANDOVER_MS).unwrap_err(),
            TokenProblem::Retired
        );
        assert!(
            a.check_token(&s, 1000 + HANDOVER_MS).is_ok(),
            "stable is untouched"
        );
        assert_eq!(a.check_token("nope", 0).unwrap_err(), TokenProblem::Unknown);
    }

    #[test]
    fn consents_are_used_one_by_one() {
        let a = Accounts::default();
        a.add(&WechatAppSpec {
            app_id: "wx2".into(),
            app_secret: "s".into(),
            kind: WechatAccountKind::MiniProgram,
            ..WechatAppSpec::default()
        })
        .unwrap();
        let spec = WechatConsentSpec {
            app_id: "wx2".into(),
            openid: "o".into(),
            template_id: "t".into(),
            add: 2,
            reset: false,
        };
        assert_eq!(a.consent(&spec).unwrap(), 2);
        assert!(a.use_consent("wx2", "o", "t"));
        assert!(a.use_consent("wx2", "o", "t"));
        assert!(!a.use_consent("wx2", "o", "t"));
        assert!(!a.use_consent("wx2", "o", "other"));
    }

    #[test]
    fn quotas_count_per_china_day() {
        let a = Accounts::default();
        a.add(&WechatAppSpec {
            app_id: "wx3".into(),
            app_secret: "s".into(),
            daily_quota: Some(1),
            ..WechatAppSpec::default()
        })
        .unwrap();
        assert_eq!(a.count_send("wx3", 0), None);
        assert_eq!(a.count_send("wx3", 1000), Some(45009));
        assert_eq!(a.count_send("wx3", 86_400_000), None, "the next day");
    }
}
