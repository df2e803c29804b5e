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
use std::sync::Arc;

use serde_json::Value;

pub use envelope::{Envelope, EnvelopeKind, Frame};

/// What to do with an envelope once it has been handed on.
#[derive(Debug, Clone, PartialEq)]
pub enum AckDecision {
    /// Ack now, with an optional response payload.
    Ack(Option<Value>),
    /// Do not ack: it could not be made durable, so let Slack redeliver it.
    NoAck,
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = AckDecision> + Send>>;

/// Takes an envelope and decides its ack. Must be quick: slow work goes to jobs.
pub type Handler = Arc<dyn Fn(Envelope) -> HandlerFuture + Send + Sync>;

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
    pub app_token_refused: AtomicBool,
    /// Where envelopes and ack latencies are counted.
    pub telemetry: Arc<crate::telemetry::Telemetry>,
}

impl SocketStatus {
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed) > 0
    }
}
