//! Dev-only test support for pushgate: a scripted stub adapter for dispatcher tests, the
//! adapter conformance suite that every vendor adapter runs against the simulator, and
//! (`sends`) the send helpers the adapters' own simulator tests share.
//! Nothing outside `[dev-dependencies]` may depend on this crate.

pub mod conformance;
pub mod sends;
pub mod stub;

pub use stub::{RecordedSend, StubAdapter};
