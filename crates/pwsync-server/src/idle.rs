//! Idle detection for established connections: an I/O wrapper that stamps the time of the last
//! byte read or written, and a count of requests in flight, so that the listener closes a
//! connection that has been silent for `server.idle_timeout_ms` with no request pending.
//!
//! A request waiting for its targets moves no bytes; it is never cut: only a connection with
//! nothing in flight counts as idle. This module must never look at the bytes it passes on.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// What the listener watches on one connection.
#[derive(Clone)]
pub struct Activity {
    since: Instant,
    /// Milliseconds after `since` of the last byte moved.
    last_ms: Arc<AtomicU64>,
    in_flight: Arc<AtomicUsize>,
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            since: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn touch(&self) {
        let now = self.since.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// True when nothing moved for `timeout` and no request is being answered.
    pub fn is_idle(&self, timeout: Duration) -> bool {
        let silent_ms =
            (self.since.elapsed().as_millis() as u64).saturating_sub(self.last_ms.load(Ordering::Relaxed));
        self.in_flight.load(Ordering::Relaxed) == 0 && silent_ms >= timeout.as_millis() as u64
    }

    /// Marks a request as in flight until the guard is dropped (its response is ready).
    pub fn request(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        InFlight { activity: self.clone() }
    }

    /// Wraps a connection's I/O so that every byte moved counts as activity.
    pub fn watch<T>(&self, io: T) -> WatchedIo<T> {
        WatchedIo { inner: io, activity: self.clone() }
    }
}

impl Default for Activity {
    fn default() -> Activity {
        Activity::new()
    }
}

/// A request being answered; see [`Activity::request`].
pub struct InFlight {
    activity: Activity,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity.touch();
        self.activity.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// I/O that reports its activity; see [`Activity::watch`].
pub struct WatchedIo<T> {
    inner: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, buffers);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn silence_without_a_request_is_idle_and_a_pending_request_is_not() {
        let activity = Activity::new();
        let (near, mut far) = tokio::io::duplex(64);
        let mut near = activity.watch(near);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(activity.is_idle(Duration::from_secs(5)));
        far.write_all(b"x").await.unwrap();
        let mut byte = [0u8; 1];
        near.read_exact(&mut byte).await.unwrap();
        assert!(!activity.is_idle(Duration::from_secs(5)), "a byte read is activity");
        let request = activity.request();
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(!activity.is_idle(Duration::from_secs(5)), "a request in flight is never idle");
        drop(request);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(activity.is_idle(Duration::from_secs(5)));
    }
}
