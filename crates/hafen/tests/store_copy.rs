//! `hafen store copy-blobs` and `--blob-url`: an instance filled on local disk has its blocks
//! copied to S3 (moto on loopback), is served from S3 with the same metadata, and is copied
//! back to a fresh directory and served from there; every file reads back identical. Also:
//! copying again skips everything, a block corrupted in S3 is reported and not copied, and an
//! unknown blob url scheme is refused with the valid forms.

mod common;
#[path = "../../hafen-blob/tests/support/moto.rs"]
mod moto;

use common::{run_cli, test_tmp_root, Client, TestServer, ADMIN_PASSWORD};
use moto::Moto;

/// Deterministic pseudo-random content (incompressible enough, not inline: > 32 KiB).
fn content(seed: u32, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("small.txt".to_string(), b"inline content".to_vec()),
        ("one-block.bin".to_string(), content(1, 100_000)),
        ("docs/three-blocks.bin".to_string(), content(2, 9 * 1024 * 1024 + 17)),
        ("docs/copy.bin".to_string(), content(1, 100_000)),
    ]
}

fn check_files(server: &TestServer) {
    let client = Client::new("admin", ADMIN_PASSWORD);
    for (path, data) in files() {
        let reply = client.get(&server.dav_url("admin", &path));
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.body == data, "{path}: content differs");
    }
}

#[test]
fn blocks_move_from_disk_to_s3_and_back() {
    if common::skip_unless_embedded(
        "blocks_move_from_disk_to_s3_and_back",
        "it starts from the embedded stores by design (and already covers S3); nothing to repeat",
    ) {
        return;
    }
    let moto = Moto::start();
    moto.create_bucket("hafen");
    let root = tempfile::Builder::new().prefix("hafen-copy-").tempdir_in(test_tmp_root()).expect("tempdir");
    let data = root.path().join("data");
    let s3_url = format!("s3://hafen/instance?endpoint={}&region=us-east-1", moto.endpoint);

    // 1. Fill an instance on SQLite + local disk.
    {
        let server = TestServer::start_in(&data, &[]);
        let client = Client::new("admin", ADMIN_PASSWORD);
        assert_eq!(client.mkcol(&server.dav_url("admin", "docs")).status, 201);
        for (path, body) in files() {
            assert_eq!(client.put(&server.dav_url("admin", &path), &body).status, 201, "{path}");
        }
        check_files(&server);
    }

    // 2. Copy the blocks to S3 and serve the same metadata with blocks from S3.
    let disk_url = format!("file://{}", data.display());
    let (code, out, err) = run_cli(&data, &["store", "copy-blobs", "--from", &disk_url, "--to", &s3_url], None);
    assert_eq!(code, 0, "{out} {err}");
    // 1 single-block file (deduplicated with its copy) + 3 blocks; the small file is inline.
    assert!(out.contains("copied 4 blocks"), "{out}");
    assert!(err.contains("copy-blobs: 4/4 blocks"), "progress line: {err}");
    let (code, out, err) = run_cli(&data, &["store", "copy-blobs", "--from", &disk_url, "--to", &s3_url], None);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("copied 0 blocks") && out.contains("4 already present"), "{out}");
    let moved = root.path().join("moved-away");
    std::fs::rename(data.join("blocks"), &moved).expect("move the disk blocks away");
    {
        let server = TestServer::start_in(&data, &["--blob-url", &s3_url]);
        check_files(&server);
        // New uploads go to S3 too.
        let client = Client::new("admin", ADMIN_PASSWORD);
        assert_eq!(client.put(&server.dav_url("admin", "new.bin"), &content(9, 50_000)).status, 201);
        assert_eq!(client.get(&server.dav_url("admin", "new.bin")).body, content(9, 50_000));
        // fsck against S3 finds everything intact.
        let (code, out, err) = run_cli(&data, &["--blob-url", &s3_url, "fsck"], None);
        assert_eq!(code, 0, "{out} {err}");
        assert!(out.contains("0 damaged files"), "{out}");
    }

    // 3. Copy back from S3 to a fresh directory and serve from there.
    let back = root.path().join("back");
    let back_url = format!("file://{}", back.display());
    let (code, out, err) = run_cli(&data, &["store", "copy-blobs", "--from", &s3_url, "--to", &back_url], None);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("copied 5 blocks"), "{out}");
    {
        let server = TestServer::start_in(&data, &["--blob-url", &back_url]);
        check_files(&server);
        let client = Client::new("admin", ADMIN_PASSWORD);
        assert_eq!(client.get(&server.dav_url("admin", "new.bin")).body, content(9, 50_000));
    }

    // 4. A block corrupted in S3 is reported (exit 1) and never copied.
    let listing = moto.get_object("hafen", "?list-type=2&prefix=instance/blocks/").expect("list");
    let listing = String::from_utf8_lossy(&listing).into_owned();
    let key = listing.split("<Key>").nth(1).and_then(|rest| rest.split("</Key>").next()).expect("a key").to_string();
    moto.put_object("hafen", &key, b"rotten");
    let fresh = root.path().join("fresh");
    let fresh_url = format!("file://{}", fresh.display());
    let (code, out, err) = run_cli(&data, &["store", "copy-blobs", "--from", &s3_url, "--to", &fresh_url], None);
    assert_eq!(code, 1, "{out} {err}");
    assert!(out.contains("corrupt") && out.contains("1 damaged") && out.contains("copied 4 blocks"), "{out}");

    // 5. Bad urls are refused clearly.
    let (code, _, err) = run_cli(&data, &["store", "copy-blobs", "--from", "gs://x", "--to", &fresh_url], None);
    assert_ne!(code, 0);
    assert!(err.contains("file://") && err.contains("s3://"), "{err}");
    let (code, _, err) = run_cli(
        &data,
        &["store", "copy-blobs", "--from", &disk_url, "--to", "s3://b?endpoint=http://127.0.0.1:1"],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("cannot reach the target blob store") && err.contains("127.0.0.1:1"), "{err}");
}
