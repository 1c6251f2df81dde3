//! Whole-store export and import (`export_snapshot` / `import_snapshot`) between every pair of
//! backends: the imported store exports exactly the same rows (ids, ETags, versions, blocks,
//! inline data, dead properties, locks, upload sessions), reads back through the API, refuses
//! a second import, and hands out fresh ids above the imported ones (node ids also above ids
//! of nodes deleted in the source).

mod support;

use hafen_meta::*;
use std::sync::Arc;

type Store = Arc<dyn MetaStore>;

const NOW: i64 = 1_700_000_000;

fn hash(tag: &str) -> String {
    format!("{tag:0>64}")
}

fn commit(parent: NodeId, name: &str, blocks: Vec<BlockRef>, inline: Vec<InlineBlock>) -> FileCommit {
    let size = blocks.iter().map(|block| block.len).sum();
    FileCommit {
        parent,
        name: name.into(),
        blocks,
        size,
        content_hash: format!("content-{name}"),
        mtime: NOW - 5,
        now: NOW,
        expect: Expect::Anything,
        quota: None,
        checksum: Some(format!("SHA1:{name}")),
        inline_blocks: inline,
    }
}

/// Fills `store` with one of everything; returns the id of the node deleted last (the source's
/// highest node id).
async fn fill(store: &Store) -> NodeId {
    let new_user = |name: &str, admin: bool| NewUser {
        password_hash: format!("hash-{name}"),
        quota: if admin { None } else { Some(1 << 40) },
        is_admin: admin,
        ..support::new_user(name)
    };
    let admin = store.create_user(&new_user("admin", true), NOW).await.unwrap();
    let alice = store.create_user(&new_user("alice", false), NOW + 1).await.unwrap();
    store.add_app_password(alice.id, "phone", "token-hash-phone", NOW).await.unwrap();
    store.add_app_password(admin.id, "cli", "token-hash-cli", NOW).await.unwrap();
    let root = store.root(alice.id).await.unwrap();
    let docs = store.create_folder(root.id, "docs", NOW).await.unwrap();
    let deep = store.create_folder(docs.id, "a", NOW).await.unwrap();
    let deeper = store.create_folder(deep.id, "b", NOW).await.unwrap();
    let big = vec![BlockRef { hash: hash("b1"), len: 4 << 20 }, BlockRef { hash: hash("b2"), len: 1000 }];
    let (file, _) = store.commit_file(&commit(deeper.id, "big.bin", big.clone(), Vec::new())).await.unwrap();
    // A second version of the same file.
    store.commit_file(&commit(deeper.id, "big.bin", big[..1].to_vec(), Vec::new())).await.unwrap();
    let inline = InlineBlock { hash: hash("1e"), data: b"tiny".to_vec() };
    store
        .commit_file(&commit(docs.id, "tiny.txt", vec![BlockRef { hash: hash("1e"), len: 4 }], vec![inline]))
        .await
        .unwrap();
    store.commit_file(&commit(root.id, "empty", Vec::new(), Vec::new())).await.unwrap();
    // Moving a folder above its new children keeps parents-first order non-trivial: `docs`
    // (small id) ends up below `later` (larger id).
    let later = store.create_folder(root.id, "later", NOW).await.unwrap();
    store.move_node(docs.id, later.id, "docs", None).await.unwrap();
    store
        .patch_dead_props(
            file.id,
            &[PropOp::Set(DeadProp { ns: "urn:x".into(), name: "colour".into(), value: "<x:colour/>".into() })],
        )
        .await
        .unwrap();
    let lock = Lock {
        token: "opaquelocktoken:snapshot".into(),
        owner: alice.id,
        path: "/later".into(),
        depth_infinite: true,
        exclusive: true,
        owner_xml: "<D:href>alice</D:href>".into(),
        timeout_secs: 3600,
        expires_at: 4_000_000_000,
    };
    assert!(store.insert_lock(&lock, &|_| false).await.unwrap());
    let upload = store.create_upload(alice.id, "transfer-1", Some("/files/alice/up.bin"), Some(9), NOW).await.unwrap();
    store.put_upload_chunk(upload.id, "00001", &[BlockRef { hash: hash("c1"), len: 5 }], 5, NOW).await.unwrap();
    store.put_upload_chunk(upload.id, "00002", &[BlockRef { hash: hash("c2"), len: 4 }], 4, NOW).await.unwrap();
    // The highest node id ever used belongs to a deleted node.
    let gone = store.create_folder(root.id, "gone", NOW).await.unwrap();
    store.delete_node(gone.id).await.unwrap();
    gone.id
}

async fn round_trip(source_url: String, target_url: String) {
    let source = hafen_meta::open(&source_url).await.expect("open source");
    let gone = fill(&source).await;
    let snapshot = source.export_snapshot().await.unwrap();
    assert_eq!(snapshot.users.len(), 2);
    assert!(snapshot.nodes.len() >= 9, "{} nodes", snapshot.nodes.len());
    assert!(snapshot.versions.len() >= 3, "big.bin, tiny.txt, empty: {:?}", snapshot.versions);
    assert_eq!(snapshot.inline_blocks.len(), 1);
    assert_eq!(snapshot.upload_chunk_blocks.len(), 2);
    assert!(snapshot.node_id_high_water >= gone.0);
    let blob_hashes: Vec<String> = snapshot.blob_blocks().into_iter().map(|block| block.hash).collect();
    assert_eq!(blob_hashes.len(), 3, "b1 (current version), c1, c2: {blob_hashes:?}");

    let target = hafen_meta::open(&target_url).await.expect("open target");
    target.import_snapshot(&snapshot).await.expect("import into an empty store");
    let copied = target.export_snapshot().await.unwrap();
    assert_eq!(copied, snapshot, "the target holds exactly the source's rows");

    // Through the API.
    let alice = target.user_by_name("alice").await.unwrap().expect("alice");
    assert_eq!(target.user_by_app_password("token-hash-phone").await.unwrap().map(|user| user.id), Some(alice.id));
    let path: Vec<String> = ["later", "docs", "a", "b", "big.bin"].iter().map(|name| name.to_string()).collect();
    let chain = target.resolve(alice.id, &path).await.unwrap();
    assert_eq!(chain.len(), 6);
    let file = &chain[5];
    let source_file = source.resolve(alice.id, &path).await.unwrap().pop().unwrap();
    assert_eq!(file, &source_file);
    assert_eq!(
        target.version_blocks(file.version.unwrap()).await.unwrap(),
        vec![BlockRef { hash: hash("b1"), len: 4 << 20 }]
    );
    assert_eq!(target.dead_props(file.id).await.unwrap().len(), 1);
    assert_eq!(target.active_locks(alice.id, NOW).await.unwrap().len(), 1);
    assert_eq!(target.inline_block(&hash("1e")).await.unwrap(), Some(b"tiny".to_vec()));
    let upload = target.upload(alice.id, "transfer-1").await.unwrap().expect("upload session");
    assert_eq!(target.upload_blocks(upload.id).await.unwrap().len(), 2);

    // A second import is refused and changes nothing.
    assert!(matches!(target.import_snapshot(&snapshot).await, Err(MetaError::Conflict(_))));
    assert_eq!(target.export_snapshot().await.unwrap(), snapshot);

    // New rows get fresh ids: nodes above the deleted one, the others above the imported ones.
    let fresh = target.create_folder(chain[0].id, "fresh", NOW).await.unwrap();
    assert!(fresh.id.0 > snapshot.node_id_high_water, "{:?} reuses an id", fresh.id);
    let (new_file, _) = target
        .commit_file(&commit(fresh.id, "n.bin", vec![BlockRef { hash: hash("f1"), len: 7 }], Vec::new()))
        .await
        .unwrap();
    let max_version = snapshot.versions.iter().map(|row| row.id.0).max().unwrap();
    assert!(new_file.version.unwrap().0 > max_version);
    let bob = target
        .create_user(
            &NewUser { display_name: "Bob".into(), email: None, password_hash: "h".into(), ..support::new_user("bob") },
            NOW,
        )
        .await
        .unwrap();
    assert!(bob.id.0 > alice.id.0);
    target.add_app_password(bob.id, "x", "token-hash-bob", NOW).await.unwrap();
    let ids: Vec<i64> = target.list_app_passwords(bob.id).await.unwrap().iter().map(|p| p.id).collect();
    assert!(ids[0] > snapshot.app_passwords.iter().map(|row| row.id).max().unwrap());
    let second = target.create_upload(alice.id, "transfer-2", None, None, NOW).await.unwrap();
    assert!(second.id > upload.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_sqlite() {
    support::with_sqlite_url(|source| async move {
        support::with_sqlite_url(|target| round_trip(source, target)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres() {
    support::with_postgres_url(|target| async move {
        support::with_sqlite_url(|source| round_trip(source, target)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite() {
    support::with_postgres_url(|source| async move {
        support::with_sqlite_url(|target| round_trip(source, target)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_postgres() {
    support::with_postgres_urls(2, |mut urls| async move {
        let target = urls.pop().unwrap();
        let source = urls.pop().unwrap();
        round_trip(source, target).await;
    })
    .await;
}
