//! Status expiry (issue 13, acceptance (d) and (e)): a status with a `status_expiration` that
//! Slack clears without an event puts the member's own name back within 5 s of the expiration,
//! not before, also across a restart of the bot; an event whose status already expired swaps
//! nothing. The real binary against the fake Slack, whose expiring statuses clear silently.

mod common;
use common::*;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MEMBER: &str = "U1";
const EMOJI: &str = ":spiral_calendar_pad:";
const PRESET_NAME: &str = "In a meeting";

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The `Instant` at which the unix clock reaches `secs`.
fn instant_of(secs: u64) -> Instant {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Instant::now() + Duration::from_secs(secs).saturating_sub(now)
}

async fn sleep_until(at: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
}

fn shown_name(slack: &FakeSlack) -> String {
    slack.member_profile(MEMBER)["display_name"].as_str().unwrap_or_default().to_string()
}

/// A single-user bot for U1 "Ada", connected, with a name-only preset for [`EMOJI`].
async fn setup(slack: &FakeSlack, opts: BotOptions) -> Bot {
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::spawn(slack, BotOptions { user_token: Some(token), ..opts });
    ready(slack, &bot).await;
    let reply = slash_reply(slack, &bot, MEMBER, &format!("add {EMOJI} {PRESET_NAME}")).await;
    assert!(reply.contains("Saved"), "unexpected reply {reply:?}");
    bot
}

/// Sets the status to expire `secs_ahead` from now (with its `user_change`) and waits for the
/// swap, which must land before the expiration. Returns the expiration (unix seconds).
async fn swap_with_expiry(slack: &FakeSlack, bot: &Bot, secs_ahead: u64) -> u64 {
    let expiration = unix_secs() + secs_ahead;
    slack.set_expiring_status(MEMBER, EMOJI, "Weekly sync", expiration).await;
    let swapped = slack.wait_until(secs(10), |s| shown_name(s) == PRESET_NAME).await;
    assert!(swapped, "never swapped: {}\n{}", slack.member_profile(MEMBER), bot.logs());
    assert!(unix_secs() < expiration, "the swap took until the expiration: the test cannot tell early from on time");
    expiration
}

/// Asserts nothing restored the name before `expiration`, then that it comes back by `deadline`.
async fn assert_restored_after(slack: &FakeSlack, logs: impl Fn() -> String, expiration: u64, deadline: Instant) {
    let early = instant_of(expiration) - millis(300);
    if Instant::now() < early {
        sleep_until(early).await;
        assert_eq!(shown_name(slack), PRESET_NAME, "restored before the expiration\n{}", logs());
        assert_eq!(slack.count_calls("users.profile.set"), 1, "a profile write before the expiration\n{}", logs());
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let restored = slack.wait_until(left, |s| shown_name(s) == "Ada").await;
    assert!(restored, "not restored within 5 s of the expiration: {}\n{}", slack.member_profile(MEMBER), logs());
    let sets = slack.calls_to("users.profile.set");
    let restore = sets.last().expect("the restore's users.profile.set");
    assert!(restore.at >= instant_of(expiration) - millis(200), "the restore was written before the expiration");
    assert_eq!(sets.len(), 2, "one swap and one restore\n{}", logs());
}

/// The user_change events the fake sent after `since` that show no status (an expiry announced).
fn events_without_status(slack: &FakeSlack, since: Instant) -> usize {
    slack
        .envelopes()
        .iter()
        .filter(|e| e.at > since && e.payload["event"]["type"] == "user_change")
        .filter(|e| e.payload["event"]["user"]["profile"]["status_emoji"] == "")
        .filter(|e| e.payload["event"]["user"]["profile"]["display_name"] == PRESET_NAME)
        .count()
}

async fn metric(port: u16, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.ok()?.text().await.ok()?;
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiring_status_puts_the_name_back_at_expiry_without_an_event() {
    let slack = FakeSlack::start().await;
    let port = free_port();
    let toml = format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    let bot = setup(&slack, BotOptions { config_toml: Some(toml), ..Default::default() }).await;
    let since = Instant::now();
    let expiration = swap_with_expiry(&slack, &bot, 4).await;

    // `status` says when the status expires (UTC, HH:MM) and what happens then.
    let minute = (expiration / 60) % 1440;
    let status = slash_reply(&slack, &bot, MEMBER, "status").await;
    let want = format!("{EMOJI} status expires at {:02}:{:02} UTC; I'll put your own name and photo back then", minute / 60, minute % 60);
    assert!(status.contains(&want), "status reply {status:?} lacks {want:?}");

    assert_restored_after(&slack, || bot.logs(), expiration, instant_of(expiration) + secs(5)).await;
    assert_eq!(events_without_status(&slack, since), 0, "the fake announced the expiry: the test proves nothing");
    assert_eq!(slack.member_profile(MEMBER)["status_emoji"], "", "the fake cleared the status");
    assert_eq!(metric(port, "statusinator_expiries_total").await, Some(1.0), "{}", bot.logs());

    // Once handled, the timer is gone: `status` no longer mentions it and nothing more is read.
    let status = slash_reply(&slack, &bot, MEMBER, "status").await;
    assert!(!status.contains("expires"), "{status:?}");
    let reads = slack.count_calls("users.profile.get");
    tokio::time::sleep(secs(2)).await;
    assert_eq!(slack.count_calls("users.profile.get"), reads, "the bot keeps polling\n{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_expiry_timer_survives_a_restart_before_the_expiration() {
    let slack = FakeSlack::start().await;
    let mut bot = setup(&slack, BotOptions::default()).await;
    let expiration = swap_with_expiry(&slack, &bot, 4).await;
    // Stop before the expiration, start again at once: the new process only has the store.
    bot.restart().await;
    let deadline = instant_of(expiration).max(Instant::now()) + secs(5);
    assert_restored_after(&slack, || bot.logs(), expiration, deadline).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiry_missed_while_stopped_is_handled_right_after_start_up() {
    let slack = FakeSlack::start().await;
    let mut bot = setup(&slack, BotOptions::default()).await;
    let expiration = swap_with_expiry(&slack, &bot, 3).await;
    assert!(bot.shutdown(secs(15)).await.is_some(), "the bot did not stop\n{}", bot.logs());
    sleep_until(instant_of(expiration) + millis(1500)).await;
    assert_eq!(slack.member_profile(MEMBER)["status_emoji"], "", "the fake cleared the status while the bot was away");
    assert_eq!(shown_name(&slack), PRESET_NAME);

    // A second process on the same database (the first one's directory stays).
    let token = slack.member_token(MEMBER).expect("token");
    let env = vec![("STATUSINATOR_DB".to_string(), bot.db_path().display().to_string())];
    let started = Instant::now();
    let again = Bot::spawn(&slack, BotOptions { user_token: Some(token), env, ..Default::default() });
    let restored = slack.wait_until(secs(5), |s| shown_name(s) == "Ada").await;
    assert!(restored, "not restored within 5 s of starting: {}\n{}", slack.member_profile(MEMBER), again.logs());
    assert!(again.logs().contains("status expiry handled"), "restored by something else than the timer\n{}", again.logs());
    assert!(started.elapsed() < secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_whose_status_already_expired_swaps_nothing() {
    let slack = FakeSlack::start().await;
    let bot = setup(&slack, BotOptions::default()).await;
    // A late event: it still shows the status, whose expiration passed a minute ago.
    let (env, _) = slack.set_expiring_status(MEMBER, EMOJI, "Weekly sync", unix_secs() - 60).await;
    let sent = slack.envelopes().into_iter().find(|e| e.envelope_id == env).expect("the event");
    assert_eq!(sent.payload["event"]["user"]["profile"]["status_emoji"], EMOJI, "the event shows the expired status");
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "no ack\n{}", bot.logs());
    tokio::time::sleep(secs(2)).await;
    assert_eq!(slack.count_calls("users.profile.set"), 0, "swapped for an expired status\n{}", bot.logs());
    assert_eq!(shown_name(&slack), "Ada");
    let status = slash_reply(&slack, &bot, MEMBER, "status").await;
    assert!(!status.contains("expires"), "a timer for an expired status: {status:?}");

    // The same status with an expiration still ahead does swap (the preset works).
    slack.set_expiring_status(MEMBER, EMOJI, "Weekly sync", unix_secs() + 600).await;
    let swapped = slack.wait_until(secs(10), |s| shown_name(s) == PRESET_NAME).await;
    assert!(swapped, "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_changed_before_its_expiration_cancels_the_timer() {
    let slack = FakeSlack::start().await;
    let bot = setup(&slack, BotOptions::default()).await;
    let expiration = swap_with_expiry(&slack, &bot, 3).await;
    // The Home tab says it too (published after the swap).
    let shows_expiry = |s: &FakeSlack| s.home_view(MEMBER).is_some_and(|v| collect_text(&v).contains("status expires at"));
    assert!(slack.wait_until(secs(5), shows_expiry).await, "Home: {:?}\n{}", slack.home_view(MEMBER), bot.logs());
    // The member makes the same status permanent (no expiration) before it runs out.
    let (env, _) = slack.set_expiring_status(MEMBER, EMOJI, "Weekly sync", 0).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "no ack\n{}", bot.logs());
    let status = slash_reply(&slack, &bot, MEMBER, "status").await;
    assert!(!status.contains("expires"), "the timer is still pending: {status:?}");
    let (home, _) = slack.app_home_opened(MEMBER).await;
    assert!(slack.wait_for_ack(&home, secs(10)).await.is_some());
    let republished = slack.wait_until(secs(5), |s| s.home_view(MEMBER).is_some_and(|v| !collect_text(&v).contains("expires"))).await;
    assert!(republished, "Home still shows the expiry: {:?}", slack.home_view(MEMBER));
    let reads = slack.count_calls("users.profile.get");
    sleep_until(instant_of(expiration) + secs(3)).await;
    assert_eq!(shown_name(&slack), PRESET_NAME, "restored although the status stays\n{}", bot.logs());
    assert_eq!(slack.count_calls("users.profile.get"), reads, "a re-read for a cancelled timer\n{}", bot.logs());
}

/// Regression: a preset added while its expiring status already shows (the status came first,
/// so no timer was armed by the event) is put back at the expiration too.
#[tokio::test(flavor = "multi_thread")]
async fn a_preset_added_while_an_expiring_status_shows_is_put_back_at_expiry() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), ..Default::default() });
    ready(&slack, &bot).await;
    // An unrelated preset first, so the bot follows the member's events (the status is recorded).
    let reply = slash_reply(&slack, &bot, MEMBER, "add :palm_tree: On holiday").await;
    assert!(reply.contains("Saved"), "unexpected reply {reply:?}");
    let expiration = unix_secs() + 5;
    let (env, _) = slack.set_expiring_status(MEMBER, EMOJI, "Weekly sync", expiration).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "no ack\n{}", bot.logs());
    let reply = slash_reply(&slack, &bot, MEMBER, &format!("add {EMOJI} {PRESET_NAME}")).await;
    assert!(reply.contains("Saved"), "unexpected reply {reply:?}");
    let swapped = slack.wait_until(secs(4), |s| shown_name(s) == PRESET_NAME).await;
    assert!(swapped, "the new preset was not applied: {}\n{}", slack.member_profile(MEMBER), bot.logs());
    assert!(unix_secs() < expiration, "the swap took until the expiration: the test cannot tell early from on time");
    assert_restored_after(&slack, || bot.logs(), expiration, instant_of(expiration) + secs(5)).await;
}
