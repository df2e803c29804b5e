//! What Slack's error codes mean: the one classification of `{"ok":false,"error":…}` codes.
//!
//! Every decision that hangs on a code (is the member's token dead, will Slack never take
//! this name, is it worth retrying) asks [`classify`], so the lists exist once.

/// What an error code says about the call that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlackErrorKind {
    /// The token no longer works (revoked, expired, wrong kind, or it lost the
    /// right to write the profile): the member must connect again.
    AuthDead,
    /// `users.profile.set` will never take this display name.
    NameRefused,
    /// `users.setPhoto` will never take this image.
    PhotoRefused,
    /// Slack asks us to slow down.
    RateLimited,
    /// Slack failed on its side: retrying later may work.
    Transient,
    /// Any other refusal: retrying will not help.
    Permanent,
}

/// Codes saying the token itself is invalid, whichever kind of token it is (app, bot or user).
const TOKEN_INVALID: &[&str] = &["invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked"];

/// Codes saying a member's user token can no longer write their profile.
const MEMBER_ACCESS_GONE: &[&str] =
    &["account_inactive", "token_expired", "no_permission", "missing_scope", "user_is_bot", "ekm_access_denied"];

/// Codes `users.profile.set` answers when it will never take a display name (Slack's list,
/// plus what Enterprise Grid and SSO-managed names answer); `invalid_name*` codes too.
const NAME_REFUSED: &[&str] = &[
    "invalid_starts_with_at",
    "name_not_allowed",
    "reserved_name",
    "too_long",
    "not_allowed",
    "profile_set_failed",
    "partial_profile_set_failed",
];

/// Codes `users.setPhoto` answers when it will never take an image: not one it can read, too
/// many bytes or pixels, too many animation frames.
const PHOTO_REFUSED: &[&str] = &["bad_image", "too_large", "too_many_frames"];

/// Codes for Slack failing on its side.
const TRANSIENT: &[&str] = &["internal_error", "fatal_error", "service_unavailable", "request_timeout"];

/// What `code` (an `error` of a Web API answer) means.
pub(crate) fn classify(code: &str) -> SlackErrorKind {
    if TOKEN_INVALID.contains(&code) || MEMBER_ACCESS_GONE.contains(&code) {
        SlackErrorKind::AuthDead
    } else if NAME_REFUSED.contains(&code) || code.starts_with("invalid_name") {
        SlackErrorKind::NameRefused
    } else if PHOTO_REFUSED.contains(&code) {
        SlackErrorKind::PhotoRefused
    } else if code == "ratelimited" {
        SlackErrorKind::RateLimited
    } else if TRANSIENT.contains(&code) {
        SlackErrorKind::Transient
    } else {
        SlackErrorKind::Permanent
    }
}

/// The token that got `code` is dead: the member must connect again.
pub fn is_auth_dead(code: &str) -> bool {
    classify(code) == SlackErrorKind::AuthDead
}

/// The subset of [`SlackErrorKind::AuthDead`] codes that say the token itself is invalid,
/// whatever kind it is; what `apps.connections.open` answers about a wrong app token (the
/// others, like `account_inactive` or `missing_scope`, are about a member's user token).
pub(crate) fn is_token_invalid(code: &str) -> bool {
    TOKEN_INVALID.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::SlackErrorKind::*;
    use super::*;

    #[test]
    fn each_code_has_its_kind() {
        let cases = [
            ("invalid_auth", AuthDead),
            ("not_authed", AuthDead),
            ("not_allowed_token_type", AuthDead),
            ("token_revoked", AuthDead),
            ("account_inactive", AuthDead),
            ("token_expired", AuthDead),
            ("no_permission", AuthDead),
            ("missing_scope", AuthDead),
            ("user_is_bot", AuthDead),
            ("ekm_access_denied", AuthDead),
            ("invalid_starts_with_at", NameRefused),
            ("name_not_allowed", NameRefused),
            ("reserved_name", NameRefused),
            ("too_long", NameRefused),
            ("not_allowed", NameRefused),
            ("profile_set_failed", NameRefused),
            ("partial_profile_set_failed", NameRefused),
            ("invalid_name_required", NameRefused),
            ("invalid_name_punctuation", NameRefused),
            ("bad_image", PhotoRefused),
            ("too_large", PhotoRefused),
            ("too_many_frames", PhotoRefused),
            ("ratelimited", RateLimited),
            ("internal_error", Transient),
            ("fatal_error", Transient),
            ("service_unavailable", Transient),
            ("request_timeout", Transient),
            ("profile_locked", Permanent),
            ("channel_not_found", Permanent),
            ("", Permanent),
        ];
        for (code, kind) in cases {
            assert_eq!(classify(code), kind, "{code}");
            assert_eq!(is_auth_dead(code), kind == AuthDead, "{code}");
        }
    }

    #[test]
    fn a_refused_name_or_photo_says_which_write_and_is_never_transient() {
        for code in ["invalid_starts_with_at", "name_not_allowed", "reserved_name", "too_long", "not_allowed", "profile_set_failed"] {
            assert_eq!(classify(code), NameRefused, "{code}");
        }
        for code in ["bad_image", "too_large", "too_many_frames"] {
            assert_eq!(classify(code), PhotoRefused, "{code}");
            assert!(!is_auth_dead(code), "{code}");
        }
        // Exact codes: a longer one is some other refusal.
        assert_eq!(classify("bad_image_format"), Permanent);
        assert_eq!(classify("xtoo_large"), Permanent);
    }

    #[test]
    fn an_invalid_token_is_a_dead_one_but_not_every_dead_one_is_invalid() {
        for code in ["invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked"] {
            assert!(is_token_invalid(code) && is_auth_dead(code), "{code}");
        }
        for code in ["account_inactive", "token_expired", "no_permission", "missing_scope", "user_is_bot", "ekm_access_denied"] {
            assert!(!is_token_invalid(code) && is_auth_dead(code), "{code}");
        }
        // Exact codes, never parts of one.
        assert!(!is_token_invalid("invalid_auth_extra") && !is_auth_dead("xinvalid_auth"));
    }
}
