//! Runs the `litmus` WebDAV compliance suite (Debian package `litmus`) against a URL and
//! requires every suite to pass (shared by `litmus.rs` and `load_balanced.rs`).
#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::test_tmp_root;

pub const SUITES: [&str; 5] = ["basic", "copymove", "props", "locks", "http"];

/// (suite, run, passed, failed) for every `<- summary for `SUITE': of N tests run: P passed, F failed` line.
pub fn parse_summaries(output: &str) -> Vec<(String, u32, u32, u32)> {
    let mut out = Vec::new();
    for line in output.lines() {
        let Some(rest) = line.split("summary for").nth(1) else { continue };
        let rest = rest.trim_start();
        let quote_chars: &[char] = &['`', '\'', '"', '‘', '’'];
        let name_start = rest.trim_start_matches(quote_chars);
        let Some(name_end) = name_start.find(quote_chars) else { continue };
        let suite = name_start[..name_end].to_string();
        let numbers = |key: &str| -> Option<u32> {
            let before = line.split(key).next()?;
            before.split_whitespace().last()?.parse().ok()
        };
        let run = line.split("of ").nth(1).and_then(|s| s.split_whitespace().next()).and_then(|s| s.parse().ok());
        if let (Some(run), Some(passed), Some(failed)) = (run, numbers(" passed"), numbers(" failed")) {
            out.push((suite, run, passed, failed));
        }
    }
    out
}

/// Runs all [`SUITES`] against `url` (a collection URL ending in `/`) as `user` and panics with
/// litmus's output and the end of its debug log unless every test of every suite passed.
pub fn assert_litmus_passes(url: &str, user: &str, password: &str) {
    let available = Command::new("litmus").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(
        available,
        "the `litmus` binary is not installed (Debian package `litmus`): run scripts/test, which installs it, \
         or `apt-get install litmus`"
    );

    let workdir = tempfile::Builder::new().prefix("litmus-").tempdir_in(test_tmp_root()).expect("litmus workdir");
    let mut child = Command::new("litmus")
        .arg("-k")
        .arg(url)
        .arg(user)
        .arg(password)
        .current_dir(workdir.path())
        .env("TESTS", SUITES.join(" "))
        .env_remove("HTDOCS")
        .env_remove("TESTROOT")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn litmus");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut timed_out = false;
    loop {
        if child.try_wait().expect("wait litmus").is_some() {
            break;
        }
        if Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = format!("{}{}", out_thread.join().unwrap(), err_thread.join().unwrap());
    let debug_log = std::fs::read_to_string(workdir.path().join("debug.log")).unwrap_or_default();
    let failure_context = || {
        let tail: String = {
            let lines: Vec<&str> = debug_log.lines().collect();
            lines[lines.len().saturating_sub(200)..].join("\n")
        };
        format!("litmus output:\n{output}\n--- last lines of debug.log ---\n{tail}")
    };
    assert!(!timed_out, "litmus did not finish within 300 s\n{}", failure_context());

    let summaries = parse_summaries(&output);
    let mut problems = Vec::new();
    for suite in SUITES {
        match summaries.iter().find(|(name, ..)| name == suite) {
            None => problems.push(format!("suite {suite} did not report a summary")),
            Some((_, run, passed, failed)) => {
                if *failed != 0 || passed != run || *run < 2 {
                    problems.push(format!("suite {suite}: {run} run, {passed} passed, {failed} failed"));
                }
            }
        }
    }
    for line in output.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.contains("skipped") && !lower.contains("0 skipped") {
            problems.push(format!("skipped tests: {}", line.trim()));
        }
    }
    assert!(problems.is_empty(), "litmus problems:\n  {}\n\n{}", problems.join("\n  "), failure_context());
    println!("{output}");
}
