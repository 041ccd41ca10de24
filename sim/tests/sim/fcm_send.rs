//! `messages:send`: success, authentication, project, validation and token errors.

use push_sim::types::{FcmAccountSpec, FcmTokenSpec, FcmTokenState, RequestFilter, Vendor};
use serde_json::json;

use crate::helpers::*;

const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";

fn to(token: &str) -> serde_json::Value {
    json!({"message": {"token": token, "notification": {"title": "Alice", "body": "hi"},
        "data": {"conv": "42"}, "android": {"priority": "HIGH", "ttl": "86400s", "collapse_key": "c42"}}})
}

#[tokio::test]
async fn send_succeeds_and_is_recorded() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    let (status, _, body) =
        fcm_send(&client, &sim, PROJECT, Some(&bearer), &to("device-token-1")).await;
    assert_eq!(status, 200, "{body}");
    let name = body["name"].as_str().unwrap();
    assert!(
        name.starts_with("projects/pushgate-test/messages/"),
        "{name}"
    );
    let sent = sim.control().requests(RequestFilter {
        token: Some("device-token-1".into()),
        ..Default::default()
    });
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body_json().unwrap()["message"]["android"]["collapse_key"],
        "c42"
    );
    assert_eq!(sent[0].topic.as_deref(), Some(PROJECT));
    assert!(!sent[0].dry_run);
    sim.shutdown().await;
}

#[tokio::test]
async fn validate_only_is_a_dry_run() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    let mut body = to("device-token-1");
    body["validate_only"] = json!(true);
    let (status, _, answer) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &body).await;
    assert_eq!(
        (status, answer["name"].as_str().unwrap()),
        (200, "projects/pushgate-test/messages/fake_message_id")
    );
    let r = sim.control().requests(RequestFilter {
        vendor: Some(Vendor::Fcm),
        ..Default::default()
    });
    assert!(r.last().unwrap().dry_run);
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_unknown_or_expired_access_token_is_unauthenticated_without_fcm_error() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    sim.control().expire_fcm_access_tokens();
    for b in [None, Some("ya29.bogus"), Some(bearer.as_str())] {
        let (status, headers, body) = fcm_send(&client, &sim, PROJECT, b, &to("t")).await;
        assert_eq!(
            (status, body["error"]["status"].as_str().unwrap()),
            (401, "UNAUTHENTICATED"),
            "{b:?}"
        );
        assert_eq!(fcm_error_code(&body), None);
        assert!(headers.contains_key("www-authenticate"));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn insufficient_scope_and_wrong_project() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let (_, body) = exchange(
        &client,
        &sim,
        &assertion(|c| c["scope"] = json!("https://www.googleapis.com/auth/userinfo.email")),
    )
    .await;
    let narrow = body["access_token"].as_str().unwrap().to_string();
    let (status, _, body) = fcm_send(&client, &sim, PROJECT, Some(&narrow), &to("t")).await;
    assert_eq!(
        (status, body["error"]["status"].as_str().unwrap()),
        (403, "PERMISSION_DENIED")
    );
    let bearer = access_token(&client, &sim).await;
    let (status, _, body) =
        fcm_send(&client, &sim, "no-such-project", Some(&bearer), &to("t")).await;
    assert_eq!((status, fcm_error_code(&body)), (404, None));
    let mut other = service_account();
    other["project_id"] = json!("another-project");
    other["client_email"] = json!("x@another-project.iam.gserviceaccount.com");
    sim.control()
        .add_fcm_account(FcmAccountSpec {
            service_account_json: Some(other),
            ..Default::default()
        })
        .unwrap();
    let (status, _, body) =
        fcm_send(&client, &sim, "another-project", Some(&bearer), &to("t")).await;
    assert_eq!(
        (status, body["error"]["status"].as_str().unwrap()),
        (403, "PERMISSION_DENIED")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn registration_token_states() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    let c = sim.control();
    let set = |token: &str, project: &str, state| {
        c.set_fcm_token(FcmTokenSpec {
            project_id: project.into(),
            token: token.into(),
            state,
            throttle: None,
        })
        .unwrap()
    };
    set("gone", PROJECT, FcmTokenState::Unregistered);
    set("elsewhere", "another-project", FcmTokenState::Active);
    set("ios-no-apns", PROJECT, FcmTokenState::ThirdPartyAuthError);
    let cases = [
        ("gone", 404, "UNREGISTERED"),
        ("elsewhere", 403, "SENDER_ID_MISMATCH"),
        ("ios-no-apns", 401, "THIRD_PARTY_AUTH_ERROR"),
    ];
    for (token, status, code) in cases {
        let (s, _, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &to(token)).await;
        assert_eq!((s, fcm_error_code(&body)), (status, Some(code)), "{body}");
    }
    let (s, _, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &to("gone")).await;
    assert_eq!(
        (s, body["error"]["status"].as_str().unwrap()),
        (404, "NOT_FOUND")
    );
    c.update_settings(push_sim::types::SettingsUpdate {
        accept_unknown_tokens: Some(false),
        ..Default::default()
    });
    let (s, _, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &to("never-issued")).await;
    assert_eq!((s, fcm_error_code(&body)), (400, Some("INVALID_ARGUMENT")));
    let violation = &detail(&body, BAD_REQUEST).unwrap()["fieldViolations"][0];
    assert_eq!(violation["field"], "message.token");
    // An unknown installation id is reported on the field that named it.
    let fid = json!({"message": {"fid": "never-installed", "data": {"a": "b"}}});
    let (s, _, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &fid).await;
    assert_eq!((s, fcm_error_code(&body)), (400, Some("INVALID_ARGUMENT")));
    let violation = &detail(&body, BAD_REQUEST).unwrap()["fieldViolations"][0];
    assert_eq!(violation["field"], "message.fid", "{body}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_non_string_data_value_is_invalid_argument_with_bad_request() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    let body = json!({"message": {"token": "t", "data": {"count": 3}}});
    let (status, _, answer) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &body).await;
    assert_eq!(
        (status, answer["error"]["status"].as_str().unwrap()),
        (400, "INVALID_ARGUMENT")
    );
    let violation = &detail(&answer, BAD_REQUEST).unwrap()["fieldViolations"][0];
    assert_eq!(violation["field"], "message.data[0].value");
    assert_eq!(
        fcm_error_code(&answer),
        None,
        "a parse error carries no FcmError"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn oversize_and_invalid_messages() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    let cases = [
        json!({"message": {"token": "t", "data": {"blob": "x".repeat(4096)}}}),
        json!({"message": {"topic": "news", "data": {"blob": "x".repeat(2048)}}}),
        json!({"message": {"token": "t", "data": {"from": "me"}}}),
        json!({"message": {"token": "t", "android": {"ttl": "2419201s"}}}),
        json!({"message": {"data": {"a": "b"}}}),
    ];
    for body in cases {
        let (status, _, answer) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &body).await;
        assert_eq!(
            (status, fcm_error_code(&answer)),
            (400, Some("INVALID_ARGUMENT")),
            "{answer}"
        );
        assert!(detail(&answer, BAD_REQUEST).is_some());
    }
    let (status, _, answer) = fcm_send(
        &client,
        &sim,
        PROJECT,
        Some(&bearer),
        &json!({"message": {"token": "t", "android": {"priority": "URGENT"}}}),
    )
    .await;
    assert_eq!((status, fcm_error_code(&answer)), (400, None));
    sim.shutdown().await;
}

/// Sends `n` messages to `token`; answers how many got 200.
async fn burst(
    client: &reqwest::Client,
    sim: &push_sim::Sim,
    bearer: &str,
    token: &str,
    n: usize,
) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        let (s, _, body) = fcm_send(client, sim, PROJECT, Some(bearer), &to(token)).await;
        assert!(s == 200 || s == 429, "{s} {body}");
        ok += usize::from(s == 200);
    }
    ok
}

/// fcm.md §8/§9/§11: 240 messages a minute to one device by default, registered or not;
/// the 241st gets 429 `RESOURCE_EXHAUSTED` / `QUOTA_EXCEEDED` with a `QuotaFailure` and a
/// `Retry-After`; other tokens are unaffected; the window restarts on the sim clock.
#[tokio::test]
async fn the_241st_message_a_minute_to_one_device_is_quota_exceeded() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    assert_eq!(sim.control().settings().fcm_device_per_minute, Some(240));
    sim.control()
        .set_fcm_token(FcmTokenSpec {
            project_id: PROJECT.into(),
            token: "registered".into(),
            state: FcmTokenState::Active,
            throttle: None,
        })
        .unwrap();
    for token in ["registered", "never-registered"] {
        assert_eq!(
            burst(&client, &sim, &bearer, token, 240).await,
            240,
            "{token}"
        );
        let (s, headers, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &to(token)).await;
        assert_eq!(
            (s, body["error"]["status"].as_str(), fcm_error_code(&body)),
            (429, Some("RESOURCE_EXHAUSTED"), Some("QUOTA_EXCEEDED")),
            "{token}: {body}"
        );
        let quota = detail(&body, "type.googleapis.com/google.rpc.QuotaFailure").unwrap();
        assert!(quota["violations"][0]["description"].is_string(), "{body}");
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
    }
    let (s, _, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &to("another")).await;
    assert_eq!(s, 200, "another token is unaffected: {body}");
    sim.control()
        .shift_clock(push_sim::types::ClockShift { seconds: 60 });
    let (s, _, body) = fcm_send(&client, &sim, PROJECT, Some(&bearer), &to("registered")).await;
    assert_eq!(s, 200, "a new minute on the sim clock: {body}");
    sim.shutdown().await;
}

/// `PUT /settings {"fcm_device_per_minute": n}` changes the limit; `0` turns it off, and a
/// reset restores the configured one.
#[tokio::test]
async fn the_device_limit_is_a_setting() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = access_token(&client, &sim).await;
    let ctl = reqwest::Client::new();
    let put = |n: u32| {
        ctl.put(format!("{}/settings", sim.control_url()))
            .json(&json!({ "fcm_device_per_minute": n }))
            .send()
    };
    let settings: serde_json::Value = put(2).await.unwrap().json().await.unwrap();
    assert_eq!(settings["fcm_device_per_minute"], 2);
    assert_eq!(burst(&client, &sim, &bearer, "t", 3).await, 2);
    let settings: serde_json::Value = put(0).await.unwrap().json().await.unwrap();
    assert!(settings["fcm_device_per_minute"].is_null(), "{settings}");
    assert_eq!(
        burst(&client, &sim, &bearer, "t", 300).await,
        300,
        "no limit"
    );
    sim.control().reset();
    assert_eq!(sim.control().settings().fcm_device_per_minute, Some(240));
    sim.shutdown().await;

    let sim = push_sim::Sim::start(push_sim::SimConfig {
        preload_dev: true,
        fcm_device_per_minute: None,
        ..push_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let bearer = access_token(&client, &sim).await;
    assert_eq!(
        burst(&client, &sim, &bearer, "t", 250).await,
        250,
        "configured off"
    );
    sim.shutdown().await;
}
