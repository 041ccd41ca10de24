//! The Xiaomi adapter against the vendor simulator (`push-sim`): real TLS with the dev CA,
//! the `key=` AppSecret, form-encoded regid batches with per-regid results, the send
//! endpoint's checks, quotas, receipts posted back, and injected faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod receipts;
mod sends;
