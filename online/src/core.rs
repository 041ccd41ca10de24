//! The online core as one value: built from its ports, serving its routes, running its
//! background tasks (relay consumer, presence refresh, offline hand-off) until shutdown.

use crate::OnlineConfig;
use crate::hub::Hub;
use crate::keys::ClientKeys;
use crate::offline::Offline;
use crate::relay::Cluster;
use crate::rest::access::TenantAccess;
use crate::seal::SecretSealer;
use crate::store::presence::STALE_AFTER_HEARTBEATS;
use crate::store::{Dialect, OnlineStore, now_ms};
use push_core::queue::{Queue, QueueError};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What the online core needs from the rest of pushgate.
pub struct OnlinePorts {
    /// The (migrated) database pool shared with pushgate's store.
    pub pool: sqlx::AnyPool,
    /// Which database it is.
    pub dialect: Dialect,
    /// pushgate's store: devices (offline hand-off) and tenants / apps (REST access).
    pub store: Arc<dyn push_core::Store>,
    /// The queue: ingest (offline hand-off) and instance queues (scale-out).
    pub queue: Arc<dyn Queue>,
    /// Seals HS256 client secrets.
    pub sealer: Arc<dyn SecretSealer>,
    /// Who may manage an app.
    pub access: Arc<dyn TenantAccess>,
    /// Whether other instances may exist (RabbitMQ): presence goes to the store and
    /// messages to other instances through their queues. False: one process, in-memory.
    pub clustered: bool,
}

/// Everything connections and handlers share.
pub(crate) struct Shared {
    pub config: OnlineConfig,
    pub store: OnlineStore,
    pub keys: Arc<ClientKeys>,
    pub hub: Arc<Hub>,
    pub cluster: Option<Cluster>,
    pub offline: Offline,
    pub queue: Arc<dyn Queue>,
    pub access: Arc<dyn TenantAccess>,
    /// Cancelled when the service stops: connections close with 1001.
    pub closing: CancellationToken,
    /// Presence rows of closed connections whose removal failed: retried every heartbeat,
    /// before this instance's rows are refreshed — a left-over row would otherwise be kept
    /// fresh by that refresh, and its device would count as online (no offline pushes) for
    /// as long as this instance lives.
    pub unreleased: std::sync::Mutex<Vec<Unreleased>>,
}

/// A closed connection whose presence row is still to be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreleased {
    pub app: String,
    pub user: String,
    pub device: String,
    pub conn_id: i64,
}

impl Shared {
    /// Presence rows refreshed since this time (unix ms) belong to live instances.
    pub fn presence_fresh_since(&self) -> i64 {
        let heartbeat_ms = i64::try_from(self.config.heartbeat().as_millis()).unwrap_or(i64::MAX);
        now_ms().saturating_sub(heartbeat_ms.saturating_mul(STALE_AFTER_HEARTBEATS))
    }

    /// This instance's id.
    pub fn instance(&self) -> Option<&str> {
        self.cluster.as_ref().map(|c| c.instance.as_str())
    }
}

/// The online core. Cloning shares it.
#[derive(Clone)]
pub struct OnlineCore {
    shared: Arc<Shared>,
}

impl OnlineCore {
    /// Builds the core; nothing runs until [`OnlineCore::run`].
    pub fn new(config: OnlineConfig, ports: OnlinePorts) -> Self {
        let store = OnlineStore::new(ports.pool, ports.dialect);
        let cluster = ports.clustered.then(|| Cluster {
            queue: Arc::clone(&ports.queue),
            instance: config
                .instance_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        });
        let shared = Shared {
            keys: Arc::new(ClientKeys::new(store.clone(), ports.sealer)),
            hub: Arc::new(Hub::new(config.outbound_buffer)),
            offline: Offline::new(Arc::clone(&ports.store), Arc::clone(&ports.queue)),
            store,
            cluster,
            queue: ports.queue,
            access: ports.access,
            closing: CancellationToken::new(),
            unreleased: std::sync::Mutex::new(Vec::new()),
            config,
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The apps' client keys as this core verifies them (one cache for every route that
    /// takes a client token, so a key change shows at once on this instance).
    pub fn client_keys(&self) -> Arc<ClientKeys> {
        Arc::clone(&self.shared.keys)
    }

    /// `GET /v1/ws` and the online REST routes (empty when disabled).
    pub fn router(&self) -> axum::Router {
        if !self.shared.config.enabled {
            return axum::Router::new();
        }
        crate::rest::routes()
            .route("/v1/ws", axum::routing::get(crate::ws::upgrade))
            .with_state(Arc::clone(&self.shared))
    }

    /// Live connections on this instance.
    pub fn connections(&self) -> usize {
        self.shared.hub.len()
    }

    /// This instance's id when clustered.
    pub fn instance_id(&self) -> Option<String> {
        self.shared.instance().map(str::to_string)
    }

    /// Runs the background work until `shutdown`, then closes every connection (1001).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), QueueError> {
        let shared = self.shared;
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(crate::offline::run(Arc::clone(&shared), shutdown.clone()));
        if let Some(cluster) = shared.cluster.clone() {
            let hub = Arc::clone(&shared.hub);
            let stop = shutdown.clone();
            let relay = tokio::spawn(async move { cluster.consume(hub, stop).await });
            tasks.spawn(refresh_presence(Arc::clone(&shared), shutdown.clone()));
            shutdown.cancelled().await;
            shared.closing.cancel();
            if let Ok(Err(e)) = relay.await {
                tracing::warn!(error = %e, "online relay ended with an error");
            }
            if let Some(instance) = shared.instance()
                && let Err(e) = shared.store.drop_instance_presence(instance).await
            {
                tracing::warn!(error = %e, "cannot remove this instance's presence");
            }
        } else {
            shutdown.cancelled().await;
            shared.closing.cancel();
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
    }
}

/// Removes the presence rows whose removal failed when their connection closed; the ones
/// that fail again wait for the next heartbeat.
pub(crate) async fn release_left_overs(shared: &Shared, instance: &str) {
    let pending = std::mem::take(
        &mut *shared
            .unreleased
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let mut failed = Vec::new();
    for row in pending {
        let released = shared
            .store
            .release_presence(crate::store::presence::Connection {
                app: &row.app,
                user: &row.user,
                device: &row.device,
                instance,
                conn_id: row.conn_id,
            })
            .await;
        if released.is_err() {
            failed.push(row);
        }
    }
    if !failed.is_empty() {
        tracing::warn!(
            rows = failed.len(),
            "cannot remove presence of closed connections yet"
        );
        shared
            .unreleased
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(failed);
    }
}

/// Refreshes this instance's presence rows every heartbeat and purges dead instances' rows.
async fn refresh_presence(shared: Arc<Shared>, stop: CancellationToken) {
    let Some(instance) = shared.instance().map(str::to_string) else {
        return;
    };
    let mut tick = tokio::time::interval(shared.config.heartbeat());
    let mut rounds: u64 = 0;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        rounds += 1;
        release_left_overs(&shared, &instance).await;
        if let Err(e) = shared.store.touch_presence(&instance, now_ms()).await {
            tracing::warn!(error = %e, "cannot refresh presence");
        }
        if rounds.is_multiple_of(10) {
            match shared
                .store
                .purge_presence(shared.presence_fresh_since())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "purged presence of dead instances"),
                Err(e) => tracing::warn!(error = %e, "cannot purge presence"),
            }
        }
    }
}
