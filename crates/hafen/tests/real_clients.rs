//! The real clients administrations use, unchanged, against the real binary: rclone (WebDAV,
//! vendor nextcloud) and the Nextcloud desktop client's command-line sync `nextcloudcmd`
//! (Debian 3.7.3: discovery, small PUTs, chunked upload of a large file, renames, moves,
//! deletes and conflict handling). Both are installed by `scripts/test`.

mod common;

use common::{test_tmp_root, TestServer};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn require(tool: &str) -> PathBuf {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().expect("sh");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    assert!(!path.is_empty(), "{tool} is not installed: run ./scripts/test, which installs it");
    PathBuf::from(path)
}

fn check(output: Output, what: &str) -> String {
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{what} failed ({}):\n{}", output.status, tail(&text, 60));
    text
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn write(path: &Path, content: &[u8]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, content).expect("write");
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A tree with nested folders, many small files and names with umlauts and spaces.
fn make_tree(root: &Path, small_files: usize) {
    for i in 0..small_files {
        let folder = match i % 4 {
            0 => "Akten",
            1 => "Akten/Übersicht 2026",
            2 => "Projekte/Straßenbau/Pläne",
            _ => "Projekte",
        };
        write(
            &root.join(folder).join(format!("Datei {i} – Größe.txt")),
            format!("Inhalt {i}\n").repeat(i % 7 + 1).as_bytes(),
        );
    }
    write(&root.join("leer/.keep"), b"");
}

fn diff(a: &Path, b: &Path) -> Output {
    Command::new("diff")
        .args(["-r", "-x", ".sync_*", "-x", ".nextcloudsync.log", "-x", "*conflicted copy*"])
        .arg(a)
        .arg(b)
        .output()
        .expect("diff")
}

fn rclone_remote(server: &TestServer, user: &str, password: &str) -> String {
    let obscured = Command::new("rclone").args(["obscure", password]).output().expect("rclone obscure");
    let obscured = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
    format!(
        "{}:webdav,url='{}/remote.php/dav/files/{user}/',vendor=nextcloud,user={user},pass='{obscured}':",
        "", server.base
    )
}

#[test]
fn rclone_copies_up_and_down_and_check_finds_no_difference() {
    require("rclone");
    let server = TestServer::start();
    server.add_user("clerk", "clerk-password", &[]);
    let work = tempfile::Builder::new().prefix("rclone-").tempdir_in(test_tmp_root()).expect("tempdir");
    let up = work.path().join("up");
    let down = work.path().join("down");
    make_tree(&up, 200);
    write(&up.join("groß/archiv.bin"), &pseudo_random(6 * 1024 * 1024 + 5, 1));
    let remote = rclone_remote(&server, "clerk", "clerk-password");
    let rclone =
        |args: &[&str]| Command::new("rclone").arg("--config").arg("/dev/null").args(args).output().expect("rclone");
    check(rclone(&["copy", up.to_str().unwrap_or_default(), &remote]), "rclone copy up");
    let report = check(rclone(&["check", up.to_str().unwrap_or_default(), &remote]), "rclone check");
    assert!(report.contains("0 differences found"), "{report}");
    check(rclone(&["copy", &remote, down.to_str().unwrap_or_default()]), "rclone copy down");
    let compared = diff(&up, &down);
    assert!(compared.status.success(), "trees differ:\n{}", String::from_utf8_lossy(&compared.stdout));
    // Server-side move and delete through rclone, then check again.
    check(
        rclone(&["moveto", &format!("{remote}Akten/Datei 0 – Größe.txt"), &format!("{remote}Projekte/verschoben.txt")]),
        "rclone moveto",
    );
    check(rclone(&["delete", &format!("{remote}Projekte/Straßenbau")]), "rclone delete");
    let listing = check(rclone(&["lsf", "-R", &remote]), "rclone lsf");
    assert!(listing.contains("Projekte/verschoben.txt"), "{listing}");
    assert!(!listing.contains("Straßenbau/Pläne/Datei"), "{listing}");
}

/// Runs one `nextcloudcmd` sync of `local` with the server.
fn sync(server: &TestServer, local: &Path, user: &str, password: &str) -> String {
    let output = Command::new("nextcloudcmd")
        .args(["--non-interactive", "--max-sync-retries", "3", "-u", user, "-p", password])
        .arg(local)
        .arg(&server.base)
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .expect("nextcloudcmd");
    check(output, "nextcloudcmd")
}

fn conflict_copies(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(conflict_copies(&path));
        } else if path.file_name().is_some_and(|name| name.to_string_lossy().contains("conflicted copy")) {
            found.push(path);
        }
    }
    found
}

#[test]
fn nextcloudcmd_syncs_up_and_down_converges_and_keeps_conflicts() {
    require("nextcloudcmd");
    let server = TestServer::start();
    server.add_user("clerk", "clerk-password", &[]);
    let (code, out, err) = common::run_cli(&server.data, &["user", "app-password", "clerk"], None);
    assert_eq!(code, 0, "{err}");
    let app_password = out.lines().last().unwrap_or_default().trim().to_string();
    let work = tempfile::Builder::new().prefix("ncsync-").tempdir_in(test_tmp_root()).expect("tempdir");
    let a = work.path().join("a");
    let b = work.path().join("b");
    fs::create_dir_all(&b).expect("mkdir b");
    make_tree(&a, 1000);
    let big_size: usize =
        std::env::var("HAFEN_NC_BIG_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(300) * 1024 * 1024;
    write(&a.join("Großes Archiv.bin"), &pseudo_random(big_size, 42));

    sync(&server, &a, "clerk", &app_password);
    sync(&server, &b, "clerk", &app_password);
    let compared = diff(&a, &b);
    assert!(compared.status.success(), "after the first sync:\n{}", String::from_utf8_lossy(&compared.stdout));

    // Changes on both sides: edits, a rename, a move, deletes, new files, a folder rename.
    write(&a.join("Akten/Datei 0 – Größe.txt"), b"edited on A\n");
    fs::rename(a.join("Akten/Datei 4 – Größe.txt"), a.join("Akten/Umbenannt auf A.txt")).expect("rename");
    fs::rename(a.join("Projekte/Datei 3 – Größe.txt"), a.join("Akten/Übersicht 2026/Verschoben.txt")).expect("move");
    fs::remove_file(a.join("Akten/Datei 8 – Größe.txt")).expect("delete");
    write(&a.join("Neu auf A/Notiz.txt"), b"new on A\n");
    fs::remove_file(b.join("Projekte/Datei 7 – Größe.txt")).expect("delete on B");
    fs::rename(b.join("Projekte/Straßenbau"), b.join("Projekte/Straßenbau 2027")).expect("folder rename on B");
    write(&b.join("Neu auf B.txt"), b"new on B\n");
    // The same file edited on both sides: A syncs first, so B's edit must survive as a conflict copy.
    write(&a.join("Akten/Datei 12 – Größe.txt"), b"A's version\n");
    write(&b.join("Akten/Datei 12 – Größe.txt"), b"B's version\n");

    sync(&server, &a, "clerk", &app_password);
    sync(&server, &b, "clerk", &app_password);
    sync(&server, &a, "clerk", &app_password);
    let compared = diff(&a, &b);
    assert!(compared.status.success(), "sides did not converge:\n{}", String::from_utf8_lossy(&compared.stdout));
    for (side, dir) in [("A", &a), ("B", &b)] {
        assert!(dir.join("Akten/Umbenannt auf A.txt").exists(), "rename missing on {side}");
        assert!(dir.join("Akten/Übersicht 2026/Verschoben.txt").exists(), "move missing on {side}");
        assert!(!dir.join("Akten/Datei 8 – Größe.txt").exists(), "delete not applied on {side}");
        assert!(!dir.join("Projekte/Datei 7 – Größe.txt").exists(), "delete not applied on {side}");
        assert!(dir.join("Projekte/Straßenbau 2027/Pläne").is_dir(), "folder rename missing on {side}");
        assert!(!dir.join("Projekte/Straßenbau").exists(), "old folder still on {side}");
        assert_eq!(fs::read(dir.join("Akten/Datei 0 – Größe.txt")).expect("edited"), b"edited on A\n");
        assert_eq!(fs::read(dir.join("Neu auf B.txt")).expect("new on B"), b"new on B\n");
        assert_eq!(fs::read(dir.join("Neu auf A/Notiz.txt")).expect("new on A"), b"new on A\n");
        assert_eq!(fs::read(dir.join("Akten/Datei 12 – Größe.txt")).expect("conflicted file"), b"A's version\n");
    }
    let conflicts = conflict_copies(&b);
    assert_eq!(conflicts.len(), 1, "expected one conflict copy on B: {conflicts:?}");
    assert_eq!(fs::read(&conflicts[0]).expect("conflict copy"), b"B's version\n", "B's edit was lost");
    let big = fs::read(b.join("Großes Archiv.bin")).expect("big file on B");
    assert_eq!(big.len(), big_size);
    assert!(big == pseudo_random(big_size, 42), "big file content differs");
}
