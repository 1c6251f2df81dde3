//! Who may do what where. A request comes from a `Viewer` — an account, or an anonymous
//! holder of a public link — and names a path in the viewer's namespace. `Core::locate` maps
//! it onto the tree that holds the data (the account's own tree, the tree of a share received
//! and mounted at the account's top level, or the folder behind a link) together with the
//! permission bits that apply there. Every file operation of the core starts with `locate`
//! and checks those bits, so the rules hold for every protocol alike.
//!
//! Received shares are resolved as a set: one query gives all shares an account receives
//! (directly, through its groups, through its organisation), one more their nodes; the cost
//! does not grow with the number of members a group or organisation has.

use crate::{unix_now, Core, CoreError, CoreResult, TreePath};
use hafen_meta::{Node, NodeId, Share, SpaceId, User, UserId};
use std::collections::{HashMap, HashSet};

/// Permission bits, as Nextcloud's share API numbers them.
pub mod perm {
    pub const READ: i64 = 1;
    pub const UPDATE: i64 = 2;
    pub const CREATE: i64 = 4;
    pub const DELETE: i64 = 8;
    pub const SHARE: i64 = 16;
    pub const ALL: i64 = 31;
    /// What can apply to a single file (create and delete are about a folder's members).
    pub const FILE_MASK: i64 = READ | UPDATE | SHARE;
}

/// Who is asking.
// One per request and mostly an account: boxing the account would cost an allocation per
// request to save a few bytes that are never copied in bulk.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Viewer {
    Account(User),
    /// Anyone holding a public link (and its password, when it has one).
    Link(Box<LinkGrant>),
}

/// An opened public link: the share and where its node is now.
#[derive(Debug, Clone)]
pub struct LinkGrant {
    pub share: Share,
    /// Owner of the tree the shared node lives in.
    pub owner: User,
    /// The shared node's path in the owner's tree (current: follows moves).
    pub root: TreePath,
    pub root_node: Node,
}

impl Viewer {
    /// The account name, or the link token.
    pub fn name(&self) -> &str {
        match self {
            Viewer::Account(user) => &user.name,
            Viewer::Link(grant) => grant.share.token.as_deref().unwrap_or_default(),
        }
    }

    pub fn account(&self) -> Option<&User> {
        match self {
            Viewer::Account(user) => Some(user),
            Viewer::Link(_) => None,
        }
    }

    pub fn link(&self) -> Option<&LinkGrant> {
        match self {
            Viewer::Link(grant) => Some(grant),
            Viewer::Account(_) => None,
        }
    }
}

/// A received share as it appears at the top of an account's tree.
#[derive(Debug, Clone)]
pub struct Mount {
    /// Name of the top-level entry (unique among the account's own entries and mounts).
    pub name: String,
    pub node: Node,
    /// Union of the permissions of every share that brings this node to the account.
    pub perms: i64,
    pub share_ids: Vec<i64>,
    /// The project space this mount is (its members cannot leave it).
    pub space: Option<SpaceId>,
}

/// How a located path was reached when it is not in the viewer's own tree.
#[derive(Debug, Clone)]
pub struct MountInfo {
    /// The mount's path in the viewer's namespace (`/Name`; the root for a link).
    pub view_root: TreePath,
    /// The shared node's path in the owner's tree.
    pub tree_root: TreePath,
    pub share_ids: Vec<i64>,
    /// The located path is the mount itself.
    pub at_root: bool,
    /// The mount is a project space.
    pub space: Option<SpaceId>,
}

/// Where a viewer's path lands, and what the viewer may do there.
#[derive(Debug, Clone)]
pub struct Located {
    /// The account whose tree holds the data (its quota and locks apply).
    pub tree: User,
    /// The path in that tree.
    pub path: TreePath,
    /// The nodes found walking `path` from the tree's root (shorter when a name is missing).
    pub chain: Vec<Node>,
    pub perms: i64,
    /// `None` when the viewer is in its own tree.
    pub mount: Option<MountInfo>,
}

impl Located {
    /// The node at the path, if it exists.
    pub fn node(&self) -> Option<&Node> {
        (self.chain.len() == self.path.names().len() + 1).then(|| self.chain.last()).flatten()
    }

    /// The existing parent folder and the node at the path (if any), or Conflict.
    pub(crate) fn parent_and_node(&self) -> CoreResult<(Node, Option<Node>)> {
        let parent_path =
            self.path.parent().ok_or_else(|| CoreError::NotAllowed("the root folder cannot be replaced".into()))?;
        let depth = self.path.names().len();
        let existing = self.node().cloned();
        match self.chain.get(depth - 1) {
            Some(node) if node.is_dir => Ok((node.clone(), existing)),
            Some(_) => Err(CoreError::Conflict(format!("{} is not a folder", parent_path.to_key()))),
            None => Err(CoreError::Conflict(format!("parent folder {} does not exist", parent_path.to_key()))),
        }
    }

    pub fn is_mount_root(&self) -> bool {
        self.mount.as_ref().is_some_and(|mount| mount.at_root)
    }

    /// Whether every bit of `bits` is granted.
    pub fn allows(&self, bits: i64) -> bool {
        self.perms & bits == bits
    }

    /// Fails with Forbidden unless every bit of `bits` is granted.
    pub(crate) fn require(&self, bits: i64, what: &str) -> CoreResult<()> {
        if self.allows(bits) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(format!("you may not {what} here (missing share permission)")))
        }
    }

    /// A path of the owner's tree seen from the viewer, `None` when the viewer cannot see it.
    pub fn to_view(&self, tree_path: &TreePath) -> Option<TreePath> {
        match &self.mount {
            None => Some(tree_path.clone()),
            Some(mount) => {
                if !tree_path.is_within(&mount.tree_root) {
                    return None;
                }
                let mut view = mount.view_root.clone();
                for name in &tree_path.names()[mount.tree_root.names().len()..] {
                    view = view.join(name);
                }
                Some(view)
            }
        }
    }
}

/// The path in its owner's tree of the last node of a root-first chain (`node_chain`).
pub(crate) fn path_of_chain(chain: &[Node]) -> TreePath {
    TreePath::from_key(&chain.iter().skip(1).map(|node| format!("/{}", node.name)).collect::<String>())
}

/// `name` made unique against `taken` the way Nextcloud does: `Report (2).pdf`.
pub(crate) fn free_name(name: &str, is_dir: bool, taken: &dyn Fn(&str) -> bool) -> String {
    if !taken(name) {
        return name.to_string();
    }
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if !is_dir && dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    (2..)
        .map(|n| format!("{stem} ({n}){extension}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| name.to_string())
}

impl Core {
    /// The received shares mounted at the top of `user`'s tree. `own_names` are the names of
    /// the account's own top-level entries, which mounts never shadow.
    pub async fn mounts(&self, user: &User, own_names: &HashSet<String>) -> CoreResult<Vec<Mount>> {
        let now = self.now();
        let received = self.meta.received_shares(user.id).await?;
        let live: Vec<_> = received
            .into_iter()
            .filter(|received| received.share.expires_at.is_none_or(|at| now < at))
            .filter(|received| received.share.sharer != user.id)
            .collect();
        if live.is_empty() {
            return Ok(Vec::new());
        }
        let node_ids: Vec<NodeId> = live.iter().map(|received| received.share.node).collect();
        let nodes: HashMap<NodeId, Node> =
            self.meta.nodes(&node_ids).await?.into_iter().map(|node| (node.id, node)).collect();
        // One mount per node: several shares of the same node (to the user and to a group
        // of theirs) add up their permissions. A node stays visible while any share of it
        // is not left (hidden) by the user.
        let mut by_node: Vec<(NodeId, Mount, bool)> = Vec::new();
        for received in &live {
            let Some(node) = nodes.get(&received.share.node) else { continue };
            if node.owner == user.id {
                continue;
            }
            let mut perms = received.share.permissions;
            if received.share.sharer != node.owner {
                // A reshare never outlasts or exceeds its sharer's own share.
                perms &= self.share_ceiling(received.share.sharer, node, crate::shares::RESHARE_DEPTH).await?;
                if perms & perm::READ == 0 {
                    continue;
                }
            }
            if !node.is_dir {
                perms &= perm::FILE_MASK;
            }
            if user.is_guest {
                perms &= !perm::SHARE;
            }
            match by_node.iter_mut().find(|(id, _, _)| *id == node.id) {
                Some((_, mount, visible)) => {
                    mount.perms |= perms;
                    mount.share_ids.push(received.share.id);
                    *visible |= !received.hidden;
                    if let Some(name) = &received.mount_name {
                        mount.name = name.clone();
                    }
                    mount.space = mount.space.or(received.share.space);
                }
                None => by_node.push((
                    node.id,
                    Mount {
                        name: received.mount_name.clone().unwrap_or_else(|| node.name.clone()),
                        node: node.clone(),
                        perms,
                        share_ids: vec![received.share.id],
                        space: received.share.space,
                    },
                    !received.hidden,
                )),
            }
        }
        let mut used: HashSet<String> = own_names.clone();
        let mut mounts = Vec::new();
        for (_, mut mount, visible) in by_node {
            if !visible {
                continue;
            }
            mount.name = free_name(&mount.name, mount.node.is_dir, &|candidate| used.contains(candidate));
            used.insert(mount.name.clone());
            mounts.push(mount);
        }
        Ok(mounts)
    }

    /// The names of an account's own top-level entries.
    pub(crate) async fn own_top_names(&self, user: &User) -> CoreResult<HashSet<String>> {
        let root = self.meta.root(user.id).await?;
        Ok(self.meta.children(root.id).await?.into_iter().map(|node| node.name).collect())
    }

    /// Maps a viewer's path onto the tree holding it (see the module comment).
    pub async fn locate(&self, who: &Viewer, path: &TreePath) -> CoreResult<Located> {
        match who {
            Viewer::Account(user) => self.locate_for_account(user, path).await,
            Viewer::Link(grant) => self.locate_in_link(grant, path).await,
        }
    }

    async fn locate_for_account(&self, user: &User, path: &TreePath) -> CoreResult<Located> {
        let own_perms = if user.is_guest { perm::ALL & !perm::SHARE } else { perm::ALL };
        let chain = self.meta.resolve(user.id, path.names()).await?;
        // The first name is an own entry (or the path is the root): the own tree, with no
        // extra lookup. Only a miss at the top level can be a mount.
        if path.is_root() || chain.len() > 1 {
            return Ok(Located { tree: user.clone(), path: path.clone(), chain, perms: own_perms, mount: None });
        }
        let own_names = self.own_top_names(user).await?;
        let top = &path.names()[0];
        let mounts = self.mounts(user, &own_names).await?;
        let Some(mount) = mounts.into_iter().find(|mount| &mount.name == top) else {
            return Ok(Located { tree: user.clone(), path: path.clone(), chain, perms: own_perms, mount: None });
        };
        let owner = self
            .meta
            .user(mount.node.owner)
            .await?
            .ok_or_else(|| CoreError::Internal("a share's owner does not exist".into()))?;
        let tree_root = self.tree_path_of(mount.node.id).await?;
        let mut tree_path = tree_root.clone();
        for name in &path.names()[1..] {
            tree_path = tree_path.join(name);
        }
        let chain = self.meta.resolve(owner.id, tree_path.names()).await?;
        Ok(Located {
            tree: owner,
            path: tree_path,
            chain,
            perms: mount.perms,
            mount: Some(MountInfo {
                view_root: TreePath::root().join(&mount.name),
                tree_root,
                share_ids: mount.share_ids,
                at_root: path.names().len() == 1,
                space: mount.space,
            }),
        })
    }

    async fn locate_in_link(&self, grant: &LinkGrant, path: &TreePath) -> CoreResult<Located> {
        if !grant.root_node.is_dir && !path.is_root() {
            return Err(CoreError::NotFound("a file link has no entries below it".into()));
        }
        let mut tree_path = grant.root.clone();
        for name in path.names() {
            tree_path = tree_path.join(name);
        }
        let chain = self.meta.resolve(grant.owner.id, tree_path.names()).await?;
        let mut perms = grant.share.permissions & !perm::SHARE;
        if !grant.root_node.is_dir {
            perms &= perm::FILE_MASK;
        }
        Ok(Located {
            tree: grant.owner.clone(),
            path: tree_path,
            chain,
            perms,
            mount: Some(MountInfo {
                view_root: TreePath::root(),
                tree_root: grant.root.clone(),
                share_ids: vec![grant.share.id],
                at_root: path.is_root(),
                space: None,
            }),
        })
    }

    /// The item at `path` for an operation that needs an account and read access there
    /// (comments, tags, favourites): the account, the item and the owner of the tree holding
    /// it. Link visitors are refused with `accounts_only` as the message.
    pub(crate) async fn readable_item(
        &self,
        who: &Viewer,
        path: &TreePath,
        accounts_only: &str,
    ) -> CoreResult<(User, Node, User)> {
        let Viewer::Account(user) = who else {
            return Err(CoreError::Forbidden(accounts_only.into()));
        };
        let at = self.locate(who, path).await?;
        let node = at
            .node()
            .filter(|_| at.allows(perm::READ))
            .cloned()
            .ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))?;
        Ok((user.clone(), node, at.tree))
    }

    /// The path under which `user` sees the node `id`: in their own tree, or inside a share
    /// mounted at their top level. NotFound when they cannot see it (clients of Nextcloud's
    /// id-based endpoints, such as comments and tags, name nodes by id).
    pub async fn view_path_of(&self, user: &User, id: NodeId) -> CoreResult<TreePath> {
        let not_found = || CoreError::NotFound(format!("file {} does not exist", id.0));
        let chain = self.meta.node_chain(id).await?;
        let Some(root) = chain.first() else { return Err(not_found()) };
        if root.owner == user.id {
            return Ok(path_of_chain(&chain));
        }
        let own_names = self.own_top_names(user).await?;
        for mount in self.mounts(user, &own_names).await? {
            if let Some(at) = chain.iter().position(|node| node.id == mount.node.id) {
                let mut path = TreePath::root().join(&mount.name);
                for node in &chain[at + 1..] {
                    path = path.join(&node.name);
                }
                return Ok(path);
            }
        }
        Err(not_found())
    }

    /// The path of a node in its owner's tree.
    pub(crate) async fn tree_path_of(&self, node: NodeId) -> CoreResult<TreePath> {
        let chain = self.meta.node_chain(node).await?;
        if chain.is_empty() {
            return Err(CoreError::NotFound("the shared item no longer exists".into()));
        }
        Ok(path_of_chain(&chain))
    }

    /// The owner account of a tree.
    pub(crate) async fn user_by_id(&self, id: UserId) -> CoreResult<User> {
        self.meta.user(id).await?.ok_or_else(|| CoreError::NotFound("account not found".into()))
    }

    /// The current time as the share rules see it (see `Clock`).
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// The time share expiry is judged by. Tests of exact expiry boundaries set `HAFEN_CLOCK_FILE`
/// to a file holding the current time in seconds; the server reads it on each check. It only
/// ever affects share expiry and invitation links, never locks, uploads or logins.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    file: Option<std::path::PathBuf>,
}

impl Clock {
    pub fn from_file(file: Option<std::path::PathBuf>) -> Clock {
        Clock { file }
    }

    pub fn now(&self) -> i64 {
        self.file
            .as_ref()
            .and_then(|file| std::fs::read_to_string(file).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or_else(unix_now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_names_keep_the_extension_of_files() {
        let taken = |name: &str| ["Bericht.pdf", "Bericht (2).pdf", "Akten"].contains(&name);
        assert_eq!(free_name("Bericht.pdf", false, &taken), "Bericht (3).pdf");
        assert_eq!(free_name("Akten", true, &taken), "Akten (2)");
        assert_eq!(free_name("neu.txt", false, &taken), "neu.txt");
        assert_eq!(free_name(".profile", false, &|name| name == ".profile"), ".profile (2)");
    }
}
