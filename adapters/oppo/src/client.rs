//! OPPO's requests on the shared HTTP client ([`pushgate_adapter_http`]): the two hosts
//! (mainland China and overseas) with their auth endpoints, which one a registration id
//! belongs to, and the paths.
//! Classifying the answers is [`crate::error`]'s job.

pub(crate) use pushgate_adapter_http::{Answer, HttpClient, TransportError};
use url::Url;

/// The auth-token path (on each host), unless the host's auth endpoint is configured.
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

/// One host: its client (on its base URL) and the auth endpoint whose tokens its sends carry.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    client: HttpClient,
    auth_url: Url,
}

impl Host {
    /// A host on `client`'s base URL. `auth_url` is the configured auth endpoint; `None`
    /// derives it from the base URL (`{host}/server/v1/auth`).
    pub fn new(client: HttpClient, auth_url: Option<Url>) -> Self {
        let auth_url = auth_url.unwrap_or_else(|| client.url(&AUTH_PATH));
        Self { client, auth_url }
    }
}

/// The two hosts, sharing one reqwest client.
#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    china: Host,
    overseas: Host,
}

impl Hosts {
    /// Both hosts.
    pub fn new(china: Host, overseas: Host) -> Self {
        Self { china, overseas }
    }

    fn of(&self, region: Region) -> &Host {
        match region {
            Region::China => &self.china,
            Region::Overseas => &self.overseas,
        }
    }

    /// The client of a region's host.
    pub fn host(&self, region: Region) -> &HttpClient {
        &self.of(region).client
    }

    /// A region's auth endpoint: `auth_url` / `intl_auth_url` as configured, else
    /// `{host}/server/v1/auth`.
    pub fn auth_url(&self, region: Region) -> Url {
        self.of(region).auth_url.clone()
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

    fn host(base: &str, auth: Option<&str>) -> Host {
        Host::new(client(base), auth.map(|a| Url::parse(a).unwrap()))
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
            host("https://api.push.oppomobile.com", None),
            host("https://proxy.internal/oppo-intl/", None),
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

    #[test]
    fn each_host_derives_its_auth_url_unless_configured() {
        let hosts = Hosts::new(
            host("https://api.push.oppomobile.com", None),
            host("https://proxy.internal/oppo-intl/", None),
        );
        assert_eq!(
            hosts.auth_url(Region::Overseas).as_str(),
            "https://proxy.internal/oppo-intl/server/v1/auth"
        );
        let split = Hosts::new(
            host(
                "https://api.push.oppomobile.com",
                Some("https://auth.internal:9443/cn-auth"),
            ),
            host(
                "https://api-intl.push.oppomobile.com",
                Some("https://auth-intl.internal/auth"),
            ),
        );
        assert_eq!(
            split.auth_url(Region::China).as_str(),
            "https://auth.internal:9443/cn-auth"
        );
        assert_eq!(
            split.auth_url(Region::Overseas).as_str(),
            "https://auth-intl.internal/auth"
        );
        assert_eq!(
            split.send_url(Region::China, false).as_str(),
            "https://api.push.oppomobile.com/server/v1/message/notification/unicast",
            "the sends stay on the host"
        );
        assert_eq!(
            split.send_url(Region::Overseas, true).as_str(),
            "https://api-intl.push.oppomobile.com/server/v1/message/notification/unicast_batch"
        );
    }
}
