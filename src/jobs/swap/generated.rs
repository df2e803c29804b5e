//! Generated preset photos at swap time (SPEC, "Preset photos without an upload"): a preset
//! whose photo is a [`Design`] gets it drawn here from the baseline captured for this swap, so it
//! follows the member's current photo (Slack's default avatar too), then uploaded like any preset
//! photo.
//!
//! The drawn photo is kept in the photos tree and named in `MemberState::rendered` by its inputs
//! (the photo drawn from, the design, the emoji image, the size): a swap with the same inputs
//! reuses it, so the same result is never drawn or uploaded twice. When it cannot be drawn (no
//! photo to start from, the emoji image unavailable) the member's own photo stays, they are told
//! once by DM, and nothing half-drawn is ever stored.

use crate::context::Context;
use crate::photo::PhotoLimits;
use crate::store::{Design, MemberState, Preset, Rendered};

/// `preset` with `photo` set to its generated photo's hash, drawn now or reused; when it cannot
/// be drawn, `photo` is None (the member's own photo stays) and the member hears why once.
/// `Err` only for the store (the job is tried again).
pub(super) async fn resolve(ctx: &Context, state: &MemberState, mut preset: Preset) -> anyhow::Result<Preset> {
    let Some(design) = preset.design.clone() else { return Ok(preset) };
    let member = preset.member.clone();
    match render(ctx, &member, state, &preset.emoji, &design).await? {
        Ok(hash) => {
            preset.photo = Some(hash);
            if state.render_failed.is_some() {
                ctx.store.update_member(&member, |m| m.render_failed = None)?;
            }
        }
        Err(why) => {
            tracing::warn!(why = %why, "the generated photo could not be drawn; the member's own photo stays");
            preset.photo = None;
            tell_once(ctx, &member, &preset.emoji, &why).await?;
        }
    }
    Ok(preset)
}

/// The member hears once per preset that its photo could not be drawn.
async fn tell_once(ctx: &Context, member: &str, emoji: &str, why: &str) -> anyhow::Result<()> {
    let told = ctx.store.modify_member(member, |m| {
        let told = m.render_failed.as_deref() == Some(emoji);
        m.render_failed = Some(emoji.to_string());
        told
    })?;
    if told {
        return Ok(());
    }
    let cmd = &ctx.config.command;
    let text = format!(
        ":warning: I couldn't draw the photo of your :{emoji}: preset ({why}), so your own photo stays. Your name still changes; `{cmd} photo :{emoji}:` can give it an uploaded photo instead."
    );
    if let Err(e) = ctx.slack.post_message(member, &text, None).await {
        tracing::warn!(error = %e, "could not tell the member the photo could not be drawn");
    }
    Ok(())
}

/// The hash of the generated photo, or a reason for the member why it cannot be drawn.
async fn render(ctx: &Context, member: &str, state: &MemberState, emoji: &str, design: &Design) -> anyhow::Result<Result<String, String>> {
    let Some(source) = source_photo(ctx, member, state).await? else {
        return Ok(Err("I have no copy of your own photo to draw it from".into()));
    };
    let emoji_image = match design {
        Design::Badge => match emoji_image(ctx, state, emoji).await? {
            Some(image) => Some(image),
            None => return Ok(Err(format!("the image of :{emoji}: is not available"))),
        },
        Design::Frame { .. } => None,
    };
    let limits = PhotoLimits::from(&ctx.config.images);
    let key = render_key(&source, design, emoji_image.as_deref(), limits.size)?;
    if let Some(r) = state.rendered.as_ref().filter(|r| r.key == key) {
        if ctx.store.photos.contains_key(r.hash.as_bytes())? {
            tracing::info!("generated photo reused (same photo, design and emoji)");
            return Ok(Ok(r.hash.clone()));
        }
    }
    let Some(base) = ctx.store.photo(&source)? else {
        return Ok(Err("your own photo is missing from my database".into()));
    };
    let drawn = crate::photo::generate::generate_async(design.clone(), base, emoji_image, limits, &ctx.photos).await;
    let processed = match drawn {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let hash = ctx.store.put_photo(&processed.bytes)?;
    tracing::info!("generated photo drawn");
    let rendered = Rendered { key, hash: hash.clone() };
    ctx.store.update_member(member, |m| m.rendered = Some(rendered.clone()))?;
    Ok(Ok(hash))
}

/// What the drawn photo depends on, hashed.
fn render_key(source: &str, design: &Design, emoji: Option<&[u8]>, size: u32) -> anyhow::Result<String> {
    let mut key = format!("{source}\n{}\n{size}\n", serde_json::to_string(design)?).into_bytes();
    key.extend_from_slice(emoji.map(crate::store::photo_hash).unwrap_or_default().as_bytes());
    Ok(crate::store::photo_hash(&key))
}

/// The hash of the photo to draw from: the baseline's own photo; for Slack's default avatar, the
/// one captured with the baseline, else (nothing of ours shows yet) the profile's current image,
/// downloaded the way the baseline capture does and kept with the baseline.
async fn source_photo(ctx: &Context, member: &str, state: &MemberState) -> anyhow::Result<Option<String>> {
    let Some(baseline) = state.baseline.as_ref() else { return Ok(None) };
    if let Some(h) = baseline.render_from() {
        return Ok(Some(h.to_string()));
    }
    if baseline.is_custom_image || state.applied.photo.is_some() {
        return Ok(None);
    }
    let Some(url) = state.profile.as_ref().and_then(|p| p.image_url.as_deref()) else {
        return Ok(None);
    };
    let Some(bytes) = crate::drawing::profile_photo(&ctx.slack, url, ctx.config.images.max_bytes).await else {
        return Ok(None);
    };
    let hash = ctx.store.put_photo(&bytes)?;
    ctx.store.update_member(member, |m| {
        if let Some(b) = m.baseline.as_mut() {
            b.default_photo = Some(hash.clone());
        }
    })?;
    Ok(Some(hash))
}

/// The status emoji's image bytes: from the profile's `status_emoji_display_info` URL or, for a
/// custom emoji, `emoji.list`'s (see [`crate::drawing::emoji_image`]).
async fn emoji_image(ctx: &Context, state: &MemberState, emoji: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let from_profile = state.profile.as_ref().and_then(|p| p.status_emoji_url.clone());
    let urls: Vec<String> = from_profile.into_iter().chain(ctx.emoji.image_url(emoji)).collect();
    Ok(crate::drawing::emoji_image(&ctx.store, &ctx.slack, urls).await?.map(|(_, bytes)| bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_render_key_changes_with_each_input() {
        let frame = Design::Frame { colour: "orange".parse().unwrap(), label: None };
        let base = render_key("photo1", &frame, None, 512).unwrap();
        assert_eq!(base, render_key("photo1", &frame, None, 512).unwrap());
        assert_ne!(base, render_key("photo2", &frame, None, 512).unwrap());
        assert_ne!(base, render_key("photo1", &Design::Badge, None, 512).unwrap());
        assert_ne!(base, render_key("photo1", &frame, None, 1024).unwrap());
        let badge = render_key("photo1", &Design::Badge, Some(b"emoji a"), 512).unwrap();
        assert_ne!(badge, render_key("photo1", &Design::Badge, Some(b"emoji b"), 512).unwrap());
    }
}
