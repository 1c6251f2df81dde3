//! Sharing end to end (issue 6, acceptance 2 and 4) against the real binary: shares with an
//! account, a group and an organisation mounted in the recipient's WebDAV tree with the right
//! permission letters; renaming and leaving a received share; public links with a password
//! (guessing throttled), an expiry judged at the exact second (controllable clock file) and a
//! download limit at its exact boundary; file-drop links that never reveal or overwrite; the
//! public link pages; notifications; and a guest invited through a real SMTP server
//! (aiosmtpd, installed by `scripts/test`) who sets a password through the e-mailed link and
//! sees exactly what was shared.

mod common;

use common::{mail_env, test_tmp_root, unfold, Client, Reply, SmtpSink, TestServer};
use serde_json::{json, Value};
use std::time::Duration;

const PROPS: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:permissions/><oc:share-types/><d:getetag/></d:prop></d:propfind>"#;

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

fn api(client: &Client, method: &str, url: &str, body: Value) -> Reply {
    client.send(method, url, &[("Content-Type", "application/json")], body.to_string().as_bytes())
}

fn create_share(server: &TestServer, client: &Client, body: Value) -> Value {
    let reply = api(client, "POST", &format!("{}/api/v1/shares", server.base), body.clone());
    assert_eq!(reply.status, 201, "share {body}: {}", reply.text());
    json_of(&reply)
}

/// `(href, permissions, share-types)` of each entry of a Depth-1 PROPFIND.
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
            let permissions = if response.contains("<oc:permissions/>") {
                String::new()
            } else {
                between("<oc:permissions>", "</oc:permissions>")
            };
            (between("<d:href>", "</d:href>"), permissions, between("<oc:share-types>", "</oc:share-types>"))
        })
        .collect()
}

fn setup_people(server: &TestServer) {
    for (args, what) in [
        (vec!["org", "add", "ministerium", "--display-name", "Ministerium"], "org"),
        (vec!["org", "add", "gemeinde", "--display-name", "Gemeinde"], "org"),
        (vec!["group", "add", "projekt"], "group"),
    ] {
        let (code, out, err) = server.cli(&args, None);
        assert_eq!(code, 0, "{what}: {out} {err}");
    }
    server.add_user("alice", "alice-password", &["--org", "ministerium", "--email", "alice@example.org"]);
    server.add_user("bob", "bob-password", &["--org", "ministerium"]);
    server.add_user("gina", "gina-password", &["--org", "gemeinde"]);
    server.add_user("otto", "otto-password", &["--org", "gemeinde"]);
    let (code, out, err) = server.cli(&["group", "add-member", "projekt", "gina"], None);
    assert_eq!(code, 0, "{out} {err}");
}

#[test]
fn shares_with_accounts_groups_and_organisations_appear_in_the_recipients_tree() {
    let server = TestServer::start();
    setup_people(&server);
    let alice = Client::new("alice", "alice-password");
    let bob = Client::new("bob", "bob-password");
    let gina = Client::new("gina", "gina-password");
    let otto = Client::new("otto", "otto-password");
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akten")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Akten/plan.txt"), b"Plan v1").status, 201);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Projekt")).status, 201);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Rundschreiben")).status, 201);
    // bob already has a folder of that name: the mount gets a free one.
    assert_eq!(bob.mkcol(&server.dav_url("bob", "Akten")).status, 201);

    create_share(&server, &alice, json!({"path": "/Akten", "type": "user", "with": "bob", "permissions": 1}));
    create_share(&server, &alice, json!({"path": "/Projekt", "type": "group", "with": "projekt", "permissions": 15}));
    create_share(
        &server,
        &alice,
        json!({"path": "/Rundschreiben", "type": "org", "with": "gemeinde", "permissions": 1}),
    );

    let own = listing(&alice, &server.dav_url("alice", ""));
    let akten = own.iter().find(|(href, _, _)| href.ends_with("/Akten/")).expect("own Akten");
    assert_eq!(akten.1, "RGDNVCK");
    assert_eq!(akten.2, "<oc:share-type>0</oc:share-type>", "the owner sees the share type");

    let own_files = listing(&alice, &server.dav_url("alice", "Akten"));
    assert_eq!(own_files[1].1, "RGDNVW", "an own file in a folder may be deleted and renamed: {own_files:?}");
    let bobs = listing(&bob, &server.dav_url("bob", ""));
    let mount = bobs.iter().find(|(href, _, _)| href.ends_with("/Akten%20(2)/")).unwrap_or_else(|| panic!("{bobs:?}"));
    assert_eq!(mount.1, "SMGDNV", "read-only mount root: leave and rename only");
    let inside = listing(&bob, &server.dav_url("bob", "Akten%20(2)"));
    assert_eq!(inside[1].1, "SG", "a file in a read-only share: {inside:?}");
    assert_eq!(bob.get(&server.dav_url("bob", "Akten%20(2)/plan.txt")).body, b"Plan v1");
    // Read-only: every write is refused and nothing changes.
    assert_eq!(bob.put(&server.dav_url("bob", "Akten%20(2)/plan.txt"), b"changed").status, 403);
    assert_eq!(bob.put(&server.dav_url("bob", "Akten%20(2)/new.txt"), b"new").status, 403);
    assert_eq!(bob.delete(&server.dav_url("bob", "Akten%20(2)/plan.txt")).status, 403);
    assert_eq!(bob.mkcol(&server.dav_url("bob", "Akten%20(2)/Sub")).status, 403);
    assert_eq!(alice.get(&server.dav_url("alice", "Akten/plan.txt")).body, b"Plan v1");
    assert_eq!(alice.propfind(&server.dav_url("alice", "Akten/new.txt"), "0", PROPS).status, 404);

    // The group member may write (15) but not reshare; the org member reads.
    assert!(gina.get(&server.dav_url("gina", "Projekt")).status == 200);
    assert_eq!(gina.put(&server.dav_url("gina", "Projekt/bericht.txt"), b"von gina").status, 201);
    assert_eq!(alice.get(&server.dav_url("alice", "Projekt/bericht.txt")).body, b"von gina");
    let in_project = listing(&gina, &server.dav_url("gina", "Projekt"));
    assert_eq!(in_project[1].1, "SGDNVW", "a file in a 15-share: writable and deletable: {in_project:?}");
    let ginas = listing(&gina, &server.dav_url("gina", ""));
    let projekt = ginas.iter().find(|(href, _, _)| href.ends_with("/Projekt/")).expect("group mount");
    assert_eq!(projekt.1, "SMGDNVCK");
    let reshare = api(
        &gina,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Projekt", "type": "user", "with": "otto"}),
    );
    assert_eq!(reshare.status, 403, "no reshare permission: {}", reshare.text());
    assert_eq!(otto.get(&server.dav_url("otto", "Rundschreiben")).status, 200, "organisation share");
    assert_eq!(otto.propfind(&server.dav_url("otto", "Projekt"), "0", PROPS).status, 404, "otto is not in the group");
    assert_eq!(bob.propfind(&server.dav_url("bob", "Rundschreiben"), "0", PROPS).status, 404, "other organisation");
    // Someone else's tree stays closed.
    assert_eq!(bob.propfind(&server.dav_url("alice", ""), "1", PROPS).status, 403);

    // Renaming a mount changes only the recipient's name for it; leaving it keeps the data.
    let renamed = bob.send(
        "MOVE",
        &server.dav_url("bob", "Akten%20(2)"),
        &[("Destination", &format!("/remote.php/dav/files/bob/{}", "Von%20Alice"))],
        b"",
    );
    assert_eq!(renamed.status, 201, "{}", renamed.text());
    assert_eq!(bob.get(&server.dav_url("bob", "Von%20Alice/plan.txt")).body, b"Plan v1");
    assert!(listing(&alice, &server.dav_url("alice", "")).iter().any(|(href, _, _)| href.ends_with("/Akten/")));
    assert_eq!(bob.delete(&server.dav_url("bob", "Von%20Alice")).status, 204);
    assert_eq!(bob.propfind(&server.dav_url("bob", "Von%20Alice"), "0", PROPS).status, 404);
    assert_eq!(alice.get(&server.dav_url("alice", "Akten/plan.txt")).body, b"Plan v1", "leaving keeps the data");

    // The OCS share API lists the owner's shares in Nextcloud's shape.
    let ocs = alice.send(
        "GET",
        &format!("{}/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json&path=/Projekt", server.base),
        &[("OCS-APIRequest", "true")],
        b"",
    );
    assert_eq!(ocs.status, 200, "{}", ocs.text());
    let data = &json_of(&ocs)["ocs"]["data"];
    assert_eq!(data[0]["share_type"], 1);
    assert_eq!(data[0]["share_with"], "projekt");
    assert_eq!(data[0]["permissions"], 15);
    assert_eq!(data[0]["path"], "/Projekt");
    // Received shares as the recipient sees them, and the sharee search.
    let received = api(&gina, "GET", &format!("{}/api/v1/shares?shared_with_me=true", server.base), json!({}));
    assert_eq!(json_of(&received)[0]["path"], "/Projekt");
    let sharees = alice.send(
        "GET",
        &format!("{}/ocs/v2.php/apps/files_sharing/api/v1/sharees?search=gin&format=json", server.base),
        &[("OCS-APIRequest", "true")],
        b"",
    );
    assert_eq!(json_of(&sharees)["ocs"]["data"]["users"][0]["value"]["shareWith"], "gina", "{}", sharees.text());
}

#[test]
fn public_links_enforce_password_throttling_expiry_and_download_limit_exactly() {
    let clock = tempfile::NamedTempFile::new_in(test_tmp_root()).expect("clock file");
    let set_clock = |now: i64| std::fs::write(clock.path(), now.to_string()).expect("write clock");
    let start = 1_900_000_000;
    set_clock(start);
    let clock_path = clock.path().to_string_lossy().into_owned();
    let server = TestServer::start_with_env(&[], &[("HAFEN_CLOCK_FILE", &clock_path)]);
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    assert_eq!(alice.put(&server.dav_url("alice", "bericht.pdf"), b"%PDF bericht").status, 201);
    let public = |token: &str| format!("{}/public.php/dav/files/{token}", server.base);

    // Password: missing or wrong is 401; after three wrong guesses even the right one waits.
    let link = create_share(
        &server,
        &alice,
        json!({"path": "/bericht.pdf", "type": "link", "password": "Geheim-2026", "label": "Presse"}),
    );
    let token = link["token"].as_str().expect("token").to_string();
    assert!(link["url"].as_str().is_some_and(|url| url.ends_with(&format!("/s/{token}"))), "{link}");
    assert_eq!(Client::anonymous().get(&public(&token)).status, 401);
    assert_eq!(Client::new("anonymous", "Geheim-2026").get(&public(&token)).body, b"%PDF bericht");
    for _ in 0..3 {
        assert_eq!(Client::new("anonymous", "falsch").get(&public(&token)).status, 401);
    }
    let throttled = Client::new("anonymous", "Geheim-2026").get(&public(&token));
    assert_eq!(throttled.status, 429, "guessing is throttled");
    assert!(throttled.header("retry-after").is_some());
    std::thread::sleep(Duration::from_millis(2_100));
    assert_eq!(Client::new("anonymous", "Geheim-2026").get(&public(&token)).status, 200, "block expired");

    // Expiry at the exact second of the controllable clock.
    let expiring =
        create_share(&server, &alice, json!({"path": "/bericht.pdf", "type": "link", "expires_at": start + 100}));
    let expiring_token = expiring["token"].as_str().expect("token").to_string();
    set_clock(start + 99);
    assert_eq!(Client::anonymous().get(&public(&expiring_token)).status, 200, "one second before expiry");
    set_clock(start + 100);
    assert_eq!(Client::anonymous().get(&public(&expiring_token)).status, 404, "at the expiry second");
    let page = Client::anonymous().get(&format!("{}/s/{expiring_token}", server.base));
    assert_eq!(page.status, 404, "the page too");
    set_clock(start);

    // Download limit: exactly the limit's number of downloads, then gone; the owner is told.
    let limited = create_share(&server, &alice, json!({"path": "/bericht.pdf", "type": "link", "download_limit": 2}));
    let limited_token = limited["token"].as_str().expect("token").to_string();
    assert_eq!(Client::anonymous().get(&public(&limited_token)).status, 200);
    // HEAD and a resumed range are not new downloads.
    assert_eq!(Client::anonymous().send("HEAD", &public(&limited_token), &[], b"").status, 200);
    assert_eq!(Client::anonymous().send("GET", &public(&limited_token), &[("Range", "bytes=2-")], b"").status, 206);
    let page_download = Client::anonymous().get(&format!("{}/s/{limited_token}/download", server.base));
    assert_eq!(page_download.status, 200, "second download, through the page");
    assert_eq!(page_download.body, b"%PDF bericht");
    assert_eq!(Client::anonymous().get(&public(&limited_token)).status, 404, "third download refused");
    let notes = json_of(&api(&alice, "GET", &format!("{}/api/v1/notifications", server.base), json!({})));
    assert!(notes.to_string().contains("Download-Limit"), "{notes}");

    // The link page asks for the password, then sets a cookie that opens the download.
    let page = Client::anonymous().get(&format!("{}/s/{token}", server.base));
    assert_eq!(page.status, 401);
    assert!(page.text().contains("type=\"password\""), "{}", page.text());
    let wrong = Client::anonymous().send(
        "POST",
        &format!("{}/s/{token}", server.base),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"password=falsch",
    );
    assert_eq!(wrong.status, 401);
    std::thread::sleep(Duration::from_millis(2_100));
    let right = Client::anonymous().send(
        "POST",
        &format!("{}/s/{token}", server.base),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"password=Geheim-2026",
    );
    assert_eq!(right.status, 303, "{}", right.text());
    let cookie = right.header("set-cookie").expect("cookie").split(';').next().expect("pair").to_string();
    assert!(right.header("set-cookie").is_some_and(|value| value.contains("HttpOnly")));
    let download =
        Client::anonymous().send("GET", &format!("{}/s/{token}/download", server.base), &[("Cookie", &cookie)], b"");
    assert_eq!(download.body, b"%PDF bericht");
    let forged = Client::anonymous().send(
        "GET",
        &format!("{}/s/{token}/download", server.base),
        &[("Cookie", &format!("hafen_link_{token}=0000"))],
        b"",
    );
    assert_eq!(forged.status, 401);
    // Removing the link ends it.
    let id = link["id"].as_str().expect("id");
    assert_eq!(alice.delete(&format!("{}/api/v1/shares/{id}", server.base)).status, 204);
    assert_eq!(Client::new("anonymous", "Geheim-2026").get(&public(&token)).status, 404);
}

#[test]
fn file_drop_links_never_reveal_or_overwrite() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Eingang")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Eingang/antrag.pdf"), b"vertraulich").status, 201);
    let link = create_share(&server, &alice, json!({"path": "/Eingang", "type": "link", "permissions": 4}));
    let token = link["token"].as_str().expect("token").to_string();
    let public = format!("{}/public.php/dav/files/{token}", server.base);
    let citizen = Client::anonymous();

    // Nothing of the folder is visible.
    let root = citizen.propfind(&public, "1", PROPS);
    assert_eq!(root.status, 207);
    assert_eq!(root.text().matches("<d:response>").count(), 1, "only the folder itself: {}", root.text());
    assert_eq!(citizen.get(&format!("{public}/antrag.pdf")).status, 404);
    assert_eq!(citizen.propfind(&format!("{public}/antrag.pdf"), "0", PROPS).status, 404);
    assert_eq!(citizen.mkcol(&format!("{public}/Ordner")).status, 403);
    assert_eq!(citizen.delete(&format!("{public}/antrag.pdf")).status, 404);
    // Same names never overwrite: each upload gets a free name.
    assert_eq!(citizen.put(&format!("{public}/antrag.pdf"), b"von buerger 1").status, 201);
    let web = citizen.send("PUT", &format!("{}/s/{token}/upload/antrag.pdf", server.base), &[], b"von buerger 2");
    assert_eq!(web.status, 201, "{}", web.text());
    assert_eq!(json_of(&web)["name"], "antrag (3).pdf");
    assert_eq!(citizen.put(&format!("{public}/neu.txt"), b"neu").status, 201);
    assert_eq!(alice.get(&server.dav_url("alice", "Eingang/antrag.pdf")).body, b"vertraulich");
    assert_eq!(alice.get(&server.dav_url("alice", "Eingang/antrag%20(2).pdf")).body, b"von buerger 1");
    assert_eq!(alice.get(&server.dav_url("alice", "Eingang/antrag%20(3).pdf")).body, b"von buerger 2");
    assert_eq!(alice.get(&server.dav_url("alice", "Eingang/neu.txt")).body, b"neu");
    // The upload page offers only the upload, scripts only from the server.
    let page = citizen.get(&format!("{}/s/{token}", server.base));
    assert_eq!(page.status, 200);
    assert!(!page.text().contains("antrag"), "the page reveals nothing: {}", page.text());
    assert!(page.header("content-security-policy").is_some_and(|csp| !csp.contains("unsafe-inline")));
    // The owner is notified of each upload.
    let notes = json_of(&api(&alice, "GET", &format!("{}/api/v1/notifications", server.base), json!({})));
    assert_eq!(notes.as_array().map(Vec::len), Some(3), "{notes}");
}

#[test]
fn guest_invited_by_email_sets_password_and_sees_exactly_what_is_shared() {
    let sink = SmtpSink::start();
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let server = TestServer::start_with_env(&[], &mail_env(&smtp));
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Gutachten")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Gutachten/entwurf.txt"), b"Entwurf").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "intern.txt"), b"intern").status, 201);

    let invited = api(
        &alice,
        "POST",
        &format!("{}/api/v1/guests", server.base),
        json!({"email": "berater@firma.example", "display_name": "Berater GmbH"}),
    );
    assert_eq!(invited.status, 201, "{}", invited.text());
    assert_eq!(json_of(&invited)["mailed"], true);
    let messages = sink.wait_for(1);
    assert_eq!(messages.len(), 1, "one invitation e-mail");
    let mail = unfold(&messages[0]);
    assert!(mail.contains("berater@firma.example"), "{mail}");
    let link_start = mail.find("/invite/").expect("invitation link in the mail");
    let token: String = mail[link_start + "/invite/".len()..].chars().take_while(char::is_ascii_alphanumeric).collect();
    assert_eq!(token.len(), 40, "{mail}");

    // The guest cannot log in before setting a password, then sets it through the link.
    let guest = Client::new("berater@firma.example", "Berater-Passwort-1");
    assert_eq!(guest.propfind(&server.dav_url("berater@firma.example", ""), "0", PROPS).status, 401);
    let form = |password: &str| {
        Client::anonymous().send(
            "POST",
            &format!("{}/invite/{token}", server.base),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("password={password}").as_bytes(),
        )
    };
    assert_eq!(form("kurz").status, 400, "too short a password keeps the link usable");
    assert_eq!(form("Berater-Passwort-1").status, 200);
    assert_eq!(form("Noch-ein-Passwort").status, 404, "the link works once");

    // Before anything is shared the guest sees an empty tree and cannot store anything.
    let empty = listing(&guest, &server.dav_url("berater@firma.example", ""));
    assert_eq!(empty.len(), 1, "{empty:?}");
    assert_eq!(
        guest.put(&server.dav_url("berater@firma.example", "eigen.txt"), b"x").status,
        507,
        "no quota of its own"
    );
    create_share(
        &server,
        &alice,
        json!({"path": "/Gutachten", "type": "user", "with": "berater@firma.example", "permissions": 31}),
    );
    let tree = listing(&guest, &server.dav_url("berater@firma.example", ""));
    assert_eq!(tree.len(), 2, "exactly the shared folder: {tree:?}");
    assert!(tree[1].0.ends_with("/Gutachten/"));
    assert!(!tree[1].1.contains('R'), "a guest cannot reshare: {}", tree[1].1);
    assert_eq!(guest.get(&server.dav_url("berater@firma.example", "Gutachten/entwurf.txt")).body, b"Entwurf");
    assert_eq!(guest.put(&server.dav_url("berater@firma.example", "Gutachten/antwort.txt"), b"Antwort").status, 201);
    assert_eq!(alice.get(&server.dav_url("alice", "Gutachten/antwort.txt")).body, b"Antwort");
    let reshare =
        api(&guest, "POST", &format!("{}/api/v1/shares", server.base), json!({"path": "/Gutachten", "type": "link"}));
    assert_eq!(reshare.status, 403, "guests cannot share: {}", reshare.text());
    let invite = api(&guest, "POST", &format!("{}/api/v1/guests", server.base), json!({"email": "x@y.example"}));
    assert_eq!(invite.status, 403, "guests cannot invite");
    // Sharing with the guest e-mailed a notification to... nobody: alice has no address; the
    // share notification goes to the guest, who has one.
    let messages = sink.wait_for(2);
    assert_eq!(messages.len(), 2, "the share notification reached the guest");
    assert!(unfold(messages.iter().find(|m| !m.contains("/invite/")).expect("share mail")).contains("Gutachten"));
}

#[test]
fn organisation_link_policy_binds_its_members() {
    let server = TestServer::start();
    assert_eq!(server.cli(&["org", "add", "amt"], None).0, 0);
    let (code, out, err) =
        server.cli(&["org", "policy", "amt", "--link-password-required", "--link-max-expiry-days", "7"], None);
    assert_eq!(code, 0, "{out} {err}");
    server.add_user("clerk", "clerk-password", &["--org", "amt"]);
    server.add_user("free", "free-password", &[]);
    let clerk = Client::new("clerk", "clerk-password");
    let free = Client::new("free", "free-password");
    assert_eq!(clerk.put(&server.dav_url("clerk", "a.txt"), b"a").status, 201);
    assert_eq!(free.put(&server.dav_url("free", "a.txt"), b"a").status, 201);
    let link = |client: &Client, body: Value| api(client, "POST", &format!("{}/api/v1/shares", server.base), body);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let in_days = |days: i64| now + days * 86_400;
    // Without a password, or expiring too late or never: refused, and no link exists after.
    assert_eq!(link(&clerk, json!({"path": "/a.txt", "type": "link", "expires_at": in_days(3)})).status, 403);
    assert_eq!(link(&clerk, json!({"path": "/a.txt", "type": "link", "password": "Passwort-123"})).status, 403);
    let too_late = json!({"path": "/a.txt", "type": "link", "password": "Passwort-123", "expires_at": in_days(8)});
    assert_eq!(link(&clerk, too_late).status, 403);
    let listed = api(&clerk, "GET", &format!("{}/api/v1/shares", server.base), json!({}));
    assert_eq!(json_of(&listed), json!([]), "refused links are not created");
    let ok = json!({"path": "/a.txt", "type": "link", "password": "Passwort-123", "expires_at": in_days(6)});
    let made = link(&clerk, ok);
    assert_eq!(made.status, 201, "{}", made.text());
    // Removing the password afterwards is refused too.
    let id = json_of(&made)["id"].as_str().expect("id").to_string();
    let cleared = api(&clerk, "PATCH", &format!("{}/api/v1/shares/{id}", server.base), json!({"password": ""}));
    assert_eq!(cleared.status, 403, "{}", cleared.text());
    // Accounts outside the organisation are not bound by it.
    assert_eq!(link(&free, json!({"path": "/a.txt", "type": "link"})).status, 201);
}

#[test]
fn an_organisations_quota_covers_all_its_accounts_together() {
    let server = TestServer::start();
    assert_eq!(server.cli(&["org", "add", "amt", "--quota", "10"], None).0, 0);
    server.add_user("eins", "eins-password", &["--org", "amt"]);
    server.add_user("zwei", "zwei-password", &["--org", "amt"]);
    server.add_user("frei", "frei-password", &[]);
    let eins = Client::new("eins", "eins-password");
    let zwei = Client::new("zwei", "zwei-password");
    assert_eq!(eins.put(&server.dav_url("eins", "a.txt"), b"123456").status, 201);
    assert_eq!(zwei.put(&server.dav_url("zwei", "b.txt"), b"123456").status, 507, "6 + 6 > 10");
    assert_eq!(zwei.get(&server.dav_url("zwei", "b.txt")).status, 404, "nothing stored");
    assert_eq!(zwei.put(&server.dav_url("zwei", "b.txt"), b"1234").status, 201, "6 + 4 fits");
    // Replacing a file counts only the difference; others are not bound.
    assert_eq!(eins.put(&server.dav_url("eins", "a.txt"), b"654321").status, 204);
    assert_eq!(Client::new("frei", "frei-password").put(&server.dav_url("frei", "c.txt"), b"123456789012").status, 201);
    let (_, listed, _) = server.cli(&["org", "list"], None);
    assert!(listed.contains("amt\tamt\t10\t10"), "{listed}");
    // The organisation is full: a COPY (adds bytes) and a chunked upload are refused too,
    // nothing is stored; a move inside one's own tree is not an addition.
    let copy =
        eins.send("COPY", &server.dav_url("eins", "a.txt"), &[("Destination", &server.dav_url("eins", "a2.txt"))], b"");
    assert_eq!(copy.status, 507, "{}", copy.text());
    assert_eq!(eins.get(&server.dav_url("eins", "a2.txt")).status, 404);
    let moved =
        eins.send("MOVE", &server.dav_url("eins", "a.txt"), &[("Destination", &server.dav_url("eins", "a3.txt"))], b"");
    assert_eq!(moved.status, 201, "{}", moved.text());
    let transfer = format!("{}/remote.php/dav/uploads/zwei/7001", server.base);
    let target = server.dav_url("zwei", "gross.bin");
    assert_eq!(zwei.send("MKCOL", &transfer, &[("Destination", &target)], b"").status, 201);
    assert_eq!(zwei.send("PUT", &format!("{transfer}/1"), &[("Destination", &target)], b"12345").status, 201);
    let assembled = zwei.send("MOVE", &format!("{transfer}/.file"), &[("Destination", &target)], b"");
    assert_eq!(assembled.status, 507, "{}", assembled.text());
    assert_eq!(zwei.get(&target).status, 404);
    // A space of the organisation counts against its quota as well.
    assert_eq!(server.cli(&["space", "add", "akten", "--org", "amt", "--display-name", "Akten"], None).0, 0);
    assert_eq!(server.cli(&["space", "add-member", "akten", "user:eins"], None).0, 0);
    assert_eq!(eins.put(&server.dav_url("eins", "Akten/x.txt"), b"1").status, 507);
    assert_eq!(eins.delete(&server.dav_url("eins", "a3.txt")).status, 204);
    assert_eq!(eins.put(&server.dav_url("eins", "Akten/x.txt"), b"1").status, 201);
}

#[test]
fn e_mail_notifications_follow_the_accounts_own_setting() {
    let sink = SmtpSink::start();
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let server = TestServer::start_with_env(&[], &mail_env(&smtp));
    server.add_user("alice", "alice-password", &["--email", "alice@example.org"]);
    let alice = Client::new("alice", "alice-password");
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Eingang")).status, 201);
    let link = create_share(&server, &alice, json!({"path": "/Eingang", "type": "link", "permissions": 4}));
    let public = format!("{}/public.php/dav/files/{}", server.base, link["token"].as_str().expect("token"));
    let me = format!("{}/api/v1/me", server.base);
    assert_eq!(json_of(&api(&alice, "GET", &me, json!({})))["notify_by_email"], true, "on by default");

    let off = api(&alice, "PATCH", &me, json!({"notify_by_email": false}));
    assert_eq!(off.status, 200, "{}", off.text());
    assert_eq!(json_of(&off)["notify_by_email"], false);
    assert_eq!(Client::anonymous().put(&format!("{public}/erster.txt"), b"1").status, 201);
    // Digests go out within a second here (mail_env): wait past a few of them.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(sink.messages().len(), 0, "no e-mail while switched off");
    let notes = json_of(&api(&alice, "GET", &format!("{}/api/v1/notifications", server.base), json!({})));
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "in-app notification all the same: {notes}");

    assert_eq!(api(&alice, "PATCH", &me, json!({"notify_by_email": true})).status, 200);
    assert_eq!(Client::anonymous().put(&format!("{public}/zweiter.txt"), b"2").status, 201);
    let messages = sink.wait_for(1);
    assert_eq!(messages.len(), 1);
    assert!(unfold(&messages[0]).contains("zweiter.txt"), "{}", messages[0]);
}

#[test]
fn ocs_provisioning_edits_accounts_within_the_administrators_rights() {
    let server = TestServer::start();
    assert_eq!(server.cli(&["org", "add", "amt"], None).0, 0);
    assert_eq!(server.cli(&["org", "add", "anderes"], None).0, 0);
    server.add_user("chefin", "chefin-password", &["--org", "amt", "--org-admin"]);
    server.add_user("paul", "paul-password", &["--org", "amt"]);
    server.add_user("fremd", "fremd-password", &["--org", "anderes"]);
    let edit = |client: &Client, user: &str, body: &str| {
        client.send(
            "PUT",
            &format!("{}/ocs/v2.php/cloud/users/{user}?format=json", server.base),
            &[("OCS-APIRequest", "true"), ("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    };
    let chefin = Client::new("chefin", "chefin-password");
    for body in ["key=displayname&value=Paul%20Meier", "key=email&value=paul%40amt.example", "key=quota&value=5000"] {
        let reply = edit(&chefin, "paul", body);
        assert_eq!(reply.status, 200, "{body}: {}", reply.text());
    }
    let shown = chefin.get(&format!("{}/ocs/v2.php/cloud/users/paul?format=json", server.base));
    let data = &json_of(&shown)["ocs"]["data"];
    assert_eq!((data["displayname"].as_str(), data["email"].as_str()), (Some("Paul Meier"), Some("paul@amt.example")));
    assert_eq!(data["quota"]["quota"], 5000);
    // Password: by the administrator and by the account itself; too short refused.
    assert_eq!(edit(&chefin, "paul", "key=password&value=kurz").status, 400);
    assert_eq!(edit(&chefin, "paul", "key=password&value=neues-passwort-1").status, 200);
    let paul = Client::new("paul", "neues-passwort-1");
    assert_eq!(paul.get(&server.dav_url("paul", "")).status, 200);
    assert_eq!(edit(&paul, "paul", "key=password&value=mein-passwort-2").status, 200);
    // Outside one's rights: own quota, other accounts, other organisations, unknown keys.
    let paul = Client::new("paul", "mein-passwort-2");
    assert_eq!(edit(&paul, "paul", "key=quota&value=none").status, 403);
    assert_eq!(edit(&paul, "chefin", "key=displayname&value=X").status, 404);
    assert_eq!(edit(&chefin, "fremd", "key=password&value=uebernommen-1").status, 404);
    assert_eq!(Client::new("fremd", "fremd-password").get(&server.dav_url("fremd", "")).status, 200);
    assert_eq!(edit(&chefin, "paul", "key=admin&value=1").status, 400);
}
