//! [`SimConfig`]: where the sim listens, which TLS material it uses, its initial settings.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// Port of FCM and its `/token` endpoint in the binary (matches `token_uri` of
/// `certs/fcm-service-account.json`).
pub const DEFAULT_FCM_PORT: u16 = 8443;
/// Port of the APNs production personality in the binary.
pub const DEFAULT_APNS_PRODUCTION_PORT: u16 = 8444;
/// Port of the APNs sandbox personality in the binary.
pub const DEFAULT_APNS_SANDBOX_PORT: u16 = 8445;
/// Port of Huawei Push Kit and its `/oauth2/v3/token` endpoint in the binary.
pub const DEFAULT_HUAWEI_PORT: u16 = 8446;
/// Port of Xiaomi MiPush in the binary.
pub const DEFAULT_XIAOMI_PORT: u16 = 8447;
/// Port of OPPO push in the binary.
pub const DEFAULT_OPPO_PORT: u16 = 8448;
/// Port of vivo push in the binary.
pub const DEFAULT_VIVO_PORT: u16 = 8449;
/// Port of Honor Push in the binary.
pub const DEFAULT_HONOR_PORT: u16 = 8450;
/// Port of WeChat (official account + mini program) in the binary.
pub const DEFAULT_WECHAT_PORT: u16 = 8451;
/// Default of [`SimConfig::fcm_device_per_minute`]: FCM's limit of messages to one device
/// per minute (fcm.md §8).
const DEFAULT_FCM_DEVICE_PER_MINUTE: u32 = 240;
/// Port of the HTTP control API in the binary.
pub const DEFAULT_CONTROL_PORT: u16 = 8440;

/// The `certs/` directory of this repository.
pub fn repo_certs_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../certs"));
    dir.canonicalize().unwrap_or(dir)
}

/// How to start a [`Sim`](crate::Sim). `Default`: loopback, ephemeral ports (0), the TLS
/// material of `certs/`, unknown tokens accepted, FCM's 240/min per-device limit, nothing
/// preloaded.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Address every port binds to (default 127.0.0.1).
    pub bind: IpAddr,
    /// APNs production port (0: ephemeral).
    pub apns_production_port: u16,
    /// APNs sandbox port (0: ephemeral).
    pub apns_sandbox_port: u16,
    /// FCM + OAuth2 token endpoint port (0: ephemeral).
    pub fcm_port: u16,
    /// Huawei Push Kit + OAuth token endpoint port (0: ephemeral).
    pub huawei_port: u16,
    /// Xiaomi MiPush port (0: ephemeral).
    pub xiaomi_port: u16,
    /// OPPO push port (0: ephemeral).
    pub oppo_port: u16,
    /// vivo push port (0: ephemeral).
    pub vivo_port: u16,
    /// Honor Push port (0: ephemeral).
    pub honor_port: u16,
    /// WeChat (official account + mini program) port (0: ephemeral).
    pub wechat_port: u16,
    /// Control API port (0: ephemeral).
    pub control_port: u16,
    /// The sim's TLS certificate chain (PEM), default `certs/sim.pem`.
    pub tls_cert: PathBuf,
    /// Its private key (PEM), default `certs/sim.key`.
    pub tls_key: PathBuf,
    /// The CA that signed `tls_cert` and that APNs client certificates must chain to;
    /// clients trust it. Default `certs/dev-ca.pem`.
    pub ca_cert: PathBuf,
    /// Where `preload_dev` reads the dev identities from, default `certs/`.
    pub dev_certs_dir: PathBuf,
    /// Initial value of the `accept_unknown_tokens` setting (default true).
    pub accept_unknown_tokens: bool,
    /// Initial value of the `fcm_device_per_minute` setting: messages one FCM registration
    /// token may get per minute before 429 `QUOTA_EXCEEDED` (default `Some(240)`, Google's
    /// limit; `None` or `Some(0)`: unlimited). Load tests that hammer a few tokens turn it off.
    pub fcm_device_per_minute: Option<u32>,
    /// Initial value of the `honor_night_hold` setting (default true: Honor holds messages
    /// sent 00:00–06:00 Beijing time until 06:00, as the real service does).
    pub honor_night_hold: bool,
    /// Register the dev identities of `dev_certs_dir` at start and on every reset.
    pub preload_dev: bool,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` of every HTTP/2 connection (default 1000, what APNs
    /// has been seen to advertise).
    pub max_concurrent_streams: u32,
    /// Requests kept in the request log (oldest dropped first; default 100,000).
    pub max_recorded_requests: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        let certs = repo_certs_dir();
        SimConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            apns_production_port: 0,
            apns_sandbox_port: 0,
            fcm_port: 0,
            huawei_port: 0,
            xiaomi_port: 0,
            oppo_port: 0,
            vivo_port: 0,
            honor_port: 0,
            wechat_port: 0,
            control_port: 0,
            tls_cert: certs.join("sim.pem"),
            tls_key: certs.join("sim.key"),
            ca_cert: certs.join("dev-ca.pem"),
            dev_certs_dir: certs,
            accept_unknown_tokens: true,
            fcm_device_per_minute: Some(DEFAULT_FCM_DEVICE_PER_MINUTE),
            honor_night_hold: true,
            preload_dev: false,
            max_concurrent_streams: 1000,
            max_recorded_requests: 100_000,
        }
    }
}

impl SimConfig {
    /// The default configuration on the binary's fixed ports (8443 FCM, 8444 APNs
    /// production, 8445 APNs sandbox, 8446 Huawei, 8447 Xiaomi, 8448 OPPO,
    /// 8449 vivo, 8450 Honor, 8451 WeChat, 8440 control).
    pub fn fixed_ports() -> Self {
        SimConfig {
            apns_production_port: DEFAULT_APNS_PRODUCTION_PORT,
            apns_sandbox_port: DEFAULT_APNS_SANDBOX_PORT,
            fcm_port: DEFAULT_FCM_PORT,
            huawei_port: DEFAULT_HUAWEI_PORT,
            xiaomi_port: DEFAULT_XIAOMI_PORT,
            oppo_port: DEFAULT_OPPO_PORT,
            vivo_port: DEFAULT_VIVO_PORT,
            honor_port: DEFAULT_HONOR_PORT,
            wechat_port: DEFAULT_WECHAT_PORT,
            control_port: DEFAULT_CONTROL_PORT,
            ..SimConfig::default()
        }
    }
}
