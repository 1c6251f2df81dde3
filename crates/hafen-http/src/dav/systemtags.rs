//! Nextcloud's collaborative tags: `/remote.php/dav/systemtags/` (PROPFIND lists the tags the
//! account may see, POST of `{"name", "userVisible", "userAssignable"}` creates one — 201 with
//! `Content-Location`, 409 when the name exists —, DELETE `{id}` removes one) and
//! `/remote.php/dav/systemtags-relations/files/{fileid}/` (PROPFIND lists an item's tags, PUT
//! `{tagid}` assigns, DELETE `{tagid}` removes).

use super::props::{collection_props, multistatus, write_prop, write_response, MULTISTATUS_CLOSE, MULTISTATUS_OPEN};
use super::xml::{escape_text, PropName};
use super::{empty, props::OC_NS};
use crate::error::{DavError, DavResult};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hafen_core::{Core, CoreError, NodeId, Tag, User, Viewer};

pub(crate) const TAGS_PREFIX: &str = "/remote.php/dav/systemtags/";
pub(crate) const RELATIONS_PREFIX: &str = "/remote.php/dav/systemtags-relations/files/";

fn not_found(what: &str) -> DavError {
    DavError::Core(CoreError::NotFound(format!("{what} does not exist")))
}

/// The numbers of a URL below a prefix (at most `max` of them).
fn numbers(rest: &str, max: usize) -> DavResult<Vec<i64>> {
    let segments: Vec<&str> = rest.split('/').filter(|segment| !segment.is_empty()).collect();
    if segments.len() > max {
        return Err(not_found("this tag entry"));
    }
    segments.iter().map(|text| text.parse::<i64>().map_err(|_| not_found(&format!("entry {text}")))).collect()
}

fn oc(local: &str) -> PropName {
    PropName { ns: OC_NS.into(), local: local.into() }
}

/// The properties of a tag, as Nextcloud names them.
pub(crate) fn tag_props(tag: &Tag, user: &User) -> String {
    let mut found = String::new();
    let flag = |value: bool| if value { "true" } else { "false" }.to_string();
    for (name, value) in [
        ("id", tag.id.to_string()),
        ("display-name", escape_text(&tag.name)),
        ("user-visible", flag(tag.user_visible)),
        ("user-assignable", flag(tag.user_assignable)),
        ("can-assign", flag(Core::can_assign_tag(user, tag))),
        ("groups", String::new()),
    ] {
        write_prop(&mut found, &oc(name), &value);
    }
    found
}

fn depth_zero(headers: &HeaderMap) -> bool {
    headers.get("depth").and_then(|value| value.to_str().ok()).map(str::trim) == Some("0")
}

/// Handles a request below `/remote.php/dav/systemtags/`, already authenticated.
pub(crate) async fn handle_tags(
    core: &Core,
    user: User,
    method: &Method,
    headers: &HeaderMap,
    rest: &str,
    body: bytes::Bytes,
) -> DavResult<Response> {
    let ids = numbers(rest, 1)?;
    match (method.as_str(), ids.first().copied()) {
        ("PROPFIND", None) => {
            let mut out = String::from(MULTISTATUS_OPEN);
            write_response(&mut out, TAGS_PREFIX, &collection_props(), "");
            if !depth_zero(headers) {
                for tag in core.tags(&user).await? {
                    write_response(&mut out, &format!("{TAGS_PREFIX}{}", tag.id), &tag_props(&tag, &user), "");
                }
            }
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("PROPFIND", Some(id)) => {
            let tag = core.tag(&user, id).await?;
            let mut out = String::from(MULTISTATUS_OPEN);
            write_response(&mut out, &format!("{TAGS_PREFIX}{id}"), &tag_props(&tag, &user), "");
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("POST", None) => {
            let request: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|error| DavError::BadRequest(format!("a tag is a JSON object: {error}")))?;
            let name = request
                .get("name")
                .and_then(|name| name.as_str())
                .ok_or_else(|| DavError::BadRequest("a tag needs a \"name\"".into()))?;
            let flag = |key: &str| request.get(key).and_then(|value| value.as_bool()).unwrap_or(true);
            let tag = core.create_tag(&user, name, flag("userVisible"), flag("userAssignable")).await?;
            Ok((
                StatusCode::CREATED,
                [(header::CONTENT_LOCATION, format!("{TAGS_PREFIX}{}", tag.id)), (header::CONTENT_LENGTH, "0".into())],
            )
                .into_response())
        }
        ("DELETE", Some(id)) => {
            core.delete_tag(&user, id).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        _ => Err(DavError::MethodNotAllowed),
    }
}

/// Handles a request below `/remote.php/dav/systemtags-relations/files/`, already authenticated.
pub(crate) async fn handle_relations(
    core: &Core,
    user: User,
    method: &Method,
    headers: &HeaderMap,
    rest: &str,
) -> DavResult<Response> {
    let ids = numbers(rest, 2)?;
    let Some(file) = ids.first().copied().map(NodeId) else {
        return match method.as_str() {
            "PROPFIND" => {
                let mut out = String::from(MULTISTATUS_OPEN);
                write_response(&mut out, RELATIONS_PREFIX, &collection_props(), "");
                out.push_str(MULTISTATUS_CLOSE);
                Ok(multistatus(out))
            }
            _ => Err(DavError::MethodNotAllowed),
        };
    };
    let path = core.view_path_of(&user, file).await?;
    let viewer = Viewer::Account(user.clone());
    let base = format!("{RELATIONS_PREFIX}{}", file.0);
    match (method.as_str(), ids.get(1).copied()) {
        ("PROPFIND", None) => {
            let (_, tags) = core.item_tags(&viewer, &path).await?;
            let mut out = String::from(MULTISTATUS_OPEN);
            write_response(&mut out, &format!("{base}/"), &collection_props(), "");
            if !depth_zero(headers) {
                for tag in &tags {
                    write_response(&mut out, &format!("{base}/{}", tag.id), &tag_props(tag, &user), "");
                }
            }
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("PUT", Some(tag)) => {
            if core.set_item_tag(&viewer, &path, tag, true).await? {
                Ok(empty(StatusCode::CREATED))
            } else {
                Err(DavError::Core(CoreError::Conflict("the tag is assigned already".into())))
            }
        }
        ("DELETE", Some(tag)) => {
            if core.set_item_tag(&viewer, &path, tag, false).await? {
                Ok(empty(StatusCode::NO_CONTENT))
            } else {
                Err(not_found("this tag assignment"))
            }
        }
        _ => Err(DavError::MethodNotAllowed),
    }
}
