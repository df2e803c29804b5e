//! Memory bounds (issue 7, "Memory bounds"): weeks of steady traffic in accelerated time, and no
//! tree or map that grows with traffic keeps growing.
//!
//! The traffic is the bot's own code paths with the network left out: delivery ids through the
//! dedupe, profile and command budget spends, profiles recorded into the avatar cache by
//! `user_change` (a new member every few minutes, as in a workspace with joiners and leavers),
//! a dead letter an hour, sign-in states, unreferenced photos, a dashboard sample a tick, and
//! Slack error codes and envelope types never seen before into the metric families. The
//! upkeep job's own `upkeep` runs every tick (ten minutes in `upkeep::run` and the long
//! variant; an hour in the quick one, which only makes each bound coarser).
//!
//! Time is tokio's paused clock, which the store's clock follows (`store::now_ms`), so 45 days
//! take seconds. Each tree's daily peak is printed (`--nocapture`) and must level off: the last
//! two weeks' peak is no higher than the peak before them, and under the bound its expiry rule
//! implies.
//!
//! ```text
//! cargo test --test soak -- --nocapture                          # 45 days, hourly ticks (CI)
//! TORTURE_LONG=1 cargo test --release --test soak -- --nocapture # 60 days, 10-minute ticks, 4× traffic
//! ```

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use statusinator::config::{Config, Env};
use statusinator::context::{Context, Identity};
use statusinator::jobs::budget;
use statusinator::jobs::upkeep::{self, AVATAR_TTL_MS, DEAD_TTL_MS, SEEN_TTL_MS};
use statusinator::secret::Secret;
use statusinator::shutdown::Shutdown;
use statusinator::slack::types::UserProfile;
use statusinator::slack::SlackClient;
use statusinator::store::{self, Desired, Job, MetricSample, Store};
use statusinator::telemetry;
use statusinator::web::sampler;

struct MapEnv(HashMap<&'static str, &'static str>);

impl Env for MapEnv {
    fn var(&self, key: &str) -> Option<String> {
        self.0.get(key).map(|s| s.to_string())
    }
}

/// Traffic per tick of simulated time (ten minutes, or an hour in the quick variant).
struct Load {
    tick: Duration,
    deliveries: u64,
    spends: u64,
    new_profiles: u64,
}

fn long() -> bool {
    std::env::var("TORTURE_LONG").is_ok_and(|v| v == "1")
}

fn context(dir: &std::path::Path) -> Context {
    let env = MapEnv([("SLACK_APP_TOKEN", "xapp-1-A1-2-abc"), ("SLACK_BOT_TOKEN", "xoxb-1-2-abc")].into_iter().collect());
    let config = Config::from_toml("", &env).expect("config");
    let store = Store::open(&dir.join("db")).expect("store");
    // Never called: the soak has no network.
    let slack =
        SlackClient::new("http://127.0.0.1:9/api/".parse().expect("url"), Secret::new("xoxb-1"), Secret::new("xapp-1")).expect("client");
    Context::new(config, store, slack, Identity::default(), Shutdown::new())
}

fn sizes(ctx: &Context) -> BTreeMap<&'static str, usize> {
    let s = &ctx.store;
    let m = &ctx.telemetry;
    BTreeMap::from([
        ("seen", s.seen.len()),
        ("rates", s.rates.len()),
        ("avatars", s.avatars.len()),
        ("dead", store::queue::dead_count(s)),
        ("oauth_states", s.oauth_states.len()),
        ("photos", s.photos.len()),
        ("metric_history", s.metric_history.len()),
        ("api_call_labels", m.api_calls.len()),
        ("envelope_labels", m.envelopes.len()),
    ])
}

fn profile(n: u64) -> UserProfile {
    serde_json::from_value(serde_json::json!({
        "display_name": format!("member {n}"),
        "real_name": format!("Member Number {n}"),
        "image_512": format!("https://avatars.slack-edge.com/{n}_512.png"),
        "status_emoji": if n.is_multiple_of(3) { ":palm_tree:" } else { "" },
    }))
    .expect("profile")
}

#[tokio::test(start_paused = true)]
async fn trees_and_maps_level_off_under_weeks_of_traffic() {
    let (days, load) = if long() {
        (60, Load { tick: Duration::from_secs(600), deliveries: 400, spends: 40, new_profiles: 8 })
    } else {
        (45, Load { tick: Duration::from_secs(3600), deliveries: 300, spends: 10, new_profiles: 4 })
    };
    let ticks_per_day = 86_400 / load.tick.as_secs();
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = context(dir.path());
    let m = &ctx.telemetry;

    let mut peaks: Vec<BTreeMap<&'static str, usize>> = Vec::new();
    let mut delivery = 0u64;
    let mut joiner = 0u64;
    for day in 0..days {
        let mut peak: BTreeMap<&'static str, usize> = BTreeMap::new();
        for tick in 0..ticks_per_day {
            let t = day * ticks_per_day + tick;
            for _ in 0..load.deliveries {
                delivery += 1;
                assert!(ctx.store.first_sighting(&format!("Ev{delivery:012}")).expect("dedupe"));
            }
            // Budgets: members from a pool that drifts, so old members' windows must go.
            for i in 0..load.spends {
                let member = format!("U{:06}", t / 3 * 10 + i % 10);
                budget::spend(&ctx.store, &budget::profile_key(&member), 1).expect("spend");
                let _ = budget::try_take(&ctx.store, &budget::command_key(&member), 20).expect("take");
            }
            // Profiles: a steady trickle of members never seen before, and one regular.
            for _ in 0..load.new_profiles {
                joiner += 1;
                ctx.avatars.update_from_profile(&format!("W{joiner:08}"), &profile(joiner));
            }
            ctx.avatars.update_from_profile("UREGULAR", &profile(0));
            if tick % (3600 / load.tick.as_secs()) == 0 {
                // An hourly failure for good, from a rotating member; a sign-in started and
                // abandoned; a photo uploaded for a preset never saved.
                let job = Job::new(&format!("U{:06}", t % 500), Desired::Baseline);
                statusinator::store::queue::dead_letter(&ctx.store, &job, "invalid_auth").expect("dead letter");
                statusinator::store::oauth_states::new_state(&ctx.store, &format!("U{:06}", t % 50), true).expect("state");
                ctx.store.put_photo(format!("photo {t}").as_bytes()).expect("photo");
                // Slack inventing error codes, a socket inventing envelope types.
                m.api_call("users.profile.set", &format!("weird_error_{t}"), Duration::from_millis(5));
                m.envelopes.inc(&format!("type_{t}"));
            }
            sampler::record(&ctx.store, &MetricSample { at_ms: store::now_ms(), ..MetricSample::default() }).expect("sample");
            for (k, v) in sizes(&ctx) {
                let e = peak.entry(k).or_default();
                *e = (*e).max(v);
            }
            tokio::time::advance(load.tick).await;
            upkeep::upkeep(&ctx);
        }
        peaks.push(peak);
    }

    // The table, one row a week and the last day.
    let names: Vec<&str> = peaks[0].keys().copied().collect();
    println!("daily peak sizes over {days} simulated days:");
    println!("{:>5} {}", "day", names.iter().map(|n| format!("{n:>16}")).collect::<String>());
    for (d, p) in peaks.iter().enumerate() {
        if d % 7 == 0 || d + 1 == peaks.len() {
            println!("{:>5} {}", d + 1, names.iter().map(|n| format!("{:>16}", p[n])).collect::<String>());
        }
    }

    // Level off: the last two weeks never exceed what came before them.
    let split = peaks.len() - 14;
    for name in &names {
        let before = peaks[..split].iter().map(|p| p[name]).max().unwrap_or(0);
        let after = peaks[split..].iter().map(|p| p[name]).max().unwrap_or(0);
        assert!(after <= before, "{name} still growing: peak {before} before day {}, {after} after", split + 1);
    }

    // And each is under the bound its expiry rule implies (one tick of slack for the sweep).
    let ticks = |ttl_ms: u64| (ttl_ms / load.tick.as_millis() as u64 + 1) as usize;
    let last = peaks.last().expect("days");
    let per_tick = |n: u64| n as usize;
    assert!(last["seen"] <= per_tick(load.deliveries) * ticks(SEEN_TTL_MS), "seen: {}", last["seen"]);
    assert!(last["avatars"] <= per_tick(load.new_profiles) * ticks(AVATAR_TTL_MS) + 1, "avatars: {}", last["avatars"]);
    assert!(last["dead"] <= (DEAD_TTL_MS / 3_600_000 + 1) as usize, "dead: {}", last["dead"]);
    assert!(last["dead"] <= 500 * store::DEAD_PER_MEMBER);
    assert!(last["rates"] <= 2 * 2 * per_tick(load.spends), "rates: {}", last["rates"]);
    assert!(last["oauth_states"] <= 2 * 6 + 1, "oauth states: {}", last["oauth_states"]);
    assert!(last["photos"] <= 3, "unreferenced photos: {}", last["photos"]);
    assert!(last["metric_history"] <= sampler::HISTORY_CAP, "metric history: {}", last["metric_history"]);
    assert!(last["api_call_labels"] <= telemetry::MAX_LABELS + 1 && last["envelope_labels"] <= telemetry::MAX_LABELS + 1);

    // Expiry kept what matters: the regular member's profile is still cached.
    assert!(ctx.avatars.peek("UREGULAR").is_some(), "a member seen every ten minutes lost their cached profile");
}

/// A member whose token is broken fails every swap: their dead letters stay few.
#[test]
fn a_member_failing_forever_keeps_only_their_newest_dead_letters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("store");
    let job = |member: &str| Job::new(member, Desired::Baseline);
    for i in 0..200 {
        statusinator::store::queue::dead_letter(&store, &job("UBROKEN"), &format!("failure {i}")).expect("dead letter");
        std::thread::sleep(Duration::from_millis(1));
    }
    statusinator::store::queue::dead_letter(&store, &job("UOTHER"), "once").expect("dead letter");
    let theirs = store::queue::dead_of(&store, "UBROKEN").expect("scan");
    assert_eq!(theirs.len(), store::DEAD_PER_MEMBER);
    assert_eq!(theirs.last().map(|(_, d)| d.reason.to_string()).as_deref(), Some("failure 199"), "the newest is kept");
    assert_eq!(store::queue::dead_of(&store, "UOTHER").expect("scan").len(), 1);
}
