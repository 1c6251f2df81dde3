//! Request bodies that are read to the end even when a handler gives up on them early.
//!
//! When a request is refused before its body was read (507 quota, 409 missing parent, 412…),
//! HTTP/1.1 clients such as the Nextcloud client and rclone are usually still sending; if the
//! server closed the connection they would see a broken pipe instead of the answer. Hyper has
//! no lingering close, so this wrapper does the equivalent: a dropped, unfinished body is
//! drained in the background (up to a limit), which lets hyper deliver the response and keep
//! the connection alive.

use axum::body::Body;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Most bytes drained after a refusal; beyond that the connection is closed instead.
pub(crate) const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

pub(crate) struct DrainOnDrop {
    inner: Option<Body>,
    finished: bool,
}

impl DrainOnDrop {
    pub(crate) fn wrap(body: Body) -> Body {
        Body::new(DrainOnDrop { inner: Some(body), finished: false })
    }
}

impl HttpBody for DrainOnDrop {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.finished = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map(HttpBody::size_hint).unwrap_or_default()
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let Some(mut body) = self.inner.take() else { return };
        if self.finished || body.is_end_stream() {
            return;
        }
        if body.size_hint().lower() > DRAIN_LIMIT {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut drained = 0u64;
                while let Some(Ok(frame)) = body.frame().await {
                    drained += frame.data_ref().map_or(0, |data| data.len() as u64);
                    if drained > DRAIN_LIMIT {
                        break;
                    }
                }
            });
        }
    }
}
