//! The conformance suite for the OPPO adapter. The harness (hooks, every case listed, none
//! left out) lives beside the adapter, which also runs it
//! (`cargo test -p pushgate-oppo --test conformance`).

#[path = "../../../adapters/oppo/tests/conformance/harness.rs"]
mod harness;
