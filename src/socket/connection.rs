//! One Socket Mode websocket: read frames, hand envelopes on, write acks.
//!
//! Each envelope is handled in its own task so a slow decision never blocks
//! reading; its ack goes out through the writer as soon as the handler returns.
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

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tracing::Instrument;
use url::Url;

use super::envelope::{self, Frame, FrameError, Hello, MAX_READ_BYTES};
use super::{AckDecision, Handler, SocketStatus};

pub const PING_EVERY: Duration = Duration::from_secs(5);
pub const DEAD_AFTER: Duration = Duration::from_secs(20);
/// How long a retiring connection waits for quiet before closing: long enough
/// for frames Slack sent before it switched to the replacement to arrive.
const DRAIN_QUIET: Duration = Duration::from_secs(1);
/// The longest a retiring connection lingers.
const DRAIN_MAX: Duration = Duration::from_secs(5);
/// Envelopes handled at once on one connection. At the cap the connection stops reading, so a
/// flood waits in the socket's buffers (and Slack's) instead of in our memory; one finishing
/// lets the next in. Far above what a workspace sends (a few a second).
pub const MAX_IN_FLIGHT: usize = 256;

/// What a connection tells its supervisor.
#[derive(Debug)]
pub enum ConnEvent {
    Hello { id: u64, hello: Hello },
    Disconnect { id: u64, reason: String },
    Closed { id: u64, error: Option<String>, said_hello: bool },
}

/// Checks the URL and connects (wss:// anywhere, ws:// only on loopback).
async fn connect(
    url: &str,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>> {
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
    let connector = tokio_tungstenite::Connector::Rustls(tls_config()?);
    // Nagle off: an ack is one small frame that must leave now, not wait for the next frame
    // (with delayed ACKs that cost up to 40 ms an ack; Slack's deadline is 3 s).
    let fut = tokio_tungstenite::connect_async_tls_with_config(url, Some(cfg), true, Some(connector));
    let (ws, _) =
        tokio::time::timeout(Duration::from_secs(10), fut).await.map_err(|_| anyhow::anyhow!("websocket connect timed out"))??;
    Ok(ws)
}

fn tls_config() -> anyhow::Result<Arc<rustls::ClientConfig>> {
    static CFG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(c) = CFG.get() {
        return Ok(c.clone());
    }
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(CFG.get_or_init(|| Arc::new(cfg)).clone())
}

/// Runs one connection to completion. `retire` flips to true when the
/// supervisor wants it gone (after a replacement said hello, or at shutdown).
pub async fn run(
    id: u64,
    url: String,
    handler: Handler,
    status: Arc<SocketStatus>,
    events: mpsc::Sender<ConnEvent>,
    retire: watch::Receiver<bool>,
) {
    let span = tracing::info_span!("socket", conn = id);
    async move {
        let mut said_hello = false;
        let error = match connect(&url).await {
            Err(e) => Some(format!("{e:#}")),
            Ok(ws) => serve(id, ws, handler, &status, &events, retire, &mut said_hello).await.err().map(|e| format!("{e:#}")),
        };
        if said_hello {
            status.connected.fetch_sub(1, Ordering::Relaxed);
        }
        match &error {
            Some(e) => tracing::warn!(error = %e, "connection ended"),
            None => tracing::info!("connection closed"),
        }
        let _ = events.send(ConnEvent::Closed { id, error, said_hello }).await;
    }
    .instrument(span)
    .await
}

async fn serve(
    id: u64,
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    handler: Handler,
    status: &Arc<SocketStatus>,
    events: &mpsc::Sender<ConnEvent>,
    mut retire: watch::Receiver<bool>,
    said_hello: &mut bool,
) -> anyhow::Result<()> {
    let (mut sink, mut stream) = ws.split();
    // Acks and pings go through one bounded queue to the single writer.
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(512);
    let writer = tokio::spawn(
        async move {
            while let Some(msg) = out_rx.recv().await {
                let closing = matches!(msg, Message::Close(_));
                if let Err(e) = sink.send(msg).await {
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

    let mut inflight: JoinSet<()> = JoinSet::new();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    let mut last_frame = Instant::now();
    let mut draining_since: Option<Instant> = if *retire.borrow() { Some(Instant::now()) } else { None };
    let mut result = Ok(());
    let mut skipped = Skipped::default();

    loop {
        if let Some(since) = draining_since {
            let quiet = last_frame.elapsed() >= DRAIN_QUIET && since.elapsed() >= DRAIN_QUIET;
            if (inflight.is_empty() && quiet) || since.elapsed() >= DRAIN_MAX {
                break;
            }
        }
        tokio::select! {
            frame = stream.next(), if inflight.len() < MAX_IN_FLIGHT => {
                last_seen = Instant::now();
                match frame {
                    None => { result = Err(anyhow::anyhow!("Slack closed the connection")); break; }
                    Some(Err(e)) => { result = Err(anyhow::anyhow!("websocket error: {e}")); break; }
                    Some(Ok(Message::Text(text))) => {
                        last_frame = Instant::now();
                        on_text(id, text.as_str(), &handler, status, events, &out_tx, &mut inflight, said_hello, &mut skipped).await;
                    }
                    Some(Ok(Message::Ping(p))) => { let _ = out_tx.try_send(Message::Pong(p)); }
                    Some(Ok(Message::Pong(_))) => {}
                    Some(Ok(Message::Close(frame))) => {
                        tracing::info!(?frame, "Slack sent close");
                        result = Err(anyhow::anyhow!("Slack closed the connection"));
                        break;
                    }
                    Some(Ok(Message::Binary(_))) | Some(Ok(Message::Frame(_))) => tracing::debug!("ignoring a binary frame"),
                }
            }
            Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                // Progress counts as life while reads are paused at the cap.
                if inflight.len() + 1 >= MAX_IN_FLIGHT {
                    last_seen = Instant::now();
                }
                if let Err(e) = done {
                    tracing::error!(error = %e, "envelope task failed");
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() >= DEAD_AFTER {
                    result = Err(anyhow::anyhow!("no pong or frame for {}s: declaring the connection dead", last_seen.elapsed().as_secs()));
                    break;
                }
                let _ = out_tx.try_send(Message::Ping(Vec::new().into()));
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

    skipped.sum_up();
    // Acks still being decided are written before the close frame.
    let deadline = Instant::now() + DRAIN_MAX;
    while !inflight.is_empty() {
        match tokio::time::timeout_at(deadline, inflight.join_next()).await {
            Ok(_) => {}
            Err(_) => {
                // Not aborted: a handler cut off half-way could leave its work half done.
                // They finish on their own; their acks cannot go out, so Slack redelivers
                // and the dispatcher's dedupe acks the redelivery.
                tracing::warn!(left = inflight.len(), "envelopes still in flight at close; Slack will redeliver them");
                inflight.detach_all();
                break;
            }
        }
    }
    let _ = out_tx.send(Message::Close(None)).await;
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn on_text(
    id: u64,
    text: &str,
    handler: &Handler,
    status: &Arc<SocketStatus>,
    events: &mpsc::Sender<ConnEvent>,
    out: &mpsc::Sender<Message>,
    inflight: &mut JoinSet<()>,
    said_hello: &mut bool,
    skipped: &mut Skipped,
) {
    match envelope::parse(text) {
        Err(e) => skipped.skip(text, &e, out, status).await,
        Ok(Frame::Unknown(kind)) => tracing::warn!(kind, "skipping a frame of unknown type"),
        Ok(Frame::Hello(hello)) => {
            if !*said_hello {
                *said_hello = true;
                status.connected.fetch_add(1, Ordering::Relaxed);
            }
            tracing::info!(approximate_connection_time = hello.approximate_connection_time, "hello");
            let _ = events.send(ConnEvent::Hello { id, hello }).await;
        }
        Ok(Frame::Disconnect { reason }) => {
            tracing::info!(reason, "Slack asked us to disconnect");
            let _ = events.send(ConnEvent::Disconnect { id, reason }).await;
        }
        Ok(Frame::Envelope(env)) => {
            status.telemetry.envelopes.inc(env.subtype().unwrap_or("unknown"));
            let handler = handler.clone();
            let out = out.clone();
            let status = status.clone();
            let span = tracing::info_span!("envelope", envelope_id = %env.envelope_id, kind = ?env.kind, retry = env.retry_attempt, event_id = tracing::field::Empty);
            inflight.spawn(
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
