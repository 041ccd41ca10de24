//! The conformance suite for the Honor adapter. The harness (hooks, every case listed, none
//! left out) lives beside the adapter, whose other sim tests share its helpers.

#[path = "../../../adapters/honor/tests/sim/conformance.rs"]
#[allow(dead_code)]
mod harness;
