//! The conformance suite for the vivo adapter.
//!
//! Every case runs, against push-sim, from the adapter's own test binary —
//! `adapters/vivo/tests/sim/conformance.rs` (`cargo test -p pushgate-vivo conformance`) —
//! because this test binary has no dev-dependency on `pushgate-vivo` yet (testkit/Cargo.toml
//! is shared). That module is self-contained: once `pushgate-vivo.workspace = true` is added
//! to `[dev-dependencies]` of testkit/Cargo.toml, its content moves here unchanged.
//! No case is left out.
