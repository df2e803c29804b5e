//! The profile cache (was the avatar cache): member id → display name, real name, image URL and status.
//!
//! Filled for free from every `user_change`, and on a miss from `users.info`
//! with single-flight (concurrent misses for one member make one call).
//! Entries are refreshed when touched and older than [`REFRESH_AFTER_MS`]
//! instead of expiring en masse.
//!
//! What events show is written a moment later ([`WRITE_AFTER`]), together: most events are
//! profile changes of members without presets, and a lone store read and write each, between
//! other work, cost several times what they cost in a batch. Every read of the cache writes
//! what is waiting first, so readers see what was recorded; without a runtime (tools, tests
//! of the store) an entry is written at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::slack::types::UserProfile;
use crate::slack::SlackClient;
use crate::store::{now_ms, CachedProfile, Store};

/// A touched entry older than this is refreshed in the background.
pub const REFRESH_AFTER_MS: u64 = 24 * 3600 * 1000;

/// An unchanged profile is written again (to move its time, which the refresh and the upkeep's
/// expiry go by) once its entry is this old: so that time is never more than this behind.
const UNCHANGED_REWRITE_MS: u64 = 10 * 60 * 1000;

/// How long a recorded profile waits to be written with the others recorded meanwhile.
pub(crate) const WRITE_AFTER: Duration = Duration::from_millis(200);

/// At most this many profiles wait; one more writes them all at once.
const MAX_WAITING: usize = 1024;

type Flight = Arc<OnceCell<Option<CachedProfile>>>;

/// Recorded profiles not yet written, newest per member; `scheduled`: a write is on its way.
#[derive(Default)]
struct Waiting {
    entries: HashMap<String, CachedProfile>,
    scheduled: bool,
}

/// What the delayed write needs: the store and the waiting entries (the cache itself is not shared).
#[derive(Clone)]
struct Writer {
    store: Store,
    waiting: Arc<Mutex<Waiting>>,
    /// Held while a batch is taken and written, so batches land in the order they were taken.
    writing: Arc<Mutex<()>>,
}

impl Writer {
    /// Writes what waits: each entry unless its stored one is the same and younger than
    /// [`UNCHANGED_REWRITE_MS`] (Slack sends a `user_change` for fields not kept here, and
    /// `user_profile_changed` beside it). The first error is returned; the rest of the batch is
    /// still tried.
    fn write_waiting(&self) -> anyhow::Result<()> {
        let _order = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let batch = {
            let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            w.scheduled = false;
            std::mem::take(&mut w.entries)
        };
        let mut first_error = None;
        for (member, entry) in batch {
            if let Err(e) = self.write(&member, entry) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn write(&self, member: &str, mut entry: CachedProfile) -> anyhow::Result<()> {
        let seen_ms = entry.fetched_ms;
        if let Some(old) = self.store.avatars.get(member)?.filter(|old| seen_ms.saturating_sub(old.fetched_ms) < UNCHANGED_REWRITE_MS) {
            entry.fetched_ms = old.fetched_ms;
            if entry == old {
                return Ok(());
            }
            entry.fetched_ms = seen_ms;
        }
        self.store.avatars.insert(member, &entry)
    }

    /// The delayed write: a refused one goes to the store's health monitor, as a refused write
    /// of an envelope's handling would (it stops the acks until the store is writable).
    async fn write_later(self) {
        tokio::time::sleep(WRITE_AFTER).await;
        if let Err(e) = self.write_waiting() {
            if crate::store::health::is_store_error(&e) {
                self.store.health().report_failure(&format!("{e:#}"));
            } else {
                tracing::warn!(error = %format!("{e:#}"), "avatar cache write failed");
            }
        }
    }
}

pub struct ProfileCache {
    store: Store,
    writer: Writer,
    inflight: Mutex<HashMap<String, Flight>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ProfileCache {
    pub fn new(store: Store) -> ProfileCache {
        let writer = Writer { store: store.clone(), waiting: Arc::default(), writing: Arc::default() };
        ProfileCache { store, writer, inflight: Mutex::default(), hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// Records what an event showed of a member's profile (written a moment later, see the
    /// module's notes). The same profile seen again within [`UNCHANGED_REWRITE_MS`] of the
    /// entry's time is not written again.
    pub fn update_from_profile(&self, member: &str, p: &UserProfile) {
        if let Err(e) = self.record(member, p) {
            tracing::warn!(error = %e, "avatar cache write failed");
        }
    }

    /// [`ProfileCache::update_from_profile`], returning the store's error instead of logging it
    /// (of this write, or of an earlier batch's written now).
    pub fn record(&self, member: &str, p: &UserProfile) -> anyhow::Result<()> {
        let entry = CachedProfile {
            display_name: p.display_name.clone().unwrap_or_default(),
            real_name: p.real_name.clone().unwrap_or_default(),
            image_url: p.best_image().map(str::to_string),
            status_emoji: p.status_emoji.clone().filter(|s| !s.is_empty()),
            status_text: p.status_text.clone().filter(|s| !s.is_empty()),
            status_expires_ms: p.status_expires_at_ms(),
            fetched_ms: now_ms(),
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.write_waiting()?;
            return self.writer.write(member, entry);
        };
        let (schedule, full) = {
            let mut w = self.writer.waiting.lock().unwrap_or_else(|e| e.into_inner());
            w.entries.insert(member.to_string(), entry);
            (!std::mem::replace(&mut w.scheduled, true), w.entries.len() >= MAX_WAITING)
        };
        if full {
            return self.write_waiting();
        }
        if schedule {
            runtime.spawn(self.writer.clone().write_later());
        }
        Ok(())
    }

    /// Writes the recorded profiles still waiting (before every read, and at shutdown).
    pub fn write_waiting(&self) -> anyhow::Result<()> {
        self.writer.write_waiting()
    }

    /// At shutdown, before the last flush: the profiles recorded in the last moment.
    pub fn write_waiting_at_stop(&self) {
        if let Err(e) = self.write_waiting() {
            tracing::warn!(error = %format!("{e:#}"), "avatar cache write failed");
        }
    }

    /// The cached profile, without calling Slack.
    pub fn peek(&self, member: &str) -> Option<CachedProfile> {
        if let Err(e) = self.write_waiting() {
            tracing::warn!(error = %e, "avatar cache write failed");
        }
        self.store.avatars.get(member).ok().flatten()
    }

    /// The member's profile: from the cache, or one `users.info` call shared by
    /// every concurrent caller.
    pub async fn get(&self, slack: &SlackClient, member: &str) -> Option<CachedProfile> {
        if let Some(p) = self.peek(member) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            if now_ms().saturating_sub(p.fetched_ms) < REFRESH_AFTER_MS {
                return Some(p);
            }
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        let flight = {
            let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(member.to_string()).or_default().clone()
        };
        let out = flight.get_or_init(|| self.fetch(slack, member)).await.clone();
        // Only our own flight: a newer one started after ours ended keeps its waiters.
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(member).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            map.remove(member);
        }
        out
    }

    /// One flight's work: `users.info`, unless a flight that ended between the
    /// caller's peek and this one already filled the cache.
    async fn fetch(&self, slack: &SlackClient, member: &str) -> Option<CachedProfile> {
        if let Some(p) = self.peek(member).filter(|p| now_ms().saturating_sub(p.fetched_ms) < REFRESH_AFTER_MS) {
            return Some(p);
        }
        match slack.users_info(member).await {
            Ok(u) => {
                let p = u.profile.unwrap_or_default();
                self.update_from_profile(member, &p);
                self.peek(member)
            }
            Err(e) => {
                tracing::info!(error = %e, "users.info failed");
                self.peek(member)
            }
        }
    }

    pub fn purge(&self, member: &str) -> bool {
        let _ = self.write_waiting();
        matches!(self.store.avatars.remove(member), Ok(Some(_)))
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        let _ = self.write_waiting();
        self.store.avatars.len()
    }

    pub fn is_empty(&self) -> bool {
        let _ = self.write_waiting();
        self.store.avatars.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    /// A stand-in for Slack's `users.info` that answers slowly and counts calls.
    async fn stub(calls: Arc<AtomicU64>) -> url::Url {
        let app = axum::Router::new().route(
            "/api/users.info",
            axum::routing::post(move || {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                    let body = r#"{"ok":true,"user":{"id":"U1","name":"ada","profile":{"display_name":"Ada","real_name":"Ada Lovelace","image_512":"https://avatars.slack-edge.com/a_512.png","status_emoji":":palm_tree:"}}}"#;
                    ([(axum::http::header::CONTENT_TYPE, "application/json")], body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url::Url::parse(&format!("http://{addr}/api/")).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_for_one_member_make_one_users_info_call() {
        let calls = Arc::new(AtomicU64::new(0));
        let base = stub(calls.clone()).await;
        let slack = SlackClient::new(base, Secret::new("xoxb-test"), Secret::new("xapp-test")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(ProfileCache::new(Store::open(&dir.path().join("db")).unwrap()));

        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (cache, slack) = (cache.clone(), slack.clone());
            set.spawn(async move { cache.get(&slack, "U1").await });
        }
        while let Some(got) = set.join_next().await {
            let p = got.unwrap().expect("every caller gets the profile");
            assert_eq!(p.display_name, "Ada");
            assert_eq!(p.real_name, "Ada Lovelace");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "eight concurrent misses, one users.info");
        assert_eq!(cache.misses(), 8);

        // Now cached: no call.
        assert_eq!(cache.get(&slack, "U1").await.map(|p| p.display_name).as_deref(), Some("Ada"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.hits(), 1);

        // Purged: the next miss calls again, once for two more concurrent callers.
        assert!(cache.purge("U1"));
        assert!(!cache.purge("U1"));
        let (a, b) = tokio::join!(cache.get(&slack, "U1"), cache.get(&slack, "U1"));
        assert!(a.is_some() && b.is_some());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(cache.inflight.lock().unwrap().is_empty(), "finished flights are forgotten");
    }

    #[test]
    fn an_unchanged_profile_is_not_written_again_until_its_entry_is_ten_minutes_old() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let cache = ProfileCache::new(store.clone());
        let ada = UserProfile { display_name: Some("Ada".into()), status_emoji: Some(":tea:".into()), ..Default::default() };
        cache.update_from_profile("U1", &ada);
        let first = cache.peek("U1").unwrap();
        // Aged by hand: within ten minutes the same profile leaves the entry as it was.
        let aged = |ms: u64| store.avatars.insert("U1", &CachedProfile { fetched_ms: now_ms() - ms, ..first.clone() }).unwrap();
        aged(60_000);
        cache.update_from_profile("U1", &ada);
        let kept = cache.peek("U1").unwrap();
        assert!(now_ms() - kept.fetched_ms >= 60_000, "not rewritten");
        // A change is written at once, with a new time.
        let away = UserProfile { status_emoji: Some(":palm_tree:".into()), ..ada.clone() };
        cache.update_from_profile("U1", &away);
        let changed = cache.peek("U1").unwrap();
        assert_eq!(changed.status_emoji.as_deref(), Some(":palm_tree:"));
        assert!(now_ms() - changed.fetched_ms < 60_000);
        // Older than ten minutes: the same profile is written again, moving its time.
        store.avatars.insert("U1", &CachedProfile { fetched_ms: now_ms() - UNCHANGED_REWRITE_MS - 1, ..changed.clone() }).unwrap();
        cache.update_from_profile("U1", &away);
        assert!(now_ms() - cache.peek("U1").unwrap().fetched_ms < 60_000);
    }

    #[tokio::test(start_paused = true)]
    async fn recorded_profiles_are_written_together_a_moment_later_and_read_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let cache = ProfileCache::new(store.clone());
        for (id, name) in [("U1", "Ada"), ("U2", "Grace")] {
            cache.record(id, &UserProfile { display_name: Some(name.into()), ..Default::default() }).unwrap();
        }
        assert!(store.avatars.get("U1").unwrap().is_none(), "written at once");
        tokio::time::sleep(WRITE_AFTER + Duration::from_millis(1)).await;
        assert_eq!(store.avatars.get("U1").unwrap().map(|p| p.display_name).as_deref(), Some("Ada"));
        assert_eq!(store.avatars.get("U2").unwrap().map(|p| p.display_name).as_deref(), Some("Grace"));
        // A read does not wait for the batch: it writes what waits first.
        cache.record("U3", &UserProfile { display_name: Some("Hedy".into()), ..Default::default() }).unwrap();
        assert_eq!(cache.peek("U3").map(|p| p.display_name).as_deref(), Some("Hedy"));
        assert_eq!(cache.len(), 3);
        // The newest of two recorded before the batch is the one kept.
        cache.record("U1", &UserProfile { display_name: Some("Ada L".into()), ..Default::default() }).unwrap();
        cache.record("U1", &UserProfile { display_name: Some("Ada Lovelace".into()), ..Default::default() }).unwrap();
        tokio::time::sleep(WRITE_AFTER + Duration::from_millis(1)).await;
        assert_eq!(store.avatars.get("U1").unwrap().map(|p| p.display_name).as_deref(), Some("Ada Lovelace"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flight_that_starts_after_the_cache_filled_makes_no_call() {
        let calls = Arc::new(AtomicU64::new(0));
        let base = stub(calls.clone()).await;
        let slack = SlackClient::new(base, Secret::new("xoxb-test"), Secret::new("xapp-test")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = ProfileCache::new(Store::open(&dir.path().join("db")).unwrap());
        // A caller peeked (miss), then another flight filled the cache and ended before this
        // caller started its own: the work of its flight finds the entry and skips Slack.
        cache.update_from_profile("U1", &UserProfile { display_name: Some("Ada".into()), ..Default::default() });
        assert_eq!(cache.fetch(&slack, "U1").await.map(|p| p.display_name).as_deref(), Some("Ada"));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // Without an entry it does call.
        assert!(cache.fetch(&slack, "U2").await.is_some());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
