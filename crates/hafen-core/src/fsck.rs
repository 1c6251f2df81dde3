//! Integrity check and garbage collection of the content store: every block referenced by a
//! committed version must exist and match its hash; blocks nobody references (uploads that
//! never committed, replaced or deleted files) are removed after a grace period that protects
//! uploads still in flight. Also key rotation of encryption at rest, which walks the same
//! blocks (`rotate_encryption`).

use crate::{Core, CoreResult};
use hafen_blob::{BlobError, BlockHash};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

/// What is wrong with a referenced block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    Missing,
    Corrupt,
}

/// A file whose content cannot be served intact.
#[derive(Debug, Clone)]
pub struct Damage {
    pub kind: DamageKind,
    /// `/owner/path/of/file`
    pub path: String,
    pub block: String,
}

#[derive(Debug, Clone, Default)]
pub struct FsckReport {
    pub blocks_checked: usize,
    pub orphans_removed: usize,
    pub temporary_removed: usize,
    pub damage: Vec<Damage>,
}

/// What `rotate_encryption` did.
#[derive(Debug, Default)]
pub struct RotationSummary {
    /// The blob store's blocks.
    pub blocks: hafen_blob::RotationReport,
    /// Small blocks kept inline in the metadata store: how many there were, how many were
    /// re-encrypted, and those that could not be (verification failed or key missing).
    pub inline_total: usize,
    pub inline_rotated: usize,
    pub inline_damaged: Vec<String>,
}

impl Core {
    /// Re-encrypts every block not yet under the current encryption key (blocks from before a
    /// key change, or from before encryption was switched on): those of the blob store, then
    /// the small ones kept inline in the metadata store. Runs while the server serves (the
    /// server must know the current key and the previous ones); idempotent.
    pub async fn rotate_encryption(
        &self,
        concurrency: usize,
        on_progress: impl FnMut(&hafen_blob::RotationProgress),
    ) -> CoreResult<RotationSummary> {
        let blocks = hafen_blob::rotate_blocks(self.blobs.clone(), concurrency, on_progress).await?;
        let mut summary = RotationSummary { blocks, ..RotationSummary::default() };
        let mut after = String::new();
        loop {
            let page = self.meta.inline_block_hashes(&after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.clone();
            for hash in page {
                summary.inline_total += 1;
                let Some(stored) = self.meta.inline_block(&hash).await? else { continue };
                let Some(parsed) = BlockHash::parse(&hash) else {
                    summary.inline_damaged.push(format!("inline block {hash}: not a block hash"));
                    continue;
                };
                match self.blobs.reseal(&parsed, stored.into()) {
                    Ok(None) => {}
                    Ok(Some(new_form)) => {
                        if self.meta.replace_inline_block(&hash, &new_form).await? {
                            summary.inline_rotated += 1;
                        }
                    }
                    Err(error) => summary.inline_damaged.push(format!("inline block {hash}: {error}")),
                }
            }
        }
        Ok(summary)
    }

    /// Removes unreferenced blocks and temporary files older than `grace` (the background
    /// garbage collection; `fsck` does the same and also verifies what is referenced).
    pub async fn collect_garbage(&self, grace: Duration) -> CoreResult<FsckReport> {
        Ok(self.sweep(grace).await?.0)
    }

    /// Verifies every referenced block and removes unreferenced ones older than `grace`.
    pub async fn fsck(&self, grace: Duration) -> CoreResult<FsckReport> {
        let (mut report, users_of) = self.sweep(grace).await?;
        for (hash, nodes) in &users_of {
            report.blocks_checked += 1;
            let kind = match BlockHash::parse(hash) {
                None => Some(DamageKind::Corrupt),
                Some(parsed) => match self.meta.inline_block(hash).await? {
                    Some(data) => match self.blobs.open_stored(&parsed, data.into()) {
                        Ok(_) => None,
                        Err(BlobError::Corrupt(_) | BlobError::Missing(_)) => Some(DamageKind::Corrupt),
                        Err(other) => return Err(other.into()),
                    },
                    None => match self.blobs.get(&parsed).await {
                        Ok(_) => None,
                        Err(BlobError::Missing(_)) => Some(DamageKind::Missing),
                        Err(BlobError::Corrupt(_)) => Some(DamageKind::Corrupt),
                        Err(other) => return Err(other.into()),
                    },
                },
            };
            if let Some(kind) = kind {
                let mut seen = HashSet::new();
                for node in nodes.iter().filter(|node| seen.insert(**node)) {
                    let path = match node {
                        Some(node) => self.meta.node_path(*node).await?,
                        None => "(a chunk of an upload in progress)".to_string(),
                    };
                    report.damage.push(Damage { kind, path, block: hash.clone() });
                }
            }
        }
        Ok(report)
    }

    /// The shared part of GC and fsck: returns the report so far and, for every referenced
    /// block, the files (or upload chunks) using it.
    async fn sweep(
        &self,
        grace: Duration,
    ) -> CoreResult<(FsckReport, BTreeMap<String, Vec<Option<hafen_meta::NodeId>>>)> {
        let cutoff = SystemTime::now().checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut report =
            FsckReport { temporary_removed: self.blobs.clean_temporary(cutoff).await?, ..FsckReport::default() };
        report.orphans_removed += self.meta.collect_inline_garbage().await? as usize;
        // Listed before the references are read, so a block committed meanwhile is not taken
        // for an orphan (and the grace period covers blocks of uploads in flight).
        let stored = self.blobs.list().await?;
        let uses = self.meta.referenced_blocks().await?;
        let mut users_of: BTreeMap<String, Vec<Option<hafen_meta::NodeId>>> = BTreeMap::new();
        for use_ in &uses {
            users_of.entry(use_.hash.clone()).or_default().push(use_.node);
        }
        let referenced: HashSet<&str> = users_of.keys().map(String::as_str).collect();
        for block in &stored {
            if !referenced.contains(block.hash.as_str())
                && block.modified <= cutoff
                && self.blobs.delete_if_older(&block.hash, cutoff).await?
            {
                report.orphans_removed += 1;
            }
        }
        Ok((report, users_of))
    }
}
