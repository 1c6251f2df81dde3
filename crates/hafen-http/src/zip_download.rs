//! A folder as one streamed ZIP download (the public link page's "download as ZIP").
//!
//! Why this design: the `zip` crate's synchronous `ZipWriter::new_stream` writes into an
//! in-memory sink, and an async, pull-driven stream (`futures_util::stream::unfold`) steps it
//! one entry or one content block at a time, handing the sink's bytes to the response body
//! each time. Nothing runs while the client does not read (the body's backpressure is the
//! only flow control), no temp file, no task or thread per download: the alternative of a
//! `spawn_blocking` writer thread per download would park one blocking-pool thread for as
//! long as the slowest client takes, and enough slow downloads would starve the pool that
//! uploads hash on. `async_zip` would work too but duplicates what `zip` (already battle-tested
//! on zip64 and UTF-8 names) does here with a few lines of glue. Writing into the sink never
//! blocks and the only CPU work per block is its CRC-32 (a few GB/s), cheap enough for the
//! runtime's workers.
//!
//! Entries are stored, not deflated: most office and media formats are compressed already,
//! stored entries cost no CPU, and the crate needs no compression feature.
//!
//! Memory per download is bounded independent of the archive's size: the block being copied
//! (at most `BLOCK_SIZE`, under the core's server-wide download-buffer permits, with the core
//! stream's one block of read-ahead) plus the sink (at most one block and `MIN_CHUNK`), plus
//! per-entry metadata that the central directory needs in any ZIP (about a hundred bytes per
//! entry; entries are capped by `hafen_core::archive::MAX_ARCHIVE_ENTRIES`).
//!
//! Integrity: files of 4 GiB and more get zip64 sizes (`large_file`), and the crate switches
//! to zip64 offsets and end records by itself past 4 GiB of archive; non-ASCII names get the
//! UTF-8 flag. A read that fails mid-way (or a file whose length differs from its listing)
//! ends the body with an error, which aborts the connection: the client never gets a
//! truncated archive that looks complete, since the central directory is only written after
//! the last entry succeeded.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use hafen_core::archive::ArchiveEntry;
use hafen_core::{ByteRange, Core, CoreResult, Node};
use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, DateTime, ZipWriter, ZIP64_BYTES_THR};

/// The content of one file, block by block.
type Blocks = Pin<Box<dyn Stream<Item = CoreResult<Bytes>> + Send>>;
type Opening = Pin<Box<dyn Future<Output = CoreResult<Blocks>> + Send>>;
/// Opens a listed file for reading (the server's: `Core::open_file`, then `read` all of it).
type Opener = Box<dyn FnMut(Node) -> Opening + Send>;

/// Bytes gathered before they are handed to the body, so that many small files do not make
/// many tiny HTTP chunks.
const MIN_CHUNK: usize = 64 * 1024;

/// The response body: the ZIP of `entries` (as `Core::folder_files` lists them).
pub(crate) fn folder_zip(core: Arc<Core>, entries: Vec<ArchiveEntry>) -> Body {
    let opener: Opener = Box::new(move |node| {
        let core = core.clone();
        Box::pin(async move {
            let content = core.open_file(node).await?;
            let size = content.size();
            let blocks = content.read(ByteRange { start: 0, end: size }).await?;
            Ok(Box::pin(blocks) as Blocks)
        })
    });
    Body::from_stream(zip_stream(entries, opener))
}

/// The archive's bytes; an `Err` item is the last one.
fn zip_stream(entries: Vec<ArchiveEntry>, opener: Opener) -> impl Stream<Item = io::Result<Bytes>> + Send {
    futures_util::stream::unfold(ZipStream::new(entries, opener), |mut state| async move {
        state.next_chunk().await.map(|chunk| (chunk, state))
    })
}

/// What the `ZipWriter` wrote and the stream has not handed on yet.
#[derive(Default)]
struct Pending {
    bytes: BytesMut,
    /// After a failure: bytes are dropped, so that the writer's finishing on drop (it writes
    /// a central directory) goes nowhere and cannot fail noisily either.
    discard: bool,
}

/// The `std::io::Write` the `ZipWriter` writes into (shared with the stream, which takes the
/// bytes out: the writer offers no access to its inner writer).
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Pending>>);

impl Sink {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn len(&self) -> usize {
        self.lock().bytes.len()
    }
    fn take(&self) -> Option<Bytes> {
        let mut pending = self.lock();
        (!pending.bytes.is_empty()).then(|| pending.bytes.split().freeze())
    }
    fn discard(&self) {
        let mut pending = self.lock();
        pending.discard = true;
        pending.bytes = BytesMut::new();
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pending = self.lock();
        if !pending.discard {
            pending.bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The file whose blocks are being copied into the archive.
struct OpenFile {
    name: String,
    blocks: Blocks,
    expected: u64,
    written: u64,
}

struct ZipStream {
    entries: std::vec::IntoIter<ArchiveEntry>,
    opener: Opener,
    /// `None` once finished.
    zip: Option<ZipWriter<StreamWriter<Sink>>>,
    sink: Sink,
    file: Option<OpenFile>,
    /// Nothing more to write (the archive is complete, or failed).
    done: bool,
}

impl Drop for ZipStream {
    fn drop(&mut self) {
        // Runs before the fields drop: an unfinished writer (client gone, or a failure)
        // finishes into the void.
        self.sink.discard();
    }
}

impl ZipStream {
    fn new(entries: Vec<ArchiveEntry>, opener: Opener) -> ZipStream {
        let sink = Sink::default();
        ZipStream {
            entries: entries.into_iter(),
            opener,
            zip: Some(ZipWriter::new_stream(sink.clone())),
            sink,
            file: None,
            done: false,
        }
    }

    /// The next piece of the archive, `None` after its end or after an error.
    async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            if self.sink.len() >= MIN_CHUNK || self.done {
                if let Some(chunk) = self.sink.take() {
                    return Some(Ok(chunk));
                }
            }
            if self.done {
                return None;
            }
            if let Err(error) = self.step().await {
                self.done = true;
                self.sink.discard();
                tracing::warn!(%error, "ZIP download aborted");
                return Some(Err(error));
            }
        }
    }

    /// Writes one block of the current file, or starts the next entry, or finishes.
    async fn step(&mut self) -> io::Result<()> {
        let zip = self.zip.as_mut().ok_or_else(|| io::Error::other("the archive is already finished"))?;
        if let Some(file) = self.file.as_mut() {
            match file.blocks.next().await {
                Some(Ok(block)) => {
                    file.written += block.len() as u64;
                    if file.written > file.expected {
                        return Err(io::Error::other(format!("{} is longer than listed", file.name)));
                    }
                    zip.write_all(&block)?;
                }
                Some(Err(error)) => return Err(io::Error::other(format!("reading {} failed: {error}", file.name))),
                None if file.written != file.expected => {
                    return Err(io::Error::other(format!("{} is shorter than listed", file.name)));
                }
                None => self.file = None,
            }
            return Ok(());
        }
        let Some(entry) = self.entries.next() else {
            if let Some(zip) = self.zip.take() {
                zip.finish()?;
            }
            self.done = true;
            return Ok(());
        };
        if entry.node.is_dir {
            zip.add_directory(entry.name, entry_options(&entry.node).unix_permissions(0o755))?;
            return Ok(());
        }
        let expected = entry.node.size.max(0) as u64;
        let blocks = (self.opener)(entry.node.clone())
            .await
            .map_err(|error| io::Error::other(format!("opening {} failed: {error}", entry.name)))?;
        let options = entry_options(&entry.node).unix_permissions(0o644).large_file(expected >= ZIP64_BYTES_THR);
        zip.start_file(entry.name.as_str(), options)?;
        self.file = Some(OpenFile { name: entry.name, blocks, expected, written: 0 });
        Ok(())
    }
}

fn entry_options(node: &Node) -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Stored).last_modified_time(dos_time(node.mtime))
}

/// The ZIP (MS-DOS) timestamp of `unix` seconds, in UTC; 1980-01-01 outside its range
/// (1980–2107).
fn dos_time(unix: i64) -> DateTime {
    let (days, seconds) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (Ok(year), Ok(month), Ok(day)) = (u16::try_from(year), u8::try_from(month), u8::try_from(day)) else {
        return DateTime::default();
    };
    let (hour, minute, second) = ((seconds / 3600) as u8, (seconds % 3600 / 60) as u8, (seconds % 60) as u8);
    DateTime::from_date_and_time(year, month, day, hour, minute, second).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hafen_core::{CoreError, NodeId, UserId};
    use std::io::{Read, Seek, SeekFrom};

    fn node(name: &str, is_dir: bool, size: u64) -> Node {
        Node {
            id: NodeId(1),
            owner: UserId(1),
            parent: None,
            name: name.to_string(),
            is_dir,
            size: size as i64,
            mtime: 1_767_225_600, // 2026-01-01 00:00:00 UTC
            ctime: 0,
            etag: String::new(),
            version: None,
            checksum: None,
        }
    }

    fn entry(name: &str, is_dir: bool, size: u64) -> ArchiveEntry {
        ArchiveEntry { name: name.to_string(), node: node(name, is_dir, size) }
    }

    /// Serves each file as `size` bytes: `pattern` repeated in blocks of the pattern's
    /// length, except files named `*.broken`, whose second block fails.
    fn opener(pattern: Bytes) -> Opener {
        Box::new(move |node: Node| {
            let pattern = pattern.clone();
            Box::pin(async move {
                let size = node.size as u64;
                let step = pattern.len() as u64;
                let broken = node.name.ends_with(".broken");
                let blocks = futures_util::stream::iter((0..size.div_ceil(step)).map(move |index| {
                    if broken && index == 1 {
                        return Err(CoreError::Corrupt("block failed verification".into()));
                    }
                    let len = step.min(size - index * step) as usize;
                    Ok(pattern.slice(..len))
                }));
                Ok(Box::pin(blocks) as Blocks)
            })
        })
    }

    #[test]
    fn dos_times() {
        assert_eq!(dos_time(1_767_225_600), DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(dos_time(951_825_599), DateTime::from_date_and_time(2000, 2, 29, 11, 59, 58).unwrap());
        assert_eq!(dos_time(0), DateTime::default(), "before 1980");
        assert_eq!(dos_time(i64::MAX / 2), DateTime::default());
    }

    #[tokio::test]
    async fn a_failed_read_ends_the_stream_with_an_error_and_no_central_directory() {
        let entries = vec![entry("a.txt", false, 10), entry("b.broken", false, 300_000), entry("c.txt", false, 5)];
        let mut stream = std::pin::pin!(zip_stream(entries, opener(Bytes::from(vec![7u8; 200_000]))));
        let mut bytes = Vec::new();
        let mut failed = false;
        while let Some(item) = stream.next().await {
            assert!(!failed, "nothing may follow the error");
            match item {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(_) => failed = true,
            }
        }
        assert!(failed, "the stream must end with an error");
        assert!(!bytes.windows(4).any(|window| window == b"PK\x05\x06"), "no end of central directory");
        assert!(zip::ZipArchive::new(io::Cursor::new(bytes)).is_err());
    }

    #[tokio::test]
    async fn names_folders_and_contents_round_trip() {
        let entries = vec![
            entry("Leer/", true, 0),
            entry("Unter/", true, 0),
            entry("Unter/Übersicht März.txt", false, 70_000),
            entry("leer.txt", false, 0),
        ];
        let stream = zip_stream(entries, opener(Bytes::from_static(b"0123456789")));
        let chunks: Vec<Bytes> = stream.map(|item| item.expect("chunk")).collect().await;
        let bytes: Vec<u8> = chunks.concat();
        let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).expect("a valid archive");
        let names: Vec<String> = archive.file_names().map(|name| name.expect("UTF-8").into_owned()).collect();
        assert_eq!(names, ["Leer/", "Unter/", "Unter/Übersicht März.txt", "leer.txt"]);
        let mut content = Vec::new();
        archive.by_name("Unter/Übersicht März.txt").expect("file").read_to_end(&mut content).expect("read");
        assert_eq!(content, b"0123456789".repeat(7_000));
        {
            let file = archive.by_name("leer.txt").expect("empty file");
            assert_eq!(file.size(), 0);
            assert_eq!(file.last_modified(), Some(DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0).unwrap()));
        }
        assert!(archive.by_name("Leer/").expect("folder").is_dir());
    }

    /// The archive as a reader sees it without holding it: the recorded start and end, and
    /// zeros in between (checked while recording).
    struct Sparse {
        head: Vec<u8>,
        tail: Vec<u8>,
        len: u64,
        position: u64,
    }

    impl Read for Sparse {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let tail_start = self.len - self.tail.len() as u64;
            let position = self.position;
            let count = if position >= self.len {
                0
            } else if position < self.head.len() as u64 {
                let from = &self.head[position as usize..];
                let count = from.len().min(buf.len());
                buf[..count].copy_from_slice(&from[..count]);
                count
            } else if position >= tail_start {
                let from = &self.tail[(position - tail_start) as usize..];
                let count = from.len().min(buf.len());
                buf[..count].copy_from_slice(&from[..count]);
                count
            } else {
                let count = ((tail_start - position) as usize).min(buf.len());
                buf[..count].fill(0);
                count
            };
            self.position += count as u64;
            Ok(count)
        }
    }

    impl Seek for Sparse {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            self.position = match to {
                SeekFrom::Start(offset) => offset,
                SeekFrom::End(offset) => self.len.saturating_add_signed(offset),
                SeekFrom::Current(offset) => self.position.saturating_add_signed(offset),
            };
            Ok(self.position)
        }
    }

    /// A file past 4 GiB (zip64 sizes) and one after it (zip64 offset), streamed and read
    /// back, the big one in full with its CRC checked.
    #[tokio::test]
    async fn files_and_offsets_past_four_gib_use_zip64() {
        const KEEP: usize = 1 << 20;
        let big = (4u64 << 30) + (1 << 20) + 3;
        let block = Bytes::from(vec![0u8; 4 << 20]);
        let entries = vec![entry("groß.bin", false, big), entry("nach.txt", false, 4)];
        let mut opener = opener(block.clone());
        let small: Opener = Box::new(move |node: Node| {
            if node.name == "nach.txt" {
                Box::pin(async {
                    Ok(Box::pin(futures_util::stream::iter([Ok(Bytes::from_static(b"nach"))])) as Blocks)
                })
            } else {
                opener(node)
            }
        });
        let mut stream = std::pin::pin!(zip_stream(entries, small));
        let zeros = vec![0u8; 8 << 20];
        let (mut head, mut tail, mut len) = (Vec::new(), Vec::new(), 0u64);
        while let Some(chunk) = stream.next().await {
            let mut chunk = &chunk.expect("chunk")[..];
            len += chunk.len() as u64;
            if head.len() < KEEP {
                let take = (KEEP - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                chunk = &chunk[take..];
            }
            tail.extend_from_slice(chunk);
            if tail.len() > KEEP {
                let excess = tail.len() - KEEP;
                assert!(tail[..excess] == zeros[..excess], "only file content lies between head and tail");
                tail.drain(..excess);
            }
        }
        assert!(len > big);
        let mut archive = zip::ZipArchive::new(Sparse { head, tail, len, position: 0 }).expect("a valid zip64 archive");
        let mut after = String::new();
        archive.by_name("nach.txt").expect("second file").read_to_string(&mut after).expect("read");
        assert_eq!(after, "nach");
        let mut file = archive.by_name("groß.bin").expect("big file");
        assert_eq!(file.size(), big);
        let mut buffer = vec![0u8; 4 << 20];
        let mut read = 0u64;
        loop {
            match file.read(&mut buffer).expect("read, CRC checked at the end") {
                0 => break,
                count => read += count as u64,
            }
        }
        assert_eq!(read, big);
    }
}
