//! Store health: whether the database can be written, decided by one monitor.
//!
//! Anyone who sees a write or flush fail reports it ([`Health::report_failure`]); the first
//! report of an episode logs one error and wakes [`monitor`], which probes (a write and a
//! flush) with backoff. Meanwhile the dispatcher refuses envelopes without touching the store,
//! so Slack redelivers them. A probe that succeeds ends the episode ("store writable again").
//!
//! sled latches its first IO error until the database is reopened, so after a real ENOSPC no
//! probe succeeds in this process. The monitor therefore gives up — asks for a restart — when
//! the disk has room again but the database still refuses, or when the store has been
//! unwritable for `[storage] unwritable_exit_seconds`. The bot then shuts down and exits with
//! [`RESTART_EXIT_CODE`], so the service manager starts it again on a reopened database.

use std::future::Future;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::shutdown::Shutdown;

/// Exit status when only a restart can make the store writable again (EX_TEMPFAIL: not 2,
/// which means bad configuration and is not restarted by the systemd unit).
pub(crate) const RESTART_EXIT_CODE: u8 = 75;

/// Free space on the database's file system that counts as "room again" (a few sled segments).
const ROOM_BYTES: u64 = 4 * 1024 * 1024;

/// What the last probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    Ok,
    /// The write or flush failed; `room`: the file system has [`ROOM_BYTES`] free.
    Failed {
        room: bool,
    },
}

/// What `/healthz` and the dispatcher see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Writable,
    Unwritable { for_secs: u64 },
    RestartNeeded { reason: String },
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Writable => write!(f, "writable"),
            Verdict::Unwritable { for_secs } => write!(f, "not writable (for {for_secs} s; retrying)"),
            Verdict::RestartNeeded { .. } => write!(f, "not writable (restart needed)"),
        }
    }
}

#[derive(Debug)]
enum State {
    Writable,
    Failing { since: Instant },
    RestartNeeded { reason: String },
}

/// The shared verdict; written by reports (start of an episode) and the monitor (its end).
#[derive(Debug)]
pub struct Health {
    state: Mutex<State>,
    wake: Notify,
}

impl Default for Health {
    fn default() -> Self {
        Health { state: Mutex::new(State::Writable), wake: Notify::new() }
    }
}

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// False from the first reported failure until a probe succeeds.
    pub(crate) fn is_writable(&self) -> bool {
        matches!(*self.lock(), State::Writable)
    }

    pub(crate) fn verdict(&self) -> Verdict {
        match &*self.lock() {
            State::Writable => Verdict::Writable,
            State::Failing { since } => Verdict::Unwritable { for_secs: since.elapsed().as_secs() },
            State::RestartNeeded { reason } => Verdict::RestartNeeded { reason: reason.clone() },
        }
    }

    /// Why the monitor asked for a restart, if it did.
    pub(crate) fn restart_reason(&self) -> Option<String> {
        match &*self.lock() {
            State::RestartNeeded { reason } => Some(reason.clone()),
            _ => None,
        }
    }

    /// A write or flush failed. The first report of an episode logs it and wakes the monitor;
    /// later ones are only debug lines (one envelope after another would fail the same way).
    pub(crate) fn report_failure(&self, error: &dyn std::fmt::Display) {
        let started = {
            let mut st = self.lock();
            let writable = matches!(*st, State::Writable);
            if writable {
                *st = State::Failing { since: Instant::now() };
            }
            writable
        };
        if started {
            tracing::error!(error = %error, "the store is not writable: not acking envelopes (Slack redelivers them) until a probe write succeeds");
            self.wake.notify_one();
        } else {
            tracing::debug!(error = %error, "the store is still not writable");
        }
    }
}

/// Probe timing and the give-up deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub first: Duration,
    pub max: Duration,
    pub(crate) exit_after: Duration,
}

impl Policy {
    pub(crate) fn new(exit_after: Duration) -> Policy {
        Policy { first: Duration::from_secs(1), max: Duration::from_secs(30), exit_after }
    }
}

/// The next step after a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    Resume,
    RetryIn(Duration),
    GiveUp(String),
}

/// One unwritable episode: when it began and the next probe delay.
#[derive(Debug)]
pub(crate) struct Episode {
    since: Instant,
    delay: Duration,
}

impl Episode {
    pub(crate) fn new(since: Instant, policy: &Policy) -> Episode {
        Episode { since, delay: policy.first }
    }

    /// The first wait, before any probe.
    pub(crate) fn first_wait(&self, policy: &Policy, now: Instant) -> Duration {
        self.delay.min(policy.exit_after.saturating_sub(now - self.since))
    }

    /// Decides from a probe's result at `now`; advances the backoff.
    pub(crate) fn after(&mut self, policy: &Policy, now: Instant, probe: Probe) -> Next {
        let elapsed = now - self.since;
        match probe {
            Probe::Ok => Next::Resume,
            Probe::Failed { room: true } => Next::GiveUp(
                "the disk has room again but the database still refuses writes (sled keeps its first write error until the database is reopened)".into(),
            ),
            Probe::Failed { room: false } if elapsed >= policy.exit_after => {
                Next::GiveUp(format!("the database has not been writable for {} s", elapsed.as_secs()))
            }
            Probe::Failed { room: false } => {
                self.delay = (self.delay * 2).min(policy.max);
                Next::RetryIn(self.delay.min(policy.exit_after - elapsed))
            }
        }
    }
}

/// Runs until shutdown: waits for a reported failure, then probes with backoff until the store
/// is writable again or only a restart can help; then it logs that once and trips `shutdown`.
pub(crate) async fn monitor<F, Fut>(health: &Health, policy: Policy, mut probe: F, shutdown: Shutdown)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Probe>,
{
    loop {
        tokio::select! {
            _ = health.wake.notified() => {}
            _ = shutdown.wait() => return,
        }
        let since = match &*health.lock() {
            State::Failing { since } => *since,
            _ => continue,
        };
        let mut episode = Episode::new(since, &policy);
        let mut wait = episode.first_wait(&policy, Instant::now());
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait() => return,
            }
            match episode.after(&policy, Instant::now(), probe().await) {
                Next::RetryIn(d) => wait = d,
                Next::Resume => {
                    *health.lock() = State::Writable;
                    tracing::info!("store writable again: acking envelopes");
                    break;
                }
                Next::GiveUp(reason) => {
                    tracing::error!("{reason}: stopping so the service manager restarts statusinator (exit status {RESTART_EXIT_CODE}), because only reopening the database clears the error");
                    *health.lock() = State::RestartNeeded { reason };
                    shutdown.trigger();
                    return;
                }
            }
        }
    }
}

/// Is there room on the file system holding `dir`? False when it cannot be told.
#[cfg(unix)]
#[allow(unsafe_code)] // libc::statvfs, below
pub(crate) fn has_room(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statvfs(3) writes only into `st`, a plain struct we own; `c` is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    rc == 0 && (st.f_bavail as u64).saturating_mul(st.f_frsize as u64) >= ROOM_BYTES
}

#[cfg(not(unix))]
pub(crate) fn has_room(_: &Path) -> bool {
    false
}

/// Is this error (anywhere in its chain) the database's?
pub(crate) fn is_store_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<sled::Error>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Seconds after `start` of each probe.
    fn offsets(times: &[Instant], start: Instant) -> Vec<u64> {
        times.iter().map(|t| (*t - start).as_secs()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_stays_full_is_probed_with_backoff_then_given_up_at_the_deadline() {
        let health = Health::default();
        let shutdown = Shutdown::new();
        let start = Instant::now();
        health.report_failure(&"No space left on device");
        health.report_failure(&"No space left on device");
        assert!(!health.is_writable());
        let mut times = Vec::new();
        let probe = || {
            times.push(Instant::now());
            async { Probe::Failed { room: false } }
        };
        monitor(&health, Policy::new(Duration::from_secs(300)), probe, shutdown.clone()).await;
        assert_eq!(offsets(&times, start), vec![1, 3, 7, 15, 31, 61, 91, 121, 151, 181, 211, 241, 271, 300]);
        let reason = health.restart_reason().expect("gave up");
        assert!(reason.contains("not been writable for 300 s"), "{reason}");
        assert!(shutdown.is_triggered(), "the bot is asked to stop");
        assert_eq!(health.verdict().to_string(), "not writable (restart needed)");
    }

    #[tokio::test(start_paused = true)]
    async fn room_on_the_disk_while_writes_still_fail_gives_up_at_once() {
        let health = Health::default();
        let shutdown = Shutdown::new();
        let start = Instant::now();
        health.report_failure(&"No space left on device");
        let mut times = Vec::new();
        let probe = || {
            times.push(Instant::now());
            async { Probe::Failed { room: true } }
        };
        monitor(&health, Policy::new(Duration::from_secs(300)), probe, shutdown.clone()).await;
        assert_eq!(offsets(&times, start), vec![1]);
        assert!(health.restart_reason().expect("gave up").contains("the disk has room again"));
        assert!(shutdown.is_triggered());
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_succeeds_resumes_acking_and_a_later_failure_starts_a_new_episode() {
        let health = Arc::new(Health::default());
        let shutdown = Shutdown::new();
        let results = Arc::new(Mutex::new(vec![Probe::Failed { room: false }, Probe::Failed { room: false }, Probe::Ok]));
        let task = {
            let (health, results, shutdown) = (health.clone(), results.clone(), shutdown.clone());
            tokio::spawn(async move {
                let probe = || {
                    let next = results.lock().unwrap().pop().unwrap_or(Probe::Ok);
                    async move { next }
                };
                monitor(&health, Policy::new(Duration::from_secs(300)), probe, shutdown).await
            })
        };
        results.lock().unwrap().reverse();
        health.report_failure(&"injected write error");
        tokio::time::sleep(Duration::from_millis(6_500)).await;
        assert_eq!(health.verdict(), Verdict::Unwritable { for_secs: 6 }, "probes at 1 s and 3 s failed");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(health.is_writable(), "the probe at 7 s succeeded");
        assert!(!shutdown.is_triggered());

        health.report_failure(&"injected write error");
        assert!(!health.is_writable());
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(health.is_writable(), "the new episode's first probe succeeded");
        shutdown.trigger();
        task.await.unwrap();
        assert!(health.restart_reason().is_none());
    }
}
