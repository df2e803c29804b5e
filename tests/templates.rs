//! Preset name templates end to end (issue 14; SPEC "Preset names: templates"): the real
//! binary against the fake Slack.
//!
//! `{name}` is the member's own name from the baseline, `{status}` the status text with HTML
//! entities decoded; a new status text under the same emoji rewrites a `{status}` name once;
//! the result is cut to 80 characters in the values, never the literal text; `{{`/`}}` are
//! literal; any other placeholder is refused at `add`, by slash command and by DM.

mod common;
use common::*;

use std::time::Duration;

use serde_json::json;

const MEMBER: &str = "U1";

/// A member U1 with `display_name`, a bot in single-user mode for them, and the preset `add`.
async fn setup(slack: &FakeSlack, display_name: &str, add: &str) -> Bot {
    let token = slack.add_member(MEMBER, display_name);
    let bot = Bot::single_user(slack, &token);
    ready(slack, &bot).await;
    let reply = slash_reply(slack, &bot, MEMBER, add).await;
    assert!(reply.contains("Saved"), "unexpected reply {reply:?}\n{}", bot.logs());
    bot
}

/// Sets the member's status emoji and text as Slack stores them (entities and all) and pushes
/// the `user_change`; waits for its ack.
async fn set_status(slack: &FakeSlack, bot: &Bot, emoji: &str, text: &str) {
    slack.update_profile(MEMBER, json!({"status_emoji": emoji, "status_text": text}));
    let (env, _) = slack.push_event(slack.user_change_event(MEMBER)).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "no ack:\n{}", bot.logs());
}

fn display_name(slack: &FakeSlack) -> String {
    slack.member_profile(MEMBER)["display_name"].as_str().unwrap_or_default().to_string()
}

async fn wait_name(slack: &FakeSlack, bot: &Bot, want: &str) {
    let ok = slack.wait_until(secs(20), |s| s.member_profile(MEMBER)["display_name"] == want).await;
    assert!(ok, "the name never became {want:?}: {:?}\n{}", display_name(slack), bot.logs());
}

fn sets(slack: &FakeSlack) -> Vec<String> {
    slack.calls_to("users.profile.set").iter().filter_map(|c| c.json_param("profile")?["display_name"].as_str().map(String::from)).collect()
}

/// Long enough for the settle window (2 s) and a job's round trip to have passed.
const QUIET: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread")]
async fn name_shows_the_members_own_name_and_it_comes_back_after() {
    let slack = FakeSlack::start().await;
    let bot = setup(&slack, "Countess Ada ✨", "add :palm_tree: {name} (OOO)").await;

    set_status(&slack, &bot, ":palm_tree:", "").await;
    wait_name(&slack, &bot, "Countess Ada ✨ (OOO)").await;
    // `list` shows the template and what it shows now.
    let list = slash_reply(&slack, &bot, MEMBER, "list").await;
    assert!(list.contains("*{name} (OOO)* → Countess Ada ✨ (OOO)"), "{list}");

    // A new status text under the same emoji: `{name}` alone does not change, nothing is written.
    set_status(&slack, &bot, ":palm_tree:", "Somewhere sunny").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(sets(&slack), ["Countess Ada ✨ (OOO)"], "{}", bot.logs());

    // Cleared: the own name comes back, and the next swap still starts from it (never from
    // the preset's rendering).
    set_status(&slack, &bot, "", "").await;
    wait_name(&slack, &bot, "Countess Ada ✨").await;
    set_status(&slack, &bot, ":palm_tree:", "").await;
    wait_name(&slack, &bot, "Countess Ada ✨ (OOO)").await;
    assert_eq!(sets(&slack), ["Countess Ada ✨ (OOO)", "Countess Ada ✨", "Countess Ada ✨ (OOO)"], "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn status_text_is_filled_in_decoded_and_a_new_text_rewrites_the_name_once() {
    let slack = FakeSlack::start().await;
    let bot = setup(&slack, "Ada", "add :palm_tree: {name}: {status}").await;

    set_status(&slack, &bot, ":palm_tree:", "Out &amp; about &lt;3 &quot;ok&quot; &#39;til 5").await;
    wait_name(&slack, &bot, "Ada: Out & about <3 \"ok\" 'til 5").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(sets(&slack).len(), 1, "{}", bot.logs());

    // The same emoji, a new text: exactly one more write, with the new text.
    set_status(&slack, &bot, ":palm_tree:", "Back at 3").await;
    wait_name(&slack, &bot, "Ada: Back at 3").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(sets(&slack), ["Ada: Out & about <3 \"ok\" 'til 5", "Ada: Back at 3"], "{}", bot.logs());

    // The same emoji and text again (another event, e.g. a photo change): nothing is written.
    set_status(&slack, &bot, ":palm_tree:", "Back at 3").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(sets(&slack).len(), 2, "{}", bot.logs());

    // Two quick changes of text are coalesced into one write of the newest.
    set_status(&slack, &bot, ":palm_tree:", "Nearly there").await;
    set_status(&slack, &bot, ":palm_tree:", "Here").await;
    wait_name(&slack, &bot, "Ada: Here").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(sets(&slack).last().map(String::as_str), Some("Ada: Here"));
    assert!(sets(&slack).len() <= 4, "{:?}\n{}", sets(&slack), bot.logs());

    // Cleared: the own name is back.
    set_status(&slack, &bot, "", "").await;
    wait_name(&slack, &bot, "Ada").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_name_is_cut_to_80_characters_keeping_the_literal_text() {
    let slack = FakeSlack::start().await;
    let long = "Augusta Ada Byron King-Noel, Countess of Lovelace, The Enchantress of Numbers ✨🌴";
    assert_eq!(long.chars().count(), 80);
    let bot = setup(&slack, long, "add :palm_tree: {name} (OOO)").await;

    set_status(&slack, &bot, ":palm_tree:", "").await;
    let want = "Augusta Ada Byron King-Noel, Countess of Lovelace, The Enchantress of Num… (OOO)";
    wait_name(&slack, &bot, want).await;
    assert_eq!(display_name(&slack).chars().count(), 80);
    assert!(slack.calls_to("users.profile.set").iter().all(|c| c.json_param("profile").is_some()), "{}", bot.logs());
    assert!(!bot.logs().contains("too_long"), "{}", bot.logs());

    set_status(&slack, &bot, "", "").await;
    wait_name(&slack, &bot, long).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doubled_braces_are_literal() {
    let slack = FakeSlack::start().await;
    let bot = setup(&slack, "Ada", "add :palm_tree: {{literal}} {name}").await;
    set_status(&slack, &bot, ":palm_tree:", "").await;
    wait_name(&slack, &bot, "{literal} Ada").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_placeholders_are_refused_at_add_by_slash_and_by_dm() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::single_user(&slack, &token);
    ready(&slack, &bot).await;

    for text in ["add :palm_tree: {nmae} (OOO)", "add :palm_tree: {name (OOO)"] {
        let reply = slash_reply(&slack, &bot, MEMBER, text).await;
        assert!(reply.contains("`{name}`") && reply.contains("`{status}`"), "{text}: {reply}");
        assert!(!reply.contains("Saved"), "{reply}");
    }
    let reply = slash_reply(&slack, &bot, MEMBER, "add :palm_tree: {nmae} (OOO)").await;
    assert!(reply.contains("{nmae}"), "the refusal names the bad placeholder: {reply}");

    slack.dm(MEMBER, "add :car: {emoji} driving", vec![]).await;
    let reply = slack.wait_for_bot_text(MEMBER, "{status}", secs(10)).await;
    let reply = reply.unwrap_or_else(|| panic!("no DM reply naming the placeholders:\n{}", bot.logs()));
    assert!(reply.contains("`{name}`") && reply.contains("{emoji}"), "{reply}");

    // The preset modal says the same under its name field, and saves nothing.
    let error = modal_name_error(&slack, &bot, "{status} {nmae}").await;
    let error = error.unwrap_or_else(|| panic!("the modal took a bad placeholder:\n{}", bot.logs()));
    assert!(error.contains("`{name}`") && error.contains("`{status}`"), "{error}");

    // Nothing was saved.
    let list = slash_reply(&slack, &bot, MEMBER, "list").await;
    assert!(list.contains("no presets"), "{list}");

    // A good template is taken by the modal as typed.
    assert_eq!(modal_name_error(&slack, &bot, "{name}: {status}").await, None, "{}", bot.logs());
    let list = slash_reply(&slack, &bot, MEMBER, "list").await;
    assert!(list.contains(":books: → *{name}: {status}*"), "{list}");
}

/// Submits App Home's preset modal adding `name` under :books: and returns the problem it shows
/// under the name field, if any.
async fn modal_name_error(slack: &FakeSlack, bot: &Bot, name: &str) -> Option<String> {
    let state = json!({
        "emoji_block": {"emoji_input": {"type": "plain_text_input", "value": ":books:"}},
        "name_block": {"name_input": {"type": "plain_text_input", "value": name}},
        "photo_block": {"photo_input": {"type": "file_input", "files": []}}
    });
    let env = slack.view_submission(MEMBER, "preset_modal", "", state).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.unwrap_or_else(|| panic!("modal not acked:\n{}", bot.logs()));
    ack.payload.and_then(|p| p["errors"]["name_block"].as_str().map(str::to_string))
}
