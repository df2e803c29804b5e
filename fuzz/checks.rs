//! What "survives hostile input" means for each parser, written once: the `cargo fuzz` targets
//! (`fuzz/fuzz_targets/`), the corpus replay in `tests/fuzz_corpus.rs` and the properties in
//! `tests/proptests.rs` all call these. Each check panics when the code under test panics or
//! breaks one of its promises; returning means the input was handled.
//!
//! Included with `#[path]` rather than being a crate, so the fuzz crate (nightly-only flags,
//! excluded from the workspace) and the ordinary test suite share it without a third package.

#![allow(dead_code)] // each includer uses some of the checks

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use statusinator::command::{self, Command, MAX_DISPLAY_NAME_CHARS, MAX_EMOJI_TOKEN_CHARS};
use statusinator::emoji::{self, EmojiCache};
use statusinator::photo::{self, PhotoLimits};
use statusinator::socket::envelope::{self, Frame};
use statusinator::store::Store;
use statusinator::template;

/// Whatever `parse` says about a websocket frame, the rest of the envelope API copes with it.
pub fn frame(text: &str) {
    // What the connection acks an unparsable frame by: a short ASCII token, or nothing.
    if let Some(id) = envelope::recover_envelope_id(text) {
        assert!(!id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()), "{id:?} from {text}");
    }
    if let Ok(Frame::Envelope(env)) = envelope::parse(text) {
        assert!(!env.envelope_id.is_empty(), "an envelope without an id was accepted: {text}");
        let _ = env.event_id();
        let _ = env.subtype();
        let key = env.dedupe_key();
        assert!(key.starts_with("ev:") || key.starts_with("env:"), "{key}");
        // The ack is JSON carrying the same id, with or without a payload.
        for payload in [None, Some(&env.payload)] {
            let ack: Value = serde_json::from_str(&envelope::ack(&env.envelope_id, payload)).expect("acks are JSON");
            assert_eq!(ack["envelope_id"].as_str(), Some(env.envelope_id.as_str()));
        }
    }
}

/// Whatever `parse` says about command text, its answer is usable: errors render short and
/// defused, names obey Slack's rules.
pub fn command(text: &str) {
    match command::parse(text) {
        Ok(Command::Add { emoji, name }) => {
            assert!(!emoji.is_empty() && emoji.chars().count() <= MAX_EMOJI_TOKEN_CHARS, "{emoji:?}");
            // A name may be a template (`{name} (OOO)`): typed, it may run past Slack's 80
            // characters (it is cut when filled in), but its literal text alone fits.
            assert!(!name.is_empty() && name.chars().count() <= template::MAX_TEMPLATE_CHARS, "{name:?}");
            let parts = template::parse(&name).unwrap_or_else(|e| panic!("a saved name is a valid template: {name:?}: {e}"));
            assert!(template::literal(&parts, "").chars().count() <= MAX_DISPLAY_NAME_CHARS, "{name:?}");
            assert!(!name.chars().any(char::is_control), "{name:?}");
            assert_eq!(name.trim(), name, "{name:?}");
            let text = template::literal(&parts, " ");
            assert!(!text.starts_with('@') && !text.contains("://"), "a name Slack refuses: {name:?}");
        }
        Ok(Command::Photo { emoji } | Command::Remove { emoji }) => {
            assert!(!emoji.is_empty() && emoji.chars().count() <= MAX_EMOJI_TOKEN_CHARS, "{emoji:?}")
        }
        Ok(Command::Purge { member }) => assert!(member.starts_with(['U', 'W']), "{member}"),
        Ok(Command::Connect { code: Some(code) }) => assert!(!code.is_empty()),
        Ok(c) => {
            let _ = (c.name(), c.is_admin());
        }
        Err(e) => {
            let _ = e.subcommand();
            assert!(!e.render("/status-preset").is_empty());
            assert!(!e.render("").is_empty());
            // Member text is echoed defused: shortened, and never as a live mention.
            assert!(!e.problem().contains("<!"), "{}", e.problem());
            assert!(e.problem().chars().count() < 400, "{}", e.problem());
        }
    }
}

/// One emoji cache per process: a workspace with plain emoji, aliases (to custom and to standard
/// emoji), a dangling alias, an alias loop, a self-alias and non-ASCII names.
pub fn emoji_cache() -> &'static EmojiCache {
    static CACHE: OnceLock<(tempfile::TempDir, EmojiCache)> = OnceLock::new();
    &CACHE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let cache = EmojiCache::new(Store::open(&dir.path().join("db")).expect("store"));
            let list: HashMap<String, String> = [
                ("hackshark", "https://emoji.slack-edge.com/T1/hackshark/1.png"),
                ("hackhaj", "alias:hackshark"),
                ("thumbs", "alias:thumbsup"),
                ("dangling", "alias:nowhere"),
                ("loop_a", "alias:loop_b"),
                ("loop_b", "alias:loop_a"),
                ("self", "alias:self"),
                ("palm_tree", "https://emoji.slack-edge.com/T1/palm_tree/1.png"),
                ("ｆｕｌｌ", "https://emoji.slack-edge.com/T1/full/1.png"),
                ("カニ", "https://emoji.slack-edge.com/T1/kani/1.png"),
                ("empty", ""),
                ("colons", "alias::hackshark::skin-tone-2:"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            cache.replace_all(&list).expect("emoji list");
            (dir, cache)
        })
        .1
}

/// Any text a member may type as an emoji: stripped of colons, and a canonical name is its own
/// canonical name with colons or a skin tone too.
pub fn emoji(raw: &str) {
    let c = emoji_cache();
    let stripped = emoji::strip(raw);
    assert!(!stripped.starts_with(':') && !stripped.ends_with(':'), "{raw:?} → {stripped:?}");
    let _ = c.canonical_or_unverified(raw);
    if let Some(name) = c.canonical(raw) {
        assert!(!name.is_empty());
        for spelling in [name.clone(), format!(":{name}:"), format!(":{name}::skin-tone-3:")] {
            assert_eq!(c.canonical(&spelling), Some(name.clone()), "{raw:?} as {spelling:?}");
        }
        let _ = (c.image_url(&name), c.unicode(&name));
    }
}

/// Side of the square the photo checks ask for: small, so each input is cheap.
pub const PHOTO_SIDE: u32 = 64;

pub fn photo_limits() -> PhotoLimits {
    PhotoLimits { size: PHOTO_SIDE, ..PhotoLimits::default() }
}

/// Any bytes as an uploaded photo: refused, or a square JPEG of the configured size, and never
/// slowly (the decoder limits must hold for bombs too).
pub fn photo(bytes: &[u8]) {
    let started = Instant::now();
    if let Ok(p) = photo::process(bytes, &photo_limits()) {
        assert_eq!(p.side, PHOTO_SIDE);
        assert_eq!(p.mime, "image/jpeg");
        let img = image::load_from_memory(&p.bytes).expect("the output decodes");
        assert_eq!((img.width(), img.height()), (PHOTO_SIDE, PHOTO_SIDE));
    }
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}
