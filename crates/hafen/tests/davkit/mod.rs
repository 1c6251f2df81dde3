//! Helpers shared by the WebDAV end-to-end tests: a raw TCP request sender (for paths the
//! HTTP client would normalise or refuse), a tolerant multistatus reader and request bodies.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use crate::common::{Client, TestServer};

// ---------------------------------------------------------------------------------------------
// Raw HTTP over TCP
// ---------------------------------------------------------------------------------------------

/// A response read from a raw socket.
#[derive(Debug)]
pub struct RawReply {
    /// 0 when the server closed the connection without sending a status line.
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `127.0.0.1:PORT` of a server.
pub fn host_port(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").trim_end_matches('/').to_string()
}

/// `Basic …` credentials header value.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// Sends `method raw_path` exactly as given (no normalisation) with Basic auth, a correct
/// Content-Length and `Connection: close`, and reads the whole reply.
pub fn raw_request(
    server: &TestServer,
    method: &str,
    raw_path: &str,
    auth: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawReply {
    let mut head = format!("{method} {raw_path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", host_port(server));
    if let Some((user, pass)) = auth {
        head.push_str(&format!("Authorization: {}\r\n", basic(user, pass)));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || matches!(method, "PUT" | "POST") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    raw_exchange(server, &bytes, false)
}

/// Writes `bytes` to a fresh connection (from a separate thread, so a server that answers early
/// does not dead-lock us), optionally shuts down the write side afterwards, and reads until EOF.
pub fn raw_exchange(server: &TestServer, bytes: &[u8], shutdown_write: bool) -> RawReply {
    let stream = TcpStream::connect(host_port(server)).expect("connect to test server");
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("read timeout");
    stream.set_write_timeout(Some(Duration::from_secs(60))).expect("write timeout");
    let mut writer = stream.try_clone().expect("clone stream");
    let payload = bytes.to_vec();
    let write_thread = std::thread::spawn(move || {
        let _ = writer.write_all(&payload);
        let _ = writer.flush();
        if shutdown_write {
            let _ = writer.shutdown(Shutdown::Write);
        }
    });
    let mut reader = stream;
    let mut received = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                received.extend_from_slice(&buf[..n]);
                if response_complete(&received) {
                    break;
                }
            }
            // A reset after the server answered (it did not read the whole body) is fine.
            Err(_) => break,
        }
    }
    let _ = reader.shutdown(Shutdown::Both);
    let _ = write_thread.join();
    parse_response(&received)
}

/// True once a full response (head plus a body delimited by Content-Length or chunking) is in `data`.
fn response_complete(data: &[u8]) -> bool {
    let Some(split) = find(data, b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&data[..split]).to_ascii_lowercase();
    let body = &data[split + 4..];
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    if (100..200).contains(&status) {
        return response_complete(body);
    }
    for line in head.lines() {
        if let Some(value) = line.strip_prefix("content-length:") {
            if let Ok(len) = value.trim().parse::<usize>() {
                return body.len() >= len;
            }
        }
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            return find(body, b"0\r\n\r\n").is_some_and(|pos| pos == 0 || body[..pos].ends_with(b"\r\n"));
        }
    }
    false
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_response(data: &[u8]) -> RawReply {
    let Some(split) = find(data, b"\r\n\r\n") else {
        return RawReply { status: 0, headers: Vec::new(), body: data.to_vec() };
    };
    let head = String::from_utf8_lossy(&data[..split]).into_owned();
    let rest = &data[split + 4..];
    let mut lines = head.lines();
    let status: u16 = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    if (100..200).contains(&status) {
        return parse_response(rest);
    }
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    RawReply { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(data, b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            out.extend_from_slice(&data[..size.min(data.len())]);
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Multistatus reading (namespace-prefix agnostic, by local element name)
// ---------------------------------------------------------------------------------------------

/// Inner XML of every element whose local name is `local` (self-closing elements give "").
pub fn elements(xml: &str, local: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = xml[i..].find('<') {
        let start = i + off;
        let rest = &xml[start + 1..];
        i = start + 1;
        if rest.starts_with('/') || rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        let name_end = rest.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(rest.len());
        let qname = &rest[..name_end];
        let Some(tag_end) = rest.find('>') else { break };
        if qname.rsplit(':').next() != Some(local) {
            continue;
        }
        if rest[..tag_end].ends_with('/') {
            out.push(String::new());
            continue;
        }
        let content = &rest[tag_end + 1..];
        let close = format!("</{qname}");
        match content.find(&close) {
            Some(end) => out.push(content[..end].to_string()),
            None => out.push(content.to_string()),
        }
    }
    out
}

/// Text of the first element named `local`, trimmed.
pub fn first(xml: &str, local: &str) -> Option<String> {
    elements(xml, local).into_iter().next().map(|s| s.trim().to_string())
}

/// Every `<response>` of a multistatus.
pub fn responses(xml: &str) -> Vec<String> {
    elements(xml, "response")
}

/// Percent-decodes a string (invalid escapes are kept as they are).
pub fn pct_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && s.is_char_boundary(i + 3) {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes one path segment (everything but unreserved characters).
pub fn pct_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The decoded path of a response's href (an absolute URL is reduced to its path).
pub fn href_path(response: &str) -> String {
    let href = first(response, "href").unwrap_or_default();
    let path = match href.find("://") {
        Some(scheme_end) => {
            let after = &href[scheme_end + 3..];
            after.find('/').map(|p| after[p..].to_string()).unwrap_or_else(|| "/".to_string())
        }
        None => href,
    };
    pct_decode(&xml_unescape(&path))
}

/// The response whose decoded href path equals `path` (trailing slashes ignored).
pub fn response_for(xml: &str, path: &str) -> Option<String> {
    let want = path.trim_end_matches('/');
    responses(xml).into_iter().find(|r| href_path(r).trim_end_matches('/') == want)
}

/// Replaces the predefined XML entities and character references in text content.
pub fn xml_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let replacement = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") || entity.starts_with("#X") => {
                u32::from_str_radix(&entity[2..], 16).ok().and_then(char::from_u32)
            }
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match replacement {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Value of property `local` from the propstats of `response` whose status is 200, with XML
/// entities in its text resolved.
pub fn prop_ok(response: &str, local: &str) -> Option<String> {
    for propstat in elements(response, "propstat") {
        let status = first(&propstat, "status").unwrap_or_default();
        if status.contains(" 200") {
            if let Some(v) = first(&propstat, local) {
                return Some(xml_unescape(&v));
            }
        }
    }
    None
}

/// Status line of the propstat that mentions property `local`.
pub fn prop_status(response: &str, local: &str) -> Option<String> {
    for propstat in elements(response, "propstat") {
        if !elements(&propstat, local).is_empty() {
            return first(&propstat, "status");
        }
    }
    None
}

/// `<propfind><prop>…</prop></propfind>` asking for the given DAV: properties.
pub fn propfind_body(props: &[&str]) -> String {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><d:propfind xmlns:d=\"DAV:\"><d:prop>");
    for p in props {
        body.push_str(&format!("<d:{p}/>"));
    }
    body.push_str("</d:prop></d:propfind>");
    body
}

/// One DAV: property of one resource through PROPFIND Depth 0 (None when absent or not 200).
pub fn dav_prop(client: &Client, url: &str, prop: &str) -> Option<String> {
    let reply = client.propfind(url, "0", &propfind_body(&[prop]));
    assert_eq!(reply.status, 207, "PROPFIND {url} for {prop}: {}", reply.text());
    let text = reply.text();
    let response = responses(&text).into_iter().next().expect("one response");
    prop_ok(&response, prop)
}

/// getetag of a resource through PROPFIND Depth 0.
pub fn etag_of(client: &Client, url: &str) -> String {
    dav_prop(client, url, "getetag").unwrap_or_else(|| panic!("no getetag for {url}"))
}

/// Decoded names of the direct children of collection `url` (PROPFIND Depth 1).
pub fn children(client: &Client, url: &str) -> Vec<String> {
    let reply = client.propfind(url, "1", &propfind_body(&["resourcetype"]));
    assert_eq!(reply.status, 207, "PROPFIND Depth 1 {url}: {}", reply.text());
    let own_path = pct_decode(&url_path(url)).trim_end_matches('/').to_string();
    let mut names: Vec<String> = responses(&reply.text())
        .iter()
        .map(|r| href_path(r).trim_end_matches('/').to_string())
        .filter(|p| *p != own_path)
        .map(|p| p.rsplit('/').next().unwrap_or("").to_string())
        .collect();
    names.sort();
    names
}

/// Path part of an absolute URL.
pub fn url_path(url: &str) -> String {
    let after = url.split_once("://").map(|(_, a)| a).unwrap_or(url);
    after.find('/').map(|p| after[p..].to_string()).unwrap_or_else(|| "/".to_string())
}

/// `<lockinfo>` body for a write lock of the given scope ("exclusive" or "shared").
pub fn lock_body(scope: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <d:lockinfo xmlns:d=\"DAV:\"><d:lockscope><d:{scope}/></d:lockscope>\
         <d:locktype><d:write/></d:locktype><d:owner><d:href>mailto:tester@example.org</d:href></d:owner></d:lockinfo>"
    )
}

/// `PROPPATCH` body setting `<x:NAME xmlns:x="urn:hafen-test">VALUE</x:NAME>`.
pub fn proppatch_set(name: &str, value: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <d:propertyupdate xmlns:d=\"DAV:\" xmlns:x=\"urn:hafen-test\"><d:set><d:prop><x:{name}>{value}</x:{name}></d:prop></d:set></d:propertyupdate>"
    )
}

/// `PROPPATCH` body removing `x:NAME`.
pub fn proppatch_remove(name: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <d:propertyupdate xmlns:d=\"DAV:\" xmlns:x=\"urn:hafen-test\"><d:remove><d:prop><x:{name}/></d:prop></d:remove></d:propertyupdate>"
    )
}

/// `PROPFIND` body asking for the dead property `x:NAME`.
pub fn propfind_dead(name: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <d:propfind xmlns:d=\"DAV:\" xmlns:x=\"urn:hafen-test\"><d:prop><x:{name}/></d:prop></d:propfind>"
    )
}

/// Value of the dead property `x:NAME` of `url` (None when not found / not 200).
pub fn dead_prop(client: &Client, url: &str, name: &str) -> Option<String> {
    let reply = client.propfind(url, "0", &propfind_dead(name));
    assert_eq!(reply.status, 207, "PROPFIND {url} for dead prop {name}: {}", reply.text());
    let text = reply.text();
    let response = responses(&text).into_iter().next().expect("one response");
    prop_ok(&response, name)
}

/// A reply as readable text for assertion messages: status, headers and the body (truncated).
pub fn show(reply: &crate::common::Reply) -> String {
    let mut body = reply.text();
    if body.len() > 2000 {
        let mut cut = 2000;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        body.push('…');
    }
    let headers: Vec<String> = reply.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("status {} [{}] body: {}", reply.status, headers.join("; "), body)
}

/// Reads one complete response from `stream` (stops at EOF, an error or a complete message).
pub fn read_response(stream: &mut TcpStream) -> RawReply {
    let mut received = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                received.extend_from_slice(&buf[..n]);
                if response_complete(&received) {
                    break;
                }
            }
        }
    }
    parse_response(&received)
}
