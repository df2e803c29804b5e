//! The shared context every handler and job receives: configuration, store,
//! Slack client, caches, who the bot is, and the shutdown signal.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::Config;
use crate::emoji::EmojiCache;
use crate::secret::Secret;
use crate::shutdown::Shutdown;
use crate::slack::SlackClient;
use crate::socket::SocketStatus;
use crate::store::{Store, TokenRecord, TokenSource};

/// Who the bot is in this workspace (from `auth.test` at start-up).
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub bot_user_id: String,
    pub bot_id: Option<String>,
    pub team_id: Option<String>,
    /// Single-user mode: the owner of `SLACK_USER_TOKEN`.
    pub owner: Option<String>,
}

pub struct Context {
    pub config: Config,
    pub store: Store,
    pub slack: SlackClient,
    pub emoji: EmojiCache,
    pub identity: Identity,
    pub socket: Arc<SocketStatus>,
    /// Wakes the job runner when work is queued.
    pub work: Notify,
    pub shutdown: Shutdown,
    pub avatars: crate::avatar::AvatarCache,
    /// Every photo decode waits its turn here (see `photo::PhotoGate`).
    pub photos: crate::photo::PhotoGate,
    /// The Home tab's publish locks.
    pub home: crate::home::Home,
    /// The bot's counters (the same the Slack client and the socket count into).
    pub telemetry: Arc<crate::telemetry::Telemetry>,
}

impl Context {
    pub fn new(config: Config, store: Store, slack: SlackClient, identity: Identity, shutdown: Shutdown) -> Context {
        let telemetry = slack.telemetry().clone();
        Context {
            emoji: EmojiCache::new(store.clone()),
            avatars: crate::avatar::AvatarCache::new(store.clone()),
            photos: crate::photo::PhotoGate::new(),
            home: crate::home::Home::new(),
            config,
            store,
            slack,
            identity,
            socket: Arc::new(SocketStatus { telemetry: telemetry.clone(), ..SocketStatus::default() }),
            telemetry,
            work: Notify::new(),
            shutdown,
        }
    }

    /// The member's usable user token, if they have one.
    pub fn token_for(&self, member: &str) -> Option<Secret> {
        match self.store.tokens.get(member) {
            Ok(Some(TokenRecord { token, disconnected: false, .. })) => Some(token),
            Ok(_) => None,
            Err(e) => {
                tracing::error!(error = %e, "reading a token failed");
                None
            }
        }
    }

    pub fn is_connected(&self, member: &str) -> bool {
        self.token_for(member).is_some()
    }

    pub fn token_source(&self, member: &str) -> Option<TokenSource> {
        self.store.tokens.get(member).ok().flatten().filter(|t| !t.disconnected).map(|t| t.source)
    }

    /// The handles the Home tab reads.
    pub fn home_deps(&self) -> crate::home::HomeDeps<'_> {
        crate::home::HomeDeps {
            home: &self.home,
            store: &self.store,
            slack: &self.slack,
            emoji: &self.emoji,
            avatars: &self.avatars,
            command: &self.config.command,
            owner: self.identity.owner.as_deref(),
            oauth: self.config.oauth.is_some(),
        }
    }

    pub fn is_admin(&self, member: &str) -> bool {
        self.config.is_admin(member)
    }
}
