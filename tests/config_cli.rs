//! The command line's contract for operators: bad configuration exits 2 with one sentence naming
//! the key (and never the token), `manifest` prints `manifest.json`, `check` tries every token.
//! Each test runs the real binary with an environment cleared of SLACK_* variables.

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `statusinator <args>` in `dir` with only `env` set (plus PATH/HOME), RUST_BACKTRACE=1 so
/// a panic would show its backtrace and fail the "no backtrace" checks.
fn statusinator(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_statusinator"));
    cmd.current_dir(dir).stdin(Stdio::null()).env_clear();
    for k in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(k) {
            cmd.env(k, v);
        }
    }
    cmd.env("RUST_BACKTRACE", "1").env("STATUSINATOR_DB", dir.join("db"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("run statusinator")
}

async fn statusinator_async(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        statusinator(&dir, &args, &env)
    })
    .await
    .expect("join")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exit status 2, exactly one non-empty line on stderr that contains every `needles`, and no panic,
/// backtrace or any of `secrets` anywhere in the output.
fn assert_config_error(out: &Output, needles: &[&str], secrets: &[&str]) -> String {
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "want exit 2\nstderr: {stderr}\nstdout: {stdout}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "want one line on stderr, got:\n{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} not named in {:?}", lines[0]);
    }
    for s in secrets {
        assert!(!stderr.contains(s) && !stdout.contains(s), "secret {s:?} leaked:\n{stderr}{stdout}");
    }
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!stderr.contains(bad), "looks like a panic:\n{stderr}");
    }
    lines[0].to_string()
}

#[test]
fn missing_app_token_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = statusinator(dir.path(), &["run"], &[("SLACK_BOT_TOKEN", BOT_TOKEN)]);
    assert_config_error(&out, &["slack.app_token", "SLACK_APP_TOKEN"], &[BOT_TOKEN]);
    // An empty value counts as missing too.
    let out = statusinator(dir.path(), &["run"], &[("SLACK_BOT_TOKEN", BOT_TOKEN), ("SLACK_APP_TOKEN", "  ")]);
    assert_config_error(&out, &["slack.app_token"], &[BOT_TOKEN]);
    // And the bot token is checked the same way.
    let out = statusinator(dir.path(), &["run"], &[("SLACK_APP_TOKEN", APP_TOKEN)]);
    assert_config_error(&out, &["slack.bot_token", "SLACK_BOT_TOKEN"], &[APP_TOKEN]);
}

#[test]
fn a_bot_token_as_the_app_token_exits_2_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "xoxb-1234-5678-SuperSecretValue";
    let out = statusinator(dir.path(), &["run"], &[("SLACK_BOT_TOKEN", BOT_TOKEN), ("SLACK_APP_TOKEN", secret)]);
    assert_config_error(&out, &["slack.app_token", "xoxb"], &["SuperSecretValue", "1234-5678"]);
    // The same mistake in the file.
    std::fs::write(dir.path().join("c.toml"), format!("[slack]\napp_token = \"{secret}\"\nbot_token = \"{BOT_TOKEN}\"\n")).unwrap();
    let out = statusinator(dir.path(), &["run", "--config", "c.toml"], &[]);
    assert_config_error(&out, &["slack.app_token"], &["SuperSecretValue"]);
    // A user token where the bot token goes.
    let out = statusinator(dir.path(), &["check"], &[("SLACK_BOT_TOKEN", "xoxp-9-UserSecret"), ("SLACK_APP_TOKEN", APP_TOKEN)]);
    assert_config_error(&out, &["slack.bot_token", "xoxp"], &["UserSecret"]);
}

#[test]
fn an_unreadable_config_path_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("SLACK_BOT_TOKEN", BOT_TOKEN), ("SLACK_APP_TOKEN", APP_TOKEN)];
    let out = statusinator(dir.path(), &["run", "--config", "does-not-exist.toml"], &env);
    assert_config_error(&out, &["--config", "does-not-exist.toml"], &[APP_TOKEN, BOT_TOKEN]);
    // A directory is not a readable file either.
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    let out = statusinator(dir.path(), &["run", "--config", "conf.d"], &env);
    assert_config_error(&out, &["--config", "conf.d"], &[APP_TOKEN, BOT_TOKEN]);
    // Not UTF-8.
    std::fs::write(dir.path().join("bin.toml"), [0xff, 0xfe, 0x00, 0x80]).unwrap();
    let out = statusinator(dir.path(), &["check", "--config", "bin.toml"], &env);
    assert_config_error(&out, &["--config", "bin.toml"], &[]);
}

#[test]
fn bad_toml_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("SLACK_BOT_TOKEN", BOT_TOKEN), ("SLACK_APP_TOKEN", APP_TOKEN)];
    let cases: &[(&str, &[&str])] = &[
        // wrong type for a key
        ("[slack]\napp_token = 42\n", &["slack.app_token", "line 2"]),
        ("[slack]\nconnections = \"two\"\n", &["slack.connections", "line 2"]),
        ("[limits]\ncommands_per_minute = -1\n", &["limits.commands_per_minute"]),
        // a key that does not exist
        ("[slack]\n\nap_token = \"xapp-1\"\n", &["slack.ap_token", "line 3"]),
        // valid TOML, invalid value
        ("[images]\nsize = 100\n", &["images.size"]),
        ("[slack]\nconnections = 3\n", &["slack.connections"]),
        // not TOML at all: the line is named
        ("[slack\napp_token = \"xapp-1\"\n", &["line 1"]),
    ];
    for (i, (toml, needles)) in cases.iter().enumerate() {
        let name = format!("bad{i}.toml");
        std::fs::write(dir.path().join(&name), toml).unwrap();
        let out = statusinator(dir.path(), &["run", "--config", &name], &env);
        assert_config_error(&out, needles, &[APP_TOKEN, BOT_TOKEN]);
    }
    // A token pasted into the wrong key is not repeated in the message.
    std::fs::write(dir.path().join("leak.toml"), "[slack]\nconnections = \"xoxb-42-TopSecret\"\n").unwrap();
    let out = statusinator(dir.path(), &["run", "--config", "leak.toml"], &env);
    assert_config_error(&out, &["slack.connections"], &["TopSecret"]);
    // Without --config, ./statusinator.toml is read when present.
    std::fs::write(dir.path().join("statusinator.toml"), "[storage]\npath = 7\n").unwrap();
    let out = statusinator(dir.path(), &["run"], &env);
    assert_config_error(&out, &["storage.path", "statusinator.toml"], &[]);
}

#[test]
fn manifest_prints_manifest_json() {
    let dir = tempfile::tempdir().unwrap();
    // No tokens needed to print the manifest.
    let out = statusinator(dir.path(), &["manifest"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest output is JSON");
    let file = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("manifest.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&file).expect("manifest.json is JSON");
    assert_eq!(printed, expected, "`statusinator manifest` and manifest.json differ");
    assert_eq!(text(&out.stdout), file, "byte for byte");
    assert_eq!(printed["settings"]["socket_mode_enabled"], true);
}

/// Slack refuses an authorize link whose redirect URL the app does not list, and the command
/// must be the one members type: the printed manifest follows the operator's configuration.
#[test]
fn manifest_follows_the_configured_command_and_redirect_url() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bot.toml");
    std::fs::write(&config, "[slack]\ncommand = \"sp\"\n[oauth]\nredirect_url = \"https://example.com/from-file\"\n").unwrap();
    let out = statusinator(dir.path(), &["manifest", "--config", config.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest output is JSON");
    assert_eq!(printed["features"]["slash_commands"][0]["command"], "/sp");
    assert_eq!(printed["oauth_config"]["redirect_urls"], serde_json::json!(["https://example.com/from-file"]));

    // The environment wins over the file, as everywhere else.
    let env = [("SLACK_REDIRECT_URL", "https://example.com/from-env")];
    let out = statusinator(dir.path(), &["manifest", "--config", config.to_str().unwrap()], &env);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest output is JSON");
    assert_eq!(printed["oauth_config"]["redirect_urls"], serde_json::json!(["https://example.com/from-env"]));

    // A bad value is a configuration error, not a manifest Slack would refuse.
    let out = statusinator(dir.path(), &["manifest"], &[("SLACK_REDIRECT_URL", "http://example.com/plain")]);
    assert_config_error(&out, &["oauth.redirect_url"], &[]);
    let out = statusinator(dir.path(), &["manifest", "--config", "missing.toml"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// A public client (`[oauth] pkce = true`) needs PKCE turned on in the app: the printed manifest
/// says so, and only then.
#[test]
fn manifest_turns_pkce_on_for_a_public_client() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bot.toml");
    std::fs::write(
        &config,
        "[oauth]
pkce = true
",
    )
    .unwrap();
    let out = statusinator(dir.path(), &["manifest", "--config", config.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest output is JSON");
    assert_eq!(printed["oauth_config"]["pkce_enabled"], true, "{printed}");
    let out = statusinator(dir.path(), &["manifest"], &[]);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest output is JSON");
    assert!(printed["oauth_config"].get("pkce_enabled").is_none(), "{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_each_token_against_the_fake() {
    let slack = FakeSlack::start().await;
    let user_token = slack.add_member("U1", "Ada");
    let dir = tempfile::tempdir().unwrap();
    let api = slack.api_url();
    let base = [("SLACK_APP_TOKEN", APP_TOKEN), ("SLACK_BOT_TOKEN", BOT_TOKEN), ("SLACK_API_URL", api.as_str())];

    let mut env = base.to_vec();
    env.push(("SLACK_USER_TOKEN", user_token.as_str()));
    let out = statusinator_async(dir.path(), &["check"], &env).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{}", text(&out.stderr));
    let ok_lines = stdout.lines().filter(|l| l.contains("OK")).count();
    assert!(ok_lines >= 4, "config, bot, app and user token should each say OK:\n{stdout}");
    for who in ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_USER_TOKEN"] {
        assert!(stdout.lines().any(|l| l.contains(who) && l.contains("OK")), "no OK line for {who}:\n{stdout}");
    }
    assert!(!stdout.contains("PROBLEM"), "{stdout}");
    let methods: Vec<String> = slack.calls().iter().map(|c| c.method.clone()).collect();
    assert!(methods.iter().filter(|m| *m == "auth.test").count() >= 2, "{methods:?}");
    assert!(methods.iter().any(|m| m == "apps.connections.open"), "{methods:?}");

    // A user token Slack does not know: exit 1, and the line names the user token.
    let mut env = base.to_vec();
    env.push(("SLACK_USER_TOKEN", "xoxp-999-NotAToken"));
    let out = statusinator_async(dir.path(), &["check"], &env).await;
    let stdout = text(&out.stdout);
    let all = format!("{stdout}{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    let problem = stdout.lines().find(|l| l.contains("PROBLEM")).unwrap_or_else(|| panic!("no PROBLEM line:\n{all}"));
    assert!(problem.contains("user token") && problem.contains("SLACK_USER_TOKEN"), "{problem}");
    assert!(!all.contains("NotAToken"), "token leaked:\n{all}");
    // The other tokens still say OK.
    assert!(stdout.lines().any(|l| l.contains("SLACK_BOT_TOKEN") && l.contains("OK")), "{stdout}");

    // A refused app token is named too.
    slack.set_connections_open_error(Some("invalid_auth".into()));
    let out = statusinator_async(dir.path(), &["check"], &base).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("PROBLEM") && l.contains("SLACK_APP_TOKEN")), "{stdout}");
}
