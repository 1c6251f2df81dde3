//! Issue 6, acceptance 3, with the client's own request log: `nextcloudcmd` (Debian 3.7.3)
//! syncing bob's account, which holds two received shares of alice's — /Bericht read-only (1)
//! and /Ablage with read, update, create and delete but no reshare (15), both created through
//! the OCS share API as Nextcloud's clients do.
//!
//! Every sync runs with `--logdebug`; the request lines (`accessmanager`) and the client's
//! `Server replied "NNN …" to "METHOD URL"` errors are parsed, so the test asserts that no
//! request got a 5xx, and that every write the client did send into the read-only share was
//! answered 403 (the client is expected to send none: it reads `oc:permissions`).
//!
//! Server side (strict): alice's /Bericht stays byte-identical with exactly its two files;
//! every allowed change in /Ablage (new file, new folder with a file, edit, delete) arrives in
//! alice's tree. Local side (as 3.7.3 behaves): the deleted read-only file is downloaded
//! again; the edited one is the server's version again and the edit survives as a conflict
//! copy; a new file in the read-only folder stays local (the client reports "no permission to
//! add files" and never deletes the user's data).

mod common;

use common::{run_cli, test_tmp_root, Client, TestServer};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TEIL1: &[u8] = b"Bericht Teil 1, Fassung des Ministeriums\n";
const TEIL2: &[u8] = b"Bericht Teil 2, Fassung des Ministeriums\n";
const VORLAGE: &[u8] = b"Vorlage fuer Antworten\n";
const ALT: &[u8] = b"veraltet, darf weg\n";

fn require(tool: &str) -> bool {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().expect("sh");
    if found.stdout.is_empty() {
        eprintln!("skipping: {tool} is not installed (scripts/test installs it)");
        return false;
    }
    true
}

/// One request the client sent, and the status it reported for it (when it reported an error).
#[derive(Debug, Clone)]
struct Sent {
    method: String,
    url: String,
}

struct SyncLog {
    text: String,
    requests: Vec<Sent>,
    /// (status, method, url) of every `Server replied` error line.
    errors: Vec<(u16, String, String)>,
}

fn parse_log(text: String) -> SyncLog {
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    for line in text.lines() {
        // `… nextcloud.sync.accessmanager ]:\t6 "PROPFIND" "http://…" has X-Request-ID "…"`; the
        // number is Qt's operation (1 HEAD, 2 GET, 3 PUT, 4 POST, 5 DELETE, 6 custom verb).
        if let Some(rest) = line.split("nextcloud.sync.accessmanager ]:").nth(1) {
            let rest = rest.trim();
            let mut quoted = rest.split('"');
            let operation = quoted.next().unwrap_or_default().trim();
            let verb = quoted.next().unwrap_or_default();
            let url = quoted.nth(1).unwrap_or_default();
            let method = match (operation, verb) {
                (_, verb) if !verb.is_empty() => verb.to_string(),
                ("1", _) => "HEAD".into(),
                ("2", _) => "GET".into(),
                ("3", _) => "PUT".into(),
                ("4", _) => "POST".into(),
                ("5", _) => "DELETE".into(),
                (other, _) => format!("op{other}"),
            };
            requests.push(Sent { method, url: url.to_string() });
        }
        // `Server replied "403 Forbidden" to "PUT http://…"`.
        let mut rest = line;
        while let Some(at) = rest.find("Server replied \"") {
            rest = &rest[at + "Server replied \"".len()..];
            let status = rest.get(..3).and_then(|code| code.parse::<u16>().ok()).unwrap_or(0);
            let target = rest.split("\" to \"").nth(1).and_then(|tail| tail.split('"').next()).unwrap_or_default();
            let (method, url) = target.split_once(' ').unwrap_or((target, ""));
            errors.push((status, method.to_string(), url.to_string()));
        }
    }
    SyncLog { text, requests, errors }
}

fn sync(server: &TestServer, local: &Path, user: &str, password: &str) -> SyncLog {
    let output = Command::new("nextcloudcmd")
        .args(["--non-interactive", "--logdebug", "--max-sync-retries", "2", "-u", user, "-p", password])
        .arg(local)
        .arg(&server.base)
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .expect("nextcloudcmd");
    // A sync that met refused items ends with a non-zero status; the assertions judge the result.
    parse_log(format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().filter(|line| !line.contains("nextcloud.sync.database.sql")).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn names(alice: &Client, server: &TestServer, folder: &str) -> BTreeSet<String> {
    let reply = alice.propfind(&server.dav_url("alice", &format!("{folder}/")), "1", "");
    assert_eq!(reply.status, 207, "PROPFIND {folder}: {}", reply.text());
    let text = reply.text();
    text.split("href>")
        .skip(1)
        .step_by(2)
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(|href| href.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_string())
        .collect()
}

fn conflict_copies(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().contains("conflicted copy") {
            found.push(entry.path());
        }
    }
    found
}

#[test]
fn nextcloudcmd_on_restricted_received_shares_reverts_forbidden_changes_and_sends_allowed_ones() {
    if !require("nextcloudcmd") {
        return;
    }
    let server = TestServer::start();
    server.add_user("alice", "alice-Passwort-1", &[]);
    server.add_user("bob", "bob-Passwort-1", &[]);
    let (code, out, err) = run_cli(&server.data, &["user", "app-password", "bob"], None);
    assert_eq!(code, 0, "{err}");
    let bob_password = out.lines().last().unwrap_or_default().trim().to_string();
    let alice = Client::new("alice", "alice-Passwort-1");
    for folder in ["Bericht", "Ablage"] {
        assert_eq!(alice.mkcol(&server.dav_url("alice", folder)).status, 201);
    }
    for (path, body) in [
        ("Bericht/teil1.txt", TEIL1),
        ("Bericht/teil2.txt", TEIL2),
        ("Ablage/vorlage.txt", VORLAGE),
        ("Ablage/alt.txt", ALT),
    ] {
        assert_eq!(alice.put(&server.dav_url("alice", path), body).status, 201, "{path}");
    }
    for (path, permissions) in [("/Bericht", 1), ("/Ablage", 15)] {
        let reply = alice.send(
            "POST",
            &format!("{}/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json", server.base),
            &[("OCS-APIRequest", "true"), ("Content-Type", "application/x-www-form-urlencoded")],
            format!("path={path}&shareType=0&shareWith=bob&permissions={permissions}").as_bytes(),
        );
        assert_eq!(reply.status, 200, "share {path}: {}", reply.text());
    }

    let work = tempfile::Builder::new().prefix("shared-sync-").tempdir_in(test_tmp_root()).expect("tempdir");
    let local = work.path().join("bob");
    fs::create_dir_all(&local).expect("mkdir");
    let mut logs = vec![sync(&server, &local, "bob", &bob_password)];
    let first = &logs[0].text;
    for (path, body) in [
        ("Bericht/teil1.txt", TEIL1),
        ("Bericht/teil2.txt", TEIL2),
        ("Ablage/vorlage.txt", VORLAGE),
        ("Ablage/alt.txt", ALT),
    ] {
        assert_eq!(
            fs::read(local.join(path)).ok().as_deref(),
            Some(body),
            "{path} after the first sync:\n{}",
            tail(first, 40)
        );
    }

    // Changes the read-only share forbids …
    fs::write(local.join("Bericht/teil1.txt"), b"Teil 1, von bob umgeschrieben\n").expect("write");
    fs::remove_file(local.join("Bericht/teil2.txt")).expect("remove");
    fs::write(local.join("Bericht/neu.txt"), b"neu von bob\n").expect("write");
    // … and changes the second share allows (update, create, delete).
    fs::write(local.join("Ablage/antwort.txt"), b"Antwort von bob\n").expect("write");
    fs::write(local.join("Ablage/vorlage.txt"), b"Vorlage, von bob ergaenzt\n").expect("write");
    fs::remove_file(local.join("Ablage/alt.txt")).expect("remove");
    fs::create_dir_all(local.join("Ablage/Entwurf")).expect("mkdir");
    fs::write(local.join("Ablage/Entwurf/skizze.txt"), b"Skizze von bob\n").expect("write");
    logs.push(sync(&server, &local, "bob", &bob_password));
    logs.push(sync(&server, &local, "bob", &bob_password));
    let last = tail(&logs[2].text, 40);

    let mut problems = Vec::new();
    // Server side: alice's read-only folder is untouched.
    let bericht = names(&alice, &server, "Bericht");
    if bericht != BTreeSet::from(["teil1.txt".to_string(), "teil2.txt".to_string()]) {
        problems.push(format!("alice's /Bericht now holds {bericht:?}"));
    }
    for (path, body) in [("Bericht/teil1.txt", TEIL1), ("Bericht/teil2.txt", TEIL2)] {
        let reply = alice.get(&server.dav_url("alice", path));
        if reply.status != 200 || reply.body != body {
            problems.push(format!("alice's {path} changed: {} {:?}", reply.status, reply.text()));
        }
    }
    // Server side: the allowed changes arrived.
    for (path, body) in [
        ("Ablage/antwort.txt", &b"Antwort von bob\n"[..]),
        ("Ablage/vorlage.txt", &b"Vorlage, von bob ergaenzt\n"[..]),
        ("Ablage/Entwurf/skizze.txt", &b"Skizze von bob\n"[..]),
    ] {
        let reply = alice.get(&server.dav_url("alice", path));
        if reply.status != 200 || reply.body != body {
            problems.push(format!(
                "bob's change of {path} did not arrive: alice sees {} {:?}",
                reply.status,
                reply.text()
            ));
        }
    }
    let alt = alice.get(&server.dav_url("alice", "Ablage/alt.txt"));
    if alt.status != 404 {
        problems.push(format!(
            "bob's deletion of Ablage/alt.txt (share has delete, 8) did not arrive: alice still gets {}",
            alt.status
        ));
    }
    // Local side, as the 3.7.3 client behaves.
    if fs::read(local.join("Bericht/teil2.txt")).ok().as_deref() != Some(TEIL2) {
        problems.push("the deleted read-only Bericht/teil2.txt was not restored locally".into());
    }
    if fs::read(local.join("Bericht/teil1.txt")).ok().as_deref() != Some(TEIL1) {
        problems.push("the edited read-only Bericht/teil1.txt is not the server's version again".into());
    }
    let copies = conflict_copies(&local.join("Bericht"));
    if !copies.iter().any(|copy| fs::read(copy).ok().as_deref() == Some(&b"Teil 1, von bob umgeschrieben\n"[..])) {
        problems.push(format!("bob's edit of the read-only file is lost (conflict copies: {copies:?})"));
    }
    if fs::read(local.join("Bericht/neu.txt")).ok().as_deref() != Some(&b"neu von bob\n"[..]) {
        problems.push("the client removed bob's new local file in the read-only folder".into());
    }
    if local.join("Ablage/alt.txt").exists() {
        problems.push("Ablage/alt.txt came back locally although bob may delete in /Ablage".into());
    }

    // The client's requests: nothing answered 5xx; writes into the read-only share (if any
    // were sent at all) were refused with 403.
    let writes = ["PUT", "DELETE", "MOVE", "COPY", "MKCOL", "PROPPATCH", "POST"];
    for (round, log) in logs.iter().enumerate() {
        for (status, method, url) in &log.errors {
            if *status >= 500 {
                problems.push(format!("sync {round}: {method} {url} answered {status}"));
            }
            if url.contains("/Bericht") && writes.contains(&method.as_str()) && *status != 403 {
                problems.push(format!("sync {round}: forbidden {method} {url} answered {status}, not 403"));
            }
        }
        let attempted: Vec<String> = log
            .requests
            .iter()
            .filter(|sent| sent.url.contains("/Bericht") && writes.contains(&sent.method.as_str()))
            .map(|sent| format!("{} {}", sent.method, sent.url))
            .collect();
        println!("sync {round}: {} requests, writes into the read-only share: {attempted:?}", log.requests.len());
        for sent in &log.requests {
            if sent.url.contains("/Bericht") && writes.contains(&sent.method.as_str()) {
                let refused = log.errors.iter().any(|(status, method, url)| {
                    *status == 403
                        && method == &sent.method
                        && url.trim_end_matches('/') == sent.url.trim_end_matches('/')
                });
                if !refused {
                    problems
                        .push(format!("sync {round}: {} {} was sent and not refused with 403", sent.method, sent.url));
                }
            }
        }
    }
    assert!(!logs[0].requests.is_empty(), "the request log could not be parsed:\n{}", tail(&logs[0].text, 40));
    assert!(problems.is_empty(), "{} problems:\n{}\n--- last sync:\n{last}", problems.len(), problems.join("\n"));
}
