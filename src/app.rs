//! `statusinator run`: wires the store, Slack client, dispatcher, job runner,
//! upkeep and token loops and Socket Mode supervisor together and runs them until the
//! shutdown signal; then drains in-flight work and flushes the database.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::{Config, ConfigError};
use crate::context::{Context, Identity};
use crate::secret::Secret;
use crate::shutdown::Shutdown;
use crate::slack::{ApiError, SlackClient};
use crate::socket::backoff::Backoff;
use crate::socket::supervisor::{Opener, SocketError, Supervisor};
use crate::store::Store;

/// Sets the process umask so every file the database creates is 0600.
#[allow(unsafe_code)] // libc::umask, below
pub(crate) fn private_files() {
    #[cfg(unix)]
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

pub(crate) fn open_store(config: &Config) -> anyhow::Result<Store> {
    private_files();
    Ok(Store::open(&config.db_path)?)
}

/// The store stayed unwritable and only a restart can help: exit with
/// [`crate::store::health::RESTART_EXIT_CODE`] so the service manager starts the bot again.
#[derive(Debug, thiserror::Error)]
#[error("{0}: a restart is needed")]
pub(crate) struct RestartNeeded(pub String);

/// Runs the bot until `shutdown` trips (or Slack disables the link).
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let store = open_store(&config)?;
    store.tokens.unlock_from_env(&config.db_path).map_err(crate::store::StoreError::into_anyhow)?;
    let telemetry = Arc::new(crate::telemetry::Telemetry::new());
    let slack = SlackClient::new(config.api_url.clone(), config.bot_token.clone(), config.app_token.clone())?.with_telemetry(telemetry);

    let Some(identity) = identify(&config, &slack, &store, &shutdown).await? else {
        store.flush().await?;
        return Ok(());
    };
    tracing::info!(bot_user = %identity.bot_user_id, owner = identity.owner.as_deref().unwrap_or("-"), "identified");

    let ctx = Arc::new(Context::new(config, store, slack, identity, shutdown.clone()));

    if let Some(addr) = ctx.config.metrics.listen {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("metrics.listen: cannot listen on {addr}"))?;
        tracing::info!(%addr, "serving the dashboard, /metrics and /healthz");
        tokio::spawn(crate::web::server::serve(ctx.clone(), listener));
    }
    if let Some(path) = ctx.config.metrics.csv.clone() {
        tokio::spawn(crate::web::csv::csv_loop(ctx.clone(), path));
    }
    let jobs = tokio::spawn(crate::jobs::run(ctx.clone()));
    let upkeep = tokio::spawn(crate::jobs::upkeep::run(ctx.clone()));
    let catch_up = tokio::spawn(crate::jobs::catch_up::run(ctx.clone()));
    // The dashboard's history is only kept while there is a listener to show it.
    let sampler = ctx.config.metrics.listen.is_some().then(|| tokio::spawn(crate::web::sampler::run(ctx.clone())));
    let tokens = tokio::spawn(crate::jobs::token_refresh::run(ctx.clone()));
    let expiry = tokio::spawn(crate::jobs::expiry::run(ctx.clone()));
    let store_health = {
        let ctx = ctx.clone();
        tokio::spawn(async move { ctx.store.watch_health(ctx.config.unwritable_exit, ctx.shutdown.clone()).await })
    };

    let slack = ctx.slack.clone();
    let opener: Opener = Arc::new(move || {
        let slack = slack.clone();
        Box::pin(async move { slack.connections_open().await })
    });
    let supervisor = Supervisor {
        opener,
        handler: crate::dispatch::handler(ctx.clone()),
        status: ctx.socket.clone(),
        desired: ctx.config.connections as usize,
        backoff: Backoff::default(),
        shutdown: shutdown.clone(),
    };
    let result = supervisor.run().await;
    shutdown.trigger();
    if !shutdown.finish_tracked(std::time::Duration::from_secs(10)).await {
        tracing::warn!("some answers to members were still being sent after 10 s; stopping anyway");
    }
    let _ = jobs.await;
    let _ = upkeep.await;
    let _ = catch_up.await;
    if let Some(s) = sampler {
        let _ = s.await;
    }
    let _ = tokens.await;
    let _ = expiry.await;
    let _ = store_health.await;
    ctx.avatars.write_waiting_at_stop();
    if let Some(reason) = ctx.store.health().restart_reason() {
        // Already said in the log, once; the flush is a last try and expected to fail.
        let _ = ctx.store.flush().await;
        return Err(RestartNeeded(reason).into());
    }
    ctx.store.flush().await.context("flushing the database")?;
    tracing::info!("stopped cleanly");
    result.map_err(|e| match e {
        // Like a refused bot token: the configuration is wrong, so exit 2 with one sentence.
        SocketError::AppTokenRefused { code } => ConfigError(format!(
            "slack.app_token (SLACK_APP_TOKEN) was refused by Slack ({code}): it must be an app-level token (xapp-) of this app with the connections:write scope"
        ))
        .into(),
        e => e.into(),
    })
}

/// Who the bot is, and in single-user mode who owns the user token. Retries
/// while Slack is unreachable (a Pi may boot before its network is up);
/// a refused bot token is a configuration error. None if shut down meanwhile.
async fn identify(config: &Config, slack: &SlackClient, store: &Store, shutdown: &Shutdown) -> anyhow::Result<Option<Identity>> {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    let bot = loop {
        match slack.auth_test(&config.bot_token).await {
            Ok((at, _)) => break at,
            Err(e @ ApiError::Slack(_)) => {
                return Err(ConfigError(format!("slack.bot_token (SLACK_BOT_TOKEN) was refused by Slack: {}", e.code())).into());
            }
            Err(e) => {
                let d = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = d.as_millis() as u64, "auth.test failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = shutdown.wait() => return Ok(None),
                }
            }
        }
    };
    let mut identity = Identity { bot_user_id: bot.user_id.unwrap_or_default(), bot_id: bot.bot_id, team_id: bot.team_id, owner: None };

    // Single-user mode: the owner's token comes from config; drop config tokens
    // of anyone else (the token changed hands or was removed).
    if let Some(token) = &config.user_token {
        match slack.auth_test(token).await {
            Ok((at, scopes)) => {
                if let Some(owner) = at.user_id.clone() {
                    store.tokens.save_config_token(&owner, token.clone(), scopes)?;
                    identity.owner = Some(owner);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "slack.user_token (SLACK_USER_TOKEN) was refused by Slack; single-user swaps are off until it is fixed")
            }
        }
    }
    store.tokens.forget_config_tokens_except(identity.owner.as_deref())?;
    Ok(Some(identity))
}

/// Checks a token with auth.test and returns a plain-words verdict.
pub(crate) async fn check_token(slack: &SlackClient, label: &str, token: &Secret, want_scopes: &[&str]) -> Result<String, String> {
    match slack.auth_test(token).await {
        Ok((at, scopes)) => {
            let missing: Vec<&str> = want_scopes.iter().copied().filter(|s| !scopes.iter().any(|h| h == s)).collect();
            let who = at.user.or(at.user_id).unwrap_or_else(|| "?".into());
            if missing.is_empty() || scopes.is_empty() {
                Ok(format!("{label}: OK (acting as {who})"))
            } else {
                Err(format!(
                    "{label}: works (acting as {who}) but lacks the scopes {}: add them in the app's OAuth settings and reinstall",
                    missing.join(", ")
                ))
            }
        }
        Err(e) => Err(format!("{label}: Slack refused it ({e})")),
    }
}
