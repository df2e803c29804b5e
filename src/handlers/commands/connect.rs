//! `connect` and `disconnect`: a member's sign-in flow, without a public URL.
//!
//! `connect` hands the member an authorize link carrying a one-time `state`
//! (see [`crate::store::oauth_states`]) and, with `[oauth] pkce = true`, an S256
//! `code_challenge` whose verifier is kept with the state. Slack sends the
//! member's browser to the redirect URL — nothing needs to listen there — and
//! the member pastes that address (or just the code) back with
//! `connect <url-or-code>`. The state is checked and spent *before*
//! `oauth.v2.access` is called, and the token is kept only when
//! `authed_user.id` is the member who asked. `disconnect` restores the
//! member's own profile, revokes the token and forgets it.

use std::sync::Arc;
use std::time::Duration;

use crate::config::OauthConfig;
use crate::context::Context;
use crate::slack::oauth::{authorize_url, exchange, parse_pasted, pkce_challenge, Granted, Pasted};
use crate::slack::ApiError;
use crate::store::oauth_states::{claim_state, new_state, newest_state, token_record, StateProblem};
use crate::store::{now_ms, Desired, OauthState, TokenSource};

/// How long `disconnect` waits for the baseline to be restored.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(90);

fn single_user_text(ctx: &Context, member: &str) -> String {
    if ctx.identity.owner.as_deref() == Some(member) {
        "This bot runs in single-user mode, and you're the owner of its user token, so you're already connected.".into()
    } else {
        "This bot runs in single-user mode: it can only change its owner's profile. Ask its admin to set up multi-member connect (see the README).".into()
    }
}

fn is_config_owner(ctx: &Context, member: &str) -> bool {
    ctx.store.tokens.get(member).ok().flatten().is_some_and(|t| t.source == TokenSource::Config && !t.disconnected)
}

/// `connect` with no argument: a fresh authorize link (also for the App Home button).
pub(crate) fn start(ctx: &Context, member: &str) -> String {
    let Some(oauth) = ctx.config.oauth.as_ref() else { return single_user_text(ctx, member) };
    if is_config_owner(ctx, member) {
        return "You're connected through this bot's own user token (single-user owner), so there's nothing to connect.".into();
    }
    let (state, verifier) = match new_state(&ctx.store, member, oauth.pkce) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "storing an OAuth state failed");
            return "Something went wrong preparing your link; please try again.".into();
        }
    };
    let challenge = verifier.as_deref().map(pkce_challenge);
    let url = authorize_url(&ctx.config.api_origin(), oauth, &state, challenge.as_deref());
    let cmd = &ctx.config.command;
    let again = if ctx.is_connected(member) { "You're already connected; this link replaces your authorisation.\n" } else { "" };
    let landing = match oauth.redirect_url.as_deref() {
        Some(r) if r.starts_with("http://") => "Your browser then opens a local address that shows nothing (or an error): that's expected.",
        _ => "Your browser then lands on a page with a code.",
    };
    tracing::info!(member, pkce = oauth.pkce, "handed out an authorize link");
    format!(
        "{again}1. Open <{url}|this link> and approve access to your profile (name and photo only).\n2. {landing} Copy the whole address from the address bar and send it back: `{cmd} connect <that address>` (the code alone works too), or paste it with *Paste the address* on my App Home.\nThe link works once, for 10 minutes."
    )
}

/// `connect [url-or-code]`.
pub(crate) async fn connect(ctx: &Arc<Context>, member: &str, pasted: Option<&str>) -> String {
    match pasted {
        None => start(ctx, member),
        Some(p) => finish(ctx, member, p).await.unwrap_or_else(|problem| problem),
    }
}

/// Finishes a connect from what the member pasted (slash, DM or the App Home modal): Ok with
/// the welcome, or Err with what went wrong and what to do, both sentences for the member.
pub(crate) async fn finish(ctx: &Arc<Context>, member: &str, pasted: &str) -> Result<String, String> {
    let cmd = ctx.config.command.clone();
    let Some(oauth) = ctx.config.oauth.clone() else { return Err(single_user_text(ctx, member)) };
    if is_config_owner(ctx, member) {
        return Err("You're connected through this bot's own user token (single-user owner), so there's nothing to connect.".into());
    }
    let fresh = format!("Run `{cmd} connect` for a fresh link.");
    let (code, state) = read_pasted(&cmd, pasted, &fresh)?;
    let st = claim(ctx, member, state, &cmd, &fresh)?;
    let granted = grant(ctx, &oauth, member, &code, &st, &fresh).await?;
    keep(ctx, member, granted, &cmd)
}

/// The code (and the state, when a whole address was pasted) from what the member sent.
fn read_pasted(cmd: &str, pasted: &str, fresh: &str) -> Result<(String, Option<String>), String> {
    match parse_pasted(pasted) {
        Pasted::Code { code, state } => Ok((code, state)),
        Pasted::Denied(e) => Err(format!("Slack says access was not granted (`{}`), so nothing changed. {fresh}", crate::command::echo(&e))),
        Pasted::Invalid => Err(format!(
            "That doesn't look like the address your browser landed on, or a code. Send the whole address (it contains `code=`), like `{cmd} connect https://…?code=…&state=…`."
        )),
    }
}

/// Spends the pasted state (or, for a bare code, the member's newest one).
fn claim(ctx: &Context, member: &str, state: Option<String>, cmd: &str, fresh: &str) -> Result<OauthState, String> {
    let now = now_ms();
    let state = match state {
        Some(s) => s,
        None => match newest_state(&ctx.store, member, now) {
            Ok(Some(s)) => s,
            Ok(None) => return Err(format!("I have no authorisation in progress for you (links work once, for 10 minutes). {fresh}")),
            Err(e) => {
                tracing::error!(error = %e, "reading OAuth states failed");
                return Err("Something went wrong; please try again.".into());
            }
        },
    };
    let claimed = match claim_state(&ctx.store, &state, member, now) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "claiming an OAuth state failed");
            return Err("Something went wrong; please try again.".into());
        }
    };
    claimed.map_err(|problem| {
        tracing::warn!(member, ?problem, "refused an OAuth state");
        match problem {
            StateProblem::Unknown => format!("That address doesn't carry a link I handed out, so I won't use it. {fresh}"),
            StateProblem::OtherMember => {
                format!("That authorisation was started by someone else, so I won't use it for you. Run `{cmd} connect` for your own link.")
            }
            StateProblem::Used => format!("That link was already used. {fresh}"),
            StateProblem::Expired => format!("That link has expired (links work for 10 minutes). {fresh}"),
        }
    })
}

/// Exchanges the code; a grant for another account is revoked and refused.
async fn grant(ctx: &Arc<Context>, oauth: &OauthConfig, member: &str, code: &str, st: &OauthState, fresh: &str) -> Result<Granted, String> {
    if oauth.pkce && st.verifier.is_none() {
        return Err(format!("That link was made before this bot switched to PKCE. {fresh}"));
    }
    let verifier = if oauth.pkce { st.verifier.as_ref() } else { None };
    let granted = match exchange(&ctx.slack, oauth, code, verifier).await {
        Ok(g) => g,
        Err(ApiError::Slack(e)) => {
            tracing::warn!(member, error = %e, "oauth.v2.access refused the code");
            let e = crate::command::echo(&e);
            return Err(format!("Slack refused that code (`{e}`). {fresh} Then paste the address right after approving."));
        }
        Err(e) => {
            tracing::warn!(member, error = %e, "oauth.v2.access failed");
            return Err(format!("I couldn't finish connecting ({e}). {fresh}"));
        }
    };
    if granted.user.as_deref() != Some(member) {
        tracing::warn!(member, granted_to = granted.user.as_deref().unwrap_or("?"), "an authorisation for another account was pasted");
        let ctx2 = ctx.clone();
        let token = granted.token.clone();
        ctx.shutdown.track(async move {
            let _ = ctx2.slack.auth_revoke(&token).await;
        });
        return Err(format!(
            "That approval was for a different Slack account ({}), not yours, so I threw it away. Approve while signed in as yourself. {fresh}",
            granted.user.map(|u| format!("<@{u}>")).unwrap_or_else(|| "unknown".into())
        ));
    }
    Ok(granted)
}

/// Stores the member's token, wakes the token loop and says welcome.
fn keep(ctx: &Arc<Context>, member: &str, granted: Granted, cmd: &str) -> Result<String, String> {
    if let Err(e) = ctx.store.tokens.save_grant(member, &token_record(&granted, now_ms())) {
        tracing::error!(error = %e, "storing a token failed");
        return Err("Slack authorised me, but I couldn't save that; please try again.".into());
    }
    let _ = ctx.store.update_member(member, |m| m.failure_notified = false);
    ctx.oauth.wake.notify_one();
    tracing::info!(member, rotating = granted.refresh_token.is_some(), "member connected");
    let ctx2 = ctx.clone();
    let m = member.to_string();
    ctx.shutdown.track(async move { crate::home::publish(&ctx2.home_deps(), &m).await });
    let missing = !granted.scopes.is_empty() && !granted.scopes.iter().any(|s| s == "users.profile:write");
    let warn =
        if missing { "\n:warning: Slack didn't grant `users.profile:write`, so I may not be able to change your profile." } else { "" };
    Ok(format!("Connected: from now on your status emoji drives your display name and photo. (`{cmd} disconnect` undoes it.){warn}"))
}

/// `disconnect`: answers at once; the work (restore, revoke, forget) runs in
/// the background and the member gets a DM when it is done.
pub(crate) fn disconnect(ctx: &Arc<Context>, member: &str) -> String {
    let cmd = &ctx.config.command;
    let rec = match ctx.store.tokens.get(member) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "reading a token failed");
            return "Something went wrong; please try again.".into();
        }
    };
    if ctx.oauth.is_disconnecting(member) {
        return "Already disconnecting you: I'll message you when it's done.".into();
    }
    let Some(rec) = rec else { return "You're not connected, so there's nothing to disconnect.".into() };
    if rec.source == TokenSource::Config {
        return format!(
            "You're connected through this bot's own user token (SLACK_USER_TOKEN, single-user mode), which I can't disconnect: ask the bot's admin to remove it from the configuration. (`{cmd} pause` stops the swapping meanwhile.)"
        );
    }
    if rec.disconnected {
        if let Err(e) = ctx.store.tokens.forget(member) {
            tracing::error!(member, error = %e, "forgetting a disconnected token failed");
        }
        return format!("Your authorisation had already stopped working; I've forgotten it. Run `{cmd} connect` to connect again.");
    }
    // A second `disconnect` meanwhile does not start another run.
    if !ctx.oauth.begin_disconnect(member) {
        return "Already disconnecting you: I'll message you when it's done.".into();
    }
    let ctx2 = ctx.clone();
    let m = member.to_string();
    ctx.shutdown.track(async move {
        let text = disconnect_flow(&ctx2, &m).await;
        ctx2.oauth.end_disconnect(&m);
        if let Err(e) = ctx2.slack.post_message(&m, &text, None).await {
            tracing::warn!(error = %e, "could not tell the member they are disconnected");
        }
        crate::home::publish(&ctx2.home_deps(), &m).await;
    });
    "Disconnecting: I'm putting your own name and photo back first, then I'll forget my access to your profile. I'll message you when it's done.".into()
}

/// Restore (while the token still works) → `auth.revoke` → forget the token.
async fn disconnect_flow(ctx: &Arc<Context>, member: &str) -> String {
    let cmd = &ctx.config.command;
    let state = ctx.store.member(member).unwrap_or_default();
    let was_paused = state.paused;
    // Paused, the member's own status changes (and the echo of our restore)
    // queue nothing; the forced restore runs regardless.
    if let Err(e) = crate::members::set_paused(&ctx.member_deps(), member, true) {
        tracing::warn!(error = %e, "could not pause the member while disconnecting");
    }
    let swapped = state.applied.preset.is_some() || state.applied.name.is_some() || state.applied.photo.is_some();
    let restored = if swapped && state.baseline.is_some() { restore_now(ctx, member).await } else { true };

    let token = ctx.store.tokens.get(member).ok().flatten().map(|t| t.token);
    // From here on the token is never used for swaps, and a `tokens_revoked`
    // echo of our own revoke tells the member nothing.
    if let Err(e) = ctx.store.tokens.mark_disconnected_and_told(member, crate::jobs::token_refresh::REASON_DISCONNECTING) {
        tracing::error!(member, error = %e, "marking the token as disconnecting failed");
    }
    let revoked = match &token {
        Some(t) => match ctx.slack.auth_revoke(t).await {
            Ok(()) => true,
            Err(e) if e.is_auth() => true,
            Err(e) => {
                tracing::warn!(member, error = %e, "auth.revoke failed");
                false
            }
        },
        None => true,
    };
    if let Err(e) = ctx.store.tokens.forget(member) {
        tracing::error!(error = %e, "forgetting a token failed");
    }
    if let Some(job) = crate::store::queue::take(&ctx.store, member).ok().flatten() {
        let _ = crate::store::queue::dead_letter(&ctx.store, &job, crate::store::FailReason::Disconnected);
    }
    let _ = ctx.store.update_member(member, |m| m.paused = was_paused);
    tracing::info!(member, restored, revoked, "member disconnected");
    let mut out = String::from("Disconnected: I've forgotten my access to your profile.");
    if !restored {
        out.push_str(" I couldn't put your own name and photo back first, so your profile may still show a preset: change it by hand.");
    } else if swapped {
        out.push_str(" Your own name and photo are back.");
    }
    if !revoked {
        out.push_str(" Slack didn't confirm the revocation: you can also remove the app under your account's authorised apps.");
    }
    out.push_str(&format!(" Your presets are kept; `{cmd} connect` connects you again."));
    out
}

/// Queues a forced return to the baseline and waits for the runner to finish it.
async fn restore_now(ctx: &Context, member: &str) -> bool {
    if let Err(e) = crate::jobs::enqueue(ctx, member, Desired::Baseline, "", None, true) {
        tracing::error!(error = %e, "could not queue the restore");
        return false;
    }
    let deadline = tokio::time::Instant::now() + RESTORE_TIMEOUT;
    loop {
        if crate::store::queue::pending(&ctx.store, member).is_none() {
            break;
        }
        if tokio::time::Instant::now() >= deadline || ctx.shutdown.is_triggered() {
            tracing::warn!(member, "the restore did not finish in time");
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a = ctx.store.member(member).map(|m| m.applied).unwrap_or_default();
    a.preset.is_none() && a.name.is_none() && a.photo.is_none()
}
