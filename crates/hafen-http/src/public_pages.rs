//! Browser pages that need no account: a public link (`/s/{token}`: password form, file
//! or folder listing, downloads, and the upload page of a file-drop link) and a guest's
//! invitation (`/invite/{token}`: set the password).
//!
//! A link's password, once entered, is remembered in an HttpOnly cookie scoped to the link's
//! path whose value the core derives from the stored password hash (see
//! `hafen_core::link_session_value`). State-changing requests (password, upload, invitation)
//! pass the same-origin check of the login pages.

use crate::auth;
use crate::i18n::{t, Lang};
use crate::login_flow::{field, html_escape, message_page, page, parse_form, same_origin, MAX_FORM_BODY};
use crate::{AppState, DavError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use futures_util::StreamExt;
use hafen_core::{link_session_value, perm, CoreError, Node, PutOptions, TreePath, Viewer};
use std::collections::HashMap;
use std::net::SocketAddr;

const UPLOAD_SCRIPT_PATH: &str = "/s/-/upload.js";
/// Scripts only from this server, no inline code.
const UPLOAD_PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(UPLOAD_SCRIPT_PATH, get(upload_script))
        .route("/s/{token}", get(link_page).post(link_password))
        .route("/index.php/s/{token}", get(link_page).post(link_password))
        .route("/s/{token}/download", get(link_download))
        .route("/s/{token}/upload/{name}", put(link_upload))
        .route("/invite/{token}", get(invitation_page).post(invitation_submit))
}

fn cookie_name(token: &str) -> String {
    format!("hafen_link_{token}")
}

/// The link as the visitor may use it now, or the page to show instead.
async fn viewer(
    state: &AppState,
    lang: Lang,
    token: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Viewer, Response> {
    let session = auth::cookie_value(headers, &cookie_name(token));
    let client = auth::client_address(peer, headers, &state.config);
    match state.core.open_link_with_session(token, session, client).await {
        Ok(viewer) => Ok(viewer),
        Err(CoreError::Unauthorized) => Err(password_form(lang, token, StatusCode::UNAUTHORIZED, None)),
        Err(error) => Err(error_page(lang, &error)),
    }
}

fn error_page(lang: Lang, error: &CoreError) -> Response {
    match error {
        CoreError::NotFound(_) => message_page(lang, StatusCode::NOT_FOUND, "link.gone.title", "link.gone.text"),
        CoreError::Forbidden(_) => message_page(lang, StatusCode::FORBIDDEN, "refused.title", "link.forbidden"),
        CoreError::InvalidInput(_) => message_page(lang, StatusCode::BAD_REQUEST, "refused.title", "link.gone.text"),
        CoreError::Throttled { retry_after_secs } => {
            let mut response =
                message_page(lang, StatusCode::TOO_MANY_REQUESTS, "refused.title", "link.password.throttled");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            response
        }
        other => {
            tracing::error!(error = %other, "public link page failed");
            message_page(lang, StatusCode::INTERNAL_SERVER_ERROR, "error.title", "error.text")
        }
    }
}

fn password_form(lang: Lang, token: &str, status: StatusCode, error_key: Option<&str>) -> Response {
    let error = error_key
        .map(|key| format!("<p class=\"error\" role=\"alert\">{}</p>\n", html_escape(t(lang, key))))
        .unwrap_or_default();
    let body = format!(
        "<p>{intro}</p>\n{error}<form method=\"post\" action=\"/s/{token}\">\n\
         <label for=\"password\">{label}</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required autofocus>\n\
         <button id=\"open\" type=\"submit\">{submit}</button>\n</form>\n",
        intro = html_escape(t(lang, "link.password.intro")),
        token = html_escape(token),
        label = html_escape(t(lang, "login.password")),
        submit = html_escape(t(lang, "link.password.submit")),
    );
    page(lang, status, "link.password.title", &body)
}

fn encode_query(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn link_page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let viewer = match viewer(&state, lang, &token, &headers, peer).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let Some(grant) = viewer.link() else { return error_page(lang, &CoreError::Unauthorized) };
    let share = &grant.share;
    let mut body = String::new();
    if !share.note.is_empty() {
        body.push_str(&format!("<p class=\"note\">{}</p>\n", html_escape(&share.note)));
    }
    let esc_token = html_escape(&token);
    if share.permissions & perm::READ == 0 {
        // A file drop: upload only; nothing of the folder is shown.
        body.push_str(&format!(
            "<p>{intro}</p>\n<form id=\"upload-form\" data-token=\"{esc_token}\">\n\
             <label for=\"files\">{label}</label>\n<input id=\"files\" name=\"files\" type=\"file\" multiple required>\n\
             <button id=\"upload\" type=\"submit\">{submit}</button>\n</form>\n\
             <progress id=\"progress\" max=\"100\" value=\"0\" aria-label=\"{progress}\" hidden></progress>\n\
             <p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n\
             <script src=\"{UPLOAD_SCRIPT_PATH}\" defer></script>\n",
            intro = html_escape(t(lang, "drop.intro")),
            label = html_escape(t(lang, "drop.choose")),
            submit = html_escape(t(lang, "drop.submit")),
            progress = html_escape(t(lang, "drop.progress")),
        ));
        let mut response = page(lang, StatusCode::OK, "drop.title", &body);
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(UPLOAD_PAGE_CSP));
        return response;
    }
    let sub = match TreePath::from_segments(query.get("path").map_or("", String::as_str).split('/')) {
        Ok(sub) => sub,
        Err(error) => return error_page(lang, &error),
    };
    let node = match state.core.stat(&viewer, &sub).await {
        Ok(node) => node,
        Err(error) => return error_page(lang, &error),
    };
    body.push_str(&format!("<h2>{}</h2>\n", html_escape(&grant.root_node.name)));
    if !node.is_dir {
        body.push_str(&format!("<p>{} – {}</p>\n", html_escape(&node.name), crate::web::format::size(lang, node.size)));
        if !share.hide_download {
            body.push_str(&format!(
                "<p><a class=\"button\" id=\"download\" href=\"/s/{esc_token}/download\">{}</a></p>\n",
                html_escape(t(lang, "link.download"))
            ));
        }
        return page(lang, StatusCode::OK, "link.title", &body);
    }
    let entries = match state.core.listing(&viewer, &sub, true).await {
        Ok(listing) => listing.entries,
        Err(error) => return error_page(lang, &error),
    };
    if !share.hide_download {
        let key = encode_query(&sub.to_key());
        body.push_str(&format!(
            "<p><a class=\"button\" id=\"download-zip\" href=\"/s/{esc_token}/download?path={key}\">{}</a></p>\n",
            html_escape(t(lang, "link.download_zip"))
        ));
    }
    body.push_str(&format!(
        "<table>\n<caption>{}</caption>\n<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>\n",
        html_escape(&sub.to_key()),
        html_escape(t(lang, "link.name")),
        html_escape(t(lang, "link.size")),
    ));
    for entry in entries.iter().skip(1) {
        let key = encode_query(&entry.path.to_key());
        let link = if entry.node.is_dir {
            format!("/s/{esc_token}?path={key}")
        } else if share.hide_download {
            String::new()
        } else {
            format!("/s/{esc_token}/download?path={key}")
        };
        let name = html_escape(&entry.node.name);
        let mut name = if link.is_empty() { name } else { format!("<a href=\"{link}\">{name}</a>") };
        if entry.node.is_dir && !share.hide_download {
            let label =
                html_escape(t(lang, "link.download_folder.label")).replace("{name}", &html_escape(&entry.node.name));
            name.push_str(&format!(
                " <a class=\"zip\" href=\"/s/{esc_token}/download?path={key}\" aria-label=\"{label}\">{}</a>",
                html_escape(t(lang, "link.download_folder"))
            ));
        }
        body.push_str(&format!(
            "<tr><td>{name}</td><td>{}</td></tr>\n",
            crate::web::format::size(lang, entry.node.size)
        ));
    }
    body.push_str("</tbody>\n</table>\n");
    page(lang, StatusCode::OK, "link.title", &body)
}

async fn link_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    if !same_origin(&uri, &headers) || body.len() > MAX_FORM_BODY {
        return message_page(lang, StatusCode::FORBIDDEN, "refused.title", "refused.text");
    }
    let form = parse_form(&body);
    let client = auth::client_address(peer, &headers, &state.config);
    match state.core.open_link(&token, Some(field(&form, "password")), client).await {
        Ok(Viewer::Link(grant)) => {
            let cookie = format!(
                "{}={}; Path=/s/{token}; HttpOnly; SameSite=Lax{}",
                cookie_name(&token),
                link_session_value(&grant.share),
                if state.config.tls || headers.get("x-forwarded-proto").is_some_and(|proto| proto == "https") {
                    "; Secure"
                } else {
                    ""
                },
            );
            let mut response = StatusCode::SEE_OTHER.into_response();
            let response_headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&format!("/s/{token}")) {
                response_headers.insert(header::LOCATION, value);
            }
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response_headers.insert(header::SET_COOKIE, value);
            }
            response
        }
        Ok(Viewer::Account(_)) => error_page(lang, &CoreError::Unauthorized),
        Err(CoreError::Unauthorized) => {
            password_form(lang, &token, StatusCode::UNAUTHORIZED, Some("link.password.wrong"))
        }
        Err(error) => error_page(lang, &error),
    }
}

async fn link_download(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let viewer = match viewer(&state, lang, &token, &headers, peer).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let Some(grant) = viewer.link() else { return error_page(lang, &CoreError::Unauthorized) };
    if grant.share.hide_download {
        return error_page(lang, &CoreError::Forbidden("downloads are hidden for this link".into()));
    }
    let path = match TreePath::from_segments(query.get("path").map_or("", String::as_str).split('/')) {
        Ok(path) => path,
        Err(error) => return error_page(lang, &error),
    };
    let node = match state.core.stat(&viewer, &path).await {
        Ok(node) if !node.is_dir => node,
        // A file drop shows its folder but never what is in it.
        Ok(_) if grant.share.permissions & perm::READ == 0 => {
            return error_page(lang, &CoreError::NotFound("a folder".into()))
        }
        Ok(folder) => return folder_download(&state, lang, &viewer, &path, &folder).await,
        Err(error) => return error_page(lang, &error),
    };
    if let Err(error) = state.core.count_link_download(grant).await {
        return error_page(lang, &error);
    }
    let name = node.name.clone();
    let downloaded = async {
        let content = state.core.open_file(node).await?;
        crate::download::whole_file(content, &name, crate::download::Disposition::Attachment, true).await
    };
    downloaded.await.unwrap_or_else(|error| error_page(lang, &error))
}

/// A folder of a link as one streamed ZIP (`<folder>.zip`), counted as one download. Everything
/// that can be refused (a file drop, too many entries, the download limit) is refused before
/// the first byte; afterwards a failure aborts the connection (see `zip_download`).
async fn folder_download(state: &AppState, lang: Lang, viewer: &Viewer, path: &TreePath, folder: &Node) -> Response {
    let Some(grant) = viewer.link() else { return error_page(lang, &CoreError::Unauthorized) };
    let entries = match state.core.folder_files(viewer, path).await {
        Ok(entries) => entries,
        Err(CoreError::PayloadTooLarge(reason)) => {
            tracing::info!(%reason, "ZIP download refused");
            return message_page(lang, StatusCode::PAYLOAD_TOO_LARGE, "refused.title", "link.zip.too_large");
        }
        Err(error) => return error_page(lang, &error),
    };
    if let Err(error) = state.core.count_link_download(grant).await {
        return error_page(lang, &error);
    }
    let mut response = Response::new(crate::zip_download::folder_zip(state.core.clone(), entries));
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    let name = if folder.name.is_empty() { "download" } else { folder.name.as_str() };
    let disposition = format!("attachment; filename*=UTF-8''{}", encode_query(&format!("{name}.zip")));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response_headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `PUT /s/{token}/upload/{name}`: one file into a link that accepts uploads (the upload
/// page's script sends each chosen file so, with progress). Answers JSON `{"name": stored}`;
/// on a file drop a taken name is never overwritten but stored under a free one.
async fn link_upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((token, name)): Path<(String, String)>,
    uri: Uri,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let lang = Lang::from_headers(&headers);
    if !same_origin(&uri, &headers) {
        return message_page(lang, StatusCode::FORBIDDEN, "refused.title", "refused.text");
    }
    let viewer = match viewer(&state, lang, &token, &headers, peer).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let path = match TreePath::from_segments([name.as_bytes()]) {
        Ok(path) if !path.is_root() => path,
        Ok(_) => return DavError::BadRequest("a file name is required".into()).into_response(),
        Err(error) => return DavError::Core(error).into_response(),
    };
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let stream = request.into_body().into_data_stream().map(|chunk| chunk.map_err(|error| error.to_string()));
    let options = PutOptions { content_length, ..PutOptions::default() };
    match state.core.put_file(&viewer, &path, stream, options).await {
        Ok(outcome) => {
            let body = serde_json::json!({"name": outcome.node.name}).to_string();
            (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(error) => DavError::Core(error).into_response(),
    }
}

/// The file-drop page's script: uploads each chosen file with a progress bar. Served from
/// here because the pages' CSP allows no inline code.
const UPLOAD_SCRIPT: &str = r#""use strict";
(function () {
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var input = document.getElementById("files");
  var bar = document.getElementById("progress");
  var status = document.getElementById("status");
  var token = form.getAttribute("data-token");
  function send(files, index, done) {
    if (index >= files.length) { done(); return; }
    var file = files[index];
    var request = new XMLHttpRequest();
    request.open("PUT", "/s/" + encodeURIComponent(token) + "/upload/" + encodeURIComponent(file.name));
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) { bar.value = Math.round(100 * event.loaded / event.total); }
    };
    request.onload = function () {
      if (request.status >= 200 && request.status < 300) {
        status.textContent = file.name + " \u2713";
        send(files, index + 1, done);
      } else {
        status.textContent = file.name + ": " + request.status;
      }
    };
    request.onerror = function () { status.textContent = file.name + ": network error"; };
    bar.hidden = false;
    bar.value = 0;
    request.send(file);
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.files, 0, function () { status.textContent = status.textContent + " \u2013 OK"; form.reset(); });
  });
})();
"#;

async fn upload_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        UPLOAD_SCRIPT,
    )
        .into_response()
}

fn invitation_form(lang: Lang, token: &str, status: StatusCode, error_key: Option<&str>) -> Response {
    let error = error_key
        .map(|key| format!("<p class=\"error\" role=\"alert\">{}</p>\n", html_escape(t(lang, key))))
        .unwrap_or_default();
    let body = format!(
        "<p>{intro}</p>\n{error}<form method=\"post\" action=\"/invite/{token}\">\n\
         <label for=\"password\">{label}</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"10\" required autofocus>\n\
         <button id=\"set\" type=\"submit\">{submit}</button>\n</form>\n",
        intro = html_escape(t(lang, "invite.intro")),
        token = html_escape(token),
        label = html_escape(t(lang, "invite.password")),
        submit = html_escape(t(lang, "invite.submit")),
    );
    page(lang, status, "invite.title", &body)
}

async fn invitation_page(Path(token): Path<String>, headers: HeaderMap) -> Response {
    invitation_form(Lang::from_headers(&headers), &token, StatusCode::OK, None)
}

async fn invitation_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    if !same_origin(&uri, &headers) || body.len() > MAX_FORM_BODY {
        return message_page(lang, StatusCode::FORBIDDEN, "refused.title", "refused.text");
    }
    let form = parse_form(&body);
    match state.core.accept_invitation(&token, field(&form, "password")).await {
        Ok(_) => message_page(lang, StatusCode::OK, "invite.done.title", "invite.done.text"),
        Err(CoreError::InvalidInput(_)) => invitation_form(lang, &token, StatusCode::BAD_REQUEST, Some("invite.short")),
        Err(CoreError::NotFound(_)) => message_page(lang, StatusCode::NOT_FOUND, "invalid.title", "invite.invalid"),
        Err(error) => error_page(lang, &error),
    }
}
