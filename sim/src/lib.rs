//! push-sim: faithful local fakes of the push vendors' APIs, with fault injection, for tests,
//! benchmarks and sandboxes. Built from the vendor references in `../shared/vendors/`
//! ("Testing against a simulator"), never from pushgate's adapters.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = push_sim::Sim::start(push_sim::SimConfig { preload_dev: true, ..Default::default() }).await?;
//! let apns = sim.apns_sandbox_url();        // https://127.0.0.1:<port>, HTTP/2 only
//! let token_url = sim.fcm_token_url();      // https://127.0.0.1:<port>/token
//! let huawei = sim.huawei_url();            // {huawei}/v1/{appId}/messages:send
//! sim.control().counters();                 // what it saw
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout: `server.rs` is the vendor-neutral TLS/HTTP server, `exchange.rs` the request
//! counting, logging and fault plumbing the JSON/form endpoints share; each vendor is one module
//! (`apns/`, `fcm/`, `huawei/`) with its state and an `Endpoint` implementation (`server.rs`);
//! `control/` is the control API; `callbacks.rs` is the one poster every vendor sends its
//! receipts and events through (tracked, stopped at shutdown). Adding a vendor is adding a
//! module, a listener in `sim.rs` and its control operations.

mod apns;
mod callbacks;
mod clock;
mod config;
pub mod control;
mod counters;
pub mod dev;
mod exchange;
mod faults;
mod fcm;
mod honor;
mod huawei;
mod oppo;
mod pubkey;
mod record;
mod server;
mod sim;
mod state;
mod tls;
mod vivo;
mod wechat;
mod wire;
mod xiaomi;

pub use config::{
    DEFAULT_APNS_PRODUCTION_PORT, DEFAULT_APNS_SANDBOX_PORT, DEFAULT_CONTROL_PORT,
    DEFAULT_FCM_PORT, DEFAULT_HONOR_PORT, DEFAULT_HUAWEI_PORT, DEFAULT_OPPO_PORT,
    DEFAULT_VIVO_PORT, DEFAULT_WECHAT_PORT, DEFAULT_XIAOMI_PORT, SimConfig, repo_certs_dir,
};
pub use control::Control;
pub use control::types;
pub use sim::Sim;
