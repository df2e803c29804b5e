//! Text after `/status-preset` or in a DM to the bot: any UTF-8 text. Invariants: `fuzz/checks.rs`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|text: &str| checks::command(text));
