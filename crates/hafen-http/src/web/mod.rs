//! The web interface: server-rendered pages (minijinja templates embedded in the binary) for
//! people with an account — login, files, sharing, settings, administration — plus the
//! accessibility statement and the embedded stylesheet and scripts.
//!
//! Sessions: a login starts a core web session whose random token sits in an HttpOnly
//! cookie. Every state-changing request is a form POST that must carry the session's CSRF
//! token (a hidden `csrf` field) and pass the same-origin check; scripts calling WebDAV or
//! the JSON API send the token in the `requesttoken` header (see `auth::authenticate_any`).
//! Pages are sent with a CSP that allows scripts and styles from this server only, no
//! inline code. Every user-facing string comes from the translation catalogs (`catalog`).
//!
//! The pages only call the domain core; they never touch SQL or files.

mod activity;
mod admin;
mod assets;
pub(crate) mod catalog;
mod comments;
mod files;
pub(crate) mod format;
mod settings;
mod shares;
mod templates;
mod trash;
mod versions;

use crate::auth::{self, SESSION_COOKIE};
use crate::i18n::{Lang, LANGUAGE_COOKIE};
use crate::login_flow::{field, parse_form, same_origin, MAX_FORM_BODY};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hafen_core::{CoreError, User, WEB_SESSION_LIFETIME_SECS};
use minijinja::{context, Value};
use std::collections::HashMap;
use std::net::SocketAddr;

pub(crate) use templates::render;

/// Scripts, styles and images from this server only; no inline code anywhere.
pub(crate) const WEB_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Longest form body of the settings and administration forms (a share dialog's, too).
const MAX_PAGE_FORM: usize = MAX_FORM_BODY;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/language", post(choose_language))
        .route("/accessibility", get(accessibility))
        .merge(assets::routes())
        .merge(files::routes())
        .merge(shares::routes())
        .merge(settings::routes())
        .merge(admin::routes())
        .merge(versions::routes())
        .merge(trash::routes())
        .merge(comments::routes())
        .merge(activity::routes())
}

/// The person looking at a page: account, session token (for the CSRF token) and language.
pub(crate) struct WebUser {
    pub user: User,
    pub session: String,
    pub lang: Lang,
}

impl WebUser {
    pub(crate) fn csrf(&self) -> String {
        hafen_core::csrf_token(&self.session)
    }

    /// The context every page of a logged-in account gets (layout: navigation, CSRF token).
    pub(crate) fn base_context(&self, uri: &Uri) -> Value {
        context! {
            lang => self.lang.code(),
            csrf => self.csrf(),
            current_path => uri.path_and_query().map_or("/", |value| value.as_str()),
            account => context! {
                name => self.user.name,
                display_name => if self.user.display_name.is_empty() { &self.user.name } else { &self.user.display_name },
                is_admin => self.user.is_admin,
                may_administer => self.user.is_admin || self.user.org_admin,
            },
        }
    }
}

/// The logged-in account of a page request, or the redirect to the login page.
pub(crate) async fn web_user(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Result<WebUser, Response> {
    let lang = Lang::from_headers(headers);
    let to_login = || {
        let back = uri.path_and_query().map_or("/", |value| value.as_str());
        redirect(&format!("/login?redirect_url={}", percent_encode(back)))
    };
    let Some(session) = auth::cookie_value(headers, SESSION_COOKIE) else { return Err(to_login()) };
    match state.core.web_session_user(session).await {
        Ok(Some(user)) => {
            // The account's own choice wins over this browser's cookie and its languages.
            let lang = Lang::from_code(&user.language).unwrap_or(lang);
            Ok(WebUser { user, session: session.to_string(), lang })
        }
        Ok(None) => Err(to_login()),
        Err(error) => Err(error_page(lang, &error)),
    }
}

/// The logged-in account of a form POST after the CSRF checks (same origin, `csrf` field),
/// with the decoded form; or the page to answer with instead.
pub(crate) async fn web_form(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(WebUser, Vec<(String, String)>), Response> {
    let lang = Lang::from_headers(headers);
    if body.len() > MAX_PAGE_FORM {
        return Err(message(lang, StatusCode::PAYLOAD_TOO_LARGE, "refused.title", "web.form_too_large"));
    }
    let web = web_user(state, uri, headers).await?;
    let form = parse_form(body);
    if !same_origin(uri, headers) || !hafen_core::csrf_token_matches(&web.session, field(&form, "csrf")) {
        return Err(message(lang, StatusCode::FORBIDDEN, "refused.title", "web.csrf"));
    }
    Ok((web, form))
}

/// A `303 See Other` to `location` (after every successful form POST).
pub(crate) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A redirect back to `page` reporting an action's outcome as `done=KEY` or `failed=KEY`.
pub(crate) fn back_to(page: &str, outcome: Result<&str, &str>) -> Response {
    let (kind, key) = match outcome {
        Ok(key) => ("done", key),
        Err(key) => ("failed", key),
    };
    let separator = if page.contains('?') { '&' } else { '?' };
    redirect(&format!("{page}{separator}{kind}={}", percent_encode(key)))
}

/// The message a page shows for the `done=` / `failed=` of its URL, if the key is one of
/// `known` (a URL cannot make a page show arbitrary catalog texts).
pub(crate) fn flash(query: &HashMap<String, String>, known: &[&str]) -> Option<Value> {
    query
        .get("done")
        .map(|key| (false, key))
        .or_else(|| query.get("failed").map(|key| (true, key)))
        .filter(|(_, key)| known.contains(&key.as_str()))
        .map(|(failed, key)| context! { failed => failed, key => key })
}

/// Characters kept as they are in query values of the pages' URLs (RFC 3986 unreserved ones
/// but `~`); everything else is percent-encoded.
pub(crate) const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'.').remove(b'_').remove(b'-');

pub(crate) fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// A redirect target taken from a form or query: only paths of this server.
pub(crate) fn local_target(candidate: &str, fallback: &str) -> String {
    let local = candidate.starts_with('/') && !candidate.starts_with("//") && !candidate.contains('\\');
    if local {
        candidate.to_string()
    } else {
        fallback.to_string()
    }
}

/// The catalog key describing a failed action to the user.
pub(crate) fn error_key(error: &CoreError) -> &'static str {
    match error {
        CoreError::NotFound(_) => "error.not_found",
        CoreError::Forbidden(_) | CoreError::Unauthorized | CoreError::NotAllowed(_) => "error.forbidden",
        CoreError::Conflict(_) | CoreError::PreconditionFailed(_) => "error.conflict",
        CoreError::Locked(_) => "error.locked",
        CoreError::QuotaExceeded => "error.quota",
        CoreError::StorageFull => "error.storage_full",
        CoreError::Unavailable(_) => "error.unavailable",
        CoreError::InvalidInput(_) => "error.invalid",
        CoreError::PayloadTooLarge(_) => "error.too_large",
        CoreError::Throttled { .. } => "error.throttled",
        CoreError::Corrupt(_) | CoreError::Internal(_) => "error.internal",
    }
}

/// The HTTP status of a failed page request.
fn error_status(error: &CoreError) -> StatusCode {
    crate::error::core_status(error)
}

/// A page explaining a failure (the technical detail is logged, not shown).
pub(crate) fn error_page(lang: Lang, error: &CoreError) -> Response {
    if matches!(error, CoreError::Internal(_) | CoreError::Corrupt(_)) {
        tracing::error!(%error, "web page failed");
    }
    message(lang, error_status(error), "error.title", error_key(error))
}

/// A page with a title and one message, both catalog keys.
pub(crate) fn message(lang: Lang, status: StatusCode, title_key: &str, text_key: &str) -> Response {
    render(
        status,
        "message.html",
        context! { lang => lang.code(), title_key => title_key, text_key => text_key, current_path => "/" },
    )
}

fn is_https(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> bool {
    auth::over_tls(peer, headers, &state.config) || state.core.public_url().starts_with("https://")
}

fn cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let text = format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
}

/// The `Set-Cookie` value of a new browser session (login, and after a password change,
/// which ends every earlier session).
pub(crate) fn session_cookie(state: &AppState, peer: SocketAddr, headers: &HeaderMap, token: &str) -> HeaderValue {
    cookie(SESSION_COOKIE, token, WEB_SESSION_LIFETIME_SECS, is_https(state, peer, headers))
}

/// The `Set-Cookie` value remembering the chosen language for a year (footer form, settings).
pub(crate) fn language_cookie(state: &AppState, peer: SocketAddr, headers: &HeaderMap, lang: Lang) -> HeaderValue {
    cookie(LANGUAGE_COOKIE, lang.code(), 365 * 86400, is_https(state, peer, headers))
}

async fn home(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    match web_user(&state, &uri, &headers).await {
        Ok(_) => redirect("/apps/files/"),
        Err(response) => response,
    }
}

async fn login_page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // `reauth=1`: administration asks a logged-in administrator for the password again.
    let reauth = query.get("reauth").is_some_and(|value| value == "1");
    if let Some(session) = auth::cookie_value(&headers, SESSION_COOKIE) {
        if !reauth {
            if let Ok(Some(_)) = state.core.web_session_user(session).await {
                return redirect("/apps/files/");
            }
        }
    }
    let lang = Lang::from_headers(&headers);
    if reauth {
        let user = query.get("user").map_or("", String::as_str);
        return login_form(lang, &uri, StatusCode::OK, user, "/admin", Some("web.login.reauth"));
    }
    let target = query.get("redirect_url").map_or("/apps/files/", String::as_str);
    login_form(lang, &uri, StatusCode::OK, "", target, None)
}

fn login_form(lang: Lang, uri: &Uri, status: StatusCode, user: &str, target: &str, error: Option<&str>) -> Response {
    render(
        status,
        "login.html",
        context! {
            lang => lang.code(),
            current_path => uri.path_and_query().map_or("/login", |value| value.as_str()),
            user => user,
            redirect_url => local_target(target, "/apps/files/"),
            error_key => error,
        },
    )
}

async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    if !same_origin(&uri, &headers) || body.len() > MAX_FORM_BODY {
        return message(lang, StatusCode::FORBIDDEN, "refused.title", "web.csrf");
    }
    let form = parse_form(&body);
    let (login, password) = (field(&form, "user").trim(), field(&form, "password"));
    let target = local_target(field(&form, "redirect_url"), "/apps/files/");
    let client = auth::client_address(peer, &headers, &state.config);
    match state.core.start_web_session(login, password, client).await {
        Ok(Some(session)) => {
            let mut response = redirect(&target);
            let secure = is_https(&state, peer, &headers);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie(SESSION_COOKIE, &session.token, WEB_SESSION_LIFETIME_SECS, secure));
            response
        }
        Ok(None) => login_form(lang, &uri, StatusCode::UNAUTHORIZED, login, &target, Some("login.failed")),
        Err(CoreError::Throttled { retry_after_secs }) => {
            let mut response =
                login_form(lang, &uri, StatusCode::TOO_MANY_REQUESTS, login, &target, Some("web.login_throttled"));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(error) => error_page(lang, &error),
    }
}

async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (web, _) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(error) = state.core.end_web_session(&web.session).await {
        return error_page(web.lang, &error);
    }
    let mut response = redirect("/login");
    response.headers_mut().insert(header::SET_COOKIE, cookie(SESSION_COOKIE, "", 0, is_https(&state, peer, &headers)));
    response
}

/// `POST /language`: remembers the chosen language in a cookie (also before login) and, when
/// logged in, as the account's setting; then goes back to the page the form was on. Not a privileged action, so no CSRF token (the login
/// page has none); the same-origin check still applies.
async fn choose_language(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    if !same_origin(&uri, &headers) || body.len() > MAX_FORM_BODY {
        return message(lang, StatusCode::FORBIDDEN, "refused.title", "web.csrf");
    }
    let form = parse_form(&body);
    let Some(chosen) = Lang::from_code(field(&form, "lang")) else {
        return message(lang, StatusCode::BAD_REQUEST, "error.title", "error.invalid");
    };
    // Pages without a known path of their own (link pages) leave `back` empty: the same-origin
    // Referer names them then.
    let back = match field(&form, "back") {
        "" => referer_path(&uri, &headers).unwrap_or_else(|| "/".to_string()),
        back => back.to_string(),
    };
    // Logged in: the choice becomes the account's setting (every browser, e-mails later).
    if let Some(session) = auth::cookie_value(&headers, SESSION_COOKIE) {
        if let Ok(Some(user)) = state.core.web_session_user(session).await {
            if let Err(error) = state.core.set_language(&user, chosen.code()).await {
                return error_page(lang, &error);
            }
        }
    }
    let mut response = redirect(&local_target(&back, "/"));
    let secure = is_https(&state, peer, &headers);
    response.headers_mut().insert(header::SET_COOKIE, cookie(LANGUAGE_COOKIE, chosen.code(), 365 * 86400, secure));
    response
}

/// Path and query of the `Referer`, when it names this server.
fn referer_path(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let rest = referer.strip_prefix("https://").or_else(|| referer.strip_prefix("http://"))?;
    let (authority, path) = rest.split_at(rest.find('/')?);
    let host = crate::login_flow::request_host(uri, headers)?;
    authority.eq_ignore_ascii_case(host).then(|| path.to_string())
}

/// The accessibility statement BITV 2.0 requires, with the configured feedback contact.
async fn accessibility(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let account = match auth::cookie_value(&headers, SESSION_COOKIE) {
        Some(session) => state.core.web_session_user(session).await.ok().flatten().map(|user| WebUser {
            lang: Lang::from_code(&user.language).unwrap_or(lang),
            user,
            session: session.to_string(),
        }),
        None => None,
    };
    let base = match &account {
        Some(web) => web.base_context(&uri),
        None => context! { lang => lang.code(), current_path => uri.path() },
    };
    let contact = &state.config.accessibility_contact;
    render(StatusCode::OK, "accessibility.html", context! { contact => contact, ..base })
}
