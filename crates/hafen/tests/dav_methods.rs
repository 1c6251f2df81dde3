//! End-to-end tests of the WebDAV methods and features, against the real binary.

mod common;
mod davkit;

use std::time::{Duration, Instant};

use common::{run_cli, Client, TestServer, ADMIN_PASSWORD};
use davkit::*;

fn admin_setup() -> (TestServer, Client) {
    let server = TestServer::start();
    let client = Client::new("admin", ADMIN_PASSWORD);
    (server, client)
}

fn is_strong_quoted_etag(value: &str) -> bool {
    value.len() >= 3 && value.starts_with('"') && value.ends_with('"') && !value[1..value.len() - 1].contains('"')
}

fn lock(client: &Client, url: &str, scope: &str, extra: &[(&str, &str)]) -> common::Reply {
    let mut headers = vec![("Content-Type", "application/xml"), ("Timeout", "Second-600")];
    headers.extend_from_slice(extra);
    client.send("LOCK", url, &headers, lock_body(scope).as_bytes())
}

/// Lock token from a successful LOCK reply (without the angle brackets), checked against the body.
fn token_of(reply: &common::Reply) -> String {
    let header = reply.header("Lock-Token").unwrap_or_else(|| panic!("no Lock-Token header: {}", show(reply)));
    assert!(
        header.starts_with("<opaquelocktoken:") && header.ends_with('>'),
        "Lock-Token must be <opaquelocktoken:…>, got {header}"
    );
    let token = header.trim_start_matches('<').trim_end_matches('>').to_string();
    let body = reply.text();
    let discovery = first(&body, "lockdiscovery").unwrap_or_else(|| panic!("LOCK body lacks lockdiscovery: {body}"));
    let locktoken = first(&discovery, "locktoken").unwrap_or_else(|| panic!("no locktoken in body: {body}"));
    assert_eq!(first(&locktoken, "href").as_deref(), Some(token.as_str()), "body token differs from header: {body}");
    token
}

fn if_token(token: &str) -> String {
    format!("(<{token}>)")
}

// ---------------------------------------------------------------------------------------------
// Basics, auth
// ---------------------------------------------------------------------------------------------

#[test]
fn healthz_ok() {
    let server = TestServer::start();
    let reply = Client::anonymous().get(&format!("{}/healthz", server.base));
    assert_eq!(reply.status, 200, "{}", show(&reply));
}

#[test]
fn options_advertises_dav_classes_1_and_2() {
    let (server, admin) = admin_setup();
    let reply = admin.send("OPTIONS", &server.dav_url("admin", ""), &[], b"");
    assert!(reply.status == 200 || reply.status == 204, "OPTIONS status {}", reply.status);
    let dav = reply.header("DAV").unwrap_or_else(|| panic!("no DAV header: {}", show(&reply)));
    let classes: Vec<&str> = dav.split(',').map(str::trim).collect();
    assert!(classes.contains(&"1") && classes.contains(&"2"), "DAV header {dav}");
    let allow = reply.header("Allow").unwrap_or("").to_ascii_uppercase();
    for method in ["PROPFIND", "LOCK", "MKCOL", "PUT"] {
        assert!(allow.contains(method), "Allow header {allow:?} lacks {method}");
    }
}

#[test]
fn missing_or_wrong_credentials_get_401_basic_challenge() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "");
    for client in [Client::anonymous(), Client::new("admin", "wrong-password"), Client::new("nobody", "x")] {
        let reply = client.propfind(&url, "0", "");
        assert_eq!(reply.status, 401, "{}", show(&reply));
        let challenge =
            reply.header("WWW-Authenticate").unwrap_or_else(|| panic!("no WWW-Authenticate: {}", show(&reply)));
        assert!(challenge.to_ascii_lowercase().starts_with("basic"), "challenge {challenge}");
    }
    let reply = Client::anonymous().put(&server.dav_url("admin", "anon.txt"), b"x");
    assert_eq!(reply.status, 401);
    assert_eq!(admin.get(&server.dav_url("admin", "anon.txt")).status, 404, "anonymous PUT stored something");
    assert_eq!(admin.propfind(&url, "0", "").status, 207);
}

#[test]
fn other_users_tree_is_forbidden() {
    let (server, admin) = admin_setup();
    server.add_user("alice", "alice-pass", &[]);
    let alice = Client::new("alice", "alice-pass");
    assert_eq!(admin.put(&server.dav_url("admin", "secret.txt"), b"admin secret").status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "mine.txt"), b"alice data").status, 201);

    let reply = alice.get(&server.dav_url("admin", "secret.txt"));
    assert_eq!(reply.status, 403, "{}", show(&reply));
    assert!(!reply.text().contains("admin secret"));
    assert_eq!(alice.propfind(&server.dav_url("admin", ""), "1", "").status, 403);
    assert_eq!(alice.put(&server.dav_url("admin", "planted.txt"), b"x").status, 403);
    assert_eq!(alice.delete(&server.dav_url("admin", "secret.txt")).status, 403);
    assert_eq!(alice.mkcol(&server.dav_url("admin", "dir")).status, 403);
    // Copying or moving into somebody else's tree is forbidden too.
    let dest = server.dav_url("admin", "copied.txt");
    let reply = alice.send("COPY", &server.dav_url("alice", "mine.txt"), &[("Destination", &dest)], b"");
    assert_eq!(reply.status, 403, "COPY into other tree: {}", show(&reply));
    let reply = alice.send("MOVE", &server.dav_url("alice", "mine.txt"), &[("Destination", &dest)], b"");
    assert_eq!(reply.status, 403, "MOVE into other tree: {}", show(&reply));
    // …and so is copying out of it.
    let reply = alice.send(
        "COPY",
        &server.dav_url("admin", "secret.txt"),
        &[("Destination", &server.dav_url("alice", "stolen.txt"))],
        b"",
    );
    assert_eq!(reply.status, 403, "COPY out of other tree: {}", show(&reply));

    assert_eq!(children(&admin, &server.dav_url("admin", "")), vec!["secret.txt"]);
    assert_eq!(admin.get(&server.dav_url("admin", "secret.txt")).body, b"admin secret");
    assert_eq!(children(&alice, &server.dav_url("alice", "")), vec!["mine.txt"]);
}

#[test]
fn failed_logins_are_throttled_per_account_not_per_address() {
    let server = TestServer::start();
    server.add_user("alice", "alice-pass", &[]);
    server.add_user("bob", "bob-pass", &[]);
    let wrong = Client::new("alice", "wrong");
    let url = server.dav_url("alice", "");
    for attempt in 1..=3 {
        let reply = wrong.propfind(&url, "0", "");
        assert_eq!(reply.status, 401, "attempt {attempt}: {}", show(&reply));
    }
    let reply = wrong.propfind(&url, "0", "");
    assert_eq!(reply.status, 429, "4th failure in a row must be throttled: {}", show(&reply));
    let retry: u64 = reply
        .header("Retry-After")
        .unwrap_or_else(|| panic!("429 without Retry-After: {}", show(&reply)))
        .trim()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=120).contains(&retry), "Retry-After {retry}");

    // Another account from the same address is not affected.
    let bob = Client::new("bob", "bob-pass");
    assert_eq!(bob.propfind(&server.dav_url("bob", ""), "0", "").status, 207);

    // While throttled, even the right password is refused (otherwise guessing stays unthrottled).
    let alice = Client::new("alice", "alice-pass");
    let reply = alice.propfind(&url, "0", "");
    assert_eq!(reply.status, 429, "correct password during back-off: {}", show(&reply));
    let retry: u64 = reply.header("Retry-After").and_then(|v| v.trim().parse().ok()).unwrap_or(retry);
    assert!((1..=120).contains(&retry), "Retry-After {retry}");

    // After the back-off the right password works again.
    std::thread::sleep(Duration::from_millis(retry * 1000 + 300));
    let reply = alice.propfind(&url, "0", "");
    assert_eq!(reply.status, 207, "after Retry-After elapsed: {}", show(&reply));
}

#[test]
fn app_password_logs_in() {
    let server = TestServer::start();
    server.add_user("alice", "alice-pass", &[]);
    let (code, out, err) = run_cli(&server.data, &["user", "app-password", "alice"], None);
    assert_eq!(code, 0, "app-password failed: {out} {err}");
    let token = out.lines().rfind(|l| !l.trim().is_empty()).expect("token line").trim().to_string();
    assert!(token.len() >= 16, "suspiciously short app password {token:?}");
    let app = Client::new("alice", &token);
    assert_eq!(app.put(&server.dav_url("alice", "via-app.txt"), b"hello").status, 201);
    assert_eq!(app.get(&server.dav_url("alice", "via-app.txt")).body, b"hello");
    // The token belongs to alice only and a modified token is refused.
    assert_eq!(Client::new("admin", &token).propfind(&server.dav_url("admin", ""), "0", "").status, 401);
    let mut bad = token.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(Client::new("alice", &bad).propfind(&server.dav_url("alice", ""), "0", "").status, 401);
    // The normal password keeps working.
    assert_eq!(Client::new("alice", "alice-pass").propfind(&server.dav_url("alice", ""), "0", "").status, 207);
}

#[test]
fn cli_passwd_list_and_del_take_effect() {
    let server = TestServer::start();
    server.add_user("alice", "old-pass", &["--display-name", "Alice A", "--email", "alice@example.org"]);
    let (code, out, err) = run_cli(&server.data, &["user", "list"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice") && out.contains("admin"), "user list: {out}");
    let (code, _, err) = run_cli(&server.data, &["user", "passwd", "alice", "--password-stdin"], Some("new-pass\n"));
    assert_eq!(code, 0, "{err}");
    let url = server.dav_url("alice", "");
    assert_eq!(Client::new("alice", "old-pass").propfind(&url, "0", "").status, 401);
    assert_eq!(Client::new("alice", "new-pass").propfind(&url, "0", "").status, 207);
    let (code, _, err) = run_cli(&server.data, &["user", "del", "alice"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(Client::new("alice", "new-pass").propfind(&url, "0", "").status, 401);
    let (_, out, _) = run_cli(&server.data, &["user", "list"], None);
    assert!(!out.contains("alice"), "deleted user still listed: {out}");
}

#[test]
fn webdav_alias_maps_to_own_files() {
    let (server, admin) = admin_setup();
    server.add_user("alice", "alice-pass", &[]);
    let alice = Client::new("alice", "alice-pass");
    let alias = format!("{}/remote.php/webdav/", server.base);
    assert_eq!(alice.put(&format!("{alias}via-alias.txt"), b"alias body").status, 201);
    assert_eq!(alice.get(&server.dav_url("alice", "via-alias.txt")).body, b"alias body");
    assert_eq!(alice.put(&server.dav_url("alice", "direct.txt"), b"direct").status, 201);
    assert_eq!(alice.get(&format!("{alias}direct.txt")).body, b"direct");
    // admin's alias is admin's tree.
    assert_eq!(admin.get(&format!("{alias}via-alias.txt")).status, 404);

    let reply = alice.propfind(&alias, "1", "");
    assert_eq!(reply.status, 207, "{}", show(&reply));
    let text = reply.text();
    let paths: Vec<String> = responses(&text).iter().map(|r| href_path(r)).collect();
    assert!(paths.iter().all(|p| p.starts_with("/remote.php/webdav")), "alias hrefs: {paths:?}");
    assert!(paths.iter().any(|p| p == "/remote.php/webdav/via-alias.txt"), "{paths:?}");
    assert!(paths.iter().any(|p| p == "/remote.php/webdav/direct.txt"), "{paths:?}");
    // COPY within the alias.
    let reply = alice.send("COPY", &format!("{alias}direct.txt"), &[("Destination", &format!("{alias}copy.txt"))], b"");
    assert_eq!(reply.status, 201, "{}", show(&reply));
    assert_eq!(alice.get(&server.dav_url("alice", "copy.txt")).body, b"direct");
}

// ---------------------------------------------------------------------------------------------
// PUT / GET / HEAD
// ---------------------------------------------------------------------------------------------

#[test]
fn put_creates_then_overwrites_with_strong_etags() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "file.txt");
    let created = admin.put(&url, b"first version");
    assert_eq!(created.status, 201, "{}", show(&created));
    let etag1 = created.header("ETag").expect("PUT ETag").to_string();
    assert!(is_strong_quoted_etag(&etag1), "ETag {etag1}");

    let got = admin.get(&url);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, b"first version");
    assert_eq!(got.header("ETag"), Some(etag1.as_str()));
    assert_eq!(etag_of(&admin, &url), etag1, "PROPFIND getetag differs from ETag header");

    let overwritten = admin.put(&url, b"second, longer version");
    assert_eq!(overwritten.status, 204, "{}", show(&overwritten));
    let etag2 = overwritten.header("ETag").expect("PUT ETag").to_string();
    assert!(is_strong_quoted_etag(&etag2));
    assert_ne!(etag1, etag2, "ETag must change with the content");
    let got = admin.get(&url);
    assert_eq!(got.body, b"second, longer version");
    assert_eq!(got.header("ETag"), Some(etag2.as_str()));
    assert_eq!(dav_prop(&admin, &url, "getcontentlength").as_deref(), Some("22"));

    // Empty file.
    let empty = server.dav_url("admin", "empty.bin");
    assert_eq!(admin.put(&empty, b"").status, 201);
    let got = admin.get(&empty);
    assert_eq!(got.status, 200);
    assert!(got.body.is_empty());

    // Binary content round-trips byte for byte.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let bin = server.dav_url("admin", "blob.bin");
    assert_eq!(admin.put(&bin, &data).status, 201);
    let got = admin.get(&bin);
    assert_eq!(got.body.len(), data.len());
    assert!(got.body == data, "binary content changed");
}

#[test]
fn put_if_match_and_if_none_match() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "cond.txt");
    let reply = admin.send("PUT", &url, &[("If-None-Match", "*")], b"v1");
    assert_eq!(reply.status, 201, "If-None-Match: * on a new file: {}", show(&reply));
    let etag = reply.header("ETag").unwrap().to_string();

    let reply = admin.send("PUT", &url, &[("If-None-Match", "*")], b"v2");
    assert_eq!(reply.status, 412, "If-None-Match: * on existing: {}", show(&reply));
    let reply = admin.send("PUT", &url, &[("If-Match", "\"not-the-etag\"")], b"v3");
    assert_eq!(reply.status, 412, "If-Match mismatch: {}", show(&reply));
    assert_eq!(admin.get(&url).body, b"v1", "a failed precondition changed the file");
    assert_eq!(etag_of(&admin, &url), etag);

    let reply = admin.send("PUT", &url, &[("If-Match", &etag)], b"v4");
    assert_eq!(reply.status, 204, "If-Match with the current ETag: {}", show(&reply));
    assert_eq!(admin.get(&url).body, b"v4");
    // The old ETag no longer matches.
    let reply = admin.send("PUT", &url, &[("If-Match", &etag)], b"v5");
    assert_eq!(reply.status, 412);
    assert_eq!(admin.get(&url).body, b"v4");
    // If-Match on a missing resource fails too.
    let reply = admin.send("PUT", &server.dav_url("admin", "nope.txt"), &[("If-Match", &etag)], b"x");
    assert_eq!(reply.status, 412, "{}", show(&reply));
    assert_eq!(admin.get(&server.dav_url("admin", "nope.txt")).status, 404);
}

#[test]
fn put_x_oc_mtime_sets_last_modified() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "dated.txt");
    let reply = admin.send("PUT", &url, &[("X-OC-Mtime", "1500000000")], b"dated");
    assert_eq!(reply.status, 201, "{}", show(&reply));
    assert_eq!(
        reply.header("X-OC-MTime").map(str::to_ascii_lowercase).as_deref(),
        Some("accepted"),
        "{}",
        show(&reply)
    );
    assert_eq!(dav_prop(&admin, &url, "getlastmodified").as_deref(), Some("Fri, 14 Jul 2017 02:40:00 GMT"));
    assert_eq!(admin.get(&url).header("Last-Modified"), Some("Fri, 14 Jul 2017 02:40:00 GMT"));
    // Overwrite with another mtime.
    let reply = admin.send("PUT", &url, &[("X-OC-Mtime", "1600000000")], b"dated again");
    assert_eq!(reply.status, 204);
    assert_eq!(dav_prop(&admin, &url, "getlastmodified").as_deref(), Some("Sun, 13 Sep 2020 12:26:40 GMT"));
}

#[test]
fn put_missing_parent_is_409() {
    let (server, admin) = admin_setup();
    let reply = admin.put(&server.dav_url("admin", "no/such/dir/file.txt"), b"x");
    assert_eq!(reply.status, 409, "{}", show(&reply));
    assert_eq!(admin.get(&server.dav_url("admin", "no")).status, 404, "parent was created implicitly");
    assert!(children(&admin, &server.dav_url("admin", "")).is_empty());
}

#[test]
fn put_on_collection_is_rejected() {
    let (server, admin) = admin_setup();
    assert_eq!(admin.mkcol(&server.dav_url("admin", "dir")).status, 201);
    let reply = admin.put(&server.dav_url("admin", "dir"), b"x");
    assert!(reply.status == 405 || reply.status == 409, "PUT onto a collection: {}", show(&reply));
    assert_eq!(
        dav_prop(&admin, &server.dav_url("admin", "dir"), "resourcetype").map(|r| r.contains("collection")),
        Some(true)
    );
}

#[test]
fn get_head_and_content_type() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "notes.txt");
    assert_eq!(admin.put(&url, b"hello world").status, 201);
    let got = admin.get(&url);
    assert_eq!(got.status, 200);
    let ctype = got.header("Content-Type").unwrap_or("");
    assert!(ctype.starts_with("text/plain"), "Content-Type {ctype}");
    assert_eq!(got.header("Content-Length"), Some("11"));
    assert!(got.header("Last-Modified").is_some_and(|v| v.ends_with("GMT")), "{}", show(&got));

    let head = admin.send("HEAD", &url, &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("Content-Length"), Some("11"));
    assert_eq!(head.header("ETag"), got.header("ETag"));

    assert_eq!(admin.put(&server.dav_url("admin", "page.html"), b"<p>").status, 201);
    let ctype = admin.get(&server.dav_url("admin", "page.html")).header("Content-Type").unwrap_or("").to_string();
    assert!(ctype.starts_with("text/html"), "Content-Type {ctype}");
    assert_eq!(dav_prop(&admin, &url, "getcontenttype").map(|c| c.starts_with("text/plain")), Some(true));

    assert_eq!(admin.get(&server.dav_url("admin", "missing.txt")).status, 404);
    assert_eq!(admin.send("HEAD", &server.dav_url("admin", "missing.txt"), &[], b"").status, 404);
}

#[test]
fn get_single_ranges() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "digits.txt");
    assert_eq!(admin.put(&url, b"0123456789").status, 201);

    let r = admin.send("GET", &url, &[("Range", "bytes=2-5")], b"");
    assert_eq!(r.status, 206, "{}", show(&r));
    assert_eq!(r.body, b"2345");
    assert_eq!(r.header("Content-Range"), Some("bytes 2-5/10"));

    let r = admin.send("GET", &url, &[("Range", "bytes=7-")], b"");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, b"789");
    assert_eq!(r.header("Content-Range"), Some("bytes 7-9/10"));

    let r = admin.send("GET", &url, &[("Range", "bytes=-3")], b"");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, b"789");
    assert_eq!(r.header("Content-Range"), Some("bytes 7-9/10"));

    // End past the size is clamped.
    let r = admin.send("GET", &url, &[("Range", "bytes=8-100")], b"");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, b"89");
    assert_eq!(r.header("Content-Range"), Some("bytes 8-9/10"));

    let r = admin.send("GET", &url, &[("Range", "bytes=10-20")], b"");
    assert_eq!(r.status, 416, "{}", show(&r));
    let r = admin.send("GET", &url, &[("Range", "bytes=100-")], b"");
    assert_eq!(r.status, 416, "{}", show(&r));
    assert!(!r.text().contains("0123456789"));
}

#[test]
fn get_conditional_304() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "cached.txt");
    assert_eq!(admin.put(&url, b"cache me").status, 201);
    let got = admin.get(&url);
    let etag = got.header("ETag").unwrap().to_string();
    let modified = got.header("Last-Modified").unwrap().to_string();

    let r = admin.send("GET", &url, &[("If-None-Match", &etag)], b"");
    assert_eq!(r.status, 304, "{}", show(&r));
    assert!(r.body.is_empty());
    let r = admin.send("GET", &url, &[("If-None-Match", "\"other\"")], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"cache me");

    let r = admin.send("GET", &url, &[("If-Modified-Since", &modified)], b"");
    assert_eq!(r.status, 304, "{}", show(&r));
    let r = admin.send("GET", &url, &[("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"cache me");

    // After a change the old validators no longer give 304.
    assert_eq!(admin.put(&url, b"changed").status, 204);
    let r = admin.send("GET", &url, &[("If-None-Match", &etag)], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"changed");
}

// ---------------------------------------------------------------------------------------------
// DELETE / MKCOL
// ---------------------------------------------------------------------------------------------

#[test]
fn delete_files_and_folders() {
    let (server, admin) = admin_setup();
    let file = server.dav_url("admin", "gone.txt");
    assert_eq!(admin.put(&file, b"x").status, 201);
    assert_eq!(admin.delete(&file).status, 204);
    assert_eq!(admin.get(&file).status, 404);
    assert_eq!(admin.delete(&file).status, 404);

    assert_eq!(admin.mkcol(&server.dav_url("admin", "tree")).status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "tree/sub")).status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "tree/sub/leaf.txt"), b"leaf").status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "keep.txt"), b"keep").status, 201);
    assert_eq!(admin.delete(&server.dav_url("admin", "tree")).status, 204);
    assert_eq!(admin.get(&server.dav_url("admin", "tree/sub/leaf.txt")).status, 404);
    assert_eq!(admin.propfind(&server.dav_url("admin", "tree"), "0", "").status, 404);
    assert_eq!(children(&admin, &server.dav_url("admin", "")), vec!["keep.txt"]);
    // Re-creating the same names works afterwards.
    assert_eq!(admin.mkcol(&server.dav_url("admin", "tree")).status, 201);
    assert_eq!(admin.get(&server.dav_url("admin", "tree/sub/leaf.txt")).status, 404);
}

#[test]
fn mkcol_statuses() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "newdir");
    assert_eq!(admin.mkcol(&url).status, 201);
    assert_eq!(dav_prop(&admin, &url, "resourcetype").map(|r| r.contains("collection")), Some(true));
    assert_eq!(admin.mkcol(&url).status, 405, "MKCOL on an existing collection");
    assert_eq!(admin.put(&server.dav_url("admin", "afile"), b"x").status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "afile")).status, 405, "MKCOL on an existing file");
    assert_eq!(admin.mkcol(&server.dav_url("admin", "missing/child")).status, 409);
    assert_eq!(admin.get(&server.dav_url("admin", "missing")).status, 404);
    let reply =
        admin.send("MKCOL", &server.dav_url("admin", "withbody"), &[("Content-Type", "application/xml")], b"<x/>");
    assert_eq!(reply.status, 415, "MKCOL with a body: {}", show(&reply));
    assert_eq!(admin.propfind(&server.dav_url("admin", "withbody"), "0", "").status, 404);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "newdir/nested")).status, 201);
    assert_eq!(children(&admin, &url), vec!["nested"]);
}

// ---------------------------------------------------------------------------------------------
// COPY / MOVE
// ---------------------------------------------------------------------------------------------

#[test]
fn copy_file_new_overwrite_and_overwrite_f() {
    let (server, admin) = admin_setup();
    let src = server.dav_url("admin", "src.txt");
    let dst = server.dav_url("admin", "dst.txt");
    assert_eq!(admin.put(&src, b"source").status, 201);
    let r = admin.send("COPY", &src, &[("Destination", &dst)], b"");
    assert_eq!(r.status, 201, "{}", show(&r));
    assert_eq!(admin.get(&dst).body, b"source");
    assert_eq!(admin.get(&src).body, b"source");

    assert_eq!(admin.put(&src, b"source v2").status, 204);
    let r = admin.send("COPY", &src, &[("Destination", &dst), ("Overwrite", "F")], b"");
    assert_eq!(r.status, 412, "{}", show(&r));
    assert_eq!(admin.get(&dst).body, b"source");
    let r = admin.send("COPY", &src, &[("Destination", &dst), ("Overwrite", "T")], b"");
    assert_eq!(r.status, 204, "{}", show(&r));
    assert_eq!(admin.get(&dst).body, b"source v2");
    let r = admin.send("COPY", &src, &[("Destination", &dst)], b"");
    assert_eq!(r.status, 204, "default Overwrite is T: {}", show(&r));

    // The copy is independent of the source.
    assert_eq!(admin.put(&dst, b"changed copy").status, 204);
    assert_eq!(admin.get(&src).body, b"source v2");
    // Missing source.
    let r = admin.send("COPY", &server.dav_url("admin", "nope"), &[("Destination", &dst)], b"");
    assert_eq!(r.status, 404);
}

#[test]
fn copy_collection_depth_0_and_infinity() {
    let (server, admin) = admin_setup();
    assert_eq!(admin.mkcol(&server.dav_url("admin", "col")).status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "col/sub")).status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "col/a.txt"), b"a").status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "col/sub/b.txt"), b"b").status, 201);

    let r = admin.send(
        "COPY",
        &server.dav_url("admin", "col"),
        &[("Destination", &server.dav_url("admin", "shallow")), ("Depth", "0")],
        b"",
    );
    assert_eq!(r.status, 201, "{}", show(&r));
    assert_eq!(
        dav_prop(&admin, &server.dav_url("admin", "shallow"), "resourcetype").map(|r| r.contains("collection")),
        Some(true)
    );
    assert!(children(&admin, &server.dav_url("admin", "shallow")).is_empty(), "Depth 0 COPY copied members");

    let r = admin.send(
        "COPY",
        &server.dav_url("admin", "col/"),
        &[("Destination", &server.dav_url("admin", "deep/")), ("Depth", "infinity")],
        b"",
    );
    assert_eq!(r.status, 201, "{}", show(&r));
    assert_eq!(children(&admin, &server.dav_url("admin", "deep")), vec!["a.txt", "sub"]);
    assert_eq!(admin.get(&server.dav_url("admin", "deep/sub/b.txt")).body, b"b");
    // The source is untouched.
    assert_eq!(admin.get(&server.dav_url("admin", "col/sub/b.txt")).body, b"b");

    // Overwriting a collection with a collection replaces it (no merge).
    assert_eq!(admin.put(&server.dav_url("admin", "shallow/stale.txt"), b"stale").status, 201);
    let r = admin.send(
        "COPY",
        &server.dav_url("admin", "col"),
        &[("Destination", &server.dav_url("admin", "shallow"))],
        b"",
    );
    assert_eq!(r.status, 204, "{}", show(&r));
    assert_eq!(children(&admin, &server.dav_url("admin", "shallow")), vec!["a.txt", "sub"]);
}

#[test]
fn move_file_and_folder() {
    let (server, admin) = admin_setup();
    let a = server.dav_url("admin", "a.txt");
    let b = server.dav_url("admin", "b.txt");
    assert_eq!(admin.put(&a, b"alpha").status, 201);
    let r = admin.send("MOVE", &a, &[("Destination", &b)], b"");
    assert_eq!(r.status, 201, "{}", show(&r));
    assert_eq!(admin.get(&a).status, 404);
    assert_eq!(admin.get(&b).body, b"alpha");

    assert_eq!(admin.put(&a, b"second").status, 201);
    let r = admin.send("MOVE", &a, &[("Destination", &b), ("Overwrite", "F")], b"");
    assert_eq!(r.status, 412, "{}", show(&r));
    assert_eq!(admin.get(&a).body, b"second");
    assert_eq!(admin.get(&b).body, b"alpha");
    let r = admin.send("MOVE", &a, &[("Destination", &b)], b"");
    assert_eq!(r.status, 204, "{}", show(&r));
    assert_eq!(admin.get(&a).status, 404);
    assert_eq!(admin.get(&b).body, b"second");

    assert_eq!(admin.mkcol(&server.dav_url("admin", "dir")).status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "dir/sub")).status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "dir/sub/f.txt"), b"deep").status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "target")).status, 201);
    let r = admin.send(
        "MOVE",
        &server.dav_url("admin", "dir"),
        &[("Destination", &server.dav_url("admin", "target/renamed"))],
        b"",
    );
    assert_eq!(r.status, 201, "{}", show(&r));
    assert_eq!(admin.get(&server.dav_url("admin", "target/renamed/sub/f.txt")).body, b"deep");
    assert_eq!(admin.propfind(&server.dav_url("admin", "dir"), "0", "").status, 404);
    assert_eq!(children(&admin, &server.dav_url("admin", "")), vec!["b.txt", "target"]);

    let r =
        admin.send("MOVE", &server.dav_url("admin", "nope"), &[("Destination", &server.dav_url("admin", "x"))], b"");
    assert_eq!(r.status, 404);
}

#[test]
fn move_folder_into_own_subfolder_is_409() {
    let (server, admin) = admin_setup();
    assert_eq!(admin.mkcol(&server.dav_url("admin", "outer")).status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "outer/inner")).status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "outer/inner/f.txt"), b"f").status, 201);
    let r = admin.send(
        "MOVE",
        &server.dav_url("admin", "outer"),
        &[("Destination", &server.dav_url("admin", "outer/inner/moved"))],
        b"",
    );
    assert_eq!(r.status, 409, "{}", show(&r));
    assert_eq!(children(&admin, &server.dav_url("admin", "outer/inner")), vec!["f.txt"]);
    assert_eq!(children(&admin, &server.dav_url("admin", "")), vec!["outer"]);
}

#[test]
fn copy_to_another_host_is_502() {
    let (server, admin) = admin_setup();
    let src = server.dav_url("admin", "here.txt");
    assert_eq!(admin.put(&src, b"here").status, 201);
    let r = admin.send(
        "COPY",
        &src,
        &[("Destination", "http://elsewhere.invalid/remote.php/dav/files/admin/there.txt")],
        b"",
    );
    assert_eq!(r.status, 502, "{}", show(&r));
    let r = admin.send(
        "MOVE",
        &src,
        &[("Destination", "http://elsewhere.invalid/remote.php/dav/files/admin/there.txt")],
        b"",
    );
    assert_eq!(r.status, 502, "{}", show(&r));
    assert_eq!(admin.get(&src).body, b"here");
    assert_eq!(children(&admin, &server.dav_url("admin", "")), vec!["here.txt"]);
}

// ---------------------------------------------------------------------------------------------
// PROPFIND / PROPPATCH
// ---------------------------------------------------------------------------------------------

fn populate(server: &TestServer, admin: &Client) {
    assert_eq!(admin.mkcol(&server.dav_url("admin", "docs")).status, 201);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "docs/deeper")).status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "docs/readme.txt"), b"read me!").status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "docs/deeper/x.txt"), b"x").status, 201);
}

#[test]
fn propfind_depths() {
    let (server, admin) = admin_setup();
    populate(&server, &admin);
    let docs = server.dav_url("admin", "docs");

    let r = admin.propfind(&docs, "0", "");
    assert_eq!(r.status, 207, "{}", show(&r));
    assert!(r.header("Content-Type").unwrap_or("").contains("xml"), "{}", show(&r));
    let text = r.text();
    assert_eq!(responses(&text).len(), 1, "{text}");
    assert!(text.contains("multistatus"));
    assert_eq!(href_path(&responses(&text)[0]).trim_end_matches('/'), "/remote.php/dav/files/admin/docs");

    let r = admin.propfind(&docs, "1", "");
    assert_eq!(r.status, 207);
    let text = r.text();
    let mut paths: Vec<String> = responses(&text).iter().map(|r| href_path(r)).collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "/remote.php/dav/files/admin/docs/",
            "/remote.php/dav/files/admin/docs/deeper/",
            "/remote.php/dav/files/admin/docs/readme.txt",
        ],
        "collections must have a trailing slash, files not"
    );

    let r = admin.propfind(&docs, "infinity", "");
    assert_eq!(r.status, 403, "{}", show(&r));
    assert!(r.text().contains("propfind-finite-depth"), "{}", r.text());

    // A file with Depth 1 lists just the file.
    let r = admin.propfind(&server.dav_url("admin", "docs/readme.txt"), "1", "");
    assert_eq!(r.status, 207);
    assert_eq!(responses(&r.text()).len(), 1);

    assert_eq!(admin.propfind(&server.dav_url("admin", "docs/missing"), "0", "").status, 404);
}

#[test]
fn propfind_allprop_for_empty_body() {
    let (server, admin) = admin_setup();
    populate(&server, &admin);
    let r = admin.propfind(&server.dav_url("admin", "docs"), "1", "");
    assert_eq!(r.status, 207);
    let text = r.text();
    let file = response_for(&text, "/remote.php/dav/files/admin/docs/readme.txt").expect("file response");
    for prop in ["getetag", "getlastmodified", "getcontentlength", "resourcetype", "getcontenttype"] {
        assert!(prop_ok(&file, prop).is_some(), "allprop lacks {prop}: {file}");
    }
    assert_eq!(prop_ok(&file, "getcontentlength").as_deref(), Some("8"));
    assert!(!prop_ok(&file, "resourcetype").unwrap().contains("collection"));
    let dir = response_for(&text, "/remote.php/dav/files/admin/docs/deeper").expect("dir response");
    assert!(prop_ok(&dir, "resourcetype").unwrap_or_default().contains("collection"), "{dir}");
    assert!(prop_ok(&dir, "getetag").is_some());

    // An explicit <allprop/> is the same.
    let body = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:allprop/></d:propfind>";
    let r = admin.propfind(&server.dav_url("admin", "docs/readme.txt"), "0", body);
    assert_eq!(r.status, 207);
    assert_eq!(prop_ok(&r.text(), "getcontentlength").as_deref(), Some("8"));
    // <propname/> lists names without values.
    let body = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:propname/></d:propfind>";
    let r = admin.propfind(&server.dav_url("admin", "docs/readme.txt"), "0", body);
    assert_eq!(r.status, 207, "{}", show(&r));
    let t = r.text();
    assert!(!elements(&t, "getcontentlength").is_empty() && !t.contains(">8<"), "propname: {t}");
}

#[test]
fn propfind_named_props_and_quota() {
    let (server, admin) = admin_setup();
    populate(&server, &admin);
    let props = [
        "getetag",
        "getlastmodified",
        "getcontentlength",
        "resourcetype",
        "getcontenttype",
        "creationdate",
        "displayname",
    ];
    let url = server.dav_url("admin", "docs/readme.txt");
    let body = propfind_body(&props);
    let r = admin.propfind(&url, "0", &body);
    assert_eq!(r.status, 207);
    let text = r.text();
    let resp = &responses(&text)[0];
    for p in props {
        assert!(prop_ok(resp, p).is_some(), "missing {p}: {text}");
    }
    assert!(prop_ok(resp, "getlastmodified").unwrap().ends_with("GMT"));
    let created = prop_ok(resp, "creationdate").unwrap();
    assert!(created.len() >= 20 && created.as_bytes()[4] == b'-' && created.contains('T'), "creationdate {created}");
    assert_eq!(prop_ok(resp, "displayname").as_deref(), Some("readme.txt"));
    assert!(prop_ok(resp, "getcontenttype").unwrap().starts_with("text/plain"));

    // Unknown property: 404 propstat, the others still 200.
    let body = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\" xmlns:z=\"urn:unknown\"><d:prop><d:getetag/><z:nothing/></d:prop></d:propfind>";
    let r = admin.propfind(&url, "0", body);
    assert_eq!(r.status, 207);
    let text = r.text();
    assert!(prop_ok(&text, "getetag").is_some());
    assert!(prop_status(&text, "nothing").unwrap_or_default().contains("404"), "{text}");

    // Quota properties on the root collection.
    let r = admin.propfind(
        &server.dav_url("admin", ""),
        "0",
        &propfind_body(&["quota-used-bytes", "quota-available-bytes"]),
    );
    assert_eq!(r.status, 207);
    let text = r.text();
    let used: i64 = prop_ok(&text, "quota-used-bytes").expect("quota-used-bytes").parse().unwrap();
    assert_eq!(used, 9, "8 + 1 bytes stored: {text}");
    assert!(prop_ok(&text, "quota-available-bytes").is_some(), "{text}");
}

#[test]
fn proppatch_set_and_remove_dead_props() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "p.txt");
    assert_eq!(admin.put(&url, b"p").status, 201);
    let r = admin.send(
        "PROPPATCH",
        &url,
        &[("Content-Type", "application/xml")],
        proppatch_set("color", "blue").as_bytes(),
    );
    assert_eq!(r.status, 207, "{}", show(&r));
    assert!(prop_status(&r.text(), "color").unwrap_or_default().contains("200"), "{}", r.text());
    assert_eq!(dead_prop(&admin, &url, "color").as_deref(), Some("blue"));
    // Dead props appear in allprop too.
    let all = admin.propfind(&url, "0", "").text();
    assert!(elements(&all, "color").iter().any(|v| v.trim() == "blue"), "{all}");

    // Setting again replaces the value; special characters survive.
    let r = admin.send("PROPPATCH", &url, &[], proppatch_set("color", "red &amp; &lt;green&gt;").as_bytes());
    assert_eq!(r.status, 207);
    assert_eq!(dead_prop(&admin, &url, "color").as_deref(), Some("red & <green>"));

    let r = admin.send("PROPPATCH", &url, &[], proppatch_remove("color").as_bytes());
    assert_eq!(r.status, 207, "{}", show(&r));
    assert_eq!(dead_prop(&admin, &url, "color"), None);
    let r = admin.propfind(&url, "0", &propfind_dead("color"));
    assert!(prop_status(&r.text(), "color").unwrap_or_default().contains("404"), "{}", r.text());

    // PROPPATCH on a collection and on a missing resource.
    assert_eq!(admin.mkcol(&server.dav_url("admin", "d")).status, 201);
    let r = admin.send("PROPPATCH", &server.dav_url("admin", "d"), &[], proppatch_set("tag", "folder").as_bytes());
    assert_eq!(r.status, 207);
    assert_eq!(dead_prop(&admin, &server.dav_url("admin", "d"), "tag").as_deref(), Some("folder"));
    let r = admin.send("PROPPATCH", &server.dav_url("admin", "missing"), &[], proppatch_set("tag", "x").as_bytes());
    assert_eq!(r.status, 404);
}

#[test]
fn dead_props_survive_move_and_copy() {
    let (server, admin) = admin_setup();
    let a = server.dav_url("admin", "a.txt");
    assert_eq!(admin.put(&a, b"a").status, 201);
    assert_eq!(admin.send("PROPPATCH", &a, &[], proppatch_set("color", "blue").as_bytes()).status, 207);
    let b = server.dav_url("admin", "b.txt");
    assert_eq!(admin.send("MOVE", &a, &[("Destination", &b)], b"").status, 201);
    assert_eq!(dead_prop(&admin, &b, "color").as_deref(), Some("blue"), "prop lost on MOVE");
    let c = server.dav_url("admin", "c.txt");
    assert_eq!(admin.send("COPY", &b, &[("Destination", &c)], b"").status, 201);
    assert_eq!(dead_prop(&admin, &c, "color").as_deref(), Some("blue"), "prop lost on COPY");
    assert_eq!(dead_prop(&admin, &b, "color").as_deref(), Some("blue"));
    // Changing the copy leaves the original alone.
    assert_eq!(admin.send("PROPPATCH", &c, &[], proppatch_set("color", "green").as_bytes()).status, 207);
    assert_eq!(dead_prop(&admin, &b, "color").as_deref(), Some("blue"));

    // Props on members of a moved / copied collection.
    assert_eq!(admin.mkcol(&server.dav_url("admin", "dir")).status, 201);
    let member = server.dav_url("admin", "dir/m.txt");
    assert_eq!(admin.put(&member, b"m").status, 201);
    assert_eq!(admin.send("PROPPATCH", &member, &[], proppatch_set("tag", "inner").as_bytes()).status, 207);
    assert_eq!(
        admin
            .send("COPY", &server.dav_url("admin", "dir"), &[("Destination", &server.dav_url("admin", "dir2"))], b"")
            .status,
        201
    );
    assert_eq!(dead_prop(&admin, &server.dav_url("admin", "dir2/m.txt"), "tag").as_deref(), Some("inner"));
    assert_eq!(
        admin
            .send("MOVE", &server.dav_url("admin", "dir"), &[("Destination", &server.dav_url("admin", "dir3"))], b"")
            .status,
        201
    );
    assert_eq!(dead_prop(&admin, &server.dav_url("admin", "dir3/m.txt"), "tag").as_deref(), Some("inner"));
    // A new file at the old place does not inherit anything.
    assert_eq!(admin.put(&a, b"new a").status, 201);
    assert_eq!(dead_prop(&admin, &a, "color"), None);
}

// ---------------------------------------------------------------------------------------------
// Locks
// ---------------------------------------------------------------------------------------------

#[test]
fn exclusive_lock_requires_token() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "locked.txt");
    assert_eq!(admin.put(&url, b"original").status, 201);
    let r = lock(&admin, &url, "exclusive", &[]);
    assert_eq!(r.status, 200, "{}", show(&r));
    let token = token_of(&r);
    let text = r.text();
    assert!(!elements(&text, "exclusive").is_empty(), "lockscope missing: {text}");

    // Without the token: 423 and nothing changes.
    assert_eq!(admin.put(&url, b"hijack").status, 423);
    assert_eq!(admin.delete(&url).status, 423);
    let dest = server.dav_url("admin", "moved.txt");
    assert_eq!(admin.send("MOVE", &url, &[("Destination", &dest)], b"").status, 423);
    assert_eq!(admin.send("PROPPATCH", &url, &[], proppatch_set("color", "x").as_bytes()).status, 423);
    // A copy onto the locked resource is a write to it.
    let other = server.dav_url("admin", "other.txt");
    assert_eq!(admin.put(&other, b"other").status, 201);
    assert_eq!(admin.send("COPY", &other, &[("Destination", &url)], b"").status, 423);
    assert_eq!(admin.get(&url).body, b"original");
    assert_eq!(admin.get(&dest).status, 404);
    assert_eq!(dead_prop(&admin, &url, "color"), None);
    // A wrong token does not help.
    let bogus = "(<opaquelocktoken:00000000-0000-0000-0000-000000000000>)";
    assert_eq!(admin.send("PUT", &url, &[("If", bogus)], b"bogus").status, 412);
    assert_eq!(admin.get(&url).body, b"original");

    // With the token everything works.
    let if_hdr = if_token(&token);
    assert_eq!(admin.send("PUT", &url, &[("If", &if_hdr)], b"updated").status, 204);
    assert_eq!(admin.get(&url).body, b"updated");
    assert_eq!(admin.send("PROPPATCH", &url, &[("If", &if_hdr)], proppatch_set("color", "y").as_bytes()).status, 207);
    assert_eq!(dead_prop(&admin, &url, "color").as_deref(), Some("y"));
    // Tagged-list form.
    let tagged = format!("<{url}> (<{token}>)");
    assert_eq!(admin.send("PUT", &url, &[("If", &tagged)], b"tagged").status, 204);
    assert_eq!(admin.send("MOVE", &url, &[("Destination", &dest), ("If", &if_hdr)], b"").status, 201);
    assert_eq!(admin.get(&dest).body, b"tagged");
    // The lock stays behind: the moved file is not locked.
    assert_eq!(admin.put(&dest, b"free").status, 204);

    // DELETE with the token.
    let url2 = server.dav_url("admin", "locked2.txt");
    assert_eq!(admin.put(&url2, b"2").status, 201);
    let token2 = token_of(&lock(&admin, &url2, "exclusive", &[]));
    assert_eq!(admin.send("DELETE", &url2, &[("If", &if_token(&token2))], b"").status, 204);
    assert_eq!(admin.get(&url2).status, 404);
}

#[test]
fn lock_conflicts_exclusive_and_shared() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "x.txt");
    assert_eq!(admin.put(&url, b"x").status, 201);
    let r = lock(&admin, &url, "exclusive", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(lock(&admin, &url, "exclusive", &[]).status, 423, "second exclusive lock");
    assert_eq!(lock(&admin, &url, "shared", &[]).status, 423, "shared lock on exclusive");

    let url = server.dav_url("admin", "y.txt");
    assert_eq!(admin.put(&url, b"y").status, 201);
    let first = lock(&admin, &url, "shared", &[]);
    assert_eq!(first.status, 200, "{}", show(&first));
    let second = lock(&admin, &url, "shared", &[]);
    assert_eq!(second.status, 200, "second shared lock: {}", show(&second));
    let (t1, t2) = (token_of(&first), token_of(&second));
    assert_ne!(t1, t2);
    assert!(!elements(&second.text(), "shared").is_empty());
    assert_eq!(lock(&admin, &url, "exclusive", &[]).status, 423, "exclusive lock on shared");
    assert_eq!(admin.put(&url, b"nope").status, 423);
    assert_eq!(admin.send("PUT", &url, &[("If", &if_token(&t1))], b"one").status, 204);
    assert_eq!(admin.send("PUT", &url, &[("If", &if_token(&t2))], b"two").status, 204);
    assert_eq!(admin.get(&url).body, b"two");
    // lockdiscovery lists both shared locks.
    let r = admin.propfind(&url, "0", &propfind_body(&["lockdiscovery"]));
    let text = r.text();
    assert_eq!(elements(&text, "activelock").len(), 2, "{text}");
}

#[test]
fn lock_unmapped_url_creates_empty_file() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "new-locked.txt");
    let r = lock(&admin, &url, "exclusive", &[]);
    assert_eq!(r.status, 201, "{}", show(&r));
    let token = token_of(&r);
    let got = admin.get(&url);
    assert_eq!(got.status, 200);
    assert!(got.body.is_empty());
    assert_eq!(children(&admin, &server.dav_url("admin", "")), vec!["new-locked.txt"]);
    assert_eq!(admin.put(&url, b"sneaky").status, 423);
    let r = admin.send("PUT", &url, &[("If", &if_token(&token))], b"content");
    assert!(r.status == 204 || r.status == 200, "{}", show(&r));
    assert_eq!(admin.get(&url).body, b"content");
    // Missing parent.
    assert_eq!(lock(&admin, &server.dav_url("admin", "nodir/x.txt"), "exclusive", &[]).status, 409);
}

#[test]
fn lock_timeout_expires_and_refresh_extends() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "t.txt");
    assert_eq!(admin.put(&url, b"t").status, 201);
    let r = admin.send("LOCK", &url, &[("Timeout", "Second-1")], lock_body("exclusive").as_bytes());
    assert_eq!(r.status, 200);
    assert_eq!(first(&r.text(), "timeout").as_deref(), Some("Second-1"), "{}", r.text());
    let _ = token_of(&r);
    assert_eq!(admin.put(&url, b"blocked").status, 423);
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(admin.put(&url, b"after expiry").status, 204, "lock did not expire");

    let url = server.dav_url("admin", "r.txt");
    assert_eq!(admin.put(&url, b"r").status, 201);
    let r = admin.send("LOCK", &url, &[("Timeout", "Second-2")], lock_body("exclusive").as_bytes());
    assert_eq!(r.status, 200);
    let token = token_of(&r);
    // Refresh: LOCK with If and no body.
    let started = Instant::now();
    let r = admin.send("LOCK", &url, &[("If", &if_token(&token)), ("Timeout", "Second-3600")], b"");
    assert_eq!(r.status, 200, "refresh: {}", show(&r));
    let text = r.text();
    assert_eq!(first(&text, "timeout").as_deref(), Some("Second-3600"), "{text}");
    let locktoken = first(&text, "locktoken").unwrap_or_default();
    assert_eq!(first(&locktoken, "href").as_deref(), Some(token.as_str()), "refresh returned another token: {text}");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(admin.put(&url, b"blocked").status, 423, "refreshed lock expired with its old timeout");
    // Refreshing with an unknown token fails.
    let bogus = "(<opaquelocktoken:00000000-0000-0000-0000-000000000000>)";
    let r = admin.send("LOCK", &url, &[("If", bogus), ("Timeout", "Second-60")], b"");
    assert!(r.status == 412 || r.status == 423 || r.status == 409 || r.status == 400, "{}", show(&r));
}

#[test]
fn unlock_releases_lock() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "u.txt");
    assert_eq!(admin.put(&url, b"u").status, 201);
    let token = token_of(&lock(&admin, &url, "exclusive", &[]));
    let bogus = "<opaquelocktoken:00000000-0000-0000-0000-000000000000>";
    let r = admin.send("UNLOCK", &url, &[("Lock-Token", bogus)], b"");
    assert!((400..500).contains(&r.status), "UNLOCK with an unknown token: {}", show(&r));
    assert_eq!(admin.put(&url, b"still locked").status, 423);
    let r = admin.send("UNLOCK", &url, &[("Lock-Token", &format!("<{token}>"))], b"");
    assert_eq!(r.status, 204, "{}", show(&r));
    assert_eq!(admin.put(&url, b"free").status, 204);
    assert_eq!(admin.get(&url).body, b"free");
    let r = admin.send("UNLOCK", &url, &[("Lock-Token", &format!("<{token}>"))], b"");
    assert!((400..500).contains(&r.status), "second UNLOCK: {}", show(&r));
    // Lock discovery is empty again and a new exclusive lock is possible.
    let text = admin.propfind(&url, "0", &propfind_body(&["lockdiscovery"])).text();
    assert!(elements(&text, "activelock").is_empty(), "{text}");
    assert_eq!(lock(&admin, &url, "exclusive", &[]).status, 200);
}

#[test]
fn if_header_with_wrong_etag_is_412() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "e.txt");
    let etag = admin.put(&url, b"e").header("ETag").unwrap().to_string();
    let token = token_of(&lock(&admin, &url, "exclusive", &[]));
    let wrong = format!("(<{token}> [\"wrong-etag\"])");
    let r = admin.send("PUT", &url, &[("If", &wrong)], b"changed");
    assert_eq!(r.status, 412, "{}", show(&r));
    assert_eq!(admin.get(&url).body, b"e");
    let right = format!("(<{token}> [{etag}])");
    let r = admin.send("PUT", &url, &[("If", &right)], b"changed");
    assert_eq!(r.status, 204, "token with the right etag: {}", show(&r));
    assert_eq!(admin.get(&url).body, b"changed");
}

#[test]
fn depth_infinity_lock_on_collection_protects_members() {
    let (server, admin) = admin_setup();
    let dir = server.dav_url("admin", "ldir");
    assert_eq!(admin.mkcol(&dir).status, 201);
    assert_eq!(admin.put(&server.dav_url("admin", "ldir/in.txt"), b"in").status, 201);
    let r = lock(&admin, &dir, "exclusive", &[("Depth", "infinity")]);
    assert_eq!(r.status, 200, "{}", show(&r));
    let token = token_of(&r);
    assert_eq!(admin.put(&server.dav_url("admin", "ldir/new.txt"), b"n").status, 423);
    assert_eq!(admin.put(&server.dav_url("admin", "ldir/in.txt"), b"n").status, 423);
    assert_eq!(admin.delete(&server.dav_url("admin", "ldir/in.txt")).status, 423);
    assert_eq!(admin.delete(&dir).status, 423);
    assert_eq!(admin.mkcol(&server.dav_url("admin", "ldir/sub")).status, 423);
    assert_eq!(children(&admin, &dir), vec!["in.txt"]);
    let r = admin.send("PUT", &server.dav_url("admin", "ldir/new.txt"), &[("If", &if_token(&token))], b"n");
    assert_eq!(r.status, 201, "{}", show(&r));
    // Members show the inherited lock.
    let text = admin.propfind(&server.dav_url("admin", "ldir/in.txt"), "0", &propfind_body(&["lockdiscovery"])).text();
    assert_eq!(elements(&text, "activelock").len(), 1, "{text}");
    assert_eq!(admin.send("DELETE", &dir, &[("If", &if_token(&token))], b"").status, 204);
    assert_eq!(admin.propfind(&dir, "0", "").status, 404);
}

// ---------------------------------------------------------------------------------------------
// ETag propagation, quota
// ---------------------------------------------------------------------------------------------

#[test]
fn folder_etags_propagate_to_root() {
    let (server, admin) = admin_setup();
    let root = server.dav_url("admin", "");
    let a = server.dav_url("admin", "a");
    let ab = server.dav_url("admin", "a/b");
    let side = server.dav_url("admin", "side");
    for url in [&a, &ab, &side] {
        assert_eq!(admin.mkcol(url).status, 201);
    }
    let snapshot =
        |admin: &Client| -> Vec<String> { [&root, &a, &ab, &side].iter().map(|u| etag_of(admin, u)).collect() };

    let before = snapshot(&admin);
    assert_eq!(admin.put(&server.dav_url("admin", "a/b/f.txt"), b"one").status, 201);
    let after = snapshot(&admin);
    assert_ne!(before[0], after[0], "root etag unchanged after nested PUT");
    assert_ne!(before[1], after[1], "a etag unchanged after nested PUT");
    assert_ne!(before[2], after[2], "a/b etag unchanged after nested PUT");
    assert_eq!(before[3], after[3], "unrelated folder etag changed");

    let before = after;
    assert_eq!(admin.put(&server.dav_url("admin", "a/b/f.txt"), b"two").status, 204);
    let after = snapshot(&admin);
    for i in 0..3 {
        assert_ne!(before[i], after[i], "etag {i} unchanged after overwrite");
    }
    assert_eq!(before[3], after[3]);

    let before = after;
    let r = admin.send(
        "MOVE",
        &server.dav_url("admin", "a/b/f.txt"),
        &[("Destination", &server.dav_url("admin", "side/f.txt"))],
        b"",
    );
    assert_eq!(r.status, 201);
    let after = snapshot(&admin);
    for i in 0..4 {
        assert_ne!(before[i], after[i], "etag {i} unchanged after move");
    }

    let before = after;
    assert_eq!(admin.delete(&server.dav_url("admin", "side/f.txt")).status, 204);
    let after = snapshot(&admin);
    assert_ne!(before[0], after[0], "root etag unchanged after delete");
    assert_ne!(before[3], after[3], "side etag unchanged after delete");
    assert_eq!(before[1], after[1]);

    let before = after;
    assert_eq!(admin.mkcol(&server.dav_url("admin", "a/b/c")).status, 201);
    let after = snapshot(&admin);
    assert_ne!(before[0], after[0], "root etag unchanged after nested MKCOL");
    assert_ne!(before[2], after[2]);
}

#[test]
fn quota_is_enforced_and_reported() {
    let server = TestServer::start();
    server.add_user("bob", "bob-pass", &["--quota", "1000"]);
    let bob = Client::new("bob", "bob-pass");
    let root = server.dav_url("bob", "");
    let quota = |bob: &Client| -> (i64, i64) {
        let r = bob.propfind(&root, "0", &propfind_body(&["quota-used-bytes", "quota-available-bytes"]));
        assert_eq!(r.status, 207);
        let t = r.text();
        (
            prop_ok(&t, "quota-used-bytes").expect("used").parse().unwrap(),
            prop_ok(&t, "quota-available-bytes").expect("available").parse().unwrap(),
        )
    };
    assert_eq!(quota(&bob), (0, 1000));

    let r = bob.put(&server.dav_url("bob", "big.bin"), &vec![b'x'; 2000]);
    assert_eq!(r.status, 507, "{}", show(&r));
    assert_eq!(bob.get(&server.dav_url("bob", "big.bin")).status, 404);
    assert!(children(&bob, &root).is_empty());
    assert_eq!(quota(&bob), (0, 1000));

    assert_eq!(bob.put(&server.dav_url("bob", "ok.bin"), &vec![b'y'; 600]).status, 201);
    assert_eq!(quota(&bob), (600, 400));
    let r = bob.put(&server.dav_url("bob", "second.bin"), &vec![b'z'; 600]);
    assert_eq!(r.status, 507, "{}", show(&r));
    assert_eq!(bob.get(&server.dav_url("bob", "second.bin")).status, 404);
    assert_eq!(quota(&bob), (600, 400));

    assert_eq!(bob.delete(&server.dav_url("bob", "ok.bin")).status, 204);
    assert_eq!(quota(&bob), (0, 1000));
    // Exactly at the limit is fine.
    assert_eq!(bob.put(&server.dav_url("bob", "full.bin"), &vec![b'f'; 1000]).status, 201);
    assert_eq!(quota(&bob), (1000, 0));
}

#[test]
fn quota_applies_to_copy() {
    let server = TestServer::start();
    server.add_user("bob", "bob-pass", &["--quota", "1000"]);
    let bob = Client::new("bob", "bob-pass");
    assert_eq!(bob.put(&server.dav_url("bob", "ok.bin"), &vec![b'y'; 600]).status, 201);
    let r =
        bob.send("COPY", &server.dav_url("bob", "ok.bin"), &[("Destination", &server.dav_url("bob", "copy.bin"))], b"");
    assert_eq!(r.status, 507, "COPY beyond quota: {}", show(&r));
    assert_eq!(bob.get(&server.dav_url("bob", "copy.bin")).status, 404);
}

#[test]
fn unicode_and_space_names_round_trip() {
    let (server, admin) = admin_setup();
    let names = ["hello world.txt", "Grüße – ünïcödé.txt", "日本語.md", "a+b&c=d;e'f(g).txt", "100%.txt"];
    for name in names {
        let url = server.dav_url("admin", &pct_encode(name));
        assert_eq!(admin.put(&url, name.as_bytes()).status, 201, "PUT {name}");
        assert_eq!(admin.get(&url).body, name.as_bytes(), "GET {name}");
    }
    let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(children(&admin, &server.dav_url("admin", "")), expected);
    // Move to a unicode name.
    let r = admin.send(
        "MOVE",
        &server.dav_url("admin", &pct_encode("hello world.txt")),
        &[("Destination", &server.dav_url("admin", &pct_encode("Ωmega file.txt")))],
        b"",
    );
    assert_eq!(r.status, 201, "{}", show(&r));
    assert_eq!(admin.get(&server.dav_url("admin", &pct_encode("Ωmega file.txt"))).body, b"hello world.txt");
}

// ---------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------

#[test]
fn delete_and_move_honour_if_match() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "guarded.txt");
    let etag = admin.put(&url, b"guarded").header("ETag").unwrap().to_string();
    let r = admin.send("DELETE", &url, &[("If-Match", "\"stale\"")], b"");
    assert_eq!(r.status, 412, "{}", show(&r));
    let dest = server.dav_url("admin", "moved.txt");
    let r = admin.send("MOVE", &url, &[("Destination", &dest), ("If-Match", "\"stale\"")], b"");
    assert_eq!(r.status, 412, "{}", show(&r));
    assert_eq!(admin.get(&url).body, b"guarded");
    assert_eq!(admin.get(&dest).status, 404);
    let r = admin.send("DELETE", &url, &[("If-Match", &etag)], b"");
    assert_eq!(r.status, 204, "{}", show(&r));
    assert_eq!(admin.get(&url).status, 404);
}

#[test]
fn proppatch_is_atomic_and_live_props_are_protected() {
    let (server, admin) = admin_setup();
    let url = server.dav_url("admin", "atomic.txt");
    let etag = admin.put(&url, b"atomic").header("ETag").unwrap().to_string();
    let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
        <d:propertyupdate xmlns:d=\"DAV:\" xmlns:x=\"urn:hafen-test\"><d:set><d:prop>\
        <x:color>blue</x:color><d:getetag>\"forged\"</d:getetag></d:prop></d:set></d:propertyupdate>";
    let r = admin.send("PROPPATCH", &url, &[("Content-Type", "application/xml")], body.as_bytes());
    assert_eq!(r.status, 207, "{}", show(&r));
    let text = r.text();
    assert!(prop_status(&text, "getetag").unwrap_or_default().contains("403"), "protected live prop: {text}");
    assert!(prop_status(&text, "color").unwrap_or_default().contains("424"), "failed dependency: {text}");
    assert_eq!(dead_prop(&admin, &url, "color"), None, "PROPPATCH was applied partially");
    assert_eq!(etag_of(&admin, &url), etag);
}

#[test]
fn large_file_round_trip_and_ranges() {
    let (server, admin) = admin_setup();
    let mut data = Vec::with_capacity(8 << 20);
    let mut x: u32 = 0x1234_5678;
    while data.len() < (8 << 20) + 12345 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let url = server.dav_url("admin", "large.bin");
    assert_eq!(admin.put(&url, &data).status, 201);
    let got = admin.get(&url);
    assert_eq!(got.status, 200);
    assert_eq!(got.body.len(), data.len());
    assert_eq!(common::blake3_hex(&got.body), common::blake3_hex(&data), "large file content changed");
    assert_eq!(dav_prop(&admin, &url, "getcontentlength"), Some(data.len().to_string()));
    for (start, end) in
        [(0usize, 0usize), (1 << 20, (1 << 20) + 9), ((4 << 20) - 3, (4 << 20) + 3), (data.len() - 5, data.len() - 1)]
    {
        let r = admin.send("GET", &url, &[("Range", &format!("bytes={start}-{end}"))], b"");
        assert_eq!(r.status, 206);
        assert_eq!(r.header("Content-Range"), Some(format!("bytes {start}-{end}/{}", data.len()).as_str()));
        assert!(r.body == data[start..=end], "range {start}-{end} has wrong bytes");
    }
}

#[test]
fn concurrent_puts_never_mix_content() {
    let (server, _admin) = admin_setup();
    let url = server.dav_url("admin", "contended.bin");
    let threads: Vec<_> = (0..6u8)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = Client::new("admin", ADMIN_PASSWORD);
                let body = vec![b'a' + i; 300_000 + i as usize * 1000];
                for _ in 0..4 {
                    let r = client.put(&url, &body);
                    assert!(r.status == 201 || r.status == 204, "{}", show(&r));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }
    let admin = Client::new("admin", ADMIN_PASSWORD);
    let got = admin.get(&url);
    assert_eq!(got.status, 200);
    let first_byte = got.body[0];
    assert!((b'a'..b'a' + 6).contains(&first_byte));
    let i = (first_byte - b'a') as usize;
    assert_eq!(got.body.len(), 300_000 + i * 1000, "length does not match the writer of the first byte");
    assert!(got.body.iter().all(|b| *b == first_byte), "content of different uploads got mixed");
    assert_eq!(dav_prop(&admin, &url, "getcontentlength"), Some(got.body.len().to_string()));
    assert_eq!(children(&admin, &server.dav_url("admin", "")), vec!["contended.bin"], "stray temporary files");
}
