//! Runs the `litmus` WebDAV compliance suite (Debian package `litmus`) against a test server
//! and requires every suite to pass.

mod common;
mod litmuskit;

use common::{TestServer, ADMIN_PASSWORD};
use litmuskit::{assert_litmus_passes, parse_summaries};

#[test]
fn litmus_all_suites_pass() {
    let server = TestServer::start();
    assert_litmus_passes(&format!("{}/remote.php/dav/files/admin/", server.base), "admin", ADMIN_PASSWORD);
}

#[test]
fn summary_parser_reads_litmus_lines() {
    let sample = "<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%\n\
                  <- summary for `locks': of 41 tests run: 39 passed, 2 failed. 95.1%\n\
                  <- summary for 'http': of 4 tests run: 4 passed, 0 failed. 100.0%";
    assert_eq!(
        parse_summaries(sample),
        vec![("basic".to_string(), 16, 16, 0), ("locks".to_string(), 41, 39, 2), ("http".to_string(), 4, 4, 0),]
    );
}
