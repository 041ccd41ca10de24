//! Huawei's OAuth 2.0 client-credentials endpoint: success, error shapes, flow control.

use push_sim::types::{HuaweiAppUpdate, Throttle};

use crate::helpers::*;

fn form<'a>(id: &'a str, secret: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ]
}

#[tokio::test]
async fn client_credentials_give_an_escaped_opaque_token() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let (status, text, body) = huawei_token_raw(&client, &sim, &form(HW_APP, HW_SECRET)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.contains('/') && token.contains('+') && token.contains('='));
    assert!(
        text.contains("\\/"),
        "slashes are escaped in the JSON text: {text}"
    );
    let c = sim.control().counters();
    assert_eq!(c.endpoints["huawei"].auth_requests, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn token_errors_have_error_and_sub_error_numbers() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let cases = [
        (form(HW_APP, "wrong"), 12304),
        (form("10000002", HW_SECRET), 20003),
        (form("com.example.app", HW_SECRET), 20002),
        (form("", HW_SECRET), 20002),
    ];
    for (f, sub) in cases {
        let (status, text, body) = huawei_token_raw(&client, &sim, &f).await;
        assert_eq!(status, 400, "{text}");
        assert_eq!(
            (body["error"].as_u64(), body["sub_error"].as_u64()),
            (Some(1101), Some(sub))
        );
        assert!(body["error_description"].is_string());
    }
    let bad_grant = [
        ("grant_type", "password"),
        ("client_id", HW_APP),
        ("client_secret", HW_SECRET),
    ];
    let (status, _, body) = huawei_token_raw(&client, &sim, &bad_grant).await;
    assert_eq!((status, body["error"].as_u64()), (400, Some(1101)));
    sim.shutdown().await;
}

#[tokio::test]
async fn token_flow_control_answers_503() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    sim.control()
        .update_huawei_app(
            HW_APP,
            HuaweiAppUpdate {
                token_throttle: Some(Some(Throttle {
                    max_requests: 2,
                    window_secs: 300,
                })),
                ..Default::default()
            },
        )
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            huawei_token_raw(&client, &sim, &form(HW_APP, HW_SECRET))
                .await
                .0,
            200
        );
    }
    let (status, _, body) = huawei_token_raw(&client, &sim, &form(HW_APP, HW_SECRET)).await;
    assert_eq!(status, 503, "{body}");
    sim.control()
        .shift_clock(push_sim::types::ClockShift { seconds: 300 });
    assert_eq!(
        huawei_token_raw(&client, &sim, &form(HW_APP, HW_SECRET))
            .await
            .0,
        200
    );
    sim.shutdown().await;
}
