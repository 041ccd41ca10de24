//! Wiring: `Application::build` opens the store, loads the master key, binds the listener;
//! `run_until_stopped` serves until the shutdown token fires, then drains.

use crate::api::{self, AppState};
use crate::config::Config;
use crate::credentials::shared_tokens::StoreSharedTokens;
use crate::pipeline::Pipeline;
use crate::pipeline::credentials::CredentialCache;
use crate::pipeline::ingest::Ingestor;
use crate::pipeline::worker::VendorWorker;
use crate::queue::open_queue;
use crate::store::SqlStore;
use crate::vault::{MasterKeySource, Vault, VaultError, load_keyring};
use anyhow::{Context, bail};
use base64::Engine;
use push_core::{Secret, Store};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A built pushgate instance, bound and connected, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    pipeline: Pipeline,
    expiry: crate::credentials::expiry::ExpiryMonitor,
    online: pushgate_online::OnlineCore,
    grace: Duration,
}

impl Application {
    /// Opens and migrates the store, loads (or, embedded, generates) the master key and the
    /// admin token, and binds the listener. Fails with a clear message on any of them.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let store = Arc::new(open_store(config).await?);
        let vault = Arc::new(Vault::new(load_master_keys(config)?));
        let shared_tokens = Arc::new(StoreSharedTokens::new(
            store.as_ref().clone(),
            Arc::clone(&vault),
        ));
        let adapters = Arc::new(crate::adapters::registry(
            &config.vendors,
            Some(shared_tokens),
        )?);
        let lease = Duration::from_secs(config.pipeline.embedded_lease_seconds);
        let queue = open_queue(
            config.amqp_url.as_deref(),
            &config.amqp_prefix,
            lease,
            &store,
        )
        .await
        .context("cannot open the queue")?;
        let dyn_store: Arc<dyn Store> = store.clone();
        let ingestor = Ingestor::new(
            Arc::clone(&dyn_store),
            Arc::clone(&queue),
            Arc::clone(&adapters),
            config.max_message_bytes,
        );
        let credentials = Arc::new(
            CredentialCache::new(Arc::clone(&dyn_store), Arc::clone(&vault))
                .with_events(Arc::clone(&queue)),
        );
        let workers = adapters
            .adapters()
            .into_iter()
            .map(|adapter| {
                Arc::new(VendorWorker::new(
                    adapter,
                    Arc::clone(&dyn_store),
                    Arc::clone(&queue),
                    Arc::clone(&credentials),
                    config.pipeline.worker_limits(),
                ))
            })
            .collect();
        let callbacks = crate::callbacks::CallbackService::new(
            Arc::clone(&dyn_store),
            Arc::clone(&adapters),
            Arc::clone(&credentials),
            crate::pipeline::events::EventPublisher::new(Arc::clone(&queue)),
        );
        let expiry = crate::credentials::expiry::ExpiryMonitor::new(
            Arc::clone(&dyn_store),
            Arc::clone(&queue),
        );
        let pipeline = Pipeline::new(
            Arc::clone(&queue),
            ingestor.clone(),
            workers,
            config.pipeline.prefetch,
        )
        .with_ingest_batch(config.pipeline.ingest_batch)
        .with_ingest_linger(std::time::Duration::from_millis(
            config.pipeline.ingest_linger_ms,
        ));
        let admin_token = match &config.admin_token {
            Some(token) => token.clone(),
            None if config.is_embedded() => generated_admin_token(&config.data_dir)?,
            None => bail!("invalid configuration: admin_token: is required with PostgreSQL"),
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let online = online_core(config, &store, &dyn_store, &queue, &vault);
        // The ack route verifies client tokens with the online core's keys, as `GET /v1/ws`.
        let client_keys = online.client_keys();
        let state = AppState {
            store: dyn_store,
            vault,
            admin_token,
            metrics: crate::telemetry::metrics(),
            max_body_bytes: config.max_body_bytes,
            ingestor,
            adapters: Arc::clone(&adapters),
            callbacks,
            client_keys,
        };
        Ok(Self {
            listener,
            router: api::router_with(state, online.router()),
            pipeline,
            expiry,
            online,
            grace: Duration::from_secs(config.shutdown_grace_seconds),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves the API and runs the pipeline until `shutdown` is cancelled, then lets
    /// in-flight requests and messages finish for up to the configured grace period.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let addr = self.listener.local_addr()?;
        tracing::info!(%addr, "pushgate listening");
        let server = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future();
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(async move { server.await.map_err(anyhow::Error::from) });
        let pipeline_stop = shutdown.clone();
        let pipeline = self.pipeline;
        tasks.spawn(async move {
            pipeline
                .run(pipeline_stop)
                .await
                .map_err(anyhow::Error::from)
        });
        let expiry_stop = shutdown.clone();
        let expiry = self.expiry;
        tasks.spawn(async move {
            expiry.run(expiry_stop).await;
            Ok(())
        });
        let online_stop = shutdown.clone();
        let online = self.online;
        tasks.spawn(async move { online.run(online_stop).await.map_err(anyhow::Error::from) });
        // The first task to end (a failure, or both after shutdown) stops everything.
        tokio::select! {
            Some(joined) = tasks.join_next() => {
                shutdown.cancel();
                if let Ok(Err(e)) = joined {
                    tracing::error!(error = %e, "a component failed; shutting down");
                    drain(tasks, self.grace).await;
                    return Err(e);
                }
            }
            () = shutdown.cancelled() => {}
        }
        tracing::info!(
            grace_seconds = self.grace.as_secs(),
            "shutting down; draining requests and messages"
        );
        drain(tasks, self.grace).await;
        Ok(())
    }
}

/// Waits for the remaining tasks, aborting them after `grace`.
async fn drain(mut tasks: tokio::task::JoinSet<anyhow::Result<()>>, grace: Duration) {
    let all = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, all).await.is_err() {
        tracing::warn!("grace period over; abandoning remaining work (it will be redelivered)");
    }
}

/// The online core over the same store and queue; several instances (RabbitMQ) share
/// presence through the store and route to each other through instance queues.
fn online_core(
    config: &Config,
    store: &SqlStore,
    dyn_store: &Arc<dyn Store>,
    queue: &Arc<dyn push_core::queue::Queue>,
    vault: &Arc<Vault>,
) -> pushgate_online::OnlineCore {
    let dialect = online_dialect(store);
    pushgate_online::OnlineCore::new(
        config.online.clone(),
        pushgate_online::OnlinePorts {
            pool: store.pool().clone(),
            dialect,
            store: Arc::clone(dyn_store),
            queue: Arc::clone(queue),
            sealer: Arc::new(VaultSealer(Arc::clone(vault))),
            access: Arc::new(pushgate_online::StoreTenantAccess::new(
                Arc::clone(dyn_store),
                crate::api::auth::hash_api_key,
                crate::api::auth::API_KEY_PREFIX,
            )),
            clustered: config.amqp_url.is_some(),
        },
    )
}

/// The online core's SQL dialect for `store`'s backend.
fn online_dialect(store: &SqlStore) -> pushgate_online::Dialect {
    match store.backend() {
        crate::store::Backend::Postgres => pushgate_online::Dialect::Postgres,
        crate::store::Backend::Sqlite => pushgate_online::Dialect::Sqlite,
    }
}

/// The online core's storage over `store`'s pool (for `credentials rewrap`).
pub fn online_store(store: &SqlStore) -> pushgate_online::store::OnlineStore {
    pushgate_online::store::OnlineStore::new(store.pool().clone(), online_dialect(store))
}

/// Seals online client secrets with the vault (purpose [`CLIENT_KEY_PURPOSE`], bound to the
/// key version id and the app).
struct VaultSealer(Arc<Vault>);

/// The vault purpose of sealed online client secrets.
pub const CLIENT_KEY_PURPOSE: &str = "online-client-key";

impl pushgate_online::SecretSealer for VaultSealer {
    fn seal(
        &self,
        key_id: uuid::Uuid,
        app: &str,
        secret: &Secret,
    ) -> Result<push_core::SealedCredential, pushgate_online::SealError> {
        self.0
            .seal_secret(key_id, CLIENT_KEY_PURPOSE, app, secret)
            .map_err(|e| pushgate_online::SealError(e.to_string()))
    }

    fn open(
        &self,
        key_id: uuid::Uuid,
        app: &str,
        sealed: &push_core::SealedCredential,
    ) -> Result<Secret, pushgate_online::SealError> {
        self.0
            .open_secret(key_id, CLIENT_KEY_PURPOSE, app, sealed)
            .map_err(|e| pushgate_online::SealError(e.to_string()))
    }
}

/// Connects to the configured database and applies migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    if config.is_embedded() && config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
    }
    let store = SqlStore::connect(&config.effective_database_url())
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    store.ping().await.context("the database does not answer")?;
    Ok(store)
}

/// Loads the master keys as configured (generating one for the embedded default).
pub fn load_master_keys(config: &Config) -> anyhow::Result<crate::vault::Keyring> {
    let generate_into = config.is_embedded().then_some(config.data_dir.as_path());
    let loaded = load_keyring(
        config.master_key.as_ref().map(Secret::expose),
        config.master_key_file.as_deref(),
        generate_into,
    );
    let (keyring, source) = match loaded {
        Ok(found) => found,
        Err(VaultError::NoMasterKey) => bail!(
            "invalid configuration: master_key: is required with PostgreSQL (set PUSHGATE_MASTER_KEY or master_key_file; generate one with `openssl rand -base64 32`)"
        ),
        Err(e) => return Err(anyhow::anyhow!("invalid configuration: master_key: {e}")),
    };
    match &source {
        MasterKeySource::Generated(path) => tracing::warn!(
            path = %path.display(),
            key_id = keyring.current().id(),
            "generated a new master key for the embedded default; back it up, credentials cannot be read without it"
        ),
        other => {
            tracing::info!(source = ?other, key_id = keyring.current().id(), "master key loaded")
        }
    }
    Ok(keyring)
}

/// Reads `<data_dir>/admin.token`, creating it with a random token on first start.
fn generated_admin_token(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join("admin.token");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let token = text.trim();
        if token.chars().count() >= 16 {
            return Ok(Secret::new(token));
        }
        bail!(
            "{} holds no usable admin token (at least 16 characters)",
            path.display()
        );
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(token.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(path = %path.display(), "generated an admin token for the embedded default; read it from this file");
    Ok(Secret::new(token))
}

/// A token cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received"),
            () = terminate => tracing::info!("SIGTERM received"),
        }
        trigger.cancel();
    });
    token
}
