//! A whole metadata store as plain rows, for moving an instance between backends (`hafen store
//! copy`): [`MetaStore::export_snapshot`] reads every row in one consistent read transaction,
//! [`MetaStore::import_snapshot`] writes them into an empty store keeping every id (file ids,
//! ETags and version ids stay what clients already know). Sharing and tenancy data travel
//! with it: organisations, groups and their members, shares and public links (with password
//! hash, expiry and download count), recipients' mount names, one-time account links,
//! notifications, project spaces and the audit log with its anchor.
//!
//! Limit: the snapshot is held in memory as a whole: roughly 300–400 bytes per file plus the
//! inline blocks (at most 32 KiB each), i.e. a few GB for ten million files. Short-lived state
//! is not part of it: Login Flow v2 sessions in progress and login-throttling counters.

use crate::audit::{AuditAnchor, AuditEntry};
use crate::model::*;
use std::collections::{HashMap, HashSet};

/// Every row of a metadata store that belongs to the instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub users: Vec<User>,
    pub app_passwords: Vec<AppPasswordRow>,
    pub nodes: Vec<Node>,
    pub versions: Vec<VersionRow>,
    pub version_blocks: Vec<VersionBlockRow>,
    pub inline_blocks: Vec<InlineBlock>,
    pub dead_props: Vec<DeadPropRow>,
    pub locks: Vec<Lock>,
    pub uploads: Vec<UploadSession>,
    pub upload_chunks: Vec<UploadChunkRow>,
    pub upload_chunk_blocks: Vec<UploadChunkBlockRow>,
    pub organisations: Vec<Organisation>,
    pub groups: Vec<Group>,
    pub group_members: Vec<GroupMemberRow>,
    pub shares: Vec<Share>,
    pub share_mounts: Vec<ShareMountRow>,
    pub account_tokens: Vec<AccountTokenRow>,
    pub notifications: Vec<Notification>,
    pub activities: Vec<Activity>,
    pub spaces: Vec<Space>,
    pub comments: Vec<Comment>,
    pub tags: Vec<Tag>,
    pub node_tags: Vec<NodeTagRow>,
    /// The audit log as stored (ids and hashes kept, so the copy verifies like the source).
    pub audit_log: Vec<AuditEntry>,
    pub audit_anchor: Option<AuditAnchor>,
    /// The highest node id ever handed out (deleted nodes included), so that the target never
    /// hands out an id a client may still remember; 0 when none was.
    pub node_id_high_water: i64,
}

/// An app password row (the token's hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPasswordRow {
    pub id: i64,
    pub user: UserId,
    pub label: String,
    pub token_hash: String,
    pub created_at: i64,
    pub last_used: Option<i64>,
}

/// A version row: a file's content at one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub id: VersionId,
    pub node: NodeId,
    pub size: i64,
    pub content_hash: String,
    pub created_at: i64,
}

/// Block `seq` (from 0) of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionBlockRow {
    pub version: VersionId,
    pub seq: i64,
    pub hash: String,
    pub len: i64,
}

/// A dead property of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadPropRow {
    pub node: NodeId,
    pub prop: DeadProp,
}

/// A received chunk of an upload session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadChunkRow {
    pub upload: i64,
    pub name: String,
    pub size: i64,
    pub created_at: i64,
}

/// Block `seq` (from 0) of an upload chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadChunkBlockRow {
    pub upload: i64,
    pub chunk: String,
    pub seq: i64,
    pub hash: String,
    pub len: i64,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMemberRow {
    pub group: GroupId,
    pub user: UserId,
    pub is_admin: bool,
}

/// A recipient's own name for a received share and whether they left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareMountRow {
    pub share: i64,
    pub user: UserId,
    pub name: Option<String>,
    pub hidden: bool,
}

/// A tag assigned to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTagRow {
    pub node: NodeId,
    pub tag: i64,
}

/// A one-time account link (the token's hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTokenRow {
    pub token_hash: String,
    pub token: AccountToken,
}

impl Snapshot {
    /// Puts every list in a canonical order (by primary key, strings byte-wise), so that
    /// snapshots of the same content compare equal whatever backend produced them.
    pub fn sort(&mut self) {
        self.users.sort_by_key(|user| user.id.0);
        self.app_passwords.sort_by_key(|row| row.id);
        self.nodes.sort_by_key(|node| node.id);
        self.versions.sort_by_key(|row| row.id.0);
        self.version_blocks.sort_by_key(|row| (row.version.0, row.seq));
        self.inline_blocks.sort_by(|a, b| a.hash.as_bytes().cmp(b.hash.as_bytes()));
        self.dead_props.sort_by(|a, b| {
            (a.node, a.prop.ns.as_bytes(), a.prop.name.as_bytes()).cmp(&(
                b.node,
                b.prop.ns.as_bytes(),
                b.prop.name.as_bytes(),
            ))
        });
        self.locks.sort_by(|a, b| a.token.as_bytes().cmp(b.token.as_bytes()));
        self.uploads.sort_by_key(|row| row.id);
        self.upload_chunks.sort_by(|a, b| (a.upload, a.name.as_bytes()).cmp(&(b.upload, b.name.as_bytes())));
        self.upload_chunk_blocks
            .sort_by(|a, b| (a.upload, a.chunk.as_bytes(), a.seq).cmp(&(b.upload, b.chunk.as_bytes(), b.seq)));
        self.organisations.sort_by_key(|org| org.id.0);
        self.groups.sort_by_key(|group| group.id.0);
        self.group_members.sort_by_key(|row| (row.group.0, row.user.0));
        self.shares.sort_by_key(|share| share.id);
        self.share_mounts.sort_by_key(|row| (row.share, row.user.0));
        self.account_tokens.sort_by(|a, b| a.token_hash.as_bytes().cmp(b.token_hash.as_bytes()));
        self.notifications.sort_by_key(|row| row.id);
        self.activities.sort_by_key(|row| row.id);
        self.spaces.sort_by_key(|space| space.id.0);
        self.comments.sort_by_key(|row| row.id);
        self.tags.sort_by_key(|row| row.id);
        self.node_tags.sort_by_key(|row| (row.node, row.tag));
        self.audit_log.sort_by_key(|row| row.id);
    }

    /// Checks that every reference of the sharing and tenancy rows (organisation, group, user,
    /// node, share and space ids) names a row of the snapshot, so that an inconsistent snapshot
    /// is refused with a clear message before anything is written.
    pub fn check_references(&self) -> Result<(), crate::MetaError> {
        let orgs: HashSet<i64> = self.organisations.iter().map(|org| org.id.0).collect();
        let users: HashSet<i64> = self.users.iter().map(|user| user.id.0).collect();
        let groups: HashSet<i64> = self.groups.iter().map(|group| group.id.0).collect();
        let nodes: HashSet<i64> = self.nodes.iter().map(|node| node.id.0).collect();
        let shares: HashSet<i64> = self.shares.iter().map(|share| share.id).collect();
        let spaces: HashSet<i64> = self.spaces.iter().map(|space| space.id.0).collect();
        for user in &self.users {
            if let Some(org) = user.org {
                require(orgs.contains(&org.0), || {
                    format!("account {} belongs to an organisation ({})", user.id.0, org.0)
                })?;
            }
            if let Some(inviter) = user.invited_by {
                require(users.contains(&inviter.0), || {
                    format!("account {} was invited by an account ({})", user.id.0, inviter.0)
                })?;
            }
        }
        for group in &self.groups {
            if let Some(org) = group.org {
                require(orgs.contains(&org.0), || {
                    format!("group {} belongs to an organisation ({})", group.id.0, org.0)
                })?;
            }
        }
        for row in &self.group_members {
            require(groups.contains(&row.group.0), || {
                format!("a member ({}) of a group ({})", row.user.0, row.group.0)
            })?;
            require(users.contains(&row.user.0), || format!("group {} has a member ({})", row.group.0, row.user.0))?;
        }
        for share in &self.shares {
            let id = share.id;
            require(users.contains(&share.sharer.0), || format!("share {id} has a sharer ({})", share.sharer.0))?;
            require(nodes.contains(&share.node.0), || format!("share {id} shares a node ({})", share.node.0))?;
            match share.recipient {
                ShareRecipient::User(user) => {
                    require(users.contains(&user.0), || format!("share {id} is for an account ({})", user.0))?
                }
                ShareRecipient::Group(group) => {
                    require(groups.contains(&group.0), || format!("share {id} is for a group ({})", group.0))?
                }
                ShareRecipient::Org(org) => {
                    require(orgs.contains(&org.0), || format!("share {id} is for an organisation ({})", org.0))?
                }
                ShareRecipient::Link => {}
            }
            if let Some(space) = share.space {
                require(spaces.contains(&space.0), || format!("share {id} is a membership of a space ({})", space.0))?;
            }
        }
        for row in &self.share_mounts {
            require(shares.contains(&row.share), || {
                format!("a mount of account {} names a share ({})", row.user.0, row.share)
            })?;
            require(users.contains(&row.user.0), || {
                format!("a mount of share {} names an account ({})", row.share, row.user.0)
            })?;
        }
        for row in &self.account_tokens {
            require(users.contains(&row.token.user.0), || {
                format!("an account link is for an account ({})", row.token.user.0)
            })?;
        }
        for row in &self.notifications {
            require(users.contains(&row.user.0), || {
                format!("notification {} is for an account ({})", row.id, row.user.0)
            })?;
        }
        for row in &self.activities {
            require(users.contains(&row.user.0), || format!("activity {} is for an account ({})", row.id, row.user.0))?;
        }
        for space in &self.spaces {
            let id = space.id.0;
            require(users.contains(&space.account.0), || format!("space {id} has an account ({})", space.account.0))?;
            require(nodes.contains(&space.folder.0), || format!("space {id} has a folder ({})", space.folder.0))?;
            if let Some(org) = space.org {
                require(orgs.contains(&org.0), || format!("space {id} belongs to an organisation ({})", org.0))?;
            }
            if let Some(group) = space.group {
                require(groups.contains(&group.0), || format!("space {id} belongs to a group ({})", group.0))?;
            }
        }
        let tags: HashSet<i64> = self.tags.iter().map(|tag| tag.id).collect();
        for row in &self.comments {
            require(nodes.contains(&row.node.0), || format!("comment {} is on a node ({})", row.id, row.node.0))?;
            if let Some(author) = row.author {
                require(users.contains(&author.0), || format!("comment {} has an author ({})", row.id, author.0))?;
            }
        }
        for row in &self.tags {
            if let Some(org) = row.org {
                require(orgs.contains(&org.0), || format!("tag {} belongs to an organisation ({})", row.id, org.0))?;
            }
        }
        for row in &self.node_tags {
            require(nodes.contains(&row.node.0), || format!("a tag ({}) is on a node ({})", row.tag, row.node.0))?;
            require(tags.contains(&row.tag), || format!("node {} has a tag ({})", row.node.0, row.tag))?;
        }
        Ok(())
    }

    /// The nodes ordered so that every parent comes before its children (by depth, then id).
    /// A node whose parent is missing or that lies on a cycle is an error.
    pub fn nodes_parents_first(&self) -> Result<Vec<&Node>, crate::MetaError> {
        let parents: HashMap<NodeId, Option<NodeId>> = self.nodes.iter().map(|node| (node.id, node.parent)).collect();
        let mut depths: HashMap<NodeId, usize> = HashMap::with_capacity(self.nodes.len());
        for node in &self.nodes {
            // Walk up until a node of known depth (or a root), then assign depths back down.
            let mut chain = vec![node.id];
            let mut base = 0;
            let mut current = node.id;
            loop {
                if let Some(&depth) = depths.get(&current) {
                    chain.pop();
                    base = depth + 1;
                    break;
                }
                match parents.get(&current) {
                    Some(None) => break,
                    Some(Some(parent)) => {
                        if chain.len() > self.nodes.len() {
                            return Err(crate::MetaError::Conflict(format!("node {} lies on a cycle", node.id.0)));
                        }
                        chain.push(*parent);
                        current = *parent;
                    }
                    None => {
                        return Err(crate::MetaError::Conflict(format!(
                            "node {} has a parent ({}) that is not in the snapshot",
                            node.id.0, current.0
                        )))
                    }
                }
            }
            for (offset, id) in chain.iter().rev().enumerate() {
                depths.insert(*id, base + offset);
            }
        }
        let mut ordered: Vec<&Node> = self.nodes.iter().collect();
        ordered.sort_by_key(|node| (depths.get(&node.id).copied().unwrap_or(0), node.id));
        Ok(ordered)
    }

    /// The distinct blocks that must be in the blob store for this snapshot to be complete:
    /// those of every stored version (current ones and the older ones kept for restores, trash
    /// included) and of every upload chunk, except blocks stored inline (reads find those in
    /// the metadata store first).
    pub fn blob_blocks(&self) -> Vec<BlockRef> {
        let inline: HashSet<&str> = self.inline_blocks.iter().map(|block| block.hash.as_str()).collect();
        let mut seen: HashSet<&str> = HashSet::new();
        let version_blocks = self.version_blocks.iter().map(|row| (row.hash.as_str(), row.len));
        let chunk_blocks = self.upload_chunk_blocks.iter().map(|row| (row.hash.as_str(), row.len));
        version_blocks
            .chain(chunk_blocks)
            .filter(|(hash, _)| !inline.contains(hash) && seen.insert(hash))
            .map(|(hash, len)| BlockRef { hash: hash.to_string(), len })
            .collect()
    }
}

/// `Ok` when `found`, else a `Conflict` saying that `what` (described lazily) is missing.
fn require(found: bool, what: impl FnOnce() -> String) -> Result<(), crate::MetaError> {
    if found {
        Ok(())
    } else {
        Err(crate::MetaError::Conflict(format!("{} that is not in the snapshot", what())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, parent: Option<i64>) -> Node {
        Node {
            id: NodeId(id),
            owner: UserId(1),
            parent: parent.map(NodeId),
            name: format!("n{id}"),
            is_dir: true,
            size: 0,
            mtime: 0,
            ctime: 0,
            etag: String::new(),
            version: None,
            checksum: None,
        }
    }

    #[test]
    fn parents_come_first() {
        // 5 is the root; 2 lies below 9 which lies below 5; 7 below 2.
        let snapshot = Snapshot {
            nodes: vec![node(2, Some(9)), node(7, Some(2)), node(9, Some(5)), node(5, None), node(3, Some(5))],
            ..Snapshot::default()
        };
        let order: Vec<i64> = snapshot.nodes_parents_first().unwrap().iter().map(|node| node.id.0).collect();
        assert_eq!(order, vec![5, 3, 9, 2, 7]);
        let orphan = Snapshot { nodes: vec![node(2, Some(9))], ..Snapshot::default() };
        assert!(orphan.nodes_parents_first().is_err());
        let cycle = Snapshot { nodes: vec![node(1, Some(2)), node(2, Some(1))], ..Snapshot::default() };
        assert!(cycle.nodes_parents_first().is_err());
    }

    #[test]
    fn references_must_name_rows_of_the_snapshot() {
        let user = User {
            id: UserId(1),
            name: "alice".into(),
            display_name: "Alice".into(),
            email: None,
            password_hash: String::new(),
            quota: None,
            is_admin: false,
            created_at: 0,
            last_failed_login: None,
            org: Some(OrgId(3)),
            org_admin: true,
            is_guest: false,
            invited_by: None,
            is_space: false,
            language: String::new(),
            mail_digest: "batched".into(),
            notify_by_email: true,
        };
        let org = Organisation {
            id: OrgId(3),
            name: "org".into(),
            display_name: "Org".into(),
            quota: None,
            link_password_required: false,
            link_max_expiry_days: None,
            created_at: 0,
            version_daily_days: None,
            version_quota_percent: None,
        };
        let share = Share {
            id: 7,
            sharer: UserId(1),
            node: NodeId(1),
            recipient: ShareRecipient::Org(OrgId(3)),
            permissions: 1,
            token: None,
            password_hash: None,
            expires_at: None,
            download_limit: None,
            download_count: 0,
            label: String::new(),
            note: String::new(),
            hide_download: false,
            created_at: 0,
            space: None,
        };
        let complete = Snapshot {
            users: vec![user],
            organisations: vec![org],
            nodes: vec![node(1, None)],
            shares: vec![share],
            share_mounts: vec![ShareMountRow { share: 7, user: UserId(1), name: Some("x".into()), hidden: false }],
            ..Snapshot::default()
        };
        complete.check_references().unwrap();
        let broken = |change: &dyn Fn(&mut Snapshot)| {
            let mut snapshot = complete.clone();
            change(&mut snapshot);
            assert!(matches!(snapshot.check_references(), Err(crate::MetaError::Conflict(_))), "{snapshot:?}");
        };
        broken(&|snapshot| snapshot.organisations.clear());
        broken(&|snapshot| snapshot.users[0].invited_by = Some(UserId(2)));
        broken(&|snapshot| snapshot.shares[0].recipient = ShareRecipient::Group(GroupId(4)));
        broken(&|snapshot| snapshot.shares[0].space = Some(SpaceId(5)));
        broken(&|snapshot| snapshot.share_mounts[0].share = 8);
        broken(&|snapshot| {
            snapshot.group_members.push(GroupMemberRow { group: GroupId(4), user: UserId(1), is_admin: false })
        });
    }

    #[test]
    fn blob_blocks_cover_older_versions_and_skip_inline_and_duplicate_blocks() {
        let mut file = node(2, Some(1));
        file.version = Some(VersionId(11));
        let block = |version: i64, seq: i64, hash: &str| VersionBlockRow {
            version: VersionId(version),
            seq,
            hash: hash.into(),
            len: 1,
        };
        let snapshot = Snapshot {
            nodes: vec![node(1, None), file],
            version_blocks: vec![block(10, 0, "old"), block(11, 0, "a"), block(11, 1, "b"), block(11, 2, "a")],
            inline_blocks: vec![InlineBlock { hash: "b".into(), data: vec![1] }],
            upload_chunk_blocks: vec![UploadChunkBlockRow {
                upload: 1,
                chunk: "1".into(),
                seq: 0,
                hash: "c".into(),
                len: 1,
            }],
            ..Snapshot::default()
        };
        let hashes: Vec<String> = snapshot.blob_blocks().into_iter().map(|block| block.hash).collect();
        assert_eq!(hashes, vec!["old", "a", "c"], "older versions stay restorable after a copy");
    }
}
