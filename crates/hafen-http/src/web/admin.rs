//! Administration for server administrators and organisation administrators: organisations
//! (server administrators create them), accounts (create, change quota, delete), groups
//! (create, add members) and guest invitations. Everything goes through the core's
//! rights-checked methods, so an organisation's administrators see and change only their
//! organisation; accounts that administer nothing get 403 on every page and action.
//!
//! After an action the browser is sent back to `/admin` with `done=` or `failed=` naming a
//! catalog message (only known keys are shown). An invitation without a mailer is the
//! exception: the page is rendered directly with the one-time link, which must not end up in
//! a URL.

use super::{
    back_to, error_key, error_page, flash, message, percent_encode, redirect, render, web_form, web_user, WebUser,
};
use crate::i18n::Lang;
use crate::login_flow::field;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hafen_core::{CoreError, NewAccount, Organisation, User};
use minijinja::{context, Value};
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/orgs", post(create_org))
        .route("/admin/users", post(create_user))
        .route("/admin/users/quota", post(set_quota))
        .route("/admin/users/delete", post(delete_user))
        .route("/admin/groups", post(create_group))
        .route("/admin/groups/members", post(add_member))
        .route("/admin/guests", post(invite_guest))
}

/// Messages an action may report back (`done=` / `failed=` of the administration URL).
const FLASH_KEYS: &[&str] = &[
    "admin.done.org",
    "admin.done.user",
    "admin.done.quota",
    "admin.done.deleted",
    "admin.done.group",
    "admin.done.member",
    "admin.done.guest_mailed",
    "admin.failed.name",
    "admin.failed.exists",
    "admin.failed.quota",
    "admin.failed.quota_org",
    "admin.failed.password_short",
    "admin.failed.email",
    "admin.failed.account",
    "error.not_found",
    "error.forbidden",
    "error.conflict",
    "error.invalid",
    "error.internal",
];

/// Shortest initial password of a new account (as `Core::set_password_as` requires).
const MIN_PASSWORD_CHARS: usize = 10;
/// Longest display name.
const MAX_DISPLAY_NAME_CHARS: usize = 200;
/// Bytes per GB: decimal units, as the pages show sizes.
const GB: f64 = 1e9;
/// Largest quota accepted, in bytes (an exabyte: far beyond any store, far below `i64::MAX`).
const MAX_QUOTA_BYTES: f64 = 1e18;

fn back_with(outcome: Result<&str, &str>) -> Response {
    back_to("/admin", outcome)
}

/// Whether the account administers anything (the whole server or an organisation).
fn administers(user: &User) -> bool {
    user.is_admin || (user.org_admin && user.org.is_some())
}

/// How recently an administrator must have entered the password (default).
const ADMIN_REAUTH_SECS: i64 = 15 * 60;

fn forbidden(lang: Lang) -> Response {
    message(lang, StatusCode::FORBIDDEN, "admin.forbidden.title", "admin.forbidden")
}

/// The administrator behind an administration form (CSRF-checked), or the refusal.
async fn admin_form(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(WebUser, Vec<(String, String)>), Response> {
    let (web, form) = web_form(state, uri, headers, body).await?;
    if !administers(&web.user) {
        return Err(forbidden(web.lang));
    }
    // Re-authentication: an administration action needs a password entered recently, so an
    // unattended browser session cannot be used to change accounts.
    let window = state.config.admin_reauth_secs.unwrap_or(ADMIN_REAUTH_SECS);
    let started = state.core.web_session_started(&web.session).await.ok().flatten();
    if started.is_none_or(|at| hafen_core::unix_now() - at > window) {
        return Err(redirect(&format!("/login?reauth=1&user={}", percent_encode(&web.user.name))));
    }
    Ok((web, form))
}

/// The bytes of a quota typed in GB (decimal comma or point, e.g. `2,5`); `None` for an empty
/// field (unlimited); `Err` for anything else.
pub(crate) fn parse_quota_gb(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let normalized = text.replace(',', ".");
    let well_formed = normalized.chars().all(|c| c.is_ascii_digit() || c == '.')
        && normalized.chars().filter(|c| *c == '.').count() <= 1
        && normalized.chars().any(|c| c.is_ascii_digit());
    if !well_formed {
        return Err(());
    }
    let gigabytes: f64 = normalized.parse().map_err(|_| ())?;
    let bytes = (gigabytes * GB).round();
    if !bytes.is_finite() || bytes > MAX_QUOTA_BYTES {
        return Err(());
    }
    Ok(Some(bytes as i64))
}

/// A quota in GB as the page's language writes it (`2,5` / `2.5`), for the quota fields.
pub(crate) fn quota_gb_text(lang: Lang, bytes: i64) -> String {
    let text = format!("{:.3}", bytes as f64 / GB);
    let text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    if lang == Lang::De {
        text.replace('.', ",")
    } else {
        text
    }
}

/// Account, organisation and group names: as the core accepts them.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

/// A plausible e-mail address (the mail server has the last word).
fn plausible_email(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
}

fn checked(form: &[(String, String)], name: &str) -> bool {
    form.iter().any(|(key, value)| key == name && !value.is_empty())
}

/// A display name from a form: trimmed, empty meaning "use the name".
fn display_name_field(form: &[(String, String)], name: &str) -> Result<String, ()> {
    let display = field(form, name).trim();
    if display.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(());
    }
    Ok(display.to_string())
}

/// Whether an organisation administrator may give an account `quota` in organisation
/// `org`: not beyond the organisation's own quota (as `Core::create_account_as` checks;
/// server administrators are not bound).
fn quota_fits_org(actor: &User, org: Option<&Organisation>, quota: Option<i64>) -> bool {
    if actor.is_admin {
        return true;
    }
    match (org.and_then(|org| org.quota), quota) {
        (Some(limit), Some(quota)) => quota <= limit,
        _ => true,
    }
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
    if !administers(&web.user) {
        return forbidden(web.lang);
    }
    admin_page(&state, &web, &uri, flash(&query, FLASH_KEYS), None).await
}

/// The administration page; `invitation` is a guest invitation just made without a mailer
/// (its one-time link is shown once).
async fn admin_page(
    state: &AppState,
    web: &WebUser,
    uri: &Uri,
    flash: Option<Value>,
    invitation: Option<Value>,
) -> Response {
    match page_context(state, web).await {
        Ok(page) => {
            let base = web.base_context(uri);
            render(
                StatusCode::OK,
                "admin.html",
                context! { section => "admin", flash => flash, invitation => invitation, ..context! { ..page, ..base } },
            )
        }
        Err(error) => error_page(web.lang, &error),
    }
}

async fn page_context(state: &AppState, web: &WebUser) -> Result<Value, CoreError> {
    let core = &state.core;
    let actor = &web.user;
    let lang = web.lang;
    let orgs = core.list_orgs(actor).await?;
    let mut org_rows = Vec::with_capacity(orgs.len());
    for org in &orgs {
        let used = core.org_used_bytes(org).await?;
        org_rows.push(context! {
            name => org.name,
            display_name => org.display_name,
            quota => org.quota,
            used => used,
        });
    }
    let org_name = |id| orgs.iter().find(|org| org.id == id).map(|org| org.name.clone());
    let accounts = core.administered_accounts(actor).await?;
    let mut user_rows = Vec::with_capacity(accounts.len());
    for user in &accounts {
        // A failed usage lookup leaves one cell empty rather than the whole page.
        let used = core.quota(user).await.ok().map(|quota| quota.used);
        let role = if user.is_admin {
            "admin"
        } else if user.org_admin {
            "org_admin"
        } else if user.is_guest {
            "guest"
        } else {
            "user"
        };
        user_rows.push(context! {
            name => user.name,
            display_name => user.display_name,
            email => user.email,
            org => user.org.and_then(org_name),
            quota => user.quota,
            quota_gb => user.quota.map(|bytes| quota_gb_text(lang, bytes)).unwrap_or_default(),
            used => used,
            role => role,
            is_self => user.id == actor.id,
        });
    }
    // Where the actor may create accounts and groups.
    let own_orgs: Vec<Value> = orgs
        .iter()
        .filter(|org| actor.is_admin || (actor.org_admin && actor.org == Some(org.id)))
        .map(|org| context! { name => org.name, display_name => org.display_name })
        .collect();
    let groups = core.list_groups(actor).await?;
    let mut group_rows = Vec::with_capacity(groups.len());
    for group in &groups {
        // Members are shown where the actor may see them (administrators and members).
        let members: Option<Vec<Value>> = core.group_members(actor, &group.name).await.ok().map(|members| {
            members.iter().map(|(user, admin)| context! { name => user.name, admin => admin }).collect()
        });
        let org = group.org.map(|id| org_name(id).unwrap_or_default());
        group_rows.push(context! {
            name => group.name,
            display_name => group.display_name,
            org => org,
            members => members,
        });
    }
    Ok(context! {
        is_server_admin => actor.is_admin,
        orgs => org_rows,
        own_orgs => own_orgs,
        users => user_rows,
        groups => group_rows,
    })
}

/// `POST /admin/orgs` (`name`, `display_name`, `quota` in GB): server administrators only.
async fn create_org(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match admin_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !web.user.is_admin {
        return forbidden(web.lang);
    }
    let name = field(&form, "name").trim();
    if !valid_name(name) {
        return back_with(Err("admin.failed.name"));
    }
    let Ok(display) = display_name_field(&form, "display_name") else { return back_with(Err("error.invalid")) };
    let Ok(quota) = parse_quota_gb(field(&form, "quota")) else { return back_with(Err("admin.failed.quota")) };
    match state.core.create_org(&web.user, name, &display, quota).await {
        Ok(_) => back_with(Ok("admin.done.org")),
        Err(CoreError::Conflict(_)) => back_with(Err("admin.failed.exists")),
        Err(error) => back_with(Err(error_key(&error))),
    }
}

/// `POST /admin/users` (`name`, `display_name`, `email`, `password`, `org`, `org_admin`,
/// `quota` in GB).
async fn create_user(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match admin_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let name = field(&form, "name").trim();
    if !valid_name(name) {
        return back_with(Err("admin.failed.name"));
    }
    let Ok(display) = display_name_field(&form, "display_name") else { return back_with(Err("error.invalid")) };
    let email = field(&form, "email").trim();
    if !email.is_empty() && !plausible_email(email) {
        return back_with(Err("admin.failed.email"));
    }
    let password = field(&form, "password");
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return back_with(Err("admin.failed.password_short"));
    }
    let Ok(quota) = parse_quota_gb(field(&form, "quota")) else { return back_with(Err("admin.failed.quota")) };
    let org = Some(field(&form, "org").trim()).filter(|org| !org.is_empty());
    let org_record = match org {
        Some(org) => match state.core.org_named(org).await {
            Ok(found) => Some(found),
            Err(error) => return back_with(Err(error_key(&error))),
        },
        None => None,
    };
    if !quota_fits_org(&web.user, org_record.as_ref(), quota) {
        return back_with(Err("admin.failed.quota_org"));
    }
    let account = NewAccount {
        name: name.to_string(),
        password: password.to_string(),
        display_name: Some(display).filter(|display| !display.is_empty()),
        email: Some(email.to_string()).filter(|email| !email.is_empty()),
        quota,
        is_admin: false,
        org: org.map(str::to_string),
        org_admin: org.is_some() && checked(&form, "org_admin"),
    };
    match state.core.create_account_as(&web.user, account).await {
        Ok(_) => back_with(Ok("admin.done.user")),
        Err(CoreError::Conflict(_)) => back_with(Err("admin.failed.exists")),
        Err(error) => back_with(Err(error_key(&error))),
    }
}

/// `POST /admin/users/quota` (`name`, `quota` in GB, empty = unlimited).
async fn set_quota(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match admin_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let name = field(&form, "name");
    let Ok(quota) = parse_quota_gb(field(&form, "quota")) else { return back_with(Err("admin.failed.quota")) };
    if !web.user.is_admin {
        // Only accounts of the actor's own organisation are administered here (the core
        // checks that); its quota bounds theirs.
        let org = match state.core.list_orgs(&web.user).await {
            Ok(orgs) => orgs.into_iter().find(|org| Some(org.id) == web.user.org),
            Err(error) => return back_with(Err(error_key(&error))),
        };
        if !quota_fits_org(&web.user, org.as_ref(), quota) {
            return back_with(Err("admin.failed.quota_org"));
        }
    }
    match state.core.update_account(&web.user, name, None, None, Some(quota)).await {
        Ok(_) => back_with(Ok("admin.done.quota")),
        Err(CoreError::NotFound(_)) => back_with(Err("admin.failed.account")),
        Err(error) => back_with(Err(error_key(&error))),
    }
}

/// `POST /admin/users/delete` (`name`): the account and all its files.
async fn delete_user(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match admin_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state.core.delete_account_as(&web.user, field(&form, "name")).await {
        Ok(()) => back_with(Ok("admin.done.deleted")),
        Err(CoreError::NotFound(_)) => back_with(Err("admin.failed.account")),
        Err(error) => back_with(Err(error_key(&error))),
    }
}

/// `POST /admin/groups` (`name`, `display_name`, `org`; empty `org` = project group).
async fn create_group(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match admin_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let name = field(&form, "name").trim();
    if !valid_name(name) {
        return back_with(Err("admin.failed.name"));
    }
    let Ok(display) = display_name_field(&form, "display_name") else { return back_with(Err("error.invalid")) };
    let org = Some(field(&form, "org").trim()).filter(|org| !org.is_empty());
    match state.core.create_group(&web.user, name, &display, org).await {
        Ok(_) => back_with(Ok("admin.done.group")),
        Err(CoreError::Conflict(_)) => back_with(Err("admin.failed.exists")),
        Err(error) => back_with(Err(error_key(&error))),
    }
}

/// `POST /admin/groups/members` (`group`, `member`, `admin`).
async fn add_member(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match admin_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (group, member) = (field(&form, "group").trim(), field(&form, "member").trim());
    if group.is_empty() || member.is_empty() {
        return back_with(Err("error.invalid"));
    }
    match state.core.set_group_member(&web.user, group, member, checked(&form, "admin")).await {
        Ok(()) => back_with(Ok("admin.done.member")),
        Err(CoreError::NotFound(_)) => back_with(Err("admin.failed.account")),
        Err(error) => back_with(Err(error_key(&error))),
    }
}

/// `POST /admin/guests` (`email`, `display_name`): creates the guest account and mails the
/// invitation; without a mailer the page shows the one-time link to pass on.
async fn invite_guest(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match admin_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let email = field(&form, "email").trim();
    if !plausible_email(email) {
        return back_with(Err("admin.failed.email"));
    }
    let Ok(display) = display_name_field(&form, "display_name") else { return back_with(Err("error.invalid")) };
    let invitation = match state.core.invite_guest(&web.user, email, Some(&display)).await {
        Ok(invitation) => invitation,
        Err(CoreError::Conflict(_)) => return back_with(Err("admin.failed.exists")),
        Err(CoreError::InvalidInput(_)) => return back_with(Err("admin.failed.email")),
        Err(error) => return back_with(Err(error_key(&error))),
    };
    if invitation.mailed {
        return back_with(Ok("admin.done.guest_mailed"));
    }
    let link = format!("{}/invite/{}", state.core.public_url().trim_end_matches('/'), invitation.token);
    let flash = context! { failed => false, key => "admin.done.guest_created" };
    let shown = context! { email => invitation.guest.name, link => link };
    admin_page(&state, &web, &Uri::from_static("/admin"), Some(flash), Some(shown)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_in_gigabytes() {
        assert_eq!(parse_quota_gb(""), Ok(None));
        assert_eq!(parse_quota_gb("  "), Ok(None));
        assert_eq!(parse_quota_gb("2"), Ok(Some(2_000_000_000)));
        assert_eq!(parse_quota_gb("2,5"), Ok(Some(2_500_000_000)));
        assert_eq!(parse_quota_gb("0.001"), Ok(Some(1_000_000)));
        assert_eq!(parse_quota_gb("0"), Ok(Some(0)));
        assert_eq!(parse_quota_gb(",5"), Ok(Some(500_000_000)));
        for bad in ["-1", "1e3", "1,000.5", "abc", ".", "inf", "NaN", "1 000", "10000000000"] {
            assert_eq!(parse_quota_gb(bad), Err(()), "{bad}");
        }
        assert_eq!(quota_gb_text(Lang::De, 2_500_000_000), "2,5");
        assert_eq!(quota_gb_text(Lang::En, 2_500_000_000), "2.5");
        assert_eq!(quota_gb_text(Lang::En, 3_000_000_000), "3");
        assert_eq!(quota_gb_text(Lang::En, 0), "0");
    }

    #[test]
    fn flash_keys_are_in_the_catalog() {
        for key in FLASH_KEYS.iter().chain(&["admin.done.guest_created", "admin.forbidden", "admin.forbidden.title"]) {
            assert_ne!(crate::i18n::t(Lang::De, key), "?", "{key}");
            assert_ne!(crate::i18n::t(Lang::En, key), "?", "{key}");
        }
    }
}
