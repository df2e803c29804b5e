//! The in-process runner: `statusinator::app::run` in a tokio task of the test, against the
//! fake, for behaviour tests that need neither a separate process nor its log (kill -9 tests,
//! exit codes and log assertions keep [`super::Bot`]).
//!
//! Every bot has its own database, counters, shutdown and tracked tasks, so several can run in
//! one test binary at once. Its log goes to whatever tracing subscriber the test installed
//! (none by default), so [`InProcessBot::logs`] has nothing to show.

use std::collections::HashMap;
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
}

impl InProcessBot {
    /// Starts the bot with the environment [`super::Bot`] gives its process (tokens, the fake's
    /// API URL, a database in a fresh directory) plus `opts.user_token`, `opts.env` and
    /// `opts.config_toml`. `opts.args` and `opts.global_args` have no meaning here.
    pub fn start(fake: &FakeSlack, opts: BotOptions) -> InProcessBot {
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
        let task = tokio::spawn(statusinator::app::run(config, shutdown.clone()));
        InProcessBot { dir, shutdown, task: Some(task), started: Instant::now() }
    }

    /// The working directory (database at `dir()/db`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Waits until this bot has a socket open.
    pub async fn connected(&self, fake: &FakeSlack, timeout: Duration) -> bool {
        fake.wait_for_socket_since(self.started, timeout).await
    }

    /// For assertion messages, like [`super::Bot::logs`].
    pub fn logs(&self) -> String {
        "(in-process bot: its log goes to the test's tracing subscriber)".to_string()
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
