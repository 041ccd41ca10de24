//! Layering and checks of the configuration, with hermetic environments (`figment::Jail`).

// figment::Jail closures return figment::Error, which is large by design.
#![allow(clippy::result_large_err)]

use super::*;
use figment::Jail;

fn load_in(jail: &Jail, file: Option<&str>, flags: &ConfigFlags) -> Result<Config, ConfigError> {
    let path = file.map(|_| jail.directory().join("pushgate.toml"));
    Config::load(path.as_deref(), flags)
}

#[test]
fn no_configuration_means_embedded_defaults() {
    Jail::expect_with(|jail| {
        let c = load_in(jail, None, &ConfigFlags::default()).map_err(|e| e.to_string())?;
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.effective_database_url(), "sqlite://./data/pushgate.db");
        assert!(c.is_embedded());
        assert_eq!(c.amqp_prefix, "pushgate");
        Ok(())
    });
}

#[test]
fn flags_override_environment_which_overrides_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "pushgate.toml",
            "listen = \"127.0.0.1:7000\"\nlog_level = \"debug\"\namqp_prefix = \"filep\"\n",
        )?;
        jail.set_env("PUSHGATE_LISTEN", "127.0.0.1:7001");
        jail.set_env("PUSHGATE_AMQP_PREFIX", "envp");
        let flags = ConfigFlags {
            listen: Some("127.0.0.1:7002".parse().map_err(|_| "addr")?),
            ..Default::default()
        };
        let c = load_in(jail, Some("pushgate.toml"), &flags).map_err(|e| e.to_string())?;
        assert_eq!(c.listen.to_string(), "127.0.0.1:7002", "flag wins");
        assert_eq!(c.amqp_prefix, "envp", "environment beats file");
        assert_eq!(c.log_level, "debug", "file beats default");
        Ok(())
    });
}

#[test]
fn postgres_url_switches_backend_and_needs_an_admin_token() {
    Jail::expect_with(|jail| {
        jail.set_env("PUSHGATE_DATABASE_URL", "postgres://postgres@127.0.0.1/pg");
        let err = load_in(jail, None, &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("admin_token"), "{err}");
        jail.set_env("PUSHGATE_ADMIN_TOKEN", "0123456789abcdef-admin");
        let c = load_in(jail, None, &ConfigFlags::default()).map_err(|e| e.to_string())?;
        assert!(!c.is_embedded());
        Ok(())
    });
}

#[test]
fn unrelated_pushgate_variables_are_ignored() {
    Jail::expect_with(|jail| {
        jail.set_env("PUSHGATE_TEST_DATABASE_URL", "postgres://x");
        load_in(jail, None, &ConfigFlags::default()).map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn numeric_looking_secrets_stay_strings() {
    Jail::expect_with(|jail| {
        jail.set_env("PUSHGATE_ADMIN_TOKEN", "12345678901234567890");
        let c = load_in(jail, None, &ConfigFlags::default()).map_err(|e| e.to_string())?;
        assert_eq!(
            c.admin_token
                .as_ref()
                .map(|t| t.expose().to_string())
                .as_deref(),
            Some("12345678901234567890")
        );
        Ok(())
    });
}

#[test]
fn invalid_values_name_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("PUSHGATE_LISTEN", "not-an-address", "listen"),
        ("PUSHGATE_DATABASE_URL", "mysql://x", "database_url"),
        ("PUSHGATE_AMQP_URL", "http://x", "amqp_url"),
        ("PUSHGATE_AMQP_PREFIX", "bad prefix", "amqp_prefix"),
        ("PUSHGATE_ADMIN_TOKEN", "short", "admin_token"),
        ("PUSHGATE_MAX_BODY_BYTES", "ten", "max_body_bytes"),
        ("PUSHGATE_LOG_FORMAT", "xml", "log_format"),
        ("PUSHGATE_LOG_LEVEL", "=[", "log_level"),
    ];
    for (var, value, key) in cases {
        Jail::expect_with(|jail| {
            jail.set_env(var, value);
            let err = load_in(jail, None, &ConfigFlags::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{var}={value}: {err}");
            Ok(())
        });
    }
}

#[test]
fn unknown_file_keys_are_rejected_with_their_name() {
    Jail::expect_with(|jail| {
        jail.create_file("pushgate.toml", "lisen = \"127.0.0.1:1\"\n")?;
        let err = load_in(jail, Some("pushgate.toml"), &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("lisen"), "{err}");
        Ok(())
    });
}

#[test]
fn a_missing_config_file_is_an_error() {
    Jail::expect_with(|jail| {
        let err = load_in(jail, Some("absent.toml"), &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pushgate.toml") || err.contains("No such file"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn secrets_are_not_echoed_in_errors_or_debug() {
    Jail::expect_with(|jail| {
        jail.set_env("PUSHGATE_MASTER_KEY", "SUPER-SECRET-MASTER");
        jail.set_env("PUSHGATE_MASTER_KEY_FILE", "/tmp/x");
        let err = load_in(jail, None, &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SUPER-SECRET-MASTER"), "{err}");
        Ok(())
    });
    let c = Config {
        admin_token: Some(Secret::new("ADMIN-SECRET-TOKEN-1")),
        ..Config::default()
    };
    assert!(!format!("{c:?}").contains("ADMIN-SECRET-TOKEN-1"));
}

#[test]
fn the_example_config_parses() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/pushgate.example.toml");
    let c = Config::from_figment(
        Figment::from(Serialized::defaults(Config::default())).merge(Toml::file_exact(example)),
    )
    .unwrap();
    assert_eq!(c.amqp_prefix, "pushgate");
    assert_eq!(
        c.vendors.apns.base_url.as_str(),
        "https://api.push.apple.com/"
    );
    assert_eq!(c.vendors.fcm.android_channel_id, "messages");
    assert_eq!(c.pipeline, PipelineConfig::default());
}

#[test]
fn vendor_endpoints_come_from_file_and_environment() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "pushgate.toml",
            "[vendors.fcm]\nbase_url = \"https://127.0.0.1:8443\"\n\n[pipeline]\nprefetch = 8\n",
        )?;
        jail.set_env("PUSHGATE_VENDORS__APNS__BASE_URL", "https://127.0.0.1:8444");
        jail.set_env(
            "PUSHGATE_VENDORS__VIVO__AUTH_URL",
            "https://127.0.0.1:9443/message/auth",
        );
        let c = load_in(jail, Some("pushgate.toml"), &ConfigFlags::default())
            .map_err(|e| e.to_string())?;
        assert_eq!(c.vendors.apns.base_url.as_str(), "https://127.0.0.1:8444/");
        assert_eq!(
            c.vendors.apns.sandbox_url.as_str(),
            "https://api.sandbox.push.apple.com/",
            "default kept"
        );
        assert_eq!(c.vendors.fcm.base_url.as_str(), "https://127.0.0.1:8443/");
        assert_eq!(
            c.vendors.vivo.auth_url.as_ref().map(|u| u.as_str()),
            Some("https://127.0.0.1:9443/message/auth"),
            "contract 4: every vendor with an auth endpoint takes auth_url"
        );
        assert_eq!(c.vendors.oppo.intl_auth_url, None);
        assert_eq!(c.pipeline.prefetch, 8);
        Ok(())
    });
}

#[test]
fn unknown_vendor_keys_and_bad_pipeline_values_are_rejected() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "pushgate.toml",
            "[vendors.apns]\nbase_ulr = \"https://x\"\n",
        )?;
        let err = load_in(jail, Some("pushgate.toml"), &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("base_ulr"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("PUSHGATE_PIPELINE__PREFETCH", "0");
        let err = load_in(jail, None, &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("pipeline.prefetch"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("PUSHGATE_PIPELINE__INGEST_LINGER_MS", "0");
        let c = load_in(jail, None, &ConfigFlags::default()).map_err(|e| e.to_string())?;
        assert_eq!(c.pipeline.ingest_linger_ms, 0, "no wait is allowed");
        jail.set_env("PUSHGATE_PIPELINE__INGEST_LINGER_MS", "5000");
        let err = load_in(jail, None, &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("pipeline.ingest_linger_ms"), "{err}");
        Ok(())
    });
}

#[test]
fn the_online_section_layers_and_is_checked() {
    Jail::expect_with(|jail| {
        let c = load_in(jail, None, &ConfigFlags::default()).map_err(|e| e.to_string())?;
        assert!(c.online.enabled);
        assert_eq!(c.online.direct_grace_ms, 0, "grace off for 1:1 by default");
        assert!(
            c.online.group_grace_ms > 0,
            "grace on for groups by default"
        );
        jail.create_file(
            "pushgate.toml",
            "[online]\nheartbeat_seconds = 5\nidle_timeout_seconds = 15\noutbound_buffer = 32\n",
        )?;
        jail.set_env("PUSHGATE_ONLINE__GROUP_GRACE_MS", "500");
        let c = load_in(jail, Some("pushgate.toml"), &ConfigFlags::default())
            .map_err(|e| e.to_string())?;
        assert_eq!(c.online.heartbeat_seconds, 5);
        assert_eq!(c.online.outbound_buffer, 32);
        assert_eq!(c.online.group_grace_ms, 500);
        jail.create_file("pushgate.toml", "[online]\nheartbeats = 5\n")?;
        let err = load_in(jail, Some("pushgate.toml"), &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("heartbeats"), "{err}");
        jail.create_file(
            "pushgate.toml",
            "[online]\nheartbeat_seconds = 30\nidle_timeout_seconds = 10\n",
        )?;
        let err = load_in(jail, Some("pushgate.toml"), &ConfigFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("online.idle_timeout_seconds"), "{err}");
        Ok(())
    });
}
