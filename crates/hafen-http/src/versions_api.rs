//! File versions in Hafen's JSON API: `GET /api/v1/versions?path=…` lists a file's versions
//! (newest first, the current one marked), `GET /api/v1/versions/{id}?path=…` reads one,
//! `POST /api/v1/versions/{id}/restore` with `{"path": …}` makes it current again.

use crate::api::{authenticated, body_object, text_field};
use crate::{auth, AppState, DavError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hafen_core::{VersionId, Viewer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/versions", get(list))
        .route("/api/v1/versions/{id}", get(content))
        .route("/api/v1/versions/{id}/restore", post(restore))
}

fn path_of(text: Option<&str>) -> Result<hafen_core::TreePath, DavError> {
    let text = text.ok_or_else(|| DavError::BadRequest("path is required".into()))?;
    crate::ocs::tree_path(text)
}

async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let path = path_of(query.get("path").map(String::as_str))?;
        let (_, versions) = core.versions(&Viewer::Account(user), &path).await?;
        Ok(Value::from(
            versions
                .iter()
                .map(|v| {
                    json!({"id": v.id.0, "size": v.size, "created_at": v.created_at, "current": v.is_current,
                           "content_hash": v.content_hash})
                })
                .collect::<Vec<_>>(),
        ))
    })
    .await
}

async fn content(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let client = auth::client_address(peer, &headers, &state.config);
    let result = async {
        let user = auth::authenticate_any(&state.core, &headers, client, true).await?;
        let path = path_of(query.get("path").map(String::as_str))?;
        let content = state.core.open_version(&Viewer::Account(user), &path, VersionId(id)).await?;
        let name = path.name().unwrap_or_default().to_string();
        let response = crate::download::whole_file(content, &name, crate::download::Disposition::Plain, true).await?;
        Ok::<_, DavError>(response)
    };
    result.await.unwrap_or_else(crate::api::error_reply)
}

async fn restore(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let object = body_object(&body)?;
        let path = path_of(text_field(&object, "path").as_deref())?;
        let node = core.restore_version(&Viewer::Account(user), &path, VersionId(id)).await?;
        Ok(json!({"size": node.size, "etag": node.etag, "version": node.version.map(|v| v.0)}))
    })
    .await
}
