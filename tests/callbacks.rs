//! Receipt callbacks end to end: the simulator's vendors post receipts to pushgate the way
//! each vendor does — Huawei signed, Xiaomi, OPPO and vivo to the app's secret path-token URL —
//! and pushgate moves deliveries to delivered / failed, deactivates uninstalled devices, and
//! refuses unsigned, forged or foreign callbacks without changing anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use push_sim::dev::*;
use push_sim::types::{
    HonorCallbackSpec, HuaweiCallbackSpec, HuaweiTokenSpec, HuaweiTokenState, WechatConsentSpec,
    WechatEventMode, WechatEventSpec, WechatUserSpec, WechatUserState,
};
use push_sim::{Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const ADMIN: &str = "callbacks-admin-token-0123456789";

struct Setup {
    sim: Sim,
    pushgate: support::InProcess,
}

impl std::ops::Deref for Setup {
    type Target = support::InProcess;

    fn deref(&self) -> &support::InProcess {
        &self.pushgate
    }
}

impl Setup {
    async fn send(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, value) = self.send(method, path, body).await;
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// The deliveries of `id` by device, once none is `queued`, `sending` or (when
    /// `until_final`) `accepted`.
    async fn states(&self, id: &str, until_final: bool) -> Vec<(String, String, Value)> {
        let mut last = Value::Null;
        for _ in 0..300 {
            let (status, view) = self
                .send(
                    "GET",
                    &format!("/v1/apps/chat/notifications/{id}"),
                    Value::Null,
                )
                .await;
            if status == StatusCode::OK {
                let ds = view["deliveries"].as_array().cloned().unwrap_or_default();
                let busy =
                    |s: &str| matches!(s, "queued" | "sending") || (until_final && s == "accepted");
                if !ds.is_empty() && ds.iter().all(|d| !busy(d["state"].as_str().unwrap())) {
                    return ds
                        .iter()
                        .map(|d| {
                            (
                                d["device_id"].as_str().unwrap().to_string(),
                                d["state"].as_str().unwrap().to_string(),
                                d.clone(),
                            )
                        })
                        .collect();
                }
            }
            last = view;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("notification {id} did not settle: {last}");
    }
}

async fn setup() -> Setup {
    let sim = Sim::start(SimConfig {
        preload_dev: true,
        // Receipts at once whatever the hour: Honor's night hold is the sim's own test.
        honor_night_hold: false,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let pushgate = support::start_in_process(&sim, ADMIN).await;
    let s = Setup { sim, pushgate };
    s.call(
        "POST",
        "/v1/apps",
        json!({"id": "chat", "settings": {"android": {"package_name": "com.example.chat"}}}),
    )
    .await;
    s.call(
        "PUT",
        "/v1/apps/chat/credentials/huawei",
        json!({"app_id": DEV_HUAWEI_APP_ID, "app_secret": DEV_HUAWEI_APP_SECRET}),
    )
    .await;
    for (device, state) in [
        ("h-ok", HuaweiTokenState::Active),
        ("h-gone", HuaweiTokenState::Uninstalled),
        ("h-off", HuaweiTokenState::Active),
    ] {
        let token = format!("tok-{device}");
        s.sim
            .control()
            .set_huawei_token(HuaweiTokenSpec {
                app_id: DEV_HUAWEI_APP_ID.into(),
                token: token.clone(),
                state,
                receipt_status: (device == "h-off").then_some(6),
            })
            .unwrap();
        s.call(
            "PUT",
            &format!("/v1/apps/chat/devices/{device}"),
            json!({"user_id": "bob", "vendor": "huawei", "token": token}),
        )
        .await;
    }
    s
}

/// Registers pushgate's callback with the sim's Huawei, signed or not.
async fn configure_receipts(s: &Setup, signed: bool) -> Value {
    let urls = s.call("GET", "/v1/apps/chat/callbacks", Value::Null).await;
    let (url, username, secret_key) = if signed {
        (
            format!("{}/v1/callbacks/huawei/chat", s.base),
            Some(urls["huawei"]["username"].as_str().unwrap().to_string()),
            Some(urls["huawei"]["key"].as_str().unwrap().to_string()),
        )
    } else {
        let path = urls["paths"]["huawei"].as_str().unwrap();
        (format!("{}{path}", s.base), None, None)
    };
    s.sim
        .control()
        .add_huawei_callback(HuaweiCallbackSpec {
            app_id: DEV_HUAWEI_APP_ID.into(),
            url,
            username,
            secret_key,
            ..HuaweiCallbackSpec::default()
        })
        .unwrap();
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_huawei_receipts_move_deliveries_and_deactivate_gone_tokens() {
    let s = setup().await;
    configure_receipts(&s, true).await;
    s.call(
        "POST",
        "/v1/apps/chat/notifications",
        json!({"id": "m-1", "to": {"users": ["bob"]}, "notification": {"title": "Alice", "body": "hi"}}),
    )
    .await;
    let states = s.states("m-1", true).await;
    let state_of = |device: &str| {
        states
            .iter()
            .find(|(d, _, _)| d == device)
            .map(|(_, s, v)| (s.clone(), v["reason"].as_str().unwrap_or("").to_string()))
            .unwrap()
    };
    assert_eq!(state_of("h-ok").0, "delivered");
    // However fast the receipt came, the history says what happened in order.
    let ok = &states.iter().find(|(d, _, _)| d == "h-ok").unwrap().2;
    let history: Vec<&str> = ok["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["queued", "sending", "accepted", "delivered"]);
    let (gone, reason) = state_of("h-gone");
    assert_eq!(gone, "failed");
    assert!(reason.contains("app not installed"), "{reason}");
    let (off, reason) = state_of("h-off");
    assert_eq!(off, "failed");
    assert!(reason.contains("notifications disabled"), "{reason}");

    // Only the uninstalled device is deactivated; the one with notifications off is kept.
    let gone = s
        .call("GET", "/v1/apps/chat/devices/h-gone", Value::Null)
        .await;
    assert_eq!(gone["status"]["state"], "deactivated", "{gone}");
    let off = s
        .call("GET", "/v1/apps/chat/devices/h-off", Value::Null)
        .await;
    assert_eq!(off["status"]["state"], "active", "{off}");
    let batches = s.sim.control().huawei_receipts();
    assert!(
        batches.iter().all(|b| b.http_status == Some(200)),
        "{batches:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_receipts_need_the_path_token_and_forgeries_change_nothing() {
    let s = setup().await;
    let urls = configure_receipts(&s, false).await;
    s.call(
        "POST",
        "/v1/apps/chat/notifications",
        json!({"id": "m-2", "to": {"devices": ["h-ok"]}, "notification": {"title": "Alice", "body": "hi"}}),
    )
    .await;
    let states = s.states("m-2", true).await;
    assert_eq!(states[0].1, "delivered", "{:?}", states[0].2);

    let delivery = states[0].2["id"].as_str().unwrap().to_string();
    let forged = json!({"statuses": [{"biTag": delivery, "appid": DEV_HUAWEI_APP_ID,
        "token": "tok-h-ok", "status": 2, "timestamp": 1, "requestId": "x"}]});
    let post = |url: String, body: Value| {
        let http = s.http.clone();
        async move { http.post(url).json(&body).send().await.unwrap().status() }
    };
    let base = &s.base;
    // No token, a wrong token, a forged signature, an unknown app, an unknown vendor.
    assert_eq!(
        post(format!("{base}/v1/callbacks/huawei/chat"), forged.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(
            format!("{base}/v1/callbacks/huawei/chat/{}", "x".repeat(32)),
            forged.clone()
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    let signed = s
        .http
        .post(format!("{base}/v1/callbacks/huawei/chat"))
        .header("X-HUAWEI-CALLBACK-ID", "timestamp=1;nonce=n;value=AAAA")
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::UNAUTHORIZED);
    let token = urls["huawei"]["key"].as_str().unwrap();
    assert_eq!(
        post(
            format!("{base}/v1/callbacks/huawei/nope/{token}"),
            forged.clone()
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(
            format!("{base}/v1/callbacks/apns/chat/{token}"),
            forged.clone()
        )
        .await,
        StatusCode::NOT_FOUND
    );
    // Garbage with the right token is a 400 and harms nothing.
    let garbage = s
        .http
        .post(format!("{base}/v1/callbacks/huawei/chat/{token}"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    // Unknown message ids are ignored with a 200.
    let unknown = json!({"statuses": [{"biTag": "no-such", "appid": DEV_HUAWEI_APP_ID,
        "token": "tok-zzz", "status": 2, "timestamp": 1, "requestId": "none"}]});
    assert_eq!(
        post(format!("{base}/v1/callbacks/huawei/chat/{token}"), unknown).await,
        StatusCode::OK
    );
    let device = s
        .call("GET", "/v1/apps/chat/devices/h-ok", Value::Null)
        .await;
    assert_eq!(device["status"]["state"], "active", "{device}");
    assert_eq!(s.states("m-2", true).await[0].1, "delivered");

    // Rotation: the old token stops working at once.
    let rotated = s
        .call("POST", "/v1/apps/chat/callbacks/rotate", Value::Null)
        .await;
    assert_ne!(rotated["huawei"]["key"], urls["huawei"]["key"]);
    assert_eq!(
        post(format!("{base}/v1/callbacks/huawei/chat/{token}"), forged).await,
        StatusCode::UNAUTHORIZED
    );
}

/// Xiaomi, OPPO and vivo sign nothing: they post to the URL the app's settings name, which
/// carries the app's path token, and each delivery ends `delivered`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_token_receipts_of_xiaomi_oppo_and_vivo_mark_deliveries_delivered() {
    let s = setup().await;
    let urls = s.call("GET", "/v1/apps/chat/callbacks", Value::Null).await;
    let url = |vendor: &str| format!("{}{}", s.base, urls["paths"][vendor].as_str().unwrap());
    let settings = json!({
        "android": {"package_name": DEV_XIAOMI_PACKAGE},
        "huawei": {"categories": {"IM": "IM"}},
        "xiaomi": {"categories": {"IM": {"channel_id": DEV_XIAOMI_PRIVATE_CHANNEL, "class": "private"}},
                   "callback_url": url("xiaomi")},
        "oppo": {"categories": {"IM": {"channel_id": DEV_OPPO_IM_CHANNEL, "category": "IM", "notify_level": 16}},
                 "callback_url": url("oppo")},
        "vivo": {"categories": {"IM": "IM"}, "callback_url": url("vivo")},
    });
    s.call("PATCH", "/v1/apps/chat", json!({"settings": settings}))
        .await;
    for (vendor, credential) in [
        (
            "xiaomi",
            json!({"app_secret": DEV_XIAOMI_APP_SECRET, "package_name": DEV_XIAOMI_PACKAGE}),
        ),
        (
            "oppo",
            json!({"app_key": DEV_OPPO_APP_KEY, "master_secret": DEV_OPPO_MASTER_SECRET}),
        ),
        (
            "vivo",
            json!({"app_id": DEV_VIVO_APP_ID, "app_key": DEV_VIVO_APP_KEY, "app_secret": DEV_VIVO_APP_SECRET}),
        ),
    ] {
        s.call(
            "PUT",
            &format!("/v1/apps/chat/credentials/{vendor}"),
            credential,
        )
        .await;
        s.call(
            "PUT",
            &format!("/v1/apps/chat/devices/{vendor}-1"),
            // Well-formed for every vendor (vivo's regIds are 23 letters and digits).
            json!({"user_id": "carol", "vendor": vendor,
                   "token": format!("{vendor:0<8}000000000000001")}),
        )
        .await;
    }
    s.call(
        "POST",
        "/v1/apps/chat/notifications",
        json!({"id": "m-3", "to": {"users": ["carol"]},
               "notification": {"title": "Alice", "body": "hi"}, "options": {"category": "IM"}}),
    )
    .await;
    let states = s.states("m-3", true).await;
    assert_eq!(states.len(), 3, "{states:?}");
    for (device, state, view) in &states {
        assert_eq!(state, "delivered", "{device}: {view}");
    }
}

/// Honor posts to the path-token URL; WeChat signs its `TEMPLATESENDJOBFINISH` events with the
/// app's Token and encrypts them (safe mode) with its EncodingAESKey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honor_receipts_and_encrypted_wechat_events_mark_deliveries_delivered() {
    let s = setup().await;
    let urls = s.call("GET", "/v1/apps/chat/callbacks", Value::Null).await;
    let settings = json!({
        "android": {"package_name": "com.example.chat"},
        "honor": {"categories": {"IM": "NORMAL"}},
        "wechat": {
            "official_account_app_id": DEV_WECHAT_OA_APP_ID,
            "templates": {"IM": DEV_WECHAT_OA_TEMPLATE},
            "template_fields": {DEV_WECHAT_OA_TEMPLATE: {"thing1": "title", "thing2": "body", "time3": "time"}}
        }
    });
    s.call("PATCH", "/v1/apps/chat", json!({"settings": settings}))
        .await;
    s.call(
        "PUT",
        "/v1/apps/chat/credentials/honor",
        json!({"app_id": DEV_HONOR_APP_ID, "client_id": DEV_HONOR_CLIENT_ID,
               "client_secret": DEV_HONOR_CLIENT_SECRET}),
    )
    .await;
    s.call(
        "PUT",
        "/v1/apps/chat/credentials/wechat_oa",
        json!({"app_id": DEV_WECHAT_OA_APP_ID, "app_secret": DEV_WECHAT_OA_APP_SECRET}),
    )
    .await;
    for (device, vendor, token) in [
        ("honor-1", "honor", "honor-token-000000000001"),
        ("wechat-1", "wechat_oa", "openid-dave-0001"),
    ] {
        s.call(
            "PUT",
            &format!("/v1/apps/chat/devices/{device}"),
            json!({"user_id": "dave", "vendor": vendor, "token": token}),
        )
        .await;
    }
    s.sim
        .control()
        .add_honor_callback(HonorCallbackSpec {
            app_id: DEV_HONOR_APP_ID.into(),
            url: format!("{}{}", s.base, urls["paths"]["honor"].as_str().unwrap()),
            delay_ms: 0,
            duplicate: true,
        })
        .unwrap();
    s.sim
        .control()
        .set_wechat_event_url(WechatEventSpec {
            app_id: DEV_WECHAT_OA_APP_ID.into(),
            url: format!("{}/v1/callbacks/wechat/chat", s.base),
            token: urls["wechat"]["token"].as_str().unwrap().into(),
            encoding_aes_key: Some(urls["wechat"]["encoding_aes_key"].as_str().unwrap().into()),
            mode: WechatEventMode::Safe,
            delay_ms: 0,
            reply_timeout_ms: 5000,
            duplicate: false,
        })
        .unwrap();
    s.call(
        "POST",
        "/v1/apps/chat/notifications",
        json!({"id": "m-4", "to": {"users": ["dave"]},
               "notification": {"title": "Alice", "body": "hi"}, "options": {"category": "IM"}}),
    )
    .await;
    let states = s.states("m-4", true).await;
    assert_eq!(states.len(), 2, "{states:?}");
    for (device, state, view) in &states {
        assert_eq!(state, "delivered", "{device}: {view}");
    }
    let events = s.sim.control().wechat_events();
    assert!(!events.is_empty(), "the sim posted the event");
}

/// WeChat §6.1 `failed:user block` and §5 43101: the user refuses the official account's
/// messages, so the delivery fails and that openid's device is deactivated — by the receipt
/// callback or by the send's answer — while the same user's mini-program device (another
/// openid, another channel) keeps receiving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_user_blocks_deactivate_only_the_official_account_device() {
    let s = setup().await;
    let urls = s.call("GET", "/v1/apps/chat/callbacks", Value::Null).await;
    let settings = json!({
        "android": {"package_name": "com.example.chat"},
        "wechat": {
            "official_account_app_id": DEV_WECHAT_OA_APP_ID,
            "mini_program_app_id": DEV_WECHAT_MP_APP_ID,
            "templates": {"IM": DEV_WECHAT_OA_TEMPLATE},
            "mini_program_templates": {"IM": DEV_WECHAT_MP_TEMPLATE},
            "template_fields": {
                DEV_WECHAT_OA_TEMPLATE: {"thing1": "title", "thing2": "body", "time3": "time"},
                DEV_WECHAT_MP_TEMPLATE: {"thing1": "title", "thing2": "body"}
            }
        }
    });
    s.call("PATCH", "/v1/apps/chat", json!({"settings": settings}))
        .await;
    s.call(
        "PUT",
        "/v1/apps/chat/credentials/wechat_oa",
        json!({"app_id": DEV_WECHAT_OA_APP_ID, "app_secret": DEV_WECHAT_OA_APP_SECRET}),
    )
    .await;
    s.call(
        "PUT",
        "/v1/apps/chat/credentials/wechat_mp",
        json!({"app_id": DEV_WECHAT_MP_APP_ID, "app_secret": DEV_WECHAT_MP_APP_SECRET}),
    )
    .await;
    // erin's block arrives as a receipt; fred's as 43101 on the send.
    for (openid, state, receipt) in [
        (
            "openid-erin-oa",
            WechatUserState::Following,
            Some("failed:user block"),
        ),
        ("openid-fred-oa", WechatUserState::Blocked, None),
    ] {
        s.sim
            .control()
            .set_wechat_user(WechatUserSpec {
                app_id: DEV_WECHAT_OA_APP_ID.into(),
                openid: openid.into(),
                state,
                receipt_status: receipt.map(str::to_string),
            })
            .unwrap();
    }
    for user in ["erin", "fred"] {
        s.sim
            .control()
            .wechat_consent(WechatConsentSpec {
                app_id: DEV_WECHAT_MP_APP_ID.into(),
                openid: format!("openid-{user}-mp"),
                template_id: DEV_WECHAT_MP_TEMPLATE.into(),
                add: 1,
                reset: false,
            })
            .unwrap();
        for channel in ["oa", "mp"] {
            s.call(
                "PUT",
                &format!("/v1/apps/chat/devices/{user}-{channel}"),
                json!({"user_id": user, "vendor": format!("wechat_{channel}"),
                       "token": format!("openid-{user}-{channel}")}),
            )
            .await;
        }
    }
    s.sim
        .control()
        .set_wechat_event_url(WechatEventSpec {
            app_id: DEV_WECHAT_OA_APP_ID.into(),
            url: format!("{}/v1/callbacks/wechat/chat", s.base),
            token: urls["wechat"]["token"].as_str().unwrap().into(),
            encoding_aes_key: None,
            mode: WechatEventMode::Plain,
            delay_ms: 0,
            reply_timeout_ms: 5000,
            duplicate: false,
        })
        .unwrap();
    let notify = |id: &str, to: Value| {
        json!({"id": id, "to": to, "notification": {"title": "Alice", "body": "hi"},
               "options": {"category": "IM"}})
    };
    for (id, device, says) in [
        ("w-1", "erin-oa", "user block"),
        ("w-2", "fred-oa", "43101"),
    ] {
        s.call(
            "POST",
            "/v1/apps/chat/notifications",
            notify(id, json!({"devices": [device]})),
        )
        .await;
        let states = s.states(id, true).await;
        let (_, state, view) = &states[0];
        assert_eq!(state, "failed", "{device}: {view}");
        let reason = view["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(says), "{device}: {reason}");
        let gone = s
            .call(
                "GET",
                &format!("/v1/apps/chat/devices/{device}"),
                Value::Null,
            )
            .await;
        assert_eq!(gone["status"]["state"], "deactivated", "{gone}");
    }
    // The mini-program devices were not touched and still receive; the deactivated
    // official-account devices get nothing until they are registered again.
    s.call(
        "POST",
        "/v1/apps/chat/notifications",
        notify("w-3", json!({"users": ["erin", "fred"]})),
    )
    .await;
    let mut states = s.states("w-3", false).await;
    states.sort_by(|a, b| a.0.cmp(&b.0));
    let got: Vec<(&str, &str)> = states
        .iter()
        .map(|(d, st, _)| (d.as_str(), st.as_str()))
        .collect();
    assert_eq!(
        got,
        [("erin-mp", "accepted"), ("fred-mp", "accepted")],
        "{states:?}"
    );
}
