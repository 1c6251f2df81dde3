//! Personal settings: profile (display name, e-mail, notifications by e-mail), storage use,
//! password change (the current password is verified; the change ends every browser session,
//! so the browser gets a new one), app passwords for the desktop and mobile apps (created,
//! shown exactly once, revoked), and the interface language.
//!
//! After an action the browser is sent back to `/settings` with `done=` or `failed=` naming a
//! catalog message (only known keys are shown). A new app password is the exception: the page
//! is rendered directly so the token never appears in a URL or the history.

use super::{back_to, error_key, error_page, flash, language_cookie, redirect, render, session_cookie, web_form};
use super::{web_user, WebUser};
use crate::auth;
use crate::i18n::Lang;
use crate::login_flow::field;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hafen_core::{AuthOutcome, CoreError};
use minijinja::{context, Value};
use std::collections::HashMap;
use std::net::SocketAddr;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/profile", post(profile))
        .route("/settings/password", post(password))
        .route("/settings/app-passwords", post(create_app_password))
        .route("/settings/app-passwords/revoke", post(revoke_app_password))
        .route("/settings/language", post(language))
}

/// Messages an action may report back (`done=` / `failed=` of the settings URL).
const FLASH_KEYS: &[&str] = &[
    "settings.done.profile",
    "settings.done.password",
    "settings.done.app_password",
    "settings.done.revoked",
    "settings.done.language",
    "settings.failed.current_password",
    "settings.failed.password_short",
    "settings.failed.email",
    "settings.failed.label",
    "error.not_found",
    "error.forbidden",
    "error.conflict",
    "error.invalid",
    "error.throttled",
    "error.internal",
];

/// Shortest account password (as `Core::set_password_as` requires).
const MIN_PASSWORD_CHARS: usize = 10;
/// Longest app password label.
const MAX_LABEL_CHARS: usize = 100;
/// Longest display name.
const MAX_DISPLAY_NAME_CHARS: usize = 200;

fn back_with(outcome: Result<&str, &str>) -> Response {
    back_to("/settings", outcome)
}

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
    settings_page(&state, &web, &uri, flash(&query, FLASH_KEYS), None).await
}

/// The settings page; `new_token` is an app password just created (shown once).
async fn settings_page(
    state: &AppState,
    web: &WebUser,
    uri: &Uri,
    flash: Option<Value>,
    new_token: Option<&str>,
) -> Response {
    let lang = web.lang;
    let quota = match state.core.quota(&web.user).await {
        Ok(quota) => quota,
        Err(error) => return error_page(lang, &error),
    };
    let app_passwords = match state.core.list_app_passwords(&web.user).await {
        Ok(passwords) => passwords,
        Err(error) => return error_page(lang, &error),
    };
    let app_passwords: Vec<Value> = app_passwords
        .iter()
        .map(|password| {
            context! {
                id => password.id,
                label => password.label,
                created_at => password.created_at,
                last_used => password.last_used,
            }
        })
        .collect();
    let percent = quota.limit.filter(|limit| *limit > 0).map(|limit| (quota.used.saturating_mul(100) / limit).min(100));
    let user = &web.user;
    let base = web.base_context(uri);
    render(
        StatusCode::OK,
        "settings.html",
        context! {
            section => "settings",
            name => user.name,
            display_name => user.display_name,
            email => user.email.clone().unwrap_or_default(),
            notify_by_email => user.notify_by_email,
            mail_digest => user.mail_digest,
            mail_digests => hafen_core::MAIL_DIGESTS,
            quota_used => quota.used,
            quota_limit => quota.limit,
            quota_percent => percent,
            app_passwords => app_passwords,
            new_token => new_token,
            flash => flash,
            ..base
        },
    )
}

fn checked(form: &[(String, String)], name: &str) -> bool {
    form.iter().any(|(key, value)| key == name && !value.is_empty())
}

/// A plausible e-mail address (the mail server has the last word).
fn plausible_email(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
}

/// `POST /settings/profile` (`display_name`, `email`, `notify_email`, `mail_digest` =
/// `batched` | `daily`).
async fn profile(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let display_name = field(&form, "display_name").trim();
    let display_name = if display_name.is_empty() { web.user.name.clone() } else { display_name.to_string() };
    if display_name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return back_with(Err("error.invalid"));
    }
    let email = field(&form, "email").trim();
    if !email.is_empty() && !plausible_email(email) {
        return back_with(Err("settings.failed.email"));
    }
    let email = (!email.is_empty()).then(|| email.to_string());
    let name = web.user.name.clone();
    let updated = match state.core.update_account(&web.user, &name, Some(display_name), Some(email), None).await {
        Ok(user) => user,
        Err(error) => return back_with(Err(error_key(&error))),
    };
    let notify = checked(&form, "notify_email");
    if notify != updated.notify_by_email {
        if let Err(error) = state.core.set_notify_by_email(&updated, notify).await {
            return back_with(Err(error_key(&error)));
        }
    }
    // Absent from older forms: then the choice stays as it is.
    let digest = field(&form, "mail_digest");
    if !digest.is_empty() && digest != updated.mail_digest {
        if !hafen_core::MAIL_DIGESTS.contains(&digest) {
            return back_with(Err("error.invalid"));
        }
        if let Err(error) = state.core.set_mail_digest(&updated, digest).await {
            return back_with(Err(error_key(&error)));
        }
    }
    back_with(Ok("settings.done.profile"))
}

/// `POST /settings/password` (`current`, `new`): verifies the current password (throttled like
/// a login), sets the new one — which ends every session, this one too — and starts a new
/// session for this browser.
async fn password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (current, new) = (field(&form, "current"), field(&form, "new"));
    let name = web.user.name.clone();
    let client = auth::client_address(peer, &headers, &state.config);
    let verified = match state.core.authenticate_via(&name, current, client, "settings").await {
        // An app password proves possession of a device, not knowledge of the password.
        Ok(AuthOutcome::Authenticated(_)) => match state.core.is_app_password(&name, current).await {
            Ok(is_app_password) => !is_app_password,
            Err(error) => return back_with(Err(error_key(&error))),
        },
        Ok(AuthOutcome::Denied) => false,
        Err(error) => return back_with(Err(error_key(&error))),
    };
    if !verified {
        return back_with(Err("settings.failed.current_password"));
    }
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return back_with(Err("settings.failed.password_short"));
    }
    match state.core.set_password_as(&web.user, &name, new).await {
        Ok(()) => {}
        Err(CoreError::InvalidInput(_)) => return back_with(Err("settings.failed.password_short")),
        Err(error) => return back_with(Err(error_key(&error))),
    }
    match state.core.start_web_session(&name, new, client).await {
        Ok(Some(session)) => {
            let mut response = back_with(Ok("settings.done.password"));
            response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, peer, &headers, &session.token));
            response
        }
        // The password is changed but no session could start: log in again with it.
        Ok(None) | Err(_) => redirect("/login?redirect_url=%2Fsettings"),
    }
}

/// `POST /settings/app-passwords` (`label`): creates an app password and shows it once.
async fn create_app_password(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let label = field(&form, "label").trim();
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        return back_with(Err("settings.failed.label"));
    }
    let token = match state.core.create_app_password(&web.user.name, label).await {
        Ok(token) => token,
        Err(error) => return back_with(Err(error_key(&error))),
    };
    let flash = context! { failed => false, key => "settings.done.app_password" };
    settings_page(&state, &web, &Uri::from_static("/settings"), Some(flash), Some(&token)).await
}

/// `POST /settings/app-passwords/revoke` (`id`).
async fn revoke_app_password(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(id) = field(&form, "id").parse::<i64>() else { return back_with(Err("error.invalid")) };
    match state.core.revoke_app_password(&web.user, id).await {
        Ok(()) => back_with(Ok("settings.done.revoked")),
        Err(error) => back_with(Err(error_key(&error))),
    }
}

/// `POST /settings/language` (`lang` = `de` | `en`): like the footer's form, the account's
/// setting (which wins over any browser's cookie) and the cookie of this browser.
async fn language(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(chosen) = Lang::from_code(field(&form, "lang")) else { return back_with(Err("error.invalid")) };
    if let Err(error) = state.core.set_language(&web.user, chosen.code()).await {
        return back_with(Err(error_key(&error)));
    }
    let mut response = back_with(Ok("settings.done.language"));
    response.headers_mut().insert(header::SET_COOKIE, language_cookie(&state, peer, &headers, chosen));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_plausibility() {
        assert!(plausible_email("anna@example.org"));
        assert!(!plausible_email("anna"));
        assert!(!plausible_email("@example.org"));
        assert!(!plausible_email("anna@localhost"));
        assert!(!plausible_email("an na@example.org"));
    }

    #[test]
    fn flash_keys_are_in_the_catalog() {
        for key in FLASH_KEYS {
            assert_ne!(crate::i18n::t(Lang::De, key), "?", "{key}");
            assert_ne!(crate::i18n::t(Lang::En, key), "?", "{key}");
        }
    }
}
