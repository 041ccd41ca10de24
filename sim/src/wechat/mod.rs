//! The WeChat simulator (wechat.md §8): official-account template messages and
//! mini-program subscribe messages on one HTTPS port — the classic `GET /cgi-bin/token`
//! and the stable `POST /cgi-bin/stable_token` (independent tokens, 5-minute handovers,
//! forced refresh budget), `POST /cgi-bin/message/template/send` (follow / block state,
//! linked mini programs, templates and their value rules, `client_msg_id` de-duplication,
//! 64-bit msgids above 2^53) and `POST /cgi-bin/message/subscribe/send` (per openid and
//! template consents, pages, enums), daily and per-minute quotas, and signed
//! `TEMPLATESENDJOBFINISH` events posted in plain, safe or compatible mode.

mod accounts;
mod codes;
mod events;
mod send;
mod server;
mod validate;

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use server::WechatEndpoint;

/// The first msgid: above 2^53, like WeChat's, so float parsing shows.
const FIRST_MSGID: u64 = 3_487_542_469_355_618_313;

/// Everything the WeChat endpoint knows.
#[derive(Debug)]
pub(crate) struct WechatState {
    /// Accounts, templates, users, consents, tokens, counters.
    pub accounts: accounts::Accounts,
    /// Server configurations and posted events.
    pub events: events::EventHub,
    next_msgid: AtomicU64,
}

impl Default for WechatState {
    fn default() -> Self {
        WechatState {
            accounts: accounts::Accounts::default(),
            events: events::EventHub::default(),
            next_msgid: AtomicU64::new(FIRST_MSGID),
        }
    }
}

impl WechatState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {
        self.accounts.clear();
        self.events.clear();
    }

    /// A fresh msgid.
    pub(crate) fn next_msgid(&self) -> u64 {
        self.next_msgid.fetch_add(1, Ordering::Relaxed)
    }
}
