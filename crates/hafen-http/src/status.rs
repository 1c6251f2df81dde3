//! `GET /status.php`: the unauthenticated discovery document every Nextcloud client fetches
//! first. The desktop client only requires a JSON object with the key `installed`; the
//! version gates client features (Login Flow v2 from 16, checksum recalculation from 24).

use crate::ocs::{PRODUCT_NAME, VERSION_FULL, VERSION_STRING};
use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/status.php", get(status))
}

async fn status() -> Response {
    // In Nextcloud's field order; the constants need no JSON escaping.
    let body = format!(
        "{{\"installed\":true,\"maintenance\":false,\"needsDbUpgrade\":false,\"version\":\"{VERSION_FULL}\",\
         \"versionstring\":\"{VERSION_STRING}\",\"edition\":\"\",\"productname\":\"{PRODUCT_NAME}\",\"extendedSupport\":false}}"
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
