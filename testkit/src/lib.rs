//! Dev-only test support for pushgate: a scripted stub adapter for dispatcher tests, and
//! the adapter conformance suite that every vendor adapter runs against the simulator.
//! Nothing outside `[dev-dependencies]` may depend on this crate.

pub mod conformance;
pub mod stub;

pub use stub::{RecordedSend, StubAdapter};
