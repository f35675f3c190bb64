//! A request body that notes whether it was read to its end. When a
//! handler answers without reading the whole body (a refused upload, a
//! failed CSRF check on a POST), hyper cannot reuse the connection and
//! closes it after the response; the response then says
//! `Connection: close`, so the client does not send its next request on a
//! connection that is about to go (it would fail with nothing read).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// `Incoming`, noting its end in `read`.
pub(super) struct Tracked {
    inner: Incoming,
    read: Arc<AtomicBool>,
}

impl Tracked {
    /// The body, and the flag that turns true once it has been read to
    /// its end (at once for a request without one).
    pub(super) fn new(inner: Incoming) -> (Self, Arc<AtomicBool>) {
        let read = Arc::new(AtomicBool::new(inner.is_end_stream()));
        (
            Self {
                inner,
                read: read.clone(),
            },
            read,
        )
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
