//! The [`Adapter`] implementation: routes each device to its environment's pool, sends one
//! HTTP/2 request per device (concurrently, multiplexed), classifies each answer and keeps
//! connections and health up to date. It never sleeps, loops or retries.

use crate::auth::{self, Clock, NO_SETTINGS, ProviderTokens};
use crate::client::{self, AuthKey, ClientFactory, Outgoing, Pool, PoolKey, Pools};
use crate::error::HealthEffect;
use crate::payload::{self, MAX_PAYLOAD_BYTES, PreparedPush, PushType};
use async_trait::async_trait;
use push_core::adapter::{
    Adapter, AdapterHealth, AdapterInfo, Capabilities, CheckError, CredentialFacts, CredentialRef,
    Outcome, SendRequest, SendTarget, TargetResult, same_outcome,
};
use push_core::token_cache::SharedTokens;
use push_core::{
    ApnsEnvironment, ApnsSettings, App, Channel, CredentialSecret, DeliveryId, Secret,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use url::Url;
use uuid::Uuid;

/// Most devices one `send` call takes; they are sent concurrently over the pool.
const MAX_BATCH: usize = 100;
/// The device token `check_credential` posts to: valid hex, owned by no device.
const PROBE_DEVICE_TOKEN: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The two base URLs, each ending with `/`.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    /// Production.
    pub production: Url,
    /// Sandbox.
    pub sandbox: Url,
}

impl Endpoints {
    fn of(&self, environment: ApnsEnvironment) -> &Url {
        match environment {
            ApnsEnvironment::Production => &self.production,
            ApnsEnvironment::Sandbox => &self.sandbox,
        }
    }
}

/// The APNs adapter. Its `Debug` shows endpoints and counts, never credentials.
pub(crate) struct ApnsAdapter {
    endpoints: Endpoints,
    factory: ClientFactory,
    pools: Pools,
    tokens: ProviderTokens,
    /// How each credential version seen authenticates (for `forget_auth`).
    credentials: Mutex<HashMap<Uuid, AuthKey>>,
    /// Parsed `.p8` keys by credential version, so a send does not parse and validate the
    /// key again (a version's key never changes; a new upload is a new id).
    p8_keys: Mutex<HashMap<Uuid, Arc<auth::P8Key>>>,
    health: Mutex<AdapterHealth>,
}

impl fmt::Debug for ApnsAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApnsAdapter")
            .field("production", &self.endpoints.production.as_str())
            .field("sandbox", &self.endpoints.sandbox.as_str())
            .field("pools", &self.pools.len())
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

/// How one `send` authenticates, resolved once for all its devices.
struct SendAuth {
    auth: AuthKey,
    bearer: Option<auth::ProviderToken>,
}

impl ApnsAdapter {
    pub(crate) fn new(
        endpoints: Endpoints,
        factory: ClientFactory,
        pool_size: usize,
        clock: Clock,
    ) -> Self {
        Self {
            endpoints,
            factory,
            pools: Pools::new(pool_size),
            tokens: ProviderTokens::new(clock),
            credentials: Mutex::new(HashMap::new()),
            p8_keys: Mutex::new(HashMap::new()),
            health: Mutex::new(AdapterHealth::Healthy),
        }
    }

    /// Shares provider tokens with other instances through `source` (see `auth`).
    pub(crate) fn share_tokens(mut self, source: Option<Arc<dyn SharedTokens>>) -> Self {
        self.tokens = self.tokens.shared(source);
        self
    }

    fn set_health(&self, effect: HealthEffect, reason: &str) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match effect {
            HealthEffect::Healthy => *health = AdapterHealth::Healthy,
            HealthEffect::Degraded => {
                *health = AdapterHealth::Degraded {
                    reason: reason.to_string(),
                }
            }
            HealthEffect::Unchanged => {}
        }
    }

    /// Resolves the credential into an auth key (and a provider token); `Err` is the
    /// outcome for every device.
    async fn send_auth(&self, credential: &CredentialRef) -> Result<SendAuth, Outcome> {
        let resolved = match credential.secret.as_ref() {
            CredentialSecret::ApnsP8 {
                key_id,
                team_id,
                private_key,
            } => {
                let cached = self
                    .p8_keys
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&credential.id)
                    .cloned();
                let key = match cached {
                    Some(key) => key,
                    None => {
                        let key = Arc::new(
                            auth::parse_p8(key_id, team_id, private_key)
                                .map_err(|reason| Outcome::AuthFailed { reason })?,
                        );
                        self.p8_keys
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(credential.id, Arc::clone(&key));
                        key
                    }
                };
                let token = self
                    .tokens
                    .get(&key)
                    .await
                    .map_err(|reason| Outcome::AuthFailed { reason })?;
                SendAuth {
                    auth: AuthKey::Token(key.token_key.clone()),
                    bearer: Some(token),
                }
            }
            CredentialSecret::ApnsP12 { .. } => SendAuth {
                auth: AuthKey::Certificate(credential.id),
                bearer: None,
            },
            other => {
                return Err(Outcome::AuthFailed {
                    reason: format!(
                        "a {} credential cannot authenticate APNs; upload a .p8 key or a .p12 certificate",
                        other.kind().as_str()
                    ),
                });
            }
        };
        self.credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(credential.id, resolved.auth.clone());
        Ok(resolved)
    }

    /// The pool of (environment, auth), opening the `.p12` identity when it is new.
    fn pool(
        &self,
        environment: ApnsEnvironment,
        auth: &AuthKey,
        credential: &CredentialRef,
    ) -> Result<(PoolKey, Arc<Pool>), Outcome> {
        let key = PoolKey {
            environment,
            auth: auth.clone(),
        };
        let identity = match (auth, credential.secret.as_ref()) {
            (
                AuthKey::Certificate(_),
                CredentialSecret::ApnsP12 {
                    pkcs12_base64,
                    password,
                },
            ) => Some((pkcs12_base64, password)),
            _ => None,
        };
        // Opened at most once per new pool, then shared by its connections.
        let mut opened: Option<reqwest::Identity> = None;
        let pool = self.pools.get_or_make(&key, || {
            let identity = match (identity, &opened) {
                (Some(_), Some(done)) => Some(done.clone()),
                (Some((p12, password)), None) => {
                    let identity = open_identity(p12, password)?;
                    opened = Some(identity.clone());
                    Some(identity)
                }
                (None, _) => None,
            };
            self.factory.client(identity).map_err(|e| Outcome::Retry {
                after: None,
                reason: format!("the APNs client could not be built: {e}"),
            })
        })?;
        Ok((key, pool))
    }

    /// The outcome of each target, sent concurrently.
    async fn send_all(
        &self,
        request: &SendRequest<'_>,
        settings: &ApnsSettings,
        prepared: &PreparedPush,
        auth: &SendAuth,
    ) -> Vec<TargetResult> {
        let cert_auth = matches!(auth.auth, AuthKey::Certificate(_));
        let mut results: Vec<Option<Outcome>> = vec![None; request.targets.len()];
        let mut pools_used: HashMap<usize, (PoolKey, Arc<Pool>)> = HashMap::new();
        let mut tasks = JoinSet::new();
        for (i, target) in request.targets.iter().enumerate() {
            let environment = target
                .apns_environment
                .unwrap_or(settings.default_environment);
            let Some(token) = client::normalize_token(&target.token) else {
                results[i] = Some(Outcome::InvalidToken {
                    reason: "BadDeviceToken: the device token is not hexadecimal (refused without asking APNs)".to_string(),
                    invalid_since: None,
                });
                continue;
            };
            let (key, pool) = match self.pool(environment, &auth.auth, request.credential) {
                Ok(found) => found,
                Err(outcome) => {
                    self.set_health(HealthEffect::Degraded, outcome.reason());
                    results[i] = Some(outcome);
                    continue;
                }
            };
            let (Some(connection), Ok(url)) = (
                pool.pick(),
                client::device_url(self.endpoints.of(environment), &token),
            ) else {
                results[i] = Some(Outcome::Rejected {
                    reason: "no APNs request could be made for this device".to_string(),
                });
                continue;
            };
            pools_used.insert(i, (key, pool));
            let headers = prepared.headers(target.delivery_id);
            let (bearer, body) = (auth.bearer.clone(), prepared.body.clone());
            tasks.spawn(async move {
                (
                    i,
                    connection
                        .exchange(
                            Outgoing {
                                url,
                                headers,
                                bearer,
                                body,
                            },
                            cert_auth,
                        )
                        .await,
                )
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((i, classified)) = joined else {
                continue;
            };
            if classified.reconnect
                && let Some((key, pool)) = pools_used.get(&i)
            {
                self.pools.drop_if_current(key, pool);
            }
            let reason = classified.outcome.reason();
            self.set_health(classified.health, reason);
            log_outcome(request, &request.targets[i], &classified.outcome);
            results[i] = Some(classified.outcome);
        }
        request
            .targets
            .iter()
            .zip(results)
            .map(|(target, outcome)| TargetResult {
                delivery_id: target.delivery_id,
                outcome: outcome.unwrap_or_else(|| Outcome::Retry {
                    after: None,
                    reason: "the APNs request was interrupted".to_string(),
                }),
            })
            .collect()
    }
}

/// The TLS client identity of a `.p12` credential.
fn open_identity(p12: &Secret, password: &Secret) -> Result<reqwest::Identity, Outcome> {
    let opened = auth::open_p12(p12, password).map_err(|reason| Outcome::AuthFailed { reason })?;
    reqwest::Identity::from_pem(opened.pem.expose().as_bytes()).map_err(|_| Outcome::AuthFailed {
        reason: "the .p12 key or certificate cannot be used for TLS".to_string(),
    })
}

fn log_outcome(request: &SendRequest<'_>, target: &SendTarget, outcome: &Outcome) {
    let reason = outcome.reason();
    match outcome {
        Outcome::Accepted { .. } => tracing::debug!(vendor = "apns", app = %request.app.id,
            delivery_id = %target.delivery_id, device_id = %target.device_id, "accepted"),
        Outcome::InvalidToken { .. } | Outcome::Retry { .. } | Outcome::QuotaExhausted { .. } => {
            tracing::info!(vendor = "apns",
            app = %request.app.id, delivery_id = %target.delivery_id, device_id = %target.device_id,
            outcome = outcome.kind(), reason, "not accepted")
        }
        Outcome::AuthFailed { .. } | Outcome::Rejected { .. } => tracing::warn!(vendor = "apns",
            app = %request.app.id, delivery_id = %target.delivery_id, device_id = %target.device_id,
            credential_id = %request.credential.id, outcome = outcome.kind(), reason, "refused"),
    }
}

fn bundle_id(app: &App) -> Option<&str> {
    apns_settings(app).map(|s| s.bundle_id.as_str())
}

fn apns_settings(app: &App) -> Option<&ApnsSettings> {
    app.settings
        .apns
        .as_ref()
        .filter(|s| !s.bundle_id.is_empty())
}

#[async_trait]
impl Adapter for ApnsAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            vendor: "apns",
            channels: &[Channel::Apns],
            capabilities: Capabilities {
                max_batch: MAX_BATCH,
                max_payload_bytes: MAX_PAYLOAD_BYTES,
                collapse: true,
                ttl: true,
                priority: true,
                per_token_results: true,
            },
        }
    }

    async fn send(&self, request: SendRequest<'_>) -> Vec<TargetResult> {
        let Some(settings) = apns_settings(request.app) else {
            return same_outcome(
                request.targets,
                &Outcome::Rejected {
                    reason: NO_SETTINGS.to_string(),
                },
            );
        };
        let prepared =
            match PreparedPush::build(request.message, &settings.bundle_id, request.accepted_at) {
                Ok(prepared) => prepared,
                Err(reason) => return same_outcome(request.targets, &Outcome::Rejected { reason }),
            };
        let auth = match self.send_auth(request.credential).await {
            Ok(auth) => auth,
            Err(outcome) => {
                self.set_health(HealthEffect::Degraded, outcome.reason());
                return same_outcome(request.targets, &outcome);
            }
        };
        self.send_all(&request, settings, &prepared, &auth).await
    }

    fn verify_credential(
        &self,
        app: &App,
        secret: &CredentialSecret,
        now: OffsetDateTime,
    ) -> Result<CredentialFacts, CheckError> {
        auth::verify(bundle_id(app), secret, now)
    }

    async fn check_credential(
        &self,
        app: &App,
        credential: &CredentialRef,
    ) -> Result<(), CheckError> {
        auth::verify(
            bundle_id(app),
            &credential.secret,
            OffsetDateTime::now_utc(),
        )?;
        let settings =
            apns_settings(app).ok_or_else(|| CheckError::Invalid(NO_SETTINGS.to_string()))?;
        let auth = self
            .send_auth(credential)
            .await
            .map_err(|o| CheckError::Invalid(o.reason().to_string()))?;
        let environment = settings.default_environment;
        let (_, pool) = self
            .pool(environment, &auth.auth, credential)
            .map_err(|o| CheckError::Invalid(o.reason().to_string()))?;
        let connection = pool
            .pick()
            .ok_or_else(|| CheckError::Unreachable("no APNs connection".to_string()))?;
        let url = client::device_url(self.endpoints.of(environment), PROBE_DEVICE_TOKEN)
            .map_err(|e| CheckError::Unreachable(format!("bad APNs URL: {e}")))?;
        let probe = PushType::Background;
        let headers = vec![
            ("apns-id", payload::apns_id(DeliveryId(Uuid::new_v4()))),
            ("apns-push-type", probe.as_str().to_string()),
            ("apns-topic", probe.topic(&settings.bundle_id)),
            ("apns-priority", "5".to_string()),
            ("apns-expiration", "0".to_string()),
            ("content-type", "application/json".to_string()),
        ];
        let body = br#"{"aps":{"content-available":1}}"#.to_vec();
        let cert_auth = matches!(auth.auth, AuthKey::Certificate(_));
        let classified = connection
            .exchange(
                Outgoing {
                    url,
                    headers,
                    bearer: auth.bearer,
                    body,
                },
                cert_auth,
            )
            .await;
        let reason = classified.outcome.reason().to_string();
        let verdict = match &classified.outcome {
            // Any verdict on the (fake) device token means the credential was accepted.
            Outcome::Accepted { .. } | Outcome::InvalidToken { .. } => Ok(()),
            Outcome::AuthFailed { .. } => Err(CheckError::Refused(reason)),
            Outcome::Rejected { .. }
                if reason.contains(" TopicDisallowed:") || reason.contains(" BadTopic:") =>
            {
                Err(CheckError::Refused(reason))
            }
            Outcome::Retry { .. } | Outcome::Rejected { .. } | Outcome::QuotaExhausted { .. } => {
                Err(CheckError::Unreachable(reason))
            }
        };
        tracing::info!(vendor = "apns", app = %app.id, credential_id = %credential.id,
            environment = environment.as_str(), ok = verdict.is_ok(), "checked an APNs credential");
        verdict
    }

    fn forget_auth(&self, credential_id: Uuid) {
        let auth = self
            .credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&credential_id)
            .cloned();
        let Some(auth) = auth else { return };
        let token_dropped = match &auth {
            AuthKey::Token(key) => self.tokens.invalidate(key),
            AuthKey::Certificate(_) => false,
        };
        let pools = self.pools.drop_auth(&auth);
        tracing::info!(vendor = "apns", credential_id = %credential_id, token_dropped, pools,
            "forgot APNs auth (a provider token younger than 20 minutes is kept)");
    }

    fn health(&self) -> AdapterHealth {
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests;
