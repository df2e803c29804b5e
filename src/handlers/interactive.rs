//! Interactive payloads: App Home buttons (`block_actions`) and the preset
//! modal (`view_submission`). The member is always the payload's `user.id`;
//! an action's value names only the member's own preset.

use std::sync::Arc;

use serde_json::Value;

use crate::context::Context;
use crate::home::{connect_modal, preset_modal, publish};
use crate::members;
use crate::slack::blocks::{self, Id, SlackView};
use crate::slack::events::Interactive;
use crate::slack::types::File;
use crate::socket::Envelope;
use crate::store::Design;

pub async fn handle(ctx: &Arc<Context>, env: &Envelope) -> anyhow::Result<Option<Value>> {
    let p: Interactive = match serde_json::from_value(env.payload.clone()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "skipping an interactive payload we cannot read");
            return Ok(None);
        }
    };
    let Some(member) = p.user_id().map(str::to_string) else { return Ok(None) };
    match p.kind.as_str() {
        "block_actions" => {
            for a in &p.actions {
                block_action(
                    ctx,
                    &member,
                    a.action_id.as_deref().unwrap_or(""),
                    a.value.as_deref().unwrap_or(""),
                    p.trigger_id.as_deref(),
                )?;
            }
            Ok(None)
        }
        "view_submission" if p.view.as_ref().and_then(|v| v.callback_id.as_deref()).and_then(Id::parse) == Some(Id::ConnectModal) => {
            Ok(Some(connect_submission(ctx, &member, &env.payload).await?))
        }
        "view_submission" if p.view.as_ref().and_then(|v| v.callback_id.as_deref()).and_then(Id::parse) == Some(Id::TeamPhotoModal) => {
            Ok(Some(team_photo_submission(ctx, &member, &p, &env.payload)?))
        }
        "view_submission" => view_submission(ctx, &member, &p, &env.payload),
        other => {
            tracing::debug!(kind = other, "ignoring an interactive payload");
            Ok(None)
        }
    }
}

fn block_action(ctx: &Arc<Context>, member: &str, action: &str, value: &str, trigger: Option<&str>) -> anyhow::Result<()> {
    let open = |view: SlackView| {
        if let Some(trigger) = trigger.map(str::to_string) {
            let ctx = ctx.clone();
            let view = match blocks::to_json(&view) {
                Ok(v) => v,
                Err(e) => return tracing::error!(error = %e, "serializing a modal failed"),
            };
            ctx.shutdown.clone().track(async move {
                if let Err(e) = ctx.slack.views_open(&trigger, &view).await {
                    tracing::warn!(error = %e, "views.open failed");
                }
            });
        }
    };
    match Id::parse(action) {
        Some(Id::PresetAdd) => open(preset_modal(&ctx.store, member, None)),
        Some(Id::PresetEdit) => {
            // Only the member's own preset: the lookup is keyed by the payload's user.
            if ctx.store.preset(member, value)?.is_some() {
                open(preset_modal(&ctx.store, member, Some(value)));
            }
        }
        Some(Id::PresetDelete) => {
            members::remove(&ctx.member_deps(), member, value)?;
        }
        Some(Id::HomePause) => members::set_paused(&ctx.member_deps(), member, true)?,
        Some(Id::HomeResume) => members::set_paused(&ctx.member_deps(), member, false)?,
        Some(Id::TeamOff) => members::set_team_off(&ctx.member_deps(), member, true)?,
        Some(Id::TeamOn) => members::set_team_off(&ctx.member_deps(), member, false)?,
        Some(Id::HomeConnect) => {
            // The authorize link goes to the member's DM, where they paste the address back.
            let text = super::commands::connect::start(ctx, member);
            let ctx2 = ctx.clone();
            let m = member.to_string();
            ctx.shutdown.track(async move {
                if let Err(e) = ctx2.slack.post_message(&m, &text, None).await {
                    tracing::warn!(error = %e, "could not send the authorize link");
                }
            });
        }
        Some(Id::HomePasteCode) => open(connect_modal()),
        _ => tracing::debug!(action, "ignoring an unknown action"),
    }
    let ctx = ctx.clone();
    let member = member.to_string();
    ctx.shutdown.clone().track(async move { publish(&ctx.home_deps(), &member).await });
    Ok(())
}

/// The connect modal's Connect: finishes the connect and closes the modal with a DM, or keeps
/// it open with the problem under the field.
async fn connect_submission(ctx: &Arc<Context>, member: &str, raw: &Value) -> Result<Value, serde_json::Error> {
    let state = raw.get("view").and_then(|v| v.get("state")).cloned().unwrap_or(Value::Null);
    let pasted = input_text(&state, Id::CodeBlock, Id::CodeInput).trim();
    if pasted.is_empty() {
        return blocks::ack_errors([(Id::CodeBlock, "Paste the address your browser landed on, or the code.".to_string())]);
    }
    match super::commands::connect::finish(ctx, member, pasted).await {
        Ok(welcome) => {
            let ctx = ctx.clone();
            let member = member.to_string();
            ctx.shutdown.clone().track(async move {
                if let Err(e) = ctx.slack.post_message(&member, &welcome, None).await {
                    tracing::warn!(error = %e, "could not confirm the connection by DM");
                }
            });
            blocks::ack_clear()
        }
        Err(problem) => blocks::ack_errors([(Id::CodeBlock, problem)]),
    }
}

fn input_value(state: &Value, block: Id, action: Id) -> Option<&Value> {
    state.get("values").and_then(|v| v.get(block.as_str())).and_then(|b| b.get(action.as_str()))
}

/// A text input's value, empty when absent.
fn input_text(state: &Value, block: Id, action: Id) -> &str {
    input_value(state, block, action).and_then(|v| v.get("value")).and_then(Value::as_str).unwrap_or("")
}

/// The files a modal's photo input held (typed models drop file_input's `files`: read the raw
/// payload's state).
fn files_in(state: &Value) -> Vec<File> {
    input_value(state, Id::PhotoBlock, Id::PhotoInput)
        .and_then(|v| v.get("files"))
        .and_then(|f| serde_json::from_value(f.clone()).ok())
        .unwrap_or_default()
}

/// The team photo modal's Save (admins only): closes at once and the photo is saved in the
/// background, the admin told by DM; or stays open saying what is wrong.
fn team_photo_submission(ctx: &Arc<Context>, member: &str, p: &Interactive, raw: &Value) -> Result<Value, serde_json::Error> {
    if !ctx.is_admin(member) {
        return blocks::ack_errors([(Id::PhotoBlock, "Only the bot's admins can change team presets.".to_string())]);
    }
    let emoji = p.view.as_ref().and_then(|v| v.private_metadata.clone()).unwrap_or_default();
    let state = raw.get("view").and_then(|v| v.get("state")).cloned().unwrap_or(Value::Null);
    let Some(file) = files_in(&state).into_iter().next() else {
        return blocks::ack_errors([(Id::PhotoBlock, "Pick an image for the team preset.".to_string())]);
    };
    super::commands::team::save_photo_then_tell(ctx, member, member, &emoji, Some(file));
    blocks::ack_clear()
}

/// What the preset modal's fields held.
struct Fields {
    emoji: String,
    name: String,
    files: Vec<File>,
    /// The photo choice (`home::PHOTO_*`; empty: upload), the frame's colour and label.
    kind: String,
    colour: String,
    label: String,
}

/// A submission that passed validation.
struct Checked {
    emoji: Option<String>,
    name: Option<String>,
    /// Editing under a new emoji: the preset moves from this one.
    moving_from: Option<String>,
    /// A generated photo (`Some(Some)`) or none (`Some(None)`); None: the uploaded image, if any.
    design: Option<Option<Design>>,
}

/// The selected option's value of a static select in the view state ("" when none).
fn selected(state: &Value, block: Id, action: Id) -> &str {
    input_value(state, block, action)
        .and_then(|v| v.get("selected_option"))
        .and_then(|o| o.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The modal's photo choice: what `photo :emoji: badge|frame …|none` would save, or None for the
/// uploaded image; problems go under their fields (generate.rs's sentences).
fn photo_choice(f: &Fields, errors: &mut Vec<(Id, String)>) -> Option<Option<Design>> {
    use crate::home::{PHOTO_BADGE, PHOTO_FRAME, PHOTO_NONE};
    use crate::photo::generate::{Colour, Label};
    if !f.files.is_empty() && [PHOTO_BADGE, PHOTO_FRAME, PHOTO_NONE].contains(&f.kind.as_str()) {
        errors.push((Id::PhotoKindBlock, "To use the image you picked, choose “The image above”; or remove the image.".to_string()));
        return None;
    }
    match f.kind.as_str() {
        PHOTO_BADGE => Some(Some(Design::Badge)),
        PHOTO_NONE => Some(None),
        PHOTO_FRAME => {
            let colour = match f.colour.as_str() {
                "" => {
                    errors.push((Id::ColourBlock, "Pick the frame's colour.".to_string()));
                    None
                }
                c => Colour::parse(c).map_err(|e| errors.push((Id::ColourBlock, e.to_string()))).ok(),
            };
            let label = match f.label.trim() {
                "" => Some(None),
                l => Label::parse(l).map(Some).map_err(|e| errors.push((Id::LabelBlock, e.to_string()))).ok(),
            };
            Some(Some(Design::Frame { colour: colour?, label: label? }))
        }
        _ => None,
    }
}

fn view_submission(ctx: &Arc<Context>, member: &str, p: &Interactive, raw: &Value) -> anyhow::Result<Option<Value>> {
    let Some(view) = &p.view else { return Ok(None) };
    if view.callback_id.as_deref().and_then(Id::parse) != Some(Id::PresetModal) {
        return Ok(None);
    }
    // Typed models drop file_input's `files`: read the raw payload.
    let state = raw.get("view").and_then(|v| v.get("state")).cloned().unwrap_or(Value::Null);
    let fields = Fields {
        emoji: input_text(&state, Id::EmojiBlock, Id::EmojiInput).trim().to_string(),
        name: input_text(&state, Id::NameBlock, Id::NameInput).to_string(),
        files: files_in(&state),
        kind: selected(&state, Id::PhotoKindBlock, Id::PhotoKindInput).to_string(),
        colour: selected(&state, Id::ColourBlock, Id::ColourInput).to_string(),
        label: input_text(&state, Id::LabelBlock, Id::LabelInput).to_string(),
    };
    let original = view.private_metadata.clone().filter(|s| !s.is_empty());
    let checked = match check(ctx, member, &fields, original.as_deref())? {
        Ok(c) => c,
        Err(errors) => return Ok(Some(blocks::ack_errors(errors)?)),
    };
    let Some(emoji) = checked.emoji else { return Ok(None) };
    let clear_name_after_photo =
        save(ctx, member, &emoji, checked.name, checked.moving_from.as_deref(), original.is_some(), &fields.files)?;
    if let Some(design) = checked.design {
        members::save_design(&ctx.member_deps(), member, &emoji, design)?;
    }
    finish_photo(ctx, member, emoji, fields.files, clear_name_after_photo);
    Ok(Some(blocks::ack_clear()?))
}

/// Validates the modal's fields: the checked values, or the problems to show under the fields.
fn check(ctx: &Context, member: &str, f: &Fields, original: Option<&str>) -> anyhow::Result<Result<Checked, Vec<(Id, String)>>> {
    let mut errors = Vec::new();
    let emoji = if f.emoji.is_empty() {
        errors.push((Id::EmojiBlock, "Pick a status emoji, like :palm_tree:".to_string()));
        None
    } else {
        members::resolve_emoji(&ctx.member_deps(), &f.emoji).map_err(|msg| errors.push((Id::EmojiBlock, msg))).ok()
    };
    let name = if f.name.trim().is_empty() {
        None
    } else {
        crate::command::validate_display_name(&f.name).map_err(|msg| errors.push((Id::NameBlock, msg))).ok()
    };
    let design = photo_choice(f, &mut errors);
    if errors.is_empty() && name.is_none() && f.files.is_empty() && !matches!(design, Some(Some(_))) {
        let kept = design.is_none() && original.and_then(|o| ctx.store.preset(member, o).ok().flatten()).is_some_and(|p| p.has_photo());
        if !kept {
            errors.push((Id::NameBlock, "Give the preset a display name, a photo, or both.".to_string()));
        }
    }
    // Editing under a new emoji moves the preset, but never over another of the member's presets.
    let moving_from = match (original, &emoji) {
        (Some(orig), Some(e)) if orig != e.as_str() => ctx.store.preset(member, orig)?.map(|_| orig.to_string()),
        _ => None,
    };
    if let (Some(_), Some(e)) = (&moving_from, &emoji) {
        if ctx.store.preset(member, e)?.is_some() {
            errors.push((Id::EmojiBlock, format!("You already have a :{e}: preset: edit or delete that one first.")));
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    Ok(Ok(Checked { emoji, name, moving_from, design }))
}

/// Saves the checked submission (moving the preset first if its emoji changed). Returns whether
/// the name is to be cleared once the new photo is saved.
fn save(
    ctx: &Arc<Context>,
    member: &str,
    emoji: &str,
    name: Option<String>,
    moving_from: Option<&str>,
    editing: bool,
    files: &[File],
) -> anyhow::Result<bool> {
    if let Some(orig) = moving_from {
        if let Some(old) = ctx.store.preset(member, orig)? {
            let mut moved = old.clone();
            moved.emoji = emoji.to_string();
            ctx.store.put_preset(&moved)?;
            members::remove(&ctx.member_deps(), member, orig)?;
        }
    }
    let existed = ctx.store.preset(member, emoji)?.is_some();
    let clear_name_after_photo = name.is_none() && existed && editing;
    match name {
        Some(n) => {
            members::save_name(&ctx.member_deps(), member, emoji, &n)?;
        }
        // Editing with the name emptied makes a photo-only preset: now if it
        // has a photo (checked above), else once the new one is saved.
        None if existed && editing && files.is_empty() => members::clear_name(&ctx.member_deps(), member, emoji)?,
        None if !existed => ctx.store.put_preset(&crate::store::Preset::new(member, emoji))?,
        None => {}
    }
    Ok(clear_name_after_photo)
}

/// In the background: fetches and saves the submitted photo, if any, then republishes Home.
fn finish_photo(ctx: &Arc<Context>, member: &str, emoji: String, files: Vec<File>, clear_name_after_photo: bool) {
    let ctx = ctx.clone();
    let member = member.to_string();
    ctx.shutdown.clone().track(async move {
        if let Some(file) = files.first() {
            match members::fetch_and_process(&ctx.member_deps(), file).await {
                Ok(processed) => {
                    let mut saved = members::save_photo(&ctx.member_deps(), &member, &emoji, &processed).await.map(|_| ());
                    if saved.is_ok() && clear_name_after_photo {
                        saved = members::clear_name(&ctx.member_deps(), &member, &emoji);
                        if saved.is_ok() {
                            saved = ctx.store.flush().await;
                        }
                    }
                    if let Err(e) = saved {
                        tracing::error!(error = %e, "saving a photo failed");
                    }
                }
                Err(msg) => photo_refused(&ctx, &member, &emoji, &msg).await,
            }
        }
        publish(&ctx.home_deps(), &member).await;
    });
}

/// The photo could not be used: drop a preset created only to hold it, and tell the member.
async fn photo_refused(ctx: &Context, member: &str, emoji: &str, msg: &str) {
    // A preset created only to hold this photo would be left with nothing in it.
    let empty = ctx.store.preset(member, emoji).ok().flatten().is_some_and(|p| p.name.is_none() && !p.has_photo());
    let note = if empty {
        if let Err(e) = members::remove(&ctx.member_deps(), member, emoji) {
            tracing::warn!(error = %e, "removing an empty preset failed");
        }
        " The preset was not created."
    } else {
        " The preset is unchanged."
    };
    let text = format!("I couldn't use that photo for :{emoji}: — {msg}{note}");
    if let Err(e) = ctx.slack.post_message(member, &text, None).await {
        tracing::warn!(error = %e, "could not tell the member about the photo");
    }
}
