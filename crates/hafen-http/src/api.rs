//! Hafen's own JSON API (`/api/v1/…`), HTTP Basic authenticated: app passwords; shares and
//! public links; organisations, groups, accounts and guest invitations (with the core's
//! administration rights); notifications. Bodies are JSON objects; errors are
//! `{"error": message}` with the status `error.rs` assigns.

use crate::auth;
use crate::{AppState, DavError};
use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::Router;
use hafen_core::{Core, CoreError, NewAccount, NewShare, RecipientName, ShareUpdate, User};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/app-passwords", get(list_app_passwords))
        .route("/api/v1/app-passwords/{id}", delete(revoke_app_password))
        .route("/api/v1/shares", get(list_shares).post(create_share))
        .route("/api/v1/shares/{id}", get(get_share).patch(update_share).delete(delete_share))
        .route("/api/v1/orgs", get(list_orgs).post(create_org))
        .route("/api/v1/groups", get(list_groups).post(create_group))
        .route("/api/v1/groups/{group}/members/{user}", put(add_member).delete(remove_member))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{name}", delete(delete_user))
        .route("/api/v1/guests", axum::routing::post(invite_guest))
        .route("/api/v1/notifications", get(list_notifications))
        .route("/api/v1/me", get(get_me).patch(update_me))
}

/// The JSON object of a request body.
pub(crate) fn body_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, DavError> {
    let bad = DavError::BadRequest;
    if body.is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(bad("the body must be a JSON object".into())),
        Err(error) => Err(bad(format!("the body is not valid JSON: {error}"))),
    }
}

pub(crate) fn text_field(object: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

pub(crate) fn int_field(object: &serde_json::Map<String, Value>, key: &str) -> Result<Option<i64>, DavError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            value.as_i64().map(Some).ok_or_else(|| DavError::BadRequest(format!("{key} must be a whole number")))
        }
    }
}

pub(crate) fn bool_field(object: &serde_json::Map<String, Value>, key: &str) -> Option<bool> {
    object.get(key).and_then(Value::as_bool)
}

/// Runs an authenticated JSON action and renders its result (`status` on success).
pub(crate) async fn authenticated<F, Fut>(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    status: StatusCode,
    action: F,
) -> Response
where
    F: FnOnce(User, Arc<Core>) -> Fut,
    Fut: std::future::Future<Output = Result<Value, DavError>>,
{
    let user = match user(state, peer, headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    match action(user, state.core.clone()).await {
        Ok(Value::Null) => StatusCode::NO_CONTENT.into_response(),
        Ok(value) => json_reply(status, value.to_string()),
        Err(error) => error_reply(error),
    }
}

fn org_json(org: &hafen_core::Organisation, used: i64) -> Value {
    json!({"name": org.name, "display_name": org.display_name, "quota": org.quota, "used": used,
           "link_password_required": org.link_password_required, "link_max_expiry_days": org.link_max_expiry_days})
}

fn user_json(user: &User) -> Value {
    json!({"name": user.name, "display_name": user.display_name, "email": user.email, "quota": user.quota,
           "is_admin": user.is_admin, "org_admin": user.org_admin, "is_guest": user.is_guest})
}

async fn list_shares(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let views = if query.get("shared_with_me").is_some_and(|value| value == "true") {
            core.shares_with(&user).await
        } else {
            match query.get("path") {
                Some(path) => match crate::ocs::tree_path(path) {
                    Ok(path) => core.shares_by(&user, Some(&path)).await,
                    Err(error) => return Err(error),
                },
                None => core.shares_by(&user, None).await,
            }
        }?;
        Ok(Value::from(views.iter().map(|view| crate::ocs::share_json(view, core.public_url())).collect::<Vec<_>>()))
    })
    .await
}

async fn create_share(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::CREATED, |user, core| async move {
        let object = body_object(&body)?;
        let path = crate::ocs::tree_path(&text_field(&object, "path").unwrap_or_default())?;
        let with = text_field(&object, "with").unwrap_or_default();
        let recipient = match text_field(&object, "type").as_deref() {
            Some("user") => RecipientName::User(with),
            Some("group") => RecipientName::Group(with),
            Some("org") => RecipientName::Org(with),
            Some("link") => RecipientName::Link,
            _ => return Err(DavError::BadRequest("type must be user, group, org or link".into())),
        };
        let new = NewShare {
            recipient,
            permissions: int_field(&object, "permissions")?,
            password: text_field(&object, "password").filter(|password| !password.is_empty()),
            expires_at: int_field(&object, "expires_at")?,
            download_limit: int_field(&object, "download_limit")?,
            label: text_field(&object, "label").unwrap_or_default(),
            note: text_field(&object, "note").unwrap_or_default(),
            hide_download: bool_field(&object, "hide_download").unwrap_or(false),
        };
        let view = core.create_share(&user, &path, new).await?;
        Ok(crate::ocs::share_json(&view, core.public_url()))
    })
    .await
}

fn share_id(id: &str) -> Result<i64, DavError> {
    id.parse::<i64>().map_err(|_| DavError::Core(CoreError::NotFound(format!("share {id} not found"))))
}

async fn get_share(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let view = core.get_share(&user, share_id(&id)?).await?;
        Ok(crate::ocs::share_json(&view, core.public_url()))
    })
    .await
}

async fn update_share(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let object = body_object(&body)?;
        let optional_int = |key: &str| -> Result<Option<Option<i64>>, DavError> {
            if object.contains_key(key) {
                Ok(Some(int_field(&object, key)?))
            } else {
                Ok(None)
            }
        };
        let update = ShareUpdate {
            permissions: int_field(&object, "permissions")?,
            password: object.contains_key("password").then(|| text_field(&object, "password")),
            expires_at: optional_int("expires_at")?,
            download_limit: optional_int("download_limit")?,
            label: text_field(&object, "label"),
            note: text_field(&object, "note"),
            hide_download: bool_field(&object, "hide_download"),
        };
        let view = core.update_share(&user, share_id(&id)?, update).await?;
        Ok(crate::ocs::share_json(&view, core.public_url()))
    })
    .await
}

async fn delete_share(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        core.delete_share(&user, share_id(&id)?).await?;
        Ok(Value::Null)
    })
    .await
}

async fn list_orgs(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let mut items = Vec::new();
        for org in core.list_orgs(&user).await? {
            let used = core.org_used_bytes(&org).await?;
            items.push(org_json(&org, used));
        }
        Ok(Value::from(items))
    })
    .await
}

async fn create_org(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::CREATED, |user, core| async move {
        let object = body_object(&body)?;
        let name = text_field(&object, "name").unwrap_or_default();
        let display = text_field(&object, "display_name").unwrap_or_default();
        let org = core.create_org(&user, &name, &display, int_field(&object, "quota")?).await?;
        Ok(org_json(&org, 0))
    })
    .await
}

async fn list_groups(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let groups = core.list_groups(&user).await?;
        Ok(Value::from(
            groups
                .iter()
                .map(|group| json!({"name": group.name, "display_name": group.display_name, "project": group.org.is_none()}))
                .collect::<Vec<_>>(),
        ))
    })
    .await
}

async fn create_group(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::CREATED, |user, core| async move {
        let object = body_object(&body)?;
        let name = text_field(&object, "name").unwrap_or_default();
        let display = text_field(&object, "display_name").unwrap_or_default();
        let org = text_field(&object, "org");
        let group = core.create_group(&user, &name, &display, org.as_deref()).await?;
        Ok(json!({"name": group.name, "display_name": group.display_name, "project": group.org.is_none()}))
    })
    .await
}

async fn add_member(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((group, member)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        let object = body_object(&body)?;
        let admin = bool_field(&object, "admin").unwrap_or(false);
        core.set_group_member(&user, &group, &member, admin).await?;
        Ok(Value::Null)
    })
    .await
}

async fn remove_member(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((group, member)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        core.remove_group_member(&user, &group, &member).await?;
        Ok(Value::Null)
    })
    .await
}

async fn list_users(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let users = core.administered_accounts(&user).await?;
        if users.is_empty() {
            return Err(DavError::Core(CoreError::Forbidden("only administrators may list accounts".into())));
        }
        Ok(Value::from(users.iter().map(user_json).collect::<Vec<_>>()))
    })
    .await
}

async fn create_user(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::CREATED, |user, core| async move {
        let object = body_object(&body)?;
        let account = NewAccount {
            name: text_field(&object, "name").unwrap_or_default(),
            password: text_field(&object, "password").unwrap_or_default(),
            display_name: text_field(&object, "display_name"),
            email: text_field(&object, "email"),
            quota: int_field(&object, "quota")?,
            is_admin: bool_field(&object, "is_admin").unwrap_or(false),
            org: text_field(&object, "org"),
            org_admin: bool_field(&object, "org_admin").unwrap_or(false),
        };
        let created = core.create_account_as(&user, account).await?;
        Ok(user_json(&created))
    })
    .await
}

async fn delete_user(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::NO_CONTENT, |user, core| async move {
        core.delete_account_as(&user, &name).await?;
        Ok(Value::Null)
    })
    .await
}

async fn invite_guest(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::CREATED, |user, core| async move {
        let object = body_object(&body)?;
        let email = text_field(&object, "email").unwrap_or_default();
        let display = text_field(&object, "display_name");
        let invitation = core.invite_guest(&user, &email, display.as_deref()).await?;
        Ok(json!({"name": invitation.guest.name, "mailed": invitation.mailed}))
    })
    .await
}

async fn get_me(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, _| async move { Ok(me_json(&user)) }).await
}

fn me_json(user: &User) -> Value {
    let mut value = user_json(user);
    value["notify_by_email"] = Value::from(user.notify_by_email);
    value["mail_digest"] = Value::from(user.mail_digest.as_str());
    value["language"] = Value::from(user.language.as_str());
    value
}

/// `PATCH /api/v1/me`: the account's own display name, e-mail and notification setting.
async fn update_me(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let object = body_object(&body)?;
        let mut user = user;
        let display_name = text_field(&object, "display_name");
        let email = object.contains_key("email").then(|| text_field(&object, "email").filter(|e| !e.is_empty()));
        if display_name.is_some() || email.is_some() {
            let name = user.name.clone();
            user = core.update_account(&user, &name, display_name, email, None).await?;
        }
        if let Some(enabled) = bool_field(&object, "notify_by_email") {
            user = core.set_notify_by_email(&user, enabled).await?;
        }
        if let Some(language) = text_field(&object, "language") {
            user = core.set_language(&user, &language).await?;
        }
        if let Some(digest) = text_field(&object, "mail_digest") {
            user = core.set_mail_digest(&user, &digest).await?;
        }
        Ok(me_json(&user))
    })
    .await
}

async fn list_notifications(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    authenticated(&state, peer, &headers, StatusCode::OK, |user, core| async move {
        let notifications = core.notifications(&user).await?;
        Ok(Value::from(
            notifications
                .iter()
                .map(|n| {
                    json!({"id": n.id, "subject": n.subject, "message": n.message, "object_type": n.object_type,
                                "object_id": n.object_id, "created_at": n.created_at})
                })
                .collect::<Vec<_>>(),
        ))
    })
    .await
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
pub(crate) fn error_reply(error: DavError) -> Response {
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
    auth::authenticate_any(&state.core, headers, client, false).await.map_err(error_reply)
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
