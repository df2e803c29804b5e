//! Secrets: Slack tokens and keys held in a type that never prints itself.
//!
//! `Debug` and `Display` both redact, so a token can sit inside any struct that
//! derives `Debug` (config, clients, errors) without leaking into logs.

use std::fmt;

/// A token or key. Only [`Secret::expose`] hands out the real value.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the one place that must send it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// The token kind prefix (`xapp`, `xoxb`, `xoxp`, …) — safe to show.
    pub fn kind(&self) -> &str {
        let raw = self.0.strip_prefix("xoxe.").unwrap_or(&self.0);
        raw.split('-').next().unwrap_or("")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}-…redacted)", self.kind())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-…redacted", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("xoxb-123-456-abcdefsecret");
        assert!(!format!("{s:?}").contains("abcdefsecret"));
        assert!(!format!("{s}").contains("abcdefsecret"));
        assert_eq!(s.kind(), "xoxb");
        assert_eq!(Secret::new("xoxe.xoxp-1-abc").kind(), "xoxp");
    }
}
