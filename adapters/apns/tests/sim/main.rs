//! The APNs adapter against push-sim, the local APNs fake: token and certificate auth,
//! routing, connection reuse, every kind of outcome, credential checks.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod auth;
mod faults;
mod helpers;
mod send;
