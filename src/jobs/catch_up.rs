//! Catch-up: the bot reads its members' profiles itself when Slack may have said nothing.
//!
//! At start-up, and whenever a Socket Mode connection opens after none was open for
//! [`LONG_GAP`] or more, every connected, unpaused member with a preset that could apply
//! ([`members::catch_up_candidates`]) has their profile read with their own token and observed
//! exactly as a `user_change` would be ([`members::read_and_observe_from`]): ordering, baseline,
//! coalescing, budgets, and "already in force → nothing queued". Reads are paced ([`READ_EVERY`]:
//! 50 a minute across members, so 300 members take six minutes); a member whose event arrived
//! after the pass began is not read. A rate-limited read waits as long as Slack asks (the whole
//! pass waits: the limit is the app's) and retries the member; other errors skip the member.
//!
//! One pass runs at a time. A new trigger during a pass starts it over with a fresh start time:
//! members read before the gap may have changed during it. The pace carries over.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::context::Context;
use crate::members;
use crate::slack::ApiError;
use crate::socket::Reopened;
use crate::store::{now_ms, queue, JobOrigin};

/// No connection open this long (or longer) may have cost events: catch up when one opens.
pub(crate) const LONG_GAP: Duration = Duration::from_secs(60);
/// One read this often: 50 a minute, well under `users.profile.get`'s Tier 4.
pub(crate) const READ_EVERY: Duration = Duration::from_millis(1200);
/// Rate-limited reads of one member before the pass gives up on them.
const MAX_RATE_LIMITED: u32 = 5;
/// The wait when a 429 comes without Retry-After.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Spaces reads evenly: each starts at least `every` after the one before.
pub(crate) struct Pacer {
    every: Duration,
    next: Option<Instant>,
}

impl Pacer {
    pub(crate) fn new(every: Duration) -> Pacer {
        Pacer { every, next: None }
    }

    /// Waits for the next read's turn, and takes it.
    pub(crate) async fn turn(&mut self) {
        if let Some(at) = self.next {
            tokio::time::sleep_until(at).await;
        }
        self.next = Some(Instant::now() + self.every);
    }

    /// No read before `at` (Slack asked us to wait).
    fn hold_until(&mut self, at: Instant) {
        self.next = Some(self.next.map_or(at, |n| n.max(at)));
    }
}

/// What one read came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Read and observed; `queued`: the member's desired state was queued.
    Observed { queued: bool },
    /// Slack answered 429: wait this long, then read the member again.
    RateLimited(Duration),
    /// Nothing more to do for the member (no usable token, or an error, logged).
    Skipped,
}

/// The reads of one pass, behind a trait so the pacing is tested without Slack.
pub(crate) trait Reader {
    /// Whether `member` still needs a read (false once an event of theirs arrived during the pass).
    fn needs_read(&self, member: &str) -> bool;
    /// Reads the member's profile and observes it.
    fn read(&self, member: &str) -> impl Future<Output = Read> + Send;
}

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PassReport {
    /// `users.profile.get` calls made (a rate-limited retry counts again).
    pub reads: u64,
    /// Members whose desired state was queued.
    pub queued: u64,
    /// Members not read because an event of theirs arrived meanwhile.
    pub fresh: u64,
}

/// Reads `members` in order, one [`Pacer::turn`] each.
pub(crate) async fn pass<R: Reader>(members: &[String], reader: &R, pacer: &mut Pacer) -> PassReport {
    let mut report = PassReport::default();
    for member in members {
        let mut limited = 0;
        loop {
            if !reader.needs_read(member) {
                report.fresh += 1;
                break;
            }
            pacer.turn().await;
            report.reads += 1;
            match reader.read(member).await {
                Read::Observed { queued } => {
                    report.queued += u64::from(queued);
                    break;
                }
                Read::Skipped => break,
                Read::RateLimited(wait) => {
                    limited += 1;
                    if limited >= MAX_RATE_LIMITED {
                        tracing::warn!(member, limited, "catch-up: Slack keeps rate-limiting the profile reads; skipping the member");
                        break;
                    }
                    tracing::info!(member, wait_ms = wait.as_millis() as u64, "catch-up: rate-limited; waiting as Slack asks");
                    pacer.hold_until(Instant::now() + wait);
                }
            }
        }
    }
    report
}

/// The real reads: the member's own token, the `user_change` path, counted in telemetry.
struct Live<'a> {
    ctx: &'a Context,
    /// When the pass began, as a Slack timestamp: a newer event needs no read.
    since_ts: String,
}

impl Reader for Live<'_> {
    fn needs_read(&self, member: &str) -> bool {
        match self.ctx.store.member(member) {
            Ok(s) => !s.paused && s.last_event_ts.as_deref().is_none_or(|ts| queue::ts_key(ts) < queue::ts_key(&self.since_ts)),
            Err(e) => {
                tracing::warn!(member, error = %e, "catch-up: reading the member's state failed; reading the profile anyway");
                true
            }
        }
    }

    async fn read(&self, member: &str) -> Read {
        self.ctx.telemetry.catch_up.read();
        let deps = self.ctx.member_deps();
        match members::read_and_observe_from(&deps, member, JobOrigin::CatchUp).await {
            Ok(Some(o)) => {
                if o.queued {
                    // Durable like an acknowledged event (a kill now would read again anyway).
                    if let Err(e) = self.ctx.store.flush().await {
                        tracing::warn!(member, error = %e, "catch-up: flushing the queued job failed");
                    }
                }
                Read::Observed { queued: o.queued }
            }
            Ok(None) => Read::Skipped,
            Err(e) => match e.downcast_ref::<ApiError>() {
                Some(ApiError::RateLimited { retry_after }) => Read::RateLimited(retry_after.unwrap_or(DEFAULT_RETRY_AFTER)),
                _ => {
                    tracing::warn!(member, error = %format!("{e:#}"), "catch-up: reading the member's profile failed; skipping them");
                    Read::Skipped
                }
            },
        }
    }
}

/// Waits for a connection that opened after none was open for [`LONG_GAP`] or more; its gap.
/// Never returns once the socket status is gone.
pub(crate) async fn long_gap(rx: &mut watch::Receiver<Reopened>) -> Duration {
    loop {
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
        let gap = rx.borrow_and_update().gap;
        if gap >= LONG_GAP {
            return gap;
        }
        tracing::debug!(gap_ms = gap.as_millis() as u64, "a connection opened after a short gap: no catch-up");
    }
}

/// Runs catch-ups until shutdown: one at start-up, then one after each long gap.
pub async fn run(ctx: Arc<Context>) {
    let mut reopened = ctx.socket.reopenings();
    let mut pacer = Pacer::new(READ_EVERY);
    loop {
        let started_over = tokio::select! {
            _ = run_pass(&ctx, &mut pacer) => false,
            gap = long_gap(&mut reopened) => {
                tracing::info!(gap_s = gap.as_secs(), "a connection opened after a long gap during a catch-up: starting it over");
                true
            }
            _ = ctx.shutdown.wait() => return,
        };
        if !started_over {
            tokio::select! {
                gap = long_gap(&mut reopened) => tracing::info!(gap_s = gap.as_secs(), "a connection opened after a long gap: catching up"),
                _ = ctx.shutdown.wait() => return,
            }
        }
    }
}

/// One pass over the members a catch-up reads, recorded for `status` and Home.
async fn run_pass(ctx: &Context, pacer: &mut Pacer) {
    let reader = Live { ctx, since_ts: queue::now_ts() };
    ctx.telemetry.catch_up.started(now_ms());
    let members = members::catch_up_candidates(&ctx.store).unwrap_or_else(|e| {
        tracing::error!(error = %format!("{e:#}"), "catch-up: listing the members failed");
        Vec::new()
    });
    tracing::info!(members = members.len(), "catch-up: reading the profiles of members with presets");
    let report = pass(&members, &reader, pacer).await;
    ctx.telemetry.catch_up.finished(now_ms());
    tracing::info!(reads = report.reads, queued = report.queued, fresh = report.fresh, "catch-up done");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::sync::Mutex;

    use crate::socket::SocketStatus;

    /// Records when each member was read; answers from a script (default: observed).
    #[derive(Default)]
    struct Script {
        reads: Mutex<Vec<(String, Instant)>>,
        /// Answers given in order per member, then `Observed`.
        answers: Mutex<HashMap<String, Vec<Read>>>,
        fresh: HashSet<String>,
    }

    impl Reader for Script {
        fn needs_read(&self, member: &str) -> bool {
            !self.fresh.contains(member)
        }

        async fn read(&self, member: &str) -> Read {
            self.reads.lock().unwrap().push((member.to_string(), Instant::now()));
            let mut answers = self.answers.lock().unwrap();
            match answers.get_mut(member) {
                Some(a) if !a.is_empty() => a.remove(0),
                _ => Read::Observed { queued: true },
            }
        }
    }

    fn team(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("U{i:03}")).collect()
    }

    /// Acceptance (g): 300 members are read once each, never more than 50 in any minute, in
    /// about six minutes.
    #[tokio::test(start_paused = true)]
    async fn a_catch_up_of_300_members_stays_within_50_reads_a_minute() {
        let members = team(300);
        let reader = Script::default();
        let start = Instant::now();
        let report = pass(&members, &reader, &mut Pacer::new(READ_EVERY)).await;
        let reads = reader.reads.lock().unwrap().clone();
        assert_eq!(report, PassReport { reads: 300, queued: 300, fresh: 0 });
        let read: Vec<&String> = reads.iter().map(|(m, _)| m).collect();
        assert_eq!(read, members.iter().collect::<Vec<_>>(), "each member once, in order");
        let times: Vec<Instant> = reads.iter().map(|(_, t)| *t).collect();
        for (i, w) in times.windows(51).enumerate() {
            assert!(w[50] - w[0] >= Duration::from_secs(60), "reads {i}..={}: 51 reads within {:?}", i + 50, w[50] - w[0]);
        }
        let took = *times.last().unwrap() - start;
        assert!(took <= Duration::from_secs(360) && took >= Duration::from_secs(350), "took {took:?}");
    }

    /// A 429 waits its Retry-After and reads the same member again before the next one; an
    /// error skips the member; a member whose event came meanwhile is not read at all.
    #[tokio::test(start_paused = true)]
    async fn rate_limits_wait_and_retry_errors_and_fresh_events_skip() {
        let members = team(4);
        let mut reader = Script::default();
        reader.fresh.insert("U002".into());
        reader.answers.lock().unwrap().insert("U000".into(), vec![Read::RateLimited(Duration::from_secs(20))]);
        reader.answers.lock().unwrap().insert("U001".into(), vec![Read::Skipped]);
        let report = pass(&members, &reader, &mut Pacer::new(READ_EVERY)).await;
        let reads = reader.reads.lock().unwrap().clone();
        let who: Vec<&str> = reads.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(who, ["U000", "U000", "U001", "U003"]);
        assert!(reads[1].1 - reads[0].1 >= Duration::from_secs(20), "retried after {:?}", reads[1].1 - reads[0].1);
        assert!(reads[2].1 - reads[1].1 >= READ_EVERY);
        assert_eq!(report, PassReport { reads: 4, queued: 2, fresh: 1 });
    }

    /// A member Slack keeps rate-limiting is given up after a few tries; the rest are read.
    #[tokio::test(start_paused = true)]
    async fn endless_rate_limits_give_up_on_the_member() {
        let members = team(2);
        let reader = Script::default();
        reader.answers.lock().unwrap().insert("U000".into(), vec![Read::RateLimited(Duration::from_secs(1)); 10]);
        pass(&members, &reader, &mut Pacer::new(READ_EVERY)).await;
        let reads = reader.reads.lock().unwrap().clone();
        assert_eq!(reads.iter().filter(|(m, _)| m == "U000").count(), MAX_RATE_LIMITED as usize);
        assert_eq!(reads.last().map(|(m, _)| m.as_str()), Some("U001"));
    }

    /// The trigger's gap if it fires within a second.
    async fn fires(rx: &mut watch::Receiver<Reopened>) -> Option<Duration> {
        tokio::time::timeout(Duration::from_secs(1), long_gap(rx)).await.ok()
    }

    /// The trigger: a connection that opens after 60 s or more with none open starts a catch-up;
    /// one back after 5 s does not; nor does the first open soon after start-up.
    #[tokio::test(start_paused = true)]
    async fn a_connection_back_after_a_minute_triggers_a_catch_up_and_after_5_s_none() {
        let status = SocketStatus::default();
        let mut rx = status.reopenings();
        tokio::time::sleep(Duration::from_secs(2)).await;
        status.connection_up();
        assert_eq!(fires(&mut rx).await, None, "the open just after start-up triggered");
        status.connection_down();
        tokio::time::sleep(Duration::from_secs(5)).await;
        status.connection_up();
        assert_eq!(fires(&mut rx).await, None, "a 5 s gap triggered");
        // A second connection opening or closing while one stays open is no gap.
        status.connection_up();
        status.connection_down();
        status.connection_down();
        tokio::time::sleep(Duration::from_secs(61)).await;
        status.connection_up();
        let gap = fires(&mut rx).await.expect("a 61 s gap did not trigger");
        assert!(gap >= Duration::from_secs(61) && gap < Duration::from_secs(62), "{gap:?}");
        assert!(status.is_connected());
        // Slack unreachable at start-up for over a minute: the first open catches up too.
        let late = SocketStatus::default();
        let mut rx = late.reopenings();
        tokio::time::sleep(Duration::from_secs(90)).await;
        late.connection_up();
        assert!(fires(&mut rx).await.is_some(), "a first open 90 s after start-up did not trigger");
    }
}
