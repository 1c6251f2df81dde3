//! Crash safety: concurrent uploads, overwrites, moves and deletes are interrupted by SIGKILL at a
//! random moment, round after round on one data directory. After every restart each path must hold
//! exactly one complete version that was committed or in flight (never a partial file), and at the
//! end `fsck` must find no damage and leave exactly the blocks that surviving files reference.
//!
//! Rounds: `HAFEN_CRASH_ROUNDS` (default 50). Seed: `HAFEN_CRASH_SEED` (default random, printed).

mod common;

use common::{blake3_hex, run_cli, test_tmp_root, Client, TestServer, ADMIN_PASSWORD};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;
/// Size of the pieces the content store splits files into.
const BLOCK: usize = 4 * MIB;
/// Worker threads per round; each owns `PATHS_PER_THREAD` of the private paths for the round.
const THREADS: usize = 4;
const PATHS_PER_THREAD: usize = 2;
/// Path every worker overwrites concurrently (PUT only).
const HOT: &str = "hot.bin";
/// How many shared 4 MiB blocks the generated contents may start with (exercises deduplication).
const SHARED_BLOCKS: u64 = 3;
/// Run `fsck` on the crashed data directory (before restarting) every this many rounds.
const FSCK_EVERY: usize = 10;

/// State of a path: `None` when absent, otherwise the BLAKE3 hex of its complete content.
type State = Option<String>;

/// Recipe of a generated content, so identical contents can be uploaded again without keeping bytes.
#[derive(Clone, Copy, Debug)]
struct Spec {
    seed: u64,
    size: usize,
    /// Index of the shared block the content starts with (only when size > BLOCK).
    shared: Option<u64>,
}

fn shared_block_seed(base: u64, index: u64) -> u64 {
    base ^ (0x5eed_0000_0000_0000 + index)
}

fn generate(base: u64, spec: Spec) -> Vec<u8> {
    let mut data = vec![0u8; spec.size];
    let mut offset = 0;
    if let Some(index) = spec.shared {
        StdRng::seed_from_u64(shared_block_seed(base, index)).fill_bytes(&mut data[..BLOCK]);
        offset = BLOCK;
    }
    StdRng::seed_from_u64(spec.seed).fill_bytes(&mut data[offset..]);
    data
}

/// BLAKE3 hex of every 4 MiB piece of `data`, as the block store names the blocks.
fn piece_hashes(data: &[u8]) -> Vec<String> {
    data.chunks(BLOCK).map(blake3_hex).collect()
}

fn short(state: &State) -> String {
    match state {
        None => "absent".to_string(),
        Some(hash) => hash[..12].to_string(),
    }
}

/// What every worker shares: content recipes and the pieces of every content ever generated.
struct Registry {
    base: u64,
    /// Full-content hash -> hashes of its 4 MiB pieces.
    pieces: Mutex<HashMap<String, Vec<String>>>,
    /// Recently generated recipes, re-uploaded now and then (whole-file deduplication).
    recent: Mutex<Vec<Spec>>,
}

impl Registry {
    fn new_content(&self, rng: &mut StdRng) -> (Vec<u8>, String) {
        let reuse = {
            let recent = self.recent.lock().unwrap();
            if !recent.is_empty() && rng.gen_bool(0.1) {
                Some(recent[rng.gen_range(0..recent.len())])
            } else {
                None
            }
        };
        let spec = reuse.unwrap_or_else(|| {
            let size = if rng.gen_bool(0.1) {
                [BLOCK, 2 * BLOCK, 3 * BLOCK][rng.gen_range(0..3)]
            } else {
                rng.gen_range(MIB..=12 * MIB)
            };
            let shared = if size > BLOCK && rng.gen_bool(0.3) { Some(rng.gen_range(0..SHARED_BLOCKS)) } else { None };
            Spec { seed: rng.gen(), size, shared }
        });
        let data = generate(self.base, spec);
        let hash = blake3_hex(&data);
        self.pieces.lock().unwrap().entry(hash.clone()).or_insert_with(|| piece_hashes(&data));
        if reuse.is_none() {
            let mut recent = self.recent.lock().unwrap();
            if recent.len() >= 16 {
                recent.remove(0);
            }
            recent.push(spec);
        }
        (data, hash)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Put { path: String, hash: String },
    Delete { path: String },
    Move { from: String, to: String },
}

impl Op {
    fn apply(&self, world: &mut BTreeMap<String, State>) {
        match self {
            Op::Put { path, hash } => {
                world.insert(path.clone(), Some(hash.clone()));
            }
            Op::Delete { path } => {
                world.insert(path.clone(), None);
            }
            Op::Move { from, to } => {
                let moved = world.insert(from.clone(), None).expect("move source tracked");
                world.insert(to.clone(), moved);
            }
        }
    }
}

/// A PUT of the hot path: when it was sent, when its success reply arrived (None: no reply).
#[derive(Clone, Debug)]
struct HotPut {
    hash: String,
    start: Instant,
    end: Option<Instant>,
}

/// What a worker knows after the round: the exact state of its paths as far as acknowledged
/// operations go, plus at most one operation whose outcome is unknown (cut by the kill).
struct Outcome {
    known: BTreeMap<String, State>,
    uncertain: Option<Op>,
    hot: Vec<HotPut>,
    log: Vec<String>,
    errors: Vec<String>,
    /// Acknowledged operations: new-file PUTs, overwriting PUTs (private and hot), MOVEs, DELETEs.
    acked: [usize; 4],
}

fn auth_header() -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}")))
}

/// Sends a request; `Ok(status)` when a response arrived, `Err` on a transport failure.
fn try_send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<u16, String> {
    let mut request = agent.request(method, url).set("Authorization", &auth_header());
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(bytes) => request.send_bytes(bytes),
        None => request.call(),
    };
    match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => {
            let status = response.status();
            let mut sink = Vec::new();
            let _ = response.into_reader().take(1 << 20).read_to_end(&mut sink);
            Ok(status)
        }
        Err(error) => Err(error.to_string()),
    }
}

/// A request about to be sent: the operation it performs, method, URL, extra headers and body.
type Prepared = (Op, &'static str, String, Vec<(&'static str, String)>, Option<Vec<u8>>);

struct Worker {
    id: usize,
    rng: StdRng,
    base: String,
    registry: Arc<Registry>,
    stop: Arc<AtomicBool>,
    known: BTreeMap<String, State>,
}

impl Worker {
    fn url(&self, path: &str) -> String {
        format!("{}/remote.php/dav/files/admin/{}", self.base, path)
    }

    fn run(mut self) -> Outcome {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).redirects(0).build();
        let mut outcome = Outcome {
            known: BTreeMap::new(),
            uncertain: None,
            hot: Vec::new(),
            log: Vec::new(),
            errors: Vec::new(),
            acked: [0; 4],
        };
        let paths: Vec<String> = self.known.keys().cloned().collect();
        while !self.stop.load(Ordering::SeqCst) {
            let existing: Vec<&String> = paths.iter().filter(|p| self.known[*p].is_some()).collect();
            let roll = self.rng.gen_range(0..100);
            if roll < 15 {
                // Concurrent overwrite of the shared hot path.
                let (data, hash) = self.registry.new_content(&mut self.rng);
                let start = Instant::now();
                let result = try_send(&agent, "PUT", &self.url(HOT), &[], Some(&data));
                outcome.log.push(format!("w{} PUT {HOT} {} -> {result:?}", self.id, &hash[..12]));
                match result {
                    Ok(201 | 204) => {
                        outcome.acked[1] += 1;
                        outcome.hot.push(HotPut { hash, start, end: Some(Instant::now()) });
                    }
                    Ok(status) => {
                        outcome.errors.push(format!("PUT {HOT} ({} bytes) answered {status}", data.len()));
                        break;
                    }
                    Err(_) => {
                        outcome.hot.push(HotPut { hash, start, end: None });
                        break;
                    }
                }
                continue;
            }
            let (op, method, url, headers, body): Prepared = if roll < 30 && !existing.is_empty() {
                let from = existing[self.rng.gen_range(0..existing.len())].clone();
                let to = paths.iter().find(|p| **p != from).expect("two paths").clone();
                let url = self.url(&from);
                let headers = vec![("Destination", self.url(&to)), ("Overwrite", "T".to_string())];
                (Op::Move { from, to }, "MOVE", url, headers, None)
            } else if roll < 40 && !existing.is_empty() {
                let path = existing[self.rng.gen_range(0..existing.len())].clone();
                let url = self.url(&path);
                (Op::Delete { path }, "DELETE", url, Vec::new(), None)
            } else {
                let path = paths[self.rng.gen_range(0..paths.len())].clone();
                let (data, hash) = self.registry.new_content(&mut self.rng);
                let url = self.url(&path);
                (Op::Put { path, hash }, "PUT", url, Vec::new(), Some(data))
            };
            let header_refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let result = try_send(&agent, method, &url, &header_refs, body.as_deref());
            outcome.log.push(format!("w{} {op:?} -> {result:?}", self.id));
            let expected: &[u16] = match op {
                Op::Put { .. } | Op::Move { .. } => &[201, 204],
                Op::Delete { .. } => &[200, 204],
            };
            match result {
                Ok(status) if expected.contains(&status) => {
                    outcome.acked[match &op {
                        Op::Put { path, .. } if self.known[path].is_none() => 0,
                        Op::Put { .. } => 1,
                        Op::Move { .. } => 2,
                        Op::Delete { .. } => 3,
                    }] += 1;
                    op.apply(&mut self.known);
                }
                Ok(status) => {
                    outcome.errors.push(format!("{op:?} answered {status} (expected one of {expected:?})"));
                    break;
                }
                Err(_) => {
                    outcome.uncertain = Some(op);
                    break;
                }
            }
        }
        outcome.known = self.known;
        outcome
    }
}

/// GETs a path after a restart: `None` on 404, the content hash on 200; anything else fails.
fn observe(client: &Client, server: &TestServer, path: &str, registry: &Registry, context: &str) -> State {
    let reply = client.get(&server.dav_url("admin", path));
    match reply.status {
        404 => None,
        200 => {
            let hash = blake3_hex(&reply.body);
            assert!(
                registry.pieces.lock().unwrap().contains_key(&hash),
                "{context}: GET {path} returned {} bytes that match no uploaded content (partial or corrupt file)",
                reply.body.len()
            );
            Some(hash)
        }
        status => panic!("{context}: GET {path} answered {status}: {}", reply.text()),
    }
}

fn block_files(data: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.expect("read dir entry");
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                walk(&entry.path(), out);
            } else {
                out.push(entry.path());
            }
        }
    }
    let root = data.join("blocks");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut names = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.len() == 64 && relative == format!("{}/{}/{}", &name[..2], &name[2..4], name),
            "unexpected file in the block store: blocks/{relative}"
        );
        names.insert(name);
    }
    names
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let entry = entry.expect("read dir entry");
        if entry.file_type().expect("file type").is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(entry.path().display().to_string());
        }
    }
    out
}

/// Runs `fsck --grace-seconds 0` and asserts it found no damage.
fn fsck_clean(data: &Path, context: &str) {
    let (code, out, err) = run_cli(data, &["fsck", "--grace-seconds", "0"], None);
    let damage: Vec<&str> =
        out.lines().chain(err.lines()).filter(|line| line.contains("corrupt") || line.contains("missing")).collect();
    assert!(damage.is_empty(), "{context}: fsck reported damage:\n{}", damage.join("\n"));
    assert_eq!(code, 0, "{context}: fsck exit code {code}\nstdout:\n{out}\nstderr:\n{err}");
}

/// Blocks referenced by any stored version (current or older) in the SQLite database, read
/// with the `sqlite3` tool while the server is stopped.
fn referenced_blocks(data: &Path) -> BTreeSet<String> {
    let output = std::process::Command::new("sqlite3")
        .arg(data.join("hafen.db"))
        .arg("SELECT DISTINCT b.hash FROM version_blocks b JOIN versions v ON v.id = b.version_id")
        .output()
        .expect("run sqlite3 (Debian package sqlite3, installed by scripts/test)");
    assert!(output.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).filter(|hash| hash.len() == 64).collect()
}

/// After fsck, the block store must hold exactly the blocks the stored versions reference
/// (older versions are kept, so overwritten contents' blocks may stay) and every piece of
/// every surviving file's content.
fn assert_blocks_match(data: &Path, states: &BTreeMap<String, State>, registry: &Registry, context: &str) {
    let pieces = registry.pieces.lock().unwrap();
    let current: BTreeSet<String> = states.values().flatten().flat_map(|hash| pieces[hash].iter().cloned()).collect();
    let expected = referenced_blocks(data);
    let unreferenced_current: Vec<_> = current.difference(&expected).collect();
    assert!(
        unreferenced_current.is_empty(),
        "{context}: surviving files' blocks not referenced: {unreferenced_current:?}"
    );
    let actual = block_files(data);
    let missing: Vec<_> = expected.difference(&actual).collect();
    let orphans: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && orphans.is_empty(),
        "{context}: block store holds {} files, surviving files reference {} distinct blocks; \
         missing {missing:?}, unreclaimed {orphans:?}",
        actual.len(),
        expected.len()
    );
    assert_eq!(actual.len(), expected.len());
}

#[test]
fn crash_during_concurrent_writes_never_leaves_partial_files() {
    if common::skip_unless_embedded(
        "crash_during_concurrent_writes_never_leaves_partial_files",
        "it counts the block files in DATA/blocks and runs fsck on the local data directory",
    ) {
        return;
    }
    let rounds: usize = std::env::var("HAFEN_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let seed: u64 =
        std::env::var("HAFEN_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("crash test: {rounds} rounds, HAFEN_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let tempdir = tempfile::Builder::new().prefix("hafen-crash-").tempdir_in(test_tmp_root()).expect("tempdir");
    let data = tempdir.path().join("data");
    let registry =
        Arc::new(Registry { base: seed, pieces: Mutex::new(HashMap::new()), recent: Mutex::new(Vec::new()) });

    let private: Vec<String> = (0..THREADS * PATHS_PER_THREAD).map(|i| format!("p{i}.bin")).collect();
    let mut all_paths = private.clone();
    all_paths.push(HOT.to_string());
    // Exact state of every path, as observed after the latest restart.
    let mut states: BTreeMap<String, State> = all_paths.iter().map(|p| (p.clone(), None)).collect();

    let mut server = TestServer::start_in(&data, &[]);
    let client = Client::new("admin", ADMIN_PASSWORD);
    let started = Instant::now();
    // Coverage: acknowledged operations by kind, and cut operations whose effect survived or not.
    let mut acked = [0usize; 4];
    let (mut cut_applied, mut cut_lost) = (0usize, 0usize);
    for round in 1..=rounds {
        let round_started = Instant::now();
        let context = format!("round {round} (HAFEN_CRASH_SEED={seed})");
        let stop = Arc::new(AtomicBool::new(false));
        let mut shuffled = private.clone();
        shuffled.shuffle(&mut rng);
        let handles: Vec<_> = shuffled
            .chunks(PATHS_PER_THREAD)
            .enumerate()
            .map(|(id, owned)| {
                let worker = Worker {
                    id,
                    rng: StdRng::seed_from_u64(rng.gen()),
                    base: server.base.clone(),
                    registry: registry.clone(),
                    stop: stop.clone(),
                    known: owned.iter().map(|p| (p.clone(), states[p].clone())).collect(),
                };
                std::thread::spawn(move || worker.run())
            })
            .collect();

        std::thread::sleep(Duration::from_millis(rng.gen_range(20..=400)));
        stop.store(true, Ordering::SeqCst);
        server.kill();
        let outcomes: Vec<Outcome> = handles.into_iter().map(|h| h.join().expect("worker panicked")).collect();
        let log: Vec<String> = outcomes.iter().flat_map(|o| o.log.iter().cloned()).collect();
        let errors: Vec<String> = outcomes.iter().flat_map(|o| o.errors.iter().cloned()).collect();
        assert!(errors.is_empty(), "{context}: unexpected replies while the server ran:\n{}", errors.join("\n"));

        if round % FSCK_EVERY == 0 {
            fsck_clean(&data, &format!("{context}, fsck after the crash"));
        }

        server = TestServer::start_in(&data, &[]);
        let observed: BTreeMap<String, State> =
            all_paths.iter().map(|p| (p.clone(), observe(&client, &server, p, &registry, &context))).collect();

        // Private paths: the worker's acknowledged state, or that state with its cut operation applied.
        for outcome in &outcomes {
            let mut worlds = vec![outcome.known.clone()];
            if let Some(op) = &outcome.uncertain {
                let mut after = outcome.known.clone();
                op.apply(&mut after);
                worlds.push(after);
            }
            let seen: BTreeMap<String, State> =
                outcome.known.keys().map(|p| (p.clone(), observed[p].clone())).collect();
            let fmt = |w: &BTreeMap<String, State>| {
                w.iter().map(|(p, s)| format!("{p}={}", short(s))).collect::<Vec<_>>().join(" ")
            };
            if worlds.len() == 2 && worlds[0] != worlds[1] {
                if seen == worlds[1] {
                    cut_applied += 1;
                } else {
                    cut_lost += 1;
                }
            }
            for (total, count) in acked.iter_mut().zip(outcome.acked) {
                *total += count;
            }
            assert!(
                worlds.contains(&seen),
                "{context}: after the restart {} but the acceptable states were: {}\nlog:\n{}",
                fmt(&seen),
                worlds.iter().map(fmt).collect::<Vec<_>>().join(" | "),
                log.join("\n")
            );
        }

        // Hot path: a PUT is a candidate unless a successful PUT was sent after its reply arrived;
        // the previous state stays possible only if no PUT was acknowledged.
        let hot: Vec<&HotPut> = outcomes.iter().flat_map(|o| o.hot.iter()).collect();
        let mut candidates: BTreeSet<State> = hot
            .iter()
            .filter(|x| !hot.iter().any(|s| s.end.is_some() && x.end.is_some_and(|x_end| s.start > x_end)))
            .map(|x| Some(x.hash.clone()))
            .collect();
        if hot.iter().all(|x| x.end.is_none()) {
            candidates.insert(states[HOT].clone());
        }
        assert!(
            candidates.contains(&observed[HOT]),
            "{context}: after the restart {HOT}={} but the acceptable states were: {}\nlog:\n{}",
            short(&observed[HOT]),
            candidates.iter().map(short).collect::<Vec<_>>().join(" | "),
            log.join("\n")
        );

        states = observed;
        if round % FSCK_EVERY == 0 {
            assert_blocks_match(&data, &states, &registry, &format!("{context}, after fsck"));
        }
        eprintln!(
            "round {round}: {} operations, {} cut, {:?}; {}",
            log.len(),
            outcomes.iter().filter(|o| o.uncertain.is_some()).count() + hot.iter().filter(|h| h.end.is_none()).count(),
            round_started.elapsed(),
            states.iter().map(|(p, s)| format!("{p}={}", short(s))).collect::<Vec<_>>().join(" ")
        );
    }
    eprintln!(
        "crash test: {rounds} rounds in {:?}; acknowledged: {} new PUTs, {} overwrites, {} MOVEs, {} DELETEs; \
         cut operations (private paths): {cut_applied} took effect, {cut_lost} did not",
        started.elapsed(),
        acked[0],
        acked[1],
        acked[2],
        acked[3]
    );

    // Final audit with the server stopped: no damage, orphans and temp files reclaimed.
    server.kill();
    fsck_clean(&data, "final fsck");
    assert_blocks_match(&data, &states, &registry, "after the final fsck");
    let leftovers = files_under(&data.join("tmp"));
    assert!(leftovers.is_empty(), "fsck left temporary files: {leftovers:?}");

    // Everything that survived is still intact after fsck.
    let server = TestServer::start_in(&data, &[]);
    for path in &all_paths {
        let now = observe(&client, &server, path, &registry, "after the final fsck");
        assert_eq!(now, states[path], "{path} changed across fsck");
    }
}
