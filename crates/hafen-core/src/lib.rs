//! Domain core of Hafen: the file tree with its rules (paths, conditions, locks, quotas),
//! accounts and authentication, uploads into and downloads from the content store.
//!
//! Protocol layers (WebDAV now; OCS, JSON API and web UI later) call only this crate. It owns
//! the stores behind traits (`MetaStore`, `BlobStore`) and never speaks HTTP or XML.

mod access;
mod accounts;
mod activity;
mod app_passwords;
pub mod archive;
mod audit;
mod checksum;
mod comments;
mod directory;
mod error;
mod favorites;
mod files;
mod fsck;
mod locks;
mod login_flow;
mod notifications;
mod path;
mod shares;
mod spaces;
mod tags;
mod throttle;
mod transfer;
mod trash;
mod uploads;
mod versions;
mod web_sessions;

pub use access::{perm, Clock, LinkGrant, Located, Mount, MountInfo, Viewer};
pub use accounts::{random_secret, AuthOutcome, NewAccount};
pub use activity::{ACTIVITY_PAGE_MAX, ACTIVITY_RETENTION_SECS};
pub use audit::{AuditDamage, AuditProblem, AuditReport, AUDIT_RETENTION_DEFAULT_DAYS};
pub use comments::{mentioned_names, CommentView, COMMENT_MAX_CHARS};
pub use directory::{Invitation, Sharee, INVITATION_LIFETIME_SECS};
pub use error::{CoreError, CoreResult};
pub use files::{CopyOrMove, Entry, Listing, PutOptions, PutOutcome, Quota};
pub use fsck::{Damage, DamageKind, FsckReport, RotationSummary};
pub use hafen_meta::{
    Activity, AppPassword, AuditEntry, DeadProp, Group, Lock, Node, NodeId, Notification, OrgId, Organisation, PropOp,
    Share, ShareRecipient, Space, SpaceId, Tag, UploadChunk, UploadSession, User, UserId, VersionId,
};
pub use locks::{lock_covers, LockRequest, LockResult};
pub use login_flow::{LoginFlowGrant, LoginFlowStart, PendingLoginFlow, LOGIN_FLOW_LIFETIME_SECS};
pub use notifications::MAIL_DIGESTS;
pub use path::TreePath;
pub use shares::{link_session_value, LinkInfo, NewShare, RecipientName, ShareUpdate, ShareView};
pub use spaces::{SpaceMember, SpaceOwner, SpaceRole, SpaceView};
pub use tags::TAG_NAME_MAX_CHARS;
pub use transfer::{ByteRange, FileContent};
pub use trash::TrashItem;
pub use uploads::ASSEMBLED_NAME;
pub use versions::{versions_to_drop, RetentionPolicy, VersionView};
pub use web_sessions::{csrf_token, csrf_token_matches, WebSession, WEB_SESSION_LIFETIME_SECS};

use hafen_blob::BlobStore;
use hafen_meta::MetaStore;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Maximum size of one content block. Large enough that per-block overhead (one file, one
/// row) is negligible, small enough that one block in memory per transfer stays cheap.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// Sends e-mail (invitations, notifications). The binary provides an SMTP implementation;
/// the core only knows this trait.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String>;
}

/// Optional collaborators and settings of the core.
#[derive(Default)]
pub struct CoreOptions {
    /// The time share expiry and invitation links are judged by.
    pub clock: Clock,
    pub mailer: Option<Arc<dyn Mailer>>,
    /// The server's public base URL (for links in e-mails), without trailing slash.
    pub public_url: Option<String>,
    /// How many older versions of a file are kept.
    pub retention: RetentionPolicy,
}

/// The domain core, shared by all protocol handlers.
pub struct Core {
    meta: Arc<dyn MetaStore>,
    blobs: Arc<dyn BlobStore>,
    auth_cache: accounts::AuthCache,
    /// Successful logins and link accesses logged in the last minutes (see `audit.rs`).
    audit_repeats: audit::RepeatFilter,
    /// Bounds the memory all downloads hold (see `transfer::DOWNLOAD_BLOCKS`).
    download_buffers: Arc<tokio::sync::Semaphore>,
    clock: Clock,
    mailer: Option<Arc<dyn Mailer>>,
    public_url: String,
    retention: RetentionPolicy,
}

impl Core {
    pub fn new(meta: Arc<dyn MetaStore>, blobs: Arc<dyn BlobStore>) -> Arc<Core> {
        Core::with_options(meta, blobs, CoreOptions::default())
    }

    pub fn with_options(meta: Arc<dyn MetaStore>, blobs: Arc<dyn BlobStore>, options: CoreOptions) -> Arc<Core> {
        Arc::new(Core {
            meta,
            blobs,
            auth_cache: accounts::AuthCache::default(),
            audit_repeats: audit::RepeatFilter::default(),
            download_buffers: Arc::new(tokio::sync::Semaphore::new(transfer::DOWNLOAD_BLOCKS)),
            clock: options.clock,
            retention: options.retention,
            mailer: options.mailer,
            public_url: options
                .public_url
                .unwrap_or_else(|| "http://127.0.0.1:8080".into())
                .trim_end_matches('/')
                .to_string(),
        })
    }

    /// The server's public base URL, without trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub(crate) fn block_source(&self) -> transfer::BlockSource {
        transfer::BlockSource {
            meta: self.meta.clone(),
            blobs: self.blobs.clone(),
            buffers: self.download_buffers.clone(),
        }
    }

    /// Whether both stores answer (for health probes).
    pub async fn health(&self) -> CoreResult<()> {
        self.meta.count_users().await?;
        self.blobs.check().await?;
        Ok(())
    }
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
