//! Client tokens: JWTs signed with the app's client key (HS256 secret, or the private half
//! of an RS256 / ES256 key pair whose public key the app registered). Claims: `app`, `sub`
//! (the user), `dev` (the device), `exp` (required), `nbf` and `iat` (optional).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use push_core::Secret;
use push_core::ids::check_external_id;
use serde::{Deserialize, Serialize};

/// Smallest accepted HS256 secret, in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Clock skew tolerated on `exp` / `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;

/// The signature algorithms an app may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientAlg {
    /// HMAC-SHA256 with a shared secret.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256; the app registers its RSA public key.
    RS256,
    /// ECDSA P-256 with SHA-256; the app registers its EC public key.
    ES256,
}

impl ClientAlg {
    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAlg::HS256 => "HS256",
            ClientAlg::RS256 => "RS256",
            ClientAlg::ES256 => "ES256",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "HS256" => Some(ClientAlg::HS256),
            "RS256" => Some(ClientAlg::RS256),
            "ES256" => Some(ClientAlg::ES256),
            _ => None,
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            ClientAlg::HS256 => Algorithm::HS256,
            ClientAlg::RS256 => Algorithm::RS256,
            ClientAlg::ES256 => Algorithm::ES256,
        }
    }
}

/// Key material of a client key: what verifies tokens. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    /// The shared HS256 secret.
    Hs256(Secret),
    /// A PEM public key for RS256 / ES256.
    PublicPem(ClientAlg, String),
}

/// A parsed, ready-to-use verifying key.
#[derive(Clone)]
pub struct Verifier {
    alg: ClientAlg,
    key: DecodingKey,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier({})", self.alg.as_str())
    }
}

/// Who a valid token names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The app id.
    pub app: String,
    /// The user id.
    pub sub: String,
    /// The device id (as registered for pushes).
    pub dev: String,
    /// Expiry, unix seconds.
    pub exp: u64,
}

/// Why a token was refused. Messages never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, or claims missing or malformed.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Bad signature, wrong algorithm, expired or not yet valid.
    #[error("token refused: {0}")]
    Refused(String),
}

/// Why key material was refused on upload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl Verifier {
    /// Parses key material; errors say what is wrong without repeating the key.
    pub fn new(material: &KeyMaterial) -> Result<Self, KeyError> {
        match material {
            KeyMaterial::Hs256(secret) => {
                if secret.expose().len() < MIN_HS256_SECRET_BYTES {
                    return Err(KeyError(format!(
                        "an HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes"
                    )));
                }
                Ok(Self {
                    alg: ClientAlg::HS256,
                    key: DecodingKey::from_secret(secret.expose().as_bytes()),
                })
            }
            KeyMaterial::PublicPem(alg, pem) => {
                if pem.contains("PRIVATE KEY") {
                    return Err(KeyError(
                        "give the public key, never the private key".into(),
                    ));
                }
                let key = match alg {
                    ClientAlg::RS256 => DecodingKey::from_rsa_pem(pem.as_bytes()),
                    ClientAlg::ES256 => DecodingKey::from_ec_pem(pem.as_bytes()),
                    ClientAlg::HS256 => {
                        return Err(KeyError("HS256 takes a secret, not a PEM key".into()));
                    }
                }
                .map_err(|_| {
                    KeyError(format!(
                        "public_key_pem is not a PEM {} public key",
                        alg.as_str()
                    ))
                })?;
                Ok(Self { alg: *alg, key })
            }
        }
    }

    /// The algorithm.
    pub fn alg(&self) -> ClientAlg {
        self.alg
    }

    /// Verifies `token` fully (signature, algorithm, expiry) and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(self.alg.algorithm());
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // The app's key already says whom a token is for; an `aud` claim (identity providers
        // add one) carries nothing pushgate checks, so it must not refuse the token.
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            TokenError::Refused(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "expired",
                    ErrorKind::ImmatureSignature => "not valid yet",
                    ErrorKind::InvalidSignature => "bad signature",
                    ErrorKind::InvalidAlgorithm => "wrong algorithm for this app",
                    ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
                        "claims app, sub, dev and exp are required"
                    }
                    _ => "invalid token",
                }
                .to_string(),
            )
        })?;
        check_claims(&data.claims)?;
        Ok(data.claims)
    }
}

/// The `app` claim of a token, read WITHOUT verification, only to find the key that
/// verifies it. Nothing else may rely on it.
pub fn unverified_app(token: &str) -> Result<String, TokenError> {
    #[derive(Deserialize)]
    struct AppOnly {
        app: String,
    }
    let claims: AppOnly = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|_| TokenError::Malformed("not a JWT with an app claim"))?;
    check_external_id(&claims.app).map_err(|_| TokenError::Malformed("bad app claim"))?;
    Ok(claims.app)
}

fn check_claims(claims: &Claims) -> Result<(), TokenError> {
    for value in [&claims.app, &claims.sub, &claims.dev] {
        if check_external_id(value).is_err() {
            return Err(TokenError::Refused(
                "app, sub and dev must be 1-128 of letters, digits, - _ . : @".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn claims(exp_offset: i64) -> Claims {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        Claims {
            app: "chat".into(),
            sub: "alice".into(),
            dev: "phone".into(),
            exp: (now + exp_offset) as u64,
        }
    }

    fn hs(secret: &str, c: &Claims) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            c,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn hs_verifier() -> Verifier {
        Verifier::new(&KeyMaterial::Hs256(Secret::new(SECRET))).unwrap()
    }

    #[test]
    fn a_good_hs256_token_names_user_and_device() {
        let token = hs(SECRET, &claims(600));
        assert_eq!(unverified_app(&token).unwrap(), "chat");
        let c = hs_verifier().verify(&token).unwrap();
        assert_eq!((c.sub.as_str(), c.dev.as_str()), ("alice", "phone"));
    }

    #[test]
    fn an_audience_claim_does_not_refuse_a_token() {
        #[derive(Serialize)]
        struct WithAud {
            app: &'static str,
            sub: &'static str,
            dev: &'static str,
            exp: u64,
            aud: &'static str,
        }
        let exp = jsonwebtoken::get_current_timestamp() + 600;
        let token = encode(
            &Header::new(Algorithm::HS256),
            &WithAud {
                app: "chat",
                sub: "alice",
                dev: "phone",
                exp,
                aud: "https://im.example.com",
            },
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        let c = hs_verifier().verify(&token).unwrap();
        assert_eq!(c.dev, "phone");
    }

    #[test]
    fn expired_and_foreign_tokens_are_refused() {
        let v = hs_verifier();
        assert_eq!(
            v.verify(&hs(SECRET, &claims(-600))),
            Err(TokenError::Refused("expired".into()))
        );
        let foreign = hs("another-secret-another-secret-xx", &claims(600));
        assert_eq!(
            v.verify(&foreign),
            Err(TokenError::Refused("bad signature".into()))
        );
        assert!(v.verify("not.a.jwt").is_err());
        assert!(unverified_app("garbage").is_err());
    }

    #[test]
    fn missing_device_claim_is_refused() {
        #[derive(Serialize)]
        struct NoDev {
            app: &'static str,
            sub: &'static str,
            exp: u64,
        }
        let token = encode(
            &Header::new(Algorithm::HS256),
            &NoDev {
                app: "chat",
                sub: "alice",
                exp: jsonwebtoken::get_current_timestamp() + 60,
            },
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(matches!(
            hs_verifier().verify(&token),
            Err(TokenError::Refused(_))
        ));
    }

    #[test]
    fn short_secrets_and_private_keys_are_refused_without_echo() {
        let short = Verifier::new(&KeyMaterial::Hs256(Secret::new("short-secret")));
        let err = short.unwrap_err().0;
        assert!(!err.contains("short-secret"));
        let private = Verifier::new(&KeyMaterial::PublicPem(
            ClientAlg::ES256,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
        ));
        assert!(private.is_err());
        let junk = Verifier::new(&KeyMaterial::PublicPem(ClientAlg::RS256, "junk".into()));
        assert!(junk.is_err());
    }

    #[test]
    fn an_hs256_token_is_refused_by_an_es256_app() {
        // The algorithm is fixed by the app's key, never taken from the token header.
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\nq9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n-----END PUBLIC KEY-----\n";
        let v = Verifier::new(&KeyMaterial::PublicPem(ClientAlg::ES256, pem.into())).unwrap();
        let token = hs(pem, &claims(600));
        assert!(v.verify(&token).is_err());
    }
}
