//! The vivo adapter against the vendor simulator (`push-sim`): real TLS with the dev CA, the
//! MD5-signed auth call, single and list sends with per-regId results, quotas, receipts
//! (decoded by the adapter from what the sim posts), injected faults, and the shared
//! conformance suite.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod endpoints;
mod helpers;
mod receipts;
mod sends;
