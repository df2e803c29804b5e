//! The records the store keeps, one type per kind of data.
//!
//! Every field added later must be `#[serde(default)]` so records written by an
//! older version still decode; renames and reshapes go through a migration.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// A member's preset: what their profile becomes while their status emoji is `emoji`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    pub member: String,
    /// Canonical emoji name: no colons, no skin tone, aliases resolved.
    pub emoji: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Hash of the processed photo in the photos tree.
    #[serde(default)]
    pub photo: Option<String>,
    #[serde(default)]
    pub updated_ms: u64,
}

impl Preset {
    pub fn new(member: &str, emoji: &str) -> Preset {
        Preset { member: member.into(), emoji: emoji.into(), name: None, photo: None, updated_ms: super::now_ms() }
    }
}

/// The member's own name and photo, captured just before the first swap away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub name: String,
    /// Hash of the original photo bytes; None when the member had no custom photo
    /// or it could not be fetched.
    #[serde(default)]
    pub photo: Option<String>,
    /// The profile's avatar hash when captured (to tell our writes from theirs).
    #[serde(default)]
    pub avatar_hash: Option<String>,
    /// The member had a photo of their own (not Slack's generated default).
    #[serde(default)]
    pub is_custom_image: bool,
    #[serde(default)]
    pub captured_ms: u64,
}

/// What the bot last wrote to a member's profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// The preset in force, or None when the member shows their own profile.
    #[serde(default)]
    pub preset: Option<String>,
    /// The display name the bot last wrote.
    #[serde(default)]
    pub name: Option<String>,
    /// Hash of the photo the bot last uploaded.
    #[serde(default)]
    pub photo: Option<String>,
    /// Avatar hash Slack reported after our last photo upload (learnt from the echo).
    #[serde(default)]
    pub avatar_hash: Option<String>,
    /// Set just before an upload until the echo teaches us `avatar_hash`.
    #[serde(default)]
    pub awaiting_avatar_echo: bool,
    /// The avatar hash the profile showed just before that upload: an event still
    /// showing it is not the echo.
    #[serde(default)]
    pub avatar_before: Option<String>,
    /// Echoes still owed by earlier uploads whose echo never came: an upload re-armed while
    /// still awaiting (a kill between an upload and its record makes the next incarnation
    /// upload again, and Slack then echoes both). The last echo is the one that counts.
    #[serde(default)]
    pub extra_echoes: u32,
}

/// Everything the engine knows about one member.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberState {
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub baseline: Option<Baseline>,
    #[serde(default)]
    pub applied: Applied,
    /// Newest `event_ts` applied to the desired state; older events are ignored.
    #[serde(default)]
    pub last_event_ts: Option<String>,
    /// The status emoji (canonical) seen in that newest event.
    #[serde(default)]
    pub status_emoji: Option<String>,
    /// When the bot last wrote this member's profile (unix ms).
    #[serde(default)]
    pub last_write_ms: u64,
    /// A permanent failure was already told to the member; do not repeat it.
    #[serde(default)]
    pub failure_notified: bool,
    /// The preset name Slack last refused (`invalid_starts_with_at`, `name_not_allowed`, …), so the
    /// member hears about it once, not at every swap.
    #[serde(default)]
    pub refused_name: Option<String>,
    /// Window start of the last "slow down" notice for commands.
    #[serde(default)]
    pub last_limit_notice_ms: u64,
    /// The member's profile as the newest event showed it.
    #[serde(default)]
    pub profile: Option<ProfileSnapshot>,
}

/// Where a member's profile should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Desired {
    /// The preset for this canonical emoji (looked up when applied, so edits count).
    Preset { emoji: String },
    /// The member's own name and photo.
    Baseline,
}

/// The profile as an event showed it: enough to capture a baseline and to
/// notice hand-made changes without another API call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileSnapshot {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub real_name: String,
    /// Largest image URL the profile offered (`image_original` first).
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub avatar_hash: Option<String>,
    /// False when Slack shows its generated default avatar.
    #[serde(default)]
    pub is_custom_image: bool,
}

/// The one pending piece of work for a member: reach `desired`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub member: String,
    pub desired: Desired,
    /// `event_ts` of the event that asked for it (ordering); empty for commands.
    #[serde(default)]
    pub event_ts: String,
    #[serde(default)]
    pub envelope_id: Option<String>,
    #[serde(default)]
    pub enqueued_ms: u64,
    #[serde(default)]
    pub attempts: u32,
    /// Do not start before this time (backoff, rate limits, settling).
    #[serde(default)]
    pub not_before_ms: u64,
    /// Last transient error, for `status` and logs.
    #[serde(default)]
    pub last_error: Option<String>,
    /// A forced apply (the `restore` command) skips the no-op check.
    #[serde(default)]
    pub force: bool,
    /// It replaced a pending job: the member's status is still changing, so the
    /// runner waits for `settle_seconds` of quiet before writing.
    #[serde(default)]
    pub coalesced: bool,
}

impl Job {
    /// A fresh job with no history: no ordering stamp, no attempts, startable now.
    pub fn new(member: &str, desired: Desired) -> Job {
        Job {
            member: member.to_string(),
            desired,
            event_ts: String::new(),
            envelope_id: None,
            enqueued_ms: 0,
            attempts: 0,
            not_before_ms: 0,
            last_error: None,
            force: false,
            coalesced: false,
        }
    }
}

/// A job that failed for good, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadJob {
    pub job: Job,
    pub reason: String,
    pub at_ms: u64,
}

/// Where a user token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    Config,
    Oauth,
}

/// A member's user token (never logged: [`Secret`] redacts itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token: Secret,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default)]
    pub expires_at_ms: Option<u64>,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub source: TokenSource,
    /// Revoked or failed: kept only so the member can be told; never used.
    #[serde(default)]
    pub disconnected: bool,
    #[serde(default)]
    pub disconnect_reason: Option<String>,
    /// The member has been told they are disconnected (told once, not per event).
    #[serde(default)]
    pub disconnect_notified: bool,
}

/// Timestamps (unix ms) of recent uses, for a sliding-window budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateWindow {
    pub stamps: Vec<u64>,
}

/// One workspace emoji: an image URL or an alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmojiEntry {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub alias_of: Option<String>,
}

/// A member's profile as last seen, for App Home and admin commands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedProfile {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub real_name: String,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub status_emoji: Option<String>,
    #[serde(default)]
    pub status_text: Option<String>,
    #[serde(default)]
    pub fetched_ms: u64,
}

/// A pending OAuth authorisation: who asked and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OauthState {
    pub member: String,
    pub created_ms: u64,
    #[serde(default)]
    pub verifier: Option<Secret>,
    #[serde(default)]
    pub used: bool,
}

/// One dashboard sample (see `dashboard`): counters and rates for the minute
/// that ended at `at_ms`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSample {
    pub at_ms: u64,
    /// Swaps applied since the process started (a counter: it resets on restart).
    #[serde(default)]
    pub swaps_applied: u64,
    /// Web API calls made during the interval, all methods together.
    #[serde(default)]
    pub api_calls: u64,
    /// Web API latency (ms) over the interval; None when no call was made.
    #[serde(default)]
    pub api_p50_ms: Option<f64>,
    #[serde(default)]
    pub api_p99_ms: Option<f64>,
    /// Members with pending work when sampled.
    #[serde(default)]
    pub queue_depth: u64,
    /// Emoji cache lookups during the interval, and how many were answered.
    #[serde(default)]
    pub emoji_lookups: u64,
    #[serde(default)]
    pub emoji_hits: u64,
    /// Avatar cache lookups during the interval, and how many were answered.
    #[serde(default)]
    pub avatar_lookups: u64,
    #[serde(default)]
    pub avatar_hits: u64,
}
