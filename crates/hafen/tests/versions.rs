//! File versions against the real binary: every overwrite keeps the previous content; the
//! Nextcloud versions endpoint (`/remote.php/dav/versions/{user}/versions/{fileid}`) and the
//! JSON API list them newest first, read each with its exact bytes and restore one (the
//! restored content is current, the replaced one becomes a version); retention thins them as
//! the clock moves (a controllable clock file) and within a share of the quota; nobody sees
//! another account's versions.

mod common;

use common::{blake3_hex, file_id, test_tmp_root, Client, Reply, TestServer};
use serde_json::{json, Value};

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

/// The hrefs of the versions listed by the Nextcloud endpoint, in the order given.
fn listed_versions(client: &Client, url: &str) -> Vec<String> {
    let reply = client.propfind(url, "1", "");
    assert_eq!(reply.status, 207, "{}", reply.text());
    let text = reply.text();
    text.split("<d:href>")
        .skip(1)
        .filter_map(|part| part.split("</d:href>").next())
        .filter(|href| !href.ends_with('/'))
        .map(str::to_string)
        .collect()
}

#[test]
fn overwrites_keep_versions_that_list_read_and_restore_exactly() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    server.add_user("bob", "bob-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let url = server.dav_url("alice", "bericht.txt");
    let contents: Vec<Vec<u8>> = (1..=4).map(|n| format!("Fassung {n} ").repeat(n * 1000).into_bytes()).collect();
    for content in &contents {
        assert!(matches!(alice.put(&url, content).status, 201 | 204));
    }
    let id = file_id(&alice, &url);
    let versions_url = format!("{}/remote.php/dav/versions/alice/versions/{id}", server.base);

    // Nextcloud endpoint: the three older contents, newest first, each with its exact bytes.
    let hrefs = listed_versions(&alice, &versions_url);
    assert_eq!(hrefs.len(), 3, "{hrefs:?}");
    for (href, expected) in hrefs.iter().zip(contents[..3].iter().rev()) {
        let reply = alice.get(&format!("{}{href}", server.base));
        assert_eq!(reply.status, 200, "{href}");
        assert_eq!(blake3_hex(&reply.body), blake3_hex(expected), "{href}");
    }

    // Restore the oldest by MOVE to the restore target: it is current, and what it replaced
    // (the fourth) is now a version as well.
    let oldest = format!("{}{}", server.base, hrefs[2]);
    let target = format!("{}/remote.php/dav/versions/alice/restore/target", server.base);
    let restored = alice.send("MOVE", &oldest, &[("Destination", &target)], b"");
    assert_eq!(restored.status, 204, "{}", restored.text());
    assert_eq!(blake3_hex(&alice.get(&url).body), blake3_hex(&contents[0]));
    let hrefs = listed_versions(&alice, &versions_url);
    assert_eq!(hrefs.len(), 4, "{hrefs:?}");
    assert_eq!(blake3_hex(&alice.get(&format!("{}{}", server.base, hrefs[0])).body), blake3_hex(&contents[3]));
    // A version can only be restored, not copied elsewhere.
    let elsewhere = server.dav_url("alice", "kopie.txt");
    assert_eq!(alice.send("COPY", &oldest, &[("Destination", &elsewhere)], b"").status, 403);

    // JSON API: the same list with the current one marked; restore by id; hashes match.
    let list = json_of(&alice.get(&format!("{}/api/v1/versions?path=/bericht.txt", server.base)));
    let list = list.as_array().expect("array").clone();
    assert_eq!(list.len(), 5);
    assert_eq!(list[0]["current"], true);
    assert!(list[1..].iter().all(|v| v["current"] == false));
    assert!(list[0]["content_hash"].as_str().is_some_and(|hash| !hash.is_empty()));
    assert_ne!(list[0]["content_hash"], list[1]["content_hash"], "different contents, different hashes");
    let second = list.iter().find(|v| v["size"] == contents[1].len()).expect("second content").clone();
    let content = alice.get(&format!("{}/api/v1/versions/{}?path=/bericht.txt", server.base, second["id"]));
    assert_eq!(blake3_hex(&content.body), blake3_hex(&contents[1]));
    let reply = alice.send(
        "POST",
        &format!("{}/api/v1/versions/{}/restore", server.base, second["id"]),
        &[("Content-Type", "application/json")],
        json!({"path": "/bericht.txt"}).to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(blake3_hex(&alice.get(&url).body), blake3_hex(&contents[1]));

    // Nobody else sees them: another account's file id is unknown, another's folder refused.
    let bob = Client::new("bob", "bob-password");
    assert_eq!(
        bob.propfind(&format!("{}/remote.php/dav/versions/bob/versions/{id}", server.base), "1", "").status,
        404
    );
    assert_eq!(bob.propfind(&versions_url, "1", "").status, 403);
    assert_eq!(bob.get(&format!("{}/api/v1/versions?path=/bericht.txt", server.base)).status, 404);
    let unknown = format!("{}/remote.php/dav/versions/alice/versions/{id}/999999", server.base);
    assert_eq!(alice.get(&unknown).status, 404);
}

#[test]
fn retention_thins_versions_as_time_passes_and_within_the_quota_share() {
    let clock = tempfile::NamedTempFile::new_in(test_tmp_root()).expect("clock file");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64;
    let set_clock = |at: i64| std::fs::write(clock.path(), at.to_string()).expect("write clock");
    set_clock(now);
    let clock_path = clock.path().to_string_lossy().into_owned();
    let server = TestServer::start_with_env(&[], &[("HAFEN_CLOCK_FILE", &clock_path)]);
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let url = server.dav_url("alice", "plan.txt");
    let versions = || {
        let list = json_of(&alice.get(&format!("{}/api/v1/versions?path=/plan.txt", server.base)));
        list.as_array().expect("array").iter().filter(|v| v["current"] == false).cloned().collect::<Vec<_>>()
    };
    for n in 1..=5 {
        alice.put(&url, format!("Stand {n}").as_bytes());
    }
    assert_eq!(versions().len(), 4, "all versions of the last day are kept");

    // Two days later the older versions all lie on one day: only the newest of them stays.
    set_clock(now + 2 * 86_400);
    alice.put(&url, b"Stand 6");
    let left = versions();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["size"], "Stand 5".len());

    // Forty days later: weekly buckets; the older versions (5 and 6) share one week.
    set_clock(now + 40 * 86_400);
    alice.put(&url, b"Stand 7");
    let left = versions();
    assert_eq!(left.len(), 1, "{left:?}");
    let kept = alice.get(&format!("{}/api/v1/versions/{}?path=/plan.txt", server.base, left[0]["id"]));
    assert_eq!(kept.body, b"Stand 6");

    // Quota share: with a quota of 2,000 bytes, older versions may take at most 1,000 (all of
    // them are of the last day again).
    set_clock(now);
    server.add_user("bob", "bob-password", &["--quota", "2000"]);
    let bob = Client::new("bob", "bob-password");
    let big = server.dav_url("bob", "gross.bin");
    for n in 0..5u8 {
        assert!(matches!(bob.put(&big, &vec![n; 400]).status, 201 | 204));
    }
    let list = json_of(&bob.get(&format!("{}/api/v1/versions?path=/gross.bin", server.base)));
    let older: Vec<_> = list.as_array().expect("array").iter().filter(|v| v["current"] == false).cloned().collect();
    assert_eq!(older.len(), 2, "two of 400 bytes fit into half the quota: {older:?}");
    let newest = bob.get(&format!("{}/api/v1/versions/{}?path=/gross.bin", server.base, older[0]["id"]));
    assert_eq!(newest.body, vec![3u8; 400], "the newest older versions are the ones kept");
}
