//! The Web API client's edges, end to end (issue 11 items 1, 7, 9): redirects
//! that would leave Slack's hosts are not followed (file links, baseline
//! avatars, response URLs), `{"ok":false}` without an error code is retried,
//! and an oversized answer is cut off while the bot's memory stays small.

mod common;
use common::*;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MEMBER: &str = "U1";

/// A second listener on 127.0.0.1 (another port, so another origin: not one the
/// bot may fetch from). It serves a PNG to anyone who connects, and counts them.
struct Trap {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Trap {
    async fn start() -> Trap {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the trap");
        let port = listener.local_addr().expect("trap addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let png = test_png(64, 64, "internal");
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let head =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", png.len());
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(&png).await;
            }
        });
        Trap { url: format!("http://127.0.0.1:{port}/internal.png"), hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Runs a slash command as the member and returns the text of its ack.
async fn command(slack: &FakeSlack, bot: &Bot, text: &str) -> String {
    slash_reply(slack, bot, MEMBER, text).await
}

/// Member U1 "Ada", the bot in single-user mode for them, and a name-only preset.
async fn setup(slack: &FakeSlack) -> Bot {
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::single_user(slack, &token);
    ready(slack, &bot).await;
    let reply = command(slack, &bot, "add :palm_tree: On vacation").await;
    assert!(reply.contains("Saved"), "{reply}");
    bot
}

/// [`setup`], and the next fetch of `what` (a fake fault key) redirected to a [`Trap`].
async fn setup_redirecting(slack: &FakeSlack, what: &str) -> (Bot, Trap) {
    let bot = setup(slack).await;
    let trap = Trap::start().await;
    slack.fail_next(what, Fault::Redirect(trap.url.clone()));
    (bot, trap)
}

async fn wait_name(slack: &FakeSlack, bot: &Bot, name: &str) {
    let ok = slack.wait_until(secs(20), |s| s.member_profile(MEMBER)["display_name"] == name).await;
    assert!(ok, "display name never became {name:?}: {}\n{}", slack.member_profile(MEMBER), bot.logs());
}

/// Sends a PNG by DM as the :palm_tree: photo and returns the bot's reply.
async fn dm_photo(slack: &FakeSlack, bot: &Bot, png: Vec<u8>) -> String {
    let before = slack.bot_texts(MEMBER).len();
    let file = slack.add_file(png, "photo.png", "image/png");
    slack.dm(MEMBER, ":palm_tree:", vec![file]).await;
    let got = slack.wait_until(secs(20), |s| s.bot_texts(MEMBER).len() > before).await;
    assert!(got, "no reply to the photo:\n{}", bot.logs());
    slack.bot_texts(MEMBER)[before].clone()
}

/// Peak resident memory of a process, from /proc/<pid>/status (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dm_photo_whose_file_link_redirects_off_slack_is_refused_and_nothing_is_fetched_or_saved() {
    let slack = FakeSlack::start().await;
    let (bot, trap) = setup_redirecting(&slack, "files.download").await;
    let reply = dm_photo(&slack, &bot, test_png(300, 300, "beach")).await;

    assert_eq!(trap.hits(), 0, "the bot connected to a listener outside the allow-list; reply {reply:?}\n{}", bot.logs());
    assert!(reply.contains("couldn't download") && reply.contains("not one of Slack's hosts"), "{reply:?}");
    assert!(!reply.contains("Saved"), "{reply:?}");
    let list = command(&slack, &bot, "list").await;
    assert!(list.contains("On vacation") && !list.contains("(with photo)"), "{list}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_that_stays_on_the_allowed_origin_is_followed_with_the_token() {
    let slack = FakeSlack::start().await;
    let bot = setup(&slack).await;
    let real = slack.add_file(test_png(300, 300, "beach"), "beach.png", "image/png");
    let moved_to = format!("{}/files/{real}/beach.png", slack.origin());

    slack.fail_next("files.download", Fault::Redirect(moved_to));
    let reply = dm_photo(&slack, &bot, test_png(8, 8, "stub")).await;

    assert!(reply.contains("Saved the photo"), "{reply:?}\n{}", bot.logs());
    let fetches = slack.fetches();
    let hop = fetches.iter().find(|f| f.path.contains(&real)).unwrap_or_else(|| panic!("redirect not followed: {fetches:?}"));
    assert_eq!(hop.token.as_deref(), Some(BOT_TOKEN), "{fetches:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_baseline_avatar_that_redirects_off_slack_is_not_followed_and_the_swap_goes_on() {
    let slack = FakeSlack::start().await;
    let (bot, trap) = setup_redirecting(&slack, "avatar.download").await;
    slack.set_status(MEMBER, ":palm_tree:").await;
    wait_name(&slack, &bot, "On vacation").await;

    assert_eq!(trap.hits(), 0, "the baseline download followed a redirect off Slack\n{}", bot.logs());
    assert!(bot.logs().contains("not followed"), "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_url_that_redirects_is_not_followed() {
    let slack = FakeSlack::start().await;
    let (bot, trap) = setup_redirecting(&slack, "response_url").await;
    let payload = json!({
        "token": "verification-token", "team_id": TEAM, "team_domain": TEAM_DOMAIN,
        "channel_id": "C1", "channel_name": "general", "user_id": MEMBER, "user_name": "u1",
        "command": COMMAND, "text": "list", "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": slack.response_url("T1/1/redirected"), "trigger_id": "1.2.3"
    });
    slack.push_envelope("slash_commands", payload, false).await;
    let posts = slack.wait_for_responses(1, secs(10)).await;
    assert_eq!(posts.len(), 1, "no post to the response URL\n{}", bot.logs());
    let logged = bot.wait_for_log("could not answer through response_url", secs(10)).await;

    assert_eq!(trap.hits(), 0, "the response URL's redirect was followed\n{}", bot.logs());
    assert!(logged && bot.logs().contains("did not follow a redirect"), "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn ok_false_without_an_error_code_is_retried_and_the_swap_then_succeeds() {
    let slack = FakeSlack::start().await;
    let bot = setup(&slack).await;
    slack.set_echo_bot_messages(false);

    slack.fail_next("users.profile.set", Fault::Body(r#"{"ok":false}"#.into()));
    slack.set_status(MEMBER, ":palm_tree:").await;
    wait_name(&slack, &bot, "On vacation").await;

    assert_eq!(slack.count_calls("users.profile.set"), 2, "{}", bot.logs());
    let texts = slack.bot_texts(MEMBER);
    assert!(!texts.iter().any(|t| t.contains("couldn't change your profile")), "{texts:?}");
    let status = command(&slack, &bot, "status").await;
    assert!(!status.contains("Last failure"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_web_api_answer_is_cut_off_and_the_bots_memory_stays_small() {
    const HUGE: usize = 200 << 20;
    let slack = FakeSlack::start().await;
    let bot = setup(&slack).await;
    let pid = bot.pid().expect("bot pid");

    slack.fail_next("users.profile.set", Fault::HugeBody(HUGE));
    slack.set_status(MEMBER, ":palm_tree:").await;
    // The huge answer is an error, so the write is tried again (and then succeeds).
    let sets = slack.wait_for_calls("users.profile.set", 2, secs(20)).await;

    let peak_mib = peak_rss_kib(pid) / 1024;
    eprintln!("bot VmHWM after a {} MiB answer: {peak_mib} MiB", HUGE >> 20);
    assert!(peak_mib > 0 && peak_mib < 64, "the bot peaked at {peak_mib} MiB reading a {} MiB answer", HUGE >> 20);
    assert_eq!(sets.len(), 2, "{}", bot.logs());
    assert!(bot.logs().contains("cut off"), "{}", bot.logs());
    wait_name(&slack, &bot, "On vacation").await;
}
