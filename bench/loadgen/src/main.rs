//! Load client of Hafen's benchmark (`bench/run`).
//!
//! Every subcommand prints exactly one JSON object on one line on standard output (the driver
//! parses it); diagnostics go to standard error. HTTP/1.1 over plain TCP with keep-alive, one
//! hyper connection per worker, HTTP Basic authentication on every request.
//!
//! ```text
//! loadgen put      --url URL --user U --pass P --path F (--file SRC | --size BYTES)
//! loadgen get      --url URL --user U --pass P --path F [--out FILE] [--expect BYTES]
//! loadgen mkcol    --url URL --user U --pass P --path DIR/
//! loadgen putmany  --url URL --user U --pass P --dir DIR/ --count N [--size 4096] [--conc 8] [--mkcol]
//! loadgen propfind --url URL --user U --pass P --path DIR/ [--depth 1] [--body-file F]
//! loadgen getload  --url URL --user U --pass P --path F [--conc 64] [--secs 15]
//! loadgen chunked  --url URL --user U --pass P --name F --size BYTES [--chunk-min B] [--chunk-max B]
//! loadgen mixed    --url URL --user U --pass P --dir DIR/ [--conc 500] [--secs 600] [--files 200] [--size 16384]
//! loadgen fswrite  --dir DIR --count N [--size 4096] [--threads 8]      (physical reference)
//! loadgen fslist   --dir DIR                                            (physical reference)
//! ```
//! `URL` is the WebDAV root of the account, e.g. `http://127.0.0.1:18080/remote.php/dav/files/admin/`;
//! paths are relative to it. Without `--user`, requests carry no `Authorization` header.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;
type ReqBody = BoxBody<Bytes, std::io::Error>;
type Conn = SendRequest<ReqBody>;

const STREAM_CHUNK: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Arguments

struct Args {
    cmd: String,
    opts: HashMap<String, String>,
}

impl Args {
    fn parse() -> Result<Args> {
        let mut it = std::env::args().skip(1);
        let cmd = it.next().ok_or("usage: loadgen COMMAND [--option value]… (see source header)")?;
        let mut opts = HashMap::new();
        let rest: Vec<String> = it.collect();
        let mut i = 0;
        while i < rest.len() {
            let key = rest[i].strip_prefix("--").ok_or_else(|| format!("unexpected argument {}", rest[i]))?;
            // Flags without a value: the next token starts with `--` or there is none.
            if i + 1 < rest.len() && !rest[i + 1].starts_with("--") {
                opts.insert(key.to_string(), rest[i + 1].clone());
                i += 2;
            } else {
                opts.insert(key.to_string(), String::new());
                i += 1;
            }
        }
        Ok(Args { cmd, opts })
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.opts.get(key).map(String::as_str)
    }
    fn req(&self, key: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| format!("missing --{key}").into())
    }
    fn num(&self, key: &str, default: u64) -> Result<u64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_size(v).ok_or_else(|| format!("--{key}: not a number: {v}").into()),
        }
    }
    fn flag(&self, key: &str) -> bool {
        self.opts.contains_key(key)
    }
}

/// Parses `123`, `16M`/`16MiB` (binary), `30MB` (decimal), `4K`/`4KiB`, `1G`/`1GiB`, `2GB`.
fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mul = match unit {
        "" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    Some(n * mul)
}

// ---------------------------------------------------------------------------------------------
// Target and connections

#[derive(Clone)]
struct Target {
    /// `host:port`
    addr: String,
    /// Path of the WebDAV root, ending in `/`.
    base: String,
    auth: Option<String>,
    user: String,
}

impl Target {
    fn from_args(a: &Args) -> Result<Target> {
        let url = a.req("url")?;
        let rest = url.strip_prefix("http://").ok_or("--url must start with http://")?;
        let (addr, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let mut base = path.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        let user = a.get("user").unwrap_or("").to_string();
        let auth = a
            .get("user")
            .map(|u| format!("Basic {}", base64(format!("{u}:{}", a.get("pass").unwrap_or("")).as_bytes())));
        Ok(Target { addr: addr.to_string(), base, auth, user })
    }

    /// Absolute path of `rel` below the WebDAV root (a leading `/` in `rel` means server root).
    fn path(&self, rel: &str) -> String {
        if rel.starts_with('/') {
            rel.to_string()
        } else {
            format!("{}{}", self.base, rel)
        }
    }

    /// A request builder with Host and Authorization set; the caller attaches the body.
    fn request(&self, method: Method, path: &str) -> http::request::Builder {
        let mut b = Request::builder().method(method).uri(path).header("host", &self.addr);
        if let Some(auth) = &self.auth {
            b = b.header("authorization", auth);
        }
        b.header("user-agent", "hafen-loadgen")
    }

    async fn connect(&self) -> Result<Conn> {
        let stream = TcpStream::connect(&self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

mod http {
    pub use hyper::http::*;
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for c in input.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

fn full(b: impl Into<Bytes>) -> ReqBody {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

fn empty() -> ReqBody {
    full(Bytes::new())
}

/// Sends one request and reads the whole response body; returns status, body bytes and (if
/// `keep` is set) the body itself.
async fn send(conn: &mut Conn, req: Request<ReqBody>, keep: bool) -> Result<(StatusCode, u64, Vec<u8>)> {
    conn.ready().await?;
    let resp = conn.send_request(req).await?;
    let status = resp.status();
    let mut body = resp.into_body();
    let mut n = 0u64;
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            n += data.len() as u64;
            if keep {
                kept.extend_from_slice(&data);
            }
        }
    }
    Ok((status, n, kept))
}

// ---------------------------------------------------------------------------------------------
// Streaming request body (file or generated data), fed by a producer thread

struct ChanBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    remaining: u64,
}

impl Body for ChanBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Frame<Bytes>>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => {
                self.remaining = self.remaining.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[derive(Clone)]
enum Source {
    File(String),
    /// Pseudo-random bytes (xorshift), different for every offset so no block repeats.
    Generated,
}

/// A body of `len` bytes from `offset` of the source, produced by a thread in 1 MiB pieces.
fn stream_body(src: Source, offset: u64, len: u64) -> ReqBody {
    let (tx, rx) = mpsc::channel(8);
    std::thread::spawn(move || {
        let result = (|| -> std::io::Result<()> {
            let mut pos = 0u64;
            let mut file = match &src {
                Source::File(p) => {
                    let mut f = std::fs::File::open(p)?;
                    f.seek(SeekFrom::Start(offset))?;
                    Some(f)
                }
                Source::Generated => None,
            };
            while pos < len {
                let n = (len - pos).min(STREAM_CHUNK as u64) as usize;
                let mut buf = vec![0u8; n];
                match &mut file {
                    Some(f) => f.read_exact(&mut buf)?,
                    None => fill_random(&mut buf, offset + pos),
                }
                pos += n as u64;
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(e));
        }
    });
    ChanBody { rx, remaining: len }.boxed()
}

fn fill_random(buf: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

// ---------------------------------------------------------------------------------------------
// Output

/// CPU seconds (user + system) used by this process so far, from /proc/self/stat.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    let Some(rest) = stat.rsplit(')').next() else { return 0.0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state is index 0, utime is field 14 overall (index 11 here).
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

struct Json(Vec<(String, String)>);

impl Json {
    fn new(op: &str) -> Json {
        Json(vec![("op".into(), format!("\"{op}\""))])
    }
    fn n(mut self, k: &str, v: impl std::fmt::Display) -> Json {
        self.0.push((k.into(), v.to_string()));
        self
    }
    fn f(mut self, k: &str, v: f64) -> Json {
        self.0.push((k.into(), if v.is_finite() { format!("{v:.4}") } else { "null".into() }));
        self
    }
    fn s(mut self, k: &str, v: &str) -> Json {
        self.0.push((k.into(), format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))));
        self
    }
    fn print(self, cpu0: f64) {
        let cpu = cpu_secs() - cpu0;
        let body: Vec<String> = self.0.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        println!("{{{},\"client_cpu_s\":{cpu:.3}}}", body.join(","));
    }
}

fn mbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

// ---------------------------------------------------------------------------------------------
// Subcommands

async fn cmd_put(a: &Args) -> Result<()> {
    let t = Target::from_args(a)?;
    let path = t.path(a.req("path")?);
    let (src, size) = match a.get("file") {
        Some(f) => (Source::File(f.to_string()), std::fs::metadata(f)?.len()),
        None => (Source::Generated, a.num("size", 0)?),
    };
    let cpu0 = cpu_secs();
    let mut conn = t.connect().await?;
    let start = Instant::now();
    // `--seed` shifts the generated content so that repetitions do not upload identical
    // bytes (Hafen deduplicates them, which would measure the cache, not the disk).
    let body = stream_body(src, a.num("seed", 0)? << 40, size);
    let req = t.request(Method::PUT, &path).header("content-length", size).body(body)?;
    let (status, _, _) = send(&mut conn, req, false).await?;
    let secs = start.elapsed().as_secs_f64();
    Json::new("put")
        .n("status", status.as_u16())
        .n("ok", status.is_success())
        .n("bytes", size)
        .f("secs", secs)
        .f("mbps", mbps(size, secs))
        .print(cpu0);
    Ok(())
}

async fn cmd_get(a: &Args) -> Result<()> {
    let t = Target::from_args(a)?;
    let path = t.path(a.req("path")?);
    let cpu0 = cpu_secs();
    let mut conn = t.connect().await?;
    let start = Instant::now();
    let req = t.request(Method::GET, &path).body(empty())?;
    conn.ready().await?;
    let resp = conn.send_request(req).await?;
    let status = resp.status();
    let mut out = match a.get("out") {
        Some(p) => Some(tokio::fs::File::create(p).await?),
        None => None,
    };
    let mut body = resp.into_body();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            n += data.len() as u64;
            if let Some(f) = &mut out {
                f.write_all(&data).await?;
            }
        }
    }
    if let Some(f) = &mut out {
        f.flush().await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let expect = a.num("expect", n)?;
    Json::new("get")
        .n("status", status.as_u16())
        .n("ok", status.is_success() && n == expect)
        .n("bytes", n)
        .f("secs", secs)
        .f("mbps", mbps(n, secs))
        .print(cpu0);
    Ok(())
}

async fn cmd_mkcol(a: &Args) -> Result<()> {
    let t = Target::from_args(a)?;
    let cpu0 = cpu_secs();
    let mut conn = t.connect().await?;
    let path = t.path(a.req("path")?);
    let req = t.request(Method::from_bytes(b"MKCOL")?, &path).body(empty())?;
    let (status, _, _) = send(&mut conn, req, false).await?;
    Json::new("mkcol").n("status", status.as_u16()).n("ok", status.as_u16() == 201).print(cpu0);
    Ok(())
}

/// Content of small file `i`: distinct for every file.
fn small_content(i: u64, size: usize) -> Bytes {
    let mut buf = vec![0u8; size];
    fill_random(&mut buf, 0x5EED_0000 + i);
    Bytes::from(buf)
}

async fn cmd_putmany(a: &Args) -> Result<()> {
    let t = Target::from_args(a)?;
    let mut dir = a.req("dir")?.to_string();
    if !dir.ends_with('/') {
        dir.push('/');
    }
    let count = a.num("count", 2000)? as usize;
    let size = a.num("size", 4096)? as usize;
    let conc = a.num("conc", 8)? as usize;
    let cpu0 = cpu_secs();
    if a.flag("mkcol") {
        let mut conn = t.connect().await?;
        let req = t.request(Method::from_bytes(b"MKCOL")?, &t.path(&dir)).body(empty())?;
        let (status, _, _) = send(&mut conn, req, false).await?;
        if !status.is_success() && status.as_u16() != 405 {
            return Err(format!("MKCOL {dir}: {status}").into());
        }
    }
    // Bodies are made before the clock starts, so that the client does no work per request
    // beyond HTTP itself.
    let bodies: Arc<Vec<Bytes>> = Arc::new((0..count).map(|i| small_content(i as u64, size)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let last_error = Arc::new(std::sync::Mutex::new(String::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (t, dir, bodies, next, errors, last_error) =
            (t.clone(), dir.clone(), bodies.clone(), next.clone(), errors.clone(), last_error.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn: Option<Conn> = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    break;
                }
                let path = t.path(&format!("{dir}f{i:05}.bin"));
                let mut tries = 0;
                loop {
                    tries += 1;
                    let c = match &mut conn {
                        Some(c) if !c.is_closed() => c,
                        _ => match t.connect().await {
                            Ok(c) => conn.insert(c),
                            Err(e) => {
                                *last_error.lock().unwrap() = e.to_string();
                                tokio::time::sleep(Duration::from_millis(20)).await;
                                if tries < 5 {
                                    continue;
                                }
                                errors.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        },
                    };
                    let req = t
                        .request(Method::PUT, &path)
                        .header("content-length", bodies[i].len())
                        .body(full(bodies[i].clone()))
                        .expect("request");
                    match send(c, req, false).await {
                        Ok((s, _, _)) if s.is_success() => break,
                        Ok((s, _, _)) => {
                            *last_error.lock().unwrap() = format!("status {s}");
                            errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) => {
                            // Connection closed by the server (keep-alive limit): reconnect, retry.
                            conn = None;
                            if tries >= 3 {
                                *last_error.lock().unwrap() = e.to_string();
                                errors.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let errors = errors.load(Ordering::Relaxed);
    let ok = count as u64 - errors;
    let last = last_error.lock().unwrap().clone();
    Json::new("putmany")
        .n("ok", errors == 0)
        .n("files", ok)
        .n("errors", errors)
        .f("secs", secs)
        .f("files_per_s", ok as f64 / secs)
        .s("last_error", &last)
        .print(cpu0);
    Ok(())
}

const ALLPROP: &str =
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>\n";

async fn cmd_propfind(a: &Args) -> Result<()> {
    let t = Target::from_args(a)?;
    let path = t.path(a.req("path")?);
    let depth = a.get("depth").unwrap_or("1").to_string();
    let body = match a.get("body-file") {
        Some(f) => std::fs::read(f)?,
        None => ALLPROP.as_bytes().to_vec(),
    };
    let cpu0 = cpu_secs();
    let mut conn = t.connect().await?;
    let start = Instant::now();
    let req = t
        .request(Method::from_bytes(b"PROPFIND")?, &path)
        .header("depth", depth)
        .header("content-type", "application/xml; charset=utf-8")
        .header("content-length", body.len())
        .body(full(body))?;
    let (status, n, kept) = send(&mut conn, req, true).await?;
    let secs = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&kept);
    // Count <x:response> elements whatever the prefix.
    let responses = text.matches("response>").count() / 2;
    Json::new("propfind")
        .n("status", status.as_u16())
        .n("ok", status.as_u16() == 207)
        .n("bytes", n)
        .n("responses", responses)
        .f("ms", secs * 1e3)
        .print(cpu0);
    Ok(())
}

async fn cmd_getload(a: &Args) -> Result<()> {
    let t = Target::from_args(a)?;
    let path = t.path(a.req("path")?);
    let conc = a.num("conc", 64)? as usize;
    let secs = a.num("secs", 15)? as f64;
    let cpu0 = cpu_secs();
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    // Connect all workers first, so connection set-up is not in the measurement.
    let mut conns = Vec::new();
    for _ in 0..conc {
        conns.push(t.connect().await?);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for conn in conns {
        let (t, path, stop, errors, bytes) = (t.clone(), path.clone(), stop.clone(), errors.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut conn = Some(conn);
            while !stop.load(Ordering::Relaxed) {
                let c = match &mut conn {
                    Some(c) if !c.is_closed() => c,
                    _ => match t.connect().await {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                let req = t.request(Method::GET, &path).body(empty()).expect("request");
                let t0 = Instant::now();
                match send(c, req, false).await {
                    Ok((s, n, _)) if s.is_success() => {
                        lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        bytes.fetch_add(n, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        conn = None;
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1000.0
    };
    let errors = errors.load(Ordering::Relaxed);
    Json::new("getload")
        .n("ok", !lat.is_empty() && errors == 0)
        .n("requests", lat.len())
        .n("errors", errors)
        .n("bytes", bytes.load(Ordering::Relaxed))
        .f("secs", elapsed)
        .f("rps", lat.len() as f64 / elapsed)
        .f("p50_ms", pct(0.50))
        .f("p99_ms", pct(0.99))
        .f("max_ms", pct(1.0))
        .print(cpu0);
    Ok(())
}

/// Nextcloud chunked upload ("chunking NG", as the desktop client 3.7 does it).
async fn cmd_chunked(a: &Args) -> Result<()> {
    let t = Target::from_args(a)?;
    let name = a.req("name")?;
    let size = a.num("size", 0)?;
    let chunk_min = a.num("chunk-min", 10_000_000)?;
    let chunk_max = a.num("chunk-max", 100_000_000)?;
    let src = match a.get("file") {
        Some(f) => Source::File(f.to_string()),
        None => Source::Generated,
    };
    let cpu0 = cpu_secs();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let tid = format!("{}", now.as_nanos() % 10_000_000_000);
    let uploads =
        a.get("uploads").map(str::to_string).unwrap_or_else(|| format!("/remote.php/dav/uploads/{}/", t.user));
    let dir = format!("{uploads}{tid}");
    let mut conn = t.connect().await?;
    let start = Instant::now();
    let req = t.request(Method::from_bytes(b"MKCOL")?, &dir).header("oc-total-length", size).body(empty())?;
    let (status, _, _) = send(&mut conn, req, false).await?;
    if status.as_u16() != 201 {
        Json::new("chunked").n("ok", false).n("supported", false).n("status", status.as_u16()).print(cpu0);
        return Ok(());
    }
    let mut offset = 0u64;
    let mut index = 0u64;
    let mut chunk = chunk_min;
    while offset < size {
        let len = chunk.min(size - offset);
        let path = format!("{dir}/{index:016}");
        let req = t
            .request(Method::PUT, &path)
            .header("content-length", len)
            .header("oc-chunk-offset", offset)
            .header("oc-total-length", size)
            .body(stream_body(src.clone(), (a.num("seed", 0)? << 40) + offset, len))?;
        let (status, _, _) = send(&mut conn, req, false).await?;
        if !status.is_success() {
            return Err(format!("PUT chunk {index}: {status}").into());
        }
        offset += len;
        index += 1;
        chunk = (chunk * 2).min(chunk_max);
    }
    let upload_secs = start.elapsed().as_secs_f64();
    let dest = t.path(name);
    let mtime = now.as_secs();
    let move_start = Instant::now();
    let req = t
        .request(Method::from_bytes(b"MOVE")?, &format!("{dir}/.file"))
        .header("destination", dest)
        .header("oc-total-length", size)
        .header("x-oc-mtime", mtime)
        .body(empty())?;
    let (status, _, _) = send(&mut conn, req, false).await?;
    let move_secs = move_start.elapsed().as_secs_f64();
    let secs = start.elapsed().as_secs_f64();
    Json::new("chunked")
        .n("ok", status.is_success())
        .n("supported", true)
        .n("status", status.as_u16())
        .n("bytes", size)
        .n("chunks", index)
        .f("upload_secs", upload_secs)
        .f("move_secs", move_secs)
        .f("secs", secs)
        .f("mbps", mbps(size, secs))
        .print(cpu0);
    Ok(())
}

/// Physical reference of W3: create `count` files of `size` bytes in `dir` with `threads`
/// threads, then `sync -f` the file system once (like `dd conv=fsync` flushes once).
/// Soak test (issue 9, acceptance 2): `conc` connections, each looping over a mix of GET of
/// shared seed files (content checked), PROPFIND Depth 1 of the folder, PUT of the worker's
/// own file (a new generation each time) and GET of it (checked against the generation just
/// written). Counts 5xx, other failures, content mismatches and transport errors.
async fn cmd_mixed(a: &Args) -> Result<()> {
    let t = Target::from_args(a)?;
    let dir = a.req("dir")?.trim_end_matches('/').to_string();
    let conc = a.num("conc", 500)? as usize;
    let secs = a.num("secs", 600)? as f64;
    let files = a.num("files", 200)?.max(1);
    let size = a.num("size", 16384)? as usize;
    let cpu0 = cpu_secs();
    // Seed: the folder and the shared files every worker reads.
    let mut seed = t.connect().await?;
    let req = t.request(Method::from_bytes(b"MKCOL")?, &t.path(&format!("{dir}/"))).body(empty())?;
    send(&mut seed, req, false).await?;
    for i in 0..files {
        let req = t.request(Method::PUT, &t.path(&format!("{dir}/seed-{i}.bin"))).body(full(small_content(i, size)))?;
        let (status, _, _) = send(&mut seed, req, false).await?;
        if !status.is_success() {
            return Err(format!("seeding seed-{i}.bin: {status}").into());
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Arc<[AtomicU64; 6]> = Arc::new(Default::default());
    const REQUESTS: usize = 0;
    const SERVER_ERRORS: usize = 1;
    const OTHER_FAILURES: usize = 2;
    const CONTENT_FAILURES: usize = 3;
    const TRANSPORT_ERRORS: usize = 4;
    const BYTES: usize = 5;
    let mut conns = Vec::new();
    for _ in 0..conc {
        conns.push(t.connect().await?);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (worker, conn) in conns.into_iter().enumerate() {
        let (t, dir, stop, counters) = (t.clone(), dir.clone(), stop.clone(), counters.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 12);
            let mut conn = Some(conn);
            let mut generation: u64 = 0;
            let own = t.path(&format!("{dir}/worker-{worker}.bin"));
            let own_content = |generation: u64| small_content(1_000_000 + worker as u64 * 100_000 + generation, size / 2);
            let mut step = worker;
            while !stop.load(Ordering::Relaxed) {
                let c = match &mut conn {
                    Some(c) if !c.is_closed() => c,
                    _ => match t.connect().await {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            counters[TRANSPORT_ERRORS].fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                step += 1;
                let kind = step % 10;
                // (request, expected body or None, expected status class check)
                let (req, expected): (Request<ReqBody>, Option<Bytes>) = match kind {
                    0..=3 => {
                        let i = (step as u64 * 7919) % files;
                        let path = t.path(&format!("{dir}/seed-{i}.bin"));
                        (t.request(Method::GET, &path).body(empty()).expect("request"), Some(small_content(i, size)))
                    }
                    4 | 5 => {
                        let path = t.path(&format!("{dir}/"));
                        let req = t
                            .request(Method::from_bytes(b"PROPFIND").expect("method"), &path)
                            .header("depth", "1")
                            .body(empty())
                            .expect("request");
                        (req, None)
                    }
                    6 | 7 => {
                        generation += 1;
                        (t.request(Method::PUT, &own).body(full(own_content(generation))).expect("request"), None)
                    }
                    _ if generation == 0 => continue,
                    _ => (t.request(Method::GET, &own).body(empty()).expect("request"), Some(own_content(generation))),
                };
                let t0 = Instant::now();
                match send(c, req, expected.is_some() || kind == 4 || kind == 5).await {
                    Ok((status, n, body)) => {
                        counters[REQUESTS].fetch_add(1, Ordering::Relaxed);
                        counters[BYTES].fetch_add(n, Ordering::Relaxed);
                        lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        if status.is_server_error() {
                            counters[SERVER_ERRORS].fetch_add(1, Ordering::Relaxed);
                        } else if !status.is_success() {
                            counters[OTHER_FAILURES].fetch_add(1, Ordering::Relaxed);
                        } else if let Some(expected) = &expected {
                            if body[..] != expected[..] {
                                counters[CONTENT_FAILURES].fetch_add(1, Ordering::Relaxed);
                            }
                        } else if (kind == 4 || kind == 5) && !String::from_utf8_lossy(&body).contains("multistatus") {
                            counters[CONTENT_FAILURES].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        conn = None;
                        counters[TRANSPORT_ERRORS].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1000.0
    };
    let get = |i: usize| counters[i].load(Ordering::Relaxed);
    let clean = get(SERVER_ERRORS) == 0 && get(CONTENT_FAILURES) == 0 && get(OTHER_FAILURES) == 0 && get(TRANSPORT_ERRORS) == 0;
    Json::new("mixed")
        .n("ok", clean && get(REQUESTS) > 0)
        .n("connections", conc)
        .n("requests", get(REQUESTS))
        .n("server_errors", get(SERVER_ERRORS))
        .n("other_failures", get(OTHER_FAILURES))
        .n("content_failures", get(CONTENT_FAILURES))
        .n("transport_errors", get(TRANSPORT_ERRORS))
        .n("bytes", get(BYTES))
        .f("secs", elapsed)
        .f("rps", get(REQUESTS) as f64 / elapsed)
        .f("p50_ms", pct(0.50))
        .f("p99_ms", pct(0.99))
        .f("max_ms", pct(1.0))
        .print(cpu0);
    Ok(())
}

fn cmd_fswrite(a: &Args) -> Result<()> {
    let dir = a.req("dir")?.to_string();
    let count = a.num("count", 2000)? as usize;
    let size = a.num("size", 4096)? as usize;
    let threads = a.num("threads", 8)? as usize;
    std::fs::create_dir_all(&dir)?;
    let bodies: Arc<Vec<Bytes>> = Arc::new((0..count).map(|i| small_content(i as u64, size)).collect());
    let cpu0 = cpu_secs();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (dir, bodies, next) = (dir.clone(), bodies.clone(), next.clone());
            std::thread::spawn(move || -> std::io::Result<()> {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= bodies.len() {
                        return Ok(());
                    }
                    std::fs::write(format!("{dir}/f{i:05}.bin"), &bodies[i])?;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "writer thread panicked")??;
    }
    let write_secs = start.elapsed().as_secs_f64();
    if !a.flag("no-sync") {
        std::process::Command::new("sync").arg("-f").arg(&dir).status()?;
    }
    let secs = start.elapsed().as_secs_f64();
    Json::new("fswrite")
        .n("ok", true)
        .n("files", count)
        .f("write_secs", write_secs)
        .f("secs", secs)
        .f("files_per_s", count as f64 / secs)
        .print(cpu0);
    Ok(())
}

/// Physical reference of W4: read the directory and stat every entry.
fn cmd_fslist(a: &Args) -> Result<()> {
    let dir = a.req("dir")?;
    let cpu0 = cpu_secs();
    let start = Instant::now();
    let mut n = 0u64;
    let mut total = 0u64;
    for entry in std::fs::read_dir(dir)? {
        let meta = entry?.metadata()?;
        n += 1;
        total += meta.len();
    }
    let secs = start.elapsed().as_secs_f64();
    Json::new("fslist").n("ok", true).n("entries", n).n("bytes_total", total).f("ms", secs * 1e3).print(cpu0);
    Ok(())
}

fn main() {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let result = runtime.block_on(async {
        match args.cmd.as_str() {
            "put" => cmd_put(&args).await,
            "get" => cmd_get(&args).await,
            "mkcol" => cmd_mkcol(&args).await,
            "putmany" => cmd_putmany(&args).await,
            "propfind" => cmd_propfind(&args).await,
            "getload" => cmd_getload(&args).await,
            "chunked" => cmd_chunked(&args).await,
            "mixed" => cmd_mixed(&args).await,
            "fswrite" => cmd_fswrite(&args),
            "fslist" => cmd_fslist(&args),
            other => Err(format!("unknown command {other}").into()),
        }
    });
    if let Err(e) = result {
        eprintln!("loadgen {}: {e}", args.cmd);
        println!("{{\"op\":\"{}\",\"ok\":false,\"error\":\"{}\"}}", args.cmd, e.to_string().replace('"', "'"));
        std::process::exit(1);
    }
}
