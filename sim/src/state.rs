//! The sim's shared state: the vendor-neutral core (clock, request log, counters, faults,
//! settings) and one state per vendor.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::apns::ApnsState;
use crate::clock::SimClock;
use crate::control::types::{Settings, SettingsUpdate};
use crate::counters::CounterSet;
use crate::faults::Faults;
use crate::fcm::FcmState;
use crate::honor::HonorState;
use crate::huawei::HuaweiState;
use crate::oppo::OppoState;
use crate::record::{Recorder, lock};
use crate::vivo::VivoState;
use crate::wechat::WechatState;
use crate::xiaomi::XiaomiState;

/// Vendor-neutral state every endpoint uses.
#[derive(Debug)]
pub(crate) struct Core {
    /// The shiftable clock.
    pub clock: SimClock,
    /// The request log.
    pub recorder: Recorder,
    /// Connection and request counters.
    pub counters: CounterSet,
    /// Injected faults.
    pub faults: Faults,
    settings: Mutex<Settings>,
    initial: Settings,
    next_conn: AtomicU64,
}

impl Core {
    /// A core with these initial settings, keeping at most `max_records` requests.
    pub(crate) fn new(initial: Settings, max_records: usize) -> Self {
        Core {
            clock: SimClock::default(),
            recorder: Recorder::new(max_records),
            counters: CounterSet::default(),
            faults: Faults::default(),
            settings: Mutex::new(initial.clone()),
            initial,
            next_conn: AtomicU64::new(1),
        }
    }

    /// The current settings.
    pub(crate) fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Applies a partial settings update; returns the result.
    pub(crate) fn update_settings(&self, update: SettingsUpdate) -> Settings {
        let mut s = lock(&self.settings);
        if let Some(v) = update.accept_unknown_tokens {
            s.accept_unknown_tokens = v;
        }
        if let Some(v) = update.fcm_access_token_ttl_secs {
            s.fcm_access_token_ttl_secs = v;
        }
        if let Some(v) = update.fcm_project_quota_per_minute {
            s.fcm_project_quota_per_minute = (v > 0).then_some(v);
        }
        if let Some(v) = update.fcm_device_per_minute {
            s.fcm_device_per_minute = (v > 0).then_some(v);
        }
        if let Some(v) = update.huawei_access_token_ttl_secs {
            s.huawei_access_token_ttl_secs = v;
        }
        if let Some(v) = update.honor_night_hold {
            s.honor_night_hold = v;
        }
        s.clone()
    }

    /// A fresh connection number.
    pub(crate) fn next_connection_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Back to the initial state: settings, clock, log, counters, faults.
    pub(crate) fn reset(&self) {
        *lock(&self.settings) = self.initial.clone();
        self.clock.reset();
        self.recorder.clear();
        self.counters.reset();
        self.faults.clear_all();
    }
}

/// Everything a running sim knows.
#[derive(Debug)]
pub(crate) struct SimState {
    /// Vendor-neutral state.
    pub core: Core,
    /// APNs keys, teams, device tokens, stored notifications.
    pub apns: ApnsState,
    /// FCM service accounts, access tokens, registration tokens, quotas.
    pub fcm: FcmState,
    /// Huawei apps, access tokens, device tokens, receipt configurations.
    pub huawei: HuaweiState,
    /// Xiaomi MiPush state.
    pub xiaomi: XiaomiState,
    /// OPPO push state.
    pub oppo: OppoState,
    /// vivo push state.
    pub vivo: VivoState,
    /// Honor Push state.
    pub honor: HonorState,
    /// WeChat (official account + mini program) state.
    pub wechat: WechatState,
    /// Where `preload_dev` reads the dev identities from.
    pub dev_certs_dir: PathBuf,
    /// Whether `reset` re-registers the dev identities.
    pub preload_dev: bool,
}
