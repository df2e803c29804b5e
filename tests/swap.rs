//! Status-driven swaps end to end: the real binary against the fake Slack.

mod common;
use common::*;

async fn ready(slack: &FakeSlack, bot: &Bot) {
    assert!(slack.wait_for_sockets(1, secs(15)).await, "bot never connected:\n{}", bot.logs());
}

async fn add_preset(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) {
    let env = slack.slash_command(user, text).await;
    let ack = slack.wait_for_ack(&env, secs(5)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    let reply = ack.payload.map(|p| collect_text(&p)).unwrap_or_default();
    assert!(reply.contains("Saved"), "unexpected reply {reply:?}");
}

async fn set_photo_by_dm(slack: &FakeSlack, bot: &Bot, user: &str, emoji: &str, bytes: Vec<u8>) {
    let file = slack.add_file(bytes, "photo.png", "image/png");
    slack.dm(user, emoji, vec![file]).await;
    let reply = slack.wait_for_bot_text(user, "Saved the photo", secs(10)).await;
    assert!(reply.is_some(), "photo not saved: {:?}\n{}", slack.bot_texts(user), bot.logs());
}

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
