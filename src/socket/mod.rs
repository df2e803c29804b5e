//! Socket Mode: the bot's only link to Slack.
//!
//! [`supervisor`] keeps one (or two) websocket connections open: it opens the
//! replacement before closing the old one, backs off on failures and stops on
//! `link_disabled`. Each [`connection`] reads frames, hands envelopes to the
//! [`Handler`] and writes the ack the handler decides, as soon as it decides.

pub mod backoff;
pub mod connection;
pub mod envelope;
pub mod supervisor;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

pub use envelope::{Envelope, EnvelopeKind, Frame};

/// What to do with an envelope once it has been handed on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AckDecision {
    /// Ack now, with an optional response payload.
    Ack(Option<Value>),
    /// Do not ack: it could not be made durable, so let Slack redeliver it.
    NoAck,
}

pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = AckDecision> + Send>>;

/// Takes an envelope and decides its ack. Must be quick: slow work goes to jobs.
pub(crate) type Handler = Arc<dyn Fn(Envelope) -> HandlerFuture + Send + Sync>;

/// Live connection facts, read by `/healthz`, `status` and tests.
#[derive(Debug, Default)]
pub struct SocketStatus {
    /// Connections that have said hello and not closed.
    pub connected: AtomicUsize,
    /// Times `apps.connections.open` succeeded.
    pub opened: AtomicU64,
    /// Envelopes acked.
    pub acked: AtomicU64,
    /// Frames skipped unread (too large, or JSON serde refuses); acked when their id was found.
    pub skipped: AtomicU64,
    /// `apps.connections.open` refuses the app token (after start-up: retried with backoff).
    pub(crate) app_token_refused: AtomicBool,
    /// Where envelopes and ack latencies are counted.
    pub telemetry: Arc<crate::telemetry::Telemetry>,
    /// Stretches with no connection open, and the news of one opening after them.
    pub gaps: Gaps,
}

impl SocketStatus {
    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed) > 0
    }

    /// A connection said hello. The first one while none was open ends a gap: subscribers of
    /// [`SocketStatus::reopenings`] hear how long it was.
    pub(crate) fn connection_up(&self) {
        let mut down_since = self.gaps.lock();
        if self.connected.fetch_add(1, Ordering::Relaxed) == 0 {
            if let Some(since) = down_since.take() {
                let gap = since.elapsed();
                self.gaps.reopened.send_modify(|r| {
                    r.count += 1;
                    r.gap = gap;
                });
            }
        }
    }

    /// A connection that had said hello closed. The last one closing starts a gap.
    pub(crate) fn connection_down(&self) {
        let mut down_since = self.gaps.lock();
        if self.connected.fetch_sub(1, Ordering::Relaxed) == 1 {
            *down_since = Some(Instant::now());
        }
    }

    /// Each time a connection opens while none was open, with how long none was (counted from
    /// start-up for the first). Two reopenings quicker than the subscriber looks show as the
    /// later one; each takes a close and an `apps.connections.open`, so that is no concern.
    pub(crate) fn reopenings(&self) -> watch::Receiver<Reopened> {
        self.gaps.reopened.subscribe()
    }
}

/// A connection opened while none was open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reopened {
    /// Such openings so far (the first after start-up counts).
    pub count: u64,
    /// How long no connection was open before the latest.
    pub gap: Duration,
}

/// Since when no connection is open (None while one is), and the channel of [`Reopened`].
#[derive(Debug)]
pub struct Gaps {
    down_since: Mutex<Option<Instant>>,
    reopened: watch::Sender<Reopened>,
}

impl Default for Gaps {
    /// Down since now: the bot starts with no connection.
    fn default() -> Gaps {
        Gaps { down_since: Mutex::new(Some(Instant::now())), reopened: watch::Sender::new(Reopened::default()) }
    }
}

impl Gaps {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.down_since.lock().unwrap_or_else(|e| e.into_inner())
    }
}
