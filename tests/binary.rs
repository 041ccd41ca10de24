//! The `pushgate` binary as an operator runs it: embedded defaults with no configuration,
//! configuration errors, PostgreSQL start-up rules, `migrate`, and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{
    drop_postgres_database, free_port, fresh_postgres_database, pushgate, wait_for_health,
};

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "pushgate did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn runs_on_embedded_defaults_without_any_configuration_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Only the port differs from the defaults, so parallel tests do not collide.
    let mut child = pushgate(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_health(port, &mut child);
    for file in ["data/pushgate.db", "data/master.key", "data/admin.token"] {
        assert!(dir.path().join(file).exists(), "{file} missing");
    }
    let status = terminate(&mut child);
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap();
    let key = std::fs::read_to_string(dir.path().join("data/master.key")).unwrap();
    assert!(!log.contains(token.trim()), "the admin token was logged");
    assert!(!log.contains(key.trim()), "the master key was logged");
    assert!(
        log.contains("admin.token"),
        "the log says where the admin token is: {log}"
    );
}

#[test]
fn debug_logs_name_routes_not_uris_that_can_hold_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = pushgate(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "debug")
        .env("PUSHGATE_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_health(port, &mut child);
    let secret = "path-token-0123456789abcdef";
    for path in [
        format!("/v1/callbacks/xiaomi/chat/{secret}"),
        format!("/v1/ws?token={secret}"),
        format!("/healthz?token={secret}"),
    ] {
        // Any answer will do: what matters is what the log says about the request.
        let _ = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            use std::io::Write;
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )?;
            let mut answer = String::new();
            s.read_to_string(&mut answer).map(|_| ())
        });
    }
    assert!(terminate(&mut child).success());
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("/healthz"), "the route is logged: {log}");
    assert!(!log.contains(secret), "a URI reached the log: {log}");
}

#[test]
fn a_restart_reuses_the_generated_master_key_and_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let read = |file: &str| std::fs::read_to_string(dir.path().join("data").join(file)).unwrap();
    let serve_once = || {
        let port = free_port();
        // The subcommand first, the flags after it: the README's form.
        let mut child = pushgate(dir.path())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_health(port, &mut child);
        assert!(terminate(&mut child).success());
    };
    serve_once();
    let (key, token) = (read("master.key"), read("admin.token"));
    serve_once();
    assert_eq!((read("master.key"), read("admin.token")), (key, token));
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(pushgate(dir.path()).arg("migrate"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/pushgate.db").exists());
    let out = run(pushgate(dir.path()).arg("migrate"));
    assert!(out.status.success(), "migrating twice is harmless");
}

#[test]
fn invalid_configuration_names_the_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(pushgate(dir.path()).env("PUSHGATE_LISTEN", "nowhere"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listen"), "{err}");

    std::fs::write(
        dir.path().join("bad.toml"),
        "database_url = \"mysql://db\"\n",
    )
    .unwrap();
    let out = run(pushgate(dir.path()).args(["--config", "bad.toml"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("database_url"));
}

#[test]
fn postgres_without_a_master_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(pushgate(dir.path())
        .env(
            "PUSHGATE_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        )
        .env("PUSHGATE_ADMIN_TOKEN", "an-admin-token-for-tests"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("master_key"), "{err}");
    assert!(
        !dir.path().join("data/master.key").exists(),
        "no key is generated for PostgreSQL"
    );
}

#[test]
fn help_lists_the_commands() {
    let out = run(pushgate(Path::new(".")).arg("--help"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "migrate",
        "--config",
        "--database-url",
        "--log-format",
    ] {
        assert!(text.contains(word), "--help lacks {word}: {text}");
    }
}

#[test]
fn serves_on_postgres_with_configured_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (url, db_name) = rt.block_on(fresh_postgres_database());
    let port = free_port();
    let key = "9sRJq6mN2fB0kX4vL8wT1yZ3cE5gH7jA0pQ2rS4uV6w=";
    let out = run(pushgate(dir.path())
        .arg("migrate")
        .env("PUSHGATE_DATABASE_URL", &url)
        .env("PUSHGATE_ADMIN_TOKEN", "postgres-admin-token-1")
        .env("PUSHGATE_MASTER_KEY", key));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = pushgate(dir.path())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .env("PUSHGATE_DATABASE_URL", &url)
        .env("PUSHGATE_ADMIN_TOKEN", "postgres-admin-token-1")
        .env("PUSHGATE_MASTER_KEY", key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_health(port, &mut child);
    assert!(
        !dir.path().join("data").exists(),
        "nothing embedded is created with PostgreSQL"
    );
    let status = terminate(&mut child);
    assert!(status.success(), "{status}");
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.lines()
            .any(|l| l.starts_with('{') && l.contains("\"level\"")),
        "json logs expected: {log}"
    );
    assert!(
        !log.contains(key) && !log.contains("postgres-admin-token-1"),
        "a secret was logged"
    );
    rt.block_on(drop_postgres_database(&db_name));
}
