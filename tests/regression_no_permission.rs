//! Regression: a swap refused with `no_permission` told the member twice, once with the generic
//! "couldn't change your profile" DM and, about 2 s later, with the "access was revoked" one,
//! because the codes meaning "this token is dead" were listed differently in four places. Now
//! one classification (`slack::is_auth_dead`) decides, and the member hears about it once.

mod common;
use common::*;

const ROOMY: &str = "[limits]\ncommands_per_minute = 1000\n";

fn oauth_bot(slack: &FakeSlack) -> Bot {
    let env = vec![
        ("SLACK_CLIENT_ID".to_string(), "123.456".to_string()),
        ("SLACK_CLIENT_SECRET".to_string(), "s3cret-client".to_string()),
        ("SLACK_REDIRECT_URL".to_string(), "https://example.com/statusinator".to_string()),
    ];
    Bot::spawn(slack, BotOptions { env, config_toml: Some(ROOMY.into()), ..Default::default() })
}

async fn slash(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) -> String {
    let env = slack.slash_command(user, text).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_default()
}

/// `connect`, approve in the fake browser, paste the address back.
async fn connect(slack: &FakeSlack, bot: &Bot, member: &str) {
    let reply = slash(slack, bot, member, "connect").await;
    let start = reply.find("http").unwrap_or_else(|| panic!("no link in {reply:?}"));
    let rest = &reply[start..];
    let link = &rest[..rest.find(|c: char| c == '|' || c == '>' || c.is_whitespace()).unwrap_or(rest.len())];
    let landed = slack.approve(link, member);
    let reply = slash(slack, bot, member, &format!("connect <{}>", landed.replace('&', "&amp;"))).await;
    assert!(reply.contains("Connected"), "{reply}\n{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_no_permission_on_a_swap_sends_one_dm_not_two() {
    let slack = FakeSlack::start().await;
    slack.add_member("U2", "Bea");
    slack.set_echo_bot_messages(false);
    let bot = oauth_bot(&slack);
    assert!(bot.connected(&slack, secs(20)).await, "bot never connected:\n{}", bot.logs());
    connect(&slack, &bot, "U2").await;
    let reply = slash(&slack, &bot, "U2", "add :palm_tree: Away").await;
    assert!(reply.contains("Saved"), "{reply}");
    let before = slack.bot_texts("U2").len();

    slack.fail_next("users.profile.set", Fault::SlackError("no_permission".into()));
    slack.set_status("U2", ":palm_tree:").await;
    let dm = slack.wait_for_bot_text("U2", "no_permission", secs(15)).await;
    assert!(dm.is_some(), "no DM: {:?}\n{}", slack.bot_texts("U2"), bot.logs());
    // The disconnect notice came about 2 s after the failure DM: wait well past it.
    tokio::time::sleep(secs(6)).await;

    let dms: Vec<String> = slack.bot_texts("U2").into_iter().skip(before).collect();
    assert_eq!(dms.len(), 1, "one DM about the refused token: {dms:?}\n{}", bot.logs());
    assert!(dms[0].contains("connect"), "the DM says how to reconnect: {}", dms[0]);
    assert!(!dms[0].contains("shows what is pending"), "not the generic failure DM: {}", dms[0]);
    assert!(slash(&slack, &bot, "U2", "status").await.contains("Connected: no"));
}
