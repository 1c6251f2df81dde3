//! Schema upgrade, on both backends: a database created with only migration 1 and filled with
//! raw SQL in that schema (an account with an app password and a lock, its root, a folder, a
//! file with a two-block version and a dead property) is opened by the current code, which
//! applies migrations 2 to the latest; everything reads back intact through `MetaStore`, the
//! columns added later hold sensible defaults, and the store works normally afterwards.
//! Also: `stored_schema_version` reads without migrating, a second open applies nothing.

mod support;

use hafen_meta::*;

const NOW: i64 = 1_700_000_000;
const BLOCK_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const BLOCK_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const FILE_SIZE: i64 = 4_194_304 + 805_707;

/// Rows in the version-1 schema (TRUE/FALSE work on both backends). The ids are those the
/// sequences would have handed out.
const VERSION_1_ROWS: &str = "
INSERT INTO users (id, name, display_name, email, password_hash, quota, is_admin, created_at)
    VALUES (1, 'alice', 'Alice A.', 'alice@example.org', 'argon-hash', 10000000, TRUE, 1700000000);
INSERT INTO app_passwords (id, user_id, label, token_hash, created_at)
    VALUES (1, 1, 'phone', 'token-hash-1', 1700000001);
INSERT INTO nodes (id, owner_id, parent_id, name, is_dir, size, mtime, ctime, etag, version_id)
    VALUES (1, 1, NULL, '', TRUE, 5000011, 1700000100, 1700000000, 'root-etag', NULL);
INSERT INTO nodes (id, owner_id, parent_id, name, is_dir, size, mtime, ctime, etag, version_id)
    VALUES (2, 1, 1, 'docs', TRUE, 5000011, 1700000100, 1700000010, 'docs-etag', NULL);
INSERT INTO nodes (id, owner_id, parent_id, name, is_dir, size, mtime, ctime, etag, version_id)
    VALUES (3, 1, 2, 'report.pdf', FALSE, 5000011, 1700000090, 1700000050, 'file-etag', 1);
INSERT INTO versions (id, node_id, size, content_hash, created_at)
    VALUES (1, 3, 5000011, 'content-hash-1', 1700000100);
INSERT INTO version_blocks (version_id, seq, hash, len)
    VALUES (1, 0, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 4194304);
INSERT INTO version_blocks (version_id, seq, hash, len)
    VALUES (1, 1, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 805707);
INSERT INTO dead_props (node_id, ns, name, value)
    VALUES (3, 'urn:example', 'colour', '<x:colour xmlns:x=\"urn:example\">red</x:colour>');
INSERT INTO locks (token, owner_id, path, depth_infinite, exclusive, owner_xml, timeout_secs, expires_at)
    VALUES ('opaquelocktoken:upgrade-1', 1, '/docs', TRUE, TRUE, '<D:href>alice</D:href>', 600, 4000000000);
";

/// What PostgreSQL's identity sequences would say after the inserts above had used them.
const POSTGRES_SEQUENCES: &str = "
SELECT setval(pg_get_serial_sequence('users', 'id'), 1);
SELECT setval(pg_get_serial_sequence('app_passwords', 'id'), 1);
SELECT setval(pg_get_serial_sequence('nodes', 'id'), 3);
SELECT setval(pg_get_serial_sequence('versions', 'id'), 1);
";

async fn execute_raw(url: &str, sql: &str) {
    if url.starts_with("sqlite://") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect SQLite");
        sqlx::raw_sql(sql).execute(&pool).await.expect("raw SQL");
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("connect PostgreSQL");
        sqlx::raw_sql(sql).execute(&pool).await.expect("raw SQL");
        pool.close().await;
    }
}

async fn upgrade_from_version_1(url: String) {
    let latest = latest_schema_version(&url).unwrap();
    assert!(latest >= 4, "latest schema version {latest}");
    assert_eq!(stored_schema_version(&url).await.unwrap(), 0, "nothing applied yet");
    open_at_version(&url, 1).await.expect("apply migration 1");
    assert_eq!(stored_schema_version(&url).await.unwrap(), 1);
    execute_raw(&url, VERSION_1_ROWS).await;
    if url.starts_with("postgres") {
        execute_raw(&url, POSTGRES_SEQUENCES).await;
    }
    // Reading the version does not migrate.
    assert_eq!(stored_schema_version(&url).await.unwrap(), 1);

    let store = hafen_meta::open(&url).await.expect("open applies migrations 2..latest");
    assert_eq!(store.schema_version().await.unwrap(), latest);
    assert_eq!(stored_schema_version(&url).await.unwrap(), latest);

    // Accounts, with the later columns defaulted.
    let alice = store.user_by_name("alice").await.unwrap().expect("alice survives the upgrade");
    assert_eq!(alice.id, UserId(1));
    assert_eq!(alice.display_name, "Alice A.");
    assert_eq!(alice.email.as_deref(), Some("alice@example.org"));
    assert_eq!(alice.password_hash, "argon-hash");
    assert_eq!(alice.quota, Some(10_000_000));
    assert!(alice.is_admin);
    assert_eq!(alice.created_at, NOW);
    assert_eq!(alice.last_failed_login, None, "added by migration 4");
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(store.user_by_app_password("token-hash-1").await.unwrap().map(|user| user.id), Some(alice.id));
    let passwords = store.list_app_passwords(alice.id).await.unwrap();
    assert_eq!(passwords.len(), 1);
    assert_eq!((passwords[0].id, passwords[0].label.as_str()), (1, "phone"));
    assert_eq!(passwords[0].last_used, None, "added by migration 2");

    // The tree.
    let chain = store.resolve(alice.id, &["docs".to_string(), "report.pdf".to_string()]).await.unwrap();
    assert_eq!(chain.iter().map(|node| node.id.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    let root = &chain[0];
    assert_eq!((root.parent, root.is_dir, root.size, root.etag.as_str()), (None, true, FILE_SIZE, "root-etag"));
    assert_eq!(store.root(alice.id).await.unwrap().id, root.id);
    let file = &chain[2];
    assert!(!file.is_dir);
    assert_eq!(file.parent, Some(NodeId(2)));
    assert_eq!(file.size, FILE_SIZE);
    assert_eq!((file.mtime, file.ctime), (NOW + 90, NOW + 50));
    assert_eq!(file.etag, "file-etag");
    assert_eq!(file.version, Some(VersionId(1)));
    assert_eq!(file.checksum, None, "added by migration 2");
    assert_eq!(store.node_path(file.id).await.unwrap(), "/alice/docs/report.pdf");
    let blocks =
        vec![BlockRef { hash: BLOCK_A.into(), len: 4_194_304 }, BlockRef { hash: BLOCK_B.into(), len: 805_707 }];
    assert_eq!(store.version_blocks(VersionId(1)).await.unwrap(), blocks);
    let content = store.version_content(VersionId(1)).await.unwrap();
    assert_eq!(content.into_iter().map(|(block, inline)| (block, inline.is_none())).collect::<Vec<_>>(), {
        blocks.iter().map(|block| (block.clone(), true)).collect::<Vec<_>>()
    });
    let referenced: Vec<String> = store.referenced_blocks().await.unwrap().into_iter().map(|b| b.hash).collect();
    assert_eq!(referenced.len(), 2);
    assert!(referenced.contains(&BLOCK_A.to_string()) && referenced.contains(&BLOCK_B.to_string()));
    assert_eq!(
        store.dead_props(file.id).await.unwrap(),
        vec![DeadProp {
            ns: "urn:example".into(),
            name: "colour".into(),
            value: "<x:colour xmlns:x=\"urn:example\">red</x:colour>".into(),
        }]
    );
    let locks = store.active_locks(alice.id, NOW).await.unwrap();
    assert_eq!(locks.len(), 1);
    assert_eq!((locks[0].path.as_str(), locks[0].depth_infinite, locks[0].exclusive), ("/docs", true, true));

    // Tables added later are empty and usable; new ids continue after the old ones.
    assert!(store.list_uploads(alice.id).await.unwrap().is_empty());
    assert_eq!(store.login_blocked_until("alice", "127.0.0.1").await.unwrap(), 0);
    let folder = store.create_folder(NodeId(2), "new", NOW + 200).await.unwrap();
    assert!(folder.id.0 > 3, "fresh node id {:?}", folder.id);
    let small = b"small file after the upgrade".to_vec();
    let small_len = small.len() as i64;
    let hash = format!("{:0>64}", "5a11");
    let (node, created) = store
        .commit_file(&FileCommit {
            parent: folder.id,
            name: "small.txt".into(),
            blocks: vec![BlockRef { hash: hash.clone(), len: small.len() as i64 }],
            size: small.len() as i64,
            content_hash: "content-small".into(),
            mtime: NOW + 200,
            now: NOW + 200,
            expect: Expect::Absent,
            quota: alice.quota,
            checksum: Some("SHA1:0123".into()),
            inline_blocks: vec![InlineBlock { hash: hash.clone(), data: small.clone() }],
        })
        .await
        .unwrap();
    assert!(created);
    assert!(node.version.is_some_and(|version| version.0 > 1));
    assert_eq!(store.inline_block(&hash).await.unwrap(), Some(small));
    let root_after = store.root(alice.id).await.unwrap();
    assert_eq!(root_after.size, FILE_SIZE + small_len);
    assert_ne!(root_after.etag, "root-etag");
    let bob = store
        .create_user(
            &NewUser { display_name: "Bob".into(), email: None, password_hash: "h".into(), ..support::new_user("bob") },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(bob.id, UserId(2));
    store.add_app_password(bob.id, "laptop", "token-hash-2", NOW).await.unwrap();

    // Opening again applies nothing and changes nothing.
    drop(store);
    let again = hafen_meta::open(&url).await.expect("reopen");
    assert_eq!(again.schema_version().await.unwrap(), latest);
    assert_eq!(again.count_users().await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_upgrade_from_version_1() {
    support::with_sqlite_url(upgrade_from_version_1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upgrade_from_version_1() {
    support::with_postgres_url(upgrade_from_version_1).await;
}

#[tokio::test]
async fn unsupported_url_is_refused() {
    assert!(matches!(stored_schema_version("mysql://x/y").await, Err(MetaError::InvalidUrl(_))));
    assert!(matches!(latest_schema_version("mysql://x/y"), Err(MetaError::InvalidUrl(_))));
}
