//! The conformance suite for the Honor adapter.
//!
//! Every case runs, against push-sim, from the adapter's own test binary —
//! `adapters/honor/tests/sim/conformance.rs` (`cargo test -p pushgate-honor conformance`) —
//! because this test binary has no dev-dependency on `pushgate-honor` yet (testkit/Cargo.toml
//! is shared). Once `pushgate-honor.workspace = true` is added to `[dev-dependencies]` of
//! testkit/Cargo.toml, the harness and hooks of that module move here unchanged.
//! No case is left out.
