//! Member operations shared by slash commands, DMs and App Home: every change
//! to a member's presets, pause or connection goes through here, so each
//! surface behaves the same and the engine hears about it (a preset edited
//! while active is re-applied; one removed while active restores the baseline).
//!
//! It also says, in one place, what a member's profile should show
//! ([`desired_for`]) and whether it already does ([`already_applied`]).
//! The functions take [`MemberDeps`], the handles they use, never the whole context.

use tokio::sync::Notify;

use crate::config::Images;
use crate::emoji::EmojiCache;
use crate::photo::{PhotoGate, PhotoLimits, Processed};
use crate::profiles::ProfileCache;
use crate::secret::Secret;
use crate::slack::types::{File, UserProfile};
use crate::slack::SlackClient;
use crate::store::{
    now_ms, queue, team, timers, CachedProfile, Design, Desired, JobOrigin, MemberState, PhotoSource, Preset, ProfileSnapshot, Store,
    TeamPreset, TokenRecord,
};

/// What the member operations read and write: the handles, not the whole context.
pub(crate) struct MemberDeps<'a> {
    pub store: &'a Store,
    pub slack: &'a SlackClient,
    pub emoji: &'a EmojiCache,
    pub avatars: &'a ProfileCache,
    /// Every photo decode waits its turn here.
    pub photos: &'a PhotoGate,
    /// `[images]`: the limits a preset photo is held to.
    pub images: &'a Images,
    /// Wakes the job runner when work is queued.
    pub work: &'a Notify,
    /// Wakes the expiry job when a status-expiry timer is armed or moved.
    pub expiry: &'a Notify,
}

/// The member's usable user token, if they have one.
pub(crate) fn usable_token(store: &Store, member: &str) -> Option<Secret> {
    match store.tokens.get(member) {
        Ok(Some(TokenRecord { token, disconnected: false, .. })) => Some(token),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(error = %e, "reading a token failed");
            None
        }
    }
}

/// The preset for this status emoji (see [`preset_for`]), or the member's own profile.
pub(crate) fn desired_for(store: &Store, member: &str, status: Option<&str>) -> anyhow::Result<Desired> {
    Ok(match status {
        Some(e) if preset_for(store, member, e)?.is_some() => Desired::Preset { emoji: e.to_string() },
        _ => Desired::Baseline,
    })
}

/// A preset chosen to show, and whose it is.
pub(crate) struct Chosen {
    pub preset: Preset,
    /// The team's preset (`store::team`), shown as the member's.
    pub team: bool,
}

/// Which preset shows while `member`'s status is `emoji`: their own; else the team's, unless
/// they ran `team off`; else none. The one answer to precedence: [`desired_for`] and the swap
/// both ask it.
pub(crate) fn preset_for(store: &Store, member: &str, emoji: &str) -> anyhow::Result<Option<Chosen>> {
    if let Some(preset) = store.preset(member, emoji)? {
        return Ok(Some(Chosen { preset, team: false }));
    }
    let Some(t) = team::get(store, emoji)? else { return Ok(None) };
    if store.member(member)?.team_off {
        return Ok(None);
    }
    Ok(Some(Chosen { preset: t.for_member(member), team: true }))
}

/// The preset the applied state says is showing for `emoji` (the team's when `team`), as it
/// reads now.
pub(crate) fn shown_preset(store: &Store, member: &str, emoji: &str, team: bool) -> anyhow::Result<Option<Preset>> {
    if team {
        Ok(team::get(store, emoji)?.map(|t| t.for_member(member)))
    } else {
        store.preset(member, emoji)
    }
}

/// Whether the profile already shows `desired` (by what was applied last).
pub(crate) fn already_applied(state: &MemberState, desired: &Desired) -> bool {
    match desired {
        Desired::Baseline => state.applied.preset.is_none(),
        Desired::Preset { emoji } => state.applied.preset.as_deref() == Some(emoji.as_str()),
    }
}

/// Whether the profile already shows `desired`: the preset applied last and, for a name
/// template, the name it renders to now ([`render_name`]): a new status text changes what
/// `{status}` shows, and the same result is never written twice.
fn shows(store: &Store, member: &str, state: &MemberState, desired: &Desired) -> anyhow::Result<bool> {
    if !already_applied(state, desired) {
        return Ok(false);
    }
    let Some(template) = template_of(store, member, desired)? else { return Ok(true) };
    Ok(state.profile.as_ref().is_some_and(|p| p.display_name == render_name(state, &template)))
}

/// The desired preset's name (the member's own, else the team's) when it is a template (it
/// fills something in).
fn template_of(store: &Store, member: &str, desired: &Desired) -> anyhow::Result<Option<String>> {
    let Desired::Preset { emoji } = desired else { return Ok(None) };
    let name = preset_for(store, member, emoji)?.and_then(|c| c.preset.name);
    Ok(name.filter(|n| crate::template::parse(n).is_ok_and(|parts| crate::template::has_placeholder(&parts))))
}

/// The member's own name and their status text: what a name template is filled with. The name
/// comes from the baseline while a preset shows (so it is never a preset's), else from the
/// profile (`cached`, the profile cache, when given, else the one the engine last saw); the
/// real name when the display name is empty.
pub(crate) fn template_values(state: &MemberState, cached: Option<&CachedProfile>) -> (String, String) {
    let seen = state.profile.as_ref();
    let own = match (&state.applied.preset, &state.baseline) {
        (Some(_), baseline) => baseline.as_ref().map(|b| b.name.as_str()),
        (None, _) => cached.map(|c| c.display_name.as_str()).or(seen.map(|p| p.display_name.as_str())),
    };
    let real = cached.map(|c| c.real_name.as_str()).filter(|n| !n.trim().is_empty()).or(seen.map(|p| p.real_name.as_str()));
    let name = own.filter(|n| !n.trim().is_empty()).or(real).unwrap_or("");
    let status = match cached {
        Some(c) => c.status_text.clone().unwrap_or_default(),
        None => seen.map(|p| p.status_text.clone()).unwrap_or_default(),
    };
    (name.to_string(), status)
}

/// What the name template shows for the member now, from what the engine last saw.
pub(crate) fn render_name(state: &MemberState, template: &str) -> String {
    let (name, status) = template_values(state, None);
    crate::template::render(template, &name, &status)
}

/// What a preset's name shows for the member now, for `list`, Home and the modal: None when
/// that is the name as typed (it fills nothing in).
pub(crate) fn preview_name(state: &MemberState, cached: Option<&CachedProfile>, name: &str) -> Option<String> {
    let (own, status) = template_values(state, cached);
    // Nothing known of the member yet: a preview without their name would mislead.
    if own.trim().is_empty() && crate::template::parse(name).is_ok_and(|parts| parts.contains(&crate::template::Part::Name)) {
        return None;
    }
    Some(crate::template::render(name, &own, &status)).filter(|shown| shown != name)
}

/// What [`observe`] did with a profile.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observed {
    /// A job was queued (durable once the store is flushed).
    pub queued: bool,
    /// It replaced a pending job.
    pub coalesced: bool,
}

/// A member's profile as Slack shows it at `event_ts` (a `user_change`, or a profile the bot
/// read itself, timed [`queue::now_ts`]): record what it shows and queue the member's newest
/// desired state unless it is already in force. The one path every observed profile takes.
pub(crate) fn observe(
    deps: &MemberDeps<'_>,
    member: &str,
    profile: &UserProfile,
    event_ts: &str,
    envelope_id: Option<&str>,
) -> anyhow::Result<Observed> {
    observe_from(deps, member, profile, event_ts, envelope_id, JobOrigin::Live)
}

/// [`observe`], marking a queued job with what observed the profile (`origin`).
pub(crate) fn observe_from(
    deps: &MemberDeps<'_>,
    member: &str,
    profile: &UserProfile,
    event_ts: &str,
    envelope_id: Option<&str>,
    origin: JobOrigin,
) -> anyhow::Result<Observed> {
    if !engaged(deps.store, member)? {
        observe_unengaged(deps, member, profile)?;
        return Ok(Observed::default());
    }
    deps.avatars.update_from_profile(member, profile);
    let snapshot = snapshot(profile);
    let expires_at_ms = profile.status_expires_at_ms();
    let shown = profile.status_emoji.as_deref().filter(|s| !s.trim().is_empty()).and_then(|s| deps.emoji.canonical_or_unverified(s));
    let status = effective_status(shown, expires_at_ms, now_ms());
    deps.store.locked_member(member, |locked| -> anyhow::Result<Observed> {
        let state = locked.state()?;
        if let Some(last) = state.last_event_ts.as_deref() {
            if !queue::is_newer_or_equal(event_ts, last) {
                tracing::info!(event_ts, last, "ignoring an older event");
                return Ok(Observed::default());
            }
        }
        // The desired state follows the status alone. When the status is what the
        // last event showed, this event is our own write echoing back or a hand-made
        // name/photo change: record the profile, queue nothing (a `restore` stays put).
        let status_unchanged = state.last_event_ts.is_some() && state.status_emoji == status;
        let text_changed = state.profile.as_ref().map(|p| p.status_text.as_str()) != Some(snapshot.status_text.as_str());
        let state = locked.update(|m| {
            if !event_ts.is_empty() {
                m.last_event_ts = Some(event_ts.to_string());
            }
            m.status_emoji = status.clone();
            let baseline_hash = m.baseline.as_ref().and_then(|b| b.avatar_hash.as_deref());
            if let Some(ours) = m.applied.photo_echo.on_event(snapshot.avatar_hash.as_deref(), baseline_hash) {
                m.applied.avatar_hash = Some(ours);
            }
            m.profile = Some(snapshot.clone());
        })?;
        let desired = desired_for(deps.store, member, status.as_deref())?;
        keep_expiry_timer(deps, member, &desired, expires_at_ms)?;
        if state.paused {
            return Ok(Observed::default());
        }
        // A new status text under the same emoji is a change for a name that shows `{status}`.
        let rewrites = text_changed && template_of(deps.store, member, &desired)?.is_some_and(|t| crate::template::uses_status(&t));
        if status_unchanged && !rewrites {
            tracing::debug!("status unchanged: nothing to queue");
            return Ok(Observed::default());
        }
        if shows(deps.store, member, &state, &desired)? && !queue::is_pending(deps.store, member)? {
            tracing::debug!("profile already in the desired state");
            return Ok(Observed::default());
        }
        let coalesced = queue::enqueue_from(deps.store, member, desired, event_ts, envelope_id, false, origin)?;
        deps.work.notify_one();
        tracing::info!(coalesced, "queued the member's desired state");
        Ok(Observed { queued: true, coalesced })
    })
}

/// Whether the swap engine follows this member's status: a preset (their own, or the team's while
/// they take those) could apply, and their token is usable. Most members of a workspace are not.
pub(crate) fn engaged(store: &Store, member: &str) -> anyhow::Result<bool> {
    Ok(has_applicable_preset(store, member)? && usable_token(store, member).is_some())
}

/// What a profile seen of a member the engine does not follow ([`engaged`]) changes: the
/// profile cache, and no expiry timer is left (they may have just removed their last preset).
/// Doing it twice changes nothing, so a redelivery needs no dedupe; the cache write's error
/// is returned, so a store that refuses writes is noticed here too.
pub(crate) fn observe_unengaged(deps: &MemberDeps<'_>, member: &str, profile: &UserProfile) -> anyhow::Result<()> {
    deps.avatars.record(member, profile)?;
    timers::cancel(deps.store, member)?;
    Ok(())
}

/// The status that counts: the one shown, unless its expiration (unix ms; None: never) has
/// come. An expired status is no status, also when a late or redelivered event still shows it.
pub(crate) fn effective_status(shown: Option<String>, expires_at_ms: Option<u64>, now_ms: u64) -> Option<String> {
    shown.filter(|_| expires_at_ms.is_none_or(|at| at > now_ms))
}

/// While `desired` is a preset for a status that expires, the member keeps an expiry timer
/// (the expiry job puts the baseline back then); any other status cancels it.
fn keep_expiry_timer(deps: &MemberDeps<'_>, member: &str, desired: &Desired, expires_at_ms: Option<u64>) -> anyhow::Result<()> {
    match (desired, expires_at_ms) {
        (Desired::Preset { emoji }, Some(at)) => {
            if timers::arm(deps.store, member, emoji, at)? {
                tracing::info!(emoji = emoji.as_str(), expires_at_ms = at, "status expiry timer armed");
                deps.expiry.notify_one();
            }
        }
        _ => {
            if timers::cancel(deps.store, member)? {
                tracing::info!("status expiry timer cancelled");
            }
        }
    }
    Ok(())
}

/// Reads the member's profile with their own token (`users.profile.get`) and [`observe`]s it,
/// as if a `user_change` had said the same: for when Slack may have said nothing (a catch-up,
/// an expiring status). A dead token disconnects the member (as a swap would) and gives
/// `Ok(None)`; other Slack errors are returned (a `slack::ApiError` inside the `anyhow::Error`).
pub(crate) async fn read_and_observe(deps: &MemberDeps<'_>, member: &str) -> anyhow::Result<Option<Observed>> {
    read_and_observe_from(deps, member, JobOrigin::Live).await
}

/// [`read_and_observe`], marking a queued job with `origin`. The profile is timed when the read
/// is sent, not when it is answered: an event of a change made meanwhile is then newer, so it is
/// never taken for one the read already showed.
pub(crate) async fn read_and_observe_from(deps: &MemberDeps<'_>, member: &str, origin: JobOrigin) -> anyhow::Result<Option<Observed>> {
    let Some(token) = usable_token(deps.store, member) else { return Ok(None) };
    let read_ts = queue::now_ts();
    let profile = match deps.slack.users_profile_get(&token, None).await {
        Ok(p) => p,
        Err(e) if e.is_auth() => {
            let code = e.code();
            tracing::warn!(member, code, "reading the member's profile: their token no longer works");
            revoke(deps, member, &code)?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    observe_from(deps, member, &profile, &read_ts, None, origin).map(Some)
}

/// The members a catch-up reads: connected (a usable token), not paused, with a preset that
/// could apply ([`has_applicable_preset`]).
pub(crate) fn catch_up_candidates(store: &Store) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for (key, record) in store.tokens.iter().map_err(crate::store::StoreError::into_anyhow)? {
        if record.disconnected {
            continue;
        }
        let member = String::from_utf8_lossy(&key).into_owned();
        if has_applicable_preset(store, &member)? && !store.member(&member)?.paused {
            out.push(member);
        }
    }
    Ok(out)
}

/// Whether any preset could apply to the member: their own, or a team preset unless they ran
/// `team off`. Cheap (it runs for every observed profile): a prefix probe, then one step into the
/// team tree, and only then the member's state.
pub(crate) fn has_applicable_preset(store: &Store, member: &str) -> anyhow::Result<bool> {
    Ok(store.has_presets(member)? || (team::any(store) && !store.member(member)?.team_off))
}

/// The parts of a profile the engine keeps.
pub(crate) fn snapshot(p: &UserProfile) -> ProfileSnapshot {
    ProfileSnapshot {
        display_name: p.display_name.clone().unwrap_or_default(),
        real_name: p.real_name.clone().unwrap_or_default(),
        image_url: p.best_image().map(str::to_string),
        avatar_hash: p.avatar_hash.clone().filter(|s| !s.is_empty()),
        is_custom_image: p.is_custom_image,
        status_text: p.status_text.clone().unwrap_or_default(),
        status_emoji_url: p.status_emoji_url.clone(),
    }
}

/// Whether this preset is in force: applied now, or queued to be.
fn in_force(deps: &MemberDeps<'_>, state: &MemberState, member: &str, emoji: &str) -> anyhow::Result<bool> {
    let wanted = Desired::Preset { emoji: emoji.into() };
    Ok(already_applied(state, &wanted) || queue::pending(deps.store, member).is_some_and(|j| j.desired == wanted))
}

/// Queues `desired` for `member` (see [`queue::enqueue`]) and wakes the runner.
fn enqueue(deps: &MemberDeps<'_>, member: &str, desired: Desired, force: bool) -> anyhow::Result<bool> {
    let replaced = queue::enqueue(deps.store, member, desired, "", None, force)?;
    deps.work.notify_one();
    Ok(replaced)
}

/// The canonical emoji for what a member typed, or a sentence saying why not.
pub(crate) fn resolve_emoji(deps: &MemberDeps<'_>, raw: &str) -> Result<String, String> {
    let shown = crate::emoji::strip(raw);
    deps.emoji
        .canonical_or_unverified(raw)
        .ok_or_else(|| format!("I don't know the emoji :{shown}: — it is neither a standard emoji nor one of this workspace's."))
}

/// Creates or renames a preset.
pub(crate) fn save_name(deps: &MemberDeps<'_>, member: &str, emoji: &str, name: &str) -> anyhow::Result<Preset> {
    let mut p = deps.store.preset(member, emoji)?.unwrap_or_else(|| Preset::new(member, emoji));
    p.name = Some(name.to_string());
    p.updated_ms = now_ms();
    deps.store.put_preset(&p)?;
    reapply_if_active(deps, member, emoji)?;
    Ok(p)
}

/// Makes a preset photo-only: the member's own name stays while it is active.
pub(crate) fn clear_name(deps: &MemberDeps<'_>, member: &str, emoji: &str) -> anyhow::Result<()> {
    let Some(mut p) = deps.store.preset(member, emoji)? else { return Ok(()) };
    if p.name.is_none() {
        return Ok(());
    }
    p.name = None;
    p.updated_ms = now_ms();
    deps.store.put_preset(&p)?;
    reapply_if_active(deps, member, emoji)
}

/// Gives a preset a processed photo (creating the preset if needed).
///
/// On disk before it returns: photos are saved after the envelope's ack (downloading and
/// processing take longer than Slack waits), so the member's "Saved" must not outrun the flush.
pub(crate) async fn save_photo(deps: &MemberDeps<'_>, member: &str, emoji: &str, processed: &Processed) -> anyhow::Result<Preset> {
    let hash = deps.store.put_photo(&processed.bytes)?;
    let p = save_photo_source(deps, member, emoji, PhotoSource::Uploaded(hash))?;
    deps.store.flush().await?;
    Ok(p)
}

/// Sets what a preset's photo is (creating the preset if needed): an upload's hash, a design
/// drawn at swap time, or none (the member's own photo stays); re-applies it if active.
pub(crate) fn save_photo_source(deps: &MemberDeps<'_>, member: &str, emoji: &str, source: PhotoSource) -> anyhow::Result<Preset> {
    let mut p = deps.store.preset(member, emoji)?.unwrap_or_else(|| Preset::new(member, emoji));
    (p.photo, p.design) = source.fields();
    p.updated_ms = now_ms();
    deps.store.put_preset(&p)?;
    reapply_if_active(deps, member, emoji)?;
    Ok(p)
}

/// `photo :emoji: badge|frame …|none`: a generated photo (`design`), or none.
pub(crate) fn save_design(deps: &MemberDeps<'_>, member: &str, emoji: &str, design: Option<Design>) -> anyhow::Result<Preset> {
    save_photo_source(deps, member, emoji, design.map_or(PhotoSource::None, PhotoSource::Generated))
}

/// Deletes a preset; restores the baseline if it was the one in force.
pub(crate) fn remove(deps: &MemberDeps<'_>, member: &str, emoji: &str) -> anyhow::Result<bool> {
    let removed = deps.store.remove_preset(member, emoji)?.is_some();
    if removed {
        let state = deps.store.member(member)?;
        if in_force(deps, &state, member, emoji)? {
            // A team preset for the same emoji takes its place; else the baseline comes back.
            let desired = desired_for(deps.store, member, Some(emoji))?;
            enqueue(deps, member, desired, false)?;
        }
        let _ = deps.store.collect_photos();
    }
    Ok(removed)
}

/// When the member's current status uses this preset, apply its new contents.
fn reapply_if_active(deps: &MemberDeps<'_>, member: &str, emoji: &str) -> anyhow::Result<()> {
    let state = deps.store.member(member)?;
    let (status, expires_at_ms) = current_status(deps, &state, member);
    if !state.paused && status.as_deref() == Some(emoji) && usable_token(deps.store, member).is_some() {
        let desired = Desired::Preset { emoji: emoji.into() };
        // A preset added while an expiring status shows gets its expiry timer now.
        keep_expiry_timer(deps, member, &desired, expires_at_ms)?;
        enqueue(deps, member, desired, false)?;
    }
    Ok(())
}

/// The member's status now and when it runs out, from the profile cache, else what the engine
/// last saw. The cache has the member's latest profile (every observed one passes through it):
/// the engine ignores the events of members no preset applies to (before their first preset,
/// after `team off`), so the status they wear now is only there; and there is when it runs out.
fn current_status(deps: &MemberDeps<'_>, state: &MemberState, member: &str) -> (Option<String>, Option<u64>) {
    let cached = deps.avatars.peek(member);
    let expires_at_ms = cached.as_ref().and_then(|p| p.status_expires_ms);
    let shown = match cached {
        Some(p) => p.status_emoji.filter(|s| !s.trim().is_empty()).and_then(|s| deps.emoji.canonical_or_unverified(&s)),
        None => state.status_emoji.clone(),
    };
    (effective_status(shown, expires_at_ms, now_ms()), expires_at_ms)
}

/// Creates or renames the team preset for `emoji` (`by`: the admin) and re-evaluates the
/// members it applies to ([`team_changed`]); returns how many were queued.
pub(crate) fn save_team_name(deps: &MemberDeps<'_>, by: &str, emoji: &str, name: &str) -> anyhow::Result<usize> {
    let mut p = team::get(deps.store, emoji)?.unwrap_or_else(|| TeamPreset::new(emoji, by));
    p.name = Some(name.to_string());
    p.updated_ms = now_ms();
    p.by = by.to_string();
    team::put(deps.store, &p)?;
    team_changed(deps, emoji)
}

/// Gives the team preset for `emoji` a processed photo (creating it if needed), re-evaluates the
/// members it applies to and returns how many were queued. On disk before it returns, like
/// [`save_photo`].
pub(crate) async fn save_team_photo(deps: &MemberDeps<'_>, by: &str, emoji: &str, processed: &Processed) -> anyhow::Result<usize> {
    let hash = deps.store.put_photo(&processed.bytes)?;
    let queued = save_team_photo_source(deps, by, emoji, PhotoSource::Uploaded(hash))?;
    deps.store.flush().await?;
    Ok(queued)
}

/// Sets the team preset's photo (as [`save_photo_source`]; `by`: the admin), re-evaluates the
/// members it applies to and returns how many were queued.
pub(crate) fn save_team_photo_source(deps: &MemberDeps<'_>, by: &str, emoji: &str, source: PhotoSource) -> anyhow::Result<usize> {
    let mut p = team::get(deps.store, emoji)?.unwrap_or_else(|| TeamPreset::new(emoji, by));
    (p.photo, p.design) = source.fields();
    p.updated_ms = now_ms();
    p.by = by.to_string();
    team::put(deps.store, &p)?;
    team_changed(deps, emoji)
}

/// Deletes the team preset for `emoji`: None if there was none, else how many members showing
/// it were queued to get their own profile (or their own preset) back.
pub(crate) fn remove_team(deps: &MemberDeps<'_>, emoji: &str) -> anyhow::Result<Option<usize>> {
    if team::remove(deps.store, emoji)?.is_none() {
        return Ok(None);
    }
    let queued = team_changed(deps, emoji)?;
    let _ = deps.store.collect_photos();
    Ok(Some(queued))
}

/// The team preset for `emoji` was added, changed or removed: every connected, unpaused member
/// showing it now, or whose status is `emoji`, has their desired state queued through the one
/// coalescing queue (the runner's budget gate spreads the photo uploads over Slack's limits).
/// Returns how many were queued.
pub(crate) fn team_changed(deps: &MemberDeps<'_>, emoji: &str) -> anyhow::Result<usize> {
    let mut queued = 0;
    for (key, record) in deps.store.tokens.iter().map_err(crate::store::StoreError::into_anyhow)? {
        if record.disconnected {
            continue;
        }
        let member = String::from_utf8_lossy(&key).into_owned();
        let state = deps.store.member(&member)?;
        let showing = state.applied.team && state.applied.preset.as_deref() == Some(emoji);
        let (status, expires_at_ms) = current_status(deps, &state, &member);
        if state.paused || (!showing && status.as_deref() != Some(emoji)) {
            continue;
        }
        let desired = desired_for(deps.store, &member, status.as_deref())?;
        if showing || !already_applied(&state, &desired) {
            keep_expiry_timer(deps, &member, &desired, expires_at_ms)?;
            queue::enqueue(deps.store, &member, desired, "", None, false)?;
            queued += 1;
        }
    }
    if queued > 0 {
        deps.work.notify_one();
        tracing::info!(emoji, queued, "team preset changed: members re-evaluated");
    }
    Ok(queued)
}

/// `team off` (`off`) or `team on` for `member`: kept in their state, and their profile follows
/// at once (a team preset showing goes, or one that now applies comes).
pub(crate) fn set_team_off(deps: &MemberDeps<'_>, member: &str, off: bool) -> anyhow::Result<()> {
    let state = deps.store.update_member(member, |m| m.team_off = off)?;
    if state.paused || usable_token(deps.store, member).is_none() {
        return Ok(());
    }
    let (status, expires_at_ms) = current_status(deps, &state, member);
    let desired = desired_for(deps.store, member, status.as_deref())?;
    if !already_applied(&state, &desired) {
        keep_expiry_timer(deps, member, &desired, expires_at_ms)?;
        enqueue(deps, member, desired, false)?;
    }
    Ok(())
}

pub(crate) fn set_paused(deps: &MemberDeps<'_>, member: &str, paused: bool) -> anyhow::Result<()> {
    deps.store.update_member(member, |m| m.paused = paused)?;
    if paused {
        crate::store::queue::keep_only_forced(deps.store, member)?;
    } else if usable_token(deps.store, member).is_some() {
        let state = deps.store.member(member)?;
        let desired = desired_for(deps.store, member, state.status_emoji.as_deref())?;
        if !shows(deps.store, member, &state, &desired)? {
            enqueue(deps, member, desired, false)?;
        }
    }
    Ok(())
}

/// Queues a forced return to the baseline.
pub(crate) fn restore(deps: &MemberDeps<'_>, member: &str) -> anyhow::Result<bool> {
    let state = deps.store.member(member)?;
    if state.baseline.is_none() {
        return Ok(false);
    }
    enqueue(deps, member, Desired::Baseline, true)?;
    Ok(true)
}

/// The member's token was revoked: stop their work (dead-lettered with the
/// reason) and never use the token again.
pub(crate) fn revoke(deps: &MemberDeps<'_>, member: &str, reason: &str) -> anyhow::Result<()> {
    if deps.store.tokens.mark_disconnected(member, reason)? {
        tracing::warn!(member, reason, "member disconnected");
    }
    if let Some(job) = crate::store::queue::take(deps.store, member)? {
        crate::store::queue::dead_letter(deps.store, &job, reason)?;
    }
    Ok(())
}

/// Fetches a Slack file shared with the bot and runs it through the pipeline.
/// Errors are sentences for the member.
pub(crate) async fn fetch_and_process(deps: &MemberDeps<'_>, file: &File) -> Result<Processed, String> {
    let max_bytes = deps.images.max_bytes;
    let file = match (file.download_url(), file.id.as_deref()) {
        (Some(_), _) => file.clone(),
        (None, Some(id)) => deps.slack.files_info(id).await.map_err(|e| format!("I couldn't read that file from Slack ({e})."))?,
        (None, None) => return Err("I couldn't find the file in your message.".into()),
    };
    let Some(url) = file.download_url() else {
        return Err("Slack didn't give me a way to download that file.".into());
    };
    if file.size.is_some_and(|s| s as usize > max_bytes) {
        let mb = file.size.unwrap_or(0) as f64 / (1024.0 * 1024.0);
        return Err(format!("That file is {mb:.1} MB; photos can be at most {} MB.", max_bytes / (1024 * 1024)));
    }
    let bytes = match deps.slack.download(url, true, max_bytes).await {
        Ok(b) => b,
        Err(crate::slack::ApiError::TooLarge(_)) => {
            return Err(format!("That file is larger than {} MB, the most a photo can be.", max_bytes / (1024 * 1024)))
        }
        Err(e) => return Err(format!("I couldn't download that file ({e}).")),
    };
    crate::photo::process_async(bytes, PhotoLimits::from(deps.images), deps.photos).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::{effective_status, preview_name, render_name, template_values};
    use crate::store::{Applied, Baseline, CachedProfile, MemberState, ProfileSnapshot};

    fn showing(preset: Option<&str>, display: &str, real: &str, status_text: &str) -> MemberState {
        MemberState {
            baseline: Some(Baseline {
                name: "Countess Ada ✨".into(),
                photo: None,
                avatar_hash: None,
                is_custom_image: false,
                captured_ms: 0,
                default_photo: None,
            }),
            applied: Applied { preset: preset.map(Into::into), ..Default::default() },
            profile: Some(ProfileSnapshot {
                display_name: display.into(),
                real_name: real.into(),
                status_text: status_text.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// `{name}` is the member's own name, never a preset's: the baseline while a preset shows.
    #[test]
    fn a_template_is_filled_with_the_own_name_and_the_status_text() {
        let s = showing(Some("palm_tree"), "On vacation", "Ada Lovelace", "Beach &amp; sun");
        assert_eq!(render_name(&s, "{name} (OOO)"), "Countess Ada ✨ (OOO)");
        assert_eq!(render_name(&s, "{name}: {status}"), "Countess Ada ✨: Beach & sun");
        // No preset showing: the profile's own display name; an empty one gives the real name.
        let s = showing(None, "Ada", "Ada Lovelace", "");
        assert_eq!(render_name(&s, "{name} (OOO)"), "Ada (OOO)");
        let s = showing(None, "", "Ada Lovelace", "");
        assert_eq!(render_name(&s, "{name} (OOO)"), "Ada Lovelace (OOO)");
        let mut s = showing(Some("palm_tree"), "On vacation", "Ada Lovelace", "");
        if let Some(b) = s.baseline.as_mut() {
            b.name = String::new();
        }
        assert_eq!(render_name(&s, "{name} (OOO)"), "Ada Lovelace (OOO)");
    }

    #[test]
    fn previews_come_from_the_profile_cache_when_no_preset_shows() {
        let s = MemberState::default();
        let cached = CachedProfile { display_name: "Ada".into(), status_text: Some("Lunch".into()), ..Default::default() };
        assert_eq!(template_values(&s, Some(&cached)), ("Ada".to_string(), "Lunch".to_string()));
        assert_eq!(preview_name(&s, Some(&cached), "{name} – {status}").as_deref(), Some("Ada – Lunch"));
        assert_eq!(preview_name(&s, Some(&cached), "{{literal}}").as_deref(), Some("{literal}"));
        assert_eq!(preview_name(&s, Some(&cached), "On vacation"), None, "a plain name is shown as it is");
        assert_eq!(preview_name(&s, None, "{name} (OOO)"), None, "nothing known of the member yet");
    }

    #[test]
    fn an_expired_status_is_no_status() {
        let palm = || Some("palm_tree".to_string());
        assert_eq!(effective_status(palm(), None, 5_000), palm(), "a status without an expiration stays");
        assert_eq!(effective_status(palm(), Some(5_001), 5_000), palm(), "not yet expired");
        assert_eq!(effective_status(palm(), Some(5_000), 5_000), None, "expired the moment it is due");
        assert_eq!(effective_status(palm(), Some(1_000), 5_000), None, "a late event with an old expiration");
        assert_eq!(effective_status(None, Some(9_000), 5_000), None);
    }
}
