//! Member surfaces end to end (issue 4): `/status-preset`, DM commands, photos by DM, the App Home
//! tab and its modal, the emoji cache (aliases, emoji_changed), the per-member command rate limit,
//! authorization between members, and ignoring bot messages. The real binary runs against the
//! fake Slack; every assertion is on what Slack (and so the member) saw.

mod common;
use common::*;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Enough room under the command rate limit for tests that send many commands.
const ROOMY_LIMITS: &str = "[limits]\ncommands_per_minute = 1000\n";

const MODAL: &str = "preset_modal";
const ACTION_ADD: &str = "preset_add";
const ACTION_EDIT: &str = "preset_edit";
const ACTION_DELETE: &str = "preset_delete";
const ACTION_PAUSE: &str = "home_pause";

async fn ready(slack: &FakeSlack, bot: &Bot) {
    assert!(bot.connected(slack, secs(20)).await, "bot never connected:\n{}", bot.logs());
    // The workspace emoji list loads at start-up; until it has, unknown custom emoji are accepted
    // unverified, so tests about emoji wait for it.
    assert!(bot.wait_for_log("emoji cache loaded", secs(20)).await, "emoji list never loaded:\n{}", bot.logs());
}

fn opts(user_token: Option<String>, toml: Option<&str>, env: &[(&str, &str)]) -> BotOptions {
    BotOptions {
        user_token,
        config_toml: toml.map(str::to_string),
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Surface {
    Slash,
    Dm,
}

/// A slash command; returns the text of its ephemeral ack payload.
async fn slash(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) -> String {
    let env = slack.slash_command(user, text).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.unwrap_or_else(|| panic!("no ack for /status-preset {text}:\n{}", bot.logs()));
    let payload = ack.payload.unwrap_or_else(|| panic!("/status-preset {text:?} got no reply in its ack:\n{}", bot.logs()));
    assert_eq!(payload["response_type"], "ephemeral", "slash replies are ephemeral: {payload}");
    payload["text"].as_str().unwrap_or_else(|| panic!("reply without text: {payload}")).to_string()
}

/// How many `chat.postMessage` calls went to the member's DM channel.
fn dm_posts(slack: &FakeSlack, user: &str) -> Vec<Call> {
    let dm = format!("D{user}");
    slack.calls_to("chat.postMessage").into_iter().filter(|c| c.param("channel").as_deref() == Some(dm.as_str())).collect()
}

/// Sends a DM (optionally with files) and returns the bot's next message in that DM.
async fn dm_with(slack: &FakeSlack, bot: &Bot, user: &str, text: &str, files: Vec<String>) -> String {
    let before = dm_posts(slack, user).len();
    let (env, _) = slack.dm(user, text, files).await;
    slack.wait_for_ack(&env, secs(15)).await.unwrap_or_else(|| panic!("DM {text:?} not acked:\n{}", bot.logs()));
    let ok = slack.wait_until(secs(20), |s| dm_posts(s, user).len() > before).await;
    assert!(ok, "no reply in the DM to {text:?}:\n{}", bot.logs());
    let post = &dm_posts(slack, user)[before];
    post.param("text").unwrap_or_default()
}

async fn dm(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) -> String {
    dm_with(slack, bot, user, text, Vec::new()).await
}

async fn say(slack: &FakeSlack, bot: &Bot, surface: Surface, user: &str, text: &str) -> String {
    match surface {
        Surface::Slash => slash(slack, bot, user, text).await,
        Surface::Dm => dm(slack, bot, user, text).await,
    }
}

fn has(reply: &str, needle: &str) -> bool {
    reply.to_lowercase().contains(&needle.to_lowercase())
}

macro_rules! expect {
    ($reply:expr, $needle:expr, $what:expr) => {{
        let r: &str = &$reply;
        assert!(has(r, $needle), "{}: expected {:?} in the reply, got:\n{}", $what, $needle, r);
    }};
}

/// Every command of the SPEC table over one surface, with the replies a member reads.
async fn every_command(surface: Surface) {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    slack.add_member("U2", "Bob");
    slack.add_member("U9", "Root");
    let bot = Bot::spawn(&slack, opts(Some(token), Some(ROOMY_LIMITS), &[("STATUSINATOR_ADMINS", "U9")]));
    ready(&slack, &bot).await;
    let s = surface;

    // help, or nothing at all
    for text in ["help", ""] {
        let r = say(&slack, &bot, s, "U1", text).await;
        for word in ["add :emoji: Display Name", "photo :emoji:", "remove :emoji:", "list", "pause", "resume", "restore", "status"] {
            expect!(r, word, format!("{s:?} {text:?}"));
        }
    }

    expect!(say(&slack, &bot, s, "U1", "list").await, "no presets", "list when empty");

    let r = say(&slack, &bot, s, "U1", "add :palm_tree: \"On vacation\"").await;
    expect!(r, "Saved", "add");
    expect!(r, ":palm_tree:", "add");
    expect!(r, "On vacation", "add");
    assert!(!r.contains('"'), "quotes are optional and dropped: {r}");

    let r = say(&slack, &bot, s, "U1", "list").await;
    expect!(r, ":palm_tree:", "list");
    expect!(r, "On vacation", "list");

    // photo: a modal with a file input (slash), or a request for the image (DM)
    let opened_before = slack.calls_to("views.open").len();
    let r = say(&slack, &bot, s, "U1", "photo :palm_tree:").await;
    match s {
        Surface::Slash => {
            let opened = slack.wait_for_calls("views.open", opened_before + 1, secs(10)).await;
            assert_eq!(opened.len(), opened_before + 1, "photo opens one modal: {r}\n{}", bot.logs());
            let view = opened[opened_before].json_param("view").expect("views.open carries a view");
            assert_eq!(view["callback_id"], MODAL);
            assert_eq!(view["private_metadata"], "palm_tree");
            let blocks = view["blocks"].as_array().cloned().unwrap_or_default();
            assert!(blocks.iter().any(|b| b["element"]["type"] == "file_input"), "no file_input in {view}");
            assert!(opened[opened_before].param("trigger_id").is_some_and(|t| !t.is_empty()));
        }
        Surface::Dm => {
            expect!(r, "image", "photo by DM asks for the image");
            expect!(r, ":palm_tree:", "photo by DM");
            assert_eq!(slack.calls_to("views.open").len(), opened_before, "no modal from a DM");
        }
    }

    expect!(say(&slack, &bot, s, "U1", "pause").await, "Paused", "pause");
    expect!(say(&slack, &bot, s, "U1", "status").await, "Paused: yes", "status while paused");
    expect!(say(&slack, &bot, s, "U1", "resume").await, "Resumed", "resume");
    let r = say(&slack, &bot, s, "U1", "status").await;
    for needle in ["Connected: yes", "Paused: no", "Active preset: none", "Presets: 1", "Pending: nothing"] {
        expect!(r, needle, "status");
    }
    expect!(say(&slack, &bot, s, "U1", "restore").await, "already your own", "restore with nothing swapped");
    expect!(say(&slack, &bot, s, "U2", "restore").await, "connect", "restore for a member without a token");
    expect!(say(&slack, &bot, s, "U2", "status").await, "Connected: no", "status of a member without a token");

    expect!(say(&slack, &bot, s, "U1", "remove :palm_tree:").await, "Removed", "remove");
    expect!(say(&slack, &bot, s, "U1", "list").await, "no presets", "list after remove");
    expect!(say(&slack, &bot, s, "U1", "remove :palm_tree:").await, "no preset for :palm_tree:", "remove twice");

    // admin commands
    expect!(say(&slack, &bot, s, "U1", "stats").await, "Only the bot's admins", "stats by a member");
    expect!(say(&slack, &bot, s, "U1", "purge <@U2|bob>").await, "Only the bot's admins", "purge by a member");
    let r = say(&slack, &bot, s, "U9", "stats").await;
    for needle in ["Queue depth", "Emoji cache", "Avatar cache", "hits"] {
        expect!(r, needle, "stats by an admin");
    }
    // U2's profile reaches the avatar cache through a user_change; purge drops it once.
    let (env, _) = slack.set_status("U2", "").await;
    slack.wait_for_ack(&env, secs(10)).await.expect("user_change acked");
    expect!(say(&slack, &bot, s, "U9", "purge <@U2|bob>").await, "Dropped the cached profile of <@U2>", "purge");
    expect!(say(&slack, &bot, s, "U9", "purge <@U2|bob>").await, "no cached profile", "purge twice");

    // malformed commands: usage / did-you-mean, never silence
    let r = say(&slack, &bot, s, "U1", "add").await;
    expect!(r, "needs an emoji", "add alone");
    expect!(r, "Usage:", "add alone");
    let r = say(&slack, &bot, s, "U1", "add palm_tree").await;
    expect!(r, "between colons", "add without colons");
    expect!(r, "Usage:", "add without colons");
    let r = say(&slack, &bot, s, "U1", "add :palm_tree:").await;
    expect!(r, "display name", "add without a name");
    let r = say(&slack, &bot, s, "U1", "frobnicate").await;
    expect!(r, "I don't know `frobnicate`", "unknown word");
    expect!(r, "add :emoji: Display Name", "unknown word gets the usage");
    assert!(!has(&r, "did you mean"), "nothing is near frobnicate: {r}");
    let r = say(&slack, &bot, s, "U1", "remvoe :x:").await;
    expect!(r, "Did you mean `remove`?", "typo");
    let r = say(&slack, &bot, s, "U1", "purge bob").await;
    expect!(r, "Usage:", "purge without a mention");

    // Nothing above ended up in the other surface.
    match s {
        Surface::Slash => assert!(dm_posts(&slack, "U1").is_empty(), "slash replies stay ephemeral: {:?}", slack.bot_texts("U1")),
        Surface::Dm => assert!(
            slack.acks().iter().all(|a| a.payload.is_none()),
            "DM commands are answered in the DM, not in an ack: {:?}",
            slack.acks()
        ),
    }
    assert!(!bot.logs().contains("panicked"), "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_works_by_slash_command_with_an_ephemeral_reply() {
    every_command(Surface::Slash).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_works_by_dm_with_the_reply_in_the_dm() {
    every_command(Surface::Dm).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn help_in_a_dm_shows_the_words_to_type_there() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    // In a DM members type the words alone; the slash command's help names the command.
    let r = dm(&slack, &bot, "U1", "help").await;
    expect!(r, "• `add :emoji: Display Name`", "DM help");
    assert!(!r.contains("`/status-preset add"), "DM help shows words typed in the DM: {r}");
    let r = dm(&slack, &bot, "U1", "add").await;
    expect!(r, "Usage: `add :emoji: Display Name`", "DM usage");
    let r = slash(&slack, &bot, "U1", "help").await;
    expect!(r, "`/status-preset add :emoji: Display Name`", "slash help");
}

// ---------------------------------------------------------------------------------------------
// Photos by DM
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_dm_with_an_image_sets_the_preset_photo_and_a_pdf_is_refused() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;

    // No emoji in the text: the bot asks which preset.
    let file = slack.add_file(test_png(300, 300, "nothing"), "x.png", "image/png");
    let r = dm_with(&slack, &bot, "U1", "taken at 12:30", vec![file]).await;
    expect!(r, "Which preset", "image without an emoji (a time is not one)");

    // A PDF is refused clearly and creates nothing.
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
    let file = slack.add_file(pdf, "itinerary.pdf", "application/pdf");
    let r = dm_with(&slack, &bot, "U1", ":palm_tree:", vec![file]).await;
    expect!(r, "not an image", "PDF");
    expect!(r, "JPEG, PNG, GIF or WebP", "PDF");
    expect!(slash(&slack, &bot, "U1", "list").await, "no presets", "a refused photo creates no preset");

    // An image with :palm_tree: creates the preset with the processed photo in one step.
    let file = slack.add_file(test_png(900, 600, "beach"), "beach.png", "image/png");
    let r = dm_with(&slack, &bot, "U1", "for :palm_tree: please", vec![file]).await;
    expect!(r, "Saved the photo for :palm_tree:", "image DM");
    expect!(slash(&slack, &bot, "U1", "list").await, "(with photo)", "list after the photo");

    // The stored photo is the 512×512 centre crop: a swap uploads exactly that.
    slack.set_status("U1", ":palm_tree:").await;
    let photos = slack.wait_for_calls("users.setPhoto", 1, secs(20)).await;
    assert_eq!(photos.len(), 1, "{}", bot.logs());
    let uploaded = photos[0].file("image").expect("multipart image").to_vec();
    assert_eq!(image_dims(&uploaded), Some((512, 512)));
    assert!(looks_like_seed(&uploaded, "beach"), "uploaded photo is not the crop of the DM'd image");
    assert!(slack.calls_to("users.profile.set").is_empty(), "a photo-only preset keeps the member's name");

    // A later refused file leaves the preset's photo alone.
    let pdf = b"%PDF-1.7\n%%EOF\n".to_vec();
    let file = slack.add_file(pdf, "doc.pdf", "application/pdf");
    let r = dm_with(&slack, &bot, "U1", ":palm_tree:", vec![file]).await;
    expect!(r, "unchanged", "second PDF");
    expect!(slash(&slack, &bot, "U1", "list").await, "(with photo)", "photo kept");
}

// ---------------------------------------------------------------------------------------------
// App Home
// ---------------------------------------------------------------------------------------------

fn home_text(slack: &FakeSlack, user: &str) -> String {
    slack.home_view(user).map(|v| collect_text(&v)).unwrap_or_default()
}

fn publishes_for(slack: &FakeSlack, user: &str) -> usize {
    slack.calls_to("views.publish").iter().filter(|c| c.param("user_id").as_deref() == Some(user)).count()
}

/// Waits for a new views.publish for `user` (beyond `before`) whose view satisfies `f`.
async fn wait_home(slack: &FakeSlack, bot: &Bot, user: &str, before: usize, what: &str, f: impl Fn(&str) -> bool) -> String {
    let ok = slack.wait_until(secs(20), |s| publishes_for(s, user) > before && f(&home_text(s, user))).await;
    assert!(ok, "Home never showed {what}; last view:\n{}\n{}", home_text(slack, user), bot.logs());
    home_text(slack, user)
}

fn text_state(emoji: &str, name: &str) -> Value {
    json!({
        "emoji_block": {"emoji_input": {"type": "plain_text_input", "value": emoji}},
        "name_block": {"name_input": {"type": "plain_text_input", "value": name}},
        "photo_block": {"photo_input": {"type": "file_input", "files": []}}
    })
}

async fn submission_ack(slack: &FakeSlack, bot: &Bot, env: &str) -> Option<Value> {
    slack.wait_for_ack(env, secs(15)).await.unwrap_or_else(|| panic!("view_submission not acked:\n{}", bot.logs())).payload
}

#[tokio::test(flavor = "multi_thread")]
async fn app_home_lists_presets_and_edit_delete_add_round_trip() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    slack.add_member("U2", "Bob");
    let bot = Bot::spawn(&slack, opts(Some(token), Some(ROOMY_LIMITS), &[]));
    ready(&slack, &bot).await;
    expect!(slash(&slack, &bot, "U1", "add :palm_tree: On vacation").await, "Saved", "add");

    // Opening the tab publishes the member's view soon after the ack.
    let before = publishes_for(&slack, "U1");
    let (env, _) = slack.app_home_opened("U1").await;
    let acked = slack.wait_for_ack(&env, secs(10)).await.expect("app_home_opened acked");
    let home = wait_home(&slack, &bot, "U1", before, "the preset", |t| t.contains("On vacation")).await;
    let published_at = slack.calls_to("views.publish").iter().rev().find(|c| c.param("user_id").as_deref() == Some("U1")).map(|c| c.at);
    let lag = published_at.map(|t| t.saturating_duration_since(acked.at)).unwrap_or_default();
    assert!(lag < secs(5), "views.publish came {lag:?} after the ack");
    assert!(home.contains(":palm_tree:"), "{home}");
    assert!(home.contains("Connected"), "connection state shown: {home}");
    assert!(home.contains("no photo"), "{home}");
    let view = slack.home_view("U1").expect("home view");
    assert_eq!(view["type"], "home");
    assert!(view["blocks"].as_array().is_some_and(|b| b.len() <= 100));
    let buttons: Vec<Value> = find_all(&view, &|v| v["type"] == "button");
    for action in [ACTION_EDIT, ACTION_DELETE, ACTION_ADD, ACTION_PAUSE] {
        assert!(buttons.iter().any(|b| b["action_id"] == action), "no {action} button in {view}");
    }
    assert!(buttons.iter().any(|b| b["action_id"] == ACTION_DELETE && b["value"] == "palm_tree" && b.get("confirm").is_some()));
    // Only the member who opened the tab got a view.
    assert!(slack.home_view("U2").is_none());

    // Add: the button opens the modal; the submission creates the preset and re-publishes.
    let opened = slack.calls_to("views.open").len();
    slack.block_action("U1", ACTION_ADD, "add", slack.home_view("U1")).await;
    let calls = slack.wait_for_calls("views.open", opened + 1, secs(10)).await;
    assert_eq!(calls.len(), opened + 1, "Add preset opens a modal:\n{}", bot.logs());
    let modal = calls[opened].json_param("view").expect("modal");
    assert_eq!(modal["callback_id"], MODAL);
    let inputs: Vec<Value> = find_all(&modal, &|v| v["type"] == "input");
    // Issue 14: the photo choice (image, badge, frame, none), the frame's colour and label.
    assert_eq!(inputs.len(), 6, "emoji, name, photo, photo choice, frame colour, frame label: {modal}");
    assert!(find_all(&modal, &|v| v["type"] == "file_input").len() == 1, "{modal}");

    let before = publishes_for(&slack, "U1");
    let env = slack.view_submission("U1", MODAL, "", text_state(":coffee:", "Coffee break")).await;
    let ack = submission_ack(&slack, &bot, &env).await;
    assert!(ack.as_ref().is_none_or(|a| a["response_action"] != "errors"), "valid submission refused: {ack:?}");
    let home = wait_home(&slack, &bot, "U1", before, "the added preset", |t| t.contains("Coffee break")).await;
    assert!(home.contains("On vacation"), "{home}");
    expect!(slash(&slack, &bot, "U1", "list").await, "Coffee break", "list after Add");

    // Field errors come back inline.
    let env = slack.view_submission("U1", MODAL, "", text_state(":no_such_emoji_here:", "Nope")).await;
    let ack = submission_ack(&slack, &bot, &env).await.expect("errors in the ack payload");
    assert_eq!(ack["response_action"], "errors", "{ack}");
    assert!(ack["errors"]["emoji_block"].as_str().is_some_and(|e| e.contains("no_such_emoji_here")), "{ack}");
    let env = slack.view_submission("U1", MODAL, "", text_state("", "Nameless")).await;
    let ack = submission_ack(&slack, &bot, &env).await.expect("errors in the ack payload");
    assert_eq!(ack["response_action"], "errors", "{ack}");
    assert!(ack["errors"]["emoji_block"].is_string(), "{ack}");
    let env = slack.view_submission("U1", MODAL, "", text_state(":rocket:", "")).await;
    let ack = submission_ack(&slack, &bot, &env).await.expect("errors in the ack payload");
    assert_eq!(ack["response_action"], "errors", "a preset needs a name or a photo: {ack}");
    assert!(ack["errors"]["name_block"].is_string(), "{ack}");
    let list = slash(&slack, &bot, "U1", "list").await;
    assert!(!list.contains("no_such_emoji_here") && !list.contains("Nameless") && !list.contains(":rocket:"), "{list}");

    // Edit: the modal is pre-filled; the submission renames and re-publishes.
    let opened = slack.calls_to("views.open").len();
    slack.block_action("U1", ACTION_EDIT, "palm_tree", slack.home_view("U1")).await;
    let calls = slack.wait_for_calls("views.open", opened + 1, secs(10)).await;
    assert_eq!(calls.len(), opened + 1, "Edit opens a modal:\n{}", bot.logs());
    let modal = calls[opened].json_param("view").expect("modal");
    assert_eq!(modal["private_metadata"], "palm_tree");
    let modal_text = modal.to_string();
    assert!(modal_text.contains("On vacation") && modal_text.contains(":palm_tree:"), "edit modal pre-filled: {modal}");

    let before = publishes_for(&slack, "U1");
    let env = slack.view_submission("U1", MODAL, "palm_tree", text_state(":palm_tree:", "Beach time")).await;
    submission_ack(&slack, &bot, &env).await;
    wait_home(&slack, &bot, "U1", before, "the renamed preset", |t| t.contains("Beach time") && !t.contains("On vacation")).await;
    let list = slash(&slack, &bot, "U1", "list").await;
    assert!(list.contains("Beach time") && !list.contains("On vacation"), "{list}");

    // The file_input of a submission sets the photo (file ids from the raw payload).
    let file = slack.add_file(test_png(800, 1000, "modal"), "me.png", "image/png");
    let mut state = text_state(":palm_tree:", "Beach time");
    state["photo_block"] = slack.file_input_state("photo_block", "photo_input", &[&file])["photo_block"].clone();
    let before = publishes_for(&slack, "U1");
    let env = slack.view_submission("U1", MODAL, "palm_tree", state).await;
    let ack = submission_ack(&slack, &bot, &env).await;
    assert!(ack.as_ref().is_none_or(|a| a["response_action"] != "errors"), "{ack:?}");
    wait_home(&slack, &bot, "U1", before, "the photo", |t| t.contains("photo set")).await;
    expect!(slash(&slack, &bot, "U1", "list").await, "Beach time* (with photo)", "list after the modal photo");
    slack.set_status("U1", ":palm_tree:").await;
    let photos = slack.wait_for_calls("users.setPhoto", 1, secs(20)).await;
    assert_eq!(photos.len(), 1, "{}", bot.logs());
    let uploaded = photos[0].file("image").expect("image").to_vec();
    assert_eq!(image_dims(&uploaded), Some((512, 512)));
    assert!(looks_like_seed(&uploaded, "modal"), "the modal's file is the preset photo");

    // Delete: gone from the store and from the next published view.
    let before = publishes_for(&slack, "U1");
    slack.block_action("U1", ACTION_DELETE, "coffee", slack.home_view("U1")).await;
    let home = wait_home(&slack, &bot, "U1", before, "the preset deleted", |t| !t.contains("Coffee break")).await;
    assert!(home.contains("Beach time"), "{home}");
    let list = slash(&slack, &bot, "U1", "list").await;
    assert!(!list.contains("coffee") && list.contains("Beach time"), "{list}");

    // Pause from Home.
    let before = publishes_for(&slack, "U1");
    slack.block_action("U1", ACTION_PAUSE, ACTION_PAUSE, slack.home_view("U1")).await;
    wait_home(&slack, &bot, "U1", before, "paused", |t| t.contains("Paused") && t.contains("Resume")).await;
    expect!(slash(&slack, &bot, "U1", "status").await, "Paused: yes", "status after Pause");
}

/// Every object in `v` (depth-first) for which `f` holds.
fn find_all(v: &Value, f: &dyn Fn(&Value) -> bool) -> Vec<Value> {
    let mut out = Vec::new();
    fn walk(v: &Value, f: &dyn Fn(&Value) -> bool, out: &mut Vec<Value>) {
        match v {
            Value::Object(o) => {
                if f(v) {
                    out.push(v.clone());
                }
                o.values().for_each(|x| walk(x, f, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, f, out)),
            _ => {}
        }
    }
    walk(v, f, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Emoji cache
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn aliases_match_either_name_unknown_emoji_are_refused_and_removals_are_forgotten() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let shark_url = format!("{}/emoji/hackshark.png", slack.origin());
    slack.set_emoji([("hackshark".to_string(), shark_url.clone()), ("hackhaj".to_string(), "alias:hackshark".to_string())].into());
    let bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;

    let r = slash(&slack, &bot, "U1", "add :hackhaj: Shark mode").await;
    expect!(r, "Saved", "add by alias");
    expect!(r, ":hackshark:", "the preset is kept under the canonical name");

    // A status of the alias triggers the preset...
    slack.set_status("U1", ":hackhaj:").await;
    let sets = slack.wait_for_calls("users.profile.set", 1, secs(20)).await;
    assert_eq!(sets.len(), 1, "{}", bot.logs());
    assert_eq!(slack.member_profile("U1")["display_name"], "Shark mode");
    // ...clearing restores...
    slack.set_status("U1", "").await;
    let ok = slack.wait_until(secs(30), |s| s.member_profile("U1")["display_name"] == "Ada").await;
    assert!(ok, "not restored:\n{}", bot.logs());
    // ...and a status of the aliased emoji triggers it too.
    slack.set_status("U1", ":hackshark:").await;
    let ok = slack.wait_until(secs(30), |s| s.member_profile("U1")["display_name"] == "Shark mode").await;
    assert!(ok, "the aliased name did not trigger the preset:\n{}", bot.logs());

    // The Home row shows the custom emoji's image.
    let (env, _) = slack.app_home_opened("U1").await;
    slack.wait_for_ack(&env, secs(10)).await.expect("acked");
    let ok = slack.wait_until(secs(20), |s| s.home_view("U1").is_some_and(|v| v.to_string().contains(&shark_url))).await;
    assert!(ok, "no emoji image in Home: {:?}", slack.home_view("U1"));

    // An emoji neither the workspace nor the standard set knows is refused.
    let r = slash(&slack, &bot, "U1", "add :no_such_emoji: Nope").await;
    expect!(r, "I don't know the emoji :no_such_emoji:", "unknown emoji");
    assert!(!slash(&slack, &bot, "U1", "list").await.contains("Nope"));

    // A new emoji is known as soon as emoji_changed says so.
    let (env, _) = slack
        .push_event(json!({"type": "emoji_changed", "subtype": "add", "name": "partyparrot", "value": format!("{}/emoji/pp.gif", slack.origin()), "event_ts": "1700000000.000100"}))
        .await;
    slack.wait_for_ack(&env, secs(10)).await.expect("emoji_changed acked");
    expect!(slash(&slack, &bot, "U1", "add :partyparrot: Party").await, "Saved", "emoji added by event");

    // emoji_changed remove: the cache forgets the emoji and its aliases.
    let (env, _) = slack
        .push_event(json!({"type": "emoji_changed", "subtype": "remove", "names": ["hackshark"], "event_ts": "1700000000.000200"}))
        .await;
    slack.wait_for_ack(&env, secs(10)).await.expect("emoji_changed acked");
    let r = slash(&slack, &bot, "U1", "add :hackshark: Again").await;
    expect!(r, "I don't know the emoji :hackshark:", "removed emoji");
    let r = slash(&slack, &bot, "U1", "add :hackhaj: Again").await;
    expect!(r, "I don't know the emoji :hackhaj:", "alias of a removed emoji");
    // Standard emoji and their Slack aliases still resolve.
    let r = slash(&slack, &bot, "U1", "add :thumbsup: Yes").await;
    expect!(r, "Saved", "standard alias");
    expect!(r, ":+1:", "thumbsup and +1 are one emoji");
}

// ---------------------------------------------------------------------------------------------
// Rate limit
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn forty_commands_in_two_seconds_get_twenty_answers_and_one_notice() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    slack.add_member("U2", "Bob");
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;

    let start = Instant::now();
    let mut burst = Vec::new();
    let mut other = Vec::new();
    for i in 0..40 {
        burst.push(slack.slash_command("U1", "list").await);
        if i % 8 == 0 {
            other.push(slack.slash_command("U2", "list").await);
        }
        tokio::time::sleep(Duration::from_millis(45)).await;
    }
    assert!(start.elapsed() < secs(5), "the burst itself took {:?}", start.elapsed());

    let mut answered = 0;
    let mut notices = 0;
    let mut silent = 0;
    for env in &burst {
        let ack = slack.wait_for_ack(env, secs(20)).await.unwrap_or_else(|| panic!("no ack for {env}:\n{}", bot.logs()));
        match ack.payload.map(|p| collect_text(&p)) {
            Some(t) if has(&t, "no presets") => answered += 1,
            Some(t) if has(&t, "faster than") => notices += 1,
            Some(t) => panic!("unexpected reply {t:?}"),
            None => silent += 1,
        }
    }
    assert_eq!((answered, notices, silent), (20, 1, 19), "{}", bot.logs());
    for env in &other {
        let ack = slack.wait_for_ack(env, secs(20)).await.expect("acked");
        let t = ack.payload.map(|p| collect_text(&p)).unwrap_or_default();
        assert!(has(&t, "no presets"), "the other member is answered normally: {t:?}");
    }
    // Past the limit nothing else happens: no message, no response_url post.
    tokio::time::sleep(secs(1)).await;
    assert!(slack.calls_to("chat.postMessage").is_empty());
    assert!(slack.responses().is_empty());

    // DMs share the member's budget: still limited, and no second notice in the window.
    let (env, _) = slack.dm("U1", "list", vec![]).await;
    slack.wait_for_ack(&env, secs(10)).await.expect("acked");
    tokio::time::sleep(secs(2)).await;
    assert!(dm_posts(&slack, "U1").is_empty(), "a limited DM gets no reply: {:?}", slack.bot_texts("U1"));
}

// ---------------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_member_cannot_see_or_change_another_members_presets() {
    let slack = FakeSlack::start().await;
    slack.add_member("UA", "Ann");
    slack.add_member("UB", "Ben");
    let bot = Bot::spawn(&slack, opts(None, Some(ROOMY_LIMITS), &[]));
    ready(&slack, &bot).await;

    expect!(slash(&slack, &bot, "UA", "add :palm_tree: Ann away").await, "Saved", "A add");
    expect!(slash(&slack, &bot, "UB", "add :palm_tree: Ben away").await, "Saved", "B add");
    expect!(slash(&slack, &bot, "UB", "add :coffee: Ben coffee").await, "Saved", "B add");

    // list shows only one's own
    for surface in [Surface::Slash, Surface::Dm] {
        let r = say(&slack, &bot, surface, "UA", "list").await;
        assert!(r.contains("Ann away") && !r.contains("Ben"), "{surface:?} list: {r}");
    }
    // remove by command: only A's own
    expect!(slash(&slack, &bot, "UA", "remove :coffee:").await, "no preset for :coffee:", "A removes B's emoji");
    // Delete button carrying B's emoji: removes only A's preset of that name
    slack.block_action("UA", ACTION_DELETE, "coffee", None).await;
    slack.block_action("UA", ACTION_DELETE, "palm_tree", None).await;
    let ok = slack.wait_until(secs(20), |s| s.home_view("UA").is_some_and(|v| !collect_text(&v).contains("Ann away"))).await;
    assert!(ok, "A's delete did not re-publish A's Home:\n{}", bot.logs());
    let b = slash(&slack, &bot, "UB", "list").await;
    assert!(b.contains("Ben away") && b.contains("Ben coffee"), "B's presets survive A's actions: {b}");
    expect!(slash(&slack, &bot, "UA", "list").await, "no presets", "A's palm_tree is gone");

    // Edit button with B's emoji opens nothing; a submission naming B's emoji edits only A's own.
    let opened = slack.calls_to("views.open").len();
    slack.block_action("UA", ACTION_EDIT, "coffee", None).await;
    tokio::time::sleep(secs(2)).await;
    assert_eq!(slack.calls_to("views.open").len(), opened, "no modal for someone else's preset");
    let env = slack.view_submission("UA", MODAL, "coffee", text_state(":coffee:", "Hijacked")).await;
    slack.wait_for_ack(&env, secs(10)).await.expect("acked");
    let env = slack.view_submission("UA", MODAL, "palm_tree", text_state(":rocket:", "Moved")).await;
    slack.wait_for_ack(&env, secs(10)).await.expect("acked");
    let ok = slack.wait_until(secs(20), |s| s.home_view("UA").is_some_and(|v| collect_text(&v).contains("Moved"))).await;
    assert!(ok, "{}", bot.logs());
    let b = slash(&slack, &bot, "UB", "list").await;
    assert!(b.contains("Ben away") && b.contains("Ben coffee") && !b.contains("Hijacked") && !b.contains("Moved"), "{b}");
    let a = slash(&slack, &bot, "UA", "list").await;
    assert!(a.contains("Hijacked") && a.contains("Moved") && !a.contains("Ben"), "{a}");

    // Home views never show the other member's presets, and each member gets only their own.
    for (env, _) in [slack.app_home_opened("UA").await, slack.app_home_opened("UB").await] {
        slack.wait_for_ack(&env, secs(10)).await.expect("acked");
    }
    let ok = slack.wait_until(secs(20), |s| s.home_view("UB").is_some()).await;
    assert!(ok);
    let a_home = home_text(&slack, "UA");
    let b_home = home_text(&slack, "UB");
    assert!(!a_home.contains("Ben"), "{a_home}");
    assert!(!b_home.contains("Hijacked") && !b_home.contains("Moved") && b_home.contains("Ben coffee"), "{b_home}");
}

// ---------------------------------------------------------------------------------------------
// Bot messages
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_bot_ignores_bot_messages_and_its_own_echoes() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    slack.set_echo_bot_messages(true);
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;

    // Its own reply echoes back as a message event: no reply loop.
    expect!(dm(&slack, &bot, "U1", "frobnicate").await, "I don't know", "first DM");
    tokio::time::sleep(secs(3)).await;
    assert_eq!(slack.calls_to("chat.postMessage").len(), 1, "the echo of the bot's reply was answered:\n{}", bot.logs());
    let echoes = slack.envelopes().iter().filter(|e| e.payload["event"]["bot_id"] == BOT_ID).count();
    assert!(echoes >= 1, "the fake echoed the bot's message");

    // Other bots, bot_message subtypes and the bot's own user id are ignored too.
    let events = [
        json!({"type": "message", "text": "list", "user": "U7", "bot_id": "B7", "channel": "DU7", "channel_type": "im", "ts": "1700000001.000100"}),
        json!({"type": "message", "subtype": "bot_message", "text": "help", "bot_id": "B8", "channel": "DU1", "channel_type": "im", "ts": "1700000001.000200"}),
        json!({"type": "message", "text": "help", "user": BOT_USER, "channel": "DUBOT", "channel_type": "im", "ts": "1700000001.000300"}),
        json!({"type": "message", "subtype": "message_changed", "channel": "DU1", "channel_type": "im", "ts": "1700000001.000400",
               "message": {"type": "message", "user": "U1", "text": "help"}}),
    ];
    for ev in events {
        let (env, _) = slack.push_event(ev).await;
        slack.wait_for_ack(&env, secs(10)).await.expect("acked");
    }
    tokio::time::sleep(secs(2)).await;
    assert_eq!(slack.calls_to("chat.postMessage").len(), 1, "a bot message was answered:\n{}", bot.logs());

    // A member's message is still answered.
    expect!(dm(&slack, &bot, "U1", "list").await, "no presets", "member DM");
    tokio::time::sleep(secs(2)).await;
    assert_eq!(slack.calls_to("chat.postMessage").len(), 2, "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preset_modal_keeps_presets_whole() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    let bot = Bot::spawn(&slack, opts(None, Some(ROOMY_LIMITS), &[]));
    ready(&slack, &bot).await;
    expect!(slash(&slack, &bot, "U1", "add :palm_tree: On vacation").await, "Saved", "add");
    expect!(slash(&slack, &bot, "U1", "add :coffee: Coffee break").await, "Saved", "add");
    let file = slack.add_file(test_png(400, 400, "sun"), "sun.png", "image/png");
    expect!(dm_with(&slack, &bot, "U1", ":palm_tree:", vec![file]).await, "Saved the photo", "photo");

    // Editing one preset under the emoji of another is refused inline; both stay as they were.
    let env = slack.view_submission("U1", MODAL, "palm_tree", text_state(":coffee:", "Merged")).await;
    let ack = submission_ack(&slack, &bot, &env).await.expect("errors in the ack");
    assert_eq!(ack["response_action"], "errors", "{ack}");
    assert!(ack["errors"]["emoji_block"].as_str().is_some_and(|e| e.contains(":coffee:")), "{ack}");
    let list = slash(&slack, &bot, "U1", "list").await;
    assert!(list.contains("*On vacation* (with photo)") && list.contains("*Coffee break*") && !list.contains("Merged"), "{list}");

    // Moving to a free emoji keeps the photo.
    let env = slack.view_submission("U1", MODAL, "palm_tree", text_state(":desert_island:", "On vacation")).await;
    assert!(submission_ack(&slack, &bot, &env).await.is_none_or(|a| a["response_action"] != "errors"));
    let list = slash(&slack, &bot, "U1", "list").await;
    assert!(list.contains(":desert_island: → *On vacation* (with photo)") && !list.contains(":palm_tree:"), "{list}");

    // Emptying the name of a preset with a photo makes it photo-only.
    let env = slack.view_submission("U1", MODAL, "desert_island", text_state(":desert_island:", "")).await;
    assert!(submission_ack(&slack, &bot, &env).await.is_none_or(|a| a["response_action"] != "errors"));
    let list = slash(&slack, &bot, "U1", "list").await;
    assert!(list.contains(":desert_island: → _your own name_ (with photo)"), "{list}");
    // ...but not of one without a photo.
    let env = slack.view_submission("U1", MODAL, "coffee", text_state(":coffee:", "")).await;
    let ack = submission_ack(&slack, &bot, &env).await.expect("errors in the ack");
    assert_eq!(ack["response_action"], "errors", "{ack}");
    expect!(slash(&slack, &bot, "U1", "list").await, "*Coffee break*", "name kept");

    // A new preset whose only content is a file that is not an image is not left behind empty.
    let pdf = slack.add_file(b"%PDF-1.4\n%%EOF\n".to_vec(), "a.pdf", "application/pdf");
    let mut state = text_state(":rocket:", "");
    state["photo_block"] = slack.file_input_state("photo_block", "photo_input", &[&pdf])["photo_block"].clone();
    let env = slack.view_submission("U1", MODAL, "", state).await;
    assert!(submission_ack(&slack, &bot, &env).await.is_none_or(|a| a["response_action"] != "errors"));
    let told = slack.wait_for_bot_text("U1", "couldn't use that photo", secs(20)).await;
    let told = told.unwrap_or_else(|| panic!("no message about the refused file: {:?}\n{}", slack.bot_texts("U1"), bot.logs()));
    assert!(told.contains("not an image") && told.contains("not created") && !told.contains("::"), "{told}");
    let list = slash(&slack, &bot, "U1", "list").await;
    assert!(!list.contains(":rocket:"), "an empty preset was left behind: {list}");
}

#[tokio::test(flavor = "multi_thread")]
async fn app_home_stays_under_the_block_limit_with_many_presets() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    let emoji: std::collections::HashMap<String, String> =
        (1..=45).map(|i| (format!("team{i}"), format!("{}/emoji/team{i}.png", slack.origin()))).collect();
    slack.set_emoji(emoji);
    let bot = Bot::spawn(&slack, opts(None, Some(ROOMY_LIMITS), &[]));
    ready(&slack, &bot).await;
    for i in 1..=45 {
        expect!(slash(&slack, &bot, "U1", &format!("add :team{i}: Team {i}")).await, "Saved", "add");
    }
    let list = slash(&slack, &bot, "U1", "list").await;
    assert_eq!(list.matches("→").count(), 45, "list shows them all: {list}");

    let before = publishes_for(&slack, "U1");
    let (env, _) = slack.app_home_opened("U1").await;
    slack.wait_for_ack(&env, secs(10)).await.expect("acked");
    let home = wait_home(&slack, &bot, "U1", before, "the summary", |t| t.contains("more")).await;
    let view = slack.home_view("U1").expect("view");
    let blocks = view["blocks"].as_array().map(Vec::len).unwrap_or(0);
    assert!(blocks <= 100, "{blocks} blocks");
    assert!(home.contains("and 5 more"), "{home}");
    assert!(find_all(&view, &|v| v["type"] == "image").len() >= 40, "custom emoji images shown");
    assert!(find_all(&view, &|v| v["action_id"] == ACTION_ADD).len() == 1, "Add preset is still there");
}

#[tokio::test(flavor = "multi_thread")]
async fn quick_changes_leave_home_showing_the_latest_state() {
    let slack = FakeSlack::start().await;
    slack.add_member("U1", "Ada");
    let bot = Bot::spawn(&slack, BotOptions::default());
    ready(&slack, &bot).await;
    let before = publishes_for(&slack, "U1");
    expect!(slash(&slack, &bot, "U1", "add :palm_tree: On vacation").await, "Saved", "add");
    wait_home(&slack, &bot, "U1", before, "the preset", |t| t.contains("On vacation")).await;

    // The first publish (after Pause) is slow to reach Slack; Resume follows at once.
    slack.fail_next("views.publish", Fault::Delay(millis(1500)));
    let before = publishes_for(&slack, "U1");
    slack.block_action("U1", ACTION_PAUSE, ACTION_PAUSE, slack.home_view("U1")).await;
    assert!(slack.wait_until(secs(10), |s| publishes_for(s, "U1") > before).await, "{}", bot.logs());
    slack.block_action("U1", "home_resume", "home_resume", slack.home_view("U1")).await;
    assert!(slack.wait_until(secs(20), |s| publishes_for(s, "U1") >= before + 2).await, "{}", bot.logs());
    tokio::time::sleep(millis(2500)).await;

    // Slack keeps the last view it received: it must be the state after Resume.
    expect!(slash(&slack, &bot, "U1", "status").await, "Paused: no", "status");
    let home = home_text(&slack, "U1");
    assert!(home.contains("Active") && !home.contains("Paused"), "Home shows a stale state:\n{home}");
}
