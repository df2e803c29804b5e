//! The Socket Mode link end to end: the real binary against the fake Slack. Connect and ack,
//! dedupe across redeliveries and restarts, refresh without a gap, reconnection after drops and
//! silence, backoff, tolerance of garbage (large and undecodable frames are acked), `link_disabled`,
//! a refused app token, graceful SIGTERM.
//!
//! Timing assertions are loose on purpose (the machine is shared): they check order and growth,
//! not speed.

mod common;
use common::*;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

async fn ready(slack: &FakeSlack, bot: &Bot) {
    assert!(bot.connected(slack, secs(30)).await, "bot never connected:\n{}", bot.logs());
}

/// An event the bot does not act on.
fn ignored_event() -> Value {
    json!({
        "type": "reaction_added", "user": "U1", "reaction": "thumbsup", "item_user": "U2",
        "item": {"type": "message", "channel": "C1", "ts": "1700000000.000100"}, "event_ts": "1700000000.000200"
    })
}

async fn push_ignored(slack: &FakeSlack) -> String {
    slack.push_event(ignored_event()).await.0
}

/// How many acks each envelope id got.
fn ack_counts(slack: &FakeSlack) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for a in slack.acks() {
        *m.entry(a.envelope_id).or_insert(0) += 1;
    }
    m
}

async fn wait_all_acked(slack: &FakeSlack, ids: &[String], timeout: Duration) -> bool {
    let ids = ids.to_vec();
    slack
        .wait_until(timeout, move |f| {
            let c = ack_counts(f);
            ids.iter().all(|id| c.contains_key(id))
        })
        .await
}

async fn expect_ack(slack: &FakeSlack, bot: &Bot, env: &str, what: &str) -> Ack {
    slack.wait_for_ack(env, secs(20)).await.unwrap_or_else(|| panic!("{what}: envelope {env} was never acked\n{}", bot.logs()))
}

/// Replies the bot posted in `user`'s DM.
fn dm_replies(slack: &FakeSlack, user: &str) -> usize {
    let dm = format!("D{user}");
    slack.calls_to("chat.postMessage").iter().filter(|c| c.param("channel").is_some_and(|ch| ch == user || ch == dm)).count()
}

fn the_closing_of(slack: &FakeSlack, conn: u64) -> Option<Closed> {
    slack.closed_log().into_iter().find(|c| c.conn == conn)
}

// ---------------------------------------------------------------------------------------------
// 1. connect → hello → envelope → ack
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn connects_says_hello_and_acks_an_envelope() {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;

    let opens = slack.calls_to("apps.connections.open");
    assert_eq!(opens.len(), 1, "{opens:?}");
    assert_eq!(opens[0].token.as_deref(), Some(APP_TOKEN), "apps.connections.open uses the app token as Bearer");
    assert!(bot.wait_for_log("hello", secs(10)).await, "the bot never logged the hello:\n{}", bot.logs());

    let env = push_ignored(&slack).await;
    let ack = expect_ack(&slack, &bot, &env, "reaction_added").await;
    assert!(ack.payload.is_none(), "an events_api ack carries no payload: {ack:?}");
    let frame = slack.frames().into_iter().find(|f| f.text.contains(&env)).expect("ack frame");
    let v: Value = serde_json::from_str(&frame.text).expect("ack is JSON");
    assert_eq!(v, json!({"envelope_id": env}), "ack frame is exactly {{\"envelope_id\": …}}");

    // Where Slack accepts a response payload, the ack carries the answer (`/status-preset help`).
    let env = slack.slash_command("U1", "help").await;
    let ack = expect_ack(&slack, &bot, &env, "slash help").await;
    let text = ack.payload.as_ref().map(collect_text).unwrap_or_default();
    assert!(text.contains("list") && text.contains("add"), "help reply should be the usage, got {:?}", ack.payload);

    // Still the one connection, never closed.
    assert_eq!(slack.connections_opened(), 1);
    assert!(slack.closed_log().is_empty(), "{:?}", slack.closed_log());
}

// ---------------------------------------------------------------------------------------------
// 2. redelivery: acked, handled once, also across a restart
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_event_is_acked_but_handled_once_even_after_a_restart() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    slack.add_member("U1", "Ada");
    let mut bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;

    let (env, event_id) = slack.dm("U1", "list", vec![]).await;
    expect_ack(&slack, &bot, &env, "first delivery").await;
    assert!(slack.wait_until(secs(20), |f| dm_replies(f, "U1") >= 1).await, "no reply to `list`:\n{}", bot.logs());

    let again = slack.redeliver(&event_id, 1).await.expect("redeliver");
    assert_ne!(again, env, "a redelivery comes in a new envelope");
    expect_ack(&slack, &bot, &again, "redelivery").await;
    tokio::time::sleep(secs(2)).await;
    assert_eq!(dm_replies(&slack, "U1"), 1, "the redelivery was handled again:\n{}", bot.logs());

    // Same database, new process.
    bot.restart().await;
    assert!(slack.wait_for_connections_opened(2, secs(30)).await, "bot did not come back:\n{}", bot.logs());
    assert_eq!(bot.starts(), 2);
    let third = slack.redeliver(&event_id, 2).await.expect("redeliver");
    expect_ack(&slack, &bot, &third, "redelivery after restart").await;
    tokio::time::sleep(secs(2)).await;
    assert_eq!(dm_replies(&slack, "U1"), 1, "handled again after the restart:\n{}", bot.logs());

    // The restarted bot does handle new events (so the count above means something).
    let (fresh, _) = slack.dm("U1", "list", vec![]).await;
    expect_ack(&slack, &bot, &fresh, "a new event").await;
    assert!(slack.wait_until(secs(20), |f| dm_replies(f, "U1") >= 2).await, "new event not handled:\n{}", bot.logs());

    // Every envelope was acked exactly once.
    let counts = ack_counts(&slack);
    for id in [&env, &again, &third, &fresh] {
        assert_eq!(counts.get(id.as_str()), Some(&1), "acks of {id}: {counts:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. refresh without a gap
// ---------------------------------------------------------------------------------------------

/// Pushes an ignored event every 20 ms until told to stop; returns the envelope ids.
fn start_pusher(slack: &FakeSlack) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Vec<String>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let s = slack.clone();
    let st = stop.clone();
    let task = tokio::spawn(async move {
        let mut ids = Vec::new();
        while !st.load(Ordering::SeqCst) {
            ids.push(push_ignored(&s).await);
            tokio::time::sleep(millis(20)).await;
        }
        ids
    });
    (stop, task)
}

async fn switches_without_a_gap(reason: &str) {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let old = slack.open_socket_ids()[0];

    let mut before = Vec::new();
    for _ in 0..5 {
        before.push(push_ignored(&slack).await);
    }
    let (stop, pusher) = start_pusher(&slack);
    tokio::time::sleep(millis(200)).await;
    assert!(slack.send_disconnect(reason).await);
    // Keep pushing through the switch until the old socket is gone.
    let closed = slack.wait_until(secs(30), move |f| f.closed_log().iter().any(|c| c.conn == old)).await;
    tokio::time::sleep(millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let during = pusher.await.expect("pusher");
    assert!(closed, "the old connection never closed after {reason}:\n{}", bot.logs());
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(push_ignored(&slack).await);
    }

    let all: Vec<String> = before.iter().chain(&during).chain(&after).cloned().collect();
    if !wait_all_acked(&slack, &all, secs(30)).await {
        let counts = ack_counts(&slack);
        let missing: Vec<(String, Option<u64>)> = slack
            .envelopes()
            .into_iter()
            .filter(|e| all.contains(&e.envelope_id) && !counts.contains_key(&e.envelope_id))
            .map(|e| (e.envelope_id, e.conn))
            .collect();
        panic!(
            "never acked (id, sent on conn): {missing:?}\nopened: {:?}\nclosed: {:?}\n{}",
            slack.opened_log(),
            slack.closed_log(),
            bot.logs()
        );
    }
    tokio::time::sleep(secs(1)).await;
    let counts = ack_counts(&slack);
    for id in &all {
        assert_eq!(counts.get(id), Some(&1), "envelope {id} acked {:?} times", counts.get(id));
    }

    // The replacement was asked for before the old socket closed, and the bot closed it itself.
    let opens = slack.calls_to("apps.connections.open");
    assert_eq!(opens.len(), 2, "one replacement, no more: {opens:?}");
    let closing = the_closing_of(&slack, old).expect("closed");
    assert!(opens[1].at < closing.at, "apps.connections.open was called again only after the old socket closed");
    assert_eq!(closing.by, ClosedBy::Client, "the bot retires the old socket itself: {closing:?}");
    // The new socket was serving (acks on it) and is the one left open; it was up before the old
    // one went.
    let open = slack.open_socket_ids();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_ne!(open[0], old);
    let new_up = slack.opened_log().into_iter().find(|(c, _)| *c == open[0]).map(|(_, at)| at).expect("opened");
    assert!(new_up < closing.at, "the new socket came up only after the old one closed");
    let on_new = slack.acks().iter().filter(|a| a.conn == open[0]).count();
    assert!(on_new >= after.len(), "envelopes after the switch were acked on the new socket");
    assert!(!bot.logs().contains("panicked"), "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_requested_opens_the_new_connection_first_and_loses_nothing() {
    switches_without_a_gap("refresh_requested").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disconnect_warning_opens_the_new_connection_first_and_loses_nothing() {
    switches_without_a_gap("warning").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connection_is_replaced_before_its_time_runs_out() {
    let slack = FakeSlack::start().await;
    // Slack would close this connection after ~12 s: the bot replaces it before then.
    slack.set_connection_time(12);
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let old = slack.open_socket_ids()[0];
    assert!(slack.wait_for_connections_opened(2, secs(40)).await, "no replacement was opened:\n{}", bot.logs());
    assert!(slack.wait_until(secs(20), move |f| f.closed_log().iter().any(|c| c.conn == old)).await, "{}", bot.logs());
    let opens = slack.calls_to("apps.connections.open");
    let closing = the_closing_of(&slack, old).expect("closed");
    assert!(opens.len() >= 2 && opens[1].at < closing.at, "the replacement came after the close");
    assert_eq!(closing.by, ClosedBy::Client);
    let opened = slack.opened_log();
    assert!(opened.len() >= 2 && opened[1].1 < closing.at, "the new socket came up only after the old one closed");
    let env = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &env, "after the replacement").await;
}

// ---------------------------------------------------------------------------------------------
// 4. drops, silence, backoff
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn an_abrupt_drop_reconnects_and_the_next_envelope_is_acked() {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let env = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &env, "before the drop").await;

    slack.drop_sockets().await;
    assert!(slack.wait_for_connections_opened(2, secs(30)).await, "no reconnection after a drop:\n{}", bot.logs());
    assert!(slack.wait_for_sockets(1, secs(10)).await);
    let env = push_ignored(&slack).await;
    let ack = expect_ack(&slack, &bot, &env, "after the drop").await;
    assert_eq!(Some(ack.conn), slack.open_socket_ids().last().copied(), "acked on the new connection");

    // Events pushed while no socket is open are delivered after the reconnect and acked.
    slack.drop_sockets().await;
    let queued = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &queued, "queued during the gap").await;
    assert_eq!(slack.calls_to("apps.connections.open").len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_socket_is_declared_dead_and_replaced() {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let old = slack.open_socket_ids()[0];
    let env = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &env, "before silence").await;
    // The bot pings to learn whether the line is alive.
    assert!(slack.wait_until(secs(20), |f| f.pings_received() > 0).await, "the bot never pings:\n{}", bot.logs());

    let silenced = Instant::now();
    slack.set_silent(true);
    assert!(slack.wait_for_connections_opened(2, secs(45)).await, "the silent socket was never replaced:\n{}", bot.logs());
    let waited = silenced.elapsed();
    // Not declared dead on a whim: it waited for the silence to last (about 20 s).
    assert!(waited >= secs(10), "declared dead after only {waited:?}");
    // The bot closed the dead one itself.
    assert!(slack.wait_until(secs(20), move |f| f.closed_log().iter().any(|c| c.conn == old)).await, "{}", bot.logs());
    assert_eq!(the_closing_of(&slack, old).map(|c| c.by), Some(ClosedBy::Client));

    let env = push_ignored(&slack).await;
    let ack = expect_ack(&slack, &bot, &env, "after the silent socket").await;
    assert_ne!(ack.conn, old);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_connection_opens_back_off_with_growing_delays() {
    let slack = FakeSlack::start().await;
    slack.set_connections_open_error(Some("internal_error".into()));
    let bot = Bot::spawn(&slack, BotOptions::default());
    let opens = slack.wait_for_calls("apps.connections.open", 5, secs(120)).await;
    assert!(opens.len() >= 5, "only {} attempts:\n{}", opens.len(), bot.logs());
    let gaps: Vec<Duration> = opens.windows(2).map(|w| w[1].at - w[0].at).collect();
    // Exponential with jitter: roughly 0.5–1 s, 1–2 s, 2–4 s, 4–8 s. Compare differences, so a
    // constant overhead from a busy machine cancels out.
    assert!(gaps[2] > gaps[0], "delays should grow: {gaps:?}");
    assert!(gaps[3] > gaps[0] + secs(2), "delays should grow: {gaps:?}");
    assert!(slack.open_sockets() == 0);

    // Once Slack answers again the bot connects and works.
    slack.set_connections_open_error(None);
    ready(&slack, &bot).await;
    let env = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &env, "after the failures").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_open_waits_as_long_as_slack_asks() {
    let slack = FakeSlack::start().await;
    slack.fail_next("apps.connections.open", Fault::Http429 { retry_after: 4 });
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let opens = slack.calls_to("apps.connections.open");
    assert_eq!(opens.len(), 2, "{opens:?}");
    let gap = opens[1].at - opens[0].at;
    assert!(gap >= millis(3900), "retried after {gap:?}, Slack asked for 4 s");
    let env = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &env, "after the rate limit").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_connections_when_configured_and_a_lost_one_is_replaced() {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions { config_toml: Some("[slack]\nconnections = 2\n".into()), ..Default::default() });
    assert!(slack.wait_for_sockets(2, secs(30)).await, "want 2 sockets:\n{}", bot.logs());
    tokio::time::sleep(secs(1)).await;
    assert_eq!(slack.connections_opened(), 2, "no more than asked for");
    let ids = slack.open_socket_ids();
    slack.drop_socket(ids[0]).await;
    assert!(slack.wait_for_connections_opened(3, secs(30)).await, "{}", bot.logs());
    assert!(slack.wait_for_sockets(2, secs(10)).await);
    for _ in 0..3 {
        let env = push_ignored(&slack).await;
        expect_ack(&slack, &bot, &env, "with two connections").await;
    }
    // Envelopes sent to the standby are acked too.
    let standby = slack.open_socket_ids()[0];
    let text = json!({"envelope_id": "standby-1", "type": "events_api", "payload": {"event_id": "EvStandby1", "event": ignored_event()}, "accepts_response_payload": false, "retry_attempt": 0}).to_string();
    assert!(slack.send_raw_to(standby, &text).await);
    let ack = expect_ack(&slack, &bot, "standby-1", "on the standby").await;
    assert_eq!(ack.conn, standby);
}

// ---------------------------------------------------------------------------------------------
// 5. garbage does not drop the connection
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_unknown_frames_are_skipped_without_dropping_the_connection() {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let conn = slack.open_socket_ids()[0];

    for raw in [
        "{not json",
        "",
        "[1, 2, 3]",
        "\"just a string\"",
        r#"{"no_type": true}"#,
        r#"{"type": "mystery_frame", "stuff": 1}"#,
        r#"{"type": "events_api", "payload": {"event": {"type": "reaction_added"}}}"#,
        r#"{"type": 42, "envelope_id": 7}"#,
    ] {
        assert!(slack.send_raw(raw).await, "socket gone before sending {raw:?}");
    }
    // An envelope of a type we do not know is acked (so Slack does not redeliver it forever).
    assert!(
        slack.send_raw(r#"{"envelope_id": "odd-1", "type": "mystery_envelope", "payload": {}, "accepts_response_payload": false}"#).await
    );
    // An events_api envelope with an event type we do not know, and one with a payload we cannot read.
    let (unknown_event, _) = slack.push_event(json!({"type": "some_future_event", "whatever": [1, 2]})).await;
    let weird = slack.push_envelope("events_api", json!("not an object"), false).await;

    let next = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &next, "the valid envelope after the garbage").await;
    expect_ack(&slack, &bot, &unknown_event, "unknown event type").await;
    expect_ack(&slack, &bot, &weird, "unreadable payload").await;
    expect_ack(&slack, &bot, "odd-1", "unknown envelope type").await;

    assert_eq!(slack.open_socket_ids(), vec![conn], "the connection must stay up");
    assert_eq!(slack.connections_opened(), 1);
    assert_eq!(slack.calls_to("apps.connections.open").len(), 1);
    assert!(slack.closed_log().is_empty(), "{:?}", slack.closed_log());
    // And the bot still does real work on it.
    let env = slack.slash_command("U1", "help").await;
    expect_ack(&slack, &bot, &env, "slash help after the garbage").await;
}

/// A `slash_commands` frame for `help` carrying `pad` bytes in an extra field, with its
/// `envelope_id` last (a tolerant scan must get past the payload to find it).
fn padded_help(slack: &FakeSlack, envelope_id: &str, pad: usize) -> String {
    let payload = json!({
        "token": "verification-token", "team_id": TEAM, "channel_id": "C1", "user_id": "U1", "user_name": "u1",
        "command": COMMAND, "text": "help", "api_app_id": APP_ID, "trigger_id": "1.2.3",
        "response_url": slack.response_url("padded"), "padding": "x".repeat(pad)
    });
    format!(r#"{{"type":"slash_commands","accepts_response_payload":true,"payload":{payload},"envelope_id":"{envelope_id}"}}"#)
}

fn log_lines_with(bot: &Bot, needle: &str) -> usize {
    bot.logs().lines().filter(|l| l.contains(needle)).count()
}

/// Regression (issue 11 item 5): a frame over 1 MiB dropped the connection unacked, so each of
/// Slack's redeliveries dropped the next one. A 2 MiB frame is now handled; frames over the
/// 4 MiB handled are acked by envelope_id and skipped, with one warning for the connection.
#[tokio::test(flavor = "multi_thread")]
async fn large_frames_are_handled_and_oversized_ones_acked_and_skipped_with_one_warning() {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let conn = slack.open_socket_ids()[0];

    assert!(slack.send_raw(&padded_help(&slack, "big-2mib", 2 << 20)).await);
    let ack = expect_ack(&slack, &bot, "big-2mib", "a 2 MiB slash command").await;
    let reply = ack.payload.as_ref().map(collect_text).unwrap_or_default();
    assert!(reply.contains("add"), "the 2 MiB command was not answered: {reply:?}");

    let oversized: Vec<String> = (0..3).map(|i| format!("over-6mib-{i}")).collect();
    for id in &oversized {
        assert!(slack.send_raw(&padded_help(&slack, id, 6 << 20)).await, "socket gone before {id}");
    }
    for id in &oversized {
        let ack = expect_ack(&slack, &bot, id, "a 6 MiB frame").await;
        assert!(ack.payload.is_none(), "an oversized frame was handled: {ack:?}");
        assert_eq!(ack.conn, conn);
    }
    let next = push_ignored(&slack).await;
    assert_eq!(expect_ack(&slack, &bot, &next, "after the oversized frames").await.conn, conn);
    assert_eq!(slack.open_socket_ids(), vec![conn], "the connection must stay up");
    assert_eq!(slack.connections_opened(), 1);
    assert_eq!(log_lines_with(&bot, "skipping a frame that cannot be read"), 1, "one warning, not one a frame:\n{}", bot.logs());
}

/// Regression (issue 11 item 6): JSON Slack allows but serde refuses (a lone `\ud800` escape) was
/// never acked, so Slack redelivered it for ever. It is acked by envelope_id and skipped.
#[tokio::test(flavor = "multi_thread")]
async fn a_frame_serde_refuses_is_acked_by_its_envelope_id() {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let conn = slack.open_socket_ids()[0];

    let lone = r#"{"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"payload":{"type":"event_callback","event_id":"EvLone1","event":{"type":"message","channel":"DU1","channel_type":"im","user":"U1","text":"help \ud800"}},"envelope_id":"lone-surrogate-1"}"#;
    assert!(slack.send_raw(lone).await);
    let ack = expect_ack(&slack, &bot, "lone-surrogate-1", "a lone surrogate").await;
    assert_eq!((ack.conn, ack.payload), (conn, None));
    let next = push_ignored(&slack).await;
    assert_eq!(expect_ack(&slack, &bot, &next, "after the lone surrogate").await.conn, conn);
    assert_eq!(slack.open_socket_ids(), vec![conn]);
    assert_eq!(dm_replies(&slack, "U1"), 0, "the body of an unreadable frame was acted on");
}

// ---------------------------------------------------------------------------------------------
// 6. link_disabled stops the bot
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn link_disabled_stops_reconnecting_and_exits_with_a_clear_message() {
    let slack = FakeSlack::start().await;
    let mut bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let env = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &env, "before link_disabled").await;

    assert!(slack.send_disconnect("link_disabled").await);
    let status = bot.wait_exit(secs(30)).await.unwrap_or_else(|| panic!("the bot kept running:\n{}", bot.logs()));
    assert_eq!(status.code(), Some(1), "{}", bot.logs());
    assert_eq!(slack.calls_to("apps.connections.open").len(), 1, "it must not reconnect");
    assert!(slack.open_sockets() == 0, "the socket was left open");
    let logs = bot.logs();
    let last = logs.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(last.starts_with("statusinator:") && last.contains("link_disabled") && last.contains("Socket Mode"), "last line: {last:?}");
    assert!(!logs.contains("panicked"), "{logs}");
}

/// Regression (issue 11 item 8): a refused app token retried every 30 s for ever, while a refused
/// bot token exits 2. At start-up it is a configuration error: exit 2 and one sentence.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_app_token_at_start_up_exits_2_with_one_sentence() {
    let slack = FakeSlack::start().await;
    slack.set_connections_open_error(Some("invalid_auth".into()));
    let mut bot = Bot::spawn(&slack, BotOptions::default());
    let status = bot.wait_exit(secs(30)).await.unwrap_or_else(|| panic!("the bot kept running:\n{}", bot.logs()));
    assert_eq!(status.code(), Some(2), "{}", bot.logs());
    assert_eq!(slack.calls_to("apps.connections.open").len(), 1, "it must not retry");
    let logs = bot.logs();
    let last = logs.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(
        last.starts_with("statusinator: configuration error:") && last.contains("SLACK_APP_TOKEN") && last.contains("invalid_auth"),
        "last line: {last:?}"
    );
    assert_eq!(last.matches(". ").count(), 0, "one sentence: {last:?}");
    assert!(!logs.contains("panicked") && !logs.contains(APP_TOKEN), "{logs}");
}

/// Refused after the bot has been running: it keeps going, says so once (an error, and
/// `/healthz`), and reconnects when Slack accepts the token again.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_app_token_later_is_retried_and_reported_once() {
    let slack = FakeSlack::start().await;
    let port = free_port();
    let mut bot =
        Bot::spawn(&slack, BotOptions { config_toml: Some(format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")), ..Default::default() });
    ready(&slack, &bot).await;
    slack.set_connections_open_error(Some("invalid_auth".into()));
    slack.drop_sockets().await;
    assert!(slack.wait_for_calls("apps.connections.open", 2, secs(30)).await.len() >= 2, "{}", bot.logs());
    tokio::time::sleep(secs(3)).await;
    assert!(bot.try_exit().is_none(), "the bot exited:\n{}", bot.logs());
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.expect("healthz");
    assert_eq!(health.status().as_u16(), 503);
    let body = health.text().await.unwrap_or_default();
    assert!(body.contains("refuses the app token"), "{body}");
    assert_eq!(log_lines_with(&bot, "refuses the app token (SLACK_APP_TOKEN)"), 1, "{}", bot.logs());

    slack.set_connections_open_error(None);
    assert!(slack.wait_for_sockets(1, secs(60)).await, "never reconnected:\n{}", bot.logs());
    assert!(bot.wait_for_log("accepts the app token again", secs(10)).await, "{}", bot.logs());
    assert_eq!(log_lines_with(&bot, "refuses the app token (SLACK_APP_TOKEN)"), 1, "{}", bot.logs());
    let env = push_ignored(&slack).await;
    expect_ack(&slack, &bot, &env, "after the token works again").await;
}

// ---------------------------------------------------------------------------------------------
// 7. SIGTERM during work
// ---------------------------------------------------------------------------------------------

/// Regression: answers sent after the ack (here a DM photo, downloaded and processed first) were
/// spawned tasks the shutdown did not wait for, so a SIGTERM right after the ack swallowed the
/// member's "Saved the photo". The shutdown now waits (up to 10 s) for them.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_right_after_a_photo_dm_still_answers_the_member() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member("U1", "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;

    slack.fail_next("files.download", Fault::Delay(millis(1500)));
    let file = slack.add_file(test_png(300, 200, "beach"), "photo.png", "image/png");
    let (env, _) = slack.dm("U1", ":palm_tree:", vec![file]).await;
    expect_ack(&slack, &bot, &env, "photo DM").await;
    let status = bot.shutdown(secs(40)).await.unwrap_or_else(|| panic!("no exit after SIGTERM:\n{}", bot.logs()));
    assert_eq!(status.code(), Some(0), "{}", bot.logs());
    let texts = slack.bot_texts("U1");
    assert!(texts.iter().any(|t| t.contains("Saved the photo")), "no answer before the exit: {texts:?}\n{}", bot.logs());
    let (st, out, err) = run_command(&bot, &["presets", "export", "--user", "U1"]);
    assert!(st.success(), "{err}");
    assert!(out.contains("palm_tree") && out.contains("photo"), "the photo is not in the database:\n{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_work_exits_0_and_keeps_what_was_acked() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member("U1", "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;

    let env = slack.slash_command("U1", "add :palm_tree: Holiday mode").await;
    let ack = expect_ack(&slack, &bot, &env, "add").await;
    assert!(ack.payload.as_ref().map(collect_text).unwrap_or_default().contains("Saved"), "{ack:?}");

    // The swap will be in flight (users.profile.set answers slowly) when SIGTERM arrives.
    slack.fail_next("users.profile.set", Fault::Delay(secs(3)));
    let (env, _) = slack.set_status("U1", ":palm_tree:").await;
    expect_ack(&slack, &bot, &env, "status change").await;
    let sets = slack.wait_for_calls("users.profile.set", 1, secs(30)).await;
    assert_eq!(sets.len(), 1, "the swap never started:\n{}", bot.logs());

    let status = bot.shutdown(secs(40)).await.unwrap_or_else(|| panic!("no exit after SIGTERM:\n{}", bot.logs()));
    assert_eq!(status.code(), Some(0), "{}", bot.logs());
    assert!(!bot.logs().contains("panicked"), "{}", bot.logs());
    assert_eq!(slack.open_sockets(), 0, "the socket was not closed");
    let finished = slack.member_profile("U1")["display_name"] == "Holiday mode";

    // The database opens cleanly and kept the acked command.
    // (db stats and export do not talk to Slack, so running them on this thread is fine.)
    let (st, out, err) = run_command(&bot, &["db", "stats"]);
    assert!(st.success(), "db stats after SIGTERM failed:\n{out}\n{err}");
    let (st, out, err) = run_command(&bot, &["presets", "export", "--user", "U1"]);
    assert!(st.success(), "{err}");
    assert!(out.contains("Holiday mode"), "the preset acked before SIGTERM is gone:\n{out}");

    // Whatever was not finished was persisted: after a restart the member ends up swapped, once.
    bot.restart().await;
    ready(&slack, &bot).await;
    let swapped = slack.wait_until(secs(30), |f| f.member_profile("U1")["display_name"] == "Holiday mode").await;
    assert!(swapped, "the acked status change was lost:\n{}", bot.logs());
    tokio::time::sleep(secs(3)).await;
    let sets = slack.calls_to("users.profile.set").len();
    assert!(if finished { sets == 1 } else { sets <= 2 }, "{sets} users.profile.set calls (finished before exit: {finished})");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_keeps_work_that_could_not_run_yet_for_the_next_start() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member("U1", "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;
    let env = slack.slash_command("U1", "add :palm_tree: Holiday mode").await;
    expect_ack(&slack, &bot, &env, "add").await;

    // Slack rate-limits the swap: the job waits (in the store) when SIGTERM comes.
    slack.fail_next("users.profile.set", Fault::Http429 { retry_after: 15 });
    let (env, _) = slack.set_status("U1", ":palm_tree:").await;
    expect_ack(&slack, &bot, &env, "status change").await;
    assert_eq!(slack.wait_for_calls("users.profile.set", 1, secs(30)).await.len(), 1, "{}", bot.logs());
    let status = bot.shutdown(secs(40)).await.unwrap_or_else(|| panic!("no exit after SIGTERM:\n{}", bot.logs()));
    assert_eq!(status.code(), Some(0), "{}", bot.logs());
    assert_eq!(slack.member_profile("U1")["display_name"], "Ada", "nothing was written yet");
    let (st, out, err) = run_command(&bot, &["db", "stats"]);
    assert!(st.success(), "db stats after SIGTERM failed:\n{out}\n{err}");

    bot.restart().await;
    let swapped = slack.wait_until(secs(60), |f| f.member_profile("U1")["display_name"] == "Holiday mode").await;
    assert!(swapped, "the pending swap was lost over the restart:\n{}", bot.logs());
}

/// Acked means kept: SIGKILL right after an ack loses neither the work nor the delivery id.
#[tokio::test(flavor = "multi_thread")]
async fn what_was_acked_survives_a_crash() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    slack.add_member("U1", "Ada");
    let mut bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;

    let env = slack.slash_command("U1", "add :palm_tree: Holiday mode").await;
    expect_ack(&slack, &bot, &env, "add").await;
    let (dm, event_id) = slack.dm("U1", "list", vec![]).await;
    expect_ack(&slack, &bot, &dm, "list").await;
    bot.kill();
    let (st, out, err) = run_command(&bot, &["presets", "export", "--user", "U1"]);
    assert!(st.success(), "{err}");
    assert!(out.contains("Holiday mode"), "a preset acked before the crash is gone:\n{out}");

    // The crashed process may or may not have sent its reply; a redelivery must not add one.
    let replies = dm_replies(&slack, "U1");
    bot.restart().await;
    ready(&slack, &bot).await;
    let again = slack.redeliver(&event_id, 1).await.expect("redeliver");
    expect_ack(&slack, &bot, &again, "redelivery after the crash").await;
    tokio::time::sleep(secs(2)).await;
    assert_eq!(dm_replies(&slack, "U1"), replies, "the event was handled again after the crash:\n{}", bot.logs());
}

// ---------------------------------------------------------------------------------------------
// Ack discipline: never after slow work
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn acks_do_not_wait_for_web_api_calls() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    slack.add_member("U1", "Ada");
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;

    // Home tab: views.publish takes 15 s; the ack must not wait for it.
    slack.fail_next("views.publish", Fault::Delay(secs(15)));
    let (env, _) = slack.app_home_opened("U1").await;
    let ack = slack.wait_for_ack(&env, secs(10)).await;
    assert!(ack.is_some(), "app_home_opened was acked only after views.publish:\n{}", bot.logs());

    // DM reply: chat.postMessage takes 15 s; same.
    slack.fail_next("chat.postMessage", Fault::Delay(secs(15)));
    let (env, _) = slack.dm("U1", "list", vec![]).await;
    let ack = slack.wait_for_ack(&env, secs(10)).await;
    assert!(ack.is_some(), "the DM was acked only after chat.postMessage:\n{}", bot.logs());
    let replied = slack.wait_until(secs(30), |f| dm_replies(f, "U1") >= 1).await;
    assert!(replied, "the slow reply was still sent:\n{}", bot.logs());
}
