//! The FCM adapter against the vendor simulator (`push-sim`): real TLS with the dev CA,
//! HTTP/2, the OAuth2 JWT-bearer flow, the send endpoint's checks and injected faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod faults;
mod helpers;
mod sends;
