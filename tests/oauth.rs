//! Multi-member connect and the token lifecycle (issue 5), end to end: the real binary against the
//! fake Slack, whose `approve` plays the member's browser on the authorize link.

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use serde_json::json;

const CLIENT_ID: &str = "123.456";
const CLIENT_SECRET: &str = "s3cret-client";
const REDIRECT: &str = "https://example.com/statusinator";
const KEY: &str = "correct horse battery staple";
const ROOMY: &str = "[limits]\ncommands_per_minute = 1000\n";

fn oauth_env(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("SLACK_CLIENT_ID".into(), CLIENT_ID.into()),
        ("SLACK_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
        ("SLACK_REDIRECT_URL".into(), REDIRECT.into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn multi(slack: &FakeSlack, extra: &[(&str, &str)]) -> Bot {
    Bot::spawn(slack, BotOptions { env: oauth_env(extra), config_toml: Some(ROOMY.into()), ..Default::default() })
}

async fn ready(slack: &FakeSlack, bot: &Bot) {
    assert!(bot.connected(slack, secs(20)).await, "bot never connected:\n{}", bot.logs());
}

/// A slash command; returns the text of its ephemeral ack.
async fn slash(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) -> String {
    let env = slack.slash_command(user, text).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_else(|| panic!("{text:?} got no reply:\n{}", bot.logs()))
}

/// The first link in a reply (`<url|label>`, `<url>` or bare).
fn link_in(text: &str) -> String {
    let start = text.find("http").unwrap_or_else(|| panic!("no link in {text:?}"));
    let rest = &text[start..];
    let end = rest.find(|c: char| c == '|' || c == '>' || c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].to_string()
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// How Slack delivers a pasted address in a slash command: `<url>` with `&` escaped.
fn as_slack_sends(url: &str) -> String {
    format!("<{}>", url.replace('&', "&amp;"))
}

/// `connect` → approve as `member` → the address the browser landed on.
async fn authorize(slack: &FakeSlack, bot: &Bot, member: &str) -> String {
    let reply = slash(slack, bot, member, "connect").await;
    let link = link_in(&reply);
    assert!(link.starts_with(&format!("{}/oauth/v2/authorize?", slack.origin())), "{link}");
    slack.approve(&link, member)
}

async fn connect(slack: &FakeSlack, bot: &Bot, member: &str) {
    let landed = authorize(slack, bot, member).await;
    let reply = slash(slack, bot, member, &format!("connect {}", as_slack_sends(&landed))).await;
    assert!(reply.contains("Connected"), "{reply}\n{}", bot.logs());
}

async fn add_preset(slack: &FakeSlack, bot: &Bot, member: &str, text: &str) {
    let reply = slash(slack, bot, member, text).await;
    assert!(reply.contains("Saved"), "{reply}");
}

fn oauth_calls(slack: &FakeSlack) -> Vec<Call> {
    slack.calls_to("oauth.v2.access")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if contains(&std::fs::read(&p).unwrap_or_default(), needle) {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// Runs `statusinator run` once on `db` with only these variables; kills it after `timeout` if it
/// has not exited. Returns (exit status if it exited, stderr).
fn run_once(slack: &FakeSlack, db: &Path, env: &[(&str, &str)], timeout: std::time::Duration) -> (Option<ExitStatus>, String) {
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_statusinator"));
    cmd.current_dir(dir.path()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(std::fs::File::create(&err_path).unwrap());
    for (k, _) in std::env::vars() {
        if k.starts_with("SLACK_") || k.starts_with("STATUSINATOR_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("SLACK_APP_TOKEN", APP_TOKEN)
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .env("SLACK_API_URL", slack.api_url())
        .env("STATUSINATOR_DB", db)
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.arg("run").spawn().unwrap();
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(millis(50));
    };
    (status, std::fs::read_to_string(&err_path).unwrap_or_default())
}

fn stored_token(db: &Path, member: &str, key: Option<&str>) -> Option<statusinator::store::TokenRecord> {
    let store = statusinator::store::Store::open(db).unwrap();
    store.tokens.unlock(key, db).unwrap();
    store.tokens.get(member).unwrap()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn connect_by_pasted_address_then_status_swaps_with_the_members_own_token() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U2", "Bea");
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;

    let reply = slash(&slack, &bot, "U2", "connect").await;
    let link = link_in(&reply);
    let q = query(&link);
    assert!(link.starts_with(&format!("{}/oauth/v2/authorize?", slack.origin())), "{link}");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["user_scope"], "users.profile:read,users.profile:write");
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["state"].len(), 43, "32 random bytes, base64url");
    assert!(!q.contains_key("code_challenge"), "no PKCE unless configured");
    assert!(link.contains("user_scope=users.profile:read,users.profile:write"), "{link}");

    let landed = slack.approve(&link, "U2");
    assert!(landed.starts_with(REDIRECT));
    let reply = slash(&slack, &bot, "U2", &format!("connect {}", as_slack_sends(&landed))).await;
    assert!(reply.contains("Connected"), "{reply}\n{}", bot.logs());

    let calls = oauth_calls(&slack);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].param("code").as_deref(), Some(query(&landed)["code"].as_str()));
    assert_eq!(calls[0].param("client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(calls[0].param("client_secret").as_deref(), Some(CLIENT_SECRET));
    assert_eq!(calls[0].param("redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(calls[0].param("code_verifier"), None);
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: yes"));

    add_preset(&slack, &bot, "U2", "add :palm_tree: On vacation").await;
    slack.set_status("U2", ":palm_tree:").await;
    let sets = slack.wait_for_calls("users.profile.set", 1, secs(15)).await;
    assert_eq!(sets.len(), 1, "{}", bot.logs());
    assert_eq!(sets[0].token.as_deref(), Some(token.as_str()), "the member's own token");
    assert_eq!(slack.member_profile("U2")["display_name"], "On vacation");
    assert!(!bot.logs().contains(&token), "the token never appears in the logs");
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_by_bare_code_uses_the_members_newest_link() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U2", "Bea");
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;

    let landed = authorize(&slack, &bot, "U2").await;
    let code = query(&landed)["code"].clone();
    let reply = slash(&slack, &bot, "U2", &format!("connect {code}")).await;
    assert!(reply.contains("Connected"), "{reply}\n{}", bot.logs());
    assert_eq!(oauth_calls(&slack).len(), 1);

    add_preset(&slack, &bot, "U2", "add :car: Driving").await;
    slack.set_status("U2", ":car:").await;
    let sets = slack.wait_for_calls("users.profile.set", 1, secs(15)).await;
    assert_eq!(sets.first().and_then(|c| c.token.clone()).as_deref(), Some(token.as_str()), "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_reused_foreign_and_expired_states_are_refused_without_an_exchange() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    slack.add_member("U3", "Cy");
    let mut bot = multi(&slack, &[]);
    ready(&slack, &bot).await;

    // A bare code with no link handed out.
    let reply = slash(&slack, &bot, "U2", "connect 1234.5678.abcdef").await;
    assert!(reply.contains("no authorisation in progress"), "{reply}");

    // A state nobody handed out.
    let reply = slash(&slack, &bot, "U2", "connect <https://example.com/statusinator?code=1.2.abc&amp;state=FORGEDSTATE>").await;
    assert!(reply.contains("doesn't carry a link I handed out"), "{reply}");

    // U3's link, pasted by U2.
    let landed_u3 = authorize(&slack, &bot, "U3").await;
    let reply = slash(&slack, &bot, "U2", &format!("connect {}", as_slack_sends(&landed_u3))).await;
    assert!(reply.contains("started by someone else"), "{reply}");
    assert_eq!(oauth_calls(&slack).len(), 0, "nothing exchanged for refused states");
    // U3's own link still works: the refusal did not spend it.
    let reply = slash(&slack, &bot, "U3", &format!("connect {}", as_slack_sends(&landed_u3))).await;
    assert!(reply.contains("Connected"), "{reply}");
    assert_eq!(oauth_calls(&slack).len(), 1);

    // Reused.
    let reply = slash(&slack, &bot, "U3", &format!("connect {}", as_slack_sends(&landed_u3))).await;
    assert!(reply.contains("already used"), "{reply}");
    assert_eq!(oauth_calls(&slack).len(), 1);

    // Expired: age U2's link past ten minutes while the bot is stopped.
    let landed_u2 = authorize(&slack, &bot, "U2").await;
    let state = query(&landed_u2)["state"].clone();
    assert!(bot.shutdown(secs(15)).await.is_some(), "{}", bot.logs());
    {
        let store = statusinator::store::Store::open(&bot.db_path()).unwrap();
        store
            .oauth_states
            .update(&state, |s| {
                s.map(|mut s| {
                    s.created_ms -= 11 * 60 * 1000;
                    s
                })
            })
            .unwrap();
        store.flush_blocking().unwrap();
    }
    bot.restart().await;
    assert!(bot.connected(&slack, secs(20)).await, "{}", bot.logs());
    let reply = slash(&slack, &bot, "U2", &format!("connect {}", as_slack_sends(&landed_u2))).await;
    assert!(reply.contains("expired"), "{reply}");
    // A bare code finds no usable link either.
    let reply = slash(&slack, &bot, "U2", &format!("connect {}", query(&landed_u2)["code"])).await;
    assert!(reply.contains("no authorisation in progress"), "{reply}");
    assert_eq!(oauth_calls(&slack).len(), 1, "still only U3's exchange");
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: no"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_for_another_account_is_thrown_away() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    let other = slack.add_member("U3", "Cy");
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    let reply = slash(&slack, &bot, "U2", "connect").await;
    // U2's link, but approved while signed in as U3.
    let landed = slack.approve(&link_in(&reply), "U3");
    let reply = slash(&slack, &bot, "U2", &format!("connect {}", as_slack_sends(&landed))).await;
    assert!(reply.contains("different Slack account"), "{reply}");
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: no"));
    let revokes = slack.wait_for_calls("auth.revoke", 1, secs(10)).await;
    assert_eq!(revokes.first().and_then(|c| c.token.clone()).as_deref(), Some(other.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn pkce_sends_the_s256_challenge_and_then_the_verifier_without_a_secret() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U2", "Bea");
    let toml = format!("{ROOMY}[oauth]\nclient_id = \"{CLIENT_ID}\"\npkce = true\nredirect_url = \"http://localhost\"\n");
    let bot = Bot::spawn(&slack, BotOptions { config_toml: Some(toml), ..Default::default() });
    ready(&slack, &bot).await;

    let reply = slash(&slack, &bot, "U2", "connect").await;
    let link = link_in(&reply);
    let q = query(&link);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], "http://localhost");
    let challenge = q["code_challenge"].clone();
    assert_eq!(challenge.len(), 43);

    let landed = slack.approve(&link, "U2");
    assert!(landed.starts_with("http://localhost/?code="), "{landed}");
    let reply = slash(&slack, &bot, "U2", &format!("connect {}", as_slack_sends(&landed))).await;
    assert!(reply.contains("Connected"), "{reply}\n{}", bot.logs());

    let calls = oauth_calls(&slack);
    assert_eq!(calls.len(), 1);
    let verifier = calls[0].param("code_verifier").expect("code_verifier sent");
    assert_eq!(statusinator::slack::oauth::pkce_challenge(&verifier), challenge, "challenge = base64url(SHA-256(verifier))");
    assert_eq!(calls[0].param("client_secret"), None, "a public client sends no secret");
    assert_eq!(calls[0].param("client_id").as_deref(), Some(CLIENT_ID));

    add_preset(&slack, &bot, "U2", "add :palm_tree: Away").await;
    slack.set_status("U2", ":palm_tree:").await;
    let sets = slack.wait_for_calls("users.profile.set", 1, secs(15)).await;
    assert_eq!(sets.first().and_then(|c| c.token.clone()).as_deref(), Some(token.as_str()), "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotating_token_is_refreshed_before_it_expires_and_the_new_one_is_used() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    // Issued tokens expire in 5 minutes (inside the 10-minute window); refreshed ones in 12 hours.
    slack.set_token_rotation(Some(300), 43_200);
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    connect(&slack, &bot, "U2").await;

    let calls = slack.wait_for_calls("oauth.v2.access", 2, secs(15)).await;
    assert_eq!(calls.len(), 2, "refreshed:\n{}", bot.logs());
    let r = &calls[1];
    assert_eq!(r.param("grant_type").as_deref(), Some("refresh_token"));
    // The fake's pairs are `xoxe.xoxp-U2-<n>` / `xoxe-1-U2-<n>-…`: the refresh token names the first token.
    let spent = r.param("refresh_token").unwrap_or_default();
    let n = spent.strip_prefix("xoxe-1-U2-").and_then(|r| r.split('-').next()).unwrap_or_else(|| panic!("{spent}"));
    let first = format!("xoxe.xoxp-U2-{n}");
    assert_eq!(r.param("client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(r.param("client_secret").as_deref(), Some(CLIENT_SECRET));
    let second = slack.member_token("U2").unwrap();
    assert_ne!(first, second);

    // Not refreshed again: the new token has 12 hours.
    tokio::time::sleep(secs(4)).await;
    assert_eq!(oauth_calls(&slack).len(), 2, "{}", bot.logs());

    add_preset(&slack, &bot, "U2", "add :palm_tree: Away").await;
    slack.set_status("U2", ":palm_tree:").await;
    let sets = slack.wait_for_calls("users.profile.set", 1, secs(15)).await;
    assert_eq!(sets.first().and_then(|c| c.token.clone()).as_deref(), Some(second.as_str()), "{}", bot.logs());
    assert_eq!(slack.member_profile("U2")["display_name"], "Away");
    assert!(!bot.logs().contains(&second) && !bot.logs().contains(&first));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refresh_disconnects_the_member_and_tells_them_once() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    slack.set_token_rotation(Some(300), 43_200);
    slack.set_refresh_error(Some("invalid_refresh_token"));
    slack.set_echo_bot_messages(false);
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    add_preset(&slack, &bot, "U2", "add :palm_tree: Away").await;
    connect(&slack, &bot, "U2").await;

    let dm = slack.wait_for_bot_text("U2", "wouldn't renew", secs(15)).await;
    let dm = dm.unwrap_or_else(|| panic!("no DM: {:?}\n{}", slack.bot_texts("U2"), bot.logs()));
    assert!(dm.contains("connect"), "{dm}");
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: no"));

    // No second refresh attempt, no second DM, and no swaps.
    tokio::time::sleep(secs(5)).await;
    let refreshes = oauth_calls(&slack).into_iter().filter(|c| c.param("grant_type").as_deref() == Some("refresh_token")).count();
    assert_eq!(refreshes, 1);
    let notices = slack.bot_texts("U2").into_iter().filter(|t| t.contains("wouldn't renew")).count();
    assert_eq!(notices, 1, "{:?}", slack.bot_texts("U2"));
    slack.set_status("U2", ":palm_tree:").await;
    tokio::time::sleep(secs(2)).await;
    assert!(slack.calls_to("users.profile.set").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_revoked_disconnects_drops_queued_work_and_tells_the_member_once() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U2", "Bea");
    slack.set_echo_bot_messages(false);
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    connect(&slack, &bot, "U2").await;
    add_preset(&slack, &bot, "U2", "add :palm_tree: Away").await;

    // The first write is rate limited, so the work stays queued for a retry in 3 s.
    slack.fail_next("users.profile.set", Fault::Http429 { retry_after: 3 });
    slack.set_status("U2", ":palm_tree:").await;
    assert_eq!(slack.wait_for_calls("users.profile.set", 1, secs(15)).await.len(), 1, "{}", bot.logs());
    let (env, _) =
        slack.push_event(json!({"type": "tokens_revoked", "tokens": {"oauth": ["U2"], "bot": []}, "event_ts": "1700000000.000100"})).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some());
    let revoked_at = Instant::now();

    let dm = slack.wait_for_bot_text("U2", "revoked", secs(15)).await;
    let dm = dm.unwrap_or_else(|| panic!("no DM: {:?}\n{}", slack.bot_texts("U2"), bot.logs()));
    assert!(dm.contains("connect"), "{dm}");
    let status = slash(&slack, &bot, "U2", "status").await;
    assert!(status.contains("Connected: no"), "{status}");
    assert!(status.contains("Pending: nothing"), "{status}");
    assert!(status.contains("Last failure: token_revoked"), "queued work dead-lettered with the reason: {status}");

    // Past the retry time, and after another status change: nothing more with that token.
    slack.set_status("U2", "").await;
    tokio::time::sleep(secs(5)).await;
    let later: Vec<Call> = slack.calls().into_iter().filter(|c| c.at > revoked_at && c.token.as_deref() == Some(token.as_str())).collect();
    assert!(later.is_empty(), "{later:?}");
    let notices = slack.bot_texts("U2").into_iter().filter(|t| t.contains("revoked")).count();
    assert_eq!(notices, 1, "{:?}", slack.bot_texts("U2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_refused_during_a_swap_disconnects_with_one_message() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    slack.set_echo_bot_messages(false);
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    connect(&slack, &bot, "U2").await;
    add_preset(&slack, &bot, "U2", "add :palm_tree: Away").await;
    // Revoked on Slack's side without an event: the swap finds out.
    slack.revoke_token("U2");
    slack.set_status("U2", ":palm_tree:").await;
    let dm = slack.wait_for_bot_text("U2", "connect", secs(15)).await;
    assert!(dm.is_some(), "{:?}\n{}", slack.bot_texts("U2"), bot.logs());
    tokio::time::sleep(secs(6)).await;
    let texts = slack.bot_texts("U2");
    assert_eq!(texts.iter().filter(|t| t.contains("connect")).count(), 1, "told once: {texts:?}");
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: no"));
}

#[tokio::test(flavor = "multi_thread")]
async fn disconnect_restores_the_baseline_then_revokes_then_forgets() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U2", "Bea");
    slack.set_echo_bot_messages(false);
    let mut bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    connect(&slack, &bot, "U2").await;
    add_preset(&slack, &bot, "U2", "add :palm_tree: Away").await;
    slack.set_status("U2", ":palm_tree:").await;
    slack.wait_for_calls("users.profile.set", 1, secs(15)).await;
    assert!(slack.wait_until(secs(10), |s| s.member_profile("U2")["display_name"] == "Away").await);

    let reply = slash(&slack, &bot, "U2", "disconnect").await;
    assert!(reply.contains("Disconnecting"), "{reply}");
    let dm = slack.wait_for_bot_text("U2", "Disconnected", secs(30)).await;
    let dm = dm.unwrap_or_else(|| panic!("no DM: {:?}\n{}", slack.bot_texts("U2"), bot.logs()));
    assert!(dm.contains("own name and photo are back"), "{dm}");

    assert_eq!(slack.member_profile("U2")["display_name"], "Bea", "baseline restored");
    let sets = slack.calls_to("users.profile.set");
    let restore = sets.last().unwrap();
    let revokes = slack.calls_to("auth.revoke");
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].token.as_deref(), Some(token.as_str()));
    assert!(restore.at < revokes[0].at, "restored first, while the token still worked");
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: no"));

    // The status (still :palm_tree:) changes nothing any more.
    let n = slack.calls().len();
    slack.set_status("U2", ":palm_tree:").await;
    tokio::time::sleep(secs(2)).await;
    assert!(slack.calls()[n..].iter().all(|c| c.token.as_deref() != Some(token.as_str())));

    assert!(bot.shutdown(secs(15)).await.is_some());
    assert!(stored_token(&bot.db_path(), "U2", None).is_none(), "the token is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn single_user_mode_and_the_owner() {
    let slack = FakeSlack::start().await;
    let owner = slack.add_member("U1", "Ada");
    slack.add_member("U2", "Bea");
    // No OAuth client: single-user mode only.
    let bot = Bot::single_user(&slack, &owner);
    ready(&slack, &bot).await;
    let reply = slash(&slack, &bot, "U2", "connect").await;
    assert!(reply.contains("single-user mode"), "{reply}");
    let reply = slash(&slack, &bot, "U1", "connect").await;
    assert!(reply.contains("already connected"), "{reply}");
    let reply = slash(&slack, &bot, "U1", "disconnect").await;
    assert!(reply.contains("SLACK_USER_TOKEN"), "{reply}");
    assert!(slash(&slack, &bot, "U1", "status").await.contains("Connected: yes"));
    assert!(slack.calls_to("auth.revoke").is_empty());
    drop(bot);

    // Both modes at once: the owner from config, others by connect.
    let bot = Bot::spawn(&slack, BotOptions { user_token: Some(owner.clone()), env: oauth_env(&[]), ..Default::default() });
    ready(&slack, &bot).await;
    let reply = slash(&slack, &bot, "U1", "connect").await;
    assert!(reply.contains("nothing to connect"), "{reply}");
    connect(&slack, &bot, "U2").await;
    assert!(slash(&slack, &bot, "U1", "disconnect").await.contains("SLACK_USER_TOKEN"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_home_connect_button_sends_the_link_by_dm() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    slack.set_echo_bot_messages(false);
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    slack.block_action("U2", "home_connect", "", None).await;
    let dm = slack.wait_for_bot_text("U2", "/oauth/v2/authorize", secs(10)).await;
    let dm = dm.unwrap_or_else(|| panic!("no link: {:?}\n{}", slack.bot_texts("U2"), bot.logs()));
    // And it works when pasted back in the DM.
    let landed = slack.approve(&link_in(&dm), "U2");
    slack.dm("U2", &format!("connect {}", as_slack_sends(&landed)), vec![]).await;
    assert!(slack.wait_for_bot_text("U2", "Connected", secs(10)).await.is_some(), "{:?}", slack.bot_texts("U2"));
}

/// Issue 5: the address can also be pasted "into a modal opened from the App Home". Problems show
/// under the field (the modal stays open); success closes it and confirms by DM.
#[tokio::test(flavor = "multi_thread")]
async fn the_app_home_paste_modal_connects_and_shows_problems_inline() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    slack.set_echo_bot_messages(false);
    let bot = multi(&slack, &[]);
    ready(&slack, &bot).await;

    slack.app_home_opened("U2").await;
    let home = slack.wait_until(secs(10), |f| f.home_view("U2").is_some()).await;
    assert!(home, "no App Home:\n{}", bot.logs());
    let home = slack.home_view("U2").unwrap_or_default().to_string();
    assert!(home.contains("home_paste_code"), "no paste button for a member who is not connected: {home}");

    slack.block_action("U2", "home_paste_code", "", None).await;
    let opened = slack.wait_for_calls("views.open", 1, secs(10)).await;
    let view = opened.first().and_then(|c| c.json_param("view")).unwrap_or_default();
    assert_eq!(view["callback_id"], "connect_modal", "{view}");

    let submit = |text: String| {
        let slack = &slack;
        async move {
            let state = serde_json::json!({ "code_block": { "code_input": { "type": "plain_text_input", "value": text } } });
            let env = slack.view_submission("U2", "connect_modal", "", state).await;
            slack.wait_for_ack(&env, secs(10)).await.and_then(|a| a.payload).unwrap_or_default()
        }
    };
    // Nonsense: refused inline, and oauth.v2.access is not called.
    let answer = submit("hello there".into()).await;
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert!(answer["errors"]["code_block"].as_str().is_some_and(|e| e.contains("code=")), "{answer}");
    assert!(oauth_calls(&slack).is_empty());

    // The real thing: Connect's link, approved, and the address as the browser shows it.
    slack.block_action("U2", "home_connect", "", None).await;
    let dm = slack.wait_for_bot_text("U2", "/oauth/v2/authorize", secs(10)).await.unwrap_or_default();
    let landed = slack.approve(&link_in(&dm), "U2");
    let answer = submit(landed.clone()).await;
    assert_eq!(answer["response_action"], "clear", "{answer}\n{}", bot.logs());
    assert!(slack.wait_for_bot_text("U2", "Connected", secs(10)).await.is_some(), "{:?}", slack.bot_texts("U2"));
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: yes"));

    // The same address again: the link was used, said under the field.
    let answer = submit(landed).await;
    assert!(answer["errors"]["code_block"].as_str().is_some_and(|e| e.contains("already used")), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_tokens_are_plain_in_the_database_files() {
    // The control for the scan below: without STATUSINATOR_KEY the token is there to find.
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U2", "Bea");
    let mut bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    connect(&slack, &bot, "U2").await;
    assert!(bot.shutdown(secs(15)).await.is_some());
    assert!(!files_containing(&bot.db_path(), token.as_bytes()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_statusinator_key_tokens_are_encrypted_and_the_bot_refuses_to_start_without_it() {
    let slack = FakeSlack::start().await;
    slack.set_token_rotation(Some(43_200), 43_200);
    slack.add_member("U2", "Bea");
    let mut bot = multi(&slack, &[("STATUSINATOR_KEY", KEY)]);
    ready(&slack, &bot).await;
    connect(&slack, &bot, "U2").await;
    let token = slack.member_token("U2").unwrap();
    assert!(bot.shutdown(secs(15)).await.is_some(), "{}", bot.logs());

    let db = bot.db_path();
    assert!(files_containing(&db, token.as_bytes()).is_empty(), "the access token is not in the files");
    assert!(files_containing(&db, b"xoxe-1-U2-").is_empty(), "nor the refresh token");
    assert_eq!(stored_token(&db, "U2", Some(KEY)).unwrap().token.expose(), token);

    let (status, stderr) = run_once(&slack, &db, &oauth_env_refs(), secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(2), "refuses without the key: {stderr}");
    assert!(stderr.contains("STATUSINATOR_KEY is not set"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear sentence: {stderr}");

    let mut wrong = oauth_env_refs();
    wrong.push(("STATUSINATOR_KEY", "not the key"));
    let (status, stderr) = run_once(&slack, &db, &wrong, secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(2), "refuses a wrong key: {stderr}");
    assert!(stderr.contains("is not the key"), "{stderr}");

    // With the key it starts, and the member is still connected.
    bot.restart().await;
    assert!(bot.connected(&slack, secs(20)).await, "{}", bot.logs());
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: yes"), "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_written_without_a_key_are_encrypted_when_one_is_set() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    let mut bot = multi(&slack, &[]);
    ready(&slack, &bot).await;
    connect(&slack, &bot, "U2").await;
    assert!(bot.shutdown(secs(15)).await.is_some());
    let db = bot.db_path();

    let mut with_key = oauth_env_refs();
    with_key.push(("STATUSINATOR_KEY", KEY));
    let (status, stderr) = run_once(&slack, &db, &with_key, secs(6));
    assert!(status.is_none(), "runs with the key (killed after a while), but exited with {status:?}: {stderr}");
    assert!(stderr.contains("encrypted tokens that were stored in plain text"), "{stderr}");

    let store = statusinator::store::Store::open(&db).unwrap();
    let raw = store.tokens.stored_bytes("U2").unwrap().unwrap();
    assert!(statusinator::store::sealed::is_sealed(&raw));
    drop(store);
    let (status, stderr) = run_once(&slack, &db, &oauth_env_refs(), secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(2), "{stderr}");
}

fn oauth_env_refs() -> Vec<(&'static str, &'static str)> {
    vec![("SLACK_CLIENT_ID", CLIENT_ID), ("SLACK_CLIENT_SECRET", CLIENT_SECRET), ("SLACK_REDIRECT_URL", REDIRECT)]
}
