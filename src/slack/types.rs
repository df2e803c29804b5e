//! Tolerant models of what the bot reads from Slack's Web API and events.
//!
//! Only the fields the bot uses, every one optional: unknown fields are
//! ignored, missing ones and nulls become `None`, so a new or trimmed payload
//! never stops the bot.

use serde::{Deserialize, Deserializer};

/// A string, or null/number/absent read as None (Slack is not always consistent).
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A non-negative number, or a numeric string; anything else is None.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Like [`lenient_u64`], with 0 for anything that is not a number.
pub(crate) fn lenient_u64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    lenient_u64(d).map(Option::unwrap_or_default)
}

/// A bool, or anything else read as false.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(matches!(v, serde_json::Value::Bool(true)))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthTest {
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub team_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub team: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub bot_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct UserProfile {
    #[serde(default, deserialize_with = "lenient_string")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub real_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub status_emoji: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub status_text: Option<String>,
    /// When the status clears itself (unix seconds); 0 (also for absent or null): never. A plain
    /// `u64`, not an `Option`: `Event::UserChange` carries a profile and must stay small.
    #[serde(default, deserialize_with = "lenient_u64_or_zero")]
    pub status_expiration: u64,
    #[serde(default, deserialize_with = "lenient_string")]
    pub avatar_hash: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_custom_image: bool,
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_original: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_1024: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_512: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_192: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_72: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_48: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_32: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_24: Option<String>,
    /// The status emoji's image: the first non-empty `display_url` of
    /// `status_emoji_display_info` (often `[]`; item keys vary).
    #[serde(default, rename = "status_emoji_display_info", deserialize_with = "first_display_url")]
    pub status_emoji_url: Option<String>,
}

/// The first non-empty `display_url` in an array of objects; anything else is None.
fn first_display_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
    Ok(items.iter().filter_map(|i| i.get("display_url").and_then(|u| u.as_str())).find(|u| !u.trim().is_empty()).map(str::to_string))
}

impl UserProfile {
    /// When the status expires (unix ms), if it ever does.
    pub(crate) fn status_expires_at_ms(&self) -> Option<u64> {
        (self.status_expiration != 0).then(|| self.status_expiration.saturating_mul(1000))
    }

    /// The largest image the profile offers: `image_original`, else the biggest `image_N`.
    pub fn best_image(&self) -> Option<&str> {
        [
            &self.image_original,
            &self.image_1024,
            &self.image_512,
            &self.image_192,
            &self.image_72,
            &self.image_48,
            &self.image_32,
            &self.image_24,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .find(|s| !s.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct User {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub real_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_bot: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub deleted: bool,
    #[serde(default)]
    pub profile: Option<UserProfile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct File {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub mimetype: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub filetype: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub url_private: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub url_private_download: Option<String>,
}

impl File {
    pub fn download_url(&self) -> Option<&str> {
        self.url_private_download.as_deref().or(self.url_private.as_deref()).filter(|s| !s.is_empty())
    }
}

/// `oauth.v2.access` for user tokens.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OauthAccess {
    #[serde(default)]
    pub authed_user: Option<AuthedUser>,
    #[serde(default)]
    pub team: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthedUser {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub scope: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub access_token: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub token_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub refresh_token: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expires_in: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_expiration_is_read_tolerantly() {
        let read = |v: serde_json::Value| serde_json::from_value::<UserProfile>(v).unwrap().status_expires_at_ms();
        assert_eq!(read(serde_json::json!({"status_expiration": 1_700_000_000u64})), Some(1_700_000_000_000));
        assert_eq!(read(serde_json::json!({"status_expiration": "1700000000"})), Some(1_700_000_000_000));
        // Past 32 bits (NOTES.md): still a plain number.
        assert_eq!(read(serde_json::json!({"status_expiration": 5_000_000_000u64})), Some(5_000_000_000_000));
        for never in [serde_json::json!({"status_expiration": 0}), serde_json::json!({"status_expiration": null}), serde_json::json!({})] {
            assert_eq!(read(never.clone()), None, "{never}");
        }
        assert_eq!(read(serde_json::json!({"status_expiration": "soon"})), None);
    }

    /// `status_emoji_display_info` is often `[]` (NOTES.md), its items' keys vary, and the
    /// java SDK's sample has one item of empty strings: the first real `display_url` or None.
    #[test]
    fn the_status_emoji_image_is_read_tolerantly() {
        let read = |v: serde_json::Value| serde_json::from_value::<UserProfile>(v).unwrap().status_emoji_url;
        let url = "https://a.slack-edge.com/production-standard-emoji-assets/14.0/apple-large/1f334.png";
        let info = serde_json::json!({"status_emoji_display_info": [{"emoji_name": "palm_tree", "display_url": url, "unicode": "1f334"}]});
        assert_eq!(read(info).as_deref(), Some(url));
        let later = serde_json::json!({"status_emoji_display_info": [{"emoji_name": "", "display_url": ""}, {"display_url": url}]});
        assert_eq!(read(later).as_deref(), Some(url));
        for none in [
            serde_json::json!({}),
            serde_json::json!({"status_emoji_display_info": []}),
            serde_json::json!({"status_emoji_display_info": null}),
            serde_json::json!({"status_emoji_display_info": {"display_url": url}}),
            serde_json::json!({"status_emoji_display_info": [{"emoji_name": "", "display_alias": "", "display_url": "", "unicode": ""}]}),
            serde_json::json!({"status_emoji_display_info": [{"display_url": 7}, "x"]}),
        ] {
            assert_eq!(read(none.clone()), None, "{none}");
        }
    }
}
