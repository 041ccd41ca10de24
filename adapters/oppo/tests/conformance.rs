//! The adapter conformance suite (pushgate-testkit) for the OPPO adapter against push-sim.
//! The harness lives in `conformance/harness.rs`; testkit's own conformance binary includes
//! the same file once it has `pushgate-oppo` as a dev-dependency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "conformance/harness.rs"]
mod oppo;
