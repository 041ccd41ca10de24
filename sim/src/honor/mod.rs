//! The Honor Push (honor.md) simulator. Placeholder: every request answers 404 until the vendor is built.

mod server;

pub(crate) use server::HonorEndpoint;

/// Everything the Honor endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct HonorState {}

impl HonorState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {}
}
