//! Events API handlers: `user_change` drives the swap engine; DMs carry
//! commands and photos; `app_home_opened` publishes the Home tab;
//! `emoji_changed` keeps the emoji cache current; revocations disconnect.

use std::sync::Arc;

use serde_json::Value;

use crate::context::Context;
use crate::members;
use crate::slack::events::{parse_event, read_callback, Event, MessageEvent};
use crate::slack::types::User;
use crate::socket::Envelope;

/// An `events_api` envelope read, and not done with by [`triage`]: what [`handle`] takes.
pub(crate) struct Triaged {
    event_time: Option<i64>,
    event: Event,
}

/// Reads an `events_api` payload and does at once what needs no dedupe, because doing it twice
/// changes nothing: skipping what we cannot read or do not use, and a profile change of a
/// member the swap engine does not follow (the profile cache only; most `user_change` events of
/// a workspace are these). `None`: done, ack it. Anything else the dispatcher dedupes and hands
/// to [`handle`].
pub(crate) fn triage(ctx: &Context, env: &Envelope) -> anyhow::Result<Option<Triaged>> {
    // Read in place: the envelope's payload is parsed once, by the socket layer, and not copied.
    let (event_time, event) = match read_callback(&env.payload) {
        Ok(parts) => parts,
        Err(e) => {
            tracing::warn!(error = %e, "skipping an events_api payload we cannot read");
            return Ok(None);
        }
    };
    let event = match parse_event(&event) {
        Ok(ev) => ev,
        Err(e) => {
            tracing::warn!(error = %e, "skipping an event we cannot read");
            return Ok(None);
        }
    };
    match event {
        Event::UserChange(uc) => {
            let (Some(member), Some(profile)) = (uc.user.id.as_deref(), uc.user.profile.as_ref()) else { return Ok(None) };
            if !members::engaged(&ctx.store, member)? {
                members::observe_unengaged(&ctx.member_deps(), member, profile)?;
                return Ok(None);
            }
            Ok(Some(Triaged { event_time, event: Event::UserChange(uc) }))
        }
        Event::Other(kind) => {
            tracing::debug!(kind, "ignoring an event type we do not use");
            Ok(None)
        }
        event => Ok(Some(Triaged { event_time, event })),
    }
}

/// Handles an event [`triage`] left, once (the dispatcher has recorded its delivery).
pub(crate) async fn handle(ctx: &Arc<Context>, env: &Envelope, triaged: Triaged) -> anyhow::Result<Option<Value>> {
    let Triaged { event_time, event } = triaged;
    // Whether this event changed something that must survive a crash once acked.
    let mut durable = true;
    match event {
        Event::UserChange(uc) => {
            let ts = uc.event_ts.clone().or_else(|| event_time.map(|t| t.to_string())).unwrap_or_default();
            // Most profile changes are members without presets: nothing queued, nothing to
            // flush, so the ack does not wait for the disk (re-handling one is harmless).
            durable = on_user_change(ctx, &uc.user, &ts, Some(&env.envelope_id))?;
        }
        Event::AppHomeOpened(h) => {
            durable = false;
            if let Some(user) = h.user.filter(|_| h.tab.as_deref().is_none_or(|t| t == "home")) {
                let ctx = ctx.clone();
                ctx.shutdown.clone().track(async move { crate::home::publish(&ctx.home_deps(), &user).await });
            }
        }
        // Boxed: a DM's future (commands, photos) is large; a profile change's stays small.
        Event::Message(m) => Box::pin(on_message(ctx, m)).await?,
        Event::EmojiChanged(raw) => {
            if crate::emoji::wants_reload(&raw) {
                let ctx = ctx.clone();
                ctx.shutdown.clone().track(async move { crate::emoji::cache::refresh_emoji(&ctx.slack, &ctx.emoji).await });
            } else if let Err(e) = ctx.emoji.apply_change(&raw).and_then(|()| rename_presets(ctx, &raw)) {
                tracing::warn!(error = %e, "could not apply an emoji change; reloading the list");
                let ctx = ctx.clone();
                ctx.shutdown.clone().track(async move { crate::emoji::cache::refresh_emoji(&ctx.slack, &ctx.emoji).await });
            }
        }
        Event::TokensRevoked(t) => {
            for member in t.tokens.map(|t| t.oauth).unwrap_or_default() {
                crate::members::revoke(&ctx.member_deps(), &member, "token_revoked")?;
            }
        }
        Event::AppUninstalled => {
            tracing::warn!("the app was uninstalled from the workspace: every member is now disconnected");
            for (k, _) in ctx.store.tokens.iter()? {
                crate::members::revoke(&ctx.member_deps(), &String::from_utf8_lossy(&k), "app_uninstalled")?;
            }
        }
        Event::Other(_) => durable = false,
    }
    // The ack follows as soon as this returns: what was written must be on disk by
    // then, or a kill -9 in the next half second would lose acknowledged work.
    if durable {
        ctx.store.flush().await?;
    }
    Ok(None)
}

/// A member's profile changed (their status, or our own write echoing back):
/// record what it shows and queue their newest desired state. Returns whether
/// a job was queued (the caller makes it durable before acking).
pub fn on_user_change(ctx: &Context, user: &User, event_ts: &str, envelope_id: Option<&str>) -> anyhow::Result<bool> {
    let (Some(member), Some(profile)) = (user.id.as_deref(), user.profile.as_ref()) else { return Ok(false) };
    let seen = members::observe(&ctx.member_deps(), member, profile, event_ts, envelope_id)?;
    if seen.coalesced {
        ctx.telemetry.swaps.inc("coalesced");
    }
    Ok(seen.queued)
}

/// A renamed custom emoji keeps its presets (the members' and the team's): they move to the new name.
fn rename_presets(ctx: &Context, event: &Value) -> anyhow::Result<()> {
    let ev = event.get("event").unwrap_or(event);
    if ev.get("subtype").and_then(Value::as_str) != Some("rename") {
        return Ok(());
    }
    let (Some(old), Some(new)) = (ev.get("old_name").and_then(Value::as_str), ev.get("new_name").and_then(Value::as_str)) else {
        return Ok(());
    };
    if crate::store::team::rename(&ctx.store, old, new)? {
        // The members showing it: their applied state names the emoji it moved to.
        for (k, m) in ctx.store.members.iter()? {
            if m.applied.team && m.applied.preset.as_deref() == Some(old) {
                ctx.store.update_member(&String::from_utf8_lossy(&k), |m| m.applied.preset = Some(new.to_string()))?;
            }
        }
    }
    for (_, p) in ctx.store.presets.iter()? {
        if p.emoji == old && ctx.store.preset(&p.member, new)?.is_none() {
            let mut moved = p.clone();
            moved.emoji = new.to_string();
            ctx.store.put_preset(&moved)?;
            ctx.store.remove_preset(&p.member, old)?;
            ctx.store.update_member(&p.member, |m| {
                if m.applied.preset.as_deref() == Some(old) {
                    m.applied.preset = Some(new.to_string());
                }
            })?;
        }
    }
    Ok(())
}

async fn on_message(ctx: &Arc<Context>, m: MessageEvent) -> anyhow::Result<()> {
    if m.is_from_bot() || !m.is_dm() {
        return Ok(());
    }
    let (Some(user), Some(channel)) = (m.user.clone(), m.channel.clone()) else { return Ok(()) };
    if user == ctx.identity.bot_user_id {
        return Ok(());
    }
    if !matches!(m.subtype.as_deref(), None | Some("file_share")) {
        return Ok(());
    }
    super::commands::dm(ctx, &user, &channel, m.text.as_deref().unwrap_or(""), &m.files).await
}
