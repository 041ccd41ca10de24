//! pushgate's minimal online core: WebSocket connections, presence, a stored inbox with
//! pull + ack, and the offline hand-off to pushgate's own pipeline.
//!
//! - [`protocol`]: the JSON frames of `GET /v1/ws` (docs/online-protocol.md);
//! - [`jwt`] and [`keys`]: client tokens, verified with each app's client key;
//! - [`hub`]: this instance's live connections, bounded buffers, kick and eviction;
//! - [`store`]: read diffusion — each message stored once, a per-user gap-free sequence of
//!   index rows, per-device ack positions, groups, presence, client keys;
//! - [`relay`]: routing to connections on other instances through their queues;
//! - [`offline`]: pushes for devices without a live connection, through the ingest queue;
//! - [`rest`]: the client-key and group routes.
//!
//! The binary builds an [`OnlineCore`] from [`OnlinePorts`], merges its
//! [`OnlineCore::router`] and runs [`OnlineCore::run`] beside the pipeline.

mod config;
mod connection;
mod core;
pub mod dispatch;
pub mod hub;
pub mod jwt;
pub mod keys;
pub mod offline;
pub mod protocol;
pub mod relay;
pub mod rest;
pub mod seal;
pub mod store;
mod ws;

pub use config::OnlineConfig;
pub use core::{OnlineCore, OnlinePorts};
pub use rest::access::{StoreTenantAccess, TenantAccess};
pub use seal::{SealError, SecretSealer};
pub use store::Dialect;
