//! Activity and notification e-mails through a real SMTP server (aiosmtpd), issue 8
//! acceptance 3: a share, uploads through a file drop and a mention in a comment each produce
//! the expected activity entries and in-app notifications, and e-mail goes out as one digest
//! per account and window (judged by a controllable clock), never one per event; an account
//! that chose a daily digest gets its e-mail only after a day.

mod common;

use common::{decoded_mail, file_id, test_tmp_root, Client, Mail, Reply, SmtpSink, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

fn api(client: &Client, method: &str, url: &str, body: Value) -> Reply {
    client.send(method, url, &[("Content-Type", "application/json")], body.to_string().as_bytes())
}

/// `(kind, actor, subject)` of the account's activity stream, oldest first.
fn stream(server: &TestServer, client: &Client) -> Vec<(String, String, String)> {
    let reply = client.get(&format!("{}/api/v1/activity", server.base));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let mut entries: Vec<_> = json_of(&reply)
        .as_array()
        .expect("array")
        .iter()
        .map(|entry| {
            let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
            (text("kind"), text("actor"), text("subject"))
        })
        .collect();
    entries.reverse();
    entries
}

fn entry(kind: &str, actor: &str, subject: &str) -> (String, String, String) {
    (kind.to_string(), actor.to_string(), subject.to_string())
}

/// The subjects of the account's in-app notifications (Nextcloud's OCS endpoint), oldest first.
fn notification_subjects(server: &TestServer, client: &Client) -> Vec<String> {
    let reply = client.send(
        "GET",
        &format!("{}/ocs/v2.php/apps/notifications/api/v2/notifications?format=json", server.base),
        &[("OCS-APIRequest", "true")],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let mut subjects: Vec<String> = json_of(&reply)["ocs"]["data"]
        .as_array()
        .expect("notifications")
        .iter()
        .map(|note| note["subject"].as_str().unwrap_or_default().to_string())
        .collect();
    subjects.reverse();
    subjects
}

/// All mails received so far, decoded, sorted by recipient.
fn mails(sink: &SmtpSink) -> Vec<Mail> {
    let mut mails: Vec<Mail> = sink.messages().iter().map(|raw| decoded_mail(raw)).collect();
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    mails
}

/// Waits until `count` mails arrived (or 20 s passed), then a little longer so that a mail
/// too many would show.
fn settle(sink: &SmtpSink, count: usize) -> Vec<Mail> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.messages().len() < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(2500));
    mails(sink)
}

#[test]
fn share_file_drop_and_mention_reach_activity_notifications_and_one_digest_each() {
    let sink = SmtpSink::start();
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let clock = tempfile::NamedTempFile::new_in(test_tmp_root()).expect("clock file");
    let set_clock = |at: i64| std::fs::write(clock.path(), at.to_string()).expect("write clock");
    let start = 1_900_000_000;
    set_clock(start);
    let clock_path = clock.path().to_string_lossy().into_owned();
    let server = TestServer::start_with_env(
        &[],
        &[
            ("HAFEN_SMTP_URL", &smtp),
            ("HAFEN_MAIL_FROM", "Hafen <hafen@example.org>"),
            ("HAFEN_MAIL_DIGEST_SECONDS", "600"),
            ("HAFEN_MAIL_DIGEST_CHECK_SECONDS", "1"),
            ("HAFEN_CLOCK_FILE", &clock_path),
        ],
    );
    server.add_user("alice", "alice-password", &["--email", "alice@example.org", "--display-name", "Alice Amt"]);
    server.add_user("bob", "bob-password", &["--email", "bob@example.org", "--display-name", "Bob Bau"]);
    server.add_user("carol", "carol-password", &["--email", "carol@example.org"]);
    let (alice, bob, carol) = (
        Client::new("alice", "alice-password"),
        Client::new("bob", "bob-password"),
        Client::new("carol", "carol-password"),
    );
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Projekt")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Projekt/plan.txt"), b"Plan").status, 201);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Eingang")).status, 201);

    // 1. A share: activity for both sides, a notification for the recipient.
    let share = api(
        &alice,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Projekt", "type": "user", "with": "bob", "permissions": 31}),
    );
    assert_eq!(share.status, 201, "{}", share.text());

    // 2. Two uploads through a file drop.
    let link = api(
        &alice,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Eingang", "type": "link", "permissions": 4}),
    );
    assert_eq!(link.status, 201, "{}", link.text());
    let token = json_of(&link)["token"].as_str().expect("token").to_string();
    for name in ["antrag.pdf", "anlage.pdf"] {
        let url = format!("{}/public.php/dav/files/{token}/{name}", server.base);
        assert_eq!(Client::anonymous().put(&url, b"%PDF").status, 201);
    }

    // 3. A mention: bob comments on the shared file (Nextcloud's comments endpoint, by file
    // id) and mentions alice, who sees it, and carol, who does not.
    let id = file_id(&bob, &server.dav_url("bob", "Projekt/plan.txt"));
    let comments = format!("{}/remote.php/dav/comments/files/{id}", server.base);
    let posted = bob.send(
        "POST",
        &comments,
        &[("Content-Type", "application/json")],
        json!({"actorType": "users", "verb": "comment", "objectType": "files",
               "message": "@alice bitte bis Freitag freigeben (cc @carol)"})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(posted.status, 201, "{}", posted.text());
    assert!(posted.header("content-location").is_some_and(|at| at.contains(&format!("/comments/files/{id}/"))));

    let link_id = &json_of(&link)["id"];
    let link_actor = format!("link:{}", link_id.as_str().map_or_else(|| link_id.to_string(), str::to_string));
    assert_eq!(
        stream(&server, &alice),
        vec![
            entry("file_created", "alice", "/Projekt/plan.txt"),
            entry("shared", "alice", "/Projekt"),
            entry("shared", "alice", "/Eingang"),
            entry("file_drop_upload", &link_actor, "Eingang/antrag.pdf"),
            entry("file_drop_upload", &link_actor, "Eingang/anlage.pdf"),
            entry("comment", "bob", "plan.txt"),
        ]
    );
    assert_eq!(
        stream(&server, &bob),
        vec![entry("share_received", "alice", "Projekt"), entry("comment", "bob", "plan.txt")]
    );
    assert!(stream(&server, &carol).is_empty(), "carol cannot see the file: nothing about it reaches her");

    assert_eq!(
        notification_subjects(&server, &alice),
        [
            "antrag.pdf wurde in Eingang hochgeladen",
            "anlage.pdf wurde in Eingang hochgeladen",
            "Bob Bau hat Sie in einem Kommentar zu plan.txt erwähnt",
        ]
    );
    assert_eq!(notification_subjects(&server, &bob), ["Alice Amt hat Projekt mit Ihnen geteilt"]);
    assert!(notification_subjects(&server, &carol).is_empty());

    // The digest window (600 s on the server's clock) has not passed: no e-mail yet.
    std::thread::sleep(Duration::from_millis(3000));
    assert!(sink.messages().is_empty(), "e-mail before the digest window passed");

    // Past the window: exactly one e-mail per account with all of its notifications.
    set_clock(start + 601);
    let received = settle(&sink, 2);
    assert_eq!(received.len(), 2, "one digest each for alice and bob, none for carol: {received:?}");
    let (to_alice, to_bob) = (&received[0], &received[1]);
    assert!(to_alice.to.contains("alice@example.org"), "{to_alice:?}");
    assert_eq!(to_alice.subject, "Hafen: 3 neue Benachrichtigungen");
    for expected in
        ["antrag.pdf wurde in Eingang", "anlage.pdf wurde in Eingang", "Bob Bau hat Sie", "bitte bis Freitag"]
    {
        assert!(to_alice.body.contains(expected), "{expected} missing: {}", to_alice.body);
    }
    assert!(to_alice.body.contains(&format!("{}/settings", server.base)), "where to change it: {}", to_alice.body);
    assert!(to_bob.to.contains("bob@example.org"), "{to_bob:?}");
    assert_eq!(to_bob.subject, "Hafen: Alice Amt hat Projekt mit Ihnen geteilt");

    // A later upload waits for the next window of its own; bob, now on a daily digest, gets
    // the next share only after a day.
    let daily = api(&bob, "PATCH", &format!("{}/api/v1/me", server.base), json!({"mail_digest": "daily"}));
    assert_eq!(json_of(&daily)["mail_digest"], "daily", "{}", daily.text());
    let bad = api(&bob, "PATCH", &format!("{}/api/v1/me", server.base), json!({"mail_digest": "hourly"}));
    assert_eq!(bad.status, 400, "{}", bad.text());
    let url = format!("{}/public.php/dav/files/{token}/nachtrag.pdf", server.base);
    assert_eq!(Client::anonymous().put(&url, b"%PDF").status, 201);
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Zweites")).status, 201);
    let second = api(
        &alice,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Zweites", "type": "user", "with": "bob", "permissions": 1}),
    );
    assert_eq!(second.status, 201, "{}", second.text());
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(sink.messages().len(), 2, "nothing before the next window");
    set_clock(start + 601 + 601);
    let received = settle(&sink, 3);
    assert_eq!(received.len(), 3, "only alice's second digest: {received:?}");
    let newest = received.iter().find(|mail| mail.subject.contains("nachtrag.pdf")).expect("alice's second digest");
    assert!(newest.to.contains("alice@example.org") && !newest.body.contains("antrag.pdf wurde"), "{newest:?}");
    set_clock(start + 601 + 86_400);
    let received = settle(&sink, 4);
    assert_eq!(received.len(), 4, "bob's daily digest: {received:?}");
    assert!(received.iter().any(|mail| mail.to.contains("bob@example.org") && mail.subject.contains("Zweites")));
}

#[test]
fn accounts_in_english_get_english_notifications() {
    let sink = SmtpSink::start();
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let server = TestServer::start_with_env(&[], &common::mail_env(&smtp));
    server.add_user("alice", "alice-password", &[]);
    server.add_user("erin", "erin-password", &["--email", "erin@example.org"]);
    let (alice, erin) = (Client::new("alice", "alice-password"), Client::new("erin", "erin-password"));
    let me = api(&erin, "PATCH", &format!("{}/api/v1/me", server.base), json!({"language": "en"}));
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Report")).status, 201);
    let share = api(
        &alice,
        "POST",
        &format!("{}/api/v1/shares", server.base),
        json!({"path": "/Report", "type": "user", "with": "erin", "permissions": 1}),
    );
    assert_eq!(share.status, 201, "{}", share.text());
    assert_eq!(notification_subjects(&server, &erin), ["alice shared Report with you"]);
    let received = settle(&sink, 1);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].subject, "Hafen: alice shared Report with you");
    assert!(received[0].body.starts_with("Hello erin,"), "{}", received[0].body);
}
