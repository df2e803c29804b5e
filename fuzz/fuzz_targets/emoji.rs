//! An emoji as a member types it (`:palm_tree:`, `🌴`, `:wave::skin-tone-2:`): any UTF-8 text. Invariants: `fuzz/checks.rs`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|text: &str| checks::emoji(text));
