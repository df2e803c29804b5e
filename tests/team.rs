//! Team presets (issue 14.3) end to end: the real binary in multi-member mode against the fake.
//! A team preset shows for a connected member without their own preset for the emoji; the own
//! preset wins; `team off` restores and stops it, `team on` resumes it; a non-admin's changes are
//! refused; an admin's change re-evaluates every member showing it, inside Slack's limits; and
//! `presets export` / `import` carry team presets.

mod common;
use common::*;

use std::time::Instant;

const ADMIN: &str = "UADMIN";
const CLIENT_ID: &str = "123.456";
const REDIRECT: &str = "https://example.com/statusinator";
const CONFIG: &str = "[slack]\nadmins = [\"UADMIN\"]\n[limits]\ncommands_per_minute = 1000\nsettle_seconds = 0\n";

fn multi(slack: &FakeSlack) -> Bot {
    let env = [("SLACK_CLIENT_ID", CLIENT_ID), ("SLACK_CLIENT_SECRET", "s3cret-client"), ("SLACK_REDIRECT_URL", REDIRECT)];
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Bot::spawn(slack, BotOptions { env, config_toml: Some(CONFIG.into()), ..Default::default() })
}

/// A slash command; returns the text of its ephemeral ack.
async fn slash(slack: &FakeSlack, bot: &Bot, user: &str, text: &str) -> String {
    let env = slack.slash_command(user, text).await;
    let ack = slack.wait_for_ack(&env, secs(20)).await.unwrap_or_else(|| panic!("no ack for {text}:\n{}", bot.logs()));
    ack.payload.map(|p| collect_text(&p)).unwrap_or_else(|| panic!("{text:?} got no reply:\n{}", bot.logs()))
}

/// `connect` → approve as `member` → paste the address back.
async fn connect(slack: &FakeSlack, bot: &Bot, member: &str) {
    let reply = slash(slack, bot, member, "connect").await;
    let start = reply.find("http").unwrap_or_else(|| panic!("no link in {reply:?}"));
    let rest = &reply[start..];
    let link = &rest[..rest.find(|c: char| c == '|' || c == '>' || c.is_whitespace()).unwrap_or(rest.len())];
    let landed = slack.approve(link, member);
    let reply = slash(slack, bot, member, &format!("connect <{}>", landed.replace('&', "&amp;"))).await;
    assert!(reply.contains("Connected"), "{reply}\n{}", bot.logs());
}

fn name_of(slack: &FakeSlack, member: &str) -> String {
    slack.member_profile(member)["display_name"].as_str().unwrap_or_default().to_string()
}

async fn wait_name(slack: &FakeSlack, bot: &Bot, member: &str, want: &str) {
    let ok = slack.wait_until(secs(30), |f| name_of(f, member) == want).await;
    assert!(ok, "{member} shows {:?}, not {want:?}\n{}", name_of(slack, member), bot.logs());
}

/// Starts a multi-member bot and connects `members` (each added to the fake as "Name <id>").
async fn start(slack: &FakeSlack, members: &[&str]) -> Bot {
    slack.add_member(ADMIN, "Admin");
    for m in members {
        slack.add_member(m, &format!("Name {m}"));
    }
    let bot = multi(slack);
    ready(slack, &bot).await;
    for m in members {
        connect(slack, &bot, m).await;
    }
    bot
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_preset_shows_unless_the_member_has_their_own_or_opted_out() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack, &["U1", "U2"]).await;
    let reply = slash(&slack, &bot, ADMIN, "team add :palm_tree: On vacation").await;
    assert!(reply.contains("Saved the team preset"), "{reply}");
    let reply = slash(&slack, &bot, "U2", "add :palm_tree: Surfing").await;
    assert!(reply.contains("Saved"), "{reply}");

    // U1 has no preset of their own: the team's shows. U2's own wins.
    slack.set_status("U1", ":palm_tree:").await;
    slack.set_status("U2", ":palm_tree:").await;
    wait_name(&slack, &bot, "U1", "On vacation").await;
    wait_name(&slack, &bot, "U2", "Surfing").await;
    let status = slash(&slack, &bot, "U1", "status").await;
    assert!(status.contains(":palm_tree:"), "{status}");
    assert!(status.contains(":palm_tree: (the team's)"), "status says whose preset shows: {status}");

    // Anyone may list; the list says whose own preset takes its place.
    let list = slash(&slack, &bot, "U2", "team list").await;
    assert!(list.contains(":palm_tree:") && list.contains("On vacation") && list.contains("your own"), "{list}");

    // `team off` puts U1's own name back now, and keeps it while the status comes and goes.
    let reply = slash(&slack, &bot, "U1", "team off").await;
    assert!(reply.contains("off for you"), "{reply}");
    wait_name(&slack, &bot, "U1", "Name U1").await;
    slack.set_status("U1", "").await;
    tokio::time::sleep(secs(1)).await;
    slack.set_status("U1", ":palm_tree:").await;
    tokio::time::sleep(secs(3)).await;
    assert_eq!(name_of(&slack, "U1"), "Name U1", "{}", bot.logs());

    // `team on` with the status still showing applies it again.
    let reply = slash(&slack, &bot, "U1", "team on").await;
    assert!(reply.contains("on for you"), "{reply}");
    wait_name(&slack, &bot, "U1", "On vacation").await;

    // U2 removes their own preset: the team's takes its place at once.
    slash(&slack, &bot, "U2", "remove :palm_tree:").await;
    wait_name(&slack, &bot, "U2", "On vacation").await;

    // The admin removes the team preset: both get their own names back.
    let reply = slash(&slack, &bot, ADMIN, "team remove :palm_tree:").await;
    assert!(reply.contains("Removed the team :palm_tree: preset"), "{reply}");
    wait_name(&slack, &bot, "U1", "Name U1").await;
    wait_name(&slack, &bot, "U2", "Name U2").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_admin_cannot_change_team_presets() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack, &["U1"]).await;
    slash(&slack, &bot, ADMIN, "team add :palm_tree: On vacation").await;
    for text in ["team add :car: Driving", "team remove :palm_tree:", "team add :palm_tree: Gone fishing", "team photo :palm_tree:"] {
        let reply = slash(&slack, &bot, "U1", text).await;
        assert!(reply.contains("Only the bot's admins can change team presets"), "{text}: {reply}");
    }
    // A photo sent by DM is refused the same way.
    let file = slack.add_file(test_png(300, 300, "beach"), "p.png", "image/png");
    slack.dm("U1", "team photo :palm_tree:", vec![file]).await;
    let told = slack.wait_for_bot_text("U1", "Only the bot's admins can change team presets", secs(15)).await;
    assert!(told.is_some(), "{:?}", slack.bot_texts("U1"));
    // Nothing changed: the list is the admin's, and the preset still applies as it was.
    let list = slash(&slack, &bot, "U1", "team list").await;
    assert!(list.contains("On vacation") && !list.contains("with photo"), "{list}");
    assert!(!list.contains(":car:") && !list.contains("Gone fishing"), "{list}");
    slack.set_status("U1", ":palm_tree:").await;
    wait_name(&slack, &bot, "U1", "On vacation").await;
    assert!(!looks_like_seed(&slack.avatar_bytes("U1"), "beach"));
}

/// 50 members show a team preset; the admin gives it a photo and a new name. Every one ends
/// with both, and the app never goes past Slack's limits (`users.setPhoto`: 20 a minute).
#[tokio::test(flavor = "multi_thread")]
async fn changing_a_team_preset_fifty_members_show_stays_inside_slacks_limits() {
    let slack = FakeSlack::start().await;
    slack.set_enforce_rate_limits(true);
    let members: Vec<String> = (1..=50).map(|i| format!("U{i:03}")).collect();
    let ids: Vec<&str> = members.iter().map(String::as_str).collect();
    let bot = start(&slack, &ids).await;
    slash(&slack, &bot, ADMIN, "team add :palm_tree: On vacation").await;
    for m in &ids {
        slack.set_status(m, ":palm_tree:").await;
    }
    let all_named = |f: &FakeSlack, want: &str| ids.iter().all(|m| name_of(f, m) == want);
    assert!(slack.wait_until(secs(90), |f| all_named(f, "On vacation")).await, "{}", bot.logs());

    let started = Instant::now();
    let file = slack.add_file(test_png(600, 400, "beach"), "beach.png", "image/png");
    slack.dm(ADMIN, "team photo :palm_tree:", vec![file]).await;
    let saved = slack.wait_for_bot_text(ADMIN, "Saved the photo of the team :palm_tree: preset", secs(20)).await;
    assert!(saved.is_some(), "{:?}\n{}", slack.bot_texts(ADMIN), bot.logs());
    let reply = slash(&slack, &bot, ADMIN, "team add :palm_tree: Out of office").await;
    assert!(reply.contains("Updating the 50 members"), "{reply}");
    let done = |f: &FakeSlack| ids.iter().all(|m| name_of(f, m) == "Out of office" && looks_like_seed(&f.avatar_bytes(m), "beach"));
    assert!(slack.wait_until(secs(240), done).await, "not all updated after {:?}\n{}", started.elapsed(), bot.logs());
    assert_eq!(slack.rate_limit_violations(), Vec::<String>::new());
    // 50 uploads at 20 a minute cannot all happen in the first minute: they were spread.
    assert!(started.elapsed() >= secs(60), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn export_and_import_carry_team_presets() {
    let slack = FakeSlack::start().await;
    let mut bot = start(&slack, &["U1"]).await;
    slash(&slack, &bot, ADMIN, "team add :palm_tree: On vacation").await;
    slash(&slack, &bot, "U1", "add :car: Driving").await;
    // Generated photos are settings too: they go with the export.
    let reply = slash(&slack, &bot, ADMIN, "team photo :palm_tree: frame orange OOO").await;
    assert!(!reply.to_lowercase().contains("colour"), "{reply}");
    slash(&slack, &bot, "U1", "photo :car: badge").await;
    tokio::time::sleep(secs(1)).await;
    bot.shutdown(secs(20)).await.expect("exit");
    let (status, out, err) = run_command(&bot, &["presets", "export"]);
    assert!(status.success(), "{err}");
    let records: Vec<serde_json::Value> = serde_json::from_str(&out).expect("export JSON");
    assert_eq!(records.len(), 2, "{out}");
    let team: Vec<_> = records.iter().filter(|r| r["team"] == true).collect();
    assert_eq!(team.len(), 1, "{out}");
    assert_eq!((team[0]["emoji"].as_str(), team[0]["name"].as_str()), (Some("palm_tree"), Some("On vacation")));
    let own: Vec<_> = records.iter().filter(|r| r.get("team").is_none()).collect();
    assert_eq!((own[0]["member"].as_str(), own[0]["emoji"].as_str()), (Some("U1"), Some("car")), "{out}");
    let frame = serde_json::json!({"kind": "frame", "colour": "orange", "label": "OOO"});
    assert_eq!(team[0]["design"], frame, "{out}");
    assert_eq!(own[0]["design"], serde_json::json!({"kind": "badge"}), "{out}");

    // Into a fresh database: the team preset comes back as a team preset.
    let slack2 = FakeSlack::start().await;
    slack2.add_member(ADMIN, "Admin");
    slack2.add_member("U1", "Name U1");
    let mut fresh = multi(&slack2);
    ready(&slack2, &fresh).await;
    fresh.shutdown(secs(20)).await.expect("exit");
    let file = fresh.dir().join("presets.json");
    std::fs::write(&file, &out).unwrap();
    let (status, out2, err) = run_command(&fresh, &["presets", "import", &file.to_string_lossy()]);
    assert!(status.success(), "{out2}\n{err}");
    assert!(out2.contains("imported 2"), "{out2}");
    fresh.restart().await;
    ready(&slack2, &fresh).await;
    let list = slash(&slack2, &fresh, "U1", "team list").await;
    assert!(list.contains(":palm_tree:") && list.contains("On vacation"), "{list}");
    let own = slash(&slack2, &fresh, "U1", "list").await;
    assert!(own.contains(":car:") && !own.contains(":palm_tree:"), "{own}");
    // The designs came back: a second export reads like the first.
    fresh.shutdown(secs(20)).await.expect("exit");
    let (status, again, err) = run_command(&fresh, &["presets", "export"]);
    assert!(status.success(), "{err}");
    let again: Vec<serde_json::Value> = serde_json::from_str(&again).expect("export JSON");
    let designs = |rs: &[serde_json::Value]| rs.iter().map(|r| (r["emoji"].clone(), r["design"].clone())).collect::<Vec<_>>();
    assert_eq!(designs(&again), designs(&records));
}

/// `team photo :emoji:` by slash opens the upload form; its Save sets the team preset's photo,
/// which shows for a member wearing that status. A non-admin's submission changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_team_photo_form_sets_the_team_presets_photo() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack, &["U1"]).await;
    slash(&slack, &bot, ADMIN, "team add :palm_tree: On vacation").await;
    let reply = slash(&slack, &bot, ADMIN, "team photo :palm_tree:").await;
    assert!(reply.contains("Opening a form"), "{reply}");
    let opened = slack.wait_for_calls("views.open", 1, secs(10)).await;
    let view = opened[0].json_param("view").expect("views.open carries a view");
    assert_eq!(view["callback_id"], "team_photo_modal");
    assert_eq!(view["private_metadata"], "palm_tree");

    let file = slack.add_file(test_png(400, 400, "beach"), "beach.png", "image/png");
    let state = slack.file_input_state("photo_block", "photo_input", &[&file]);
    let env = slack.view_submission("U1", "team_photo_modal", "palm_tree", state.clone()).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.expect("ack").payload.unwrap_or_default();
    assert_eq!(ack["response_action"], "errors", "a non-admin's submission is refused: {ack}");
    let env = slack.view_submission(ADMIN, "team_photo_modal", "palm_tree", state).await;
    let ack = slack.wait_for_ack(&env, secs(15)).await.expect("ack").payload.unwrap_or_default();
    assert_eq!(ack["response_action"], "clear", "{ack}");
    let saved = slack.wait_for_bot_text(ADMIN, "Saved the photo of the team :palm_tree: preset", secs(20)).await;
    assert!(saved.is_some(), "{:?}\n{}", slack.bot_texts(ADMIN), bot.logs());

    slack.set_status("U1", ":palm_tree:").await;
    let swapped = |f: &FakeSlack| name_of(f, "U1") == "On vacation" && looks_like_seed(&f.avatar_bytes("U1"), "beach");
    assert!(slack.wait_until(secs(30), swapped).await, "{}", bot.logs());
    let list = slash(&slack, &bot, "U1", "team list").await;
    assert!(list.contains("(with photo)"), "{list}");
}

/// The team block of `member`'s newest published Home tab: (its text, its button's action id).
fn home_team_block(slack: &FakeSlack, member: &str) -> Option<(String, String)> {
    let calls = slack.calls_to("views.publish");
    let view = calls.iter().rev().find(|c| c.param("user_id").as_deref() == Some(member))?.json_param("view")?;
    let block = view["blocks"].as_array()?.iter().find(|b| b["block_id"] == "team")?.clone();
    Some((block["text"]["text"].as_str()?.to_string(), block["accessory"]["action_id"].as_str()?.to_string()))
}

/// Home lists the team presets that apply (not one the member's own preset overrides) with the
/// on/off switch; the switch turns them off (the member's own profile comes back) and on again.
#[tokio::test(flavor = "multi_thread")]
async fn home_lists_the_team_presets_that_apply_with_the_switch() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack, &["U1"]).await;
    slash(&slack, &bot, ADMIN, "team add :palm_tree: On vacation").await;
    slash(&slack, &bot, ADMIN, "team add :car: Driving").await;
    slash(&slack, &bot, "U1", "add :car: My own car").await;
    slack.set_status("U1", ":palm_tree:").await;
    wait_name(&slack, &bot, "U1", "On vacation").await;
    let shows = |f: &FakeSlack, action: &str, said: &str| {
        home_team_block(f, "U1").is_some_and(|(text, a)| {
            a == action && text.contains(said) && text.contains(":palm_tree: → *On vacation*") && !text.contains("Driving")
        })
    };
    assert!(slack.wait_until(secs(15), |f| shows(f, "team_off", "they show when")).await, "{:?}", home_team_block(&slack, "U1"));

    slack.block_action("U1", "team_off", "team_off", None).await;
    wait_name(&slack, &bot, "U1", "Name U1").await;
    assert!(slack.wait_until(secs(15), |f| shows(f, "team_on", "*off* for you")).await, "{:?}", home_team_block(&slack, "U1"));
    slack.block_action("U1", "team_on", "team_on", None).await;
    wait_name(&slack, &bot, "U1", "On vacation").await;
}

/// Regression: a team preset's name may be a template too, and a new status text under the same
/// emoji rewrites it (the "status unchanged" shortcut once only knew members' own presets).
#[tokio::test(flavor = "multi_thread")]
async fn a_team_template_fills_in_the_members_name_and_follows_the_status_text() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack, &["U1"]).await;
    let reply = slash(&slack, &bot, ADMIN, "team add :palm_tree: {name} ({status})").await;
    assert!(reply.contains("Saved the team preset"), "{reply}");
    let set_status = |text: &str| {
        slack.update_profile("U1", serde_json::json!({"status_emoji": ":palm_tree:", "status_text": text}));
        slack.user_change_event("U1")
    };
    let (env, _) = slack.push_event(set_status("Surfing")).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "no ack\n{}", bot.logs());
    wait_name(&slack, &bot, "U1", "Name U1 (Surfing)").await;
    let writes = slack.count_calls("users.profile.set");
    let (env, _) = slack.push_event(set_status("Sailing")).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "no ack\n{}", bot.logs());
    wait_name(&slack, &bot, "U1", "Name U1 (Sailing)").await;
    assert_eq!(slack.count_calls("users.profile.set"), writes + 1, "one write for the new text\n{}", bot.logs());
}

/// A renamed custom emoji keeps its team preset, like the members' own presets: `team list`
/// shows it under the new name, and a member showing it is restored when the status clears.
#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_custom_emoji_keeps_its_team_preset() {
    let slack = FakeSlack::start().await;
    let url = format!("{}/emoji/ship.png", slack.origin());
    slack.set_emoji([("shipit".to_string(), url.clone())].into_iter().collect());
    let bot = start(&slack, &["U1"]).await;
    let reply = slash(&slack, &bot, ADMIN, "team add :shipit: Shipping").await;
    assert!(reply.contains("Saved the team preset"), "{reply}");
    slack.set_status("U1", ":shipit:").await;
    wait_name(&slack, &bot, "U1", "Shipping").await;

    let rename = serde_json::json!({"type": "emoji_changed", "subtype": "rename", "old_name": "shipit", "new_name": "ship_it", "value": url, "event_ts": "1700000000.000300"});
    let (env, _) = slack.push_event(rename).await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "no ack\n{}", bot.logs());
    let list = slash(&slack, &bot, "U1", "team list").await;
    assert!(list.contains(":ship_it:") && !list.contains(":shipit:"), "{list}");
    slack.set_status("U1", "").await;
    wait_name(&slack, &bot, "U1", "Name U1").await;
    slack.set_status("U1", ":ship_it:").await;
    wait_name(&slack, &bot, "U1", "Shipping").await;
}

/// Home shows what a team template reads for the member now, like their own presets' rows.
#[tokio::test(flavor = "multi_thread")]
async fn home_previews_a_team_template_for_the_member() {
    let slack = FakeSlack::start().await;
    let bot = start(&slack, &["U1"]).await;
    slash(&slack, &bot, ADMIN, "team add :palm_tree: {name} (away)").await;
    slack.set_status("U1", ":palm_tree:").await;
    wait_name(&slack, &bot, "U1", "Name U1 (away)").await;
    let previewed =
        |f: &FakeSlack| home_team_block(f, "U1").is_some_and(|(text, _)| text.contains(":palm_tree: → *{name} (away)* → Name U1 (away)"));
    assert!(slack.wait_until(secs(15), previewed).await, "{:?}", home_team_block(&slack, "U1"));
}
