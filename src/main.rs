//! The `pushgate` command: `serve` (default) and `migrate`.

use clap::{Parser, Subcommand};
use pushgate::config::{Config, ConfigFlags};
use pushgate::service::{Application, open_store, shutdown_on_signals};
use std::path::PathBuf;
use std::process::ExitCode;

/// pushgate: offline push notifications for IM products (APNs, FCM, Huawei, Xiaomi, OPPO,
/// vivo, Honor, WeChat).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (see pushgate.example.toml) [env: PUSHGATE_CONFIG]
    #[arg(long, global = true, env = "PUSHGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    flags: ConfigFlags,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), &cli.flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("pushgate: {e}");
            return ExitCode::from(2);
        }
    };
    pushgate::telemetry::init_logging(config.log_format, &config.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pushgate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                let app = Application::build(&config).await?;
                app.run_until_stopped(shutdown_on_signals()).await
            }
            Command::Migrate => {
                open_store(&config).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("pushgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}
