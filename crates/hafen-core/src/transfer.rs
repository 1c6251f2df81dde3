//! Moving file content in and out of the content store.
//!
//! Upload: the body is cut into blocks of at most `BLOCK_SIZE` while it streams in; each block
//! and the whole file are hashed on the fly (no second pass), each block is stored durably,
//! and only then one metadata transaction makes the new version visible.
//! Download: the version's block list maps a byte range onto blocks; each block is verified
//! before any of its bytes leave, so corrupt data is never served.

use crate::access::{free_name, perm, Located, Viewer};
use crate::checksum::{self, ChecksumCheck};
use crate::locks::Change;
use crate::{unix_now, Core, CoreError, CoreResult, PutOptions, PutOutcome, TreePath, BLOCK_SIZE};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use hafen_blob::{BlobStore, BlockHash};
use hafen_meta::{BlockRef, FileCommit, InlineBlock, MetaStore, Node};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// A byte range `[start, end)` of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// An opened file version, ready to stream.
pub struct FileContent {
    pub node: Node,
    /// The blocks in order, with the data of inline blocks already loaded.
    blocks: Vec<(BlockRef, Option<Bytes>)>,
    stores: BlockSource,
}

/// Where blocks are read from: inline in the metadata store, else the blob store.
#[derive(Clone)]
pub(crate) struct BlockSource {
    pub meta: Arc<dyn MetaStore>,
    pub blobs: Arc<dyn BlobStore>,
    /// One permit per block held in memory by downloads, server-wide (see `DOWNLOAD_BLOCKS`).
    pub buffers: Arc<tokio::sync::Semaphore>,
}

/// Blocks (up to 4 MiB each) that all downloads together may hold in memory. Without a bound,
/// 64 concurrent downloads of large files held about 740 MB (measured); with it, further
/// downloads wait for a slot, which the clients reading their data free.
pub const DOWNLOAD_BLOCKS: usize = 32;

impl BlockSource {
    /// Reads a block and verifies its BLAKE3 hash; small blocks are looked up inline first.
    /// `loaded` is the inline data when the caller already has it.
    pub(crate) async fn read(&self, hash: &str, len: i64, loaded: Option<Bytes>) -> CoreResult<Bytes> {
        let parsed = BlockHash::parse(hash).ok_or_else(|| CoreError::Corrupt(format!("invalid block hash {hash}")))?;
        let inline = match loaded {
            Some(data) => Some(data),
            None if len <= INLINE_MAX as i64 => self.meta.inline_block(hash).await?.map(Bytes::from),
            None => None,
        };
        if let Some(data) = inline {
            // In its form at rest (encrypted with encryption at rest): opened and verified by
            // the blob store, like any block.
            return self.blobs.open_stored(&parsed, data).map_err(|error| {
                tracing::error!(block = hash, %error, "inline block failed verification");
                CoreError::from(error)
            });
        }
        self.blobs.get(&parsed).await.map_err(|error| {
            tracing::error!(%error, "block verification failed");
            CoreError::from(error)
        })
    }
}

/// Blocks hashed and written in the background while the body keeps streaming in; more
/// would only hold more memory (each is up to `BLOCK_SIZE`) without adding throughput.
const BLOCKS_IN_FLIGHT: usize = 3;

/// Collects incoming bytes into blocks; each full block is hashed (BLAKE3) and stored durably
/// by a background task while the next one fills, so network, hashing and disk overlap.
pub(crate) struct BlockWriter {
    blobs: Arc<dyn BlobStore>,
    /// Whether content small enough may go to the metadata store instead (see `INLINE_MAX`).
    allow_inline: bool,
    buffer: BytesMut,
    in_flight: VecDeque<JoinHandle<CoreResult<BlockRef>>>,
    blocks: Vec<BlockRef>,
    pub(crate) total: u64,
}

impl BlockWriter {
    pub(crate) fn new(blobs: Arc<dyn BlobStore>, expected: Option<u64>, allow_inline: bool) -> BlockWriter {
        let capacity = expected.map_or(64 * 1024, |len| len.min(BLOCK_SIZE as u64) as usize);
        BlockWriter {
            blobs,
            allow_inline,
            buffer: BytesMut::with_capacity(capacity),
            in_flight: VecDeque::new(),
            blocks: Vec::new(),
            total: 0,
        }
    }

    pub(crate) async fn write(&mut self, mut data: Bytes) -> CoreResult<()> {
        self.total += data.len() as u64;
        while !data.is_empty() {
            let room = BLOCK_SIZE - self.buffer.len();
            let piece = data.split_to(room.min(data.len()));
            self.buffer.extend_from_slice(&piece);
            if self.buffer.len() == BLOCK_SIZE {
                self.flush_block().await?;
            }
        }
        Ok(())
    }

    async fn flush_block(&mut self) -> CoreResult<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buffer, BytesMut::with_capacity(BLOCK_SIZE)).freeze();
        let blobs = self.blobs.clone();
        self.in_flight.push_back(tokio::spawn(async move {
            let len = data.len() as i64;
            let (hash, data) = tokio::task::spawn_blocking(move || (BlockHash::of(&data), data))
                .await
                .map_err(|error| CoreError::Internal(format!("hashing task failed: {error}")))?;
            blobs.put(&hash, data).await?;
            Ok(BlockRef { hash: hash.to_string(), len })
        }));
        while self.in_flight.len() > BLOCKS_IN_FLIGHT {
            self.complete_oldest().await?;
        }
        Ok(())
    }

    async fn complete_oldest(&mut self) -> CoreResult<()> {
        if let Some(task) = self.in_flight.pop_front() {
            let block = task.await.map_err(|error| CoreError::Internal(format!("block task failed: {error}")))??;
            self.blocks.push(block);
        }
        Ok(())
    }

    /// Stores the last partial block and waits for all writes; returns the block list, the
    /// content hash and the length.
    pub(crate) async fn finish(mut self) -> CoreResult<WrittenContent> {
        let mut inline = Vec::new();
        let small = self.blocks.is_empty() && self.in_flight.is_empty() && self.buffer.len() <= INLINE_MAX;
        if self.allow_inline && small && !self.buffer.is_empty() {
            let data = std::mem::take(&mut self.buffer);
            let hash = BlockHash::of(&data);
            self.blocks.push(BlockRef { hash: hash.to_string(), len: data.len() as i64 });
            // Kept in the metadata store in the blob store's form at rest (encrypted when
            // encryption at rest is on), so small files are protected like large ones.
            let stored = self.blobs.seal(&hash, data.freeze())?;
            inline.push(InlineBlock { hash: hash.to_string(), data: stored.to_vec() });
        }
        self.flush_block().await?;
        while !self.in_flight.is_empty() {
            self.complete_oldest().await?;
        }
        let content_hash = block_list_hash(&self.blocks);
        Ok(WrittenContent { blocks: self.blocks, content_hash, total: self.total, inline })
    }
}

/// What a `BlockWriter` stored.
pub(crate) struct WrittenContent {
    pub blocks: Vec<BlockRef>,
    pub content_hash: String,
    pub total: u64,
    /// Blocks to store in the metadata store with the commit (small files).
    pub inline: Vec<InlineBlock>,
}

/// Largest file kept inline in the metadata store: a small upload then costs one shared
/// transaction instead of a file, two fsyncs and a directory fsync of its own.
pub const INLINE_MAX: usize = 32 * 1024;

/// Yields the blocks of a download and keeps each block's buffer permit until the stream is
/// polled again: by then the server has taken the block, and releasing it *before* waiting for
/// the next one is what lets every download progress when all permits are in use.
struct ReleaseOnPoll<S> {
    inner: std::pin::Pin<Box<S>>,
    held: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl<S> Stream for ReleaseOnPoll<S>
where
    S: Stream<Item = CoreResult<(Bytes, Option<tokio::sync::OwnedSemaphorePermit>)>>,
{
    type Item = CoreResult<Bytes>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.held = None;
        match this.inner.as_mut().poll_next(cx) {
            std::task::Poll::Ready(Some(Ok((data, permit)))) => {
                this.held = permit;
                std::task::Poll::Ready(Some(Ok(data)))
            }
            std::task::Poll::Ready(Some(Err(error))) => std::task::Poll::Ready(Some(Err(error))),
            std::task::Poll::Ready(None) => std::task::Poll::Ready(None),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

/// The content hash of a version: BLAKE3 over its block list. Every byte is covered by its
/// block's BLAKE3, so this identifies the content without hashing it a second time, and an
/// assembled chunked upload gets it without reading anything.
pub(crate) fn block_list_hash(blocks: &[BlockRef]) -> String {
    let mut hasher = blake3::Hasher::new();
    for block in blocks {
        hasher.update(block.hash.as_bytes());
        hasher.update(&block.len.to_le_bytes());
    }
    format!("blocks:{}", hasher.finalize().to_hex())
}

impl Core {
    /// Stores a new version of the file at `path` from a streamed body. An upload through a
    /// file-drop link notifies the link's owner.
    pub async fn put_file<S, E>(
        &self,
        who: &Viewer,
        view_path: &TreePath,
        body: S,
        options: PutOptions,
    ) -> CoreResult<PutOutcome>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let mut at = self.locate(who, view_path).await?;
        if at.is_mount_root() && at.node().is_some_and(|node| node.is_dir) {
            return Err(CoreError::NotAllowed(format!("{} is a folder", view_path.to_key())));
        }
        let mut options = options;
        let file_drop = !at.allows(perm::READ);
        if file_drop {
            // An upload link: never overwrite, never reveal what exists. A taken name gets
            // the next free one ("Antrag (2).pdf"), and conditions the uploader cannot know
            // the answer to are ignored.
            at.require(perm::CREATE, "upload")?;
            options.if_match = None;
            options.if_none_match_any = true;
            let (parent, existing) = at.parent_and_node()?;
            if existing.is_some() {
                let names: std::collections::HashSet<String> =
                    self.meta.children(parent.id).await?.into_iter().map(|node| node.name).collect();
                let name = view_path.name().unwrap_or_default();
                let free = free_name(name, false, &|candidate| names.contains(candidate));
                let free_path = view_path.parent().unwrap_or_default().join(&free);
                at = self.locate(who, &free_path).await?;
            }
        } else if at.node().is_some() {
            at.require(perm::UPDATE, "change files")?;
        } else {
            at.require(perm::CREATE, "add files")?;
        }
        let outcome = self.put_located(&at, body, options).await?;
        if let (true, Some(grant)) = (file_drop, who.link()) {
            self.notify_link_upload(grant, &outcome.node.name).await;
        } else {
            let kind = if outcome.created { "file_created" } else { "file_changed" };
            let subject = at.path.to_key();
            self.record_activity(
                &[at.tree.id],
                kind,
                &crate::activity::actor_of(who),
                &subject,
                Some(outcome.node.id.0),
            )
            .await;
        }
        Ok(outcome)
    }

    /// Stores a new version of the file at a located path whose permissions were checked.
    async fn put_located<S, E>(&self, at: &Located, mut body: S, options: PutOptions) -> CoreResult<PutOutcome>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let (user, path) = (&at.tree, &at.path);
        let (parent, existing) = at.parent_and_node()?;
        if existing.as_ref().is_some_and(|node| node.is_dir) {
            return Err(CoreError::NotAllowed(format!("{} is a folder", path.to_key())));
        }
        // Conditions are checked now, to spare the upload, and again in the commit.
        let expect = options.expectation();
        if !expect.holds_for(existing.as_ref()) {
            return Err(CoreError::PreconditionFailed(format!("precondition failed for {}", path.to_key())));
        }
        let change = if existing.is_some() { Change::Content } else { Change::Membership };
        self.ensure_unlocked(user, path, change, &options.lock_tokens).await?;
        let old_size = existing.as_ref().map_or(0, |node| node.size);
        // Room left for this file, when the account has a quota.
        let own_allowance = match user.quota {
            Some(limit) => Some((limit - self.quota(user).await?.used + old_size).max(0) as u64),
            None => None,
        };
        let org_allowance = self.org_room(user, old_size).await?;
        let allowance = match (own_allowance, org_allowance) {
            (Some(own), Some(org)) => Some(own.min(org)),
            (own, org) => own.or(org),
        };
        if let (Some(allowed), Some(declared)) = (allowance, options.content_length) {
            if declared > allowed {
                return Err(CoreError::QuotaExceeded);
            }
        }
        let checksum = options.checksum.as_deref().map(checksum::normalize).transpose()?;
        let mut checksum_check = checksum.as_deref().map(ChecksumCheck::for_declared);
        let mut writer = BlockWriter::new(self.blobs.clone(), options.content_length, true);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| {
                CoreError::InvalidInput(format!("the request body was not received completely: {error}"))
            })?;
            if let Some(check) = checksum_check.as_mut() {
                check.update(&chunk);
            }
            writer.write(chunk).await?;
            if allowance.is_some_and(|allowed| writer.total > allowed) {
                return Err(CoreError::QuotaExceeded);
            }
            if options.content_length.is_some_and(|declared| writer.total > declared) {
                return Err(CoreError::InvalidInput("the request body is longer than its Content-Length".into()));
            }
        }
        let WrittenContent { blocks, content_hash, total, inline } = writer.finish().await?;
        if options.content_length.is_some_and(|declared| declared != total) {
            return Err(CoreError::InvalidInput("the request body is shorter than its Content-Length".into()));
        }
        if let Some(check) = checksum_check {
            check.verify()?;
        }
        let now = unix_now();
        let (node, created) = self
            .meta
            .commit_file(&FileCommit {
                parent: parent.id,
                name: path.name().unwrap_or_default().to_string(),
                blocks,
                size: total as i64,
                content_hash,
                mtime: options.mtime.unwrap_or(now),
                now,
                expect,
                quota: user.quota,
                checksum,
                inline_blocks: inline,
            })
            .await
            .map_err(|error| match error {
                hafen_meta::MetaError::PreconditionFailed => {
                    CoreError::PreconditionFailed(format!("{} changed during the upload", path.to_key()))
                }
                other => other.into(),
            })?;
        if !created {
            self.thin_versions(user, &node).await?;
        }
        Ok(PutOutcome { node, created })
    }

    /// Bytes the organisation of the tree's owner may still take (its quota covers all its
    /// accounts and spaces together), counting `freed` bytes a replacement gives back;
    /// `None` when the organisation has no quota (or the owner none).
    pub(crate) async fn org_room(&self, owner: &hafen_meta::User, freed: i64) -> CoreResult<Option<u64>> {
        let Some(org) = owner.org else { return Ok(None) };
        match self.meta.org(org).await?.and_then(|org| org.quota) {
            Some(limit) => Ok(Some((limit - self.meta.org_used_bytes(org).await? + freed).max(0) as u64)),
            None => Ok(None),
        }
    }

    /// Creates an empty file (LOCK on an unmapped URL).
    pub(crate) async fn create_empty_file(&self, who: &Viewer, path: &TreePath, tokens: &[String]) -> CoreResult<Node> {
        let options = PutOptions {
            content_length: Some(0),
            if_none_match_any: true,
            lock_tokens: tokens.to_vec(),
            ..PutOptions::default()
        };
        let empty = futures_util::stream::empty::<Result<Bytes, std::convert::Infallible>>();
        Ok(self.put_file(who, path, empty, options).await?.node)
    }

    /// Opens the current version of a file the caller resolved (with `stat`) in the user's tree.
    pub async fn open_file(&self, node: Node) -> CoreResult<FileContent> {
        if node.is_dir {
            return Err(CoreError::NotAllowed(format!("{} is a folder", node.name)));
        }
        let blocks = match node.version {
            Some(version) => self
                .meta
                .version_content(version)
                .await?
                .into_iter()
                .map(|(block, data)| (block, data.map(Bytes::from)))
                .collect(),
            None => Vec::new(),
        };
        Ok(FileContent { node, blocks, stores: self.block_source() })
    }
}

impl FileContent {
    pub fn size(&self) -> u64 {
        self.node.size.max(0) as u64
    }

    /// Streams `range`. The first block is read and verified before this returns, so a
    /// corrupt or missing start is an error the caller can still report with a status code;
    /// a later bad block ends the stream with an error (the connection is then aborted).
    pub async fn read(&self, range: ByteRange) -> CoreResult<impl Stream<Item = CoreResult<Bytes>> + Send + 'static> {
        // (hash, length, slice within the block) for each block overlapping the range.
        let mut pieces = Vec::new();
        let mut offset = 0u64;
        for (block, loaded) in &self.blocks {
            let block_end = offset + block.len as u64;
            if block_end > range.start && offset < range.end {
                let from = range.start.saturating_sub(offset) as usize;
                let to = (range.end.min(block_end) - offset) as usize;
                pieces.push((block.hash.clone(), block.len, loaded.clone(), from, to));
            }
            offset = block_end;
        }
        let stores = self.stores.clone();
        let mut pieces = pieces.into_iter();
        let mut first = None;
        if let Some((hash, len, loaded, from, to)) = pieces.next() {
            let permit = stores.buffers.clone().acquire_owned().await.ok();
            first = Some((stores.read(&hash, len, loaded).await?.slice(from..to), permit));
        }
        // One block is read and verified ahead while the previous one is being sent. Each
        // block's buffer permit is kept until the next block is asked for, i.e. until the
        // server has handed this one to the connection.
        let rest = futures_util::stream::iter(pieces)
            .map(move |(hash, len, loaded, from, to)| {
                let stores = stores.clone();
                async move {
                    let permit = stores.buffers.clone().acquire_owned().await.ok();
                    Ok((stores.read(&hash, len, loaded).await?.slice(from..to), permit))
                }
            })
            .buffered(2);
        let blocks = futures_util::stream::iter(first.map(Ok)).chain(rest);
        Ok(ReleaseOnPoll { inner: Box::pin(blocks), held: None })
    }
}
