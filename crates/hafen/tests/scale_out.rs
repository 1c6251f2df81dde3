//! Scale-out: two `hafen serve` nodes (each with its own `--data` directory for local scratch)
//! share one PostgreSQL database and one S3 bucket (moto on loopback). Whatever one node does
//! is visible on the other: content, tree changes, locks; concurrent writes through both nodes
//! serialise without lost updates or torn files.
//!
//! PostgreSQL must be reachable (`HAFEN_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, with `psql` on the PATH); the test creates the
//! database `hafen_test_<random>` and drops it at the end.

mod common;
mod davkit;
#[path = "../../hafen-blob/tests/support/moto.rs"]
mod moto;

use common::{test_tmp_root, Client, TestServer, ADMIN_PASSWORD};
use davkit::*;
use moto::Moto;
use std::process::Command;
use std::sync::{Arc, Barrier};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh PostgreSQL database, dropped when this guard drops (declare it before the servers).
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    fn create() -> TestDatabase {
        let admin_url = std::env::var("HAFEN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let name = format!("hafen_test_{}", hex::encode(rand::random::<[u8; 6]>()));
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let (base, query) = admin_url.split_once('?').map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
        let authority_end = base.find("://").map_or(0, |i| i + 3);
        let base = match base[authority_end..].find('/') {
            Some(slash) => &base[..authority_end + slash],
            None => base,
        };
        let url = match query {
            Some(query) => format!("{base}/{name}?{query}"),
            None => format!("{base}/{name}"),
        };
        TestDatabase { admin_url, name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([self.admin_url.as_str(), "-q", "-c", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .output();
    }
}

fn psql(url: &str, sql: &str) {
    let output = Command::new("psql").args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]).output().expect(
        "psql must be installed and PostgreSQL reachable (HAFEN_TEST_POSTGRES_URL, default \
         postgres://postgres@127.0.0.1:5432/test)",
    );
    assert!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Pseudo-random bytes.
fn content(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

struct Cluster {
    // Field order is drop order: servers stop before the database is dropped, moto last.
    nodes: Vec<TestServer>,
    _database: TestDatabase,
    _moto: Moto,
    _root: tempfile::TempDir,
}

fn start_cluster() -> Cluster {
    let moto = Moto::start();
    moto.create_bucket("cluster");
    let database = TestDatabase::create();
    let root = tempfile::Builder::new().prefix("hafen-scale-").tempdir_in(test_tmp_root()).expect("tempdir");
    let blob_url = format!("s3://cluster/hafen?endpoint={}&region=us-east-1", moto.endpoint);
    let args = ["--database-url", database.url.as_str(), "--blob-url", blob_url.as_str()];
    let nodes = ["node-a", "node-b"].iter().map(|name| TestServer::start_in(&root.path().join(name), &args)).collect();
    Cluster { nodes, _database: database, _moto: moto, _root: root }
}

#[test]
fn two_nodes_share_one_database_and_one_bucket() {
    if common::skip_unless_embedded(
        "two_nodes_share_one_database_and_one_bucket",
        "it runs on PostgreSQL and S3 in every mode; nothing to repeat",
    ) {
        return;
    }
    let cluster = start_cluster();
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let client = Client::new("admin", ADMIN_PASSWORD);

    // Content written through A reads back through B, small (inline) and multi-block alike.
    let big = content(1, 9 * 1024 * 1024 + 3);
    assert_eq!(client.put(&a.dav_url("admin", "big.bin"), &big).status, 201);
    assert_eq!(client.put(&a.dav_url("admin", "small.txt"), b"hello").status, 201);
    let reply = client.get(&b.dav_url("admin", "big.bin"));
    assert_eq!(reply.status, 200);
    assert!(reply.body == big, "B serves what A stored");
    assert_eq!(client.get(&b.dav_url("admin", "small.txt")).body, b"hello");
    assert_eq!(etag_of(&client, &a.dav_url("admin", "big.bin")), etag_of(&client, &b.dav_url("admin", "big.bin")));

    // Tree operations alternate between the nodes.
    assert_eq!(client.mkcol(&a.dav_url("admin", "projects")).status, 201);
    assert_eq!(client.mkcol(&b.dav_url("admin", "projects")).status, 405, "B sees A's folder");
    assert_eq!(client.put(&b.dav_url("admin", "projects/plan.txt"), b"plan v1").status, 201);
    // (Destination names the node the request goes to, as behind a load balancer.)
    let destination = b.dav_url("admin", "archive");
    let reply = client.send("MOVE", &b.dav_url("admin", "projects"), &[("Destination", destination.as_str())], b"");
    assert_eq!(reply.status, 201, "{}", show(&reply));
    assert_eq!(client.get(&a.dav_url("admin", "archive/plan.txt")).body, b"plan v1");
    assert_eq!(client.get(&a.dav_url("admin", "projects/plan.txt")).status, 404);
    assert_eq!(children(&client, &b.dav_url("admin", "archive")), vec!["plan.txt".to_string()]);
    assert_eq!(client.delete(&a.dav_url("admin", "archive")).status, 204);
    assert_eq!(client.get(&b.dav_url("admin", "archive/plan.txt")).status, 404);

    // A lock taken on A is honoured on B.
    let url_a = a.dav_url("admin", "small.txt");
    let url_b = b.dav_url("admin", "small.txt");
    let reply = client.send(
        "LOCK",
        &url_a,
        &[("Content-Type", "application/xml"), ("Timeout", "Second-600")],
        lock_body("exclusive").as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", show(&reply));
    let token = reply.header("Lock-Token").expect("Lock-Token").trim_matches(['<', '>']).to_string();
    assert_eq!(client.put(&url_b, b"sneaky").status, 423, "B refuses a write without the token");
    assert_eq!(client.delete(&url_b).status, 423);
    let with_token = format!("(<{token}>)");
    assert_eq!(client.send("PUT", &url_b, &[("If", with_token.as_str())], b"with token").status, 204);
    let reply = client.send("UNLOCK", &url_b, &[("Lock-Token", &format!("<{token}>"))], b"");
    assert_eq!(reply.status, 204, "B releases A's lock: {}", show(&reply));
    assert_eq!(client.put(&url_a, b"unlocked").status, 204);
    assert_eq!(client.get(&url_b).body, b"unlocked");
}

#[test]
fn concurrent_writes_through_both_nodes_serialise() {
    if common::skip_unless_embedded(
        "concurrent_writes_through_both_nodes_serialise",
        "it runs on PostgreSQL and S3 in every mode; nothing to repeat",
    ) {
        return;
    }
    let cluster = start_cluster();
    let bases: Vec<String> = cluster.nodes.iter().map(|node| node.dav_url("admin", "")).collect();
    let client = Client::new("admin", ADMIN_PASSWORD);
    assert_eq!(client.mkcol(&format!("{}race", bases[0])).status, 201);

    // Unconditional PUTs of one path through both nodes: the result is one whole upload, and
    // the sizes the tree reports match it.
    let writers = 8;
    let rounds = 5;
    for round in 0..rounds {
        let barrier = Arc::new(Barrier::new(writers));
        let uploads: Vec<Vec<u8>> =
            (0..writers).map(|w| content((round * 100 + w) as u64, 40_000 + w * 70_000)).collect();
        let threads: Vec<_> = (0..writers)
            .map(|w| {
                let url = format!("{}race/same.bin", bases[w % 2]);
                let body = uploads[w].clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let client = Client::new("admin", ADMIN_PASSWORD);
                    barrier.wait();
                    client.put(&url, &body).status
                })
            })
            .collect();
        for thread in threads {
            let status = thread.join().expect("writer");
            assert!(status == 201 || status == 204, "PUT status {status}");
        }
        for base in &bases {
            let body = client.get(&format!("{base}race/same.bin")).body;
            assert!(uploads.contains(&body), "round {round}: content is not one of the uploads ({} bytes)", body.len());
            let length = dav_prop(&client, &format!("{base}race/same.bin"), "getcontentlength");
            assert_eq!(length, Some(body.len().to_string()), "round {round}: getcontentlength");
            let folder = dav_prop(&client, &format!("{base}race"), "quota-used-bytes");
            assert_eq!(folder, Some(body.len().to_string()), "round {round}: folder size");
        }
    }

    // Conditional PUTs (If-Match on the current ETag) through both nodes: exactly one winner
    // per round, everyone else gets 412, and the winner's bytes are what is stored.
    let url = format!("{}race/cas.txt", bases[0]);
    assert_eq!(client.put(&url, b"start").status, 201);
    let contenders = 10;
    let cas_rounds = 20;
    for round in 0..cas_rounds {
        let etag = etag_of(&client, &url);
        let barrier = Arc::new(Barrier::new(contenders));
        let threads: Vec<_> = (0..contenders)
            .map(|c| {
                let url = format!("{}race/cas.txt", bases[c % 2]);
                let etag = etag.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let client = Client::new("admin", ADMIN_PASSWORD);
                    let body = format!("round {round} contender {c}");
                    barrier.wait();
                    (client.send("PUT", &url, &[("If-Match", etag.as_str())], body.as_bytes()).status, body)
                })
            })
            .collect();
        let results: Vec<(u16, String)> = threads.into_iter().map(|t| t.join().expect("contender")).collect();
        let winners: Vec<&String> = results.iter().filter(|(s, _)| *s == 204).map(|(_, body)| body).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner, got {results:?}");
        assert!(results.iter().all(|(s, _)| *s == 204 || *s == 412), "round {round}: {results:?}");
        for base in &bases {
            assert_eq!(client.get(&format!("{base}race/cas.txt")).text(), *winners[0], "round {round}");
        }
    }
}
