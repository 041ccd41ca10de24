//! The Xiaomi MiPush simulator (xiaomi.md §9): `POST /v3/message/regid` (and `/v2/…`) on one
//! HTTPS port — `Authorization: key=<AppSecret>`, form-encoded bodies only, the documented
//! validation and result codes, regid states with `bad_regids` / `20301`, private and public
//! channels with templates and daily quotas on the sim clock, and receipts posted as a form
//! field `data` (JSON keyed by message id) to `extra.callback` or the app's registered URL.

mod apps;
mod codes;
mod devices;
mod receipts;
mod send;
mod server;
mod validate;

#[cfg(test)]
mod validate_tests;

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use server::XiaomiEndpoint;

/// Everything the Xiaomi endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct XiaomiState {
    /// Apps and their daily counters.
    pub apps: apps::AppRegistry,
    /// Regids and per-device daily counters.
    pub devices: devices::DeviceRegistry,
    /// Receipt URLs, pending receipts, posted receipts.
    pub receipts: receipts::ReceiptHub,
    next_id: AtomicU64,
}

impl XiaomiState {
    /// Back to the start state: forgets apps, regids, counters, receipt URLs and receipts.
    pub(crate) fn reset(&self) {
        self.apps.clear();
        self.devices.clear();
        self.receipts.clear();
    }

    /// A fresh message id (`scm…`, like Xiaomi's `data.id`) and trace id (`Xcm…`).
    pub(crate) fn ids(&self, now_ms: i64) -> (String, String) {
        let seq = self.next_id.fetch_add(1, Ordering::Relaxed) % 1_000_000;
        let letters = [b'A' + (seq % 26) as u8, b'a' + ((seq / 26) % 26) as u8];
        let tail = String::from_utf8_lossy(&letters).into_owned();
        let core = format!("{:013}{seq:06}", now_ms.max(0));
        (format!("scm{core}{tail}"), format!("Xcm{core}{tail}"))
    }
}
