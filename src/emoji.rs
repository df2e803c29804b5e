//! The emoji cache: which emoji the workspace has, and one canonical name for
//! each emoji a member can pick, so a preset matches however the emoji is spelt.
//!
//! Custom emoji come from `emoji.list` (kept in the store's `emoji` tree so a
//! restart does not need Slack) and are kept current by `emoji_changed`
//! events. Standard emoji are Slack's names (iamcal/emoji-data) layered over
//! the gemoji shortcodes of the `emojis` crate: Slack's primary name is the
//! canonical one, because the canonical name is shown back to members as
//! `:name:` and only Slack's names render there.

pub(crate) mod cache;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use anyhow::{bail, Context as _};
use serde_json::Value;

use crate::store::{now_ms, EmojiEntry, Store};

/// `meta` key: when `emoji.list` last loaded (unix ms, u64 big-endian).
const LOADED_KEY: &str = "emoji_loaded_ms";

/// Deeper than any real alias chain (Slack allows one level); only a corrupt
/// or looping cache gets here.
const MAX_ALIAS_HOPS: usize = 16;

/// Slack's limit on an emoji name; longer input is not a name.
const MAX_NAME_LEN: usize = 100;

/// Custom emoji in the store plus Slack/gemoji standard names, with counters
/// for the admin `stats` and `db stats` hit rates.
pub struct EmojiCache {
    store: Store,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What a name turned out to be.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A workspace emoji; `url` is None only if Slack gave no usable value.
    Custom {
        name: String,
        url: Option<String>,
    },
    Standard(String),
}

impl Target {
    fn into_name(self) -> String {
        match self {
            Target::Custom { name, .. } => name,
            Target::Standard(name) => name,
        }
    }
}

impl EmojiCache {
    pub fn new(store: Store) -> EmojiCache {
        EmojiCache { store, hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// Replaces the workspace emoji with an `emoji.list` answer: name → URL or "alias:other".
    pub fn replace_all(&self, list: &HashMap<String, String>) -> anyhow::Result<()> {
        let fresh: HashMap<String, EmojiEntry> = list.iter().map(|(name, value)| (name.to_lowercase(), entry_from_value(value))).collect();
        // One batch so a lookup never sees half the old list and half the new.
        let mut batch = sled::Batch::default();
        let tree = self.store.emoji.raw();
        for key in tree.iter().keys() {
            let key = key.context("reading the emoji cache")?;
            if !fresh.contains_key(&*String::from_utf8_lossy(&key)) {
                batch.remove(key);
            }
        }
        for (name, entry) in &fresh {
            batch.insert(name.as_bytes(), serde_json::to_vec(entry)?);
        }
        tree.apply_batch(batch).context("replacing the emoji cache")?;
        // Badge images are fetched again from the fresh list's URLs when next needed.
        crate::store::emoji_images::clear(&self.store)?;
        self.mark_loaded();
        tracing::debug!(count = fresh.len(), "emoji list loaded");
        Ok(())
    }

    /// Applies an `emoji_changed` event (the raw `event` JSON, or the whole
    /// `event_callback` around it): subtype "add" (name, value), "remove"
    /// (names[]), "rename" (old_name, new_name, value). Unknown subtypes are
    /// ignored with a debug log; see [`wants_reload`].
    pub fn apply_change(&self, event: &Value) -> anyhow::Result<()> {
        let ev = match event.get("event") {
            Some(inner) if inner.is_object() => inner,
            _ => event,
        };
        match ev.get("subtype").and_then(Value::as_str) {
            Some("add") => {
                let name = required(ev, "name")?;
                let value = required(ev, "value")?;
                self.store.emoji.insert(name.to_lowercase(), &entry_from_value(value))?;
            }
            Some("remove") => {
                let mut names: Vec<String> = match ev.get("names").and_then(Value::as_array) {
                    Some(list) => list.iter().filter_map(Value::as_str).map(str::to_lowercase).collect(),
                    None => Vec::new(),
                };
                // Not Slack's documented shape, but some SDK samples carry a lone `name`.
                if names.is_empty() {
                    names.extend(ev.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_lowercase));
                }
                if names.is_empty() {
                    bail!("emoji_changed remove without names");
                }
                self.remove_with_aliases(names)?;
            }
            Some("rename") => {
                let old = required(ev, "old_name")?.to_lowercase();
                let new = required(ev, "new_name")?.to_lowercase();
                self.rename(&old, &new, ev.get("value").and_then(Value::as_str).filter(|v| !v.is_empty()))?;
            }
            other => tracing::debug!(subtype = ?other, "ignoring emoji_changed without a known subtype"),
        }
        Ok(())
    }

    /// Slack removes aliases along with the emoji they point at, but says so
    /// only in prose: drop them here too rather than trust `names` to list them.
    fn remove_with_aliases(&self, names: Vec<String>) -> anyhow::Result<()> {
        let mut gone: HashSet<String> = HashSet::new();
        let mut batch = names;
        while !batch.is_empty() {
            for name in &batch {
                self.store.emoji.remove(name)?;
            }
            gone.extend(batch);
            batch = self
                .store
                .emoji
                .iter()?
                .into_iter()
                .filter(|(_, e)| e.alias_of.as_deref().is_some_and(|t| gone.contains(&strip(t))))
                .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
                .collect();
        }
        Ok(())
    }

    /// Aliases follow a renamed emoji in Slack, so they are re-pointed rather
    /// than left dangling until the next full reload.
    fn rename(&self, old: &str, new: &str, value: Option<&str>) -> anyhow::Result<()> {
        let previous = self.store.emoji.remove(old)?;
        let entry = value.map(entry_from_value).or(previous).unwrap_or(EmojiEntry { url: None, alias_of: None });
        self.store.emoji.insert(new, &entry)?;
        for (key, e) in self.store.emoji.iter()? {
            if e.alias_of.as_deref().is_some_and(|t| strip(t) == old) {
                self.store.emoji.insert(&key, &EmojiEntry { url: e.url, alias_of: Some(new.to_string()) })?;
            }
        }
        Ok(())
    }

    /// Canonical name for what a member typed or a status carries (":palm_tree:",
    /// "palm_tree", ":+1::skin-tone-2:", "thumbsup", "🌴"). Custom aliases are
    /// followed; standard names map to Slack's primary name, so "thumbsup" and
    /// "+1" agree. None when neither the workspace nor the standard set knows it.
    pub fn canonical(&self, raw: &str) -> Option<String> {
        let found = self.resolve(raw).map(Target::into_name);
        self.count(found.is_some());
        found
    }

    /// Like [`canonical`](Self::canonical), but while the workspace list has
    /// never loaded, an unknown name that is syntactically valid is accepted
    /// as-is: refusing every custom emoji because `emoji.list` failed would be
    /// worse than trusting the member.
    pub fn canonical_or_unverified(&self, raw: &str) -> Option<String> {
        let found = self.resolve(raw).map(Target::into_name);
        self.count(found.is_some());
        if found.is_some() || self.is_loaded() {
            return found;
        }
        let name = strip(raw);
        is_name(&name).then_some(name)
    }

    pub(crate) fn is_loaded(&self) -> bool {
        self.loaded_at_ms().is_some()
    }

    /// When `emoji.list` last loaded (unix ms), for deciding when to refresh.
    pub(crate) fn loaded_at_ms(&self) -> Option<u64> {
        let v = self.store.meta.get(LOADED_KEY).ok()??;
        let bytes: [u8; 8] = v.as_ref().try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    }

    pub(crate) fn mark_loaded(&self) {
        if let Err(e) = self.store.meta.insert(LOADED_KEY, now_ms().to_be_bytes().to_vec()) {
            tracing::warn!(error = %e, "could not record when the emoji list loaded");
        }
    }

    /// Image URL for a custom emoji (after alias resolution), None for standard ones.
    pub fn image_url(&self, canonical: &str) -> Option<String> {
        match self.resolve(canonical)? {
            Target::Custom { url, .. } => url,
            Target::Standard(_) => None,
        }
    }

    /// The unicode character(s) for a standard name, for display; None when a
    /// workspace emoji has that name, since that is what the name shows.
    pub fn unicode(&self, canonical: &str) -> Option<String> {
        let name = strip(canonical);
        if !is_name(&name) || self.entry(&name).is_some() {
            return None;
        }
        if let Some(u) = tables().by_name.get(name.as_str()) {
            return Some((*u).to_string());
        }
        emojis::get_by_shortcode(&name).map(|e| e.as_str().to_string())
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Number of workspace (custom) emoji, aliases included.
    pub fn len(&self) -> usize {
        self.store.emoji.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.emoji.is_empty()
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn entry(&self, name: &str) -> Option<EmojiEntry> {
        match self.store.emoji.get(name) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(name, error = %e, "unreadable emoji cache entry");
                None
            }
        }
    }

    fn resolve(&self, raw: &str) -> Option<Target> {
        let name = strip(raw);
        if name.is_empty() {
            None
        } else if is_name(&name) {
            // Some emoji are letters to Unicode ("Ⓜ", "ℹ"), so a non-ASCII
            // "name" the workspace lacks may still be a raw emoji.
            let raw_emoji = (!name.is_ascii()).then(|| name.clone());
            self.resolve_name(name).or_else(|| standard_from_unicode(&raw_emoji?).map(Target::Standard))
        } else {
            standard_from_unicode(&name).map(Target::Standard)
        }
    }

    fn resolve_name(&self, mut name: String) -> Option<Target> {
        let mut visited: Vec<String> = Vec::new();
        loop {
            if visited.len() > MAX_ALIAS_HOPS || visited.contains(&name) {
                tracing::warn!(name, chain = ?visited, "emoji alias loop");
                return None;
            }
            // The workspace is asked first: its entry wins over a standard emoji of the same name.
            match self.entry(&name) {
                Some(EmojiEntry { alias_of: Some(target), .. }) => {
                    visited.push(name);
                    name = strip(&target);
                }
                Some(EmojiEntry { url, alias_of: None }) => return Some(Target::Custom { name, url }),
                None => return standard_name(&name).map(Target::Standard),
            }
        }
    }
}

/// Whether an `emoji_changed` event leaves the cache unsure of the list: Slack
/// asks clients to reload `emoji.list` when the subtype is absent or unknown.
pub fn wants_reload(event: &Value) -> bool {
    let ev = match event.get("event") {
        Some(inner) if inner.is_object() => inner,
        _ => event,
    };
    !matches!(ev.get("subtype").and_then(Value::as_str), Some("add" | "remove" | "rename"))
}

/// ":x::skin-tone-3:" / "x::skin-tone-3" → "x"; colons and surrounding space
/// trimmed, ASCII lowercased (Slack emoji names are lowercase; full Unicode
/// lowercasing would turn "Ⓜ" into another character).
pub fn strip(raw: &str) -> String {
    let lowered = raw.trim().to_ascii_lowercase();
    let mut s = lowered.trim_matches(':');
    // Slack writes a modifier as a second emoji (":wave::skin-tone-2:", and
    // "skin-tone-2-3" on two-person emoji); a preset ignores it.
    while let Some(i) = s.rfind("::skin-tone-") {
        s = s[..i].trim_end_matches(':');
    }
    s.to_string()
}

/// Could this be an emoji name? Slack allows letters (not only ASCII: Japanese
/// workspaces name emoji in kana), digits, `_`, `-`, and standard `+1`.
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= MAX_NAME_LEN && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '\''))
}

fn entry_from_value(value: &str) -> EmojiEntry {
    match value.strip_prefix("alias:") {
        Some(target) => EmojiEntry { url: None, alias_of: Some(target.to_string()) },
        None if value.is_empty() => EmojiEntry { url: None, alias_of: None },
        None => EmojiEntry { url: Some(value.to_string()), alias_of: None },
    }
}

fn required<'a>(ev: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    match ev.get(field).and_then(Value::as_str) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => bail!("emoji_changed {} without {field}", ev.get("subtype").and_then(Value::as_str).unwrap_or("?")),
    }
}

/// Canonical name of a standard emoji name, Slack's meaning first: a few names
/// ("satellite", "umbrella", "snowman", "email") mean another emoji in gemoji.
fn standard_name(name: &str) -> Option<String> {
    if let Some(u) = tables().by_name.get(name) {
        return Some(canonical_for_unicode(u).unwrap_or_else(|| name.to_string()));
    }
    emojis::get_by_shortcode(name).and_then(|e| canonical_for_unicode(e.as_str()))
}

/// Canonical name of a raw emoji, skin tone dropped.
fn standard_from_unicode(s: &str) -> Option<String> {
    let without_tone: String = s.chars().filter(|c| !is_skin_tone(*c)).collect();
    let found = emojis::get(s).or_else(|| emojis::get(&without_tone));
    match found {
        Some(e) => canonical_for_unicode(e.with_skin_tone(emojis::SkinTone::Default).unwrap_or(e).as_str()),
        // Skin-tone swatches, and emoji Slack has that the crate lacks.
        None => canonical_for_unicode(s).or_else(|| canonical_for_unicode(&without_tone)),
    }
}

fn canonical_for_unicode(u: &str) -> Option<String> {
    if let Some(name) = tables().primary_by_unicode.get(&unqualified(u)) {
        return Some((*name).to_string());
    }
    emojis::get(u).and_then(|e| e.shortcode()).map(str::to_string)
}

fn is_skin_tone(c: char) -> bool {
    ('\u{1f3fb}'..='\u{1f3ff}').contains(&c)
}

/// Variation selectors differ between sources for the same emoji.
fn unqualified(u: &str) -> String {
    u.chars().filter(|c| *c != '\u{fe0f}').collect()
}

struct Tables {
    by_name: HashMap<&'static str, &'static str>,
    primary_by_unicode: HashMap<String, &'static str>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| Tables {
        by_name: SLACK_NAMES.iter().map(|(name, u, _)| (*name, *u)).collect(),
        primary_by_unicode: SLACK_NAMES.iter().filter(|(_, _, primary)| *primary).map(|(name, u, _)| (unqualified(u), *name)).collect(),
    })
}

/// Slack's standard emoji names where gemoji (the `emojis` crate) lacks them,
/// gives them another emoji, or lists another name first: (name, emoji,
/// whether it is Slack's primary name for that emoji). Every other Slack name
/// is a gemoji shortcode and gemoji's first shortcode is Slack's primary.
/// Generated from iamcal/emoji-data (npm emoji-datasource 16.0.0, MIT),
/// comparing `short_name`/`short_names` with `emojis` 0.8.2.
#[rustfmt::skip]
const SLACK_NAMES: &[(&str, &str, bool)] = &[
    ("admission_tickets", "\u{1f39f}\u{fe0f}", true),
    ("airplane_arriving", "\u{1f6ec}", true),
    ("airplane_departure", "\u{1f6eb}", true),
    ("badminton_racquet_and_shuttlecock", "\u{1f3f8}", true),
    ("bald_person", "\u{1f9d1}\u{200d}\u{1f9b2}", true),
    ("ballot_box_with_ballot", "\u{1f5f3}\u{fe0f}", true),
    ("barely_sunny", "\u{1f325}\u{fe0f}", true),
    ("beach_with_umbrella", "\u{1f3d6}\u{fe0f}", true),
    ("biohazard_sign", "\u{2623}\u{fe0f}", true),
    ("black_circle_for_record", "\u{23fa}\u{fe0f}", true),
    ("black_left_pointing_double_triangle_with_vertical_bar", "\u{23ee}\u{fe0f}", true),
    ("black_right_pointing_double_triangle_with_vertical_bar", "\u{23ed}\u{fe0f}", true),
    ("black_right_pointing_triangle_with_double_vertical_bar", "\u{23ef}\u{fe0f}", true),
    ("black_square_for_stop", "\u{23f9}\u{fe0f}", true),
    ("blond-haired-man", "\u{1f471}\u{200d}\u{2642}\u{fe0f}", true),
    ("blond-haired-woman", "\u{1f471}\u{200d}\u{2640}\u{fe0f}", true),
    ("breast-feeding", "\u{1f931}", true),
    ("bride_with_veil", "\u{1f470}", true),
    ("briefs", "\u{1fa72}", true),
    ("broken_chain", "\u{26d3}\u{fe0f}\u{200d}\u{1f4a5}", true),
    ("brown_mushroom", "\u{1f344}\u{200d}\u{1f7eb}", true),
    ("camera_with_flash", "\u{1f4f8}", true),
    ("cheese_wedge", "\u{1f9c0}", true),
    ("compression", "\u{1f5dc}\u{fe0f}", true),
    ("cooking", "\u{1f373}", false),
    ("cop", "\u{1f46e}", true),
    ("cricket_bat_and_ball", "\u{1f3cf}", true),
    ("curly_haired_person", "\u{1f9d1}\u{200d}\u{1f9b1}", true),
    ("dagger_knife", "\u{1f5e1}\u{fe0f}", true),
    ("dancer", "\u{1f483}", true),
    ("derelict_house_building", "\u{1f3da}\u{fe0f}", true),
    ("double_vertical_bar", "\u{23f8}\u{fe0f}", true),
    ("dove_of_peace", "\u{1f54a}\u{fe0f}", true),
    ("drum_with_drumsticks", "\u{1f941}", true),
    ("e-mail", "\u{1f4e7}", true),
    ("eject", "\u{23cf}\u{fe0f}", true),
    ("email", "\u{2709}\u{fe0f}", true),
    ("eye-in-speech-bubble", "\u{1f441}\u{fe0f}\u{200d}\u{1f5e8}\u{fe0f}", true),
    ("face_palm", "\u{1f926}", true),
    ("face_vomiting", "\u{1f92e}", true),
    ("face_with_bags_under_eyes", "\u{1fae9}", true),
    ("face_with_cowboy_hat", "\u{1f920}", true),
    ("face_with_finger_covering_closed_lips", "\u{1f92b}", false),
    ("face_with_hand_over_mouth", "\u{1f92d}", true),
    ("face_with_monocle", "\u{1f9d0}", true),
    ("face_with_one_eyebrow_raised", "\u{1f928}", false),
    ("face_with_open_mouth_vomiting", "\u{1f92e}", false),
    ("face_with_raised_eyebrow", "\u{1f928}", true),
    ("face_with_rolling_eyes", "\u{1f644}", true),
    ("face_with_symbols_on_mouth", "\u{1f92c}", true),
    ("facepunch", "\u{1f44a}", true),
    ("family_adult_adult_child", "\u{1f9d1}\u{200d}\u{1f9d1}\u{200d}\u{1f9d2}", true),
    ("family_adult_adult_child_child", "\u{1f9d1}\u{200d}\u{1f9d1}\u{200d}\u{1f9d2}\u{200d}\u{1f9d2}", true),
    ("family_adult_child", "\u{1f9d1}\u{200d}\u{1f9d2}", true),
    ("family_adult_child_child", "\u{1f9d1}\u{200d}\u{1f9d2}\u{200d}\u{1f9d2}", true),
    ("female-artist", "\u{1f469}\u{200d}\u{1f3a8}", true),
    ("female-astronaut", "\u{1f469}\u{200d}\u{1f680}", true),
    ("female-construction-worker", "\u{1f477}\u{200d}\u{2640}\u{fe0f}", true),
    ("female-cook", "\u{1f469}\u{200d}\u{1f373}", true),
    ("female-detective", "\u{1f575}\u{fe0f}\u{200d}\u{2640}\u{fe0f}", true),
    ("female-doctor", "\u{1f469}\u{200d}\u{2695}\u{fe0f}", true),
    ("female-factory-worker", "\u{1f469}\u{200d}\u{1f3ed}", true),
    ("female-farmer", "\u{1f469}\u{200d}\u{1f33e}", true),
    ("female-firefighter", "\u{1f469}\u{200d}\u{1f692}", true),
    ("female-guard", "\u{1f482}\u{200d}\u{2640}\u{fe0f}", true),
    ("female-judge", "\u{1f469}\u{200d}\u{2696}\u{fe0f}", true),
    ("female-mechanic", "\u{1f469}\u{200d}\u{1f527}", true),
    ("female-office-worker", "\u{1f469}\u{200d}\u{1f4bc}", true),
    ("female-pilot", "\u{1f469}\u{200d}\u{2708}\u{fe0f}", true),
    ("female-police-officer", "\u{1f46e}\u{200d}\u{2640}\u{fe0f}", true),
    ("female-scientist", "\u{1f469}\u{200d}\u{1f52c}", true),
    ("female-singer", "\u{1f469}\u{200d}\u{1f3a4}", true),
    ("female-student", "\u{1f469}\u{200d}\u{1f393}", true),
    ("female-teacher", "\u{1f469}\u{200d}\u{1f3eb}", true),
    ("female-technologist", "\u{1f469}\u{200d}\u{1f4bb}", true),
    ("female_elf", "\u{1f9dd}\u{200d}\u{2640}\u{fe0f}", true),
    ("female_fairy", "\u{1f9da}\u{200d}\u{2640}\u{fe0f}", true),
    ("female_genie", "\u{1f9de}\u{200d}\u{2640}\u{fe0f}", true),
    ("female_mage", "\u{1f9d9}\u{200d}\u{2640}\u{fe0f}", true),
    ("female_superhero", "\u{1f9b8}\u{200d}\u{2640}\u{fe0f}", true),
    ("female_supervillain", "\u{1f9b9}\u{200d}\u{2640}\u{fe0f}", true),
    ("female_vampire", "\u{1f9db}\u{200d}\u{2640}\u{fe0f}", true),
    ("female_zombie", "\u{1f9df}\u{200d}\u{2640}\u{fe0f}", true),
    ("fencer", "\u{1f93a}", true),
    ("field_hockey_stick_and_ball", "\u{1f3d1}", true),
    ("film_frames", "\u{1f39e}\u{fe0f}", true),
    ("fingerprint", "\u{1fac6}", true),
    ("first_place_medal", "\u{1f947}", true),
    ("fist", "\u{270a}", true),
    ("flag-ac", "\u{1f1e6}\u{1f1e8}", true),
    ("flag-ad", "\u{1f1e6}\u{1f1e9}", true),
    ("flag-ae", "\u{1f1e6}\u{1f1ea}", true),
    ("flag-af", "\u{1f1e6}\u{1f1eb}", true),
    ("flag-ag", "\u{1f1e6}\u{1f1ec}", true),
    ("flag-ai", "\u{1f1e6}\u{1f1ee}", true),
    ("flag-al", "\u{1f1e6}\u{1f1f1}", true),
    ("flag-am", "\u{1f1e6}\u{1f1f2}", true),
    ("flag-ao", "\u{1f1e6}\u{1f1f4}", true),
    ("flag-aq", "\u{1f1e6}\u{1f1f6}", true),
    ("flag-ar", "\u{1f1e6}\u{1f1f7}", true),
    ("flag-as", "\u{1f1e6}\u{1f1f8}", true),
    ("flag-at", "\u{1f1e6}\u{1f1f9}", true),
    ("flag-au", "\u{1f1e6}\u{1f1fa}", true),
    ("flag-aw", "\u{1f1e6}\u{1f1fc}", true),
    ("flag-ax", "\u{1f1e6}\u{1f1fd}", true),
    ("flag-az", "\u{1f1e6}\u{1f1ff}", true),
    ("flag-ba", "\u{1f1e7}\u{1f1e6}", true),
    ("flag-bb", "\u{1f1e7}\u{1f1e7}", true),
    ("flag-bd", "\u{1f1e7}\u{1f1e9}", true),
    ("flag-be", "\u{1f1e7}\u{1f1ea}", true),
    ("flag-bf", "\u{1f1e7}\u{1f1eb}", true),
    ("flag-bg", "\u{1f1e7}\u{1f1ec}", true),
    ("flag-bh", "\u{1f1e7}\u{1f1ed}", true),
    ("flag-bi", "\u{1f1e7}\u{1f1ee}", true),
    ("flag-bj", "\u{1f1e7}\u{1f1ef}", true),
    ("flag-bl", "\u{1f1e7}\u{1f1f1}", true),
    ("flag-bm", "\u{1f1e7}\u{1f1f2}", true),
    ("flag-bn", "\u{1f1e7}\u{1f1f3}", true),
    ("flag-bo", "\u{1f1e7}\u{1f1f4}", true),
    ("flag-bq", "\u{1f1e7}\u{1f1f6}", true),
    ("flag-br", "\u{1f1e7}\u{1f1f7}", true),
    ("flag-bs", "\u{1f1e7}\u{1f1f8}", true),
    ("flag-bt", "\u{1f1e7}\u{1f1f9}", true),
    ("flag-bv", "\u{1f1e7}\u{1f1fb}", true),
    ("flag-bw", "\u{1f1e7}\u{1f1fc}", true),
    ("flag-by", "\u{1f1e7}\u{1f1fe}", true),
    ("flag-bz", "\u{1f1e7}\u{1f1ff}", true),
    ("flag-ca", "\u{1f1e8}\u{1f1e6}", true),
    ("flag-cc", "\u{1f1e8}\u{1f1e8}", true),
    ("flag-cd", "\u{1f1e8}\u{1f1e9}", true),
    ("flag-cf", "\u{1f1e8}\u{1f1eb}", true),
    ("flag-cg", "\u{1f1e8}\u{1f1ec}", true),
    ("flag-ch", "\u{1f1e8}\u{1f1ed}", true),
    ("flag-ci", "\u{1f1e8}\u{1f1ee}", true),
    ("flag-ck", "\u{1f1e8}\u{1f1f0}", true),
    ("flag-cl", "\u{1f1e8}\u{1f1f1}", true),
    ("flag-cm", "\u{1f1e8}\u{1f1f2}", true),
    ("flag-cn", "\u{1f1e8}\u{1f1f3}", false),
    ("flag-co", "\u{1f1e8}\u{1f1f4}", true),
    ("flag-cp", "\u{1f1e8}\u{1f1f5}", true),
    ("flag-cr", "\u{1f1e8}\u{1f1f7}", true),
    ("flag-cu", "\u{1f1e8}\u{1f1fa}", true),
    ("flag-cv", "\u{1f1e8}\u{1f1fb}", true),
    ("flag-cw", "\u{1f1e8}\u{1f1fc}", true),
    ("flag-cx", "\u{1f1e8}\u{1f1fd}", true),
    ("flag-cy", "\u{1f1e8}\u{1f1fe}", true),
    ("flag-cz", "\u{1f1e8}\u{1f1ff}", true),
    ("flag-de", "\u{1f1e9}\u{1f1ea}", false),
    ("flag-dg", "\u{1f1e9}\u{1f1ec}", true),
    ("flag-dj", "\u{1f1e9}\u{1f1ef}", true),
    ("flag-dk", "\u{1f1e9}\u{1f1f0}", true),
    ("flag-dm", "\u{1f1e9}\u{1f1f2}", true),
    ("flag-do", "\u{1f1e9}\u{1f1f4}", true),
    ("flag-dz", "\u{1f1e9}\u{1f1ff}", true),
    ("flag-ea", "\u{1f1ea}\u{1f1e6}", true),
    ("flag-ec", "\u{1f1ea}\u{1f1e8}", true),
    ("flag-ee", "\u{1f1ea}\u{1f1ea}", true),
    ("flag-eg", "\u{1f1ea}\u{1f1ec}", true),
    ("flag-eh", "\u{1f1ea}\u{1f1ed}", true),
    ("flag-england", "\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}", true),
    ("flag-er", "\u{1f1ea}\u{1f1f7}", true),
    ("flag-es", "\u{1f1ea}\u{1f1f8}", false),
    ("flag-et", "\u{1f1ea}\u{1f1f9}", true),
    ("flag-eu", "\u{1f1ea}\u{1f1fa}", true),
    ("flag-fi", "\u{1f1eb}\u{1f1ee}", true),
    ("flag-fj", "\u{1f1eb}\u{1f1ef}", true),
    ("flag-fk", "\u{1f1eb}\u{1f1f0}", true),
    ("flag-fm", "\u{1f1eb}\u{1f1f2}", true),
    ("flag-fo", "\u{1f1eb}\u{1f1f4}", true),
    ("flag-fr", "\u{1f1eb}\u{1f1f7}", false),
    ("flag-ga", "\u{1f1ec}\u{1f1e6}", true),
    ("flag-gb", "\u{1f1ec}\u{1f1e7}", false),
    ("flag-gd", "\u{1f1ec}\u{1f1e9}", true),
    ("flag-ge", "\u{1f1ec}\u{1f1ea}", true),
    ("flag-gf", "\u{1f1ec}\u{1f1eb}", true),
    ("flag-gg", "\u{1f1ec}\u{1f1ec}", true),
    ("flag-gh", "\u{1f1ec}\u{1f1ed}", true),
    ("flag-gi", "\u{1f1ec}\u{1f1ee}", true),
    ("flag-gl", "\u{1f1ec}\u{1f1f1}", true),
    ("flag-gm", "\u{1f1ec}\u{1f1f2}", true),
    ("flag-gn", "\u{1f1ec}\u{1f1f3}", true),
    ("flag-gp", "\u{1f1ec}\u{1f1f5}", true),
    ("flag-gq", "\u{1f1ec}\u{1f1f6}", true),
    ("flag-gr", "\u{1f1ec}\u{1f1f7}", true),
    ("flag-gs", "\u{1f1ec}\u{1f1f8}", true),
    ("flag-gt", "\u{1f1ec}\u{1f1f9}", true),
    ("flag-gu", "\u{1f1ec}\u{1f1fa}", true),
    ("flag-gw", "\u{1f1ec}\u{1f1fc}", true),
    ("flag-gy", "\u{1f1ec}\u{1f1fe}", true),
    ("flag-hk", "\u{1f1ed}\u{1f1f0}", true),
    ("flag-hm", "\u{1f1ed}\u{1f1f2}", true),
    ("flag-hn", "\u{1f1ed}\u{1f1f3}", true),
    ("flag-hr", "\u{1f1ed}\u{1f1f7}", true),
    ("flag-ht", "\u{1f1ed}\u{1f1f9}", true),
    ("flag-hu", "\u{1f1ed}\u{1f1fa}", true),
    ("flag-ic", "\u{1f1ee}\u{1f1e8}", true),
    ("flag-id", "\u{1f1ee}\u{1f1e9}", true),
    ("flag-ie", "\u{1f1ee}\u{1f1ea}", true),
    ("flag-il", "\u{1f1ee}\u{1f1f1}", true),
    ("flag-im", "\u{1f1ee}\u{1f1f2}", true),
    ("flag-in", "\u{1f1ee}\u{1f1f3}", true),
    ("flag-io", "\u{1f1ee}\u{1f1f4}", true),
    ("flag-iq", "\u{1f1ee}\u{1f1f6}", true),
    ("flag-ir", "\u{1f1ee}\u{1f1f7}", true),
    ("flag-is", "\u{1f1ee}\u{1f1f8}", true),
    ("flag-it", "\u{1f1ee}\u{1f1f9}", false),
    ("flag-je", "\u{1f1ef}\u{1f1ea}", true),
    ("flag-jm", "\u{1f1ef}\u{1f1f2}", true),
    ("flag-jo", "\u{1f1ef}\u{1f1f4}", true),
    ("flag-jp", "\u{1f1ef}\u{1f1f5}", false),
    ("flag-ke", "\u{1f1f0}\u{1f1ea}", true),
    ("flag-kg", "\u{1f1f0}\u{1f1ec}", true),
    ("flag-kh", "\u{1f1f0}\u{1f1ed}", true),
    ("flag-ki", "\u{1f1f0}\u{1f1ee}", true),
    ("flag-km", "\u{1f1f0}\u{1f1f2}", true),
    ("flag-kn", "\u{1f1f0}\u{1f1f3}", true),
    ("flag-kp", "\u{1f1f0}\u{1f1f5}", true),
    ("flag-kr", "\u{1f1f0}\u{1f1f7}", false),
    ("flag-kw", "\u{1f1f0}\u{1f1fc}", true),
    ("flag-ky", "\u{1f1f0}\u{1f1fe}", true),
    ("flag-kz", "\u{1f1f0}\u{1f1ff}", true),
    ("flag-la", "\u{1f1f1}\u{1f1e6}", true),
    ("flag-lb", "\u{1f1f1}\u{1f1e7}", true),
    ("flag-lc", "\u{1f1f1}\u{1f1e8}", true),
    ("flag-li", "\u{1f1f1}\u{1f1ee}", true),
    ("flag-lk", "\u{1f1f1}\u{1f1f0}", true),
    ("flag-lr", "\u{1f1f1}\u{1f1f7}", true),
    ("flag-ls", "\u{1f1f1}\u{1f1f8}", true),
    ("flag-lt", "\u{1f1f1}\u{1f1f9}", true),
    ("flag-lu", "\u{1f1f1}\u{1f1fa}", true),
    ("flag-lv", "\u{1f1f1}\u{1f1fb}", true),
    ("flag-ly", "\u{1f1f1}\u{1f1fe}", true),
    ("flag-ma", "\u{1f1f2}\u{1f1e6}", true),
    ("flag-mc", "\u{1f1f2}\u{1f1e8}", true),
    ("flag-md", "\u{1f1f2}\u{1f1e9}", true),
    ("flag-me", "\u{1f1f2}\u{1f1ea}", true),
    ("flag-mf", "\u{1f1f2}\u{1f1eb}", true),
    ("flag-mg", "\u{1f1f2}\u{1f1ec}", true),
    ("flag-mh", "\u{1f1f2}\u{1f1ed}", true),
    ("flag-mk", "\u{1f1f2}\u{1f1f0}", true),
    ("flag-ml", "\u{1f1f2}\u{1f1f1}", true),
    ("flag-mm", "\u{1f1f2}\u{1f1f2}", true),
    ("flag-mn", "\u{1f1f2}\u{1f1f3}", true),
    ("flag-mo", "\u{1f1f2}\u{1f1f4}", true),
    ("flag-mp", "\u{1f1f2}\u{1f1f5}", true),
    ("flag-mq", "\u{1f1f2}\u{1f1f6}", true),
    ("flag-mr", "\u{1f1f2}\u{1f1f7}", true),
    ("flag-ms", "\u{1f1f2}\u{1f1f8}", true),
    ("flag-mt", "\u{1f1f2}\u{1f1f9}", true),
    ("flag-mu", "\u{1f1f2}\u{1f1fa}", true),
    ("flag-mv", "\u{1f1f2}\u{1f1fb}", true),
    ("flag-mw", "\u{1f1f2}\u{1f1fc}", true),
    ("flag-mx", "\u{1f1f2}\u{1f1fd}", true),
    ("flag-my", "\u{1f1f2}\u{1f1fe}", true),
    ("flag-mz", "\u{1f1f2}\u{1f1ff}", true),
    ("flag-na", "\u{1f1f3}\u{1f1e6}", true),
    ("flag-nc", "\u{1f1f3}\u{1f1e8}", true),
    ("flag-ne", "\u{1f1f3}\u{1f1ea}", true),
    ("flag-nf", "\u{1f1f3}\u{1f1eb}", true),
    ("flag-ng", "\u{1f1f3}\u{1f1ec}", true),
    ("flag-ni", "\u{1f1f3}\u{1f1ee}", true),
    ("flag-nl", "\u{1f1f3}\u{1f1f1}", true),
    ("flag-no", "\u{1f1f3}\u{1f1f4}", true),
    ("flag-np", "\u{1f1f3}\u{1f1f5}", true),
    ("flag-nr", "\u{1f1f3}\u{1f1f7}", true),
    ("flag-nu", "\u{1f1f3}\u{1f1fa}", true),
    ("flag-nz", "\u{1f1f3}\u{1f1ff}", true),
    ("flag-om", "\u{1f1f4}\u{1f1f2}", true),
    ("flag-pa", "\u{1f1f5}\u{1f1e6}", true),
    ("flag-pe", "\u{1f1f5}\u{1f1ea}", true),
    ("flag-pf", "\u{1f1f5}\u{1f1eb}", true),
    ("flag-pg", "\u{1f1f5}\u{1f1ec}", true),
    ("flag-ph", "\u{1f1f5}\u{1f1ed}", true),
    ("flag-pk", "\u{1f1f5}\u{1f1f0}", true),
    ("flag-pl", "\u{1f1f5}\u{1f1f1}", true),
    ("flag-pm", "\u{1f1f5}\u{1f1f2}", true),
    ("flag-pn", "\u{1f1f5}\u{1f1f3}", true),
    ("flag-pr", "\u{1f1f5}\u{1f1f7}", true),
    ("flag-ps", "\u{1f1f5}\u{1f1f8}", true),
    ("flag-pt", "\u{1f1f5}\u{1f1f9}", true),
    ("flag-pw", "\u{1f1f5}\u{1f1fc}", true),
    ("flag-py", "\u{1f1f5}\u{1f1fe}", true),
    ("flag-qa", "\u{1f1f6}\u{1f1e6}", true),
    ("flag-re", "\u{1f1f7}\u{1f1ea}", true),
    ("flag-ro", "\u{1f1f7}\u{1f1f4}", true),
    ("flag-rs", "\u{1f1f7}\u{1f1f8}", true),
    ("flag-ru", "\u{1f1f7}\u{1f1fa}", false),
    ("flag-rw", "\u{1f1f7}\u{1f1fc}", true),
    ("flag-sa", "\u{1f1f8}\u{1f1e6}", true),
    ("flag-sark", "\u{1f1e8}\u{1f1f6}", true),
    ("flag-sb", "\u{1f1f8}\u{1f1e7}", true),
    ("flag-sc", "\u{1f1f8}\u{1f1e8}", true),
    ("flag-scotland", "\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}", true),
    ("flag-sd", "\u{1f1f8}\u{1f1e9}", true),
    ("flag-se", "\u{1f1f8}\u{1f1ea}", true),
    ("flag-sg", "\u{1f1f8}\u{1f1ec}", true),
    ("flag-sh", "\u{1f1f8}\u{1f1ed}", true),
    ("flag-si", "\u{1f1f8}\u{1f1ee}", true),
    ("flag-sj", "\u{1f1f8}\u{1f1ef}", true),
    ("flag-sk", "\u{1f1f8}\u{1f1f0}", true),
    ("flag-sl", "\u{1f1f8}\u{1f1f1}", true),
    ("flag-sm", "\u{1f1f8}\u{1f1f2}", true),
    ("flag-sn", "\u{1f1f8}\u{1f1f3}", true),
    ("flag-so", "\u{1f1f8}\u{1f1f4}", true),
    ("flag-sr", "\u{1f1f8}\u{1f1f7}", true),
    ("flag-ss", "\u{1f1f8}\u{1f1f8}", true),
    ("flag-st", "\u{1f1f8}\u{1f1f9}", true),
    ("flag-sv", "\u{1f1f8}\u{1f1fb}", true),
    ("flag-sx", "\u{1f1f8}\u{1f1fd}", true),
    ("flag-sy", "\u{1f1f8}\u{1f1fe}", true),
    ("flag-sz", "\u{1f1f8}\u{1f1ff}", true),
    ("flag-ta", "\u{1f1f9}\u{1f1e6}", true),
    ("flag-tc", "\u{1f1f9}\u{1f1e8}", true),
    ("flag-td", "\u{1f1f9}\u{1f1e9}", true),
    ("flag-tf", "\u{1f1f9}\u{1f1eb}", true),
    ("flag-tg", "\u{1f1f9}\u{1f1ec}", true),
    ("flag-th", "\u{1f1f9}\u{1f1ed}", true),
    ("flag-tj", "\u{1f1f9}\u{1f1ef}", true),
    ("flag-tk", "\u{1f1f9}\u{1f1f0}", true),
    ("flag-tl", "\u{1f1f9}\u{1f1f1}", true),
    ("flag-tm", "\u{1f1f9}\u{1f1f2}", true),
    ("flag-tn", "\u{1f1f9}\u{1f1f3}", true),
    ("flag-to", "\u{1f1f9}\u{1f1f4}", true),
    ("flag-tr", "\u{1f1f9}\u{1f1f7}", true),
    ("flag-tt", "\u{1f1f9}\u{1f1f9}", true),
    ("flag-tv", "\u{1f1f9}\u{1f1fb}", true),
    ("flag-tw", "\u{1f1f9}\u{1f1fc}", true),
    ("flag-tz", "\u{1f1f9}\u{1f1ff}", true),
    ("flag-ua", "\u{1f1fa}\u{1f1e6}", true),
    ("flag-ug", "\u{1f1fa}\u{1f1ec}", true),
    ("flag-um", "\u{1f1fa}\u{1f1f2}", true),
    ("flag-un", "\u{1f1fa}\u{1f1f3}", true),
    ("flag-us", "\u{1f1fa}\u{1f1f8}", false),
    ("flag-uy", "\u{1f1fa}\u{1f1fe}", true),
    ("flag-uz", "\u{1f1fa}\u{1f1ff}", true),
    ("flag-va", "\u{1f1fb}\u{1f1e6}", true),
    ("flag-vc", "\u{1f1fb}\u{1f1e8}", true),
    ("flag-ve", "\u{1f1fb}\u{1f1ea}", true),
    ("flag-vg", "\u{1f1fb}\u{1f1ec}", true),
    ("flag-vi", "\u{1f1fb}\u{1f1ee}", true),
    ("flag-vn", "\u{1f1fb}\u{1f1f3}", true),
    ("flag-vu", "\u{1f1fb}\u{1f1fa}", true),
    ("flag-wales", "\u{1f3f4}\u{e0067}\u{e0062}\u{e0077}\u{e006c}\u{e0073}\u{e007f}", true),
    ("flag-wf", "\u{1f1fc}\u{1f1eb}", true),
    ("flag-ws", "\u{1f1fc}\u{1f1f8}", true),
    ("flag-xk", "\u{1f1fd}\u{1f1f0}", true),
    ("flag-ye", "\u{1f1fe}\u{1f1ea}", true),
    ("flag-yt", "\u{1f1fe}\u{1f1f9}", true),
    ("flag-za", "\u{1f1ff}\u{1f1e6}", true),
    ("flag-zm", "\u{1f1ff}\u{1f1f2}", true),
    ("flag-zw", "\u{1f1ff}\u{1f1fc}", true),
    ("frame_with_picture", "\u{1f5bc}\u{fe0f}", true),
    ("giraffe_face", "\u{1f992}", true),
    ("glass_of_milk", "\u{1f95b}", true),
    ("golfer", "\u{1f3cc}\u{fe0f}", true),
    ("grinning_face_with_one_large_and_one_small_eye", "\u{1f92a}", false),
    ("grinning_face_with_star_eyes", "\u{1f929}", false),
    ("guardsman", "\u{1f482}", true),
    ("hand_with_index_and_middle_fingers_crossed", "\u{1f91e}", false),
    ("handball", "\u{1f93e}", true),
    ("harp", "\u{1fa89}", true),
    ("head_shaking_horizontally", "\u{1f642}\u{200d}\u{2194}\u{fe0f}", true),
    ("head_shaking_vertically", "\u{1f642}\u{200d}\u{2195}\u{fe0f}", true),
    ("heavy_heart_exclamation_mark_ornament", "\u{2763}\u{fe0f}", true),
    ("helmet_with_white_cross", "\u{26d1}\u{fe0f}", true),
    ("house_buildings", "\u{1f3d8}\u{fe0f}", true),
    ("hugging_face", "\u{1f917}", true),
    ("i_love_you_hand_sign", "\u{1f91f}", true),
    ("ice_hockey_stick_and_puck", "\u{1f3d2}", true),
    ("information_desk_person", "\u{1f481}", true),
    ("juggling", "\u{1f939}", true),
    ("keycap_star", "\u{2a}\u{fe0f}\u{20e3}", true),
    ("kiwifruit", "\u{1f95d}", true),
    ("knife_fork_plate", "\u{1f37d}\u{fe0f}", true),
    ("ladybug", "\u{1f41e}", true),
    ("large_blue_square", "\u{1f7e6}", true),
    ("large_brown_circle", "\u{1f7e4}", true),
    ("large_brown_square", "\u{1f7eb}", true),
    ("large_green_circle", "\u{1f7e2}", true),
    ("large_green_square", "\u{1f7e9}", true),
    ("large_orange_circle", "\u{1f7e0}", true),
    ("large_orange_square", "\u{1f7e7}", true),
    ("large_purple_circle", "\u{1f7e3}", true),
    ("large_purple_square", "\u{1f7ea}", true),
    ("large_red_square", "\u{1f7e5}", true),
    ("large_yellow_circle", "\u{1f7e1}", true),
    ("large_yellow_square", "\u{1f7e8}", true),
    ("leafless_tree", "\u{1fabe}", true),
    ("left-facing_fist", "\u{1f91b}", true),
    ("lightning", "\u{1f329}\u{fe0f}", true),
    ("lightning_cloud", "\u{1f329}\u{fe0f}", false),
    ("lime", "\u{1f34b}\u{200d}\u{1f7e9}", true),
    ("linked_paperclips", "\u{1f587}\u{fe0f}", true),
    ("lion_face", "\u{1f981}", true),
    ("lower_left_ballpoint_pen", "\u{1f58a}\u{fe0f}", true),
    ("lower_left_crayon", "\u{1f58d}\u{fe0f}", true),
    ("lower_left_fountain_pen", "\u{1f58b}\u{fe0f}", true),
    ("lower_left_paintbrush", "\u{1f58c}\u{fe0f}", true),
    ("male-artist", "\u{1f468}\u{200d}\u{1f3a8}", true),
    ("male-astronaut", "\u{1f468}\u{200d}\u{1f680}", true),
    ("male-construction-worker", "\u{1f477}\u{200d}\u{2642}\u{fe0f}", true),
    ("male-cook", "\u{1f468}\u{200d}\u{1f373}", true),
    ("male-detective", "\u{1f575}\u{fe0f}\u{200d}\u{2642}\u{fe0f}", true),
    ("male-doctor", "\u{1f468}\u{200d}\u{2695}\u{fe0f}", true),
    ("male-factory-worker", "\u{1f468}\u{200d}\u{1f3ed}", true),
    ("male-farmer", "\u{1f468}\u{200d}\u{1f33e}", true),
    ("male-firefighter", "\u{1f468}\u{200d}\u{1f692}", true),
    ("male-guard", "\u{1f482}\u{200d}\u{2642}\u{fe0f}", true),
    ("male-judge", "\u{1f468}\u{200d}\u{2696}\u{fe0f}", true),
    ("male-mechanic", "\u{1f468}\u{200d}\u{1f527}", true),
    ("male-office-worker", "\u{1f468}\u{200d}\u{1f4bc}", true),
    ("male-pilot", "\u{1f468}\u{200d}\u{2708}\u{fe0f}", true),
    ("male-police-officer", "\u{1f46e}\u{200d}\u{2642}\u{fe0f}", true),
    ("male-scientist", "\u{1f468}\u{200d}\u{1f52c}", true),
    ("male-singer", "\u{1f468}\u{200d}\u{1f3a4}", true),
    ("male-student", "\u{1f468}\u{200d}\u{1f393}", true),
    ("male-teacher", "\u{1f468}\u{200d}\u{1f3eb}", true),
    ("male-technologist", "\u{1f468}\u{200d}\u{1f4bb}", true),
    ("male_elf", "\u{1f9dd}\u{200d}\u{2642}\u{fe0f}", true),
    ("male_fairy", "\u{1f9da}\u{200d}\u{2642}\u{fe0f}", true),
    ("male_genie", "\u{1f9de}\u{200d}\u{2642}\u{fe0f}", true),
    ("male_mage", "\u{1f9d9}\u{200d}\u{2642}\u{fe0f}", true),
    ("male_superhero", "\u{1f9b8}\u{200d}\u{2642}\u{fe0f}", true),
    ("male_supervillain", "\u{1f9b9}\u{200d}\u{2642}\u{fe0f}", true),
    ("male_vampire", "\u{1f9db}\u{200d}\u{2642}\u{fe0f}", true),
    ("male_zombie", "\u{1f9df}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-biking", "\u{1f6b4}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-bouncing-ball", "\u{26f9}\u{fe0f}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-bowing", "\u{1f647}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-boy", "\u{1f468}\u{200d}\u{1f466}", true),
    ("man-boy-boy", "\u{1f468}\u{200d}\u{1f466}\u{200d}\u{1f466}", true),
    ("man-cartwheeling", "\u{1f938}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-facepalming", "\u{1f926}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-frowning", "\u{1f64d}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-gesturing-no", "\u{1f645}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-gesturing-ok", "\u{1f646}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-getting-haircut", "\u{1f487}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-getting-massage", "\u{1f486}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-girl", "\u{1f468}\u{200d}\u{1f467}", true),
    ("man-girl-boy", "\u{1f468}\u{200d}\u{1f467}\u{200d}\u{1f466}", true),
    ("man-girl-girl", "\u{1f468}\u{200d}\u{1f467}\u{200d}\u{1f467}", true),
    ("man-golfing", "\u{1f3cc}\u{fe0f}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-heart-man", "\u{1f468}\u{200d}\u{2764}\u{fe0f}\u{200d}\u{1f468}", true),
    ("man-juggling", "\u{1f939}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-kiss-man", "\u{1f468}\u{200d}\u{2764}\u{fe0f}\u{200d}\u{1f48b}\u{200d}\u{1f468}", true),
    ("man-lifting-weights", "\u{1f3cb}\u{fe0f}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-man-boy", "\u{1f468}\u{200d}\u{1f468}\u{200d}\u{1f466}", true),
    ("man-man-boy-boy", "\u{1f468}\u{200d}\u{1f468}\u{200d}\u{1f466}\u{200d}\u{1f466}", true),
    ("man-man-girl", "\u{1f468}\u{200d}\u{1f468}\u{200d}\u{1f467}", true),
    ("man-man-girl-boy", "\u{1f468}\u{200d}\u{1f468}\u{200d}\u{1f467}\u{200d}\u{1f466}", true),
    ("man-man-girl-girl", "\u{1f468}\u{200d}\u{1f468}\u{200d}\u{1f467}\u{200d}\u{1f467}", true),
    ("man-mountain-biking", "\u{1f6b5}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-playing-handball", "\u{1f93e}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-playing-water-polo", "\u{1f93d}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-pouting", "\u{1f64e}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-raising-hand", "\u{1f64b}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-rowing-boat", "\u{1f6a3}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-running", "\u{1f3c3}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-shrugging", "\u{1f937}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-surfing", "\u{1f3c4}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-swimming", "\u{1f3ca}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-tipping-hand", "\u{1f481}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-walking", "\u{1f6b6}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-wearing-turban", "\u{1f473}\u{200d}\u{2642}\u{fe0f}", true),
    ("man-with-bunny-ears-partying", "\u{1f46f}\u{200d}\u{2642}\u{fe0f}", false),
    ("man-woman-boy", "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f466}", true),
    ("man-woman-boy-boy", "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f466}\u{200d}\u{1f466}", true),
    ("man-woman-girl", "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}", true),
    ("man-woman-girl-boy", "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f466}", true),
    ("man-woman-girl-girl", "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f467}", true),
    ("man-wrestling", "\u{1f93c}\u{200d}\u{2642}\u{fe0f}", true),
    ("man_and_woman_holding_hands", "\u{1f46b}", true),
    ("man_climbing", "\u{1f9d7}\u{200d}\u{2642}\u{fe0f}", true),
    ("man_in_business_suit_levitating", "\u{1f574}\u{fe0f}", true),
    ("man_in_lotus_position", "\u{1f9d8}\u{200d}\u{2642}\u{fe0f}", true),
    ("man_in_manual_wheelchair_facing_right", "\u{1f468}\u{200d}\u{1f9bd}\u{200d}\u{27a1}\u{fe0f}", true),
    ("man_in_motorized_wheelchair_facing_right", "\u{1f468}\u{200d}\u{1f9bc}\u{200d}\u{27a1}\u{fe0f}", true),
    ("man_in_steamy_room", "\u{1f9d6}\u{200d}\u{2642}\u{fe0f}", true),
    ("man_kneeling", "\u{1f9ce}\u{200d}\u{2642}\u{fe0f}", true),
    ("man_kneeling_facing_right", "\u{1f9ce}\u{200d}\u{2642}\u{fe0f}\u{200d}\u{27a1}\u{fe0f}", true),
    ("man_running_facing_right", "\u{1f3c3}\u{200d}\u{2642}\u{fe0f}\u{200d}\u{27a1}\u{fe0f}", true),
    ("man_standing", "\u{1f9cd}\u{200d}\u{2642}\u{fe0f}", true),
    ("man_walking_facing_right", "\u{1f6b6}\u{200d}\u{2642}\u{fe0f}\u{200d}\u{27a1}\u{fe0f}", true),
    ("man_with_beard", "\u{1f9d4}\u{200d}\u{2642}\u{fe0f}", true),
    ("man_with_turban", "\u{1f473}", true),
    ("man_with_white_cane_facing_right", "\u{1f468}\u{200d}\u{1f9af}\u{200d}\u{27a1}\u{fe0f}", true),
    ("mate_drink", "\u{1f9c9}", true),
    ("medal", "\u{1f396}\u{fe0f}", true),
    ("men-with-bunny-ears-partying", "\u{1f46f}\u{200d}\u{2642}\u{fe0f}", true),
    ("men_holding_hands", "\u{1f46c}", false),
    ("menorah_with_nine_branches", "\u{1f54e}", true),
    ("mostly_sunny", "\u{1f324}\u{fe0f}", true),
    ("mother_christmas", "\u{1f936}", false),
    ("octagonal_sign", "\u{1f6d1}", true),
    ("ok_woman", "\u{1f646}", true),
    ("om_symbol", "\u{1f549}\u{fe0f}", true),
    ("one-piece_swimsuit", "\u{1fa71}", true),
    ("partly_sunny_rain", "\u{1f326}\u{fe0f}", true),
    ("person_climbing", "\u{1f9d7}", true),
    ("person_doing_cartwheel", "\u{1f938}", true),
    ("person_frowning", "\u{1f64d}", true),
    ("person_in_lotus_position", "\u{1f9d8}", true),
    ("person_in_manual_wheelchair_facing_right", "\u{1f9d1}\u{200d}\u{1f9bd}\u{200d}\u{27a1}\u{fe0f}", true),
    ("person_in_motorized_wheelchair_facing_right", "\u{1f9d1}\u{200d}\u{1f9bc}\u{200d}\u{27a1}\u{fe0f}", true),
    ("person_in_steamy_room", "\u{1f9d6}", true),
    ("person_kneeling_facing_right", "\u{1f9ce}\u{200d}\u{27a1}\u{fe0f}", true),
    ("person_running_facing_right", "\u{1f3c3}\u{200d}\u{27a1}\u{fe0f}", true),
    ("person_walking_facing_right", "\u{1f6b6}\u{200d}\u{27a1}\u{fe0f}", true),
    ("person_with_ball", "\u{26f9}\u{fe0f}", true),
    ("person_with_blond_hair", "\u{1f471}", true),
    ("person_with_headscarf", "\u{1f9d5}", true),
    ("person_with_pouting_face", "\u{1f64e}", true),
    ("person_with_white_cane_facing_right", "\u{1f9d1}\u{200d}\u{1f9af}\u{200d}\u{27a1}\u{fe0f}", true),
    ("phoenix", "\u{1f426}\u{200d}\u{1f525}", true),
    ("racing_motorcycle", "\u{1f3cd}\u{fe0f}", true),
    ("radioactive_sign", "\u{2622}\u{fe0f}", true),
    ("rain_cloud", "\u{1f327}\u{fe0f}", true),
    ("rainbow-flag", "\u{1f3f3}\u{fe0f}\u{200d}\u{1f308}", true),
    ("red_haired_person", "\u{1f9d1}\u{200d}\u{1f9b0}", true),
    ("reversed_hand_with_middle_finger_extended", "\u{1f595}", false),
    ("right-facing_fist", "\u{1f91c}", true),
    ("robot_face", "\u{1f916}", true),
    ("rolled_up_newspaper", "\u{1f5de}\u{fe0f}", true),
    ("rolling_on_the_floor_laughing", "\u{1f923}", true),
    ("root_vegetable", "\u{1fadc}", true),
    ("satellite", "\u{1f6f0}\u{fe0f}", true),
    ("satellite_antenna", "\u{1f4e1}", true),
    ("scales", "\u{2696}\u{fe0f}", true),
    ("scooter", "\u{1f6f4}", true),
    ("second_place_medal", "\u{1f948}", true),
    ("serious_face_with_symbols_covering_mouth", "\u{1f92c}", false),
    ("shocked_face_with_exploding_head", "\u{1f92f}", false),
    ("shopping_bags", "\u{1f6cd}\u{fe0f}", true),
    ("shopping_trolley", "\u{1f6d2}", true),
    ("shovel", "\u{1fa8f}", true),
    ("sign_of_the_horns", "\u{1f918}", false),
    ("skin-tone-2", "\u{1f3fb}", true),
    ("skin-tone-3", "\u{1f3fc}", true),
    ("skin-tone-4", "\u{1f3fd}", true),
    ("skin-tone-5", "\u{1f3fe}", true),
    ("skin-tone-6", "\u{1f3ff}", true),
    ("sleeping_accommodation", "\u{1f6cc}", true),
    ("sleuth_or_spy", "\u{1f575}\u{fe0f}", true),
    ("smiling_face_with_3_hearts", "\u{1f970}", true),
    ("smiling_face_with_smiling_eyes_and_hand_covering_mouth", "\u{1f92d}", false),
    ("snow_capped_mountain", "\u{1f3d4}\u{fe0f}", true),
    ("snow_cloud", "\u{1f328}\u{fe0f}", true),
    ("snowman", "\u{2603}\u{fe0f}", true),
    ("snowman_without_snow", "\u{26c4}", true),
    ("speaking_head_in_silhouette", "\u{1f5e3}\u{fe0f}", true),
    ("spiral_calendar_pad", "\u{1f5d3}\u{fe0f}", true),
    ("spiral_note_pad", "\u{1f5d2}\u{fe0f}", true),
    ("splatter", "\u{1fadf}", true),
    ("spock-hand", "\u{1f596}", true),
    ("sports_medal", "\u{1f3c5}", true),
    ("staff_of_aesculapius", "\u{2695}\u{fe0f}", false),
    ("star-struck", "\u{1f929}", true),
    ("sun_behind_cloud", "\u{1f325}\u{fe0f}", false),
    ("sun_small_cloud", "\u{1f324}\u{fe0f}", false),
    ("table_tennis_paddle_and_ball", "\u{1f3d3}", true),
    ("the_horns", "\u{1f918}", true),
    ("thinking_face", "\u{1f914}", true),
    ("third_place_medal", "\u{1f949}", true),
    ("three_button_mouse", "\u{1f5b1}\u{fe0f}", true),
    ("thunder_cloud_and_rain", "\u{26c8}\u{fe0f}", true),
    ("tornado_cloud", "\u{1f32a}\u{fe0f}", false),
    ("umbrella", "\u{2602}\u{fe0f}", true),
    ("umbrella_on_ground", "\u{26f1}\u{fe0f}", true),
    ("umbrella_with_rain_drops", "\u{2614}", true),
    ("unicorn_face", "\u{1f984}", true),
    ("waving_black_flag", "\u{1f3f4}", true),
    ("waving_white_flag", "\u{1f3f3}\u{fe0f}", true),
    ("weight_lifter", "\u{1f3cb}\u{fe0f}", true),
    ("white_frowning_face", "\u{2639}\u{fe0f}", true),
    ("white_haired_person", "\u{1f9d1}\u{200d}\u{1f9b3}", true),
    ("wind_blowing_face", "\u{1f32c}\u{fe0f}", true),
    ("woman-biking", "\u{1f6b4}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-bouncing-ball", "\u{26f9}\u{fe0f}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-bowing", "\u{1f647}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-boy", "\u{1f469}\u{200d}\u{1f466}", true),
    ("woman-boy-boy", "\u{1f469}\u{200d}\u{1f466}\u{200d}\u{1f466}", true),
    ("woman-cartwheeling", "\u{1f938}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-facepalming", "\u{1f926}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-frowning", "\u{1f64d}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-gesturing-no", "\u{1f645}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-gesturing-ok", "\u{1f646}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-getting-haircut", "\u{1f487}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-getting-massage", "\u{1f486}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-girl", "\u{1f469}\u{200d}\u{1f467}", true),
    ("woman-girl-boy", "\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f466}", true),
    ("woman-girl-girl", "\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f467}", true),
    ("woman-golfing", "\u{1f3cc}\u{fe0f}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-heart-man", "\u{1f469}\u{200d}\u{2764}\u{fe0f}\u{200d}\u{1f468}", true),
    ("woman-heart-woman", "\u{1f469}\u{200d}\u{2764}\u{fe0f}\u{200d}\u{1f469}", true),
    ("woman-juggling", "\u{1f939}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-kiss-man", "\u{1f469}\u{200d}\u{2764}\u{fe0f}\u{200d}\u{1f48b}\u{200d}\u{1f468}", true),
    ("woman-kiss-woman", "\u{1f469}\u{200d}\u{2764}\u{fe0f}\u{200d}\u{1f48b}\u{200d}\u{1f469}", true),
    ("woman-lifting-weights", "\u{1f3cb}\u{fe0f}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-mountain-biking", "\u{1f6b5}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-playing-handball", "\u{1f93e}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-playing-water-polo", "\u{1f93d}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-pouting", "\u{1f64e}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-raising-hand", "\u{1f64b}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-rowing-boat", "\u{1f6a3}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-running", "\u{1f3c3}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-shrugging", "\u{1f937}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-surfing", "\u{1f3c4}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-swimming", "\u{1f3ca}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-tipping-hand", "\u{1f481}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-walking", "\u{1f6b6}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-wearing-turban", "\u{1f473}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman-with-bunny-ears-partying", "\u{1f46f}\u{200d}\u{2640}\u{fe0f}", false),
    ("woman-woman-boy", "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f466}", true),
    ("woman-woman-boy-boy", "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f466}\u{200d}\u{1f466}", true),
    ("woman-woman-girl", "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}", true),
    ("woman-woman-girl-boy", "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f466}", true),
    ("woman-woman-girl-girl", "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}\u{200d}\u{1f467}", true),
    ("woman-wrestling", "\u{1f93c}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman_and_man_holding_hands", "\u{1f46b}", false),
    ("woman_climbing", "\u{1f9d7}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman_in_lotus_position", "\u{1f9d8}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman_in_manual_wheelchair_facing_right", "\u{1f469}\u{200d}\u{1f9bd}\u{200d}\u{27a1}\u{fe0f}", true),
    ("woman_in_motorized_wheelchair_facing_right", "\u{1f469}\u{200d}\u{1f9bc}\u{200d}\u{27a1}\u{fe0f}", true),
    ("woman_in_steamy_room", "\u{1f9d6}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman_kneeling", "\u{1f9ce}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman_kneeling_facing_right", "\u{1f9ce}\u{200d}\u{2640}\u{fe0f}\u{200d}\u{27a1}\u{fe0f}", true),
    ("woman_running_facing_right", "\u{1f3c3}\u{200d}\u{2640}\u{fe0f}\u{200d}\u{27a1}\u{fe0f}", true),
    ("woman_standing", "\u{1f9cd}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman_walking_facing_right", "\u{1f6b6}\u{200d}\u{2640}\u{fe0f}\u{200d}\u{27a1}\u{fe0f}", true),
    ("woman_with_beard", "\u{1f9d4}\u{200d}\u{2640}\u{fe0f}", true),
    ("woman_with_white_cane_facing_right", "\u{1f469}\u{200d}\u{1f9af}\u{200d}\u{27a1}\u{fe0f}", true),
    ("womans_flat_shoe", "\u{1f97f}", true),
    ("women-with-bunny-ears-partying", "\u{1f46f}\u{200d}\u{2640}\u{fe0f}", true),
    ("women_holding_hands", "\u{1f46d}", false),
    ("wrestlers", "\u{1f93c}", true),
    ("x-ray", "\u{1fa7b}", true),
    ("yo-yo", "\u{1fa80}", true),
    ("zebra_face", "\u{1f993}", true),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cache() -> (tempfile::TempDir, EmojiCache) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        (dir, EmojiCache::new(store))
    }

    fn list(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn c(cache: &EmojiCache, raw: &str) -> Option<String> {
        cache.canonical(raw)
    }

    #[test]
    fn strip_trims_colons_and_skin_tones() {
        assert_eq!(strip(":palm_tree:"), "palm_tree");
        assert_eq!(strip(" palm_tree "), "palm_tree");
        assert_eq!(strip(":+1::skin-tone-2:"), "+1");
        assert_eq!(strip("+1::skin-tone-2"), "+1");
        assert_eq!(strip(":people_holding_hands::skin-tone-2-3:"), "people_holding_hands");
        assert_eq!(strip(":Wave::SKIN-TONE-6:"), "wave");
        assert_eq!(strip(":skin-tone-2:"), "skin-tone-2");
        assert_eq!(strip("🌴"), "🌴");
    }

    #[test]
    fn standard_names() {
        let (_d, cache) = cache();
        for name in ["palm_tree", "slightly_smiling_face", "white_check_mark", "tada", "heart", "rocket"] {
            assert_eq!(c(&cache, name).as_deref(), Some(name), "{name}");
            assert_eq!(c(&cache, &format!(":{name}:")).as_deref(), Some(name), "{name}");
        }
        assert_eq!(c(&cache, "PALM_TREE").as_deref(), Some("palm_tree"));
        assert_eq!(cache.unicode("palm_tree").as_deref(), Some("🌴"));
        assert_eq!(cache.image_url("palm_tree"), None);
    }

    #[test]
    fn synonyms_share_one_canonical() {
        let (_d, cache) = cache();
        assert_eq!(c(&cache, "thumbsup").as_deref(), Some("+1"));
        assert_eq!(c(&cache, ":+1:").as_deref(), Some("+1"));
        assert_eq!(c(&cache, "thumbsdown"), c(&cache, "-1"));
        assert_eq!(c(&cache, "satisfied"), c(&cache, "laughing"));
        assert_eq!(c(&cache, "poop"), c(&cache, "hankey"));
        assert_eq!(cache.unicode("+1").as_deref(), Some("👍"));
        assert_eq!(cache.unicode("thumbsup").as_deref(), Some("👍"));
    }

    #[test]
    fn slack_names_gemoji_lacks() {
        let (_d, cache) = cache();
        for (input, want) in [
            ("thinking_face", "thinking_face"),
            ("thinking", "thinking_face"),
            ("hugging_face", "hugging_face"),
            ("hugs", "hugging_face"),
            ("face_with_rolling_eyes", "face_with_rolling_eyes"),
            ("robot_face", "robot_face"),
            ("spock-hand", "spock-hand"),
            ("man-woman-boy", "man-woman-boy"),
            ("flag-us", "us"),
            ("flag-de", "de"),
            ("flag-ac", "flag-ac"),
            ("skin-tone-3", "skin-tone-3"),
            ("facepunch", "facepunch"),
            ("punch", "facepunch"),
        ] {
            assert_eq!(c(&cache, input).as_deref(), Some(want), "{input}");
        }
        assert_eq!(cache.unicode("thinking_face").as_deref(), Some("🤔"));
        assert_eq!(cache.unicode("skin-tone-2").as_deref(), Some("\u{1f3fb}"));
    }

    #[test]
    fn slack_meaning_wins_where_gemoji_differs() {
        let (_d, cache) = cache();
        assert_eq!(cache.unicode("satellite").as_deref(), Some("\u{1f6f0}\u{fe0f}"));
        assert_eq!(c(&cache, "🛰️").as_deref(), Some("satellite"));
        assert_eq!(c(&cache, "📡").as_deref(), Some("satellite_antenna"));
        assert_eq!(c(&cache, "☔").as_deref(), Some("umbrella_with_rain_drops"));
        assert_eq!(c(&cache, "☂️").as_deref(), Some("umbrella"));
    }

    #[test]
    fn skin_tones_are_ignored() {
        let (_d, cache) = cache();
        assert_eq!(c(&cache, ":+1::skin-tone-2:").as_deref(), Some("+1"));
        assert_eq!(c(&cache, "thumbsup::skin-tone-5").as_deref(), Some("+1"));
        assert_eq!(c(&cache, ":wave::skin-tone-6:").as_deref(), Some("wave"));
        assert_eq!(c(&cache, "👍🏽").as_deref(), Some("+1"));
        assert_eq!(c(&cache, "👋🏿").as_deref(), Some("wave"));
    }

    #[test]
    fn unicode_input() {
        let (_d, cache) = cache();
        assert_eq!(c(&cache, "🌴").as_deref(), Some("palm_tree"));
        assert_eq!(c(&cache, ":🌴:").as_deref(), Some("palm_tree"));
        assert_eq!(c(&cache, "👍").as_deref(), Some("+1"));
        assert_eq!(c(&cache, "🤔").as_deref(), Some("thinking_face"));
        assert_eq!(c(&cache, "\u{2764}").as_deref(), Some("heart"));
        assert_eq!(c(&cache, "\u{2764}\u{fe0f}").as_deref(), Some("heart"));
        assert_eq!(c(&cache, "🇺🇸").as_deref(), Some("us"));
        assert_eq!(c(&cache, "👨‍👩‍👦").as_deref(), Some("man-woman-boy"));
        assert_eq!(c(&cache, "🏻").as_deref(), Some("skin-tone-2"));
        assert_eq!(c(&cache, "\u{24c2}\u{fe0f}").as_deref(), Some("m"));
        assert_eq!(c(&cache, "\u{24c2}").as_deref(), Some("m"));
        assert_eq!(c(&cache, "\u{2139}").as_deref(), Some("information_source"));
    }

    #[test]
    fn every_standard_name_is_stable() {
        let (_d, cache) = cache();
        let names = SLACK_NAMES.iter().map(|(n, _, _)| *n).chain(emojis::iter().flat_map(|e| e.shortcodes()));
        for name in names {
            let canon = c(&cache, name).unwrap_or_else(|| panic!("{name} unknown"));
            assert_eq!(c(&cache, &canon).as_deref(), Some(canon.as_str()), "{name} → {canon} is not a fixed point");
            let u = cache.unicode(&canon).unwrap_or_else(|| panic!("{canon} has no unicode"));
            assert_eq!(c(&cache, &u).as_deref(), Some(canon.as_str()), "{canon} → {u} does not come back");
        }
    }

    #[test]
    fn custom_emoji_and_aliases() {
        let (_d, cache) = cache();
        cache
            .replace_all(&list(&[
                ("hackshark", "https://emoji.slack-edge.com/T1/hackshark/abc.png"),
                ("hackhaj", "alias:hackshark"),
                ("haj", "alias:hackhaj"),
                ("yes", "alias:white_check_mark"),
                ("approve", "alias:thumbsup"),
                ("orphan", "alias:gone_forever"),
            ]))
            .unwrap();
        assert_eq!(cache.len(), 6);
        assert_eq!(c(&cache, ":hackshark:").as_deref(), Some("hackshark"));
        assert_eq!(c(&cache, ":hackhaj:").as_deref(), Some("hackshark"));
        assert_eq!(c(&cache, "haj").as_deref(), Some("hackshark"));
        assert_eq!(c(&cache, "yes").as_deref(), Some("white_check_mark"));
        assert_eq!(c(&cache, "approve").as_deref(), Some("+1"));
        assert_eq!(c(&cache, "orphan"), None);
        assert_eq!(cache.image_url("hackhaj").as_deref(), Some("https://emoji.slack-edge.com/T1/hackshark/abc.png"));
        assert_eq!(cache.image_url("yes"), None);
        assert_eq!(cache.unicode("yes"), None);
        assert_eq!(cache.unicode("hackshark"), None);
    }

    #[test]
    fn workspace_entry_shadows_a_standard_name() {
        let (_d, cache) = cache();
        cache.replace_all(&list(&[("palm_tree", "https://emoji.slack-edge.com/T1/palm_tree/1.png")])).unwrap();
        assert_eq!(c(&cache, "palm_tree").as_deref(), Some("palm_tree"));
        assert!(cache.image_url("palm_tree").is_some());
        assert_eq!(cache.unicode("palm_tree"), None);
    }

    #[test]
    fn alias_loops_give_none() {
        let (_d, cache) = cache();
        cache
            .replace_all(&list(&[("ping", "alias:pong"), ("pong", "alias:ping"), ("me", "alias:me"), ("into_loop", "alias:ping")]))
            .unwrap();
        assert_eq!(c(&cache, "ping"), None);
        assert_eq!(c(&cache, "me"), None);
        assert_eq!(c(&cache, "into_loop"), None);
    }

    #[test]
    fn unknown_gives_none() {
        let (_d, cache) = cache();
        cache.mark_loaded();
        for raw in ["definitely_not_an_emoji", "", "::", ":smile::tada:", "hello world", "zzz_unknown", "\u{e000}"] {
            assert_eq!(c(&cache, raw), None, "{raw:?}");
            assert_eq!(cache.canonical_or_unverified(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn unverified_names_are_accepted_only_before_the_first_load() {
        let (_d, cache) = cache();
        assert!(!cache.is_loaded());
        assert_eq!(cache.canonical_or_unverified(":Party_Parrot:").as_deref(), Some("party_parrot"));
        assert_eq!(cache.canonical_or_unverified("thumbsup").as_deref(), Some("+1"));
        assert_eq!(cache.canonical_or_unverified("not a name"), None);
        assert_eq!(cache.canonical("party_parrot"), None);
        cache.replace_all(&HashMap::new()).unwrap();
        assert!(cache.is_loaded());
        assert!(cache.is_empty());
        assert_eq!(cache.canonical_or_unverified("party_parrot"), None);
    }

    #[test]
    fn replace_all_drops_stale_entries() {
        let (_d, cache) = cache();
        cache
            .replace_all(&list(&[("old", "https://emoji.slack-edge.com/old.png"), ("keep", "https://emoji.slack-edge.com/k.png")]))
            .unwrap();
        cache.replace_all(&list(&[("keep", "https://emoji.slack-edge.com/k2.png"), ("New", "alias:keep")])).unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(c(&cache, "old"), None);
        assert_eq!(c(&cache, "new").as_deref(), Some("keep"));
        assert_eq!(cache.image_url("new").as_deref(), Some("https://emoji.slack-edge.com/k2.png"));
    }

    /// The java-slack-sdk sample (json-logs/samples/events/EmojiChangedPayload.json),
    /// with the empty strings filled in.
    fn sdk_payload(subtype: &str, name: &str, value: &str, old_name: &str, new_name: &str) -> Value {
        json!({
            "token": "",
            "team_id": "",
            "enterprise_id": "",
            "api_app_id": "",
            "event": {
                "subtype": subtype,
                "name": name,
                "value": value,
                "type": "emoji_changed",
                "event_ts": "0000000000.000000",
                "old_name": old_name,
                "new_name": new_name
            },
            "type": "event_callback",
            "event_id": "",
            "event_time": 12345,
            "authorizations": [
                {"enterprise_id": "", "team_id": "", "user_id": "", "is_bot": false, "is_enterprise_install": false}
            ],
            "is_ext_shared_channel": false,
            "event_context": ""
        })
    }

    #[test]
    fn emoji_changed_add() {
        let (_d, cache) = cache();
        let add = sdk_payload("add", "picard_facepalm", "https://emoji.slack-edge.com/T1/picard_facepalm/1.png", "", "");
        assert!(!wants_reload(&add));
        cache.apply_change(&add).unwrap();
        assert_eq!(c(&cache, "picard_facepalm").as_deref(), Some("picard_facepalm"));
        // The inner `event` alone works as well as the whole callback.
        cache.apply_change(&sdk_payload("add", "facepalm_captain", "alias:picard_facepalm", "", "")["event"]).unwrap();
        assert_eq!(c(&cache, "facepalm_captain").as_deref(), Some("picard_facepalm"));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn emoji_changed_remove() {
        let (_d, cache) = cache();
        cache
            .replace_all(&list(&[
                ("picard_facepalm", "https://emoji.slack-edge.com/T1/picard_facepalm/1.png"),
                ("facepalm_captain", "alias:picard_facepalm"),
                ("captain_alias", "alias:facepalm_captain"),
                ("other", "https://emoji.slack-edge.com/T1/other/1.png"),
            ]))
            .unwrap();
        let remove = json!({"type": "emoji_changed", "subtype": "remove", "names": ["picard_facepalm"], "event_ts": "1361482916.000004"});
        assert!(!wants_reload(&remove));
        cache.apply_change(&remove).unwrap();
        assert_eq!(c(&cache, "picard_facepalm"), None);
        assert_eq!(c(&cache, "facepalm_captain"), None);
        assert_eq!(c(&cache, "captain_alias"), None);
        assert_eq!(c(&cache, "other").as_deref(), Some("other"));
        assert_eq!(cache.len(), 1);
        assert!(cache.apply_change(&json!({"type": "emoji_changed", "subtype": "remove", "names": []})).is_err());
    }

    #[test]
    fn emoji_changed_remove_of_an_alias_target_leaves_the_alias_unresolved() {
        let (_d, cache) = cache();
        cache.replace_all(&list(&[("hackshark", "https://emoji.slack-edge.com/s.png"), ("hackhaj", "alias:hackshark")])).unwrap();
        cache.apply_change(&json!({"type": "emoji_changed", "subtype": "remove", "names": ["hackshark"], "event_ts": "1.2"})).unwrap();
        assert_eq!(c(&cache, "hackhaj"), None);
        assert_eq!(c(&cache, "hackshark"), None);
    }

    #[test]
    fn emoji_changed_rename() {
        let (_d, cache) = cache();
        cache
            .replace_all(&list(&[
                ("picard_facepalm", "https://emoji.slack-edge.com/old.png"),
                ("facepalm_captain", "alias:picard_facepalm"),
            ]))
            .unwrap();
        let rename = sdk_payload("rename", "", "https://emoji.slack-edge.com/new.png", "picard_facepalm", "captain_picard_facepalm");
        cache.apply_change(&rename).unwrap();
        assert_eq!(c(&cache, "picard_facepalm"), None);
        assert_eq!(c(&cache, "captain_picard_facepalm").as_deref(), Some("captain_picard_facepalm"));
        assert_eq!(cache.image_url("captain_picard_facepalm").as_deref(), Some("https://emoji.slack-edge.com/new.png"));
        assert_eq!(c(&cache, "facepalm_captain").as_deref(), Some("captain_picard_facepalm"));
        // Without a value the image carries over.
        cache.apply_change(&sdk_payload("rename", "", "", "captain_picard_facepalm", "picard")).unwrap();
        assert_eq!(cache.image_url("picard").as_deref(), Some("https://emoji.slack-edge.com/new.png"));
        assert_eq!(cache.len(), 2);
        assert!(cache.apply_change(&sdk_payload("rename", "", "", "", "x")).is_err());
    }

    #[test]
    fn unknown_emoji_changed_subtypes_are_ignored() {
        let (_d, cache) = cache();
        cache.replace_all(&list(&[("keep", "https://emoji.slack-edge.com/k.png")])).unwrap();
        let blank = sdk_payload("", "keep", "", "", "");
        let odd = json!({"type": "emoji_changed", "subtype": "recolour", "name": "keep", "event_ts": "1.2"});
        let bare = json!({"type": "emoji_changed", "event_ts": "1.2"});
        for ev in [&blank, &odd, &bare] {
            cache.apply_change(ev).unwrap();
            assert!(wants_reload(ev));
        }
        assert_eq!(c(&cache, "keep").as_deref(), Some("keep"));
    }

    #[test]
    fn cache_survives_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let cache = EmojiCache::new(Store::open(&path).unwrap());
            cache.replace_all(&list(&[("hackshark", "https://emoji.slack-edge.com/s.png"), ("hackhaj", "alias:hackshark")])).unwrap();
            cache.apply_change(&json!({"type": "emoji_changed", "subtype": "add", "name": "late", "value": "alias:hackhaj"})).unwrap();
            cache.store.flush_blocking().unwrap();
        }
        let cache = EmojiCache::new(Store::open(&path).unwrap());
        assert!(cache.is_loaded());
        assert!(cache.loaded_at_ms().unwrap() > 0);
        assert_eq!(cache.len(), 3);
        assert_eq!(c(&cache, "hackhaj").as_deref(), Some("hackshark"));
        assert_eq!(c(&cache, "late").as_deref(), Some("hackshark"));
    }

    #[test]
    fn hits_and_misses_are_counted() {
        let (_d, cache) = cache();
        cache.mark_loaded();
        assert_eq!((cache.hits(), cache.misses()), (0, 0));
        c(&cache, "palm_tree");
        c(&cache, "thumbsup");
        c(&cache, "nope_nope");
        cache.canonical_or_unverified("nope_again");
        cache.image_url("palm_tree");
        cache.unicode("palm_tree");
        assert_eq!((cache.hits(), cache.misses()), (2, 2));
    }
}
