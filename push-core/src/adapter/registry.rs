//! Explicit adapter registration: the binary builds one registry, in one visible list.

use super::{Adapter, AdapterExt};
use crate::channel::Channel;
use crate::token_cache::SharedTokens;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The adapters of a running pushgate, by channel, and what adapters share while they are
/// built (the store of auth tokens common to every instance).
#[derive(Default, Clone)]
pub struct AdapterRegistry {
    by_channel: BTreeMap<Channel, Arc<dyn Adapter>>,
    shared_tokens: Option<Arc<dyn SharedTokens>>,
}

/// Two adapters claimed one channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel {channel} is served by both {first} and {second}")]
pub struct DuplicateChannel {
    /// The contested channel.
    pub channel: Channel,
    /// The adapter registered first.
    pub first: &'static str,
    /// The one registered second.
    pub second: &'static str,
}

impl AdapterRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands `tokens` to the adapters registered from now on, which keep their vendor auth
    /// tokens there so that every instance uses the same ones.
    pub fn with_shared_tokens(mut self, tokens: Arc<dyn SharedTokens>) -> Self {
        self.shared_tokens = Some(tokens);
        self
    }

    /// The shared auth-token store, for an adapter being built (`None`: each instance keeps
    /// its own tokens).
    pub fn shared_tokens(&self) -> Option<Arc<dyn SharedTokens>> {
        self.shared_tokens.clone()
    }

    /// Adds an adapter for every channel it serves; refuses a channel already taken.
    pub fn register(&mut self, adapter: Arc<dyn Adapter>) -> Result<(), DuplicateChannel> {
        let info = adapter.info();
        if let Some(channel) = info
            .channels
            .iter()
            .find(|c| self.by_channel.contains_key(c))
        {
            let first = self
                .by_channel
                .get(channel)
                .map(|a| a.vendor())
                .unwrap_or_default();
            return Err(DuplicateChannel {
                channel: *channel,
                first,
                second: info.vendor,
            });
        }
        for channel in info.channels {
            self.by_channel.insert(*channel, Arc::clone(&adapter));
        }
        Ok(())
    }

    /// The adapter of a channel.
    pub fn get(&self, channel: Channel) -> Option<&Arc<dyn Adapter>> {
        self.by_channel.get(&channel)
    }

    /// Each registered adapter once (an adapter serving several channels appears once), by
    /// vendor name.
    pub fn adapters(&self) -> Vec<Arc<dyn Adapter>> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out: Vec<Arc<dyn Adapter>> = self
            .by_channel
            .values()
            .filter(|a| seen.insert(a.vendor()))
            .map(Arc::clone)
            .collect();
        out.sort_by_key(|a| a.vendor());
        out
    }

    /// The channels with an adapter.
    pub fn channels(&self) -> impl Iterator<Item = Channel> + '_ {
        self.by_channel.keys().copied()
    }
}
