//! Keeps the checked-in `manifest.json` and the files in `slash-commands/` in step with the code
//! that embeds them. To regenerate `manifest.json` after a change, run
//! `UPDATE_MANIFEST=1 cargo test --test manifest`.

use std::fs;
use std::path::{Path, PathBuf};

use statusinator::command::{parse, parse_slash_command, slash_commands, usage, ParseError, SlashCommand, DEFAULT_COMMAND_NAME};
use statusinator::manifest::manifest_json;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The slash commands as they are on disk now, which `include_str!` may not have picked up.
fn on_disk() -> Vec<(PathBuf, SlashCommand)> {
    let dir = repo_root().join("slash-commands");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let command = parse_slash_command(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, command)
        })
        .collect()
}

#[test]
fn manifest_json_file_matches_the_code() {
    let path = repo_root().join("manifest.json");
    let expected = manifest_json();
    if std::env::var_os("UPDATE_MANIFEST").is_some() {
        fs::write(&path, &expected).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    let actual = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(actual == expected, "manifest.json is stale; regenerate it with `UPDATE_MANIFEST=1 cargo test --test manifest`");
}

#[test]
fn every_file_in_slash_commands_is_embedded() {
    let disk = on_disk();
    assert!(!disk.is_empty());
    assert_eq!(disk.len(), slash_commands().len(), "add every slash-commands/*.toml to SOURCES in src/command.rs");
    for (path, command) in &disk {
        assert!(
            slash_commands().contains(command),
            "{} differs from what the binary embeds (rebuild, or add it to SOURCES)",
            path.display()
        );
    }
}

#[test]
fn every_subcommand_appears_in_usage() {
    for command_name in [DEFAULT_COMMAND_NAME, "/sp"] {
        let text = usage(command_name);
        for (path, command) in on_disk() {
            for sub in &command.subcommands {
                let line = format!("`{command_name} {}` — {}", sub.usage, sub.summary);
                assert!(text.contains(&line), "{}: `{}` is missing from usage(\"{command_name}\")", path.display(), sub.usage);
            }
        }
    }
}

#[test]
fn every_subcommand_is_understood() {
    for (path, command) in on_disk() {
        for sub in &command.subcommands {
            let word = sub.usage.split_whitespace().next().unwrap_or("");
            assert!(!matches!(parse(word), Err(ParseError::Unknown { .. })), "{}: the parser does not know `{word}`", path.display());
        }
    }
}

#[test]
fn manifest_lists_every_slash_command() {
    let manifest = statusinator::manifest::manifest(DEFAULT_COMMAND_NAME);
    let listed: Vec<&str> = manifest["features"]["slash_commands"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["command"].as_str()).collect())
        .unwrap_or_default();
    for (path, command) in on_disk() {
        assert!(listed.contains(&command.command.as_str()), "{} is not in the manifest", path.display());
    }
}

/// The checked-in manifest asks for `files:write` (the App Home photos are uploaded with the bot
/// token) and no longer for the bot's `users.profile:read`, which no call used.
#[test]
fn the_manifest_has_the_upload_scope_and_not_the_unused_one() {
    let text = fs::read_to_string(repo_root().join("manifest.json")).unwrap_or_default();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let bot: Vec<&str> =
        m["oauth_config"]["scopes"]["bot"].as_array().map(|a| a.iter().filter_map(|s| s.as_str()).collect()).unwrap_or_default();
    assert_eq!(bot, ["chat:write", "commands", "emoji:read", "files:read", "files:write", "im:history", "users:read"]);
    let user: Vec<&str> =
        m["oauth_config"]["scopes"]["user"].as_array().map(|a| a.iter().filter_map(|s| s.as_str()).collect()).unwrap_or_default();
    assert_eq!(user, ["users.profile:read", "users.profile:write"]);
    assert!(m["oauth_config"].get("pkce_enabled").is_none(), "only printed for a public client");
}
