//! The dashboard at `/` on the metrics listener: after real activity (a
//! preset, a status change, a swap) every chart has data.
//!
//! The bot samples every second here: `STATUSINATOR_SAMPLE_SECS` is a test-only
//! override of the one-minute interval, read by the sampler alone.

mod common;
use common::*;

async fn get(url: &str) -> (u16, String, String) {
    match reqwest::get(url).await {
        Ok(r) => {
            let s = r.status().as_u16();
            let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            (s, ct, r.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new(), String::new()),
    }
}

/// The `<svg id=…>` element of one chart.
fn chart<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("<svg id=\"{id}\"")).unwrap_or_else(|| panic!("no chart {id}:\n{page}"));
    let len = page[start..].find("</svg>").expect("closed svg");
    &page[start..start + len]
}

/// The largest value any mark (`<rect>`, `<polyline>`, `<circle>`) of the chart carries.
fn max_value(svg: &str) -> Option<f64> {
    svg.split("data-v=\"").skip(1).filter_map(|s| s.split('"').next()?.parse::<f64>().ok()).reduce(f64::max)
}

const CHARTS: [&str; 4] = ["swaps", "latency", "queue", "cache"];

#[tokio::test(flavor = "multi_thread")]
async fn every_chart_shows_real_activity() {
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let port = free_port();
    let bot = Bot::spawn(
        &slack,
        BotOptions {
            user_token: Some(token),
            config_toml: Some(format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")),
            env: vec![("STATUSINATOR_SAMPLE_SECS".into(), "1".into())],
            ..Default::default()
        },
    );
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());
    let url = format!("http://127.0.0.1:{port}/");
    let mut first = None;
    for _ in 0..100 {
        let r = get(&url).await;
        if r.0 == 200 {
            first = Some(r);
            break;
        }
        tokio::time::sleep(millis(100)).await;
    }
    let (_, content_type, page) = first.unwrap_or_else(|| panic!("/ never answered 200:\n{}", bot.logs()));
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(!page.contains("<script"), "no JavaScript");
    for id in CHARTS {
        chart(&page, id);
    }
    // Before any swap there is nothing to draw for swaps.
    assert_eq!(max_value(chart(&page, "swaps")), None, "{page}");

    // Slack answers the profile write slowly, so a sample sees the swap still queued.
    slack.fail_next("users.profile.set", Fault::Delay(millis(2500)));
    let env = slack.slash_command("U1", "add :palm_tree: On vacation").await;
    slack.wait_for_ack(&env, secs(5)).await.expect("ack");
    slack.set_status("U1", ":palm_tree:").await;
    slack.wait_for_calls("users.profile.set", 1, secs(10)).await;
    assert!(slack.wait_until(secs(10), |s| s.member_profile("U1")["display_name"] == "On vacation").await, "{}", bot.logs());

    let mut last = String::new();
    let mut missing = CHARTS.to_vec();
    for _ in 0..60 {
        let (status, _, page) = get(&url).await;
        assert_eq!(status, 200);
        missing = CHARTS.iter().copied().filter(|id| !max_value(chart(&page, id)).is_some_and(|v| v > 0.0)).collect();
        last = page;
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(millis(250)).await;
    }
    assert!(missing.is_empty(), "charts without data: {missing:?}\n{last}\n{}", bot.logs());
    assert_eq!(max_value(chart(&last, "swaps")), Some(1.0), "one swap, in the current hour");
    assert_eq!(max_value(chart(&last, "queue")), Some(1.0), "the slow swap was queued");
    // The slow profile write is the slowest call: p99 reaches the 2.5–5 s bucket.
    assert!(max_value(chart(&last, "latency")).is_some_and(|v| v > 1000.0), "{last}");
    assert!(last.contains("1 swap applied"), "{last}");
}

/// Serves a dashboard for a screenshot: a simulated day of history (seeded
/// into the database while the bot is stopped) followed by a live run against
/// the fake Slack, then holds the page open for `DASHBOARD_HOLD_SECS` (300).
/// `DASHBOARD_PORT` picks the port (default: a free one, printed).
///
/// `cargo test --test dashboard -- --ignored --nocapture serve_for_screenshot`
#[tokio::test(flavor = "multi_thread")]
#[ignore = "manual: serves the page for a screenshot"]
async fn serve_for_screenshot() {
    use statusinator::store::{MetricSample, Store};
    let slack = FakeSlack::start().await;
    let members = [("U1", "Ada"), ("U2", "Grace"), ("U3", "Linus")];
    let tokens: Vec<String> = members.iter().map(|(id, name)| slack.add_member(id, name)).collect();
    let port = std::env::var("DASHBOARD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or_else(free_port);
    let mut bot = Bot::spawn(
        &slack,
        BotOptions {
            user_token: Some(tokens[0].clone()),
            config_toml: Some(format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")),
            ..Default::default()
        },
    );
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());
    bot.shutdown(secs(15)).await.expect("stopped");

    // A simulated day, one sample a minute, ending ten minutes ago.
    {
        let store = Store::open(&bot.db_path()).expect("open the bot's database");
        let now = statusinator::store::now_ms();
        let (mut swaps, mut seed) = (0u64, 7u64);
        let mut rnd = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for i in 0..1430u64 {
            let at_ms = now - 24 * 3600 * 1000 + i * 60_000;
            let hour = i / 60;
            // Busy during the working day (hours 8–18 of the window), quiet at night.
            let busy = (8..18).contains(&hour);
            if rnd() < if busy { 0.12 } else { 0.01 } {
                swaps += 1 + (rnd() * 2.0) as u64;
            }
            let calls = if busy { 2 + (rnd() * 6.0) as u64 } else { (rnd() * 2.0) as u64 };
            let slow = (hour == 13 && i % 60 < 20) as u64 as f64;
            let p50 = 60.0 + rnd() * 40.0 + slow * 300.0;
            let emoji_lookups = if busy { (rnd() * 4.0) as u64 } else { 0 };
            let avatar_lookups = if busy { (rnd() * 3.0) as u64 } else { 0 };
            store
                .metric_history
                .insert(
                    at_ms.to_be_bytes(),
                    &MetricSample {
                        at_ms,
                        swaps_applied: swaps,
                        api_calls: calls,
                        api_p50_ms: (calls > 0).then_some(p50),
                        api_p99_ms: (calls > 0).then_some(p50 * (2.0 + rnd() * 6.0) + slow * 2000.0),
                        queue_depth: if slow > 0.0 { 1 + (rnd() * 3.0) as u64 } else { (rnd() < 0.02) as u64 },
                        emoji_lookups,
                        emoji_hits: emoji_lookups.saturating_sub((rnd() < 0.1) as u64),
                        avatar_lookups,
                        avatar_hits: avatar_lookups.saturating_sub((rnd() < 0.25) as u64),
                    },
                )
                .expect("seed");
        }
        store.flush_blocking().expect("flush");
    }
    bot.restart().await;
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());

    // Live activity: a preset and a status change, then back.
    let env = slack.slash_command("U1", "add :palm_tree: Ada (on holiday)").await;
    slack.wait_for_ack(&env, secs(5)).await.expect("ack");
    slack.set_status("U1", ":palm_tree:").await;
    slack.wait_for_calls("users.profile.set", 1, secs(10)).await;
    slack.set_status("U1", "").await;
    slack.wait_for_calls("users.profile.set", 2, secs(10)).await;

    let hold = std::env::var("DASHBOARD_HOLD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    println!("dashboard at http://127.0.0.1:{port}/ for {hold} s");
    tokio::time::sleep(secs(hold)).await;
    drop(bot);
}
