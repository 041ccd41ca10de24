//! The Honor fake over HTTPS, driven by reqwest as honor.md describes the API: OAuth at both
//! paths, the send's headers, validation, token states, classification, receipts, faults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Value, json};

use crate::control::types::{
    ErrorFault, FaultSpec, HonorCallbackSpec, HonorReceiptBatch, HonorTokenSpec, HonorTokenState,
    Vendor,
};
use crate::dev::{
    DEV_HONOR_APP_ID as APP, DEV_HONOR_CLIENT_ID as CLIENT, DEV_HONOR_CLIENT_SECRET as SECRET,
};
use crate::{Sim, SimConfig};

async fn sim() -> Sim {
    Sim::start(SimConfig {
        preload_dev: true,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn client(sim: &Sim) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(sim.ca_pem_path()).unwrap()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap()
}

async fn oauth(sim: &Sim, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = client(sim)
        .post(format!("{}{path}", sim.honor_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn token(sim: &Sim) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
    ];
    let (status, body) = oauth(sim, super::TOKEN_PATH, &form).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn send(sim: &Sim, token: Option<&str>, timestamp: bool, body: &Value) -> (u16, Value) {
    let mut req = client(sim)
        .post(format!("{}/api/v1/{APP}/sendMessage", sim.honor_url()))
        .json(body);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if timestamp {
        req = req.header("timestamp", "1700000000000");
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn message(tokens: &[&str]) -> Value {
    json!({
        "data": "{\"conv\":\"42\"}",
        "android": {
            "ttl": "86400s", "biTag": "n-1", "targetUserType": 0,
            "notification": {
                "title": "Alice", "body": "are you coming?",
                "clickAction": {"type": 3}, "importance": "NORMAL"
            }
        },
        "token": tokens
    })
}

#[tokio::test]
async fn oauth_answers_at_both_paths() {
    let sim = sim().await;
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
    ];
    for path in [super::TOKEN_PATH, super::TOKEN_PATH_SHORT] {
        let (status, body) = oauth(&sim, path, &good).await;
        assert_eq!(status, 200);
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["token_type"], "Bearer");
    }
    let wrong = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", "x"),
    ];
    let (status, body) = oauth(&sim, super::TOKEN_PATH, &wrong).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("invalid_client"))
    );
    let grant = [
        ("grant_type", "password"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
    ];
    assert_eq!(oauth(&sim, super::TOKEN_PATH, &grant).await.0, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn sends_need_bearer_and_timestamp() {
    let sim = sim().await;
    let t = token(&sim).await;
    let ok = send(&sim, Some(&t), true, &message(&["tok-1"])).await;
    assert_eq!(ok.0, 200);
    assert_eq!(ok.1["code"], 200);
    assert_eq!(ok.1["data"]["sendResult"], true);
    assert!(ok.1["data"]["requestId"].as_str().is_some());
    assert_eq!(send(&sim, None, true, &message(&["tok-1"])).await.0, 401);
    let raw = client(&sim)
        .post(format!("{}/api/v1/{APP}/sendMessage", sim.honor_url()))
        .header("authorization", &t)
        .header("timestamp", "1")
        .json(&message(&["tok-1"]))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401, "a raw token without Bearer is refused");
    let no_ts = send(&sim, Some(&t), false, &message(&["tok-1"])).await;
    assert_eq!((no_ts.0, no_ts.1["code"].clone()), (400, json!(80100001)));
    let other = client(&sim)
        .post(format!("{}/api/v1/999/sendMessage", sim.honor_url()))
        .bearer_auth(&t)
        .header("timestamp", "1")
        .json(&message(&["tok-1"]))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
    sim.control().expire_honor_access_tokens();
    let expired = send(&sim, Some(&t), true, &message(&["tok-1"])).await;
    assert_eq!(
        (expired.0, expired.1["code"].clone()),
        (401, json!(80200003))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_refuses_what_honor_would() {
    let sim = sim().await;
    let t = token(&sim).await;
    let patch = |f: &dyn Fn(&mut Value)| {
        let mut m = message(&["tok-1"]);
        f(&mut m);
        m
    };
    let cases: Vec<(Value, i64)> = vec![
        (patch(&|m| m["android"]["bi_tag"] = json!("x")), 80100001),
        (
            patch(&|m| m["android"]["notification"]["click_action"] = json!({"type": 3})),
            80100001,
        ),
        (
            patch(&|m| m["android"]["ttl"] = json!("1296001s")),
            80100001,
        ),
        (patch(&|m| m["android"]["ttl"] = json!("10")), 80100001),
        (
            patch(&|m| {
                m["android"]["notification"]
                    .as_object_mut()
                    .unwrap()
                    .remove("clickAction")
                    .map(|_| ())
                    .unwrap()
            }),
            80100001,
        ),
        (
            patch(&|m| {
                m["android"]["notification"]["clickAction"] = json!({"type": 2, "url": "http://x"})
            }),
            80100001,
        ),
        (
            patch(&|m| m["android"]["notification"]["style"] = json!(1)),
            80100001,
        ),
        (
            patch(&|m| m["android"]["notification"]["buttons"] = json!([{}, {}, {}, {}])),
            80100001,
        ),
        (
            patch(&|m| m["android"]["notification"]["badge"] = json!({"setNum": 100})),
            80100001,
        ),
        (
            patch(&|m| m["android"]["notification"]["importance"] = json!("HIGH")),
            80100001,
        ),
        (patch(&|m| m["data"] = json!({"a": 1})), 80100001),
        (
            patch(&|m| m["notification"] = json!({"title": "A", "image_url": "https://x"})),
            80100001,
        ),
        (
            patch(&|m| {
                m["android"]["notification"]["clickAction"] =
                    json!({"type": 1, "intent": "x", "intent_type": 0})
            }),
            80100001,
        ),
        (
            patch(&|m| {
                m["android"]["notification"]["badge"] =
                    json!({"addNum": 1, "class": "com.example.Main", "set_num": 1})
            }),
            80100001,
        ),
        (
            patch(&|m| {
                m["android"]["notification"]["buttons"] =
                    json!([{"name": "Open", "actionType": 0}, {"name": "Reply", "action_type": 1}])
            }),
            80100001,
        ),
        (patch(&|m| m["token"] = json!([])), 80300010),
        (patch(&|m| m["data"] = json!("x".repeat(5000))), 80300008),
    ];
    for (body, code) in cases {
        let (_, answer) = send(&sim, Some(&t), true, &body).await;
        assert_eq!(answer["code"], code, "{body}: {answer}");
    }
    // The same nested objects in camelCase pass.
    let camel = patch(&|m| {
        let n = &mut m["android"]["notification"];
        n["clickAction"] = json!({"type": 1, "intent": "x"});
        n["badge"] = json!({"addNum": 1, "badgeClass": "com.example.Main", "setNum": 1});
        n["buttons"] = json!([{"name": "Open", "actionType": 0, "intentType": 0}]);
    });
    let (status, answer) = send(&sim, Some(&t), true, &camel).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (200, json!(200)),
        "{answer}"
    );
    let (_, answer) = send(
        &sim,
        Some(&t),
        true,
        &patch(&|m| m["android"]["notification"]["buttons"] = json!([{"action_type": 1}])),
    )
    .await;
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("android.notification.buttons[0].action_type")),
        "{answer}"
    );
    let many: Vec<String> = (0..1001).map(|i| format!("tok-{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        send(&sim, Some(&t), true, &message(&many)).await.1["code"],
        80300010
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn token_states_fill_the_token_lists() {
    let sim = sim().await;
    for (token, state) in [
        ("tok-old", HonorTokenState::Expired),
        ("tok-bad", HonorTokenState::Failing),
    ] {
        sim.control()
            .set_honor_token(HonorTokenSpec {
                app_id: APP.into(),
                token: token.into(),
                state,
                receipt_status: None,
            })
            .unwrap();
    }
    let t = token(&sim).await;
    let (_, expired) = send(&sim, Some(&t), true, &message(&["tok-1", "tok-old"])).await;
    assert_eq!(expired["code"], 200);
    assert_eq!(expired["data"]["expireTokens"], json!(["tok-old"]));
    let (_, partial) = send(&sim, Some(&t), true, &message(&["tok-1", "tok-bad"])).await;
    assert_eq!(partial["code"], 80100000);
    assert_eq!(partial["data"]["failTokens"], json!(["tok-bad"]));
    let (_, all) = send(&sim, Some(&t), true, &message(&["tok-old"])).await;
    assert_eq!(all["code"], 80300007);
    sim.shutdown().await;
}

type Seen = Arc<Mutex<Vec<Value>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/receipts",
        axum::routing::post(move |body: Bytes| {
            let s = s.clone();
            async move {
                s.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/receipts"), seen)
}

async fn batches(sim: &Sim, n: usize) -> Vec<HonorReceiptBatch> {
    for _ in 0..300 {
        let r = sim.control().honor_receipts();
        if r.len() >= n {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} receipt batches");
}

#[tokio::test]
async fn receipts_echo_bi_tag_and_count_marketing_per_device() {
    let sim = sim().await;
    // Daytime in China: nothing is held.
    shift_to_china_hour(&sim, 12);
    let seen = receipts_to_receiver(&sim).await;
    sim.control()
        .set_honor_token(HonorTokenSpec {
            app_id: APP.into(),
            token: "tok-click".into(),
            state: HonorTokenState::Valid,
            receipt_status: Some(40000007),
        })
        .unwrap();
    let t = token(&sim).await;
    let (_, ok) = send(&sim, Some(&t), true, &message(&["tok-1", "tok-click"])).await;
    let b = batches(&sim, 1).await;
    assert!(b[0].delivered);
    let body = seen.lock().unwrap()[0].clone();
    let statuses = body["statuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[0]["biTag"], "n-1");
    assert_eq!(statuses[0]["requestId"], ok["data"]["requestId"]);
    assert_eq!(statuses[0]["appid"], APP);
    assert_eq!(statuses[0]["status"], 40000002);
    assert_eq!(statuses[1]["status"], 40000007);
    let mut low = message(&["tok-2"]);
    low["android"]["notification"]["importance"] = json!("LOW");
    for _ in 0..3 {
        send(&sim, Some(&t), true, &low).await;
    }
    let b = batches(&sim, 4).await;
    assert_eq!(
        b[3].statuses[0].status, 40000009,
        "the third LOW message of the day"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn test_messages_are_exempt_from_the_marketing_quota() {
    let sim = sim().await;
    // Daytime in China: nothing is held.
    shift_to_china_hour(&sim, 12);
    let _seen = receipts_to_receiver(&sim).await;
    let t = token(&sim).await;
    let mut low_test = message(&["tok-3"]);
    low_test["android"]["notification"]["importance"] = json!("LOW");
    low_test["android"]["targetUserType"] = json!(1);
    for _ in 0..4 {
        let (_, answer) = send(&sim, Some(&t), true, &low_test).await;
        assert_eq!(answer["code"], 200, "{answer}");
    }
    let b = batches(&sim, 4).await;
    assert!(
        b.iter().all(|b| b.statuses[0].status == 40000002),
        "four LOW test messages are all shown: {b:?}"
    );
    // They did not use the device's quota either: two normal LOW messages still pass, the
    // third does not.
    let mut low = low_test.clone();
    low["android"]["targetUserType"] = json!(0);
    for _ in 0..3 {
        send(&sim, Some(&t), true, &low).await;
    }
    let b = batches(&sim, 7).await;
    // Receipts are posted concurrently, so their order is not the sends'.
    let mut statuses: Vec<u32> = b[4..].iter().map(|b| b.statuses[0].status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![40000002, 40000002, 40000009]);
    sim.shutdown().await;
}

/// Shifts the sim clock to `hour`:xx Beijing time, later today or tomorrow.
/// Registers a local receiver as the app's receipt URL; answers what it receives.
async fn receipts_to_receiver(sim: &Sim) -> Seen {
    let (url, seen) = receiver().await;
    sim.control()
        .add_honor_callback(HonorCallbackSpec {
            app_id: APP.into(),
            url,
            ..Default::default()
        })
        .unwrap();
    seen
}

fn shift_to_china_hour(sim: &Sim, hour: i64) {
    let now = super::china_hour(sim.control().clock().now_ms);
    let seconds = (hour - now).rem_euclid(24) * 3600;
    sim.control()
        .shift_clock(crate::control::types::ClockShift { seconds });
}

#[tokio::test]
async fn messages_sent_at_night_are_held_until_six() {
    let sim = sim().await;
    shift_to_china_hour(&sim, 2);
    let seen = receipts_to_receiver(&sim).await;
    let t = token(&sim).await;
    let (_, ok) = send(&sim, Some(&t), true, &message(&["tok-night"])).await;
    assert_eq!(ok["code"], 200, "{ok}");
    // The news & marketing quota counts held messages too: the third LOW one to a device
    // is discarded when the hold ends.
    let mut low = message(&["tok-low"]);
    low["android"]["notification"]["importance"] = json!("LOW");
    for _ in 0..3 {
        let (_, answer) = send(&sim, Some(&t), true, &low).await;
        assert_eq!(answer["code"], 200, "{answer}");
    }
    // Several polls of the hold go by: nothing is posted before 06:00.
    tokio::time::sleep(super::receipts::HOLD_POLL * 4).await;
    assert!(sim.control().honor_receipts().is_empty());
    assert!(seen.lock().unwrap().is_empty());

    // 02:xx + 4 h is past 06:00 the same day.
    sim.control()
        .shift_clock(crate::control::types::ClockShift { seconds: 4 * 3600 });
    let b = batches(&sim, 1).await;
    assert!(b[0].delivered);
    let statuses: Vec<_> = b.iter().flat_map(|b| b.statuses.clone()).collect();
    assert_eq!(statuses.len(), 4, "{b:?}");
    let night = &statuses[0];
    assert_eq!(night.token, "tok-night");
    assert_eq!(night.status, 40000002, "the receipt it would get by day");
    assert_eq!(night.request_id, ok["data"]["requestId"].as_str().unwrap());
    assert_eq!(night.bi_tag.as_deref(), Some("n-1"));
    assert_eq!(
        super::china_hour(night.timestamp),
        6,
        "delivered at the release"
    );
    assert_eq!(night.timestamp % 3_600_000, 0);
    let low: Vec<u32> = statuses[1..].iter().map(|s| s.status).collect();
    assert_eq!(low, vec![40000002, 40000002, 40000009]);
    assert_eq!(seen.lock().unwrap().len(), b.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_reset_drops_held_receipts() {
    let sim = sim().await;
    shift_to_china_hour(&sim, 3);
    let t = token(&sim).await;
    send(&sim, Some(&t), true, &message(&["tok-night"])).await;
    sim.control().reset();
    let _seen = receipts_to_receiver(&sim).await;
    // The reset put the clock back; two days on, the release is long past.
    sim.control()
        .shift_clock(crate::control::types::ClockShift {
            seconds: 2 * 86_400,
        });
    tokio::time::sleep(super::receipts::HOLD_POLL * 4).await;
    assert!(sim.control().honor_receipts().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_answer_with_honor_codes() {
    let sim = sim().await;
    let t = token(&sim).await;
    let fault = FaultSpec {
        error: Some(ErrorFault {
            rate: 1.0,
            status: 503,
            reason: String::new(),
            retry_after: Some("3".into()),
            count: Some(1),
        }),
        ..FaultSpec::default()
    };
    sim.control().set_faults(Vendor::Honor, fault).unwrap();
    let (status, _) = send(&sim, Some(&t), true, &message(&["tok-1"])).await;
    assert_eq!(status, 503);
    assert_eq!(
        send(&sim, Some(&t), true, &message(&["tok-1"])).await.1["code"],
        200
    );
    sim.shutdown().await;
}
