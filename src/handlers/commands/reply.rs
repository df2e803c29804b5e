//! What a command handler gives back: a [`Reply`] for the member, or a [`Failure`] — either
//! the member's own mistake ([`UserError`], whose text says what to do instead) or an internal
//! error (the store, Slack), which is not theirs to fix.

/// The answer to a command, for the member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) text: String,
}

impl From<String> for Reply {
    fn from(text: String) -> Reply {
        Reply { text }
    }
}

impl From<&str> for Reply {
    fn from(text: &str) -> Reply {
        Reply { text: text.to_string() }
    }
}

/// Something the member asked for that cannot be done as asked. `Display` is the sentence
/// they see (mrkdwn).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UserError {
    /// Not a command: [`crate::command::ParseError::render`]'s text, usage included.
    #[error("{0}")]
    Parse(String),
    #[error("Only the bot's admins can use that command.")]
    NotAdmin,
    /// A member who is no admin tried to change a team preset.
    #[error("Only the bot's admins can change team presets: they apply to everyone. `{command} team list` shows them; `{command} team off` stops them for you.")]
    TeamNotAdmin { command: String },
    #[error("There is no team preset for :{emoji}:. `{command} team list` shows them.")]
    NoSuchTeamPreset { emoji: String, command: String },
    /// An emoji that is not one: [`crate::members::resolve_emoji`]'s sentence.
    #[error("{0}")]
    Emoji(String),
    /// [`crate::command::validate_display_name`]'s sentence.
    #[error("{0}")]
    DisplayName(String),
    #[error("You have no preset for :{emoji}:. `{command} list` shows yours.")]
    NoSuchPreset { emoji: String, command: String },
    #[error("I can't change your profile: run `{command} connect` first.")]
    NotConnected { command: String },
    #[error("You're sending commands faster than I take them ({limit} a minute). Please wait a minute and try again.")]
    RateLimited { limit: u32 },
    /// A photo sent by DM without an emoji naming its preset.
    #[error("Which preset is this photo for? Send it again with the emoji in the message, like `:palm_tree:`. (`{command} help` lists what I can do.)")]
    PhotoWithoutEmoji { command: String },
    /// The photo could not be fetched or used: [`crate::members::fetch_and_process`]'s sentence.
    #[error("{0} Your presets are unchanged.")]
    Photo(String),
}

/// Why a command has no [`Reply`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// Told to the member as it is.
    User(UserError),
    /// Logged, not shown: a command's failure goes back to the dispatcher (no ack, so Slack
    /// redelivers); the photo sent by DM, answered later, says [`INTERNAL_PHOTO`] instead.
    Internal(anyhow::Error),
}

/// The one sentence a member sees when saving a photo sent by DM failed on our side.
pub(crate) const INTERNAL_PHOTO: &str = "Something went wrong saving that photo; please try again.";

impl From<UserError> for Failure {
    fn from(e: UserError) -> Failure {
        Failure::User(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Internal(e)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Failure {
        Failure::Internal(e.into_anyhow())
    }
}

/// What a command handler returns.
pub(crate) type Outcome = Result<Reply, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_errors_read_as_the_member_sees_them() {
        assert_eq!(UserError::NotAdmin.to_string(), "Only the bot's admins can use that command.");
        let e = UserError::NoSuchPreset { emoji: "car".into(), command: "/status-preset".into() };
        assert_eq!(e.to_string(), "You have no preset for :car:. `/status-preset list` shows yours.");
        assert_eq!(UserError::Photo("That is no image.".into()).to_string(), "That is no image. Your presets are unchanged.");
        assert!(UserError::RateLimited { limit: 20 }.to_string().contains("(20 a minute)"));
    }

    #[test]
    fn internal_errors_stay_internal() {
        let f: Failure = anyhow::anyhow!("disk full").into();
        assert!(matches!(f, Failure::Internal(_)));
        let f: Failure = UserError::NotAdmin.into();
        assert!(matches!(f, Failure::User(UserError::NotAdmin)));
    }
}
