//! Folder downloads as ZIP through a public link page (`/s/{token}/download?path=FOLDER`),
//! against the real binary: the archive holds exactly the folder's files and folders (nested,
//! empty, UTF-8 names, a multi-block file of random bytes) with identical bytes; a subfolder
//! downloads on its own; the link page offers the downloads in German and English; a ZIP counts
//! as one download against the link's limit; a link with hidden downloads and a file-drop link
//! never yield an archive.

mod common;

use common::{Client, Reply, TestServer};
use rand::RngCore;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;

/// Percent-encodes a path for a URL, keeping `/` and unreserved characters.
fn encode(path: &str) -> String {
    path.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The file name of an `attachment; filename*=UTF-8''…` header, percent-decoded.
fn attachment_name(reply: &Reply) -> String {
    let value = reply.header("content-disposition").unwrap_or_default();
    let encoded = value.strip_prefix("attachment; filename*=UTF-8''").unwrap_or_else(|| panic!("disposition {value}"));
    let mut bytes = Vec::new();
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' && tail.len() >= 2 {
            let hex = std::str::from_utf8(&tail[..2]).expect("hex");
            bytes.push(u8::from_str_radix(hex, 16).expect("hex"));
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).expect("UTF-8 file name")
}

fn create_link(server: &TestServer, client: &Client, body: Value) -> String {
    let reply = client.send(
        "POST",
        &format!("{}/api/v1/shares", server.base),
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 201, "share {body}: {}", reply.text());
    let share: Value = serde_json::from_slice(&reply.body).expect("share JSON");
    share["token"].as_str().expect("token").to_string()
}

/// Every entry of a ZIP: name → content (`None` for a folder).
fn unpack(reply: &Reply) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(reply.body.clone()))
        .unwrap_or_else(|error| panic!("not a ZIP ({error}): {} bytes", reply.body.len()));
    let mut entries = BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).expect("entry");
        let name = file.name().expect("a UTF-8 name").into_owned();
        let content = if file.is_dir() {
            None
        } else {
            let mut content = Vec::new();
            file.read_to_end(&mut content).expect("entry content (CRC checked)");
            Some(content)
        };
        assert!(entries.insert(name.clone(), content).is_none(), "{name} twice");
    }
    entries
}

fn expected(entries: &[(&str, Option<&[u8]>)]) -> BTreeMap<String, Option<Vec<u8>>> {
    entries.iter().map(|(name, content)| (name.to_string(), content.map(<[u8]>::to_vec))).collect()
}

/// The folder tree under test: `Projekt/` with nested, empty and UTF-8-named entries.
fn upload_tree(server: &TestServer, alice: &Client, big: &[u8]) {
    for folder in ["Projekt", "Projekt/Unter", "Projekt/Unter/Tief", "Projekt/Leer"] {
        assert_eq!(alice.mkcol(&server.dav_url("alice", &encode(folder))).status, 201, "{folder}");
    }
    let files: [(&str, &[u8]); 5] = [
        ("Projekt/readme.txt", b"Lies mich"),
        ("Projekt/\u{dc}bersicht M\u{e4}rz.txt", "Übersicht für März".as_bytes()),
        ("Projekt/leer.txt", b""),
        ("Projekt/Unter/daten.bin", big),
        ("Projekt/Unter/Tief/notiz.txt", b"tief unten"),
    ];
    for (path, content) in files {
        assert_eq!(alice.put(&server.dav_url("alice", &encode(path)), content).status, 201, "{path}");
    }
}

#[test]
fn a_folder_downloads_as_one_zip_with_exactly_its_content() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    // Random bytes over two content blocks (4 MiB each), so the archive streams several.
    let mut big = vec![0u8; 5 * 1024 * 1024 + 12_345];
    rand::thread_rng().fill_bytes(&mut big);
    upload_tree(&server, &alice, &big);
    let token = create_link(&server, &alice, json!({"path": "/Projekt", "type": "link"}));
    let visitor = Client::anonymous();

    let whole = visitor.get(&format!("{}/s/{token}/download", server.base));
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert_eq!(whole.header("content-type"), Some("application/zip"));
    assert_eq!(attachment_name(&whole), "Projekt.zip");
    assert_eq!(
        unpack(&whole),
        expected(&[
            ("Leer/", None),
            ("Unter/", None),
            ("Unter/Tief/", None),
            ("Unter/Tief/notiz.txt", Some(b"tief unten")),
            ("Unter/daten.bin", Some(&big)),
            ("leer.txt", Some(b"")),
            ("readme.txt", Some(b"Lies mich")),
            ("\u{dc}bersicht M\u{e4}rz.txt", Some("Übersicht für März".as_bytes())),
        ])
    );

    // A subfolder on its own, named after it; the path may be given with or without a slash.
    for path in ["Unter", "%2FUnter"] {
        let sub = visitor.get(&format!("{}/s/{token}/download?path={path}", server.base));
        assert_eq!(sub.status, 200, "{}", sub.text());
        assert_eq!(attachment_name(&sub), "Unter.zip");
        assert_eq!(
            unpack(&sub),
            expected(&[("Tief/", None), ("Tief/notiz.txt", Some(b"tief unten")), ("daten.bin", Some(&big))])
        );
    }
    let empty = visitor.get(&format!("{}/s/{token}/download?path=Leer", server.base));
    assert_eq!(empty.status, 200);
    assert!(unpack(&empty).is_empty(), "an empty folder is an empty archive");
    // Nothing outside the link, nothing that does not exist.
    assert_eq!(visitor.get(&format!("{}/s/{token}/download?path=..", server.base)).status, 400);
    assert_eq!(visitor.get(&format!("{}/s/{token}/download?path=Fehlt", server.base)).status, 404);
    // A single file still downloads as itself.
    let file = visitor.get(&format!("{}/s/{token}/download?path=Unter/daten.bin", server.base));
    assert_eq!(file.status, 200);
    assert_eq!(file.body, big);

    // The page offers the whole folder and each subfolder, in the visitor's language.
    let page = visitor.get(&format!("{}/s/{token}", server.base));
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains(&format!("href=\"/s/{token}/download?path=%2F\"")), "{html}");
    assert!(html.contains("Alles als ZIP herunterladen"), "German by default: {html}");
    assert!(html.contains(&format!("href=\"/s/{token}/download?path=%2FUnter\"")), "{html}");
    assert!(html.contains("aria-label=\"Ordner Unter als ZIP herunterladen\""), "{html}");
    let english =
        visitor.send("GET", &format!("{}/s/{token}?path=Unter", server.base), &[("Accept-Language", "en")], b"");
    let html = english.text();
    assert!(html.contains("Download all as ZIP"), "{html}");
    assert!(html.contains(&format!("href=\"/s/{token}/download?path=%2FUnter\"")), "this folder's ZIP: {html}");
    assert!(html.contains("aria-label=\"Download folder Tief as ZIP\""), "{html}");
    assert!(!html.contains(">?<"), "no missing translation: {html}");
}

#[test]
fn a_zip_is_one_download_and_refused_where_downloads_are() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    upload_tree(&server, &alice, b"klein");
    let visitor = Client::anonymous();
    let download = |token: &str, path: &str| visitor.get(&format!("{}/s/{token}/download?path={path}", server.base));

    // Limit 1: the ZIP is the one download; then the link is gone for folders and files alike.
    let limited = create_link(&server, &alice, json!({"path": "/Projekt", "type": "link", "download_limit": 1}));
    let first = download(&limited, "");
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(unpack(&first).len(), 8);
    assert_eq!(download(&limited, "").status, 404, "second ZIP refused");
    assert_eq!(download(&limited, "readme.txt").status, 404, "a file after the ZIP refused");
    // Limit 2: a file and a ZIP count one each.
    let two = create_link(&server, &alice, json!({"path": "/Projekt", "type": "link", "download_limit": 2}));
    assert_eq!(download(&two, "readme.txt").status, 200);
    assert_eq!(download(&two, "Unter").status, 200);
    assert_eq!(download(&two, "Unter").status, 404);
    // Refusals before counting: a missing folder spends nothing.
    let three = create_link(&server, &alice, json!({"path": "/Projekt", "type": "link", "download_limit": 1}));
    assert_eq!(download(&three, "Fehlt").status, 404);
    assert_eq!(download(&three, "").status, 200);

    // Hidden downloads: no ZIP, and the page offers none.
    let hidden = create_link(&server, &alice, json!({"path": "/Projekt", "type": "link", "hide_download": true}));
    for path in ["", "Unter", "Leer"] {
        let refused = download(&hidden, path);
        assert_eq!(refused.status, 403, "{path}");
        assert!(!refused.body.starts_with(b"PK"), "{path}");
    }
    let page = visitor.get(&format!("{}/s/{hidden}", server.base));
    assert_eq!(page.status, 200);
    assert!(!page.text().contains("/download"), "{}", page.text());

    // A file drop: the folder is visible as a drop target only; never an archive.
    let drop = create_link(&server, &alice, json!({"path": "/Projekt", "type": "link", "permissions": 4}));
    for path in ["", "Unter", "Leer", "readme.txt"] {
        let refused = download(&drop, path);
        assert_eq!(refused.status, 404, "{path}: {}", refused.text());
        assert!(!refused.body.starts_with(b"PK"), "{path}");
    }
    let page = visitor.get(&format!("{}/s/{drop}", server.base));
    assert!(!page.text().contains("ZIP"), "{}", page.text());
}
