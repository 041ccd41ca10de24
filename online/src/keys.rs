//! Client keys: setting them (validated, the HS256 secret sealed) and finding the verifier
//! of an app's tokens, cached for a few seconds so every instance picks up a new key
//! quickly without a database read per connection.

use crate::jwt::{Claims, ClientAlg, KeyError, KeyMaterial, TokenError, Verifier, unverified_app};
use crate::seal::SecretSealer;
use crate::store::OnlineStore;
use crate::store::client_keys::StoredClientKey;
use push_core::{Secret, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a looked-up key (or its absence) is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// Cached apps before the cache is emptied (bounds memory under token floods).
const CACHE_MAX: usize = 10_000;

/// What the API shows of a client key. Never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientKeyInfo {
    /// The app.
    pub app: String,
    /// Its algorithm.
    pub alg: ClientAlg,
    /// `sha256:` and 16 bytes (hex) of the key material's SHA-256.
    pub fingerprint: String,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
}

/// Why a key could not be set or used.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The key material is unusable (the message says why, without the key).
    #[error(transparent)]
    Invalid(#[from] KeyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored key cannot be opened or parsed.
    #[error("the stored client key is unusable: {0}")]
    Unusable(String),
}

/// Why a client token was not taken.
#[derive(Debug)]
pub enum TokenCheck {
    /// The token itself: malformed, bad signature, expired, unknown app… (401).
    Refused(TokenError),
    /// The app's key could not be read or used (503 / 500).
    Keys(KeysError),
}

type CacheEntry = (Instant, Option<Arc<Verifier>>);

/// The client keys of all apps.
pub struct ClientKeys {
    store: OnlineStore,
    sealer: Arc<dyn SecretSealer>,
    cache: Mutex<HashMap<String, CacheEntry>>,
}

impl ClientKeys {
    /// Keys kept in `store`, secrets sealed by `sealer`.
    pub fn new(store: OnlineStore, sealer: Arc<dyn SecretSealer>) -> Self {
        Self {
            store,
            sealer,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Validates and stores `material` as `app`'s key, replacing any previous one.
    pub async fn set(&self, app: &str, material: &KeyMaterial) -> Result<ClientKeyInfo, KeysError> {
        let verifier = Verifier::new(material)?;
        let key_id = uuid::Uuid::now_v7();
        let (public_key_pem, sealed, fingerprint) = match material {
            KeyMaterial::Hs256(secret) => (
                None,
                Some(
                    self.sealer
                        .seal(key_id, app, secret)
                        .map_err(|e| KeysError::Unusable(e.to_string()))?,
                ),
                fingerprint(secret.expose().as_bytes()),
            ),
            KeyMaterial::PublicPem(_, pem) => {
                (Some(pem.clone()), None, fingerprint(pem.trim().as_bytes()))
            }
        };
        let stored = StoredClientKey {
            key_id: key_id.to_string(),
            alg: verifier.alg().as_str().to_string(),
            public_key_pem,
            sealed,
            fingerprint,
            updated_at: crate::store::now_ms(),
        };
        self.store.put_client_key(app, &stored).await?;
        self.forget(app);
        Ok(info(app, &stored, verifier.alg()))
    }

    /// What may be shown of `app`'s key.
    pub async fn info(&self, app: &str) -> Result<Option<ClientKeyInfo>, KeysError> {
        let Some(stored) = self.store.client_key(app).await? else {
            return Ok(None);
        };
        let alg = ClientAlg::parse(&stored.alg)
            .ok_or_else(|| KeysError::Unusable("unknown algorithm".into()))?;
        Ok(Some(info(app, &stored, alg)))
    }

    /// Removes `app`'s key; true if there was one.
    pub async fn delete(&self, app: &str) -> Result<bool, KeysError> {
        let done = self.store.delete_client_key(app).await?;
        self.forget(app);
        Ok(done)
    }

    /// Verifies a client token fully: its `app` claim (read unverified) only picks the app's
    /// key, which then checks signature, algorithm and expiry, and the verified claims must
    /// name the same app. Every route that takes a client token (`GET /v1/ws`, client acks)
    /// goes through here.
    pub async fn verify_token(&self, token: &str) -> Result<Claims, TokenCheck> {
        let app = unverified_app(token).map_err(TokenCheck::Refused)?;
        let Some(verifier) = self.verifier(&app).await.map_err(TokenCheck::Keys)? else {
            return Err(TokenCheck::Refused(TokenError::Refused(
                "unknown app or no client key".into(),
            )));
        };
        match verifier.verify(token) {
            Ok(claims) if claims.app == app => Ok(claims),
            Ok(_) => Err(TokenCheck::Refused(TokenError::Refused(
                "app claim mismatch".into(),
            ))),
            Err(e) => {
                tracing::debug!(app = %app, reason = %e, "client token refused");
                Err(TokenCheck::Refused(e))
            }
        }
    }

    /// The verifier of `app`'s tokens; `None` when the app has no key (or does not exist).
    pub async fn verifier(&self, app: &str) -> Result<Option<Arc<Verifier>>, KeysError> {
        if let Some((at, found)) = self.lock().get(app)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(found.clone());
        }
        let found = match self.store.client_key(app).await? {
            Some(stored) => Some(Arc::new(self.load(app, &stored)?)),
            None => None,
        };
        let mut cache = self.lock();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(app.to_string(), (Instant::now(), found.clone()));
        Ok(found)
    }

    fn load(&self, app: &str, stored: &StoredClientKey) -> Result<Verifier, KeysError> {
        let alg = ClientAlg::parse(&stored.alg)
            .ok_or_else(|| KeysError::Unusable("unknown algorithm".into()))?;
        let material = match (alg, &stored.sealed, &stored.public_key_pem) {
            (ClientAlg::HS256, Some(sealed), _) => {
                let key_id = uuid::Uuid::parse_str(&stored.key_id)
                    .map_err(|_| KeysError::Unusable("bad key id".into()))?;
                let secret: Secret = self
                    .sealer
                    .open(key_id, app, sealed)
                    .map_err(|e| KeysError::Unusable(e.to_string()))?;
                KeyMaterial::Hs256(secret)
            }
            (ClientAlg::RS256 | ClientAlg::ES256, _, Some(pem)) => {
                KeyMaterial::PublicPem(alg, pem.clone())
            }
            _ => return Err(KeysError::Unusable("key material missing".into())),
        };
        Ok(Verifier::new(&material)?)
    }

    fn forget(&self, app: &str) {
        self.lock().remove(app);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CacheEntry>> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn info(app: &str, stored: &StoredClientKey, alg: ClientAlg) -> ClientKeyInfo {
    ClientKeyInfo {
        app: app.to_string(),
        alg,
        fingerprint: stored.fingerprint.clone(),
        updated_at: stored.updated_at,
    }
}

/// `sha256:` + hex of the first 16 bytes of SHA-256, naming key material without revealing it.
fn fingerprint(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}
