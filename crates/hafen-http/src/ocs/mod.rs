//! Nextcloud OCS API at `/ocs/v1.php/…` and `/ocs/v2.php/…` (same routes under both): the
//! capabilities, the current user, app password conversion and revocation, sharing,
//! provisioning and notifications (`shares`), and polite OCS-shaped 404s for everything the
//! clients probe but Hafen does not offer (user status, navigation, unknown routes). Avatars answer a plain 404 (clients then draw a
//! default one).
//!
//! Authentication is HTTP Basic with the account password or an app password; the
//! `OCS-APIRequest` header is accepted but not required (no cookie sessions exist, so there is
//! nothing to protect against cross-site requests here).

mod envelope;
pub(crate) mod shares;

pub(crate) use shares::{share_json, tree_path};

use crate::auth;
use crate::login_flow::client_name;
use crate::{AppState, DavError};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use envelope::{Format, Ocs, Version};
use hafen_core::{CoreError, User};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// Version reported in `status.php` and the capabilities: high enough for every current
/// client feature gate (Login Flow v2 needs ≥ 16, checksum recalculation ≥ 24).
pub(crate) const VERSION_MAJOR: u32 = 28;
pub(crate) const VERSION_MINOR: u32 = 0;
pub(crate) const VERSION_MICRO: u32 = 4;
/// `version` of `status.php` (four parts, as Nextcloud).
pub(crate) const VERSION_FULL: &str = "28.0.4.1";
/// `versionstring` of `status.php` and `version.string` of the capabilities.
pub(crate) const VERSION_STRING: &str = "28.0.4";
pub(crate) const PRODUCT_NAME: &str = "Hafen";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ocs/{*rest}", any(handle))
        .route("/remote.php/dav/avatars/{*rest}", any(no_avatar))
        .route("/index.php/avatar/{*rest}", any(no_avatar))
}

async fn no_avatar() -> Response {
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "max-age=3600")]).into_response()
}

async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(rest): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let format = Format::of_request(uri.query(), &headers);
    let (version, route) = match rest.split_once('/') {
        Some(("v1.php", route)) => (Version::V1, route),
        Some(("v2.php", route)) => (Version::V2, route),
        _ => return Ocs::new(Version::V2, format).not_found(),
    };
    let ocs = Ocs::new(version, format);
    let route = route.trim_end_matches('/');
    let request = Request { state, peer, headers, ocs };
    let read = method == Method::GET || method == Method::HEAD;
    match route {
        "cloud/capabilities" if read => ocs.ok(capabilities()),
        "cloud/user" if read => request.current_user().await,
        "core/getapppassword" if read => request.get_app_password().await,
        "core/apppassword" if method == Method::DELETE => request.delete_app_password().await,
        "apps/activity/api/v2/activity"
        | "apps/activity/api/v2/activity/all"
        | "apps/activity/api/v2/activity/filter"
            if read =>
        {
            request.activities(uri.query()).await
        }
        _ => {
            let params = match shares::Params::parse(uri.query(), &request.headers, &body) {
                Ok(params) => params,
                Err(error) => return request.error(error),
            };
            match request.sharing_route(route, &method, &params).await {
                Some(response) => response,
                // Probed by the desktop GUI and mobile apps; not offered (and not advertised).
                None => ocs.not_found(),
            }
        }
    }
}

struct Request {
    state: AppState,
    peer: SocketAddr,
    headers: HeaderMap,
    ocs: Ocs,
}

impl Request {
    /// The authenticated account, or the OCS answer to send instead.
    async fn user(&self) -> Result<User, Response> {
        let client = auth::client_address(self.peer, &self.headers, &self.state.config);
        auth::authenticate(&self.state.core, &self.headers, client).await.map_err(|error| self.error(error))
    }

    /// An error in OCS form, with the status `error.rs` assigns to it.
    fn error(&self, error: DavError) -> Response {
        let status = error.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "OCS request failed");
        }
        let mut response = self.ocs.failure(status, &error.public_message());
        if let DavError::Core(CoreError::Throttled { retry_after_secs }) = error {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }

    /// `apps/activity/api/v2/activity`: the account's activity stream in Nextcloud's form,
    /// newest first; `since` (an activity id) pages on, `limit` caps the page (default 50).
    async fn activities(&self, query: Option<&str>) -> Response {
        let user = match self.user().await {
            Ok(user) => user,
            Err(response) => return response,
        };
        let params = crate::login_flow::parse_form(query.unwrap_or_default().as_bytes());
        let number = |key: &str| crate::login_flow::field(&params, key).parse::<i64>().ok();
        let before = number("since").filter(|since| *since > 0);
        let limit = number("limit").unwrap_or(50);
        match self.state.core.activities(&user, before, &[], limit).await {
            Ok(entries) => self.ocs.ok(Value::from(
                entries.iter().map(|entry| crate::activity_api::nextcloud_json(entry, &user.name)).collect::<Vec<_>>(),
            )),
            Err(error) => self.error(error.into()),
        }
    }

    /// `cloud/user`: who the credentials belong to, with the fields the clients read.
    async fn current_user(&self) -> Response {
        let user = match self.user().await {
            Ok(user) => user,
            Err(response) => return response,
        };
        let quota = match self.state.core.quota(&user).await {
            Ok(quota) => quota,
            Err(error) => return self.error(error.into()),
        };
        // Nextcloud reports an unlimited quota as -3 in `free`, `total` and `quota`.
        const UNLIMITED: i64 = -3;
        let quota = match quota.limit {
            Some(limit) => {
                let relative =
                    if limit > 0 { (quota.used as f64 * 10_000.0 / limit as f64).round() / 100.0 } else { 0.0 };
                json!({
                    "free": quota.available().unwrap_or(0),
                    "used": quota.used,
                    "total": limit,
                    "relative": relative,
                    "quota": limit,
                })
            }
            None => {
                json!({"free": UNLIMITED, "used": quota.used, "total": UNLIMITED, "relative": 0, "quota": UNLIMITED})
            }
        };
        self.ocs.ok(json!({
            "enabled": true,
            "id": user.name,
            "lastLogin": 0,
            "backend": "Database",
            "subadmin": [],
            "quota": quota,
            "email": user.email,
            "displayname": user.display_name,
            "display-name": user.display_name,
            "phone": "",
            "address": "",
            "website": "",
            "twitter": "",
            "groups": if user.is_admin { json!(["admin"]) } else { json!([]) },
            "language": "",
            "locale": "",
            "backendCapabilities": {"setDisplayName": false, "setPassword": false},
        }))
    }

    /// `core/getapppassword`: trades the account password for a new app password. Refused
    /// (403) when the request already authenticated with an app password, as Nextcloud does.
    async fn get_app_password(&self) -> Response {
        let user = match self.user().await {
            Ok(user) => user,
            Err(response) => return response,
        };
        let Some((login, secret)) = auth::basic_credentials(&self.headers) else {
            return self.ocs.failure(StatusCode::UNAUTHORIZED, "Current user is not logged in");
        };
        match self.state.core.is_app_password(&login, &secret).await {
            Ok(true) => return self.ocs.failure(StatusCode::FORBIDDEN, "this request already uses an app password"),
            Ok(false) => {}
            Err(error) => return self.error(error.into()),
        }
        match self.state.core.create_app_password(&user.name, &client_name(&self.headers)).await {
            Ok(token) => self.ocs.ok(json!({"apppassword": token})),
            Err(error) => self.error(error.into()),
        }
    }

    /// `DELETE core/apppassword`: revokes the app password the request authenticated with.
    async fn delete_app_password(&self) -> Response {
        let user = match self.user().await {
            Ok(user) => user,
            Err(response) => return response,
        };
        let Some((_, secret)) = auth::basic_credentials(&self.headers) else {
            return self.ocs.failure(StatusCode::UNAUTHORIZED, "Current user is not logged in");
        };
        match self.state.core.revoke_app_password_token(&user, &secret).await {
            Ok(true) => self.ocs.ok(json!([])),
            Ok(false) => self.ocs.failure(StatusCode::FORBIDDEN, "this request does not use an app password"),
            Err(error) => self.error(error.into()),
        }
    }
}

/// The `data` of `cloud/capabilities`: only what Hafen implements (chunking "1.0"; no bulk
/// upload, locking, end-to-end encryption, notifications, activity, push or user status).
fn capabilities() -> Value {
    json!({
        "version": {
            "major": VERSION_MAJOR,
            "minor": VERSION_MINOR,
            "micro": VERSION_MICRO,
            "string": VERSION_STRING,
            "edition": "",
            "extendedSupport": false,
        },
        "capabilities": {
            "core": {"pollinterval": 60, "webdav-root": "remote.php/webdav"},
            "dav": {"chunking": "1.0"},
            "files": {"bigfilechunking": true, "blacklisted_files": [".htaccess"]},
            "checksums": {"supportedTypes": ["SHA1"], "preferredUploadType": "SHA1"},
            "files_sharing": {
                "api_enabled": true,
                "resharing": true,
                "group_sharing": true,
                "default_permissions": 31,
                "public": {
                    "enabled": true,
                    "upload": true,
                    "upload_files_drop": true,
                    "supports_upload_only": true,
                    "multiple": true,
                    "password": {"enforced": false, "askForOptionalPassword": false},
                    "expire_date": {"enabled": true, "enforced": false},
                },
                "user": {"send_mail": false, "expire_date": {"enabled": true}},
                "sharee": {"query_lookup_default": false, "always_show_unique": true},
            },
            "notifications": {"ocs-endpoints": ["list", "delete"]},
            "theming": {
                "name": PRODUCT_NAME,
                "productName": PRODUCT_NAME,
                "url": "",
                "slogan": "",
                "color": "#0b5394",
                "color-text": "#ffffff",
                "color-element": "#0b5394",
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_advertise_only_what_exists() {
        let value = capabilities();
        let caps = &value["capabilities"];
        assert_eq!(caps["dav"]["chunking"], "1.0");
        assert!(caps["dav"].get("bulkupload").is_none());
        for absent in ["notify_push", "activity", "end-to-end-encryption", "user_status"] {
            assert!(caps.get(absent).is_none(), "{absent} must not be advertised");
        }
        assert!(caps["files"].get("locking").is_none());
        assert!(value.get("uploadConflictFiles").is_none());
    }
}
