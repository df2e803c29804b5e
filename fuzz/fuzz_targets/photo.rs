//! Any bytes as a photo a member uploads (PNG, JPEG, GIF, WebP or anything else). Invariants:
//! `fuzz/checks.rs`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| checks::photo(bytes));
