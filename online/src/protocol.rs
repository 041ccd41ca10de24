//! The WebSocket protocol: JSON text frames, each an object with a `type`
//! (docs/online-protocol.md has the whole protocol with examples).

use serde::{Deserialize, Serialize};

/// Who a message is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// One user (one-to-one).
    User(String),
    /// Every member of a group.
    Group(String),
}

impl Recipient {
    /// `user` or `group`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Recipient::User(_) => "user",
            Recipient::Group(_) => "group",
        }
    }

    /// The user or group id.
    pub fn id(&self) -> &str {
        match self {
            Recipient::User(id) | Recipient::Group(id) => id,
        }
    }

    /// Whether this is a group.
    pub fn is_group(&self) -> bool {
        matches!(self, Recipient::Group(_))
    }
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    /// The text; also the body of an offline push.
    pub text: String,
    /// Title of an offline push; default: the sender's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Application data (any JSON object), delivered as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A frame from the client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Send a message. `id` is the client's message id: a repeat is stored once.
    Send {
        /// Client message id (1–128 of letters, digits, `- _ . : @`).
        id: String,
        /// The recipient.
        to: Recipient,
        /// The text; also the body of an offline push.
        text: String,
        /// Title of an offline push; default: the sender's user id.
        #[serde(default)]
        title: Option<String>,
        /// Application data (any JSON object), delivered as is.
        #[serde(default)]
        data: Option<serde_json::Map<String, serde_json::Value>>,
    },
    /// Messages of the inbox after `after` (exclusive), oldest first, at most `limit`.
    Pull {
        /// Sequence to start after (0 = from the beginning).
        after: i64,
        /// Page size; default and ceiling set by the server.
        #[serde(default)]
        limit: Option<u32>,
    },
    /// This device holds everything up to and including `seq`.
    Ack {
        /// The highest sequence held.
        seq: i64,
    },
    /// Application-level liveness check; answered with `pong`.
    Ping,
    /// Answer to a server `ping` (WebSocket-level pongs count too).
    Pong,
}

/// One inbox entry as sent to clients (`msg` frames and `pulled` pages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxMessage {
    /// The recipient's sequence number.
    pub seq: i64,
    /// The message id (shared by all recipients).
    pub msg_id: String,
    /// Sender user id.
    pub from: String,
    /// Where it was sent.
    pub to: Recipient,
    /// Text, title, data.
    #[serde(flatten)]
    pub content: Content,
    /// Unix milliseconds when it was stored.
    pub ts: i64,
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame of a connection: who you are and where your inbox stands.
    Welcome {
        /// The user.
        user: String,
        /// The device.
        device: String,
        /// The inbox head (highest sequence).
        head: i64,
        /// This device's ack position.
        acked: i64,
    },
    /// The message with client id `id` is stored.
    Sent {
        /// The client's message id.
        id: String,
        /// The message id.
        msg_id: String,
        /// The sender's own sequence for it.
        seq: i64,
        /// True when this client id was seen before (nothing new was stored).
        duplicate: bool,
    },
    /// A new message.
    Msg(InboxMessage),
    /// A page answering `pull`.
    Pulled {
        /// The messages, oldest first.
        messages: Vec<InboxMessage>,
        /// Whether more follow after the last one.
        more: bool,
        /// The inbox head.
        head: i64,
    },
    /// The ack is stored.
    Acked {
        /// This device's ack position now.
        seq: i64,
        /// Unread messages for this device (head − acked).
        unread: i64,
    },
    /// Answer to a client `ping`.
    Pong,
    /// Another login of the same user and device replaced this connection; it closes next.
    Kicked {
        /// Why (`replaced`).
        reason: String,
    },
    /// A frame could not be handled. The connection stays open unless said otherwise.
    Error {
        /// Stable machine-readable code.
        code: String,
        /// For people.
        message: String,
        /// The client message id it concerns, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

impl ServerFrame {
    /// An `error` frame.
    pub fn error(code: &str, message: impl Into<String>, id: Option<String>) -> Self {
        ServerFrame::Error {
            code: code.to_string(),
            message: message.into(),
            id,
        }
    }

    /// The frame as JSON text.
    pub fn to_text(&self) -> String {
        // Serialising these types cannot fail: string keys, no non-finite floats.
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"unserialisable frame"}"#.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_frames_parse() {
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"send","id":"c1","to":{"group":"g1"},"text":"hi","data":{"k":1}}"#,
        )
        .unwrap();
        match f {
            ClientFrame::Send {
                id, to, text, data, ..
            } => {
                assert_eq!(id, "c1");
                assert_eq!(to, Recipient::Group("g1".into()));
                assert_eq!(text, "hi");
                assert!(data.is_some());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_types_and_fields_are_refused() {
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"ack","seq":1,"x":2}"#).is_err());
    }

    #[test]
    fn server_frames_carry_their_type() {
        let text = ServerFrame::Acked { seq: 3, unread: 0 }.to_text();
        assert_eq!(text, r#"{"type":"acked","seq":3,"unread":0}"#);
        let msg = ServerFrame::Msg(InboxMessage {
            seq: 1,
            msg_id: "m".into(),
            from: "a".into(),
            to: Recipient::User("b".into()),
            content: Content {
                text: "t".into(),
                title: None,
                data: None,
            },
            ts: 5,
        });
        assert_eq!(
            msg.to_text(),
            r#"{"type":"msg","seq":1,"msg_id":"m","from":"a","to":{"user":"b"},"text":"t","ts":5}"#
        );
    }
}
