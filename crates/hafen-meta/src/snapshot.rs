//! A whole metadata store as plain rows, for moving an instance between backends (`hafen store
//! copy`): [`MetaStore::export_snapshot`] reads every row in one consistent read transaction,
//! [`MetaStore::import_snapshot`] writes them into an empty store keeping every id (file ids,
//! ETags and version ids stay what clients already know).
//!
//! Limit: the snapshot is held in memory as a whole: roughly 300–400 bytes per file plus the
//! inline blocks (at most 32 KiB each), i.e. a few GB for ten million files. Short-lived state
//! is not part of it: Login Flow v2 sessions in progress and login-throttling counters.

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
    /// those of every file's current version and of every upload chunk, except blocks stored
    /// inline (reads find those in the metadata store first).
    pub fn blob_blocks(&self) -> Vec<BlockRef> {
        let current: HashSet<VersionId> = self.nodes.iter().filter_map(|node| node.version).collect();
        let inline: HashSet<&str> = self.inline_blocks.iter().map(|block| block.hash.as_str()).collect();
        let mut seen: HashSet<&str> = HashSet::new();
        let version_blocks = self
            .version_blocks
            .iter()
            .filter(|row| current.contains(&row.version))
            .map(|row| (row.hash.as_str(), row.len));
        let chunk_blocks = self.upload_chunk_blocks.iter().map(|row| (row.hash.as_str(), row.len));
        version_blocks
            .chain(chunk_blocks)
            .filter(|(hash, _)| !inline.contains(hash) && seen.insert(hash))
            .map(|(hash, len)| BlockRef { hash: hash.to_string(), len })
            .collect()
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
    fn blob_blocks_skip_inline_old_and_duplicate_blocks() {
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
        assert_eq!(hashes, vec!["a", "c"]);
    }
}
