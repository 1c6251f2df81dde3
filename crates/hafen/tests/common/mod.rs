//! Test harness shared by the end-to-end tests: starts the real `hafen` binary on an
//! ephemeral port with a temporary data directory, creates accounts through the CLI and
//! offers a small HTTP client (ureq) that speaks arbitrary WebDAV methods.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Password of the `admin` account every test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-test-password";

/// Path of the binary under test, built by cargo for the integration tests.
pub fn hafen_bin() -> &'static str {
    env!("CARGO_BIN_EXE_hafen")
}

/// Runs `hafen --data DIR ARGS…` to completion, feeding `stdin`, and returns (exit code, stdout, stderr).
pub fn run_cli(data: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(hafen_bin())
        .arg("--data")
        .arg(data)
        .args(args)
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

/// A running server process with its own data directory.
pub struct TestServer {
    pub data: PathBuf,
    /// Keeps the temporary directory alive for the server's lifetime (None when the caller owns the directory).
    _tempdir: Option<tempfile::TempDir>,
    pub child: Option<Child>,
    /// `http://127.0.0.1:PORT` without a trailing slash.
    pub base: String,
}

impl TestServer {
    /// Starts a server on a fresh temporary data directory.
    pub fn start() -> TestServer {
        let tempdir = tempfile::Builder::new().prefix("hafen-test-").tempdir_in(test_tmp_root()).expect("tempdir");
        let data = tempdir.path().join("data");
        let mut server = TestServer::start_in(&data, &[]);
        server._tempdir = Some(tempdir);
        server
    }

    /// Starts a server on the given data directory (which may hold data of an earlier run),
    /// with extra arguments appended to `serve`.
    pub fn start_in(data: &Path, extra_args: &[&str]) -> TestServer {
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
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
        TestServer { data: data.to_path_buf(), _tempdir: None, child: Some(child), base }
    }

    /// Creates an account through the CLI (works while the server runs).
    pub fn add_user(&self, name: &str, password: &str, extra: &[&str]) {
        let mut args = vec!["user", "add", name, "--password-stdin"];
        args.extend_from_slice(extra);
        let (code, out, err) = run_cli(&self.data, &args, Some(&format!("{password}\n")));
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
    }
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
            Err(other) => panic!("{method} {url}: transport error {other}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| response.header(&name).map(|value| (name.clone(), value.to_string())))
            .collect();
        let mut body = Vec::new();
        let _ = response.into_reader().take(u64::MAX).read_to_end(&mut body);
        Reply { status, headers, body }
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
