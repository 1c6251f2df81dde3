//! Sharing: shares with accounts, groups and organisations, public links (password, expiry,
//! download limit, upload-only "file drop"), and opening a link as a `Viewer`.
//!
//! Rules that hold for every protocol: only what the sharer may share can be shared, never
//! with more permissions than the sharer has there; guests never share; an organisation's
//! link policy (password required, longest expiry) binds its members; a link's password is
//! stored as an argon2id hash and guessing it is throttled like a login.

use crate::access::{path_of_chain, perm, LinkGrant, Viewer};
use crate::accounts::{hash_password_off_thread, verify_password_off_thread};
use crate::notifications::Notice;
use crate::{random_secret, throttle, Core, CoreError, CoreResult, TreePath};
use hafen_meta::{Node, Share, ShareRecipient, User, UserId};
use std::net::IpAddr;

/// Length of link tokens (as Nextcloud's, so links look familiar).
const LINK_TOKEN_LENGTH: usize = 15;
/// Longest chain of reshares followed when capping a share by its sharer's rights.
pub(crate) const RESHARE_DEPTH: u8 = 5;

/// Who a new share is for, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientName {
    User(String),
    Group(String),
    Org(String),
    Link,
}

/// A share to create. `None` fields take the defaults.
#[derive(Debug, Clone)]
pub struct NewShare {
    pub recipient: RecipientName,
    pub permissions: Option<i64>,
    pub password: Option<String>,
    pub expires_at: Option<i64>,
    pub download_limit: Option<i64>,
    pub label: String,
    pub note: String,
    pub hide_download: bool,
}

/// Changes to a share; `None` leaves a field as it is. `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ShareUpdate {
    pub permissions: Option<i64>,
    pub password: Option<Option<String>>,
    pub expires_at: Option<Option<i64>>,
    pub download_limit: Option<Option<i64>>,
    pub label: Option<String>,
    pub note: Option<String>,
    pub hide_download: Option<bool>,
}

/// A share with what protocols show about it, as seen by one account.
#[derive(Debug, Clone)]
pub struct ShareView {
    pub share: Share,
    pub node: Node,
    /// The node's path as the viewing account sees it, if it can see it.
    pub path: Option<TreePath>,
    pub sharer: User,
    pub file_owner: User,
    /// Account, group or organisation name of the recipient (empty for links).
    pub recipient_name: String,
    pub recipient_display_name: String,
}

/// What a link page may show before the visitor gave the password.
#[derive(Debug, Clone)]
pub struct LinkInfo {
    pub share: Share,
    pub needs_password: bool,
}

impl Core {
    /// Shares the item at `path` (as `user` sees it).
    pub async fn create_share(&self, user: &User, path: &TreePath, new: NewShare) -> CoreResult<ShareView> {
        if user.is_guest {
            return Err(CoreError::Forbidden("guest accounts cannot share".into()));
        }
        if path.is_root() {
            return Err(CoreError::Forbidden("the root folder cannot be shared".into()));
        }
        let who = Viewer::Account(user.clone());
        let at = self.located_existing(&who, path).await?;
        at.require(perm::SHARE, "share")?;
        let node =
            at.node().cloned().ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))?;
        let mut allowed = at.perms;
        if !node.is_dir {
            allowed &= perm::FILE_MASK;
        }
        let recipient = self.recipient_of(&new.recipient).await?;
        if recipient == ShareRecipient::User(user.id) {
            return Err(CoreError::InvalidInput("you cannot share with yourself".into()));
        }
        if recipient == ShareRecipient::User(node.owner) {
            return Err(CoreError::InvalidInput("the owner already has this item".into()));
        }
        let is_link = recipient == ShareRecipient::Link;
        let default = if is_link { perm::READ } else { allowed };
        let mut permissions = new.permissions.unwrap_or(default);
        if is_link {
            permissions &= !perm::SHARE;
            permissions = check_link_permissions(permissions, node.is_dir)?;
        }
        if permissions & !allowed != 0 || permissions == 0 {
            return Err(CoreError::Forbidden(
                "a share cannot grant permissions you do not have on the item (or none at all)".into(),
            ));
        }
        let (password_hash, expires_at) = if is_link {
            self.check_link_policy(user, new.password.as_deref(), new.expires_at).await?;
            let hash = match new.password.filter(|password| !password.is_empty()) {
                Some(password) => Some(hash_password_off_thread(password).await?),
                None => None,
            };
            (hash, new.expires_at)
        } else {
            (None, new.expires_at)
        };
        if new.download_limit.is_some_and(|limit| limit < 1) {
            return Err(CoreError::InvalidInput("a download limit must be at least 1".into()));
        }
        let share = Share {
            id: 0,
            sharer: user.id,
            node: node.id,
            recipient,
            permissions,
            token: is_link.then(|| random_secret(LINK_TOKEN_LENGTH)),
            password_hash,
            expires_at,
            download_limit: if is_link { new.download_limit } else { None },
            download_count: 0,
            label: new.label,
            note: new.note,
            hide_download: new.hide_download,
            created_at: self.now(),
            space: None,
        };
        let share = self.meta.create_share(&share).await?;
        self.notify_share_recipients(user, &share, &node).await;
        self.record_activity(&[user.id], "shared", &user.name, &path.to_key(), Some(node.id.0)).await;
        if let ShareRecipient::User(recipient) = share.recipient {
            self.record_activity(&[recipient], "share_received", &user.name, &node.name, Some(node.id.0)).await;
        }
        let view = self.share_view(user, share).await?;
        self.audit(&user.name, None, "share.create", &path.to_key(), share_detail(&view)).await;
        Ok(view)
    }

    /// The share recipient a name stands for.
    pub(crate) async fn recipient_of(&self, name: &RecipientName) -> CoreResult<ShareRecipient> {
        Ok(match name {
            RecipientName::Link => ShareRecipient::Link,
            RecipientName::User(name) => {
                let recipient = self
                    .meta
                    .user_by_name(name)
                    .await?
                    .ok_or_else(|| CoreError::NotFound(format!("account {name} not found")))?;
                ShareRecipient::User(recipient.id)
            }
            RecipientName::Group(name) => ShareRecipient::Group(
                self.meta
                    .group_by_name(name)
                    .await?
                    .ok_or_else(|| CoreError::NotFound(format!("group {name} not found")))?
                    .id,
            ),
            RecipientName::Org(name) => ShareRecipient::Org(
                self.meta
                    .org_by_name(name)
                    .await?
                    .ok_or_else(|| CoreError::NotFound(format!("organisation {name} not found")))?
                    .id,
            ),
        })
    }

    /// The sharer's organisation's rules for links.
    async fn check_link_policy(&self, user: &User, password: Option<&str>, expires_at: Option<i64>) -> CoreResult<()> {
        let Some(org) = user.org else { return Ok(()) };
        let Some(org) = self.meta.org(org).await? else { return Ok(()) };
        if org.link_password_required && password.is_none_or(str::is_empty) {
            return Err(CoreError::Forbidden(format!("{} requires a password for public links", org.display_name)));
        }
        if let Some(days) = org.link_max_expiry_days {
            let latest = self.now() + days * 86_400;
            match expires_at {
                Some(at) if at <= latest => {}
                _ => {
                    return Err(CoreError::Forbidden(format!(
                        "{} requires public links to expire within {days} days",
                        org.display_name
                    )))
                }
            }
        }
        Ok(())
    }

    /// A share `user` may see: they made it, own its item, or receive it.
    async fn visible_share(&self, user: &User, id: i64) -> CoreResult<Share> {
        let not_found = || CoreError::NotFound(format!("share {id} not found"));
        let share = self.meta.share(id).await?.ok_or_else(not_found)?;
        // A space's memberships are managed as the space's members, not as shares.
        if share.space.is_some() {
            return Err(not_found());
        }
        if self.may_manage(user, &share).await? {
            return Ok(share);
        }
        let received = self.meta.received_shares(user.id).await?;
        if received.iter().any(|received| received.share.id == id) {
            return Ok(share);
        }
        Err(not_found())
    }

    /// Whether `user` may change or remove the share: its sharer, the item's owner, or a
    /// server administrator.
    async fn may_manage(&self, user: &User, share: &Share) -> CoreResult<bool> {
        if share.sharer == user.id || user.is_admin {
            return Ok(true);
        }
        Ok(self.meta.node(share.node).await?.is_some_and(|node| node.owner == user.id))
    }

    pub async fn get_share(&self, user: &User, id: i64) -> CoreResult<ShareView> {
        let share = self.visible_share(user, id).await?;
        self.share_view(user, share).await
    }

    /// Shares `user` made (and shares of items they own that others reshared), optionally
    /// only those of the item at `path`.
    pub async fn shares_by(&self, user: &User, path: Option<&TreePath>) -> CoreResult<Vec<ShareView>> {
        let mut shares = self.meta.shares_by_sharer(user.id).await?;
        if let Some(path) = path {
            let node = self.stat(&Viewer::Account(user.clone()), path).await?;
            let mut of_node = self.meta.shares_of_nodes(&[node.id]).await?;
            of_node.retain(|share| share.space.is_none() && (share.sharer == user.id || node.owner == user.id));
            shares = of_node;
        }
        let mut views = Vec::with_capacity(shares.len());
        for share in shares {
            views.push(self.share_view(user, share).await?);
        }
        Ok(views)
    }

    /// Shares `user` receives and has not left.
    pub async fn shares_with(&self, user: &User) -> CoreResult<Vec<ShareView>> {
        let now = self.now();
        let mut views = Vec::new();
        for received in self.meta.received_shares(user.id).await? {
            if received.hidden
                || received.share.space.is_some()
                || received.share.sharer == user.id
                || received.share.expires_at.is_some_and(|at| at <= now)
            {
                continue;
            }
            views.push(self.share_view(user, received.share).await?);
        }
        Ok(views)
    }

    pub async fn update_share(&self, user: &User, id: i64, update: ShareUpdate) -> CoreResult<ShareView> {
        let mut share = self.visible_share(user, id).await?;
        if !self.may_manage(user, &share).await? {
            return Err(CoreError::Forbidden("only the person who shared this or its owner may change it".into()));
        }
        let node = self.meta.node(share.node).await?.ok_or_else(|| CoreError::NotFound("shared item".into()))?;
        if let Some(permissions) = update.permissions {
            let mut permissions = permissions;
            if share.recipient == ShareRecipient::Link {
                permissions = check_link_permissions(permissions & !perm::SHARE, node.is_dir)?;
            }
            let mut allowed = self.sharer_perms(user, &node).await?;
            if !node.is_dir {
                allowed &= perm::FILE_MASK;
            }
            if permissions & !allowed != 0 || permissions == 0 {
                return Err(CoreError::Forbidden(
                    "a share cannot grant permissions you do not have on the item (or none at all)".into(),
                ));
            }
            share.permissions = permissions;
        }
        if let Some(password) = update.password {
            share.password_hash = match password.filter(|password| !password.is_empty()) {
                Some(password) => Some(hash_password_off_thread(password).await?),
                None => None,
            };
        }
        if let Some(expires_at) = update.expires_at {
            share.expires_at = expires_at;
        }
        if let Some(limit) = update.download_limit {
            if limit.is_some_and(|limit| limit < 1) {
                return Err(CoreError::InvalidInput("a download limit must be at least 1".into()));
            }
            share.download_limit = limit;
        }
        if share.recipient == ShareRecipient::Link {
            let password = share.password_hash.as_ref().map(|_| "set");
            self.check_link_policy(user, password, share.expires_at).await?;
        }
        if let Some(label) = update.label {
            share.label = label;
        }
        if let Some(note) = update.note {
            share.note = note;
        }
        if let Some(hide) = update.hide_download {
            share.hide_download = hide;
        }
        self.meta.update_share(&share).await?;
        let view = self.share_view(user, share).await?;
        let object = view.path.as_ref().map_or_else(|| view.node.name.clone(), TreePath::to_key);
        self.audit(&user.name, None, "share.update", &object, share_detail(&view)).await;
        Ok(view)
    }

    /// What the managing account itself may do on the node (see `share_ceiling`).
    async fn sharer_perms(&self, user: &User, node: &Node) -> CoreResult<i64> {
        if user.is_admin {
            return Ok(perm::ALL);
        }
        self.share_ceiling(user.id, node, RESHARE_DEPTH).await
    }

    /// What `sharer` may currently do on `node`, the ceiling of every share it made of it:
    /// everything on its own items, else the union of the shares it receives on the node or
    /// an ancestor, each capped the same way. So narrowing or revoking a share narrows or
    /// ends every reshare made from it, at once. `depth` bounds reshare chains.
    pub(crate) fn share_ceiling<'a>(
        &'a self,
        sharer: UserId,
        node: &'a Node,
        depth: u8,
    ) -> futures_util::future::BoxFuture<'a, CoreResult<i64>> {
        Box::pin(async move {
            if node.owner == sharer {
                return Ok(perm::ALL);
            }
            if depth == 0 {
                return Ok(0);
            }
            let now = self.now();
            let chain = self.meta.node_chain(node.id).await?;
            let ids: Vec<_> = chain.iter().map(|node| node.id).collect();
            let mut bits = 0;
            for received in self.meta.received_shares(sharer).await? {
                let share = &received.share;
                if !ids.contains(&share.node) || share.expires_at.is_some_and(|at| now >= at) {
                    continue;
                }
                bits |= share.permissions & self.share_ceiling(share.sharer, node, depth - 1).await?;
            }
            Ok(bits)
        })
    }

    /// Removes a share. A recipient "deleting" a share they receive leaves it instead.
    pub async fn delete_share(&self, user: &User, id: i64) -> CoreResult<()> {
        let share = self.visible_share(user, id).await?;
        if self.may_manage(user, &share).await? {
            // Described before it goes, while its recipient and path can still be looked up.
            let view = self.share_view(user, share.clone()).await?;
            self.meta.delete_share(id).await?;
            let name = self.meta.node(share.node).await?.map(|node| node.name).unwrap_or_default();
            self.record_activity(&[user.id], "unshared", &user.name, &name, Some(share.node.0)).await;
            let object = view.path.as_ref().map_or_else(|| name.clone(), TreePath::to_key);
            self.audit(&user.name, None, "share.delete", &object, share_detail(&view)).await;
        } else {
            self.meta.set_share_mount(id, user.id, None, true).await?;
        }
        Ok(())
    }

    pub(crate) async fn share_view(&self, user: &User, share: Share) -> CoreResult<ShareView> {
        let node = self.meta.node(share.node).await?.ok_or_else(|| CoreError::NotFound("shared item".into()))?;
        let sharer = self.user_by_id(share.sharer).await?;
        let file_owner = if node.owner == sharer.id { sharer.clone() } else { self.user_by_id(node.owner).await? };
        let path = match self.view_path_of(user, node.id).await {
            Ok(path) => Some(path),
            Err(CoreError::NotFound(_)) => None,
            Err(error) => return Err(error),
        };
        let (recipient_name, recipient_display_name) = match share.recipient {
            ShareRecipient::User(id) => {
                let recipient = self.user_by_id(id).await?;
                (recipient.name, recipient.display_name)
            }
            ShareRecipient::Group(id) => match self.meta.group(id).await? {
                Some(group) => (group.name, group.display_name),
                None => (String::new(), String::new()),
            },
            ShareRecipient::Org(id) => match self.meta.org(id).await? {
                Some(org) => (org.name, org.display_name),
                None => (String::new(), String::new()),
            },
            ShareRecipient::Link => (String::new(), String::new()),
        };
        Ok(ShareView { share, node, path, sharer, file_owner, recipient_name, recipient_display_name })
    }

    /// What a link page may show before any password: whether the link works at all and
    /// whether it needs a password. Unknown, expired and used-up links are NotFound alike.
    pub async fn link_info(&self, token: &str) -> CoreResult<LinkInfo> {
        let share = self.live_link(token).await?;
        Ok(LinkInfo { needs_password: share.password_hash.is_some(), share })
    }

    async fn live_link(&self, token: &str) -> CoreResult<Share> {
        let gone = || CoreError::NotFound("this link does not exist or is no longer valid".into());
        let share = self.meta.share_by_token(token).await?.ok_or_else(gone)?;
        if share.recipient != ShareRecipient::Link {
            return Err(gone());
        }
        if share.expires_at.is_some_and(|at| self.now() >= at) {
            return Err(gone());
        }
        if share.download_limit.is_some_and(|limit| share.download_count >= limit) {
            return Err(gone());
        }
        Ok(share)
    }

    /// Opens a public link. `password` is needed when the link has one; wrong guesses are
    /// throttled per (link, client address) and per link, like logins.
    pub async fn open_link(&self, token: &str, password: Option<&str>, client: IpAddr) -> CoreResult<Viewer> {
        let share = self.live_link(token).await?;
        if let Some(hash) = &share.password_hash {
            let Some(password) = password else { return Err(CoreError::Unauthorized) };
            let account = format!("link:{token}");
            let address = client.to_string();
            let now = crate::unix_now();
            let blocked_until = self.meta.login_blocked_until(&account, &address).await?;
            if blocked_until > now {
                tracing::warn!(%client, "link password guessing throttled");
                let detail = serde_json::json!({ "share_id": share.id, "throttled": true });
                self.audit(&link_actor(&share), Some(client), "link.password_failed", "", detail).await;
                return Err(CoreError::Throttled { retry_after_secs: (blocked_until - now).max(1) as u64 });
            }
            if !verify_password_off_thread(hash.clone(), password.to_string()).await? {
                self.meta.record_login_failure(&account, &address, now, &throttle::backoff_secs).await?;
                tracing::warn!(%client, "wrong link password");
                let detail = serde_json::json!({ "share_id": share.id, "throttled": false });
                self.audit(&link_actor(&share), Some(client), "link.password_failed", "", detail).await;
                return Err(CoreError::Unauthorized);
            }
            self.meta.clear_login_failures(&account, &address).await?;
        }
        let grant = self.link_grant(share).await?;
        self.audit_link_access(&grant, client, "password").await;
        Ok(Viewer::Link(Box::new(grant)))
    }

    /// Records a visitor's access through a link, once per few minutes and address (DAV
    /// clients and pages open the link on every request).
    async fn audit_link_access(&self, grant: &LinkGrant, client: IpAddr, via: &str) {
        let share = &grant.share;
        let detail = serde_json::json!({
            "share_id": share.id, "password": share.password_hash.is_some(), "via": via, "permissions": share.permissions,
        });
        let key = share.id.to_string();
        let object = format!("{}{}", grant.owner.name, grant.root.to_key());
        self.audit_once(&key, &link_actor(share), Some(client), "link.access", &object, detail).await;
    }

    /// Opens a link whose password the visitor proved earlier (see `link_session_value`).
    pub async fn open_link_with_session(
        &self,
        token: &str,
        session: Option<&str>,
        client: IpAddr,
    ) -> CoreResult<Viewer> {
        let share = self.live_link(token).await?;
        if share.password_hash.is_some() {
            let expected = link_session_value(&share);
            let given = session.unwrap_or_default();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes())) {
                return Err(CoreError::Unauthorized);
            }
        }
        let grant = self.link_grant(share).await?;
        self.audit_link_access(&grant, client, "session").await;
        Ok(Viewer::Link(Box::new(grant)))
    }

    async fn link_grant(&self, mut share: Share) -> CoreResult<LinkGrant> {
        let chain = self.meta.node_chain(share.node).await?;
        let root_node = chain.last().cloned().ok_or_else(|| CoreError::NotFound("the shared item is gone".into()))?;
        if share.sharer != root_node.owner {
            // A link made by a recipient works only as far as their share still does.
            share.permissions &= self.share_ceiling(share.sharer, &root_node, RESHARE_DEPTH).await?;
            if share.permissions & (perm::READ | perm::CREATE) == 0 {
                return Err(CoreError::NotFound("this link does not exist or is no longer valid".into()));
            }
        }
        let owner = self.user_by_id(root_node.owner).await?;
        let root = path_of_chain(&chain);
        Ok(LinkGrant { share, owner, root, root_node })
    }

    /// Counts one download through a link. Fails (NotFound) when the limit is used up; the
    /// download that reaches the limit notifies the owner.
    pub async fn count_link_download(&self, grant: &LinkGrant) -> CoreResult<()> {
        if !self.meta.count_link_download(grant.share.id).await? {
            return Err(CoreError::NotFound("this link's download limit is reached".into()));
        }
        let actor = format!("link:{}", grant.share.id);
        let item = &grant.root_node;
        self.record_activity(&[grant.share.sharer], "link_downloaded", &actor, &item.name, Some(item.id.0)).await;
        if let Some(limit) = grant.share.download_limit {
            let counted = self.meta.share(grant.share.id).await?.map_or(limit, |share| share.download_count);
            if counted >= limit {
                let item = grant.root_node.name.clone();
                let notice = Notice::LinkDownloadLimit { item: &item, limit };
                self.notify(grant.share.sharer, notice, "share", &grant.share.id.to_string()).await;
            }
        }
        Ok(())
    }

    /// Tells the link's owner a file arrived through their upload link.
    pub(crate) async fn notify_link_upload(&self, grant: &LinkGrant, file_name: &str) {
        let folder = grant.root_node.name.clone();
        let actor = format!("link:{}", grant.share.id);
        let subject = format!("{folder}/{file_name}");
        self.record_activity(&[grant.share.sharer], "file_drop_upload", &actor, &subject, Some(grant.root_node.id.0))
            .await;
        let object = format!("{}{}/{file_name}", grant.owner.name, grant.root.to_key());
        let detail = serde_json::json!({ "share_id": grant.share.id });
        self.audit(&actor, None, "file_drop.upload", &object, detail).await;
        let notice = Notice::FileDropUpload { file: file_name, folder: &folder };
        self.notify(grant.share.sharer, notice, "share", &grant.share.id.to_string()).await;
    }

    async fn notify_share_recipients(&self, sharer: &User, share: &Share, node: &Node) {
        if let ShareRecipient::User(recipient) = share.recipient {
            let notice = Notice::ShareReceived { sharer: &sharer.display_name, item: &node.name };
            self.notify(recipient, notice, "share", &share.id.to_string()).await;
        }
    }
}

/// The audit actor of a link's visitor.
fn link_actor(share: &Share) -> String {
    format!("link:{}", share.id)
}

/// The audit detail of a share: what it grants to whom, never its password or token.
fn share_detail(view: &ShareView) -> serde_json::Value {
    let share = &view.share;
    let recipient = match share.recipient {
        ShareRecipient::User(_) => format!("user:{}", view.recipient_name),
        ShareRecipient::Group(_) => format!("group:{}", view.recipient_name),
        ShareRecipient::Org(_) => format!("org:{}", view.recipient_name),
        ShareRecipient::Link => "link".to_string(),
    };
    serde_json::json!({
        "share_id": share.id,
        "recipient": recipient,
        "permissions": share.permissions,
        "password": share.password_hash.is_some(),
        "expires_at": share.expires_at,
        "download_limit": share.download_limit,
        "owner": view.file_owner.name,
    })
}

/// The value a browser keeps (in a cookie) after entering a link's password: derived from
/// the stored hash, so it is the same on every node and stops working when the password
/// changes or the link is removed, and useless to anyone who does not know the hash.
pub fn link_session_value(share: &Share) -> String {
    let mut hasher = blake3::Hasher::new_derive_key("hafen 2026 public link session");
    hasher.update(share.token.as_deref().unwrap_or_default().as_bytes());
    hasher.update(&[0]);
    hasher.update(share.password_hash.as_deref().unwrap_or_default().as_bytes());
    hasher.finalize().to_hex().to_string()
}

/// The permission sets a link may have: read-only, upload-only (file drop), or read and
/// write (folders only).
fn check_link_permissions(permissions: i64, is_dir: bool) -> CoreResult<i64> {
    const EDIT: i64 = perm::READ | perm::UPDATE | perm::CREATE | perm::DELETE;
    match permissions {
        perm::READ => Ok(permissions),
        perm::CREATE | EDIT if is_dir => Ok(permissions),
        p if p == perm::READ | perm::UPDATE && !is_dir => Ok(permissions),
        _ => Err(CoreError::InvalidInput(
            "a public link is read-only (1), upload-only for folders (4), or read-write (15 for folders, 3 for files)"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_permissions_are_one_of_the_offered_sets() {
        assert_eq!(check_link_permissions(1, true).unwrap(), 1);
        assert_eq!(check_link_permissions(4, true).unwrap(), 4);
        assert_eq!(check_link_permissions(15, true).unwrap(), 15);
        assert!(check_link_permissions(4, false).is_err(), "a file cannot be a file drop");
        assert!(check_link_permissions(8, true).is_err());
        assert_eq!(check_link_permissions(3, false).unwrap(), 3);
    }
}
