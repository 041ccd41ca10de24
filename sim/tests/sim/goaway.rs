//! APNs GOAWAYs (faults `goaway` and `idle_timeout_ms`, apns.md §5 and §10 item 5), seen
//! frame by frame through a minimal raw HTTP/2 client (an HTTP/2 library would hide the
//! last-stream-id), and as reqwest reports them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use push_sim::Sim;
use push_sim::types::{FaultSpec, GoawayFault, RequestFilter, Vendor};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::helpers::*;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

/// What the server sent.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    /// A response's HEADERS; the status when HPACK encoded it as a static-table index.
    Headers { stream: u32, status: Option<u16> },
    /// A GOAWAY frame.
    Goaway {
        last_stream_id: u32,
        error_code: u32,
        debug: String,
    },
    /// The connection was closed.
    Eof,
}

/// One HTTP/2 connection, frames written and read by hand.
struct RawH2 {
    tls: TlsStream<TcpStream>,
    buf: Vec<u8>,
    at: Instant,
}

/// HPACK integer with a 7-bit prefix (RFC 7541 §5.1), H = 0.
fn hpack_len(out: &mut Vec<u8>, mut n: usize) {
    if n < 127 {
        out.push(n as u8);
        return;
    }
    out.push(127);
    n -= 127;
    while n >= 128 {
        out.push((n % 128 + 128) as u8);
        n /= 128;
    }
    out.push(n as u8);
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend_from_slice(&[kind, flags]);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

impl RawH2 {
    async fn connect(sim: &Sim) -> RawH2 {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(sim.ca_pem_path()).unwrap();
        for der in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(der.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let addr = sim
            .apns_sandbox_url()
            .trim_start_matches("https://")
            .to_string();
        let tcp = TcpStream::connect(&addr).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let mut conn = RawH2 {
            tls,
            buf: Vec::new(),
            at: Instant::now(),
        };
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        conn.tls.write_all(&hello).await.unwrap();
        conn
    }

    /// Opens `stream` with an alert push of the dev key (HEADERS, then DATA with END_STREAM).
    async fn push(&mut self, stream: u32, jwt: &str) {
        let mut block = Vec::new();
        let path = format!("/3/device/{TOKEN}");
        let auth = format!("bearer {jwt}");
        for (name, value) in [
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", "127.0.0.1"),
            (":path", path.as_str()),
            ("authorization", auth.as_str()),
            ("apns-topic", TOPIC),
            ("apns-push-type", "alert"),
        ] {
            block.push(0); // literal without indexing, new name
            hpack_len(&mut block, name.len());
            block.extend_from_slice(name.as_bytes());
            hpack_len(&mut block, value.len());
            block.extend_from_slice(value.as_bytes());
        }
        let mut out = frame(HEADERS, 0x4, stream, &block);
        out.extend(frame(DATA, 0x1, stream, br#"{"aps":{"alert":"hi"}}"#));
        self.tls.write_all(&out).await.unwrap();
    }

    async fn ping(&mut self) {
        let ping = frame(PING, 0, 0, &[7; 8]);
        self.tls.write_all(&ping).await.unwrap();
    }

    /// The next event (SETTINGS are acknowledged, other frames skipped).
    async fn next(&mut self) -> Event {
        loop {
            while self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() < 9 + len {
                    break;
                }
                let f: Vec<u8> = self.buf.drain(..9 + len).collect();
                let (kind, flags) = (f[3], f[4]);
                let stream = u32::from_be_bytes([f[5], f[6], f[7], f[8]]) & 0x7fff_ffff;
                let payload = &f[9..];
                match kind {
                    SETTINGS if flags & 1 == 0 => {
                        let ack = frame(SETTINGS, 1, 0, &[]);
                        self.tls.write_all(&ack).await.unwrap();
                    }
                    HEADERS => {
                        // Static table entries 8..=14 are the :status values.
                        let codes = [200, 204, 206, 304, 400, 404, 500];
                        let status = payload
                            .first()
                            .filter(|b| (0x88..=0x8e).contains(*b))
                            .map(|b| codes[usize::from(b - 0x88)]);
                        return Event::Headers { stream, status };
                    }
                    GOAWAY => {
                        let word = |i: usize| {
                            u32::from_be_bytes([
                                payload[i],
                                payload[i + 1],
                                payload[i + 2],
                                payload[i + 3],
                            ])
                        };
                        return Event::Goaway {
                            last_stream_id: word(0) & 0x7fff_ffff,
                            error_code: word(4),
                            debug: String::from_utf8_lossy(&payload[8..]).into_owned(),
                        };
                    }
                    _ => {}
                }
            }
            let mut chunk = [0u8; 8192];
            match self.tls.read(&mut chunk).await {
                Ok(0) | Err(_) => return Event::Eof,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Events until the connection closes (at most 10 s), each with the time since connect.
    async fn until_closed(&mut self) -> Vec<(Event, Duration)> {
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = tokio::time::timeout_at(deadline, self.next())
                .await
                .expect("the connection closes");
            events.push((event.clone(), self.at.elapsed()));
            if event == Event::Eof {
                return events;
            }
        }
    }

    /// Waits for the answer of `stream`; returns its status.
    async fn answer(&mut self, stream: u32) -> Option<u16> {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.next())
                .await
                .unwrap()
            {
                Event::Headers { stream: s, status } if s == stream => return status,
                Event::Headers { .. } => {}
                other => panic!("stream {stream} got no answer: {other:?}"),
            }
        }
    }
}

fn goaway(reason: &str, error_code: u32, count: Option<u64>) -> FaultSpec {
    FaultSpec {
        goaway: Some(GoawayFault {
            reason: reason.into(),
            error_code,
            count,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn events(list: &[(Event, Duration)]) -> Vec<Event> {
    list.iter().map(|(e, _)| e.clone()).collect()
}

fn recorded(sim: &Sim) -> usize {
    sim.control()
        .requests(RequestFilter {
            vendor: Some(Vendor::Apns),
            ..Default::default()
        })
        .len()
}

#[tokio::test]
async fn goaway_names_the_last_stream_and_leaves_later_streams_unanswered() {
    let sim = spawn_sim().await;
    let jwt = dev_jwt(now());
    let mut h2 = RawH2::connect(&sim).await;
    h2.push(1, &jwt).await;
    assert_eq!(h2.answer(1).await, Some(200));
    sim.control()
        .set_faults(Vendor::Apns, goaway("Shutdown", 0, Some(1)))
        .unwrap();
    h2.push(3, &jwt).await; // triggers the GOAWAY
    h2.push(5, &jwt).await; // above its last-stream-id too
    let seen = events(&h2.until_closed().await);
    assert_eq!(
        seen,
        [
            Event::Goaway {
                last_stream_id: 1,
                error_code: 0,
                debug: r#"{"reason":"Shutdown"}"#.into(),
            },
            Event::Eof
        ],
        "streams 3 and 5 are never answered"
    );
    // Stream 5 may arrive after the connection is gone; stream 3 is counted, not processed.
    let requests = sim.control().counters().endpoints["apns-sandbox"].requests;
    assert!((2..=3).contains(&requests), "{requests}");
    assert_eq!(recorded(&sim), 1, "only stream 1 was processed");
    drop(h2);
    let closed = || sim.control().counters().endpoints["apns-sandbox"].open_connections == 0;
    assert!(eventually(closed).await);

    let mut again = RawH2::connect(&sim).await;
    again.push(1, &jwt).await;
    assert_eq!(again.answer(1).await, Some(200), "count: 1");
    drop(again);
    sim.shutdown().await;
}

#[tokio::test]
async fn streams_at_or_below_the_last_stream_id_are_still_answered() {
    let sim = spawn_sim().await;
    let jwt = dev_jwt(now());
    let slow = FaultSpec {
        latency_ms: 400,
        ..Default::default()
    };
    sim.control()
        .set_faults(Vendor::Apns, slow.clone())
        .unwrap();
    let mut h2 = RawH2::connect(&sim).await;
    h2.push(1, &jwt).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let spec = FaultSpec {
        goaway: Some(GoawayFault {
            reason: "ServiceUnavailable".into(),
            error_code: 2, // INTERNAL_ERROR
            count: Some(1),
            ..Default::default()
        }),
        ..slow
    };
    sim.control().set_faults(Vendor::Apns, spec).unwrap();
    h2.push(3, &jwt).await;
    let seen = h2.until_closed().await;
    assert_eq!(
        events(&seen),
        [
            Event::Goaway {
                last_stream_id: 1,
                error_code: 2,
                debug: r#"{"reason":"ServiceUnavailable"}"#.into(),
            },
            Event::Headers {
                stream: 1,
                status: Some(200)
            },
            Event::Eof
        ],
        "the GOAWAY comes at once, stream 1's answer when it is ready, then the close"
    );
    assert!(seen[0].1 < Duration::from_millis(400), "{seen:?}");
    assert!(seen[1].1 >= Duration::from_millis(400), "{seen:?}");
    assert_eq!(recorded(&sim), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_first_request_of_a_connection_gets_last_stream_id_zero() {
    let sim = spawn_sim().await;
    sim.control()
        .set_faults(Vendor::Apns, goaway("", 0, None))
        .unwrap();
    let mut h2 = RawH2::connect(&sim).await;
    h2.push(1, &dev_jwt(now())).await;
    assert_eq!(
        events(&h2.until_closed().await),
        [
            Event::Goaway {
                last_stream_id: 0,
                error_code: 0,
                debug: String::new(),
            },
            Event::Eof
        ],
        "an empty reason: no debug data"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed_with_idle_timeout() {
    let sim = spawn_sim().await;
    let jwt = dev_jwt(now());
    let idle = FaultSpec {
        idle_timeout_ms: Some(300),
        ..Default::default()
    };
    sim.control().set_faults(Vendor::Apns, idle).unwrap();
    let mut h2 = RawH2::connect(&sim).await;
    h2.push(1, &jwt).await;
    assert_eq!(h2.answer(1).await, Some(200));
    // Client frames count as activity (Apple suggests PINGs to keep a connection open).
    let answered = Instant::now();
    let mut last_ping = answered;
    while answered.elapsed() < Duration::from_millis(700) {
        h2.ping().await;
        last_ping = Instant::now();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = h2.until_closed().await;
    assert_eq!(
        events(&seen),
        [
            Event::Goaway {
                last_stream_id: 1,
                error_code: 0,
                debug: r#"{"reason":"IdleTimeout"}"#.into(),
            },
            Event::Eof
        ]
    );
    let waited = last_ping.elapsed();
    assert!(
        (Duration::from_millis(290)..Duration::from_millis(2000)).contains(&waited),
        "closed about 300 ms after the last ping: {waited:?}"
    );

    // A connection that never sent a request: last-stream-id 0.
    let mut h2 = RawH2::connect(&sim).await;
    assert!(matches!(
        events(&h2.until_closed().await)[..],
        [
            Event::Goaway {
                last_stream_id: 0,
                ..
            },
            Event::Eof
        ]
    ));

    // Without the fault connections stay open.
    sim.control().clear_faults(Vendor::Apns);
    let mut h2 = RawH2::connect(&sim).await;
    h2.push(1, &jwt).await;
    assert_eq!(h2.answer(1).await, Some(200));
    let still_open = tokio::time::timeout(Duration::from_millis(600), h2.next()).await;
    assert!(still_open.is_err(), "nothing arrives: {still_open:?}");
    drop(h2); // else shutdown waits for it to answer hyper's graceful GOAWAY
    sim.shutdown().await;
}

#[tokio::test]
async fn goaway_is_an_apns_fault() {
    let sim = spawn_sim().await;
    let err = sim
        .control()
        .set_faults(Vendor::Fcm, goaway("Shutdown", 0, None))
        .unwrap_err();
    assert!(err.error.contains("APNs"), "{err}");
    let resp = reqwest::Client::new()
        .put(format!("{}/faults/apns", sim.control_url()))
        .json(&json!({"goaway": {"reason": "Shutdown", "count": 2}, "idle_timeout_ms": 60000}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap(),
        json!({"latency_ms": 0, "reset_rate": 0.0, "idle_timeout_ms": 60000,
               "goaway": {"reason": "Shutdown", "error_code": 0, "rate": 1.0, "count": 2}})
    );
    sim.shutdown().await;
}

/// What an HTTP/2 client library makes of it: h2 quotes the debug data in its error, and
/// reqwest by default resends a request refused by a `NO_ERROR` GOAWAY on a new connection.
#[tokio::test]
async fn reqwest_reports_the_debug_data_or_resends_transparently() {
    let sim = spawn_sim().await;
    let jwt = dev_jwt(now());
    sim.control()
        .set_faults(Vendor::Apns, goaway("Shutdown", 0, Some(1)))
        .unwrap();
    let reply = alert(&apns_client(&sim), &sim.apns_sandbox_url(), &jwt, TOKEN).await;
    assert_eq!(reply.status, 200, "resent on a new connection");
    assert_eq!(recorded(&sim), 1);
    assert_eq!(
        sim.control().counters().endpoints["apns-sandbox"].connections,
        2
    );

    sim.control()
        .set_faults(Vendor::Apns, goaway("BadCertificate", 0, Some(1)))
        .unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(
            &std::fs::read(sim.ca_pem_path()).unwrap(),
        )
        .unwrap()])
        .http2_prior_knowledge()
        .retry(reqwest::retry::never())
        .build()
        .unwrap();
    let err = client
        .post(format!("{}/3/device/{TOKEN}", sim.apns_sandbox_url()))
        .header("authorization", format!("bearer {jwt}"))
        .header("apns-topic", TOPIC)
        .body(r#"{"aps":{"alert":"hi"}}"#)
        .send()
        .await
        .unwrap_err();
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        chain = format!("{chain}: {e}");
        source = e.source();
    }
    assert!(
        chain.contains(r#"connection error received: not a result of an error (b"{\"reason\":\"BadCertificate\"}")"#),
        "{chain}"
    );
    sim.shutdown().await;
}
