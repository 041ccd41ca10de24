//! The sim's OPPO fake spoken to directly (no adapter): the auth endpoint's codes and the
//! broadcast API, which the adapter does not use.

use crate::helpers::*;
use push_sim::dev::{DEV_OPPO_APP_KEY, DEV_OPPO_MASTER_SECRET};
use push_sim::types::OppoRegIdState;
use serde_json::Value;

fn client(t: &TestApp) -> reqwest::Client {
    let pem = std::fs::read(t.sim.ca_pem_path()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap()
}

async fn post(t: &TestApp, path: &str, form: &[(&str, &str)]) -> Value {
    let url = format!("{}{path}", t.sim.oppo_url());
    let resp = client(t).post(url).form(form).send().await.unwrap();
    resp.json().await.unwrap()
}

fn sign(key: &str, ts: &str, secret: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{key}{ts}{secret}").as_bytes(),
    );
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

async fn token(t: &TestApp, path: &str) -> String {
    let ts = t.sim.control().clock().now_ms.to_string();
    let s = sign(DEV_OPPO_APP_KEY, &ts, DEV_OPPO_MASTER_SECRET);
    let v = post(
        t,
        path,
        &[
            ("app_key", DEV_OPPO_APP_KEY),
            ("timestamp", &ts),
            ("sign", &s),
        ],
    )
    .await;
    assert_eq!(v["code"], 0, "{v}");
    v["data"]["auth_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_auth_endpoint_answers_oppo_codes() {
    let t = spawn_app().await;
    let now = t.sim.control().clock().now_ms;
    let ts = now.to_string();
    let good = sign(DEV_OPPO_APP_KEY, &ts, DEV_OPPO_MASTER_SECRET);
    let old = (now - 11 * 60 * 1000).to_string();
    let old_sign = sign(DEV_OPPO_APP_KEY, &old, DEV_OPPO_MASTER_SECRET);
    let secs = (now / 1000).to_string();
    let secs_sign = sign(DEV_OPPO_APP_KEY, &secs, DEV_OPPO_MASTER_SECRET);
    let upper = good.to_uppercase();
    let k = DEV_OPPO_APP_KEY;
    let cases: Vec<(Vec<(&str, &str)>, i64)> = vec![
        (vec![("timestamp", &ts), ("sign", &good)], 15),
        (vec![("app_key", k), ("timestamp", &ts)], 17),
        (vec![("app_key", k), ("sign", &good)], 18),
        (
            vec![("app_key", k), ("timestamp", &old), ("sign", &old_sign)],
            19,
        ),
        (
            vec![("app_key", k), ("timestamp", &secs), ("sign", &secs_sign)],
            19,
        ),
        (
            vec![("app_key", "nobody"), ("timestamp", &ts), ("sign", &good)],
            14,
        ),
        (vec![("app_key", k), ("timestamp", &ts), ("sign", "00")], 16),
        (
            vec![("app_key", k), ("timestamp", &ts), ("sign", &upper)],
            16,
        ),
        (vec![("app_key", k), ("timestamp", &ts), ("sign", &good)], 0),
    ];
    for (form, code) in cases {
        let v = post(&t, "/server/v1/auth", &form).await;
        assert_eq!(v["code"], code, "{form:?}: {v}");
    }
}

#[tokio::test]
async fn tokens_are_per_host_and_sends_check_the_body() {
    let t = spawn_app().await;
    let china = token(&t, "/server/v1/auth").await;
    let message =
        r#"{"target_type":2,"target_value":"CN_a","notification":{"title":"t","content":"c"}}"#;
    let unicast = "/server/v1/message/notification/unicast";
    let v = post(&t, unicast, &[("message", message)]).await;
    assert_eq!(v["code"], 29, "no auth_token in the body: {v}");
    let v = post(
        &t,
        &format!("/intl{unicast}"),
        &[("auth_token", &china), ("message", message)],
    )
    .await;
    assert_eq!(v["code"], 11, "a China token on the overseas host: {v}");
    let v = post(&t, unicast, &[("auth_token", &china), ("message", "{")]).await;
    assert_eq!(v["code"], 41, "{v}");
    let v = post(&t, unicast, &[("auth_token", &china)]).await;
    assert_eq!(v["code"], 40, "{v}");
    let v = post(&t, unicast, &[("auth_token", &china), ("message", message)]).await;
    assert_eq!(v["code"], 0, "{v}");
    // An overseas registration id on the China host is invalid.
    let eu = r#"{"target_type":2,"target_value":"OPPO_EU_a","verify_registration_id":true,"notification":{"title":"t","content":"c"}}"#;
    let v = post(&t, unicast, &[("auth_token", &china), ("message", eu)]).await;
    assert_eq!(v["code"], 10000, "{v}");
}

#[tokio::test]
async fn broadcast_lists_bad_registration_ids_under_their_code() {
    let t = spawn_app().await;
    t.regid("CN_dead", OppoRegIdState::Invalid);
    t.regid("CN_off", OppoRegIdState::Unsubscribed);
    let auth = token(&t, "/server/v1/auth").await;
    let saved = post(
        &t,
        "/server/v1/message/notification/save_message_content",
        &[
            ("auth_token", &auth),
            ("title", "Alice"),
            ("content", "hi"),
            ("off_line_ttl", "3600"),
        ],
    )
    .await;
    assert_eq!(saved["code"], 0, "{saved}");
    let id = saved["data"]["message_id"].as_str().unwrap();
    let v = post(
        &t,
        "/server/v1/message/notification/broadcast",
        &[
            ("auth_token", &auth),
            ("message_id", id),
            ("target_type", "2"),
            ("target_value", "CN_a;CN_dead;CN_b;CN_off"),
        ],
    )
    .await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["message_id"], id);
    assert!(v["data"]["task_id"].is_string());
    assert_eq!(v["data"]["10000"], serde_json::json!(["CN_dead"]));
    assert_eq!(v["data"]["10001"], serde_json::json!(["CN_off"]));
    let unknown = post(
        &t,
        "/server/v1/message/notification/broadcast",
        &[
            ("auth_token", &auth),
            ("message_id", "nope"),
            ("target_type", "2"),
            ("target_value", "CN_a"),
        ],
    )
    .await;
    assert_eq!(unknown["code"], 31, "{unknown}");
}
