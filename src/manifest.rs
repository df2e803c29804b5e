//! The Slack app manifest: what to paste into "Create New App → From an app manifest" so the app
//! has exactly the scopes, events and slash commands this bot uses.
//!
//! Slash commands come from `slash-commands/` (through [`crate::command::slash_commands`]), the
//! same files the help text is built from. `manifest.json` at the repo root is a copy of
//! [`manifest_json`] (default command name, no redirect URL); `tests/manifest.rs` fails when they
//! differ. `statusinator manifest` prints [`manifest_json_for`] the operator's configuration.
//!
//! The manifest is serialised from structs rather than a `json!` value so its key order is the
//! order written here whatever serde_json features other crates switch on.

use serde::Serialize;

use crate::command::{slash_commands, DEFAULT_COMMAND_NAME};
use crate::config::ManifestSettings;

/// Scopes the bot token needs; `check` compares a token's granted scopes against them.
/// `files:read` reads the photos members send, `files:write` uploads the photos the App Home
/// tab shows; `users:read` gives `users.info` (profiles included) and `user_change`.
pub const BOT_SCOPES: &[&str] = &["chat:write", "commands", "emoji:read", "files:read", "files:write", "im:history", "users:read"];

/// Scopes a member's user token needs: reading the baseline and writing the name and photo.
pub const USER_SCOPES: &[&str] = &["users.profile:read", "users.profile:write"];

/// Events the bot subscribes to over Socket Mode.
pub(crate) const BOT_EVENTS: &[&str] =
    &["app_home_opened", "app_uninstalled", "emoji_changed", "message.im", "tokens_revoked", "user_change"];

const APP_NAME: &str = "statusinator";

#[derive(Serialize)]
struct Manifest {
    display_information: DisplayInformation,
    features: Features,
    oauth_config: OauthConfig,
    settings: Settings,
}

#[derive(Serialize)]
struct DisplayInformation {
    name: &'static str,
    description: &'static str,
    background_color: &'static str,
}

#[derive(Serialize)]
struct Features {
    app_home: AppHome,
    bot_user: BotUser,
    slash_commands: Vec<SlashCommand>,
}

#[derive(Serialize)]
struct AppHome {
    home_tab_enabled: bool,
    messages_tab_enabled: bool,
    // False so members can DM commands and photos to the bot.
    messages_tab_read_only_enabled: bool,
}

#[derive(Serialize)]
struct BotUser {
    display_name: &'static str,
    always_online: bool,
}

/// No `url`: under Socket Mode, Slack delivers the command over the websocket.
#[derive(Serialize)]
struct SlashCommand {
    command: String,
    description: String,
    usage_hint: String,
    should_escape: bool,
}

#[derive(Serialize)]
struct OauthConfig {
    /// Slack refuses an authorize link whose `redirect_uri` is not listed here, so multi-user
    /// connect needs it; it depends on the operator's address, hence only when configured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    redirect_urls: Vec<String>,
    scopes: Scopes,
    /// `[oauth] pkce = true`: a public client, which Slack lets exchange a code without the
    /// secret only when the app has PKCE turned on. Left out otherwise (Slack's default: off).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pkce_enabled: bool,
}

#[derive(Serialize)]
struct Scopes {
    bot: &'static [&'static str],
    user: &'static [&'static str],
}

#[derive(Serialize)]
struct Settings {
    event_subscriptions: EventSubscriptions,
    interactivity: Interactivity,
    org_deploy_enabled: bool,
    socket_mode_enabled: bool,
    token_rotation_enabled: bool,
}

#[derive(Serialize)]
struct EventSubscriptions {
    bot_events: &'static [&'static str],
}

/// Needed for the App Home buttons and modals; Socket Mode delivers them, so no request URL.
#[derive(Serialize)]
struct Interactivity {
    is_enabled: bool,
}

fn build(settings: &ManifestSettings) -> Manifest {
    let command_name = settings.command.as_str();
    let slash_commands = slash_commands()
        .iter()
        .map(|c| SlashCommand {
            // Only the main command is renamed by `[slack] command`.
            command: if c.command == DEFAULT_COMMAND_NAME { command_name.to_string() } else { c.command.clone() },
            description: c.description.clone(),
            usage_hint: c.usage_hint.clone(),
            should_escape: c.should_escape,
        })
        .collect();
    Manifest {
        display_information: DisplayInformation {
            name: APP_NAME,
            description: "Swaps your display name and photo to match your status emoji.",
            background_color: "#2c2d30",
        },
        features: Features {
            app_home: AppHome { home_tab_enabled: true, messages_tab_enabled: true, messages_tab_read_only_enabled: false },
            bot_user: BotUser { display_name: APP_NAME, always_online: true },
            slash_commands,
        },
        oauth_config: OauthConfig {
            redirect_urls: settings.redirect_url.iter().cloned().collect(),
            scopes: Scopes { bot: BOT_SCOPES, user: USER_SCOPES },
            pkce_enabled: settings.pkce,
        },
        settings: Settings {
            event_subscriptions: EventSubscriptions { bot_events: BOT_EVENTS },
            interactivity: Interactivity { is_enabled: true },
            org_deploy_enabled: false,
            socket_mode_enabled: true,
            token_rotation_enabled: false,
        },
    }
}

/// The manifest for an app whose main slash command is `command_name` (e.g. `/status-preset`).
pub fn manifest(command_name: &str) -> serde_json::Value {
    // Strings, bools and lists only, so serialisation cannot fail; `manifest_is_an_object`
    // exercises it.
    let settings = ManifestSettings { command: command_name.to_string(), redirect_url: None, pkce: false };
    serde_json::to_value(build(&settings)).expect("the manifest serialises")
}

/// The manifest with the default command name and no redirect URL, pretty-printed with a
/// trailing newline: the contents of `manifest.json`.
pub fn manifest_json() -> String {
    manifest_json_for(&ManifestSettings { command: DEFAULT_COMMAND_NAME.to_string(), redirect_url: None, pkce: false })
}

/// What `statusinator manifest` prints: the configured command name, the redirect URL when
/// multi-user connect is set up, and `pkce_enabled` for a public client.
pub(crate) fn manifest_json_for(settings: &ManifestSettings) -> String {
    // As in `manifest`: nothing here can fail to serialise; `manifest_json_round_trips` runs it.
    let manifest = build(settings);
    let mut text = serde_json::to_string_pretty(&manifest).expect("the manifest serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manifest_is_an_object() {
        let m = manifest("/status-preset");
        assert!(m.is_object());
        assert_eq!(m["display_information"]["name"], "statusinator");
        assert_eq!(m["features"]["bot_user"], json!({"display_name": "statusinator", "always_online": true}));
        assert_eq!(
            m["features"]["app_home"],
            json!({"home_tab_enabled": true, "messages_tab_enabled": true, "messages_tab_read_only_enabled": false})
        );
    }

    #[test]
    fn manifest_json_round_trips() {
        let text = manifest_json();
        assert!(text.ends_with("}\n"));
        assert!(!text.ends_with("\n\n"));
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(parsed, manifest(DEFAULT_COMMAND_NAME));
        assert!(text.starts_with("{\n  \"display_information\""), "key order follows the structs");
    }

    #[test]
    fn scopes_and_events() {
        let m = manifest("/status-preset");
        assert_eq!(m["oauth_config"]["scopes"]["bot"], json!(BOT_SCOPES));
        assert_eq!(m["oauth_config"]["scopes"]["user"], json!(["users.profile:read", "users.profile:write"]));
        assert_eq!(
            m["settings"]["event_subscriptions"]["bot_events"],
            json!(["app_home_opened", "app_uninstalled", "emoji_changed", "message.im", "tokens_revoked", "user_change"])
        );
        assert_eq!(
            m["settings"],
            json!({
                "event_subscriptions": {"bot_events": BOT_EVENTS},
                "interactivity": {"is_enabled": true},
                "org_deploy_enabled": false,
                "socket_mode_enabled": true,
                "token_rotation_enabled": false,
            })
        );
        // Every event needs its scope: message.im ← im:history, user_change ← users:read,
        // emoji_changed ← emoji:read.
        for scope in ["im:history", "users:read", "emoji:read"] {
            assert!(BOT_SCOPES.contains(&scope), "{scope}");
        }
    }

    #[test]
    fn slash_commands_come_from_the_folder_and_follow_the_configured_name() {
        let m = manifest("/sp");
        let commands = m["features"]["slash_commands"].as_array().cloned().unwrap_or_default();
        assert_eq!(commands.len(), slash_commands().len());
        let main = &commands[0];
        assert_eq!(main["command"], "/sp");
        assert_eq!(main["should_escape"], true);
        assert_eq!(main["description"], slash_commands()[0].description.as_str());
        assert_eq!(main["usage_hint"], slash_commands()[0].usage_hint.as_str());
        assert!(main.get("url").is_none(), "Socket Mode apps have no request URL");
        assert_eq!(manifest(DEFAULT_COMMAND_NAME)["features"]["slash_commands"][0]["command"], "/status-preset");
    }

    #[test]
    fn the_configured_name_and_redirect_url_are_printed() {
        let settings = ManifestSettings { command: "/sp".into(), redirect_url: Some("https://example.com/cb".into()), pkce: false };
        let m: serde_json::Value = serde_json::from_str(&manifest_json_for(&settings)).unwrap_or_default();
        assert_eq!(m["features"]["slash_commands"][0]["command"], "/sp");
        assert_eq!(m["oauth_config"]["redirect_urls"], json!(["https://example.com/cb"]));
        assert_eq!(m["oauth_config"]["scopes"]["user"], json!(USER_SCOPES));
        assert!(manifest(DEFAULT_COMMAND_NAME)["oauth_config"].get("redirect_urls").is_none(), "none unless configured");
        assert!(m["oauth_config"].get("pkce_enabled").is_none(), "only for a public client");
        let public = ManifestSettings { pkce: true, ..settings };
        let m: serde_json::Value = serde_json::from_str(&manifest_json_for(&public)).unwrap_or_default();
        assert_eq!(m["oauth_config"]["pkce_enabled"], true);
    }

    /// The App Home photos are uploaded with the bot token (`files:write`); no call reads a
    /// profile with the bot token beyond `users.info` (`users:read`), so it has no
    /// `users.profile:read`.
    #[test]
    fn the_bot_can_upload_and_asks_for_nothing_it_does_not_use() {
        let m = manifest(DEFAULT_COMMAND_NAME);
        let bot: Vec<String> = serde_json::from_value(m["oauth_config"]["scopes"]["bot"].clone()).unwrap_or_default();
        assert!(bot.iter().any(|s| s == "files:write"), "{bot:?}");
        assert!(!bot.iter().any(|s| s == "users.profile:read"), "{bot:?}");
        assert_eq!(m["oauth_config"]["scopes"]["user"], serde_json::json!(["users.profile:read", "users.profile:write"]));
    }

    #[test]
    fn within_slacks_limits() {
        let m = manifest(DEFAULT_COMMAND_NAME);
        assert!(m["display_information"]["name"].as_str().map_or(0, str::len) <= 35);
        assert!(m["display_information"]["description"].as_str().map_or(0, |s| s.chars().count()) <= 140);
        for c in slash_commands() {
            assert!(c.command.starts_with('/') && c.command.len() <= 32 && c.command == c.command.to_lowercase(), "{}", c.command);
            assert!(c.description.chars().count() <= 2000, "{}", c.command);
            assert!(c.usage_hint.chars().count() <= 1000, "{}", c.command);
        }
    }
}
