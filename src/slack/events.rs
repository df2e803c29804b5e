//! Tolerant models of the payloads the bot receives over Socket Mode: the
//! `events_api` envelope payload ([`EventCallback`]) and the events inside it
//! ([`Event`], via [`parse_event`]), slash commands ([`SlashCommand`]) and
//! interactive payloads ([`Interactive`]: block actions, view submissions,
//! view closes, shortcuts).
//!
//! Tolerance rules, and why every field is optional or defaulted:
//! - Slack adds fields all the time and omits others depending on the
//!   workspace, the plan, the app's scopes and the event's subtype, so only the
//!   fields the bot uses are modelled; unknown ones are ignored.
//! - A missing field or a `null` becomes `None`, `false`, `""` or an empty
//!   list: one odd payload must never stop the envelope loop, and a handler
//!   that needs a field says so itself.
//! - Shapes vary (see the fixtures' NOTES.md): strings are read with
//!   [`lenient_string`] (a number becomes its text, anything else `None`),
//!   integers may arrive as strings, lists may be `null` or objects, and
//!   `user` is an object in some payloads and an id string in others. Each
//!   field takes whatever it can and otherwise falls back to its default.
//! - Raw `serde_json::Value`s are kept where the typed view would lose data
//!   the bot needs later: the event body, `emoji_changed`, `view.state`
//!   (file-input values live there) and `selected_option`.

use serde::{de::DeserializeOwned, Deserialize, Deserializer};
use serde_json::Value;

use crate::slack::types::{lenient_bool, lenient_string, File, User};

/// An integer, or a string holding one; anything else is `None`.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| s.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f as i64))
        }
        _ => None,
    })
}

/// A string, or `""` for anything else.
fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_string(d)?.unwrap_or_default())
}

/// A list whose items each parse as `T`; `null`, a non-list and items that do
/// not parse are dropped rather than failing the whole payload.
fn lenient_vec<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect(),
        _ => Vec::new(),
    })
}

/// A list of strings; non-string items, `null` and non-lists are dropped.
fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// A user object, or a bare user id string read as a user with only `id`; any other shape is
/// the default user. Read in place: the profile is not first copied into a `Value`.
fn user_object_or_id<'de, D: Deserializer<'de>>(d: D) -> Result<User, D::Error> {
    struct UserOrId;
    impl<'de> serde::de::Visitor<'de> for UserOrId {
        type Value = User;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a user object or a user id")
        }
        fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<User, E> {
            Ok(User { id: Some(id.to_string()), ..User::default() })
        }
        fn visit_string<E: serde::de::Error>(self, id: String) -> Result<User, E> {
            Ok(User { id: Some(id), ..User::default() })
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<User, A::Error> {
            User::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map_err(serde::de::Error::custom)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<User, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(User::default())
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<User, E> {
            Ok(User::default())
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<User, E> {
            Ok(User::default())
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<User, E> {
            Ok(User::default())
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<User, E> {
            Ok(User::default())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<User, E> {
            Ok(User::default())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<User, E> {
            Ok(User::default())
        }
    }
    d.deserialize_any(UserOrId)
}

/// An interactive user object, or a bare id string; `null` is `None`.
fn interactive_user<'de, D: Deserializer<'de>>(d: D) -> Result<Option<InteractiveUser>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(id) => Some(InteractiveUser { id: Some(id), ..InteractiveUser::default() }),
        v @ Value::Object(_) => Some(serde_json::from_value(v).map_err(serde::de::Error::custom)?),
        _ => None,
    })
}

/// An object, or `None` for `null` and any other shape.
fn lenient_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        v @ Value::Object(_) => Some(serde_json::from_value(v).map_err(serde::de::Error::custom)?),
        _ => None,
    })
}

/// Any JSON value except `null` (so an explicit `null` reads as `None`).
fn non_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(Value::deserialize(d)?).filter(|v| !v.is_null()))
}

/// The `payload` of an `events_api` envelope (an `event_callback`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventCallback {
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub event_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub team_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub api_app_id: Option<String>,
    /// The event itself, raw; read it with [`EventCallback::parse_event`].
    #[serde(default)]
    pub event: Value,
}

impl EventCallback {
    /// The typed event inside this callback.
    pub fn parse_event(&self) -> Result<Event, serde_json::Error> {
        parse_event(&self.event)
    }
}

/// What the handler reads of an `events_api` payload, as [`EventCallback`] would give it:
/// `event_time` and the raw event. An object (every real payload) is read in place, without
/// copying it; any other shape takes the [`EventCallback`] path (and fails as it does).
pub(crate) fn read_callback(payload: &Value) -> Result<(Option<i64>, std::borrow::Cow<'_, Value>), serde_json::Error> {
    match payload.as_object() {
        Some(map) => {
            let event_time = match map.get("event_time") {
                Some(v) => lenient_i64(v)?,
                None => None,
            };
            let event = map.get("event").map_or(std::borrow::Cow::Owned(Value::Null), std::borrow::Cow::Borrowed);
            Ok((event_time, event))
        }
        None => {
            let cb: EventCallback = serde_json::from_value(payload.clone())?;
            Ok((cb.event_time, std::borrow::Cow::Owned(cb.event)))
        }
    }
}

/// The events the bot handles; everything else is [`Event::Other`].
#[derive(Debug, Clone)]
pub enum Event {
    /// `user_change`, `user_profile_changed` and `user_status_changed` (boxed: a profile is the
    /// largest event by far).
    UserChange(Box<UserChange>),
    AppHomeOpened(AppHomeOpened),
    Message(MessageEvent),
    /// `emoji_changed`, raw: the emoji cache reads `subtype`, `name(s)`, `value`, `old_name`, `new_name`.
    EmojiChanged(Value),
    TokensRevoked(TokensRevoked),
    AppUninstalled,
    /// Any other event type, kept by name (`""` when the event has no type).
    Other(String),
}

/// `user_change` / `user_profile_changed` / `user_status_changed`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserChange {
    #[serde(default, deserialize_with = "user_object_or_id")]
    pub user: User,
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_ts: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub cache_ts: Option<i64>,
}

/// `app_home_opened`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppHomeOpened {
    #[serde(default, deserialize_with = "lenient_string")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub channel: Option<String>,
    /// `home` or `messages`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub tab: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_ts: Option<String>,
    /// The currently published Home view, raw (absent the first time).
    #[serde(default, deserialize_with = "non_null")]
    pub view: Option<Value>,
}

/// A `message` event (any subtype).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MessageEvent {
    #[serde(default, deserialize_with = "lenient_string")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub bot_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub subtype: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub channel: Option<String>,
    /// `im`, `channel`, `group`, `mpim`, `app_home`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub channel_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub ts: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_ts: Option<String>,
    /// Attached files (`file_share`); empty when absent or `null`.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub files: Vec<File>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub app_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) hidden: bool,
}

/// Message subtypes a member produces by typing or uploading; every other
/// subtype (`bot_message`, `message_changed`, `message_deleted`,
/// `message_replied`, `channel_join`, …) is Slack or an app talking.
const MEMBER_SUBTYPES: &[&str] = &["file_share", "me_message", "thread_broadcast"];

impl MessageEvent {
    /// True when this message is not a member talking to the bot: it carries a
    /// `bot_id` (apps, including this bot's own DMs), is `hidden`, or has a
    /// subtype other than the member ones (`file_share`, `me_message`,
    /// `thread_broadcast`), e.g. `bot_message`, `message_changed`,
    /// `message_deleted`. Such messages must be ignored.
    pub fn is_from_bot(&self) -> bool {
        let has_bot_id = self.bot_id.as_deref().is_some_and(|b| !b.is_empty());
        let system_subtype = self.subtype.as_deref().is_some_and(|s| !s.is_empty() && !MEMBER_SUBTYPES.contains(&s));
        has_bot_id || self.hidden || system_subtype
    }

    /// True for a direct message to the bot: `channel_type` `im`, or a `D…` channel id.
    pub fn is_dm(&self) -> bool {
        self.channel_type.as_deref() == Some("im") || self.channel.as_deref().is_some_and(|c| c.starts_with('D'))
    }
}

/// `tokens_revoked`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokensRevoked {
    #[serde(default, deserialize_with = "lenient_object")]
    pub tokens: Option<RevokedTokens>,
}

impl TokensRevoked {
    /// User ids whose user (OAuth) tokens were revoked.
    pub fn oauth(&self) -> &[String] {
        self.tokens.as_ref().map(|t| t.oauth.as_slice()).unwrap_or_default()
    }

    /// Bot user ids whose bot tokens were revoked.
    pub fn bot(&self) -> &[String] {
        self.tokens.as_ref().map(|t| t.bot.as_slice()).unwrap_or_default()
    }
}

/// The user ids in `tokens_revoked.tokens`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RevokedTokens {
    #[serde(default, deserialize_with = "lenient_strings")]
    pub oauth: Vec<String>,
    #[serde(default, deserialize_with = "lenient_strings")]
    pub bot: Vec<String>,
}

/// Reads an event body (the `event` of an [`EventCallback`]) by its `type`.
///
/// Fails only when a handled event type is not a JSON object (or a nested
/// object has an impossible shape); unknown types never fail.
pub fn parse_event(event: &Value) -> Result<Event, serde_json::Error> {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
    Ok(match kind {
        "user_change" | "user_profile_changed" | "user_status_changed" => Event::UserChange(Box::new(UserChange::deserialize(event)?)),
        "app_home_opened" => Event::AppHomeOpened(AppHomeOpened::deserialize(event)?),
        "message" => Event::Message(MessageEvent::deserialize(event)?),
        "emoji_changed" => Event::EmojiChanged(event.clone()),
        "tokens_revoked" => Event::TokensRevoked(TokensRevoked::deserialize(event)?),
        "app_uninstalled" => Event::AppUninstalled,
        other => Event::Other(other.to_string()),
    })
}

/// The `payload` of a `slash_commands` envelope (the command's form fields as JSON).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SlashCommand {
    #[serde(default, deserialize_with = "lenient_string")]
    pub command: Option<String>,
    /// What follows the command; `""` when empty or absent.
    #[serde(default, deserialize_with = "string_or_empty")]
    pub text: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub channel_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub team_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub response_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub trigger_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub api_app_id: Option<String>,
}

/// The `payload` of an `interactive` envelope: `block_actions`,
/// `view_submission`, `view_closed`, `shortcut`, …
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Interactive {
    /// The payload `type` (`block_actions`, `view_submission`, …).
    #[serde(rename = "type", default, deserialize_with = "string_or_empty")]
    pub kind: String,
    #[serde(default, deserialize_with = "interactive_user")]
    pub user: Option<InteractiveUser>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub trigger_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub response_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub api_app_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub actions: Vec<Action>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub view: Option<View>,
}

impl Interactive {
    /// The id of the member who acted.
    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().and_then(|u| u.id.as_deref()).filter(|s| !s.is_empty())
    }
}

/// `user` of an interactive payload.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InteractiveUser {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub team_id: Option<String>,
}

/// One item of `actions` in `block_actions`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Action {
    #[serde(default, deserialize_with = "lenient_string")]
    pub action_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub block_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub value: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub action_ts: Option<String>,
    /// The element type (`button`, `static_select`, `checkboxes`, …).
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// Selects and radio buttons: `{text, value}`, raw.
    #[serde(default, deserialize_with = "non_null")]
    pub selected_option: Option<Value>,
}

/// `view` of an interactive payload.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct View {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub callback_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub private_metadata: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub hash: Option<String>,
    /// `modal` or `home`.
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// `state` raw: `values.<block_id>.<action_id>` holds inputs, including
    /// `file_input`'s `files[]`, which typed models would drop.
    #[serde(default, deserialize_with = "non_null")]
    pub state: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_callback_reads_what_event_callback_reads() {
        let payloads = [
            json!({}),
            json!({"event_time": "1610241741", "event": {"type": "app_uninstalled"}}),
            json!({"event_time": 1.5e9, "event": {"type": "user_change", "user": {"id": "U1", "profile": {"display_name": "Ada"}}}}),
            json!({"event_time": [1], "event": null}),
            json!({"event_time": null, "event": "x"}),
            json!(["Ev1", 1610241741, "T1", "A1", {"type": "app_uninstalled"}]),
            json!("not an object"),
            json!(null),
            json!(7),
        ];
        for p in payloads {
            let old: Result<EventCallback, _> = serde_json::from_value(p.clone());
            match (read_callback(&p), old) {
                (Ok((time, event)), Ok(cb)) => {
                    assert_eq!(time, cb.event_time, "{p}");
                    assert_eq!(*event, cb.event, "{p}");
                }
                (Err(_), Err(_)) => {}
                (new, old) => panic!("{p}: {new:?} against {:?}", old.map(|cb| cb.event)),
            }
        }
    }

    #[test]
    fn a_user_is_read_in_place_as_it_was_through_a_value() {
        fn through_value(v: &Value) -> Result<User, String> {
            Ok(match v {
                Value::String(id) => User { id: Some(id.clone()), ..User::default() },
                v @ Value::Object(_) => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
                _ => User::default(),
            })
        }
        let users = [
            json!("U1"),
            json!({"id": "U2", "name": "ada", "is_bot": "true", "profile": {"display_name": 5, "status_emoji": ":x:"}}),
            json!({"id": 3, "profile": null}),
            json!({"profile": "not an object"}),
            json!([1, [2], {"a": 3}]),
            json!(null),
            json!(true),
            json!(-1),
            json!(2.5),
        ];
        for u in users {
            let event = json!({"type": "user_change", "user": u, "event_ts": "1.2"});
            let new = UserChange::deserialize(&event).map(|uc| uc.user).map_err(|e| e.to_string());
            match (new, through_value(&u)) {
                (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{u}"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{u}: {a:?} against {b:?}"),
            }
        }
    }

    #[test]
    fn event_callback_tolerates_missing_and_odd_fields() {
        let cb: EventCallback = serde_json::from_value(json!({})).unwrap();
        assert!(cb.event_id.is_none() && cb.event_time.is_none() && cb.event.is_null());
        assert!(matches!(cb.parse_event().unwrap(), Event::Other(ref s) if s.is_empty()));

        let cb: EventCallback = serde_json::from_value(
            json!({"event_id": null, "event_time": "1610241741", "team_id": 5, "extra": [1], "event": {"type": "app_uninstalled"}}),
        )
        .unwrap();
        assert_eq!(cb.event_time, Some(1610241741));
        assert_eq!(cb.team_id.as_deref(), Some("5"));
        assert!(matches!(cb.parse_event().unwrap(), Event::AppUninstalled));
    }

    #[test]
    fn user_change_variants() {
        for t in ["user_change", "user_profile_changed", "user_status_changed"] {
            let ev = json!({"type": t, "user": {"id": "U1", "profile": {"status_emoji": ":coffee:", "fields": null}}, "cache_ts": 1648596421, "event_ts": "1.2"});
            let Event::UserChange(uc) = parse_event(&ev).unwrap() else { panic!("{t} is not a UserChange") };
            assert_eq!(uc.user.id.as_deref(), Some("U1"));
            assert_eq!(uc.user.profile.unwrap().status_emoji.as_deref(), Some(":coffee:"));
            assert_eq!(uc.cache_ts, Some(1648596421));
        }
        // A bare id, and a missing user, still parse.
        let Event::UserChange(uc) = parse_event(&json!({"type": "user_change", "user": "U2"})).unwrap() else { panic!() };
        assert_eq!(uc.user.id.as_deref(), Some("U2"));
        let Event::UserChange(uc) = parse_event(&json!({"type": "user_change", "user": null, "cache_ts": null})).unwrap() else { panic!() };
        assert!(uc.user.id.is_none() && uc.cache_ts.is_none());
    }

    #[test]
    fn messages_bots_and_dms() {
        let m = |v: Value| match parse_event(&v).unwrap() {
            Event::Message(m) => m,
            other => panic!("not a message: {other:?}"),
        };
        let dm = m(json!({"type": "message", "user": "U1", "channel": "D1", "text": "list", "files": null}));
        assert!(dm.is_dm() && !dm.is_from_bot() && dm.files.is_empty());
        let im = m(json!({"type": "message", "user": "U1", "channel": "C1", "channel_type": "im"}));
        assert!(im.is_dm());
        assert!(!m(json!({"type": "message", "channel": "C1", "channel_type": "channel"})).is_dm());
        assert!(m(json!({"type": "message", "bot_id": "B1", "channel": "D1"})).is_from_bot());
        assert!(!m(json!({"type": "message", "bot_id": "", "user": "U1"})).is_from_bot());
        for st in ["bot_message", "message_changed", "message_deleted", "message_replied", "channel_join"] {
            assert!(m(json!({"type": "message", "subtype": st})).is_from_bot(), "{st}");
        }
        for st in ["file_share", "me_message", "thread_broadcast"] {
            assert!(!m(json!({"type": "message", "subtype": st, "user": "U1"})).is_from_bot(), "{st}");
        }
        assert!(m(json!({"type": "message", "hidden": true})).is_from_bot());
        assert!(!m(json!({"type": "message", "hidden": "yes"})).is_from_bot());

        let fs = m(
            json!({"type": "message", "subtype": "file_share", "files": [{"id": "F1", "url_private": "https://files.slack.com/a.png", "channels": {}}, "junk"]}),
        );
        assert_eq!(fs.files.len(), 1);
        assert_eq!(fs.files[0].download_url(), Some("https://files.slack.com/a.png"));
    }

    #[test]
    fn emoji_tokens_home_and_other() {
        let ev = json!({"type": "emoji_changed", "subtype": "remove", "names": ["picard_facepalm"]});
        assert!(matches!(parse_event(&ev).unwrap(), Event::EmojiChanged(v) if v == ev));

        let Event::TokensRevoked(t) =
            parse_event(&json!({"type": "tokens_revoked", "tokens": {"oauth": ["U1", null], "bot": null}})).unwrap()
        else {
            panic!()
        };
        assert_eq!(t.oauth(), ["U1".to_string()]);
        assert!(t.bot().is_empty());
        let Event::TokensRevoked(t) = parse_event(&json!({"type": "tokens_revoked"})).unwrap() else { panic!() };
        assert!(t.oauth().is_empty());

        let Event::AppHomeOpened(h) = parse_event(&json!({"type": "app_home_opened", "user": "U1", "tab": "home", "view": null})).unwrap()
        else {
            panic!()
        };
        assert_eq!(h.user.as_deref(), Some("U1"));
        assert!(h.view.is_none());

        assert!(matches!(parse_event(&json!({"type": "app_rate_limited"})).unwrap(), Event::Other(s) if s == "app_rate_limited"));
        assert!(matches!(parse_event(&json!({"type": 7})).unwrap(), Event::Other(s) if s.is_empty()));
        assert!(parse_event(&json!({"type": "message", "files": [], "user": {"id": "U1"}})).is_ok());
        assert!(parse_event(&Value::Null).is_ok());
    }

    #[test]
    fn slash_command_defaults() {
        let c: SlashCommand = serde_json::from_value(json!({"command": "/status-preset", "text": null, "user_id": "U1"})).unwrap();
        assert_eq!(c.text, "");
        assert_eq!(c.command.as_deref(), Some("/status-preset"));
        let c: SlashCommand = serde_json::from_value(json!({})).unwrap();
        assert!(c.user_id.is_none() && c.text.is_empty());
    }

    #[test]
    fn interactive_shapes() {
        let i: Interactive = serde_json::from_value(json!({
            "type": "view_submission",
            "user": {"id": "U1", "username": "a"},
            "team": null,
            "view": {"id": "V1", "type": "modal", "callback_id": "add", "private_metadata": "x", "previous_view_id": null,
                     "state": {"values": {"b": {"a": {"type": "file_input", "files": [{"id": "F1"}]}}}}},
            "response_urls": []
        }))
        .unwrap();
        assert_eq!(i.kind, "view_submission");
        assert_eq!(i.user_id(), Some("U1"));
        let view = i.view.unwrap();
        assert_eq!(view.kind.as_deref(), Some("modal"));
        assert_eq!(view.state.unwrap()["values"]["b"]["a"]["files"][0]["id"], "F1");

        let i: Interactive = serde_json::from_value(json!({"type": "block_actions", "user": "U2", "view": null, "actions": null})).unwrap();
        assert_eq!(i.user_id(), Some("U2"));
        assert!(i.view.is_none() && i.actions.is_empty());

        let i: Interactive = serde_json::from_value(
            json!({"actions": [{"action_id": "del", "type": "button", "value": "coffee", "selected_option": null}]}),
        )
        .unwrap();
        assert_eq!(i.kind, "");
        assert!(i.user_id().is_none());
        assert_eq!(i.actions[0].kind.as_deref(), Some("button"));
        assert!(i.actions[0].selected_option.is_none());
    }
}
