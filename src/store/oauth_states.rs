//! The `oauth_states` tree: the sign-in states handed out with authorize
//! links, and the only module that writes it.
//!
//! A state is 32 random bytes bound to the member who asked, good once, for
//! [`STATE_TTL_MS`]; with PKCE its verifier is kept with it. A state is checked
//! and spent ([`claim_state`]) *before* the code is exchanged, and old ones are
//! forgotten by the upkeep job ([`expire_states`]). Also here: the token record
//! a grant becomes ([`token_record`]).

use super::{now_ms, OauthState, Store, TokenRecord, TokenSource};
use crate::secret::Secret;
use crate::slack::oauth::{random_token, Granted};

/// An authorize link works this long, once.
pub(crate) const STATE_TTL_MS: u64 = 10 * 60 * 1000;
/// States are forgotten this long after they were made (until then a reuse is
/// answered "already used" rather than "unknown").
const STATE_KEEP_MS: u64 = 60 * 60 * 1000;

/// Why a state cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateProblem {
    Unknown,
    OtherMember,
    Used,
    Expired,
}

/// Whether `member` may spend this state at `now`.
pub(crate) fn check_state(state: Option<&OauthState>, member: &str, now: u64) -> Result<(), StateProblem> {
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
pub fn new_state(store: &Store, member: &str, pkce: bool) -> anyhow::Result<(String, Option<String>)> {
    let state = random_token();
    let verifier = pkce.then(random_token);
    store.oauth_states.insert(
        &state,
        &OauthState { member: member.to_string(), created_ms: now_ms(), verifier: verifier.clone().map(Secret::new), used: false },
    )?;
    Ok((state, verifier))
}

/// The member's newest state that can still be spent (for a bare code).
pub(crate) fn newest_state(store: &Store, member: &str, now: u64) -> anyhow::Result<Option<String>> {
    Ok(store
        .oauth_states
        .iter()?
        .into_iter()
        .filter(|(_, s)| check_state(Some(s), member, now).is_ok())
        .max_by_key(|(_, s)| s.created_ms)
        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
}

/// Checks the state and marks it used in one atomic step; returns it.
pub(crate) fn claim_state(store: &Store, state: &str, member: &str, now: u64) -> anyhow::Result<Result<OauthState, StateProblem>> {
    let mut verdict = Err(StateProblem::Unknown);
    store.oauth_states.update(state, |cur| {
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

/// Forgets states made more than an hour ago (the upkeep job's); returns how many went.
pub(crate) fn expire_states(store: &Store) -> anyhow::Result<usize> {
    store.oauth_states.remove_older(STATE_KEEP_MS, |s| s.created_ms)
}

/// The token record a grant becomes, granted at `now`.
pub(crate) fn token_record(g: &Granted, now: u64) -> TokenRecord {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
