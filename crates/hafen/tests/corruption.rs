//! Damaged block files: a flipped byte or a deleted block must never be served as a clean 200,
//! and `fsck` must report the damage (exit code 1) naming the affected file.

mod common;

use common::{blake3_hex, run_cli, test_tmp_root, Client, TestServer, ADMIN_PASSWORD};
use rand::{RngCore, SeedableRng};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

const MIB: usize = 1024 * 1024;
const BLOCK: usize = 4 * MIB;

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// Location of the block file holding `piece` (a piece of at most 4 MiB of some file's content).
fn block_path(data: &Path, piece: &[u8]) -> PathBuf {
    let hash = blake3_hex(piece);
    data.join("blocks").join(&hash[..2]).join(&hash[2..4]).join(&hash)
}

fn piece(content: &[u8], index: usize) -> &[u8] {
    content.chunks(BLOCK).nth(index).expect("piece index")
}

fn flip_byte(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read block {}: {e}", path.display()));
    bytes[offset] ^= 0x5a;
    std::fs::write(path, &bytes).expect("write corrupted block");
}

fn new_data_dir() -> (tempfile::TempDir, PathBuf) {
    let tempdir = tempfile::Builder::new().prefix("hafen-corrupt-").tempdir_in(test_tmp_root()).expect("tempdir");
    let data = tempdir.path().join("data");
    (tempdir, data)
}

fn upload(server: &TestServer, path: &str, content: &[u8]) {
    let client = Client::new("admin", ADMIN_PASSWORD);
    let reply = client.put(&server.dav_url("admin", path), content);
    assert!(matches!(reply.status, 201 | 204), "PUT {path}: {} {}", reply.status, reply.text());
    let back = client.get(&server.dav_url("admin", path));
    assert_eq!(back.status, 200, "GET {path} after upload");
    assert!(back.body == content, "GET {path} after upload returned different bytes");
}

/// GETs a file whose block `bad_piece` is damaged. Acceptable: a 5xx status, or (when
/// `allow_abort`) a transport failure / truncated body that delivered only correct bytes, all of
/// them before the damaged block. Never a complete 200 body.
fn assert_get_fails(server: &TestServer, path: &str, original: &[u8], bad_piece: usize, allow_abort: bool) {
    use base64::Engine as _;
    let url = server.dav_url("admin", path);
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}")));
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).redirects(0).build();
    match agent.get(&url).set("Authorization", &auth).call() {
        Err(ureq::Error::Status(status, response)) => {
            let body = response.into_string().unwrap_or_default();
            assert!(status >= 500, "GET {path} with a damaged block answered {status}, expected 5xx: {body}");
        }
        Err(error) => {
            assert!(allow_abort, "GET {path} (single block) should answer 5xx, got transport error {error}");
        }
        Ok(response) => {
            let status = response.status();
            assert!(
                allow_abort,
                "GET {path} with a damaged block answered {status}; a single-block file must get a 5xx"
            );
            let mut received = Vec::new();
            let read = response.into_reader().read_to_end(&mut received);
            assert!(
                received.len() < original.len(),
                "GET {path} with a damaged block answered {status} and delivered the full length \
                 ({} bytes, read result {read:?}); body equals original: {}",
                received.len(),
                received == original
            );
            let boundary = bad_piece * BLOCK;
            assert!(
                received.len() <= boundary,
                "GET {path} delivered {} bytes, reaching into the damaged block that starts at byte {boundary}",
                received.len()
            );
            assert!(received == original[..received.len()], "GET {path} delivered bytes that differ from the file");
        }
    }
}

/// Runs `fsck --grace-seconds 0`, returning (exit code, all output lines).
fn fsck(data: &Path) -> (i32, Vec<String>) {
    let (code, out, err) = run_cli(data, &["fsck", "--grace-seconds", "0"], None);
    let lines = out.lines().chain(err.lines()).map(str::to_string).collect();
    (code, lines)
}

fn assert_reported(lines: &[String], kind: &str, file: &str, block: &str) {
    assert!(
        lines.iter().any(|line| line.contains(kind) && line.contains(file) && line.contains(block)),
        "fsck output has no `{kind}` line naming {file} (block {block}):\n{}",
        lines.join("\n")
    );
}

fn assert_not_named(lines: &[String], file: &str) {
    assert!(
        !lines.iter().any(|line| line.contains(file)),
        "fsck reported the intact file {file}:\n{}",
        lines.join("\n")
    );
}

#[test]
fn flipped_byte_fails_get_and_fsck_names_the_file() {
    if common::skip_unless_embedded(
        "flipped_byte_fails_get_and_fsck_names_the_file",
        "it damages block files in DATA/blocks directly",
    ) {
        return;
    }
    let (_tempdir, data) = new_data_dir();
    let mut server = TestServer::start_in(&data, &[]);

    let small = random_bytes(100 * 1024, 1);
    // Two 10 MiB files (three blocks each): one damaged in its first block, one in its second.
    let big_head = random_bytes(10 * MIB, 2);
    let big_middle = random_bytes(10 * MIB, 3);
    let intact = random_bytes(5 * MIB, 4);
    upload(&server, "small.bin", &small);
    upload(&server, "big-head.bin", &big_head);
    upload(&server, "big-middle.bin", &big_middle);
    upload(&server, "intact.bin", &intact);
    server.kill();

    // The store holds each block as its raw bytes, named by their BLAKE3 hash.
    for (content, index) in [(&small, 0), (&big_head, 0), (&big_middle, 1), (&intact, 0), (&intact, 1)] {
        let path = block_path(&data, piece(content, index));
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("block file {}: {e}", path.display()));
        assert!(on_disk == piece(content, index), "block file {} does not hold the raw piece", path.display());
    }

    flip_byte(&block_path(&data, &small), 4321);
    flip_byte(&block_path(&data, piece(&big_head, 0)), 1_000_000);
    flip_byte(&block_path(&data, piece(&big_middle, 1)), 2_000_000);

    let (code, lines) = fsck(&data);
    assert_reported(&lines, "corrupt", "/admin/small.bin", &blake3_hex(&small));
    assert_reported(&lines, "corrupt", "/admin/big-head.bin", &blake3_hex(piece(&big_head, 0)));
    assert_reported(&lines, "corrupt", "/admin/big-middle.bin", &blake3_hex(piece(&big_middle, 1)));
    assert_not_named(&lines, "/admin/intact.bin");
    assert_eq!(code, 1, "fsck must exit 1 when it finds damage; output:\n{}", lines.join("\n"));

    let server = TestServer::start_in(&data, &[]);
    assert_get_fails(&server, "small.bin", &small, 0, false);
    assert_get_fails(&server, "big-head.bin", &big_head, 0, true);
    assert_get_fails(&server, "big-middle.bin", &big_middle, 1, true);
    // Still answering, and the intact file is untouched.
    let back = Client::new("admin", ADMIN_PASSWORD).get(&server.dav_url("admin", "intact.bin"));
    assert_eq!(back.status, 200);
    assert!(back.body == intact, "intact.bin changed");
}

#[test]
fn deleted_block_is_reported_missing_by_fsck() {
    if common::skip_unless_embedded(
        "deleted_block_is_reported_missing_by_fsck",
        "it damages block files in DATA/blocks directly",
    ) {
        return;
    }
    let (_tempdir, data) = new_data_dir();
    let mut server = TestServer::start_in(&data, &[]);

    let gone = random_bytes(6 * MIB, 11);
    let kept = random_bytes(3 * MIB, 12);
    upload(&server, "gone.bin", &gone);
    upload(&server, "kept.bin", &kept);
    server.kill();

    let victim = block_path(&data, piece(&gone, 1));
    std::fs::remove_file(&victim).unwrap_or_else(|e| panic!("remove block {}: {e}", victim.display()));

    let (code, lines) = fsck(&data);
    assert_reported(&lines, "missing", "/admin/gone.bin", &blake3_hex(piece(&gone, 1)));
    assert_not_named(&lines, "/admin/kept.bin");
    assert_eq!(code, 1, "fsck must exit 1 when a block is missing; output:\n{}", lines.join("\n"));

    let server = TestServer::start_in(&data, &[]);
    assert_get_fails(&server, "gone.bin", &gone, 1, true);
    let back = Client::new("admin", ADMIN_PASSWORD).get(&server.dav_url("admin", "kept.bin"));
    assert_eq!(back.status, 200);
    assert!(back.body == kept, "kept.bin changed");
}

#[test]
fn fsck_on_a_healthy_store_exits_zero() {
    if common::skip_unless_embedded(
        "fsck_on_a_healthy_store_exits_zero",
        "it damages block files in DATA/blocks directly",
    ) {
        return;
    }
    let (_tempdir, data) = new_data_dir();
    let mut server = TestServer::start_in(&data, &[]);
    upload(&server, "a.bin", &random_bytes(5 * MIB, 21));
    server.kill();
    let (code, lines) = fsck(&data);
    assert_eq!(code, 0, "fsck on an undamaged store; output:\n{}", lines.join("\n"));
    assert!(
        !lines.iter().any(|l| l.contains("corrupt") || l.contains("missing")),
        "fsck reported damage on an undamaged store:\n{}",
        lines.join("\n")
    );
}

/// Small files live inline in the metadata database: a flipped byte there must be caught the
/// same way (5xx, fsck names the file). The byte is flipped with Python's sqlite3 module,
/// which every machine of this project has.
#[test]
fn flipped_byte_in_an_inline_block_is_never_served() {
    if common::skip_unless_embedded(
        "flipped_byte_in_an_inline_block_is_never_served",
        "it edits the SQLite database file directly",
    ) {
        return;
    }
    let (_keep, data) = new_data_dir();
    let small = random_bytes(1000, 77);
    let intact = random_bytes(2000, 78);
    {
        let mut server = TestServer::start_in(&data, &[]);
        upload(&server, "tiny.bin", &small);
        upload(&server, "tiny-intact.bin", &intact);
        server.kill();
    }
    let hash = blake3_hex(&small);
    let script = format!(
        "import sqlite3\n\
         db = sqlite3.connect({db:?})\n\
         (data,) = db.execute('SELECT data FROM inline_blocks WHERE hash = ?', ({hash:?},)).fetchone()\n\
         data = bytes([data[0] ^ 1]) + data[1:]\n\
         db.execute('UPDATE inline_blocks SET data = ? WHERE hash = ?', (data, {hash:?}))\n\
         db.commit()\n",
        db = data.join("hafen.db").display().to_string(),
    );
    let status = std::process::Command::new("python3").arg("-c").arg(&script).status().expect("python3");
    assert!(status.success(), "could not damage the inline block");
    let (code, lines) = fsck(&data);
    assert_eq!(code, 1, "fsck must report the damaged inline block:\n{}", lines.join("\n"));
    assert_reported(&lines, "corrupt", "/admin/tiny.bin", &hash);
    assert_not_named(&lines, "tiny-intact.bin");
    let server = TestServer::start_in(&data, &[]);
    assert_get_fails(&server, "tiny.bin", &small, 0, false);
    let client = Client::new("admin", ADMIN_PASSWORD);
    assert!(client.get(&server.dav_url("admin", "tiny-intact.bin")).body == intact);
}
