//! Chunked uploads of the Nextcloud clients (`/remote.php/dav/uploads/{user}/{transfer}`):
//! sessions, chunks and the final assembly.
//!
//! Each chunk is cut into blocks and stored in the blob store as it arrives, exactly like a
//! PUT; the session in the metadata store records which blocks each chunk has. The final MOVE
//! therefore only concatenates block lists and commits them in one transaction: no byte is
//! copied, and its time does not depend on the file size. Sessions untouched for a day expire
//! and their blocks become garbage for `collect_garbage`.

use crate::access::{perm, Viewer};
use crate::locks::Change;
use crate::path::validate_name;
use crate::transfer::{block_list_hash, BlockWriter};
use crate::{checksum, unix_now, Core, CoreError, CoreResult, PutOptions, PutOutcome, TreePath};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hafen_meta::{BlockRef, FileCommit, UploadChunk, UploadSession, User};
use std::cmp::Ordering;
use std::time::Duration;

/// Name of the virtual file that stands for the assembled upload.
pub const ASSEMBLED_NAME: &str = ".file";

/// Chunk order: numerically when both names are numbers (chunking v2 sends `1`…`10000`
/// unpadded), by name otherwise (v1-NG pads to 16 digits, rclone uses offsets).
fn chunk_order(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn no_session(name: &str) -> CoreError {
    CoreError::NotFound(format!("upload {name} does not exist (create it with MKCOL first)"))
}

impl Core {
    /// Starts an upload session. `total_length` (OC-Total-Length) is checked against the quota.
    pub async fn create_upload(
        &self,
        user: &User,
        name: &str,
        destination: Option<&TreePath>,
        total_length: Option<u64>,
    ) -> CoreResult<()> {
        let name = validate_name(name.as_bytes())?;
        let room = self.upload_room(user, destination).await?;
        if let (Some(available), Some(total)) = (room.available(), total_length) {
            if total > available as u64 {
                return Err(CoreError::QuotaExceeded);
            }
        }
        let destination = destination.map(TreePath::to_key);
        let total = total_length.map(|total| total as i64);
        match self.meta.create_upload(user.id, &name, destination.as_deref(), total, unix_now()).await {
            Err(hafen_meta::MetaError::AlreadyExists(_)) => {
                Err(CoreError::NotAllowed(format!("upload {name} already exists")))
            }
            other => Ok(other.map(|_| ())?),
        }
    }

    pub async fn upload_session(&self, user: &User, name: &str) -> CoreResult<UploadSession> {
        self.meta.upload(user.id, name).await?.ok_or_else(|| no_session(name))
    }

    pub async fn list_uploads(&self, user: &User) -> CoreResult<Vec<UploadSession>> {
        Ok(self.meta.list_uploads(user.id).await?)
    }

    /// The chunks received so far, in assembly order.
    pub async fn upload_chunks(&self, session: &UploadSession) -> CoreResult<Vec<UploadChunk>> {
        let mut chunks = self.meta.upload_chunks(session.id).await?;
        chunks.sort_by(|a, b| chunk_order(&a.name, &b.name));
        Ok(chunks)
    }

    /// Stores one chunk (replacing an earlier one of the same name).
    pub async fn put_upload_chunk<S, E>(
        &self,
        user: &User,
        name: &str,
        chunk: &str,
        mut body: S,
        content_length: Option<u64>,
    ) -> CoreResult<()>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let chunk = validate_name(chunk.as_bytes())?;
        if chunk == ASSEMBLED_NAME {
            return Err(CoreError::Forbidden(format!("{ASSEMBLED_NAME} is the assembled file, not a chunk")));
        }
        let session = self.upload_session(user, name).await?;
        let destination = session.destination.as_deref().map(TreePath::from_key);
        let allowance = match self.upload_room(user, destination.as_ref()).await?.available() {
            Some(available) => {
                let received: i64 =
                    self.meta.upload_chunks(session.id).await?.iter().filter(|c| c.name != chunk).map(|c| c.size).sum();
                Some((available - received).max(0) as u64)
            }
            None => None,
        };
        if let (Some(allowed), Some(declared)) = (allowance, content_length) {
            if declared > allowed {
                return Err(CoreError::QuotaExceeded);
            }
        }
        let mut writer = BlockWriter::new(self.blobs.clone(), content_length, false);
        while let Some(data) = body.next().await {
            let data = data
                .map_err(|error| CoreError::InvalidInput(format!("the chunk was not received completely: {error}")))?;
            writer.write(data).await?;
            if allowance.is_some_and(|allowed| writer.total > allowed) {
                return Err(CoreError::QuotaExceeded);
            }
        }
        let written = writer.finish().await?;
        let (blocks, total) = (written.blocks, written.total);
        if content_length.is_some_and(|declared| declared != total) {
            return Err(CoreError::InvalidInput("the chunk is shorter than its Content-Length".into()));
        }
        Ok(self.meta.put_upload_chunk(session.id, &chunk, &blocks, total as i64, unix_now()).await?)
    }

    pub async fn delete_upload_chunk(&self, user: &User, name: &str, chunk: &str) -> CoreResult<()> {
        let session = self.upload_session(user, name).await?;
        if !self.meta.delete_upload_chunk(session.id, chunk).await? {
            return Err(CoreError::NotFound(format!("chunk {chunk} does not exist")));
        }
        Ok(())
    }

    pub async fn delete_upload(&self, user: &User, name: &str) -> CoreResult<()> {
        let session = self.upload_session(user, name).await?;
        Ok(self.meta.delete_upload(session.id).await?)
    }

    /// Assembles the upload into the file at `destination` (the final `MOVE .file`).
    /// `options.content_length` carries OC-Total-Length; the declared checksum is stored (it
    /// cannot be verified without reading the data again, which this path must not do).
    pub async fn finish_upload(
        &self,
        user: &User,
        name: &str,
        destination: &TreePath,
        options: PutOptions,
    ) -> CoreResult<PutOutcome> {
        let session = self.upload_session(user, name).await?;
        let actor = user.name.clone();
        if let Some(expected) = &session.destination {
            if expected != &destination.to_key() {
                return Err(CoreError::InvalidInput(
                    "the Destination differs from the one given when the upload started".into(),
                ));
            }
        }
        let view_destination = destination;
        let at = self.locate(&Viewer::Account(user.clone()), view_destination).await?;
        if at.node().is_some() {
            at.require(perm::UPDATE, "change files")?;
        } else {
            at.require(perm::CREATE, "add files")?;
        }
        let (user, destination) = (&at.tree, &at.path);
        let (parent, existing) = at.parent_and_node()?;
        if existing.as_ref().is_some_and(|node| node.is_dir) {
            return Err(CoreError::NotAllowed(format!("{} is a folder", view_destination.to_key())));
        }
        let change = if existing.is_some() { Change::Content } else { Change::Membership };
        self.ensure_unlocked(user, destination, change, &options.lock_tokens).await?;
        let mut named_blocks = self.meta.upload_blocks(session.id).await?;
        named_blocks.sort_by(|(a, _), (b, _)| chunk_order(a, b));
        let blocks: Vec<BlockRef> = named_blocks.into_iter().map(|(_, block)| block).collect();
        let size: i64 = blocks.iter().map(|block| block.len).sum();
        if let Some(total) = options.content_length.or(session.total_length.map(|total| total as u64)) {
            if total != size as u64 {
                return Err(CoreError::InvalidInput(format!(
                    "the chunks sum up to {size} bytes, not to the announced {total}"
                )));
            }
        }
        // The account's own quota is checked inside the commit; the organisation's here.
        let old_size = existing.as_ref().map_or(0, |node| node.size);
        if self.org_room(user, old_size).await?.is_some_and(|room| size as u64 > room) {
            return Err(CoreError::QuotaExceeded);
        }
        let now = unix_now();
        let content_hash = block_list_hash(&blocks);
        let commit = FileCommit {
            parent: parent.id,
            name: destination.name().unwrap_or_default().to_string(),
            blocks,
            size,
            content_hash,
            mtime: options.mtime.unwrap_or(now),
            now,
            expect: options.expectation(),
            quota: user.quota,
            checksum: options.checksum.as_deref().map(checksum::normalize).transpose()?,
            inline_blocks: Vec::new(),
        };
        let (node, created) = self.meta.finish_upload(session.id, &commit).await.map_err(|error| match error {
            hafen_meta::MetaError::PreconditionFailed => {
                CoreError::PreconditionFailed(format!("{} changed on the server", destination.to_key()))
            }
            other => other.into(),
        })?;
        if !created {
            self.thin_versions(user, &node).await?;
        }
        let kind = if created { "file_created" } else { "file_changed" };
        self.record_activity(&[user.id], kind, &actor, &destination.to_key(), Some(node.id.0)).await;
        Ok(PutOutcome { node, created })
    }

    /// The space an upload may take: in the destination's tree when it is known (an upload
    /// into a received share counts against the share owner), else in the uploader's own.
    async fn upload_room(&self, user: &User, destination: Option<&TreePath>) -> CoreResult<crate::Quota> {
        match destination {
            Some(destination) => {
                let at = self.locate(&Viewer::Account(user.clone()), destination).await?;
                self.tree_quota(&at.tree).await
            }
            None => self.quota(user).await,
        }
    }

    /// Drops upload sessions untouched for `max_age`; their blocks become garbage.
    pub async fn expire_uploads(&self, max_age: Duration) -> CoreResult<u64> {
        Ok(self.meta.expire_uploads(unix_now() - max_age.as_secs() as i64).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_chunk_names_sort_as_numbers() {
        let mut names = vec!["10", "2", "1"];
        names.sort_by(|a, b| chunk_order(a, b));
        assert_eq!(names, ["1", "2", "10"]);
        let mut padded = vec!["0000000000000001", "0000000000000000"];
        padded.sort_by(|a, b| chunk_order(a, b));
        assert_eq!(padded, ["0000000000000000", "0000000000000001"]);
    }
}
