//! Nextcloud Login Flow v2 over HTTP: the client's start and poll endpoints (JSON) and the
//! browser pages in between (server-rendered HTML without scripts): log in, grant access,
//! done.
//!
//! There are no sessions: the login form carries the flow's form token; after a successful
//! login the grant form additionally carries a grant token the core issued for exactly this
//! account and flow. Form POSTs are refused when `Origin` (if sent) names another host or the
//! browser marks them cross-site, and when the form token does not match (compared in constant
//! time in the core). The pages are sent with `Referrer-Policy: same-origin` so that browsers
//! send a real `Origin` on the same-origin form posts, and with a CSP that allows only the
//! stylesheet and same-origin form targets.

use crate::auth;
use crate::i18n::{t, Lang};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hafen_core::{AuthOutcome, CoreError, PendingLoginFlow};
use serde_json::json;
use std::net::SocketAddr;

const FLOW_PREFIX: &str = "/index.php/login/v2/flow/";
const STYLESHEET_PATH: &str = "/index.php/login/v2/style.css";
pub(crate) const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// Longest form body accepted on these endpoints.
pub(crate) const MAX_FORM_BODY: usize = 16 * 1024;

/// The pages share the web interface's stylesheet (still served here for old bookmarks).
const STYLESHEET: &str = include_str!("web/assets/app.css");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/index.php/login/v2", post(start))
        .route("/login/v2", post(start))
        .route("/index.php/login/v2/poll", post(poll))
        .route("/login/v2/poll", post(poll))
        .route("/index.php/login/v2/flow/{token}", get(login_page).post(login_submit))
        .route("/index.php/login/v2/flow/{token}/grant", post(grant_submit))
        .route(STYLESHEET_PATH, get(stylesheet))
}

/// The name a client is known by (its User-Agent), used as the label of its app password.
pub(crate) fn client_name(headers: &HeaderMap) -> String {
    headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).unwrap_or_default().to_string()
}

/// `scheme://host[:port]` of the server as the client addressed it: `https` when this server
/// terminates TLS or a trusted proxy says so in `X-Forwarded-Proto`. `None` when the host is
/// missing or malformed.
fn base_url(peer: SocketAddr, uri: &Uri, headers: &HeaderMap, state: &AppState) -> Option<String> {
    let host = request_host(uri, headers)?;
    let scheme = if auth::over_tls(peer, headers, &state.config) { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// The `Host` (HTTP/1) or the URI authority (HTTP/2), if it looks like a host name or address.
pub(crate) fn request_host<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| uri.authority().map(|authority| authority.as_str()))?;
    let plausible = !host.is_empty()
        && host.len() <= 255
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    plausible.then_some(host)
}

/// CSRF check of a form POST: `Origin`, when present, must name this host (`null` is
/// refused), and the browser must not mark the request as cross-site.
pub(crate) fn same_origin(uri: &Uri, headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").and_then(|value| value.to_str().ok()).is_some_and(|site| site == "cross-site") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Some(host) = request_host(uri, headers) else { return false };
    origin
        .to_str()
        .ok()
        .and_then(|origin| origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// Decodes an `application/x-www-form-urlencoded` body into name/value pairs.
pub(crate) fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |part: &str| {
        let spaced = part.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
    };
    std::str::from_utf8(body)
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

pub(crate) fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str())
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn json_reply(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    response
}

/// `POST /index.php/login/v2`: starts a flow.
async fn start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(base) = base_url(peer, &uri, &headers, &state) else {
        return json_reply(StatusCode::BAD_REQUEST, json!({"message": "missing or invalid Host header"}).to_string());
    };
    match state.core.start_login_flow(&client_name(&headers)).await {
        Ok(flow) => {
            let body = json!({
                "poll": {"token": flow.poll_token, "endpoint": format!("{base}/index.php/login/v2/poll")},
                "login": format!("{base}{FLOW_PREFIX}{}", flow.login_token),
            });
            json_reply(StatusCode::OK, body.to_string())
        }
        Err(error) => {
            tracing::error!(%error, "cannot start a login flow");
            json_reply(StatusCode::INTERNAL_SERVER_ERROR, json!({"message": "internal server error"}).to_string())
        }
    }
}

/// `POST /index.php/login/v2/poll` with `token=…`: 404 `[]` until granted, then the
/// credentials once.
async fn poll(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let not_yet = || json_reply(StatusCode::NOT_FOUND, "[]".to_string());
    if body.len() > MAX_FORM_BODY {
        return not_yet();
    }
    let form = parse_form(&body);
    let token = field(&form, "token");
    if token.is_empty() {
        return not_yet();
    }
    let Some(base) = base_url(peer, &uri, &headers, &state) else { return not_yet() };
    match state.core.poll_login_flow(token).await {
        Ok(Some(grant)) => json_reply(
            StatusCode::OK,
            json!({"server": base, "loginName": grant.login_name, "appPassword": grant.app_password}).to_string(),
        ),
        Ok(None) => not_yet(),
        Err(error) => {
            tracing::error!(%error, "login flow poll failed");
            json_reply(StatusCode::INTERNAL_SERVER_ERROR, json!({"message": "internal server error"}).to_string())
        }
    }
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=86400")], STYLESHEET)
        .into_response()
}

/// A complete page in the web interface's layout (header, language choice, accessibility
/// link) but without scripts: `title_key` names its title and heading, `body` is trusted HTML.
pub(crate) fn page(lang: Lang, status: StatusCode, title_key: &str, body: &str) -> Response {
    let mut response = crate::web::render(
        status,
        "page.html",
        minijinja::context! {
            lang => lang.code(),
            title => t(lang, title_key),
            body => minijinja::Value::from_safe_string(body.to_string()),
            no_scripts => true,
        },
    );
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    response
}

/// A page with a title and one paragraph (invalid link, refused request, errors, done).
pub(crate) fn message_page(lang: Lang, status: StatusCode, title_key: &str, text_key: &str) -> Response {
    page(lang, status, title_key, &format!("<p>{}</p>\n", html_escape(t(lang, text_key))))
}

fn login_form(
    lang: Lang,
    status: StatusCode,
    login_token: &str,
    flow: &PendingLoginFlow,
    user: &str,
    error_key: Option<&str>,
) -> Response {
    let intro = html_escape(t(lang, "login.intro"))
        .replace("{client}", &format!("<strong>{}</strong>", html_escape(&flow.client_name)));
    let error = error_key
        .map(|key| format!("<p class=\"error\" role=\"alert\">{}</p>\n", html_escape(t(lang, key))))
        .unwrap_or_default();
    let body = format!(
        "<p>{intro}</p>\n{error}\
         <form method=\"post\" action=\"{FLOW_PREFIX}{token}\">\n\
         <input type=\"hidden\" name=\"form_token\" value=\"{form_token}\">\n\
         <label for=\"user\">{user_label}</label>\n\
         <input id=\"user\" name=\"user\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required{autofocus_user} value=\"{user}\">\n\
         <label for=\"password\">{password_label}</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{autofocus_password}>\n\
         <button id=\"login\" type=\"submit\">{submit}</button>\n\
         </form>\n",
        token = html_escape(login_token),
        form_token = html_escape(flow.form_token()),
        user_label = html_escape(t(lang, "login.user")),
        password_label = html_escape(t(lang, "login.password")),
        submit = html_escape(t(lang, "login.submit")),
        user = html_escape(user),
        autofocus_user = if user.is_empty() { " autofocus" } else { "" },
        autofocus_password = if user.is_empty() { "" } else { " autofocus" },
    );
    page(lang, status, "login.title", &body)
}

fn grant_form(lang: Lang, login_token: &str, flow: &PendingLoginFlow, user: &str, grant_token: &str) -> Response {
    let question = html_escape(t(lang, "grant.question"))
        .replace("{client}", &format!("<strong>{}</strong>", html_escape(&flow.client_name)));
    let explanation =
        html_escape(t(lang, "grant.explanation")).replace("{user}", &format!("<strong>{}</strong>", html_escape(user)));
    let body = format!(
        "<p>{question}</p>\n<p>{explanation}</p>\n\
         <form method=\"post\" action=\"{FLOW_PREFIX}{token}/grant\">\n\
         <input type=\"hidden\" name=\"form_token\" value=\"{form_token}\">\n\
         <input type=\"hidden\" name=\"user\" value=\"{user}\">\n\
         <input type=\"hidden\" name=\"grant_token\" value=\"{grant_token}\">\n\
         <button id=\"grant\" type=\"submit\" autofocus>{submit}</button>\n\
         </form>\n",
        token = html_escape(login_token),
        form_token = html_escape(flow.form_token()),
        user = html_escape(user),
        grant_token = html_escape(grant_token),
        submit = html_escape(t(lang, "grant.submit")),
    );
    page(lang, StatusCode::OK, "grant.title", &body)
}

fn internal_error(lang: Lang, error: &CoreError) -> Response {
    tracing::error!(%error, "login flow page failed");
    message_page(lang, StatusCode::INTERNAL_SERVER_ERROR, "error.title", "error.text")
}

/// Looks the flow up for a page; the page to show instead when it is gone.
async fn pending(state: &AppState, lang: Lang, token: &str) -> Result<PendingLoginFlow, Response> {
    match state.core.pending_login_flow(token).await {
        Ok(Some(flow)) => Ok(flow),
        Ok(None) => Err(message_page(lang, StatusCode::NOT_FOUND, "invalid.title", "invalid.text")),
        Err(error) => Err(internal_error(lang, &error)),
    }
}

/// Origin, body size and form token checks shared by the form POSTs.
async fn checked_form(
    state: &AppState,
    lang: Lang,
    token: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(PendingLoginFlow, Vec<(String, String)>), Response> {
    let refused = || message_page(lang, StatusCode::FORBIDDEN, "refused.title", "refused.text");
    if !same_origin(uri, headers) {
        tracing::warn!("login flow form posted from another origin");
        return Err(refused());
    }
    if body.len() > MAX_FORM_BODY {
        return Err(refused());
    }
    let flow = pending(state, lang, token).await?;
    let form = parse_form(body);
    if !flow.form_token_matches(field(&form, "form_token")) {
        tracing::warn!("login flow form with a wrong form token");
        return Err(refused());
    }
    Ok((flow, form))
}

/// `GET /index.php/login/v2/flow/{token}`: the login form.
async fn login_page(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    match pending(&state, lang, &token).await {
        Ok(flow) => login_form(lang, StatusCode::OK, &token, &flow, "", None),
        Err(response) => response,
    }
}

/// `POST /index.php/login/v2/flow/{token}`: checks the credentials (throttled), then shows
/// the grant page.
async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let (flow, form) = match checked_form(&state, lang, &token, &uri, &headers, &body).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let login = field(&form, "user").trim();
    let password = field(&form, "password");
    if login.is_empty() || password.is_empty() {
        return login_form(lang, StatusCode::FORBIDDEN, &token, &flow, login, Some("login.failed"));
    }
    let client = auth::client_address(peer, &headers, &state.config);
    match state.core.authenticate_via(login, password, client, "login_flow").await {
        Ok(AuthOutcome::Authenticated(user)) => {
            let grant_token = state.core.login_flow_grant_token(&token, &user);
            grant_form(lang, &token, &flow, &user.name, &grant_token)
        }
        Ok(AuthOutcome::Denied) => login_form(lang, StatusCode::FORBIDDEN, &token, &flow, login, Some("login.failed")),
        Err(CoreError::Throttled { retry_after_secs }) => {
            let mut response =
                login_form(lang, StatusCode::TOO_MANY_REQUESTS, &token, &flow, login, Some("login.throttled"));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(error) => internal_error(lang, &error),
    }
}

/// `POST /index.php/login/v2/flow/{token}/grant`: the user confirmed; create the app password.
async fn grant_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let (flow, form) = match checked_form(&state, lang, &token, &uri, &headers, &body).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let user = field(&form, "user");
    match state.core.grant_login_flow(&token, user, field(&form, "grant_token")).await {
        Ok(_) => message_page(lang, StatusCode::OK, "done.title", "done.text"),
        Err(CoreError::Forbidden(_)) => {
            login_form(lang, StatusCode::FORBIDDEN, &token, &flow, user, Some("login.grant_expired"))
        }
        Err(CoreError::NotFound(_)) => message_page(lang, StatusCode::NOT_FOUND, "invalid.title", "invalid.text"),
        Err(error) => internal_error(lang, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let form = parse_form(b"token=a%2Bb+c&empty=&flag&user=j%C3%BCrgen");
        assert_eq!(field(&form, "token"), "a+b c");
        assert_eq!(field(&form, "empty"), "");
        assert_eq!(field(&form, "flag"), "");
        assert_eq!(field(&form, "user"), "jürgen");
        assert_eq!(field(&form, "missing"), "");
    }

    #[test]
    fn escaping() {
        assert_eq!(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn origin_check() {
        let uri = Uri::from_static("/index.php/login/v2/flow/x");
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("cloud.example.org:8443"));
        assert!(same_origin(&uri, &headers), "no Origin: allowed (form token still required)");
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://cloud.example.org:8443"));
        assert!(same_origin(&uri, &headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&uri, &headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&uri, &headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://cloud.example.org:8443"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&uri, &headers));
    }

    #[test]
    fn hosts_are_validated() {
        let uri = Uri::from_static("/");
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(request_host(&uri, &headers), Some("127.0.0.1:8080"));
        headers.insert(header::HOST, HeaderValue::from_static("evil\"><script>"));
        assert_eq!(request_host(&uri, &headers), None);
    }
}
