//! Hardening (issue 11): what a hostile member and a hostile input found, one regression test
//! each — names Slack refuses, the `list` cap, escaping member-written text, bounded reads in
//! `presets import`, and trace logs that keep the wire out.

mod common;
use common::*;

use serde_json::{json, Value};

const MEMBER: &str = "U1";

/// Runs a slash command as the member and returns the text of its ack.
async fn command(slack: &FakeSlack, bot: &Bot, text: &str) -> String {
    slash_reply(slack, bot, MEMBER, text).await
}

fn member_bot(slack: &FakeSlack) -> Bot {
    let token = slack.add_member(MEMBER, "Ada");
    Bot::single_user(slack, &token)
}

/// Regression: `add` accepted names Slack refuses (`@…`, `<!here>`, addresses), and the swap then
/// failed whole, photo included.
#[tokio::test(flavor = "multi_thread")]
async fn names_slack_would_refuse_are_refused_at_add() {
    let slack = FakeSlack::start().await;
    let bot = member_bot(&slack);
    ready(&slack, &bot).await;
    for (text, why) in [
        ("add :palm_tree: @ada", "starts with `@`"),
        ("add :palm_tree: <!here>", "starts with `@`"),
        ("add :palm_tree: <https://evil.example/x>", "web address"),
        ("add :palm_tree: Out, see example.com", "web address"),
    ] {
        let reply = command(&slack, &bot, text).await;
        assert!(reply.contains(why), "{text}: {reply}");
        assert!(!reply.contains("Saved"), "{text}: {reply}");
    }
    let list = command(&slack, &bot, "list").await;
    assert!(list.contains("no presets"), "{list}");
}

/// Regression: when Slack refused a preset's name anyway, the whole swap was dead-lettered and the
/// photo never applied. Now the photo goes on and the member hears about the name, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_name_slack_refuses_still_applies_the_photo_and_says_why() {
    let slack = FakeSlack::start().await;
    let bot = member_bot(&slack);
    ready(&slack, &bot).await;
    assert!(command(&slack, &bot, "add :palm_tree: On vacation").await.contains("Saved"));
    let file = slack.add_file(test_png(600, 600, "beach"), "beach.png", "image/png");
    slack.dm(MEMBER, ":palm_tree:", vec![file]).await;
    assert!(slack.wait_for_bot_text(MEMBER, "Saved the photo", secs(20)).await.is_some(), "{}", bot.logs());

    slack.fail_next("users.profile.set", Fault::SlackError("name_not_allowed".into()));
    slack.set_status(MEMBER, ":palm_tree:").await;
    let photos = slack.wait_for_calls("users.setPhoto", 1, secs(20)).await;
    assert_eq!(photos.len(), 1, "the photo was not applied:\n{}", bot.logs());
    assert!(looks_like_seed(photos[0].file("image").expect("image part"), "beach"));
    let told = slack.wait_for_bot_text(MEMBER, "refused the display name", secs(10)).await;
    let told = told.unwrap_or_else(|| panic!("the member was not told:\n{}", bot.logs()));
    assert!(told.contains(":palm_tree:") && told.contains("name_not_allowed"), "{told}");
    assert_ne!(slack.member_profile(MEMBER)["display_name"], "On vacation");

    // Clearing the status puts the member's own photo back; the name was never changed.
    slack.set_status(MEMBER, "").await;
    assert_eq!(slack.wait_for_calls("users.setPhoto", 2, secs(20)).await.len(), 2, "{}", bot.logs());
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "Ada");
    let status = command(&slack, &bot, "status").await;
    assert!(status.contains("refused the name"), "{status}");
}

/// Regression: `list` had no cap (600 presets gave a 57,014-character reply).
#[tokio::test(flavor = "multi_thread")]
async fn list_of_hundreds_of_presets_is_summarised_and_points_to_home() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;
    assert!(bot.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", bot.logs());
    let emoji: Vec<&str> = emojis::iter().filter_map(|e| e.shortcode()).take(600).collect();
    assert_eq!(emoji.len(), 600);
    let records: Vec<Value> =
        emoji.iter().map(|e| json!({"member": MEMBER, "emoji": e, "name": format!("A rather long preset name for {e}")})).collect();
    let file = bot.dir().join("many.json");
    std::fs::write(&file, serde_json::to_vec(&records).unwrap()).unwrap();
    let (st, out, err) = run_command(&bot, &["presets", "import", file.to_str().unwrap()]);
    assert!(st.success(), "import failed:\n{out}\n{err}");
    // Some shortcodes are aliases of one another and land on the same preset.
    let (st, out, err) = run_command(&bot, &["presets", "export"]);
    assert!(st.success(), "{err}");
    let stored = serde_json::from_str::<Value>(&out).expect("export is JSON").as_array().map_or(0, Vec::len);
    assert!(stored > 500, "only {stored} presets imported");
    bot.restart().await;
    ready(&slack, &bot).await;

    let list = command(&slack, &bot, "list").await;
    assert!(list.chars().count() <= 4_000, "{} characters", list.chars().count());
    assert!(list.contains(&format!("({stored} in all)")) && list.contains("App Home"), "{list}");
    assert!(list.lines().filter(|l| l.starts_with('•')).count() >= 40, "{list}");
}

/// Regression: member-written names went back raw into the `add` and `list` replies, so a name
/// could ping the channel or show a link.
#[tokio::test(flavor = "multi_thread")]
async fn member_text_in_replies_is_escaped() {
    let slack = FakeSlack::start().await;
    let bot = member_bot(&slack);
    ready(&slack, &bot).await;
    // Slack sends typed angle brackets escaped; the bot stores the plain text `Ada <!channel>`.
    let added = command(&slack, &bot, "add :palm_tree: Ada &lt;!channel&gt; &amp; co").await;
    assert!(added.contains("Saved"), "{added}");
    let list = command(&slack, &bot, "list").await;
    for reply in [&added, &list] {
        assert!(!reply.contains("<!channel>"), "raw mention in {reply:?}");
        assert!(reply.contains("Ada &lt;!channel&gt; &amp; co"), "{reply:?}");
    }
}

/// Regression: `presets import` read `/dev/zero` (4.2 GB) before its size check.
#[tokio::test(flavor = "multi_thread")]
async fn presets_import_reads_no_more_than_its_limits() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;
    assert!(bot.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", bot.logs());

    let (st, out, err) = run_command(&bot, &["presets", "import", "/dev/zero"]);
    assert!(!st.success(), "{out}\n{err}");
    assert!(err.contains("/dev/zero is larger than 256 MB"), "{err}");

    let file = bot.dir().join("zero.json");
    std::fs::write(&file, serde_json::to_vec(&json!([{"member": MEMBER, "emoji": "car", "photo": "/dev/zero"}])).unwrap()).unwrap();
    let (st, out, err) = run_command(&bot, &["presets", "import", file.to_str().unwrap()]);
    assert_eq!(st.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("/dev/zero is larger than 10 MB"), "{err}");
}

/// Regression: `RUST_LOG=trace` logged raw websocket frames, with what members paste in them.
#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_keep_websocket_frames_out() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::spawn(
        &slack,
        BotOptions { user_token: Some(token.clone()), env: vec![("RUST_LOG".into(), "trace".into())], ..Default::default() },
    );
    ready(&slack, &bot).await;
    let secret = "pasted-code-5ecre7";
    let reply = command(&slack, &bot, &format!("connect {secret}")).await;
    assert!(!reply.is_empty());
    assert!(command(&slack, &bot, "add :palm_tree: On vacation").await.contains("Saved"));
    slack.set_status(MEMBER, ":palm_tree:").await;
    slack.wait_for_calls("users.profile.set", 1, secs(20)).await;
    let logs = bot.logs();
    assert!(logs.contains("TRACE"), "trace level is not on:\n{logs}");
    assert!(!logs.contains(secret), "a pasted code reached the log");
    for t in [token.as_str(), BOT_TOKEN, APP_TOKEN] {
        assert!(!logs.contains(t), "a token reached the log");
    }
}
