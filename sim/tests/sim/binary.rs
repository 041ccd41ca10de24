//! The `push-sim` binary starts, serves, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn binary_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_push-sim"))
        .args([
            "--fcm-port",
            "0",
            "--apns-production-port",
            "0",
            "--apns-sandbox-port",
            "0",
            "--huawei-port",
            "0",
            "--xiaomi-port",
            "0",
            "--oppo-port",
            "0",
            "--vivo-port",
            "0",
            "--honor-port",
            "0",
            "--wechat-port",
            "0",
            "--control-port",
            "0",
            "--preload-dev",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let control = loop {
        let line = lines.next().expect("the binary prints its URLs").unwrap();
        if let Some(url) = line.strip_prefix("control") {
            break url.trim().to_string();
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let health = rt.block_on(async {
        reqwest::get(format!("{control}/healthz"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(health, "ok");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "clean exit on SIGTERM");
}
