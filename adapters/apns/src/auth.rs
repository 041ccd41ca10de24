//! Authentication material: ES256 provider tokens (JWT) for `.p8` keys, through the shared
//! [`TokenCache`], and TLS client identities from `.p12` files, plus the offline checks of
//! both (`verify_credential`).
//!
//! Provider tokens: header `{alg: ES256, kid}`, claims `{iss: team, iat: seconds}`, signed
//! once per key and reused by every request of that key on every connection. A token is
//! renewed 50 minutes after it was signed (APNs refuses tokens older than 60 and punishes
//! renewals more often than every 20); `invalidate` after `ExpiredProviderToken` refuses to
//! drop a token younger than 20 minutes, so no code path can mint faster than APNs allows.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use push_core::CredentialSecret;
use push_core::Secret;
use push_core::adapter::{CheckError, CredentialFacts};
use push_core::token_cache::{Fetched, SharedTokens, TokenCache};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

/// How long APNs accepts a provider token after its `iat`.
const TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// Renew this long before the hour is up (→ at 50 minutes).
const TOKEN_RENEW_MARGIN: Duration = Duration::from_secs(10 * 60);
/// Never replace a token younger than this (APNs' `TooManyProviderTokenUpdates` rule).
pub(crate) const TOKEN_MIN_LIFETIME: Duration = Duration::from_secs(20 * 60);
/// Apple's topic extension of push certificates.
const APNS_TOPICS_OID: &str = "1.2.840.113635.100.6.3.6";
/// The subject's UID attribute, which holds the bundle id.
const UID_OID: &str = "0.9.2342.19200300.100.1.1";

/// A signed provider token. Its `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct ProviderToken(Arc<str>);

impl ProviderToken {
    /// The JWT, for the `authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProviderToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProviderToken([redacted])")
    }
}

/// Which provider token: a team's signing key, told apart by a digest of the key itself
/// (two uploads of the same `.p8` share a token; a different key under the same key id
/// does not).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    /// The Team ID (`iss`).
    pub team_id: String,
    /// The Key ID (`kid`).
    pub key_id: String,
    /// SHA-256 of the key's PKCS#8 DER.
    pub key_digest: [u8; 32],
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKey({}/{})", self.team_id, self.key_id)
    }
}

/// A parsed `.p8` credential.
pub(crate) struct P8Key {
    /// Its identity.
    pub token_key: TokenKey,
    /// The PEM, for signing.
    pub pem: Secret,
}

/// Parses a `.p8` credential: 10-character ids and a P-256 PKCS#8 key. `Err` says what is
/// wrong without any secret.
pub(crate) fn parse_p8(key_id: &str, team_id: &str, private_key: &Secret) -> Result<P8Key, String> {
    check_id(key_id, "key_id")?;
    check_id(team_id, "team_id")?;
    let parsed = pem::parse(private_key.expose())
        .map_err(|_| "the .p8 key is not a PEM file".to_string())?;
    if parsed.tag() != "PRIVATE KEY" {
        return Err(format!(
            "the .p8 key must be a PKCS#8 \"PRIVATE KEY\" PEM, not \"{}\"",
            parsed.tag()
        ));
    }
    aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        parsed.contents(),
    )
    .map_err(|_| "the .p8 key is not a P-256 (ES256) private key".to_string())?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, parsed.contents());
    let mut key_digest = [0u8; 32];
    key_digest.copy_from_slice(digest.as_ref());
    Ok(P8Key {
        token_key: TokenKey {
            team_id: team_id.to_string(),
            key_id: key_id.to_string(),
            key_digest,
        },
        pem: private_key.clone(),
    })
}

fn check_id(value: &str, field: &str) -> Result<(), String> {
    if value.len() == 10 && value.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(format!(
            "{field} must be the 10-character id Apple shows (letters and digits)"
        ))
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
}

/// Signs a provider token issued at `iat` (Unix seconds).
pub(crate) fn sign(key: &P8Key, iat: i64) -> Result<String, String> {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = None;
    header.kid = Some(key.token_key.key_id.clone());
    let encoding = EncodingKey::from_ec_pem(key.pem.expose().as_bytes())
        .map_err(|e| format!("the .p8 key cannot sign: {:?}", e.kind()))?;
    let claims = Claims {
        iss: &key.token_key.team_id,
        iat,
    };
    jsonwebtoken::encode(&header, &claims, &encoding)
        .map_err(|e| format!("signing the provider token failed: {:?}", e.kind()))
}

/// The wall clock in Unix seconds; replaceable in tests.
pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub(crate) fn system_clock() -> Clock {
    Arc::new(|| OffsetDateTime::now_utc().unix_timestamp())
}

/// Provider tokens of every key, cached and renewed by the rules above.
pub(crate) struct ProviderTokens {
    cache: TokenCache<TokenKey, ProviderToken>,
    clock: Clock,
}

impl ProviderTokens {
    /// An empty cache signing with `clock` as `iat`.
    pub(crate) fn new(clock: Clock) -> Self {
        Self {
            cache: TokenCache::new(TOKEN_RENEW_MARGIN).with_min_lifetime(TOKEN_MIN_LIFETIME),
            clock,
        }
    }

    /// Keeps provider tokens in `source`, shared by every instance: one JWT per key for the
    /// whole fleet, so N instances never trip `TooManyProviderTokenUpdates`.
    pub(crate) fn shared(self, source: Option<Arc<dyn SharedTokens>>) -> Self {
        Self {
            cache: TokenCache::new(TOKEN_RENEW_MARGIN)
                .with_min_lifetime(TOKEN_MIN_LIFETIME)
                .shared(
                    source,
                    |k: &TokenKey| {
                        let digest: String = k.key_digest[..8]
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect();
                        format!("apns/{}/{}/{digest}", k.team_id, k.key_id)
                    },
                    |t: &ProviderToken| Secret::new(t.expose()),
                    |s: &Secret| Some(ProviderToken(Arc::from(s.expose()))),
                ),
            clock: self.clock,
        }
    }

    /// The current token of `key`, signing one when there is none or it is 50 minutes old.
    pub(crate) async fn get(&self, key: &P8Key) -> Result<ProviderToken, String> {
        self.cache
            .get(&key.token_key, || async {
                let jwt = sign(key, (self.clock)())?;
                tracing::debug!(team_id = %key.token_key.team_id, key_id = %key.token_key.key_id,
                    "signed a new APNs provider token");
                Ok(Fetched {
                    value: ProviderToken(jwt.into()),
                    expires_in: TOKEN_LIFETIME,
                })
            })
            .await
    }

    /// Drops the token of `key` if it is at least 20 minutes old; true if dropped.
    pub(crate) fn invalidate(&self, key: &TokenKey) -> bool {
        self.cache.invalidate(key)
    }
}

/// A TLS client identity taken from a `.p12`.
pub(crate) struct P12Identity {
    /// Key and certificate chain as PEM, for `reqwest::Identity::from_pem`.
    pub pem: Secret,
    /// The leaf certificate, DER.
    pub leaf_der: Vec<u8>,
}

/// Opens a `.p12` (modern AES/PBKDF2 or legacy 3DES) with its password. `Err` says what is
/// wrong without any secret.
pub(crate) fn open_p12(pkcs12_base64: &Secret, password: &Secret) -> Result<P12Identity, String> {
    let compact: String = pkcs12_base64
        .expose()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "the .p12 is not valid base64".to_string())?;
    let store = KeyStore::from_pkcs12(&der, password.expose(), Pkcs12ImportPolicy::Strict)
        .map_err(|e| match e {
            p12_keystore::error::Error::MacError(_)
            | p12_keystore::error::Error::UnpadError
            | p12_keystore::error::Error::Pkcs5Error(_) => "the .p12 password is wrong".to_string(),
            other => format!("the .p12 file cannot be read ({other})"),
        })?;
    let chains: Vec<_> = store
        .entries()
        .filter_map(|(_, entry)| match entry {
            KeyStoreEntry::PrivateKeyChain(chain) => Some(chain),
            _ => None,
        })
        .collect();
    let chain = match chains.as_slice() {
        [one] => *one,
        [] => return Err("the .p12 holds no private key with its certificate".to_string()),
        many => {
            return Err(format!(
                "the .p12 holds {} identities; export exactly one",
                many.len()
            ));
        }
    };
    let Some(leaf) = chain.certs().first() else {
        return Err("the .p12 holds a key without its certificate".to_string());
    };
    let mut text = pem::encode(&pem::Pem::new("PRIVATE KEY", chain.key().as_der().to_vec()));
    for cert in chain.certs() {
        text.push_str(&pem::encode(&pem::Pem::new(
            "CERTIFICATE",
            cert.as_der().to_vec(),
        )));
    }
    Ok(P12Identity {
        pem: Secret::new(text),
        leaf_der: leaf.as_der().to_vec(),
    })
}

/// What a push certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateFacts {
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Its topics: the subject UID, then the topic extension's entries, without repeats.
    pub topics: Vec<String>,
}

/// Reads validity and topics of a push certificate.
pub(crate) fn certificate_facts(der: &[u8]) -> Result<CertificateFacts, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|_| "the .p12 certificate is not a valid X.509 certificate".to_string())?;
    let time = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t)
            .map_err(|_| "the certificate's validity dates are out of range".to_string())
    };
    let mut topics: Vec<String> = Vec::new();
    let mut add = |topic: &str| {
        if !topic.is_empty() && !topics.iter().any(|t| t == topic) {
            topics.push(topic.to_string());
        }
    };
    for attr in cert.subject().iter_attributes() {
        if attr.attr_type().to_id_string() == UID_OID
            && let Ok(uid) = attr.as_str()
        {
            add(uid);
        }
    }
    for ext in cert.extensions() {
        if ext.oid.to_id_string() == APNS_TOPICS_OID
            && let Ok((_, value)) = x509_parser::der_parser::parse_der(ext.value)
            && let Ok(items) = value.as_sequence()
        {
            // A flat sequence of (topic, sequence of kinds) pairs: the strings are topics.
            for item in items {
                if let Ok(topic) = item.as_str() {
                    add(topic);
                }
            }
        }
    }
    Ok(CertificateFacts {
        not_before: time(cert.validity().not_before.timestamp())?,
        not_after: time(cert.validity().not_after.timestamp())?,
        topics,
    })
}

/// What `verify_credential` answers for an app without APNs settings.
pub(crate) const NO_SETTINGS: &str =
    "the app has no APNs settings: set settings.apns.bundle_id first";

/// The offline check of `verify_credential`: `bundle_id` is the app's, if it has APNs
/// settings (a certificate must list it among its topics).
pub(crate) fn verify(
    bundle_id: Option<&str>,
    secret: &CredentialSecret,
    now: OffsetDateTime,
) -> Result<CredentialFacts, CheckError> {
    match secret {
        CredentialSecret::ApnsP8 {
            key_id,
            team_id,
            private_key,
        } => {
            let key: P8Key = parse_p8(key_id, team_id, private_key).map_err(CheckError::Invalid)?;
            sign(&key, now.unix_timestamp()).map_err(CheckError::Invalid)?;
            Ok(CredentialFacts::default())
        }
        CredentialSecret::ApnsP12 {
            pkcs12_base64,
            password,
        } => {
            let bundle_id =
                bundle_id.ok_or_else(|| CheckError::Invalid(NO_SETTINGS.to_string()))?;
            let identity = open_p12(pkcs12_base64, password).map_err(CheckError::Invalid)?;
            reqwest::Identity::from_pem(identity.pem.expose().as_bytes()).map_err(|_| {
                CheckError::Invalid(
                    "the .p12 key or certificate cannot be used for TLS".to_string(),
                )
            })?;
            let facts = certificate_facts(&identity.leaf_der).map_err(CheckError::Invalid)?;
            if now >= facts.not_after {
                return Err(CheckError::Invalid(format!(
                    "the certificate expired on {}",
                    facts.not_after.date()
                )));
            }
            if now < facts.not_before {
                return Err(CheckError::Invalid(format!(
                    "the certificate is not valid before {}",
                    facts.not_before.date()
                )));
            }
            if !facts.topics.iter().any(|t| t == bundle_id) {
                return Err(CheckError::Invalid(format!(
                    "the certificate's topics ({}) do not include the app's bundle id {}",
                    facts.topics.join(", "),
                    bundle_id
                )));
            }
            Ok(CredentialFacts {
                not_after: Some(facts.not_after),
                topics: facts.topics,
            })
        }
        other => Err(CheckError::Invalid(format!(
            "a {} credential cannot authenticate APNs; upload a .p8 key or a .p12 certificate",
            other.kind().as_str()
        ))),
    }
}

#[cfg(test)]
pub(crate) mod tests;
