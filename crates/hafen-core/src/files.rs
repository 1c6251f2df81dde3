//! The file tree as its owner sees it: resolving paths, listing folders, creating folders,
//! deleting, copying and moving, dead properties and quotas. Every change checks WebDAV
//! locks (see `locks`) before it reaches the store.

use crate::locks::Change;
use crate::{unix_now, Core, CoreError, CoreResult, TreePath};
use hafen_meta::{CopyRequest, DeadProp, Expect, Node, PropOp, User};

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

impl Core {
    /// The node at `path` in the user's tree, if any.
    pub async fn resolve(&self, user: &User, path: &TreePath) -> CoreResult<Option<Node>> {
        let mut chain = self.meta.resolve(user.id, path.names()).await?;
        if chain.len() == path.names().len() + 1 {
            return Ok(chain.pop());
        }
        Ok(None)
    }

    /// The node at `path`, or NotFound.
    pub async fn stat(&self, user: &User, path: &TreePath) -> CoreResult<Node> {
        self.resolve(user, path).await?.ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))
    }

    /// The existing parent folder of `path`, or Conflict (the client must create it first).
    pub(crate) async fn parent_folder(&self, user: &User, path: &TreePath) -> CoreResult<Node> {
        Ok(self.resolve_for_write(user, path).await?.0)
    }

    /// The existing parent folder of `path` and the node at `path` if any, in one lookup.
    pub(crate) async fn resolve_for_write(&self, user: &User, path: &TreePath) -> CoreResult<(Node, Option<Node>)> {
        let parent = path.parent().ok_or_else(|| CoreError::NotAllowed("the root folder cannot be replaced".into()))?;
        let mut chain = self.meta.resolve(user.id, path.names()).await?;
        let depth = path.names().len();
        let existing = if chain.len() == depth + 1 { chain.pop() } else { None };
        match chain.get(depth - 1) {
            Some(node) if node.is_dir => Ok((node.clone(), existing)),
            Some(_) => Err(CoreError::Conflict(format!("{} is not a folder", parent.to_key()))),
            None => Err(CoreError::Conflict(format!("parent folder {} does not exist", parent.to_key()))),
        }
    }

    pub async fn list(&self, folder: &Node) -> CoreResult<Vec<Node>> {
        Ok(self.meta.children(folder.id).await?)
    }

    pub async fn quota(&self, user: &User) -> CoreResult<Quota> {
        let root = self.meta.root(user.id).await?;
        Ok(Quota { used: root.size, limit: user.quota })
    }

    pub async fn make_folder(&self, user: &User, path: &TreePath, tokens: &[String]) -> CoreResult<Node> {
        let parent = self.parent_folder(user, path).await?;
        let name = path.name().unwrap_or_default();
        if self.meta.resolve(user.id, path.names()).await?.len() == path.names().len() + 1 {
            return Err(CoreError::NotAllowed(format!("{} already exists", path.to_key())));
        }
        self.ensure_unlocked(user, path, Change::Membership, tokens).await?;
        match self.meta.create_folder(parent.id, name, unix_now()).await {
            Err(hafen_meta::MetaError::AlreadyExists(_)) => {
                Err(CoreError::NotAllowed(format!("{} already exists", path.to_key())))
            }
            other => Ok(other?),
        }
    }

    pub async fn delete(&self, user: &User, path: &TreePath, tokens: &[String]) -> CoreResult<()> {
        if path.is_root() {
            return Err(CoreError::Forbidden("the root folder cannot be deleted".into()));
        }
        let node = self.stat(user, path).await?;
        self.ensure_unlocked(user, path, Change::Subtree, tokens).await?;
        self.meta.delete_node(node.id).await?;
        self.meta.delete_locks_under(user.id, &path.to_key()).await?;
        Ok(())
    }

    /// COPY or MOVE within the user's tree. Returns whether the destination was created
    /// (rather than overwritten).
    pub async fn copy_or_move(
        &self,
        user: &User,
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
        let source = self.stat(user, from).await?;
        if source.is_dir && to.is_within(from) {
            return Err(CoreError::Conflict("a folder cannot be copied or moved into itself".into()));
        }
        let parent = self.parent_folder(user, to).await?;
        let existing = self.resolve(user, to).await?;
        if existing.is_some() && !mode.overwrite {
            return Err(CoreError::PreconditionFailed(format!("{} exists and Overwrite is F", to.to_key())));
        }
        if mode.is_move {
            self.ensure_unlocked(user, from, Change::Subtree, tokens).await?;
        }
        let destination_change = if existing.is_some() { Change::Subtree } else { Change::Membership };
        self.ensure_unlocked(user, to, destination_change, tokens).await?;
        let name = to.name().unwrap_or_default().to_string();
        let replace = existing.as_ref().map(|node| node.id);
        if mode.is_move {
            self.meta.move_node(source.id, parent.id, &name, replace).await?;
            // Locks belong to URLs, not resources: they stay behind (RFC 4918 7.7 / 9.9).
            self.meta.delete_locks_under(user.id, &from.to_key()).await?;
        } else {
            self.meta
                .copy_node(&CopyRequest {
                    source: source.id,
                    new_parent: parent.id,
                    new_name: name,
                    recursive: mode.recursive,
                    replace,
                    quota: user.quota,
                    now: unix_now(),
                })
                .await?;
        }
        if existing.is_some() {
            self.meta.delete_locks_under(user.id, &to.to_key()).await?;
        }
        Ok(existing.is_none())
    }

    pub async fn dead_props(&self, node: &Node) -> CoreResult<Vec<DeadProp>> {
        Ok(self.meta.dead_props(node.id).await?)
    }

    /// Applies PROPPATCH operations atomically.
    pub async fn patch_props(&self, user: &User, path: &TreePath, ops: &[PropOp], tokens: &[String]) -> CoreResult<()> {
        let node = self.stat(user, path).await?;
        self.ensure_unlocked(user, path, Change::Content, tokens).await?;
        Ok(self.meta.patch_dead_props(node.id, ops).await?)
    }

    pub async fn set_mtime(&self, user: &User, path: &TreePath, mtime: i64, tokens: &[String]) -> CoreResult<Node> {
        let node = self.stat(user, path).await?;
        self.ensure_unlocked(user, path, Change::Content, tokens).await?;
        Ok(self.meta.set_mtime(node.id, mtime).await?)
    }
}
