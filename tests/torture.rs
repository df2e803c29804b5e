//! Torture tests (issue 7): the real binary against the fake Slack, through crashes, socket storms,
//! Web API storms and hostile frames. Each run is seeded: the actions, their timing and the faults
//! come from a `StdRng`; what the machine's scheduler adds on top is not reproducible, so the
//! assertions are about outcomes (state, counts, budgets), never about speed.
//!
//! ```text
//! cargo test --test torture                    # quick variants (what CI runs, ~2 min on 2 cores)
//! TORTURE_LONG=1 cargo test --test torture     # long variants: 24 kills, 20 socket storm rounds plus
//!                                              # a `ratelimited` connections.open without Retry-After
//!                                              # and a no-pong stall, 60 status changes under faults
//! TORTURE_SEED=7 cargo test --test torture     # another seed (the default is fixed; failures print it)
//! ```
//!
//! * `sigkill_at_random_points_loses_no_acknowledged_state` — the crash test (6 kills; 24 long).
//! * `socket_storms_lose_nothing_and_handle_nothing_twice` — refresh/warning disconnects, drops and
//!   refused `apps.connections.open` during a stream of DM commands.
//! * `web_api_storms_end_in_the_right_state_within_budgets` — 429/`ratelimited`/500/503/slow answers
//!   on `users.profile.set` and `users.setPhoto` with Slack's limits enforced.
//! * hostile input on the wire: a 17 MiB frame, 100k-deep JSON, 100 KB slash commands.
//! * regression tests for what these found: `concurrent_flushes_never_deadlock_the_store`,
//!   `a_crash_loop_does_not_forget_the_profile_budget`, `a_kill_right_after_a_name_swap_…` /
//!   `…_photo_swap_…` (and, in tests/proptests.rs, giant emoji tokens).
//!
//! How envelopes lost with a dying socket are handled: Slack redelivers an events_api envelope
//! that was not acked (a new envelope, same `event_id`, `retry_attempt` + 1). The fake does not do
//! that by itself: it only queues events pushed while no socket is open. So the tests play Slack's
//! part with [`redeliver_unacked`]: every event whose envelopes all went to connections that are now
//! closed, and none of which was acked, is redelivered. Slash commands are not redelivered by Slack
//! (the member sees an error instead), so an unacked command counts as never accepted.

mod common;
use common::*;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const MEMBER: &str = "U1";

/// Lots of commands in little time are the point here, so the per-member command budget is lifted.
const CONFIG: &str = "[limits]\ncommands_per_minute = 100000\n";

fn long() -> bool {
    std::env::var_os("TORTURE_LONG").is_some_and(|v| !v.is_empty() && v != "0")
}

fn seed(default: u64) -> u64 {
    std::env::var("TORTURE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

async fn ready(slack: &FakeSlack, bot: &Bot) {
    assert!(bot.connected(slack, secs(30)).await, "bot never connected:\n{}", bot.logs());
}

async fn command(slack: &FakeSlack, bot: &Bot, text: &str) -> String {
    let env = slack.slash_command(MEMBER, text).await;
    let ack = slack.wait_for_ack(&env, secs(20)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_default()
}

async fn set_photo_by_dm(slack: &FakeSlack, bot: &Bot, emoji: &str, seed: &str) {
    let file = slack.add_file(test_png(300, 200, seed), "photo.png", "image/png");
    slack.dm(MEMBER, emoji, vec![file]).await;
    let reply = slack.wait_for_bot_text(MEMBER, "Saved the photo", secs(30)).await;
    assert!(reply.is_some(), "photo for {emoji} not saved: {:?}\n{}", slack.bot_texts(MEMBER), bot.logs());
}

/// Event ids that have at least one acked envelope.
fn acked_events(slack: &FakeSlack) -> HashSet<String> {
    let acked: HashSet<String> = slack.acks().into_iter().map(|a| a.envelope_id).collect();
    slack
        .envelopes()
        .into_iter()
        .filter(|e| acked.contains(&e.envelope_id))
        .filter_map(|e| e.payload.get("event_id").and_then(|v| v.as_str()).map(str::to_string))
        .collect()
}

/// Plays Slack's retry: redelivers each event none of whose envelopes was acked, when every one
/// of them went to a connection that is closed now (a queued one, `conn: None`, is still coming).
/// Returns how many were redelivered.
async fn redeliver_unacked(slack: &FakeSlack) -> usize {
    let acked = acked_events(slack);
    let open: HashSet<u64> = slack.open_socket_ids().into_iter().collect();
    let mut by_event: HashMap<String, Vec<SentEnvelope>> = HashMap::new();
    for e in slack.envelopes().into_iter().filter(|e| e.kind == "events_api") {
        if let Some(id) = e.payload.get("event_id").and_then(|v| v.as_str()) {
            by_event.entry(id.to_string()).or_default().push(e);
        }
    }
    let mut n = 0;
    for (event_id, envs) in by_event {
        if acked.contains(&event_id) {
            continue;
        }
        let all_lost = envs.iter().all(|e| e.conn.is_some_and(|c| !open.contains(&c)));
        if all_lost && !open.is_empty() {
            let attempt = envs.iter().map(|e| e.retry_attempt).max().unwrap_or(0) + 1;
            if slack.redeliver(&event_id, attempt).await.is_some() {
                n += 1;
            }
        }
    }
    n
}

/// Redelivers until every event pushed so far has been acked (or the timeout passes).
async fn settle_all_events(slack: &FakeSlack, bot: &Bot, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let pushed: HashSet<String> = slack
            .envelopes()
            .into_iter()
            .filter(|e| e.kind == "events_api")
            .filter_map(|e| e.payload.get("event_id").and_then(|v| v.as_str()).map(str::to_string))
            .collect();
        let acked = acked_events(slack);
        let missing: Vec<&String> = pushed.iter().filter(|e| !acked.contains(*e)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{} events never acked: {missing:?}\n{}", missing.len(), bot.logs());
        tokio::time::sleep(millis(1500)).await;
        redeliver_unacked(slack).await;
    }
}

/// SIGKILL, and wait until the fake has seen the socket go. The process is reaped by the next
/// `restart` (a zombie keeps its pid, so no signal can reach another process by mistake).
async fn sigkill(slack: &FakeSlack, bot: &Bot) {
    bot.signal(libc::SIGKILL);
    let gone = slack.wait_until(secs(15), |f| f.open_sockets() == 0).await;
    assert!(gone, "the killed bot's socket stayed open");
}

// ---------------------------------------------------------------------------------------------
// 1. Crash test
// ---------------------------------------------------------------------------------------------

/// Presets set up before the storm: (emoji, name, photo seed).
const PRESETS: &[(&str, &str, Option<&str>)] =
    &[("palm_tree", "On vacation", Some("beach")), ("car", "Driving", None), ("coffee", "On a break", None)];

/// Statuses the member flips between: presets, no status, and an emoji without a preset.
const STATUSES: &[&str] = &[":palm_tree:", ":car:", ":coffee:", "", ":tada:"];

/// Emoji for presets added during the storm, each once.
const FRESH: &[&str] = &[
    "dog",
    "cat",
    "rocket",
    "star",
    "pizza",
    "books",
    "bike",
    "cactus",
    "guitar",
    "hammer",
    "anchor",
    "apple",
    "camera",
    "trophy",
    "bell",
    "key",
    "gift",
    "lemon",
    "cherries",
    "tent",
    "ghost",
    "pig",
    "cow",
    "frog",
    "whale",
    "octopus",
    "bee",
    "tulip",
    "rose",
    "cookie",
    "cake",
    "doughnut",
    "taco",
    "hamburger",
    "fries",
    "popcorn",
    "basketball",
    "football",
    "tennis",
    "bowling",
    "dart",
    "violin",
    "trumpet",
    "microphone",
    "headphones",
    "art",
    "crown",
    "gem",
    "ring",
    "lipstick",
    "eyeglasses",
    "necktie",
    "kite",
];

/// What the member's profile must show for a status.
fn expected_for(status: &str) -> (&'static str, Option<&'static str>) {
    let emoji = status.trim_matches(':');
    match PRESETS.iter().find(|(e, _, _)| *e == emoji) {
        Some((_, name, photo)) => (name, *photo),
        None => ("Ada", None),
    }
}

/// Changes the member's status the way Slack sometimes does for a bot that was away: with no
/// event, ever (a clear takes the text and expiration with it, as in `FakeSlack::set_status`).
fn set_status_silently(slack: &FakeSlack, status: &str) {
    let patch = if status.is_empty() {
        json!({"status_emoji": "", "status_text": "", "status_expiration": 0})
    } else {
        json!({"status_emoji": status})
    };
    slack.update_profile(MEMBER, patch);
}

/// Just after a start (the start-up catch-up is reading the profile, queueing or writing the
/// swap): SIGKILL at a random point, and start again.
async fn kill_during_catch_up(slack: &FakeSlack, bot: &mut Bot, rng: &mut StdRng) {
    tokio::time::sleep(millis(rng.random_range(0..1500))).await;
    sigkill(slack, bot).await;
    bot.restart().await;
}

/// SIGKILL at seeded-random points during a burst of status changes and commands, restarting on
/// the same database each time. Statuses also change while the bot is down with no event at all
/// (the catch-up at start-up must find them), and some of those catch-ups are killed too. Afterwards every acknowledged desired state is what the fake
/// shows, no acknowledged preset is missing, the baseline comes back byte for byte, Slack's
/// profile budgets held across the crashes, and the database opens cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_points_loses_no_acknowledged_state() {
    let seed = seed(20_070_001);
    let kills = if long() { 24 } else { 6 };
    let mut rng = StdRng::seed_from_u64(seed);
    eprintln!("crash test: seed {seed}, {kills} kills");

    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    slack.set_enforce_rate_limits(true);
    let token = slack.add_member(MEMBER, "Ada");
    let original_photo = slack.avatar_bytes(MEMBER);
    let mut bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), config_toml: Some(CONFIG.into()), ..Default::default() });
    ready(&slack, &bot).await;
    for (emoji, name, photo) in PRESETS {
        let reply = command(&slack, &bot, &format!("add :{emoji}: {name}")).await;
        assert!(reply.contains("Saved"), "{reply}");
        if let Some(p) = photo {
            set_photo_by_dm(&slack, &bot, &format!(":{emoji}:"), p).await;
        }
    }

    let mut statuses: Vec<&str> = Vec::new();
    let mut adds: Vec<(String, String)> = Vec::new(); // (envelope id, preset name)
    let mut fresh = FRESH.iter();
    let (mut silent_changes, mut catch_up_kills) = (0, 0);
    let started = Instant::now();
    for round in 0..kills {
        // A burst of work, some of it still in flight when the kill comes.
        for _ in 0..rng.random_range(2..=6) {
            match rng.random_range(0..100) {
                0..=49 => {
                    let s = STATUSES[rng.random_range(0..STATUSES.len())];
                    slack.set_status(MEMBER, s).await;
                    statuses.push(s);
                }
                50..=69 => {
                    if let Some(emoji) = fresh.next() {
                        let name = format!("Extra {round} {emoji}");
                        let env = slack.slash_command(MEMBER, &format!("add :{emoji}: {name}")).await;
                        adds.push((env, name));
                    }
                }
                70..=79 => {
                    let cmd = ["list", "status", "help"][rng.random_range(0..3)];
                    slack.slash_command(MEMBER, cmd).await;
                }
                80..=87 => {
                    // Kill while a profile write is on the wire.
                    slack.fail_next("users.profile.set", Fault::Delay(millis(rng.random_range(200..1500))));
                }
                _ => tokio::time::sleep(millis(rng.random_range(200..1500))).await,
            }
            tokio::time::sleep(millis(rng.random_range(0..400))).await;
        }
        tokio::time::sleep(millis(rng.random_range(0..2500))).await;
        sigkill(&slack, &bot).await;

        // Sometimes the member keeps going while the bot is down (the fake queues the events).
        if rng.random_bool(0.3) {
            let s = STATUSES[rng.random_range(0..STATUSES.len())];
            slack.set_status(MEMBER, s).await;
            statuses.push(s);
        }
        // And sometimes Slack never tells the bot at all: only the catch-up at the next start
        // can see it, and that catch-up is killed at a random point now and then.
        let silent = rng.random_bool(0.35);
        if silent {
            let s = STATUSES[rng.random_range(0..STATUSES.len())];
            set_status_silently(&slack, s);
            statuses.push(s);
            silent_changes += 1;
        }
        // Now and then the crashed database is opened by another command before the restart.
        if round % 3 == 1 {
            let (st, out, err) = run_command(&bot, &["db", "stats"]);
            assert!(st.success(), "db stats on the crashed database (round {round}, seed {seed}) failed:\n{out}\n{err}");
        }
        bot.restart().await;
        if silent && rng.random_bool(0.6) {
            kill_during_catch_up(&slack, &mut bot, &mut rng).await;
            catch_up_kills += 1;
        }
        ready(&slack, &bot).await;
        tokio::time::sleep(millis(500)).await;
        redeliver_unacked(&slack).await;
    }
    // Last, for every seed: a change Slack never announces, found by a catch-up that is killed
    // while it runs. Nothing may stay showing a preset for a status the member no longer has.
    sigkill(&slack, &bot).await;
    let last = statuses.last().copied().unwrap_or("");
    let s = if expected_for(last).0 == "Ada" { ":palm_tree:" } else { "" };
    set_status_silently(&slack, s);
    statuses.push(s);
    silent_changes += 1;
    bot.restart().await;
    kill_during_catch_up(&slack, &mut bot, &mut rng).await;
    catch_up_kills += 1;
    ready(&slack, &bot).await;
    tokio::time::sleep(millis(500)).await;
    redeliver_unacked(&slack).await;
    eprintln!("crash test: {kills} kills in {:?}, {} status changes, {} adds", started.elapsed(), statuses.len(), adds.len());
    eprintln!("crash test: {silent_changes} status changes without an event, {catch_up_kills} kills during a catch-up");

    // Slack keeps redelivering until every event is acked.
    settle_all_events(&slack, &bot, secs(90)).await;

    // The last status the member set is what their profile shows.
    let last = statuses.last().copied().unwrap_or("");
    let (name, photo) = expected_for(last);
    let converged = slack
        .wait_until(secs(150), |f| {
            let avatar = f.avatar_bytes(MEMBER);
            f.member_profile(MEMBER)["display_name"] == name
                && match photo {
                    Some(p) => looks_like_seed(&avatar, p),
                    None => avatar == original_photo,
                }
        })
        .await;
    assert!(
        converged,
        "seed {seed}: last status {last:?} wants {name:?} / photo {photo:?}, the fake shows {:?} (own photo: {})\nstatuses: {statuses:?}\n{}",
        slack.member_profile(MEMBER)["display_name"],
        slack.avatar_bytes(MEMBER) == original_photo,
        bot.logs()
    );

    // Every preset whose `add` was acknowledged is there.
    let list = command(&slack, &bot, "list").await;
    for (_, name, photo) in PRESETS {
        let line = list.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("seed {seed}: preset {name} lost:\n{list}"));
        assert_eq!(line.contains("(with photo)"), photo.is_some(), "seed {seed}: {line}");
    }
    let mut acked_adds = 0;
    for (env, name) in &adds {
        let saved = slack.ack_for(env).and_then(|a| a.payload).is_some_and(|p| collect_text(&p).contains("Saved"));
        if saved {
            acked_adds += 1;
            assert!(list.contains(name.as_str()), "seed {seed}: acknowledged preset {name} lost:\n{list}");
        }
    }
    eprintln!("crash test: {acked_adds} of {} adds acknowledged, all kept", adds.len());

    // The baseline survived: clearing the status brings back the member's own name and photo.
    slack.set_status(MEMBER, ":palm_tree:").await;
    let swapped = slack
        .wait_until(secs(120), |f| {
            f.member_profile(MEMBER)["display_name"] == "On vacation" && looks_like_seed(&f.avatar_bytes(MEMBER), "beach")
        })
        .await;
    assert!(swapped, "seed {seed}: no swap after the storm: {}\n{}", slack.member_profile(MEMBER), bot.logs());
    slack.set_status(MEMBER, "").await;
    let restored = slack
        .wait_until(secs(120), |f| f.member_profile(MEMBER)["display_name"] == "Ada" && f.avatar_bytes(MEMBER) == original_photo)
        .await;
    assert!(restored, "seed {seed}: the baseline was lost: {}\n{}", slack.member_profile(MEMBER), bot.logs());

    let violations = slack.rate_limit_violations();
    assert!(violations.is_empty(), "seed {seed}: Slack's limits were exceeded across the crashes: {violations:?}");
    assert!(!bot.logs().contains("panicked"), "seed {seed}: a panic:\n{}", bot.logs());

    assert!(bot.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", bot.logs());
    let (st, out, err) = run_command(&bot, &["db", "stats"]);
    assert!(st.success(), "seed {seed}: db stats failed:\n{out}\n{err}");
    assert!(out.contains("queue depth: 0"), "seed {seed}: work left behind:\n{out}");
    assert!(out.contains("dead letters: 0"), "seed {seed}: jobs failed for good:\n{out}");
}

// ---------------------------------------------------------------------------------------------
// 2. Socket storms
// ---------------------------------------------------------------------------------------------

/// Replies the bot posted in the member's DM.
fn dm_replies(slack: &FakeSlack) -> Vec<String> {
    let dm = format!("D{MEMBER}");
    slack
        .calls_to("chat.postMessage")
        .iter()
        .filter(|c| c.param("channel").is_some_and(|ch| ch == MEMBER || ch == dm))
        .map(|c| c.param("text").unwrap_or_default())
        .collect()
}

/// `refresh_requested` and `warning` disconnects, abrupt drops and `apps.connections.open`
/// answering 429 / `ratelimited`, while DM `list` commands keep coming: every event is acked in
/// the end and each is answered exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn socket_storms_lose_nothing_and_handle_nothing_twice() {
    let seed = seed(20_070_002);
    let rounds = if long() { 20 } else { 8 };
    // Drops push the bot's reconnect backoff up to its cap (a minute, with jitter).
    let patience = if long() { secs(240) } else { secs(150) };
    let mut rng = StdRng::seed_from_u64(seed);
    eprintln!("socket storm: seed {seed}, {rounds} rounds");

    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    slack.add_member(MEMBER, "Ada");
    let bot = Bot::spawn(&slack, BotOptions { config_toml: Some(CONFIG.into()), ..Default::default() });
    ready(&slack, &bot).await;

    // Traffic: DM `list` every 30–150 ms for the whole storm.
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let producer = {
        let (slack, stop, sent) = (slack.clone(), stop.clone(), sent.clone());
        let mut rng = StdRng::seed_from_u64(seed ^ 0xD1CE);
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let (_, event_id) = slack.dm(MEMBER, "list", vec![]).await;
                sent.lock().unwrap().push(event_id);
                tokio::time::sleep(millis(rng.random_range(30..150))).await;
            }
        })
    };

    // Every kind of trouble comes up, in a seeded order. Refreshes cost the bot nothing; each
    // drop and each refused open counts towards its reconnect backoff (exponential, capped at
    // 60 s, reset only by a connection that lasts 30 s), so they are fewer.
    let mut plan: Vec<usize> = (0..rounds).map(|i| [0, 2, 1, 3, 0, 2, 0, 3, 0, 1][i % 10]).collect();
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.random_range(0..=i));
    }
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    let mut refused_opens = Vec::new();
    for step in plan {
        let kind = match step {
            0 => {
                slack.send_disconnect("refresh_requested").await;
                "refresh_requested"
            }
            1 => {
                slack.send_disconnect("warning").await;
                "warning"
            }
            2 => {
                slack.drop_sockets().await;
                "drop"
            }
            _ => {
                // Slack refuses new connections for a while (HTTP 429 `ratelimited`,
                // Retry-After 1 s), then the socket drops, so the bot has to get through them.
                // (After many drops the bot's backoff is long: up to a minute.)
                assert!(slack.wait_for_sockets(1, patience).await, "seed {seed}: not connected\n{}", bot.logs());
                let before = slack.calls_to("apps.connections.open").len();
                let refusals = rng.random_range(1..=2);
                for _ in 0..refusals {
                    slack.fail_next("apps.connections.open", Fault::Http429 { retry_after: 1 });
                }
                slack.drop_sockets().await;
                let started = Instant::now();
                assert!(slack.wait_for_sockets(1, patience).await, "seed {seed}: no reconnection after 429s\n{}", bot.logs());
                refused_opens.push((before, refusals, started.elapsed()));
                "connections.open 429"
            }
        };
        *kinds.entry(kind).or_default() += 1;
        tokio::time::sleep(millis(rng.random_range(200..2500))).await;
    }
    if long() {
        // `ratelimited` without Retry-After: the bot waits its own 30 s before trying again.
        slack.set_connections_open_error(Some("ratelimited".into()));
        slack.drop_sockets().await;
        tokio::time::sleep(secs(5)).await;
        slack.set_connections_open_error(None);
        assert!(slack.wait_for_sockets(1, patience).await, "no reconnection after ratelimited:\n{}", bot.logs());
        // A stall: the socket stays open but answers nothing, not even pongs.
        slack.set_silent(true);
        tokio::time::sleep(secs(3)).await;
        let silent = slack.open_socket_ids();
        let replaced = slack.wait_until(patience, move |f| f.open_socket_ids().iter().any(|id| !silent.contains(id))).await;
        assert!(replaced, "a silent socket was never replaced:\n{}", bot.logs());
        *kinds.entry("ratelimited + stall").or_default() += 1;
    }
    stop.store(true, Ordering::SeqCst);
    producer.await.expect("producer");
    assert!(slack.wait_for_sockets(1, patience).await, "seed {seed}: not connected after the storm\n{}", bot.logs());

    let sent = sent.lock().unwrap().clone();
    let unique: HashSet<&String> = sent.iter().collect();
    assert_eq!(unique.len(), sent.len());
    tokio::time::sleep(secs(2)).await;
    let redelivered_before = slack.envelopes().iter().filter(|e| e.retry_attempt > 0).count();
    settle_all_events(&slack, &bot, secs(120)).await;
    let redelivered = slack.envelopes().iter().filter(|e| e.retry_attempt > 0).count();

    // Every `list` answered exactly once: none lost, none handled twice.
    let want = sent.len();
    let answered = slack.wait_until(secs(30), move |f| dm_replies(f).len() >= want).await;
    tokio::time::sleep(secs(2)).await;
    let replies = dm_replies(&slack);
    assert!(answered, "seed {seed}: {} of {want} commands answered\n{}", replies.len(), bot.logs());
    assert_eq!(replies.len(), want, "seed {seed}: some commands were handled twice\n{}", bot.logs());
    assert!(replies.iter().all(|r| r.contains("presets")), "{replies:?}");

    // Reconnection stayed orderly: no connect loop, the 429s honoured.
    let opens = slack.calls_to("apps.connections.open");
    for (before, refusals, took) in &refused_opens {
        for j in *before..before + refusals {
            let gap = opens[j + 1].at - opens[j].at;
            assert!(gap >= millis(990), "seed {seed}: opened again {gap:?} after a 429 with Retry-After 1 s");
        }
        assert!(*took < patience, "seed {seed}: {took:?} to get through {refusals} refused opens");
    }
    assert!(opens.len() <= rounds * 5 + 10, "seed {seed}: {} connections.open calls for {rounds} rounds", opens.len());
    assert!(!bot.logs().contains("panicked"), "{}", bot.logs());
    assert_eq!(slack.open_sockets(), 1, "seed {seed}: {:?}", slack.open_socket_ids());
    eprintln!(
        "socket storm: {kinds:?}; {want} commands, {} connections, {} opens, {} redelivered by the test ({} while storming); \
         reconnections through 429s took {:?}",
        slack.connections_opened(),
        opens.len(),
        redelivered,
        redelivered_before,
        refused_opens.iter().map(|r| r.2).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Web API storms
// ---------------------------------------------------------------------------------------------

fn random_fault(rng: &mut StdRng) -> Fault {
    match rng.random_range(0..100) {
        0..=29 => Fault::Http429 { retry_after: 1 },
        30..=49 => Fault::SlackError("ratelimited".into()),
        50..=64 => Fault::Status(500),
        65..=74 => Fault::SlackError("internal_error".into()),
        75..=79 => Fault::Status(503),
        _ => Fault::Delay(millis(rng.random_range(500..3000))),
    }
}

fn is_error(f: &Fault) -> bool {
    !matches!(f, Fault::Delay(_))
}

/// How often what the profile should show changed along `statuses` (from the member's own): its
/// name, or with `photo` its photo.
fn transitions(statuses: &[&str], photo: bool) -> usize {
    let show = |s: &str| {
        let (name, seed) = expected_for(s);
        if photo {
            seed.unwrap_or("own").to_string()
        } else {
            name.to_string()
        }
    };
    let mut last = show("");
    let mut n = 0;
    for s in statuses {
        let now = show(s);
        if now != last {
            n += 1;
            last = now;
        }
    }
    n
}

/// The fault each call met (None: answered normally), replaying the fake's first-in, first-out
/// queue of faults against the calls in the order both happened.
fn match_faults(calls: &[Call], faults: &[(Instant, Fault)]) -> Vec<Option<Fault>> {
    let mut queue = std::collections::VecDeque::new();
    let mut next = faults.iter().peekable();
    calls
        .iter()
        .map(|c| {
            while let Some((_, f)) = next.next_if(|(at, _)| *at <= c.at) {
                queue.push_back(f.clone());
            }
            queue.pop_front()
        })
        .collect()
}

/// 429s (Retry-After 1), `ratelimited`, 500s and slow answers on users.profile.set and
/// users.setPhoto during a burst of status changes, with Slack's limits enforced: the final state
/// is right, no call ever went over a limit, and the retries stay in proportion.
#[tokio::test(flavor = "multi_thread")]
async fn web_api_storms_end_in_the_right_state_within_budgets() {
    let seed = seed(20_070_003);
    let changes = if long() { 60 } else { 10 };
    let mut rng = StdRng::seed_from_u64(seed);
    eprintln!("api storm: seed {seed}, {changes} status changes");

    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    slack.set_enforce_rate_limits(true);
    let token = slack.add_member(MEMBER, "Ada");
    let original_photo = slack.avatar_bytes(MEMBER);
    let bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), config_toml: Some(CONFIG.into()), ..Default::default() });
    ready(&slack, &bot).await;
    for (emoji, name, photo) in PRESETS {
        let reply = command(&slack, &bot, &format!("add :{emoji}: {name}")).await;
        assert!(reply.contains("Saved"), "{reply}");
        if let Some(p) = photo {
            set_photo_by_dm(&slack, &bot, &format!(":{emoji}:"), p).await;
        }
    }
    // Capturing the baseline meets a flaky avatar download and profile read too.
    slack.fail_next("avatar.download", Fault::Status(500));
    slack.fail_next("users.profile.get", Fault::Http429 { retry_after: 1 });

    let methods = ["users.profile.set", "users.setPhoto"];
    let mut injected: HashMap<&str, Vec<(Instant, Fault)>> = HashMap::new();
    let mut statuses = Vec::new();
    for _ in 0..changes {
        for m in methods {
            // At most two queued per method, so transient failures never pile up into the
            // eight attempts after which a job is given up.
            if slack.pending_faults(m) < 2 && rng.random_bool(0.6) {
                let f = random_fault(&mut rng);
                injected.entry(m).or_default().push((Instant::now(), f.clone()));
                slack.fail_next(m, f);
            }
        }
        // The photo preset twice as often, so users.setPhoto sees its share of the storm.
        let s = [":palm_tree:", ":palm_tree:", ":car:", ":coffee:", "", ":tada:"][rng.random_range(0..6)];
        let (env, _) = slack.set_status(MEMBER, s).await;
        statuses.push(s);
        assert!(slack.wait_for_ack(&env, secs(20)).await.is_some(), "{}", bot.logs());
        // Flapping and calm in turns, so some changes coalesce and some are written.
        let pause = if rng.random_bool(0.35) { rng.random_range(200..1000) } else { rng.random_range(2500..5000) };
        tokio::time::sleep(millis(pause)).await;
    }

    let last = statuses.last().copied().unwrap_or("");
    let (name, photo) = expected_for(last);
    let converged = slack
        .wait_until(secs(180), |f| {
            let avatar = f.avatar_bytes(MEMBER);
            f.member_profile(MEMBER)["display_name"] == name
                && match photo {
                    Some(p) => looks_like_seed(&avatar, p),
                    None => avatar == original_photo,
                }
        })
        .await;
    assert!(
        converged,
        "seed {seed}: last status {last:?} wants {name:?}, the fake shows {:?}\n{}",
        slack.member_profile(MEMBER)["display_name"],
        bot.logs()
    );
    // Let stragglers show up before counting.
    tokio::time::sleep(secs(5)).await;

    let violations = slack.rate_limit_violations();
    assert!(violations.is_empty(), "seed {seed}: over Slack's limits: {violations:?}");
    assert!(slack.wait_for_bot_text(MEMBER, "couldn't change your profile", millis(10)).await.is_none(), "a job was given up");

    let mut report = Vec::new();
    for m in methods {
        let calls = slack.calls_to(m);
        // Which call met which fault: the fake hands them out first in, first out.
        let outcomes = match_faults(&calls, injected.get(m).map(Vec::as_slice).unwrap_or(&[]));
        let failed = outcomes.iter().filter(|f| f.as_ref().is_some_and(is_error)).count();
        let succeeded = calls.len() - failed;
        report.push(format!(
            "{m}: {} calls, {failed} failed by injection, {succeeded} succeeded ({:.1}× the successful ones)",
            calls.len(),
            calls.len() as f64 / succeeded.max(1) as f64
        ));
        // Every call either did needed work or met an injected failure (a retry storm would show
        // as more successful writes than needed, or as retries too soon, below). The needed work
        // is at most one write per change of what the profile should show (coalescing may skip
        // some). The issue's "at most 3× the successful calls" is reported, not asserted: this
        // storm queues up to two failures per method at every status change, so one success may
        // rightly follow more than two failures.
        let needed = transitions(&statuses, m == "users.setPhoto");
        assert!(failed <= injected.get(m).map_or(0, Vec::len), "seed {seed}: {report:?}");
        assert!(succeeded <= needed + 1, "seed {seed}: {succeeded} successful {m} calls for {needed} changes of state\n{}", bot.logs());
        // No retry sooner than Slack allows.
        for (i, fault) in outcomes.iter().enumerate() {
            let (Some(f), Some(next)) = (fault, calls.get(i + 1)) else { continue };
            let gap = next.at - calls[i].at;
            let least = match f {
                Fault::Http429 { retry_after } => secs(*retry_after),
                Fault::Delay(_) => continue,
                _ => millis(900),
            };
            assert!(gap >= least - millis(20), "seed {seed}: {m} called again {gap:?} after {f:?}\n{}", bot.logs());
        }
    }
    eprintln!("api storm: {report:?}; statuses {statuses:?}");
    assert!(!bot.logs().contains("panicked"), "{}", bot.logs());
}

// ---------------------------------------------------------------------------------------------
// 4. Hostile frames and commands
// ---------------------------------------------------------------------------------------------

async fn push_ignored(slack: &FakeSlack) -> String {
    let ev = json!({"type": "reaction_added", "user": MEMBER, "reaction": "tada", "item": {"type": "message", "channel": "C1", "ts": "1.2"}, "event_ts": "1.3"});
    slack.push_event(ev).await.0
}

/// A 17 MiB text frame is over the 16 MiB the connection reads at all (frames up to 4 MiB are
/// handled, larger ones acked and skipped, see tests/socket_mode.rs): the bot drops that
/// connection (without reading the frame into a handler), reconnects, and keeps working.
#[tokio::test(flavor = "multi_thread")]
async fn a_frame_over_the_read_limit_is_refused_and_the_bot_reconnects() {
    let slack = FakeSlack::start().await;
    slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let first = slack.open_socket_ids()[0];

    let pad = "x".repeat(17 << 20);
    let huge = json!({"envelope_id": "huge-1", "type": "events_api", "accepts_response_payload": false,
        "payload": {"type": "event_callback", "event_id": "EvHUGE", "event": {"type": "message", "text": pad}}});
    assert!(slack.send_raw(&huge.to_string()).await);
    let replaced = slack.wait_until(secs(30), move |f| f.open_socket_ids().iter().any(|id| *id != first)).await;
    assert!(replaced, "no new connection after the oversized frame:\n{}", bot.logs());
    assert!(slack.closed_log().iter().any(|c| c.conn == first), "the connection that got the frame is still up");
    assert!(slack.ack_for("huge-1").is_none(), "the oversized envelope was handled");

    let env = push_ignored(&slack).await;
    assert!(slack.wait_for_ack(&env, secs(20)).await.is_some(), "not working after the oversized frame:\n{}", bot.logs());
    let reply = command(&slack, &bot, "help").await;
    assert!(!reply.is_empty());
    assert!(bot.try_exit().is_none(), "the bot exited:\n{}", bot.logs());
    assert!(!bot.logs().contains("panicked"), "{}", bot.logs());
}

/// Deeply nested JSON (100k `[`) is refused by the parser's depth limit: no stack overflow, the
/// connection stays up, and the next envelope on it is acked.
#[tokio::test(flavor = "multi_thread")]
async fn deeply_nested_json_frames_are_skipped_without_a_crash() {
    let slack = FakeSlack::start().await;
    slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let conn = slack.open_socket_ids()[0];

    let deep = "[".repeat(100_000);
    let deep_payload = format!(r#"{{"envelope_id":"deep-1","type":"events_api","payload":{}1{}}}"#, deep, "]".repeat(100_000));
    let deep_object = format!(r#"{{"type":"hello","debug_info":{}}}"#, "{\"x\":".repeat(100_000));
    // Just inside the parser's depth limit: accepted, acked, handled as an unreadable payload.
    let nested_ok =
        format!(r#"{{"envelope_id":"deep-ok","type":"events_api","payload":{{"event":{}1{}}}}}"#, "[".repeat(120), "]".repeat(120));
    for frame in [&deep, &deep_payload, &deep_object, &nested_ok] {
        assert!(slack.send_raw(frame).await, "socket gone");
    }
    let env = push_ignored(&slack).await;
    let ack = slack.wait_for_ack(&env, secs(20)).await.unwrap_or_else(|| panic!("not acked after deep JSON:\n{}", bot.logs()));
    assert_eq!(ack.conn, conn, "the connection was dropped");
    // Past the depth limit: not handled, but acked by its envelope_id so Slack stops redelivering.
    let deep_ack = slack.wait_for_ack("deep-1", secs(10)).await;
    assert!(deep_ack.is_some_and(|a| a.payload.is_none()), "{}", bot.logs());
    assert!(slack.wait_for_ack("deep-ok", secs(10)).await.is_some(), "{}", bot.logs());
    assert_eq!(slack.open_socket_ids(), vec![conn]);
    assert!(bot.try_exit().is_none(), "the bot died:\n{}", bot.logs());
    assert!(!bot.logs().contains("overflow"), "{}", bot.logs());
}

/// 100 KB of command text, in several shapes, gets a short polite answer (or usage) in the ack.
#[tokio::test(flavor = "multi_thread")]
async fn a_huge_slash_command_gets_a_polite_reply() {
    let slack = FakeSlack::start().await;
    slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;

    let cases = [
        (format!("add :palm_tree: {}", "n".repeat(100_000)), "characters long"),
        ("y".repeat(100_000), "I don't know"),
        (format!("help {}", "z ".repeat(50_000)), "status-preset"),
        // These two were answered with the whole 100 KB emoji echoed back, before
        // `command::parse` refused emoji tokens longer than any emoji (MAX_EMOJI_TOKEN_CHARS).
        (format!("remove {}", ":a:".repeat(33_000)), "remove"),
        (format!("add {} Name", "🌴".repeat(25_000)), "emoji"),
        (format!("photo {}", "👍🏽".repeat(12_000)), "emoji"),
        (format!("connect {}", "&amp;".repeat(20_000)), ""),
        (format!("add {} Name", "<".repeat(100_000)), "emoji"),
    ];
    for (text, want) in &cases {
        let started = Instant::now();
        let reply = command(&slack, &bot, text).await;
        assert!(!reply.is_empty(), "{}…: no reply", &text[..16]);
        assert!(reply.contains(want), "{}…: {reply}", &text[..16]);
        assert!(reply.len() < 4000, "{}…: a {} byte reply echoes the input", &text[..16], reply.len());
        assert!(started.elapsed() < secs(20), "{}…: {:?}", &text[..16], started.elapsed());
    }
    let list = command(&slack, &bot, "list").await;
    assert!(list.contains("no presets"), "{list}");
    assert!(bot.try_exit().is_none(), "the bot died:\n{}", bot.logs());
    assert!(!bot.logs().contains("panicked"), "{}", bot.logs());
}

// ---------------------------------------------------------------------------------------------
// Regression tests for what the storms above found
// ---------------------------------------------------------------------------------------------

/// Found by `socket_storms_lose_nothing_and_handle_nothing_twice`: the whole bot froze (no more
/// acks, no log lines) under a burst of envelopes. Every envelope flushes the store before its
/// ack, and `Store::flush` used sled's `flush_async`, which runs the flush on sled's own small
/// thread pool; with enough flushes at once every pool thread waited for an IO-buffer write
/// queued behind them on that same pool, forever, and writers then blocked the runtime's worker
/// threads too. Many concurrent writers and flushes on two workers must always finish. (The
/// runtime runs on its own thread, so a regression fails this test instead of hanging it.)
#[test]
fn concurrent_flushes_never_deadlock_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = statusinator::store::Store::open(&dir.path().join("db")).expect("store");
    let rounds = if long() { 200 } else { 40 };
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker = store.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let mut tasks = tokio::task::JoinSet::new();
            for t in 0..64u32 {
                let store = worker.clone();
                tasks.spawn(async move {
                    for i in 0..rounds {
                        store.first_sighting(&format!("ev:{t}:{i}")).expect("write");
                        store.flush().await.expect("flush");
                    }
                });
            }
            while let Some(r) = tasks.join_next().await {
                r.expect("task");
            }
        });
        let _ = done_tx.send(());
    });
    assert!(done_rx.recv_timeout(secs(120)).is_ok(), "concurrent store flushes deadlocked");
    assert_eq!(store.seen.len(), 64 * rounds as usize);
}

/// SIGKILL in the instant after a swap's write reached Slack, while the socket is down (so the
/// echo of that write waits at Slack and no envelope flushes the store meanwhile), then clearing
/// the status: the member's own name and photo must come back.
async fn kill_right_after_a_swap_then_clear(with_photo: bool) {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member(MEMBER, "Ada");
    let original_photo = slack.avatar_bytes(MEMBER);
    let mut bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), config_toml: Some(CONFIG.into()), ..Default::default() });
    ready(&slack, &bot).await;
    let reply = command(&slack, &bot, "add :palm_tree: On vacation").await;
    assert!(reply.contains("Saved"), "{reply}");
    if with_photo {
        set_photo_by_dm(&slack, &bot, ":palm_tree:", "beach").await;
    }
    let method = if with_photo { "users.setPhoto" } else { "users.profile.set" };
    let rounds = if long() { 6 } else { 2 };
    for round in 0..rounds {
        // The write is slow to land; meanwhile the socket drops and stays down.
        slack.fail_next(method, Fault::Delay(millis(1500)));
        let (env, _) = slack.set_status(MEMBER, ":palm_tree:").await;
        assert!(slack.wait_for_ack(&env, secs(20)).await.is_some(), "{}", bot.logs());
        slack.set_connections_open_error(Some("internal_error".into()));
        slack.drop_sockets().await;
        let landed = slack
            .wait_until(secs(90), |f| {
                if with_photo {
                    looks_like_seed(&f.avatar_bytes(MEMBER), "beach")
                } else {
                    f.member_profile(MEMBER)["display_name"] == "On vacation"
                }
            })
            .await;
        assert!(landed, "round {round}: no swap\n{}", bot.logs());
        // Kill as soon as the write has landed: what the bot noted after it is not flushed yet.
        bot.signal(libc::SIGKILL);
        slack.set_connections_open_error(None);
        bot.restart().await;
        ready(&slack, &bot).await;
        tokio::time::sleep(secs(1)).await;
        slack.set_status(MEMBER, "").await;
        let restored = slack
            .wait_until(secs(90), |f| f.member_profile(MEMBER)["display_name"] == "Ada" && f.avatar_bytes(MEMBER) == original_photo)
            .await;
        assert!(
            restored,
            "round {round}: after a kill right behind the swap, clearing the status left {:?} (own photo: {})\n{}",
            slack.member_profile(MEMBER)["display_name"],
            slack.avatar_bytes(MEMBER) == original_photo,
            bot.logs()
        );
        tokio::time::sleep(secs(1)).await;
    }
}

/// Found by the long variant of this test (which still reproduces it: by its fourth round the
/// member's budget is spent): the kill left the name on the profile without the bot's note that
/// it wrote it, the budget kept the restarted bot from simply writing it again, and clearing the
/// status then restored nothing. Now a write the bot cannot remember noting, but can recognise
/// (the active preset's name, an upload under way), counts as its own.
#[tokio::test(flavor = "multi_thread")]
async fn a_kill_right_after_a_name_swap_still_restores_the_name() {
    kill_right_after_a_swap_then_clear(false).await;
}

/// The same for the photo (long variant only: each round spends four of the member's ten profile
/// updates a minute, so rounds wait for the budget).
#[tokio::test(flavor = "multi_thread")]
async fn a_kill_right_after_a_photo_swap_still_restores_the_photo() {
    if !long() {
        return;
    }
    kill_right_after_a_swap_then_clear(true).await;
}

/// A crash loop must not reset Slack's per-member budget (10 profile updates a minute): the bot
/// is killed the moment each write lands, restarted, and the member flips their status again.
/// Spends not yet on disk at the kill would be forgotten, and the next incarnation would write
/// again at once; with the spend flushed before each call the budget holds and the fake, which
/// enforces Slack's limits, never sees an eleventh update in a minute.
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_loop_does_not_forget_the_profile_budget() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    slack.set_enforce_rate_limits(true);
    let token = slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), config_toml: Some(CONFIG.into()), ..Default::default() });
    ready(&slack, &bot).await;
    let reply = command(&slack, &bot, "add :palm_tree: On vacation").await;
    assert!(reply.contains("Saved"), "{reply}");

    let started = Instant::now();
    let mut cycles = 0;
    while started.elapsed() < secs(50) {
        let before = slack.calls_to("users.profile.set").len();
        slack.set_status(MEMBER, if cycles % 2 == 0 { ":palm_tree:" } else { "" }).await;
        // Once the budget is spent the bot waits for it: that is the point, stop there.
        if !slack.wait_until(secs(15), |f| f.calls_to("users.profile.set").len() > before).await {
            break;
        }
        sigkill(&slack, &bot).await;
        bot.restart().await;
        ready(&slack, &bot).await;
        cycles += 1;
    }
    let writes = slack.calls_to("users.profile.set").len();
    eprintln!("crash loop: {cycles} kills, {writes} profile writes in {:?}", started.elapsed());
    let violations = slack.rate_limit_violations();
    assert!(violations.is_empty(), "{writes} writes in {cycles} crash cycles went over Slack's limit: {violations:?}\n{}", bot.logs());
}

/// Found reading the code for issue 7: the DM answer "Saved the photo" went out before the photo
/// was on disk (sled flushes every 500 ms), so a kill right after the answer could lose a photo the
/// member was told was saved. Now the save is flushed before the answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_photo_saved_by_dm_survives_a_kill_right_after_the_answer() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), config_toml: Some(CONFIG.into()), ..Default::default() });
    ready(&slack, &bot).await;
    let rounds = if long() { 10 } else { 3 };
    for (round, emoji) in
        ["palm_tree", "car", "coffee", "tada", "books", "pizza", "rocket", "cat", "dog", "sun_with_face"].iter().take(rounds).enumerate()
    {
        let before = slack.bot_texts(MEMBER).len();
        let file = slack.add_file(test_png(300, 200, emoji), "photo.png", "image/png");
        slack.dm(MEMBER, &format!(":{emoji}:"), vec![file]).await;
        let answered = slack.wait_until(secs(30), |f| f.bot_texts(MEMBER).len() > before).await;
        // Killed the moment the answer arrives.
        bot.signal(libc::SIGKILL);
        assert!(answered, "round {round}: no answer\n{}", bot.logs());
        let answer = slack.bot_texts(MEMBER)[before].clone();
        assert!(answer.contains("Saved the photo"), "round {round}: {answer}");
        assert!(slack.wait_until(secs(15), |f| f.open_sockets() == 0).await);
        bot.restart().await;
        ready(&slack, &bot).await;
        let list = command(&slack, &bot, "list").await;
        let line = list.lines().find(|l| l.contains(&format!(":{emoji}:"))).unwrap_or_default().to_string();
        assert!(line.contains("photo"), "round {round}: the photo for :{emoji}: was lost by the kill; list says {list:?}\n{}", bot.logs());
    }
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0.0);
    kb / 1024.0
}

/// Found by the load bench's maximum-rate step (issue 7): offered more envelopes than it could
/// handle, the bot read them all anyway and held one task per envelope, and its peak RSS rose to
/// 185 MB. Now a connection handles at most `MAX_IN_FLIGHT` at once and stops reading at the cap,
/// so a flood waits in the socket instead of in memory, and every envelope is still acked once.
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_envelopes_is_read_no_faster_than_it_is_handled() {
    let slack = FakeSlack::start().await;
    let bot = Bot::spawn(&slack, BotOptions { env: vec![("RUST_LOG".into(), "warn".into())], ..Default::default() });
    ready(&slack, &bot).await;
    let pid = bot.pid().expect("pid");
    let n = if long() { 200_000 } else { 60_000 };
    let mut ids = HashSet::new();
    for i in 0..n {
        let ev = json!({
            "type": "user_change",
            // A few hundred members, so what grows is what is in flight, not the avatar cache.
            "user": { "id": format!("UF{:03}", i % 500), "profile": { "display_name": "flood", "status_emoji": ":coffee:" } },
            "event_ts": format!("{}.{:06}", 1_700_000_000 + i / 1_000_000, i % 1_000_000)
        });
        ids.insert(slack.push_event(ev).await.0);
    }
    let all = slack.wait_until(secs(300), |f| f.acks().iter().filter(|a| ids.contains(&a.envelope_id)).count() >= n).await;
    let acked = slack.acks().iter().filter(|a| ids.contains(&a.envelope_id)).count();
    assert!(all, "{acked} of {n} acked\n{}", bot.logs());
    let peak = peak_rss_mb(pid);
    // Every delivery id is remembered for two hours (redeliveries must not be handled twice), and
    // sled keeps about 0.2 KB in memory per key whatever its cache size: alone, 60k tiny keys
    // take 17.5 MB and 200k take 46.6 MB (BENCHMARKS.md). That share grows with `n` by design
    // and levels off in tests/soak.rs; what must not grow is the rest. Without the in-flight cap
    // 60k envelopes peaked at 110 MB.
    let bound = 45.0 + n as f64 * 0.25 / 1024.0;
    eprintln!("{n} envelopes as fast as the fake sends: peak RSS {peak:.1} MB (bound {bound:.0} MB)");
    assert!(peak < bound, "peak RSS {peak:.1} MB under a flood of {n} envelopes (bound {bound:.0} MB)");
    assert!(!bot.logs().contains("panicked"), "{}", bot.logs());
}
