//! Conformance suite of `MetaStore`: one set of test functions, each run against SQLite (a
//! temporary file) and PostgreSQL (a fresh database per test, dropped afterwards).
//!
//! PostgreSQL is part of every development and CI machine: when it is unreachable the
//! PostgreSQL tests fail (they do not skip). The server is `HAFEN_TEST_POSTGRES_URL`, by
//! default `postgres://postgres@127.0.0.1:5432/test`; each test creates `hafen_test_<random>`
//! through it. Every test gets two independent handles on the same database (as two Hafen
//! nodes would have); most use only the first.

mod support;

use hafen_meta::*;
use std::future::Future;
use std::sync::Arc;

type Store = Arc<dyn MetaStore>;

// ---------------------------------------------------------------------------------------------
// harness (the databases come from `support`)

async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store, Store) -> Fut,
    Fut: Future<Output = ()>,
{
    support::with_sqlite_url(|url| async move {
        let first = hafen_meta::open(&url).await.expect("open SQLite store");
        let second = hafen_meta::open(&url).await.expect("open second SQLite handle");
        test(first, second).await;
    })
    .await;
}

async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store, Store) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    support::with_postgres_url(|url| async move {
        let first = hafen_meta::open(&url).await.expect("open PostgreSQL store");
        let second = hafen_meta::open(&url).await.expect("open second PostgreSQL handle");
        test(first, second).await;
    })
    .await;
}

/// Generates `sqlite::NAME` and `postgres::NAME` for each test function. Functions listed
/// under `one` take one store; those under `two` take two handles on the same database.
macro_rules! conformance {
    (one: $($one:ident),* ; two: $($two:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $one() {
                    super::run_sqlite(|store, _| super::$one(store)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $two() {
                    super::run_sqlite(super::$two).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $one() {
                    super::run_postgres(|store, _| super::$one(store)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $two() {
                    super::run_postgres(super::$two).await;
                }
            )*
        }
    };
}

conformance! {
    one: users, app_passwords, folders, commit_preconditions, commit_quota, ancestors_change,
        move_nodes, copy_nodes, delete_subtree, node_ids_not_reused, dead_props, locks,
        referenced_blocks, uploads, login_flows, inline_blocks, login_throttling, organisations,
        org_members_and_usage, groups, shares, received_shares, link_download_limit, node_chain,
        account_tokens, notifications, copy_into_other_owner, spaces, bulk_users, activities,
        mail_digests, comments, tags, audit_log, cancelled_writes;
    two: concurrent_commits_same_path, concurrent_create_folder, concurrent_commits_if_match,
        concurrent_commits_many_paths, concurrent_audit_appends,
}

// ---------------------------------------------------------------------------------------------
// helpers

/// Polls `future` `polls` times, yielding to the runtime in between, then drops it: what
/// hyper does to a handler when the client goes away mid-request.
async fn poll_then_drop<F: Future>(future: F, polls: usize) {
    let mut future = std::pin::pin!(future);
    for _ in 0..polls {
        let ready = std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx).is_ready())).await;
        if ready {
            return;
        }
        tokio::task::yield_now().await;
        std::thread::sleep(std::time::Duration::from_micros(20));
    }
}

const NOW: i64 = 1_700_000_000;

use support::{new_user, share_of};

async fn user(store: &Store, name: &str) -> User {
    store.create_user(&new_user(name), NOW).await.expect("create_user")
}

fn block(tag: &str, len: i64) -> BlockRef {
    BlockRef { hash: format!("{tag:0>64}"), len }
}

/// A commit of `size` bytes in one block named after `tag`.
fn file(parent: NodeId, name: &str, size: i64, tag: &str) -> FileCommit {
    FileCommit {
        parent,
        name: name.into(),
        blocks: if size > 0 { vec![block(tag, size)] } else { Vec::new() },
        size,
        content_hash: format!("content-{tag}"),
        mtime: NOW - 10,
        now: NOW,
        expect: Expect::Anything,
        quota: None,
        checksum: None,
        inline_blocks: Vec::new(),
    }
}

async fn node(store: &Store, id: NodeId) -> Node {
    store.node(id).await.expect("node").expect("node exists")
}

async fn folder(store: &Store, parent: NodeId, name: &str) -> Node {
    store.create_folder(parent, name, NOW).await.expect("create_folder")
}

/// Checks that every folder's size is the sum of its children's, returns the total file size.
async fn assert_sizes_consistent(store: &Store, root: NodeId) -> i64 {
    let mut files_total = 0;
    let mut pending = vec![root];
    while let Some(id) = pending.pop() {
        let folder = node(store, id).await;
        let children = store.children(id).await.expect("children");
        let sum: i64 = children.iter().map(|child| child.size).sum();
        assert_eq!(folder.size, sum, "size of folder {:?} ({}) != sum of its children", folder.id, folder.name);
        for child in children {
            if child.is_dir {
                pending.push(child.id);
            } else {
                files_total += child.size;
            }
        }
    }
    files_total
}

fn names(nodes: &[Node]) -> Vec<String> {
    nodes.iter().map(|node| node.name.clone()).collect()
}

// ---------------------------------------------------------------------------------------------
// accounts

async fn users(store: Store) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let bob = user(&store, "bob").await;
    let alice = user(&store, "alice").await;
    assert_eq!(bob.name, "bob");
    assert_eq!(bob.display_name, "bob display");
    assert_eq!(bob.email.as_deref(), Some("bob@example.org"));
    assert!(!bob.is_admin);
    assert_eq!(bob.created_at, NOW);
    let admin = store
        .create_user(&NewUser { quota: Some(1000), is_admin: true, email: None, ..new_user("admin") }, NOW)
        .await
        .unwrap();
    assert!(admin.is_admin);
    assert_eq!(admin.quota, Some(1000));
    assert_eq!(admin.email, None);
    assert!(matches!(store.create_user(&new_user("bob"), NOW).await, Err(MetaError::AlreadyExists(_))));
    assert_eq!(store.count_users().await.unwrap(), 3);

    let root = store.root(bob.id).await.unwrap();
    assert!(root.is_dir);
    assert_eq!(root.parent, None);
    assert_eq!(root.size, 0);
    assert_eq!(root.owner, bob.id);
    assert!(!root.etag.is_empty());

    let listed = store.list_users().await.unwrap();
    assert_eq!(listed.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["admin", "alice", "bob"]);
    assert_eq!(store.user_by_name("alice").await.unwrap().map(|u| u.id), Some(alice.id));
    assert!(store.user_by_name("nobody").await.unwrap().is_none());

    store.set_password_hash(alice.id, "new-hash").await.unwrap();
    assert_eq!(store.user_by_name("alice").await.unwrap().unwrap().password_hash, "new-hash");
    assert!(matches!(store.set_password_hash(UserId(999_999), "x").await, Err(MetaError::NotFound(_))));

    // Deleting removes the tree, app passwords and locks.
    let docs = folder(&store, root.id, "docs").await;
    store.commit_file(&file(docs.id, "a.txt", 5, "a")).await.unwrap();
    store.add_app_password(bob.id, "phone", "token-bob", NOW).await.unwrap();
    store.insert_lock(&lock("bob-lock", bob.id, "/docs", NOW + 100), &|_| false).await.unwrap();
    store.delete_user(bob.id).await.unwrap();
    assert!(store.user_by_name("bob").await.unwrap().is_none());
    assert!(matches!(store.root(bob.id).await, Err(MetaError::NotFound(_))));
    assert!(store.node(docs.id).await.unwrap().is_none());
    assert!(store.user_by_app_password("token-bob").await.unwrap().is_none());
    assert!(store.active_locks(bob.id, NOW).await.unwrap().is_empty());
    assert_eq!(store.count_users().await.unwrap(), 2);
    // The name is free again.
    user(&store, "bob").await;
}

async fn app_passwords(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    store.add_app_password(alice.id, "laptop", "hash-1", NOW).await.unwrap();
    store.add_app_password(alice.id, "phone", "hash-2", NOW + 1).await.unwrap();
    store.add_app_password(bob.id, "desktop", "hash-3", NOW).await.unwrap();
    assert!(store.add_app_password(bob.id, "again", "hash-3", NOW).await.is_err(), "token hashes are unique");

    assert_eq!(store.user_by_app_password("hash-2").await.unwrap().map(|u| u.id), Some(alice.id));
    assert_eq!(store.user_by_app_password("hash-3").await.unwrap().map(|u| u.name), Some("bob".to_string()));
    assert!(store.user_by_app_password("unknown").await.unwrap().is_none());

    let listed = store.list_app_passwords(alice.id).await.unwrap();
    assert_eq!(listed.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(), ["laptop", "phone"]);
    assert_eq!(listed[1].created_at, NOW + 1);
    assert_eq!(listed[0].last_used, None);

    // Deleting by id only works for the owner.
    assert!(!store.delete_app_password(bob.id, listed[0].id).await.unwrap());
    assert!(store.delete_app_password(alice.id, listed[0].id).await.unwrap());
    assert!(!store.delete_app_password(alice.id, listed[0].id).await.unwrap());
    assert!(store.user_by_app_password("hash-1").await.unwrap().is_none());
    assert!(store.delete_app_password_by_hash("hash-2").await.unwrap());
    assert!(!store.delete_app_password_by_hash("hash-2").await.unwrap());
    assert!(store.list_app_passwords(alice.id).await.unwrap().is_empty());
    assert_eq!(store.list_app_passwords(bob.id).await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// tree

/// A write abandoned at any await point (a client that disconnects mid-request) leaves the
/// store usable: the next write on the same handle succeeds. sqlx 0.8's SQLite `begin_with`
/// has an await after the BEGIN ran, so a write dropped there kept the only write connection
/// inside a transaction and every later write failed ("begin_with at non-zero transaction
/// depth"; CI of stop 15, web UI step c reloading mid-upload).
async fn cancelled_writes(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    for round in 0..400usize {
        let polls = 1 + round % 16;
        if round % 2 == 0 {
            poll_then_drop(store.create_folder(root.id, &format!("abandoned-{round}"), NOW), polls).await;
        } else {
            poll_then_drop(store.commit_file(&file(root.id, &format!("abandoned-{round}.txt"), 3, "c")), polls).await;
        }
        let probe = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            store.create_folder(root.id, &format!("probe-{round}"), NOW),
        )
        .await;
        match probe {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("write after a write abandoned after {polls} polls failed: {error}"),
            Err(_) => panic!("write after a write abandoned after {polls} polls hung"),
        }
    }
    assert_sizes_consistent(&store, root.id).await;
}

async fn folders(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let a = folder(&store, root.id, "a").await;
    assert!(a.is_dir);
    assert_eq!(a.parent, Some(root.id));
    assert_eq!(a.owner, alice.id);
    assert_eq!((a.size, a.mtime, a.ctime), (0, NOW, NOW));
    let b = folder(&store, a.id, "b").await;
    folder(&store, root.id, "B").await; // case-sensitive names
    folder(&store, root.id, "Z").await;
    folder(&store, root.id, "ä").await;
    assert!(matches!(store.create_folder(root.id, "a", NOW).await, Err(MetaError::AlreadyExists(_))));
    assert!(matches!(store.create_folder(NodeId(999_999), "x", NOW).await, Err(MetaError::NotFound(_))));
    let (f, created) = store.commit_file(&file(b.id, "f.txt", 3, "f")).await.unwrap();
    assert!(created);
    assert!(matches!(store.create_folder(f.id, "x", NOW).await, Err(MetaError::Conflict(_))));

    // Byte-wise order of names, like SQLite's BINARY collation.
    assert_eq!(names(&store.children(root.id).await.unwrap()), ["B", "Z", "a", "ä"]);

    let chain = store.resolve(alice.id, &["a".into(), "b".into(), "f.txt".into()]).await.unwrap();
    assert_eq!(chain.iter().map(|n| n.id).collect::<Vec<_>>(), [root.id, a.id, b.id, f.id]);
    let partial = store.resolve(alice.id, &["a".into(), "missing".into(), "f.txt".into()]).await.unwrap();
    assert_eq!(partial.len(), 2);
    assert_eq!(store.resolve(alice.id, &[]).await.unwrap().len(), 1);
    assert_eq!(store.node_path(f.id).await.unwrap(), "/alice/a/b/f.txt");
    assert_eq!(store.node_path(root.id).await.unwrap(), "/alice");

    let touched = store.set_mtime(f.id, 42).await.unwrap();
    assert_eq!(touched.mtime, 42);
    assert_eq!(node(&store, f.id).await.mtime, 42);
    assert!(matches!(store.set_mtime(NodeId(999_999), 1).await, Err(MetaError::NotFound(_))));
    assert!(store.node(NodeId(999_999)).await.unwrap().is_none());
}

async fn commit_preconditions(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let docs = folder(&store, root.id, "docs").await;

    let mut first = file(docs.id, "f.txt", 10, "one");
    first.blocks = vec![block("one", 6), block("two", 4)];
    first.checksum = Some("SHA1:abc".into());
    let (created_node, created) = store.commit_file(&first).await.unwrap();
    assert!(created);
    assert!(!created_node.is_dir);
    assert_eq!((created_node.size, created_node.mtime, created_node.ctime), (10, NOW - 10, NOW));
    assert_eq!(created_node.checksum.as_deref(), Some("SHA1:abc"));
    let version = created_node.version.expect("a version");
    assert_eq!(store.version_blocks(version).await.unwrap(), vec![block("one", 6), block("two", 4)]);

    // Overwrite keeps the id, replaces version, size and etag.
    let (overwritten, created) = store.commit_file(&file(docs.id, "f.txt", 4, "three")).await.unwrap();
    assert!(!created);
    assert_eq!(overwritten.id, created_node.id);
    assert_eq!(overwritten.size, 4);
    assert_ne!(overwritten.etag, created_node.etag);
    assert_ne!(overwritten.version, Some(version));
    assert_eq!(overwritten.checksum, None);
    assert_eq!(
        store.version_blocks(version).await.unwrap(),
        vec![block("one", 6), block("two", 4)],
        "the replaced version is kept"
    );
    assert_eq!(store.version_blocks(overwritten.version.unwrap()).await.unwrap(), vec![block("three", 4)]);
    let versions = store.file_versions(overwritten.id).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| (v.id, v.size)).collect::<Vec<_>>(),
        vec![(overwritten.version.unwrap(), 4), (version, 10)],
        "newest first, the current one included"
    );
    assert!(versions.iter().all(|v| v.node == overwritten.id && v.created_at == NOW));
    assert_eq!(
        store.delete_versions(overwritten.id, &[overwritten.version.unwrap()]).await.unwrap(),
        0,
        "never the current one"
    );
    assert_eq!(store.delete_versions(created_node.id, &[version]).await.unwrap(), 1);
    assert!(store.version_blocks(version).await.unwrap().is_empty(), "a deleted version is gone");
    assert_eq!(store.file_versions(overwritten.id).await.unwrap().len(), 1);

    let mut absent = file(docs.id, "f.txt", 1, "x");
    absent.expect = Expect::Absent;
    assert!(matches!(store.commit_file(&absent).await, Err(MetaError::PreconditionFailed)));
    absent.name = "new.txt".into();
    assert!(store.commit_file(&absent).await.unwrap().1);

    let mut present = file(docs.id, "missing.txt", 1, "x");
    present.expect = Expect::Present;
    assert!(matches!(store.commit_file(&present).await, Err(MetaError::PreconditionFailed)));
    present.name = "f.txt".into();
    let (after_present, _) = store.commit_file(&present).await.unwrap();

    let mut if_match = file(docs.id, "f.txt", 2, "y");
    if_match.expect = Expect::Etag("not-the-etag".into());
    assert!(matches!(store.commit_file(&if_match).await, Err(MetaError::PreconditionFailed)));
    if_match.expect = Expect::Etag(after_present.etag.clone());
    let (matched, _) = store.commit_file(&if_match).await.unwrap();
    assert_eq!(matched.size, 2);
    // The same etag does not match twice.
    assert!(matches!(store.commit_file(&if_match).await, Err(MetaError::PreconditionFailed)));
    if_match.name = "missing.txt".into();
    assert!(matches!(store.commit_file(&if_match).await, Err(MetaError::PreconditionFailed)));

    // A failed commit changes nothing.
    assert_eq!(node(&store, matched.id).await.etag, matched.etag);
    assert_eq!(assert_sizes_consistent(&store, root.id).await, 2 + 1);

    // Over a folder, under a file, under nothing.
    folder(&store, docs.id, "sub").await;
    assert!(matches!(store.commit_file(&file(docs.id, "sub", 1, "z")).await, Err(MetaError::Conflict(_))));
    assert!(matches!(store.commit_file(&file(matched.id, "x", 1, "z")).await, Err(MetaError::Conflict(_))));
    assert!(matches!(store.commit_file(&file(NodeId(999_999), "x", 1, "z")).await, Err(MetaError::NotFound(_))));

    // Empty files have no blocks.
    let (empty, _) = store.commit_file(&file(docs.id, "empty", 0, "")).await.unwrap();
    assert_eq!(empty.size, 0);
    assert!(store.version_blocks(empty.version.unwrap()).await.unwrap().is_empty());
}

async fn commit_quota(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let docs = folder(&store, root.id, "docs").await;
    let quota = Some(100);
    let mut commit = file(docs.id, "a", 60, "a");
    commit.quota = quota;
    store.commit_file(&commit).await.unwrap();

    let mut too_big = file(root.id, "b", 41, "b");
    too_big.quota = quota;
    assert!(matches!(store.commit_file(&too_big).await, Err(MetaError::QuotaExceeded)));
    assert!(store.resolve(alice.id, &["b".into()]).await.unwrap().len() == 1, "nothing was created");
    too_big.size = 40;
    store.commit_file(&too_big).await.unwrap();
    assert_eq!(store.root(alice.id).await.unwrap().size, 100);

    // Growing an existing file counts only the growth; shrinking always works.
    let mut grow = file(docs.id, "a", 61, "a2");
    grow.quota = quota;
    assert!(matches!(store.commit_file(&grow).await, Err(MetaError::QuotaExceeded)));
    grow.size = 10;
    store.commit_file(&grow).await.unwrap();
    grow.size = 60;
    store.commit_file(&grow).await.unwrap();

    // Copies count too; a copy replacing its target only needs the difference.
    let source = store.resolve(alice.id, &["docs".into(), "a".into()]).await.unwrap()[2].clone();
    let copy = CopyRequest {
        source: source.id,
        new_parent: root.id,
        new_name: "copy".into(),
        recursive: true,
        replace: None,
        quota,
        now: NOW,
    };
    assert!(matches!(store.copy_node(&copy).await, Err(MetaError::QuotaExceeded)));
    let b = store.resolve(alice.id, &["b".into()]).await.unwrap()[1].clone();
    let replacing = CopyRequest { new_name: "b".into(), replace: Some(b.id), quota: Some(200), ..copy };
    store.copy_node(&replacing).await.unwrap();
    assert_eq!(store.root(alice.id).await.unwrap().size, 120);
    assert_eq!(assert_sizes_consistent(&store, root.id).await, 120);
}

async fn ancestors_change(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = store.root(alice.id).await.unwrap();
    let a = folder(&store, root.id, "a").await;
    let b = folder(&store, a.id, "b").await;
    let side = folder(&store, root.id, "side").await;
    let bob_root = store.root(bob.id).await.unwrap();
    let before: Vec<Node> =
        futures_collect(&store, &[root.id, a.id, b.id, side.id]).await.into_iter().chain([bob_root]).collect();

    let (f, _) = store.commit_file(&file(b.id, "f", 7, "f")).await.unwrap();
    let after = futures_collect(&store, &[root.id, a.id, b.id, side.id, before[4].id]).await;
    for (old, new) in before[..3].iter().zip(&after[..3]) {
        assert_ne!(old.etag, new.etag, "etag of {} must change", old.name);
        assert_eq!(new.size, 7, "size of {}", old.name);
    }
    assert_eq!(before[3].etag, after[3].etag, "a sibling folder is untouched");
    assert_eq!(before[4].etag, after[4].etag, "another user's root is untouched");

    // Overwrite: the difference propagates.
    store.commit_file(&file(b.id, "f", 3, "g")).await.unwrap();
    for id in [root.id, a.id, b.id] {
        assert_eq!(node(&store, id).await.size, 3);
    }
    // Creating a folder changes the ancestors' etags but not their sizes.
    let chain_before = futures_collect(&store, &[root.id, a.id, b.id]).await;
    folder(&store, b.id, "c").await;
    let chain_after = futures_collect(&store, &[root.id, a.id, b.id]).await;
    for (old, new) in chain_before.iter().zip(&chain_after) {
        assert_ne!(old.etag, new.etag);
        assert_eq!(old.size, new.size);
    }
    // Dead properties change the node's and the ancestors' etags.
    let chain_before = futures_collect(&store, &[root.id, a.id, b.id, f.id]).await;
    store
        .patch_dead_props(f.id, &[PropOp::Set(DeadProp { ns: "urn:x".into(), name: "p".into(), value: "v".into() })])
        .await
        .unwrap();
    let chain_after = futures_collect(&store, &[root.id, a.id, b.id, f.id]).await;
    for (old, new) in chain_before.iter().zip(&chain_after) {
        assert_ne!(old.etag, new.etag, "etag of {}", old.name);
    }
}

/// The current rows of `ids`, in order.
async fn futures_collect(store: &Store, ids: &[NodeId]) -> Vec<Node> {
    let mut nodes = Vec::new();
    for id in ids {
        nodes.push(node(store, *id).await);
    }
    nodes
}

async fn move_nodes(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let a = folder(&store, root.id, "a").await;
    let b = folder(&store, root.id, "b").await;
    let sub = folder(&store, a.id, "sub").await;
    let (f, _) = store.commit_file(&file(sub.id, "f", 10, "f")).await.unwrap();
    let (g, _) = store.commit_file(&file(b.id, "g", 3, "g")).await.unwrap();

    // Rename in place.
    let a_before = node(&store, a.id).await;
    let renamed = store.move_node(f.id, sub.id, "f2", None).await.unwrap();
    assert_eq!(renamed.id, f.id);
    assert_eq!(renamed.name, "f2");
    assert_ne!(node(&store, a.id).await.etag, a_before.etag);

    // Move a folder with content elsewhere: sizes follow, ids stay.
    let b_before = node(&store, b.id).await;
    let moved = store.move_node(sub.id, b.id, "sub", None).await.unwrap();
    assert_eq!((moved.id, moved.parent), (sub.id, Some(b.id)));
    assert_eq!(node(&store, a.id).await.size, 0);
    let b_after = node(&store, b.id).await;
    assert_eq!(b_after.size, 13);
    assert_ne!(b_after.etag, b_before.etag);
    assert_eq!(store.node_path(f.id).await.unwrap(), "/alice/b/sub/f2");
    assert_eq!(store.root(alice.id).await.unwrap().size, 13);

    // Onto an existing name: AlreadyExists without replace, replaced with it.
    assert!(matches!(store.move_node(g.id, sub.id, "f2", None).await, Err(MetaError::AlreadyExists(_))));
    let replaced = store.move_node(g.id, sub.id, "f2", Some(f.id)).await.unwrap();
    assert_eq!(replaced.id, g.id);
    assert!(store.node(f.id).await.unwrap().is_none());
    assert_eq!(store.root(alice.id).await.unwrap().size, 3);
    assert_eq!(assert_sizes_consistent(&store, root.id).await, 3);

    // A folder cannot go into itself or below itself; the root cannot move.
    let deep = folder(&store, sub.id, "deep").await;
    assert!(matches!(store.move_node(b.id, deep.id, "x", None).await, Err(MetaError::Conflict(_))));
    assert!(matches!(store.move_node(b.id, b.id, "x", None).await, Err(MetaError::Conflict(_))));
    assert!(matches!(store.move_node(root.id, a.id, "x", None).await, Err(MetaError::Conflict(_))));
    assert!(matches!(store.move_node(NodeId(999_999), a.id, "x", None).await, Err(MetaError::NotFound(_))));
    assert!(matches!(store.move_node(b.id, g.id, "x", None).await, Err(MetaError::Conflict(_))));
    assert_eq!(assert_sizes_consistent(&store, root.id).await, 3);
}

async fn copy_nodes(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let a = folder(&store, root.id, "a").await;
    let sub = folder(&store, a.id, "sub").await;
    let mut with_blocks = file(sub.id, "f", 10, "f");
    with_blocks.blocks = vec![block("f1", 4), block("f2", 6)];
    with_blocks.checksum = Some("MD5:00".into());
    let (f, _) = store.commit_file(&with_blocks).await.unwrap();
    let (g, _) = store.commit_file(&file(a.id, "g", 5, "g")).await.unwrap();
    let prop = DeadProp { ns: "urn:x".into(), name: "color".into(), value: "<x:color>red</x:color>".into() };
    store.patch_dead_props(f.id, &[PropOp::Set(prop.clone())]).await.unwrap();

    let request = CopyRequest {
        source: a.id,
        new_parent: root.id,
        new_name: "a2".into(),
        recursive: true,
        replace: None,
        quota: None,
        now: NOW + 5,
    };
    let copy = store.copy_node(&request).await.unwrap();
    assert_ne!(copy.id, a.id);
    assert_eq!((copy.name.as_str(), copy.size, copy.ctime), ("a2", 15, NOW + 5));
    assert_eq!(store.root(alice.id).await.unwrap().size, 30);
    let copied_f = store.resolve(alice.id, &["a2".into(), "sub".into(), "f".into()]).await.unwrap();
    assert_eq!(copied_f.len(), 4, "the subtree was copied");
    let copied_f = &copied_f[3];
    assert_ne!(copied_f.id, f.id);
    assert_ne!(copied_f.version, f.version);
    assert_eq!(copied_f.checksum.as_deref(), Some("MD5:00"));
    assert_eq!(copied_f.mtime, f.mtime);
    // Same blocks, no data copied.
    assert_eq!(
        store.version_blocks(copied_f.version.unwrap()).await.unwrap(),
        store.version_blocks(f.version.unwrap()).await.unwrap()
    );
    assert_eq!(store.dead_props(copied_f.id).await.unwrap(), vec![prop]);
    assert_eq!(names(&store.children(copy.id).await.unwrap()), ["g", "sub"]);

    // Non-recursive copy of a folder: an empty folder.
    let shallow = store
        .copy_node(&CopyRequest { new_name: "shallow".into(), recursive: false, ..request.clone() })
        .await
        .unwrap();
    assert!(shallow.is_dir);
    assert_eq!(shallow.size, 0);
    assert!(store.children(shallow.id).await.unwrap().is_empty());

    // A file copy replacing an existing file.
    let replacing = CopyRequest {
        source: f.id,
        new_parent: a.id,
        new_name: "g".into(),
        recursive: false,
        replace: Some(g.id),
        quota: None,
        now: NOW,
    };
    assert!(matches!(
        store.copy_node(&CopyRequest { replace: None, ..replacing.clone() }).await,
        Err(MetaError::AlreadyExists(_))
    ));
    let replaced = store.copy_node(&replacing).await.unwrap();
    assert!(store.node(g.id).await.unwrap().is_none());
    assert_eq!(replaced.size, 10);
    assert_eq!(node(&store, a.id).await.size, 20);

    // Not into its own subtree.
    assert!(matches!(
        store.copy_node(&CopyRequest { new_parent: sub.id, new_name: "loop".into(), ..request.clone() }).await,
        Err(MetaError::Conflict(_))
    ));
    assert!(matches!(
        store.copy_node(&CopyRequest { source: NodeId(999_999), ..request.clone() }).await,
        Err(MetaError::NotFound(_))
    ));
    let total = assert_sizes_consistent(&store, root.id).await;
    assert_eq!(total, store.root(alice.id).await.unwrap().size);
    assert_eq!(total, 20 + 15);
}

async fn delete_subtree(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let a = folder(&store, root.id, "a").await;
    let b = folder(&store, a.id, "b").await;
    let keep = folder(&store, root.id, "keep").await;
    let (f, _) = store.commit_file(&file(b.id, "f", 10, "f")).await.unwrap();
    store.commit_file(&file(a.id, "g", 5, "g")).await.unwrap();
    store.commit_file(&file(keep.id, "k", 1, "k")).await.unwrap();
    store
        .patch_dead_props(f.id, &[PropOp::Set(DeadProp { ns: "n".into(), name: "p".into(), value: "v".into() })])
        .await
        .unwrap();

    let a_before = node(&store, a.id).await;
    let root_before = store.root(alice.id).await.unwrap();
    store.delete_node(b.id).await.unwrap();
    assert!(store.node(b.id).await.unwrap().is_none());
    assert!(store.node(f.id).await.unwrap().is_none());
    assert!(store.dead_props(f.id).await.unwrap().is_empty());
    let a_after = node(&store, a.id).await;
    assert_eq!(a_after.size, 5);
    assert_ne!(a_after.etag, a_before.etag);
    let root_after = store.root(alice.id).await.unwrap();
    assert_eq!(root_after.size, 6);
    assert_ne!(root_after.etag, root_before.etag);

    store.delete_node(a.id).await.unwrap();
    assert_eq!(store.root(alice.id).await.unwrap().size, 1);
    assert_eq!(names(&store.children(root.id).await.unwrap()), ["keep"]);
    assert!(matches!(store.delete_node(root.id).await, Err(MetaError::Conflict(_))));
    assert!(matches!(store.delete_node(a.id).await, Err(MetaError::NotFound(_))));
    assert_eq!(assert_sizes_consistent(&store, root.id).await, 1);
}

async fn node_ids_not_reused(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let (f, _) = store.commit_file(&file(root.id, "f", 1, "f")).await.unwrap();
    store.delete_node(f.id).await.unwrap();
    let (again, created) = store.commit_file(&file(root.id, "f", 1, "f")).await.unwrap();
    assert!(created);
    assert!(again.id > f.id, "a deleted node's id is not handed out again");
    let failed = store.create_folder(root.id, "f", NOW).await;
    assert!(matches!(failed, Err(MetaError::AlreadyExists(_))));
    let next = folder(&store, root.id, "g").await;
    assert!(next.id > again.id);
}

async fn dead_props(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let (f, _) = store.commit_file(&file(root.id, "f", 1, "f")).await.unwrap();
    let prop = |ns: &str, name: &str, value: &str| DeadProp { ns: ns.into(), name: name.into(), value: value.into() };
    store
        .patch_dead_props(
            f.id,
            &[
                PropOp::Set(prop("urn:b", "one", "1")),
                PropOp::Set(prop("urn:a", "two", "2")),
                PropOp::Set(prop("urn:a", "three", "3")),
                PropOp::Set(prop("urn:a", "two", "2b")),
                PropOp::Remove { ns: "urn:a".into(), name: "three".into() },
                PropOp::Remove { ns: "urn:a".into(), name: "never-set".into() },
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.dead_props(f.id).await.unwrap(), vec![prop("urn:a", "two", "2b"), prop("urn:b", "one", "1")]);
    store.patch_dead_props(root.id, &[PropOp::Set(prop("urn:a", "on-root", "r"))]).await.unwrap();
    assert_eq!(store.dead_props(root.id).await.unwrap().len(), 1);
    store.patch_dead_props(f.id, &[PropOp::Remove { ns: "urn:b".into(), name: "one".into() }]).await.unwrap();
    assert_eq!(store.dead_props(f.id).await.unwrap(), vec![prop("urn:a", "two", "2b")]);
    // A whole listing at once, by node, namespace and name.
    let (g, _) = store.commit_file(&file(root.id, "g", 1, "g")).await.unwrap();
    assert_eq!(
        store.dead_props_of(&[g.id, f.id, root.id]).await.unwrap(),
        vec![(root.id, prop("urn:a", "on-root", "r")), (f.id, prop("urn:a", "two", "2b"))],
        "root was created before f"
    );
    assert!(store.dead_props_of(&[g.id]).await.unwrap().is_empty());
    assert!(store.dead_props_of(&[]).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// locks, blocks, uploads, login flows

fn lock(token: &str, owner: UserId, path: &str, expires_at: i64) -> Lock {
    Lock {
        token: token.into(),
        owner,
        path: path.into(),
        depth_infinite: true,
        exclusive: true,
        owner_xml: "<D:href>me</D:href>".into(),
        timeout_secs: 100,
        expires_at,
    }
}

async fn locks(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    store.insert_lock(&lock("t-a", alice.id, "/a", NOW + 100), &|_| false).await.unwrap();
    store.insert_lock(&lock("t-a-x", alice.id, "/a/x", NOW + 100), &|_| false).await.unwrap();
    store
        .insert_lock(
            &Lock { depth_infinite: false, exclusive: false, ..lock("t-ab", alice.id, "/ab", NOW + 100) },
            &|_| false,
        )
        .await
        .unwrap();
    store.insert_lock(&lock("t-old", alice.id, "/old", NOW - 1), &|_| false).await.unwrap();
    store.insert_lock(&lock("t-bob", bob.id, "/a", NOW + 100), &|_| false).await.unwrap();
    assert!(
        store.insert_lock(&lock("t-a", alice.id, "/dup", NOW + 100), &|_| false).await.is_err(),
        "tokens are unique"
    );
    let refused =
        store.insert_lock(&lock("t-refused", alice.id, "/a", NOW + 100), &|active| !active.is_empty()).await.unwrap();
    assert!(!refused, "a conflicting lock must not be granted");
    assert!(!store.active_locks(alice.id, NOW).await.unwrap().iter().any(|l| l.token == "t-refused"));

    let mut active = store.active_locks(alice.id, NOW).await.unwrap();
    active.sort_by(|x, y| x.token.cmp(&y.token));
    assert_eq!(active.iter().map(|l| l.token.as_str()).collect::<Vec<_>>(), ["t-a", "t-a-x", "t-ab"]);
    let ab = &active[2];
    assert_eq!((ab.owner, ab.path.as_str(), ab.depth_infinite, ab.exclusive), (alice.id, "/ab", false, false));
    assert_eq!((ab.owner_xml.as_str(), ab.timeout_secs, ab.expires_at), ("<D:href>me</D:href>", 100, NOW + 100));
    // Expiry is relative to the time asked about.
    assert_eq!(store.active_locks(alice.id, NOW + 100).await.unwrap().len(), 0);

    store.refresh_lock("t-a", 500, NOW + 500).await.unwrap();
    let refreshed = store.active_locks(alice.id, NOW + 200).await.unwrap();
    assert_eq!(refreshed.len(), 1);
    assert_eq!((refreshed[0].timeout_secs, refreshed[0].expires_at), (500, NOW + 500));

    assert!(store.delete_lock("t-ab").await.unwrap());
    assert!(!store.delete_lock("t-ab").await.unwrap());

    store.insert_lock(&lock("t-ab2", alice.id, "/ab", NOW + 100), &|_| false).await.unwrap();
    store.delete_locks_under(alice.id, "/a").await.unwrap();
    let left = store.active_locks(alice.id, NOW).await.unwrap();
    assert_eq!(left.iter().map(|l| l.token.as_str()).collect::<Vec<_>>(), ["t-ab2"], "/ab is not under /a");
    assert_eq!(store.active_locks(bob.id, NOW).await.unwrap().len(), 1, "other owners are untouched");
    store.delete_locks_under(alice.id, "/").await.unwrap();
    assert!(store.active_locks(alice.id, NOW).await.unwrap().is_empty());
}

async fn referenced_blocks(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let (f, _) = store.commit_file(&file(root.id, "f", 10, "file-block")).await.unwrap();
    let (old, _) = store.commit_file(&file(root.id, "g", 3, "old-block")).await.unwrap();
    store.commit_file(&file(root.id, "g", 4, "new-block")).await.unwrap();
    let upload = store.create_upload(alice.id, "transfer", None, None, NOW).await.unwrap();
    store.put_upload_chunk(upload.id, "00001", &[block("chunk-block", 7)], 7, NOW).await.unwrap();

    let used = store.referenced_blocks().await.unwrap();
    let find = |tag: &str| used.iter().find(|b| b.hash == block(tag, 0).hash).cloned();
    let file_block = find("file-block").expect("file block referenced");
    assert_eq!((file_block.len, file_block.node), (10, Some(f.id)));
    assert_eq!(find("new-block").and_then(|b| b.node), Some(old.id));
    assert_eq!(find("old-block").and_then(|b| b.node), Some(old.id), "a kept older version's blocks are referenced");
    let chunk = find("chunk-block").expect("upload chunk block referenced");
    assert_eq!((chunk.len, chunk.node), (7, None));
    assert_eq!(used.len(), 4);
    // Once the older version is deleted, its blocks are garbage.
    let older = store.file_versions(old.id).await.unwrap().pop().expect("older version");
    assert_eq!(store.delete_versions(old.id, &[older.id]).await.unwrap(), 1);
    let used = store.referenced_blocks().await.unwrap();
    assert!(
        !used.iter().any(|b| b.hash == block("old-block", 0).hash),
        "a deleted version's blocks are not referenced"
    );
    assert_eq!(used.len(), 3);
}

async fn uploads(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = store.root(alice.id).await.unwrap();
    let session = store.create_upload(alice.id, "web-1", Some("/files/alice/big.bin"), Some(30), NOW).await.unwrap();
    assert_eq!(session.owner, alice.id);
    assert_eq!(session.destination.as_deref(), Some("/files/alice/big.bin"));
    assert_eq!((session.total_length, session.created_at, session.updated_at), (Some(30), NOW, NOW));
    assert!(matches!(store.create_upload(alice.id, "web-1", None, None, NOW).await, Err(MetaError::AlreadyExists(_))));
    store.create_upload(bob.id, "web-1", None, None, NOW).await.unwrap();
    store.create_upload(alice.id, "web-0", None, None, NOW).await.unwrap();
    assert_eq!(store.upload(alice.id, "web-1").await.unwrap().map(|u| u.id), Some(session.id));
    assert!(store.upload(alice.id, "nope").await.unwrap().is_none());
    let listed = store.list_uploads(alice.id).await.unwrap();
    assert_eq!(listed.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["web-0", "web-1"]);

    store.put_upload_chunk(session.id, "00002", &[block("c2a", 5), block("c2b", 5)], 10, NOW + 1).await.unwrap();
    store.put_upload_chunk(session.id, "00001", &[block("c1", 10)], 10, NOW + 2).await.unwrap();
    store.put_upload_chunk(session.id, "00003", &[block("c3-old", 1)], 1, NOW + 3).await.unwrap();
    // Same name again replaces the chunk and its blocks.
    store.put_upload_chunk(session.id, "00003", &[block("c3", 10)], 10, NOW + 4).await.unwrap();
    assert_eq!(store.upload(alice.id, "web-1").await.unwrap().unwrap().updated_at, NOW + 4);
    assert!(matches!(
        store.put_upload_chunk(999_999, "00001", &[block("x", 1)], 1, NOW).await,
        Err(MetaError::NotFound(_))
    ));

    let chunks = store.upload_chunks(session.id).await.unwrap();
    assert_eq!(
        chunks.iter().map(|c| (c.name.as_str(), c.size)).collect::<Vec<_>>(),
        [("00001", 10), ("00002", 10), ("00003", 10)]
    );
    assert_eq!(chunks[2].created_at, NOW + 4);
    let blocks = store.upload_blocks(session.id).await.unwrap();
    assert_eq!(
        blocks,
        vec![
            ("00001".to_string(), block("c1", 10)),
            ("00002".to_string(), block("c2a", 5)),
            ("00002".to_string(), block("c2b", 5)),
            ("00003".to_string(), block("c3", 10)),
        ]
    );

    assert!(store.delete_upload_chunk(session.id, "00003").await.unwrap());
    assert!(!store.delete_upload_chunk(session.id, "00003").await.unwrap());
    assert_eq!(store.upload_blocks(session.id).await.unwrap().len(), 3);

    // Finishing commits the file and removes the session with its chunks, atomically.
    let mut commit = file(root.id, "big.bin", 20, "unused");
    commit.blocks = blocks[..3].iter().map(|(_, block)| block.clone()).collect();
    let (node, created) = store.finish_upload(session.id, &commit).await.unwrap();
    assert!(created);
    assert_eq!(node.size, 20);
    assert_eq!(store.version_blocks(node.version.unwrap()).await.unwrap().len(), 3);
    assert!(store.upload(alice.id, "web-1").await.unwrap().is_none());
    assert!(store.upload_chunks(session.id).await.unwrap().is_empty());
    assert!(store.upload_blocks(session.id).await.unwrap().is_empty());
    assert_eq!(store.root(alice.id).await.unwrap().size, 20);

    // A failing finish leaves the session in place.
    let retry = store.create_upload(alice.id, "web-2", None, None, NOW).await.unwrap();
    store.put_upload_chunk(retry.id, "1", &[block("r", 1)], 1, NOW).await.unwrap();
    let mut absent = file(root.id, "big.bin", 1, "r");
    absent.expect = Expect::Absent;
    assert!(matches!(store.finish_upload(retry.id, &absent).await, Err(MetaError::PreconditionFailed)));
    assert!(store.upload(alice.id, "web-2").await.unwrap().is_some());
    assert_eq!(store.upload_blocks(retry.id).await.unwrap().len(), 1);

    store.delete_upload(retry.id).await.unwrap();
    assert!(store.upload(alice.id, "web-2").await.unwrap().is_none());

    // Expiry by last activity.
    let stale = store.create_upload(alice.id, "stale", None, None, NOW - 1000).await.unwrap();
    store.put_upload_chunk(stale.id, "1", &[block("s", 1)], 1, NOW - 900).await.unwrap();
    let fresh = store.create_upload(alice.id, "fresh", None, None, NOW - 1000).await.unwrap();
    store.put_upload_chunk(fresh.id, "1", &[block("f", 1)], 1, NOW).await.unwrap();
    // web-0 (alice) and web-1 (bob) were created at NOW.
    assert_eq!(store.expire_uploads(NOW - 500).await.unwrap(), 1);
    assert!(store.upload(alice.id, "stale").await.unwrap().is_none());
    assert!(store.upload(alice.id, "fresh").await.unwrap().is_some());
    assert!(store.upload_blocks(stale.id).await.unwrap().is_empty());
    assert_eq!(store.expire_uploads(NOW + 1).await.unwrap(), 3);
}

fn flow(login_token: &str, poll_hash: &str, created_at: i64) -> LoginFlow {
    LoginFlow {
        login_token: login_token.into(),
        poll_token_hash: poll_hash.into(),
        form_token: format!("form-{login_token}"),
        client_name: "Desktop client".into(),
        user: None,
        app_password: None,
        created_at,
    }
}

async fn login_flows(store: Store) {
    let alice = user(&store, "alice").await;
    store.insert_login_flow(&flow("login-1", "poll-1", NOW)).await.unwrap();
    store.insert_login_flow(&flow("login-2", "poll-2", NOW - 1000)).await.unwrap();
    assert!(store.insert_login_flow(&flow("login-1", "poll-3", NOW)).await.is_err());

    let pending = store.login_flow("login-1").await.unwrap().expect("flow");
    assert_eq!((pending.form_token.as_str(), pending.client_name.as_str()), ("form-login-1", "Desktop client"));
    assert_eq!((pending.user, pending.app_password.clone(), pending.created_at), (None, None, NOW));
    assert!(store.login_flow("unknown").await.unwrap().is_none());

    // Pending flows are not handed out, and stay.
    assert!(store.take_login_flow("poll-1").await.unwrap().is_none());
    assert!(store.login_flow("login-1").await.unwrap().is_some());

    assert!(store.grant_login_flow("login-1", alice.id, "app-secret").await.unwrap());
    assert!(!store.grant_login_flow("login-1", alice.id, "other").await.unwrap(), "granted once");
    assert!(!store.grant_login_flow("unknown", alice.id, "other").await.unwrap());
    let granted = store.login_flow("login-1").await.unwrap().unwrap();
    assert_eq!((granted.user, granted.app_password.as_deref()), (Some(alice.id), Some("app-secret")));

    let taken = store.take_login_flow("poll-1").await.unwrap().expect("granted flow");
    assert_eq!((taken.user, taken.app_password.as_deref()), (Some(alice.id), Some("app-secret")));
    assert!(store.take_login_flow("poll-1").await.unwrap().is_none(), "taken once");
    assert!(store.login_flow("login-1").await.unwrap().is_none());

    assert_eq!(store.expire_login_flows(NOW - 500).await.unwrap(), 1);
    assert!(store.login_flow("login-2").await.unwrap().is_none());
}

async fn login_throttling(store: Store) {
    let alice = user(&store, "alice").await;
    assert_eq!(alice.last_failed_login, None);
    assert_eq!(store.login_blocked_until("alice", "10.0.0.1").await.unwrap(), 0);
    // Block 10 s per failure of an address from the second on; account-wide from the fourth.
    let policy = |failures: i64, account_wide: bool| match account_wide {
        false if failures >= 2 => 10,
        true if failures >= 4 => 100,
        _ => 0,
    };
    store.record_login_failure("alice", "10.0.0.1", NOW, &policy).await.unwrap();
    assert_eq!(store.login_blocked_until("alice", "10.0.0.1").await.unwrap(), NOW);
    store.record_login_failure("alice", "10.0.0.1", NOW + 1, &policy).await.unwrap();
    assert_eq!(store.login_blocked_until("alice", "10.0.0.1").await.unwrap(), NOW + 11);
    assert_eq!(
        store.login_blocked_until("alice", "10.0.0.2").await.unwrap(),
        NOW + 1,
        "another address is not blocked"
    );
    assert_eq!(store.login_blocked_until("bob", "10.0.0.1").await.unwrap(), 0, "another account is not blocked");
    assert_eq!(store.user_by_name("alice").await.unwrap().unwrap().last_failed_login, Some(NOW + 1));
    store.record_login_failure("alice", "10.0.0.3", NOW + 2, &policy).await.unwrap();
    store.record_login_failure("alice", "10.0.0.4", NOW + 3, &policy).await.unwrap();
    assert_eq!(store.login_blocked_until("alice", "10.0.0.9").await.unwrap(), NOW + 103, "account-wide block");
    store.clear_login_failures("alice", "10.0.0.1").await.unwrap();
    assert_eq!(store.login_blocked_until("alice", "10.0.0.1").await.unwrap(), NOW + 103, "account-wide stays");
    // Failures older than an hour are forgotten on the next failure.
    store.record_login_failure("carol", "10.0.0.1", NOW + 5000, &policy).await.unwrap();
    assert_eq!(store.login_blocked_until("alice", "10.0.0.9").await.unwrap(), 0);
}

async fn inline_blocks(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let mut commit = file(root.id, "small", 3, "inline");
    commit.inline_blocks = vec![InlineBlock { hash: block("inline", 3).hash, data: b"abc".to_vec() }];
    let (small, _) = store.commit_file(&commit).await.unwrap();
    // The same block again (another file) is fine.
    commit.name = "small2".into();
    let (small2, _) = store.commit_file(&commit).await.unwrap();
    assert_eq!(store.inline_block(&block("inline", 3).hash).await.unwrap().as_deref(), Some(&b"abc"[..]));
    assert!(store.inline_block("unknown").await.unwrap().is_none());
    // Key rotation walks the inline blocks and replaces their stored form.
    let hash = block("inline", 3).hash;
    assert_eq!(store.inline_block_hashes("", 10).await.unwrap(), vec![hash.clone()]);
    assert!(store.inline_block_hashes(&hash, 10).await.unwrap().is_empty());
    assert!(store.replace_inline_block(&hash, b"sealed abc").await.unwrap());
    assert_eq!(store.inline_block(&hash).await.unwrap().as_deref(), Some(&b"sealed abc"[..]));
    assert!(!store.replace_inline_block("unknown", b"x").await.unwrap());

    assert_eq!(store.collect_inline_garbage().await.unwrap(), 0);
    store.delete_node(small.id).await.unwrap();
    assert_eq!(store.collect_inline_garbage().await.unwrap(), 0, "still used by small2");
    store.delete_node(small2.id).await.unwrap();
    assert_eq!(store.collect_inline_garbage().await.unwrap(), 1);
    assert!(store.inline_block(&block("inline", 3).hash).await.unwrap().is_none());
}

// ---------------------------------------------------------------------------------------------
// organisations, groups, shares, account links, notifications

fn org(name: &str) -> Organisation {
    Organisation {
        id: OrgId(0),
        name: name.into(),
        display_name: format!("{name} display"),
        quota: None,
        link_password_required: false,
        link_max_expiry_days: None,
        created_at: NOW,
        version_daily_days: None,
        version_quota_percent: None,
    }
}

fn group(name: &str, org: Option<OrgId>) -> Group {
    Group { id: GroupId(0), name: name.into(), display_name: format!("{name} display"), org, created_at: NOW }
}

/// A public link of `node` by `sharer` with `token`.
fn link_of(sharer: UserId, node: NodeId, token: &str) -> Share {
    Share { token: Some(token.into()), ..share_of(sharer, node, ShareRecipient::Link) }
}

fn share_ids(shares: &[Share]) -> Vec<i64> {
    shares.iter().map(|share| share.id).collect()
}

async fn organisations(store: Store) {
    assert!(store.list_orgs().await.unwrap().is_empty());
    let finance = store.create_org(&org("finance")).await.unwrap();
    assert_eq!(finance, Organisation { id: finance.id, ..org("finance") });
    let policy = Organisation {
        quota: Some(1000),
        link_password_required: true,
        link_max_expiry_days: Some(7),
        ..org("agriculture")
    };
    let agriculture = store.create_org(&policy).await.unwrap();
    assert_ne!(agriculture.id, finance.id);
    assert_eq!(agriculture, Organisation { id: agriculture.id, ..policy });
    assert!(matches!(store.create_org(&org("finance")).await, Err(MetaError::AlreadyExists(_))));

    assert_eq!(store.org(finance.id).await.unwrap(), Some(finance.clone()));
    assert_eq!(store.org_by_name("agriculture").await.unwrap(), Some(agriculture.clone()));
    assert!(store.org(OrgId(999_999)).await.unwrap().is_none());
    assert!(store.org_by_name("nobody").await.unwrap().is_none());
    let listed = store.list_orgs().await.unwrap();
    assert_eq!(listed.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["agriculture", "finance"]);

    // Display name, quota and link policy are written; the name and creation time are not.
    let changed = Organisation {
        name: "renamed".into(),
        display_name: "Ministry of Finance".into(),
        quota: Some(5000),
        link_password_required: true,
        link_max_expiry_days: Some(30),
        created_at: NOW + 99,
        version_daily_days: Some(90),
        version_quota_percent: Some(25),
        ..finance.clone()
    };
    store.update_org(&changed).await.unwrap();
    assert_eq!(
        store.org(finance.id).await.unwrap(),
        Some(Organisation { name: "finance".into(), created_at: NOW, ..changed.clone() })
    );
    let relaxed =
        Organisation { quota: None, link_password_required: false, link_max_expiry_days: None, ..agriculture.clone() };
    store.update_org(&relaxed).await.unwrap();
    let cleared = store.org(agriculture.id).await.unwrap().unwrap();
    assert_eq!((cleared.quota, cleared.link_password_required, cleared.link_max_expiry_days), (None, false, None));
    assert!(store.org_by_name("renamed").await.unwrap().is_none());
}

async fn org_members_and_usage(store: Store) {
    let finance = store.create_org(&org("finance")).await.unwrap();
    let agriculture = store.create_org(&org("agriculture")).await.unwrap();
    let empty = store.create_org(&org("empty")).await.unwrap();

    let alice = user(&store, "alice").await;
    assert_eq!((alice.org, alice.org_admin, alice.is_guest, alice.invited_by), (None, false, false, None));
    let bob =
        store.create_user(&NewUser { org: Some(finance.id), org_admin: true, ..new_user("bob") }, NOW).await.unwrap();
    assert_eq!((bob.org, bob.org_admin, bob.is_guest), (Some(finance.id), true, false));
    let carol = store.create_user(&NewUser { org: Some(finance.id), ..new_user("carol") }, NOW).await.unwrap();
    let guest = store
        .create_user(&NewUser { is_guest: true, invited_by: Some(bob.id), ..new_user("guest") }, NOW)
        .await
        .unwrap();
    assert_eq!((guest.org, guest.org_admin, guest.is_guest, guest.invited_by), (None, false, true, Some(bob.id)));
    assert_eq!(store.user(guest.id).await.unwrap(), Some(guest.clone()));
    assert_eq!(store.user_by_name("bob").await.unwrap(), Some(bob.clone()));
    assert!(store.user(UserId(999_999)).await.unwrap().is_none());

    // The organisation, admin flags, display name, e-mail and quota are written; name and
    // password are not.
    let changed = User {
        name: "alicia".into(),
        password_hash: "other-hash".into(),
        display_name: "Alice A.".into(),
        email: None,
        quota: Some(500),
        is_admin: true,
        org: Some(agriculture.id),
        org_admin: true,
        language: "en".into(),
        ..alice.clone()
    };
    assert_eq!(alice.language, "", "no language chosen at first");
    store.update_user(&changed).await.unwrap();
    let stored = store.user(alice.id).await.unwrap().unwrap();
    assert_eq!(stored, User { name: "alice".into(), password_hash: alice.password_hash.clone(), ..changed.clone() });
    assert_eq!(store.user_by_name("alice").await.unwrap().map(|u| u.org), Some(Some(agriculture.id)));
    assert!(!stored.is_guest);
    // Leaving the organisation again.
    store.update_user(&User { org: None, org_admin: false, ..stored.clone() }).await.unwrap();
    assert_eq!(store.user(alice.id).await.unwrap().map(|u| (u.org, u.org_admin)), Some((None, false)));
    store.update_user(&stored).await.unwrap();

    // Bytes of all accounts of an organisation.
    assert_eq!(store.org_used_bytes(finance.id).await.unwrap(), 0);
    let bob_root = store.root(bob.id).await.unwrap();
    let docs = folder(&store, bob_root.id, "docs").await;
    store.commit_file(&file(docs.id, "a", 10, "a")).await.unwrap();
    store.commit_file(&file(bob_root.id, "b", 3, "b")).await.unwrap();
    store.commit_file(&file(store.root(carol.id).await.unwrap().id, "c", 5, "c")).await.unwrap();
    store.commit_file(&file(store.root(alice.id).await.unwrap().id, "d", 7, "d")).await.unwrap();
    store.commit_file(&file(store.root(guest.id).await.unwrap().id, "e", 100, "e")).await.unwrap();
    assert_eq!(store.org_used_bytes(finance.id).await.unwrap(), 18);
    assert_eq!(store.org_used_bytes(agriculture.id).await.unwrap(), 7);
    assert_eq!(store.org_used_bytes(empty.id).await.unwrap(), 0);
    assert_eq!(store.org_used_bytes(OrgId(999_999)).await.unwrap(), 0);
}

async fn groups(store: Store) {
    let finance = store.create_org(&org("finance")).await.unwrap();
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    assert!(store.list_groups().await.unwrap().is_empty());

    let team = store.create_group(&group("team", Some(finance.id))).await.unwrap();
    assert_eq!(team, Group { id: team.id, ..group("team", Some(finance.id)) });
    let project = store.create_group(&group("project", None)).await.unwrap();
    assert_eq!(project.org, None);
    assert!(matches!(store.create_group(&group("team", None)).await, Err(MetaError::AlreadyExists(_))));
    assert_eq!(store.group(team.id).await.unwrap(), Some(team.clone()));
    assert_eq!(store.group_by_name("project").await.unwrap(), Some(project.clone()));
    assert!(store.group(GroupId(999_999)).await.unwrap().is_none());
    assert!(store.group_by_name("nobody").await.unwrap().is_none());
    assert_eq!(store.list_groups().await.unwrap(), vec![project.clone(), team.clone()]);

    assert!(store.group_members(team.id).await.unwrap().is_empty());
    store.set_group_member(team.id, alice.id, false).await.unwrap();
    store.set_group_member(team.id, bob.id, true).await.unwrap();
    store.set_group_member(project.id, alice.id, false).await.unwrap();
    assert_eq!(store.group_members(team.id).await.unwrap(), [(alice.id, false), (bob.id, true)]);
    // Setting again changes the admin flag, it does not add a second membership.
    store.set_group_member(team.id, alice.id, true).await.unwrap();
    store.set_group_member(team.id, bob.id, false).await.unwrap();
    assert_eq!(store.group_members(team.id).await.unwrap(), [(alice.id, true), (bob.id, false)]);
    assert_eq!(store.groups_of(alice.id).await.unwrap(), [(project.clone(), false), (team.clone(), true)]);
    assert_eq!(store.groups_of(bob.id).await.unwrap(), [(team.clone(), false)]);

    assert!(store.remove_group_member(team.id, bob.id).await.unwrap());
    assert!(!store.remove_group_member(team.id, bob.id).await.unwrap());
    assert!(!store.remove_group_member(project.id, bob.id).await.unwrap());
    assert!(store.groups_of(bob.id).await.unwrap().is_empty());
    assert_eq!(store.group_members(team.id).await.unwrap(), [(alice.id, true)]);

    assert!(store.delete_group(team.id).await.unwrap());
    assert!(!store.delete_group(team.id).await.unwrap());
    assert!(store.group(team.id).await.unwrap().is_none());
    assert!(store.group_members(team.id).await.unwrap().is_empty());
    assert_eq!(store.groups_of(alice.id).await.unwrap(), [(project.clone(), false)]);
    assert_eq!(store.list_groups().await.unwrap(), vec![project.clone()]);
    // The name is free again.
    store.create_group(&group("team", None)).await.unwrap();
}

async fn shares(store: Store) {
    let finance = store.create_org(&org("finance")).await.unwrap();
    let team = store.create_group(&group("team", Some(finance.id))).await.unwrap();
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = store.root(alice.id).await.unwrap();
    let docs = folder(&store, root.id, "docs").await;
    let (f, _) = store.commit_file(&file(docs.id, "f", 4, "f")).await.unwrap();

    let to_bob = Share { permissions: 31, ..share_of(alice.id, docs.id, ShareRecipient::User(bob.id)) };
    let direct = store.create_share(&to_bob).await.unwrap();
    assert!(direct.id > 0);
    assert_eq!(direct, Share { id: direct.id, ..to_bob });

    let link_input = Share {
        password_hash: Some("argon2-hash".into()),
        expires_at: Some(NOW + 100),
        download_limit: Some(3),
        download_count: 99, // ignored
        label: "for the press".into(),
        note: "please forward".into(),
        hide_download: true,
        ..link_of(alice.id, docs.id, "token-1")
    };
    let link = store.create_share(&link_input).await.unwrap();
    assert_eq!(link, Share { id: link.id, download_count: 0, ..link_input.clone() });
    assert_eq!(link.recipient.share_type(), 3);
    assert!(store.create_share(&link_of(bob.id, f.id, "token-1")).await.is_err(), "tokens are unique");

    let to_team = store.create_share(&share_of(alice.id, f.id, ShareRecipient::Group(team.id))).await.unwrap();
    assert_eq!(to_team.recipient, ShareRecipient::Group(team.id));
    let to_finance = store.create_share(&share_of(alice.id, f.id, ShareRecipient::Org(finance.id))).await.unwrap();
    assert_eq!(to_finance.recipient, ShareRecipient::Org(finance.id));
    let bob_root = store.root(bob.id).await.unwrap();
    let bobs = store.create_share(&link_of(bob.id, bob_root.id, "token-bob")).await.unwrap();

    assert_eq!(store.share(direct.id).await.unwrap(), Some(direct.clone()));
    assert_eq!(store.share(to_team.id).await.unwrap(), Some(to_team.clone()));
    assert_eq!(store.share(to_finance.id).await.unwrap(), Some(to_finance.clone()));
    assert!(store.share(999_999).await.unwrap().is_none());
    assert_eq!(store.share_by_token("token-1").await.unwrap(), Some(link.clone()));
    assert!(store.share_by_token("unknown").await.unwrap().is_none());

    assert_eq!(
        share_ids(&store.shares_by_sharer(alice.id).await.unwrap()),
        [direct.id, link.id, to_team.id, to_finance.id]
    );
    assert_eq!(store.shares_by_sharer(bob.id).await.unwrap(), vec![bobs.clone()]);
    assert_eq!(share_ids(&store.shares_of_nodes(&[docs.id]).await.unwrap()), [direct.id, link.id]);
    assert_eq!(
        share_ids(&store.shares_of_nodes(&[f.id, docs.id, bob_root.id, NodeId(999_999)]).await.unwrap()),
        [direct.id, link.id, to_team.id, to_finance.id, bobs.id]
    );
    assert!(store.shares_of_nodes(&[]).await.unwrap().is_empty());
    assert!(store.shares_of_nodes(&[root.id]).await.unwrap().is_empty());

    // Permissions, password, expiry, limit, label, note and hide-download are written; the
    // node, sharer, recipient, token and download count are not.
    let changed = Share {
        permissions: 17,
        password_hash: None,
        expires_at: None,
        download_limit: Some(10),
        label: "renamed".into(),
        note: String::new(),
        hide_download: false,
        node: f.id,
        sharer: bob.id,
        recipient: ShareRecipient::User(bob.id),
        token: Some("token-2".into()),
        download_count: 7,
        created_at: NOW + 50,
        ..link.clone()
    };
    store.update_share(&changed).await.unwrap();
    assert_eq!(
        store.share(link.id).await.unwrap(),
        Some(Share {
            node: link.node,
            sharer: link.sharer,
            recipient: link.recipient,
            token: link.token.clone(),
            download_count: 0,
            created_at: NOW,
            ..changed.clone()
        })
    );
    assert!(store.share_by_token("token-2").await.unwrap().is_none());

    assert!(store.delete_share(direct.id).await.unwrap());
    assert!(!store.delete_share(direct.id).await.unwrap());
    assert!(store.share(direct.id).await.unwrap().is_none());
    assert_eq!(share_ids(&store.shares_of_nodes(&[docs.id]).await.unwrap()), [link.id]);

    // Deleting the shared node removes its shares.
    store.delete_node(f.id).await.unwrap();
    assert!(store.shares_of_nodes(&[f.id]).await.unwrap().is_empty());
    assert!(store.share(to_team.id).await.unwrap().is_none());
    assert_eq!(share_ids(&store.shares_by_sharer(alice.id).await.unwrap()), [link.id]);
}

async fn received_shares(store: Store) {
    let finance = store.create_org(&org("finance")).await.unwrap();
    let other = store.create_org(&org("other")).await.unwrap();
    let team = store.create_group(&group("team", None)).await.unwrap();
    let outsiders = store.create_group(&group("outsiders", None)).await.unwrap();
    let alice = user(&store, "alice").await;
    let bob = store.create_user(&NewUser { org: Some(finance.id), ..new_user("bob") }, NOW).await.unwrap();
    let carol = user(&store, "carol").await;
    let dave = store.create_user(&NewUser { org: Some(other.id), ..new_user("dave") }, NOW).await.unwrap();
    store.set_group_member(team.id, bob.id, false).await.unwrap();
    store.set_group_member(team.id, carol.id, true).await.unwrap();
    store.set_group_member(outsiders.id, dave.id, false).await.unwrap();

    let root = store.root(alice.id).await.unwrap();
    let docs = folder(&store, root.id, "docs").await;
    let (f, _) = store.commit_file(&file(root.id, "f", 1, "f")).await.unwrap();
    let to_bob = store.create_share(&share_of(alice.id, docs.id, ShareRecipient::User(bob.id))).await.unwrap();
    let to_team = store.create_share(&share_of(alice.id, f.id, ShareRecipient::Group(team.id))).await.unwrap();
    let to_finance = store.create_share(&share_of(alice.id, root.id, ShareRecipient::Org(finance.id))).await.unwrap();
    store.create_share(&link_of(alice.id, docs.id, "token")).await.unwrap();
    let to_carol = store.create_share(&share_of(alice.id, f.id, ShareRecipient::User(carol.id))).await.unwrap();

    let received = store.received_shares(bob.id).await.unwrap();
    assert_eq!(
        received,
        vec![
            ReceivedShare { share: to_bob.clone(), mount_name: None, hidden: false },
            ReceivedShare { share: to_team.clone(), mount_name: None, hidden: false },
            ReceivedShare { share: to_finance.clone(), mount_name: None, hidden: false },
        ]
    );
    let ids = |received: &[ReceivedShare]| received.iter().map(|r| r.share.id).collect::<Vec<_>>();
    assert_eq!(ids(&store.received_shares(carol.id).await.unwrap()), [to_team.id, to_carol.id]);
    assert!(store.received_shares(dave.id).await.unwrap().is_empty(), "an unrelated account receives nothing");
    assert!(store.received_shares(alice.id).await.unwrap().is_empty());
    assert!(store.received_shares(UserId(999_999)).await.unwrap().is_empty());

    // The recipient's own name and hidden flag, per recipient.
    store.set_share_mount(to_team.id, bob.id, Some("Team files"), false).await.unwrap();
    store.set_share_mount(to_finance.id, bob.id, None, true).await.unwrap();
    let received = store.received_shares(bob.id).await.unwrap();
    let mounts = received.iter().map(|r| (r.share.id, r.mount_name.as_deref(), r.hidden)).collect::<Vec<_>>();
    assert_eq!(
        mounts,
        [(to_bob.id, None, false), (to_team.id, Some("Team files"), false), (to_finance.id, None, true)]
    );
    let carols = store.received_shares(carol.id).await.unwrap();
    assert_eq!((carols[0].mount_name.as_deref(), carols[0].hidden), (None, false), "another member's mount");
    // Setting again replaces both.
    store.set_share_mount(to_team.id, bob.id, Some("Renamed"), true).await.unwrap();
    let received = store.received_shares(bob.id).await.unwrap();
    assert_eq!((received[1].mount_name.as_deref(), received[1].hidden), (Some("Renamed"), true));
    assert_eq!(received.len(), 3, "a mount row does not duplicate a share");

    // Leaving the group and the organisation ends those shares.
    store.remove_group_member(team.id, bob.id).await.unwrap();
    assert_eq!(ids(&store.received_shares(bob.id).await.unwrap()), [to_bob.id, to_finance.id]);
    let bob_now = store.user(bob.id).await.unwrap().unwrap();
    store.update_user(&User { org: None, ..bob_now }).await.unwrap();
    assert_eq!(ids(&store.received_shares(bob.id).await.unwrap()), [to_bob.id]);
    // Joining an organisation starts its shares.
    let dave_now = store.user(dave.id).await.unwrap().unwrap();
    store.update_user(&User { org: Some(finance.id), ..dave_now }).await.unwrap();
    assert_eq!(ids(&store.received_shares(dave.id).await.unwrap()), [to_finance.id]);
}

async fn link_download_limit(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let limited =
        store.create_share(&Share { download_limit: Some(2), ..link_of(alice.id, root.id, "limited") }).await.unwrap();
    assert!(store.count_link_download(limited.id).await.unwrap());
    assert!(store.count_link_download(limited.id).await.unwrap());
    assert!(!store.count_link_download(limited.id).await.unwrap(), "the limit is reached");
    assert!(!store.count_link_download(limited.id).await.unwrap());
    assert_eq!(store.share(limited.id).await.unwrap().unwrap().download_count, 2);

    // Raising the limit allows exactly the difference.
    let stored = store.share(limited.id).await.unwrap().unwrap();
    store.update_share(&Share { download_limit: Some(3), ..stored }).await.unwrap();
    assert!(store.count_link_download(limited.id).await.unwrap());
    assert!(!store.count_link_download(limited.id).await.unwrap());
    assert_eq!(store.share(limited.id).await.unwrap().unwrap().download_count, 3);

    let unlimited = store.create_share(&link_of(alice.id, root.id, "unlimited")).await.unwrap();
    for _ in 0..5 {
        assert!(store.count_link_download(unlimited.id).await.unwrap());
    }
    assert_eq!(store.share(unlimited.id).await.unwrap().unwrap().download_count, 5);
    assert!(!store.count_link_download(999_999).await.unwrap());
}

async fn node_chain(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let a = folder(&store, root.id, "a").await;
    let b = folder(&store, a.id, "b").await;
    folder(&store, a.id, "side").await;
    let (f, _) = store.commit_file(&file(b.id, "f", 2, "f")).await.unwrap();
    let chain = store.node_chain(f.id).await.unwrap();
    assert_eq!(chain, futures_collect(&store, &[root.id, a.id, b.id, f.id]).await);
    assert_eq!(store.node_chain(root.id).await.unwrap(), vec![node(&store, root.id).await]);
    assert_eq!(store.node_chain(b.id).await.unwrap().iter().map(|n| n.id).collect::<Vec<_>>(), [root.id, a.id, b.id]);
    assert!(store.node_chain(NodeId(999_999)).await.unwrap().is_empty());

    // Several nodes by id, in any order, missing ones left out.
    let mut found = store.nodes(&[f.id, NodeId(999_999), root.id]).await.unwrap();
    found.sort_by_key(|n| n.id.0);
    assert_eq!(found, futures_collect(&store, &[root.id, f.id]).await);
    assert!(store.nodes(&[]).await.unwrap().is_empty());
}

async fn account_tokens(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let invite = AccountToken { user: alice.id, purpose: "invite".into(), expires_at: NOW + 3600 };
    let reset = AccountToken { user: bob.id, purpose: "reset".into(), expires_at: NOW + 60 };
    store.insert_account_token("hash-1", &invite).await.unwrap();
    store.insert_account_token("hash-2", &reset).await.unwrap();
    assert!(store.insert_account_token("hash-1", &reset).await.is_err(), "token hashes are unique");

    assert_eq!(store.take_account_token("hash-1").await.unwrap(), Some(invite.clone()));
    assert!(store.take_account_token("hash-1").await.unwrap().is_none(), "a token works once");
    assert!(store.take_account_token("unknown").await.unwrap().is_none());
    assert_eq!(store.take_account_token("hash-2").await.unwrap(), Some(reset));
    assert!(store.take_account_token("hash-2").await.unwrap().is_none());

    // Web sessions: looked up without being used up; deleted per account and purpose.
    let session = AccountToken { user: alice.id, purpose: "web-session".into(), expires_at: NOW + 60 };
    store.insert_account_token("s-1", &session).await.unwrap();
    store.insert_account_token("s-2", &session).await.unwrap();
    store.insert_account_token("i-1", &invite).await.unwrap();
    store.insert_account_token("s-bob", &AccountToken { user: bob.id, ..session.clone() }).await.unwrap();
    assert_eq!(store.account_token("s-1").await.unwrap(), Some(session.clone()));
    assert_eq!(store.account_token("s-1").await.unwrap(), Some(session.clone()), "a lookup keeps it");
    assert!(store.account_token("unknown").await.unwrap().is_none());
    assert_eq!(store.delete_account_tokens(alice.id, "web-session").await.unwrap(), 2);
    assert!(store.account_token("s-1").await.unwrap().is_none());
    assert!(store.account_token("s-2").await.unwrap().is_none());
    assert_eq!(store.account_token("i-1").await.unwrap(), Some(invite), "other purposes stay");
    assert!(store.account_token("s-bob").await.unwrap().is_some(), "other accounts stay");
}

async fn activities(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let entry = |user: UserId, kind: &str, subject: &str, at: i64| Activity {
        id: 0,
        user,
        kind: kind.into(),
        actor: "alice".into(),
        subject: subject.into(),
        object_id: Some(7),
        created_at: at,
    };
    store
        .add_activities(&[
            entry(alice.id, "file_created", "/a.txt", NOW - 100),
            entry(alice.id, "shared", "/a.txt", NOW - 50),
            entry(bob.id, "share_received", "a.txt", NOW - 50),
            entry(alice.id, "file_changed", "/a.txt", NOW),
        ])
        .await
        .unwrap();
    let all = store.activities(alice.id, None, &[], 10).await.unwrap();
    assert_eq!(all.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(), ["file_changed", "shared", "file_created"]);
    assert_eq!((all[0].subject.as_str(), all[0].object_id, all[0].actor.as_str()), ("/a.txt", Some(7), "alice"));
    let page = store.activities(alice.id, Some(all[0].id), &[], 1).await.unwrap();
    assert_eq!(page.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(), ["shared"], "paging below an id");
    let shares = store.activities(alice.id, None, &["shared".into(), "unshared".into()], 10).await.unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(store.activities(bob.id, None, &[], 10).await.unwrap().len(), 1, "each account its own stream");
    assert_eq!(store.expire_activities(NOW - 60).await.unwrap(), 1);
    assert_eq!(store.activities(alice.id, None, &[], 10).await.unwrap().len(), 2);
}

async fn notifications(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let notification = |user: UserId, subject: &str, created_at: i64| Notification {
        id: 0,
        user,
        subject: subject.into(),
        message: format!("{subject} message"),
        object_type: "share".into(),
        object_id: "42".into(),
        created_at,
        mail_state: MailState::NotMailed,
    };
    assert!(store.notifications(alice.id).await.unwrap().is_empty());
    let first = store.add_notification(&notification(alice.id, "first", NOW)).await.unwrap();
    let second = store.add_notification(&notification(alice.id, "second", NOW + 1)).await.unwrap();
    let bobs = store.add_notification(&notification(bob.id, "for bob", NOW)).await.unwrap();
    assert!(second > first);

    // Newest first.
    assert_eq!(
        store.notifications(alice.id).await.unwrap(),
        vec![
            Notification { id: second, ..notification(alice.id, "second", NOW + 1) },
            Notification { id: first, ..notification(alice.id, "first", NOW) },
        ]
    );
    assert_eq!(
        store.notifications(bob.id).await.unwrap(),
        vec![Notification { id: bobs, ..notification(bob.id, "for bob", NOW) }]
    );

    // Only the recipient deletes their notification.
    assert!(!store.delete_notification(bob.id, first).await.unwrap());
    assert!(store.delete_notification(alice.id, first).await.unwrap());
    assert!(!store.delete_notification(alice.id, first).await.unwrap());
    assert_eq!(store.notifications(alice.id).await.unwrap().iter().map(|n| n.id).collect::<Vec<_>>(), [second]);
    assert_eq!(store.notifications(bob.id).await.unwrap().len(), 1);
}

async fn copy_into_other_owner(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let alice_root = store.root(alice.id).await.unwrap();
    let bob_root = store.root(bob.id).await.unwrap();
    let src = folder(&store, alice_root.id, "src").await;
    let sub = folder(&store, src.id, "sub").await;
    store.commit_file(&file(sub.id, "f", 10, "f")).await.unwrap();
    let (g, _) = store.commit_file(&file(src.id, "g", 5, "g")).await.unwrap();
    let inbox = folder(&store, bob_root.id, "inbox").await;

    let request = CopyRequest {
        source: src.id,
        new_parent: inbox.id,
        new_name: "from-alice".into(),
        recursive: true,
        replace: None,
        quota: None,
        now: NOW,
    };
    let copy = store.copy_node(&request).await.unwrap();
    assert_eq!(copy.owner, bob.id);
    // Every copied node belongs to the destination's owner.
    let mut pending = vec![copy.id];
    let mut copied = 0;
    while let Some(id) = pending.pop() {
        let current = node(&store, id).await;
        assert_eq!(current.owner, bob.id, "owner of the copy of {}", current.name);
        copied += 1;
        for child in store.children(id).await.unwrap() {
            pending.push(child.id);
        }
    }
    assert_eq!(copied, 4, "from-alice, g, sub, f");
    let copied_f =
        store.resolve(bob.id, &["inbox".into(), "from-alice".into(), "sub".into(), "f".into()]).await.unwrap();
    assert_eq!(copied_f.len(), 5);
    assert_eq!(store.node_path(copied_f[4].id).await.unwrap(), "/bob/inbox/from-alice/sub/f");

    // The sizes move to the destination tree; the source tree is unchanged.
    assert_eq!(store.root(bob.id).await.unwrap().size, 15);
    assert_eq!(store.root(alice.id).await.unwrap().size, 15);
    assert_eq!(assert_sizes_consistent(&store, bob_root.id).await, 15);
    assert_eq!(assert_sizes_consistent(&store, alice_root.id).await, 15);
    assert!(store.children(src.id).await.unwrap().iter().all(|child| child.owner == alice.id));

    // A single file, and the destination owner's quota is the one checked.
    let file_copy = store
        .copy_node(&CopyRequest {
            source: g.id,
            new_parent: bob_root.id,
            new_name: "g".into(),
            recursive: false,
            ..request.clone()
        })
        .await
        .unwrap();
    assert_eq!((file_copy.owner, file_copy.size), (bob.id, 5));
    assert_eq!(store.root(bob.id).await.unwrap().size, 20);
    let over_quota = CopyRequest { new_name: "again".into(), quota: Some(30), ..request.clone() };
    assert!(matches!(store.copy_node(&over_quota).await, Err(MetaError::QuotaExceeded)));
    assert_eq!(store.root(bob.id).await.unwrap().size, 20);
}

// ---------------------------------------------------------------------------------------------
// concurrency (two handles = two nodes on one database)

const WRITERS: usize = 20;

/// Alternates the writers between the two handles.
fn pick(first: &Store, second: &Store, i: usize) -> Store {
    [first, second][i % 2].clone()
}

async fn concurrent_commits_same_path(first: Store, second: Store) {
    let alice = user(&first, "alice").await;
    let root = first.root(alice.id).await.unwrap();
    let docs = folder(&first, root.id, "docs").await;
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = pick(&first, &second, i);
        let commit = file(docs.id, "same.txt", i as i64 + 1, &format!("w{i}"));
        tasks.push(tokio::spawn(async move { store.commit_file(&commit).await }));
    }
    let mut created = 0;
    let mut ids = Vec::new();
    for task in tasks {
        let (node, was_created) = task.await.unwrap().expect("every writer succeeds");
        created += usize::from(was_created);
        ids.push(node.id);
    }
    assert_eq!(created, 1, "exactly one writer created the file");
    ids.dedup();
    assert_eq!(ids.len(), 1, "all writers wrote the same node");
    let children = first.children(docs.id).await.unwrap();
    assert_eq!(children.len(), 1);
    let blocks = first.version_blocks(children[0].version.unwrap()).await.unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].len, children[0].size, "the visible version is one writer's, whole");
    assert_eq!(assert_sizes_consistent(&first, root.id).await, children[0].size);
    assert_eq!(first.root(alice.id).await.unwrap().size, children[0].size);
}

async fn concurrent_create_folder(first: Store, second: Store) {
    let alice = user(&first, "alice").await;
    let root = first.root(alice.id).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = pick(&first, &second, i);
        tasks.push(tokio::spawn(async move { store.create_folder(root.id, "dup", NOW).await }));
    }
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => made += 1,
            Err(MetaError::AlreadyExists(_)) => {}
            Err(error) => panic!("unexpected error: {error}"),
        }
    }
    assert_eq!(made, 1, "exactly one folder is created");
    assert_eq!(names(&second.children(root.id).await.unwrap()), ["dup"]);
}

async fn concurrent_commits_if_match(first: Store, second: Store) {
    let alice = user(&first, "alice").await;
    let root = first.root(alice.id).await.unwrap();
    let (original, _) = first.commit_file(&file(root.id, "doc", 1, "orig")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = pick(&first, &second, i);
        let mut commit = file(root.id, "doc", i as i64 + 2, &format!("w{i}"));
        commit.expect = Expect::Etag(original.etag.clone());
        tasks.push(tokio::spawn(async move { store.commit_file(&commit).await }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok((node, _)) => winners.push(node),
            Err(MetaError::PreconditionFailed) => {}
            Err(error) => panic!("unexpected error: {error}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one If-Match writer wins");
    let now = node(&first, original.id).await;
    assert_eq!((now.size, now.etag.clone()), (winners[0].size, winners[0].etag.clone()));
    assert_eq!(first.root(alice.id).await.unwrap().size, now.size);
}

async fn concurrent_commits_many_paths(first: Store, second: Store) {
    let alice = user(&first, "alice").await;
    let root = first.root(alice.id).await.unwrap();
    let a = folder(&first, root.id, "a").await;
    let b = folder(&first, a.id, "b").await;
    let c = folder(&first, root.id, "c").await;
    let mut tasks = Vec::new();
    for i in 0..WRITERS * 2 {
        let store = pick(&first, &second, i);
        let parent = [root.id, a.id, b.id, c.id][i % 4];
        let commit = file(parent, &format!("f{}", i % 10), i as i64 + 1, &format!("w{i}"));
        let mover = i % 7 == 0;
        tasks.push(tokio::spawn(async move {
            store.commit_file(&commit).await?;
            if mover {
                // Structure changes interleave with the commits.
                let made = store.create_folder(parent, &format!("dir{i}"), NOW).await?;
                store.delete_node(made.id).await?;
            }
            Ok::<_, MetaError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("writer succeeds");
    }
    let total = assert_sizes_consistent(&first, root.id).await;
    assert_eq!(first.root(alice.id).await.unwrap().size, total);
    let file_count: usize = {
        let mut count = 0;
        for parent in [root.id, a.id, b.id, c.id] {
            count += first.children(parent).await.unwrap().iter().filter(|n| !n.is_dir).count();
        }
        count
    };
    // i % 4 and i % 10 repeat together every lcm(4, 10) = 20 writers.
    assert_eq!(file_count, 20, "each (folder, name) pair exists once");
}

#[test]
fn database_url_is_replaced() {
    assert_eq!(
        support::with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(support::with_database("postgres://u@h/test?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    assert_eq!(support::with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

#[tokio::test]
async fn unknown_scheme_is_rejected() {
    match hafen_meta::open("mysql://user:secret@localhost/db").await {
        Err(MetaError::InvalidUrl(message)) => {
            assert!(message.contains("sqlite://") && message.contains("postgres://"), "{message}");
            assert!(!message.contains("secret"), "the password is not echoed: {message}");
        }
        Err(error) => panic!("unexpected error {error}"),
        Ok(_) => panic!("mysql:// must be rejected"),
    }
}

async fn spaces(store: Store) {
    let org = store
        .create_org(&Organisation {
            id: OrgId(0),
            name: "stk".into(),
            display_name: "Staatskanzlei".into(),
            quota: None,
            link_password_required: false,
            link_max_expiry_days: None,
            created_at: NOW,
            version_daily_days: None,
            version_quota_percent: None,
        })
        .await
        .unwrap();
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let new = NewSpace {
        name: "haushalt".into(),
        display_name: "Haushalt 2027".into(),
        org: Some(org.id),
        group: None,
        quota: Some(1000),
    };
    let space = store.create_space(&new, NOW).await.unwrap();
    assert_eq!(
        store.create_space(&new, NOW).await.unwrap_err().to_string(),
        MetaError::AlreadyExists("haushalt".into()).to_string()
    );
    assert_eq!(store.space(space.id).await.unwrap().as_ref(), Some(&space));
    assert_eq!(store.space_by_name("haushalt").await.unwrap().as_ref(), Some(&space));
    assert_eq!(store.list_spaces().await.unwrap(), vec![space.clone()]);
    // The space's account holds the folder, has the quota and organisation, and is neither
    // listed nor found by name (so nobody can log in as it).
    let account = store.user(space.account).await.unwrap().unwrap();
    assert!(account.is_space && !account.is_guest);
    assert_eq!((account.quota, account.org), (Some(1000), Some(org.id)));
    assert!(store.list_users().await.unwrap().iter().all(|user| !user.is_space));
    assert!(store.user_by_name(&account.name).await.unwrap().is_none());
    let folder = store.node(space.folder).await.unwrap().unwrap();
    assert_eq!((folder.name.as_str(), folder.owner, folder.is_dir), ("Haushalt 2027", space.account, true));

    // Members in bulk; their shares carry the space; share types of a listing ignore them.
    let members: Vec<Share> = [alice.id, bob.id]
        .iter()
        .map(|member| Share {
            space: Some(space.id),
            permissions: 15,
            ..share_of(space.account, space.folder, ShareRecipient::User(*member))
        })
        .collect();
    let stored = store.create_shares(&members).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(store.space_members(space.id).await.unwrap(), stored);
    let received = store.received_shares(bob.id).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].share.space, Some(space.id));
    assert!(store.share_types_by(space.account, &[space.folder]).await.unwrap().is_empty());
    let link = store.create_share(&link_of(space.account, space.folder, "tok")).await.unwrap();
    store.create_share(&link_of(space.account, space.folder, "tok2")).await.unwrap();
    assert_eq!(store.share_types_by(space.account, &[space.folder]).await.unwrap(), vec![(space.folder, 3)]);
    assert_eq!(link.space, None);

    let renamed = Space { display_name: "Haushalt 2028".into(), ..space.clone() };
    store.update_space(&renamed).await.unwrap();
    assert_eq!(store.space(space.id).await.unwrap().unwrap().display_name, "Haushalt 2028");

    // Deleting the account removes the space, its tree and its memberships; members stay.
    store.delete_user(space.account).await.unwrap();
    assert!(store.space(space.id).await.unwrap().is_none());
    assert!(store.node(space.folder).await.unwrap().is_none());
    assert!(store.received_shares(bob.id).await.unwrap().is_empty());
    assert!(store.user(bob.id).await.unwrap().is_some());
}

async fn bulk_users(store: Store) {
    let users: Vec<NewUser> = (0..50).map(|n| new_user(&format!("user{n:02}"))).collect();
    let created = store.create_users(&users, NOW).await.unwrap();
    assert_eq!(created.len(), 50);
    for user in &created {
        assert_eq!(store.root(user.id).await.unwrap().owner, user.id);
        assert!(user.notify_by_email);
    }
    // One taken name fails the whole batch.
    let clash = vec![new_user("fresh"), new_user("user07")];
    assert!(matches!(store.create_users(&clash, NOW).await, Err(MetaError::AlreadyExists(_))));
    assert!(store.user_by_name("fresh").await.unwrap().is_none());
    let mut changed = created[0].clone();
    changed.notify_by_email = false;
    store.update_user(&changed).await.unwrap();
    assert!(!store.user(changed.id).await.unwrap().unwrap().notify_by_email);
}

async fn mail_digests(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let note = |user: UserId, subject: &str, created_at: i64, mail_state: MailState| Notification {
        id: 0,
        user,
        subject: subject.into(),
        message: String::new(),
        object_type: "share".into(),
        object_id: "1".into(),
        created_at,
        mail_state,
    };
    assert!(store.mail_waiting().await.unwrap().is_empty());
    let first = store.add_notification(&note(alice.id, "a1", NOW + 5, MailState::Waiting)).await.unwrap();
    store.add_notification(&note(alice.id, "a2", NOW + 9, MailState::Waiting)).await.unwrap();
    store.add_notification(&note(alice.id, "in-app only", NOW, MailState::NotMailed)).await.unwrap();
    store.add_notification(&note(bob.id, "b1", NOW + 7, MailState::Waiting)).await.unwrap();
    let mut waiting = store.mail_waiting().await.unwrap();
    waiting.sort_by_key(|(user, _)| user.0);
    assert_eq!(waiting, vec![(alice.id, NOW + 5), (bob.id, NOW + 7)], "oldest waiting per account");

    let claimed = store.claim_mail(alice.id).await.unwrap();
    assert_eq!(claimed.iter().map(|n| n.subject.as_str()).collect::<Vec<_>>(), ["a1", "a2"], "oldest first");
    assert!(claimed.iter().all(|n| n.mail_state == MailState::Mailed));
    assert!(store.claim_mail(alice.id).await.unwrap().is_empty(), "claimed once");
    assert_eq!(store.mail_waiting().await.unwrap(), vec![(bob.id, NOW + 7)]);
    // A digest that could not be sent waits again.
    store.set_mail_state(&[first], MailState::Waiting).await.unwrap();
    assert_eq!(store.claim_mail(alice.id).await.unwrap().len(), 1);
    // The in-app list shows all, whatever their e-mail state.
    assert_eq!(store.notifications(alice.id).await.unwrap().len(), 3);
}

async fn comments(store: Store) {
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let (f, _) = store.commit_file(&file(root.id, "f", 1, "f")).await.unwrap();
    let (g, _) = store.commit_file(&file(root.id, "g", 1, "g")).await.unwrap();
    let comment = |node: NodeId, message: &str| Comment {
        id: 0,
        node,
        author: Some(alice.id),
        author_name: "alice".into(),
        message: message.into(),
        created_at: NOW,
        edited_at: None,
    };
    let one = store.add_comment(&comment(f.id, "erster")).await.unwrap();
    let two = store.add_comment(&comment(f.id, "zweiter @bob")).await.unwrap();
    store.add_comment(&comment(g.id, "anderswo")).await.unwrap();
    let on_f = store.comments(f.id).await.unwrap();
    assert_eq!(on_f.iter().map(|c| c.id).collect::<Vec<_>>(), vec![one, two], "oldest first");
    assert_eq!(on_f[1], Comment { id: two, ..comment(f.id, "zweiter @bob") });
    assert_eq!(store.comment_counts(&[f.id, g.id, root.id]).await.unwrap(), vec![(f.id, 2), (g.id, 1)]);

    assert!(store.edit_comment(one, "geändert", NOW + 3).await.unwrap());
    let edited = store.comment(one).await.unwrap().unwrap();
    assert_eq!((edited.message.as_str(), edited.edited_at), ("geändert", Some(NOW + 3)));
    assert!(store.delete_comment(two).await.unwrap());
    assert!(!store.delete_comment(two).await.unwrap());
    assert!(!store.edit_comment(two, "x", NOW).await.unwrap());
    // Comments go with their node.
    store.delete_node(g.id).await.unwrap();
    assert_eq!(store.comment_counts(&[g.id]).await.unwrap(), vec![]);
}

async fn tags(store: Store) {
    let amt = store.create_org(&org("amt")).await.unwrap();
    let alice = user(&store, "alice").await;
    let root = store.root(alice.id).await.unwrap();
    let (f, _) = store.commit_file(&file(root.id, "f", 1, "f")).await.unwrap();
    let (g, _) = store.commit_file(&file(root.id, "g", 1, "g")).await.unwrap();
    let tag = |org: Option<OrgId>, name: &str| Tag {
        id: 0,
        org,
        name: name.into(),
        user_visible: true,
        user_assignable: true,
        created_at: NOW,
    };
    let eilig = store.create_tag(&tag(Some(amt.id), "eilig")).await.unwrap();
    let akte = store.create_tag(&tag(Some(amt.id), "Akte")).await.unwrap();
    let free = store.create_tag(&tag(None, "eilig")).await.unwrap();
    assert_eq!(eilig, Tag { id: eilig.id, ..tag(Some(amt.id), "eilig") });
    assert!(matches!(store.create_tag(&tag(Some(amt.id), "eilig")).await, Err(MetaError::AlreadyExists(_))));
    assert!(matches!(store.create_tag(&tag(None, "eilig")).await, Err(MetaError::AlreadyExists(_))));
    assert_eq!(store.tags(Some(amt.id)).await.unwrap(), vec![akte.clone(), eilig.clone()], "by name, byte-wise");
    assert_eq!(store.tags(None).await.unwrap(), vec![free.clone()]);

    assert!(store.assign_tag(f.id, eilig.id).await.unwrap());
    assert!(!store.assign_tag(f.id, eilig.id).await.unwrap(), "already assigned");
    assert!(store.assign_tag(f.id, akte.id).await.unwrap());
    assert!(store.assign_tag(g.id, eilig.id).await.unwrap());
    assert_eq!(
        store.node_tags(&[f.id, g.id]).await.unwrap(),
        vec![(f.id, akte.clone()), (f.id, eilig.clone()), (g.id, eilig.clone())]
    );
    assert_eq!(store.nodes_with_tag(eilig.id).await.unwrap(), vec![f.id, g.id]);
    assert!(store.unassign_tag(g.id, eilig.id).await.unwrap());
    assert!(!store.unassign_tag(g.id, eilig.id).await.unwrap());
    assert!(store.delete_tag(akte.id).await.unwrap());
    assert_eq!(store.node_tags(&[f.id]).await.unwrap(), vec![(f.id, eilig.clone())], "deleted tags leave the nodes");
    assert_eq!(store.tag(akte.id).await.unwrap(), None);
    store.delete_node(f.id).await.unwrap();
    assert!(store.nodes_with_tag(eilig.id).await.unwrap().is_empty(), "assignments go with the node");
}

// ---------------------------------------------------------------------------------------------
// audit log

fn audit_entry(at: i64, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: "alice".into(),
        ip: "192.0.2.1".into(),
        action: action.into(),
        object: "/docs".into(),
        detail: r#"{"k":1}"#.into(),
    }
}

/// Checks that `entries` form one chain starting after `start` (id and hash).
fn assert_chain(entries: &[AuditEntry], start: (i64, &str)) {
    let (mut id, mut hash) = (start.0, start.1.to_string());
    for entry in entries {
        assert_eq!(entry.id, id + 1, "ids are contiguous");
        assert_eq!(entry.prev_hash, hash, "entry {} chains to its predecessor", entry.id);
        assert_eq!(entry.hash, entry.computed_hash(), "entry {} hashes its fields", entry.id);
        (id, hash) = (entry.id, entry.hash.clone());
    }
}

async fn audit_log(store: Store) {
    assert_eq!(store.audit_anchor().await.unwrap(), None);
    assert!(store.audit_entries(None, 0, 10).await.unwrap().is_empty());
    assert_eq!(store.expire_audit(NOW).await.unwrap(), 0, "nothing to expire");
    let first = store.append_audit(&audit_entry(NOW, "login.success")).await.unwrap();
    assert_eq!((first.id, first.prev_hash.as_str()), (1, AUDIT_GENESIS));
    store.append_audit(&audit_entry(NOW + 1, "share.create")).await.unwrap();
    store.append_audit(&audit_entry(NOW + 2, "link.access")).await.unwrap();
    let all = store.audit_entries(None, 0, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_chain(&all, (0, AUDIT_GENESIS));
    assert_eq!((all[0].actor.as_str(), all[0].ip.as_str(), all[0].object.as_str()), ("alice", "192.0.2.1", "/docs"));
    assert_eq!(all[0].detail, r#"{"k":1}"#);
    assert_eq!(all[0], first);
    // Paging and the time filter.
    assert_eq!(store.audit_entries(None, 1, 1).await.unwrap(), vec![all[1].clone()]);
    assert_eq!(store.audit_entries(Some(NOW + 1), 0, 10).await.unwrap(), all[1..].to_vec());

    // Expiry removes a prefix and leaves the newest removed entry as the anchor.
    assert_eq!(store.expire_audit(NOW + 2).await.unwrap(), 2);
    assert_eq!(store.audit_anchor().await.unwrap(), Some(AuditAnchor { id: 2, hash: all[1].hash.clone() }));
    let left = store.audit_entries(None, 0, 10).await.unwrap();
    assert_eq!(left, all[2..].to_vec());
    // A later entry with an earlier time (another node's clock) does not open a gap.
    store.append_audit(&audit_entry(NOW - 100, "account.create")).await.unwrap();
    assert_eq!(store.expire_audit(NOW + 2).await.unwrap(), 0, "entry 3 is kept, so entry 4 is too");
    assert_eq!(store.expire_audit(i64::MAX).await.unwrap(), 2, "everything");
    let anchor = store.audit_anchor().await.unwrap().expect("anchor");
    assert_eq!(anchor.id, 4);
    // With the table empty the chain goes on from the anchor.
    let next = store.append_audit(&audit_entry(NOW + 3, "login.failure")).await.unwrap();
    assert_eq!((next.id, next.prev_hash.as_str()), (5, anchor.hash.as_str()));
    assert_chain(&store.audit_entries(None, 0, 10).await.unwrap(), (anchor.id, &anchor.hash));
}

async fn concurrent_audit_appends(first: Store, second: Store) {
    let mut tasks = Vec::new();
    for i in 0..WRITERS * 2 {
        let store = pick(&first, &second, i);
        tasks.push(tokio::spawn(async move { store.append_audit(&audit_entry(NOW, &format!("action.{i}"))).await }));
    }
    for task in tasks {
        task.await.unwrap().expect("append");
    }
    let entries = second.audit_entries(None, 0, 1000).await.unwrap();
    assert_eq!(entries.len(), WRITERS * 2, "every append is kept");
    assert_chain(&entries, (0, AUDIT_GENESIS));
}
