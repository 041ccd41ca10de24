//! An app's callback secrets ([`CallbackSecrets`]): Xiaomi, OPPO, vivo and Honor sign
//! nothing, so their callback URL carries an unguessable segment
//! (`/v1/callbacks/{vendor}/{app}/{token}`); Huawei signs with a key the tenant enters in
//! AppGallery Connect and WeChat with a server Token and an EncodingAESKey. pushgate makes
//! all of them, one set per app, on first request; they can be rotated.

use push_core::Secret;
use push_core::adapter::CallbackSecrets;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// New secrets: a 32-character token (WeChat allows 3–32 letters and digits; ~190 bits) and
/// a 43-character AES key (WeChat's EncodingAESKey format).
pub fn generate() -> Result<CallbackSecrets, aws_lc_rs::error::Unspecified> {
    Ok(CallbackSecrets {
        token: Secret::new(alphanumeric(32)?),
        aes_key: Secret::new(alphanumeric(43)?),
    })
}

/// `len` random letters and digits, without modulo bias.
fn alphanumeric(len: usize) -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut out = String::with_capacity(len);
    let mut bytes = [0u8; 64];
    while out.len() < len {
        aws_lc_rs::rand::fill(&mut bytes)?;
        // 248 = 4 × 62: bytes at or above it would favour the first letters.
        for b in bytes.iter().filter(|b| **b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(
                ALPHANUMERIC[usize::from(*b) % ALPHANUMERIC.len()],
            ));
        }
    }
    Ok(out)
}

/// Whether `given` is the stored token, compared in constant time.
pub fn matches(stored: &str, given: &str) -> bool {
    stored.len() == given.len()
        && aws_lc_rs::constant_time::verify_slices_are_equal(stored.as_bytes(), given.as_bytes())
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_letters_and_digits_of_wechat_lengths() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.token.expose().len(), 32);
        assert_eq!(a.aes_key.expose().len(), 43);
        for s in [a.token.expose(), a.aes_key.expose()] {
            assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()), "{s}");
        }
        assert_ne!(a.token.expose(), b.token.expose());
        let t = a.token.expose();
        assert!(matches(t, t));
        assert!(!matches(t, b.token.expose()));
        assert!(!matches(t, &t[..31]));
        assert!(!matches(t, ""));
    }
}
