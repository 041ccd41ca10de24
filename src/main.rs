//! The `pushgate` command: `serve` (default), `migrate` and `credentials rewrap`.

use clap::{Parser, Subcommand};
use pushgate::config::{Config, ConfigFlags};
use pushgate::service::{Application, load_master_keys, open_store, shutdown_on_signals};
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
    /// Manage stored credentials.
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CredentialsCommand {
    /// Re-encrypt every stored credential and online client key under the current master
    /// key (the first of `master_key`; older keys listed after it must still be configured
    /// to open the rest). Resumable: rerun after an interruption to finish.
    Rewrap {
        /// Rows read per batch.
        #[arg(long, default_value_t = 100)]
        batch_size: i64,
        /// Stop after re-wrapping this many (the rest stay readable; rerun to continue).
        #[arg(long)]
        limit: Option<u64>,
    },
}

/// `pushgate credentials rewrap`: prints the counts; fails when a row could not be opened.
async fn rewrap(config: &Config, batch_size: i64, limit: Option<u64>) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let vault = pushgate::vault::Vault::new(load_master_keys(config)?);
    let report =
        pushgate::credentials::rewrap::rewrap_all(&store, &vault, batch_size, limit).await?;
    println!(
        "rewrapped {} credential(s) under {}; changed meanwhile {}; unknown master key {}; undecryptable {}{}",
        report.rewrapped,
        report.key_id,
        report.changed_meanwhile,
        report.unknown_key,
        report.undecryptable,
        if report.stopped_at_limit {
            "; stopped at --limit, run again to finish"
        } else {
            "; done"
        }
    );
    let keys = pushgate::credentials::rewrap::rewrap_client_keys(
        &pushgate::service::online_store(&store),
        &vault,
    )
    .await?;
    println!(
        "rewrapped {} online client key(s); changed meanwhile {}; unknown master key {}; undecryptable {}",
        keys.rewrapped, keys.changed_meanwhile, keys.unknown_key, keys.undecryptable
    );
    if report.unknown_key + report.undecryptable + keys.unknown_key + keys.undecryptable > 0 {
        anyhow::bail!("some credentials or client keys could not be re-wrapped (see the log)");
    }
    Ok(())
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
            Command::Credentials {
                command: CredentialsCommand::Rewrap { batch_size, limit },
            } => rewrap(&config, batch_size, limit).await,
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
