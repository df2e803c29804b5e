//! The dashboard's history: a sampler appends one [`MetricSample`] a minute
//! (and one at start-up) to the `metric_history` tree. Every append trims the
//! tree: records older than a day go, and it never holds more than
//! [`HISTORY_CAP`] records.
//!
//! Latency percentiles come from the per-method latency histograms in
//! [`crate::telemetry`]: the sampler adds up the buckets of every method, takes
//! the difference from its previous sample and interpolates inside the bucket
//! that holds the percentile (as Prometheus' `histogram_quantile` does). They
//! are as coarse as the buckets, and cost nothing on the request path.

use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;
use crate::store::{now_ms, MetricSample, Store};
use crate::telemetry::BUCKETS_MS;

/// Most records the history keeps: a day of one-minute samples.
pub const HISTORY_CAP: usize = 1440;
/// How far back the history (and every chart) reaches.
pub(crate) const HISTORY_SPAN_MS: u64 = 24 * 3600 * 1000;
const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// Sampling interval in seconds instead of 60, for tests (deliberately undocumented).
const SAMPLE_SECS_VAR: &str = "STATUSINATOR_SAMPLE_SECS";

fn sample_interval() -> Duration {
    std::env::var(SAMPLE_SECS_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .unwrap_or(SAMPLE_EVERY)
}

/// Samples at start-up and then every minute, until shutdown.
pub(crate) async fn run(ctx: Arc<Context>) {
    let mut sampler = Sampler::default();
    let mut tick = tokio::time::interval(sample_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = ctx.shutdown.wait() => return,
        }
        if let Err(e) = sampler.sample_now(&ctx) {
            tracing::warn!(error = %e, "recording a dashboard sample failed");
        }
    }
}

/// Counter readings at one sample, to difference against the next.
#[derive(Clone, Default)]
struct Counters {
    /// Web API calls ≤ each bound of [`BUCKETS_MS`], all methods together.
    api_le: Vec<u64>,
    api_total: u64,
    emoji_hits: u64,
    emoji_misses: u64,
    avatar_hits: u64,
    avatar_misses: u64,
}

/// Takes the samples: keeps the counter readings of the previous one, to difference against.
#[derive(Default)]
pub(crate) struct Sampler {
    last: Option<Counters>,
}

fn read_counters(ctx: &Context) -> Counters {
    let mut c = Counters { api_le: vec![0; BUCKETS_MS.len()], ..Counters::default() };
    for (_, h) in ctx.telemetry.api_latencies() {
        let (le, total) = h.cumulative();
        for (sum, n) in c.api_le.iter_mut().zip(le) {
            *sum += n;
        }
        c.api_total += total;
    }
    c.emoji_hits = ctx.emoji.hits();
    c.emoji_misses = ctx.emoji.misses();
    c.avatar_hits = ctx.avatars.hits();
    c.avatar_misses = ctx.avatars.misses();
    c
}

/// A counter's growth; a counter that went down was reset, so all of it is new.
pub(crate) fn growth(cur: u64, prev: u64) -> u64 {
    if cur >= prev {
        cur - prev
    } else {
        cur
    }
}

impl Sampler {
    /// Takes one sample now and adds it to the history (the sampler calls this
    /// once a minute; tests may call it directly).
    pub(crate) fn sample_now(&mut self, ctx: &Context) -> anyhow::Result<MetricSample> {
        let cur = read_counters(ctx);
        let prev = self.last.replace(cur.clone()).unwrap_or_default();
        let sample = sample(ctx, &cur, &prev);
        record(&ctx.store, &sample)?;
        Ok(sample)
    }
}

/// The sample for readings `cur`, taken after `prev`.
fn sample(ctx: &Context, cur: &Counters, prev: &Counters) -> MetricSample {
    let api_le: Vec<u64> = cur.api_le.iter().enumerate().map(|(i, n)| growth(*n, prev.api_le.get(i).copied().unwrap_or(0))).collect();
    let api_calls = growth(cur.api_total, prev.api_total);
    let emoji_hits = growth(cur.emoji_hits, prev.emoji_hits);
    let avatar_hits = growth(cur.avatar_hits, prev.avatar_hits);
    MetricSample {
        at_ms: now_ms(),
        swaps_applied: ctx.telemetry.swaps.get("applied"),
        api_calls,
        api_p50_ms: quantile(0.5, &api_le, api_calls),
        api_p99_ms: quantile(0.99, &api_le, api_calls),
        queue_depth: crate::store::queue::depth(&ctx.store) as u64,
        emoji_lookups: emoji_hits + growth(cur.emoji_misses, prev.emoji_misses),
        emoji_hits,
        avatar_lookups: avatar_hits + growth(cur.avatar_misses, prev.avatar_misses),
        avatar_hits,
    }
}

/// The `q` quantile (ms) of `total` observations whose cumulative bucket
/// counts (≤ each bound of [`BUCKETS_MS`]) are `le`, interpolated linearly
/// inside its bucket. None without observations; beyond the last bound, that bound.
pub(crate) fn quantile(q: f64, le: &[u64], total: u64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let (mut below, mut lower) = (0u64, 0.0);
    for (&bound, &n) in BUCKETS_MS.iter().zip(le) {
        let n = n.min(total);
        if n > below && n as f64 >= rank {
            let frac = (rank - below as f64) / (n - below) as f64;
            return Some(lower + (bound - lower) * frac.clamp(0.0, 1.0));
        }
        below = below.max(n);
        lower = bound;
    }
    BUCKETS_MS.last().copied()
}

fn key(at_ms: u64) -> [u8; 8] {
    at_ms.to_be_bytes()
}

fn key_ms(k: &[u8]) -> u64 {
    <[u8; 8]>::try_from(k).map(u64::from_be_bytes).unwrap_or(0)
}

/// Adds `sample` to the history and trims it (as of the sample's time).
pub fn record(store: &Store, sample: &MetricSample) -> anyhow::Result<()> {
    store.metric_history.insert(key(sample.at_ms), sample)?;
    trim(store, sample.at_ms)?;
    Ok(())
}

/// Deletes records older than a day before `now_ms`, then the oldest until at
/// most [`HISTORY_CAP`] remain. Returns how many went.
pub(crate) fn trim(store: &Store, now_ms: u64) -> anyhow::Result<usize> {
    let tree = store.metric_history.raw();
    let cutoff = now_ms.saturating_sub(HISTORY_SPAN_MS);
    let mut removed = 0;
    while let Some((k, _)) = tree.first()? {
        if key_ms(&k) >= cutoff {
            break;
        }
        tree.remove(k)?;
        removed += 1;
    }
    let mut len = tree.len();
    while len > HISTORY_CAP && tree.pop_min()?.is_some() {
        len -= 1;
        removed += 1;
    }
    if removed > 0 {
        tracing::debug!(removed, kept = len, "trimmed the metric history");
    }
    Ok(removed)
}

/// The samples of the last day before `now_ms`, oldest first.
pub(crate) fn history(store: &Store, now_ms: u64) -> anyhow::Result<Vec<MetricSample>> {
    let cutoff = now_ms.saturating_sub(HISTORY_SPAN_MS);
    let mut out = Vec::new();
    for kv in store.metric_history.raw().range(key(cutoff)..) {
        let (_, v) = kv?;
        match serde_json::from_slice::<MetricSample>(&v) {
            Ok(s) if s.at_ms <= now_ms => out.push(s),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "skipping an undecodable metric sample"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        (dir, s)
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let mut le = vec![0u64; BUCKETS_MS.len()];
        // 10 calls: 4 in (5, 10] ms, 6 in (50, 100] ms.
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            le[i] = if *b >= 100.0 {
                10
            } else if *b >= 10.0 {
                4
            } else {
                0
            };
        }
        let p50 = quantile(0.5, &le, 10).unwrap();
        assert!((p50 - (50.0 + 50.0 / 6.0)).abs() < 1e-6, "{p50}");
        let p99 = quantile(0.99, &le, 10).unwrap();
        assert!(p99 > 99.0 && p99 <= 100.0, "{p99}");
        assert!((quantile(0.25, &le, 10).unwrap() - (5.0 + 5.0 * 2.5 / 4.0)).abs() < 1e-6);
        assert_eq!(quantile(0.5, &le, 0), None);
        // Everything slower than the last bucket.
        assert_eq!(quantile(0.5, &vec![0; BUCKETS_MS.len()], 3), Some(5000.0));
    }

    #[test]
    fn history_never_exceeds_its_cap_or_a_day() {
        let (_d, s) = store();
        let t0 = 1_700_000_000_000u64;
        // Faster than once a minute: the count cap holds.
        for i in 0..3000u64 {
            record(&s, &MetricSample { at_ms: t0 + i * 10_000, ..Default::default() }).unwrap();
            assert!(s.metric_history.len() <= HISTORY_CAP, "after {i}: {}", s.metric_history.len());
        }
        assert_eq!(s.metric_history.len(), HISTORY_CAP);
        let first = key_ms(&s.metric_history.raw().first().unwrap().unwrap().0);
        assert_eq!(first, t0 + (3000 - HISTORY_CAP as u64) * 10_000, "the oldest went first");
        // Sparser over three days: nothing older than a day stays.
        let t1 = t0 + 3000 * 10_000;
        for i in 0..900u64 {
            let now = t1 + i * 5 * 60_000;
            record(&s, &MetricSample { at_ms: now, ..Default::default() }).unwrap();
            assert!(s.metric_history.len() <= HISTORY_CAP);
            let oldest = key_ms(&s.metric_history.raw().first().unwrap().unwrap().0);
            assert!(oldest >= now - HISTORY_SPAN_MS, "after {i}");
        }
        assert_eq!(s.metric_history.len(), 24 * 12 + 1);
        // A trim long after the last sample empties it.
        trim(&s, t1 + 10 * HISTORY_SPAN_MS).unwrap();
        assert!(s.metric_history.is_empty());
    }
}
