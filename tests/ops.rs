//! Operator commands against real databases: backup of a running bot,
//! restore, and re-queueing dead-lettered work.

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn backup_of_a_running_bot_restores_the_same_presets() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());
    for text in ["add :palm_tree: On vacation", "add :car: Driving"] {
        let env = slack.slash_command("U1", text).await;
        slack.wait_for_ack(&env, secs(5)).await.expect("ack");
    }
    tokio::time::sleep(secs(1)).await; // let sled's periodic flush reach the files
    let backup = bot.dir().join("backup");
    let backup_s = backup.to_string_lossy().to_string();
    let (status, out, err) = run_command(&bot, &["db", "backup", &backup_s]);
    assert!(status.success(), "{out}\n{err}");
    assert!(out.contains("2 presets"), "{out}");
    bot.shutdown(secs(15)).await.expect("exit");

    // Restore the backup over an emptied database and read the presets back.
    let (status, out, err) = run_command(&bot, &["presets", "export"]);
    assert!(status.success(), "{err}");
    let before: serde_json::Value = serde_json::from_str(&out).expect("export JSON");
    std::fs::remove_dir_all(bot.db_path()).unwrap();
    let (status, out, err) = run_command(&bot, &["db", "restore", &backup_s]);
    assert!(status.success(), "{out}\n{err}");
    let (_, out, _) = run_command(&bot, &["presets", "export"]);
    let after: serde_json::Value = serde_json::from_str(&out).expect("export JSON");
    assert_eq!(before, after);
    assert_eq!(after.as_array().map(Vec::len), Some(2));
}

/// Slack refuses the `palm_tree` preset's name with `code` (the member hears `told`), the job
/// is dead-lettered, the bot stops and `jobs retry 1` re-queues it: after a restart the name
/// is set.
async fn dead_letter_then_retry(code: &str, told: &str) {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member("U1", "Ada");
    let mut bot = Bot::single_user(&slack, &token);
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());
    let env = slack.slash_command("U1", "add :palm_tree: On vacation").await;
    slack.wait_for_ack(&env, secs(5)).await.expect("ack");
    slack.fail_next("users.profile.set", Fault::SlackError(code.into()));
    slack.set_status("U1", ":palm_tree:").await;
    assert!(slack.wait_for_bot_text("U1", told, secs(10)).await.is_some(), "{}", bot.logs());
    assert_eq!(slack.member_profile("U1")["display_name"], "Ada");
    bot.shutdown(secs(15)).await.expect("exit");

    let (status, out, _) = run_command(&bot, &["jobs", "list"]);
    assert!(status.success());
    assert!(out.contains("#1 U1") && out.contains(code), "{out}");
    let (status, out, err) = run_command(&bot, &["jobs", "retry", "1"]);
    assert!(status.success(), "{out}{err}");
    let (_, out, _) = run_command(&bot, &["jobs", "list"]);
    assert!(out.contains("dead letters: 0"), "{out}");

    bot.restart().await;
    assert!(slack.wait_until(secs(15), |s| s.member_profile("U1")["display_name"] == "On vacation").await, "{}", bot.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_dead_letter_applies_after_restart() {
    dead_letter_then_retry("profile_locked", "couldn't change your profile").await;
}

/// Regression: a retried dead letter of a refused name was skipped again by the refusal memory
/// (which stops the bot retrying a refusal in a loop); an operator's `jobs retry` tries it.
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_refusal_is_tried_again() {
    dead_letter_then_retry("name_not_allowed", "refused the display name").await;
}
