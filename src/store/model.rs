//! The records the store keeps, one type per kind of data.
//!
//! Every field added later must be `#[serde(default)]` so records written by an
//! older version still decode; renames and reshapes go through a migration.

use serde::{Deserialize, Serialize};

pub use crate::photo::generate::Design;
use crate::secret::Secret;

/// A member's preset: what their profile becomes while their status emoji is `emoji`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    pub member: String,
    /// Canonical emoji name: no colons, no skin tone, aliases resolved.
    pub emoji: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Hash of the processed photo in the photos tree (an uploaded photo).
    #[serde(default)]
    pub photo: Option<String>,
    /// A photo generated from the member's own at swap time (badge, frame); at most one of
    /// `photo` and `design` is set, and neither means no photo (the member's own stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<Design>,
    #[serde(default)]
    pub updated_ms: u64,
}

impl Preset {
    pub fn new(member: &str, emoji: &str) -> Preset {
        Preset { member: member.into(), emoji: emoji.into(), name: None, photo: None, design: None, updated_ms: super::now_ms() }
    }

    /// Whether the preset changes the photo at all (uploaded or generated).
    pub fn has_photo(&self) -> bool {
        self.photo.is_some() || self.design.is_some()
    }
}

/// What a preset's photo is: the choice `photo :emoji: …` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoSource {
    /// An uploaded, processed photo (its hash in the photos tree).
    Uploaded(String),
    /// Drawn from the member's own photo at swap time.
    Generated(Design),
    /// No photo: the member's own stays.
    None,
}

impl PhotoSource {
    /// The two stored fields (`photo`, `design`) this source sets.
    pub fn fields(self) -> (Option<String>, Option<Design>) {
        match self {
            PhotoSource::Uploaded(h) => (Some(h), None),
            PhotoSource::Generated(d) => (None, Some(d)),
            PhotoSource::None => (None, None),
        }
    }
}

/// A workspace preset kept by the bot's admins (see `store::team`): what a member's profile
/// becomes while their status emoji is `emoji`, unless they have their own preset for it or
/// have opted out (`MemberState::team_off`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamPreset {
    /// Canonical emoji name, as in [`Preset::emoji`].
    pub emoji: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Hash of the processed photo in the photos tree.
    #[serde(default)]
    pub photo: Option<String>,
    /// A generated photo, as in [`Preset::design`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<Design>,
    #[serde(default)]
    pub updated_ms: u64,
    /// The admin who last changed it.
    #[serde(default)]
    pub by: String,
}

impl TeamPreset {
    pub fn new(emoji: &str, by: &str) -> TeamPreset {
        TeamPreset { emoji: emoji.into(), name: None, photo: None, design: None, updated_ms: super::now_ms(), by: by.into() }
    }

    /// The team preset as one member's preset: what a swap applies for them.
    pub fn for_member(&self, member: &str) -> Preset {
        Preset {
            member: member.into(),
            emoji: self.emoji.clone(),
            name: self.name.clone(),
            photo: self.photo.clone(),
            design: self.design.clone(),
            updated_ms: self.updated_ms,
        }
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
    /// Hash of Slack's default avatar as it showed then (only when `is_custom_image` is false and
    /// a generated photo needed it): what a badge or frame is drawn from. Never restored (a
    /// restore deletes the photo, so Slack shows its default again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_photo: Option<String>,
}

impl Baseline {
    /// The photo a generated preset photo is drawn from: the member's own, else Slack's default.
    pub fn render_from(&self) -> Option<&str> {
        self.photo.as_deref().or(self.default_photo.as_deref())
    }
}

/// A generated photo already drawn for a member: `key` names its inputs (the photo it was drawn
/// from, the design, the emoji image, the size), `hash` the result in the photos tree. A swap
/// with the same inputs reuses it instead of drawing again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    pub key: String,
    pub hash: String,
}

/// What the bot last wrote to a member's profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "AppliedRecord")]
pub struct Applied {
    /// The preset in force, or None when the member shows their own profile.
    pub preset: Option<String>,
    /// The preset in force is the team's (`store::team`), not the member's own.
    pub team: bool,
    /// The display name the bot last wrote.
    pub name: Option<String>,
    /// Hash of the photo the bot last uploaded.
    pub photo: Option<String>,
    /// Avatar hash Slack reported after our last photo upload (learnt from the echo).
    pub avatar_hash: Option<String>,
    /// Whether an upload still waits for its echo.
    pub photo_echo: PhotoEcho,
}

/// [`Applied`] as stored: records written before [`PhotoEcho`] hold its state in three loose
/// fields (`awaiting_avatar_echo`, `avatar_before`, `extra_echoes`).
#[derive(Deserialize)]
struct AppliedRecord {
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    team: bool,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    photo: Option<String>,
    #[serde(default)]
    avatar_hash: Option<String>,
    #[serde(default)]
    photo_echo: Option<PhotoEcho>,
    #[serde(default)]
    awaiting_avatar_echo: bool,
    #[serde(default)]
    avatar_before: Option<String>,
    #[serde(default)]
    extra_echoes: u32,
}

impl From<AppliedRecord> for Applied {
    fn from(r: AppliedRecord) -> Applied {
        let photo_echo = r.photo_echo.unwrap_or(if r.awaiting_avatar_echo {
            PhotoEcho::Awaiting { before: r.avatar_before, extra: r.extra_echoes }
        } else {
            PhotoEcho::None
        });
        Applied { preset: r.preset, team: r.team, name: r.name, photo: r.photo, avatar_hash: r.avatar_hash, photo_echo }
    }
}

/// Where the bot is with the echo of its last photo upload: Slack answers `users.setPhoto`
/// and, separately, sends a `user_change` showing the new avatar hash, which is how the bot
/// learns which avatar is its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PhotoEcho {
    /// No upload is waiting for its echo.
    #[default]
    None,
    /// Armed just before an upload, until its echo teaches `Applied::avatar_hash`.
    Awaiting {
        /// The avatar hash the profile showed just before the upload: an event still showing
        /// it is not the echo.
        #[serde(default)]
        before: Option<String>,
        /// Echoes still owed by earlier uploads whose echo never came: an upload re-armed
        /// while still awaiting (a kill between an upload and its record makes the next
        /// incarnation upload again, and Slack then echoes both). The last echo counts.
        #[serde(default)]
        extra: u32,
    },
}

impl PhotoEcho {
    pub fn is_awaiting(&self) -> bool {
        matches!(self, PhotoEcho::Awaiting { .. })
    }

    /// Arms for an upload about to be made, while the profile shows `current`. Re-armed
    /// while still awaiting, the earlier upload's echo is owed as well.
    pub fn arm(&mut self, current: Option<String>) {
        *self = match std::mem::take(self) {
            PhotoEcho::Awaiting { before, extra } => PhotoEcho::Awaiting { before, extra: extra + 1 },
            PhotoEcho::None => PhotoEcho::Awaiting { before: current, extra: 0 },
        };
    }

    /// The upload failed, or the bot's photo is gone (restored or deleted): nothing to await.
    pub fn cancel(&mut self) {
        *self = PhotoEcho::None;
    }

    /// An event shows the avatar `seen`; `baseline` is the member's own avatar hash. Returns
    /// the hash to learn as the bot's own when this is an echo of our upload (the last owed
    /// one ends the wait; an earlier one moves `before` on, so it is not taken twice).
    pub fn on_event(&mut self, seen: Option<&str>, baseline: Option<&str>) -> Option<String> {
        let PhotoEcho::Awaiting { before, extra } = self else { return None };
        let seen = seen?;
        if Some(seen) == baseline || Some(seen) == before.as_deref() {
            return None;
        }
        if *extra > 0 {
            *extra -= 1;
            *before = Some(seen.to_string());
        } else {
            *self = PhotoEcho::None;
        }
        Some(seen.to_string())
    }
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
    /// What Slack last refused of each write (a preset's name, a preset's photo), so the member
    /// hears about a refusal once and the same write is not tried again for nothing. Records
    /// written before it hold a `refused_name` string instead, which is ignored: at worst the
    /// member hears about that name once more.
    #[serde(default)]
    pub refusals: Refusals,
    /// Window start of the last "slow down" notice for commands.
    #[serde(default)]
    pub last_limit_notice_ms: u64,
    /// The member's profile as the newest event showed it.
    #[serde(default)]
    pub profile: Option<ProfileSnapshot>,
    /// The member ran `team off`: team presets never show for them (`team on` undoes it).
    #[serde(default)]
    pub team_off: bool,
    /// The generated photo last drawn for this member (see [`Rendered`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<Rendered>,
    /// The preset (emoji) whose generated photo could not be drawn, once the member was told; a
    /// success or another preset's failure clears or replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_failed: Option<String>,
}

/// The two writes a preset makes: its display name (`users.profile.set`) and its photo
/// (`users.setPhoto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileWrite {
    Name,
    Photo,
}

/// Slack refused one write of a preset for a reason the member can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The preset's emoji.
    pub emoji: String,
    /// What was refused: the name itself, or the photo's hash.
    pub contents: String,
    /// Slack's error code.
    pub code: String,
    /// `updated_ms` of the preset when it was refused: an edit since then changes the preset.
    #[serde(default)]
    pub preset_updated_ms: u64,
    /// `event_ts` of the job that got the refusal (empty when a command queued it): only a newer
    /// status change tries the same write again.
    #[serde(default)]
    pub event_ts: String,
}

impl Refusal {
    /// Whether this refusal was of the same preset contents (`emoji`, `contents`) and `code`:
    /// the member already heard about it.
    pub fn same_as(&self, emoji: &str, contents: &str, code: &str) -> bool {
        self.emoji == emoji && self.contents == contents && self.code == code
    }
}

/// The last refusal of each [`ProfileWrite`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusals {
    #[serde(default)]
    pub name: Option<Refusal>,
    #[serde(default)]
    pub photo: Option<Refusal>,
}

impl Refusals {
    pub fn of(&self, write: ProfileWrite) -> Option<&Refusal> {
        match write {
            ProfileWrite::Name => self.name.as_ref(),
            ProfileWrite::Photo => self.photo.as_ref(),
        }
    }

    pub fn of_mut(&mut self, write: ProfileWrite) -> &mut Option<Refusal> {
        match write {
            ProfileWrite::Name => &mut self.name,
            ProfileWrite::Photo => &mut self.photo,
        }
    }
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
    /// The status text as Slack sent it (HTML entities and all; empty: none), for the
    /// `{status}` of a name template.
    #[serde(default)]
    pub status_text: String,
    /// The status emoji's image (`status_emoji_display_info[].display_url`), for a badge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_emoji_url: Option<String>,
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
    /// What queued it (a catch-up's swaps are counted apart).
    #[serde(default)]
    pub origin: JobOrigin,
}

/// What queued a [`Job`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOrigin {
    /// An event, a command, anything live (and every job stored before origins were kept).
    #[default]
    Live,
    /// A catch-up's own read of the member's profile.
    CatchUp,
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
            origin: JobOrigin::Live,
        }
    }
}

/// A job that failed for good, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadJob {
    pub job: Job,
    #[serde(deserialize_with = "fail_reason_compat")]
    pub reason: FailReason,
    pub at_ms: u64,
}

/// Why a job failed for good. Stored tagged (`{"kind":"slack","code":"invalid_auth"}`);
/// records written before it was typed hold the text it displays as, and still decode (see
/// [`FailReason::from_text`]). `Display` is the text `status`, `jobs list` and `db stats` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailReason {
    /// Slack refused the call with this error code (what it means: `slack::classify`).
    Slack { code: String },
    /// Slack will never take the display name of the `emoji` preset.
    NameRefused { emoji: String, code: String },
    /// Slack will never take the photo of the `emoji` preset (`bad_image`, `too_large`, …).
    PhotoRefused { emoji: String, code: String },
    /// The preset's photo is no longer in the database.
    PhotoMissing,
    /// The member disconnected the bot.
    Disconnected,
    /// The member's token was revoked or could not be renewed (`reason` as the token records it:
    /// `token_revoked`, `app_uninstalled`, `refresh_failed: <code>`).
    Revoked { reason: String },
    /// Transient failures until the retry limit.
    GaveUp { attempts: u32, last: String },
    /// Anything else, in words.
    Other { text: String },
}

const DISCONNECTED_TEXT: &str = "disconnected by the member";
const PHOTO_MISSING_TEXT: &str = "the photo is missing from the database";

impl FailReason {
    /// The reason a stored text stands for: the form dead letters had before the reason was typed.
    pub fn from_text(text: &str) -> FailReason {
        let other = || FailReason::Other { text: text.to_string() };
        match text {
            DISCONNECTED_TEXT => return FailReason::Disconnected,
            PHOTO_MISSING_TEXT => return FailReason::PhotoMissing,
            "token_revoked" | "app_uninstalled" => return FailReason::Revoked { reason: text.to_string() },
            _ => {}
        }
        if text.starts_with("refresh_failed: ") {
            return FailReason::Revoked { reason: text.to_string() };
        }
        if let Some(rest) = text.strip_prefix("gave up after ") {
            let Some((n, last)) = rest.split_once(" attempts: ") else { return other() };
            return n.parse().map(|attempts| FailReason::GaveUp { attempts, last: last.to_string() }).unwrap_or_else(|_| other());
        }
        for write in [ProfileWrite::Name, ProfileWrite::Photo] {
            let Some(rest) = text.strip_prefix(refused_prefix(write)) else { continue };
            let Some((emoji, code)) = rest.strip_suffix(')').and_then(|r| r.split_once(": (")) else { return other() };
            return FailReason::refused(write, emoji, code);
        }
        let is_code = !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if is_code {
            FailReason::Slack { code: text.to_string() }
        } else {
            other()
        }
    }

    /// Slack refused `write` of the `emoji` preset with `code`.
    pub fn refused(write: ProfileWrite, emoji: &str, code: &str) -> FailReason {
        let (emoji, code) = (emoji.to_string(), code.to_string());
        match write {
            ProfileWrite::Name => FailReason::NameRefused { emoji, code },
            ProfileWrite::Photo => FailReason::PhotoRefused { emoji, code },
        }
    }

    /// Which write of which preset Slack refused, and its code, when this is such a refusal.
    pub fn refusal(&self) -> Option<(ProfileWrite, &str, &str)> {
        match self {
            FailReason::NameRefused { emoji, code } => Some((ProfileWrite::Name, emoji, code)),
            FailReason::PhotoRefused { emoji, code } => Some((ProfileWrite::Photo, emoji, code)),
            _ => None,
        }
    }

    /// The Slack error code behind it, if one is: what a refusal or revocation said.
    pub fn slack_code(&self) -> Option<&str> {
        match self {
            FailReason::Slack { code } | FailReason::NameRefused { code, .. } | FailReason::PhotoRefused { code, .. } => Some(code),
            FailReason::Revoked { reason } => Some(reason.strip_prefix("refresh_failed: ").unwrap_or(reason)),
            _ => None,
        }
    }
}

impl std::fmt::Display for FailReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailReason::Slack { code } => f.write_str(code),
            FailReason::NameRefused { emoji, code } => write!(f, "{}{emoji}: ({code})", refused_prefix(ProfileWrite::Name)),
            FailReason::PhotoRefused { emoji, code } => write!(f, "{}{emoji}: ({code})", refused_prefix(ProfileWrite::Photo)),
            FailReason::PhotoMissing => f.write_str(PHOTO_MISSING_TEXT),
            FailReason::Disconnected => f.write_str(DISCONNECTED_TEXT),
            FailReason::Revoked { reason } => f.write_str(reason),
            FailReason::GaveUp { attempts, last } => write!(f, "gave up after {attempts} attempts: {last}"),
            FailReason::Other { text } => f.write_str(text),
        }
    }
}

/// How a refusal's text begins: `Slack refused the name of :palm_tree: (name_not_allowed)`.
fn refused_prefix(write: ProfileWrite) -> &'static str {
    match write {
        ProfileWrite::Name => "Slack refused the name of :",
        ProfileWrite::Photo => "Slack refused the photo of :",
    }
}

impl From<&str> for FailReason {
    fn from(text: &str) -> FailReason {
        FailReason::from_text(text)
    }
}

impl From<&String> for FailReason {
    fn from(text: &String) -> FailReason {
        FailReason::from_text(text)
    }
}

/// A stored reason: typed, or the text older versions wrote.
fn fail_reason_compat<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FailReason, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Typed(FailReason),
        Text(String),
    }
    Ok(match Stored::deserialize(d)? {
        Stored::Typed(r) => r,
        Stored::Text(t) => FailReason::from_text(&t),
    })
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
    /// When the status runs out (unix ms; None: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_expires_ms: Option<u64>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_json(reason: serde_json::Value) -> String {
        serde_json::json!({"job": {"member": "U1", "desired": {"kind": "baseline"}}, "reason": reason, "at_ms": 5}).to_string()
    }

    #[test]
    fn old_text_reasons_decode_to_their_variant_and_display_as_before() {
        let cases = [
            ("invalid_auth", FailReason::Slack { code: "invalid_auth".into() }),
            ("profile_locked", FailReason::Slack { code: "profile_locked".into() }),
            ("disconnected by the member", FailReason::Disconnected),
            ("the photo is missing from the database", FailReason::PhotoMissing),
            ("token_revoked", FailReason::Revoked { reason: "token_revoked".into() }),
            ("app_uninstalled", FailReason::Revoked { reason: "app_uninstalled".into() }),
            ("refresh_failed: invalid_grant", FailReason::Revoked { reason: "refresh_failed: invalid_grant".into() }),
            (
                "gave up after 5 attempts: could not reach Slack: reset",
                FailReason::GaveUp { attempts: 5, last: "could not reach Slack: reset".into() },
            ),
            (
                "Slack refused the name of :palm_tree: (name_not_allowed)",
                FailReason::NameRefused { emoji: "palm_tree".into(), code: "name_not_allowed".into() },
            ),
            (
                "Slack refused the photo of :car: (too_many_frames)",
                FailReason::PhotoRefused { emoji: "car".into(), code: "too_many_frames".into() },
            ),
            ("Slack refused the photo of :car:", FailReason::Other { text: "Slack refused the photo of :car:".into() }),
            ("failure 199", FailReason::Other { text: "failure 199".into() }),
            ("gave up after many attempts: x", FailReason::Other { text: "gave up after many attempts: x".into() }),
        ];
        for (text, want) in cases {
            let d: DeadJob = serde_json::from_str(&dead_json(serde_json::json!(text))).expect(text);
            assert_eq!(d.reason, want, "{text}");
            assert_eq!(d.reason.to_string(), text, "displays as it was stored");
        }
    }

    #[test]
    fn typed_reasons_round_trip() {
        let all = [
            FailReason::Slack { code: "no_permission".into() },
            FailReason::NameRefused { emoji: "car".into(), code: "too_long".into() },
            FailReason::PhotoRefused { emoji: "car".into(), code: "bad_image".into() },
            FailReason::PhotoMissing,
            FailReason::Disconnected,
            FailReason::Revoked { reason: "token_revoked".into() },
            FailReason::GaveUp { attempts: 3, last: "HTTP 503 from Slack".into() },
            FailReason::Other { text: "disconnected by the member, twice".into() },
        ];
        for r in all {
            let d = DeadJob { job: Job::new("U1", Desired::Baseline), reason: r.clone(), at_ms: 1 };
            let back: DeadJob = serde_json::from_str(&serde_json::to_string(&d).expect("encode")).expect("decode");
            assert_eq!(back.reason, r);
        }
    }

    #[test]
    fn the_slack_code_behind_a_reason() {
        assert_eq!(FailReason::Slack { code: "invalid_auth".into() }.slack_code(), Some("invalid_auth"));
        assert_eq!(FailReason::Revoked { reason: "refresh_failed: token_expired".into() }.slack_code(), Some("token_expired"));
        assert_eq!(FailReason::PhotoRefused { emoji: "x".into(), code: "too_large".into() }.slack_code(), Some("too_large"));
        assert_eq!(FailReason::Disconnected.slack_code(), None);
        assert_eq!(FailReason::GaveUp { attempts: 1, last: "Slack said invalid_auth".into() }.slack_code(), None);
    }

    #[test]
    fn a_refusal_names_its_write_preset_and_code() {
        let r = FailReason::refused(ProfileWrite::Photo, "palm_tree", "bad_image");
        assert_eq!(r, FailReason::PhotoRefused { emoji: "palm_tree".into(), code: "bad_image".into() });
        assert_eq!(r.refusal(), Some((ProfileWrite::Photo, "palm_tree", "bad_image")));
        let r = FailReason::refused(ProfileWrite::Name, "car", "reserved_name");
        assert_eq!(r.refusal(), Some((ProfileWrite::Name, "car", "reserved_name")));
        assert_eq!(r.to_string(), "Slack refused the name of :car: (reserved_name)");
        assert_eq!(FailReason::Slack { code: "bad_image".into() }.refusal(), None);
    }

    #[test]
    fn member_states_from_before_refusals_decode() {
        let old = r#"{"paused":true,"refused_name":"@ada","applied":{"preset":"x"}}"#;
        let m: MemberState = serde_json::from_str(old).expect("old member state");
        assert!(m.paused && m.refusals == Refusals::default());
        assert_eq!(m.applied.preset.as_deref(), Some("x"));
        let mut m = MemberState::default();
        *m.refusals.of_mut(ProfileWrite::Photo) = Some(Refusal {
            emoji: "x".into(),
            contents: "h1".into(),
            code: "too_large".into(),
            preset_updated_ms: 3,
            event_ts: "1.2".into(),
        });
        let back: MemberState = serde_json::from_str(&serde_json::to_string(&m).expect("encode")).expect("decode");
        assert_eq!(back, m);
        assert!(back.refusals.of(ProfileWrite::Photo).is_some_and(|r| r.same_as("x", "h1", "too_large")));
        assert!(back.refusals.of(ProfileWrite::Name).is_none());
    }

    #[test]
    fn old_applied_records_decode_their_echo_state() {
        let old = r#"{"preset":"x","photo":"p1","awaiting_avatar_echo":true,"avatar_before":"av0","extra_echoes":2}"#;
        let a: Applied = serde_json::from_str(old).expect("old awaiting");
        assert_eq!(a.photo_echo, PhotoEcho::Awaiting { before: Some("av0".into()), extra: 2 });
        assert_eq!(a.preset.as_deref(), Some("x"));
        let old = r#"{"preset":"x","awaiting_avatar_echo":false,"avatar_before":"av0","extra_echoes":0}"#;
        assert_eq!(serde_json::from_str::<Applied>(old).expect("old idle").photo_echo, PhotoEcho::None);
        assert_eq!(serde_json::from_str::<Applied>("{}").expect("empty"), Applied::default());
        let a = Applied { photo_echo: PhotoEcho::Awaiting { before: None, extra: 1 }, ..Default::default() };
        assert_eq!(serde_json::from_str::<Applied>(&serde_json::to_string(&a).expect("encode")).expect("decode"), a);
    }

    #[test]
    fn records_from_before_team_presets_decode_without_them() {
        let old = r#"{"paused":false,"applied":{"preset":"x","name":"Away"}}"#;
        let m: MemberState = serde_json::from_str(old).expect("old member state");
        assert!(!m.team_off && !m.applied.team);
        let mut m = MemberState { team_off: true, ..Default::default() };
        m.applied.preset = Some("palm_tree".into());
        m.applied.team = true;
        let back: MemberState = serde_json::from_str(&serde_json::to_string(&m).expect("encode")).expect("decode");
        assert_eq!(back, m);
        // Presets written before generated photos decode without a design, and a design round-trips.
        let p: Preset = serde_json::from_str(r#"{"member":"U1","emoji":"car","photo":"abc"}"#).expect("an old preset");
        assert_eq!((p.photo.as_deref(), p.design.as_ref()), (Some("abc"), None));
        let frame = Design::Frame { colour: "orange".parse().unwrap(), label: Some("ooo".parse().unwrap()) };
        let json = serde_json::to_string(&Preset { design: Some(frame.clone()), ..Preset::new("U1", "car") }).unwrap();
        assert!(json.contains(r#""design":{"kind":"frame","colour":"orange","label":"OOO"}"#), "{json}");
        assert_eq!(serde_json::from_str::<Preset>(&json).unwrap().design, Some(frame));
        let bad = r#"{"member":"U1","emoji":"car","design":{"kind":"frame","colour":"mauve"}}"#;
        assert!(serde_json::from_str::<Preset>(bad).is_err(), "a colour generate.rs refuses is not decoded");
        let t: TeamPreset = serde_json::from_str(r#"{"emoji":"palm_tree"}"#).expect("a bare team preset");
        assert_eq!(
            t.for_member("U1"),
            Preset { member: "U1".into(), emoji: "palm_tree".into(), name: None, photo: None, design: None, updated_ms: 0 }
        );
    }

    #[test]
    fn arming_twice_owes_the_earlier_echo() {
        let mut e = PhotoEcho::None;
        e.arm(Some("av0".into()));
        assert_eq!(e, PhotoEcho::Awaiting { before: Some("av0".into()), extra: 0 });
        e.arm(Some("av-other".into()));
        assert_eq!(e, PhotoEcho::Awaiting { before: Some("av0".into()), extra: 1 }, "before stays the pre-upload avatar");
        e.cancel();
        assert_eq!(e, PhotoEcho::None);
    }

    #[test]
    fn only_a_new_avatar_is_the_echo_and_the_last_owed_one_ends_the_wait() {
        let mut e = PhotoEcho::Awaiting { before: Some("av0".into()), extra: 1 };
        assert_eq!(e.on_event(None, Some("base")), None, "no avatar in the event");
        assert_eq!(e.on_event(Some("av0"), Some("base")), None, "still the avatar before the upload");
        assert_eq!(e.on_event(Some("base"), Some("base")), None, "the member's own avatar");
        assert_eq!(e.on_event(Some("av1"), Some("base")).as_deref(), Some("av1"), "an earlier upload's echo");
        assert_eq!(e, PhotoEcho::Awaiting { before: Some("av1".into()), extra: 0 });
        assert_eq!(e.on_event(Some("av1"), Some("base")), None, "not taken twice");
        assert_eq!(e.on_event(Some("av2"), Some("base")).as_deref(), Some("av2"));
        assert_eq!(e, PhotoEcho::None);
        assert_eq!(e.on_event(Some("av3"), Some("base")), None, "nothing awaited");
    }
}
