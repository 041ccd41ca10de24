//! The OPPO adapter against the vendor simulator (`push-sim`): real TLS with the dev CA, the
//! signed auth-token exchange per host, form-encoded unicast / unicast_batch sends with
//! per-entry results, classification, quotas, de-duplication, receipts and injected faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod endpoints;
mod helpers;
mod raw;
mod receipts;
mod sends;
