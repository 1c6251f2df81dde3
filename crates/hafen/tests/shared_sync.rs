//! The Nextcloud desktop client's `nextcloudcmd` (Debian 3.7.3) syncing an account that
//! holds received shares with restricted permissions (issue 6, acceptance 3): a read-only
//! folder and a folder with upload/change/delete but no reshare. Local changes the share does
//! not allow are either not sent or answered 403 and reverted; the owner's data never
//! changes; allowed changes arrive in the owner's tree.

mod common;

use common::{test_tmp_root, Client, TestServer};
use serde_json::json;
use std::fs;
use std::path::Path;
use std::process::Command;

fn sync(server: &TestServer, local: &Path, user: &str, password: &str) -> String {
    let output = Command::new("nextcloudcmd")
        .args(["--non-interactive", "--max-sync-retries", "2", "-u", user, "-p", password])
        .arg(local)
        .arg(&server.base)
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .expect("nextcloudcmd is installed by scripts/test");
    // A sync that met refused operations may exit non-zero; the assertions below judge it.
    format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn nextcloudcmd_respects_restricted_received_shares() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    server.add_user("bob", "bob-password", &[]);
    let alice = Client::new("alice", "alice-password");
    for folder in ["Bericht", "Ablage"] {
        assert_eq!(alice.mkcol(&server.dav_url("alice", folder)).status, 201);
    }
    assert_eq!(alice.put(&server.dav_url("alice", "Bericht/teil1.txt"), b"Teil 1 original").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Bericht/teil2.txt"), b"Teil 2 original").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Ablage/vorlage.txt"), b"Vorlage").status, 201);
    for (path, permissions) in [("/Bericht", 1), ("/Ablage", 15)] {
        let reply = alice.send(
            "POST",
            &format!("{}/api/v1/shares", server.base),
            &[("Content-Type", "application/json")],
            json!({"path": path, "type": "user", "with": "bob", "permissions": permissions}).to_string().as_bytes(),
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    let dir = tempfile::Builder::new().prefix("shared-sync-").tempdir_in(test_tmp_root()).expect("tempdir");
    let local = dir.path().join("bob");
    fs::create_dir_all(&local).expect("mkdir");
    let log = sync(&server, &local, "bob", "bob-password");
    assert_eq!(fs::read(local.join("Bericht/teil1.txt")).ok().as_deref(), Some(&b"Teil 1 original"[..]), "{log}");
    assert_eq!(fs::read(local.join("Ablage/vorlage.txt")).ok().as_deref(), Some(&b"Vorlage"[..]), "{log}");

    // Forbidden local changes in the read-only share, allowed ones in the other.
    fs::write(local.join("Bericht/teil1.txt"), b"Teil 1 von bob geaendert").expect("write");
    fs::remove_file(local.join("Bericht/teil2.txt")).expect("remove");
    fs::write(local.join("Bericht/neu.txt"), b"neu von bob").expect("write");
    fs::write(local.join("Ablage/antwort.txt"), b"Antwort von bob").expect("write");
    fs::write(local.join("Ablage/vorlage.txt"), b"Vorlage, ergaenzt").expect("write");
    let first = sync(&server, &local, "bob", "bob-password");
    let second = sync(&server, &local, "bob", "bob-password");

    // The owner's read-only folder is untouched.
    assert_eq!(alice.get(&server.dav_url("alice", "Bericht/teil1.txt")).body, b"Teil 1 original", "{first}\n{second}");
    assert_eq!(alice.get(&server.dav_url("alice", "Bericht/teil2.txt")).body, b"Teil 2 original");
    assert_eq!(alice.get(&server.dav_url("alice", "Bericht/neu.txt")).status, 404, "no upload into a read-only share");
    let listing = alice.propfind(&server.dav_url("alice", "Bericht"), "1", "");
    assert_eq!(listing.text().matches("<d:response>").count(), 3, "nothing else arrived: {}", listing.text());
    // Allowed changes arrived in the owner's tree.
    assert_eq!(alice.get(&server.dav_url("alice", "Ablage/antwort.txt")).body, b"Antwort von bob");
    assert_eq!(alice.get(&server.dav_url("alice", "Ablage/vorlage.txt")).body, b"Vorlage, ergaenzt");
    // The client restores what it may not change: the deleted file comes back, and the
    // edited one is the server's again (3.7.3 keeps the local edit as a conflict copy at most).
    assert_eq!(fs::read(local.join("Bericht/teil2.txt")).ok().as_deref(), Some(&b"Teil 2 original"[..]), "{second}");
    assert_eq!(fs::read(local.join("Bericht/teil1.txt")).ok().as_deref(), Some(&b"Teil 1 original"[..]), "{second}");
}
