//! The App Home tab shows each preset's photo (SPEC, "App Home shows the photos"), end to end:
//! the real binary against the fake. Each processed photo is uploaded once (three-step upload,
//! no channel, no token on the upload URL) and shown by its file id, across publishes and
//! restarts; a file Slack lost is uploaded again once; a view Slack still refuses goes out as
//! text; generated photos are previewed from the member's current photo; 40+ presets with
//! photos and team presets still make a valid view; collected photos lose their Slack file.

mod common;
use common::*;

use serde_json::Value;

const MEMBER: &str = "U1";
const ADMIN: &str = "UADMIN";
const CONFIG: &str = "[limits]\ncommands_per_minute = 1000\nsettle_seconds = 0\n[slack]\nadmins = [\"UADMIN\"]\n";

async fn start(slack: &FakeSlack) -> Bot {
    let token = slack.add_member(MEMBER, "Ada");
    slack.add_member(ADMIN, "Admin");
    let bot = Bot::spawn(slack, BotOptions { user_token: Some(token), config_toml: Some(CONFIG.into()), ..Default::default() });
    assert!(bot.connected(slack, secs(20)).await, "bot never connected:\n{}", bot.logs());
    bot
}

/// A slash command; returns the text of its ack.
async fn slash(slack: &FakeSlack, bot: &Bot, who: &str, text: &str) -> String {
    let env = slack.slash_command(who, text).await;
    let ack = slack.wait_for_ack(&env, secs(20)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_default()
}

/// Gives `emoji` a photo by DM (the image attached, the emoji in the text).
async fn photo_by_dm(slack: &FakeSlack, bot: &Bot, emoji: &str, seed: &str) {
    let file = slack.add_file(test_png(400, 400, seed), &format!("{seed}.png"), "image/png");
    let before = slack.bot_texts(MEMBER).len();
    let (env, _) = slack.dm(MEMBER, &format!(":{emoji}:"), vec![file]).await;
    assert!(slack.wait_for_ack(&env, secs(15)).await.is_some(), "DM not acked:\n{}", bot.logs());
    let saved = slack.wait_until(secs(20), |s| s.bot_texts(MEMBER).len() > before).await;
    assert!(saved, "no reply to the photo DM:\n{}", bot.logs());
    let reply = slack.bot_texts(MEMBER)[before].clone();
    assert!(reply.contains("Saved"), "{reply}");
}

fn publishes(slack: &FakeSlack) -> Vec<Value> {
    slack
        .calls_to("views.publish")
        .iter()
        .filter(|c| c.param("user_id").as_deref() == Some(MEMBER))
        .filter_map(|c| c.json_param("view"))
        .collect()
}

/// Opens the Home tab and waits for a publish Slack accepted after it.
async fn open_home(slack: &FakeSlack, bot: &Bot) -> Value {
    let before = publishes(slack).len();
    let shown_before = slack.home_view(MEMBER).map(|v| v["hash"].clone());
    let (env, _) = slack.app_home_opened(MEMBER).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "not acked:\n{}", bot.logs());
    let published = |s: &FakeSlack| publishes(s).len() > before && s.home_view(MEMBER).map(|v| v["hash"].clone()) != shown_before;
    assert!(slack.wait_until(secs(30), published).await, "no accepted publish:\n{}", bot.logs());
    // Let any retry of this publish land before the caller looks.
    tokio::time::sleep(millis(300)).await;
    slack.home_view(MEMBER).expect("a Home view")
}

/// The `slack_file` ids of a view's images, by the block they sit in.
fn images(view: &Value) -> Vec<(String, String, String)> {
    let blocks = view["blocks"].as_array().cloned().unwrap_or_default();
    blocks
        .iter()
        .filter_map(|b| {
            let img = &b["accessory"];
            let id = img["slack_file"]["id"].as_str()?;
            Some((b["block_id"].as_str().unwrap_or("").to_string(), id.to_string(), img["alt_text"].as_str().unwrap_or("").to_string()))
        })
        .collect()
}

/// Each photo is uploaded once, with the three-step upload (no channel, no token on the upload
/// URL), and every later publish — after a restart too — shows it by that file id.
#[tokio::test(flavor = "multi_thread")]
async fn a_photo_is_uploaded_once_and_every_publish_shows_it_by_its_id() {
    let slack = FakeSlack::start().await;
    let mut bot = start(&slack).await;
    slash(&slack, &bot, MEMBER, "add :palm_tree: On vacation").await;
    photo_by_dm(&slack, &bot, "palm_tree", "beach").await;

    let view = open_home(&slack, &bot).await;
    let uploads = slack.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}\n{}", bot.logs());
    let up = &uploads[0];
    assert_eq!(image_dims(&up.bytes), Some((512, 512)), "the processed photo is what is uploaded");
    assert!(looks_like_seed(&up.bytes, "beach"));
    assert!(!up.post_had_token, "the upload URL is pre-signed: no token goes with it");
    assert_eq!(up.shared_to, None, "uploaded without a channel");
    let shown = images(&view);
    assert_eq!(shown.len(), 1, "{view}");
    assert_eq!(shown[0].0, "preset:palm_tree");
    assert_eq!(shown[0].1, up.file_id);
    assert!(shown[0].2.contains(":palm_tree:"), "alt text names the preset: {}", shown[0].2);

    open_home(&slack, &bot).await;
    slash(&slack, &bot, MEMBER, "add :palm_tree: Surfing").await;
    open_home(&slack, &bot).await;
    bot.restart().await;
    assert!(bot.connected(&slack, secs(20)).await, "{}", bot.logs());
    let view = open_home(&slack, &bot).await;
    assert_eq!(slack.uploads().len(), 1, "one upload across publishes and restarts:\n{}", bot.logs());
    assert_eq!(images(&view).first().map(|i| i.1.clone()), Some(up.file_id.clone()));
    for v in publishes(&slack).iter().filter(|v| !images(v).is_empty()) {
        assert!(images(v).iter().all(|i| i.1 == up.file_id), "{v}");
    }
    assert_eq!(slack.count_calls("files.upload"), 0, "files.upload is retired");
    assert!(slack.count_calls("files.getUploadURLExternal") == 1 && slack.count_calls("files.completeUploadExternal") == 1);
}

/// A file deleted on Slack's side is uploaded again, once, and the view shows the new one; a view
/// Slack still refuses goes out as text instead of not at all.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_file_is_uploaded_again_once_and_a_refused_view_falls_back_to_text() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack).await;
    slash(&slack, &bot, MEMBER, "add :palm_tree: On vacation").await;
    photo_by_dm(&slack, &bot, "palm_tree", "beach").await;
    open_home(&slack, &bot).await;
    let first = slack.uploads()[0].file_id.clone();

    assert!(slack.delete_file(&first));
    let view = open_home(&slack, &bot).await;
    let uploads = slack.uploads();
    assert_eq!(uploads.len(), 2, "one re-upload:\n{}", bot.logs());
    assert_ne!(uploads[1].file_id, first);
    assert_eq!(images(&view).first().map(|i| i.1.clone()), Some(uploads[1].file_id.clone()), "{view}");
    assert!(slack.calls_to("files.info").iter().any(|c| c.param("file").as_deref() == Some(first.as_str())));

    // Slack refuses the view twice more for its photo, though the file is there: no third
    // upload, and the view goes out without the image.
    slack.fail_next("views.publish", Fault::SlackError("invalid_blocks".into()));
    let view = open_home(&slack, &bot).await;
    assert!(images(&view).is_empty(), "text only: {view}");
    assert!(collect_text(&view).contains("On vacation") && collect_text(&view).contains("photo set"), "{view}");
    assert_eq!(slack.uploads().len(), 2, "{}", bot.logs());
    assert!(bot.logs().contains("shows text instead"), "{}", bot.logs());
}

/// An upload Slack refuses for good (the bot lacks `files:write`) leaves Home as text, says what
/// to add once, and stops trying for a while.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_upload_leaves_home_as_text_and_names_the_scope() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack).await;
    slash(&slack, &bot, MEMBER, "add :palm_tree: On vacation").await;
    slack.fail_next("files.getUploadURLExternal", Fault::SlackError("missing_scope".into()));
    photo_by_dm(&slack, &bot, "palm_tree", "beach").await;
    let view = open_home(&slack, &bot).await;
    assert!(images(&view).is_empty(), "{view}");
    assert!(collect_text(&view).contains("photo set"), "{view}");
    open_home(&slack, &bot).await;
    assert_eq!(slack.count_calls("files.getUploadURLExternal"), 1, "not retried at every publish:\n{}", bot.logs());
    assert!(bot.logs().contains("files:write"), "{}", bot.logs());
}

/// A generated photo (here a frame) is previewed from the member's current photo; the preview
/// is drawn and uploaded again only when that photo changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_generated_photo_is_previewed_from_the_members_current_photo() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack).await;
    let reply = slash(&slack, &bot, MEMBER, "photo :palm_tree: frame orange").await;
    assert!(reply.contains("Saved"), "{reply}");
    let view = open_home(&slack, &bot).await;
    let uploads = slack.uploads();
    assert_eq!(uploads.len(), 1, "{}", bot.logs());
    assert_eq!(images(&view).first().map(|i| i.1.clone()), Some(uploads[0].file_id.clone()), "{view}");
    let preview = &uploads[0].bytes;
    let orange = [0xF2, 0x8C, 0x28];
    assert!(color_close(pixel_at(preview, 0.02, 0.5).expect("decodes"), orange, 20), "the frame's band");
    assert!(color_close(pixel_at(preview, 0.5, 0.5).expect("decodes"), seed_colors(MEMBER).1, 20), "the member's own photo inside");

    open_home(&slack, &bot).await;
    assert_eq!(slack.uploads().len(), 1, "the same photo and design: no new preview\n{}", bot.logs());

    // The member changes their photo: the next publish previews the new one.
    slack.set_avatar(MEMBER, test_png(300, 300, "newface"));
    let (env, _) = slack.push_event(slack.user_change_event(MEMBER)).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some());
    let view = open_home(&slack, &bot).await;
    let uploads = slack.uploads();
    assert_eq!(uploads.len(), 2, "{}", bot.logs());
    assert!(color_close(pixel_at(&uploads[1].bytes, 0.5, 0.5).expect("decodes"), seed_colors("newface").1, 20), "drawn from the new photo");
    assert_eq!(images(&view).first().map(|i| i.1.clone()), Some(uploads[1].file_id.clone()));
}

/// 45 presets with photos and team presets with photos: the view stays under 100 blocks with
/// unique block ids (the fake refuses anything else), shows 40 own photos and some team ones.
#[tokio::test(flavor = "multi_thread")]
async fn forty_five_presets_with_photos_make_a_valid_view() {
    let slack = FakeSlack::start().await;
    // Custom emoji, known from the emoji list the bot reads at start-up.
    let emoji: Vec<String> = (0..45).map(|i| format!("e{i:02}")).collect();
    let custom = emoji.iter().map(|e| (e.clone(), format!("{}/emoji/{e}.png", slack.origin()))).collect();
    slack.set_emoji(custom);
    let bot = start(&slack).await;
    for e in &emoji {
        slash(&slack, &bot, MEMBER, &format!("add :{e}: Name {e}")).await;
        photo_by_dm(&slack, &bot, e, e).await;
    }
    for (e, c) in [("car", "red"), ("coffee", "blue"), ("palm_tree", "green")] {
        slash(&slack, &bot, ADMIN, &format!("team add :{e}: Team {c}")).await;
        let reply = slash(&slack, &bot, ADMIN, &format!("team photo :{e}: frame {c}")).await;
        assert!(reply.contains("Saved"), "{reply}");
    }
    let view = open_home(&slack, &bot).await;
    let blocks = view["blocks"].as_array().cloned().unwrap_or_default();
    assert!(blocks.len() <= 100, "{} blocks", blocks.len());
    let ids: Vec<&str> = blocks.iter().filter_map(|b| b["block_id"].as_str()).collect();
    let unique: std::collections::HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "block ids unique");
    let shown = images(&view);
    assert_eq!(shown.iter().filter(|i| i.0.starts_with("preset:")).count(), 40, "{shown:?}");
    assert!(shown.iter().any(|i| i.0.starts_with("team:")), "team photos shown too: {shown:?}");
    assert!(shown.iter().all(|i| slack.has_file(&i.1)));
    assert!(collect_text(&view).contains("…and 5 more"), "{view}");
}

struct NoEnv;

impl statusinator::config::Env for NoEnv {
    fn var(&self, key: &str) -> Option<String> {
        match key {
            "SLACK_APP_TOKEN" => Some(APP_TOKEN.into()),
            "SLACK_BOT_TOKEN" => Some(BOT_TOKEN.into()),
            _ => None,
        }
    }
}

/// Photo GC deletes the Slack file of each photo it removes (`files.delete`), keeps the files
/// of photos in use, and counts a file Slack no longer has as deleted.
#[tokio::test(flavor = "multi_thread")]
async fn collected_photos_lose_their_slack_files() {
    use statusinator::context::{Context, Identity};
    use statusinator::jobs::upkeep;
    use statusinator::secret::Secret;
    use statusinator::store::{photo_files, Preset, Store};

    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = statusinator::config::Config::from_toml("", &NoEnv).expect("config");
    let store = Store::open(&dir.path().join("db")).expect("store");
    let client =
        statusinator::slack::SlackClient::new(slack.api_url().parse().expect("url"), Secret::new(BOT_TOKEN), Secret::new(APP_TOKEN))
            .expect("client");
    let ctx = Context::new(config, store, client, Identity::default(), statusinator::shutdown::Shutdown::new());

    // Written straight into the tree (no put_photo stamp), so the collection need not wait.
    let gone = slack.add_file(test_png(64, 64, "gone"), "gone.png", "image/png");
    ctx.store.photos.insert(b"gone-photo", test_png(8, 8, "gone")).expect("insert");
    photo_files::put_file(&ctx.store, "gone-photo", &gone).expect("file");
    ctx.store.photos.insert(b"lost-photo", test_png(8, 8, "lost")).expect("insert");
    photo_files::put_file(&ctx.store, "lost-photo", "F_NOT_ON_SLACK").expect("file");
    let kept = slack.add_file(test_png(64, 64, "kept"), "kept.png", "image/png");
    ctx.store.photos.insert(b"kept-photo", test_png(8, 8, "kept")).expect("insert");
    photo_files::put_file(&ctx.store, "kept-photo", &kept).expect("file");
    ctx.store.put_preset(&Preset { photo: Some("kept-photo".into()), ..Preset::new(MEMBER, "palm_tree") }).expect("preset");

    assert_eq!(upkeep::upkeep(&ctx).photos, 2);
    assert_eq!(upkeep::delete_orphaned_files(&ctx).await, 2);
    assert!(!slack.has_file(&gone), "deleted on Slack");
    assert!(slack.has_file(&kept), "a photo in use keeps its file");
    let deleted: Vec<String> = slack.calls_to("files.delete").iter().filter_map(|c| c.param("file")).collect();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert!(deleted.contains(&gone) && deleted.contains(&"F_NOT_ON_SLACK".to_string()));
    assert!(photo_files::orphans(&ctx.store).expect("orphans").is_empty());
    assert_eq!(photo_files::file_of(&ctx.store, "kept-photo").expect("read").map(|f| f.id), Some(kept));
    assert_eq!(upkeep::delete_orphaned_files(&ctx).await, 0, "nothing left to delete");
}
