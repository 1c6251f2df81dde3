//! Comments and collaborative tags in Hafen's JSON API:
//! `GET/POST /api/v1/comments?path=…` (list oldest first / add `{"message"}`),
//! `PATCH/DELETE /api/v1/comments/{id}?path=…` (edit one's own / delete);
//! `GET/POST /api/v1/tags` (the organisation's tags / create `{"name", "user_visible",
//! "user_assignable"}`), `DELETE /api/v1/tags/{id}`, `GET /api/v1/tags/items?path=…` (an item's
//! tags) and `PUT/DELETE /api/v1/tags/{id}/items?path=…` (assign / remove).

use crate::api::{authenticated, body_object, text_field};
use crate::{AppState, DavError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, patch, put};
use axum::Router;
use hafen_core::{CommentView, Core, Tag, User, Viewer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/comments", get(list_comments).post(add_comment))
        .route("/api/v1/comments/{id}", patch(edit_comment).delete(delete_comment))
        .route("/api/v1/tags", get(list_tags).post(create_tag))
        .route("/api/v1/tags/items", get(item_tags))
        .route("/api/v1/tags/{id}", axum::routing::delete(delete_tag))
        .route("/api/v1/tags/{id}/items", put(assign_tag).delete(unassign_tag))
}

type Params = Query<HashMap<String, String>>;

fn path_param(query: &HashMap<String, String>) -> Result<hafen_core::TreePath, DavError> {
    let text = query.get("path").ok_or_else(|| DavError::BadRequest("path is required".into()))?;
    crate::ocs::tree_path(text)
}

pub(crate) fn comment_json(comment: &CommentView) -> Value {
    json!({
        "id": comment.id,
        "author": comment.author,
        "author_display_name": comment.author_display_name,
        "message": comment.message,
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
        "mentions": comment.mentions.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
        "own": comment.own,
    })
}

pub(crate) fn tag_json(tag: &Tag, user: &User) -> Value {
    json!({
        "id": tag.id,
        "name": tag.name,
        "user_visible": tag.user_visible,
        "user_assignable": tag.user_assignable,
        "can_assign": Core::can_assign_tag(user, tag),
    })
}

fn message_of(body: &[u8]) -> Result<String, DavError> {
    text_field(&body_object(body)?, "message").ok_or_else(|| DavError::BadRequest("message is required".into()))
}

async fn list_comments(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Params,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let (_, comments) = core.comments(&Viewer::Account(user), &path_param(&query)?).await?;
        Ok(Value::from(comments.iter().map(comment_json).collect::<Vec<_>>()))
    })
    .await
}

async fn add_comment(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::CREATED, |user, core| async move {
        let path = path_param(&query)?;
        let comment = core.add_comment(&Viewer::Account(user), &path, &message_of(&body)?).await?;
        Ok(comment_json(&comment))
    })
    .await
}

async fn edit_comment(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    Query(query): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let path = path_param(&query)?;
        let comment = core.edit_comment(&Viewer::Account(user), &path, id, &message_of(&body)?).await?;
        Ok(comment_json(&comment))
    })
    .await
}

async fn delete_comment(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    Query(query): Params,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        core.delete_comment(&Viewer::Account(user), &path_param(&query)?, id).await?;
        Ok(Value::Null)
    })
    .await
}

async fn list_tags(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let tags = core.tags(&user).await?;
        Ok(Value::from(tags.iter().map(|tag| tag_json(tag, &user)).collect::<Vec<_>>()))
    })
    .await
}

async fn create_tag(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::CREATED, |user, core| async move {
        let object = body_object(&body)?;
        let name = text_field(&object, "name").ok_or_else(|| DavError::BadRequest("name is required".into()))?;
        let flag = |key: &str| object.get(key).and_then(Value::as_bool).unwrap_or(true);
        let tag = core.create_tag(&user, &name, flag("user_visible"), flag("user_assignable")).await?;
        Ok(tag_json(&tag, &user))
    })
    .await
}

async fn delete_tag(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        core.delete_tag(&user, id).await?;
        Ok(Value::Null)
    })
    .await
}

async fn item_tags(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Params,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let (_, tags) = core.item_tags(&Viewer::Account(user.clone()), &path_param(&query)?).await?;
        Ok(Value::from(tags.iter().map(|tag| tag_json(tag, &user)).collect::<Vec<_>>()))
    })
    .await
}

async fn set_item_tag(
    state: AppState,
    peer: SocketAddr,
    id: i64,
    query: HashMap<String, String>,
    headers: HeaderMap,
    assigned: bool,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let changed = core.set_item_tag(&Viewer::Account(user), &path_param(&query)?, id, assigned).await?;
        Ok(json!({"changed": changed}))
    })
    .await
}

async fn assign_tag(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    Query(query): Params,
    headers: HeaderMap,
) -> Response {
    set_item_tag(state, peer, id, query, headers, true).await
}

async fn unassign_tag(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    Query(query): Params,
    headers: HeaderMap,
) -> Response {
    set_item_tag(state, peer, id, query, headers, false).await
}
