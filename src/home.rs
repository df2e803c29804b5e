//! The App Home tab and the preset and connect modals, composed from typed
//! Block Kit ([`crate::slack::blocks`]).
//!
//! Home shows connection state, a pause/resume button and one row per preset
//! (emoji, name, its photo as an image, Edit and Delete with a confirmation), and an
//! "Add preset" button, then the team presets that apply (those with a photo one row each, with
//! the image). Photos are Slack files uploaded once ([`crate::gallery`]); a generated photo shows
//! a preview drawn from the member's current photo. It stays under Slack's 100-block limit
//! ([`MAX_BLOCKS`]) by listing at most [`MAX_ROWS`] presets and summarising the rest. [`Home`]
//! owns the per-member publish locks and whether uploads are on.

use url::Url;

use std::collections::HashMap;

use crate::emoji::EmojiCache;
use crate::gallery::{Gallery, Uploads};
use crate::photo::{PhotoGate, PhotoLimits};
use crate::profiles::ProfileCache;
use crate::slack::blocks::{self, Id, *};
use crate::slack::{ApiError, SlackClient};
use crate::store::timers::{self, ExpiryTimer};
use crate::store::{now_ms, team, CachedProfile, Design, MemberState, Preset, Store};
use crate::telemetry::CatchUpRun;

/// Each preset takes two blocks (section + actions); the header takes ~8.
pub const MAX_ROWS: usize = 40;

/// Slack's limit of blocks in a view.
pub const MAX_BLOCKS: usize = 100;

/// The owner of the Home tab's publish locks: one lock per slot of members, so
/// a member's publishes build and send one at a time and the view Slack keeps
/// is always the one built last (two changes in quick succession cannot leave
/// the older view on top).
pub struct Home {
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Whether photo uploads are on (see [`crate::gallery`]).
    pub(crate) uploads: Uploads,
}

impl Default for Home {
    fn default() -> Self {
        Home::new()
    }
}

impl Home {
    pub fn new() -> Home {
        Home { locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(), uploads: Uploads::default() }
    }

    fn lock(&self, member: &str) -> &tokio::sync::Mutex<()> {
        let idx = member.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % self.locks.len();
        &self.locks[idx]
    }
}

/// What building and publishing a Home tab reads: the handles, not the whole context.
pub struct HomeDeps<'a> {
    pub home: &'a Home,
    pub store: &'a Store,
    pub slack: &'a SlackClient,
    pub emoji: &'a EmojiCache,
    pub avatars: &'a ProfileCache,
    /// Previews of generated photos are drawn through the same gate as every photo.
    pub photos: &'a PhotoGate,
    pub limits: PhotoLimits,
    /// The slash command's name, as shown in hints.
    pub command: &'a str,
    /// Single-user mode: the owner of `SLACK_USER_TOKEN`.
    pub owner: Option<&'a str>,
    /// Whether OAuth is configured (members can connect from Home).
    pub oauth: bool,
    /// The latest catch-up with Slack (see [`catch_up_line`]).
    pub catch_up: Option<CatchUpRun>,
}

/// Publishes the member's Home tab; failures are logged, never fatal.
///
/// When Slack refuses the view for a file it no longer knows (`invalid_blocks`,
/// `file_not_found`), the files Slack has lost are uploaded again once and the view is sent
/// again; if Slack still refuses it, the view goes without images.
pub async fn publish(deps: &HomeDeps<'_>, member: &str) {
    let _turn = deps.home.lock(member).lock().await;
    // The avatar cache answers from user_change events; a member who never sent
    // one costs a single users.info, shared by concurrent publishes.
    let shown = deps.avatars.get(deps.slack, member).await.map(|p| if p.display_name.is_empty() { p.real_name } else { p.display_name });
    let shown = shown.filter(|n| !n.is_empty());
    let mut photos = photos_for(deps, member).await;
    for attempt in 0..3 {
        let Some(view) = built(deps, member, shown.clone(), &photos) else { return };
        let code = match deps.slack.views_publish(member, &view).await {
            Ok(()) => return,
            Err(ApiError::Slack(code)) if refuses_files(&code) && !photos.is_empty() => code,
            Err(e) => {
                tracing::warn!(error = %e, "views.publish failed");
                return;
            }
        };
        if attempt == 0 && gallery(deps).forget_missing(&photos.used).await > 0 {
            photos = photos_for(deps, member).await;
        } else {
            tracing::warn!(code = %code, "Slack refused the Home view's photos; it shows text instead");
            photos = Photos::default();
        }
    }
}

/// The errors Slack answers a view with when a `slack_file` in it is unknown.
fn refuses_files(code: &str) -> bool {
    matches!(code, "invalid_blocks" | "file_not_found" | "file_deleted")
}

/// The Home view as JSON, or None (logged) when it cannot be built.
fn built(deps: &HomeDeps<'_>, member: &str, shown: Option<String>, photos: &Photos) -> Option<serde_json::Value> {
    let view = home_view(deps, member, shown, photos).map_err(|e| tracing::error!(error = %e, "building the Home view failed")).ok()?;
    blocks::to_json(&SlackView::Home(view)).map_err(|e| tracing::error!(error = %e, "serializing the Home view failed")).ok()
}

fn gallery<'a>(deps: &'a HomeDeps<'a>) -> Gallery<'a> {
    Gallery {
        store: deps.store,
        slack: deps.slack,
        photos: deps.photos,
        limits: deps.limits,
        emoji: deps.emoji,
        uploads: &deps.home.uploads,
    }
}

/// The Slack files the rows of a Home view show, by emoji.
#[derive(Default)]
pub struct Photos {
    pub own: HashMap<String, String>,
    pub team: HashMap<String, String>,
    /// (photo hash, file id) of each, for [`Gallery::forget_missing`].
    used: Vec<(String, String)>,
}

impl Photos {
    fn is_empty(&self) -> bool {
        self.used.is_empty()
    }
}

/// The files of the photos the member's Home rows show: uploaded once each, previews of
/// generated photos drawn from the member's current photo. A row whose photo has no file
/// (an upload failed, nothing to draw from) shows text. Up to [`UPLOADS_AT_ONCE`] rows are
/// resolved at a time, so a first publish of many photos does not upload them one by one.
async fn photos_for(deps: &HomeDeps<'_>, member: &str) -> Photos {
    use futures_util::stream::{self, StreamExt};
    let g = gallery(deps);
    let mut out = Photos::default();
    let (Ok(state), Ok(presets)) = (deps.store.member(member), deps.store.presets_of(member)) else { return out };
    let cached = deps.avatars.peek(member);
    let own = presets.iter().take(MAX_ROWS).map(|p| (false, p.emoji.clone(), p.photo.clone(), p.design.clone()));
    let team_rows = team_applying(deps.store, &presets).unwrap_or_default();
    let team = team_rows.into_iter().take(MAX_TEAM_ROWS).map(|t| (true, t.emoji, t.photo, t.design));
    let rows: Vec<_> = own.chain(team).filter(|(_, _, photo, design)| photo.is_some() || design.is_some()).collect();
    let (g, state, cached) = (&g, &state, cached.as_ref());
    let resolved = stream::iter(rows)
        .map(|(is_team, emoji, photo, design)| async move {
            let hash = match (photo, design) {
                (Some(h), _) => Some(h),
                (None, Some(d)) => g.preview(member, state, cached, &emoji, &d).await,
                (None, None) => None,
            }?;
            let alt = if is_team { format!("Photo of the team :{emoji}: preset") } else { format!("Photo of your :{emoji}: preset") };
            let id = g.file_for(&hash, &alt).await?;
            Some((is_team, emoji, hash, id))
        })
        .buffered(UPLOADS_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    for (is_team, emoji, hash, id) in resolved.into_iter().flatten() {
        out.used.push((hash, id.clone()));
        let map = if is_team { &mut out.team } else { &mut out.own };
        map.insert(emoji, id);
    }
    out
}

/// How many photos one publish resolves (draws, uploads) at once.
const UPLOADS_AT_ONCE: usize = 4;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Whether the member has a usable user token.
fn connected(store: &Store, member: &str) -> bool {
    match store.tokens.get(member) {
        Ok(Some(t)) => !t.disconnected,
        Ok(None) => false,
        Err(e) => {
            tracing::error!(error = %e, "reading a token failed");
            false
        }
    }
}

/// One preset row as Home shows it.
pub struct Row {
    pub emoji: String,
    pub name: Option<String>,
    /// What a name template shows now (None: the name shows as typed).
    pub preview: Option<String>,
    pub has_photo: bool,
    /// The custom emoji's image, shown beside the row when it has no photo file.
    pub image: Option<String>,
    /// The Slack file of the row's photo (a `slack_file` image beside it).
    pub file: Option<String>,
}

/// Everything the Home tab shows, read from the store and caches.
pub struct HomeState<'a> {
    pub command: &'a str,
    pub connected: bool,
    pub owner: bool,
    /// Not connected, and OAuth is set up.
    pub can_connect: bool,
    pub paused: bool,
    pub active: Option<String>,
    /// The first [`MAX_ROWS`] presets.
    pub rows: Vec<Row>,
    pub total: usize,
    /// The name the member's profile shows now.
    pub shown: Option<String>,
    /// A pending status expiry, as a sentence ([`expiry_note`]).
    pub expiry: Option<String>,
    /// Connected members see when the bot last caught up with Slack ([`catch_up_line`]).
    pub catch_up: Option<String>,
    /// The team presets that apply to the member, when there are any.
    pub team: Option<TeamRows>,
    /// The preset showing now is the team's.
    pub active_is_team: bool,
}

/// The team presets Home lists for a member: those their own presets do not override.
pub struct TeamRows {
    /// At most [`MAX_TEAM_ROWS`].
    pub rows: Vec<Row>,
    pub total: usize,
    /// The member ran `team off`.
    pub off: bool,
}

/// Team presets share one section block (at most 3000 characters), so they cost two blocks
/// however many there are.
pub const MAX_TEAM_ROWS: usize = 20;

/// The member's Home view, `shown` being the name their profile shows now, with `photos`.
pub fn home_view(deps: &HomeDeps<'_>, member: &str, shown: Option<String>, photos: &Photos) -> anyhow::Result<SlackHomeView> {
    let state = deps.store.member(member)?;
    let presets = deps.store.presets_of(member)?;
    let is_connected = connected(deps.store, member);
    let cached = deps.avatars.peek(member);
    let rows = presets.iter().take(MAX_ROWS).map(|p| own_row(deps, &state, cached.as_ref(), p, photos)).collect();
    Ok(compose(&HomeState {
        command: deps.command,
        connected: is_connected,
        owner: deps.owner == Some(member),
        can_connect: !is_connected && deps.oauth,
        paused: state.paused,
        active: state.applied.preset.clone(),
        rows,
        total: presets.len(),
        shown,
        expiry: pending_expiry(deps.store, member),
        catch_up: is_connected.then(|| catch_up_line(deps.catch_up, crate::store::now_ms())),
        team: team_rows(deps.store, &presets, (&state, cached.as_ref()), photos)?,
        active_is_team: state.applied.team,
    }))
}

fn own_row(deps: &HomeDeps<'_>, state: &MemberState, cached: Option<&CachedProfile>, p: &Preset, photos: &Photos) -> Row {
    Row {
        emoji: p.emoji.clone(),
        name: p.name.clone(),
        preview: p.name.as_deref().and_then(|n| crate::members::preview_name(state, cached, n)),
        has_photo: p.has_photo(),
        image: deps.emoji.image_url(&p.emoji),
        file: photos.own.get(&p.emoji).cloned(),
    }
}

/// The team presets that apply to a member with these own `presets`: those they do not override.
fn team_applying(store: &Store, presets: &[Preset]) -> anyhow::Result<Vec<crate::store::TeamPreset>> {
    Ok(team::all(store)?.into_iter().filter(|t| !presets.iter().any(|p| p.emoji == t.emoji)).collect())
}

/// The team presets that apply to a member with these own `presets` (None when there are none),
/// a template name with what it shows for them now.
fn team_rows(
    store: &Store,
    presets: &[Preset],
    member: (&MemberState, Option<&CachedProfile>),
    photos: &Photos,
) -> anyhow::Result<Option<TeamRows>> {
    let applying = team_applying(store, presets)?;
    if applying.is_empty() {
        return Ok(None);
    }
    let (state, cached) = member;
    let rows = applying
        .iter()
        .take(MAX_TEAM_ROWS)
        .map(|t| Row {
            emoji: t.emoji.clone(),
            name: t.name.clone(),
            preview: t.name.as_deref().and_then(|n| crate::members::preview_name(state, cached, n)),
            has_photo: t.photo.is_some() || t.design.is_some(),
            image: None,
            file: photos.team.get(&t.emoji).cloned(),
        })
        .collect();
    Ok(Some(TeamRows { rows, total: applying.len(), off: state.team_off }))
}

/// The team presets in at most `room` blocks (at least two): a section listing those without a
/// photo file, with the member's on/off switch beside it, then one section per team preset with
/// a photo, its image beside it, while there is room (the rest join the list).
fn team_blocks(t: &TeamRows, cmd: &str, room: usize) -> Vec<SlackBlock> {
    let mut text = if t.off {
        "*Team presets* (kept by the admins): *off* for you, so only your own presets change your profile.".to_string()
    } else {
        "*Team presets* (kept by the admins): they show when your status matches and you have no preset of your own for it.".to_string()
    };
    let mut pictured = Vec::new();
    for r in &t.rows {
        let name = row_name(r);
        match &r.file {
            Some(file) if pictured.len() + 2 < room => {
                let image = slack_file_image(file, &format!("Photo of the team :{}: preset", r.emoji));
                let block = section(format!(":{}: → {name}", r.emoji)).with_block_id(SlackBlockId(format!("team:{}", r.emoji)));
                pictured.push(block.with_accessory(image.into()).into());
            }
            _ => {
                let photo = if r.has_photo { " (with photo)" } else { "" };
                text.push_str(&format!("\n:{}: → {name}{photo}", r.emoji));
            }
        }
    }
    if t.total > t.rows.len() {
        text.push_str(&format!("\n…and {} more: `{cmd} team list` shows them all.", t.total - t.rows.len()));
    }
    let (label, id) = if t.off { ("Turn on", Id::TeamOn) } else { ("Turn off", Id::TeamOff) };
    let switch = button(id, label).with_value(id.as_str().to_string());
    let header = section(text).with_block_id(SlackBlockId("team".into())).with_accessory(switch.into());
    [vec![SlackDividerBlock::new().into(), header.into()], pictured].concat()
}

/// An image Slack hosts: the file by id.
fn slack_file_image(file: &str, alt: &str) -> SlackBlockImageElement {
    let slack_file = SlackFileIdOrUrl::Id { id: SlackFileId(file.to_string()) };
    SlackBlockImageElement::new(SlackImageUrlOrFile::SlackFile { slack_file }, alt.to_string())
}

/// The member's pending status expiry as a sentence, unless they are paused (then nothing of
/// theirs changes at expiry).
pub(crate) fn pending_expiry(store: &Store, member: &str) -> Option<String> {
    let timer = timers::get(store, member)?;
    let paused = store.member(member).map(|m| m.paused).unwrap_or(false);
    (!paused).then(|| expiry_note(&timer, now_ms()))
}

/// "Your :spiral_calendar_pad: status expires at 17:00 UTC; I'll put your own name and photo
/// back then." Times are UTC (HH:MM); a day other than today's (UTC) is named first.
pub(crate) fn expiry_note(timer: &ExpiryTimer, now_ms: u64) -> String {
    let at = |ms: u64, fmt: &str| {
        jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX)).map(|t| t.strftime(fmt).to_string()).unwrap_or_default()
    };
    let day = at(timer.expires_at_ms, "%Y-%m-%d");
    let when = if day == at(now_ms, "%Y-%m-%d") { String::new() } else { format!("on {day} ") };
    format!(
        "Your :{}: status expires {when}at {} UTC; I'll put your own name and photo back then.",
        timer.emoji,
        at(timer.expires_at_ms, "%H:%M")
    )
}

/// The Home view for a state.
pub fn compose(s: &HomeState<'_>) -> SlackHomeView {
    let cmd = s.command;
    let mut out: Vec<SlackBlock> = vec![SlackHeaderBlock::new(plain("Status presets")).into()];
    if let Some(name) = &s.shown {
        out.push(context(format!("Your profile shows *{}* right now.", esc(name))).into());
    }
    out.extend(connection_blocks(s));
    let (label, action, text) = if s.paused {
        ("Resume", Id::HomeResume, ":double_vertical_bar: Paused: I'm not changing your profile.")
    } else {
        ("Pause", Id::HomePause, ":arrow_forward: Active: I follow your status emoji.")
    };
    let toggle = button(action, label).with_value(action.as_str().to_string());
    out.push(section(text).with_block_id(SlackBlockId("pause".into())).with_accessory(toggle.into()).into());
    if let Some(active) = &s.active {
        let whose = if s.active_is_team { "the team's" } else { "your" };
        out.push(context(format!("Now showing {whose} :{active}: preset.")).into());
    }
    if let Some(note) = &s.expiry {
        out.push(context(note.clone()).with_block_id(SlackBlockId("expiry".into())).into());
    }
    out.push(SlackDividerBlock::new().into());
    if s.total == 0 {
        out.push(section("You have no presets yet. Add one: pick an emoji, a display name and/or a photo.").into());
    }
    for r in &s.rows {
        out.extend(row(r));
    }
    if s.total > MAX_ROWS {
        out.push(context(format!("…and {} more. `{cmd} list` shows them all.", s.total - MAX_ROWS)).into());
    }
    let add = button(Id::PresetAdd, "Add preset").with_value("add".into()).with_style(SlackBlockButtonStyle::Primary);
    out.push(SlackActionsBlock::new(vec![add.into()]).with_block_id(SlackBlockId("add".into())).into());
    if let Some(t) = &s.team {
        // What is left under Slack's limit once the catch-up line has its place.
        let room = MAX_BLOCKS.saturating_sub(out.len() + usize::from(s.catch_up.is_some()));
        out.extend(team_blocks(t, cmd, room));
    }
    if let Some(line) = &s.catch_up {
        out.push(context(line.clone()).with_block_id(SlackBlockId("catch_up".into())).into());
    }
    SlackHomeView::new(out)
}

/// The sentence on the latest catch-up with Slack (for `status` and Home), e.g. "Last catch-up
/// with Slack: 14:02 UTC (read 12 profiles)."; the date is added when it was not today (UTC).
pub(crate) fn catch_up_line(last: Option<CatchUpRun>, now_ms: u64) -> String {
    let profiles = |n: u64| if n == 1 { "1 profile".to_string() } else { format!("{n} profiles") };
    match last {
        None => "Catch-up with Slack: none yet since the bot started.".into(),
        Some(CatchUpRun { started_ms, finished_ms: None, reads }) => {
            format!("Catching up with Slack since {} (read {} so far).", utc_time(started_ms, now_ms), profiles(reads))
        }
        Some(CatchUpRun { finished_ms: Some(at), reads, .. }) => {
            format!("Last catch-up with Slack: {} (read {}).", utc_time(at, now_ms), profiles(reads))
        }
    }
}

/// `14:02 UTC`, or `2026-12-02 14:02 UTC` when `ms` is not on the UTC day of `now_ms`.
fn utc_time(ms: u64, now_ms: u64) -> String {
    const DAY_MS: u64 = 86_400_000;
    let Ok(ts) = jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX)) else { return "an unknown time".into() };
    let format = if ms / DAY_MS == now_ms / DAY_MS { "%H:%M UTC" } else { "%Y-%m-%d %H:%M UTC" };
    ts.strftime(format).to_string()
}

/// The connection line, and when the member can connect, the Connect help and button.
fn connection_blocks(s: &HomeState<'_>) -> Vec<SlackBlock> {
    let cmd = s.command;
    let conn = if s.owner && s.connected {
        ":large_green_circle: Connected as this bot's owner (single-user mode).".to_string()
    } else if s.connected {
        ":large_green_circle: Connected: your status drives your name and photo.".to_string()
    } else {
        format!(":white_circle: Not connected: I can't change your profile yet. Run `{cmd} connect`.")
    };
    let mut conn_block = section(conn).with_block_id(SlackBlockId("connection".into()));
    if !s.can_connect {
        return vec![conn_block.into()];
    }
    conn_block = conn_block.with_accessory(button(Id::HomeConnect, "Connect").with_style(SlackBlockButtonStyle::Primary).into());
    let help = context("Connect sends you a link by DM. After approving, bring back the address your browser landed on:")
        .with_block_id(SlackBlockId("connect_help".into()));
    let paste = SlackActionsBlock::new(vec![button(Id::HomePasteCode, "Paste the address").into()])
        .with_block_id(SlackBlockId("connect_actions".into()));
    vec![conn_block.into(), help.into(), paste.into()]
}

/// A row's name as Home shows it: bold, a template followed by what it shows now.
fn row_name(p: &Row) -> String {
    match (&p.name, &p.preview) {
        (Some(n), Some(now)) => format!("*{}* → {}", esc(n), esc(now)),
        (Some(n), None) => format!("*{}*", esc(n)),
        (None, _) => "_your own name_".into(),
    }
}

fn row(p: &Row) -> [SlackBlock; 2] {
    let name = row_name(p);
    let photo = if p.has_photo { ":frame_with_picture: photo set" } else { "no photo" };
    let mut section = section(format!(":{}: → {name}\n{photo}", p.emoji)).with_block_id(SlackBlockId(format!("preset:{}", p.emoji)));
    if let Some(file) = &p.file {
        section = section.with_accessory(slack_file_image(file, &format!("Photo of your :{}: preset", p.emoji)).into());
    } else if let Some(url) = p.image.as_deref().and_then(|u| Url::parse(u).ok()) {
        let image = SlackBlockImageElement::new(SlackImageUrlOrFile::ImageUrl { image_url: url }, p.emoji.clone());
        section = section.with_accessory(image.into());
    }
    // Two blocks a preset keeps 40 presets under the 100-block limit.
    let edit = button(Id::PresetEdit, "Edit").with_value(p.emoji.clone());
    let ask = format!("Delete your :{}: preset? If it is showing now, your own name and photo come back.", p.emoji);
    let delete = button(Id::PresetDelete, "Delete")
        .with_value(p.emoji.clone())
        .with_style(SlackBlockButtonStyle::Danger)
        .with_confirm(confirm("Delete preset?", ask, "Delete", "Keep"));
    let actions = SlackActionsBlock::new(vec![edit.into(), delete.into()]).with_block_id(SlackBlockId(format!("actions:{}", p.emoji)));
    [section.into(), actions.into()]
}

/// The add/edit modal: emoji, name and a photo file input. `private_metadata`
/// carries the emoji being edited (empty when adding).
pub fn preset_modal(store: &Store, member: &str, emoji: Option<&str>) -> SlackView {
    let existing = emoji.and_then(|e| store.preset(member, e).ok().flatten());
    let mut emoji_el = text_input(Id::EmojiInput).with_placeholder(plain(":palm_tree:"));
    if let Some(e) = emoji {
        emoji_el = emoji_el.with_initial_value(format!(":{e}:"));
    }
    // Slack counts max_length in UTF-16 units: room for every name `add` accepts, templates too.
    let mut name_el = text_input(Id::NameInput)
        .with_max_length(utf16_room(crate::template::MAX_TEMPLATE_CHARS))
        .with_placeholder(plain("On vacation, or {name} (OOO)"));
    let mut name_hint = "{name} is your own name, {status} your status text; {{ and }} write a brace.".to_string();
    if let Some(n) = existing.as_ref().and_then(|p| p.name.clone()) {
        let state = store.member(member).unwrap_or_default();
        let cached = store.avatars.get(member).ok().flatten();
        if let Some(now) = crate::members::preview_name(&state, cached.as_ref(), &n) {
            name_hint = format!("Shows \"{now}\" right now. {name_hint}");
        }
        name_el = name_el.with_initial_value(n);
    }
    let photo_el = SlackBlockFileInputElement::new()
        .with_action_id(Id::PhotoInput.action())
        .with_filetypes(["jpg", "jpeg", "png", "gif", "webp"].map(String::from).to_vec())
        .with_max_files(1);
    let title = if existing.is_some() { "Edit preset" } else { "Add preset" };
    let inputs: Vec<SlackBlock> = vec![
        SlackInputBlock::new(plain("Status emoji"), emoji_el.into()).with_block_id(Id::EmojiBlock.block()).into(),
        SlackInputBlock::new(plain("Display name"), name_el.into())
            .with_block_id(Id::NameBlock.block())
            .with_optional(true)
            .with_hint(plain(name_hint))
            .into(),
        SlackInputBlock::new(plain("Photo"), photo_el.into()).with_block_id(Id::PhotoBlock.block()).with_optional(true).into(),
    ];
    let inputs = [inputs, photo_choice_inputs(existing.as_ref())].concat();
    SlackView::Modal(
        SlackModalView::new(plain(title), inputs)
            .with_callback_id(Id::PresetModal.callback())
            .with_private_metadata(emoji.unwrap_or("").to_string())
            .with_submit(plain("Save"))
            .with_close(plain("Cancel")),
    )
}

/// The values of the preset modal's photo choice (see `interactive`).
pub(crate) const PHOTO_UPLOAD: &str = "upload";
pub(crate) const PHOTO_BADGE: &str = "badge";
pub(crate) const PHOTO_FRAME: &str = "frame";
pub(crate) const PHOTO_NONE: &str = "none";

/// Beside the file input: what the photo is (the uploaded image, a badge, a frame, none), the
/// frame's colour (SPEC's named colours) and its label, set to what the preset has now.
fn photo_choice_inputs(existing: Option<&Preset>) -> Vec<SlackBlock> {
    let design = existing.and_then(|p| p.design.as_ref());
    let kind = match (design, existing) {
        (Some(Design::Badge), _) => PHOTO_BADGE,
        (Some(Design::Frame { .. }), _) => PHOTO_FRAME,
        (None, Some(p)) if p.photo.is_none() => PHOTO_NONE,
        _ => PHOTO_UPLOAD,
    };
    let kinds: Vec<(String, String)> = [
        ("The image above (or the one it has)", PHOTO_UPLOAD),
        ("Badge: the status emoji on my own photo", PHOTO_BADGE),
        ("Frame: my own photo in a colour band", PHOTO_FRAME),
        ("None: my own photo stays", PHOTO_NONE),
    ]
    .map(|(label, value)| (label.to_string(), value.to_string()))
    .to_vec();
    let (colour, label) = match design {
        Some(Design::Frame { colour, label }) => (Some(colour.to_string()), label.as_ref().map(|l| l.as_str().to_string())),
        _ => (None, None),
    };
    let colours: Vec<(String, String)> =
        crate::photo::generate::Colour::named().map(|(name, c)| (format!("{name} ({})", hex(&c)), name.to_string())).collect();
    let mut label_el =
        text_input(Id::LabelInput).with_max_length(utf16_room(crate::photo::generate::LABEL_MAX_CHARS)).with_placeholder(plain("OOO"));
    if let Some(l) = label {
        label_el = label_el.with_initial_value(l);
    }
    vec![
        SlackInputBlock::new(plain("Photo is"), blocks::select(Id::PhotoKindInput, &kinds, Some(kind)).into())
            .with_block_id(Id::PhotoKindBlock.block())
            .with_optional(true)
            .into(),
        SlackInputBlock::new(plain("Frame colour"), blocks::select(Id::ColourInput, &colours, colour.as_deref()).into())
            .with_block_id(Id::ColourBlock.block())
            .with_optional(true)
            .into(),
        SlackInputBlock::new(plain("Frame label"), label_el.into())
            .with_block_id(Id::LabelBlock.block())
            .with_optional(true)
            .with_hint(plain("Up to 16 characters, shown in white capitals across the bottom of a frame."))
            .into(),
    ]
}

/// `#RRGGBB` of a colour.
fn hex(c: &crate::photo::generate::Colour) -> String {
    let rgb = c.rgb().0;
    format!("#{:02X}{:02X}{:02X}", rgb[0], rgb[1], rgb[2])
}

/// The photo modal of the team preset for `emoji` (admins: `team photo :emoji:`): one file input,
/// the same as the preset modal's. `private_metadata` carries the emoji.
pub fn team_photo_modal(emoji: &str) -> SlackView {
    let photo_el = SlackBlockFileInputElement::new()
        .with_action_id(Id::PhotoInput.action())
        .with_filetypes(["jpg", "jpeg", "png", "gif", "webp"].map(String::from).to_vec())
        .with_max_files(1);
    let about = context(format!("The photo every member without their own :{emoji}: preset shows while their status is :{emoji}:."));
    let input = SlackInputBlock::new(plain("Photo"), photo_el.into()).with_block_id(Id::PhotoBlock.block());
    SlackView::Modal(
        SlackModalView::new(plain("Team preset photo"), vec![about.into(), input.into()])
            .with_callback_id(Id::TeamPhotoModal.callback())
            .with_private_metadata(emoji.to_string())
            .with_submit(plain("Save"))
            .with_close(plain("Cancel")),
    )
}

/// The connect modal from the App Home: one field for the address the browser landed on after
/// approving (or the bare code). Errors come back inline on the field.
pub fn connect_modal() -> SlackView {
    let field = text_input(Id::CodeInput).with_max_length(2000).with_placeholder(plain("https://…?code=…&state=…"));
    let hint =
        "After approving on Slack, copy the whole address from your browser's address bar (it contains code=). The code alone works too.";
    let input = SlackInputBlock::new(plain("Address or code"), field.into()).with_block_id(Id::CodeBlock.block()).with_hint(plain(hint));
    SlackView::Modal(
        SlackModalView::new(plain("Connect"), vec![input.into()])
            .with_callback_id(Id::ConnectModal.callback())
            .with_submit(plain("Connect"))
            .with_close(plain("Cancel")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `status` and Home say when the bot last caught up, in UTC, with the date if not today.
    #[test]
    fn the_catch_up_line_says_when_and_how_many() {
        let at = 1_764_770_520_000; // 2025-12-03 14:02 UTC
        let done = CatchUpRun { started_ms: at - 60_000, finished_ms: Some(at), reads: 12 };
        assert_eq!(catch_up_line(Some(done), at + 3_600_000), "Last catch-up with Slack: 14:02 UTC (read 12 profiles).");
        let next_day = at + 86_400_000;
        assert_eq!(
            catch_up_line(Some(CatchUpRun { reads: 1, ..done }), next_day),
            "Last catch-up with Slack: 2025-12-03 14:02 UTC (read 1 profile)."
        );
        let running = CatchUpRun { started_ms: at, finished_ms: None, reads: 3 };
        assert_eq!(catch_up_line(Some(running), at), "Catching up with Slack since 14:02 UTC (read 3 profiles so far).");
        assert!(catch_up_line(None, at).contains("none yet"));
    }

    #[test]
    fn an_80_character_name_fits_the_name_input() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let view = blocks::to_json(&preset_modal(&store, "U1", None)).unwrap();
        let max = view["blocks"][1]["element"]["max_length"].as_u64().unwrap();
        let name = "😀".repeat(crate::command::MAX_DISPLAY_NAME_CHARS);
        assert!(crate::command::validate_display_name(&name).is_ok());
        assert!(name.encode_utf16().count() as u64 <= max, "{max}");
        assert_eq!(view["blocks"][1]["block_id"], "name_block");
        assert_eq!(view["private_metadata"], "");
    }

    #[test]
    fn the_expiry_note_names_the_emoji_and_the_utc_time() {
        // 2023-11-14 22:13:20 UTC
        let at = 1_700_000_000_000;
        let t = ExpiryTimer { emoji: "spiral_calendar_pad".into(), expires_at_ms: at };
        assert_eq!(
            expiry_note(&t, at - 3_600_000),
            "Your :spiral_calendar_pad: status expires at 22:13 UTC; I'll put your own name and photo back then."
        );
        assert_eq!(
            expiry_note(&t, at - 86_400_000),
            "Your :spiral_calendar_pad: status expires on 2023-11-14 at 22:13 UTC; I'll put your own name and photo back then."
        );
    }

    #[test]
    fn a_template_row_shows_the_template_and_what_it_shows_now() {
        let r = Row {
            emoji: "palm_tree".into(),
            name: Some("{name} (OOO) & co".into()),
            preview: Some("Countess Ada ✨ (OOO) & co".into()),
            has_photo: false,
            image: None,
            file: None,
        };
        let section = serde_json::to_value(&row(&r)[0]).unwrap();
        assert_eq!(section["text"]["text"], ":palm_tree: → *{name} (OOO) &amp; co* → Countess Ada ✨ (OOO) &amp; co\nno photo");
    }

    /// The most a Home view can hold (every optional line, 45 own presets and 25 team presets, all
    /// with photos) stays within Slack's 100 blocks with unique block ids, and each image shown is
    /// a `slack_file` by id with alt text naming its preset.
    #[test]
    fn a_full_home_stays_under_100_blocks_with_unique_ids() {
        let row = |i: usize, team: bool| Row {
            emoji: format!("{}{i:02}", if team { "t" } else { "e" }),
            name: Some(format!("Name {i}")),
            preview: None,
            has_photo: true,
            image: None,
            file: Some(format!("F{}{i:02}", if team { "T" } else { "E" })),
        };
        let state = HomeState {
            command: "/status-preset",
            connected: false,
            owner: false,
            can_connect: true,
            paused: true,
            active: Some("e00".into()),
            rows: (0..MAX_ROWS).map(|i| row(i, false)).collect(),
            total: 45,
            shown: Some("Ada".into()),
            expiry: Some("Your :e00: status expires at 17:00 UTC".into()),
            catch_up: Some("Last catch-up".into()),
            team: Some(TeamRows { rows: (0..MAX_TEAM_ROWS).map(|i| row(i, true)).collect(), total: 25, off: false }),
            active_is_team: false,
        };
        let view = serde_json::to_value(compose(&state)).unwrap();
        let blocks = view["blocks"].as_array().cloned().unwrap_or_default();
        assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
        assert_eq!(blocks.last().map(|b| b["block_id"].clone()), Some(serde_json::json!("catch_up")), "nothing cut off the end");
        let ids: Vec<&str> = blocks.iter().filter_map(|b| b["block_id"].as_str()).collect();
        assert_eq!(ids.len(), ids.iter().collect::<std::collections::HashSet<_>>().len(), "unique block ids");
        let images: Vec<&serde_json::Value> =
            blocks.iter().filter(|b| b["accessory"]["type"] == "image").map(|b| &b["accessory"]).collect();
        assert_eq!(images.iter().filter(|i| i["alt_text"].as_str().is_some_and(|a| a.contains("your :e"))).count(), MAX_ROWS);
        assert!(images.iter().any(|i| i["alt_text"] == "Photo of the team :t00: preset"), "team photos where there is room");
        assert!(images
            .iter()
            .all(|i| i["slack_file"]["id"].as_str().is_some_and(|id| id.starts_with('F')) && i.get("image_url").is_none()));
        let team = blocks.iter().find(|b| b["block_id"] == "team").map(|b| b["text"]["text"].to_string()).unwrap_or_default();
        assert!(team.contains("(with photo)") && team.contains("…and 5 more"), "the team presets without room are listed: {team}");
    }

    #[test]
    fn the_delete_confirm_text_is_plain_text() {
        let r = Row { emoji: "coffee".into(), name: None, preview: None, has_photo: false, image: None, file: None };
        let actions = serde_json::to_value(&row(&r)[1]).unwrap();
        assert_eq!(actions["elements"][1]["confirm"]["text"]["type"], "plain_text");
    }
}
