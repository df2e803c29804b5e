//! The preset commands: `list`, `add`, `photo` and `remove`, and a photo sent in a DM with
//! its preset's emoji in the message text.

use std::sync::Arc;

use super::reply::{Failure, Outcome, UserError, INTERNAL_PHOTO};
use crate::command;
use crate::context::Context;
use crate::members;
use crate::slack::types::File;
use crate::store::Design;

/// The longest `list` reply: Slack cuts a message's text at 40,000 characters and a long one is
/// hard to read anyway; past this the rest is summarised and the Home tab named.
const MAX_LIST_CHARS: usize = 4_000;

pub(super) fn list(ctx: &Context, member: &str) -> Outcome {
    let name = &ctx.config.command;
    let presets = ctx.store.presets_of(member)?;
    if presets.is_empty() {
        return Ok(format!("You have no presets yet. Add one with `{name} add :palm_tree: On vacation`.").into());
    }
    let mut out = String::from("Your presets:\n");
    let state = ctx.store.member(member)?;
    let cached = ctx.avatars.peek(member);
    for (shown, p) in presets.iter().enumerate() {
        let line = format!(
            "• :{}: → {}{}\n",
            p.emoji,
            p.name
                .as_deref()
                .map(|n| shown_name(n, members::preview_name(&state, cached.as_ref(), n)))
                .unwrap_or_else(|| "_your own name_".into()),
            photo_note(p.photo.is_some(), p.design.as_ref())
        );
        // Room is kept for the summary line, so the whole reply stays within the limit.
        if out.chars().count() + line.chars().count() > MAX_LIST_CHARS - 200 {
            let rest = presets.len() - shown;
            out.push_str(&format!(
                "…and {rest} more ({} in all): too many for one message. My App Home tab shows your presets with Edit and Delete.",
                presets.len()
            ));
            break;
        }
        out.push_str(&line);
    }
    Ok(out.into())
}

/// What `list` says after a preset's name about its photo.
pub(super) fn photo_note(uploaded: bool, design: Option<&Design>) -> &'static str {
    match (uploaded, design) {
        (true, _) => " (with photo)",
        (false, Some(Design::Badge)) => " (with an emoji badge)",
        (false, Some(Design::Frame { .. })) => " (with a frame)",
        (false, None) => "",
    }
}

/// A preset's name as `list` and `add` show it: the name as typed and, for a template, what it
/// shows now (`*{name} (OOO)* → Countess Ada ✨ (OOO)`).
fn shown_name(name: &str, preview: Option<String>) -> String {
    match preview {
        Some(now) => format!("*{}* → {}", command::escape(name), command::escape(&now)),
        None => format!("*{}*", command::escape(name)),
    }
}

pub(super) fn add(ctx: &Arc<Context>, member: &str, emoji: &str, display: &str) -> Outcome {
    let name = &ctx.config.command;
    let emoji = members::resolve_emoji(&ctx.member_deps(), emoji).map_err(UserError::Emoji)?;
    let display = command::validate_display_name(display).map_err(UserError::DisplayName)?;
    members::save_name(&ctx.member_deps(), member, &emoji, &display)?;
    refresh_home(ctx, member);
    let hint =
        if ctx.is_connected(member) { String::new() } else { format!("\nI can't change your profile yet: run `{name} connect` first.") };
    let preview = members::preview_name(&ctx.store.member(member)?, ctx.avatars.peek(member).as_ref(), &display);
    let shown = shown_name(&display, preview.map(|now| format!("{now} right now")));
    Ok(format!("Saved: when your status is :{emoji}: your display name becomes {shown}.{hint}").into())
}

/// From a slash command with a `trigger_id`, opens the upload form; otherwise (a DM, or Slack
/// sent no trigger) says to send the image by DM.
pub(super) fn photo(ctx: &Arc<Context>, member: &str, emoji: &str, trigger_id: Option<String>) -> Outcome {
    let emoji = members::resolve_emoji(&ctx.member_deps(), emoji).map_err(UserError::Emoji)?;
    let Some(trigger) = trigger_id else {
        return Ok(
            format!("Send me the image here in this DM, with :{emoji}: in the message text, and I'll use it for that preset.").into()
        );
    };
    let ctx2 = ctx.clone();
    let view = crate::slack::blocks::to_json(&crate::home::preset_modal(&ctx.store, member, Some(&emoji))).map_err(anyhow::Error::from)?;
    ctx.shutdown.track(async move {
        if let Err(e) = ctx2.slack.views_open(&trigger, &view).await {
            tracing::warn!(error = %e, "could not open the photo modal");
        }
    });
    Ok(format!("Opening a form to upload the photo for :{emoji}:…").into())
}

/// `photo :emoji: badge|frame COLOUR [LABEL]|none`: a photo drawn from the member's own at swap
/// time, or none (their own photo stays while the preset shows).
pub(super) fn photo_design(ctx: &Arc<Context>, member: &str, emoji: &str, design: Option<Design>) -> Outcome {
    let emoji = members::resolve_emoji(&ctx.member_deps(), emoji).map_err(UserError::Emoji)?;
    let described = describe_design(design.as_ref());
    members::save_design(&ctx.member_deps(), member, &emoji, design)?;
    refresh_home(ctx, member);
    let cmd = &ctx.config.command;
    let hint =
        if ctx.is_connected(member) { String::new() } else { format!("\nI can't change your profile yet: run `{cmd} connect` first.") };
    Ok(format!("Saved: when your status is :{emoji}: your photo {described}.{hint}").into())
}

/// What a generated photo choice does, finishing "your photo …".
pub(super) fn describe_design(design: Option<&Design>) -> String {
    match design {
        None => "stays your own (no photo for this preset)".to_string(),
        Some(Design::Badge) => "becomes your own photo with the status emoji in a white disc in the bottom-right corner".to_string(),
        Some(Design::Frame { colour, label: None }) => format!("becomes your own photo in a {colour} frame"),
        Some(Design::Frame { colour, label: Some(label) }) => {
            format!("becomes your own photo in a {colour} frame labelled *{}*", command::escape(label.as_str()))
        }
    }
}

pub(super) fn remove(ctx: &Arc<Context>, member: &str, emoji: &str) -> Outcome {
    let canonical = members::resolve_emoji(&ctx.member_deps(), emoji).unwrap_or_else(|_| crate::emoji::strip(emoji));
    if !members::remove(&ctx.member_deps(), member, &canonical)? {
        return Err(UserError::NoSuchPreset { emoji: canonical, command: ctx.config.command.clone() }.into());
    }
    refresh_home(ctx, member);
    Ok(format!("Removed your :{canonical}: preset.").into())
}

/// Republishes the member's App Home in the background.
pub(super) fn refresh_home(ctx: &Arc<Context>, member: &str) {
    let ctx = ctx.clone();
    let member = member.to_string();
    ctx.shutdown.clone().track(async move { crate::home::publish(&ctx.home_deps(), &member).await });
}

/// A DM with a file: the text names the preset's emoji. Answered in the DM once the photo is
/// fetched and processed.
pub(super) fn photo_by_dm(ctx: &Arc<Context>, member: &str, channel: &str, text: &str, files: &[File]) {
    let ctx = ctx.clone();
    let member = member.to_string();
    let channel = channel.to_string();
    let text = text.to_string();
    let file = files[0].clone();
    ctx.shutdown.clone().track(async move {
        let reply = match save_dm_photo(&ctx, &member, &text, &file).await {
            Ok(reply) => reply.text,
            Err(Failure::User(e)) => e.to_string(),
            Err(Failure::Internal(e)) => {
                tracing::error!(error = %e, "saving a photo failed");
                INTERNAL_PHOTO.into()
            }
        };
        if let Err(e) = ctx.slack.post_message(&channel, &reply, None).await {
            tracing::warn!(error = %e, "could not reply in the DM");
        }
        crate::home::publish(&ctx.home_deps(), &member).await;
    });
}

async fn save_dm_photo(ctx: &Context, member: &str, text: &str, file: &File) -> Outcome {
    let raw = first_emoji(text).ok_or_else(|| UserError::PhotoWithoutEmoji { command: ctx.config.command.clone() })?;
    let emoji = members::resolve_emoji(&ctx.member_deps(), &raw).map_err(UserError::Emoji)?;
    let processed = members::fetch_and_process(&ctx.member_deps(), file).await.map_err(UserError::Photo)?;
    members::save_photo(&ctx.member_deps(), member, &emoji, &processed).await?;
    Ok(format!("Saved the photo for :{emoji}:. It shows whenever your status is :{emoji}:.").into())
}

/// The first `:emoji:` in a message: a name between two colons ("10:30" and
/// URLs are not emoji); a skin-tone modifier is not an emoji of its own.
fn first_emoji(text: &str) -> Option<String> {
    let is_name = |s: &str| {
        !s.is_empty() && s.chars().count() <= 100 && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '\''))
    };
    let mut rest = text;
    while let Some(open) = rest.find(':') {
        let after = &rest[open + 1..];
        let close = after.find(':')?;
        let candidate = &after[..close];
        if is_name(candidate) && !candidate.starts_with("skin-tone-") {
            return Some(candidate.to_string());
        }
        // The closing colon may open the next emoji.
        rest = &after[close..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::first_emoji;

    #[test]
    fn finds_the_emoji_in_a_dm() {
        assert_eq!(first_emoji("for :palm_tree: please").as_deref(), Some("palm_tree"));
        assert_eq!(first_emoji(":+1::skin-tone-2:").as_deref(), Some("+1"));
        assert_eq!(first_emoji("no emoji here"), None);
        assert_eq!(first_emoji("time 10: 30"), None);
        assert_eq!(first_emoji("meet at 10:30"), None);
        assert_eq!(first_emoji("at 10:30 :palm_tree:").as_deref(), Some("palm_tree"));
        assert_eq!(first_emoji("see https://example.com/x :tada:").as_deref(), Some("tada"));
        assert_eq!(first_emoji(":skin-tone-2: :wave:").as_deref(), Some("wave"));
        assert_eq!(first_emoji("::"), None);
        assert_eq!(first_emoji(":palm_tree"), None);
    }
}
