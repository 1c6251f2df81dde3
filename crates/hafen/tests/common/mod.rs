//! Test harness shared by the end-to-end tests: starts the real `hafen` binary on an
//! ephemeral port with a temporary data directory, creates accounts through the CLI and
//! offers a small HTTP client (ureq) that speaks arbitrary WebDAV methods.
//!
//! Backend matrix: with `HAFEN_TEST_BACKEND=postgres-s3` (default `embedded`: SQLite and
//! blocks in the data directory) every server started by [`TestServer::start`] or
//! [`TestServer::start_with`] gets its own fresh PostgreSQL database (created with `psql` on
//! `HAFEN_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`, dropped when
//! the server drops) and its own bucket on one moto S3 server shared by the test process
//! (started on first use, ended when the test process exits). CLI calls for that server's data
//! directory ([`run_cli`], [`TestServer::cli`]) name the same stores. Tests that look at the
//! local block files or the SQLite file skip themselves in that mode
//! ([`skip_unless_embedded`]).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Password of the `admin` account every test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-test-password";

/// Path of the binary under test, built by cargo for the integration tests.
pub fn hafen_bin() -> &'static str {
    env!("CARGO_BIN_EXE_hafen")
}

/// Runs `hafen --data DIR ARGS…` to completion, feeding `stdin`, and returns (exit code, stdout, stderr).
/// When a running test server uses external stores for `DIR`, their `--database-url` and
/// `--blob-url` (and S3 credentials) are passed too.
pub fn run_cli(data: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let store_args = registered_store_args(data);
    run_cli_with(data, &store_args, args, stdin)
}

/// `run_cli` with explicit global store arguments (placed before `args`).
pub fn run_cli_with(data: &Path, store_args: &[String], args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(hafen_bin())
        .arg("--data")
        .arg(data)
        .args(store_args)
        .args(args)
        .envs(s3_credentials())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hafen cli");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let output = child.wait_with_output().expect("wait hafen cli");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `hafen restore` of the backup in `backup` into new embedded stores in `target` (its
/// SQLite file and blocks), with extra global arguments (e.g. the encryption key).
pub fn restore_backup(backup: &Path, target: &Path, global_args: &[String]) -> (i32, String, String) {
    let (backup, database, blobs) = (
        backup.to_string_lossy().to_string(),
        format!("sqlite://{}/hafen.db", target.display()),
        format!("file://{}", target.display()),
    );
    let args = ["restore", "--from", &backup, "--to-database", &database, "--to-blobs", &blobs];
    run_cli_with(target, global_args, &args, None)
}

/// A running server process with its own data directory.
pub struct TestServer {
    pub data: PathBuf,
    /// Keeps the temporary directory alive for the server's lifetime (None when the caller owns the directory).
    _tempdir: Option<tempfile::TempDir>,
    pub child: Option<Child>,
    /// `http://127.0.0.1:PORT` without a trailing slash.
    pub base: String,
    /// External stores (PostgreSQL database and S3 bucket) this server uses, if any; shared by
    /// the nodes of a cluster, dropped (database dropped) after the last of them.
    stores: Option<Arc<ExternalStores>>,
}

impl TestServer {
    /// Starts a server on a fresh temporary data directory, on the stores `HAFEN_TEST_BACKEND` selects.
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// Like [`TestServer::start`], with extra arguments appended to `serve`.
    pub fn start_with(extra_args: &[&str]) -> TestServer {
        TestServer::start_with_env(extra_args, &[])
    }

    /// Like [`TestServer::start_with`], with extra environment variables for the server
    /// (e.g. `HAFEN_SMTP_URL`, `HAFEN_CLOCK_FILE`).
    pub fn start_with_env(extra_args: &[&str], env: &[(&str, &str)]) -> TestServer {
        TestServer::start_logging(extra_args, env, None)
    }

    /// Like [`TestServer::start_with_env`], writing the server's log (standard error) to
    /// `log` when given (tests that read what the server logged, e.g. its SQL statements).
    pub fn start_logging(extra_args: &[&str], env: &[(&str, &str)], log: Option<&Path>) -> TestServer {
        let tempdir = tempfile::Builder::new().prefix("hafen-test-").tempdir_in(test_tmp_root()).expect("tempdir");
        let data = tempdir.path().join("data");
        let mut server = match backend() {
            Backend::Embedded => TestServer::start_in_env(&data, extra_args, env, log),
            Backend::PostgresS3 => {
                TestServer::start_on_env(&data, Arc::new(ExternalStores::create()), extra_args, env, log)
            }
        };
        server._tempdir = Some(tempdir);
        server
    }

    /// Starts a server on the given data directory and external stores (several servers may
    /// share them: a cluster), with extra arguments appended to `serve`.
    pub fn start_on(data: &Path, stores: Arc<ExternalStores>, extra_args: &[&str]) -> TestServer {
        TestServer::start_on_env(data, stores, extra_args, &[], None)
    }

    fn start_on_env(
        data: &Path,
        stores: Arc<ExternalStores>,
        extra_args: &[&str],
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> TestServer {
        let store_args = stores.args();
        let mut args: Vec<&str> = store_args.iter().map(String::as_str).collect();
        args.extend_from_slice(extra_args);
        let mut server = TestServer::start_in_env(data, &args, env, log);
        // Guard against silently testing the embedded stores: the server created its accounts
        // in PostgreSQL and no SQLite file.
        assert!(!data.join("hafen.db").exists(), "server on {} created a SQLite database", stores.database_url);
        let users = psql_query(&stores.database_url, "SELECT count(*) FROM users");
        assert!(users.trim().parse::<u32>().is_ok_and(|n| n >= 1), "no account in {}: {users}", stores.database_url);
        register_store_args(data, store_args.clone());
        server.stores = Some(stores);
        server
    }

    /// The global arguments naming this server's stores (empty for the embedded ones).
    pub fn store_args(&self) -> Vec<String> {
        self.stores.as_ref().map(|stores| stores.args()).unwrap_or_default()
    }

    /// Runs `hafen --data DATA [store arguments] ARGS…` against this server's stores.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        run_cli_with(&self.data, &self.store_args(), args, stdin)
    }

    /// Starts a server on the given data directory (which may hold data of an earlier run),
    /// with extra arguments appended to `serve`. Always the stores the arguments name (by
    /// default the embedded ones), whatever `HAFEN_TEST_BACKEND` says.
    pub fn start_in(data: &Path, extra_args: &[&str]) -> TestServer {
        TestServer::start_in_env(data, extra_args, &[], None)
    }

    /// [`TestServer::start_in`] with extra environment variables for the server.
    pub fn start_in_with_env(data: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> TestServer {
        TestServer::start_in_env(data, extra_args, env, None)
    }

    fn start_in_env(data: &Path, extra_args: &[&str], env: &[(&str, &str)], log: Option<&Path>) -> TestServer {
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("create the server log file")),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(hafen_bin())
            .arg("--data")
            .arg(data)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(extra_args)
            .env("HAFEN_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HAFEN_LOG", std::env::var("HAFEN_LOG").unwrap_or_else(|_| "warn".into()))
            .env_remove("HAFEN_LISTEN")
            .env_remove("HAFEN_DATA")
            .env_remove("HAFEN_DATABASE_URL")
            .env_remove("HAFEN_BLOB_URL")
            .env_remove("HAFEN_ENCRYPTION_KEY")
            .env_remove("HAFEN_ENCRYPTION_KEY_FILE")
            .envs(s3_credentials())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn hafen serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut base = None;
        let mut line = String::new();
        while Instant::now() < deadline {
            line.clear();
            if reader.read_line(&mut line).expect("read stdout") == 0 {
                panic!("hafen serve exited before listening");
            }
            if let Some(rest) = line.trim().split("listening on ").nth(1) {
                base = Some(rest.trim().trim_end_matches('/').to_string());
                break;
            }
        }
        let base = base.expect("server did not report its address");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        TestServer { data: data.to_path_buf(), _tempdir: None, child: Some(child), base, stores: None }
    }

    /// Creates an account through the CLI (works while the server runs).
    pub fn add_user(&self, name: &str, password: &str, extra: &[&str]) {
        let mut args = vec!["user", "add", name, "--password-stdin"];
        args.extend_from_slice(extra);
        let (code, out, err) = self.cli(&args, Some(&format!("{password}\n")));
        assert_eq!(code, 0, "user add failed: {out} {err}");
    }

    /// URL of a path inside the user's WebDAV tree; `path` must not start with `/`.
    pub fn dav_url(&self, user: &str, path: &str) -> String {
        format!("{}/remote.php/dav/files/{}/{}", self.base, user, path)
    }

    /// Kills the server with SIGKILL (no clean shutdown) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if self.stores.is_some() {
            unregister_store_args(&self.data);
        }
    }
}

/// The stores test servers run on (`HAFEN_TEST_BACKEND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and blocks in the data directory (the default).
    Embedded,
    /// A fresh PostgreSQL database and S3 bucket (moto) per server.
    PostgresS3,
}

/// The backend `HAFEN_TEST_BACKEND` selects (`embedded`, the default, or `postgres-s3`).
pub fn backend() -> Backend {
    match std::env::var("HAFEN_TEST_BACKEND").unwrap_or_default().as_str() {
        "" | "embedded" => Backend::Embedded,
        "postgres-s3" => Backend::PostgresS3,
        other => panic!("HAFEN_TEST_BACKEND={other}: expected `embedded` or `postgres-s3`"),
    }
}

/// True (after printing why) when the test should not run because the selected backend is not
/// the embedded one: for tests that inspect block files or the SQLite database directly.
pub fn skip_unless_embedded(test: &str, reason: &str) -> bool {
    if backend() == Backend::Embedded {
        return false;
    }
    println!("skipping {test} with HAFEN_TEST_BACKEND={:?}: {reason}", backend());
    eprintln!("skipping {test} with HAFEN_TEST_BACKEND={:?}: {reason}", backend());
    true
}

/// Default PostgreSQL server for tests (trust authentication on loopback).
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Dummy credentials for moto (which checks that a request has credentials, not the signature).
pub const S3_ACCESS_KEY: &str = "hafen-test-key";
pub const S3_SECRET_KEY: &str = "hafen-test-secret";

fn s3_credentials() -> [(&'static str, &'static str); 2] {
    [("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)]
}

/// A fresh PostgreSQL database and a fresh bucket on the process's moto server; the database
/// is dropped when this drops (the bucket goes with moto at process exit).
pub struct ExternalStores {
    admin_url: String,
    database: String,
    pub database_url: String,
    pub bucket: String,
    pub blob_url: String,
}

impl ExternalStores {
    pub fn create() -> ExternalStores {
        let admin_url = std::env::var("HAFEN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let suffix = hex::encode(rand::random::<[u8; 6]>());
        let database = format!("hafen_test_{suffix}");
        psql(&admin_url, &format!("CREATE DATABASE {database}"));
        let database_url = sibling_database_url(&admin_url, &database);
        let moto = shared_moto();
        let bucket = format!("hafen-{suffix}");
        moto.create_bucket(&bucket);
        let blob_url = format!("s3://{bucket}?endpoint={}&region=us-east-1", moto.endpoint);
        ExternalStores { admin_url, database, database_url, bucket, blob_url }
    }

    /// `--database-url URL --blob-url URL`.
    pub fn args(&self) -> Vec<String> {
        vec!["--database-url".into(), self.database_url.clone(), "--blob-url".into(), self.blob_url.clone()]
    }
}

impl Drop for ExternalStores {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin_url.as_str(),
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            ])
            .output();
    }
}

/// `admin_url` with its database name replaced by `name` (query kept).
fn sibling_database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

fn psql(url: &str, sql: &str) {
    let output = Command::new("psql").args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]).output().expect(
        "psql must be installed and PostgreSQL reachable (HAFEN_TEST_POSTGRES_URL, default \
         postgres://postgres@127.0.0.1:5432/test)",
    );
    assert!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Runs one query with `psql -tA` and returns its output.
pub fn psql_query(url: &str, sql: &str) -> String {
    let output = Command::new("psql").args([url, "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql]).output().expect("psql");
    assert!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// One moto S3 server (PyPI `moto[server]`) per test process, on a free loopback port.
pub struct SharedMoto {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The write end of the wrapper shell's stdin: when the test process exits (however),
    /// the pipe closes and the wrapper kills moto.
    _lifeline: Mutex<ChildStdin>,
}

/// An `Authorization` header naming the test key; moto does not check the signature.
const S3_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=hafen-test-key/20250101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// The process's moto server, started on first use.
pub fn shared_moto() -> &'static SharedMoto {
    static MOTO: OnceLock<SharedMoto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        // `read` returns at EOF on stdin, i.e. when this process has exited.
        let script = format!(
            "python3 -m moto.server -H 127.0.0.1 -p {port} >/dev/null 2>&1 </dev/null & moto=$!; \
             read _ignored; kill $moto 2>/dev/null; wait $moto"
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto (pip install 'moto[server]')");
        let lifeline = child.stdin.take().expect("moto wrapper stdin");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ureq::get(&format!("{endpoint}/")).timeout(Duration::from_secs(2)).call().is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto exited ({status}); is `moto[server]` installed (scripts/test installs it)?");
            }
            assert!(Instant::now() < deadline, "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        SharedMoto { endpoint, _lifeline: Mutex::new(lifeline) }
    })
}

impl SharedMoto {
    /// Every object of `bucket` with its bytes (ListObjectsV2, then a GET each).
    pub fn objects(&self, bucket: &str) -> Vec<(String, Vec<u8>)> {
        let listing = ureq::get(&format!("{}/{bucket}?list-type=2&max-keys=1000", self.endpoint))
            .set("Authorization", S3_AUTHORIZATION)
            .call()
            .expect("list objects")
            .into_string()
            .expect("listing");
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(|key| {
                let mut bytes = Vec::new();
                ureq::get(&format!("{}/{bucket}/{key}", self.endpoint))
                    .set("Authorization", S3_AUTHORIZATION)
                    .call()
                    .expect("get object")
                    .into_reader()
                    .read_to_end(&mut bytes)
                    .expect("object body");
                (key.to_string(), bytes)
            })
            .collect()
    }

    pub fn create_bucket(&self, bucket: &str) {
        let response = ureq::put(&format!("{}/{bucket}", self.endpoint))
            .set("Authorization", S3_AUTHORIZATION)
            .call()
            .expect("create bucket");
        assert_eq!(response.status(), 200);
    }
}

/// (data directory, store arguments) of running servers that use external stores.
type StoreRegistry = Mutex<Vec<(PathBuf, Vec<String>)>>;

/// Store arguments of data directories whose servers use external stores, for [`run_cli`].
fn store_registry() -> &'static StoreRegistry {
    static REGISTRY: OnceLock<StoreRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

fn register_store_args(data: &Path, args: Vec<String>) {
    let mut registry = store_registry().lock().unwrap_or_else(|e| e.into_inner());
    registry.retain(|(path, _)| path != data);
    registry.push((data.to_path_buf(), args));
}

fn unregister_store_args(data: &Path) {
    store_registry().lock().unwrap_or_else(|e| e.into_inner()).retain(|(path, _)| path != data);
}

fn registered_store_args(data: &Path) -> Vec<String> {
    let registry = store_registry().lock().unwrap_or_else(|e| e.into_inner());
    registry.iter().find(|(path, _)| path == data).map(|(_, args)| args.clone()).unwrap_or_default()
}

/// Where test data directories live: not `/tmp`, whose file creation is slow on these machines.
pub fn test_tmp_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&root).expect("create test tmp root");
    root
}

/// An HTTP client with Basic credentials that never treats a status as an error.
pub struct Client {
    agent: ureq::Agent,
    auth: Option<String>,
}

/// A response reduced to what the tests inspect.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    pub fn new(user: &str, password: &str) -> Client {
        Client { agent: agent(), auth: Some(basic(user, password)) }
    }
    pub fn anonymous() -> Client {
        Client { agent: agent(), auth: None }
    }

    /// Sends `method url` with the given headers and body and returns the reply, whatever its status.
    pub fn send(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.try_send(method, url, headers, body).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Like [`Client::send`], but a transport error (connection refused or reset, timeout) is
    /// returned instead of panicking.
    pub fn try_send(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Reply, String> {
        let mut request = self.agent.request(method, url);
        if let Some(auth) = &self.auth {
            request = request.set("Authorization", auth);
        }
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = if body.is_empty() && !matches!(method, "PUT" | "POST") {
            request.call()
        } else {
            request.send_bytes(body)
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(other) => return Err(format!("{method} {url}: transport error {other}")),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| response.header(&name).map(|value| (name.clone(), value.to_string())))
            .collect();
        let mut body = Vec::new();
        let _ = response.into_reader().take(u64::MAX).read_to_end(&mut body);
        Ok(Reply { status, headers, body })
    }

    pub fn get(&self, url: &str) -> Reply {
        self.send("GET", url, &[], b"")
    }
    pub fn put(&self, url: &str, body: &[u8]) -> Reply {
        self.send("PUT", url, &[], body)
    }
    pub fn mkcol(&self, url: &str) -> Reply {
        self.send("MKCOL", url, &[], b"")
    }
    pub fn delete(&self, url: &str) -> Reply {
        self.send("DELETE", url, &[], b"")
    }
    pub fn propfind(&self, url: &str, depth: &str, body: &str) -> Reply {
        self.send("PROPFIND", url, &[("Depth", depth), ("Content-Type", "application/xml")], body.as_bytes())
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).redirects(0).build()
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// BLAKE3 hex digest of `data`, as the content store records it.
pub fn blake3_hex(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// A real SMTP server (aiosmtpd) on a free loopback port, storing messages in a Maildir.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let dir = tempfile::Builder::new().prefix("smtp-").tempdir_in(test_tmp_root()).expect("tempdir");
        let maildir = dir.path().join("mail");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 -m aiosmtpd (installed by scripts/test)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        SmtpSink { child, port, maildir, _dir: dir }
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let read = |dir: &Path| -> Vec<String> {
            std::fs::read_dir(dir)
                .map(|entries| {
                    entries.flatten().filter_map(|entry| std::fs::read_to_string(entry.path()).ok()).collect()
                })
                .unwrap_or_default()
        };
        [read(&self.maildir.join("new")), read(&self.maildir.join("cur"))].concat()
    }

    pub fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Undoes quoted-printable soft line breaks and `=3D` so the link can be found in the mail.
pub fn unfold(message: &str) -> String {
    message.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// Server environment for sending mail to `smtp` with digests going out at once (checked
/// every second), as the tests of single notification e-mails need.
pub fn mail_env(smtp: &str) -> [(&'static str, &str); 4] {
    [
        ("HAFEN_SMTP_URL", smtp),
        ("HAFEN_MAIL_FROM", "Hafen <hafen@example.org>"),
        ("HAFEN_MAIL_DIGEST_SECONDS", "0"),
        ("HAFEN_MAIL_DIGEST_CHECK_SECONDS", "1"),
    ]
}

/// An e-mail as its reader sees it: recipient, decoded subject and decoded text body.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Decodes a raw message of the SMTP sink with Python's `email` package (encoded headers,
/// quoted-printable or base64 bodies).
pub fn decoded_mail(raw: &str) -> Mail {
    let script = "import email,sys\nfrom email.header import decode_header, make_header\n\
m = email.message_from_string(sys.stdin.read())\n\
print(m['To']); print(str(make_header(decode_header(m['Subject']))))\n\
print(m.get_payload(decode=True).decode(m.get_content_charset() or 'utf-8'), end='')\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().expect("stdin").write_all(raw.as_bytes()).expect("write mail");
    let output = child.wait_with_output().expect("python3 output");
    assert!(output.status.success(), "cannot decode the mail: {raw}");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.splitn(3, '\n');
    let to = lines.next().unwrap_or_default().to_string();
    let subject = lines.next().unwrap_or_default().to_string();
    Mail { to, subject, body: lines.next().unwrap_or_default().to_string() }
}

/// The file id (`oc:fileid`) of the item at `url`.
pub fn file_id(client: &Client, url: &str) -> String {
    let body = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\"><d:prop><oc:fileid/></d:prop></d:propfind>";
    let reply = client.propfind(url, "0", body);
    assert_eq!(reply.status, 207, "{}", reply.text());
    let text = reply.text();
    let start = text.find("<oc:fileid>").expect("fileid") + "<oc:fileid>".len();
    text[start..].split('<').next().unwrap_or_default().to_string()
}
