//! `?check=live` for every vendor the binary registers, one table: pushgate (in-process,
//! every `[vendors.*]` pointed at push-sim) accepts the simulator's dev credential after
//! asking the vendor, and refuses the same credential with a wrong secret (same shape, bad
//! value) with a 4xx that says what is wrong, never echoes the secret, and stores nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use aws_lc_rs::encoding::AsDer;
use base64::Engine as _;
use push_sim::dev::*;
use push_sim::types::{RequestFilter, Vendor};
use push_sim::{Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ADMIN: &str = "live-checks-admin-token-0123456789";
const APP: &str = "chat";

/// One row: a vendor's upload route, the sim's dev credential, the same credential with a
/// wrong secret, and the wrong secret's text (which no answer may contain).
struct Row {
    /// `{vendor}` of `PUT /v1/apps/{app}/credentials/{vendor}`.
    vendor: &'static str,
    /// Where the sim records the live check.
    sim_vendor: Vendor,
    /// The dev credential (accepted).
    good: Value,
    /// The same fields with a wrong secret (refused).
    bad: Value,
    /// Text of the wrong secret that must not appear in the refusal.
    secret: String,
}

/// Same length and alphabet, different value.
fn wrong(secret: &str) -> String {
    secret.chars().rev().collect()
}

fn certs(name: &str) -> String {
    std::fs::read_to_string(push_sim::repo_certs_dir().join(name)).unwrap()
}

/// A PEM `PRIVATE KEY` block of PKCS#8 DER.
fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
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

/// A fresh P-256 key: a well-formed .p8 that the sim's APNs does not know under the key id.
fn fresh_p8() -> String {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let doc = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    pem(doc.as_ref())
}

/// A fresh RSA key: a well-formed service-account key the sim's Google OAuth does not know.
fn fresh_rsa() -> String {
    use aws_lc_rs::encoding::Pkcs8V1Der;
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der: Pkcs8V1Der<'static> = key.as_der().unwrap();
    pem(der.as_ref())
}

/// The middle line of a PEM key: enough to recognise it if echoed.
fn pem_body_line(pem: &str) -> String {
    pem.lines().nth(2).unwrap().to_string()
}

/// Builds a row from the dev fields and the name of the secret field; the wrong credential
/// differs only in that field.
fn row(vendor: &'static str, sim_vendor: Vendor, good: Value, field: &str) -> Row {
    let secret = wrong(good[field].as_str().unwrap());
    let mut bad = good.clone();
    bad[field] = Value::String(secret.clone());
    Row {
        vendor,
        sim_vendor,
        good,
        bad,
        secret,
    }
}

fn table() -> Vec<Row> {
    let p8 = fresh_p8();
    let sa: Value = serde_json::from_str(&certs("fcm-service-account.json")).unwrap();
    let rsa = fresh_rsa();
    let mut wrong_sa = sa.clone();
    wrong_sa["private_key"] = Value::String(rsa.clone());
    vec![
        Row {
            vendor: "apns",
            sim_vendor: Vendor::Apns,
            good: json!({"key_id": DEV_APNS_KEY_ID, "team_id": DEV_APNS_TEAM_ID,
                         "private_key": certs("apns-authkey.p8")}),
            bad: json!({"key_id": DEV_APNS_KEY_ID, "team_id": DEV_APNS_TEAM_ID, "private_key": p8}),
            secret: pem_body_line(&p8),
        },
        Row {
            vendor: "fcm",
            sim_vendor: Vendor::Fcm,
            good: json!({"service_account": sa}),
            bad: json!({"service_account": wrong_sa}),
            secret: pem_body_line(&rsa),
        },
        row(
            "huawei",
            Vendor::Huawei,
            json!({"app_id": DEV_HUAWEI_APP_ID, "app_secret": DEV_HUAWEI_APP_SECRET}),
            "app_secret",
        ),
        row(
            "xiaomi",
            Vendor::Xiaomi,
            json!({"app_secret": DEV_XIAOMI_APP_SECRET, "package_name": DEV_XIAOMI_PACKAGE}),
            "app_secret",
        ),
        row(
            "oppo",
            Vendor::Oppo,
            json!({"app_key": DEV_OPPO_APP_KEY, "master_secret": DEV_OPPO_MASTER_SECRET}),
            "master_secret",
        ),
        row(
            "vivo",
            Vendor::Vivo,
            json!({"app_id": DEV_VIVO_APP_ID, "app_key": DEV_VIVO_APP_KEY,
                   "app_secret": DEV_VIVO_APP_SECRET}),
            "app_secret",
        ),
        row(
            "honor",
            Vendor::Honor,
            json!({"app_id": DEV_HONOR_APP_ID, "client_id": DEV_HONOR_CLIENT_ID,
                   "client_secret": DEV_HONOR_CLIENT_SECRET}),
            "client_secret",
        ),
        row(
            "wechat_oa",
            Vendor::Wechat,
            json!({"app_id": DEV_WECHAT_OA_APP_ID, "app_secret": DEV_WECHAT_OA_APP_SECRET}),
            "app_secret",
        ),
        row(
            "wechat_mp",
            Vendor::Wechat,
            json!({"app_id": DEV_WECHAT_MP_APP_ID, "app_secret": DEV_WECHAT_MP_APP_SECRET}),
            "app_secret",
        ),
    ]
}

struct Setup {
    sim: Sim,
    pushgate: support::InProcess,
}

impl std::ops::Deref for Setup {
    type Target = support::InProcess;

    fn deref(&self) -> &support::InProcess {
        &self.pushgate
    }
}

impl Setup {
    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Versions of `vendor` in the credential list.
    async fn versions(&self, vendor: &str) -> Vec<Value> {
        let (status, list) = self
            .send(
                reqwest::Method::GET,
                &format!("/v1/apps/{APP}/credentials"),
                &Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array()
            .unwrap()
            .iter()
            .filter(|c| c["vendor"] == vendor)
            .cloned()
            .collect()
    }

    /// Requests the sim's `vendor` has received so far.
    fn sim_requests(&self, vendor: Vendor) -> usize {
        self.sim
            .control()
            .requests(RequestFilter {
                vendor: Some(vendor),
                ..RequestFilter::default()
            })
            .len()
    }
}

async fn setup() -> Setup {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let pushgate = support::start_in_process(&sim, ADMIN).await;
    let s = Setup { sim, pushgate };
    let (status, body) = s
        .send(
            reqwest::Method::POST,
            "/v1/apps",
            &json!({"id": APP, "settings": {
                "apns": {"bundle_id": DEV_APNS_TOPIC},
                "android": {"package_name": DEV_XIAOMI_PACKAGE}}}),
        )
        .await;
    assert!(status.is_success(), "creating the app: {status} {body}");
    s
}

/// Checks one row; answers what went wrong (empty: the row passes).
async fn check(s: &Setup, row: &Row) -> Vec<String> {
    let mut problems = Vec::new();
    let path = format!("/v1/apps/{APP}/credentials/{}?check=live", row.vendor);
    let v = row.vendor;

    let asked_before = s.sim_requests(row.sim_vendor);
    let (status, body) = s.send(reqwest::Method::PUT, &path, &row.good).await;
    if status != StatusCode::CREATED {
        problems.push(format!(
            "{v}: the dev credential was not accepted: {status} {body}"
        ));
        return problems;
    }
    if s.sim_requests(row.sim_vendor) == asked_before {
        problems.push(format!(
            "{v}: accepted without asking the sim (no live check)"
        ));
    }
    if body["version"] != 1 || body["state"] != "active" {
        problems.push(format!(
            "{v}: the accepted upload is not active version 1: {body}"
        ));
    }

    let asked_before = s.sim_requests(row.sim_vendor);
    let (status, body) = s.send(reqwest::Method::PUT, &path, &row.bad).await;
    let text = body.to_string();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    if !status.is_client_error() {
        problems.push(format!("{v}: a wrong secret got {status} {body}"));
    }
    if status != StatusCode::UNPROCESSABLE_ENTITY || body["error"]["code"] != "credential_refused" {
        problems.push(format!(
            "{v}: a wrong secret is not `422 credential_refused` (the vendor's verdict): {status} {body}"
        ));
    }
    eprintln!("{v}: wrong secret → {status} {message}");
    let reason = message
        .split_once("refused the credential:")
        .map(|(_, r)| r.trim())
        .unwrap_or_default();
    if !message.contains(v) || reason.is_empty() {
        problems.push(format!(
            "{v}: the refusal does not name the vendor, the problem and the vendor's reason: {message:?}"
        ));
    }
    if text.contains(&row.secret) {
        problems.push(format!("{v}: the refusal contains the secret: {body}"));
    }
    if s.sim_requests(row.sim_vendor) == asked_before {
        problems.push(format!("{v}: refused without asking the sim"));
    }

    let versions = s.versions(v).await;
    let listed: Vec<(i64, &str)> = versions
        .iter()
        .map(|c| (c["version"].as_i64().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    if listed != [(1, "active")] {
        problems.push(format!(
            "{v}: after the refusal the list should hold only version 1, active: {listed:?}"
        ));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_checks_accept_dev_credentials_and_refuse_wrong_secrets_for_every_vendor() {
    let s = setup().await;
    let rows = table();
    let mut problems = Vec::new();
    for row in &rows {
        problems.extend(check(&s, row).await);
    }
    let vendors: Vec<&str> = rows.iter().map(|r| r.vendor).collect();
    assert!(
        problems.is_empty(),
        "live credential checks ({}):\n{}",
        vendors.join(", "),
        problems.join("\n")
    );
}
