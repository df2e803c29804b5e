//! The fake Slack server: Web API under `/api/{method}`, Socket Mode websocket at `/ws`,
//! avatars under `/avatars/`, private files under `/files/`, response URLs under `/response/`.
//! See the `//!` header of `tests/common/mod.rs` for how tests use it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::connect_info::Connected;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// App-level token (Socket Mode): only `apps.connections.open` accepts it.
pub const APP_TOKEN: &str = "xapp-1-A1-test";
/// Bot token.
pub const BOT_TOKEN: &str = "xoxb-test-bot";
/// The bot's user id (`auth.test` with the bot token).
pub const BOT_USER: &str = "UBOT";
/// The bot id (`auth.test` `bot_id`, `bot_id` of the bot's own messages).
pub const BOT_ID: &str = "B1";
/// The app id (hello `connection_info.app_id`, `api_app_id` of payloads).
pub const APP_ID: &str = "A1";
/// The workspace id.
pub const TEAM: &str = "T1";
/// The workspace domain (`team.domain` in interactive payloads).
pub const TEAM_DOMAIN: &str = "fake";
/// Scopes reported in `x-oauth-scopes` for the bot token.
pub const BOT_SCOPES: &str = "chat:write,commands,emoji:read,files:read,files:write,im:history,users:read";
/// Scopes reported in `x-oauth-scopes` for member (user) tokens.
pub const USER_SCOPES: &str = "users.profile:read,users.profile:write";
/// The slash command the payload builders use.
pub const COMMAND: &str = "/status-preset";

const BODY_LIMIT: usize = 64 << 20;
const AVATAR_SIZES: [u32; 7] = [24, 32, 48, 72, 192, 512, 1024];

// ---------------------------------------------------------------------------------------------
// Public data types
// ---------------------------------------------------------------------------------------------

/// An injected failure, consumed by one call of the method it was queued for.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// HTTP 429 with `Retry-After: retry_after` and body `{"ok":false,"error":"ratelimited"}`.
    Http429 { retry_after: u64 },
    /// HTTP 200 with `{"ok":false,"error":<code>}`.
    SlackError(String),
    /// That HTTP status with a plain-text body (not JSON).
    Status(u16),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// HTTP 302 with `Location: <url>` (for files, avatars and response URLs too).
    Redirect(String),
    /// HTTP 200, `application/json`, exactly this body (e.g. `{"ok":false}`).
    Body(String),
    /// HTTP 200, `application/json`, streamed without a Content-Length: `{"ok":true,`, then
    /// spaces up to this many bytes in all, then `"pad":1}` (valid JSON of any size, never in memory).
    HugeBody(usize),
}

/// One recorded Web API call.
#[derive(Clone)]
pub struct Call {
    /// `users.profile.set`, `chat.postMessage`, ...
    pub method: String,
    /// The `Authorization: Bearer` token, if any.
    pub token: Option<String>,
    pub content_type: Option<String>,
    /// Form fields (and query parameters) as a JSON object of strings, or the JSON body's fields.
    pub params: Value,
    /// Multipart file parts: (field name, file name, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
    pub at: Instant,
}

impl Call {
    /// A parameter as a string (numbers and bools are stringified).
    pub fn param(&self, key: &str) -> Option<String> {
        match self.params.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A parameter that is JSON: a form field holding a JSON string is parsed, a JSON body field is returned as is.
    pub fn json_param(&self, key: &str) -> Option<Value> {
        json_field(self.params.get(key)?)
    }

    /// Bytes of the multipart part with this field name.
    pub fn file(&self, field: &str) -> Option<&[u8]> {
        self.files.iter().find(|(f, _, _)| f == field).map(|(_, _, b)| b.as_slice())
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<String> = self.files.iter().map(|(field, name, b)| format!("{field}={name} ({} bytes)", b.len())).collect();
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("token", &self.token)
            .field("content_type", &self.content_type)
            .field("params", &self.params)
            .field("files", &files)
            .finish()
    }
}

/// A text frame received on the websocket that parsed as `{"envelope_id": ...}`.
#[derive(Clone, Debug)]
pub struct Ack {
    pub envelope_id: String,
    pub payload: Option<Value>,
    pub conn: u64,
    pub at: Instant,
}

/// Any text frame received on the websocket.
#[derive(Clone, Debug)]
pub struct Frame {
    pub conn: u64,
    pub text: String,
    pub at: Instant,
}

/// Who ended a websocket connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosedBy {
    /// The bot sent a close frame, or the TCP stream ended / errored.
    Client,
    /// The fake closed it (`close_sockets`, `drop_sockets`).
    Server,
}

#[derive(Clone, Debug)]
pub struct Closed {
    pub conn: u64,
    pub at: Instant,
    pub by: ClosedBy,
    /// "close frame 1000 ...", "eof", "error: ...", "dropped", "server close 1000 ..."
    pub detail: String,
}

/// An envelope the fake sent (or queued, `conn: None`, when no socket was open).
#[derive(Clone, Debug)]
pub struct SentEnvelope {
    pub envelope_id: String,
    /// `events_api`, `slash_commands`, `interactive`
    pub kind: String,
    pub payload: Value,
    pub accepts_response_payload: bool,
    pub retry_attempt: u32,
    pub conn: Option<u64>,
    pub at: Instant,
}

/// A POST to a response URL (`/response/<id>`).
#[derive(Clone, Debug)]
pub struct ResponsePost {
    pub id: String,
    /// The JSON body, or the raw body as a JSON string if it was not JSON.
    pub body: Value,
    pub content_type: Option<String>,
    pub at: Instant,
}

/// A GET of an avatar, a private file or the authorize page.
#[derive(Clone, Debug)]
pub struct Fetch {
    pub path: String,
    pub token: Option<String>,
    pub status: u16,
    pub at: Instant,
}

// ---------------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------------

struct Member {
    id: String,
    name: String,
    token: String,
    profile: Map<String, Value>,
    photo: Vec<u8>,
    updated: u64,
}

struct FileEntry {
    id: String,
    name: String,
    mimetype: String,
    bytes: Vec<u8>,
    user: String,
    created: u64,
}

/// A file upload between `files.getUploadURLExternal` and `files.completeUploadExternal`.
struct PendingUpload {
    filename: String,
    length: usize,
    alt: String,
    /// What was POSTed to the upload URL (None: nothing yet).
    bytes: Option<Vec<u8>>,
}

/// One upload the bot completed (`files.completeUploadExternal`).
#[derive(Clone, Debug)]
pub struct Upload {
    pub file_id: String,
    pub filename: String,
    pub title: String,
    pub alt: String,
    pub bytes: Vec<u8>,
    /// The POST to the upload URL carried an Authorization header.
    pub post_had_token: bool,
    /// `channel_id`/`channels` given to `files.completeUploadExternal` (should be none).
    pub shared_to: Option<String>,
}

struct SocketEntry {
    tx: mpsc::UnboundedSender<Cmd>,
    gate: Arc<GateState>,
}

enum Cmd {
    Text(String),
    Close(u16, String),
    Drop,
}

struct Fake {
    origin: String,
    next_id: u64,
    last_ts_micros: u128,
    members: BTreeMap<String, Member>,
    revoked: HashSet<String>,
    avatars: HashMap<String, Vec<u8>>,
    avatar_cache: HashMap<(String, u32), Vec<u8>>,
    files: BTreeMap<String, FileEntry>,
    pending_uploads: HashMap<String, PendingUpload>,
    uploads: Vec<Upload>,
    /// Upload ids whose POST carried an Authorization header.
    upload_posts_with_token: HashSet<String>,
    emoji: HashMap<String, String>,
    /// Emoji images served at `/emoji/<name>.png` (what `emoji.list` and
    /// `status_emoji_display_info` point at).
    emoji_images: HashMap<String, Vec<u8>>,
    oauth_codes: HashMap<String, String>,
    /// code → the PKCE S256 challenge it was issued for (checked against `code_verifier`).
    oauth_challenges: HashMap<String, String>,
    /// Token rotation: (expires_in of exchanged tokens, expires_in of refreshed ones).
    oauth_rotation: Option<(u64, u64)>,
    /// Unspent refresh token → member.
    oauth_refresh: HashMap<String, String>,
    /// When set, refresh grants answer this error.
    oauth_refresh_error: Option<String>,
    calls: Vec<Call>,
    faults: HashMap<String, VecDeque<Fault>>,
    connections_open_error: Option<String>,
    enforce_rate_limits: bool,
    profile_set_times: HashMap<String, VecDeque<Instant>>,
    set_photo_times: VecDeque<Instant>,
    violations: Vec<String>,
    triggers: HashMap<String, (Instant, bool)>,
    trigger_ttl: Duration,
    echo_bot_messages: bool,
    views: HashMap<String, Value>,
    home_views: HashMap<String, Value>,
    responses: Vec<ResponsePost>,
    response_owner: HashMap<String, String>,
    fetches: Vec<Fetch>,
    // websocket
    connection_time: u64,
    tickets: HashSet<u64>,
    sockets: BTreeMap<u64, SocketEntry>,
    connections_opened: usize,
    acks: Vec<Ack>,
    frames: Vec<Frame>,
    pings: usize,
    closed: Vec<Closed>,
    opened: Vec<(u64, Instant)>,
    envelopes: Vec<SentEnvelope>,
    pending: Vec<(String, String)>,
    /// Members whose status clears itself: id → `status_expiration` (unix seconds). At expiry
    /// the status is cleared silently (no event), as Slack may do.
    expiring: BTreeMap<String, u64>,
}

struct Inner {
    origin: String,
    state: Mutex<Fake>,
}

impl Inner {
    /// The state, with every status whose expiration has passed already cleared.
    fn lock(&self) -> MutexGuard<'_, Fake> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.expire_statuses();
        st
    }
}

/// A fake Slack workspace on 127.0.0.1 (random port). Cheap to clone.
#[derive(Clone)]
pub struct FakeSlack {
    inner: Arc<Inner>,
}

impl fmt::Debug for FakeSlack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeSlack").field("origin", &self.inner.origin).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

fn unix_secs() -> u64 {
    unix_now().as_secs()
}

fn rand_hex(n: usize) -> String {
    let mut s = String::with_capacity(n);
    while s.len() < n {
        s.push_str(&format!("{:016x}", rand::random::<u64>()));
    }
    s.truncate(n);
    s
}

fn rand_upper(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..n).map(|_| CHARS[rand::random_range(0..CHARS.len())] as char).collect()
}

fn uuid() -> String {
    let h = rand_hex(32);
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

fn json_field(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Null => None,
        other => Some(other.clone()),
    }
}

/// PKCE S256: base64url(SHA-256(verifier)), no padding.
fn s256(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn p_str(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(rest.trim().to_string())
    } else {
        None
    }
}

fn content_type_of(headers: &HeaderMap) -> Option<String> {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn normalize_emoji(emoji: &str) -> String {
    let e = emoji.trim();
    if e.is_empty() || (e.starts_with(':') && e.ends_with(':') && e.len() > 1) {
        e.to_string()
    } else {
        format!(":{}:", e.trim_matches(':'))
    }
}

fn image_content_type(bytes: &[u8]) -> &'static str {
    match image::guess_format(bytes) {
        Ok(image::ImageFormat::Png) => "image/png",
        Ok(image::ImageFormat::Jpeg) => "image/jpeg",
        Ok(image::ImageFormat::Gif) => "image/gif",
        Ok(image::ImageFormat::WebP) => "image/webp",
        _ => "application/octet-stream",
    }
}

fn filetype_of(name: &str, mimetype: &str) -> String {
    if let Some((_, ext)) = name.rsplit_once('.') {
        return ext.to_ascii_lowercase();
    }
    mimetype.rsplit('/').next().unwrap_or("binary").to_string()
}

/// A JSON web answer.
struct Reply {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply { status: StatusCode::OK, headers: Vec::new(), body }
    }
    fn err(code: &str) -> Reply {
        Reply::ok(json!({"ok": false, "error": code}))
    }
    fn ratelimited(retry_after: u64) -> Reply {
        Reply {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: vec![("retry-after", retry_after.to_string())],
            body: json!({"ok": false, "error": "ratelimited"}),
        }
    }
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(HeaderName::from_static(k), v);
            }
        }
        resp
    }
}

fn fault_response(fault: Fault) -> Option<Response> {
    match fault {
        Fault::Delay(_) => None,
        Fault::Http429 { retry_after } => Some(Reply::ratelimited(retry_after).into_response()),
        Fault::SlackError(code) => Some(Reply::err(&code).into_response()),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some((status, [(header::CONTENT_TYPE, "text/plain")], format!("fake slack: injected HTTP {code}")).into_response())
        }
        Fault::Redirect(to) => Some((StatusCode::FOUND, [(header::LOCATION, to)]).into_response()),
        Fault::Body(body) => Some((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()),
        Fault::HugeBody(len) => Some(huge_json(len)),
    }
}

/// A streamed JSON answer of about `len` bytes (see [`Fault::HugeBody`]).
fn huge_json(len: usize) -> Response {
    static SPACES: [u8; 64 << 10] = [b' '; 64 << 10];
    let chunks = len / SPACES.len();
    let parts = std::iter::once(axum::body::Bytes::from_static(br#"{"ok":true,"#))
        .chain((0..chunks).map(|_| axum::body::Bytes::from_static(&SPACES)))
        .chain(std::iter::once(axum::body::Bytes::from_static(br#""pad":1}"#)))
        .map(Ok::<_, io::Error>);
    let body = axum::body::Body::from_stream(futures_util::stream::iter(parts));
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

enum Who {
    Missing,
    Unknown,
    Revoked,
    App,
    Bot,
    User(String),
}

// ---------------------------------------------------------------------------------------------
// State logic (all synchronous, called with the lock held)
// ---------------------------------------------------------------------------------------------

impl Fake {
    /// Notes (or forgets) when the member's status clears itself, from its `status_expiration`.
    fn track_expiry(&mut self, id: &str) {
        let at = self.members.get(id).and_then(|m| m.profile.get("status_expiration")).and_then(Value::as_u64).unwrap_or(0);
        if at == 0 {
            self.expiring.remove(id);
        } else {
            self.expiring.insert(id.to_string(), at);
        }
    }

    /// Clears, silently, every status whose expiration has come (as reads see it from then on).
    fn expire_statuses(&mut self) {
        if self.expiring.is_empty() {
            return;
        }
        let now = unix_secs();
        let due: Vec<(String, u64)> = self.expiring.iter().filter(|(_, at)| **at <= now).map(|(m, at)| (m.clone(), *at)).collect();
        for (id, at) in due {
            self.expiring.remove(&id);
            let Some(m) = self.members.get_mut(&id) else { continue };
            if m.profile.get("status_expiration").and_then(Value::as_u64) != Some(at) {
                continue;
            }
            for (k, v) in [("status_emoji", json!("")), ("status_text", json!("")), ("status_expiration", json!(0))] {
                m.profile.insert(k.into(), v);
            }
            m.profile.insert("status_emoji_display_info".into(), json!([]));
            m.updated = now;
        }
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A unique, increasing Slack timestamp "secs.micros".
    fn ts(&mut self) -> String {
        let now = unix_now().as_micros();
        let t = now.max(self.last_ts_micros + 1);
        self.last_ts_micros = t;
        format!("{}.{:06}", t / 1_000_000, t % 1_000_000)
    }

    fn trigger(&mut self) -> String {
        let n = self.next();
        let id = format!("{n}.{}.{}", 1000 + n, rand_hex(32));
        self.triggers.insert(id.clone(), (Instant::now(), false));
        id
    }

    fn who(&self, token: Option<&str>) -> Who {
        match token {
            None | Some("") => Who::Missing,
            Some(t) if self.revoked.contains(t) => Who::Revoked,
            Some(APP_TOKEN) => Who::App,
            Some(BOT_TOKEN) => Who::Bot,
            Some(t) => self.members.values().find(|m| m.token == t).map(|m| Who::User(m.id.clone())).unwrap_or(Who::Unknown),
        }
    }

    /// Issues a new rotating token pair for the member; the member's old token stops working.
    fn rotate_token(&mut self, member: &str) -> (String, String) {
        let n = self.next();
        let token = format!("xoxe.xoxp-{member}-{n}");
        let refresh = format!("xoxe-1-{member}-{n}-{}", rand_hex(8));
        if let Some(m) = self.members.get_mut(member) {
            m.token = token.clone();
        }
        self.revoked.remove(&token);
        self.oauth_refresh.insert(refresh.clone(), member.to_string());
        (token, refresh)
    }

    fn avatar_url(&self, hash: &str, size: Option<u32>) -> String {
        match size {
            None => format!("{}/avatars/{hash}.png", self.origin),
            Some(s) => format!("{}/avatars/{hash}_{s}.png", self.origin),
        }
    }

    fn set_photo(&mut self, id: &str, bytes: Vec<u8>) {
        let n = self.next();
        let hash = {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update(&bytes);
            h.update(n.to_le_bytes());
            hex::encode(h.finalize())[..12].to_string()
        };
        self.avatars.insert(hash.clone(), bytes.clone());
        let original = self.avatar_url(&hash, None);
        let sized: Vec<(String, String)> = AVATAR_SIZES.iter().map(|s| (format!("image_{s}"), self.avatar_url(&hash, Some(*s)))).collect();
        if let Some(m) = self.members.get_mut(id) {
            m.photo = bytes;
            m.profile.insert("avatar_hash".into(), json!(hash));
            m.profile.insert("image_original".into(), json!(original));
            m.profile.insert("is_custom_image".into(), json!(true));
            for (k, v) in sized {
                m.profile.insert(k, json!(v));
            }
            m.updated = unix_secs();
        }
    }

    fn user_json(&self, id: &str) -> Option<Value> {
        if id == BOT_USER {
            return Some(json!({
                "id": BOT_USER, "team_id": TEAM, "name": "statusinator", "deleted": false, "color": "4bbe2e",
                "real_name": "Statusinator", "tz": "Europe/Amsterdam", "tz_label": "Central European Summer Time", "tz_offset": 7200,
                "profile": {
                    "title": "", "phone": "", "skype": "", "real_name": "Statusinator", "real_name_normalized": "Statusinator",
                    "display_name": "", "display_name_normalized": "", "fields": null, "status_text": "", "status_emoji": "",
                    "status_emoji_display_info": [], "status_expiration": 0, "avatar_hash": "gbot", "bot_id": BOT_ID,
                    "api_app_id": APP_ID, "always_active": true, "first_name": "Statusinator", "last_name": "", "team": TEAM
                },
                "is_admin": false, "is_owner": false, "is_primary_owner": false, "is_restricted": false,
                "is_ultra_restricted": false, "is_bot": true, "is_app_user": false, "updated": 1_700_000_000u64,
                "is_email_confirmed": false, "who_can_share_contact_card": "EVERYONE"
            }));
        }
        let m = self.members.get(id)?;
        Some(json!({
            "id": m.id, "team_id": TEAM, "name": m.name, "deleted": false, "color": "9f69e7",
            "real_name": m.profile.get("real_name").cloned().unwrap_or(json!("")),
            "tz": "Europe/Amsterdam", "tz_label": "Central European Summer Time", "tz_offset": 7200,
            "profile": Value::Object(m.profile.clone()),
            "is_admin": false, "is_owner": false, "is_primary_owner": false, "is_restricted": false,
            "is_ultra_restricted": false, "is_bot": false, "is_app_user": false, "updated": m.updated,
            "is_email_confirmed": true, "who_can_share_contact_card": "EVERYONE", "locale": "en-US"
        }))
    }

    fn user_change_event(&mut self, id: &str) -> Value {
        let user = self.user_json(id).unwrap_or_else(|| json!({"id": id, "team_id": TEAM, "profile": {}}));
        let ts = self.ts();
        json!({"user": user, "cache_ts": unix_secs(), "type": "user_change", "event_ts": ts})
    }

    fn file_object(&self, id: &str) -> Option<Value> {
        let f = self.files.get(id)?;
        let mut url = url::Url::parse(&self.origin).ok()?;
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.push("files").push(&f.id).push(&f.name);
        }
        let mut download = url::Url::parse(&self.origin).ok()?;
        if let Ok(mut segs) = download.path_segments_mut() {
            segs.push("files").push(&f.id).push("download").push(&f.name);
        }
        let filetype = filetype_of(&f.name, &f.mimetype);
        let mut obj = json!({
            "id": f.id, "created": f.created, "timestamp": f.created, "name": f.name, "title": f.name,
            "mimetype": f.mimetype, "filetype": filetype, "pretty_type": filetype.to_ascii_uppercase(),
            "user": f.user, "user_team": TEAM, "editable": false, "size": f.bytes.len(), "mode": "hosted",
            "is_external": false, "external_type": "", "is_public": false, "public_url_shared": false,
            "display_as_bot": false, "username": "", "url_private": url.as_str(), "url_private_download": download.as_str(),
            "media_display_type": "unknown", "permalink": format!("{}/archives/files/{}", self.origin, f.id),
            "permalink_public": format!("{}/public/{}", self.origin, f.id), "is_starred": false,
            "has_rich_preview": false, "file_access": "visible", "channels": [], "groups": [],
            "ims": if f.user.is_empty() { json!([]) } else { json!([format!("D{}", f.user)]) },
            "comments_count": 0
        });
        if let (Ok((w, h)), Some(o)) = (
            image::ImageReader::new(io::Cursor::new(&f.bytes))
                .with_guessed_format()
                .map_err(|_| ())
                .and_then(|r| r.into_dimensions().map_err(|_| ())),
            obj.as_object_mut(),
        ) {
            o.insert("original_w".into(), json!(w));
            o.insert("original_h".into(), json!(h));
            o.insert("thumb_360".into(), json!(url.as_str()));
            o.insert("thumb_360_w".into(), json!(w.min(360)));
            o.insert("thumb_360_h".into(), json!(h.min(360)));
            o.insert("image_exif_rotation".into(), json!(1));
        }
        Some(obj)
    }

    /// Builds an envelope, sends it to the newest open socket, or queues it for the next connection.
    fn deliver(&mut self, kind: &str, payload: Value, accepts: bool, retry_attempt: u32) -> String {
        let envelope_id = uuid();
        let mut env = json!({"envelope_id": envelope_id, "payload": payload, "type": kind, "accepts_response_payload": accepts});
        if kind == "events_api" {
            if let Some(o) = env.as_object_mut() {
                o.insert("retry_attempt".into(), json!(retry_attempt));
                o.insert("retry_reason".into(), json!(if retry_attempt > 0 { "timeout" } else { "" }));
            }
        }
        let text = env.to_string();
        let conn = self.newest_socket();
        let sent_to = match conn {
            Some(c) => match self.sockets.get(&c) {
                Some(s) if s.tx.send(Cmd::Text(text.clone())).is_ok() => Some(c),
                _ => None,
            },
            None => None,
        };
        if sent_to.is_none() {
            self.pending.push((envelope_id.clone(), text));
        }
        self.envelopes.push(SentEnvelope {
            envelope_id: envelope_id.clone(),
            kind: kind.to_string(),
            payload: env["payload"].clone(),
            accepts_response_payload: accepts,
            retry_attempt,
            conn: sent_to,
            at: Instant::now(),
        });
        envelope_id
    }

    fn event_payload(&mut self, event: Value) -> (Value, String) {
        let event_id = format!("Ev{}", rand_upper(10));
        let etype = event.get("type").and_then(Value::as_str).unwrap_or("event").to_string();
        let channel = event.get("channel").and_then(Value::as_str).unwrap_or("").to_string();
        let payload = json!({
            "token": "verification-token",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": unix_secs(),
            "authorizations": [{"enterprise_id": null, "team_id": TEAM, "user_id": BOT_USER, "is_bot": true, "is_enterprise_install": false}],
            "is_ext_shared_channel": false,
            "event_context": format!("4-{etype}-{TEAM}-{channel}")
        });
        (payload, event_id)
    }

    fn push_event(&mut self, event: Value) -> (String, String) {
        let (payload, event_id) = self.event_payload(event);
        let env = self.deliver("events_api", payload, false, 0);
        (env, event_id)
    }

    fn push_user_change(&mut self, id: &str) -> (String, String) {
        let ev = self.user_change_event(id);
        self.push_event(ev)
    }

    fn newest_socket(&self) -> Option<u64> {
        self.sockets.keys().next_back().copied()
    }

    fn user_ref(&self, user: &str) -> Value {
        let name = self.members.get(user).map(|m| m.name.clone()).unwrap_or_else(|| user.to_ascii_lowercase());
        json!({"id": user, "username": name, "name": name, "team_id": TEAM})
    }

    /// Sliding one-minute window; returns Some(retry_after) if the call is over the limit.
    fn check_window(times: &mut VecDeque<Instant>, limit: usize) -> Option<u64> {
        let now = Instant::now();
        while times.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
            times.pop_front();
        }
        if times.len() >= limit {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
            Some(wait.as_secs().max(1))
        } else {
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Web API dispatch
// ---------------------------------------------------------------------------------------------

fn require(who: &Who, bot: bool, user: bool, needed: &str) -> Result<(), Reply> {
    match who {
        Who::Missing => Err(Reply::err("not_authed")),
        Who::Unknown => Err(Reply::err("invalid_auth")),
        Who::Revoked => Err(Reply::err("token_revoked")),
        Who::App => Err(Reply::err("not_allowed_token_type")),
        Who::Bot if !bot => Err(Reply::err("not_allowed_token_type")),
        Who::User(_) if !user => Err(Reply::ok(json!({"ok": false, "error": "missing_scope", "needed": needed, "provided": USER_SCOPES}))),
        _ => Ok(()),
    }
}

fn scopes_header(who: &Who) -> Option<&'static str> {
    match who {
        Who::Bot => Some(BOT_SCOPES),
        Who::User(_) => Some(USER_SCOPES),
        Who::App => Some("connections:write"),
        _ => None,
    }
}

const PROFILE_KEYS: &[&str] = &[
    "display_name",
    "real_name",
    "first_name",
    "last_name",
    "status_text",
    "status_emoji",
    "status_expiration",
    "title",
    "phone",
    "skype",
    "pronouns",
    "email",
    "start_date",
];

fn dispatch(st: &mut Fake, method: &str, who: Who, params: &Map<String, Value>, files: &[(String, String, Vec<u8>)]) -> Reply {
    let mut reply = dispatch_inner(st, method, &who, params, files);
    if let Some(s) = scopes_header(&who) {
        reply.headers.push(("x-oauth-scopes", s.to_string()));
    }
    reply
}

fn dispatch_inner(st: &mut Fake, method: &str, who: &Who, params: &Map<String, Value>, files: &[(String, String, Vec<u8>)]) -> Reply {
    macro_rules! need {
        ($bot:expr, $user:expr, $scope:expr) => {
            if let Err(r) = require(who, $bot, $user, $scope) {
                return r;
            }
        };
    }
    match method {
        "apps.connections.open" => {
            match who {
                Who::App => {}
                Who::Missing => return Reply::err("not_authed"),
                Who::Unknown => return Reply::err("invalid_auth"),
                Who::Revoked => return Reply::err("token_revoked"),
                _ => return Reply::err("not_allowed_token_type"),
            }
            if let Some(e) = st.connections_open_error.clone() {
                return Reply::err(&e);
            }
            let n = st.next();
            st.tickets.insert(n);
            let ws = format!("{}/ws?id={n}", st.origin.replacen("http://", "ws://", 1));
            Reply::ok(json!({"ok": true, "url": ws}))
        }
        "auth.test" => match who {
            Who::Bot => Reply::ok(json!({
                "ok": true, "url": "https://fake.slack.com/", "team": "Fake Workspace", "user": "statusinator",
                "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": false
            })),
            Who::User(id) => {
                let name = st.members.get(id).map(|m| m.name.clone()).unwrap_or_default();
                Reply::ok(json!({
                    "ok": true, "url": "https://fake.slack.com/", "team": "Fake Workspace", "user": name,
                    "team_id": TEAM, "user_id": id, "is_enterprise_install": false
                }))
            }
            Who::App => Reply::err("not_allowed_token_type"),
            Who::Missing => Reply::err("not_authed"),
            Who::Revoked => Reply::err("token_revoked"),
            Who::Unknown => Reply::err("invalid_auth"),
        },
        "users.info" => {
            need!(true, true, "users:read");
            let Some(user) = p_str(params, "user") else { return Reply::err("user_not_found") };
            match st.user_json(&user) {
                Some(u) => Reply::ok(json!({"ok": true, "user": u})),
                None => Reply::err("user_not_found"),
            }
        }
        "users.profile.get" => {
            need!(true, true, "users.profile:read");
            let target = match (p_str(params, "user"), who) {
                (Some(u), _) => u,
                (None, Who::User(id)) => id.clone(),
                _ => BOT_USER.to_string(),
            };
            match st.user_json(&target) {
                Some(u) => Reply::ok(json!({"ok": true, "profile": u["profile"].clone()})),
                None => Reply::err("user_not_found"),
            }
        }
        "users.profile.set" => {
            need!(false, true, "users.profile:write");
            let Who::User(owner) = who else { return Reply::err("not_allowed_token_type") };
            let owner = owner.clone();
            if let Some(u) = p_str(params, "user") {
                if u != owner {
                    return Reply::err("not_admin");
                }
            }
            let mut changes = Map::new();
            if let Some(p) = params.get("profile") {
                match json_field(p) {
                    Some(Value::Object(o)) => changes = o,
                    _ => return Reply::err("invalid_profile"),
                }
            } else if let Some(name) = p_str(params, "name") {
                changes.insert(name, params.get("value").cloned().unwrap_or(json!("")));
            } else {
                return Reply::err("invalid_profile");
            }
            if let Some(dn) = changes.get("display_name").and_then(Value::as_str) {
                if dn.chars().count() > 80 {
                    return Reply::err("too_long");
                }
            }
            if let Some(retry) = {
                let enforce = st.enforce_rate_limits;
                let times = st.profile_set_times.entry(owner.clone()).or_default();
                let over = Fake::check_window(times, 10);
                if over.is_none() || !enforce {
                    times.push_back(Instant::now());
                }
                if over.is_some() {
                    st.violations.push(format!("users.profile.set for {owner}: more than 10 in a minute"));
                }
                over.filter(|_| enforce)
            } {
                return Reply::ratelimited(retry);
            }
            let mut changed = false;
            let (profile, name) = {
                let Some(m) = st.members.get_mut(&owner) else { return Reply::err("user_not_found") };
                for (k, v) in changes {
                    if k == "fields" {
                        if let Value::Object(f) = v {
                            let entry = m.profile.entry("fields").or_insert_with(|| json!({}));
                            if !entry.is_object() {
                                *entry = json!({});
                            }
                            if let Some(obj) = entry.as_object_mut() {
                                for (fk, fv) in f {
                                    if obj.get(&fk) != Some(&fv) {
                                        obj.insert(fk, fv);
                                        changed = true;
                                    }
                                }
                            }
                        }
                        continue;
                    }
                    if !PROFILE_KEYS.contains(&k.as_str()) {
                        continue;
                    }
                    let v = match (k.as_str(), v) {
                        ("status_expiration", v) => json!(v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(0)),
                        (_, Value::String(s)) => json!(s),
                        (_, Value::Null) => json!(""),
                        (_, other) => json!(other.to_string()),
                    };
                    if m.profile.get(&k) != Some(&v) {
                        if k == "display_name" || k == "real_name" {
                            m.profile.insert(format!("{k}_normalized"), v.clone());
                        }
                        m.profile.insert(k, v);
                        changed = true;
                    }
                }
                if changed {
                    m.updated = unix_secs();
                }
                (Value::Object(m.profile.clone()), m.name.clone())
            };
            if changed {
                st.track_expiry(&owner);
                st.push_user_change(&owner);
            }
            Reply::ok(json!({"ok": true, "profile": profile, "username": name}))
        }
        "users.setPhoto" => {
            need!(false, true, "users.profile:write");
            let Who::User(owner) = who else { return Reply::err("not_allowed_token_type") };
            let owner = owner.clone();
            let Some((_, _, bytes)) = files.iter().find(|(f, _, _)| f == "image") else { return Reply::err("invalid_arguments") };
            if bytes.len() > 10 << 20 {
                return Reply::err("too_large");
            }
            if image::load_from_memory(bytes).is_err() {
                return Reply::err("bad_image");
            }
            if let Some(retry) = {
                let enforce = st.enforce_rate_limits;
                let over = Fake::check_window(&mut st.set_photo_times, 20);
                if over.is_none() || !enforce {
                    st.set_photo_times.push_back(Instant::now());
                }
                if over.is_some() {
                    st.violations.push(format!("users.setPhoto (by {owner}): more than 20 in a minute for the app"));
                }
                over.filter(|_| enforce)
            } {
                return Reply::ratelimited(retry);
            }
            st.set_photo(&owner, bytes.clone());
            st.push_user_change(&owner);
            let mut profile = Map::new();
            if let Some(m) = st.members.get(&owner) {
                for (k, v) in &m.profile {
                    if k.starts_with("image_") || k == "avatar_hash" {
                        profile.insert(k.clone(), v.clone());
                    }
                }
            }
            Reply::ok(json!({"ok": true, "profile": profile}))
        }
        "chat.postMessage" => {
            need!(true, false, "chat:write");
            let Some(mut channel) = p_str(params, "channel") else { return Reply::err("channel_not_found") };
            if channel.starts_with('U') || channel.starts_with('W') {
                channel = format!("D{channel}");
            }
            let text = p_str(params, "text").unwrap_or_default();
            let blocks = params.get("blocks").and_then(json_field);
            if text.is_empty() && blocks.is_none() {
                return Reply::err("no_text");
            }
            let ts = st.ts();
            let mut message = json!({
                "bot_id": BOT_ID, "type": "message", "text": text, "user": BOT_USER, "ts": ts, "app_id": APP_ID,
                "team": TEAM, "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "statusinator", "team_id": TEAM, "deleted": false, "updated": 1_700_000_000u64, "icons": {}}
            });
            if let (Some(b), Some(o)) = (blocks, message.as_object_mut()) {
                o.insert("blocks".into(), b);
            }
            if st.echo_bot_messages && channel.starts_with('D') {
                let mut ev = message.clone();
                if let Some(o) = ev.as_object_mut() {
                    o.insert("channel".into(), json!(channel));
                    o.insert("event_ts".into(), json!(ts));
                    o.insert("channel_type".into(), json!("im"));
                }
                st.push_event(ev);
            }
            Reply::ok(json!({"ok": true, "channel": channel, "ts": ts, "message": message}))
        }
        "chat.postEphemeral" => {
            need!(true, false, "chat:write");
            if p_str(params, "channel").is_none() {
                return Reply::err("channel_not_found");
            }
            if p_str(params, "user").is_none() {
                return Reply::err("user_not_in_channel");
            }
            let ts = st.ts();
            Reply::ok(json!({"ok": true, "message_ts": ts}))
        }
        "conversations.open" => {
            need!(true, false, "im:write");
            let users = p_str(params, "users").or_else(|| p_str(params, "user"));
            let Some(users) = users else { return Reply::err("users_list_not_supplied") };
            let user = users.split(',').next().unwrap_or("").trim().to_string();
            if user.is_empty() {
                return Reply::err("users_list_not_supplied");
            }
            Reply::ok(json!({"ok": true, "no_op": true, "already_open": true, "channel": {"id": format!("D{user}")}}))
        }
        "views.publish" | "views.open" | "views.update" | "views.push" => {
            need!(true, false, "");
            let Some(Value::Object(mut view)) = params.get("view").and_then(json_field) else { return Reply::err("invalid_arguments") };
            if let Err(why) = check_blocks(st, &view) {
                return Reply::ok(
                    json!({"ok": false, "error": "invalid_blocks", "response_metadata": {"messages": [format!("[ERROR] {why}")]}}),
                );
            }
            let id = match method {
                "views.publish" => {
                    let Some(user) = p_str(params, "user_id") else { return Reply::err("invalid_arguments") };
                    match st.home_views.get(&user).and_then(|v| v.get("id")).and_then(Value::as_str) {
                        Some(id) => id.to_string(),
                        None => format!("V{:08}", st.next()),
                    }
                }
                "views.update" => match p_str(params, "view_id") {
                    Some(id) => id,
                    None => match p_str(params, "external_id") {
                        Some(ext) => st
                            .views
                            .iter()
                            .find(|(_, v)| v.get("external_id").and_then(Value::as_str) == Some(ext.as_str()))
                            .map(|(k, _)| k.clone())
                            .unwrap_or_else(|| "V_UNKNOWN".to_string()),
                        None => return Reply::err("invalid_arguments"),
                    },
                },
                _ => {
                    let Some(trigger) = p_str(params, "trigger_id") else { return Reply::err("invalid_arguments") };
                    let ttl = st.trigger_ttl;
                    if let Some((issued, used)) = st.triggers.get_mut(&trigger) {
                        if *used {
                            return Reply::err("exchanged_trigger_id");
                        }
                        if issued.elapsed() > ttl {
                            return Reply::err("expired_trigger_id");
                        }
                        *used = true;
                    }
                    format!("V{:08}", st.next())
                }
            };
            let vtype = if method == "views.publish" {
                "home".to_string()
            } else {
                view.get("type").and_then(Value::as_str).unwrap_or("modal").to_string()
            };
            view.insert("id".into(), json!(id));
            view.insert("team_id".into(), json!(TEAM));
            view.insert("type".into(), json!(vtype));
            view.entry("private_metadata").or_insert(json!(""));
            view.entry("callback_id").or_insert(json!(""));
            view.entry("external_id").or_insert(json!(""));
            view.insert("state".into(), json!({"values": {}}));
            view.insert("hash".into(), json!(format!("{}.{}", unix_secs(), rand_hex(8))));
            view.entry("clear_on_close").or_insert(json!(false));
            view.entry("notify_on_close").or_insert(json!(false));
            view.insert("root_view_id".into(), json!(id));
            view.insert("previous_view_id".into(), Value::Null);
            view.insert("app_id".into(), json!(APP_ID));
            view.insert("app_installed_team_id".into(), json!(TEAM));
            view.insert("bot_id".into(), json!(BOT_ID));
            let view = Value::Object(view);
            if method == "views.publish" {
                if let Some(user) = p_str(params, "user_id") {
                    st.home_views.insert(user, view.clone());
                }
            }
            st.views.insert(id, view.clone());
            Reply::ok(json!({"ok": true, "view": view}))
        }
        "files.getUploadURLExternal" => {
            need!(true, true, "files:write");
            let (Some(filename), Some(length)) = (p_str(params, "filename"), p_str(params, "length").and_then(|l| l.parse::<usize>().ok()))
            else {
                return Reply::err("invalid_arguments");
            };
            let id = format!("F{:08}", st.next());
            let alt = p_str(params, "alt_txt").unwrap_or_default();
            st.pending_uploads.insert(id.clone(), PendingUpload { filename, length, alt, bytes: None });
            Reply::ok(json!({"ok": true, "upload_url": format!("{}/upload/{id}", st.origin), "file_id": id}))
        }
        "files.completeUploadExternal" => {
            need!(true, true, "files:write");
            let listed = match params.get("files") {
                Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
                other => other.cloned(),
            };
            let Some(Value::Array(listed)) = listed else { return Reply::err("invalid_arguments") };
            let shared_to = p_str(params, "channel_id").or_else(|| p_str(params, "channels"));
            let mut done = Vec::new();
            for f in &listed {
                let Some(id) = f.get("id").and_then(Value::as_str) else { return Reply::err("invalid_arguments") };
                let title = f.get("title").and_then(Value::as_str).unwrap_or("").to_string();
                let Some(up) = st.pending_uploads.remove(id) else { return Reply::err("file_not_found") };
                let Some(bytes) = up.bytes else { return Reply::err("file_upload_not_found") };
                let mimetype = image_content_type(&bytes).to_string();
                let created = unix_secs();
                st.files.insert(
                    id.to_string(),
                    FileEntry {
                        id: id.to_string(),
                        name: up.filename.clone(),
                        mimetype,
                        bytes: bytes.clone(),
                        user: BOT_USER.to_string(),
                        created,
                    },
                );
                let post_had_token = st.upload_posts_with_token.contains(id);
                let upload = Upload {
                    file_id: id.to_string(),
                    filename: up.filename,
                    title: title.clone(),
                    alt: up.alt,
                    bytes,
                    post_had_token,
                    shared_to: shared_to.clone(),
                };
                st.uploads.push(upload);
                done.push(json!({"id": id, "title": title}));
            }
            Reply::ok(json!({"ok": true, "files": done}))
        }
        "files.delete" => {
            need!(true, true, "files:write");
            let Some(id) = p_str(params, "file") else { return Reply::err("file_not_found") };
            match st.files.remove(&id) {
                Some(_) => Reply::ok(json!({"ok": true})),
                None => Reply::err("file_not_found"),
            }
        }
        "files.upload" => Reply::err("method_deprecated"),
        "files.info" => {
            need!(true, false, "files:read");
            let Some(id) = p_str(params, "file") else { return Reply::err("file_not_found") };
            match st.file_object(&id) {
                Some(f) => Reply::ok(json!({"ok": true, "file": f, "comments": [], "response_metadata": {"next_cursor": ""}})),
                None => Reply::err("file_not_found"),
            }
        }
        "emoji.list" => {
            need!(true, false, "emoji:read");
            let emoji: Map<String, Value> = st.emoji.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            Reply::ok(json!({"ok": true, "emoji": emoji, "cache_ts": format!("{}.000000", unix_secs())}))
        }
        "auth.revoke" => {
            let token = match who {
                Who::Bot => BOT_TOKEN.to_string(),
                Who::User(id) => st.members.get(id).map(|m| m.token.clone()).unwrap_or_default(),
                Who::App => return Reply::err("not_allowed_token_type"),
                Who::Missing => return Reply::err("not_authed"),
                Who::Revoked => return Reply::err("token_revoked"),
                Who::Unknown => return Reply::err("invalid_auth"),
            };
            let test = matches!(p_str(params, "test").as_deref(), Some("true") | Some("1"));
            if !test {
                st.revoked.insert(token);
            }
            Reply::ok(json!({"ok": true, "revoked": !test}))
        }
        "oauth.v2.access" => {
            if p_str(params, "grant_type").as_deref() == Some("refresh_token") {
                if let Some(e) = st.oauth_refresh_error.clone() {
                    return Reply::err(&e);
                }
                let Some(refreshed) = st.oauth_rotation.map(|(_, r)| r) else { return Reply::err("invalid_refresh_token") };
                let Some(rt) = p_str(params, "refresh_token") else { return Reply::err("invalid_refresh_token") };
                let Some(member) = st.oauth_refresh.remove(&rt) else { return Reply::err("invalid_refresh_token") };
                let (token, refresh) = st.rotate_token(&member);
                // Like Slack: a refresh answers with the new pair at the top level.
                return Reply::ok(json!({
                    "ok": true, "app_id": APP_ID, "scope": USER_SCOPES, "token_type": "user",
                    "access_token": token, "refresh_token": refresh, "expires_in": refreshed,
                    "team": {"id": TEAM, "name": "Fake Workspace"}, "enterprise": null, "is_enterprise_install": false
                }));
            }
            let Some(code) = p_str(params, "code") else { return Reply::err("invalid_code") };
            let Some(member) = st.oauth_codes.remove(&code) else { return Reply::err("invalid_code") };
            if let Some(challenge) = st.oauth_challenges.remove(&code) {
                let verifier = p_str(params, "code_verifier").unwrap_or_default();
                if s256(&verifier) != challenge {
                    return Reply::err("invalid_code_verifier");
                }
            }
            let mut authed = match st.oauth_rotation {
                Some((expires_in, _)) => {
                    let (token, refresh) = st.rotate_token(&member);
                    json!({"refresh_token": refresh, "expires_in": expires_in, "access_token": token})
                }
                None => {
                    let Some(token) = st.members.get(&member).map(|m| m.token.clone()) else { return Reply::err("invalid_code") };
                    st.revoked.remove(&token);
                    json!({"access_token": token})
                }
            };
            if let Some(o) = authed.as_object_mut() {
                o.insert("id".into(), json!(member));
                o.insert("scope".into(), json!(USER_SCOPES));
                o.insert("token_type".into(), json!("user"));
            }
            Reply::ok(json!({
                "ok": true, "app_id": APP_ID,
                "authed_user": authed,
                "team": {"id": TEAM, "name": "Fake Workspace"}, "enterprise": null, "is_enterprise_install": false
            }))
        }
        _ => Reply::err("unknown_method"),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP handlers
// ---------------------------------------------------------------------------------------------

type Shared = Arc<Inner>;

/// What Slack checks of a view's blocks: at most 100, block ids unique, every `slack_file` image
/// a file it has.
fn check_blocks(st: &Fake, view: &Map<String, Value>) -> Result<(), String> {
    let blocks = view.get("blocks").and_then(Value::as_array).cloned().unwrap_or_default();
    if blocks.len() > 100 {
        return Err(format!("no more than 100 items allowed [json-pointer:/view/blocks] ({})", blocks.len()));
    }
    let mut ids = HashSet::new();
    for b in &blocks {
        if let Some(id) = b.get("block_id").and_then(Value::as_str) {
            if !ids.insert(id.to_string()) {
                return Err(format!("duplicate block_id {id}"));
            }
        }
    }
    let mut missing = None;
    visit_slack_files(&Value::Array(blocks), &mut |id| {
        if !st.files.contains_key(id) && missing.is_none() {
            missing = Some(id.to_string());
        }
    });
    match missing {
        Some(id) => Err(format!("invalid slack_file: file {id} not found")),
        None => Ok(()),
    }
}

fn visit_slack_files(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::Object(m) => {
            if let Some(id) = m.get("slack_file").and_then(|sf| sf.get("id")).and_then(Value::as_str) {
                f(id);
            }
            m.values().for_each(|x| visit_slack_files(x, f));
        }
        Value::Array(a) => a.iter().for_each(|x| visit_slack_files(x, f)),
        _ => {}
    }
}

/// The upload URL `files.getUploadURLExternal` returned: the bytes, raw or as a multipart `file`.
async fn upload_handler(State(inner): State<Shared>, Path(id): Path<String>, req: Request) -> Response {
    let had_token = req.headers().contains_key(header::AUTHORIZATION);
    let ct = content_type_of(req.headers()).unwrap_or_default().to_ascii_lowercase();
    let bytes = if ct.starts_with("multipart/form-data") {
        let mut mp = match Multipart::from_request(req, &()).await {
            Ok(m) => m,
            Err(e) => return (StatusCode::BAD_REQUEST, e.body_text()).into_response(),
        };
        let mut got = None;
        while let Ok(Some(field)) = mp.next_field().await {
            if let Ok(b) = field.bytes().await {
                got.get_or_insert(b.to_vec());
            }
        }
        got.unwrap_or_default()
    } else {
        match axum::body::to_bytes(req.into_body(), BODY_LIMIT).await {
            Ok(b) => b.to_vec(),
            Err(e) => return (StatusCode::BAD_REQUEST, format!("body: {e}")).into_response(),
        }
    };
    if let Some(fault) = pop_fault(&inner, "files.upload_url") {
        if let Some(resp) = fault_response(fault) {
            return resp;
        }
    }
    let mut st = inner.lock();
    if had_token {
        st.upload_posts_with_token.insert(id.clone());
    }
    let Some(up) = st.pending_uploads.get_mut(&id) else { return (StatusCode::NOT_FOUND, "unknown upload").into_response() };
    if bytes.len() != up.length {
        return (StatusCode::BAD_REQUEST, format!("expected {} bytes, got {}", up.length, bytes.len())).into_response();
    }
    let n = bytes.len();
    up.bytes = Some(bytes);
    (StatusCode::OK, format!("OK - {n}")).into_response()
}

fn pop_fault(inner: &Inner, key: &str) -> Option<Fault> {
    inner.lock().faults.get_mut(key).and_then(VecDeque::pop_front)
}

async fn api_handler(State(inner): State<Shared>, Path(method): Path<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let token = bearer(&parts.headers);
    let content_type = content_type_of(&parts.headers);
    let ct = content_type.clone().unwrap_or_default().to_ascii_lowercase();
    let mut params = Map::new();
    if let Some(q) = parts.uri.query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            params.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let mut files = Vec::new();
    let mut bad_json = false;
    if ct.starts_with("multipart/form-data") {
        let req = Request::from_parts(parts, body);
        let mut mp = match Multipart::from_request(req, &()).await {
            Ok(m) => m,
            Err(e) => return (StatusCode::BAD_REQUEST, e.body_text()).into_response(),
        };
        loop {
            match mp.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or("").to_string();
                    let filename = field.file_name().map(str::to_string);
                    let bytes = match field.bytes().await {
                        Ok(b) => b,
                        Err(e) => return (StatusCode::BAD_REQUEST, format!("multipart: {e}")).into_response(),
                    };
                    if filename.is_some() || name == "image" || name == "file" {
                        files.push((name, filename.unwrap_or_default(), bytes.to_vec()));
                    } else {
                        params.insert(name, Value::String(String::from_utf8_lossy(&bytes).into_owned()));
                    }
                }
                Ok(None) => break,
                Err(e) => return (StatusCode::BAD_REQUEST, format!("multipart: {e}")).into_response(),
            }
        }
    } else {
        let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(b) => b,
            Err(e) => return (StatusCode::BAD_REQUEST, format!("body: {e}")).into_response(),
        };
        if ct.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => params.extend(m),
                Ok(other) => {
                    params.insert("_body".into(), other);
                }
                Err(_) => bad_json = true,
            }
        } else if !bytes.is_empty() {
            for (k, v) in url::form_urlencoded::parse(&bytes) {
                params.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    inner.lock().calls.push(Call {
        method: method.clone(),
        token: token.clone(),
        content_type,
        params: Value::Object(params.clone()),
        files: files.clone(),
        at: Instant::now(),
    });
    if let Some(fault) = pop_fault(&inner, &method) {
        if let Fault::Delay(d) = fault {
            tokio::time::sleep(d).await;
        } else if let Some(resp) = fault_response(fault) {
            return resp;
        }
    }
    if bad_json {
        return Reply::err("invalid_json").into_response();
    }
    let auth_token = token.or_else(|| p_str(&params, "token"));
    let mut st = inner.lock();
    let who = st.who(auth_token.as_deref());
    dispatch(&mut st, &method, who, &params, &files).into_response()
}

fn html(body: &str) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body.to_string()).into_response()
}

const SIGN_IN_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Slack</title></head>\
<body><h1>Sign in to Fake Workspace</h1><p>Continue with your email address or sign in with a password.</p></body></html>";

async fn avatar_handler(State(inner): State<Shared>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("/avatars/{file}");
    let token = bearer(&headers);
    let record = |status: u16| {
        inner.lock().fetches.push(Fetch { path: path.clone(), token: token.clone(), status, at: Instant::now() });
    };
    if let Some(fault) = pop_fault(&inner, "avatar.download") {
        if let Fault::Delay(d) = fault {
            tokio::time::sleep(d).await;
        } else if let Some(resp) = fault_response(fault) {
            record(resp.status().as_u16());
            return resp;
        }
    }
    let stem = file.split('.').next().unwrap_or("");
    let (hash, size) = match stem.rsplit_once('_') {
        Some((h, s)) => (h.to_string(), s.parse::<u32>().ok()),
        None => (stem.to_string(), None),
    };
    let (original, cached) = {
        let st = inner.lock();
        (st.avatars.get(&hash).cloned(), size.and_then(|s| st.avatar_cache.get(&(hash.clone(), s)).cloned()))
    };
    let Some(original) = original else {
        record(404);
        return (StatusCode::NOT_FOUND, "no such avatar").into_response();
    };
    let bytes = match (size, cached) {
        (_, Some(c)) => c,
        (None, None) => original,
        (Some(s), None) => {
            let resized = tokio::task::spawn_blocking(move || resize_png(&original, s).unwrap_or(original)).await.unwrap_or_default();
            inner.lock().avatar_cache.insert((hash, s), resized.clone());
            resized
        }
    };
    record(200);
    let ct = image_content_type(&bytes);
    (StatusCode::OK, [(header::CONTENT_TYPE, ct)], bytes).into_response()
}

/// A GET of an emoji image (no token needed, like Slack's emoji CDN); fault key "emoji.download".
async fn emoji_image_handler(State(inner): State<Shared>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("/emoji/{file}");
    let token = bearer(&headers);
    let record = |status: u16| {
        inner.lock().fetches.push(Fetch { path: path.clone(), token: token.clone(), status, at: Instant::now() });
    };
    if let Some(resp) = pop_fault(&inner, "emoji.download").and_then(fault_response) {
        record(resp.status().as_u16());
        return resp;
    }
    let name = file.split('.').next().unwrap_or("").to_string();
    let Some(bytes) = inner.lock().emoji_images.get(&name).cloned() else {
        record(404);
        return (StatusCode::NOT_FOUND, "no such emoji").into_response();
    };
    record(200);
    (StatusCode::OK, [(header::CONTENT_TYPE, image_content_type(&bytes))], bytes).into_response()
}

/// Shrinks an image to fit `size`×`size` (never enlarges) and encodes it as PNG.
fn resize_png(bytes: &[u8], size: u32) -> Option<Vec<u8>> {
    let img = image::load_from_memory(bytes).ok()?;
    if img.width() <= size && img.height() <= size {
        return None;
    }
    let small = img.resize(size, size, image::imageops::FilterType::Triangle);
    let mut out = io::Cursor::new(Vec::new());
    small.write_to(&mut out, image::ImageFormat::Png).ok()?;
    Some(out.into_inner())
}

async fn file_handler(State(inner): State<Shared>, Path((id, rest)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let path = format!("/files/{id}/{rest}");
    let token = bearer(&headers);
    let record = |status: u16| {
        inner.lock().fetches.push(Fetch { path: path.clone(), token: token.clone(), status, at: Instant::now() });
    };
    if let Some(fault) = pop_fault(&inner, "files.download") {
        if let Fault::Delay(d) = fault {
            tokio::time::sleep(d).await;
        } else if let Some(resp) = fault_response(fault) {
            record(resp.status().as_u16());
            return resp;
        }
    }
    if token.as_deref() != Some(BOT_TOKEN) {
        record(200);
        return html(SIGN_IN_PAGE);
    }
    let file = {
        let st = inner.lock();
        st.files.get(&id).map(|f| (f.bytes.clone(), f.mimetype.clone()))
    };
    match file {
        Some((bytes, mimetype)) => {
            record(200);
            let mut resp = (StatusCode::OK, bytes).into_response();
            if let Ok(v) = HeaderValue::from_str(&mimetype) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        None => {
            record(404);
            (StatusCode::NOT_FOUND, "file not found").into_response()
        }
    }
}

async fn response_handler(State(inner): State<Shared>, Path(id): Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let content_type = content_type_of(&headers);
    let body_value = serde_json::from_slice::<Value>(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    inner.lock().responses.push(ResponsePost { id, body: body_value, content_type, at: Instant::now() });
    if let Some(fault) = pop_fault(&inner, "response_url") {
        if let Fault::Delay(d) = fault {
            tokio::time::sleep(d).await;
        } else if let Some(resp) = fault_response(fault) {
            return resp;
        }
    }
    Reply::ok(json!({"ok": true})).into_response()
}

async fn authorize_handler(State(inner): State<Shared>, req: Request) -> Response {
    let path = req.uri().to_string();
    inner.lock().fetches.push(Fetch { path, token: None, status: 200, at: Instant::now() });
    html("<!DOCTYPE html><html><head><title>Authorize</title></head><body>Fake Slack authorize page</body></html>")
}

async fn fallback(req: Request) -> Response {
    (StatusCode::NOT_FOUND, format!("fake slack: no route for {} {}", req.method(), req.uri().path())).into_response()
}

// ---------------------------------------------------------------------------------------------
// Websocket
// ---------------------------------------------------------------------------------------------

/// Per-TCP-connection switch: while `silent`, everything written to the connection is discarded
/// (so tungstenite's automatic pongs and our frames never reach the client).
struct GateState {
    silent: AtomicBool,
}

struct GatedIo {
    inner: TcpStream,
    gate: Arc<GateState>,
}

impl AsyncRead for GatedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.gate.silent.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.gate.silent.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct GateListener {
    inner: TcpListener,
}

impl axum::serve::Listener for GateListener {
    type Io = GatedIo;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (GatedIo, std::net::SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (GatedIo { inner: stream, gate: Arc::new(GateState { silent: AtomicBool::new(false) }) }, addr);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

#[derive(Clone)]
struct ConnGate(Arc<GateState>);

impl Connected<axum::serve::IncomingStream<'_, GateListener>> for ConnGate {
    fn connect_info(stream: axum::serve::IncomingStream<'_, GateListener>) -> Self {
        ConnGate(stream.io().gate.clone())
    }
}

async fn ws_handler(
    State(inner): State<Shared>,
    ConnectInfo(gate): ConnectInfo<ConnGate>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(fault) = pop_fault(&inner, "ws.connect") {
        if let Fault::Delay(d) = fault {
            tokio::time::sleep(d).await;
        } else if let Some(resp) = fault_response(fault) {
            return resp;
        }
    }
    let conn = {
        let mut st = inner.lock();
        match q.get("id").and_then(|s| s.parse::<u64>().ok()) {
            Some(n) if st.tickets.remove(&n) => n,
            _ => st.next(),
        }
    };
    let gate = gate.0;
    ws.on_upgrade(move |socket| run_socket(inner, conn, gate, socket))
}

async fn run_socket(inner: Shared, conn: u64, gate: Arc<GateState>, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Cmd>();
    {
        let mut st = inner.lock();
        let hello = json!({
            "type": "hello",
            "num_connections": st.sockets.len() + 1,
            "debug_info": {"host": "fake", "approximate_connection_time": st.connection_time},
            "connection_info": {"app_id": APP_ID}
        });
        let _ = tx.send(Cmd::Text(hello.to_string()));
        for (env_id, text) in std::mem::take(&mut st.pending) {
            let _ = tx.send(Cmd::Text(text));
            if let Some(e) = st.envelopes.iter_mut().find(|e| e.envelope_id == env_id) {
                e.conn = Some(conn);
            }
        }
        st.sockets.insert(conn, SocketEntry { tx, gate });
        st.connections_opened += 1;
        st.opened.push((conn, Instant::now()));
    }
    let (by, detail) = loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(Cmd::Text(t)) => {
                    if let Err(e) = socket.send(Message::Text(t.into())).await {
                        break (ClosedBy::Client, format!("error: send failed: {e}"));
                    }
                }
                Some(Cmd::Close(code, reason)) => {
                    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.clone().into() }))).await;
                    // Give the client a moment to answer the closing handshake.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        while let Some(Ok(m)) = socket.recv().await {
                            if matches!(m, Message::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                    break (ClosedBy::Server, format!("server close {code} {reason}"));
                }
                Some(Cmd::Drop) | None => break (ClosedBy::Server, "dropped".to_string()),
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let text = t.to_string();
                    let now = Instant::now();
                    let mut st = inner.lock();
                    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&text) {
                        if let Some(id) = o.get("envelope_id").and_then(Value::as_str) {
                            st.acks.push(Ack { envelope_id: id.to_string(), payload: o.get("payload").cloned(), conn, at: now });
                        }
                    }
                    st.frames.push(Frame { conn, text, at: now });
                }
                Some(Ok(Message::Ping(_))) => inner.lock().pings += 1,
                Some(Ok(Message::Close(f))) => {
                    let d = match f {
                        Some(f) => format!("close frame {} {}", f.code, f.reason),
                        None => "close frame".to_string(),
                    };
                    break (ClosedBy::Client, d);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break (ClosedBy::Client, format!("error: {e}")),
                None => break (ClosedBy::Client, "eof".to_string()),
            },
        }
    };
    let mut st = inner.lock();
    st.sockets.remove(&conn);
    st.closed.push(Closed { conn, at: Instant::now(), by, detail });
    drop(st);
    drop(socket);
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

impl FakeSlack {
    /// Binds 127.0.0.1:0 and serves in the background on the current tokio runtime.
    pub async fn start() -> FakeSlack {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("fake slack: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake slack: local_addr");
        let origin = format!("http://127.0.0.1:{}", addr.port());
        let state = Fake {
            origin: origin.clone(),
            next_id: 0,
            last_ts_micros: 0,
            members: BTreeMap::new(),
            revoked: HashSet::new(),
            avatars: HashMap::new(),
            avatar_cache: HashMap::new(),
            files: BTreeMap::new(),
            pending_uploads: HashMap::new(),
            uploads: Vec::new(),
            upload_posts_with_token: HashSet::new(),
            emoji: HashMap::new(),
            emoji_images: HashMap::new(),
            oauth_codes: HashMap::new(),
            oauth_challenges: HashMap::new(),
            oauth_rotation: None,
            oauth_refresh: HashMap::new(),
            oauth_refresh_error: None,
            calls: Vec::new(),
            faults: HashMap::new(),
            connections_open_error: None,
            enforce_rate_limits: false,
            profile_set_times: HashMap::new(),
            set_photo_times: VecDeque::new(),
            violations: Vec::new(),
            triggers: HashMap::new(),
            trigger_ttl: Duration::from_secs(3),
            echo_bot_messages: true,
            views: HashMap::new(),
            home_views: HashMap::new(),
            responses: Vec::new(),
            response_owner: HashMap::new(),
            fetches: Vec::new(),
            connection_time: 18060,
            tickets: HashSet::new(),
            sockets: BTreeMap::new(),
            connections_opened: 0,
            acks: Vec::new(),
            frames: Vec::new(),
            pings: 0,
            closed: Vec::new(),
            opened: Vec::new(),
            envelopes: Vec::new(),
            pending: Vec::new(),
            expiring: BTreeMap::new(),
        };
        let inner = Arc::new(Inner { origin, state: Mutex::new(state) });
        let app = Router::new()
            .route("/api/{method}", any(api_handler))
            .route("/ws", get(ws_handler))
            .route("/avatars/{file}", get(avatar_handler))
            .route("/emoji/{file}", get(emoji_image_handler))
            .route("/files/{id}/{*rest}", get(file_handler))
            .route("/upload/{id}", post(upload_handler))
            .route("/response/{*id}", post(response_handler))
            .route("/oauth/v2/authorize", get(authorize_handler))
            .fallback(fallback)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(inner.clone());
        let listener = GateListener { inner: listener };
        tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<ConnGate>()).await;
        });
        FakeSlack { inner }
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        self.inner.lock()
    }

    /// "http://127.0.0.1:PORT/api/" — what SLACK_API_URL should be.
    pub fn api_url(&self) -> String {
        format!("{}/api/", self.inner.origin)
    }

    /// "http://127.0.0.1:PORT"
    pub fn origin(&self) -> String {
        self.inner.origin.clone()
    }

    /// "ws://127.0.0.1:PORT/ws" (without a ticket).
    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.inner.origin.replacen("http://", "ws://", 1))
    }

    // ----- members --------------------------------------------------------------------------

    /// Creates (or resets the name of) a member with a generated 600×600 PNG photo; returns the
    /// member's user token "xoxp-<id>-token".
    pub fn add_member(&self, id: &str, display_name: &str) -> String {
        let token = format!("xoxp-{id}-token");
        let photo = super::test_png(600, 600, id);
        let mut st = self.lock();
        let name = id.to_ascii_lowercase();
        let (first, last) = display_name.split_once(' ').unwrap_or((display_name, ""));
        let profile = json!({
            "title": "", "phone": "", "skype": "",
            "real_name": display_name, "real_name_normalized": display_name,
            "display_name": display_name, "display_name_normalized": display_name,
            "fields": {}, "status_text": "", "status_emoji": "", "status_emoji_display_info": [], "status_expiration": 0,
            "avatar_hash": "", "is_custom_image": true, "email": format!("{name}@example.com"),
            "first_name": first, "last_name": last, "status_text_canonical": "", "team": TEAM
        });
        let Value::Object(profile) = profile else { unreachable!() };
        st.revoked.remove(&token);
        st.members.insert(
            id.to_string(),
            Member { id: id.to_string(), name, token: token.clone(), profile, photo: Vec::new(), updated: unix_secs() },
        );
        st.set_photo(id, photo);
        token
    }

    pub fn member_token(&self, id: &str) -> Option<String> {
        self.lock().members.get(id).map(|m| m.token.clone())
    }

    /// The member's current profile (Null if unknown).
    pub fn member_profile(&self, id: &str) -> Value {
        self.lock().members.get(id).map(|m| Value::Object(m.profile.clone())).unwrap_or(Value::Null)
    }

    /// The member as `users.info` returns it (Null if unknown).
    pub fn member_user(&self, id: &str) -> Value {
        self.lock().user_json(id).unwrap_or(Value::Null)
    }

    /// Merges fields into the member's profile without pushing any event.
    pub fn update_profile(&self, id: &str, patch: Value) {
        let mut st = self.lock();
        if let (Some(m), Value::Object(p)) = (st.members.get_mut(id), patch) {
            for (k, v) in p {
                if k == "display_name" || k == "real_name" {
                    m.profile.insert(format!("{k}_normalized"), v.clone());
                }
                m.profile.insert(k, v);
            }
            m.updated = unix_secs();
        }
        st.track_expiry(id);
    }

    /// The member's current photo bytes (as uploaded; empty if unknown).
    pub fn avatar_bytes(&self, id: &str) -> Vec<u8> {
        self.lock().members.get(id).map(|m| m.photo.clone()).unwrap_or_default()
    }

    pub fn avatar_hash(&self, id: &str) -> String {
        self.lock().members.get(id).and_then(|m| m.profile.get("avatar_hash")).and_then(Value::as_str).unwrap_or("").to_string()
    }

    /// Replaces the member's photo (new avatar_hash and image URLs) without pushing any event.
    pub fn set_avatar(&self, id: &str, bytes: Vec<u8>) {
        self.lock().set_photo(id, bytes);
    }

    /// Makes the member's token answer `token_revoked` from now on (like `auth.revoke`).
    pub fn revoke_token(&self, id: &str) {
        let mut st = self.lock();
        if let Some(t) = st.members.get(id).map(|m| m.token.clone()) {
            st.revoked.insert(t);
        }
    }

    // ----- files, emoji, oauth --------------------------------------------------------------

    /// Registers a private file; served at `/files/<id>/<name>` to the bot token only. Returns "F…".
    pub fn add_file(&self, bytes: Vec<u8>, name: &str, mimetype: &str) -> String {
        let mut st = self.lock();
        let id = format!("F{:08}", st.next());
        st.files.insert(
            id.clone(),
            FileEntry {
                id: id.clone(),
                name: name.to_string(),
                mimetype: mimetype.to_string(),
                bytes,
                user: String::new(),
                created: unix_secs(),
            },
        );
        id
    }

    /// Uploads the bot completed (`files.getUploadURLExternal` → POST → `files.completeUploadExternal`).
    pub fn uploads(&self) -> Vec<Upload> {
        self.lock().uploads.clone()
    }

    /// Deletes a file as a member or admin would in Slack (`files.info` then says `file_not_found`).
    pub fn delete_file(&self, id: &str) -> bool {
        self.lock().files.remove(id).is_some()
    }

    /// Whether Slack has the file.
    pub fn has_file(&self, id: &str) -> bool {
        self.lock().files.contains_key(id)
    }

    /// The file object as `files.info` returns it (Null if unknown).
    pub fn file_object(&self, id: &str) -> Value {
        self.lock().file_object(id).unwrap_or(Value::Null)
    }

    /// Serves `bytes` as the image of emoji `name` at `/emoji/<name>.png`; returns its URL.
    pub fn set_emoji_image(&self, name: &str, bytes: Vec<u8>) -> String {
        self.lock().emoji_images.insert(name.to_string(), bytes);
        format!("{}/emoji/{name}.png", self.origin())
    }

    /// Stops serving the image of emoji `name` (404 from now on).
    pub fn remove_emoji_image(&self, name: &str) {
        self.lock().emoji_images.remove(name);
    }

    /// What `emoji.list` returns: name → URL or "alias:<name>".
    pub fn set_emoji(&self, map: HashMap<String, String>) {
        self.lock().emoji = map;
    }

    /// Registers a one-time OAuth code that `oauth.v2.access` exchanges for `member`'s user token.
    pub fn set_oauth_code(&self, code: &str, member: &str) {
        self.lock().oauth_codes.insert(code.to_string(), member.to_string());
    }

    /// Plays `member`'s browser on an authorize link the bot handed out: approves it, issues a
    /// one-time code (bound to the link's `code_challenge`, if any, which `oauth.v2.access` then
    /// checks against `code_verifier`) and returns the address the browser lands on:
    /// `<redirect_uri>?code=…&state=…` (redirect_uri defaults to `https://example.com/oauth/done`).
    /// The visit is recorded as a fetch of `/oauth/v2/authorize`.
    pub fn approve(&self, authorize_url: &str, member: &str) -> String {
        let url = url::Url::parse(authorize_url).expect("approve: not a URL");
        let q: HashMap<String, String> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let mut st = self.lock();
        let path = format!("{}?{}", url.path(), url.query().unwrap_or(""));
        st.fetches.push(Fetch { path, token: None, status: 200, at: Instant::now() });
        let n = st.next();
        let code = format!("{n}.{}.{}", 1000 + n, rand_hex(40));
        st.oauth_codes.insert(code.clone(), member.to_string());
        if let Some(c) = q.get("code_challenge") {
            st.oauth_challenges.insert(code.clone(), c.clone());
        }
        let redirect = q.get("redirect_uri").cloned().unwrap_or_else(|| "https://example.com/oauth/done".to_string());
        let mut landing = url::Url::parse(&redirect).expect("approve: redirect_uri is not a URL");
        landing.query_pairs_mut().append_pair("code", &code).append_pair("state", q.get("state").map(String::as_str).unwrap_or(""));
        landing.to_string()
    }

    /// Token rotation: with `Some(expires_in)`, code exchanges issue rotating tokens
    /// (`xoxe.xoxp-<id>-<n>`, replacing the member's token) with a refresh token and that
    /// `expires_in`; refresh grants (`grant_type=refresh_token`) spend the refresh token and issue
    /// a new pair expiring in `refreshed_expires_in`. `None` turns rotation off.
    pub fn set_token_rotation(&self, expires_in: Option<u64>, refreshed_expires_in: u64) {
        self.lock().oauth_rotation = expires_in.map(|e| (e, refreshed_expires_in));
    }

    /// Makes every refresh grant answer `error` (None: back to normal).
    pub fn set_refresh_error(&self, error: Option<&str>) {
        self.lock().oauth_refresh_error = error.map(str::to_string);
    }

    // ----- recorded traffic -----------------------------------------------------------------

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.lock().calls.iter().filter(|c| c.method == method).cloned().collect()
    }

    /// How many calls to `method` were recorded, without cloning them (bodies can be big).
    pub fn count_calls(&self, method: &str) -> usize {
        self.lock().calls.iter().filter(|c| c.method == method).count()
    }

    /// Waits until at least `n` calls to `method` were recorded (or the timeout passed) and returns
    /// all calls to it so far.
    pub async fn wait_for_calls(&self, method: &str, n: usize, timeout: Duration) -> Vec<Call> {
        // Counting, not cloning, while polling: the lock is the one the fake's handlers need.
        self.wait_until(timeout, |f| f.count_calls(method) >= n).await;
        self.calls_to(method)
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// POSTs received on response URLs.
    pub fn responses(&self) -> Vec<ResponsePost> {
        self.lock().responses.clone()
    }

    pub async fn wait_for_responses(&self, n: usize, timeout: Duration) -> Vec<ResponsePost> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.responses();
            if r.len() >= n || Instant::now() >= deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// "http://127.0.0.1:PORT/response/<id>"
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/response/{id}", self.inner.origin)
    }

    /// GETs of avatars, private files and the authorize page.
    pub fn fetches(&self) -> Vec<Fetch> {
        self.lock().fetches.clone()
    }

    /// The last Home view published for `user`, as the fake stored it (with id, hash, state...).
    pub fn home_view(&self, user: &str) -> Option<Value> {
        self.lock().home_views.get(user).cloned()
    }

    /// Every text the bot sent that `user` would see: `chat.postMessage` to the member or their DM,
    /// `chat.postEphemeral` to them, and POSTs to response URLs of their slash commands. Each entry is
    /// the `text` plus all text found in `blocks` (see `collect_text`).
    pub fn bot_texts(&self, user: &str) -> Vec<String> {
        let st = self.lock();
        let dm = format!("D{user}");
        let mut out: Vec<(Instant, String)> = Vec::new();
        for c in &st.calls {
            let to_user = match c.method.as_str() {
                "chat.postMessage" => c.param("channel").is_some_and(|ch| ch == user || ch == dm),
                "chat.postEphemeral" => c.param("user").as_deref() == Some(user),
                _ => false,
            };
            if to_user {
                let mut body = Map::new();
                if let Some(t) = c.params.get("text") {
                    body.insert("text".into(), t.clone());
                }
                if let Some(b) = c.json_param("blocks") {
                    body.insert("blocks".into(), b);
                }
                out.push((c.at, super::collect_text(&Value::Object(body))));
            }
        }
        for r in &st.responses {
            if st.response_owner.get(&r.id).map(String::as_str) == Some(user) {
                out.push((r.at, super::collect_text(&r.body)));
            }
        }
        out.sort_by_key(|(at, _)| *at);
        out.into_iter().map(|(_, t)| t).collect()
    }

    /// Waits for a bot text to `user` containing `needle` (case-insensitive).
    pub async fn wait_for_bot_text(&self, user: &str, needle: &str, timeout: Duration) -> Option<String> {
        let needle = needle.to_lowercase();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(t) = self.bot_texts(user).into_iter().find(|t| t.to_lowercase().contains(&needle)) {
                return Some(t);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls `f` every 10 ms until it returns true or the timeout passes.
    pub async fn wait_until(&self, timeout: Duration, f: impl Fn(&FakeSlack) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if f(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // ----- fault injection ------------------------------------------------------------------

    /// Queues a fault for the next call of `method`. Besides Web API method names, the keys
    /// "files.download", "avatar.download", "response_url" and "ws.connect" (the websocket
    /// upgrade) are honoured.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.lock().faults.entry(method.to_string()).or_default().push_back(fault);
    }

    /// Faults still queued for `method`.
    pub fn pending_faults(&self, method: &str) -> usize {
        self.lock().faults.get(method).map_or(0, VecDeque::len)
    }

    /// Some(code): every `apps.connections.open` answers `{"ok":false,"error":code}` until reset with None.
    pub fn set_connections_open_error(&self, error: Option<String>) {
        self.lock().connections_open_error = error;
    }

    /// When on, `users.profile.set` past 10/minute for one member and `users.setPhoto` past
    /// 20/minute for the app answer 429 `ratelimited`. Off by default; overruns are counted either way.
    pub fn set_enforce_rate_limits(&self, on: bool) {
        self.lock().enforce_rate_limits = on;
    }

    /// Each call that went over Slack's limits (whether or not enforcement is on).
    pub fn rate_limit_violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// How long a trigger_id issued by the payload builders stays valid for `views.open` (default 3 s).
    pub fn set_trigger_ttl(&self, ttl: Duration) {
        self.lock().trigger_ttl = ttl;
    }

    /// When on (the default, like real Slack), `chat.postMessage` to a DM pushes the bot's own
    /// message back as a `message` event with `bot_id` and no `client_msg_id`.
    pub fn set_echo_bot_messages(&self, on: bool) {
        self.lock().echo_bot_messages = on;
    }

    // ----- websocket state ------------------------------------------------------------------

    /// `approximate_connection_time` in the hello of later connections (default 18060).
    pub fn set_connection_time(&self, secs: u64) {
        self.lock().connection_time = secs;
    }

    /// true: the connections open right now stop writing anything (no pongs, no frames, no close
    /// replies — bytes are discarded) while still reading. Connections opened later are normal.
    /// false: every open connection writes again.
    pub fn set_silent(&self, silent: bool) {
        let st = self.lock();
        for s in st.sockets.values() {
            s.gate.silent.store(silent, Ordering::SeqCst);
        }
    }

    /// Silences (or un-silences) one connection.
    pub fn set_silent_conn(&self, conn: u64, silent: bool) {
        if let Some(s) = self.lock().sockets.get(&conn) {
            s.gate.silent.store(silent, Ordering::SeqCst);
        }
    }

    pub fn acks(&self) -> Vec<Ack> {
        self.lock().acks.clone()
    }

    pub fn ack_for(&self, envelope_id: &str) -> Option<Ack> {
        self.lock().acks.iter().find(|a| a.envelope_id == envelope_id).cloned()
    }

    pub async fn wait_for_ack(&self, envelope_id: &str, timeout: Duration) -> Option<Ack> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(a) = self.ack_for(envelope_id) {
                return Some(a);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Every text frame received from clients.
    pub fn frames(&self) -> Vec<Frame> {
        self.lock().frames.clone()
    }

    /// Websocket Ping frames received from clients (all connections).
    pub fn pings_received(&self) -> usize {
        self.lock().pings
    }

    /// Successful websocket upgrades so far.
    pub fn connections_opened(&self) -> usize {
        self.lock().connections_opened
    }

    pub fn open_sockets(&self) -> usize {
        self.lock().sockets.len()
    }

    /// Ids of open connections, oldest first.
    pub fn open_socket_ids(&self) -> Vec<u64> {
        self.lock().sockets.keys().copied().collect()
    }

    /// Waits until at least `n` sockets are open.
    pub async fn wait_for_sockets(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |f| f.open_sockets() >= n).await
    }

    /// Waits until a socket opened at or after `since` is open: a bot started at `since` is
    /// connected. Unlike `wait_for_sockets`, a killed predecessor's socket the fake has not yet
    /// seen close does not count (envelopes sent to it would be lost).
    pub async fn wait_for_socket_since(&self, since: Instant, timeout: Duration) -> bool {
        self.wait_until(timeout, move |f| {
            let st = f.lock();
            st.opened.iter().any(|(conn, at)| *at >= since && st.sockets.contains_key(conn))
        })
        .await
    }

    /// Waits until at least `n` websocket upgrades happened in total.
    pub async fn wait_for_connections_opened(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |f| f.connections_opened() >= n).await
    }

    /// When each websocket connection was upgraded (and its hello queued), oldest first.
    pub fn opened_log(&self) -> Vec<(u64, Instant)> {
        self.lock().opened.clone()
    }

    pub fn closed_log(&self) -> Vec<Closed> {
        self.lock().closed.clone()
    }

    /// Every envelope the fake sent or queued, in order.
    pub fn envelopes(&self) -> Vec<SentEnvelope> {
        self.lock().envelopes.clone()
    }

    // ----- sending --------------------------------------------------------------------------

    /// Sends a text frame to the newest open socket; false if none is open.
    pub async fn send_raw(&self, text: &str) -> bool {
        let st = self.lock();
        match st.newest_socket().and_then(|c| st.sockets.get(&c)) {
            Some(s) => s.tx.send(Cmd::Text(text.to_string())).is_ok(),
            None => false,
        }
    }

    pub async fn send_raw_to(&self, conn: u64, text: &str) -> bool {
        match self.lock().sockets.get(&conn) {
            Some(s) => s.tx.send(Cmd::Text(text.to_string())).is_ok(),
            None => false,
        }
    }

    /// Sends `{"envelope_id","payload","type":kind,"accepts_response_payload"}` (plus
    /// `retry_attempt: 0, retry_reason: ""` for events_api) to the newest open socket, or queues it
    /// for the next connection if none is open. Returns the envelope_id.
    pub async fn push_envelope(&self, kind: &str, payload: Value, accepts_response_payload: bool) -> String {
        self.lock().deliver(kind, payload, accepts_response_payload, 0)
    }

    /// Wraps `event` in an `event_callback` payload and sends it as events_api. Returns (envelope_id, event_id).
    pub async fn push_event(&self, event: Value) -> (String, String) {
        self.lock().push_event(event)
    }

    /// Sends the payload of an earlier envelope (found by envelope_id or event_id) again in a new
    /// envelope with `retry_attempt` and `retry_reason: "timeout"`. Returns the new envelope_id.
    pub async fn redeliver(&self, envelope_or_event_id: &str, retry_attempt: u32) -> Option<String> {
        let mut st = self.lock();
        let orig = st
            .envelopes
            .iter()
            .find(|e| {
                e.envelope_id == envelope_or_event_id || e.payload.get("event_id").and_then(Value::as_str) == Some(envelope_or_event_id)
            })
            .cloned()?;
        Some(st.deliver(&orig.kind, orig.payload, orig.accepts_response_payload, retry_attempt))
    }

    /// Sends `{"type":"disconnect","reason":reason,"debug_info":{"host":"fake"}}` to the newest socket
    /// (does not close it). false if no socket is open.
    pub async fn send_disconnect(&self, reason: &str) -> bool {
        let msg = if reason == "too_many_websockets" {
            let n = self.open_sockets();
            json!({"type": "disconnect", "reason": reason, "num_connections": n, "debug_info": {"host": "fake"}, "connection_info": {"app_id": APP_ID}})
        } else {
            json!({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
        };
        self.send_raw(&msg.to_string()).await
    }

    /// Closes every open socket cleanly (close frame 1000) and waits until they are gone.
    pub async fn close_sockets(&self) {
        let ids = self.open_socket_ids();
        {
            let st = self.lock();
            for s in st.sockets.values() {
                let _ = s.tx.send(Cmd::Close(1000, "server closing".into()));
            }
        }
        self.wait_gone(&ids).await;
    }

    /// Drops every open socket abruptly (TCP closed, no close frame) and waits until they are gone.
    pub async fn drop_sockets(&self) {
        let ids = self.open_socket_ids();
        {
            let st = self.lock();
            for s in st.sockets.values() {
                let _ = s.tx.send(Cmd::Drop);
            }
        }
        self.wait_gone(&ids).await;
    }

    /// Drops one socket abruptly.
    pub async fn drop_socket(&self, conn: u64) {
        if let Some(s) = self.lock().sockets.get(&conn) {
            let _ = s.tx.send(Cmd::Drop);
        }
        self.wait_gone(&[conn]).await;
    }

    async fn wait_gone(&self, ids: &[u64]) {
        let ids = ids.to_vec();
        self.wait_until(Duration::from_secs(5), move |f| {
            let st = f.lock();
            ids.iter().all(|id| !st.sockets.contains_key(id))
        })
        .await;
    }

    // ----- payload builders -----------------------------------------------------------------

    /// A `user_change` event built from the member's current profile.
    pub fn user_change_event(&self, member_id: &str) -> Value {
        self.lock().user_change_event(member_id)
    }

    /// Sets the member's status emoji (":x:" or "x"; "" clears the status and its text) and pushes
    /// the resulting `user_change`. Returns (envelope_id, event_id).
    pub async fn set_status(&self, member_id: &str, emoji: &str) -> (String, String) {
        let emoji = normalize_emoji(emoji);
        let mut st = self.lock();
        if let Some(m) = st.members.get_mut(member_id) {
            if emoji.is_empty() {
                m.profile.insert("status_text".into(), json!(""));
                m.profile.insert("status_expiration".into(), json!(0));
            }
            m.profile.insert("status_emoji".into(), json!(emoji));
            m.updated = unix_secs();
        }
        st.push_user_change(member_id)
    }

    /// Sets the member's status emoji and text to clear themselves at `expiration_secs` (unix
    /// seconds, Slack's `status_expiration`) and pushes the resulting `user_change`. At expiry the
    /// fake clears the status silently: no event, but `users.profile.get`, `users.info` and
    /// [`FakeSlack::member_profile`] show no status from then on. Returns (envelope_id, event_id).
    pub async fn set_expiring_status(&self, member_id: &str, emoji: &str, text: &str, expiration_secs: u64) -> (String, String) {
        let emoji = normalize_emoji(emoji);
        let mut st = self.lock();
        if let Some(m) = st.members.get_mut(member_id) {
            m.profile.insert("status_emoji".into(), json!(emoji));
            m.profile.insert("status_text".into(), json!(text));
            m.profile.insert("status_expiration".into(), json!(expiration_secs));
            m.updated = unix_secs();
        }
        st.track_expiry(member_id);
        st.push_user_change(member_id)
    }

    /// A `/status-preset <text>` slash command from `user`. Returns the envelope_id.
    pub async fn slash_command(&self, user: &str, text: &str) -> String {
        self.slash_command_named(COMMAND, user, text).await
    }

    pub async fn slash_command_named(&self, command: &str, user: &str, text: &str) -> String {
        let mut st = self.lock();
        let n = st.next();
        let rid = format!("{TEAM}/{n}/{}", rand_hex(24));
        st.response_owner.insert(rid.clone(), user.to_string());
        let trigger = st.trigger();
        let name = st.members.get(user).map(|m| m.name.clone()).unwrap_or_else(|| user.to_ascii_lowercase());
        let payload = json!({
            "token": "verification-token", "team_id": TEAM, "team_domain": TEAM_DOMAIN,
            "channel_id": "C1", "channel_name": "general", "user_id": user, "user_name": name,
            "command": command, "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
            "response_url": format!("{}/response/{rid}", st.origin), "trigger_id": trigger
        });
        st.deliver("slash_commands", payload, true, 0)
    }

    /// A DM from `user` to the bot (`message` event, channel "D<user>", channel_type "im"); with
    /// files it is a `file_share` message carrying the files.info objects. Returns (envelope_id, event_id).
    pub async fn dm(&self, user: &str, text: &str, files: Vec<String>) -> (String, String) {
        let mut st = self.lock();
        for f in &files {
            if let Some(entry) = st.files.get_mut(f) {
                entry.user = user.to_string();
            }
        }
        let ts = st.ts();
        let channel = format!("D{user}");
        let mut ev = json!({
            "client_msg_id": uuid(), "type": "message", "text": text, "user": user, "ts": ts, "team": TEAM,
            "blocks": [{"type": "rich_text", "block_id": rand_hex(4), "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}],
            "channel": channel, "event_ts": ts, "channel_type": "im"
        });
        if !files.is_empty() {
            let objs: Vec<Value> = files.iter().filter_map(|f| st.file_object(f)).collect();
            if let Some(o) = ev.as_object_mut() {
                o.insert("subtype".into(), json!("file_share"));
                o.insert("files".into(), json!(objs));
                o.insert("upload".into(), json!(false));
                o.insert("display_as_bot".into(), json!(false));
            }
        }
        st.push_event(ev)
    }

    /// `app_home_opened` (tab "home", with the last published home view if any). Returns (envelope_id, event_id).
    pub async fn app_home_opened(&self, user: &str) -> (String, String) {
        let mut st = self.lock();
        let ts = st.ts();
        let mut ev = json!({"type": "app_home_opened", "user": user, "channel": format!("D{user}"), "tab": "home", "event_ts": ts});
        if let (Some(v), Some(o)) = (st.home_views.get(user).cloned(), ev.as_object_mut()) {
            o.insert("view".into(), v);
        }
        st.push_event(ev)
    }

    /// A button click (`block_actions`). With a view the container is that view (Home tab or modal),
    /// otherwise a message in the member's DM. Returns the envelope_id.
    pub async fn block_action(&self, user: &str, action_id: &str, value: &str, view: Option<Value>) -> String {
        let ts = self.lock().ts();
        let action = json!({
            "action_id": action_id, "block_id": "b", "text": {"type": "plain_text", "text": "Button", "emoji": true},
            "value": value, "type": "button", "action_ts": ts
        });
        self.block_action_raw(user, action, view).await
    }

    /// `block_actions` with a caller-built action object (checkboxes, selects...).
    pub async fn block_action_raw(&self, user: &str, action: Value, view: Option<Value>) -> String {
        let mut st = self.lock();
        let trigger = st.trigger();
        let mut payload = json!({
            "type": "block_actions", "user": st.user_ref(user), "api_app_id": APP_ID, "token": "verification-token",
            "trigger_id": trigger, "team": {"id": TEAM, "domain": TEAM_DOMAIN}, "enterprise": null,
            "is_enterprise_install": false, "actions": [action]
        });
        let Some(o) = payload.as_object_mut() else { return String::new() };
        match view {
            Some(v) => {
                let view_id = v.get("id").cloned().unwrap_or(json!(""));
                o.insert("container".into(), json!({"type": "view", "view_id": view_id}));
                let state = v.get("state").cloned().unwrap_or(json!({"values": {}}));
                o.insert("state".into(), state);
                o.insert("view".into(), v);
            }
            None => {
                let ts = st.ts();
                let channel = format!("D{user}");
                let n = st.next();
                let rid = format!("{TEAM}/{n}/{}", rand_hex(24));
                st.response_owner.insert(rid.clone(), user.to_string());
                o.insert("container".into(), json!({"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false}));
                o.insert("channel".into(), json!({"id": channel, "name": "directmessage"}));
                o.insert(
                    "message".into(),
                    json!({"bot_id": BOT_ID, "type": "message", "text": "", "user": BOT_USER, "ts": ts, "team": TEAM}),
                );
                o.insert("state".into(), json!({"values": {}}));
                o.insert("response_url".into(), json!(format!("{}/response/{rid}", st.origin)));
            }
        }
        st.deliver("interactive", payload, false, 0)
    }

    /// A modal submission (`view_submission`, accepts_response_payload true). `state_values` is
    /// `view.state.values` (see `file_input_state`). Returns the envelope_id.
    pub async fn view_submission(&self, user: &str, callback_id: &str, private_metadata: &str, state_values: Value) -> String {
        let mut st = self.lock();
        let trigger = st.trigger();
        let id = format!("V{:08}", st.next());
        let payload = json!({
            "type": "view_submission", "team": {"id": TEAM, "domain": TEAM_DOMAIN}, "user": st.user_ref(user),
            "api_app_id": APP_ID, "token": "verification-token", "trigger_id": trigger,
            "view": {
                "id": id, "team_id": TEAM, "type": "modal", "blocks": [], "private_metadata": private_metadata,
                "callback_id": callback_id, "state": {"values": state_values}, "hash": format!("{}.{}", unix_secs(), rand_hex(8)),
                "title": {"type": "plain_text", "text": "Preset", "emoji": true}, "clear_on_close": false, "notify_on_close": false,
                "close": {"type": "plain_text", "text": "Cancel", "emoji": true}, "submit": {"type": "plain_text", "text": "Save", "emoji": true},
                "previous_view_id": null, "root_view_id": id, "app_id": APP_ID, "external_id": "",
                "app_installed_team_id": TEAM, "bot_id": BOT_ID
            },
            "response_urls": [], "is_enterprise_install": false, "enterprise": null
        });
        st.deliver("interactive", payload, true, 0)
    }

    /// `{block_id: {action_id: {"type":"file_input","files":[files.info objects]}}}` for view_submission.
    pub fn file_input_state(&self, block_id: &str, action_id: &str, file_ids: &[&str]) -> Value {
        let st = self.lock();
        let files: Vec<Value> = file_ids.iter().filter_map(|f| st.file_object(f)).collect();
        json!({block_id: {action_id: {"type": "file_input", "files": files}}})
    }
}
