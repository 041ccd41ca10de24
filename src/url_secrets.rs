//! Passwords in connection URLs (databases, brokers): shown redacted, and scrubbed from
//! driver messages that might echo them.

/// Decodes `%XX` escapes.
pub(crate) fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the SQLite path is not valid UTF-8".to_string())
}

/// `url` with its password (userinfo or `password=` parameter) replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let mut out = match main.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => authority.to_string(),
                },
                None => authority.to_string(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => main.to_string(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// The passwords in `url`, as written and percent-decoded.
pub(crate) fn passwords(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    if let Some((_, rest)) = main.split_once("://") {
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            found.push(password.to_string());
        }
    }
    for p in query.unwrap_or("").split('&') {
        if let Some((k, v)) = p.split_once('=')
            && k.eq_ignore_ascii_case("password")
        {
            found.push(v.to_string());
        }
    }
    let decoded: Vec<String> = found
        .iter()
        .filter_map(|p| percent_decode(p).ok())
        .collect();
    found.extend(decoded);
    found.retain(|p| !p.is_empty());
    found
}

/// `message` with every password of `url` replaced by `***`, in case a driver echoed it.
pub(crate) fn scrub(message: &str, url: &str) -> String {
    passwords(url)
        .iter()
        .fold(message.to_string(), |m, p| m.replace(p.as_str(), "***"))
}
