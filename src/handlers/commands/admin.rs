//! The admins' commands (`[slack] admins`): `stats` and `purge`. The root checks
//! [`crate::command::Command::is_admin`] before routing here.

use super::reply::{Outcome, Reply};
use crate::context::Context;

pub(super) fn stats(ctx: &Context) -> Outcome {
    let s = &ctx.store;
    Ok(format!(
        "• Members with presets: {}\n• Presets: {}\n• Queue depth: {}\n• Dead letters: {}\n• Emoji cache: {} entries, {} hits / {} misses\n• Avatar cache: {} entries, {} hits / {} misses\n• Socket connections: {}\n• Database size: {} KB",
        s.members_with_presets()?,
        s.presets.len(),
        crate::store::queue::depth(s),
        crate::store::queue::dead_count(s),
        ctx.emoji.len(),
        ctx.emoji.hits(),
        ctx.emoji.misses(),
        ctx.avatars.len(),
        ctx.avatars.hits(),
        ctx.avatars.misses(),
        ctx.socket.connected.load(std::sync::atomic::Ordering::Relaxed),
        s.size_on_disk() / 1024,
    )
    .into())
}

/// Drops `who`'s cached profile, so the next swap reads it from Slack again.
pub(super) fn purge(ctx: &Context, who: &str) -> Reply {
    if ctx.avatars.purge(who) {
        format!("Dropped the cached profile of <@{who}>.").into()
    } else {
        format!("I had no cached profile for <@{who}>.").into()
    }
}
