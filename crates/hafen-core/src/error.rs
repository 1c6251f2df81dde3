//! The core's error type: semantic variants that each protocol maps to its own status codes
//! in one place. Store errors are translated here; anything unexpected is `Internal`.

use hafen_blob::BlobError;
use hafen_meta::MetaError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The target exists and the operation cannot apply to it (MKCOL on an existing name).
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Locked(String),
    #[error("not enough storage space left (quota exceeded)")]
    QuotaExceeded,
    /// The server's own storage is full: nothing was stored; retry once space is freed.
    #[error("the server's storage is full; nothing was stored")]
    StorageFull,
    /// A storage backend (database, object store) cannot be reached right now.
    #[error("a storage backend is unavailable, please retry shortly")]
    Unavailable(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("too many failed logins, retry in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// Stored data failed verification; never served.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("internal error")]
    Internal(String),
}

pub type CoreResult<T> = Result<T, CoreError>;

impl From<MetaError> for CoreError {
    fn from(error: MetaError) -> Self {
        match error {
            MetaError::NotFound(what) => CoreError::NotFound(format!("{what} not found")),
            MetaError::AlreadyExists(name) => CoreError::Conflict(format!("{name} already exists")),
            MetaError::Conflict(message) => CoreError::Conflict(message),
            MetaError::PreconditionFailed => {
                CoreError::PreconditionFailed("the resource changed (precondition failed)".into())
            }
            MetaError::QuotaExceeded => CoreError::QuotaExceeded,
            other if other.is_storage_full() => CoreError::StorageFull,
            other if other.is_unavailable() => CoreError::Unavailable(other.to_string()),
            other => CoreError::Internal(other.to_string()),
        }
    }
}

impl From<BlobError> for CoreError {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::Corrupt(hash) => CoreError::Corrupt(format!("block {hash} failed verification")),
            BlobError::Missing(hash) => CoreError::Corrupt(format!("block {hash} is missing")),
            other if other.is_storage_full() => CoreError::StorageFull,
            other if other.is_unavailable() => CoreError::Unavailable(other.to_string()),
            other => CoreError::Internal(other.to_string()),
        }
    }
}
