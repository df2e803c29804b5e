//! Commands from `/status-preset` and from DMs: one grammar
//! ([`crate::command`]), one implementation, two ways to answer — the slash
//! command's ephemeral ack payload, or a message in the DM.

pub(crate) mod connect;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::command::{self, Command};
use crate::context::Context;
use crate::jobs::budget;
use crate::members;
use crate::slack::events::SlashCommand;
use crate::slack::types::File;
use crate::socket::Envelope;
use crate::store::now_ms;

/// Where a command came from, so the answer goes back the same way.
pub enum Origin {
    Slash { trigger_id: Option<String> },
    Dm { channel: String },
}

pub async fn slash(ctx: &Arc<Context>, env: &Envelope) -> anyhow::Result<Option<Value>> {
    let cmd: SlashCommand = match serde_json::from_value(env.payload.clone()) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "skipping a slash command we cannot read");
            return Ok(None);
        }
    };
    let Some(member) = cmd.user_id.clone() else { return Ok(None) };
    tracing::info!(member = %member, "slash command");
    let reply = match rate_limit(ctx, &member)? {
        Some(limited) => limited,
        None => Some(execute(ctx, &member, &cmd.text, Origin::Slash { trigger_id: cmd.trigger_id.clone() }, &[]).await?),
    };
    let Some(text) = reply else { return Ok(None) };
    if env.accepts_response_payload {
        return Ok(Some(json!({ "response_type": "ephemeral", "text": text })));
    }
    // No payload allowed in the ack: answer through the response URL instead.
    if let Some(url) = cmd.response_url.clone() {
        let ctx = ctx.clone();
        ctx.shutdown.clone().track(async move {
            if let Err(e) = ctx.slack.respond(&url, &json!({ "response_type": "ephemeral", "text": text })).await {
                tracing::warn!(error = %e, "could not answer through response_url");
            }
        });
    }
    Ok(None)
}

pub async fn dm(ctx: &Arc<Context>, member: &str, channel: &str, text: &str, files: &[File]) -> anyhow::Result<()> {
    let reply = match rate_limit(ctx, member)? {
        Some(limited) => limited,
        None if !files.is_empty() => {
            photo_by_dm(ctx, member, channel, text, files);
            None
        }
        None => Some(execute(ctx, member, text, Origin::Dm { channel: channel.to_string() }, files).await?),
    };
    if let Some(reply) = reply {
        post(ctx, channel, reply);
    }
    Ok(())
}

fn post(ctx: &Arc<Context>, channel: &str, text: String) {
    let ctx = ctx.clone();
    let channel = channel.to_string();
    ctx.shutdown.clone().track(async move {
        if let Err(e) = ctx.slack.post_message(&channel, &text, None).await {
            tracing::warn!(error = %e, "could not reply in the DM");
        }
    });
}

/// Over the member's command budget: one polite notice per window, then silence.
/// `Ok(None)` means go ahead; `Ok(Some(reply))` means stop here with that reply.
fn rate_limit(ctx: &Context, member: &str) -> anyhow::Result<Option<Option<String>>> {
    let limit = ctx.config.limits.commands_per_minute;
    if budget::try_take(&ctx.store, &budget::command_key(member), limit)? {
        return Ok(None);
    }
    let now = now_ms();
    let first = ctx.store.modify_member(member, |m| {
        let first = now.saturating_sub(m.last_limit_notice_ms) >= budget::WINDOW_MS;
        if first {
            m.last_limit_notice_ms = now;
        }
        first
    })?;
    tracing::info!(member, notice = first, "command rate limit reached");
    Ok(Some(
        first.then(|| format!("You're sending commands faster than I take them ({limit} a minute). Please wait a minute and try again.")),
    ))
}

/// A DM with a file: the text names the preset's emoji.
fn photo_by_dm(ctx: &Arc<Context>, member: &str, channel: &str, text: &str, files: &[File]) {
    let ctx = ctx.clone();
    let member = member.to_string();
    let channel = channel.to_string();
    let text = text.to_string();
    let file = files[0].clone();
    ctx.shutdown.clone().track(async move {
        let reply = photo_reply(&ctx, &member, &text, &file).await;
        if let Err(e) = ctx.slack.post_message(&channel, &reply, None).await {
            tracing::warn!(error = %e, "could not reply in the DM");
        }
        crate::home::publish(&ctx.home_deps(), &member).await;
    });
}

async fn photo_reply(ctx: &Context, member: &str, text: &str, file: &File) -> String {
    let cmd = &ctx.config.command;
    let Some(raw) = first_emoji(text) else {
        return format!("Which preset is this photo for? Send it again with the emoji in the message, like `:palm_tree:`. (`{cmd} help` lists what I can do.)");
    };
    let emoji = match members::resolve_emoji(&ctx.member_deps(), &raw) {
        Ok(e) => e,
        Err(msg) => return msg,
    };
    match members::fetch_and_process(&ctx.member_deps(), file).await {
        Err(msg) => format!("{msg} Your presets are unchanged."),
        Ok(processed) => match members::save_photo(&ctx.member_deps(), member, &emoji, &processed).await {
            Ok(_) => format!("Saved the photo for :{emoji}:. It shows whenever your status is :{emoji}:."),
            Err(e) => {
                tracing::error!(error = %e, "saving a photo failed");
                "Something went wrong saving that photo; please try again.".into()
            }
        },
    }
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

/// Runs one command for `member` and returns the reply (None: nothing to say).
pub async fn execute(ctx: &Arc<Context>, member: &str, text: &str, origin: Origin, _files: &[File]) -> anyhow::Result<String> {
    let name = &ctx.config.command;
    // In a DM members type the words alone, so help shows them without the slash command.
    let usage_name = if matches!(origin, Origin::Dm { .. }) { "" } else { name.as_str() };
    let cmd = match command::parse(text) {
        Ok(c) => c,
        Err(e) => return Ok(e.render(usage_name)),
    };
    if cmd.is_admin() && !ctx.is_admin(member) {
        return Ok("Only the bot's admins can use that command.".into());
    }
    let reply = match cmd {
        Command::Help => command::usage(usage_name),
        Command::List => list_text(ctx, member)?,
        Command::Add { emoji, name: display } => {
            let emoji = match members::resolve_emoji(&ctx.member_deps(), &emoji) {
                Ok(e) => e,
                Err(msg) => return Ok(msg),
            };
            let display = match command::validate_display_name(&display) {
                Ok(d) => d,
                Err(msg) => return Ok(msg),
            };
            members::save_name(&ctx.member_deps(), member, &emoji, &display)?;
            refresh_home(ctx, member);
            let hint = if ctx.is_connected(member) {
                String::new()
            } else {
                format!("\nI can't change your profile yet: run `{name} connect` first.")
            };
            format!("Saved: when your status is :{emoji}: your display name becomes *{}*.{hint}", command::escape(&display))
        }
        Command::Photo { emoji } => {
            let emoji = match members::resolve_emoji(&ctx.member_deps(), &emoji) {
                Ok(e) => e,
                Err(msg) => return Ok(msg),
            };
            match origin {
                Origin::Slash { trigger_id: Some(trigger) } => {
                    let ctx2 = ctx.clone();
                    let view = crate::slack::blocks::to_json(&crate::home::preset_modal(&ctx.store, member, Some(&emoji)))?;
                    ctx.shutdown.track(async move {
                        if let Err(e) = ctx2.slack.views_open(&trigger, &view).await {
                            tracing::warn!(error = %e, "could not open the photo modal");
                        }
                    });
                    format!("Opening a form to upload the photo for :{emoji}:…")
                }
                _ => format!("Send me the image here in this DM, with :{emoji}: in the message text, and I'll use it for that preset."),
            }
        }
        Command::Remove { emoji } => {
            let canonical = members::resolve_emoji(&ctx.member_deps(), &emoji).unwrap_or_else(|_| crate::emoji::strip(&emoji));
            if members::remove(&ctx.member_deps(), member, &canonical)? {
                refresh_home(ctx, member);
                format!("Removed your :{canonical}: preset.")
            } else {
                format!("You have no preset for :{canonical}:. `{name} list` shows yours.")
            }
        }
        Command::Pause => {
            members::set_paused(&ctx.member_deps(), member, true)?;
            refresh_home(ctx, member);
            format!(
                "Paused: I won't change your profile until you `{name} resume`. (`{name} restore` puts your own name and photo back now.)"
            )
        }
        Command::Resume => {
            members::set_paused(&ctx.member_deps(), member, false)?;
            refresh_home(ctx, member);
            "Resumed: your status drives your name and photo again.".into()
        }
        Command::Restore => {
            if !ctx.is_connected(member) {
                format!("I can't change your profile: run `{name} connect` first.")
            } else if members::restore(&ctx.member_deps(), member)? {
                "Putting your own name and photo back now.".into()
            } else {
                "Your profile is already your own: I haven't changed it.".into()
            }
        }
        Command::Status => status_text(ctx, member)?,
        Command::Connect { code } => connect::connect(ctx, member, code.as_deref()).await,
        Command::Disconnect => connect::disconnect(ctx, member),
        Command::Stats => stats_text(ctx)?,
        Command::Purge { member: who } => {
            if ctx.avatars.purge(&who) {
                format!("Dropped the cached profile of <@{who}>.")
            } else {
                format!("I had no cached profile for <@{who}>.")
            }
        }
    };
    Ok(reply)
}

/// The longest `list` reply: Slack cuts a message's text at 40,000 characters and a long one is
/// hard to read anyway; past this the rest is summarised and the Home tab named.
const MAX_LIST_CHARS: usize = 4_000;

fn list_text(ctx: &Context, member: &str) -> anyhow::Result<String> {
    let name = &ctx.config.command;
    let presets = ctx.store.presets_of(member)?;
    if presets.is_empty() {
        return Ok(format!("You have no presets yet. Add one with `{name} add :palm_tree: On vacation`."));
    }
    let mut out = String::from("Your presets:\n");
    for (shown, p) in presets.iter().enumerate() {
        let line = format!(
            "• :{}: → {}{}\n",
            p.emoji,
            p.name.as_deref().map(|n| format!("*{}*", command::escape(n))).unwrap_or_else(|| "_your own name_".into()),
            if p.photo.is_some() { " (with photo)" } else { "" }
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
    Ok(out)
}

fn refresh_home(ctx: &Arc<Context>, member: &str) {
    let ctx = ctx.clone();
    let member = member.to_string();
    ctx.shutdown.clone().track(async move { crate::home::publish(&ctx.home_deps(), &member).await });
}

fn status_text(ctx: &Context, member: &str) -> anyhow::Result<String> {
    let state = ctx.store.member(member)?;
    let presets = ctx.store.presets_of(member)?.len();
    let mut out = String::new();
    out.push_str(if ctx.is_connected(member) { "• Connected: yes\n" } else { "• Connected: no\n" });
    out.push_str(if state.paused { "• Paused: yes\n" } else { "• Paused: no\n" });
    match &state.applied.preset {
        Some(e) => out.push_str(&format!("• Active preset: :{e}:\n")),
        None => out.push_str("• Active preset: none (your own name and photo)\n"),
    }
    out.push_str(&format!("• Presets: {presets}\n"));
    match crate::store::queue::pending(&ctx.store, member) {
        Some(job) => {
            let what = match &job.desired {
                crate::store::Desired::Preset { emoji } => format!("switch to :{emoji}:"),
                crate::store::Desired::Baseline => "restore your own name and photo".into(),
            };
            let err = job.last_error.map(|e| format!(" (last try: {e})")).unwrap_or_default();
            out.push_str(&format!("• Pending: {what}{err}\n"));
        }
        None => out.push_str("• Pending: nothing\n"),
    }
    let dead = ctx.store.dead.scan_prefix(crate::store::member_prefix(member))?;
    if let Some((_, d)) = dead.last() {
        out.push_str(&format!("• Last failure: {}\n", d.reason));
    }
    Ok(out)
}

fn stats_text(ctx: &Context) -> anyhow::Result<String> {
    let s = &ctx.store;
    Ok(format!(
        "• Members with presets: {}\n• Presets: {}\n• Queue depth: {}\n• Dead letters: {}\n• Emoji cache: {} entries, {} hits / {} misses\n• Avatar cache: {} entries, {} hits / {} misses\n• Socket connections: {}\n• Database size: {} KB",
        s.members_with_presets()?,
        s.presets.len(),
        s.queue.len(),
        s.dead.len(),
        ctx.emoji.len(),
        ctx.emoji.hits(),
        ctx.emoji.misses(),
        ctx.avatars.len(),
        ctx.avatars.hits(),
        ctx.avatars.misses(),
        ctx.socket.connected.load(std::sync::atomic::Ordering::Relaxed),
        s.size_on_disk() / 1024,
    ))
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
