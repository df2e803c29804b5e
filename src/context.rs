//! The shared context every handler and job receives: configuration, store,
//! Slack client, caches, who the bot is, and the shutdown signal.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::config::Config;
use crate::emoji::EmojiCache;
use crate::secret::Secret;
use crate::shutdown::Shutdown;
use crate::slack::SlackClient;
use crate::socket::SocketStatus;
use crate::store::Store;

/// Who the bot is in this workspace (from `auth.test` at start-up).
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub(crate) bot_user_id: String,
    pub bot_id: Option<String>,
    pub team_id: Option<String>,
    /// Single-user mode: the owner of `SLACK_USER_TOKEN`.
    pub owner: Option<String>,
}

/// What the OAuth flows keep in memory, per bot (two bots in one process keep their own).
#[derive(Default)]
pub struct OauthRuntime {
    /// Wakes the token loop early (a token was just stored).
    pub(crate) wake: Notify,
    /// Members whose `disconnect` is running (in memory: a crash must not leave anyone stuck).
    disconnecting: Mutex<HashSet<String>>,
}

impl OauthRuntime {
    fn members(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.disconnecting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the member's `disconnect` is running.
    pub(crate) fn is_disconnecting(&self, member: &str) -> bool {
        self.members().contains(member)
    }

    /// Marks the member's `disconnect` as running; false if it already was.
    pub(crate) fn begin_disconnect(&self, member: &str) -> bool {
        self.members().insert(member.to_string())
    }

    pub(crate) fn end_disconnect(&self, member: &str) {
        self.members().remove(member);
    }
}

pub struct Context {
    pub config: Config,
    pub store: Store,
    pub slack: SlackClient,
    pub emoji: EmojiCache,
    pub(crate) identity: Identity,
    pub socket: Arc<SocketStatus>,
    /// Wakes the job runner when work is queued.
    pub work: Notify,
    /// Wakes the expiry job when a status-expiry timer is armed (see `jobs::expiry`).
    pub expiry: Notify,
    pub shutdown: Shutdown,
    pub avatars: crate::profiles::ProfileCache,
    /// Every photo decode waits its turn here (see `photo::PhotoGate`).
    pub photos: crate::photo::PhotoGate,
    /// The Home tab's publish locks.
    pub home: crate::home::Home,
    /// The bot's counters (the same the Slack client and the socket count into).
    pub telemetry: Arc<crate::telemetry::Telemetry>,
    /// The OAuth flows' wake-up and who is disconnecting.
    pub oauth: OauthRuntime,
}

impl Context {
    pub fn new(config: Config, store: Store, slack: SlackClient, identity: Identity, shutdown: Shutdown) -> Context {
        let telemetry = slack.telemetry().clone();
        Context {
            emoji: EmojiCache::new(store.clone()),
            avatars: crate::profiles::ProfileCache::new(store.clone()),
            photos: crate::photo::PhotoGate::new(),
            home: crate::home::Home::new(),
            config,
            store,
            slack,
            identity,
            socket: Arc::new(SocketStatus { telemetry: telemetry.clone(), ..SocketStatus::default() }),
            telemetry,
            work: Notify::new(),
            expiry: Notify::new(),
            shutdown,
            oauth: OauthRuntime::default(),
        }
    }

    /// The member's usable user token, if they have one.
    pub(crate) fn token_for(&self, member: &str) -> Option<Secret> {
        crate::members::usable_token(&self.store, member)
    }

    pub(crate) fn is_connected(&self, member: &str) -> bool {
        self.token_for(member).is_some()
    }

    /// The handles the Home tab reads.
    pub(crate) fn home_deps(&self) -> crate::home::HomeDeps<'_> {
        crate::home::HomeDeps {
            home: &self.home,
            store: &self.store,
            slack: &self.slack,
            emoji: &self.emoji,
            avatars: &self.avatars,
            photos: &self.photos,
            limits: crate::photo::PhotoLimits::from(&self.config.images),
            command: &self.config.command,
            owner: self.identity.owner.as_deref(),
            oauth: self.config.oauth.is_some(),
            catch_up: self.telemetry.catch_up.last(),
        }
    }

    /// The handles the member operations use (see [`crate::members`]).
    pub(crate) fn member_deps(&self) -> crate::members::MemberDeps<'_> {
        crate::members::MemberDeps {
            store: &self.store,
            slack: &self.slack,
            emoji: &self.emoji,
            avatars: &self.avatars,
            photos: &self.photos,
            images: &self.config.images,
            work: &self.work,
            expiry: &self.expiry,
        }
    }

    pub fn is_admin(&self, member: &str) -> bool {
        self.config.is_admin(member)
    }
}
