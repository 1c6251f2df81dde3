//! Read-only methods: OPTIONS, GET/HEAD (ranges, conditional requests) and PROPFIND.

use super::conditions::{self, entity_headers, Outcome};
use super::props::{self, PropContext};
use super::xml::{parse_propfind, parse_report, PropName, PropfindRequest, ReportRequest};
use super::{empty, DavRequest};
use crate::error::{DavError, DavResult};
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hafen_core::{ByteRange, Entry};

const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK";

pub(crate) fn options() -> Response {
    (
        StatusCode::OK,
        [
            (header::ALLOW, ALLOW),
            (header::HeaderName::from_static("dav"), "1, 2"),
            (header::HeaderName::from_static("ms-author-via"), "DAV"),
            (header::CONTENT_LENGTH, "0"),
        ],
    )
        .into_response()
}

pub(crate) async fn get(request: &DavRequest, with_body: bool) -> DavResult<Response> {
    let node = request.core.stat(&request.viewer, &request.path).await?;
    if conditions::evaluate(&request.headers, Some(&node), true)? == Outcome::NotModified {
        let mut response = empty(StatusCode::NOT_MODIFIED);
        entity_headers(&mut response, &node);
        return Ok(response);
    }
    if node.is_dir {
        let mut response = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This is a WebDAV folder of Hafen: open it with a WebDAV or Nextcloud client.\n",
        )
            .into_response();
        entity_headers(&mut response, &node);
        return Ok(response);
    }
    let content = request.core.open_file(node.clone()).await?;
    let size = content.size();
    let range = conditions::requested_range(&request.headers, &node, size)?;
    let (status, served) = match range {
        Some(range) => (StatusCode::PARTIAL_CONTENT, range),
        None => (StatusCode::OK, ByteRange { start: 0, end: size }),
    };
    if with_body && served.start == 0 {
        // A public link's download limit counts downloads from the start (a resumed range
        // is the same download continuing).
        if let Some(grant) = request.viewer.link() {
            request.core.count_link_download(grant).await?;
        }
    }
    let body = if with_body {
        // The first block is verified before the status line is sent; a later corrupt block
        // aborts the connection, so wrong bytes are never delivered as complete.
        let stream = content.read(served).await?;
        Body::from_stream(stream.map(|item| item.map_err(std::io::Error::other)))
    } else {
        Body::empty()
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    entity_headers(&mut response, &node);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(served.end - served.start));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(&props::content_type(&node.name)) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", served.start, served.end - 1)) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

pub(crate) async fn propfind(request: &DavRequest, body: bytes::Bytes) -> DavResult<Response> {
    let depth = match request.headers.get("depth").and_then(|value| value.to_str().ok()).map(str::trim) {
        Some("0") => 0,
        Some("1") | None => 1,
        Some(other) if other.eq_ignore_ascii_case("infinity") => {
            return Err(DavError::Precondition {
                status: StatusCode::FORBIDDEN,
                element: "propfind-finite-depth",
                message: "PROPFIND with Depth: infinity is not supported; use Depth 0 or 1".into(),
            })
        }
        Some(_) => return Err(DavError::BadRequest("the Depth header must be 0, 1 or infinity".into())),
    };
    let what = parse_propfind(&body)?;
    let listing = request.core.listing(&request.viewer, &request.path, depth == 1).await?;
    let extras = Extras::load(request, &what, &listing.entries).await?;
    let context = extras.context(request, &listing);
    // About 600 bytes per entry with the sync client's properties: allocate once.
    let mut out = String::with_capacity(props::MULTISTATUS_OPEN.len() + 640 * listing.entries.len());
    out.push_str(props::MULTISTATUS_OPEN);
    let mut scratch = Scratch::default();
    for entry in &listing.entries {
        describe(request, entry, &what, extras.dead_of(entry), &context, &mut scratch, &mut out);
    }
    out.push_str(props::MULTISTATUS_CLOSE);
    Ok((StatusCode::MULTI_STATUS, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], out).into_response())
}

/// What some live properties need beyond the listing, loaded only when asked for.
#[derive(Default)]
struct Extras {
    /// Clients' dead properties of every entry (one query for the whole listing).
    dead: std::collections::HashMap<hafen_core::NodeId, Vec<hafen_core::DeadProp>>,
    favorites: std::collections::HashSet<hafen_core::NodeId>,
    comment_counts: std::collections::HashMap<hafen_core::NodeId, i64>,
    tags: std::collections::HashMap<hafen_core::NodeId, Vec<hafen_core::Tag>>,
}

impl Extras {
    fn dead_of(&self, entry: &Entry) -> &[hafen_core::DeadProp] {
        self.dead.get(&entry.node.id).map(Vec::as_slice).unwrap_or_default()
    }

    async fn load(request: &DavRequest, what: &PropfindRequest, entries: &[Entry]) -> DavResult<Extras> {
        let ids: Vec<hafen_core::NodeId> = entries.iter().map(|entry| entry.node.id).collect();
        let core = &request.core;
        let needs_dead = match what {
            PropfindRequest::Props(names) => names.iter().any(|name| !props::is_live(name)),
            _ => true,
        };
        let mut extras = Extras::default();
        if needs_dead {
            extras.dead = core.dead_props_of(&ids).await?;
        }
        let (hafen_core::Viewer::Account(user), PropfindRequest::Props(names)) = (&request.viewer, what) else {
            return Ok(extras);
        };
        if props::asks_for(names, props::OC_NS, "favorite") {
            extras.favorites = core.favorites(user).await?;
        }
        if props::asks_for(names, props::OC_NS, "comments-count") {
            extras.comment_counts = core.comment_counts(&ids).await?;
        }
        if props::asks_for(names, props::NC_NS, "system-tags") {
            extras.tags = core.node_tags(user, &ids).await?;
        }
        Ok(extras)
    }

    fn context<'a>(&'a self, request: &'a DavRequest, listing: &'a hafen_core::Listing) -> PropContext<'a> {
        PropContext {
            favorites: &self.favorites,
            comment_counts: &self.comment_counts,
            tags: &self.tags,
            viewer: request.viewer.account(),
            base: &request.base,
            owner: &listing.owner.name,
            owner_display_name: &listing.owner.display_name,
            quota: listing.quota,
            locks: &listing.locks,
        }
    }
}

/// `REPORT oc:filter-files` (Nextcloud's favourites and tag views): the items at or below the
/// request path that are favourites of the account and/or carry all the given tags.
pub(crate) async fn report(request: &DavRequest, body: bytes::Bytes) -> DavResult<Response> {
    let hafen_core::Viewer::Account(user) = &request.viewer else {
        return Err(DavError::Forbidden("reports need an account".into()));
    };
    let ReportRequest::FilterFiles { props: what, favorite, tags } = parse_report(&body)? else {
        return Err(DavError::BadRequest("files answer only oc:filter-files".into()));
    };
    let core = &request.core;
    let mut selected: Option<Vec<hafen_core::TreePath>> =
        if favorite { Some(core.favorite_paths(user).await?) } else { None };
    for tag in tags {
        let tagged = core.tagged_paths(user, tag).await?;
        selected = Some(match selected {
            Some(found) => found.into_iter().filter(|path| tagged.contains(path)).collect(),
            None => tagged,
        });
    }
    let below = request.path.to_key();
    let mut out = String::from(props::MULTISTATUS_OPEN);
    let mut scratch = Scratch::default();
    for path in selected.unwrap_or_default() {
        let key = path.to_key();
        if !(request.path.is_root() || key == below || key.starts_with(&format!("{below}/"))) {
            continue;
        }
        let listing = match core.listing(&request.viewer, &path, false).await {
            Ok(listing) => listing,
            Err(hafen_core::CoreError::NotFound(_)) => continue,
            Err(error) => return Err(error.into()),
        };
        let extras = Extras::load(request, &what, &listing.entries).await?;
        let context = extras.context(request, &listing);
        for entry in &listing.entries {
            describe(request, entry, &what, extras.dead_of(entry), &context, &mut scratch, &mut out);
        }
    }
    out.push_str(props::MULTISTATUS_CLOSE);
    Ok((StatusCode::MULTI_STATUS, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], out).into_response())
}

/// Buffers reused for every entry of a listing.
#[derive(Default)]
struct Scratch {
    found: String,
    missing: String,
}

/// Appends the `<d:response>` of one resource (`dead`: its dead properties, when asked for).
fn describe(
    request: &DavRequest,
    entry: &Entry,
    what: &PropfindRequest,
    dead: &[hafen_core::DeadProp],
    context: &PropContext<'_>,
    scratch: &mut Scratch,
    out: &mut String,
) {
    let (node, path) = (&entry.node, &entry.path);
    let Scratch { found, missing } = scratch;
    found.clear();
    missing.clear();
    match what {
        PropfindRequest::Props(names) => {
            for name in names {
                if let Some(prop) = props::find_dead(dead, name) {
                    props::write_prop(found, name, &prop.value);
                } else if let Some(value) = props::live_value(name, entry, context) {
                    props::write_prop(found, name, &value);
                } else {
                    props::write_prop(missing, name, "");
                }
            }
        }
        PropfindRequest::AllProp { include } => {
            let mut names: Vec<PropName> = props::ALLPROP_LIVE.iter().map(|local| PropName::dav(local)).collect();
            names.extend(include.iter().cloned());
            for name in &names {
                if props::find_dead(dead, name).is_some() {
                    continue;
                }
                if let Some(value) = props::live_value(name, entry, context) {
                    props::write_prop(found, name, &value);
                }
            }
            for prop in dead {
                props::write_prop(found, &PropName { ns: prop.ns.clone(), local: prop.name.clone() }, &prop.value);
            }
        }
        PropfindRequest::PropName => {
            for local in props::ALLPROP_LIVE {
                let name = PropName::dav(local);
                if props::live_value(&name, entry, context).is_some() {
                    props::write_prop(found, &name, "");
                }
            }
            for prop in dead {
                props::write_prop(found, &PropName { ns: prop.ns.clone(), local: prop.name.clone() }, "");
            }
        }
    }
    props::write_response(out, &request.href(path, node.is_dir), found, missing);
}
