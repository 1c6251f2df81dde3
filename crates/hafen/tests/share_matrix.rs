//! Authorization matrix (issue 6, acceptance 1): every endpoint family (WebDAV, public
//! WebDAV, OCS shares, JSON API, web pages) × every role (owner, recipients with each
//! permission, group member, another organisation's user and admin, guest, anonymous with a
//! link, with a wrong password, with an expired link, server admin). Every cell's expected
//! status is asserted; all mismatches are collected and reported together, and after every
//! refused write the owner's file is checked unchanged.

mod common;

use common::{Client, TestServer, ADMIN_PASSWORD};
use serde_json::{json, Value};

const PLAN: &[u8] = b"Plan des Ministeriums";

struct Role {
    name: &'static str,
    /// Account and password; `None` for anonymous link users.
    account: Option<(&'static str, &'static str)>,
    /// Where the shared folder appears in the role's own tree (`None`: not at all).
    mount: Option<&'static str>,
    /// Share permission bits the role holds on /Akten (owner 31).
    perms: i64,
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

#[test]
fn every_role_gets_exactly_its_rights_on_every_endpoint_family() {
    let server = TestServer::start();
    for args in [vec!["org", "add", "ministerium"], vec!["org", "add", "gemeinde"], vec!["group", "add", "projekt"]] {
        assert_eq!(server.cli(&args, None).0, 0, "{args:?}");
    }
    server.add_user("alice", "pw-alice", &["--org", "ministerium"]);
    for name in ["r1", "ru3", "rc5", "rd9", "rall"] {
        server.add_user(name, &format!("pw-{name}"), &["--org", "ministerium"]);
    }
    server.add_user("gina", "pw-gina", &["--org", "gemeinde"]);
    server.add_user("carol", "pw-carol", &["--org", "gemeinde"]);
    server.add_user("tom", "pw-tom", &["--org", "gemeinde", "--org-admin"]);
    // Receives the reshares (not a role, so the other rows stay independent).
    server.add_user("zoe", "pw-zoe", &["--org", "gemeinde"]);
    assert_eq!(server.cli(&["group", "add-member", "projekt", "gina"], None).0, 0);
    let (code, out, _) = server.cli(&["guest", "invite", "gast@firma.example", "--by", "alice"], None);
    assert_eq!(code, 0, "{out}");
    let invitation =
        out.lines().find_map(|line| line.split("/invite/").nth(1)).expect("invitation link").trim().to_string();
    let set = Client::anonymous().send(
        "POST",
        &format!("{}/invite/{invitation}", server.base),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"password=pw-gast-0123",
    );
    assert_eq!(set.status, 200);

    let alice = Client::new("alice", "pw-alice");
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akten")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Akten/plan.txt"), PLAN).status, 201);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Privat")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Privat/secret.txt"), b"geheim").status, 201);
    let share = |body: Value| {
        let reply = alice.send(
            "POST",
            &format!("{}/api/v1/shares", server.base),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(reply.status, 201, "{body}: {}", reply.text());
        json_of(&reply.body)
    };
    let mut share_ids = std::collections::HashMap::new();
    for (name, perms) in [("r1", 1), ("ru3", 3), ("rc5", 5), ("rd9", 9), ("rall", 31), ("gast@firma.example", 15)] {
        let made = share(json!({"path": "/Akten", "type": "user", "with": name, "permissions": perms}));
        share_ids.insert(name, made["id"].as_str().expect("id").to_string());
    }
    share(json!({"path": "/Akten", "type": "group", "with": "projekt", "permissions": 1}));
    let read_link = share(json!({"path": "/Akten", "type": "link", "permissions": 1}));
    let password_link = share(json!({"path": "/Akten", "type": "link", "password": "Link-Passwort-1"}));
    let expired_link = share(json!({"path": "/Akten", "type": "link", "expires_at": 1_000_000_000}));
    let token = |link: &Value| link["token"].as_str().expect("token").to_string();
    let (read_token, password_token, expired_token) = (token(&read_link), token(&password_link), token(&expired_link));

    let roles = [
        Role { name: "owner", account: Some(("alice", "pw-alice")), mount: Some("Akten"), perms: 31 },
        Role { name: "recipient read", account: Some(("r1", "pw-r1")), mount: Some("Akten"), perms: 1 },
        Role { name: "recipient read+update", account: Some(("ru3", "pw-ru3")), mount: Some("Akten"), perms: 3 },
        Role { name: "recipient read+create", account: Some(("rc5", "pw-rc5")), mount: Some("Akten"), perms: 5 },
        Role { name: "recipient read+delete", account: Some(("rd9", "pw-rd9")), mount: Some("Akten"), perms: 9 },
        Role { name: "recipient all", account: Some(("rall", "pw-rall")), mount: Some("Akten"), perms: 31 },
        Role { name: "group member", account: Some(("gina", "pw-gina")), mount: Some("Akten"), perms: 1 },
        Role { name: "other organisation's user", account: Some(("carol", "pw-carol")), mount: None, perms: 0 },
        Role { name: "other organisation's admin", account: Some(("tom", "pw-tom")), mount: None, perms: 0 },
        Role { name: "guest", account: Some(("gast@firma.example", "pw-gast-0123")), mount: Some("Akten"), perms: 15 },
        Role { name: "server admin", account: Some(("admin", ADMIN_PASSWORD)), mount: None, perms: 0 },
        Role { name: "anonymous with link", account: None, mount: None, perms: 0 },
        Role { name: "anonymous, wrong password", account: None, mount: None, perms: 0 },
        Role { name: "anonymous, expired link", account: None, mount: None, perms: 0 },
    ];
    let mut mismatches = Vec::new();
    let mut cells = 0;
    let mut check = |role: &str, operation: &str, expected: u16, got: u16, body: String| {
        cells += 1;
        if expected != got {
            mismatches.push(format!("{role} / {operation}: expected {expected}, got {got} {body}"));
        }
    };
    let plan_unchanged = |what: &str| {
        let now = alice.get(&server.dav_url("alice", "Akten/plan.txt"));
        assert_eq!(now.body, PLAN, "plan.txt changed after {what}");
    };

    for role in &roles {
        // Per-role victims, so each delete row is independent.
        let victim = format!("victim-{}.txt", role.name.replace([' ', ',', '\'', '+'], "-"));
        assert_eq!(alice.put(&server.dav_url("alice", &format!("Akten/{victim}")), b"victim").status, 201);
        let Some((user, password)) = role.account else {
            // Anonymous roles: the account endpoints want credentials.
            let anonymous = Client::anonymous();
            for (operation, url) in [
                ("WebDAV PROPFIND alice's tree", server.dav_url("alice", "Akten")),
                ("OCS list shares", format!("{}/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json", server.base)),
                ("JSON API list shares", format!("{}/api/v1/shares", server.base)),
            ] {
                let reply =
                    anonymous.send(if operation.contains("PROPFIND") { "PROPFIND" } else { "GET" }, &url, &[], b"");
                check(role.name, operation, 401, reply.status, String::new());
            }
            let (link_token, password, dav_get, dav_put, page) = match role.name {
                "anonymous with link" => (read_token.clone(), None, 200, 403, 200),
                "anonymous, wrong password" => (password_token.clone(), Some("falsch"), 401, 401, 401),
                _ => (expired_token.clone(), None, 404, 404, 404),
            };
            let client = match password {
                Some(password) => Client::new("anonymous", password),
                None => Client::anonymous(),
            };
            let public = format!("{}/public.php/dav/files/{link_token}", server.base);
            check(
                role.name,
                "public WebDAV GET",
                dav_get,
                client.get(&format!("{public}/plan.txt")).status,
                String::new(),
            );
            let put = client.put(&format!("{public}/plan.txt"), b"overwritten");
            check(role.name, "public WebDAV PUT", dav_put, put.status, put.text());
            plan_unchanged("a public PUT");
            let delete = client.delete(&format!("{public}/{victim}"));
            check(
                role.name,
                "public WebDAV DELETE",
                if dav_get == 200 { 403 } else { dav_get },
                delete.status,
                String::new(),
            );
            let page_reply = Client::anonymous().get(&format!("{}/s/{link_token}", server.base));
            check(role.name, "web page", page, page_reply.status, String::new());
            let download = Client::anonymous().get(&format!("{}/s/{link_token}/download?path=/plan.txt", server.base));
            check(role.name, "web download", page, download.status, String::new());
            if page == 200 {
                let private = Client::anonymous()
                    .get(&format!("{}/s/{link_token}/download?path=/../Privat/secret.txt", server.base));
                check(role.name, "web download outside the link", 400, private.status, String::new());
            }
            continue;
        };
        let client = Client::new(user, password);
        let granted = |bits: i64| role.perms & bits == bits;
        let in_mount = |rest: &str| match role.mount {
            Some(mount) => server.dav_url(user, &format!("{mount}/{rest}")),
            None => server.dav_url(user, &format!("Akten/{rest}")),
        };
        let visible = role.mount.is_some();
        // Denied writes on a visible item are 403; on an invisible one 404 (nothing to see).
        let write_status = |allowed: bool, created: u16| {
            if allowed {
                created
            } else if visible {
                403
            } else {
                404
            }
        };

        let get = client.get(&in_mount("plan.txt"));
        check(role.name, "WebDAV GET", if visible { 200 } else { 404 }, get.status, String::new());
        if visible {
            assert_eq!(get.body, PLAN, "{}", role.name);
        }
        let put = client.put(&in_mount("plan.txt"), b"overwritten");
        let update_ok = granted(2);
        // An invisible parent: the PUT lands in the role's own tree as a new file only if
        // its own "Akten" existed; none does, so 409.
        let put_expected = if !visible { 409 } else { write_status(update_ok, 204) };
        check(role.name, "WebDAV PUT existing", put_expected, put.status, put.text());
        if update_ok {
            assert_eq!(alice.put(&server.dav_url("alice", "Akten/plan.txt"), PLAN).status, 204);
        }
        plan_unchanged("a refused PUT");
        let create = client.put(&in_mount(&format!("new-{victim}")), b"new");
        check(
            role.name,
            "WebDAV PUT new",
            if !visible { 409 } else { write_status(granted(4), 201) },
            create.status,
            create.text(),
        );
        let mkcol = client.mkcol(&in_mount(&format!("dir-{victim}")));
        check(
            role.name,
            "WebDAV MKCOL",
            if !visible { 409 } else { write_status(granted(4), 201) },
            mkcol.status,
            mkcol.text(),
        );
        let delete = client.delete(&in_mount(&victim));
        check(
            role.name,
            "WebDAV DELETE",
            if !visible { 404 } else { write_status(granted(8), 204) },
            delete.status,
            delete.text(),
        );
        let victim_left = alice.get(&server.dav_url("alice", &format!("Akten/{victim}"))).status;
        check(
            role.name,
            "victim still there unless deleted",
            if visible && granted(8) { 404 } else { 200 },
            victim_left,
            String::new(),
        );
        let foreign = client.propfind(&server.dav_url("alice", "Akten"), "0", "");
        check(
            role.name,
            "WebDAV alice's own URL",
            if user == "alice" { 207 } else { 403 },
            foreign.status,
            String::new(),
        );
        let private = client.get(&server.dav_url(user, "Privat/secret.txt"));
        check(role.name, "WebDAV private file", if user == "alice" { 200 } else { 404 }, private.status, String::new());
        let public = client.get(&format!("{}/public.php/dav/files/{read_token}/plan.txt", server.base));
        check(role.name, "public WebDAV GET with the link", 200, public.status, String::new());

        // OCS: resharing needs the share bit (and is never allowed to guests); an invisible
        // item is not found.
        let reshare = client.send(
            "POST",
            &format!("{}/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json", server.base),
            &[("OCS-APIRequest", "true"), ("Content-Type", "application/x-www-form-urlencoded")],
            b"path=/Akten&shareType=0&shareWith=zoe&permissions=1",
        );
        let reshare_expected = if !visible {
            404
        } else if granted(16) {
            200
        } else {
            403
        };
        check(role.name, "OCS reshare to zoe", reshare_expected, reshare.status, reshare.text());
        let sees_share = user == "alice" || user == "ru3" || user == "admin";
        let one = client.send(
            "GET",
            &format!("{}/ocs/v2.php/apps/files_sharing/api/v1/shares/{}?format=json", server.base, share_ids["ru3"]),
            &[("OCS-APIRequest", "true")],
            b"",
        );
        check(role.name, "OCS get the share to ru3", if sees_share { 200 } else { 404 }, one.status, String::new());
        let raise = client.send(
            "PUT",
            &format!("{}/ocs/v2.php/apps/files_sharing/api/v1/shares/{}?format=json", server.base, share_ids["ru3"]),
            &[("OCS-APIRequest", "true"), ("Content-Type", "application/x-www-form-urlencoded")],
            b"permissions=31",
        );
        let may_manage = user == "alice" || user == "admin";
        let raise_expected = if may_manage {
            200
        } else if user == "ru3" {
            403
        } else {
            404
        };
        check(role.name, "OCS raise the share to ru3", raise_expected, raise.status, raise.text());
        if may_manage {
            let back = alice.send(
                "PUT",
                &format!(
                    "{}/ocs/v2.php/apps/files_sharing/api/v1/shares/{}?format=json",
                    server.base, share_ids["ru3"]
                ),
                &[("OCS-APIRequest", "true"), ("Content-Type", "application/x-www-form-urlencoded")],
                b"permissions=3",
            );
            assert_eq!(back.status, 200);
        }

        // JSON API administration: only administrators list accounts; an organisation's
        // administrator creates accounts in their own organisation only.
        let users = client.get(&format!("{}/api/v1/users", server.base));
        check(
            role.name,
            "JSON list accounts",
            if user == "admin" || user == "tom" { 200 } else { 403 },
            users.status,
            String::new(),
        );
        if user == "tom" {
            let names: Vec<String> = json_of(&users.body)
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u["name"].as_str().map(str::to_string))
                .collect();
            check(
                role.name,
                "org admin lists only the own organisation",
                1,
                u16::from(names.iter().all(|n| ["gina", "carol", "tom", "zoe"].contains(&n.as_str()))),
                format!("{names:?}"),
            );
        }
        let new_account = format!("neu-{}", user.replace('@', "-at-"));
        let create_in_ministry = client.send(
            "POST",
            &format!("{}/api/v1/users", server.base),
            &[("Content-Type", "application/json")],
            json!({"name": new_account, "password": "pw-neu-0123", "org": "ministerium"}).to_string().as_bytes(),
        );
        check(
            role.name,
            "JSON create account in ministerium",
            if user == "admin" { 201 } else { 403 },
            create_in_ministry.status,
            create_in_ministry.text(),
        );
        let create_in_gemeinde = client.send(
            "POST",
            &format!("{}/api/v1/users", server.base),
            &[("Content-Type", "application/json")],
            json!({"name": format!("{new_account}-g"), "password": "pw-neu-0123", "org": "gemeinde"})
                .to_string()
                .as_bytes(),
        );
        check(
            role.name,
            "JSON create account in gemeinde",
            if user == "admin" || user == "tom" { 201 } else { 403 },
            create_in_gemeinde.status,
            create_in_gemeinde.text(),
        );
        if user != "admin" {
            // (The admin's delete would remove the owner: checked after the loop.)
            let delete_alice = client.delete(&format!("{}/api/v1/users/alice", server.base));
            check(role.name, "JSON delete alice", 403, delete_alice.status, String::new());
        }
        let invite = client.send(
            "POST",
            &format!("{}/api/v1/guests", server.base),
            &[("Content-Type", "application/json")],
            json!({"email": format!("{}@gast.example", user.replace('@', "-"))}).to_string().as_bytes(),
        );
        check(
            role.name,
            "JSON invite a guest",
            if user.contains('@') { 403 } else { 201 },
            invite.status,
            invite.text(),
        );
        // Web pages: a password-protected link without the password is closed to everyone.
        let page = client.get(&format!("{}/s/{password_token}", server.base));
        check(role.name, "web page of a password link", 401, page.status, String::new());
    }
    // The admin's delete of the owner, last.
    let admin = Client::new("admin", ADMIN_PASSWORD);
    check(
        "server admin",
        "JSON delete alice",
        204,
        admin.delete(&format!("{}/api/v1/users/alice", server.base)).status,
        String::new(),
    );
    assert!(cells > 150, "the matrix has {cells} cells");
    assert!(mismatches.is_empty(), "{} of {cells} cells differ:\n{}", mismatches.len(), mismatches.join("\n"));
}
