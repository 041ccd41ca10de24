//! The Huawei Push Kit simulator (huawei.md §9): the OAuth 2.0 client-credentials endpoint
//! (`/oauth2/v3/token`) and `POST /v1/{appId}/messages:send` (and the `/v2/{projectId}`
//! form) on one HTTPS port, device-token states, classification limits and signed delivery
//! receipts posted to registered callbacks.

mod apps;
mod codes;
mod devices;
mod oauth;
mod receipts;
mod send;
mod server;
mod validate;
mod window;

#[cfg(test)]
mod validate_tests;

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use oauth::TOKEN_PATH;
pub(crate) use receipts::ReceiptSender;
pub(crate) use server::HuaweiEndpoint;

/// Everything the Huawei endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct HuaweiState {
    /// Apps and issued access tokens.
    pub apps: apps::AppRegistry,
    /// Device tokens and daily counters.
    pub devices: devices::DeviceRegistry,
    /// Receipt configurations and posted batches.
    pub receipts: receipts::ReceiptHub,
    next_request: AtomicU64,
}

impl HuaweiState {
    /// Forgets apps, access tokens, device tokens, counters and receipt configurations.
    pub(crate) fn reset(&self) {
        self.apps.clear();
        self.devices.clear();
        self.receipts.clear();
    }

    /// A fresh `requestId`: the time in ms and a sequence number, 24 digits like Huawei's.
    pub(crate) fn request_id(&self, now_ms: i64) -> String {
        let seq = self.next_request.fetch_add(1, Ordering::Relaxed) % 100_000_000_000;
        format!("{:013}{seq:011}", now_ms.max(0))
    }
}
