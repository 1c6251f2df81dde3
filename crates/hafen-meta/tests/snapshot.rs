//! Whole-store export and import (`export_snapshot` / `import_snapshot`) between every pair of
//! backends: the imported store exports exactly the same rows (ids, ETags, versions, blocks,
//! inline data, dead properties, locks, upload sessions, and the sharing and tenancy data:
//! organisations, groups, guests, shares and links, mounts, account links, notifications,
//! spaces), reads back through the API, refuses a second import, and hands out fresh ids above
//! the imported ones (node ids also above ids of nodes deleted in the source).

mod support;

use support::share_of;

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

fn org(name: &str) -> Organisation {
    Organisation {
        id: OrgId(0),
        name: name.into(),
        display_name: format!("{name} display"),
        quota: None,
        link_password_required: false,
        link_max_expiry_days: None,
        created_at: NOW,
        version_daily_days: Some(60),
        version_quota_percent: Some(20),
    }
}

fn group(name: &str, org: Option<OrgId>) -> Group {
    Group { id: GroupId(0), name: name.into(), display_name: format!("{name} display"), org, created_at: NOW }
}

/// What `fill_sharing` created, for checks after the copy.
struct Sharing {
    carol: User,
    dave: User,
    guest: User,
    org: Organisation,
    to_dave: Share,
    link: Share,
    space: Space,
    member: Share,
}

/// Fills `store` with one of every sharing and tenancy row: an organisation with a link policy
/// and quota, its admin, a member and a guest the admin invited, an organisation group and a
/// project group (with a group admin), user, group and organisation shares, a public link with
/// password, expiry and downloads counted, a renamed and hidden mount, an account link, a
/// notification, and a project space with a member.
async fn fill_sharing(store: &Store) -> Sharing {
    let org = store
        .create_org(&Organisation {
            quota: Some(1 << 42),
            link_password_required: true,
            link_max_expiry_days: Some(30),
            ..org("ministry")
        })
        .await
        .unwrap();
    let carol = store
        .create_user(&NewUser { org: Some(org.id), org_admin: true, ..support::new_user("carol") }, NOW)
        .await
        .unwrap();
    let dave = store.create_user(&NewUser { org: Some(org.id), ..support::new_user("dave") }, NOW).await.unwrap();
    let guest = store
        .create_user(
            &NewUser { is_guest: true, invited_by: Some(carol.id), email: None, ..support::new_user("guest") },
            NOW,
        )
        .await
        .unwrap();
    // A non-default e-mail preference must travel too.
    store.update_user(&User { notify_by_email: false, language: "en".into(), ..dave.clone() }).await.unwrap();
    let dave = store.user(dave.id).await.unwrap().unwrap();
    let staff = store.create_group(&group("staff", Some(org.id))).await.unwrap();
    let project = store.create_group(&group("project", None)).await.unwrap();
    store.set_group_member(staff.id, carol.id, true).await.unwrap();
    store.set_group_member(staff.id, dave.id, false).await.unwrap();
    store.set_group_member(project.id, dave.id, true).await.unwrap();
    store.set_group_member(project.id, guest.id, false).await.unwrap();

    let root = store.root(carol.id).await.unwrap();
    let reports = store.create_folder(root.id, "reports", NOW).await.unwrap();
    store.commit_file(&commit(reports.id, "q1.txt", Vec::new(), Vec::new())).await.unwrap();
    let to_dave = store
        .create_share(&Share {
            permissions: 31,
            label: "for dave".into(),
            note: "please review".into(),
            ..share_of(carol.id, reports.id, ShareRecipient::User(dave.id))
        })
        .await
        .unwrap();
    store.create_share(&share_of(carol.id, reports.id, ShareRecipient::Group(project.id))).await.unwrap();
    store.create_share(&share_of(carol.id, root.id, ShareRecipient::Org(org.id))).await.unwrap();
    let link = store
        .create_share(&Share {
            token: Some("link-token".into()),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            expires_at: Some(NOW + 86_400),
            download_limit: Some(5),
            hide_download: true,
            ..share_of(carol.id, reports.id, ShareRecipient::Link)
        })
        .await
        .unwrap();
    assert!(store.count_link_download(link.id).await.unwrap());
    assert!(store.count_link_download(link.id).await.unwrap());
    let link = store.share(link.id).await.unwrap().unwrap();
    assert_eq!(link.download_count, 2);
    store.set_share_mount(to_dave.id, dave.id, Some("Berichte"), true).await.unwrap();
    store
        .insert_account_token(
            "invite-token-hash",
            &AccountToken { user: guest.id, purpose: "invite".into(), expires_at: NOW + 3600 },
        )
        .await
        .unwrap();
    store
        .add_notification(&Notification {
            id: 0,
            user: carol.id,
            subject: "Download limit reached".into(),
            message: "The link to reports reached its limit.".into(),
            object_type: "share".into(),
            object_id: link.id.to_string(),
            created_at: NOW,
            mail_state: MailState::Waiting,
        })
        .await
        .unwrap();
    store
        .add_activities(&[Activity {
            id: 0,
            user: carol.id,
            kind: "link_downloaded".into(),
            actor: format!("link:{}", link.id),
            subject: "reports".into(),
            object_id: Some(link.node.0),
            created_at: NOW,
        }])
        .await
        .unwrap();
    store
        .add_comment(&Comment {
            id: 0,
            node: reports.id,
            author: Some(carol.id),
            author_name: "carol".into(),
            message: "Bitte bis Freitag prüfen, @dave".into(),
            created_at: NOW,
            edited_at: Some(NOW + 1),
        })
        .await
        .unwrap();
    let tag = store
        .create_tag(&Tag {
            id: 0,
            org: None,
            name: "Haushalt".into(),
            user_visible: true,
            user_assignable: false,
            created_at: NOW,
        })
        .await
        .unwrap();
    store.assign_tag(reports.id, tag.id).await.unwrap();
    // An audit log whose oldest entry was expired: the copy keeps ids, hashes and the anchor.
    for (at, action) in [(NOW - 10, "login.success"), (NOW, "share.create"), (NOW + 1, "link.access")] {
        let entry = NewAuditEntry {
            at,
            actor: "carol".into(),
            action: action.into(),
            detail: "{}".into(),
            ..Default::default()
        };
        store.append_audit(&entry).await.unwrap();
    }
    assert_eq!(store.expire_audit(NOW).await.unwrap(), 1);
    let space = store
        .create_space(
            &NewSpace {
                name: "budget".into(),
                display_name: "Budget 2027".into(),
                org: None,
                group: Some(project.id),
                quota: Some(1 << 30),
            },
            NOW,
        )
        .await
        .unwrap();
    let member = store
        .create_share(&Share {
            space: Some(space.id),
            permissions: 15,
            ..share_of(space.account, space.folder, ShareRecipient::Group(project.id))
        })
        .await
        .unwrap();
    Sharing { carol, dave, guest, org, to_dave, link, space, member }
}

async fn round_trip(source_url: String, target_url: String) {
    let source = hafen_meta::open(&source_url).await.expect("open source");
    let sharing = fill_sharing(&source).await;
    let gone = fill(&source).await;
    let snapshot = source.export_snapshot().await.unwrap();
    assert_eq!(snapshot.users.len(), 6, "admin, alice, carol, dave, guest and the space's account");
    assert_eq!(snapshot.organisations, vec![sharing.org.clone()]);
    assert_eq!(snapshot.groups.len(), 2);
    assert_eq!(snapshot.group_members.len(), 4);
    assert_eq!(snapshot.shares.len(), 5, "user, group, organisation, link, space member");
    assert!(snapshot.shares.contains(&sharing.link) && snapshot.shares.contains(&sharing.member));
    assert_eq!(snapshot.share_mounts.len(), 1);
    assert_eq!(snapshot.account_tokens.len(), 1);
    assert_eq!(snapshot.notifications.len(), 1);
    assert_eq!(snapshot.spaces, vec![sharing.space.clone()]);
    assert!(snapshot.nodes.len() >= 9, "{} nodes", snapshot.nodes.len());
    assert!(snapshot.versions.len() >= 3, "big.bin, tiny.txt, empty: {:?}", snapshot.versions);
    assert_eq!(snapshot.inline_blocks.len(), 1);
    assert_eq!(snapshot.upload_chunk_blocks.len(), 2);
    assert!(snapshot.node_id_high_water >= gone.0);
    let blob_hashes: Vec<String> = snapshot.blob_blocks().into_iter().map(|block| block.hash).collect();
    assert_eq!(
        blob_hashes.len(),
        4,
        "b1, b2 (the older version of big.bin, kept for restores), c1, c2: {blob_hashes:?}"
    );

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
    // Sharing and tenancy data through the API.
    assert_eq!(target.org_by_name("ministry").await.unwrap().as_ref(), Some(&sharing.org));
    let carol = target.user(sharing.carol.id).await.unwrap().expect("carol");
    assert_eq!((carol.org, carol.org_admin), (Some(sharing.org.id), true));
    let dave = target.user(sharing.dave.id).await.unwrap().expect("dave");
    assert_eq!(dave, sharing.dave);
    assert!(!dave.notify_by_email);
    assert_eq!(dave.language, "en");
    let guest = target.user(sharing.guest.id).await.unwrap().expect("guest");
    assert_eq!((guest.is_guest, guest.invited_by, guest.org), (true, Some(carol.id), None));
    let space_account = target.user(sharing.space.account).await.unwrap().expect("space account");
    assert!(space_account.is_space && !space_account.is_guest);
    let groups: Vec<(String, bool)> =
        target.groups_of(dave.id).await.unwrap().into_iter().map(|(group, admin)| (group.name, admin)).collect();
    assert_eq!(groups.len(), 2);
    assert!(groups.contains(&("project".to_string(), true)) && groups.contains(&("staff".to_string(), false)));
    assert_eq!(target.share_by_token("link-token").await.unwrap().as_ref(), Some(&sharing.link));
    let received = target.received_shares(dave.id).await.unwrap();
    let mount = received.iter().find(|r| r.share.id == sharing.to_dave.id).expect("dave's share");
    assert_eq!((&mount.share, mount.mount_name.as_deref(), mount.hidden), (&sharing.to_dave, Some("Berichte"), true));
    assert!(received.iter().any(|r| r.share.space == Some(sharing.space.id)), "the space through the project group");
    assert_eq!(target.space_by_name("budget").await.unwrap().as_ref(), Some(&sharing.space));
    assert_eq!(target.space_members(sharing.space.id).await.unwrap(), vec![sharing.member.clone()]);
    assert_eq!(target.notifications(carol.id).await.unwrap(), snapshot.notifications);
    assert_eq!(target.activities(carol.id, None, &[], 10).await.unwrap(), snapshot.activities);
    assert_eq!(snapshot.activities.len(), 1, "the activity stream is carried");
    assert_eq!((snapshot.comments.len(), snapshot.tags.len(), snapshot.node_tags.len()), (1, 1, 1));
    let comments = target.comments(snapshot.comments[0].node).await.unwrap();
    assert_eq!(comments, snapshot.comments, "comments are carried");
    assert_eq!(target.nodes_with_tag(snapshot.tags[0].id).await.unwrap(), vec![snapshot.node_tags[0].node]);

    assert_eq!(snapshot.audit_log.len(), 2, "the audit log is carried");
    assert_eq!(target.audit_anchor().await.unwrap().map(|anchor| anchor.id), Some(1));

    // A second import is refused and changes nothing.
    assert!(matches!(target.import_snapshot(&snapshot).await, Err(MetaError::Conflict(_))));
    assert_eq!(target.export_snapshot().await.unwrap(), snapshot);
    let next = target.append_audit(&NewAuditEntry { at: NOW + 2, ..Default::default() }).await.unwrap();
    assert_eq!((next.id, &next.prev_hash), (4, &snapshot.audit_log[1].hash), "the copied chain goes on");

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
    let later_org = target.create_org(&org("later")).await.unwrap();
    assert!(later_org.id.0 > sharing.org.id.0, "{:?} reuses an id", later_org.id);
    let later_group = target.create_group(&group("later", None)).await.unwrap();
    assert!(later_group.id.0 > snapshot.groups.iter().map(|group| group.id.0).max().unwrap());
    let later_share = target
        .create_share(&share_of(carol.id, sharing.to_dave.node, ShareRecipient::Group(later_group.id)))
        .await
        .unwrap();
    assert!(later_share.id > snapshot.shares.iter().map(|share| share.id).max().unwrap());
    let later_note = target
        .add_notification(&Notification { id: 0, created_at: NOW + 1, ..snapshot.notifications[0].clone() })
        .await
        .unwrap();
    assert!(later_note > snapshot.notifications[0].id);
    let later_space = target
        .create_space(
            &NewSpace { name: "later".into(), display_name: "Later".into(), org: None, group: None, quota: None },
            NOW,
        )
        .await
        .unwrap();
    assert!(later_space.id.0 > sharing.space.id.0);
    // The account link still works once, after the copy.
    let token = target.take_account_token("invite-token-hash").await.unwrap().expect("account link");
    assert_eq!((token.user, token.purpose.as_str()), (guest.id, "invite"));
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
