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

#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// When a login to this account last failed (seconds since the epoch).
    pub last_failed_login: Option<i64>,
    /// The organisation the account belongs to (none for guests and the first admin).
    pub org: Option<OrgId>,
    /// Administers the accounts, groups and quotas of its organisation.
    pub org_admin: bool,
    /// An invited third party: sees only what is shared with it, cannot share further.
    pub is_guest: bool,
    pub invited_by: Option<UserId>,
    /// The account holding a project space's data: it never logs in and is never listed.
    pub is_space: bool,
    /// Wants notifications by e-mail too (not only in the app).
    pub notify_by_email: bool,
    /// Chosen language of the web interface (`de`, `en`), empty to follow the browser.
    pub language: String,
    /// How notification e-mails are batched: `batched` (the server's digest window) or `daily`.
    pub mail_digest: String,
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub quota: Option<i64>,
    pub is_admin: bool,
    pub org: Option<OrgId>,
    pub org_admin: bool,
    pub is_guest: bool,
    pub invited_by: Option<UserId>,
    pub is_space: bool,
}

/// A file or folder in an owner's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Checksum declared by the client for the current content (`TYPE:hex`), if any.
    pub checksum: Option<String>,
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

impl Expect {
    /// Whether the current file at the name (if any) satisfies this expectation.
    pub fn holds_for(&self, existing: Option<&Node>) -> bool {
        match (self, existing) {
            (Expect::Anything, _) => true,
            (Expect::Absent, found) => found.is_none(),
            (Expect::Present, found) => found.is_some(),
            (Expect::Etag(tag), Some(node)) => &node.etag == tag,
            (Expect::Etag(_), None) => false,
        }
    }
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
    /// Checksum declared by the client (`TYPE:hex`).
    pub checksum: Option<String>,
    /// Small blocks of this version to store in the metadata database itself.
    pub inline_blocks: Vec<InlineBlock>,
}

/// One entry of an account's activity stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub id: i64,
    /// The account whose stream it is in.
    pub user: UserId,
    /// What happened: `file_created`, `file_changed`, `file_deleted`, `file_restored`,
    /// `shared`, `share_received`, `unshared`, `link_downloaded`, `file_drop_upload`.
    pub kind: String,
    /// Who did it (an account name, or `link:{share id}` for a public link's visitor).
    pub actor: String,
    /// What it happened to (a path in the account's tree, or a name).
    pub subject: String,
    pub object_id: Option<i64>,
    pub created_at: i64,
}

/// One stored version of a file (its current one included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    pub id: VersionId,
    pub node: NodeId,
    pub size: i64,
    /// BLAKE3 of the whole content, lower-case hex.
    pub content_hash: String,
    /// When this content was committed, seconds since the epoch.
    pub created_at: i64,
}

/// A small block kept in the metadata store instead of the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineBlock {
    pub hash: String,
    pub data: Vec<u8>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A block referenced by a file's current version or by a chunk of an upload in progress.
#[derive(Debug, Clone)]
pub struct BlockUse {
    pub hash: String,
    pub len: i64,
    /// The file using it; `None` for a chunk of an upload session.
    pub node: Option<NodeId>,
}

/// An app password's metadata (the token itself is never stored).
#[derive(Debug, Clone)]
pub struct AppPassword {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used: Option<i64>,
}

/// A chunked upload in progress (Nextcloud `/remote.php/dav/uploads/{user}/{name}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    pub id: i64,
    pub owner: UserId,
    /// The client's transfer id (the folder name).
    pub name: String,
    /// Target URL path given at MKCOL (chunking v2), if any.
    pub destination: Option<String>,
    pub total_length: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One received chunk of an upload; its data already lives in the blob store as blocks.
#[derive(Debug, Clone)]
pub struct UploadChunk {
    pub name: String,
    pub size: i64,
    pub created_at: i64,
}

/// State of a Login Flow v2 between its start and the client's successful poll.
#[derive(Debug, Clone)]
pub struct LoginFlow {
    /// Secret part of the browser URL.
    pub login_token: String,
    /// Hash of the token the client polls with.
    pub poll_token_hash: String,
    /// Anti-CSRF value embedded in the flow's forms.
    pub form_token: String,
    /// Name the client gave (User-Agent), shown on the grant page and used as app password label.
    pub client_name: String,
    /// Set once the user granted access.
    pub user: Option<UserId>,
    /// The app password created at grant time, handed out once by the poll.
    pub app_password: Option<String>,
    pub created_at: i64,
}

/// Identifies an organisation (a ministry, a district office, a municipality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrgId(pub i64);

/// Identifies a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    pub display_name: String,
    /// Total bytes the organisation's accounts may store together; `None` means unlimited.
    pub quota: Option<i64>,
    /// Public links of members must have a password.
    pub link_password_required: bool,
    /// Public links of members must expire within this many days.
    pub link_max_expiry_days: Option<i64>,
    pub created_at: i64,
    /// Version retention of its accounts: the newest version per day is kept this many days
    /// (then one per week); `None` for the server's default.
    pub version_daily_days: Option<i64>,
    /// Older versions of a file take at most this percentage of the owner's quota; `None` for
    /// the server's default.
    pub version_quota_percent: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub display_name: String,
    /// `None` for a project group spanning organisations.
    pub org: Option<OrgId>,
    pub created_at: i64,
}

/// Who a share is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareRecipient {
    User(UserId),
    Group(GroupId),
    Org(OrgId),
    /// A public link, reached by its token.
    Link,
}

impl ShareRecipient {
    /// The share type number Nextcloud's OCS API uses (100 is Hafen's organisation share).
    pub fn share_type(&self) -> i64 {
        match self {
            ShareRecipient::User(_) => 0,
            ShareRecipient::Group(_) => 1,
            ShareRecipient::Link => 3,
            ShareRecipient::Org(_) => 100,
        }
    }
}

/// A file or folder shared by `sharer` with a recipient or through a public link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub id: i64,
    pub sharer: UserId,
    pub node: NodeId,
    pub recipient: ShareRecipient,
    /// Bitmask: 1 read, 2 update, 4 create, 8 delete, 16 share.
    pub permissions: i64,
    pub token: Option<String>,
    /// argon2id hash of the link password.
    pub password_hash: Option<String>,
    /// The link stops working at this second (seconds since the epoch).
    pub expires_at: Option<i64>,
    pub download_limit: Option<i64>,
    pub download_count: i64,
    pub label: String,
    pub note: String,
    pub hide_download: bool,
    pub created_at: i64,
    /// Set when the share is a project space's membership (its permissions are the role).
    pub space: Option<SpaceId>,
}

/// A share as one recipient sees it: with their own name for it and whether they left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedShare {
    pub share: Share,
    /// The recipient's name for the share's top-level entry, if they renamed it.
    pub mount_name: Option<String>,
    pub hidden: bool,
}

/// A one-time account link (guest invitation, password reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountToken {
    pub user: UserId,
    pub purpose: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub user: UserId,
    pub subject: String,
    pub message: String,
    pub object_type: String,
    pub object_id: String,
    pub created_at: i64,
    pub mail_state: MailState,
}

/// Whether a notification still goes out by e-mail (in the account's next digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MailState {
    /// Waits for the next digest.
    Waiting,
    /// Mailed, or claimed by a node that is mailing it now.
    Mailed,
    /// Not to be mailed (e-mail off, no address, or no mailer).
    #[default]
    NotMailed,
}

impl MailState {
    pub fn code(self) -> i64 {
        match self {
            MailState::Waiting => 0,
            MailState::Mailed => 1,
            MailState::NotMailed => 2,
        }
    }

    pub fn from_code(code: i64) -> MailState {
        match code {
            0 => MailState::Waiting,
            1 => MailState::Mailed,
            _ => MailState::NotMailed,
        }
    }
}

/// A comment on a file or folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: i64,
    pub node: NodeId,
    /// `None` once the author's account is gone (the name stays).
    pub author: Option<UserId>,
    pub author_name: String,
    pub message: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
}

/// A collaborative tag of an organisation (`org` `None`: of the accounts without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub id: i64,
    pub org: Option<OrgId>,
    pub name: String,
    /// Shown to everyone (otherwise only to administrators).
    pub user_visible: bool,
    /// Everyone may assign it (otherwise only administrators).
    pub user_assignable: bool,
    pub created_at: i64,
}

/// Identifies a project space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpaceId(pub i64);

/// A folder owned by an organisation or a project group rather than by a person. Its data
/// lives in the tree of `account` (an account of kind `space`), at `folder`; its members are
/// shares of that folder marked with the space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    pub id: SpaceId,
    pub name: String,
    pub display_name: String,
    pub account: UserId,
    pub folder: NodeId,
    pub org: Option<OrgId>,
    pub group: Option<GroupId>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewSpace {
    pub name: String,
    pub display_name: String,
    pub org: Option<OrgId>,
    pub group: Option<GroupId>,
    /// Maximum bytes the space may hold; `None` means unlimited.
    pub quota: Option<i64>,
}

/// The name of the account holding a space's data. The colon keeps it from ever being a
/// login name (HTTP Basic splits at the first colon, and account names may not contain one).
pub fn space_account_name(space: &str) -> String {
    format!("space:{space}")
}
