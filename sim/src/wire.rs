//! Small HTTP helpers shared by the vendor endpoints: bounded body reading, header capture,
//! response building.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;

/// The response body type of every vendor endpoint.
pub(crate) type Body = Full<Bytes>;

/// A request body read up to a limit.
#[derive(Debug, Default)]
pub(crate) struct ReadBody {
    /// The bytes read (empty when `too_large`).
    pub bytes: Bytes,
    /// The body was longer than the limit.
    pub too_large: bool,
}

/// Reads `body`, at most `limit` bytes. A body cut off by the client reads as empty.
pub(crate) async fn read_body(body: Incoming, limit: usize) -> ReadBody {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => ReadBody {
            bytes: collected.to_bytes(),
            too_large: false,
        },
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => ReadBody {
            bytes: Bytes::new(),
            too_large: true,
        },
        Err(_) => ReadBody::default(),
    }
}

/// Headers as (lowercase name, value) pairs, in order; non-UTF-8 values lossily decoded.
pub(crate) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The HTTP version as text (`HTTP/1.1`, `HTTP/2.0`).
pub(crate) fn version_text(v: http::Version) -> String {
    format!("{v:?}")
}

/// Builds a response; headers whose name or value is not valid HTTP are skipped.
pub(crate) fn response(status: u16, headers: &[(String, String)], body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}
