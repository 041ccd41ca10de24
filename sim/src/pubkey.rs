//! Public verification keys from what tests register: a public PEM, or a private PEM (APNs
//! `.p8`, a service account's `private_key`) of which only the public half is kept.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair};
use jsonwebtoken::DecodingKey;

use crate::control::types::ControlError;

/// A P-256 verification key from a `PUBLIC KEY` or a PKCS#8 `PRIVATE KEY` PEM.
pub(crate) fn ec_key(pem_text: &str) -> Result<DecodingKey, ControlError> {
    let block = parse(pem_text)?;
    match block.tag() {
        "PUBLIC KEY" => DecodingKey::from_ec_pem(pem_text.as_bytes())
            .map_err(|e| ControlError::new(format!("not an EC public key: {e}"))),
        "PRIVATE KEY" => {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, block.contents())
                .map_err(|e| ControlError::new(format!("not a PKCS#8 P-256 key: {e}")))?;
            Ok(DecodingKey::from_ec_der(pair.public_key().as_ref()))
        }
        other => Err(ControlError::new(format!(
            "expected a PUBLIC KEY or PRIVATE KEY PEM, got {other}"
        ))),
    }
}

/// An RSA verification key from a `PUBLIC KEY`, `RSA PUBLIC KEY`, PKCS#8 `PRIVATE KEY` or
/// PKCS#1 `RSA PRIVATE KEY` PEM.
pub(crate) fn rsa_key(pem_text: &str) -> Result<DecodingKey, ControlError> {
    let block = parse(pem_text)?;
    let pair = match block.tag() {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {
            return DecodingKey::from_rsa_pem(pem_text.as_bytes())
                .map_err(|e| ControlError::new(format!("not an RSA public key: {e}")));
        }
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(block.contents()),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(block.contents()),
        other => {
            return Err(ControlError::new(format!(
                "expected an RSA key PEM, got {other}"
            )));
        }
    }
    .map_err(|e| ControlError::new(format!("not an RSA private key: {e}")))?;
    Ok(DecodingKey::from_rsa_der(pair.public_key().as_ref()))
}

fn parse(pem_text: &str) -> Result<pem::Pem, ControlError> {
    pem::parse(pem_text.trim()).map_err(|e| ControlError::new(format!("bad PEM: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};

    const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../certs");

    fn roundtrip(alg: Algorithm, enc: EncodingKey, dec: DecodingKey) -> bool {
        let token = jsonwebtoken::encode(&Header::new(alg), &serde_json::json!({"iss": "x"}), &enc)
            .unwrap();
        let mut v = Validation::new(alg);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        jsonwebtoken::decode::<serde_json::Value>(&token, &dec, &v).is_ok()
    }

    #[test]
    fn p8_private_key_yields_its_public_half() {
        let p8 = std::fs::read_to_string(format!("{CERTS}/apns-authkey.p8")).unwrap();
        let enc = EncodingKey::from_ec_pem(p8.as_bytes()).unwrap();
        assert!(roundtrip(Algorithm::ES256, enc, ec_key(&p8).unwrap()));
    }

    #[test]
    fn service_account_private_key_yields_its_public_half() {
        let sa: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{CERTS}/fcm-service-account.json")).unwrap(),
        )
        .unwrap();
        let key = sa["private_key"].as_str().unwrap();
        let enc = EncodingKey::from_rsa_pem(key.as_bytes()).unwrap();
        assert!(roundtrip(Algorithm::RS256, enc, rsa_key(key).unwrap()));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(ec_key("nope").is_err());
        assert!(rsa_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
    }
}
