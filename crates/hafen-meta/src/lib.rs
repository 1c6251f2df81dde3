//! Metadata store: accounts, the file tree, file versions (as lists of content-addressed
//! blocks), dead properties and WebDAV locks.
//!
//! This crate owns the `MetaStore` trait and its implementations (SQLite, the embedded
//! default, and PostgreSQL for several nodes sharing one database). The trait is shaped after
//! domain operations, not SQL: every method that changes several rows runs in exactly one
//! database transaction, which is the single commit point of the system (a file version
//! exists exactly when its row is committed).

mod audit;
mod model;
mod postgres;
mod snapshot;
mod sqlite;

pub use audit::*;
pub use model::*;
pub use postgres::PostgresStore;
pub use snapshot::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use std::sync::Arc;

/// Errors of the metadata layer. Semantic variants are meant to be mapped by the core;
/// `Backend` is always an internal error.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("quota exceeded")]
    QuotaExceeded,
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// A batched commit failed as a whole.
    #[error("commit failed: {0}")]
    Commit(String),
}

impl MetaError {
    /// The database could not be reached or is going away (connection refused or lost, pool
    /// exhausted, server shutting down): worth retrying later, not a fault of the request.
    pub fn is_unavailable(&self) -> bool {
        match self {
            MetaError::Backend(error) => match error {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // PostgreSQL: connection exceptions (08…), shutdown or start-up in progress
                // (57P01-57P03); SQLite: locked out for too long.
                sqlx::Error::Database(database) => database.code().is_some_and(|code| {
                    code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "5" | "6")
                }),
                _ => false,
            },
            _ => false,
        }
    }

    /// The database's disk is full (SQLite's SQLITE_FULL, PostgreSQL's disk_full).
    pub fn is_storage_full(&self) -> bool {
        match self {
            MetaError::Backend(sqlx::Error::Database(database)) => {
                database.code().is_some_and(|code| matches!(code.as_ref(), "13" | "53100"))
            }
            // A group commit reports the statement's error as text.
            MetaError::Commit(message) => message.contains("database or disk is full"),
            _ => false,
        }
    }
}

pub type MetaResult<T> = Result<T, MetaError>;

/// The metadata store. Implementations must make each method atomic.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    // ---- accounts ----
    async fn count_users(&self) -> MetaResult<i64>;
    /// Creates the account and its (empty) root folder in one transaction.
    async fn create_user(&self, new_user: &NewUser, now: i64) -> MetaResult<User>;
    async fn user_by_name(&self, name: &str) -> MetaResult<Option<User>>;
    /// A hidden account (kind `space`: project spaces' and trash bins' data) by name.
    async fn hidden_account(&self, name: &str) -> MetaResult<Option<User>>;
    async fn list_users(&self) -> MetaResult<Vec<User>>;
    async fn set_password_hash(&self, user: UserId, password_hash: &str) -> MetaResult<()>;
    /// Deletes the account, its tree, app passwords and locks. Its blocks become garbage.
    async fn delete_user(&self, user: UserId) -> MetaResult<()>;
    async fn add_app_password(&self, user: UserId, label: &str, token_hash: &str, now: i64) -> MetaResult<()>;
    /// Looks an app password up by the hash of its token.
    async fn user_by_app_password(&self, token_hash: &str) -> MetaResult<Option<User>>;

    // ---- tree ----
    async fn root(&self, owner: UserId) -> MetaResult<Node>;
    async fn node(&self, id: NodeId) -> MetaResult<Option<Node>>;
    /// Walks `names` from the owner's root. Returns the chain of nodes found, starting with
    /// the root; it is shorter than `names.len() + 1` when a component is missing.
    async fn resolve(&self, owner: UserId, names: &[String]) -> MetaResult<Vec<Node>>;
    async fn children(&self, parent: NodeId) -> MetaResult<Vec<Node>>;
    /// `/owner/a/b` style path of a node, for reports.
    async fn node_path(&self, id: NodeId) -> MetaResult<String>;
    async fn create_folder(&self, parent: NodeId, name: &str, now: i64) -> MetaResult<Node>;
    /// Makes a new file version visible: creates or updates the file node in one transaction,
    /// checking `expect` and the owner's quota inside it, and updates ancestor sizes and ETags.
    /// Returns the node and whether it was created.
    async fn commit_file(&self, commit: &FileCommit) -> MetaResult<(Node, bool)>;
    /// Deletes a node and everything below it.
    async fn delete_node(&self, id: NodeId) -> MetaResult<()>;
    /// Moves/renames `id` under `new_parent` as `new_name`, replacing `replace` first if given.
    async fn move_node(
        &self,
        id: NodeId,
        new_parent: NodeId,
        new_name: &str,
        replace: Option<NodeId>,
    ) -> MetaResult<Node>;
    /// Copies `id` (with its whole subtree when `recursive`) without copying data: the copies'
    /// versions point at the same blocks. Replaces `replace` first if given.
    async fn copy_node(&self, request: &CopyRequest) -> MetaResult<Node>;
    async fn set_mtime(&self, id: NodeId, mtime: i64) -> MetaResult<Node>;
    async fn version_blocks(&self, version: VersionId) -> MetaResult<Vec<BlockRef>>;
    /// The stored versions of a file, its current one included, newest first. An overwrite
    /// keeps the replaced version (its blocks stay referenced) until it is deleted here.
    async fn file_versions(&self, node: NodeId) -> MetaResult<Vec<FileVersion>>;
    /// Deletes older versions of a file (never its current one); returns how many went.
    async fn delete_versions(&self, node: NodeId, versions: &[VersionId]) -> MetaResult<u64>;
    /// The version's blocks with the data of those stored inline, in one query (downloads).
    async fn version_content(&self, version: VersionId) -> MetaResult<Vec<(BlockRef, Option<Vec<u8>>)>>;

    // ---- dead properties ----
    async fn dead_props(&self, node: NodeId) -> MetaResult<Vec<DeadProp>>;
    /// The dead properties of several nodes in one query (a PROPFIND listing), by node and
    /// then namespace and name.
    async fn dead_props_of(&self, nodes: &[NodeId]) -> MetaResult<Vec<(NodeId, DeadProp)>>;
    /// Applies all operations atomically, in order.
    async fn patch_dead_props(&self, node: NodeId, ops: &[PropOp]) -> MetaResult<()>;
    /// The nodes carrying the dead property `ns`/`name` (per-account markers such as
    /// favourites), in id order.
    async fn nodes_with_dead_prop(&self, ns: &str, name: &str) -> MetaResult<Vec<NodeId>>;

    // ---- locks ----
    /// All unexpired locks in the owner's tree (expired ones are purged).
    async fn active_locks(&self, owner: UserId, now: i64) -> MetaResult<Vec<Lock>>;
    /// Inserts `lock` unless `conflicts`, given the owner's active locks, says it conflicts;
    /// the check and the insert are one transaction, serialised per owner across all nodes.
    /// Returns whether the lock was granted.
    async fn insert_lock(
        &self,
        lock: &Lock,
        conflicts: &(dyn for<'l> Fn(&'l [Lock]) -> bool + Send + Sync),
    ) -> MetaResult<bool>;
    async fn refresh_lock(&self, token: &str, timeout_secs: i64, expires_at: i64) -> MetaResult<()>;
    async fn delete_lock(&self, token: &str) -> MetaResult<bool>;
    /// Removes the locks rooted at `path` or below it.
    async fn delete_locks_under(&self, owner: UserId, path: &str) -> MetaResult<()>;

    // ---- integrity ----
    /// Every block referenced by a committed version or an upload in progress.
    async fn referenced_blocks(&self) -> MetaResult<Vec<BlockUse>>;

    /// The data of a block stored inline (see `FileCommit::inline_blocks`).
    async fn inline_block(&self, hash: &str) -> MetaResult<Option<Vec<u8>>>;
    /// Hashes of inline blocks after `after` in hash order, at most `limit` (key rotation walks
    /// them page by page).
    async fn inline_block_hashes(&self, after: &str, limit: i64) -> MetaResult<Vec<String>>;
    /// Replaces an inline block's stored form by another form of the same content (key
    /// rotation re-encrypting it); returns whether the block was there.
    async fn replace_inline_block(&self, hash: &str, data: &[u8]) -> MetaResult<bool>;
    /// Deletes inline blocks no version references any more; returns how many.
    async fn collect_inline_garbage(&self) -> MetaResult<u64>;

    // ---- login throttling (shared by all nodes) ----
    /// Until when (seconds since the epoch) logins to `account` from `address` are refused:
    /// the later of the per-address and the account-wide block; 0 when not blocked.
    async fn login_blocked_until(&self, account: &str, address: &str) -> MetaResult<i64>;
    /// Counts a failed login for (account, address) and for the account over all addresses;
    /// `backoff(failures, account_wide)` gives the seconds to block after that many failures.
    /// Also stamps `users.last_failed_login`.
    async fn record_login_failure(
        &self,
        account: &str,
        address: &str,
        now: i64,
        backoff: &(dyn Fn(i64, bool) -> i64 + Send + Sync),
    ) -> MetaResult<()>;
    /// Forgets the failures of (account, address) after a successful login.
    async fn clear_login_failures(&self, account: &str, address: &str) -> MetaResult<()>;

    // ---- app passwords ----
    async fn list_app_passwords(&self, user: UserId) -> MetaResult<Vec<AppPassword>>;
    async fn delete_app_password(&self, user: UserId, id: i64) -> MetaResult<bool>;
    async fn delete_app_password_by_hash(&self, token_hash: &str) -> MetaResult<bool>;

    // ---- chunked uploads ----
    async fn create_upload(
        &self,
        owner: UserId,
        name: &str,
        destination: Option<&str>,
        total_length: Option<i64>,
        now: i64,
    ) -> MetaResult<UploadSession>;
    async fn upload(&self, owner: UserId, name: &str) -> MetaResult<Option<UploadSession>>;
    async fn list_uploads(&self, owner: UserId) -> MetaResult<Vec<UploadSession>>;
    /// Chunks ordered by name.
    async fn upload_chunks(&self, upload: i64) -> MetaResult<Vec<UploadChunk>>;
    /// Records a received chunk (replacing one of the same name) and refreshes the session.
    async fn put_upload_chunk(
        &self,
        upload: i64,
        name: &str,
        blocks: &[BlockRef],
        size: i64,
        now: i64,
    ) -> MetaResult<()>;
    async fn delete_upload_chunk(&self, upload: i64, name: &str) -> MetaResult<bool>;
    async fn delete_upload(&self, upload: i64) -> MetaResult<()>;
    /// All blocks of the session with their chunk's name, ordered by chunk name and position.
    async fn upload_blocks(&self, upload: i64) -> MetaResult<Vec<(String, BlockRef)>>;
    /// Commits the assembled file and removes the session, in one transaction.
    async fn finish_upload(&self, upload: i64, commit: &FileCommit) -> MetaResult<(Node, bool)>;
    /// Removes sessions untouched since `before`; returns how many.
    async fn expire_uploads(&self, before: i64) -> MetaResult<u64>;

    // ---- login flow v2 ----
    async fn insert_login_flow(&self, flow: &LoginFlow) -> MetaResult<()>;
    async fn login_flow(&self, login_token: &str) -> MetaResult<Option<LoginFlow>>;
    /// Records the grant: the user and the app password to hand out.
    async fn grant_login_flow(&self, login_token: &str, user: UserId, app_password: &str) -> MetaResult<bool>;
    /// Returns and deletes a granted flow (single use); `None` while pending or unknown.
    async fn take_login_flow(&self, poll_token_hash: &str) -> MetaResult<Option<LoginFlow>>;
    async fn expire_login_flows(&self, before: i64) -> MetaResult<u64>;

    // ---- organisations and groups ----
    async fn create_org(&self, org: &Organisation) -> MetaResult<Organisation>;
    async fn org(&self, id: OrgId) -> MetaResult<Option<Organisation>>;
    async fn org_by_name(&self, name: &str) -> MetaResult<Option<Organisation>>;
    async fn list_orgs(&self) -> MetaResult<Vec<Organisation>>;
    /// Writes display name, quota and link policy.
    async fn update_org(&self, org: &Organisation) -> MetaResult<()>;
    /// Bytes stored by all accounts of the organisation.
    async fn org_used_bytes(&self, id: OrgId) -> MetaResult<i64>;
    /// Writes the account's organisation, admin flags, display name, e-mail and quota.
    async fn update_user(&self, user: &User) -> MetaResult<()>;
    async fn user(&self, id: UserId) -> MetaResult<Option<User>>;
    async fn create_group(&self, group: &Group) -> MetaResult<Group>;
    async fn group_by_name(&self, name: &str) -> MetaResult<Option<Group>>;
    async fn group(&self, id: GroupId) -> MetaResult<Option<Group>>;
    async fn list_groups(&self) -> MetaResult<Vec<Group>>;
    async fn delete_group(&self, id: GroupId) -> MetaResult<bool>;
    /// Adds the member or changes their admin flag.
    async fn set_group_member(&self, group: GroupId, user: UserId, is_admin: bool) -> MetaResult<()>;
    async fn remove_group_member(&self, group: GroupId, user: UserId) -> MetaResult<bool>;
    /// Members with their group-admin flag.
    async fn group_members(&self, group: GroupId) -> MetaResult<Vec<(UserId, bool)>>;
    /// The groups the account belongs to, with its group-admin flag in each.
    async fn groups_of(&self, user: UserId) -> MetaResult<Vec<(Group, bool)>>;

    // ---- shares ----
    /// Inserts the share (its `id` and `download_count` are ignored) and returns it stored.
    async fn create_share(&self, share: &Share) -> MetaResult<Share>;
    async fn share(&self, id: i64) -> MetaResult<Option<Share>>;
    async fn share_by_token(&self, token: &str) -> MetaResult<Option<Share>>;
    /// Writes permissions, password, expiry, download limit, label, note and hide-download.
    async fn update_share(&self, share: &Share) -> MetaResult<()>;
    async fn delete_share(&self, id: i64) -> MetaResult<bool>;
    /// Shares created by `sharer`.
    async fn shares_by_sharer(&self, sharer: UserId) -> MetaResult<Vec<Share>>;
    /// All shares of the given nodes (share types in a folder listing), in one query.
    async fn shares_of_nodes(&self, nodes: &[NodeId]) -> MetaResult<Vec<Share>>;
    /// Every share `user` receives directly, through a group or through its organisation,
    /// with the user's mount name and hidden flag, in one query, ordered by share id.
    async fn received_shares(&self, user: UserId) -> MetaResult<Vec<ReceivedShare>>;
    /// Sets the recipient's own name for a share and whether they left it.
    async fn set_share_mount(&self, share: i64, user: UserId, name: Option<&str>, hidden: bool) -> MetaResult<()>;
    /// Counts one download of a link unless its limit is reached; returns whether it counted.
    /// The check and the increment are one statement, so concurrent downloads cannot exceed it.
    async fn count_link_download(&self, share: i64) -> MetaResult<bool>;
    /// The nodes from the root down to `id` (inclusive), in one query.
    async fn node_chain(&self, id: NodeId) -> MetaResult<Vec<Node>>;
    /// The nodes with these ids (missing ones are left out).
    async fn nodes(&self, ids: &[NodeId]) -> MetaResult<Vec<Node>> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(node) = self.node(*id).await? {
                found.push(node);
            }
        }
        Ok(found)
    }

    /// Inserts all shares in one transaction (a space's members added in bulk).
    async fn create_shares(&self, shares: &[Share]) -> MetaResult<Vec<Share>>;
    /// The distinct (node, share type) pairs of the shares `sharer` made of these nodes, not
    /// counting space memberships: the share types of a listing in one query, however many
    /// recipients a node has.
    async fn share_types_by(&self, sharer: UserId, nodes: &[NodeId]) -> MetaResult<Vec<(NodeId, i64)>>;

    // ---- project spaces ----
    /// Creates the space, its account (kind `space`, with the space's quota and organisation),
    /// the account's root and the space's folder, in one transaction.
    async fn create_space(&self, space: &NewSpace, now: i64) -> MetaResult<Space>;
    async fn space(&self, id: SpaceId) -> MetaResult<Option<Space>>;
    async fn space_by_name(&self, name: &str) -> MetaResult<Option<Space>>;
    async fn list_spaces(&self) -> MetaResult<Vec<Space>>;
    /// Writes the display name.
    async fn update_space(&self, space: &Space) -> MetaResult<()>;
    /// The memberships of the space (shares marked with it), ordered by id.
    async fn space_members(&self, space: SpaceId) -> MetaResult<Vec<Share>>;
    /// Creates the accounts (each with its root folder) in one transaction.
    async fn create_users(&self, users: &[NewUser], now: i64) -> MetaResult<Vec<User>>;

    // ---- one-time account links and notifications ----
    async fn insert_account_token(&self, token_hash: &str, token: &AccountToken) -> MetaResult<()>;
    /// Returns and deletes the token (single use).
    async fn take_account_token(&self, token_hash: &str) -> MetaResult<Option<AccountToken>>;
    /// The token without using it up (web sessions are looked up on every request).
    async fn account_token(&self, token_hash: &str) -> MetaResult<Option<AccountToken>>;
    /// Deletes every token of `user` with `purpose` (all web sessions at a password change).
    async fn delete_account_tokens(&self, user: UserId, purpose: &str) -> MetaResult<u64>;
    async fn add_notification(&self, notification: &Notification) -> MetaResult<i64>;
    /// Appends activity entries (one transaction; their `id` is assigned).
    async fn add_activities(&self, activities: &[Activity]) -> MetaResult<()>;
    /// The account's activities newest first: at most `limit`, only ids below `before` when it
    /// is given (paging), only of `kinds` when that is not empty.
    async fn activities(
        &self,
        user: UserId,
        before: Option<i64>,
        kinds: &[String],
        limit: i64,
    ) -> MetaResult<Vec<Activity>>;
    /// Deletes activities created before `before`; returns how many.
    async fn expire_activities(&self, before: i64) -> MetaResult<u64>;
    async fn notifications(&self, user: UserId) -> MetaResult<Vec<Notification>>;
    async fn delete_notification(&self, user: UserId, id: i64) -> MetaResult<bool>;
    /// The accounts with notifications waiting for an e-mail digest, each with the creation
    /// time of its oldest waiting one.
    async fn mail_waiting(&self) -> MetaResult<Vec<(UserId, i64)>>;
    /// Marks the account's waiting notifications as mailed and returns them, oldest first (one
    /// statement: of nodes racing for the same digest, one gets them).
    async fn claim_mail(&self, user: UserId) -> MetaResult<Vec<Notification>>;
    /// Sets the e-mail state of the notifications `ids` (a digest that could not be sent goes
    /// back to waiting).
    async fn set_mail_state(&self, ids: &[i64], state: MailState) -> MetaResult<()>;

    // ---- comments and tags ----
    /// Stores a comment; returns its id.
    async fn add_comment(&self, comment: &Comment) -> MetaResult<i64>;
    /// The comments on `node`, oldest first.
    async fn comments(&self, node: NodeId) -> MetaResult<Vec<Comment>>;
    async fn comment(&self, id: i64) -> MetaResult<Option<Comment>>;
    /// Replaces a comment's message; false when there is no such comment.
    async fn edit_comment(&self, id: i64, message: &str, edited_at: i64) -> MetaResult<bool>;
    async fn delete_comment(&self, id: i64) -> MetaResult<bool>;
    /// How many comments each of `nodes` has (nodes without any are left out).
    async fn comment_counts(&self, nodes: &[NodeId]) -> MetaResult<Vec<(NodeId, i64)>>;
    /// Creates a tag; `AlreadyExists` when its organisation has one of that name.
    async fn create_tag(&self, tag: &Tag) -> MetaResult<Tag>;
    /// The tags of an organisation (`None`: of the accounts without one), by name.
    async fn tags(&self, org: Option<OrgId>) -> MetaResult<Vec<Tag>>;
    async fn tag(&self, id: i64) -> MetaResult<Option<Tag>>;
    /// Deletes a tag and its assignments.
    async fn delete_tag(&self, id: i64) -> MetaResult<bool>;
    /// Assigns a tag to a node; false when it already was.
    async fn assign_tag(&self, node: NodeId, tag: i64) -> MetaResult<bool>;
    /// Removes a tag from a node; false when it was not assigned.
    async fn unassign_tag(&self, node: NodeId, tag: i64) -> MetaResult<bool>;
    /// The tags assigned to each of `nodes`, as (node, tag) pairs ordered by node and tag name.
    async fn node_tags(&self, nodes: &[NodeId]) -> MetaResult<Vec<(NodeId, Tag)>>;
    /// The nodes a tag is assigned to.
    async fn nodes_with_tag(&self, tag: i64) -> MetaResult<Vec<NodeId>>;

    // ---- audit log (see `audit.rs`) ----
    /// Appends an entry: takes the last entry's hash (or the anchor's, or the genesis value)
    /// and assigns the next id inside one transaction that excludes every other appender, on
    /// any node, so the chain never forks. Returns the stored entry.
    async fn append_audit(&self, entry: &NewAuditEntry) -> MetaResult<AuditEntry>;
    /// Entries with an id above `after_id`, only those at or after `since` when given, in id
    /// order, at most `limit` (pages for export and verification).
    async fn audit_entries(&self, since: Option<i64>, after_id: i64, limit: i64) -> MetaResult<Vec<AuditEntry>>;
    /// The anchor left by expiry; `None` while nothing was ever expired.
    async fn audit_anchor(&self) -> MetaResult<Option<AuditAnchor>>;
    /// Deletes the oldest entries up to (not including) the first one at or after `before`,
    /// so that what stays is still one unbroken chain, and records the newest deleted entry
    /// as the anchor, in one transaction. Returns how many went.
    async fn expire_audit(&self, before: i64) -> MetaResult<u64>;

    // ---- schema and whole-store copy ----
    /// The schema version of the database: the highest migration applied.
    async fn schema_version(&self) -> MetaResult<i64>;
    /// Every row of the instance, read in one consistent transaction (see [`Snapshot`] for
    /// what is left out and the memory it takes).
    async fn export_snapshot(&self) -> MetaResult<Snapshot>;
    /// Writes `snapshot` into this store in one transaction, keeping every id, and makes later
    /// ids continue above the imported ones. The store must be empty (no account, organisation
    /// or group): otherwise `Conflict` and nothing is written, as for a snapshot whose rows
    /// reference rows it does not hold.
    async fn import_snapshot(&self, snapshot: &Snapshot) -> MetaResult<()>;
}

/// Opens the metadata store named by `url` (`sqlite://PATH` or `postgres://…` /
/// `postgresql://…`), applying migrations.
pub async fn open(url: &str) -> MetaResult<Arc<dyn MetaStore>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(SqliteStore::open(std::path::Path::new(path)).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(MetaError::InvalidUrl(format!("{}: supported schemes are sqlite:// and postgres://", redact(url))))
    }
}

/// The schema version of the database `url` names, without changing anything: 0 when the
/// database (an SQLite file) or its migration table does not exist yet.
pub async fn stored_schema_version(url: &str) -> MetaResult<i64> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        SqliteStore::stored_schema_version(std::path::Path::new(path)).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        PostgresStore::stored_schema_version(url).await
    } else {
        Err(MetaError::InvalidUrl(format!("{}: supported schemes are sqlite:// and postgres://", redact(url))))
    }
}

/// The schema version this build migrates databases of `url`'s backend to.
pub fn latest_schema_version(url: &str) -> MetaResult<i64> {
    if url.starts_with("sqlite://") {
        Ok(SqliteStore::LATEST_SCHEMA_VERSION)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(PostgresStore::LATEST_SCHEMA_VERSION)
    } else {
        Err(MetaError::InvalidUrl(format!("{}: supported schemes are sqlite:// and postgres://", redact(url))))
    }
}

/// Applies the migrations up to and including `version` to the database `url` names (creating
/// an SQLite file if needed) and nothing later. For schema upgrade tests only: a store opened
/// with [`open`] afterwards applies the rest.
#[doc(hidden)]
pub async fn open_at_version(url: &str, version: i64) -> MetaResult<()> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        SqliteStore::migrate_to(std::path::Path::new(path), version).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        PostgresStore::migrate_to(url, version).await
    } else {
        Err(MetaError::InvalidUrl(format!("{}: supported schemes are sqlite:// and postgres://", redact(url))))
    }
}

/// `url` without a password it may carry (`scheme://user:secret@host` → `scheme://user:***@host`).
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}
