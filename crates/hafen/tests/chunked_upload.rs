//! Nextcloud chunked uploads against the real binary: the 3.7 desktop client's variant (MKCOL
//! without Destination, 16-digit chunk names, tagged `If` on the final MOVE), chunking v2
//! (Destination from the start, unpadded numeric names), resuming after an interrupted chunk,
//! length and condition checks, and expiry of abandoned uploads.

mod common;
mod davkit;

use common::{blake3_hex, Client, TestServer, ADMIN_PASSWORD};
use davkit::{elements, href_path, responses};
use std::time::{Duration, Instant};

fn admin() -> Client {
    Client::new("admin", ADMIN_PASSWORD)
}

fn uploads_url(server: &TestServer, transfer: &str) -> String {
    format!("{}/remote.php/dav/uploads/admin/{transfer}", server.base)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed).collect()
}

fn sha1_hex(data: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(data))
}

#[test]
fn desktop_client_chunking_assembles_in_name_order_and_keeps_the_file_id() {
    let server = TestServer::start();
    let client = admin();
    let content = pattern(11 * 1024 * 1024 + 17, 3);
    let parts = [&content[..5_000_000], &content[5_000_000..10_000_000], &content[10_000_000..]];
    let transfer = uploads_url(&server, "4711");
    let total = content.len().to_string();
    let reply = client.send("MKCOL", &transfer, &[("OC-Total-Length", &total)], b"");
    assert_eq!(reply.status, 201, "{}", reply.text());
    // Sent out of order: assembly must follow the names, not the arrival.
    for index in [2usize, 0, 1] {
        let name = format!("{index:016}");
        let reply = client.send("PUT", &format!("{transfer}/{name}"), &[("OC-Chunk-Offset", "0")], parts[index]);
        assert_eq!(reply.status, 201, "chunk {name}: {}", reply.text());
    }
    let listing = client.propfind(&transfer, "1", "");
    assert_eq!(listing.status, 207);
    assert!(listing.header("content-type").unwrap_or_default().contains("application/xml; charset=utf-8"));
    let names: Vec<String> = responses(&listing.text()).iter().map(|r| href_path(r)).collect();
    assert!(names[0].ends_with("/uploads/admin/4711/"), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("/.file")), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.ends_with("00") || n.ends_with("01") || n.ends_with("02")).count(),
        3,
        "{names:?}"
    );

    let destination = "/remote.php/dav/files/admin/big%20file.bin";
    let checksum = format!("SHA1:{}", sha1_hex(&content));
    let reply = client.send(
        "MOVE",
        &format!("{transfer}/.file"),
        &[
            ("Destination", destination),
            ("OC-Total-Length", &total),
            ("X-OC-Mtime", "1700000300"),
            ("OC-Checksum", &checksum),
        ],
        b"",
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let file_id = reply.header("oc-fileid").expect("OC-FileId").to_string();
    assert!(file_id.ends_with("ochafen00001") && file_id.len() >= 20, "{file_id}");
    let etag = reply.header("etag").expect("ETag").to_string();
    assert_eq!(reply.header("oc-etag"), Some(etag.as_str()));
    assert_eq!(reply.header("x-oc-mtime"), Some("accepted"));
    assert_eq!(client.propfind(&transfer, "0", "").status, 404, "the upload folder must be gone");

    let url = server.dav_url("admin", "big%20file.bin");
    let got = client.get(&url);
    assert_eq!(got.status, 200);
    assert_eq!(blake3_hex(&got.body), blake3_hex(&content));
    assert_eq!(got.header("oc-checksum"), Some(checksum.as_str()));
    assert_eq!(got.header("last-modified"), Some("Tue, 14 Nov 2023 22:18:20 GMT"));

    // An update with the tagged If header of the 3.7 client: a stale ETag is refused, the
    // current one replaces the content and keeps the file id.
    let second = pattern(3 * 1024 * 1024, 9);
    for (tag, expected) in [("\"stale\"", 412u16), (etag.as_str(), 204)] {
        let transfer = uploads_url(&server, &format!("update-{expected}"));
        assert_eq!(client.send("MKCOL", &transfer, &[], b"").status, 201);
        assert_eq!(client.send("PUT", &format!("{transfer}/0000000000000000"), &[], &second).status, 201);
        let condition = format!("<{}{destination}> ([{tag}])", server.base);
        let reply =
            client.send("MOVE", &format!("{transfer}/.file"), &[("Destination", destination), ("If", &condition)], b"");
        assert_eq!(reply.status, expected, "If {condition}: {}", reply.text());
        if expected == 204 {
            assert_eq!(reply.header("oc-fileid"), Some(file_id.as_str()));
        }
    }
    assert_eq!(blake3_hex(&client.get(&url).body), blake3_hex(&second));
}

#[test]
fn chunking_v2_orders_numeric_names_and_checks_destination_and_length() {
    let server = TestServer::start();
    let client = admin();
    let destination = format!("{}/remote.php/dav/files/admin/v2.bin", server.base);
    let transfer = uploads_url(&server, "web-file-upload-1");
    assert_eq!(client.send("MKCOL", &transfer, &[("Destination", &destination)], b"").status, 201);
    assert_eq!(client.send("MKCOL", &transfer, &[("Destination", &destination)], b"").status, 405, "exists");
    let chunks: Vec<Vec<u8>> = (1..=10u8).map(|i| pattern(100_000 + usize::from(i), i)).collect();
    for (index, chunk) in chunks.iter().enumerate().rev() {
        let reply = client.send("PUT", &format!("{transfer}/{}", index + 1), &[("Destination", &destination)], chunk);
        assert_eq!(reply.status, 201);
    }
    let expected: Vec<u8> = chunks.concat();
    let move_to = |target: &str, total: usize| {
        client.send(
            "MOVE",
            &format!("{transfer}/.file"),
            &[("Destination", target), ("OC-Total-Length", &total.to_string())],
            b"",
        )
    };
    let elsewhere = format!("{}/remote.php/dav/files/admin/other.bin", server.base);
    assert_eq!(move_to(&elsewhere, expected.len()).status, 400, "Destination must match the MKCOL one");
    assert_eq!(move_to(&destination, expected.len() + 1).status, 400, "lengths must add up");
    let reply = move_to(&destination, expected.len());
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(blake3_hex(&client.get(&destination).body), blake3_hex(&expected));
}

#[test]
fn interrupted_chunk_upload_resumes_and_completes() {
    let server = TestServer::start();
    let client = admin();
    let content = pattern(9 * 1024 * 1024, 5);
    let transfer = uploads_url(&server, "resume-me");
    assert_eq!(client.send("MKCOL", &transfer, &[("OC-Total-Length", &content.len().to_string())], b"").status, 201);
    let half = 4 * 1024 * 1024 + 123;
    assert_eq!(client.send("PUT", &format!("{transfer}/0000000000000000"), &[], &content[..half]).status, 201);

    // The second chunk breaks off half-way: a raw request whose body stops early.
    let path = "/remote.php/dav/uploads/admin/resume-me/0000000000000001";
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n",
        davkit::host_port(&server),
        davkit::basic("admin", ADMIN_PASSWORD),
        content.len() - half
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&content[half..half + 1_000_000]);
    let _ = davkit::raw_exchange(&server, &bytes, true);

    // What a resuming client sees: only the complete first chunk.
    let listing = client.propfind(&transfer, "1", "").text();
    let chunks: Vec<String> = responses(&listing)
        .iter()
        .map(|r| href_path(r))
        .filter(|h| h.ends_with("0000000000000000") || h.ends_with("0000000000000001"))
        .collect();
    assert_eq!(chunks.len(), 1, "{listing}");
    let sizes = elements(&listing, "getcontentlength");
    assert!(sizes.contains(&half.to_string()), "{sizes:?}");

    assert_eq!(client.send("PUT", &format!("{transfer}/0000000000000001"), &[], &content[half..]).status, 201);
    let reply = client.send(
        "MOVE",
        &format!("{transfer}/.file"),
        &[("Destination", "/remote.php/dav/files/admin/resumed.bin")],
        b"",
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(blake3_hex(&client.get(&server.dav_url("admin", "resumed.bin")).body), blake3_hex(&content));
}

#[test]
fn uploads_are_private_quota_checked_and_deletable() {
    let server = TestServer::start();
    server.add_user("bob", "bob-password", &["--quota", "1000000"]);
    let bob = Client::new("bob", "bob-password");
    let admin_transfer = uploads_url(&server, "mine");
    assert_eq!(admin().send("MKCOL", &admin_transfer, &[], b"").status, 201);
    assert_eq!(bob.send("PROPFIND", &admin_transfer, &[("Depth", "1")], b"").status, 403);
    assert_eq!(bob.send("PUT", &format!("{admin_transfer}/1"), &[], b"x").status, 403);

    let bob_transfer = format!("{}/remote.php/dav/uploads/bob/big", server.base);
    let reply = bob.send("MKCOL", &bob_transfer, &[("OC-Total-Length", "5000000")], b"");
    assert_eq!(reply.status, 507, "{}", reply.text());
    assert_eq!(bob.send("MKCOL", &bob_transfer, &[], b"").status, 201);
    assert_eq!(bob.send("PUT", &format!("{bob_transfer}/1"), &[], &pattern(1_500_000, 1)).status, 507);
    assert_eq!(bob.send("PUT", &format!("{bob_transfer}/1"), &[], b"small").status, 201);
    assert_eq!(bob.send("DELETE", &format!("{bob_transfer}/1"), &[], b"").status, 204);
    assert_eq!(bob.send("DELETE", &bob_transfer, &[], b"").status, 204);
    assert_eq!(bob.send("PROPFIND", &bob_transfer, &[("Depth", "0")], b"").status, 404);
    assert_eq!(admin().send("GET", &format!("{admin_transfer}/1"), &[], b"").status, 403);
}

#[test]
fn abandoned_uploads_expire_and_their_blocks_are_reclaimed() {
    if common::skip_unless_embedded(
        "abandoned_uploads_expire_and_their_blocks_are_reclaimed",
        "it counts the block files in DATA/blocks",
    ) {
        return;
    }
    let root = tempfile::Builder::new().prefix("hafen-expiry-").tempdir_in(common::test_tmp_root()).expect("tempdir");
    let data = root.path().join("data");
    let server = TestServer::start_in(
        &data,
        &["--upload-expiry-seconds", "1", "--gc-grace-seconds", "0", "--maintenance-interval-seconds", "1"],
    );
    let client = admin();
    let transfer = uploads_url(&server, "abandoned");
    assert_eq!(client.send("MKCOL", &transfer, &[], b"").status, 201);
    assert_eq!(client.send("PUT", &format!("{transfer}/1"), &[], &pattern(300_000, 7)).status, 201);
    let block_files = || walk(&data.join("blocks"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let gone = client.propfind(&transfer, "0", "").status == 404;
        if gone && block_files() == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "upload not expired or blocks not reclaimed (files left: {})",
            block_files()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|entry| if entry.path().is_dir() { walk(&entry.path()) } else { 1 }).sum()
}
