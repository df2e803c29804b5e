//! Socket Mode frames: `hello`, `disconnect`, and envelopes of the three
//! request types, parsed tolerantly. Anything else is [`Frame::Unknown`].

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
}

/// The largest frame we read; Slack's are a few KB, a multi-MB one is hostile.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

pub fn parse(text: &str) -> Result<Frame, FrameError> {
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
    match payload {
        Some(p) => serde_json::json!({ "envelope_id": envelope_id, "payload": p }).to_string(),
        None => serde_json::json!({ "envelope_id": envelope_id }).to_string(),
    }
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
    fn ack_shapes() {
        assert_eq!(ack("e1", None), r#"{"envelope_id":"e1"}"#);
        let p = serde_json::json!({"text":"hi"});
        assert!(ack("e1", Some(&p)).contains(r#""payload":{"text":"hi"}"#));
    }
}
