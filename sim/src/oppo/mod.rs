//! The OPPO push (oppo.md) simulator. Placeholder: every request answers 404 until the vendor is built.

mod server;

pub(crate) use server::OppoEndpoint;

/// Everything the Oppo endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct OppoState {}

impl OppoState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {}
}
