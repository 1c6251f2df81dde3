//! Who is asking: HTTP Basic credentials checked by the core, and the client address
//! (taken from `X-Forwarded-For` only when the connection comes from a trusted proxy).

use crate::error::{DavError, DavResult};
use crate::HttpConfig;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use hafen_core::{AuthOutcome, Core, CoreError, User};
use std::net::{IpAddr, SocketAddr};

/// The address failed logins are counted against.
pub(crate) fn client_address(peer: SocketAddr, headers: &HeaderMap, config: &HttpConfig) -> IpAddr {
    let peer_ip = peer.ip();
    if !config.trusted_proxies.contains(&peer_ip) {
        return peer_ip;
    }
    // Walk the chain from the right: the first address that is not one of our proxies is the
    // client as seen by the outermost trusted proxy; anything left of it is client-supplied.
    let forwarded =
        headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect::<Vec<_>>().join(",");
    forwarded
        .split(',')
        .rev()
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .find(|address| !config.trusted_proxies.contains(address))
        .unwrap_or(peer_ip)
}

/// Whether the client reached us over TLS: terminated by this server itself (`config.tls`,
/// then every connection is TLS) or by a trusted reverse proxy (`X-Forwarded-Proto: https`,
/// believed only from a trusted proxy).
pub(crate) fn over_tls(peer: SocketAddr, headers: &HeaderMap, config: &HttpConfig) -> bool {
    config.tls
        || config.trusted_proxies.contains(&peer.ip())
            && headers
                .get("x-forwarded-proto")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.split(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The login and secret of an `Authorization: Basic` header, if there is a well-formed one.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Basic ").or_else(|| text.strip_prefix("basic ")))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())?;
    let (login, secret) = decoded.split_once(':')?;
    Some((login.to_string(), secret.to_string()))
}

/// Authenticates the request with HTTP Basic credentials.
pub(crate) async fn authenticate(core: &Core, headers: &HeaderMap, client: IpAddr) -> DavResult<User> {
    let (login, secret) = basic_credentials(headers).ok_or(DavError::Core(CoreError::Unauthorized))?;
    match core.authenticate(&login, &secret, client).await? {
        AuthOutcome::Authenticated(user) => Ok(user),
        AuthOutcome::Denied => Err(DavError::Core(CoreError::Unauthorized)),
    }
}

/// Name of the browser session cookie of the web interface.
pub(crate) const SESSION_COOKIE: &str = "hafen_session";
/// Header the web interface's scripts send the session's CSRF token in (Nextcloud's name).
pub(crate) const CSRF_HEADER: &str = "requesttoken";

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Authenticates with HTTP Basic credentials or, without them, with the web interface's
/// session cookie. A cookie alone is enough only for `safe` requests (downloads): everything
/// else must also carry the session's CSRF token in the `requesttoken` header, which another
/// site cannot read or set.
pub(crate) async fn authenticate_any(core: &Core, headers: &HeaderMap, client: IpAddr, safe: bool) -> DavResult<User> {
    if headers.contains_key(header::AUTHORIZATION) {
        return authenticate(core, headers, client).await;
    }
    let unauthorized = || DavError::Core(CoreError::Unauthorized);
    let session = cookie_value(headers, SESSION_COOKIE).ok_or_else(unauthorized)?;
    if !safe {
        let token = headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
        if !hafen_core::csrf_token_matches(session, token) {
            return Err(DavError::Forbidden("the request token is missing or wrong; please reload the page".into()));
        }
    }
    core.web_session_user(session).await?.ok_or_else(unauthorized)
}
