//! Request count and latency per route, method and status, for `/metrics`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Middleware recording `pushgate_http_requests_total` and
/// `pushgate_http_request_duration_seconds`. The route label is the route template
/// (`/v1/apps/{app}`), never the raw path, so ids do not explode the label set.
pub async fn record(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("route", route),
        ("method", method),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("pushgate_http_requests_total", &labels).increment(1);
    metrics::histogram!("pushgate_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
