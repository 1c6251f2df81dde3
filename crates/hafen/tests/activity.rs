//! The activity stream against the real binary: uploads, changes, deletes, restores, shares,
//! link downloads and file-drop uploads each leave the expected entry in the right account's
//! stream (JSON API and Nextcloud's activity OCS endpoint), newest first, with filtering and
//! paging; nobody sees another account's stream.

mod common;

use common::{Client, Reply, TestServer};
use serde_json::{json, Value};

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

fn api(client: &Client, method: &str, url: &str, body: Value) -> Reply {
    client.send(method, url, &[("Content-Type", "application/json")], body.to_string().as_bytes())
}

/// `(kind, actor, subject)` of the account's stream, newest first.
fn stream(server: &TestServer, client: &Client, query: &str) -> Vec<(String, String, String)> {
    let reply = client.get(&format!("{}/api/v1/activity{query}", server.base));
    assert_eq!(reply.status, 200, "{}", reply.text());
    json_of(&reply)
        .as_array()
        .expect("array")
        .iter()
        .map(|entry| {
            let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
            (text("kind"), text("actor"), text("subject"))
        })
        .collect()
}

/// A JSON id as text (the API answers numbers; strings are taken as they are).
fn id_text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_string)
}

fn entry(kind: &str, actor: &str, subject: &str) -> (String, String, String) {
    (kind.to_string(), actor.to_string(), subject.to_string())
}

#[test]
fn file_and_share_events_appear_in_the_right_streams() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    server.add_user("bob", "bob-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let bob = Client::new("bob", "bob-password");

    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akten")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Akten/plan.txt"), b"eins").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Akten/plan.txt"), b"zwei").status, 204);
    assert_eq!(alice.delete(&server.dav_url("alice", "Akten/plan.txt")).status, 204);
    let trash = json_of(&alice.get(&format!("{}/api/v1/trash", server.base)));
    let id = trash[0]["id"].as_str().expect("trash id").to_string();
    assert_eq!(alice.send("POST", &format!("{}/api/v1/trash/{id}/restore", server.base), &[], b"").status, 200);

    let share = api(
        &alice,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Akten", "type": "user", "with": "bob", "permissions": 31}),
    );
    assert_eq!(share.status, 201, "{}", share.text());
    let share_id = id_text(&json_of(&share)["id"]);
    // Bob changes a file inside the share: it lands in alice's stream, done by bob.
    assert_eq!(bob.put(&server.dav_url("bob", "Akten/notiz.txt"), b"von bob").status, 201);

    let link = api(
        &alice,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Akten/plan.txt", "type": "link", "permissions": 1}),
    );
    let token = json_of(&link)["token"].as_str().expect("token").to_string();
    let download = Client::anonymous().get(&format!("{}/public.php/dav/files/{token}", server.base));
    assert_eq!(download.status, 200);
    let drop = api(
        &alice,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Akten", "type": "link", "permissions": 4}),
    );
    let drop_token = json_of(&drop)["token"].as_str().expect("token").to_string();
    let upload =
        Client::anonymous().put(&format!("{}/public.php/dav/files/{drop_token}/antrag.pdf", server.base), b"%PDF");
    assert_eq!(upload.status, 201, "{}", upload.text());
    let link_id = id_text(&json_of(&link)["id"]);
    let drop_id = id_text(&json_of(&drop)["id"]);
    assert_eq!(alice.delete(&format!("{}/api/v1/shares/{share_id}", server.base)).status, 204);

    let expected = vec![
        entry("unshared", "alice", "Akten"),
        entry("file_drop_upload", &format!("link:{drop_id}"), "Akten/antrag.pdf"),
        entry("shared", "alice", "/Akten"),
        entry("link_downloaded", &format!("link:{link_id}"), "plan.txt"),
        entry("shared", "alice", "/Akten/plan.txt"),
        entry("file_created", "bob", "/Akten/notiz.txt"),
        entry("shared", "alice", "/Akten"),
        entry("file_restored", "alice", "/Akten/plan.txt"),
        entry("file_deleted", "alice", "/Akten/plan.txt"),
        entry("file_changed", "alice", "/Akten/plan.txt"),
        entry("file_created", "alice", "/Akten/plan.txt"),
    ];
    assert_eq!(stream(&server, &alice, ""), expected);
    assert_eq!(stream(&server, &bob, ""), vec![entry("share_received", "alice", "Akten")], "bob's own stream only");

    // Filter by kind, and page below an id.
    assert_eq!(
        stream(&server, &alice, "?kind=shared,unshared"),
        vec![
            entry("unshared", "alice", "Akten"),
            entry("shared", "alice", "/Akten"),
            entry("shared", "alice", "/Akten/plan.txt"),
            entry("shared", "alice", "/Akten")
        ]
    );
    let all = json_of(&alice.get(&format!("{}/api/v1/activity?limit=2", server.base)));
    assert_eq!(all.as_array().expect("array").len(), 2);
    let below = all[1]["id"].as_i64().expect("id");
    let next = stream(&server, &alice, &format!("?before={below}&limit=2"));
    assert_eq!(next, expected[2..4].to_vec());

    // Nextcloud's activity endpoint: same entries, in its envelope and field names.
    let ocs = alice.send(
        "GET",
        &format!("{}/ocs/v2.php/apps/activity/api/v2/activity?format=json&limit=3", server.base),
        &[("OCS-APIRequest", "true")],
        b"",
    );
    assert_eq!(ocs.status, 200, "{}", ocs.text());
    let data = json_of(&ocs)["ocs"]["data"].clone();
    let data = data.as_array().expect("data");
    assert_eq!(data.len(), 3);
    assert_eq!(data[0]["type"], "unshared");
    assert_eq!(data[0]["affecteduser"], "alice");
    assert!(
        data[0]["activity_id"].as_i64().is_some() && data[0]["datetime"].as_str().is_some_and(|d| d.ends_with('Z'))
    );
    assert_eq!(data[1]["object_name"], "antrag.pdf");
    assert_eq!(Client::anonymous().get(&format!("{}/api/v1/activity", server.base)).status, 401);
}
