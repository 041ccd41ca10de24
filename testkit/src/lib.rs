//! Dev-only test support for pushgate: a scripted stub adapter for dispatcher tests, the
//! adapter conformance suite that every vendor adapter runs against the simulator, and
//! (`sends`) the send helpers the adapters' own simulator tests share, and (`relay`)
//! endpoints elsewhere for tests of configurable vendor URLs.
//! Nothing outside `[dev-dependencies]` may depend on this crate.

pub mod conformance;
pub mod relay;
pub mod sends;
pub mod stub;

pub use stub::{RecordedSend, StubAdapter};
