//! The FCM HTTP v1 simulator (fcm.md §11): Google's OAuth2 token endpoint (`/token`) and
//! `POST /v1/projects/{project}/messages:send` on one HTTPS port (HTTP/1.1 and HTTP/2).

mod accounts;
mod error;
mod oauth;
mod proto;
mod send;
mod server;
mod tokens;
mod validate;

#[cfg(test)]
mod validate_tests;

pub(crate) use server::FcmEndpoint;

/// Everything the FCM endpoint knows.
#[derive(Debug, Default)]
pub(crate) struct FcmState {
    /// Service accounts and issued access tokens.
    pub accounts: accounts::AccountRegistry,
    /// Registration tokens and quota windows.
    pub tokens: tokens::TokenRegistry,
}

impl FcmState {
    /// Forgets accounts, access tokens, registration tokens and quota windows.
    pub(crate) fn reset(&self) {
        self.accounts.clear();
        self.tokens.clear();
    }
}
