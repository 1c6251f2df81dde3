//! Favourites: each account marks files and folders it can see (its own and shared ones) as
//! favourites for itself only. The mark is a dead property of the node named after the
//! account (`urn:hafen:favorite`, name = account id), so it needs no schema of its own,
//! follows the node through renames and moves, and goes with it when the node is deleted.

use crate::access::Viewer;
use crate::{Core, CoreResult, TreePath};
use hafen_meta::{DeadProp, NodeId, PropOp, User};
use std::collections::HashSet;

const FAVORITE_NS: &str = "urn:hafen:favorite";

impl Core {
    /// Marks (or unmarks) the item at `path` as one of the account's favourites; needs only
    /// read access (a read-only share can be a favourite too).
    pub async fn set_favorite(&self, who: &Viewer, path: &TreePath, favorite: bool) -> CoreResult<()> {
        let (user, node, _) = self.readable_item(who, path, "only accounts have favourites").await?;
        let name = user.id.0.to_string();
        let op = if favorite {
            PropOp::Set(DeadProp { ns: FAVORITE_NS.into(), name, value: "1".into() })
        } else {
            PropOp::Remove { ns: FAVORITE_NS.into(), name }
        };
        Ok(self.meta.patch_dead_props(node.id, &[op]).await?)
    }

    /// The ids of the account's favourites.
    pub async fn favorites(&self, user: &User) -> CoreResult<HashSet<NodeId>> {
        Ok(self.meta.nodes_with_dead_prop(FAVORITE_NS, &user.id.0.to_string()).await?.into_iter().collect())
    }

    /// Whether a dead property is one of the favourite markers (they are not shown as the
    /// client's own properties).
    pub fn is_favorite_marker(ns: &str) -> bool {
        ns == FAVORITE_NS
    }
}
