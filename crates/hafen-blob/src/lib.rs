//! Blob store: immutable, content-addressed blocks named by the BLAKE3 hash of their bytes.
//!
//! This crate owns the `BlobStore` trait and its implementations: local disk (`fs.rs`) and
//! S3-compatible object storage (`s3.rs`), chosen by URL in [`open`]; `copy.rs` copies every
//! block of one store into another, verifying each.
//! A block is written once and never modified; it is deleted only by garbage collection
//! (`fsck`). Every read verifies the block's hash, so corrupt data is never returned.

mod copy;
mod encrypted;
mod fs;
mod s3;

pub use copy::{copy_blocks, copy_listed_blocks, CopyProgress, CopyReport};
pub use encrypted::{rotate_blocks, EncryptedBlobStore, KeyRing, RotationProgress, RotationReport};
pub use fs::FsBlobStore;
pub use s3::{S3BlobStore, S3Config};

use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;
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
    /// Encryption at rest: a block is encrypted under a key that is not configured, or the
    /// key configuration is unusable.
    #[error("{0}")]
    Key(String),
    /// A remote store failed (unreachable, refused, timed out…); the message names the
    /// operation and the store's location, never credentials.
    #[error("{0}")]
    Backend(String),
}

impl BlobError {
    /// The store could not be reached (remote stores): worth retrying later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, BlobError::Backend(_))
    }

    /// The local disk is full (or a disk quota is exhausted).
    pub fn is_storage_full(&self) -> bool {
        // ENOSPC and EDQUOT on Linux.
        matches!(self, BlobError::Io(error)
            if error.kind() == std::io::ErrorKind::StorageFull || matches!(error.raw_os_error(), Some(28 | 122)))
    }
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
    /// An encrypting store encrypts here (see `seal`).
    async fn put(&self, hash: &BlockHash, data: Bytes) -> BlobResult<()> {
        self.put_stored(hash, self.seal(hash, data)?).await
    }
    /// Reads a block and verifies its hash; a mismatch is `Corrupt`, never data.
    async fn get(&self, hash: &BlockHash) -> BlobResult<Bytes> {
        let stored = self.get_stored(hash).await?;
        self.open_stored(hash, stored)
    }
    /// The form a block's content takes at rest: the content itself, or (encryption at rest)
    /// its ciphertext. Also used for small blocks the metadata store keeps inline.
    fn seal(&self, _hash: &BlockHash, data: Bytes) -> BlobResult<Bytes> {
        Ok(data)
    }
    /// The content of a block from its form at rest, verified against `hash`: `Corrupt` when
    /// it does not match (or does not decrypt), never data.
    fn open_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<Bytes> {
        verify_plain(hash, stored)
    }
    /// A new form at rest of a block under the current encryption key, or `None` when the
    /// stored form is already current (always, without encryption): key rotation.
    fn reseal(&self, _hash: &BlockHash, _stored: Bytes) -> BlobResult<Option<Bytes>> {
        Ok(None)
    }
    /// Stores a block's bytes at rest exactly as given (copies between stores, which keep
    /// encrypted blocks encrypted); like `put` for an existing block.
    async fn put_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<()>;
    /// A block's bytes at rest, unverified (`Missing` when absent).
    async fn get_stored(&self, hash: &BlockHash) -> BlobResult<Bytes>;
    /// Overwrites a stored block atomically and durably with another form of the same content
    /// (key rotation); readers see the old or the new bytes, never a mix.
    async fn replace_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<()>;
    async fn delete(&self, hash: &BlockHash) -> BlobResult<()>;
    /// Deletes the block only if it was not stored or refreshed after `cutoff` (garbage
    /// collection: a deduplicated upload refreshes a block just before referencing it, so
    /// checking again right before the delete keeps such a block). Returns whether it went.
    async fn delete_if_older(&self, hash: &BlockHash, cutoff: SystemTime) -> BlobResult<bool>;
    /// All stored blocks (for garbage collection and fsck).
    async fn list(&self) -> BlobResult<Vec<StoredBlock>>;
    /// Removes leftovers of interrupted writes older than `older_than`; returns how many.
    async fn clean_temporary(&self, older_than: SystemTime) -> BlobResult<usize>;
    /// Cheap reachability check for health probes.
    async fn check(&self) -> BlobResult<()>;
}

/// Runs `work` on every block with at most `concurrency` blocks in flight and hands each
/// outcome to `on_done` as it completes (copies and key rotation). An error `on_done` returns
/// ends the walk (the blocks still in flight are aborted) and is returned.
pub(crate) async fn for_each_block<T, Work>(
    hashes: impl IntoIterator<Item = BlockHash>,
    concurrency: usize,
    work: impl Fn(BlockHash) -> Work,
    mut on_done: impl FnMut(BlobResult<T>) -> BlobResult<()>,
) -> BlobResult<()>
where
    T: Send + 'static,
    Work: std::future::Future<Output = BlobResult<T>> + Send + 'static,
{
    let mut queue = hashes.into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < concurrency.max(1) {
            let Some(hash) = queue.next() else { break };
            running.spawn(work(hash));
        }
        let Some(joined) = running.join_next().await else { break };
        let outcome = joined.map_err(|join| std::io::Error::other(format!("block task failed: {join}")))?;
        if let Err(error) = on_done(outcome) {
            running.abort_all();
            return Err(error);
        }
    }
    Ok(())
}

/// Runs CPU-heavy work on a block (hashing, encryption; a block is up to 4 MiB) off the async
/// runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> BlobResult<T> + Send + 'static,
) -> BlobResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|join| std::io::Error::other(join.to_string()))?
}

/// A block stored without encryption, checked against its hash. An encrypted block read by a
/// server without the key says so instead of looking corrupt.
pub(crate) fn verify_plain(hash: &BlockHash, stored: Bytes) -> BlobResult<Bytes> {
    if BlockHash::of(&stored) == *hash {
        Ok(stored)
    } else if encrypted::looks_encrypted(&stored) {
        Err(BlobError::Key(format!(
            "block {hash} is encrypted at rest, but no encryption key is configured (--encryption-key-file)"
        )))
    } else {
        Err(BlobError::Corrupt(hash.clone()))
    }
}

/// The URL forms [`open`] accepts, for error messages and help texts.
pub const URL_FORMS: &str =
    "file:///PATH (local disk) or s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=REGION (S3-compatible)";

/// Opens the blob store a URL names: `file:///PATH` is the local-disk store rooted at PATH
/// (blocks in `PATH/blocks`), `s3://BUCKET[/PREFIX]?endpoint=…&region=…` an S3-compatible
/// bucket (see [`S3Config::parse`]). Nothing remote is contacted here.
pub fn open(url: &str) -> BlobResult<Arc<dyn BlobStore>> {
    if let Some(path) = url.strip_prefix("file://") {
        if path.is_empty() {
            return Err(BlobError::InvalidUrl(format!("file:// needs a path; expected {URL_FORMS}")));
        }
        let decoded = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| BlobError::InvalidUrl("file url path is not UTF-8".into()))?;
        return Ok(Arc::new(FsBlobStore::open(std::path::Path::new(decoded.as_ref()))?));
    }
    if url.starts_with("s3://") {
        return Ok(Arc::new(S3BlobStore::open(&S3Config::parse(url)?)?));
    }
    // Only the scheme is echoed: a mistyped url might carry a secret.
    let scheme = url.split_once("://").map_or("(none)", |(scheme, _)| scheme);
    Err(BlobError::InvalidUrl(format!("unsupported scheme {scheme:?}; expected {URL_FORMS}")))
}

#[cfg(test)]
mod open_tests {
    use super::*;

    #[test]
    fn opens_by_scheme() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        assert!(open(&url).is_ok());
        assert!(dir.path().join("blocks").is_dir());
        assert!(open("s3://bucket?endpoint=http://127.0.0.1:9&region=x").is_ok());
        let message = open("gs://secret@bucket").err().unwrap().to_string();
        assert!(message.contains("file://") && message.contains("s3://") && !message.contains("secret"), "{message}");
        assert!(open("file://").is_err());
    }
}
