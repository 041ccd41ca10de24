//! The OAuth2 token endpoint: the jwt-bearer grant and Google's error answers.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn token_exchange_succeeds_over_http2_and_http1() {
    let sim = spawn_sim().await;
    let (status, body) = exchange(&https_client(&sim), &sim, &assertion(|_| {})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    let ca = reqwest::Certificate::from_pem(&std::fs::read(sim.ca_pem_path()).unwrap()).unwrap();
    let h1 = reqwest::Client::builder()
        .tls_certs_only([ca])
        .http1_only()
        .build()
        .unwrap();
    let (status, _) = exchange(&h1, &sim, &assertion(|_| {})).await;
    assert_eq!(status, 200);
    let versions: Vec<String> = sim
        .control()
        .requests(Default::default())
        .into_iter()
        .map(|r| r.http_version)
        .collect();
    assert_eq!(versions, ["HTTP/2.0", "HTTP/1.1"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sims_own_token_url_is_an_accepted_audience() {
    let sim = spawn_sim().await;
    let aud = sim.fcm_token_url();
    let (status, body) = exchange(
        &https_client(&sim),
        &sim,
        &assertion(|c| c["aud"] = json!(aud)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    sim.shutdown().await;
}

#[tokio::test]
async fn token_exchange_failures() {
    let sim = spawn_sim().await;
    let client = https_client(&sim);
    let other_rsa = cert_file("apns-cert.key");
    let good = || {
        json!({
            "iss": service_account()["client_email"],
            "scope": "https://www.googleapis.com/auth/firebase.messaging",
            "aud": "https://oauth2.googleapis.com/token",
            "iat": now(),
            "exp": now() + 3600,
        })
    };
    let cases = [
        (
            assertion(|c| c["scope"] = json!("https://example.com/not-a-scope")),
            "invalid_scope",
        ),
        (assertion(|c| c["scope"] = json!("")), "invalid_scope"),
        (sign_assertion(&good(), &other_rsa), "invalid_grant"), // bad signature
        (
            assertion(|c| c["exp"] = json!(now() + 3601)),
            "invalid_grant",
        ),
        (assertion(|c| c["exp"] = json!(now() - 1)), "invalid_grant"),
        // iat must be within 300 s of the sim clock, in the past as in the future.
        (
            assertion(|c| {
                c["iat"] = json!(now() - 1800);
                c["exp"] = json!(now() + 1800);
            }),
            "invalid_grant",
        ),
        (
            assertion(|c| {
                c["iat"] = json!(now() + 600);
                c["exp"] = json!(now() + 1200);
            }),
            "invalid_grant",
        ),
        (
            assertion(|c| c["iss"] = json!("nobody@nowhere.iam.gserviceaccount.com")),
            "invalid_grant",
        ),
        (
            assertion(|c| c["aud"] = json!("https://example.com/token")),
            "invalid_grant",
        ),
        ("garbage".to_string(), "invalid_grant"),
    ];
    for (a, error) in cases {
        let (status, body) = exchange(&client, &sim, &a).await;
        assert_eq!(
            (status, body["error"].as_str().unwrap()),
            (400, error),
            "{body}"
        );
        assert!(body["error_description"].is_string());
    }
    let (_, body) = exchange(
        &client,
        &sim,
        &assertion(|c| c["exp"] = json!(now() + 7200)),
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("short-lived")
    );
    let form = [("grant_type", "client_credentials"), ("assertion", "x")];
    let resp = client
        .post(sim.fcm_token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    sim.shutdown().await;
}
