//! Keeps the right number of Socket Mode connections open, without gaps.
//!
//! A connection due for replacement (Slack's `disconnect` warning or
//! `refresh_requested`, or its `approximate_connection_time` running out) stays
//! in service until its replacement has said hello; only then is it retired
//! and drained. Failed opens and dropped connections back off exponentially;
//! `ratelimited` from `apps.connections.open` waits at least as long as Slack
//! asks. `link_disabled` stops everything and is reported to the caller.
//! A refused app token stops the bot too if nothing has opened yet (a
//! configuration error); once the bot has been running it is retried with a
//! slower backoff and one error per episode.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::backoff::Backoff;
use super::connection::{self, ConnEvent, Tls};
use super::envelope::Hello;
use super::{Handler, SocketStatus};
use crate::shutdown::Shutdown;
use crate::slack::ApiError;

/// Opens a Socket Mode URL (`apps.connections.open` in production).
pub(crate) type Opener = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, ApiError>> + Send>> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SocketError {
    #[error("Slack disabled Socket Mode for this app (link_disabled): turn Socket Mode back on in the app's settings, then start statusinator again")]
    LinkDisabled,
    /// `apps.connections.open` refused the app token before any connection opened.
    #[error("apps.connections.open refused the app token: {code}")]
    AppTokenRefused { code: String },
}

/// Whether `apps.connections.open` says the app token itself is wrong (so retrying soon is
/// pointless), rather than Slack or the network failing: the codes that say a token itself is
/// invalid, the subset of Slack's auth-dead codes that is not about a member's user token.
pub(crate) fn refuses_app_token(e: &ApiError) -> bool {
    matches!(e, ApiError::Slack(code) if crate::slack::errors::is_token_invalid(code))
}

/// A refused app token after start-up: slow retries (30 s doubling to 15 minutes, jittered) and
/// one error an episode, which ends when an open succeeds.
struct Refusals {
    backoff: Backoff,
    count: u32,
}

impl Default for Refusals {
    fn default() -> Self {
        Refusals { backoff: Backoff::new(Duration::from_secs(30), Duration::from_secs(15 * 60)), count: 0 }
    }
}

impl Refusals {
    /// Counts a refusal; the delay before the next try.
    fn refused(&mut self, e: &ApiError, status: &SocketStatus) -> Duration {
        self.count += 1;
        let delay = self.backoff.next_delay();
        if self.count == 1 {
            status.app_token_refused.store(true, Ordering::Relaxed);
            tracing::error!(error = %e, retry_in_ms = delay.as_millis() as u64, "apps.connections.open refuses the app token (SLACK_APP_TOKEN): no events arrive until it works again; retrying with a growing delay (check the token still exists and has connections:write)");
        } else {
            tracing::debug!(error = %e, refusals = self.count, retry_in_ms = delay.as_millis() as u64, "the app token is still refused");
        }
        delay
    }

    /// An open succeeded: the episode, if any, is over.
    fn accepted(&mut self, status: &SocketStatus) {
        if self.count > 0 {
            tracing::info!(refusals = self.count, "apps.connections.open accepts the app token again");
            status.app_token_refused.store(false, Ordering::Relaxed);
        }
        *self = Refusals::default();
    }
}

/// A connection lives at least this long before its success resets the backoff,
/// so a connection that says hello and drops at once still backs off.
const STABLE_AFTER: Duration = Duration::from_secs(30);

struct Conn {
    retire: watch::Sender<bool>,
    retiring: bool,
    needs_replacement: bool,
    hello_at: Option<Instant>,
    refresh_at: Option<Instant>,
}

enum Msg {
    Conn(ConnEvent),
    Opened(Result<String, ApiError>),
}

pub(crate) struct Supervisor {
    pub(crate) opener: Opener,
    pub handler: Handler,
    pub status: Arc<SocketStatus>,
    pub desired: usize,
    pub backoff: Backoff,
    pub shutdown: Shutdown,
}

impl Supervisor {
    /// What a failed `apps.connections.open` means: the delay before the next try, or (the app
    /// token refused before anything opened) the error that stops the bot.
    fn open_failed(&mut self, e: &ApiError, refusals: &mut Refusals) -> Result<Duration, SocketError> {
        if refuses_app_token(e) {
            if self.status.opened.load(Ordering::Relaxed) == 0 {
                return Err(SocketError::AppTokenRefused { code: e.code() });
            }
            return Ok(refusals.refused(e, &self.status));
        }
        let mut delay = self.backoff.next_delay();
        if let ApiError::RateLimited { retry_after } = e {
            delay = delay.max(retry_after.unwrap_or(Duration::from_secs(30)));
        }
        tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, attempt = self.backoff.failures(), "could not open a Socket Mode connection");
        Ok(delay)
    }

    pub async fn run(mut self) -> Result<(), SocketError> {
        let mut run = Run::start(Tls::new());
        loop {
            if run.stopping.is_some() {
                run.retire_all();
                if run.conns.is_empty() {
                    break;
                }
            } else {
                self.open_if_short(&mut run);
            }
            let wake = run.wake();
            let msg = tokio::select! {
                m = run.rx.recv() => m,
                _ = tokio::time::sleep_until(wake) => {
                    if run.stop_deadline.is_some_and(|d| d <= Instant::now()) {
                        tracing::warn!(left = run.conns.len(), "connections did not close in time");
                        break;
                    }
                    continue;
                }
                _ = self.shutdown.wait(), if run.stopping.is_none() => {
                    tracing::info!("closing Socket Mode connections");
                    run.stop(Ok(()));
                    continue;
                }
            };
            let Some(msg) = msg else { break };
            match msg {
                Msg::Opened(Ok(url)) => self.opened(&mut run, url),
                Msg::Opened(Err(e)) => self.not_opened(&mut run, &e),
                Msg::Conn(ConnEvent::Hello { id, hello }) => self.hello(&mut run, id, &hello),
                Msg::Conn(ConnEvent::Disconnect { id, reason }) => run.disconnect(id, &reason),
                Msg::Conn(ConnEvent::Closed { id, error, said_hello }) => self.closed(&mut run, id, error, said_hello),
            }
        }
        run.stopping.unwrap_or(Ok(()))
    }

    /// Marks connections whose time is nearly up for replacement, and asks for one more
    /// connection when fewer than `desired` are healthy and the backoff allows.
    fn open_if_short(&self, run: &mut Run) {
        let now = Instant::now();
        for c in run.conns.values_mut() {
            if c.refresh_at.is_some_and(|t| t <= now) && !c.retiring {
                tracing::info!("connection time nearly up: opening a replacement");
                c.needs_replacement = true;
                c.refresh_at = None;
            }
        }
        let healthy = run.conns.values().filter(|c| !c.retiring && !c.needs_replacement).count();
        if healthy + run.opening < self.desired && run.next_open_at <= now {
            run.opening += 1;
            let opener = self.opener.clone();
            let tx = run.tx.clone();
            tokio::spawn(async move {
                let r = opener().await;
                let _ = tx.send(Msg::Opened(r)).await;
            });
        }
    }

    /// `apps.connections.open` gave a URL: start a connection on it (unless stopping).
    fn opened(&self, run: &mut Run, url: String) {
        run.opening = run.opening.saturating_sub(1);
        self.status.opened.fetch_add(1, Ordering::Relaxed);
        run.refusals.accepted(&self.status);
        if run.stopping.is_some() {
            return;
        }
        let id = run.next_id;
        run.next_id += 1;
        let (retire_tx, retire_rx) = watch::channel(false);
        run.conns.insert(id, Conn { retire: retire_tx, retiring: false, needs_replacement: false, hello_at: None, refresh_at: None });
        let link = connection::Link {
            handler: self.handler.clone(),
            status: self.status.clone(),
            tls: run.tls.clone(),
            events: run.conn_tx.clone(),
        };
        tokio::spawn(connection::run(id, url, link, retire_rx));
    }

    /// `apps.connections.open` failed: wait before the next try, or stop.
    fn not_opened(&mut self, run: &mut Run, e: &ApiError) {
        run.opening = run.opening.saturating_sub(1);
        if run.stopping.is_some() {
            return;
        }
        match self.open_failed(e, &mut run.refusals) {
            Ok(delay) => run.next_open_at = Instant::now() + delay,
            Err(fatal) => run.stop(Err(fatal)),
        }
    }

    /// A connection said hello: schedule its replacement, and retire the connections it
    /// replaces once enough are live.
    fn hello(&self, run: &mut Run, id: u64, hello: &Hello) {
        let now = Instant::now();
        if let Some(c) = run.conns.get_mut(&id) {
            c.hello_at = Some(now);
            if let Some(secs) = hello.approximate_connection_time.filter(|s| *s > 0) {
                // Replace well before Slack closes it: at 90%, but no sooner than 10 s.
                let lead = (secs / 10).clamp(1, 300);
                c.refresh_at = Some(now + Duration::from_secs(secs.saturating_sub(lead).max(10)));
            }
        }
        let live = run.conns.values().filter(|c| c.hello_at.is_some() && !c.retiring && !c.needs_replacement).count();
        if live >= self.desired {
            for c in run.conns.values_mut().filter(|c| c.needs_replacement && !c.retiring) {
                tracing::info!("replacement is up: retiring the old connection");
                c.retiring = true;
                let _ = c.retire.send(true);
            }
        }
    }

    /// A connection ended: unless it was meant to, reconnect after the backoff.
    fn closed(&mut self, run: &mut Run, id: u64, error: Option<String>, said_hello: bool) {
        let Some(c) = run.conns.remove(&id) else { return };
        if c.retiring || run.stopping.is_some() {
            return;
        }
        if c.hello_at.is_some_and(|t| t.elapsed() >= STABLE_AFTER) {
            self.backoff.reset();
        }
        let delay = self.backoff.next_delay();
        tracing::warn!(
            error = error.as_deref().unwrap_or("closed"),
            said_hello,
            retry_in_ms = delay.as_millis() as u64,
            "connection lost: reconnecting"
        );
        run.next_open_at = run.next_open_at.max(Instant::now() + delay);
    }
}

/// How long connections get to close once the supervisor stops.
const STOP_WITHIN: Duration = Duration::from_secs(8);

/// The state of one [`Supervisor::run`]: its connections, what it is waiting for, and the
/// channels and TLS settings its connections share.
struct Run {
    rx: mpsc::Receiver<Msg>,
    tx: mpsc::Sender<Msg>,
    conn_tx: mpsc::Sender<ConnEvent>,
    tls: Tls,
    conns: BTreeMap<u64, Conn>,
    next_id: u64,
    opening: usize,
    next_open_at: Instant,
    stopping: Option<Result<(), SocketError>>,
    stop_deadline: Option<Instant>,
    refusals: Refusals,
}

impl Run {
    fn start(tls: Tls) -> Run {
        let (tx, rx) = mpsc::channel::<Msg>(64);
        let (conn_tx, mut conn_rx) = mpsc::channel::<ConnEvent>(64);
        // Forward connection events into the one queue the loop reads.
        let forward = tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = conn_rx.recv().await {
                if forward.send(Msg::Conn(ev)).await.is_err() {
                    break;
                }
            }
        });
        Run {
            rx,
            tx,
            conn_tx,
            tls,
            conns: BTreeMap::new(),
            next_id: 1,
            opening: 0,
            next_open_at: Instant::now(),
            stopping: None,
            stop_deadline: None,
            refusals: Refusals::default(),
        }
    }

    /// Starts stopping, with `why` as the result, giving connections [`STOP_WITHIN`] to close.
    fn stop(&mut self, why: Result<(), SocketError>) {
        self.stopping = Some(why);
        self.stop_deadline = Some(Instant::now() + STOP_WITHIN);
    }

    fn retire_all(&mut self) {
        for c in self.conns.values_mut() {
            if !c.retiring {
                c.retiring = true;
                let _ = c.retire.send(true);
            }
        }
    }

    /// When the loop must look again even if nothing arrives.
    fn wake(&self) -> Instant {
        let mut w = self.stop_deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        if self.stopping.is_none() {
            if self.next_open_at > Instant::now() {
                w = w.min(self.next_open_at);
            }
            for c in self.conns.values() {
                if let Some(t) = c.refresh_at {
                    w = w.min(t);
                }
            }
        }
        w
    }

    /// Slack's `disconnect`: `link_disabled` stops everything; anything else asks for a
    /// replacement before this connection closes.
    fn disconnect(&mut self, id: u64, reason: &str) {
        if reason == "link_disabled" {
            tracing::error!("{}", SocketError::LinkDisabled);
            self.stop(Err(SocketError::LinkDisabled));
        } else if let Some(c) = self.conns.get_mut(&id) {
            tracing::info!(reason, "opening a replacement before closing");
            c.needs_replacement = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// With paused time, failed opens are retried after growing delays.
    #[tokio::test(start_paused = true)]
    async fn failed_opens_back_off() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let (sup, calls, shutdown) = failing_supervisor(|| ApiError::Transport("refused".into()), Arc::default(), backoff);
        let task = tokio::spawn(sup.run());
        tokio::time::sleep(Duration::from_secs(200)).await;
        shutdown.trigger();
        task.await.unwrap().unwrap();
        let t = calls.lock().unwrap().clone();
        assert!(t.len() >= 6, "only {} attempts", t.len());
        let gaps: Vec<Duration> = t.windows(2).map(|w| w[1] - w[0]).collect();
        for w in gaps.windows(2).take(4) {
            assert!(w[1] >= w[0], "gaps should grow: {gaps:?}");
        }
        assert!(gaps[4] >= Duration::from_secs(8), "{gaps:?}");
        assert!(gaps.iter().all(|g| *g <= Duration::from_secs(60)), "{gaps:?}");
    }

    /// A supervisor whose every open fails with `error()`; the times it was asked to open.
    fn failing_supervisor(
        error: fn() -> ApiError,
        status: Arc<SocketStatus>,
        backoff: Backoff,
    ) -> (Supervisor, Arc<Mutex<Vec<Instant>>>, Shutdown) {
        let calls: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let c2 = calls.clone();
        let opener: Opener = Arc::new(move || {
            c2.lock().unwrap_or_else(|e| e.into_inner()).push(Instant::now());
            Box::pin(async move { Err(error()) })
        });
        let shutdown = Shutdown::new();
        let handler: Handler = Arc::new(|_| Box::pin(async { super::super::AckDecision::Ack(None) }));
        let sup = Supervisor { opener, handler, status, desired: 1, backoff, shutdown: shutdown.clone() };
        (sup, calls, shutdown)
    }

    fn refusing_supervisor(status: Arc<SocketStatus>) -> (Supervisor, Arc<Mutex<Vec<Instant>>>, Shutdown) {
        failing_supervisor(|| ApiError::Slack("invalid_auth".into()), status, Backoff::default())
    }

    /// Before anything has opened, a refused app token is a configuration error: stop at once.
    #[tokio::test(start_paused = true)]
    async fn a_refused_app_token_at_start_up_stops_the_supervisor() {
        let (sup, calls, _shutdown) = refusing_supervisor(Arc::default());
        let r = tokio::time::timeout(Duration::from_secs(10), sup.run()).await.expect("the supervisor kept retrying");
        assert!(matches!(r, Err(SocketError::AppTokenRefused { ref code }) if code == "invalid_auth"), "{r:?}");
        assert_eq!(calls.lock().unwrap().len(), 1);
    }

    /// Refused after the bot has been running: retried, with delays growing from 30 s to a
    /// 15-minute cap (it was every 30–60 s forever), and flagged for /healthz.
    #[tokio::test(start_paused = true)]
    async fn a_refused_app_token_after_start_up_backs_off_to_a_cap() {
        let status = Arc::new(SocketStatus::default());
        status.opened.store(1, Ordering::Relaxed);
        let (sup, calls, shutdown) = refusing_supervisor(status.clone());
        let task = tokio::spawn(sup.run());
        tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
        assert!(status.app_token_refused.load(Ordering::Relaxed));
        shutdown.trigger();
        task.await.unwrap().unwrap();
        let t = calls.lock().unwrap().clone();
        let gaps: Vec<Duration> = t.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(t.len() >= 8 && t.len() <= 25, "{} attempts in 2 h: {gaps:?}", t.len());
        assert!(gaps[0] >= Duration::from_secs(15), "{gaps:?}");
        for w in gaps.windows(2).take(5) {
            assert!(w[1] >= w[0], "gaps should grow: {gaps:?}");
        }
        assert!(gaps[5] >= Duration::from_secs(5 * 60), "{gaps:?}");
        assert!(gaps.iter().all(|g| *g <= Duration::from_secs(15 * 60)), "{gaps:?}");
    }

    /// `ratelimited` on apps.connections.open waits at least Retry-After.
    #[tokio::test(start_paused = true)]
    async fn ratelimited_open_waits_as_asked() {
        let limited = || ApiError::RateLimited { retry_after: Some(Duration::from_secs(42)) };
        let (sup, calls, shutdown) = failing_supervisor(limited, Arc::default(), Backoff::default());
        let task = tokio::spawn(sup.run());
        tokio::time::sleep(Duration::from_secs(100)).await;
        shutdown.trigger();
        task.await.unwrap().unwrap();
        let t = calls.lock().unwrap().clone();
        assert!(t.len() >= 2);
        assert!(t[1] - t[0] >= Duration::from_secs(42));
    }
}
