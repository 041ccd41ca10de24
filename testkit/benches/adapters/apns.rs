//! APNs with token auth (the dev `.p8` key): the adapter pointed at the sim's production
//! personality, and a bare client sending what the adapter sent, with a provider token
//! signed once.

use crate::sim::RunningSim;
use crate::subject::{AdapterSends, BareSends};
use anyhow::Context;
use push_core::adapter::CredentialRef;
use push_core::{ApnsEnvironment, ApnsSettings, App, AppSettings, Channel, CredentialSecret};
use push_core::{IngestMessage, Secret, TenantId};
use push_sim::dev::{DEV_APNS_KEY_ID, DEV_APNS_TEAM_ID, DEV_APNS_TOPIC};
use push_sim::types::Vendor;
use pushgate_apns::{ApnsBuilder, ApnsConfig};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use time::OffsetDateTime;
use uuid::Uuid;

/// A 64-hex-digit device token, one per worker (the sim accepts unknown tokens).
fn device_token(n: usize) -> String {
    format!("{n:064x}")
}

/// The adapter and the bare client, for `workers` workers; `connections` HTTP/2
/// connections each (the adapter's `connections_per_credential`).
pub async fn setup(
    sim: &RunningSim,
    message: IngestMessage,
    workers: usize,
    connections: usize,
) -> anyhow::Result<(Arc<AdapterSends>, Arc<BareSends>)> {
    let endpoints = &sim.endpoints;
    let base: reqwest::Url = endpoints.apns.parse().context("the sim's APNs URL")?;
    let config = ApnsConfig {
        base_url: base.clone(),
        sandbox_url: base,
        ca_file: Some(endpoints.ca_pem.clone()),
        trust_system_roots: false,
        request_timeout_seconds: 10,
        connections_per_credential: connections,
        ..ApnsConfig::default()
    };
    let adapter = ApnsBuilder::new(config)
        .build()
        .context("building the APNs adapter")?;
    let p8 = std::fs::read_to_string(push_sim::repo_certs_dir().join("apns-authkey.p8"))
        .context("reading certs/apns-authkey.p8")?;
    let now = OffsetDateTime::now_utc();
    let adapter = AdapterSends {
        adapter,
        app: App {
            id: "chat-prod".into(),
            tenant_id: TenantId::new(),
            name: "Chat".into(),
            settings: AppSettings {
                apns: Some(ApnsSettings {
                    bundle_id: DEV_APNS_TOPIC.into(),
                    default_environment: ApnsEnvironment::Production,
                }),
                ..AppSettings::default()
            },
            created_at: now,
            updated_at: now,
        },
        credential: CredentialRef {
            id: Uuid::new_v4(),
            version: 1,
            secret: Arc::new(CredentialSecret::ApnsP8 {
                key_id: DEV_APNS_KEY_ID.into(),
                team_id: DEV_APNS_TEAM_ID.into(),
                private_key: Secret::new(p8.clone()),
            }),
        },
        message,
        channel: Channel::Apns,
        tokens: (1..=workers).map(device_token).collect(),
    };

    // One probe send: proves the set-up and shows the bare client what to send.
    let probe = device_token(0xbe4c_0000);
    adapter
        .send_to(&probe)
        .await
        .map_err(|e| anyhow::anyhow!("the APNs probe send failed: {e}"))?;
    let sent = sim.last_request(Vendor::Apns, &probe).await?;

    let mut headers = HeaderMap::new();
    let mut bearer = HeaderValue::try_from(format!("bearer {}", provider_token(&p8)?))
        .context("the provider token as a header")?;
    bearer.set_sensitive(true);
    headers.insert(AUTHORIZATION, bearer);
    for (name, value) in &sent.headers {
        if (name.starts_with("apns-") && name != "apns-id") || name == "content-type" {
            headers.insert(
                HeaderName::try_from(name.as_str())?,
                HeaderValue::try_from(value.as_str())?,
            );
        }
    }
    let ca = std::fs::read(&endpoints.ca_pem).context("reading the dev CA")?;
    let roots = reqwest::Certificate::from_pem_bundle(&ca).context("parsing the dev CA")?;
    let clients = (0..connections)
        .map(|_| {
            reqwest::Client::builder()
                .http2_prior_knowledge()
                .tls_certs_only(roots.iter().cloned())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .context("building the bare APNs client")?;
    let requests = adapter
        .tokens
        .iter()
        .map(|token| {
            let url = format!("{}/3/device/{token}", endpoints.apns);
            Ok((url.parse()?, sent.body.clone()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bare = BareSends {
        clients,
        next: AtomicUsize::new(0),
        requests,
        headers,
        apns_id: true,
    };
    bare.send(0)
        .await
        .map_err(|e| anyhow::anyhow!("the bare APNs probe failed: {e}"))?;
    Ok((Arc::new(adapter), Arc::new(bare)))
}

/// An ES256 provider token of the dev key, issued now.
fn provider_token(p8: &str) -> anyhow::Result<String> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let mut header = Header::new(Algorithm::ES256);
    header.typ = None;
    header.kid = Some(DEV_APNS_KEY_ID.into());
    let claims = serde_json::json!({
        "iss": DEV_APNS_TEAM_ID,
        "iat": OffsetDateTime::now_utc().unix_timestamp(),
    });
    let key = EncodingKey::from_ec_pem(p8.as_bytes()).context("the dev .p8 key")?;
    Ok(jsonwebtoken::encode(&header, &claims, &key)?)
}
