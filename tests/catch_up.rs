//! Catch-up (issue 13) end to end: the real binary against the fake, with status changes Slack
//! never announces (`update_profile` pushes no event). (a) a status set while the bot was down is
//! swapped within 15 s of the start; (b) a status cleared while it was down is restored within
//! 15 s; (c) a restart with nothing changed writes nothing. The pacing (g) and the 60 s-gap
//! trigger are unit tests in src/jobs/catch_up.rs (paused time).

mod common;
use common::*;

use std::time::{Duration, Instant};

use serde_json::json;

const MEMBER: &str = "U1";

async fn command(slack: &FakeSlack, bot: &Bot, text: &str) -> String {
    let env = slack.slash_command(MEMBER, text).await;
    let ack = slack.wait_for_ack(&env, secs(10)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_default()
}

async fn metrics(port: u16) -> String {
    match reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The value of a single-sample metric (0 if absent).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

struct Setup {
    bot: Bot,
    token: String,
    port: u16,
    own_photo: Vec<u8>,
}

/// U1 "Ada", a single-user bot for them serving /metrics, and a :palm_tree: preset "On vacation"
/// with the photo `test_png(600, 400, "beach")`.
async fn setup(slack: &FakeSlack) -> Setup {
    let token = slack.add_member(MEMBER, "Ada");
    let own_photo = slack.avatar_bytes(MEMBER);
    let port = free_port();
    let config = format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    let bot = Bot::spawn(slack, BotOptions { user_token: Some(token.clone()), config_toml: Some(config), ..Default::default() });
    ready(slack, &bot).await;
    let reply = command(slack, &bot, "add :palm_tree: On vacation").await;
    assert!(reply.contains("Saved"), "{reply}");
    let file = slack.add_file(test_png(600, 400, "beach"), "photo.png", "image/png");
    slack.dm(MEMBER, ":palm_tree:", vec![file]).await;
    let saved = slack.wait_for_bot_text(MEMBER, "Saved the photo", secs(20)).await;
    assert!(saved.is_some(), "photo not saved: {:?}\n{}", slack.bot_texts(MEMBER), bot.logs());
    Setup { bot, token, port, own_photo }
}

fn swapped(slack: &FakeSlack) -> bool {
    slack.member_profile(MEMBER)["display_name"] == "On vacation" && looks_like_seed(&slack.avatar_bytes(MEMBER), "beach")
}

fn restored(slack: &FakeSlack, own_photo: &[u8]) -> bool {
    slack.member_profile(MEMBER)["display_name"] == "Ada" && slack.avatar_bytes(MEMBER) == own_photo
}

/// Swaps by a real event, and waits until the bot's own echoes have been handled.
async fn swap_by_event(slack: &FakeSlack, s: &Setup) {
    slack.set_status(MEMBER, ":palm_tree:").await;
    assert!(slack.wait_until(secs(20), swapped).await, "never swapped: {}\n{}", slack.member_profile(MEMBER), s.bot.logs());
    tokio::time::sleep(secs(2)).await;
}

async fn stop(slack: &FakeSlack, bot: &mut Bot) {
    assert!(bot.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", bot.logs());
    assert!(slack.wait_until(secs(10), |f| f.open_sockets() == 0).await, "the stopped bot's socket stayed open");
}

/// Waits (10 s) until the log (all starts) holds `needle` `n` times.
async fn wait_for_nth_log(bot: &Bot, needle: &str, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while bot.logs().matches(needle).count() < n {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(millis(50)).await;
    }
    true
}

/// user_change envelopes pushed to the bot since `since`.
fn user_changes_since(slack: &FakeSlack, since: Instant) -> usize {
    slack.envelopes().iter().filter(|e| e.at >= since && e.payload["event"]["type"] == "user_change").count()
}

/// (a) The member set a status while the bot was down and Slack never said so: the bot reads the
/// profile at start-up and swaps within 15 s, before any event; `status` and /metrics say so.
#[tokio::test(flavor = "multi_thread")]
async fn a_status_set_while_the_bot_was_down_is_swapped_at_start_up_without_an_event() {
    let slack = FakeSlack::start().await;
    let mut s = setup(&slack).await;
    stop(&slack, &mut s.bot).await;
    slack.update_profile(MEMBER, json!({"status_emoji": ":palm_tree:", "status_text": "Vacationing"}));
    slack.clear_calls();
    let started = Instant::now();
    s.bot.restart().await;
    let ok = slack.wait_until(secs(15), swapped).await;
    assert!(ok, "not swapped within 15 s of the start: {}\n{}", slack.member_profile(MEMBER), s.bot.logs());
    let reads: Vec<Call> =
        slack.calls_to("users.profile.get").into_iter().filter(|c| c.token.as_deref() == Some(s.token.as_str())).collect();
    assert!(!reads.is_empty(), "the profile was not read with the member's token");
    let first_write = slack.calls_to("users.profile.set").first().map(|c| c.at).expect("a name write");
    assert!(reads[0].at < first_write);
    assert_eq!(user_changes_since(&slack, started) - user_changes_since(&slack, first_write), 0, "an event preceded the swap");

    let status = command(&slack, &s.bot, "status").await;
    assert!(status.contains("Last catch-up with Slack:") && status.contains("read 1 profile"), "{status}");
    let mut text = String::new();
    for _ in 0..50 {
        text = metrics(s.port).await;
        if metric(&text, "statusinator_catch_up_swaps_total") >= 1.0 {
            break;
        }
        tokio::time::sleep(millis(200)).await;
    }
    assert_eq!(metric(&text, "statusinator_catch_up_reads_total"), 1.0, "{text}");
    assert_eq!(metric(&text, "statusinator_catch_up_swaps_total"), 1.0, "{text}");
}

/// (b) Swapped when the bot stopped; the member cleared the status meanwhile, silently: the
/// bot puts their own name and photo back within 15 s of the start.
#[tokio::test(flavor = "multi_thread")]
async fn a_status_cleared_while_the_bot_was_down_is_restored_at_start_up() {
    let slack = FakeSlack::start().await;
    let mut s = setup(&slack).await;
    swap_by_event(&slack, &s).await;
    stop(&slack, &mut s.bot).await;
    slack.update_profile(MEMBER, json!({"status_emoji": "", "status_text": "", "status_expiration": 0}));
    s.bot.restart().await;
    let ok = slack.wait_until(secs(15), |f| restored(f, &s.own_photo)).await;
    assert!(ok, "not restored within 15 s of the start: {}\n{}", slack.member_profile(MEMBER), s.bot.logs());
}

/// (c) Nothing changed while the bot was down (swapped, or showing the member's own profile):
/// the start-up catch-up reads the profile and writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_restart_with_nothing_changed_writes_nothing() {
    let slack = FakeSlack::start().await;
    let mut s = setup(&slack).await;
    for swap in [true, false] {
        if swap {
            swap_by_event(&slack, &s).await;
        } else {
            slack.set_status(MEMBER, "").await;
            assert!(slack.wait_until(secs(20), |f| restored(f, &s.own_photo)).await, "never restored\n{}", s.bot.logs());
            tokio::time::sleep(secs(2)).await;
        }
        stop(&slack, &mut s.bot).await;
        slack.clear_calls();
        let done_before = s.bot.logs().matches("catch-up done").count();
        let started = Instant::now();
        s.bot.restart().await;
        ready(&slack, &s.bot).await;
        let token = s.token.clone();
        let read = slack
            .wait_until(secs(15), |f| f.calls_to("users.profile.get").iter().any(|c| c.token.as_deref() == Some(token.as_str())))
            .await;
        assert!(read, "no catch-up read after the restart\n{}", s.bot.logs());
        assert!(wait_for_nth_log(&s.bot, "catch-up done", done_before + 1).await, "{}", s.bot.logs());
        tokio::time::sleep(secs(4)).await;
        for method in ["users.profile.set", "users.setPhoto", "users.deletePhoto"] {
            assert_eq!(slack.count_calls(method), 0, "swapped={swap}: {method} after a restart with nothing changed\n{}", s.bot.logs());
        }
        assert_eq!(user_changes_since(&slack, started), 0);
        assert_eq!(swapped(&slack), swap);
    }
}

/// The 60 s-gap trigger end to end (its logic is unit-tested in src/jobs/catch_up.rs): a drop
/// that reconnects at once reads nothing; Socket Mode down for over a minute (every
/// `apps.connections.open` refused) and back → a catch-up, which finds a status set meanwhile
/// with no event.
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_back_after_a_minute_catches_up_and_a_quick_reconnect_does_not() {
    let slack = FakeSlack::start().await;
    let s = setup(&slack).await;
    let catch_up_reads = |text: &str| metric(text, "statusinator_catch_up_reads_total");
    assert_eq!(catch_up_reads(&metrics(s.port).await), 0.0, "the start-up catch-up had nobody to read");

    let since = Instant::now();
    slack.drop_sockets().await;
    assert!(slack.wait_for_socket_since(since, secs(20)).await, "no reconnect\n{}", s.bot.logs());
    tokio::time::sleep(secs(3)).await;
    assert_eq!(catch_up_reads(&metrics(s.port).await), 0.0, "a quick reconnect caught up\n{}", s.bot.logs());

    slack.set_connections_open_error(Some("internal_error".into()));
    slack.drop_sockets().await;
    slack.update_profile(MEMBER, json!({"status_emoji": ":palm_tree:"}));
    tokio::time::sleep(secs(62)).await;
    assert!(!swapped(&slack), "swapped with no connection and no event");
    let back = Instant::now();
    slack.set_connections_open_error(None);
    // The reconnect backoff is capped at a minute.
    assert!(slack.wait_for_socket_since(back, secs(90)).await, "never reconnected\n{}", s.bot.logs());
    let ok = slack.wait_until(secs(15), swapped).await;
    assert!(ok, "not swapped after the long gap: {}\n{}", slack.member_profile(MEMBER), s.bot.logs());
    assert_eq!(catch_up_reads(&metrics(s.port).await), 1.0);
}
