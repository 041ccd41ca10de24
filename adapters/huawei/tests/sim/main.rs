//! The Huawei adapter against the vendor simulator (`push-sim`): real TLS with the dev CA,
//! the OAuth 2.0 client-credentials flow, token-list sends with per-token results, the
//! send endpoint's checks and injected faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod sends;
