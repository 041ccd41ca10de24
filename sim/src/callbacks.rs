//! [`CallbackPoster`]: the one way every vendor fake posts its receipts and events to the
//! callback URLs tests register. Built once in [`crate::Sim::start`]: one HTTP client that
//! trusts the platform roots plus the sim's CA (`SimConfig::ca_cert`, so https callbacks
//! served with the dev certificates work), and background tasks on the sim's task tracker
//! that stop at shutdown — `Sim::shutdown` waits for them.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long one callback POST may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Posts vendor callbacks in the background.
#[derive(Clone, Debug)]
pub(crate) struct CallbackPoster {
    client: reqwest::Client,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl CallbackPoster {
    /// A poster trusting the platform roots plus the certificates of `ca_pem`; its tasks run
    /// on `tracker` and stop at `shutdown`.
    pub(crate) fn new(
        ca_pem: &[u8],
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let ca = reqwest::Certificate::from_pem_bundle(ca_pem).context("the CA certificate")?;
        let client = reqwest::Client::builder()
            .tls_certs_merge(ca)
            .timeout(TIMEOUT)
            .build()?;
        Ok(CallbackPoster {
            client,
            tracker,
            shutdown,
        })
    }

    /// The HTTP client the callbacks go out on.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Runs `work` in the background on the sim's tracker; shutdown drops it where it is.
    /// Outside a tokio runtime nothing runs.
    pub(crate) fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let shutdown = self.shutdown.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = work => {}
            }
        });
    }
}
