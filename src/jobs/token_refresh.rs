//! The token loop: the rest of a user token's life after `connect`. It
//! refreshes rotating tokens before they expire, disconnects (and tells, once)
//! a member whose refresh is refused, and tells members revoked by a
//! `tokens_revoked` event how to reconnect. `connect` wakes it early through
//! [`crate::context::OauthRuntime`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::config::OauthConfig;
use crate::context::Context;
use crate::secret::Secret;
use crate::slack::oauth::refresh;
use crate::slack::ApiError;
use crate::store::oauth_states::token_record;
use crate::store::{now_ms, TokenRecord, TokenSource};

/// Rotating tokens are refreshed when they expire within this.
pub(crate) const REFRESH_BEFORE_MS: u64 = 10 * 60 * 1000;
/// How often the loop looks at the tokens when nothing is due sooner.
const POLL: Duration = Duration::from_secs(3);
/// A disconnect is announced only after this, so a failing job that already
/// told the member (it DMs from the same task) is not doubled.
const NOTICE_GRACE_MS: u64 = 2_000;
/// Why a record is marked while `disconnect` runs (that flow tells the member itself).
pub(crate) const REASON_DISCONNECTING: &str = "disconnected_by_member";

/// Is a token expiring at `expires_at_ms` due for refresh at `now`?
pub fn due(expires_at_ms: u64, now: u64) -> bool {
    expires_at_ms.saturating_sub(REFRESH_BEFORE_MS) <= now
}

#[derive(Default)]
struct LoopState {
    /// member → (next attempt at, failures so far) after transient refresh failures
    retry: HashMap<String, (u64, u32)>,
    /// member → when we first saw them disconnected and not yet told
    seen_disconnected: HashMap<String, u64>,
}

/// Runs until shutdown.
pub async fn run(ctx: Arc<Context>) {
    let mut st = LoopState::default();
    loop {
        let next = pass(&ctx, &mut st).await;
        let wait = Duration::from_millis(next.saturating_sub(now_ms()).clamp(50, POLL.as_millis() as u64));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.oauth.wake.notified() => {}
            _ = ctx.shutdown.wait() => return,
        }
    }
}

/// One look at every token; returns when the next one is due (unix ms).
async fn pass(ctx: &Arc<Context>, st: &mut LoopState) -> u64 {
    let now = now_ms();
    let mut next = now + POLL.as_millis() as u64;
    let tokens = match ctx.store.tokens.iter() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "reading tokens failed");
            return next;
        }
    };
    let pending: HashSet<&[u8]> =
        tokens.iter().filter(|(_, t)| t.disconnected && !t.disconnect_notified).map(|(k, _)| k.as_slice()).collect();
    st.seen_disconnected.retain(|m, _| pending.contains(m.as_bytes()));
    let known: HashSet<&[u8]> = tokens.iter().map(|(k, _)| k.as_slice()).collect();
    st.retry.retain(|m, _| known.contains(m.as_bytes()));
    for (k, rec) in &tokens {
        if ctx.shutdown.is_triggered() {
            break;
        }
        let member = String::from_utf8_lossy(k).into_owned();
        if let Some(at) = visit(ctx, st, member, rec, now).await {
            next = next.min(at);
        }
    }
    next
}

/// One token: announce a disconnect, or refresh a rotating token that is due.
/// Returns when this token wants looking at again, if sooner than a poll.
async fn visit(ctx: &Context, st: &mut LoopState, member: String, rec: &TokenRecord, now: u64) -> Option<u64> {
    // A rotating token Slack called expired before we refreshed it (clock
    // drift, or the bot was down): a refresh brings it back.
    let revivable = rec.disconnected
        && rec.source == TokenSource::Oauth
        && rec.refresh_token.is_some()
        && rec.disconnect_reason.as_deref() == Some("token_expired");
    if rec.disconnected && !revivable {
        if !rec.disconnect_notified {
            let first = *st.seen_disconnected.entry(member.clone()).or_insert(now);
            if now.saturating_sub(first) >= NOTICE_GRACE_MS {
                announce_disconnect(ctx, &member, rec).await;
                st.seen_disconnected.remove(&member);
            } else {
                return Some(first + NOTICE_GRACE_MS);
            }
        }
        return None;
    }
    if rec.source != TokenSource::Oauth {
        return None;
    }
    let (Some(expires), Some(refresh_token)) = (rec.expires_at_ms, rec.refresh_token.clone()) else { return None };
    if !revivable && !due(expires, now) {
        return Some(expires.saturating_sub(REFRESH_BEFORE_MS));
    }
    if let Some((at, _)) = st.retry.get(&member) {
        if *at > now {
            return Some(*at);
        }
    }
    let Some(oauth) = ctx.config.oauth.clone() else {
        tracing::warn!(member = %member, "a rotating token is due but OAuth is not configured, so it cannot be refreshed");
        st.retry.insert(member, (now + 3_600_000, 0));
        return None;
    };
    refresh_one(ctx, st, member, rec, &oauth, &refresh_token, revivable).await;
    None
}

/// Refreshes one due token and stores it, or disconnects the member when
/// Slack refuses, or schedules a retry.
async fn refresh_one(
    ctx: &Context,
    st: &mut LoopState,
    member: String,
    rec: &TokenRecord,
    oauth: &OauthConfig,
    refresh_token: &Secret,
    revivable: bool,
) {
    match refresh(&ctx.slack, oauth, refresh_token).await {
        Ok(g) => {
            st.retry.remove(&member);
            let fresh = token_record(&g, now_ms());
            let fresh = TokenRecord { refresh_token: fresh.refresh_token.clone().or(Some(refresh_token.clone())), ..fresh };
            let scopes = rec.scopes.clone();
            // Only if nobody reconnected or disconnected meanwhile.
            let r = ctx.store.tokens.save_refreshed(&member, &fresh, refresh_token, revivable, &scopes);
            match r {
                Ok(_) => tracing::info!(member = %member, "refreshed a rotating token"),
                Err(e) => tracing::error!(member = %member, error = %e, "storing a refreshed token failed"),
            }
        }
        Err(e) if e.is_permanent() => {
            tracing::warn!(member = %member, error = %e, "Slack refused to refresh a token: disconnecting the member");
            refresh_failed(ctx, &member, &e).await;
            st.retry.remove(&member);
        }
        Err(e) => {
            let failures = st.retry.get(&member).map(|(_, n)| n + 1).unwrap_or(1);
            let wait = match &e {
                ApiError::RateLimited { retry_after: Some(d) } => d.as_millis() as u64,
                _ => (15_000u64 << failures.min(6)).min(600_000),
            };
            tracing::warn!(member = %member, error = %e, retry_in_ms = wait, "refreshing a token failed; will retry");
            st.retry.insert(member, (now_ms() + wait, failures));
        }
    }
}

/// Marks the member disconnected after a refused refresh and tells them once.
async fn refresh_failed(ctx: &Context, member: &str, e: &ApiError) {
    let reason = format!("refresh_failed: {}", e.code());
    let newly = ctx.store.tokens.mark_disconnected_and_told(member, &reason).unwrap_or_else(|err| {
        tracing::error!(member, error = %err, "marking a token disconnected after a refused refresh failed");
        false
    });
    // Stops queued work (dead-lettered with the reason).
    if let Err(err) = crate::members::revoke(&ctx.member_deps(), member, &reason) {
        tracing::error!(error = %err, "stopping the member's work failed");
    }
    if newly {
        let cmd = &ctx.config.command;
        let text = format!(
            ":warning: My access to your Slack profile expired and Slack wouldn't renew it (`{}`), so I've stopped changing your name and photo. Your presets are safe. Run `{cmd} connect` to authorise me again.",
            e.code()
        );
        if let Err(err) = ctx.slack.post_message(member, &text, None).await {
            tracing::warn!(error = %err, "could not tell the member");
        }
    }
}

/// Auth errors a failing job already tells the member about: a Slack code meaning the token is
/// dead, on a refused call or a revocation.
fn is_auth_code(reason: &crate::store::FailReason) -> bool {
    use crate::store::FailReason;
    matches!(reason, FailReason::Slack { .. } | FailReason::Revoked { .. } if reason.slack_code().is_some_and(crate::slack::is_auth_dead))
}

/// Tells a member, once, that their token stopped working (a `tokens_revoked`
/// event, or Slack refusing it) and how to reconnect — unless a failing job
/// just told them, or nobody can be told.
async fn announce_disconnect(ctx: &Context, member: &str, rec: &TokenRecord) {
    let first = ctx.store.tokens.mark_notified(member).unwrap_or_else(|err| {
        tracing::error!(member, error = %err, "recording that the member is told of the disconnect failed");
        false
    });
    if !first {
        return;
    }
    let reason = rec.disconnect_reason.clone().unwrap_or_else(|| "revoked".into());
    if reason == "app_uninstalled" || reason == REASON_DISCONNECTING {
        return;
    }
    if rec.source == TokenSource::Config {
        tracing::error!(member, reason = %reason, "the configured user token (SLACK_USER_TOKEN) stopped working; replace it");
        return;
    }
    // A job that failed on this token DMs the member itself (failure_notified).
    let state = ctx.store.member(member).unwrap_or_default();
    let newest_dead = crate::store::queue::dead_of(&ctx.store, member).ok().and_then(|d| d.into_iter().last());
    let job_told = state.failure_notified
        && newest_dead.is_some_and(|(_, d)| is_auth_code(&d.reason) && now_ms().saturating_sub(d.at_ms) < 10 * 60_000);
    if job_told {
        return;
    }
    let _ = ctx.store.update_member(member, |m| m.failure_notified = true);
    let cmd = &ctx.config.command;
    let how = if ctx.config.oauth.is_some() {
        format!("Run `{cmd} connect` to authorise me again.")
    } else {
        "Ask the bot's admin to connect you again.".to_string()
    };
    let text = format!(
        ":warning: My access to your Slack profile was revoked (`{reason}`), so I've stopped changing your name and photo. Your presets are safe. {how}"
    );
    if let Err(e) = ctx.slack.post_message(member, &text, None).await {
        tracing::warn!(error = %e, "could not tell the member they were disconnected");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_due_ten_minutes_before_expiry() {
        let exp = 100 * 60_000;
        assert!(!due(exp, exp - REFRESH_BEFORE_MS - 1));
        assert!(due(exp, exp - REFRESH_BEFORE_MS));
        assert!(due(exp, exp + 1));
        assert!(due(5, 0), "an expiry closer than the window is due at once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_becomes_due_as_time_passes() {
        // With the clock paused, advancing it makes a 12-hour token due exactly
        // ten minutes before it expires.
        let start = tokio::time::Instant::now();
        let expires_in = Duration::from_secs(12 * 3600);
        let at = |elapsed: Duration| elapsed.as_millis() as u64;
        tokio::time::advance(expires_in - Duration::from_secs(601)).await;
        assert!(!due(at(expires_in), at(start.elapsed())));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(due(at(expires_in), at(start.elapsed())));
    }
}
