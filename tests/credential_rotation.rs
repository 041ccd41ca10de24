//! Rotation without restarts: two pushgate instances on one database (a shared SQLite file)
//! and a stream of deliveries through both; a new version is uploaded on one instance and
//! later the old one restored on the other. Every delivery is accepted, and within 5 s of
//! each switch no instance sends with the replaced key any more (read from the provider
//! tokens push-sim received).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod credential_support;

use base64::Engine;
use credential_support::*;
use push_sim::types::{ApnsKeySpec, RequestFilter, Vendor};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "7e7f7a7b7e7f7a7b7e7f7a7b7e7f7a7b7e7f7a7b7e7f7a7b7e7f7a7b7e7f7a7b";
const NEW_KEY: &str = "NEWKEY0001";
const OLD_KEY: &str = "ABC123DEFG";
/// How soon every instance must use the active version.
const SWITCH_WITHIN_MS: i64 = 5_000;

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The `kid` of the provider token a request carried.
fn kid(record: &push_sim::types::RequestRecord) -> Option<String> {
    let bearer = record.header("authorization")?.strip_prefix("bearer ")?;
    let header = bearer.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["kid"].as_str().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_switch_versions_within_seconds_without_a_failed_delivery() {
    let sim = sim().await;
    let new_pem = fresh_p8();
    sim.control()
        .add_apns_key(ApnsKeySpec {
            key_id: NEW_KEY.into(),
            team_id: "TEAM123456".into(),
            public_key_pem: None,
            private_key_pem: Some(new_pem.clone()),
            environments: vec![
                push_sim::types::ApnsEnvironment::Production,
                push_sim::types::ApnsEnvironment::Sandbox,
            ],
            topics: None,
            related_key_id: None,
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&sim, dir.path());
    let a = Instance::start(&config).await;
    let b = Instance::start(&config).await;
    let key = a.tenant("acme").await;
    a.app(&key, "chat").await;
    let (s, body) = a.upload(&key, "chat", "apns", "", dev_p8()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = b
        .call(
            Method::PUT,
            "/v1/apps/chat/devices/iphone",
            &key,
            Some(json!({"user_id": "alice", "vendor": "apns", "token": TOKEN})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // The stream: a notification every 40 ms for 12 s, alternating instances.
    let started = now_ms();
    let stream = {
        let (a_base, b_base, key) = (a.base.clone(), b.base.clone(), key.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut ids = Vec::new();
            let mut n = 0;
            while now_ms() - started < 12_000 {
                let base = if n % 2 == 0 { &a_base } else { &b_base };
                let id = format!("m{n}");
                let resp = http
                    .post(format!("{base}/v1/apps/chat/notifications"))
                    .bearer_auth(&key)
                    .json(&json!({"id": id, "to": {"users": ["alice"]},
                        "notification": {"title": "t", "body": "b"}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::ACCEPTED);
                ids.push(id);
                n += 1;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            ids
        })
    };

    tokio::time::sleep(Duration::from_secs(2)).await;
    let (s, body) = a
        .upload(
            &key,
            "chat",
            "apns",
            "",
            json!({"key_id": NEW_KEY, "team_id": "TEAM123456", "private_key": new_pem}),
        )
        .await;
    assert_eq!(
        (s, body["version"].as_i64()),
        (StatusCode::CREATED, Some(2)),
        "{body}"
    );
    let uploaded_at = now_ms();

    tokio::time::sleep(Duration::from_secs(5)).await;
    let (s, body) = b
        .call(
            Method::POST,
            "/v1/apps/chat/credentials/apns/versions/1/activate",
            &key,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let restored_at = now_ms();

    let ids = stream.await.unwrap();
    assert!(ids.len() > 150, "a real stream: {}", ids.len());
    // Every delivery ends accepted.
    for id in &ids {
        let mut state = Value::Null;
        for _ in 0..200 {
            let (s, view) = a
                .call(
                    Method::GET,
                    &format!("/v1/apps/chat/notifications/{id}"),
                    &key,
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{view}");
            state = view["deliveries"][0]["state"].clone();
            if state == "accepted" || state == "failed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(state, "accepted", "{id}");
    }

    let requests = sim.control().requests(RequestFilter {
        vendor: Some(Vendor::Apns),
        ..RequestFilter::default()
    });
    let sent: Vec<(i64, String)> = requests
        .iter()
        .filter(|r| r.at_ms >= started)
        .filter_map(|r| kid(r).map(|k| (r.at_ms, k)))
        .collect();
    assert!(
        sent.len() >= ids.len(),
        "{} sends for {} ids",
        sent.len(),
        ids.len()
    );
    let stale_new = sent
        .iter()
        .filter(|(at, k)| k == OLD_KEY && *at > uploaded_at + SWITCH_WITHIN_MS && *at < restored_at)
        .count();
    let stale_old = sent
        .iter()
        .filter(|(at, k)| k == NEW_KEY && *at > restored_at + SWITCH_WITHIN_MS)
        .count();
    let with_new = sent.iter().filter(|(_, k)| k == NEW_KEY).count();
    assert_eq!(
        stale_new, 0,
        "the old key was still used 5 s after the upload"
    );
    assert_eq!(
        stale_old, 0,
        "the new key was still used 5 s after the rollback"
    );
    assert!(with_new > 20, "version 2 carried sends: {with_new}");
    let last_old_before = sent
        .iter()
        .filter(|(at, k)| k == OLD_KEY && *at < restored_at)
        .map(|(at, _)| *at)
        .max()
        .unwrap();
    eprintln!(
        "switch to v2 seen after {} ms; sends: {}",
        last_old_before - uploaded_at,
        sent.len()
    );
    a.stop().await;
    b.stop().await;
}
