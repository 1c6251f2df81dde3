//! Audit log end to end (issue 9) against the real binary: logins (WebDAV Basic with password
//! and app password, failures, the web login form, a Login Flow v2 grant), app-password
//! creation and revocation, share creation, change and removal, public-link access with and
//! without password and a wrong password, a file-drop upload and account, organisation and
//! group changes all show up in `hafen audit export --format jsonl` with actor, address and
//! object, and no password or token appears anywhere in the export. `hafen audit verify`
//! passes; then three copies of the SQLite database are tampered with (one byte of an entry
//! changed, a middle entry deleted, two entries' ids swapped) and verification fails naming
//! the entry each time. The tampering needs the SQLite file (skipped on postgres-s3).

mod common;

use common::{run_cli, test_tmp_root, Client, Reply, TestServer};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

fn api(client: &Client, method: &str, url: &str, body: Value) -> Reply {
    client.send(method, url, &[("Content-Type", "application/json")], body.to_string().as_bytes())
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            let encoded: String = value
                .bytes()
                .map(|byte| match byte {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
                    other => format!("%{other:02X}"),
                })
                .collect();
            format!("{name}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn form_post(url: &str, origin: &str, fields: &[(&str, &str)]) -> Reply {
    Client::anonymous().send(
        "POST",
        url,
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin)],
        form(fields).as_bytes(),
    )
}

/// The value of the hidden input `name` in an HTML page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in page: {html}")) + marker.len();
    let end = html[start..].find('"').expect("attribute end") + start;
    html[start..end].to_string()
}

/// A JSON id (string or number) as text.
fn id_of(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_string)
}

fn cli_ok(server: &TestServer, args: &[&str]) -> String {
    let (code, out, err) = server.cli(args, None);
    assert_eq!(code, 0, "hafen {args:?}: {out} {err}");
    out
}

fn export(server: &TestServer) -> (String, Vec<Value>) {
    let out = cli_ok(server, &["audit", "export", "--format", "jsonl"]);
    let entries = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}")))
        .collect();
    (out, entries)
}

/// The entries with this action (and actor, when given).
fn with<'a>(entries: &'a [Value], action: &str, actor: Option<&str>) -> Vec<&'a Value> {
    entries
        .iter()
        .filter(|entry| entry["action"] == action && actor.is_none_or(|actor| entry["actor"] == actor))
        .collect()
}

fn expect_one<'a>(entries: &'a [Value], action: &str, actor: &str) -> &'a Value {
    with(entries, action, Some(actor))
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no {action} by {actor} in {entries:#?}"))
}

#[test]
fn every_audited_event_is_exported_and_tampering_is_detected() {
    let server = TestServer::start();
    let origin = server.base.clone();
    cli_ok(&server, &["org", "add", "amt"]);
    cli_ok(&server, &["group", "add", "team"]);
    server.add_user("alice", "alice-password-1", &["--org", "amt"]);
    server.add_user("bob", "bob-password-1", &[]);
    cli_ok(&server, &["group", "add-member", "team", "bob"]);
    cli_ok(&server, &["user", "set-org", "bob", "--org", "amt"]);
    let alice = Client::new("alice", "alice-password-1");

    // Logins: WebDAV Basic success and failure.
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akten")).status, 201);
    assert_eq!(Client::new("alice", "wrong-password").mkcol(&server.dav_url("alice", "x")).status, 401);
    // App password by the CLI, used, revoked.
    let token = cli_ok(&server, &["user", "app-password", "alice", "--label", "laptop"]);
    let app_password = token.split_whitespace().last().expect("token").to_string();
    assert_eq!(Client::new("alice", &app_password).propfind(&server.dav_url("alice", ""), "0", "").status, 207);
    let listed = json_of(&alice.get(&format!("{}/api/v1/app-passwords", server.base)));
    let id = listed.as_array().and_then(|list| list.first()).map(|entry| id_of(&entry["id"])).expect("an app password");
    assert!(alice.send("DELETE", &format!("{}/api/v1/app-passwords/{id}", server.base), &[], b"").status < 300);
    // The web login form.
    let web = form_post(
        &format!("{}/login", server.base),
        &origin,
        &[("user", "alice"), ("password", "alice-password-1"), ("redirect_url", "/apps/files/")],
    );
    assert_eq!(web.status, 303, "{}", web.text());
    // Login Flow v2 up to the grant.
    let started = Client::anonymous().send("POST", &format!("{}/index.php/login/v2", server.base), &[], b"");
    let login_url = json_of(&started)["login"].as_str().expect("login url").to_string();
    let flow_page = Client::anonymous().get(&login_url).text();
    let grant_page = form_post(
        &login_url,
        &origin,
        &[("form_token", &hidden(&flow_page, "form_token")), ("user", "bob"), ("password", "bob-password-1")],
    );
    assert_eq!(grant_page.status, 200, "{}", grant_page.text());
    let grant_html = grant_page.text();
    let granted = form_post(
        &format!("{login_url}/grant"),
        &origin,
        &[
            ("form_token", &hidden(&grant_html, "form_token")),
            ("user", "bob"),
            ("grant_token", &hidden(&grant_html, "grant_token")),
        ],
    );
    assert!(granted.status < 400, "grant: {} {}", granted.status, granted.text());

    // Shares: created, changed, removed; a link with a password; a file drop.
    assert_eq!(alice.put(&server.dav_url("alice", "Akten/plan.txt"), b"Plan").status, 201);
    let shares = format!("{}/api/v1/shares", server.base);
    let share =
        api(&alice, "POST", &shares, json!({"path": "/Akten", "type": "user", "with": "bob", "permissions": 1}));
    assert_eq!(share.status, 201, "{}", share.text());
    let share_id = id_of(&json_of(&share)["id"]);
    let changed = api(&alice, "PATCH", &format!("{shares}/{share_id}"), json!({"permissions": 3}));
    assert!(changed.status < 300, "{}", changed.text());
    assert!(alice.send("DELETE", &format!("{shares}/{share_id}"), &[], b"").status < 300);
    let link = json_of(&api(
        &alice,
        "POST",
        &shares,
        json!({"path": "/Akten/plan.txt", "type": "link", "password": "Link-Secret-77"}),
    ));
    let link_token = link["token"].as_str().expect("token").to_string();
    let open = json_of(&api(&alice, "POST", &shares, json!({"path": "/Akten", "type": "link"})));
    let open_token = open["token"].as_str().expect("token").to_string();
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Eingang")).status, 201);
    let drop = json_of(&api(&alice, "POST", &shares, json!({"path": "/Eingang", "type": "link", "permissions": 4})));
    let drop_token = drop["token"].as_str().expect("token").to_string();
    let public = |token: &str| format!("{}/public.php/dav/files/{token}", server.base);
    assert_eq!(Client::new("anonymous", "wrong-guess").get(&public(&link_token)).status, 401);
    assert_eq!(Client::new("anonymous", "Link-Secret-77").get(&public(&link_token)).status, 200);
    assert_eq!(Client::anonymous().get(&format!("{}/s/{open_token}", server.base)).status, 200);
    assert_eq!(Client::anonymous().put(&format!("{}/antrag.pdf", public(&drop_token)), b"Antrag").status, 201);

    // Administration through the CLI (operator).
    let (code, out, err) = server.cli(&["user", "add", "dave", "--password-stdin"], Some("dave-password-1\n"));
    assert_eq!(code, 0, "{out} {err}");
    cli_ok(&server, &["group", "remove-member", "team", "bob"]);
    cli_ok(&server, &["user", "del", "dave"]);

    let (raw, entries) = export(&server);
    let alice_login = expect_one(&entries, "login.success", "alice");
    assert_eq!(alice_login["ip"], "127.0.0.1");
    assert_eq!(alice_login["object"], "alice");
    assert!(alice_login["at"].as_str().is_some_and(|at| at.ends_with('Z') && at.contains('T')), "{alice_login}");
    assert!(alice_login["hash"].as_str().is_some_and(|hash| hash.len() == 64));
    let methods: Vec<(&Value, &Value)> = with(&entries, "login.success", Some("alice"))
        .iter()
        .map(|e| (&e["detail"]["via"], &e["detail"]["method"]))
        .collect();
    assert!(methods.contains(&(&json!("basic"), &json!("app_password"))), "{methods:?}");
    assert!(methods.contains(&(&json!("web"), &json!("password"))), "{methods:?}");
    assert_eq!(expect_one(&entries, "login.failure", "alice")["ip"], "127.0.0.1");
    assert_eq!(expect_one(&entries, "login.success", "bob")["detail"]["via"], "login_flow");
    expect_one(&entries, "login_flow.grant", "bob");
    expect_one(&entries, "app_password.create", "bob");
    assert_eq!(expect_one(&entries, "app_password.create", "operator")["object"], "alice");
    assert_eq!(expect_one(&entries, "app_password.revoke", "alice")["object"], "alice");
    expect_one(&entries, "web_session.start", "alice");
    let created = expect_one(&entries, "share.create", "alice");
    assert_eq!((&created["object"], &created["detail"]["recipient"]), (&json!("/Akten"), &json!("user:bob")));
    assert_eq!(expect_one(&entries, "share.update", "alice")["detail"]["permissions"], 3);
    assert_eq!(id_of(&expect_one(&entries, "share.delete", "alice")["detail"]["share_id"]), share_id);
    let link_actor = format!("link:{}", id_of(&link["id"]));
    assert_eq!(expect_one(&entries, "link.password_failed", &link_actor)["ip"], "127.0.0.1");
    let accessed = expect_one(&entries, "link.access", &link_actor);
    assert_eq!((&accessed["ip"], &accessed["detail"]["password"]), (&json!("127.0.0.1"), &json!(true)));
    assert_eq!(accessed["object"], "alice/Akten/plan.txt");
    let opened = expect_one(&entries, "link.access", &format!("link:{}", id_of(&open["id"])));
    assert_eq!(opened["detail"]["password"], false);
    let dropped = expect_one(&entries, "file_drop.upload", &format!("link:{}", id_of(&drop["id"])));
    assert!(dropped["object"].as_str().is_some_and(|object| object.starts_with("alice/Eingang/antrag")), "{dropped}");
    assert_eq!(expect_one(&entries, "org.create", "operator")["object"], "amt");
    assert_eq!(expect_one(&entries, "group.create", "operator")["object"], "team");
    let member = expect_one(&entries, "group.member_set", "operator");
    assert_eq!((&member["object"], &member["detail"]["account"]), (&json!("team"), &json!("bob")));
    expect_one(&entries, "group.member_remove", "operator");
    assert_eq!(expect_one(&entries, "account.org", "operator")["object"], "bob");
    assert!(with(&entries, "account.create", Some("operator")).iter().any(|entry| entry["object"] == "dave"));
    assert_eq!(expect_one(&entries, "account.delete", "operator")["object"], "dave");
    let ids: Vec<i64> = entries.iter().map(|entry| entry["id"].as_i64().expect("id")).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>(), "contiguous ids");
    for secret in
        ["alice-password-1", "bob-password-1", "dave-password-1", "wrong-password", "Link-Secret-77", "wrong-guess"]
    {
        assert!(!raw.contains(secret), "{secret} in the export");
    }
    for token in [&app_password, &link_token, &open_token, &drop_token] {
        assert!(!raw.contains(token.as_str()), "a token in the export");
    }
    // --since: RFC 3339 and seconds.
    let (code, out, _) = server.cli(&["audit", "export", "--since", "2999-01-01T00:00:00Z", "--format", "jsonl"], None);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = server.cli(&["audit", "export", "--since", "0"], None);
    assert_eq!((code, out.lines().count()), (0, entries.len()));

    let (code, out, err) = server.cli(&["audit", "verify"], None);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("audit log intact: "), "{out}");

    if common::skip_unless_embedded("audit tampering", "edits the SQLite database") {
        return;
    }
    tamper_with_copies(server, &entries);
}

/// Stops the server and tampers with three copies of its data directory.
fn tamper_with_copies(mut server: TestServer, entries: &[Value]) {
    server.kill();
    let middle = entries[entries.len() / 2]["id"].as_i64().expect("id");
    let cases = [
        (
            "changed",
            format!(
                "DROP TRIGGER audit_log_append_only; \
                 UPDATE audit_log SET object = object || 'x' WHERE id = {middle};"
            ),
            middle,
        ),
        ("removed", format!("DELETE FROM audit_log WHERE id = {middle};"), middle),
        (
            "reordered",
            format!(
                "DROP TRIGGER audit_log_append_only; \
                 UPDATE audit_log SET id = -1 WHERE id = {middle}; \
                 UPDATE audit_log SET id = {middle} WHERE id = {next}; \
                 UPDATE audit_log SET id = {next} WHERE id = -1;",
                next = middle + 1
            ),
            middle,
        ),
    ];
    for (what, sql, bad) in cases {
        let copy = tempfile::Builder::new().prefix("hafen-audit-").tempdir_in(test_tmp_root()).expect("tempdir");
        copy_dir(&server.data, copy.path());
        let status = Command::new("sqlite3").arg(copy.path().join("hafen.db")).arg(&sql).status().expect("sqlite3");
        assert!(status.success(), "sqlite3 {sql}");
        let (code, out, err) = run_cli(copy.path(), &["audit", "verify"], None);
        assert_eq!(code, 1, "{what}: {out} {err}");
        assert!(out.contains(&format!("entry {bad} {what}")), "{what}: {out}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
