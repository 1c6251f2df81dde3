//! Project spaces end to end (issue 6) against the real binary: spaces owned by an
//! organisation or a project group, created by their administrators; members (accounts,
//! groups, organisations) with the roles viewer / editor / manager enforced over WebDAV and
//! the JSON API; a quota per space; the space in every member's tree as a group-folder mount
//! that cannot be left; the data staying when a member's account goes; renaming and deleting.
//! And the cost property: with 10,000 members, listing and writing in a space issue exactly
//! as many SQL statements as with one (counted in the server's own statement log).

mod common;

use common::{Client, Reply, TestServer};
use serde_json::{json, Value};

const PROPS: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:prop><oc:permissions/><nc:mount-type/><d:getetag/></d:prop></d:propfind>"#;

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

fn api(client: &Client, method: &str, url: &str, body: Value) -> Reply {
    client.send(method, url, &[("Content-Type", "application/json")], body.to_string().as_bytes())
}

/// `(href, permissions, mount-type)` of each entry of a Depth-1 PROPFIND.
fn listing(client: &Client, url: &str) -> Vec<(String, String, String)> {
    let reply = client.propfind(url, "1", PROPS);
    assert_eq!(reply.status, 207, "PROPFIND {url}: {}", reply.text());
    let text = reply.text();
    text.split("<d:response>")
        .skip(1)
        .map(|response| {
            let between = |open: &str, close: &str| {
                response.split(open).nth(1).and_then(|rest| rest.split(close).next()).unwrap_or_default().to_string()
            };
            (
                between("<d:href>", "</d:href>"),
                between("<oc:permissions>", "</oc:permissions>"),
                between("<nc:mount-type>", "</nc:mount-type>"),
            )
        })
        .collect()
}

fn cli_ok(server: &TestServer, args: &[&str]) -> String {
    let (code, out, err) = server.cli(args, None);
    assert_eq!(code, 0, "hafen {args:?}: {out} {err}");
    out
}

fn members(list: &[(&str, &str, &str)]) -> Value {
    json!({"members": list.iter().map(|(kind, name, role)| json!({"type": kind, "name": name, "role": role})).collect::<Vec<_>>()})
}

#[test]
fn project_spaces_roles_quota_and_membership() {
    let server = TestServer::start();
    cli_ok(&server, &["org", "add", "stk", "--display-name", "Staatskanzlei"]);
    cli_ok(&server, &["org", "add", "gemeinde", "--display-name", "Gemeinde"]);
    cli_ok(&server, &["group", "add", "projekt"]);
    server.add_user("ada", "ada-password", &["--org", "stk", "--org-admin"]);
    server.add_user("bob", "bob-password", &["--org", "stk"]);
    server.add_user("eve", "eve-password", &["--org", "stk"]);
    server.add_user("carl", "carl-password", &["--org", "gemeinde"]);
    server.add_user("dora", "dora-password", &["--org", "gemeinde"]);
    server.add_user("pia", "pia-password", &["--org", "gemeinde"]);
    cli_ok(&server, &["group", "add-member", "projekt", "pia", "--admin"]);
    let [ada, bob, eve, carl, dora, pia] =
        ["ada", "bob", "eve", "carl", "dora", "pia"].map(|name| Client::new(name, &format!("{name}-password")));
    let spaces = format!("{}/api/v1/spaces", server.base);
    let space = format!("{spaces}/haushalt");

    // Who may create spaces: the organisation's administrators, the project group's.
    let body = json!({"name": "haushalt", "display_name": "Haushalt 2027", "org": "stk", "quota": 100_000});
    assert_eq!(api(&carl, "POST", &spaces, body.clone()).status, 403);
    assert_eq!(api(&bob, "POST", &spaces, body.clone()).status, 403);
    let created = api(&ada, "POST", &spaces, body.clone());
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(json_of(&created)["quota"], 100_000);
    assert_eq!(api(&ada, "POST", &spaces, body).status, 409);
    assert_eq!(api(&bob, "POST", &spaces, json!({"name": "bruecke", "group": "projekt"})).status, 403);
    assert_eq!(api(&pia, "POST", &spaces, json!({"name": "bruecke", "group": "projekt"})).status, 201);
    assert_eq!(api(&ada, "POST", &spaces, json!({"name": "x", "org": "stk", "group": "projekt"})).status, 400);

    // Members: accounts of any organisation, groups; roles.
    let added = api(
        &ada,
        "POST",
        &format!("{space}/members"),
        members(&[("user", "bob", "editor"), ("user", "eve", "viewer"), ("user", "dora", "manager")]),
    );
    assert_eq!(added.status, 200, "{}", added.text());
    assert_eq!(json_of(&added)["changed"], 3);
    assert_eq!(api(&ada, "POST", &format!("{space}/members"), members(&[("user", "bob", "boss")])).status, 400);
    assert_eq!(api(&ada, "POST", &format!("{space}/members"), members(&[("user", "nobody", "viewer")])).status, 404);

    // The space in the members' trees: a group-folder mount, not leavable (no D).
    let root = listing(&bob, &server.dav_url("bob", ""));
    let entry = root.iter().find(|(href, _, _)| href.ends_with("/Haushalt%202027/")).expect("space mounted");
    assert_eq!((entry.1.as_str(), entry.2.as_str()), ("SMGNVCK", "group"), "editor's mount: {root:?}");
    let root = listing(&eve, &server.dav_url("eve", ""));
    let entry = root.iter().find(|(href, _, _)| href.ends_with("/Haushalt%202027/")).expect("space mounted");
    assert_eq!(entry.1, "SMGNV", "viewer's mount");
    let root = listing(&dora, &server.dav_url("dora", ""));
    let entry = root.iter().find(|(href, _, _)| href.ends_with("/Haushalt%202027/")).expect("space mounted");
    assert_eq!(entry.1, "SRMGNVCK", "manager's mount");
    assert!(listing(&carl, &server.dav_url("carl", "")).iter().all(|(href, _, _)| !href.contains("Haushalt")));

    // Editors write, viewers read; the space's quota holds.
    assert_eq!(bob.put(&server.dav_url("bob", "Haushalt%202027/plan.txt"), b"Entwurf").status, 201);
    let inner = listing(&bob, &server.dav_url("bob", "Haushalt%202027/"));
    assert_eq!(inner[1].2, "group", "entries inside a space are group-mounted: {inner:?}");
    assert_eq!(eve.get(&server.dav_url("eve", "Haushalt%202027/plan.txt")).body, b"Entwurf");
    assert_eq!(eve.put(&server.dav_url("eve", "Haushalt%202027/plan.txt"), b"x").status, 403);
    assert_eq!(eve.delete(&server.dav_url("eve", "Haushalt%202027/plan.txt")).status, 403);
    assert_eq!(bob.put(&server.dav_url("bob", "Haushalt%202027/gross.bin"), &vec![7u8; 200_000]).status, 507);
    assert_eq!(bob.put(&server.dav_url("bob", "Haushalt%202027/mittel.bin"), &vec![7u8; 50_000]).status, 201);
    // It is the space's quota, not bob's: his own files are not limited by it.
    assert_eq!(bob.put(&server.dav_url("bob", "eigen.bin"), &vec![7u8; 200_000]).status, 201);

    // A space cannot be left by deleting its mount.
    assert_eq!(bob.delete(&server.dav_url("bob", "Haushalt%202027")).status, 403);
    assert!(listing(&bob, &server.dav_url("bob", "")).iter().any(|(href, _, _)| href.contains("Haushalt")));

    // Only managers (and the administrators) change members; a manager of another
    // organisation may. Non-members do not see the space at all.
    assert_eq!(api(&carl, "GET", &space, json!({})).status, 404);
    assert_eq!(api(&bob, "POST", &format!("{space}/members"), members(&[("user", "carl", "viewer")])).status, 403);
    let by_manager = api(&dora, "POST", &format!("{space}/members"), members(&[("user", "carl", "viewer")]));
    assert_eq!(by_manager.status, 200, "{}", by_manager.text());
    assert_eq!(carl.get(&server.dav_url("carl", "Haushalt%202027/plan.txt")).body, b"Entwurf");
    let listed = json_of(&api(&eve, "GET", &format!("{space}/members"), json!({})));
    let mut roles: Vec<(String, String)> = listed
        .as_array()
        .expect("members list")
        .iter()
        .map(|member| {
            (member["name"].as_str().unwrap_or_default().into(), member["role"].as_str().unwrap_or_default().into())
        })
        .collect();
    roles.sort();
    let expected: Vec<(String, String)> =
        [("bob", "editor"), ("carl", "viewer"), ("dora", "manager"), ("eve", "viewer")]
            .map(|(name, role)| (name.to_string(), role.to_string()))
            .to_vec();
    assert_eq!(roles, expected);
    // Role changes take effect at once.
    api(&dora, "POST", &format!("{space}/members"), members(&[("user", "eve", "editor")]));
    assert_eq!(eve.put(&server.dav_url("eve", "Haushalt%202027/notiz.txt"), b"eve").status, 201);

    // Managers may share further (reshare bit); editors may not.
    let link = |client: &Client| {
        api(
            client,
            "POST",
            &format!("{}/api/v1/shares", server.base),
            json!({"path": "/Haushalt 2027/plan.txt", "type": "link"}),
        )
    };
    assert_eq!(link(&bob).status, 403);
    assert_eq!(link(&dora).status, 201);
    // Space memberships are not shares: they are not listed or changed through the share API.
    let received = json_of(&api(&eve, "GET", &format!("{}/api/v1/shares?shared_with_me=true", server.base), json!({})));
    assert_eq!(received, json!([]));

    // Group members are members; removing a member ends their access.
    cli_ok(&server, &["group", "add-member", "projekt", "carl"]);
    api(&ada, "POST", &format!("{space}/members"), members(&[("group", "projekt", "viewer")]));
    assert_eq!(api(&ada, "DELETE", &format!("{space}/members/user/carl"), json!({})).status, 204);
    assert_eq!(carl.get(&server.dav_url("carl", "Haushalt%202027/plan.txt")).status, 200, "still in via projekt");
    cli_ok(&server, &["group", "remove-member", "projekt", "carl"]);
    assert_eq!(carl.get(&server.dav_url("carl", "Haushalt%202027/plan.txt")).status, 404);

    // The data stays when a member's account goes.
    assert_eq!(api(&ada, "DELETE", &format!("{}/api/v1/users/bob", server.base), json!({})).status, 204);
    assert_eq!(eve.get(&server.dav_url("eve", "Haushalt%202027/plan.txt")).body, b"Entwurf");

    // Quota and name: administrators only; members see the new name.
    assert_eq!(api(&dora, "PATCH", &space, json!({"quota": 10})).status, 403);
    let renamed = api(&ada, "PATCH", &space, json!({"display_name": "Haushalt 2028", "quota": 300_000}));
    assert_eq!(renamed.status, 200, "{}", renamed.text());
    assert_eq!(json_of(&renamed)["quota"], 300_000);
    assert_eq!(eve.get(&server.dav_url("eve", "Haushalt%202028/plan.txt")).body, b"Entwurf");
    let listed = cli_ok(&server, &["space", "list"]);
    assert!(listed.contains("haushalt\tHaushalt 2028\tstk\t300000"), "{listed}");

    // Deleting the space takes it out of every tree.
    assert_eq!(api(&dora, "DELETE", &space, json!({})).status, 403);
    assert_eq!(api(&ada, "DELETE", &space, json!({})).status, 204);
    assert!(listing(&eve, &server.dav_url("eve", "")).iter().all(|(href, _, _)| !href.contains("Haushalt")));
    assert_eq!(api(&ada, "GET", &space, json!({})).status, 404);
}

#[test]
fn cli_manages_spaces() {
    let server = TestServer::start();
    cli_ok(&server, &["org", "add", "amt"]);
    server.add_user("ina", "ina-password", &["--org", "amt"]);
    cli_ok(&server, &["space", "add", "akten", "--org", "amt", "--display-name", "Akten", "--quota", "5000"]);
    cli_ok(&server, &["space", "add-member", "akten", "user:ina", "org:amt", "--role", "viewer"]);
    cli_ok(&server, &["space", "add-member", "akten", "ina", "--role", "manager"]);
    let out = cli_ok(&server, &["space", "members", "akten"]);
    assert_eq!(out, "user:ina\tmanager\norg:amt\tviewer\n");
    let ina = Client::new("ina", "ina-password");
    assert_eq!(ina.put(&server.dav_url("ina", "Akten/a.txt"), b"a").status, 201);
    cli_ok(&server, &["space", "quota", "akten", "1"]);
    assert_eq!(ina.put(&server.dav_url("ina", "Akten/b.txt"), b"bb").status, 507);
    cli_ok(&server, &["space", "remove-member", "akten", "user:ina"]);
    assert_eq!(ina.put(&server.dav_url("ina", "Akten/c.txt"), b"c").status, 403, "viewer through the organisation");
    let (code, _, err) = server.cli(&["space", "add-member", "akten", "team:x"], None);
    assert_ne!(code, 0);
    assert!(err.contains("unknown member type"), "{err}");
    cli_ok(&server, &["space", "del", "akten"]);
    assert_eq!(ina.get(&server.dav_url("ina", "Akten/a.txt")).status, 404);
}

/// SQL statements the server logged so far (sqlx logs each at debug level, target
/// `sqlx::query`).
fn statements_logged(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter(|line| line.contains("sqlx::query")).count()
}

/// Statements one request costs: the log's growth while it runs.
fn statements_of(log: &std::path::Path, request: impl FnOnce() -> Reply, expected_status: u16) -> usize {
    let before = statements_logged(log);
    let reply = request();
    assert_eq!(reply.status, expected_status, "{}", reply.text());
    // The log is written synchronously by the statement's own task, before the response.
    let after = statements_logged(log);
    if std::env::var_os("HAFEN_TEST_SHOW_SQL").is_some() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines().filter(|line| line.contains("sqlx::query")).skip(before) {
            eprintln!("SQL: {}", line.chars().take(300).collect::<String>());
        }
    }
    after - before
}

#[test]
fn listing_and_writing_in_a_space_cost_the_same_with_10000_members() {
    const MEMBERS: usize = 10_000;
    let log_dir = tempfile::tempdir().expect("tempdir");
    let log = log_dir.path().join("server.log");
    let server = TestServer::start_logging(&[], &[("HAFEN_LOG", "warn,sqlx::query=debug")], Some(&log));
    cli_ok(&server, &["org", "add", "land"]);
    server.add_user("bob", "bob-password", &["--org", "land"]);
    // 10,000 accounts in one import (one transaction).
    let accounts = log_dir.path().join("accounts.tsv");
    let lines: String = (0..MEMBERS).map(|n| format!("m{n:05}\tMitglied {n}\tm{n:05}@land.example\n")).collect();
    std::fs::write(&accounts, lines).expect("write accounts");
    let out = cli_ok(&server, &["user", "import", accounts.to_str().expect("path"), "--org", "land"]);
    assert_eq!(out.trim(), format!("created {MEMBERS} accounts"));
    cli_ok(&server, &["space", "add", "gross", "--org", "land", "--display-name", "Gross"]);
    cli_ok(&server, &["space", "add", "klein", "--org", "land", "--display-name", "Klein"]);
    let admin = Client::new("admin", common::ADMIN_PASSWORD);
    let many: Vec<(String, &str)> = (0..MEMBERS).map(|n| (format!("m{n:05}"), "viewer")).collect();
    let mut list: Vec<(&str, &str, &str)> = many.iter().map(|(name, role)| ("user", name.as_str(), *role)).collect();
    list.push(("user", "bob", "editor"));
    let added = api(&admin, "POST", &format!("{}/api/v1/spaces/gross/members", server.base), members(&list));
    assert_eq!(added.status, 200, "{}", added.text());
    assert_eq!(json_of(&added)["changed"], MEMBERS + 1);
    let added = api(
        &admin,
        "POST",
        &format!("{}/api/v1/spaces/klein/members", server.base),
        members(&[("user", "bob", "editor")]),
    );
    assert_eq!(added.status, 200, "{}", added.text());

    let bob = Client::new("bob", "bob-password");
    for space in ["Gross", "Klein"] {
        for n in 0..20 {
            assert_eq!(bob.put(&server.dav_url("bob", &format!("{space}/f{n}.txt")), b"data").status, 201);
        }
    }
    // A member of the big space sees it like any other mount.
    // Imported accounts have no password: they sign in once one is set.
    let (code, out, err) = server.cli(&["user", "passwd", "m00042", "--password-stdin"], Some("m42-password\n"));
    assert_eq!(code, 0, "{out} {err}");
    let m42 = Client::new("m00042", "m42-password");
    assert_eq!(m42.get(&server.dav_url("m00042", "Gross/f3.txt")).body, b"data");
    assert_eq!(m42.put(&server.dav_url("m00042", "Gross/f3.txt"), b"no").status, 403);

    let mut costs = Vec::new();
    for space in ["Gross", "Klein"] {
        let url = server.dav_url("bob", &format!("{space}/"));
        // Warm the authentication cache, then count.
        assert_eq!(listing(&bob, &url).len(), 21);
        let list = statements_of(&log, || bob.propfind(&url, "1", PROPS), 207);
        let root = statements_of(&log, || bob.propfind(&server.dav_url("bob", ""), "1", PROPS), 207);
        let write = statements_of(&log, || bob.put(&server.dav_url("bob", &format!("{space}/f1.txt")), b"new"), 204);
        let read = statements_of(&log, || bob.get(&server.dav_url("bob", &format!("{space}/f2.txt"))), 200);
        costs.push((space, list, root, write, read));
    }
    let (_, list, _, write, read) = costs[0];
    assert!(list > 0 && write > 0 && read > 0, "no statements counted (is sqlx logging?): {costs:?}");
    assert_eq!(
        (costs[0].1, costs[0].2, costs[0].3, costs[0].4),
        (costs[1].1, costs[1].2, costs[1].3, costs[1].4),
        "statements per request (listing, root listing, write, read) must not depend on the number of members: {costs:?}"
    );
    // Fewer statements than the listing has entries (20): nothing is looked up per entry.
    assert!(list <= 16, "a listing should take a handful of statements, not {list}: {costs:?}");
    eprintln!("statements per request with {MEMBERS} vs 1 members: {costs:?}");
}
