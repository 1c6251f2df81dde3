//! Protocol errors and their HTTP form, in one place: every `CoreError` and every request
//! problem becomes exactly one status code with a clear message in a Sabre/Nextcloud-style
//! XML error body (which the Nextcloud clients show to the user). Internal details are logged
//! and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hafen_core::CoreError;

#[derive(Debug, thiserror::Error)]
pub enum DavError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Forbidden(String),
    /// A failed RFC 4918 precondition, named by its XML element.
    #[error("{message}")]
    Precondition { status: StatusCode, element: &'static str, message: String },
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    RangeNotSatisfiable(u64),
    #[error("method not allowed")]
    MethodNotAllowed,
}

/// The HTTP status of a core error, for every protocol.
pub(crate) fn core_status(error: &CoreError) -> StatusCode {
    match error {
        CoreError::NotFound(_) => StatusCode::NOT_FOUND,
        CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
        CoreError::Conflict(_) => StatusCode::CONFLICT,
        CoreError::NotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        CoreError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
        CoreError::Locked(_) => StatusCode::LOCKED,
        CoreError::QuotaExceeded | CoreError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        CoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        CoreError::InvalidInput(_) => StatusCode::BAD_REQUEST,
        CoreError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        CoreError::Unauthorized => StatusCode::UNAUTHORIZED,
        CoreError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        CoreError::Corrupt(_) | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl DavError {
    /// The HTTP status of this error (also used by the OCS and JSON API envelopes).
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            DavError::Core(core) => core_status(core),
            DavError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DavError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DavError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DavError::Forbidden(_) => StatusCode::FORBIDDEN,
            DavError::Precondition { status, .. } => *status,
            DavError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            DavError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            DavError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The message shown to the client: never internal details.
    pub(crate) fn public_message(&self) -> String {
        match self {
            DavError::Core(CoreError::Internal(_)) => "internal server error".to_string(),
            DavError::Core(CoreError::Unavailable(_)) => {
                "a storage backend is unavailable, please retry shortly".to_string()
            }
            DavError::Core(CoreError::Corrupt(_)) => {
                "stored data failed its integrity check; it is not served".to_string()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for DavError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        } else if let DavError::Core(CoreError::Unavailable(detail)) = &self {
            tracing::warn!(%detail, "request failed: storage backend unavailable");
        }
        let precondition = match &self {
            DavError::Precondition { element, .. } => format!("<d:{element}/>"),
            _ => String::new(),
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\">{precondition}<s:message>{}</s:message></d:error>\n",
            crate::dav::xml::escape(&self.public_message())
        );
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"));
        match &self {
            DavError::Core(CoreError::Unauthorized) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"Hafen\", charset=\"UTF-8\""),
                );
            }
            DavError::Core(CoreError::Throttled { retry_after_secs }) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            DavError::Core(CoreError::Unavailable(_)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            DavError::RangeNotSatisfiable(size) => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            _ => {}
        }
        response
    }
}

pub type DavResult<T> = Result<T, DavError>;
