//! Interactive payloads: App Home buttons (`block_actions`) and the preset
//! modal (`view_submission`). The member is always the payload's `user.id`;
//! an action's value names only the member's own preset.

use std::sync::Arc;

use serde_json::{json, Value};

use super::home::*;
use crate::context::Context;
use crate::slack::events::Interactive;
use crate::slack::types::File;
use crate::socket::Envelope;

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
        "view_submission" if p.view.as_ref().and_then(|v| v.callback_id.as_deref()) == Some(CONNECT_CALLBACK) => {
            Ok(Some(connect_submission(ctx, &member, &env.payload).await))
        }
        "view_submission" => view_submission(ctx, &member, &p, &env.payload),
        other => {
            tracing::debug!(kind = other, "ignoring an interactive payload");
            Ok(None)
        }
    }
}

fn block_action(ctx: &Arc<Context>, member: &str, action: &str, value: &str, trigger: Option<&str>) -> anyhow::Result<()> {
    let open = |view: Value| {
        if let Some(trigger) = trigger.map(str::to_string) {
            let ctx = ctx.clone();
            crate::shutdown::track(async move {
                if let Err(e) = ctx.slack.views_open(&trigger, &view).await {
                    tracing::warn!(error = %e, "views.open failed");
                }
            });
        }
    };
    match action {
        ACTION_ADD => open(preset_modal(ctx, member, None)),
        ACTION_EDIT => {
            // Only the member's own preset: the lookup is keyed by the payload's user.
            if ctx.store.preset(member, value)?.is_some() {
                open(preset_modal(ctx, member, Some(value)));
            }
        }
        ACTION_DELETE => {
            super::presets::remove(ctx, member, value)?;
        }
        ACTION_PAUSE => super::presets::set_paused(ctx, member, true)?,
        ACTION_RESUME => super::presets::set_paused(ctx, member, false)?,
        ACTION_CONNECT => {
            // The authorize link goes to the member's DM, where they paste the address back.
            let text = crate::oauth::start(ctx, member);
            let ctx2 = ctx.clone();
            let m = member.to_string();
            crate::shutdown::track(async move {
                if let Err(e) = ctx2.slack.post_message(&m, &text, None).await {
                    tracing::warn!(error = %e, "could not send the authorize link");
                }
            });
        }
        ACTION_PASTE_CODE => open(connect_modal()),
        other => tracing::debug!(action = other, "ignoring an unknown action"),
    }
    let ctx = ctx.clone();
    let member = member.to_string();
    crate::shutdown::track(async move { publish(&ctx, &member).await });
    Ok(())
}

/// The connect modal's Connect: finishes the connect and closes the modal with a DM, or keeps
/// it open with the problem under the field.
async fn connect_submission(ctx: &Arc<Context>, member: &str, raw: &Value) -> Value {
    let state = raw.get("view").and_then(|v| v.get("state")).cloned().unwrap_or(Value::Null);
    let pasted = input_value(&state, BLOCK_CODE, INPUT_CODE).and_then(|v| v.get("value")).and_then(Value::as_str).unwrap_or("").trim();
    if pasted.is_empty() {
        return json!({ "response_action": "errors", "errors": { BLOCK_CODE: "Paste the address your browser landed on, or the code." } });
    }
    match crate::oauth::finish(ctx, member, pasted).await {
        Ok(welcome) => {
            let ctx = ctx.clone();
            let member = member.to_string();
            crate::shutdown::track(async move {
                if let Err(e) = ctx.slack.post_message(&member, &welcome, None).await {
                    tracing::warn!(error = %e, "could not confirm the connection by DM");
                }
            });
            json!({ "response_action": "clear" })
        }
        Err(problem) => json!({ "response_action": "errors", "errors": { BLOCK_CODE: problem } }),
    }
}

fn input_value<'a>(state: &'a Value, block: &str, action: &str) -> Option<&'a Value> {
    state.get("values").and_then(|v| v.get(block)).and_then(|b| b.get(action))
}

fn view_submission(ctx: &Arc<Context>, member: &str, p: &Interactive, raw: &Value) -> anyhow::Result<Option<Value>> {
    let Some(view) = &p.view else { return Ok(None) };
    if view.callback_id.as_deref() != Some(MODAL_CALLBACK) {
        return Ok(None);
    }
    // Typed models drop file_input's `files`: read the raw payload.
    let state = raw.get("view").and_then(|v| v.get("state")).cloned().unwrap_or(Value::Null);
    let emoji_raw =
        input_value(&state, BLOCK_EMOJI, INPUT_EMOJI).and_then(|v| v.get("value")).and_then(Value::as_str).unwrap_or("").trim().to_string();
    let name_raw =
        input_value(&state, BLOCK_NAME, INPUT_NAME).and_then(|v| v.get("value")).and_then(Value::as_str).unwrap_or("").to_string();
    let files: Vec<File> = input_value(&state, BLOCK_PHOTO, INPUT_PHOTO)
        .and_then(|v| v.get("files"))
        .and_then(|f| serde_json::from_value(f.clone()).ok())
        .unwrap_or_default();

    let mut errors = serde_json::Map::new();
    let emoji = if emoji_raw.is_empty() {
        errors.insert(BLOCK_EMOJI.into(), json!("Pick a status emoji, like :palm_tree:"));
        None
    } else {
        match super::presets::resolve_emoji(ctx, &emoji_raw) {
            Ok(e) => Some(e),
            Err(msg) => {
                errors.insert(BLOCK_EMOJI.into(), json!(msg));
                None
            }
        }
    };
    let name = if name_raw.trim().is_empty() {
        None
    } else {
        match crate::command::validate_display_name(&name_raw) {
            Ok(n) => Some(n),
            Err(msg) => {
                errors.insert(BLOCK_NAME.into(), json!(msg));
                None
            }
        }
    };
    let original = view.private_metadata.clone().filter(|s| !s.is_empty());
    if errors.is_empty() && name.is_none() && files.is_empty() {
        let has_photo = original.as_deref().and_then(|o| ctx.store.preset(member, o).ok().flatten()).is_some_and(|p| p.photo.is_some());
        if !has_photo {
            errors.insert(BLOCK_NAME.into(), json!("Give the preset a display name, a photo, or both."));
        }
    }
    // Editing under a new emoji moves the preset, but never over another of the member's presets.
    let moving_from = match (original.as_deref(), &emoji) {
        (Some(orig), Some(e)) if orig != e.as_str() => ctx.store.preset(member, orig)?.map(|_| orig.to_string()),
        _ => None,
    };
    if let (Some(_), Some(e)) = (&moving_from, &emoji) {
        if ctx.store.preset(member, e)?.is_some() {
            errors.insert(BLOCK_EMOJI.into(), json!(format!("You already have a :{e}: preset: edit or delete that one first.")));
        }
    }
    if !errors.is_empty() {
        return Ok(Some(json!({ "response_action": "errors", "errors": errors })));
    }
    let Some(emoji) = emoji else { return Ok(None) };

    if let Some(orig) = moving_from.as_deref() {
        if let Some(old) = ctx.store.preset(member, orig)? {
            let mut moved = old.clone();
            moved.emoji = emoji.clone();
            ctx.store.put_preset(&moved)?;
            super::presets::remove(ctx, member, orig)?;
        }
    }
    let existed = ctx.store.preset(member, &emoji)?.is_some();
    let clear_name_after_photo = name.is_none() && existed && original.is_some();
    match name {
        Some(n) => {
            super::presets::save_name(ctx, member, &emoji, &n)?;
        }
        // Editing with the name emptied makes a photo-only preset: now if it
        // has a photo (checked above), else once the new one is saved.
        None if existed && original.is_some() && files.is_empty() => super::presets::clear_name(ctx, member, &emoji)?,
        None if !existed => ctx.store.put_preset(&crate::store::Preset::new(member, &emoji))?,
        None => {}
    }
    let ctx = ctx.clone();
    let member = member.to_string();
    crate::shutdown::track(async move {
        if let Some(file) = files.first() {
            match super::presets::fetch_and_process(&ctx, file).await {
                Ok(processed) => {
                    let mut saved = super::presets::save_photo(&ctx, &member, &emoji, &processed).await.map(|_| ());
                    if saved.is_ok() && clear_name_after_photo {
                        saved = super::presets::clear_name(&ctx, &member, &emoji);
                        if saved.is_ok() {
                            saved = ctx.store.flush().await;
                        }
                    }
                    if let Err(e) = saved {
                        tracing::error!(error = %e, "saving a photo failed");
                    }
                }
                Err(msg) => {
                    // A preset created only to hold this photo would be left with nothing in it.
                    let empty = ctx.store.preset(&member, &emoji).ok().flatten().is_some_and(|p| p.name.is_none() && p.photo.is_none());
                    let note = if empty {
                        if let Err(e) = super::presets::remove(&ctx, &member, &emoji) {
                            tracing::warn!(error = %e, "removing an empty preset failed");
                        }
                        " The preset was not created."
                    } else {
                        " The preset is unchanged."
                    };
                    let text = format!("I couldn't use that photo for :{emoji}: — {msg}{note}");
                    if let Err(e) = ctx.slack.post_message(&member, &text, None).await {
                        tracing::warn!(error = %e, "could not tell the member about the photo");
                    }
                }
            }
        }
        publish(&ctx, &member).await;
    });
    Ok(Some(json!({ "response_action": "clear" })))
}
