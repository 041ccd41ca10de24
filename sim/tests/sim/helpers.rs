//! `spawn_sim()` and clients, keys and tokens built only from `certs/` and the vendor docs.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use push_sim::{Sim, SimConfig};
use serde_json::{Value, json};

/// A 32-byte device token as hex.
pub const TOKEN: &str = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0";
/// The dev app's bundle id.
pub const TOPIC: &str = "com.example.chat";
/// The dev FCM project.
pub const PROJECT: &str = "pushgate-test";

/// A file of `certs/`.
pub fn cert_file(name: &str) -> Vec<u8> {
    std::fs::read(push_sim::repo_certs_dir().join(name)).unwrap()
}

/// A sim on ephemeral ports with the dev identities preloaded.
pub async fn spawn_sim() -> Sim {
    Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn ca(sim: &Sim) -> reqwest::Certificate {
    reqwest::Certificate::from_pem(&std::fs::read(sim.ca_pem_path()).unwrap()).unwrap()
}

/// An HTTP/2-only client trusting only the dev CA (what an APNs client is).
pub fn apns_client(sim: &Sim) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([ca(sim)])
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

/// An APNs client presenting a client certificate (PEM cert + key).
pub fn apns_cert_client(sim: &Sim, identity_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([ca(sim)])
        .http2_prior_knowledge()
        .identity(reqwest::Identity::from_pem(identity_pem).unwrap())
        .build()
        .unwrap()
}

/// The dev APNs client certificate and key as one PEM.
pub fn dev_identity_pem() -> Vec<u8> {
    [cert_file("apns-cert.pem"), cert_file("apns-cert.key")].concat()
}

/// A client with ALPN `h2` and `http/1.1` (what Google clients use).
pub fn https_client(sim: &Sim) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([ca(sim)])
        .build()
        .unwrap()
}

/// Host clock, Unix seconds (the sim clock unless a test shifted it).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An ES256 provider token.
pub fn jwt(kid: &str, team: &str, iat: i64, key_pem: &[u8]) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_ec_pem(key_pem).unwrap();
    jsonwebtoken::encode(&header, &json!({ "iss": team, "iat": iat }), &key).unwrap()
}

/// A provider token of the dev key.
pub fn dev_jwt(iat: i64) -> String {
    jwt(
        "ABC123DEFG",
        "TEAM123456",
        iat,
        &cert_file("apns-authkey.p8"),
    )
}

/// An APNs answer.
#[derive(Debug)]
pub struct ApnsReply {
    pub status: u16,
    pub apns_id: Option<String>,
    pub unique_id: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl ApnsReply {
    /// The error `reason` (empty on success).
    pub fn reason(&self) -> &str {
        self.body["reason"].as_str().unwrap_or_default()
    }
}

/// Sends one APNs request; `headers` may repeat a name.
pub async fn apns_post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> ApnsReply {
    let mut req = client.post(format!("{base}{path}")).body(body);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    reply(req.send().await.unwrap()).await
}

/// Reads an APNs answer.
pub async fn reply(resp: reqwest::Response) -> ApnsReply {
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (apns_id, unique_id, retry_after) = (
        header("apns-id"),
        header("apns-unique-id"),
        header("retry-after"),
    );
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    ApnsReply {
        status,
        apns_id,
        unique_id,
        retry_after,
        body,
    }
}

/// An alert push with the dev token: authorization, topic and push type set.
pub async fn alert(client: &reqwest::Client, base: &str, bearer: &str, token: &str) -> ApnsReply {
    let auth = format!("bearer {bearer}");
    let headers = [
        ("authorization", auth.as_str()),
        ("apns-topic", TOPIC),
        ("apns-push-type", "alert"),
    ];
    apns_post(
        client,
        base,
        &format!("/3/device/{token}"),
        &headers,
        r#"{"aps":{"alert":"hi"}}"#,
    )
    .await
}

/// The dev service account JSON.
pub fn service_account() -> Value {
    serde_json::from_slice(&cert_file("fcm-service-account.json")).unwrap()
}

/// An RS256 assertion of the dev service account; `edit` changes the claims.
pub fn assertion(edit: impl FnOnce(&mut Value)) -> String {
    let sa = service_account();
    let mut claims = json!({
        "iss": sa["client_email"],
        "scope": "https://www.googleapis.com/auth/firebase.messaging",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": now(),
        "exp": now() + 3600,
    });
    edit(&mut claims);
    sign_assertion(&claims, sa["private_key"].as_str().unwrap().as_bytes())
}

/// Signs assertion claims with an RSA key (kid = the dev private_key_id).
pub fn sign_assertion(claims: &Value, key_pem: &[u8]) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = service_account()["private_key_id"]
        .as_str()
        .map(str::to_string);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(key_pem).unwrap(),
    )
    .unwrap()
}

/// POSTs a jwt-bearer grant; returns (status, JSON body).
pub async fn exchange(client: &reqwest::Client, sim: &Sim, assertion: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion),
    ];
    let resp = client
        .post(sim.fcm_token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// A fresh access token of the dev service account.
pub async fn access_token(client: &reqwest::Client, sim: &Sim) -> String {
    let (status, body) = exchange(client, sim, &assertion(|_| {})).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Sends an FCM message body; returns (status, headers, JSON body).
pub async fn fcm_send(
    client: &reqwest::Client,
    sim: &Sim,
    project: &str,
    bearer: Option<&str>,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let url = format!("{}/v1/projects/{project}/messages:send", sim.fcm_url());
    let mut req = client.post(url).json(body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap())
}

/// The `errorCode` of an FcmError detail, if any.
pub fn fcm_error_code(body: &Value) -> Option<&str> {
    detail(body, "type.googleapis.com/google.firebase.fcm.v1.FcmError")?["errorCode"].as_str()
}

/// The detail of this `@type`.
pub fn detail<'a>(body: &'a Value, ty: &str) -> Option<&'a Value> {
    body["error"]["details"]
        .as_array()?
        .iter()
        .find(|d| d["@type"] == ty)
}

/// Waits up to a second for `cond` (server-side counters trail the client's error by a hair).
pub async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if cond() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

/// The dev Huawei app.
pub const HW_APP: &str = "10000001";
/// Its secret.
pub const HW_SECRET: &str = "pushgate-test-huawei-secret";
/// A Huawei-looking device token.
pub const HW_TOKEN: &str = "IQAAAACy0KFhAADcZ7Dvx1ufn6b3Ysf4mg8xSZbnVNm0ytoYRUZm3V1cuv-sim-1";

/// POSTs a client-credentials request; returns (status, raw body text, JSON body).
pub async fn huawei_token_raw(
    client: &reqwest::Client,
    sim: &Sim,
    form: &[(&str, &str)],
) -> (u16, String, Value) {
    let resp = client
        .post(sim.huawei_token_url())
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, text, json)
}

/// A fresh access token of an app.
pub async fn huawei_access_token(
    client: &reqwest::Client,
    sim: &Sim,
    app: &str,
    secret: &str,
) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app),
        ("client_secret", secret),
    ];
    let (status, _, body) = huawei_token_raw(client, sim, &form).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Sends a Huawei message body to `/v1/{app}/messages:send`; returns (status, JSON body).
pub async fn huawei_send(
    client: &reqwest::Client,
    sim: &Sim,
    app: &str,
    bearer: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    huawei_send_to(
        client,
        sim,
        &format!("/v1/{app}/messages:send"),
        bearer,
        body,
    )
    .await
}

/// Sends a Huawei message body to `path`; returns (status, JSON body).
pub async fn huawei_send_to(
    client: &reqwest::Client,
    sim: &Sim,
    path: &str,
    bearer: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut req = client
        .post(format!("{}{path}", sim.huawei_url()))
        .header("content-type", "application/json;charset=UTF-8")
        .body(body.to_string());
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// An IM notification message to `tokens`.
pub fn huawei_im(tokens: &[&str]) -> Value {
    json!({"message": {"token": tokens, "data": "{\"conv\":\"42\"}", "android": {
        "category": "IM", "ttl": "86400s", "bi_tag": "n-7f3c0e",
        "notification": {"title": "Alice", "body": "are you coming?", "click_action": {"type": 3},
            "notify_id": 4242}}}})
}
