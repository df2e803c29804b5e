//! Configuration: the TOML file, environment overrides, defaults and validation.
//!
//! Every problem is a [`ConfigError`] that names the key and says what is wrong
//! in one sentence; `main` prints it and exits with status 2.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::secret::Secret;

/// The default Web API base, used when neither file nor environment names one.
pub(crate) const DEFAULT_API_URL: &str = "https://slack.com/api/";

/// One sentence naming the key and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    slack: FileSlack,
    oauth: FileOauth,
    storage: FileStorage,
    limits: Limits,
    images: Images,
    metrics: FileMetrics,
    schedule: Schedule,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileSlack {
    app_token: Option<Secret>,
    bot_token: Option<Secret>,
    user_token: Option<Secret>,
    api_url: Option<String>,
    admins: Vec<String>,
    connections: Option<u8>,
    command: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileOauth {
    client_id: Option<String>,
    client_secret: Option<Secret>,
    redirect_url: Option<String>,
    pkce: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileStorage {
    path: Option<PathBuf>,
    unwritable_exit_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileMetrics {
    listen: Option<String>,
    allow_remote: bool,
    allowed_hosts: Vec<String>,
    csv: Option<PathBuf>,
}

/// Budgets the bot keeps for itself and for members.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Commands one member may send a minute before getting one polite notice.
    pub commands_per_minute: u32,
    /// Slack allows 10 profile updates a minute per member (name and photo each count).
    pub(crate) profile_updates_per_minute: u32,
    /// `users.setPhoto` is Tier 2: about 20 a minute for the whole app.
    pub(crate) photos_per_minute: u32,
    /// After a write, further status changes within this many seconds are
    /// debounced: the bot waits for the member to settle before writing again.
    pub(crate) settle_seconds: u64,
    /// Attempts before a transient failure is dead-lettered.
    pub(crate) max_attempts: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { commands_per_minute: 20, profile_updates_per_minute: 10, photos_per_minute: 20, settle_seconds: 2, max_attempts: 8 }
    }
}

/// When background upkeep runs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Schedule {
    /// Local hour (0–23) for the nightly emoji.list refresh, when the workspace is quiet.
    pub(crate) emoji_refresh_hour: u8,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { emoji_refresh_hour: 4 }
    }
}

/// What photos the bot accepts and how it stores them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Images {
    /// Side of the stored square, 512–1024.
    pub size: u32,
    /// Largest accepted upload, bytes.
    pub(crate) max_bytes: usize,
    /// Largest accepted side, pixels.
    pub(crate) max_side: u32,
}

impl Default for Images {
    fn default() -> Self {
        Images { size: 512, max_bytes: 10 * 1024 * 1024, max_side: 8192 }
    }
}

/// Multi-user OAuth settings; present only when client id and secret (or PKCE) are set.
#[derive(Debug, Clone)]
pub struct OauthConfig {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub redirect_url: Option<String>,
    pub(crate) pkce: bool,
}

#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
    pub allow_remote: bool,
    /// Host names (besides `localhost` and the listen address) the listener answers to.
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) csv: Option<PathBuf>,
}

/// The parts of the configuration the app manifest depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestSettings {
    pub command: String,
    pub redirect_url: Option<String>,
    /// `[oauth] pkce = true`: the app is a public client (`oauth_config.pkce_enabled`).
    pub pkce: bool,
}

/// The validated configuration the bot runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub app_token: Secret,
    pub bot_token: Secret,
    pub user_token: Option<Secret>,
    /// Web API base, always ending in `/`.
    pub api_url: Url,
    pub admins: Vec<String>,
    pub connections: u8,
    /// The slash command, with its leading `/`.
    pub command: String,
    pub oauth: Option<OauthConfig>,
    pub db_path: PathBuf,
    /// `[storage] unwritable_exit_seconds`: how long the store may stay unwritable before the
    /// bot exits for a restart (see `store::health`).
    pub(crate) unwritable_exit: std::time::Duration,
    pub limits: Limits,
    pub images: Images,
    pub metrics: MetricsConfig,
    pub(crate) schedule: Schedule,
}

/// Reads the environment through a function so tests can feed their own.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment; empty values count as unset.
pub(crate) struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Config {
    /// Loads from `--config PATH`, else `statusinator.toml` if present, else env alone.
    pub fn load(path: Option<&Path>, env: &dyn Env) -> Result<Config, ConfigError> {
        Self::from_parts(chosen_file(path)?, env)
    }

    /// What `statusinator manifest` needs: the slash command name and the OAuth redirect URL, from
    /// the same file and environment as `load` but without requiring tokens, because the manifest
    /// is printed before the app (and so any token) exists.
    pub(crate) fn manifest_settings(path: Option<&Path>, env: &dyn Env) -> Result<ManifestSettings, ConfigError> {
        let f = chosen_file(path)?;
        let redirect_url = env.var("SLACK_REDIRECT_URL").or(f.oauth.redirect_url).filter(|r| !r.trim().is_empty());
        if let Some(r) = &redirect_url {
            check_redirect_url(r)?;
        }
        Ok(ManifestSettings { command: command_name(f.slack.command)?, redirect_url, pkce: f.oauth.pkce })
    }

    /// Parses TOML text (used by tests and `load`).
    pub fn from_toml(text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
        let file: FileConfig = parse_toml(text, "the config")?;
        Self::from_parts(file, env)
    }

    /// The file with the environment applied, checked in a fixed order (tokens, Slack settings,
    /// OAuth, limits, images, schedule, metrics, storage): the first problem is the one reported.
    fn from_parts(mut f: FileConfig, env: &dyn Env) -> Result<Config, ConfigError> {
        apply_env(&mut f, env);
        let app_token = require_token(
            f.slack.app_token,
            "slack.app_token",
            "SLACK_APP_TOKEN",
            &["xapp"],
            "an app-level token (xapp-…) with connections:write, used for Socket Mode",
        )?;
        let bot_token = require_token(f.slack.bot_token, "slack.bot_token", "SLACK_BOT_TOKEN", &["xoxb"], "a bot token (xoxb-…)")?;
        let user_token = match f.slack.user_token {
            Some(t) if !t.is_empty() => Some(check_kind(t, "slack.user_token", "SLACK_USER_TOKEN", &["xoxp"], "a user token (xoxp-…)")?),
            _ => None,
        };

        let api_url = parse_api_url(f.slack.api_url.as_deref().unwrap_or(DEFAULT_API_URL))?;

        let connections = f.slack.connections.unwrap_or(1);
        if !(1..=2).contains(&connections) {
            return Err(bad(format!("slack.connections must be 1 or 2, not {connections}")));
        }
        let command = command_name(f.slack.command)?;
        for a in &f.slack.admins {
            if !looks_like_user_id(a) {
                return Err(bad(format!("slack.admins must list member ids such as U0123ABCD, and {a:?} is not one")));
            }
        }
        let oauth = oauth_config(f.oauth)?;
        check_limits(&f.limits)?;
        check_images(&f.images)?;
        if f.schedule.emoji_refresh_hour > 23 {
            return Err(bad(format!("schedule.emoji_refresh_hour must be an hour from 0 to 23, not {}", f.schedule.emoji_refresh_hour)));
        }
        let metrics = metrics_config(f.metrics)?;

        Ok(Config {
            app_token,
            bot_token,
            user_token,
            api_url,
            admins: f.slack.admins,
            connections,
            command,
            oauth,
            db_path: f.storage.path.unwrap_or_else(|| PathBuf::from("statusinator.db")),
            unwritable_exit: unwritable_exit(f.storage.unwritable_exit_seconds)?,
            limits: f.limits,
            images: f.images,
            metrics,
            schedule: f.schedule,
        })
    }

    /// The origin of the API URL (scheme, host, port), used for the authorize
    /// link and to decide which hosts images may be downloaded from.
    pub(crate) fn api_origin(&self) -> String {
        self.api_url.origin().ascii_serialization()
    }

    pub fn is_admin(&self, user: &str) -> bool {
        self.admins.iter().any(|a| a == user)
    }
}

/// The environment variables that override the file.
fn apply_env(f: &mut FileConfig, env: &dyn Env) {
    override_secret(&mut f.slack.app_token, env, "SLACK_APP_TOKEN");
    override_secret(&mut f.slack.bot_token, env, "SLACK_BOT_TOKEN");
    override_secret(&mut f.slack.user_token, env, "SLACK_USER_TOKEN");
    override_secret(&mut f.oauth.client_secret, env, "SLACK_CLIENT_SECRET");
    if let Some(v) = env.var("SLACK_API_URL") {
        f.slack.api_url = Some(v);
    }
    if let Some(v) = env.var("SLACK_CLIENT_ID") {
        f.oauth.client_id = Some(v);
    }
    if let Some(v) = env.var("SLACK_REDIRECT_URL") {
        f.oauth.redirect_url = Some(v);
    }
    if let Some(v) = env.var("STATUSINATOR_DB") {
        f.storage.path = Some(PathBuf::from(v));
    }
    if let Some(v) = env.var("STATUSINATOR_ADMINS") {
        f.slack.admins = v.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_string).collect();
    }
}

/// `[oauth]`: off without a client id; with one, a secret or PKCE is required.
fn oauth_config(o: FileOauth) -> Result<Option<OauthConfig>, ConfigError> {
    let Some(client_id) = o.client_id.filter(|s| !s.trim().is_empty()) else {
        if o.client_secret.is_some() || o.pkce {
            return Err(bad("oauth.client_id is missing: set SLACK_CLIENT_ID or [oauth] client_id to let members connect"));
        }
        return Ok(None);
    };
    if o.client_secret.is_none() && !o.pkce {
        return Err(bad("oauth.client_secret is missing: set SLACK_CLIENT_SECRET, or [oauth] pkce = true for a public client"));
    }
    if let Some(r) = &o.redirect_url {
        check_redirect_url(r)?;
    }
    Ok(Some(OauthConfig { client_id, client_secret: o.client_secret, redirect_url: o.redirect_url, pkce: o.pkce }))
}

/// `[limits]` within what Slack allows.
fn check_limits(limits: &Limits) -> Result<(), ConfigError> {
    if limits.commands_per_minute == 0 {
        return Err(bad("limits.commands_per_minute must be at least 1"));
    }
    if !(1..=10).contains(&limits.profile_updates_per_minute) {
        return Err(bad("limits.profile_updates_per_minute must be between 1 and 10 (Slack allows 10)"));
    }
    if !(1..=20).contains(&limits.photos_per_minute) {
        return Err(bad("limits.photos_per_minute must be between 1 and 20 (users.setPhoto is Tier 2)"));
    }
    if limits.max_attempts == 0 {
        return Err(bad("limits.max_attempts must be at least 1"));
    }
    Ok(())
}

/// `[images]`: the stored size, the largest upload and the largest side.
fn check_images(images: &Images) -> Result<(), ConfigError> {
    if !(512..=1024).contains(&images.size) {
        return Err(bad(format!("images.size must be between 512 and 1024 pixels, not {}", images.size)));
    }
    if images.max_bytes == 0 || images.max_bytes > 10 * 1024 * 1024 {
        return Err(bad("images.max_bytes must be between 1 and 10485760 (10 MB)"));
    }
    if images.max_side < images.size || images.max_side > 8192 {
        return Err(bad("images.max_side must be between images.size and 8192"));
    }
    Ok(())
}

/// `[metrics]`: the listen address is loopback unless `allow_remote` says otherwise.
fn metrics_config(m: FileMetrics) -> Result<MetricsConfig, ConfigError> {
    let listen = match m.listen {
        None => None,
        Some(s) => {
            let addr: SocketAddr =
                s.parse().map_err(|_| bad(format!("metrics.listen must be an address such as 127.0.0.1:9464, not {s:?}")))?;
            if !addr.ip().is_loopback() && !m.allow_remote {
                return Err(bad(format!("metrics.listen {addr} is not a loopback address: set [metrics] allow_remote = true to serve metrics beyond this machine")));
            }
            Some(addr)
        }
    };
    Ok(MetricsConfig {
        listen,
        allow_remote: m.allow_remote,
        allowed_hosts: m.allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        csv: m.csv,
    })
}

/// `[storage] unwritable_exit_seconds`, default 300 (five minutes).
fn unwritable_exit(seconds: Option<u64>) -> Result<std::time::Duration, ConfigError> {
    let s = seconds.unwrap_or(300);
    if !(1..=86_400).contains(&s) {
        return Err(bad(format!("storage.unwritable_exit_seconds must be between 1 and 86400 seconds, not {s}")));
    }
    Ok(std::time::Duration::from_secs(s))
}

/// `--config PATH`, else `statusinator.toml` if present, else nothing (the environment alone).
fn chosen_file(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let default = Path::new("statusinator.toml");
    match path {
        Some(p) => read_file(p),
        None if default.exists() => read_file(default),
        None => Ok(FileConfig::default()),
    }
}

fn read_file(p: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(p).map_err(|e| bad(format!("--config {}: cannot read the file ({})", p.display(), plain_io(&e))))?;
    parse_toml(&text, &p.display().to_string())
}

fn plain_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// One sentence for a TOML error: where (file and line), which key, what is
/// wrong. String values are left out of the message: a token pasted into the
/// wrong key must not end up on the terminal or in a log.
fn parse_toml(text: &str, origin: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map(|before| format!(" (line {})", before.matches('\n').count() + 1))
            .unwrap_or_default();
        let key = toml_error_key(&e, text).map(|k| format!(" {k}:")).unwrap_or_default();
        let msg = redact_strings(&e.message().split_whitespace().collect::<Vec<_>>().join(" "));
        bad(format!("{origin}{line}:{key} {msg}"))
    })
}

/// The dotted key a TOML error is about (`slack.app_token`), if it has one.
fn toml_error_key(e: &toml::de::Error, text: &str) -> Option<String> {
    // toml keeps the key path private but prints it as a last line
    // "in `a.b`" when the error carries no input.
    let mut bare = e.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let mut key = shown
        .trim_end()
        .lines()
        .skip(e.message().lines().count())
        .last()
        .and_then(|l| l.strip_prefix("in `")?.strip_suffix('`'))
        .map(str::to_string)
        .unwrap_or_default();
    // "unknown field `x`": the parent path plus the offending name.
    if let Some(name) = e.message().strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
        key = if key.is_empty() { name.to_string() } else { format!("{key}.{name}") };
    }
    // Otherwise the text under the error, when it is a bare key (`duplicate key`).
    if key.is_empty() {
        let under = e.span().and_then(|s| text.get(s)).unwrap_or("").trim();
        if !under.is_empty() && under.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            key = under.to_string();
        }
    }
    (!key.is_empty()).then_some(key)
}

/// Replaces quoted string values in a serde message (`string "xoxb-…"`) with `string`.
fn redact_strings(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("string \"") {
        out.push_str(&rest[..i + "string".len()]);
        let after = &rest[i + "string \"".len()..];
        let mut escaped = false;
        let mut end = after.len();
        for (j, c) in after.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = j + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn override_secret(slot: &mut Option<Secret>, env: &dyn Env, var: &str) {
    if let Some(v) = env.var(var) {
        *slot = Some(Secret::new(v.trim()));
    }
}

fn require_token(t: Option<Secret>, key: &str, var: &str, kinds: &[&str], what: &str) -> Result<Secret, ConfigError> {
    match t {
        Some(t) if !t.is_empty() => check_kind(t, key, var, kinds, what),
        _ => Err(bad(format!("{key} is missing: set {var} or [{}] {} to {what}", section(key), field(key)))),
    }
}

fn check_kind(t: Secret, key: &str, var: &str, kinds: &[&str], what: &str) -> Result<Secret, ConfigError> {
    if kinds.contains(&t.kind()) && t.expose().len() > t.kind().len() + 1 {
        Ok(t)
    } else {
        let got = if KNOWN_KINDS.contains(&t.kind()) {
            format!("a {}- token", t.kind())
        } else {
            "something that is not a Slack token".to_string()
        };
        Err(bad(format!("{key} ({var}) must be {what}, but it is {got}")))
    }
}

/// Token prefixes it is safe to name in a message (never more of the value).
const KNOWN_KINDS: &[&str] = &["xapp", "xoxb", "xoxp", "xoxe", "xoxa", "xoxr", "xoxs", "xoxo", "xoxc", "xoxd"];

fn section(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}

fn field(key: &str) -> &str {
    key.split('.').nth(1).unwrap_or(key)
}

/// `[slack] command`, with the leading `/` added if it was left out.
fn command_name(configured: Option<String>) -> Result<String, ConfigError> {
    let command = configured.unwrap_or_else(|| "/status-preset".into());
    let command = if command.starts_with('/') { command } else { format!("/{command}") };
    if command.len() < 2 || command.len() > 32 || command.contains(char::is_whitespace) {
        return Err(bad("slack.command must be a slash command name such as /status-preset (no spaces, at most 32 characters)"));
    }
    Ok(command)
}

fn check_redirect_url(r: &str) -> Result<(), ConfigError> {
    let u = Url::parse(r).map_err(|e| bad(format!("oauth.redirect_url is not a URL ({e})")))?;
    if u.scheme() != "https" && !(u.scheme() == "http" && is_loopback_host(&u)) {
        return Err(bad("oauth.redirect_url must be https://, or http://localhost with PKCE"));
    }
    Ok(())
}

fn is_loopback_host(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// True for hosts where plain `http://`/`ws://` is acceptable (tests on loopback).
pub(crate) fn url_is_loopback(u: &Url) -> bool {
    is_loopback_host(u)
}

fn parse_api_url(raw: &str) -> Result<Url, ConfigError> {
    let mut s = raw.trim().to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    let u = Url::parse(&s).map_err(|e| bad(format!("slack.api_url (SLACK_API_URL) is not a URL: {e}")))?;
    match u.scheme() {
        "https" => Ok(u),
        "http" if is_loopback_host(&u) => Ok(u),
        "http" => Err(bad("slack.api_url (SLACK_API_URL) must use https:// (plain http:// is accepted only for loopback hosts)")),
        other => Err(bad(format!("slack.api_url (SLACK_API_URL) must be an https:// URL, not {other}://"))),
    }
}

pub(crate) fn looks_like_user_id(s: &str) -> bool {
    s.len() >= 2
        && s.len() <= 20
        && (s.starts_with('U') || s.starts_with('W'))
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    pub struct MapEnv(pub HashMap<&'static str, &'static str>);
    impl Env for MapEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.0.get(key).map(|s| s.to_string())
        }
    }

    fn env(pairs: &[(&'static str, &'static str)]) -> MapEnv {
        MapEnv(pairs.iter().cloned().collect())
    }

    const OK: &[(&str, &str)] = &[("SLACK_APP_TOKEN", "xapp-1-A1-2-abc"), ("SLACK_BOT_TOKEN", "xoxb-1-2-abc")];

    #[test]
    fn env_alone_is_enough() {
        let c = Config::from_toml("", &env(OK)).unwrap();
        assert_eq!(c.api_url.as_str(), DEFAULT_API_URL);
        assert_eq!(c.command, "/status-preset");
        assert_eq!(c.images.size, 512);
        assert!(c.user_token.is_none());
    }

    #[test]
    fn missing_app_token_names_the_key() {
        let e = Config::from_toml("", &env(&[("SLACK_BOT_TOKEN", "xoxb-1")])).unwrap_err();
        assert!(e.0.contains("slack.app_token"), "{e}");
        assert!(e.0.contains("SLACK_APP_TOKEN"), "{e}");
    }

    #[test]
    fn bot_token_in_app_token_is_refused() {
        let e = Config::from_toml("", &env(&[("SLACK_APP_TOKEN", "xoxb-1-2"), ("SLACK_BOT_TOKEN", "xoxb-1")])).unwrap_err();
        assert!(e.0.contains("slack.app_token") && e.0.contains("xoxb"), "{e}");
        assert!(!e.0.contains("1-2"), "token value leaked: {e}");
    }

    #[test]
    fn http_only_for_loopback() {
        let mut pairs = OK.to_vec();
        pairs.push(("SLACK_API_URL", "http://127.0.0.1:4000/api"));
        let c = Config::from_toml("", &env(&pairs)).unwrap();
        assert_eq!(c.api_url.as_str(), "http://127.0.0.1:4000/api/");
        assert_eq!(c.api_origin(), "http://127.0.0.1:4000");
        pairs.pop();
        pairs.push(("SLACK_API_URL", "http://example.com/api/"));
        assert!(Config::from_toml("", &env(&pairs)).unwrap_err().0.contains("slack.api_url"));
    }

    #[test]
    fn unknown_key_and_bad_values_are_named() {
        let e = Config::from_toml("[slack]\nap_token = \"x\"\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("ap_token"), "{e}");
        let e = Config::from_toml("[images]\nsize = 100\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("images.size"), "{e}");
        let e = Config::from_toml("[metrics]\nlisten = \"0.0.0.0:9464\"\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("allow_remote"), "{e}");
        let e = Config::from_toml("[slack]\nadmins = [\"bob\"]\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("slack.admins"), "{e}");
    }

    #[test]
    fn toml_errors_name_the_key_and_hide_string_values() {
        let e = Config::from_toml("[slack]\napp_token = 42\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("slack.app_token") && e.0.contains("(line 2)"), "{e}");
        let e = Config::from_toml("[slack]\nconnections = \"xoxb-1-secret\"\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("slack.connections"), "{e}");
        assert!(!e.0.contains("secret"), "a string value leaked: {e}");
        let e = Config::from_toml("[slack]\nap_token = \"x\"\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("slack.ap_token") && e.0.contains("(line 2)"), "{e}");
        let e = Config::from_toml("[limits]\ncommands_per_minute = -3\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("limits.commands_per_minute"), "{e}");
        let e = Config::from_toml("[slack\n", &env(OK)).unwrap_err();
        assert!(e.0.contains("(line 1)") && !e.0.contains('\n'), "{e}");
        assert_eq!(redact_strings(r#"invalid type: string "a\"b", expected u8"#), "invalid type: string, expected u8");
    }

    #[test]
    fn odd_token_values_are_not_echoed() {
        let e = Config::from_toml("", &env(&[("SLACK_APP_TOKEN", "xoxsecretvalue"), ("SLACK_BOT_TOKEN", "xoxb-1")])).unwrap_err();
        assert!(e.0.contains("slack.app_token") && !e.0.contains("secretvalue"), "{e}");
    }

    #[test]
    fn file_values_and_env_overrides() {
        let toml = "[slack]\napp_token = \"xapp-file\"\nbot_token = \"xoxb-file\"\nadmins = [\"U1\"]\n[storage]\npath = \"/tmp/x.db\"\n";
        let c = Config::from_toml(toml, &env(&[("STATUSINATOR_DB", "/tmp/y.db")])).unwrap();
        assert_eq!(c.app_token.expose(), "xapp-file");
        assert_eq!(c.db_path, PathBuf::from("/tmp/y.db"));
        assert!(c.is_admin("U1"));
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// Just the two required tokens.
    struct E;
    impl Env for E {
        fn var(&self, key: &str) -> Option<String> {
            match key {
                "SLACK_APP_TOKEN" => Some("xapp-1-x".into()),
                "SLACK_BOT_TOKEN" => Some("xoxb-1-x".into()),
                _ => None,
            }
        }
    }

    /// config.example.toml documents every key with its default: it must parse
    /// and give exactly the defaults.
    #[test]
    fn the_example_config_is_the_defaults() {
        let text = include_str!("../config.example.toml");
        let c = Config::from_toml(text, &E).unwrap();
        let d = Config::from_toml("", &E).unwrap();
        assert_eq!(c.limits, d.limits);
        assert_eq!(c.images, d.images);
        assert_eq!(c.api_url, d.api_url);
        assert_eq!(c.command, d.command);
        assert_eq!(c.db_path, d.db_path);
        assert_eq!(c.unwritable_exit, d.unwritable_exit);
        assert_eq!(c.connections, d.connections);
        assert_eq!(c.schedule, d.schedule);
    }

    #[test]
    fn unwritable_exit_seconds_is_checked() {
        assert_eq!(Config::from_toml("", &E).unwrap().unwritable_exit.as_secs(), 300);
        let e = Config::from_toml("[storage]\nunwritable_exit_seconds = 0\n", &E).unwrap_err();
        assert!(e.0.contains("storage.unwritable_exit_seconds"), "{e}");
    }

    #[test]
    fn refresh_hour_is_checked() {
        assert_eq!(Config::from_toml("[schedule]\nemoji_refresh_hour = 23\n", &E).unwrap().schedule.emoji_refresh_hour, 23);
        let e = Config::from_toml("[schedule]\nemoji_refresh_hour = 24\n", &E).unwrap_err();
        assert!(e.0.contains("schedule.emoji_refresh_hour"), "{e}");
    }
}
