//! The Honor Push simulator (honor.md §8): the OAuth 2.0 client-credentials endpoint at both
//! documented paths and `POST /api/v1/{appId}/sendMessage` on one HTTPS port, with the Bearer
//! and `timestamp` header checks, camelCase validation, token states (`expireTokens`,
//! `failTokens`), classification limits and the 00:00–06:00 hold on the sim clock, and receipt
//! callbacks.
//!
//! Codes the reference leaves open, chosen here (documented in sim/README.md): HTTP 401 with
//! `80200003` for a missing, unknown or expired access token and `80200001` for a token of
//! another app; HTTP 400 with `80100001` for parameter errors (snake_case Huawei names are
//! refused at any depth, `clickAction`, `badge` and `buttons` included) and a missing
//! `timestamp` header, `80100003` for a body that is not JSON;
//! `80300010` for 0 or more than 1000 tokens, `80300008` for a message over 4096 bytes,
//! `80300007` when every token is expired, `80100017` when the daily test-message quota
//! (1000) is used up. Test messages (`targetUserType: 1`) are exempt from the per-device
//! news & marketing quota (honor.md §4).

mod oauth;
mod receipts;
mod registry;
mod send;
mod server;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use oauth::{TOKEN_PATH, TOKEN_PATH_SHORT};
pub(crate) use server::HonorEndpoint;

/// Everything the Honor endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct HonorState {
    /// Apps, access tokens, device tokens and daily counters.
    pub registry: registry::Registry,
    /// Receipt configurations and posted batches.
    pub receipts: receipts::ReceiptHub,
    next_request: AtomicU64,
}

impl HonorState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {
        self.registry.clear();
        self.receipts.clear();
    }

    /// A fresh `requestId`: the time in ms and a 3-digit sequence, like Honor's.
    pub(crate) fn request_id(&self, now_ms: i64) -> String {
        let seq = self.next_request.fetch_add(1, Ordering::Relaxed) % 1000;
        format!("{:013}{seq:03}", now_ms.max(0))
    }
}

/// Beijing-time day number.
pub(crate) fn china_day(now_ms: i64) -> i64 {
    now_ms.saturating_add(8 * 3_600_000).div_euclid(86_400_000)
}

/// 06:00 Beijing time of the Beijing day of `now_ms`, Unix ms: when messages held overnight
/// are released (honor.md §5).
pub(crate) fn release_ms(now_ms: i64) -> i64 {
    china_day(now_ms)
        .saturating_mul(86_400_000)
        .saturating_add((6 - 8) * 3_600_000)
}

/// Beijing-time hour of the day (0–23).
pub(crate) fn china_hour(now_ms: i64) -> i64 {
    now_ms
        .saturating_add(8 * 3_600_000)
        .rem_euclid(86_400_000)
        .div_euclid(3_600_000)
}
