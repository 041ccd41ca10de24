//! The `pushgate` binary: master-key rotation with `credentials rewrap` (interrupted and
//! resumed, every row readable throughout), and no credential secret in any log line, API
//! answer or metric — searched for in everything the binary printed and answered.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use base64::Engine;
use push_core::{App, AppSettings, Channel, CredentialSecret, NewCredentialVersion, Secret, Store};
use pushgate::store::SqlStore;
use pushgate::vault::{Keyring, MasterKey, Vault, fingerprint};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Output, Stdio};
use support::{free_port, pushgate, wait_for_health};

fn random_key() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn vault(keys: &[&str]) -> Vault {
    let mut keys = keys.iter().map(|k| MasterKey::from_base64(k).unwrap());
    let current = keys.next().unwrap();
    Vault::new(Keyring::new(current, keys.collect()))
}

async fn store(dir: &Path) -> SqlStore {
    let url = format!(
        "sqlite://{}",
        dir.join("data").join("pushgate.db").display()
    );
    let store = SqlStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

fn rewrap(dir: &Path, keys: &str, limit: Option<u64>) -> Output {
    let mut cmd = pushgate(dir);
    cmd.env("PUSHGATE_MASTER_KEY", keys)
        .env("PUSHGATE_ADMIN_TOKEN", "rewrap-admin-token-0123")
        .env("PUSHGATE_LOG_LEVEL", "debug")
        .args(["credentials", "rewrap", "--batch-size", "2"]);
    if let Some(limit) = limit {
        cmd.args(["--limit", &limit.to_string()]);
    }
    cmd.output().unwrap()
}

/// Every stored version opens with `vault`; answers how many are under its current key.
async fn all_open(store: &SqlStore, vault: &Vault) -> usize {
    let mut current = 0;
    for c in store.list_credentials("chat").await.unwrap() {
        let stored = store
            .credential_version("chat", c.channel, c.version)
            .await
            .unwrap()
            .unwrap();
        let secret = vault.open(c.id, "chat", c.channel, &stored.sealed);
        assert!(
            secret.is_ok(),
            "version {} unreadable: {secret:?}",
            c.version
        );
        if stored.sealed.kek_id == vault.current_key_id() {
            current += 1;
        }
    }
    current
}

#[tokio::test]
async fn rewrap_is_resumable_and_leaves_every_row_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (random_key(), random_key());
    let store = store(dir.path()).await;
    let tenant = store.create_tenant("t").await.unwrap();
    let now = push_core::now();
    store
        .create_app(&App {
            id: "chat".into(),
            tenant_id: tenant.id,
            name: "chat".into(),
            settings: AppSettings::default(),
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let sealing = vault(&[&old]);
    let secrets: Vec<String> = (0..5).map(|i| format!("vivo-secret-REWRAP-{i}")).collect();
    for secret_text in &secrets {
        let secret = CredentialSecret::VivoAppSecret {
            app_id: "1001".into(),
            app_key: "key".into(),
            app_secret: Secret::new(secret_text.clone()),
        };
        let id = uuid::Uuid::now_v7();
        let new_version = NewCredentialVersion {
            id,
            app_id: "chat".into(),
            channel: Channel::Vivo,
            kind: secret.kind(),
            fingerprint: fingerprint(&secret),
            public_fields: secret.public_fields(),
            not_after: None,
            sealed: sealing.seal(id, "chat", Channel::Vivo, &secret).unwrap(),
        };
        store.insert_credential(&new_version, now).await.unwrap();
    }
    // The online core's HS256 client key, sealed under the old key as the API would.
    let online = pushgate::service::online_store(&store);
    let client_secret = Secret::new("hs256-client-secret-REWRAP-0123456789abcdef");
    let key_id = uuid::Uuid::now_v7();
    let sealed_key = sealing
        .seal_secret(
            key_id,
            pushgate::service::CLIENT_KEY_PURPOSE,
            "chat",
            &client_secret,
        )
        .unwrap();
    online
        .put_client_key(
            "chat",
            &pushgate_online::store::client_keys::StoredClientKey {
                key_id: key_id.to_string(),
                alg: "HS256".into(),
                public_key_pem: None,
                sealed: Some(sealed_key),
                fingerprint: "sha256:test".into(),
                updated_at: 0,
            },
        )
        .await
        .unwrap();
    let client_key_opens = |keys: &[&str]| {
        let vault = vault(keys);
        let online = online.clone();
        async move {
            let stored = online.client_key("chat").await.unwrap().unwrap();
            let sealed = stored.sealed.unwrap();
            let opened = vault
                .open_secret(
                    key_id,
                    pushgate::service::CLIENT_KEY_PURPOSE,
                    "chat",
                    &sealed,
                )
                .map(|s| s.expose().to_string());
            (opened.ok(), sealed.kek_id == vault.current_key_id())
        }
    };

    let rotating = format!("{new},{old}");
    let mut printed = String::new();

    // Interrupted after two rows.
    let out = rewrap(dir.path(), &rotating, Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    printed += &stdout;
    printed += &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{printed}");
    assert!(
        stdout.contains("rewrapped 2 credential(s)") && stdout.contains("run again"),
        "{stdout}"
    );
    assert_eq!(all_open(&store, &vault(&[&new, &old])).await, 2);
    assert!(
        stdout.contains("rewrapped 1 online client key(s)"),
        "{stdout}"
    );

    // The rerun finishes the rest; a third run finds nothing to do.
    let out = rewrap(dir.path(), &rotating, None);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    printed += &stdout;
    printed += &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{printed}");
    assert!(
        stdout.contains("rewrapped 3 credential(s)") && stdout.contains("done"),
        "{stdout}"
    );
    let out = rewrap(dir.path(), &rotating, None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rewrapped 0"));
    // The old key can go now.
    assert_eq!(all_open(&store, &vault(&[&new])).await, 5);
    assert_eq!(
        client_key_opens(&[&new]).await,
        (Some(client_secret.expose().to_string()), true),
        "the client key opens with the new key alone"
    );

    // Without the key a row was sealed with, rewrap says so and fails.
    let stranger = random_key();
    let out = rewrap(dir.path(), &stranger, None);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    printed += &stdout;
    printed += &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stdout.contains("unknown master key 5"), "{stdout}");
    assert!(
        stdout.contains("online client key(s); changed meanwhile 0; unknown master key 1"),
        "{stdout}"
    );
    let client_text = client_secret.expose().to_string();

    for secret in secrets.iter().chain([&old, &new, &stranger, &client_text]) {
        assert!(
            !printed.contains(secret.as_str()),
            "a secret was printed: {printed}"
        );
    }
}

fn cert_text(name: &str) -> String {
    std::fs::read_to_string(push_sim::repo_certs_dir().join(name)).unwrap()
}

#[tokio::test]
async fn secrets_never_reach_logs_answers_or_metrics() {
    let sim = push_sim::Sim::start(push_sim::SimConfig {
        preload_dev: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let master = random_key();
    let admin = "secrets-admin-token-0123456789";
    let log_path = dir.path().join("stdout.log");
    let err_path = dir.path().join("stderr.log");
    let mut child = pushgate(dir.path())
        .env("PUSHGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("PUSHGATE_MASTER_KEY", &master)
        .env("PUSHGATE_ADMIN_TOKEN", admin)
        .env("PUSHGATE_LOG_LEVEL", "debug")
        .env(
            "PUSHGATE_VENDORS__APNS__BASE_URL",
            sim.apns_production_url(),
        )
        .env(
            "PUSHGATE_VENDORS__APNS__SANDBOX_URL",
            sim.apns_sandbox_url(),
        )
        .env("PUSHGATE_VENDORS__APNS__CA_FILE", sim.ca_pem_path())
        .env("PUSHGATE_VENDORS__FCM__BASE_URL", sim.fcm_url())
        .env("PUSHGATE_VENDORS__FCM__AUTH_URL", sim.fcm_token_url())
        .env("PUSHGATE_VENDORS__FCM__CA_FILE", sim.ca_pem_path())
        // Files, not pipes: nobody reads a pipe while the test runs, and a full pipe would
        // block the server's logging.
        .stdout(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap();
    wait_for_health(port, &mut child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut answers = String::new();
    let call = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    let tenant: Value = call(
        reqwest::Method::POST,
        "/v1/tenants",
        admin,
        Some(json!({"name": "a"})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let key: Value = call(
        reqwest::Method::POST,
        &format!("/v1/tenants/{}/keys", tenant["id"].as_str().unwrap()),
        admin,
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    call(reqwest::Method::POST, "/v1/apps", &key, Some(json!({"id": "chat",
        "settings": {"apns": {"bundle_id": "com.example.chat", "default_environment": "sandbox"}}})))
        .await.unwrap();

    let vivo_secret = "vivo-SECRET-must-not-leak-42";
    let p12_password = "p12-PASSWORD-must-not-leak";
    let unknown_p8 = support_p8();
    let account: Value = serde_json::from_str(&cert_text("fcm-service-account.json")).unwrap();
    let fcm_key = account["private_key"].as_str().unwrap().to_string();
    let dev_p8 = cert_text("apns-authkey.p8");
    let p12 = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(push_sim::repo_certs_dir().join("apns-cert.p12")).unwrap());
    let uploads = [
        (
            "vivo",
            "",
            json!({"app_id": "1", "app_key": "k", "app_secret": vivo_secret}),
        ),
        (
            "vivo",
            "",
            json!({"app_id": "1", "app_secret": vivo_secret}),
        ),
        (
            "apns",
            "",
            json!({"certificate_base64": p12, "password": p12_password}),
        ),
        (
            "apns",
            "?check=live",
            json!({"key_id": "ZZZ999ZZZZ", "team_id": "TEAM123456", "private_key": unknown_p8}),
        ),
        (
            "apns",
            "?check=live",
            json!({"key_id": "ABC123DEFG", "team_id": "TEAM123456", "private_key": dev_p8}),
        ),
        ("fcm", "?check=live", json!({"service_account": account})),
        (
            "apns",
            "",
            json!({"key_id": "ABC123DEFG", "team_id": "TEAM123456", "private_key": fcm_key}),
        ),
    ];
    for (vendor, query, body) in uploads {
        let resp = call(
            reqwest::Method::PUT,
            &format!("/v1/apps/chat/credentials/{vendor}{query}"),
            &key,
            Some(body),
        )
        .await
        .unwrap();
        answers += &format!("{} {}\n", resp.status(), resp.text().await.unwrap());
    }
    for path in [
        "/v1/apps/chat/credentials",
        "/v1/apps/chat/credentials/audit",
    ] {
        answers += &call(reqwest::Method::GET, path, &key, None)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    }
    answers += &call(
        reqwest::Method::POST,
        "/v1/apps/chat/credentials/apns/versions/1/activate",
        &key,
        None,
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    answers += &http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        answers.contains("credential_refused"),
        "the live refusal is among them: {answers}"
    );

    child.kill().unwrap();
    child.wait().unwrap();
    let logs =
        std::fs::read_to_string(&log_path).unwrap() + &std::fs::read_to_string(&err_path).unwrap();
    assert!(
        logs.contains("credential verified and stored"),
        "debug logs were captured: {logs}"
    );

    let body_line = |pem: &str| pem.lines().nth(1).unwrap().to_string();
    let secrets = [
        vivo_secret.to_string(),
        p12_password.to_string(),
        body_line(&unknown_p8),
        body_line(&dev_p8),
        body_line(&fcm_key),
        p12[100..160].to_string(),
        master.clone(),
    ];
    for secret in &secrets {
        assert!(
            !answers.contains(secret.as_str()),
            "secret in an answer: {secret}"
        );
        assert!(
            !logs.contains(secret.as_str()),
            "secret in the log: {secret}"
        );
    }
}

fn support_p8() -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
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
