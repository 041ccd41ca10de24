//! OPPO's requests on the shared HTTP client ([`pushgate_adapter_http`]): the two hosts
//! (mainland China and overseas), which one a registration id belongs to, and the paths.
//! Classifying the answers is [`crate::error`]'s job.

pub(crate) use pushgate_adapter_http::{Answer, HttpClient, TransportError};
use url::Url;

/// The auth-token path (on each host).
pub(crate) const AUTH_PATH: [&str; 3] = ["server", "v1", "auth"];
/// The single-device send path.
pub(crate) const UNICAST_PATH: [&str; 5] = ["server", "v1", "message", "notification", "unicast"];
/// The batch-of-single-sends path.
pub(crate) const UNICAST_BATCH_PATH: [&str; 5] =
    ["server", "v1", "message", "notification", "unicast_batch"];

/// Which OPPO host serves a registration id (oppo.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Region {
    /// `https://api.push.oppomobile.com`.
    China,
    /// `https://api-intl.push.oppomobile.com`.
    Overseas,
}

impl Region {
    /// The region of a registration id, split on `_`: one part, or `CN_…`, or `X_CN_…` is
    /// China; anything else is overseas.
    pub fn of(registration_id: &str) -> Region {
        let parts: Vec<&str> = registration_id.split('_').collect();
        match parts.as_slice() {
            [_] | ["CN", _] | [_, "CN", _] => Region::China,
            _ => Region::Overseas,
        }
    }

    /// For logs and reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::China => "China",
            Region::Overseas => "overseas",
        }
    }
}

/// The two hosts, sharing one reqwest client.
#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    china: HttpClient,
    overseas: HttpClient,
}

impl Hosts {
    /// Both hosts.
    pub fn new(china: HttpClient, overseas: HttpClient) -> Self {
        Self { china, overseas }
    }

    /// The client of a region's host.
    pub fn host(&self, region: Region) -> &HttpClient {
        match region {
            Region::China => &self.china,
            Region::Overseas => &self.overseas,
        }
    }

    /// `{host}/server/v1/auth`.
    pub fn auth_url(&self, region: Region) -> Url {
        self.host(region).url(&AUTH_PATH)
    }

    /// `{host}/server/v1/message/notification/unicast` or `…/unicast_batch`.
    pub fn send_url(&self, region: Region, batch: bool) -> Url {
        let path: &[&str] = if batch {
            &UNICAST_BATCH_PATH
        } else {
            &UNICAST_PATH
        };
        self.host(region).url(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn client(base: &str) -> HttpClient {
        HttpClient::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            Duration::from_secs(1),
            "oppo",
        )
    }

    #[test]
    fn regions_follow_the_underscore_rule() {
        for china in [
            "b6bbd94b59cdb5df8391642c1509b7fe",
            "CN_b6bbd94b59cdb5df8391642c1509b7fe",
            "OPPO_CN_b6bbd94b59cdb5df8391642c1509b7fe",
            "REALME_CN_x",
        ] {
            assert_eq!(Region::of(china), Region::China, "{china}");
        }
        for overseas in [
            "IN_b6bbd94b59cdb5df8391642c1509b7fe",
            "OPPO_EU_b6bb",
            "OPPO_SG_b6bb",
            "CN_x_y",
            "a_b_c_d",
            "cn_b6bb",
        ] {
            assert_eq!(Region::of(overseas), Region::Overseas, "{overseas}");
        }
    }

    #[test]
    fn urls_keep_a_path_prefix() {
        let hosts = Hosts::new(
            client("https://api.push.oppomobile.com"),
            client("https://proxy.internal/oppo-intl/"),
        );
        assert_eq!(
            hosts.auth_url(Region::China).as_str(),
            "https://api.push.oppomobile.com/server/v1/auth"
        );
        assert_eq!(
            hosts.send_url(Region::China, false).as_str(),
            "https://api.push.oppomobile.com/server/v1/message/notification/unicast"
        );
        assert_eq!(
            hosts.send_url(Region::Overseas, true).as_str(),
            "https://proxy.internal/oppo-intl/server/v1/message/notification/unicast_batch"
        );
    }
}
