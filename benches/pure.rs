//! Criterion benches for the hot pure functions: envelope parsing, command
//! parsing, emoji canonicalisation, the image pipeline and generated photos.
//!
//! `cargo bench --bench pure` (one group: `cargo bench --bench pure -- generate`)

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn envelope(c: &mut Criterion) {
    let frame = r#"{"envelope_id":"57d6a792-4d35-4d0b-b6aa-3361493e1caf","payload":{"token":"x","team_id":"T1","api_app_id":"A1","event":{"type":"user_change","user":{"id":"U1","name":"ada","profile":{"display_name":"Ada","real_name":"Ada L","status_emoji":":palm_tree:","status_text":"away","avatar_hash":"abc","image_original":"https://avatars.slack-edge.com/a.png","image_512":"https://avatars.slack-edge.com/a_512.png","is_custom_image":true}},"cache_ts":1700000000,"event_ts":"1700000000.000100"},"type":"event_callback","event_id":"Ev1","event_time":1700000000},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}"#;
    c.bench_function("envelope parse (user_change)", |b| b.iter(|| statusinator::socket::envelope::parse(black_box(frame))));
    c.bench_function("envelope parse + event parse", |b| {
        b.iter(|| {
            if let Ok(statusinator::socket::Frame::Envelope(e)) = statusinator::socket::envelope::parse(black_box(frame)) {
                if let Some(ev) = e.payload.get("event") {
                    let _ = black_box(statusinator::slack::events::parse_event(ev));
                }
            }
        })
    });
}

fn command(c: &mut Criterion) {
    c.bench_function("command parse (add)", |b| {
        b.iter(|| statusinator::command::parse(black_box("add :palm_tree: \"On vacation until Monday\"")))
    });
    c.bench_function("command parse (typo → did you mean)", |b| b.iter(|| statusinator::command::parse(black_box("remvoe :palm_tree:"))));
}

fn emoji(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = statusinator::store::Store::open(&dir.path().join("db")).expect("store");
    let cache = statusinator::emoji::EmojiCache::new(store);
    let mut list = std::collections::HashMap::new();
    list.insert("hackshark".to_string(), "https://emoji.slack-edge.com/T1/hackshark/1.png".to_string());
    list.insert("hackhaj".to_string(), "alias:hackshark".to_string());
    cache.replace_all(&list).expect("emoji");
    c.bench_function("emoji canonical (standard, skin tone)", |b| b.iter(|| cache.canonical(black_box(":+1::skin-tone-3:"))));
    c.bench_function("emoji canonical (custom alias)", |b| b.iter(|| cache.canonical(black_box(":hackhaj:"))));
}

fn photo(c: &mut Criterion) {
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).expect("encode");
    let limits = statusinator::photo::PhotoLimits::default();
    let mut g = c.benchmark_group("photo");
    g.sample_size(10);
    g.bench_function("4000x3000 JPEG → 512", |b| b.iter(|| statusinator::photo::process(black_box(&jpeg), &limits)));
    g.finish();
}

/// Generated preset photos from a 1024 px photo to 512 (target ≤ 30 ms each):
/// the drawing alone, and bytes to bytes as a swap runs it (decode the stored
/// photo and the emoji's PNG, draw, encode the JPEG).
fn generate(c: &mut Criterion) {
    use statusinator::photo::generate::{self, Colour, Design, Label};
    let photo = image::RgbImage::from_fn(1024, 1024, |x, y| image::Rgb([(x / 4) as u8, (y / 4) as u8, ((x + y) / 8) as u8]));
    let emoji = image::RgbaImage::from_fn(128, 128, |x, y| {
        let inside = (x as i32 - 64).pow(2) + (y as i32 - 64).pow(2) < 56 * 56;
        if inside {
            image::Rgba([250, 190, 30, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&photo).expect("encode");
    let mut png = Vec::new();
    emoji.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("encode");
    let orange = Colour::parse("orange").expect("colour");
    let label = Label::parse("ooo").expect("label");
    let framed = Design::Frame { colour: orange, label: Some(label.clone()) };
    let limits = statusinator::photo::PhotoLimits::default();
    let mut g = c.benchmark_group("generate");
    g.sample_size(20);
    g.bench_function("badge 1024 → 512 (drawing)", |b| b.iter(|| generate::badge(black_box(&photo), &emoji, 512)));
    g.bench_function("frame + label 1024 → 512 (drawing)", |b| b.iter(|| generate::frame(black_box(&photo), orange, Some(&label), 512)));
    g.bench_function("badge 1024 JPEG → 512 JPEG", |b| {
        b.iter(|| generate::generate_jpeg(&Design::Badge, black_box(&jpeg), Some(&png), &limits))
    });
    g.bench_function("frame + label 1024 JPEG → 512 JPEG", |b| {
        b.iter(|| generate::generate_jpeg(&framed, black_box(&jpeg), None, &limits))
    });
    g.finish();
}

criterion_group!(benches, envelope, command, emoji, photo, generate);
criterion_main!(benches);
