//! Whole-file downloads shared by every protocol (web pages, link pages, the JSON API, the
//! versions and trash endpoints): the content's verified block stream as the body, with its
//! length, type and, for browsers, an attachment name. Ranged WebDAV GETs live in `dav::read`.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures_util::StreamExt;
use hafen_core::{ByteRange, CoreResult, FileContent};

/// How the browser should treat the download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Save under the file's name (`Content-Disposition: attachment`).
    Attachment,
    /// Leave it to the client (WebDAV and API clients).
    Plain,
}

/// `Content-Disposition` for a download named `name` (RFC 6266 with RFC 5987 encoding).
pub(crate) fn attachment(name: &str) -> Option<HeaderValue> {
    let encoded = percent_encoding::utf8_percent_encode(name, crate::web::QUERY_VALUE);
    HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")).ok()
}

/// The whole of `content`, named `name` (for its type and attachment name); without a body
/// for HEAD. The first block is verified before this returns (see `FileContent::read`).
pub(crate) async fn whole_file(
    content: FileContent,
    name: &str,
    disposition: Disposition,
    with_body: bool,
) -> CoreResult<Response> {
    let size = content.size();
    let body = if with_body {
        let stream = content.read(ByteRange { start: 0, end: size }).await?;
        Body::from_stream(stream.map(|item| item.map_err(std::io::Error::other)))
    } else {
        Body::empty()
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(value) = HeaderValue::from_str(&crate::dav::content_type_of(name)) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if disposition == Disposition::Attachment {
        if let Some(value) = attachment(name) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}
