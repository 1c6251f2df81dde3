//! Chunked uploads of the Nextcloud clients at `/remote.php/dav/uploads/{user}/{transfer}/`:
//! MKCOL starts a session (with `Destination` for chunking v2, without for the 3.7 desktop
//! client), PUT stores a chunk, PROPFIND lists what arrived (for resuming), DELETE drops a
//! chunk or the session, and `MOVE …/.file` assembles the file at its destination.

use super::conditions::{self, http_date_of};
use super::props::{write_prop, write_response, MULTISTATUS_CLOSE, MULTISTATUS_OPEN};
use super::write::{length_header, upload_answer, upload_options};
use super::xml::{escape_text, PropName};
use super::{empty, ifheader, urls, DavRequest};
use crate::error::{DavError, DavResult};
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use hafen_core::{Core, PutOptions, TreePath, User, ASSEMBLED_NAME};
use percent_encoding::percent_decode_str;
use std::sync::Arc;

pub(crate) const PREFIX: &str = "/remote.php/dav/uploads/";

/// `(transfer, chunk)` named by the URL below the user's upload folder.
pub(crate) struct UploadLocation {
    pub(crate) transfer: Option<String>,
    pub(crate) chunk: Option<String>,
}

fn decode(segment: &str) -> DavResult<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| DavError::BadRequest("upload URLs must be valid UTF-8".into()))
}

pub(crate) fn parse(rest: &str, user: &User) -> DavResult<UploadLocation> {
    let mut segments = rest.split('/').filter(|segment| !segment.is_empty());
    let owner = decode(segments.next().unwrap_or_default())?;
    if owner != user.name {
        return Err(DavError::Forbidden(format!("{} may only access their own uploads", user.name)));
    }
    let transfer = segments.next().map(decode).transpose()?;
    let chunk = segments.next().map(decode).transpose()?;
    if segments.next().is_some() {
        return Err(DavError::Core(hafen_core::CoreError::NotFound("upload folders have no subfolders".into())));
    }
    Ok(UploadLocation { transfer, chunk })
}

fn base_href(user: &User) -> String {
    urls::href(&format!("{PREFIX}{}", user.name), &TreePath::root(), false)
}

/// Handles a request below `/remote.php/dav/uploads/`, already authenticated.
pub(crate) async fn handle(
    core: Arc<Core>,
    user: User,
    method: &Method,
    headers: HeaderMap,
    rest: &str,
    body: Body,
) -> DavResult<Response> {
    let location = parse(rest, &user)?;
    let files_base = urls::href(&format!("/remote.php/dav/files/{}", user.name), &TreePath::root(), false);
    let mut request = DavRequest {
        core,
        viewer: hafen_core::Viewer::Account(user.clone()),
        base: files_base,
        path: TreePath::root(),
        headers,
        tokens: Vec::new(),
    };
    match (method.as_str(), location.transfer, location.chunk) {
        ("MKCOL", Some(transfer), None) => {
            let destination = match request.headers.contains_key("destination") {
                true => Some(urls::parse_destination(&request.headers, &user.name, false)?),
                false => None,
            };
            let total = length_header(&request, "oc-total-length")?;
            request.core.create_upload(&user, &transfer, destination.as_ref(), total).await?;
            Ok(empty(StatusCode::CREATED))
        }
        ("PUT", Some(transfer), Some(chunk)) => {
            let length = length_header(&request, "content-length")?;
            let stream = body.into_data_stream().map(|data| data.map_err(|error| error.to_string()));
            request.core.put_upload_chunk(&user, &transfer, &chunk, stream, length).await?;
            Ok(empty(StatusCode::CREATED))
        }
        ("DELETE", Some(transfer), None) => {
            request.core.delete_upload(&user, &transfer).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        ("DELETE", Some(transfer), Some(chunk)) => {
            request.core.delete_upload_chunk(&user, &transfer, &chunk).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        ("MOVE", Some(transfer), Some(chunk)) if chunk == ASSEMBLED_NAME => {
            let destination = urls::parse_destination(&request.headers, &user.name, false)?;
            // Conditions (If-Match, and the tagged `If` list the desktop client sends) are
            // about the destination file, not the upload.
            request.path = destination.clone();
            request.tokens = ifheader::evaluate(&request).await?;
            let existing = request.core.resolve(&hafen_core::Viewer::Account(user.clone()), &destination).await?;
            conditions::evaluate(&request.headers, existing.as_ref(), false)?;
            let options =
                PutOptions { content_length: length_header(&request, "oc-total-length")?, ..upload_options(&request)? };
            let outcome = request.core.finish_upload(&user, &transfer, &destination, options).await?;
            Ok(upload_answer(&outcome, &request))
        }
        ("PROPFIND", transfer, None) => propfind(&request, transfer.as_deref()).await,
        ("GET" | "HEAD", _, Some(_)) => Err(DavError::Forbidden("chunks of an upload cannot be downloaded".into())),
        _ => Err(DavError::MethodNotAllowed),
    }
}

/// Lists the user's upload sessions, or the chunks of one (plus the virtual `.file`).
async fn propfind(request: &DavRequest, transfer: Option<&str>) -> DavResult<Response> {
    let depth_one = request.headers.get("depth").and_then(|value| value.to_str().ok()).map(str::trim) != Some("0");
    let user = request.viewer.account().ok_or(DavError::Core(hafen_core::CoreError::Unauthorized))?;
    let base = base_href(user);
    let mut out = String::from(MULTISTATUS_OPEN);
    let folder_props = |mtime: i64| {
        let mut found = String::new();
        write_prop(&mut found, &PropName::dav("getlastmodified"), &http_date_of(mtime));
        write_prop(&mut found, &PropName::dav("resourcetype"), "<d:collection/>");
        found
    };
    let file_props = |size: i64, mtime: i64, etag: &str| {
        let mut found = String::new();
        write_prop(&mut found, &PropName::dav("getlastmodified"), &http_date_of(mtime));
        write_prop(&mut found, &PropName::dav("getcontentlength"), &size.to_string());
        write_prop(&mut found, &PropName::dav("resourcetype"), "");
        write_prop(&mut found, &PropName::dav("getetag"), &escape_text(&format!("\"{etag}\"")));
        write_prop(&mut found, &PropName::dav("getcontenttype"), "application/octet-stream");
        found
    };
    match transfer {
        None => {
            write_response(&mut out, &base, &folder_props(hafen_core::unix_now()), "");
            if depth_one {
                for session in request.core.list_uploads(user).await? {
                    let href = urls::href(base.trim_end_matches('/'), &TreePath::from_segments([&session.name])?, true);
                    write_response(&mut out, &href, &folder_props(session.updated_at), "");
                }
            }
        }
        Some(transfer) => {
            let session = request.core.upload_session(user, transfer).await?;
            let folder = TreePath::from_segments([transfer])?;
            let folder_href = urls::href(base.trim_end_matches('/'), &folder, true);
            write_response(&mut out, &folder_href, &folder_props(session.updated_at), "");
            if depth_one {
                let chunks = request.core.upload_chunks(&session).await?;
                let total: i64 = chunks.iter().map(|chunk| chunk.size).sum();
                let assembled = urls::href(base.trim_end_matches('/'), &folder.join(ASSEMBLED_NAME), false);
                let etag = format!("upload-{}-{total}", session.updated_at);
                write_response(&mut out, &assembled, &file_props(total, session.updated_at, &etag), "");
                for chunk in chunks {
                    let href = urls::href(base.trim_end_matches('/'), &folder.join(&chunk.name), false);
                    let etag = format!("chunk-{}-{}", chunk.created_at, chunk.size);
                    write_response(&mut out, &href, &file_props(chunk.size, chunk.created_at, &etag), "");
                }
            }
        }
    }
    out.push_str(MULTISTATUS_CLOSE);
    Ok(super::props::multistatus(out))
}
