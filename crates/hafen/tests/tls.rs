//! Built-in TLS (issue 9) against the real binary, with self-signed certificates for
//! 127.0.0.1 generated per test (rcgen): WebDAV over HTTPS, HTTP/2 through ALPN (checked with
//! a rustls client and with curl, which `scripts/test` installs), HSTS, `Secure` cookies and
//! `https://` link URLs, no plain HTTP on the TLS port, certificate reload on SIGHUP while a
//! download started before it keeps running, the slow-loris deadlines (header timeout for
//! plain and TLS connections, TLS handshake timeout) and the connection limit.
//!
//! The client here is a few lines of HTTP/1.1 over a rustls stream instead of ureq: it must
//! show the certificate the server presented and read a response body at its own pace.

mod common;

use common::{blake3_hex, test_tmp_root, TestServer, ADMIN_PASSWORD};
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A generated certificate: PEM files for the server, DER for the client's trust store.
struct TestCert {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

/// A self-signed certificate for `127.0.0.1` and `localhost` with its own subject and serial.
fn generate_cert(common_name: &str, serial: u64) -> TestCert {
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.serial_number = Some(rcgen::SerialNumber::from(serial));
    let key = rcgen::KeyPair::generate().expect("key pair");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    TestCert { cert_pem: cert.pem(), key_pem: key.serialize_pem(), der: cert.der().clone() }
}

/// The certificate and key files a server is started with (rewritten in place for reloads).
struct CertFiles {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

impl CertFiles {
    fn new(cert: &TestCert) -> CertFiles {
        let dir = tempfile::Builder::new().prefix("hafen-tls-").tempdir_in(test_tmp_root()).expect("tempdir");
        let files = CertFiles { cert: dir.path().join("cert.pem"), key: dir.path().join("key.pem"), _dir: dir };
        files.write(cert);
        files
    }

    fn write(&self, cert: &TestCert) {
        std::fs::write(&self.cert, &cert.cert_pem).expect("write cert");
        std::fs::write(&self.key, &cert.key_pem).expect("write key");
    }
}

fn start_tls(files: &CertFiles, extra: &[&str]) -> TestServer {
    start_tls_logging(files, extra, None)
}

/// [`start_tls`] writing the server's log to `log`.
fn start_tls_logging(files: &CertFiles, extra: &[&str], log: Option<&Path>) -> TestServer {
    let mut args = vec!["--tls-cert", path_str(&files.cert), "--tls-key", path_str(&files.key)];
    args.extend_from_slice(extra);
    let server = TestServer::start_logging(&args, &[], log);
    assert!(server.base.starts_with("https://127.0.0.1:"), "startup line names {}", server.base);
    server
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn address(server: &TestServer) -> SocketAddr {
    let authority = server.base.split("://").nth(1).expect("scheme");
    authority.parse().expect("socket address")
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS connection that trusts only `trusted`, offering the given ALPN protocols; the
/// handshake is complete when this returns.
fn connect(address: SocketAddr, trusted: &CertificateDer<'static>, alpn: &[&[u8]]) -> Result<TlsStream, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).map_err(|error| error.to_string())?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let connection = rustls::ClientConnection::new(Arc::new(config), name).map_err(|error| error.to_string())?;
    let socket = TcpStream::connect(address).map_err(|error| error.to_string())?;
    socket.set_read_timeout(Some(Duration::from_secs(60))).expect("read timeout");
    let mut stream = rustls::StreamOwned::new(connection, socket);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).map_err(|error| format!("handshake: {error}"))?;
    }
    Ok(stream)
}

/// The leaf certificate the server presented.
fn peer_cert(stream: &TlsStream) -> CertificateDer<'static> {
    stream.conn.peer_certificates().and_then(|chain| chain.first()).expect("peer certificate").clone().into_owned()
}

fn basic_admin() -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}")))
}

/// Status line and headers (lower-case names) of a response; the body stays in the reader.
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
    fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }
    fn content_length(&self) -> usize {
        self.header("content-length").map_or(0, |value| value.parse().expect("content-length"))
    }
}

/// Sends one HTTP/1.1 request for `host` and reads the head.
fn send<S: Read + Write>(
    stream: S,
    host: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Head, BufReader<S>) {
    let mut stream = stream;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write request");
    for chunk in body.chunks(1 << 20) {
        stream.write_all(chunk).expect("write body");
    }
    stream.flush().expect("flush");
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status = line.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("status {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("header");
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    (Head { status, headers }, reader)
}

/// A whole request on a new connection: head and body.
fn request(
    server: &TestServer,
    trusted: &CertificateDer<'static>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Head, Vec<u8>) {
    let stream = connect(address(server), trusted, &[b"http/1.1"]).expect("connect");
    let (head, mut reader) = send(stream, address(server), method, path, headers, body);
    let mut body = vec![0; head.content_length()];
    reader.read_exact(&mut body).expect("body");
    (head, body)
}

fn dav_path(name: &str) -> String {
    format!("/remote.php/dav/files/admin/{name}")
}

/// Bytes that do not compress or repeat (a cheap xorshift stream).
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    data
}

fn require_curl() {
    let found = std::process::Command::new("curl").arg("--version").output().is_ok_and(|out| out.status.success());
    assert!(found, "curl is needed for the HTTP/2 check (scripts/test installs it)");
}

#[test]
fn https_serves_webdav_over_http2_with_hsts_and_secure_cookies() {
    let cert = generate_cert("hafen test", 1);
    let files = CertFiles::new(&cert);
    let server = start_tls(&files, &[]);
    let auth = basic_admin();

    // WebDAV over HTTPS (HTTP/1.1), HSTS on every response, errors included.
    let content = b"vertraulicher Bericht\n";
    let (head, _) = request(&server, &cert.der, "PUT", &dav_path("bericht.txt"), &[("Authorization", &auth)], content);
    assert_eq!(head.status, 201);
    assert_eq!(head.header("strict-transport-security"), Some("max-age=31536000"));
    let (head, body) = request(&server, &cert.der, "GET", &dav_path("bericht.txt"), &[("Authorization", &auth)], b"");
    assert_eq!((head.status, body.as_slice()), (200, &content[..]));
    assert_eq!(head.header("strict-transport-security"), Some("max-age=31536000"));
    let (head, _) = request(&server, &cert.der, "GET", &dav_path("bericht.txt"), &[], b"");
    assert_eq!(head.status, 401);
    assert_eq!(head.header("strict-transport-security"), Some("max-age=31536000"));

    // ALPN: a client offering h2 gets it, one offering only http/1.1 gets that.
    let stream = connect(address(&server), &cert.der, &[b"h2", b"http/1.1"]).expect("connect");
    assert_eq!(stream.conn.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(peer_cert(&stream), cert.der);
    let stream = connect(address(&server), &cert.der, &[b"http/1.1"]).expect("connect");
    assert_eq!(stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));

    // A real HTTP/2 exchange (curl verifies the certificate against the generated one).
    require_curl();
    {
        let output = std::process::Command::new("curl")
            .args(["--silent", "--show-error", "--http2", "--cacert", path_str(&files.cert)])
            .args(["--user", &format!("admin:{ADMIN_PASSWORD}"), "--dump-header", "-"])
            .args(["--write-out", "\nversion=%{http_version}"])
            .arg(format!("{}{}", server.base, dav_path("bericht.txt")))
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "curl: {text} {}", String::from_utf8_lossy(&output.stderr));
        assert!(text.ends_with("version=2"), "not HTTP/2: {text}");
        assert!(text.starts_with("HTTP/2 200"), "{text}");
        assert!(text.to_ascii_lowercase().contains("strict-transport-security: max-age=31536000"), "{text}");
        assert!(text.contains("vertraulicher Bericht"), "{text}");
    }

    // With TLS on, the browser session cookie is Secure and link URLs start with https://.
    let form = format!("user=admin&password={ADMIN_PASSWORD}&redirect_url=%2Fapps%2Ffiles%2F");
    let origin = server.base.clone();
    let (head, _) = request(
        &server,
        &cert.der,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", &origin)],
        form.as_bytes(),
    );
    assert_eq!(head.status, 303, "login");
    let cookies = head.headers_named("set-cookie");
    assert!(!cookies.is_empty() && cookies.iter().all(|cookie| cookie.contains("; Secure")), "{cookies:?}");
    let share = br#"{"path": "/bericht.txt", "type": "link"}"#;
    let (head, body) = request(
        &server,
        &cert.der,
        "POST",
        "/api/v1/shares",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        share,
    );
    assert_eq!(head.status, 201, "{}", String::from_utf8_lossy(&body));
    let link: serde_json::Value = serde_json::from_slice(&body).expect("share JSON");
    let url = link["url"].as_str().expect("link url");
    assert!(url.starts_with(&format!("{}/s/", server.base)), "{url}");
}

#[test]
fn plain_http_on_the_tls_port_is_not_served() {
    let cert = generate_cert("hafen test", 1);
    let files = CertFiles::new(&cert);
    let server = start_tls(&files, &[]);
    let mut socket = TcpStream::connect(address(&server)).expect("connect");
    socket.set_read_timeout(Some(Duration::from_secs(20))).expect("read timeout");
    socket.write_all(b"GET /status.php HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("write");
    let mut answer = Vec::new();
    // The server ends the connection (maybe after a TLS alert); a read error is fine too.
    let result = socket.read_to_end(&mut answer);
    if let Err(error) = &result {
        assert!(
            !matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
            "the server kept the plain connection open"
        );
    }
    assert!(!answer.starts_with(b"HTTP/"), "plain HTTP answered: {}", String::from_utf8_lossy(&answer));
    assert!(!String::from_utf8_lossy(&answer).contains("installed"), "status.php served in plain text");
    // The server is still fine.
    let (head, _) = request(&server, &cert.der, "GET", "/status.php", &[], b"");
    assert_eq!(head.status, 200);
}

#[test]
fn sighup_reloads_the_certificate_while_a_download_keeps_running() {
    let old = generate_cert("hafen old", 1);
    let new = generate_cert("hafen new", 2);
    assert_ne!(old.der, new.der);
    let files = CertFiles::new(&old);
    let log_path = files.cert.with_file_name("server.log");
    let mut server = start_tls_logging(&files, &[], Some(&log_path));
    let auth = basic_admin();
    let pid = server.child.as_ref().expect("child").id().to_string();
    let hangup = || {
        let status = std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("run kill");
        assert!(status.success(), "kill -HUP {pid}");
    };

    // Large enough that the download is far from done while the client pauses (socket
    // buffers hold a few MiB at most).
    let content = pseudo_random(96 << 20, 9);
    let (head, _) = request(&server, &old.der, "PUT", &dav_path("gross.bin"), &[("Authorization", &auth)], &content);
    assert_eq!(head.status, 201);

    // Start the download and read only its first MiB.
    let stream = connect(address(&server), &old.der, &[b"http/1.1"]).expect("connect");
    assert_eq!(peer_cert(&stream), old.der);
    let (head, mut download) =
        send(stream, address(&server), "GET", &dav_path("gross.bin"), &[("Authorization", &auth)], b"");
    assert_eq!((head.status, head.content_length()), (200, content.len()));
    let mut received = vec![0; 1 << 20];
    download.read_exact(&mut received).expect("first MiB");

    // New files, SIGHUP: new connections present the new certificate.
    files.write(&new);
    hangup();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match connect(address(&server), &new.der, &[b"http/1.1"]) {
            Ok(stream) => {
                assert_eq!(peer_cert(&stream), new.der);
                break;
            }
            // Until the signal is handled the server still presents the old certificate,
            // which a client trusting only the new one rejects.
            Err(error) => assert!(Instant::now() < deadline, "new certificate not served: {error}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (head, body) = request(
        &server,
        &new.der,
        "GET",
        &dav_path("gross.bin"),
        &[("Authorization", &auth), ("Range", "bytes=0-9")],
        b"",
    );
    assert_eq!((head.status, body.as_slice()), (206, &content[..10]));

    // A broken certificate file: the reload fails and the server keeps the new certificate.
    std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").expect("write");
    hangup();
    std::thread::sleep(Duration::from_millis(500));
    // A key that does not belong to the certificate is refused the same way.
    std::fs::write(&files.cert, &new.cert_pem).expect("write");
    std::fs::write(&files.key, &old.key_pem).expect("write");
    hangup();
    std::thread::sleep(Duration::from_millis(500));
    let stream = connect(address(&server), &new.der, &[b"http/1.1"]).expect("connect after a failed reload");
    assert_eq!(peer_cert(&stream), new.der);

    let log = std::fs::read_to_string(&log_path).expect("server log");
    assert_eq!(log.matches("TLS reload failed, keeping the current certificate").count(), 2, "{log}");

    // SIGTERM while the download is still running: no new connections, but the download
    // finishes (graceful shutdown), and then the server exits cleanly.
    let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(status.success(), "kill -TERM {pid}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(address(&server)).is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The download from before the reloads completes with the right bytes.
    let mut rest = vec![0; content.len() - received.len()];
    download.read_exact(&mut rest).expect("rest of the download");
    received.extend_from_slice(&rest);
    assert_eq!(blake3_hex(&received), blake3_hex(&content));
    drop(download);
    let exit = server.child.as_mut().expect("child").wait().expect("wait for the server");
    assert!(exit.success(), "server exit after SIGTERM: {exit}");
}

/// Waits until the server closes `socket` (EOF or reset) and returns how long that took;
/// panics when it stays open for `limit`.
fn time_until_closed(mut socket: impl Read, started: Instant, limit: Duration) -> Duration {
    let mut buffer = [0; 4096];
    loop {
        match socket.read(&mut buffer) {
            Ok(0) => return started.elapsed(),
            // Hyper may answer a timed-out header with nothing or with an error status.
            Ok(_) => {}
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                panic!("connection still open after {:?} (limit {limit:?})", started.elapsed())
            }
            Err(_) => return started.elapsed(),
        }
    }
}

fn raw_socket(address: SocketAddr, limit: Duration) -> TcpStream {
    let socket = TcpStream::connect(address).expect("connect");
    socket.set_read_timeout(Some(limit)).expect("read timeout");
    socket
}

#[test]
fn slow_clients_are_disconnected_after_the_header_timeout() {
    let limit = Duration::from_secs(8);
    let plain = TestServer::start_with(&["--header-timeout-seconds", "2"]);
    assert!(plain.base.starts_with("http://"), "{}", plain.base);
    let plain_address = address(&plain);

    // Plain HTTP: a client that sends nothing, and one that sends half a header.
    let started = Instant::now();
    let silent = raw_socket(plain_address, limit);
    let mut half = raw_socket(plain_address, limit);
    half.write_all(b"GET /status.php HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("write");
    for socket in [silent, half] {
        let took = time_until_closed(socket, started, limit);
        assert!(took >= Duration::from_millis(1500), "closed too early ({took:?}): not the header timeout");
    }
    // A client sending a whole request in time is served.
    let mut prompt = raw_socket(plain_address, limit);
    prompt.write_all(b"GET /status.php HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("write");
    let mut answer = String::new();
    prompt.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // TLS: after the handshake the same deadline holds.
    let cert = generate_cert("hafen test", 1);
    let files = CertFiles::new(&cert);
    let server = start_tls(&files, &["--header-timeout-seconds", "2"]);
    let started = Instant::now();
    let silent = connect(address(&server), &cert.der, &[b"http/1.1"]).expect("connect");
    let mut half = connect(address(&server), &cert.der, &[b"http/1.1"]).expect("connect");
    half.write_all(b"GET /status.php HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("write");
    half.flush().expect("flush");
    let h2_silent = connect(address(&server), &cert.der, &[b"h2"]).expect("connect");
    assert_eq!(h2_silent.conn.alpn_protocol(), Some(&b"h2"[..]));
    for socket in [silent, half, h2_silent] {
        socket.sock.set_read_timeout(Some(limit)).expect("read timeout");
        let took = time_until_closed(socket, started, limit);
        assert!(took >= Duration::from_millis(1500), "closed too early ({took:?})");
    }

    // A client that never starts the TLS handshake is dropped after the handshake timeout (10 s).
    let started = Instant::now();
    let took =
        time_until_closed(raw_socket(address(&server), Duration::from_secs(20)), started, Duration::from_secs(20));
    assert!(took >= Duration::from_secs(9), "closed after {took:?}, before the handshake timeout");
}

#[test]
fn connections_beyond_the_limit_wait_until_one_closes() {
    let server = TestServer::start_with(&["--max-connections", "2", "--header-timeout-seconds", "60"]);
    let address = address(&server);
    // Two idle clients take both slots.
    let first = raw_socket(address, Duration::from_secs(5));
    let second = raw_socket(address, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    let mut third = raw_socket(address, Duration::from_millis(1500));
    third.write_all(b"GET /status.php HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("write");
    let mut buffer = [0u8; 64];
    match third.read(&mut buffer) {
        Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
        other => panic!("a third connection was served beyond the limit of two: {other:?}"),
    }
    // One closes: the waiting client is accepted and served.
    drop(first);
    third.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
    let mut answer = String::new();
    third.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(second);
    let mut fourth = raw_socket(address, Duration::from_secs(10));
    fourth.write_all(b"GET /status.php HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("write");
    let mut answer = String::new();
    fourth.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "slots come back: {answer}");
}
