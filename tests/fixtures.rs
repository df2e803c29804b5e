//! Conformance over real Slack payloads: every relevant file under
//! `../shared/slack-fixtures` (see its SOURCES.md and NOTES.md) is parsed with
//! the project's own types, and the fields the bot uses are checked.
//!
//! The java `json-logs/samples` files are masked field-supersets: strings are
//! blanked and `ok:false` sits next to success fields, so for them we check
//! that every field the bot reads is *present* (parsed to `Some`), not its
//! value. The slack-api-ref and SDK test payloads carry real values and are
//! checked exactly.
//!
//! One test per group, so a failure names the group; every assertion names
//! the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use statusinator::slack::events::{parse_event, Event, EventCallback, Interactive, MessageEvent, SlashCommand, View};
use statusinator::slack::types::{AuthTest, File, OauthAccess, User, UserProfile};
use statusinator::socket::envelope::{self, EnvelopeKind, Frame};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/slack-fixtures");

const JAVA_ENVELOPES: &str =
    "java-slack-sdk/_extracted_from_code/slack-api-client/src/test/java/test_locally/api/socket_mode/EnvelopeTest.java";
const PY_ENVELOPES: &str = "python-slack-sdk/_extracted_from_code/tests/slack_sdk/socket_mode/mock_socket_mode_server.py";
const JAVA_SAMPLES: &str = "java-slack-sdk/json-logs/samples";
const PY_FIXTURES: &str = "python-slack-sdk/tests/slack_sdk_fixture";
const API_REF: &str = "slack-api-ref";

/// The fixtures folder; a missing one fails loudly instead of passing with nothing checked.
fn root() -> PathBuf {
    let p = PathBuf::from(FIXTURES);
    assert!(
        p.join("SOURCES.md").is_file(),
        "the Slack fixtures folder {} is missing (expected SOURCES.md in it): these conformance tests need the shared slack-fixtures checkout next to the crate",
        p.display()
    );
    p
}

/// The `*.json` files directly in `rel`, sorted; the folder must exist and hold some.
fn json_files(rel: &str) -> Vec<PathBuf> {
    let dir = root().join(rel);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fixture folder {} unreadable: {e}", dir.display()));
    let mut out: Vec<PathBuf> =
        entries.map(|e| e.expect("readable dir entry").path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    out.sort();
    assert!(!out.is_empty(), "no .json fixtures in {}", dir.display());
    out
}

fn fixture(rel: &str) -> PathBuf {
    let p = root().join(rel);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: unreadable: {e}", path.display()))
}

fn load(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string()
}

fn from<T: serde::de::DeserializeOwned>(v: &Value, what: &str, origin: &str) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{origin}: {what} did not parse: {e}"))
}

fn some<'a>(v: &'a Option<String>, field: &str, origin: &str) -> &'a str {
    v.as_deref().unwrap_or_else(|| panic!("{origin}: {field} missing"))
}

fn nonempty<'a>(v: &'a Option<String>, field: &str, origin: &str) -> &'a str {
    let s = some(v, field, origin);
    assert!(!s.is_empty(), "{origin}: {field} is empty");
    s
}

// ---------------------------------------------------------------- Socket Mode

#[test]
fn socket_mode_envelopes() {
    let mut files = json_files(JAVA_ENVELOPES);
    files.extend(json_files(PY_ENVELOPES));
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();

    for path in &files {
        let origin = path.display().to_string();
        let text = read(path);
        let raw = load(path);
        let frame = envelope::parse(&text).unwrap_or_else(|e| panic!("{origin}: envelope::parse failed: {e}"));
        match frame {
            Frame::Hello(h) => {
                *counts.entry("hello".into()).or_default() += 1;
                assert_eq!(raw["type"], "hello", "{origin}");
                assert_eq!(
                    h.approximate_connection_time,
                    raw["debug_info"]["approximate_connection_time"].as_u64(),
                    "{origin}: approximate_connection_time"
                );
                assert!(h.approximate_connection_time.is_some(), "{origin}: approximate_connection_time missing");
                assert_eq!(h.num_connections, raw["num_connections"].as_u64(), "{origin}: num_connections");
                assert_eq!(h.app_id.as_deref(), raw["connection_info"]["app_id"].as_str(), "{origin}: app_id");
            }
            Frame::Disconnect { reason } => {
                *counts.entry("disconnect".into()).or_default() += 1;
                assert_eq!(Some(reason.as_str()), raw["reason"].as_str(), "{origin}: reason");
                assert!(!reason.is_empty(), "{origin}: empty disconnect reason");
            }
            Frame::Envelope(env) => {
                assert_eq!(Some(env.envelope_id.as_str()), raw["envelope_id"].as_str(), "{origin}: envelope_id");
                assert_eq!(env.accepts_response_payload, raw["accepts_response_payload"].as_bool().unwrap_or(false), "{origin}");
                assert_eq!(u64::from(env.retry_attempt), raw["retry_attempt"].as_u64().unwrap_or(0), "{origin}: retry_attempt");
                assert_eq!(env.retry_reason, None, "{origin}: an empty retry_reason must read as None");
                let p = &env.payload;
                match &env.kind {
                    EnvelopeKind::EventsApi => {
                        *counts.entry("events_api".into()).or_default() += 1;
                        assert_eq!(raw["type"], "events_api", "{origin}");
                        let cb: EventCallback = from(p, "EventCallback", &origin);
                        let event_id = nonempty(&cb.event_id, "event_id", &origin);
                        assert_eq!(env.dedupe_key(), format!("ev:{event_id}"), "{origin}: dedupe key");
                        assert!(cb.event_time.is_some_and(|t| t > 1_600_000_000), "{origin}: event_time {:?}", cb.event_time);
                        assert_eq!(cb.team_id.as_deref(), Some("T111"), "{origin}: team_id");
                        assert_eq!(cb.api_app_id.as_deref(), Some("A111"), "{origin}: api_app_id");
                        let ev = cb.parse_event().unwrap_or_else(|e| panic!("{origin}: parse_event: {e}"));
                        let ty = p["event"]["type"].as_str().unwrap_or_default();
                        assert_eq!(env.subtype(), Some(ty), "{origin}: subtype");
                        match ev {
                            Event::Message(m) => {
                                assert_eq!(ty, "message", "{origin}");
                                assert_eq!(m.user.as_deref(), Some("U222"), "{origin}: user");
                                assert_eq!(m.channel.as_deref(), Some("C111"), "{origin}: channel");
                                assert_eq!(m.channel_type.as_deref(), Some("channel"), "{origin}: channel_type");
                                assert_eq!(m.text.as_deref(), Some("<@U111> Hi here!"), "{origin}: text");
                                nonempty(&m.ts, "ts", &origin);
                                nonempty(&m.event_ts, "event_ts", &origin);
                                assert!(!m.is_from_bot(), "{origin}: a member's message read as from a bot");
                                assert!(!m.is_dm(), "{origin}: a channel message read as a DM");
                                assert!(m.files.is_empty(), "{origin}: files");
                            }
                            Event::Other(name) => assert_eq!(name, ty, "{origin}: Other keeps the type name"),
                            other => panic!("{origin}: unexpected event {other:?}"),
                        }
                    }
                    EnvelopeKind::SlashCommands => {
                        *counts.entry("slash_commands".into()).or_default() += 1;
                        let c: SlashCommand = from(p, "SlashCommand", &origin);
                        assert!(nonempty(&c.command, "command", &origin).starts_with('/'), "{origin}: command");
                        assert_eq!(c.text, "", "{origin}: text");
                        assert_eq!(c.user_id.as_deref(), Some("U111"), "{origin}: user_id");
                        nonempty(&c.user_name, "user_name", &origin);
                        assert_eq!(c.channel_id.as_deref(), Some("C111"), "{origin}: channel_id");
                        assert_eq!(c.team_id.as_deref(), Some("T111"), "{origin}: team_id");
                        assert!(nonempty(&c.response_url, "response_url", &origin).starts_with("https://hooks.slack.com/"), "{origin}");
                        nonempty(&c.trigger_id, "trigger_id", &origin);
                        assert_eq!(c.api_app_id.as_deref(), Some("A111"), "{origin}: api_app_id");
                        assert_eq!(env.dedupe_key(), format!("env:{}", env.envelope_id), "{origin}: dedupe key");
                    }
                    EnvelopeKind::Interactive => {
                        *counts.entry("interactive".into()).or_default() += 1;
                        let i: Interactive = from(p, "Interactive", &origin);
                        assert_eq!(Some(i.kind.as_str()), p["type"].as_str(), "{origin}: kind");
                        assert_eq!(i.user_id(), p["user"]["id"].as_str(), "{origin}: user_id");
                        assert!(i.user_id().is_some(), "{origin}: user_id missing");
                        let user = i.user.as_ref().unwrap();
                        nonempty(&user.username, "user.username", &origin);
                        nonempty(&user.team_id, "user.team_id", &origin);
                        nonempty(&i.trigger_id, "trigger_id", &origin);
                        match i.kind.as_str() {
                            "block_actions" => {
                                assert!(!i.actions.is_empty(), "{origin}: actions");
                                for a in &i.actions {
                                    nonempty(&a.action_id, "action_id", &origin);
                                    nonempty(&a.block_id, "block_id", &origin);
                                    nonempty(&a.action_ts, "action_ts", &origin);
                                    match nonempty(&a.kind, "action type", &origin) {
                                        "button" => assert_eq!(a.value.as_deref(), Some("underlying"), "{origin}: value"),
                                        "static_select" => {
                                            let opt = a.selected_option.as_ref().unwrap_or_else(|| panic!("{origin}: selected_option"));
                                            assert!(opt["value"].is_string(), "{origin}: selected_option.value");
                                        }
                                        k => panic!("{origin}: unexpected action type {k}"),
                                    }
                                }
                                if p["view"].is_object() {
                                    let v = i.view.as_ref().unwrap_or_else(|| panic!("{origin}: view"));
                                    assert_eq!(v.id.as_deref(), Some("V1234567890"), "{origin}: view.id");
                                    assert_eq!(v.kind.as_deref(), Some("modal"), "{origin}: view.type");
                                    assert_eq!(v.callback_id.as_deref(), Some(""), "{origin}: view.callback_id");
                                    assert_eq!(v.private_metadata.as_deref(), Some(""), "{origin}: view.private_metadata");
                                    nonempty(&v.hash, "view.hash", &origin);
                                    let st = v.state.as_ref().unwrap_or_else(|| panic!("{origin}: view.state"));
                                    assert!(st["values"]["block"]["a"]["selected_option"].is_object(), "{origin}: state values kept raw");
                                } else {
                                    assert!(i.view.is_none(), "{origin}: view");
                                    assert!(
                                        nonempty(&i.response_url, "response_url", &origin).starts_with("https://hooks.slack.com/"),
                                        "{origin}"
                                    );
                                }
                            }
                            "shortcut" => {
                                assert!(i.actions.is_empty(), "{origin}: actions");
                                assert!(i.view.is_none(), "{origin}: view");
                            }
                            k => panic!("{origin}: unexpected interactive type {k}"),
                        }
                    }
                    EnvelopeKind::Other(k) => panic!("{origin}: unexpected envelope type {k}"),
                }
            }
            Frame::Unknown(k) => panic!("{origin}: frame type {k} read as Unknown"),
        }
    }

    let expected: BTreeMap<String, usize> = [("hello", 2), ("disconnect", 1), ("events_api", 3), ("slash_commands", 2), ("interactive", 3)]
        .map(|(k, n)| (k.to_string(), n))
        .into();
    assert_eq!(counts, expected, "frames per type across {FIXTURES}/{{{JAVA_ENVELOPES},{PY_ENVELOPES}}}");
    println!("socket_mode_envelopes: {} files {counts:?}", files.len());
}

// ---------------------------------------------------------------- events

/// Checks a masked user (every field the bot reads is present).
fn check_masked_user(u: &User, origin: &str) {
    some(&u.id, "user.id", origin);
    some(&u.name, "user.name", origin);
    some(&u.real_name, "user.real_name", origin);
    let p = u.profile.as_ref().unwrap_or_else(|| panic!("{origin}: user.profile missing"));
    check_masked_profile(p, origin);
}

fn check_masked_profile(p: &UserProfile, origin: &str) {
    for (name, f) in [
        ("display_name", &p.display_name),
        ("real_name", &p.real_name),
        ("status_emoji", &p.status_emoji),
        ("status_text", &p.status_text),
        ("avatar_hash", &p.avatar_hash),
        ("image_original", &p.image_original),
        ("image_1024", &p.image_1024),
        ("image_512", &p.image_512),
        ("image_192", &p.image_192),
        ("image_72", &p.image_72),
        ("image_48", &p.image_48),
        ("image_32", &p.image_32),
        ("image_24", &p.image_24),
    ] {
        some(f, &format!("profile.{name}"), origin);
    }
}

fn message(ev: Event, origin: &str) -> MessageEvent {
    match ev {
        Event::Message(m) => m,
        other => panic!("{origin}: expected a message event, got {other:?}"),
    }
}

/// What the bot relies on in each masked java events sample; `event` is the raw event body.
fn check_java_event(name: &str, event: &Value, ev: Event, origin: &str) {
    match name {
        "UserChangePayload" | "UserProfileChangedPayload" | "UserStatusChangedPayload" | "UserChangeEvent" => {
            let Event::UserChange(uc) = ev else { panic!("{origin}: expected UserChange, got {ev:?}") };
            check_masked_user(&uc.user, origin);
            assert!(!uc.user.is_bot && !uc.user.deleted, "{origin}: is_bot/deleted");
            assert_eq!(uc.cache_ts, event["cache_ts"].as_i64(), "{origin}: cache_ts");
            assert!(uc.cache_ts.is_some(), "{origin}: cache_ts missing");
            assert_eq!(uc.event_ts.as_deref(), event["event_ts"].as_str(), "{origin}: event_ts");
        }
        "AppHomeOpenedPayload" => {
            let Event::AppHomeOpened(h) = ev else { panic!("{origin}: expected AppHomeOpened, got {ev:?}") };
            some(&h.user, "user", origin);
            some(&h.channel, "channel", origin);
            some(&h.tab, "tab", origin);
            some(&h.event_ts, "event_ts", origin);
            let view = h.view.unwrap_or_else(|| panic!("{origin}: view missing"));
            let v: View = from(&view, "view", origin);
            some(&v.id, "view.id", origin);
            some(&v.hash, "view.hash", origin);
        }
        "MessagePayload" => {
            let m = message(ev, origin);
            assert_eq!(m.subtype, None, "{origin}: subtype");
            some(&m.user, "user", origin);
            some(&m.channel, "channel", origin);
            some(&m.channel_type, "channel_type", origin);
            some(&m.text, "text", origin);
            some(&m.ts, "ts", origin);
            some(&m.event_ts, "event_ts", origin);
            // The superset carries bot_id "" (a masked value): not a bot.
            assert!(!m.is_from_bot(), "{origin}: a member's message read as from a bot");
        }
        "MessageFileSharePayload" => {
            let m = message(ev, origin);
            assert_eq!(m.subtype.as_deref(), Some("file_share"), "{origin}: subtype");
            some(&m.user, "user", origin);
            some(&m.channel, "channel", origin);
            some(&m.text, "text", origin);
            assert!(!m.is_from_bot(), "{origin}: a member's upload read as from a bot");
            let n = event["files"].as_array().map_or(0, Vec::len);
            assert!(n > 0, "{origin}: fixture has no files");
            assert_eq!(m.files.len(), n, "{origin}: files dropped while parsing");
            for f in &m.files {
                some(&f.id, "files[].id", origin);
                some(&f.name, "files[].name", origin);
                some(&f.mimetype, "files[].mimetype", origin);
                some(&f.filetype, "files[].filetype", origin);
                some(&f.url_private, "files[].url_private", origin);
                some(&f.url_private_download, "files[].url_private_download", origin);
                assert!(f.size.is_some(), "{origin}: files[].size");
            }
        }
        "MessageBotPayload" => {
            let m = message(ev, origin);
            assert_eq!(m.subtype.as_deref(), Some("bot_message"), "{origin}: subtype");
            some(&m.bot_id, "bot_id", origin);
            assert!(m.is_from_bot(), "{origin}: bot message not recognised");
        }
        "MessageChangedPayload" | "MessageDeletedPayload" => {
            let m = message(ev, origin);
            let st = event["subtype"].as_str().unwrap();
            assert_eq!(m.subtype.as_deref(), Some(st), "{origin}: subtype");
            some(&m.channel, "channel", origin);
            assert!(m.is_from_bot(), "{origin}: {st} must be ignored like a bot message");
        }
        "MessageMePayload" => {
            let m = message(ev, origin);
            assert_eq!(m.subtype.as_deref(), Some("me_message"), "{origin}: subtype");
            some(&m.user, "user", origin);
            some(&m.text, "text", origin);
            assert!(!m.is_from_bot(), "{origin}: /me message read as from a bot");
        }
        "EmojiChangedPayload" => {
            let Event::EmojiChanged(v) = ev else { panic!("{origin}: expected EmojiChanged, got {ev:?}") };
            assert_eq!(&v, event, "{origin}: emoji_changed kept raw");
            for k in ["subtype", "name", "value", "old_name", "new_name"] {
                assert!(v[k].is_string(), "{origin}: {k}");
            }
        }
        "TokensRevokedPayload" => {
            let Event::TokensRevoked(t) = ev else { panic!("{origin}: expected TokensRevoked, got {ev:?}") };
            assert_eq!(t.oauth().len(), event["tokens"]["oauth"].as_array().unwrap().len(), "{origin}: tokens.oauth");
            assert_eq!(t.bot().len(), event["tokens"]["bot"].as_array().unwrap().len(), "{origin}: tokens.bot");
            assert!(!t.oauth().is_empty() && !t.bot().is_empty(), "{origin}: tokens");
        }
        "AppUninstalledPayload" => assert!(matches!(ev, Event::AppUninstalled), "{origin}: got {ev:?}"),
        "AppRateLimitedPayload" => assert!(matches!(ev, Event::Other(ref s) if s == "app_rate_limited"), "{origin}: got {ev:?}"),
        "HelloEvent" => assert!(matches!(ev, Event::Other(ref s) if s == "hello"), "{origin}: got {ev:?}"),
        _ => panic!("{origin}: no expectations for this events fixture; add them"),
    }
}

#[test]
fn events() {
    let mut covered = 0;

    // java masked samples: events/* are event_callback payloads, rtm/* are bare events.
    let mut files = json_files(&format!("{JAVA_SAMPLES}/events"));
    files.extend(json_files(&format!("{JAVA_SAMPLES}/rtm")));
    for path in &files {
        let origin = path.display().to_string();
        let raw = load(path);
        let (ev, event_body) = if raw.get("event").is_some_and(Value::is_object) {
            let cb: EventCallback = from(&raw, "EventCallback", &origin);
            some(&cb.event_id, "event_id", &origin);
            assert!(cb.event_time.is_some(), "{origin}: event_time");
            some(&cb.team_id, "team_id", &origin);
            some(&cb.api_app_id, "api_app_id", &origin);
            assert_eq!(cb.event, raw["event"], "{origin}: event kept raw");
            (cb.parse_event(), cb.event.clone())
        } else {
            assert!(path.parent().unwrap().ends_with("rtm"), "{origin}: expected an event_callback payload");
            (parse_event(&raw), raw.clone())
        };
        let ev = ev.unwrap_or_else(|e| panic!("{origin}: parse_event: {e}"));
        check_java_event(&stem(path), &event_body, ev, &origin);
        covered += 1;
    }

    // rtm hello is also the minimal Socket Mode hello.
    let hello = fixture(&format!("{JAVA_SAMPLES}/rtm/HelloEvent.json"));
    let f = envelope::parse(&read(&hello)).unwrap_or_else(|e| panic!("{}: {e}", hello.display()));
    assert!(matches!(f, Frame::Hello(ref h) if h.approximate_connection_time.is_none()), "{}: {f:?}", hello.display());

    // slack-api-ref event records: the ones that carry an `.example`.
    let mut with_example = 0;
    for path in json_files(&format!("{API_REF}/events")) {
        let origin = path.display().to_string();
        let rec = load(&path);
        let Some(ex) = rec.get("example") else { continue };
        with_example += 1;
        covered += 1;
        let ev = parse_event(ex).unwrap_or_else(|e| panic!("{origin}: parse_event: {e}"));
        match stem(&path).as_str() {
            "user_change" => {
                let Event::UserChange(uc) = ev else { panic!("{origin}: expected UserChange, got {ev:?}") };
                assert_eq!(uc.user.id.as_deref(), Some("U1234567"), "{origin}: user.id");
                assert_eq!(uc.cache_ts, Some(1648596421), "{origin}: cache_ts");
                assert_eq!(uc.event_ts.as_deref(), Some("1648596712.000001"), "{origin}: event_ts");
                let p = uc.user.profile.as_ref().unwrap_or_else(|| panic!("{origin}: profile"));
                assert_eq!(p.status_emoji.as_deref(), Some(":mountain_railway:"), "{origin}: status_emoji");
                assert_eq!(p.status_text.as_deref(), Some("riding a train"), "{origin}: status_text");
                assert_eq!(p.status_expiration, 0, "{origin}: status_expiration");
                assert_eq!(p.display_name.as_deref(), Some(""), "{origin}: display_name");
                assert_eq!(p.real_name.as_deref(), Some("Some User"), "{origin}: real_name");
                assert_eq!(p.avatar_hash.as_deref(), Some("g12345678910"), "{origin}: avatar_hash");
                assert_eq!(p.best_image(), ex["user"]["profile"]["image_512"].as_str(), "{origin}: best_image");
            }
            "message" => {
                let m = message(ev, &origin);
                assert_eq!(m.user.as_deref(), Some("U123ABC456"), "{origin}: user");
                assert_eq!(m.channel.as_deref(), Some("C123ABC456"), "{origin}: channel");
                assert_eq!(m.text.as_deref(), Some("Hello world"), "{origin}: text");
                assert_eq!(m.ts.as_deref(), Some("1355517523.000005"), "{origin}: ts");
                assert!(!m.is_from_bot() && !m.is_dm(), "{origin}: bot/dm");
            }
            "emoji_changed" => {
                let Event::EmojiChanged(v) = ev else { panic!("{origin}: expected EmojiChanged, got {ev:?}") };
                assert_eq!(v["subtype"], "remove", "{origin}");
                assert_eq!(v["names"][0], "picard_facepalm", "{origin}");
            }
            other => panic!("{origin}: no expectations for the {other} example; add them"),
        }
    }
    assert!(with_example > 0, "no slack-api-ref event record carries an example");
    println!("events: {covered} payloads ({} java samples, {with_example} slack-api-ref examples)", files.len());
}

// ---------------------------------------------------------------- app backend

#[test]
fn app_backend_payloads() {
    let mut covered = 0;

    let path = fixture(&format!("{JAVA_SAMPLES}/app-backend/slash-commands/SlashCommandPayload.json"));
    let origin = path.display().to_string();
    // JSON of the slash command's form fields (Socket Mode sends exactly this).
    let c: SlashCommand = from(&load(&path), "SlashCommand", &origin);
    for (name, f) in [
        ("command", &c.command),
        ("user_id", &c.user_id),
        ("user_name", &c.user_name),
        ("channel_id", &c.channel_id),
        ("team_id", &c.team_id),
        ("response_url", &c.response_url),
        ("trigger_id", &c.trigger_id),
        ("api_app_id", &c.api_app_id),
    ] {
        some(f, name, &origin);
    }
    assert_eq!(c.text, "", "{origin}: text");
    covered += 1;

    let mut interactive = json_files(&format!("{JAVA_SAMPLES}/app-backend/interactive-components"));
    interactive.extend(json_files(&format!("{JAVA_SAMPLES}/app-backend/views")));
    for path in &interactive {
        let origin = path.display().to_string();
        let raw = load(path);
        let i: Interactive = from(&raw, "Interactive", &origin);
        let user = i.user.as_ref().unwrap_or_else(|| panic!("{origin}: user missing"));
        some(&user.id, "user.id", &origin);
        some(&user.username, "user.username", &origin);
        some(&user.name, "user.name", &origin);
        some(&user.team_id, "user.team_id", &origin);
        some(&i.api_app_id, "api_app_id", &origin);
        let view = i.view.as_ref().unwrap_or_else(|| panic!("{origin}: view missing"));
        for (name, f) in [
            ("id", &view.id),
            ("callback_id", &view.callback_id),
            ("private_metadata", &view.private_metadata),
            ("hash", &view.hash),
            ("type", &view.kind),
        ] {
            some(f, &format!("view.{name}"), &origin);
        }
        let expected_kind = match stem(path).as_str() {
            "BlockActionPayload" => {
                some(&i.trigger_id, "trigger_id", &origin);
                some(&i.response_url, "response_url", &origin);
                assert_eq!(i.actions.len(), raw["actions"].as_array().map_or(0, Vec::len), "{origin}: actions dropped");
                assert!(!i.actions.is_empty(), "{origin}: actions");
                for a in &i.actions {
                    for (name, f) in [
                        ("action_id", &a.action_id),
                        ("block_id", &a.block_id),
                        ("value", &a.value),
                        ("action_ts", &a.action_ts),
                        ("type", &a.kind),
                    ] {
                        some(f, &format!("actions[].{name}"), &origin);
                    }
                    assert!(a.selected_option.as_ref().is_some_and(Value::is_object), "{origin}: actions[].selected_option");
                }
                "block_actions"
            }
            "ViewSubmissionPayload" => {
                some(&i.trigger_id, "trigger_id", &origin);
                assert!(view.state.as_ref().is_some_and(Value::is_object), "{origin}: view.state must be kept");
                "view_submission"
            }
            "ViewClosedPayload" => {
                assert!(view.state.is_some(), "{origin}: view.state");
                "view_closed"
            }
            other => panic!("{origin}: no expectations for {other}; add them"),
        };
        assert_eq!(i.kind, expected_kind, "{origin}: type");
        covered += 1;
    }

    // View bodies the bot sends (views.publish / views.open): Slack echoes the
    // same shape back in view_submission, so `View` must read them.
    for path in json_files(PY_FIXTURES).into_iter().filter(|p| stem(p).starts_with("view_")) {
        let origin = path.display().to_string();
        let raw = load(&path);
        let v: View = from(&raw, "View", &origin);
        let expected = if stem(&path).starts_with("view_home") { "home" } else { "modal" };
        assert_eq!(v.kind.as_deref(), Some(expected), "{origin}: type");
        assert_eq!(v.id.as_deref(), raw["id"].as_str(), "{origin}: id");
        assert_eq!(v.hash.as_deref(), raw["hash"].as_str(), "{origin}: hash");
        assert_eq!(v.callback_id.as_deref(), raw["callback_id"].as_str(), "{origin}: callback_id");
        assert_eq!(v.private_metadata.as_deref(), raw["private_metadata"].as_str(), "{origin}: private_metadata");
        assert_eq!(v.state.is_some(), raw["state"].is_object(), "{origin}: state");
        covered += 1;
    }
    println!("app_backend_payloads: {covered} payloads");
}

// ---------------------------------------------------------------- Web API responses

/// Methods whose responses the bot reads with a typed model (or a raw field).
const TYPED_METHODS: &[&str] = &[
    "apps.connections.open",
    "auth.test",
    "emoji.list",
    "files.info",
    "oauth.v2.access",
    "users.info",
    "users.profile.get",
    "users.profile.set",
    "users.setPhoto",
    "views.open",
    "views.publish",
    "views.update",
    "conversations.open",
    "chat.postMessage",
];

/// Checks one response. `masked`: a java superset sample (fields present, values blanked,
/// `ok:false` beside success fields); otherwise a real example, success or error.
fn check_api(method: &str, v: &Value, masked: bool, origin: &str) {
    assert!(v["ok"].is_boolean(), "{origin}: ok");
    let success = masked || v["ok"] == true;
    if !success {
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{origin}: an ok:false example without an error code");
    }
    let present = |v: &Option<String>, field: &str| {
        if masked {
            some(v, field, origin);
        } else {
            nonempty(v, field, origin);
        }
    };
    match method {
        "auth.test" => {
            let a: AuthTest = from(v, "AuthTest", origin);
            if success {
                present(&a.user_id, "user_id");
                present(&a.team_id, "team_id");
                present(&a.user, "user");
                present(&a.team, "team");
                assert_eq!(a.bot_id.as_deref(), v["bot_id"].as_str(), "{origin}: bot_id");
            } else {
                assert!(a.user_id.is_none() && a.team_id.is_none(), "{origin}");
            }
        }
        "users.info" => {
            // Error bodies carry no `user`; the client only reads it after ok:true.
            if success {
                let u: User = from(&v["user"], "user", origin);
                present(&u.id, "user.id");
                present(&u.name, "user.name");
                present(&u.real_name, "user.real_name");
                let p = u.profile.as_ref().unwrap_or_else(|| panic!("{origin}: user.profile"));
                present(&p.display_name, "profile.display_name");
                present(&p.real_name, "profile.real_name");
                present(&p.status_emoji, "profile.status_emoji");
                present(&p.status_text, "profile.status_text");
                present(&p.avatar_hash, "profile.avatar_hash");
                assert!(p.best_image().is_some(), "{origin}: profile.best_image()");
                assert_eq!(p.best_image(), v["user"]["profile"]["image_original"].as_str(), "{origin}: best_image is image_original");
                let want = v["user"]["profile"]["status_expiration"].as_u64().unwrap_or(0);
                assert_eq!(p.status_expiration, want, "{origin}: profile.status_expiration");
            }
        }
        "users.profile.get" | "users.profile.set" | "users.setPhoto" => {
            let p: Option<UserProfile> = from(&v["profile"], "profile", origin);
            match (method, success) {
                ("users.setPhoto", _) | (_, false) => {
                    // setPhoto's documented success is a bare {"ok":true}; the SDK recorder saw a profile of images.
                    if let Some(p) = &p {
                        assert!(p.best_image().is_some(), "{origin}: profile.best_image()");
                    }
                }
                _ => {
                    let p = p.unwrap_or_else(|| panic!("{origin}: profile"));
                    present(&p.display_name, "profile.display_name");
                    present(&p.real_name, "profile.real_name");
                    present(&p.status_emoji, "profile.status_emoji");
                    present(&p.status_text, "profile.status_text");
                    present(&p.avatar_hash, "profile.avatar_hash");
                    let best = p.best_image().unwrap_or_else(|| panic!("{origin}: profile.best_image()"));
                    let pr = &v["profile"];
                    let want = pr["image_original"].as_str().or(pr["image_1024"].as_str()).or(pr["image_512"].as_str());
                    assert_eq!(Some(best), want, "{origin}: best_image picks the largest");
                    assert_eq!(p.status_expiration, pr["status_expiration"].as_u64().unwrap_or(0), "{origin}: status_expiration");
                }
            }
        }
        "files.info" => {
            if success {
                let f: File = from(&v["file"], "file", origin);
                present(&f.id, "file.id");
                present(&f.name, "file.name");
                present(&f.mimetype, "file.mimetype");
                present(&f.filetype, "file.filetype");
                present(&f.url_private, "file.url_private");
                present(&f.url_private_download, "file.url_private_download");
                assert!(f.size.is_some(), "{origin}: file.size");
                if !masked {
                    assert_eq!(f.download_url(), v["file"]["url_private_download"].as_str(), "{origin}: download_url");
                    assert_eq!(f.mimetype.as_deref(), Some("image/gif"), "{origin}: mimetype");
                }
            }
        }
        "emoji.list" => match v.get("emoji") {
            // slack-api-ref's documented success is a bare {"ok":true}: no map (read as empty).
            None => {}
            Some(map) => {
                let map = map.as_object().unwrap_or_else(|| panic!("{origin}: emoji is not an object"));
                assert!(!map.is_empty(), "{origin}: emoji map empty");
                for (name, url) in map {
                    assert!(url.is_string(), "{origin}: emoji {name} is not a string");
                }
            }
        },
        "oauth.v2.access" => {
            let o: OauthAccess = from(v, "OauthAccess", origin);
            if success {
                let team = o.team.as_ref().unwrap_or_else(|| panic!("{origin}: team"));
                assert!(team["id"].is_string(), "{origin}: team.id");
                let u = o.authed_user.as_ref().unwrap_or_else(|| panic!("{origin}: authed_user"));
                present(&u.id, "authed_user.id");
                present(&u.scope, "authed_user.scope");
                present(&u.access_token, "authed_user.access_token");
                assert_eq!(u.token_type.as_deref(), if masked { Some("") } else { Some("user") }, "{origin}: token_type");
                assert_eq!(u.refresh_token.as_deref(), v["authed_user"]["refresh_token"].as_str(), "{origin}: refresh_token");
                assert_eq!(u.expires_in, v["authed_user"]["expires_in"].as_u64(), "{origin}: expires_in");
            } else {
                assert!(o.authed_user.is_none(), "{origin}");
            }
        }
        "apps.connections.open" => {
            if success {
                let url = v["url"].as_str().unwrap_or_else(|| panic!("{origin}: url"));
                assert!(masked || url.starts_with("wss://"), "{origin}: url {url}");
            }
        }
        "views.open" | "views.publish" | "views.update" => {
            if success {
                let view: View = from(&v["view"], "view", origin);
                present(&view.id, "view.id");
                present(&view.hash, "view.hash");
                present(&view.kind, "view.type");
            }
        }
        "conversations.open" => {
            if success {
                assert!(v["channel"]["id"].is_string(), "{origin}: channel.id");
            }
        }
        "chat.postMessage" => {
            if success {
                assert!(v["channel"].is_string() && v["ts"].is_string(), "{origin}: channel/ts");
            }
        }
        other => panic!("{origin}: no expectations for method {other}"),
    }
}

#[test]
fn api_responses() {
    let mut per_source: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_method: BTreeMap<String, usize> = BTreeMap::new();

    // java masked samples.
    for path in json_files(&format!("{JAVA_SAMPLES}/api")) {
        let origin = path.display().to_string();
        let method = stem(&path);
        assert!(TYPED_METHODS.contains(&method.as_str()), "{origin}: no expectations for {method}; add them");
        check_api(&method, &load(&path), true, &origin);
        *per_source.entry("java samples").or_default() += 1;
    }
    let emoji = load(&fixture(&format!("{JAVA_SAMPLES}/api/emoji.list.json")));
    assert!(emoji["emoji"].as_object().is_some_and(|m| !m.is_empty()), "java emoji.list sample has no emoji map");

    // slack-api-ref docs.slack.dev records: .examples.<name>.example.
    for path in json_files(&format!("{API_REF}/docs.slack.dev/methods")) {
        let method = stem(&path);
        assert!(TYPED_METHODS.contains(&method.as_str()), "{}: no expectations for {method}; add them", path.display());
        let rec = load(&path);
        let examples = rec["examples"].as_object().unwrap_or_else(|| panic!("{}: no .examples", path.display()));
        let mut n = 0;
        for (name, ex) in examples {
            let origin = format!("{} .examples.{name}", path.display());
            let ex = match &ex["example"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or_else(|e| panic!("{origin}: not JSON: {e}")),
                Value::Object(_) => ex["example"].clone(),
                other => panic!("{origin}: example is {other}"),
            };
            check_api(&method, &ex, false, &origin);
            n += 1;
        }
        assert!(n > 0, "{}: no examples", path.display());
        *per_method.entry(method).or_default() += n;
        *per_source.entry("slack-api-ref docs.slack.dev examples").or_default() += n;
    }

    // slack-api-ref methods/<group>/ records: .response.examples[] as JSON strings.
    let groups = std::fs::read_dir(root().join(API_REF).join("methods")).expect("slack-api-ref/methods");
    let mut groups: Vec<PathBuf> = groups.map(|e| e.unwrap().path()).filter(|p| p.is_dir() && !p.ends_with("_patches")).collect();
    groups.sort();
    assert!(!groups.is_empty(), "no slack-api-ref/methods groups");
    for dir in groups {
        let rel = dir.strip_prefix(root()).unwrap().to_string_lossy().to_string();
        for path in json_files(&rel) {
            let method = stem(&path);
            assert!(TYPED_METHODS.contains(&method.as_str()), "{}: no expectations for {method}; add them", path.display());
            let rec = load(&path);
            let examples = rec["response"]["examples"].as_array().unwrap_or_else(|| panic!("{}: no .response.examples", path.display()));
            assert!(!examples.is_empty(), "{}: no examples", path.display());
            for (i, ex) in examples.iter().enumerate() {
                let origin = format!("{} .response.examples[{i}]", path.display());
                let ex: Value = match ex {
                    Value::String(s) => serde_json::from_str(s).unwrap_or_else(|e| panic!("{origin}: not JSON: {e}")),
                    other => other.clone(),
                };
                check_api(&method, &ex, false, &origin);
            }
            *per_method.entry(method).or_default() += examples.len();
            *per_source.entry("slack-api-ref methods/ examples").or_default() += examples.len();
        }
    }
    for m in ["auth.test", "users.info", "users.profile.get", "files.info", "emoji.list", "oauth.v2.access", "apps.connections.open"] {
        assert!(per_method.get(m).copied().unwrap_or(0) > 0, "no slack-api-ref examples for {m}");
    }

    // python: users.setPhoto's success body.
    let path = fixture(&format!("{PY_FIXTURES}/web_response_users_setPhoto.json"));
    check_api("users.setPhoto", &load(&path), false, &path.display().to_string());
    *per_source.entry("python").or_default() += 1;

    println!("api_responses: {per_source:?}; slack-api-ref examples per method: {per_method:?}");
}
