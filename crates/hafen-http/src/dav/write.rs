//! Methods that change the tree: PUT, DELETE, MKCOL, COPY, MOVE and PROPPATCH.

use super::conditions::{self, entity_headers};
use super::props::{self, MULTISTATUS_CLOSE, MULTISTATUS_OPEN};
use super::xml::{parse_proppatch, PatchOp, DAV_NS};
use super::{empty, urls, DavRequest};
use crate::error::{DavError, DavResult};
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hafen_core::{CopyOrMove, DeadProp, PropOp, PutOptions};

pub(crate) fn header_text<'a>(request: &'a DavRequest, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim)
}

/// Parses `X-OC-Mtime` (seconds since the epoch, possibly with a fraction).
pub(crate) fn requested_mtime(request: &DavRequest) -> DavResult<Option<i64>> {
    match header_text(request, "x-oc-mtime") {
        None => Ok(None),
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0 && *seconds < 1e11)
            .map(|seconds| Some(seconds as i64))
            .ok_or_else(|| DavError::BadRequest("X-OC-Mtime must be a Unix timestamp in seconds".into())),
    }
}

pub(crate) async fn put(request: &DavRequest, body: Body) -> DavResult<Response> {
    let existing = request.core.resolve(&request.viewer, &request.path).await?;
    conditions::evaluate(&request.headers, existing.as_ref(), false)?;
    let content_length = length_header(request, "content-length")?;
    if let (Some(total), Some(length)) = (length_header(request, "oc-total-length")?, content_length) {
        if total != length {
            return Err(DavError::BadRequest("OC-Total-Length differs from Content-Length".into()));
        }
    }
    let options = PutOptions { content_length, ..upload_options(request)? };
    let stream = body.into_data_stream().map(|chunk| chunk.map_err(|error| error.to_string()));
    let outcome = request.core.put_file(&request.viewer, &request.path, stream, options).await?;
    Ok(upload_answer(&outcome, request))
}

/// A numeric length header, if present.
pub(crate) fn length_header(request: &DavRequest, name: &str) -> DavResult<Option<u64>> {
    match header_text(request, name) {
        Some(text) => {
            Ok(Some(text.parse::<u64>().map_err(|_| DavError::BadRequest(format!("invalid {name} header")))?))
        }
        None => Ok(None),
    }
}

/// The upload options every way of storing a file takes from the request headers.
pub(crate) fn upload_options(request: &DavRequest) -> DavResult<PutOptions> {
    let if_match = header_text(request, "if-match")
        .filter(|value| !value.contains(','))
        .map(|value| value.trim_matches('"').to_string());
    Ok(PutOptions {
        content_length: None,
        mtime: requested_mtime(request)?,
        if_match,
        if_none_match_any: header_text(request, "if-none-match") == Some("*"),
        lock_tokens: request.tokens.clone(),
        checksum: header_text(request, "oc-checksum").map(str::to_string),
    })
}

/// The answer to a stored file: 201 or 204 with the headers the sync clients need.
pub(crate) fn upload_answer(outcome: &hafen_core::PutOutcome, request: &DavRequest) -> Response {
    let mut response = empty(if outcome.created { StatusCode::CREATED } else { StatusCode::NO_CONTENT });
    entity_headers(&mut response, &outcome.node);
    if header_text(request, "x-oc-mtime").is_some() {
        response.headers_mut().insert("x-oc-mtime", HeaderValue::from_static("accepted"));
    }
    response
}

pub(crate) async fn delete(request: &DavRequest) -> DavResult<Response> {
    let node = request.core.stat(&request.viewer, &request.path).await?;
    conditions::evaluate(&request.headers, Some(&node), false)?;
    request.core.delete(&request.viewer, &request.path, &request.tokens).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(crate) async fn mkcol(request: &DavRequest, body: Body) -> DavResult<Response> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        if chunk.map_err(|error| DavError::BadRequest(error.to_string()))?.iter().any(|_| true) {
            return Err(DavError::UnsupportedMediaType("MKCOL with a request body is not supported".into()));
        }
    }
    let folder = request.core.make_folder(&request.viewer, &request.path, &request.tokens).await?;
    let mut response = empty(StatusCode::CREATED);
    entity_headers(&mut response, &folder);
    Ok(response)
}

pub(crate) async fn copy_or_move(request: &DavRequest, is_move: bool) -> DavResult<Response> {
    let destination =
        urls::parse_destination(&request.headers, request.viewer.name(), request.viewer.link().is_some())?;
    let recursive = match header_text(request, "depth") {
        None => true,
        Some(value) if value.eq_ignore_ascii_case("infinity") => true,
        Some("0") if !is_move => false,
        Some(_) => return Err(DavError::BadRequest("Depth must be infinity (or 0 for COPY)".into())),
    };
    let overwrite = match header_text(request, "overwrite") {
        None | Some("T") | Some("t") => true,
        Some("F") | Some("f") => false,
        Some(_) => return Err(DavError::BadRequest("Overwrite must be T or F".into())),
    };
    let node = request.core.stat(&request.viewer, &request.path).await?;
    conditions::evaluate(&request.headers, Some(&node), false)?;
    let mode = CopyOrMove { is_move, recursive, overwrite };
    let created =
        request.core.copy_or_move(&request.viewer, &request.path, &destination, mode, &request.tokens).await?;
    Ok(empty(if created { StatusCode::CREATED } else { StatusCode::NO_CONTENT }))
}

pub(crate) async fn proppatch(request: &DavRequest, body: bytes::Bytes) -> DavResult<Response> {
    let node = request.core.stat(&request.viewer, &request.path).await?;
    conditions::evaluate(&request.headers, Some(&node), false)?;
    let mut ops = parse_proppatch(&body)?;
    // `oc:favorite` is the account's own mark, not a property of the file: it needs only
    // read access and is stored per account (see `Core::set_favorite`).
    let is_favorite = |name: &super::xml::PropName| name.ns == props::OC_NS && name.local == "favorite";
    let favorite_changes: Vec<bool> = ops
        .iter()
        .filter(|op| matches!(op, PatchOp::Set { name, .. } | PatchOp::Remove { name } if is_favorite(name)))
        .map(|op| matches!(op, PatchOp::Set { value, .. } if matches!(value.trim(), "1" | "true")))
        .collect();
    let favorite_name = super::xml::PropName { ns: props::OC_NS.into(), local: "favorite".into() };
    ops.retain(|op| !matches!(op, PatchOp::Set { name, .. } | PatchOp::Remove { name } if is_favorite(name)));
    let is_protected =
        |name: &super::xml::PropName| name.ns == DAV_NS && props::PROTECTED.contains(&name.local.as_str());
    let names: Vec<_> = ops
        .iter()
        .map(|op| match op {
            PatchOp::Set { name, .. } | PatchOp::Remove { name } => name.clone(),
        })
        .collect();
    let refused = names.iter().any(is_protected);
    let mut found = String::new();
    let mut forbidden = String::new();
    let mut failed_dependency = String::new();
    for name in &names {
        if refused {
            if is_protected(name) {
                props::write_prop(&mut forbidden, name, "");
            } else {
                props::write_prop(&mut failed_dependency, name, "");
            }
        } else {
            props::write_prop(&mut found, name, "");
        }
    }
    if let Some(on) = favorite_changes.last() {
        if refused {
            props::write_prop(&mut failed_dependency, &favorite_name, "");
        } else {
            request.core.set_favorite(&request.viewer, &request.path, *on).await?;
            props::write_prop(&mut found, &favorite_name, "");
        }
    }
    if !refused && !ops.is_empty() {
        let core_ops: Vec<PropOp> = ops
            .into_iter()
            .map(|op| match op {
                PatchOp::Set { name, value } => PropOp::Set(DeadProp { ns: name.ns, name: name.local, value }),
                PatchOp::Remove { name } => PropOp::Remove { ns: name.ns, name: name.local },
            })
            .collect();
        request.core.patch_props(&request.viewer, &request.path, &core_ops, &request.tokens).await?;
    }
    let mut out = String::from(MULTISTATUS_OPEN);
    out.push_str("<d:response><d:href>");
    out.push_str(&super::xml::escape(&request.href(&request.path, node.is_dir)));
    out.push_str("</d:href>");
    for (props_xml, status) in
        [(found, "200 OK"), (forbidden, "403 Forbidden"), (failed_dependency, "424 Failed Dependency")]
    {
        if !props_xml.is_empty() {
            out.push_str(&format!(
                "<d:propstat><d:prop>{props_xml}</d:prop><d:status>HTTP/1.1 {status}</d:status></d:propstat>"
            ));
        }
    }
    out.push_str("</d:response>");
    out.push_str(MULTISTATUS_CLOSE);
    Ok((StatusCode::MULTI_STATUS, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], out).into_response())
}
