//! The Xiaomi MiPush (xiaomi.md) simulator. Placeholder: every request answers 404 until the vendor is built.

mod server;

pub(crate) use server::XiaomiEndpoint;

/// Everything the Xiaomi endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct XiaomiState {}

impl XiaomiState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {}
}
