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
    Ok(())
}
