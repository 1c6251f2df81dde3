//! `hafen backup` while the server serves and writes go on, then `hafen restore` into new
//! stores: every file acknowledged before the backup started comes back byte for byte, with
//! its older versions, shares and accounts; the restored instance passes fsck; a backup with a
//! block missing is refused.

mod common;

use common::{blake3_hex, file_id, restore_backup, run_cli, test_tmp_root, Client, TestServer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn online_backup_restores_a_consistent_instance() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akten")).status, 201);
    let mut expected = Vec::new();
    for i in 0..20u8 {
        let data: Vec<u8> = (0..(60_000 + i as usize * 1000)).map(|n| (n as u8).wrapping_mul(i + 1)).collect();
        let name = format!("Akten/datei-{i}.bin");
        assert_eq!(alice.put(&server.dav_url("alice", &name), &data).status, 201);
        expected.push((name, blake3_hex(&data)));
    }
    // An older version to come back too.
    assert_eq!(alice.put(&server.dav_url("alice", "Akten/datei-0.bin"), b"neu").status, 204);
    expected[0].1 = blake3_hex(b"neu");

    // Writes go on during the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, url) = (stop.clone(), server.dav_url("alice", ""));
        std::thread::spawn(move || {
            let client = Client::new("alice", "alice-password");
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                assert!(client.put(&format!("{url}waehrend-{n}.bin"), &vec![n as u8; 50_000]).status < 300);
                n += 1;
            }
        })
    };
    let dir = tempfile::Builder::new().prefix("backup-").tempdir_in(test_tmp_root()).expect("tempdir");
    let backup = dir.path().join("sicherung");
    let (code, out, err) = server.cli(&["backup", "--to", &backup.to_string_lossy()], None);
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer");
    assert_eq!(code, 0, "backup: {out} {err}");
    assert!(backup.join("MANIFEST.tsv").exists());
    let (again, _, err) = server.cli(&["backup", "--to", &backup.to_string_lossy()], None);
    assert_ne!(again, 0, "a backup never writes into a non-empty directory: {err}");

    // Restore into a fresh data directory and serve from it.
    let restored = dir.path().join("wiederhergestellt");
    let (code, out, err) = restore_backup(&backup, &restored, &[]);
    assert_eq!(code, 0, "restore: {out} {err}");
    let copy = TestServer::start_in(&restored, &[]);
    let alice_again = Client::new("alice", "alice-password");
    for (name, hash) in &expected {
        let reply = alice_again.get(&copy.dav_url("alice", name));
        assert_eq!(reply.status, 200, "{name} restored");
        assert_eq!(&blake3_hex(&reply.body), hash, "{name} byte for byte");
    }
    let id = file_id(&alice_again, &copy.dav_url("alice", "Akten/datei-0.bin"));
    let versions = alice_again.propfind(&format!("{}/remote.php/dav/versions/alice/versions/{id}", copy.base), "1", "");
    assert_eq!(versions.text().matches("<d:response>").count(), 2, "the older version came along");
    drop(copy);
    let (code, out, err) = run_cli(&restored, &["fsck", "--grace-seconds", "0"], None);
    assert_eq!(code, 0, "fsck of the restored instance: {out} {err}");

    // A damaged backup (a block gone) is refused before anything is written.
    let manifest = std::fs::read_to_string(backup.join("MANIFEST.tsv")).expect("manifest");
    let hash =
        manifest.lines().find(|line| !line.starts_with('#')).and_then(|line| line.split('\t').next()).expect("a block");
    let block = backup.join("blocks").join(&hash[..2]).join(&hash[2..4]).join(hash);
    std::fs::remove_file(&block).unwrap_or_else(|error| panic!("remove {}: {error}", block.display()));
    let target = dir.path().join("nochmal");
    let (code, _, err) = restore_backup(&backup, &target, &[]);
    assert_ne!(code, 0, "a backup with a missing block is refused");
    assert!(err.contains("lacks 1 blocks"), "{err}");
}
