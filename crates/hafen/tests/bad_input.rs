//! End-to-end tests of hostile or malformed input: every case must be refused with a 4xx
//! (or the status named) and must leave the stored data untouched.

mod common;
mod davkit;

use std::time::{Duration, Instant};

use common::{Client, TestServer, ADMIN_PASSWORD};
use davkit::*;

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

/// A server with: admin/{secret.txt, sub/, sub/inner.txt} and an empty account alice.
fn setup() -> (TestServer, Client) {
    let server = TestServer::start();
    server.add_user("alice", "alice-pass", &[]);
    let admin = Client::new("admin", ADMIN_PASSWORD);
    assert_eq!(admin.put(&server.dav_url("admin", "secret.txt"), b"top secret").status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "sub")).status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "sub/inner.txt"), b"inner").status, 201);
    (server, admin)
}

/// Every path with its getetag below `user`'s root, plus the root's etag.
fn snapshot(server: &TestServer, user: &str, password: &str) -> Vec<(String, String)> {
    let client = Client::new(user, password);
    let mut out = Vec::new();
    let mut pending = vec![server.dav_url(user, "")];
    while let Some(url) = pending.pop() {
        let reply = client.propfind(&url, "1", &propfind_body(&["getetag", "resourcetype", "getcontentlength"]));
        assert_eq!(reply.status, 207, "snapshot PROPFIND {url}: {}", show(&reply));
        let own = pct_decode(&url_path(&url)).trim_end_matches('/').to_string();
        for response in responses(&reply.text()) {
            let path = href_path(&response);
            let etag = prop_ok(&response, "getetag").unwrap_or_default();
            let size = prop_ok(&response, "getcontentlength").unwrap_or_default();
            if path.trim_end_matches('/') == own {
                if url == server.dav_url(user, "") {
                    out.push(("<root>".to_string(), etag));
                }
                continue;
            }
            let is_dir = prop_ok(&response, "resourcetype").unwrap_or_default().contains("collection");
            if is_dir {
                let encoded: Vec<String> = path.split('/').map(pct_encode).collect();
                pending.push(format!("{}{}", server.base, encoded.join("/")));
            }
            out.push((path, format!("{etag} {size}")));
        }
    }
    out.sort();
    out
}

fn admin_snapshot(server: &TestServer) -> Vec<(String, String)> {
    snapshot(server, "admin", ADMIN_PASSWORD)
}

fn assert_untouched(server: &TestServer, before: &[(String, String)], alice_before: &[(String, String)]) {
    assert!(
        before.iter().any(|(path, _)| path == "/remote.php/dav/files/admin/sub/inner.txt")
            && before.iter().any(|(path, _)| path == "<root>"),
        "snapshot helper is broken: {before:?}"
    );
    assert_eq!(admin_snapshot(server), before, "admin's files changed");
    assert_eq!(snapshot(server, "alice", "alice-pass"), alice_before, "alice's files changed");
    let admin = Client::new("admin", ADMIN_PASSWORD);
    assert_eq!(admin.get(&server.dav_url("admin", "secret.txt")).body, b"top secret");
    assert_eq!(admin.get(&server.dav_url("admin", "sub/inner.txt")).body, b"inner");
}

fn assert_4xx(reply: &RawReply, what: &str) {
    assert!((400..500).contains(&reply.status), "{what}: expected 4xx, got {} {:?}", reply.status, reply.text());
}

/// Sends each (method, raw path) as admin and expects a 4xx for all, with nothing changed.
fn expect_all_rejected(server: &TestServer, cases: &[(&str, String)]) {
    let before = admin_snapshot(server);
    let alice_before = snapshot(server, "alice", "alice-pass");
    for (method, path) in cases {
        let body: &[u8] = if *method == "PUT" { b"payload" } else { b"" };
        let reply = raw_request(server, method, path, Some(ADMIN), &[], body);
        assert_4xx(&reply, &format!("{method} {path}"));
        assert!(!reply.text().contains("top secret"), "{method} {path} leaked a file");
    }
    assert_untouched(server, &before, &alice_before);
}

const ADMIN_ROOT: &str = "/remote.php/dav/files/admin";

// ---------------------------------------------------------------------------------------------
// Path handling
// ---------------------------------------------------------------------------------------------

#[test]
fn dotdot_segments_are_rejected() {
    let (server, _admin) = setup();
    let cases = vec![
        ("PUT", format!("{ADMIN_ROOT}/sub/../evil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/../alice/evil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/../../alice/evil.txt")),
        ("MKCOL", format!("{ADMIN_ROOT}/sub/../newdir")),
        ("DELETE", format!("{ADMIN_ROOT}/sub/..")),
        ("DELETE", format!("{ADMIN_ROOT}/sub/../secret.txt")),
        ("GET", format!("{ADMIN_ROOT}/sub/../secret.txt")),
        ("PUT", "/remote.php/webdav/sub/../evil.txt".to_string()),
    ];
    expect_all_rejected(&server, &cases);
    // alice cannot climb into admin's tree.
    let reply = raw_request(
        &server,
        "GET",
        "/remote.php/dav/files/alice/../admin/secret.txt",
        Some(("alice", "alice-pass")),
        &[],
        b"",
    );
    assert_4xx(&reply, "alice GET ../admin/secret.txt");
    assert!(!reply.text().contains("top secret"));
    let reply = raw_request(
        &server,
        "GET",
        "/remote.php/webdav/../dav/files/admin/secret.txt",
        Some(("alice", "alice-pass")),
        &[],
        b"",
    );
    assert_4xx(&reply, "alice GET via webdav/../dav");
    assert!(!reply.text().contains("top secret"));
}

#[test]
fn percent_encoded_dotdot_is_rejected() {
    let (server, _admin) = setup();
    let cases = vec![
        ("PUT", format!("{ADMIN_ROOT}/sub/%2e%2e/evil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/%2E%2E/evil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/.%2e/evil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/%2e./evil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/%2e%2e/alice/evil.txt")),
        ("MKCOL", format!("{ADMIN_ROOT}/sub/%2e%2e/newdir")),
        ("DELETE", format!("{ADMIN_ROOT}/sub/%2e%2e")),
        ("GET", format!("{ADMIN_ROOT}/sub/%2e%2e/secret.txt")),
        ("PUT", format!("{ADMIN_ROOT}/%2e%2e")),
    ];
    expect_all_rejected(&server, &cases);
    let reply = raw_request(
        &server,
        "GET",
        "/remote.php/dav/files/alice/%2e%2e/admin/secret.txt",
        Some(("alice", "alice-pass")),
        &[],
        b"",
    );
    assert_4xx(&reply, "alice GET %2e%2e/admin/secret.txt");
    assert!(!reply.text().contains("top secret"));
}

#[test]
fn encoded_slash_in_segment_is_rejected() {
    let (server, _admin) = setup();
    let cases = vec![
        ("PUT", format!("{ADMIN_ROOT}/a%2Fb.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub%2Fevil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub%2fevil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub%2F..%2F..%2Falice%2Fevil.txt")),
        ("MKCOL", format!("{ADMIN_ROOT}/x%2Fy")),
        ("DELETE", format!("{ADMIN_ROOT}/sub%2Finner.txt")),
        ("GET", format!("{ADMIN_ROOT}/sub%2Finner.txt")),
    ];
    expect_all_rejected(&server, &cases);
}

#[test]
fn backslash_in_name_is_rejected() {
    let (server, _admin) = setup();
    let cases = vec![
        ("PUT", format!("{ADMIN_ROOT}/a%5Cb.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub%5Cevil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/..%5C..%5Cevil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/a%5cb.txt")),
        ("PUT", format!("{ADMIN_ROOT}/a\\b.txt")),
        ("MKCOL", format!("{ADMIN_ROOT}/x%5Cy")),
        ("GET", format!("{ADMIN_ROOT}/sub%5Cinner.txt")),
    ];
    expect_all_rejected(&server, &cases);
}

#[test]
fn nul_in_name_is_rejected() {
    let (server, _admin) = setup();
    let cases = vec![
        ("PUT", format!("{ADMIN_ROOT}/a%00b.txt")),
        ("PUT", format!("{ADMIN_ROOT}/secret.txt%00.jpg")),
        ("MKCOL", format!("{ADMIN_ROOT}/dir%00")),
        ("GET", format!("{ADMIN_ROOT}/secret.txt%00")),
        ("DELETE", format!("{ADMIN_ROOT}/secret.txt%00")),
    ];
    expect_all_rejected(&server, &cases);
}

#[test]
fn control_characters_in_name_are_rejected() {
    let (server, _admin) = setup();
    let mut cases = Vec::new();
    for code in ["%01", "%0A", "%0D", "%09", "%1F", "%7F"] {
        cases.push(("PUT", format!("{ADMIN_ROOT}/a{code}b.txt")));
    }
    cases.push(("MKCOL", format!("{ADMIN_ROOT}/dir%01")));
    expect_all_rejected(&server, &cases);
}

#[test]
fn names_longer_than_255_bytes_are_rejected() {
    let (server, admin) = setup();
    let before = admin_snapshot(&server);
    let alice_before = snapshot(&server, "alice", "alice-pass");
    let long_ascii = "a".repeat(256);
    let long_utf8 = "ä".repeat(128); // 128 characters, 256 bytes
    for name in [&long_ascii, &long_utf8] {
        let url = server.dav_url("admin", &pct_encode(name));
        let r = admin.put(&url, b"x");
        assert!((400..500).contains(&r.status), "PUT {}-byte name: {} {}", name.len(), r.status, r.text());
        let r = admin.mkcol(&url);
        assert!((400..500).contains(&r.status), "MKCOL {}-byte name: {} {}", name.len(), r.status, r.text());
        let r = admin.send("COPY", &server.dav_url("admin", "secret.txt"), &[("Destination", &url)], b"");
        assert!((400..500).contains(&r.status), "COPY to {}-byte name: {} {}", name.len(), r.status, r.text());
        let r = admin.send("MOVE", &server.dav_url("admin", "secret.txt"), &[("Destination", &url)], b"");
        assert!((400..500).contains(&r.status), "MOVE to {}-byte name: {} {}", name.len(), r.status, r.text());
    }
    assert_untouched(&server, &before, &alice_before);
    // 255 bytes is allowed.
    let ok = "b".repeat(255);
    let r = admin.put(&server.dav_url("admin", &ok), b"ok");
    assert_eq!(r.status, 201, "255-byte name must be accepted: {}", show(&r));
    assert_eq!(admin.get(&server.dav_url("admin", &ok)).body, b"ok");
}

#[test]
fn non_utf8_names_are_rejected() {
    let (server, _admin) = setup();
    let cases = vec![
        ("PUT", format!("{ADMIN_ROOT}/%FF%FE.txt")),
        ("PUT", format!("{ADMIN_ROOT}/a%C3%28.txt")),
        // Overlong encodings of "." must not turn into a "..".
        ("PUT", format!("{ADMIN_ROOT}/sub/%C0%AE%C0%AE/evil.txt")),
        ("MKCOL", format!("{ADMIN_ROOT}/%FF%FE")),
        ("GET", format!("{ADMIN_ROOT}/%FF%FE.txt")),
    ];
    expect_all_rejected(&server, &cases);
}

// ---------------------------------------------------------------------------------------------
// XML bodies
// ---------------------------------------------------------------------------------------------

const COLOR_NS: &str = "urn:hafen-test";

fn color_of(admin: &Client, url: &str) -> Option<String> {
    dead_prop(admin, url, "color")
}

#[test]
fn invalid_xml_in_propfind_is_400() {
    let (server, admin) = setup();
    let url = server.dav_url("admin", "sub");
    for body in [
        "<d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag></d:propfind>",
        "this is not xml",
        "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag/></d:prop>",
        "<d:propfind xmlns:d=\"DAV:\"><d:prop><bad:getetag/></d:prop></d:propfind>",
    ] {
        let r = admin.propfind(&url, "1", body);
        assert_eq!(r.status, 400, "PROPFIND body {body:?}: {}", show(&r));
    }
}

#[test]
fn invalid_xml_in_proppatch_is_400() {
    let (server, admin) = setup();
    let before = admin_snapshot(&server);
    let url = server.dav_url("admin", "secret.txt");
    for body in [
        format!("<d:propertyupdate xmlns:d=\"DAV:\" xmlns:x=\"{COLOR_NS}\"><d:set><d:prop><x:color>blue</x:color></d:prop></d:set>"),
        format!("<d:propertyupdate xmlns:d=\"DAV:\" xmlns:x=\"{COLOR_NS}\"><d:set><d:prop><x:color>blue</d:prop></d:set></d:propertyupdate>"),
        "not xml at all".to_string(),
    ] {
        let r = admin.send("PROPPATCH", &url, &[("Content-Type", "application/xml")], body.as_bytes());
        assert_eq!(r.status, 400, "PROPPATCH body {body:?}: {}", show(&r));
    }
    assert_eq!(color_of(&admin, &url), None, "a rejected PROPPATCH stored a property");
    assert_eq!(admin_snapshot(&server), before);
}

#[test]
fn invalid_xml_in_lock_is_400() {
    let (server, admin) = setup();
    let url = server.dav_url("admin", "secret.txt");
    let broken = "<d:lockinfo xmlns:d=\"DAV:\"><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/>";
    let r = admin.send("LOCK", &url, &[("Content-Type", "application/xml")], broken.as_bytes());
    assert_eq!(r.status, 400, "{}", show(&r));
    assert!(r.header("Lock-Token").is_none());
    // Not locked: a plain PUT still works.
    assert_eq!(admin.put(&url, b"top secret").status, 204);
    // On an unmapped URL nothing may be created.
    let new = server.dav_url("admin", "lock-me.txt");
    let r = admin.send("LOCK", &new, &[("Content-Type", "application/xml")], broken.as_bytes());
    assert_eq!(r.status, 400, "{}", show(&r));
    assert_eq!(admin.get(&new).status, 404, "a rejected LOCK created the file");
    let r = admin.send("LOCK", &new, &[], b"garbage");
    assert_eq!(r.status, 400, "{}", show(&r));
    assert_eq!(admin.get(&new).status, 404);
}

#[test]
fn doctype_and_entities_are_rejected() {
    let (server, admin) = setup();
    let url = server.dav_url("admin", "secret.txt");
    let propfind = "<?xml version=\"1.0\"?><!DOCTYPE d:propfind><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag/></d:prop></d:propfind>";
    let r = admin.propfind(&url, "0", propfind);
    assert_eq!(r.status, 400, "PROPFIND with DOCTYPE: {}", show(&r));

    let proppatch = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE d:propertyupdate [<!ENTITY ent \"expanded-entity\">]>\
         <d:propertyupdate xmlns:d=\"DAV:\" xmlns:x=\"{COLOR_NS}\"><d:set><d:prop><x:color>&ent;</x:color></d:prop></d:set></d:propertyupdate>"
    );
    let r = admin.send("PROPPATCH", &url, &[("Content-Type", "application/xml")], proppatch.as_bytes());
    assert_eq!(r.status, 400, "PROPPATCH with entity declaration: {}", show(&r));
    assert!(!r.text().contains("expanded-entity"));
    assert_eq!(color_of(&admin, &url), None, "entity-bearing PROPPATCH stored a property");

    let lock = "<?xml version=\"1.0\"?><!DOCTYPE lockinfo [<!ENTITY o \"owner\">]><d:lockinfo xmlns:d=\"DAV:\">\
                <d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype><d:owner>&o;</d:owner></d:lockinfo>";
    let r = admin.send("LOCK", &url, &[("Content-Type", "application/xml")], lock.as_bytes());
    assert_eq!(r.status, 400, "LOCK with entity declaration: {}", show(&r));
    assert_eq!(admin.put(&url, b"top secret").status, 204, "resource got locked");
}

#[test]
fn external_entities_are_never_resolved() {
    let (server, admin) = setup();
    let url = server.dav_url("admin", "secret.txt");
    let body = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
         <d:propertyupdate xmlns:d=\"DAV:\" xmlns:x=\"{COLOR_NS}\"><d:set><d:prop><x:color>&xxe;</x:color></d:prop></d:set></d:propertyupdate>"
    );
    let r = admin.send("PROPPATCH", &url, &[("Content-Type", "application/xml")], body.as_bytes());
    assert_eq!(r.status, 400, "{}", show(&r));
    assert!(!r.text().contains("root:"), "external entity expanded: {}", r.text());
    assert_eq!(color_of(&admin, &url), None);
    let all = admin.propfind(&url, "0", "").text();
    assert!(!all.contains("root:"), "{all}");
}

fn billion_laughs(root: &str) -> String {
    let mut doc = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    doc.push_str(" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
    for i in 2..=9 {
        let p = i - 1;
        doc.push_str(&format!(
            " <!ENTITY lol{i} \"&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};\">\n"
        ));
    }
    doc.push_str("]>\n");
    doc.push_str(root);
    doc
}

#[test]
fn billion_laughs_is_rejected_fast() {
    let (server, admin) = setup();
    let url = server.dav_url("admin", "secret.txt");
    let cases = [
        ("PROPFIND", billion_laughs("<d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag/></d:prop><x>&lol9;</x></d:propfind>")),
        (
            "PROPPATCH",
            billion_laughs(&format!(
                "<d:propertyupdate xmlns:d=\"DAV:\" xmlns:x=\"{COLOR_NS}\"><d:set><d:prop><x:color>&lol9;</x:color></d:prop></d:set></d:propertyupdate>"
            )),
        ),
        (
            "LOCK",
            billion_laughs(
                "<d:lockinfo xmlns:d=\"DAV:\"><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype><d:owner>&lol9;</d:owner></d:lockinfo>",
            ),
        ),
    ];
    for (method, body) in cases {
        let started = Instant::now();
        let r = admin.send(method, &url, &[("Content-Type", "application/xml"), ("Depth", "0")], body.as_bytes());
        let took = started.elapsed();
        assert_eq!(r.status, 400, "{method} billion laughs: {}", show(&r));
        assert!(took < Duration::from_secs(2), "{method} billion laughs took {took:?}");
        assert!(r.body.len() < 10_000, "{method}: suspiciously large reply ({} bytes)", r.body.len());
    }
    assert_eq!(color_of(&admin, &url), None);
    assert_eq!(admin.put(&url, b"top secret").status, 204, "resource got locked");
    assert_eq!(Client::anonymous().get(&format!("{}/healthz", server.base)).status, 200);
}

#[test]
fn propfind_body_over_1_mib_is_413() {
    let (server, admin) = setup();
    let mut body = String::from("<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop>");
    while body.len() <= (1 << 20) + 4096 {
        body.push_str("<d:getetag/>");
    }
    body.push_str("</d:prop></d:propfind>");
    let r = raw_request(
        &server,
        "PROPFIND",
        &format!("{ADMIN_ROOT}/"),
        Some(ADMIN),
        &[("Depth", "0"), ("Content-Type", "application/xml")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 413, "{} bytes PROPFIND: {:?}", body.len(), r.text());
    // The server is fine afterwards and a normal PROPFIND works.
    assert_eq!(admin.propfind(&server.dav_url("admin", ""), "0", "").status, 207);
}

// ---------------------------------------------------------------------------------------------
// COPY / MOVE destinations
// ---------------------------------------------------------------------------------------------

#[test]
fn destination_on_another_host_is_refused() {
    let (server, admin) = setup();
    let before = admin_snapshot(&server);
    let alice_before = snapshot(&server, "alice", "alice-pass");
    let src = server.dav_url("admin", "secret.txt");
    for method in ["MOVE", "COPY"] {
        for dest in [
            "http://elsewhere.invalid/remote.php/dav/files/admin/moved.txt".to_string(),
            // Same path, different port on the same address: still another origin.
            "http://127.0.0.1:1/remote.php/dav/files/admin/moved.txt".to_string(),
        ] {
            let r = admin.send(method, &src, &[("Destination", &dest)], b"");
            assert!(r.status == 502 || (400..500).contains(&r.status), "{method} to {dest}: {}", show(&r));
        }
    }
    assert_untouched(&server, &before, &alice_before);
}

#[test]
fn malformed_or_escaping_destination_is_refused() {
    let (server, admin) = setup();
    let before = admin_snapshot(&server);
    let alice_before = snapshot(&server, "alice", "alice-pass");
    let src = server.dav_url("admin", "secret.txt");
    let dests = [
        "not a url".to_string(),
        format!("{}/remote.php/dav/files/admin/../alice/stolen.txt", server.base),
        format!("{}/remote.php/dav/files/admin/%2e%2e/alice/stolen.txt", server.base),
        format!("{}/remote.php/dav/files/admin/sub%2Fstolen.txt", server.base),
        format!("{}/remote.php/dav/files/admin/a%00b.txt", server.base),
        format!("{}/somewhere/else/stolen.txt", server.base),
    ];
    for method in ["COPY", "MOVE"] {
        for dest in &dests {
            let r = admin.send(method, &src, &[("Destination", dest)], b"");
            assert!((400..500).contains(&r.status) || r.status == 502, "{method} to {dest}: {}", show(&r));
        }
    }
    assert_untouched(&server, &before, &alice_before);
}

#[test]
fn move_or_copy_folder_into_itself_is_refused() {
    let (server, admin) = setup();
    let before = admin_snapshot(&server);
    let alice_before = snapshot(&server, "alice", "alice-pass");
    let sub = server.dav_url("admin", "sub");
    for method in ["MOVE", "COPY"] {
        for dest in [server.dav_url("admin", "sub/inside"), server.dav_url("admin", "sub/")] {
            let r = admin.send(method, &sub, &[("Destination", &dest)], b"");
            assert!(r.status == 409 || r.status == 403, "{method} sub -> {dest}: {}", show(&r));
        }
    }
    // The root into one of its own folders.
    let r =
        admin.send("MOVE", &server.dav_url("admin", ""), &[("Destination", &server.dav_url("admin", "sub/root"))], b"");
    assert!((400..500).contains(&r.status), "MOVE root into sub: {}", show(&r));
    assert_untouched(&server, &before, &alice_before);
}

#[test]
fn missing_parent_is_409() {
    let (server, admin) = setup();
    let before = admin_snapshot(&server);
    let alice_before = snapshot(&server, "alice", "alice-pass");
    assert_eq!(admin.put(&server.dav_url("admin", "nodir/f.txt"), b"x").status, 409);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "nodir/d")).status, 409);
    let dest = server.dav_url("admin", "nodir/copy.txt");
    assert_eq!(admin.send("COPY", &server.dav_url("admin", "secret.txt"), &[("Destination", &dest)], b"").status, 409);
    assert_eq!(admin.send("MOVE", &server.dav_url("admin", "secret.txt"), &[("Destination", &dest)], b"").status, 409);
    // A file is not a valid parent either.
    let r = admin.put(&server.dav_url("admin", "secret.txt/child.txt"), b"x");
    assert!(r.status == 409 || r.status == 404 || r.status == 400, "PUT below a file: {}", show(&r));
    let r = admin.mkcol(&server.dav_url("admin", "secret.txt/child"));
    assert!(r.status == 409 || r.status == 404 || r.status == 400, "MKCOL below a file: {}", show(&r));
    assert_untouched(&server, &before, &alice_before);
}

// ---------------------------------------------------------------------------------------------
// Truncated uploads
// ---------------------------------------------------------------------------------------------

#[test]
fn truncated_upload_is_not_stored() {
    let (server, admin) = setup();
    let before = admin_snapshot(&server);
    let alice_before = snapshot(&server, "alice", "alice-pass");
    let auth = basic("admin", ADMIN_PASSWORD);
    let host = host_port(&server);

    // Content-Length says 100, only 10 bytes arrive.
    let request = format!(
        "PUT {ADMIN_ROOT}/partial.txt HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nContent-Length: 100\r\n\r\n0123456789"
    );
    let reply = raw_exchange(&server, request.as_bytes(), true);
    assert!(reply.status == 0 || reply.status >= 400, "short body answered {} {}", reply.status, reply.text());

    // Overwriting an existing file with a short body keeps the old content.
    let request = format!(
        "PUT {ADMIN_ROOT}/secret.txt HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nContent-Length: 100\r\n\r\nOVERWRITTEN"
    );
    let reply = raw_exchange(&server, request.as_bytes(), true);
    assert!(reply.status == 0 || reply.status >= 400, "short overwrite answered {}", reply.status);

    // A chunked upload cut off before its last chunk.
    let request = format!(
        "PUT {ADMIN_ROOT}/chunked.txt HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"
    );
    let reply = raw_exchange(&server, request.as_bytes(), true);
    assert!(reply.status == 0 || reply.status >= 400, "cut chunked upload answered {}", reply.status);

    for _ in 0..2 {
        assert_eq!(admin.get(&server.dav_url("admin", "partial.txt")).status, 404, "partial upload stored");
        assert_eq!(admin.get(&server.dav_url("admin", "chunked.txt")).status, 404, "partial chunked upload stored");
        assert_untouched(&server, &before, &alice_before);
        std::thread::sleep(Duration::from_millis(300));
    }
    // A well-formed upload on the same server works.
    assert_eq!(admin.put(&server.dav_url("admin", "partial.txt"), b"0123456789").status, 201);
}

/// A request whose body the server refuses without reading it must not poison a kept-alive
/// connection: either the reply says `Connection: close`, or the next request on the same
/// connection is answered. (Otherwise keep-alive clients get an unexpected EOF on their next request.)
#[test]
fn rejected_upload_leaves_connection_usable() {
    use std::io::Write;
    let (server, admin) = setup();
    let auth = basic("admin", ADMIN_PASSWORD);
    let host = host_port(&server);
    for (path, expected) in [("nodir/f.txt", 409), ("a%5Cb.txt", 0)] {
        let body = vec![b'x'; 200_000];
        let mut stream = std::net::TcpStream::connect(&host).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = format!(
            "PUT {ADMIN_ROOT}/{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(&body);
        let first = read_response(&mut stream);
        assert!((400..500).contains(&first.status), "PUT {path}: {} {}", first.status, first.text());
        if expected != 0 {
            assert_eq!(first.status, expected, "PUT {path}");
        }
        let closing = first.header("Connection").is_some_and(|v| v.to_ascii_lowercase().contains("close"));
        if !closing {
            let second = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            let sent = stream.write_all(second.as_bytes()).is_ok();
            let reply = read_response(&mut stream);
            assert!(
                sent && reply.status == 200,
                "after a {} reply without `Connection: close` to PUT {path} (200 kB body), the next request on the same \
                 connection got status {} (0 = connection closed)",
                first.status,
                reply.status
            );
        }
    }
    assert_eq!(admin.get(&server.dav_url("admin", "nodir")).status, 404);
}

// ---------------------------------------------------------------------------------------------
// Issue 9, acceptance 5: more encodings, oversized headers, normalisation, health afterwards
// ---------------------------------------------------------------------------------------------

/// The server still answers normally (a status probe and an authenticated read).
fn assert_healthy(server: &TestServer) {
    let status = Client::anonymous().get(&format!("{}/status.php", server.base));
    assert_eq!(status.status, 200, "status.php after hostile input");
    assert_eq!(Client::new("admin", ADMIN_PASSWORD).get(&server.dav_url("admin", "secret.txt")).body, b"top secret");
}

#[test]
fn traversal_in_every_other_encoding_is_refused_or_stays_a_plain_name() {
    let (server, _admin) = setup();
    // Invalid byte sequences (overlong UTF-8 dots and slashes, lone continuation bytes) and
    // backslash separators are refused outright.
    let cases = vec![
        ("PUT", format!("{ADMIN_ROOT}/sub/%c0%ae%c0%ae/evil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/%e0%80%ae%e0%80%ae/evil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/..%c0%afevil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/..%5c..%5cevil.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/%5c..%5csecret.txt")),
        ("PUT", format!("{ADMIN_ROOT}/sub/%80evil.txt")),
        ("GET", format!("{ADMIN_ROOT}/sub/%c0%ae%c0%ae/secret.txt")),
        ("GET", format!("{ADMIN_ROOT}/sub/..%5csecret.txt")),
        ("MKCOL", format!("{ADMIN_ROOT}/%c0%ae%c0%ae")),
        ("DELETE", format!("{ADMIN_ROOT}/sub/%2e%2e%2fsecret.txt")),
    ];
    expect_all_rejected(&server, &cases);
    // Double encoding and look-alike dots decode once into ordinary names: they never climb,
    // so reading "through" them finds nothing.
    for path in [
        format!("{ADMIN_ROOT}/sub/%252e%252e/secret.txt"),
        format!("{ADMIN_ROOT}/sub/%25252e%25252e/secret.txt"),
        format!("{ADMIN_ROOT}/sub/%e2%80%a4%e2%80%a4/secret.txt"),
        format!("{ADMIN_ROOT}/sub/%ef%bc%8e%ef%bc%8e/secret.txt"),
        "/remote.php/dav/files/alice/%252e%252e/admin/secret.txt".to_string(),
    ] {
        let reply = raw_request(&server, "GET", &path, Some(("alice", "alice-pass")), &[], b"");
        assert_4xx(&reply, &format!("GET {path}"));
        assert!(!reply.text().contains("top secret"), "{path} leaked a file");
    }
    assert_healthy(&server);
}

#[test]
fn oversized_headers_are_refused_and_the_server_stays_healthy() {
    let (server, _admin) = setup();
    let before = admin_snapshot(&server);
    let alice_before = snapshot(&server, "alice", "alice-pass");
    let huge = "x".repeat(1 << 20);
    let reply = raw_request(
        &server,
        "PUT",
        &format!("{ADMIN_ROOT}/big-header.txt"),
        Some(ADMIN),
        &[("X-Padding", &huge)],
        b"x",
    );
    assert_4xx(&reply, "a 1 MiB header");
    let many: Vec<(String, String)> = (0..2000).map(|i| (format!("X-H{i}"), "v".to_string())).collect();
    let many_refs: Vec<(&str, &str)> = many.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let reply = raw_request(&server, "PUT", &format!("{ADMIN_ROOT}/many-headers.txt"), Some(ADMIN), &many_refs, b"x");
    assert_4xx(&reply, "2000 headers");
    let long_url = format!("{ADMIN_ROOT}/{}", "a/".repeat(40_000));
    let reply = raw_request(&server, "MKCOL", &long_url, Some(ADMIN), &[], b"");
    assert_4xx(&reply, "an 80 kB URL");
    // A declared body far over any limit is refused before it is read.
    let reply = raw_exchange(
        &server,
        format!(
            "PROPFIND {ADMIN_ROOT}/ HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nDepth: 1\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n<d:propfind",
            host_port(&server),
            basic("admin", ADMIN_PASSWORD)
        )
        .as_bytes(),
        true,
    );
    assert_4xx(&reply, "a PROPFIND declaring 100 GB");
    assert_untouched(&server, &before, &alice_before);
    assert_healthy(&server);
}

#[test]
fn invalid_utf8_in_bodies_and_headers_is_refused() {
    let (server, _admin) = setup();
    let before = admin_snapshot(&server);
    let alice_before = snapshot(&server, "alice", "alice-pass");
    let mut body =
        b"<?xml version=\"1.0\"?><d:propertyupdate xmlns:d=\"DAV:\"><d:set><d:prop><x:c xmlns:x=\"urn:x\">".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc0, 0xae]);
    body.extend_from_slice(b"</x:c></d:prop></d:set></d:propertyupdate>");
    let reply = raw_request(&server, "PROPPATCH", &format!("{ADMIN_ROOT}/secret.txt"), Some(ADMIN), &[], &body);
    assert_4xx(&reply, "PROPPATCH with invalid UTF-8");
    let reply = raw_exchange(
        &server,
        &[
            format!(
                "MOVE {ADMIN_ROOT}/secret.txt HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nConnection: close\r\nDestination: http://{}{ADMIN_ROOT}/",
                host_port(&server),
                basic("admin", ADMIN_PASSWORD),
                host_port(&server)
            )
            .into_bytes(),
            vec![0xff, 0xc0, 0xae],
            b".txt\r\n\r\n".to_vec(),
        ]
        .concat(),
        false,
    );
    assert_4xx(&reply, "MOVE to a Destination with invalid UTF-8");
    assert_untouched(&server, &before, &alice_before);
    assert_healthy(&server);
}

#[test]
fn names_differing_only_in_normalisation_are_the_same_name_and_case_is_kept_apart() {
    let (server, admin) = setup();
    // "Café" in NFC, then the same in NFD (e + combining acute): one folder, a second MKCOL
    // is refused as existing, and a file put through the NFD spelling lands in it.
    assert_eq!(admin.mkcol(&server.dav_url("admin", "Caf%C3%A9")).status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "Cafe%CC%81")).status, 405, "NFD names the same folder");
    assert_eq!(admin.put(&server.dav_url("admin", "Cafe%CC%81/karte.txt"), b"Karte").status, 201);
    assert_eq!(admin.get(&server.dav_url("admin", "Caf%C3%A9/karte.txt")).body, b"Karte");
    let names = children(&admin, &server.dav_url("admin", ""));
    assert_eq!(names.iter().filter(|name| name.starts_with("Caf")).count(), 1, "{names:?}");
    // Case differs: two names, as in Nextcloud (case-sensitive), each with its own content.
    assert_eq!(admin.put(&server.dav_url("admin", "Bericht.txt"), b"gross").status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "bericht.txt"), b"klein").status, 201);
    assert_eq!(admin.get(&server.dav_url("admin", "Bericht.txt")).body, b"gross");
    assert_eq!(admin.get(&server.dav_url("admin", "bericht.txt")).body, b"klein");
    // A MOVE onto the NFD spelling of an existing name without Overwrite is refused.
    assert_eq!(admin.put(&server.dav_url("admin", "neu.txt"), b"neu").status, 201);
    let reply = admin.send(
        "MOVE",
        &server.dav_url("admin", "neu.txt"),
        &[("Destination", &server.dav_url("admin", "Cafe%CC%81")), ("Overwrite", "F")],
        b"",
    );
    assert_eq!(reply.status, 412, "the target exists under its NFC name");
    assert_eq!(admin.get(&server.dav_url("admin", "neu.txt")).body, b"neu");
    assert_healthy(&server);
}
