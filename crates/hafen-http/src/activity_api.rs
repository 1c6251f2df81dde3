//! The activity stream in Hafen's JSON API, `GET /api/v1/activity[?before=ID&kind=a,b&limit=N]`
//! (newest first), and the entry format of Nextcloud's activity OCS endpoint (`ocs/mod.rs`).

use crate::api::authenticated;
use crate::AppState;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hafen_core::Activity;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/activity", get(list))
}

fn rfc3339(seconds: i64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64))
        .to_string()
}

/// One entry as Nextcloud's activity app answers it (what its clients read).
pub(crate) fn nextcloud_json(entry: &Activity, account: &str) -> Value {
    let name = entry.subject.rsplit('/').next().unwrap_or_default();
    json!({
        "activity_id": entry.id,
        "app": if entry.kind.contains("share") || entry.kind.starts_with("link") || entry.kind == "file_drop_upload" { "files_sharing" } else { "files" },
        "type": entry.kind,
        "user": entry.actor,
        "affecteduser": account,
        "subject": format!("{} {}", entry.kind.replace('_', " "), entry.subject),
        "message": "",
        "object_type": "files",
        "object_id": entry.object_id.unwrap_or(0),
        "object_name": name,
        "link": "",
        "icon": "",
        "datetime": rfc3339(entry.created_at),
    })
}

async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let before = query.get("before").and_then(|value| value.parse::<i64>().ok());
        let limit = query.get("limit").and_then(|value| value.parse::<i64>().ok()).unwrap_or(50);
        let kinds: Vec<String> = query
            .get("kind")
            .map(|kinds| kinds.split(',').map(str::trim).filter(|kind| !kind.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        let entries = core.activities(&user, before, &kinds, limit).await?;
        Ok(Value::from(
            entries
                .iter()
                .map(|entry| {
                    json!({"id": entry.id, "kind": entry.kind, "actor": entry.actor, "subject": entry.subject,
                           "object_id": entry.object_id, "created_at": entry.created_at})
                })
                .collect::<Vec<_>>(),
        ))
    })
    .await
}
