//! The avatar cache: member id → display name, real name, image URL and status.
//!
//! Filled for free from every `user_change`, and on a miss from `users.info`
//! with single-flight (concurrent misses for one member make one call).
//! Entries are refreshed when touched and older than [`REFRESH_AFTER_MS`]
//! instead of expiring en masse.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::slack::types::UserProfile;
use crate::slack::SlackClient;
use crate::store::{now_ms, CachedProfile, Store};

/// A touched entry older than this is refreshed in the background.
pub const REFRESH_AFTER_MS: u64 = 24 * 3600 * 1000;

type Flight = Arc<OnceCell<Option<CachedProfile>>>;

pub struct AvatarCache {
    store: Store,
    inflight: Mutex<HashMap<String, Flight>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl AvatarCache {
    pub fn new(store: Store) -> AvatarCache {
        AvatarCache { store, inflight: Mutex::default(), hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// Records what an event showed of a member's profile.
    pub fn update_from_profile(&self, member: &str, p: &UserProfile) {
        let entry = CachedProfile {
            display_name: p.display_name.clone().unwrap_or_default(),
            real_name: p.real_name.clone().unwrap_or_default(),
            image_url: p.best_image().map(str::to_string),
            status_emoji: p.status_emoji.clone().filter(|s| !s.is_empty()),
            status_text: p.status_text.clone().filter(|s| !s.is_empty()),
            fetched_ms: now_ms(),
        };
        if let Err(e) = self.store.avatars.insert(member, &entry) {
            tracing::warn!(error = %e, "avatar cache write failed");
        }
    }

    /// The cached profile, without calling Slack.
    pub fn peek(&self, member: &str) -> Option<CachedProfile> {
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
        let out = flight
            .get_or_init(|| async {
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
            })
            .await
            .clone();
        self.inflight.lock().unwrap_or_else(|e| e.into_inner()).remove(member);
        out
    }

    pub fn purge(&self, member: &str) -> bool {
        matches!(self.store.avatars.remove(member), Ok(Some(_)))
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.store.avatars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.avatars.is_empty()
    }
}
