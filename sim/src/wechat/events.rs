//! `TEMPLATESENDJOBFINISH` events (wechat.md §6): after an accepted template message the
//! sim POSTs the XML event to the official account's server URL, signed with `signature` /
//! `timestamp` / `nonce` (SHA-1 of the sorted token, timestamp, nonce), in plain, safe
//! (`<Encrypt>` only, `encrypt_type=aes`, `msg_signature` over the sorted token, timestamp,
//! nonce and `Encrypt`) or compatible mode. The encryption is WeChat's: AES-256-CBC, key =
//! base64(EncodingAESKey + "="), IV = its first 16 bytes, PKCS#7 padding to 32 bytes,
//! plaintext = 16 random bytes ‖ 4-byte big-endian length ‖ XML ‖ AppID. WeChat waits
//! `reply_timeout_ms` (5 s) for an empty or `success` reply and tries three times in all.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use aws_lc_rs::iv::FixedLength;
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

use crate::callbacks::CallbackPoster;
use crate::clock::SimClock;
use crate::control::types::{ControlError, WechatEventMode, WechatEventPost, WechatEventSpec};
use crate::record::lock;

/// Attempts per event (WeChat: three).
pub(crate) const ATTEMPTS: u32 = 3;

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The AES key of an EncodingAESKey.
pub(crate) fn aes_key(encoding_aes_key: &str) -> Option<[u8; 32]> {
    if encoding_aes_key.len() != 43 || !encoding_aes_key.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    LENIENT
        .decode(format!("{encoding_aes_key}="))
        .ok()?
        .try_into()
        .ok()
}

/// Hex SHA-1 of the sorted strings, concatenated.
pub(crate) fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let d = digest(&SHA1_FOR_LEGACY_USE_ONLY, sorted.concat().as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// WeChat's encryption of `xml` for `app_id`.
pub(crate) fn encrypt(key: &[u8; 32], xml: &str, app_id: &str) -> Option<String> {
    let random: [u8; 16] = *uuid::Uuid::new_v4().as_bytes();
    let mut plain = random.to_vec();
    plain.extend_from_slice(&u32::try_from(xml.len()).ok()?.to_be_bytes());
    plain.extend_from_slice(xml.as_bytes());
    plain.extend_from_slice(app_id.as_bytes());
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(u8::try_from(pad).ok()?, pad));
    let iv: [u8; 16] = key[..16].try_into().ok()?;
    let cipher = EncryptingKey::cbc(UnboundCipherKey::new(&AES_256, key).ok()?).ok()?;
    cipher
        .less_safe_encrypt(&mut plain, EncryptionContext::Iv128(FixedLength::from(iv)))
        .ok()?;
    Some(STANDARD.encode(plain))
}

/// One event to post.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// The account's original id.
    pub original_id: String,
    /// The openid.
    pub openid: String,
    /// `MsgID`.
    pub msg_id: u64,
    /// `Status`.
    pub status: String,
}

/// The plain XML of an event at `create_time`.
pub(crate) fn event_xml(e: &Event, create_time: i64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{}</MsgID><Status><![CDATA[{}]]></Status></xml>",
        e.original_id, e.openid, e.msg_id, e.status
    )
}

/// Server configurations and the log of posted events.
#[derive(Debug, Default)]
pub(crate) struct EventHub {
    specs: Mutex<Vec<WechatEventSpec>>,
    sent: Arc<Mutex<Vec<WechatEventPost>>>,
    generation: Arc<AtomicU64>,
}

impl EventHub {
    /// Adds or replaces the server configuration of an account.
    pub(crate) fn add(&self, spec: &WechatEventSpec) -> Result<(), ControlError> {
        let url = url::Url::parse(&spec.url).map_err(|e| ControlError::new(format!("url: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ControlError::new("url must be http or https"));
        }
        if !(3..=32).contains(&spec.token.len())
            || !spec.token.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(ControlError::new("token must be 3-32 letters and digits"));
        }
        match (&spec.encoding_aes_key, spec.mode) {
            (Some(k), _) if aes_key(k).is_none() => {
                return Err(ControlError::new(
                    "encoding_aes_key must be 43 letters and digits",
                ));
            }
            (None, WechatEventMode::Safe | WechatEventMode::Compatible) => {
                return Err(ControlError::new(
                    "safe and compatible modes need encoding_aes_key",
                ));
            }
            _ => {}
        }
        let mut specs = lock(&self.specs);
        specs.retain(|s| s.app_id != spec.app_id);
        specs.push(spec.clone());
        Ok(())
    }

    /// Removes an account's configuration; true if there was one.
    pub(crate) fn remove(&self, app_id: &str) -> bool {
        let mut specs = lock(&self.specs);
        let before = specs.len();
        specs.retain(|s| s.app_id != app_id);
        specs.len() != before
    }

    /// The configuration of an account.
    pub(crate) fn spec(&self, app_id: &str) -> Option<WechatEventSpec> {
        lock(&self.specs)
            .iter()
            .find(|s| s.app_id == app_id)
            .cloned()
    }

    /// Posted events, oldest first.
    pub(crate) fn sent(&self) -> Vec<WechatEventPost> {
        lock(&self.sent).clone()
    }

    /// Forgets configurations and the log; pending events are dropped.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        lock(&self.specs).clear();
        lock(&self.sent).clear();
    }
}

/// Posts events in the background.
#[derive(Clone, Debug)]
pub(crate) struct EventSender {
    callbacks: CallbackPoster,
    clock: SimClock,
}

impl EventSender {
    /// A sender posting through the sim's callback poster, stamping with `clock`'s time.
    pub(crate) fn new(callbacks: CallbackPoster, clock: SimClock) -> Self {
        EventSender { callbacks, clock }
    }

    /// Schedules the event of one accepted template message.
    pub(crate) fn schedule(
        &self,
        hub: &EventHub,
        spec: WechatEventSpec,
        app_id: String,
        event: Event,
    ) {
        let this = self.clone();
        let log = hub.sent.clone();
        let generation = hub.generation.clone();
        let at = generation.load(Ordering::Relaxed);
        self.callbacks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(spec.delay_ms)).await;
            for _ in 0..if spec.duplicate { 2 } else { 1 } {
                if generation.load(Ordering::Relaxed) != at {
                    return;
                }
                let post = this.post(&spec, &app_id, &event).await;
                if generation.load(Ordering::Relaxed) == at {
                    lock(&log).push(post);
                }
            }
        });
    }

    async fn post(&self, spec: &WechatEventSpec, app_id: &str, event: &Event) -> WechatEventPost {
        let create_time = self.clock.now_secs();
        let xml = event_xml(event, create_time);
        let mut record = WechatEventPost {
            app_id: app_id.to_string(),
            url: spec.url.clone(),
            msg_id: event.msg_id,
            openid: event.openid.clone(),
            status: event.status.clone(),
            mode: spec.mode,
            xml: xml.clone(),
            attempts: 0,
            http_status: None,
            reply: None,
            delivered: false,
        };
        let key = spec.encoding_aes_key.as_deref().and_then(aes_key);
        for _ in 0..ATTEMPTS {
            record.attempts += 1;
            let timestamp = self.clock.now_secs().to_string();
            let nonce = (uuid::Uuid::new_v4().as_u128() % 10_000_000_000).to_string();
            let mut query = vec![
                (
                    "signature".to_string(),
                    signature(&[&spec.token, &timestamp, &nonce]),
                ),
                ("timestamp".to_string(), timestamp.clone()),
                ("nonce".to_string(), nonce.clone()),
                ("openid".to_string(), event.openid.clone()),
            ];
            let body = match (spec.mode, key.as_ref()) {
                (WechatEventMode::Plain, _) | (_, None) => xml.clone(),
                (mode, Some(key)) => {
                    let encrypted = encrypt(key, &xml, app_id).unwrap_or_default();
                    query.push(("encrypt_type".into(), "aes".into()));
                    query.push((
                        "msg_signature".into(),
                        signature(&[&spec.token, &timestamp, &nonce, &encrypted]),
                    ));
                    if mode == WechatEventMode::Safe {
                        format!(
                            "<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>",
                            event.original_id
                        )
                    } else {
                        xml.replace(
                            "</xml>",
                            &format!("<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"),
                        )
                    }
                }
            };
            let mut url = match url::Url::parse(&spec.url) {
                Ok(u) => u,
                Err(_) => break,
            };
            url.query_pairs_mut().extend_pairs(&query);
            let request = self
                .callbacks
                .client()
                .post(url)
                .header("content-type", "text/xml")
                .timeout(Duration::from_millis(spec.reply_timeout_ms))
                .body(body);
            match request.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    record.http_status = Some(status.as_u16());
                    let text = resp.text().await.unwrap_or_default();
                    let ok = status.is_success() && (text.is_empty() || text == "success");
                    record.reply = Some(text);
                    if ok {
                        record.delivered = true;
                        break;
                    }
                }
                Err(e) => {
                    record.http_status = None;
                    record.reply = None;
                    tracing::debug!(url = %spec.url, error = %e, "wechat event post failed");
                }
            }
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::cipher::{DecryptingKey, DecryptionContext};

    #[test]
    fn encrypted_events_decrypt_with_32_byte_padding_and_end_with_the_app_id() {
        let key = aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        let xml = "<xml><MsgID>1</MsgID></xml>";
        let text = encrypt(&key, xml, "wx00000000000000a1").unwrap();
        let mut data = STANDARD.decode(text).unwrap();
        assert_eq!(data.len() % 32, 0);
        let iv: [u8; 16] = key[..16].try_into().unwrap();
        let d = DecryptingKey::cbc(UnboundCipherKey::new(&AES_256, &key).unwrap()).unwrap();
        let plain = d
            .decrypt(&mut data, DecryptionContext::Iv128(FixedLength::from(iv)))
            .unwrap();
        let pad = *plain.last().unwrap() as usize;
        assert!((1..=32).contains(&pad));
        let plain = &plain[..plain.len() - pad];
        let len = u32::from_be_bytes(plain[16..20].try_into().unwrap()) as usize;
        assert_eq!(&plain[20..20 + len], xml.as_bytes());
        assert_eq!(&plain[20 + len..], b"wx00000000000000a1");
    }

    #[test]
    fn signatures_sort_before_hashing() {
        assert_eq!(signature(&["b", "a", "c"]), signature(&["a", "b", "c"]));
        assert_eq!(
            signature(&["abc"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
