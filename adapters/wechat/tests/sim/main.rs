//! The WeChat adapter against the vendor simulator (`push-sim`): real TLS with the dev CA,
//! stable access tokens, template and subscribe sends, the errcodes the sim answers,
//! injected faults, and events posted back to a local receiver (plain and safe mode).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod callbacks;
mod helpers;
mod sends;
