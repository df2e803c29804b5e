//! Team presets: the only writer of the `team_presets` tree.
//!
//! A team preset is kept by the bot's admins for the whole workspace: emoji → [`TeamPreset`].
//! It shows for every connected member who has no own preset for that emoji and has not opted
//! out (`MemberState::team_off`); which preset shows is decided in `members::preset_for`. Queuing
//! the members a change affects is the caller's business (this layer knows no jobs).

use super::{Store, TeamPreset};

/// The team preset for this canonical emoji.
pub fn get(store: &Store, emoji: &str) -> anyhow::Result<Option<TeamPreset>> {
    store.team_presets.get(emoji)
}

/// Every team preset, by emoji.
pub fn all(store: &Store) -> anyhow::Result<Vec<TeamPreset>> {
    let mut out: Vec<TeamPreset> = store.team_presets.iter()?.into_iter().map(|(_, p)| p).collect();
    out.sort_by(|a, b| a.emoji.cmp(&b.emoji));
    Ok(out)
}

/// Whether any team preset exists: one step into the tree, cheap enough for every observed
/// profile (a read error counts as none).
pub fn any(store: &Store) -> bool {
    matches!(store.team_presets.raw().first(), Ok(Some(_)))
}

/// Creates or replaces the team preset for `p.emoji`.
pub fn put(store: &Store, p: &TeamPreset) -> anyhow::Result<()> {
    store.team_presets.insert(&p.emoji, p)
}

/// Deletes the team preset for `emoji`; returns it if there was one.
pub fn remove(store: &Store, emoji: &str) -> anyhow::Result<Option<TeamPreset>> {
    store.team_presets.remove(emoji)
}

/// Moves the team preset of a renamed custom emoji to its new name, unless one exists there
/// already; returns whether it moved.
pub fn rename(store: &Store, old: &str, new: &str) -> anyhow::Result<bool> {
    let Some(mut p) = get(store, old)? else { return Ok(false) };
    if get(store, new)?.is_some() {
        return Ok(false);
    }
    p.emoji = new.to_string();
    put(store, &p)?;
    remove(store, old)?;
    Ok(true)
}

/// How many team presets there are.
pub fn count(store: &Store) -> usize {
    store.team_presets.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_presets_are_kept_by_emoji_and_listed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        assert!(!any(&s));
        for e in ["palm_tree", "car"] {
            put(&s, &TeamPreset::new(e, "UADMIN")).unwrap();
        }
        assert!(any(&s));
        let listed: Vec<_> = all(&s).unwrap().into_iter().map(|p| p.emoji).collect();
        assert_eq!(listed, vec!["car", "palm_tree"]);
        let mut p = get(&s, "car").unwrap().unwrap();
        p.name = Some("Driving".into());
        put(&s, &p).unwrap();
        assert_eq!(get(&s, "car").unwrap().and_then(|p| p.name).as_deref(), Some("Driving"));
        assert_eq!(count(&s), 2);
        assert!(remove(&s, "car").unwrap().is_some());
        assert!(remove(&s, "car").unwrap().is_none());
        assert!(remove(&s, "palm_tree").unwrap().is_some());
        assert!(!any(&s));
    }
}
