//! Load bench: drives the real release binary over the fake Slack on loopback
//! and prints one table (Markdown) for BENCHMARKS.md.
//!
//! `cargo bench --bench load` (release profile). Rates and counts are bounded:
//! every loop stops by itself.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn hwm_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 =
        f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn stranger_change(i: usize) -> serde_json::Value {
    json!({
        "type": "user_change",
        "user": { "id": format!("UX{i:06}"), "name": format!("x{i}"), "profile": { "display_name": format!("Stranger {i}"), "status_emoji": ":coffee:", "image_512": "https://avatars.slack-edge.com/x_512.png" } },
        "event_ts": format!("{}.{:06}", 1_700_000_000 + i, i % 1_000_000),
        "cache_ts": 1_700_000_000
    })
}

/// Sends `n` events at `rate`/s, the `i`th by `event(i)` (which returns its envelope id); returns
/// the envelope ids.
async fn send_paced<F, Fut>(n: usize, rate: f64, mut event: F) -> std::collections::HashSet<String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let start = Instant::now();
    let mut ids = std::collections::HashSet::with_capacity(n);
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        let now = Instant::now();
        if due > now {
            tokio::time::sleep(due - now).await;
        }
        ids.insert(event(i).await);
    }
    ids
}

/// Pushes `n` events at `rate`/s and returns ack latencies (ms) for them.
async fn ack_latencies(slack: &FakeSlack, n: usize, rate: f64, offset: usize) -> (Vec<f64>, f64) {
    let start = Instant::now();
    let ids = send_paced(n, rate, |i| async move { slack.push_event(stranger_change(offset + i)).await.0 }).await;
    let deadline = Instant::now() + secs(60);
    loop {
        let acked = slack.acks().iter().filter(|a| ids.contains(&a.envelope_id)).count();
        if acked >= n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(millis(200)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let sent: std::collections::HashMap<String, Instant> = slack.envelopes().into_iter().map(|e| (e.envelope_id, e.at)).collect();
    let acks: Vec<Ack> = slack.acks().into_iter().filter(|a| ids.contains(&a.envelope_id)).collect();
    let mut lat: Vec<f64> =
        acks.iter().filter_map(|a| sent.get(&a.envelope_id).map(|s| a.at.duration_since(*s).as_secs_f64() * 1000.0)).collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    // First envelope sent → last ack written: the polling interval does not count.
    let first = ids.iter().filter_map(|id| sent.get(id)).min().copied();
    let last = acks.iter().map(|a| a.at).max();
    let span = match (first, last) {
        (Some(f), Some(l)) => l.duration_since(f).as_secs_f64(),
        _ => elapsed,
    };
    (lat, span)
}

fn push_row(rows: &mut Vec<(String, String, String)>, row: (String, String, String)) {
    eprintln!("{} | {} | {}", row.0, row.1, row.2);
    rows.push(row);
}

/// `LOAD_PROFILE=out.data cargo bench --bench load`: the main run's traffic up to its ingest row
/// (2,000 at 200/s, 10,000 at 2,000/s), then only the ingest of `user_change` for members
/// without presets (5 bursts of 5,000, as fast as the fake sends) under `perf record -g`
/// attached to the bot (`LOAD_PROFILE=-`: no perf); prints each burst's rate and the bot's CPU
/// per event. `LOAD_PROFILE_RATE=1000`: the bursts paced at that many a second instead. Point `STATUSINATOR_TEST_BIN` at a build with symbols
/// (`CARGO_PROFILE_RELEASE_STRIP=false cargo build --release`).
async fn profile_ingest(out: &str) {
    // `LOAD_RUST_LOG` sets the bot's log level (default `warn`; `""`: the bot's own default, info).
    let rust_log = std::env::var("LOAD_RUST_LOG").unwrap_or_else(|_| "warn".into());
    let (slack, bot) = owner_bot_of(None, "[limits]\nsettle_seconds = 0\ncommands_per_minute = 100000\n", &rust_log).await;
    let pid = bot.pid().unwrap_or(0);
    ack_latencies(&slack, 2000, 200.0, 0).await;
    ack_latencies(&slack, 10_000, 2000.0, 10_000).await;
    // `LOAD_PERF_CG=dwarf,16384`: call graphs from DWARF (release builds have no frame pointers).
    let call_graph = std::env::var("LOAD_PERF_CG").map(|cg| format!("--call-graph={cg}")).unwrap_or_else(|_| "-g".into());
    let perf = (out != "-").then(|| {
        std::process::Command::new("perf")
            .args(["record", "-F", "1999", &call_graph, "-o", out, "-p", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .spawn()
    });
    tokio::time::sleep(secs(1)).await;
    let rate = std::env::var("LOAD_PROFILE_RATE").ok().and_then(|r| r.parse::<f64>().ok()).unwrap_or(1e9);
    let (mut n, mut rates) = (0usize, Vec::new());
    let cpu0 = cpu_secs(pid);
    for round in 0..5 {
        let (lat, elapsed) = ack_latencies(&slack, 5000, rate, 1_000_000 + round * 5000).await;
        n += lat.len();
        rates.push(format!("{:.0}", lat.len() as f64 / elapsed));
    }
    let cpu = cpu_secs(pid) - cpu0;
    if let Some(Ok(mut p)) = perf {
        let _ = std::process::Command::new("kill").args(["-INT", &p.id().to_string()]).status();
        let _ = p.wait();
    }
    println!("ingest: {n} acked; bursts {}/s; bot CPU {cpu:.2} s = {:.1} µs an event", rates.join(", "), cpu * 1e6 / n.max(1) as f64);
}

/// A fresh fake with member U1 and a connected single-user bot owned by U1.
async fn owner_bot(config_toml: &str) -> (FakeSlack, Bot) {
    owner_bot_of(None, config_toml, "warn").await
}

/// [`owner_bot`] running `bin` (None: this build's, or `STATUSINATOR_TEST_BIN`) with `RUST_LOG`
/// = `rust_log` (`""`: the bot's own default, `info` with the wire libraries capped).
async fn owner_bot_of(bin: Option<&str>, config_toml: &str, rust_log: &str) -> (FakeSlack, Bot) {
    let slack = FakeSlack::start().await;
    slack.set_echo_bot_messages(false);
    let token = slack.add_member("U1", "Ada");
    let opts = BotOptions {
        user_token: Some(token),
        env: vec![("RUST_LOG".into(), rust_log.into())],
        config_toml: Some(config_toml.into()),
        ..Default::default()
    };
    // tests/common reads the binary's path from the environment when it spawns.
    let before = std::env::var_os("STATUSINATOR_TEST_BIN");
    if let Some(bin) = bin {
        std::env::set_var("STATUSINATOR_TEST_BIN", bin);
    }
    let bot = Bot::spawn(&slack, opts);
    match before {
        Some(b) => std::env::set_var("STATUSINATOR_TEST_BIN", b),
        None => std::env::remove_var("STATUSINATOR_TEST_BIN"),
    }
    assert!(bot.connected(&slack, secs(20)).await, "{}", bot.logs());
    (slack, bot)
}

/// The binaries the cost rows compare: this build's (or `STATUSINATOR_TEST_BIN`) as "new", and
/// `LOAD_BASELINE_BIN` (the previous commit's release binary) as "baseline" when set.
fn cost_bins() -> Vec<(&'static str, String)> {
    let new = std::env::var("STATUSINATOR_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_statusinator").to_string());
    let mut bins = vec![("new", new)];
    if let Ok(base) = std::env::var("LOAD_BASELINE_BIN") {
        bins.push(("baseline", base));
    }
    bins
}

/// Sends `n` events at `rate`/s, the `i`th made by `event(i)` (an envelope id), and waits (60 s at
/// most) until all are acked; returns how many were.
async fn paced<F, Fut>(slack: &FakeSlack, n: usize, rate: f64, event: F) -> usize
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let ids = send_paced(n, rate, event).await;
    let deadline = Instant::now() + secs(60);
    loop {
        let acked = slack.acks().iter().filter(|a| ids.contains(&a.envelope_id)).count();
        if acked >= n || Instant::now() > deadline {
            return acked;
        }
        tokio::time::sleep(millis(50)).await;
    }
}

/// "CPU per 1,000 `user_change` for members without presets": each binary's bot (default log
/// level, default limits) is warmed with 2,000 such events, then three rounds of 3,000 at
/// 1,000/s, the binaries taking turns; each round's bot CPU (utime+stime) per 1,000, median of 3.
/// 3,000 a round because /proc counts 10 ms ticks.
async fn cost_strangers_row(rows: &mut Vec<(String, String, String)>) {
    let bins = cost_bins();
    let mut bots = Vec::new();
    for (_, bin) in &bins {
        let (slack, bot) = owner_bot_of(Some(bin), "[limits]\ncommands_per_minute = 100000\n", "").await;
        paced(&slack, 2000, 2000.0, |i| {
            let slack = &slack;
            async move { slack.push_event(stranger_change(i)).await.0 }
        })
        .await;
        bots.push((slack, bot, Vec::new()));
    }
    for round in 0..3 {
        for (slack, bot, per_1000) in bots.iter_mut() {
            let pid = bot.pid().unwrap_or(0);
            let cpu0 = cpu_secs(pid);
            let acked = paced(slack, 3000, 1000.0, |i| {
                let slack = &*slack;
                async move { slack.push_event(stranger_change(10_000 + round * 3000 + i)).await.0 }
            })
            .await;
            assert_eq!(acked, 3000, "{}", bot.logs());
            per_1000.push((cpu_secs(pid) - cpu0) / 3.0);
        }
    }
    let cells: Vec<String> = bins
        .iter()
        .zip(bots.iter_mut())
        .map(|((name, _), (_, _, v))| {
            v.sort_by(|a, b| a.total_cmp(b));
            let runs: Vec<String> = v.iter().map(|c| format!("{:.0}", c * 1000.0)).collect();
            format!("{name} {:.0} ms = {:.0} µs an event (runs {} ms)", v[1] * 1000.0, v[1] * 1000.0, runs.join(", "))
        })
        .collect();
    let cell = match bots.as_slice() {
        [(_, _, new), (_, _, base)] => format!("{}; new/baseline {:.2}", cells.join("; "), new[1] / base[1].max(1e-9)),
        _ => cells.join("; "),
    };
    push_row(
        rows,
        (
            "CPU per 1,000 user_change for members without presets (1,000/s, median of 3 rounds of 3,000)".into(),
            cell,
            "≤ 50 ms (≤ 50 µs an event)".into(),
        ),
    );
}

/// "1,000 events/s with 4 % owner flips": 5,200 `user_change` at 1,000/s, every 26th a status
/// change of U1 (the owner, preset :palm_tree:) between the preset and none, the rest 5,000
/// members without presets; the bot's total CPU from the first event until every one is acked
/// and the last swap has settled (3 s), default settle time and log level. Three runs a binary,
/// taking turns; the median.
async fn cost_mixed_row(rows: &mut Vec<(String, String, String)>) {
    let bins = cost_bins();
    let mut bots = Vec::new();
    for (_, bin) in &bins {
        let (slack, bot) = owner_bot_of(Some(bin), "[limits]\ncommands_per_minute = 100000\n", "").await;
        let env = slack.slash_command("U1", "add :palm_tree: Away").await;
        assert!(slack.wait_for_ack(&env, secs(5)).await.is_some(), "{}", bot.logs());
        bots.push((slack, bot, Vec::new(), 0usize));
    }
    for round in 0..3 {
        for (slack, bot, totals, writes) in bots.iter_mut() {
            let pid = bot.pid().unwrap_or(0);
            let calls0 = slack.count_calls("users.profile.set");
            let cpu0 = cpu_secs(pid);
            let acked = paced(slack, 5200, 1000.0, |i| {
                let slack = &*slack;
                async move {
                    if i % 26 == 25 {
                        let flip = i / 26;
                        slack.set_status("U1", if flip % 2 == 0 { ":palm_tree:" } else { "" }).await.0
                    } else {
                        slack.push_event(stranger_change(100_000 + round * 5200 + i)).await.0
                    }
                }
            })
            .await;
            assert_eq!(acked, 5200, "{}", bot.logs());
            tokio::time::sleep(secs(3)).await;
            totals.push(cpu_secs(pid) - cpu0);
            *writes += slack.count_calls("users.profile.set") - calls0;
        }
    }
    let cells: Vec<String> = bins
        .iter()
        .zip(bots.iter_mut())
        .map(|((name, _), (_, _, v, writes))| {
            v.sort_by(|a, b| a.total_cmp(b));
            let runs: Vec<String> = v.iter().map(|c| format!("{c:.2}")).collect();
            format!(
                "{name} {:.2} s = {:.0} µs an event (runs {} s; {writes} profile writes in 3 runs)",
                v[1],
                v[1] * 1e6 / 5200.0,
                runs.join(", ")
            )
        })
        .collect();
    let cell = match bots.as_slice() {
        [(_, _, new, _), (_, _, base, _)] => format!("{}; new/baseline {:.2}", cells.join("; "), new[1] / base[1].max(1e-9)),
        _ => cells.join("; "),
    };
    push_row(rows, ("1,000 events/s with 4 % owner flips (5,200 user_change: 5,000 members without presets, 200 status flips of the owner; total bot CPU, median of 3)".into(), cell, "≤ 0.33 s".into()));
}

fn print_table(rows: Vec<(String, String, String)>) {
    println!("| measure | result | target |\n| --- | --- | --- |");
    for (a, b, c) in rows {
        println!("| {a} | {b} | {c} |");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Ok(out) = std::env::var("LOAD_PROFILE") {
        return profile_ingest(&out).await;
    }
    let mut rows: Vec<(String, String, String)> = Vec::new();
    // `LOAD_COST=1`: only the two cost rows (issue 16), beside `LOAD_BASELINE_BIN` when set.
    if std::env::var_os("LOAD_COST").is_some() {
        cost_strangers_row(&mut rows).await;
        cost_mixed_row(&mut rows).await;
        return print_table(rows);
    }
    let bin = env!("CARGO_BIN_EXE_statusinator");
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    push_row(&mut rows, ("stripped release binary size".into(), format!("{:.1} MB", size as f64 / 1e6), "≤ 12 MB".into()));

    // Start-up to hello, five times.
    let mut startups = Vec::new();
    for _ in 0..5 {
        let slack = FakeSlack::start().await;
        let t = Instant::now();
        let bot = Bot::spawn(&slack, BotOptions { env: vec![("RUST_LOG".into(), "warn".into())], ..Default::default() });
        assert!(slack.wait_for_sockets(1, secs(20)).await, "{}", bot.logs());
        startups.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    startups.sort_by(|a, b| a.total_cmp(b));
    push_row(&mut rows, ("start-up to hello (median of 5)".into(), format!("{:.0} ms", pct(&startups, 0.5)), "≤ 200 ms".into()));

    let (slack, bot) = owner_bot("[limits]\nsettle_seconds = 0\ncommands_per_minute = 100000\n").await;
    let pid = bot.pid().unwrap_or(0);
    tokio::time::sleep(secs(3)).await;
    push_row(&mut rows, ("idle RSS after connect".into(), format!("{:.1} MB", rss_kb(pid) as f64 / 1024.0), "≤ 15 MB".into()));
    // What a Pi pays to keep the bot waiting: pings every few seconds and the scheduler's ticks.
    // /proc counts in 10 ms ticks, hence a long window.
    let idle = secs(60);
    let before = cpu_secs(pid);
    tokio::time::sleep(idle).await;
    let per_hour = (cpu_secs(pid) - before) * 3600.0 / idle.as_secs_f64();
    push_row(&mut rows, ("idle CPU (60 s connected, nothing happening), per hour".into(), format!("{per_hour:.2} s"), "—".into()));

    let (lat, _) = ack_latencies(&slack, 2000, 200.0, 0).await;
    push_row(
        &mut rows,
        (
            "ack latency at 200 envelopes/s (2,000 user_change, incl. store write)".into(),
            format!("p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", pct(&lat, 0.5), pct(&lat, 0.99), pct(&lat, 1.0)),
            "p99 ≤ 5 ms".into(),
        ),
    );
    let cpu0 = cpu_secs(pid);
    let (lat, _) = ack_latencies(&slack, 10_000, 2000.0, 10_000).await;
    let cpu = cpu_secs(pid) - cpu0;
    push_row(
        &mut rows,
        (
            "ack latency at 2,000 envelopes/s (10,000)".into(),
            format!("p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", pct(&lat, 0.5), pct(&lat, 0.99), pct(&lat, 1.0)),
            "—".into(),
        ),
    );
    push_row(&mut rows, ("CPU per 10,000 envelopes".into(), format!("{cpu:.2} s"), "—".into()));

    // One burst of 5,000 lasts a quarter of a second, and on this 2-core machine one burst's rate
    // spans 14k–32k/s for the same binary: the row is the median of five.
    let rss_before = rss_kb(pid);
    let mut bursts = Vec::new();
    let mut acked = 0;
    for round in 0..5 {
        let (lat, elapsed) = ack_latencies(&slack, 5000, 1e9, 100_000 + round * 5000).await;
        acked += lat.len();
        bursts.push(lat.len() as f64 / elapsed);
    }
    bursts.sort_by(|a, b| a.total_cmp(b));
    push_row(
        &mut rows,
        (
            "ingest of 5,000 user_change for members without presets (as fast as the fake sends; median of 5 bursts)".into(),
            format!(
                "{:.0}/s ({:.0}–{:.0}; {acked} of 25,000 acked); RSS {:.1} → {:.1} MB",
                pct(&bursts, 0.5),
                bursts[0],
                bursts[4],
                rss_before as f64 / 1024.0,
                rss_kb(pid) as f64 / 1024.0
            ),
            "≥ 5,000/s, RSS flat".into(),
        ),
    );

    // Maximum sustainable rate: step the offered rate up until acks fall behind. A step is
    // sustained when every envelope is acked, the fake really sent at ≥ 90 % of the rate, and the
    // ack p99 stays under 50 ms (no backlog building).
    let mut sustained: Option<(f64, f64, f64)> = None;
    let mut first_failure: Option<String> = None;
    let mut offset = 200_000;
    for rate in [2_000.0, 5_000.0, 10_000.0, 15_000.0, 20_000.0, 40_000.0] {
        let n = (rate * 3.0) as usize;
        let (lat, span) = ack_latencies(&slack, n, rate, offset).await;
        offset += n;
        let achieved = lat.len() as f64 / span.max(1e-9);
        let p99 = pct(&lat, 0.99);
        eprintln!("  offered {rate}/s: {} of {n} acked, {achieved:.0}/s, p99 {p99:.2} ms", lat.len());
        if lat.len() == n && achieved >= 0.9 * rate && p99 <= 50.0 {
            sustained = Some((rate, achieved, p99));
        } else {
            first_failure = Some(format!("{rate:.0}/s offered: {} of {n} acked at {achieved:.0}/s, p99 {p99:.1} ms", lat.len()));
            break;
        }
    }
    push_row(
        &mut rows,
        (
            "maximum sustainable rate (3 s steps of 2k, 5k, 10k, 15k, 20k, 40k user_change/s)".into(),
            match sustained {
                Some((rate, achieved, p99)) => format!(
                    "{rate:.0}/s sustained ({achieved:.0}/s acked, p99 {p99:.2} ms); next step: {}",
                    first_failure.as_deref().unwrap_or("none failed")
                ),
                None => format!("below 2,000/s: {}", first_failure.as_deref().unwrap_or("?")),
            },
            "—".into(),
        ),
    );

    // Command → reply (the ephemeral ack payload).
    let mut cmd_lat = Vec::new();
    for i in 0..200 {
        let env = slack.slash_command("U1", if i % 2 == 0 { "list" } else { "status" }).await;
        let sent = Instant::now();
        if let Some(a) = slack.wait_for_ack(&env, secs(5)).await {
            cmd_lat.push(a.at.duration_since(sent).as_secs_f64() * 1000.0);
        }
    }
    cmd_lat.sort_by(|a, b| a.total_cmp(b));
    push_row(
        &mut rows,
        (
            "slash command → reply (200 list/status)".into(),
            format!("p50 {:.2} ms, p99 {:.2} ms", pct(&cmd_lat, 0.5), pct(&cmd_lat, 0.99)),
            "p99 ≤ 20 ms".into(),
        ),
    );

    // user_change → first users.profile.set (name-only presets; budget allows 10 a minute).
    for (e, n) in [("palm_tree", "Away A"), ("car", "Away B")] {
        let env = slack.slash_command("U1", &format!("add :{e}: {n}")).await;
        slack.wait_for_ack(&env, secs(5)).await;
    }
    let mut swap_lat = Vec::new();
    for i in 0..10 {
        let before = slack.calls_to("users.profile.set").len();
        let emoji = if i % 2 == 0 { ":palm_tree:" } else { ":car:" };
        let (env, _) = slack.set_status("U1", emoji).await;
        slack.wait_for_ack(&env, secs(5)).await;
        let calls = slack.wait_for_calls("users.profile.set", before + 1, secs(10)).await;
        // The job starts as soon as it is durable, often before the ack frame is
        // written, so this is measured from the envelope leaving the fake.
        let sent = slack.envelopes().into_iter().find(|e| e.envelope_id == env).map(|e| e.at);
        if let (Some(s), Some(c)) = (sent, calls.get(before)) {
            swap_lat.push(c.at.saturating_duration_since(s).as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(millis(200)).await;
    }
    swap_lat.sort_by(|a, b| a.total_cmp(b));
    push_row(
        &mut rows,
        (
            "user_change sent → first users.profile.set received (10 swaps)".into(),
            format!("p50 {:.2} ms, p99 {:.2} ms", pct(&swap_lat, 0.5), pct(&swap_lat, 0.99)),
            "p99 ≤ 10 ms".into(),
        ),
    );

    // Flapping efficiency: 20 status changes in 2 s between two presets and none, ending on one
    // preset, with the default settle time. Counts profile writes until the bot goes quiet.
    {
        let flap_slack = FakeSlack::start().await;
        flap_slack.set_echo_bot_messages(false);
        let token = flap_slack.add_member("U2", "Grace");
        let _flap_bot = Bot::spawn(
            &flap_slack,
            BotOptions { user_token: Some(token), env: vec![("RUST_LOG".into(), "warn".into())], ..Default::default() },
        );
        assert!(flap_slack.wait_for_sockets(1, secs(20)).await);
        for (e, n) in [("palm_tree", "Away A"), ("car", "Away B")] {
            let env = flap_slack.slash_command("U2", &format!("add :{e}: {n}")).await;
            flap_slack.wait_for_ack(&env, secs(5)).await;
        }
        flap_slack.clear_calls();
        let cycle = [":palm_tree:", "", ":car:", ":palm_tree:"];
        for i in 0..20 {
            let emoji = if i == 19 { ":car:" } else { cycle[i % cycle.len()] };
            let (env, _) = flap_slack.set_status("U2", emoji).await;
            flap_slack.wait_for_ack(&env, secs(5)).await;
            tokio::time::sleep(millis(100)).await;
        }
        // Quiet for 8 s (four settle periods) means done.
        let mut writes = 0;
        loop {
            tokio::time::sleep(secs(8)).await;
            let now = flap_slack.calls_to("users.profile.set").len() + flap_slack.calls_to("users.setPhoto").len();
            if now == writes {
                break;
            }
            writes = now;
        }
        let name = flap_slack.member_profile("U2")["display_name"].as_str().unwrap_or("").to_string();
        push_row(
            &mut rows,
            (
                "flapping: 20 status changes in 2 s, ending on a preset (default settle 2 s)".into(),
                format!("{writes} profile writes for 1 final state; final name {name:?}"),
                "≤ 2 writes, final state right".into(),
            ),
        );
    }

    // App Home for a member with 50 more presets. On a fresh fake and bot: polling the big fake
    // above (hundreds of thousands of recorded calls, scanned under its lock) added tens of ms.
    let home_rss = hwm_kb(pid);
    drop(bot);
    let (slack, _bot) = owner_bot("[limits]\ncommands_per_minute = 100000\n").await;
    let names: Vec<&str> = emojis::iter().filter_map(|e| e.shortcode()).skip(100).take(52).collect();
    for (i, name) in names.iter().enumerate() {
        let env = slack.slash_command("U1", &format!("add :{name}: Preset {i}")).await;
        slack.wait_for_ack(&env, secs(5)).await;
    }
    let mut home_lat = Vec::new();
    for _ in 0..20 {
        let before = slack.count_calls("views.publish");
        let t = Instant::now();
        slack.app_home_opened("U1").await;
        // The fake stamps each call as it arrives; polling only finds it.
        if let Some(call) = slack.wait_for_calls("views.publish", before + 1, secs(5)).await.get(before) {
            home_lat.push(call.at.saturating_duration_since(t).as_secs_f64() * 1000.0);
        }
    }
    home_lat.sort_by(|a, b| a.total_cmp(b));
    push_row(
        &mut rows,
        (
            "app_home_opened sent → views.publish received (member with 52 presets)".into(),
            format!("p50 {:.2} ms, p99 {:.2} ms", pct(&home_lat, 0.5), pct(&home_lat, 0.99)),
            "—".into(),
        ),
    );
    push_row(&mut rows, ("peak RSS of the run above".into(), format!("{:.1} MB", home_rss as f64 / 1024.0), "—".into()));

    cost_strangers_row(&mut rows).await;
    cost_mixed_row(&mut rows).await;
    print_table(rows);
}
