//! The Slack Web API client: form or JSON calls, multipart photo uploads, file
//! uploads (`upload.rs`) and downloads, with Slack's errors turned into [`ApiError`] so callers can
//! branch on rate limits, auth failures and permanent errors.
//!
//! Nothing is followed blindly: the HTTP client follows no redirects, so
//! [`SlackClient::download`] follows them by hand, checking every hop against
//! the same allow-list, and a response URL's redirect is refused. Every body
//! is read in chunks against a cap, so an oversized answer is cut off.

pub mod blocks;
pub mod errors;
pub mod events;
pub mod oauth;
pub mod types;
mod upload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, LOCATION, RETRY_AFTER};
use serde_json::Value;
use tracing::Instrument;
use url::Url;

use crate::secret::Secret;
use crate::telemetry::Telemetry;
pub(crate) use errors::{classify, is_auth_dead, SlackErrorKind};
use types::*;

/// The most a Web API answer may be. Real answers are far smaller: the biggest
/// recorded fixture (a merged `chat.postMessage` sample) is 2.1 MB, and
/// `emoji.list` takes about 100 bytes an emoji, some 5 MB for 50 000 custom emoji.
pub(crate) const MAX_ANSWER_BYTES: usize = 8 << 20;

/// How many redirects a download follows, each one checked like the first URL.
const MAX_REDIRECTS: usize = 3;

/// How a Web API call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// HTTP 429, or `{"ok":false,"error":"ratelimited"}`.
    #[error("rate limited by Slack{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// `{"ok":false,"error":…}`.
    #[error("Slack said {0}")]
    Slack(String),
    /// A non-success HTTP status without a Slack error body.
    #[error("HTTP {0} from Slack")]
    Http(u16),
    /// Could not reach Slack, or the connection broke.
    #[error("could not reach Slack: {0}")]
    Transport(String),
    /// The answer was not what Slack sends (HTML sign-in page, bad JSON, …).
    #[error("unexpected answer from Slack: {0}")]
    Decode(String),
    /// Refused before sending: a URL outside Slack's hosts.
    #[error("refused to fetch {0}: not a Slack file URL")]
    ForbiddenUrl(String),
    /// The download is larger than we accept.
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
    /// A Web API answer over the cap (`MAX_ANSWER_BYTES`): reading stopped there.
    #[error("Slack's answer was larger than {} MiB, so it was cut off", .0 >> 20)]
    AnswerTooLarge(usize),
    /// A redirect the bot does not follow: to a host outside the allow-list,
    /// more than `MAX_REDIRECTS` hops, or from a response URL.
    #[error("did not follow a redirect: {0}")]
    Redirect(String),
}

impl ApiError {
    /// The token no longer works: the member must reconnect (see [`errors::classify`]).
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, ApiError::Slack(e) if is_auth_dead(e))
    }

    /// Retrying will not help.
    pub(crate) fn is_permanent(&self) -> bool {
        match self {
            ApiError::Slack(e) => !matches!(classify(e), SlackErrorKind::Transient | SlackErrorKind::RateLimited),
            ApiError::Http(s) => (400..500).contains(s) && *s != 408 && *s != 429,
            ApiError::ForbiddenUrl(_) | ApiError::TooLarge(_) | ApiError::Redirect(_) => true,
            ApiError::Decode(_) | ApiError::AnswerTooLarge(_) => false,
            ApiError::RateLimited { .. } | ApiError::Transport(_) => false,
        }
    }

    pub fn code(&self) -> String {
        match self {
            ApiError::RateLimited { .. } => "ratelimited".into(),
            ApiError::Slack(e) => e.clone(),
            ApiError::Http(s) => format!("http_{s}"),
            ApiError::Transport(_) => "transport".into(),
            ApiError::Decode(_) => "decode".into(),
            ApiError::ForbiddenUrl(_) => "forbidden_url".into(),
            ApiError::TooLarge(_) => "too_large".into(),
            ApiError::AnswerTooLarge(_) => "answer_too_large".into(),
            ApiError::Redirect(_) => "redirect".into(),
        }
    }
}

/// The Web API client. Cheap to clone.
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    base: Url,
    bot: Secret,
    app: Secret,
    telemetry: Arc<Telemetry>,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// Hosts Slack serves files and avatars from.
fn is_slack_host(host: &str) -> bool {
    host == "slack.com"
        || host.ends_with(".slack.com")
        || host.ends_with(".slack-edge.com")
        || host == "slack-edge.com"
        || host == "files.slack.com"
}

impl SlackClient {
    pub fn new(base: Url, bot: Secret, app: Secret) -> anyhow::Result<SlackClient> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("statusinator/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(SlackClient { http, base, bot, app, telemetry: Arc::default() })
    }

    /// Counts this client's calls into `telemetry` (else into a sink of its own).
    pub(crate) fn with_telemetry(self, telemetry: Arc<Telemetry>) -> SlackClient {
        SlackClient { telemetry, ..self }
    }

    /// Where this client counts its calls.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    pub fn bot_token(&self) -> &Secret {
        &self.bot
    }

    pub fn app_token(&self) -> &Secret {
        &self.app
    }

    fn url(&self, method: &str) -> Result<Url, ApiError> {
        self.base.join(method).map_err(|e| ApiError::Decode(e.to_string()))
    }

    /// A call with form arguments (read methods, and everything that is not JSON-capable).
    pub async fn form(&self, method: &str, token: &Secret, args: &[(&str, &str)]) -> Result<Value, ApiError> {
        let req = self.http.post(self.url(method)?).header(AUTHORIZATION, format!("Bearer {}", token.expose())).form(args);
        self.send(method, req).await
    }

    /// A call with form arguments and no token (oauth.v2.access authenticates in the body).
    pub(crate) async fn form_unauthenticated(&self, method: &str, args: &[(&str, &str)]) -> Result<Value, ApiError> {
        let req = self.http.post(self.url(method)?).form(args);
        self.send(method, req).await
    }

    /// A call with a JSON body (chat.postMessage, views.publish, …).
    pub async fn json(&self, method: &str, token: &Secret, body: &Value) -> Result<Value, ApiError> {
        let req = self.http.post(self.url(method)?).header(AUTHORIZATION, format!("Bearer {}", token.expose())).json(body);
        self.send(method, req).await
    }

    async fn send(&self, method: &str, req: reqwest::RequestBuilder) -> Result<Value, ApiError> {
        let span = tracing::info_span!("slack_api", method, status = tracing::field::Empty, ms = tracing::field::Empty);
        async {
            let start = Instant::now();
            let out = self.send_inner(req).await;
            let span = tracing::Span::current();
            let elapsed = start.elapsed();
            span.record("ms", elapsed.as_millis() as u64);
            match &out {
                Ok((status, _)) => {
                    span.record("status", status);
                    self.telemetry.api_call(method, "ok", elapsed);
                    tracing::info!("ok");
                }
                Err(e) => {
                    span.record("status", e.code().as_str());
                    self.telemetry.api_call(method, &e.code(), elapsed);
                    tracing::info!(error = %e, "call failed");
                }
            }
            out.map(|(_, v)| v)
        }
        .instrument(span)
        .await
    }

    async fn send_inner(&self, req: reqwest::RequestBuilder) -> Result<(u16, Value), ApiError> {
        let resp = req.send().await.map_err(|e| ApiError::Transport(without_url(e)))?;
        let status = resp.status().as_u16();
        let retry_after = retry_after(resp.headers());
        if status == 429 {
            return Err(ApiError::RateLimited { retry_after });
        }
        if resp.status().is_redirection() {
            return Err(ApiError::Http(status));
        }
        let body = read_capped(resp, MAX_ANSWER_BYTES, ApiError::AnswerTooLarge(MAX_ANSWER_BYTES)).await?;
        let v: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) if status >= 400 => return Err(ApiError::Http(status)),
            Err(e) => return Err(ApiError::Decode(format!("not JSON ({e})"))),
        };
        check_ok(v, retry_after).map(|v| (status, v))
    }

    /// `users.setPhoto` with the member's token: multipart field `image`.
    pub async fn set_photo(&self, token: &Secret, bytes: Vec<u8>, mime: &str) -> Result<(), ApiError> {
        let ext = if mime == "image/png" { "png" } else { "jpg" };
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(format!("photo.{ext}"))
            .mime_str(mime)
            .map_err(|e| ApiError::Decode(e.to_string()))?;
        let form = reqwest::multipart::Form::new().part("image", part);
        let req = self.http.post(self.url("users.setPhoto")?).header(AUTHORIZATION, format!("Bearer {}", token.expose())).multipart(form);
        self.send("users.setPhoto", req).await.map(|_| ())
    }

    /// Is this URL one the bot may download from (Slack's hosts or the API origin)?
    pub(crate) fn may_download(&self, url: &str) -> bool {
        let Ok(u) = Url::parse(url) else { return false };
        if u.origin() == self.base.origin() {
            return true;
        }
        u.scheme() == "https" && u.host_str().is_some_and(is_slack_host)
    }

    /// The URL, parsed, if the bot may fetch it; otherwise [`ApiError::ForbiddenUrl`].
    fn allowed(&self, url: &str) -> Result<Url, ApiError> {
        match Url::parse(url) {
            Ok(u) if self.may_download(url) => Ok(u),
            _ => Err(ApiError::ForbiddenUrl(url.chars().take(80).collect())),
        }
    }

    /// Downloads a Slack-hosted file. `url_private` needs the bot token, and
    /// Slack answers a missing one with an HTML sign-in page, which we refuse.
    pub async fn download(&self, url: &str, with_bot_token: bool, max_bytes: usize) -> Result<Vec<u8>, ApiError> {
        let url = self.allowed(url)?;
        let span = tracing::info_span!("slack_download", status = tracing::field::Empty, bytes = tracing::field::Empty);
        async {
            let resp = self.get_following(url, with_bot_token).await?;
            let status = resp.status().as_u16();
            tracing::Span::current().record("status", status);
            if status == 429 {
                return Err(ApiError::RateLimited { retry_after: retry_after(resp.headers()) });
            }
            if !resp.status().is_success() {
                return Err(ApiError::Http(status));
            }
            let is_html =
                resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("text/html"));
            if is_html {
                return Err(ApiError::Decode("Slack sent a sign-in page instead of the file".into()));
            }
            let out = read_capped(resp, max_bytes, ApiError::TooLarge(max_bytes)).await?;
            tracing::Span::current().record("bytes", out.len());
            Ok(out)
        }
        .instrument(span)
        .await
    }

    /// GETs an allowed URL, following up to [`MAX_REDIRECTS`] redirects by hand.
    /// Each hop must pass [`may_download`](Self::may_download) before it is
    /// connected to; the bot token goes only to the first URL's origin, and
    /// never again once a hop has left it.
    async fn get_following(&self, mut url: Url, with_bot_token: bool) -> Result<reqwest::Response, ApiError> {
        let origin = url.origin();
        let mut send_token = with_bot_token;
        let mut hops = 0;
        loop {
            send_token &= url.origin() == origin;
            let mut req = self.http.get(url.clone());
            if send_token {
                req = req.header(AUTHORIZATION, format!("Bearer {}", self.bot.expose()));
            }
            let resp = req.send().await.map_err(|e| ApiError::Transport(without_url(e)))?;
            if !matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(ApiError::Redirect(format!("more than {MAX_REDIRECTS} redirects")));
            }
            let next = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()).and_then(|l| url.join(l).ok());
            let Some(next) = next else {
                return Err(ApiError::Redirect("a redirect without a usable Location".into()));
            };
            if !self.may_download(next.as_str()) {
                let to = next.origin().ascii_serialization();
                tracing::warn!(to = %to, "a download redirected outside Slack's hosts; not followed");
                return Err(ApiError::Redirect(format!("the link led to {to}, which is not one of Slack's hosts")));
            }
            url = next;
        }
    }

    // ---- typed calls ----

    pub(crate) async fn auth_test(&self, token: &Secret) -> Result<(AuthTest, Vec<String>), ApiError> {
        // Scopes come in a header, so this one call reads the raw response.
        let req = self
            .http
            .post(self.url("auth.test")?)
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            .form(&[] as &[(&str, &str)]);
        let resp = req.send().await.map_err(|e| ApiError::Transport(without_url(e)))?;
        if resp.status().as_u16() == 429 {
            return Err(ApiError::RateLimited { retry_after: None });
        }
        if resp.status().is_redirection() {
            return Err(ApiError::Http(resp.status().as_u16()));
        }
        let scopes = resp
            .headers()
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
            .unwrap_or_default();
        let body = read_capped(resp, MAX_ANSWER_BYTES, ApiError::AnswerTooLarge(MAX_ANSWER_BYTES)).await?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| ApiError::Decode(format!("not JSON ({e})")))?;
        let v = check_ok(v, None)?;
        let at = serde_json::from_value(v).map_err(|e| ApiError::Decode(e.to_string()))?;
        Ok((at, scopes))
    }

    /// `apps.connections.open` → the websocket URL.
    pub(crate) async fn connections_open(&self) -> Result<String, ApiError> {
        let v = self.form("apps.connections.open", &self.app.clone(), &[]).await?;
        v.get("url").and_then(Value::as_str).map(str::to_string).ok_or_else(|| ApiError::Decode("no url in apps.connections.open".into()))
    }

    pub(crate) async fn users_info(&self, user: &str) -> Result<User, ApiError> {
        let v = self.form("users.info", &self.bot.clone(), &[("user", user)]).await?;
        serde_json::from_value(v.get("user").cloned().unwrap_or_default()).map_err(|e| ApiError::Decode(e.to_string()))
    }

    pub(crate) async fn users_profile_get(&self, token: &Secret, user: Option<&str>) -> Result<UserProfile, ApiError> {
        let args: Vec<(&str, &str)> = user.map(|u| vec![("user", u)]).unwrap_or_default();
        let v = self.form("users.profile.get", token, &args).await?;
        serde_json::from_value(v.get("profile").cloned().unwrap_or_default()).map_err(|e| ApiError::Decode(e.to_string()))
    }

    /// Sets the member's display name with their own token.
    pub(crate) async fn set_display_name(&self, token: &Secret, name: &str) -> Result<(), ApiError> {
        let profile = serde_json::json!({ "display_name": name }).to_string();
        self.form("users.profile.set", token, &[("profile", &profile)]).await.map(|_| ())
    }

    pub(crate) async fn post_message(&self, channel: &str, text: &str, blocks: Option<Value>) -> Result<Value, ApiError> {
        let mut body = serde_json::json!({ "channel": channel, "text": text });
        if let Some(b) = blocks {
            body["blocks"] = b;
        }
        self.json("chat.postMessage", &self.bot.clone(), &body).await
    }

    /// Posts a reply to a slash command's `response_url` (only Slack's hosts or the API origin).
    pub(crate) async fn respond(&self, response_url: &str, body: &Value) -> Result<(), ApiError> {
        let url = self.allowed(response_url)?;
        let resp = self.http.post(url).json(body).send().await.map_err(|e| ApiError::Transport(without_url(e)))?;
        if resp.status().is_redirection() {
            return Err(ApiError::Redirect(format!("the response URL answered HTTP {}", resp.status().as_u16())));
        }
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(ApiError::Http(resp.status().as_u16()))
        }
    }

    pub(crate) async fn views_publish(&self, user: &str, view: &Value) -> Result<(), ApiError> {
        let body = serde_json::json!({ "user_id": user, "view": view });
        self.json("views.publish", &self.bot.clone(), &body).await.map(|_| ())
    }

    pub(crate) async fn views_open(&self, trigger_id: &str, view: &Value) -> Result<(), ApiError> {
        let body = serde_json::json!({ "trigger_id": trigger_id, "view": view });
        self.json("views.open", &self.bot.clone(), &body).await.map(|_| ())
    }

    pub(crate) async fn files_info(&self, file: &str) -> Result<File, ApiError> {
        let v = self.form("files.info", &self.bot.clone(), &[("file", file)]).await?;
        serde_json::from_value(v.get("file").cloned().unwrap_or_default()).map_err(|e| ApiError::Decode(e.to_string()))
    }

    /// `emoji.list` → name → URL or `alias:other`.
    pub(crate) async fn emoji_list(&self) -> Result<std::collections::HashMap<String, String>, ApiError> {
        let v = self.form("emoji.list", &self.bot.clone(), &[]).await?;
        let mut out = std::collections::HashMap::new();
        if let Some(map) = v.get("emoji").and_then(Value::as_object) {
            for (k, v) in map {
                if let Some(s) = v.as_str() {
                    out.insert(k.clone(), s.to_string());
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn auth_revoke(&self, token: &Secret) -> Result<(), ApiError> {
        self.form("auth.revoke", token, &[]).await.map(|_| ())
    }
}

/// The `Retry-After` header, in whole seconds.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

/// Reads a body in chunks, giving up with `too_large` as soon as it passes
/// `max` bytes (or says up front that it will), so memory stays bounded.
async fn read_capped(mut resp: reqwest::Response, max: usize, too_large: ApiError) -> Result<Vec<u8>, ApiError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| ApiError::Transport(without_url(e)))? {
        if out.len() + chunk.len() > max {
            return Err(too_large);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Slack's `ok` envelope: the answer itself, or the error it names. An
/// `ok:false` without an error code says nothing permanent, so it is a
/// (retried) [`ApiError::Decode`] like any other answer we cannot read.
fn check_ok(v: Value, retry_after: Option<Duration>) -> Result<Value, ApiError> {
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(v);
    }
    match v.get("error").and_then(Value::as_str) {
        Some("ratelimited" | "rate_limited") => Err(ApiError::RateLimited { retry_after }),
        Some(err) if !err.is_empty() => Err(ApiError::Slack(err.to_string())),
        _ => Err(ApiError::Decode("Slack answered ok:false without an error code".into())),
    }
}

/// reqwest errors print the URL; ours carry no secrets but keep logs short.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn downloads_only_from_slack_or_the_api_origin() {
        let c = SlackClient::new(Url::parse("http://127.0.0.1:9/api/").unwrap(), Secret::new("xoxb-1"), Secret::new("xapp-1")).unwrap();
        assert!(c.may_download("https://files.slack.com/files-pri/T1-F1/a.png"));
        assert!(c.may_download("https://avatars.slack-edge.com/2020/a_512.png"));
        assert!(c.may_download("http://127.0.0.1:9/files/a.png"));
        assert!(!c.may_download("http://127.0.0.1:10/files/a.png"));
        assert!(!c.may_download("https://evil.example.com/a.png"));
        assert!(!c.may_download("https://files.slack.com.evil.com/a.png"));
        assert!(!c.may_download("http://files.slack.com/a.png"));
    }

    #[test]
    fn auth_errors_are_permanent() {
        let e = ApiError::Slack("invalid_auth".into());
        assert!(e.is_auth() && e.is_permanent());
        assert!(!ApiError::RateLimited { retry_after: None }.is_permanent());
        assert!(!ApiError::Slack("internal_error".into()).is_permanent());
    }

    #[test]
    fn ok_false_without_an_error_code_is_retried_not_dead_lettered() {
        for body in [json!({"ok": false}), json!({"ok": false, "error": ""}), json!({"ok": false, "error": 7}), json!({})] {
            let e = check_ok(body.clone(), None).expect_err("not ok");
            assert!(matches!(e, ApiError::Decode(_)) && !e.is_permanent(), "{body}: {e:?}");
        }
        let e = check_ok(json!({"ok": false, "error": "rate_limited"}), Some(Duration::from_secs(3))).expect_err("not ok");
        assert!(matches!(e, ApiError::RateLimited { retry_after: Some(d) } if d.as_secs() == 3), "{e:?}");
        assert!(matches!(check_ok(json!({"ok": false, "error": "invalid_auth"}), None), Err(ApiError::Slack(c)) if c == "invalid_auth"));
    }

    #[test]
    fn a_cut_off_answer_is_retried_and_a_refused_redirect_is_not() {
        let big = ApiError::AnswerTooLarge(MAX_ANSWER_BYTES);
        assert!(!big.is_permanent());
        assert_eq!(big.to_string(), "Slack's answer was larger than 8 MiB, so it was cut off");
        assert!(ApiError::Redirect("x".into()).is_permanent());
    }
}
