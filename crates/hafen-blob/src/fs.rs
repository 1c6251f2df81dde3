//! Local-disk blob store: `ROOT/blocks/ab/cd/<hash>` holding exactly the block's bytes.
//!
//! Durability protocol of a write: the bytes go to a unique temporary file in `ROOT/tmp`
//! (same filesystem), which is fsynced and then renamed to its content address; the target
//! directory is fsynced so that the rename itself survives a crash. A crash before the rename
//! leaves only a temporary file, which `clean_temporary` removes.

use crate::*;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct FsBlobStore {
    blocks: PathBuf,
    tmp: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: &Path) -> BlobResult<FsBlobStore> {
        let blocks = root.join("blocks");
        let tmp = root.join("tmp");
        fs::create_dir_all(&blocks)?;
        fs::create_dir_all(&tmp)?;
        Ok(FsBlobStore { blocks, tmp })
    }

    async fn write(&self, hash: &BlockHash, stored: Bytes, replace: bool) -> BlobResult<()> {
        let target = self.path_of(hash);
        let tmp = self.tmp.clone();
        tokio::task::spawn_blocking(move || write_durably(&tmp, &target, &stored, replace))
            .await
            .map_err(|join| std::io::Error::other(join.to_string()))??;
        Ok(())
    }

    fn path_of(&self, hash: &BlockHash) -> PathBuf {
        let text = hash.as_str();
        self.blocks.join(&text[0..2]).join(&text[2..4]).join(text)
    }
}

/// Removes a temporary file when a write fails half-way.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}

/// Writes `data` to `target` durably; an existing block is kept (its age refreshed) unless
/// `replace` asks to overwrite it (atomically, by the rename).
fn write_durably(tmp_dir: &Path, target: &Path, data: &[u8], replace: bool) -> std::io::Result<()> {
    if !replace && target.exists() {
        // Deduplicated: refresh the age so a concurrent garbage collection keeps it.
        File::options().append(true).open(target)?.set_modified(SystemTime::now())?;
        return Ok(());
    }
    let dir = target.parent().ok_or_else(|| std::io::Error::other("block path has no parent"))?;
    if !dir.exists() {
        fs::create_dir_all(dir)?;
        if let Some(grandparent) = dir.parent() {
            sync_dir(grandparent)?;
            if let Some(top) = grandparent.parent() {
                sync_dir(top)?;
            }
        }
    }
    let temp_path = tmp_dir.join(format!("{}.tmp", hex::encode(rand::random::<[u8; 16]>())));
    let mut guard = TempGuard(Some(temp_path.clone()));
    let mut file = File::create(&temp_path)?;
    file.write_all(data)?;
    // fdatasync: the data and the file size reach the disk; the rename below is made durable
    // by syncing the directory.
    file.sync_data()?;
    drop(file);
    fs::rename(&temp_path, target)?;
    guard.0 = None;
    sync_dir(dir)
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<()> {
        self.write(hash, stored, false).await
    }

    async fn replace_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<()> {
        self.write(hash, stored, true).await
    }

    async fn get_stored(&self, hash: &BlockHash) -> BlobResult<Bytes> {
        match tokio::fs::read(self.path_of(hash)).await {
            Ok(data) => Ok(Bytes::from(data)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(BlobError::Missing(hash.clone())),
            Err(error) => Err(BlobError::Io(error)),
        }
    }

    /// Reading and hashing in one blocking task (the default would hash on the runtime).
    async fn get(&self, hash: &BlockHash) -> BlobResult<Bytes> {
        let path = self.path_of(hash);
        let expected = hash.clone();
        tokio::task::spawn_blocking(move || match fs::read(&path) {
            Ok(data) => verify_plain(&expected, Bytes::from(data)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(BlobError::Missing(expected)),
            Err(error) => Err(BlobError::Io(error)),
        })
        .await
        .map_err(|join| std::io::Error::other(join.to_string()))?
    }

    async fn delete(&self, hash: &BlockHash) -> BlobResult<()> {
        match tokio::fs::remove_file(self.path_of(hash)).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    async fn delete_if_older(&self, hash: &BlockHash, cutoff: SystemTime) -> BlobResult<bool> {
        let path = self.path_of(hash);
        let modified = match tokio::fs::metadata(&path).await {
            Ok(metadata) => metadata.modified()?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(error.into()),
        };
        if modified > cutoff {
            return Ok(false);
        }
        self.delete(hash).await?;
        Ok(true)
    }

    async fn list(&self) -> BlobResult<Vec<StoredBlock>> {
        let blocks = self.blocks.clone();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            for first in fs::read_dir(&blocks)? {
                let first = first?.path();
                if !first.is_dir() {
                    continue;
                }
                for second in fs::read_dir(&first)? {
                    let second = second?.path();
                    if !second.is_dir() {
                        continue;
                    }
                    for entry in fs::read_dir(&second)? {
                        let entry = entry?;
                        let name = entry.file_name();
                        if let Some(hash) = name.to_str().and_then(BlockHash::parse) {
                            found.push(StoredBlock { hash, modified: entry.metadata()?.modified()? });
                        }
                    }
                }
            }
            Ok(found)
        })
        .await
        .map_err(|join| std::io::Error::other(join.to_string()))?
    }

    async fn clean_temporary(&self, older_than: SystemTime) -> BlobResult<usize> {
        let tmp = self.tmp.clone();
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for entry in fs::read_dir(&tmp)? {
                let entry = entry?;
                if entry.metadata()?.modified()? <= older_than {
                    fs::remove_file(entry.path())?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(|join| std::io::Error::other(join.to_string()))?
    }

    async fn check(&self) -> BlobResult<()> {
        tokio::fs::metadata(&self.blocks).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn garbage_collection_spares_a_block_refreshed_after_the_cutoff() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let data = Bytes::from_static(b"orphan or not");
        let hash = BlockHash::of(&data);
        store.put(&hash, data.clone()).await.unwrap();
        let long_ago = SystemTime::UNIX_EPOCH;
        assert!(!store.delete_if_older(&hash, long_ago).await.unwrap(), "stored after the cutoff: kept");
        assert_eq!(store.get(&hash).await.unwrap(), data);
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        assert!(store.delete_if_older(&hash, later).await.unwrap());
        assert!(matches!(store.get(&hash).await, Err(BlobError::Missing(_))));
        assert!(!store.delete_if_older(&hash, later).await.unwrap(), "already gone");
    }

    #[tokio::test]
    async fn stores_verifies_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let data = Bytes::from_static(b"hello block");
        let hash = BlockHash::of(&data);
        store.put(&hash, data.clone()).await.unwrap();
        store.put(&hash, data.clone()).await.unwrap();
        assert_eq!(store.get(&hash).await.unwrap(), data);
        assert_eq!(store.list().await.unwrap().len(), 1);
        let path = store.path_of(&hash);
        let mut bytes = fs::read(&path).unwrap();
        bytes[0] ^= 1;
        fs::write(&path, bytes).unwrap();
        assert!(matches!(store.get(&hash).await, Err(BlobError::Corrupt(_))));
        store.delete(&hash).await.unwrap();
        assert!(matches!(store.get(&hash).await, Err(BlobError::Missing(_))));
    }
}
