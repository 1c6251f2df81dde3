//! The file tree as a viewer sees it: resolving paths, listing folders, creating folders,
//! deleting, copying and moving, dead properties and quotas. Every operation first locates
//! the path (own tree, received share or public link, see `access`) and checks the share
//! permissions there; every change then checks WebDAV locks (see `locks`) before it reaches
//! the store.

use crate::access::{perm, Located, Viewer};
use crate::locks::Change;
use crate::{unix_now, Core, CoreError, CoreResult, TreePath};
use hafen_meta::{CopyRequest, DeadProp, Expect, Lock, Node, NodeId, PropOp, User};

/// Storage use of an account.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub used: i64,
    /// `None` when unlimited.
    pub limit: Option<i64>,
}

impl Quota {
    pub fn available(&self) -> Option<i64> {
        self.limit.map(|limit| (limit - self.used).max(0))
    }
}

/// Conditions and metadata of an upload.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// The declared length, checked against quota before any byte is stored.
    pub content_length: Option<u64>,
    /// Modification time to record (X-OC-Mtime), seconds since the epoch.
    pub mtime: Option<i64>,
    /// If-Match: `Some("*")` or an ETag value without quotes.
    pub if_match: Option<String>,
    /// If-None-Match: * (create only).
    pub if_none_match_any: bool,
    /// Lock tokens the client submitted.
    pub lock_tokens: Vec<String>,
    /// Checksum declared by the client (`OC-Checksum`), verified when SHA1 or MD5.
    pub checksum: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PutOutcome {
    pub node: Node,
    pub created: bool,
}

/// What COPY or MOVE should do.
#[derive(Debug, Clone, Copy)]
pub struct CopyOrMove {
    pub is_move: bool,
    /// Depth infinity (always for MOVE); a depth-0 COPY of a folder copies only the folder.
    pub recursive: bool,
    pub overwrite: bool,
}

impl PutOptions {
    pub(crate) fn expectation(&self) -> Expect {
        match (&self.if_match, self.if_none_match_any) {
            (_, true) => Expect::Absent,
            (Some(tag), false) if tag == "*" => Expect::Present,
            (Some(tag), false) => Expect::Etag(tag.clone()),
            (None, false) => Expect::Anything,
        }
    }
}

/// One entry of a folder listing, as the viewer sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub node: Node,
    /// The entry's path in the viewer's namespace.
    pub path: TreePath,
    pub perms: i64,
    /// Reached through a share someone else made (Nextcloud's `S`).
    pub shared_with_me: bool,
    /// The top of a received share (Nextcloud's `M`).
    pub mount_root: bool,
    /// Share types of the viewer's own shares of this node (`oc:share-types`).
    pub share_types: Vec<i64>,
    /// Lies in a project space (Nextcloud clients see a group-folder mount).
    pub in_space: bool,
}

/// A resource and (on request) its members, with what PROPFIND needs besides.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The resource first, then its members.
    pub entries: Vec<Entry>,
    /// Quota of the tree the resource lives in.
    pub quota: Quota,
    /// Active locks of that tree, with paths in the viewer's namespace.
    pub locks: Vec<Lock>,
    /// Owner of that tree.
    pub owner: User,
}

/// Namespace prefix of the dead properties the server keeps for itself (never a client's).
pub(crate) const INTERNAL_NS_PREFIX: &str = "urn:hafen:";

impl Core {
    /// The node at `path` as the viewer may see it: `None` when it does not exist or the
    /// viewer may not read there (a file-drop link never reveals what exists).
    pub async fn resolve(&self, who: &Viewer, path: &TreePath) -> CoreResult<Option<Node>> {
        let at = self.locate(who, path).await?;
        if !at.allows(perm::READ) && !path.is_root() {
            return Ok(None);
        }
        Ok(at.node().cloned())
    }

    /// The node at `path`, or NotFound. The root of the viewer's namespace is always visible
    /// (a file-drop link shows its folder, nothing in it).
    pub async fn stat(&self, who: &Viewer, path: &TreePath) -> CoreResult<Node> {
        let at = self.locate(who, path).await?;
        if !at.allows(perm::READ) && !path.is_root() {
            return Err(CoreError::NotFound(format!("{} does not exist", path.to_key())));
        }
        at.node().cloned().ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))
    }

    /// The resource at `path` and, when `members` and it is a folder, its members: own
    /// entries, received shares at the top level, with permissions and share types resolved
    /// for the whole listing at once.
    pub async fn listing(&self, who: &Viewer, path: &TreePath, members: bool) -> CoreResult<Listing> {
        let at = self.locate(who, path).await?;
        let readable = at.allows(perm::READ);
        if !readable && !path.is_root() {
            return Err(CoreError::NotFound(format!("{} does not exist", path.to_key())));
        }
        let node =
            at.node().cloned().ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))?;
        let shared_with_me = at.mount.is_some() && who.account().is_some();
        let in_space = at.mount.as_ref().is_some_and(|mount| mount.space.is_some());
        // A file's delete and rename come from its folder; only creating is meaningless.
        let entry_perms = |node: &Node| if node.is_dir { at.perms } else { at.perms & !perm::CREATE };
        let mut entries = vec![Entry {
            perms: entry_perms(&node),
            node: node.clone(),
            path: path.clone(),
            shared_with_me,
            mount_root: at.is_mount_root() && who.account().is_some(),
            share_types: Vec::new(),
            in_space,
        }];
        if members && node.is_dir && readable {
            let children = self.meta.children(node.id).await?;
            let mounts = match who {
                Viewer::Account(user) if path.is_root() => {
                    let own = children.iter().map(|child| child.name.clone()).collect();
                    self.mounts(user, &own).await?
                }
                _ => Vec::new(),
            };
            for child in children {
                entries.push(Entry {
                    perms: entry_perms(&child),
                    path: path.join(&child.name),
                    node: child,
                    shared_with_me,
                    mount_root: false,
                    share_types: Vec::new(),
                    in_space,
                });
            }
            for mount in mounts {
                entries.push(Entry {
                    path: path.join(&mount.name),
                    perms: mount.perms,
                    node: mount.node,
                    shared_with_me: true,
                    mount_root: true,
                    share_types: Vec::new(),
                    in_space: mount.space.is_some(),
                });
            }
        }
        if let Viewer::Account(user) = who {
            let ids: Vec<_> = entries.iter().map(|entry| entry.node.id).collect();
            // Distinct (node, type) pairs only: a node shared with 10,000 accounts costs one row.
            for (node, kind) in self.meta.share_types_by(user.id, &ids).await? {
                for entry in entries.iter_mut().filter(|entry| entry.node.id == node) {
                    if !entry.share_types.contains(&kind) {
                        entry.share_types.push(kind);
                    }
                }
            }
        }
        let quota = self.tree_quota(&at.tree).await?;
        let locks = self.view_locks(&at).await?;
        Ok(Listing { entries, quota, locks, owner: at.tree })
    }

    /// Storage use of the tree `owner` owns.
    pub async fn tree_quota(&self, owner: &User) -> CoreResult<Quota> {
        let root = self.meta.root(owner.id).await?;
        Ok(Quota { used: root.size, limit: owner.quota })
    }

    /// Storage use of the account's own tree.
    pub async fn quota(&self, user: &User) -> CoreResult<Quota> {
        self.tree_quota(user).await
    }

    pub async fn make_folder(&self, who: &Viewer, path: &TreePath, tokens: &[String]) -> CoreResult<Node> {
        let at = self.locate(who, path).await?;
        if !at.allows(perm::READ) {
            return Err(CoreError::Forbidden("an upload link accepts files only".into()));
        }
        let (parent, existing) = at.parent_and_node()?;
        if existing.is_some() {
            return Err(CoreError::NotAllowed(format!("{} already exists", path.to_key())));
        }
        at.require(perm::CREATE, "create folders")?;
        self.ensure_unlocked(&at.tree, &at.path, Change::Membership, tokens).await?;
        let name = path.name().unwrap_or_default();
        match self.meta.create_folder(parent.id, name, unix_now()).await {
            Err(hafen_meta::MetaError::AlreadyExists(_)) => {
                Err(CoreError::NotAllowed(format!("{} already exists", path.to_key())))
            }
            other => Ok(other?),
        }
    }

    pub async fn delete(&self, who: &Viewer, path: &TreePath, tokens: &[String]) -> CoreResult<()> {
        if path.is_root() {
            return Err(CoreError::Forbidden("the root folder cannot be deleted".into()));
        }
        let at = self.locate(who, path).await?;
        if !at.allows(perm::READ) || at.node().is_none() {
            return Err(CoreError::NotFound(format!("{} does not exist", path.to_key())));
        }
        if let (Some(mount), Viewer::Account(user)) = (&at.mount, who) {
            if mount.at_root && mount.space.is_some() {
                return Err(CoreError::Forbidden(
                    "a project space cannot be left; its managers manage the members".into(),
                ));
            }
            if mount.at_root {
                // Deleting a received share at the top level leaves it (for this account only).
                for share in &mount.share_ids {
                    self.meta.set_share_mount(*share, user.id, None, true).await?;
                }
                return Ok(());
            }
        }
        at.require(perm::DELETE, "delete")?;
        let node =
            at.node().cloned().ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))?;
        self.ensure_unlocked(&at.tree, &at.path, Change::Subtree, tokens).await?;
        if at.tree.is_space {
            // A project space has no trash of its own (nobody could open it): gone at once.
            self.meta.delete_node(node.id).await?;
        } else {
            self.move_to_trash(&at.tree, &at.path, &node, &crate::activity::actor_of(who)).await?;
        }
        self.record_activity(
            &[at.tree.id],
            "file_deleted",
            &crate::activity::actor_of(who),
            &at.path.to_key(),
            Some(node.id.0),
        )
        .await;
        self.meta.delete_locks_under(at.tree.id, &at.path.to_key()).await?;
        Ok(())
    }

    /// COPY or MOVE. Returns whether the destination was created (rather than overwritten).
    /// Both ends may lie in different trees (own files into a received share): then the
    /// content is copied (blocks are shared, nothing is read) and, for a move, the source
    /// removed afterwards.
    pub async fn copy_or_move(
        &self,
        who: &Viewer,
        from: &TreePath,
        to: &TreePath,
        mode: CopyOrMove,
        tokens: &[String],
    ) -> CoreResult<bool> {
        if from.is_root() || to.is_root() {
            return Err(CoreError::Forbidden("the root folder cannot be copied, moved or replaced".into()));
        }
        if from == to {
            return Err(CoreError::Forbidden("source and destination are the same".into()));
        }
        let source_at = self.locate(who, from).await?;
        if !source_at.allows(perm::READ) {
            return Err(CoreError::NotFound(format!("{} does not exist", from.to_key())));
        }
        let source = source_at
            .node()
            .cloned()
            .ok_or_else(|| CoreError::NotFound(format!("{} does not exist", from.to_key())))?;
        if source.is_dir && to.is_within(from) {
            return Err(CoreError::Conflict("a folder cannot be copied or moved into itself".into()));
        }
        if mode.is_move && source_at.is_mount_root() {
            return self.rename_mount(who, &source_at, to).await;
        }
        let target_at = self.locate(who, to).await?;
        if target_at.is_mount_root() {
            return Err(CoreError::Forbidden(format!(
                "{} is a share you received; it cannot be replaced",
                to.to_key()
            )));
        }
        let (parent, existing) = target_at.parent_and_node()?;
        if existing.is_some() && !mode.overwrite {
            return Err(CoreError::PreconditionFailed(format!("{} exists and Overwrite is F", to.to_key())));
        }
        let same_tree = source_at.tree.id == target_at.tree.id;
        if mode.is_move {
            let renames_in_place = same_tree && from.parent() == to.parent();
            if renames_in_place {
                source_at.require(perm::UPDATE, "rename")?;
            } else {
                source_at.require(perm::DELETE, "move items away")?;
            }
            self.ensure_unlocked(&source_at.tree, &source_at.path, Change::Subtree, tokens).await?;
        }
        if existing.is_some() {
            target_at.require(perm::UPDATE | perm::DELETE, "replace items")?;
        } else if !(mode.is_move && same_tree && from.parent() == to.parent()) {
            target_at.require(perm::CREATE, "add items")?;
        }
        let destination_change = if existing.is_some() { Change::Subtree } else { Change::Membership };
        self.ensure_unlocked(&target_at.tree, &target_at.path, destination_change, tokens).await?;
        let name = to.name().unwrap_or_default().to_string();
        let replace = existing.as_ref().map(|node| node.id);
        if mode.is_move && same_tree {
            self.meta.move_node(source.id, parent.id, &name, replace).await?;
            // Locks belong to URLs, not resources: they stay behind (RFC 4918 7.7 / 9.9).
            self.meta.delete_locks_under(source_at.tree.id, &source_at.path.to_key()).await?;
        } else {
            // A copy (or a move into another organisation's tree) adds bytes to the target
            // organisation, whose quota covers all its accounts and spaces.
            let moves_within_org =
                mode.is_move && source_at.tree.org.is_some() && source_at.tree.org == target_at.tree.org;
            if !moves_within_org {
                let freed = existing.as_ref().map_or(0, |node| node.size);
                if self.org_room(&target_at.tree, freed).await?.is_some_and(|room| source.size.max(0) as u64 > room) {
                    return Err(CoreError::QuotaExceeded);
                }
            }
            self.meta
                .copy_node(&CopyRequest {
                    source: source.id,
                    new_parent: parent.id,
                    new_name: name,
                    recursive: mode.recursive || mode.is_move,
                    replace,
                    quota: target_at.tree.quota,
                    now: unix_now(),
                })
                .await?;
            if mode.is_move {
                self.meta.delete_node(source.id).await?;
                self.meta.delete_locks_under(source_at.tree.id, &source_at.path.to_key()).await?;
            }
        }
        if existing.is_some() {
            self.meta.delete_locks_under(target_at.tree.id, &target_at.path.to_key()).await?;
        }
        Ok(existing.is_none())
    }

    /// MOVE of a received share's top-level entry: the recipient renames it for themselves.
    async fn rename_mount(&self, who: &Viewer, source_at: &Located, to: &TreePath) -> CoreResult<bool> {
        let (Viewer::Account(user), Some(mount)) = (who, &source_at.mount) else {
            return Err(CoreError::Forbidden("the shared folder itself cannot be moved".into()));
        };
        if to.names().len() != 1 {
            return Err(CoreError::Forbidden("a received share stays at the top level; it can only be renamed".into()));
        }
        let name = to.name().unwrap_or_default();
        let own = self.own_top_names(user).await?;
        let mounts = self.mounts(user, &own).await?;
        if own.contains(name) || mounts.iter().any(|other| other.name == name) {
            return Err(CoreError::PreconditionFailed(format!("{} already exists", to.to_key())));
        }
        for share in &mount.share_ids {
            self.meta.set_share_mount(*share, user.id, Some(name), false).await?;
        }
        Ok(true)
    }

    /// The clients' dead properties of every node of a listing, in one query.
    pub async fn dead_props_of(
        &self,
        nodes: &[NodeId],
    ) -> CoreResult<std::collections::HashMap<NodeId, Vec<DeadProp>>> {
        let mut by_node: std::collections::HashMap<NodeId, Vec<DeadProp>> = std::collections::HashMap::new();
        for (node, prop) in self.meta.dead_props_of(nodes).await? {
            // The server's own markers (trash bookkeeping, favourites) are not clients' properties.
            if !prop.ns.starts_with(INTERNAL_NS_PREFIX) {
                by_node.entry(node).or_default().push(prop);
            }
        }
        Ok(by_node)
    }

    /// Applies PROPPATCH operations atomically.
    pub async fn patch_props(
        &self,
        who: &Viewer,
        path: &TreePath,
        ops: &[PropOp],
        tokens: &[String],
    ) -> CoreResult<()> {
        let at = self.located_existing(who, path).await?;
        at.require(perm::UPDATE, "change properties")?;
        let node =
            at.node().cloned().ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))?;
        let internal = |op: &PropOp| match op {
            PropOp::Set(prop) => prop.ns.starts_with(INTERNAL_NS_PREFIX),
            PropOp::Remove { ns, .. } => ns.starts_with(INTERNAL_NS_PREFIX),
        };
        if ops.iter().any(internal) {
            return Err(CoreError::Forbidden(format!("properties in {INTERNAL_NS_PREFIX}… belong to the server")));
        }
        self.ensure_unlocked(&at.tree, &at.path, Change::Content, tokens).await?;
        Ok(self.meta.patch_dead_props(node.id, ops).await?)
    }

    pub async fn set_mtime(&self, who: &Viewer, path: &TreePath, mtime: i64, tokens: &[String]) -> CoreResult<Node> {
        let at = self.located_existing(who, path).await?;
        at.require(perm::UPDATE, "change files")?;
        let node =
            at.node().cloned().ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))?;
        self.ensure_unlocked(&at.tree, &at.path, Change::Content, tokens).await?;
        Ok(self.meta.set_mtime(node.id, mtime).await?)
    }

    /// Locates a path that must exist and be readable by the viewer.
    pub(crate) async fn located_existing(&self, who: &Viewer, path: &TreePath) -> CoreResult<Located> {
        let at = self.locate(who, path).await?;
        if at.node().is_none() || (!at.allows(perm::READ) && !path.is_root()) {
            return Err(CoreError::NotFound(format!("{} does not exist", path.to_key())));
        }
        Ok(at)
    }
}
