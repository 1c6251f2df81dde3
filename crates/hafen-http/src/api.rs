//! Hafen's own JSON API (`/api/v1/…`), HTTP Basic authenticated: for now the account's app
//! passwords, listed and revocable by their owner.

use crate::auth;
use crate::{AppState, DavError};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use hafen_core::{CoreError, User};
use serde_json::json;
use std::net::SocketAddr;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/app-passwords", get(list_app_passwords))
        .route("/api/v1/app-passwords/{id}", delete(revoke_app_password))
}

fn json_reply(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error as `{"error": message}` with the status `error.rs` assigns to it; internal
/// details are logged only.
fn error_reply(error: DavError) -> Response {
    let status = error.status();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(%error, "API request failed");
    }
    let mut response = json_reply(status, json!({"error": error.public_message()}).to_string());
    let headers = response.headers_mut();
    match error {
        DavError::Core(CoreError::Unauthorized) => {
            headers
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Hafen\", charset=\"UTF-8\""));
        }
        DavError::Core(CoreError::Throttled { retry_after_secs }) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        _ => {}
    }
    response
}

async fn user(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<User, Response> {
    let client = auth::client_address(peer, headers, &state.config);
    auth::authenticate(&state.core, headers, client).await.map_err(error_reply)
}

/// `GET /api/v1/app-passwords`: `[{"id", "label", "created_at", "last_used"}]` (Unix seconds).
async fn list_app_passwords(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let user = match user(&state, peer, &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    match state.core.list_app_passwords(&user).await {
        Ok(passwords) => {
            let items: Vec<_> = passwords
                .iter()
                .map(|password| {
                    json!({
                        "id": password.id,
                        "label": password.label,
                        "created_at": password.created_at,
                        "last_used": password.last_used,
                    })
                })
                .collect();
            json_reply(StatusCode::OK, serde_json::Value::from(items).to_string())
        }
        Err(error) => error_reply(error.into()),
    }
}

/// `DELETE /api/v1/app-passwords/{id}`: 204, or 404 when the account has no such password.
async fn revoke_app_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let user = match user(&state, peer, &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i64>() else {
        return error_reply(DavError::Core(CoreError::NotFound(format!("app password {id} not found"))));
    };
    match state.core.revoke_app_password(&user, id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error_reply(error.into()),
    }
}
