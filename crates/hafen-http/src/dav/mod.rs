//! WebDAV (RFC 4918 class 1 and 2, RFC 4331 quotas) at `/remote.php/dav/files/{user}/` and
//! the legacy `/remote.php/webdav/`.
//!
//! `handle` authenticates, turns the URL into a validated `TreePath`, evaluates the `If`
//! header and dispatches on the method to one handler per method. Handlers parse headers
//! and bodies, call the core and render the answer; they hold no rules of their own about
//! the tree, locks or quotas.

mod comments;
pub(crate) mod conditions;
pub(crate) mod ifheader;
mod lock;
mod props;
mod read;
mod systemtags;
mod trashbin;
pub(crate) mod uploads;
pub(crate) mod urls;
mod versions;
mod write;
pub mod xml;

use crate::auth;
use crate::error::{DavError, DavResult};
use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hafen_core::{Core, CoreError, TreePath, Viewer};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest XML request body accepted (PROPFIND, PROPPATCH, LOCK).
const MAX_XML_BODY: usize = 1024 * 1024;

/// Everything a method handler needs about the request.
pub(crate) struct DavRequest {
    pub core: Arc<Core>,
    /// The account, or the public link, the request acts as.
    pub viewer: Viewer,
    /// URL prefix of the user's tree, without trailing slash (e.g. `/remote.php/dav/files/alice`).
    pub base: String,
    pub path: TreePath,
    pub headers: HeaderMap,
    /// Lock tokens submitted in the `If` header.
    pub tokens: Vec<String>,
}

impl DavRequest {
    /// The href of a path in this tree.
    pub fn href(&self, path: &TreePath, is_dir: bool) -> String {
        urls::href(&self.base, path, is_dir)
    }
}

/// Entry point for every WebDAV request.
pub async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let chunked = request.headers().contains_key(header::TRANSFER_ENCODING);
    // Scripts of the web interface must not make the browser pop up its Basic login dialog
    // when their session has ended (Nextcloud's clients send the same header).
    let from_script = request.headers().contains_key(crate::auth::CSRF_HEADER)
        || request.headers().get("x-requested-with").is_some_and(|value| value == "XMLHttpRequest");
    let request = request.map(crate::drain::DrainOnDrop::wrap);
    match handle_request(state, peer, request).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = error.into_response();
            if from_script {
                response.headers_mut().remove(header::WWW_AUTHENTICATE);
            }
            if chunked || declared_length.is_some_and(|length| length > crate::drain::DRAIN_LIMIT) {
                // An unread body that will not be drained: the connection cannot be reused, so
                // say so rather than let the client send its next request into a closing socket.
                response.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
            }
            response
        }
    }
}

async fn handle_request(state: AppState, peer: SocketAddr, request: Request) -> DavResult<Response> {
    let method = request.method().clone();
    if method == Method::OPTIONS {
        return Ok(read::options());
    }
    let client = auth::client_address(peer, request.headers(), &state.config);
    if request.uri().path().starts_with(urls::PUBLIC_PREFIX) {
        let location = urls::parse_request_path(request.uri().path())?;
        let token = location.owner.clone().unwrap_or_default();
        let password = auth::basic_credentials(request.headers()).map(|(_, secret)| secret);
        let viewer = state.core.open_link(&token, password.as_deref(), client).await?;
        let (parts, body) = request.into_parts();
        let mut dav = DavRequest {
            core: state.core.clone(),
            base: location.base(&token),
            viewer,
            path: location.path,
            headers: parts.headers,
            tokens: Vec::new(),
        };
        dav.tokens = ifheader::evaluate(&dav).await?;
        return dispatch(&dav, &method, body).await;
    }
    if !request.uri().path().starts_with("/remote.php/") {
        return Err(DavError::Core(CoreError::NotFound("nothing here".into())));
    }
    let safe = method == Method::GET || method == Method::HEAD;
    let user = auth::authenticate_any(&state.core, request.headers(), client, safe).await?;
    if let Some(rest) = request.uri().path().strip_prefix(trashbin::PREFIX) {
        let rest = rest.to_string();
        return trashbin::handle(&state.core, user, &method, request.headers(), &rest).await;
    }
    if let Some(rest) = request.uri().path().strip_prefix(versions::PREFIX) {
        let rest = rest.to_string();
        return versions::handle(&state.core, user, &method, request.headers(), &rest).await;
    }
    let path = request.uri().path().to_string();
    if let Some(rest) = path.strip_prefix(comments::PREFIX) {
        let (parts, body) = request.into_parts();
        let body = read_xml_body(body).await?;
        return comments::handle(&state.core, user, &method, &parts.headers, rest, body).await;
    }
    if let Some(rest) = path
        .strip_prefix(systemtags::TAGS_PREFIX)
        .or_else(|| (path == systemtags::TAGS_PREFIX.trim_end_matches('/')).then_some(""))
    {
        let (parts, body) = request.into_parts();
        let body = read_xml_body(body).await?;
        return systemtags::handle_tags(&state.core, user, &method, &parts.headers, rest, body).await;
    }
    if let Some(rest) = path.strip_prefix(systemtags::RELATIONS_PREFIX) {
        return systemtags::handle_relations(&state.core, user, &method, request.headers(), rest).await;
    }
    if let Some(rest) = request.uri().path().strip_prefix(uploads::PREFIX) {
        let rest = rest.to_string();
        let (parts, body) = request.into_parts();
        return uploads::handle(state.core.clone(), user, &method, parts.headers, &rest, body).await;
    }
    let location = urls::parse_request_path(request.uri().path())?;
    if location.public {
        return Err(DavError::Core(CoreError::NotFound("no WebDAV tree at this URL".into())));
    }
    if let Some(owner) = &location.owner {
        if owner != &user.name {
            return Err(DavError::Forbidden(format!("{} may only access their own files", user.name)));
        }
    }
    let (parts, body) = request.into_parts();
    let mut dav = DavRequest {
        core: state.core.clone(),
        base: location.base(&user.name),
        viewer: Viewer::Account(user),
        path: location.path,
        headers: parts.headers,
        tokens: Vec::new(),
    };
    dav.tokens = ifheader::evaluate(&dav).await?;
    dispatch(&dav, &method, body).await
}

async fn dispatch(dav: &DavRequest, method: &Method, body: Body) -> DavResult<Response> {
    match method.as_str() {
        "GET" => read::get(dav, true).await,
        "HEAD" => read::get(dav, false).await,
        "PROPFIND" => read::propfind(dav, read_xml_body(body).await?).await,
        "REPORT" => read::report(dav, read_xml_body(body).await?).await,
        "PUT" => write::put(dav, body).await,
        "DELETE" => write::delete(dav).await,
        "MKCOL" => write::mkcol(dav, body).await,
        "COPY" => write::copy_or_move(dav, false).await,
        "MOVE" => write::copy_or_move(dav, true).await,
        "PROPPATCH" => write::proppatch(dav, read_xml_body(body).await?).await,
        "LOCK" => lock::lock(dav, read_xml_body(body).await?).await,
        "UNLOCK" => lock::unlock(dav).await,
        _ => Err(DavError::MethodNotAllowed),
    }
}

/// Reads a request body meant to hold XML, refusing more than `MAX_XML_BODY` bytes.
async fn read_xml_body(body: Body) -> DavResult<bytes::Bytes> {
    axum::body::to_bytes(body, MAX_XML_BODY).await.map_err(|error| {
        let too_large =
            std::error::Error::source(&error).is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            DavError::PayloadTooLarge(format!("XML request bodies are limited to {MAX_XML_BODY} bytes"))
        } else {
            DavError::BadRequest(format!("the request body could not be read: {error}"))
        }
    })
}

/// The media type a file name suggests.
pub(crate) fn content_type_of(name: &str) -> String {
    props::content_type(name)
}

/// A response with a status and no body.
pub(crate) fn empty(status: StatusCode) -> Response {
    (status, [(header::CONTENT_LENGTH, "0")]).into_response()
}
