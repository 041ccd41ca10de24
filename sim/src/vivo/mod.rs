//! The vivo push simulator (vivo.md §9): the MD5-signed auth call (`/message/auth`) and
//! `/message/send`, `/message/saveListPayload`, `/message/pushToList` on one HTTPS port, with
//! the `authToken` header check, vivo's validation and result codes, regId states, daily
//! quotas on the sim clock, `requestId` de-duplication and receipt callbacks (new
//! `callback.id` and old `callback` styles).
//!
//! Codes the reference leaves open, chosen here (documented in sim/README.md): a missing,
//! unknown or expired `authToken` answers `10000` with a `desc` naming the authToken; a field
//! that fails validation answers `10101` naming the field; a `pushToList` with fewer than 2
//! or more than 1000 regIds answers `10252`.

mod apps;
mod auth;
mod receipts;
mod send;
mod server;
mod validate;

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use server::VivoEndpoint;

/// Everything the vivo endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct VivoState {
    /// Apps, auth tokens, regIds, daily counters, stored list payloads, seen requestIds.
    pub apps: apps::Registry,
    /// Receipt configurations and posted receipts.
    pub receipts: receipts::ReceiptHub,
    next_task: AtomicU64,
}

impl VivoState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {
        self.apps.clear();
        self.receipts.clear();
    }

    /// A fresh `taskId`: 19 digits, like vivo's.
    pub(crate) fn task_id(&self, now_ms: i64) -> String {
        let seq = self.next_task.fetch_add(1, Ordering::Relaxed) % 1_000_000;
        format!("{:013}{seq:06}", now_ms.max(0))
    }
}

/// Beijing-time (UTC+8) day number, for the daily counters.
pub(crate) fn china_day(now_ms: i64) -> i64 {
    now_ms.saturating_add(8 * 3_600_000).div_euclid(86_400_000)
}

/// Beijing-time hour of the day (0–23).
pub(crate) fn china_hour(now_ms: i64) -> i64 {
    now_ms
        .saturating_add(8 * 3_600_000)
        .rem_euclid(86_400_000)
        .div_euclid(3_600_000)
}

/// vivo's system-message categories (`classification` 1).
pub(crate) const SYSTEM_CATEGORIES: [&str; 6] = [
    "IM",
    "ACCOUNT",
    "TODO",
    "DEVICE_REMINDER",
    "ORDER",
    "SUBSCRIPTION",
];
/// vivo's operation-message categories (`classification` 0).
pub(crate) const OPERATION_CATEGORIES: [&str; 4] = ["NEWS", "CONTENT", "MARKETING", "SOCIAL"];

#[cfg(test)]
mod tests;
