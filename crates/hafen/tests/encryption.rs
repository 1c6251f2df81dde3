//! Encryption at rest through the real binary: with a master key file, no block file and no
//! byte of the SQLite database holds file content in the clear, files come back byte for
//! byte, identical content is stored once, backups stay encrypted, a key file that is
//! readable by others or lies in the data directory is refused, and `hafen encryption
//! rotate` moves every block (and blocks from before encryption was switched on) to a new
//! key while the server serves, after which the old key is no longer needed.
//!
//! The first two read the block files and the SQLite file directly (embedded stores); the
//! third runs on PostgreSQL and S3 (moto) in every pass and reads the bucket's objects and
//! the `inline_blocks` table.

mod common;

use common::{
    blake3_hex, psql_query, restore_backup, run_cli, run_cli_with, shared_moto, skip_unless_embedded, test_tmp_root,
    Client, ExternalStores, TestServer,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Content nobody may find at rest: a marker that is easy to search for, varied around it so
/// that blocks differ.
fn secret_content(marker: &str, len: usize, seed: u8) -> Vec<u8> {
    let mut data = Vec::with_capacity(len);
    let mut n: u32 = seed as u32;
    while data.len() < len {
        data.extend_from_slice(marker.as_bytes());
        n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        data.extend_from_slice(&n.to_le_bytes());
    }
    data.truncate(len);
    data
}

/// Every block file below `root/blocks` with its bytes.
fn block_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![root.join("blocks")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("read {}: {error}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read block");
                found.push((path, bytes));
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// No block file and no part of the SQLite database (main file and WAL) holds `marker`.
fn assert_nothing_in_the_clear(data: &Path, marker: &str) {
    for (path, bytes) in block_files(data) {
        assert!(!contains(&bytes, marker), "{} holds content in the clear", path.display());
    }
    for name in ["hafen.db", "hafen.db-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(name)) {
            assert!(!contains(&bytes, marker), "{name} holds content in the clear");
        }
    }
}

/// The key id each block file is encrypted under (`None`: not in the encrypted format).
fn key_ids_at_rest(data: &Path) -> Vec<Option<String>> {
    block_files(data)
        .into_iter()
        .map(|(_, bytes)| bytes.starts_with(b"HFE1").then(|| bytes[4..12].iter().map(|b| format!("{b:02x}")).collect()))
        .collect()
}

fn generate_key(key: &Path, extra: &[&str]) -> String {
    let mut args = vec!["encryption", "generate-key", "--to"];
    let shown = key.to_string_lossy().to_string();
    args.push(&shown);
    args.extend_from_slice(extra);
    let (code, out, err) = run_cli(&test_tmp_root().join("no-data"), &args, None);
    assert_eq!(code, 0, "generate-key: {out} {err}");
    // "wrote new key <id> to …"
    out.split_whitespace().nth(3).expect("key id").to_string()
}

#[test]
fn content_is_encrypted_at_rest_deduplicated_backed_up_and_rotated() {
    if skip_unless_embedded("content_is_encrypted_at_rest", "reads block files and the SQLite file") {
        return;
    }
    let dir = tempfile::Builder::new().prefix("encryption-").tempdir_in(test_tmp_root()).expect("tempdir");
    let data = dir.path().join("data");
    let key = dir.path().join("schluessel").join("hafen.key");
    std::fs::create_dir_all(key.parent().expect("parent")).expect("key dir");
    let first_id = generate_key(&key, &[]);
    assert_eq!(std::fs::metadata(&key).expect("key").permissions().mode() & 0o777, 0o600);
    let (code, _, err) = run_cli(
        &test_tmp_root().join("no-data"),
        &["encryption", "generate-key", "--to", &key.to_string_lossy()],
        None,
    );
    assert_ne!(code, 0, "an existing key file is never overwritten: {err}");
    let key_arg = key.to_string_lossy().to_string();

    let server = TestServer::start_in(&data, &["--encryption-key-file", &key_arg]);
    let key_flag = ["--encryption-key-file".to_string(), key_arg.clone()];
    let (code, out, err) =
        run_cli_with(&data, &key_flag, &["user", "add", "alice", "--password-stdin"], Some("alice-password\n"));
    assert_eq!(code, 0, "{out} {err}");
    let alice = Client::new("alice", "alice-password");
    let large = secret_content("STRENG-VERTRAULICH-", 9 * 1024 * 1024 + 5, 1);
    let small = secret_content("STRENG-VERTRAULICH-", 2000, 2);
    assert_eq!(alice.put(&server.dav_url("alice", "gross.bin"), &large).status, 201);
    let blocks_of_one_large_file = block_files(&data).len();
    assert_eq!(alice.put(&server.dav_url("alice", "kopie.bin"), &large).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "klein.txt"), &small).status, 201);
    assert_eq!(block_files(&data).len(), blocks_of_one_large_file, "identical content is stored once");
    assert!(blocks_of_one_large_file >= 3, "a 9 MiB file spans several blocks");
    for (name, content) in [("gross.bin", &large), ("kopie.bin", &large), ("klein.txt", &small)] {
        let reply = alice.get(&server.dav_url("alice", name));
        assert_eq!(reply.status, 200);
        assert_eq!(blake3_hex(&reply.body), blake3_hex(content), "{name} byte for byte");
    }
    let range = alice.send("GET", &server.dav_url("alice", "gross.bin"), &[("Range", "bytes=4194300-4194310")], b"");
    assert_eq!((range.status, range.body.as_slice()), (206, &large[4_194_300..4_194_311]));
    assert_nothing_in_the_clear(&data, "STRENG-VERTRAULICH-");
    assert!(key_ids_at_rest(&data).iter().all(|id| id.as_deref() == Some(first_id.as_str())));
    let (code, out, err) = run_cli_with(&data, &key_flag, &["fsck", "--grace-seconds", "3600"], None);
    assert_eq!(code, 0, "fsck with the key: {out} {err}");

    // Key files that protect nothing are refused: readable by others, inside the data directory.
    let loose = dir.path().join("offen.key");
    std::fs::copy(&key, &loose).expect("copy key");
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, _, err) =
        run_cli_with(&data, &["--encryption-key-file".into(), loose.to_string_lossy().into()], &["fsck"], None);
    assert_ne!(code, 0);
    let key_line = std::fs::read_to_string(&key).expect("key").lines().last().expect("key line").to_string();
    assert!(err.contains("readable by others") && !err.contains(&key_line), "{err}");
    let inside = data.join("hafen.key");
    std::fs::copy(&key, &inside).expect("copy key");
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (code, _, err) =
        run_cli_with(&data, &["--encryption-key-file".into(), inside.to_string_lossy().into()], &["fsck"], None);
    assert_ne!(code, 0);
    assert!(err.contains("beside the data it protects"), "{err}");
    std::fs::remove_file(&inside).expect("remove");

    // A backup is as encrypted as the instance, and restores with the key.
    let backup = dir.path().join("sicherung");
    let (code, out, err) = run_cli_with(&data, &key_flag, &["backup", "--to", &backup.to_string_lossy()], None);
    assert_eq!(code, 0, "backup: {out} {err}");
    assert_nothing_in_the_clear(&backup, "STRENG-VERTRAULICH-");
    let restored = dir.path().join("wiederhergestellt");
    let (code, out, err) = restore_backup(&backup, &restored, &key_flag);
    assert_eq!(code, 0, "restore: {out} {err}");
    {
        let copy = TestServer::start_in(&restored, &["--encryption-key-file", &key_arg]);
        let reply = alice.get(&copy.dav_url("alice", "gross.bin"));
        assert_eq!(blake3_hex(&reply.body), blake3_hex(&large), "restored byte for byte");
        // Without the key the copy serves no content.
        drop(copy);
        let blind = TestServer::start_in(&restored, &[]);
        assert!(alice.get(&blind.dav_url("alice", "gross.bin")).status >= 500, "no content without the key");
    }

    // Rotation: a new key first in the file, the old one kept to decrypt; restart; rotate online.
    drop(server);
    let second_id = generate_key(&key, &["--keep-previous"]);
    assert_ne!(first_id, second_id);
    let server = TestServer::start_in(&data, &["--encryption-key-file", &key_arg]);
    assert_eq!(blake3_hex(&alice.get(&server.dav_url("alice", "gross.bin")).body), blake3_hex(&large));
    let newer = secret_content("STRENG-VERTRAULICH-", 100_000, 3);
    assert_eq!(alice.put(&server.dav_url("alice", "neu.bin"), &newer).status, 201);
    let (code, out, err) = run_cli_with(&data, &key_flag, &["encryption", "rotate"], None);
    assert_eq!(code, 0, "rotate: {out} {err}");
    assert!(
        out.contains(&format!("re-encrypted {blocks_of_one_large_file} of {} blocks", blocks_of_one_large_file + 1)),
        "the old blocks were re-encrypted, the new one left alone: {out}"
    );
    assert!(out.contains("and 1 of 1 small blocks"), "the small file in the database too: {out}");
    assert!(key_ids_at_rest(&data).iter().all(|id| id.as_deref() == Some(second_id.as_str())));
    let (code, out, _) = run_cli_with(&data, &key_flag, &["encryption", "rotate"], None);
    assert!(code == 0 && out.contains("re-encrypted 0 of") && out.contains("and 0 of 1 small"), "idempotent: {out}");

    // The old key can go: only the new one left in the file, everything still reads.
    drop(server);
    let text = std::fs::read_to_string(&key).expect("key file");
    let keys: Vec<&str> = text.lines().filter(|line| line.len() == 64 && !line.starts_with('#')).collect();
    assert_eq!(keys.len(), 2);
    std::fs::write(&key, format!("{}\n", keys[0])).expect("write key");
    let server = TestServer::start_in(&data, &["--encryption-key-file", &key_arg]);
    for (name, content) in [("gross.bin", &large), ("kopie.bin", &large), ("klein.txt", &small), ("neu.bin", &newer)] {
        let reply = alice.get(&server.dav_url("alice", name));
        assert_eq!(blake3_hex(&reply.body), blake3_hex(content), "{name} under the new key alone");
    }
    assert_nothing_in_the_clear(&data, "STRENG-VERTRAULICH-");
}

#[test]
fn switching_encryption_on_later_encrypts_existing_content_by_rotation() {
    if skip_unless_embedded("switching_encryption_on_later", "reads block files and the SQLite file") {
        return;
    }
    let dir = tempfile::Builder::new().prefix("encryption-later-").tempdir_in(test_tmp_root()).expect("tempdir");
    let data = dir.path().join("data");
    let plain = TestServer::start_in(&data, &[]);
    plain.add_user("bob", "bob-password", &[]);
    let bob = Client::new("bob", "bob-password");
    let large = secret_content("AMTSGEHEIMNIS-", 5 * 1024 * 1024, 7);
    let small = secret_content("AMTSGEHEIMNIS-", 900, 8);
    assert_eq!(bob.put(&plain.dav_url("bob", "alt.bin"), &large).status, 201);
    assert_eq!(bob.put(&plain.dav_url("bob", "alt.txt"), &small).status, 201);
    drop(plain);
    assert!(key_ids_at_rest(&data).iter().all(Option::is_none), "plaintext before");

    // The key in the environment this time (HAFEN_ENCRYPTION_KEY), not in a file.
    let key_text = {
        let key = dir.path().join("k");
        generate_key(&key, &[]);
        let text = std::fs::read_to_string(&key).expect("key");
        text.lines().find(|line| line.len() == 64).expect("key line").to_string()
    };
    let server = TestServer::start_in_with_env(&data, &[], &[("HAFEN_ENCRYPTION_KEY", &key_text)]);
    let reply = bob.get(&server.dav_url("bob", "alt.bin"));
    assert_eq!(blake3_hex(&reply.body), blake3_hex(&large), "plaintext blocks still read, verified by their hash");
    let output = std::process::Command::new(common::hafen_bin())
        .arg("--data")
        .arg(&data)
        .args(["encryption", "rotate"])
        .env("HAFEN_ENCRYPTION_KEY", &key_text)
        .env_remove("HAFEN_ENCRYPTION_KEY_FILE")
        .output()
        .expect("rotate");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "rotate: {out} {}", String::from_utf8_lossy(&output.stderr));
    assert!(out.contains("and 1 of 1 small blocks"), "{out}");
    assert!(key_ids_at_rest(&data).iter().all(Option::is_some), "every block encrypted after the rotation");
    // The WAL may still hold the old page of the small block until a checkpoint: look after
    // a clean restart (which checkpoints).
    drop(server);
    let server = TestServer::start_in_with_env(&data, &[], &[("HAFEN_ENCRYPTION_KEY", &key_text)]);
    for (name, content) in [("alt.bin", &large), ("alt.txt", &small)] {
        assert_eq!(blake3_hex(&bob.get(&server.dav_url("bob", name)).body), blake3_hex(content), "{name}");
    }
    drop(server);
    for (path, bytes) in block_files(&data) {
        assert!(!contains(&bytes, "AMTSGEHEIMNIS-"), "{} in the clear", path.display());
    }
}

#[test]
fn on_postgres_and_s3_neither_objects_nor_inline_rows_hold_content() {
    let dir = tempfile::Builder::new().prefix("encryption-pg-s3-").tempdir_in(test_tmp_root()).expect("tempdir");
    let key = dir.path().join("hafen.key");
    generate_key(&key, &[]);
    let key_arg = key.to_string_lossy().to_string();
    let stores = std::sync::Arc::new(ExternalStores::create());
    let (database_url, bucket) = (stores.database_url.clone(), stores.bucket.clone());
    let data = dir.path().join("data");
    let server = TestServer::start_on(&data, stores, &["--encryption-key-file", &key_arg]);
    let mut global = server.store_args();
    global.extend(["--encryption-key-file".to_string(), key_arg.clone()]);
    let (code, out, err) =
        run_cli_with(&data, &global, &["user", "add", "carol", "--password-stdin"], Some("carol-password\n"));
    assert_eq!(code, 0, "{out} {err}");
    let carol = Client::new("carol", "carol-password");
    let large = secret_content("DIENSTGEHEIMNIS-", 5 * 1024 * 1024 + 3, 11);
    let small = secret_content("DIENSTGEHEIMNIS-", 1500, 12);
    assert_eq!(carol.put(&server.dav_url("carol", "gross.bin"), &large).status, 201);
    assert_eq!(carol.put(&server.dav_url("carol", "klein.txt"), &small).status, 201);
    for (name, content) in [("gross.bin", &large), ("klein.txt", &small)] {
        assert_eq!(blake3_hex(&carol.get(&server.dav_url("carol", name)).body), blake3_hex(content), "{name}");
    }
    let objects = shared_moto().objects(&bucket);
    assert_eq!(objects.len(), 2, "a 5 MiB file is two blocks: {:?}", objects.iter().map(|o| &o.0).collect::<Vec<_>>());
    for (name, bytes) in &objects {
        assert!(bytes.starts_with(b"HFE1") && !contains(bytes, "DIENSTGEHEIMNIS-"), "{name} in the clear");
    }
    let inline = psql_query(
        &database_url,
        "SELECT count(*), count(*) FILTER (WHERE substring(data FROM 1 FOR 4) = 'HFE1'::bytea), \
         count(*) FILTER (WHERE position('DIENSTGEHEIMNIS-'::bytea IN data) > 0) FROM inline_blocks",
    );
    assert_eq!(inline.trim(), "1|1|0", "the small file's inline row is sealed");
    let (code, out, err) = run_cli_with(&data, &global, &["fsck", "--grace-seconds", "3600"], None);
    assert_eq!(code, 0, "fsck with the key: {out} {err}");
}
