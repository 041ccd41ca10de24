//! [`Sim`]: starts every vendor endpoint and the control API, hands out their URLs, shuts
//! them down.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::apns::{ApnsEndpoint, ApnsState};
use crate::callbacks::CallbackPoster;
use crate::config::SimConfig;
use crate::control::types::{ApnsEnvironment, Settings};
use crate::control::{Control, api};
use crate::fcm::{FcmEndpoint, FcmState};
use crate::honor::{HonorEndpoint, HonorState, TOKEN_PATH as HONOR_TOKEN_PATH};
use crate::huawei::{HuaweiEndpoint, HuaweiState, ReceiptSender, TOKEN_PATH};
use crate::oppo::{OppoEndpoint, OppoState};
use crate::server::{self, Listener};
use crate::state::{Core, SimState};
use crate::tls;
use crate::vivo::{VivoEndpoint, VivoState};
use crate::wechat::{WechatEndpoint, WechatState};
use crate::xiaomi::{XiaomiEndpoint, XiaomiState};

/// A running simulator. Dropping it without [`Sim::shutdown`] leaves its tasks running until
/// the runtime stops.
#[derive(Debug)]
pub struct Sim {
    control: Control,
    apns_production: SocketAddr,
    apns_sandbox: SocketAddr,
    fcm: SocketAddr,
    huawei: SocketAddr,
    xiaomi: SocketAddr,
    oppo: SocketAddr,
    vivo: SocketAddr,
    honor: SocketAddr,
    wechat: SocketAddr,
    control_addr: SocketAddr,
    ca_cert: PathBuf,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Sim {
    /// Binds every port, loads the TLS material, optionally preloads the dev identities and
    /// starts serving.
    pub async fn start(config: SimConfig) -> anyhow::Result<Sim> {
        tls::install_provider();
        let material = tls::load(&config.tls_cert, &config.tls_key, &config.ca_cert)?;
        let state = Arc::new(SimState {
            core: Core::new(
                Settings {
                    accept_unknown_tokens: config.accept_unknown_tokens,
                    fcm_access_token_ttl_secs: 3599,
                    fcm_project_quota_per_minute: None,
                    fcm_device_per_minute: config.fcm_device_per_minute.filter(|&n| n > 0),
                    huawei_access_token_ttl_secs: 3600,
                    honor_night_hold: config.honor_night_hold,
                },
                config.max_recorded_requests,
            ),
            apns: ApnsState::default(),
            fcm: FcmState::default(),
            huawei: HuaweiState::default(),
            xiaomi: XiaomiState::default(),
            oppo: OppoState::default(),
            vivo: VivoState::default(),
            honor: HonorState::default(),
            wechat: WechatState::default(),
            dev_certs_dir: config.dev_certs_dir.clone(),
            preload_dev: config.preload_dev,
        });
        let control = Control::new(state.clone());
        if config.preload_dev {
            control
                .preload_dev()
                .context("preloading the dev identities")?;
        }
        let bind = |port: u16| {
            let addr = SocketAddr::new(config.bind, port);
            async move {
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding {addr}"))
            }
        };
        let listener = |tcp, tls, http2_only| Listener {
            tcp,
            tls,
            http2_only,
            max_concurrent_streams: config.max_concurrent_streams,
        };
        let apns_tls = tls::apns_config(&material)?;
        let fcm_tls = tls::fcm_config(&material)?;
        let prod = listener(
            bind(config.apns_production_port).await?,
            apns_tls.clone(),
            true,
        );
        let sandbox = listener(bind(config.apns_sandbox_port).await?, apns_tls, true);
        let fcm = listener(bind(config.fcm_port).await?, fcm_tls.clone(), false);
        let huawei = listener(bind(config.huawei_port).await?, fcm_tls.clone(), false);
        let xiaomi = listener(bind(config.xiaomi_port).await?, fcm_tls.clone(), false);
        let oppo = listener(bind(config.oppo_port).await?, fcm_tls.clone(), false);
        let vivo = listener(bind(config.vivo_port).await?, fcm_tls.clone(), false);
        let honor = listener(bind(config.honor_port).await?, fcm_tls.clone(), false);
        let wechat = listener(bind(config.wechat_port).await?, fcm_tls.clone(), false);
        let control_tcp = bind(config.control_port).await?;
        let addrs = [&prod, &sandbox, &fcm].map(|l| l.tcp.local_addr());
        let [apns_production, apns_sandbox, fcm_addr] = addrs;
        let (apns_production, apns_sandbox, fcm_addr) =
            (apns_production?, apns_sandbox?, fcm_addr?);
        let huawei_addr = huawei.tcp.local_addr()?;
        let xiaomi_addr = xiaomi.tcp.local_addr()?;
        let oppo_addr = oppo.tcp.local_addr()?;
        let vivo_addr = vivo.tcp.local_addr()?;
        let honor_addr = honor.tcp.local_addr()?;
        let wechat_addr = wechat.tcp.local_addr()?;
        let control_addr = control_tcp.local_addr()?;

        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let production = ApnsEndpoint::new(ApnsEnvironment::Production, state.clone());
        server::spawn(
            prod,
            Arc::new(production),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        let sandbox_ep = ApnsEndpoint::new(ApnsEnvironment::Sandbox, state.clone());
        server::spawn(
            sandbox,
            Arc::new(sandbox_ep),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        server::spawn(
            fcm,
            Arc::new(FcmEndpoint::new(state.clone())),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        let ca_pem = std::fs::read(&config.ca_cert)
            .with_context(|| format!("reading {}", config.ca_cert.display()))?;
        // One client and one task tracker for every vendor's receipts and events.
        let callbacks = CallbackPoster::new(&ca_pem, tracker.clone(), shutdown.clone())
            .context("receipt callback client")?;
        let receipts = ReceiptSender::new(callbacks.clone(), state.core.clock.clone());
        server::spawn(
            huawei,
            Arc::new(HuaweiEndpoint::new(state.clone(), receipts)),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        server::spawn(
            xiaomi,
            Arc::new(XiaomiEndpoint::new(state.clone(), callbacks.clone())),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        server::spawn(
            oppo,
            Arc::new(OppoEndpoint::new(state.clone(), callbacks.clone())),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        server::spawn(
            vivo,
            Arc::new(VivoEndpoint::new(state.clone(), callbacks.clone())),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        server::spawn(
            honor,
            Arc::new(HonorEndpoint::new(state.clone(), callbacks.clone())),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        server::spawn(
            wechat,
            Arc::new(WechatEndpoint::new(state.clone(), callbacks.clone())),
            state.clone(),
            shutdown.clone(),
            &tracker,
        )?;
        let router = api::router(control.clone());
        let stop = shutdown.clone();
        tracker.spawn(async move {
            let served = axum::serve(control_tcp, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "control API stopped");
            }
        });
        tracing::info!(%apns_production, %apns_sandbox, fcm = %fcm_addr, huawei = %huawei_addr, control = %control_addr, "push-sim listening");
        Ok(Sim {
            control,
            apns_production,
            apns_sandbox,
            fcm: fcm_addr,
            huawei: huawei_addr,
            xiaomi: xiaomi_addr,
            oppo: oppo_addr,
            vivo: vivo_addr,
            honor: honor_addr,
            wechat: wechat_addr,
            control_addr,
            ca_cert: config.ca_cert,
            shutdown,
            tracker,
        })
    }

    /// Base URL of the APNs production personality, e.g. `https://127.0.0.1:8444`.
    pub fn apns_production_url(&self) -> String {
        url("https", self.apns_production)
    }

    /// Base URL of the APNs sandbox personality.
    pub fn apns_sandbox_url(&self) -> String {
        url("https", self.apns_sandbox)
    }

    /// Base URL of FCM (`{fcm_url}/v1/projects/{p}/messages:send`).
    pub fn fcm_url(&self) -> String {
        url("https", self.fcm)
    }

    /// The OAuth2 token endpoint for service-account assertions.
    pub fn fcm_token_url(&self) -> String {
        format!("{}/token", self.fcm_url())
    }

    /// Base URL of Huawei Push Kit (`{huawei_url}/v1/{appId}/messages:send`, also `/v2/…`).
    pub fn huawei_url(&self) -> String {
        url("https", self.huawei)
    }

    /// Huawei's OAuth 2.0 token endpoint (`…/oauth2/v3/token`, same port as sends).
    pub fn huawei_token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.huawei_url())
    }

    /// Base URL of Xiaomi MiPush.
    pub fn xiaomi_url(&self) -> String {
        url("https", self.xiaomi)
    }

    /// Base URL of OPPO push.
    pub fn oppo_url(&self) -> String {
        url("https", self.oppo)
    }

    /// Base URL of vivo push.
    pub fn vivo_url(&self) -> String {
        url("https", self.vivo)
    }

    /// Base URL of Honor Push (`{honor_url}/api/v1/{appId}/sendMessage`).
    pub fn honor_url(&self) -> String {
        url("https", self.honor)
    }

    /// Honor's OAuth 2.0 token endpoint
    /// (`…/auth/realms/developer/protocol/openid-connect/token`, same port as sends).
    pub fn honor_token_url(&self) -> String {
        format!("{}{HONOR_TOKEN_PATH}", self.honor_url())
    }

    /// Base URL of WeChat (official account + mini program).
    pub fn wechat_url(&self) -> String {
        url("https", self.wechat)
    }

    /// Base URL of the HTTP control API.
    pub fn control_url(&self) -> String {
        url("http", self.control_addr)
    }

    /// The in-process control handle (same operations as the HTTP control API).
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// The CA certificate (PEM) that clients must trust to talk to the sim.
    pub fn ca_pem_path(&self) -> PathBuf {
        self.ca_cert.clone()
    }

    /// Stops accepting, lets open connections finish (HTTP/2 GOAWAY, at most 5 s), and waits
    /// for every task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// `scheme://host:port`, with an unspecified bind address shown as loopback.
fn url(scheme: &str, addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}
