//! The control API: reset, identities (APNs keys and teams, FCM service accounts), device
//! tokens, faults, the clock, settings, the request log and counters. [`Control`] is the
//! in-process handle; `api.rs` serves the same operations as HTTP JSON.

pub(crate) mod api;
mod honor;
mod oppo;
pub mod types;
mod vivo;
mod wechat;
mod xiaomi;

use std::sync::Arc;

use crate::dev;
use crate::state::SimState;
use types::*;

/// The in-process control handle of a running sim. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Control {
    state: Arc<SimState>,
}

impl Control {
    pub(crate) fn new(state: Arc<SimState>) -> Self {
        Control { state }
    }

    /// Back to the start state: forgets identities, tokens, faults, requests, stored
    /// notifications, counters (but open connections) and the clock shift, restores the
    /// initial settings and, if the sim was started with `preload_dev`, registers the dev
    /// identities again.
    pub fn reset(&self) {
        self.state.core.reset();
        self.state.apns.reset();
        self.state.fcm.reset();
        self.state.huawei.reset();
        self.state.xiaomi.reset();
        self.state.oppo.reset();
        self.state.vivo.reset();
        self.state.honor.reset();
        self.state.wechat.reset();
        if self.state.preload_dev
            && let Err(e) = self.preload_dev()
        {
            tracing::warn!(error = %e, "preloading the dev identities failed");
        }
    }

    /// Registers the identities in the dev certs directory: APNs key `ABC123DEFG` of team
    /// `TEAM123456` (both environments) with topic `com.example.chat`, and the FCM service
    /// account of project `pushgate-test`, and the Huawei app `10000001` (secret
    /// `pushgate-test-huawei-secret`, project `388421841221`).
    pub fn preload_dev(&self) -> Result<(), ControlError> {
        dev::preload(self, &self.state.dev_certs_dir)
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.state.core.settings()
    }

    /// Changes some settings; returns all of them.
    pub fn update_settings(&self, update: SettingsUpdate) -> Settings {
        self.state.core.update_settings(update)
    }

    /// Registers (or replaces) an APNs signing key.
    pub fn add_apns_key(&self, spec: ApnsKeySpec) -> Result<(), ControlError> {
        self.state.apns.keys.add_key(&spec)
    }

    /// Revokes an APNs signing key (its tokens get `InvalidProviderToken`); false if unknown.
    pub fn remove_apns_key(&self, key_id: &str) -> bool {
        self.state.apns.keys.remove_key(key_id)
    }

    /// Adds bundle ids to an APNs team.
    pub fn add_apns_topics(&self, topics: ApnsTeamTopics) -> Result<(), ControlError> {
        if topics.team_id.trim().is_empty() || topics.topics.iter().any(|t| t.trim().is_empty()) {
            return Err(ControlError::new("team_id and topics must not be empty"));
        }
        self.state.apns.keys.add_topics(&topics);
        Ok(())
    }

    /// Registers or updates an APNs device token (state, throttle).
    pub fn set_apns_token(&self, spec: ApnsTokenSpec) -> Result<(), ControlError> {
        self.state
            .apns
            .devices
            .set(&spec, self.state.core.clock.now_ms())
    }

    /// The last accepted notification per (environment, token, topic).
    pub fn apns_stored(&self, filter: ApnsStoredFilter) -> Vec<StoredNotification> {
        self.state.apns.stored(&filter)
    }

    /// Registers (or replaces) an FCM service account.
    pub fn add_fcm_account(&self, spec: FcmAccountSpec) -> Result<FcmAccountInfo, ControlError> {
        self.state.fcm.accounts.add(&spec)
    }

    /// Registers or updates an FCM registration token (state, throttle).
    pub fn set_fcm_token(&self, spec: FcmTokenSpec) -> Result<(), ControlError> {
        self.state
            .fcm
            .tokens
            .set(&spec, self.state.core.clock.now_ms())
    }

    /// Expires every FCM access token issued so far; returns how many were still live.
    /// (APNs provider tokens expire by moving the clock: [`Control::shift_clock`].)
    pub fn expire_fcm_access_tokens(&self) -> usize {
        self.state
            .fcm
            .accounts
            .expire_all(self.state.core.clock.now_ms())
    }

    /// Registers (or replaces) a Huawei app.
    pub fn add_huawei_app(&self, spec: HuaweiAppSpec) -> Result<HuaweiAppInfo, ControlError> {
        self.state.huawei.apps.add(&spec)
    }

    /// Changes some settings of a Huawei app (entitlements, push permission, flow control);
    /// returns the app's settings, or an error if the app is unknown.
    pub fn update_huawei_app(
        &self,
        app_id: &str,
        update: HuaweiAppUpdate,
    ) -> Result<HuaweiAppSpec, ControlError> {
        self.state
            .huawei
            .apps
            .update(app_id, &update)
            .ok_or_else(|| ControlError::new(format!("unknown app {app_id}")))
    }

    /// Registers or updates a Huawei device token (state, receipt status).
    pub fn set_huawei_token(&self, spec: HuaweiTokenSpec) -> Result<(), ControlError> {
        self.state.huawei.devices.set(&spec)
    }

    /// Expires every Huawei access token issued so far; returns how many were still live.
    pub fn expire_huawei_access_tokens(&self) -> usize {
        self.state
            .huawei
            .apps
            .expire_all(self.state.core.clock.now_ms())
    }

    /// Adds or replaces a receipt configuration (callback URL) of a Huawei app.
    pub fn add_huawei_callback(&self, spec: HuaweiCallbackSpec) -> Result<(), ControlError> {
        self.state.huawei.receipts.add(&spec)
    }

    /// Removes every receipt configuration of a Huawei app; returns how many there were.
    pub fn remove_huawei_callbacks(&self, app_id: &str) -> usize {
        self.state.huawei.receipts.remove(app_id)
    }

    /// The receipt batches posted (or attempted) so far, oldest first.
    pub fn huawei_receipts(&self) -> Vec<HuaweiReceiptBatch> {
        self.state.huawei.receipts.sent()
    }

    /// Replaces the faults of a vendor.
    pub fn set_faults(&self, vendor: Vendor, spec: FaultSpec) -> Result<(), ControlError> {
        self.state
            .core
            .faults
            .set(vendor, spec)
            .map_err(ControlError::new)
    }

    /// The faults of a vendor.
    pub fn faults(&self, vendor: Vendor) -> FaultSpec {
        self.state.core.faults.get(vendor)
    }

    /// Removes the faults of a vendor.
    pub fn clear_faults(&self, vendor: Vendor) {
        let _ = self.state.core.faults.set(vendor, FaultSpec::default());
    }

    /// Moves the sim clock.
    pub fn shift_clock(&self, shift: ClockShift) -> ClockState {
        self.state
            .core
            .clock
            .shift_ms(shift.seconds.saturating_mul(1000));
        self.state.core.clock.state()
    }

    /// The sim clock.
    pub fn clock(&self) -> ClockState {
        self.state.core.clock.state()
    }

    /// Recorded requests matching `filter`, oldest first.
    pub fn requests(&self, filter: RequestFilter) -> Vec<RequestRecord> {
        self.state.core.recorder.select(&filter)
    }

    /// All counters.
    pub fn counters(&self) -> Counters {
        self.state.core.counters.snapshot()
    }
}
