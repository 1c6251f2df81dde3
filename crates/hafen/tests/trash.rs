//! The trash bin against the real binary: deleting over WebDAV moves files and folders into
//! the owner's trash, listed by the Nextcloud endpoint (`/remote.php/dav/trashbin/{user}/trash/`)
//! and the JSON API (`/api/v1/trash`); a trashed file reads with its exact bytes; restoring
//! (MOVE to `…/restore/{name}` or `POST /api/v1/trash/{id}/restore`) brings the item back
//! byte-identical, under a free name when the original one is taken and at the top when its
//! folder is gone; the trash does not count toward the quota but restoring does; items can be
//! deleted for good and the trash emptied; a share recipient's deletion lands in the owner's
//! trash, which nobody else can read; and the maintenance expires items after the retention
//! time as judged by a controllable clock file.

mod common;

use common::{blake3_hex, test_tmp_root, Client, Reply, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const QUOTA_PROPS: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/><d:quota-available-bytes/></d:prop></d:propfind>"#;

/// What Nextcloud's clients ask the trash for.
const TRASH_PROPS: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:prop><nc:trashbin-filename/><nc:trashbin-original-location/><nc:trashbin-deletion-time/><d:getcontentlength/><d:resourcetype/><oc:fileid/></d:prop></d:propfind>"#;

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64
}

/// Percent-encodes one path segment (everything but RFC 3986's unreserved characters).
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Deterministic, poorly compressible content of `len` bytes.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn trash_url(server: &TestServer, user: &str) -> String {
    format!("{}/remote.php/dav/trashbin/{user}/trash/", server.base)
}

/// One item of the Nextcloud trash listing.
#[derive(Debug, Clone)]
struct Listed {
    href: String,
    filename: String,
    location: String,
    deletion_time: i64,
    is_dir: bool,
}

/// The items of a Depth-1 PROPFIND of `user`'s trash, as `client` sees them.
fn listed(server: &TestServer, client: &Client, user: &str) -> Vec<Listed> {
    let reply = client.propfind(&trash_url(server, user), "1", TRASH_PROPS);
    assert_eq!(reply.status, 207, "PROPFIND trash of {user}: {}", reply.text());
    let text = reply.text();
    let own = format!("/remote.php/dav/trashbin/{user}/trash/");
    text.split("<d:response>")
        .skip(1)
        .map(|response| {
            let between = |open: &str, close: &str| {
                response.split(open).nth(1).and_then(|rest| rest.split(close).next()).unwrap_or_default().to_string()
            };
            Listed {
                href: between("<d:href>", "</d:href>"),
                filename: between("<nc:trashbin-filename>", "</nc:trashbin-filename>"),
                location: between("<nc:trashbin-original-location>", "</nc:trashbin-original-location>"),
                deletion_time: between("<nc:trashbin-deletion-time>", "</nc:trashbin-deletion-time>")
                    .parse()
                    .unwrap_or(-1),
                is_dir: response.contains("<d:collection/>"),
            }
        })
        .filter(|item| item.href != own)
        .collect()
}

fn find<'a>(items: &'a [Listed], filename: &str) -> &'a Listed {
    items.iter().find(|item| item.filename == filename).unwrap_or_else(|| panic!("{filename} not in {items:?}"))
}

/// `GET /api/v1/trash` as `client`.
fn api_trash(server: &TestServer, client: &Client) -> Vec<Value> {
    let reply = client.get(&format!("{}/api/v1/trash", server.base));
    assert_eq!(reply.status, 200, "{}", reply.text());
    json_of(&reply).as_array().expect("array").clone()
}

fn api_item(items: &[Value], name: &str) -> Value {
    items.iter().find(|item| item["name"] == name).unwrap_or_else(|| panic!("{name} not in {items:?}")).clone()
}

fn api_restore(server: &TestServer, client: &Client, id: &str) -> Reply {
    client.send(
        "POST",
        &format!("{}/api/v1/trash/{}/restore", server.base, encode(id)),
        &[("Content-Type", "application/json")],
        b"{}",
    )
}

fn api_delete(server: &TestServer, client: &Client, id: &str) -> Reply {
    client.delete(&format!("{}/api/v1/trash/{}", server.base, encode(id)))
}

/// MOVE of a listed item to the account's restore folder.
fn dav_restore(server: &TestServer, client: &Client, user: &str, item: &Listed) -> Reply {
    let name = item.href.trim_end_matches('/').rsplit('/').next().expect("item name").to_string();
    let destination = format!("/remote.php/dav/trashbin/{user}/restore/{name}");
    client.send("MOVE", &format!("{}{}", server.base, item.href), &[("Destination", &destination)], b"")
}

/// (quota-used-bytes, quota-available-bytes) of the account's root.
fn quota(server: &TestServer, client: &Client, user: &str) -> (i64, i64) {
    let reply = client.propfind(&server.dav_url(user, ""), "0", QUOTA_PROPS);
    assert_eq!(reply.status, 207, "{}", reply.text());
    let text = reply.text();
    let value = |name: &str| -> i64 {
        let open = format!("<d:{name}>");
        text.split(&open)
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    (value("quota-used-bytes"), value("quota-available-bytes"))
}

fn status_of(client: &Client, url: &str) -> u16 {
    client.propfind(url, "0", "").status
}

#[test]
fn deleted_files_and_folders_are_listed_readable_and_restored_byte_identical() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let note = content(1, 5_000);
    let one = content(2, 70_000);
    let two = content(3, 1_300_000);
    assert_eq!(alice.put(&server.dav_url("alice", "notiz.txt"), &note).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "bleibt.txt"), b"bleibt").status, 201);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Ordner")).status, 201);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Ordner/Unter")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Ordner/eins.txt"), &one).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Ordner/Unter/zwei.bin"), &two).status, 201);
    assert!(listed(&server, &alice, "alice").is_empty(), "a fresh account's trash is empty");
    assert!(api_trash(&server, &alice).is_empty());

    let before = unix_now();
    assert_eq!(alice.delete(&server.dav_url("alice", "notiz.txt")).status, 204);
    assert_eq!(alice.delete(&server.dav_url("alice", "Ordner")).status, 204);
    let after = unix_now();

    // Gone from the tree.
    assert_eq!(alice.get(&server.dav_url("alice", "notiz.txt")).status, 404);
    assert_eq!(status_of(&alice, &server.dav_url("alice", "Ordner")), 404);
    assert_eq!(status_of(&alice, &server.dav_url("alice", "Ordner/Unter/zwei.bin")), 404);
    let root = alice.propfind(&server.dav_url("alice", ""), "1", "").text();
    assert!(!root.contains("notiz.txt") && !root.contains("Ordner"), "{root}");
    assert_eq!(alice.get(&server.dav_url("alice", "bleibt.txt")).body, b"bleibt");

    // The Nextcloud listing: both items, with name, original place and deletion time.
    let items = listed(&server, &alice, "alice");
    assert_eq!(items.len(), 2, "{items:?}");
    let trashed_note = find(&items, "notiz.txt").clone();
    assert_eq!(trashed_note.location, "notiz.txt");
    assert!(!trashed_note.is_dir);
    assert!((before..=after).contains(&trashed_note.deletion_time), "{trashed_note:?} not in {before}..={after}");
    let trashed_folder = find(&items, "Ordner").clone();
    assert_eq!(trashed_folder.location, "Ordner");
    assert!(trashed_folder.is_dir, "{trashed_folder:?}");
    assert!(trashed_folder.href.ends_with('/'), "{trashed_folder:?}");
    assert!((before..=after).contains(&trashed_folder.deletion_time), "{trashed_folder:?}");
    // Depth 0 lists the folder alone.
    let depth0 = alice.propfind(&trash_url(&server, "alice"), "0", TRASH_PROPS);
    assert_eq!(depth0.status, 207);
    assert!(!depth0.text().contains("notiz.txt"), "{}", depth0.text());

    // The JSON API: the same items, with who deleted them.
    let api = api_trash(&server, &alice);
    assert_eq!(api.len(), 2, "{api:?}");
    let api_note = api_item(&api, "notiz.txt");
    assert_eq!(api_note["original_path"], "/notiz.txt");
    assert_eq!(api_note["deleted_by"], "alice");
    assert_eq!(api_note["is_dir"], false);
    assert_eq!(api_note["size"], note.len());
    assert_eq!(api_note["deleted_at"], trashed_note.deletion_time);
    let api_folder = api_item(&api, "Ordner");
    assert_eq!(api_folder["original_path"], "/Ordner");
    assert_eq!(api_folder["is_dir"], true);
    assert_eq!(api_folder["size"], one.len() + two.len());
    // The ids are the names in the Nextcloud listing.
    assert!(trashed_note.href.ends_with(&format!("/{}", encode(api_note["id"].as_str().expect("id")))));

    // A trashed file reads with its exact bytes; a trashed folder cannot be GET.
    let read = alice.get(&format!("{}{}", server.base, trashed_note.href));
    assert_eq!(read.status, 200);
    assert_eq!(read.body.len(), note.len());
    assert_eq!(blake3_hex(&read.body), blake3_hex(&note));
    // Nothing is reachable below a trashed folder on its own.
    let inside = format!("{}{}eins.txt", server.base, trashed_folder.href);
    assert_eq!(alice.get(&inside).status, 404);

    // A trashed item can only be restored, not moved elsewhere.
    let elsewhere = server.dav_url("alice", "woanders.txt");
    let refused =
        alice.send("MOVE", &format!("{}{}", server.base, trashed_note.href), &[("Destination", &elsewhere)], b"");
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(listed(&server, &alice, "alice").len(), 2);

    // Restore the folder by MOVE: back with its nested content, byte-identical.
    let restored = dav_restore(&server, &alice, "alice", &trashed_folder);
    assert_eq!(restored.status, 201, "{}", restored.text());
    assert_eq!(blake3_hex(&alice.get(&server.dav_url("alice", "Ordner/eins.txt")).body), blake3_hex(&one));
    assert_eq!(blake3_hex(&alice.get(&server.dav_url("alice", "Ordner/Unter/zwei.bin")).body), blake3_hex(&two));
    let folder = alice.propfind(&server.dav_url("alice", "Ordner"), "1", "");
    assert_eq!(folder.status, 207);
    assert_eq!(folder.text().matches("<d:response>").count(), 3, "Ordner, eins.txt, Unter: {}", folder.text());
    let sub = alice.propfind(&server.dav_url("alice", "Ordner/Unter"), "1", "");
    assert_eq!(sub.text().matches("<d:response>").count(), 2, "Unter, zwei.bin: {}", sub.text());
    assert!(!folder.text().contains("urn:hafen:trash"), "the trash's bookkeeping stays behind: {}", folder.text());
    let items = listed(&server, &alice, "alice");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].filename, "notiz.txt");

    // Restore the file through the JSON API: it says where it went.
    let reply = api_restore(&server, &alice, api_note["id"].as_str().expect("id"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(json_of(&reply), json!({"path": "/notiz.txt"}));
    assert_eq!(blake3_hex(&alice.get(&server.dav_url("alice", "notiz.txt")).body), blake3_hex(&note));
    assert!(listed(&server, &alice, "alice").is_empty());
    assert!(api_trash(&server, &alice).is_empty());
    // The restored items are ordinary again: deleting one trashes it anew.
    assert_eq!(alice.delete(&server.dav_url("alice", "Ordner/eins.txt")).status, 204);
    let again = listed(&server, &alice, "alice");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].location, "Ordner/eins.txt");
}

#[test]
fn restoring_into_a_taken_name_or_a_vanished_folder_finds_a_free_place() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");

    // The name is taken again: the new file stays, the restored one gets a free name.
    assert_eq!(alice.put(&server.dav_url("alice", "a.txt"), b"die alte Fassung").status, 201);
    assert_eq!(alice.delete(&server.dav_url("alice", "a.txt")).status, 204);
    assert_eq!(alice.put(&server.dav_url("alice", "a.txt"), b"die neue Fassung").status, 201);
    let items = listed(&server, &alice, "alice");
    let restored = dav_restore(&server, &alice, "alice", find(&items, "a.txt"));
    assert_eq!(restored.status, 201, "{}", restored.text());
    assert_eq!(alice.get(&server.dav_url("alice", "a.txt")).body, b"die neue Fassung");
    assert_eq!(alice.get(&server.dav_url("alice", "a%20(2).txt")).body, b"die alte Fassung");
    // Once more, through the JSON API: it answers the free name it chose.
    assert_eq!(alice.delete(&server.dav_url("alice", "a%20(2).txt")).status, 204);
    assert_eq!(alice.put(&server.dav_url("alice", "a%20(2).txt"), b"belegt").status, 201);
    let id = api_item(&api_trash(&server, &alice), "a (2).txt")["id"].as_str().expect("id").to_string();
    let reply = api_restore(&server, &alice, &id);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let path = json_of(&reply)["path"].as_str().expect("path").to_string();
    assert!(path.starts_with('/') && !path[1..].contains('/'), "at the top: {path}");
    assert!(!["/a.txt", "/a (2).txt"].contains(&path.as_str()), "a taken name: {path}");
    assert_eq!(alice.get(&server.dav_url("alice", &encode(&path[1..]))).body, b"die alte Fassung");
    assert_eq!(alice.get(&server.dav_url("alice", "a%20(2).txt")).body, b"belegt");
    assert_eq!(alice.get(&server.dav_url("alice", "a.txt")).body, b"die neue Fassung");

    // The folder was deleted meanwhile: the file lands at the top, under a free name if needed.
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Mappe")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Mappe/b.txt"), b"b aus der Mappe").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Mappe/c.txt"), b"c aus der Mappe").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "c.txt"), b"c oben").status, 201);
    assert_eq!(alice.delete(&server.dav_url("alice", "Mappe/b.txt")).status, 204);
    assert_eq!(alice.delete(&server.dav_url("alice", "Mappe/c.txt")).status, 204);
    assert_eq!(alice.delete(&server.dav_url("alice", "Mappe")).status, 204);
    let api = api_trash(&server, &alice);
    assert_eq!(api_item(&api, "b.txt")["original_path"], "/Mappe/b.txt");
    let items = listed(&server, &alice, "alice");
    assert_eq!(find(&items, "b.txt").location, "Mappe/b.txt");
    let reply = api_restore(&server, &alice, api_item(&api, "b.txt")["id"].as_str().expect("id"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(json_of(&reply), json!({"path": "/b.txt"}));
    assert_eq!(alice.get(&server.dav_url("alice", "b.txt")).body, b"b aus der Mappe");
    assert_eq!(status_of(&alice, &server.dav_url("alice", "Mappe")), 404, "the folder is not recreated");
    let restored = dav_restore(&server, &alice, "alice", find(&items, "c.txt"));
    assert_eq!(restored.status, 201, "{}", restored.text());
    assert_eq!(alice.get(&server.dav_url("alice", "c.txt")).body, b"c oben");
    assert_eq!(alice.get(&server.dav_url("alice", "c%20(2).txt")).body, b"c aus der Mappe");
    // The (now empty) folder itself is still in the trash, and restores to its place.
    let left = listed(&server, &alice, "alice");
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].filename, "Mappe");
    assert_eq!(dav_restore(&server, &alice, "alice", &left[0]).status, 201);
    assert_eq!(status_of(&alice, &server.dav_url("alice", "Mappe")), 207);

    // A file now stands where the folder was: the top level again.
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akte")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Akte/d.txt"), b"d aus der Akte").status, 201);
    assert_eq!(alice.delete(&server.dav_url("alice", "Akte/d.txt")).status, 204);
    assert_eq!(alice.delete(&server.dav_url("alice", "Akte")).status, 204);
    assert_eq!(alice.put(&server.dav_url("alice", "Akte"), b"eine Datei namens Akte").status, 201);
    let id = api_item(&api_trash(&server, &alice), "d.txt")["id"].as_str().expect("id").to_string();
    let reply = api_restore(&server, &alice, &id);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(json_of(&reply)["path"], "/d.txt");
    assert_eq!(alice.get(&server.dav_url("alice", "d.txt")).body, b"d aus der Akte");
    assert_eq!(alice.get(&server.dav_url("alice", "Akte")).body, b"eine Datei namens Akte");
}

#[test]
fn the_trash_does_not_count_toward_the_quota_but_restoring_does() {
    let server = TestServer::start();
    server.add_user("carl", "carl-password", &["--quota", "2000"]);
    let carl = Client::new("carl", "carl-password");
    let big = content(7, 1_500);
    let other = content(8, 1_500);
    assert_eq!(carl.put(&server.dav_url("carl", "gross.bin"), &big).status, 201);
    assert_eq!(quota(&server, &carl, "carl"), (1_500, 500));

    assert_eq!(carl.delete(&server.dav_url("carl", "gross.bin")).status, 204);
    assert_eq!(quota(&server, &carl, "carl"), (0, 2_000), "the trashed file no longer counts");
    // The freed space can really be used.
    assert_eq!(carl.put(&server.dav_url("carl", "neu.bin"), &other).status, 201);
    assert_eq!(quota(&server, &carl, "carl"), (1_500, 500));

    // Restoring would exceed the quota: 507 both ways, the item stays in the trash.
    let items = listed(&server, &carl, "carl");
    let trashed = find(&items, "gross.bin").clone();
    let refused = dav_restore(&server, &carl, "carl", &trashed);
    assert_eq!(refused.status, 507, "{}", refused.text());
    let id = api_item(&api_trash(&server, &carl), "gross.bin")["id"].as_str().expect("id").to_string();
    let refused = api_restore(&server, &carl, &id);
    assert_eq!(refused.status, 507, "{}", refused.text());
    assert_eq!(listed(&server, &carl, "carl").len(), 1);
    assert_eq!(api_trash(&server, &carl).len(), 1);
    assert_eq!(blake3_hex(&carl.get(&format!("{}{}", server.base, trashed.href)).body), blake3_hex(&big));
    assert_eq!(status_of(&carl, &server.dav_url("carl", "gross.bin")), 404, "nothing half-restored");
    assert_eq!(quota(&server, &carl, "carl"), (1_500, 500));

    // With room again (the other file trashed), it restores.
    assert_eq!(carl.delete(&server.dav_url("carl", "neu.bin")).status, 204);
    let restored = dav_restore(&server, &carl, "carl", &trashed);
    assert_eq!(restored.status, 201, "{}", restored.text());
    assert_eq!(blake3_hex(&carl.get(&server.dav_url("carl", "gross.bin")).body), blake3_hex(&big));
    assert_eq!(quota(&server, &carl, "carl"), (1_500, 500));
    let left = api_trash(&server, &carl);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["name"], "neu.bin");
}

#[test]
fn items_deleted_for_good_or_emptied_cannot_be_restored() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    for name in ["x1.txt", "x2.txt", "x3.txt", "x4.txt"] {
        assert_eq!(alice.put(&server.dav_url("alice", name), name.as_bytes()).status, 201);
        assert_eq!(alice.delete(&server.dav_url("alice", name)).status, 204);
    }
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Ordner")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Ordner/innen.txt"), b"innen").status, 201);
    assert_eq!(alice.delete(&server.dav_url("alice", "Ordner")).status, 204);
    let items = listed(&server, &alice, "alice");
    assert_eq!(items.len(), 5, "{items:?}");
    let api = api_trash(&server, &alice);
    let id_of = |name: &str| api_item(&api, name)["id"].as_str().expect("id").to_string();

    // One for good over WebDAV, one (and the folder) over the JSON API.
    let x1 = find(&items, "x1.txt").clone();
    assert_eq!(alice.delete(&format!("{}{}", server.base, x1.href)).status, 204);
    assert_eq!(api_delete(&server, &alice, &id_of("x2.txt")).status, 204);
    assert_eq!(alice.delete(&format!("{}{}", server.base, find(&items, "Ordner").href)).status, 204);
    let left: Vec<String> = listed(&server, &alice, "alice").into_iter().map(|item| item.filename).collect();
    let mut sorted = left.clone();
    sorted.sort();
    assert_eq!(sorted, ["x3.txt", "x4.txt"], "{left:?}");
    assert_eq!(api_trash(&server, &alice).len(), 2);
    // Gone for good: neither readable nor restorable, nor deletable again.
    assert_eq!(alice.get(&format!("{}{}", server.base, x1.href)).status, 404);
    assert_eq!(dav_restore(&server, &alice, "alice", &x1).status, 404);
    assert_eq!(api_restore(&server, &alice, &id_of("x1.txt")).status, 404);
    assert_eq!(api_restore(&server, &alice, &id_of("x2.txt")).status, 404);
    assert_eq!(api_restore(&server, &alice, &id_of("Ordner")).status, 404);
    assert_eq!(api_delete(&server, &alice, &id_of("x2.txt")).status, 404);
    for name in ["x1.txt", "x2.txt", "Ordner"] {
        assert_eq!(status_of(&alice, &server.dav_url("alice", name)), 404, "{name}");
    }

    // Emptying over WebDAV.
    let x3 = find(&items, "x3.txt").clone();
    let emptied = alice.delete(&trash_url(&server, "alice"));
    assert_eq!(emptied.status, 204, "{}", emptied.text());
    assert!(listed(&server, &alice, "alice").is_empty());
    assert!(api_trash(&server, &alice).is_empty());
    assert_eq!(dav_restore(&server, &alice, "alice", &x3).status, 404);
    assert_eq!(api_restore(&server, &alice, &id_of("x4.txt")).status, 404);
    assert_eq!(alice.get(&format!("{}{}", server.base, x3.href)).status, 404);

    // Emptying over the JSON API.
    assert_eq!(alice.put(&server.dav_url("alice", "x5.txt"), b"x5").status, 201);
    assert_eq!(alice.delete(&server.dav_url("alice", "x5.txt")).status, 204);
    let x5 = api_trash(&server, &alice)[0]["id"].as_str().expect("id").to_string();
    assert_eq!(alice.delete(&format!("{}/api/v1/trash", server.base)).status, 204);
    assert!(api_trash(&server, &alice).is_empty());
    assert!(listed(&server, &alice, "alice").is_empty());
    assert_eq!(api_restore(&server, &alice, &x5).status, 404);
    assert_eq!(status_of(&alice, &server.dav_url("alice", "x5.txt")), 404);
    // Emptying an empty trash is fine.
    assert_eq!(alice.delete(&trash_url(&server, "alice")).status, 204);
}

#[test]
fn a_recipients_deletion_lands_in_the_owners_trash_which_nobody_else_reads() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    server.add_user("bob", "bob-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let bob = Client::new("bob", "bob-password");
    let report = content(11, 20_000);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Gemeinsam")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Gemeinsam/bericht.txt"), &report).status, 201);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Lesen")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Lesen/nur.txt"), b"nur lesen").status, 201);
    for (path, permissions) in [("/Gemeinsam", 15), ("/Lesen", 1)] {
        let reply = alice.send(
            "POST",
            &format!("{}/api/v1/shares", server.base),
            &[("Content-Type", "application/json")],
            json!({"path": path, "type": "user", "with": "bob", "permissions": permissions}).to_string().as_bytes(),
        );
        assert_eq!(reply.status, 201, "share {path}: {}", reply.text());
    }
    assert_eq!(blake3_hex(&bob.get(&server.dav_url("bob", "Gemeinsam/bericht.txt")).body), blake3_hex(&report));

    // Without delete permission nothing happens, nothing is trashed.
    assert_eq!(bob.delete(&server.dav_url("bob", "Lesen/nur.txt")).status, 403);
    assert_eq!(alice.get(&server.dav_url("alice", "Lesen/nur.txt")).body, b"nur lesen");
    assert!(api_trash(&server, &alice).is_empty());

    // bob deletes inside the share: the file is in alice's trash, not in his.
    assert_eq!(bob.delete(&server.dav_url("bob", "Gemeinsam/bericht.txt")).status, 204);
    assert_eq!(alice.get(&server.dav_url("alice", "Gemeinsam/bericht.txt")).status, 404);
    assert_eq!(bob.get(&server.dav_url("bob", "Gemeinsam/bericht.txt")).status, 404);
    let items = listed(&server, &alice, "alice");
    assert_eq!(items.len(), 1, "{items:?}");
    let trashed = items[0].clone();
    assert_eq!(trashed.filename, "bericht.txt");
    assert_eq!(trashed.location, "Gemeinsam/bericht.txt", "the owner's path");
    let api = api_trash(&server, &alice);
    assert_eq!(api.len(), 1);
    assert_eq!(api[0]["deleted_by"], "bob");
    assert_eq!(api[0]["original_path"], "/Gemeinsam/bericht.txt");
    let id = api[0]["id"].as_str().expect("id").to_string();
    assert!(listed(&server, &bob, "bob").is_empty(), "not in bob's trash");
    assert!(api_trash(&server, &bob).is_empty(), "not in bob's trash");

    // bob cannot read, restore, delete or empty alice's trash.
    let item_url = format!("{}{}", server.base, trashed.href);
    assert_eq!(bob.propfind(&trash_url(&server, "alice"), "1", TRASH_PROPS).status, 403);
    assert_eq!(bob.propfind(&format!("{}/remote.php/dav/trashbin/alice/trash", server.base), "1", "").status, 403);
    assert_eq!(bob.propfind(&item_url, "0", "").status, 403);
    let read = bob.get(&item_url);
    assert_eq!(read.status, 403);
    assert!(!read.body.windows(64).any(|window| window == &report[..64]), "no content leaks");
    let destination = "/remote.php/dav/trashbin/bob/restore/bericht.txt";
    assert_eq!(bob.send("MOVE", &item_url, &[("Destination", destination)], b"").status, 403);
    let destination = "/remote.php/dav/trashbin/alice/restore/bericht.txt";
    assert_eq!(bob.send("MOVE", &item_url, &[("Destination", destination)], b"").status, 403);
    assert_eq!(bob.delete(&item_url).status, 403);
    assert_eq!(bob.delete(&trash_url(&server, "alice")).status, 403);
    assert_eq!(api_restore(&server, &bob, &id).status, 404);
    assert_eq!(api_delete(&server, &bob, &id).status, 404);
    assert_eq!(bob.delete(&format!("{}/api/v1/trash", server.base)).status, 204, "empties bob's own (empty) trash");
    assert_eq!(bob.get(&server.dav_url("bob", "Gemeinsam/bericht.txt")).status, 404, "nothing restored");
    let still = api_trash(&server, &alice);
    assert_eq!(still.len(), 1, "alice's item is untouched: {still:?}");
    assert_eq!(blake3_hex(&alice.get(&item_url).body), blake3_hex(&report));

    // alice restores it: back in the shared folder, bob sees it again.
    let reply = api_restore(&server, &alice, &id);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(json_of(&reply)["path"], "/Gemeinsam/bericht.txt");
    assert_eq!(blake3_hex(&bob.get(&server.dav_url("bob", "Gemeinsam/bericht.txt")).body), blake3_hex(&report));

    // Leaving a share (deleting its mount) trashes nothing.
    assert_eq!(bob.delete(&server.dav_url("bob", "Gemeinsam")).status, 204);
    assert_eq!(alice.get(&server.dav_url("alice", "Gemeinsam/bericht.txt")).status, 200);
    assert!(api_trash(&server, &alice).is_empty());
    assert!(api_trash(&server, &bob).is_empty());
}

#[test]
fn the_maintenance_expires_items_after_the_retention_time() {
    let clock = tempfile::NamedTempFile::new_in(test_tmp_root()).expect("clock file");
    let set_clock = |at: i64| std::fs::write(clock.path(), at.to_string()).expect("write clock");
    let now = unix_now();
    set_clock(now);
    let clock_path = clock.path().to_string_lossy().into_owned();
    let server = TestServer::start_with_env(
        &[],
        &[
            ("HAFEN_CLOCK_FILE", &clock_path),
            ("HAFEN_MAINTENANCE_INTERVAL_SECONDS", "1"),
            ("HAFEN_TRASH_RETENTION_SECONDS", "86400"),
        ],
    );
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    assert_eq!(alice.put(&server.dav_url("alice", "alt.txt"), b"bald weg").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "bleibt.txt"), b"bleibt").status, 201);
    assert_eq!(alice.delete(&server.dav_url("alice", "alt.txt")).status, 204);
    let items = listed(&server, &alice, "alice");
    assert_eq!(items.len(), 1);
    let href = items[0].href.clone();

    // An hour later the item is still there, after several maintenance runs.
    set_clock(now + 3_600);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(listed(&server, &alice, "alice").len(), 1, "expired an hour after deletion");
    assert_eq!(api_trash(&server, &alice).len(), 1);
    assert_eq!(alice.get(&format!("{}{href}", server.base)).body, b"bald weg");

    // Two days later it goes, with the next maintenance run.
    set_clock(now + 2 * 86_400);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !listed(&server, &alice, "alice").is_empty() {
        assert!(Instant::now() < deadline, "not expired within 15 s of the clock passing the retention time");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(api_trash(&server, &alice).is_empty());
    assert_eq!(alice.get(&format!("{}{href}", server.base)).status, 404);
    assert_eq!(alice.get(&server.dav_url("alice", "bleibt.txt")).body, b"bleibt", "live files are untouched");
    assert_eq!(status_of(&alice, &server.dav_url("alice", "alt.txt")), 404, "expired, not restored");
}

/// A DELETE whose client goes away while the server works on it (the socket closed a moment
/// after the request was sent) still moves the item whole: every folder ends either in its
/// place or in the trash with its original location, never in both and never lost.
#[test]
fn a_delete_abandoned_by_its_client_moves_the_item_whole() {
    use base64::Engine as _;
    use std::io::Write as _;
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let rounds = 24;
    for round in 0..rounds {
        let folder = format!("Akte-{round}");
        assert_eq!(alice.mkcol(&server.dav_url("alice", &folder)).status, 201);
        for file in 0..12 {
            let reply = alice.put(&server.dav_url("alice", &format!("{folder}/teil-{file}.txt")), &content(file, 300));
            assert_eq!(reply.status, 201);
        }
    }
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:alice-password");
    let address = server.base.trim_start_matches("http://").to_string();
    for round in 0..rounds {
        let mut socket = std::net::TcpStream::connect(&address).expect("connect");
        let request = format!(
            "DELETE /remote.php/dav/files/alice/Akte-{round} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {auth}\r\nContent-Length: 0\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).expect("send DELETE");
        // From at once to well into the move: the copy into the trash, then the removal.
        std::thread::sleep(Duration::from_micros(round as u64 * 400));
        drop(socket);
    }
    // Abandoned handlers may still be running; wait until the tree no longer changes.
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = format!(
            "{:?}{:?}",
            alice.propfind(&server.dav_url("alice", ""), "1", "").text(),
            listed(&server, &alice, "alice").len()
        );
        if now == last || Instant::now() > deadline {
            break;
        }
        last = now;
        std::thread::sleep(Duration::from_millis(500));
    }
    let trash = listed(&server, &alice, "alice");
    let mut deleted = 0;
    for round in 0..rounds {
        let folder = format!("Akte-{round}");
        let in_place = status_of(&alice, &server.dav_url("alice", &folder)) == 207;
        let trashed: Vec<&Listed> = trash.iter().filter(|item| item.filename == folder).collect();
        assert!(trashed.len() <= 1, "{folder} is in the trash twice: {trashed:?}");
        assert!(in_place != (trashed.len() == 1), "{folder}: in place {in_place}, in the trash {trashed:?}");
        if let Some(item) = trashed.first() {
            assert_eq!(item.location, folder, "{item:?}");
            deleted += 1;
        } else {
            let listing = alice.propfind(&server.dav_url("alice", &folder), "1", "").text();
            assert_eq!(listing.matches("<d:response>").count(), 13, "{folder} kept all its files: {listing}");
        }
    }
    assert!(trash.iter().all(|item| item.filename.starts_with("Akte-")), "{trash:?}");
    assert!(deleted > 0, "no abandoned DELETE got as far as the trash");
}
