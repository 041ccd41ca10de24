//! The development identities of `certs/` (see certs/README.md), registered by `--preload-dev`.

use std::path::Path;

use crate::control::Control;
use crate::control::types::{
    ApnsKeySpec, ApnsTeamTopics, ControlError, FcmAccountSpec, HuaweiAppSpec,
};

/// Key id of `certs/apns-authkey.p8`.
pub const DEV_APNS_KEY_ID: &str = "ABC123DEFG";
/// Team of the dev APNs key and certificate.
pub const DEV_APNS_TEAM_ID: &str = "TEAM123456";
/// Bundle id of the dev app.
pub const DEV_APNS_TOPIC: &str = "com.example.chat";
/// Project of `certs/fcm-service-account.json`.
pub const DEV_FCM_PROJECT: &str = "pushgate-test";
/// App ID of the dev Huawei app.
pub const DEV_HUAWEI_APP_ID: &str = "10000001";
/// App Secret of the dev Huawei app (a plain string, no file).
pub const DEV_HUAWEI_APP_SECRET: &str = "pushgate-test-huawei-secret";
/// Project ID of the dev Huawei app (for the `/v2/{projectId}` send URL).
pub const DEV_HUAWEI_PROJECT_ID: &str = "388421841221";

/// AppID of the dev WeChat official account (template messages).
pub const DEV_WECHAT_OA_APP_ID: &str = "wx00000000000000a1";
/// AppSecret of the dev WeChat official account.
pub const DEV_WECHAT_OA_APP_SECRET: &str = "pushgate-test-wechat-oa-secret";
/// Template of the dev official account, keys `thing1`, `thing2`, `time3`.
pub const DEV_WECHAT_OA_TEMPLATE: &str = "pushgate-dev-oa-chat";
/// AppID of the dev WeChat mini program (subscribe messages; linked to the official account).
pub const DEV_WECHAT_MP_APP_ID: &str = "wx00000000000000b2";
/// AppSecret of the dev WeChat mini program.
pub const DEV_WECHAT_MP_APP_SECRET: &str = "pushgate-test-wechat-mp-secret";
/// Subscribe template of the dev mini program, keys `thing1`, `thing2`.
pub const DEV_WECHAT_MP_TEMPLATE: &str = "pushgate-dev-mp-chat";

/// AppID of the dev Xiaomi app (numeric, appears in errors only).
pub const DEV_XIAOMI_APP_ID: &str = "2882303761517000001";
/// AppSecret of the dev Xiaomi app (`Authorization: key=<it>`; Base64-like, with `+ / =`).
pub const DEV_XIAOMI_APP_SECRET: &str = "cHVzaGdhdGUteGlhb21p+/Q==";
/// Android package of the dev Xiaomi app.
pub const DEV_XIAOMI_PACKAGE: &str = "com.example.chat";
/// Private-message channel id of the dev Xiaomi app.
pub const DEV_XIAOMI_PRIVATE_CHANNEL: &str = "110001";
/// Public-message channel id of the dev Xiaomi app.
pub const DEV_XIAOMI_PUBLIC_CHANNEL: &str = "120001";

/// AppID of the dev vivo app.
pub const DEV_VIVO_APP_ID: &str = "10004";
/// AppKey of the dev vivo app.
pub const DEV_VIVO_APP_KEY: &str = "pushgate-test-vivo-key";
/// AppSecret of the dev vivo app (a plain string, no file).
pub const DEV_VIVO_APP_SECRET: &str = "pushgate-test-vivo-secret";

/// App ID of the dev Honor app.
pub const DEV_HONOR_APP_ID: &str = "104444444";
/// OAuth client id of the dev Honor app.
pub const DEV_HONOR_CLIENT_ID: &str = "pushgate-test-honor-client";
/// OAuth client secret of the dev Honor app (a plain string, no file).
pub const DEV_HONOR_CLIENT_SECRET: &str = "pushgate-test-honor-secret";

/// Registers the dev APNs key, its team's topic, the dev FCM service account and the dev
/// Huawei app.
pub(crate) fn preload(control: &Control, dir: &Path) -> Result<(), ControlError> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| ControlError::new(format!("reading {}: {e}", dir.join(name).display())))
    };
    control.add_apns_key(ApnsKeySpec {
        key_id: DEV_APNS_KEY_ID.into(),
        team_id: DEV_APNS_TEAM_ID.into(),
        private_key_pem: Some(read("apns-authkey.p8")?),
        ..ApnsKeySpec::default()
    })?;
    control.add_apns_topics(ApnsTeamTopics {
        team_id: DEV_APNS_TEAM_ID.into(),
        topics: vec![DEV_APNS_TOPIC.into()],
    })?;
    let json: serde_json::Value = serde_json::from_str(&read("fcm-service-account.json")?)
        .map_err(|e| ControlError::new(format!("fcm-service-account.json: {e}")))?;
    control.add_fcm_account(FcmAccountSpec {
        service_account_json: Some(json),
        ..FcmAccountSpec::default()
    })?;
    control.add_huawei_app(HuaweiAppSpec {
        app_id: DEV_HUAWEI_APP_ID.into(),
        app_secret: DEV_HUAWEI_APP_SECRET.into(),
        project_id: Some(DEV_HUAWEI_PROJECT_ID.into()),
        ..HuaweiAppSpec::default()
    })?;
    control.add_honor_app(crate::control::types::HonorAppSpec {
        app_id: DEV_HONOR_APP_ID.into(),
        client_id: DEV_HONOR_CLIENT_ID.into(),
        client_secret: DEV_HONOR_CLIENT_SECRET.into(),
        ..Default::default()
    })?;
    control.add_vivo_app(crate::control::types::VivoAppSpec {
        app_id: DEV_VIVO_APP_ID.into(),
        app_key: DEV_VIVO_APP_KEY.into(),
        app_secret: DEV_VIVO_APP_SECRET.into(),
        ..Default::default()
    })?;
    control.preload_xiaomi_dev()?;
    control.preload_wechat_dev()?;
    control.preload_oppo_dev()?;
    Ok(())
}

/// AppKey of the dev OPPO app.
pub const DEV_OPPO_APP_KEY: &str = "pushgateTestOppoAppKey";
/// MasterSecret of the dev OPPO app (a plain string, no file).
pub const DEV_OPPO_MASTER_SECRET: &str = "pushgate-test-oppo-master-secret";
/// AppID of the dev OPPO app (reported as `appId` in receipts).
pub const DEV_OPPO_APP_ID: &str = "30012345";
/// Approved communication & service (private) channel of the dev OPPO app.
pub const DEV_OPPO_IM_CHANNEL: &str = "pushgate_im";
/// Content & marketing channel of the dev OPPO app.
pub const DEV_OPPO_MARKETING_CHANNEL: &str = "pushgate_marketing";
