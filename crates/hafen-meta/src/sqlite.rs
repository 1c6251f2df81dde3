//! SQLite implementation of `MetaStore` (the embedded default).
//!
//! The database runs in WAL mode with `synchronous=FULL`, so a committed transaction survives
//! a crash of the process or the machine. Writes go through a single-connection pool and
//! `BEGIN IMMEDIATE`, which serialises writers inside the process without SQLITE_BUSY
//! upgrade deadlocks; other processes (the CLI) wait on the busy timeout.

use crate::*;
use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

/// The schema migrations of this backend up to `up_to`, embedded in the binary and applied
/// in order.
#[derive(Debug)]
struct EmbeddedMigrations {
    up_to: i64,
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/sqlite/0001_initial.sql")),
    (2, "nextcloud", include_str!("../migrations/sqlite/0002_nextcloud.sql")),
    (3, "inline_blocks", include_str!("../migrations/sqlite/0003_inline_blocks.sql")),
    (4, "login_failures", include_str!("../migrations/sqlite/0004_login_failures.sql")),
    (5, "sharing", include_str!("../migrations/sqlite/0005_sharing.sql")),
    (6, "spaces", include_str!("../migrations/sqlite/0006_spaces.sql")),
    (7, "language", include_str!("../migrations/sqlite/0007_language.sql")),
    (8, "activity", include_str!("../migrations/sqlite/0008_activity.sql")),
    (9, "collaboration", include_str!("../migrations/sqlite/0009_collaboration.sql")),
    (10, "audit", include_str!("../migrations/sqlite/0010_audit.sql")),
];

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send>>
    {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .filter(|(version, _, _)| *version <= self.up_to)
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// File commits and activity entries waiting for the next group commit (see `group_commit`).
    pending_commits: std::sync::Mutex<Vec<PendingCommit>>,
    /// Held by the caller that currently runs a group commit.
    committer: tokio::sync::Mutex<()>,
}

/// Work queued for a group commit, with the channel its caller waits on: a file commit, or
/// activity entries (one per changed file, so they ride in the same transaction and fsync
/// instead of taking the single writer once more each).
enum PendingCommit {
    File { commit: FileCommit, reply: tokio::sync::oneshot::Sender<MetaResult<(Node, bool)>> },
    Activities { entries: Vec<Activity>, reply: tokio::sync::oneshot::Sender<MetaResult<()>> },
}

impl PendingCommit {
    /// Answers the caller with a failure of the whole batch.
    fn fail(self, message: &str) {
        match self {
            PendingCommit::File { reply, .. } => {
                let _ = reply.send(Err(MetaError::Commit(message.to_string())));
            }
            PendingCommit::Activities { reply, .. } => {
                let _ = reply.send(Err(MetaError::Commit(message.to_string())));
            }
        }
    }
}

/// The answer a queued piece of work gets once its group commit is durable.
enum PendingAnswer {
    File(tokio::sync::oneshot::Sender<MetaResult<(Node, bool)>>, MetaResult<(Node, bool)>),
    Activities(tokio::sync::oneshot::Sender<MetaResult<()>>),
}

impl PendingAnswer {
    fn send(self) {
        match self {
            PendingAnswer::File(reply, result) => {
                let _ = reply.send(result);
            }
            PendingAnswer::Activities(reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn fail(self, message: &str) {
        match self {
            PendingAnswer::File(reply, _) => {
                let _ = reply.send(Err(MetaError::Commit(message.to_string())));
            }
            PendingAnswer::Activities(reply) => {
                let _ = reply.send(Err(MetaError::Commit(message.to_string())));
            }
        }
    }
}

const AUDIT_COLUMNS: &str = "id, at, actor, ip, action, object, detail, prev_hash, hash";

fn audit_from_row(row: &SqliteRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        ip: row.try_get("ip")?,
        action: row.try_get("action")?,
        object: row.try_get("object")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The id and hash the next audit entry chains to: the last entry's, else the anchor's, else
/// 0 and the genesis value. Read inside the appending transaction.
async fn audit_tail_sqlite(tx: &mut Tx) -> MetaResult<(i64, String)> {
    let last = sqlx::query("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetch_optional(&mut **tx).await?;
    let last = match last {
        Some(row) => Some(row),
        None => sqlx::query("SELECT entry_id AS id, hash FROM audit_anchor").fetch_optional(&mut **tx).await?,
    };
    match last {
        Some(row) => Ok((row.try_get("id")?, row.try_get("hash")?)),
        None => Ok((0, AUDIT_GENESIS.to_string())),
    }
}

const NODE_COLUMNS: &str = "id, owner_id, parent_id, name, is_dir, size, mtime, ctime, etag, version_id, checksum";
/// `NODE_COLUMNS` qualified with a table name (for joins); the result columns keep their names.
fn qualified_node_columns(table: &str) -> String {
    NODE_COLUMNS.split(", ").map(|column| format!("{table}.{column}")).collect::<Vec<_>>().join(", ")
}

const USER_COLUMNS: &str =
    "id, name, display_name, email, password_hash, quota, is_admin, created_at, last_failed_login, org_id, org_admin, kind, invited_by, notify_by_email, language, mail_digest";

fn node_from_row(row: &SqliteRow) -> Result<Node, sqlx::Error> {
    Ok(Node {
        id: NodeId(row.try_get("id")?),
        owner: UserId(row.try_get("owner_id")?),
        parent: row.try_get::<Option<i64>, _>("parent_id")?.map(NodeId),
        name: row.try_get("name")?,
        is_dir: row.try_get::<i64, _>("is_dir")? != 0,
        size: row.try_get("size")?,
        mtime: row.try_get("mtime")?,
        ctime: row.try_get("ctime")?,
        etag: row.try_get("etag")?,
        version: row.try_get::<Option<i64>, _>("version_id")?.map(VersionId),
        checksum: row.try_get("checksum")?,
    })
}

fn user_from_row(row: &SqliteRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        quota: row.try_get("quota")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        created_at: row.try_get("created_at")?,
        last_failed_login: row.try_get("last_failed_login")?,
        org: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        org_admin: row.try_get::<i64, _>("org_admin")? != 0,
        is_guest: row.try_get::<String, _>("kind")? == "guest",
        invited_by: row.try_get::<Option<i64>, _>("invited_by")?.map(UserId),
        is_space: row.try_get::<String, _>("kind")? == "space",
        notify_by_email: row.try_get::<i64, _>("notify_by_email")? != 0,
        language: row.try_get("language")?,
        mail_digest: row.try_get("mail_digest")?,
    })
}

const ORG_COLUMNS: &str = "id, name, display_name, quota, link_password_required, link_max_expiry_days, created_at, version_daily_days, version_quota_percent";

fn org_from_row(row: &SqliteRow) -> Result<Organisation, sqlx::Error> {
    Ok(Organisation {
        id: OrgId(row.try_get("id")?),
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        quota: row.try_get("quota")?,
        link_password_required: row.try_get::<i64, _>("link_password_required")? != 0,
        link_max_expiry_days: row.try_get("link_max_expiry_days")?,
        created_at: row.try_get("created_at")?,
        version_daily_days: row.try_get("version_daily_days")?,
        version_quota_percent: row.try_get("version_quota_percent")?,
    })
}

const GROUP_COLUMNS: &str = "id, name, display_name, org_id, created_at";

fn group_from_row(row: &SqliteRow) -> Result<Group, sqlx::Error> {
    Ok(Group {
        id: GroupId(row.try_get("id")?),
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        org: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        created_at: row.try_get("created_at")?,
    })
}

const SHARE_COLUMNS: &str = "id, sharer_id, node_id, share_type, recipient_user, recipient_group, recipient_org, \
     permissions, token, password_hash, expires_at, download_limit, download_count, label, note, hide_download, created_at, \
     space_id";

fn share_from_row(row: &SqliteRow) -> Result<Share, sqlx::Error> {
    let share_type: i64 = row.try_get("share_type")?;
    let recipient = match share_type {
        0 => ShareRecipient::User(UserId(row.try_get("recipient_user")?)),
        1 => ShareRecipient::Group(GroupId(row.try_get("recipient_group")?)),
        100 => ShareRecipient::Org(OrgId(row.try_get("recipient_org")?)),
        _ => ShareRecipient::Link,
    };
    Ok(Share {
        id: row.try_get("id")?,
        sharer: UserId(row.try_get("sharer_id")?),
        node: NodeId(row.try_get("node_id")?),
        recipient,
        permissions: row.try_get("permissions")?,
        token: row.try_get("token")?,
        password_hash: row.try_get("password_hash")?,
        expires_at: row.try_get("expires_at")?,
        download_limit: row.try_get("download_limit")?,
        download_count: row.try_get("download_count")?,
        label: row.try_get("label")?,
        note: row.try_get("note")?,
        hide_download: row.try_get::<i64, _>("hide_download")? != 0,
        created_at: row.try_get("created_at")?,
        space: row.try_get::<Option<i64>, _>("space_id")?.map(SpaceId),
    })
}

const SPACE_COLUMNS: &str = "id, name, display_name, account_id, folder_id, org_id, group_id, created_at";

fn space_from_row(row: &SqliteRow) -> Result<Space, sqlx::Error> {
    Ok(Space {
        id: SpaceId(row.try_get("id")?),
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        account: UserId(row.try_get("account_id")?),
        folder: NodeId(row.try_get("folder_id")?),
        org: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        group: row.try_get::<Option<i64>, _>("group_id")?.map(GroupId),
        created_at: row.try_get("created_at")?,
    })
}

/// Inserts an account and its root folder inside `tx`.
async fn insert_user(tx: &mut Tx, new_user: &NewUser, now: i64) -> MetaResult<User> {
    let kind = if new_user.is_space {
        "space"
    } else if new_user.is_guest {
        "guest"
    } else {
        "user"
    };
    let inserted = sqlx::query(&format!(
        "INSERT INTO users (name, display_name, email, password_hash, quota, is_admin, created_at, org_id, org_admin, kind, invited_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {USER_COLUMNS}"
    ))
    .bind(&new_user.name)
    .bind(&new_user.display_name)
    .bind(&new_user.email)
    .bind(&new_user.password_hash)
    .bind(new_user.quota)
    .bind(i64::from(new_user.is_admin))
    .bind(now)
    .bind(new_user.org.map(|org| org.0))
    .bind(i64::from(new_user.org_admin))
    .bind(kind)
    .bind(new_user.invited_by.map(|user| user.0))
    .fetch_one(&mut **tx)
    .await;
    let user = match inserted {
        Ok(row) => user_from_row(&row)?,
        Err(error) if is_unique_violation(&error) => return Err(MetaError::AlreadyExists(new_user.name.clone())),
        Err(error) => return Err(error.into()),
    };
    sqlx::query("INSERT INTO nodes (owner_id, parent_id, name, is_dir, size, mtime, ctime, etag) VALUES (?, NULL, '', 1, 0, ?, ?, ?)")
        .bind(user.id.0)
        .bind(now)
        .bind(now)
        .bind(new_etag())
        .execute(&mut **tx)
        .await?;
    Ok(user)
}

/// Inserts a share inside `tx`.
async fn insert_share(tx: &mut Tx, share: &Share) -> MetaResult<Share> {
    let (user, group, org) = recipient_columns(&share.recipient);
    let row = sqlx::query(&format!(
        "INSERT INTO shares (sharer_id, node_id, share_type, recipient_user, recipient_group, recipient_org, permissions, \
         token, password_hash, expires_at, download_limit, label, note, hide_download, created_at, space_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {SHARE_COLUMNS}"
    ))
    .bind(share.sharer.0)
    .bind(share.node.0)
    .bind(share.recipient.share_type())
    .bind(user)
    .bind(group)
    .bind(org)
    .bind(share.permissions)
    .bind(&share.token)
    .bind(&share.password_hash)
    .bind(share.expires_at)
    .bind(share.download_limit)
    .bind(&share.label)
    .bind(&share.note)
    .bind(i64::from(share.hide_download))
    .bind(share.created_at)
    .bind(share.space.map(|space| space.0))
    .fetch_one(&mut **tx)
    .await?;
    Ok(share_from_row(&row)?)
}

/// The recipient columns of a share: (user, group, organisation).
fn recipient_columns(recipient: &ShareRecipient) -> (Option<i64>, Option<i64>, Option<i64>) {
    match recipient {
        ShareRecipient::User(user) => (Some(user.0), None, None),
        ShareRecipient::Group(group) => (None, Some(group.0), None),
        ShareRecipient::Org(org) => (None, None, Some(org.0)),
        ShareRecipient::Link => (None, None, None),
    }
}

fn activity_from_row(row: &SqliteRow) -> Result<Activity, sqlx::Error> {
    Ok(Activity {
        id: row.try_get("id")?,
        user: UserId(row.try_get("user_id")?),
        kind: row.try_get("kind")?,
        actor: row.try_get("actor")?,
        subject: row.try_get("subject")?,
        object_id: row.try_get("object_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn notification_from_row(row: &SqliteRow) -> Result<Notification, sqlx::Error> {
    Ok(Notification {
        id: row.try_get("id")?,
        user: UserId(row.try_get("user_id")?),
        subject: row.try_get("subject")?,
        message: row.try_get("message")?,
        object_type: row.try_get("object_type")?,
        object_id: row.try_get("object_id")?,
        created_at: row.try_get("created_at")?,
        mail_state: MailState::from_code(row.try_get("mail_state")?),
    })
}

const COMMENT_COLUMNS: &str = "id, node_id, author_id, author_name, message, created_at, edited_at";

fn comment_from_row(row: &SqliteRow) -> Result<Comment, sqlx::Error> {
    Ok(Comment {
        id: row.try_get("id")?,
        node: NodeId(row.try_get("node_id")?),
        author: row.try_get::<Option<i64>, _>("author_id")?.map(UserId),
        author_name: row.try_get("author_name")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
        edited_at: row.try_get("edited_at")?,
    })
}

const TAG_COLUMNS: &str = "id, org_id, name, user_visible, user_assignable, created_at";

fn tag_from_row(row: &SqliteRow) -> Result<Tag, sqlx::Error> {
    Ok(Tag {
        id: row.try_get("id")?,
        org: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        name: row.try_get("name")?,
        user_visible: row.try_get::<i64, _>("user_visible")? != 0,
        user_assignable: row.try_get::<i64, _>("user_assignable")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

fn lock_from_row(row: &SqliteRow) -> Result<Lock, sqlx::Error> {
    Ok(Lock {
        token: row.try_get("token")?,
        owner: UserId(row.try_get("owner_id")?),
        path: row.try_get("path")?,
        depth_infinite: row.try_get::<i64, _>("depth_infinite")? != 0,
        exclusive: row.try_get::<i64, _>("exclusive")? != 0,
        owner_xml: row.try_get("owner_xml")?,
        timeout_secs: row.try_get("timeout_secs")?,
        expires_at: row.try_get("expires_at")?,
    })
}

const UPLOAD_COLUMNS: &str = "id, owner_id, name, destination, total_length, created_at, updated_at";

fn upload_from_row(row: &SqliteRow) -> Result<UploadSession, sqlx::Error> {
    Ok(UploadSession {
        id: row.try_get("id")?,
        owner: UserId(row.try_get("owner_id")?),
        name: row.try_get("name")?,
        destination: row.try_get("destination")?,
        total_length: row.try_get("total_length")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn login_flow_from_row(row: &SqliteRow) -> Result<LoginFlow, sqlx::Error> {
    Ok(LoginFlow {
        login_token: row.try_get("login_token")?,
        poll_token_hash: row.try_get("poll_token_hash")?,
        form_token: row.try_get("form_token")?,
        client_name: row.try_get("client_name")?,
        user: row.try_get::<Option<i64>, _>("user_id")?.map(UserId),
        app_password: row.try_get("app_password")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A fresh random ETag value.
fn new_etag() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

type Tx = Transaction<'static, Sqlite>;

/// The highest successfully applied migration, 0 before the first.
async fn schema_version_of(pool: &SqlitePool) -> MetaResult<i64> {
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(pool)
            .await?;
    if tables == 0 {
        return Ok(0);
    }
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await?)
}

impl SqliteStore {
    /// Group commit: concurrent writers of file versions and activity entries share one
    /// transaction and so one fsync of the WAL. Each caller queues its work and then takes the
    /// committer lock; whoever holds it runs everything queued so far (see `run_commit_batch`
    /// for how one refused commit leaves the others alone). Returns once the batch holding
    /// this caller's work is done; the answer arrives on the caller's channel.
    async fn group_commit(&self, work: PendingCommit) -> MetaResult<()> {
        self.pending_commits.lock().map_err(|_| MetaError::Commit("commit queue poisoned".into()))?.push(work);
        let _committer = self.committer.lock().await;
        let batch = std::mem::take(
            &mut *self.pending_commits.lock().map_err(|_| MetaError::Commit("commit queue poisoned".into()))?,
        );
        if !batch.is_empty() {
            // A task of its own, so a cancelled caller never aborts the others' commits.
            let write = self.write.clone();
            let _ = tokio::spawn(run_commit_batch(write, batch)).await;
        }
        Ok(())
    }

    /// The schema version this build migrates to (its last migration).
    pub const LATEST_SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

    fn connect_options(path: &Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
    }

    /// Applies the migrations up to `version` only (schema upgrade tests).
    pub(crate) async fn migrate_to(path: &Path, version: i64) -> MetaResult<()> {
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(Self::connect_options(path)).await?;
        let outcome = Migrator::new(EmbeddedMigrations { up_to: version }).await?.run(&pool).await;
        pool.close().await;
        Ok(outcome?)
    }

    /// The schema version of the file at `path` without migrating (0 when there is no file).
    pub(crate) async fn stored_schema_version(path: &Path) -> MetaResult<i64> {
        if !path.exists() {
            return Ok(0);
        }
        let options = Self::connect_options(path).create_if_missing(false);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        let version = schema_version_of(&pool).await;
        pool.close().await;
        version
    }

    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> MetaResult<SqliteStore> {
        let options = Self::connect_options(path);
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let migrator = Migrator::new(EmbeddedMigrations { up_to: i64::MAX }).await?;
        migrator.run(&write).await?;
        let read = SqlitePoolOptions::new().max_connections(8).connect_with(options.read_only(true)).await?;
        Ok(SqliteStore {
            read,
            write,
            pending_commits: std::sync::Mutex::new(Vec::new()),
            committer: tokio::sync::Mutex::new(()),
        })
    }

    async fn begin(&self) -> MetaResult<Tx> {
        begin_immediate(&self.write).await
    }

    async fn node_tx(tx: &mut Tx, id: NodeId) -> MetaResult<Option<Node>> {
        let row = sqlx::query(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.as_ref().map(node_from_row).transpose()?)
    }

    async fn folder_tx(tx: &mut Tx, id: NodeId) -> MetaResult<Node> {
        match Self::node_tx(tx, id).await? {
            Some(node) if node.is_dir => Ok(node),
            Some(_) => Err(MetaError::Conflict("parent is not a folder".into())),
            None => Err(MetaError::NotFound("parent folder".into())),
        }
    }

    /// Adds `size_delta` to `start` and every ancestor of it and gives each a new ETag.
    async fn touch_ancestors(tx: &mut Tx, start: NodeId, size_delta: i64) -> MetaResult<()> {
        sqlx::query(
            "WITH RECURSIVE chain(id) AS (SELECT ? UNION ALL \
               SELECT n.parent_id FROM nodes n JOIN chain ON n.id = chain.id WHERE n.parent_id IS NOT NULL) \
             UPDATE nodes SET size = size + ?, etag = lower(hex(randomblob(8))) WHERE id IN (SELECT id FROM chain)",
        )
        .bind(start.0)
        .bind(size_delta)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn used_bytes(tx: &mut Tx, owner: UserId) -> MetaResult<i64> {
        let used: i64 = sqlx::query_scalar("SELECT size FROM nodes WHERE owner_id = ? AND parent_id IS NULL")
            .bind(owner.0)
            .fetch_one(&mut **tx)
            .await?;
        Ok(used)
    }

    async fn check_quota(tx: &mut Tx, owner: UserId, quota: Option<i64>, growth: i64) -> MetaResult<()> {
        if let Some(quota) = quota {
            if growth > 0 && Self::used_bytes(tx, owner).await? + growth > quota {
                return Err(MetaError::QuotaExceeded);
            }
        }
        Ok(())
    }

    async fn insert_version(
        tx: &mut Tx,
        node: NodeId,
        size: i64,
        hash: &str,
        blocks: &[BlockRef],
        now: i64,
    ) -> MetaResult<VersionId> {
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO versions (node_id, size, content_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(node.0)
        .bind(size)
        .bind(hash)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        for (seq, block) in blocks.iter().enumerate() {
            sqlx::query("INSERT INTO version_blocks (version_id, seq, hash, len) VALUES (?, ?, ?, ?)")
                .bind(version)
                .bind(seq as i64)
                .bind(&block.hash)
                .bind(block.len)
                .execute(&mut **tx)
                .await?;
        }
        Ok(VersionId(version))
    }

    /// Deletes a node's subtree and removes its size from the ancestors.
    async fn delete_tx(tx: &mut Tx, node: &Node) -> MetaResult<()> {
        sqlx::query("DELETE FROM nodes WHERE id = ?").bind(node.id.0).execute(&mut **tx).await?;
        if let Some(parent) = node.parent {
            Self::touch_ancestors(tx, parent, -node.size).await?;
        }
        Ok(())
    }

    /// Copies one node row (with its current version and dead properties) under `parent`.
    async fn copy_one(
        tx: &mut Tx,
        source: &Node,
        size: i64,
        parent: NodeId,
        name: &str,
        now: i64,
    ) -> MetaResult<NodeId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO nodes (owner_id, parent_id, name, is_dir, size, mtime, ctime, etag, checksum) \
             SELECT (SELECT owner_id FROM nodes WHERE id = ?1), ?1, ?2, is_dir, ?3, mtime, ?4, ?5, checksum FROM nodes WHERE id = ?6 RETURNING id",
        )
        .bind(parent.0)
        .bind(name)
        .bind(size)
        .bind(now)
        .bind(new_etag())
        .bind(source.id.0)
        .fetch_one(&mut **tx)
        .await?;
        if let Some(version) = source.version {
            let new_version: i64 = sqlx::query_scalar(
                "INSERT INTO versions (node_id, size, content_hash, created_at) \
                 SELECT ?, size, content_hash, ? FROM versions WHERE id = ? RETURNING id",
            )
            .bind(id)
            .bind(now)
            .bind(version.0)
            .fetch_one(&mut **tx)
            .await?;
            sqlx::query(
                "INSERT INTO version_blocks (version_id, seq, hash, len) SELECT ?, seq, hash, len FROM version_blocks WHERE version_id = ?",
            )
            .bind(new_version)
            .bind(version.0)
            .execute(&mut **tx)
            .await?;
            sqlx::query("UPDATE nodes SET version_id = ? WHERE id = ?")
                .bind(new_version)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("INSERT INTO dead_props (node_id, ns, name, value) SELECT ?, ns, name, value FROM dead_props WHERE node_id = ?")
            .bind(id)
            .bind(source.id.0)
            .execute(&mut **tx)
            .await?;
        Ok(NodeId(id))
    }

    async fn children_tx(tx: &mut Tx, parent: NodeId) -> MetaResult<Vec<Node>> {
        let rows = sqlx::query(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE parent_id = ? ORDER BY name"))
            .bind(parent.0)
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows.iter().map(node_from_row).collect::<Result<_, _>>()?)
    }

    /// Makes a file version visible inside an open transaction (see `MetaStore::commit_file`).
    /// Every check that can refuse the commit comes before the first write (the group commit
    /// relies on it: a refused commit leaves the shared transaction untouched).
    async fn commit_tx(tx: &mut Tx, commit: &FileCommit) -> MetaResult<(Node, bool)> {
        // The parent folder and the existing file, in one query.
        let rows =
            sqlx::query(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE id = ?1 OR (parent_id = ?1 AND name = ?2)"))
                .bind(commit.parent.0)
                .bind(&commit.name)
                .fetch_all(&mut **tx)
                .await?;
        let mut parent = None;
        let mut existing = None;
        for row in &rows {
            let node = node_from_row(row)?;
            if node.id == commit.parent {
                parent = Some(node);
            } else {
                existing = Some(node);
            }
        }
        let parent = match parent {
            Some(node) if node.is_dir => node,
            Some(_) => return Err(MetaError::Conflict("parent is not a folder".into())),
            None => return Err(MetaError::NotFound("parent folder".into())),
        };
        if let Some(node) = &existing {
            if node.is_dir {
                return Err(MetaError::Conflict("a folder of that name exists".into()));
            }
        }
        if !commit.expect.holds_for(existing.as_ref()) {
            return Err(MetaError::PreconditionFailed);
        }
        let old_size = existing.as_ref().map_or(0, |node| node.size);
        let growth = commit.size - old_size;
        Self::check_quota(tx, parent.owner, commit.quota, growth).await?;
        let (node_id, created) = match &existing {
            Some(node) => (node.id, false),
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO nodes (owner_id, parent_id, name, is_dir, size, mtime, ctime, etag) VALUES (?, ?, ?, 0, 0, ?, ?, '') RETURNING id",
                )
                .bind(parent.owner.0)
                .bind(commit.parent.0)
                .bind(&commit.name)
                .bind(commit.mtime)
                .bind(commit.now)
                .fetch_one(&mut **tx)
                .await?;
                (NodeId(id), true)
            }
        };
        for block in &commit.inline_blocks {
            sqlx::query("INSERT OR IGNORE INTO inline_blocks (hash, data) VALUES (?, ?)")
                .bind(&block.hash)
                .bind(&block.data)
                .execute(&mut **tx)
                .await?;
        }
        let version =
            Self::insert_version(tx, node_id, commit.size, &commit.content_hash, &commit.blocks, commit.now).await?;
        let row = sqlx::query(&format!(
            "UPDATE nodes SET size = ?, mtime = ?, etag = ?, version_id = ?, checksum = ? WHERE id = ? RETURNING {NODE_COLUMNS}"
        ))
        .bind(commit.size)
        .bind(commit.mtime)
        .bind(new_etag())
        .bind(version.0)
        .bind(&commit.checksum)
        .bind(node_id.0)
        .fetch_one(&mut **tx)
        .await?;
        let node = node_from_row(&row)?;
        // The replaced version stays: `file_versions` lists it until retention (the core) or
        // the file's deletion removes it.
        Self::touch_ancestors(tx, commit.parent, growth).await?;
        Ok((node, created))
    }

    /// Fails when `candidate` is `ancestor` or lies below it.
    async fn ensure_not_inside(tx: &mut Tx, candidate: NodeId, ancestor: NodeId) -> MetaResult<()> {
        let inside: i64 = sqlx::query_scalar(
            "WITH RECURSIVE chain(id) AS (SELECT ? UNION ALL \
               SELECT n.parent_id FROM nodes n JOIN chain ON n.id = chain.id WHERE n.parent_id IS NOT NULL) \
             SELECT COUNT(*) FROM chain WHERE id = ?",
        )
        .bind(candidate.0)
        .bind(ancestor.0)
        .fetch_one(&mut **tx)
        .await?;
        if inside > 0 {
            return Err(MetaError::Conflict("cannot move or copy a folder into itself".into()));
        }
        Ok(())
    }
}

/// Starts a write transaction (`BEGIN IMMEDIATE`) on the single write connection in a task of
/// its own, so it cannot be cancelled halfway.
///
/// sqlx 0.8's SQLite `begin_with` runs the BEGIN and then awaits the connection's handle lock
/// before it hands out the `Transaction` guard. A request future dropped at that await (a
/// client that disconnects) left the connection inside a transaction with no guard to roll it
/// back; it went back to the pool like that, and as the pool has one write connection every
/// later write failed with "attempted to call begin_with at non-zero transaction depth". A
/// spawned task always runs to the point where the guard exists; if its result is then
/// dropped, the guard rolls the transaction back.
async fn begin_immediate(write: &SqlitePool) -> MetaResult<Tx> {
    let write = write.clone();
    match tokio::spawn(async move { write.begin_with("BEGIN IMMEDIATE").await }).await {
        Ok(begun) => Ok(begun?),
        Err(error) => Err(MetaError::Commit(format!("starting a transaction failed: {error}"))),
    }
}

/// Runs queued file commits in one transaction and answers each caller.
async fn run_commit_batch(write: SqlitePool, batch: Vec<PendingCommit>) {
    let mut tx = match begin_immediate(&write).await {
        Ok(tx) => tx,
        Err(error) => {
            let message = error.to_string();
            for pending in batch {
                pending.fail(&message);
            }
            return;
        }
    };
    // No savepoints: `commit_tx` makes all its checks (parent, precondition, quota) before its
    // first write, so a refused commit has written nothing and the batch goes on. Any other
    // error may leave a commit half-written: then the whole batch is rolled back and fails.
    let mut answers: Vec<PendingAnswer> = Vec::with_capacity(batch.len());
    let mut pending_work = batch.into_iter();
    while let Some(pending) = pending_work.next() {
        let failure = match pending {
            PendingCommit::File { commit, reply } => match SqliteStore::commit_tx(&mut tx, &commit).await {
                Err(
                    error @ (MetaError::Backend(_)
                    | MetaError::Migrate(_)
                    | MetaError::Commit(_)
                    | MetaError::InvalidUrl(_)),
                ) => {
                    let message = error.to_string();
                    let _ = reply.send(Err(error));
                    Some(message)
                }
                result => {
                    answers.push(PendingAnswer::File(reply, result));
                    None
                }
            },
            PendingCommit::Activities { entries, reply } => match insert_activities(&mut tx, &entries).await {
                Ok(()) => {
                    answers.push(PendingAnswer::Activities(reply));
                    None
                }
                Err(error) => {
                    let message = error.to_string();
                    let _ = reply.send(Err(error.into()));
                    Some(message)
                }
            },
        };
        if let Some(message) = failure {
            drop(tx);
            for answer in answers {
                answer.fail(&message);
            }
            for rest in pending_work {
                rest.fail(&message);
            }
            return;
        }
    }
    match tx.commit().await {
        Ok(()) => answers.into_iter().for_each(PendingAnswer::send),
        Err(error) => {
            let message = error.to_string();
            for answer in answers {
                answer.fail(&message);
            }
        }
    }
}

async fn insert_activities(tx: &mut sqlx::SqliteConnection, activities: &[Activity]) -> Result<(), sqlx::Error> {
    for activity in activities {
        sqlx::query(
            "INSERT INTO activities (user_id, kind, actor, subject, object_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(activity.user.0)
        .bind(&activity.kind)
        .bind(&activity.actor)
        .bind(&activity.subject)
        .bind(activity.object_id)
        .bind(activity.created_at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl MetaStore for SqliteStore {
    async fn count_users(&self) -> MetaResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.read).await?)
    }

    async fn create_user(&self, new_user: &NewUser, now: i64) -> MetaResult<User> {
        let mut tx = self.begin().await?;
        let user = insert_user(&mut tx, new_user, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn create_users(&self, users: &[NewUser], now: i64) -> MetaResult<Vec<User>> {
        let mut tx = self.begin().await?;
        let mut created = Vec::with_capacity(users.len());
        for new_user in users {
            created.push(insert_user(&mut tx, new_user, now).await?);
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn user_by_name(&self, name: &str) -> MetaResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ? AND kind <> 'space'"))
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn hidden_account(&self, name: &str) -> MetaResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ? AND kind = 'space'"))
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn list_users(&self) -> MetaResult<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE kind <> 'space' ORDER BY name"))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    async fn set_password_hash(&self, user: UserId, password_hash: &str) -> MetaResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user.0)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(MetaError::NotFound("user".into()));
        }
        Ok(())
    }

    async fn delete_user(&self, user: UserId) -> MetaResult<()> {
        let mut tx = self.begin().await?;
        // Children first would be implied by the cascade; deleting the root cascades the tree.
        sqlx::query("DELETE FROM nodes WHERE owner_id = ? AND parent_id IS NULL")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = ?").bind(user.0).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_app_password(&self, user: UserId, label: &str, token_hash: &str, now: i64) -> MetaResult<()> {
        sqlx::query("INSERT INTO app_passwords (user_id, label, token_hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(user.0)
            .bind(label)
            .bind(token_hash)
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn user_by_app_password(&self, token_hash: &str) -> MetaResult<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM users u JOIN app_passwords a ON a.user_id = u.id WHERE a.token_hash = ?",
            USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn root(&self, owner: UserId) -> MetaResult<Node> {
        let row = sqlx::query(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE owner_id = ? AND parent_id IS NULL"))
            .bind(owner.0)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(row) => Ok(node_from_row(&row)?),
            None => Err(MetaError::NotFound("root folder".into())),
        }
    }

    async fn node(&self, id: NodeId) -> MetaResult<Option<Node>> {
        let row = sqlx::query(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(node_from_row).transpose()?)
    }

    async fn resolve(&self, owner: UserId, names: &[String]) -> MetaResult<Vec<Node>> {
        // One query for the whole path: a recursive walk that takes the next name from the
        // JSON array at each depth and stops where a name is missing. The name is a scalar
        // (json_extract), so each step is one lookup in the (parent_id, name) index; a
        // json_each join made SQLite scan the parent's children instead.
        let names_json = serde_json::to_string(names).map_err(|error| MetaError::Commit(error.to_string()))?;
        let rows = sqlx::query(&format!(
            "WITH RECURSIVE walk(depth, id) AS ( \
               SELECT 0, id FROM nodes WHERE owner_id = ?1 AND parent_id IS NULL \
               UNION ALL \
               SELECT walk.depth + 1, n.id FROM walk \
                 JOIN nodes n ON n.parent_id = walk.id AND n.name = json_extract(?2, '$[' || walk.depth || ']')) \
             SELECT {} FROM walk JOIN nodes ON nodes.id = walk.id ORDER BY walk.depth",
            qualified_node_columns("nodes")
        ))
        .bind(owner.0)
        .bind(names_json)
        .fetch_all(&self.read)
        .await?;
        if rows.is_empty() {
            return Err(MetaError::NotFound("root folder".into()));
        }
        Ok(rows.iter().map(node_from_row).collect::<Result<_, _>>()?)
    }

    async fn children(&self, parent: NodeId) -> MetaResult<Vec<Node>> {
        // The whole listing comes back as one JSON row: sqlx's SQLite driver hands every row
        // from its worker thread through a channel, which dominated the profile of large
        // listings (10,000 entries: ~10,000 hand-offs instead of one).
        let listing: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(id, owner_id, parent_id, name, is_dir, size, mtime, ctime, etag, \
             version_id, checksum) ORDER BY name) FROM nodes WHERE parent_id = ?",
        )
        .bind(parent.0)
        .fetch_one(&self.read)
        .await?;
        type Row = (i64, i64, Option<i64>, String, i64, i64, i64, i64, String, Option<i64>, Option<String>);
        let rows: Vec<Row> =
            serde_json::from_str(&listing).map_err(|error| MetaError::Commit(format!("folder listing: {error}")))?;
        Ok(rows
            .into_iter()
            .map(|(id, owner, parent, name, is_dir, size, mtime, ctime, etag, version, checksum)| Node {
                id: NodeId(id),
                owner: UserId(owner),
                parent: parent.map(NodeId),
                name,
                is_dir: is_dir != 0,
                size,
                mtime,
                ctime,
                etag,
                version: version.map(VersionId),
                checksum,
            })
            .collect())
    }

    async fn node_path(&self, id: NodeId) -> MetaResult<String> {
        let rows = sqlx::query(
            "WITH RECURSIVE chain(id, parent_id, name, owner_id, depth) AS ( \
               SELECT id, parent_id, name, owner_id, 0 FROM nodes WHERE id = ? UNION ALL \
               SELECT n.id, n.parent_id, n.name, n.owner_id, chain.depth + 1 FROM nodes n JOIN chain ON n.id = chain.parent_id) \
             SELECT chain.name AS name, chain.parent_id AS parent_id, u.name AS owner FROM chain JOIN users u ON u.id = chain.owner_id ORDER BY depth DESC",
        )
        .bind(id.0)
        .fetch_all(&self.read)
        .await?;
        let mut path = String::new();
        for row in &rows {
            if row.try_get::<Option<i64>, _>("parent_id")?.is_none() {
                path.push('/');
                path.push_str(&row.try_get::<String, _>("owner")?);
            } else {
                path.push('/');
                path.push_str(&row.try_get::<String, _>("name")?);
            }
        }
        Ok(path)
    }

    async fn create_folder(&self, parent: NodeId, name: &str, now: i64) -> MetaResult<Node> {
        let mut tx = self.begin().await?;
        let parent_node = Self::folder_tx(&mut tx, parent).await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO nodes (owner_id, parent_id, name, is_dir, size, mtime, ctime, etag) VALUES (?, ?, ?, 1, 0, ?, ?, ?) RETURNING {NODE_COLUMNS}"
        ))
        .bind(parent_node.owner.0)
        .bind(parent.0)
        .bind(name)
        .bind(now)
        .bind(now)
        .bind(new_etag())
        .fetch_one(&mut *tx)
        .await;
        let node = match inserted {
            Ok(row) => node_from_row(&row)?,
            Err(error) if is_unique_violation(&error) => return Err(MetaError::AlreadyExists(name.to_string())),
            Err(error) => return Err(error.into()),
        };
        Self::touch_ancestors(&mut tx, parent, 0).await?;
        tx.commit().await?;
        Ok(node)
    }

    /// Joins the group commit (`group_commit`).
    async fn commit_file(&self, commit: &FileCommit) -> MetaResult<(Node, bool)> {
        let (reply, result) = tokio::sync::oneshot::channel();
        self.group_commit(PendingCommit::File { commit: commit.clone(), reply }).await?;
        result.await.map_err(|_| MetaError::Commit("the group commit was interrupted".into()))?
    }

    async fn delete_node(&self, id: NodeId) -> MetaResult<()> {
        let mut tx = self.begin().await?;
        let node = Self::node_tx(&mut tx, id).await?.ok_or_else(|| MetaError::NotFound("node".into()))?;
        if node.parent.is_none() {
            return Err(MetaError::Conflict("the root folder cannot be deleted".into()));
        }
        Self::delete_tx(&mut tx, &node).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn move_node(
        &self,
        id: NodeId,
        new_parent: NodeId,
        new_name: &str,
        replace: Option<NodeId>,
    ) -> MetaResult<Node> {
        let mut tx = self.begin().await?;
        let node = Self::node_tx(&mut tx, id).await?.ok_or_else(|| MetaError::NotFound("source".into()))?;
        let old_parent = node.parent.ok_or_else(|| MetaError::Conflict("the root folder cannot be moved".into()))?;
        Self::folder_tx(&mut tx, new_parent).await?;
        if node.is_dir {
            Self::ensure_not_inside(&mut tx, new_parent, id).await?;
        }
        if let Some(target) = replace {
            let target =
                Self::node_tx(&mut tx, target).await?.ok_or_else(|| MetaError::NotFound("destination".into()))?;
            Self::delete_tx(&mut tx, &target).await?;
        }
        let updated =
            sqlx::query(&format!("UPDATE nodes SET parent_id = ?, name = ? WHERE id = ? RETURNING {NODE_COLUMNS}"))
                .bind(new_parent.0)
                .bind(new_name)
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await;
        let moved = match updated {
            Ok(row) => node_from_row(&row)?,
            Err(error) if is_unique_violation(&error) => return Err(MetaError::AlreadyExists(new_name.to_string())),
            Err(error) => return Err(error.into()),
        };
        Self::touch_ancestors(&mut tx, old_parent, -node.size).await?;
        Self::touch_ancestors(&mut tx, new_parent, node.size).await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn copy_node(&self, request: &CopyRequest) -> MetaResult<Node> {
        let mut tx = self.begin().await?;
        let source =
            Self::node_tx(&mut tx, request.source).await?.ok_or_else(|| MetaError::NotFound("source".into()))?;
        let parent = Self::folder_tx(&mut tx, request.new_parent).await?;
        if source.is_dir && request.recursive {
            Self::ensure_not_inside(&mut tx, request.new_parent, request.source).await?;
        }
        let copied_size = if source.is_dir && !request.recursive { 0 } else { source.size };
        if let Some(target) = request.replace {
            // Deleting first releases the target's space inside this same transaction.
            let target =
                Self::node_tx(&mut tx, target).await?.ok_or_else(|| MetaError::NotFound("destination".into()))?;
            Self::delete_tx(&mut tx, &target).await?;
        }
        Self::check_quota(&mut tx, parent.owner, request.quota, copied_size).await?;
        let root_copy =
            match Self::copy_one(&mut tx, &source, copied_size, request.new_parent, &request.new_name, request.now)
                .await
            {
                Ok(id) => id,
                Err(MetaError::Backend(error)) if is_unique_violation(&error) => {
                    return Err(MetaError::AlreadyExists(request.new_name.clone()))
                }
                Err(error) => return Err(error),
            };
        if source.is_dir && request.recursive {
            // Depth-first over the source subtree; each pair maps a source folder to its copy.
            let mut pending = vec![(source.id, root_copy)];
            while let Some((from, to)) = pending.pop() {
                for child in Self::children_tx(&mut tx, from).await? {
                    let copy = Self::copy_one(&mut tx, &child, child.size, to, &child.name, request.now).await?;
                    if child.is_dir {
                        pending.push((child.id, copy));
                    }
                }
            }
        }
        Self::touch_ancestors(&mut tx, request.new_parent, copied_size).await?;
        let node = Self::node_tx(&mut tx, root_copy).await?.ok_or_else(|| MetaError::NotFound("copy".into()))?;
        tx.commit().await?;
        Ok(node)
    }

    async fn set_mtime(&self, id: NodeId, mtime: i64) -> MetaResult<Node> {
        let row = sqlx::query(&format!("UPDATE nodes SET mtime = ? WHERE id = ? RETURNING {NODE_COLUMNS}"))
            .bind(mtime)
            .bind(id.0)
            .fetch_optional(&self.write)
            .await?;
        match row {
            Some(row) => Ok(node_from_row(&row)?),
            None => Err(MetaError::NotFound("node".into())),
        }
    }

    async fn version_content(&self, version: VersionId) -> MetaResult<Vec<(BlockRef, Option<Vec<u8>>)>> {
        let rows = sqlx::query(
            "SELECT b.hash AS hash, b.len AS len, i.data AS data FROM version_blocks b \
             LEFT JOIN inline_blocks i ON i.hash = b.hash WHERE b.version_id = ? ORDER BY b.seq",
        )
        .bind(version.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok((BlockRef { hash: row.try_get("hash")?, len: row.try_get("len")? }, row.try_get("data")?)))
            .collect()
    }

    async fn version_blocks(&self, version: VersionId) -> MetaResult<Vec<BlockRef>> {
        let rows = sqlx::query("SELECT hash, len FROM version_blocks WHERE version_id = ? ORDER BY seq")
            .bind(version.0)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| Ok(BlockRef { hash: row.try_get("hash")?, len: row.try_get("len")? })).collect()
    }

    async fn file_versions(&self, node: NodeId) -> MetaResult<Vec<FileVersion>> {
        let rows = sqlx::query(
            "SELECT id, node_id, size, content_hash, created_at FROM versions WHERE node_id = ? \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(node.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FileVersion {
                    id: VersionId(row.try_get("id")?),
                    node: NodeId(row.try_get("node_id")?),
                    size: row.try_get("size")?,
                    content_hash: row.try_get("content_hash")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn delete_versions(&self, node: NodeId, versions: &[VersionId]) -> MetaResult<u64> {
        let mut deleted = 0;
        let mut tx = self.begin().await?;
        for version in versions {
            let done = sqlx::query(
                "DELETE FROM versions WHERE node_id = ? AND id = ? \
                 AND id <> COALESCE((SELECT version_id FROM nodes WHERE id = ?), -1)",
            )
            .bind(node.0)
            .bind(version.0)
            .bind(node.0)
            .execute(&mut *tx)
            .await?;
            deleted += done.rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn nodes_with_dead_prop(&self, ns: &str, name: &str) -> MetaResult<Vec<NodeId>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT node_id FROM dead_props WHERE ns = ? AND name = ? ORDER BY node_id")
                .bind(ns)
                .bind(name)
                .fetch_all(&self.read)
                .await?;
        Ok(ids.into_iter().map(NodeId).collect())
    }

    async fn dead_props(&self, node: NodeId) -> MetaResult<Vec<DeadProp>> {
        let rows = sqlx::query("SELECT ns, name, value FROM dead_props WHERE node_id = ? ORDER BY ns, name")
            .bind(node.0)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadProp { ns: row.try_get("ns")?, name: row.try_get("name")?, value: row.try_get("value")? })
            })
            .collect()
    }

    async fn dead_props_of(&self, nodes: &[NodeId]) -> MetaResult<Vec<(NodeId, DeadProp)>> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&nodes.iter().map(|node| node.0).collect::<Vec<_>>())
            .map_err(|error| MetaError::Commit(error.to_string()))?;
        // One JSON row instead of a row per property (see `children`).
        let found: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(node_id, ns, name, value) ORDER BY node_id, ns, name) \
             FROM dead_props WHERE node_id IN (SELECT value FROM json_each(?))",
        )
        .bind(ids)
        .fetch_one(&self.read)
        .await?;
        let rows: Vec<(i64, String, String, String)> =
            serde_json::from_str(&found).map_err(|error| MetaError::Commit(format!("dead properties: {error}")))?;
        Ok(rows.into_iter().map(|(node, ns, name, value)| (NodeId(node), DeadProp { ns, name, value })).collect())
    }

    async fn patch_dead_props(&self, node: NodeId, ops: &[PropOp]) -> MetaResult<()> {
        let mut tx = self.begin().await?;
        for op in ops {
            match op {
                PropOp::Set(prop) => {
                    sqlx::query("INSERT OR REPLACE INTO dead_props (node_id, ns, name, value) VALUES (?, ?, ?, ?)")
                        .bind(node.0)
                        .bind(&prop.ns)
                        .bind(&prop.name)
                        .bind(&prop.value)
                        .execute(&mut *tx)
                        .await?;
                }
                PropOp::Remove { ns, name } => {
                    sqlx::query("DELETE FROM dead_props WHERE node_id = ? AND ns = ? AND name = ?")
                        .bind(node.0)
                        .bind(ns)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        Self::touch_ancestors(&mut tx, node, 0).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn active_locks(&self, owner: UserId, now: i64) -> MetaResult<Vec<Lock>> {
        let rows = sqlx::query("SELECT * FROM locks WHERE owner_id = ? AND expires_at > ?")
            .bind(owner.0)
            .bind(now)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| Ok(lock_from_row(row)?)).collect()
    }

    async fn insert_lock(
        &self,
        lock: &Lock,
        conflicts: &(dyn for<'l> Fn(&'l [Lock]) -> bool + Send + Sync),
    ) -> MetaResult<bool> {
        let mut tx = self.begin().await?;
        let now = lock.expires_at - lock.timeout_secs;
        sqlx::query("DELETE FROM locks WHERE expires_at <= ?").bind(now).execute(&mut *tx).await?;
        let rows = sqlx::query("SELECT * FROM locks WHERE owner_id = ?").bind(lock.owner.0).fetch_all(&mut *tx).await?;
        let active = rows.iter().map(lock_from_row).collect::<Result<Vec<_>, _>>()?;
        if conflicts(&active) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO locks (token, owner_id, path, depth_infinite, exclusive, owner_xml, timeout_secs, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&lock.token)
        .bind(lock.owner.0)
        .bind(&lock.path)
        .bind(i64::from(lock.depth_infinite))
        .bind(i64::from(lock.exclusive))
        .bind(&lock.owner_xml)
        .bind(lock.timeout_secs)
        .bind(lock.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn refresh_lock(&self, token: &str, timeout_secs: i64, expires_at: i64) -> MetaResult<()> {
        sqlx::query("UPDATE locks SET timeout_secs = ?, expires_at = ? WHERE token = ?")
            .bind(timeout_secs)
            .bind(expires_at)
            .bind(token)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn delete_lock(&self, token: &str) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM locks WHERE token = ?").bind(token).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_locks_under(&self, owner: UserId, path: &str) -> MetaResult<()> {
        let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
        sqlx::query("DELETE FROM locks WHERE owner_id = ? AND (path = ? OR substr(path, 1, length(?)) = ?)")
            .bind(owner.0)
            .bind(path)
            .bind(&prefix)
            .bind(&prefix)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn referenced_blocks(&self) -> MetaResult<Vec<BlockUse>> {
        let rows = sqlx::query(
            "SELECT b.hash AS hash, b.len AS len, v.node_id AS node_id FROM versions v JOIN version_blocks b ON b.version_id = v.id \
             UNION ALL SELECT hash, len, NULL AS node_id FROM upload_chunk_blocks",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BlockUse {
                    hash: row.try_get("hash")?,
                    len: row.try_get("len")?,
                    node: row.try_get::<Option<i64>, _>("node_id")?.map(NodeId),
                })
            })
            .collect()
    }

    async fn list_app_passwords(&self, user: UserId) -> MetaResult<Vec<AppPassword>> {
        let rows =
            sqlx::query("SELECT id, label, created_at, last_used FROM app_passwords WHERE user_id = ? ORDER BY id")
                .bind(user.0)
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(AppPassword {
                    id: row.try_get("id")?,
                    label: row.try_get("label")?,
                    created_at: row.try_get("created_at")?,
                    last_used: row.try_get("last_used")?,
                })
            })
            .collect()
    }

    async fn delete_app_password(&self, user: UserId, id: i64) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM app_passwords WHERE user_id = ? AND id = ?")
            .bind(user.0)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_app_password_by_hash(&self, token_hash: &str) -> MetaResult<bool> {
        let done =
            sqlx::query("DELETE FROM app_passwords WHERE token_hash = ?").bind(token_hash).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_upload(
        &self,
        owner: UserId,
        name: &str,
        destination: Option<&str>,
        total_length: Option<i64>,
        now: i64,
    ) -> MetaResult<UploadSession> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO uploads (owner_id, name, destination, total_length, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
             RETURNING {UPLOAD_COLUMNS}"
        ))
        .bind(owner.0)
        .bind(name)
        .bind(destination)
        .bind(total_length)
        .bind(now)
        .bind(now)
        .fetch_one(&self.write)
        .await;
        match inserted {
            Ok(row) => Ok(upload_from_row(&row)?),
            Err(error) if is_unique_violation(&error) => Err(MetaError::AlreadyExists(name.to_string())),
            Err(error) => Err(error.into()),
        }
    }

    async fn upload(&self, owner: UserId, name: &str) -> MetaResult<Option<UploadSession>> {
        let row = sqlx::query(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE owner_id = ? AND name = ?"))
            .bind(owner.0)
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(upload_from_row).transpose()?)
    }

    async fn list_uploads(&self, owner: UserId) -> MetaResult<Vec<UploadSession>> {
        let rows = sqlx::query(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE owner_id = ? ORDER BY name"))
            .bind(owner.0)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(upload_from_row).collect::<Result<_, _>>()?)
    }

    async fn upload_chunks(&self, upload: i64) -> MetaResult<Vec<UploadChunk>> {
        let rows = sqlx::query("SELECT name, size, created_at FROM upload_chunks WHERE upload_id = ? ORDER BY name")
            .bind(upload)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(UploadChunk {
                    name: row.try_get("name")?,
                    size: row.try_get("size")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn put_upload_chunk(
        &self,
        upload: i64,
        name: &str,
        blocks: &[BlockRef],
        size: i64,
        now: i64,
    ) -> MetaResult<()> {
        let mut tx = self.begin().await?;
        let touched = sqlx::query("UPDATE uploads SET updated_at = ? WHERE id = ?")
            .bind(now)
            .bind(upload)
            .execute(&mut *tx)
            .await?;
        if touched.rows_affected() == 0 {
            return Err(MetaError::NotFound("upload".into()));
        }
        sqlx::query("DELETE FROM upload_chunks WHERE upload_id = ? AND name = ?")
            .bind(upload)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO upload_chunks (upload_id, name, size, created_at) VALUES (?, ?, ?, ?)")
            .bind(upload)
            .bind(name)
            .bind(size)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for (seq, block) in blocks.iter().enumerate() {
            sqlx::query(
                "INSERT INTO upload_chunk_blocks (upload_id, chunk_name, seq, hash, len) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(upload)
            .bind(name)
            .bind(seq as i64)
            .bind(&block.hash)
            .bind(block.len)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_upload_chunk(&self, upload: i64, name: &str) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM upload_chunks WHERE upload_id = ? AND name = ?")
            .bind(upload)
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_upload(&self, upload: i64) -> MetaResult<()> {
        sqlx::query("DELETE FROM uploads WHERE id = ?").bind(upload).execute(&self.write).await?;
        Ok(())
    }

    async fn upload_blocks(&self, upload: i64) -> MetaResult<Vec<(String, BlockRef)>> {
        let rows = sqlx::query(
            "SELECT chunk_name, hash, len FROM upload_chunk_blocks WHERE upload_id = ? ORDER BY chunk_name, seq",
        )
        .bind(upload)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((row.try_get("chunk_name")?, BlockRef { hash: row.try_get("hash")?, len: row.try_get("len")? }))
            })
            .collect()
    }

    async fn finish_upload(&self, upload: i64, commit: &FileCommit) -> MetaResult<(Node, bool)> {
        let mut tx = self.begin().await?;
        let result = Self::commit_tx(&mut tx, commit).await?;
        sqlx::query("DELETE FROM uploads WHERE id = ?").bind(upload).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn expire_uploads(&self, before: i64) -> MetaResult<u64> {
        let done = sqlx::query("DELETE FROM uploads WHERE updated_at < ?").bind(before).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    async fn insert_login_flow(&self, flow: &LoginFlow) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO login_flows (login_token, poll_token_hash, form_token, client_name, user_id, app_password, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&flow.login_token)
        .bind(&flow.poll_token_hash)
        .bind(&flow.form_token)
        .bind(&flow.client_name)
        .bind(flow.user.map(|user| user.0))
        .bind(&flow.app_password)
        .bind(flow.created_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn login_flow(&self, login_token: &str) -> MetaResult<Option<LoginFlow>> {
        let row = sqlx::query("SELECT * FROM login_flows WHERE login_token = ?")
            .bind(login_token)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(login_flow_from_row).transpose()?)
    }

    async fn grant_login_flow(&self, login_token: &str, user: UserId, app_password: &str) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE login_flows SET user_id = ?, app_password = ? WHERE login_token = ? AND user_id IS NULL",
        )
        .bind(user.0)
        .bind(app_password)
        .bind(login_token)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn take_login_flow(&self, poll_token_hash: &str) -> MetaResult<Option<LoginFlow>> {
        let row = sqlx::query("DELETE FROM login_flows WHERE poll_token_hash = ? AND user_id IS NOT NULL RETURNING *")
            .bind(poll_token_hash)
            .fetch_optional(&self.write)
            .await?;
        Ok(row.as_ref().map(login_flow_from_row).transpose()?)
    }

    async fn expire_login_flows(&self, before: i64) -> MetaResult<u64> {
        let done =
            sqlx::query("DELETE FROM login_flows WHERE created_at < ?").bind(before).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    async fn inline_block(&self, hash: &str) -> MetaResult<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar("SELECT data FROM inline_blocks WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&self.read)
            .await?)
    }

    async fn inline_block_hashes(&self, after: &str, limit: i64) -> MetaResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT hash FROM inline_blocks WHERE hash > ? ORDER BY hash LIMIT ?")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.read)
            .await?)
    }

    async fn replace_inline_block(&self, hash: &str, data: &[u8]) -> MetaResult<bool> {
        let done = sqlx::query("UPDATE inline_blocks SET data = ? WHERE hash = ?")
            .bind(data)
            .bind(hash)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn collect_inline_garbage(&self) -> MetaResult<u64> {
        let done = sqlx::query(
            "DELETE FROM inline_blocks WHERE hash NOT IN (SELECT hash FROM version_blocks) \
             AND hash NOT IN (SELECT hash FROM upload_chunk_blocks)",
        )
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    async fn login_blocked_until(&self, account: &str, address: &str) -> MetaResult<i64> {
        let until: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(blocked_until) FROM login_failures WHERE account = ? AND (address = ? OR address = '*')",
        )
        .bind(account)
        .bind(address)
        .fetch_one(&self.read)
        .await?;
        Ok(until.unwrap_or(0))
    }

    async fn record_login_failure(
        &self,
        account: &str,
        address: &str,
        now: i64,
        backoff: &(dyn Fn(i64, bool) -> i64 + Send + Sync),
    ) -> MetaResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM login_failures WHERE last_failure < ?").bind(now - 3600).execute(&mut *tx).await?;
        for (key, account_wide) in [(address, false), ("*", true)] {
            let failures: Option<i64> =
                sqlx::query_scalar("SELECT failures FROM login_failures WHERE account = ? AND address = ?")
                    .bind(account)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            let failures = failures.unwrap_or(0) + 1;
            sqlx::query(
                "INSERT INTO login_failures (account, address, failures, blocked_until, last_failure) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, address) DO UPDATE SET failures = excluded.failures, blocked_until = excluded.blocked_until, last_failure = excluded.last_failure",
            )
            .bind(account)
            .bind(key)
            .bind(failures)
            .bind(now + backoff(failures, account_wide))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE users SET last_failed_login = ? WHERE name = ?")
            .bind(now)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn clear_login_failures(&self, account: &str, address: &str) -> MetaResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE account = ? AND address = ?")
            .bind(account)
            .bind(address)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn create_org(&self, org: &Organisation) -> MetaResult<Organisation> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO organisations (name, display_name, quota, link_password_required, link_max_expiry_days, created_at, \
             version_daily_days, version_quota_percent) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {ORG_COLUMNS}"
        ))
        .bind(&org.name)
        .bind(&org.display_name)
        .bind(org.quota)
        .bind(i64::from(org.link_password_required))
        .bind(org.link_max_expiry_days)
        .bind(org.created_at)
        .bind(org.version_daily_days)
        .bind(org.version_quota_percent)
        .fetch_one(&self.write)
        .await;
        match inserted {
            Ok(row) => Ok(org_from_row(&row)?),
            Err(error) if is_unique_violation(&error) => Err(MetaError::AlreadyExists(org.name.clone())),
            Err(error) => Err(error.into()),
        }
    }

    async fn org(&self, id: OrgId) -> MetaResult<Option<Organisation>> {
        let row = sqlx::query(&format!("SELECT {ORG_COLUMNS} FROM organisations WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(org_from_row).transpose()?)
    }

    async fn org_by_name(&self, name: &str) -> MetaResult<Option<Organisation>> {
        let row = sqlx::query(&format!("SELECT {ORG_COLUMNS} FROM organisations WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(org_from_row).transpose()?)
    }

    async fn list_orgs(&self) -> MetaResult<Vec<Organisation>> {
        let rows = sqlx::query(&format!("SELECT {ORG_COLUMNS} FROM organisations ORDER BY name"))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(org_from_row).collect::<Result<_, _>>()?)
    }

    async fn update_org(&self, org: &Organisation) -> MetaResult<()> {
        sqlx::query(
            "UPDATE organisations SET display_name = ?, quota = ?, link_password_required = ?, link_max_expiry_days = ?, \
             version_daily_days = ?, version_quota_percent = ? WHERE id = ?",
        )
        .bind(&org.display_name)
        .bind(org.quota)
        .bind(i64::from(org.link_password_required))
        .bind(org.link_max_expiry_days)
        .bind(org.version_daily_days)
        .bind(org.version_quota_percent)
        .bind(org.id.0)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn org_used_bytes(&self, id: OrgId) -> MetaResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(SUM(n.size), 0) FROM nodes n JOIN users u ON u.id = n.owner_id \
             WHERE u.org_id = ? AND n.parent_id IS NULL",
        )
        .bind(id.0)
        .fetch_one(&self.read)
        .await?)
    }

    async fn update_user(&self, user: &User) -> MetaResult<()> {
        sqlx::query(
            "UPDATE users SET display_name = ?, email = ?, quota = ?, is_admin = ?, org_id = ?, org_admin = ?, \
             notify_by_email = ?, language = ?, mail_digest = ? WHERE id = ?",
        )
        .bind(&user.display_name)
        .bind(&user.email)
        .bind(user.quota)
        .bind(i64::from(user.is_admin))
        .bind(user.org.map(|org| org.0))
        .bind(i64::from(user.org_admin))
        .bind(i64::from(user.notify_by_email))
        .bind(&user.language)
        .bind(&user.mail_digest)
        .bind(user.id.0)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn user(&self, id: UserId) -> MetaResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn create_group(&self, group: &Group) -> MetaResult<Group> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO user_groups (name, display_name, org_id, created_at) VALUES (?, ?, ?, ?) RETURNING {GROUP_COLUMNS}"
        ))
        .bind(&group.name)
        .bind(&group.display_name)
        .bind(group.org.map(|org| org.0))
        .bind(group.created_at)
        .fetch_one(&self.write)
        .await;
        match inserted {
            Ok(row) => Ok(group_from_row(&row)?),
            Err(error) if is_unique_violation(&error) => Err(MetaError::AlreadyExists(group.name.clone())),
            Err(error) => Err(error.into()),
        }
    }

    async fn group_by_name(&self, name: &str) -> MetaResult<Option<Group>> {
        let row = sqlx::query(&format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(group_from_row).transpose()?)
    }

    async fn group(&self, id: GroupId) -> MetaResult<Option<Group>> {
        let row = sqlx::query(&format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(group_from_row).transpose()?)
    }

    async fn list_groups(&self) -> MetaResult<Vec<Group>> {
        let rows = sqlx::query(&format!("SELECT {GROUP_COLUMNS} FROM user_groups ORDER BY name"))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(group_from_row).collect::<Result<_, _>>()?)
    }

    async fn delete_group(&self, id: GroupId) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM user_groups WHERE id = ?").bind(id.0).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_group_member(&self, group: GroupId, user: UserId, is_admin: bool) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id, is_admin) VALUES (?, ?, ?) \
             ON CONFLICT (group_id, user_id) DO UPDATE SET is_admin = excluded.is_admin",
        )
        .bind(group.0)
        .bind(user.0)
        .bind(i64::from(is_admin))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn remove_group_member(&self, group: GroupId, user: UserId) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group.0)
            .bind(user.0)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn group_members(&self, group: GroupId) -> MetaResult<Vec<(UserId, bool)>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT user_id, is_admin FROM group_members WHERE group_id = ? ORDER BY user_id")
                .bind(group.0)
                .fetch_all(&self.read)
                .await?;
        Ok(rows.into_iter().map(|(user, admin)| (UserId(user), admin != 0)).collect())
    }

    async fn groups_of(&self, user: UserId) -> MetaResult<Vec<(Group, bool)>> {
        let rows = sqlx::query(&format!(
            "SELECT {}, m.is_admin AS member_admin FROM user_groups g JOIN group_members m ON m.group_id = g.id \
             WHERE m.user_id = ? ORDER BY g.name",
            GROUP_COLUMNS.split(", ").map(|c| format!("g.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(user.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok((group_from_row(row)?, row.try_get::<i64, _>("member_admin")? != 0)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(MetaError::from)
    }

    async fn create_share(&self, share: &Share) -> MetaResult<Share> {
        let mut tx = self.begin().await?;
        let stored = insert_share(&mut tx, share).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn create_shares(&self, shares: &[Share]) -> MetaResult<Vec<Share>> {
        let mut tx = self.begin().await?;
        let mut stored = Vec::with_capacity(shares.len());
        for share in shares {
            stored.push(insert_share(&mut tx, share).await?);
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn share_types_by(&self, sharer: UserId, nodes: &[NodeId]) -> MetaResult<Vec<(NodeId, i64)>> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&nodes.iter().map(|node| node.0).collect::<Vec<_>>())
            .map_err(|error| MetaError::Commit(error.to_string()))?;
        let rows = sqlx::query(
            "SELECT DISTINCT node_id, share_type FROM shares WHERE sharer_id = ? AND space_id IS NULL \
             AND node_id IN (SELECT value FROM json_each(?)) ORDER BY node_id, share_type",
        )
        .bind(sharer.0)
        .bind(ids)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok((NodeId(row.try_get("node_id")?), row.try_get("share_type")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(MetaError::from)
    }

    async fn create_space(&self, space: &NewSpace, now: i64) -> MetaResult<Space> {
        let mut tx = self.begin().await?;
        let account = NewUser {
            name: space_account_name(&space.name),
            display_name: space.display_name.clone(),
            // Not a PHC string: no password ever verifies against it.
            password_hash: "!".into(),
            quota: space.quota,
            org: space.org,
            is_space: true,
            ..NewUser::default()
        };
        let account = match insert_user(&mut tx, &account, now).await {
            Err(MetaError::AlreadyExists(_)) => return Err(MetaError::AlreadyExists(space.name.clone())),
            other => other?,
        };
        let root: i64 = sqlx::query_scalar("SELECT id FROM nodes WHERE owner_id = ? AND parent_id IS NULL")
            .bind(account.id.0)
            .fetch_one(&mut *tx)
            .await?;
        let folder: i64 = sqlx::query_scalar(
            "INSERT INTO nodes (owner_id, parent_id, name, is_dir, size, mtime, ctime, etag) \
             VALUES (?, ?, ?, 1, 0, ?, ?, ?) RETURNING id",
        )
        .bind(account.id.0)
        .bind(root)
        .bind(&space.display_name)
        .bind(now)
        .bind(now)
        .bind(new_etag())
        .fetch_one(&mut *tx)
        .await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO spaces (name, display_name, account_id, folder_id, org_id, group_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {SPACE_COLUMNS}"
        ))
        .bind(&space.name)
        .bind(&space.display_name)
        .bind(account.id.0)
        .bind(folder)
        .bind(space.org.map(|org| org.0))
        .bind(space.group.map(|group| group.0))
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let stored = match inserted {
            Ok(row) => space_from_row(&row)?,
            Err(error) if is_unique_violation(&error) => return Err(MetaError::AlreadyExists(space.name.clone())),
            Err(error) => return Err(error.into()),
        };
        tx.commit().await?;
        Ok(stored)
    }

    async fn space(&self, id: SpaceId) -> MetaResult<Option<Space>> {
        let row = sqlx::query(&format!("SELECT {SPACE_COLUMNS} FROM spaces WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(space_from_row).transpose()?)
    }

    async fn space_by_name(&self, name: &str) -> MetaResult<Option<Space>> {
        let row = sqlx::query(&format!("SELECT {SPACE_COLUMNS} FROM spaces WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(space_from_row).transpose()?)
    }

    async fn list_spaces(&self) -> MetaResult<Vec<Space>> {
        let rows =
            sqlx::query(&format!("SELECT {SPACE_COLUMNS} FROM spaces ORDER BY name")).fetch_all(&self.read).await?;
        Ok(rows.iter().map(space_from_row).collect::<Result<_, _>>()?)
    }

    async fn update_space(&self, space: &Space) -> MetaResult<()> {
        sqlx::query("UPDATE spaces SET display_name = ? WHERE id = ?")
            .bind(&space.display_name)
            .bind(space.id.0)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn space_members(&self, space: SpaceId) -> MetaResult<Vec<Share>> {
        let rows = sqlx::query(&format!("SELECT {SHARE_COLUMNS} FROM shares WHERE space_id = ? ORDER BY id"))
            .bind(space.0)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(share_from_row).collect::<Result<_, _>>()?)
    }

    async fn share(&self, id: i64) -> MetaResult<Option<Share>> {
        let row = sqlx::query(&format!("SELECT {SHARE_COLUMNS} FROM shares WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(share_from_row).transpose()?)
    }

    async fn share_by_token(&self, token: &str) -> MetaResult<Option<Share>> {
        let row = sqlx::query(&format!("SELECT {SHARE_COLUMNS} FROM shares WHERE token = ?"))
            .bind(token)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(share_from_row).transpose()?)
    }

    async fn update_share(&self, share: &Share) -> MetaResult<()> {
        sqlx::query(
            "UPDATE shares SET permissions = ?, password_hash = ?, expires_at = ?, download_limit = ?, label = ?, \
             note = ?, hide_download = ? WHERE id = ?",
        )
        .bind(share.permissions)
        .bind(&share.password_hash)
        .bind(share.expires_at)
        .bind(share.download_limit)
        .bind(&share.label)
        .bind(&share.note)
        .bind(i64::from(share.hide_download))
        .bind(share.id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn delete_share(&self, id: i64) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM shares WHERE id = ?").bind(id).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn shares_by_sharer(&self, sharer: UserId) -> MetaResult<Vec<Share>> {
        let rows = sqlx::query(&format!("SELECT {SHARE_COLUMNS} FROM shares WHERE sharer_id = ? ORDER BY id"))
            .bind(sharer.0)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(share_from_row).collect::<Result<_, _>>()?)
    }

    async fn shares_of_nodes(&self, nodes: &[NodeId]) -> MetaResult<Vec<Share>> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&nodes.iter().map(|node| node.0).collect::<Vec<_>>())
            .map_err(|error| MetaError::Commit(error.to_string()))?;
        let rows = sqlx::query(&format!(
            "SELECT {SHARE_COLUMNS} FROM shares WHERE node_id IN (SELECT value FROM json_each(?)) ORDER BY id"
        ))
        .bind(ids)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.iter().map(share_from_row).collect::<Result<_, _>>()?)
    }

    async fn received_shares(&self, user: UserId) -> MetaResult<Vec<ReceivedShare>> {
        let rows = sqlx::query(&format!(
            "SELECT {}, m.name AS mount_name, COALESCE(m.hidden, 0) AS mount_hidden FROM shares s \
             LEFT JOIN share_mounts m ON m.share_id = s.id AND m.user_id = ?1 \
             WHERE s.recipient_user = ?1 \
                OR s.recipient_group IN (SELECT group_id FROM group_members WHERE user_id = ?1) \
                OR s.recipient_org = (SELECT org_id FROM users WHERE id = ?1) \
             ORDER BY s.id",
            SHARE_COLUMNS.split(", ").map(|c| format!("s.{}", c.trim())).collect::<Vec<_>>().join(", ")
        ))
        .bind(user.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReceivedShare {
                    share: share_from_row(row)?,
                    mount_name: row.try_get("mount_name")?,
                    hidden: row.try_get::<i64, _>("mount_hidden")? != 0,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(MetaError::from)
    }

    async fn set_share_mount(&self, share: i64, user: UserId, name: Option<&str>, hidden: bool) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO share_mounts (share_id, user_id, name, hidden) VALUES (?, ?, ?, ?) \
             ON CONFLICT (share_id, user_id) DO UPDATE SET name = excluded.name, hidden = excluded.hidden",
        )
        .bind(share)
        .bind(user.0)
        .bind(name)
        .bind(i64::from(hidden))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn count_link_download(&self, share: i64) -> MetaResult<bool> {
        let done = sqlx::query(
            "UPDATE shares SET download_count = download_count + 1 \
             WHERE id = ? AND (download_limit IS NULL OR download_count < download_limit)",
        )
        .bind(share)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn node_chain(&self, id: NodeId) -> MetaResult<Vec<Node>> {
        let rows = sqlx::query(&format!(
            "WITH RECURSIVE chain(id, parent_id, depth) AS ( \
               SELECT id, parent_id, 0 FROM nodes WHERE id = ? UNION ALL \
               SELECT n.id, n.parent_id, chain.depth + 1 FROM nodes n JOIN chain ON n.id = chain.parent_id) \
             SELECT {} FROM chain JOIN nodes ON nodes.id = chain.id ORDER BY chain.depth DESC",
            qualified_node_columns("nodes")
        ))
        .bind(id.0)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.iter().map(node_from_row).collect::<Result<_, _>>()?)
    }

    async fn nodes(&self, ids: &[NodeId]) -> MetaResult<Vec<Node>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&ids.iter().map(|id| id.0).collect::<Vec<_>>())
            .map_err(|error| MetaError::Commit(error.to_string()))?;
        let rows =
            sqlx::query(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE id IN (SELECT value FROM json_each(?))"))
                .bind(ids)
                .fetch_all(&self.read)
                .await?;
        Ok(rows.iter().map(node_from_row).collect::<Result<_, _>>()?)
    }

    async fn insert_account_token(&self, token_hash: &str, token: &AccountToken) -> MetaResult<()> {
        sqlx::query("INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(token.user.0)
            .bind(&token.purpose)
            .bind(token.expires_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn take_account_token(&self, token_hash: &str) -> MetaResult<Option<AccountToken>> {
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("DELETE FROM account_tokens WHERE token_hash = ? RETURNING user_id, purpose, expires_at")
                .bind(token_hash)
                .fetch_optional(&self.write)
                .await?;
        Ok(row.map(|(user, purpose, expires_at)| AccountToken { user: UserId(user), purpose, expires_at }))
    }

    async fn account_token(&self, token_hash: &str) -> MetaResult<Option<AccountToken>> {
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT user_id, purpose, expires_at FROM account_tokens WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(|(user, purpose, expires_at)| AccountToken { user: UserId(user), purpose, expires_at }))
    }

    async fn delete_account_tokens(&self, user: UserId, purpose: &str) -> MetaResult<u64> {
        let result = sqlx::query("DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?")
            .bind(user.0)
            .bind(purpose)
            .execute(&self.write)
            .await?;
        Ok(result.rows_affected())
    }

    async fn add_activities(&self, activities: &[Activity]) -> MetaResult<()> {
        if activities.is_empty() {
            return Ok(());
        }
        let (reply, result) = tokio::sync::oneshot::channel();
        self.group_commit(PendingCommit::Activities { entries: activities.to_vec(), reply }).await?;
        result.await.map_err(|_| MetaError::Commit("the group commit was interrupted".into()))?
    }

    async fn activities(
        &self,
        user: UserId,
        before: Option<i64>,
        kinds: &[String],
        limit: i64,
    ) -> MetaResult<Vec<Activity>> {
        let marks = vec!["?"; kinds.len()].join(", ");
        let kind_filter = if kinds.is_empty() { String::new() } else { format!(" AND kind IN ({marks})") };
        let limit_mark = "?".to_string();
        let sql = format!(
            "SELECT id, user_id, kind, actor, subject, object_id, created_at FROM activities \
             WHERE user_id = ? AND id < ?{kind_filter} ORDER BY id DESC LIMIT {limit_mark}"
        );
        let mut query = sqlx::query(&sql).bind(user.0).bind(before.unwrap_or(i64::MAX));
        for kind in kinds {
            query = query.bind(kind);
        }
        let rows = query.bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(|row| Ok(activity_from_row(row)?)).collect()
    }

    async fn expire_activities(&self, before: i64) -> MetaResult<u64> {
        let done = sqlx::query("DELETE FROM activities WHERE created_at < ?").bind(before).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    async fn add_notification(&self, notification: &Notification) -> MetaResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO notifications (user_id, subject, message, object_type, object_id, created_at, mail_state) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(notification.user.0)
        .bind(&notification.subject)
        .bind(&notification.message)
        .bind(&notification.object_type)
        .bind(&notification.object_id)
        .bind(notification.created_at)
        .bind(notification.mail_state.code())
        .fetch_one(&self.write)
        .await?)
    }

    async fn notifications(&self, user: UserId) -> MetaResult<Vec<Notification>> {
        let rows = sqlx::query(
            "SELECT id, user_id, subject, message, object_type, object_id, created_at, mail_state FROM notifications \
             WHERE user_id = ? ORDER BY id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.iter().map(notification_from_row).collect::<Result<_, _>>()?)
    }

    async fn delete_notification(&self, user: UserId, id: i64) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM notifications WHERE user_id = ? AND id = ?")
            .bind(user.0)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn mail_waiting(&self) -> MetaResult<Vec<(UserId, i64)>> {
        let rows = sqlx::query(
            "SELECT user_id, MIN(created_at) AS oldest FROM notifications WHERE mail_state = 0 GROUP BY user_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((UserId(row.try_get("user_id")?), row.try_get("oldest")?))).collect()
    }

    async fn claim_mail(&self, user: UserId) -> MetaResult<Vec<Notification>> {
        let rows = sqlx::query(
            "UPDATE notifications SET mail_state = 1 WHERE user_id = ? AND mail_state = 0 \
             RETURNING id, user_id, subject, message, object_type, object_id, created_at, mail_state",
        )
        .bind(user.0)
        .fetch_all(&self.write)
        .await?;
        let mut claimed: Vec<Notification> = rows.iter().map(notification_from_row).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|notification| notification.id);
        Ok(claimed)
    }

    async fn set_mail_state(&self, ids: &[i64], state: MailState) -> MetaResult<()> {
        let mut tx = self.begin().await?;
        for id in ids {
            sqlx::query("UPDATE notifications SET mail_state = ? WHERE id = ?")
                .bind(state.code())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn add_comment(&self, comment: &Comment) -> MetaResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO comments (node_id, author_id, author_name, message, created_at, edited_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(comment.node.0)
        .bind(comment.author.map(|author| author.0))
        .bind(&comment.author_name)
        .bind(&comment.message)
        .bind(comment.created_at)
        .bind(comment.edited_at)
        .fetch_one(&self.write)
        .await?)
    }

    async fn comments(&self, node: NodeId) -> MetaResult<Vec<Comment>> {
        let rows = sqlx::query(&format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE node_id = ? ORDER BY id"))
            .bind(node.0)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(comment_from_row).collect::<Result<_, _>>()?)
    }

    async fn comment(&self, id: i64) -> MetaResult<Option<Comment>> {
        let row = sqlx::query(&format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(comment_from_row).transpose()?)
    }

    async fn edit_comment(&self, id: i64, message: &str, edited_at: i64) -> MetaResult<bool> {
        let done = sqlx::query("UPDATE comments SET message = ?, edited_at = ? WHERE id = ?")
            .bind(message)
            .bind(edited_at)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_comment(&self, id: i64) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM comments WHERE id = ?").bind(id).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn comment_counts(&self, nodes: &[NodeId]) -> MetaResult<Vec<(NodeId, i64)>> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&nodes.iter().map(|id| id.0).collect::<Vec<_>>())
            .map_err(|error| MetaError::Commit(error.to_string()))?;
        let rows = sqlx::query(
            "SELECT node_id, COUNT(*) AS count FROM comments WHERE node_id IN (SELECT value FROM json_each(?)) GROUP BY node_id ORDER BY node_id",
        )
        .bind(ids)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((NodeId(row.try_get("node_id")?), row.try_get("count")?))).collect()
    }

    async fn create_tag(&self, tag: &Tag) -> MetaResult<Tag> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO tags (org_id, name, user_visible, user_assignable, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING {TAG_COLUMNS}"
        ))
        .bind(tag.org.map(|org| org.0))
        .bind(&tag.name)
        .bind(i64::from(tag.user_visible))
        .bind(i64::from(tag.user_assignable))
        .bind(tag.created_at)
        .fetch_one(&self.write)
        .await;
        match inserted {
            Ok(row) => Ok(tag_from_row(&row)?),
            Err(error) if is_unique_violation(&error) => Err(MetaError::AlreadyExists(tag.name.clone())),
            Err(error) => Err(error.into()),
        }
    }

    async fn tags(&self, org: Option<OrgId>) -> MetaResult<Vec<Tag>> {
        let rows = sqlx::query(&format!("SELECT {TAG_COLUMNS} FROM tags WHERE org_id IS ? ORDER BY name, id"))
            .bind(org.map(|org| org.0))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(tag_from_row).collect::<Result<_, _>>()?)
    }

    async fn tag(&self, id: i64) -> MetaResult<Option<Tag>> {
        let row = sqlx::query(&format!("SELECT {TAG_COLUMNS} FROM tags WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(tag_from_row).transpose()?)
    }

    async fn delete_tag(&self, id: i64) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM tags WHERE id = ?").bind(id).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn assign_tag(&self, node: NodeId, tag: i64) -> MetaResult<bool> {
        let done = sqlx::query("INSERT INTO node_tags (node_id, tag_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(node.0)
            .bind(tag)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn unassign_tag(&self, node: NodeId, tag: i64) -> MetaResult<bool> {
        let done = sqlx::query("DELETE FROM node_tags WHERE node_id = ? AND tag_id = ?")
            .bind(node.0)
            .bind(tag)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn node_tags(&self, nodes: &[NodeId]) -> MetaResult<Vec<(NodeId, Tag)>> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(&nodes.iter().map(|id| id.0).collect::<Vec<_>>())
            .map_err(|error| MetaError::Commit(error.to_string()))?;
        let rows = sqlx::query(
            "SELECT nt.node_id, t.id, t.org_id, t.name, t.user_visible, t.user_assignable, t.created_at FROM node_tags nt JOIN tags t ON t.id = nt.tag_id \
             WHERE nt.node_id IN (SELECT value FROM json_each(?)) ORDER BY nt.node_id, t.name, t.id",
        )
        .bind(ids)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((NodeId(row.try_get("node_id")?), tag_from_row(row)?))).collect()
    }

    async fn nodes_with_tag(&self, tag: i64) -> MetaResult<Vec<NodeId>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT node_id FROM node_tags WHERE tag_id = ? ORDER BY node_id")
            .bind(tag)
            .fetch_all(&self.read)
            .await?;
        Ok(ids.into_iter().map(NodeId).collect())
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> MetaResult<AuditEntry> {
        // BEGIN IMMEDIATE on the single writer connection: no other appender (of this process
        // or another one on the same file) runs between reading the tail and the insert.
        let mut tx = self.begin().await?;
        let (last_id, last_hash) = audit_tail_sqlite(&mut tx).await?;
        let stored = AuditEntry::chained(last_id + 1, entry, &last_hash);
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, ip, action, object, detail, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(stored.id)
        .bind(stored.at)
        .bind(&stored.actor)
        .bind(&stored.ip)
        .bind(&stored.action)
        .bind(&stored.object)
        .bind(&stored.detail)
        .bind(&stored.prev_hash)
        .bind(&stored.hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn audit_entries(&self, since: Option<i64>, after_id: i64, limit: i64) -> MetaResult<Vec<AuditEntry>> {
        let rows =
            sqlx::query(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id > ? AND at >= ? ORDER BY id LIMIT ?"))
                .bind(after_id)
                .bind(since.unwrap_or(i64::MIN))
                .bind(limit)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(|row| Ok(audit_from_row(row)?)).collect()
    }

    async fn audit_anchor(&self) -> MetaResult<Option<AuditAnchor>> {
        let row = sqlx::query("SELECT entry_id, hash FROM audit_anchor").fetch_optional(&self.read).await?;
        Ok(row
            .map(|row| Ok::<_, sqlx::Error>(AuditAnchor { id: row.try_get("entry_id")?, hash: row.try_get("hash")? }))
            .transpose()?)
    }

    async fn expire_audit(&self, before: i64) -> MetaResult<u64> {
        let mut tx = self.begin().await?;
        // A prefix of the chain only: the first entry to keep is the oldest one at or after
        // `before` (clocks of several nodes may disagree, so later ids may carry earlier times).
        let keep_from: Option<i64> =
            sqlx::query_scalar("SELECT MIN(id) FROM audit_log WHERE at >= ?").bind(before).fetch_one(&mut *tx).await?;
        let newest_gone = sqlx::query("SELECT id, hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1")
            .bind(keep_from.unwrap_or(i64::MAX))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(newest_gone) = newest_gone else { return Ok(0) };
        let (id, hash): (i64, String) = (newest_gone.try_get("id")?, newest_gone.try_get("hash")?);
        let done = sqlx::query("DELETE FROM audit_log WHERE id <= ?").bind(id).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO audit_anchor (singleton, entry_id, hash) VALUES (1, ?, ?) \
             ON CONFLICT (singleton) DO UPDATE SET entry_id = excluded.entry_id, hash = excluded.hash",
        )
        .bind(id)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn schema_version(&self) -> MetaResult<i64> {
        schema_version_of(&self.read).await
    }

    async fn export_snapshot(&self) -> MetaResult<Snapshot> {
        // One read transaction: a consistent view of the WAL database while writers go on.
        let mut tx = self.read.begin().await?;
        let mut snapshot = Snapshot::default();
        for row in sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users")).fetch_all(&mut *tx).await? {
            snapshot.users.push(user_from_row(&row)?);
        }
        for row in sqlx::query("SELECT id, user_id, label, token_hash, created_at, last_used FROM app_passwords")
            .fetch_all(&mut *tx)
            .await?
        {
            snapshot.app_passwords.push(AppPasswordRow {
                id: row.try_get("id")?,
                user: UserId(row.try_get("user_id")?),
                label: row.try_get("label")?,
                token_hash: row.try_get("token_hash")?,
                created_at: row.try_get("created_at")?,
                last_used: row.try_get("last_used")?,
            });
        }
        for row in sqlx::query(&format!("SELECT {NODE_COLUMNS} FROM nodes")).fetch_all(&mut *tx).await? {
            snapshot.nodes.push(node_from_row(&row)?);
        }
        for row in
            sqlx::query("SELECT id, node_id, size, content_hash, created_at FROM versions").fetch_all(&mut *tx).await?
        {
            snapshot.versions.push(VersionRow {
                id: VersionId(row.try_get("id")?),
                node: NodeId(row.try_get("node_id")?),
                size: row.try_get("size")?,
                content_hash: row.try_get("content_hash")?,
                created_at: row.try_get("created_at")?,
            });
        }
        for row in sqlx::query("SELECT version_id, seq, hash, len FROM version_blocks").fetch_all(&mut *tx).await? {
            snapshot.version_blocks.push(VersionBlockRow {
                version: VersionId(row.try_get("version_id")?),
                seq: row.try_get("seq")?,
                hash: row.try_get("hash")?,
                len: row.try_get("len")?,
            });
        }
        for row in sqlx::query("SELECT hash, data FROM inline_blocks").fetch_all(&mut *tx).await? {
            snapshot.inline_blocks.push(InlineBlock { hash: row.try_get("hash")?, data: row.try_get("data")? });
        }
        for row in sqlx::query("SELECT node_id, ns, name, value FROM dead_props").fetch_all(&mut *tx).await? {
            snapshot.dead_props.push(DeadPropRow {
                node: NodeId(row.try_get("node_id")?),
                prop: DeadProp { ns: row.try_get("ns")?, name: row.try_get("name")?, value: row.try_get("value")? },
            });
        }
        for row in sqlx::query(
            "SELECT token, owner_id, path, depth_infinite, exclusive, owner_xml, timeout_secs, expires_at FROM locks",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            snapshot.locks.push(lock_from_row(&row)?);
        }
        for row in sqlx::query(&format!("SELECT {UPLOAD_COLUMNS} FROM uploads")).fetch_all(&mut *tx).await? {
            snapshot.uploads.push(upload_from_row(&row)?);
        }
        for row in
            sqlx::query("SELECT upload_id, name, size, created_at FROM upload_chunks").fetch_all(&mut *tx).await?
        {
            snapshot.upload_chunks.push(UploadChunkRow {
                upload: row.try_get("upload_id")?,
                name: row.try_get("name")?,
                size: row.try_get("size")?,
                created_at: row.try_get("created_at")?,
            });
        }
        for row in sqlx::query("SELECT upload_id, chunk_name, seq, hash, len FROM upload_chunk_blocks")
            .fetch_all(&mut *tx)
            .await?
        {
            snapshot.upload_chunk_blocks.push(UploadChunkBlockRow {
                upload: row.try_get("upload_id")?,
                chunk: row.try_get("chunk_name")?,
                seq: row.try_get("seq")?,
                hash: row.try_get("hash")?,
                len: row.try_get("len")?,
            });
        }
        for row in sqlx::query(&format!("SELECT {ORG_COLUMNS} FROM organisations")).fetch_all(&mut *tx).await? {
            snapshot.organisations.push(org_from_row(&row)?);
        }
        for row in sqlx::query(&format!("SELECT {GROUP_COLUMNS} FROM user_groups")).fetch_all(&mut *tx).await? {
            snapshot.groups.push(group_from_row(&row)?);
        }
        for row in sqlx::query("SELECT group_id, user_id, is_admin FROM group_members").fetch_all(&mut *tx).await? {
            snapshot.group_members.push(GroupMemberRow {
                group: GroupId(row.try_get("group_id")?),
                user: UserId(row.try_get("user_id")?),
                is_admin: row.try_get::<i64, _>("is_admin")? != 0,
            });
        }
        for row in sqlx::query(&format!("SELECT {SHARE_COLUMNS} FROM shares")).fetch_all(&mut *tx).await? {
            snapshot.shares.push(share_from_row(&row)?);
        }
        for row in sqlx::query("SELECT share_id, user_id, name, hidden FROM share_mounts").fetch_all(&mut *tx).await? {
            snapshot.share_mounts.push(ShareMountRow {
                share: row.try_get("share_id")?,
                user: UserId(row.try_get("user_id")?),
                name: row.try_get("name")?,
                hidden: row.try_get::<i64, _>("hidden")? != 0,
            });
        }
        for row in sqlx::query("SELECT token_hash, user_id, purpose, expires_at FROM account_tokens")
            .fetch_all(&mut *tx)
            .await?
        {
            snapshot.account_tokens.push(AccountTokenRow {
                token_hash: row.try_get("token_hash")?,
                token: AccountToken {
                    user: UserId(row.try_get("user_id")?),
                    purpose: row.try_get("purpose")?,
                    expires_at: row.try_get("expires_at")?,
                },
            });
        }
        for row in sqlx::query(
            "SELECT id, user_id, subject, message, object_type, object_id, created_at, mail_state FROM notifications",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            snapshot.notifications.push(notification_from_row(&row)?);
        }
        for row in sqlx::query("SELECT id, user_id, kind, actor, subject, object_id, created_at FROM activities")
            .fetch_all(&mut *tx)
            .await?
        {
            snapshot.activities.push(activity_from_row(&row)?);
        }
        for row in sqlx::query(&format!("SELECT {SPACE_COLUMNS} FROM spaces")).fetch_all(&mut *tx).await? {
            snapshot.spaces.push(space_from_row(&row)?);
        }
        for row in sqlx::query(&format!("SELECT {COMMENT_COLUMNS} FROM comments")).fetch_all(&mut *tx).await? {
            snapshot.comments.push(comment_from_row(&row)?);
        }
        for row in sqlx::query(&format!("SELECT {TAG_COLUMNS} FROM tags")).fetch_all(&mut *tx).await? {
            snapshot.tags.push(tag_from_row(&row)?);
        }
        for row in sqlx::query("SELECT node_id, tag_id FROM node_tags").fetch_all(&mut *tx).await? {
            snapshot.node_tags.push(NodeTagRow { node: NodeId(row.try_get("node_id")?), tag: row.try_get("tag_id")? });
        }
        for row in sqlx::query(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log")).fetch_all(&mut *tx).await? {
            snapshot.audit_log.push(audit_from_row(&row)?);
        }
        if let Some(row) = sqlx::query("SELECT entry_id, hash FROM audit_anchor").fetch_optional(&mut *tx).await? {
            snapshot.audit_anchor = Some(AuditAnchor { id: row.try_get("entry_id")?, hash: row.try_get("hash")? });
        }
        // AUTOINCREMENT keeps the highest id ever used here, deleted rows included.
        snapshot.node_id_high_water =
            sqlx::query_scalar("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'nodes'), 0)")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        snapshot.sort();
        Ok(snapshot)
    }

    async fn import_snapshot(&self, snapshot: &Snapshot) -> MetaResult<()> {
        let nodes = snapshot.nodes_parents_first()?;
        snapshot.check_references()?;
        let mut tx = self.begin().await?;
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *tx).await?;
        let node_count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM nodes").fetch_one(&mut *tx).await?;
        let tenancy: i64 =
            sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM organisations) + (SELECT COUNT(*) FROM user_groups)")
                .fetch_one(&mut *tx)
                .await?;
        // An audit log of its own would fork the copied chain.
        let audit: i64 =
            sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM audit_log) + (SELECT COUNT(*) FROM audit_anchor)")
                .fetch_one(&mut *tx)
                .await?;
        if audit > 0 {
            return Err(MetaError::Conflict(format!("the target metadata store has an audit log ({audit} rows)")));
        }
        if users + node_count + tenancy > 0 {
            return Err(MetaError::Conflict(format!(
                "the target metadata store is not empty ({users} accounts, {node_count} files and folders, \
                 {tenancy} organisations and groups)"
            )));
        }
        // Foreign-key order: organisations, accounts (inviters set once all accounts exist),
        // groups and members, the file tree, then spaces and the shares that reference them.
        for org in &snapshot.organisations {
            sqlx::query(&format!("INSERT INTO organisations ({ORG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"))
                .bind(org.id.0)
                .bind(&org.name)
                .bind(&org.display_name)
                .bind(org.quota)
                .bind(org.link_password_required)
                .bind(org.link_max_expiry_days)
                .bind(org.created_at)
                .bind(org.version_daily_days)
                .bind(org.version_quota_percent)
                .execute(&mut *tx)
                .await?;
        }
        for user in &snapshot.users {
            let kind = if user.is_space {
                "space"
            } else if user.is_guest {
                "guest"
            } else {
                "user"
            };
            sqlx::query(
                "INSERT INTO users (id, name, display_name, email, password_hash, quota, is_admin, created_at, \
                 last_failed_login, org_id, org_admin, kind, notify_by_email, language, mail_digest) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(user.id.0)
            .bind(&user.name)
            .bind(&user.display_name)
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(user.quota)
            .bind(user.is_admin)
            .bind(user.created_at)
            .bind(user.last_failed_login)
            .bind(user.org.map(|org| org.0))
            .bind(user.org_admin)
            .bind(kind)
            .bind(user.notify_by_email)
            .bind(&user.language)
            .bind(&user.mail_digest)
            .execute(&mut *tx)
            .await?;
        }
        for user in snapshot.users.iter().filter(|user| user.invited_by.is_some()) {
            sqlx::query("UPDATE users SET invited_by = ? WHERE id = ?")
                .bind(user.invited_by.map(|inviter| inviter.0))
                .bind(user.id.0)
                .execute(&mut *tx)
                .await?;
        }
        for group in &snapshot.groups {
            sqlx::query(&format!("INSERT INTO user_groups ({GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?)"))
                .bind(group.id.0)
                .bind(&group.name)
                .bind(&group.display_name)
                .bind(group.org.map(|org| org.0))
                .bind(group.created_at)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.group_members {
            sqlx::query("INSERT INTO group_members (group_id, user_id, is_admin) VALUES (?, ?, ?)")
                .bind(row.group.0)
                .bind(row.user.0)
                .bind(row.is_admin)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.app_passwords {
            sqlx::query(
                "INSERT INTO app_passwords (id, user_id, label, token_hash, created_at, last_used) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(row.id)
            .bind(row.user.0)
            .bind(&row.label)
            .bind(&row.token_hash)
            .bind(row.created_at)
            .bind(row.last_used)
            .execute(&mut *tx)
            .await?;
        }
        for node in nodes {
            sqlx::query(&format!("INSERT INTO nodes ({NODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
                .bind(node.id.0)
                .bind(node.owner.0)
                .bind(node.parent.map(|parent| parent.0))
                .bind(&node.name)
                .bind(node.is_dir)
                .bind(node.size)
                .bind(node.mtime)
                .bind(node.ctime)
                .bind(&node.etag)
                .bind(node.version.map(|version| version.0))
                .bind(&node.checksum)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.versions {
            sqlx::query("INSERT INTO versions (id, node_id, size, content_hash, created_at) VALUES (?, ?, ?, ?, ?)")
                .bind(row.id.0)
                .bind(row.node.0)
                .bind(row.size)
                .bind(&row.content_hash)
                .bind(row.created_at)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.version_blocks {
            sqlx::query("INSERT INTO version_blocks (version_id, seq, hash, len) VALUES (?, ?, ?, ?)")
                .bind(row.version.0)
                .bind(row.seq)
                .bind(&row.hash)
                .bind(row.len)
                .execute(&mut *tx)
                .await?;
        }
        for block in &snapshot.inline_blocks {
            sqlx::query("INSERT INTO inline_blocks (hash, data) VALUES (?, ?)")
                .bind(&block.hash)
                .bind(&block.data)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.dead_props {
            sqlx::query("INSERT INTO dead_props (node_id, ns, name, value) VALUES (?, ?, ?, ?)")
                .bind(row.node.0)
                .bind(&row.prop.ns)
                .bind(&row.prop.name)
                .bind(&row.prop.value)
                .execute(&mut *tx)
                .await?;
        }
        for lock in &snapshot.locks {
            sqlx::query(
                "INSERT INTO locks (token, owner_id, path, depth_infinite, exclusive, owner_xml, timeout_secs, \
                 expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&lock.token)
            .bind(lock.owner.0)
            .bind(&lock.path)
            .bind(lock.depth_infinite)
            .bind(lock.exclusive)
            .bind(&lock.owner_xml)
            .bind(lock.timeout_secs)
            .bind(lock.expires_at)
            .execute(&mut *tx)
            .await?;
        }
        for upload in &snapshot.uploads {
            sqlx::query(&format!("INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"))
                .bind(upload.id)
                .bind(upload.owner.0)
                .bind(&upload.name)
                .bind(&upload.destination)
                .bind(upload.total_length)
                .bind(upload.created_at)
                .bind(upload.updated_at)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.upload_chunks {
            sqlx::query("INSERT INTO upload_chunks (upload_id, name, size, created_at) VALUES (?, ?, ?, ?)")
                .bind(row.upload)
                .bind(&row.name)
                .bind(row.size)
                .bind(row.created_at)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.upload_chunk_blocks {
            sqlx::query(
                "INSERT INTO upload_chunk_blocks (upload_id, chunk_name, seq, hash, len) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(row.upload)
            .bind(&row.chunk)
            .bind(row.seq)
            .bind(&row.hash)
            .bind(row.len)
            .execute(&mut *tx)
            .await?;
        }
        for space in &snapshot.spaces {
            sqlx::query(&format!("INSERT INTO spaces ({SPACE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"))
                .bind(space.id.0)
                .bind(&space.name)
                .bind(&space.display_name)
                .bind(space.account.0)
                .bind(space.folder.0)
                .bind(space.org.map(|org| org.0))
                .bind(space.group.map(|group| group.0))
                .bind(space.created_at)
                .execute(&mut *tx)
                .await?;
        }
        for share in &snapshot.shares {
            let (user, group, org) = recipient_columns(&share.recipient);
            sqlx::query(&format!(
                "INSERT INTO shares ({SHARE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .bind(share.id)
            .bind(share.sharer.0)
            .bind(share.node.0)
            .bind(share.recipient.share_type())
            .bind(user)
            .bind(group)
            .bind(org)
            .bind(share.permissions)
            .bind(&share.token)
            .bind(&share.password_hash)
            .bind(share.expires_at)
            .bind(share.download_limit)
            .bind(share.download_count)
            .bind(&share.label)
            .bind(&share.note)
            .bind(share.hide_download)
            .bind(share.created_at)
            .bind(share.space.map(|space| space.0))
            .execute(&mut *tx)
            .await?;
        }
        for row in &snapshot.share_mounts {
            sqlx::query("INSERT INTO share_mounts (share_id, user_id, name, hidden) VALUES (?, ?, ?, ?)")
                .bind(row.share)
                .bind(row.user.0)
                .bind(&row.name)
                .bind(row.hidden)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.account_tokens {
            sqlx::query("INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at) VALUES (?, ?, ?, ?)")
                .bind(&row.token_hash)
                .bind(row.token.user.0)
                .bind(&row.token.purpose)
                .bind(row.token.expires_at)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.notifications {
            sqlx::query(
                "INSERT INTO notifications (id, user_id, subject, message, object_type, object_id, created_at, mail_state) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(row.id)
            .bind(row.user.0)
            .bind(&row.subject)
            .bind(&row.message)
            .bind(&row.object_type)
            .bind(&row.object_id)
            .bind(row.created_at)
            .bind(row.mail_state.code())
            .execute(&mut *tx)
            .await?;
        }
        for row in &snapshot.activities {
            sqlx::query(
                "INSERT INTO activities (id, user_id, kind, actor, subject, object_id, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(row.id)
            .bind(row.user.0)
            .bind(&row.kind)
            .bind(&row.actor)
            .bind(&row.subject)
            .bind(row.object_id)
            .bind(row.created_at)
            .execute(&mut *tx)
            .await?;
        }
        for row in &snapshot.comments {
            sqlx::query(&format!("INSERT INTO comments ({COMMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"))
                .bind(row.id)
                .bind(row.node.0)
                .bind(row.author.map(|author| author.0))
                .bind(&row.author_name)
                .bind(&row.message)
                .bind(row.created_at)
                .bind(row.edited_at)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.tags {
            sqlx::query(&format!("INSERT INTO tags ({TAG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"))
                .bind(row.id)
                .bind(row.org.map(|org| org.0))
                .bind(&row.name)
                .bind(i64::from(row.user_visible))
                .bind(i64::from(row.user_assignable))
                .bind(row.created_at)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.audit_log {
            sqlx::query(&format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"))
                .bind(row.id)
                .bind(row.at)
                .bind(&row.actor)
                .bind(&row.ip)
                .bind(&row.action)
                .bind(&row.object)
                .bind(&row.detail)
                .bind(&row.prev_hash)
                .bind(&row.hash)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(anchor) = &snapshot.audit_anchor {
            sqlx::query("INSERT INTO audit_anchor (singleton, entry_id, hash) VALUES (1, ?, ?)")
                .bind(anchor.id)
                .bind(&anchor.hash)
                .execute(&mut *tx)
                .await?;
        }
        for row in &snapshot.node_tags {
            sqlx::query("INSERT INTO node_tags (node_id, tag_id) VALUES (?, ?)")
                .bind(row.node.0)
                .bind(row.tag)
                .execute(&mut *tx)
                .await?;
        }
        // Explicit ids already raised `sqlite_sequence` to the largest imported id (nodes and
        // shares use AUTOINCREMENT; the other tables' rowids continue above their largest); ids
        // of nodes deleted in the source must not come back either.
        let raised = sqlx::query("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'nodes'")
            .bind(snapshot.node_id_high_water)
            .execute(&mut *tx)
            .await?;
        if raised.rows_affected() == 0 && snapshot.node_id_high_water > 0 {
            sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('nodes', ?)")
                .bind(snapshot.node_id_high_water)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
