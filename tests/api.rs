//! The HTTP API end to end, on a real listener and the SQLite backend: authentication,
//! tenant isolation, apps, devices, credentials, errors, health and metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use pushgate::config::Config;
use pushgate::service::Application;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "test-admin-token-0123456789";

struct TestApp {
    base: String,
    http: Client,
    data_dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn_app() -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.path().to_path_buf(),
        admin_token: Some(push_core::Secret::new(ADMIN)),
        max_body_bytes: 64 * 1024,
        max_message_bytes: 16 * 1024,
        ..Config::default()
    };
    let app = Application::build(&config).await.expect("app builds");
    let addr = app.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        base: format!("http://{addr}"),
        http: Client::new(),
        data_dir,
        shutdown,
    }
}

impl TestApp {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// A new tenant and one API key for it.
    async fn tenant(&self, name: &str) -> (String, String) {
        let (s, t) = self
            .call(
                Method::POST,
                "/v1/tenants",
                Some(ADMIN),
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let id = t["id"].as_str().unwrap().to_string();
        let (s, k) = self
            .call(
                Method::POST,
                &format!("/v1/tenants/{id}/keys"),
                Some(ADMIN),
                Some(json!({ "label": "test" })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{k}");
        (id, k["key"].as_str().unwrap().to_string())
    }

    async fn app(&self, key: &str, id: &str) {
        let body = json!({ "id": id, "name": "Chat", "settings": { "apns": { "bundle_id": "com.example.chat", "default_environment": "sandbox" } } });
        let (s, b) = self
            .call(Method::POST, "/v1/apps", Some(key), Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

const APNS_TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    let (s, b) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, b) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((s, b["store"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, _) = app.call(Method::GET, "/v1/apps", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("pushgate_http_requests_total{"), "{text}");
    assert!(text.contains("route=\"/readyz\""), "{text}");
    assert!(
        text.contains("pushgate_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/v1/apps\",method=\"GET\",status=\"401\""),
        "{text}"
    );
}

#[tokio::test]
async fn admin_endpoints_need_the_admin_token() {
    let app = spawn_app().await;
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/tenants",
            None,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/tenants",
            Some("wrong-token-wrong-token"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (_, key) = app.tenant("acme").await;
    let (s, b) = app.call(Method::GET, "/v1/tenants", Some(&key), None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, b) = app
        .call(Method::GET, "/v1/tenants", Some(ADMIN), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_bearer_scheme_is_read_without_regard_to_case() {
    let app = spawn_app().await;
    let (_, key) = app.tenant("acme").await;
    for (scheme, token) in [("bearer", ADMIN), ("BEARER", ADMIN)] {
        let resp = app
            .http
            .get(format!("{}/v1/tenants", app.base))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{scheme}");
    }
    let resp = app
        .http
        .get(format!("{}/v1/apps", app.base))
        .header("authorization", format!("bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "a tenant key after `bearer`");
    let resp = app
        .http
        .get(format!("{}/v1/apps", app.base))
        .header("authorization", format!("Basic {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "another scheme");
}

#[tokio::test]
async fn api_keys_are_shown_once_and_can_be_revoked() {
    let app = spawn_app().await;
    let (tenant, key) = app.tenant("acme").await;
    assert!(key.starts_with("pgk_"));
    let (s, _) = app.call(Method::GET, "/v1/apps", Some(&key), None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, keys) = app
        .call(
            Method::GET,
            &format!("/v1/tenants/{tenant}/keys"),
            Some(ADMIN),
            None,
        )
        .await;
    let listed = keys.to_string();
    assert!(!listed.contains(&key), "a listing must not show the key");
    assert!(!listed.contains("hash"), "{listed}");
    let key_id = keys[0]["id"].as_str().unwrap();
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/tenants/{tenant}/keys/{key_id}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app.call(Method::GET, "/v1/apps", Some(&key), None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("/v1/tenants/{tenant}/keys/{key_id}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn tenants_cannot_see_or_touch_each_others_apps() {
    let app = spawn_app().await;
    let (_, a) = app.tenant("a").await;
    let (_, b) = app.tenant("b").await;
    app.app(&a, "chat-a").await;
    let device = json!({"user_id": "u1", "vendor": "fcm", "token": "tok-1"});
    let (s, _) = app
        .call(
            Method::PUT,
            "/v1/apps/chat-a/devices/d1",
            Some(&a),
            Some(device.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let probes: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/v1/apps/chat-a", None),
        (
            Method::PATCH,
            "/v1/apps/chat-a",
            Some(json!({"name": "stolen"})),
        ),
        (
            Method::PUT,
            "/v1/apps/chat-a/devices/d2",
            Some(device.clone()),
        ),
        (Method::GET, "/v1/apps/chat-a/devices/d1", None),
        (Method::DELETE, "/v1/apps/chat-a/devices/d1", None),
        (Method::GET, "/v1/apps/chat-a/users/u1/devices", None),
        (Method::GET, "/v1/apps/chat-a/credentials", None),
        (
            Method::PUT,
            "/v1/apps/chat-a/credentials/vivo",
            Some(json!({"app_id": "1", "app_key": "k", "app_secret": "s"})),
        ),
    ];
    for (method, path, body) in probes {
        let (s, resp) = app.call(method.clone(), path, Some(&b), body).await;
        assert_error(s, &resp, StatusCode::NOT_FOUND, "not_found");
        assert!(
            !resp.to_string().contains("tok-1"),
            "{method} {path} leaked: {resp}"
        );
    }
    let (_, list) = app.call(Method::GET, "/v1/apps", Some(&b), None).await;
    assert_eq!(list, json!([]));
    let (s, resp) = app
        .call(
            Method::POST,
            "/v1/apps",
            Some(&b),
            Some(json!({"id": "chat-a"})),
        )
        .await;
    assert_error(s, &resp, StatusCode::CONFLICT, "conflict");
    // Nothing of A's changed.
    let (_, mine) = app
        .call(Method::GET, "/v1/apps/chat-a", Some(&a), None)
        .await;
    assert_eq!(mine["name"], "Chat");
    let (_, devices) = app
        .call(
            Method::GET,
            "/v1/apps/chat-a/users/u1/devices",
            Some(&a),
            None,
        )
        .await;
    assert_eq!(devices.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn apps_are_created_read_and_updated() {
    let app = spawn_app().await;
    let (_, key) = app.tenant("acme").await;
    app.app(&key, "chat-prod").await;
    let (s, got) = app
        .call(Method::GET, "/v1/apps/chat-prod", Some(&key), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["settings"]["apns"]["bundle_id"], "com.example.chat");
    let patch = json!({"name": "Chat Prod", "settings": {"android": {"package_name": "com.example.chat"},
                       "wechat": {"official_account_app_id": "wx1234567890abcdef", "templates": {"IM": "tpl-1"}}}});
    let (s, updated) = app
        .call(Method::PATCH, "/v1/apps/chat-prod", Some(&key), Some(patch))
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Chat Prod");
    assert!(
        updated["settings"]["apns"].is_null(),
        "settings are replaced as a whole"
    );
    let (_, again) = app
        .call(Method::GET, "/v1/apps/chat-prod", Some(&key), None)
        .await;
    assert_eq!(again["settings"]["wechat"]["templates"]["IM"], "tpl-1");
    let (_, list) = app.call(Method::GET, "/v1/apps", Some(&key), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, b) = app
        .call(Method::GET, "/v1/apps/nope", Some(&key), None)
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn bad_app_input_gets_a_clear_4xx() {
    let app = spawn_app().await;
    let (_, key) = app.tenant("acme").await;
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/apps",
            Some(&key),
            Some(json!({"id": "bad id/"})),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(b["error"]["details"][0]["field"], "id");
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/apps",
            Some(&key),
            Some(json!({"id": "x", "settings": {"apns": {"bundle": "a"}}})),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "invalid_json");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("bundle"),
        "{b}"
    );
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/apps",
            Some(&key),
            Some(json!({"id": "x", "settings": {"apns": {"bundle_id": "no..dots"}}})),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(b["error"]["details"][0]["field"], "settings.apns.bundle_id");

    let raw = |body: &'static str, content_type: &'static str| {
        app.http
            .post(format!("{}/v1/apps", app.base))
            .bearer_auth(&key)
            .header("content-type", content_type)
            .body(body)
    };
    let resp = raw("{\"id\": ", "application/json").send().await.unwrap();
    let status = resp.status();
    assert_error(
        status,
        &resp.json().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    );
    let resp = raw("{\"id\": \"x\"}", "text/plain").send().await.unwrap();
    let status = resp.status();
    assert_error(
        status,
        &resp.json().await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let big = json!({"id": "x", "name": "n".repeat(70 * 1024)});
    let (s, b) = app
        .call(Method::POST, "/v1/apps", Some(&key), Some(big))
        .await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let (s, b) = app
        .call(Method::GET, "/v1/nothing-here", Some(&key), None)
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = app.call(Method::DELETE, "/v1/apps", Some(&key), None).await;
    assert_error(s, &b, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // The online core's routes too (merged into the same router).
    let (s, b) = app
        .call(Method::POST, "/v1/apps/chat/client-key", Some(&key), None)
        .await;
    assert_error(s, &b, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // The service is unharmed.
    let (s, _) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn devices_register_move_tokens_and_list_per_user() {
    let app = spawn_app().await;
    let (_, key) = app.tenant("acme").await;
    app.app(&key, "chat").await;
    let put = |device: &str, body: Value| {
        let path = format!("/v1/apps/chat/devices/{device}");
        let (app, key) = (&app, &key);
        async move { app.call(Method::PUT, &path, Some(key), Some(body)).await }
    };

    let (s, d) = put(
        "iphone",
        json!({"user_id": "alice", "vendor": "apns", "token": APNS_TOKEN.to_uppercase()}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["vendor"], "apns");
    assert_eq!(d["token"], APNS_TOKEN, "APNs tokens are stored lower-case");
    assert_eq!(
        d["apns_environment"], "sandbox",
        "the app's default environment"
    );
    assert_eq!(d["status"]["state"], "active");

    let (s, _) = put(
        "pixel",
        json!({"user_id": "alice", "vendor": "fcm", "token": "fcm-token-1"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // A reinstall: the same FCM token comes back under a new device id.
    let (s, _) = put(
        "pixel-2",
        json!({"user_id": "alice", "vendor": "fcm", "token": "fcm-token-1"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, old) = app
        .call(Method::GET, "/v1/apps/chat/devices/pixel", Some(&key), None)
        .await;
    assert_eq!(old["status"]["state"], "deactivated", "{old}");
    assert!(old["token"].is_null());

    let (_, active) = app
        .call(
            Method::GET,
            "/v1/apps/chat/users/alice/devices",
            Some(&key),
            None,
        )
        .await;
    let ids: Vec<&str> = active
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["iphone", "pixel-2"]);
    let (_, all) = app
        .call(
            Method::GET,
            "/v1/apps/chat/users/alice/devices?include_inactive=true",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(all.as_array().unwrap().len(), 3);

    let (s, _) = app
        .call(
            Method::DELETE,
            "/v1/apps/chat/devices/iphone",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app
        .call(
            Method::GET,
            "/v1/apps/chat/devices/iphone",
            Some(&key),
            None,
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = app
        .call(
            Method::DELETE,
            "/v1/apps/chat/devices/iphone",
            Some(&key),
            None,
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn bad_device_registrations_report_every_field() {
    let app = spawn_app().await;
    let (_, key) = app.tenant("acme").await;
    app.app(&key, "chat").await;
    let (s, b) = app
        .call(Method::PUT, "/v1/apps/chat/devices/d1", Some(&key),
              Some(json!({"user_id": "", "vendor": "nokia", "token": "x", "apns_environment": "sandbox"})))
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    let fields: Vec<&str> = b["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["user_id", "vendor"]);
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/apps/chat/devices/d1",
            Some(&key),
            Some(json!({"user_id": "u", "vendor": "apns", "token": "zz-not-hex"})),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(b["error"]["details"][0]["field"], "token");
    let (s, b) = app
        .call(Method::PUT, "/v1/apps/chat/devices/d1", Some(&key),
              Some(json!({"user_id": "u", "vendor": "fcm", "token": "t", "apns_environment": "sandbox"})))
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/apps/unknown/devices/d1",
            Some(&key),
            Some(json!({"user_id": "u", "vendor": "fcm", "token": "t"})),
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
}

fn p8_pem() -> String {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn credentials_are_sealed_versioned_and_never_shown() {
    let app = spawn_app().await;
    let (_, key) = app.tenant("acme").await;
    app.app(&key, "chat").await;
    const SECRET: &str = "vivo-app-secret-DO-NOT-LEAK";
    let body = json!({"app_id": "10001", "app_key": "vivo-key", "app_secret": SECRET});
    let (s, meta) = app
        .call(
            Method::PUT,
            "/v1/apps/chat/credentials/vivo",
            Some(&key),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{meta}");
    assert_eq!(
        (meta["version"].as_i64(), meta["kind"].as_str()),
        (Some(1), Some("vivo_app_secret"))
    );
    assert_eq!(meta["public_fields"]["app_key"], "vivo-key");
    assert!(meta["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    let (_, meta2) = app
        .call(
            Method::PUT,
            "/v1/apps/chat/credentials/vivo",
            Some(&key),
            Some(body),
        )
        .await;
    assert_eq!(meta2["version"], 2);
    assert_eq!(
        meta2["fingerprint"], meta["fingerprint"],
        "same secret, same fingerprint"
    );

    // An APNs .p8 as a multipart file upload.
    let pem = p8_pem();
    let form = reqwest::multipart::Form::new()
        .text("key_id", "ABC123DEFG")
        .text("team_id", "TEAM123456")
        .part(
            "private_key",
            reqwest::multipart::Part::bytes(pem.clone().into_bytes())
                .file_name("AuthKey_ABC123DEFG.p8"),
        );
    let resp = app
        .http
        .put(format!("{}/v1/apps/chat/credentials/apns", app.base))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let apns: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{apns}");
    assert_eq!(apns["kind"], "apns_p8");
    assert_eq!(apns["public_fields"]["key_id"], "ABC123DEFG");

    let (_, list) = app
        .call(Method::GET, "/v1/apps/chat/credentials", Some(&key), None)
        .await;
    let states: Vec<(String, i64, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["vendor"].as_str().unwrap().into(),
                c["version"].as_i64().unwrap(),
                c["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("apns".into(), 1, "active".into()),
            ("vivo".into(), 1, "inactive".into()),
            ("vivo".into(), 2, "active".into())
        ]
    );
    let shown = list.to_string();
    let pem_body = pem.lines().nth(1).unwrap();
    assert!(
        !shown.contains(SECRET) && !shown.contains(pem_body),
        "{shown}"
    );

    // At rest the database holds ciphertext only.
    let db = std::fs::read(app.data_dir.path().join("pushgate.db")).unwrap();
    let wal = std::fs::read(app.data_dir.path().join("pushgate.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        let hay = String::from_utf8_lossy(bytes);
        assert!(!hay.contains(SECRET), "secret found in the database file");
        assert!(
            !hay.contains(pem_body),
            "private key found in the database file"
        );
    }
}

#[tokio::test]
async fn bad_credential_uploads_are_rejected_without_echoing_secrets() {
    let app = spawn_app().await;
    let (_, key) = app.tenant("acme").await;
    app.app(&key, "chat").await;
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/apps/chat/credentials/nokia",
            Some(&key),
            Some(json!({})),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    let (s, b) = app
        .call(
            Method::PUT,
            "/v1/apps/chat/credentials/vivo",
            Some(&key),
            Some(json!({"app_id": "1", "app_secret": "LEAKY-SECRET"})),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(b.to_string().contains("app_key"), "{b}");
    assert!(!b.to_string().contains("LEAKY-SECRET"), "{b}");
    let (s, b) = app
        .call(Method::PUT, "/v1/apps/chat/credentials/apns", Some(&key),
              Some(json!({"key_id": "ABC123DEFG", "team_id": "TEAM123456", "private_key": "not a pem LEAKY-SECRET"})))
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(!b.to_string().contains("LEAKY-SECRET"), "{b}");
    let (_, list) = app
        .call(Method::GET, "/v1/apps/chat/credentials", Some(&key), None)
        .await;
    assert_eq!(list, json!([]), "nothing half-stored");
}
