//! One WebSocket connection: registration (kicking an older login of the device), the
//! welcome frame, then one loop that reads client frames, writes queued frames, pings every
//! heartbeat and closes on silence, eviction or shutdown.
//!
//! The loop itself stays small (it is what every idle connection keeps in memory); frame
//! handling runs in a boxed future only while a frame is being handled.

use crate::core::Shared;
use crate::dispatch::{Outbound, dispatch, hand_off_again};
use crate::hub::Eviction;
use crate::protocol::{ClientFrame, Content, ServerFrame};
use crate::relay::RelayMessage;
use crate::store::inbox::AckError;
use crate::store::messages::{Outgoing, SendError};
use crate::store::now_ms;
use crate::store::presence::Connection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use push_core::ids::check_external_id;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Longest a single socket write may take before the client counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest accepted push title, in characters.
const MAX_TITLE_CHARS: usize = 200;

/// Close codes (RFC 6455 §7.4.1, and the 4000–4999 private range).
mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const REPLACED: u16 = 4001;
    pub const IDLE: u16 = 4002;
    pub const TOO_SLOW: u16 = 4003;
}

/// Whom a connection authenticated as.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub app: String,
    pub user: String,
    pub device: String,
}

/// Serves one upgraded socket until it closes.
pub(crate) async fn serve(shared: Arc<Shared>, mut socket: WebSocket, session: Session) {
    let registration = shared
        .hub
        .register(&session.app, &session.user, &session.device);
    let conn_id = registration.id;
    if let Some(cluster) = &shared.cluster {
        claim_presence(&shared, cluster, &session, conn_id).await;
    }
    tracing::debug!(app = %session.app, user = %session.user, device = %session.device, conn_id, "connected");
    let welcome = Box::pin(welcome(&shared, &session)).await;
    let mut outbound = registration.outbound;
    let control = registration.control;
    if send(&mut socket, welcome).await {
        let heartbeat = shared.config.heartbeat();
        let idle = shared.config.idle_timeout();
        let mut ticker = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                biased;
                () = control.evicted() => {
                    match control.reason() {
                        Eviction::Kicked => {
                            let kicked = ServerFrame::Kicked { reason: "replaced".into() }.to_text();
                            let _ = send(&mut socket, kicked.into()).await;
                            close_with(&mut socket, close::REPLACED, "replaced by a newer login").await;
                        }
                        _ => close_with(&mut socket, close::TOO_SLOW, "too slow; pull to catch up").await,
                    }
                    break;
                }
                () = shared.closing.cancelled() => {
                    close_with(&mut socket, close::GOING_AWAY, "server shutting down").await;
                    break;
                }
                incoming = socket.recv() => {
                    let Some(Ok(message)) = incoming else { break };
                    last_heard = Instant::now();
                    match message {
                        Message::Text(text) => {
                            let replies = Box::pin(handle(&shared, &session, conn_id, text)).await;
                            let mut ok = true;
                            for reply in replies {
                                ok = ok && send(&mut socket, reply).await;
                            }
                            if !ok { break; }
                        }
                        Message::Binary(_) => {
                            let error = ServerFrame::error("bad_frame", "binary frames are not supported; send JSON text", None);
                            if !send(&mut socket, error.to_text().into()).await { break; }
                        }
                        Message::Ping(_) | Message::Pong(_) => {}
                        Message::Close(_) => break,
                    }
                }
                frame = outbound.recv() => {
                    let Some(frame) = frame else { break };
                    if !send(&mut socket, frame).await { break; }
                }
                _ = ticker.tick() => {
                    if last_heard.elapsed() > idle {
                        tracing::debug!(app = %session.app, user = %session.user, device = %session.device, "idle; closing");
                        close_with(&mut socket, close::IDLE, "idle timeout").await;
                        break;
                    }
                    if !write(&mut socket, Message::Ping(Default::default())).await { break; }
                }
            }
        }
    }
    shared.hub.unregister(&session.app, &session.user, conn_id);
    if let Some(instance) = shared.instance()
        && let Err(e) = shared
            .store
            .release_presence(Connection {
                app: &session.app,
                user: &session.user,
                device: &session.device,
                instance,
                conn_id: conn_id as i64,
            })
            .await
    {
        tracing::warn!(error = %e, "cannot remove presence; retried every heartbeat");
        shared
            .unreleased
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(crate::core::Unreleased {
                app: session.app.clone(),
                user: session.user.clone(),
                device: session.device.clone(),
                conn_id: conn_id as i64,
            });
    }
    tracing::debug!(app = %session.app, user = %session.user, device = %session.device, conn_id, "disconnected");
}

async fn claim_presence(
    shared: &Shared,
    cluster: &crate::relay::Cluster,
    session: &Session,
    conn_id: u64,
) {
    let claimed = shared
        .store
        .claim_presence(
            Connection {
                app: &session.app,
                user: &session.user,
                device: &session.device,
                instance: &cluster.instance,
                conn_id: conn_id as i64,
            },
            now_ms(),
            shared.presence_fresh_since(),
        )
        .await;
    match claimed {
        Ok(Some(old)) if old.instance != cluster.instance => {
            let kick = RelayMessage::Kick {
                app: session.app.clone(),
                user: session.user.clone(),
                device: session.device.clone(),
                conn_id: u64::try_from(old.conn_id).unwrap_or_default(),
            };
            if let Err(e) = cluster.send(&old.instance, &kick).await {
                tracing::warn!(error = %e, "cannot kick the older login on another instance");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot record presence"),
    }
}

async fn welcome(shared: &Shared, session: &Session) -> Utf8Bytes {
    let head = shared.store.head(&session.app, &session.user).await;
    let acked = shared
        .store
        .acked(&session.app, &session.user, &session.device)
        .await;
    let frame = match (head, acked) {
        (Ok(head), Ok(acked)) => ServerFrame::Welcome {
            user: session.user.clone(),
            device: session.device.clone(),
            head,
            acked,
        },
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "cannot read the inbox position for a welcome");
            ServerFrame::Welcome {
                user: session.user.clone(),
                device: session.device.clone(),
                head: -1,
                acked: -1,
            }
        }
    };
    frame.to_text().into()
}

/// Handles one client text frame; answers the frames to send back.
async fn handle(
    shared: &Shared,
    session: &Session,
    conn_id: u64,
    text: Utf8Bytes,
) -> Vec<Utf8Bytes> {
    let reply = |frame: ServerFrame| vec![Utf8Bytes::from(frame.to_text())];
    if text.len() > shared.config.max_frame_bytes {
        return reply(ServerFrame::error(
            "too_large",
            format!(
                "frames are limited to {} bytes",
                shared.config.max_frame_bytes
            ),
            None,
        ));
    }
    let frame: ClientFrame = match serde_json::from_str(text.as_str()) {
        Ok(f) => f,
        Err(e) => {
            return reply(ServerFrame::error(
                "bad_frame",
                format!("malformed frame: {e}"),
                None,
            ));
        }
    };
    match frame {
        ClientFrame::Send {
            id,
            to,
            text,
            title,
            data,
        } => {
            let content = Content { text, title, data };
            reply(send_message(shared, session, conn_id, id, to, content).await)
        }
        ClientFrame::Pull { after, limit } => {
            if after < 0 {
                return reply(ServerFrame::error(
                    "bad_frame",
                    "after must be 0 or more",
                    None,
                ));
            }
            let limit = limit
                .unwrap_or(shared.config.max_pull)
                .clamp(1, shared.config.max_pull);
            let page = shared
                .store
                .pull(&session.app, &session.user, after, limit)
                .await;
            let head = shared.store.head(&session.app, &session.user).await;
            match (page, head) {
                (Ok(page), Ok(head)) => reply(ServerFrame::Pulled {
                    messages: page.messages,
                    more: page.more,
                    head,
                }),
                (Err(e), _) | (_, Err(e)) => reply(unavailable(&e, None)),
            }
        }
        ClientFrame::Ack { seq } => {
            match shared
                .store
                .ack(&session.app, &session.user, &session.device, seq)
                .await
            {
                Ok((seq, unread)) => reply(ServerFrame::Acked { seq, unread }),
                Err(AckError::OutOfRange { head }) => reply(ServerFrame::error(
                    "bad_ack",
                    format!("seq must be between 0 and the inbox head ({head})"),
                    None,
                )),
                Err(AckError::Store(e)) => reply(unavailable(&e, None)),
            }
        }
        ClientFrame::Ping => reply(ServerFrame::Pong),
        ClientFrame::Pong => Vec::new(),
    }
}

async fn send_message(
    shared: &Shared,
    session: &Session,
    conn_id: u64,
    id: String,
    to: crate::protocol::Recipient,
    content: Content,
) -> ServerFrame {
    let bad =
        |message: String, id: &str| ServerFrame::error("bad_frame", message, Some(id.to_string()));
    if let Err(reason) = check_external_id(&id) {
        return ServerFrame::error("bad_frame", format!("id: {reason}"), None);
    }
    if let Err(reason) = check_external_id(to.id()) {
        return bad(format!("to: {reason}"), &id);
    }
    if content.text.is_empty() || content.text.len() > shared.config.max_text_bytes {
        return bad(
            format!("text must be 1 to {} bytes", shared.config.max_text_bytes),
            &id,
        );
    }
    if content
        .title
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TITLE_CHARS)
    {
        return bad(
            format!("title is limited to {MAX_TITLE_CHARS} characters"),
            &id,
        );
    }
    let outgoing = Outgoing {
        app: &session.app,
        sender: &session.user,
        client_msg_id: &id,
        to: &to,
        content: &content,
    };
    let stored = match shared.store.send(&outgoing).await {
        Ok(stored) => stored,
        Err(SendError::NoSuchGroup) => {
            return ServerFrame::error("no_such_group", "no such group", Some(id));
        }
        Err(SendError::NotMember) => {
            return ServerFrame::error(
                "not_a_member",
                "you are not a member of this group",
                Some(id),
            );
        }
        Err(SendError::Store(e)) => return unavailable(&e, Some(id)),
    };
    if stored.duplicate {
        // Its hand-off may never have been queued (a crash right after the store): again.
        if let Err(e) = hand_off_again(shared, &session.app, &session.user, &stored.msg_id).await {
            return unavailable(&e, Some(id));
        }
    } else {
        dispatch(
            shared,
            Outbound {
                app: &session.app,
                sender: &session.user,
                sender_conn: conn_id,
                to: &to,
                content: &content,
                stored: &stored,
            },
        )
        .await;
    }
    ServerFrame::Sent {
        id,
        msg_id: stored.msg_id,
        seq: stored.sender_seq,
        duplicate: stored.duplicate,
    }
}

fn unavailable(e: &push_core::StoreError, id: Option<String>) -> ServerFrame {
    tracing::warn!(error = %e, "online store failed while handling a frame");
    ServerFrame::error("unavailable", "storage unavailable; retry later", id)
}

/// Writes a text frame; false when the socket is gone or stuck.
async fn send(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    write(socket, Message::Text(text)).await
}

async fn write(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn close_with(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}
