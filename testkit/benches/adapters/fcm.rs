//! FCM HTTP v1 with the dev service account: the adapter pointed at the sim by
//! configuration only, and a bare client that exchanges one assertion for an access token
//! at the sim's `/token`, then POSTs what the adapter sent.

use crate::sim::RunningSim;
use crate::subject::{AdapterSends, BareSends};
use anyhow::Context;
use push_core::adapter::CredentialRef;
use push_core::{AndroidSettings, App, AppSettings, Channel, CredentialSecret};
use push_core::{IngestMessage, Secret, TenantId};
use push_sim::dev::DEV_FCM_PROJECT;
use push_sim::types::Vendor;
use pushgate_fcm::{FcmBuilder, FcmConfig};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use time::OffsetDateTime;
use uuid::Uuid;

/// A registration token shaped like a real one (~160 characters), one per worker.
fn registration_token(n: usize) -> String {
    format!("bench{n:06}:APA91b{}", "Qx7-_".repeat(30))
}

/// The adapter and the bare client (one shared reqwest client each, HTTP/2 by ALPN, as
/// the adapter's builder makes it), for `workers` workers.
pub async fn setup(
    sim: &RunningSim,
    message: IngestMessage,
    workers: usize,
) -> anyhow::Result<(Arc<AdapterSends>, Arc<BareSends>)> {
    let endpoints = &sim.endpoints;
    let config: FcmConfig = serde_json::from_value(serde_json::json!({
        "base_url": endpoints.fcm,
        "auth_url": endpoints.fcm_token,
        "request_timeout_seconds": 10,
    }))
    .context("the FCM adapter's configuration")?;
    let adapter = FcmBuilder::new(config)
        .trust_only(&endpoints.ca_pem)
        .build()
        .context("building the FCM adapter")?;
    let account_json =
        std::fs::read_to_string(push_sim::repo_certs_dir().join("fcm-service-account.json"))
            .context("reading certs/fcm-service-account.json")?;
    let now = OffsetDateTime::now_utc();
    let adapter = AdapterSends {
        adapter,
        app: App {
            id: "chat-prod".into(),
            tenant_id: TenantId::new(),
            name: "Chat".into(),
            settings: AppSettings {
                android: Some(AndroidSettings {
                    package_name: "com.example.chat".into(),
                }),
                ..AppSettings::default()
            },
            created_at: now,
            updated_at: now,
        },
        credential: CredentialRef {
            id: Uuid::new_v4(),
            version: 1,
            secret: Arc::new(CredentialSecret::FcmServiceAccount {
                service_account_json: Secret::new(account_json.clone()),
            }),
        },
        message,
        channel: Channel::Fcm,
        tokens: (1..=workers).map(registration_token).collect(),
    };

    // One probe send: gets the adapter its access token and shows the bare client what
    // to send.
    let probe = registration_token(999_999);
    adapter
        .send_to(&probe)
        .await
        .map_err(|e| anyhow::anyhow!("the FCM probe send failed: {e}"))?;
    let sent = sim.last_request(Vendor::Fcm, &probe).await?;
    if !sent.body.contains(&probe) {
        anyhow::bail!("the adapter's FCM body does not name the token verbatim");
    }

    let ca = std::fs::read(&endpoints.ca_pem).context("reading the dev CA")?;
    let roots = reqwest::Certificate::from_pem_bundle(&ca).context("parsing the dev CA")?;
    let client = reqwest::Client::builder()
        .tls_certs_only(roots)
        .build()
        .context("building the bare FCM client")?;
    let access_token = access_token(&client, &endpoints.fcm_token, &account_json).await?;
    let mut headers = HeaderMap::new();
    let mut bearer = HeaderValue::try_from(format!("Bearer {access_token}"))
        .context("the access token as a header")?;
    bearer.set_sensitive(true);
    headers.insert(AUTHORIZATION, bearer);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    let url: reqwest::Url = format!(
        "{}/v1/projects/{DEV_FCM_PROJECT}/messages:send",
        endpoints.fcm
    )
    .parse()
    .context("the sim's FCM URL")?;
    let requests = adapter
        .tokens
        .iter()
        .map(|token| (url.clone(), sent.body.replace(&probe, token)))
        .collect();
    let bare = BareSends {
        clients: vec![client],
        next: AtomicUsize::new(0),
        requests,
        headers,
        apns_id: false,
    };
    bare.send(0)
        .await
        .map_err(|e| anyhow::anyhow!("the bare FCM probe failed: {e}"))?;
    Ok((Arc::new(adapter), Arc::new(bare)))
}

/// Signs an RS256 assertion with the service account's key and exchanges it at `token_url`.
async fn access_token(
    client: &reqwest::Client,
    token_url: &str,
    account_json: &str,
) -> anyhow::Result<String> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let account: serde_json::Value =
        serde_json::from_str(account_json).context("the service account file")?;
    let field = |name: &str| {
        account[name]
            .as_str()
            .with_context(|| format!("the service account has no {name}"))
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(field("private_key_id")?.to_string());
    let iat = OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({
        "iss": field("client_email")?,
        "scope": "https://www.googleapis.com/auth/firebase.messaging",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": iat,
        "exp": iat + 3600,
    });
    let key = EncodingKey::from_rsa_pem(field("private_key")?.as_bytes())
        .context("the service account's private key")?;
    let assertion = jsonwebtoken::encode(&header, &claims, &key)?;
    let answer: serde_json::Value = client
        .post(token_url)
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ])
        .send()
        .await
        .context("the token exchange")?
        .error_for_status()
        .context("the token exchange")?
        .json()
        .await
        .context("the token endpoint's answer")?;
    Ok(answer["access_token"]
        .as_str()
        .context("the token endpoint answered no access_token")?
        .to_string())
}
