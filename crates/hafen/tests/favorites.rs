//! Favourites over WebDAV (`oc:favorite`, as the Nextcloud clients set and read it): each
//! account's own mark, settable with read access only (a read-only share too), invisible to
//! other accounts and in `allprop`, and not forgeable through the server's own namespace.

mod common;

use common::{Client, TestServer};
use serde_json::json;

const FAVORITE_PROP: &str = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\"><d:prop><oc:favorite/></d:prop></d:propfind>";

fn set_favorite(client: &Client, url: &str, on: bool) -> u16 {
    let body = format!(
        "<?xml version=\"1.0\"?><d:propertyupdate xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\"><d:set><d:prop><oc:favorite>{}</oc:favorite></d:prop></d:set></d:propertyupdate>",
        u8::from(on)
    );
    let reply = client.send("PROPPATCH", url, &[("Content-Type", "application/xml")], body.as_bytes());
    assert!(reply.text().contains("200 OK") || reply.status != 207, "{}", reply.text());
    reply.status
}

fn favorite(client: &Client, url: &str) -> String {
    let reply = client.propfind(url, "0", FAVORITE_PROP);
    assert_eq!(reply.status, 207, "{}", reply.text());
    let text = reply.text();
    let start = text.find("<oc:favorite>").map(|at| at + "<oc:favorite>".len()).expect("favorite value");
    text[start..].split('<').next().unwrap_or_default().to_string()
}

#[test]
fn favourites_are_per_account_and_need_only_read_access() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    server.add_user("bob", "bob-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let bob = Client::new("bob", "bob-password");
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akten")).status, 201);
    let file = server.dav_url("alice", "Akten/plan.txt");
    assert_eq!(alice.put(&file, b"plan").status, 201);
    assert_eq!(favorite(&alice, &file), "0");
    assert_eq!(set_favorite(&alice, &file, true), 207);
    assert_eq!(favorite(&alice, &file), "1");
    // A Depth-1 listing marks exactly the favourite.
    let listing = alice.propfind(&server.dav_url("alice", "Akten"), "1", FAVORITE_PROP).text();
    assert_eq!(listing.matches("<oc:favorite>1</oc:favorite>").count(), 1, "{listing}");

    // Bob has the folder read-only: he may mark it for himself; alice's mark is not his.
    let share = bob_share(&server, &alice);
    assert_eq!(share, 201);
    let bobs_file = server.dav_url("bob", "Akten/plan.txt");
    assert_eq!(favorite(&bob, &bobs_file), "0", "alice's favourite is hers only");
    assert_eq!(set_favorite(&bob, &server.dav_url("bob", "Akten"), true), 207);
    assert_eq!(favorite(&bob, &server.dav_url("bob", "Akten")), "1");
    assert_eq!(favorite(&alice, &server.dav_url("alice", "Akten")), "0", "bob's favourite is his only");
    assert_eq!(bob.put(&bobs_file, b"changed").status, 403, "still read-only");

    // Unmarking; the markers never show up as properties, and cannot be written directly.
    assert_eq!(set_favorite(&alice, &file, false), 207);
    assert_eq!(favorite(&alice, &file), "0");
    let allprop = alice.propfind(&server.dav_url("alice", "Akten"), "1", "").text();
    assert!(!allprop.contains("urn:hafen"), "{allprop}");
    let forged = "<?xml version=\"1.0\"?><d:propertyupdate xmlns:d=\"DAV:\" xmlns:h=\"urn:hafen:favorite\"><d:set><d:prop><h:x>1</h:x></d:prop></d:set></d:propertyupdate>";
    let reply = alice.send("PROPPATCH", &file, &[("Content-Type", "application/xml")], forged.as_bytes());
    assert_eq!(reply.status, 403, "{}", reply.text());
}

fn bob_share(server: &TestServer, alice: &Client) -> u16 {
    let body = json!({"path": "/Akten", "type": "user", "with": "bob", "permissions": 1});
    alice
        .send(
            "POST",
            &format!("{}/api/v1/shares", server.base),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .status
}
