//! Socket Mode frames: `hello`, `disconnect`, and envelopes of the three
//! request types, parsed tolerantly. Anything else is [`Frame::Unknown`].
//! A frame that cannot be parsed (over [`MAX_FRAME_BYTES`], or JSON serde
//! refuses) still gives up its `envelope_id` to [`recover_envelope_id`], so it
//! can be acked and Slack stops redelivering it.

use serde::Deserialize;
use serde_json::Value;

use crate::slack::types::{lenient_bool, lenient_string, lenient_u64};

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Hello(Hello),
    Disconnect {
        reason: String,
    },
    Envelope(Envelope),
    /// A frame with a type we do not handle; logged and skipped.
    Unknown(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hello {
    pub num_connections: Option<u64>,
    /// Seconds Slack expects to keep this connection open.
    pub approximate_connection_time: Option<u64>,
    pub app_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeKind {
    EventsApi,
    SlashCommands,
    Interactive,
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub envelope_id: String,
    pub kind: EnvelopeKind,
    pub payload: Value,
    pub accepts_response_payload: bool,
    pub retry_attempt: u32,
    pub retry_reason: Option<String>,
}

impl Envelope {
    /// `event_id` of an `events_api` payload.
    pub fn event_id(&self) -> Option<&str> {
        self.payload.get("event_id").and_then(Value::as_str)
    }

    /// The event's `type` for `events_api`, the payload `type` otherwise.
    pub fn subtype(&self) -> Option<&str> {
        match self.kind {
            EnvelopeKind::EventsApi => self.payload.get("event").and_then(|e| e.get("type")).and_then(Value::as_str),
            _ => self.payload.get("type").and_then(Value::as_str),
        }
    }

    /// The key that identifies this delivery across retries: the event id for
    /// events, else the envelope id.
    pub fn dedupe_key(&self) -> String {
        match self.event_id() {
            Some(ev) => format!("ev:{ev}"),
            None => format!("env:{}", self.envelope_id),
        }
    }
}

#[derive(Deserialize)]
struct RawFrame {
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    envelope_id: Option<String>,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default, deserialize_with = "lenient_bool")]
    accepts_response_payload: bool,
    #[serde(default, deserialize_with = "lenient_u64")]
    retry_attempt: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    retry_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    reason: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    num_connections: Option<u64>,
    #[serde(default)]
    debug_info: Option<Value>,
    #[serde(default)]
    connection_info: Option<Value>,
}

/// Why a frame could not be parsed at all.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("frame has no type")]
    NoType,
    #[error("envelope without envelope_id")]
    NoEnvelopeId,
    #[error("frame of {bytes} bytes is over the {MAX_FRAME_BYTES} bytes handled")]
    TooLarge { bytes: usize },
}

/// The largest frame handled. Slack documents no limit; its payloads are a few KB, and the
/// largest it makes (a message with 50 blocks and 40,000 characters, a modal's state, a long
/// profile) a few hundred KB. A parsed frame takes about its own size again in memory (more for
/// JSON of tiny numbers), so this bounds what one envelope holds while it is handled.
pub(crate) const MAX_FRAME_BYTES: usize = 4 << 20;

/// The largest websocket message read at all: above [`MAX_FRAME_BYTES`], so a frame between the
/// two is read (buffered once, for a moment), acked by its `envelope_id` and skipped instead of
/// dropping the connection. A message beyond this one ends the connection in the websocket
/// library, before its bytes are ours.
pub(crate) const MAX_READ_BYTES: usize = 16 << 20;

pub fn parse(text: &str) -> Result<Frame, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { bytes: text.len() });
    }
    let raw: RawFrame = serde_json::from_str(text)?;
    let kind = raw.kind.clone().ok_or(FrameError::NoType)?;
    let envelope = |k: EnvelopeKind, raw: RawFrame| -> Result<Frame, FrameError> {
        Ok(Frame::Envelope(Envelope {
            envelope_id: raw.envelope_id.filter(|s| !s.is_empty()).ok_or(FrameError::NoEnvelopeId)?,
            kind: k,
            payload: raw.payload.unwrap_or(Value::Null),
            accepts_response_payload: raw.accepts_response_payload,
            retry_attempt: raw.retry_attempt.unwrap_or(0).min(u32::MAX as u64) as u32,
            retry_reason: raw.retry_reason.filter(|s| !s.is_empty()),
        }))
    };
    match kind.as_str() {
        "hello" => {
            let approx = raw.debug_info.as_ref().and_then(|d| d.get("approximate_connection_time")).and_then(Value::as_u64);
            let app_id = raw.connection_info.as_ref().and_then(|c| c.get("app_id")).and_then(Value::as_str).map(str::to_string);
            Ok(Frame::Hello(Hello { num_connections: raw.num_connections, approximate_connection_time: approx, app_id }))
        }
        "disconnect" => Ok(Frame::Disconnect { reason: raw.reason.unwrap_or_default() }),
        "events_api" => envelope(EnvelopeKind::EventsApi, raw),
        "slash_commands" => envelope(EnvelopeKind::SlashCommands, raw),
        "interactive" => envelope(EnvelopeKind::Interactive, raw),
        _ if raw.envelope_id.is_some() => {
            let k = EnvelopeKind::Other(kind.clone());
            envelope(k, raw)
        }
        _ => Ok(Frame::Unknown(kind)),
    }
}

/// The ack for an envelope, with an optional response payload.
pub fn ack(envelope_id: &str, payload: Option<&Value>) -> String {
    /// The ack as written straight from borrowed parts (no `Value` built for it); the fields in
    /// the order a JSON object of them prints in.
    #[derive(serde::Serialize)]
    struct Ack<'a> {
        envelope_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<&'a Value>,
    }
    match serde_json::to_string(&Ack { envelope_id, payload }) {
        Ok(text) => text,
        // Not reached (a string and a `Value` always serialize); the old way, to be sure.
        Err(_) => match payload {
            Some(p) => serde_json::json!({ "envelope_id": envelope_id, "payload": p }).to_string(),
            None => serde_json::json!({ "envelope_id": envelope_id }).to_string(),
        },
    }
}

/// The longest envelope id [`recover_envelope_id`] accepts (Slack's are 36-character UUIDs).
const MAX_ENVELOPE_ID: usize = 128;

/// The top-level `envelope_id` of a frame [`parse`] refused, found by a scan that follows only
/// strings and nesting (so it takes any size, any depth and escapes serde rejects, such as a lone
/// `\ud800`). Only a short ASCII token (letters, digits, `-`, `_`, `.`) counts; otherwise None.
pub fn recover_envelope_id(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let end = string_end(b, i + 1)?;
                if depth == 1 && &b[i + 1..end] == b"envelope_id" {
                    if let Some(id) = string_value_after(text, end + 1) {
                        return Some(id);
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the quote closing a string whose contents start at `from`.
fn string_end(b: &[u8], from: usize) -> Option<usize> {
    let mut j = from;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j),
            _ => j += 1,
        }
    }
    None
}

/// After a key: `: "token"` with optional white space; the token if it is a plausible id.
fn string_value_after(text: &str, from: usize) -> Option<&str> {
    let b = text.as_bytes();
    let skip_ws = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        j
    };
    let colon = skip_ws(from);
    if b.get(colon) != Some(&b':') {
        return None;
    }
    let quote = skip_ws(colon + 1);
    if b.get(quote) != Some(&b'"') {
        return None;
    }
    let start = quote + 1;
    let len = b[start..].iter().take(MAX_ENVELOPE_ID + 1).take_while(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c)).count();
    (len > 0 && len <= MAX_ENVELOPE_ID && b.get(start + len) == Some(&b'"')).then(|| text.get(start..start + len)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_keeps_connection_time() {
        let f = parse(
            r#"{"type":"hello","num_connections":1,"debug_info":{"approximate_connection_time":18060},"connection_info":{"app_id":"A1"}}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            Frame::Hello(Hello { num_connections: Some(1), approximate_connection_time: Some(18060), app_id: Some("A1".into()) })
        );
    }

    #[test]
    fn envelope_and_retry() {
        let f = parse(r#"{"envelope_id":"e1","type":"events_api","payload":{"event_id":"Ev1","event":{"type":"user_change"}},"accepts_response_payload":false,"retry_attempt":1,"retry_reason":"timeout"}"#).unwrap();
        let Frame::Envelope(e) = f else { panic!("not an envelope") };
        assert_eq!(e.retry_attempt, 1);
        assert_eq!(e.dedupe_key(), "ev:Ev1");
        assert_eq!(e.subtype(), Some("user_change"));
    }

    #[test]
    fn garbage_and_unknown() {
        assert!(parse("not json").is_err());
        assert!(parse(r#"{"type":"events_api"}"#).is_err());
        assert_eq!(parse(r#"{"type":"mystery"}"#).unwrap(), Frame::Unknown("mystery".into()));
        assert_eq!(parse(r#"{"type":"disconnect","reason":"warning"}"#).unwrap(), Frame::Disconnect { reason: "warning".into() });
    }

    #[test]
    fn oversized_frames_are_refused_but_their_id_is_recovered() {
        let pad = "x".repeat(MAX_FRAME_BYTES);
        let text = format!(r#"{{"type":"events_api","payload":{{"event":{{"text":"{pad}"}}}},"envelope_id":"big-1"}}"#);
        assert!(matches!(parse(&text), Err(FrameError::TooLarge { bytes }) if bytes == text.len()));
        assert_eq!(recover_envelope_id(&text), Some("big-1"));
        let just_fits = format!(r#"{{"envelope_id":"e2","type":"events_api","payload":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES - 60));
        assert!(matches!(parse(&just_fits), Ok(Frame::Envelope(_))));
    }

    #[test]
    fn a_lone_surrogate_is_refused_by_serde_but_its_id_is_recovered() {
        let text = r#"{"envelope_id":"lone-1","type":"events_api","payload":{"event":{"text":"\ud800"}}}"#;
        assert!(matches!(parse(text), Err(FrameError::Json(_))));
        assert_eq!(recover_envelope_id(text), Some("lone-1"));
    }

    #[test]
    fn recovery_takes_only_the_top_level_id_and_plausible_tokens() {
        // Nested ids, ids inside strings and escaped quotes do not count; the top-level one does.
        let nested = r#"{"payload":{"envelope_id":"inner","t":"\"envelope_id\":\"str\"","\\":1},"envelope_id" : "outer-1"}"#;
        assert_eq!(recover_envelope_id(nested), Some("outer-1"));
        for none in [
            r#"{"payload":{"envelope_id":"inner"}}"#,
            r#"{"envelope_id":7}"#,
            r#"{"envelope_id":""}"#,
            r#"{"envelope_id":"has space"}"#,
            r#"{"envelope_id":"unterminated"#,
            r#"["envelope_id","x"]"#,
            "not json",
            "",
        ] {
            assert_eq!(recover_envelope_id(none), None, "{none}");
        }
        let long = format!(r#"{{"envelope_id":"{}"}}"#, "a".repeat(MAX_ENVELOPE_ID + 1));
        assert_eq!(recover_envelope_id(&long), None);
        let deep = format!(r#"{{"envelope_id":"deep-1","payload":{}1{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(recover_envelope_id(&deep), Some("deep-1"));
    }

    #[test]
    fn ack_shapes() {
        assert_eq!(ack("e1", None), r#"{"envelope_id":"e1"}"#);
        let p = serde_json::json!({"text":"hi"});
        assert!(ack("e1", Some(&p)).contains(r#""payload":{"text":"hi"}"#));
    }

    #[test]
    fn acks_are_byte_for_byte_what_a_json_object_of_them_prints() {
        let payload = serde_json::json!({"response_action":"errors","errors":{"b":"x \" \u{1}"},"a":[1,null]});
        for id in ["e1", "a\"b\\c", "ünï\u{7}"] {
            assert_eq!(ack(id, None), serde_json::json!({ "envelope_id": id }).to_string());
            assert_eq!(ack(id, Some(&payload)), serde_json::json!({ "envelope_id": id, "payload": payload }).to_string());
        }
    }
}
