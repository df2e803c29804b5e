//! Applying one job: moving a member's profile to their desired state.
//!
//! The plan compares the desired state with what the profile shows and what
//! the bot last wrote, and spends calls only on real differences: a name via
//! `users.profile.set`, a photo via `users.setPhoto`. Before the first swap
//! away from the member's own profile the baseline (their name and photo
//! bytes) is captured, and it is what a restore puts back. A change the member
//! made by hand while a preset was active is left alone at restore. A generated preset photo
//! (badge, frame) is drawn from that baseline first ([`generated`]).

mod generated;

use std::time::Duration;

use tracing::Instrument;

use super::budget;
use crate::context::Context;
use crate::secret::Secret;
use crate::slack::{ApiError, SlackErrorKind};
use crate::store::{now_ms, Baseline, Desired, FailReason, Job, MemberState, Preset, ProfileSnapshot, ProfileWrite, Refusal, Refusals};

/// A write this recent makes the runner wait for the member to settle.
const RECENT_WRITE_MS: u64 = 10_000;

#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Try again at `at` (unix ms); `attempt` counts towards the retry limit.
    Later {
        at: u64,
        error: Option<String>,
        attempt: bool,
    },
    /// Failed for good.
    Dead {
        reason: FailReason,
    },
    /// Nothing to do any more (paused, no token, …).
    Dropped(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
enum NameOp {
    Set(String),
    Restore(String),
}

#[derive(Debug, Clone, PartialEq)]
enum PhotoOp {
    Upload(String),
    Restore(String),
    Delete,
}

pub async fn run_job(ctx: &Context, job: Job, span: tracing::Span) {
    async {
        let outcome = match apply(ctx, &job).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "job failed inside the bot");
                Outcome::Later { at: now_ms() + 5_000, error: Some(e.to_string()), attempt: true }
            }
        };
        finish(ctx, &job, outcome).await;
    }
    .instrument(span)
    .await
}

async fn finish(ctx: &Context, job: &Job, outcome: Outcome) {
    let store = &ctx.store;
    let max = ctx.config.limits.max_attempts;
    let outcome = match outcome {
        Outcome::Later { attempt: true, error, .. } if job.attempts + 1 >= max => {
            Outcome::Dead { reason: FailReason::GaveUp { attempts: job.attempts + 1, last: error.unwrap_or_default() } }
        }
        o => o,
    };
    match outcome {
        Outcome::Done => {
            tracing::info!(desired = ?job.desired, "profile is in the desired state");
            remove_if_unchanged(ctx, job);
            let _ = store.update_member(&job.member, |m| m.failure_notified = false);
            ctx.telemetry.swaps.inc("applied");
            if job.origin == crate::store::JobOrigin::CatchUp {
                ctx.telemetry.catch_up.swapped();
            }
            // App Home says which preset is showing: keep it true.
            crate::home::publish(&ctx.home_deps(), &job.member).await;
        }
        Outcome::Dropped(why) => {
            ctx.telemetry.swaps.inc("dropped");
            tracing::info!(why, "dropping the job");
            remove_if_unchanged(ctx, job);
        }
        Outcome::Later { at, error, attempt } => {
            if error.is_some() {
                ctx.telemetry.swaps.inc("retried");
            }
            tracing::info!(retry_in_ms = at.saturating_sub(now_ms()), error = error.as_deref().unwrap_or(""), "later");
            let r = crate::store::queue::retry_later(store, job, at, error, attempt);
            if let Err(e) = r {
                tracing::error!(error = %e, "could not reschedule a job");
            }
        }
        Outcome::Dead { reason } => {
            ctx.telemetry.swaps.inc("failed");
            tracing::warn!(reason = %reason, "job dead-lettered");
            if let Err(e) = crate::store::queue::dead_letter(store, job, reason.clone()) {
                tracing::error!(error = %e, "could not dead-letter a job");
            }
            remove_if_unchanged(ctx, job);
            let state = store.member(&job.member).unwrap_or_default();
            if !state.failure_notified {
                let _ = store.update_member(&job.member, |m| m.failure_notified = true);
                let text = failure_message(ctx, &reason);
                if let Err(e) = ctx.slack.post_message(&job.member, &text, None).await {
                    tracing::warn!(error = %e, "could not tell the member");
                }
            }
        }
    }
}

fn failure_message(ctx: &Context, reason: &FailReason) -> String {
    let cmd = &ctx.config.command;
    if matches!(reason, FailReason::Slack { code } if crate::slack::is_auth_dead(code)) {
        format!(
            ":warning: I couldn't change your profile: Slack no longer accepts my access to it (`{reason}`). Your presets are safe. Run `{cmd} connect` to authorise me again."
        )
    } else {
        format!(":warning: I couldn't change your profile: {reason}. Your presets are safe; `{cmd} status` shows what is pending.")
    }
}

fn remove_if_unchanged(ctx: &Context, job: &Job) {
    let r = crate::store::queue::remove_if_unchanged(&ctx.store, job);
    if let Err(e) = r {
        tracing::error!(error = %e, "could not remove a finished job");
    }
}

fn classify(telemetry: &crate::telemetry::Telemetry, e: &ApiError, attempts: u32) -> Outcome {
    let now = now_ms();
    match e {
        ApiError::RateLimited { retry_after } => {
            telemetry.rate_limit_wait();
            let wait = retry_after.unwrap_or(Duration::from_secs(5)).max(Duration::from_secs(1));
            Outcome::Later { at: now + wait.as_millis() as u64, error: Some(e.to_string()), attempt: false }
        }
        e if e.is_permanent() => Outcome::Dead { reason: FailReason::Slack { code: e.code() } },
        e => {
            let backoff = 1000u64.saturating_mul(1 << attempts.min(8)).min(300_000);
            Outcome::Later { at: now + backoff, error: Some(e.to_string()), attempt: true }
        }
    }
}

/// Marks the member's token unusable after Slack refused it.
fn on_auth_failure(ctx: &Context, member: &str, e: &ApiError) {
    if e.is_auth() {
        if let Err(err) = ctx.store.tokens.mark_disconnected(member, &e.code()) {
            tracing::error!(member, error = %err, "marking a refused token disconnected failed");
        }
    }
}

/// What a job will do, decided without IO from the member's state, the desired preset and the
/// preset in force ([`plan`]); the budget gate and the executor follow it.
#[derive(Debug, Clone, Default, PartialEq)]
struct Plan {
    /// The active preset's name is on the profile but was never noted (a kill between the
    /// write and its record): note it as ours.
    noted_name: Option<String>,
    /// Likewise for an upload that was under way.
    noted_photo: Option<String>,
    /// A hand-made name or photo seen while restoring: forget what the bot wrote.
    forget_name: bool,
    forget_photo: bool,
    /// One Slack call each.
    name: Option<NameOp>,
    photo: Option<PhotoOp>,
}

impl Plan {
    /// Profile writes the plan makes (what the per-member budget pays for).
    fn writes(&self) -> u32 {
        self.name.is_some() as u32 + self.photo.is_some() as u32
    }
}

pub async fn apply(ctx: &Context, job: &Job) -> anyhow::Result<Outcome> {
    let member = job.member.as_str();
    let store = &ctx.store;
    let state = store.member(member)?;
    let token = match gate(ctx, job, &state) {
        Ok(t) => t,
        Err(outcome) => return Ok(outcome),
    };
    // Own or team: `members::preset_for` decides which preset a status shows.
    let (preset, team) = match &job.desired {
        Desired::Preset { emoji } => match crate::members::preset_for(store, member, emoji)? {
            Some(chosen) => (Some(chosen.preset), chosen.team),
            None => (None, false),
        },
        Desired::Baseline => (None, false),
    };
    let state = match note_preset(ctx, job, &token, state, preset.as_ref(), team).await? {
        Ok(s) => s,
        Err(outcome) => return Ok(outcome),
    };
    // A generated photo is drawn (or reused) from the baseline just captured or kept.
    let preset = match preset {
        Some(p) if p.design.is_some() => Some(generated::resolve(ctx, &state, p).await?),
        other => other,
    };
    let active = match state.applied.preset.clone() {
        Some(e) => crate::members::shown_preset(store, member, &e, state.applied.team)?,
        None => None,
    };
    let plan = skip_refused(plan(&state, preset.as_ref(), active.as_ref(), job.force), &state.refusals, preset.as_ref(), &job.event_ts);
    tracing::debug!(?plan, "plan");
    record_plan(ctx, member, &plan)?;
    if let Some(wait) = budget_gate(ctx, member, &plan)? {
        return Ok(wait);
    }
    if let Some(op) = plan.name {
        if let Err(outcome) = write_name(ctx, job, &token, preset.as_ref(), op).await? {
            return Ok(outcome);
        }
    }
    finish_photo(ctx, job, &token, preset.as_ref(), plan.photo).await
}

/// Whether the job may run now, and with which token: paused members and members without a
/// usable token are dropped; right after a write, or while the status keeps changing (this
/// job replaced another), it waits for the member to settle.
fn gate(ctx: &Context, job: &Job, state: &MemberState) -> Result<Secret, Outcome> {
    if state.paused && !job.force {
        return Err(Outcome::Dropped("member is paused"));
    }
    let Some(token) = ctx.token_for(&job.member) else {
        return Err(Outcome::Dropped("member has no usable token"));
    };
    let now = now_ms();
    let settle = ctx.config.limits.settle_seconds * 1000;
    let unsettled = job.coalesced || now.saturating_sub(state.last_write_ms) < RECENT_WRITE_MS;
    if !job.force && unsettled && job.enqueued_ms + settle > now {
        return Err(Outcome::Later { at: job.enqueued_ms + settle, error: None, attempt: false });
    }
    Ok(token)
}

/// Notes the desired preset as the one in force (`team`: the team's); before the first swap away
/// from the member's own profile the baseline is captured (before anything is written) and saved
/// with it.
async fn note_preset(
    ctx: &Context,
    job: &Job,
    token: &Secret,
    state: MemberState,
    preset: Option<&crate::store::Preset>,
    team: bool,
) -> anyhow::Result<Result<MemberState, Outcome>> {
    let (member, store) = (job.member.as_str(), &ctx.store);
    let Some(p) = preset else { return Ok(Ok(state)) };
    let emoji = p.emoji.clone();
    if state.applied.preset.is_some() {
        if state.applied.preset.as_deref() == Some(p.emoji.as_str()) && state.applied.team == team {
            return Ok(Ok(state));
        }
        return Ok(Ok(store.update_member(member, |m| {
            m.applied.preset = Some(emoji.clone());
            m.applied.team = team;
        })?));
    }
    let profile = match state.profile.clone() {
        Some(p) => p,
        None => match fetch_profile(ctx, token).await {
            Ok(p) => p,
            Err(e) => {
                on_auth_failure(ctx, member, &e);
                return Ok(Err(classify(&ctx.telemetry, &e, job.attempts)));
            }
        },
    };
    let baseline = match capture_baseline(ctx, &profile).await {
        Ok(b) => b,
        Err(e) => return Ok(Err(classify(&ctx.telemetry, &e, job.attempts))),
    };
    tracing::info!(name = %baseline.name, photo = baseline.photo.is_some(), "baseline captured");
    Ok(Ok(store.update_member(member, |m| {
        m.baseline = Some(baseline.clone());
        m.applied.preset = Some(emoji.clone());
        m.applied.team = team;
        if m.profile.is_none() {
            m.profile = Some(profile.clone());
        }
    })?))
}

/// The plan for `state` (after [`note_preset`]): `desired` is the job's preset (None: the
/// member's own profile), `active` the preset in force. Pure. A preset's name template is
/// rendered from the baseline and the status text in `state`.
///
/// A kill between a write reaching Slack and the bot noting it leaves `applied` behind the
/// profile, and a restore would then leave the preset showing (found by tests/torture.rs):
/// the active preset's name on the profile, or an upload that was under way, is ours.
fn plan(state: &MemberState, desired: Option<&crate::store::Preset>, active: Option<&crate::store::Preset>, force: bool) -> Plan {
    let mut out = Plan::default();
    // A name template shows what it renders to for this member now (`{name}` from the baseline).
    let shown_name = |p: &Preset| p.name.as_deref().map(|n| crate::members::render_name(state, n));
    if let Some(active) = active {
        let current = state.profile.as_ref().map(|p| p.display_name.clone());
        let own = state.baseline.as_ref().map(|b| b.name.clone());
        let active_name = shown_name(active);
        let name_unnoted = active_name.is_some() && current == active_name && current != own && state.applied.name != current;
        let photo_unnoted = active.photo.is_some()
            && state.applied.photo.is_none()
            && (state.applied.photo_echo.is_awaiting() || state.applied.avatar_hash.is_some())
            && desired.map(|p| p.emoji.as_str()) != Some(active.emoji.as_str());
        out.noted_name = active_name.filter(|_| name_unnoted);
        out.noted_photo = active.photo.clone().filter(|_| photo_unnoted);
    }
    let mut seen = state.clone();
    if out.noted_name.is_some() {
        seen.applied.name = out.noted_name.clone();
    }
    if out.noted_photo.is_some() {
        seen.applied.photo = out.noted_photo.clone();
    }
    let want_name = desired.and_then(shown_name);
    let want_photo = desired.and_then(|p| p.photo.clone());
    (out.name, out.photo) = ops(&seen, want_name.clone(), want_photo.clone(), force);
    // Hand-made changes seen while restoring: forget what we wrote, touch nothing.
    out.forget_name = want_name.is_none() && seen.applied.name.is_some() && out.name.is_none();
    out.forget_photo = want_photo.is_none() && seen.applied.photo.is_some() && out.photo.is_none();
    out
}

/// Writes the plan's notes to the member's state (no Slack call).
fn record_plan(ctx: &Context, member: &str, plan: &Plan) -> anyhow::Result<()> {
    if plan.noted_name.is_some() || plan.noted_photo.is_some() {
        let (name_unnoted, photo_unnoted) = (plan.noted_name.is_some(), plan.noted_photo.is_some());
        tracing::info!(name_unnoted, photo_unnoted, "recognising a write the bot made but had not noted");
    }
    if plan.noted_name.is_none() && plan.noted_photo.is_none() && !plan.forget_name && !plan.forget_photo {
        return Ok(());
    }
    ctx.store.update_member(member, |m| {
        if plan.noted_name.is_some() {
            m.applied.name = plan.noted_name.clone();
        }
        if plan.noted_photo.is_some() {
            m.applied.photo = plan.noted_photo.clone();
        }
        if plan.forget_name {
            m.applied.name = None;
        }
        if plan.forget_photo {
            m.applied.photo = None;
            m.applied.avatar_hash = None;
        }
    })?;
    Ok(())
}

/// Drops the writes Slack already refused for the same preset contents ([`Refusals`]), unless
/// the preset was edited since or this job comes from a newer status change: a refusal is
/// never tried again in a loop. Pure.
fn skip_refused(mut plan: Plan, refusals: &Refusals, desired: Option<&Preset>, event_ts: &str) -> Plan {
    let Some(p) = desired else { return plan };
    if let Some(NameOp::Set(n)) = &plan.name {
        if still_refused(refusals.of(ProfileWrite::Name), p, n, event_ts) {
            tracing::info!("Slack refused this name before: not trying again until the preset or the status changes");
            plan.name = None;
        }
    }
    if let Some(PhotoOp::Upload(h)) = &plan.photo {
        if still_refused(refusals.of(ProfileWrite::Photo), p, h, event_ts) {
            tracing::info!("Slack refused this photo before: not trying again until the preset or the status changes");
            plan.photo = None;
        }
    }
    plan
}

/// Whether `refusal` still holds for writing `contents` of `preset` in a job stamped `event_ts`.
fn still_refused(refusal: Option<&Refusal>, preset: &Preset, contents: &str, event_ts: &str) -> bool {
    let Some(r) = refusal else { return false };
    let newer_status = !event_ts.is_empty() && crate::store::queue::ts_key(event_ts) > crate::store::queue::ts_key(&r.event_ts);
    r.emoji == preset.emoji && r.contents == contents && r.preset_updated_ms == preset.updated_ms && !newer_status
}

/// Waits (a `Later`) when the member's profile budget, or the workspace's `users.setPhoto`
/// budget, cannot pay for the plan's writes yet.
fn budget_gate(ctx: &Context, member: &str, plan: &Plan) -> anyhow::Result<Option<Outcome>> {
    let n = plan.writes();
    if n == 0 {
        return Ok(None);
    }
    let store = &ctx.store;
    let limit = ctx.config.limits.profile_updates_per_minute;
    let at = budget::available_at(store, &budget::profile_key(member), limit, n)?;
    if at > now_ms() {
        tracing::info!(wait_ms = at - now_ms(), "per-member profile budget spent: waiting");
        ctx.telemetry.rate_limit_wait();
        return Ok(Some(Outcome::Later { at, error: None, attempt: false }));
    }
    if matches!(plan.photo, Some(PhotoOp::Upload(_) | PhotoOp::Restore(_))) {
        // Taken here in one step: four jobs run at once, and each checking first and paying
        // later let all four take the last upload of the minute (a team preset's change for 50
        // members went past Slack's limit so; tests/team.rs).
        let taken = budget::take_or_wait(store, budget::PHOTO_KEY, ctx.config.limits.photos_per_minute, budget::PHOTO_WINDOW_MS)?;
        if let Err(at) = taken {
            tracing::info!(wait_ms = at.saturating_sub(now_ms()), "users.setPhoto budget spent: waiting");
            ctx.telemetry.rate_limit_wait();
            return Ok(Some(Outcome::Later { at, error: None, attempt: false }));
        }
    }
    Ok(None)
}

/// The name half of a job: one `users.profile.set`. A name Slack will never take is told to
/// the member and the photo still goes on; any other failure ends the job (the `Err`).
async fn write_name(
    ctx: &Context,
    job: &Job,
    token: &Secret,
    preset: Option<&crate::store::Preset>,
    op: NameOp,
) -> anyhow::Result<Result<(), Outcome>> {
    let (member, store) = (job.member.as_str(), &ctx.store);
    let name = match &op {
        NameOp::Set(n) | NameOp::Restore(n) => n.clone(),
    };
    budget::spend(store, &budget::profile_key(member), 1)?;
    // The spend (and the baseline captured before) reach the disk before Slack sees the
    // call: a crash loop must not forget calls already made and go over Slack's limits.
    store.flush().await?;
    match (ctx.slack.set_display_name(token, &name).await, preset) {
        (Ok(()), _) => {}
        (Err(ApiError::Slack(code)), Some(p))
            if matches!(op, NameOp::Set(_)) && crate::slack::classify(&code) == SlackErrorKind::NameRefused =>
        {
            refused(ctx, job, p, ProfileWrite::Name, &name, &code).await?;
            return Ok(Ok(()));
        }
        (Err(e), _) => {
            on_auth_failure(ctx, member, &e);
            return Ok(Err(classify(&ctx.telemetry, &e, job.attempts)));
        }
    }
    let restored = matches!(op, NameOp::Restore(_));
    store.update_member(member, |m| {
        m.applied.name = if restored { None } else { Some(name.clone()) };
        if !restored {
            m.refusals.name = None;
        }
        m.last_write_ms = now_ms();
        if let Some(p) = m.profile.as_mut() {
            p.display_name = name.clone();
        }
    })?;
    Ok(Ok(()))
}

/// The photo half of a job, after the name (if any) is on the profile or refused. A photo Slack
/// will never take is told to the member (the name stays); any other failure ends the job.
async fn finish_photo(
    ctx: &Context,
    job: &Job,
    token: &Secret,
    preset: Option<&crate::store::Preset>,
    photo_op: Option<PhotoOp>,
) -> anyhow::Result<Outcome> {
    let member = job.member.as_str();
    let store = &ctx.store;
    if let Some(op) = photo_op {
        let result = match photo_call(ctx, member, token, &op).await? {
            Some(result) => result,
            None => return Ok(Outcome::Dead { reason: FailReason::PhotoMissing }),
        };
        if let Err(e) = result {
            store.update_member(member, |m| m.applied.photo_echo.cancel())?;
            return Ok(match (&op, preset, &e) {
                (PhotoOp::Upload(h), Some(p), ApiError::Slack(code)) if crate::slack::classify(code) == SlackErrorKind::PhotoRefused => {
                    refused(ctx, job, p, ProfileWrite::Photo, h, code).await?;
                    Outcome::Done
                }
                _ => {
                    on_auth_failure(ctx, member, &e);
                    classify(&ctx.telemetry, &e, job.attempts)
                }
            });
        }
        store.update_member(member, |m| {
            match &op {
                PhotoOp::Upload(h) => {
                    m.applied.photo = Some(h.clone());
                    m.refusals.photo = None;
                }
                PhotoOp::Restore(_) | PhotoOp::Delete => {
                    m.applied.photo = None;
                    m.applied.avatar_hash = None;
                    m.applied.photo_echo.cancel();
                }
            }
            m.last_write_ms = now_ms();
        })?;
    }

    if preset.is_none() {
        store.update_member(member, |m| {
            if m.applied.name.is_none() && m.applied.photo.is_none() {
                m.applied.preset = None;
                m.applied.team = false;
            }
        })?;
    }
    Ok(Outcome::Done)
}

/// The one Slack call of a photo operation, after paying for it (the app's `users.setPhoto`
/// budget was taken by [`budget_gate`]); None when the photo to upload is no longer in the
/// database.
async fn photo_call(ctx: &Context, member: &str, token: &Secret, op: &PhotoOp) -> anyhow::Result<Option<Result<(), ApiError>>> {
    let store = &ctx.store;
    budget::spend(store, &budget::profile_key(member), 1)?;
    match op {
        PhotoOp::Upload(h) | PhotoOp::Restore(h) => {
            let Some(bytes) = store.photo(h)? else { return Ok(None) };
            let mime = match crate::photo::sniff(&bytes) {
                Some(image::ImageFormat::Png) => "image/png",
                Some(image::ImageFormat::Gif) => "image/gif",
                _ => "image/jpeg",
            };
            if matches!(op, PhotoOp::Upload(_)) {
                // Armed before the call: Slack may deliver the echo before it answers.
                store.update_member(member, |m| {
                    let current = m.profile.as_ref().and_then(|p| p.avatar_hash.clone());
                    m.applied.photo_echo.arm(current);
                })?;
            }
            store.flush().await?;
            Ok(Some(ctx.slack.set_photo(token, bytes, mime).await))
        }
        PhotoOp::Delete => {
            store.flush().await?;
            Ok(Some(ctx.slack.form("users.deletePhoto", token, &[]).await.map(|_| ())))
        }
    }
}

/// Slack refused `write` of the preset for a reason the member can act on (`contents`: the name,
/// or the photo's hash). That part of the job is dead-lettered, the refusal remembered (so the
/// same write is not tried again for nothing, see [`skip_refused`]) and the member told once
/// per refusal of the same contents; the job's other write goes on.
async fn refused(ctx: &Context, job: &Job, preset: &Preset, write: ProfileWrite, contents: &str, code: &str) -> anyhow::Result<()> {
    let (store, emoji) = (&ctx.store, preset.emoji.as_str());
    tracing::warn!(code, ?write, "Slack refused part of the preset; the rest of the job goes on");
    ctx.telemetry.swaps.inc(match write {
        ProfileWrite::Name => "name_refused",
        ProfileWrite::Photo => "photo_refused",
    });
    crate::store::queue::dead_letter(store, job, FailReason::refused(write, emoji, code))?;
    let refusal = Refusal {
        emoji: emoji.to_string(),
        contents: contents.to_string(),
        code: code.to_string(),
        preset_updated_ms: preset.updated_ms,
        event_ts: job.event_ts.clone(),
    };
    let told = store.modify_member(&job.member, |m| {
        let slot = m.refusals.of_mut(write);
        let told = slot.as_ref().is_some_and(|r| r.same_as(emoji, contents, code));
        *slot = Some(refusal);
        told
    })?;
    if told {
        return Ok(());
    }
    let name = (write == ProfileWrite::Name).then_some(contents);
    let mut text = refusal_message(&ctx.config.command, write, emoji, name, code);
    if write == ProfileWrite::Name && preset.photo.is_some() {
        text.push_str(" Its photo is applied all the same.");
    }
    if let Err(e) = ctx.slack.post_message(&job.member, &text, None).await {
        tracing::warn!(error = %e, "could not tell the member about the refusal");
    }
    Ok(())
}

/// The DM about a refusal: which write of which preset Slack refused, and [`refusal_advice`].
fn refusal_message(cmd: &str, write: ProfileWrite, emoji: &str, name: Option<&str>, code: &str) -> String {
    let what = match (write, name) {
        (ProfileWrite::Name, Some(n)) => format!("the display name '{}'", crate::command::escape(n)),
        (ProfileWrite::Name, None) => "the display name".to_string(),
        (ProfileWrite::Photo, _) => "the photo".to_string(),
    };
    format!(":warning: Slack refused {what} of your :{emoji}: preset (`{code}`): {}", refusal_advice(cmd, write, emoji, code))
}

/// What Slack's refusal `code` of a preset's `write` means and what the member can do about it:
/// one sentence per code.
fn refusal_advice(cmd: &str, write: ProfileWrite, emoji: &str, code: &str) -> String {
    let rename = format!("Change it with `{cmd} add :{emoji}: New Name`.");
    let photo = format!("`{cmd} photo :{emoji}:`");
    let max = crate::command::MAX_DISPLAY_NAME_CHARS;
    match (write, code) {
        (ProfileWrite::Name, "invalid_starts_with_at") => format!("names cannot start with @. {rename}"),
        (ProfileWrite::Name, "name_not_allowed") => format!("names cannot contain a link or a web address. {rename}"),
        (ProfileWrite::Name, "reserved_name") => format!("that name is reserved in your workspace. {rename}"),
        (ProfileWrite::Name, "too_long") => format!("names can be at most {max} characters. {rename}"),
        (ProfileWrite::Name, "not_allowed" | "profile_set_failed" | "partial_profile_set_failed") => {
            "your workspace manages names through SSO or Enterprise Grid; ask an admin to allow display-name changes.".to_string()
        }
        (ProfileWrite::Name, c) if c.starts_with("invalid_name") => format!("Slack doesn't accept some of its characters. {rename}"),
        (ProfileWrite::Name, _) => format!("Slack won't take that name. {rename}"),
        (ProfileWrite::Photo, "bad_image") => format!("Slack couldn't read it as an image. Send another with {photo}."),
        (ProfileWrite::Photo, "too_large") => format!("it is larger than Slack accepts. Send a smaller one with {photo}."),
        (ProfileWrite::Photo, "too_many_frames") => {
            format!("it has more animation frames than Slack accepts. Send a still image with {photo}.")
        }
        (ProfileWrite::Photo, _) => format!("Slack won't take that photo. Send another with {photo}."),
    }
}

/// The Slack calls to make, given the desired name/photo (None = the member's own).
fn ops(state: &MemberState, want_name: Option<String>, want_photo: Option<String>, force: bool) -> (Option<NameOp>, Option<PhotoOp>) {
    let current_name = state.profile.as_ref().map(|p| p.display_name.clone());
    let current_avatar = state.profile.as_ref().and_then(|p| p.avatar_hash.clone());
    let baseline = state.baseline.as_ref();
    let applied = &state.applied;

    let name_op = match want_name {
        Some(n) => (current_name.as_deref() != Some(n.as_str()) || (current_name.is_none() && applied.name.as_deref() != Some(n.as_str())))
            .then_some(NameOp::Set(n)),
        None => match (applied.name.as_deref(), baseline) {
            (Some(written), Some(b)) => {
                let untouched = current_name.as_deref().is_none_or(|c| c == written);
                (untouched || force)
                    .then(|| NameOp::Restore(b.name.clone()))
                    .filter(|_| current_name.as_deref() != Some(b.name.as_str()) || force)
            }
            (None, Some(b)) if force && current_name.as_deref() != Some(b.name.as_str()) => Some(NameOp::Restore(b.name.clone())),
            _ => None,
        },
    };

    let photo_op = match want_photo {
        Some(h) => (applied.photo.as_deref() != Some(h.as_str())).then_some(PhotoOp::Upload(h)),
        None => match (applied.photo.as_deref(), baseline) {
            (Some(_), Some(b)) => {
                let hand_changed = matches!((&applied.avatar_hash, &current_avatar), (Some(a), Some(c)) if a != c);
                if hand_changed && !force {
                    None
                } else if let Some(bh) = &b.photo {
                    Some(PhotoOp::Restore(bh.clone()))
                } else if !b.is_custom_image {
                    Some(PhotoOp::Delete)
                } else {
                    tracing::warn!("the member's own photo could not be captured, so it cannot be put back");
                    None
                }
            }
            _ => None,
        },
    };
    (name_op, photo_op)
}

async fn fetch_profile(ctx: &Context, token: &Secret) -> Result<ProfileSnapshot, ApiError> {
    let p = ctx.slack.users_profile_get(token, None).await?;
    Ok(crate::members::snapshot(&p))
}

async fn capture_baseline(ctx: &Context, profile: &ProfileSnapshot) -> Result<Baseline, ApiError> {
    let mut photo = None;
    if let Some(url) = profile.image_url.as_deref().filter(|_| profile.is_custom_image) {
        match ctx.slack.download(url, false, ctx.config.images.max_bytes).await {
            Ok(bytes) if crate::photo::sniff(&bytes).is_some() => match ctx.store.put_photo(&bytes) {
                Ok(h) => photo = Some(h),
                Err(e) => return Err(ApiError::Decode(format!("storing the baseline photo: {e}"))),
            },
            Ok(_) => tracing::warn!("the member's photo is not an image we can keep; it will not be restored"),
            Err(e) if e.is_permanent() => tracing::warn!(error = %e, "could not download the member's photo; it will not be restored"),
            Err(e) => return Err(e),
        }
    }
    Ok(Baseline {
        name: profile.display_name.clone(),
        photo,
        avatar_hash: profile.avatar_hash.clone(),
        is_custom_image: profile.is_custom_image,
        captured_ms: now_ms(),
        default_photo: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Applied;

    fn state(name: &str, applied: Applied, baseline: Option<Baseline>) -> MemberState {
        MemberState {
            profile: Some(ProfileSnapshot { display_name: name.into(), avatar_hash: Some("av1".into()), ..Default::default() }),
            applied,
            baseline,
            ..Default::default()
        }
    }

    fn base() -> Baseline {
        Baseline {
            name: "Ann".into(),
            photo: Some("orig".into()),
            avatar_hash: Some("av0".into()),
            is_custom_image: true,
            captured_ms: 0,
            default_photo: None,
        }
    }

    #[test]
    fn swap_writes_only_differences() {
        let s = state("Ann", Applied::default(), Some(base()));
        assert_eq!(
            ops(&s, Some("Away".into()), Some("p1".into()), false),
            (Some(NameOp::Set("Away".into())), Some(PhotoOp::Upload("p1".into())))
        );
        let s = state(
            "Away",
            Applied { preset: Some("x".into()), name: Some("Away".into()), photo: Some("p1".into()), ..Default::default() },
            Some(base()),
        );
        assert_eq!(ops(&s, Some("Away".into()), Some("p1".into()), false), (None, None));
    }

    #[test]
    fn restore_puts_back_the_baseline() {
        let s = state(
            "Away",
            Applied { preset: Some("x".into()), name: Some("Away".into()), photo: Some("p1".into()), ..Default::default() },
            Some(base()),
        );
        assert_eq!(ops(&s, None, None, false), (Some(NameOp::Restore("Ann".into())), Some(PhotoOp::Restore("orig".into()))));
    }

    #[test]
    fn hand_changes_during_a_preset_survive_restore() {
        let applied = Applied {
            preset: Some("x".into()),
            name: Some("Away".into()),
            photo: Some("p1".into()),
            avatar_hash: Some("av-bot".into()),
            ..Default::default()
        };
        let s = state("My own new name", applied, Some(base()));
        assert_eq!(ops(&s, None, None, false), (None, None));
        // The plan forgets what the bot wrote, and writes nothing.
        let plan = plan(&s, None, Some(&preset("x", Some("Away"), Some("p1"))), false);
        assert_eq!((plan.name.clone(), plan.photo.clone()), (None, None));
        assert!(plan.forget_name && plan.forget_photo);
    }

    #[test]
    fn default_avatar_is_restored_by_deleting() {
        let mut b = base();
        b.photo = None;
        b.is_custom_image = false;
        let s = state("Away", Applied { preset: Some("x".into()), photo: Some("p1".into()), ..Default::default() }, Some(b));
        assert_eq!(ops(&s, None, None, false).1, Some(PhotoOp::Delete));
    }

    fn preset(emoji: &str, name: Option<&str>, photo: Option<&str>) -> crate::store::Preset {
        crate::store::Preset { name: name.map(Into::into), photo: photo.map(Into::into), ..crate::store::Preset::new("U1", emoji) }
    }

    #[test]
    fn a_preset_already_in_force_plans_nothing() {
        let p = preset("x", Some("Away"), Some("p1"));
        let s = state(
            "Away",
            Applied { preset: Some("x".into()), name: Some("Away".into()), photo: Some("p1".into()), ..Default::default() },
            Some(base()),
        );
        let plan = plan(&s, Some(&p), Some(&p), false);
        assert_eq!(plan, Plan::default());
        assert_eq!(plan.writes(), 0);
    }

    #[test]
    fn a_swap_plans_one_call_per_difference() {
        let p = preset("x", Some("Away"), Some("p1"));
        let s = state("Ann", Applied { preset: Some("x".into()), ..Default::default() }, Some(base()));
        let plan = plan(&s, Some(&p), Some(&p), false);
        assert_eq!((plan.name.clone(), plan.photo.clone()), (Some(NameOp::Set("Away".into())), Some(PhotoOp::Upload("p1".into()))));
        assert_eq!(plan.writes(), 2);
        assert!(plan.noted_name.is_none() && !plan.forget_name && !plan.forget_photo);
    }

    /// Issue 14: a template is written as it renders now, and not again for the same result.
    #[test]
    fn a_name_template_is_rendered_from_the_baseline_and_the_status_text() {
        let p = preset("x", Some("{name}: {status}"), None);
        let mut s = state("Ann", Applied { preset: Some("x".into()), ..Default::default() }, Some(base()));
        if let Some(profile) = s.profile.as_mut() {
            profile.status_text = "Out &amp; about".into();
        }
        let first = plan(&s, Some(&p), Some(&p), false);
        assert_eq!(first.name, Some(NameOp::Set("Ann: Out & about".into())));
        // Once it shows, the same rendering plans nothing; a new status text plans one write.
        s.applied.name = Some("Ann: Out & about".into());
        if let Some(profile) = s.profile.as_mut() {
            profile.display_name = "Ann: Out & about".into();
        }
        assert_eq!(plan(&s, Some(&p), Some(&p), false), Plan::default());
        if let Some(profile) = s.profile.as_mut() {
            profile.status_text = "Back at 3".into();
        }
        assert_eq!(plan(&s, Some(&p), Some(&p), false).name, Some(NameOp::Set("Ann: Back at 3".into())));
    }

    #[test]
    fn an_unnoted_write_of_the_active_preset_is_noted_and_restored() {
        let active = preset("x", Some("Away"), None);
        let s = state("Away", Applied { preset: Some("x".into()), ..Default::default() }, Some(base()));
        let plan = plan(&s, None, Some(&active), false);
        assert_eq!(plan.noted_name.as_deref(), Some("Away"));
        assert_eq!(plan.name, Some(NameOp::Restore("Ann".into())));
    }

    fn refusal(emoji: &str, contents: &str, updated: u64, event_ts: &str) -> Refusal {
        Refusal { emoji: emoji.into(), contents: contents.into(), code: "x".into(), preset_updated_ms: updated, event_ts: event_ts.into() }
    }

    #[test]
    fn a_refused_write_is_not_tried_again_until_the_preset_or_the_status_changes() {
        let mut p = preset("x", Some("@Away"), Some("p1"));
        p.updated_ms = 7;
        let s = state("Ann", Applied { preset: Some("x".into()), ..Default::default() }, Some(base()));
        let both = plan(&s, Some(&p), Some(&p), false);
        assert_eq!(both.writes(), 2);
        let refused = Refusals { name: Some(refusal("x", "@Away", 7, "100.5")), photo: None };
        // The same status (a command's job, or the same event again): the name is skipped, the photo goes.
        for ts in ["", "100.5", "99.0"] {
            let kept = skip_refused(both.clone(), &refused, Some(&p), ts);
            assert_eq!((kept.name, kept.photo), (None, Some(PhotoOp::Upload("p1".into()))), "{ts}");
        }
        // A newer status change tries again.
        assert_eq!(skip_refused(both.clone(), &refused, Some(&p), "100.6"), both);
        // So do an edited preset, other contents, or another preset.
        let edited = Refusals { name: Some(refusal("x", "@Away", 6, "100.5")), photo: None };
        assert_eq!(skip_refused(both.clone(), &edited, Some(&p), ""), both);
        let other = Refusals { name: Some(refusal("x", "@Gone", 7, "100.5")), photo: Some(refusal("y", "p1", 7, "100.5")) };
        assert_eq!(skip_refused(both.clone(), &other, Some(&p), ""), both);
        // A refused photo is skipped the same way; restores are never skipped.
        let photo = Refusals { name: None, photo: Some(refusal("x", "p1", 7, "")) };
        assert_eq!(skip_refused(both.clone(), &photo, Some(&p), "").photo, None);
        assert!(skip_refused(both.clone(), &photo, Some(&p), "1.0").photo.is_some(), "an event is newer than a command");
        let restore =
            Plan { name: Some(NameOp::Restore("Ann".into())), photo: Some(PhotoOp::Restore("orig".into())), ..Default::default() };
        assert_eq!(skip_refused(restore.clone(), &refused, None, ""), restore);
    }

    #[test]
    fn each_refusal_code_has_its_own_advice() {
        use ProfileWrite::{Name, Photo};
        let rename = "Change it with `/sp add :palm_tree: New Name`.";
        let cases = [
            (Name, "invalid_starts_with_at", "names cannot start with @."),
            (Name, "name_not_allowed", "names cannot contain a link or a web address."),
            (Name, "reserved_name", "that name is reserved in your workspace."),
            (Name, "too_long", "names can be at most 80 characters."),
            (Name, "invalid_name_punctuation", "Slack doesn't accept some of its characters."),
            (Photo, "bad_image", "Slack couldn't read it as an image. Send another with `/sp photo :palm_tree:`."),
            (Photo, "too_large", "it is larger than Slack accepts. Send a smaller one with `/sp photo :palm_tree:`."),
            (Photo, "too_many_frames", "it has more animation frames than Slack accepts. Send a still image with `/sp photo :palm_tree:`."),
        ];
        for (write, code, want) in cases {
            let advice = refusal_advice("/sp", write, "palm_tree", code);
            assert!(advice.starts_with(want), "{code}: {advice}");
            assert_eq!(advice.ends_with(rename), write == Name, "{code}: {advice}");
        }
        for code in ["not_allowed", "profile_set_failed", "partial_profile_set_failed"] {
            let advice = refusal_advice("/sp", Name, "palm_tree", code);
            assert_eq!(advice, "your workspace manages names through SSO or Enterprise Grid; ask an admin to allow display-name changes.");
        }
        let m = refusal_message("/sp", Name, "palm_tree", Some("@x <!here>"), "invalid_starts_with_at");
        assert_eq!(
            m,
            ":warning: Slack refused the display name '@x &lt;!here&gt;' of your :palm_tree: preset (`invalid_starts_with_at`): names cannot start with @. Change it with `/sp add :palm_tree: New Name`."
        );
        let m = refusal_message("/sp", Photo, "car", None, "bad_image");
        assert!(m.starts_with(":warning: Slack refused the photo of your :car: preset (`bad_image`): Slack couldn't"), "{m}");
    }

    #[test]
    fn an_unnoted_upload_under_way_is_noted() {
        let active = preset("x", None, Some("p1"));
        let applied = Applied {
            preset: Some("x".into()),
            photo_echo: crate::store::PhotoEcho::Awaiting { before: None, extra: 0 },
            ..Default::default()
        };
        let plan = plan(&state("Ann", applied, Some(base())), None, Some(&active), false);
        assert_eq!(plan.noted_photo.as_deref(), Some("p1"));
        assert_eq!(plan.photo, Some(PhotoOp::Restore("orig".into())));
    }
}
