//! Helpers of the online-core tests: a pushgate on SQLite (or given settings), a tenant with
//! an app and a client key, tokens, and a small WebSocket client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use futures::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use pushgate::config::Config;
use pushgate::service::Application;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// The admin token of test instances.
pub const ADMIN: &str = "online-test-admin-token-0123";
/// The HS256 client secret of app `chat`.
pub const SECRET: &str = "online-test-client-secret-0123456789";

/// A running instance.
pub struct Instance {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Stops it on drop.
    pub shutdown: CancellationToken,
    /// Keeps the data directory.
    pub dir: Option<tempfile::TempDir>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Instance {
    /// `ws://…/v1/ws?token=…`.
    pub fn ws_url(&self, token: &str) -> String {
        format!(
            "{}/v1/ws?token={token}",
            self.base.replacen("http", "ws", 1)
        )
    }
}

/// An embedded (SQLite) configuration in a fresh directory.
pub fn embedded_config(dir: &tempfile::TempDir) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_token: Some(push_core::Secret::new(ADMIN)),
        ..Config::default()
    }
}

/// Builds and runs `config`.
pub async fn start(config: &Config, dir: Option<tempfile::TempDir>) -> Instance {
    let app = Application::build(config).await.expect("pushgate builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Instance {
        base,
        shutdown,
        dir,
    }
}

/// A REST call; answers status and JSON body.
pub async fn rest(
    http: &Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A tenant with an API key; answers the key.
pub async fn tenant(http: &Client, base: &str, name: &str) -> String {
    let (_, t) = rest(
        http,
        base,
        ADMIN,
        Method::POST,
        "/v1/tenants",
        Some(json!({"name": name})),
    )
    .await;
    let path = format!("/v1/tenants/{}/keys", t["id"].as_str().unwrap());
    let (_, k) = rest(http, base, ADMIN, Method::POST, &path, Some(json!({}))).await;
    k["key"].as_str().unwrap().to_string()
}

/// Tenant + app `app` + HS256 client key [`SECRET`]; answers the API key.
pub async fn app_with_key(http: &Client, base: &str, app: &str) -> String {
    let key = tenant(http, base, "acme").await;
    let (s, _) = rest(
        http,
        base,
        &key,
        Method::POST,
        "/v1/apps",
        Some(json!({"id": app})),
    )
    .await;
    assert!(s.is_success());
    set_hs256(http, base, &key, app).await;
    key
}

/// Sets app `app`'s HS256 client key to [`SECRET`].
pub async fn set_hs256(http: &Client, base: &str, key: &str, app: &str) {
    let (s, body) = rest(
        http,
        base,
        key,
        Method::PUT,
        &format!("/v1/apps/{app}/client-key"),
        Some(json!({"alg": "HS256", "secret": SECRET})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// An HS256 token for (app, user, device) expiring in `ttl` seconds (negative: expired).
pub fn token(app: &str, user: &str, device: &str, ttl: i64) -> String {
    token_with(app, user, device, ttl, SECRET)
}

/// As [`token`], signed with `secret`.
pub fn token_with(app: &str, user: &str, device: &str, ttl: i64, secret: &str) -> String {
    let exp = jsonwebtoken::get_current_timestamp() as i64 + ttl;
    encode(
        &Header::new(Algorithm::HS256),
        &json!({"app": app, "sub": user, "dev": device, "exp": exp}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A connected test client.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The welcome frame.
    pub welcome: Value,
}

/// Connects and reads the welcome frame.
pub async fn connect(instance: &Instance, token: &str) -> WsClient {
    let (ws, _) = tokio_tungstenite::connect_async(instance.ws_url(token))
        .await
        .expect("WebSocket connects");
    let mut client = WsClient {
        ws,
        welcome: Value::Null,
    };
    client.welcome = client.next().await;
    assert_eq!(client.welcome["type"], "welcome", "{}", client.welcome);
    client
}

/// The HTTP status of a refused upgrade.
pub async fn refused_status(url: &str) -> u16 {
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

impl WsClient {
    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// Sends raw text.
    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    /// The next JSON frame (skipping pings), within 10 s.
    pub async fn next(&mut self) -> Value {
        self.try_next(Duration::from_secs(10))
            .await
            .expect("a frame in time")
    }

    /// The next JSON frame within `wait`, or `None` (also when the socket closed).
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match msg.ok()? {
                Message::Text(t) => return Some(serde_json::from_str(t.as_str()).unwrap()),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Reads until the socket closes; answers the close code seen (if any).
    pub async fn closed(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("the connection was not closed in time"),
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Sends a message and answers the `sent` frame.
    pub async fn send_msg(&mut self, id: &str, to: Value, text: &str) -> Value {
        self.send(json!({"type": "send", "id": id, "to": to, "text": text}))
            .await;
        let sent = self.next().await;
        assert_eq!(sent["type"], "sent", "{sent}");
        sent
    }
}
