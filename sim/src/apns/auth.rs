//! Token-based APNs authentication (apns.md §4.1): ES256 provider JWT verification, the
//! one-hour `iat` limit on the sim clock, the 20-minute token-update rule and the connection
//! binding rules.

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, Validation};

use super::keys::{KeyRegistry, SigningKey};
use super::reason::Reason;
use crate::control::types::ApnsEnvironment;
use crate::record::lock;

/// A provider token older than this is expired.
pub(crate) const TOKEN_LIFETIME_SECS: i64 = 3600;
/// A connection may switch to a new provider token only this long after the previous switch.
pub(crate) const MIN_UPDATE_INTERVAL_SECS: i64 = 20 * 60;
/// An `iat` further than this in the future is rejected as invalid (catches millisecond `iat`).
const MAX_FUTURE_IAT_SECS: i64 = 3600;

/// The provider-token state of one connection.
#[derive(Debug, Default)]
pub(crate) struct TokenConnection {
    bound: Option<Arc<SigningKey>>,
    current: Option<String>,
    changed_at_secs: i64,
    /// The last token whose signature checked out, with its key and `iat`: a provider sends
    /// the same token for up to an hour, and verifying an ES256 signature per request was a
    /// quarter of the sim's CPU. Only the signature and claims parsing are skipped; the key
    /// must still be registered and the `iat` is checked against the clock each time.
    verified: Option<Verified>,
}

/// A provider token whose signature, `alg`, `kid` and `iss` were verified.
#[derive(Debug)]
struct Verified {
    jwt: String,
    key: Arc<SigningKey>,
    iat: i64,
}

/// Checks the `authorization` header of a request on a token-authenticated connection and
/// returns the key that signed it.
pub(crate) fn authenticate(
    keys: &KeyRegistry,
    conn: &Mutex<TokenConnection>,
    env: ApnsEnvironment,
    authorization: Option<&str>,
    now_secs: i64,
) -> Result<Arc<SigningKey>, Reason> {
    let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
        return Err(Reason::MissingProviderToken);
    };
    let jwt = bearer(value).ok_or(Reason::InvalidProviderToken)?;
    let key = verify_cached(keys, conn, jwt, now_secs)?;
    if !key.environments.contains(&env) {
        return Err(Reason::BadEnvironmentKeyIdInToken);
    }
    let mut c = lock(conn);
    if let Some(bound) = &c.bound
        && !bound.may_share_connection_with(&key)
    {
        return Err(Reason::UnrelatedKeyIdInToken);
    }
    if c.current.as_deref() != Some(jwt) {
        if c.current.is_some() && now_secs - c.changed_at_secs < MIN_UPDATE_INTERVAL_SECS {
            return Err(Reason::TooManyProviderTokenUpdates);
        }
        c.current = Some(jwt.to_string());
        c.changed_at_secs = now_secs;
    }
    if c.bound.is_none() {
        c.bound = Some(key.clone());
    }
    Ok(key)
}

fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    let jwt = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !jwt.is_empty()).then_some(jwt)
}

/// [`verify_jwt`], remembering the last token that verified on this connection: the same
/// token again is answered from the memory while its key is still the registered one.
fn verify_cached(
    keys: &KeyRegistry,
    conn: &Mutex<TokenConnection>,
    jwt: &str,
    now_secs: i64,
) -> Result<Arc<SigningKey>, Reason> {
    let remembered = lock(conn)
        .verified
        .as_ref()
        .filter(|v| v.jwt == jwt)
        .map(|v| (v.key.clone(), v.iat));
    if let Some((key, iat)) = remembered
        && keys
            .key(&key.key_id)
            .is_some_and(|current| Arc::ptr_eq(&current, &key))
    {
        check_iat(iat, now_secs)?;
        return Ok(key);
    }
    let (key, iat) = verify_jwt(keys, jwt, now_secs)?;
    lock(conn).verified = Some(Verified {
        jwt: jwt.to_string(),
        key: key.clone(),
        iat,
    });
    Ok(key)
}

/// Verifies signature, `alg`, `kid`, `iss` and `iat` of a provider JWT; answers the key
/// that signed it and the `iat`.
fn verify_jwt(
    keys: &KeyRegistry,
    jwt: &str,
    now_secs: i64,
) -> Result<(Arc<SigningKey>, i64), Reason> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| Reason::InvalidProviderToken)?;
    if header.alg != Algorithm::ES256 {
        return Err(Reason::InvalidProviderToken);
    }
    let kid = header.kid.ok_or(Reason::InvalidProviderToken)?;
    let key = keys.key(&kid).ok_or(Reason::InvalidProviderToken)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<serde_json::Value>(jwt, &key.decoding, &validation)
        .map_err(|_| Reason::InvalidProviderToken)?
        .claims;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(key.team_id.as_str()) {
        return Err(Reason::InvalidProviderToken);
    }
    let iat = claims
        .get("iat")
        .and_then(|v| v.as_i64())
        .ok_or(Reason::InvalidProviderToken)?;
    check_iat(iat, now_secs)?;
    Ok((key, iat))
}

/// A token's `iat` against the clock: not far in the future, not older than an hour.
fn check_iat(iat: i64, now_secs: i64) -> Result<(), Reason> {
    if iat > now_secs + MAX_FUTURE_IAT_SECS {
        return Err(Reason::InvalidProviderToken);
    }
    if now_secs - iat > TOKEN_LIFETIME_SECS {
        return Err(Reason::ExpiredProviderToken);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::control::types::ApnsKeySpec;
    use jsonwebtoken::{EncodingKey, Header};

    const P8: &str = include_str!("../../../certs/apns-authkey.p8");

    fn registry() -> KeyRegistry {
        let keys = KeyRegistry::default();
        register_dev_key(&keys);
        keys
    }

    /// Registers the dev key ABC123DEFG of team TEAM123456 for the sandbox.
    fn register_dev_key(keys: &KeyRegistry) {
        keys.add_key(&ApnsKeySpec {
            key_id: "ABC123DEFG".into(),
            team_id: "TEAM123456".into(),
            private_key_pem: Some(P8.into()),
            environments: vec![ApnsEnvironment::Sandbox],
            ..Default::default()
        })
        .unwrap();
    }

    fn jwt(kid: &str, iss: &str, iat: i64) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        let key = EncodingKey::from_ec_pem(P8.as_bytes()).unwrap();
        let t =
            jsonwebtoken::encode(&h, &serde_json::json!({"iss": iss, "iat": iat}), &key).unwrap();
        format!("bearer {t}")
    }

    #[test]
    fn rules_in_order() {
        let keys = registry();
        let conn = Mutex::new(TokenConnection::default());
        let sandbox = ApnsEnvironment::Sandbox;
        let now = 1_800_000_000;
        let auth = |h: &str, env, now| authenticate(&keys, &conn, env, Some(h), now).map(|_| ());
        assert_eq!(
            auth("bearer x.y.z", sandbox, now),
            Err(Reason::InvalidProviderToken)
        );
        assert_eq!(
            auth(&jwt("NOPE", "TEAM123456", now), sandbox, now),
            Err(Reason::InvalidProviderToken)
        );
        assert_eq!(
            auth(&jwt("ABC123DEFG", "OTHER", now), sandbox, now),
            Err(Reason::InvalidProviderToken)
        );
        assert_eq!(
            auth(&jwt("ABC123DEFG", "TEAM123456", now - 3601), sandbox, now),
            Err(Reason::ExpiredProviderToken)
        );
        assert_eq!(
            auth(&jwt("ABC123DEFG", "TEAM123456", now * 1000), sandbox, now),
            Err(Reason::InvalidProviderToken)
        );
        let first = jwt("ABC123DEFG", "TEAM123456", now);
        assert_eq!(
            auth(&first, ApnsEnvironment::Production, now),
            Err(Reason::BadEnvironmentKeyIdInToken)
        );
        assert_eq!(auth(&first, sandbox, now), Ok(()));
        assert_eq!(auth(&first, sandbox, now + 60), Ok(()));
        let second = jwt("ABC123DEFG", "TEAM123456", now + 1);
        assert_eq!(
            auth(&second, sandbox, now + 60),
            Err(Reason::TooManyProviderTokenUpdates)
        );
        assert_eq!(auth(&second, sandbox, now + 1201), Ok(()));
        assert_eq!(
            authenticate(&keys, &conn, sandbox, None, now).map(|_| ()),
            Err(Reason::MissingProviderToken)
        );
    }

    #[test]
    fn a_remembered_token_still_expires_and_dies_with_its_key() {
        let keys = registry();
        let conn = Mutex::new(TokenConnection::default());
        let sandbox = ApnsEnvironment::Sandbox;
        let now = 1_800_000_000;
        let token = jwt("ABC123DEFG", "TEAM123456", now);
        let auth = |now| authenticate(&keys, &conn, sandbox, Some(&token), now).map(|_| ());
        assert_eq!(auth(now), Ok(()));
        assert!(lock(&conn).verified.is_some(), "the verified token is kept");
        assert_eq!(auth(now + 3600), Ok(()));
        assert_eq!(auth(now + 3601), Err(Reason::ExpiredProviderToken));
        // Revoked: the remembered verification is not trusted any more.
        assert!(keys.remove_key("ABC123DEFG"));
        assert_eq!(auth(now + 10), Err(Reason::InvalidProviderToken));
        // Registered again (a new key object): verified anew, and fine.
        register_dev_key(&keys);
        assert_eq!(auth(now + 10), Ok(()));
        // A token with a broken signature is never taken for the remembered one.
        let forged = format!("{}x", token.trim_end_matches('='));
        assert_eq!(
            authenticate(&keys, &conn, sandbox, Some(&forged), now + 10).map(|_| ()),
            Err(Reason::InvalidProviderToken)
        );
    }
}
