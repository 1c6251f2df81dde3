//! The versions panel of a file: its older versions with date and size, each downloadable
//! and restorable (restoring keeps the content it replaces as another version).

use super::files::{display_path, folder_url, parse_path};
use super::{back_to, error_key, error_page, flash, percent_encode, render, web_form, web_user};
use crate::download::Disposition;
use crate::login_flow::field;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hafen_core::{CoreError, TreePath, VersionId, Viewer};
use minijinja::context;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/files/versions", get(panel))
        .route("/apps/files/version", get(download))
        .route("/apps/files/versions/restore", post(restore))
}

const FLASH_KEYS: &[&str] = &[
    "versions.done.restored",
    "error.not_found",
    "error.forbidden",
    "error.conflict",
    "error.locked",
    "error.quota",
    "error.internal",
];

fn panel_url(path: &TreePath) -> String {
    format!("/apps/files/versions?path={}", percent_encode(&display_path(path)))
}

async fn panel(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let lang = web.lang;
    let path = match parse_path(query.get("path").map_or("", String::as_str)) {
        Ok(path) => path,
        Err(error) => return error_page(lang, &error),
    };
    let (node, versions) = match state.core.versions(&Viewer::Account(web.user.clone()), &path).await {
        Ok(found) => found,
        Err(error) => return error_page(lang, &error),
    };
    let key = percent_encode(&display_path(&path));
    let rows: Vec<_> = versions
        .iter()
        .map(|v| {
            context! {
                id => v.id.0,
                size => v.size,
                created_at => v.created_at,
                current => v.is_current,
                href => format!("/apps/files/version?path={key}&version={}", v.id.0),
            }
        })
        .collect();
    let base = web.base_context(&uri);
    render(
        StatusCode::OK,
        "versions.html",
        context! {
            section => "files",
            name => node.name,
            path => display_path(&path),
            back_href => folder_url(&path.parent().unwrap_or_else(TreePath::root)),
            details_href => super::comments::page_url(&path),
            versions => rows,
            flash => flash(&query, FLASH_KEYS),
            ..base
        },
    )
}

async fn download(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let lang = web.lang;
    let version = query.get("version").and_then(|text| text.parse::<i64>().ok()).map(VersionId);
    let (path, version) = match (parse_path(query.get("path").map_or("", String::as_str)), version) {
        (Ok(path), Some(version)) => (path, version),
        (Err(error), _) => return error_page(lang, &error),
        (_, None) => return error_page(lang, &CoreError::InvalidInput("no version".into())),
    };
    let name = path.name().unwrap_or("version").to_string();
    let result = async {
        let content = state.core.open_version(&Viewer::Account(web.user), &path, version).await?;
        crate::download::whole_file(content, &name, Disposition::Attachment, true).await
    };
    result.await.unwrap_or_else(|error| error_page(lang, &error))
}

async fn restore(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(path) = parse_path(field(&form, "path")) else {
        return error_page(web.lang, &CoreError::InvalidInput("path".into()));
    };
    let Ok(version) = field(&form, "version").parse::<i64>() else {
        return back_to(&panel_url(&path), Err("error.not_found"));
    };
    match state.core.restore_version(&Viewer::Account(web.user), &path, VersionId(version)).await {
        Ok(_) => back_to(&panel_url(&path), Ok("versions.done.restored")),
        Err(error) => back_to(&panel_url(&path), Err(error_key(&error))),
    }
}
