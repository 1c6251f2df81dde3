//! Comments, collaborative tags and the favourites/tags REPORT against the real binary, over
//! Nextcloud's WebDAV endpoints and the JSON API (issue 8): everyone who sees an item reads and
//! writes its comments, only authors edit, authors and owners delete, nobody else sees them;
//! tags belong to an organisation, are assigned by those who see the item, and show in
//! `nc:system-tags`; `REPORT oc:filter-files` finds favourites and tagged items; an
//! organisation's own version retention applies to its members.

mod common;

use common::{file_id, Client, Reply, TestServer};
use serde_json::{json, Value};

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

fn api(client: &Client, method: &str, url: &str, body: Value) -> Reply {
    client.send(method, url, &[("Content-Type", "application/json")], body.to_string().as_bytes())
}

/// The text of every `<oc:NAME>` element in a multistatus, in document order.
fn values(text: &str, name: &str) -> Vec<String> {
    let open = format!("<oc:{name}>");
    text.split(&open).skip(1).map(|rest| rest.split('<').next().unwrap_or_default().to_string()).collect()
}

const FILE_PROPS: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:prop><oc:fileid/><oc:comments-count/><oc:comments-href/><oc:comments-unread/><nc:system-tags/><oc:favorite/></d:prop></d:propfind>"#;

#[test]
fn comments_over_nextcloud_webdav_and_json_follow_access() {
    let server = TestServer::start();
    for name in ["alice", "bob", "eve"] {
        server.add_user(name, &format!("{name}-password"), &[]);
    }
    let (alice, bob, eve) = (
        Client::new("alice", "alice-password"),
        Client::new("bob", "bob-password"),
        Client::new("eve", "eve-password"),
    );
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akten")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Akten/plan.txt"), b"Plan").status, 201);
    let shared = api(
        &alice,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Akten", "type": "user", "with": "bob", "permissions": 1}),
    );
    assert_eq!(shared.status, 201, "{}", shared.text());
    let id = file_id(&alice, &server.dav_url("alice", "Akten/plan.txt"));
    let endpoint = format!("{}/remote.php/dav/comments/files/{id}", server.base);
    let post = |client: &Client, message: &str| {
        client.send(
            "POST",
            &endpoint,
            &[("Content-Type", "application/json")],
            json!({"actorType": "users", "verb": "comment", "objectType": "files", "message": message})
                .to_string()
                .as_bytes(),
        )
    };

    // alice and bob (read-only share) comment; eve, who sees nothing, gets 404 everywhere.
    assert_eq!(post(&alice, "Bitte prüfen <b>dringend</b>").status, 201);
    let bobs = post(&bob, "Erledigt, @alice");
    assert_eq!(bobs.status, 201, "{}", bobs.text());
    let bobs_url = bobs.header("content-location").expect("Content-Location").to_string();
    assert_eq!(post(&eve, "hallo").status, 404);
    assert_eq!(eve.propfind(&endpoint, "1", "").status, 404);
    assert_eq!(post(&alice, "   ").status, 400, "empty comments are refused");
    assert_eq!(post(&alice, &"x".repeat(1001)).status, 400, "at most 1000 characters");
    let not_json = alice.send("POST", &endpoint, &[("Content-Type", "application/json")], b"{nope");
    assert_eq!(not_json.status, 400);

    let listed = bob.propfind(&endpoint, "1", "");
    assert_eq!(listed.status, 207, "{}", listed.text());
    let text = listed.text();
    assert_eq!(values(&text, "actorId"), ["alice", "bob"]);
    assert_eq!(values(&text, "message")[0], "Bitte prüfen &lt;b&gt;dringend&lt;/b&gt;", "escaped in XML");
    assert_eq!(values(&text, "objectId"), [id.clone(), id.clone()]);
    assert_eq!(values(&text, "mentionId"), ["alice"], "bob's comment mentions alice");
    // The web client's REPORT pages newest first.
    let report = bob.send(
        "REPORT",
        &endpoint,
        &[("Content-Type", "application/xml")],
        br#"<oc:filter-comments xmlns:oc="http://owncloud.org/ns"><oc:limit>1</oc:limit><oc:offset>0</oc:offset></oc:filter-comments>"#,
    );
    assert_eq!(report.status, 207, "{}", report.text());
    assert_eq!(values(&report.text(), "actorId"), ["bob"]);

    // File properties the clients read.
    let props = alice.propfind(&server.dav_url("alice", "Akten/plan.txt"), "0", FILE_PROPS).text();
    assert_eq!(values(&props, "comments-count"), ["2"]);
    assert_eq!(values(&props, "comments-href"), [format!("/remote.php/dav/comments/files/{id}")]);

    // Editing: only the author; deleting: the author or the owner.
    let proppatch = |client: &Client, url: &str, message: &str| {
        client.send(
            "PROPPATCH",
            url,
            &[("Content-Type", "application/xml")],
            format!(
                r#"<d:propertyupdate xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:set><d:prop><oc:message>{message}</oc:message></d:prop></d:set></d:propertyupdate>"#
            )
            .as_bytes(),
        )
    };
    let bobs_url = format!("{}{bobs_url}", server.base);
    assert_eq!(proppatch(&alice, &bobs_url, "gefälscht").status, 403, "not the author");
    assert_eq!(proppatch(&bob, &bobs_url, "Erledigt &amp; abgelegt").status, 207);
    let comments = json_of(&bob.get(&format!("{}/api/v1/comments?path=/Akten/plan.txt", server.base)));
    assert_eq!(comments[1]["message"], "Erledigt & abgelegt");
    assert!(comments[1]["edited_at"].is_i64(), "{comments}");
    assert_eq!(comments[1]["own"], true);
    assert_eq!(comments[0]["own"], false);

    // JSON API: add, edit, delete; eve is refused.
    let url = format!("{}/api/v1/comments?path=/Akten/plan.txt", server.base);
    let added = api(&alice, "POST", &url, json!({"message": "Noch eine Frage an @bob"}));
    assert_eq!(added.status, 201, "{}", added.text());
    let added = json_of(&added);
    assert_eq!(added["mentions"], json!(["bob"]));
    let comment_url = |id: &Value| format!("{}/api/v1/comments/{id}?path=/Akten/plan.txt", server.base);
    assert_eq!(api(&bob, "PATCH", &comment_url(&added["id"]), json!({"message": "x"})).status, 403);
    assert_eq!(api(&alice, "PATCH", &comment_url(&added["id"]), json!({"message": "Frage geklärt"})).status, 200);
    assert_eq!(bob.delete(&comment_url(&added["id"])).status, 403, "bob is neither author nor owner");
    assert_eq!(api(&eve, "GET", &url, json!({})).status, 404);
    let bob_comment = &comments[1]["id"];
    assert_eq!(alice.delete(&comment_url(bob_comment)).status, 204, "the owner deletes any comment");
    assert_eq!(alice.delete(&comment_url(&added["id"])).status, 204);
    let left = json_of(&alice.get(&url));
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left}");
    // By DAV: delete the last one.
    let first_id = left[0]["id"].to_string();
    assert_eq!(alice.delete(&format!("{endpoint}/{first_id}")).status, 204);
    assert_eq!(alice.delete(&format!("{endpoint}/{first_id}")).status, 404);
    let props = alice.propfind(&server.dav_url("alice", "Akten/plan.txt"), "0", FILE_PROPS).text();
    assert_eq!(values(&props, "comments-count"), ["0"]);
}

#[test]
fn tags_belong_to_an_organisation_and_filter_reports_find_items() {
    let server = TestServer::start();
    for org in ["amt", "kommune"] {
        assert_eq!(server.cli(&["org", "add", org], None).0, 0);
    }
    server.add_user("alice", "alice-password", &["--org", "amt"]);
    server.add_user("chef", "chef-password", &["--org", "amt", "--org-admin"]);
    server.add_user("kurt", "kurt-password", &["--org", "kommune"]);
    let (alice, chef, kurt) = (
        Client::new("alice", "alice-password"),
        Client::new("chef", "chef-password"),
        Client::new("kurt", "kurt-password"),
    );
    let tags = format!("{}/remote.php/dav/systemtags/", server.base);
    let create = |client: &Client, body: Value| {
        client.send("POST", &tags, &[("Content-Type", "application/json")], body.to_string().as_bytes())
    };
    let eilig = create(&alice, json!({"name": "eilig", "userVisible": true, "userAssignable": true}));
    assert_eq!(eilig.status, 201, "{}", eilig.text());
    let eilig_id: String =
        eilig.header("content-location").expect("location").rsplit('/').next().unwrap_or_default().to_string();
    assert_eq!(create(&alice, json!({"name": "eilig"})).status, 409, "names are unique per organisation");
    assert_eq!(create(&alice, json!({"name": "intern", "userVisible": false})).status, 403, "admins only");
    assert_eq!(create(&chef, json!({"name": "intern", "userVisible": false})).status, 201);
    assert_eq!(create(&kurt, json!({"name": "eilig"})).status, 201, "another organisation has its own set");
    assert_eq!(create(&alice, json!({"name": ""})).status, 400);

    let listed = |client: &Client| values(&client.propfind(&tags, "1", "").text(), "display-name");
    assert_eq!(listed(&alice), ["eilig"], "invisible tags only for administrators");
    assert_eq!(listed(&chef), ["eilig", "intern"]);
    assert_eq!(listed(&kurt), ["eilig"], "kurt sees his organisation's tag only");
    let kurts = json_of(&kurt.get(&format!("{}/api/v1/tags", server.base)));
    assert_ne!(kurts[0]["id"].to_string(), eilig_id, "and it is a different tag");

    // Assigning: alice tags her file; kurt (no access) cannot touch it.
    assert_eq!(alice.put(&server.dav_url("alice", "bericht.txt"), b"Bericht").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "notiz.txt"), b"Notiz").status, 201);
    let id = file_id(&alice, &server.dav_url("alice", "bericht.txt"));
    let relation = format!("{}/remote.php/dav/systemtags-relations/files/{id}/{eilig_id}", server.base);
    assert_eq!(alice.put(&relation, b"").status, 201);
    assert_eq!(alice.put(&relation, b"").status, 409, "assigned already");
    assert_eq!(kurt.put(&relation, b"").status, 404, "kurt cannot see the file");
    let relations = alice.propfind(&format!("{}/remote.php/dav/systemtags-relations/files/{id}", server.base), "1", "");
    assert_eq!(values(&relations.text(), "display-name"), ["eilig"]);
    let props = alice.propfind(&server.dav_url("alice", "bericht.txt"), "0", FILE_PROPS).text();
    assert!(props.contains(">eilig</nc:system-tag>"), "{props}");

    // REPORT oc:filter-files: by tag, by favourite, and both.
    let report = |rules: &str| {
        let body = format!(
            r#"<oc:filter-files xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:fileid/></d:prop><oc:filter-rules>{rules}</oc:filter-rules></oc:filter-files>"#
        );
        let reply =
            alice.send("REPORT", &server.dav_url("alice", ""), &[("Content-Type", "application/xml")], body.as_bytes());
        assert_eq!(reply.status, 207, "{}", reply.text());
        let text = reply.text();
        let mut names: Vec<String> = text
            .split("<d:href>")
            .skip(1)
            .map(|rest| rest.split('<').next().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(report(&format!("<oc:systemtag>{eilig_id}</oc:systemtag>")), ["bericht.txt"]);
    let favorite = alice.send(
        "PROPPATCH",
        &server.dav_url("alice", "notiz.txt"),
        &[("Content-Type", "application/xml")],
        br#"<d:propertyupdate xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:set><d:prop><oc:favorite>1</oc:favorite></d:prop></d:set></d:propertyupdate>"#,
    );
    assert_eq!(favorite.status, 207);
    assert_eq!(report("<oc:favorite>1</oc:favorite>"), ["notiz.txt"]);
    assert!(report(&format!("<oc:favorite>1</oc:favorite><oc:systemtag>{eilig_id}</oc:systemtag>")).is_empty());
    let bad = alice.send(
        "REPORT",
        &server.dav_url("alice", ""),
        &[("Content-Type", "application/xml")],
        br#"<oc:filter-files xmlns:oc="http://owncloud.org/ns"><oc:filter-rules/></oc:filter-files>"#,
    );
    assert_eq!(bad.status, 400, "a filter needs rules");

    // JSON API: the item's tags, removal, deletion by an administrator only.
    let item_tags = format!("{}/api/v1/tags/items?path=/bericht.txt", server.base);
    assert_eq!(json_of(&alice.get(&item_tags))[0]["name"], "eilig");
    let unassign = format!("{}/api/v1/tags/{eilig_id}/items?path=/bericht.txt", server.base);
    assert_eq!(json_of(&alice.delete(&unassign))["changed"], true);
    assert_eq!(json_of(&alice.get(&item_tags)), json!([]));
    assert_eq!(alice.delete(&format!("{tags}{eilig_id}")).status, 403);
    assert_eq!(chef.delete(&format!("{tags}{eilig_id}")).status, 204);
    assert_eq!(listed(&alice), Vec::<String>::new());
}

#[test]
fn an_organisation_keeps_versions_by_its_own_retention() {
    let server = TestServer::start();
    for org in ["amt", "archiv"] {
        assert_eq!(server.cli(&["org", "add", org], None).0, 0);
    }
    let (code, out, err) =
        server.cli(&["org", "retention", "archiv", "--quota-percent", "100", "--daily-days", "90"], None);
    assert_eq!(code, 0, "{out} {err}");
    assert_ne!(server.cli(&["org", "retention", "archiv", "--quota-percent", "101"], None).0, 0, "a percentage");
    assert_ne!(server.cli(&["org", "retention", "archiv", "--daily-days", "0"], None).0, 0, "at least a day");
    server.add_user("amtfrau", "amtfrau-password", &["--org", "amt", "--quota", "2400"]);
    server.add_user("archivar", "archivar-password", &["--org", "archiv", "--quota", "2400"]);
    // Five writes of 400 bytes: the server's default lets older versions take half the quota
    // (3 of them), the archive all of it (every older version fits).
    for (user, expected) in [("amtfrau", 3), ("archivar", 4)] {
        let client = Client::new(user, &format!("{user}-password"));
        for round in 0..5u8 {
            assert_eq!(client.put(&server.dav_url(user, "akte.txt"), &[b'a' + round; 400]).status / 100, 2);
        }
        let id = file_id(&client, &server.dav_url(user, "akte.txt"));
        let reply = client.propfind(&format!("{}/remote.php/dav/versions/{user}/versions/{id}", server.base), "1", "");
        let older = reply.text().matches("<d:response>").count() - 1;
        assert_eq!(older, expected, "older versions of {user}");
    }
}
