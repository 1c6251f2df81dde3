//! The sharing pages: the share dialog of one file or folder (share with accounts, groups
//! and organisations with permissions; public links with password, expiry and download
//! limit; upload-only links; removing shares), the search-as-you-type suggestions behind its
//! recipient field, and the "shared with me" / "shared by me" view.

use super::files::{display_path, folder_url, parse_path};
use super::format::date_input_end_of_day;
use super::{back_to, error_key, error_page, flash, percent_encode, redirect, render, web_form, web_user, WebUser};
use crate::login_flow::field;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hafen_core::{perm, CoreError, NewShare, RecipientName, ShareRecipient, ShareView, Sharee, TreePath, Viewer};
use minijinja::{context, Value};
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/files/share", get(dialog).post(share_with))
        .route("/apps/files/link", post(create_link))
        .route("/apps/files/unshare", post(unshare))
        .route("/apps/files/sharees", get(sharees))
        .route("/apps/files/shared", get(shared_views))
}

const FLASH_KEYS: &[&str] = &[
    "share.done.shared",
    "share.done.link",
    "share.done.removed",
    "share.failed.recipient",
    "share.failed.expiry",
    "share.failed.limit",
    "error.not_found",
    "error.forbidden",
    "error.conflict",
    "error.invalid",
    "error.internal",
];

fn dialog_url(path: &TreePath) -> String {
    format!("/apps/files/share?path={}", percent_encode(&display_path(path)))
}

fn back_with(path: &TreePath, outcome: Result<&str, &str>) -> Response {
    back_to(&dialog_url(path), outcome)
}

/// One share as the pages show it.
fn share_context(view: &ShareView, public_url: &str) -> Value {
    let kind = match view.share.recipient {
        ShareRecipient::User(_) => "user",
        ShareRecipient::Group(_) => "group",
        ShareRecipient::Org(_) => "org",
        ShareRecipient::Link => "link",
    };
    let permissions = view.share.permissions;
    let link_kind = if permissions & perm::READ == 0 {
        "upload"
    } else if permissions & (perm::UPDATE | perm::CREATE | perm::DELETE) != 0 {
        "edit"
    } else {
        "read"
    };
    context! {
        id => view.share.id,
        kind => kind,
        link_kind => link_kind,
        recipient => if view.recipient_display_name.is_empty() { &view.recipient_name } else { &view.recipient_display_name },
        url => view.share.token.as_ref().map(|token| format!("{}/s/{token}", public_url.trim_end_matches('/'))),
        has_password => view.share.password_hash.is_some(),
        expires_at => view.share.expires_at,
        download_limit => view.share.download_limit,
        download_count => view.share.download_count,
        may_edit => permissions & perm::UPDATE != 0,
        may_create => permissions & perm::CREATE != 0,
        may_delete => permissions & perm::DELETE != 0,
        may_share => permissions & perm::SHARE != 0,
        name => view.node.name,
        is_dir => view.node.is_dir,
        path => view.path.as_ref().map(display_path),
        sharer => if view.sharer.display_name.is_empty() { &view.sharer.name } else { &view.sharer.display_name },
    }
}

async fn dialog(
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
        Ok(path) if !path.is_root() => path,
        Ok(_) => return error_page(lang, &CoreError::Forbidden("the root folder".into())),
        Err(error) => return error_page(lang, &error),
    };
    let node = match state.core.stat(&Viewer::Account(web.user.clone()), &path).await {
        Ok(node) => node,
        Err(error) => return error_page(lang, &error),
    };
    let views = match state.core.shares_by(&web.user, Some(&path)).await {
        Ok(views) => views,
        Err(error) => return error_page(lang, &error),
    };
    let public_url = state.core.public_url();
    let shares: Vec<Value> = views.iter().map(|view| share_context(view, public_url)).collect();
    let parent = path.parent().unwrap_or_else(TreePath::root);
    let base = web.base_context(&uri);
    render(
        StatusCode::OK,
        "share.html",
        context! {
            section => "files",
            name => node.name,
            is_dir => node.is_dir,
            path => display_path(&path),
            back_href => folder_url(&parent),
            shares => shares,
            flash => flash(&query, FLASH_KEYS),
            ..base
        },
    )
}

/// The recipient named in the share form: `user:NAME`, `group:NAME`, `org:NAME`, or a plain
/// name looked up among the sharees (accounts first, then groups, then organisations).
async fn recipient(state: &AppState, web: &WebUser, text: &str) -> Option<RecipientName> {
    let text = text.trim();
    if let Some((kind, name)) = text.split_once(':') {
        let name = name.trim().to_string();
        match kind {
            "user" => return Some(RecipientName::User(name)),
            "group" => return Some(RecipientName::Group(name)),
            "org" => return Some(RecipientName::Org(name)),
            _ => {}
        }
    }
    let found = state.core.search_sharees(&web.user, text, 50).await.ok()?;
    found.into_iter().find_map(|sharee| match sharee {
        Sharee::User { name, .. } if name == text => Some(RecipientName::User(name)),
        Sharee::Group { name, .. } if name == text => Some(RecipientName::Group(name)),
        Sharee::Org { name, .. } if name == text => Some(RecipientName::Org(name)),
        _ => None,
    })
}

fn checked(form: &[(String, String)], name: &str) -> bool {
    form.iter().any(|(key, value)| key == name && !value.is_empty())
}

async fn share_with(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(path) = parse_path(field(&form, "path")) else { return redirect("/apps/files/?failed=error.invalid") };
    let Some(recipient) = recipient(&state, &web, field(&form, "with")).await else {
        return back_with(&path, Err("share.failed.recipient"));
    };
    let mut permissions = perm::READ;
    for (name, bit) in [
        ("perm_edit", perm::UPDATE),
        ("perm_create", perm::CREATE),
        ("perm_delete", perm::DELETE),
        ("perm_share", perm::SHARE),
    ] {
        if checked(&form, name) {
            permissions |= bit;
        }
    }
    if let Ok(node) = state.core.stat(&Viewer::Account(web.user.clone()), &path).await {
        if !node.is_dir {
            permissions &= perm::FILE_MASK;
        }
    }
    let new = NewShare {
        recipient,
        permissions: Some(permissions),
        password: None,
        expires_at: None,
        download_limit: None,
        label: String::new(),
        note: field(&form, "note").trim().to_string(),
        hide_download: false,
    };
    match state.core.create_share(&web.user, &path, new).await {
        Ok(_) => back_with(&path, Ok("share.done.shared")),
        Err(CoreError::NotFound(_)) => back_with(&path, Err("share.failed.recipient")),
        Err(error) => back_with(&path, Err(error_key(&error))),
    }
}

async fn create_link(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(path) = parse_path(field(&form, "path")) else { return redirect("/apps/files/?failed=error.invalid") };
    let is_dir = match state.core.stat(&Viewer::Account(web.user.clone()), &path).await {
        Ok(node) => node.is_dir,
        Err(error) => return back_with(&path, Err(error_key(&error))),
    };
    let permissions = match (field(&form, "kind"), is_dir) {
        ("upload", true) => perm::CREATE,
        ("edit", true) => perm::READ | perm::UPDATE | perm::CREATE | perm::DELETE,
        ("edit", false) => perm::READ | perm::UPDATE,
        ("read", _) => perm::READ,
        _ => return back_with(&path, Err("error.invalid")),
    };
    let expiry = field(&form, "expire").trim();
    let expires_at = match expiry {
        "" => None,
        text => match date_input_end_of_day(text) {
            Some(at) => Some(at),
            None => return back_with(&path, Err("share.failed.expiry")),
        },
    };
    let download_limit = match field(&form, "limit").trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(limit) if limit > 0 => Some(limit),
            _ => return back_with(&path, Err("share.failed.limit")),
        },
    };
    let password = Some(field(&form, "password").to_string()).filter(|password| !password.is_empty());
    let new = NewShare {
        recipient: RecipientName::Link,
        permissions: Some(permissions),
        password,
        expires_at,
        download_limit,
        label: field(&form, "label").trim().to_string(),
        note: String::new(),
        hide_download: false,
    };
    match state.core.create_share(&web.user, &path, new).await {
        Ok(_) => back_with(&path, Ok("share.done.link")),
        Err(error) => back_with(&path, Err(error_key(&error))),
    }
}

async fn unshare(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = parse_path(field(&form, "path")).ok();
    let result = match field(&form, "id").parse::<i64>() {
        Ok(id) => state.core.delete_share(&web.user, id).await,
        Err(_) => Err(CoreError::InvalidInput("no share id".into())),
    };
    match (back, result) {
        (Some(path), Ok(())) if !path.is_root() => back_with(&path, Ok("share.done.removed")),
        (Some(path), Err(error)) if !path.is_root() => back_with(&path, Err(error_key(&error))),
        _ => redirect("/apps/files/shared"),
    }
}

/// `GET /apps/files/sharees?q=…`: suggestions for the recipient field, as JSON
/// `[{"value": "user:bob", "label": "Bob Beispiel (bob)"}]`.
async fn sharees(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let needle = query.get("q").map_or("", String::as_str);
    let found = match state.core.search_sharees(&web.user, needle, 20).await {
        Ok(found) => found,
        Err(error) => return crate::DavError::Core(error).into_response(),
    };
    let label = |display: &str, name: &str, kind: &str| {
        let kind = crate::i18n::t(web.lang, kind);
        if display.is_empty() || display == name {
            format!("{name} ({kind})")
        } else {
            format!("{display} ({name}, {kind})")
        }
    };
    let items: Vec<serde_json::Value> = found
        .iter()
        .take(20)
        .map(|sharee| match sharee {
            Sharee::User { name, display_name, .. } => serde_json::json!({
                "value": format!("user:{name}"), "label": label(display_name, name, "share.kind.user")}),
            Sharee::Group { name, display_name } => serde_json::json!({
                "value": format!("group:{name}"), "label": label(display_name, name, "share.kind.group")}),
            Sharee::Org { name, display_name } => serde_json::json!({
                "value": format!("org:{name}"), "label": label(display_name, name, "share.kind.org")}),
        })
        .collect();
    let mut response = serde_json::Value::from(items).to_string().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn shared_views(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let lang = web.lang;
    let (with_me, by_me) = match (state.core.shares_with(&web.user).await, state.core.shares_by(&web.user, None).await)
    {
        (Ok(with_me), Ok(by_me)) => (with_me, by_me),
        (Err(error), _) | (_, Err(error)) => return error_page(lang, &error),
    };
    let public_url = state.core.public_url();
    let with_me: Vec<Value> =
        with_me.iter().filter(|view| view.share.space.is_none()).map(|view| share_context(view, public_url)).collect();
    let by_me: Vec<Value> = by_me.iter().map(|view| share_context(view, public_url)).collect();
    let base = web.base_context(&uri);
    render(StatusCode::OK, "shared.html", context! { section => "shared", with_me => with_me, by_me => by_me, ..base })
}
