//! Huawei `messages:send`: success, partial success, invalid tokens, auth, validation, limits.

use push_sim::types::{
    HuaweiAppSpec, HuaweiAppUpdate, HuaweiTokenSpec, HuaweiTokenState, RequestFilter,
    SettingsUpdate, Throttle, Vendor,
};
use serde_json::{Value, json};

use crate::helpers::*;

async fn setup() -> (push_sim::Sim, reqwest::Client, String) {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let bearer = huawei_access_token(&client, &sim, HW_APP, HW_SECRET).await;
    (sim, client, bearer)
}

fn set_token(sim: &push_sim::Sim, app: &str, token: &str, state: HuaweiTokenState) {
    sim.control()
        .set_huawei_token(HuaweiTokenSpec {
            app_id: app.into(),
            token: token.into(),
            state,
            receipt_status: None,
        })
        .unwrap();
}

#[tokio::test]
async fn send_succeeds_with_a_unique_request_id_and_is_recorded() {
    let (sim, client, bearer) = setup().await;
    let (status, body) = huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&[HW_TOKEN]),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (200, Some("80000000")),
        "{body}"
    );
    assert_eq!(body["msg"], "Success");
    let id1 = body["requestId"].as_str().unwrap().to_string();
    assert!(
        id1.len() >= 20 && id1.bytes().all(|b| b.is_ascii_digit()),
        "{id1}"
    );
    let (_, again) = huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&[HW_TOKEN]),
    )
    .await;
    assert_ne!(again["requestId"].as_str().unwrap(), id1);
    let rec = sim.control().requests(RequestFilter {
        vendor: Some(Vendor::Huawei),
        token: Some(HW_TOKEN.into()),
        ..Default::default()
    });
    assert_eq!(rec.len(), 2);
    assert_eq!(rec[0].topic.as_deref(), Some(HW_APP));
    assert_eq!(
        rec[0].body_json().unwrap()["message"]["android"]["category"],
        "IM"
    );
    assert_eq!(sim.control().counters().vendor(Vendor::Huawei).requests, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn v2_project_form_behaves_the_same() {
    let (sim, client, bearer) = setup().await;
    let path = format!("/v2/{}/messages:send", push_sim::dev::DEV_HUAWEI_PROJECT_ID);
    let (status, body) =
        huawei_send_to(&client, &sim, &path, Some(&bearer), &huawei_im(&[HW_TOKEN])).await;
    assert_eq!((status, body["code"].as_str()), (200, Some("80000000")));
    let (_, body) = huawei_send_to(
        &client,
        &sim,
        "/v2/999/messages:send",
        Some(&bearer),
        &huawei_im(&[HW_TOKEN]),
    )
    .await;
    assert_eq!(body["code"], "80300002");
    sim.shutdown().await;
}

#[tokio::test]
async fn partial_success_lists_illegal_tokens_in_an_embedded_json_msg() {
    let (sim, client, bearer) = setup().await;
    let bad = "IQAAAACy0-invalid";
    set_token(&sim, HW_APP, bad, HuaweiTokenState::Invalid);
    let garbage = "not a token!";
    let (status, body) = huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&[HW_TOKEN, bad, garbage]),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (200, Some("80100000")),
        "{body}"
    );
    let msg: Value = serde_json::from_str(body["msg"].as_str().unwrap()).unwrap();
    assert_eq!(
        msg,
        json!({"success": 1, "failure": 2, "illegal_tokens": [bad, garbage]})
    );
    // The second token of a multi-token request is found in the log too.
    let rec = sim.control().requests(RequestFilter {
        token: Some(bad.into()),
        ..Default::default()
    });
    assert_eq!(rec.len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn all_invalid_tokens_give_80300007_including_another_apps_token() {
    let (sim, client, bearer) = setup().await;
    sim.control()
        .add_huawei_app(HuaweiAppSpec {
            app_id: "10000002".into(),
            app_secret: "other".into(),
            ..Default::default()
        })
        .unwrap();
    let foreign = "IQAAAACy0-of-app-2";
    set_token(&sim, "10000002", foreign, HuaweiTokenState::Active);
    let (status, body) =
        huawei_send(&client, &sim, HW_APP, Some(&bearer), &huawei_im(&[foreign])).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (200, Some("80300007")),
        "{body}"
    );
    sim.control().update_settings(SettingsUpdate {
        accept_unknown_tokens: Some(false),
        ..Default::default()
    });
    let (_, body) = huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&["IQAAAA-unknown"]),
    )
    .await;
    assert_eq!(body["code"], "80300007");
    // Uninstalled tokens are accepted at send time (the receipt reports status 2).
    set_token(&sim, HW_APP, HW_TOKEN, HuaweiTokenState::Uninstalled);
    let (_, body) = huawei_send(
        &client,
        &sim,
        HW_APP,
        Some(&bearer),
        &huawei_im(&[HW_TOKEN]),
    )
    .await;
    assert_eq!(body["code"], "80000000");
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_failures() {
    let (sim, client, bearer) = setup().await;
    let msg = huawei_im(&[HW_TOKEN]);
    let (status, body) = huawei_send(&client, &sim, HW_APP, None, &msg).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("80200001")));
    let mangled = bearer.replace('/', "\\/");
    let (status, body) = huawei_send(&client, &sim, HW_APP, Some(&mangled), &msg).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("80200003")));
    sim.control()
        .add_huawei_app(HuaweiAppSpec {
            app_id: "10000002".into(),
            app_secret: "other".into(),
            ..Default::default()
        })
        .unwrap();
    let (_, body) = huawei_send(&client, &sim, "10000002", Some(&bearer), &msg).await;
    assert_eq!(body["code"], "80200001", "token of another app");
    sim.control()
        .update_huawei_app(
            HW_APP,
            HuaweiAppUpdate {
                push_enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    let (_, body) = huawei_send(&client, &sim, HW_APP, Some(&bearer), &msg).await;
    assert_eq!(body["code"], "80300002");
    sim.control()
        .update_huawei_app(
            HW_APP,
            HuaweiAppUpdate {
                push_enabled: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(sim.control().expire_huawei_access_tokens(), 1);
    let (status, body) = huawei_send(&client, &sim, HW_APP, Some(&bearer), &msg).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("80200003")));
    let fresh = huawei_access_token(&client, &sim, HW_APP, HW_SECRET).await;
    assert_eq!(
        huawei_send(&client, &sim, HW_APP, Some(&fresh), &msg)
            .await
            .1["code"],
        "80000000"
    );
    // Tokens also expire on the sim clock after expires_in.
    sim.control()
        .shift_clock(push_sim::types::ClockShift { seconds: 3600 });
    assert_eq!(
        huawei_send(&client, &sim, HW_APP, Some(&fresh), &msg)
            .await
            .1["code"],
        "80200003"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_errors() {
    let (sim, client, bearer) = setup().await;
    let send = |body: Value| {
        let (client, bearer) = (client.clone(), bearer.clone());
        let sim = &sim;
        async move { huawei_send(&client, sim, HW_APP, Some(&bearer), &body).await }
    };
    let mut data_object = huawei_im(&[HW_TOKEN]);
    data_object["message"]["data"] = json!({"conv": "42"});
    let (status, body) = send(data_object).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("80100003")),
        "data must be a string"
    );
    let mut big = huawei_im(&[HW_TOKEN]);
    big["message"]["data"] = json!("x".repeat(4100));
    let (status, body) = send(big).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("80300008")));
    let many: Vec<String> = (0..1001).map(|i| format!("IQAAAA{i}")).collect();
    let (_, body) = send(json!({"message": {"token": many, "data": "{}"}})).await;
    assert_eq!(body["code"], "80300010");
    let mut category = huawei_im(&[HW_TOKEN]);
    category["message"]["android"]["category"] = json!("CHAT");
    assert_eq!(send(category).await.1["code"], "80100001");
    let mut no_click = huawei_im(&[HW_TOKEN]);
    no_click["message"]["android"]["notification"]
        .as_object_mut()
        .unwrap()
        .remove("click_action");
    assert_eq!(send(no_click).await.1["code"], "80100001");
    let mut ttl = huawei_im(&[HW_TOKEN]);
    ttl["message"]["android"]["ttl"] = json!("1296001s");
    assert_eq!(send(ttl).await.1["code"], "80100001");
    let resp = client
        .post(format!("{}/v1/{HW_APP}/messages:send", sim.huawei_url()))
        .bearer_auth(&bearer)
        .body("{\"message\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "80100003");
    let (_, body) = send(
        json!({"message": {"token": [HW_TOKEN], "data": "{}", "android": {"urgency": "HIGH"}}}),
    )
    .await;
    assert_eq!(body["code"], "80300011");
    sim.shutdown().await;
}

#[tokio::test]
async fn validate_only_checks_tokens_and_is_a_dry_run() {
    let (sim, client, bearer) = setup().await;
    let mut body = huawei_im(&[HW_TOKEN]);
    body["validate_only"] = json!(true);
    let (_, answer) = huawei_send(&client, &sim, HW_APP, Some(&bearer), &body).await;
    assert_eq!(answer["code"], "80000000");
    let r = sim.control().requests(RequestFilter {
        vendor: Some(Vendor::Huawei),
        ..Default::default()
    });
    assert!(r.last().unwrap().dry_run);
    sim.shutdown().await;
}

#[tokio::test]
async fn send_flow_control_answers_503() {
    let (sim, client, bearer) = setup().await;
    sim.control()
        .update_huawei_app(
            HW_APP,
            HuaweiAppUpdate {
                send_throttle: Some(Some(Throttle {
                    max_requests: 1,
                    window_secs: 60,
                })),
                ..Default::default()
            },
        )
        .unwrap();
    let msg = huawei_im(&[HW_TOKEN]);
    assert_eq!(
        huawei_send(&client, &sim, HW_APP, Some(&bearer), &msg)
            .await
            .0,
        200
    );
    assert_eq!(
        huawei_send(&client, &sim, HW_APP, Some(&bearer), &msg)
            .await
            .0,
        503
    );
    sim.control()
        .update_huawei_app(
            HW_APP,
            HuaweiAppUpdate {
                send_throttle: Some(None),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        huawei_send(&client, &sim, HW_APP, Some(&bearer), &msg)
            .await
            .0,
        200
    );
    sim.shutdown().await;
}
