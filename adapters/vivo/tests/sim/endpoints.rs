//! `auth_url`: by default the auth call goes to `{base_url}/message/auth`; when set, the auth
//! call — and only it — goes there, so the auth endpoint may sit on another host or port.

use crate::helpers::*;
use push_core::adapter::{CheckError, Outcome};
use push_sim::Sim;
use push_sim::types::VivoTokenState;
use pushgate_testkit::relay::{CountingRelay, closed_port, loopback_addr};
use pushgate_vivo::VivoConfig;
use std::net::SocketAddr;

fn vivo_addr(sim: &Sim) -> SocketAddr {
    loopback_addr(&sim.vivo_url())
}

/// The dev app on `sim` with this config, with regId 1 registered as valid.
fn app_with(sim: Sim, config: VivoConfig) -> TestApp {
    let t = app_on(sim, config);
    t.token(&reg(1), VivoTokenState::Valid);
    t
}

fn with_auth_url(sim: &Sim, auth_url: &str) -> VivoConfig {
    let mut config = config_for(sim, 3);
    config.auth_url = Some(auth_url.parse().unwrap());
    config
}

#[tokio::test]
async fn without_auth_url_the_auth_call_goes_to_the_base_url() {
    let sim = dev_sim().await;
    let relay = CountingRelay::to(vivo_addr(&sim)).await;
    let base = format!("https://127.0.0.1:{}", relay.port());
    let config: VivoConfig =
        serde_json::from_value(serde_json::json!({ "base_url": base })).unwrap();
    assert_eq!(config.auth_url, None);
    let t = app_with(sim, config);
    let o = t.send(&chat_message(), &[&reg(1)]).await;
    assert!(accepted(&o[0]), "{o:?}");
    assert_eq!(
        t.auth_calls(),
        1,
        "the auth call reached {{base_url}}/message/auth"
    );
    assert!(
        relay.connections() >= 1,
        "auth and send both went through base_url"
    );
}

#[tokio::test]
async fn an_auth_url_on_another_port_gets_the_token_and_the_sends_stay_on_base_url() {
    let sim = dev_sim().await;
    let relay = CountingRelay::to(vivo_addr(&sim)).await;
    let config = with_auth_url(
        &sim,
        &format!("https://127.0.0.1:{}/message/auth", relay.port()),
    );
    let t = app_with(sim, config);
    for _ in 0..2 {
        let o = t.send(&chat_message(), &[&reg(1)]).await;
        assert!(accepted(&o[0]), "{o:?}");
    }
    assert_eq!(t.auth_calls(), 1, "one exchange, then the cached token");
    assert_eq!(relay.connections(), 1, "the auth call went to auth_url");
    let requests = t.requests();
    let auth = requests.iter().find(|r| r.path == "/message/auth").unwrap();
    let sends = t.sends();
    assert_eq!(sends.len(), 2);
    assert!(
        sends.iter().all(|s| s.connection != auth.connection),
        "the sends used base_url's own connection, not the relay's"
    );
}

#[tokio::test]
async fn the_credential_is_checked_at_auth_url_not_base_url() {
    let sim = dev_sim().await;
    let auth_url = format!("{}/message/auth", sim.vivo_url());
    let mut config = with_auth_url(&sim, &auth_url);
    config.base_url = format!("https://127.0.0.1:{}", closed_port().await)
        .parse()
        .unwrap();
    let t = app_with(sim, config);
    t.adapter
        .check_credential(&t.app, &t.credential)
        .await
        .unwrap();
    assert_eq!(t.auth_calls(), 1);
}

#[tokio::test]
async fn an_unreachable_auth_url_sends_nothing_even_though_base_url_answers() {
    let sim = dev_sim().await;
    let dead = format!("https://127.0.0.1:{}/message/auth", closed_port().await);
    let config = with_auth_url(&sim, &dead);
    let t = app_with(sim, config);
    let o = t.send(&chat_message(), &[&reg(1)]).await;
    assert!(
        matches!(&o[0], Outcome::Retry { reason, .. } if reason.contains("vivo auth")),
        "{o:?}"
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
