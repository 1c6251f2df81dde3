//! Nextcloud's OCS share API (`apps/files_sharing/api/v1/shares`, `sharees`), the user and
//! group provisioning endpoints the clients and admin tools use (`cloud/users`,
//! `cloud/groups`), and in-app notifications (`apps/notifications/api/v2/notifications`).
//! Parameters come from the query string, a form body or a JSON body, as Nextcloud accepts.
//! Every rule (who may share what, who administers whom) is the core's.

use super::Request;
use crate::DavError;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use hafen_core::{
    perm, CoreError, NewAccount, NewShare, RecipientName, ShareRecipient, ShareUpdate, ShareView, Sharee, TreePath,
    User,
};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Request parameters, merged from the query string and the body (form or JSON).
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Params, DavError> {
        let mut map = HashMap::new();
        let mut add_form = |text: &[u8]| {
            for (key, value) in crate::login_flow::parse_form(text) {
                map.insert(key.trim_end_matches("[]").to_string(), value);
            }
        };
        if let Some(query) = query {
            add_form(query.as_bytes());
        }
        let is_json = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if is_json && !body.is_empty() {
            let value: Value = serde_json::from_slice(body)
                .map_err(|error| DavError::BadRequest(format!("the JSON body is not valid: {error}")))?;
            let object =
                value.as_object().ok_or_else(|| DavError::BadRequest("the JSON body must be an object".into()))?;
            for (key, value) in object {
                let text = match value {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                map.insert(key.clone(), text);
            }
        } else if !body.is_empty() {
            add_form(body);
        }
        Ok(Params(map))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub(crate) fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|value| matches!(value, "true" | "1" | "yes"))
    }

    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, DavError> {
        match self.get(key).filter(|value| !value.is_empty()) {
            None => Ok(None),
            Some(text) => {
                text.parse().map(Some).map_err(|_| DavError::BadRequest(format!("{key} must be a whole number")))
            }
        }
    }
}

/// `expireDate` as Nextcloud's clients send it (`YYYY-MM-DD`, optionally with a time): the
/// link works through that whole day (UTC) and stops at the following midnight.
pub(crate) fn parse_expire_date(text: &str) -> Result<Option<i64>, DavError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date = text.get(..10).unwrap_or(text);
    let bad = || DavError::BadRequest("expireDate must be a date YYYY-MM-DD".into());
    let mut parts = date.split('-');
    let (Some(year), Some(month), Some(day), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (year, month, day): (i64, i64, i64) =
        (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?, day.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1970..=9999).contains(&year) {
        return Err(bad());
    }
    Ok(Some(days_from_civil(year, month, day) * 86_400 + 86_400))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm; no
/// calendar crate is needed for this one conversion).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The day a link expires on, as Nextcloud shows it (`YYYY-MM-DD 00:00:00`): the last day it
/// still works.
pub(crate) fn expiration_text(expires_at: Option<i64>) -> Value {
    match expires_at {
        None => Value::Null,
        Some(at) => {
            let last_day = std::time::UNIX_EPOCH + std::time::Duration::from_secs((at - 1).max(0) as u64);
            let formatted = humantime::format_rfc3339_seconds(last_day).to_string();
            Value::from(format!("{} 00:00:00", &formatted[..10]))
        }
    }
}

/// A share in the shape of Nextcloud's `formatShare`.
pub(crate) fn share_json(view: &ShareView, public_url: &str) -> Value {
    let share = &view.share;
    let is_link = share.recipient == ShareRecipient::Link;
    let path = view.path.as_ref().map(TreePath::to_key);
    let name = format!("/{}", view.node.name);
    let mut value = json!({
        "id": share.id.to_string(),
        "share_type": share.recipient.share_type(),
        "uid_owner": view.sharer.name,
        "displayname_owner": view.sharer.display_name,
        "permissions": share.permissions,
        "can_edit": true,
        "can_delete": true,
        "stime": share.created_at,
        "parent": Value::Null,
        "expiration": expiration_text(share.expires_at),
        "token": share.token,
        "uid_file_owner": view.file_owner.name,
        "displayname_file_owner": view.file_owner.display_name,
        "note": share.note,
        "label": share.label,
        "path": path.clone().unwrap_or_else(|| name.clone()),
        "item_type": if view.node.is_dir { "folder" } else { "file" },
        "item_permissions": if view.node.is_dir { perm::ALL } else { perm::FILE_MASK },
        "mimetype": if view.node.is_dir { "httpd/unix-directory".to_string() } else { crate::dav::content_type_of(&view.node.name) },
        "has_preview": false,
        "storage_id": format!("home::{}", view.file_owner.name),
        "storage": 1,
        "item_source": view.node.id.0,
        "file_source": view.node.id.0,
        "file_parent": view.node.parent.map_or(0, |parent| parent.0),
        "file_target": name,
        "item_size": view.node.size,
        "item_mtime": view.node.mtime,
        "share_with": if is_link { Value::Null } else { Value::from(view.recipient_name.clone()) },
        "share_with_displayname": if is_link { "(Shared link)".to_string() } else { view.recipient_display_name.clone() },
        "mail_send": 0,
        "hide_download": i64::from(share.hide_download),
        "attributes": Value::Null,
        "download_limit": share.download_limit,
        "download_count": share.download_count,
    });
    if is_link {
        value["url"] = Value::from(format!("{public_url}/s/{}", share.token.as_deref().unwrap_or_default()));
        value["password"] = if share.password_hash.is_some() { Value::from("***") } else { Value::Null };
        value["send_password_by_talk"] = Value::from(false);
    }
    value
}

fn sharee_json(sharee: &Sharee) -> (&'static str, Value) {
    match sharee {
        Sharee::User { name, display_name, email } => (
            "users",
            json!({"label": display_name, "value": {"shareType": 0, "shareWith": name},
                   "shareWithDisplayNameUnique": email.clone().unwrap_or_else(|| name.clone())}),
        ),
        Sharee::Group { name, display_name } => {
            ("groups", json!({"label": display_name, "value": {"shareType": 1, "shareWith": name}}))
        }
        Sharee::Org { name, display_name } => {
            ("organisations", json!({"label": display_name, "value": {"shareType": 100, "shareWith": name}}))
        }
    }
}

impl Request {
    /// Routes of this module; `None` when the route is not one of them.
    pub(crate) async fn sharing_route(&self, route: &str, method: &Method, params: &Params) -> Option<Response> {
        const SHARES: &str = "apps/files_sharing/api/v1/shares";
        let response = match route {
            SHARES if method == Method::GET => self.with_user(|user| self.list_shares(user, params)).await,
            SHARES if method == Method::POST => self.with_user(|user| self.create_share(user, params)).await,
            "apps/files_sharing/api/v1/sharees" if method == Method::GET => {
                self.with_user(|user| self.sharees(user, params)).await
            }
            "cloud/users" if method == Method::GET => self.with_user(|user| self.list_users(user, params)).await,
            "cloud/users" if method == Method::POST => self.with_user(|user| self.add_user(user, params)).await,
            "cloud/groups" if method == Method::GET => self.with_user(|user| self.list_groups(user)).await,
            "cloud/groups" if method == Method::POST => self.with_user(|user| self.add_group(user, params)).await,
            "apps/notifications/api/v2/notifications" if method == Method::GET => {
                self.with_user(|user| self.list_notifications(user)).await
            }
            _ => {
                if let Some(id) = route.strip_prefix(SHARES).and_then(|rest| rest.strip_prefix('/')) {
                    let id = id.parse::<i64>().unwrap_or(-1);
                    match *method {
                        Method::GET => self.with_user(|user| self.get_share(user, id)).await,
                        Method::PUT => self.with_user(|user| self.update_share(user, id, params)).await,
                        Method::DELETE => self.with_user(|user| self.delete_share(user, id)).await,
                        _ => return None,
                    }
                } else if let Some(rest) = route.strip_prefix("cloud/users/") {
                    match (rest.split_once('/'), method) {
                        (None, &Method::GET) => self.with_user(|user| self.get_user(user, rest)).await,
                        (None, &Method::DELETE) => self.with_user(|user| self.remove_user(user, rest)).await,
                        (None, &Method::PUT) => self.with_user(|user| self.edit_user(user, rest, params)).await,
                        (Some((name, "groups")), &Method::POST) => {
                            self.with_user(|user| self.add_to_group(user, name, params)).await
                        }
                        (Some((name, "groups")), &Method::DELETE) => {
                            self.with_user(|user| self.remove_from_group(user, name, params)).await
                        }
                        _ => return None,
                    }
                } else if let Some(id) = route.strip_prefix("apps/notifications/api/v2/notifications/") {
                    if *method != Method::DELETE {
                        return None;
                    }
                    let id = id.parse::<i64>().unwrap_or(-1);
                    self.with_user(|user| self.dismiss_notification(user, id)).await
                } else {
                    return None;
                }
            }
        };
        Some(response)
    }

    /// Authenticates, runs `action`, and renders its result or error.
    async fn with_user<'a, F, Fut>(&'a self, action: F) -> Response
    where
        F: FnOnce(User) -> Fut,
        Fut: std::future::Future<Output = Result<Value, DavError>> + 'a,
    {
        let user = match self.user().await {
            Ok(user) => user,
            Err(response) => return response,
        };
        match action(user).await {
            Ok(data) => self.ocs.ok(data),
            Err(error) => self.error(error),
        }
    }

    fn core(&self) -> &hafen_core::Core {
        &self.state.core
    }

    async fn list_shares(&self, user: User, params: &Params) -> Result<Value, DavError> {
        let views = if params.flag("shared_with_me") == Some(true) {
            self.core().shares_with(&user).await?
        } else {
            let path = match params.get("path") {
                Some(path) => Some(tree_path(path)?),
                None => None,
            };
            self.core().shares_by(&user, path.as_ref()).await?
        };
        let url = self.core().public_url();
        Ok(Value::from(views.iter().map(|view| share_json(view, url)).collect::<Vec<_>>()))
    }

    async fn create_share(&self, user: User, params: &Params) -> Result<Value, DavError> {
        let path = tree_path(params.get("path").ok_or_else(|| DavError::BadRequest("path is required".into()))?)?;
        let share_type =
            params.int("shareType")?.ok_or_else(|| DavError::BadRequest("shareType is required".into()))?;
        let share_with = || {
            params
                .get("shareWith")
                .filter(|value| !value.is_empty())
                .map(str::to_string)
                .ok_or_else(|| DavError::BadRequest("shareWith is required for this share type".into()))
        };
        let recipient = match share_type {
            0 => RecipientName::User(share_with()?),
            1 => RecipientName::Group(share_with()?),
            100 => RecipientName::Org(share_with()?),
            3 => RecipientName::Link,
            other => return Err(DavError::BadRequest(format!("share type {other} is not supported"))),
        };
        let mut permissions = params.int("permissions")?;
        if share_type == 3 && params.flag("publicUpload") == Some(true) && permissions.is_none() {
            permissions = Some(perm::READ | perm::UPDATE | perm::CREATE | perm::DELETE);
        }
        let new = NewShare {
            recipient,
            permissions,
            password: params.get("password").filter(|value| !value.is_empty()).map(str::to_string),
            expires_at: match params.get("expireDate") {
                Some(date) => parse_expire_date(date)?,
                None => None,
            },
            download_limit: params.int("downloadLimit")?,
            label: params.get("label").unwrap_or_default().to_string(),
            note: params.get("note").unwrap_or_default().to_string(),
            hide_download: params.flag("hideDownload").unwrap_or(false),
        };
        let view = self.core().create_share(&user, &path, new).await?;
        Ok(share_json(&view, self.core().public_url()))
    }

    async fn get_share(&self, user: User, id: i64) -> Result<Value, DavError> {
        let view = self.core().get_share(&user, id).await?;
        Ok(Value::from(vec![share_json(&view, self.core().public_url())]))
    }

    async fn update_share(&self, user: User, id: i64, params: &Params) -> Result<Value, DavError> {
        let mut update = ShareUpdate { permissions: params.int("permissions")?, ..ShareUpdate::default() };
        if params.flag("publicUpload") == Some(true) && update.permissions.is_none() {
            update.permissions = Some(perm::READ | perm::UPDATE | perm::CREATE | perm::DELETE);
        }
        if let Some(password) = params.get("password") {
            update.password = Some(Some(password.to_string()).filter(|password| !password.is_empty()));
        }
        if let Some(date) = params.get("expireDate") {
            update.expires_at = Some(parse_expire_date(date)?);
        }
        if params.get("downloadLimit").is_some() {
            update.download_limit = Some(params.int("downloadLimit")?);
        }
        update.label = params.get("label").map(str::to_string);
        update.note = params.get("note").map(str::to_string);
        update.hide_download = params.flag("hideDownload");
        let view = self.core().update_share(&user, id, update).await?;
        Ok(share_json(&view, self.core().public_url()))
    }

    async fn delete_share(&self, user: User, id: i64) -> Result<Value, DavError> {
        self.core().delete_share(&user, id).await?;
        Ok(json!([]))
    }

    async fn sharees(&self, user: User, params: &Params) -> Result<Value, DavError> {
        let limit = params.int("perPage")?.unwrap_or(200).clamp(1, 200) as usize;
        let search = params.get("search").unwrap_or_default();
        let found = self.core().search_sharees(&user, search, limit).await?;
        let mut data = json!({
            "exact": {"users": [], "groups": [], "organisations": [], "remotes": [], "remote_groups": [], "emails": [],
                      "circles": [], "rooms": [], "lookup": []},
            "users": [], "groups": [], "organisations": [], "remotes": [], "remote_groups": [], "emails": [],
            "circles": [], "rooms": [], "lookup": [], "lookupEnabled": false,
        });
        for sharee in &found {
            let (kind, value) = sharee_json(sharee);
            let exact = value["value"]["shareWith"].as_str() == Some(search);
            let list = if exact { &mut data["exact"][kind] } else { &mut data[kind] };
            if let Some(items) = list.as_array_mut() {
                items.push(value);
            }
        }
        Ok(data)
    }

    async fn list_users(&self, user: User, params: &Params) -> Result<Value, DavError> {
        let search = params.get("search").unwrap_or_default().to_lowercase();
        let users = self.core().administered_accounts(&user).await?;
        if users.is_empty() {
            return Err(CoreError::Forbidden("only administrators may list accounts".into()).into());
        }
        let names: Vec<_> = users
            .iter()
            .filter(|user| search.is_empty() || user.name.to_lowercase().contains(&search))
            .map(|user| user.name.clone())
            .collect();
        Ok(json!({"users": names}))
    }

    async fn get_user(&self, actor: User, name: &str) -> Result<Value, DavError> {
        let user = self.core().account(name).await.map_err(|_| not_found_user(name))?;
        if actor.id != user.id && !self.core().may_administer(&actor, &user) {
            return Err(not_found_user(name));
        }
        let quota = self.core().quota(&user).await?;
        let groups: Vec<_> = self.core().groups_of(&user).await?.into_iter().map(|(group, _)| group.name).collect();
        Ok(json!({
            "enabled": true,
            "id": user.name,
            "displayname": user.display_name,
            "display-name": user.display_name,
            "email": user.email,
            "groups": groups,
            "quota": {"used": quota.used, "quota": quota.limit.unwrap_or(-3)},
            "backend": if user.is_guest { "Guests" } else { "Database" },
        }))
    }

    async fn add_user(&self, actor: User, params: &Params) -> Result<Value, DavError> {
        let name = params.get("userid").ok_or_else(|| DavError::BadRequest("userid is required".into()))?;
        let password = params.get("password").unwrap_or_default();
        let org = match params.get("organisation") {
            Some(org) => Some(org.to_string()),
            None => actor.org.and(self.actor_org_name(&actor).await?),
        };
        let account = NewAccount {
            name: name.to_string(),
            password: password.to_string(),
            display_name: params.get("displayName").map(str::to_string),
            email: params.get("email").map(str::to_string),
            quota: params.int("quota")?,
            is_admin: false,
            org,
            org_admin: false,
        };
        let created = self.core().create_account_as(&actor, account).await?;
        Ok(json!({"id": created.name}))
    }

    /// `PUT cloud/users/{id}` with `key` and `value`, as Nextcloud's provisioning API:
    /// display name, e-mail, quota (bytes, or `none`) and password.
    async fn edit_user(&self, actor: User, name: &str, params: &Params) -> Result<Value, DavError> {
        let key = params.get("key").ok_or_else(|| DavError::BadRequest("key is required".into()))?;
        let value = params.get("value").unwrap_or_default();
        let core = self.core();
        match key {
            "displayname" | "display" => {
                core.update_account(&actor, name, Some(value.to_string()), None, None).await?;
            }
            "email" => {
                let email = Some(value.to_string()).filter(|email| !email.is_empty());
                core.update_account(&actor, name, None, Some(email), None).await?;
            }
            "quota" => {
                let quota =
                    match value {
                        "none" | "default" | "" => None,
                        bytes => {
                            Some(bytes.parse::<i64>().ok().filter(|bytes| *bytes >= 0).ok_or_else(|| {
                                DavError::BadRequest("quota must be a number of bytes or none".into())
                            })?)
                        }
                    };
                core.update_account(&actor, name, None, None, Some(quota)).await?;
            }
            "password" => core.set_password_as(&actor, name, value).await?,
            other => return Err(DavError::BadRequest(format!("unsupported key {other:?}"))),
        }
        Ok(json!([]))
    }

    async fn actor_org_name(&self, actor: &User) -> Result<Option<String>, DavError> {
        let orgs = self.core().list_orgs(actor).await?;
        Ok(orgs.into_iter().find(|org| Some(org.id) == actor.org).map(|org| org.name))
    }

    async fn remove_user(&self, actor: User, name: &str) -> Result<Value, DavError> {
        self.core().delete_account_as(&actor, name).await?;
        Ok(json!([]))
    }

    async fn list_groups(&self, actor: User) -> Result<Value, DavError> {
        let groups = self.core().list_groups(&actor).await?;
        Ok(json!({"groups": groups.into_iter().map(|group| group.name).collect::<Vec<_>>()}))
    }

    async fn add_group(&self, actor: User, params: &Params) -> Result<Value, DavError> {
        let name = params.get("groupid").ok_or_else(|| DavError::BadRequest("groupid is required".into()))?;
        let org = match params.get("organisation") {
            Some(org) if !org.is_empty() => Some(org.to_string()),
            Some(_) => None,
            None if !actor.is_admin => self.actor_org_name(&actor).await?,
            None => None,
        };
        self.core().create_group(&actor, name, params.get("displayname").unwrap_or_default(), org.as_deref()).await?;
        Ok(json!([]))
    }

    async fn add_to_group(&self, actor: User, name: &str, params: &Params) -> Result<Value, DavError> {
        let group = params.get("groupid").ok_or_else(|| DavError::BadRequest("groupid is required".into()))?;
        self.core().set_group_member(&actor, group, name, false).await?;
        Ok(json!([]))
    }

    async fn remove_from_group(&self, actor: User, name: &str, params: &Params) -> Result<Value, DavError> {
        let group = params.get("groupid").ok_or_else(|| DavError::BadRequest("groupid is required".into()))?;
        self.core().remove_group_member(&actor, group, name).await?;
        Ok(json!([]))
    }

    async fn list_notifications(&self, user: User) -> Result<Value, DavError> {
        let notifications = self.core().notifications(&user).await?;
        Ok(Value::from(
            notifications
                .iter()
                .map(|notification| {
                    json!({
                        "notification_id": notification.id,
                        "app": "files_sharing",
                        "user": user.name,
                        "datetime": humantime::format_rfc3339_seconds(
                            std::time::UNIX_EPOCH + std::time::Duration::from_secs(notification.created_at.max(0) as u64)
                        ).to_string(),
                        "object_type": notification.object_type,
                        "object_id": notification.object_id,
                        "subject": notification.subject,
                        "message": notification.message,
                        "link": "",
                        "actions": [],
                    })
                })
                .collect::<Vec<_>>(),
        ))
    }

    async fn dismiss_notification(&self, user: User, id: i64) -> Result<Value, DavError> {
        self.core().dismiss_notification(&user, id).await?;
        Ok(json!([]))
    }
}

fn not_found_user(name: &str) -> DavError {
    DavError::Core(CoreError::NotFound(format!("account {name} not found")))
}

/// A path parameter (`/Folder/file.txt`, relative to the account's root).
pub(crate) fn tree_path(raw: &str) -> Result<TreePath, DavError> {
    Ok(TreePath::from_segments(raw.split('/'))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_end_after_their_day() {
        // 2026-12-24 00:00:00 UTC is 1798070400.
        assert_eq!(parse_expire_date("2026-12-24").unwrap(), Some(1_798_070_400 + 86_400));
        assert_eq!(parse_expire_date("2026-12-24 00:00:00").unwrap(), Some(1_798_070_400 + 86_400));
        assert_eq!(expiration_text(Some(1_798_070_400 + 86_400)), Value::from("2026-12-24 00:00:00"));
        assert!(parse_expire_date("24.12.2026").is_err());
        assert!(parse_expire_date("2026-13-01").is_err());
        assert_eq!(parse_expire_date("").unwrap(), None);
    }
}
