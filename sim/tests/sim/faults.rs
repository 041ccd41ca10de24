//! Fault injection: latency, error rates with Retry-After, outages, auth-token expiry.

use std::time::{Duration, Instant};

use push_sim::types::{ErrorFault, FaultSpec, Outage, Vendor};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn latency_delays_answers() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let jwt = dev_jwt(now());
    sim.control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                latency_ms: 300,
                ..Default::default()
            },
        )
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        alert(&client, &sim.apns_sandbox_url(), &jwt, TOKEN)
            .await
            .status,
        200
    );
    assert!(start.elapsed() >= Duration::from_millis(300));
    sim.shutdown().await;
}

#[tokio::test]
async fn scripted_apns_errors_carry_reason_and_retry_after() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let jwt = dev_jwt(now());
    let error = ErrorFault {
        rate: 1.0,
        status: 503,
        reason: "Shutdown".into(),
        retry_after: Some("7".into()),
        count: Some(1),
    };
    sim.control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                error: Some(error),
                ..Default::default()
            },
        )
        .unwrap();
    let r = alert(&client, &sim.apns_sandbox_url(), &jwt, TOKEN).await;
    assert_eq!(
        (r.status, r.reason(), r.retry_after.as_deref()),
        (503, "Shutdown", Some("7"))
    );
    assert_eq!(
        alert(&client, &sim.apns_sandbox_url(), &jwt, TOKEN)
            .await
            .status,
        200,
        "count: 1"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn fcm_error_rate_answers_unavailable_with_retry_after_date() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    let date = "Wed, 21 Oct 2026 07:28:00 GMT";
    let error = ErrorFault {
        rate: 1.0,
        status: 503,
        reason: "UNAVAILABLE".into(),
        retry_after: Some(date.into()),
        count: None,
    };
    sim.control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                error: Some(error),
                ..Default::default()
            },
        )
        .unwrap();
    let msg = json!({"message": {"token": "t"}});
    for _ in 0..3 {
        let (status, headers, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &msg).await;
        assert_eq!((status, fcm_error_code(&body)), (503, Some("UNAVAILABLE")));
        assert_eq!(headers["retry-after"], date);
    }
    let half = ErrorFault {
        rate: 0.5,
        status: 500,
        reason: "INTERNAL".into(),
        retry_after: None,
        count: None,
    };
    sim.control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                error: Some(half),
                ..Default::default()
            },
        )
        .unwrap();
    let mut failed = 0;
    for _ in 0..60 {
        if fcm_send(&client, &sim, PROJECT, Some(&bearer), &msg)
            .await
            .0
            == 500
        {
            failed += 1;
        }
    }
    assert!(
        (5..=55).contains(&failed),
        "about half of 60 failed: {failed}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn refuse_outage_closes_the_port_until_it_ends() {
    let sim = spawn_sim().await;
    let jwt = dev_jwt(now());
    let client = apns_client(&sim);
    assert_eq!(
        alert(&client, &sim.apns_sandbox_url(), &jwt, TOKEN)
            .await
            .status,
        200
    );
    sim.control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                outage: Some(Outage::Refuse),
                ..Default::default()
            },
        )
        .unwrap();
    let url = format!("{}/3/device/{TOKEN}", sim.apns_sandbox_url());
    let refused =
        eventually(|| std::net::TcpStream::connect(url_addr(&sim.apns_sandbox_url())).is_err())
            .await;
    assert!(refused, "connections are refused");
    assert!(
        apns_client(&sim)
            .post(&url)
            .body("{}")
            .send()
            .await
            .is_err()
    );
    sim.control().clear_faults(Vendor::Apns);
    let back =
        eventually(|| std::net::TcpStream::connect(url_addr(&sim.apns_sandbox_url())).is_ok())
            .await;
    assert!(back, "the port is served again");
    assert_eq!(
        alert(&apns_client(&sim), &sim.apns_sandbox_url(), &jwt, TOKEN)
            .await
            .status,
        200
    );
    sim.shutdown().await;
}

fn url_addr(base: &str) -> std::net::SocketAddr {
    base.trim_start_matches("https://").parse().unwrap()
}

#[tokio::test]
async fn unavailable_outage_answers_503_on_send_and_token() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    sim.control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                outage: Some(Outage::Unavailable),
                ..Default::default()
            },
        )
        .unwrap();
    let (status, _, body) = fcm_send(
        &client,
        &sim,
        PROJECT,
        Some(&bearer),
        &json!({"message": {"token": "t"}}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["status"].as_str().unwrap()),
        (503, "UNAVAILABLE")
    );
    let (status, body) = exchange(&client, &sim, &assertion(|_| {})).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (503, "temporarily_unavailable")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_counted_error_fault_is_not_spent_on_a_token_fetch() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let error = ErrorFault {
        rate: 1.0,
        status: 503,
        reason: "UNAVAILABLE".into(),
        retry_after: None,
        count: Some(1),
    };
    sim.control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                error: Some(error),
                ..Default::default()
            },
        )
        .unwrap();
    let bearer = access_token(&client, &sim).await; // the token endpoint is not faulted
    let msg = json!({"message": {"token": "t"}});
    let (status, _, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &msg).await;
    assert_eq!((status, fcm_error_code(&body)), (503, Some("UNAVAILABLE")));
    let (status, _, _) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &msg).await;
    assert_ne!(status, 503, "count 1: spent by the first send only");
    sim.shutdown().await;
}

#[tokio::test]
async fn expiring_access_tokens_forces_one_refresh() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let msg = json!({"message": {"token": "t"}});
    let bearer = access_token(&client, &sim).await;
    assert_eq!(
        fcm_send(&client, &sim, PROJECT, Some(&bearer), &msg)
            .await
            .0,
        200
    );
    let resp = reqwest::Client::new()
        .post(format!("{}/fcm/access-tokens/expire", sim.control_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap(),
        json!({"expired": 1})
    );
    assert_eq!(
        fcm_send(&client, &sim, PROJECT, Some(&bearer), &msg)
            .await
            .0,
        401
    );
    let fresh = access_token(&client, &sim).await;
    assert_eq!(
        fcm_send(&client, &sim, PROJECT, Some(&fresh), &msg).await.0,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_after_accept_drops_the_connection_but_records_the_push() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    sim.control()
        .set_faults(
            Vendor::Fcm,
            FaultSpec {
                reset_rate: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
    let url = format!("{}/v1/projects/{PROJECT}/messages:send", sim.fcm_url());
    let res = client
        .post(url)
        .bearer_auth(&bearer)
        .json(&json!({"message": {"token": "dup"}}))
        .send()
        .await;
    assert!(res.is_err(), "the client sees a broken connection: {res:?}");
    let rec = sim.control().requests(push_sim::types::RequestFilter {
        token: Some("dup".into()),
        ..Default::default()
    });
    assert_eq!(
        (rec.len(), rec[0].response.status, rec[0].reset),
        (1, 200, true)
    );
    sim.control().clear_faults(Vendor::Fcm);
    assert_eq!(
        fcm_send(
            &client,
            &sim,
            PROJECT,
            Some(&bearer),
            &json!({"message": {"token": "dup"}})
        )
        .await
        .0,
        200
    );
    let start = Instant::now();
    sim.shutdown().await;
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "a held-back answer does not delay shutdown"
    );
}

#[tokio::test]
async fn token_connections_take_one_stream_until_the_first_success() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let jwt = dev_jwt(now());
    sim.control()
        .set_faults(
            Vendor::Apns,
            FaultSpec {
                latency_ms: 200,
                ..Default::default()
            },
        )
        .unwrap();
    let burst = |n: usize| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (client, base, jwt) = (client.clone(), sim.apns_sandbox_url(), jwt.clone());
                tokio::spawn(async move { alert(&client, &base, &jwt, TOKEN).await.status })
            })
            .collect();
        async move {
            let start = Instant::now();
            for h in handles {
                assert_eq!(h.await.unwrap(), 200);
            }
            start.elapsed()
        }
    };
    let first = burst(3).await;
    assert!(
        first >= Duration::from_millis(400),
        "serialised before the first success: {first:?}"
    );
    let later = burst(3).await;
    assert!(
        later < Duration::from_millis(400),
        "concurrent afterwards: {later:?}"
    );
    sim.shutdown().await;
}
