//! The conformance suite for the Xiaomi adapter. The harness (hooks, every case listed,
//! none left out) lives beside the adapter, which also runs it
//! (`cargo test -p pushgate-xiaomi --test conformance`).

#[path = "../../../adapters/xiaomi/tests/conformance/harness.rs"]
mod harness;
