//! Entry points for the fuzz targets in `fuzz/` and for the test that replays their corpus
//! (`tests/fuzz_corpus.rs`); not an API. Each function is a thin wrapper that feeds untrusted
//! input to one of the request parsers exactly as a handler would, building the `HeaderMap`,
//! `Node` or `User` the parser needs, and returns its result without changing behaviour.

use crate::dav::{conditions, ifheader, uploads, urls};
use crate::error::{DavError, DavResult};
use crate::ocs::shares;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use hafen_core::{Node, NodeId, TreePath, User, UserId};

pub use crate::dav::xml::{parse_lockinfo, parse_propfind, parse_proppatch};

/// The account the wrappers act as (owner of URLs and uploads).
pub const FUZZ_USER: &str = "alice";
/// The ETag of the file the conditional and range wrappers evaluate against.
pub const FUZZ_ETAG: &str = "fuzz-etag";
/// Its modification time (2023-11-14).
pub const FUZZ_MTIME: i64 = 1_700_000_000;

/// A headers map from name/value pairs; pairs that are no valid header skip, as no HTTP
/// request could carry them.
fn header_map(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(*name), HeaderValue::from_bytes(value)) {
            headers.append(name, value);
        }
    }
    headers
}

fn fuzz_node() -> Node {
    Node {
        id: NodeId(42),
        owner: UserId(1),
        parent: Some(NodeId(1)),
        name: "file.txt".into(),
        is_dir: false,
        size: 0,
        mtime: FUZZ_MTIME,
        ctime: FUZZ_MTIME,
        etag: FUZZ_ETAG.into(),
        version: None,
        checksum: None,
    }
}

fn fuzz_user() -> User {
    User {
        id: UserId(1),
        name: FUZZ_USER.into(),
        display_name: FUZZ_USER.into(),
        email: None,
        password_hash: String::new(),
        quota: None,
        is_admin: false,
        created_at: 0,
        last_failed_login: None,
        org: None,
        org_admin: false,
        is_guest: false,
        invited_by: None,
        is_space: false,
        notify_by_email: false,
        language: String::new(),
        mail_digest: "batched".into(),
    }
}

/// What a request URL path decodes to.
#[derive(Debug)]
pub struct RequestPath {
    pub owner: Option<String>,
    pub public: bool,
    pub path: TreePath,
    /// The href the server writes for this path (as a file) in its answers.
    pub href: String,
}

/// `dav::urls::parse_request_path` on a raw (still percent-encoded) URL path, plus the href
/// the server would write back for the result.
pub fn request_path(raw: &str) -> DavResult<RequestPath> {
    let location = urls::parse_request_path(raw)?;
    let base = location.base(location.owner.as_deref().unwrap_or(FUZZ_USER));
    let href = urls::href(&base, &location.path, false);
    Ok(RequestPath { owner: location.owner, public: location.public, path: location.path, href })
}

/// `dav::urls::parse_destination` with the given `Destination` and `Host` header values.
pub fn destination(value: &[u8], host: &[u8], expected_owner: &str, public: bool) -> DavResult<TreePath> {
    let headers = header_map(&[("destination", value), ("host", host)]);
    urls::parse_destination(&headers, expected_owner, public)
}

/// `TreePath::from_segments` on already decoded segments separated by `/`.
pub fn tree_path(raw: &[u8]) -> DavResult<TreePath> {
    Ok(TreePath::from_segments(raw.split(|byte| *byte == b'/'))?)
}

/// One list of a parsed `If` header.
#[derive(Debug)]
pub struct IfList {
    pub resource: Option<String>,
    /// The tree path the tagged resource URL names, when it names one.
    pub resource_path: Option<TreePath>,
    pub conditions: usize,
}

/// `dav::ifheader::parse`, and the tree path of each tagged list's resource.
pub fn if_header(value: &str) -> DavResult<Vec<IfList>> {
    Ok(ifheader::parse(value)?
        .into_iter()
        .map(|list| IfList {
            resource_path: list.resource.as_deref().and_then(ifheader::resource_path),
            resource: list.resource,
            conditions: list.conditions.len(),
        })
        .collect())
}

/// `dav::conditions::requested_range` for a file of `size` bytes (ETag [`FUZZ_ETAG`],
/// modified at [`FUZZ_MTIME`]), with the given request headers (`range`, `if-range`):
/// `(start, end)` with `end` exclusive.
pub fn range(headers: &[(&str, &[u8])], size: u64) -> DavResult<Option<(u64, u64)>> {
    let node = Node { size: i64::try_from(size).unwrap_or(i64::MAX), ..fuzz_node() };
    Ok(conditions::requested_range(&header_map(headers), &node, size)?.map(|range| (range.start, range.end)))
}

/// `dav::conditions::evaluate` (If-Match, If-None-Match, If-(Un)Modified-Since) against that
/// file, or against an unmapped resource: whether the answer is 304 Not Modified.
pub fn conditional(headers: &[(&str, &[u8])], exists: bool, is_read: bool) -> DavResult<bool> {
    let node = fuzz_node();
    let outcome = conditions::evaluate(&header_map(headers), exists.then_some(&node), is_read)?;
    Ok(outcome == conditions::Outcome::NotModified)
}

/// What an upload URL names.
#[derive(Debug)]
pub struct UploadPath {
    pub transfer: Option<String>,
    pub chunk: Option<String>,
}

/// `dav::uploads::parse` on a URL path (with or without the `/remote.php/dav/uploads/`
/// prefix) for [`FUZZ_USER`], then the name checks the core applies to a new transfer or
/// chunk name (`validate_name`, which `TreePath::from_segments` applies).
pub fn upload_path(raw: &str) -> DavResult<UploadPath> {
    let rest = raw.strip_prefix(uploads::PREFIX).unwrap_or(raw);
    let location = uploads::parse(rest, &fuzz_user())?;
    for name in location.transfer.iter().chain(location.chunk.iter()) {
        TreePath::from_segments([name])?;
    }
    Ok(UploadPath { transfer: location.transfer, chunk: location.chunk })
}

/// The share parameters of an OCS request, read as the share handlers read them.
#[derive(Debug)]
pub struct OcsShareParams {
    pub path: Option<TreePath>,
    pub share_type: Option<i64>,
    pub permissions: Option<i64>,
    pub download_limit: Option<i64>,
    pub expires_at: Option<i64>,
    /// `expiration` as the share JSON shows `expires_at`.
    pub expiration: Option<String>,
    pub public_upload: Option<bool>,
}

/// `ocs::shares::Params::parse` on a query string and a body (form, or JSON when `json`),
/// then the fields of a share creation or update parsed like `create_share` does.
pub fn ocs_params(query: Option<&str>, json: bool, body: &[u8]) -> DavResult<OcsShareParams> {
    let content_type: &[u8] = if json { b"application/json" } else { b"application/x-www-form-urlencoded" };
    let params = shares::Params::parse(query, &header_map(&[("content-type", content_type)]), body)?;
    let path = params.get("path").map(shares::tree_path).transpose()?;
    let expires_at = match params.get("expireDate") {
        Some(date) => shares::parse_expire_date(date)?,
        None => None,
    };
    let expiration = match shares::expiration_text(expires_at) {
        serde_json::Value::String(text) => Some(text),
        _ => None,
    };
    Ok(OcsShareParams {
        path,
        share_type: params.int("shareType")?,
        permissions: params.int("permissions")?,
        download_limit: params.int("downloadLimit")?,
        expires_at,
        expiration,
        public_upload: params.flag("publicUpload"),
    })
}

/// The HTTP status the server answers an error with (every parser error must be a 4xx, or
/// 502 for a `Destination` on another server).
pub fn status(error: &DavError) -> u16 {
    error.status().as_u16()
}
