//! Shared test support: a fake Slack workspace, a runner for the real binary, and test images.
//!
//! # The fake ([`FakeSlack`], `fake_slack.rs`)
//!
//! One axum server on `127.0.0.1:<random port>` that plays Slack for the bot:
//!
//! * **Web API** at `/api/{method}` with Slack's response shapes (HTTP 200 + `{"ok":false,"error":..}`
//!   for errors), checking the `Authorization: Bearer` token: [`APP_TOKEN`] only for
//!   `apps.connections.open`, [`BOT_TOKEN`] for bot methods, and per-member user tokens
//!   (`xoxp-<id>-token`) for `users.profile.set` / `users.setPhoto`. Every call is recorded as a
//!   [`Call`] (form fields or JSON body as a JSON object, multipart files as bytes).
//! * **Socket Mode** at `/ws`: `apps.connections.open` hands out `ws://127.0.0.1:PORT/ws?id=N`;
//!   each connection gets id N, a `hello` first, automatic pongs (unless silenced), and every text
//!   frame it sends is recorded (those with an `envelope_id` as [`Ack`]s).
//! * **Side effects like Slack's**: `users.profile.set` and `users.setPhoto` change the member and
//!   push a `user_change` event over the newest socket; `chat.postMessage` to a DM echoes the bot's
//!   own message back as a `message` event (turn off with `set_echo_bot_messages(false)`).
//!   Events pushed while no socket is open are queued and delivered after the next `hello`.
//! * **Images and files**: member photos at `/avatars/<hash>.png` (and `<hash>_<size>.png`, shrunk),
//!   no token needed; private files at `/files/<id>/<name>` only with the bot token (otherwise a 200
//!   HTML sign-in page, like real Slack). Response URLs at `/response/<id>` record POSTs.
//! * **Faults**: `fail_next(method, Fault::..)` (429 + Retry-After, ok:false, HTTP status, delay,
//!   302 redirect, a raw body, a huge streamed body; keys are methods or `files.download`,
//!   `avatar.download`, `response_url`),
//!   `set_connections_open_error`, `set_silent` (connection stays open but never writes again: no
//!   pongs), `drop_sockets` (TCP closed without close frame), `send_disconnect(reason)`,
//!   `redeliver(id, attempt)`, optional enforcement of Slack's profile/photo rate limits.
//!
//! # Using it
//!
//! ```ignore
//! mod common;
//! use common::*;
//!
//! #[tokio::test(flavor = "multi_thread")]
//! async fn swaps_name_on_status_change() {
//!     let slack = FakeSlack::start().await;
//!     let token = slack.add_member("U1", "Ada");
//!     let bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), ..Default::default() });
//!     assert!(slack.wait_for_sockets(1, secs(10)).await, "{}", bot.logs());
//!     let env = slack.slash_command("U1", "add :palm_tree: Ada (on holiday)").await;
//!     slack.wait_for_ack(&env, secs(5)).await.expect("acked");
//!     slack.set_status("U1", ":palm_tree:").await;
//!     let sets = slack.wait_for_calls("users.profile.set", 1, secs(10)).await;
//!     assert_eq!(slack.member_profile("U1")["display_name"], "Ada (on holiday)");
//! }
//! ```
//!
//! The fake runs on the test's tokio runtime; use `#[tokio::test(flavor = "multi_thread")]` when
//! the bot runs in-process so neither starves the other. Each test binary is its own process, so
//! nothing needs shutting down; [`Bot`] kills its child process on drop.
//!
//! # In-process bots ([`InProcessBot`], `in_process.rs`)
//!
//! `InProcessBot::start(&slack, opts)` runs `statusinator::app::run` in a task of the test instead
//! of a child process: no process start, and the same fake and options. Use it where the test
//! needs neither the log, an exit status nor a kill; it is shut down on drop.

#![allow(dead_code)]

mod fake_slack;
mod in_process;

pub use fake_slack::*;
#[allow(unused_imports)] // only the tests that run a bot in-process use it
pub use in_process::*;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// `Duration::from_secs`, for brevity in tests.
/// A loopback port free right now (for the bot's metrics listener).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `Duration::from_millis`, for brevity in tests.
pub fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// Test images
// ---------------------------------------------------------------------------------------------

/// The two colours of `test_image(.., seed, ..)`: (border, centre square).
pub fn seed_colors(seed: &str) -> ([u8; 3], [u8; 3]) {
    use sha2::Digest;
    let d = sha2::Sha256::digest(seed.as_bytes());
    let border = [d[0] / 2 + 64, d[1] / 2 + 64, d[2] / 2 + 64];
    let centre = [255 - border[0], 255 - border[1], 255 - border[2]];
    (border, centre)
}

/// A `w`×`h` image in `format`: a flat border colour with a centre square (the middle third of each
/// side) in the inverse colour, both derived from `seed`, so a centre crop keeps the square centred.
/// Empty if the format cannot be encoded.
pub fn test_image(w: u32, h: u32, seed: &str, format: image::ImageFormat) -> Vec<u8> {
    let (border, centre) = seed_colors(seed);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let inside = x >= w / 3 && x < w - w / 3 && y >= h / 3 && y < h - h / 3;
        image::Rgb(if inside { centre } else { border })
    });
    let mut out = Cursor::new(Vec::new());
    match image::DynamicImage::ImageRgb8(img).write_to(&mut out, format) {
        Ok(()) => out.into_inner(),
        Err(_) => Vec::new(),
    }
}

pub fn test_png(w: u32, h: u32, seed: &str) -> Vec<u8> {
    test_image(w, h, seed, image::ImageFormat::Png)
}

pub fn test_jpeg(w: u32, h: u32, seed: &str) -> Vec<u8> {
    test_image(w, h, seed, image::ImageFormat::Jpeg)
}

/// Width and height of encoded image bytes.
pub fn image_dims(bytes: &[u8]) -> Option<(u32, u32)> {
    let img = image::load_from_memory(bytes).ok()?;
    Some((img.width(), img.height()))
}

/// The RGB pixel at (fx·width, fy·height), fx/fy in 0..1.
pub fn pixel_at(bytes: &[u8], fx: f32, fy: f32) -> Option<[u8; 3]> {
    let img = image::load_from_memory(bytes).ok()?.to_rgb8();
    let x = ((img.width() as f32 * fx) as u32).min(img.width().saturating_sub(1));
    let y = ((img.height() as f32 * fy) as u32).min(img.height().saturating_sub(1));
    Some(img.get_pixel(x, y).0)
}

/// Whether two colours are within `tol` per channel (JPEG and resizing shift colours a little).
pub fn color_close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(b.iter()).all(|(x, y)| x.abs_diff(*y) <= tol)
}

/// Whether `bytes` look like the image `test_image(.., seed, ..)` made: border colour at the corner,
/// centre colour in the middle (any size, any format, small colour drift allowed).
pub fn looks_like_seed(bytes: &[u8], seed: &str) -> bool {
    let (border, centre) = seed_colors(seed);
    match (pixel_at(bytes, 0.02, 0.02), pixel_at(bytes, 0.5, 0.5)) {
        (Some(c), Some(m)) => color_close(c, border, 12) && color_close(m, centre, 12),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// All strings under `"text"` keys in a JSON value (message text, Block Kit text objects...), joined
/// with newlines. Handy for asserting on what the bot said.
pub fn collect_text(v: &Value) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, val) in o {
                    match val {
                        Value::String(s) if k == "text" => out.push(s.clone()),
                        // blocks sent as a form field arrive as a JSON string
                        Value::String(s) if k == "blocks" => {
                            if let Ok(parsed) = serde_json::from_str::<Value>(s) {
                                walk(&parsed, out);
                            }
                        }
                        other => walk(other, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out.join("\n")
}

// ---------------------------------------------------------------------------------------------
// Running the real binary
// ---------------------------------------------------------------------------------------------

/// The command that starts the bot binary: this build's, or `STATUSINATOR_TEST_BIN` when set,
/// run through `STATUSINATOR_TEST_RUNNER` when that is set too. CI points them at the aarch64
/// cross build and `qemu-aarch64 -L /usr/aarch64-linux-gnu` (the Raspberry Pi check in `.ci/run`).
pub fn bot_command() -> Command {
    let bin =
        std::env::var_os("STATUSINATOR_TEST_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_statusinator")));
    let runner = std::env::var("STATUSINATOR_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(bin);
            cmd
        }
        None => Command::new(bin),
    }
}

/// How to start the bot binary against a fake.
#[derive(Clone, Debug, Default)]
pub struct BotOptions {
    /// SLACK_USER_TOKEN (single-user mode).
    pub user_token: Option<String>,
    /// Extra environment variables (override the defaults below).
    pub env: Vec<(String, String)>,
    /// Written to `<dir>/statusinator.toml` and passed as `--config`.
    pub config_toml: Option<String>,
    /// Extra arguments after `run` (and `--config`).
    pub args: Vec<String>,
    /// Arguments before `run` (e.g. `--log-format json`).
    pub global_args: Vec<String>,
}

/// The `statusinator run` process, with its own temporary working directory and database.
///
/// Environment: SLACK_APP_TOKEN / SLACK_BOT_TOKEN / SLACK_API_URL pointing at the fake,
/// STATUSINATOR_DB=`<dir>/db`, RUST_LOG=`info,statusinator=debug` (unless overridden); inherited
/// SLACK_* variables are removed. stdout/stderr go to files in the directory (`logs()`).
pub struct Bot {
    child: Option<Child>,
    dir: Arc<tempfile::TempDir>,
    api_url: String,
    opts: BotOptions,
    starts: usize,
    /// When the current process was started (see `connected`).
    started: Instant,
    /// The current child has been waited for; its pid is no longer ours.
    reaped: std::sync::atomic::AtomicBool,
}

impl Bot {
    /// Starts `statusinator run`. Panics if the binary cannot be started.
    pub fn spawn(fake: &FakeSlack, opts: BotOptions) -> Bot {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let mut bot =
            Bot { child: None, dir, api_url: fake.api_url(), opts, starts: 0, started: Instant::now(), reaped: Default::default() };
        bot.start();
        bot
    }

    /// Single-user mode with `user_token`.
    pub fn single_user(fake: &FakeSlack, user_token: &str) -> Bot {
        Bot::spawn(fake, BotOptions { user_token: Some(user_token.to_string()), ..Default::default() })
    }

    fn start(&mut self) {
        self.starts += 1;
        self.started = Instant::now();
        self.reaped.store(false, std::sync::atomic::Ordering::SeqCst);
        let dir = self.dir.path();
        let out = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("stdout.log")).expect("stdout log");
        let err = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("stderr.log")).expect("stderr log");
        let mut cmd = bot_command();
        cmd.current_dir(dir).stdin(Stdio::null()).stdout(out).stderr(err);
        for (k, _) in std::env::vars() {
            if k.starts_with("SLACK_") || k.starts_with("STATUSINATOR_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.env("SLACK_APP_TOKEN", APP_TOKEN)
            .env("SLACK_BOT_TOKEN", BOT_TOKEN)
            .env("SLACK_API_URL", &self.api_url)
            .env("STATUSINATOR_DB", dir.join("db"))
            .env("RUST_LOG", "info,statusinator=debug");
        if let Some(t) = &self.opts.user_token {
            cmd.env("SLACK_USER_TOKEN", t);
        }
        for (k, v) in &self.opts.env {
            cmd.env(k, v);
        }
        cmd.args(&self.opts.global_args).arg("run");
        if let Some(toml) = &self.opts.config_toml {
            let path = dir.join("statusinator.toml");
            std::fs::write(&path, toml).expect("write config");
            cmd.arg("--config").arg(path);
        }
        cmd.args(&self.opts.args);
        self.child = Some(cmd.spawn().expect("spawn statusinator"));
    }

    /// The working directory (database at `dir()/db`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// stderr (the tracing log) so far, followed by stdout if any.
    pub fn logs(&self) -> String {
        let err = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let out = std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default();
        if out.is_empty() {
            err
        } else {
            format!("{err}\n--- stdout ---\n{out}")
        }
    }

    /// Waits until the log contains `needle`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.logs().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends a signal (e.g. `libc::SIGTERM`, `libc::SIGINT`) to the process.
    pub fn signal(&self, sig: i32) {
        // A reaped pid may already belong to another process: never signal it.
        if self.reaped.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe {
                libc::kill(pid as libc::pid_t, sig);
            }
        }
    }

    /// Whether the process has exited (reaping it if so).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
        if status.is_some() {
            self.reaped.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        status
    }

    /// Waits for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_exit() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then waits for a graceful exit.
    pub async fn shutdown(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.signal(libc::SIGTERM);
        self.wait_exit(timeout).await
    }

    /// SIGKILL (no graceful shutdown) and reap.
    pub fn kill(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
            self.reaped.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Graceful shutdown (SIGTERM, up to 15 s, then SIGKILL) and a new process on the same
    /// directory and database.
    pub async fn restart(&mut self) {
        if self.shutdown(Duration::from_secs(15)).await.is_none() {
            self.kill();
        }
        self.start();
    }

    /// Waits until this process (not a killed predecessor the fake has not yet seen go) has a
    /// socket open.
    pub async fn connected(&self, fake: &FakeSlack, timeout: Duration) -> bool {
        fake.wait_for_socket_since(self.started, timeout).await
    }

    /// How many times the process was started.
    pub fn starts(&self) -> usize {
        self.starts
    }
}

/// Waits (20 s) for `bot` to connect, failing the test with its log if it does not.
pub async fn ready(slack: &FakeSlack, bot: &Bot) {
    assert!(bot.connected(slack, Duration::from_secs(20)).await, "bot never connected:\n{}", bot.logs());
}

/// Sends `text` as `user`'s slash command and returns the text of its ack (the ephemeral reply).
pub async fn slash_reply(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) -> String {
    let env = slack.slash_command(user, text).await;
    let ack = slack.wait_for_ack(&env, Duration::from_secs(10)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_default()
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs another subcommand of the binary (e.g. `["db", "stats"]`) with the same environment as
/// `bot` (tokens, fake API URL, database) and returns (exit status, stdout, stderr). sled locks its
/// database, so stop the bot first for commands that open it.
pub fn run_command(bot: &Bot, args: &[&str]) -> (ExitStatus, String, String) {
    let mut cmd = bot_command();
    cmd.current_dir(bot.dir());
    for (k, _) in std::env::vars() {
        if k.starts_with("SLACK_") || k.starts_with("STATUSINATOR_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("SLACK_APP_TOKEN", APP_TOKEN)
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .env("SLACK_API_URL", &bot.api_url)
        .env("STATUSINATOR_DB", bot.db_path())
        .env("RUST_LOG", "warn");
    if let Some(t) = &bot.opts.user_token {
        cmd.env("SLACK_USER_TOKEN", t);
    }
    for (k, v) in &bot.opts.env {
        cmd.env(k, v);
    }
    cmd.args(args);
    let out = cmd.stdin(Stdio::null()).output().expect("run statusinator");
    (out.status, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}
