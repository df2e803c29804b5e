//! Tracing: one swap's envelope id appears on its ack, its job and both Web
//! API calls it causes; no token appears anywhere in the log.

mod common;
use common::*;
use serde_json::Value;

fn has_envelope(line: &Value, id: &str) -> bool {
    let in_span = |s: &Value| s.get("envelope_id").and_then(Value::as_str) == Some(id);
    line.get("span").is_some_and(in_span) || line.get("spans").and_then(Value::as_array).is_some_and(|a| a.iter().any(in_span))
}

fn span_names(line: &Value) -> Vec<String> {
    line.get("spans")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.get("name").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default()
}

fn api_method(line: &Value) -> Option<String> {
    line.get("spans")?
        .as_array()?
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some("slack_api"))?
        .get("method")?
        .as_str()
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_swap_is_traceable_by_its_envelope_id_and_no_token_is_logged() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let bot = Bot::spawn(
        &slack,
        BotOptions { user_token: Some(token.clone()), global_args: vec!["--log-format".into(), "json".into()], ..Default::default() },
    );
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());
    let env = slack.slash_command("U1", "add :palm_tree: On vacation").await;
    slack.wait_for_ack(&env, secs(5)).await.expect("ack");
    let file = slack.add_file(test_png(600, 600, "sea"), "sea.png", "image/png");
    slack.dm("U1", ":palm_tree:", vec![file]).await;
    assert!(slack.wait_for_bot_text("U1", "Saved the photo", secs(10)).await.is_some(), "{}", bot.logs());

    let (envelope_id, _) = slack.set_status("U1", ":palm_tree:").await;
    slack.wait_for_calls("users.setPhoto", 1, secs(10)).await;
    slack.wait_for_calls("users.profile.set", 1, secs(10)).await;
    tokio::time::sleep(millis(500)).await;

    let logs = bot.logs();
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "no JSON log lines:\n{logs}");
    let mine: Vec<&Value> = lines.iter().filter(|l| has_envelope(l, &envelope_id)).collect();
    let acked = mine.iter().any(|l| l.get("fields").and_then(|f| f.get("message")).and_then(Value::as_str) == Some("acked"));
    assert!(acked, "no ack line carries {envelope_id}:\n{logs}");
    assert!(mine.iter().any(|l| span_names(l).iter().any(|n| n == "job")), "no job line carries {envelope_id}");
    let methods: Vec<String> = mine.iter().filter_map(|l| api_method(l)).collect();
    assert!(methods.iter().any(|m| m == "users.profile.set"), "users.profile.set not traced: {methods:?}");
    assert!(methods.iter().any(|m| m == "users.setPhoto"), "users.setPhoto not traced: {methods:?}");

    for secret in [token.as_str(), BOT_TOKEN, APP_TOKEN] {
        assert!(!logs.contains(secret), "a token leaked into the log");
    }
}
