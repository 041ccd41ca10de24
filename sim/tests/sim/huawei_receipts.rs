//! Huawei delivery receipts: signed batches to a registered callback, token receipt states,
//! the marketing daily limit, retries when the callback is down; faults on the Huawei port.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use base64::Engine;
use push_sim::types::{
    ErrorFault, FaultSpec, HuaweiAppUpdate, HuaweiCallbackSpec, HuaweiReceiptBatch,
    HuaweiTokenSpec, HuaweiTokenState, Outage, Vendor,
};
use serde_json::{Value, json};

use crate::helpers::*;

type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A plain-HTTP callback server that records (X-HUAWEI-CALLBACK-ID, body).
async fn callback_server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/receipts",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                let id = headers
                    .get("x-huawei-callback-id")
                    .map(|v| v.to_str().unwrap().to_string());
                s.lock()
                    .unwrap()
                    .push((id, serde_json::from_slice(&body).unwrap()));
                axum::Json(json!({"errno": 0, "errmsg": "success"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/receipts"), seen)
}

fn callback(url: &str) -> HuaweiCallbackSpec {
    HuaweiCallbackSpec {
        app_id: HW_APP.into(),
        url: url.into(),
        username: Some("pushgate".into()),
        secret_key: Some("s3cret".into()),
        ..Default::default()
    }
}

async fn receipts_after(sim: &push_sim::Sim, n: usize) -> Vec<HuaweiReceiptBatch> {
    for _ in 0..300 {
        let r = sim.control().huawei_receipts();
        if r.len() >= n {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "expected {n} receipt batches, got {:?}",
        sim.control().huawei_receipts()
    );
}

#[tokio::test]
async fn receipts_are_signed_and_carry_status_bi_tag_and_request_id() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let (url, seen) = callback_server().await;
    sim.control().add_huawei_callback(callback(&url)).unwrap();
    let gone = "IQAAAACy0-uninstalled";
    sim.control()
        .set_huawei_token(HuaweiTokenSpec {
            app_id: HW_APP.into(),
            token: gone.into(),
            state: HuaweiTokenState::Uninstalled,
            receipt_status: None,
        })
        .unwrap();
    let bearer = huawei_access_token(&client, &sim, HW_APP, HW_SECRET).await;
    let (_, body) = huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&[HW_TOKEN, gone]),
    )
    .await;
    assert_eq!(body["code"], "80000000");
    let batches = receipts_after(&sim, 1).await;
    assert!(batches[0].delivered);
    let (header, posted) = seen.lock().unwrap()[0].clone();
    let statuses = posted["statuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 2);
    for s in statuses {
        assert_eq!(s["biTag"], "n-7f3c0e");
        assert_eq!(s["appid"], HW_APP);
        assert_eq!(s["requestId"], body["requestId"]);
        assert!(s["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    }
    assert_eq!(
        (
            statuses[0]["token"].as_str(),
            statuses[0]["status"].as_u64()
        ),
        (Some(HW_TOKEN), Some(0))
    );
    assert_eq!(
        (
            statuses[1]["token"].as_str(),
            statuses[1]["status"].as_u64()
        ),
        (Some(gone), Some(2))
    );
    // X-HUAWEI-CALLBACK-ID: timestamp=…;nonce=…;value=Base64(HMAC-SHA256(key, ts + nonce + user))
    let header = header.unwrap();
    let parts: Vec<(&str, &str)> = header
        .split(';')
        .map(|p| p.split_once('=').unwrap())
        .collect();
    let (ts, nonce) = (parts[0].1, parts[1].1);
    assert_eq!(
        (parts[0].0, parts[1].0, parts[2].0),
        ("timestamp", "nonce", "value")
    );
    let value = header.split_once(";value=").unwrap().1;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"s3cret");
    let mac = aws_lc_rs::hmac::sign(&key, format!("{ts}{nonce}pushgate").as_bytes());
    assert_eq!(
        value,
        base64::engine::general_purpose::STANDARD.encode(mac.as_ref())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn marketing_messages_beyond_two_a_day_get_receipt_256() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let (url, _seen) = callback_server().await;
    sim.control().add_huawei_callback(callback(&url)).unwrap();
    let bearer = huawei_access_token(&client, &sim, HW_APP, HW_SECRET).await;
    let mut no_category = huawei_im(&[HW_TOKEN]);
    no_category["message"]["android"]
        .as_object_mut()
        .unwrap()
        .remove("category");
    for _ in 0..3 {
        let (_, body) = huawei_send(&client, &sim, HW_APP, Some(&bearer), &no_category).await;
        assert_eq!(body["code"], "80000000", "accepted at send time");
    }
    // IM is service & communication: not limited.
    huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&[HW_TOKEN]),
    )
    .await;
    let statuses: Vec<u16> = receipts_after(&sim, 4)
        .await
        .iter()
        .map(|b| b.statuses[0].status)
        .collect();
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [0, 0, 0, 256], "{statuses:?}");
    // Without the self-classification entitlement even IM is marketing.
    sim.control()
        .update_huawei_app(
            HW_APP,
            HuaweiAppUpdate {
                self_classification: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&[HW_TOKEN]),
    )
    .await;
    assert_eq!(receipts_after(&sim, 5).await[4].statuses[0].status, 256);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_down_callback_is_retried_then_given_up() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/receipts", dead.local_addr().unwrap());
    drop(dead);
    sim.control().add_huawei_callback(callback(&url)).unwrap();
    let bearer = huawei_access_token(&client, &sim, HW_APP, HW_SECRET).await;
    huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&[HW_TOKEN]),
    )
    .await;
    let b = &receipts_after(&sim, 1).await[0];
    assert_eq!((b.attempts, b.delivered, b.http_status), (4, false, None));
    sim.shutdown().await;
}

#[tokio::test]
async fn error_faults_use_the_vendor_body_and_outages_answer_503() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = huawei_access_token(&client, &sim, HW_APP, HW_SECRET).await;
    let error = ErrorFault {
        rate: 1.0,
        status: 500,
        reason: "81000001".into(),
        retry_after: Some("3".into()),
        count: Some(1),
    };
    sim.control()
        .set_faults(
            Vendor::Huawei,
            FaultSpec {
                error: Some(error),
                ..Default::default()
            },
        )
        .unwrap();
    let resp = client
        .post(format!("{}/v1/{HW_APP}/messages:send", sim.huawei_url()))
        .bearer_auth(&bearer)
        .json(&huawei_im(&[HW_TOKEN]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            resp.status().as_u16(),
            resp.headers()["retry-after"].to_str().unwrap()
        ),
        (500, "3")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "81000001");
    assert!(body["requestId"].is_string());
    assert_eq!(
        huawei_send(
            &client,
            &sim,
            HW_APP,
            Some(&bearer),
            &huawei_im(&[HW_TOKEN])
        )
        .await
        .0,
        200
    );
    sim.control()
        .set_faults(
            Vendor::Huawei,
            FaultSpec {
                outage: Some(Outage::Unavailable),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        huawei_send(
            &client,
            &sim,
            HW_APP,
            Some(&bearer),
            &huawei_im(&[HW_TOKEN])
        )
        .await
        .0,
        503
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", HW_APP),
        ("client_secret", HW_SECRET),
    ];
    assert_eq!(huawei_token_raw(&client, &sim, &form).await.0, 503);
    let log = sim.control().requests(push_sim::types::RequestFilter {
        vendor: Some(Vendor::Huawei),
        ..Default::default()
    });
    assert_eq!(log.len(), 5);
    assert_eq!(log[1].response.status, 500);
    sim.shutdown().await;
}

#[tokio::test]
async fn http_control_api_drives_huawei() {
    let sim = spawn_sim().await;
    let ctl = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", sim.control_url());
    let app = json!({"app_id": "20000001", "app_secret": "s", "project_id": "77"});
    let resp = ctl
        .post(url("/huawei/apps"))
        .json(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"app_id": "20000001", "project_id": "77"})
    );
    let token = json!({"app_id": "20000001", "token": "IQAAAA-x", "state": "invalid"});
    assert_eq!(
        ctl.post(url("/huawei/tokens"))
            .json(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let upd =
        json!({"push_enabled": false, "send_throttle": {"max_requests": 5, "window_secs": 1}});
    let resp = ctl
        .put(url("/huawei/apps/20000001"))
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let spec: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            spec["push_enabled"].as_bool(),
            spec["send_throttle"]["max_requests"].as_u64()
        ),
        (Some(false), Some(5))
    );
    assert_eq!(
        ctl.put(url("/huawei/apps/1"))
            .json(&upd)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let cb = json!({"app_id": "20000001", "url": "http://127.0.0.1:9/r", "delay_ms": 10});
    assert_eq!(
        ctl.post(url("/huawei/callbacks"))
            .json(&cb)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        ctl.delete(url("/huawei/callbacks/20000001"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let client = https_client(&sim);
    huawei_access_token(&client, &sim, "20000001", "s").await;
    let resp = ctl
        .post(url("/huawei/access-tokens/expire"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"expired": 1}));
    let resp = ctl
        .put(url("/settings"))
        .json(&json!({"huawei_access_token_ttl_secs": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["huawei_access_token_ttl_secs"],
        60
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", HW_APP),
        ("client_secret", HW_SECRET),
    ];
    assert_eq!(
        huawei_token_raw(&client, &sim, &form).await.2["expires_in"],
        60
    );
    assert_eq!(
        ctl.get(url("/huawei/receipts"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        json!([])
    );
    assert_eq!(
        ctl.put(url("/faults/huawei"))
            .json(&json!({"latency_ms": 1}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn receipt_id_selects_the_configuration_and_batch_faults_apply() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let (url, seen) = callback_server().await;
    let (other_url, other_seen) = callback_server().await;
    sim.control()
        .add_huawei_callback(callback(&other_url))
        .unwrap();
    let chosen = HuaweiCallbackSpec {
        receipt_id: Some("RCP-1".into()),
        duplicate: true,
        reverse_order: true,
        secret_key: None,
        ..callback(&url)
    };
    sim.control().add_huawei_callback(chosen).unwrap();
    let bearer = huawei_access_token(&client, &sim, HW_APP, HW_SECRET).await;
    let tokens: Vec<String> = (0..150).map(|i| format!("IQAAAACy0-{i:03}")).collect();
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let mut msg = huawei_im(&refs);
    msg["message"]["android"]["receipt_id"] = json!("RCP-1");
    let (_, body) = huawei_send(&client, &sim, HW_APP, Some(&bearer), &msg).await;
    assert_eq!(body["code"], "80000000");
    receipts_after(&sim, 4).await;
    let posted = seen.lock().unwrap().clone();
    let sizes: Vec<usize> = posted
        .iter()
        .map(|(_, b)| b["statuses"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        sizes,
        [50, 50, 100, 100],
        "≤100 per POST, reversed, each twice"
    );
    assert!(
        posted.iter().all(|(id, _)| id.is_none()),
        "no key, no signature"
    );
    assert!(
        other_seen.lock().unwrap().is_empty(),
        "the default configuration is not used"
    );
    sim.shutdown().await;
}
