//! The team family: `team add`, `team photo`, `team remove`, `team list`, `team on` and
//! `team off`. Team presets are the workspace presets the admins keep (`store::team`); the root
//! refuses `add`, `photo` and `remove` to anyone else before routing here, while `list`, `on`
//! and `off` are every member's. Which preset shows (own, team or none) is decided in
//! `members::preset_for`; a change here re-evaluates the members it affects
//! (`members::team_changed`).

use std::sync::Arc;

use super::presets::refresh_home;
use super::reply::{Failure, Outcome, UserError, INTERNAL_PHOTO};
use super::Origin;
use crate::command::{self, TeamCommand};
use crate::context::Context;
use crate::members;
use crate::slack::types::File;
use crate::store::{Design, PhotoSource};

/// Runs one `team …` command for `member` (the root has checked who may).
pub(super) fn run(ctx: &Arc<Context>, member: &str, cmd: TeamCommand, origin: Origin) -> Outcome {
    match cmd {
        TeamCommand::Add { emoji, name } => add(ctx, member, &emoji, &name),
        TeamCommand::Photo { emoji } => photo(ctx, &emoji, origin),
        TeamCommand::PhotoDesign { emoji, design } => photo_design(ctx, member, &emoji, design),
        TeamCommand::Remove { emoji } => remove(ctx, &emoji),
        TeamCommand::List => list(ctx, member),
        TeamCommand::On => switch(ctx, member, false),
        TeamCommand::Off => switch(ctx, member, true),
    }
}

/// " Updating the 3 members showing it now." (nothing when none).
fn updating(queued: usize) -> String {
    match queued {
        0 => String::new(),
        1 => " Updating the 1 member it applies to now.".into(),
        n => format!(" Updating the {n} members it applies to now."),
    }
}

fn add(ctx: &Arc<Context>, by: &str, emoji: &str, display: &str) -> Outcome {
    let cmd = &ctx.config.command;
    let emoji = members::resolve_emoji(&ctx.member_deps(), emoji).map_err(UserError::Emoji)?;
    let display = command::validate_display_name(display).map_err(UserError::DisplayName)?;
    let queued = members::save_team_name(&ctx.member_deps(), by, &emoji, &display)?;
    refresh_home(ctx, by);
    Ok(format!(
        "Saved the team preset: while a member's status is :{emoji}: their display name becomes *{}*, unless they have their own :{emoji}: preset or ran `{cmd} team off`.{}",
        command::escape(&display),
        updating(queued)
    )
    .into())
}

/// An uploaded photo: from a slash command with a `trigger_id`, the upload form
/// ([`crate::home::team_photo_modal`], saved by `interactive`); otherwise an image attached to a
/// DM whose text is the command ([`save_photo_then_tell`]), which the command alone explains.
/// The generated forms come as arguments ([`photo_design`]).
fn photo(ctx: &Arc<Context>, emoji: &str, origin: Origin) -> Outcome {
    let emoji = members::resolve_emoji(&ctx.member_deps(), emoji).map_err(UserError::Emoji)?;
    let send = |place: &str| {
        format!("Send me the image {place} with `team photo :{emoji}:` as the message text, and I'll use it for the team :{emoji}: preset.")
    };
    let Origin::Slash { trigger_id: Some(trigger) } = origin else {
        let place = if matches!(origin, Origin::Dm) { "here" } else { "in a DM" };
        return Ok(send(place).into());
    };
    let view = crate::slack::blocks::to_json(&crate::home::team_photo_modal(&emoji)).map_err(anyhow::Error::from)?;
    let ctx2 = ctx.clone();
    ctx.shutdown.track(async move {
        if let Err(e) = ctx2.slack.views_open(&trigger, &view).await {
            tracing::warn!(error = %e, "could not open the team photo modal");
        }
    });
    Ok(format!("Opening a form to upload the photo of the team :{emoji}: preset…").into())
}

/// `team photo :emoji: badge|frame …|none`: the team preset's photo drawn from each member's own.
fn photo_design(ctx: &Arc<Context>, by: &str, emoji: &str, design: Option<Design>) -> Outcome {
    let emoji = members::resolve_emoji(&ctx.member_deps(), emoji).map_err(UserError::Emoji)?;
    let described = super::presets::describe_design(design.as_ref()).replace("your own", "the member's own");
    let source = design.map_or(PhotoSource::None, PhotoSource::Generated);
    let queued = members::save_team_photo_source(&ctx.member_deps(), by, &emoji, source)?;
    refresh_home(ctx, by);
    Ok(format!("Saved the team preset: while a member's status is :{emoji}: their photo {described}.{}", updating(queued)).into())
}

fn remove(ctx: &Arc<Context>, emoji: &str) -> Outcome {
    let canonical = members::resolve_emoji(&ctx.member_deps(), emoji).unwrap_or_else(|_| crate::emoji::strip(emoji));
    let Some(queued) = members::remove_team(&ctx.member_deps(), &canonical)? else {
        return Err(UserError::NoSuchTeamPreset { emoji: canonical, command: ctx.config.command.clone() }.into());
    };
    Ok(format!("Removed the team :{canonical}: preset.{}", updating(queued)).into())
}

fn list(ctx: &Context, member: &str) -> Outcome {
    let cmd = &ctx.config.command;
    let team = crate::store::team::all(&ctx.store)?;
    if team.is_empty() {
        return Ok("There are no team presets. The bot's admins add them with `team add :emoji: Display Name`.".into());
    }
    let off = ctx.store.member(member)?.team_off;
    let mut out = String::from("Team presets (kept by the admins):\n");
    for p in &team {
        let own = ctx.store.preset(member, &p.emoji)?.is_some();
        out.push_str(&format!(
            "• :{}: → {}{}{}\n",
            p.emoji,
            p.name.as_deref().map(|n| format!("*{}*", command::escape(n))).unwrap_or_else(|| "_the member's own name_".into()),
            super::presets::photo_note(p.photo.is_some(), p.design.as_ref()),
            if own { " — your own :".to_string() + &p.emoji + ": preset takes its place" } else { String::new() }
        ));
    }
    out.push_str(&if off {
        format!("They are *off* for you: `{cmd} team on` turns them back on.")
    } else {
        format!("They apply to you where you have no preset of your own; `{cmd} team off` turns them off for you.")
    });
    Ok(out.into())
}

fn switch(ctx: &Arc<Context>, member: &str, off: bool) -> Outcome {
    let cmd = &ctx.config.command;
    members::set_team_off(&ctx.member_deps(), member, off)?;
    refresh_home(ctx, member);
    Ok(if off {
        format!("Team presets are off for you: only your own presets change your profile. (`{cmd} team on` turns them back on.)")
    } else {
        format!("Team presets are on for you: they show when your status matches one and you have no preset of your own for it. (`{cmd} team off` turns them off.)")
    }
    .into())
}

/// An image for the team preset's photo, for admins: attached to a DM whose text is
/// `team photo :emoji:`, or submitted in the team photo modal. `channel` (the DM, or the member)
/// hears the outcome once the photo is fetched and processed.
pub(crate) fn save_photo_then_tell(ctx: &Arc<Context>, member: &str, channel: &str, emoji: &str, file: Option<File>) {
    let (ctx, member, channel, emoji) = (ctx.clone(), member.to_string(), channel.to_string(), emoji.to_string());
    ctx.shutdown.clone().track(async move {
        let reply = match save_dm_photo(&ctx, &member, &emoji, file.as_ref()).await {
            Ok(reply) => reply.text,
            Err(Failure::User(e)) => e.to_string(),
            Err(Failure::Internal(e)) => {
                tracing::error!(error = %e, "saving a team photo failed");
                INTERNAL_PHOTO.into()
            }
        };
        if let Err(e) = ctx.slack.post_message(&channel, &reply, None).await {
            tracing::warn!(error = %e, "could not reply in the DM");
        }
    });
}

async fn save_dm_photo(ctx: &Context, member: &str, emoji: &str, file: Option<&File>) -> Outcome {
    if !ctx.is_admin(member) {
        return Err(UserError::TeamNotAdmin { command: ctx.config.command.clone() }.into());
    }
    let emoji = members::resolve_emoji(&ctx.member_deps(), emoji).map_err(UserError::Emoji)?;
    let Some(file) = file else { return Err(UserError::Photo("I couldn't find the file in your message.".into()).into()) };
    let processed = members::fetch_and_process(&ctx.member_deps(), file).await.map_err(UserError::Photo)?;
    let queued = members::save_team_photo(&ctx.member_deps(), member, &emoji, &processed).await?;
    Ok(format!("Saved the photo of the team :{emoji}: preset.{}", updating(queued)).into())
}
