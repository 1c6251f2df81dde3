//! The web interface end to end in a real browser: starts the real binary and runs
//! `node e2e/web.mjs` (headless Debian Chromium driven by playwright-core, axe-core checks)
//! against it as the `admin` account. The script runs every scenario (login, folders, a big
//! resumable drag-and-drop upload, folder upload, rename/move/copy/delete, ZIP download, share
//! dialog and public links, file-drop link, administration, language switch, app passwords, a
//! keyboard-only pass, accessibility, screenshots) and exits non-zero naming the failed steps.
//!
//! Screenshots go to `target/e2e-screenshots`. `e2e/node_modules` is installed with `npm ci`
//! when missing (a clean clone). The browser flows do not depend on the stores, so the
//! PostgreSQL+S3 pass skips this test.

mod common;

use common::{skip_unless_embedded, TestServer, ADMIN_PASSWORD};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The whole browser run is bounded by the script itself (its own watchdog is shorter); this is
/// the last resort if node hangs.
const RUN_LIMIT: Duration = Duration::from_secs(12 * 60);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Runs `npm ci` in `e2e/` unless its `node_modules` holds the packages already.
fn ensure_node_modules(e2e: &Path) {
    let installed = ["playwright-core", "@axe-core/playwright", "axe-core"]
        .iter()
        .all(|package| e2e.join("node_modules").join(package).join("package.json").is_file());
    if installed {
        return;
    }
    eprintln!("web_ui: installing e2e/node_modules with npm ci");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(e2e)
        .status()
        .expect("run npm (Node.js and npm must be installed)");
    assert!(status.success(), "npm ci in {} failed: {status}", e2e.display());
}

#[test]
fn web_interface_in_chromium() {
    if skip_unless_embedded(
        "web_interface_in_chromium",
        "the browser flows are backend-independent; they ran on the embedded pass",
    ) {
        return;
    }
    let root = workspace_root();
    let e2e = root.join("e2e");
    ensure_node_modules(&e2e);
    let screenshots = root.join("target").join("e2e-screenshots");
    std::fs::create_dir_all(&screenshots).expect("create target/e2e-screenshots");
    let out = tempfile::Builder::new().prefix("hafen-e2e-").tempdir_in(common::test_tmp_root()).expect("e2e out dir");

    let server = TestServer::start();
    let mut child = Command::new("node")
        .arg(e2e.join("web.mjs"))
        .current_dir(&root)
        .env("HAFEN_URL", &server.base)
        .env("HAFEN_ADMIN_USER", "admin")
        .env("HAFEN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HAFEN_SCREENSHOTS", &screenshots)
        .env("HAFEN_E2E_OUT", out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node (Node.js must be installed)");

    // Stream both outputs line by line (through print!, so the test harness shows them on failure
    // and with --nocapture as they come).
    let (lines, received) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    for (stream, prefix) in [
        (Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>, ""),
        (Box::new(child.stderr.take().expect("stderr")) as Box<dyn std::io::Read + Send>, "stderr: "),
    ] {
        let lines = lines.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines.send(format!("{prefix}{line}"));
            }
        }));
    }
    drop(lines);

    let started = Instant::now();
    let mut tail: Vec<String> = Vec::new();
    loop {
        match received.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => {
                println!("{line}");
                tail.push(line);
            }
            // Both outputs closed: node has ended (or is about to).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("node e2e/web.mjs did not finish within {RUN_LIMIT:?}");
        }
    }
    let status = child.wait().expect("wait for node");
    for reader in readers {
        let _ = reader.join();
    }
    drop(server);

    let summary: Vec<&String> = tail.iter().skip_while(|line| !line.starts_with("==== Hafen web UI")).collect();
    assert!(
        status.success(),
        "node e2e/web.mjs failed ({status}); screenshots in {}\n{}",
        screenshots.display(),
        summary.iter().map(|line| line.as_str()).collect::<Vec<_>>().join("\n")
    );
}
