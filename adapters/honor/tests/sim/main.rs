//! The Honor adapter against the vendor simulator (`push-sim`): real TLS with the dev CA, the
//! OAuth client-credentials flow, token-list sends with per-token results, the send's
//! headers, receipts decoded by the adapter, injected faults, and the shared conformance
//! suite.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod conformance;
mod sends;
