//! The trash bin page: the account's deleted items with where they were and when, each
//! restorable or deletable for good, and emptying the whole trash.

use super::files::folder_url;
use super::{back_to, error_key, error_page, flash, render, web_form, web_user};
use crate::login_flow::field;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/files/trash", get(page))
        .route("/apps/files/trash/restore", post(restore))
        .route("/apps/files/trash/delete", post(delete))
        .route("/apps/files/trash/empty", post(empty))
}

const PAGE: &str = "/apps/files/trash";
const FLASH_KEYS: &[&str] = &[
    "trash.done.restored",
    "trash.done.deleted",
    "trash.done.emptied",
    "error.not_found",
    "error.quota",
    "error.forbidden",
    "error.internal",
];

async fn page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let items = match state.core.trash(&web.user).await {
        Ok(items) => items,
        Err(error) => return error_page(web.lang, &error),
    };
    let rows: Vec<_> = items
        .iter()
        .map(|item| {
            let parent = item.original_path.parent().unwrap_or_default();
            context! {
                id => item.id,
                name => item.name,
                is_dir => item.node.is_dir,
                size => item.node.size,
                deleted_at => item.deleted_at,
                deleted_by => item.deleted_by,
                origin => format!("/{}", parent.names().join("/")),
                origin_href => folder_url(&parent),
            }
        })
        .collect();
    let restored = query.get("at").cloned();
    let base = web.base_context(&uri);
    render(
        StatusCode::OK,
        "trash.html",
        context! { section => "trash", items => rows, flash => flash(&query, FLASH_KEYS), restored => restored, ..base },
    )
}

async fn restore(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state.core.restore_from_trash(&web.user, field(&form, "id")).await {
        Ok(path) => back_to(&format!("{PAGE}?at={}", super::percent_encode(&path.to_key())), Ok("trash.done.restored")),
        Err(error) => back_to(PAGE, Err(error_key(&error))),
    }
}

async fn delete(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state.core.delete_from_trash(&web.user, field(&form, "id")).await {
        Ok(()) => back_to(PAGE, Ok("trash.done.deleted")),
        Err(error) => back_to(PAGE, Err(error_key(&error))),
    }
}

async fn empty(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, _) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state.core.empty_trash(&web.user).await {
        Ok(()) => back_to(PAGE, Ok("trash.done.emptied")),
        Err(error) => back_to(PAGE, Err(error_key(&error))),
    }
}
