//! HTTP conditional requests (RFC 9110 §13: If-Match, If-None-Match, If-Modified-Since,
//! If-Unmodified-Since) and byte ranges (RFC 9110 §14).

use crate::error::{DavError, DavResult};
use axum::http::{header, HeaderMap};
use hafen_core::{ByteRange, CoreError, Node};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The quoted strong entity tag of a node.
pub(crate) fn etag_header(node: &Node) -> String {
    format!("\"{}\"", node.etag)
}

/// Nextcloud's instance id, appended to padded file ids to form `oc:id` / `OC-FileId`.
pub(crate) const INSTANCE_ID: &str = "ochafen00001";

/// The `oc:id` / `OC-FileId` form of a file id.
pub(crate) fn oc_id(node: &Node) -> String {
    format!("{:08}{INSTANCE_ID}", node.id.0)
}

/// Headers every answer about a file or folder carries: ETag (also as OC-ETag, which the
/// Nextcloud clients prefer), Last-Modified, OC-FileId and the stored OC-Checksum.
pub(crate) fn entity_headers(response: &mut axum::response::Response, node: &Node) {
    use axum::http::HeaderValue;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag_header(node)) {
        headers.insert(header::ETAG, value.clone());
        headers.insert("oc-etag", value);
    }
    if let Ok(value) = HeaderValue::from_str(&http_date_of(node.mtime)) {
        headers.insert(header::LAST_MODIFIED, value);
    }
    if let Ok(value) = HeaderValue::from_str(&oc_id(node)) {
        headers.insert("oc-fileid", value);
    }
    if let Some(checksum) = node.checksum.as_deref().and_then(|checksum| HeaderValue::from_str(checksum).ok()) {
        headers.insert("oc-checksum", checksum);
    }
}

/// What to do after evaluating the conditional headers.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Proceed,
    NotModified,
}

fn tags(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|tag| !tag.is_empty())
}

fn strong_match(tag: &str, node: &Node) -> bool {
    !tag.starts_with("W/") && tag.trim_matches('"') == node.etag
}

fn weak_match(tag: &str, node: &Node) -> bool {
    tag.trim_start_matches("W/").trim_matches('"') == node.etag
}

fn http_date(headers: &HeaderMap, name: header::HeaderName) -> Option<i64> {
    let value = headers.get(name)?.to_str().ok()?;
    let time = httpdate::parse_http_date(value).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64)
}

/// Evaluates the conditional headers against the current resource (`None` when unmapped).
pub(crate) fn evaluate(headers: &HeaderMap, node: Option<&Node>, is_read: bool) -> DavResult<Outcome> {
    let failed = |what: &str| {
        Err(DavError::Core(CoreError::PreconditionFailed(format!("{what} does not match the current state"))))
    };
    if let Some(value) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        let matched = match node {
            None => false,
            Some(_) if value.trim() == "*" => true,
            Some(node) => tags(value).any(|tag| strong_match(tag, node)),
        };
        if !matched {
            return failed("If-Match");
        }
    } else if let (Some(since), Some(node)) = (http_date(headers, header::IF_UNMODIFIED_SINCE), node) {
        if node.mtime > since {
            return failed("If-Unmodified-Since");
        }
    }
    if let Some(value) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let matched = match node {
            None => false,
            Some(_) if value.trim() == "*" => true,
            Some(node) => tags(value).any(|tag| weak_match(tag, node)),
        };
        if matched {
            return if is_read { Ok(Outcome::NotModified) } else { failed("If-None-Match") };
        }
    } else if let (true, Some(since), Some(node)) = (is_read, http_date(headers, header::IF_MODIFIED_SINCE), node) {
        if node.mtime <= since {
            return Ok(Outcome::NotModified);
        }
    }
    Ok(Outcome::Proceed)
}

/// The single byte range to serve: `Ok(None)` for the whole file (no Range header, a
/// multi-range request, or an If-Range that no longer matches).
pub(crate) fn requested_range(headers: &HeaderMap, node: &Node, size: u64) -> DavResult<Option<ByteRange>> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if let Some(if_range) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        if !strong_match(if_range.trim(), node)
            && httpdate::parse_http_date(if_range).map_or(true, |date| {
                date.duration_since(UNIX_EPOCH).map_or(true, |d| (d.as_secs() as i64) < node.mtime)
            })
        {
            return Ok(None);
        }
    }
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(DavError::RangeNotSatisfiable(size))?;
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        let suffix: u64 = last.parse().map_err(|_| DavError::RangeNotSatisfiable(size))?;
        if suffix == 0 {
            return Err(DavError::RangeNotSatisfiable(size));
        }
        ByteRange { start: size.saturating_sub(suffix), end: size }
    } else {
        let start: u64 = first.parse().map_err(|_| DavError::RangeNotSatisfiable(size))?;
        let end = if last.is_empty() {
            size
        } else {
            last.parse::<u64>().map_err(|_| DavError::RangeNotSatisfiable(size))?.saturating_add(1).min(size)
        };
        ByteRange { start, end }
    };
    if range.start >= size || range.start >= range.end {
        return Err(DavError::RangeNotSatisfiable(size));
    }
    Ok(Some(range))
}

/// `Last-Modified` value of a node.
pub(crate) fn http_date_of(seconds: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64))
}

/// RFC 3339 form for `creationdate`.
pub(crate) fn rfc3339_of(seconds: i64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64)).to_string()
}
