//! The in-process runner: `statusinator::app::run` in a tokio task of the test, against the
//! fake, for behaviour tests that need neither a separate process nor its log (kill -9 tests,
//! exit codes and log assertions keep [`super::Bot`]).
//!
//! Every bot has its own database, counters, shutdown and tracked tasks, so several can run in
//! one test binary at once. Its log goes to whatever tracing subscriber the test installed
//! (none by default), so [`InProcessBot::logs`] has nothing to show.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use statusinator::config::{Config, Env};
use statusinator::shutdown::Shutdown;

use super::{BotOptions, FakeSlack, APP_TOKEN, BOT_TOKEN};

struct MapEnv(HashMap<String, String>);

impl Env for MapEnv {
    fn var(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
}

/// A bot running in this process. Shut down (without waiting) on drop.
pub struct InProcessBot {
    dir: tempfile::TempDir,
    shutdown: Shutdown,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    started: Instant,
    /// How `app::run` ended, once it has: "ok" or its error chain.
    ended: Arc<Mutex<Option<String>>>,
}

impl InProcessBot {
    /// Starts the bot with the environment [`super::Bot`] gives its process (tokens, the fake's
    /// API URL, a database in a fresh directory) plus `opts.user_token`, `opts.env` and
    /// `opts.config_toml`. `opts.args` and `opts.global_args` have no meaning here.
    pub fn start(fake: &FakeSlack, opts: BotOptions) -> InProcessBot {
        // Before the spawn: on a loaded machine the bot can connect before this thread runs
        // again, and a socket opened before `started` would not count as this bot's.
        let started = Instant::now();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env: HashMap<String, String> = [
            ("SLACK_APP_TOKEN", APP_TOKEN.to_string()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_string()),
            ("SLACK_API_URL", fake.api_url()),
            ("STATUSINATOR_DB", dir.path().join("db").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(t) = &opts.user_token {
            env.insert("SLACK_USER_TOKEN".into(), t.clone());
        }
        env.extend(opts.env.iter().cloned());
        let config = Config::from_toml(opts.config_toml.as_deref().unwrap_or(""), &MapEnv(env)).expect("config");
        let shutdown = Shutdown::new();
        let ended = Arc::new(Mutex::new(None));
        let run = statusinator::app::run(config, shutdown.clone());
        let record = ended.clone();
        let task = tokio::spawn(async move {
            let result = run.await;
            let how = match &result {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("error: {e:#}"),
            };
            *record.lock().unwrap_or_else(|e| e.into_inner()) = Some(how);
            result
        });
        InProcessBot { dir, shutdown, task: Some(task), started, ended }
    }

    /// The working directory (database at `dir()/db`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Waits until this bot has a socket open. False if it did not within `timeout`, or if
    /// `app::run` returned meanwhile; then [`InProcessBot::logs`] says how it ended.
    pub async fn connected(&self, fake: &FakeSlack, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if fake.wait_for_socket_since(self.started, Duration::from_millis(100)).await {
                return true;
            }
            if self.ended().is_some() || Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// For assertion messages, like [`super::Bot::logs`]: whether `app::run` has ended (a
    /// failed start, such as a metrics port taken, shows here and not as a silent time-out).
    pub fn logs(&self) -> String {
        let state = match self.ended() {
            Some(how) => format!("app::run returned {how}"),
            None => "app::run is still running".to_string(),
        };
        format!("(in-process bot, {state}; its log goes to the test's tracing subscriber)")
    }

    /// How `app::run` ended ("ok" or "error: …"), None while it runs.
    pub fn ended(&self) -> Option<String> {
        self.ended.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Trips the shutdown and waits up to `timeout` for `app::run` to return; None if it did not.
    pub async fn stop(&mut self, timeout: Duration) -> Option<anyhow::Result<()>> {
        self.shutdown.trigger();
        let task = self.task.take()?;
        match tokio::time::timeout(timeout, task).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(e)) => Some(Err(anyhow::anyhow!("the bot's task failed: {e}"))),
            Err(_) => None,
        }
    }
}

impl Drop for InProcessBot {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}
