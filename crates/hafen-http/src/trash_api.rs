//! The trash bin in Hafen's JSON API: `GET /api/v1/trash` lists the account's trashed items
//! (most recent first), `POST /api/v1/trash/{id}/restore` puts one back (answering where it
//! now is), `DELETE /api/v1/trash/{id}` deletes one for good, `DELETE /api/v1/trash` empties it.

use crate::api::authenticated;
use crate::AppState;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use hafen_core::TrashItem;
use serde_json::{json, Value};
use std::net::SocketAddr;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/trash", get(list).delete(empty))
        .route("/api/v1/trash/{id}", delete(remove))
        .route("/api/v1/trash/{id}/restore", post(restore))
}

pub(crate) fn item_json(item: &TrashItem) -> Value {
    json!({"id": item.id, "name": item.name, "original_path": item.original_path.to_key(),
           "deleted_at": item.deleted_at, "deleted_by": item.deleted_by, "is_dir": item.node.is_dir,
           "size": item.node.size})
}

async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        Ok(Value::from(core.trash(&user).await?.iter().map(item_json).collect::<Vec<_>>()))
    })
    .await
}

async fn restore(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let path = core.restore_from_trash(&user, &id).await?;
        Ok(json!({"path": path.to_key()}))
    })
    .await
}

async fn remove(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        core.delete_from_trash(&user, &id).await?;
        Ok(Value::Null)
    })
    .await
}

async fn empty(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        core.empty_trash(&user).await?;
        Ok(Value::Null)
    })
    .await
}
