//! Plain data types stored by the metadata store: ids, accounts, nodes, versions, locks.

/// Identifies an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

/// Identifies a file or folder; stable across renames and moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub i64);

/// Identifies one committed version of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionId(pub i64);

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub password_hash: String,
    /// Maximum bytes the account may store; `None` means unlimited.
    pub quota: Option<i64>,
    pub is_admin: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub quota: Option<i64>,
    pub is_admin: bool,
}

/// A file or folder in an owner's tree.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: NodeId,
    pub owner: UserId,
    /// `None` for the owner's root folder.
    pub parent: Option<NodeId>,
    pub name: String,
    pub is_dir: bool,
    /// File size, or the total size of everything below a folder.
    pub size: i64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Creation time, seconds since the epoch.
    pub ctime: i64,
    /// Opaque strong entity tag; changes with every change of the node or anything below it.
    pub etag: String,
    pub version: Option<VersionId>,
}

/// One content-addressed block of a file version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRef {
    /// BLAKE3 hash of the block, lower-case hex.
    pub hash: String,
    pub len: i64,
}

/// What must hold about the existing file for a commit to go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Anything,
    /// The name must be free (If-None-Match: *).
    Absent,
    /// The file must exist (If-Match: *).
    Present,
    /// The file must exist with this ETag (If-Match).
    Etag(String),
}

/// A new file version to make visible.
#[derive(Debug, Clone)]
pub struct FileCommit {
    pub parent: NodeId,
    pub name: String,
    pub blocks: Vec<BlockRef>,
    pub size: i64,
    /// BLAKE3 of the whole content, lower-case hex.
    pub content_hash: String,
    pub mtime: i64,
    pub now: i64,
    pub expect: Expect,
    /// The owner's quota, checked inside the transaction.
    pub quota: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub source: NodeId,
    pub new_parent: NodeId,
    pub new_name: String,
    pub recursive: bool,
    pub replace: Option<NodeId>,
    pub quota: Option<i64>,
    pub now: i64,
}

/// A dead (client-defined) WebDAV property. `value` is a serialized XML fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProp {
    pub ns: String,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub enum PropOp {
    Set(DeadProp),
    Remove { ns: String, name: String },
}

/// A WebDAV write lock on a path of an owner's tree.
#[derive(Debug, Clone)]
pub struct Lock {
    pub token: String,
    pub owner: UserId,
    /// Normalised path inside the owner's tree, `/` for the root, no trailing slash otherwise.
    pub path: String,
    pub depth_infinite: bool,
    pub exclusive: bool,
    /// The client's `<owner>` element, serialized XML (may be empty).
    pub owner_xml: String,
    pub timeout_secs: i64,
    pub expires_at: i64,
}

/// A block referenced by a file's current version.
#[derive(Debug, Clone)]
pub struct BlockUse {
    pub hash: String,
    pub len: i64,
    pub node: NodeId,
}
