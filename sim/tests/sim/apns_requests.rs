//! APNs request handling: routing, header and payload checks, device-token states and
//! namespaces, the stored notification per (token, topic).

use push_sim::types::{
    ApnsEnvironment, ApnsStoredFilter, ApnsTokenSpec, ApnsTokenState, SettingsUpdate, Throttle,
};

use crate::helpers::*;

fn token_spec(env: ApnsEnvironment, state: ApnsTokenState) -> ApnsTokenSpec {
    ApnsTokenSpec {
        environment: env,
        token: TOKEN.into(),
        topic: Some(TOPIC.into()),
        state,
        unregistered_at_ms: None,
        throttle: None,
    }
}

#[tokio::test]
async fn routing_errors() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let base = sim.apns_sandbox_url();
    let get = client
        .get(format!("{base}/3/device/{TOKEN}"))
        .send()
        .await
        .unwrap();
    let r = reply(get).await;
    assert_eq!((r.status, r.reason()), (405, "MethodNotAllowed"));
    let r = apns_post(&client, &base, "/3/device/", &[], "{}").await;
    assert_eq!((r.status, r.reason()), (400, "MissingDeviceToken"));
    let r = apns_post(&client, &base, "/4/broadcast", &[], "{}").await;
    assert_eq!((r.status, r.reason()), (404, "BadPath"));
    sim.shutdown().await;
}

#[tokio::test]
async fn header_and_payload_checks() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let base = sim.apns_sandbox_url();
    let auth = format!("bearer {}", dev_jwt(now()));
    let long_collapse = "c".repeat(65);
    let ok = r#"{"aps":{"alert":"hi"}}"#;
    // (extra headers, path token, body, status, reason)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("apns-topic", TOPIC), ("apns-topic", TOPIC)],
            TOKEN,
            ok,
            400,
            "DuplicateHeaders",
        ),
        (
            vec![("apns-topic", TOPIC), ("apns-id", "not-a-uuid")],
            TOKEN,
            ok,
            400,
            "BadMessageId",
        ),
        (
            vec![("apns-topic", TOPIC), ("apns-priority", "7")],
            TOKEN,
            ok,
            400,
            "BadPriority",
        ),
        (
            vec![
                ("apns-topic", TOPIC),
                ("apns-push-type", "background"),
                ("apns-priority", "10"),
            ],
            TOKEN,
            r#"{"aps":{"content-available":1}}"#,
            400,
            "BadPriority",
        ),
        (
            vec![("apns-topic", TOPIC), ("apns-expiration", "tomorrow")],
            TOKEN,
            ok,
            400,
            "BadExpirationDate",
        ),
        (
            vec![("apns-topic", TOPIC), ("apns-collapse-id", &long_collapse)],
            TOKEN,
            ok,
            400,
            "BadCollapseId",
        ),
        (
            vec![("apns-topic", TOPIC), ("apns-push-type", "telepathy")],
            TOKEN,
            ok,
            400,
            "InvalidPushType",
        ),
        (
            vec![("apns-topic", TOPIC), ("apns-push-type", "voip")],
            TOKEN,
            ok,
            400,
            "BadTopic",
        ),
        (
            vec![
                ("apns-topic", "com.example.chat.voip"),
                ("apns-push-type", "alert"),
            ],
            TOKEN,
            ok,
            400,
            "BadTopic",
        ),
        (
            vec![("apns-topic", "com.someone.else")],
            TOKEN,
            ok,
            400,
            "TopicDisallowed",
        ),
        (
            vec![
                ("apns-topic", TOPIC),
                ("apns-channel-id", "dHN0LXNyY2gtY2hubA=="),
            ],
            TOKEN,
            ok,
            400,
            "BadRequest",
        ),
        (vec![], TOKEN, ok, 400, "MissingTopic"),
        (vec![("apns-topic", TOPIC)], TOKEN, "", 400, "PayloadEmpty"),
        (
            vec![("apns-topic", TOPIC)],
            "not-hex-at-all-not-hex-at-all!!",
            ok,
            400,
            "BadDeviceToken",
        ),
    ];
    for (mut headers, token, body, status, reason) in cases {
        headers.push(("authorization", &auth));
        let r = apns_post(
            &client,
            &base,
            &format!("/3/device/{token}"),
            &headers,
            body.to_string(),
        )
        .await;
        assert_eq!((r.status, r.reason()), (status, reason), "{headers:?}");
    }
    let fine = [
        ("authorization", auth.as_str()),
        ("apns-topic", TOPIC),
        ("apns-push-type", "background"),
        ("apns-priority", "5"),
        ("apns-expiration", "0"),
        ("apns-collapse-id", &long_collapse[..64]),
    ];
    let path = format!("/3/device/{TOKEN}");
    let r = apns_post(
        &client,
        &base,
        &path,
        &fine,
        r#"{"aps":{"content-available":1}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Token auth may send the push types a certificate may not (apns.md §4.2).
    for (push_type, topic) in [
        ("liveactivity", "com.example.chat.push-type.liveactivity"),
        ("location", "com.example.chat.location-query"),
    ] {
        let headers = [
            ("authorization", auth.as_str()),
            ("apns-topic", topic),
            ("apns-push-type", push_type),
        ];
        let r = apns_post(&client, &base, &path, &headers, ok).await;
        assert_eq!(r.status, 200, "{push_type} with token auth: {r:?}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn payload_limits_are_4096_and_5120_for_voip() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let base = sim.apns_sandbox_url();
    let auth = format!("bearer {}", dev_jwt(now()));
    let path = format!("/3/device/{TOKEN}");
    let sized = |n: usize| {
        let skeleton = r#"{"aps":{"alert":"hi"},"pad":""}"#.len();
        format!(
            r#"{{"aps":{{"alert":"hi"}},"pad":"{}"}}"#,
            "x".repeat(n - skeleton)
        )
    };
    let alert = [
        ("authorization", auth.as_str()),
        ("apns-topic", TOPIC),
        ("apns-push-type", "alert"),
    ];
    assert_eq!(
        apns_post(&client, &base, &path, &alert, sized(4096))
            .await
            .status,
        200
    );
    let r = apns_post(&client, &base, &path, &alert, sized(4097)).await;
    assert_eq!((r.status, r.reason()), (413, "PayloadTooLarge"));
    let voip = [
        ("authorization", auth.as_str()),
        ("apns-topic", "com.example.chat.voip"),
        ("apns-push-type", "voip"),
    ];
    assert_eq!(
        apns_post(&client, &base, &path, &voip, sized(5120))
            .await
            .status,
        200
    );
    let r = apns_post(&client, &base, &path, &voip, sized(5121)).await;
    assert_eq!((r.status, r.reason()), (413, "PayloadTooLarge"));
    let r = apns_post(&client, &base, &path, &alert, vec![b' '; 100_000]).await;
    assert_eq!(r.status, 413, "a huge body");
    sim.shutdown().await;
}

#[tokio::test]
async fn unregistered_token_gets_410_with_a_millisecond_timestamp() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let base = sim.apns_sandbox_url();
    let jwt = dev_jwt(now());
    let at = 1_790_000_000_123;
    let mut spec = token_spec(ApnsEnvironment::Sandbox, ApnsTokenState::Unregistered);
    spec.unregistered_at_ms = Some(at);
    sim.control().set_apns_token(spec).unwrap();
    let r = alert(&client, &base, &jwt, TOKEN).await;
    assert_eq!(r.status, 410);
    assert_eq!(
        r.body,
        serde_json::json!({"reason": "Unregistered", "timestamp": at})
    );
    let expired = ApnsTokenSpec {
        topic: None,
        ..token_spec(ApnsEnvironment::Sandbox, ApnsTokenState::Expired)
    };
    sim.control().set_apns_token(expired).unwrap();
    let r = alert(&client, &base, &jwt, TOKEN).await;
    assert_eq!((r.status, r.reason()), (410, "ExpiredToken"));
    assert!(r.body.get("timestamp").is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn token_for_another_topic_and_throttled_token() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let base = sim.apns_sandbox_url();
    let jwt = dev_jwt(now());
    let mut spec = token_spec(ApnsEnvironment::Sandbox, ApnsTokenState::Active);
    spec.topic = Some("com.example.other".into());
    sim.control().set_apns_token(spec).unwrap();
    let r = alert(&client, &base, &jwt, TOKEN).await;
    assert_eq!((r.status, r.reason()), (400, "DeviceTokenNotForTopic"));
    let mut spec = token_spec(ApnsEnvironment::Sandbox, ApnsTokenState::Active);
    spec.throttle = Some(Throttle {
        max_requests: 2,
        window_secs: 60,
    });
    sim.control().set_apns_token(spec).unwrap();
    assert_eq!(alert(&client, &base, &jwt, TOKEN).await.status, 200);
    assert_eq!(alert(&client, &base, &jwt, TOKEN).await.status, 200);
    let r = alert(&client, &base, &jwt, TOKEN).await;
    assert_eq!((r.status, r.reason()), (429, "TooManyRequests"));
    sim.shutdown().await;
}

#[tokio::test]
async fn sandbox_and_production_have_separate_token_namespaces() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let jwt = dev_jwt(now());
    sim.control()
        .set_apns_token(token_spec(ApnsEnvironment::Sandbox, ApnsTokenState::Active))
        .unwrap();
    assert_eq!(
        alert(&client, &sim.apns_sandbox_url(), &jwt, TOKEN)
            .await
            .status,
        200
    );
    let r = alert(&client, &sim.apns_production_url(), &jwt, TOKEN).await;
    assert_eq!((r.status, r.reason()), (400, "BadDeviceToken"));
    let unknown = "ab".repeat(32);
    assert_eq!(
        alert(&client, &sim.apns_production_url(), &jwt, &unknown)
            .await
            .status,
        200
    );
    sim.control().update_settings(SettingsUpdate {
        accept_unknown_tokens: Some(false),
        ..Default::default()
    });
    let r = alert(&client, &sim.apns_production_url(), &jwt, &unknown).await;
    assert_eq!((r.status, r.reason()), (400, "BadDeviceToken"));
    assert_eq!(
        alert(&client, &sim.apns_sandbox_url(), &jwt, TOKEN)
            .await
            .status,
        200,
        "registered"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_last_accepted_notification_per_token_and_topic_is_stored() {
    let sim = spawn_sim().await;
    let client = apns_client(&sim);
    let base = sim.apns_sandbox_url();
    let auth = format!("bearer {}", dev_jwt(now()));
    let headers = [("authorization", auth.as_str()), ("apns-topic", TOPIC)];
    let path = format!("/3/device/{TOKEN}");
    for n in 1..=3 {
        let body = format!(r#"{{"aps":{{"badge":{n}}}}}"#);
        assert_eq!(
            apns_post(&client, &base, &path, &headers, body)
                .await
                .status,
            200
        );
    }
    let stored = sim.control().apns_stored(ApnsStoredFilter {
        token: Some(TOKEN.to_uppercase()),
        ..Default::default()
    });
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].environment, ApnsEnvironment::Sandbox);
    assert_eq!(stored[0].request.body_json().unwrap()["aps"]["badge"], 3);
    assert_eq!(stored[0].request.header("apns-topic"), Some(TOPIC));
    sim.shutdown().await;
}
