//! Status-driven swaps end to end: the real binary against the fake Slack.
//!
//! The acceptance list of issue 3: one swap (name and photo, centre crop,
//! configured size) and an exact restore; flapping coalesced under Slack's
//! budgets; stale and duplicate events ignored; our own echoes ignored;
//! rate limits honoured and permanent failures dead-lettered with one DM;
//! acknowledged work surviving SIGKILL; bad images refused by DM; removing
//! the active preset; hand-made changes left alone; import/export.

mod common;
use common::*;

use std::time::Duration;

use serde_json::{json, Value};

const MEMBER: &str = "U1";

async fn ready(slack: &FakeSlack, bot: &Bot) {
    assert!(bot.connected(slack, secs(20)).await, "bot never connected:\n{}", bot.logs());
}

/// Runs a slash command and returns the text of its ack.
async fn command(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) -> String {
    let env = slack.slash_command(user, text).await;
    let ack = slack.wait_for_ack(&env, secs(10)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_default()
}

async fn add_preset(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) {
    let reply = command(slack, bot, user, text).await;
    assert!(reply.contains("Saved"), "unexpected reply {reply:?}");
}

/// Sends `bytes` by DM with `text` and returns the bot's reply to it.
async fn dm_file(slack: &FakeSlack, bot: &Bot, user: &str, text: &str, bytes: Vec<u8>, name: &str, mime: &str) -> String {
    let before = slack.bot_texts(user).len();
    let file = slack.add_file(bytes, name, mime);
    slack.dm(user, text, vec![file]).await;
    let got = slack.wait_until(secs(20), |s| s.bot_texts(user).len() > before).await;
    assert!(got, "no reply to the photo {name}:\n{}", bot.logs());
    slack.bot_texts(user)[before].clone()
}

async fn set_photo_by_dm(slack: &FakeSlack, bot: &Bot, user: &str, emoji: &str, bytes: Vec<u8>) {
    let reply = dm_file(slack, bot, user, emoji, bytes, "photo.png", "image/png").await;
    assert!(reply.contains("Saved the photo"), "photo not saved: {reply:?}\n{}", bot.logs());
}

/// A member U1 "Ada", a bot in single-user mode for them, and a :palm_tree:
/// preset "On vacation" with the photo `test_png(900, 600, "beach")`.
async fn setup_with(slack: &FakeSlack, opts: BotOptions) -> (Bot, String) {
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::spawn(slack, BotOptions { user_token: Some(token.clone()), ..opts });
    ready(slack, &bot).await;
    add_preset(slack, &bot, MEMBER, "add :palm_tree: On vacation").await;
    set_photo_by_dm(slack, &bot, MEMBER, ":palm_tree:", test_png(900, 600, "beach")).await;
    (bot, token)
}

async fn setup(slack: &FakeSlack) -> (Bot, String) {
    setup_with(slack, BotOptions::default()).await
}

/// Waits for the swap to "On vacation" with the beach photo.
async fn wait_swapped(slack: &FakeSlack, bot: &Bot) {
    let ok = slack
        .wait_until(secs(20), |s| {
            s.member_profile(MEMBER)["display_name"] == "On vacation" && looks_like_seed(&s.avatar_bytes(MEMBER), "beach")
        })
        .await;
    assert!(ok, "never swapped to the preset: {}\n{}", slack.member_profile(MEMBER), bot.logs());
}

/// Waits for the member's own name and photo to be back.
async fn wait_restored(slack: &FakeSlack, bot: &Bot, original_photo: &[u8]) {
    let ok =
        slack.wait_until(secs(20), |s| s.member_profile(MEMBER)["display_name"] == "Ada" && s.avatar_bytes(MEMBER) == original_photo).await;
    assert!(ok, "never restored: {}\n{}", slack.member_profile(MEMBER), bot.logs());
}

fn count(slack: &FakeSlack, method: &str) -> usize {
    slack.calls_to(method).len()
}

/// Calls made with the member's own token (every profile write, and any profile read).
fn member_calls(slack: &FakeSlack, token: &str) -> Vec<String> {
    slack.calls().into_iter().filter(|c| c.token.as_deref() == Some(token)).map(|c| c.method).collect()
}

/// Asserts that `bytes` is the centre square of `test_png(900, 600, seed)` (not squashed,
/// not shifted): its centre block spans x 1/4..3/4 and y 1/3..2/3 of the crop.
fn assert_centre_crop(bytes: &[u8], seed: &str) {
    let (border, centre) = seed_colors(seed);
    for (fx, fy, want, what) in [
        (0.02, 0.02, border, "corner"),
        (0.5, 0.5, centre, "middle"),
        (0.28, 0.5, centre, "left part of the centre block"),
        (0.72, 0.5, centre, "right part of the centre block"),
        (0.20, 0.5, border, "left of the centre block"),
        (0.80, 0.5, border, "right of the centre block"),
        (0.5, 0.37, centre, "top part of the centre block"),
        (0.5, 0.28, border, "above the centre block"),
        (0.5, 0.72, border, "below the centre block"),
    ] {
        let got = pixel_at(bytes, fx, fy).expect("decodes");
        assert!(color_close(got, want, 16), "{what} at ({fx}, {fy}): got {got:?}, want {want:?}");
    }
}

fn events_acked(slack: &FakeSlack, envelopes: &[String]) -> bool {
    envelopes.iter().all(|e| slack.ack_for(e).is_some())
}

// ---------------------------------------------------------------------------------------------
// 1. One swap, one restore
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn status_with_a_preset_swaps_name_and_photo_then_clearing_restores_them() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let original_photo = slack.avatar_bytes("U1");
    let bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;

    add_preset(&slack, &bot, "U1", "add :palm_tree: On vacation").await;
    let source = test_png(900, 600, "beach");
    set_photo_by_dm(&slack, &bot, "U1", ":palm_tree:", source.clone()).await;

    slack.set_status("U1", ":palm_tree:").await;
    let sets = slack.wait_for_calls("users.profile.set", 1, secs(10)).await;
    let photos = slack.wait_for_calls("users.setPhoto", 1, secs(10)).await;
    assert_eq!(sets.len(), 1, "{}", bot.logs());
    assert_eq!(photos.len(), 1, "{}", bot.logs());
    assert_eq!(sets[0].token.as_deref(), Some(token.as_str()));
    assert_eq!(slack.member_profile("U1")["display_name"], "On vacation");
    let uploaded = photos[0].file("image").expect("multipart image").to_vec();
    assert_eq!(image_dims(&uploaded), Some((512, 512)));
    assert!(looks_like_seed(&uploaded, "beach"), "uploaded photo is not the preset's crop");
    assert_centre_crop(&uploaded, "beach");

    // The echoes of our own writes cause nothing more.
    tokio::time::sleep(secs(2)).await;
    assert_eq!(slack.calls_to("users.profile.set").len(), 1, "{}", bot.logs());
    assert_eq!(slack.calls_to("users.setPhoto").len(), 1, "{}", bot.logs());

    slack.set_status("U1", "").await;
    let sets = slack.wait_for_calls("users.profile.set", 2, secs(15)).await;
    let photos = slack.wait_for_calls("users.setPhoto", 2, secs(15)).await;
    assert_eq!(sets.len(), 2, "{}", bot.logs());
    assert_eq!(photos.len(), 2, "{}", bot.logs());
    assert_eq!(slack.member_profile("U1")["display_name"], "Ada");
    let restored = photos[1].file("image").expect("multipart image").to_vec();
    assert_eq!(restored, original_photo, "the baseline photo comes back byte for byte");
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_image_size_1024_is_what_gets_uploaded() {
    let slack = FakeSlack::start().await;
    let opts = BotOptions { config_toml: Some("[images]\nsize = 1024\n".into()), ..Default::default() };
    let (bot, _) = setup_with(&slack, opts).await;

    slack.set_status(MEMBER, ":palm_tree:").await;
    let photos = slack.wait_for_calls("users.setPhoto", 1, secs(20)).await;
    assert_eq!(photos.len(), 1, "{}", bot.logs());
    let uploaded = photos[0].file("image").expect("multipart image").to_vec();
    assert_eq!(image_dims(&uploaded), Some((1024, 1024)), "{}", bot.logs());
    assert_centre_crop(&uploaded, "beach");
    wait_swapped(&slack, &bot).await;
}

// ---------------------------------------------------------------------------------------------
// 2. Flapping
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn flapping_status_costs_at_most_two_writes_of_each_kind() {
    let slack = FakeSlack::start().await;
    let (bot, _) = setup(&slack).await;

    // 20 changes in 10 s: no emoji / an emoji without a preset / the preset, ending on the preset.
    let others = ["", ":car:", ""];
    let mut envelopes = Vec::new();
    for i in 0..20 {
        let emoji = if i % 2 == 1 { ":palm_tree:" } else { others[(i / 2) % others.len()] };
        let (env, _) = slack.set_status(MEMBER, emoji).await;
        envelopes.push(env);
        tokio::time::sleep(millis(500)).await;
    }
    assert!(slack.wait_until(secs(10), |s| events_acked(s, &envelopes)).await, "{}", bot.logs());
    wait_swapped(&slack, &bot).await;
    // Give a straggling write every chance to show up.
    tokio::time::sleep(secs(6)).await;

    let sets = count(&slack, "users.profile.set");
    let photos = count(&slack, "users.setPhoto");
    assert!((1..=2).contains(&sets), "{sets} users.profile.set\n{}", bot.logs());
    assert!((1..=2).contains(&photos), "{photos} users.setPhoto\n{}", bot.logs());
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "On vacation");
    assert!(looks_like_seed(&slack.avatar_bytes(MEMBER), "beach"));
    assert!(slack.rate_limit_violations().is_empty(), "{:?}", slack.rate_limit_violations());
}

/// Flapping for longer than the 10 s after a write: still only the first and the last state.
#[tokio::test(flavor = "multi_thread")]
async fn long_flapping_is_still_coalesced_into_the_last_state() {
    let slack = FakeSlack::start().await;
    let (bot, _) = setup(&slack).await;

    let mut envelopes = Vec::new();
    for i in 0..32 {
        let emoji = if i % 2 == 1 { ":palm_tree:" } else { "" };
        let (env, _) = slack.set_status(MEMBER, emoji).await;
        envelopes.push(env);
        tokio::time::sleep(millis(500)).await;
    }
    assert!(slack.wait_until(secs(10), |s| events_acked(s, &envelopes)).await, "{}", bot.logs());
    wait_swapped(&slack, &bot).await;
    tokio::time::sleep(secs(6)).await;

    let sets = count(&slack, "users.profile.set");
    let photos = count(&slack, "users.setPhoto");
    assert!((1..=2).contains(&sets), "{sets} users.profile.set\n{}", bot.logs());
    assert!((1..=2).contains(&photos), "{photos} users.setPhoto\n{}", bot.logs());
    assert!(slack.rate_limit_violations().is_empty(), "{:?}", slack.rate_limit_violations());
}

// ---------------------------------------------------------------------------------------------
// 3. Out-of-order and duplicate events
// ---------------------------------------------------------------------------------------------

/// A `user_change` for the member as the fake shows them now, with `status` and `event_ts`.
fn user_change(slack: &FakeSlack, status: &str, event_ts: &str) -> Value {
    let mut ev = slack.user_change_event(MEMBER);
    ev["user"]["profile"]["status_emoji"] = json!(status);
    ev["event_ts"] = json!(event_ts);
    ev
}

fn ts_minus(ts: &str, d: Duration) -> String {
    let (s, f) = ts.split_once('.').expect("secs.micros");
    let micros: u128 = s.parse::<u128>().unwrap() * 1_000_000 + f.parse::<u128>().unwrap() - d.as_micros();
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

#[tokio::test(flavor = "multi_thread")]
async fn older_and_duplicate_events_never_bring_back_a_stale_state() {
    let slack = FakeSlack::start().await;
    let (bot, _) = setup(&slack).await;
    let original_photo = slack.avatar_bytes(MEMBER);

    // The member sets :palm_tree: (the fake shows it), and Slack delivers that event first...
    slack.update_profile(MEMBER, json!({"status_emoji": ":palm_tree:"}));
    let newer = slack.user_change_event(MEMBER);
    let newer_ts = newer["event_ts"].as_str().unwrap().to_string();
    let (newer_env, newer_id) = slack.push_event(newer).await;
    assert!(slack.wait_for_ack(&newer_env, secs(10)).await.is_some(), "{}", bot.logs());
    // ...and an older one (status still empty) late.
    let (older_env, _) = slack.push_event(user_change(&slack, "", &ts_minus(&newer_ts, secs(1)))).await;
    assert!(slack.wait_for_ack(&older_env, secs(10)).await.is_some(), "{}", bot.logs());
    wait_swapped(&slack, &bot).await;
    tokio::time::sleep(secs(5)).await;
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "On vacation", "{}", bot.logs());
    assert_eq!(count(&slack, "users.profile.set"), 1, "{}", bot.logs());
    assert_eq!(count(&slack, "users.setPhoto"), 1, "{}", bot.logs());

    // Once more after the swap, with nothing pending: a late event older than everything seen.
    let (older_env, _) = slack.push_event(user_change(&slack, "", &ts_minus(&newer_ts, millis(1)))).await;
    assert!(slack.wait_for_ack(&older_env, secs(10)).await.is_some(), "{}", bot.logs());
    tokio::time::sleep(secs(5)).await;
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "On vacation", "{}", bot.logs());
    assert_eq!((count(&slack, "users.profile.set"), count(&slack, "users.setPhoto")), (1, 1), "{}", bot.logs());

    // Clearing restores; then the :palm_tree: event is redelivered (same event_id).
    slack.set_status(MEMBER, "").await;
    wait_restored(&slack, &bot, &original_photo).await;
    let (sets, photos) = (count(&slack, "users.profile.set"), count(&slack, "users.setPhoto"));
    assert_eq!((sets, photos), (2, 2), "{}", bot.logs());
    let again = slack.redeliver(&newer_id, 1).await.expect("redelivered");
    assert!(slack.wait_for_ack(&again, secs(10)).await.is_some(), "{}", bot.logs());
    tokio::time::sleep(secs(5)).await;
    assert_eq!((count(&slack, "users.profile.set"), count(&slack, "users.setPhoto")), (2, 2), "{}", bot.logs());
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "Ada");
    assert_eq!(slack.avatar_bytes(MEMBER), original_photo);
}

/// `restore` puts the member's own profile back while the status stays :palm_tree:; neither
/// the echoes of that restore nor a redelivery of the :palm_tree: event swap it away again.
#[tokio::test(flavor = "multi_thread")]
async fn restore_stays_put_and_a_redelivered_event_changes_nothing() {
    let slack = FakeSlack::start().await;
    let (bot, _) = setup(&slack).await;
    let original_photo = slack.avatar_bytes(MEMBER);

    let (_, event_id) = slack.set_status(MEMBER, ":palm_tree:").await;
    wait_swapped(&slack, &bot).await;
    let reply = command(&slack, &bot, MEMBER, "restore").await;
    assert!(reply.contains("back"), "{reply}");
    wait_restored(&slack, &bot, &original_photo).await;
    tokio::time::sleep(secs(4)).await;
    let before = (count(&slack, "users.profile.set"), count(&slack, "users.setPhoto"));
    assert_eq!(before, (2, 2), "restore stays put while the status is unchanged\n{}", bot.logs());

    let again = slack.redeliver(&event_id, 1).await.expect("redelivered");
    assert!(slack.wait_for_ack(&again, secs(10)).await.is_some(), "{}", bot.logs());
    tokio::time::sleep(secs(5)).await;
    assert_eq!((count(&slack, "users.profile.set"), count(&slack, "users.setPhoto")), before, "{}", bot.logs());
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "Ada");
}

// ---------------------------------------------------------------------------------------------
// 4. Our own writes echoed back
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn our_own_writes_echoed_back_cause_no_more_calls() {
    let slack = FakeSlack::start().await;
    let (bot, token) = setup(&slack).await;

    let envelopes_before = slack.envelopes().len();
    slack.set_status(MEMBER, ":palm_tree:").await;
    wait_swapped(&slack, &bot).await;
    // Both writes were echoed as user_change events, and all of them were acked.
    let echoed = slack
        .wait_until(secs(10), |s| {
            let evs: Vec<_> = s.envelopes().into_iter().skip(envelopes_before).collect();
            evs.len() >= 3 && evs.iter().all(|e| s.ack_for(&e.envelope_id).is_some())
        })
        .await;
    assert!(echoed, "{}", bot.logs());
    tokio::time::sleep(secs(5)).await;

    let calls = member_calls(&slack, &token);
    let writes: Vec<_> = calls.iter().filter(|m| *m == "users.profile.set" || *m == "users.setPhoto").collect();
    assert_eq!(writes.len(), 2, "{calls:?}\n{}", bot.logs());
    let status = command(&slack, &bot, MEMBER, "status").await;
    assert!(status.contains("Pending: nothing"), "{status}");
    assert!(status.contains(":palm_tree:"), "{status}");
}

// ---------------------------------------------------------------------------------------------
// 5. Rate limits and permanent failures
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_honoured_then_the_swap_succeeds() {
    let slack = FakeSlack::start().await;
    let (bot, _) = setup(&slack).await;

    slack.fail_next("users.profile.set", Fault::Http429 { retry_after: 2 });
    slack.fail_next("users.setPhoto", Fault::SlackError("ratelimited".into()));
    slack.set_status(MEMBER, ":palm_tree:").await;

    let sets = slack.wait_for_calls("users.profile.set", 2, secs(30)).await;
    assert_eq!(sets.len(), 2, "{}", bot.logs());
    let waited = sets[1].at.duration_since(sets[0].at);
    assert!(waited >= secs(2), "profile.set retried after {waited:?}, Retry-After was 2 s");

    let photos = slack.wait_for_calls("users.setPhoto", 2, secs(30)).await;
    assert_eq!(photos.len(), 2, "{}", bot.logs());
    let waited = photos[1].at.duration_since(photos[0].at);
    assert!(waited >= secs(2), "setPhoto retried after {waited:?}");

    wait_swapped(&slack, &bot).await;
    tokio::time::sleep(secs(3)).await;
    assert_eq!(count(&slack, "users.profile.set"), 2, "{}", bot.logs());
    assert_eq!(count(&slack, "users.setPhoto"), 2, "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_auth_dead_letters_the_job_and_tells_the_member_once() {
    let slack = FakeSlack::start().await;
    let (mut bot, _) = setup(&slack).await;
    slack.set_echo_bot_messages(false);
    let texts_before = slack.bot_texts(MEMBER).len();

    slack.fail_next("users.profile.set", Fault::SlackError("invalid_auth".into()));
    slack.set_status(MEMBER, ":palm_tree:").await;
    let dm = slack.wait_for_bot_text(MEMBER, "couldn't change your profile", secs(20)).await;
    let dm = dm.unwrap_or_else(|| panic!("no DM: {:?}\n{}", slack.bot_texts(MEMBER), bot.logs()));
    assert!(dm.contains("invalid_auth"), "{dm}");

    // More status changes do not start a retry storm, nor more DMs.
    tokio::time::sleep(secs(3)).await;
    slack.set_status(MEMBER, "").await;
    tokio::time::sleep(secs(1)).await;
    slack.set_status(MEMBER, ":palm_tree:").await;
    tokio::time::sleep(secs(6)).await;
    let sets = count(&slack, "users.profile.set");
    assert!(sets <= 2, "{sets} users.profile.set after invalid_auth\n{}", bot.logs());
    assert_eq!(count(&slack, "users.setPhoto"), 0, "{}", bot.logs());
    let dms: Vec<_> = slack.bot_texts(MEMBER).into_iter().skip(texts_before).collect();
    assert_eq!(dms.len(), 1, "{dms:?}");

    let status = command(&slack, &bot, MEMBER, "status").await;
    assert!(status.contains("Last failure: invalid_auth"), "{status}");

    assert!(bot.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", bot.logs());
    let (st, out, err) = run_command(&bot, &["db", "stats"]);
    assert!(st.success(), "{out}\n{err}");
    assert!(out.contains("dead letters: 1"), "{out}");
    assert!(out.contains("invalid_auth"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// 6. SIGKILL between the ack and the calls
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_work_survives_sigkill() {
    let slack = FakeSlack::start().await;
    let (mut bot, _) = setup(&slack).await;
    let original_photo = slack.avatar_bytes(MEMBER);

    slack.set_status(MEMBER, ":palm_tree:").await;
    wait_swapped(&slack, &bot).await;
    let writes = (count(&slack, "users.profile.set"), count(&slack, "users.setPhoto"));
    assert_eq!(writes, (1, 1), "{}", bot.logs());

    // Within the settle window after a write the restore is held back: kill right after the ack.
    let (env, _) = slack.set_status(MEMBER, "").await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "{}", bot.logs());
    bot.kill();
    tokio::time::sleep(secs(3)).await;
    assert_eq!((count(&slack, "users.profile.set"), count(&slack, "users.setPhoto")), writes, "the kill came too late");
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "On vacation");

    bot.restart().await;
    assert!(slack.wait_for_connections_opened(2, secs(20)).await, "{}", bot.logs());
    wait_restored(&slack, &bot, &original_photo).await;

    // Presets and the baseline are intact: the swap and the restore work again.
    let list = command(&slack, &bot, MEMBER, "list").await;
    assert!(list.contains("On vacation") && list.contains("(with photo)"), "{list}");
    slack.set_status(MEMBER, ":palm_tree:").await;
    wait_swapped(&slack, &bot).await;
    tokio::time::sleep(secs(3)).await;
    slack.set_status(MEMBER, "").await;
    wait_restored(&slack, &bot, &original_photo).await;
}

// ---------------------------------------------------------------------------------------------
// 7. Bad images by DM
// ---------------------------------------------------------------------------------------------

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A real small PNG whose IHDR claims 20000×20000 (with a correct CRC).
fn png_bomb() -> Vec<u8> {
    let mut png = test_png(16, 16, "bomb");
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&20000u32.to_be_bytes());
    png[20..24].copy_from_slice(&20000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// Two frames: solid `first`, then solid `second`.
fn animated_gif(first: [u8; 3], second: [u8; 3]) -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        enc.set_repeat(Repeat::Infinite).unwrap();
        let frames = [first, second].map(|[r, g, b]| image::Frame::new(image::RgbaImage::from_pixel(120, 80, image::Rgba([r, g, b, 255]))));
        enc.encode_frames(frames).unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_images_by_dm_are_refused_and_nothing_is_stored() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;
    add_preset(&slack, &bot, MEMBER, "add :palm_tree: On vacation").await;

    let jpeg = test_jpeg(600, 400, "cut");
    let mut twelve_mb = test_png(64, 64, "big");
    twelve_mb.resize(12 * 1024 * 1024, 0);
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("notes.png", b"just some notes, not a picture\n".repeat(30), "image/png", "not an image"),
        ("cut.jpg", jpeg[..jpeg.len() / 2].to_vec(), "image/jpeg", "damaged or incomplete"),
        ("bomb.png", png_bomb(), "image/png", "20000×20000"),
        ("huge.png", twelve_mb, "image/png", "12.0 MB"),
    ];
    for (name, bytes, mime, want) in cases {
        let reply = dm_file(&slack, &bot, MEMBER, ":palm_tree:", bytes, name, mime).await;
        assert!(reply.contains(want), "{name}: {reply:?}");
        assert!(!reply.contains("Saved"), "{name}: {reply:?}");
        let list = command(&slack, &bot, MEMBER, "list").await;
        assert!(list.contains("On vacation") && !list.contains("(with photo)"), "{name}: {list}");
    }

    assert!(bot.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", bot.logs());
    let (st, out, err) = run_command(&bot, &["db", "stats"]);
    assert!(st.success(), "{out}\n{err}");
    let photos = out.lines().find(|l| l.trim_start().starts_with("photos ")).unwrap_or_default().to_string();
    assert_eq!(photos.split_whitespace().collect::<Vec<_>>(), ["photos", "0"], "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_animated_gif_is_accepted_using_its_first_frame() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;
    add_preset(&slack, &bot, MEMBER, "add :palm_tree: On vacation").await;

    let (red, blue) = ([220, 30, 30], [30, 30, 220]);
    let reply = dm_file(&slack, &bot, MEMBER, ":palm_tree:", animated_gif(red, blue), "wave.gif", "image/gif").await;
    assert!(reply.contains("Saved the photo"), "{reply:?}\n{}", bot.logs());
    let list = command(&slack, &bot, MEMBER, "list").await;
    assert!(list.contains("(with photo)"), "{list}");

    slack.set_status(MEMBER, ":palm_tree:").await;
    let photos = slack.wait_for_calls("users.setPhoto", 1, secs(20)).await;
    assert_eq!(photos.len(), 1, "{}", bot.logs());
    let uploaded = photos[0].file("image").expect("multipart image").to_vec();
    assert_eq!(image_dims(&uploaded), Some((512, 512)));
    for (fx, fy) in [(0.05, 0.05), (0.5, 0.5), (0.95, 0.95)] {
        let got = pixel_at(&uploaded, fx, fy).unwrap();
        assert!(color_close(got, red, 20), "({fx}, {fy}) is {got:?}: not the first frame");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Removing the active preset; hand-made changes
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn removing_the_active_preset_restores_the_baseline() {
    let slack = FakeSlack::start().await;
    let (bot, _) = setup(&slack).await;
    let original_photo = slack.avatar_bytes(MEMBER);

    slack.set_status(MEMBER, ":palm_tree:").await;
    wait_swapped(&slack, &bot).await;
    let reply = command(&slack, &bot, MEMBER, "remove :palm_tree:").await;
    assert!(reply.contains("Removed"), "{reply}");
    wait_restored(&slack, &bot, &original_photo).await;
    tokio::time::sleep(secs(4)).await;
    assert_eq!((count(&slack, "users.profile.set"), count(&slack, "users.setPhoto")), (2, 2), "{}", bot.logs());
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "Ada");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_changed_by_hand_while_a_preset_shows_is_kept_at_restore() {
    let slack = FakeSlack::start().await;
    let (bot, _) = setup(&slack).await;
    let original_photo = slack.avatar_bytes(MEMBER);

    slack.set_status(MEMBER, ":palm_tree:").await;
    wait_swapped(&slack, &bot).await;
    tokio::time::sleep(secs(3)).await;

    // The member renames themselves by hand; Slack tells the bot.
    slack.update_profile(MEMBER, json!({"display_name": "Ada the Great"}));
    let (env, _) = slack.push_event(slack.user_change_event(MEMBER)).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "{}", bot.logs());
    tokio::time::sleep(secs(1)).await;

    slack.set_status(MEMBER, "").await;
    // The photo comes back; the name the member chose stays.
    let photos = slack.wait_for_calls("users.setPhoto", 2, secs(20)).await;
    assert_eq!(photos.len(), 2, "{}", bot.logs());
    assert!(slack.wait_until(secs(10), |s| s.avatar_bytes(MEMBER) == original_photo).await);
    tokio::time::sleep(secs(4)).await;
    let sets = slack.calls_to("users.profile.set");
    assert_eq!(
        sets.len(),
        1,
        "the hand-made name was overwritten: {:?}\n{}",
        sets.iter().map(|c| c.params.clone()).collect::<Vec<_>>(),
        bot.logs()
    );
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "Ada the Great");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_changed_by_hand_while_a_preset_shows_is_kept_at_restore() {
    let slack = FakeSlack::start().await;
    let (bot, _) = setup(&slack).await;

    slack.set_status(MEMBER, ":palm_tree:").await;
    wait_swapped(&slack, &bot).await;
    tokio::time::sleep(secs(3)).await;

    let own = test_png(300, 300, "selfie");
    slack.set_avatar(MEMBER, own.clone());
    let (env, _) = slack.push_event(slack.user_change_event(MEMBER)).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "{}", bot.logs());
    tokio::time::sleep(secs(1)).await;

    slack.set_status(MEMBER, "").await;
    let sets = slack.wait_for_calls("users.profile.set", 2, secs(20)).await;
    assert_eq!(sets.len(), 2, "{}", bot.logs());
    assert!(slack.wait_until(secs(10), |s| s.member_profile(MEMBER)["display_name"] == "Ada").await);
    tokio::time::sleep(secs(4)).await;
    assert_eq!(count(&slack, "users.setPhoto"), 1, "the hand-made photo was overwritten\n{}", bot.logs());
    assert_eq!(slack.avatar_bytes(MEMBER), own);
}

// ---------------------------------------------------------------------------------------------
// 9. presets import / export
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn presets_import_export_round_trip_and_drive_a_swap() {
    use base64::Engine as _;
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;
    assert!(bot.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", bot.logs());

    std::fs::write(bot.dir().join("beach.png"), test_png(900, 600, "beach")).unwrap();
    let file = bot.dir().join("presets.json");
    let records = json!([
        {"member": MEMBER, "emoji": ":palm_tree:", "name": "On vacation", "photo": "beach.png"},
        {"member": MEMBER, "emoji": "car", "name": "Driving"}
    ]);
    std::fs::write(&file, serde_json::to_vec_pretty(&records).unwrap()).unwrap();
    let (st, out, err) = run_command(&bot, &["presets", "import", file.to_str().unwrap()]);
    assert!(st.success(), "import failed:\n{out}\n{err}");

    let (st, out, err) = run_command(&bot, &["presets", "export"]);
    assert!(st.success(), "export failed:\n{out}\n{err}");
    let exported: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("export is not JSON ({e}):\n{out}"));
    let list = exported.as_array().expect("an array");
    assert_eq!(list.len(), 2, "{out}");
    let palm = list.iter().find(|r| r["emoji"] == "palm_tree").unwrap_or_else(|| panic!("{out}"));
    assert_eq!(palm["member"], MEMBER);
    assert_eq!(palm["name"], "On vacation");
    let photo = base64::engine::general_purpose::STANDARD.decode(palm["photo_base64"].as_str().expect("photo")).unwrap();
    assert_eq!(image_dims(&photo), Some((512, 512)));
    assert_centre_crop(&photo, "beach");
    let car = list.iter().find(|r| r["emoji"] == "car").unwrap_or_else(|| panic!("{out}"));
    assert_eq!(car["name"], "Driving");
    assert!(car.get("photo_base64").is_none_or(Value::is_null), "{out}");

    // The export imports into another database as the same presets.
    let other = Bot::single_user(&slack, &token);
    ready(&slack, &other).await;
    let mut other = other;
    assert!(other.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", other.logs());
    let backup = other.dir().join("backup.json");
    std::fs::write(&backup, &out).unwrap();
    let (st, out2, err) = run_command(&other, &["presets", "import", backup.to_str().unwrap()]);
    assert!(st.success(), "re-import failed:\n{out2}\n{err}");
    let (st, out2, err) = run_command(&other, &["presets", "export"]);
    assert!(st.success(), "{err}");
    let again: Value = serde_json::from_str(&out2).unwrap();
    let strip = |v: &Value| -> Vec<(String, String, String)> {
        let mut rows: Vec<_> =
            v.as_array().unwrap().iter().map(|r| (r["member"].to_string(), r["emoji"].to_string(), r["name"].to_string())).collect();
        rows.sort();
        rows
    };
    assert_eq!(strip(&again), strip(&exported));
    let palm2 = again.as_array().unwrap().iter().find(|r| r["emoji"] == "palm_tree").unwrap();
    let photo2 = base64::engine::general_purpose::STANDARD.decode(palm2["photo_base64"].as_str().unwrap()).unwrap();
    assert_centre_crop(&photo2, "beach");

    // The imported preset drives a swap.
    bot.restart().await;
    assert!(bot.connected(&slack, secs(20)).await, "{}", bot.logs());
    slack.set_status(MEMBER, ":palm_tree:").await;
    let photos = slack.wait_for_calls("users.setPhoto", 1, secs(20)).await;
    assert_eq!(photos.len(), 1, "{}", bot.logs());
    assert_centre_crop(photos[0].file("image").unwrap(), "beach");
    wait_swapped(&slack, &bot).await;
}

/// Regression: a member's first preset, for the status they already wear,
/// applies at once (the engine had ignored their events until then).
#[tokio::test(flavor = "multi_thread")]
async fn a_first_preset_for_the_current_status_applies_at_once() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let bot = Bot::single_user(&slack, &token);
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());
    let (env, _) = slack.set_status("U1", ":palm_tree:").await;
    slack.wait_for_ack(&env, secs(5)).await.expect("ack");
    let env = slack.slash_command("U1", "add :palm_tree: On vacation").await;
    slack.wait_for_ack(&env, secs(5)).await.expect("ack");
    assert!(slack.wait_until(secs(10), |s| s.member_profile("U1")["display_name"] == "On vacation").await, "{}", bot.logs());
    slack.set_status("U1", "").await;
    assert!(slack.wait_until(secs(15), |s| s.member_profile("U1")["display_name"] == "Ada").await, "{}", bot.logs());
}
