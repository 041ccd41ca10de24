//! `auth_url` / `intl_auth_url`: by default each host's auth call goes to
//! `{host}/server/v1/auth`; when set, that host's auth call — and only it — goes to the
//! configured URL, so an auth endpoint may sit on another host or port. Tokens stay per host.

use crate::helpers::*;
use push_core::adapter::{CheckError, Outcome};
use push_sim::Sim;
use pushgate_testkit::relay::{CountingRelay, closed_port, loopback_addr};
use std::net::SocketAddr;

fn oppo_addr(sim: &Sim) -> SocketAddr {
    loopback_addr(&sim.oppo_url())
}

#[tokio::test]
async fn each_hosts_auth_url_gets_that_hosts_token_and_the_sends_stay_on_the_hosts() {
    let sim = dev_sim().await;
    let china_auth = CountingRelay::to(oppo_addr(&sim)).await;
    let intl_auth = CountingRelay::to(oppo_addr(&sim)).await;
    let mut config = config_for(&sim, 3);
    config.auth_url = Some(china_auth.url("/server/v1/auth").parse().unwrap());
    config.intl_auth_url = Some(intl_auth.url("/intl/server/v1/auth").parse().unwrap());
    let t = app_on(sim, config);
    for _ in 0..2 {
        let outcomes = t.send(&chat_message(), &["CN_a", "OPPO_EU_b"]).await;
        assert!(outcomes.iter().all(accepted), "{outcomes:?}");
    }
    assert_eq!(china_auth.connections(), 1, "China auth went to auth_url");
    assert_eq!(
        intl_auth.connections(),
        1,
        "overseas auth went to intl_auth_url"
    );
    // One token per host, then each host's cached token: never one host's for the other.
    assert_eq!(t.auth_tokens("/server/v1/auth"), 1);
    assert_eq!(t.auth_tokens("/intl/server/v1/auth"), 1);
    let requests = t.requests();
    let auth_connections: Vec<u64> = requests
        .iter()
        .filter(|r| r.path.ends_with("/server/v1/auth"))
        .map(|r| r.connection)
        .collect();
    let sends = t.sends();
    assert_eq!(sends.len(), 4);
    assert!(
        sends
            .iter()
            .all(|s| !auth_connections.contains(&s.connection)),
        "the sends used the hosts' own connection, not the auth relays'"
    );
}

#[tokio::test]
async fn an_unset_auth_url_stays_derived_from_its_host() {
    let sim = dev_sim().await;
    let intl_auth = CountingRelay::to(oppo_addr(&sim)).await;
    let mut config = config_for(&sim, 3);
    config.intl_auth_url = Some(intl_auth.url("/intl/server/v1/auth").parse().unwrap());
    assert_eq!(config.auth_url, None);
    let t = app_on(sim, config);
    let outcomes = t.send(&chat_message(), &["CN_a", "IN_d"]).await;
    assert!(outcomes.iter().all(accepted), "{outcomes:?}");
    assert_eq!(
        t.auth_tokens("/server/v1/auth"),
        1,
        "{{base_url}}/server/v1/auth"
    );
    assert_eq!(t.auth_tokens("/intl/server/v1/auth"), 1);
    assert_eq!(
        intl_auth.connections(),
        1,
        "only the overseas auth was moved"
    );
}

#[tokio::test]
async fn the_credential_is_checked_at_auth_url_not_base_url() {
    let sim = dev_sim().await;
    let mut config = config_for(&sim, 3);
    config.auth_url = Some(
        format!("{}/server/v1/auth", sim.oppo_url())
            .parse()
            .unwrap(),
    );
    config.base_url = format!("https://127.0.0.1:{}", closed_port().await)
        .parse()
        .unwrap();
    let t = app_on(sim, config);
    t.adapter
        .check_credential(&t.app, &t.credential)
        .await
        .unwrap();
    assert_eq!(t.auth_tokens("/server/v1/auth"), 1);
}

#[tokio::test]
async fn an_unreachable_auth_url_sends_nothing_even_though_the_host_answers() {
    let sim = dev_sim().await;
    let mut config = config_for(&sim, 3);
    config.auth_url = Some(
        format!("https://127.0.0.1:{}/server/v1/auth", closed_port().await)
            .parse()
            .unwrap(),
    );
    let t = app_on(sim, config);
    let outcomes = t.send(&chat_message(), &["CN_a"]).await;
    assert!(
        matches!(&outcomes[0], Outcome::Retry { reason, .. } if reason.contains("OPPO auth (China host)")),
        "{outcomes:?}"
    );
    assert!(
        t.requests().is_empty(),
        "neither the auth call nor a send reached base_url"
    );
    let err = t
        .adapter
        .check_credential(&t.app, &t.credential)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Unreachable(_)), "{err:?}");
}
