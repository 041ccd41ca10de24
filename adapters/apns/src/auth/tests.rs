use super::*;
use jsonwebtoken::{DecodingKey, Validation};
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) fn cert_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../certs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub(crate) fn p8_pem() -> Secret {
    Secret::new(String::from_utf8(cert_file("apns-authkey.p8")).unwrap())
}

pub(crate) fn p12(name: &str) -> Secret {
    Secret::new(base64::engine::general_purpose::STANDARD.encode(cert_file(name)))
}

fn test_key() -> P8Key {
    parse_p8("ABC123DEFG", "TEAM123456", &p8_pem()).unwrap()
}

/// The public key of the test .p8, as jsonwebtoken wants it (x and y, base64url).
fn public_key() -> DecodingKey {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    let der = pem::parse(p8_pem().expose()).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.contents()).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    assert_eq!((point.len(), point[0]), (65, 4), "uncompressed P-256 point");
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    DecodingKey::from_ec_components(&b64(&point[1..33]), &b64(&point[33..])).unwrap()
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct SeenClaims {
    iss: String,
    iat: i64,
}

#[test]
fn a_provider_token_is_a_standard_es256_jws() {
    let jwt = sign(&test_key(), 1_767_225_600).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    for part in &parts {
        assert!(
            !part.contains('=') && !part.contains('+') && !part.contains('/'),
            "base64url: {part}"
        );
    }
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        serde_json::json!({"alg": "ES256", "kid": "ABC123DEFG"})
    );
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[2])
        .unwrap();
    assert_eq!(signature.len(), 64, "raw r||s, not DER");

    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<SeenClaims>(&jwt, &public_key(), &validation).unwrap();
    assert_eq!(
        data.claims,
        SeenClaims {
            iss: "TEAM123456".into(),
            iat: 1_767_225_600
        }
    );
    assert_eq!(data.header.kid.as_deref(), Some("ABC123DEFG"));
}

#[test]
fn p8_keys_and_ids_are_checked() {
    assert!(parse_p8("ABC123DEFG", "TEAM123456", &p8_pem()).is_ok());
    let err = |key: &str, team: &str, pem: Secret| parse_p8(key, team, &pem).err().unwrap();
    assert!(err("ABC123", "TEAM123456", p8_pem()).starts_with("key_id must be"));
    assert!(err("ABC123DEFG", "TEAM-12345", p8_pem()).starts_with("team_id must be"));
    assert_eq!(
        err("ABC123DEFG", "TEAM123456", Secret::new("nope")),
        "the .p8 key is not a PEM file"
    );
    let rsa = Secret::new(String::from_utf8(cert_file("apns-cert.key")).unwrap());
    assert_eq!(
        err("ABC123DEFG", "TEAM123456", rsa),
        "the .p8 key is not a P-256 (ES256) private key"
    );
    let cert = Secret::new(String::from_utf8(cert_file("dev-ca.pem")).unwrap());
    assert!(err("ABC123DEFG", "TEAM123456", cert).contains("\"CERTIFICATE\""));
}

#[test]
fn token_keys_tell_different_keys_apart() {
    let a = test_key();
    let again = test_key();
    assert_eq!(a.token_key, again.token_key);
    let other_pem = Secret::new(String::from_utf8(cert_file("sim.key")).unwrap());
    let b = parse_p8("ABC123DEFG", "TEAM123456", &other_pem).unwrap();
    assert_ne!(a.token_key, b.token_key, "same ids, different key");
    assert_eq!(
        format!("{:?}", a.token_key),
        "TokenKey(TEAM123456/ABC123DEFG)"
    );
}

/// A clock following tokio's (paused) time, counting how often it is read (= mints).
fn counting_clock(reads: Arc<AtomicUsize>) -> Clock {
    let start = tokio::time::Instant::now();
    Arc::new(move || {
        reads.fetch_add(1, Ordering::SeqCst);
        1_767_225_600 + i64::try_from(start.elapsed().as_secs()).unwrap()
    })
}

#[tokio::test(start_paused = true)]
async fn one_token_is_reused_for_fifty_minutes_then_renewed() {
    let mints = Arc::new(AtomicUsize::new(0));
    let tokens = ProviderTokens::new(counting_clock(Arc::clone(&mints)));
    let key = test_key();
    let first = tokens.get(&key).await.unwrap();
    for _ in 0..10 {
        assert_eq!(tokens.get(&key).await.unwrap().expose(), first.expose());
    }
    tokio::time::advance(Duration::from_secs(49 * 60 + 59)).await;
    assert_eq!(tokens.get(&key).await.unwrap().expose(), first.expose());
    assert_eq!(mints.load(Ordering::SeqCst), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    let second = tokens.get(&key).await.unwrap();
    assert_ne!(second.expose(), first.expose());
    assert_eq!(mints.load(Ordering::SeqCst), 2);
    let claims: SeenClaims = jsonwebtoken::dangerous::insecure_decode(second.expose())
        .unwrap()
        .claims;
    assert_eq!(claims.iat, 1_767_225_600 + 50 * 60 + 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_sends_share_one_signature() {
    let mints = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(ProviderTokens::new(counting_clock(Arc::clone(&mints))));
    let key = Arc::new(test_key());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (tokens, key) = (Arc::clone(&tokens), Arc::clone(&key));
        tasks.spawn(async move { tokens.get(&key).await.unwrap().expose().to_string() });
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(jwt) = tasks.join_next().await {
        seen.insert(jwt.unwrap());
    }
    assert_eq!(seen.len(), 1);
    assert_eq!(mints.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn invalidation_never_replaces_a_token_younger_than_twenty_minutes() {
    let mints = Arc::new(AtomicUsize::new(0));
    let tokens = ProviderTokens::new(counting_clock(Arc::clone(&mints)));
    let key = test_key();
    let first = tokens.get(&key).await.unwrap();
    tokio::time::advance(Duration::from_secs(19 * 60)).await;
    assert!(!tokens.invalidate(&key.token_key), "19 minutes: kept");
    assert_eq!(tokens.get(&key).await.unwrap().expose(), first.expose());
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(tokens.invalidate(&key.token_key), "20 minutes: dropped");
    assert_ne!(tokens.get(&key).await.unwrap().expose(), first.expose());
    assert_eq!(mints.load(Ordering::SeqCst), 2);
}

#[test]
fn tokens_do_not_show_in_debug() {
    let token = ProviderToken(sign(&test_key(), 0).unwrap().into());
    assert_eq!(format!("{token:?}"), "ProviderToken([redacted])");
}

#[test]
fn both_p12_encodings_open_to_the_same_identity() {
    let password = Secret::new("pushgate-test");
    let modern = open_p12(&p12("apns-cert.p12"), &password).unwrap();
    let legacy = open_p12(&p12("apns-cert-legacy.p12"), &password).unwrap();
    assert_eq!(modern.leaf_der, legacy.leaf_der);
    let pem_cert = pem::parse(cert_file("apns-cert.pem")).unwrap();
    assert_eq!(
        modern.leaf_der,
        pem_cert.contents(),
        "the leaf is the certificate of certs/"
    );
    assert!(
        modern
            .pem
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(modern.pem.expose().contains("-----BEGIN CERTIFICATE-----"));
    assert!(reqwest::Identity::from_pem(legacy.pem.expose().as_bytes()).is_ok());
}

#[test]
fn wrong_passwords_and_garbage_are_told_apart() {
    for file in ["apns-cert.p12", "apns-cert-legacy.p12"] {
        let err = open_p12(&p12(file), &Secret::new("wrong")).err().unwrap();
        assert_eq!(err, "the .p12 password is wrong", "{file}");
    }
    let err = open_p12(&Secret::new("***"), &Secret::new("x"))
        .err()
        .unwrap();
    assert_eq!(err, "the .p12 is not valid base64");
    let not_p12 = Secret::new(base64::engine::general_purpose::STANDARD.encode(b"hello"));
    assert!(
        open_p12(&not_p12, &Secret::new("x"))
            .err()
            .unwrap()
            .starts_with("the .p12 file cannot be read")
    );
}

#[test]
fn certificate_facts_list_the_uid_and_the_topic_extension() {
    let identity = open_p12(&p12("apns-cert.p12"), &Secret::new("pushgate-test")).unwrap();
    let facts = certificate_facts(&identity.leaf_der).unwrap();
    assert_eq!(
        facts.topics,
        vec![
            "com.example.chat",
            "com.example.chat.voip",
            "com.example.chat.complication"
        ]
    );
    assert!(facts.not_after > OffsetDateTime::now_utc());

    let expired = open_p12(&p12("apns-cert-expired.p12"), &Secret::new("pushgate-test")).unwrap();
    let facts = certificate_facts(&expired.leaf_der).unwrap();
    assert_eq!(
        facts.not_after,
        time::macros::datetime!(2016-01-02 00:00:00 UTC)
    );
}
