//! HTTP/2 connections to APNs: one small pool of reqwest clients per (environment,
//! credential), each client holding one multiplexed HTTP/2 connection
//! (`http2_prior_knowledge`, so a burst of first requests waits for that one connection
//! instead of opening more).
//!
//! Token-auth pools are keyed by (environment, team, key id, key digest), so every app of a
//! team shares them; certificate pools by (environment, credential id), since the identity
//! is part of the TLS connection. A token-auth connection lets one request through before
//! it has proven its token (APNs allows a single stream until then), then fans out.
//! Pools are dropped on `forget_auth` and after reasons that ask for a new connection.

use crate::auth::{ProviderToken, TokenKey};
use crate::error::{self, Classified, HealthEffect};
use push_core::ApnsEnvironment;
use push_core::adapter::Outcome;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

/// How connections are authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AuthKey {
    /// A `.p8` key: provider tokens on every request.
    Token(TokenKey),
    /// A `.p12` certificate (by credential version): the TLS client identity.
    Certificate(Uuid),
}

/// Which pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    /// Production or sandbox.
    pub environment: ApnsEnvironment,
    /// The authentication of its connections.
    pub auth: AuthKey,
}

/// Builds reqwest clients with the configured trust and timeouts.
#[derive(Clone)]
pub(crate) struct ClientFactory {
    /// Extra roots (from `ca_file`).
    pub roots: Vec<reqwest::Certificate>,
    /// Whether the system roots are trusted too.
    pub trust_system_roots: bool,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
}

impl ClientFactory {
    /// A client speaking only HTTP/2, with `identity` as TLS client certificate if given.
    pub(crate) fn client(
        &self,
        identity: Option<reqwest::Identity>,
    ) -> Result<reqwest::Client, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .http2_prior_knowledge()
            .timeout(self.request_timeout)
            .connect_timeout(self.connect_timeout)
            // Keep busy connections indefinitely (APNs dislikes reconnecting); ping quiet ones
            // so neither side drops them silently; close one after an hour without requests
            // (e.g. of a credential that was replaced).
            .pool_idle_timeout(Duration::from_secs(60 * 60))
            .http2_keep_alive_interval(Duration::from_secs(15 * 60))
            .http2_keep_alive_while_idle(true)
            .user_agent(concat!("pushgate-apns/", env!("CARGO_PKG_VERSION")));
        builder = if self.trust_system_roots {
            builder.tls_certs_merge(self.roots.iter().cloned())
        } else {
            builder.tls_certs_only(self.roots.iter().cloned())
        };
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        builder.build()
    }
}

/// One HTTP/2 connection (a reqwest client with a one-connection pool).
pub(crate) struct Connection {
    client: reqwest::Client,
    /// Until a token-auth connection has had an answer other than 403, requests go one
    /// at a time.
    proven: AtomicBool,
    /// The unproven connection's first request got no answer.
    broken: AtomicBool,
    first: tokio::sync::Mutex<()>,
}

/// APNs' answer, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` header, as text.
    pub retry_after: Option<String>,
    /// The `apns-id` header.
    pub apns_id: Option<String>,
    /// The body (empty on success).
    pub body: Vec<u8>,
}

/// One request.
pub(crate) struct Outgoing {
    /// `<base>/3/device/<token>`.
    pub url: Url,
    /// APNs headers.
    pub headers: Vec<(&'static str, String)>,
    /// The provider token, for token auth.
    pub bearer: Option<ProviderToken>,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl Connection {
    fn new(client: reqwest::Client, proven: bool) -> Self {
        Self {
            client,
            proven: AtomicBool::new(proven),
            broken: AtomicBool::new(false),
            first: tokio::sync::Mutex::new(()),
        }
    }

    /// Sends one request and classifies the answer (or the failure to get one). On a
    /// token connection that has not proven its token yet, requests go one at a time; if
    /// such a first request gets no answer at all, the requests queued behind it fail at
    /// once (the pool is being replaced) instead of each waiting out its own timeout.
    pub(crate) async fn exchange(&self, outgoing: Outgoing, cert_auth: bool) -> Classified {
        if !self.proven.load(Ordering::Acquire) {
            let _only_one = self.first.lock().await;
            if self.broken.load(Ordering::Acquire) {
                return Classified {
                    outcome: Outcome::Retry {
                        after: None,
                        reason: "the new APNs connection failed before its first answer"
                            .to_string(),
                    },
                    reconnect: true,
                    health: HealthEffect::Unchanged,
                };
            }
            if !self.proven.load(Ordering::Acquire) {
                let answer = self.post(outgoing).await;
                match &answer {
                    Ok(r) if r.status != 403 => self.proven.store(true, Ordering::Release),
                    Ok(_) => {}
                    Err(_) => self.broken.store(true, Ordering::Release),
                }
                return classify(answer, cert_auth);
            }
        }
        classify(self.post(outgoing).await, cert_auth)
    }

    async fn post(&self, outgoing: Outgoing) -> Result<RawResponse, reqwest::Error> {
        let mut request = self.client.post(outgoing.url).body(outgoing.body);
        for (name, value) in outgoing.headers {
            request = request.header(name, value);
        }
        if let Some(token) = &outgoing.bearer {
            let mut value =
                reqwest::header::HeaderValue::try_from(format!("bearer {}", token.expose()))
                    .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("bearer"));
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let response = request.send().await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let status = response.status().as_u16();
        let retry_after = header("retry-after");
        let apns_id = header("apns-id");
        let body = response.bytes().await?.to_vec();
        Ok(RawResponse {
            status,
            retry_after,
            apns_id,
            body,
        })
    }
}

/// Classifies an answer, or the failure to get one.
fn classify(answer: Result<RawResponse, reqwest::Error>, cert_auth: bool) -> Classified {
    match answer {
        Ok(raw) => {
            let after = raw
                .retry_after
                .as_deref()
                .and_then(|v| error::parse_retry_after(v, OffsetDateTime::now_utc()));
            let mut classified = error::classify_response(raw.status, after, &raw.body);
            if let Outcome::Accepted { vendor_message_id } = &mut classified.outcome {
                *vendor_message_id = raw.apns_id;
            }
            classified
        }
        Err(e) if e.is_builder() => Classified {
            outcome: Outcome::Rejected {
                reason: format!("the APNs request could not be built: {}", e.without_url()),
            },
            reconnect: false,
            health: HealthEffect::Unchanged,
        },
        Err(e) => {
            let timed_out = e.is_timeout();
            error::classify_transport(&error_chain(e.without_url()), timed_out, cert_auth)
        }
    }
}

/// The error and its sources as one line (the caller removes the URL first).
fn error_chain(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// Connections of one (environment, credential), used round-robin.
pub(crate) struct Pool {
    connections: Vec<Arc<Connection>>,
    next: AtomicUsize,
}

impl Pool {
    /// The next connection to use.
    pub(crate) fn pick(&self) -> Option<Arc<Connection>> {
        let n = self.connections.len();
        if n == 0 {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
        self.connections.get(i).cloned()
    }
}

/// Every pool, by key.
pub(crate) struct Pools {
    size: usize,
    map: Mutex<HashMap<PoolKey, Arc<Pool>>>,
}

impl Pools {
    /// No pools yet; each will hold `size` connections.
    pub(crate) fn new(size: usize) -> Self {
        Self {
            size: size.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Arc<Pool>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pool of `key`, made with `make` (one call per connection) when there is none.
    /// `make` runs outside the lock; if two callers race, the first pool stored wins.
    pub(crate) fn get_or_make<E>(
        &self,
        key: &PoolKey,
        mut make: impl FnMut() -> Result<reqwest::Client, E>,
    ) -> Result<Arc<Pool>, E> {
        if let Some(pool) = self.lock().get(key) {
            return Ok(Arc::clone(pool));
        }
        let proven = matches!(key.auth, AuthKey::Certificate(_));
        let connections = (0..self.size)
            .map(|_| make().map(|c| Arc::new(Connection::new(c, proven))))
            .collect::<Result<Vec<_>, E>>()?;
        let fresh = Arc::new(Pool {
            connections,
            next: AtomicUsize::new(0),
        });
        Ok(Arc::clone(self.lock().entry(key.clone()).or_insert(fresh)))
    }

    /// Drops the pool of `key` if it is still `pool` (a newer one stays).
    pub(crate) fn drop_if_current(&self, key: &PoolKey, pool: &Arc<Pool>) {
        let mut map = self.lock();
        if map.get(key).is_some_and(|p| Arc::ptr_eq(p, pool)) {
            map.remove(key);
        }
    }

    /// Drops the pools of an authentication in every environment; how many were dropped.
    pub(crate) fn drop_auth(&self, auth: &AuthKey) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|k, _| &k.auth != auth);
        before - map.len()
    }

    /// How many pools exist.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// `<base>/3/device/<token>`; `base` ends with `/` (the builder ensures it).
pub(crate) fn device_url(base: &Url, device_token: &str) -> Result<Url, url::ParseError> {
    base.join(&format!("3/device/{device_token}"))
}

/// A device token as APNs wants it: lowercase hex, without the spaces and `<>` of old
/// `description` output. `None` if it is not hex.
pub(crate) fn normalize_token(token: &str) -> Option<String> {
    let hex: String = token
        .chars()
        .filter(|c| !matches!(c, ' ' | '<' | '>'))
        .collect();
    (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_normalised_or_refused() {
        assert_eq!(normalize_token("<AB12 cd34>").as_deref(), Some("ab12cd34"));
        assert_eq!(normalize_token("../x"), None);
        assert_eq!(normalize_token(""), None);
        assert_eq!(normalize_token("abc?d=1"), None);
    }

    #[test]
    fn device_urls_keep_a_base_path() {
        let base = Url::parse("https://127.0.0.1:8443/apns/").unwrap();
        assert_eq!(
            device_url(&base, "ab").unwrap().as_str(),
            "https://127.0.0.1:8443/apns/3/device/ab"
        );
        let apple = Url::parse("https://api.push.apple.com").unwrap();
        assert_eq!(
            device_url(&apple, "ab").unwrap().as_str(),
            "https://api.push.apple.com/3/device/ab"
        );
    }

    fn factory() -> ClientFactory {
        ClientFactory {
            roots: vec![],
            trust_system_roots: true,
            request_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn pools_are_made_once_and_dropped_by_auth() {
        let pools = Pools::new(2);
        let f = factory();
        let cert = PoolKey {
            environment: ApnsEnvironment::Production,
            auth: AuthKey::Certificate(Uuid::nil()),
        };
        let sandbox = PoolKey {
            environment: ApnsEnvironment::Sandbox,
            ..cert.clone()
        };
        let mut made = 0;
        let a = pools
            .get_or_make(&cert, || {
                made += 1;
                f.client(None)
            })
            .unwrap();
        let b = pools
            .get_or_make(&cert, || {
                made += 1;
                f.client(None)
            })
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(made, 2, "one client per connection, made once");
        pools.get_or_make(&sandbox, || f.client(None)).unwrap();
        assert_eq!(pools.len(), 2);
        assert_eq!(pools.drop_auth(&cert.auth), 2, "both environments");
        assert_eq!(pools.len(), 0);
    }

    #[test]
    fn a_stale_pool_does_not_drop_its_successor() {
        let pools = Pools::new(1);
        let f = factory();
        let key = PoolKey {
            environment: ApnsEnvironment::Production,
            auth: AuthKey::Certificate(Uuid::nil()),
        };
        let old = pools.get_or_make(&key, || f.client(None)).unwrap();
        pools.drop_if_current(&key, &old);
        let new = pools.get_or_make(&key, || f.client(None)).unwrap();
        pools.drop_if_current(&key, &old);
        assert_eq!(pools.len(), 1);
        assert!(!Arc::ptr_eq(&old, &new));
        assert_eq!(new.connections.len(), 1);
        assert!(new.pick().is_some());
    }
}
