//! Telemetry: the counters and latency histograms the bot keeps in memory.
//!
//! One [`Telemetry`] is created per bot (in `app::run`) and handed out as an
//! `Arc`: the Slack client counts its calls into it, the socket its envelopes
//! and acks, the jobs their outcomes. This module is a leaf: it knows nothing
//! of the rest of the crate. Reading it out (Prometheus text, the dashboard's
//! samples, the CSV) lives in `web/`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds (ms) of the latency histogram buckets.
pub(crate) const BUCKETS_MS: &[f64] = &[0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0];

#[derive(Debug)]
pub(crate) struct Histogram {
    counts: Vec<AtomicU64>,
    sum_us: AtomicU64,
    total: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new()
    }
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram { counts: BUCKETS_MS.iter().map(|_| AtomicU64::new(0)).collect(), sum_us: AtomicU64::new(0), total: AtomicU64::new(0) }
    }

    pub(crate) fn observe(&self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_us.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Cumulative counts per bucket of [`BUCKETS_MS`] (observations ≤ bound), and the total.
    /// The buckets are read first: [`Histogram::observe`] counts them before the total, so a
    /// reading taken meanwhile never has a bucket above the total.
    pub(crate) fn cumulative(&self) -> (Vec<u64>, u64) {
        let counts = self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        (counts, self.total.load(Ordering::Relaxed))
    }

    /// The sum of every observation, in seconds.
    pub(crate) fn sum_secs(&self) -> f64 {
        self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
    }
}

/// Labels one family keeps; later new labels are counted under [`OTHER_LABEL`].
pub const MAX_LABELS: usize = 256;
pub(crate) const OTHER_LABEL: &str = "other";

/// Labelled counters. Labels come partly from Slack (error codes), so their number is capped:
/// a server answering with ever-new error strings cannot grow memory or `/metrics` without end.
#[derive(Debug, Default)]
pub struct Family(Mutex<BTreeMap<String, u64>>);

impl Family {
    pub fn inc(&self, label: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Counted on every envelope and API call: a known label costs no allocation.
        if let Some(n) = map.get_mut(label) {
            *n += 1;
            return;
        }
        let key = if map.len() < MAX_LABELS { label } else { OTHER_LABEL };
        *map.entry(key.to_string()).or_default() += 1;
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, label: &str) -> u64 {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(label).copied().unwrap_or(0)
    }

    /// Every label and its count, in label order.
    pub(crate) fn snapshot(&self) -> Vec<(String, u64)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// Every counter of one bot.
#[derive(Debug, Default)]
pub struct Telemetry {
    /// Envelopes received, by kind.
    pub envelopes: Family,
    /// Envelope received → ack written.
    pub(crate) ack_latency: Histogram,
    /// Web API calls, by `method status` (joined by a NUL, see [`Telemetry::api_call`]).
    pub api_calls: Family,
    api_latency: Mutex<BTreeMap<String, Arc<Histogram>>>,
    /// Swap outcomes: applied, skipped, coalesced, failed, retried.
    pub swaps: Family,
    /// Times a budget or rate limit made the bot wait.
    pub(crate) rate_limit_waits: AtomicU64,
    /// Status expiries handled (the profile re-read when a status-expiry timer came due).
    pub(crate) expiries: AtomicU64,
    /// Catch-ups with Slack: reads, the swaps they led to, the latest pass.
    pub catch_up: CatchUps,
}

impl Telemetry {
    pub fn new() -> Telemetry {
        Telemetry::default()
    }

    /// Counts one Web API call of `method` that ended in `status` after `d`.
    pub fn api_call(&self, method: &str, status: &str, d: Duration) {
        self.api_calls.inc(&format!("{method}\u{0}{status}"));
        let h = self
            .api_latency
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(method.to_string())
            .or_insert_with(|| Arc::new(Histogram::new()))
            .clone();
        h.observe(d);
    }

    /// The latency histogram of every Web API method called so far, by method.
    pub(crate) fn api_latencies(&self) -> Vec<(String, Arc<Histogram>)> {
        self.api_latency.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Counts one status expiry handled.
    pub(crate) fn expiry_handled(&self) {
        self.expiries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one wait a budget or rate limit imposed.
    pub(crate) fn rate_limit_wait(&self) {
        self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
    }
}

/// The latest catch-up pass (see `jobs::catch_up`): when it began, whether it finished, and how
/// many profiles it read. Kept in memory: every start runs one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatchUpRun {
    pub(crate) started_ms: u64,
    /// None while it runs.
    pub(crate) finished_ms: Option<u64>,
    /// Profiles read so far.
    pub reads: u64,
}

/// Catch-up counters and the record of the latest pass.
#[derive(Debug, Default)]
pub struct CatchUps {
    /// Profiles read by catch-ups (`users.profile.get`), since start-up.
    pub reads: AtomicU64,
    /// Jobs a catch-up queued that the runner then applied.
    pub swaps: AtomicU64,
    last: Mutex<Option<CatchUpRun>>,
}

impl CatchUps {
    fn with_last<T>(&self, f: impl FnOnce(&mut Option<CatchUpRun>) -> T) -> T {
        f(&mut self.last.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A pass begins (replacing the record of the one before).
    pub fn started(&self, now_ms: u64) {
        self.with_last(|l| *l = Some(CatchUpRun { started_ms: now_ms, finished_ms: None, reads: 0 }));
    }

    /// One profile read.
    pub fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.with_last(|l| {
            if let Some(run) = l {
                run.reads += 1;
            }
        });
    }

    /// The pass ended.
    pub fn finished(&self, now_ms: u64) {
        self.with_last(|l| {
            if let Some(run) = l {
                run.finished_ms = Some(now_ms);
            }
        });
    }

    /// A job a catch-up queued was applied.
    pub fn swapped(&self) {
        self.swaps.fetch_add(1, Ordering::Relaxed);
    }

    /// The latest pass, if one has begun.
    pub fn last(&self) -> Option<CatchUpRun> {
        self.with_last(|l| *l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_caps_its_labels() {
        let f = Family::default();
        for i in 0..MAX_LABELS + 10 {
            f.inc(&format!("code_{i}"));
        }
        f.inc("code_0");
        assert_eq!(f.len(), MAX_LABELS + 1);
        assert_eq!(f.get(OTHER_LABEL), 10);
        assert_eq!(f.get("code_0"), 2);
    }

    #[test]
    fn api_calls_are_counted_per_method_with_their_latency() {
        let t = Telemetry::new();
        t.api_call("users.info", "ok", Duration::from_millis(3));
        t.api_call("users.info", "ratelimited", Duration::from_millis(700));
        let hs = t.api_latencies();
        assert_eq!(hs.len(), 1);
        let (le, total) = hs[0].1.cumulative();
        assert_eq!(total, 2);
        assert_eq!(le[BUCKETS_MS.iter().position(|b| *b == 5.0).unwrap()], 1);
        assert!((hs[0].1.sum_secs() - 0.703).abs() < 1e-9);
        assert_eq!(t.api_calls.get("users.info\u{0}ok"), 1);
    }
}
