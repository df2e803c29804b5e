//! Multi-member connect without a public URL, and the rest of a user token's
//! life: rotation, revocation notices and `disconnect`.
//!
//! `connect` hands the member an authorize link carrying a one-time `state`
//! (32 random bytes, bound to them, 10 minutes, stored in `oauth_states`) and,
//! with `[oauth] pkce = true`, an S256 `code_challenge` whose verifier is kept
//! with the state. Slack sends the member's browser to the redirect URL —
//! nothing needs to listen there — and the member pastes that address (or just
//! the code) back with `connect <url-or-code>`. The state is checked and spent
//! *before* `oauth.v2.access` is called, and the token is kept only when
//! `authed_user.id` is the member who asked.
//!
//! [`run`] is the background loop: it refreshes rotating tokens before they
//! expire, disconnects (and tells, once) a member whose refresh is refused,
//! tells members revoked by a `tokens_revoked` event how to reconnect, and
//! forgets old states.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::config::OauthConfig;
use crate::context::Context;
use crate::secret::Secret;
use crate::slack::types::AuthedUser;
use crate::slack::ApiError;
use crate::store::{now_ms, Desired, OauthState, TokenRecord, TokenSource};

/// The user scopes a member grants.
pub const USER_SCOPE: &str = "users.profile:read,users.profile:write";
/// An authorize link works this long, once.
pub const STATE_TTL_MS: u64 = 10 * 60 * 1000;
/// Rotating tokens are refreshed when they expire within this.
pub const REFRESH_BEFORE_MS: u64 = 10 * 60 * 1000;
/// States are forgotten this long after they were made (until then a reuse is
/// answered "already used" rather than "unknown").
const STATE_KEEP_MS: u64 = 60 * 60 * 1000;
/// How often the loop looks at the tokens when nothing is due sooner.
const POLL: Duration = Duration::from_secs(3);
/// A disconnect is announced only after this, so a failing job that already
/// told the member (it DMs from the same task) is not doubled.
const NOTICE_GRACE_MS: u64 = 2_000;
/// How long `disconnect` waits for the baseline to be restored.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(90);
/// Why a record is marked while `disconnect` runs.
const REASON_DISCONNECTING: &str = "disconnected_by_member";

/// Wakes [`run`] early (a token was just stored).
static WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// 32 random bytes, base64url: a state or a PKCE verifier (43 characters).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    b64url(&bytes)
}

/// The S256 challenge for a PKCE verifier: base64url(SHA-256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
    use sha2::Digest;
    b64url(&sha2::Sha256::digest(verifier.as_bytes()))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `<origin>/oauth/v2/authorize?client_id=…&user_scope=…&redirect_uri=…&state=…[&code_challenge=…&code_challenge_method=S256]`
pub fn authorize_url(origin: &str, oauth: &OauthConfig, state: &str, challenge: Option<&str>) -> String {
    let mut url =
        format!("{}/oauth/v2/authorize?client_id={}&user_scope={USER_SCOPE}", origin.trim_end_matches('/'), enc(&oauth.client_id));
    if let Some(r) = &oauth.redirect_url {
        url.push_str(&format!("&redirect_uri={}", enc(r)));
    }
    url.push_str(&format!("&state={}", enc(state)));
    if let Some(c) = challenge {
        url.push_str(&format!("&code_challenge={}&code_challenge_method=S256", enc(c)));
    }
    url
}

// ---------------------------------------------------------------------------------------------
// What the member pasted
// ---------------------------------------------------------------------------------------------

/// What `connect <url-or-code>` carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pasted {
    /// A code, with the state when a whole address was pasted.
    Code { code: String, state: Option<String> },
    /// The address says the member did not approve (`error=access_denied`).
    Denied(String),
    /// Neither an address with a code nor something shaped like a code.
    Invalid,
}

/// Reads the pasted address (any redirect URL, with or without its scheme, or
/// just its query string) or a bare code.
pub fn parse_pasted(input: &str) -> Pasted {
    let s = input.trim().trim_start_matches('<').trim_end_matches('>');
    let s = s.split('|').next().unwrap_or("").trim();
    if s.is_empty() {
        return Pasted::Invalid;
    }
    if s.contains('?') || s.contains('=') {
        let query = s.split_once('?').map(|(_, q)| q).unwrap_or(s);
        let query = query.split('#').next().unwrap_or("");
        let query = query.replace("&amp;", "&");
        let mut code = None;
        let mut state = None;
        let mut error = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim().to_string();
            match k.as_ref() {
                "code" if !v.is_empty() => code = Some(v),
                "state" if !v.is_empty() => state = Some(v),
                "error" if !v.is_empty() => error = Some(v),
                _ => {}
            }
        }
        return match (code, error) {
            (Some(code), _) if looks_like_code(&code) => Pasted::Code { code, state },
            (None, Some(e)) => Pasted::Denied(e),
            _ => Pasted::Invalid,
        };
    }
    if looks_like_code(s) {
        Pasted::Code { code: s.to_string(), state: None }
    } else {
        Pasted::Invalid
    }
}

/// Slack's codes are digits, dots and hex; allow the URL-safe alphabet.
fn looks_like_code(s: &str) -> bool {
    (4..=512).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

// ---------------------------------------------------------------------------------------------
// States
// ---------------------------------------------------------------------------------------------

/// Why a state cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateProblem {
    Unknown,
    OtherMember,
    Used,
    Expired,
}

/// Whether `member` may spend this state at `now`.
pub fn check_state(state: Option<&OauthState>, member: &str, now: u64) -> Result<(), StateProblem> {
    let s = state.ok_or(StateProblem::Unknown)?;
    if s.member != member {
        return Err(StateProblem::OtherMember);
    }
    if s.used {
        return Err(StateProblem::Used);
    }
    if now.saturating_sub(s.created_ms) >= STATE_TTL_MS || s.created_ms > now + 60_000 {
        return Err(StateProblem::Expired);
    }
    Ok(())
}

/// Makes a state for `member` (with a PKCE verifier when asked) and returns it
/// with the verifier.
pub fn new_state(ctx: &Context, member: &str, pkce: bool) -> anyhow::Result<(String, Option<String>)> {
    let state = random_token();
    let verifier = pkce.then(random_token);
    ctx.store.oauth_states.insert(
        &state,
        &OauthState { member: member.to_string(), created_ms: now_ms(), verifier: verifier.clone().map(Secret::new), used: false },
    )?;
    Ok((state, verifier))
}

/// The member's newest state that can still be spent (for a bare code).
pub fn newest_state(ctx: &Context, member: &str, now: u64) -> anyhow::Result<Option<String>> {
    Ok(ctx
        .store
        .oauth_states
        .iter()?
        .into_iter()
        .filter(|(_, s)| check_state(Some(s), member, now).is_ok())
        .max_by_key(|(_, s)| s.created_ms)
        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
}

/// Checks the state and marks it used in one atomic step; returns it.
pub fn claim_state(ctx: &Context, state: &str, member: &str, now: u64) -> anyhow::Result<Result<OauthState, StateProblem>> {
    let mut verdict = Err(StateProblem::Unknown);
    ctx.store.oauth_states.update(state, |cur| {
        verdict = match &cur {
            Some(s) => check_state(Some(s), member, now).map(|_| s.clone()),
            None => Err(StateProblem::Unknown),
        };
        match (&verdict, cur) {
            (Ok(_), Some(mut s)) => {
                s.used = true;
                Some(s)
            }
            (_, cur) => cur,
        }
    })?;
    Ok(verdict)
}

// ---------------------------------------------------------------------------------------------
// oauth.v2.access
// ---------------------------------------------------------------------------------------------

/// A user token as `oauth.v2.access` granted it.
#[derive(Debug, Clone)]
pub struct Granted {
    pub user: Option<String>,
    pub token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: Option<u64>,
    pub scopes: Vec<String>,
}

/// Reads a grant: the user token under `authed_user` (code exchange), or at the
/// top level (a refresh answers that way).
pub fn parse_grant(v: &Value) -> Option<Granted> {
    let nested: Option<AuthedUser> = v.get("authed_user").and_then(|a| serde_json::from_value(a.clone()).ok());
    let top: Option<AuthedUser> = serde_json::from_value(v.clone()).ok();
    let top_user = v.get("user_id").and_then(Value::as_str).map(str::to_string);
    let (u, user) = match nested.filter(|a| a.access_token.as_deref().is_some_and(|t| !t.is_empty())) {
        Some(a) => {
            let id = a.id.clone();
            (a, id)
        }
        None => {
            let t = top.filter(|a| a.access_token.as_deref().is_some_and(|t| !t.is_empty()) && a.token_type.as_deref() != Some("bot"))?;
            let id = top_user.or_else(|| v.get("authed_user").and_then(|a| a.get("id")).and_then(Value::as_str).map(str::to_string));
            (t, id)
        }
    };
    Some(Granted {
        user,
        token: Secret::new(u.access_token.unwrap_or_default()),
        refresh_token: u.refresh_token.filter(|s| !s.is_empty()).map(Secret::new),
        expires_in: u.expires_in.filter(|n| *n > 0),
        scopes: u.scope.unwrap_or_default().split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
    })
}

fn client_auth<'a>(oauth: &'a OauthConfig, args: &mut Vec<(&'static str, &'a str)>) {
    args.push(("client_id", oauth.client_id.as_str()));
    if !oauth.pkce {
        if let Some(s) = &oauth.client_secret {
            args.push(("client_secret", s.expose()));
        }
    }
}

async fn exchange(ctx: &Context, oauth: &OauthConfig, code: &str, verifier: Option<&Secret>) -> Result<Granted, ApiError> {
    let mut args: Vec<(&str, &str)> = vec![("code", code)];
    if let Some(r) = &oauth.redirect_url {
        args.push(("redirect_uri", r.as_str()));
    }
    client_auth(oauth, &mut args);
    if let Some(v) = verifier {
        args.push(("code_verifier", v.expose()));
    }
    let v = ctx.slack.form_unauthenticated("oauth.v2.access", &args).await?;
    parse_grant(&v).ok_or_else(|| ApiError::Decode("no user token in the oauth.v2.access answer".into()))
}

async fn refresh(ctx: &Context, oauth: &OauthConfig, refresh_token: &Secret) -> Result<Granted, ApiError> {
    let mut args: Vec<(&str, &str)> = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())];
    client_auth(oauth, &mut args);
    let v = ctx.slack.form_unauthenticated("oauth.v2.access", &args).await?;
    parse_grant(&v).ok_or_else(|| ApiError::Decode("no user token in the refresh answer".into()))
}

fn record(g: &Granted, now: u64) -> TokenRecord {
    TokenRecord {
        token: g.token.clone(),
        refresh_token: g.refresh_token.clone(),
        expires_at_ms: g.expires_in.map(|s| now.saturating_add(s.saturating_mul(1000))),
        scopes: g.scopes.clone(),
        source: TokenSource::Oauth,
        disconnected: false,
        disconnect_reason: None,
        disconnect_notified: false,
    }
}

// ---------------------------------------------------------------------------------------------
// connect
// ---------------------------------------------------------------------------------------------

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
pub fn start(ctx: &Context, member: &str) -> String {
    let Some(oauth) = ctx.config.oauth.as_ref() else { return single_user_text(ctx, member) };
    if is_config_owner(ctx, member) {
        return "You're connected through this bot's own user token (single-user owner), so there's nothing to connect.".into();
    }
    let (state, verifier) = match new_state(ctx, member, oauth.pkce) {
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
pub async fn connect(ctx: &Arc<Context>, member: &str, pasted: Option<&str>) -> String {
    match pasted {
        None => start(ctx, member),
        Some(p) => finish(ctx, member, p).await.unwrap_or_else(|problem| problem),
    }
}

/// Finishes a connect from what the member pasted (slash, DM or the App Home modal): Ok with
/// the welcome, or Err with what went wrong and what to do, both sentences for the member.
pub async fn finish(ctx: &Arc<Context>, member: &str, pasted: &str) -> Result<String, String> {
    let cmd = ctx.config.command.clone();
    let Some(oauth) = ctx.config.oauth.clone() else { return Err(single_user_text(ctx, member)) };
    if is_config_owner(ctx, member) {
        return Err("You're connected through this bot's own user token (single-user owner), so there's nothing to connect.".into());
    }
    let fresh = format!("Run `{cmd} connect` for a fresh link.");
    let (code, state) = match parse_pasted(pasted) {
        Pasted::Code { code, state } => (code, state),
        Pasted::Denied(e) => {
            return Err(format!("Slack says access was not granted (`{}`), so nothing changed. {fresh}", crate::command::echo(&e)))
        }
        Pasted::Invalid => {
            return Err(format!(
                "That doesn't look like the address your browser landed on, or a code. Send the whole address (it contains `code=`), like `{cmd} connect https://…?code=…&state=…`."
            ))
        }
    };
    let now = now_ms();
    let state = match state {
        Some(s) => s,
        None => match newest_state(ctx, member, now) {
            Ok(Some(s)) => s,
            Ok(None) => return Err(format!("I have no authorisation in progress for you (links work once, for 10 minutes). {fresh}")),
            Err(e) => {
                tracing::error!(error = %e, "reading OAuth states failed");
                return Err("Something went wrong; please try again.".into());
            }
        },
    };
    let claimed = match claim_state(ctx, &state, member, now) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "claiming an OAuth state failed");
            return Err("Something went wrong; please try again.".into());
        }
    };
    let st = match claimed {
        Ok(st) => st,
        Err(problem) => {
            tracing::warn!(member, ?problem, "refused an OAuth state");
            return Err(match problem {
                StateProblem::Unknown => format!("That address doesn't carry a link I handed out, so I won't use it. {fresh}"),
                StateProblem::OtherMember => {
                    format!(
                        "That authorisation was started by someone else, so I won't use it for you. Run `{cmd} connect` for your own link."
                    )
                }
                StateProblem::Used => format!("That link was already used. {fresh}"),
                StateProblem::Expired => format!("That link has expired (links work for 10 minutes). {fresh}"),
            });
        }
    };
    if oauth.pkce && st.verifier.is_none() {
        return Err(format!("That link was made before this bot switched to PKCE. {fresh}"));
    }
    let verifier = if oauth.pkce { st.verifier.as_ref() } else { None };
    let granted = match exchange(ctx, &oauth, &code, verifier).await {
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
    if let Err(e) = ctx.store.tokens.save_grant(member, &record(&granted, now_ms())) {
        tracing::error!(error = %e, "storing a token failed");
        return Err("Slack authorised me, but I couldn't save that; please try again.".into());
    }
    let _ = ctx.store.update_member(member, |m| m.failure_notified = false);
    WAKE.notify_one();
    tracing::info!(member, rotating = granted.refresh_token.is_some(), "member connected");
    let ctx2 = ctx.clone();
    let m = member.to_string();
    ctx.shutdown.track(async move { crate::home::publish(&ctx2.home_deps(), &m).await });
    let missing = !granted.scopes.is_empty() && !granted.scopes.iter().any(|s| s == "users.profile:write");
    let warn =
        if missing { "\n:warning: Slack didn't grant `users.profile:write`, so I may not be able to change your profile." } else { "" };
    Ok(format!("Connected: from now on your status emoji drives your display name and photo. (`{cmd} disconnect` undoes it.){warn}"))
}

// ---------------------------------------------------------------------------------------------
// disconnect
// ---------------------------------------------------------------------------------------------

/// `disconnect`: answers at once; the work (restore, revoke, forget) runs in
/// the background and the member gets a DM when it is done.
pub fn disconnect(ctx: &Arc<Context>, member: &str) -> String {
    let cmd = &ctx.config.command;
    let rec = match ctx.store.tokens.get(member) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "reading a token failed");
            return "Something went wrong; please try again.".into();
        }
    };
    if in_flight(member) {
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
    if !begin_disconnect(member) {
        return "Already disconnecting you: I'll message you when it's done.".into();
    }
    let ctx2 = ctx.clone();
    let m = member.to_string();
    ctx.shutdown.track(async move {
        let text = disconnect_flow(&ctx2, &m).await;
        end_disconnect(&m);
        if let Err(e) = ctx2.slack.post_message(&m, &text, None).await {
            tracing::warn!(error = %e, "could not tell the member they are disconnected");
        }
        crate::home::publish(&ctx2.home_deps(), &m).await;
    });
    "Disconnecting: I'm putting your own name and photo back first, then I'll forget my access to your profile. I'll message you when it's done.".into()
}

/// Members whose `disconnect` is running (in memory: a crash must not leave anyone stuck).
static DISCONNECTING: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn in_flight(member: &str) -> bool {
    DISCONNECTING.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|m| m == member)
}

fn begin_disconnect(member: &str) -> bool {
    let mut d = DISCONNECTING.lock().unwrap_or_else(|e| e.into_inner());
    if d.iter().any(|m| m == member) {
        return false;
    }
    d.push(member.to_string());
    true
}

fn end_disconnect(member: &str) {
    DISCONNECTING.lock().unwrap_or_else(|e| e.into_inner()).retain(|m| m != member);
}

/// Restore (while the token still works) → `auth.revoke` → forget the token.
async fn disconnect_flow(ctx: &Arc<Context>, member: &str) -> String {
    let cmd = &ctx.config.command;
    let state = ctx.store.member(member).unwrap_or_default();
    let was_paused = state.paused;
    // Paused, the member's own status changes (and the echo of our restore)
    // queue nothing; the forced restore runs regardless.
    if let Err(e) = crate::handlers::presets::set_paused(ctx, member, true) {
        tracing::warn!(error = %e, "could not pause the member while disconnecting");
    }
    let swapped = state.applied.preset.is_some() || state.applied.name.is_some() || state.applied.photo.is_some();
    let restored = if swapped && state.baseline.is_some() { restore_now(ctx, member).await } else { true };

    let token = ctx.store.tokens.get(member).ok().flatten().map(|t| t.token);
    // From here on the token is never used for swaps, and a `tokens_revoked`
    // echo of our own revoke tells the member nothing.
    if let Err(e) = ctx.store.tokens.mark_disconnected_and_told(member, REASON_DISCONNECTING) {
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
        if ctx.store.queue.get(member).ok().flatten().is_none() {
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

// ---------------------------------------------------------------------------------------------
// The background loop: rotation, notices, old states
// ---------------------------------------------------------------------------------------------

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
            _ = WAKE.notified() => {}
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
    let pending: std::collections::HashSet<&[u8]> =
        tokens.iter().filter(|(_, t)| t.disconnected && !t.disconnect_notified).map(|(k, _)| k.as_slice()).collect();
    st.seen_disconnected.retain(|m, _| pending.contains(m.as_bytes()));
    let known: std::collections::HashSet<&[u8]> = tokens.iter().map(|(k, _)| k.as_slice()).collect();
    st.retry.retain(|m, _| known.contains(m.as_bytes()));
    for (k, rec) in &tokens {
        if ctx.shutdown.is_triggered() {
            break;
        }
        let member = String::from_utf8_lossy(k).into_owned();
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
                    next = next.min(first + NOTICE_GRACE_MS);
                }
            }
            continue;
        }
        if rec.source != TokenSource::Oauth {
            continue;
        }
        let (Some(expires), Some(refresh_token)) = (rec.expires_at_ms, rec.refresh_token.clone()) else { continue };
        if !revivable && !due(expires, now) {
            next = next.min(expires.saturating_sub(REFRESH_BEFORE_MS));
            continue;
        }
        if let Some((at, _)) = st.retry.get(&member) {
            if *at > now {
                next = next.min(*at);
                continue;
            }
        }
        let Some(oauth) = ctx.config.oauth.clone() else {
            tracing::warn!(member = %member, "a rotating token is due but OAuth is not configured, so it cannot be refreshed");
            st.retry.insert(member, (now + 3_600_000, 0));
            continue;
        };
        match refresh(ctx, &oauth, &refresh_token).await {
            Ok(g) => {
                st.retry.remove(&member);
                let fresh = record(&g, now_ms());
                let fresh = TokenRecord { refresh_token: fresh.refresh_token.clone().or(Some(refresh_token.clone())), ..fresh };
                let scopes = rec.scopes.clone();
                // Only if nobody reconnected or disconnected meanwhile.
                let r = ctx.store.tokens.save_refreshed(&member, &fresh, &refresh_token, revivable, &scopes);
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
    next
}

/// Marks the member disconnected after a refused refresh and tells them once.
async fn refresh_failed(ctx: &Context, member: &str, e: &ApiError) {
    let reason = format!("refresh_failed: {}", e.code());
    let newly = ctx.store.tokens.mark_disconnected_and_told(member, &reason).unwrap_or_else(|err| {
        tracing::error!(member, error = %err, "marking a token disconnected after a refused refresh failed");
        false
    });
    // Stops queued work (dead-lettered with the reason).
    if let Err(err) = crate::handlers::presets::revoke(ctx, member, &reason) {
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
    let newest_dead = ctx.store.dead.scan_prefix(crate::store::member_prefix(member)).ok().and_then(|d| d.into_iter().last());
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

/// Forgets states made more than an hour ago (the scheduler's upkeep); returns how many went.
pub fn expire_states(store: &crate::store::Store) -> anyhow::Result<usize> {
    store.oauth_states.remove_older(STATE_KEEP_MS, |s| s.created_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(pkce: bool, redirect: Option<&str>) -> OauthConfig {
        OauthConfig {
            client_id: "123.456".into(),
            client_secret: (!pkce).then(|| Secret::new("shh")),
            redirect_url: redirect.map(str::to_string),
            pkce,
        }
    }

    #[test]
    fn pasted_addresses_and_codes() {
        assert_eq!(
            parse_pasted("https://example.com/cb?code=123.456.abc&state=S1"),
            Pasted::Code { code: "123.456.abc".into(), state: Some("S1".into()) }
        );
        assert_eq!(
            parse_pasted("<http://localhost/?state=S-_2&code=99.88.ff|http://localhost/?state=S-_2&amp;code=99.88.ff>"),
            Pasted::Code { code: "99.88.ff".into(), state: Some("S-_2".into()) }
        );
        assert_eq!(parse_pasted("localhost/?code=abcd&state=x"), Pasted::Code { code: "abcd".into(), state: Some("x".into()) });
        assert_eq!(parse_pasted("?code=abcd&amp;state=x#frag"), Pasted::Code { code: "abcd".into(), state: Some("x".into()) });
        assert_eq!(parse_pasted("  123.456.abcdef  "), Pasted::Code { code: "123.456.abcdef".into(), state: None });
        assert_eq!(parse_pasted("https://example.com/cb?code=xyz9"), Pasted::Code { code: "xyz9".into(), state: None });
        assert_eq!(parse_pasted("http://localhost/?error=access_denied&state=S"), Pasted::Denied("access_denied".into()));
        assert_eq!(parse_pasted("https://example.com/cb?state=S"), Pasted::Invalid);
        assert_eq!(parse_pasted("not a code!"), Pasted::Invalid);
        assert_eq!(parse_pasted("ab"), Pasted::Invalid);
        assert_eq!(parse_pasted(""), Pasted::Invalid);
        assert_eq!(parse_pasted("https://x/?code=bad%20code&state=s"), Pasted::Invalid);
    }

    #[test]
    fn state_checks() {
        let s = |member: &str, created_ms: u64, used: bool| OauthState { member: member.into(), created_ms, verifier: None, used };
        let now = 1_000_000_000;
        assert_eq!(check_state(None, "U1", now), Err(StateProblem::Unknown));
        assert_eq!(check_state(Some(&s("U2", now, false)), "U1", now), Err(StateProblem::OtherMember));
        assert_eq!(check_state(Some(&s("U1", now, true)), "U1", now), Err(StateProblem::Used));
        assert_eq!(check_state(Some(&s("U1", now - STATE_TTL_MS, false)), "U1", now), Err(StateProblem::Expired));
        assert_eq!(check_state(Some(&s("U1", now - STATE_TTL_MS + 1, false)), "U1", now), Ok(()));
        assert_eq!(check_state(Some(&s("U1", now, false)), "U1", now), Ok(()));
        // Another member's state is refused before anything else is said about it.
        assert_eq!(check_state(Some(&s("U2", 0, true)), "U1", now), Err(StateProblem::OtherMember));
    }

    #[test]
    fn pkce_challenge_is_s256() {
        // RFC 7636, appendix B.
        assert_eq!(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let v = random_token();
        assert_eq!(v.len(), 43);
        assert!(v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(v, random_token());
    }

    #[test]
    fn authorize_links() {
        let u = authorize_url("https://slack.com", &oauth(false, Some("https://example.com/cb?x=1")), "ST", None);
        assert_eq!(
            u,
            "https://slack.com/oauth/v2/authorize?client_id=123.456&user_scope=users.profile:read,users.profile:write&redirect_uri=https%3A%2F%2Fexample.com%2Fcb%3Fx%3D1&state=ST"
        );
        let u = authorize_url("http://127.0.0.1:9", &oauth(true, None), "ST", Some("CH"));
        assert_eq!(
            u,
            "http://127.0.0.1:9/oauth/v2/authorize?client_id=123.456&user_scope=users.profile:read,users.profile:write&state=ST&code_challenge=CH&code_challenge_method=S256"
        );
    }

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

    #[test]
    fn grants_nested_or_top_level() {
        let v = serde_json::json!({"ok": true, "authed_user": {"id": "U1", "scope": "users.profile:read,users.profile:write", "access_token": "xoxe.xoxp-1", "refresh_token": "xoxe-1-r", "expires_in": 43200, "token_type": "user"}});
        let g = parse_grant(&v).unwrap();
        assert_eq!(g.user.as_deref(), Some("U1"));
        assert_eq!(g.token.expose(), "xoxe.xoxp-1");
        assert_eq!(g.refresh_token.unwrap().expose(), "xoxe-1-r");
        assert_eq!(g.expires_in, Some(43200));
        assert_eq!(g.scopes.len(), 2);
        let v = serde_json::json!({"ok": true, "access_token": "xoxe.xoxp-2", "refresh_token": "xoxe-1-s", "expires_in": "60", "token_type": "user", "user_id": "U1"});
        let g = parse_grant(&v).unwrap();
        assert_eq!((g.user.as_deref(), g.token.expose(), g.expires_in), (Some("U1"), "xoxe.xoxp-2", Some(60)));
        let v = serde_json::json!({"ok": true, "access_token": "xoxb-bot", "token_type": "bot"});
        assert!(parse_grant(&v).is_none());
        assert!(format!("{:?}", parse_grant(&serde_json::json!({"authed_user": {"access_token": "xoxp-9-secret"}}))).contains("redacted"));
    }
}
