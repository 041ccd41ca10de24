//! The request log, counters and the HTTP control API.

use push_sim::types::{Counters, RequestFilter, RequestRecord, Vendor};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn many_requests_share_one_http2_connection_and_are_logged() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let base = sim.apns_sandbox_url();
    let jwt = dev_jwt(now());
    assert_eq!(alert(&client, &base, &jwt, TOKEN).await.status, 200);
    let before = sim
        .control()
        .requests(RequestFilter::default())
        .last()
        .unwrap()
        .seq;
    let pushes = (0..50).map(|i| {
        let (client, base, jwt) = (client.clone(), base.clone(), jwt.clone());
        async move {
            alert(&client, &base, &jwt, &format!("{i:064x}"))
                .await
                .status
        }
    });
    let statuses = futures_join(pushes).await;
    assert!(statuses.iter().all(|s| *s == 200));
    let c = sim.control().counters();
    assert_eq!(c.endpoints["apns-sandbox"].connections, 1, "{c:?}");
    assert_eq!(c.vendor(Vendor::Apns).requests, 51);
    let newer = sim.control().requests(RequestFilter {
        since: Some(before),
        ..Default::default()
    });
    assert_eq!(newer.len(), 50);
    assert!(
        newer
            .iter()
            .all(|r| r.http_version == "HTTP/2.0" && r.connection == newer[0].connection)
    );
    let one = sim.control().requests(RequestFilter {
        token: Some(format!("{:064x}", 7)),
        ..Default::default()
    });
    assert_eq!((one.len(), one[0].response.status), (1, 200));
    assert_eq!(one[0].header("apns-topic"), Some(TOPIC));
    sim.shutdown().await;
}

async fn futures_join<F: std::future::Future<Output = u16> + Send + 'static>(
    fs: impl Iterator<Item = F>,
) -> Vec<u16> {
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn http_control_api_drives_the_sim() {
    let sim = spawn_sim().await;
    let ctl = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", sim.control_url());
    let token = json!({"environment": "sandbox", "token": TOKEN, "topic": TOPIC, "state": "unregistered", "unregistered_at_ms": 42});
    assert_eq!(
        ctl.post(url("/apns/tokens"))
            .json(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let client = apns_client(&sim);
    let r = alert(&client, &sim.apns_sandbox_url(), &dev_jwt(now()), TOKEN).await;
    assert_eq!((r.status, r.body["timestamp"].as_i64()), (410, Some(42)));
    let fault = json!({"error": {"rate": 1.0, "status": 500, "reason": "InternalServerError"}});
    let set = ctl
        .put(url("/faults/apns"))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    assert_eq!(
        alert(&client, &sim.apns_sandbox_url(), &dev_jwt(now()), TOKEN)
            .await
            .status,
        500
    );
    let bad = ctl
        .put(url("/faults/apns"))
        .json(&json!({"error": {"rate": 2.0, "status": 500}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<serde_json::Value>().await.unwrap()["error"].is_string());
    let shifted: serde_json::Value = ctl
        .post(url("/clock/shift"))
        .json(&json!({"seconds": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(shifted["offset_ms"].as_i64().unwrap() >= 60_000);
    let log: Vec<RequestRecord> = ctl
        .get(url("/requests?vendor=apns&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((log.len(), log[0].response.status), (1, 500));
    let counters: Counters = ctl
        .get(url("/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters.vendor(Vendor::Apns).requests, 2);
    assert_eq!(ctl.post(url("/reset")).send().await.unwrap().status(), 204);
    assert!(sim.control().requests(RequestFilter::default()).is_empty());
    assert_eq!(sim.control().clock().offset_ms, 0);
    let r = alert(
        &apns_client(&sim),
        &sim.apns_sandbox_url(),
        &dev_jwt(now()),
        TOKEN,
    )
    .await;
    assert_eq!(
        r.status, 200,
        "reset cleared faults and tokens but kept the preloaded key"
    );
    let missing = ctl
        .post(url("/apns/keys"))
        .json(&json!({"key_id": "K", "team_id": "T"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    sim.shutdown().await;
}
