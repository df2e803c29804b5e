//! The image-memory benchmark: peak RSS of the photo pipeline on maximum-size
//! images (8192² 16-bit PNG, 8192² JPEG), one and four at once through
//! `process_async`, each case in a fresh child process so peaks don't mix.
//! Then generated preset photos: one badge and one labelled frame rendered
//! from a 1024 px JPEG to 512, the peak above the child's RSS before it.
//! `cargo bench --bench photo_memory` (only the generated photos:
//! `cargo bench --bench photo_memory -- generate`); the numbers are in BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use statusinator::photo::generate::{Colour, Design, Label};
use statusinator::photo::{PhotoGate, PhotoLimits};

const SIDE: u32 = 8192;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["child", file, count] => return child(Path::new(file), count.parse().unwrap_or(1)),
        ["generate-child", design, photo, emoji] => return generate_child(design, Path::new(photo), Path::new(emoji)),
        _ => {}
    }
    let dir = std::env::temp_dir().join(format!("photo-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    generated(&dir);
    if args.iter().any(|a| a == "generate") {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    println!();
    let png = write(&dir, "max16.png", big_16_bit_png());
    let jpeg = write(&dir, "max.jpg", big_jpeg());
    println!("| case | file | peak RSS (VmHWM) | RSS before decoding | wall time | per image |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, file, count) in
        [("one 8192² 16-bit PNG", &png, 1), ("four at once", &png, 4), ("one 8192² JPEG q90", &jpeg, 1), ("four at once", &jpeg, 4)]
    {
        let exe = std::env::current_exe().expect("own path");
        let out = Command::new(exe).args(["child", &file.display().to_string(), &count.to_string()]).output().expect("child runs");
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
        println!("| {name} | {size:.2} MB | {}", String::from_utf8_lossy(&out.stdout).trim());
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn write(dir: &Path, name: &str, bytes: Vec<u8>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test image");
    path
}

/// Processes `count` copies of the file at once and prints one table row.
fn child(file: &Path, count: usize) {
    let bytes = std::fs::read(file).expect("read test image");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let before = status_kb("VmRSS");
    let started = Instant::now();
    let gate = PhotoGate::new();
    let ok = runtime.block_on(async {
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let (bytes, gate) = (bytes.clone(), gate.clone());
                tokio::spawn(async move { statusinator::photo::process_async(bytes, PhotoLimits::default(), &gate).await.is_ok() })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += usize::from(t.await.unwrap_or(false));
        }
        ok
    });
    let elapsed = started.elapsed();
    assert_eq!(ok, count, "every image is accepted");
    println!(
        "{:.1} MB | {:.1} MB | {:.2} s | {:.2} s |",
        status_kb("VmHWM") as f64 / 1024.0,
        before as f64 / 1024.0,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() / count as f64
    );
}

/// The generated-photo rows: each render in a fresh child, from a 1024 px JPEG to 512.
fn generated(dir: &Path) {
    let photo = image::RgbImage::from_fn(1024, 1024, |x, y| image::Rgb([(x / 4) as u8, (y / 4) as u8, ((x + y) / 8) as u8]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&photo).expect("encode jpeg");
    let emoji = image::RgbaImage::from_fn(128, 128, |x, y| {
        image::Rgba([250, 190, 30, if (x as i32 - 64).pow(2) + (y as i32 - 64).pow(2) < 3136 { 255 } else { 0 }])
    });
    let mut png = Vec::new();
    emoji.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("encode png");
    let (photo, emoji) = (write(dir, "photo1024.jpg", jpeg), write(dir, "emoji.png", png));
    println!("| generated photo (1024 px JPEG → 512 JPEG) | peak RSS (VmHWM) | RSS before | above it | wall time |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, design) in [("badge", "badge"), ("frame with label", "frame")] {
        let exe = std::env::current_exe().expect("own path");
        let args = ["generate-child", design, &photo.display().to_string(), &emoji.display().to_string()];
        let out = Command::new(exe).args(args).output().expect("child runs");
        println!("| {name} | {}", String::from_utf8_lossy(&out.stdout).trim());
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// Renders one generated photo and prints its table row (after the first column).
fn generate_child(design: &str, photo: &Path, emoji: &Path) {
    let (photo, emoji) = (std::fs::read(photo).expect("read photo"), std::fs::read(emoji).expect("read emoji"));
    let design = match design {
        "badge" => Design::Badge,
        _ => Design::Frame { colour: Colour::parse("orange").expect("colour"), label: Some(Label::parse("ooo").expect("label")) },
    };
    let before = status_kb("VmRSS");
    let started = Instant::now();
    let made = statusinator::photo::generate::generate_jpeg(&design, &photo, Some(&emoji), &PhotoLimits::default());
    let elapsed = started.elapsed();
    assert!(made.is_ok_and(|p| p.side == 512), "the photo is generated");
    let peak = status_kb("VmHWM");
    println!(
        "{:.1} MB | {:.1} MB | {:.1} MB | {:.1} ms |",
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0,
        elapsed.as_secs_f64() * 1000.0
    );
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok()).unwrap_or(0)
}

/// 8192² 16-bit RGB, a vertical gradient (compresses to about half a MB).
fn big_16_bit_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIDE, SIDE);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Sixteen);
    let mut writer = encoder.write_header().expect("png header");
    let mut stream = writer.stream_writer().expect("png stream");
    for y in 0..SIDE {
        let v = ((y * 8) as u16).to_be_bytes();
        let row = [v[0], v[1], 0x40, 0x40, !v[0], !v[1]].repeat(SIDE as usize);
        std::io::Write::write_all(&mut stream, &row).expect("png row");
    }
    stream.finish().expect("png end");
    drop(writer);
    out
}

/// 8192² JPEG at quality 90 of smooth colour (a few MB, under the 10 MB limit).
fn big_jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_fn(SIDE, SIDE, |x, y| image::Rgb([(x / 32) as u8, (y / 32) as u8, ((x + y) / 64) as u8]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&image).expect("encode jpeg");
    out
}
