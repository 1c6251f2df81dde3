//! Operations (issue 9): Prometheus metrics at `/metrics` count requests by method and status,
//! latency, bytes, uploads in progress, store failures and failed logins; logs can be JSON
//! lines for a log collector.

mod common;

use common::{test_tmp_root, Client, TestServer};

/// The value of the sample line starting with `prefix` (labels included), if any.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|line| line.starts_with(prefix)).and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

#[test]
fn metrics_count_requests_bytes_and_failed_logins() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let body = vec![7u8; 50_000];
    assert_eq!(alice.put(&server.dav_url("alice", "a.bin"), &body).status, 201);
    assert_eq!(alice.get(&server.dav_url("alice", "a.bin")).body, body);
    assert_eq!(alice.propfind(&server.dav_url("alice", ""), "1", "").status, 207);
    assert_eq!(Client::new("alice", "wrong-password").get(&server.dav_url("alice", "a.bin")).status, 401);
    assert_eq!(Client::anonymous().send("BREW", &server.dav_url("alice", "a.bin"), &[], b"").status / 100, 4);

    let reply = Client::anonymous().get(&format!("{}/metrics", server.base));
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").is_some_and(|value| value.contains("openmetrics-text")));
    let text = reply.text();
    assert_eq!(sample(&text, "hafen_http_requests_total{method=\"PUT\",status=\"201\"}"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "hafen_http_requests_total{method=\"GET\",status=\"200\"}"), Some(1.0));
    assert_eq!(sample(&text, "hafen_http_requests_total{method=\"PROPFIND\",status=\"207\"}"), Some(1.0));
    assert!(text.contains("method=\"OTHER\""), "unknown methods share one label: {text}");
    assert!(!text.contains("BREW"));
    assert_eq!(sample(&text, "hafen_login_failures_total"), Some(1.0));
    assert!(sample(&text, "hafen_http_received_bytes_total").is_some_and(|bytes| bytes >= 50_000.0));
    assert!(sample(&text, "hafen_http_sent_bytes_total").is_some_and(|bytes| bytes >= 50_000.0));
    assert_eq!(sample(&text, "hafen_active_uploads"), Some(0.0), "no upload left counted");
    assert_eq!(sample(&text, "hafen_store_unavailable_total"), Some(0.0));
    assert!(
        sample(&text, "hafen_http_request_duration_seconds_count{method=\"PUT\"}") == Some(1.0),
        "latency histogram: {text}"
    );
}

#[test]
fn logs_can_be_json_lines() {
    let log = test_tmp_root().join(format!("json-log-{}.log", std::process::id()));
    let server = TestServer::start_logging(&[], &[("HAFEN_LOG_FORMAT", "json"), ("HAFEN_LOG", "info")], Some(&log));
    assert_eq!(Client::anonymous().get(&format!("{}/status.php", server.base)).status, 200);
    drop(server);
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the server logged at start");
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"));
        assert!(value["level"].is_string() && value["timestamp"].is_string(), "{line}");
    }
    let _ = std::fs::remove_file(&log);
}
