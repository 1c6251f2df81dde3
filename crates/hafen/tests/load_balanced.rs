//! Two `hafen serve` nodes on one PostgreSQL database and one S3 bucket (moto on loopback)
//! behind nginx (Debian package `nginx`, installed by `scripts/test`) as a round-robin load
//! balancer, as in `docs/deployment.md`: litmus and a `nextcloudcmd` sync pass through the
//! balancer, a lock taken on one node is honoured by the other, conflicting conditional PUTs
//! through the balancer have exactly one winner per round, and a chunked upload survives one
//! node being killed (SIGKILL) half-way while nothing committed before is lost.
//!
//! PostgreSQL must be reachable (`HAFEN_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, with `psql` on the PATH). These tests run on
//! PostgreSQL and S3 whatever `HAFEN_TEST_BACKEND` says, so they skip themselves in the
//! `postgres-s3` pass of `scripts/test` (nothing to repeat).

mod common;
mod davkit;
mod litmuskit;

use common::{blake3_hex, test_tmp_root, Client, ExternalStores, TestServer, ADMIN_PASSWORD};
use davkit::*;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// nginx as a child process with a private configuration, logs and temp files in a temp dir.
struct Nginx {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx balancing round-robin over the given `host:port` upstreams.
    fn start(upstreams: &[String]) -> Nginx {
        let nginx = require("nginx");
        let dir = tempfile::Builder::new().prefix("nginx-").tempdir_in(test_tmp_root()).expect("nginx dir");
        let prefix = dir.path().to_str().expect("utf-8 temp path").to_string();
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let servers: String = upstreams
            .iter()
            .map(|upstream| format!("        server {upstream} max_fails=1 fail_timeout=30s;\n"))
            .collect();
        // One process (no master): SIGKILL on the child ends all of nginx.
        let config = format!(
            "master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream hafen {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_read_timeout 300s;
        proxy_send_timeout 300s;
        location / {{
            proxy_pass http://hafen;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_502;
        }}
    }}
}}
"
        );
        let conf = dir.path().join("nginx.conf");
        fs::write(&conf, config).expect("write nginx.conf");
        let mut child = Command::new(nginx)
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn nginx");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}):\n{log}");
            }
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, base, dir }
    }

    fn dav_url(&self, user: &str, path: &str) -> String {
        format!("{}/remote.php/dav/files/{user}/{path}", self.base)
    }

    fn error_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    // Field order is drop order: the balancer first, then the nodes, then the stores.
    nginx: Nginx,
    nodes: Vec<TestServer>,
    _root: tempfile::TempDir,
}

fn start_cluster() -> Cluster {
    let stores = Arc::new(ExternalStores::create());
    let root = tempfile::Builder::new().prefix("hafen-lb-").tempdir_in(test_tmp_root()).expect("tempdir");
    let nodes: Vec<TestServer> = ["node-a", "node-b"]
        .iter()
        .map(|name| TestServer::start_on(&root.path().join(name), stores.clone(), &["--trusted-proxy", "127.0.0.1"]))
        .collect();
    let upstreams: Vec<String> = nodes.iter().map(|node| node.base.trim_start_matches("http://").to_string()).collect();
    let nginx = Nginx::start(&upstreams);
    Cluster { nginx, nodes, _root: root }
}

fn skip() -> bool {
    common::skip_unless_embedded(
        "load_balanced",
        "these tests run on PostgreSQL and S3 in every mode; nothing to repeat",
    )
}

fn require(tool: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = Path::new(dir).join(tool);
        if path.exists() {
            return path;
        }
    }
    let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().expect("sh");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    assert!(!path.is_empty(), "{tool} is not installed: run ./scripts/test, which installs it");
    PathBuf::from(path)
}

/// Pseudo-random bytes.
fn content(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(length + 8);
    while out.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(length);
    out
}

fn admin() -> Client {
    Client::new("admin", ADMIN_PASSWORD)
}

#[test]
fn litmus_passes_through_the_balancer() {
    if skip() {
        return;
    }
    let cluster = start_cluster();
    litmuskit::assert_litmus_passes(&cluster.nginx.dav_url("admin", ""), "admin", ADMIN_PASSWORD);
}

fn check(output: Output, what: &str) -> String {
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(60)..].join("\n");
    assert!(output.status.success(), "{what} failed ({}):\n{tail}", output.status);
    text
}

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, data).expect("write");
}

#[test]
fn nextcloudcmd_syncs_up_and_down_through_the_balancer() {
    if skip() {
        return;
    }
    require("nextcloudcmd");
    let cluster = start_cluster();
    cluster.nodes[0].add_user("clerk", "clerk-password", &[]);
    let work = tempfile::Builder::new().prefix("ncsync-lb-").tempdir_in(test_tmp_root()).expect("tempdir");
    let up = work.path().join("up");
    let down = work.path().join("down");
    fs::create_dir_all(&down).expect("mkdir down");
    // The sizes of the single-node sync test (1,000 small files with umlauts and spaces, one
    // 300 MB file), through nginx.
    for i in 0..1000 {
        let folder = ["Akten", "Akten/Übersicht 2026", "Projekte/Straßenbau", "Projekte"][i % 4];
        write(&up.join(folder).join(format!("Datei {i}.txt")), format!("Inhalt {i}\n").repeat(i % 9 + 1).as_bytes());
    }
    // Large enough for the desktop client's chunked upload: its chunks spread over both nodes.
    let big = content(30, 300 * 1024 * 1024 + 11);
    write(&up.join("Archiv/groß.bin"), &big);
    let sync = |local: &Path| {
        let output = Command::new("nextcloudcmd")
            .args(["--non-interactive", "--max-sync-retries", "3", "-u", "clerk", "-p", "clerk-password"])
            .arg(local)
            .arg(&cluster.nginx.base)
            .env("QT_QPA_PLATFORM", "offscreen")
            .output()
            .expect("nextcloudcmd");
        check(output, "nextcloudcmd")
    };
    sync(&up);
    sync(&down);
    let compared = Command::new("diff")
        .args(["-r", "-x", ".sync_*", "-x", ".nextcloudsync.log"])
        .arg(&up)
        .arg(&down)
        .output()
        .expect("diff");
    assert!(compared.status.success(), "trees differ:\n{}", String::from_utf8_lossy(&compared.stdout));
    // Both nodes serve the big file directly, identical.
    let client = Client::new("clerk", "clerk-password");
    for node in &cluster.nodes {
        let reply = client.get(&node.dav_url("clerk", "Archiv/gro%C3%9F.bin"));
        assert_eq!(reply.status, 200);
        assert!(reply.body == big, "node {} serves a different big file", node.base);
    }
    // Both nodes took part (nginx balances round-robin).
    let log = fs::read_to_string(cluster.nginx.dir.path().join("access.log")).unwrap_or_default();
    assert!(log.lines().count() > 200, "access log: {} lines", log.lines().count());
}

#[test]
fn a_lock_taken_on_one_node_is_honoured_by_the_other() {
    if skip() {
        return;
    }
    let cluster = start_cluster();
    let (a, b, lb) = (&cluster.nodes[0], &cluster.nodes[1], &cluster.nginx);
    let client = admin();
    assert_eq!(client.put(&lb.dav_url("admin", "locked.txt"), b"original").status, 201);
    let reply = client.send(
        "LOCK",
        &a.dav_url("admin", "locked.txt"),
        &[("Content-Type", "application/xml"), ("Timeout", "Second-600")],
        lock_body("exclusive").as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", show(&reply));
    let token = reply.header("Lock-Token").expect("Lock-Token").trim_matches(['<', '>']).to_string();
    // Directly on B, and through the balancer (round-robin: both nodes answer in turn).
    assert_eq!(client.put(&b.dav_url("admin", "locked.txt"), b"sneaky").status, 423);
    assert_eq!(client.delete(&b.dav_url("admin", "locked.txt")).status, 423);
    for round in 0..4 {
        assert_eq!(client.put(&lb.dav_url("admin", "locked.txt"), b"sneaky").status, 423, "round {round}");
        let destination = lb.dav_url("admin", "moved.txt");
        let reply =
            client.send("MOVE", &lb.dav_url("admin", "locked.txt"), &[("Destination", destination.as_str())], b"");
        assert_eq!(reply.status, 423, "round {round}: MOVE of a locked file: {}", show(&reply));
    }
    assert_eq!(client.get(&lb.dav_url("admin", "locked.txt")).body, b"original");
    let with_token = format!("(<{token}>)");
    for round in 0..2 {
        let body = format!("with token {round}");
        let reply =
            client.send("PUT", &lb.dav_url("admin", "locked.txt"), &[("If", with_token.as_str())], body.as_bytes());
        assert_eq!(reply.status, 204, "round {round}: {}", show(&reply));
    }
    let reply = client.send("UNLOCK", &b.dav_url("admin", "locked.txt"), &[("Lock-Token", &format!("<{token}>"))], b"");
    assert_eq!(reply.status, 204, "B releases A's lock: {}", show(&reply));
    assert_eq!(client.put(&lb.dav_url("admin", "locked.txt"), b"unlocked").status, 204);
    assert_eq!(client.get(&a.dav_url("admin", "locked.txt")).body, b"unlocked");
}

#[test]
fn conflicting_conditional_puts_through_the_balancer_have_one_winner_per_round() {
    if skip() {
        return;
    }
    let cluster = start_cluster();
    let client = admin();
    let url = cluster.nginx.dav_url("admin", "cas.bin");
    assert_eq!(client.put(&url, b"start").status, 201);
    // 200 conflicting PUTs at once per round (issue 5), a few rounds.
    let contenders = 200;
    let rounds = 3;
    for round in 0..rounds {
        let etag = etag_of(&client, &url);
        let barrier = Arc::new(Barrier::new(contenders));
        let threads: Vec<_> = (0..contenders)
            .map(|c| {
                let (url, etag, barrier) = (url.clone(), etag.clone(), barrier.clone());
                std::thread::spawn(move || {
                    // Distinct lengths (all beyond the inline limit): a torn mix would show.
                    let body = content((round * 100 + c) as u64, 64 * 1024 + c * 7919);
                    let client = admin();
                    barrier.wait();
                    let status = client
                        .try_send("PUT", &url, &[("If-Match", etag.as_str())], &body)
                        .unwrap_or_else(|error| panic!("round {round} contender {c}: {error}"))
                        .status;
                    (status, body)
                })
            })
            .collect();
        let results: Vec<(u16, Vec<u8>)> = threads.into_iter().map(|t| t.join().expect("contender")).collect();
        let statuses: Vec<u16> = results.iter().map(|(status, _)| *status).collect();
        let winners: Vec<&Vec<u8>> =
            results.iter().filter(|(status, _)| (200..300).contains(status)).map(|(_, body)| body).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner, statuses {statuses:?}");
        assert!(statuses.iter().all(|s| (200..300).contains(s) || *s == 412), "round {round}: {statuses:?}");
        for node in &cluster.nodes {
            let stored = client.get(&node.dav_url("admin", "cas.bin"));
            assert_eq!(stored.status, 200);
            assert!(
                stored.body == *winners[0],
                "round {round}: node {} serves {} bytes, not the winner's {} bytes",
                node.base,
                stored.body.len(),
                winners[0].len()
            );
            let length = dav_prop(&client, &node.dav_url("admin", "cas.bin"), "getcontentlength");
            assert_eq!(length, Some(winners[0].len().to_string()), "round {round}: getcontentlength");
        }
    }
}

/// A request body that trickles out (64 KiB every 15 ms) so that a node can be killed while
/// requests are in flight.
struct Trickle {
    data: Arc<Vec<u8>>,
    offset: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.offset >= self.data.len() {
            return Ok(0);
        }
        // (The reader is called with small buffers: pause once per 64 KiB boundary crossed.)
        if self.offset.is_multiple_of(64 * 1024) {
            std::thread::sleep(Duration::from_millis(15));
        }
        let boundary = (self.offset / (64 * 1024) + 1) * 64 * 1024;
        let n = buf.len().min(boundary - self.offset).min(self.data.len() - self.offset);
        buf[..n].copy_from_slice(&self.data[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

/// PUTs one chunk slowly through the balancer, repeating it after a transport error or a 5xx
/// (as the desktop client does); returns how many attempts failed.
fn put_chunk_with_retries(url: &str, chunk: Arc<Vec<u8>>) -> usize {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
    let auth = davkit::basic("admin", ADMIN_PASSWORD);
    let mut failures = 0;
    loop {
        let length = chunk.len().to_string();
        let result = agent
            .put(url)
            .set("Authorization", &auth)
            .set("Content-Length", &length)
            .set("OC-Chunk-Offset", "0")
            .send(Trickle { data: chunk.clone(), offset: 0 });
        match result {
            Ok(response) if response.status() == 201 || response.status() == 204 => return failures,
            Ok(response) => panic!("chunk {url}: unexpected status {}", response.status()),
            Err(ureq::Error::Status(status, _)) if status >= 500 => {}
            Err(ureq::Error::Status(status, response)) => {
                panic!("chunk {url}: status {status}: {}", response.into_string().unwrap_or_default())
            }
            Err(_transport) => {}
        }
        failures += 1;
        assert!(failures < 10, "chunk {url}: failed {failures} times");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn killing_a_node_mid_upload_loses_nothing_and_the_retried_upload_completes() {
    if skip() {
        return;
    }
    let mut cluster = start_cluster();
    let lb_base = cluster.nginx.base.clone();
    let client = admin();

    // Files committed before the kill, small (inline) and multi-block, through the balancer.
    let mut committed = Vec::new();
    for i in 0..12u64 {
        let length = if i % 3 == 0 { 100 + i as usize } else { 300_000 * i as usize + 5 };
        let data = content(1000 + i, length);
        let url = cluster.nginx.dav_url("admin", &format!("before/file-{i}.bin"));
        if i == 0 {
            assert_eq!(client.mkcol(&cluster.nginx.dav_url("admin", "before")).status, 201);
        }
        assert_eq!(client.put(&url, &data).status, 201);
        committed.push((url, blake3_hex(&data)));
    }

    // The Nextcloud chunked protocol through the balancer: 8 chunks of 5 MB, two in flight at a
    // time (round-robin puts them on different nodes); node B is killed while chunks 3/4 stream.
    let whole = content(4242, 40 * 1000 * 1000 + 123);
    let transfer = format!("{lb_base}/remote.php/dav/uploads/admin/lb-kill-{}", hex::encode(rand::random::<[u8; 4]>()));
    let total = whole.len().to_string();
    assert_eq!(client.send("MKCOL", &transfer, &[("OC-Total-Length", total.as_str())], b"").status, 201);
    let chunks: Vec<Arc<Vec<u8>>> = whole.chunks(5_000_000).map(|c| Arc::new(c.to_vec())).collect();
    let killed = Arc::new(AtomicBool::new(false));
    let mut failed_attempts = 0;
    let started = Instant::now();
    for (pair_index, pair) in chunks.chunks(2).enumerate() {
        let threads: Vec<_> = pair
            .iter()
            .enumerate()
            .map(|(k, chunk)| {
                let url = format!("{transfer}/{:016}", pair_index * 2 + k);
                let chunk = chunk.clone();
                std::thread::spawn(move || put_chunk_with_retries(&url, chunk))
            })
            .collect();
        if pair_index == 1 {
            // Half-way through this pair's bodies (each takes about 1.2 s to trickle out).
            std::thread::sleep(Duration::from_millis(600));
            cluster.nodes[1].kill();
            killed.store(true, Ordering::SeqCst);
        }
        for thread in threads {
            failed_attempts += thread.join().expect("chunk uploader");
        }
        println!("chunks {} and {} stored after {:?}", pair_index * 2, pair_index * 2 + 1, started.elapsed());
    }
    assert!(killed.load(Ordering::SeqCst));
    assert!(failed_attempts >= 1, "the kill interrupted no chunk upload: the test did not test anything");
    println!("chunk attempts that failed because of the kill and were repeated: {failed_attempts}");

    let destination = format!("{lb_base}/remote.php/dav/files/admin/after-kill.bin");
    let reply = client.send("MOVE", &format!("{transfer}/.file"), &[("Destination", destination.as_str())], b"");
    assert!(reply.status == 201 || reply.status == 204, "final MOVE: {}", show(&reply));
    println!("final MOVE done after {:?}", started.elapsed());

    // The assembled file reads back whole through the balancer and directly from node A.
    let expected = blake3_hex(&whole);
    for url in [destination.clone(), cluster.nodes[0].dav_url("admin", "after-kill.bin")] {
        let reply = client.get(&url);
        assert_eq!(reply.status, 200, "{url}");
        assert_eq!(reply.body.len(), whole.len(), "{url}: length");
        assert_eq!(blake3_hex(&reply.body), expected, "{url}: BLAKE3");
    }
    // Nothing committed before the kill is lost.
    for (url, hash) in &committed {
        let reply = client.get(url);
        assert_eq!(reply.status, 200, "{url}");
        assert_eq!(&blake3_hex(&reply.body), hash, "{url}");
    }
    let listing = children(&client, &cluster.nginx.dav_url("admin", "before"));
    assert_eq!(listing.len(), committed.len(), "{listing:?}");
    // fsck on the shared stores (through the surviving node's configuration) finds every
    // referenced block present and intact.
    let (code, out, err) = cluster.nodes[0].cli(&["fsck"], None);
    assert_eq!(code, 0, "fsck after the kill:\n{out}\n{err}");
    let log = cluster.nginx.error_log();
    println!("nginx error log after the kill:\n{}", log.lines().take(20).collect::<Vec<_>>().join("\n"));
}
