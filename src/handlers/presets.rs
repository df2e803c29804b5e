//! Preset operations shared by slash commands, DMs and App Home: every change
//! to a member's presets goes through here, so each surface behaves the same
//! and the engine hears about it (a preset edited while active is re-applied;
//! one removed while active restores the baseline).

use crate::context::Context;
use crate::jobs;
use crate::photo::{PhotoLimits, Processed};
use crate::slack::types::File;
use crate::store::{now_ms, Desired, Preset};

/// The canonical emoji for what a member typed, or a sentence saying why not.
pub fn resolve_emoji(ctx: &Context, raw: &str) -> Result<String, String> {
    let shown = crate::emoji::strip(raw);
    ctx.emoji
        .canonical_or_unverified(raw)
        .ok_or_else(|| format!("I don't know the emoji :{shown}: — it is neither a standard emoji nor one of this workspace's."))
}

/// Creates or renames a preset.
pub fn save_name(ctx: &Context, member: &str, emoji: &str, name: &str) -> anyhow::Result<Preset> {
    let mut p = ctx.store.preset(member, emoji)?.unwrap_or_else(|| Preset::new(member, emoji));
    p.name = Some(name.to_string());
    p.updated_ms = now_ms();
    ctx.store.put_preset(&p)?;
    reapply_if_active(ctx, member, emoji)?;
    Ok(p)
}

/// Makes a preset photo-only: the member's own name stays while it is active.
pub fn clear_name(ctx: &Context, member: &str, emoji: &str) -> anyhow::Result<()> {
    let Some(mut p) = ctx.store.preset(member, emoji)? else { return Ok(()) };
    if p.name.is_none() {
        return Ok(());
    }
    p.name = None;
    p.updated_ms = now_ms();
    ctx.store.put_preset(&p)?;
    reapply_if_active(ctx, member, emoji)
}

/// Gives a preset a processed photo (creating the preset if needed).
///
/// On disk before it returns: photos are saved after the envelope's ack (downloading and
/// processing take longer than Slack waits), so the member's "Saved" must not outrun the flush.
pub async fn save_photo(ctx: &Context, member: &str, emoji: &str, processed: &Processed) -> anyhow::Result<Preset> {
    let hash = ctx.store.put_photo(&processed.bytes)?;
    let mut p = ctx.store.preset(member, emoji)?.unwrap_or_else(|| Preset::new(member, emoji));
    p.photo = Some(hash);
    p.updated_ms = now_ms();
    ctx.store.put_preset(&p)?;
    reapply_if_active(ctx, member, emoji)?;
    ctx.store.flush().await?;
    Ok(p)
}

/// Deletes a preset; restores the baseline if it was the one in force.
pub fn remove(ctx: &Context, member: &str, emoji: &str) -> anyhow::Result<bool> {
    let removed = ctx.store.remove_preset(member, emoji)?.is_some();
    if removed {
        let state = ctx.store.member(member)?;
        if state.applied.preset.as_deref() == Some(emoji)
            || ctx.store.queue.get(member)?.is_some_and(|j| j.desired == Desired::Preset { emoji: emoji.into() })
        {
            jobs::enqueue(ctx, member, Desired::Baseline, "", None, false)?;
        }
        let _ = ctx.store.collect_photos();
    }
    Ok(removed)
}

/// When the member's current status uses this preset, apply its new contents.
fn reapply_if_active(ctx: &Context, member: &str, emoji: &str) -> anyhow::Result<()> {
    let state = ctx.store.member(member)?;
    // Before a member's first preset the engine ignored their events, so the
    // status they already wear is only in the avatar cache.
    let status = match (&state.status_emoji, &state.last_event_ts) {
        (None, None) => ctx.avatars.peek(member).and_then(|p| p.status_emoji).and_then(|s| ctx.emoji.canonical_or_unverified(&s)),
        (s, _) => s.clone(),
    };
    if !state.paused && status.as_deref() == Some(emoji) && ctx.is_connected(member) {
        jobs::enqueue(ctx, member, Desired::Preset { emoji: emoji.into() }, "", None, false)?;
    }
    Ok(())
}

pub fn set_paused(ctx: &Context, member: &str, paused: bool) -> anyhow::Result<()> {
    ctx.store.update_member(member, |m| m.paused = paused)?;
    if paused {
        crate::store::queue::keep_only_forced(&ctx.store, member)?;
    } else if ctx.is_connected(member) {
        let state = ctx.store.member(member)?;
        let desired = super::events::desired_for(ctx, member, state.status_emoji.as_deref())?;
        let already = match &desired {
            Desired::Baseline => state.applied.preset.is_none(),
            Desired::Preset { emoji } => state.applied.preset.as_deref() == Some(emoji.as_str()),
        };
        if !already {
            jobs::enqueue(ctx, member, desired, "", None, false)?;
        }
    }
    Ok(())
}

/// Queues a forced return to the baseline.
pub fn restore(ctx: &Context, member: &str) -> anyhow::Result<bool> {
    let state = ctx.store.member(member)?;
    if state.baseline.is_none() {
        return Ok(false);
    }
    jobs::enqueue(ctx, member, Desired::Baseline, "", None, true)?;
    Ok(true)
}

/// The member's token was revoked: stop their work (dead-lettered with the
/// reason) and never use the token again.
pub fn revoke(ctx: &Context, member: &str, reason: &str) -> anyhow::Result<()> {
    if ctx.store.tokens.mark_disconnected(member, reason)? {
        tracing::warn!(member, reason, "member disconnected");
    }
    if let Some(job) = crate::store::queue::take(&ctx.store, member)? {
        crate::store::queue::dead_letter(&ctx.store, &job, reason)?;
    }
    Ok(())
}

/// Fetches a Slack file shared with the bot and runs it through the pipeline.
/// Errors are sentences for the member.
pub async fn fetch_and_process(ctx: &Context, file: &File) -> Result<Processed, String> {
    let file = match (file.download_url(), file.id.as_deref()) {
        (Some(_), _) => file.clone(),
        (None, Some(id)) => ctx.slack.files_info(id).await.map_err(|e| format!("I couldn't read that file from Slack ({e})."))?,
        (None, None) => return Err("I couldn't find the file in your message.".into()),
    };
    let Some(url) = file.download_url() else {
        return Err("Slack didn't give me a way to download that file.".into());
    };
    if file.size.is_some_and(|s| s as usize > ctx.config.images.max_bytes) {
        let mb = file.size.unwrap_or(0) as f64 / (1024.0 * 1024.0);
        return Err(format!("That file is {mb:.1} MB; photos can be at most {} MB.", ctx.config.images.max_bytes / (1024 * 1024)));
    }
    let bytes = match ctx.slack.download(url, true, ctx.config.images.max_bytes).await {
        Ok(b) => b,
        Err(crate::slack::ApiError::TooLarge(_)) => {
            return Err(format!("That file is larger than {} MB, the most a photo can be.", ctx.config.images.max_bytes / (1024 * 1024)))
        }
        Err(e) => return Err(format!("I couldn't download that file ({e}).")),
    };
    crate::photo::process_async(bytes, PhotoLimits::from(&ctx.config.images), &ctx.photos).await.map_err(|e| e.to_string())
}
