//! Registered FCM service accounts (client email → public key, project) and the access
//! tokens the token endpoint issued.

use std::collections::HashMap;
use std::sync::Mutex;

use jsonwebtoken::DecodingKey;
use serde_json::Value;

use crate::control::types::{ControlError, FcmAccountInfo, FcmAccountSpec};
use crate::pubkey;
use crate::record::lock;

/// One registered service account.
#[derive(Clone, Debug)]
pub(crate) struct ServiceAccount {
    /// `client_email`.
    pub client_email: String,
    /// `project_id`.
    pub project_id: String,
    /// Numeric project number, if registered.
    pub project_number: Option<String>,
    /// `private_key_id`, if registered.
    pub private_key_id: Option<String>,
    /// The public key.
    pub decoding: DecodingKey,
}

impl ServiceAccount {
    /// Builds an account from its control-API registration.
    pub(crate) fn from_spec(spec: &FcmAccountSpec) -> Result<Self, ControlError> {
        let json = match &spec.service_account_json {
            Some(Value::String(s)) => Some(
                serde_json::from_str::<Value>(s)
                    .map_err(|e| ControlError::new(format!("service_account_json: {e}")))?,
            ),
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err(ControlError::new("service_account_json must be an object")),
            None => None,
        };
        let field = |explicit: &Option<String>, name: &str| {
            explicit.clone().or_else(|| {
                json.as_ref()
                    .and_then(|j| j.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        };
        let client_email = field(&spec.client_email, "client_email")
            .ok_or_else(|| ControlError::new("client_email is required"))?;
        let project_id = field(&spec.project_id, "project_id")
            .ok_or_else(|| ControlError::new("project_id is required"))?;
        let key_pem = field(&spec.public_key_pem, "private_key").ok_or_else(|| {
            ControlError::new("public_key_pem (or the JSON's private_key) is required")
        })?;
        Ok(ServiceAccount {
            client_email,
            project_id,
            project_number: spec.project_number.clone(),
            private_key_id: field(&spec.private_key_id, "private_key_id"),
            decoding: pubkey::rsa_key(&key_pem)?,
        })
    }

    /// Whether the send URL's `projects/{p}` names this account's project.
    pub(crate) fn owns_project(&self, p: &str) -> bool {
        self.project_id == p || self.project_number.as_deref() == Some(p)
    }
}

/// An issued access token.
#[derive(Clone, Debug)]
pub(crate) struct AccessToken {
    /// The account it was issued to.
    pub client_email: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Expiry on the sim clock, Unix ms.
    pub expires_at_ms: i64,
}

/// Service accounts and issued access tokens.
#[derive(Debug, Default)]
pub(crate) struct AccountRegistry {
    accounts: Mutex<HashMap<String, ServiceAccount>>,
    tokens: Mutex<HashMap<String, AccessToken>>,
}

impl AccountRegistry {
    /// Adds or replaces an account.
    pub(crate) fn add(&self, spec: &FcmAccountSpec) -> Result<FcmAccountInfo, ControlError> {
        let account = ServiceAccount::from_spec(spec)?;
        let info = FcmAccountInfo {
            client_email: account.client_email.clone(),
            project_id: account.project_id.clone(),
        };
        lock(&self.accounts).insert(account.client_email.clone(), account);
        Ok(info)
    }

    /// The account with this client email.
    pub(crate) fn account(&self, client_email: &str) -> Option<ServiceAccount> {
        lock(&self.accounts).get(client_email).cloned()
    }

    /// Whether any registered account belongs to project `p` (id or number).
    pub(crate) fn project_known(&self, p: &str) -> bool {
        lock(&self.accounts).values().any(|a| a.owns_project(p))
    }

    /// Issues a new access token; returns its value.
    pub(crate) fn issue(&self, token: AccessToken) -> String {
        let value = format!("ya29.sim-{}", uuid::Uuid::new_v4().simple());
        lock(&self.tokens).insert(value.clone(), token);
        value
    }

    /// The issued token with this value.
    pub(crate) fn token(&self, value: &str) -> Option<AccessToken> {
        lock(&self.tokens).get(value).cloned()
    }

    /// Expires every issued token now; returns how many were live.
    pub(crate) fn expire_all(&self, now_ms: i64) -> usize {
        let mut tokens = lock(&self.tokens);
        let mut live = 0;
        for t in tokens.values_mut() {
            if t.expires_at_ms > now_ms {
                live += 1;
                t.expires_at_ms = now_ms;
            }
        }
        live
    }

    /// Forgets every account and token.
    pub(crate) fn clear(&self) {
        lock(&self.accounts).clear();
        lock(&self.tokens).clear();
    }
}
