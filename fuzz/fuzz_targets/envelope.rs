//! A websocket frame as Slack's Socket Mode would send it: any UTF-8 text. Invariants: `fuzz/checks.rs`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|text: &str| checks::frame(text));
