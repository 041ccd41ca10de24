//! The `push-sim` binary: serves the simulated vendors on fixed loopback ports until SIGINT
//! or SIGTERM. See sim/README.md.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;
use push_sim::{Sim, SimConfig};

/// Faithful local fakes of APNs, FCM and Huawei Push Kit, with a control API for fault injection.
#[derive(Debug, Parser)]
#[command(name = "push-sim", version)]
struct Args {
    /// Address to bind every port to.
    #[arg(long, env = "PUSH_SIM_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// FCM HTTP v1 + OAuth2 `/token` port (certs/fcm-service-account.json points here).
    #[arg(long, env = "PUSH_SIM_FCM_PORT", default_value_t = push_sim::DEFAULT_FCM_PORT)]
    fcm_port: u16,
    /// APNs production port.
    #[arg(long, env = "PUSH_SIM_APNS_PRODUCTION_PORT", default_value_t = push_sim::DEFAULT_APNS_PRODUCTION_PORT)]
    apns_production_port: u16,
    /// APNs sandbox port.
    #[arg(long, env = "PUSH_SIM_APNS_SANDBOX_PORT", default_value_t = push_sim::DEFAULT_APNS_SANDBOX_PORT)]
    apns_sandbox_port: u16,
    /// Huawei Push Kit + OAuth `/oauth2/v3/token` port.
    #[arg(long, env = "PUSH_SIM_HUAWEI_PORT", default_value_t = push_sim::DEFAULT_HUAWEI_PORT)]
    huawei_port: u16,
    /// Xiaomi MiPush port.
    #[arg(long, env = "PUSH_SIM_XIAOMI_PORT", default_value_t = push_sim::DEFAULT_XIAOMI_PORT)]
    xiaomi_port: u16,
    /// OPPO push port.
    #[arg(long, env = "PUSH_SIM_OPPO_PORT", default_value_t = push_sim::DEFAULT_OPPO_PORT)]
    oppo_port: u16,
    /// vivo push port.
    #[arg(long, env = "PUSH_SIM_VIVO_PORT", default_value_t = push_sim::DEFAULT_VIVO_PORT)]
    vivo_port: u16,
    /// Honor Push port.
    #[arg(long, env = "PUSH_SIM_HONOR_PORT", default_value_t = push_sim::DEFAULT_HONOR_PORT)]
    honor_port: u16,
    /// WeChat (official account + mini program) port.
    #[arg(long, env = "PUSH_SIM_WECHAT_PORT", default_value_t = push_sim::DEFAULT_WECHAT_PORT)]
    wechat_port: u16,
    /// HTTP control API port.
    #[arg(long, env = "PUSH_SIM_CONTROL_PORT", default_value_t = push_sim::DEFAULT_CONTROL_PORT)]
    control_port: u16,
    /// Register the dev identities of the certs directory (APNs key ABC123DEFG / team
    /// TEAM123456 / com.example.chat, FCM project pushgate-test, Huawei app 10000001).
    #[arg(long)]
    preload_dev: bool,
    /// Answer BadDeviceToken / INVALID_ARGUMENT / illegal token for tokens nobody registered.
    #[arg(long)]
    reject_unknown_tokens: bool,
    /// FCM messages one registration token may get per minute before 429 QUOTA_EXCEEDED
    /// (default 240, Google's limit; 0: unlimited). The `fcm_device_per_minute` setting.
    #[arg(long, env = "PUSH_SIM_FCM_DEVICE_PER_MINUTE")]
    fcm_device_per_minute: Option<u32>,
    /// Directory with sim.pem, sim.key, dev-ca.pem and the dev identities.
    #[arg(long, env = "PUSH_SIM_CERTS_DIR")]
    certs_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = SimConfig {
        bind: args.bind,
        apns_production_port: args.apns_production_port,
        apns_sandbox_port: args.apns_sandbox_port,
        fcm_port: args.fcm_port,
        huawei_port: args.huawei_port,
        xiaomi_port: args.xiaomi_port,
        oppo_port: args.oppo_port,
        vivo_port: args.vivo_port,
        honor_port: args.honor_port,
        wechat_port: args.wechat_port,
        control_port: args.control_port,
        accept_unknown_tokens: !args.reject_unknown_tokens,
        preload_dev: args.preload_dev,
        ..SimConfig::default()
    };
    if let Some(n) = args.fcm_device_per_minute {
        config.fcm_device_per_minute = Some(n);
    }
    if let Some(dir) = args.certs_dir {
        config.tls_cert = dir.join("sim.pem");
        config.tls_key = dir.join("sim.key");
        config.ca_cert = dir.join("dev-ca.pem");
        config.dev_certs_dir = dir;
    }
    let sim = Sim::start(config).await?;
    println!("APNs production {}", sim.apns_production_url());
    println!("APNs sandbox    {}", sim.apns_sandbox_url());
    println!(
        "FCM             {}  (token: {})",
        sim.fcm_url(),
        sim.fcm_token_url()
    );
    println!(
        "Huawei          {}  (token: {})",
        sim.huawei_url(),
        sim.huawei_token_url()
    );
    println!("control         {}", sim.control_url());
    println!("trust           {}", sim.ca_pem_path().display());
    wait_for_signal().await?;
    tracing::info!("shutting down");
    sim.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
