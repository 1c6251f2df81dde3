//! The directory: organisations, groups (inside an organisation, or project groups across
//! organisations), guest accounts invited by e-mail, and who may administer what.
//!
//! A server administrator manages everything. An organisation's administrators manage only
//! their organisation's accounts, groups and quotas. A group's administrators manage its
//! members. Any account that is not a guest may invite guests.

use crate::accounts::{hash_password_off_thread, token_digest, valid_account_name};
use crate::{random_secret, Core, CoreError, CoreResult, NewAccount};
use hafen_meta::{AccountToken, Group, MetaError, NewUser, OrgId, Organisation, User};
use serde_json::json;

/// How long a guest invitation link works.
pub const INVITATION_LIFETIME_SECS: i64 = 7 * 24 * 3600;

/// Outcome of an invitation: the guest account and the one-time link's token (the caller
/// gets it only to print it where no mailer is configured, e.g. the CLI).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub guest: User,
    pub token: String,
    pub mailed: bool,
}

/// A match of the sharee search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sharee {
    User { name: String, display_name: String, email: Option<String> },
    Group { name: String, display_name: String },
    Org { name: String, display_name: String },
}

fn forbidden(what: &str) -> CoreError {
    CoreError::Forbidden(format!("you may not {what}"))
}

impl Core {
    /// The server's operator as an actor (the CLI): a server administrator with no account.
    pub fn operator() -> User {
        User {
            id: hafen_meta::UserId(0),
            name: "operator".into(),
            display_name: "Operator".into(),
            email: None,
            password_hash: String::new(),
            quota: None,
            is_admin: true,
            created_at: 0,
            last_failed_login: None,
            org: None,
            org_admin: false,
            is_guest: false,
            invited_by: None,
            is_space: false,
            language: String::new(),
            notify_by_email: false,
            mail_digest: "batched".into(),
        }
    }

    pub async fn create_org(
        &self,
        actor: &User,
        name: &str,
        display_name: &str,
        quota: Option<i64>,
    ) -> CoreResult<Organisation> {
        if !actor.is_admin {
            return Err(forbidden("create organisations (server administrators only)"));
        }
        if !valid_account_name(name) {
            return Err(CoreError::InvalidInput(
                "organisation names use 1-64 characters: letters, digits, '.', '-', '_', '@'".into(),
            ));
        }
        let org = Organisation {
            id: OrgId(0),
            name: name.to_string(),
            display_name: if display_name.is_empty() { name.to_string() } else { display_name.to_string() },
            quota,
            link_password_required: false,
            link_max_expiry_days: None,
            version_daily_days: None,
            version_quota_percent: None,
            created_at: self.now(),
        };
        let org = match self.meta.create_org(&org).await {
            Err(MetaError::AlreadyExists(_)) => {
                return Err(CoreError::Conflict(format!("organisation {name} already exists")))
            }
            other => other?,
        };
        self.audit(&actor.name, None, "org.create", name, json!({ "quota": quota })).await;
        Ok(org)
    }

    pub async fn org_named(&self, name: &str) -> CoreResult<Organisation> {
        self.meta.org_by_name(name).await?.ok_or_else(|| CoreError::NotFound(format!("organisation {name} not found")))
    }

    /// Organisations the actor may see in administration: all for server administrators,
    /// their own for everyone else.
    pub async fn list_orgs(&self, actor: &User) -> CoreResult<Vec<Organisation>> {
        let orgs = self.meta.list_orgs().await?;
        Ok(orgs.into_iter().filter(|org| actor.is_admin || Some(org.id) == actor.org).collect())
    }

    fn administers_org(actor: &User, org: OrgId) -> bool {
        actor.is_admin || (actor.org_admin && actor.org == Some(org))
    }

    /// Changes an organisation's quota and link policy (its own administrators or a server
    /// administrator).
    pub async fn update_org(&self, actor: &User, org: Organisation) -> CoreResult<Organisation> {
        if !Self::administers_org(actor, org.id) {
            return Err(forbidden("change this organisation"));
        }
        self.meta.update_org(&org).await?;
        let detail = json!({
            "quota": org.quota,
            "link_password_required": org.link_password_required,
            "link_max_expiry_days": org.link_max_expiry_days,
            "version_daily_days": org.version_daily_days,
            "version_quota_percent": org.version_quota_percent,
        });
        self.audit(&actor.name, None, "org.update", &org.name, detail).await;
        Ok(org)
    }

    pub async fn org_used_bytes(&self, org: &Organisation) -> CoreResult<i64> {
        Ok(self.meta.org_used_bytes(org.id).await?)
    }

    /// Creates an account, checking the actor's rights: server administrators anywhere, an
    /// organisation's administrators in their organisation only, never with server rights.
    pub async fn create_account_as(&self, actor: &User, account: NewAccount) -> CoreResult<User> {
        if !actor.is_admin {
            let org = match &account.org {
                Some(name) => self.org_named(name).await?,
                None => return Err(forbidden("create accounts outside your organisation")),
            };
            if !Self::administers_org(actor, org.id) || account.is_admin {
                return Err(forbidden("create this account"));
            }
            if let (Some(limit), Some(quota)) = (org.quota, account.quota) {
                if quota > limit {
                    return Err(CoreError::InvalidInput("the account quota exceeds the organisation's".into()));
                }
            }
        }
        self.create_account_by(&actor.name, account).await
    }

    /// Accounts the actor may administer: all for server administrators, their
    /// organisation's for its administrators, nobody otherwise.
    pub async fn administered_accounts(&self, actor: &User) -> CoreResult<Vec<User>> {
        let users = self.meta.list_users().await?;
        Ok(users.into_iter().filter(|user| self.may_administer(actor, user)).collect())
    }

    pub fn may_administer(&self, actor: &User, user: &User) -> bool {
        actor.is_admin || (actor.org_admin && actor.org.is_some() && user.org == actor.org && !user.is_admin)
    }

    /// Moves an account into an organisation (or out of any) and sets its admin flag there.
    pub async fn set_account_org(
        &self,
        actor: &User,
        name: &str,
        org: Option<&str>,
        org_admin: bool,
    ) -> CoreResult<User> {
        if !actor.is_admin {
            return Err(forbidden("move accounts between organisations (server administrators only)"));
        }
        let mut user = self.account(name).await?;
        user.org = match org {
            Some(org) => Some(self.org_named(org).await?.id),
            None => None,
        };
        user.org_admin = org_admin && user.org.is_some();
        self.meta.update_user(&user).await?;
        let detail = json!({ "org": org, "org_admin": user.org_admin });
        self.audit(&actor.name, None, "account.org", &user.name, detail).await;
        Ok(user)
    }

    /// Changes an account's quota, display name or e-mail (its administrators), or its own
    /// display name and e-mail (the account itself).
    pub async fn update_account(
        &self,
        actor: &User,
        name: &str,
        display_name: Option<String>,
        email: Option<Option<String>>,
        quota: Option<Option<i64>>,
    ) -> CoreResult<User> {
        let mut user = self.account(name).await?;
        let administers = self.may_administer(actor, &user);
        if !administers && actor.id != user.id {
            return Err(CoreError::NotFound(format!("account {name} not found")));
        }
        if quota.is_some() && !administers {
            return Err(forbidden("change your own quota"));
        }
        if let Some(display_name) = display_name {
            user.display_name = display_name;
        }
        if let Some(email) = email {
            user.email = email;
        }
        let quota_changed = quota.is_some();
        if let Some(quota) = quota {
            user.quota = quota;
        }
        self.meta.update_user(&user).await?;
        let mut detail = json!({ "display_name": user.display_name, "email": user.email.is_some() });
        if quota_changed {
            detail["quota"] = json!(user.quota);
        }
        self.audit(&actor.name, None, "account.update", &user.name, detail).await;
        Ok(user)
    }

    /// Creates many accounts in one transaction (onboarding a whole organisation): each row
    /// is (name, display name, e-mail). The accounts get no usable password: they sign in
    /// once one is set (`hafen user passwd`) or through single sign-on.
    pub async fn import_accounts(
        &self,
        actor: &User,
        org: Option<&str>,
        rows: &[(String, String, Option<String>)],
    ) -> CoreResult<Vec<User>> {
        let org = match org {
            Some(name) => Some(self.org_named(name).await?),
            None => None,
        };
        let allowed = match &org {
            Some(org) => Self::administers_org(actor, org.id),
            None => actor.is_admin,
        };
        if !allowed {
            return Err(forbidden("import accounts here"));
        }
        let mut users = Vec::with_capacity(rows.len());
        for (name, display_name, email) in rows {
            if !valid_account_name(name) {
                return Err(CoreError::InvalidInput(format!(
                    "{name:?}: account names use 1-64 characters: letters, digits, '.', '-', '_', '@'"
                )));
            }
            users.push(NewUser {
                name: name.clone(),
                display_name: if display_name.is_empty() { name.clone() } else { display_name.clone() },
                email: email.clone().filter(|email| !email.is_empty()),
                // Not a PHC string: no password verifies until one is set.
                password_hash: "!".into(),
                org: org.as_ref().map(|org| org.id),
                ..NewUser::default()
            });
        }
        let created = match self.meta.create_users(&users, self.now()).await {
            Err(MetaError::AlreadyExists(name)) => {
                return Err(CoreError::Conflict(format!("account {name} already exists")))
            }
            other => other?,
        };
        let org_name = org.as_ref().map(|org| org.name.clone());
        for user in &created {
            self.audit(&actor.name, None, "account.create", &user.name, json!({ "org": org_name, "import": true }))
                .await;
        }
        Ok(created)
    }

    /// Sets an account's password: the account itself or its administrators.
    pub async fn set_password_as(&self, actor: &User, name: &str, password: &str) -> CoreResult<()> {
        let user = self.account(name).await?;
        if actor.id != user.id && !self.may_administer(actor, &user) {
            return Err(CoreError::NotFound(format!("account {name} not found")));
        }
        if password.chars().count() < 10 {
            return Err(CoreError::InvalidInput("the password needs at least 10 characters".into()));
        }
        self.set_password_by(&actor.name, name, password).await
    }

    /// Whether the account wants its notifications by e-mail as well (its own setting).
    pub async fn set_notify_by_email(&self, user: &User, enabled: bool) -> CoreResult<User> {
        let mut user = self.user_by_id(user.id).await?;
        user.notify_by_email = enabled;
        self.meta.update_user(&user).await?;
        Ok(user)
    }

    /// The account's own choice of language (`de`, `en`, or empty to follow the browser).
    pub async fn set_language(&self, user: &User, language: &str) -> CoreResult<User> {
        if !matches!(language, "" | "de" | "en") {
            return Err(CoreError::InvalidInput(format!("unknown language {language:?}")));
        }
        let mut user = self.user_by_id(user.id).await?;
        user.language = language.to_string();
        self.meta.update_user(&user).await?;
        Ok(user)
    }

    /// Deletes an account the actor administers.
    pub async fn delete_account_as(&self, actor: &User, name: &str) -> CoreResult<()> {
        let user = self.account(name).await?;
        if !self.may_administer(actor, &user) || user.id == actor.id {
            return Err(forbidden("delete this account"));
        }
        self.delete_trash_of(&user).await?;
        self.meta.delete_user(user.id).await?;
        self.audit(&actor.name, None, "account.delete", name, json!({})).await;
        Ok(())
    }

    /// Creates a group. `org` names the owning organisation; `None` makes a project group
    /// spanning organisations (server administrators and organisation administrators).
    pub async fn create_group(
        &self,
        actor: &User,
        name: &str,
        display_name: &str,
        org: Option<&str>,
    ) -> CoreResult<Group> {
        if actor.is_guest {
            return Err(forbidden("create groups"));
        }
        let org = match org {
            Some(org) => {
                let org = self.org_named(org).await?;
                if !Self::administers_org(actor, org.id) {
                    return Err(forbidden("create groups in this organisation"));
                }
                Some(org.id)
            }
            None if actor.is_admin || actor.org_admin => None,
            None => return Err(forbidden("create project groups")),
        };
        if !valid_account_name(name) {
            return Err(CoreError::InvalidInput(
                "group names use 1-64 characters: letters, digits, '.', '-', '_', '@'".into(),
            ));
        }
        let group = Group {
            id: hafen_meta::GroupId(0),
            name: name.to_string(),
            display_name: if display_name.is_empty() { name.to_string() } else { display_name.to_string() },
            org,
            created_at: self.now(),
        };
        let group = match self.meta.create_group(&group).await {
            Err(MetaError::AlreadyExists(_)) => {
                return Err(CoreError::Conflict(format!("group {name} already exists")))
            }
            other => other?,
        };
        // Whoever creates a project group administers it.
        if group.org.is_none() && !actor.is_admin {
            self.meta.set_group_member(group.id, actor.id, true).await?;
        }
        self.audit(&actor.name, None, "group.create", &group.name, json!({ "org": group.org.map(|org| org.0) })).await;
        Ok(group)
    }

    pub async fn group_named(&self, name: &str) -> CoreResult<Group> {
        self.meta.group_by_name(name).await?.ok_or_else(|| CoreError::NotFound(format!("group {name} not found")))
    }

    /// Whether the actor may change the group's members.
    async fn administers_group(&self, actor: &User, group: &Group) -> CoreResult<bool> {
        if actor.is_admin || group.org.is_some_and(|org| Self::administers_org(actor, org)) {
            return Ok(true);
        }
        Ok(self.meta.group_members(group.id).await?.iter().any(|(member, admin)| *member == actor.id && *admin))
    }

    /// Groups the actor may see: all for server administrators; otherwise their
    /// organisation's groups, project groups, and groups they belong to.
    pub async fn list_groups(&self, actor: &User) -> CoreResult<Vec<Group>> {
        let groups = self.meta.list_groups().await?;
        if actor.is_admin {
            return Ok(groups);
        }
        let mine: Vec<_> = self.meta.groups_of(actor.id).await?.into_iter().map(|(group, _)| group.id).collect();
        Ok(groups
            .into_iter()
            .filter(|group| {
                mine.contains(&group.id) || (!actor.is_guest && (group.org.is_none() || group.org == actor.org))
            })
            .collect())
    }

    pub async fn set_group_member(&self, actor: &User, group: &str, account: &str, is_admin: bool) -> CoreResult<()> {
        let group = self.group_named(group).await?;
        if !self.administers_group(actor, &group).await? {
            return Err(forbidden("change this group's members"));
        }
        let user = self.account(account).await?;
        if let Some(org) = group.org {
            if user.org != Some(org) && !user.is_guest && !actor.is_admin {
                return Err(forbidden("add members of other organisations to an organisation's group"));
            }
        }
        self.meta.set_group_member(group.id, user.id, is_admin).await?;
        let detail = json!({ "account": user.name, "is_admin": is_admin });
        self.audit(&actor.name, None, "group.member_set", &group.name, detail).await;
        Ok(())
    }

    pub async fn remove_group_member(&self, actor: &User, group: &str, account: &str) -> CoreResult<()> {
        let group = self.group_named(group).await?;
        if !self.administers_group(actor, &group).await? {
            return Err(forbidden("change this group's members"));
        }
        let user = self.account(account).await?;
        if !self.meta.remove_group_member(group.id, user.id).await? {
            return Err(CoreError::NotFound(format!("{account} is not a member of {}", group.name)));
        }
        self.audit(&actor.name, None, "group.member_remove", &group.name, json!({ "account": user.name })).await;
        Ok(())
    }

    pub async fn delete_group(&self, actor: &User, group: &str) -> CoreResult<()> {
        let group = self.group_named(group).await?;
        if !(actor.is_admin || group.org.is_some_and(|org| Self::administers_org(actor, org))) {
            return Err(forbidden("delete this group"));
        }
        self.meta.delete_group(group.id).await?;
        self.audit(&actor.name, None, "group.delete", &group.name, json!({})).await;
        Ok(())
    }

    /// Members of a group with their group-admin flag (members and administrators may see).
    pub async fn group_members(&self, actor: &User, group: &str) -> CoreResult<Vec<(User, bool)>> {
        let group = self.group_named(group).await?;
        let members = self.meta.group_members(group.id).await?;
        let is_member = members.iter().any(|(member, _)| *member == actor.id);
        if !is_member && !self.administers_group(actor, &group).await? {
            return Err(CoreError::NotFound(format!("group {} not found", group.name)));
        }
        let mut users = Vec::with_capacity(members.len());
        for (id, admin) in members {
            users.push((self.user_by_id(id).await?, admin));
        }
        Ok(users)
    }

    pub async fn groups_of(&self, user: &User) -> CoreResult<Vec<(Group, bool)>> {
        Ok(self.meta.groups_of(user.id).await?)
    }

    /// Invites a guest by e-mail: creates the guest account (no usable password yet, no quota
    /// of its own) and e-mails a one-time link that sets the password.
    pub async fn invite_guest(
        &self,
        inviter: &User,
        email: &str,
        display_name: Option<&str>,
    ) -> CoreResult<Invitation> {
        if inviter.is_guest {
            return Err(forbidden("invite guests (guests cannot invite)"));
        }
        let email = email.trim();
        let valid_email = email.len() <= 64
            && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && valid_account_name(email);
        if !valid_email {
            return Err(CoreError::InvalidInput(format!("{email} is not an e-mail address Hafen can use as a login")));
        }
        let password_hash = hash_password_off_thread(random_secret(32)).await?;
        let new_user = NewUser {
            name: email.to_string(),
            display_name: display_name.filter(|name| !name.is_empty()).unwrap_or(email).to_string(),
            email: Some(email.to_string()),
            password_hash,
            // Guests keep nothing of their own: they work in what is shared with them.
            quota: Some(0),
            is_guest: true,
            invited_by: Some(inviter.id),
            ..NewUser::default()
        };
        let guest = match self.meta.create_user(&new_user, self.now()).await {
            Err(MetaError::AlreadyExists(_)) => {
                return Err(CoreError::Conflict(format!("an account {email} already exists")))
            }
            other => other?,
        };
        let token = random_secret(40);
        self.meta
            .insert_account_token(
                &token_digest(&token),
                &AccountToken {
                    user: guest.id,
                    purpose: "invitation".into(),
                    expires_at: self.now() + INVITATION_LIFETIME_SECS,
                },
            )
            .await?;
        let link = format!("{}/invite/{token}", self.public_url());
        let subject = format!("{} lädt Sie zu Hafen ein / invites you to Hafen", inviter.display_name);
        let body = format!(
            "Guten Tag,\n\n{inviter} hat Sie eingeladen, Dateien über Hafen auszutauschen. \
             Bitte legen Sie unter folgendem Link Ihr Passwort fest (gültig 7 Tage):\n\n{link}\n\n\
             Ihr Benutzername: {email}\n\n---\n\n{inviter} invited you to exchange files through Hafen. \
             Set your password here (valid for 7 days):\n\n{link}\n\nYour user name: {email}\n",
            inviter = inviter.display_name,
        );
        let mailed = match &self.mailer {
            Some(mailer) => {
                mailer.send(email, &subject, &body).await.map_err(|error| {
                    CoreError::Internal(format!("the invitation e-mail could not be sent: {error}"))
                })?;
                true
            }
            None => false,
        };
        self.audit(&inviter.name, None, "guest.invite", &guest.name, json!({ "mailed": mailed })).await;
        Ok(Invitation { guest, token, mailed })
    }

    /// Redeems an invitation (or password-reset) link: sets the password. The link works
    /// once and only until it expires.
    pub async fn accept_invitation(&self, token: &str, password: &str) -> CoreResult<User> {
        if password.chars().count() < 10 {
            return Err(CoreError::InvalidInput("the password needs at least 10 characters".into()));
        }
        let invalid = || CoreError::NotFound("this invitation link is invalid, used or expired".into());
        let stored = self.meta.take_account_token(&token_digest(token)).await?.ok_or_else(invalid)?;
        if self.now() >= stored.expires_at {
            return Err(invalid());
        }
        let user = self.user_by_id(stored.user).await?;
        let hash = hash_password_off_thread(password.to_string()).await?;
        self.meta.set_password_hash(user.id, &hash).await?;
        self.audit(&user.name, None, "account.password", &user.name, json!({ "via": "invitation" })).await;
        Ok(user)
    }

    /// Accounts, groups and organisations whose name or display name contains `query`
    /// (case-insensitive), for share dialogs. Guests cannot share, so they find nobody.
    pub async fn search_sharees(&self, actor: &User, query: &str, limit: usize) -> CoreResult<Vec<Sharee>> {
        if actor.is_guest {
            return Ok(Vec::new());
        }
        let needle = query.trim().to_lowercase();
        let matches = |name: &str, display: &str| {
            needle.is_empty() || name.to_lowercase().contains(&needle) || display.to_lowercase().contains(&needle)
        };
        let mut found = Vec::new();
        for user in self.meta.list_users().await? {
            if user.id != actor.id && matches(&user.name, &user.display_name) {
                found.push(Sharee::User { name: user.name, display_name: user.display_name, email: user.email });
            }
        }
        for group in self.list_groups(actor).await? {
            if matches(&group.name, &group.display_name) {
                found.push(Sharee::Group { name: group.name, display_name: group.display_name });
            }
        }
        for org in self.meta.list_orgs().await? {
            if matches(&org.name, &org.display_name) {
                found.push(Sharee::Org { name: org.name, display_name: org.display_name });
            }
        }
        found.truncate(limit);
        Ok(found)
    }
}
