//! WeChat's callback security (wechat.md §6.2): the SHA-1 signature over the sorted
//! strings, and the "safe mode" AES-256-CBC envelope — key = base64(EncodingAESKey + "="),
//! IV = the key's first 16 bytes, PKCS#7 padding **to 32 bytes** (pad values 1–32, which a
//! standard 16-byte unpadder refuses, so the ciphertext is decrypted unpadded with
//! aws-lc-rs' `DecryptingKey::cbc` and the padding is stripped here), plaintext = 16 random
//! bytes ‖ 4-byte big-endian XML length ‖ XML ‖ AppID.

use aws_lc_rs::cipher::{AES_256, DecryptingKey, DecryptionContext, UnboundCipherKey};
use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use aws_lc_rs::iv::FixedLength;
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use push_core::Secret;
use std::fmt;

/// WeChat's padding block.
const BLOCK: usize = 32;

/// Base64 as WeChat's SDKs decode the EncodingAESKey: padding as given, trailing bits not
/// required to be zero (43 random characters rarely end on a clean boundary).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The keys of an official account's server configuration: the callback `Token` and, for
/// safe mode, the `EncodingAESKey`. `Debug` shows neither.
#[derive(Clone)]
pub(crate) struct ServerKeys {
    token: Secret,
    aes_key: Option<[u8; 32]>,
}

impl fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerKeys")
            .field("aes", &self.aes_key.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerKeys {
    /// Keys from the console values; `encoding_aes_key` is the 43-character text.
    pub fn new(token: &str, encoding_aes_key: Option<&str>) -> Result<Self, String> {
        if token.is_empty() {
            return Err("the server token is empty".to_string());
        }
        let aes_key = encoding_aes_key.map(aes_key).transpose()?;
        Ok(Self {
            token: Secret::new(token),
            aes_key,
        })
    }

    /// Whether `signature` is SHA-1 of the sorted token, timestamp, nonce (and, for
    /// `msg_signature`, the `Encrypt` text); compared in constant time.
    pub fn verify(&self, signature: &str, parts: &[&str]) -> bool {
        let mut all = vec![self.token.expose()];
        all.extend_from_slice(parts);
        let want = sign(&all);
        aws_lc_rs::constant_time::verify_slices_are_equal(
            want.as_bytes(),
            signature.trim().to_ascii_lowercase().as_bytes(),
        )
        .is_ok()
    }

    /// Decrypts an `Encrypt` text, checking the trailing AppID when one is expected.
    pub fn decrypt(&self, encrypted: &str, app_id: Option<&str>) -> Result<String, String> {
        let Some(key) = &self.aes_key else {
            return Err(
                "an encrypted (safe mode) callback, but no EncodingAESKey is configured"
                    .to_string(),
            );
        };
        decrypt(key, encrypted, app_id)
    }
}

/// Lower-case hex SHA-1 of the lexicographically sorted strings, concatenated.
pub(crate) fn sign(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    hex::encode(digest(
        &SHA1_FOR_LEGACY_USE_ONLY,
        sorted.concat().as_bytes(),
    ))
}

/// The AES key: base64(EncodingAESKey + "="), 32 bytes.
pub(crate) fn aes_key(encoding_aes_key: &str) -> Result<[u8; 32], String> {
    let text = encoding_aes_key.trim();
    let bad = || "the EncodingAESKey must be the 43 characters from the console".to_string();
    if text.len() != 43 || !text.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    let bytes = LENIENT.decode(format!("{text}=")).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

fn decrypt(key: &[u8; 32], encrypted: &str, app_id: Option<&str>) -> Result<String, String> {
    let mut data = STANDARD
        .decode(encrypted.trim())
        .map_err(|_| "Encrypt is not base64".to_string())?;
    if data.len() < BLOCK || data.len() % 16 != 0 {
        return Err("Encrypt has a wrong length".to_string());
    }
    let iv: [u8; 16] = key[..16].try_into().map_err(|_| "bad key".to_string())?;
    let unbound = UnboundCipherKey::new(&AES_256, key).map_err(|_| "bad AES key".to_string())?;
    let cipher = DecryptingKey::cbc(unbound).map_err(|_| "bad AES key".to_string())?;
    let plain = cipher
        .decrypt(&mut data, DecryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| "Encrypt does not decrypt".to_string())?;
    let pad = usize::from(*plain.last().unwrap_or(&0));
    if pad == 0
        || pad > BLOCK
        || pad > plain.len()
        || plain[plain.len() - pad..]
            .iter()
            .any(|b| usize::from(*b) != pad)
    {
        return Err("Encrypt does not decrypt (padding; wrong EncodingAESKey?)".to_string());
    }
    let plain = &plain[..plain.len() - pad];
    if plain.len() < 20 {
        return Err("decrypted message too short".to_string());
    }
    let len = u32::from_be_bytes([plain[16], plain[17], plain[18], plain[19]]) as usize;
    let rest = &plain[20..];
    if len > rest.len() {
        return Err("decrypted message length is wrong".to_string());
    }
    let (xml, trailing) = rest.split_at(len);
    if let Some(want) = app_id
        && trailing != want.as_bytes()
    {
        return Err("the encrypted message is for another AppID".to_string());
    }
    String::from_utf8(xml.to_vec()).map_err(|_| "decrypted message is not UTF-8".to_string())
}

/// Encrypts like WeChat (tests: the receiver's round trip).
#[cfg(test)]
pub(crate) fn encrypt(key: &[u8; 32], xml: &str, app_id: &str, random: [u8; 16]) -> String {
    use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext};
    let mut plain = random.to_vec();
    plain.extend_from_slice(&(xml.len() as u32).to_be_bytes());
    plain.extend_from_slice(xml.as_bytes());
    plain.extend_from_slice(app_id.as_bytes());
    let pad = BLOCK - plain.len() % BLOCK;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let iv: [u8; 16] = key[..16].try_into().unwrap();
    let cipher = EncryptingKey::cbc(UnboundCipherKey::new(&AES_256, key).unwrap()).unwrap();
    cipher
        .less_safe_encrypt(&mut plain, EncryptionContext::Iv128(FixedLength::from(iv)))
        .unwrap();
    STANDARD.encode(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WeChat's documented sample key.
    const SAMPLE_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn signature_is_sha1_of_the_sorted_strings() {
        // sorted: "1409659813" < "263014780" < "token"
        let want = hex::encode(digest(
            &SHA1_FOR_LEGACY_USE_ONLY,
            b"1409659813263014780token",
        ));
        assert_eq!(sign(&["token", "1409659813", "263014780"]), want);
        let keys = ServerKeys::new("token", None).unwrap();
        assert!(keys.verify(&want, &["1409659813", "263014780"]));
        assert!(keys.verify(&want.to_ascii_uppercase(), &["1409659813", "263014780"]));
        assert!(!keys.verify(&want, &["1409659814", "263014780"]));
        assert!(!keys.verify("", &["1409659813", "263014780"]));
        assert!(!format!("{keys:?}").contains("token\""));
    }

    #[test]
    fn the_aes_key_is_43_characters_of_base64() {
        let key = aes_key(SAMPLE_KEY).unwrap();
        assert_eq!(key.len(), 32);
        assert!(aes_key("short").is_err());
        assert!(aes_key(&"-".repeat(43)).is_err());
    }

    #[test]
    fn encrypted_messages_round_trip_with_32_byte_padding() {
        let key = aes_key(SAMPLE_KEY).unwrap();
        // Lengths that need pad values above 16, exactly 32, and small ones.
        for n in [0usize, 1, 5, 12, 13, 30, 44, 100] {
            let xml = format!("<xml>{}</xml>", "x".repeat(n));
            let text = encrypt(&key, &xml, "wx00000000000000a1", [7; 16]);
            let keys = ServerKeys::new("t", Some(SAMPLE_KEY)).unwrap();
            assert_eq!(
                keys.decrypt(&text, Some("wx00000000000000a1")).unwrap(),
                xml
            );
            assert_eq!(keys.decrypt(&text, None).unwrap(), xml);
            let err = keys.decrypt(&text, Some("wx00000000000000b2")).unwrap_err();
            assert!(err.contains("another AppID"), "{err}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let keys = ServerKeys::new("t", Some(SAMPLE_KEY)).unwrap();
        for text in [
            "",
            "not base64!",
            "AAAA",
            &STANDARD.encode([0u8; 48]),
            &STANDARD.encode([1u8; 32]),
        ] {
            assert!(keys.decrypt(text, None).is_err(), "{text}");
        }
        let other = aes_key("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq").unwrap();
        let text = encrypt(&other, "<xml/>", "wx1", [0; 16]);
        assert!(keys.decrypt(&text, None).is_err());
        let plain = ServerKeys::new("t", None).unwrap();
        assert!(
            plain
                .decrypt(&text, None)
                .unwrap_err()
                .contains("EncodingAESKey")
        );
    }
}
