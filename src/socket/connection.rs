//! One Socket Mode websocket: read frames, hand envelopes on, write acks.
//!
//! Each envelope is polled once where it is read and, unless that decided it, handled on in
//! its own task so a slow decision never blocks reading; its ack goes out through the writer
//! as soon as the handler returns.
//! Liveness: a ping every few seconds, and the connection is declared dead when
//! nothing (pong or frame) has arrived for [`DEAD_AFTER`]. When retired (a
//! replacement is up, or shutdown) it keeps handling what arrives until its
//! in-flight envelopes are acked and the line has gone quiet, then closes.
//! A frame that cannot be parsed is acked by its `envelope_id` if one can be
//! found, and skipped; the first of each kind on a connection is a warning,
//! the rest are counted.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::Instrument;
use url::Url;

use super::envelope::{self, Envelope, Frame, FrameError, Hello, MAX_READ_BYTES};
use super::{AckDecision, Handler, SocketStatus};

pub(crate) const PING_EVERY: Duration = Duration::from_secs(5);
pub(crate) const DEAD_AFTER: Duration = Duration::from_secs(20);
/// How long a retiring connection waits for quiet before closing: long enough
/// for frames Slack sent before it switched to the replacement to arrive.
const DRAIN_QUIET: Duration = Duration::from_secs(1);
/// The longest a retiring connection lingers.
const DRAIN_MAX: Duration = Duration::from_secs(5);
/// Envelopes handled at once on one connection. At the cap the connection stops reading, so a
/// flood waits in the socket's buffers (and Slack's) instead of in our memory; one finishing
/// lets the next in. Far above what a workspace sends (a few a second).
pub const MAX_IN_FLIGHT: usize = 256;

/// The websocket's read buffer (see `connect`).
const READ_BUFFER: usize = 16 * 1024;

/// What a connection tells its supervisor.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    Hello { id: u64, hello: Hello },
    Disconnect { id: u64, reason: String },
    Closed { id: u64, error: Option<String>, said_hello: bool },
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The TLS client settings for Slack's websocket: built once per supervisor and shared by its
/// connections (not process-wide, so two bots in one process keep their own). A build that
/// failed fails each connect, as building it there would.
#[derive(Clone)]
pub(crate) struct Tls(Result<Arc<rustls::ClientConfig>, rustls::Error>);

impl Tls {
    pub(crate) fn new() -> Tls {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()));
        Tls(cfg)
    }

    fn config(&self) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        Ok(self.0.clone()?)
    }
}

/// What a connection shares with its supervisor and the other connections.
#[derive(Clone)]
pub(crate) struct Link {
    pub(crate) handler: Handler,
    pub(crate) status: Arc<SocketStatus>,
    pub(crate) tls: Tls,
    /// Where the connection reports hello, disconnect and its end.
    pub(crate) events: mpsc::Sender<ConnEvent>,
}

/// Checks the URL and connects (wss:// anywhere, ws:// only on loopback).
async fn connect(url: &str, tls: &Tls) -> anyhow::Result<Ws> {
    let u = Url::parse(url)?;
    match u.scheme() {
        "wss" => {}
        "ws" if crate::config::url_is_loopback(&u) => {}
        s => anyhow::bail!("refusing a {s}:// Socket Mode URL (only wss://, or ws:// on loopback)"),
    }
    let mut cfg = WebSocketConfig::default();
    // Above what `envelope::parse` handles, so an oversized frame reaches us and can be acked.
    cfg.max_message_size = Some(MAX_READ_BYTES);
    cfg.max_frame_size = Some(MAX_READ_BYTES);
    // The library zero-fills this much of its buffer before every read (two a frame: the data,
    // then the would-block): 128 KiB by default, the largest cost of a small frame's read.
    // Slack's frames are a few KB; a larger one takes more reads.
    cfg.read_buffer_size = READ_BUFFER;
    let connector = tokio_tungstenite::Connector::Rustls(tls.config()?);
    // Nagle off: an ack is one small frame that must leave now, not wait for the next frame
    // (with delayed ACKs that cost up to 40 ms an ack; Slack's deadline is 3 s).
    let fut = tokio_tungstenite::connect_async_tls_with_config(url, Some(cfg), true, Some(connector));
    let (ws, _) =
        tokio::time::timeout(Duration::from_secs(10), fut).await.map_err(|_| anyhow::anyhow!("websocket connect timed out"))??;
    Ok(ws)
}

/// Runs one connection to completion. `retire` flips to true when the
/// supervisor wants it gone (after a replacement said hello, or at shutdown).
pub(crate) async fn run(id: u64, url: String, link: Link, retire: watch::Receiver<bool>) {
    let span = tracing::info_span!("socket", conn = id);
    async move {
        let mut said_hello = false;
        let error = match connect(&url, &link.tls).await {
            Err(e) => Some(format!("{e:#}")),
            Ok(ws) => serve(id, ws, &link, retire, &mut said_hello).await.err().map(|e| format!("{e:#}")),
        };
        if said_hello {
            link.status.connection_down();
        }
        match &error {
            Some(e) => tracing::warn!(error = %e, "connection ended"),
            None => tracing::info!("connection closed"),
        }
        let _ = link.events.send(ConnEvent::Closed { id, error, said_hello }).await;
    }
    .instrument(span)
    .await
}

async fn serve(id: u64, ws: Ws, link: &Link, retire: watch::Receiver<bool>, said_hello: &mut bool) -> anyhow::Result<()> {
    let (sink, stream) = ws.split();
    let (out, writer) = spawn_writer(sink);
    let mut session = Session { id, link, out, inflight: JoinSet::new(), said_hello, skipped: Skipped::default() };
    let result = session.read(stream, retire).await;
    session.skipped.sum_up();
    session.close(writer).await;
    result
}

/// At most this many frames go out in one write to the socket.
const WRITE_BATCH: usize = 64;

/// The single writer: acks and pings reach it through one bounded queue. What is already queued
/// when it wakes goes out together, one write to the socket (each frame still its own message),
/// so a burst of acks costs one system call, not one each; a lone ack leaves at once as before.
fn spawn_writer(mut sink: SplitSink<Ws, Message>) -> (mpsc::Sender<Message>, JoinHandle<()>) {
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(512);
    let writer = tokio::spawn(
        async move {
            while let Some(first) = out_rx.recv().await {
                let mut next = Some(first);
                let mut batched = 0;
                let mut closing = false;
                while let Some(msg) = next.take() {
                    closing = matches!(msg, Message::Close(_));
                    if let Err(e) = sink.feed(msg).await {
                        tracing::debug!(error = %e, "write failed");
                        return;
                    }
                    batched += 1;
                    if !closing && batched < WRITE_BATCH {
                        next = out_rx.try_recv().ok();
                    }
                }
                if let Err(e) = sink.flush().await {
                    tracing::debug!(error = %e, "write failed");
                    return;
                }
                if closing {
                    return;
                }
            }
            let _ = sink.close().await;
        }
        .in_current_span(),
    );
    (out_tx, writer)
}

/// One open connection: what it reads is handed on, and the acks go out through `out`.
struct Session<'a> {
    id: u64,
    link: &'a Link,
    out: mpsc::Sender<Message>,
    inflight: JoinSet<()>,
    said_hello: &'a mut bool,
    skipped: Skipped,
}

impl Session<'_> {
    /// Reads until the line fails or dies, or (retired) it has drained; `Ok` after a drain.
    async fn read(&mut self, mut stream: SplitStream<Ws>, mut retire: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = Instant::now();
        let mut last_frame = Instant::now();
        let mut draining_since: Option<Instant> = if *retire.borrow() { Some(Instant::now()) } else { None };
        loop {
            if let Some(since) = draining_since {
                let quiet = last_frame.elapsed() >= DRAIN_QUIET && since.elapsed() >= DRAIN_QUIET;
                if (self.inflight.is_empty() && quiet) || since.elapsed() >= DRAIN_MAX {
                    return Ok(());
                }
            }
            tokio::select! {
                frame = stream.next(), if self.inflight.len() < MAX_IN_FLIGHT => {
                    last_seen = Instant::now();
                    if matches!(frame, Some(Ok(Message::Text(_)))) {
                        last_frame = Instant::now();
                    }
                    self.on_frame(frame).await?;
                }
                Some(done) = self.inflight.join_next(), if !self.inflight.is_empty() => {
                    // Progress counts as life while reads are paused at the cap.
                    if self.inflight.len() + 1 >= MAX_IN_FLIGHT {
                        last_seen = Instant::now();
                    }
                    if let Err(e) = done {
                        tracing::error!(error = %e, "envelope task failed");
                    }
                }
                _ = ping.tick() => {
                    if last_seen.elapsed() >= DEAD_AFTER {
                        anyhow::bail!("no pong or frame for {}s: declaring the connection dead", last_seen.elapsed().as_secs());
                    }
                    let _ = self.out.try_send(Message::Ping(Vec::new().into()));
                }
                changed = retire.changed(), if draining_since.is_none() => {
                    if changed.is_err() || *retire.borrow() {
                        tracing::info!("retiring: draining in-flight envelopes");
                        draining_since = Some(Instant::now());
                    }
                }
                _ = tokio::time::sleep(DRAIN_QUIET), if draining_since.is_some() => {}
            }
        }
    }

    /// One read from the websocket; an error ends the connection with it.
    async fn on_frame(&mut self, frame: Option<Result<Message, WsError>>) -> anyhow::Result<()> {
        match frame {
            None => anyhow::bail!("Slack closed the connection"),
            Some(Err(e)) => anyhow::bail!("websocket error: {e}"),
            Some(Ok(Message::Text(text))) => self.on_text(text.as_str()).await,
            Some(Ok(Message::Ping(p))) => {
                let _ = self.out.try_send(Message::Pong(p));
            }
            Some(Ok(Message::Pong(_))) => {}
            Some(Ok(Message::Close(frame))) => {
                tracing::info!(?frame, "Slack sent close");
                anyhow::bail!("Slack closed the connection");
            }
            Some(Ok(Message::Binary(_))) | Some(Ok(Message::Frame(_))) => tracing::debug!("ignoring a binary frame"),
        }
        Ok(())
    }

    /// Writes the acks still being decided, then the close frame, and lets the writer finish.
    async fn close(mut self, writer: JoinHandle<()>) {
        let deadline = Instant::now() + DRAIN_MAX;
        while !self.inflight.is_empty() {
            match tokio::time::timeout_at(deadline, self.inflight.join_next()).await {
                Ok(_) => {}
                Err(_) => {
                    // Not aborted: a handler cut off half-way could leave its work half done.
                    // They finish on their own; their acks cannot go out, so Slack redelivers
                    // and the dispatcher's dedupe acks the redelivery.
                    tracing::warn!(left = self.inflight.len(), "envelopes still in flight at close; Slack will redeliver them");
                    self.inflight.detach_all();
                    break;
                }
            }
        }
        let _ = self.out.send(Message::Close(None)).await;
        drop(self.out);
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    }

    async fn on_text(&mut self, text: &str) {
        let status = &self.link.status;
        match envelope::parse(text) {
            Err(e) => self.skipped.skip(text, &e, &self.out, status).await,
            Ok(Frame::Unknown(kind)) => tracing::warn!(kind, "skipping a frame of unknown type"),
            Ok(Frame::Hello(hello)) => {
                if !*self.said_hello {
                    *self.said_hello = true;
                    status.connection_up();
                }
                tracing::info!(approximate_connection_time = hello.approximate_connection_time, "hello");
                let _ = self.link.events.send(ConnEvent::Hello { id: self.id, hello }).await;
            }
            Ok(Frame::Disconnect { reason }) => {
                tracing::info!(reason, "Slack asked us to disconnect");
                let _ = self.link.events.send(ConnEvent::Disconnect { id: self.id, reason }).await;
            }
            Ok(Frame::Envelope(env)) => self.spawn_envelope(env),
        }
    }

    /// Hands an envelope to the handler in its own task, which writes the ack it decides.
    fn spawn_envelope(&mut self, env: Envelope) {
        self.link.status.telemetry.envelopes.inc(env.subtype().unwrap_or("unknown"));
        let handler = self.link.handler.clone();
        let out = self.out.clone();
        let status = self.link.status.clone();
        // The event id is known here: given at creation it costs no later `record` on the span.
        let span = match env.event_id() {
            Some(ev) => {
                tracing::info_span!("envelope", envelope_id = %env.envelope_id, kind = ?env.kind, retry = env.retry_attempt, event_id = ev)
            }
            None => {
                tracing::info_span!("envelope", envelope_id = %env.envelope_id, kind = ?env.kind, retry = env.retry_attempt, event_id = tracing::field::Empty)
            }
        };
        let mut task = Box::pin(
            async move {
                let envelope_id = env.envelope_id.clone();
                let started = Instant::now();
                match handler(env).await {
                    AckDecision::Ack(payload) => {
                        let text = envelope::ack(&envelope_id, payload.as_ref());
                        if out.send(Message::Text(text.into())).await.is_ok() {
                            status.acked.fetch_add(1, Ordering::Relaxed);
                            status.telemetry.ack_latency.observe(started.elapsed());
                            tracing::debug!(ack_us = started.elapsed().as_micros() as u64, "acked");
                        }
                    }
                    // The dispatcher logged why (a full store: once per episode, not per envelope).
                    AckDecision::NoAck => tracing::debug!("not acking: Slack will redeliver"),
                }
            }
            .instrument(span),
        );
        // Polled once here: most envelopes (profile changes of members without presets) are
        // decided and acked without waiting, and need no task of their own. One that waits
        // (a disk flush, a command's work) goes on in its own task from where it stopped.
        if futures_util::FutureExt::now_or_never(&mut task).is_none() {
            self.inflight.spawn(task);
        }
    }
}

/// The frames one connection could not parse, by kind. The first of each kind is a warning and
/// the rest are counted (summed up when the connection ends): a flood logs once, not per frame.
#[derive(Debug, Default)]
struct Skipped {
    too_large: u64,
    undecodable: u64,
}

impl Skipped {
    /// Acks the frame by the `envelope_id` a tolerant scan finds (so Slack stops redelivering
    /// it), skips its body, and logs it if it is the first of its kind here.
    async fn skip(&mut self, text: &str, error: &FrameError, out: &mpsc::Sender<Message>, status: &SocketStatus) {
        let envelope_id = envelope::recover_envelope_id(text);
        let mut acked = false;
        if let Some(id) = envelope_id {
            acked = out.send(Message::Text(envelope::ack(id, None).into())).await.is_ok();
            if acked {
                status.acked.fetch_add(1, Ordering::Relaxed);
            }
        }
        status.skipped.fetch_add(1, Ordering::Relaxed);
        let count = match error {
            FrameError::TooLarge { .. } => &mut self.too_large,
            _ => &mut self.undecodable,
        };
        *count += 1;
        let bytes = text.len();
        if *count == 1 {
            tracing::warn!(error = %error, bytes, envelope_id, acked, "skipping a frame that cannot be read (acked if it had an envelope_id); more like it on this connection are only counted");
        } else {
            tracing::debug!(error = %error, bytes, envelope_id, acked, "skipping another unreadable frame");
        }
    }

    fn sum_up(&self) {
        if self.too_large + self.undecodable > 1 {
            tracing::warn!(too_large = self.too_large, undecodable = self.undecodable, "frames skipped on this connection");
        }
    }
}
