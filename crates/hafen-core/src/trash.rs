//! The trash bin: deleting a file or folder moves it into its owner's trash (also when a
//! share recipient deletes it), from where it can be restored to its original place (under
//! a free name when that is taken, at the top when its folder is gone), deleted for good or
//! emptied with everything else; items expire after a retention time (`expire_trash`, run
//! by the server's maintenance; `--trash-retention-seconds`, default 30 days).
//!
//! Each account's trash is the tree of a hidden account (kind `space`, named
//! `trash:{account id}`): a trashed item is copied there (metadata only — the blocks are
//! shared, nothing is read) and then removed from its place, so its space no longer counts
//! toward the owner's quota. Where it came from, when and by whom are dead properties of the
//! item's node in the trash, so they travel with `hafen store copy` like every node.
//! A crash between the copy and the removal leaves the item in both places: nothing is lost.

use crate::access::free_name;
use crate::{unix_now, Core, CoreError, CoreResult, TreePath};
use hafen_meta::{CopyRequest, DeadProp, NewUser, Node, PropOp, User};

/// Namespace of the dead properties describing a trashed item.
const TRASH_NS: &str = "urn:hafen:trash";

/// An item in an account's trash.
#[derive(Debug, Clone)]
pub struct TrashItem {
    /// Stable name of the item in the trash (`{name}.d{deletion time}`, like Nextcloud).
    pub id: String,
    /// Its name before it was deleted.
    pub name: String,
    /// Where it was, in the owner's tree.
    pub original_path: TreePath,
    pub deleted_at: i64,
    /// The account that deleted it (the owner or a share recipient).
    pub deleted_by: String,
    /// The item as it lies in the trash.
    pub node: Node,
}

fn trash_account_name(owner: &User) -> String {
    format!("trash:{}", owner.id.0)
}

fn prop(name: &str, value: String) -> PropOp {
    PropOp::Set(DeadProp { ns: TRASH_NS.into(), name: name.into(), value })
}

impl Core {
    /// The hidden account holding `owner`'s trash; created on first use when `create`.
    async fn trash_account(&self, owner: &User, create: bool) -> CoreResult<Option<User>> {
        let name = trash_account_name(owner);
        if let Some(account) = self.meta.hidden_account(&name).await? {
            return Ok(Some(account));
        }
        if !create {
            return Ok(None);
        }
        let new = NewUser {
            name: name.clone(),
            display_name: format!("Papierkorb von {}", owner.name),
            // Not a PHC string: no password ever verifies against it.
            password_hash: "!".into(),
            is_space: true,
            ..NewUser::default()
        };
        match self.meta.create_user(&new, unix_now()).await {
            Ok(account) => Ok(Some(account)),
            // Created concurrently by another request or node.
            Err(hafen_meta::MetaError::AlreadyExists(_)) => Ok(self.meta.hidden_account(&name).await?),
            Err(error) => Err(error.into()),
        }
    }

    /// Moves `node` (at `path` of `owner`'s tree) into the owner's trash, noting who deleted it.
    pub(crate) async fn move_to_trash(&self, owner: &User, path: &TreePath, node: &Node, by: &str) -> CoreResult<()> {
        let trash = self
            .trash_account(owner, true)
            .await?
            .ok_or_else(|| CoreError::Internal("the trash account could not be created".into()))?;
        let root = self.meta.root(trash.id).await?;
        let now = unix_now();
        let taken: std::collections::HashSet<String> =
            self.meta.children(root.id).await?.into_iter().map(|child| child.name).collect();
        let id = free_name(&format!("{}.d{now}", node.name), true, &|candidate| taken.contains(candidate));
        let copied = self
            .meta
            .copy_node(&CopyRequest {
                source: node.id,
                new_parent: root.id,
                new_name: id,
                recursive: true,
                replace: None,
                quota: None,
                now,
            })
            .await?;
        self.meta
            .patch_dead_props(
                copied.id,
                &[
                    prop("original-location", path.to_key()),
                    prop("original-name", node.name.clone()),
                    // Judged against the core's clock at expiry, so stamped by it too.
                    prop("deletion-time", self.now().to_string()),
                    prop("deleted-by", by.to_string()),
                ],
            )
            .await?;
        self.meta.delete_node(node.id).await?;
        tracing::info!(owner = %owner.name, path = %path.to_key(), by, "moved to the trash");
        Ok(())
    }

    /// The account's trash, most recently deleted first.
    pub async fn trash(&self, user: &User) -> CoreResult<Vec<TrashItem>> {
        let Some(trash) = self.trash_account(user, false).await? else { return Ok(Vec::new()) };
        let root = self.meta.root(trash.id).await?;
        let mut items = Vec::new();
        for node in self.meta.children(root.id).await? {
            let props = self.meta.dead_props(node.id).await?;
            let value = |name: &str| {
                props.iter().find(|p| p.ns == TRASH_NS && p.name == name).map(|p| p.value.clone()).unwrap_or_default()
            };
            let original_path = TreePath::from_key(&value("original-location"));
            let name =
                Some(value("original-name")).filter(|name| !name.is_empty()).unwrap_or_else(|| node.name.clone());
            items.push(TrashItem {
                id: node.name.clone(),
                name,
                original_path,
                deleted_at: value("deletion-time").parse().unwrap_or(node.mtime),
                deleted_by: value("deleted-by"),
                node,
            });
        }
        items.sort_by(|a, b| b.deleted_at.cmp(&a.deleted_at).then(a.id.cmp(&b.id)));
        Ok(items)
    }

    async fn trash_item(&self, user: &User, id: &str) -> CoreResult<TrashItem> {
        self.trash(user)
            .await?
            .into_iter()
            .find(|item| item.id == id)
            .ok_or_else(|| CoreError::NotFound(format!("{id} is not in the trash")))
    }

    /// Puts a trashed item back where it was; under a free name when that is taken, at the
    /// top of the tree when its folder no longer exists. Returns where it now is.
    pub async fn restore_from_trash(&self, user: &User, id: &str) -> CoreResult<TreePath> {
        let item = self.trash_item(user, id).await?;
        let wanted_parent = item.original_path.parent().unwrap_or_else(TreePath::root);
        // The chain of nodes along the path, as far as it exists.
        let chain = self.meta.resolve(user.id, wanted_parent.names()).await?;
        let (parent_path, parent) = match chain.last() {
            Some(node) if node.is_dir && chain.len() == wanted_parent.names().len() + 1 => {
                (wanted_parent, node.clone())
            }
            _ => (TreePath::root(), self.meta.root(user.id).await?),
        };
        let taken: std::collections::HashSet<String> =
            self.meta.children(parent.id).await?.into_iter().map(|child| child.name).collect();
        let name = free_name(&item.name, item.node.is_dir, &|candidate| taken.contains(candidate));
        let restored = self
            .meta
            .copy_node(&CopyRequest {
                source: item.node.id,
                new_parent: parent.id,
                new_name: name.clone(),
                recursive: true,
                replace: None,
                quota: user.quota,
                now: unix_now(),
            })
            .await?;
        // The copy took the trash's bookkeeping properties along: they do not belong there.
        let ops: Vec<PropOp> = ["original-location", "original-name", "deletion-time", "deleted-by"]
            .iter()
            .map(|name| PropOp::Remove { ns: TRASH_NS.into(), name: name.to_string() })
            .collect();
        self.meta.patch_dead_props(restored.id, &ops).await?;
        self.meta.delete_node(item.node.id).await?;
        let path = parent_path.join(&name);
        tracing::info!(account = %user.name, path = %path.to_key(), "restored from the trash");
        self.record_activity(&[user.id], "file_restored", &user.name, &path.to_key(), Some(restored.id.0)).await;
        Ok(path)
    }

    /// Deletes one item of the trash for good.
    pub async fn delete_from_trash(&self, user: &User, id: &str) -> CoreResult<()> {
        let item = self.trash_item(user, id).await?;
        Ok(self.meta.delete_node(item.node.id).await?)
    }

    /// Deletes everything in the account's trash for good.
    pub async fn empty_trash(&self, user: &User) -> CoreResult<()> {
        for item in self.trash(user).await? {
            self.meta.delete_node(item.node.id).await?;
        }
        Ok(())
    }

    /// Deletes the account's trash with everything in it (when the account is deleted).
    pub(crate) async fn delete_trash_of(&self, user: &User) -> CoreResult<()> {
        if let Some(trash) = self.trash_account(user, false).await? {
            self.meta.delete_user(trash.id).await?;
        }
        Ok(())
    }

    /// Deletes items trashed more than `retention_secs` ago (judged by the core's clock) from
    /// every account's trash; returns how many went (run by the server's maintenance).
    pub async fn expire_trash(&self, retention_secs: i64) -> CoreResult<usize> {
        let cutoff = self.clock.now() - retention_secs;
        let mut expired = 0;
        for user in self.meta.list_users().await? {
            for item in self.trash(&user).await? {
                if item.deleted_at < cutoff {
                    self.meta.delete_node(item.node.id).await?;
                    expired += 1;
                }
            }
        }
        Ok(expired)
    }
}
