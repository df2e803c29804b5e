//! Metrics and health: `/metrics` parses as Prometheus text and moves with
//! real activity; `/healthz` follows the socket; remote binding is refused.

mod common;
use common::*;

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => {
            let s = r.status().as_u16();
            (s, r.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

fn sample(text: &str, name: &str, label: Option<(&str, &str)>) -> f64 {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

/// Options for a single-user bot for U1 serving metrics on a free loopback port, and the port.
fn metrics_options(slack: &FakeSlack) -> (BotOptions, u16) {
    let token = slack.add_member("U1", "Ada");
    let port = free_port();
    let opts = BotOptions {
        user_token: Some(token),
        config_toml: Some(format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")),
        ..Default::default()
    };
    (opts, port)
}

/// A connected single-user bot for U1 serving metrics on a free loopback port, run in this
/// process (both tests here run at once in this binary, each with its own counters).
async fn bot_with_metrics(slack: &FakeSlack) -> (InProcessBot, u16) {
    let (opts, port) = metrics_options(slack);
    let bot = InProcessBot::start(slack, opts);
    assert!(bot.connected(slack, secs(15)).await, "{}", bot.logs());
    (bot, port)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_move_after_a_swap_and_health_follows_the_socket() {
    let slack = FakeSlack::start().await;
    let (bot, port) = bot_with_metrics(&slack).await;
    let base = format!("http://127.0.0.1:{port}");
    let mut ok = false;
    for _ in 0..100 {
        if get(&format!("{base}/healthz")).await.0 == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(millis(100)).await;
    }
    assert!(ok, "healthz never 200:\n{}", bot.logs());

    let (status, before) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    let set_before = sample(&before, "statusinator_api_calls_total", Some(("method", "users.profile.set")));

    let env = slack.slash_command("U1", "add :palm_tree: On vacation").await;
    slack.wait_for_ack(&env, secs(5)).await.expect("ack");
    slack.set_status("U1", ":palm_tree:").await;
    slack.wait_for_calls("users.profile.set", 1, secs(10)).await;
    tokio::time::sleep(millis(300)).await;

    let (_, after) = get(&format!("{base}/metrics")).await;
    assert_eq!(sample(&after, "statusinator_api_calls_total", Some(("method", "users.profile.set"))), set_before + 1.0, "{after}");
    assert!(sample(&after, "statusinator_envelopes_total", Some(("type", "user_change"))) >= 1.0, "{after}");
    assert!(sample(&after, "statusinator_members_with_presets", None) >= 1.0);
    assert!(sample(&after, "statusinator_socket_acks_total", None) >= 2.0);

    // The socket drops and is refused for a while: health goes 503, then back to 200.
    slack.set_connections_open_error(Some("internal_error".into()));
    slack.drop_sockets().await;
    let mut down = false;
    for _ in 0..100 {
        if get(&format!("{base}/healthz")).await.0 == 503 {
            down = true;
            break;
        }
        tokio::time::sleep(millis(50)).await;
    }
    assert!(down, "healthz never went 503:\n{}", bot.logs());
    slack.set_connections_open_error(None);
    let mut up = false;
    for _ in 0..300 {
        if get(&format!("{base}/healthz")).await.0 == 200 {
            up = true;
            break;
        }
        tokio::time::sleep(millis(100)).await;
    }
    assert!(up, "healthz never came back:\n{}", bot.logs());
}

#[test]
fn remote_metrics_address_needs_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[metrics]\nlisten = \"0.0.0.0:9464\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_statusinator"))
        .args(["run", "--config"])
        .arg(&cfg)
        .env_clear()
        .env("SLACK_APP_TOKEN", "xapp-1-x")
        .env("SLACK_BOT_TOKEN", "xoxb-1-x")
        .env("STATUSINATOR_DB", dir.path().join("db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("metrics.listen") && err.contains("allow_remote"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Regression (issue 11): the listener answered any `Host`, so a web page could read `/metrics`
/// through DNS rebinding (its own name resolving to 127.0.0.1).
#[tokio::test(flavor = "multi_thread")]
async fn a_request_for_a_foreign_host_name_is_refused() {
    let slack = FakeSlack::start().await;
    let (bot, port) = bot_with_metrics(&slack).await;
    let client = reqwest::Client::new();
    let fetch = |host: &'static str, path: &'static str| {
        let client = client.clone();
        async move {
            let r = client.get(format!("http://127.0.0.1:{port}{path}")).header("Host", host).send().await.expect("request");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    let mut served = false;
    for _ in 0..100 {
        if fetch("localhost", "/healthz").await.0 == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(millis(100)).await;
    }
    assert!(served, "healthz never answered for localhost:\n{}", bot.logs());
    for path in ["/metrics", "/", "/healthz"] {
        let (status, body) = fetch("rebind.attacker.example", path).await;
        assert_eq!(status, 421, "{path}: {body}");
        assert!(!body.contains("statusinator_"), "{path} leaked metrics: {body}");
    }
    let (status, body) = fetch("127.0.0.1", "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("statusinator_"), "{body}");
}
