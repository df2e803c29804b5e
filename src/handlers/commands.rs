//! Commands from `/status-preset` and from DMs: one grammar
//! ([`crate::command`]), one implementation, two ways to answer — the slash
//! command's ephemeral ack payload, or a message in the DM.
//!
//! This file is the way in (slash command or DM), the rate limit and the routing. Each family
//! of commands has a file of its own: `presets` (list, add, photo, remove, and a photo sent by
//! DM), `member` (pause, resume, restore, status), `admin` (stats, purge), `team` (the admins'
//! workspace presets and each member's opt-out) and `help`. A family
//! handler returns a `Reply`, or a `UserError` whose text the member sees, or an internal
//! error that goes back to the dispatcher (see `reply`).

pub(crate) mod connect;

mod admin;
mod help;
mod member;
mod presets;
mod reply;
pub(crate) mod team;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::command::{self, Command};
use crate::context::Context;
use crate::jobs::budget;
use crate::slack::events::SlashCommand;
use crate::slack::types::File;
use crate::socket::Envelope;
use crate::store::now_ms;
use reply::{Failure, Outcome, Reply, UserError};

/// Where a command came from, so the answer goes back the same way.
pub enum Origin {
    Slash { trigger_id: Option<String> },
    Dm,
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
        Budget::Over(notice) => notice.map(|e| e.to_string()),
        Budget::Go => Some(execute(ctx, &member, &cmd.text, Origin::Slash { trigger_id: cmd.trigger_id.clone() }, &[]).await?),
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
        Budget::Over(notice) => notice.map(|e| e.to_string()),
        Budget::Go if !files.is_empty() => {
            match command::parse(text) {
                Ok(Command::Team(command::TeamCommand::Photo { emoji })) => {
                    team::save_photo_then_tell(ctx, member, channel, &emoji, files.first().cloned())
                }
                _ => presets::photo_by_dm(ctx, member, channel, text, files),
            }
            None
        }
        Budget::Go => Some(execute(ctx, member, text, Origin::Dm, files).await?),
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

/// Whether the member's command budget lets this command through.
enum Budget {
    Go,
    /// Over the budget: the notice to send, or None when one was sent already in this window.
    Over(Option<UserError>),
}

/// Over the member's command budget: one polite notice per window, then silence.
fn rate_limit(ctx: &Context, member: &str) -> anyhow::Result<Budget> {
    let limit = ctx.config.limits.commands_per_minute;
    if budget::try_take(&ctx.store, &budget::command_key(member), limit)? {
        return Ok(Budget::Go);
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
    Ok(Budget::Over(first.then_some(UserError::RateLimited { limit })))
}

/// Runs one command for `member` and returns the reply. A member's mistake is answered with
/// its sentence; an internal error (store, Slack) is returned, so the dispatcher logs it and
/// does not ack.
pub async fn execute(ctx: &Arc<Context>, member: &str, text: &str, origin: Origin, _files: &[File]) -> anyhow::Result<String> {
    match route(ctx, member, text, origin).await {
        Ok(reply) => Ok(reply.text),
        Err(Failure::User(e)) => Ok(e.to_string()),
        Err(Failure::Internal(e)) => Err(e),
    }
}

/// Parses the text, checks who may run it and hands it to its family's handler.
async fn route(ctx: &Arc<Context>, member: &str, text: &str, origin: Origin) -> Outcome {
    // In a DM members type the words alone, so help shows them without the slash command.
    let usage_name = if matches!(origin, Origin::Dm) { "" } else { ctx.config.command.as_str() };
    let cmd = command::parse(text).map_err(|e| UserError::Parse(e.render(usage_name)))?;
    if cmd.is_admin() && !ctx.is_admin(member) {
        return Err(match cmd {
            Command::Team(_) => UserError::TeamNotAdmin { command: ctx.config.command.clone() },
            _ => UserError::NotAdmin,
        }
        .into());
    }
    match cmd {
        Command::Help => Ok(help::help(usage_name)),
        Command::List => presets::list(ctx, member),
        Command::Add { emoji, name } => presets::add(ctx, member, &emoji, &name),
        Command::Photo { emoji } => {
            let trigger_id = match origin {
                Origin::Slash { trigger_id } => trigger_id,
                Origin::Dm => None,
            };
            presets::photo(ctx, member, &emoji, trigger_id)
        }
        Command::PhotoDesign { emoji, design } => presets::photo_design(ctx, member, &emoji, design),
        Command::Remove { emoji } => presets::remove(ctx, member, &emoji),
        Command::Pause => member::pause(ctx, member),
        Command::Resume => member::resume(ctx, member),
        Command::Restore => member::restore(ctx, member),
        Command::Status => member::status(ctx, member),
        Command::Connect { code } => Ok(Reply::from(connect::connect(ctx, member, code.as_deref()).await)),
        Command::Disconnect => Ok(Reply::from(connect::disconnect(ctx, member))),
        Command::Stats => admin::stats(ctx),
        Command::Purge { member: who } => Ok(admin::purge(ctx, &who)),
        Command::Team(t) => team::run(ctx, member, t, origin),
    }
}
