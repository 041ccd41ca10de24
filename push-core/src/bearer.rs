//! Reading `Authorization: Bearer <token>`, shared by every route that takes a token.

/// The token of an `Authorization` header value `Bearer <token>`: the scheme matched without
/// regard to case (RFC 9110 §11.1: `bearer …` is the same scheme), the token trimmed;
/// `None` for another scheme or an empty token.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    Some(token.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_matched_without_regard_to_case() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc ", "bEaReR abc"] {
            assert_eq!(bearer_token(header), Some("abc"), "{header:?}");
        }
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_none() {
        for header in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearer   ",
            "Bearerabc",
            "",
            "abc",
        ] {
            assert_eq!(bearer_token(header), None, "{header:?}");
        }
    }
}
