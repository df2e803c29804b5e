//! Refusals explained (issue 13, acceptance (f)): when Slack refuses a preset's name or photo for
//! a reason the member can act on, the member gets one DM naming the preset and what to do, the
//! job is dead-lettered with that reason, and nothing retries in a loop; a name Slack would
//! certainly refuse is refused already at `add`, by slash command, by DM and in the preset modal.

mod common;
use common::*;

const MEMBER: &str = "U1";
const ROOMY: &str = "[limits]\ncommands_per_minute = 1000\n";

/// Name refusals (`users.profile.set`): code, preset emoji.
const NAME_CODES: [(&str, &str); 6] = [
    ("invalid_starts_with_at", "palm_tree"),
    ("name_not_allowed", "car"),
    ("reserved_name", "coffee"),
    ("too_long", "tada"),
    ("not_allowed", "books"),
    ("profile_set_failed", "pizza"),
];

/// Photo refusals (`users.setPhoto`): code, preset emoji.
const PHOTO_CODES: [(&str, &str); 3] = [("bad_image", "sunny"), ("too_large", "umbrella"), ("too_many_frames", "rocket")];

/// The bot's texts to `member` after the first `before`, once there is at least one more.
async fn texts_after(slack: &FakeSlack, bot: &Bot, member: &str, before: usize) -> Vec<String> {
    let got = slack.wait_until(secs(15), |s| s.bot_texts(member).len() > before).await;
    assert!(got, "no message to {member}:\n{}", bot.logs());
    slack.bot_texts(member).into_iter().skip(before).collect()
}

/// Waits until `status` says the member shows their own profile.
async fn wait_restored(slack: &FakeSlack, bot: &Bot, member: &str) {
    for _ in 0..50 {
        if slash_reply(slack, bot, member, "status").await.contains("Active preset: none") {
            return;
        }
        tokio::time::sleep(millis(200)).await;
    }
    panic!("{member} never went back to their own profile:\n{}", bot.logs());
}

/// One refusal code end to end: the status asks for the `emoji` preset, Slack refuses its
/// `write` ("name" or "photo") once with `code`; then the status is cleared and set again and
/// Slack refuses the same contents again.
async fn refusal_case(slack: &FakeSlack, bot: &Bot, member: &str, emoji: &str, write: &str, code: &str) {
    let method = if write == "name" { "users.profile.set" } else { "users.setPhoto" };
    let calls = slack.count_calls(method);
    let before = slack.bot_texts(member).len();
    slack.fail_next(method, Fault::SlackError(code.into()));
    slack.set_status(member, &format!(":{emoji}:")).await;
    texts_after(slack, bot, member, before).await;
    // A retry loop would call again within a second or two (backoff starts at 1 s).
    tokio::time::sleep(millis(2500)).await;
    assert_eq!(slack.count_calls(method), calls + 1, "{code}: {method} retried:\n{}", bot.logs());
    let dms: Vec<String> = slack.bot_texts(member).into_iter().skip(before).collect();
    assert_eq!(dms.len(), 1, "{code}: one DM, not {dms:?}");
    let dm = &dms[0];
    let lead = if write == "name" { "refused the display name" } else { "refused the photo" };
    assert!(dm.contains(lead) && dm.contains(&format!(":{emoji}: preset")) && dm.contains(&format!("`{code}`")), "{code}: {dm}");
    let advice = match code {
        "not_allowed" | "profile_set_failed" => "ask an admin to allow display-name changes".to_string(),
        _ if write == "name" => format!("add :{emoji}: New Name"),
        _ => format!("photo :{emoji}:"),
    };
    assert!(dm.contains(&advice), "{code}: the DM says what to do: {dm}");
    let status = slash_reply(slack, bot, member, "status").await;
    assert!(status.contains(&format!("Last failure: Slack refused the {write} of :{emoji}: ({code})")), "{code}: {status}");

    // Away and back: Slack refuses the same preset again; the member is not told twice.
    slack.set_status(member, "").await;
    wait_restored(slack, bot, member).await;
    let before = slack.bot_texts(member).len();
    slack.fail_next(method, Fault::SlackError(code.into()));
    slack.set_status(member, &format!(":{emoji}:")).await;
    let again = slack.wait_for_calls(method, calls + 2, secs(15)).await;
    assert_eq!(again.len(), calls + 2, "{code}: the new status change tries once more:\n{}", bot.logs());
    tokio::time::sleep(millis(1500)).await;
    assert_eq!(slack.count_calls(method), calls + 2, "{code}: {method} retried after the second refusal:\n{}", bot.logs());
    let dms: Vec<String> = slack.bot_texts(member).into_iter().skip(before).collect();
    assert!(dms.is_empty(), "{code}: told again: {dms:?}");
    slack.set_status(member, "").await;
    wait_restored(slack, bot, member).await;
}

/// A member "Ada" with one preset per code (a name, or a photo sent by DM), each of whose
/// `write` Slack refuses with its code, twice; then the dead letters are read back.
async fn refusal_group(codes: &[(&str, &str)], write: &str) {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member(MEMBER, "Ada");
    let mut bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), config_toml: Some(ROOMY.into()), ..Default::default() });
    ready(&slack, &bot).await;
    for (i, (_, emoji)) in codes.iter().enumerate() {
        if write == "name" {
            let reply = slash_reply(&slack, &bot, MEMBER, &format!("add :{emoji}: Away {i}")).await;
            assert!(reply.contains("Saved"), "{reply}");
        } else {
            let before = slack.bot_texts(MEMBER).len();
            let file = slack.add_file(test_png(600, 600, &format!("seed{i}")), "p.png", "image/png");
            slack.dm(MEMBER, &format!(":{emoji}:"), vec![file]).await;
            let reply = texts_after(&slack, &bot, MEMBER, before).await.join("\n");
            assert!(reply.contains("Saved the photo"), "{reply}\n{}", bot.logs());
        }
    }
    for (code, emoji) in codes {
        refusal_case(&slack, &bot, MEMBER, emoji, write, code).await;
    }
    assert_eq!(slack.member_profile(MEMBER)["display_name"], "Ada", "no refused name reached the profile");

    // Each refusal is a dead letter with its typed reason: one per status change that got it.
    assert!(bot.shutdown(secs(20)).await.is_some(), "no graceful exit\n{}", bot.logs());
    let (st, out, err) = run_command(&bot, &["jobs", "list"]);
    assert!(st.success(), "{out}\n{err}");
    for (code, emoji) in codes {
        let reason = format!("Slack refused the {write} of :{emoji}: ({code})");
        assert_eq!(out.lines().filter(|l| l.ends_with(&reason)).count(), 2, "{reason}:\n{out}");
    }
    assert!(out.contains("pending: 0"), "{out}");
}

/// Every code in the SPEC's list. Each group has its own fake and bot (so faults cannot cross
/// and no member goes past Slack's 10 profile writes a minute); the groups run side by side.
#[tokio::test(flavor = "multi_thread")]
async fn each_refusal_code_is_told_once_dead_lettered_and_not_retried() {
    tokio::join!(refusal_group(&NAME_CODES[..3], "name"), refusal_group(&NAME_CODES[3..], "name"), refusal_group(&PHOTO_CODES, "photo"),);
}

/// What `add` refuses, and the reason it gives, by slash command and by DM alike. The last is
/// 81 astral characters: counted as characters, not bytes or UTF-16 units.
fn refused_at_add() -> Vec<(String, &'static str)> {
    vec![
        ("@name".into(), "starts with `@`"),
        ("Back soon, see https://example.com/away".into(), "web address"),
        ("Away at example.com".into(), "web address"),
        ("www.away".into(), "web address"),
        ("🌴".repeat(81), "81 characters long"),
    ]
}

/// Submits App Home's preset modal adding `name` (under :books:, or :coffee: when `name` is all
/// `n`s) and returns the problem it shows under the name field, if any.
async fn modal_name_error(slack: &FakeSlack, bot: &Bot, name: &str) -> Option<String> {
    let emoji = if name.chars().all(|c| c == 'n') { ":coffee:" } else { ":books:" };
    let state = serde_json::json!({
        "emoji_block": {"emoji_input": {"type": "plain_text_input", "value": emoji}},
        "name_block": {"name_input": {"type": "plain_text_input", "value": name}},
        "photo_block": {"photo_input": {"type": "file_input", "files": []}}
    });
    let env = slack.view_submission(MEMBER, "preset_modal", "", state).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.unwrap_or_else(|| panic!("modal not acked:\n{}", bot.logs()));
    ack.payload.and_then(|p| p["errors"]["name_block"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread")]
async fn names_slack_would_refuse_are_refused_at_add_by_slash_dm_and_modal() {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member(MEMBER, "Ada");
    let bot = Bot::spawn(&slack, BotOptions { user_token: Some(token), config_toml: Some(ROOMY.into()), ..Default::default() });
    ready(&slack, &bot).await;
    for (name, why) in refused_at_add() {
        let reply = slash_reply(&slack, &bot, MEMBER, &format!("add :palm_tree: {name}")).await;
        assert!(reply.contains(why) && !reply.contains("Saved"), "slash {name}: {reply}");
        let before = slack.bot_texts(MEMBER).len();
        slack.dm(MEMBER, &format!("add :palm_tree: {name}"), vec![]).await;
        let reply = texts_after(&slack, &bot, MEMBER, before).await.join("\n");
        assert!(reply.contains(why) && !reply.contains("Saved"), "DM {name}: {reply}");
        let why_under_name = modal_name_error(&slack, &bot, &name).await;
        assert!(why_under_name.as_deref().is_some_and(|e| e.contains(why)), "modal {name}: {why_under_name:?}");
    }
    assert_eq!(modal_name_error(&slack, &bot, &"n".repeat(80)).await, None, "80 characters fit the modal");
    // 80 characters is allowed, by either way.
    let reply = slash_reply(&slack, &bot, MEMBER, &format!("add :car: {}", "n".repeat(80))).await;
    assert!(reply.contains("Saved"), "{reply}");
    let before = slack.bot_texts(MEMBER).len();
    slack.dm(MEMBER, &format!("add :tada: {}", "🌴".repeat(80)), vec![]).await;
    let reply = texts_after(&slack, &bot, MEMBER, before).await.join("\n");
    assert!(reply.contains("Saved"), "{reply}");

    let list = slash_reply(&slack, &bot, MEMBER, "list").await;
    assert!(list.contains(":car:") && list.contains(":tada:") && list.contains(":coffee:"), "{list}");
    assert!(!list.contains(":palm_tree:") && !list.contains(":books:"), "nothing else saved: {list}");
}
