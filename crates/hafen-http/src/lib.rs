//! Protocol layer of Hafen: turns HTTP requests into calls of the domain core and core
//! results into HTTP responses. WebDAV lives in `dav`; later protocols (Nextcloud OCS,
//! JSON API, web UI) get their own modules. This crate depends on `hafen-core` only: it
//! cannot touch SQL or files.

mod activity_api;
mod api;
mod auth;
mod collab_api;
pub mod dav;
mod download;
mod drain;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod i18n;
mod login_flow;
mod metrics;
mod ocs;
mod public_pages;
mod spaces_api;
mod status;
mod trash_api;
mod versions_api;
mod web;
mod zip_download;

pub use error::{DavError, DavResult};

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hafen_core::Core;
use std::net::IpAddr;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// Settings of the HTTP layer.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// E-mail address for accessibility feedback, named by the accessibility statement.
    pub accessibility_contact: String,
    /// This server terminates TLS itself (`serve --tls-cert/--tls-key`): every response carries
    /// HSTS, and cookies are `Secure`. Off when a reverse proxy terminates TLS (it sets HSTS,
    /// and `X-Forwarded-Proto` from a trusted proxy says the connection is secure).
    pub tls: bool,
    /// Administration actions of the web interface need a password entered this recently
    /// (seconds; `None`: 15 minutes); older sessions are sent to log in again first.
    pub admin_reauth_secs: Option<i64>,
}

/// HSTS for one year (no `includeSubDomains`: other hosts of the domain are not ours to pin).
const HSTS: &str = "max-age=31536000";

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub config: Arc<HttpConfig>,
    pub metrics: Arc<metrics::Metrics>,
}

/// The complete HTTP application.
pub fn router(core: Arc<Core>, config: HttpConfig) -> Router {
    let tls = config.tls;
    let state = AppState { core, config: Arc::new(config), metrics: Arc::default() };
    let security_headers: [(HeaderName, &'static str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
    ];
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::exposition))
        .merge(status::routes())
        .merge(ocs::routes())
        .merge(login_flow::routes())
        .merge(api::routes())
        .merge(spaces_api::routes())
        .merge(versions_api::routes())
        .merge(collab_api::routes())
        .merge(trash_api::routes())
        .merge(activity_api::routes())
        .merge(public_pages::routes())
        .merge(web::routes())
        // WebDAV paths are parsed by hand (per-segment decoding), so they go to the fallback.
        .fallback(dav::handle)
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .with_state(state);
    for (name, value) in security_headers {
        app = app.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    if tls {
        // Overriding, not if-not-present: no handler gets to weaken the policy.
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ));
    }
    app
}

/// Runs each handler in a task of its own, so a client that goes away does not cancel it
/// halfway: hyper drops the request future on a disconnect, and a handler dropped between two
/// store calls (the trash's copy and remove, a chunked upload's assembly) would leave a state
/// no request asked for. A request body the handler still reads ends with an error then, so an
/// abandoned upload stops at its next read and commits nothing.
async fn run_to_completion(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "request handler failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.core.health().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
    }
}
