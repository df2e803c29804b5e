//! Generated preset photos end to end (SPEC, "Preset photos without an upload"): the real binary
//! in single-user mode against the fake. `photo :emoji: frame COLOUR [LABEL]` and `badge` are
//! drawn at swap time from the member's own photo (the baseline) and uploaded with
//! `users.setPhoto`; `none` leaves the member's own photo alone; bad colours are refused by slash
//! and DM; the same baseline and design are not drawn twice; a badge whose emoji image cannot be
//! fetched keeps the member's own photo and says so once by DM.

mod common;
use common::*;

use serde_json::json;

const MEMBER: &str = "U1";
const CONFIG: &str = "[limits]\ncommands_per_minute = 1000\nsettle_seconds = 0\n";
const ORANGE: [u8; 3] = [0xF2, 0x8C, 0x28];
/// The emoji image the fake serves for badges: a flat colour, opaque.
const EMOJI_COLOUR: [u8; 3] = [30, 170, 60];

async fn start(slack: &FakeSlack) -> Bot {
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::spawn(slack, BotOptions { user_token: Some(token), config_toml: Some(CONFIG.into()), ..Default::default() });
    assert!(bot.connected(slack, secs(20)).await, "bot never connected:\n{}", bot.logs());
    bot
}

/// A slash command; returns the text of its ack.
async fn slash(slack: &FakeSlack, bot: &Bot, text: &str) -> String {
    let env = slack.slash_command(MEMBER, text).await;
    let ack = slack.wait_for_ack(&env, secs(20)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_default()
}

/// The member's photo colour at the centre of `test_png(.., MEMBER)` (what `add_member` gives).
fn own_centre() -> [u8; 3] {
    seed_colors(MEMBER).1
}

fn emoji_png() -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(64, 64, image::Rgba([EMOJI_COLOUR[0], EMOJI_COLOUR[1], EMOJI_COLOUR[2], 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img).write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// Sets the status to `emoji` with Slack's `status_emoji_display_info` pointing at `url`.
async fn set_status_with_image(slack: &FakeSlack, emoji: &str, url: &str) {
    slack.update_profile(MEMBER, json!({"status_emoji_display_info": [{"emoji_name": emoji, "display_url": url}]}));
    slack.set_status(MEMBER, &format!(":{emoji}:")).await;
}

async fn uploads(slack: &FakeSlack, bot: &Bot, n: usize) -> Vec<Vec<u8>> {
    let calls = slack.wait_for_calls("users.setPhoto", n, secs(20)).await;
    assert!(calls.len() >= n, "{} uploads, wanted {n}:\n{}", calls.len(), bot.logs());
    calls.iter().map(|c| c.file("image").expect("multipart image").to_vec()).collect()
}

fn assert_pixel(bytes: &[u8], (fx, fy): (f32, f32), want: [u8; 3], tol: u8, what: &str) {
    let got = pixel_at(bytes, fx, fy).expect("the upload decodes");
    assert!(color_close(got, want, tol), "{what} at ({fx}, {fy}): got {got:?}, want {want:?}");
}

fn count_logs(bot: &Bot, needle: &str) -> usize {
    bot.logs().matches(needle).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frame_with_a_label_is_drawn_from_the_own_photo_and_not_drawn_twice() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack).await;
    let original = slack.avatar_bytes(MEMBER);
    let reply = slash(&slack, &bot, "photo :palm_tree: frame orange OOO").await;
    assert!(reply.contains("Saved") && reply.contains("orange frame labelled *OOO*"), "{reply}");

    slack.set_status(MEMBER, ":palm_tree:").await;
    let first = uploads(&slack, &bot, 1).await.remove(0);
    assert_eq!(image_dims(&first), Some((512, 512)), "[images] size square");
    // The band is one twelfth of the side on every edge; the banner covers the bottom fifth.
    for (at, what) in [((0.04, 0.5), "left band"), ((0.96, 0.5), "right band"), ((0.5, 0.04), "top band"), ((0.04, 0.9), "banner")] {
        assert_pixel(&first, at, ORANGE, 20, what);
    }
    assert_pixel(&first, (0.5, 0.5), own_centre(), 20, "the member's own photo inside the band");
    let banner_white = (0..100).any(|i| pixel_at(&first, 0.3 + i as f32 * 0.004, 0.9).is_some_and(|p| p.iter().all(|c| *c > 220)));
    assert!(banner_white, "the label is drawn in white in the banner");

    // Back to the own photo, then the same status again: same baseline and design, same bytes,
    // drawn once.
    slack.set_status(MEMBER, "").await;
    let ok = slack.wait_until(secs(20), |s| s.avatar_bytes(MEMBER) == original).await;
    assert!(ok, "the own photo never came back:\n{}", bot.logs());
    slack.set_status(MEMBER, ":palm_tree:").await;
    let all = uploads(&slack, &bot, 3).await;
    assert_eq!(all[2], first, "the second swap uploads the same photo");
    assert_eq!(count_logs(&bot, "generated photo drawn"), 1, "{}", bot.logs());
    assert_eq!(count_logs(&bot, "generated photo reused"), 1, "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_badge_puts_the_status_emoji_in_a_white_disc_bottom_right() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack).await;
    let url = slack.set_emoji_image("palm_tree", emoji_png());
    let reply = slash(&slack, &bot, "photo :palm_tree: badge").await;
    assert!(reply.contains("Saved") && reply.contains("white disc"), "{reply}");

    set_status_with_image(&slack, "palm_tree", &url).await;
    let photo = uploads(&slack, &bot, 1).await.remove(0);
    assert_eq!(image_dims(&photo), Some((512, 512)));
    // The disc: diameter 0.4 of the side, touching the right and bottom edges (centre 0.8, 0.8);
    // the emoji fills 0.7 of its diameter (0.14 either side of the centre), white beyond it.
    assert_pixel(&photo, (0.8, 0.8), EMOJI_COLOUR, 20, "the emoji at the disc's centre");
    for at in [(0.97, 0.8), (0.8, 0.97), (0.63, 0.8), (0.8, 0.63)] {
        assert_pixel(&photo, at, [255, 255, 255], 20, "the white disc around the emoji");
    }
    assert_pixel(&photo, (0.5, 0.5), own_centre(), 20, "the member's own photo elsewhere");
    assert!(slack.fetches().iter().any(|f| f.path == "/emoji/palm_tree.png" && f.status == 200), "the emoji image was fetched");
}

#[tokio::test(flavor = "multi_thread")]
async fn none_keeps_the_own_photo_and_bad_colours_are_refused_by_slash_and_dm() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack).await;
    let original = slack.avatar_bytes(MEMBER);

    let reply = slash(&slack, &bot, "photo :palm_tree: frame mauve").await;
    assert!(reply.contains("“mauve” is not a colour I know: use #RRGGBB"), "{reply}");
    let before = slack.bot_texts(MEMBER).len();
    slack.dm(MEMBER, "photo :palm_tree: frame #12345Z", vec![]).await;
    let got = slack.wait_until(secs(20), |s| s.bot_texts(MEMBER).len() > before).await;
    assert!(got, "no DM reply:\n{}", bot.logs());
    let dm = slack.bot_texts(MEMBER)[before].clone();
    assert!(dm.contains("“#12345Z” is not a colour I know"), "{dm}");
    let list = slash(&slack, &bot, "list").await;
    assert!(list.contains("no presets"), "a refused colour saves nothing: {list}");

    // `none`: the name changes, the photo is the member's own (no users.setPhoto at all).
    assert!(slash(&slack, &bot, "add :palm_tree: On vacation").await.contains("Saved"));
    let reply = slash(&slack, &bot, "photo :palm_tree: none").await;
    assert!(reply.contains("stays your own"), "{reply}");
    slack.set_status(MEMBER, ":palm_tree:").await;
    let ok = slack.wait_until(secs(20), |s| s.member_profile(MEMBER)["display_name"] == "On vacation").await;
    assert!(ok, "never swapped:\n{}", bot.logs());
    tokio::time::sleep(secs(2)).await;
    assert_eq!(slack.count_calls("users.setPhoto"), 0, "{}", bot.logs());
    assert_eq!(slack.avatar_bytes(MEMBER), original);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unavailable_emoji_image_keeps_the_own_photo_and_says_so_once() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack).await;
    let original = slack.avatar_bytes(MEMBER);
    // The profile points at an image the fake does not serve (404).
    let url = format!("{}/emoji/missing.png", slack.origin());
    assert!(slash(&slack, &bot, "add :palm_tree: On vacation").await.contains("Saved"));
    assert!(slash(&slack, &bot, "photo :palm_tree: badge").await.contains("Saved"));

    for _ in 0..2 {
        set_status_with_image(&slack, "palm_tree", &url).await;
        let ok = slack.wait_until(secs(20), |s| s.member_profile(MEMBER)["display_name"] == "On vacation").await;
        assert!(ok, "the name still changes:\n{}", bot.logs());
        slack.set_status(MEMBER, "").await;
        let ok = slack.wait_until(secs(20), |s| s.member_profile(MEMBER)["display_name"] == "Ada").await;
        assert!(ok, "never restored:\n{}", bot.logs());
    }
    let told = slack.wait_for_bot_text(MEMBER, "couldn't draw the photo", secs(10)).await;
    assert!(told.is_some_and(|t| t.contains(":palm_tree:")), "{:?}\n{}", slack.bot_texts(MEMBER), bot.logs());
    let dms = slack.bot_texts(MEMBER).iter().filter(|t| t.contains("couldn't draw the photo")).count();
    assert_eq!(dms, 1, "told once: {:?}", slack.bot_texts(MEMBER));
    assert_eq!(slack.count_calls("users.setPhoto"), 0, "no photo write: {}", bot.logs());
    assert_eq!(slack.avatar_bytes(MEMBER), original);
}

/// Slack's default avatar (`is_custom_image` false) is drawn from too, and a custom emoji's image
/// comes from `emoji.list` when the profile names none.
#[tokio::test(flavor = "multi_thread")]
async fn a_badge_of_a_custom_emoji_on_the_default_avatar() {
    let slack = FakeSlack::start().await;
    let url = slack.set_emoji_image("shark", emoji_png());
    slack.set_emoji([("shark".to_string(), url)].into_iter().collect());
    let bot = start(&slack).await;
    slack.update_profile(MEMBER, json!({"is_custom_image": false}));
    let reply = slash(&slack, &bot, "photo :shark: badge").await;
    assert!(reply.contains("Saved"), "{reply}");

    slack.set_status(MEMBER, ":shark:").await;
    let photo = uploads(&slack, &bot, 1).await.remove(0);
    assert_pixel(&photo, (0.8, 0.8), EMOJI_COLOUR, 20, "the custom emoji at the disc's centre");
    assert_pixel(&photo, (0.97, 0.8), [255, 255, 255], 20, "the white disc");
    assert_pixel(&photo, (0.5, 0.5), own_centre(), 20, "the default avatar under the badge");
    // Back to the default avatar: the bot's photo is deleted, as for any preset photo.
    slack.set_status(MEMBER, "").await;
    let deleted = slack.wait_for_calls("users.deletePhoto", 1, secs(20)).await;
    assert_eq!(deleted.len(), 1, "{}", bot.logs());
}

fn modal_state(emoji: &str, kind: &str, colour: Option<&str>, label: &str) -> serde_json::Value {
    let option = |v: &str| json!({"text": {"type": "plain_text", "text": v}, "value": v});
    json!({
        "emoji_block": {"emoji_input": {"type": "plain_text_input", "value": emoji}},
        "name_block": {"name_input": {"type": "plain_text_input", "value": null}},
        "photo_block": {"photo_input": {"type": "file_input", "files": []}},
        "photo_kind_block": {"photo_kind_input": {"type": "static_select", "selected_option": option(kind)}},
        "colour_block": {"colour_input": {"type": "static_select", "selected_option": colour.map(option)}},
        "label_block": {"label_input": {"type": "plain_text_input", "value": label}}
    })
}

/// The preset modal offers the same choices beside the file input: a frame saved there (with a
/// colour from the select and a label) is what `photo … frame` saves; a frame without a colour
/// is refused under the colour field.
#[tokio::test(flavor = "multi_thread")]
async fn the_preset_modal_saves_a_frame_and_refuses_one_without_a_colour() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack).await;
    slash(&slack, &bot, "photo :palm_tree:").await;
    let opened = slack.wait_for_calls("views.open", 1, secs(20)).await;
    let view = opened.first().and_then(|c| c.json_param("view")).unwrap_or_default().to_string();
    for id in ["photo_kind_block", "colour_block", "label_block", "\"badge\"", "\"frame\"", "\"none\"", "orange (#F28C28)"] {
        assert!(view.contains(id), "the modal lacks {id}: {view}");
    }

    let env = slack.view_submission(MEMBER, "preset_modal", "", modal_state(":palm_tree:", "frame", None, "OOO")).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.and_then(|a| a.payload).unwrap_or_default();
    assert_eq!(ack["response_action"], "errors", "{ack}");
    assert!(ack["errors"]["colour_block"].as_str().is_some_and(|e| e.contains("colour")), "{ack}");

    let env = slack.view_submission(MEMBER, "preset_modal", "", modal_state(":palm_tree:", "frame", Some("orange"), "ooo")).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.and_then(|a| a.payload).unwrap_or_default();
    assert_eq!(ack["response_action"], "clear", "{ack}\n{}", bot.logs());
    let list = slash(&slack, &bot, "list").await;
    assert!(list.contains(":palm_tree:") && list.contains("(with a frame)"), "{list}");

    slack.set_status(MEMBER, ":palm_tree:").await;
    let photo = uploads(&slack, &bot, 1).await.remove(0);
    assert_pixel(&photo, (0.04, 0.5), ORANGE, 20, "the band");
}

/// An admin's `team photo :emoji: frame …` is drawn from each member's own photo the same way;
/// a bad colour there is refused too and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_team_preset_frame_is_drawn_from_the_members_own_photo() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let config = format!("[slack]\nadmins = [\"{MEMBER}\"]\n{CONFIG}");
    let bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), config_toml: Some(config), ..Default::default() });
    assert!(bot.connected(&slack, secs(20)).await, "bot never connected:\n{}", bot.logs());

    let reply = slash(&slack, &bot, "team photo :palm_tree: frame nope").await;
    assert!(reply.contains("“nope” is not a colour I know"), "{reply}");
    assert!(slash(&slack, &bot, "team list").await.contains("no team presets"));
    let reply = slash(&slack, &bot, "team photo :palm_tree: frame green").await;
    assert!(reply.contains("Saved the team preset") && reply.contains("the member's own photo in a green frame"), "{reply}");

    slack.set_status(MEMBER, ":palm_tree:").await;
    let photo = uploads(&slack, &bot, 1).await.remove(0);
    assert_pixel(&photo, (0.04, 0.5), [0x2E, 0xB6, 0x7D], 20, "the green band");
    assert_pixel(&photo, (0.5, 0.5), own_centre(), 20, "the member's own photo inside");
}
