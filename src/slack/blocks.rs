//! Block Kit, typed: the ids our views and modals use ([`Id`]) and small
//! builders over slack-morphism's block models, serialized where we send them.
//!
//! Knows blocks, not the bot: what a view says is composed in [`crate::home`].

use serde_json::Value;
pub use slack_morphism::blocks::*;
pub use slack_morphism::SlackFileId;
use slack_morphism::{SlackActionId, SlackCallbackId};

/// Every action, block and callback id our views carry and the handlers match.
/// [`Id::as_str`] is the wire string; [`Id::parse`] reads one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    /// Home: the "Add preset" button.
    PresetAdd,
    /// Home: a preset row's Edit button (value: the emoji).
    PresetEdit,
    /// Home: a preset row's Delete button (value: the emoji).
    PresetDelete,
    HomePause,
    HomeResume,
    HomeConnect,
    HomePasteCode,
    /// The connect modal's callback, its block and input.
    ConnectModal,
    CodeBlock,
    CodeInput,
    /// The preset modal's callback, its blocks and inputs.
    PresetModal,
    EmojiBlock,
    NameBlock,
    PhotoBlock,
    EmojiInput,
    NameInput,
    PhotoInput,
    /// Home: the team presets' switch, off for this member / on again.
    TeamOff,
    TeamOn,
    /// The team preset photo modal's callback (private_metadata: the emoji).
    TeamPhotoModal,
    /// The preset modal's photo choice (upload, badge, frame, none), the frame's colour select
    /// and label field: blocks and inputs.
    PhotoKindBlock,
    PhotoKindInput,
    ColourBlock,
    ColourInput,
    LabelBlock,
    LabelInput,
}

impl Id {
    pub(crate) const ALL: [Id; 26] = [
        Id::PresetAdd,
        Id::PresetEdit,
        Id::PresetDelete,
        Id::HomePause,
        Id::HomeResume,
        Id::HomeConnect,
        Id::HomePasteCode,
        Id::ConnectModal,
        Id::CodeBlock,
        Id::CodeInput,
        Id::PresetModal,
        Id::EmojiBlock,
        Id::NameBlock,
        Id::PhotoBlock,
        Id::EmojiInput,
        Id::NameInput,
        Id::PhotoInput,
        Id::TeamOff,
        Id::TeamOn,
        Id::TeamPhotoModal,
        Id::PhotoKindBlock,
        Id::PhotoKindInput,
        Id::ColourBlock,
        Id::ColourInput,
        Id::LabelBlock,
        Id::LabelInput,
    ];

    /// The id as it goes over the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Id::PresetAdd => "preset_add",
            Id::PresetEdit => "preset_edit",
            Id::PresetDelete => "preset_delete",
            Id::HomePause => "home_pause",
            Id::HomeResume => "home_resume",
            Id::HomeConnect => "home_connect",
            Id::HomePasteCode => "home_paste_code",
            Id::ConnectModal => "connect_modal",
            Id::CodeBlock => "code_block",
            Id::CodeInput => "code_input",
            Id::PresetModal => "preset_modal",
            Id::EmojiBlock => "emoji_block",
            Id::NameBlock => "name_block",
            Id::PhotoBlock => "photo_block",
            Id::EmojiInput => "emoji_input",
            Id::NameInput => "name_input",
            Id::PhotoInput => "photo_input",
            Id::TeamOff => "team_off",
            Id::TeamOn => "team_on",
            Id::TeamPhotoModal => "team_photo_modal",
            Id::PhotoKindBlock => "photo_kind_block",
            Id::PhotoKindInput => "photo_kind_input",
            Id::ColourBlock => "colour_block",
            Id::ColourInput => "colour_input",
            Id::LabelBlock => "label_block",
            Id::LabelInput => "label_input",
        }
    }

    /// Reads an incoming action, block or callback id; `None` for one we never send.
    pub fn parse(s: &str) -> Option<Id> {
        Id::ALL.into_iter().find(|id| id.as_str() == s)
    }

    pub fn action(self) -> SlackActionId {
        SlackActionId(self.as_str().to_string())
    }

    pub fn block(self) -> SlackBlockId {
        SlackBlockId(self.as_str().to_string())
    }

    pub(crate) fn callback(self) -> SlackCallbackId {
        SlackCallbackId(self.as_str().to_string())
    }
}

/// A `plain_text` object.
pub fn plain(text: impl Into<String>) -> SlackBlockPlainTextOnly {
    SlackBlockPlainTextOnly::from(text.into())
}

/// A `mrkdwn` text object.
pub(crate) fn mrkdwn(text: impl Into<String>) -> SlackBlockText {
    SlackBlockMarkDownText::new(text.into()).into()
}

/// A section with mrkdwn text.
pub(crate) fn section(text: impl Into<String>) -> SlackSectionBlock {
    SlackSectionBlock::new().with_text(mrkdwn(text))
}

/// A context block of one mrkdwn line.
pub fn context(text: impl Into<String>) -> SlackContextBlock {
    SlackContextBlock::new(vec![SlackBlockMarkDownText::new(text.into()).into()])
}

/// A button with its action id and label.
pub fn button(id: Id, label: &str) -> SlackBlockButtonElement {
    SlackBlockButtonElement::new(plain(label)).with_action_id(id.action())
}

/// A confirmation dialog. Slack's confirm `text` is shown as plain text.
pub fn confirm(title: &str, text: impl Into<String>, yes: &str, no: &str) -> SlackBlockConfirmItem {
    SlackBlockConfirmItem::new(plain(title), SlackBlockPlainText::new(text.into()).into(), plain(yes), plain(no))
}

/// A plain text input with its action id.
pub(crate) fn text_input(id: Id) -> SlackBlockPlainTextInputElement {
    SlackBlockPlainTextInputElement::new().with_action_id(id.action())
}

/// A static select with its action id, `(label, value)` options and the initially chosen value.
pub(crate) fn select(id: Id, options: &[(String, String)], initial: Option<&str>) -> SlackBlockStaticSelectElement {
    let item = |(label, value): &(String, String)| SlackBlockChoiceItem::new(plain(label.clone()), value.clone());
    let mut el = SlackBlockStaticSelectElement::new().with_action_id(id.action()).with_options(options.iter().map(item).collect());
    if let Some(chosen) = initial.and_then(|v| options.iter().find(|(_, value)| value == v)) {
        el = el.with_initial_option(item(chosen));
    }
    el
}

/// The longest text Slack lets through an input whose `max_length` counts UTF-16 units
/// (an astral character takes two) when we allow `chars` characters.
pub const fn utf16_room(chars: usize) -> u64 {
    (chars * 2) as u64
}

/// A view as the JSON the Web API takes.
pub(crate) fn to_json(view: &SlackView) -> Result<Value, serde_json::Error> {
    serde_json::to_value(view)
}

/// The `view_submission` ack that closes the modal.
pub(crate) fn ack_clear() -> Result<Value, serde_json::Error> {
    serde_json::to_value(SlackViewSubmissionResponse::Clear(SlackViewSubmissionClearResponse::new()))
}

/// The `view_submission` ack that keeps the modal open with a problem under each named block.
pub(crate) fn ack_errors(errors: impl IntoIterator<Item = (Id, String)>) -> Result<Value, serde_json::Error> {
    let errors = errors.into_iter().map(|(id, msg)| (id.as_str().to_string(), msg)).collect();
    serde_json::to_value(SlackViewSubmissionResponse::Errors(SlackViewSubmissionErrorsResponse::new(errors)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_are_what_slack_reads() {
        assert_eq!(ack_clear().unwrap(), serde_json::json!({ "response_action": "clear" }));
        let e = ack_errors([(Id::CodeBlock, "no".to_string())]).unwrap();
        assert_eq!(e, serde_json::json!({ "response_action": "errors", "errors": { "code_block": "no" } }));
    }

    #[test]
    fn every_id_parses_back() {
        for id in Id::ALL {
            assert_eq!(Id::parse(id.as_str()), Some(id));
        }
        assert_eq!(Id::parse("nope"), None);
        let mut all: Vec<_> = Id::ALL.iter().map(|i| i.as_str()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), Id::ALL.len());
    }

    #[test]
    fn confirm_text_is_plain_text() {
        let c = serde_json::to_value(confirm("T", "Delete *this*?", "Yes", "No")).unwrap();
        assert_eq!(c["text"], serde_json::json!({ "type": "plain_text", "text": "Delete *this*?" }));
        assert_eq!(c["title"]["type"], "plain_text");
    }

    #[test]
    fn utf16_room_fits_astral_characters() {
        let name: String = "😀".repeat(80);
        assert!(name.encode_utf16().count() as u64 <= utf16_room(80));
    }
}
