//! LOCK and UNLOCK (RFC 4918 §9.10–9.11): request parsing and the lockdiscovery answer.
//! The lock rules themselves are in the core.

use super::props;
use super::xml::parse_lockinfo;
use super::{empty, DavRequest};
use crate::error::{DavError, DavResult};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hafen_core::{Lock, LockRequest};

/// Parses `Timeout: Second-N` / `Infinite` (the first understood value wins).
fn requested_timeout(request: &DavRequest) -> Option<i64> {
    let value = request.headers.get("timeout")?.to_str().ok()?;
    value.split(',').map(str::trim).find_map(|part| {
        if part.eq_ignore_ascii_case("infinite") {
            Some(i64::MAX)
        } else {
            part.strip_prefix("Second-").and_then(|seconds| seconds.parse::<i64>().ok())
        }
    })
}

fn lock_answer(request: &DavRequest, lock: &Lock, status: StatusCode, with_token_header: bool) -> Response {
    let path = hafen_core::TreePath::from_key(&lock.path);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:prop xmlns:d=\"DAV:\"><d:lockdiscovery>{}</d:lockdiscovery></d:prop>\n",
        props::lockdiscovery(std::slice::from_ref(lock), &path, &request.base)
    );
    let mut response = (status, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], body).into_response();
    if with_token_header {
        if let Ok(value) = HeaderValue::from_str(&format!("<{}>", lock.token)) {
            response.headers_mut().insert("lock-token", value);
        }
    }
    response
}

pub(crate) async fn lock(request: &DavRequest, body: bytes::Bytes) -> DavResult<Response> {
    let timeout = requested_timeout(request);
    let Some(info) = parse_lockinfo(&body)? else {
        let lock = request.core.refresh_lock(&request.viewer, &request.path, &request.tokens, timeout).await?;
        return Ok(lock_answer(request, &lock, StatusCode::OK, false));
    };
    let depth_infinite = match request.headers.get("depth").and_then(|value| value.to_str().ok()).map(str::trim) {
        None => true,
        Some(value) if value.eq_ignore_ascii_case("infinity") => true,
        Some("0") => false,
        Some(_) => return Err(DavError::BadRequest("LOCK Depth must be 0 or infinity".into())),
    };
    let lock_request =
        LockRequest { exclusive: info.exclusive, depth_infinite, owner_xml: info.owner_xml, timeout_secs: timeout };
    let result = request.core.lock(&request.viewer, &request.path, lock_request, &request.tokens).await?;
    let status = if result.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(lock_answer(request, &result.lock, status, true))
}

pub(crate) async fn unlock(request: &DavRequest) -> DavResult<Response> {
    let token = request
        .headers
        .get("lock-token")
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        .ok_or_else(|| DavError::BadRequest("UNLOCK needs a Lock-Token header".into()))?;
    request.core.stat(&request.viewer, &request.path).await?;
    request.core.unlock(&request.viewer, &request.path, &token).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
