//! The store conformance suite: every case runs against SQLite (a fresh temporary file) and
//! PostgreSQL (a fresh database per test, created from `PUSHGATE_TEST_DATABASE_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`, and dropped afterwards).
//!
//! Each case is written once against `push_core::Store`; the `conformance!` macro at the
//! bottom generates `sqlite::<case>` and `postgres::<case>` tests. PostgreSQL is not
//! optional: when it cannot be reached the postgres tests fail, naming the URL and the
//! variable to set.

#![allow(clippy::unwrap_used)]

use push_core::notification::WechatContent;
use push_core::store::{AuthReport, CredentialAction, CredentialAuditEntry};
use push_core::{
    AndroidSettings, ApiKeyId, ApnsEnvironment, ApnsSettings, App, AppSettings, Channel,
    CredentialKind, CredentialState, Delivery, DeliveryId, DeliveryState, Device,
    DeviceRegistration, DeviceStatus, IngestMessage, NewApiKey, NewCredentialVersion,
    NotificationContent, Options, Priority, SealedCredential, Store, StoreError, Target, Tenant,
    TenantId, Transition, WechatSettings,
};
use pushgate::store::{Backend, SqlStore};
use sqlx::{AssertSqlSafe, Connection};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Fresh stores
// ---------------------------------------------------------------------------------------

const PG_URL_VAR: &str = "PUSHGATE_TEST_DATABASE_URL";
const PG_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated store nobody else uses, and what to clean up afterwards.
struct Fresh {
    store: Arc<SqlStore>,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The temporary directory holding the SQLite file; removed on drop.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    /// The server's URL and the database made for this test.
    Postgres { admin_url: String, database: String },
}

impl Fresh {
    /// A new SQLite file in a directory that does not exist yet.
    async fn sqlite() -> Fresh {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data").join("push.db");
        let store = SqlStore::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        store.migrate().await.unwrap();
        assert!(file.is_file(), "the SQLite file was created");
        Fresh {
            store: Arc::new(store),
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new database `pushgate_test_<random>` on the test PostgreSQL server.
    async fn postgres() -> Fresh {
        let admin_url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| PG_URL_DEFAULT.to_string());
        let database = format!("pushgate_test_{}", Uuid::new_v4().simple());
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => panic!(
                "PostgreSQL is required for the store conformance suite and is unreachable at \
                 {admin_url} ({e}). Start it, or set {PG_URL_VAR} to a server where this user \
                 may CREATE DATABASE."
            ),
        };
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating database {database} via {PG_URL_VAR}: {e}"));
        admin.close().await.ok();
        let store = SqlStore::connect(&with_database(&admin_url, &database))
            .await
            .unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        store.migrate().await.unwrap();
        Fresh {
            store: Arc::new(store),
            cleanup: Cleanup::Postgres {
                admin_url,
                database,
            },
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Closes the store and drops what the test created. (A failed test leaves its
    /// `pushgate_test_…` database behind, for inspection.)
    async fn finish(self) {
        self.store.close().await;
        if let Cleanup::Postgres {
            admin_url,
            database,
        } = self.cleanup
        {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap();
            admin.close().await.ok();
        }
    }
}

/// `url` with its database name replaced by `database` (query parameters kept).
fn with_database(url: &str, database: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let path_start = main[authority_start..]
        .find('/')
        .map_or(main.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &main[..path_start])
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// Now, at the precision the store keeps (milliseconds).
fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(u32::from(now.millisecond()) * 1_000_000)
        .unwrap()
}

fn settings() -> AppSettings {
    AppSettings {
        apns: Some(ApnsSettings {
            bundle_id: "com.example.chat".into(),
            default_environment: ApnsEnvironment::Sandbox,
        }),
        android: Some(AndroidSettings {
            package_name: "com.example.chat".into(),
        }),
        wechat: Some(WechatSettings {
            official_account_app_id: Some("wx0123456789abcdef".into()),
            mini_program_app_id: None,
            templates: BTreeMap::from([("IM".to_string(), "tmpl-im-1".to_string())]),
            ..WechatSettings::default()
        }),
        ..AppSettings::default()
    }
}

fn app_of(tenant: &Tenant, id: &str) -> App {
    let now = now_ms();
    App {
        id: id.to_string(),
        tenant_id: tenant.id,
        name: format!("{id} (test)"),
        settings: settings(),
        created_at: now,
        updated_at: now,
    }
}

/// A tenant with one app `id`.
async fn app(s: &dyn Store, id: &str) -> App {
    let tenant = s.create_tenant("acme").await.unwrap();
    let app = app_of(&tenant, id);
    s.create_app(&app).await.unwrap();
    app
}

fn reg(app: &str, device: &str, user: &str, channel: Channel, token: &str) -> DeviceRegistration {
    DeviceRegistration {
        app_id: app.to_string(),
        device_id: device.to_string(),
        user_id: user.to_string(),
        channel,
        token: token.to_string(),
        apns_environment: (channel == Channel::Apns).then_some(ApnsEnvironment::Sandbox),
    }
}

fn message(app: &str, id: &str) -> IngestMessage {
    IngestMessage {
        id: id.to_string(),
        app: app.to_string(),
        to: Target::Users(vec!["u1".into(), "u2".into()]),
        notification: Some(NotificationContent {
            title: Some("Alice".into()),
            body: Some("are you coming? ✓".into()),
            badge: Some(3),
            sound: Some("default".into()),
            image: None,
            click: Some("app://chat/42".into()),
        }),
        data: BTreeMap::from([("conv".to_string(), "42".to_string())]),
        options: Options {
            priority: Priority::Normal,
            ttl: Some(86_400),
            collapse_key: Some("chat-42".into()),
            category: Some("IM".into()),
            silent: false,
        },
        overrides: BTreeMap::from([(
            "apns".to_string(),
            serde_json::json!({"aps": {"thread-id": "42"}}),
        )]),
        wechat: Some(WechatContent {
            template_id: Some("tmpl-1".into()),
            page: Some("pages/chat?id=42".into()),
            data: serde_json::json!({"thing1": {"value": "Alice"}})
                .as_object()
                .unwrap()
                .clone(),
        }),
    }
}

/// An app, a stored notification `n1` and one queued delivery to device `d1`.
async fn one_delivery(s: &dyn Store) -> Delivery {
    let app = app(s, "chat").await;
    s.insert_notification(&message(&app.id, "n1"), now_ms())
        .await
        .unwrap();
    let d = Delivery::queued(&app.id, "n1", "d1", Channel::Fcm, now_ms());
    assert_eq!(
        s.insert_deliveries(std::slice::from_ref(&d)).await.unwrap(),
        1
    );
    d
}

fn credential(app: &str, channel: Channel, n: u8) -> NewCredentialVersion {
    NewCredentialVersion {
        id: Uuid::new_v4(),
        app_id: app.to_string(),
        channel,
        kind: if channel == Channel::Apns {
            CredentialKind::ApnsP8
        } else {
            CredentialKind::FcmServiceAccount
        },
        fingerprint: format!("sha256:{n:032x}"),
        public_fields: BTreeMap::from([("key_id".to_string(), format!("KEY{n:07}"))]),
        not_after: Some(now_ms() + Duration::days(365)),
        sealed: SealedCredential {
            kek_id: format!("kek-{n}"),
            // Every byte value, so nothing is lost to text encodings.
            wrapped_dek: (0..=255u8).chain([n]).collect(),
            ciphertext: vec![0, n, 0xff, 0, 0x80, 0x7f],
        },
    }
}

fn is_illegal(r: &Result<Delivery, StoreError>, from: DeliveryState, to: DeliveryState) -> bool {
    matches!(r, Err(StoreError::IllegalTransition { from: f, to: t, .. }) if *f == from && *t == to)
}

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

async fn ping_answers(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}

async fn tenants_are_created_found_and_listed(s: Arc<dyn Store>) {
    let before = now_ms();
    let a = s.create_tenant("Acme").await.unwrap();
    let b = s.create_tenant("Globex").await.unwrap();
    assert_eq!(a.name, "Acme");
    assert!(a.created_at >= before && a.created_at <= now_ms());
    assert_eq!(
        a.created_at.nanosecond() % 1_000_000,
        0,
        "kept to the millisecond"
    );
    assert_eq!(s.get_tenant(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.get_tenant(TenantId::new()).await.unwrap(), None);
    assert_eq!(s.list_tenants().await.unwrap(), vec![a, b], "oldest first");
}

async fn api_keys_are_found_by_hash_until_revoked(s: Arc<dyn Store>) {
    let acme = s.create_tenant("Acme").await.unwrap();
    let globex = s.create_tenant("Globex").await.unwrap();
    let new_key = |tenant: &Tenant, hash: &str| NewApiKey {
        tenant_id: tenant.id,
        label: "ci".into(),
        prefix: "pg_live_ab".into(),
        hash: hash.into(),
    };
    let key = s.create_api_key(new_key(&acme, "aa11")).await.unwrap();
    let other = s.create_api_key(new_key(&acme, "bb22")).await.unwrap();
    assert_eq!(key.tenant_id, acme.id);
    assert_eq!(
        (key.label.as_str(), key.prefix.as_str()),
        ("ci", "pg_live_ab")
    );
    assert_eq!(key.revoked_at, None);
    assert_eq!(s.find_api_key("aa11").await.unwrap(), Some(key.clone()));
    assert_eq!(
        s.find_api_key("AA11").await.unwrap(),
        None,
        "hashes compare exactly"
    );
    assert_eq!(s.find_api_key("cc33").await.unwrap(), None);

    // Another tenant cannot revoke it; an unknown key cannot be revoked.
    assert!(!s.revoke_api_key(globex.id, key.id).await.unwrap());
    assert!(!s.revoke_api_key(acme.id, ApiKeyId::new()).await.unwrap());
    assert!(s.find_api_key("aa11").await.unwrap().is_some());

    assert!(s.revoke_api_key(acme.id, key.id).await.unwrap());
    assert_eq!(s.find_api_key("aa11").await.unwrap(), None);
    assert!(
        !s.revoke_api_key(acme.id, key.id).await.unwrap(),
        "already revoked"
    );
    assert_eq!(s.find_api_key("bb22").await.unwrap(), Some(other.clone()));

    let listed = s.list_api_keys(acme.id).await.unwrap();
    assert_eq!(listed.len(), 2, "revoked keys stay listed");
    assert_eq!(listed[0].id, key.id);
    assert!(listed[0].revoked_at.is_some());
    assert_eq!(listed[1], other);
    assert!(s.list_api_keys(globex.id).await.unwrap().is_empty());

    // A hash is unique, and a key needs an existing tenant.
    let dup = s.create_api_key(new_key(&globex, "bb22")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let orphan = NewApiKey {
        tenant_id: TenantId::new(),
        ..new_key(&acme, "dd44")
    };
    let orphan = s.create_api_key(orphan).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

async fn app_ids_are_global(s: Arc<dyn Store>) {
    let acme = s.create_tenant("Acme").await.unwrap();
    let globex = s.create_tenant("Globex").await.unwrap();
    let chat = app_of(&acme, "chat-prod");
    s.create_app(&chat).await.unwrap();
    s.create_app(&app_of(&acme, "chat-dev")).await.unwrap();
    s.create_app(&app_of(&globex, "news")).await.unwrap();

    let same_tenant = s.create_app(&app_of(&acme, "chat-prod")).await;
    assert!(
        matches!(same_tenant, Err(StoreError::Conflict(_))),
        "{same_tenant:?}"
    );
    let other_tenant = s.create_app(&app_of(&globex, "chat-prod")).await;
    assert!(
        matches!(other_tenant, Err(StoreError::Conflict(_))),
        "{other_tenant:?}"
    );
    let stored = s.get_app("chat-prod").await.unwrap().unwrap();
    assert_eq!(stored.tenant_id, acme.id, "the first owner keeps it");

    assert_eq!(
        s.get_app("Chat-Prod").await.unwrap(),
        None,
        "ids are case-sensitive"
    );
    assert_eq!(s.get_app("missing").await.unwrap(), None);
    let ids: Vec<String> = s
        .list_apps(acme.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec!["chat-dev", "chat-prod"], "by id");
    assert_eq!(s.list_apps(globex.id).await.unwrap().len(), 1);
    assert!(s.list_apps(TenantId::new()).await.unwrap().is_empty());

    let orphan = App {
        tenant_id: TenantId::new(),
        ..app_of(&acme, "orphan")
    };
    let orphan = s.create_app(&orphan).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

async fn apps_are_updated(s: Arc<dyn Store>) {
    let chat = app(&*s, "chat").await;
    let updated = App {
        name: "Chat, renamed".into(),
        settings: AppSettings {
            apns: None,
            android: Some(AndroidSettings {
                package_name: "com.example.other".into(),
            }),
            ..AppSettings::default()
        },
        updated_at: now_ms() + Duration::seconds(5),
        ..chat.clone()
    };
    s.update_app(&updated).await.unwrap();
    let stored = s.get_app("chat").await.unwrap().unwrap();
    assert_eq!(stored, updated);
    assert_eq!(stored.created_at, chat.created_at);

    let missing = App {
        id: "missing".into(),
        ..updated.clone()
    };
    let missing = s.update_app(&missing).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    let foreign = App {
        tenant_id: TenantId::new(),
        ..updated.clone()
    };
    let foreign = s.update_app(&foreign).await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound(_))),
        "another tenant's app: {foreign:?}"
    );
}

async fn app_round_trip_keeps_every_field(s: Arc<dyn Store>) {
    let tenant = s.create_tenant("Acme").await.unwrap();
    let app = App {
        created_at: now_ms() - Duration::days(3),
        updated_at: now_ms(),
        ..app_of(&tenant, "round-trip")
    };
    s.create_app(&app).await.unwrap();
    assert_eq!(s.get_app("round-trip").await.unwrap(), Some(app.clone()));
    assert_eq!(s.list_apps(tenant.id).await.unwrap(), vec![app]);
}

async fn devices_are_inserted_then_updated(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let t0 = now_ms() - Duration::minutes(10);
    let first = s
        .upsert_device(&reg("chat", "d1", "u1", Channel::Fcm, "tok-1"), t0)
        .await
        .unwrap();
    assert_eq!(
        first,
        Device {
            app_id: "chat".into(),
            device_id: "d1".into(),
            user_id: "u1".into(),
            channel: Channel::Fcm,
            token: Some("tok-1".into()),
            apns_environment: None,
            status: DeviceStatus::Active,
            last_seen_at: t0,
            created_at: t0,
        }
    );
    assert_eq!(
        s.get_device("chat", "d1").await.unwrap(),
        Some(first.clone())
    );

    // Same device: new user, channel, token and environment; created_at stays.
    let t1 = now_ms();
    let second = s
        .upsert_device(&reg("chat", "d1", "u2", Channel::Apns, "tok-2"), t1)
        .await
        .unwrap();
    assert_eq!(
        second,
        Device {
            user_id: "u2".into(),
            channel: Channel::Apns,
            token: Some("tok-2".into()),
            apns_environment: Some(ApnsEnvironment::Sandbox),
            last_seen_at: t1,
            ..first
        }
    );
    assert_eq!(s.get_device("chat", "d1").await.unwrap(), Some(second));
    assert_eq!(
        s.get_device("chat", "D1").await.unwrap(),
        None,
        "case-sensitive"
    );
    assert_eq!(s.get_device("other", "d1").await.unwrap(), None);

    let orphan = s
        .upsert_device(&reg("missing", "d1", "u1", Channel::Fcm, "tok"), t1)
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

async fn device_round_trip_keeps_every_field(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let at = now_ms();
    let mut r = reg(
        "chat",
        "iphone-1",
        "user@example.com",
        Channel::Apns,
        "a1b2c3",
    );
    r.apns_environment = Some(ApnsEnvironment::Production);
    let stored = s.upsert_device(&r, at).await.unwrap();
    let read = s.get_device("chat", "iphone-1").await.unwrap().unwrap();
    assert_eq!(read, stored);
    assert_eq!(read.apns_environment, Some(ApnsEnvironment::Production));
    assert_eq!(read.user_id, "user@example.com");
    assert_eq!((read.created_at, read.last_seen_at), (at, at));
    assert!(read.is_active());

    // Sub-millisecond precision is dropped, never rounded up.
    let precise = at + Duration::nanoseconds(999_999);
    let again = s.upsert_device(&r, precise).await.unwrap();
    assert_eq!(again.last_seen_at, at);
}

async fn tokens_move_between_devices(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let now = now_ms();
    s.upsert_device(&reg("chat", "old", "u1", Channel::Fcm, "shared"), now)
        .await
        .unwrap();
    // The same token on another channel is a different token.
    s.upsert_device(&reg("chat", "huawei", "u1", Channel::Huawei, "shared"), now)
        .await
        .unwrap();

    let new = s
        .upsert_device(&reg("chat", "new", "u2", Channel::Fcm, "shared"), now)
        .await
        .unwrap();
    assert_eq!(new.token.as_deref(), Some("shared"));
    assert!(new.is_active());

    let old = s.get_device("chat", "old").await.unwrap().unwrap();
    assert_eq!(old.token, None);
    assert_eq!(
        old.status,
        DeviceStatus::Deactivated {
            reason: "token moved to device new".into(),
            at: now,
        }
    );
    assert!(!old.is_active());
    let huawei = s.get_device("chat", "huawei").await.unwrap().unwrap();
    assert_eq!(huawei.token.as_deref(), Some("shared"));
    assert!(huawei.is_active());

    // Registering the same token again on its holder changes nothing for others.
    s.upsert_device(&reg("chat", "new", "u2", Channel::Fcm, "shared"), now)
        .await
        .unwrap();
    assert!(
        s.get_device("chat", "new")
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );

    // The old device comes back with the token: it takes it back.
    let back = s
        .upsert_device(&reg("chat", "old", "u1", Channel::Fcm, "shared"), now)
        .await
        .unwrap();
    assert!(back.is_active());
    let new = s.get_device("chat", "new").await.unwrap().unwrap();
    assert_eq!(new.token, None);
    assert!(
        matches!(&new.status, DeviceStatus::Deactivated { reason, .. } if reason == "token moved to device old")
    );
}

async fn deactivated_devices_revive_on_register(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let t0 = now_ms();
    s.upsert_device(&reg("chat", "d1", "u1", Channel::Xiaomi, "tok"), t0)
        .await
        .unwrap();
    let t1 = t0 + Duration::seconds(1);
    assert!(
        s.deactivate_device("chat", "d1", "Unregistered", t1)
            .await
            .unwrap()
    );
    assert!(!s.deactivate_device("chat", "nope", "x", t1).await.unwrap());
    let off = s.get_device("chat", "d1").await.unwrap().unwrap();
    assert_eq!(
        off.status,
        DeviceStatus::Deactivated {
            reason: "Unregistered".into(),
            at: t1,
        }
    );
    assert_eq!(
        off.token.as_deref(),
        Some("tok"),
        "the row and token are kept"
    );
    assert!(!off.is_active());

    let t2 = t1 + Duration::seconds(1);
    let revived = s
        .upsert_device(&reg("chat", "d1", "u1", Channel::Xiaomi, "tok-new"), t2)
        .await
        .unwrap();
    assert_eq!(revived.status, DeviceStatus::Active);
    assert_eq!(revived.token.as_deref(), Some("tok-new"));
    assert_eq!((revived.created_at, revived.last_seen_at), (t0, t2));
    assert_eq!(s.get_device("chat", "d1").await.unwrap(), Some(revived));
}

async fn user_devices_list_active_only_unless_asked(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let now = now_ms();
    for (device, user, token) in [
        ("c", "u1", "t-c"),
        ("a", "u1", "t-a"),
        ("b", "u1", "t-b"),
        ("z", "u2", "t-z"),
    ] {
        s.upsert_device(&reg("chat", device, user, Channel::Fcm, token), now)
            .await
            .unwrap();
    }
    s.deactivate_device("chat", "b", "Unregistered", now)
        .await
        .unwrap();
    // Device "z" of u2 takes the token of "c": "c" is left without one.
    s.upsert_device(&reg("chat", "z", "u2", Channel::Fcm, "t-c"), now)
        .await
        .unwrap();

    let ids = |devices: Vec<Device>| devices.into_iter().map(|d| d.device_id).collect::<Vec<_>>();
    let active = s.list_user_devices("chat", "u1", false).await.unwrap();
    assert!(active.iter().all(Device::is_active));
    assert_eq!(ids(active), vec!["a"]);
    let all = s.list_user_devices("chat", "u1", true).await.unwrap();
    assert_eq!(ids(all), vec!["a", "b", "c"], "by device id");
    assert_eq!(
        ids(s.list_user_devices("chat", "u2", false).await.unwrap()),
        vec!["z"]
    );
    assert!(
        s.list_user_devices("chat", "U1", true)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.list_user_devices("other", "u1", true)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn get_devices_leaves_out_unknown_ids(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    app(&*s, "other").await;
    let now = now_ms();
    for device in ["d1", "d2", "d3"] {
        s.upsert_device(&reg("chat", device, "u1", Channel::Vivo, device), now)
            .await
            .unwrap();
    }
    s.upsert_device(&reg("other", "d4", "u1", Channel::Vivo, "d4"), now)
        .await
        .unwrap();

    let ask = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let found = s
        .get_devices("chat", &ask(&["d3", "nope", "d1", "d4", "d1"]))
        .await
        .unwrap();
    let ids: Vec<&str> = found.iter().map(|d| d.device_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["d1", "d3"],
        "unknown, foreign and repeated ids are left out"
    );
    assert!(s.get_devices("chat", &[]).await.unwrap().is_empty());

    // Long lists are fine (they span several queries).
    let mut many: Vec<String> = (0..450).map(|i| format!("unknown-{i}")).collect();
    many.extend(ask(&["d2", "d1", "d3"]));
    assert_eq!(s.get_devices("chat", &many).await.unwrap().len(), 3);
}

async fn devices_are_deleted_without_touching_deliveries(s: Arc<dyn Store>) {
    let d = one_delivery(&*s).await;
    s.upsert_device(&reg("chat", "d1", "u1", Channel::Fcm, "tok"), now_ms())
        .await
        .unwrap();
    assert!(s.delete_device("chat", "d1").await.unwrap());
    assert_eq!(s.get_device("chat", "d1").await.unwrap(), None);
    assert!(!s.delete_device("chat", "d1").await.unwrap());
    assert_eq!(s.get_delivery(d.id).await.unwrap(), Some(d));
}

async fn notifications_are_inserted_once(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    app(&*s, "news").await;
    let accepted = now_ms();
    let msg = message("chat", "im-7f3c0e");
    assert!(s.insert_notification(&msg, accepted).await.unwrap());
    let replay = IngestMessage {
        data: BTreeMap::new(),
        ..msg.clone()
    };
    assert!(
        !s.insert_notification(&replay, accepted + Duration::seconds(1))
            .await
            .unwrap(),
        "a repeated id is not stored again"
    );
    assert!(
        s.insert_notification(&message("news", "im-7f3c0e"), accepted)
            .await
            .unwrap(),
        "the same id in another app is another notification"
    );

    let stored = s
        .get_notification("chat", "im-7f3c0e")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.message, msg,
        "the first message is kept, every field"
    );
    assert_eq!(stored.accepted_at, accepted);
    assert_eq!(s.get_notification("chat", "other").await.unwrap(), None);
    assert_eq!(
        s.get_notification("missing", "im-7f3c0e").await.unwrap(),
        None
    );

    let orphan = s
        .insert_notification(&message("missing", "x"), accepted)
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

async fn notifications_are_inserted_in_batches(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    app(&*s, "news").await;
    let accepted = now_ms();
    assert!(
        s.insert_notification(&message("chat", "old"), accepted)
            .await
            .unwrap()
    );
    let later = IngestMessage {
        data: BTreeMap::new(),
        ..message("chat", "n1")
    };
    let batch = [
        message("chat", "n1"),
        message("news", "n1"),
        message("chat", "old"),
        later,
        message("chat", "n2"),
    ];
    let refs: Vec<&IngestMessage> = batch.iter().collect();
    let new = s.insert_notifications(&refs, accepted).await.unwrap();
    assert_eq!(
        new,
        vec![true, true, false, false, true],
        "an existing id and a repeat within the batch are not new"
    );
    let stored = s.get_notification("chat", "n1").await.unwrap().unwrap();
    assert_eq!(
        stored.message, batch[0],
        "the first occurrence is the one kept"
    );
    assert_eq!(stored.accepted_at, accepted);
    assert!(s.get_notification("news", "n1").await.unwrap().is_some());
    assert_eq!(
        s.insert_notifications(&[], accepted).await.unwrap(),
        Vec::<bool>::new()
    );

    // Many rows: more than one statement's worth, all new, then all replays.
    let many: Vec<IngestMessage> = (0..1_203)
        .map(|i| message("chat", &format!("m{i}")))
        .collect();
    let refs: Vec<&IngestMessage> = many.iter().collect();
    let new = s.insert_notifications(&refs, accepted).await.unwrap();
    assert!(new.len() == 1_203 && new.iter().all(|n| *n));
    let again = s.insert_notifications(&refs, accepted).await.unwrap();
    assert!(again.len() == 1_203 && again.iter().all(|n| !*n));

    // A missing app fails the whole batch and stores none of it.
    let mixed = [message("chat", "x1"), message("missing", "x2")];
    let refs: Vec<&IngestMessage> = mixed.iter().collect();
    let orphan = s.insert_notifications(&refs, accepted).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
    assert_eq!(s.get_notification("chat", "x1").await.unwrap(), None);
}

async fn jobs_load_deliveries_of_many_notifications(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    app(&*s, "news").await;
    let now = now_ms();
    for (app_id, id) in [("chat", "n1"), ("chat", "n2"), ("news", "n3")] {
        s.insert_notification(&message(app_id, id), now)
            .await
            .unwrap();
    }
    s.upsert_device(&reg("chat", "d1", "u1", Channel::Fcm, "tok1"), now)
        .await
        .unwrap();
    let d1 = Delivery::queued("chat", "n1", "d1", Channel::Fcm, now);
    let d2 = Delivery::queued("chat", "n2", "d1", Channel::Fcm, now);
    let gone = Delivery::queued("chat", "n2", "d9", Channel::Fcm, now);
    let other = Delivery::queued("news", "n3", "d1", Channel::Fcm, now);
    let all = [d1.clone(), d2.clone(), gone.clone(), other.clone()];
    assert_eq!(s.insert_deliveries(&all).await.unwrap(), 4);

    let ids = [d2.id, other.id, d1.id, gone.id, d2.id, DeliveryId::new()];
    let job = s.load_job("chat", &ids).await.unwrap().unwrap();
    assert_eq!(job.app.id, "chat");
    let loaded: Vec<(DeliveryId, Option<String>)> = job
        .deliveries
        .iter()
        .map(|(d, device)| (d.id, device.as_ref().and_then(|dv| dv.token.clone())))
        .collect();
    assert_eq!(
        loaded,
        vec![
            (d2.id, Some("tok1".into())),
            (d1.id, Some("tok1".into())),
            (gone.id, None)
        ],
        "in the order asked, once each, without other apps' deliveries or unknown ids"
    );
    let mut names: Vec<&String> = job.notifications.keys().collect();
    names.sort();
    assert_eq!(names, ["n1", "n2"]);
    assert_eq!(job.notifications["n1"].message, message("chat", "n1"));
    assert_eq!(job.notifications["n2"].accepted_at, now);

    assert!(s.load_job("chat", &[other.id]).await.unwrap().is_none());
    assert!(s.load_job("missing", &[d1.id]).await.unwrap().is_none());
    assert!(s.load_job("chat", &[]).await.unwrap().is_none());
}

async fn deliveries_are_inserted_once_with_queued_receipts(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let now = now_ms();
    s.insert_notification(&message("chat", "n1"), now)
        .await
        .unwrap();
    let batch: Vec<Delivery> = ["d3", "d1", "d2"]
        .into_iter()
        .map(|device| Delivery::queued("chat", "n1", device, Channel::Honor, now))
        .collect();
    assert_eq!(s.insert_deliveries(&batch).await.unwrap(), 3);
    for d in &batch {
        assert_eq!(s.get_delivery(d.id).await.unwrap().as_ref(), Some(d));
        let receipts = s.receipts_of(d.id).await.unwrap();
        assert_eq!(receipts.len(), 1);
        let r = &receipts[0];
        assert_eq!(
            (r.delivery_id, r.state, r.vendor, r.at),
            (d.id, DeliveryState::Queued, Channel::Honor, now)
        );
        assert_eq!(
            (
                r.app.as_str(),
                r.notification_id.as_str(),
                r.device_id.as_str()
            ),
            ("chat", "n1", d.device_id.as_str())
        );
        assert_eq!(
            (r.reason.as_deref(), r.vendor_message_id.as_deref()),
            (None, None)
        );
    }
    let devices: Vec<String> = s
        .deliveries_of("chat", "n1")
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.device_id)
        .collect();
    assert_eq!(devices, vec!["d1", "d2", "d3"], "by device id");

    // A replay (new delivery ids, same notification and devices) adds nothing.
    let replay: Vec<Delivery> = ["d1", "d2", "d3"]
        .into_iter()
        .map(|device| Delivery::queued("chat", "n1", device, Channel::Honor, now))
        .collect();
    assert_eq!(s.insert_deliveries(&replay).await.unwrap(), 0);
    for d in &replay {
        assert_eq!(s.get_delivery(d.id).await.unwrap(), None);
        assert!(s.receipts_of(d.id).await.unwrap().is_empty());
    }
    for d in &batch {
        assert_eq!(
            s.receipts_of(d.id).await.unwrap().len(),
            1,
            "no extra receipts"
        );
    }
    // A partial replay adds only the new device; duplicates within a batch count once.
    let d4 = Delivery::queued("chat", "n1", "d4", Channel::Honor, now);
    let mixed = vec![
        replay[0].clone(),
        d4.clone(),
        Delivery {
            id: DeliveryId::new(),
            ..d4.clone()
        },
    ];
    assert_eq!(s.insert_deliveries(&mixed).await.unwrap(), 1);
    assert_eq!(s.deliveries_of("chat", "n1").await.unwrap().len(), 4);
    assert_eq!(s.insert_deliveries(&[]).await.unwrap(), 0);
    assert!(s.deliveries_of("chat", "n2").await.unwrap().is_empty());
}

async fn deliveries_are_all_or_none(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let now = now_ms();
    s.insert_notification(&message("chat", "n1"), now)
        .await
        .unwrap();
    let good = Delivery::queued("chat", "n1", "d1", Channel::Fcm, now);
    let orphan = Delivery::queued("chat", "no-such-notification", "d1", Channel::Fcm, now);
    let result = s.insert_deliveries(&[good.clone(), orphan]).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    assert_eq!(s.get_delivery(good.id).await.unwrap(), None, "rolled back");
    assert!(s.receipts_of(good.id).await.unwrap().is_empty());
}

async fn transitions_follow_the_happy_path(s: Arc<dyn Store>) {
    let d = one_delivery(&*s).await;
    let t0 = d.created_at;
    let at = |secs: i64| t0 + Duration::seconds(secs);

    let sending = s
        .transition_delivery(d.id, &Transition::Sending, at(1))
        .await
        .unwrap();
    assert_eq!(
        (sending.state, sending.attempts, sending.updated_at),
        (DeliveryState::Sending, 1, at(1))
    );
    let accepted = s
        .transition_delivery(
            d.id,
            &Transition::Accepted {
                vendor_message_id: Some("0:1700000000%abc".into()),
            },
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(accepted.state, DeliveryState::Accepted);
    assert_eq!(
        accepted.vendor_message_id.as_deref(),
        Some("0:1700000000%abc")
    );
    s.transition_delivery(d.id, &Transition::Delivered, at(3))
        .await
        .unwrap();
    let opened = s
        .transition_delivery(d.id, &Transition::Opened, at(4))
        .await
        .unwrap();

    // The stored row is what the state machine computes in memory.
    let mut expected = d.clone();
    for (t, secs) in [
        (Transition::Sending, 1),
        (
            Transition::Accepted {
                vendor_message_id: Some("0:1700000000%abc".into()),
            },
            2,
        ),
        (Transition::Delivered, 3),
        (Transition::Opened, 4),
    ] {
        expected.apply(&t, at(secs)).unwrap();
    }
    assert_eq!(opened, expected);
    assert_eq!(s.get_delivery(d.id).await.unwrap(), Some(expected));

    let receipts = s.receipts_of(d.id).await.unwrap();
    let seen: Vec<(DeliveryState, Option<&str>, OffsetDateTime)> = receipts
        .iter()
        .map(|r| (r.state, r.vendor_message_id.as_deref(), r.at))
        .collect();
    assert_eq!(
        seen,
        vec![
            (DeliveryState::Queued, None, t0),
            (DeliveryState::Sending, None, at(1)),
            (DeliveryState::Accepted, Some("0:1700000000%abc"), at(2)),
            (DeliveryState::Delivered, Some("0:1700000000%abc"), at(3)),
            (DeliveryState::Opened, Some("0:1700000000%abc"), at(4)),
        ]
    );
    assert!(receipts.iter().all(|r| r.reason.is_none()));
    assert!(
        receipts
            .iter()
            .all(|r| r.app == "chat" && r.device_id == "d1")
    );
}

async fn transitions_record_retries_and_failures(s: Arc<dyn Store>) {
    let d = one_delivery(&*s).await;
    let now = d.created_at;
    s.transition_delivery(d.id, &Transition::Sending, now)
        .await
        .unwrap();
    let retried = s
        .transition_delivery(
            d.id,
            &Transition::Retry {
                reason: "503 from vendor".into(),
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        (retried.state, retried.reason.as_deref()),
        (DeliveryState::Queued, Some("503 from vendor"))
    );
    s.transition_delivery(d.id, &Transition::Sending, now)
        .await
        .unwrap();
    let failed = s
        .transition_delivery(
            d.id,
            &Transition::Failed {
                reason: "payload too large".into(),
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(failed.reason.as_deref(), Some("payload too large"));
    assert_eq!(failed.attempts, 2, "every start of sending counts");

    let receipts: Vec<(DeliveryState, Option<String>)> = s
        .receipts_of(d.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.state, r.reason))
        .collect();
    assert_eq!(
        receipts,
        vec![
            (DeliveryState::Queued, None),
            (DeliveryState::Sending, None),
            (DeliveryState::Queued, Some("503 from vendor".into())),
            (DeliveryState::Sending, None),
            (DeliveryState::Failed, Some("payload too large".into())),
        ]
    );

    // Final: nothing follows, not even another failure.
    let again = s
        .transition_delivery(d.id, &Transition::Failed { reason: "x".into() }, now)
        .await;
    assert!(
        is_illegal(&again, DeliveryState::Failed, DeliveryState::Failed),
        "{again:?}"
    );

    // Expiry straight from the queue.
    let e = Delivery::queued("chat", "n1", "d2", Channel::Fcm, now);
    s.insert_deliveries(std::slice::from_ref(&e)).await.unwrap();
    let expired = s
        .transition_delivery(e.id, &Transition::Expired, now)
        .await
        .unwrap();
    assert_eq!(
        (expired.state, expired.attempts),
        (DeliveryState::Expired, 0)
    );
}

async fn illegal_transitions_change_nothing(s: Arc<dyn Store>) {
    let d = one_delivery(&*s).await;
    let now = d.created_at + Duration::seconds(1);
    for t in [
        Transition::Delivered,
        Transition::Opened,
        Transition::Accepted {
            vendor_message_id: Some("m".into()),
        },
        Transition::Retry { reason: "r".into() },
    ] {
        let to = t.target();
        let result = s.transition_delivery(d.id, &t, now).await;
        assert!(
            matches!(result, Err(StoreError::IllegalTransition { id, from: DeliveryState::Queued, to: asked })
                if id == d.id && asked == to),
            "{t:?}: {result:?}"
        );
    }
    assert_eq!(
        s.get_delivery(d.id).await.unwrap(),
        Some(d.clone()),
        "unchanged"
    );
    assert_eq!(
        s.receipts_of(d.id).await.unwrap().len(),
        1,
        "no receipt written"
    );
}

async fn unknown_deliveries_are_not_found(s: Arc<dyn Store>) {
    one_delivery(&*s).await;
    let id = DeliveryId::new();
    let result = s
        .transition_delivery(id, &Transition::Sending, now_ms())
        .await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    assert_eq!(s.get_delivery(id).await.unwrap(), None);
    assert!(s.receipts_of(id).await.unwrap().is_empty());
}

async fn concurrent_transitions_have_one_winner(s: Arc<dyn Store>) {
    let d = one_delivery(&*s).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.transition_delivery(d.id, &Transition::Sending, now_ms())
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        let result = task.await.unwrap();
        if result.is_ok() {
            won += 1;
        } else {
            assert!(
                is_illegal(&result, DeliveryState::Sending, DeliveryState::Sending),
                "{result:?}"
            );
        }
    }
    assert_eq!(won, 1, "exactly one transition succeeds");
    let stored = s.get_delivery(d.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (DeliveryState::Sending, 1));
    assert_eq!(s.receipts_of(d.id).await.unwrap().len(), 2);
}

async fn credentials_are_versioned(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let t0 = now_ms();
    let mut ids = Vec::new();
    let mut first_not_after = None;
    for n in 1..=3u8 {
        let c = credential("chat", Channel::Apns, n);
        let at = t0 + Duration::seconds(i64::from(n));
        let meta = s.insert_credential(&c, at).await.unwrap();
        assert_eq!(meta.version, i64::from(n));
        assert_eq!(meta.state, CredentialState::Active);
        assert_eq!((meta.created_at, meta.activated_at), (at, Some(at)));
        assert_eq!((meta.id, meta.kind), (c.id, CredentialKind::ApnsP8));
        assert_eq!(meta.public_fields, c.public_fields);
        assert_eq!(meta.not_after, c.not_after);
        ids.push(c.id);
        first_not_after = first_not_after.or(c.not_after);

        let active = s
            .active_credential("chat", Channel::Apns)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(active.meta, meta);
        assert!(active.sealed == c.sealed, "sealed bytes come back exactly");
    }
    let fcm = s
        .insert_credential(&credential("chat", Channel::Fcm, 9), t0)
        .await
        .unwrap();
    assert_eq!(fcm.version, 1, "versions count per channel");

    let listed = s.list_credentials("chat").await.unwrap();
    let summary: Vec<(Channel, i64, CredentialState)> = listed
        .iter()
        .map(|m| (m.channel, m.version, m.state))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Channel::Apns, 1, CredentialState::Inactive),
            (Channel::Apns, 2, CredentialState::Inactive),
            (Channel::Apns, 3, CredentialState::Active),
            (Channel::Fcm, 1, CredentialState::Active),
        ],
        "by channel, then version"
    );
    assert_eq!(listed[0].id, ids[0]);
    assert_eq!(listed[0].fingerprint, format!("sha256:{:032x}", 1));
    assert_eq!(listed[0].not_after, first_not_after);
    assert!(
        s.active_credential("chat", Channel::Huawei)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.list_credentials("other").await.unwrap().is_empty());

    let orphan = s
        .insert_credential(&credential("missing", Channel::Apns, 1), t0)
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

async fn concurrent_credential_uploads_get_distinct_versions(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let tasks: Vec<_> = (1..=4u8)
        .map(|n| {
            let s = s.clone();
            tokio::spawn(async move {
                s.insert_credential(&credential("chat", Channel::Fcm, n), now_ms())
                    .await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap().unwrap().version);
    }
    versions.sort_unstable();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    let listed = s.list_credentials("chat").await.unwrap();
    let active: Vec<i64> = listed
        .iter()
        .filter(|m| m.state == CredentialState::Active)
        .map(|m| m.version)
        .collect();
    assert_eq!(active, vec![4], "only the latest is active");
}

async fn credential_versions_are_activated_and_deleted(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let t0 = now_ms();
    let mut ids = Vec::new();
    for n in 1..=3u8 {
        let c = credential("chat", Channel::Apns, n);
        s.insert_credential(&c, t0 + Duration::seconds(i64::from(n)))
            .await
            .unwrap();
        ids.push(c.id);
    }
    let v1 = s
        .credential_version("chat", Channel::Apns, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (v1.meta.id, v1.meta.state),
        (ids[0], CredentialState::Inactive)
    );
    assert_eq!(v1.sealed.kek_id, "kek-1");
    assert!(
        s.credential_version("chat", Channel::Apns, 9)
            .await
            .unwrap()
            .is_none()
    );

    let at = t0 + Duration::seconds(10);
    let (meta, previous) = s
        .activate_credential("chat", Channel::Apns, 1, at)
        .await
        .unwrap();
    assert_eq!(
        (meta.version, meta.state, meta.activated_at),
        (1, CredentialState::Active, Some(at))
    );
    assert_eq!(previous, Some(3));
    let active = s
        .active_credential("chat", Channel::Apns)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.meta.id, ids[0]);
    // Activating the active version again keeps its activation time.
    let (again, previous) = s
        .activate_credential("chat", Channel::Apns, 1, at + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!((again.activated_at, previous), (Some(at), Some(1)));
    let missing = s.activate_credential("chat", Channel::Apns, 7, at).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    let active_delete = s.delete_credential("chat", Channel::Apns, 1).await;
    assert!(
        matches!(active_delete, Err(StoreError::Conflict(_))),
        "{active_delete:?}"
    );
    assert!(s.delete_credential("chat", Channel::Apns, 2).await.unwrap());
    assert!(!s.delete_credential("chat", Channel::Apns, 2).await.unwrap());
    let versions: Vec<(i64, CredentialState)> = s
        .list_credential_status("chat")
        .await
        .unwrap()
        .iter()
        .map(|c| (c.meta.version, c.meta.state))
        .collect();
    assert_eq!(
        versions,
        [(1, CredentialState::Active), (3, CredentialState::Inactive)]
    );
    // A new upload numbers after the highest version ever kept.
    let next = s
        .insert_credential(&credential("chat", Channel::Apns, 4), at)
        .await
        .unwrap();
    assert_eq!(next.version, 4);
}

async fn credential_health_and_fallback(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let t0 = now_ms();
    let old = credential("chat", Channel::Fcm, 1);
    let new = credential("chat", Channel::Fcm, 2);
    s.insert_credential(&old, t0).await.unwrap();
    s.insert_credential(&new, t0 + Duration::seconds(1))
        .await
        .unwrap();

    let ok_at = t0 + Duration::seconds(2);
    let report = AuthReport {
        success_at: Some(ok_at),
        failure: Some((
            ok_at + Duration::seconds(1),
            "UNAUTHENTICATED: bad key".into(),
        )),
    };
    s.record_credential_auth(new.id, &report).await.unwrap();
    // An older verdict never overwrites a newer one.
    s.record_credential_auth(
        new.id,
        &AuthReport {
            success_at: Some(t0),
            failure: None,
        },
    )
    .await
    .unwrap();
    let listed = s.list_credential_status("chat").await.unwrap();
    let health = &listed[1].health;
    assert_eq!(listed[1].meta.id, new.id);
    assert_eq!(health.last_success_at, Some(ok_at));
    assert_eq!(health.last_failure_at, Some(ok_at + Duration::seconds(1)));
    assert_eq!(
        health.last_failure_reason.as_deref(),
        Some("UNAUTHENTICATED: bad key")
    );
    assert_eq!(listed[0].health, Default::default());

    let candidate = s
        .fallback_candidate("chat", Channel::Fcm, new.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(candidate.meta.id, old.id);
    assert!(candidate.sealed == old.sealed);
    let at = t0 + Duration::seconds(5);
    assert!(
        s.fall_back_credential(new.id, old.id, "refused", at)
            .await
            .unwrap()
    );
    assert!(
        !s.fall_back_credential(new.id, old.id, "refused", at)
            .await
            .unwrap(),
        "a second instance's fallback finds it done"
    );
    let active = s
        .active_credential("chat", Channel::Fcm)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (active.meta.id, active.meta.activated_at),
        (old.id, Some(at))
    );
    let listed = s.list_credential_status("chat").await.unwrap();
    assert_eq!(listed[1].health.unhealthy_at, Some(at));
    assert_eq!(
        listed[1].health.unhealthy_reason.as_deref(),
        Some("refused")
    );
    // The unhealthy version is no candidate; activating it by hand clears the mark.
    assert!(
        s.fallback_candidate("chat", Channel::Fcm, old.id)
            .await
            .unwrap()
            .is_none()
    );
    s.activate_credential("chat", Channel::Fcm, 2, at)
        .await
        .unwrap();
    let listed = s.list_credential_status("chat").await.unwrap();
    assert_eq!(listed[1].health.unhealthy_at, None);
}

async fn credential_expiry_warnings_and_rewrap_batches(s: Arc<dyn Store>) {
    app(&*s, "chat").await;
    let t0 = now_ms();
    let mut cert = credential("chat", Channel::Apns, 1);
    cert.kind = CredentialKind::ApnsP12;
    s.insert_credential(&cert, t0).await.unwrap();
    let mut fcm = credential("chat", Channel::Fcm, 2);
    fcm.not_after = None;
    s.insert_credential(&fcm, t0).await.unwrap();
    let expiring = s.active_expiring_credentials().await.unwrap();
    assert_eq!(expiring.iter().map(|m| m.id).collect::<Vec<_>>(), [cert.id]);
    assert!(s.mark_expiry_warned(cert.id, 30).await.unwrap());
    assert!(
        !s.mark_expiry_warned(cert.id, 30).await.unwrap(),
        "once per threshold"
    );
    assert!(s.mark_expiry_warned(cert.id, 7).await.unwrap());
    assert!(!s.mark_expiry_warned(cert.id, 30).await.unwrap());

    // Rewrap batches: rows not under the given key, after a cursor, by id.
    let all = s
        .credentials_sealed_elsewhere("kek-new", None, 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let first = s
        .credentials_sealed_elsewhere("kek-new", None, 1)
        .await
        .unwrap();
    let rest = s
        .credentials_sealed_elsewhere("kek-new", Some(first[0].meta.id), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_ne!(rest[0].meta.id, first[0].meta.id);
    let target = &first[0];
    let resealed = SealedCredential {
        kek_id: "kek-new".into(),
        wrapped_dek: vec![1, 2, 3],
        ciphertext: vec![4, 5, 6],
    };
    assert!(
        !s.replace_sealed_credential(target.meta.id, "kek-other", &resealed)
            .await
            .unwrap(),
        "compare-and-set on the key id"
    );
    assert!(
        s.replace_sealed_credential(target.meta.id, &target.sealed.kek_id, &resealed)
            .await
            .unwrap()
    );
    let left = s
        .credentials_sealed_elsewhere("kek-new", None, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    let back = s
        .credential_version("chat", target.meta.channel, target.meta.version)
        .await
        .unwrap()
        .unwrap();
    assert!(back.sealed == resealed);
}

async fn credential_audit_is_kept_per_app(s: Arc<dyn Store>) {
    let a = app(&*s, "chat").await;
    app(&*s, "other").await;
    let t0 = now_ms();
    let key = ApiKeyId::new();
    for (i, action) in [
        CredentialAction::Upload,
        CredentialAction::Rollback,
        CredentialAction::Fallback,
    ]
    .into_iter()
    .enumerate()
    {
        let entry = CredentialAuditEntry {
            id: Uuid::new_v4(),
            tenant_id: a.tenant_id,
            api_key_id: (action != CredentialAction::Fallback).then_some(key),
            app_id: "chat".into(),
            channel: Channel::Apns,
            version: i as i64 + 1,
            action,
            at: t0 + Duration::seconds(i as i64),
        };
        s.insert_credential_audit(&entry).await.unwrap();
    }
    let log = s.list_credential_audit("chat").await.unwrap();
    let seen: Vec<(CredentialAction, i64, Option<ApiKeyId>)> = log
        .iter()
        .map(|e| (e.action, e.version, e.api_key_id))
        .collect();
    assert_eq!(
        seen,
        [
            (CredentialAction::Upload, 1, Some(key)),
            (CredentialAction::Rollback, 2, Some(key)),
            (CredentialAction::Fallback, 3, None)
        ]
    );
    assert_eq!(log[0].tenant_id, a.tenant_id);
    assert_eq!(log[2].at, t0 + Duration::seconds(2));
    assert!(s.list_credential_audit("other").await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------
// Both backends, every case
// ---------------------------------------------------------------------------------------

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fresh = super::Fresh::sqlite().await;
                    super::$case(fresh.store()).await;
                    fresh.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fresh = super::Fresh::postgres().await;
                    super::$case(fresh.store()).await;
                    fresh.finish().await;
                }
            )*
        }
    };
}

conformance!(
    ping_answers,
    tenants_are_created_found_and_listed,
    api_keys_are_found_by_hash_until_revoked,
    app_ids_are_global,
    apps_are_updated,
    app_round_trip_keeps_every_field,
    devices_are_inserted_then_updated,
    device_round_trip_keeps_every_field,
    tokens_move_between_devices,
    deactivated_devices_revive_on_register,
    user_devices_list_active_only_unless_asked,
    get_devices_leaves_out_unknown_ids,
    devices_are_deleted_without_touching_deliveries,
    notifications_are_inserted_once,
    notifications_are_inserted_in_batches,
    jobs_load_deliveries_of_many_notifications,
    deliveries_are_inserted_once_with_queued_receipts,
    deliveries_are_all_or_none,
    transitions_follow_the_happy_path,
    transitions_record_retries_and_failures,
    illegal_transitions_change_nothing,
    unknown_deliveries_are_not_found,
    concurrent_transitions_have_one_winner,
    credentials_are_versioned,
    concurrent_credential_uploads_get_distinct_versions,
    credential_versions_are_activated_and_deleted,
    credential_health_and_fallback,
    credential_expiry_warnings_and_rewrap_batches,
    credential_audit_is_kept_per_app,
);

// ---------------------------------------------------------------------------------------
// Connecting (not part of the port)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sqlite_memory_keeps_its_data_across_calls() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    let tenant = store.create_tenant("Acme").await.unwrap();
    for _ in 0..3 {
        assert_eq!(store.list_tenants().await.unwrap(), vec![tenant.clone()]);
    }
}

#[tokio::test]
async fn sqlite_files_are_created_reopened_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a").join("b").join("push.db");
    // `sqlite:path` and `sqlite://path` name the same file.
    let store = SqlStore::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let tenant = store.create_tenant("Acme").await.unwrap();
    store.close().await;

    let again = SqlStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.list_tenants().await.unwrap(), vec![tenant]);
    again.close().await;

    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn postgres_store_reports_its_backend_and_migrates_twice() {
    let fresh = Fresh::postgres().await;
    fresh.store.migrate().await.unwrap();
    assert_eq!(fresh.store.backend(), Backend::Postgres);
    fresh.finish().await;
}

#[tokio::test]
async fn postgres_refuses_a_nul_character_as_a_value_not_as_an_outage() {
    // Validation keeps NUL characters out of ingest; should one get past it, PostgreSQL's
    // data exception must read as `Refused` (dead-letter that message), never as
    // `Unavailable` (release and redeliver it for ever, holding back its batch).
    let fresh = Fresh::postgres().await;
    let s = fresh.store();
    app(&*s, "chat").await;
    let poisoned = message("chat", "n\u{0}1");
    let refused = s.insert_notifications(&[&poisoned], now_ms()).await;
    assert!(
        matches!(refused, Err(StoreError::Refused(_))),
        "{refused:?}"
    );
    assert!(
        !format!("{refused:?}").contains("n\u{0}1"),
        "the refused value is not echoed"
    );
    fresh.finish().await;
}

#[tokio::test]
async fn postgres_connections_plan_each_run_with_current_table_sizes() {
    let fresh = Fresh::postgres().await;
    // Every pooled connection, not just the first: hold several at once.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(fresh.store.pool().acquire().await.unwrap());
    }
    for conn in &mut held {
        let mode: String = sqlx::query_scalar("SELECT current_setting('plan_cache_mode')")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(mode, "force_custom_plan");
    }
    drop(held);
    fresh.finish().await;
}

/// The pipeline pool keeps its plans (generic plans after five runs), so each pipeline
/// statement's generic plan, made on an empty database (the plan that once scanned whole
/// tables as they grew), must read the pipeline's tables by index probes alone: no
/// sequential scan, and no index scan without an index condition.
#[tokio::test]
async fn postgres_pipeline_statements_keep_plans_that_only_probe() {
    let fresh = Fresh::postgres().await;
    let mut conn = fresh.store.pipeline_pool().acquire().await.unwrap();
    let settings: (String, String) = sqlx::query_as(
        "SELECT current_setting('enable_seqscan'), current_setting('plan_cache_mode')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(settings, ("off".to_string(), "auto".to_string()));
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await
        .unwrap();
    // The Any driver cannot decode `json`: the plan comes back as text.
    sqlx::query(
        "CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS \
         $$ DECLARE plan text; BEGIN EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan; \
         RETURN plan; END $$",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let statements = pushgate::store::pipeline_statements();
    assert_eq!(statements.len(), 8);
    for (i, (name, sql)) in statements.iter().enumerate() {
        let params = (1..=9).filter(|n| sql.contains(&format!("${n}"))).count();
        sqlx::query(AssertSqlSafe(format!("PREPARE plan_check_{i} AS {sql}")))
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let nulls = vec!["NULL"; params].join(", ");
        let plan: String = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT pg_temp.plan_of('EXECUTE plan_check_{i}({nulls})')"
        )))
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
        let mut scans = Vec::new();
        table_scans(&plan[0]["Plan"], &mut scans);
        let reads = sql.starts_with("SELECT") || sql.contains("UPDATE");
        assert_eq!(
            scans.iter().any(|(node, ..)| node != "ModifyTable"),
            reads,
            "{name} reads tables exactly when it selects or updates: {plan}"
        );
        for (node, table, condition) in &scans {
            let probes = match node.as_str() {
                "Index Scan" | "Index Only Scan" | "Bitmap Index Scan" | "Tid Scan" => *condition,
                "ModifyTable" => true,
                // Its rows come from the bitmap index scan below it, checked on its own.
                "Bitmap Heap Scan" => true,
                _ => false,
            };
            assert!(
                probes,
                "{name}: {node} on {table} without an index condition: {plan}"
            );
        }
    }
    drop(conn);
    fresh.finish().await;
}

/// Every scan or write of a table in `node` and below: (node type, table, has an index or
/// TID condition). Bitmap heap scans get their condition from the bitmap index scan below,
/// which is listed too.
fn table_scans(node: &serde_json::Value, out: &mut Vec<(String, String, bool)>) {
    let kind = node["Node Type"].as_str().unwrap_or_default();
    if let Some(table) = node["Relation Name"].as_str() {
        let condition = node.get("Index Cond").is_some() || node.get("TID Cond").is_some();
        out.push((kind.to_string(), table.to_string(), condition));
    } else if kind == "Bitmap Index Scan" {
        let condition = node.get("Index Cond").is_some();
        out.push((kind.to_string(), String::new(), condition));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        table_scans(child, out);
    }
}

#[tokio::test]
async fn connect_errors_never_show_the_password() {
    for url in [
        "postgres://pushgate:pa55-w0rd-xyz@127.0.0.1:1/pushgate",
        "postgresql://127.0.0.1:1/pushgate?user=pushgate&password=pa55-w0rd-xyz",
    ] {
        let err = SqlStore::connect(url).await.unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(matches!(err, StoreError::Unavailable(_)), "{shown}");
        assert!(!shown.contains("pa55-w0rd-xyz"), "{shown}");
        assert!(shown.contains("127.0.0.1:1"), "names the server: {shown}");
    }
    let err = SqlStore::connect("mysql://root@localhost/db")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unsupported"), "{err}");
}
