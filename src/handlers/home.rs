//! The App Home tab and the preset modal, as Block Kit JSON.
//!
//! Home shows connection state, a pause/resume button and one row per preset
//! (emoji, name, photo or not, Edit and Delete with a confirmation), and an
//! "Add preset" button. It stays under Slack's 100-block limit by listing at
//! most [`MAX_ROWS`] presets and summarising the rest.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::context::Context;
use crate::store::Preset;

/// Each preset takes two blocks (section + actions); the header takes ~8.
pub const MAX_ROWS: usize = 40;

pub const ACTION_ADD: &str = "preset_add";
pub const ACTION_EDIT: &str = "preset_edit";
pub const ACTION_DELETE: &str = "preset_delete";
pub const ACTION_PAUSE: &str = "home_pause";
pub const ACTION_RESUME: &str = "home_resume";
pub const ACTION_CONNECT: &str = "home_connect";
pub const ACTION_PASTE_CODE: &str = "home_paste_code";
pub const CONNECT_CALLBACK: &str = "connect_modal";
pub const BLOCK_CODE: &str = "code_block";
pub const INPUT_CODE: &str = "code_input";
pub const MODAL_CALLBACK: &str = "preset_modal";
pub const BLOCK_EMOJI: &str = "emoji_block";
pub const BLOCK_NAME: &str = "name_block";
pub const BLOCK_PHOTO: &str = "photo_block";
pub const INPUT_EMOJI: &str = "emoji_input";
pub const INPUT_NAME: &str = "name_input";
pub const INPUT_PHOTO: &str = "photo_input";

/// One lock per slot of members: a member's publishes build and send one at a
/// time, so the view Slack keeps is always the one built last (two changes in
/// quick succession cannot leave the older view on top).
fn publish_lock(member: &str) -> &'static tokio::sync::Mutex<()> {
    static LOCKS: OnceLock<Vec<tokio::sync::Mutex<()>>> = OnceLock::new();
    let locks = LOCKS.get_or_init(|| (0..64).map(|_| tokio::sync::Mutex::new(())).collect());
    let idx = member.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % locks.len();
    &locks[idx]
}

/// Publishes the member's Home tab; failures are logged, never fatal.
pub async fn publish(ctx: &Context, member: &str) {
    let _turn = publish_lock(member).lock().await;
    // The avatar cache answers from user_change events; a member who never sent
    // one costs a single users.info, shared by concurrent publishes.
    let shown = ctx.avatars.get(&ctx.slack, member).await.map(|p| if p.display_name.is_empty() { p.real_name } else { p.display_name });
    let view = match home_view(ctx, member) {
        Ok(mut v) => {
            if let (Some(name), Some(blocks)) = (shown.filter(|n| !n.is_empty()), v.get_mut("blocks").and_then(Value::as_array_mut)) {
                let line = json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("Your profile shows *{}* right now.", esc(&name)) }] });
                blocks.insert(1.min(blocks.len()), line);
            }
            v
        }
        Err(e) => {
            tracing::error!(error = %e, "building the Home view failed");
            return;
        }
    };
    if let Err(e) = ctx.slack.views_publish(member, &view).await {
        tracing::warn!(error = %e, "views.publish failed");
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn home_view(ctx: &Context, member: &str) -> anyhow::Result<Value> {
    let state = ctx.store.member(member)?;
    let presets = ctx.store.presets_of(member)?;
    let cmd = &ctx.config.command;
    let mut blocks = vec![json!({ "type": "header", "text": { "type": "plain_text", "text": "Status presets" } })];

    let conn = if ctx.identity.owner.as_deref() == Some(member) && ctx.is_connected(member) {
        ":large_green_circle: Connected as this bot's owner (single-user mode).".to_string()
    } else if ctx.is_connected(member) {
        ":large_green_circle: Connected: your status drives your name and photo.".to_string()
    } else {
        format!(":white_circle: Not connected: I can't change your profile yet. Run `{cmd} connect`.")
    };
    let mut conn_block = json!({ "type": "section", "block_id": "connection", "text": { "type": "mrkdwn", "text": conn } });
    let can_connect = !ctx.is_connected(member) && ctx.config.oauth.is_some();
    if can_connect {
        conn_block["accessory"] = json!({ "type": "button", "action_id": ACTION_CONNECT, "text": { "type": "plain_text", "text": "Connect" }, "style": "primary" });
    }
    blocks.push(conn_block);
    if can_connect {
        blocks.push(json!({
            "type": "context", "block_id": "connect_help",
            "elements": [{ "type": "mrkdwn", "text": "Connect sends you a link by DM. After approving, bring back the address your browser landed on:" }]
        }));
        blocks.push(json!({
            "type": "actions", "block_id": "connect_actions",
            "elements": [{ "type": "button", "action_id": ACTION_PASTE_CODE, "text": { "type": "plain_text", "text": "Paste the address" } }]
        }));
    }

    let (label, action, text) = if state.paused {
        ("Resume", ACTION_RESUME, ":double_vertical_bar: Paused: I'm not changing your profile.")
    } else {
        ("Pause", ACTION_PAUSE, ":arrow_forward: Active: I follow your status emoji.")
    };
    blocks.push(json!({
        "type": "section", "block_id": "pause",
        "text": { "type": "mrkdwn", "text": text },
        "accessory": { "type": "button", "action_id": action, "value": action, "text": { "type": "plain_text", "text": label } }
    }));
    if let Some(active) = &state.applied.preset {
        blocks
            .push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("Now showing your :{active}: preset.") }] }));
    }
    blocks.push(json!({ "type": "divider" }));

    if presets.is_empty() {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": "You have no presets yet. Add one: pick an emoji, a display name and/or a photo." } }));
    }
    for p in presets.iter().take(MAX_ROWS) {
        blocks.extend(row(ctx, p));
    }
    if presets.len() > MAX_ROWS {
        blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("…and {} more. `{cmd} list` shows them all.", presets.len() - MAX_ROWS) }] }));
    }
    blocks.push(json!({
        "type": "actions", "block_id": "add",
        "elements": [{ "type": "button", "action_id": ACTION_ADD, "value": "add", "style": "primary", "text": { "type": "plain_text", "text": "Add preset" } }]
    }));
    Ok(json!({ "type": "home", "blocks": blocks }))
}

fn row(ctx: &Context, p: &Preset) -> [Value; 2] {
    let name = p.name.as_deref().map(|n| format!("*{}*", esc(n))).unwrap_or_else(|| "_your own name_".into());
    let photo = if p.photo.is_some() { ":frame_with_picture: photo set" } else { "no photo" };
    let text = format!(":{}: → {name}\n{photo}", p.emoji);
    let mut section = json!({ "type": "section", "block_id": format!("preset:{}", p.emoji), "text": { "type": "mrkdwn", "text": text } });
    if let Some(url) = ctx.emoji.image_url(&p.emoji) {
        section["accessory"] = json!({ "type": "image", "image_url": url, "alt_text": p.emoji });
    }
    // Two blocks a preset keeps 40 presets under the 100-block limit.
    let edit = json!({ "type": "button", "action_id": ACTION_EDIT, "value": p.emoji, "text": { "type": "plain_text", "text": "Edit" } });
    let delete = json!({
        "type": "button", "action_id": ACTION_DELETE, "value": p.emoji, "style": "danger",
        "text": { "type": "plain_text", "text": "Delete" },
        "confirm": {
            "title": { "type": "plain_text", "text": "Delete preset?" },
            "text": { "type": "mrkdwn", "text": format!("Delete your :{}: preset? If it is showing now, your own name and photo come back.", p.emoji) },
            "confirm": { "type": "plain_text", "text": "Delete" },
            "deny": { "type": "plain_text", "text": "Keep" }
        }
    });
    [section, json!({ "type": "actions", "block_id": format!("actions:{}", p.emoji), "elements": [edit, delete] })]
}

/// The add/edit modal: emoji, name and a photo file input. `private_metadata`
/// carries the emoji being edited (empty when adding).
pub fn preset_modal(ctx: &Context, member: &str, emoji: Option<&str>) -> Value {
    let existing = emoji.and_then(|e| ctx.store.preset(member, e).ok().flatten());
    let mut emoji_el =
        json!({ "type": "plain_text_input", "action_id": INPUT_EMOJI, "placeholder": { "type": "plain_text", "text": ":palm_tree:" } });
    if let Some(e) = emoji {
        emoji_el["initial_value"] = json!(format!(":{e}:"));
    }
    let mut name_el = json!({ "type": "plain_text_input", "action_id": INPUT_NAME, "max_length": 80, "placeholder": { "type": "plain_text", "text": "On vacation" } });
    if let Some(n) = existing.as_ref().and_then(|p| p.name.clone()) {
        name_el["initial_value"] = json!(n);
    }
    let title = if existing.is_some() { "Edit preset" } else { "Add preset" };
    json!({
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": emoji.unwrap_or(""),
        "title": { "type": "plain_text", "text": title },
        "submit": { "type": "plain_text", "text": "Save" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            { "type": "input", "block_id": BLOCK_EMOJI, "label": { "type": "plain_text", "text": "Status emoji" }, "element": emoji_el },
            { "type": "input", "block_id": BLOCK_NAME, "optional": true, "label": { "type": "plain_text", "text": "Display name" }, "element": name_el },
            { "type": "input", "block_id": BLOCK_PHOTO, "optional": true, "label": { "type": "plain_text", "text": "Photo" },
              "element": { "type": "file_input", "action_id": INPUT_PHOTO, "filetypes": ["jpg", "jpeg", "png", "gif", "webp"], "max_files": 1 } }
        ]
    })
}

/// The connect modal from the App Home: one field for the address the browser landed on after
/// approving (or the bare code). Errors come back inline on the field.
pub fn connect_modal() -> Value {
    json!({
        "type": "modal",
        "callback_id": CONNECT_CALLBACK,
        "title": { "type": "plain_text", "text": "Connect" },
        "submit": { "type": "plain_text", "text": "Connect" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            { "type": "input", "block_id": BLOCK_CODE,
              "label": { "type": "plain_text", "text": "Address or code" },
              "hint": { "type": "plain_text", "text": "After approving on Slack, copy the whole address from your browser's address bar (it contains code=). The code alone works too." },
              "element": { "type": "plain_text_input", "action_id": INPUT_CODE, "max_length": 2000,
                           "placeholder": { "type": "plain_text", "text": "https://…?code=…&state=…" } } }
        ]
    })
}
