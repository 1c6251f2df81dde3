//! Prometheus metrics at `/metrics` (text exposition format): requests by method and status,
//! latency histograms by method, bytes received and sent, uploads in progress, storage-backend
//! failures (503s) and failed logins (401 to a request that carried credentials). Recorded by
//! one middleware around every route, so no handler has to remember it. Only loopback clients
//! (the local scraper or a sidecar) may read them, unless `HAFEN_METRICS_ALLOW=all`.

use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

type LatencyFamily = Family<MethodLabels, Histogram, fn() -> Histogram>;

/// The server's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    bytes_received: Counter,
    bytes_sent: Counter,
    active_uploads: Gauge,
    store_unavailable: Counter,
    login_failures: Counter,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("hafen");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let (bytes_received, bytes_sent) = (Counter::default(), Counter::default());
        let active_uploads = Gauge::default();
        let (store_unavailable, login_failures) = (Counter::default(), Counter::default());
        registry.register("http_requests", "HTTP requests by method and status", requests.clone());
        registry.register("http_request_duration_seconds", "Time to the response head, by method", latency.clone());
        registry.register("http_received_bytes", "Request body bytes (declared lengths)", bytes_received.clone());
        registry.register("http_sent_bytes", "Response body bytes (declared lengths)", bytes_sent.clone());
        registry.register("active_uploads", "PUT and POST requests in progress", active_uploads.clone());
        registry.register(
            "store_unavailable",
            "Requests refused because a store was unreachable (503)",
            store_unavailable.clone(),
        );
        registry.register(
            "login_failures",
            "Requests with credentials that were refused (401)",
            login_failures.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            bytes_received,
            bytes_sent,
            active_uploads,
            store_unavailable,
            login_failures,
        }
    }
}

/// The method as a label: the ones this server speaks, everything else `OTHER` (so a client
/// cannot create unbounded label values).
fn method_label(method: &Method) -> String {
    const KNOWN: &[&str] = &[
        "GET",
        "HEAD",
        "PUT",
        "POST",
        "DELETE",
        "PATCH",
        "OPTIONS",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
        "REPORT",
    ];
    if KNOWN.contains(&method.as_str()) {
        method.as_str().to_string()
    } else {
        "OTHER".to_string()
    }
}

fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Decrements the upload gauge however the request ends (also when the client goes away and
/// the handler is dropped).
struct UploadInProgress<'a>(&'a Gauge);

impl Drop for UploadInProgress<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The middleware recording every request.
pub(crate) async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let metrics = &state.metrics;
    let method = method_label(request.method());
    let with_credentials = request.headers().contains_key(header::AUTHORIZATION);
    if let Some(length) = declared_length(request.headers()) {
        metrics.bytes_received.inc_by(length);
    }
    let _upload = (request.method() == Method::PUT || request.method() == Method::POST).then(|| {
        metrics.active_uploads.inc();
        UploadInProgress(&metrics.active_uploads)
    });
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.latency.get_or_create(&MethodLabels { method: method.clone() }).observe(started.elapsed().as_secs_f64());
    let status = response.status();
    metrics.requests.get_or_create(&RequestLabels { method, status: status.as_u16() }).inc();
    if let Some(length) = declared_length(response.headers()) {
        metrics.bytes_sent.inc_by(length);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        metrics.store_unavailable.inc();
    }
    if status == StatusCode::UNAUTHORIZED && with_credentials {
        metrics.login_failures.inc();
    }
    response
}

/// `GET /metrics`.
pub(crate) async fn exposition(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    let open_to_all = std::env::var("HAFEN_METRICS_ALLOW").is_ok_and(|value| value == "all");
    if !peer.ip().is_loopback() && !open_to_all {
        return (StatusCode::FORBIDDEN, "metrics are served to loopback clients only\n").into_response();
    }
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry).is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode the metrics\n").into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
