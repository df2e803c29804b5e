//! Tolerant models of what the bot reads from Slack's Web API and events.
//!
//! Only the fields the bot uses, every one optional: unknown fields are
//! ignored, missing ones and nulls become `None`, so a new or trimmed payload
//! never stops the bot.

use serde::{Deserialize, Deserializer};

/// A string, or null/number/absent read as None (Slack is not always consistent).
pub fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A non-negative number, or a numeric string; anything else is None.
pub fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A bool, or anything else read as false.
pub fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
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
}

impl UserProfile {
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
