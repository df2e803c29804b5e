//! The kept fuzz corpus (`fuzz/corpus/<target>/`) replayed through the same checks the
//! `cargo fuzz` targets run (`fuzz/checks.rs`), on the stable toolchain, in every `cargo test`.
//!
//! The corpus holds the seeds (Slack's own Socket Mode envelopes, command lines, emoji
//! spellings, small images in every accepted format) and what fuzzing runs added as new
//! coverage (minimised with `cargo fuzz cmin`); an input that once crashed a target is kept
//! there too, so it stays fixed. How to fuzz: fuzz/README.md.

use std::path::{Path, PathBuf};

#[path = "../fuzz/checks.rs"]
mod checks;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the {target} corpus at {} has only {} inputs", dir.display(), files.len());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

/// Runs a text target the way libfuzzer-sys does: inputs that are not UTF-8 are skipped.
fn replay_text(target: &str, check: fn(&str)) -> usize {
    let mut n = 0;
    for (path, bytes) in corpus(target) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let outcome = std::panic::catch_unwind(|| check(text));
            assert!(outcome.is_ok(), "{target} input {} broke a check", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn envelope_corpus() {
    assert!(replay_text("envelope", checks::frame) > 0);
}

#[test]
fn command_corpus() {
    assert!(replay_text("command", checks::command) > 0);
}

#[test]
fn emoji_corpus() {
    assert!(replay_text("emoji", checks::emoji) > 0);
}

#[test]
fn photo_corpus() {
    let inputs = corpus("photo");
    let mut accepted = 0;
    for (path, bytes) in &inputs {
        let outcome = std::panic::catch_unwind(|| checks::photo(bytes));
        assert!(outcome.is_ok(), "photo input {} broke a check", path.display());
        accepted += usize::from(statusinator::photo::process(bytes, &checks::photo_limits()).is_ok());
    }
    // The seeds are real images: the corpus is not all garbage the pipeline refuses.
    assert!(accepted >= 5, "only {accepted} of {} corpus photos were accepted", inputs.len());
}

/// Slack's own envelopes are in the corpus and still parse as envelopes.
#[test]
fn the_envelope_seeds_include_real_envelopes() {
    use statusinator::socket::envelope::{parse, Frame};
    let envelopes = corpus("envelope")
        .iter()
        .filter(|(_, b)| std::str::from_utf8(b).ok().and_then(|t| parse(t).ok()).is_some_and(|f| matches!(f, Frame::Envelope(_))))
        .count();
    assert!(envelopes >= 8, "{envelopes}");
}
