//! The member's own switches and state: `pause`, `resume`, `restore` and `status`.

use std::sync::Arc;

use super::presets::refresh_home;
use super::reply::{Outcome, UserError};
use crate::context::Context;
use crate::members;

pub(super) fn pause(ctx: &Arc<Context>, member: &str) -> Outcome {
    let name = &ctx.config.command;
    members::set_paused(&ctx.member_deps(), member, true)?;
    refresh_home(ctx, member);
    Ok(format!("Paused: I won't change your profile until you `{name} resume`. (`{name} restore` puts your own name and photo back now.)")
        .into())
}

pub(super) fn resume(ctx: &Arc<Context>, member: &str) -> Outcome {
    members::set_paused(&ctx.member_deps(), member, false)?;
    refresh_home(ctx, member);
    Ok("Resumed: your status drives your name and photo again.".into())
}

pub(super) fn restore(ctx: &Context, member: &str) -> Outcome {
    if !ctx.is_connected(member) {
        return Err(UserError::NotConnected { command: ctx.config.command.clone() }.into());
    }
    if members::restore(&ctx.member_deps(), member)? {
        Ok("Putting your own name and photo back now.".into())
    } else {
        Ok("Your profile is already your own: I haven't changed it.".into())
    }
}

pub(super) fn status(ctx: &Context, member: &str) -> Outcome {
    let state = ctx.store.member(member)?;
    let presets = ctx.store.presets_of(member)?.len();
    let mut out = String::new();
    out.push_str(if ctx.is_connected(member) { "• Connected: yes\n" } else { "• Connected: no\n" });
    out.push_str(if state.paused { "• Paused: yes\n" } else { "• Paused: no\n" });
    match &state.applied.preset {
        Some(e) if state.applied.team => out.push_str(&format!("• Active preset: :{e}: (the team's)\n")),
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
    if let Some(note) = crate::home::pending_expiry(&ctx.store, member) {
        out.push_str(&format!("• Expiry: {note}\n"));
    }
    let dead = crate::store::queue::dead_of(&ctx.store, member)?;
    if let Some((_, d)) = dead.last() {
        out.push_str(&format!("• Last failure: {}\n", d.reason));
    }
    out.push_str(&format!("• {}\n", crate::home::catch_up_line(ctx.telemetry.catch_up.last(), crate::store::now_ms())));
    Ok(out.into())
}
