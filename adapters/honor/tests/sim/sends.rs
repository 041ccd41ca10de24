//! Token lists, per-token results, headers, the all-invalid guard, auth, receipts, faults.

use crate::conformance::{app, credential, sim_and_config, tokens_issued};
use axum::body::Bytes;
use push_core::adapter::{
    Adapter, CallbackContext, CallbackEvent, CallbackRequest, CheckError, CredentialRef, Outcome,
    SendTarget,
};
use push_core::{App, Channel, IngestMessage, NotificationContent, Options, Target};
use push_sim::Sim;
use push_sim::dev::{DEV_HONOR_APP_ID, DEV_HONOR_CLIENT_SECRET};
use push_sim::types::{
    ErrorFault, FaultSpec, HonorCallbackSpec, HonorTokenSpec, HonorTokenState, RequestFilter,
    RequestRecord, Vendor,
};
use pushgate_honor::HonorBuilder;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

struct TestApp {
    sim: Sim,
    adapter: Arc<dyn Adapter>,
    credential: CredentialRef,
    app: App,
}

async fn spawn_app() -> TestApp {
    let (sim, config) = sim_and_config(3).await;
    let adapter = HonorBuilder::new(config)
        .trust_only(sim.ca_pem_path())
        .build()
        .unwrap();
    TestApp {
        sim,
        adapter,
        credential: credential(DEV_HONOR_CLIENT_SECRET),
        app: app(),
    }
}

fn target(token: &str) -> SendTarget {
    pushgate_testkit::sends::target(Channel::Honor, token)
}

fn chat_message() -> IngestMessage {
    IngestMessage {
        id: "m-1".into(),
        app: "chat-prod".into(),
        to: Target::Users(vec!["bob".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("are you coming?".into()),
            click: Some("chat://conv/42".into()),
            ..NotificationContent::default()
        }),
        data: BTreeMap::from([("conv".to_string(), "42".to_string())]),
        options: Options {
            ttl: Some(86_400),
            collapse_key: Some("conv-42".into()),
            category: Some("IM".into()),
            ..Options::default()
        },
        overrides: BTreeMap::new(),
        wechat: None,
    }
}

impl TestApp {
    async fn send_with(
        &self,
        credential: &CredentialRef,
        message: &IngestMessage,
        targets: &[SendTarget],
    ) -> Vec<Outcome> {
        pushgate_testkit::sends::outcomes_in_order(
            self.adapter.as_ref(),
            &self.app,
            credential,
            message,
            targets,
        )
        .await
    }

    async fn send(&self, message: &IngestMessage, tokens: &[&str]) -> Vec<Outcome> {
        let targets: Vec<SendTarget> = tokens.iter().map(|t| target(t)).collect();
        self.send_with(&self.credential, message, &targets).await
    }

    fn sends(&self) -> Vec<RequestRecord> {
        self.sim
            .control()
            .requests(RequestFilter {
                vendor: Some(Vendor::Honor),
                ..RequestFilter::default()
            })
            .into_iter()
            .filter(|r| r.path.ends_with("/sendMessage"))
            .collect()
    }

    fn token(&self, token: &str, state: HonorTokenState, receipt_status: Option<u32>) {
        let spec = HonorTokenSpec {
            app_id: DEV_HONOR_APP_ID.into(),
            token: token.into(),
            state,
            receipt_status,
        };
        self.sim.control().set_honor_token(spec).unwrap();
    }
}

fn accepted(o: &Outcome) -> bool {
    matches!(
        o,
        Outcome::Accepted {
            vendor_message_id: Some(_)
        }
    )
}

#[tokio::test]
async fn a_token_list_goes_in_one_request_with_honors_headers() {
    let t = spawn_app().await;
    let o = t.send(&chat_message(), &["tok-1", "tok-2"]).await;
    assert!(o.iter().all(accepted), "{o:?}");
    let sends = t.sends();
    assert_eq!(sends.len(), 1);
    let s = &sends[0];
    assert_eq!(s.path, format!("/api/v1/{DEV_HONOR_APP_ID}/sendMessage"));
    assert!(
        s.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))
    );
    assert!(
        s.header("timestamp")
            .is_some_and(|v| v.parse::<i64>().is_ok())
    );
    let body: Value = serde_json::from_str(&s.body).unwrap();
    assert_eq!(body["token"], json!(["tok-1", "tok-2"]));
    assert_eq!(body["android"]["biTag"], "m-1");
    assert_eq!(body["android"]["notification"]["importance"], "NORMAL");
    let answer: Value = serde_json::from_str(&s.response.body).unwrap();
    assert_eq!(
        o[0],
        Outcome::Accepted {
            vendor_message_id: answer["data"]["requestId"].as_str().map(str::to_string)
        }
    );
    assert!(accepted(&t.send(&chat_message(), &["tok-3"]).await[0]));
    assert_eq!(tokens_issued(&t.sim), 1, "the access token is cached");
}

#[tokio::test]
async fn expired_and_failing_tokens_get_their_own_outcomes() {
    let t = spawn_app().await;
    t.token("tok-old", HonorTokenState::Expired, None);
    t.token("tok-bad", HonorTokenState::Failing, None);
    let o = t
        .send(&chat_message(), &["tok-1", "tok-old", "tok-bad"])
        .await;
    assert!(accepted(&o[0]), "{o:?}");
    assert!(matches!(o[1], Outcome::InvalidToken { .. }), "{o:?}");
    assert!(matches!(o[2], Outcome::Rejected { .. }), "{o:?}");
}

#[tokio::test]
async fn an_all_expired_batch_deactivates_nothing_until_proven() {
    let t = spawn_app().await;
    t.token("tok-x", HonorTokenState::Expired, None);
    t.token("tok-y", HonorTokenState::Expired, None);
    let o = t.send(&chat_message(), &["tok-x", "tok-y"]).await;
    assert!(
        o.iter().all(|o| matches!(o, Outcome::Rejected { reason } if reason.contains("no device was deactivated"))),
        "{o:?}"
    );
    let one = t.send(&chat_message(), &["tok-x"]).await;
    assert!(matches!(one[0], Outcome::InvalidToken { .. }), "{one:?}");
    assert!(accepted(&t.send(&chat_message(), &["tok-live"]).await[0]));
    let o = t.send(&chat_message(), &["tok-x", "tok-y"]).await;
    assert!(
        o.iter().all(|o| matches!(o, Outcome::InvalidToken { .. })),
        "{o:?}"
    );
}

#[tokio::test]
async fn an_expired_access_token_is_auth_failed_then_one_refresh() {
    let t = spawn_app().await;
    assert!(accepted(&t.send(&chat_message(), &["tok-1"]).await[0]));
    t.sim.control().expire_honor_access_tokens();
    let o = t.send(&chat_message(), &["tok-1", "tok-2"]).await;
    assert!(
        o.iter().all(|o| matches!(o, Outcome::AuthFailed { .. })),
        "{o:?}"
    );
    t.adapter.forget_auth(t.credential.id);
    assert!(accepted(&t.send(&chat_message(), &["tok-1"]).await[0]));
    assert!(accepted(&t.send(&chat_message(), &["tok-1"]).await[0]));
    assert_eq!(tokens_issued(&t.sim), 2, "exactly one refresh");
}

#[tokio::test]
async fn refused_locally_means_zero_requests() {
    let t = spawn_app().await;
    let mut big = chat_message();
    big.data.insert("blob".into(), "x".repeat(4100));
    let mut no_click = chat_message();
    no_click.overrides.insert(
        "honor".into(),
        json!({"android": {"notification": {"clickAction": null}}}),
    );
    for msg in [big, no_click] {
        let o = t.send(&msg, &["tok-1", "tok-2"]).await;
        assert!(
            o.iter().all(|o| matches!(o, Outcome::Rejected { .. })),
            "{o:?}"
        );
    }
    assert!(
        t.sim
            .control()
            .requests(RequestFilter::default())
            .is_empty()
    );
}

#[tokio::test]
async fn unmapped_categories_go_out_with_the_default_importance() {
    let t = spawn_app().await;
    // The app maps IM and PROMO only; honor.md §5 decides the rest.
    for (category, want) in [
        ("VOIP", "NORMAL"),
        ("ORDER", "NORMAL"),
        ("MARKETING", "LOW"),
    ] {
        let mut msg = chat_message();
        msg.options.category = Some(category.into());
        let o = t.send(&msg, &["tok-1"]).await;
        assert!(accepted(&o[0]), "{category}: {o:?}");
        let sends = t.sends();
        let body: Value = sends
            .last()
            .map(|s| serde_json::from_str(&s.body).unwrap())
            .unwrap();
        assert_eq!(
            body["android"]["notification"]["importance"], want,
            "{category}"
        );
    }
}

#[tokio::test]
async fn flow_control_and_outages_are_retry() {
    let t = spawn_app().await;
    assert!(accepted(&t.send(&chat_message(), &["tok-1"]).await[0]));
    for (status, retry_after, want) in [
        (503, None, None),
        (500, None, None),
        (429, Some("9"), Some(Duration::from_secs(9))),
    ] {
        let fault = FaultSpec {
            error: Some(ErrorFault {
                rate: 1.0,
                status,
                reason: String::new(),
                retry_after: retry_after.map(str::to_string),
                count: Some(1),
            }),
            ..FaultSpec::default()
        };
        t.sim.control().set_faults(Vendor::Honor, fault).unwrap();
        let o = t.send(&chat_message(), &["tok-1"]).await;
        assert!(
            matches!(&o[0], Outcome::Retry { after, .. } if *after == want),
            "{status}: {o:?}"
        );
        t.sim.control().clear_faults(Vendor::Honor);
    }
}

#[tokio::test]
async fn check_credential_asks_the_token_endpoint() {
    let t = spawn_app().await;
    assert_eq!(
        t.adapter.check_credential(&t.app, &t.credential).await,
        Ok(())
    );
    let wrong = credential("not-the-secret");
    let err = t
        .adapter
        .check_credential(&t.app, &wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Refused(r) if r.contains("invalid_client")),
        "{err:?}"
    );
    let o = t
        .send_with(&wrong, &chat_message(), &[target("tok-1")])
        .await;
    assert!(matches!(&o[0], Outcome::AuthFailed { .. }), "{o:?}");
    let shown = format!("{o:?} {err:?} {wrong:?} {:?}", t.adapter.health());
    assert!(
        !shown.contains("not-the-secret") && !shown.contains(DEV_HONOR_CLIENT_SECRET),
        "{shown}"
    );
    assert!(t.sends().is_empty());
}

#[tokio::test]
async fn receipts_find_their_delivery() {
    let t = spawn_app().await;
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let s = seen.clone();
    let router = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |body: Bytes| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(body.to_vec());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    t.sim
        .control()
        .add_honor_callback(HonorCallbackSpec {
            app_id: DEV_HONOR_APP_ID.into(),
            url: format!("http://{addr}/cb"),
            ..Default::default()
        })
        .unwrap();
    t.token("tok-gone", HonorTokenState::Valid, Some(40000003));
    let one = target("tok-gone");
    let o = t
        .send_with(&t.credential, &chat_message(), std::slice::from_ref(&one))
        .await;
    let Outcome::Accepted { vendor_message_id } = &o[0] else {
        panic!("{o:?}");
    };
    let mut body = None;
    for _ in 0..300 {
        if let Some(b) = seen.lock().unwrap().first() {
            body = Some(b.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let request = CallbackRequest {
        method: "POST".into(),
        body: body.expect("a receipt was posted"),
        ..CallbackRequest::default()
    };
    let context = CallbackContext {
        app: &t.app,
        credential: Some(&t.credential.secret),
        path_token_valid: true,
        secrets: None,
        now: OffsetDateTime::now_utc(),
    };
    let answer = t.adapter.parse_callback(&request, &context).unwrap();
    let r = &answer.receipts[0];
    assert_eq!(r.tag, Some(one.delivery_id.to_string()));
    assert_eq!(&r.vendor_message_id, vendor_message_id);
    assert_eq!(r.token.as_deref(), Some("tok-gone"));
    assert!(
        matches!(r.event, CallbackEvent::TokenInvalid { .. }),
        "{r:?}"
    );
}
