//! `[online]`: the online core's settings, with their defaults.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Settings of the online core (`[online]` in the configuration file,
/// `PUSHGATE_ONLINE__…` in the environment).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OnlineConfig {
    /// Whether `GET /v1/ws` and the online REST routes are served. Default true.
    pub enabled: bool,
    /// Seconds between server pings on each connection. Default 20.
    pub heartbeat_seconds: u64,
    /// Seconds without any frame from a client (a pong included) after which its
    /// connection is closed and its presence removed. Default 60.
    pub idle_timeout_seconds: u64,
    /// Frames queued for one connection before it counts as too slow and is closed
    /// (its messages stay in the inbox). Default 256.
    pub outbound_buffer: usize,
    /// Largest accepted client frame in bytes. Default 64 KiB.
    pub max_frame_bytes: usize,
    /// Largest message text in bytes. Default 16 KiB.
    pub max_text_bytes: usize,
    /// Most members of one group. Default 10,000.
    pub max_group_members: usize,
    /// Most messages answered per `pull`. Default 200.
    pub max_pull: u32,
    /// Milliseconds an offline device of a one-to-one message has to ack before it is
    /// pushed; 0 = push at once (the default).
    pub direct_grace_ms: u64,
    /// Milliseconds an offline device of a group message has to ack before it is pushed.
    /// Default 3000.
    pub group_grace_ms: u64,
    /// This instance's id in presence rows and its routing queue name
    /// (`<amqp_prefix>.instance.<id>`). Default: a random id per start.
    pub instance_id: Option<String>,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            heartbeat_seconds: 20,
            idle_timeout_seconds: 60,
            outbound_buffer: 256,
            max_frame_bytes: 64 * 1024,
            max_text_bytes: 16 * 1024,
            max_group_members: 10_000,
            max_pull: 200,
            direct_grace_ms: 0,
            group_grace_ms: 3_000,
            instance_id: None,
        }
    }
}

impl OnlineConfig {
    /// The first problem with these settings, as (key under `online.`, problem).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.heartbeat_seconds == 0 {
            return Some(("heartbeat_seconds", "must be at least 1"));
        }
        if self.idle_timeout_seconds <= self.heartbeat_seconds {
            return Some((
                "idle_timeout_seconds",
                "must be longer than heartbeat_seconds",
            ));
        }
        if self.outbound_buffer == 0 {
            return Some(("outbound_buffer", "must be at least 1"));
        }
        if self.max_frame_bytes < 1024 {
            return Some(("max_frame_bytes", "must be at least 1024"));
        }
        if self.max_text_bytes == 0 || self.max_text_bytes > self.max_frame_bytes {
            return Some((
                "max_text_bytes",
                "must be at least 1 and at most max_frame_bytes",
            ));
        }
        if self.max_group_members < 2 || self.max_group_members > 20_000 {
            return Some(("max_group_members", "must be between 2 and 20000"));
        }
        if self.max_pull == 0 || self.max_pull > 1_000 {
            return Some(("max_pull", "must be between 1 and 1000"));
        }
        if let Some(id) = &self.instance_id
            && (id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
        {
            return Some(("instance_id", "must be 1 to 64 letters, digits, - or _"));
        }
        None
    }

    /// Server ping interval.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_seconds)
    }

    /// Silence after which a connection is closed.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }

    /// Grace window before pushing an offline device: groups or one-to-one.
    pub fn grace(&self, group: bool) -> Duration {
        Duration::from_millis(if group {
            self.group_grace_ms
        } else {
            self.direct_grace_ms
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_grace_is_off_for_direct_on_for_groups() {
        let c = OnlineConfig::default();
        assert_eq!(c.problem(), None);
        assert_eq!(c.grace(false), Duration::ZERO);
        assert!(c.grace(true) > Duration::ZERO);
    }

    #[test]
    fn idle_timeout_must_exceed_heartbeat() {
        let c = OnlineConfig {
            idle_timeout_seconds: 10,
            heartbeat_seconds: 10,
            ..OnlineConfig::default()
        };
        assert_eq!(c.problem().map(|p| p.0), Some("idle_timeout_seconds"));
    }
}
