//! Collaborative tags (Nextcloud's "system tags"): each organisation has its own set (accounts
//! without one share a set), so one authority's tag names are not shown to another. Members
//! create tags and assign them to anything they can see; tags marked invisible or not
//! assignable are created and assigned by administrators only. Assigned tags are seen by
//! everyone who sees the item. Also finds an account's favourites and tagged items for
//! the WebDAV `REPORT` filters.

use crate::access::Viewer;
use crate::{Core, CoreError, CoreResult, TreePath};
use hafen_meta::{MetaError, Node, NodeId, Tag, User};
use std::collections::HashMap;

/// Longest tag name, in characters.
pub const TAG_NAME_MAX_CHARS: usize = 64;

/// Whether `user` administers the tags of their organisation.
fn administers_tags(user: &User) -> bool {
    user.is_admin || user.org_admin
}

impl Core {
    /// The tags `user` may see: their organisation's, the invisible ones only for administrators.
    pub async fn tags(&self, user: &User) -> CoreResult<Vec<Tag>> {
        let tags = self.meta.tags(user.org).await?;
        Ok(tags.into_iter().filter(|tag| tag.user_visible || administers_tags(user)).collect())
    }

    /// Whether `user` may assign `tag` (and remove it).
    pub fn can_assign_tag(user: &User, tag: &Tag) -> bool {
        if user.is_guest {
            return false;
        }
        (tag.user_visible && tag.user_assignable && tag.org == user.org)
            || (administers_tags(user) && tag.org == user.org)
    }

    /// Creates a tag in the account's organisation; only administrators create invisible or
    /// restricted ones; guests none.
    pub async fn create_tag(&self, user: &User, name: &str, visible: bool, assignable: bool) -> CoreResult<Tag> {
        if user.is_guest {
            return Err(CoreError::Forbidden("guests cannot create tags".into()));
        }
        if (!visible || !assignable) && !administers_tags(user) {
            return Err(CoreError::Forbidden("only administrators create invisible or restricted tags".into()));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > TAG_NAME_MAX_CHARS || name.chars().any(char::is_control) {
            return Err(CoreError::InvalidInput(format!(
                "a tag name has 1 to {TAG_NAME_MAX_CHARS} characters and no control characters"
            )));
        }
        let tag = Tag {
            id: 0,
            org: user.org,
            name: name.to_string(),
            user_visible: visible,
            user_assignable: assignable,
            created_at: self.now(),
        };
        match self.meta.create_tag(&tag).await {
            Err(MetaError::AlreadyExists(_)) => Err(CoreError::Conflict(format!("the tag {name} exists already"))),
            other => Ok(other?),
        }
    }

    /// A tag `user` may see, or NotFound.
    pub async fn tag(&self, user: &User, id: i64) -> CoreResult<Tag> {
        self.meta
            .tag(id)
            .await?
            .filter(|tag| tag.org == user.org && (tag.user_visible || administers_tags(user)))
            .ok_or_else(|| CoreError::NotFound(format!("tag {id} does not exist")))
    }

    /// Deletes a tag of the organisation (administrators only); it leaves every item.
    pub async fn delete_tag(&self, user: &User, id: i64) -> CoreResult<()> {
        let tag = self.tag(user, id).await?;
        if !administers_tags(user) {
            return Err(CoreError::Forbidden("only administrators delete tags".into()));
        }
        self.meta.delete_tag(tag.id).await?;
        Ok(())
    }

    async fn taggable(&self, who: &Viewer, path: &TreePath) -> CoreResult<(User, Node)> {
        let (user, node, _) = self.readable_item(who, path, "tags are for accounts only").await?;
        Ok((user, node))
    }

    /// The item at `path` and the tags assigned to it that the viewer may see.
    pub async fn item_tags(&self, who: &Viewer, path: &TreePath) -> CoreResult<(Node, Vec<Tag>)> {
        let (user, node) = self.taggable(who, path).await?;
        let mut tags = self.node_tags(&user, &[node.id]).await?;
        Ok((node.clone(), tags.remove(&node.id).unwrap_or_default()))
    }

    /// The tags of each of `nodes` the viewer may see (for listings; items without any are
    /// left out). Tags of other organisations on items shared across are shown too.
    pub async fn node_tags(&self, user: &User, nodes: &[NodeId]) -> CoreResult<HashMap<NodeId, Vec<Tag>>> {
        let mut by_node: HashMap<NodeId, Vec<Tag>> = HashMap::new();
        for (node, tag) in self.meta.node_tags(nodes).await? {
            if tag.user_visible || (administers_tags(user) && tag.org == user.org) {
                by_node.entry(node).or_default().push(tag);
            }
        }
        Ok(by_node)
    }

    /// Assigns (or with `assigned` false removes) tag `id` on the item at `path`. Returns
    /// whether anything changed.
    pub async fn set_item_tag(&self, who: &Viewer, path: &TreePath, id: i64, assigned: bool) -> CoreResult<bool> {
        let (user, node) = self.taggable(who, path).await?;
        let tag = self.tag(&user, id).await?;
        if !Self::can_assign_tag(&user, &tag) {
            return Err(CoreError::Forbidden(format!("you cannot assign the tag {}", tag.name)));
        }
        if assigned {
            Ok(self.meta.assign_tag(node.id, tag.id).await?)
        } else {
            Ok(self.meta.unassign_tag(node.id, tag.id).await?)
        }
    }

    /// The paths (in the account's view) of the items carrying tag `id` that it can see.
    pub async fn tagged_paths(&self, user: &User, id: i64) -> CoreResult<Vec<TreePath>> {
        let tag = self.tag(user, id).await?;
        let nodes = self.meta.nodes_with_tag(tag.id).await?;
        self.visible_paths(user, &nodes).await
    }

    /// The paths (in the account's view) of its favourites.
    pub async fn favorite_paths(&self, user: &User) -> CoreResult<Vec<TreePath>> {
        let mut nodes: Vec<NodeId> = self.favorites(user).await?.into_iter().collect();
        nodes.sort();
        self.visible_paths(user, &nodes).await
    }

    async fn visible_paths(&self, user: &User, nodes: &[NodeId]) -> CoreResult<Vec<TreePath>> {
        let mut paths = Vec::new();
        for node in nodes {
            match self.view_path_of(user, *node).await {
                Ok(path) => paths.push(path),
                Err(CoreError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(paths)
    }
}
