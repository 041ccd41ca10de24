//! The vivo push (vivo.md) simulator. Placeholder: every request answers 404 until the vendor is built.

mod server;

pub(crate) use server::VivoEndpoint;

/// Everything the Vivo endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct VivoState {}

impl VivoState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {}
}
