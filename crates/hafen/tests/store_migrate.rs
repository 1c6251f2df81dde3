//! Moving a whole instance between backends with `hafen store copy`, and `hafen migrate`.
//!
//! An instance is filled through the real server on SQLite + local disk (two accounts, nested
//! folders, files from empty to three blocks, an inline one, a deduplicated copy, a dead
//! property, an app password), stopped, copied to PostgreSQL (fresh database) + S3 (moto) and
//! served from there: every file reads back with the same BLAKE3, file id (OC-FileId) and ETag,
//! the dead property and the app password still work. The copy is then copied back to a new
//! SQLite database + directory and checked the same way. A copy into a store that already holds
//! an instance is refused. `hafen migrate` reports the schema version on both backends.

mod common;

use common::{blake3_hex, run_cli_with, test_tmp_root, Client, ExternalStores, TestServer, ADMIN_PASSWORD};
use std::path::Path;

/// Deterministic pseudo-random content (xorshift; incompressible).
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

/// (account, path in its tree, content).
fn files() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("admin", "small.txt", b"inline content, stored in the database".to_vec()),
        ("admin", "one.bin", content(1, 100_000)),
        ("admin", "docs/big.bin", content(2, 9 * 1024 * 1024 + 17)),
        ("admin", "docs/deep/dup.bin", content(1, 100_000)),
        ("admin", "docs/deep/empty", Vec::new()),
        ("admin", "docs/Gr%C3%BC%C3%9Fe.txt", "Grüße aus dem Hafen".as_bytes().to_vec()),
        ("berta", "berta.bin", content(3, 4 * 1024 * 1024 + 1)),
    ]
}

const BERTA_PASSWORD: &str = "berta-test-password";

fn password_of(account: &str) -> &'static str {
    if account == "admin" {
        ADMIN_PASSWORD
    } else {
        BERTA_PASSWORD
    }
}

const PROPPATCH: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propertyupdate xmlns:d="DAV:" xmlns:x="urn:hafen-test"><d:set><d:prop><x:colour>sea green</x:colour></d:prop></d:set></d:propertyupdate>"#;
const PROPFIND_COLOUR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:x="urn:hafen-test"><d:prop><x:colour/></d:prop></d:propfind>"#;

/// What a client can observe of each file: (account, path, BLAKE3, OC-FileId, ETag).
type Observed = Vec<(String, String, String, String, String)>;

fn observe(server: &TestServer) -> Observed {
    files()
        .into_iter()
        .map(|(account, path, data)| {
            let reply = Client::new(account, password_of(account)).get(&server.dav_url(account, path));
            assert_eq!(reply.status, 200, "{account}/{path}");
            assert_eq!(blake3_hex(&reply.body), blake3_hex(&data), "{account}/{path}: content differs");
            let file_id = reply.header("oc-fileid").expect("OC-FileId").to_string();
            let etag = reply.header("etag").expect("ETag").to_string();
            (account.to_string(), path.to_string(), blake3_hex(&reply.body), file_id, etag)
        })
        .collect()
}

/// Content, ids and ETags as before; the dead property and the app password work.
fn check_instance(server: &TestServer, before: &Observed, app_password: &str) {
    assert_eq!(&observe(server), before, "files, file ids or ETags changed");
    let admin = Client::new("admin", ADMIN_PASSWORD);
    let reply = admin.propfind(&server.dav_url("admin", "docs/big.bin"), "0", PROPFIND_COLOUR);
    assert_eq!(reply.status, 207);
    assert!(reply.text().contains("sea green"), "dead property lost: {}", reply.text());
    let with_token = Client::new("admin", app_password).get(&server.dav_url("admin", "small.txt"));
    assert_eq!(with_token.status, 200, "the app password no longer works");
    assert_eq!(Client::new("admin", "wrong").get(&server.dav_url("admin", "small.txt")).status, 401);
    // The copy takes new uploads, with fresh file ids.
    let url = server.dav_url("berta", "after-copy.bin");
    let berta = Client::new("berta", BERTA_PASSWORD);
    assert!(matches!(berta.put(&url, &content(9, 70_000)).status, 201 | 204));
    let reply = berta.get(&url);
    assert_eq!(reply.body, content(9, 70_000));
    let new_id = reply.header("oc-fileid").expect("OC-FileId").to_string();
    assert!(before.iter().all(|(_, _, _, id, _)| id != &new_id), "file id {new_id} reused");
    assert_eq!(berta.delete(&url).status, 204);
}

fn sqlite_url(data: &Path) -> String {
    format!("sqlite://{}", data.join("hafen.db").display())
}

#[test]
fn instance_moves_to_postgres_and_s3_and_back() {
    if common::skip_unless_embedded(
        "instance_moves_to_postgres_and_s3_and_back",
        "it starts from the embedded stores by design and covers PostgreSQL and S3 itself",
    ) {
        return;
    }
    let root = tempfile::Builder::new().prefix("hafen-migrate-").tempdir_in(test_tmp_root()).expect("tempdir");
    let data = root.path().join("data");

    // 1. Fill an instance on SQLite + local disk through the server.
    let app_password;
    let before = {
        let server = TestServer::start_in(&data, &[]);
        server.add_user("berta", BERTA_PASSWORD, &[]);
        let admin = Client::new("admin", ADMIN_PASSWORD);
        assert_eq!(admin.mkcol(&server.dav_url("admin", "docs")).status, 201);
        assert_eq!(admin.mkcol(&server.dav_url("admin", "docs/deep")).status, 201);
        assert_eq!(admin.mkcol(&server.dav_url("admin", "docs/empty-folder")).status, 201);
        for (account, path, body) in files() {
            let client = Client::new(account, password_of(account));
            assert_eq!(client.put(&server.dav_url(account, path), &body).status, 201, "{account}/{path}");
        }
        // A file that is gone: its id must not come back in the copy.
        assert_eq!(admin.put(&server.dav_url("admin", "deleted.bin"), &content(7, 50_000)).status, 201);
        assert_eq!(admin.delete(&server.dav_url("admin", "deleted.bin")).status, 204);
        let reply = admin.send(
            "PROPPATCH",
            &server.dav_url("admin", "docs/big.bin"),
            &[("Content-Type", "application/xml")],
            PROPPATCH.as_bytes(),
        );
        assert_eq!(reply.status, 207, "{}", reply.text());
        let (code, out, err) = server.cli(&["user", "app-password", "admin", "--label", "sync"], None);
        assert_eq!(code, 0, "{out} {err}");
        app_password = out.trim().to_string();
        let before = observe(&server);
        check_instance(&server, &before, &app_password);
        before
    };

    // 2. Copy to PostgreSQL + S3 (the source stores come from --data) and serve the copy.
    let external = ExternalStores::create();
    let copy_args = ["store", "copy", "--to-database", &external.database_url, "--to-blobs", &external.blob_url];
    let (code, out, err) = run_cli_with(&data, &[], &copy_args, None);
    assert_eq!(code, 0, "{out} {err}");
    // one.bin (= dup.bin) 1 block, big.bin 3, berta.bin 2, and in the trash bins deleted.bin
    // and the probe file of `check_instance` 1 each; small files are inline. The accounts are
    // admin, berta and their two trash bins.
    assert!(out.contains("copied 8 blocks") && out.contains("0 damaged"), "{out}");
    assert!(out.contains("4 accounts"), "{out}");
    assert!(err.contains("store copy: 8/8 blocks"), "progress line: {err}");
    // A second copy into the now filled target is refused, the target unchanged.
    let (code, out, err) = run_cli_with(&data, &[], &copy_args, None);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("not empty"), "{err}");
    {
        let scratch = root.path().join("node-pg");
        let server = TestServer::start_in(
            &scratch,
            &["--database-url", &external.database_url, "--blob-url", &external.blob_url],
        );
        check_instance(&server, &before, &app_password);
        assert!(!scratch.join("blocks").read_dir().is_ok_and(|mut entries| entries.next().is_some()));
    }

    // 3. Copy back to a new SQLite database and directory, and serve that.
    let back = root.path().join("back");
    let (code, out, err) = run_cli_with(
        &back,
        &[],
        &[
            "store",
            "copy",
            "--from-database",
            &external.database_url,
            "--from-blobs",
            &external.blob_url,
            "--to-database",
            &sqlite_url(&back),
            "--to-blobs",
            &format!("file://{}", back.display()),
        ],
        None,
    );
    assert_eq!(code, 0, "{out} {err}");
    // The same 8 (the second probe file in berta's trash has the first one's content).
    assert!(out.contains("copied 8 blocks"), "{out}");
    {
        let server = TestServer::start_in(&back, &[]);
        check_instance(&server, &before, &app_password);
    }
    let (code, out, err) = run_cli_with(&back, &[], &["fsck"], None);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("0 damaged files"), "{out}");
}

#[test]
fn migrate_reports_the_schema_version() {
    if common::skip_unless_embedded(
        "migrate_reports_the_schema_version",
        "it names both metadata backends itself; nothing to repeat",
    ) {
        return;
    }
    let root = tempfile::Builder::new().prefix("hafen-migrate-cmd-").tempdir_in(test_tmp_root()).expect("tempdir");
    let data = root.path().join("data");
    // SQLite in the data directory: created and migrated, then up to date.
    let (code, out, err) = run_cli_with(&data, &[], &["migrate"], None);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.starts_with("schema version 0 -> ") && out.contains("applied"), "{out}");
    let latest = out.trim().split(" -> ").nth(1).and_then(|rest| rest.split(':').next()).expect("version").to_string();
    assert!(latest.parse::<i64>().expect("a number") >= 4, "{out}");
    let (code, out, err) = run_cli_with(&data, &[], &["migrate"], None);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(out.trim(), format!("schema version {latest}: up to date"));
    // PostgreSQL named by --database-url.
    let external = ExternalStores::create();
    let args = ["--database-url".to_string(), external.database_url.clone()];
    let (code, out, err) = run_cli_with(&data, &args, &["migrate"], None);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(out.trim(), format!("schema version 0 -> {latest}: applied {latest} migrations"));
    let (code, out, err) = run_cli_with(&data, &args, &["migrate"], None);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(out.trim(), format!("schema version {latest}: up to date"));
    // An unknown scheme is refused with the supported ones.
    let (code, _, err) = run_cli_with(&data, &["--database-url".into(), "mysql://x/y".into()], &["migrate"], None);
    assert_ne!(code, 0);
    assert!(err.contains("sqlite://") && err.contains("postgres://"), "{err}");
}
