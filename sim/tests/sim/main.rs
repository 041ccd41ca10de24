//! Integration tests of push-sim, written against the vendor references only: reqwest as the
//! client (and a minimal raw HTTP/2 client where frames matter: GOAWAY), jsonwebtoken to mint
//! provider tokens and assertions from `certs/`, a small axum server to receive Huawei receipts.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod apns_auth;
mod apns_requests;
mod binary;
mod control;
mod faults;
mod fcm_oauth;
mod fcm_send;
mod goaway;
mod helpers;
mod huawei_oauth;
mod huawei_receipts;
mod huawei_send;
