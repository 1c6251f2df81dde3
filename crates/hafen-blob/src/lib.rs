//! Blob store: immutable, content-addressed blocks named by the BLAKE3 hash of their bytes.
//!
//! This crate owns the `BlobStore` trait and its implementations (local disk now, S3 later).
//! A block is written once and never modified; it is deleted only by garbage collection
//! (`fsck`). Every read verifies the block's hash, so corrupt data is never returned.

mod fs;

pub use fs::FsBlobStore;

use async_trait::async_trait;
use bytes::Bytes;
use std::time::SystemTime;

/// The hex BLAKE3 hash naming a block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockHash(String);

impl BlockHash {
    /// The hash of `data`.
    pub fn of(data: &[u8]) -> BlockHash {
        BlockHash(blake3::hash(data).to_hex().to_string())
    }

    /// Accepts exactly 64 lower-case hex digits.
    pub fn parse(text: &str) -> Option<BlockHash> {
        (text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| BlockHash(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlockHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("block {0} is missing")]
    Missing(BlockHash),
    #[error("block {0} is corrupt (hash mismatch)")]
    Corrupt(BlockHash),
    #[error("blob store I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid blob store url: {0}")]
    InvalidUrl(String),
}

pub type BlobResult<T> = Result<T, BlobError>;

/// A stored block as listed by `BlobStore::list`.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    pub hash: BlockHash,
    pub modified: SystemTime,
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `data` under `hash` (which the caller computed while streaming) durably: when
    /// this returns, the block survives a crash. Storing an existing block is cheap and
    /// refreshes its age so that garbage collection does not take it from an upload in flight.
    async fn put(&self, hash: &BlockHash, data: Bytes) -> BlobResult<()>;
    /// Reads a block and verifies its hash; a mismatch is `Corrupt`, never data.
    async fn get(&self, hash: &BlockHash) -> BlobResult<Bytes>;
    async fn delete(&self, hash: &BlockHash) -> BlobResult<()>;
    /// All stored blocks (for garbage collection and fsck).
    async fn list(&self) -> BlobResult<Vec<StoredBlock>>;
    /// Removes leftovers of interrupted writes older than `older_than`; returns how many.
    async fn clean_temporary(&self, older_than: SystemTime) -> BlobResult<usize>;
    /// Cheap reachability check for health probes.
    async fn check(&self) -> BlobResult<()>;
}
