//! Project spaces: folders owned by an organisation or a project group rather than by a
//! person, so the data stays when a member leaves. A space's data lives in the tree of an
//! account of kind `space` (it never logs in, is never listed, and its quota is the space's
//! quota); its members — accounts, groups, organisations — are shares of the space's folder
//! marked with the space, whose permissions are the member's role. So a space appears in
//! every member's tree exactly like a received share (resolved as a set, one query per
//! listing whatever the number of members) and every access rule of `access` applies.
//!
//! Who manages a space (members, roles): server administrators, the owning organisation's
//! administrators, the owning project group's administrators, and the space's managers.
//! Quota and deletion are for administrators only.

use crate::access::perm;
use crate::files::Quota;
use crate::shares::RecipientName;
use crate::{Core, CoreError, CoreResult};
use hafen_meta::{GroupId, MetaError, NewSpace, OrgId, Share, ShareRecipient, Space, SpaceId, User};
use std::collections::HashMap;

/// What a member may do in a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceRole {
    /// Reads and downloads.
    Viewer,
    /// Also creates, changes and deletes files and folders.
    Editor,
    /// Also shares items further and manages the space's members.
    Manager,
}

impl SpaceRole {
    pub fn permissions(self) -> i64 {
        match self {
            SpaceRole::Viewer => perm::READ,
            SpaceRole::Editor => perm::READ | perm::UPDATE | perm::CREATE | perm::DELETE,
            SpaceRole::Manager => perm::ALL,
        }
    }

    /// The role a membership's permissions stand for.
    pub fn of_permissions(bits: i64) -> SpaceRole {
        if bits & perm::SHARE != 0 {
            SpaceRole::Manager
        } else if bits & (perm::UPDATE | perm::CREATE | perm::DELETE) != 0 {
            SpaceRole::Editor
        } else {
            SpaceRole::Viewer
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpaceRole::Viewer => "viewer",
            SpaceRole::Editor => "editor",
            SpaceRole::Manager => "manager",
        }
    }

    pub fn parse(text: &str) -> CoreResult<SpaceRole> {
        match text {
            "viewer" => Ok(SpaceRole::Viewer),
            "editor" => Ok(SpaceRole::Editor),
            "manager" => Ok(SpaceRole::Manager),
            other => Err(CoreError::InvalidInput(format!("unknown role {other:?}: use viewer, editor or manager"))),
        }
    }
}

/// Who owns a new space, by name.
#[derive(Debug, Clone)]
pub enum SpaceOwner {
    Org(String),
    /// A project group (one without organisation).
    Group(String),
}

/// A space with what administration shows about it.
#[derive(Debug, Clone)]
pub struct SpaceView {
    pub space: Space,
    pub quota: Quota,
    /// Name of the owning organisation or project group.
    pub owner_name: String,
    /// The viewing account's own role, if it is a member.
    pub role: Option<SpaceRole>,
    /// Whether the viewing account may manage the members.
    pub may_manage: bool,
}

/// One member of a space.
#[derive(Debug, Clone)]
pub struct SpaceMember {
    pub share_id: i64,
    pub recipient: ShareRecipient,
    /// Account, group or organisation name.
    pub name: String,
    pub display_name: String,
    pub role: SpaceRole,
}

impl Core {
    /// Creates a space: server administrators for any owner, organisation administrators
    /// for their organisation, project-group administrators for their group.
    pub async fn create_space(
        &self,
        actor: &User,
        name: &str,
        display_name: &str,
        owner: &SpaceOwner,
        quota: Option<i64>,
    ) -> CoreResult<Space> {
        if !crate::accounts::valid_account_name(name) {
            return Err(CoreError::InvalidInput(
                "space names use 1-64 characters: letters, digits, '.', '-', '_', '@'".into(),
            ));
        }
        let display_name = if display_name.trim().is_empty() { name } else { display_name.trim() };
        crate::TreePath::from_segments([display_name])?;
        if quota.is_some_and(|quota| quota < 0) {
            return Err(CoreError::InvalidInput("a quota cannot be negative".into()));
        }
        let (org, group) = match owner {
            SpaceOwner::Org(org) => {
                let org = self.org_named(org).await?;
                if !(actor.is_admin || (actor.org_admin && actor.org == Some(org.id))) {
                    return Err(CoreError::Forbidden("you may not create spaces for this organisation".into()));
                }
                if let (Some(limit), Some(quota)) = (org.quota, quota) {
                    if quota > limit {
                        return Err(CoreError::InvalidInput("the space quota exceeds the organisation's".into()));
                    }
                }
                (Some(org.id), None)
            }
            SpaceOwner::Group(group) => {
                let group = self.group_named(group).await?;
                if group.org.is_some() {
                    return Err(CoreError::InvalidInput(
                        "a space belongs to an organisation or to a project group (a group without organisation)"
                            .into(),
                    ));
                }
                if !self.administers_project_group(actor, group.id).await? {
                    return Err(CoreError::Forbidden("you may not create spaces for this group".into()));
                }
                (None, Some(group.id))
            }
        };
        let new = NewSpace { name: name.to_string(), display_name: display_name.to_string(), org, group, quota };
        let space = match self.meta.create_space(&new, self.now()).await {
            Err(MetaError::AlreadyExists(_)) => {
                return Err(CoreError::Conflict(format!("space {name} already exists")))
            }
            other => other?,
        };
        let detail =
            serde_json::json!({ "org": org.map(|org| org.0), "group": group.map(|group| group.0), "quota": quota });
        self.audit(&actor.name, None, "space.create", name, detail).await;
        Ok(space)
    }

    async fn administers_project_group(&self, actor: &User, group: GroupId) -> CoreResult<bool> {
        if actor.is_admin {
            return Ok(true);
        }
        Ok(self.meta.groups_of(actor.id).await?.iter().any(|(member_of, admin)| member_of.id == group && *admin))
    }

    /// Administers the space: may change its quota, name, members, and delete it.
    async fn administers_space(&self, actor: &User, space: &Space) -> CoreResult<bool> {
        if actor.is_admin {
            return Ok(true);
        }
        if let Some(org) = space.org {
            return Ok(actor.org_admin && actor.org == Some(org));
        }
        match space.group {
            Some(group) => self.administers_project_group(actor, group).await,
            None => Ok(false),
        }
    }

    /// The actor's own role in the space (the strongest of its memberships), from the shares
    /// it receives: one query however many members the space has.
    async fn role_in_space(&self, actor: &User, space: SpaceId) -> CoreResult<Option<SpaceRole>> {
        let bits = self
            .meta
            .received_shares(actor.id)
            .await?
            .iter()
            .filter(|received| received.share.space == Some(space))
            .fold(0, |bits, received| bits | received.share.permissions);
        Ok((bits != 0).then(|| SpaceRole::of_permissions(bits)))
    }

    /// The space `name` if the actor may see it (administers or is a member), else NotFound.
    async fn visible_space(&self, actor: &User, name: &str) -> CoreResult<(Space, Option<SpaceRole>, bool)> {
        let not_found = || CoreError::NotFound(format!("space {name} not found"));
        let space = self.meta.space_by_name(name).await?.ok_or_else(not_found)?;
        let role = self.role_in_space(actor, space.id).await?;
        let administers = self.administers_space(actor, &space).await?;
        if role.is_none() && !administers {
            return Err(not_found());
        }
        Ok((space, role, administers || role == Some(SpaceRole::Manager)))
    }

    async fn space_view(
        &self,
        space: Space,
        role: Option<SpaceRole>,
        may_manage: bool,
        names: &SpaceOwnerNames,
    ) -> CoreResult<SpaceView> {
        let account = self.user_by_id(space.account).await?;
        let quota = self.tree_quota(&account).await?;
        let owner_name = match (space.org, space.group) {
            (Some(org), _) => names.orgs.get(&org).cloned().unwrap_or_default(),
            (None, Some(group)) => names.groups.get(&group).cloned().unwrap_or_default(),
            (None, None) => String::new(),
        };
        Ok(SpaceView { space, quota, owner_name, role, may_manage })
    }

    async fn owner_names(&self) -> CoreResult<SpaceOwnerNames> {
        Ok(SpaceOwnerNames {
            orgs: self.meta.list_orgs().await?.into_iter().map(|org| (org.id, org.name)).collect(),
            groups: self.meta.list_groups().await?.into_iter().map(|group| (group.id, group.name)).collect(),
        })
    }

    /// Spaces the actor administers or is a member of.
    pub async fn list_spaces(&self, actor: &User) -> CoreResult<Vec<SpaceView>> {
        let mut roles: HashMap<SpaceId, i64> = HashMap::new();
        for received in self.meta.received_shares(actor.id).await? {
            if let Some(space) = received.share.space {
                *roles.entry(space).or_default() |= received.share.permissions;
            }
        }
        let names = self.owner_names().await?;
        let mut views = Vec::new();
        for space in self.meta.list_spaces().await? {
            let role = roles.get(&space.id).map(|bits| SpaceRole::of_permissions(*bits));
            let administers = self.administers_space(actor, &space).await?;
            if role.is_none() && !administers {
                continue;
            }
            let may_manage = administers || role == Some(SpaceRole::Manager);
            views.push(self.space_view(space, role, may_manage, &names).await?);
        }
        Ok(views)
    }

    pub async fn space_info(&self, actor: &User, name: &str) -> CoreResult<SpaceView> {
        let (space, role, may_manage) = self.visible_space(actor, name).await?;
        let names = self.owner_names().await?;
        self.space_view(space, role, may_manage, &names).await
    }

    /// Renames the space (its folder follows) or changes its quota (administrators only).
    pub async fn update_space(
        &self,
        actor: &User,
        name: &str,
        display_name: Option<String>,
        quota: Option<Option<i64>>,
    ) -> CoreResult<SpaceView> {
        let (mut space, role, _) = self.visible_space(actor, name).await?;
        if !self.administers_space(actor, &space).await? {
            return Err(CoreError::Forbidden("only the space's administrators may change it".into()));
        }
        if let Some(quota) = quota {
            if quota.is_some_and(|quota| quota < 0) {
                return Err(CoreError::InvalidInput("a quota cannot be negative".into()));
            }
            let mut account = self.user_by_id(space.account).await?;
            account.quota = quota;
            self.meta.update_user(&account).await?;
        }
        if let Some(display_name) = display_name.map(|text| text.trim().to_string()) {
            crate::TreePath::from_segments([display_name.as_str()])?;
            let root = self.meta.root(space.account).await?;
            self.meta.move_node(space.folder, root.id, &display_name, None).await?;
            space.display_name = display_name;
            self.meta.update_space(&space).await?;
        }
        let mut detail = serde_json::json!({ "display_name": space.display_name });
        if let Some(quota) = quota {
            detail["quota"] = serde_json::json!(quota);
        }
        self.audit(&actor.name, None, "space.update", &space.name, detail).await;
        let names = self.owner_names().await?;
        self.space_view(space, role, true, &names).await
    }

    /// Deletes the space with all its data (administrators only).
    pub async fn delete_space(&self, actor: &User, name: &str) -> CoreResult<()> {
        let (space, _, _) = self.visible_space(actor, name).await?;
        if !self.administers_space(actor, &space).await? {
            return Err(CoreError::Forbidden("only the space's administrators may delete it".into()));
        }
        // The account's deletion takes its tree, the space row and the memberships with it.
        self.meta.delete_user(space.account).await?;
        self.audit(&actor.name, None, "space.delete", &space.name, serde_json::json!({})).await;
        Ok(())
    }

    /// Members with their roles (anyone who may see the space).
    pub async fn space_members(&self, actor: &User, name: &str) -> CoreResult<Vec<SpaceMember>> {
        let (space, _, _) = self.visible_space(actor, name).await?;
        let shares = self.meta.space_members(space.id).await?;
        let users: HashMap<_, _> =
            self.meta.list_users().await?.into_iter().map(|user| (user.id, (user.name, user.display_name))).collect();
        let groups: HashMap<_, _> = self
            .meta
            .list_groups()
            .await?
            .into_iter()
            .map(|group| (group.id, (group.name, group.display_name)))
            .collect();
        let orgs: HashMap<OrgId, _> =
            self.meta.list_orgs().await?.into_iter().map(|org| (org.id, (org.name, org.display_name))).collect();
        Ok(shares
            .into_iter()
            .filter_map(|share| {
                let (name, display_name) = match share.recipient {
                    ShareRecipient::User(id) => users.get(&id).cloned(),
                    ShareRecipient::Group(id) => groups.get(&id).cloned(),
                    ShareRecipient::Org(id) => orgs.get(&id).cloned(),
                    ShareRecipient::Link => None,
                }?;
                Some(SpaceMember {
                    share_id: share.id,
                    recipient: share.recipient,
                    name,
                    display_name,
                    role: SpaceRole::of_permissions(share.permissions),
                })
            })
            .collect())
    }

    /// Adds members or changes their roles, all at once (one transaction for the new ones).
    /// Returns how many memberships were added or changed.
    pub async fn set_space_members(
        &self,
        actor: &User,
        name: &str,
        members: &[(RecipientName, SpaceRole)],
    ) -> CoreResult<usize> {
        let (space, _, may_manage) = self.visible_space(actor, name).await?;
        if !may_manage {
            return Err(CoreError::Forbidden("only the space's managers may change its members".into()));
        }
        let existing: HashMap<(i64, i64), Share> = self
            .meta
            .space_members(space.id)
            .await?
            .into_iter()
            .map(|share| (recipient_key(&share.recipient), share))
            .collect();
        let now = self.now();
        let mut new_shares: Vec<Share> = Vec::new();
        let mut changed = 0;
        for (member, role) in members {
            let recipient = self.recipient_of(member).await?;
            if recipient == ShareRecipient::Link {
                return Err(CoreError::InvalidInput("a space's members are accounts, groups or organisations".into()));
            }
            let key = recipient_key(&recipient);
            if let Some(share) = existing.get(&key) {
                if share.permissions != role.permissions() {
                    self.meta.update_share(&Share { permissions: role.permissions(), ..share.clone() }).await?;
                    changed += 1;
                }
                continue;
            }
            if let Some(pending) = new_shares.iter_mut().find(|share| recipient_key(&share.recipient) == key) {
                pending.permissions = role.permissions();
                continue;
            }
            new_shares.push(Share {
                id: 0,
                sharer: space.account,
                node: space.folder,
                recipient,
                permissions: role.permissions(),
                token: None,
                password_hash: None,
                expires_at: None,
                download_limit: None,
                download_count: 0,
                label: String::new(),
                note: String::new(),
                hide_download: false,
                created_at: now,
                space: Some(space.id),
            });
        }
        changed += new_shares.len();
        self.meta.create_shares(&new_shares).await?;
        let listed: Vec<String> = members.iter().map(|(member, role)| format!("{member:?} {role:?}")).collect();
        let detail = serde_json::json!({ "members": listed, "changed": changed });
        self.audit(&actor.name, None, "space.members_set", &space.name, detail).await;
        Ok(changed)
    }

    pub async fn remove_space_member(&self, actor: &User, name: &str, member: &RecipientName) -> CoreResult<()> {
        let (space, _, may_manage) = self.visible_space(actor, name).await?;
        if !may_manage {
            return Err(CoreError::Forbidden("only the space's managers may change its members".into()));
        }
        let recipient = self.recipient_of(member).await?;
        let share = self
            .meta
            .space_members(space.id)
            .await?
            .into_iter()
            .find(|share| share.recipient == recipient)
            .ok_or_else(|| CoreError::NotFound("not a member of this space".into()))?;
        self.meta.delete_share(share.id).await?;
        let detail = serde_json::json!({ "member": format!("{member:?}"), "share_id": share.id });
        self.audit(&actor.name, None, "space.member_remove", &space.name, detail).await;
        Ok(())
    }
}

struct SpaceOwnerNames {
    orgs: HashMap<OrgId, String>,
    groups: HashMap<GroupId, String>,
}

/// (share type, recipient id): identifies a member.
fn recipient_key(recipient: &ShareRecipient) -> (i64, i64) {
    let id = match recipient {
        ShareRecipient::User(user) => user.0,
        ShareRecipient::Group(group) => group.0,
        ShareRecipient::Org(org) => org.0,
        ShareRecipient::Link => 0,
    };
    (recipient.share_type(), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_permissions() {
        for role in [SpaceRole::Viewer, SpaceRole::Editor, SpaceRole::Manager] {
            assert_eq!(SpaceRole::of_permissions(role.permissions()), role);
            assert_eq!(SpaceRole::parse(role.as_str()).ok(), Some(role));
        }
        assert!(SpaceRole::parse("owner").is_err());
    }
}
