//! The vivo fake over HTTPS, driven by reqwest as vivo's documentation describes the API
//! (vivo.md §2–§9): auth, sends, list sends, quotas, receipts, faults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Value, json};

use crate::control::types::{
    ErrorFault, FaultSpec, Vendor, VivoAck, VivoAppSpec, VivoReceiptConfig, VivoReceiptPost,
    VivoTokenSpec, VivoTokenState,
};
use crate::dev::{DEV_VIVO_APP_ID as APP, DEV_VIVO_APP_KEY as KEY, DEV_VIVO_APP_SECRET as SECRET};
use crate::{Sim, SimConfig};
use md5::{Digest, Md5};

const REG: &str = "16512345678901234567890";

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

fn now_ms() -> i64 {
    crate::clock::SimClock::default().now_ms()
}

fn auth_body(app: &str, key: &str, secret: &str, ts: i64) -> Value {
    let sign = hex::encode(Md5::digest(format!("{app}{key}{ts}{secret}").as_bytes()));
    json!({ "appId": app, "appKey": key, "timestamp": ts, "sign": sign })
}

async fn post(sim: &Sim, api: &str, token: Option<&str>, body: &Value) -> Value {
    let mut req = client(sim)
        .post(format!("{}/message/{api}", sim.vivo_url()))
        .json(body);
    if let Some(t) = token {
        req = req.header("authToken", t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200, "{api}");
    resp.json().await.unwrap()
}

async fn token(sim: &Sim) -> String {
    let sim_now = sim.control().clock().now_ms;
    let a = post(sim, "auth", None, &auth_body(APP, KEY, SECRET, sim_now)).await;
    assert_eq!(a["result"], 0, "{a}");
    a["authToken"].as_str().unwrap().to_string()
}

fn message(request_id: &str) -> Value {
    json!({
        "regId": REG, "notifyType": 4, "title": "Alice", "content": "are you coming?",
        "timeToLive": 86400, "skipType": 1, "classification": 1, "category": "IM",
        "requestId": request_id, "clientCustomMap": {"conv": "42"}
    })
}

#[tokio::test]
async fn auth_checks_sign_timestamp_app_and_rate() {
    let sim = sim().await;
    let ok = post(&sim, "auth", None, &auth_body(APP, KEY, SECRET, now_ms())).await;
    assert_eq!(ok["result"], 0);
    assert!(ok["authToken"].as_str().is_some_and(|t| !t.is_empty()));
    let cases = [
        (auth_body(APP, KEY, "wrong", now_ms()), 10206),
        (
            auth_body(APP, KEY, SECRET, now_ms() - 11 * 60 * 1000),
            10207,
        ),
        (auth_body("999", KEY, SECRET, now_ms()), 10200),
        (auth_body(APP, "other-key", SECRET, now_ms()), 10200),
        (json!({"appId": APP, "timestamp": now_ms()}), 10200),
    ];
    for (body, code) in cases {
        assert_eq!(
            post(&sim, "auth", None, &body).await["result"],
            code,
            "{body}"
        );
    }
    let mut upper = auth_body(APP, KEY, SECRET, now_ms());
    upper["sign"] = json!(upper["sign"].as_str().unwrap().to_uppercase());
    assert_eq!(post(&sim, "auth", None, &upper).await["result"], 10206);
    let mut limited = false;
    for _ in 0..12 {
        let a = post(&sim, "auth", None, &auth_body(APP, KEY, SECRET, now_ms())).await;
        limited |= a["result"] == 10250;
    }
    assert!(limited, "the auth call limit answers 10250");
    assert!(sim.control().counters().vendor(Vendor::Vivo).auth_requests >= 12);
    sim.shutdown().await;
}

#[tokio::test]
async fn sends_need_a_live_auth_token_in_the_authtoken_header() {
    let sim = sim().await;
    let missing = post(&sim, "send", None, &message("r-1")).await;
    assert_eq!(missing["result"], 10000);
    assert!(missing["desc"].as_str().unwrap().contains("authToken"));
    let t = token(&sim).await;
    let bearer = client(&sim)
        .post(format!("{}/message/send", sim.vivo_url()))
        .bearer_auth(&t)
        .json(&message("r-2"))
        .send()
        .await
        .unwrap();
    let bearer: Value = bearer.json().await.unwrap();
    assert_eq!(
        bearer["result"], 10000,
        "Authorization: Bearer is not accepted"
    );
    let ok = post(&sim, "send", Some(&t), &message("r-3")).await;
    assert_eq!(ok["result"], 0, "{ok}");
    assert_eq!(ok["taskId"].as_str().unwrap().len(), 19);
    assert_eq!(sim.control().expire_vivo_auth_tokens(), 1);
    assert_eq!(
        post(&sim, "send", Some(&t), &message("r-4")).await["result"],
        10000
    );
    let t = token(&sim).await;
    let mut other = message("r-5");
    other["appId"] = json!("123");
    assert_eq!(post(&sim, "send", Some(&t), &other).await["result"], 10094);
    sim.shutdown().await;
}

#[tokio::test]
async fn request_ids_are_deduplicated_and_fields_validated() {
    let sim = sim().await;
    let t = token(&sim).await;
    let first = post(&sim, "send", Some(&t), &message("same")).await;
    let again = post(&sim, "send", Some(&t), &message("same")).await;
    assert_eq!(first, again, "a repeated requestId is not sent twice");
    let mut long = message("r-long");
    long["title"] = json!("你".repeat(21));
    let bad = post(&sim, "send", Some(&t), &long).await;
    assert_eq!(bad["result"], 10101);
    assert!(bad["desc"].as_str().unwrap().contains("title"));
    let mut no_id = message("x");
    no_id.as_object_mut().unwrap().remove("requestId");
    assert_eq!(post(&sim, "send", Some(&t), &no_id).await["result"], 10101);
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_targets_answer_10302_with_their_status() {
    let sim = sim().await;
    let t = token(&sim).await;
    let states = [
        ("16512345678900000000001", VivoTokenState::NotExist, 1),
        ("16512345678900000000002", VivoTokenState::Uninstalled, 2),
        ("16512345678900000000003", VivoTokenState::Offline, 3),
    ];
    for (i, (reg, state, status)) in states.iter().enumerate() {
        sim.control()
            .set_vivo_token(VivoTokenSpec {
                app_id: APP.into(),
                reg_id: (*reg).into(),
                state: *state,
                receipt: None,
            })
            .unwrap();
        let mut m = message(&format!("inv-{i}"));
        m["regId"] = json!(reg);
        let a = post(&sim, "send", Some(&t), &m).await;
        assert_eq!(a["result"], 10302, "{a}");
        assert_eq!(a["invalidUser"], json!({"status": status, "userid": reg}));
    }
    let mut short = message("inv-short");
    short["regId"] = json!("too-short");
    assert_eq!(
        post(&sim, "send", Some(&t), &short).await["invalidUser"]["status"],
        1
    );
    let mut test = message("inv-test");
    test["pushMode"] = json!(1);
    assert_eq!(
        post(&sim, "send", Some(&t), &test).await["invalidUser"]["status"],
        4
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn list_sends_store_a_payload_then_push_to_2_to_1000_reg_ids() {
    let sim = sim().await;
    let t = token(&sim).await;
    let dead = "16512345678900000000009";
    sim.control()
        .set_vivo_token(VivoTokenSpec {
            app_id: APP.into(),
            reg_id: dead.into(),
            state: VivoTokenState::Uninstalled,
            receipt: None,
        })
        .unwrap();
    let mut payload = message("p-1");
    payload.as_object_mut().unwrap().remove("regId");
    let saved = post(&sim, "saveListPayload", Some(&t), &payload).await;
    assert_eq!(saved["result"], 0, "{saved}");
    let task = saved["taskId"].as_str().unwrap();
    let push = json!({"regIds": [REG, dead], "taskId": task, "requestId": "l-1"});
    let pushed = post(&sim, "pushToList", Some(&t), &push).await;
    assert_eq!(pushed["result"], 0, "{pushed}");
    assert_eq!(pushed["taskId"], task);
    assert_eq!(
        pushed["invalidUsers"],
        json!([{"status": 2, "userid": dead}])
    );
    let one = json!({"regIds": [REG], "taskId": task, "requestId": "l-2"});
    assert_eq!(
        post(&sim, "pushToList", Some(&t), &one).await["result"],
        10252
    );
    let many: Vec<String> = (0..1001).map(|i| format!("{i:023}")).collect();
    let too_many = json!({"regIds": many, "taskId": task, "requestId": "l-3"});
    assert_eq!(
        post(&sim, "pushToList", Some(&t), &too_many).await["result"],
        10252
    );
    let unknown = json!({"regIds": [REG, dead], "taskId": "1", "requestId": "l-4"});
    assert_eq!(
        post(&sim, "pushToList", Some(&t), &unknown).await["result"],
        10101
    );
    let records = sim
        .control()
        .requests(crate::control::types::RequestFilter {
            vendor: Some(Vendor::Vivo),
            token: Some(dead.into()),
            ..Default::default()
        });
    assert_eq!(
        records.len(),
        2,
        "both list requests naming the regId are logged"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_daily_total_answers_10070_until_midnight() {
    let sim = sim().await;
    sim.control()
        .add_vivo_app(VivoAppSpec {
            app_id: APP.into(),
            app_key: KEY.into(),
            app_secret: SECRET.into(),
            test_devices: vec![REG.into()],
            ..VivoAppSpec::default()
        })
        .unwrap();
    let t = token(&sim).await;
    let op = |i: usize| {
        let mut m = message(&format!("q-{i}"));
        m["pushMode"] = json!(1);
        m["classification"] = json!(0);
        m["category"] = json!("NEWS");
        m
    };
    for i in 0..100 {
        assert_eq!(
            post(&sim, "send", Some(&t), &op(i)).await["result"],
            0,
            "{i}"
        );
    }
    assert_eq!(
        post(&sim, "send", Some(&t), &op(100)).await["result"],
        10070
    );
    sim.control()
        .shift_clock(crate::control::types::ClockShift { seconds: 86_400 });
    let t = token(&sim).await;
    assert_eq!(post(&sim, "send", Some(&t), &op(101)).await["result"], 0);
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

async fn posted(sim: &Sim, n: usize) -> Vec<VivoReceiptPost> {
    for _ in 0..300 {
        let r = sim.control().vivo_receipts();
        if r.len() >= n {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "expected {n} receipts, got {:?}",
        sim.control().vivo_receipts()
    );
}

#[tokio::test]
async fn receipts_are_posted_keyed_by_task_id_in_both_styles() {
    let sim = sim().await;
    let (url, seen) = receiver().await;
    sim.control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: APP.into(),
            receipt_id: "1234".into(),
            url: url.clone(),
            ..Default::default()
        })
        .unwrap();
    let t = token(&sim).await;
    let mut m = message("rc-1");
    m["extra"] = json!({"callback.id": "1234", "callback.param": "d-1"});
    let task = post(&sim, "send", Some(&t), &m).await["taskId"].clone();
    let mut old = message("rc-2");
    old["extra"] = json!({"callback": url, "callback.param": "d-2"});
    let task2 = post(&sim, "send", Some(&t), &old).await["taskId"].clone();
    let posts = posted(&sim, 2).await;
    assert!(posts.iter().all(|p| p.delivered && p.attempts == 1));
    let bodies = seen.lock().unwrap().clone();
    let entry = bodies
        .iter()
        .find_map(|b| b.get(task.as_str().unwrap()))
        .unwrap();
    assert_eq!(entry["targets"], REG);
    assert_eq!(entry["param"], "d-1");
    assert_eq!(entry["ackType"], "0");
    assert!(entry["ackTime"].as_i64().is_some());
    assert!(
        bodies
            .iter()
            .any(|b| b[task2.as_str().unwrap()]["param"] == "d-2")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn operation_messages_over_the_device_limit_are_controlled() {
    let sim = sim().await;
    // Daytime in China (07:00-23:00): operation messages are not held.
    shift_to_china_hour(&sim, 12);
    let (url, _seen) = receiver().await;
    sim.control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: APP.into(),
            receipt_id: "7".into(),
            url,
            ..Default::default()
        })
        .unwrap();
    let forced = "16512345678900000000077";
    sim.control()
        .set_vivo_token(VivoTokenSpec {
            app_id: APP.into(),
            reg_id: forced.into(),
            state: VivoTokenState::Valid,
            receipt: Some(VivoAck {
                ack_type: 104,
                sub_ack_type: Some(2183),
            }),
        })
        .unwrap();
    let t = token(&sim).await;
    for i in 0..3 {
        let mut m = message(&format!("op-{i}"));
        m["classification"] = json!(0);
        m["category"] = json!("MARKETING");
        m["extra"] = json!({"callback.id": "7"});
        assert_eq!(post(&sim, "send", Some(&t), &m).await["result"], 0);
    }
    let mut m = message("forced");
    m["regId"] = json!(forced);
    m["extra"] = json!({"callback.id": "7"});
    post(&sim, "send", Some(&t), &m).await;
    let posts = posted(&sim, 4).await;
    let third = &posts[2].entry;
    assert_eq!(
        (third.ack_type.as_str(), third.sub_ack_type.as_deref()),
        ("100", Some("12000"))
    );
    let last = &posts[3].entry;
    assert_eq!(
        (last.ack_type.as_str(), last.sub_ack_type.as_deref()),
        ("104", Some("2183"))
    );
    sim.shutdown().await;
}

/// Shifts the sim clock forward to `hour`:xx in China (UTC+8).
fn shift_to_china_hour(sim: &Sim, hour: i64) {
    let now = super::china_hour(sim.control().clock().now_ms);
    let seconds = (hour - now).rem_euclid(24) * 3600;
    sim.control()
        .shift_clock(crate::control::types::ClockShift { seconds });
}

/// Sends a MARKETING message with receipts to console receipt `7`; returns its taskId.
async fn send_operation(sim: &Sim, t: &str, request_id: &str) -> String {
    let mut m = message(request_id);
    m["classification"] = json!(0);
    m["category"] = json!("MARKETING");
    m["extra"] = json!({"callback.id": "7"});
    let a = post(sim, "send", Some(t), &m).await;
    assert_eq!(a["result"], 0, "{a}");
    a["taskId"].as_str().unwrap().to_string()
}

/// (ackType, subAckType) of the receipt posted for `task`.
fn ack_of(posts: &[VivoReceiptPost], task: &str) -> (String, Option<String>) {
    let p = posts.iter().find(|p| p.task_id == task).unwrap();
    (p.entry.ack_type.clone(), p.entry.sub_ack_type.clone())
}

#[tokio::test]
async fn messages_held_at_night_do_not_use_the_devices_daily_quota() {
    let sim = sim().await;
    // 02:00 in China: operation messages are held, not delivered.
    shift_to_china_hour(&sim, 2);
    let (url, _seen) = receiver().await;
    sim.control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: APP.into(),
            receipt_id: "7".into(),
            url,
            ..Default::default()
        })
        .unwrap();
    let t = token(&sim).await;
    let mut night = Vec::new();
    for i in 0..3 {
        night.push(send_operation(&sim, &t, &format!("night-{i}")).await);
    }
    // 12:00 the same China day: the device still has its 2 operation messages.
    shift_to_china_hour(&sim, 12);
    let t = token(&sim).await;
    let mut day = Vec::new();
    for i in 0..3 {
        day.push(send_operation(&sim, &t, &format!("day-{i}")).await);
    }
    let posts = posted(&sim, 6).await;
    let held = (String::from("104"), Some(String::from("1017")));
    for task in &night {
        assert_eq!(ack_of(&posts, task), held);
    }
    let delivered = (String::from("0"), None);
    assert_eq!(ack_of(&posts, &day[0]), delivered);
    assert_eq!(ack_of(&posts, &day[1]), delivered);
    assert_eq!(
        ack_of(&posts, &day[2]),
        (String::from("100"), Some(String::from("12000")))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn ack_time_is_when_a_delayed_receipt_is_posted() {
    let sim = sim().await;
    let (url, _seen) = receiver().await;
    sim.control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: APP.into(),
            receipt_id: "1234".into(),
            url,
            delay_ms: 400,
            ..Default::default()
        })
        .unwrap();
    let t = token(&sim).await;
    let mut m = message("late-1");
    m["extra"] = json!({"callback.id": "1234"});
    let before = sim.control().clock().now_ms;
    let a = post(&sim, "send", Some(&t), &m).await;
    let sent = sim.control().clock().now_ms;
    assert_eq!(a["result"], 0, "{a}");
    let posts = posted(&sim, 1).await;
    let posted_by = sim.control().clock().now_ms;
    let ack = posts[0].entry.ack_time;
    assert!(ack >= before + 400, "{ack} vs send at {before}..{sent}");
    assert!(ack <= posted_by, "{ack} vs posted by {posted_by}");
    sim.shutdown().await;
}

/// The bodies posted so far, once `n` have arrived.
async fn bodies(seen: &Seen, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let b = seen.lock().unwrap().clone();
        if b.len() >= n {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} receipt posts, got {:?}", seen.lock().unwrap());
}

/// regIds in an entry's `targets`.
fn target_count(entry: &Value) -> usize {
    entry["targets"].as_str().unwrap().split(',').count()
}

#[tokio::test]
async fn receipts_are_split_at_the_configured_batch_size() {
    let sim = sim().await;
    let (url, seen) = receiver().await;
    sim.control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: APP.into(),
            receipt_id: "55".into(),
            url,
            batch_size: 2,
            ..Default::default()
        })
        .unwrap();
    let zero = VivoReceiptConfig {
        app_id: APP.into(),
        receipt_id: "56".into(),
        url: "http://127.0.0.1:9/r".into(),
        batch_size: 0,
        ..Default::default()
    };
    assert!(sim.control().add_vivo_receipt_config(zero).is_err());
    let t = token(&sim).await;
    let mut payload = message("bs-p");
    payload.as_object_mut().unwrap().remove("regId");
    payload["extra"] = json!({"callback.id": "55", "callback.param": "n-1"});
    let saved = post(&sim, "saveListPayload", Some(&t), &payload).await;
    let task = saved["taskId"].as_str().unwrap().to_string();
    let regs: Vec<String> = (0..5)
        .map(|i| format!("165123456789000000001{i:02}"))
        .collect();
    let push = json!({"regIds": regs, "taskId": task, "requestId": "bs-1"});
    assert_eq!(post(&sim, "pushToList", Some(&t), &push).await["result"], 0);
    let posts = posted(&sim, 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bodies = seen.lock().unwrap().clone();
    // 5 regIds, at most 2 a POST: 3 POSTs, each keyed by the one taskId.
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    let mut counts: Vec<usize> = bodies
        .iter()
        .map(|b| {
            let o = b.as_object().unwrap();
            assert_eq!(o.len(), 1, "{b}");
            target_count(&o[&task])
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 2, 2]);
    let mut posted_regs: Vec<String> = bodies
        .iter()
        .flat_map(|b| {
            b[&task]["targets"]
                .as_str()
                .unwrap()
                .split(',')
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    posted_regs.sort();
    assert_eq!(posted_regs, regs);
    let mut ids: Vec<u64> = posts.iter().map(|p| p.post_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "one record per POST: {posts:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn receipts_of_sends_due_together_share_one_post_keyed_by_task_id() {
    let sim = sim().await;
    let (url, seen) = receiver().await;
    sim.control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: APP.into(),
            receipt_id: "1234".into(),
            url,
            collect_ms: 500,
            batch_size: 3,
            ..Default::default()
        })
        .unwrap();
    let t = token(&sim).await;
    let mut tasks = Vec::new();
    for i in 0..4 {
        let mut m = message(&format!("many-{i}"));
        m["regId"] = json!(format!("165123456789000000002{i:02}"));
        m["extra"] = json!({"callback.id": "1234", "callback.param": format!("d-{i}")});
        let a = post(&sim, "send", Some(&t), &m).await;
        assert_eq!(a["result"], 0, "{a}");
        tasks.push(a["taskId"].as_str().unwrap().to_string());
    }
    let posts = posted(&sim, 4).await;
    let bodies = bodies(&seen, 2).await;
    // Four one-regId receipts due within the window, at most 3 regIds a POST.
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let first = bodies[0].as_object().unwrap();
    assert_eq!(first.len(), 3, "{first:?}");
    for (i, task) in tasks.iter().take(3).enumerate() {
        assert_eq!(first[task]["param"], format!("d-{i}"));
        assert_eq!(target_count(&first[task]), 1);
    }
    assert_eq!(bodies[1].as_object().unwrap().len(), 1);
    assert_eq!(bodies[1][&tasks[3]]["param"], "d-3");
    let shared: Vec<u64> = tasks
        .iter()
        .map(|task| posts.iter().find(|p| &p.task_id == task).unwrap().post_id)
        .collect();
    assert_eq!(shared[0], shared[1]);
    assert_eq!(shared[1], shared[2]);
    assert_ne!(shared[2], shared[3]);
    sim.shutdown().await;
}

#[tokio::test]
async fn old_style_callbacks_follow_the_configuration_naming_their_url() {
    let sim = sim().await;
    let (url, seen) = receiver().await;
    sim.control()
        .add_vivo_receipt_config(VivoReceiptConfig {
            app_id: APP.into(),
            receipt_id: "9".into(),
            url: url.clone(),
            delay_ms: 400,
            duplicate: true,
            ..Default::default()
        })
        .unwrap();
    let t = token(&sim).await;
    let mut m = message("old-late");
    m["extra"] = json!({"callback": url, "callback.param": "d-old"});
    let before = sim.control().clock().now_ms;
    let started = std::time::Instant::now();
    let task = post(&sim, "send", Some(&t), &m).await["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(seen.lock().unwrap().is_empty(), "posted before the delay");
    let posts = posted(&sim, 2).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(posts.iter().all(|p| p.task_id == task && p.delivered));
    assert!(posts[0].entry.ack_time >= before + 400);
    assert_ne!(posts[0].post_id, posts[1].post_id, "posted twice");
    let bodies = bodies(&seen, 2).await;
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0][&task]["param"], "d-old");
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_answer_in_vivos_words() {
    let sim = sim().await;
    let t = token(&sim).await;
    let fault = FaultSpec {
        error: Some(ErrorFault {
            rate: 1.0,
            status: 429,
            reason: String::new(),
            retry_after: Some("7".into()),
            count: Some(1),
        }),
        ..FaultSpec::default()
    };
    sim.control().set_faults(Vendor::Vivo, fault).unwrap();
    let resp = client(&sim)
        .post(format!("{}/message/send", sim.vivo_url()))
        .header("authToken", &t)
        .json(&message("f-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(
        post(&sim, "send", Some(&t), &message("f-2")).await["result"],
        0
    );
    sim.shutdown().await;
}
