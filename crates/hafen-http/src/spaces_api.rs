//! Project spaces in Hafen's JSON API (`/api/v1/spaces/…`): list, create, change and delete
//! spaces, and manage their members in bulk. The rights are the core's (see
//! `hafen_core::SpaceRole` and the core's `spaces` module); this layer only maps JSON.

use crate::api::{authenticated, body_object, int_field, text_field};
use crate::{AppState, DavError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use hafen_core::{RecipientName, ShareRecipient, SpaceMember, SpaceOwner, SpaceRole, SpaceView};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// Most members one request may add or change (a whole organisation is one member).
const MAX_MEMBERS_PER_REQUEST: usize = 20_000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/spaces", get(list_spaces).post(create_space))
        .route("/api/v1/spaces/{space}", get(get_space).patch(update_space).delete(delete_space))
        .route("/api/v1/spaces/{space}/members", get(list_members).post(add_members))
        .route("/api/v1/spaces/{space}/members/{kind}/{member}", delete(remove_member))
}

fn space_json(view: &SpaceView) -> Value {
    json!({
        "name": view.space.name,
        "display_name": view.space.display_name,
        "owner": {"type": if view.space.org.is_some() { "org" } else { "group" }, "name": view.owner_name},
        "quota": view.quota.limit,
        "used": view.quota.used,
        "role": view.role.map(SpaceRole::as_str),
        "may_manage": view.may_manage,
    })
}

fn member_json(member: &SpaceMember) -> Value {
    let kind = match member.recipient {
        ShareRecipient::User(_) => "user",
        ShareRecipient::Group(_) => "group",
        ShareRecipient::Org(_) => "org",
        ShareRecipient::Link => "link",
    };
    json!({"type": kind, "name": member.name, "display_name": member.display_name, "role": member.role.as_str()})
}

fn member_name(kind: &str, name: String) -> Result<RecipientName, DavError> {
    match kind {
        "user" => Ok(RecipientName::User(name)),
        "group" => Ok(RecipientName::Group(name)),
        "org" => Ok(RecipientName::Org(name)),
        other => Err(DavError::BadRequest(format!("unknown member type {other:?}: use user, group or org"))),
    }
}

async fn list_spaces(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let spaces = core.list_spaces(&user).await?;
        Ok(Value::from(spaces.iter().map(space_json).collect::<Vec<_>>()))
    })
    .await
}

async fn create_space(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::CREATED, |user, core| async move {
        let object = body_object(&body)?;
        let name = text_field(&object, "name").unwrap_or_default();
        let display = text_field(&object, "display_name").unwrap_or_default();
        let owner = match (text_field(&object, "org"), text_field(&object, "group")) {
            (Some(org), None) => SpaceOwner::Org(org),
            (None, Some(group)) => SpaceOwner::Group(group),
            _ => return Err(DavError::BadRequest("give the owner as exactly one of org or group".into())),
        };
        let quota = int_field(&object, "quota")?;
        core.create_space(&user, &name, &display, &owner, quota).await?;
        Ok(space_json(&core.space_info(&user, &name).await?))
    })
    .await
}

async fn get_space(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        Ok(space_json(&core.space_info(&user, &space).await?))
    })
    .await
}

async fn update_space(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let object = body_object(&body)?;
        let quota = if object.contains_key("quota") { Some(int_field(&object, "quota")?) } else { None };
        let view = core.update_space(&user, &space, text_field(&object, "display_name"), quota).await?;
        Ok(space_json(&view))
    })
    .await
}

async fn delete_space(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        core.delete_space(&user, &space).await?;
        Ok(Value::Null)
    })
    .await
}

async fn list_members(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let members = core.space_members(&user, &space).await?;
        Ok(Value::from(members.iter().map(member_json).collect::<Vec<_>>()))
    })
    .await
}

/// `POST /api/v1/spaces/{space}/members` with `{"members": [{"type": "user", "name": "…",
/// "role": "editor"}, …]}`: adds them or changes their roles, all in one request.
async fn add_members(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let object = body_object(&body)?;
        let Some(Value::Array(items)) = object.get("members") else {
            return Err(DavError::BadRequest("members must be a list of {type, name, role}".into()));
        };
        if items.len() > MAX_MEMBERS_PER_REQUEST {
            return Err(DavError::BadRequest(format!("at most {MAX_MEMBERS_PER_REQUEST} members per request")));
        }
        let mut members = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(item) = item else {
                return Err(DavError::BadRequest("each member must be an object {type, name, role}".into()));
            };
            let kind = text_field(item, "type").unwrap_or_else(|| "user".into());
            let name = text_field(item, "name").ok_or_else(|| DavError::BadRequest("a member needs a name".into()))?;
            let role = SpaceRole::parse(&text_field(item, "role").unwrap_or_else(|| "editor".into()))?;
            members.push((member_name(&kind, name)?, role));
        }
        let changed = core.set_space_members(&user, &space, &members).await?;
        Ok(json!({"changed": changed}))
    })
    .await
}

async fn remove_member(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((space, kind, member)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        let member = member_name(&kind, member)?;
        core.remove_space_member(&user, &space, &member).await?;
        Ok(Value::Null)
    })
    .await
}
