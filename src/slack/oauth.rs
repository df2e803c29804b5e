//! The OAuth 2 protocol of Slack's user-token sign-in, without any state:
//! the authorize link (with an S256 PKCE challenge), reading what the member
//! pasted back from their browser, and `oauth.v2.access` for a code or a
//! refresh token. Where states are kept is [`crate::store::oauth_states`];
//! the member's flow is `handlers::commands::connect`.

use base64::Engine as _;
use serde_json::Value;

use super::types::AuthedUser;
use super::{ApiError, SlackClient};
use crate::config::OauthConfig;
use crate::secret::Secret;

/// The user scopes a member grants.
pub(crate) const USER_SCOPE: &str = "users.profile:read,users.profile:write";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// 32 random bytes, base64url: a state or a PKCE verifier (43 characters).
pub(crate) fn random_token() -> String {
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

/// What `connect <url-or-code>` carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pasted {
    /// A code, with the state when a whole address was pasted.
    Code { code: String, state: Option<String> },
    /// The address says the member did not approve (`error=access_denied`).
    Denied(String),
    /// Neither an address with a code nor something shaped like a code.
    Invalid,
}

/// Reads the pasted address (any redirect URL, with or without its scheme, or
/// just its query string) or a bare code.
pub(crate) fn parse_pasted(input: &str) -> Pasted {
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

/// A user token as `oauth.v2.access` granted it.
#[derive(Debug, Clone)]
pub(crate) struct Granted {
    pub user: Option<String>,
    pub token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: Option<u64>,
    pub scopes: Vec<String>,
}

/// Reads a grant: the user token under `authed_user` (code exchange), or at the
/// top level (a refresh answers that way).
pub(crate) fn parse_grant(v: &Value) -> Option<Granted> {
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

pub(crate) async fn exchange(slack: &SlackClient, oauth: &OauthConfig, code: &str, verifier: Option<&Secret>) -> Result<Granted, ApiError> {
    let mut args: Vec<(&str, &str)> = vec![("code", code)];
    if let Some(r) = &oauth.redirect_url {
        args.push(("redirect_uri", r.as_str()));
    }
    client_auth(oauth, &mut args);
    if let Some(v) = verifier {
        args.push(("code_verifier", v.expose()));
    }
    let v = slack.form_unauthenticated("oauth.v2.access", &args).await?;
    parse_grant(&v).ok_or_else(|| ApiError::Decode("no user token in the oauth.v2.access answer".into()))
}

pub(crate) async fn refresh(slack: &SlackClient, oauth: &OauthConfig, refresh_token: &Secret) -> Result<Granted, ApiError> {
    let mut args: Vec<(&str, &str)> = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())];
    client_auth(oauth, &mut args);
    let v = slack.form_unauthenticated("oauth.v2.access", &args).await?;
    parse_grant(&v).ok_or_else(|| ApiError::Decode("no user token in the refresh answer".into()))
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
