//! Keeping the emoji cache loaded: one `emoji.list` call replaces the
//! workspace's custom emoji (at start-up, nightly, and when an
//! `emoji_changed` event cannot be applied on its own).

use super::EmojiCache;
use crate::slack::SlackClient;

/// Loads the workspace's emoji into the cache (with the client's bot token).
pub(crate) async fn refresh_emoji(slack: &SlackClient, emoji: &EmojiCache) {
    match slack.emoji_list().await {
        Ok(list) => match emoji.replace_all(&list) {
            Ok(()) => tracing::info!(count = list.len(), "emoji cache loaded"),
            Err(e) => tracing::error!(error = %e, "storing the emoji list failed"),
        },
        Err(e) => tracing::warn!(error = %e, "emoji.list failed; custom emoji are accepted unverified until it works"),
    }
}
