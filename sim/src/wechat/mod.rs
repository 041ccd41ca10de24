//! The WeChat official-account template and mini-program subscribe messages (wechat.md) simulator. Placeholder: every request answers 404 until the vendor is built.

mod server;

pub(crate) use server::WechatEndpoint;

/// Everything the Wechat endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct WechatState {}

impl WechatState {
    /// Back to the start state.
    pub(crate) fn reset(&self) {}
}
