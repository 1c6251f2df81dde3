//! Copying every block of one blob store into another (migration disk ↔ S3).
//!
//! Each block is copied in its form at rest (an encrypted block stays encrypted, so a backup
//! on another disk is as protected as the original), after the source verified it
//! (`BlobStore::open_stored`: BLAKE3 hash, and decryption when encrypted), so a corrupt or
//! missing source block is reported and never copied. Blocks the target already lists are
//! skipped, which makes the copy idempotent and resumable. A failing store (unreachable, refused) aborts the copy;
//! damaged source blocks do not: they are collected in the report.

use crate::*;
use std::collections::HashSet;

/// Counters reported while copying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyProgress {
    /// Blocks the source lists.
    pub total: usize,
    /// Blocks the target already had (not read, not written).
    pub skipped: usize,
    /// Blocks read, verified and written.
    pub copied: usize,
    /// Source blocks that were missing or corrupt.
    pub damaged: usize,
    /// Bytes written to the target (as stored: with encryption, the ciphertext).
    pub bytes: u64,
}

/// The outcome of [`copy_blocks`].
#[derive(Debug, Default)]
pub struct CopyReport {
    pub progress: CopyProgress,
    /// Source blocks that failed verification (`Corrupt`) or vanished (`Missing`).
    pub damaged: Vec<BlobError>,
}

/// Copies every block `from` lists into `to` with up to `concurrency` blocks in flight,
/// calling `on_progress` after each block.
pub async fn copy_blocks(
    from: Arc<dyn BlobStore>,
    to: Arc<dyn BlobStore>,
    concurrency: usize,
    on_progress: impl FnMut(&CopyProgress),
) -> BlobResult<CopyReport> {
    let source = from.list().await?.into_iter().map(|block| block.hash).collect();
    copy_listed_blocks(from, to, source, concurrency, on_progress).await
}

/// Copies the given blocks (e.g. only those an instance references) from `from` into `to`.
pub async fn copy_listed_blocks(
    from: Arc<dyn BlobStore>,
    to: Arc<dyn BlobStore>,
    source: Vec<BlockHash>,
    concurrency: usize,
    mut on_progress: impl FnMut(&CopyProgress),
) -> BlobResult<CopyReport> {
    let present: HashSet<BlockHash> = to.list().await?.into_iter().map(|block| block.hash).collect();
    let mut report =
        CopyReport { progress: CopyProgress { total: source.len(), ..CopyProgress::default() }, damaged: Vec::new() };
    let pending: Vec<BlockHash> = source.into_iter().filter(|hash| !present.contains(hash)).collect();
    report.progress.skipped = report.progress.total - pending.len();
    on_progress(&report.progress);
    let copy_one = |hash: BlockHash| {
        let (from, to) = (from.clone(), to.clone());
        async move {
            let stored = from.get_stored(&hash).await?;
            let length = stored.len() as u64;
            {
                let (from, hash, stored) = (from.clone(), hash.clone(), stored.clone());
                blocking(move || from.open_stored(&hash, stored).map(drop)).await?;
            }
            to.put_stored(&hash, stored).await?;
            Ok(length)
        }
    };
    for_each_block(pending, concurrency, copy_one, |outcome| {
        match outcome {
            Ok(length) => {
                report.progress.copied += 1;
                report.progress.bytes += length;
            }
            Err(error @ (BlobError::Missing(_) | BlobError::Corrupt(_))) => {
                report.progress.damaged += 1;
                report.damaged.push(error);
            }
            Err(error) => return Err(error),
        }
        on_progress(&report.progress);
        Ok(())
    })
    .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn copies_verifies_and_skips_present_blocks() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let from: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(a.path()).unwrap());
        let to: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(b.path()).unwrap());
        let mut hashes = Vec::new();
        for index in 0..20u32 {
            let data = Bytes::from(format!("block number {index}").into_bytes());
            let hash = BlockHash::of(&data);
            from.put(&hash, data).await.unwrap();
            hashes.push(hash);
        }
        // Corrupt one source block on disk.
        let bad = &hashes[3];
        let path = a.path().join("blocks").join(&bad.as_str()[..2]).join(&bad.as_str()[2..4]).join(bad.as_str());
        std::fs::write(&path, b"not the block").unwrap();
        let report = copy_blocks(from.clone(), to.clone(), 4, |_| {}).await.unwrap();
        assert_eq!(report.progress.total, 20);
        assert_eq!(report.progress.copied, 19);
        assert_eq!(report.progress.damaged, 1);
        assert!(matches!(report.damaged[0], BlobError::Corrupt(ref hash) if hash == bad));
        assert!(matches!(to.get(bad).await, Err(BlobError::Missing(_))));
        assert_eq!(to.get(&hashes[0]).await.unwrap(), Bytes::from_static(b"block number 0"));
        let again = copy_blocks(from, to, 4, |_| {}).await.unwrap();
        assert_eq!((again.progress.skipped, again.progress.copied, again.progress.damaged), (19, 0, 1));
    }
}
